"""The detection pool: at most N at once; waiting is not counted against the time limit."""

from __future__ import annotations

import threading
import time

import anyio
import pytest

from policies.errors import DetectionUnavailable
from policies.pii.offload import DetectionPool


class _Probe:
    """Work that sleeps ``seconds`` and remembers how many copies of it ran at once."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(self.seconds)
        with self._lock:
            self.running -= 1
        return 1


async def test_work_runs_at_most_parallel_at_once_and_queued_work_still_succeeds() -> None:
    pool = DetectionPool(2, timeout_s=0.5, queue_timeout_s=10.0)
    work = _Probe(0.2)
    results: list[int] = []

    async def one() -> None:
        results.append(await pool.run(work))

    # Eight jobs of 0.2 s, two at a time: the last waits 0.6 s, longer than the 0.5 s limit,
    # and still succeeds because the limit starts when its work does.
    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(one)
    assert results == [1] * 8
    assert work.peak == 2


async def test_waiting_longer_than_the_queue_limit_is_refused() -> None:
    pool = DetectionPool(1, timeout_s=5.0, queue_timeout_s=0.1)
    outcomes: list[str] = []

    async def one() -> None:
        try:
            await pool.run(lambda: time.sleep(0.4))
            outcomes.append("ok")
        except DetectionUnavailable as exc:
            outcomes.append(str(exc))

    async with anyio.create_task_group() as group:
        group.start_soon(one)
        await anyio.sleep(0.02)
        group.start_soon(one)
    assert outcomes == ["PII detection is overloaded", "ok"]


async def test_overrunning_work_is_refused_and_keeps_its_thread_until_it_ends() -> None:
    pool = DetectionPool(1, timeout_s=0.05, queue_timeout_s=5.0)
    with pytest.raises(DetectionUnavailable, match="timed out"):
        await pool.run(lambda: time.sleep(0.3))
    started = time.monotonic()
    assert await pool.run(lambda: 7) == 7
    # The abandoned work still held the only thread: the bound holds for it too.
    assert time.monotonic() - started > 0.2


async def test_abandoned_work_never_runs_more_than_parallel_at_once() -> None:
    pool = DetectionPool(1, timeout_s=0.05, queue_timeout_s=10.0)
    slow = _Probe(0.2)

    async def one() -> None:
        with pytest.raises(DetectionUnavailable):
            await pool.run(slow)

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(one)
    await anyio.sleep(0.3)
    assert slow.peak == 1
    pool.close()


async def test_a_caller_that_goes_away_while_queued_never_runs_its_work() -> None:
    pool = DetectionPool(1, timeout_s=5.0, queue_timeout_s=5.0)
    ran: list[str] = []
    async with anyio.create_task_group() as group:
        group.start_soon(pool.run, lambda: time.sleep(0.3))
        await anyio.sleep(0.05)
        with anyio.move_on_after(0.05):
            await pool.run(lambda: ran.append("queued"))
    assert ran == []
    pool.close()


async def test_exceptions_of_the_work_pass_through() -> None:
    pool = DetectionPool(1, timeout_s=1.0, queue_timeout_s=1.0)

    def broken() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        await pool.run(broken)


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        DetectionPool(0, 1.0, 1.0)
