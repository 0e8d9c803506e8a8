"""The extension module lamella._lamella: the C++ loop driven from Python, against a small
Runtime API server written here (one /next, then the posted result), and `python -m lamella`
under the real emulator (`lamella serve`)."""

import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from lamella import _lamella


class FakeRuntimeApi(http.server.ThreadingHTTPServer):
    """Delivers `events` (each after `delay` seconds) and records what the runtime posts."""

    daemon_threads = True

    def __init__(self, events, delay=0.0):
        self.events = list(events)
        self.delay = delay
        self.posts = []
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def address(self):
        return f"127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        server = self.server
        time.sleep(server.delay)
        body = server.events.pop(0).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", f"req-{len(server.posts)}")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 3000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:x:1:function:f")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-test")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        self.server.posts.append(
            (self.path, self.headers.get("Lambda-Runtime-Function-Error-Type"),
             self.rfile.read(length).decode())
        )
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def fake_api():
    servers = []

    def make(events, delay=0.0):
        server = FakeRuntimeApi(events, delay)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.shutdown()
        server.server_close()


def test_serve_posts_results_and_errors(fake_api):
    api = fake_api(['{"n": 1}', '{"n": 2}'])
    seen = []

    def invoke(payload, request_id, deadline_ms, arn, trace_id, *rest):
        seen.append((payload, request_id, arn, trace_id))
        if json.loads(payload)["n"] == 2:
            return False, '{"errorType": "Boom"}', "Boom"
        return True, '{"ok": true}', "application/json"

    assert _lamella.serve(invoke, api.address, 2) == 0
    assert seen[0] == (b'{"n": 1}', "req-0", "arn:aws:lambda:x:1:function:f", "Root=1-test")
    assert api.posts[0] == ("/2018-06-01/runtime/invocation/req-0/response", None, '{"ok": true}')
    assert api.posts[1][0] == "/2018-06-01/runtime/invocation/req-1/error"
    assert api.posts[1][2] == '{"errorType": "Boom"}'


def test_the_gil_is_released_while_waiting_for_the_next_event(fake_api):
    api = fake_api(["{}"], delay=0.3)
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        start = time.monotonic()
        assert _lamella.serve(lambda *a: (True, "{}", "application/json"), api.address, 1) == 0
        waited = [t for t in ticks if t > start + 0.05]
    finally:
        stop.set()
        thread.join()
    assert len(waited) >= 10, "a Python thread must run while serve() waits on /next"


def test_a_broken_invoke_function_is_a_function_error_not_a_crash(fake_api):
    api = fake_api(["{}"])

    def invoke(*args):
        raise KeyboardInterrupt("simulated")

    assert _lamella.serve(invoke, api.address, 1) == 0
    assert api.posts[0][0].endswith("/error")
    assert json.loads(api.posts[0][2])["errorType"] == "KeyboardInterrupt"


def test_report_init_error_posts_the_body_with_the_type_header(fake_api):
    api = fake_api([])
    body = '{"errorMessage": "m", "errorType": "Runtime.X", "requestId": "", "stackTrace": []}'
    assert _lamella.report_init_error("Runtime.X", body, api.address) is True
    assert api.posts == [("/2018-06-01/runtime/init/error", "Runtime.X", body)]


def test_serve_returns_1_when_the_runtime_api_is_gone():
    assert _lamella.serve(lambda *a: (True, "{}", "x"), "127.0.0.1:1", 1) == 1


def test_python_m_lamella_under_lamella_serve(tmp_path, bin_dir):
    package_dir = Path(_lamella.__file__).resolve().parent.parent
    (tmp_path / "app.py").write_text(
        "n = 0\n"
        "def handler(event, context):\n"
        "    global n\n"
        "    n += 1\n"
        "    return {'hello': event.get('name'), 'n': n, 'fn': context.function_name}\n"
    )
    bootstrap = tmp_path / "bootstrap"
    # The emulator passes Lambda's environment only: what the runtime needs goes in the script
    # (under ASan, the preloaded sanitizer runtime the extension module needs).
    preload = "".join(
        f'export {k}="{os.environ[k]}"\n' for k in ("LD_PRELOAD", "ASAN_OPTIONS") if k in os.environ
    )
    bootstrap.write_text(
        f'#!/bin/sh\n{preload}export PYTHONPATH="{package_dir}"\n'
        f'exec "{sys.executable}" -m lamella "$_HANDLER"\n'
    )
    bootstrap.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    serve = subprocess.Popen(
        [str(bin_dir / "lamella"), "serve", str(tmp_path), "--port", "0", "--handler",
         "app.handler", "--name", "pyfn"],
        stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        port = None
        for line in serve.stderr:
            m = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if m:
                port = m.group(1)
                break
        assert port, "lamella serve did not print its port"
        url = f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
        answers = []
        for name in ("a", "b"):
            req = urllib.request.Request(url, data=json.dumps({"name": name}).encode())
            with urllib.request.urlopen(req, timeout=10) as res:
                answers.append(json.loads(res.read()))
        assert answers == [{"hello": "a", "n": 1, "fn": "pyfn"}, {"hello": "b", "n": 2, "fn": "pyfn"}]
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=10)
