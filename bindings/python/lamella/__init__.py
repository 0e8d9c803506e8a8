"""lamella: a fast runtime for AWS-style Python handlers.

Run a handler with ``python -m lamella module.function`` (the Lambda Runtime API address comes
from ``AWS_LAMBDA_RUNTIME_API``), or let lamella's generic ``bootstrap`` embed Python for you.

Lifecycle hooks (push platforms: FC, Knative, Cloud Run, ...)::

    import lamella

    @lamella.on_shutdown
    def close_pool():
        pool.close()

``on_shutdown`` hooks run once when the environment stops (SIGTERM, after the invocations in
flight finished; FC's ``GET /pre-stop``), ``on_pre_freeze`` hooks on each FC ``GET /pre-freeze``.
They run in registration order (together with hooks C++ code registered), with the GIL, on a
thread that is not a handler's; an exception is logged with its traceback and reported as the
hook's failure (FC's /pre-stop then answers an error). Lambda and SCF give no shutdown notice to
the runtime, so there the hooks do not run.

Nothing is imported at import time, so that starting the runtime stays cheap.
"""

__all__ = ["on_shutdown", "on_pre_freeze"]


def _core():
    """The C++ core the running runtime uses: the module built into lamella's embedded runtime,
    else the extension module (``python -m lamella``). Hooks must go to the copy whose server
    runs them."""
    try:
        import _lamella  # built into lamella's embedded runtime (liblamella_python.so)
    except ImportError:
        from lamella import _lamella  # the extension module
    return _lamella


def _logged(fn):
    """``fn`` wrapped so that an exception is logged as lamella logs errors (text or JSON, with
    the traceback) before it reaches the hook registry, which reports it as the failure."""

    def hook():
        try:
            fn()
        except Exception as e:
            from lamella import _bootstrap

            _bootstrap.log_error(type(e).__name__, str(e), _bootstrap._user_frames(e.__traceback__))
            raise

    return hook


def _check(fn):
    if not callable(fn):
        raise TypeError(f"lamella: a hook must be callable, not {type(fn).__name__}")


def on_shutdown(fn):
    """Registers ``fn()`` to run once when the environment shuts down. Returns ``fn``, so that it
    can be used as a decorator."""
    _check(fn)
    _core().on_shutdown(_logged(fn))
    return fn


def on_pre_freeze(fn):
    """Registers ``fn()`` to run each time FC announces a freeze (``GET /pre-freeze``). Returns
    ``fn``, so that it can be used as a decorator."""
    _check(fn)
    _core().on_pre_freeze(_logged(fn))
    return fn
