"""Lifecycle hooks from Python: each hook writes a marker line to stdout. HOOK_FAILS=1 makes the
second shutdown hook raise; SIGTERM_HANDLER=1 installs a signal.signal() SIGTERM handler at
import; an event {"install_sigterm": true} installs one during an invocation."""

import os
import signal
import sys

import lamella


def _mark(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@lamella.on_shutdown
def first():
    _mark("shutdown hook 1")


@lamella.on_shutdown
def second():
    if os.environ.get("HOOK_FAILS") == "1":
        raise ValueError("hook-broke")
    _mark("shutdown hook 2")


def frozen():
    _mark("pre-freeze hook")


assert lamella.on_pre_freeze(frozen) is frozen  # usable as a decorator and as a call


def on_term(signum, frame):
    _mark(f"sigterm handler {signum}")
    sys.exit(0)


if os.environ.get("SIGTERM_HANDLER") == "1":
    signal.signal(signal.SIGTERM, on_term)


def handler(event, context):
    if isinstance(event, dict) and event.get("install_sigterm"):
        signal.signal(signal.SIGTERM, on_term)
    _mark(f"handling {context.aws_request_id}")
    return {"ok": True}
