"""The chain's contract, driven through the real app and a real (simulated) upstream."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import message_body
from wardgate.app import build_app
from wardgate.chain import GuardChain
from wardgate.errors import PermissionDenied
from wardgate.guards import build_guards
from wardgate.guards.base import Deny, Guard
from wardgate.testing import make_flow
from wardgate.upstream.sse import SSEEvent


class DenyAll(Guard):
    name = "deny_all"

    async def on_request(self, flow):
        return Deny(PermissionDenied("Not today.", code="test.denied"), "test reason")


class Boom(Guard):
    name = "boom"

    async def on_request(self, flow):
        raise RuntimeError("guard bug with sk-ant-secret in message")


class Recorder(Guard):
    name = "recorder"

    def __init__(self, log: list, tag: str = "recorder") -> None:
        super().__init__()
        self.log = log
        self.name = tag  # type: ignore[misc]

    async def on_request(self, flow):
        self.log.append(("request", self.name))

    async def on_response_event(self, flow, event):
        self.log.append(("event", self.name))
        return event

    async def on_response(self, flow):
        self.log.append(("response", self.name))


class Shout(Guard):
    """Rewrites text deltas in streams and text blocks in JSON responses."""
    name = "shout"

    async def on_response_event(self, flow, event):
        doc = event.json
        if event.event == "content_block_delta" and doc["delta"]["type"] == "text_delta":
            doc = {**doc, "delta": {**doc["delta"], "text": doc["delta"]["text"].upper()}}
            return event.with_json(doc)
        return event

    async def on_response(self, flow):
        if flow.stream:  # streams were rewritten event by event
            return None
        doc = flow.response
        for block in doc["content"]:
            if block["type"] == "text":
                block["text"] = block["text"].upper()
        flow.replace_response(doc)


class DropPings(Guard):
    name = "drop_pings"

    async def on_response_event(self, flow, event):
        return None if event.event == "ping" else event


def with_guards(settings, *extra: Guard) -> list[Guard]:
    return [*build_guards(settings), *extra]


async def test_deny_short_circuits_and_upstream_is_never_called(make_client, settings, sim):
    client = make_client(build_app(settings, api_key="k", guards=with_guards(settings, DenyAll())))
    r = await client.post("/v1/messages", json=message_body())
    assert r.status_code == 403
    assert r.json() == {"type": "error", "error": {"type": "permission_error", "message": "Not today."},
                        "request_id": r.headers["wardgate-request-id"]}
    assert r.headers["wardgate-error-code"] == "test.denied"
    assert sim.state.stats["requests"] == 0 and len(sim.state.requests) == 0


async def test_raising_guard_fails_closed_with_503(make_client, settings, sim):
    client = make_client(build_app(settings, api_key="k", guards=with_guards(settings, Boom())))
    r = await client.post("/v1/messages", json=message_body())
    assert r.status_code == 503
    assert r.json()["error"]["type"] == "api_error"
    assert r.headers["wardgate-error-code"] == "guard.error"
    assert "sk-ant-secret" not in r.text
    assert sim.state.stats["requests"] == 0


async def test_fail_open_is_explicit_recorded_and_counted(make_client, settings, sim):
    boom = Boom()
    boom.configure({"fail_open": True})
    app = build_app(settings, api_key="sk-ant-sim-upstream-key", guards=with_guards(settings, boom))
    r = await make_client(app).post("/v1/messages", json=message_body())
    assert r.status_code == 200
    assert b'wardgate_guard_fail_open_total{guard="boom"} 1.0' in app.metrics.render()


async def test_shadow_records_without_blocking(make_client, settings, sim):
    shadow = DenyAll()
    shadow.configure({"mode": "shadow"})
    seen = []

    class Capture(Guard):
        name = "capture"

        async def on_request(self, flow):
            seen.append(flow)

    app = build_app(settings, api_key="sk-ant-sim-upstream-key", guards=with_guards(settings, shadow, Capture()))
    r = await make_client(app).post("/v1/messages", json=message_body())
    assert r.status_code == 200
    decisions = [(d.guard, d.code, d.action) for d in seen[0].decisions]
    assert ("deny_all", "test.denied", "shadow") in decisions
    assert seen[0].outcome == "allow"


async def test_off_guard_is_not_in_the_chain(settings):
    off = DenyAll()
    off.configure({"mode": "off"})
    assert "deny_all" not in GuardChain([off]).names


async def test_request_hooks_in_order_response_hooks_in_reverse(make_client, settings, sim):
    log: list = []
    app = build_app(settings, api_key="sk-ant-sim-upstream-key",
                    guards=with_guards(settings, Recorder(log, "first"), Recorder(log, "second")))
    client = make_client(app)
    await client.post("/v1/messages", json=message_body())
    assert log == [("request", "first"), ("request", "second"), ("response", "second"), ("response", "first")]
    log.clear()
    await client.post("/v1/messages", json=message_body(stream=True))
    events = [entry for entry in log if entry[0] == "event"]
    assert events[:2] == [("event", "second"), ("event", "first")]
    assert log[-2:] == [("response", "second"), ("response", "first")]


async def test_event_hooks_see_every_event_and_may_rewrite_text(make_client, settings, sim):
    app = build_app(settings, api_key="sk-ant-sim-upstream-key", guards=with_guards(settings, Shout()))
    client = make_client(app)
    r = await client.post("/v1/messages", json=message_body(stream=True))
    text = "".join(e["delta"]["text"] for e in _events(r.content) if e["type"] == "content_block_delta")
    assert text == "[SIMULATED BY WARDGATE: NO MODEL WAS CALLED] YOU SAID: HELLO THERE"
    assert [e["type"] for e in _events(r.content)][-1] == "message_stop"
    r = await client.post("/v1/messages", json=message_body())
    assert r.json()["content"][0]["text"].startswith("[SIMULATED BY WARDGATE")
    assert int(r.headers["content-length"]) == len(r.content)


async def test_event_hook_may_drop_events(make_client, settings, sim):
    app = build_app(settings, api_key="sk-ant-sim-upstream-key", guards=with_guards(settings, DropPings()))
    r = await make_client(app).post("/v1/messages", json=message_body(stream=True))
    assert "ping" not in [e["type"] for e in _events(r.content)]


async def test_event_hook_deny_ends_the_stream_with_an_error_event(make_client, settings, sim):
    class StopAtDelta(Guard):
        name = "stop_at_delta"

        async def on_response_event(self, flow, event):
            if event.event == "content_block_delta":
                return Deny(PermissionDenied("Output blocked.", code="test.output_blocked"))
            return event

    app = build_app(settings, api_key="sk-ant-sim-upstream-key", guards=with_guards(settings, StopAtDelta()))
    r = await make_client(app).post("/v1/messages", json=message_body(stream=True))
    events = _events(r.content)
    assert events[-1] == {"type": "error", "error": {"type": "permission_error", "message": "Output blocked."},
                          "request_id": r.headers["wardgate-request-id"]}
    assert "message_stop" not in [e["type"] for e in events]


async def test_event_hook_exception_fails_closed_mid_stream(make_client, settings, sim):
    class Broken(Guard):
        name = "broken"

        async def on_response_event(self, flow, event):
            raise ValueError("bug")

    app = build_app(settings, api_key="sk-ant-sim-upstream-key", guards=with_guards(settings, Broken()))
    r = await make_client(app).post("/v1/messages", json=message_body(stream=True))
    events = _events(r.content)
    assert len(events) == 1 and events[0]["error"]["type"] == "api_error"


async def test_decisions_record_allow_too():
    chain = GuardChain([Recorder([])])
    flow = make_flow()
    assert await chain.run_request(flow) is None
    assert [(d.guard, d.code, d.action) for d in flow.decisions] == [("recorder", "recorder.allowed", "allow")]


async def test_rewrite_decision_is_recorded_once_per_guard():
    chain = GuardChain([Shout()])
    flow = make_flow()
    ev = SSEEvent.build("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                 "delta": {"type": "text_delta", "text": "a"}})
    for _ in range(3):
        out = await chain.run_response_event(flow, ev)
    assert out.json["delta"]["text"] == "A"
    assert [d.action for d in flow.decisions] == ["rewrite"]


def test_duplicate_guard_names_are_refused():
    with pytest.raises(ValueError):
        GuardChain([DenyAll(), DenyAll()])


def _events(raw: bytes) -> list[dict]:
    return [orjson.loads(line[6:]) for line in raw.split(b"\n") if line.startswith(b"data: ")]


async def test_unauthenticated_callers_get_401_before_any_body_parsing(client, sim):
    r = await client.post("/v1/messages", content=b"{not json", headers={"x-api-key": "wrong",
                                                                           "content-type": "text/plain"})
    assert r.status_code == 401 and r.headers["wardgate-error-code"] == "authn.failed"


def test_before_body_guards_must_lead_the_order():
    from wardgate.guards.authn import AuthnGuard

    with pytest.raises(ValueError, match="first"):
        GuardChain([DenyAll(), AuthnGuard()])
