"""lamella.on_shutdown / on_pre_freeze from Python's side, and a signal.signal() SIGTERM handler
under `python -m lamella` on a pull platform (Lambda with an extension sends SIGTERM before it
stops the environment). The hooks' runs on push platforms are tested end to end in
tests/integration/push_runtime_test.cpp."""

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import lamella
from lamella import _lamella


def test_the_hooks_are_decorators_that_return_the_function():
    def hook():
        pass

    assert lamella.on_shutdown(hook) is hook
    assert lamella.on_pre_freeze(hook) is hook


@pytest.mark.parametrize("register", [lamella.on_shutdown, lamella.on_pre_freeze])
def test_a_hook_must_be_callable(register):
    with pytest.raises(TypeError, match="must be callable"):
        register("not a function")


def test_a_raising_hook_is_logged_with_its_traceback_then_raised(capsys):
    def broken():
        raise ValueError("hook-broke")

    with pytest.raises(ValueError, match="hook-broke"):
        lamella._logged(broken)()
    out = capsys.readouterr().out
    assert out.startswith("[ERROR] ValueError: hook-broke\r")
    assert "Traceback (most recent call last):" in out
    assert "in broken" in out


class _OneEventApi(http.server.ThreadingHTTPServer):
    """A Runtime API that delivers one event, then holds the next /next open."""

    daemon_threads = True

    def __init__(self):
        self.posted = threading.Event()
        self.served = 0
        super().__init__(("127.0.0.1", 0), _OneEventHandler)


class _OneEventHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.server.served > 0:
            time.sleep(60)  # the environment is idle until SIGTERM
            return
        self.server.served += 1
        body = b"{}"
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "req-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:x:1:function:f")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        self.server.posted.set()


@pytest.mark.parametrize("when", ["import", "invocation"])
def test_a_sigterm_handler_runs_at_once_on_lambda_and_its_exit_status_ends_the_process(
    tmp_path, when
):
    (tmp_path / "sig.py").write_text(
        "import signal, sys\n"
        "def on_term(signum, frame):\n"
        "    print(f'sigterm handler {signum}', flush=True)\n"
        "    sys.exit(3)\n"
        f"WHEN = {when!r}\n"
        "if WHEN == 'import':\n"
        "    signal.signal(signal.SIGTERM, on_term)\n"
        "def handler(event, context):\n"
        "    if WHEN == 'invocation':\n"
        "        signal.signal(signal.SIGTERM, on_term)\n"
        "    return 'ok'\n"
    )
    api = _OneEventApi()
    threading.Thread(target=api.serve_forever, daemon=True).start()
    package_dir = Path(_lamella.__file__).resolve().parent.parent
    env = dict(os.environ, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{api.server_address[1]}",
               PYTHONPATH=str(package_dir), LAMBDA_TASK_ROOT=str(tmp_path))
    env.pop("LAMELLA_PLATFORM", None)
    runtime = subprocess.Popen([sys.executable, "-m", "lamella", "sig.handler"], env=env,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert api.posted.wait(30), "the invocation's result was not posted"
        # The runtime now waits in the next /next (inside C++, without the GIL).
        runtime.send_signal(signal.SIGTERM)
        assert runtime.wait(timeout=30) == 3
        assert "sigterm handler 15" in runtime.stdout.read()
    finally:
        if runtime.poll() is None:
            runtime.kill()
        api.shutdown()
