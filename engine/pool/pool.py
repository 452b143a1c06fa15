"""The worker pool: which upstream a request goes to, and whether it may go at all.

- **Selection**: the least loaded available worker (``selection.choose_worker``); load is this
  process's requests in flight, optionally plus what the worker's own gauges said beyond them.
- **Health**: an active check of every worker each ``health_interval_s`` (``GET /health`` through
  the injected probe, which also scrapes ``/metrics`` when weighting is on); passive checks from
  request outcomes feed each worker's circuit breaker.
- **Back-pressure**: at most ``max_in_flight`` requests per worker; beyond that a request waits
  in a bounded FIFO queue. Queue full, or the wait longer than ``queue_timeout_s``:
  :class:`EngineSaturated` (429). No worker available: ``EngineUnavailable`` (503).
- **Router mode**: one upstream (an ``sglang-router``), no breaker: the router balances, retries
  and breaks circuits per worker itself; the pool only checks its health and bounds the load.

Time comes from the injected ``clock`` and ``sleep``; nothing here reads the wall clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Literal

import structlog

from engine.errors import EngineUnavailable
from engine.pool.breaker import CircuitBreaker, CircuitState
from engine.pool.errors import EngineSaturated
from engine.pool.selection import NoWorker, choose_worker
from engine.pool.worker import WorkerState, display_url

log = structlog.get_logger("engine.pool")

PoolMode = Literal["pool", "router"]


@dataclass(frozen=True)
class ProbeResult:
    """One active check: whether ``GET /health`` answered 200, why not (a fixed word), and the
    load gauges when they were scraped."""

    healthy: bool
    error: str | None = None
    running: float | None = None
    queued: float | None = None


Probe = Callable[[str], Awaitable[ProbeResult]]
#: How an attempt ended, for the worker's breaker: answered, failed, or no verdict.
Outcome = Literal["ok", "failed", "none"]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class PoolConfig:
    """Settings of one pool (the gateway builds it from ``engine.*``)."""

    urls: tuple[str, ...]
    mode: PoolMode = "pool"
    health_interval_s: float = 5.0
    health_timeout_s: float = 2.0
    failure_threshold: int = 3
    cooldown_s: float = 10.0
    #: Per worker; 0: no bound. In router mode it bounds the router, the one upstream.
    max_in_flight: int = 256
    queue_size: int = 256
    queue_timeout_s: float = 10.0
    metrics_weighting: bool = True

    def __post_init__(self) -> None:
        if not self.urls:
            raise ValueError("at least one engine URL is required")
        if self.mode == "router" and len(self.urls) != 1:
            raise ValueError("router mode takes exactly one URL (the router's)")


@dataclass(frozen=True)
class WorkerStatus:
    """One worker as an operator sees it (the URL without user info)."""

    url: str
    healthy: bool
    checked: bool
    circuit: str
    in_flight: int
    running: float | None
    queued: float | None
    last_error: str | None


@dataclass(frozen=True)
class PoolStatus:
    mode: PoolMode
    workers: tuple[WorkerStatus, ...]
    waiting: int

    @property
    def healthy(self) -> int:
        """Workers whose last check passed and whose circuit is not open."""
        return sum(1 for w in self.workers if w.healthy and w.circuit != "open")

    @property
    def open_circuits(self) -> int:
        return sum(1 for w in self.workers if w.circuit == "open")


class Lease:
    """A slot on one worker for one attempt; given back once with :meth:`WorkerPool.release`."""

    __slots__ = ("released", "worker")

    def __init__(self, worker: WorkerState) -> None:
        self.worker = worker
        self.released = False

    def __repr__(self) -> str:
        return f"Lease(worker={display_url(self.worker.url)!r})"

    @property
    def url(self) -> str:
        return self.worker.url


class WorkerPool:
    """Selection, health, circuit breaking and the wait queue over a fixed set of upstreams."""

    def __init__(
        self,
        config: PoolConfig,
        probe: Probe,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._config = config
        self._probe = probe
        self._clock = clock
        self._sleep = sleep
        self._workers = [
            WorkerState(
                url.rstrip("/"),
                None
                if config.mode == "router"
                else CircuitBreaker(config.failure_threshold, config.cooldown_s, clock),
            )
            for url in config.urls
        ]
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._rotation = 0
        self._checker: asyncio.Task[None] | None = None
        self._first_check: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"WorkerPool(mode={self._config.mode}, workers={len(self._workers)})"

    @property
    def config(self) -> PoolConfig:
        return self._config

    @property
    def workers(self) -> tuple[WorkerState, ...]:
        return tuple(self._workers)

    # -- requests ---------------------------------------------------------------------------

    async def acquire(self, exclude: Collection[str] = ()) -> Lease:
        """A slot on the best worker not in ``exclude``, waiting in the queue while all are busy.

        Raises EngineUnavailable when no worker is available (or all were tried), and
        EngineSaturated when the queue is full or the wait passes ``queue_timeout_s``.
        """
        config = self._config
        deadline: float | None = None
        front = False  # a waiter that was woken and found nothing keeps its place in front
        while True:
            if front or not self._waiters:
                choice = choose_worker(
                    self._workers,
                    exclude=exclude,
                    max_in_flight=config.max_in_flight,
                    use_metrics=config.metrics_weighting,
                    rotation=self._rotation,
                )
                if choice.worker is not None:
                    self._rotation += 1
                    return self._take(choice.worker)
                if choice.reason is NoWorker.UNAVAILABLE:
                    raise EngineUnavailable("no engine worker available")
            elif not any(w.url not in exclude and w.available() for w in self._workers):
                raise EngineUnavailable("no engine worker available")
            if deadline is None:
                if len(self._waiters) >= config.queue_size:
                    raise self._saturated("every engine worker is busy and the wait queue is full")
                deadline = self._clock() + config.queue_timeout_s
            await self._wait(deadline, front)
            front = True

    async def _wait(self, deadline: float, front: bool) -> None:
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise self._saturated("every engine worker stayed busy for the whole wait")
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if front:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        resumed = False
        try:
            # Not wait_for: on Python 3.11 it swallows a cancellation that arrives as the waiter
            # is woken, and a client that left would go on to take the slot.
            async with asyncio.timeout(remaining):
                await waiter
            resumed = True
        except TimeoutError:
            raise self._saturated("every engine worker stayed busy for the whole wait") from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            if not resumed and waiter.done() and not waiter.cancelled():
                # Woken, but leaving (timed out or cancelled at that moment): pass the turn on.
                self._wake(1)

    def _saturated(self, message: str) -> EngineSaturated:
        return EngineSaturated(message, math.ceil(self._config.queue_timeout_s))

    def _take(self, worker: WorkerState) -> Lease:
        worker.in_flight += 1
        worker.served += 1
        if worker.breaker is not None:
            worker.breaker.on_attempt()
        return Lease(worker)

    def release(self, lease: Lease, outcome: Outcome, error: str | None = None) -> None:
        """End an attempt: ``ok`` (the worker answered; a 4xx refusal counts), ``failed`` (not
        reached, timed out, 5xx, broken off: the breaker counts it), ``none`` (no verdict: the
        caller went away). Frees the slot for the next waiter; a second call does nothing."""
        if lease.released:
            return
        lease.released = True
        worker = lease.worker
        worker.in_flight -= 1
        breaker = worker.breaker
        if outcome == "ok":
            worker.last_error = None
            if breaker is not None:
                breaker.record_success()
        elif outcome == "failed":
            worker.last_error = error or "failed"
            if breaker is not None:
                before = breaker.state
                breaker.record_failure()
                if breaker.state is not before:
                    log.warning(
                        "engine.circuit_opened",
                        worker=display_url(worker.url),
                        failures=breaker.consecutive_failures,
                        error=worker.last_error,
                    )
        elif breaker is not None:
            breaker.on_abandoned()
        self._wake(1)

    @contextlib.asynccontextmanager
    async def lease(self, exclude: Collection[str] = ()) -> AsyncIterator[Lease]:
        """:meth:`acquire` as a context manager; leaving it without :meth:`release` gives no verdict."""
        taken = await self.acquire(exclude)
        try:
            yield taken
        finally:
            self.release(taken, "none")

    def _wake(self, count: int | None) -> None:
        woken = 0
        while self._waiters and (count is None or woken < count):
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                woken += 1

    # -- health -----------------------------------------------------------------------------

    async def check_all(self) -> None:
        """One round of active checks, all workers at once; waiters re-evaluate afterwards."""
        await asyncio.gather(*(self._check(w) for w in self._workers))
        self._wake(None)

    async def _check(self, worker: WorkerState) -> None:
        try:
            result = await asyncio.wait_for(self._probe(worker.url), self._config.health_timeout_s)
        except TimeoutError:
            result = ProbeResult(False, "timeout")
        except Exception:  # a probe must never stop the checker; why is logged as a kind only
            result = ProbeResult(False, "probe_error")
        was_healthy = worker.healthy or not worker.checked
        worker.checked = True
        worker.healthy = result.healthy
        if result.healthy:
            worker.running, worker.queued = result.running, result.queued
            worker.in_flight_at_scrape = worker.in_flight
            if worker.breaker is not None and worker.breaker.state is CircuitState.HALF_OPEN:
                worker.breaker.record_success()
        else:
            worker.last_error = result.error or "unhealthy"
            worker.running = worker.queued = None
        if was_healthy != result.healthy:
            log.info(
                "engine.worker_health",
                worker=display_url(worker.url),
                healthy=result.healthy,
                error=None if result.healthy else worker.last_error,
            )

    async def start(self) -> None:
        """Run the first round of checks (once, shared by concurrent callers) and start the
        periodic checker. Idempotent; call from inside the event loop that serves requests."""
        if self._checker is not None:  # the request path's case: no await at all
            return
        if self._first_check is None:
            self._first_check = asyncio.ensure_future(self.check_all())
        await asyncio.shield(self._first_check)
        if self._checker is None:
            self._checker = asyncio.ensure_future(self._run_checks())

    async def _run_checks(self) -> None:
        while True:
            await self._sleep(self._config.health_interval_s)
            await self.check_all()

    async def aclose(self) -> None:
        """Stop the checker; waiters get EngineUnavailable on their next look."""
        for task in (self._checker, self._first_check):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._checker = None
        for worker in self._workers:
            worker.healthy = False
        self._wake(None)

    # -- status -----------------------------------------------------------------------------

    def status(self) -> PoolStatus:
        """The pool as an operator sees it: no credentials, no request content."""
        return PoolStatus(
            mode=self._config.mode,
            workers=tuple(
                WorkerStatus(
                    url=display_url(w.url),
                    healthy=w.healthy,
                    checked=w.checked,
                    circuit=w.circuit,
                    in_flight=w.in_flight,
                    running=w.running,
                    queued=w.queued,
                    last_error=w.last_error,
                )
                for w in self._workers
            ),
            waiting=sum(1 for w in self._waiters if not w.done()),
        )
