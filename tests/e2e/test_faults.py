"""Fault handling across real processes: client disconnects and the circuit breaker."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import anthropic
import orjson
import pytest

from tests.e2e.conftest import GW_KEY, start_gateway, wait_for

pytestmark = pytest.mark.e2e
MODEL = "claude-sonnet-5-5"


def _open_request(url: str, fault: str, stream: bool) -> socket.socket:
    parts = urlsplit(url)
    body = orjson.dumps({"model": MODEL, "max_tokens": 64, "stream": stream,
                         "messages": [{"role": "user", "content": "a b c d e f g h"}]})
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: gw\r\ncontent-type: application/json\r\n"
                 b"anthropic-version: 2023-06-01\r\nx-api-key: " + GW_KEY.encode() + b"\r\n"
                 b"x-sim-fault: " + fault.encode() + b"\r\ncontent-length: " + str(len(body)).encode()
                 + b"\r\n\r\n" + body)
    return sock


def _stats(sim_ctl) -> dict:
    return sim_ctl.get("/_sim/stats").json()


@pytest.mark.parametrize("fault, stream", [("hang", False), ("hang", True), ("slow:300", True), ("idle", True)])
def test_client_disconnect_cancels_the_upstream_within_a_second(gateway, sim_ctl, fault, stream):
    sock = _open_request(gateway.url, fault, stream)
    wait_for(lambda: _stats(sim_ctl)["in_flight"] == 1, timeout=5)
    if stream and fault != "hang":
        first = sock.recv(65536)  # headers and the first events have arrived: the stream is live
        assert b"200 OK" in first and b"text/event-stream" in first
    closed_at = time.monotonic()
    sock.close()
    wait_for(lambda: _stats(sim_ctl)["cancelled"] == 1, timeout=1.0)
    assert time.monotonic() - closed_at < 1.0
    stats = _stats(sim_ctl)
    assert stats["in_flight"] == 0 and stats["completed"] == 0


def test_disconnect_is_counted_in_metrics(gateway, sim_ctl):
    import httpx
    before = httpx.get(gateway.url + "/metrics").text
    sock = _open_request(gateway.url, "hang", False)
    wait_for(lambda: _stats(sim_ctl)["in_flight"] == 1, timeout=5)
    sock.close()
    wait_for(lambda: _stats(sim_ctl)["cancelled"] == 1, timeout=1.0)

    def counted() -> bool:
        text = httpx.get(gateway.url + "/metrics").text
        line = [l for l in text.splitlines() if l.startswith('wardgate_client_disconnects_total{route="messages"}')]
        old = [l for l in before.splitlines() if l.startswith('wardgate_client_disconnects_total{route="messages"}')]
        return bool(line) and (not old or float(line[0].split()[-1]) > float(old[0].split()[-1]))
    wait_for(counted, timeout=2)


def test_breaker_opens_fails_fast_and_recovers_through_a_probe(sim_proc, sim_ctl, tmp_path):
    gw = start_gateway(sim_proc.url, tmp_path, "  retries:\n    max: 0\n  breaker:\n    failures: 2\n    open_seconds: 1\n")
    try:
        sdk = anthropic.Anthropic(base_url=gw.url, api_key=GW_KEY, max_retries=0)
        ask = dict(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}])
        sim_ctl.post("/_sim/faults", json={"faults": ["500", "502"]})
        for exc in (anthropic.InternalServerError, anthropic.InternalServerError):
            with pytest.raises(exc):
                sdk.messages.create(**ask)
        with pytest.raises(anthropic.ServiceUnavailableError) as e:  # open: answered locally
            sdk.messages.create(**ask)
        assert e.value.response.headers["wardgate-error-code"] == "upstream.circuit_open"
        assert e.value.response.headers["retry-after"] == "1"
        assert _stats(sim_ctl)["requests"] == 2
        time.sleep(1.1)
        assert sdk.messages.create(**ask).content  # half-open probe succeeds and closes it
        assert sdk.messages.create(**ask).content
        assert _stats(sim_ctl)["requests"] == 4
    finally:
        gw.stop()
