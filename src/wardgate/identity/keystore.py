"""Virtual key look-ups with a short cache, so the hot path has no database round trip.

- Entries live at most ``identity.cache_ttl_seconds`` (≤ 5 s), counted from when the look-up
  *started*: a key revoked on any replica is refused everywhere within that time.
- A revocation on this replica invalidates at once and bumps a generation counter, so a
  look-up that was already in flight cannot put the revoked key back as valid.
- Concurrent look-ups of one key share one query (single flight). Unknown keys are cached as
  unknown for the same short time (a flood of random well-formed keys costs one query each).
- ``last_used_at`` is written in batches (``flush``), never per request.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from wardgate.identity.keyformat import is_well_formed, key_hash
from wardgate.store.db import Database, StoreUnavailable
from wardgate.store.models import ApiKey, User

__all__ = ["KeyRecord", "KeyStore"]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    id: str
    workspace: str
    owner: str | None
    role: str
    scopes: tuple[str, ...]
    allowed_models: tuple[str, ...] | None
    limits: dict[str, Any]
    environment: str
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    replaced_by: str | None
    owner_disabled: bool = False


def _record(k: ApiKey, owner_disabled: bool = False) -> KeyRecord:
    return KeyRecord(k.id, k.workspace_id, k.owner_id, k.role, tuple(k.scopes or ()),
                     tuple(k.allowed_models) if k.allowed_models is not None else None, dict(k.limits or {}),
                     k.environment, k.created_at, k.expires_at, k.revoked_at, k.replaced_by, owner_disabled)


class KeyStore:
    def __init__(self, db: Database, pepper: bytes, ttl: float = 2.0, *, clock=time.monotonic,
                 wall=time.time, max_entries: int = 100_000) -> None:
        self.db = db
        self.pepper = pepper
        self.ttl = ttl
        self.clock = clock
        self.wall = wall
        self.max_entries = max_entries
        self._cache: OrderedDict[str, tuple[KeyRecord | None, float]] = OrderedDict()
        self._generation: dict[str, int] = {}
        self._inflight: dict[str, asyncio.Future] = {}
        self._used: dict[str, float] = {}

    async def authenticate(self, key: str) -> tuple[KeyRecord | None, str]:
        """(record, "ok") or (None, reason): malformed | unknown | revoked | expired | owner disabled."""
        if not is_well_formed(key):
            return None, "malformed"  # no database look-up for a key that cannot exist
        digest = key_hash(key, self.pepper)
        rec = await self._get(digest)
        if rec is None:
            return None, "unknown"
        if rec.revoked_at is not None:
            return None, "revoked"
        if rec.expires_at is not None and self.wall() >= rec.expires_at:
            return None, "expired"
        if rec.owner_disabled:
            return None, "owner-disabled"  # disabling a user disables every key they own
        self._used[rec.id] = self.wall()
        return rec, "ok"

    async def _get(self, digest: str) -> KeyRecord | None:
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > self.clock():
            return hit[0]
        pending = self._inflight.get(digest)
        if pending is not None:
            return await asyncio.shield(pending)
        fut = asyncio.get_running_loop().create_future()
        self._inflight[digest] = fut
        started = self.clock()
        generation = self._generation.get(digest, 0)
        try:
            rec = await self._fetch(digest)
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: waiters re-raise it
            raise
        else:
            fut.set_result(rec)
            if self._generation.get(digest, 0) == generation:
                self._cache[digest] = (rec, started + self.ttl)
                self._cache.move_to_end(digest)
                while len(self._cache) > self.max_entries:
                    self._cache.popitem(last=False)
            return rec
        finally:
            self._inflight.pop(digest, None)

    async def _fetch(self, digest: str) -> KeyRecord | None:
        try:
            async with self.db.sessions() as s:
                found = (await s.execute(
                    select(ApiKey, User.disabled).outerjoin(User, User.id == ApiKey.owner_id)
                    .where(ApiKey.key_hash == digest))).first()
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable() from exc
        return _record(found[0], bool(found[1])) if found is not None else None

    def invalidate_all(self) -> None:
        """Forget everything (this replica changed keys): the next look-up reads the database."""
        for digest in self._cache:
            self._generation[digest] = self._generation.get(digest, 0) + 1
        for digest in self._inflight:
            self._generation[digest] = self._generation.get(digest, 0) + 1
        self._cache.clear()

    async def flush(self) -> int:
        """Write the batched ``last_used_at`` times; returns how many keys were updated."""
        used, self._used = self._used, {}
        if not used:
            return 0
        try:
            async with self.db.sessions() as s:
                for key_id, at in used.items():
                    await s.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=at))
                await s.commit()
        except (SQLAlchemyError, OSError):
            for key_id, at in used.items():  # keep them for the next flush
                self._used.setdefault(key_id, at)
            return 0
        return len(used)
