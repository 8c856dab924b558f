"""A circuit breaker per upstream: closed → open after N consecutive failures → half-open.

While open, requests fail fast with 503 and a ``retry-after`` telling when the breaker will
let a probe through. Half-open lets exactly one request through: success closes the
breaker, failure opens it again. The clock is injected so tests never sleep.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from wardgate.errors import UpstreamUnavailable

__all__ = ["CircuitBreaker", "Ticket"]

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class Ticket:
    """Permission for one attempt; report how it went exactly once."""

    __slots__ = ("probe",)

    def __init__(self, probe: bool) -> None:
        self.probe = probe


class CircuitBreaker:
    def __init__(self, failures: int = 5, open_seconds: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = failures
        self.open_seconds = open_seconds
        self.clock = clock
        self.state = CLOSED
        self.consecutive = 0
        self.opened_at = 0.0
        self._probing = False

    def acquire(self) -> Ticket:
        if self.state == CLOSED:
            return Ticket(False)
        now = self.clock()
        if self.state == OPEN:
            wait = self.opened_at + self.open_seconds - now
            if wait > 0:
                raise UpstreamUnavailable(retry_after=wait)
            self.state = HALF_OPEN
        if self._probing:  # half-open: one probe at a time
            raise UpstreamUnavailable(retry_after=1.0)
        self._probing = True
        return Ticket(True)

    def success(self, ticket: Ticket) -> None:
        if ticket.probe:
            self._probing = False
        self.state = CLOSED
        self.consecutive = 0

    def failure(self, ticket: Ticket) -> None:
        if ticket.probe:
            self._probing = False
        self.consecutive += 1
        if self.state == HALF_OPEN or self.consecutive >= self.threshold:
            self.state = OPEN
            self.opened_at = self.clock()

    def abandon(self, ticket: Ticket) -> None:
        """The attempt ended without a verdict (e.g. the client went away)."""
        if ticket.probe:
            self._probing = False
