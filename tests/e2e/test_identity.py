"""The identity issue's acceptance scenario, across real processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import anthropic
import pytest

from tests.e2e.conftest import PEPPER, start_gateway, wait_for
from tests.identity.idp import LocalIdP

pytestmark = pytest.mark.e2e
MODEL = "claude-sonnet-5-5"


@pytest.fixture
def idp():
    server = LocalIdP()
    yield server
    server.stop()


def cli(cfg, *args) -> dict:
    env = os.environ | {"WARDGATE_KEY_PEPPER": PEPPER}
    r = subprocess.run([sys.executable, "-m", "wardgate", *args, "--config", str(cfg), "--json"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def works(url: str, key: str) -> bool:
    client = anthropic.Anthropic(base_url=url, api_key=key, max_retries=0)
    try:
        client.messages.create(model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "hi"}])
        return True
    except anthropic.AuthenticationError:
        return False


def test_keys_rotation_revocation_and_sso_across_two_replicas(sim_proc, sim_ctl, tmp_path, db_url, idp):
    oidc = (f"identity:\n  oidc:\n    - issuer: {idp.issuer}\n      audience: wardgate\n      workspace: eng\n"
            f"      role_mapping: {{ai-developers: developer}}\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = start_gateway(sim_proc.url, tmp_path / "a", extra_yaml=oidc, database_url=db_url)
    b = start_gateway(sim_proc.url, tmp_path / "b", extra_yaml=oidc, database_url=db_url)
    cfg = next((tmp_path / "a").glob("wardgate-*.yaml"))
    try:
        # an admin creates a workspace and a developer key with the CLI
        cli(cfg, "workspaces", "create", "eng")
        created = cli(cfg, "keys", "create", "--workspace", "eng", "--role", "developer", "--description", "e2e")
        old = created["key"]
        assert works(a.url, old) and works(b.url, old)

        # rotate: both keys work on both replicas during the grace period, then only the new one
        rotated = cli(cfg, "keys", "rotate", created["id"], "--grace-hours", "0.002")  # 7.2 s
        new = rotated["key"]
        grace_ends = time.time() + 7.2
        assert works(a.url, new) and works(b.url, new) and works(a.url, old) and works(b.url, old)
        time.sleep(max(0.0, grace_ends - time.time()) + 0.5)
        assert not works(a.url, old) and not works(b.url, old)
        assert works(a.url, new) and works(b.url, new)

        # revoke from outside both replicas (the CLI on the shared database): 401 within 5 s everywhere
        cli(cfg, "keys", "revoke", rotated["id"])
        took = wait_for(lambda: not works(b.url, new), timeout=5.0, interval=0.1)
        assert took < 5.0
        assert not works(a.url, new)

        # SSO: a user in the mapped group calls the model with a JWT from the IdP; one without is denied
        assert works(a.url, idp.token(groups=["ai-developers"]))
        assert not works(b.url, idp.token(groups=["sales"]))
        seen = sim_ctl.get("/_sim/requests").json()["requests"][-1]
        assert json.loads(seen["body"])["metadata"]["user_id"].startswith("sso_")
    finally:
        a.stop()
        b.stop()
