"""The worker pool: queueing, back-pressure, health checks and passive failures, with an injected
clock and sleep and a fake probe (no network)."""

from __future__ import annotations

import asyncio

import pytest

from engine.errors import EngineUnavailable
from engine.pool import EngineSaturated, PoolConfig, ProbeResult, WorkerPool

URLS = ("http://a", "http://b", "http://c")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeProbe:
    def __init__(self) -> None:
        self.results: dict[str, ProbeResult] = {}
        self.calls: list[str] = []

    async def __call__(self, url: str) -> ProbeResult:
        self.calls.append(url)
        return self.results.get(url, ProbeResult(True))


class ManualSleep:
    """Each sleep waits until the test lets it go."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self.gate = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        await self.gate.wait()
        self.gate.clear()


def make_pool(**options: object) -> tuple[WorkerPool, FakeProbe, Clock]:
    probe, clock = FakeProbe(), Clock()
    config = PoolConfig(urls=options.pop("urls", URLS), **options)  # type: ignore[arg-type]
    return WorkerPool(config, probe, clock=clock, sleep=ManualSleep()), probe, clock


async def test_requests_spread_to_the_least_busy_worker() -> None:
    pool, _, _ = make_pool()
    held = [await pool.acquire() for _ in range(3)]
    assert sorted(lease.url for lease in held) == list(URLS)
    pool.release(held[1], "ok")
    assert (await pool.acquire()).url == held[1].url


async def test_all_saturated_waits_in_the_queue_and_gets_the_freed_slot() -> None:
    pool, _, _ = make_pool(urls=("http://a",), max_in_flight=1, queue_size=1, queue_timeout_s=60)
    first = await pool.acquire()
    waiting = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    assert pool.status().waiting == 1
    pool.release(first, "ok")
    second = await asyncio.wait_for(waiting, 5)
    assert second.url == "http://a" and pool.workers[0].in_flight == 1


async def test_a_full_queue_is_saturated_with_retry_after() -> None:
    pool, _, _ = make_pool(urls=("http://a",), max_in_flight=1, queue_size=1, queue_timeout_s=7.5)
    await pool.acquire()
    waiting = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    with pytest.raises(EngineSaturated) as caught:
        await pool.acquire()
    assert caught.value.retry_after_s == 8
    waiting.cancel()


async def test_a_wait_past_the_timeout_is_saturated() -> None:
    pool, _, _ = make_pool(urls=("http://a",), max_in_flight=1, queue_size=4, queue_timeout_s=0.01)
    await pool.acquire()
    with pytest.raises(EngineSaturated):
        await pool.acquire()
    assert pool.status().waiting == 0


async def test_no_queue_means_saturated_at_once() -> None:
    pool, _, _ = make_pool(urls=("http://a",), max_in_flight=1, queue_size=0)
    await pool.acquire()
    with pytest.raises(EngineSaturated):
        await pool.acquire()


async def test_a_cancelled_waiter_passes_its_turn_on() -> None:
    pool, _, _ = make_pool(urls=("http://a",), max_in_flight=1, queue_size=2, queue_timeout_s=60)
    first = await pool.acquire()
    leaving = asyncio.create_task(pool.acquire())
    staying = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    pool.release(first, "ok")  # wakes `leaving`...
    leaving.cancel()  # ...which goes away before it runs
    assert (await asyncio.wait_for(staying, 5)).url == "http://a"


async def test_none_healthy_is_unavailable_not_saturated() -> None:
    pool, probe, _ = make_pool()
    for url in URLS:
        probe.results[url] = ProbeResult(False, "refused")
    await pool.start()
    with pytest.raises(EngineUnavailable) as caught:
        await pool.acquire()
    assert not isinstance(caught.value, EngineSaturated)
    assert pool.status().healthy == 0
    await pool.aclose()


async def test_waiters_learn_when_every_worker_goes_down() -> None:
    pool, probe, _ = make_pool(urls=("http://a",), max_in_flight=1, queue_timeout_s=60)
    await pool.acquire()
    waiting = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0)
    probe.results["http://a"] = ProbeResult(False, "timeout")
    await pool.check_all()
    with pytest.raises(EngineUnavailable):
        await asyncio.wait_for(waiting, 5)


async def test_failed_requests_open_the_circuit_and_a_cooldown_lets_a_trial_through() -> None:
    pool, _, clock = make_pool(urls=("http://a", "http://b"), failure_threshold=2, cooldown_s=10)
    for _ in range(2):
        lease = await pool.acquire(exclude={"http://b"})
        pool.release(lease, "failed", "refused")
    assert [w.circuit for w in pool.status().workers] == ["open", "closed"]
    assert {(await pool.acquire()).url for _ in range(3)} == {"http://b"}
    clock.now += 10
    trial = await pool.acquire(exclude={"http://b"})
    assert trial.url == "http://a"
    with pytest.raises(EngineUnavailable):  # one trial at a time
        await pool.acquire(exclude={"http://b"})
    pool.release(trial, "ok")
    assert pool.status().workers[0].circuit == "closed"


async def test_a_passing_health_check_closes_a_half_open_circuit() -> None:
    pool, _, clock = make_pool(urls=("http://a",), failure_threshold=1, cooldown_s=5)
    pool.release(await pool.acquire(), "failed", "status_503")
    await pool.check_all()
    assert pool.status().workers[0].circuit == "open"  # a check does not cut the cool-down short
    clock.now += 5
    await pool.check_all()
    assert pool.status().workers[0].circuit == "closed"


async def test_the_checker_runs_every_interval_and_scrapes_the_gauges() -> None:
    probe, clock, sleep = FakeProbe(), Clock(), ManualSleep()
    pool = WorkerPool(PoolConfig(urls=("http://a",), health_interval_s=3.0), probe, clock=clock, sleep=sleep)
    await pool.start()
    assert probe.calls == ["http://a"]
    await asyncio.sleep(0)
    assert sleep.asked == [3.0]
    probe.results["http://a"] = ProbeResult(True, running=4.0, queued=2.0)
    sleep.gate.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert probe.calls == ["http://a", "http://a"]
    worker = pool.status().workers[0]
    assert (worker.running, worker.queued) == (4.0, 2.0)
    await pool.aclose()


async def test_a_hanging_probe_times_out_and_marks_the_worker_down() -> None:
    async def hang(url: str) -> ProbeResult:
        await asyncio.Event().wait()
        raise AssertionError

    pool = WorkerPool(PoolConfig(urls=("http://a",), health_timeout_s=0.01), hang, sleep=ManualSleep())
    await pool.check_all()
    status = pool.status().workers[0]
    assert not status.healthy and status.last_error == "timeout"


async def test_router_mode_has_one_upstream_and_no_breaker() -> None:
    with pytest.raises(ValueError):
        PoolConfig(urls=("http://r1", "http://r2"), mode="router")
    pool, _, _ = make_pool(urls=("http://router",), mode="router", failure_threshold=1)
    for _ in range(5):
        pool.release(await pool.acquire(), "failed", "status_503")
    assert pool.status().workers[0].circuit == "none"
    assert (await pool.acquire()).url == "http://router"


async def test_status_shows_no_credentials() -> None:
    pool, _, _ = make_pool(urls=("http://user:hunter2@a:1",))
    assert "hunter2" not in repr(pool.status())
