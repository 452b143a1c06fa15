"""The supervisor: exponential backoff on an injected clock, and a REAL child (the SGLang simulator
started through the same command builder as SGLang) that comes back when killed and is gone
after stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import pytest

from engine.launcher.command import build_argv, simulator_program
from engine.launcher.plan import LaunchRequest, plan_launch
from engine.launcher.supervisor import Backoff, Supervisor, probe_health
from engine.simulator import PARENT_PID_ENV
from tests.conftest import free_port
from tests.unit.launcher.conftest import R1_DISTILL, checkpoint, gpus

KEY = "test-engine-key-0123456789"


class FakeClock:
    """A clock that moves only when the test (or the injected sleep) says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_backoff_doubles_up_to_the_cap_and_resets_after_a_stable_run() -> None:
    backoff = Backoff(initial_s=1.0, factor=2.0, max_s=8.0, reset_after_s=60.0)
    assert [backoff.delay(uptime_s=0.5) for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert backoff.delay(uptime_s=61.0) == 1.0
    assert backoff.delay(uptime_s=1.0) == 2.0


def _exited_child() -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child


def test_a_crashing_child_is_restarted_with_growing_delays_on_the_injected_clock() -> None:
    clock = FakeClock()
    spawned: list[Sequence[str]] = []

    def spawn(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        spawned.append(argv)
        return _exited_child()

    supervisor = Supervisor(
        ["engine"], health_url=None, api_key=KEY, clock=clock, sleep=clock.sleep, spawn=spawn,
        backoff=Backoff(initial_s=1.0, max_s=4.0),
    )  # fmt: skip
    supervisor.start()
    for _ in range(4):
        assert supervisor.check() is True
    assert clock.slept == [1.0, 2.0, 4.0, 4.0]
    assert supervisor.restarts == 4 and len(spawned) == 5
    supervisor.stop()
    assert supervisor.check() is False


def test_health_wait_gives_up_at_the_deadline_of_the_injected_clock() -> None:
    clock = FakeClock()
    probes: list[tuple[str, str]] = []

    def probe(url: str, key: str) -> bool:
        probes.append((url, key))
        return False

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        supervisor = Supervisor(
            ["engine"], health_url="http://127.0.0.1:1/health_generate", api_key=KEY, poll_s=2.0,
            clock=clock, sleep=clock.sleep, probe=probe, spawn=lambda argv, env: sleeper,
        )  # fmt: skip
        supervisor.start()
        assert supervisor.wait_healthy(timeout_s=10.0) is False
        assert clock.now >= 1010.0 and len(probes) == 6
        assert probes[0] == ("http://127.0.0.1:1/health_generate", KEY)
    finally:
        sleeper.kill()
        sleeper.wait()


def backoff_on_fake_clock(clock: FakeClock) -> Callable[[float], None]:
    """Restart delays (1 s and up) pass on the fake clock; the 0.1 s health polls of a real
    process sleep for real, bounded by wait_healthy's deadline, so nothing races the clock."""

    def sleep(seconds: float) -> None:
        if seconds >= 1.0:
            clock.sleep(seconds)
        else:
            time.sleep(seconds)

    return sleep


@pytest.fixture
def simulator_supervisor() -> Iterator[tuple[Supervisor, str]]:
    port = free_port()
    plan = plan_launch(
        gpus("h100.csv"), checkpoint(R1_DISTILL), LaunchRequest(model_path="/models/r1", port=port)
    )
    program = simulator_program(env={PARENT_PID_ENV: str(os.getpid())})
    url = f"http://{plan.host}:{plan.port}"
    clock = FakeClock()
    supervisor = Supervisor(
        build_argv(plan, api_key=KEY, program=program),
        health_url=f"{url}/health_generate",
        api_key=KEY,
        env=program.env,
        grace_s=10.0,
        poll_s=0.1,
        sleep=backoff_on_fake_clock(clock),
    )
    try:
        yield supervisor, url
    finally:
        supervisor.stop()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.e2e
def test_killed_engine_comes_back_and_stop_ends_it(simulator_supervisor: tuple[Supervisor, str]) -> None:
    supervisor, url = simulator_supervisor
    first = supervisor.start()
    assert supervisor.wait_healthy(timeout_s=60.0)
    assert probe_health(f"{url}/v1/models", KEY)  # the key the supervisor holds is the one it serves with
    assert not probe_health(f"{url}/v1/models", "wrong-key")

    os.kill(first, signal.SIGKILL)
    for _ in range(1000):  # until poll() sees the death the kernel reports
        if supervisor.pid != first:
            break
        time.sleep(0.01)
    assert supervisor.check() is True
    second = supervisor.pid
    assert second is not None and second != first
    assert supervisor.wait_healthy(timeout_s=60.0)
    assert probe_health(f"{url}/health_generate", KEY)

    status = supervisor.stop()
    assert status is not None
    assert supervisor.pid is None and _gone(second)
    assert not probe_health(f"{url}/health_generate", KEY)
    assert supervisor.check() is False  # a stopped supervisor restarts nothing
