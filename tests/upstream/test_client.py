"""The upstream client against the simulator and raw sockets: retries, waits, timeouts."""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import UPSTREAM_KEY
from wardgate.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from wardgate.settings import UpstreamSettings
from wardgate.upstream.client import UpstreamClient, parse_retry_after

BODY = b'{"model":"claude-sonnet-5-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}'
HDRS = [("content-type", "application/json"), ("anthropic-version", "2023-06-01")]


def make(base_url: str, waits: list, **cfg) -> UpstreamClient:
    async def sleep(seconds: float) -> None:  # injected: record, never really wait
        waits.append(seconds)

    settings = UpstreamSettings.model_validate({"base_url": base_url} | cfg)
    return UpstreamClient(settings, UPSTREAM_KEY, sleep=sleep, rng=lambda: 1.0)


async def test_retry_after_is_honoured_and_backoff_grows(sim):
    waits: list = []
    client = make(sim.url, waits, retries={"backoff_base": 0.5, "backoff_max": 8})
    sim.state.faults.extend(["429:1.5", "503"])
    resp, attempts = await client.send("POST", "/v1/messages", HDRS, BODY)
    assert resp.status == 200 and attempts == 3
    assert waits == [1.5, 1.0]  # retry-after as sent; then full-jitter backoff (rng=1): 0.5 * 2**1
    resp.release()
    await client.close()


async def test_retries_disabled(sim):
    waits: list = []
    client = make(sim.url, waits, retries={"max": 0})
    sim.state.faults.append("529")
    resp, attempts = await client.send("POST", "/v1/messages", HDRS, BODY)
    assert resp.status == 529 and attempts == 1 and waits == []
    resp.release()
    await client.close()


async def test_the_api_key_comes_from_configuration(sim):
    client = make(sim.url, [])
    resp, _ = await client.send("POST", "/v1/messages", HDRS + [("x-api-key", "client-key")], BODY)
    resp.release()
    keys = [v for k, v in sim.state.requests[-1]["headers"].items() if k == "x-api-key"]
    assert keys == [UPSTREAM_KEY]
    await client.close()


def test_parse_retry_after():
    assert parse_retry_after({"retry-after": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "3"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) is None
    assert parse_retry_after({}) is None


async def _silent_server():
    """Accepts connections and never reads or answers: for write and read timeouts."""
    conns = []

    async def on_conn(reader, writer):
        conns.append(writer)
        await asyncio.sleep(3600)

    server = await asyncio.start_server(on_conn, "127.0.0.1", 0, limit=1024)
    for sock in server.sockets:
        import socket
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def test_write_timeout_when_the_upstream_does_not_read():
    server, url = await _silent_server()
    client = make(url, [], timeouts={"write": 0.3, "read": 30})
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(UpstreamTimeout, match="sending"):
        await client.send("POST", "/v1/messages", HDRS, b"x" * (64 * 1024 * 1024))
    assert loop.time() - start < 5
    await client.close()
    server.close()


async def test_read_timeout_waiting_for_headers():
    server, url = await _silent_server()
    client = make(url, [], timeouts={"read": 0.3})
    with pytest.raises(UpstreamTimeout):
        await client.send("POST", "/v1/messages", HDRS, BODY)
    assert client.breaker.consecutive == 1
    await client.close()
    server.close()


async def test_connection_refused_is_retried_then_fails():
    from wardgate.server import free_port
    waits: list = []
    client = make(f"http://127.0.0.1:{free_port()}", waits)
    with pytest.raises(UpstreamError):
        await client.send("POST", "/v1/messages", HDRS, BODY)
    assert len(waits) == 2
    await client.close()


async def test_open_breaker_fails_fast_without_a_connection():
    from wardgate.server import free_port
    client = make(f"http://127.0.0.1:{free_port()}", [], breaker={"failures": 1, "open_seconds": 60},
                  retries={"max": 0})
    with pytest.raises(UpstreamError):
        await client.send("POST", "/v1/messages", HDRS, BODY)
    with pytest.raises(UpstreamUnavailable):
        await client.send("POST", "/v1/messages", HDRS, BODY)
    await client.close()


async def test_probe(sim):
    from wardgate.server import free_port
    assert await make(sim.url, []).probe()
    assert not await make(f"http://127.0.0.1:{free_port()}", []).probe()
