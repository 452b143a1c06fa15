"""Detection work off the event loop: at most N at once, each bounded in time.

Detection is CPU-bound. Running every request's detection in its own thread at once only makes
them share the interpreter and all finish late, so past ``parallel`` they wait their turn. Waiting
is queueing, not a hung detector: it has its own, longer bound (``queue_timeout_s``), and
``timeout_s`` starts when the work does. Either bound refuses with DetectionUnavailable (fail
closed: nothing unscanned goes anywhere).

The work runs on a pool of exactly ``parallel`` threads. Work that overran its time limit cannot
be stopped; it keeps its thread until it ends, so the bound holds for abandoned work too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

from policies.errors import DetectionUnavailable

T = TypeVar("T")


class DetectionPool:
    """Runs detection callables on ``parallel`` worker threads."""

    def __init__(self, parallel: int, timeout_s: float, queue_timeout_s: float) -> None:
        if parallel < 1 or timeout_s <= 0 or queue_timeout_s <= 0:
            raise ValueError("parallel, timeout_s and queue_timeout_s must be positive")
        self.parallel = parallel
        self.timeout_s = timeout_s
        self.queue_timeout_s = queue_timeout_s
        self._executor = concurrent.futures.ThreadPoolExecutor(parallel, thread_name_prefix="pii")

    async def run(self, work: Callable[[], T]) -> T:
        """``work()`` on a pool thread; DetectionUnavailable if no thread frees up in time or the
        work overruns. Exceptions raised by ``work`` pass through unchanged."""
        loop = asyncio.get_running_loop()
        started = asyncio.Event()

        def job() -> T:
            loop.call_soon_threadsafe(started.set)
            return work()

        future = self._executor.submit(job)
        try:
            await asyncio.wait_for(started.wait(), self.queue_timeout_s)
        except TimeoutError:
            future.cancel()  # still queued: it never runs
            raise DetectionUnavailable("PII detection is overloaded") from None
        except BaseException:
            future.cancel()  # the caller went away while it waited
            raise
        try:
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self.timeout_s)
        except TimeoutError:
            raise DetectionUnavailable("PII detection timed out") from None

    def close(self) -> None:
        """Drop queued work; work already running finishes on its own."""
        self._executor.shutdown(wait=False, cancel_futures=True)
