"""The key store's cache on SQLite and PostgreSQL: TTL, revocation, single flight, batching."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from tests.conftest import PEPPER
from wardgate.errors import WardgateError
from wardgate.identity.keyformat import new_key
from wardgate.identity.keystore import KeyStore
from wardgate.store.db import Database
from wardgate.store.models import ApiKey
from wardgate.store.repo import IdentityRepo


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class CountingStore(KeyStore):
    queries = 0

    async def _fetch(self, digest):
        type(self).queries += 1
        return await super()._fetch(digest)


@pytest.fixture
async def setup(db_url):
    db = Database(db_url)
    db.upgrade()
    async with db.sessions() as s:
        repo = IdentityRepo(s, PEPPER, "t")
        await repo.create_workspace("eng")
        plaintext, key = await repo.create_key("eng", "developer", allowed_models=["claude-*"])
    CountingStore.queries = 0
    yield db, plaintext, key
    await db.close()


async def _revoke_in_db(db, key_id):  # as another replica would: straight into the shared database
    async with db.sessions() as s:
        await s.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=1.0))
        await s.commit()


async def test_valid_key_then_cached_no_db_round_trip(setup):
    db, plaintext, key = setup
    store = CountingStore(db, PEPPER, ttl=2, clock=Clock())
    for _ in range(50):
        rec, reason = await store.authenticate(plaintext)
        assert reason == "ok" and rec.id == key.id and rec.allowed_models == ("claude-*",)
    assert CountingStore.queries == 1


async def test_malformed_and_unknown(setup):
    db, plaintext, _ = setup
    store = CountingStore(db, PEPPER, clock=Clock())
    assert await store.authenticate(plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")) == (None, "malformed")
    assert CountingStore.queries == 0  # refused by the checksum alone
    assert await store.authenticate(new_key()) == (None, "unknown")


async def test_revocation_elsewhere_is_seen_within_the_ttl(setup):
    db, plaintext, key = setup
    clock = Clock()
    store = CountingStore(db, PEPPER, ttl=2, clock=clock)
    assert (await store.authenticate(plaintext))[1] == "ok"
    await _revoke_in_db(db, key.id)
    clock.now += 1.9
    assert (await store.authenticate(plaintext))[1] == "ok"  # still cached (bounded by the TTL)
    clock.now += 0.2
    assert await store.authenticate(plaintext) == (None, "revoked")


async def test_in_flight_lookup_cannot_recache_a_revoked_key(setup):
    db, plaintext, key = setup
    store = KeyStore(db, PEPPER, ttl=60, clock=Clock())
    gate = asyncio.Event()
    real_fetch = store._fetch

    async def slow_fetch(digest):
        rec = await real_fetch(digest)  # read before the revocation...
        await gate.wait()               # ...and come back after it
        return rec

    store._fetch = slow_fetch
    task = asyncio.ensure_future(store.authenticate(plaintext))
    await asyncio.sleep(0.05)
    await _revoke_in_db(db, key.id)
    store.invalidate_all()              # this replica revoked: drop everything, in flight included
    gate.set()
    assert (await task)[1] == "ok"      # that request raced the revocation
    store._fetch = real_fetch
    assert await store.authenticate(plaintext) == (None, "revoked")  # but nothing stale was cached


async def test_concurrent_first_lookups_share_one_query(setup):
    db, plaintext, _ = setup
    store = CountingStore(db, PEPPER, clock=Clock())
    results = await asyncio.gather(*[store.authenticate(plaintext) for _ in range(30)])
    assert all(r[1] == "ok" for r in results) and CountingStore.queries == 1


async def test_expired_key(setup):
    db, plaintext, key = setup
    async with db.sessions() as s:
        await s.execute(update(ApiKey).where(ApiKey.id == key.id).values(expires_at=10.0))
        await s.commit()
    store = KeyStore(db, PEPPER, clock=Clock(), wall=lambda: 11.0)
    assert await store.authenticate(plaintext) == (None, "expired")


async def test_last_used_is_written_in_batches(setup):
    db, plaintext, key = setup
    store = KeyStore(db, PEPPER, clock=Clock(), wall=lambda: 1234.5)
    for _ in range(10):
        await store.authenticate(plaintext)
    assert await store.flush() == 1 and await store.flush() == 0
    async with db.sessions() as s:
        assert (await s.get(ApiKey, key.id)).last_used_at == 1234.5


async def test_database_down_fails_closed():
    from wardgate.server import free_port
    db = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/x")
    store = KeyStore(db, PEPPER)
    with pytest.raises(WardgateError) as exc:
        await store.authenticate(new_key())
    assert exc.value.status_code == 503
    await db.close()


async def test_a_disabled_owner_is_seen_within_the_ttl(setup):
    db, _, _ = setup
    async with db.sessions() as s:
        repo = IdentityRepo(s, PEPPER, "t")
        owner = await repo.create_user("eng", "dora", "developer")
        plaintext, _ = await repo.create_key("eng", "developer", owner=owner.id)
    clock = Clock()
    store = KeyStore(db, PEPPER, ttl=2, clock=clock)
    assert (await store.authenticate(plaintext))[1] == "ok"
    async with db.sessions() as s:  # another replica disables the owner in the shared database
        await IdentityRepo(s, PEPPER, "t").set_disabled(owner.id, True)
    clock.now += 2.01
    assert await store.authenticate(plaintext) == (None, "owner-disabled")
