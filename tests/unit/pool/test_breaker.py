"""The circuit breaker's states over an injected clock."""

from __future__ import annotations

import pytest

from engine.pool.breaker import CircuitBreaker, CircuitState


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_the_threshold_of_consecutive_failures() -> None:
    clock = Clock()
    breaker = CircuitBreaker(3, 10.0, clock)
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED and breaker.allows_request()
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    assert not breaker.allows_request()


def test_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(2, 10.0, Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is CircuitState.CLOSED


def test_half_open_after_the_cooldown_lets_one_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 10.0, clock)
    breaker.record_failure()
    clock.now += 9.999
    assert breaker.state is CircuitState.OPEN
    clock.now += 0.001
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.allows_request()
    breaker.on_attempt()
    assert not breaker.allows_request()  # only one trial at a time


def test_trial_success_closes_and_trial_failure_reopens_for_a_full_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 10.0, clock)
    breaker.record_failure()
    clock.now += 10
    breaker.on_attempt()
    breaker.record_failure()
    assert breaker.state is CircuitState.OPEN
    clock.now += 9
    assert breaker.state is CircuitState.OPEN
    clock.now += 1
    breaker.on_attempt()
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED and breaker.consecutive_failures == 0


def test_an_abandoned_trial_frees_the_half_open_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 5.0, clock)
    breaker.record_failure()
    clock.now += 5
    breaker.on_attempt()
    breaker.on_abandoned()
    assert breaker.state is CircuitState.HALF_OPEN and breaker.allows_request()


@pytest.mark.parametrize(("threshold", "cooldown"), [(0, 1.0), (1, 0.0)])
def test_bad_settings_are_refused(threshold: int, cooldown: float) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(threshold, cooldown, Clock())
