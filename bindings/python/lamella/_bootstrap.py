"""The Python side of lamella's runtime: handler loading, the context object, event and result
conversion, error bodies and error logs, behaving as the AWS Python runtime does.

The Runtime API loop itself is C++ (``lamella._lamella.serve``): it waits on the platform without
the GIL and calls the function returned by ``make_invoke`` once per invocation.

Cold start matters, so this module imports only what every invocation needs (``sys``, ``os``,
``time`` and the C accelerator ``_json``); ``json``, ``traceback``, ``logging`` and ``decimal``
are imported on first use.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import _json

_THIS_FILE = __file__

# ---------------------------------------------------------------------------------------------
# Shared state: the request being served (read by the log formatters).


class _State(threading.local):
    """What the log formatters need to know about the current invocation. Per thread: on a
    push platform with instance concurrency, several loops serve invocations at once, each on
    its own thread. The class attributes are the defaults every thread starts from;
    ``log_format`` is set on the class, once, for all threads."""

    request_id = ""
    tenant_id = ""
    log_format = "TEXT"  # or "JSON" (AWS_LAMBDA_LOG_FORMAT, compared case-insensitively)


state = _State()

# ---------------------------------------------------------------------------------------------
# Errors


class InitError(Exception):
    """A failure while loading the handler, with the AWS error type to report."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []


def _user_frames(tb) -> list[str]:
    """The traceback as AWS's stackTrace: ``traceback.format_list`` strings, with lamella's own
    leading frames (and the import machinery's) left out."""
    import traceback

    frames = traceback.extract_tb(tb)
    start = 0
    while start < len(frames) and (
        frames[start].filename == _THIS_FILE
        or frames[start].filename.startswith("<frozen importlib")
        or frames[start].filename.endswith("importlib/__init__.py")
    ):
        start += 1
    return traceback.format_list(frames[start:])


def _dumps_plain(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


def error_body(error_type: str, message: str, request_id: str, stack_trace: list[str]) -> str:
    """The error JSON the AWS Python runtime posts, keys in its order."""
    return _dumps_plain(
        {
            "errorMessage": message,
            "errorType": error_type,
            "requestId": request_id,
            "stackTrace": stack_trace,
        }
    )


def log_error(error_type: str, message: str, stack_trace: list[str]) -> None:
    """Logs a function or init error as the AWS runtime does. Text: ``[ERROR] Type: message``,
    then ``Traceback (most recent call last):`` and the frames, leading spaces made U+00A0, the
    lines joined by CR so that the record stays one log line. JSON: one JSON line."""
    if state.log_format == "JSON":
        record = {
            "timestamp": _timestamp(time.time()),
            "level": "ERROR",
            "message": message,
            "logger": "root",
            "requestId": state.request_id,
            "errorType": error_type,
            "errorMessage": message,
            "stackTrace": stack_trace,
        }
        if state.tenant_id:
            record["tenantId"] = state.tenant_id
        _write_log(_dumps_plain(record) + "\n")
        return
    head = "[ERROR]"
    if error_type:
        head += " " + error_type
    if message:
        head += (":" if error_type else "") + " " + message
    lines = [head]
    if stack_trace:
        lines.append("Traceback (most recent call last):")
        for element in stack_trace:
            for line in element.splitlines():
                stripped = line.lstrip(" ")
                lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    _write_log("\r".join(lines) + "\n")


def _write_log(text: str) -> None:
    stream = sys.stdout
    stream.write(text)
    stream.flush()


def _timestamp(seconds: float) -> str:
    """UTC ISO 8601 with milliseconds: 2024-05-01T12:00:00.123Z."""
    whole = int(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%03dZ" % (
        int((seconds - whole) * 1000)
    )


# ---------------------------------------------------------------------------------------------
# Handler loading


def load_handler(handler: str, task_root: str):
    """Returns the function ``handler`` names (``module.function`` or
    ``dir/sub/module.function``, split at the last '.'). Raises InitError with the AWS type:
    Runtime.MalformedHandlerName (bad form, or a path escaping the task root),
    Runtime.BuiltInModuleConflict, Runtime.ImportModuleError, Runtime.UserCodeSyntaxError,
    Runtime.HandlerNotFound; an exception raised by the module's own code is reported with its
    class name as the type."""
    try:
        module_path, function_name = handler.rsplit(".", 1)
    except ValueError as e:
        raise InitError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {e}") from None
    parts = module_path.split("/")
    if (
        not module_path
        or not function_name
        or module_path.startswith("/")
        or any(p in ("", ".", "..") for p in parts)
        or any("." in p for p in parts[:-1])
    ):
        raise InitError(
            "Runtime.MalformedHandlerName",
            f"Bad handler '{handler}': the module path must name a file inside the task root",
        )
    module_name = ".".join(parts)
    if module_name in sys.builtin_module_names:
        raise InitError(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        # As importlib.import_module(), without loading the importlib package at start.
        __import__(module_name)
        module = sys.modules[module_name]
    except ImportError as e:
        raise InitError(
            "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {e}"
        ) from None
    except SyntaxError as e:
        trace = [f'  File "{e.filename}" Line {e.lineno}\n', f"    {(e.text or '').strip()}\n"]
        raise InitError(
            "Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {e}", trace
        ) from None
    except Exception as e:
        raise InitError(type(e).__name__, str(e), _user_frames(e.__traceback__)) from None
    function = getattr(module, function_name, None)
    if function is None:
        raise InitError(
            "Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'"
        )
    return function


# ---------------------------------------------------------------------------------------------
# The context object


class CognitoIdentity:
    """``context.identity``: the Cognito identity of a mobile-SDK caller."""

    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, identity_id=None, pool_id=None):
        self.cognito_identity_id = identity_id
        self.cognito_identity_pool_id = pool_id

    def __repr__(self):
        return (
            f"CognitoIdentity([cognito_identity_id={self.cognito_identity_id},"
            f" cognito_identity_pool_id={self.cognito_identity_pool_id}])"
        )


class Client:
    """``context.client_context.client``: the calling mobile application."""

    __slots__ = (
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    )

    def __init__(self, data: dict):
        self.installation_id = data.get("installation_id")
        self.app_title = data.get("app_title")
        self.app_version_name = data.get("app_version_name")
        self.app_version_code = data.get("app_version_code")
        self.app_package_name = data.get("app_package_name")


class ClientContext:
    """``context.client_context``: what a mobile SDK caller sent (``custom``, ``env``,
    ``client``)."""

    __slots__ = ("custom", "env", "client")

    def __init__(self, data: dict):
        self.custom = data.get("custom")
        self.env = data.get("env")
        client = data.get("client")
        self.client = Client(client) if isinstance(client, dict) else None


# Read once: Lambda sets these before the runtime starts and they do not change.
_FUNCTION_NAME = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
_FUNCTION_VERSION = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
_MEMORY_SIZE = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
_LOG_GROUP = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
_LOG_STREAM = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")


class LambdaContext:
    """The context object passed to the handler, with the AWS runtime's attributes and
    methods."""

    __slots__ = (
        "aws_request_id",
        "log_group_name",
        "log_stream_name",
        "function_name",
        "memory_limit_in_mb",
        "function_version",
        "invoked_function_arn",
        "client_context",
        "identity",
        "tenant_id",
        "platform",
        "_deadline_ms",
    )

    def __init__(self, request_id, deadline_ms, arn, client_context, identity, tenant_id,
                 platform_context=""):
        self.aws_request_id = request_id
        self.log_group_name = _LOG_GROUP
        self.log_stream_name = _LOG_STREAM
        self.function_name = _FUNCTION_NAME
        self.memory_limit_in_mb = _MEMORY_SIZE
        self.function_version = _FUNCTION_VERSION
        self.invoked_function_arn = arn
        self.tenant_id = tenant_id or None
        # lamella's own: the platform's context (CloudEvent attributes, FC metadata) as a dict,
        # None on Lambda.
        self.platform = _loads(platform_context) if platform_context else None
        self._deadline_ms = deadline_ms
        self.client_context = None
        self.identity = CognitoIdentity()
        if client_context:
            self.client_context = ClientContext(_loads(client_context))
        if identity:
            data = _loads(identity)
            self.identity = CognitoIdentity(
                data.get("cognitoIdentityId"), data.get("cognitoIdentityPoolId")
            )

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the platform stops this invocation (never negative)."""
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg: str) -> None:
        """Writes ``msg`` to the function's log as is."""
        _write_log(str(msg))

    def __repr__(self):
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},identity={self.identity},"
            f"tenant_id={self.tenant_id}])"
        )


# ---------------------------------------------------------------------------------------------
# JSON: the standard library's C accelerator, without importing the json package (and `re`)
# on the hot path. Error paths defer to `json` itself so that messages are the standard ones.

_CONSTANTS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


class _ScanContext:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__
    memo: dict = {}


_scan = _json.make_scanner(_ScanContext())
_WHITESPACE = " \t\n\r"


def _loads(data):
    """json.loads for str or bytes (UTF-8); raises what json.loads raises."""
    try:
        text = data.decode("utf-8") if isinstance(data, (bytes, bytearray)) else data
        start = len(text) - len(text.lstrip(_WHITESPACE))
        value, end = _scan(text, start)
        if end != len(text) and text[end:].strip(_WHITESPACE):
            raise ValueError("extra data")
        return value
    except Exception:
        import json

        return json.loads(data)  # raises the standard error; or agrees on an edge case


# Decimal values are written as their exact text (as AWS's runtime does): the encoder's
# `default` turns each into a placeholder string, replaced by the text once encoding is done.
_PLACEHOLDER = "\x00lamella-decimal-" + os.urandom(6).hex() + "-"


class _Encoding:
    __slots__ = ("decimals",)

    def __init__(self):
        self.decimals: list[str] = []

    def default(self, o):
        decimal = sys.modules.get("decimal")
        if decimal is not None and isinstance(o, decimal.Decimal):
            self.decimals.append(str(o))
            return _PLACEHOLDER + str(len(self.decimals) - 1)
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


def _fail_default(o):
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(o, decimal.Decimal):
        raise _NeedsDecimal()
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


class _NeedsDecimal(Exception):
    pass


def _make_encoder(default, markers):
    # (markers, default, encoder, indent, key_separator, item_separator, sort_keys, skipkeys,
    # allow_nan): json.dumps(ensure_ascii=False) with the standard separators.
    return _json.make_encoder(
        markers, default, _json.encode_basestring, None, ": ", ", ", False, False, True
    )


# The circular-reference markers of the fast encoder: empty between calls, except after a
# failed call (the C encoder leaves its entries behind then), so it is cleared on failure.
_fast_markers: dict = {}
_fast_encode = _make_encoder(_fail_default, _fast_markers)


def dumps(value) -> str:
    """The result as JSON: json.dumps(value, ensure_ascii=False) plus Decimal as exact text.
    Raises TypeError or ValueError for what cannot be encoded."""
    try:
        return "".join(_fast_encode(value, 0))
    except _NeedsDecimal:
        _fast_markers.clear()
    except BaseException:
        _fast_markers.clear()
        raise
    encoding = _Encoding()
    text = "".join(_make_encoder(encoding.default, {})(value, 0))
    escaped = _PLACEHOLDER.replace("\x00", "\\u0000")
    for i, exact in enumerate(encoding.decimals):
        text = text.replace(f'"{escaped}{i}"', exact, 1)
    return text


# ---------------------------------------------------------------------------------------------
# One invocation


def _environ_setter():
    """Sets os.environ['_X_AMZN_TRACE_ID'] without putenv(): the C++ loop already keeps the
    process environment right (in one reused buffer), and glibc never frees what putenv/setenv
    replace."""
    data = getattr(os.environ, "_data", None)
    if not isinstance(data, dict):

        def set_trace(value):
            if value:
                os.environ["_X_AMZN_TRACE_ID"] = value
            else:
                os.environ.pop("_X_AMZN_TRACE_ID", None)

        return set_trace
    key = os.environ.encodekey("_X_AMZN_TRACE_ID")
    encode = os.environ.encodevalue

    def set_trace(value):
        if value:
            data[key] = encode(value)
        else:
            data.pop(key, None)

    return set_trace


def _environment_mirror():
    """Applies a platform's per-invocation variables (platform_context "environment": name ->
    string, or null to remove) to os.environ. CPython's os.environ is a copy taken at start; the
    push adapter has already set the process environment (C++ and Node read that), so this
    changes the copy only, without putenv()."""
    data = getattr(os.environ, "_data", None)

    def apply(variables):
        if not isinstance(variables, dict):
            return
        for name, value in variables.items():
            if not isinstance(data, dict):
                if isinstance(value, str):
                    os.environ[name] = value
                else:
                    os.environ.pop(name, None)
            elif isinstance(value, str):
                data[os.environ.encodekey(name)] = os.environ.encodevalue(value)
            else:
                data.pop(os.environ.encodekey(name), None)

    return apply


def make_invoke(function):
    """The function the C++ loop calls per invocation: decodes the event, builds the context,
    calls ``function(event, context)`` and encodes the result. Returns ``(True, body,
    content_type)`` or ``(False, error_json, error_type)``; never raises for a user error."""
    set_trace = _environ_setter()
    set_environment = _environment_mirror()

    def invoke(payload, request_id, deadline_ms, arn, trace_id, client_context, identity,
               tenant_id, content_type, platform_context=""):
        state.request_id = request_id
        state.tenant_id = tenant_id
        set_trace(trace_id)
        try:
            if not content_type or content_type.startswith("application/json"):
                try:
                    event = _loads(payload)
                except Exception as e:
                    return _failure("Runtime.UnmarshalError", f"Unable to unmarshal input: {e}",
                                    request_id, [])
            else:
                event = payload
            try:
                context = LambdaContext(request_id, deadline_ms, arn, client_context, identity,
                                        tenant_id, platform_context)
            except Exception as e:
                return _failure("Runtime.LambdaContextUnmarshalError",
                                f"Unable to parse Client Context JSON: {e}", request_id, [])
            if isinstance(context.platform, dict) and "environment" in context.platform:
                set_environment(context.platform["environment"])
            result = function(event, context)
        except Exception as e:
            return _failure(type(e).__name__, str(e), request_id, _user_frames(e.__traceback__))
        if isinstance(result, (bytes, bytearray)):
            return True, bytes(result), "application/unknown"
        try:
            return True, dumps(result), "application/json"
        except Exception as e:
            return _failure("Runtime.MarshalError", f"Unable to marshal response: {e}",
                            request_id, [])

    return invoke


def _failure(error_type, message, request_id, stack_trace):
    log_error(error_type, message, stack_trace)
    return False, error_body(error_type, message, request_id, stack_trace), error_type


# ---------------------------------------------------------------------------------------------
# Process set-up and the entry point


def _unbuffered_stdio():
    """print() must reach the log at once (AWS's runtime flushes every write). The embedded
    interpreter starts unbuffered; `python -m lamella` may not."""
    import io

    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        if stream is None or isinstance(getattr(stream, "buffer", None), io.FileIO):
            continue
        try:
            stream.flush()
            raw = io.FileIO(fd, "w", closefd=False)
            setattr(sys, name, io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace",
                                                write_through=True))
        except (OSError, ValueError):
            pass


def _setup_paths(task_root: str) -> None:
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    wanted = [task_root, f"/opt/python/lib/{version}/site-packages", "/opt/python"]
    for i, entry in enumerate(wanted):
        if entry not in sys.path:
            sys.path.insert(i, entry)


def _setup_logging() -> None:
    _State.log_format = "JSON" if os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON" \
        else "TEXT"
    from lamella import _logging

    _logging.install(state)


def main(handler: str, task_root: str, runtime_api: str, max_invocations: int | None = None) -> int:
    """Loads ``handler`` and serves invocations until the platform goes away. Init failures are
    logged and posted to /runtime/init/error. Returns the process exit status."""
    try:
        import _lamella  # built into lamella's embedded runtime (liblamella_python.so)
    except ImportError:
        from lamella import _lamella  # the extension module: `python -m lamella`

    _unbuffered_stdio()
    _setup_paths(task_root)
    _setup_logging()
    # A push platform's server listens before the handler loads (Fn waits 5 s for its socket).
    _lamella.listen(runtime_api)
    try:
        function = load_handler(handler, task_root)
    except InitError as e:
        log_error(e.error_type, e.message, e.stack_trace)
        _lamella.report_init_error(e.error_type, error_body(e.error_type, e.message, "",
                                                            e.stack_trace), runtime_api)
        return 1
    return _lamella.serve(make_invoke(function), runtime_api, max_invocations)
