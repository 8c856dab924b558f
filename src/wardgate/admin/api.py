"""Admin API: workspaces, users and service accounts, role assignments, keys, admin events.

Authenticated like the proxy (admin virtual keys, admin SSO tokens, static keys with an admin
role). An admin manages its own workspace; another workspace's objects answer 404, so nothing
can be probed. Admins of ``identity.root_workspace`` manage every workspace. Every change is an
admin event (actor, before/after, never secrets). Unknown fields are rejected; list filters
and sort fields come from allowlists. Errors use the Anthropic shape.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException

from wardgate import __version__
from wardgate.cli.usage import parse_day
from wardgate.errors import BadRequest, InvalidField, MethodNotAllowed, NotFound, PermissionDenied, WardgateError
from wardgate.flow import Flow, Principal
from wardgate.settings import LimitValues
from wardgate.store.repo import IdentityRepo, key_view, user_view, workspace_view
from wardgate.store.usage import GROUPS, UsageRepo

if TYPE_CHECKING:
    from wardgate.app import Gateway

__all__ = ["build_admin"]

log = logging.getLogger("wardgate.admin")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceIn(_In):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    name: str | None = Field(None, max_length=200)


class UserIn(_In):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["user", "service"] = "user"
    role: str = Field(min_length=1, max_length=64)
    email: str | None = Field(None, max_length=320)
    workspace: str | None = None


class RoleIn(_In):
    role: str = Field(min_length=1, max_length=64)


class KeyIn(_In):
    role: str = Field(min_length=1, max_length=64)
    owner: str | None = None
    description: str = Field("", max_length=500)
    environment: Literal["dev", "staging", "prod"] = "prod"
    scopes: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=32)
    allowed_models: list[Annotated[str, Field(max_length=100)]] | None = Field(None, max_length=64)
    expires_in_days: float | None = Field(None, gt=0, le=3650)
    workspace: str | None = None
    limits: LimitValues | None = None


class RotateIn(_In):
    grace_hours: float | None = Field(None, ge=0, le=24 * 30)


def _error(err: WardgateError) -> JSONResponse:
    return JSONResponse(status_code=err.status_code, content={"type": "error", "error": {
        "type": err.error_type, "message": err.message}}, headers={"wardgate-error-code": err.code})


def _contained(app: FastAPI):
    """Starlette re-raises an exception after its handler answered (Anthropic-shaped 500, above):
    log its type here and stop it, so no traceback with request data reaches the server's log."""
    async def asgi(scope, receive, send) -> None:
        try:
            await app(scope, receive, send)
        except Exception as exc:
            log.error("admin API error", extra={"error": type(exc).__name__})
    asgi.app = app  # type: ignore[attr-defined]
    return asgi


def build_admin(gw: "Gateway"):
    app = FastAPI(title="Wardgate admin API", version=__version__, docs_url="/admin/docs",
                  openapi_url="/admin/openapi.json", redoc_url=None)
    settings = gw.settings
    root = settings.identity.root_workspace

    @app.exception_handler(WardgateError)
    async def _wardgate(_request, exc: WardgateError):
        return _error(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: "
                             f"{'unknown field' if e['type'] == 'extra_forbidden' else e['msg']}"
                             for e in exc.errors())
        return _error(BadRequest(problems[:1000]))

    @app.exception_handler(HTTPException)
    async def _http(_request, exc: HTTPException):
        if exc.status_code == 404:
            return _error(NotFound("Not found."))
        if exc.status_code == 405:
            return _error(MethodNotAllowed())
        return _error(BadRequest(str(exc.detail)[:500]))

    @app.exception_handler(Exception)
    async def _bug(_request, exc: Exception):
        return _error(WardgateError())

    authn = next(g for g in gw.chain.guards if g.name == "authn")

    async def caller(request: Request) -> Principal:
        flow = Flow(request_id="admin", route="admin", method=request.method, path=request.url.path,
                    client=request.client.host if request.client else None,
                    headers={k.lower(): v for k, v in request.headers.items()})
        deny = await authn.on_request(flow)
        if deny is not None:
            raise deny.error
        return flow.principal

    async def admin(p: Principal = Depends(caller)) -> Principal:
        policy = settings.policy_for(p.workspace, p.role)
        if policy is None or not policy.admin:
            raise PermissionDenied("This needs an admin role.", code="admin.forbidden")
        return p

    async def reader(p: Principal = Depends(caller)) -> Principal:
        policy = settings.policy_for(p.workspace, p.role)
        if policy is None or not (policy.admin or policy.read_audit):
            raise PermissionDenied("This needs an admin or auditor role.", code="admin.forbidden")
        return p

    def scope(p: Principal) -> str | None:
        return None if p.workspace == root else p.workspace

    def target_ws(p: Principal, asked: str | None) -> str:
        if asked is None or asked == p.workspace:
            return p.workspace
        if p.workspace != root:
            raise NotFound(f"workspace {asked} not found")
        return asked

    def check_role(role: str) -> None:
        problem = settings.unknown_role(role)
        if problem is not None:
            raise BadRequest(f"role: {problem}")

    @asynccontextmanager
    async def repo_for(p: Principal) -> AsyncIterator[IdentityRepo]:
        async with gw.identity.db.sessions() as s:
            yield IdentityRepo(s, gw.identity.pepper or b"", actor=f"{p.kind}:{p.id}",
                               rotation_age_days=settings.identity.rotation_age_days)

    def keys_changed() -> None:
        if gw.identity.keys is not None:
            gw.identity.keys.invalidate_all()

    def need_pepper() -> None:
        if gw.identity.pepper is None:
            raise WardgateError("Virtual keys are disabled: no pepper is configured.", code="admin.no_pepper")

    prefix = "/admin/v1"

    @app.get(prefix + "/whoami")
    async def whoami(p: Principal = Depends(reader)) -> dict[str, Any]:
        return {"id": p.id, "kind": p.kind, "workspace": p.workspace, "role": p.role}

    # ---- workspaces
    @app.get(prefix + "/workspaces")
    async def list_workspaces(p: Principal = Depends(reader)) -> dict[str, Any]:
        async with repo_for(p) as r:
            return {"data": [workspace_view(w) for w in await r.list_workspaces(scope(p))]}

    @app.post(prefix + "/workspaces", status_code=201)
    async def create_workspace(body: WorkspaceIn, p: Principal = Depends(admin)) -> dict[str, Any]:
        if p.workspace != root:
            raise PermissionDenied("Only admins of the root workspace create workspaces.", code="admin.forbidden")
        async with repo_for(p) as r:
            return workspace_view(await r.create_workspace(body.id, body.name))

    @app.get(prefix + "/workspaces/{ws_id}")
    async def get_workspace(ws_id: str, p: Principal = Depends(reader)) -> dict[str, Any]:
        async with repo_for(p) as r:
            return workspace_view(await r.workspace(target_ws(p, ws_id)))

    # ---- users and service accounts
    @app.get(prefix + "/users")
    async def list_users(p: Principal = Depends(admin),
                         sort: Literal["created_at", "name", "role"] = "created_at") -> dict[str, Any]:
        async with repo_for(p) as r:
            users = [user_view(u) for u in await r.list_users(scope(p))]
        return {"data": sorted(users, key=lambda u: (u[sort] is None, u[sort]))}

    @app.post(prefix + "/users", status_code=201)
    async def create_user(body: UserIn, p: Principal = Depends(admin)) -> dict[str, Any]:
        check_role(body.role)
        async with repo_for(p) as r:
            return user_view(await r.create_user(target_ws(p, body.workspace), body.name, body.role,
                                                 body.kind, body.email))

    @app.get(prefix + "/users/{user_id}")
    async def get_user(user_id: str, p: Principal = Depends(admin)) -> dict[str, Any]:
        async with repo_for(p) as r:
            return user_view(await r.user(user_id, scope(p)))

    @app.post(prefix + "/users/{user_id}/{action}")
    async def set_user_disabled(user_id: str, action: Literal["disable", "enable"],
                                p: Principal = Depends(admin)) -> dict[str, Any]:
        async with repo_for(p) as r:
            user = await r.set_disabled(user_id, action == "disable", scope(p))
        keys_changed()  # the owner's keys: refused (or accepted again) here at once
        return user_view(user)

    @app.put(prefix + "/users/{user_id}/role")
    async def assign_role(user_id: str, body: RoleIn, p: Principal = Depends(admin)) -> dict[str, Any]:
        check_role(body.role)
        async with repo_for(p) as r:
            return user_view(await r.set_role(user_id, body.role, scope(p)))

    # ---- keys
    @app.get(prefix + "/keys")
    async def list_keys(p: Principal = Depends(admin),
                        state: Literal["active", "rotating", "revoked", "expired"] | None = None,
                        role: str | None = Query(None, max_length=64),
                        owner: str | None = Query(None, max_length=40),
                        sort: Literal["created_at", "last_used_at", "expires_at"] = "created_at") -> dict[str, Any]:
        async with repo_for(p) as r:
            views = [key_view(k, rotation_age_days=settings.identity.rotation_age_days)
                     for k in await r.list_keys(scope(p), state)]
        views = [v for v in views if (role is None or v["role"] == role) and (owner is None or v["owner"] == owner)]
        return {"data": sorted(views, key=lambda v: (v[sort] is None, v[sort] or 0))}

    @app.post(prefix + "/keys", status_code=201)
    async def create_key(body: KeyIn, p: Principal = Depends(admin)) -> dict[str, Any]:
        need_pepper()
        check_role(body.role)
        async with repo_for(p) as r:
            plaintext, key = await r.create_key(
                target_ws(p, body.workspace), body.role, owner=body.owner, environment=body.environment,
                description=body.description, scopes=body.scopes, allowed_models=body.allowed_models,
                expires_in=body.expires_in_days * 86400 if body.expires_in_days else None,
                limits=body.limits.model_dump(exclude_defaults=True) if body.limits else None)
        return key_view(key) | {"key": plaintext}

    @app.put(prefix + "/keys/{key_id}/limits")
    async def set_key_limits(key_id: str, body: LimitValues, p: Principal = Depends(admin)) -> dict[str, Any]:
        async with repo_for(p) as r:
            key = await r.set_key_limits(key_id, body.model_dump(exclude_defaults=True), scope(p))
        keys_changed()
        return key_view(key)

    # ---- usage (the spend ledger)
    @app.get(prefix + "/usage")
    async def usage(p: Principal = Depends(reader),
                    by: str = Query("workspace,user", max_length=100,
                                    description="comma-separated: " + ", ".join(GROUPS)),
                    since: str | None = Query(None, description="UTC day YYYY-MM-DD (default: 30 days ago)"),
                    until: str | None = Query(None, description="UTC day YYYY-MM-DD, not included"),
                    workspace: str | None = Query(None, max_length=64), key: str | None = Query(None, max_length=40),
                    user: str | None = Query(None, max_length=64),
                    top: int | None = Query(None, ge=1, le=10_000)) -> dict[str, Any]:
        groups = [g.strip() for g in by.split(",") if g.strip()]
        if any(g not in GROUPS for g in groups):
            raise InvalidField(f"by: groupings are {', '.join(GROUPS)}")
        try:
            start = parse_day(since) if since else time.time() - 30 * 86400
            end = parse_day(until)
        except argparse.ArgumentTypeError as exc:
            raise InvalidField(f"since/until: {exc}") from None
        ws = scope(p)
        if ws is not None:
            workspace = ws  # workspace admins and auditors see their own workspace only
        rows = await UsageRepo(gw.identity.db).report(groups, since=start, until=end, workspace=workspace,
                                                          key=key, user=user, top=top)
        return {"since": start, "until": end, "by": groups, "data": rows}

    @app.get(prefix + "/keys/{key_id}")
    async def get_key(key_id: str, p: Principal = Depends(admin)) -> dict[str, Any]:
        async with repo_for(p) as r:
            return key_view(await r.key(key_id, scope(p)), rotation_age_days=settings.identity.rotation_age_days)

    @app.post(prefix + "/keys/{key_id}/rotate", status_code=201)
    async def rotate_key(key_id: str, body: RotateIn | None = None, p: Principal = Depends(admin)) -> dict[str, Any]:
        need_pepper()
        hours = body.grace_hours if body and body.grace_hours is not None else settings.identity.default_grace_hours
        async with repo_for(p) as r:
            plaintext, key = await r.rotate_key(key_id, hours * 3600, scope(p))
        keys_changed()
        return key_view(key) | {"key": plaintext}

    @app.post(prefix + "/keys/{key_id}/revoke")
    async def revoke_key(key_id: str, p: Principal = Depends(admin)) -> dict[str, Any]:
        async with repo_for(p) as r:
            key = await r.revoke_key(key_id, scope(p))
        keys_changed()
        return key_view(key)

    # ---- admin events
    @app.get(prefix + "/events")
    async def events(p: Principal = Depends(reader), limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
        async with repo_for(p) as r:
            rows = await r.events(scope(p), limit)
        return {"data": [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "workspace": e.workspace_id,
                          "target": e.target, "detail": e.detail} for e in rows]}

    return _contained(app)
