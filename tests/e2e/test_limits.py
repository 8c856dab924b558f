"""Usage governance across real processes: two gateway replicas sharing Redis and PostgreSQL,
a replica killed mid-request, and an agent loop driven through the official SDK."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

import anthropic
import httpx
import pytest

from tests.conftest import MODEL
from tests.e2e.conftest import GW_KEY, start_gateway, wait_for
from tests.e2e.test_identity import cli
from wardgate.limits.estimate import estimate_input
from wardgate.limits.price import PriceTable
from wardgate.limits.usage import Usage
from wardgate.store.db import Database
from wardgate.store.usage import UsageRepo
from wardgate.upstream.simcontent import build_reply

BODY = {"model": MODEL, "max_tokens": 4000, "messages": [{"role": "user", "content": "How much is left?"}]}


def shared(redis_url: str, lease: float = 120) -> str:
    return (f"redis:\n  url: {redis_url}\n"
            f"limits:\n  redis_prefix: \"wge2e:{uuid.uuid4().hex[:12]}:\"\n  lease_seconds: {lease}\n")


def two_replicas(sim_url, tmp_path, db_url, extra):
    out = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        out.append(start_gateway(sim_url, tmp_path / name, extra_yaml=extra, database_url=db_url))
    return out


async def fire(urls: list[str], key: str, n: int, body=BODY, headers=None) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30) as c:
        return await asyncio.gather(*[
            c.post(urls[i % len(urls)] + "/v1/messages", json=body,
                   headers={"x-api-key": key, "anthropic-version": "2023-06-01", **(headers or {})})
            for i in range(n)])


def one_request_budget() -> float:
    """Room for one request's worst case; once it is settled at its actual cost, none for another."""
    price = PriceTable().lookup(MODEL)
    worst = price.worst_case(estimate_input(BODY).bound, BODY["max_tokens"], None)
    reply = build_reply(BODY)
    actual = price.cost(Usage(reply.input_tokens, reply.output_tokens))
    return (worst + actual // 2) / 1e9


async def ledger_total(db_url: str, key_id: str) -> tuple[int, int]:
    db = Database(db_url)
    try:
        [row] = await UsageRepo(db).report([], key=key_id) or [{"requests": 0, "cost_nano": 0}]
        return row["requests"], row["cost_nano"]
    finally:
        await db.close()


def test_fifty_parallel_requests_on_a_brand_new_key_across_two_replicas(sim_proc, sim_ctl, tmp_path, fresh_postgres,
                                                                         redis_url):
    a, b = two_replicas(sim_proc.url, tmp_path, fresh_postgres, shared(redis_url))
    cfg = next((tmp_path / "a").glob("wardgate-*.yaml"))
    try:
        cli(cfg, "workspaces", "create", "eng")
        budget = one_request_budget()
        key = cli(cfg, "keys", "create", "--workspace", "eng", "--role", "developer",
                  "--budget-usd", f"{budget:.9f}", "--budget-period", "day")
        # the key is brand new: no counter exists anywhere; all 50 arrive at once on both replicas
        responses = asyncio.run(fire([a.url, b.url], key["key"], 50))
        codes = sorted(r.status_code for r in responses)
        assert codes == [200] + [429] * 49, codes
        refused = next(r for r in responses if r.status_code == 429)
        assert refused.headers["wardgate-error-code"] == "budget.exceeded"
        assert "left this day" in refused.json()["error"]["message"]
        # afterwards: the next request is refused too, and the ledger shows spend within the limit
        again = asyncio.run(fire([b.url], key["key"], 1))[0]
        assert again.status_code == 429 and "could cost up to" in again.json()["error"]["message"]
        wait_for(lambda: asyncio.run(ledger_total(fresh_postgres, key["id"]))[0] == 1, timeout=5)
        _, spent = asyncio.run(ledger_total(fresh_postgres, key["id"]))
        assert 0 < spent <= budget * 1e9
    finally:
        a.stop()
        b.stop()


def test_requests_per_minute_across_two_replicas(sim_proc, sim_ctl, tmp_path, fresh_postgres, redis_url):
    a, b = two_replicas(sim_proc.url, tmp_path, fresh_postgres, shared(redis_url))
    cfg = next((tmp_path / "a").glob("wardgate-*.yaml"))
    try:
        cli(cfg, "workspaces", "create", "eng")
        key = cli(cfg, "keys", "create", "--workspace", "eng", "--role", "developer", "--rpm", "10")
        started = time.monotonic()
        responses = asyncio.run(fire([a.url, b.url], key["key"], 40, body=BODY | {"max_tokens": 16}))
        elapsed = time.monotonic() - started
        admitted = sum(r.status_code == 200 for r in responses)
        assert 10 <= admitted <= 10 + int(elapsed * 10 / 60)  # capacity, plus what refilled meanwhile
        refused = next(r for r in responses if r.status_code == 429)
        assert refused.headers["wardgate-error-code"] == "rate.rpm" and int(refused.headers["retry-after"]) >= 1
    finally:
        a.stop()
        b.stop()


def test_a_killed_replicas_reservation_is_released_by_lease_expiry(sim_proc, sim_ctl, tmp_path, fresh_postgres,
                                                                    redis_url):
    a, b = two_replicas(sim_proc.url, tmp_path, fresh_postgres, shared(redis_url, lease=2))
    cfg = next((tmp_path / "a").glob("wardgate-*.yaml"))
    try:
        cli(cfg, "workspaces", "create", "eng")
        key = cli(cfg, "keys", "create", "--workspace", "eng", "--role", "developer", "--concurrent", "1")
        hdr = {"x-api-key": key["key"], "anthropic-version": "2023-06-01"}
        hung = httpx.Client(timeout=30)
        import threading
        t = threading.Thread(target=lambda: _ignore(lambda: hung.post(a.url + "/v1/messages", json=BODY,
                                                                       headers=hdr | {"x-sim-fault": "hang"})))
        t.start()
        wait_for(lambda: sim_ctl.get("/_sim/stats").json()["in_flight"] == 1, timeout=5)
        r = httpx.post(b.url + "/v1/messages", json=BODY, headers=hdr)
        assert r.status_code == 429 and r.headers["wardgate-error-code"] == "rate.concurrent"
        os.kill(a.proc.pid, signal.SIGKILL)  # the replica dies holding the reservation
        killed = time.monotonic()
        wait_for(lambda: httpx.post(b.url + "/v1/messages", json=BODY, headers=hdr).status_code == 200,
                 timeout=8, interval=0.2)
        assert time.monotonic() - killed < 8
        t.join(10)
        hung.close()
    finally:
        a.stop()
        b.stop()


def _ignore(fn):
    try:
        fn()
    except httpx.HTTPError:
        pass


def test_the_session_cap_stops_a_looping_agent_driven_by_the_sdk(sim_proc, sim_ctl, tmp_path):
    extra = "roles:\n  service:\n    session:\n      max_turns: 5\n"
    gw = start_gateway(sim_proc.url, tmp_path, extra_yaml=extra)
    try:
        client = anthropic.Anthropic(base_url=gw.url, api_key=GW_KEY)
        tools = [{"name": "lookup", "description": "look something up",
                  "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}]
        messages = [{"role": "user", "content": "Keep working until the job is done."}]
        turns, session = 0, None
        with pytest.raises(anthropic.PermissionDeniedError) as stopped:
            while turns < 50:  # a runaway loop: it never decides it is done
                raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=256, tools=tools,
                                                               messages=messages)
                session = session or raw.headers["wardgate-session-id"]
                msg = raw.parse()
                turns += 1
                messages.append({"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in msg.content]})
                if msg.stop_reason == "tool_use":
                    use = next(b for b in msg.content if b.type == "tool_use")
                    messages.append({"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": use.id, "content": "not yet"}]})
                else:
                    messages.append({"role": "user", "content": "Not done yet, continue."})
        assert turns == 5
        assert "cap of 5 turns" in stopped.value.message and session in stopped.value.message
        db = Database(f"sqlite:///{tmp_path / 'data' / 'wardgate.db'}")

        async def alerts():
            from sqlalchemy import select

            from wardgate.store.models import AdminEvent
            async with db.sessions() as s:
                return [(e.action, e.target) for e in (await s.execute(select(AdminEvent))).scalars()]
        wait_for(lambda: ("session-cap-reached", session[:64]) in asyncio.run(alerts()), timeout=5, interval=0.2)
        asyncio.run(db.close())
    finally:
        gw.stop()
