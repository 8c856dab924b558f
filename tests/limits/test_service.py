"""The Limits engine against real stores: seeding from the ledger, reconciliation."""

import time
import uuid

from tests.conftest import PEPPER, UPSTREAM_KEY, make_settings, message_body
from wardgate.app import build_app
from wardgate.limits.redis_store import RedisLimitStore
from wardgate.store.usage import UsageRepo


def _row(i, key_id, cost_nano):
    now = time.time()
    return {"request_id": f"seed-{uuid.uuid4().hex[:8]}-{i}", "at": now, "day": time.strftime("%Y-%m-%d", time.gmtime(now)),
            "key_id": None, "user_id": key_id, "workspace_id": "default", "model": "claude-sonnet-5-5",
            "session_id": None, "input_tokens": 10, "output_tokens": 10, "cache_write_tokens": 0,
            "cache_read_tokens": 0, "cost_nano": cost_nano, "attempts": 1, "status": 200, "partial": False}


async def test_a_restarted_gateway_remembers_money_already_spent(make_client, tmp_path):
    roles = {"service": {"limits": {"budget_usd": 1.0, "budget_period": "month"}}}
    first = make_client(migrate=True, roles=roles)
    # the ledger says this caller (static key "test") already spent $0.99 this month
    await UsageRepo(first.app.identity.db).insert_many([_row(0, "test", 990_000_000)])
    r = await first.post("/v1/messages", json=message_body(max_tokens=4000))  # worst case $0.04 > $0.01 left
    assert r.status_code == 429 and "$0.01 of $1.00 left this month" in r.json()["error"]["message"]
    assert (await first.post("/v1/messages", json=message_body(max_tokens=10))).status_code == 200


async def test_reconcile_raises_redis_counters_to_the_ledger(make_client, redis_url):
    prefix = f"wgtest:{uuid.uuid4().hex[:8]}:"
    roles = {"service": {"limits": {"budget_usd": 1.0, "budget_period": "day"}}}
    c = make_client(migrate=True, redis__url=redis_url, limits__redis_prefix=prefix, roles=roles)
    assert (await c.post("/v1/messages", json=message_body(max_tokens=10))).status_code == 200
    await c.app.limits.flush()
    # spend recorded by a replica whose Redis update was lost (e.g. Redis restarted meanwhile)
    await UsageRepo(c.app.identity.db).insert_many([_row(1, "test", 995_000_000)])
    assert (await c.post("/v1/messages", json=message_body(max_tokens=4000))).status_code == 200  # Redis is behind
    assert await c.app.limits.reconcile() >= 1
    r = await c.post("/v1/messages", json=message_body(max_tokens=4000))
    assert r.status_code == 429 and r.headers["wardgate-error-code"] == "budget.exceeded"
    assert isinstance(c.app.limits.store, RedisLimitStore)


async def test_memory_backend_by_default_and_redis_when_configured(sim, tmp_path, redis_url):
    from wardgate.limits.store import MemoryLimitStore
    a = build_app(make_settings(sim.url, tmp_path), api_key=UPSTREAM_KEY, pepper=PEPPER)
    b = build_app(make_settings(sim.url, tmp_path, redis={"url": redis_url}), api_key=UPSTREAM_KEY, pepper=PEPPER)
    try:
        assert isinstance(a.limits.store, MemoryLimitStore) and isinstance(b.limits.store, RedisLimitStore)
    finally:
        await a.close()
        await b.close()
