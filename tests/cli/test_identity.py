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
