"""Repositories: every read and write of identity objects, with admin events for changes.

Each change records an ``AdminEvent`` (actor, action, before/after) in the same transaction;
secrets (plaintext keys, hashes) never go into an event.
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from wardgate.errors import BadRequest, InvalidField, NotFound
from wardgate.identity.keyformat import key_hash, key_hint, new_key
from wardgate.store.models import AdminEvent, ApiKey, User, Workspace

__all__ = ["IdentityRepo", "key_view", "user_view", "workspace_view", "Conflict"]

_SLUG = re.compile(r"\A[a-z0-9][a-z0-9-]{0,62}\Z")


class Conflict(BadRequest):
    status_code = 409
    code = "admin.conflict"


def _id(prefix: str) -> str:
    return prefix + os.urandom(10).hex()


def key_view(k: ApiKey, *, now: float | None = None, rotation_age_days: float = 90) -> dict[str, Any]:
    now = time.time() if now is None else now
    state = "active"
    if k.revoked_at is not None:
        state = "revoked"
    elif k.expires_at is not None and k.expires_at <= now:
        state = "expired"
    elif k.replaced_by is not None:
        state = "rotating"
    return {"id": k.id, "workspace": k.workspace_id, "owner": k.owner_id, "hint": k.hint, "role": k.role,
            "scopes": k.scopes, "allowed_models": k.allowed_models, "limits": k.limits,
            "environment": k.environment, "description": k.description, "created_at": k.created_at,
            "last_used_at": k.last_used_at, "expires_at": k.expires_at, "revoked_at": k.revoked_at,
            "replaced_by": k.replaced_by, "state": state,
            "stale": now - k.created_at > rotation_age_days * 86400}


def user_view(u: User) -> dict[str, Any]:
    return {"id": u.id, "workspace": u.workspace_id, "kind": u.kind, "name": u.name, "email": u.email,
            "role": u.role, "disabled": u.disabled, "created_at": u.created_at}


def workspace_view(w: Workspace) -> dict[str, Any]:
    return {"id": w.id, "name": w.name, "created_at": w.created_at}


class IdentityRepo:
    def __init__(self, session: AsyncSession, pepper: bytes, actor: str,
                 clock=time.time, rotation_age_days: float = 90) -> None:
        self.s = session
        self.pepper = pepper
        self.actor = actor
        self.clock = clock
        self.rotation_age_days = rotation_age_days

    def _event(self, action: str, workspace: str | None, target: str | None, **detail: Any) -> None:
        self.s.add(AdminEvent(at=self.clock(), actor=self.actor, action=action, workspace_id=workspace,
                              target=target, detail=detail))

    async def _commit(self) -> None:
        try:
            await self.s.commit()
        except IntegrityError:
            await self.s.rollback()
            raise Conflict("That object already exists or refers to one that does not.") from None

    # ---- workspaces
    async def create_workspace(self, ws_id: str, name: str | None = None) -> Workspace:
        if not _SLUG.match(ws_id):
            raise BadRequest("workspace id: lower-case letters, digits and dashes, at most 63")
        if await self.s.get(Workspace, ws_id) is not None:
            raise Conflict(f"workspace {ws_id} already exists")
        ws = Workspace(id=ws_id, name=name or ws_id, created_at=self.clock())
        self.s.add(ws)
        self._event("workspace-created", ws_id, ws_id, after=workspace_view(ws))
        await self._commit()
        return ws

    async def list_workspaces(self, only: str | None = None) -> list[Workspace]:
        q = select(Workspace).order_by(Workspace.id)
        if only is not None:
            q = q.where(Workspace.id == only)
        return list((await self.s.scalars(q)).all())

    async def workspace(self, ws_id: str) -> Workspace:
        ws = await self.s.get(Workspace, ws_id)
        if ws is None:
            raise NotFound(f"workspace {ws_id} not found")
        return ws

    # ---- users and service accounts
    async def create_user(self, workspace: str, name: str, role: str, kind: str = "user",
                          email: str | None = None) -> User:
        await self.workspace(workspace)
        user = User(id=_id("usr_"), workspace_id=workspace, kind=kind, name=name, email=email, role=role,
                    disabled=False, created_at=self.clock())
        self.s.add(user)
        self._event("user-created", workspace, user.id, after=user_view(user))
        await self._commit()
        return user

    async def user(self, user_id: str, workspace: str | None = None) -> User:
        user = await self.s.get(User, user_id)
        if user is None or (workspace is not None and user.workspace_id != workspace):
            raise NotFound(f"user {user_id} not found")  # another workspace's user does not exist for you
        return user

    async def list_users(self, workspace: str | None = None) -> list[User]:
        q = select(User).order_by(User.created_at)
        if workspace is not None:
            q = q.where(User.workspace_id == workspace)
        return list((await self.s.scalars(q)).all())

    async def set_role(self, user_id: str, role: str, workspace: str | None = None) -> User:
        user = await self.user(user_id, workspace)
        before = user_view(user)
        user.role = role
        self._event("role-assigned", user.workspace_id, user.id, before=before, after=user_view(user))
        await self._commit()
        return user

    async def set_disabled(self, user_id: str, disabled: bool, workspace: str | None = None) -> User:
        """Disable (or enable again) a user: every key they own is refused on every replica
        within the key cache's TTL; the keys themselves are kept."""
        user = await self.user(user_id, workspace)
        if user.disabled != disabled:
            before = user_view(user)
            user.disabled = disabled
            self._event("user-disabled" if disabled else "user-enabled", user.workspace_id, user.id,
                        before=before, after=user_view(user))
            await self._commit()
        return user

    # ---- keys
    async def create_key(self, workspace: str, role: str, *, owner: str | None = None,
                         environment: str = "prod", description: str = "", scopes: list[str] | None = None,
                         allowed_models: list[str] | None = None, expires_in: float | None = None,
                         limits: dict[str, Any] | None = None) -> tuple[str, ApiKey]:
        await self.workspace(workspace)
        if owner is not None and (await self.user(owner, workspace)).disabled:
            raise InvalidField(f"owner: user {owner} is disabled")
        now = self.clock()
        plaintext = new_key(environment)
        key = ApiKey(id=_id("key_"), workspace_id=workspace, owner_id=owner, key_hash=key_hash(plaintext, self.pepper),
                     hint=key_hint(plaintext), role=role, scopes=scopes or [], allowed_models=allowed_models,
                     limits=limits or {}, environment=environment, description=description, created_at=now,
                     expires_at=now + expires_in if expires_in else None)
        self.s.add(key)
        self._event("key-created", workspace, key.id, after=key_view(key, now=now))
        await self._commit()
        return plaintext, key

    async def key(self, key_id: str, workspace: str | None = None) -> ApiKey:
        key = await self.s.get(ApiKey, key_id)
        if key is None or (workspace is not None and key.workspace_id != workspace):
            raise NotFound(f"key {key_id} not found")
        return key

    async def list_keys(self, workspace: str | None = None, state: str | None = None) -> list[ApiKey]:
        q = select(ApiKey).order_by(ApiKey.created_at)
        if workspace is not None:
            q = q.where(ApiKey.workspace_id == workspace)
        keys = list((await self.s.scalars(q)).all())
        if state is not None:
            now = self.clock()
            keys = [k for k in keys if key_view(k, now=now)["state"] == state]
        return keys

    async def rotate_key(self, key_id: str, grace_seconds: float, workspace: str | None = None) -> tuple[str, ApiKey]:
        old = await self.key(key_id, workspace)
        now = self.clock()
        if old.revoked_at is not None or (old.expires_at is not None and old.expires_at <= now):
            raise BadRequest("only an active key can be rotated")
        before = key_view(old, now=now)
        plaintext = new_key(old.environment)
        new = ApiKey(id=_id("key_"), workspace_id=old.workspace_id, owner_id=old.owner_id,
                     key_hash=key_hash(plaintext, self.pepper), hint=key_hint(plaintext), role=old.role,
                     scopes=old.scopes, allowed_models=old.allowed_models, limits=old.limits,
                     environment=old.environment, description=old.description, created_at=now,
                     expires_at=old.expires_at)
        grace_end = now + grace_seconds
        old.expires_at = grace_end if old.expires_at is None else min(old.expires_at, grace_end)
        old.replaced_by = new.id
        self.s.add(new)
        self._event("key-rotated", old.workspace_id, old.id, before=before, after=key_view(old, now=now),
                    new_key=new.id, grace_seconds=grace_seconds)
        await self._commit()
        return plaintext, new

    async def set_key_limits(self, key_id: str, limits: dict[str, Any], workspace: str | None = None) -> ApiKey:
        """Replace a key's own limits (validated by the caller as ``LimitValues``)."""
        key = await self.key(key_id, workspace)
        before = dict(key.limits or {})
        key.limits = dict(limits)
        self._event("key-limits-changed", key.workspace_id, key.id, before={"limits": before},
                    after={"limits": key.limits})
        await self._commit()
        return key

    async def revoke_key(self, key_id: str, workspace: str | None = None) -> ApiKey:
        key = await self.key(key_id, workspace)
        if key.revoked_at is None:
            before = key_view(key)
            key.revoked_at = self.clock()
            self._event("key-revoked", key.workspace_id, key.id, before=before, after=key_view(key))
            await self._commit()
        return key

    async def events(self, workspace: str | None = None, limit: int = 100) -> list[AdminEvent]:
        q = select(AdminEvent).order_by(AdminEvent.id.desc()).limit(limit)
        if workspace is not None:
            q = q.where(AdminEvent.workspace_id == workspace)
        return list((await self.s.scalars(q)).all())
