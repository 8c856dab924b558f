"""Repeated authentication failures from one client address are throttled (429)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque

__all__ = ["FailureThrottle"]


class FailureThrottle:
    def __init__(self, max_failures: int = 20, window: float = 60.0, *, clock=time.monotonic,
                 max_clients: int = 100_000) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self.max_clients = max_clients
        self._fails: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float] | None:
        q = self._fails.get(client)
        if q is None:
            return None
        cutoff = self.clock() - self.window
        while q and q[0] <= cutoff:
            q.popleft()
        if not q:
            del self._fails[client]
            return None
        return q

    def blocked(self, client: str) -> float | None:
        """Seconds until this client may try again, or None."""
        q = self._recent(client)
        if q is None or len(q) < self.max_failures:
            return None
        return max(1.0, q[0] + self.window - self.clock())

    def failure(self, client: str) -> None:
        q = self._recent(client)
        if q is None:
            q = self._fails[client] = deque()
        q.append(self.clock())
        self._fails.move_to_end(client)
        while len(self._fails) > self.max_clients:
            self._fails.popitem(last=False)
