import hashlib

import pytest

from wardgate.errors import ConfigError
from wardgate.guards.authn import AuthnGuard
from wardgate.settings import settings_from_dict
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
