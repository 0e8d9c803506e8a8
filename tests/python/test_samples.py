"""The Python samples and a real third-party library through `lamella invoke` (the generic
bootstrap with embedded CPython, under the real emulator)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

POWERTOOLS = "aws-lambda-powertools==3.37.0"


def invoke(bin_dir, function_dir, event, *extra):
    r = subprocess.run(
        [str(bin_dir / "lamella"), "invoke", str(function_dir), "--handler", "app.handler",
         "--event", json.dumps(event), *extra],
        capture_output=True, text=True, timeout=60,
    )
    return r


def http_event(method, path, body=None):
    e = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "r", "routeKey": "$default", "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        e["body"] = json.dumps(body)
    return e


def test_python_api_sample_through_the_bootstrap(bin_dir):
    samples = Path(os.environ["LAMELLA_SAMPLES_DIR"])
    r = invoke(bin_dir, samples / "python-api", http_event("POST", "/items", {"name": "book"}))
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert answer["statusCode"] == 201
    assert answer["headers"]["location"] == "/items/1"
    assert json.loads(answer["body"]) == {"id": "1", "name": "book"}
    r = invoke(bin_dir, samples / "python-api", http_event("PATCH", "/items"))
    assert json.loads(r.stdout)["statusCode"] == 405


@pytest.fixture(scope="module")
def powertools_site_packages():
    """A virtualenv under the build tree with aws-lambda-powertools from PyPI. A failed install
    fails the test (it is not skipped)."""
    work = Path(os.environ.get("LAMELLA_TEST_WORK_DIR", ""))
    if not str(work):
        pytest.fail("LAMELLA_TEST_WORK_DIR is not set: run these tests through ctest")
    venv = work / "powertools-venv"
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import aws_lambda_powertools, sys; "
             f"from importlib.metadata import version; "
             f"sys.exit(version('aws-lambda-powertools') != '{POWERTOOLS.split('==')[1]}')"]
    if not python.exists() or subprocess.run(check, capture_output=True).returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "PYTHONPATH")}
        r = subprocess.run([str(python), "-m", "pip", "install", "--quiet",
                            "--disable-pip-version-check", POWERTOOLS],
                           capture_output=True, text=True, timeout=240, env=env)
        if r.returncode != 0:
            pytest.fail(f"pip install {POWERTOOLS} failed (is PyPI reachable?):\n{r.stderr}")
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    return venv / "lib" / version / "site-packages"


def test_aws_lambda_powertools_works_unchanged(bin_dir, powertools_site_packages, tmp_path):
    fn = tmp_path / "fn"
    shutil.copytree(Path(__file__).resolve().parent / "powertools_fn", fn)
    env = ["--env", f"PYTHONPATH={powertools_site_packages}", "--name", "powertools-fn"]
    r = invoke(bin_dir, fn, http_event("GET", "/hello/lamella"), *env)
    assert r.returncode == 0, r.stdout + r.stderr
    answer = json.loads(r.stdout)
    assert answer["statusCode"] == 200, answer
    assert json.loads(answer["body"]) == {"message": "Hello, lamella!"}
    # Logger with inject_lambda_context: one JSON line carrying the context's fields.
    records = [json.loads(line) for line in r.stderr.splitlines() if line.startswith("{")]
    greeting = [rec for rec in records if rec.get("message") == "greeting"]
    assert len(greeting) == 1, r.stderr
    rec = greeting[0]
    assert rec["who"] == "lamella"
    assert rec["service"] == "lamella-powertools"
    assert rec["cold_start"] is True
    assert rec["function_name"] == "powertools-fn"
    assert rec["function_memory_size"] in ("128", 128)
    assert rec["function_request_id"]
    assert rec["function_arn"].endswith(":function:powertools-fn")
    r = invoke(bin_dir, fn, http_event("POST", "/echo", {"a": [1, 2]}), *env)
    assert json.loads(json.loads(r.stdout)["body"]) == {"echo": {"a": [1, 2]}}
