"""Detection work off the event loop: at most N at once, each bounded in time.

Detection is CPU-bound. Running every request's detection in its own thread at once only makes
them share the interpreter and all finish late, so past ``parallel`` they wait their turn. Waiting
is queueing, not a hung detector: it has its own, longer bound (``queue_timeout_s``), and
``timeout_s`` starts when the work does. Either bound refuses with DetectionUnavailable (fail
closed: nothing unscanned goes anywhere).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio

from policies.errors import DetectionUnavailable

T = TypeVar("T")


class DetectionPool:
    """Runs detection callables in worker threads, ``parallel`` at a time."""

    def __init__(self, parallel: int, timeout_s: float, queue_timeout_s: float) -> None:
        if parallel < 1 or timeout_s <= 0 or queue_timeout_s <= 0:
            raise ValueError("parallel, timeout_s and queue_timeout_s must be positive")
        self.parallel = parallel
        self.timeout_s = timeout_s
        self.queue_timeout_s = queue_timeout_s
        self._slots = anyio.Semaphore(parallel)

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` in a thread; DetectionUnavailable if no slot frees up or the work overruns.

        Exceptions raised by ``work`` pass through unchanged.
        """
        try:
            with anyio.fail_after(self.queue_timeout_s):
                await self._slots.acquire()
        except TimeoutError:
            raise DetectionUnavailable("PII detection is overloaded") from None
        try:
            with anyio.fail_after(self.timeout_s):
                # An overrunning thread cannot be stopped: it is abandoned and its result dropped.
                return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        except TimeoutError:
            raise DetectionUnavailable("PII detection timed out") from None
        finally:
            self._slots.release()
