"""Repositories on SQLite and PostgreSQL (the same tests on both)."""

from __future__ import annotations

import pytest

from tests.conftest import PEPPER
from wardgate.errors import BadRequest, NotFound
from wardgate.identity.keyformat import is_well_formed, key_hash
from wardgate.store.db import Database, SchemaNotCurrent
from wardgate.store.repo import Conflict, IdentityRepo, key_view


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def db(db_url):
    database = Database(db_url)
    database.upgrade()
    yield database
    await database.close()


async def test_unmigrated_schema_is_refused(db_url):
    database = Database(db_url)
    with pytest.raises(SchemaNotCurrent, match="wardgate db upgrade"):
        await database.check_schema()
    database.upgrade()
    await database.check_schema()
    await database.close()


async def test_workspaces_users_keys_and_events(db):
    clock = Clock()
    async with db.sessions() as s:
        repo = IdentityRepo(s, PEPPER, "tester", clock=clock)
        await repo.create_workspace("eng", "Engineering")
        with pytest.raises(Conflict):
            await repo.create_workspace("eng")
        with pytest.raises(BadRequest):
            await repo.create_workspace("Bad Name!")
        user = await repo.create_user("eng", "alice", "developer", email="a@example.com")
        plaintext, key = await repo.create_key("eng", "developer", owner=user.id, description="ci bot",
                                               allowed_models=["claude-haiku-*"], expires_in=3600)
        assert is_well_formed(plaintext) and key.key_hash == key_hash(plaintext, PEPPER)
        assert plaintext not in str(key_view(key)) and key.hint.endswith(plaintext[-4:])
        assert key.expires_at == clock.now + 3600
        assert [k.id for k in await repo.list_keys("eng")] == [key.id]
        assert await repo.list_keys("eng", state="active")
        events = await repo.events("eng")
        assert [e.action for e in events] == ["key-created", "user-created", "workspace-created"]
        assert all(e.actor == "tester" for e in events)
        assert plaintext not in str([e.detail for e in events]) and key.key_hash not in str([e.detail for e in events])


async def test_rotation_grace_and_revocation(db):
    clock = Clock()
    async with db.sessions() as s:
        repo = IdentityRepo(s, PEPPER, "tester", clock=clock)
        await repo.create_workspace("eng")
        old_plain, old = await repo.create_key("eng", "developer")
        new_plain, new = await repo.rotate_key(old.id, grace_seconds=600)
        assert new_plain != old_plain and new.role == old.role
        old = await repo.key(old.id)
        assert old.replaced_by == new.id and old.expires_at == clock.now + 600
        assert key_view(old, now=clock.now)["state"] == "rotating"
        assert key_view(old, now=clock.now + 601)["state"] == "expired"
        await repo.revoke_key(new.id)
        assert key_view(await repo.key(new.id))["state"] == "revoked"
        with pytest.raises(BadRequest):
            await repo.rotate_key(new.id, 60)
        actions = [e.action for e in await repo.events("eng")]
        assert actions[:2] == ["key-revoked", "key-rotated"]


async def test_workspace_isolation(db):
    async with db.sessions() as s:
        repo = IdentityRepo(s, PEPPER, "tester")
        await repo.create_workspace("a")
        await repo.create_workspace("b")
        user = await repo.create_user("a", "alice", "developer")
        _, key = await repo.create_key("a", "developer")
        with pytest.raises(NotFound):
            await repo.key(key.id, workspace="b")
        with pytest.raises(NotFound):
            await repo.user(user.id, workspace="b")
        with pytest.raises(NotFound):
            await repo.revoke_key(key.id, workspace="b")
        with pytest.raises(NotFound):  # a key cannot be owned across workspaces
            await repo.create_key("b", "developer", owner=user.id)
        assert await repo.list_keys("b") == []


async def test_stale_flag(db):
    clock = Clock()
    async with db.sessions() as s:
        repo = IdentityRepo(s, PEPPER, "tester", clock=clock)
        await repo.create_workspace("eng")
        _, key = await repo.create_key("eng", "developer")
        assert not key_view(key, now=clock.now + 89 * 86400)["stale"]
        assert key_view(key, now=clock.now + 91 * 86400)["stale"]
