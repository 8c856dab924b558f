"""The admin API on SQLite and PostgreSQL, through the real app."""

from __future__ import annotations

import pytest

from tests.conftest import PEPPER, message_body
from wardgate.store.db import Database
from wardgate.store.repo import IdentityRepo


@pytest.fixture
async def env(make_client, db_url, sim):
    """Workspaces root/eng/other; keys: root admin, eng admin, eng developer, eng auditor, other developer."""
    db = Database(db_url)
    db.upgrade()
    keys = {}
    async with db.sessions() as s:
        repo = IdentityRepo(s, PEPPER, "bootstrap")
        for ws in ("root", "eng", "other"):
            await repo.create_workspace(ws)
        for name, ws, role in [("root_admin", "root", "admin"), ("admin", "eng", "admin"),
                               ("dev", "eng", "developer"), ("auditor", "eng", "auditor"),
                               ("other_dev", "other", "developer")]:
            keys[name], row = await repo.create_key(ws, role, description=name)
            keys[name + "_id"] = row.id
    await db.close()
    client = make_client(database__url=db_url)
    return client, keys


def auth(key: str) -> dict:
    return {"x-api-key": key}


async def test_authentication_and_roles(env):
    client, k = env
    r = await client.get("/admin/v1/keys", headers={"x-api-key": "nope"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = await client.get("/admin/v1/keys", headers=auth(k["dev"]))
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
    assert (await client.get("/admin/v1/keys", headers=auth(k["auditor"]))).status_code == 403
    assert (await client.get("/admin/v1/events", headers=auth(k["auditor"]))).status_code == 200
    r = await client.get("/admin/v1/whoami", headers=auth(k["admin"]))
    assert r.json() == {"id": k["admin_id"], "kind": "key", "workspace": "eng", "role": "admin"}
    r = await client.post("/v1/messages", json=message_body(), headers=auth(k["auditor"]))
    assert r.status_code == 403  # auditors read, they do not call the model


async def test_key_lifecycle_through_the_api(env):
    client, k = env
    h = auth(k["admin"])
    r = await client.post("/admin/v1/users", json={"name": "svc-reports", "kind": "service", "role": "service"}, headers=h)
    assert r.status_code == 201
    owner = r.json()["id"]
    r = await client.post("/admin/v1/keys", json={"role": "developer", "owner": owner, "description": "reports",
                                                  "allowed_models": ["claude-haiku-*"]}, headers=h)
    assert r.status_code == 201
    created = r.json()
    new_key = created.pop("key")
    assert created["workspace"] == "eng" and created["state"] == "active" and new_key not in str(created)
    listed = (await client.get("/admin/v1/keys?state=active&sort=created_at", headers=h)).json()["data"]
    assert created["id"] in [x["id"] for x in listed] and all("key" not in x and "key_hash" not in x for x in listed)
    assert (await client.post("/v1/messages", json=message_body(model="claude-haiku-5-5"), headers=auth(new_key))).status_code == 200
    assert (await client.post("/v1/messages", json=message_body(), headers=auth(new_key))).status_code == 403

    r = await client.post(f"/admin/v1/keys/{created['id']}/rotate", json={"grace_hours": 1}, headers=h)
    rotated = r.json()["key"]
    for key in (new_key, rotated):  # both work during the grace period
        assert (await client.post("/v1/messages", json=message_body(model="claude-haiku-5-5"), headers=auth(key))).status_code == 200
    assert (await client.get(f"/admin/v1/keys/{created['id']}", headers=h)).json()["state"] == "rotating"

    r = await client.post(f"/admin/v1/keys/{created['id']}/revoke", headers=h)
    assert r.json()["state"] == "revoked"
    r = await client.post("/v1/messages", json=message_body(model="claude-haiku-5-5"), headers=auth(new_key))
    assert r.status_code == 401  # at once on the replica that revoked
    events = (await client.get("/admin/v1/events", headers=h)).json()["data"]
    assert [e["action"] for e in events[:4]] == ["key-revoked", "key-rotated", "key-created", "user-created"]
    assert all(e["actor"] == f"key:{k['admin_id']}" for e in events[:4])
    assert events[0]["detail"]["before"]["state"] == "rotating" and events[0]["detail"]["after"]["state"] == "revoked"
    assert new_key not in str(events) and rotated not in str(events)


async def test_other_workspaces_are_invisible(env):
    client, k = env
    h = auth(k["admin"])
    other = k["other_dev_id"]
    for method, path in [("GET", f"/admin/v1/keys/{other}"), ("POST", f"/admin/v1/keys/{other}/revoke"),
                         ("POST", f"/admin/v1/keys/{other}/rotate"), ("GET", "/admin/v1/workspaces/other")]:
        r = await client.request(method, path, headers=h)
        assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error", path
    assert [w["id"] for w in (await client.get("/admin/v1/workspaces", headers=h)).json()["data"]] == ["eng"]
    keys = (await client.get("/admin/v1/keys", headers=h)).json()["data"]
    assert {x["workspace"] for x in keys} == {"eng"}
    r = await client.post("/admin/v1/keys", json={"role": "developer", "workspace": "other"}, headers=h)
    assert r.status_code == 404
    assert (await client.post("/v1/messages", json=message_body(), headers=auth(k["other_dev"]))).status_code == 200


async def test_root_admins_manage_every_workspace(env):
    client, k = env
    h = auth(k["root_admin"])
    assert (await client.post("/admin/v1/workspaces", json={"id": "finance"}, headers=h)).status_code == 201
    r = await client.post("/admin/v1/workspaces", json={"id": "finance2"}, headers=auth(k["admin"]))
    assert r.status_code == 403
    ids = [w["id"] for w in (await client.get("/admin/v1/workspaces", headers=h)).json()["data"]]
    assert ids == ["eng", "finance", "other", "root"]
    r = await client.post("/admin/v1/keys", json={"role": "analyst", "workspace": "finance"}, headers=h)
    assert r.status_code == 201 and r.json()["workspace"] == "finance"


@pytest.mark.parametrize("method, path, body, where", [
    ("POST", "/admin/v1/keys", {"role": "developer", "is_admin": True}, "is_admin: unknown field"),
    ("POST", "/admin/v1/keys", {"role": "superuser"}, "unknown role"),
    ("POST", "/admin/v1/keys", {"role": "developer", "environment": "moon"}, "environment"),
    ("POST", "/admin/v1/users", {"name": "x", "role": "developer", "kind": "robot"}, "kind"),
    ("GET", "/admin/v1/keys?sort=key_hash", None, "sort"),
    ("GET", "/admin/v1/keys?state=weird", None, "state"),
    ("POST", "/admin/v1/workspaces", {"id": "Not OK"}, "id"),
])
async def test_strict_input_validation(env, method, path, body, where):
    client, k = env
    r = await client.request(method, path, json=body, headers=auth(k["root_admin"]))
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    assert where in r.json()["error"]["message"]


async def test_role_assignment(env):
    client, k = env
    h = auth(k["admin"])
    user = (await client.post("/admin/v1/users", json={"name": "bob", "role": "analyst", "email": "b@x"}, headers=h)).json()
    r = await client.put(f"/admin/v1/users/{user['id']}/role", json={"role": "developer"}, headers=h)
    assert r.json()["role"] == "developer"
    event = (await client.get("/admin/v1/events?limit=1", headers=h)).json()["data"][0]
    assert event["action"] == "role-assigned" and event["detail"]["before"]["role"] == "analyst"


async def test_openapi_and_docs(env):
    client, _ = env
    spec = (await client.get("/admin/openapi.json")).json()
    assert "/admin/v1/keys/{key_id}/rotate" in spec["paths"] and spec["info"]["title"] == "Wardgate admin API"
    assert (await client.get("/admin/docs")).status_code == 200
    r = await client.get("/admin/v1/nothing")
    assert r.status_code == 404 and r.json()["type"] == "error"


async def test_wrong_method_and_bugs_are_anthropic_shaped(env, monkeypatch):
    client, k = env
    r = await client.delete("/admin/v1/keys", headers=auth(k["admin"]))
    assert r.status_code == 405 and r.json()["error"]["type"] == "invalid_request_error"

    from wardgate.store import repo as repo_module

    async def broken(self, *a, **kw):
        raise RuntimeError("bug")

    monkeypatch.setattr(repo_module.IdentityRepo, "list_users", broken)
    r = await client.get("/admin/v1/users", headers=auth(k["admin"]))
    assert r.status_code == 500 and r.json() == {"type": "error", "error": {"type": "api_error",
                                                                            "message": "Internal gateway error."}}


async def test_key_limits_are_set_through_the_api_and_enforced(env):
    client, k = env
    h = auth(k["admin"])
    r = await client.post("/admin/v1/keys", json={"role": "developer", "limits": {"rpm": 2, "budget_usd": 5}},
                          headers=h)
    assert r.status_code == 201 and r.json()["limits"] == {"rpm": 2, "budget_usd": 5.0}
    new_key, key_id = r.json()["key"], r.json()["id"]
    for expected in (200, 200, 429):
        assert (await client.post("/v1/messages", json=message_body(), headers=auth(new_key))).status_code == expected
    r = await client.put(f"/admin/v1/keys/{key_id}/limits", json={"rpm": 0}, headers=h)
    assert r.status_code == 400  # validated
    r = await client.put(f"/admin/v1/keys/{key_id}/limits", json={"tpm": 100000}, headers=h)
    assert r.status_code == 200 and r.json()["limits"] == {"tpm": 100000}
    r = await client.put(f"/admin/v1/keys/{k['other_dev_id']}/limits", json={"rpm": 1}, headers=h)
    assert r.status_code == 404  # another workspace's key


async def test_usage_report_through_the_api(env):
    client, k = env
    for who in ("dev", "dev", "other_dev"):
        assert (await client.post("/v1/messages", json=message_body(), headers=auth(k[who]))).status_code == 200
    await client.app.limits.flush()
    r = await client.get("/admin/v1/usage?by=key,model", headers=auth(k["root_admin"]))
    assert r.status_code == 200
    rows = {row["key"]: row for row in r.json()["data"]}
    assert rows[k["dev_id"]]["requests"] == 2 and rows[k["other_dev_id"]]["requests"] == 1
    assert rows[k["dev_id"]]["cost_usd"] > 0 and rows[k["dev_id"]]["model"] == "claude-sonnet-5-5"
    r = await client.get("/admin/v1/usage?by=key", headers=auth(k["auditor"]))  # eng only
    assert [row["key"] for row in r.json()["data"]] == [k["dev_id"]]
    r = await client.get("/admin/v1/usage?by=user&top=1", headers=auth(k["root_admin"]))
    assert len(r.json()["data"]) == 1
    assert (await client.get("/admin/v1/usage?by=password", headers=auth(k["root_admin"]))).status_code == 400
    assert (await client.get("/admin/v1/usage", headers=auth(k["dev"]))).status_code == 403


async def test_disabling_a_user_disables_their_keys(env):
    client, k = env
    h = auth(k["admin"])
    owner = (await client.post("/admin/v1/users", json={"name": "bob", "role": "developer"}, headers=h)).json()["id"]
    key = (await client.post("/admin/v1/keys", json={"role": "developer", "owner": owner}, headers=h)).json()["key"]
    assert (await client.post("/v1/messages", json=message_body(), headers=auth(key))).status_code == 200
    r = await client.post(f"/admin/v1/users/{owner}/disable", headers=h)
    assert r.status_code == 200 and r.json()["disabled"] is True
    r = await client.post("/v1/messages", json=message_body(), headers=auth(key))
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"  # opaque, as always
    r = await client.post("/admin/v1/keys", json={"role": "developer", "owner": owner}, headers=h)
    assert r.status_code == 400  # no new keys for a disabled user
    assert (await client.post(f"/admin/v1/users/{owner}/enable", headers=h)).json()["disabled"] is False
    assert (await client.post("/v1/messages", json=message_body(), headers=auth(key))).status_code == 200
    events = [e["action"] for e in (await client.get("/admin/v1/events", headers=h)).json()["data"]]
    assert "user-disabled" in events and "user-enabled" in events
    other = (await client.post("/admin/v1/users", json={"name": "x", "role": "developer"},
                               headers=auth(k["root_admin"]))).json()["id"]
    assert (await client.post(f"/admin/v1/users/{other}/disable", headers=h)).status_code == 404  # not eng's
