"""The small RESP client: parsing, pipelining, errors, reconnects and timeouts."""

import asyncio
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wardgate.limits.resp import _INCOMPLETE, RespClient, RespError, RespUnavailable, _parse
from wardgate.limits.redis_store import RedisLimitStore
from wardgate.limits.store import Bucket

REPLIES = b"$5\r\nhello\r\n+OK\r\n:42\r\n-ERR bad thing\r\n*2\r\n$1\r\na\r\n*1\r\n:7\r\n$-1\r\n$0\r\n\r\n"
EXPECTED = [b"hello", b"OK", 42, "ERR bad thing", [b"a", [7]], None, b""]


def _all(buf: bytes):
    out, pos, b = [], 0, bytearray(buf)
    while pos < len(b):
        value, nxt = _parse(b, pos)
        if value is _INCOMPLETE:
            break
        out.append(str(value) if isinstance(value, RespError) else value)
        pos = nxt
    return out, pos


def test_parse_every_reply_type():
    out, pos = _all(REPLIES)
    assert out == EXPECTED and pos == len(REPLIES)


@given(st.integers(0, len(REPLIES)))
def test_a_reply_cut_anywhere_waits_for_the_rest(cut):
    out, pos = _all(REPLIES[:cut])
    assert out == EXPECTED[:len(out)]
    rest, _ = _all(REPLIES[pos:])
    assert out + rest == EXPECTED


async def test_pipelined_calls_get_their_own_replies(redis_url):
    c = RespClient(redis_url)
    key = f"wgtest:{uuid.uuid4().hex}"
    try:
        results = await asyncio.gather(*[c.call("INCRBY", key, i) for i in range(1, 101)])
        assert sorted(results) == sorted(sum(range(1, i + 1)) for i in range(1, 101))
        assert results == sorted(results)  # written in order, answered in order
        with pytest.raises(RespError):
            await c.call("NOSUCHCOMMAND")
        assert await c.call("PING") == b"PONG"  # still usable after an error reply
        await c.call("DEL", key)
    finally:
        await c.close()


async def test_database_number_from_the_url(redis_url):
    base = redis_url.rsplit("/", 1)[0]
    one, zero = RespClient(base + "/1"), RespClient(base + "/0")
    key = f"wgtest:{uuid.uuid4().hex}"
    try:
        await one.call("SET", key, "x")
        assert await zero.call("GET", key) is None and await one.call("GET", key) == b"x"
        await one.call("DEL", key)
    finally:
        await one.close()
        await zero.close()


async def test_lost_connection_fails_pending_calls_and_reconnects(redis_url):
    c = RespClient(redis_url)
    try:
        assert await c.call("PING") == b"PONG"
        c._proto.transport.close()
        await asyncio.sleep(0.05)
        assert await c.call("PING") == b"PONG"  # a new connection
    finally:
        await c.close()


async def test_unreachable_and_silent_servers_raise_unavailable():
    with pytest.raises(RespUnavailable):
        await RespClient("redis://127.0.0.1:1/0", timeout=0.3).call("PING")

    async def silent(reader, writer):
        await reader.read(1000)
        await asyncio.sleep(5)
    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    c = RespClient(f"redis://127.0.0.1:{port}/0", timeout=0.2)
    try:
        with pytest.raises(RespUnavailable):
            await c.call("PING")
    finally:
        await c.close()
        server.close()


async def test_the_store_reloads_its_script_after_a_flush(redis_url):
    s = RedisLimitStore(redis_url, prefix=f"wgtest:{uuid.uuid4().hex}:")
    try:
        assert (await s.admit("l1", [Bucket("rpm", 5, 1)], 60)).ok
        await s.client.call("SCRIPT", "FLUSH")
        assert (await s.admit("l2", [Bucket("rpm", 5, 1)], 60)).ok  # NOSCRIPT → EVAL, transparently
        assert await s.ping()
    finally:
        await s.close()


def test_only_redis_urls():
    with pytest.raises(ValueError):
        RespClient("http://127.0.0.1:6379")


async def _fake(reply: bytes):
    async def serve(reader, writer):
        while await reader.read(4096):
            if reply:
                writer.write(reply)
                await writer.drain()
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def test_a_read_only_replica_counts_as_unavailable():
    from wardgate.limits.store import StoreDown
    server, port = await _fake(b"-READONLY You can't write against a read only replica.\r\n")
    s = RedisLimitStore(f"redis://127.0.0.1:{port}/0")
    try:
        with pytest.raises(StoreDown):
            await s.admit("l", [Bucket("rpm", 1, 1)], 60)
    finally:
        await s.close()
        server.close()


async def test_a_silent_connection_is_replaced_after_three_timeouts():
    server, port = await _fake(b"")
    c = RespClient(f"redis://127.0.0.1:{port}/0", timeout=0.1)
    try:
        for _ in range(3):
            with pytest.raises(RespUnavailable):
                await c.call("PING")
        await asyncio.sleep(0.05)
        assert c._proto is None or c._proto.closed
    finally:
        await c.close()
        server.close()
