"""python-hello: an unchanged AWS-style Python handler with warm state.

Run it:  lamella invoke samples/python-hello --handler app.handler --event '{"name":"x"}'
"""

import time

# Module-level code runs once per execution environment (the cold start), not per invocation.
STARTED_AT = time.time()
invocations = 0


def handler(event, context):
    """Greets `event["name"]` and counts the invocations this warm process has served."""
    global invocations
    invocations += 1
    name = event.get("name", "world") if isinstance(event, dict) else "world"
    return {
        "message": f"Hello, {name}!",
        "count": invocations,
        "request_id": context.aws_request_id,
    }
