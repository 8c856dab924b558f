import pytest

from wardgate.flow import Principal
from wardgate.guards.policy import PolicyGuard
from wardgate.settings import settings_from_dict
from wardgate.testing import make_flow, run_guard

SETTINGS = settings_from_dict({
    "model_aliases": {"fast": "claude-haiku-5-5"},
    "roles": {
        "developer": {"models": ["claude-sonnet-*", "claude-haiku-*"], "max_tokens": 1000},
        "strict": {"models": ["*"], "max_tokens": 1000, "max_tokens_action": "reject", "stream": False,
                   "tools": ["search", "calc_*"], "api_keys": False},
    },
})


def guard(**cfg):
    g = PolicyGuard()
    g.configure(cfg, SETTINGS)
    return g


def flow(role="developer", kind="key", allowed_models=None, **body):
    f = make_flow({"model": "claude-sonnet-5-5", "max_tokens": 100,
                   "messages": [{"role": "user", "content": "hi"}]} | body)
    f.principal = Principal(id="key_1", kind=kind, workspace="eng", role=role, allowed_models=allowed_models)
    return f


def test_allowed_request_gets_the_identity_as_user_id():
    f = flow(metadata={"user_id": "spoofed-ceo"})
    assert run_guard(guard(), f) is None
    assert f.body["metadata"] == {"user_id": "key_1"} and f.body_changed
    assert b'"user_id":"key_1"' in f.upstream_body()


def test_user_id_can_be_left_alone():
    f = flow()
    assert run_guard(guard(set_user_id=False), f) is None and not f.body_changed


@pytest.mark.parametrize("role, code", [("auditor", "policy.no_model_access"), ("nosuchrole", "policy.no_role")])
def test_roles_without_model_access_and_unknown_roles_are_denied(role, code):
    deny = run_guard(guard(), flow(role=role))
    assert deny.error.status_code == 403 and deny.error.code == code


def test_models_patterns_aliases_and_key_restriction():
    assert run_guard(guard(), flow(model="claude-opus-5-5")).error.code == "policy.model_denied"
    f = flow(model="fast")
    assert run_guard(guard(), f) is None and f.body["model"] == "claude-haiku-5-5"
    deny = run_guard(guard(), flow(allowed_models=("claude-haiku-*",)))  # the key narrows its role
    assert deny.error.code == "policy.model_denied"
    assert run_guard(guard(), flow(model="claude-haiku-5-5", allowed_models=("claude-haiku-*",))) is None


def test_max_tokens_clamp_and_reject():
    f = flow(max_tokens=5000)
    assert run_guard(guard(), f) is None and f.body["max_tokens"] == 1000
    assert ("policy", "policy.max_tokens_clamped", "rewrite") in [(d.guard, d.code, d.action) for d in f.decisions]
    deny = run_guard(guard(), flow(role="strict", kind="user", max_tokens=5000))
    assert deny.error.status_code == 400 and deny.error.code == "policy.max_tokens"


def test_stream_tools_and_sso_only_roles():
    assert run_guard(guard(), flow(role="strict")).error.code == "policy.sso_required"
    assert run_guard(guard(), flow(role="strict", kind="user", stream=True)).error.code == "policy.stream_denied"
    tools = [{"name": "search", "input_schema": {}}, {"name": "calc_sum", "input_schema": {}}]
    assert run_guard(guard(), flow(role="strict", kind="user", tools=tools)) is None
    deny = run_guard(guard(), flow(role="strict", kind="user", tools=tools + [{"name": "shell", "input_schema": {}}]))
    assert deny.error.code == "policy.tool_denied" and "shell" in deny.error.message
    assert run_guard(guard(), flow(role="analyst", kind="user", tools=tools)).error.code == "policy.tool_denied"


def test_get_routes_have_no_body_to_check():
    f = make_flow(route="models")
    f.body = None
    f.principal = Principal(id="k", role="developer")
    assert run_guard(guard(), f) is None


def test_a_workspace_can_override_a_role():
    settings = settings_from_dict({"workspace_roles": {"finance": {"developer": {"models": ["claude-haiku-*"]}}}})
    g = PolicyGuard()
    g.configure({}, settings)
    f = flow()
    f.principal = Principal(id="k", kind="key", workspace="finance", role="developer")
    assert run_guard(g, f).error.code == "policy.model_denied"
    f = flow()
    f.principal = Principal(id="k", kind="key", workspace="eng", role="developer")
    assert run_guard(g, f) is None
