"""The relay through the real app against the simulated upstream (a real HTTP server)."""

from __future__ import annotations

import re

import orjson
import pytest

from tests.conftest import GATEWAY_KEY, MODEL, UPSTREAM_KEY, message_body

RICH = {
    "model": MODEL, "max_tokens": 300, "temperature": 0.2, "top_k": 5, "stop_sequences": ["\n\nHuman:"],
    "metadata": {"user_id": "u-123"},
    "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    "thinking": {"type": "adaptive"},
    "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
    "tool_choice": {"type": "auto"},
    "messages": [
        {"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"}},
            {"type": "text", "text": "Wétter? \U0001F600"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather",
                                            "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]},
    ],
}


async def test_request_reaches_upstream_byte_for_byte(make_client, sim):
    client = make_client(guards={"policy": {"set_user_id": False}})  # nothing may change the body
    raw = b'{ "model" : "' + MODEL.encode() + b'",\n  "max_tokens": 300,' + orjson.dumps(RICH)[1:]
    raw = raw.replace(b',"model":"' + MODEL.encode() + b'","max_tokens":300', b"")
    assert orjson.loads(raw)["messages"] == RICH["messages"]
    r = await client.post("/v1/messages?beta=true", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    seen = sim.state.requests[-1]
    assert seen["body"].encode() == raw and seen["query"] == "beta=true"


async def test_header_hygiene_as_seen_by_the_upstream(client, sim):
    await client.post("/v1/messages", json=message_body(), headers={
        "authorization": f"Bearer {GATEWAY_KEY}", "cookie": "session=1", "x-forwarded-for": "6.6.6.6",
        "x-forwarded-proto": "http", "connection": "x-secret-hop", "x-secret-hop": "1",
        "anthropic-beta": "interleaved-thinking-2025-05-14", "x-stainless-retry-count": "0"})
    h = sim.state.requests[-1]["headers"]
    assert h["x-api-key"] == UPSTREAM_KEY  # injected from configuration, never the client's
    for gone in ("authorization", "cookie", "x-forwarded-for", "x-forwarded-proto", "x-secret-hop"):
        assert gone not in h
    assert h["anthropic-version"] == "2023-06-01" and h["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert h["x-stainless-retry-count"] == "0" and h["host"].startswith("127.0.0.1")


async def test_json_response_and_headers(client, sim):
    r = await client.post("/v1/messages", json=message_body())
    doc = r.json()
    assert doc["type"] == "message" and doc["content"][0]["text"].endswith("You said: Hello there")
    assert r.headers["request-id"].startswith("req_sim_")
    assert r.headers["anthropic-ratelimit-requests-remaining"] == "999"
    assert "set-cookie" not in r.headers and "x-wardgate-simulated" not in r.headers
    assert float(r.headers["wardgate-overhead-ms"]) >= 0
    assert r.headers["wardgate-request-id"].startswith("wgreq_")


def _norm(raw: bytes) -> bytes:
    return re.sub(rb"(msg_sim_|toolu_sim_|sim-signature-)[0-9a-f]+", rb"\1X", raw)


@pytest.mark.parametrize("extra", [{}, {"thinking": {"type": "adaptive"}}, {"tools": RICH["tools"]}])
async def test_stream_is_relayed_byte_for_byte(client, sim, extra):
    import httpx
    body = message_body(stream=True, **extra)
    r = await client.post("/v1/messages", json=body)
    async with httpx.AsyncClient() as direct:
        d = await direct.post(sim.url + "/v1/messages", json=body, headers={"x-api-key": UPSTREAM_KEY})
    assert r.headers["content-type"] == "text/event-stream" and r.headers["cache-control"] == "no-cache"
    assert _norm(r.content) == _norm(d.content)
    kinds = {e["delta"]["type"] for e in _events(r.content) if e["type"] == "content_block_delta"}
    if "thinking" in extra:
        assert {"thinking_delta", "signature_delta", "text_delta"} <= kinds
    if "tools" in extra:
        assert "input_json_delta" in kinds


async def test_unknown_event_types_and_in_band_errors_pass_unchanged(client, sim):
    sim.state.faults.extend(["unknown_event", "error_event"])
    r = await client.post("/v1/messages", json=message_body(stream=True))
    assert b'event: wardgate_future_event\ndata: {"type":"wardgate_future_event","detail":{"x":1}}\n\n' in r.content
    r = await client.post("/v1/messages", json=message_body(stream=True))
    assert b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error"' in r.content


async def test_mid_stream_drop_becomes_an_error_event_not_a_fake_stop(client, sim):
    sim.state.faults.append("drop")
    r = await client.post("/v1/messages", json=message_body(stream=True))
    events = _events(r.content)
    assert events[-1]["type"] == "error" and events[-1]["error"]["type"] == "api_error"
    assert "message_stop" not in [e["type"] for e in events]
    assert not re.search(rb'\{"ty(?!pe)', r.content)  # the half event was held back, not relayed
    assert sim.state.stats["requests"] == 1  # never retried once bytes reached the client


async def test_non_stream_drop_is_a_502_and_not_retried(client, sim):
    sim.state.faults.append("drop")
    r = await client.post("/v1/messages", json=message_body())
    assert r.status_code == 502 and r.json()["error"]["type"] == "api_error"
    assert sim.state.stats["requests"] == 1


async def test_upstream_errors_pass_through_unchanged(client, sim):
    r = await client.get("/v1/models/claude-nonexistent")
    assert r.status_code == 404 and r.json()["error"] == {"type": "not_found_error", "message": "model: claude-nonexistent"}


async def test_count_tokens_and_models(client, sim):
    r = await client.post("/v1/messages/count_tokens", json={"model": MODEL, "messages": [{"role": "user", "content": "x" * 40}]})
    assert r.status_code == 200 and r.json()["input_tokens"] > 0
    r = await client.get("/v1/models?limit=2")
    assert r.status_code == 200 and MODEL in [m["id"] for m in r.json()["data"]]
    assert sim.state.requests[-1]["query"] == "limit=2"
    r = await client.get(f"/v1/models/{MODEL}")
    assert r.json()["id"] == MODEL


@pytest.mark.parametrize("method, path, status, etype", [
    ("GET", "/v1/nothing", 404, "not_found_error"),
    ("POST", "/v1/complete", 404, "not_found_error"),
    ("GET", "/v1/messages", 405, "invalid_request_error"),
    ("DELETE", "/v1/models", 405, "invalid_request_error"),
    ("POST", "/v1/models/x", 405, "invalid_request_error"),
])
async def test_routing_errors(client, sim, method, path, status, etype):
    r = await client.request(method, path)
    assert r.status_code == status and r.json()["error"]["type"] == etype and r.json()["type"] == "error"


@pytest.mark.parametrize("content, headers, status, code", [
    (b"{bad", {"content-type": "application/json"}, 400, "request.invalid_json"),
    (b'{"model":"m","max_tokens":5,"messages":[],"model":"n"}', {"content-type": "application/json"}, 400, "request.invalid_json"),
    (b'{"model":"m","max_tokens":"5","messages":[]}', {"content-type": "application/json"}, 400, "request.invalid_field"),
    (b'{"model":"m","max_tokens":5,"messages":[]}', {"content-type": "text/plain"}, 415, "request.unsupported_media_type"),
    (b"x" * 2048, {"content-type": "application/json"}, 413, "request.too_large"),
])
async def test_intake_errors_are_anthropic_shaped_and_nothing_is_forwarded(make_client, sim, content, headers, status, code):
    client = make_client(server__max_body_bytes=1024)
    r = await client.post("/v1/messages", content=content, headers=headers)
    assert r.status_code == status and r.headers["wardgate-error-code"] == code
    assert r.json()["type"] == "error"
    assert sim.state.stats["requests"] == 0


async def test_body_cap_without_content_length(make_client, sim):
    client = make_client(server__max_body_bytes=1024)

    async def chunks():
        for _ in range(4):
            yield b"x" * 512

    r = await client.post("/v1/messages", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and sim.state.stats["requests"] == 0


async def test_unauthenticated_requests_are_refused_before_the_upstream(client, sim):
    r = await client.post("/v1/messages", json=message_body(), headers={"x-api-key": "wrong"})
    assert r.status_code == 401 and r.json()["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}
    r = await client.get("/v1/models", headers={"x-api-key": ""})
    assert r.status_code == 401
    assert sim.state.stats["requests"] == 0 and len(sim.state.requests) == 0


# ---- retries and the breaker through the app

async def test_retries_on_overload_and_5xx_then_succeeds(make_client, sim):
    client = make_client()
    sim.state.faults.extend(["529", "503"])
    r = await client.post("/v1/messages", json=message_body())
    assert r.status_code == 200 and sim.state.stats["requests"] == 3
    metrics = client.app.metrics.render()
    assert b'wardgate_upstream_retries_total{reason="529"} 1.0' in metrics
    assert b'wardgate_upstream_retries_total{reason="503"} 1.0' in metrics


async def test_at_most_two_retries_then_the_upstream_answer_is_relayed(client, sim):
    sim.state.faults.extend(["429", "429", "429", "429"])
    r = await client.post("/v1/messages", json=message_body())
    assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error"
    assert r.headers["retry-after"] == "0" and sim.state.stats["requests"] == 3


async def test_retry_after_above_the_cap_is_not_waited_for(client, sim):
    sim.state.faults.append("429:60")
    r = await client.post("/v1/messages", json=message_body())
    assert r.status_code == 429 and r.headers["retry-after"] == "60" and sim.state.stats["requests"] == 1


async def test_streams_are_retried_before_the_first_byte(client, sim):
    sim.state.faults.extend(["500", "529"])
    r = await client.post("/v1/messages", json=message_body(stream=True))
    assert _events(r.content)[-1]["type"] == "message_stop" and sim.state.stats["requests"] == 3


async def test_4xx_is_not_retried(client, sim):
    r = await client.get("/v1/models/unknown-model")
    assert r.status_code == 404 and len(sim.state.requests) == 1


async def test_connect_errors_are_retried_then_502(make_client, tmp_path):
    from wardgate.server import free_port
    client = make_client(upstream__base_url=f"http://127.0.0.1:{free_port()}")
    r = await client.post("/v1/messages", json=message_body())
    assert r.status_code == 502 and r.json()["error"]["type"] == "api_error"
    assert b'wardgate_upstream_retries_total{reason="connect"} 2.0' in client.app.metrics.render()


async def test_read_timeout_is_504_and_not_retried(make_client, sim):
    client = make_client(upstream__timeouts={"read": 0.3})
    sim.state.faults.append("hang")
    r = await client.post("/v1/messages", json=message_body())
    assert r.status_code == 504 and r.headers["wardgate-error-code"] == "upstream.timeout"
    assert sim.state.stats["requests"] == 1


async def test_stream_idle_timeout_ends_with_an_error_event(make_client, sim):
    client = make_client(upstream__timeouts={"read": 0.3})
    sim.state.faults.append("idle")
    r = await client.post("/v1/messages", json=message_body(stream=True))
    events = _events(r.content)
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "error"


async def test_breaker_opens_and_fails_fast(make_client, sim):
    client = make_client(upstream__breaker={"failures": 2, "open_seconds": 30}, upstream__retries={"max": 0})
    sim.state.faults.extend(["500", "500"])
    assert (await client.post("/v1/messages", json=message_body())).status_code == 500
    assert (await client.post("/v1/messages", json=message_body())).status_code == 500
    r = await client.post("/v1/messages", json=message_body())
    assert r.status_code == 503 and r.json()["error"]["type"] == "overloaded_error"
    assert r.headers["wardgate-error-code"] == "upstream.circuit_open" and int(r.headers["retry-after"]) >= 29
    assert sim.state.stats["requests"] == 2
    assert b"wardgate_upstream_breaker_open 1.0" in (await client.get("/metrics")).content


def _events(raw: bytes) -> list[dict]:
    return [orjson.loads(line[6:]) for line in raw.split(b"\n") if line.startswith(b"data: ")]


async def test_a_bug_mid_stream_ends_the_stream_with_an_in_band_error(make_client, settings, sim, monkeypatch):
    from tests.test_chain import Shout, with_guards
    from wardgate.app import build_app
    from wardgate.upstream.sse import SSEParser

    def broken(self, chunk):
        raise KeyError("parser bug")

    monkeypatch.setattr(SSEParser, "feed", broken)
    app = build_app(settings, api_key=UPSTREAM_KEY, guards=with_guards(settings, Shout()))
    r = await make_client(app).post("/v1/messages", json=message_body(stream=True))
    assert r.status_code == 200
    assert _events(r.content) == [{"type": "error", "error": {"type": "api_error", "message": "Internal gateway error."},
                                   "request_id": r.headers["wardgate-request-id"]}]


async def test_a_bug_before_the_response_is_an_anthropic_shaped_500(client, sim, monkeypatch):
    from wardgate.proxy import relay

    def broken(*a, **k):
        raise KeyError("bug")

    monkeypatch.setattr(relay, "upstream_headers", broken)
    r = await client.post("/v1/messages", json=message_body())
    assert r.status_code == 500 and r.json()["error"]["type"] == "api_error"
