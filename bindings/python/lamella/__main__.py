"""``python -m lamella module.function``: serves an AWS-style handler through the Lambda Runtime
API (``AWS_LAMBDA_RUNTIME_API``, or Tencent SCF's at ``SCF_RUNTIME_API``, or Huawei
FunctionGraph's at ``RUNTIME_API_ADDR``), as ``python -m awslambdaric`` does, on lamella's C++ loop."""

import os
import sys


def _run() -> int:
    if len(sys.argv) != 2:
        sys.stderr.write("usage: python -m lamella module.function\n")
        return 2
    # Empty with only SCF_RUNTIME_API (or RUNTIME_API_ADDR) set: the C++ client then speaks
    # Tencent SCF's (or Huawei FunctionGraph's) runtime API.
    runtime_api = os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
    if not runtime_api and not os.environ.get("SCF_RUNTIME_API") \
            and not os.environ.get("RUNTIME_API_ADDR"):
        sys.stderr.write("lamella: none of AWS_LAMBDA_RUNTIME_API, SCF_RUNTIME_API and "
                         "RUNTIME_API_ADDR is set; nothing to serve\n")
        return 1
    from lamella._bootstrap import main

    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    return main(sys.argv[1], task_root, runtime_api)


if __name__ == "__main__":
    sys.exit(_run())
