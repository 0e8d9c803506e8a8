#!/usr/bin/env bash
# Builds the release preset and runs the C++ benchmark; results go to build/release/bench-cpp.json
# (and a summary to stderr). Extra arguments are passed to lamella_bench, e.g. --warm 2000.
# docs/performance.md explains the figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake --preset release
cmake --build --preset release
cmake --build --preset release --target lamella_bench_python
exec build/release/tests/bench/lamella_bench --build-dir build/release \
  --out build/release/bench-cpp.json "$@"
