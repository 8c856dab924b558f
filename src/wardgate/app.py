"""build_app(settings): wire everything once, freeze the guard chain, return the ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from dataclasses import dataclass
from typing import Any

from wardgate import __version__
from wardgate.admin.api import build_admin
from wardgate.chain import GuardChain
from wardgate.errors import ConfigError, MethodNotAllowed, NotFound
from wardgate.guards import build_guards
from wardgate.guards.base import Guard
from wardgate.health import readiness
from wardgate.identity.service import Identity, pepper_from_env
from wardgate.limits.service import Limits
from wardgate.metrics import Metrics
from wardgate.proxy import relay
from wardgate.proxy.respond import send_bytes, send_error, send_json
from wardgate.settings import Settings
from wardgate.store.db import Database
from wardgate.upstream.client import UpstreamClient

__all__ = ["Gateway", "Services", "build_app", "upstream_api_key"]

log = logging.getLogger("wardgate")

# path → (method, route). Routes marked "proxy" go through the guard chain to the upstream.
_ROUTES: dict[str, tuple[str, str]] = {
    "/v1/messages": ("POST", "messages"),
    "/v1/messages/count_tokens": ("POST", "count_tokens"),
    "/v1/models": ("GET", "models"),
    "/healthz": ("GET", "healthz"),
    "/readyz": ("GET", "readyz"),
    "/metrics": ("GET", "metrics"),
}
_PROXIED = frozenset({"messages", "count_tokens", "models", "model"})


def upstream_api_key(settings: Settings, environ: dict[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    key = env.get(settings.upstream.api_key_env, "")
    if not key:
        raise ConfigError(f"upstream.api_key_env: environment variable {settings.upstream.api_key_env} "
                          "is not set; Wardgate needs the real upstream key to forward requests")
    return key


@dataclass(frozen=True, slots=True)
class Services:
    """Shared services guards are configured with (``Guard.setup(settings, services)``)."""
    identity: Identity
    limits: Limits | None = None
    pepper: bytes | None = None   # the gateway's secret: derives the DLP vault's keys


class Gateway:
    """The ASGI application."""

    def __init__(self, settings: Settings, chain: GuardChain, upstream: UpstreamClient,
                 metrics: Metrics, identity: Identity, limits: Limits | None = None) -> None:
        self.settings = settings
        self.chain = chain
        self.upstream = upstream
        self.metrics = metrics
        self.identity = identity
        self.limits = limits
        self.admin = None  # the admin API (an ASGI app), mounted at /admin
        self._flusher: asyncio.Task | None = None
        self.max_body = settings.server.max_body_bytes
        self.access_log = settings.server.access_log
        self.trusted_proxies = frozenset(settings.server.trusted_proxies)

    async def __call__(self, scope: dict, receive, send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                self._flusher = asyncio.ensure_future(self._flush_forever())
                if self.limits is not None:
                    await self.limits.start()
                # Everything alive now (modules, SQLAlchemy/FastAPI/pydantic machinery, settings)
                # lives as long as the process: take it out of the cyclic GC's scans, so full
                # collections stay short and do not stall requests (measured: bench/README.md).
                gc.collect()
                gc.freeze()
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                if self._flusher is not None:
                    self._flusher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._flusher
                await self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _flush_forever(self, every: float = 15.0) -> None:
        while True:  # batched last_used_at writes: no database write per request
            await asyncio.sleep(every)
            if self.identity.keys is not None:
                await self.identity.keys.flush()

    async def close(self) -> None:
        await self.upstream.close()
        if self.limits is not None:
            await self.limits.close()  # flushes the spend ledger before the database goes
        await self.identity.close()

    async def _http(self, scope: dict, receive, send) -> None:
        path = scope["path"]
        if path.startswith("/admin/") or path == "/admin":
            if self.admin is None:
                await send_error(send, NotFound(f"Not found: {path[:200]}"))
            else:
                await self.admin(scope, receive, send)
            return
        route = _ROUTES.get(path)
        if route is None and path.startswith("/v1/models/") and path.count("/") == 3 and len(path) > 11:
            route = ("GET", "model")
        if route is None:
            await send_error(send, NotFound(f"Not found: {path[:200]}"))
            return
        method, name = route
        if scope["method"] != method:
            await send_error(send, MethodNotAllowed(f"Method {scope['method']} is not allowed on {path}."),
                             headers=[(b"allow", method.encode())])
            return
        if name in _PROXIED:
            await relay.handle(self, name, scope, receive, send)
        elif name == "healthz":
            await send_json(send, 200, {"status": "ok", "version": __version__})
        elif name == "readyz":
            ready, checks = await readiness(self)
            await send_json(send, 200 if ready else 503,
                            {"status": "ready" if ready else "not_ready", "checks": checks})
        else:
            self.metrics.breaker_open.set(1 if self.upstream.breaker.state == "open" else 0)
            await send_bytes(send, 200, self.metrics.render(), b"text/plain; version=0.0.4; charset=utf-8")


def build_app(settings: Settings, *, api_key: str | None = None, guards: list[Guard] | None = None,
              upstream: UpstreamClient | None = None, pepper: bytes | None = None, limit_store: Any = None,
              **client_options: Any) -> Gateway:
    """Wire the gateway. ``guards`` replaces the configured chain (tests); the order given is kept.
    ``pepper`` defaults to the environment variable ``identity.pepper_env`` names (virtual keys
    are refused without one; ``serve`` requires it)."""
    metrics = Metrics()
    if pepper is None:
        pepper = pepper_from_env(settings, required=False)
    db = Database(settings.database_url)
    identity = Identity(settings, db, pepper)
    limits = Limits(settings, db, metrics=metrics, secret=pepper, store=limit_store)
    chain = GuardChain(build_guards(settings, Services(identity, limits, pepper)) if guards is None else guards,
                       on_fail_open=lambda name: metrics.fail_open.labels(name).inc())
    if upstream is None:
        key = api_key if api_key is not None else upstream_api_key(settings)
        upstream = UpstreamClient(settings.upstream, key,
                                  on_retry=lambda reason: metrics.retries.labels(reason).inc(),
                                  **client_options)
    gateway = Gateway(settings, chain, upstream, metrics, identity, limits)
    gateway.admin = build_admin(gateway)
    return gateway
