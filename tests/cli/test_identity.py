"""`wardgate db|workspaces|users|keys` on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PEPPER = "cli-pepper-0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture
def wg(tmp_path, db_url):
    cfg = tmp_path / "wardgate.yaml"
    cfg.write_text(f"data_dir: {tmp_path}\ndatabase:\n  url: {db_url}\n")
    env = os.environ | {"WARDGATE_KEY_PEPPER": PEPPER}

    def run(*args, check=True):
        r = subprocess.run([sys.executable, "-m", "wardgate", *args, "--config", str(cfg)], env=env,
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"{args}: {r.returncode}\n{r.stdout}\n{r.stderr}")
        return r
    return run


def test_bootstrap_workflow(wg):
    r = wg("keys", "list", check=False)
    assert r.returncode == 2 and "wardgate db upgrade" in r.stderr  # unmigrated: refused, clearly
    assert "revision 0002" in wg("db", "upgrade").stdout
    wg("workspaces", "create", "eng", "--name", "Engineering")
    user = json.loads(wg("users", "create", "--workspace", "eng", "--name", "alice", "--role", "developer", "--json").stdout)
    created = json.loads(wg("keys", "create", "--workspace", "eng", "--role", "developer", "--owner", user["id"],
                            "--models", "claude-haiku-*,claude-sonnet-*", "--env", "dev", "--json").stdout)
    assert created["key"].startswith("wg_test_") and created["allowed_models"] == ["claude-haiku-*", "claude-sonnet-*"]
    table = wg("keys", "list").stdout
    assert created["id"] in table and created["key"] not in table and "HINT" in table
    shown = json.loads(wg("keys", "show", created["id"], "--json").stdout)
    assert "key" not in shown and shown["state"] == "active"
    rotated = json.loads(wg("keys", "rotate", created["id"], "--grace-hours", "2", "--json").stdout)
    assert rotated["key"] != created["key"]
    assert json.loads(wg("keys", "show", created["id"], "--json").stdout)["state"] == "rotating"
    assert json.loads(wg("keys", "revoke", rotated["id"], "--json").stdout)["state"] == "revoked"
    assert "alice" in wg("users", "list", "--workspace", "eng").stdout
    assert "eng" in wg("workspaces", "list").stdout


def test_errors_are_clear(wg):
    wg("db", "upgrade")
    r = wg("keys", "create", "--workspace", "nope", "--role", "developer", check=False)
    assert r.returncode == 1 and "workspace nope not found" in r.stderr
    wg("workspaces", "create", "eng")
    r = wg("keys", "create", "--workspace", "eng", "--role", "wizard", check=False)
    assert r.returncode == 1 and "unknown role" in r.stderr


def test_keys_create_needs_the_pepper(tmp_path):
    cfg = tmp_path / "w.yaml"
    cfg.write_text(f"data_dir: {tmp_path}\n")
    env = {k: v for k, v in os.environ.items() if k != "WARDGATE_KEY_PEPPER"}
    subprocess.run([sys.executable, "-m", "wardgate", "db", "upgrade", "--config", str(cfg)], env=env, check=True,
                   capture_output=True)
    r = subprocess.run([sys.executable, "-m", "wardgate", "keys", "create", "--workspace", "x", "--role", "developer",
                        "--config", str(cfg)], env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "WARDGATE_KEY_PEPPER" in r.stderr


def test_key_limits_and_usage_report(wg, db_url):
    import asyncio
    import time

    from wardgate.store.db import Database
    from wardgate.store.usage import UsageRepo

    wg("db", "upgrade")
    wg("workspaces", "create", "eng")
    created = json.loads(wg("keys", "create", "--workspace", "eng", "--role", "developer", "--rpm", "60",
                            "--tpm", "100000", "--budget-usd", "25", "--budget-period", "month", "--json").stdout)
    assert created["limits"] == {"rpm": 60, "tpm": 100000, "budget_usd": 25.0}
    r = wg("keys", "set-limits", created["id"], "--budget-usd", "-1", check=False)
    assert r.returncode == 1 and "--budget-usd" in r.stderr
    shown = json.loads(wg("keys", "set-limits", created["id"], "--concurrent", "4", "--json").stdout)
    assert shown["limits"] == {"concurrent": 4}

    async def seed():
        db = Database(db_url)
        now = time.time()
        day = time.strftime("%Y-%m-%d", time.gmtime(now))
        await UsageRepo(db).insert_many([
            {"request_id": f"r{i}", "at": now, "day": day, "key_id": created["id"], "user_id": "u1",
             "workspace_id": "eng", "model": "claude-sonnet-5-5", "session_id": None, "input_tokens": 10,
             "output_tokens": 20, "cache_write_tokens": 0, "cache_read_tokens": 0, "cost_nano": 1_500_000_000,
             "attempts": 1, "status": 200, "partial": False} for i in range(2)])
        await db.close()
    asyncio.run(seed())
    report = json.loads(wg("usage", "--by", "key,day", "--json").stdout)
    [row] = report["data"]
    assert row["key"] == created["id"] and row["requests"] == 2 and row["cost_usd"] == 3.0
    text = wg("usage", "--by", "workspace").stdout
    assert "eng" in text and "3.0" in text
    assert wg("usage", "--by", "nonsense", check=False).returncode == 2


def test_disable_and_enable_a_user(wg):
    wg("db", "upgrade")
    wg("workspaces", "create", "eng")
    user = json.loads(wg("users", "create", "--workspace", "eng", "--name", "carol", "--role", "developer",
                         "--json").stdout)
    assert json.loads(wg("users", "disable", user["id"], "--json").stdout)["disabled"] is True
    r = wg("keys", "create", "--workspace", "eng", "--role", "developer", "--owner", user["id"], check=False)
    assert r.returncode == 1 and "disabled" in r.stderr
    assert json.loads(wg("users", "enable", user["id"], "--json").stdout)["disabled"] is False
