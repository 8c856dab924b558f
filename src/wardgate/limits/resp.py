"""A small pipelined Redis client (RESP2) for the limit store's hot path.

Every request makes one or two script calls; redis-py's asyncio client spends about 100 µs
of CPU per command in Python (measured in bench/README.md), more than the rest of the limits
guard. This client keeps one connection, writes commands as they come (pipelining: replies
arrive in order, and are matched to waiters first in, first out) and parses replies in one
pass. It speaks only what the store needs: commands out, bulk strings, simple strings,
integers, errors and arrays back; ``AUTH`` and ``SELECT`` from the URL; ``rediss://`` (TLS).

Failures raise ``RespUnavailable`` (connect errors, timeouts, a closed connection);
a Redis error reply raises ``RespError``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from urllib.parse import unquote, urlsplit

__all__ = ["RespClient", "RespError", "RespUnavailable"]


class RespError(Exception):
    """Redis answered with an error reply."""


class RespUnavailable(Exception):
    """Redis cannot be reached (or did not answer in time)."""


def _encode(args: tuple) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, (bytes, bytearray)):
            a = str(a).encode()
        out.append(b"$%d\r\n" % len(a))
        out.append(a)
        out.append(b"\r\n")
    return b"".join(out)


_INCOMPLETE = object()


def _expire(fut: asyncio.Future) -> None:
    if not fut.done():  # its reply, if it ever comes, is skipped in order
        fut.set_exception(RespUnavailable("timeout"))


def _parse(buf: bytearray, pos: int):
    """One reply starting at ``pos``: (value, next position), or (_INCOMPLETE, pos)."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return _INCOMPLETE, pos
    kind, line = buf[pos:pos + 1], bytes(buf[pos + 1:end])
    nxt = end + 2
    if kind == b"$":
        n = int(line)
        if n < 0:
            return None, nxt
        if len(buf) < nxt + n + 2:
            return _INCOMPLETE, pos
        return bytes(buf[nxt:nxt + n]), nxt + n + 2
    if kind == b"+":
        return line, nxt
    if kind == b":":
        return int(line), nxt
    if kind == b"-":
        return RespError(line.decode("utf-8", "replace")), nxt
    if kind == b"*":
        n = int(line)
        if n < 0:
            return None, nxt
        items = []
        for _ in range(n):
            item, nxt = _parse(buf, nxt)
            if item is _INCOMPLETE:
                return _INCOMPLETE, pos
            items.append(item)
        return items, nxt
    raise RespUnavailable(f"unexpected reply type {kind!r}")


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[asyncio.Future] = deque()
        self.buf = bytearray()
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        pos = 0
        try:
            while pos < len(self.buf) and self.waiting:
                value, nxt = _parse(self.buf, pos)
                if value is _INCOMPLETE:
                    break
                pos = nxt
                fut = self.waiting.popleft()
                if not fut.done():  # a waiter that timed out still owns its place in the order
                    if isinstance(value, RespError):
                        fut.set_exception(value)
                    else:
                        fut.set_result(value)
        except (ValueError, RespUnavailable):
            self._fail(RespUnavailable("unreadable reply"))
            if self.transport is not None:
                self.transport.close()
            return
        del self.buf[:pos]

    def connection_lost(self, exc) -> None:
        self._fail(RespUnavailable("connection lost"))

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        while self.waiting:
            fut = self.waiting.popleft()
            if not fut.done():
                fut.set_exception(exc)


class RespClient:
    def __init__(self, url: str, timeout: float = 0.5) -> None:
        u = urlsplit(url)
        if u.scheme not in ("redis", "rediss"):
            raise ValueError("redis.url must start with redis:// or rediss://")
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or 6379
        self.username = unquote(u.username) if u.username else None
        self.password = unquote(u.password) if u.password else None
        path = (u.path or "/").strip("/")
        self.db = int(path) if path else 0
        self.tls = u.scheme == "rediss"
        self.timeout = timeout
        self._proto: _Protocol | None = None
        self._connecting: asyncio.Future | None = None
        self._timeouts = 0  # in a row: three mean the connection is dead (silently), replace it

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(_Protocol, self.host, self.port,
                                       ssl=ssl.create_default_context() if self.tls else None),
                self.timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            raise RespUnavailable(type(exc).__name__) from exc
        try:
            if self.password is not None:
                await self._send(proto, ("AUTH", self.username, self.password) if self.username
                                 else ("AUTH", self.password))
            if self.db:
                await self._send(proto, ("SELECT", self.db))
        except BaseException:
            proto.transport.close()
            raise
        self._proto = proto
        return proto

    async def _ready(self) -> _Protocol:
        if self._connecting is None:  # one connect, however many callers are waiting for it
            self._connecting = asyncio.ensure_future(self._connect())
        fut = self._connecting
        try:
            return await asyncio.shield(fut)
        finally:
            if fut.done() and self._connecting is fut:
                self._connecting = None

    async def _send(self, proto: _Protocol, args: tuple):
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        proto.waiting.append(fut)
        proto.transport.write(_encode(args))
        timer = loop.call_later(self.timeout, _expire, fut)  # cheaper than wait_for per call
        try:
            value = await fut
        except RespUnavailable:
            self._timeouts += 1
            if self._timeouts >= 3 and proto.transport is not None:
                self._timeouts = 0
                proto.transport.close()  # pending calls fail now; the next call reconnects
            raise
        finally:
            timer.cancel()
        self._timeouts = 0
        return value

    async def call(self, *args):
        proto = self._proto
        if proto is None or proto.closed:
            proto = await self._ready()
        return await self._send(proto, args)

    def reset(self) -> None:
        """Drop the connection (pending calls fail); the next call opens a new one."""
        if self._proto is not None and self._proto.transport is not None:
            self._proto.transport.close()
        self._proto = None

    async def close(self) -> None:
        self.reset()
