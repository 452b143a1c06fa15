"""Detection work off the event loop: at most N at once, each bounded in time, owners in turn.

Detection is CPU-bound. Running every request's detection in its own thread at once only makes
them share the interpreter and all finish late, so past ``parallel`` they wait their turn. Waiting
is queueing, not a hung detector: it has its own, longer bound (``queue_timeout_s``), and
``timeout_s`` starts when the work does. Either bound refuses with DetectionUnavailable (fail
closed: nothing unscanned goes anywhere).

Turns are fair between owners (the caller's principal): a free thread goes to the waiting owner
that holds the fewest threads, the one waiting longest since its last turn among equals, and each
owner's own steps run in the order they came. One principal with many large requests waits behind
itself; another principal's step gets the next thread that frees up.

The work runs on a pool of exactly ``parallel`` threads. Work whose caller stopped waiting (it
timed out, or went away) is told so through its step's :class:`CancelToken`; detection checks
it between slices of work (:func:`check_cancelled`) and stops there. Until it does, it keeps its
thread, so the bound holds for abandoned work too.

Small steps run on the caller's event loop instead (``inline_max_chars``): handing a step to a
thread and its result back costs more than detecting a short prompt, and on a 2-core virtual
machine the interpreter lock passing between the loop and the pool threads doubled the CPU time
of a request (docs/benchmarks.md, issue 20). A step goes inline only when it declares its size,
that size is at most ``inline_max_chars`` characters, and no step is waiting for a thread (under
load the fair queue decides, as before). Such a step is bounded by its size; it still stops at
its next check once ``timeout_s`` has passed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from policies.errors import DetectionUnavailable

T = TypeVar("T")

#: The owner of steps whose caller names none: they all share one turn.
SHARED_OWNER: Hashable = None


class DetectionCancelled(DetectionUnavailable):
    """The step was stopped: nobody waits for its result any more."""


class CancelToken:
    """Set once a step's result is no longer wanted; the step stops at its next check."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise DetectionCancelled once cancelled."""
        if self._event.is_set():
            raise DetectionCancelled("PII detection was cancelled")


class DeadlineToken(CancelToken):
    """The token of a step run inline: cancelled once its deadline (``time.monotonic``) passes."""

    __slots__ = ("_deadline",)

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self._deadline = deadline

    @property
    def cancelled(self) -> bool:
        return self._event.is_set() or time.monotonic() > self._deadline

    def check(self) -> None:
        if self.cancelled:
            raise DetectionCancelled("PII detection was cancelled")


# The token of the step the current pool thread runs (None outside a step), as anyio's
# ``from_thread.check_cancelled`` finds the task that started a worker thread.
_CURRENT: contextvars.ContextVar[CancelToken | None] = contextvars.ContextVar("pii_step", default=None)


def current_cancel_token() -> CancelToken | None:
    """The token of the pool step running on this thread; None outside a pool step."""
    return _CURRENT.get()


def check_cancelled() -> None:
    """Raise DetectionCancelled when the pool step running on this thread was given up; a no-op
    outside a pool step."""
    token = _CURRENT.get()
    if token is not None:
        token.check()


@dataclass(eq=False)
class _Step:
    work: Callable[[], Any]
    owner: Hashable
    loop: asyncio.AbstractEventLoop
    cancel: CancelToken = field(default_factory=CancelToken)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    result: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)


class DetectionPool:
    """Runs detection callables on ``parallel`` worker threads, owners taking turns."""

    def __init__(
        self, parallel: int, timeout_s: float, queue_timeout_s: float, *, inline_max_chars: int = 0
    ) -> None:
        if parallel < 1 or timeout_s <= 0 or queue_timeout_s <= 0:
            raise ValueError("parallel, timeout_s and queue_timeout_s must be positive")
        if inline_max_chars < 0:
            raise ValueError("inline_max_chars must not be negative")
        self.parallel = parallel
        self.timeout_s = timeout_s
        self.queue_timeout_s = queue_timeout_s
        self.inline_max_chars = inline_max_chars
        self.inline_steps = 0  # steps run on the caller's loop so far
        self._executor = concurrent.futures.ThreadPoolExecutor(parallel, thread_name_prefix="pii")
        self._lock = threading.Lock()
        # Owners with waiting steps, in turn order (a dict keeps insertion order): of those holding
        # the fewest threads, the first gets the next free thread and, if it still has steps
        # waiting, moves to the back.
        self._waiting: dict[Hashable, deque[_Step]] = {}
        self._held: dict[Hashable, int] = {}  # threads held per owner
        self._active: set[_Step] = set()  # steps holding a thread
        self._closed = False

    @property
    def running(self) -> int:
        """Steps holding a thread now, abandoned ones that have not stopped yet included."""
        with self._lock:
            return len(self._active)

    @property
    def waiting(self) -> int:
        """Steps waiting for a thread."""
        with self._lock:
            return sum(len(steps) for steps in self._waiting.values())

    async def run(
        self, work: Callable[[], T], *, owner: Hashable = SHARED_OWNER, size: int | None = None
    ) -> T:
        """``work()`` on a pool thread in ``owner``'s turn; DetectionUnavailable if no thread frees
        up in time or the work overruns (the work is then cancelled: see :func:`check_cancelled`).
        Exceptions raised by ``work`` pass through unchanged.

        ``size``: the characters ``work`` reads; at most ``inline_max_chars`` (0: never) and no
        step waiting for a thread, it runs here on the caller's loop (see the module's docstring)."""
        small = size is not None and self.inline_max_chars > 0 and size <= self.inline_max_chars
        if small and self._inline_allowed():
            return self._run_inline(work)
        step = _Step(work, owner, asyncio.get_running_loop())
        self._enqueue(owner, step)
        try:
            await asyncio.wait_for(step.started.wait(), self.queue_timeout_s)
        except TimeoutError:
            self._abandon(owner, step)  # still queued: it never runs
            raise DetectionUnavailable("PII detection is overloaded") from None
        except BaseException:
            self._abandon(owner, step)  # the caller went away while it waited
            raise
        outcome = asyncio.wrap_future(step.result)
        # An abandoned step ends with DetectionCancelled that nobody reads: not worth a warning.
        outcome.add_done_callback(lambda done: done.cancelled() or done.exception())
        try:
            return cast(T, await asyncio.wait_for(asyncio.shield(outcome), self.timeout_s))
        except TimeoutError:
            step.cancel.cancel()
            raise DetectionUnavailable("PII detection timed out") from None
        except asyncio.CancelledError:
            step.cancel.cancel()  # the caller went away while it ran
            raise

    def _inline_allowed(self) -> bool:
        with self._lock:
            if self._closed:
                raise DetectionUnavailable("PII detection is shut down")
            return not self._waiting

    def _run_inline(self, work: Callable[[], T]) -> T:
        self.inline_steps += 1
        token = _CURRENT.set(DeadlineToken(time.monotonic() + self.timeout_s))
        try:
            return work()
        except DetectionCancelled:
            raise DetectionUnavailable("PII detection timed out") from None
        finally:
            _CURRENT.reset(token)

    def close(self) -> None:
        """Drop queued work and cancel running work (it stops at its next check)."""
        with self._lock:
            self._closed = True
            dropped = [step for steps in self._waiting.values() for step in steps]
            dropped.extend(self._active)
            self._waiting.clear()
        for step in dropped:
            step.cancel.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _enqueue(self, owner: Hashable, step: _Step) -> None:
        with self._lock:
            if self._closed:
                raise DetectionUnavailable("PII detection is shut down")
            self._waiting.setdefault(owner, deque()).append(step)
            self._dispatch()

    def _abandon(self, owner: Hashable, step: _Step) -> None:
        with self._lock:
            steps = self._waiting.get(owner)
            if steps is not None and step in steps:
                steps.remove(step)
                if not steps:
                    del self._waiting[owner]
                return
        step.cancel.cancel()  # it got a thread meanwhile: stop it at its first check

    def _dispatch(self) -> None:
        """Give free threads to waiting owners in turn. Called with the lock held."""
        while len(self._active) < self.parallel and self._waiting and not self._closed:
            owner = min(self._waiting, key=lambda waiting: self._held.get(waiting, 0))  # first of equals
            steps = self._waiting.pop(owner)
            step = steps.popleft()
            if steps:
                self._waiting[owner] = steps  # to the back of the turn order
            self._active.add(step)
            self._held[owner] = self._held.get(owner, 0) + 1
            self._executor.submit(self._run_step, step)

    def _run_step(self, step: _Step) -> None:
        try:
            if step.cancel.cancelled:
                raise DetectionCancelled("PII detection was cancelled before it started")
            step.loop.call_soon_threadsafe(step.started.set)
            token = _CURRENT.set(step.cancel)
            try:
                value = step.work()
            finally:
                _CURRENT.reset(token)
        except BaseException as exc:  # handed to the caller, as an executor does
            step.result.set_exception(exc)
        else:
            step.result.set_result(value)
        finally:
            with self._lock:
                self._active.discard(step)
                held = self._held.pop(step.owner) - 1
                if held:
                    self._held[step.owner] = held
                self._dispatch()
