"""The breaker opens after repeated failures, fails fast while open, and lets one trial through later."""

from __future__ import annotations

from common.store.breaker import BreakerState, CircuitBreaker


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, reset_seconds=30, clock=clock)


def _tripped(clock: FakeClock) -> CircuitBreaker:
    """A breaker that has just opened after three failures."""
    breaker = _breaker(clock)
    for _ in range(3):
        breaker.record_failure()
    return breaker


def test_stays_closed_below_the_failure_threshold() -> None:
    breaker = _breaker(FakeClock())
    breaker.record_failure()
    breaker.record_failure()

    assert breaker.state is BreakerState.CLOSED
    assert breaker.allow()


def test_opens_at_the_threshold_and_refuses_calls() -> None:
    breaker = _tripped(FakeClock())

    assert breaker.state is BreakerState.OPEN
    assert not breaker.allow()


def test_a_success_resets_the_failure_count() -> None:
    breaker = _breaker(FakeClock())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()

    assert breaker.state is BreakerState.CLOSED


def test_after_the_pause_exactly_one_trial_call_is_allowed() -> None:
    clock = FakeClock()
    breaker = _tripped(clock)
    clock.now += 30

    assert breaker.allow()
    assert not breaker.allow()


def test_successful_trial_closes_the_breaker() -> None:
    clock = FakeClock()
    breaker = _tripped(clock)
    clock.now += 30
    breaker.allow()
    breaker.record_success()

    assert breaker.state is BreakerState.CLOSED


def test_failed_trial_reopens_for_another_full_pause() -> None:
    clock = FakeClock()
    breaker = _tripped(clock)
    clock.now += 30
    breaker.allow()
    breaker.record_failure()

    assert breaker.state is BreakerState.OPEN
    assert breaker.seconds_until_retry() == 30
