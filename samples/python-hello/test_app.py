"""Unit tests of the sample handler, run by pytest (the end-to-end test through the emulator is
tests/integration/python_runtime_test.cpp and the CLI test in tests/integration/cli_test.cpp)."""

import importlib.util
from pathlib import Path


def load_app():
    """A fresh copy of the sample's app.py (module state starts empty)."""
    spec = importlib.util.spec_from_file_location(
        "python_hello_app", Path(__file__).resolve().parent / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeContext:
    aws_request_id = "req-1"


def test_greets_the_name_and_counts_warm_invocations():
    app = load_app()
    first = app.handler({"name": "x"}, FakeContext())
    second = app.handler({}, FakeContext())
    assert first == {"message": "Hello, x!", "count": 1, "request_id": "req-1"}
    assert second["message"] == "Hello, world!"
    assert second["count"] == 2
