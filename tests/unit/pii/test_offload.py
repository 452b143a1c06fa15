"""The detection pool: at most N at once; waiting is not counted against the time limit; owners
take turns; a step nobody waits for is told to stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from functools import partial

import anyio
import pytest

from policies.errors import DetectionUnavailable
from policies.pii.offload import DetectionCancelled, DetectionPool, check_cancelled


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


# ----------------------------------------------------------------------------- turns between owners
# Orders below follow from the pool's state alone: steps are queued while one thread is held by a
# step waiting on an event, and the test waits for the queue to reach a given state, never a time.


async def _until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(60):  # a bound for a failing test only
        while not condition():
            await anyio.sleep(0.001)


async def _until_waiting(pool: DetectionPool, count: int) -> None:
    await _until(lambda: pool.waiting == count)


async def _queue_behind_a_held_thread(
    pool: DetectionPool, steps: list[tuple[Hashable, str]], holder: Hashable = "holder"
) -> list[str]:
    """Hold the pool's only thread, queue ``steps`` (owner, label) in that order, release the
    thread, and return the labels in the order the steps ran."""
    gate = threading.Event()
    order: list[str] = []
    async with anyio.create_task_group() as group:
        group.start_soon(partial(pool.run, partial(gate.wait, 60), owner=holder))
        await _until(lambda: pool.running == 1)
        for count, (owner, label) in enumerate(steps, start=1):
            group.start_soon(partial(pool.run, partial(order.append, label), owner=owner))
            await _until_waiting(pool, count)
        gate.set()
    return order


async def test_another_principal_gets_the_next_thread_before_the_queued_steps_of_a_busy_one() -> None:
    pool = DetectionPool(1, timeout_s=60.0, queue_timeout_s=60.0)
    a_steps: list[tuple[Hashable, str]] = [("a", f"a{i}") for i in range(1, 9)]
    # A holds the thread and has eight more steps queued; B's single step comes last.
    order = await _queue_behind_a_held_thread(pool, [*a_steps, ("b", "b1")], holder="a")
    assert order.index("b1") <= 1  # after at most one of A's queued steps (here: none)
    assert [label for label in order if label != "b1"] == [f"a{i}" for i in range(1, 9)]
    pool.close()


async def test_waiting_owners_take_turns_and_each_owners_steps_keep_their_order() -> None:
    pool = DetectionPool(1, timeout_s=60.0, queue_timeout_s=60.0)
    steps: list[tuple[Hashable, str]] = [
        *(("a", f"a{i}") for i in range(1, 4)),
        *(("b", f"b{i}") for i in range(1, 4)),
        ("c", "c1"),
    ]
    order = await _queue_behind_a_held_thread(pool, steps)
    assert order == ["a1", "b1", "c1", "a2", "b2", "a3", "b3"]
    pool.close()


async def test_callers_that_name_no_owner_share_one_turn() -> None:
    pool = DetectionPool(1, timeout_s=60.0, queue_timeout_s=60.0)
    steps: list[tuple[Hashable, str]] = [(None, "x1"), (None, "x2"), ("b", "b1")]
    order = await _queue_behind_a_held_thread(pool, steps)
    assert order == ["x1", "b1", "x2"]
    pool.close()


async def test_with_several_threads_a_newcomer_gets_the_first_one_that_frees_up() -> None:
    pool = DetectionPool(2, timeout_s=60.0, queue_timeout_s=60.0)
    gates = [threading.Event(), threading.Event()]
    order: list[str] = []
    async with anyio.create_task_group() as group:
        for gate in gates:  # A holds both threads
            group.start_soon(partial(pool.run, partial(gate.wait, 60), owner="a"))
        await _until(lambda: pool.running == 2)
        for i in range(1, 5):
            group.start_soon(partial(pool.run, partial(order.append, f"a{i}"), owner="a"))
        group.start_soon(partial(pool.run, partial(order.append, "b1"), owner="b"))
        await _until(lambda: pool.waiting == 5)
        gates[0].set()
        await _until(lambda: len(order) >= 1)
        assert order[0] == "b1"
        gates[1].set()
    assert sorted(order) == ["a1", "a2", "a3", "a4", "b1"]
    pool.close()


# ----------------------------------------------------------------------------- cancellation


async def test_a_step_that_overruns_is_cancelled_and_stops_at_its_next_check() -> None:
    pool = DetectionPool(1, timeout_s=0.05, queue_timeout_s=60.0)
    gate = threading.Event()
    checks: list[str] = []

    def slices() -> None:
        for index in range(1000):
            check_cancelled()  # as detection does between windows
            checks.append(f"slice {index}")
            gate.wait(60)

    with pytest.raises(DetectionUnavailable, match="timed out"):
        await pool.run(slices)
    gate.set()
    await _until(lambda: pool.running == 0)
    assert checks == ["slice 0"]  # refused while in its first slice: it never began a second
    pool.close()


async def test_closing_the_pool_cancels_running_steps() -> None:
    pool = DetectionPool(1, timeout_s=60.0, queue_timeout_s=60.0)
    gate = threading.Event()
    checks: list[int] = []

    def slices() -> None:
        for index in range(1000):
            check_cancelled()
            checks.append(index)
            gate.wait(60)

    async def shut_down() -> None:
        await _until(lambda: checks == [0])
        pool.close()  # as at shutdown
        gate.set()

    async with anyio.create_task_group() as group:
        group.start_soon(shut_down)
        with pytest.raises(DetectionCancelled):
            await pool.run(slices)
    assert checks == [0]


def test_check_cancelled_outside_a_pool_step_does_nothing() -> None:
    check_cancelled()


async def test_a_step_cancelled_before_it_got_a_thread_never_runs() -> None:
    pool = DetectionPool(1, timeout_s=60.0, queue_timeout_s=60.0)
    gate = threading.Event()
    ran: list[str] = []
    async with anyio.create_task_group() as group:
        group.start_soon(partial(pool.run, partial(gate.wait, 60)))
        await _until(lambda: pool.running == 1)
        group.start_soon(partial(pool.run, partial(ran.append, "queued"), owner="b"))
        await _until(lambda: pool.waiting == 1)
        group.cancel_scope.cancel()  # both callers go away
    gate.set()
    await _until(lambda: pool.running == 0)
    assert ran == [] and pool.waiting == 0
    pool.close()


def test_the_cancellation_error_is_a_refusal() -> None:
    assert issubclass(DetectionCancelled, DetectionUnavailable)
