import pytest

from wardgate.errors import ConfigError
from wardgate.guards.shape import RequestShapeGuard
from wardgate.testing import make_flow, run_guard

OK = {"model": "m", "max_tokens": 10, "messages": [
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": [{"type": "text", "text": "yo"}, {"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "ok"},
                                 {"type": "some_future_block", "x": 1}]},
], "system": [{"type": "text", "text": "s"}], "tools": [{"name": "f", "input_schema": {"type": "object"}}]}


def shape(**cfg):
    g = RequestShapeGuard()
    g.configure(cfg)
    return g


def test_valid_request_passes_including_unknown_block_types():
    assert run_guard(shape(), make_flow(OK)) is None


@pytest.mark.parametrize("patch, where", [
    ({"messages": ["hi"]}, "messages.0"),
    ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content"),
    ({"messages": [{"role": "user", "content": [{"text": "no type"}]}]}, "messages.0.content"),
    ({"system": 5}, "system"),
    ({"tools": [{"description": "nameless"}]}, "tools"),
    ({"max_tokens": 2_000_000}, "max_tokens"),
])
def test_malformed(patch, where):
    deny = run_guard(shape(), make_flow(OK | patch))
    assert deny is not None and deny.error.status_code == 400 and deny.error.message.startswith(where)
    assert deny.error.code == "shape.invalid"


def test_limits_are_configurable_and_validated():
    assert run_guard(shape(max_messages=2), make_flow(OK)).error.message.startswith("messages:")
    with pytest.raises(ConfigError, match="guards.shape.max_messages"):
        shape(max_messages=0)
    with pytest.raises(ConfigError, match="guards.shape.bogus: unknown key"):
        shape(bogus=1)
