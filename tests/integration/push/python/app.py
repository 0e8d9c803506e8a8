"""Instance concurrency check: every invocation waits at one barrier for `parties` invocations
(the event's), so the barrier opens only when that many run at once (else each waits 10 s and
reports "alone")."""

import threading

_barriers = {}
_lock = threading.Lock()


def handler(event, context):
    parties = int(event.get("parties", 1))
    with _lock:
        barrier = _barriers.setdefault(parties, threading.Barrier(parties, timeout=10))
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        return {"met": False, "request_id": context.aws_request_id}
    return {"met": True, "request_id": context.aws_request_id}
