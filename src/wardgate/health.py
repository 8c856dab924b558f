"""Liveness and readiness: is the process up; can it reach the upstream and its stores."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from wardgate.app import Gateway

__all__ = ["readiness"]


async def _tcp(host: str, port: int, timeout: float = 2.0, hello: bytes | None = None,
               expect: bytes | None = None) -> bool:
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                if hello is not None:
                    writer.write(hello)
                    await writer.drain()
                    line = await reader.readline()
                    return expect is None or line.startswith(expect)
                return True
            finally:
                writer.close()
    except (OSError, TimeoutError):
        return False


async def _database_ok(gw: "Gateway") -> str:
    try:
        current = await gw.identity.db.current_revision()
    except Exception:  # any driver failure means "not ready"
        return "unreachable"
    return "ok" if current == gw.identity.db.head_revision() else "schema_not_current"


async def _redis_ok(url: str) -> str:
    parts = urlsplit(url)
    ok = await _tcp(parts.hostname or "127.0.0.1", parts.port or 6379, hello=b"PING\r\n", expect=b"+PONG")
    return "ok" if ok else "unreachable"


async def _upstream_ok(gw: "Gateway") -> str:
    return "ok" if await gw.upstream.probe() else "unreachable"


async def readiness(gw: "Gateway") -> tuple[bool, dict[str, str]]:
    checks: dict[str, asyncio.Future] = {
        "upstream": asyncio.ensure_future(_upstream_ok(gw)),
        "database": asyncio.ensure_future(_database_ok(gw)),
    }
    if gw.settings.redis.url:
        checks["redis"] = asyncio.ensure_future(_redis_ok(gw.settings.redis.url))
    results = {name: await fut for name, fut in checks.items()}
    if gw.upstream.breaker.state == "open":
        results["upstream_breaker"] = "open"
    ready = all(v == "ok" for v in results.values())
    return ready, results
