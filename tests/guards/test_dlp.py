"""The dlp guard through the in-process app, against the simulated upstream (which echoes the
user's words, so placeholders come back and must be restored)."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import message_body

EMAIL = "jane.roe@example.org"
CARD = "4111 1111 1111 1111"
AWS = "AKIAQ3EGRLWZ7YBJXN5T"


def _upstream_text(sim) -> str:
    return sim.state.requests[-1]["body"]


def _sse_text(raw: str) -> tuple[str, list[dict]]:
    text, events = [], []
    for block in raw.split("\n\n"):
        data = [line[6:] for line in block.split("\n") if line.startswith("data: ")]
        if not data:
            continue
        ev = orjson.loads(data[0])
        events.append(ev)
        if ev.get("type") == "content_block_delta" and ev["delta"].get("type") == "text_delta":
            text.append(ev["delta"]["text"])
    return "".join(text), events


async def test_secret_blocks_and_names_the_kind_never_the_value(client, sim):
    before = len(sim.state.requests)
    r = await client.post("/v1/messages", json=message_body(
        messages=[{"role": "user", "content": f"deploy with key {AWS} please"}]))
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert "aws_access_key_id" in err["message"] and AWS not in r.text
    assert len(sim.state.requests) == before  # the upstream never saw it


async def test_pii_pseudonymized_upstream_and_restored_in_json(client, sim):
    r = await client.post("/v1/messages", json=message_body(
        messages=[{"role": "user", "content": f"Email {EMAIL} about card {CARD}, and {EMAIL} again"}]))
    assert r.status_code == 200, r.text
    sent = _upstream_text(sim)
    assert EMAIL not in sent and CARD not in sent
    assert "[EMAIL_1]" in sent and "[CREDIT_CARD_1]" in sent and sent.count("[EMAIL_1]") == 2
    text = r.json()["content"][0]["text"]
    assert f"Email {EMAIL} about card {CARD}, and {EMAIL} again" in text


async def test_streamed_placeholders_split_across_deltas_are_restored(client, sim):
    sim.state.piece_chars = 3  # "[EMAIL_1]" arrives as "[EM", "AIL", "_1]"
    try:
        r = await client.post("/v1/messages", json=message_body(
            stream=True, messages=[{"role": "user", "content": f"write to {EMAIL} now"}]))
    finally:
        sim.state.piece_chars = 0
    assert r.status_code == 200
    text, events = _sse_text(r.text)
    assert f"write to {EMAIL} now" in text
    assert "[EMAIL" not in text and EMAIL not in _upstream_text(sim)
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "message_stop" and kinds.count("content_block_stop") == 1


async def test_same_value_same_placeholder_across_turns(client, sim):
    first = {"role": "user", "content": f"my email is {EMAIL}"}
    await client.post("/v1/messages", json=message_body(messages=[first]))
    r = await client.post("/v1/messages", json=message_body(messages=[
        first, {"role": "assistant", "content": f"Noted: {EMAIL}"},
        {"role": "user", "content": "and a.n.other@example.com too"}]))
    assert r.status_code == 200
    sent = orjson.loads(_upstream_text(sim))
    assert sent["messages"][1]["content"] == "Noted: [EMAIL_1]"
    assert sent["messages"][2]["content"] == "and [EMAIL_2] too"


async def test_tool_input_deltas_restored_json_escaped(client, sim):
    sim.state.piece_chars = 4
    name = 'O"Brien <ob@example.com>'
    tools = [{"name": "send", "description": "send a message",
              "input_schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}]
    try:
        r = await client.post("/v1/messages", json=message_body(
            stream=True, tools=tools, messages=[{"role": "user", "content": f"mail {name}"}]))
    finally:
        sim.state.piece_chars = 0
    _, events = _sse_text(r.text)
    partial = "".join(e["delta"]["partial_json"] for e in events
                      if e.get("type") == "content_block_delta" and e["delta"]["type"] == "input_json_delta")
    assert orjson.loads(partial) == {"text": f"mail {name}"}
    assert "ob@example.com" not in _upstream_text(sim)


async def test_output_secret_redacted_in_stream_even_when_split(make_client, sim):
    client = make_client(guards__dlp={"actions": {"secret": "allow"}})
    key = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    sim.state.piece_chars = 5
    try:
        r = await client.post("/v1/messages", json=message_body(
            stream=True, messages=[{"role": "user", "content": f"token {key} ok"}]))
    finally:
        sim.state.piece_chars = 0
    text, _ = _sse_text(r.text)
    assert key in _upstream_text(sim)  # allowed in: the policy said so
    assert key not in text and "[GITHUB_TOKEN]" in text


async def test_redis_vault_down_fails_closed(make_client, sim):
    client = make_client(redis__url="redis://127.0.0.1:1", limits__backend="memory")
    before = len(sim.state.requests)
    r = await client.post("/v1/messages", json=message_body(
        messages=[{"role": "user", "content": f"mail {EMAIL}"}]))
    assert r.status_code == 503 and r.json()["error"]["message"].startswith("The data-protection vault")
    assert len(sim.state.requests) == before
    r = await client.post("/v1/messages", json=message_body())  # nothing to pseudonymize: no vault needed
    assert r.status_code == 200


async def test_redis_vault_shared_by_two_apps(make_client, sim, redis_url):
    import uuid
    prefix = f"wgtest:{uuid.uuid4().hex[:8]}:"
    a = make_client(redis__url=redis_url, limits__redis_prefix=prefix)
    b = make_client(redis__url=redis_url, limits__redis_prefix=prefix)
    first = {"role": "user", "content": f"first {EMAIL}"}
    await a.post("/v1/messages", json=message_body(messages=[{"role": "user", "content": "x y"}, first]))
    r = await b.post("/v1/messages", json=message_body(messages=[
        {"role": "user", "content": "x y"}, first, {"role": "assistant", "content": "ok"},
        {"role": "user", "content": f"again other@example.com and {EMAIL}"}]))
    assert r.status_code == 200
    sent = orjson.loads(_upstream_text(sim))
    assert sent["messages"][3]["content"] == "again [EMAIL_2] and [EMAIL_1]"
    assert f"again other@example.com and {EMAIL}" in r.json()["content"][0]["text"]


async def test_count_tokens_is_scanned_too(client, sim):
    r = await client.post("/v1/messages/count_tokens", json={"model": "claude-sonnet-5-5", "messages": [
        {"role": "user", "content": f"key {AWS}"}]})
    assert r.status_code == 400 and r.json()["error"]["message"].count("aws_access_key_id") == 1


async def test_session_header_from_limits_names_the_conversation(make_client, sim):
    client = make_client(roles__service={"session": {"max_turns": 100}})
    r = await client.post("/v1/messages", json=message_body(messages=[{"role": "user", "content": f"hi {EMAIL}"}]))
    sid = r.headers["wardgate-session-id"]
    r = await client.post("/v1/messages", headers={"wardgate-session-id": sid}, json=message_body(
        messages=[{"role": "user", "content": f"new opening: zed@example.com then {EMAIL}"}]))
    assert r.status_code == 200
    sent = orjson.loads(_upstream_text(sim))["messages"][0]["content"]
    assert sent == "new opening: [EMAIL_2] then [EMAIL_1]"
