"""The root logger as the AWS Python runtime sets it up: a handler writing to stdout in AWS's text
format (``[LEVEL]\\t<UTC time with ms>Z\\t<request id>\\t<message>``) or, with
``AWS_LAMBDA_LOG_FORMAT=JSON``, one JSON object per record; ``AWS_LAMBDA_LOG_LEVEL`` sets the
root level.

``logging`` costs several milliseconds to import, and many handlers never use it, so lamella
does not import it at start: ``install`` puts a one-shot finder on ``sys.meta_path`` that
configures ``logging`` the moment anything imports it. The observable result is the same as
configuring it eagerly.
"""

from __future__ import annotations

import os
import sys
import time

_LEVELS = {
    "TRACE": 10,
    "DEBUG": 10,
    "INFO": 20,
    "WARN": 30,
    "WARNING": 30,
    "ERROR": 40,
    "FATAL": 50,
    "CRITICAL": 50,
}

# The attributes every LogRecord has; anything else on a record is an `extra` field.
_STANDARD_ATTRS = frozenset(
    (
        "name msg args levelname levelno pathname filename module exc_info exc_text stack_info "
        "lineno funcName created msecs relativeCreated thread threadName processName process "
        "taskName message asctime aws_request_id"
    ).split()
)

_state = None


def install(state) -> None:
    """Configures ``logging`` now if it is already imported, else when it first is."""
    global _state
    _state = state
    if "logging" in sys.modules:
        configure(sys.modules["logging"])
    elif _Finder not in sys.meta_path:
        sys.meta_path.insert(0, _Finder)


class _Finder:
    """Finds ``logging`` through the other finders and wraps its loader; then steps aside."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "logging":
            return None
        try:
            sys.meta_path.remove(cls)
        except ValueError:
            pass
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None:
            spec.loader = _ConfiguringLoader(spec.loader)
        return spec


class _ConfiguringLoader:
    """Runs the real loader, then configures the fresh ``logging`` module."""

    def __init__(self, inner):
        self._inner = inner

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module):
        self._inner.exec_module(module)
        configure(module)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def configure(logging) -> None:
    """Adds lamella's handler to the root logger (once) and applies AWS_LAMBDA_LOG_LEVEL."""
    root = logging.getLogger()
    if any(getattr(h, "_lamella", False) for h in root.handlers):
        return
    logging.Formatter.converter = time.gmtime
    handler = _make_handler(logging)
    root.addHandler(handler)
    level = _LEVELS.get(os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper())
    if level is not None:
        root.setLevel(level)


def _make_handler(logging):
    state = _state

    class RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = state.request_id
            return True

    class LambdaHandler(logging.Handler):
        """Writes each record as one line on stdout (inner newlines become CR, as the AWS
        runtime does, so that a record stays one log event)."""

        _lamella = True

        def emit(self, record):
            try:
                text = self.format(record)
                stream = sys.stdout
                stream.write(text.replace("\n", "\r") + "\n")
                stream.flush()
            except Exception:
                self.handleError(record)

    class TextFormatter(logging.Formatter):
        def __init__(self):
            super().__init__(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
                "%Y-%m-%dT%H:%M:%S",
            )

    class JsonFormatter(logging.Formatter):
        def format(self, record):
            record.message = record.getMessage()
            created = record.created
            entry = {
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
                + ".%03dZ" % int(record.msecs),
                "level": record.levelname,
                "message": record.msg if isinstance(record.msg, dict) else record.message,
                "logger": record.name,
                "requestId": state.request_id,
            }
            if state.tenant_id:
                entry["tenantId"] = state.tenant_id
            entry["location"] = f"{record.pathname}:{record.funcName}:{record.lineno}"
            if record.exc_info and record.exc_info[0] is not None:
                import traceback

                entry["errorType"] = record.exc_info[0].__name__
                entry["errorMessage"] = str(record.exc_info[1])
                entry["stackTrace"] = traceback.format_tb(record.exc_info[2])
            for key, value in record.__dict__.items():
                if key not in _STANDARD_ATTRS and not key.startswith("_"):
                    entry[key] = value
            import json

            return json.dumps(entry, ensure_ascii=False, default=str)

    handler = LambdaHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if state.log_format == "JSON" else TextFormatter())
    return handler
