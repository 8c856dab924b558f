"""The limits guard through the whole app, against the simulated upstream (in process)."""

import orjson
import pytest

from tests.conftest import MODEL, PEPPER, UPSTREAM_KEY, make_settings, message_body
from wardgate.app import build_app
from wardgate.limits.store import MemoryLimitStore
from wardgate.limits.estimate import estimate_input
from wardgate.limits.price import PriceTable
from wardgate.limits.usage import Usage
from wardgate.store.usage import UsageRepo

SERVICE = "roles__service"


async def ledger(client, group=("key",)):
    await client.app.limits.flush()
    return await UsageRepo(client.app.identity.db).report(list(group))


def worst(body) -> int:
    price = PriceTable().lookup(body["model"])
    return price.worst_case(estimate_input(body).bound, body["max_tokens"], None)


async def test_requests_per_minute_refusal_in_anthropic_shape(make_client):
    c = make_client(**{SERVICE: {"limits": {"rpm": 3}}})
    seen = []
    for _ in range(3):
        r = await c.post("/v1/messages", json=message_body())
        assert r.status_code == 200
        seen.append(int(r.headers["anthropic-ratelimit-requests-remaining"]))
    assert seen == [2, 1, 0]
    r = await c.post("/v1/messages", json=message_body())
    assert r.status_code == 429
    assert r.json()["type"] == "error" and r.json()["error"]["type"] == "rate_limit_error"
    assert "3 requests per minute" in r.json()["error"]["message"]
    assert r.headers["wardgate-error-code"] == "rate.rpm" and 1 <= int(r.headers["retry-after"]) <= 20
    assert r.headers["anthropic-ratelimit-requests-limit"] == "3"


async def test_token_headers_show_what_is_left_before_this_request(make_client, sim):
    c = make_client(**{SERVICE: {"limits": {"rpm": 100, "tpm": 50_000}}})
    r = await c.post("/v1/messages", json=message_body())
    assert r.headers["anthropic-ratelimit-tokens-limit"] == "50000"
    assert r.headers["anthropic-ratelimit-tokens-remaining"] == "50000"
    r = await c.post("/v1/messages", json=message_body())
    assert 49_900 < int(r.headers["anthropic-ratelimit-tokens-remaining"]) < 50_000  # the first one's use


def test_upstream_ratelimit_headers_are_dropped_when_the_gateway_sends_its_own():
    from wardgate.proxy.headers import downstream_headers
    up = [("anthropic-ratelimit-tokens-limit", "4000000"), ("request-id", "r")]
    assert downstream_headers(up, own_limits=True) == [(b"request-id", b"r")]
    assert len(downstream_headers(up)) == 2


async def actual_cost(make_client, body) -> int:
    u = (await make_client().post("/v1/messages", json=body)).json()["usage"]
    return PriceTable().lookup(body["model"]).cost(Usage(u["input_tokens"], u["output_tokens"]))


async def test_budget_for_exactly_one_request(make_client):
    body = message_body(max_tokens=2000)
    # room for one worst case, and after it is settled at its actual cost, no room for another
    budget = (worst(body) + await actual_cost(make_client, body) // 2) / 1e9
    c = make_client(migrate=True, **{SERVICE: {"limits": {"budget_usd": budget, "budget_period": "day"}}})
    r = await c.post("/v1/messages", json=body)
    assert r.status_code == 200
    assert float(r.headers["wardgate-budget-limit-usd"]) == pytest.approx(budget, abs=1e-6)
    r = await c.post("/v1/messages", json=body)
    assert r.status_code == 429 and r.headers["wardgate-error-code"] == "budget.exceeded"
    msg = r.json()["error"]["message"]
    assert "left this day" in msg and "could cost up to" in msg and "Lower max_tokens" in msg
    assert r.headers["x-should-retry"] == "false" and int(r.headers["retry-after"]) > 0
    # a smaller request still fits the remaining budget
    assert (await c.post("/v1/messages", json=message_body(max_tokens=10))).status_code == 200
    rows = await ledger(c, ())
    assert rows[0]["requests"] == 2 and rows[0]["cost_nano"] <= budget * 1e9


async def test_stream_usage_is_settled_from_message_start_and_the_last_delta(make_client, sim, tmp_path):
    store = MemoryLimitStore(clock=lambda: 1_790_000_000.0)  # frozen: no refill between requests
    c = make_client(build_app(make_settings(sim.url, tmp_path, roles={"service": {"limits": {"tpm": 100_000}}}),
                              api_key=UPSTREAM_KEY, pepper=PEPPER, limit_store=store), migrate=True)
    body = message_body(stream=True, messages=[{"role": "user", "content": "count " * 50}])
    async with c.stream("POST", "/v1/messages", json=body) as r:
        raw = b"".join([chunk async for chunk in r.aiter_bytes()])
    events = [orjson.loads(line[6:]) for line in raw.split(b"\n") if line.startswith(b"data: ")]
    start = next(e for e in events if e["type"] == "message_start")["message"]["usage"]
    final = [e for e in events if e["type"] == "message_delta"][-1]["usage"]
    [row] = await ledger(c)
    assert row["input_tokens"] == start["input_tokens"]
    assert row["output_tokens"] == final["output_tokens"] != start["output_tokens"]  # cumulative, not summed
    price = PriceTable().lookup(MODEL)
    assert row["cost_nano"] == price.cost(Usage(start["input_tokens"], final["output_tokens"]))
    # the token bucket got back everything but what was used
    r = await c.post("/v1/messages", json=message_body(max_tokens=1))
    left = int(r.headers["anthropic-ratelimit-tokens-remaining"])
    assert 100_000 - left == row["input_tokens"] + row["output_tokens"]


async def test_json_usage_and_retries_are_charged_once(make_client, sim):
    c = make_client(migrate=True, **{SERVICE: {"limits": {"budget_usd": 10}}})
    sim.state.faults.extend(["529", "500"])
    r = await c.post("/v1/messages", json=message_body())
    assert r.status_code == 200
    u = r.json()["usage"]
    [row] = await ledger(c, ("key", "day"))
    assert row["requests"] == 1
    assert row["cost_nano"] == PriceTable().lookup(MODEL).cost(Usage(u["input_tokens"], u["output_tokens"]))
    await c.app.limits.flush()
    from sqlalchemy import select
    from wardgate.store.models import UsageRecord
    async with c.app.identity.db.sessions() as s:
        rec = (await s.execute(select(UsageRecord))).scalar_one()
    assert rec.attempts == 3 and not rec.partial


async def test_upstream_error_releases_the_reservation(make_client, sim):
    c = make_client(migrate=True, upstream__retries__max=0,
                    **{SERVICE: {"limits": {"concurrent": 1, "budget_usd": 10}}})
    sim.state.faults.append("529")
    r = await c.post("/v1/messages", json=message_body())
    assert r.status_code == 529
    assert (await c.post("/v1/messages", json=message_body())).status_code == 200  # concurrency slot is back
    rows = await ledger(c, ())
    assert rows[0]["requests"] == 2


async def test_max_tokens_is_injected_when_missing(make_client, sim):
    c = make_client(**{SERVICE: {"default_max_tokens": 321}})
    body = message_body()
    del body["max_tokens"]
    assert (await c.post("/v1/messages", json=body)).status_code == 200
    sent = orjson.loads(sim.state.requests[-1]["body"])
    assert sent["max_tokens"] == 321


async def test_unknown_model_is_refused_unless_allowed(make_client):
    c = make_client(**{SERVICE: {"limits": {"rpm": 10}}})
    r = await c.post("/v1/messages", json=message_body(model="claude-unknown-9"))
    assert r.status_code == 403 and r.headers["wardgate-error-code"] == "limits.unknown_model"
    c2 = make_client(limits__unknown_model="allow", **{SERVICE: {"limits": {"rpm": 10}}})
    assert (await c2.post("/v1/messages", json=message_body(model="claude-unknown-9"))).status_code == 200


async def test_per_model_limits_and_workspace_and_global_scopes(make_client):
    c = make_client(limits__workspaces={"default": {"rpm": 100, "models": {"claude-opus-*": {"rpm": 1}}}},
                    **{"limits__global": {"rpm": 3}})
    assert (await c.post("/v1/messages", json=message_body(model="claude-opus-5-5"))).status_code == 200
    r = await c.post("/v1/messages", json=message_body(model="claude-opus-5-5"))
    assert r.status_code == 429 and "workspace default on models claude-opus-*" in r.json()["error"]["message"]
    for _ in range(2):  # the refused request took nothing: 2 of the global 3 are left
        assert (await c.post("/v1/messages", json=message_body())).status_code == 200
    r = await c.post("/v1/messages", json=message_body())
    assert r.status_code == 429 and "the whole gateway" in r.json()["error"]["message"]


async def test_count_tokens_and_models_are_not_limited(make_client):
    c = make_client(**{SERVICE: {"limits": {"rpm": 1}}})
    for _ in range(3):
        assert (await c.post("/v1/messages/count_tokens", json={"model": MODEL, "messages": [
            {"role": "user", "content": "hi"}]})).status_code == 200


def _turn(history, text):
    return message_body(messages=history + [{"role": "user", "content": text}])


async def test_session_turn_cap_stops_a_loop(make_client):
    c = make_client(**{SERVICE: {"session": {"max_turns": 3}}})
    history = [{"role": "user", "content": "Start the job"}]
    sid = None
    for i in range(3):
        r = await c.post("/v1/messages", json=message_body(messages=history))
        assert r.status_code == 200
        sid = sid or r.headers["wardgate-session-id"]
        assert r.headers["wardgate-session-id"] == sid  # same conversation, same session (derived)
        history = history + [{"role": "assistant", "content": "ok"}, {"role": "user", "content": f"next {i}"}]
    r = await c.post("/v1/messages", json=message_body(messages=history), headers={"wardgate-session-id": sid})
    assert r.status_code == 403 and r.headers["wardgate-error-code"] == "session.turns"
    assert "cap of 3 turns" in r.json()["error"]["message"] and r.json()["error"]["type"] == "permission_error"
    # another conversation is another session
    assert (await c.post("/v1/messages", json=message_body())).status_code == 200


async def test_forged_or_foreign_session_ids_are_refused(make_client):
    c = make_client(**{SERVICE: {"session": {"max_turns": 3}}})
    r = await c.post("/v1/messages", json=message_body(), headers={"wardgate-session-id": "my-own-trace-id"})
    assert r.status_code == 403 and r.headers["wardgate-error-code"] == "session.invalid"
    sid = (await c.post("/v1/messages", json=message_body())).headers["wardgate-session-id"]
    forged = sid[:-1] + ("0" if sid[-1] != "0" else "1")
    r = await c.post("/v1/messages", json=message_body(), headers={"wardgate-session-id": forged})
    assert r.status_code == 403


async def test_consecutive_tool_round_cap(make_client):
    c = make_client(**{SERVICE: {"session": {"max_tool_rounds": 2}}})
    history = [{"role": "user", "content": "Find it"}]
    for n in range(3):
        history = history + [
            {"role": "assistant", "content": [{"type": "tool_use", "id": f"t{n}", "name": "search", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{n}", "content": "nothing"}]}]
        r = await c.post("/v1/messages", json=message_body(messages=history))
        assert r.status_code == (200 if n < 2 else 403)
    assert r.headers["wardgate-error-code"] == "session.tool_rounds"


async def test_session_dollar_cap(make_client):
    body = message_body(max_tokens=1000)
    cap = (worst(body) + await actual_cost(make_client, body) // 2) / 1e9
    c = make_client(**{SERVICE: {"session": {"max_usd": cap}}})
    assert (await c.post("/v1/messages", json=body)).status_code == 200
    r = await c.post("/v1/messages", json=body)
    assert r.status_code == 403 and r.headers["wardgate-error-code"] == "session.session_usd"


async def test_budget_threshold_alert_is_recorded(make_client):
    body = message_body(max_tokens=5)
    c = make_client(migrate=True, **{SERVICE: {"limits": {"budget_usd": 0.001, "alert_at": [0.1]}}})
    for _ in range(3):
        await c.post("/v1/messages", json=body)
    await c.app.limits.flush()
    from sqlalchemy import select
    from wardgate.store.models import AdminEvent
    async with c.app.identity.db.sessions() as s:
        kinds = [e.action for e in (await s.execute(select(AdminEvent))).scalars()]
    assert "budget-threshold-crossed" in kinds
    assert b'wardgate_alerts_total{kind="budget-threshold-crossed"} 1.0' in c.app.metrics.render()
    # the first refusal of the period raises budget-exhausted, once
    for _ in range(20):
        await c.post("/v1/messages", json=body)
    assert b'wardgate_alerts_total{kind="budget-exhausted"} 1.0' in c.app.metrics.render()


DOWN = {"redis__url": "redis://127.0.0.1:1/0", "limits__redis_timeout_seconds": 0.2}


async def test_redis_down_rate_limits_fall_back_to_a_local_share(make_client):
    c = make_client(**DOWN, **{SERVICE: {"limits": {"rpm": 4}}})
    codes = [(await c.post("/v1/messages", json=message_body())).status_code for _ in range(3)]
    assert codes == [200, 200, 429]  # half of 4 on this replica while Redis is down
    metrics = c.app.metrics.render()
    assert b"wardgate_limits_fallback_total 3.0" in metrics
    assert b'wardgate_alerts_total{kind="limits-store-down"} 1.0' in metrics  # once per outage


async def test_redis_down_budgets_fail_closed(make_client):
    c = make_client(**DOWN, **{SERVICE: {"limits": {"rpm": 4, "budget_usd": 10}}})
    r = await c.post("/v1/messages", json=message_body())
    assert r.status_code == 503 and r.headers["wardgate-error-code"] == "limits.unavailable"
    assert "not forwarded" in r.json()["error"]["message"]
    c2 = make_client(**DOWN, limits__redis_down={"rate_limits": "deny"}, **{SERVICE: {"limits": {"rpm": 4}}})
    assert (await c2.post("/v1/messages", json=message_body())).status_code == 503


async def test_shared_redis_backend_in_process(make_client, redis_url):
    import uuid
    c = make_client(redis__url=redis_url, limits__redis_prefix=f"wgtest:{uuid.uuid4().hex[:8]}:",
                    **{SERVICE: {"limits": {"rpm": 2}}})
    codes = [(await c.post("/v1/messages", json=message_body())).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


async def test_a_stream_cut_short_is_billed_from_the_last_usage_seen(make_client, sim):
    # dlp off: its output scan holds text back, so fewer deltas would reach the client than were billed
    c = make_client(migrate=True, upstream__retries__max=0, guards__dlp={"mode": "off"},
                    **{SERVICE: {"limits": {"budget_usd": 10}}})
    sim.state.faults.append("drop")  # the upstream connection dies after a few events
    async with c.stream("POST", "/v1/messages", json=message_body(stream=True)) as r:
        raw = b"".join([chunk async for chunk in r.aiter_bytes()])
    assert b"event: error" in raw and b"message_start" in raw
    start = orjson.loads(next(line for line in raw.split(b"\n") if b'"message_start"' in line)[6:])
    await c.app.limits.flush()
    from sqlalchemy import select
    from wardgate.store.models import UsageRecord
    async with c.app.identity.db.sessions() as s:
        rec = (await s.execute(select(UsageRecord))).scalar_one()
    assert rec.partial and rec.input_tokens == start["message"]["usage"]["input_tokens"]
    # message_start says 1 output token; at least one token per content delta relayed is billed
    deltas = raw.count(b"event: content_block_delta")
    assert deltas >= 1 and rec.output_tokens == max(deltas, start["message"]["usage"]["output_tokens"])
    assert rec.cost_nano > 0


async def test_running_requests_renew_their_leases(make_client, sim):
    store = MemoryLimitStore(clock=lambda: 1_790_000_000.0)
    c = make_client(build_app(make_settings(sim.url, None, roles={"service": {"limits": {"concurrent": 1}}},
                                            limits={"lease_seconds": 5}),
                              api_key=UPSTREAM_KEY, pepper=PEPPER, limit_store=store))
    sim.state.latency_ms = 300
    import asyncio
    task = asyncio.ensure_future(c.post("/v1/messages", json=message_body()))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if c.app.limits._active:
            break
    [ticket] = c.app.limits._active.values()
    [(key, q)] = [(k, q) for k, q in store._quotas.items() if k.startswith("cc|")]
    store.clock = lambda: 1_790_000_004.0
    await c.app.limits.renew()
    assert q.leases[ticket.lease][1] == 1_790_000_009.0
    assert (await task).status_code == 200
    assert not c.app.limits._active and not q.leases


async def test_shadow_mode_refuses_nothing_but_still_records_usage(make_client):
    c = make_client(migrate=True, guards={"limits": {"mode": "shadow"}}, **{SERVICE: {"limits": {"rpm": 1}}})
    for _ in range(3):
        assert (await c.post("/v1/messages", json=message_body())).status_code == 200
    rows = await ledger(c, ())
    assert rows[0]["requests"] == 3
    assert b'wardgate_limits_denied_total{limit="rpm"} 2.0' in c.app.metrics.render()


async def test_a_session_header_with_any_characters_is_refused_cleanly(make_client):
    c = make_client(**{SERVICE: {"session": {"max_turns": 3}}})
    bad = "wgs_" + "a" * 24 + "_" + "\u00e9" * 16
    r = await c.post("/v1/messages", json=message_body(), headers={"wardgate-session-id": bad.encode("latin-1")})
    assert r.status_code == 403 and r.headers["wardgate-error-code"] == "session.invalid"


async def test_stream_usage_is_read_from_parsed_events_when_a_guard_watches_events(make_client, sim):
    from wardgate.chain import GuardChain
    from wardgate.guards.base import Guard

    class Watcher(Guard):
        name = "watcher"

        async def on_response_event(self, flow, event):
            return event

    c = make_client(migrate=True)
    c.app.chain = GuardChain([*c.app.chain.guards, Watcher()])
    assert c.app.chain.rewrites_events
    async with c.stream("POST", "/v1/messages", json=message_body(stream=True)) as r:
        raw = b"".join([chunk async for chunk in r.aiter_bytes()])
    final = [orjson.loads(line[6:]) for line in raw.split(b"\n")
             if line.startswith(b"data: ") and b'"message_delta"' in line][-1]["usage"]
    await c.app.limits.flush()
    from sqlalchemy import select
    from wardgate.store.models import UsageRecord
    async with c.app.identity.db.sessions() as s:
        rec = (await s.execute(select(UsageRecord))).scalar_one()
    assert rec.output_tokens == final["output_tokens"] and not rec.partial
