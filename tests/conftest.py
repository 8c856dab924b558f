from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from wardgate.app import Gateway, build_app
from wardgate.settings import Settings, settings_from_dict
from wardgate.testing import SimUpstream

GATEWAY_KEY = "wg_test_key_0123456789abcdef"
PEPPER = b"test-pepper-0123456789abcdefghijklmnopqrstuvwxyz"
UPSTREAM_KEY = "sk-ant-sim-upstream-key"
MODEL = "claude-sonnet-5-5"
IN_CI = os.environ.get("CI") == "true"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _service(name: str, port: int) -> str:
    if not _reachable("127.0.0.1", port):
        msg = f"{name} is not running on 127.0.0.1:{port} (scripts/services starts it)"
        if IN_CI:
            pytest.fail(msg)  # in CI a service-backed test must run, never skip
        pytest.skip(msg)
    return f"127.0.0.1:{port}"


@pytest.fixture
def redis_url() -> str:
    return "redis://" + _service("Redis", 6379) + "/0"


@pytest.fixture
def postgres_url() -> str:
    return "postgresql://postgres@" + _service("PostgreSQL", 5432) + "/test"


def _pg_admin(sql: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()
    asyncio.run(run())


@pytest.fixture
def fresh_postgres() -> str:
    """A new, empty PostgreSQL database for one test (dropped afterwards)."""
    _service("PostgreSQL", 5432)
    name = "wardgate_t_" + os.urandom(6).hex()
    _pg_admin(f"CREATE DATABASE {name}")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    _pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """Each test that takes this runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'wardgate.db'}"
    return request.getfixturevalue("fresh_postgres")


@pytest.fixture(scope="session")
def sim_server():
    with SimUpstream(api_key=UPSTREAM_KEY) as sim:
        yield sim


@pytest.fixture
def sim(sim_server):
    sim_server.state.reset()
    sim_server.state.latency_ms = 0
    sim_server.state.chunk_delay_ms = 0
    yield sim_server
    sim_server.state.reset()


def make_settings(base_url: str, tmp_path=None, **overrides) -> Settings:
    data = {
        "data_dir": str(tmp_path or ".wardgate"),
        "server": {"access_log": False},
        "upstream": {"base_url": base_url,
                     "retries": {"backoff_base": 0.001, "backoff_max": 0.01, "retry_after_max": 2}},
        "auth": {"static_keys": [{"id": "test", "sha256": hashlib.sha256(GATEWAY_KEY.encode()).hexdigest()}]},
    }
    for key, value in overrides.items():
        node = data
        *parents, last = key.split("__")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return settings_from_dict(data)


@pytest.fixture
def settings(sim, tmp_path) -> Settings:
    return make_settings(sim.url, tmp_path)


@pytest.fixture
async def make_client(sim, tmp_path) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Build an app (with overrides) and an in-process client for it."""
    apps: list[Gateway] = []
    clients: list[httpx.AsyncClient] = []

    def factory(app: Gateway | None = None, *, migrate: bool = False, **overrides) -> httpx.AsyncClient:
        if app is None:
            app = build_app(make_settings(sim.url, tmp_path, **overrides), api_key=UPSTREAM_KEY, pepper=PEPPER)
        if migrate:
            app.identity.db.upgrade()
        apps.append(app)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://wardgate.test",
                                   headers={"x-api-key": GATEWAY_KEY, "anthropic-version": "2023-06-01"})
        client.app = app  # type: ignore[attr-defined]
        clients.append(client)
        return client

    yield factory
    for c in clients:
        await c.aclose()
    for a in apps:
        await a.close()


@pytest.fixture
async def client(make_client) -> httpx.AsyncClient:
    return make_client()


def message_body(**extra) -> dict:
    return {"model": MODEL, "max_tokens": 128, "messages": [{"role": "user", "content": "Hello there"}]} | extra


@pytest.fixture(scope="session", autouse=True)
def _clean_redis_test_keys():
    """Tests write limit counters under wgtest:/wge2e: prefixes (month-long TTLs): remove them."""
    yield
    if not _reachable("127.0.0.1", 6379):
        return
    import asyncio

    from wardgate.limits.resp import RespClient

    async def clean() -> None:
        c = RespClient("redis://127.0.0.1:6379/0", timeout=2)
        try:
            for pattern in ("wgtest:*", "wge2e:*"):
                cursor = b"0"
                while True:
                    cursor, keys = await c.call("SCAN", cursor, "MATCH", pattern, "COUNT", 1000)
                    if keys:
                        await c.call("DEL", *keys)
                    if cursor == b"0":
                        break
        finally:
            await c.close()
    asyncio.run(clean())
