#!/usr/bin/env bash
# Sets up the Python runtimes of the benchmark under BUILD_DIR/tests/bench/python/, all serving
# the same handler (samples/python-hello/app.py, _HANDLER=app.handler):
#   lamella/        the task root for lamella's generic bootstrap (embedded CPython)
#   lamella-m/      a `bootstrap` script running `python -m lamella`
#   awslambdaric/   a `bootstrap` script running `python -m awslambdaric` from a virtualenv with
#                   awslambdaric installed from PyPI (pinned below)
# usage: setup_python.sh BUILD_DIR PYTHON PACKAGE_DIR SOURCE_DIR
set -euo pipefail
build=$1 python=$2 package=$3 source=$4
ric_version=4.2.2
out="$build/tests/bench/python"
mkdir -p "$out/lamella" "$out/lamella-m" "$out/awslambdaric"
for d in lamella lamella-m awslambdaric; do
  cp "$source/samples/python-hello/app.py" "$out/$d/app.py"
done
cat > "$out/lamella-m/bootstrap" <<SCRIPT
#!/bin/sh
export PYTHONPATH="$package"
exec "$python" -m lamella "\$_HANDLER"
SCRIPT
venv="$out/awslambdaric-venv"
if ! "$venv/bin/python" -c "import awslambdaric, sys; from importlib.metadata import version; sys.exit(version('awslambdaric') != '$ric_version')" 2>/dev/null; then
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "awslambdaric==$ric_version"
fi
cat > "$out/awslambdaric/bootstrap" <<SCRIPT
#!/bin/sh
exec "$venv/bin/python" -m awslambdaric "\$_HANDLER"
SCRIPT
chmod +x "$out/lamella-m/bootstrap" "$out/awslambdaric/bootstrap"
echo "setup_python: ready in $out (awslambdaric $ric_version)" >&2
