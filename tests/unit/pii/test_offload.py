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


async def _until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(60):  # a bound for a failing test only
        while not condition():
            await anyio.sleep(0.001)


async def _until_waiting(pool: DetectionPool, count: int) -> None:
    await _until(lambda: pool.waiting == count)


class _Probe:
    """Work that holds its thread until ``gate`` opens and remembers how many copies ran at once.

    With ``stop_when_cancelled`` it checks its cancel token while it waits, as detection does
    between windows, and stops once its caller has been refused.
    """

    def __init__(self, gate: threading.Event, *, stop_when_cancelled: bool = False) -> None:
        self.gate = gate
        self.stop_when_cancelled = stop_when_cancelled
        self.running = 0
        self.peak = 0
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            while not self.gate.wait(0.005 if self.stop_when_cancelled else 60):
                check_cancelled()
        finally:
            with self._lock:
                self.running -= 1
        return 1


# Each test below decides its outcome by the pool's state and by gates it opens itself; where a
# time limit must pass, the work is held until the refusal has been seen, so a slow machine
# cannot reorder anything.


async def test_work_runs_at_most_parallel_at_once_and_queued_work_still_succeeds() -> None:
    pool = DetectionPool(2, timeout_s=60.0, queue_timeout_s=60.0)
    gate = threading.Event()
    work = _Probe(gate)
    results: list[int] = []

    async def one() -> None:
        results.append(await pool.run(work))

    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(one)
        await _until(lambda: pool.running == 2 and pool.waiting == 6)
        await _until(lambda: work.running == 2)
        gate.set()
    assert results == [1] * 8
    assert work.peak == 2
    pool.close()


async def test_time_spent_waiting_for_a_thread_does_not_count_against_the_step_limit() -> None:
    limit_s = 0.5
    pool = DetectionPool(1, timeout_s=limit_s, queue_timeout_s=60.0)
    gate = threading.Event()
    results: list[int] = []

    async def queued() -> None:
        results.append(await pool.run(lambda: 7))

    async with anyio.create_task_group() as group:
        with pytest.raises(DetectionUnavailable, match="timed out"):
            await pool.run(partial(gate.wait, 60))  # holds the only thread past the limit
        queued_at = time.monotonic()
        group.start_soon(queued)
        await _until(lambda: pool.waiting == 1)
        # The queued step waits for more than the step limit (sleeping longer only makes it wait longer).
        await anyio.sleep(limit_s * 1.5)
        assert time.monotonic() - queued_at > limit_s and pool.waiting == 1
        gate.set()
    assert results == [7]
    pool.close()


async def test_waiting_longer_than_the_queue_limit_is_refused() -> None:
    pool = DetectionPool(1, timeout_s=60.0, queue_timeout_s=0.1)
    gate = threading.Event()
    outcomes: list[str] = []

    async def one(work: Callable[[], object]) -> None:
        try:
            await pool.run(work)
            outcomes.append("ok")
        except DetectionUnavailable as exc:
            outcomes.append(str(exc))

    async with anyio.create_task_group() as group:
        group.start_soon(one, partial(gate.wait, 60))
        await _until(lambda: pool.running == 1)
        await one(lambda: None)  # the only thread stays held until this one has been refused
        gate.set()
    assert outcomes == ["PII detection is overloaded", "ok"]
    pool.close()


async def test_overrunning_work_is_refused_and_keeps_its_thread_until_it_ends() -> None:
    pool = DetectionPool(1, timeout_s=0.05, queue_timeout_s=60.0)
    gate = threading.Event()
    results: list[int] = []

    async def next_step() -> None:
        results.append(await pool.run(lambda: 7))

    with pytest.raises(DetectionUnavailable, match="timed out"):
        await pool.run(partial(gate.wait, 60))  # ignores cancellation: runs until the gate opens
    async with anyio.create_task_group() as group:
        group.start_soon(next_step)
        await _until(lambda: pool.waiting == 1)
        # The abandoned work still holds the only thread: the bound holds for it too.
        assert pool.running == 1 and results == []
        gate.set()
    assert results == [7]
    pool.close()


async def test_abandoned_work_never_runs_more_than_parallel_at_once() -> None:
    pool = DetectionPool(1, timeout_s=0.05, queue_timeout_s=60.0)
    slow = _Probe(threading.Event(), stop_when_cancelled=True)  # never finishes: always overruns

    async def one() -> None:
        with pytest.raises(DetectionUnavailable):
            await pool.run(slow)

    async with anyio.create_task_group() as group:
        for _ in range(4):
            group.start_soon(one)
    await _until(lambda: pool.running == 0)
    assert slow.peak == 1
    pool.close()


async def test_a_caller_that_goes_away_while_queued_never_runs_its_work() -> None:
    pool = DetectionPool(1, timeout_s=60.0, queue_timeout_s=60.0)
    gate = threading.Event()
    ran: list[str] = []
    async with anyio.create_task_group() as group:
        group.start_soon(pool.run, partial(gate.wait, 60))
        await _until(lambda: pool.running == 1)
        with anyio.move_on_after(0.05):  # gives up while the only thread is still held
            await pool.run(lambda: ran.append("queued"))
        gate.set()
    await _until(lambda: pool.running == 0)
    assert ran == [] and pool.waiting == 0
    pool.close()


async def test_exceptions_of_the_work_pass_through() -> None:
    pool = DetectionPool(1, timeout_s=60.0, queue_timeout_s=60.0)

    def broken() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        await pool.run(broken)
    pool.close()


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        DetectionPool(0, 1.0, 1.0)


# ----------------------------------------------------------------------------- turns between owners
# Orders below follow from the pool's state alone: steps are queued while one thread is held by a
# step waiting on an event, and the test waits for the queue to reach a given state, never a time.


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


# ----------------------------------------------------------------------------- small steps inline


async def test_a_small_step_runs_on_the_callers_thread_and_a_large_or_unsized_one_on_a_pool_thread() -> None:
    pool = DetectionPool(1, timeout_s=60.0, queue_timeout_s=60.0, inline_max_chars=100)
    here = threading.get_ident()
    assert await pool.run(threading.get_ident, size=100) == here
    assert pool.inline_steps == 1
    assert await pool.run(threading.get_ident, size=101) != here
    assert await pool.run(threading.get_ident) != here
    assert pool.inline_steps == 1
    pool.close()


async def test_with_inline_off_every_step_goes_to_a_pool_thread() -> None:
    pool = DetectionPool(1, timeout_s=60.0, queue_timeout_s=60.0)
    assert await pool.run(threading.get_ident, size=0) != threading.get_ident()
    assert pool.inline_steps == 0
    pool.close()


async def test_a_small_step_queues_behind_waiting_steps_so_turns_stay_fair() -> None:
    pool = DetectionPool(1, timeout_s=60.0, queue_timeout_s=60.0, inline_max_chars=100)
    gate = threading.Event()
    here = threading.get_ident()
    threads: list[int] = []

    async def small() -> None:
        threads.append(await pool.run(threading.get_ident, owner="b", size=10))

    async with anyio.create_task_group() as group:
        group.start_soon(partial(pool.run, _Probe(gate), owner="a"))  # holds the only thread
        group.start_soon(partial(pool.run, _Probe(gate), owner="a"))  # waits for it
        await _until(lambda: pool.running == 1 and pool.waiting == 1)
        group.start_soon(small)
        await _until(lambda: pool.waiting == 2)  # queued, not run here
        gate.set()
    assert threads and threads[0] != here
    assert pool.inline_steps == 0
    pool.close()


async def test_a_small_step_run_inline_stops_at_its_next_check_once_its_time_is_up() -> None:
    pool = DetectionPool(1, timeout_s=0.01, queue_timeout_s=60.0, inline_max_chars=100)
    checked: list[bool] = []

    def slow() -> None:
        time.sleep(0.05)  # past the limit before the check, however fast the machine
        checked.append(True)
        check_cancelled()

    with pytest.raises(DetectionUnavailable, match="timed out"):
        await pool.run(slow, size=10)
    assert checked == [True]
    check_cancelled()  # the step's token is gone with the step
    pool.close()


async def test_a_closed_pool_refuses_small_steps_too() -> None:
    pool = DetectionPool(1, timeout_s=60.0, queue_timeout_s=60.0, inline_max_chars=100)
    pool.close()
    with pytest.raises(DetectionUnavailable):
        await pool.run(threading.get_ident, size=10)
