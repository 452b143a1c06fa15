"""Run the engine as a child process and keep it running: restart it with exponential backoff
when it exits, wait for ``GET /health_generate`` (with the API key), and stop it on shutdown
(SIGTERM to its process group, SIGKILL after a grace period).

Clock and sleep are injected: tests drive the backoff without waiting. The child runs in its own
process group (SGLang starts scheduler and detokenizer processes), so a stop reaches them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog

log = structlog.get_logger("engine.launcher")

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Probe = Callable[[str, str], bool]
Spawn = Callable[[Sequence[str], Mapping[str, str]], "subprocess.Popen[bytes]"]


@dataclass
class Backoff:
    """Exponential restart delays: ``initial_s``, then times ``factor`` up to ``max_s``; a child
    that stayed up ``reset_after_s`` or longer starts the sequence over."""

    initial_s: float = 1.0
    factor: float = 2.0
    max_s: float = 60.0
    reset_after_s: float = 60.0
    _next: float = 0.0

    def delay(self, uptime_s: float) -> float:
        """The wait before the next start, given how long the last run lasted."""
        if self._next == 0.0 or uptime_s >= self.reset_after_s:
            self._next = self.initial_s
        current = self._next
        self._next = min(self._next * self.factor, self.max_s)
        return current


def probe_health(url: str, api_key: str, timeout_s: float = 5.0) -> bool:
    """True when ``url`` answers 200 to a GET with the engine's API key."""
    import httpx

    try:
        answer = httpx.get(
            url, headers={"Authorization": f"Bearer {api_key}"}, timeout=timeout_s, trust_env=False
        )
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


def _spawn(argv: Sequence[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603 - argv built by engine.launcher.command, no shell
        list(argv), env={**os.environ, **env}, start_new_session=True
    )


class Supervisor:
    """Keeps one engine process alive until :meth:`stop`. Not thread-safe except :meth:`stop`."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        health_url: str | None,
        api_key: str,
        env: Mapping[str, str] | None = None,
        backoff: Backoff | None = None,
        grace_s: float = 30.0,
        poll_s: float = 1.0,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
        probe: Probe = probe_health,
        spawn: Spawn = _spawn,
    ) -> None:
        self._argv = list(argv)
        self._health_url = health_url
        self._api_key = api_key
        self._env = dict(env or {})
        self._backoff = backoff or Backoff()
        self._grace_s = grace_s
        self._poll_s = poll_s
        self._clock = clock
        self._stopping = threading.Event()
        self._sleep: Sleep = sleep or self._interruptible_sleep
        self._probe = probe
        self._spawn = spawn
        self._process: subprocess.Popen[bytes] | None = None
        self._started_at = 0.0
        self.restarts = 0

    def _interruptible_sleep(self, seconds: float) -> None:
        # The default sleep: wakes up at once when stop() is called.
        self._stopping.wait(seconds)

    @property
    def pid(self) -> int | None:
        """The running child's pid, or None."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def start(self) -> int:
        """Start the child (no-op while one runs); returns its pid."""
        if self._process is not None and self._process.poll() is None:
            return self._process.pid
        self._process = self._spawn(self._argv, self._env)
        self._started_at = self._clock()
        log.info("engine.started", pid=self._process.pid, restarts=self.restarts)
        return self._process.pid

    def wait_healthy(self, timeout_s: float) -> bool:
        """Poll the health URL until it answers 200 (True), the child exits or ``timeout_s``
        passes on the injected clock (False). Without a health URL (a multi-node engine's
        non-zero rank), True once the child is running."""
        deadline = self._clock() + timeout_s
        while not self._stopping.is_set():
            if self._process is None or self._process.poll() is not None:
                return False
            if self._health_url is None or self._probe(self._health_url, self._api_key):
                return True
            if self._clock() >= deadline:
                return False
            self._sleep(self._poll_s)
        return False

    def check(self) -> bool:
        """If the child has exited (and no stop was asked), wait the backoff delay and start it
        again; returns True when it restarted."""
        if self._stopping.is_set() or self._process is None:
            return False
        code = self._process.poll()
        if code is None:
            return False
        uptime = self._clock() - self._started_at
        delay = self._backoff.delay(uptime)
        log.warning("engine.exited", exit_code=code, uptime_s=round(uptime, 1), restart_in_s=delay)
        self._sleep(delay)
        if self._stopping.is_set():
            return False
        self.restarts += 1
        self.start()
        return True

    def run(self, health_timeout_s: float = 1800.0) -> None:
        """Start the child, wait for its health, then :meth:`supervise` until stopped."""
        self.start()
        self.wait_healthy(health_timeout_s)
        self.supervise(health_timeout_s)

    def supervise(self, health_timeout_s: float = 1800.0) -> None:
        """Keep the child alive until :meth:`request_stop` or :meth:`stop`; each restart waits
        for health again. Ends the child before returning."""
        while not self._stopping.is_set():
            if self.check():
                self.wait_healthy(health_timeout_s)
            else:
                self._sleep(self._poll_s)
        self._terminate()

    def request_stop(self) -> None:
        """Ask :meth:`supervise` to end the child and return (safe from a signal handler)."""
        self._stopping.set()

    def stop(self) -> int | None:
        """Stop supervising and end the child: SIGTERM to its process group, SIGKILL after the
        grace period. Returns the child's exit status (None if none ran)."""
        self._stopping.set()
        return self._terminate()

    def _terminate(self) -> int | None:
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            self._signal(process, signal.SIGTERM)
            try:
                process.wait(timeout=self._grace_s)
            except subprocess.TimeoutExpired:
                log.warning("engine.kill", pid=process.pid, grace_s=self._grace_s)
                self._signal(process, signal.SIGKILL)
                process.wait()
        # Whatever the leader left behind in its group goes too.
        self._signal(process, signal.SIGKILL)
        log.info("engine.stopped", exit_code=process.returncode)
        return process.returncode

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
        try:
            os.killpg(process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass
