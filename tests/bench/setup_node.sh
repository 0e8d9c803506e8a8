#!/usr/bin/env bash
# Sets up the Node runtime the benchmark compares lamella's against: aws-lambda-ric from npm
# (pinned by tests/bench/node/package-lock.json), installed with `npm ci` under
# BUILD_DIR/tests/bench/node/ (never in the source tree). The bench then starts
#   node BUILD_DIR/tests/bench/node/node_modules/aws-lambda-ric/bin/index.mjs index.handler
# in samples/node-hello (aws-lambda-ric 3.x takes the handler from argv, the app root from the cwd).
#
# aws-lambda-ric 3.3.0 is the newest release that runs on Node 20 (4.x requires Node >= 22). Its
# install compiles curl and aws-lambda-cpp from bundled tarballs, then its addon with node-gyp:
# it takes minutes and needs autoconf, automake, libtool, make, cmake, g++ and python3
# (scripts/setup installs them). Idempotent: does nothing when the pinned version is installed
# from the same lock file.
# usage: setup_node.sh BUILD_DIR SOURCE_DIR [NPM]
set -euo pipefail
build=$1 source=$2 npm=${3:-npm}
ric_version=3.3.0
src="$source/tests/bench/node"
out="$build/tests/bench/node"
ric="$out/node_modules/aws-lambda-ric"

installed() {
  [ -f "$ric/bin/index.mjs" ] && [ -f "$ric/dist/rapid-client.node" ] &&
    grep -q "\"version\": \"$ric_version\"" "$ric/package.json" &&
    cmp -s "$src/package-lock.json" "$out/package-lock.json"
}
if installed; then
  echo "setup_node: aws-lambda-ric $ric_version already installed in $out" >&2
  exit 0
fi

missing=()
for tool in node "$npm" autoconf automake libtoolize make cmake g++ python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -ne 0 ]; then
  echo "setup_node: missing ${missing[*]}: aws-lambda-ric's npm install needs node and npm," \
    "and compiles curl and aws-lambda-cpp (scripts/setup installs the build tools)" >&2
  exit 1
fi

mkdir -p "$out"
rm -rf "$out/node_modules"
cp "$src/package.json" "$src/package-lock.json" "$out/"
echo "setup_node: npm ci aws-lambda-ric $ric_version in $out (compiles curl and" \
  "aws-lambda-cpp: takes minutes)" >&2
start=$(date +%s)
(cd "$out" && "$npm" ci --no-audit --no-fund --loglevel=error)
if ! installed; then
  echo "setup_node: npm ci finished but $ric has no bin/index.mjs or dist/rapid-client.node" >&2
  exit 1
fi
echo "setup_node: ready in $out (aws-lambda-ric $ric_version, node $(node --version)," \
  "$(($(date +%s) - start)) s)" >&2
