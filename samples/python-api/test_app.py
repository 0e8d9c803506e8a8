"""Unit tests of the API handler with API Gateway v2 events (run by pytest through ctest; the
end-to-end test through the bootstrap and the emulator is in tests/python/test_samples.py)."""

import importlib.util
import json
from pathlib import Path

import pytest


def load_app():
    """A fresh copy of the sample's app.py (module state starts empty)."""
    spec = importlib.util.spec_from_file_location(
        "python_api_app", Path(__file__).resolve().parent / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def event(method, path, body=None):
    e = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "requestContext": {"http": {"method": method, "path": path}},
        "isBase64Encoded": False,
    }
    if body is not None:
        e["body"] = body if isinstance(body, str) else json.dumps(body)
    return e


@pytest.fixture
def app():
    return load_app()


def call(app, *args):
    r = app.handler(event(*args), None)
    return r["statusCode"], json.loads(r["body"]) if "body" in r else None


def test_create_get_list_delete(app):
    status, item = call(app, "POST", "/items", {"name": "first"})
    assert status == 201 and item == {"id": "1", "name": "first"}
    assert call(app, "GET", "/items/1") == (200, item)
    assert call(app, "GET", "/items") == (200, {"items": [item]})
    assert call(app, "DELETE", "/items/1") == (204, None)
    assert call(app, "GET", "/items/1")[0] == 404


def test_errors_have_the_right_status(app):
    assert call(app, "POST", "/items", "not json")[0] == 400
    assert call(app, "POST", "/items", {"name": ""})[0] == 400
    assert call(app, "GET", "/nowhere")[0] == 404
    r = app.handler(event("PUT", "/items"), None)
    assert r["statusCode"] == 405 and r["headers"]["allow"] == "GET, POST"
