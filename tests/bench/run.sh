#!/usr/bin/env bash
# Builds the release preset and runs the benchmark; results go to build/release/bench-cpp.json
# (and a summary to stderr). Extra arguments are passed to lamella_bench, e.g. --warm 2000.
# The Node runtimes are measured when aws-lambda-ric could be set up (npm and the build tools of
# scripts/setup); otherwise they are skipped with a note. docs/performance.md explains the figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake --preset release
cmake --build --preset release
cmake --build --preset release --target lamella_bench_python
skip=()
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "run.sh: no node/npm: skipping the Node runtimes" >&2
  skip=(--skip node-lamella,node-awslambdaric)
elif ! cmake --build --preset release --target lamella_bench_node; then
  echo "run.sh: aws-lambda-ric could not be set up (see above; scripts/setup installs its build" \
    "tools): skipping the Node runtimes" >&2
  skip=(--skip node-lamella,node-awslambdaric)
fi
exec build/release/tests/bench/lamella_bench --build-dir build/release \
  --out build/release/bench-cpp.json "${skip[@]}" "$@"
