"""Health, readiness and metrics endpoints; structured logs."""

from __future__ import annotations

import json
import logging

from tests.conftest import message_body


async def test_healthz(client):
    r = await client.get("/healthz", headers={"x-api-key": ""})
    assert r.status_code == 200 and r.json()["status"] == "ok"


async def test_readyz_checks_upstream_and_database(make_client):
    client = make_client()
    r = await client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["database"] == "schema_not_current"
    client.app.identity.db.upgrade()
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["checks"] == {"upstream": "ok", "database": "ok"}


async def test_readyz_with_real_redis_and_postgres(make_client, redis_url, fresh_postgres):
    r = await make_client(redis__url=redis_url, database__url=fresh_postgres, migrate=True).get("/readyz")
    assert r.json()["checks"] == {"upstream": "ok", "database": "ok", "redis": "ok"}, r.text


async def test_readyz_when_the_database_is_down(make_client):
    from wardgate.server import free_port
    r = await make_client(database__url=f"postgresql://postgres@127.0.0.1:{free_port()}/x").get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["database"] == "unreachable"


async def test_readyz_fails_when_a_store_is_down(make_client):
    from wardgate.server import free_port
    r = await make_client(redis__url=f"redis://127.0.0.1:{free_port()}/0").get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["redis"] == "unreachable"


async def test_readyz_fails_when_the_upstream_is_down(make_client):
    from wardgate.server import free_port
    r = await make_client(upstream__base_url=f"http://127.0.0.1:{free_port()}").get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["upstream"] == "unreachable"


async def test_metrics(client):
    await client.post("/v1/messages", json=message_body())
    await client.post("/v1/messages", json=message_body(), headers={"x-api-key": "bad"})
    text = (await client.get("/metrics")).text
    assert 'wardgate_requests_total{decision="allow",route="messages",status="200"} 1.0' in text
    assert 'wardgate_requests_total{decision="authn.failed",route="messages",status="401"} 1.0' in text
    assert 'wardgate_upstream_latency_seconds_count{route="messages"} 1.0' in text
    assert 'wardgate_overhead_seconds_bucket{le="0.001",route="messages"}' in text
    assert "wardgate_in_flight_requests 0.0" in text


async def test_access_log_is_json_and_has_no_prompt_or_credentials(make_client, caplog):
    from wardgate.logs import JsonFormatter
    client = make_client(server__access_log=True)
    secret_prompt = "my card is 4111 1111 1111 1111"
    with caplog.at_level(logging.INFO, logger="wardgate.request"):
        await client.post("/v1/messages", json=message_body(messages=[{"role": "user", "content": secret_prompt}]))
    records = [r for r in caplog.records if r.name == "wardgate.request"]
    line = JsonFormatter().format(records[-1])
    doc = json.loads(line)
    assert doc["msg"] == "request" and doc["status"] == 200 and doc["principal"] == "test"
    assert doc["decision"] == "allow" and doc["route"] == "messages" and doc["overhead_ms"] >= 0
    assert "4111" not in line and "wg_test_key" not in line and "sk-ant" not in line
