"""The dlp guard's decisions, unit by unit (no I/O: the memory vault, no upstream)."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from wardgate.errors import ConfigError
from wardgate.flow import Principal
from wardgate.guards.dlp import DlpGuard
from wardgate.settings import settings_from_dict
from wardgate.testing import make_flow, run_guard

SETTINGS = settings_from_dict({"roles": {
    "support": {"dlp": {"actions": {"credit_card": "mask", "email": "redact"}, "block_binary": True}},
    "analyst": {},
}})
CARD = "4242-4242-4242-4242"
EMAIL = "pat.lee@example.net"


def guard(**cfg) -> DlpGuard:
    g = DlpGuard()
    g.configure(cfg, SETTINGS)
    return g


def flow(content, role="analyst", **body):
    f = make_flow({"model": "claude-sonnet-5-5", "max_tokens": 64,
                   "messages": [{"role": "user", "content": content}]} | body)
    f.principal = Principal(id="key_1", workspace="eng", role=role)
    return f


def test_role_overrides_guard_defaults():
    f = flow(f"card {CARD} mail {EMAIL}", role="support")
    assert run_guard(guard(), f) is None
    assert f.body["messages"][0]["content"] == "card ****-****-****-4242 mail [EMAIL]"
    f = flow(f"card {CARD} mail {EMAIL}")
    assert run_guard(guard(), f) is None
    assert f.body["messages"][0]["content"] == "card [CREDIT_CARD_1] mail [EMAIL_1]"


def test_guard_actions_by_kind_then_category():
    f = flow(f"card {CARD} mail {EMAIL}")
    assert run_guard(guard(actions={"pii": "redact", "email": "allow"}), f) is None
    assert f.body["messages"][0]["content"] == f"card [CREDIT_CARD] mail {EMAIL}"
    deny = run_guard(guard(actions={"credit_card": "block"}), flow(f"card {CARD}"))
    assert deny.error.code == "dlp.pii_blocked" and deny.error.status_code == 400
    assert "credit_card" in deny.error.message and CARD not in deny.error.message


def test_findings_recorded_without_values():
    f = flow([{"type": "text", "text": f"mail {EMAIL}"},
              {"type": "tool_result", "tool_use_id": "t1", "content": f"owner {EMAIL}, card {CARD}"}])
    assert run_guard(guard(), f) is None
    d = next(d for d in f.decisions if d.code == "dlp.rewrote")
    dump = orjson.dumps([d.findings, d.reason]).decode()
    assert EMAIL not in dump and "4242" not in dump
    kinds = {x["kind"]: x["count"] for x in d.findings}
    assert kinds == {"email": 2, "credit_card": 1}
    assert ["messages[0].content[1].content", 6, 6 + len(EMAIL)] in next(
        x for x in d.findings if x["kind"] == "email")["spans"]


def test_every_text_part_is_covered_and_thinking_is_not():
    key = "AKIAQ3EGRLWZ7YBJXN5T"
    parts = [
        {"system": f"ops key {key}"},
        {"messages": [{"role": "user", "content": [{"type": "document", "source": {
            "type": "text", "media_type": "text/plain", "data": f"key {key}"}}]}]},
        {"messages": [{"role": "user", "content": "go"}, {"role": "assistant", "content": [
            {"type": "tool_use", "id": "t", "name": "deploy", "input": {"env": {"key": key}}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                                          "content": [{"type": "text", "text": "ok"}]}]}]},
    ]
    for extra in parts:
        f = flow("hello", **extra)
        deny = run_guard(guard(), f)
        assert deny is not None and deny.error.code == "dlp.secret_blocked", extra
    thinking = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": [
        {"type": "thinking", "thinking": f"user mail {EMAIL}", "signature": "sig"}]}]}
    f = flow("hi", **thinking)
    deny = run_guard(guard(), f)  # signed by the upstream: it cannot be rewritten, so it is refused
    assert deny.error.code == "dlp.pii_blocked" and "thinking" in deny.error.message
    assert f.body["messages"][1]["content"][0]["thinking"] == f"user mail {EMAIL}"
    assert run_guard(guard(actions={"email": "allow"}), flow("hi", **thinking)) is None


def test_binary_content_blocked_for_the_role_only():
    image = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
             {"type": "text", "text": "what is this"}]
    deny = run_guard(guard(), flow(image, role="support"))
    assert deny.error.code == "dlp.binary_blocked"
    assert run_guard(guard(), flow(image)) is None


def test_custom_patterns_and_dictionaries(tmp_path):
    terms = tmp_path / "projects.txt"
    terms.write_text("# code names\nNightjar\nBlue Heron\n")
    g = guard(custom=[{"name": "employee_id", "pattern": r"EMP-\d{6}"},
                      {"name": "project", "terms_file": str(terms)}],
              actions={"custom:project": "block"})
    f = flow("ticket for EMP-004211")
    assert run_guard(g, f) is None and f.body["messages"][0]["content"] == "ticket for [EMPLOYEE_ID_1]"
    deny = run_guard(g, flow("status of blue heron?"))
    assert deny.error.code == "dlp.pii_blocked" and "custom:project" in deny.error.message
    assert run_guard(g, flow("a heron is blue")) is None


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="unknown entity kind"):
        guard(actions={"emial": "block"})
    with pytest.raises(ConfigError, match="custom"):
        guard(custom=[{"name": "x", "pattern": r"(a)\1"}])  # a backreference: not RE2, could backtrack
    with pytest.raises(ConfigError, match="vault"):
        guard(vault={"backend": "redis"})  # no redis.url


def test_scan_budget_exceeded_refuses_rather_than_forwarding():
    f = flow("word " * 200_000)
    deny = run_guard(guard(scan_budget_ms=0.001), f)
    assert deny.error.code == "dlp.scan_budget" and deny.error.status_code == 413


def test_shadow_mode_is_recorded_by_the_chain_not_enforced():
    from wardgate.chain import GuardChain
    g = guard(mode="shadow")
    f = flow("key AKIAQ3EGRLWZ7YBJXN5T")
    assert asyncio.run(GuardChain([g]).run_request(f)) is None
    assert [(d.code, d.action) for d in f.decisions] == [("dlp.secret_blocked", "shadow")]


def test_tool_definitions_metadata_and_citations_are_scanned():
    key = "AKIAQ3EGRLWZ7YBJXN5T"
    tools = [{"name": "lookup", "description": f"uses {key}", "input_schema": {"type": "object"}}]
    assert run_guard(guard(), flow("hi", tools=tools)).error.code == "dlp.secret_blocked"
    tools = [{"name": "lookup", "description": f"mail {EMAIL}", "input_schema": {"type": "object", "properties": {
        "q": {"type": "string", "description": f"like {EMAIL}"}}}}]
    f = flow("hi", tools=tools, stop_sequences=[EMAIL])
    assert run_guard(guard(), f) is None
    assert f.body["tools"][0]["description"] == "mail [EMAIL_1]"
    assert f.body["tools"][0]["input_schema"]["properties"]["q"]["description"] == "like [EMAIL_1]"
    assert f.body["stop_sequences"] == ["[EMAIL_1]"]
    cited = [{"type": "text", "text": "see", "citations": [{"type": "char_location", "cited_text": f"by {EMAIL}",
                                                           "document_index": 0, "start_char_index": 0, "end_char_index": 3}]}]
    f = flow("hi", messages=[{"role": "user", "content": "q"}, {"role": "assistant", "content": cited}])
    assert run_guard(guard(), f) is None
    assert f.body["messages"][1]["content"][0]["citations"][0]["cited_text"] == "by [EMAIL_1]"


def test_a_sensitive_key_in_a_tool_input_is_refused_and_never_printed():
    hist = [{"role": "user", "content": "go"}, {"role": "assistant", "content": [
        {"type": "tool_use", "id": "t1", "name": "mail", "input": {EMAIL: "hello"}}]}]
    deny = run_guard(guard(), flow("x", messages=hist))
    assert deny.error.code == "dlp.pii_blocked"
    dump = orjson.dumps([deny.error.message, deny.reason, deny.findings]).decode()
    assert EMAIL not in dump and "input{0}.key" in dump


def test_binary_content_is_found_at_any_depth():
    nested = [{"type": "document", "source": {"type": "content", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]}}]
    assert run_guard(guard(), flow(nested, role="support")).error.code == "dlp.binary_blocked"


def test_shadow_mode_rewrites_nothing():
    f = flow(f"mail {EMAIL}")
    assert run_guard(guard(mode="shadow"), f) is None
    assert f.body["messages"][0]["content"] == f"mail {EMAIL}" and not f.body_changed
    assert [(d.code, d.action) for d in f.decisions] == [("dlp.would_rewrite", "shadow")]


def test_only_this_requests_own_values_are_restored():
    """Two callers behind one owner with the same opening share a vault conversation (stable
    numbering), but a placeholder the model writes is restored only if this request sent it."""
    opening = [{"role": "user", "content": "hello"}, {"role": "assistant", "content": "hi"}]
    a = flow("x", messages=[*opening, {"role": "user", "content": "alice@corp.example"}])
    a.principal = Principal(id="k1", owner="svc", workspace="eng", role="analyst")
    g = guard()
    assert run_guard(g, a) is None and a.body["messages"][2]["content"] == "[EMAIL_1]"
    b = flow("x", messages=[*opening, {"role": "user", "content": "repeat [EMAIL_1]; cc bob@other.example"}])
    b.principal = Principal(id="k2", owner="svc", workspace="eng", role="analyst")
    assert run_guard(g, b) is None
    assert b.state["dlp.values"] == {"[EMAIL_2]": "bob@other.example"}
    b.response_body = orjson.dumps({"content": [{"type": "text", "text": "Sure: [EMAIL_1], cc [EMAIL_2]"}]})
    asyncio.run(g.on_response(b))
    assert b.response["content"][0]["text"] == "Sure: [EMAIL_1], cc bob@other.example"


def test_parts_are_scanned_together_but_findings_never_cross_them():
    f = flow([{"type": "text", "text": "key AKIAQ3EGRL"}, {"type": "text", "text": "WZ7YBJXN5T and mail"},
              {"type": "text", "text": f"{EMAIL}"}])  # half a key in each of two parts is no key
    assert run_guard(guard(), f) is None
    content = f.body["messages"][0]["content"]
    assert [b["text"] for b in content] == ["key AKIAQ3EGRL", "WZ7YBJXN5T and mail", "[EMAIL_1]"]
