"""A circuit breaker per worker: closed, open after consecutive failures, half-open after a cool-down.

Plain state over an injected clock, so its transitions are tested without waiting:

- **closed**: requests flow; ``failure_threshold`` consecutive failures open it.
- **open**: no request is sent until ``cooldown_s`` has passed since it opened.
- **half-open**: one trial request (or a successful health check) decides: success closes it,
  failure opens it again for another cool-down.
"""

from __future__ import annotations

import enum
from collections.abc import Callable


class CircuitState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """One worker's breaker. ``clock`` returns seconds (monotonic); tests pass their own."""

    __slots__ = ("_clock", "_cooldown_s", "_failures", "_opened_at", "_threshold", "_trial_out")

    def __init__(self, failure_threshold: int, cooldown_s: float, clock: Callable[[], float]) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if cooldown_s <= 0:
            raise ValueError("cooldown_s must be positive")
        self._threshold = failure_threshold
        self._cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_out = False

    def __repr__(self) -> str:
        return f"CircuitBreaker(state={self.state.value}, failures={self._failures})"

    @property
    def state(self) -> CircuitState:
        """The state now (open turns half-open by itself once the cool-down has passed)."""
        if self._opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - self._opened_at >= self._cooldown_s:
            return CircuitState.HALF_OPEN
        return CircuitState.OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allows_request(self) -> bool:
        """Whether a request may be sent now: always when closed, never when open, and only the
        one trial request when half-open."""
        state = self.state
        if state is CircuitState.CLOSED:
            return True
        return state is CircuitState.HALF_OPEN and not self._trial_out

    def on_attempt(self) -> None:
        """A request is being sent; in half-open it is the trial, and no other goes until it ends."""
        if self.state is CircuitState.HALF_OPEN:
            self._trial_out = True

    def on_abandoned(self) -> None:
        """The attempt ended with no verdict on the worker (the caller left, or the worker refused
        the request itself): a half-open breaker lets the next trial through."""
        self._trial_out = False

    def record_success(self) -> None:
        """The worker answered: the breaker closes and the failure count restarts."""
        self._failures = 0
        self._opened_at = None
        self._trial_out = False

    def record_failure(self) -> None:
        """The worker failed (not reached, timed out, 5xx): count it; open at the threshold, and
        open again at once when the half-open trial fails."""
        self._failures += 1
        state = self.state
        self._trial_out = False
        if state is CircuitState.HALF_OPEN or (
            state is CircuitState.CLOSED and self._failures >= self._threshold
        ):
            self._opened_at = self._clock()
