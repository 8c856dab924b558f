import pytest

from wardgate.errors import UpstreamUnavailable
from wardgate.upstream.breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_and_fails_fast():
    clock = Clock()
    b = CircuitBreaker(failures=3, open_seconds=30, clock=clock)
    for _ in range(2):
        b.failure(b.acquire())
    assert b.state == "closed"
    b.success(b.acquire())  # a success resets the count
    for _ in range(3):
        b.failure(b.acquire())
    assert b.state == "open"
    clock.now += 10
    with pytest.raises(UpstreamUnavailable) as exc:
        b.acquire()
    assert exc.value.status_code == 503 and 19 <= exc.value.retry_after <= 20


def test_half_open_allows_one_probe_then_closes_on_success():
    clock = Clock()
    b = CircuitBreaker(failures=1, open_seconds=5, clock=clock)
    b.failure(b.acquire())
    clock.now += 5
    probe = b.acquire()
    assert b.state == "half_open"
    with pytest.raises(UpstreamUnavailable):
        b.acquire()  # only one probe at a time
    b.success(probe)
    assert b.state == "closed"
    b.acquire()


def test_failed_probe_reopens():
    clock = Clock()
    b = CircuitBreaker(failures=2, open_seconds=5, clock=clock)
    b.failure(b.acquire())
    b.failure(b.acquire())
    clock.now += 6
    b.failure(b.acquire())
    assert b.state == "open"
    with pytest.raises(UpstreamUnavailable):
        b.acquire()


def test_abandoned_probe_lets_the_next_one_through():
    clock = Clock()
    b = CircuitBreaker(failures=1, open_seconds=1, clock=clock)
    b.failure(b.acquire())
    clock.now += 2
    b.abandon(b.acquire())
    b.success(b.acquire())
    assert b.state == "closed"
