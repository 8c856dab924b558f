import hashlib

import pytest

from wardgate.errors import ConfigError
from wardgate.guards.authn import AuthnGuard
from wardgate.settings import settings_from_dict
from wardgate.app import Services
from wardgate.testing import make_flow, run_guard


def guard(monkeypatch=None, **auth):
    s = settings_from_dict({"auth": auth})
    g = AuthnGuard()
    g.configure({}, s)
    return g


def test_no_keys_configured_means_closed():
    g = guard(static_keys=[])
    deny = run_guard(g, make_flow(headers={"x-api-key": "anything"}))
    assert deny is not None and deny.error.status_code == 401


def test_sha256_key_via_x_api_key_and_bearer():
    g = guard(static_keys=[{"id": "svc", "sha256": hashlib.sha256(b"wg_live_abc").hexdigest()}])
    flow = make_flow(headers={"x-api-key": "wg_live_abc"})
    assert run_guard(g, flow) is None and flow.principal.id == "svc"
    flow = make_flow(headers={"authorization": "Bearer wg_live_abc"})
    assert run_guard(g, flow) is None and flow.principal.id == "svc"


def test_env_key(monkeypatch):
    monkeypatch.setenv("WG_TEST_STATIC", "wg_live_env")
    g = guard(static_keys=[{"id": "envkey", "env": "WG_TEST_STATIC"}])
    assert run_guard(g, make_flow(headers={"x-api-key": "wg_live_env"})) is None


def test_missing_env_is_a_config_error_naming_the_key(monkeypatch):
    monkeypatch.delenv("WG_TEST_MISSING", raising=False)
    with pytest.raises(ConfigError, match=r"auth.static_keys.0.env"):
        guard(static_keys=[{"id": "x", "env": "WG_TEST_MISSING"}])


@pytest.mark.parametrize("headers, reason", [
    ({}, "no credentials presented"),
    ({"x-api-key": "right", "authorization": "Bearer other"}, "conflicting credentials (x-api-key and Bearer differ)"),
    ({"x-api-key": "wrong"}, "unknown key"),
    ({"authorization": "Basic abc"}, "no credentials presented"),
])
def test_refusals_are_opaque_but_reasons_recorded(headers, reason):
    g = guard(static_keys=[{"id": "svc", "sha256": hashlib.sha256(b"right").hexdigest()}])
    deny = run_guard(g, make_flow(headers=headers))
    assert deny.error.message == "invalid x-api-key" and deny.reason == reason


@pytest.mark.parametrize("opts", [{"mode": "off"}, {"mode": "shadow"}, {"fail_open": True}])
def test_authn_cannot_be_weakened(opts):
    with pytest.raises(ConfigError, match="never open"):
        AuthnGuard().configure(opts, settings_from_dict({}))


async def test_repeated_failures_from_one_client_are_throttled(make_client, sim):
    from tests.conftest import GATEWAY_KEY, message_body
    client = make_client(identity={"failures": {"max_failures": 3, "window_seconds": 60}})
    for _ in range(3):
        r = await client.post("/v1/messages", json=message_body(), headers={"x-api-key": "wrong"})
        assert r.status_code == 401
    r = await client.post("/v1/messages", json=message_body(), headers={"x-api-key": "wrong"})
    assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error"
    assert r.headers["wardgate-error-code"] == "authn.throttled" and int(r.headers["retry-after"]) >= 1
    r = await client.post("/v1/messages", json=message_body(), headers={"x-api-key": GATEWAY_KEY})
    assert r.status_code == 429  # the address is throttled, whatever it sends, until the window passes
    assert sim.state.stats["requests"] == 0


async def test_virtual_keys_stale_and_rotated_are_flagged(tmp_path):
    from sqlalchemy import update

    from tests.conftest import PEPPER
    from wardgate.identity.service import Identity
    from wardgate.store.db import Database
    from wardgate.store.models import ApiKey
    from wardgate.store.repo import IdentityRepo

    settings = settings_from_dict({"data_dir": str(tmp_path)})
    db = Database(settings.database_url)
    db.upgrade()
    async with db.sessions() as s:
        repo = IdentityRepo(s, PEPPER, "t")
        await repo.create_workspace("eng")
        old, row = await repo.create_key("eng", "developer", allowed_models=["claude-haiku-*"])
        await s.execute(update(ApiKey).where(ApiKey.id == row.id).values(created_at=1.0))  # ancient
        await s.commit()
        await repo.rotate_key(row.id, 3600)
    identity = Identity(settings, db, PEPPER)
    g = AuthnGuard()
    g.configure({}, settings, Services(identity))
    flow = make_flow(headers={"authorization": f"Bearer {old}"})
    assert await g.on_request(flow) is None
    p = flow.principal
    assert (p.id, p.kind, p.workspace, p.role, p.allowed_models) == (row.id, "key", "eng", "developer", ("claude-haiku-*",))
    codes = {d.code for d in flow.decisions if d.action == "flag"}
    assert codes == {"authn.stale_key", "authn.rotated_key"}
    deny = await g.on_request(make_flow(headers={"x-api-key": old[:-1] + ("x" if old[-1] != "x" else "y")}))
    assert deny.error.status_code == 401 and deny.reason == "malformed key"
    await identity.close()


async def test_sso_admins_use_the_admin_api(make_client, sim, tmp_path):
    from tests.identity.idp import LocalIdP
    idp = LocalIdP()
    try:
        client = make_client(migrate=True, identity={"oidc": [{
            "issuer": idp.issuer, "audience": "wardgate", "workspace": "eng",
            "role_mapping": {"ai-admins": "admin", "ai-developers": "developer"},
            "require_mfa": {"roles": ["admin"], "amr": ["mfa"]}}]})
        from tests.conftest import PEPPER
        from wardgate.store.repo import IdentityRepo
        async with client.app.identity.db.sessions() as s:
            await IdentityRepo(s, PEPPER, "t").create_workspace("eng")
        admin = idp.token(groups=["ai-admins"], amr=["pwd", "mfa"])
        client.headers.pop("x-api-key")  # the fixture's static key: only the token this time
        r = await client.get("/admin/v1/whoami", headers={"authorization": f"Bearer {admin}"})
        assert r.status_code == 200, r.text
        assert r.json()["kind"] == "user" and r.json()["role"] == "admin"
        r = await client.post("/admin/v1/keys", json={"role": "developer"}, headers={"authorization": f"Bearer {admin}"})
        assert r.status_code == 201
        no_mfa = idp.token(groups=["ai-admins"], amr=["pwd"])
        assert (await client.get("/admin/v1/whoami", headers={"authorization": f"Bearer {no_mfa}"})).status_code == 401
        dev = idp.token(groups=["ai-developers"])
        assert (await client.get("/admin/v1/keys", headers={"authorization": f"Bearer {dev}"})).status_code == 403
    finally:
        idp.stop()
