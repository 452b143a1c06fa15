"""The pool's own error: every worker is busy and the wait queue is full or timed out."""

from __future__ import annotations

from engine.errors import EngineUnavailable


class EngineSaturated(EngineUnavailable):
    """Every available worker has its maximum of requests in flight, and the wait queue was full or
    the wait timed out; HTTP 429 with ``Retry-After`` (a handler that knows only
    EngineUnavailable still fails closed with 503)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = max(1, int(retry_after_s))
