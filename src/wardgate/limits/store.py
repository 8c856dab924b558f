"""Limit stores: atomic check-and-update of every counter a request touches.

Two kinds of counter:

- ``Bucket``: a token bucket (requests or tokens per minute). ``capacity`` refills evenly
  over ``per`` seconds; admission takes ``amount``; settling gives back what was not used
  (or takes more: a bucket may go into debt, paid back by the refill).
- ``Quota``: a limit over a UTC period (``day``/``week``/``month``) or, with period ``none``,
  over a counter's life (concurrency, a session). Admission *reserves* ``amount`` under a
  lease; settling turns the reservation into ``used`` (the actual amount) and frees it. A
  lease not settled within ``lease`` seconds (a replica died) expires and is freed.
  ``ledger`` names the spend-ledger query that initialises ``used`` the first time a counter
  is seen (a restart or a fresh Redis never forgets money already spent).

``admit`` is all-or-nothing: when one check fails, nothing is taken. Backends:
``MemoryLimitStore`` (this process; one replica) and ``RedisLimitStore`` (one Lua script per
operation, Redis server time; any number of replicas).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from wardgate.limits.period import period_bounds

__all__ = ["Bucket", "Quota", "Ledger", "Admission", "SettleItem", "Settled", "LimitStore",
           "MemoryLimitStore", "StoreDown", "NEVER", "make_store"]

NEVER = -1.0  # retry_after when waiting cannot help (the request is larger than the limit)


class StoreDown(Exception):
    """The shared store (Redis) cannot be reached."""


@dataclass(frozen=True, slots=True)
class Ledger:
    scope: str          # key | user | workspace | all
    id: str
    model: str | None   # a model pattern, or None for all models
    measure: str        # cost | tokens

    def tag(self) -> str:
        return f"L|{self.measure}|{self.scope}|{self.id}|{self.model or '*'}"


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    capacity: int
    amount: int
    per: float = 60.0


@dataclass(frozen=True, slots=True)
class Quota:
    key: str
    limit: int
    amount: int
    period: str = "none"        # day | week | month | none
    ledger: Ledger | None = None
    idle: float = 0.0           # period none: the counter is forgotten after this long idle


@dataclass(slots=True)
class Admission:
    ok: bool
    now: float
    remaining: list[float]          # per check, after this request (may be negative: debt)
    resets: list[float]             # per check: epoch seconds when it is whole again / resets
    keys: list[str]                 # per check: the resolved counter key (quota: with period)
    failed: int = -1                # index of the first failing check
    retry_after: float = 0.0        # NEVER when waiting cannot help
    need_ledger: list[tuple[int, float]] = field(default_factory=list)  # (check index, since)


@dataclass(frozen=True, slots=True)
class SettleItem:
    kind: str        # bucket | quota
    key: str         # resolved key (Admission.keys)
    reserved: int
    actual: int
    capacity: int = 0
    per: float = 60.0
    ledger: bool = False   # a spend counter seeded from the ledger (not recreated by a settle)


@dataclass(frozen=True, slots=True)
class Settled:
    key: str
    used_before: int
    used_after: int


class LimitStore(Protocol):
    async def admit(self, lease: str, checks: list[Bucket | Quota], lease_seconds: float,
                    init: dict[int, int] | None = None) -> Admission: ...
    async def settle(self, lease: str, items: list[SettleItem]) -> list[Settled]: ...
    async def renew(self, lease: str, keys: list[str], lease_seconds: float) -> None: ...
    async def raise_used(self, key: str, used: int) -> None: ...
    async def close(self) -> None: ...


@dataclass(slots=True)
class _B:
    tokens: float
    ts: float
    expires: float


@dataclass(slots=True)
class _Q:
    used: int | None = None
    reserved: int = 0
    leases: dict[str, tuple[int, float]] = field(default_factory=dict)   # lease → (amount, expiry)
    expires: float = float("inf")


class MemoryLimitStore:
    """In-process counters. Each operation runs without an ``await`` inside, so it is atomic
    on the event loop. ``clock`` is injectable for tests."""

    def __init__(self, clock=time.time, max_counters: int = 1_000_000) -> None:
        self.clock = clock
        self.max_counters = max_counters
        self._buckets: dict[str, _B] = {}
        self._quotas: dict[str, _Q] = {}
        self._sweep_at = 0.0

    def _sweep(self, now: float) -> None:
        if now < self._sweep_at:
            return
        self._sweep_at = now + 30
        for d in (self._buckets, self._quotas):
            for k in [k for k, v in d.items() if v.expires <= now and not getattr(v, "leases", None)]:
                del d[k]

    async def admit(self, lease: str, checks: list[Bucket | Quota], lease_seconds: float,
                    init: dict[int, int] | None = None) -> Admission:
        now = self.clock()
        self._sweep(now)
        init = init or {}
        states: list[Any] = []
        keys: list[str] = []
        need: list[tuple[int, float]] = []
        for i, c in enumerate(checks):
            if isinstance(c, Bucket):
                b = self._buckets.get(c.key)
                rate = c.capacity / c.per
                tokens = c.capacity if b is None else min(c.capacity, b.tokens + max(0.0, now - b.ts) * rate)
                states.append((tokens, rate))
                keys.append(c.key)
            else:
                start, end = period_bounds(c.period, now)
                key = c.key if c.period == "none" else f"{c.key}:{start}"
                q = self._quotas.get(key)
                if q is None:
                    q = self._quotas[key] = _Q()
                for lid in [lid for lid, (_, exp) in q.leases.items() if exp <= now]:
                    q.reserved -= q.leases.pop(lid)[0]
                if q.used is None:
                    if i in init:
                        q.used = init[i]
                    elif c.ledger is not None:
                        need.append((i, float(start)))
                    else:
                        q.used = 0
                q.expires = (end + 172800) if c.period != "none" else now + max(c.idle, lease_seconds * 2)
                states.append((q, start, end))
                keys.append(key)
        if need:
            return Admission(False, now, [], [], keys, need_ledger=need)
        remaining: list[float] = []
        resets: list[float] = []
        failed, retry = -1, 0.0
        for i, c in enumerate(checks):
            if isinstance(c, Bucket):
                tokens, rate = states[i]
                left = tokens - c.amount
                if left < 0 and failed < 0:
                    failed, retry = i, NEVER if c.amount > c.capacity else (c.amount - tokens) / rate
                remaining.append(left)
                resets.append(now + max(0.0, c.capacity - left) / rate)
            else:
                q, start, end = states[i]
                left = c.limit - q.used - q.reserved - c.amount
                if left < 0 and failed < 0:
                    failed = i
                    retry = NEVER if c.amount > c.limit else (end - now if c.period != "none" else 1.0)
                remaining.append(left)
                resets.append(float(end))
        if failed >= 0:
            return Admission(False, now, remaining, resets, keys, failed, retry)
        for i, c in enumerate(checks):
            if isinstance(c, Bucket):
                tokens, _ = states[i]
                self._buckets[c.key] = _B(tokens - c.amount, now, now + c.per * 2)
            elif c.amount > 0:
                q = states[i][0]
                q.reserved += c.amount
                q.leases[lease] = (c.amount, now + lease_seconds)
        return Admission(True, now, remaining, resets, keys)

    async def settle(self, lease: str, items: list[SettleItem]) -> list[Settled]:
        now = self.clock()
        out = []
        for it in items:
            if it.kind == "bucket":
                b = self._buckets.get(it.key)
                if b is None:
                    b = _B(float(it.capacity), now, now + it.per * 2)
                rate = it.capacity / it.per
                tokens = min(it.capacity, b.tokens + max(0.0, now - b.ts) * rate)
                self._buckets[it.key] = _B(min(it.capacity, tokens + it.reserved - it.actual), now,
                                           now + it.per * 2)
            else:
                q = self._quotas.get(it.key)
                if q is None:
                    if it.ledger:
                        continue  # forgotten meanwhile: the next admission seeds it from the ledger
                    q = self._quotas[it.key] = _Q(used=0)
                held = q.leases.pop(lease, None)
                if held is not None:
                    q.reserved -= held[0]
                before = q.used or 0
                q.used = before + it.actual
                out.append(Settled(it.key, before, q.used))
        return out

    async def renew(self, lease: str, keys: list[str], lease_seconds: float) -> None:
        exp = self.clock() + lease_seconds
        for k in keys:
            q = self._quotas.get(k)
            if q is not None and lease in q.leases:
                q.leases[lease] = (q.leases[lease][0], exp)

    async def raise_used(self, key: str, used: int) -> None:
        q = self._quotas.get(key)
        if q is not None and q.used is not None and q.used < used:
            q.used = used

    async def close(self) -> None:
        pass


def make_store(settings):
    """The configured backend: ``limits.backend``, or Redis when ``redis.url`` is set (auto)."""
    backend = settings.limits.backend
    if backend == "auto":
        backend = "redis" if settings.redis.url else "memory"
    if backend == "memory":
        return MemoryLimitStore()
    if not settings.redis.url:
        from wardgate.errors import ConfigError
        raise ConfigError("limits.backend: redis needs redis.url")
    from wardgate.limits.redis_store import RedisLimitStore
    return RedisLimitStore(settings.redis.url, settings.limits.redis_prefix, settings.limits.redis_timeout_seconds)
