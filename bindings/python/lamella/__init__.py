"""lamella: a fast runtime for AWS-style Python handlers.

Run a handler with ``python -m lamella module.function`` (the Lambda Runtime API address comes
from ``AWS_LAMBDA_RUNTIME_API``), or let lamella's generic ``bootstrap`` embed Python for you.
Nothing is imported here, so that starting the runtime stays cheap.
"""

__all__: list[str] = []
