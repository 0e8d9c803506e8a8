"""Handlers the integration tests call through the real bootstrap and the real emulator."""

import os
import subprocess

INIT_RUNS = int(os.environ.get("LAMELLA_TEST_INIT_RUNS", "0")) + 1
count = 0


def echo(event, context):
    return event


def counter(event, context):
    global count
    count += 1
    return {"count": count, "pid": os.getpid(), "init_runs": INIT_RUNS}


def fail(event, context):
    return helper(event)


def helper(event):
    raise ValueError("bad input: " + str(event.get("x")))


class CustomError(Exception):
    pass


def custom(event, context):
    raise CustomError("custom failure")


def values(event, context):
    from decimal import Decimal

    return {
        "decimal": Decimal("1.10"),
        "big": Decimal("12345678901234567890.000000001"),
        "none": None,
        "unicode": "h\u00e9llo \u2713",
        "float": 0.5,
        "list": [1, True, None],
    }


def none(event, context):
    return None


def unserialisable(event, context):
    return {"s": {1, 2}}


def raw_bytes(event, context):
    return b"\x00raw"


def context_dump(event, context):
    cc = context.client_context
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "identity_id": context.identity.cognito_identity_id,
        "client_custom": cc.custom if cc else None,
        "client_app_title": cc.client.app_title if cc and cc.client else None,
        "tenant_id": context.tenant_id,
        "remaining": context.get_remaining_time_in_millis(),
    }


def trace(event, context):
    shell = subprocess.run(
        ["/bin/sh", "-c", 'printf %s "$_X_AMZN_TRACE_ID"'], capture_output=True, text=True
    ).stdout
    return {"python": os.environ.get("_X_AMZN_TRACE_ID"), "process": shell}


def logs(event, context):
    import logging

    print("printed line", event.get("tag"))
    logger = logging.getLogger()
    logger.debug("debug line %s", event.get("tag"))
    logger.info("info line %s", event.get("tag"))
    logging.getLogger("child").warning("warning line\nsecond part")
    try:
        raise KeyError("inside")
    except KeyError:
        logger.exception("caught it")
    return {"ok": True}


def event_type(event, context):
    return {"type": type(event).__name__}


def exits(event, context):
    import sys

    sys.exit(3)


def runtime_module(event, context):
    import sys

    builtin = sys.modules.get("_lamella")
    return {"builtin": builtin is not None and not hasattr(builtin, "__file__"),
            "extension": "lamella._lamella" in sys.modules}
