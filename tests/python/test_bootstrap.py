"""The pure-Python half of the runtime: handler loading, JSON, the context, error bodies, logs."""

import json
import math
import time
from decimal import Decimal

import pytest

from lamella import _bootstrap as b


def write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def task_root(tmp_path, fresh_modules, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def init_error(handler, root):
    with pytest.raises(b.InitError) as info:
        b.load_handler(handler, str(root))
    return info.value


def test_loads_module_function_and_nested_paths(task_root):
    write(task_root, "app_a.py", "def handler(e, c):\n    return 'a'\n")
    write(task_root, "nest_a/sub/mod_a.py", "def handler(e, c):\n    return 'nested'\n")
    assert b.load_handler("app_a.handler", str(task_root))(None, None) == "a"
    assert b.load_handler("nest_a/sub/mod_a.handler", str(task_root))(None, None) == "nested"


def test_init_errors_have_the_aws_types(task_root):
    write(task_root, "syntax_b.py", "def handler(e, c)\n    return 1\n")
    write(task_root, "ok_b.py", "def handler(e, c):\n    return 1\n")
    write(task_root, "raises_b.py", "raise LookupError('at import')\n")
    assert init_error("nodot", task_root).error_type == "Runtime.MalformedHandlerName"
    assert init_error("../x.handler", task_root).error_type == "Runtime.MalformedHandlerName"
    assert init_error("/abs/x.handler", task_root).error_type == "Runtime.MalformedHandlerName"
    assert init_error("missing_b.handler", task_root).error_type == "Runtime.ImportModuleError"
    e = init_error("syntax_b.handler", task_root)
    assert e.error_type == "Runtime.UserCodeSyntaxError"
    assert "syntax_b.py" in e.stack_trace[0]
    e = init_error("ok_b.nothere", task_root)
    assert (e.error_type, e.message) == (
        "Runtime.HandlerNotFound",
        "Handler 'nothere' missing on module 'ok_b'",
    )
    assert init_error("sys.exit", task_root).error_type == "Runtime.BuiltInModuleConflict"
    e = init_error("raises_b.handler", task_root)
    assert (e.error_type, e.message) == ("LookupError", "at import")
    assert "raises_b.py" in e.stack_trace[-1]


def test_dumps_matches_json_dumps_without_ascii_escapes():
    values = [None, 1, -2.5, "h\u00e9llo \u2713", [1, [2, {"a": None}]], {"k": True}, "", {}]
    for v in values:
        assert b.dumps(v) == json.dumps(v, ensure_ascii=False)
    assert b.dumps(float("nan")) == "NaN"


def test_dumps_writes_decimals_exactly():
    assert b.dumps({"d": Decimal("1.10"), "l": [Decimal("-0.000001")]}) == (
        '{"d": 1.10, "l": [-0.000001]}'
    )
    assert b.dumps(Decimal("NaN")) == "NaN"
    # A string that looks like the placeholder is left alone.
    assert json.loads(b.dumps({"s": "lamella-decimal-0", "d": Decimal("2")})) == {
        "s": "lamella-decimal-0",
        "d": 2,
    }


def test_dumps_refuses_what_json_cannot_encode_and_recovers():
    with pytest.raises(TypeError):
        b.dumps({"x": object()})
    shared = [1]
    assert b.dumps({"a": shared, "b": shared}) == '{"a": [1], "b": [1]}'
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError):
        b.dumps(loop)
    assert b.dumps([shared]) == "[[1]]"


def test_loads_matches_json_loads():
    for text in ['{"a": [1, 2.5, "x", null, true]}', " [1] ", '"\\u00e9"', "NaN", "-0"]:
        expected = json.loads(text)
        got = b._loads(text.encode())
        if isinstance(expected, float) and math.isnan(expected):
            assert math.isnan(got)
        else:
            assert got == expected
    for bad in ["", "{", "[1] x", "not json"]:
        with pytest.raises(ValueError):
            b._loads(bad.encode())


def test_context_attributes_and_remaining_time(monkeypatch):
    deadline = int(time.time() * 1000) + 5000
    c = b.LambdaContext(
        "req",
        deadline,
        "arn:aws:lambda:us-east-1:123456789012:function:f",
        '{"custom": {"a": 1}, "env": {"e": 2}, "client": {"installation_id": "i"}}',
        '{"cognitoIdentityId": "id", "cognitoIdentityPoolId": "pool"}',
        "t",
    )
    assert c.aws_request_id == "req"
    assert 4000 < c.get_remaining_time_in_millis() <= 5000
    assert c.client_context.custom == {"a": 1}
    assert c.client_context.env == {"e": 2}
    assert c.client_context.client.installation_id == "i"
    assert (c.identity.cognito_identity_id, c.identity.cognito_identity_pool_id) == ("id", "pool")
    assert c.tenant_id == "t"
    expired = b.LambdaContext("r", 0, "arn", "", "", "")
    assert expired.get_remaining_time_in_millis() == 0
    assert expired.client_context is None and expired.tenant_id is None


def test_invoke_returns_results_and_error_bodies(capsys):
    def handler(event, context):
        if event.get("fail"):
            raise ValueError("nope")
        return {"echo": event, "id": context.aws_request_id}

    invoke = b.make_invoke(handler)
    ok = invoke(b'{"x": 1}', "r1", 0, "arn", "", "", "", "", "application/json")
    assert ok == (True, '{"echo": {"x": 1}, "id": "r1"}', "application/json")
    failed = invoke(b'{"fail": true}', "r2", 0, "arn", "", "", "", "", "application/json")
    assert failed[0] is False and failed[2] == "ValueError"
    body = json.loads(failed[1])
    assert list(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body["requestId"] == "r2"
    assert len(body["stackTrace"]) == 1 and "in handler" in body["stackTrace"][0]
    assert "[ERROR] ValueError: nope\rTraceback (most recent call last):\r" in capsys.readouterr().out
    bad = invoke(b"{", "r3", 0, "arn", "", "", "", "", "application/json")
    assert bad[2] == "Runtime.UnmarshalError"
    raw = invoke(b"\x01\x02", "r4", 0, "arn", "", "", "", "", "application/octet-stream")
    assert raw[0] is False  # the handler got bytes and .get() failed: an AttributeError
    assert raw[2] == "AttributeError"


def test_invoke_sets_the_trace_id_in_os_environ():
    import os

    invoke = b.make_invoke(lambda e, c: os.environ.get("_X_AMZN_TRACE_ID"))
    assert invoke(b"{}", "r", 0, "a", "Root=1-x", "", "", "", "application/json")[1] == '"Root=1-x"'
    assert invoke(b"{}", "r", 0, "a", "", "", "", "", "application/json")[1] == "null"


def test_the_platform_context_and_per_thread_request_ids():
    """context.platform is the platform context parsed (None on Lambda), and the request id the
    log formatters see is per thread (instance concurrency on push platforms)."""
    import threading

    seen = {}

    def handler(event, context):
        seen[event["n"]] = (context.platform, b.state.request_id)
        return None

    invoke = b.make_invoke(handler)
    invoke(b'{"n": 1}', "r1", 0, "arn", "", "", "", "", "application/json",
           '{"cloudevent": {"id": "e1"}}')
    assert seen[1] == ({"cloudevent": {"id": "e1"}}, "r1")
    invoke(b'{"n": 2}', "r2", 0, "arn", "", "", "", "", "application/json")
    assert seen[2] == (None, "r2")
    other = threading.Thread(target=lambda: invoke(b'{"n": 3}', "r3", 0, "arn", "", "", "", "",
                                                   "application/json"))
    other.start()
    other.join()
    assert seen[3] == (None, "r3")
    assert b.state.request_id == "r2"  # this thread's id is untouched by the other thread
