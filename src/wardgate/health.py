"""Liveness and readiness: is the process up; can it reach the upstream and its stores."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
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


def _sqlite_ok(url: str) -> bool:
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if not path or path == ":memory:":
        return True
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path, timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except (sqlite3.Error, OSError):
        return False


async def _database_ok(url: str) -> bool:
    if url.startswith("sqlite"):
        return await asyncio.to_thread(_sqlite_ok, url)
    parts = urlsplit(url)
    return await _tcp(parts.hostname or "127.0.0.1", parts.port or 5432)


async def _redis_ok(url: str) -> bool:
    parts = urlsplit(url)
    return await _tcp(parts.hostname or "127.0.0.1", parts.port or 6379,
                      hello=b"PING\r\n", expect=b"+PONG")


async def readiness(gw: "Gateway") -> tuple[bool, dict[str, str]]:
    checks: dict[str, asyncio.Future] = {
        "upstream": asyncio.ensure_future(gw.upstream.probe()),
        "database": asyncio.ensure_future(_database_ok(gw.settings.database_url)),
    }
    if gw.settings.redis.url:
        checks["redis"] = asyncio.ensure_future(_redis_ok(gw.settings.redis.url))
    results = {name: ("ok" if await fut else "unreachable") for name, fut in checks.items()}
    if gw.upstream.breaker.state == "open":
        results["upstream_breaker"] = "open"
    ready = all(v == "ok" for v in results.values())
    return ready, results
