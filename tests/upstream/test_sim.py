"""The simulated upstream speaks the Messages API (checked with the official SDK, directly)."""

import anthropic
import httpx
import pytest

from tests.conftest import MODEL, UPSTREAM_KEY


@pytest.fixture
def sdk(sim):
    return anthropic.Anthropic(base_url=sim.url, api_key=UPSTREAM_KEY, max_retries=0)


def test_message_and_usage(sdk):
    msg = sdk.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "ping"}])
    assert msg.content[0].text == "[simulated by Wardgate: no model was called] You said: ping"
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0 and msg.stop_reason == "end_turn"


def test_stream_accumulates_to_the_same_message(sdk):
    with sdk.messages.stream(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "ping"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == final.content[0].text and final.usage.output_tokens > 1


def test_tool_use_and_tool_result(sdk):
    tools = [{"name": "lookup", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}]
    msg = sdk.messages.create(model=MODEL, max_tokens=64, tools=tools, messages=[{"role": "user", "content": "find"}])
    use = msg.content[-1]
    assert msg.stop_reason == "tool_use" and use.type == "tool_use" and use.input == {"q": "example"}
    follow = sdk.messages.create(model=MODEL, max_tokens=64, tools=tools, messages=[
        {"role": "user", "content": "find"}, {"role": "assistant", "content": msg.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "42"}]}])
    assert follow.stop_reason == "end_turn" and "tool result" in follow.content[0].text


def test_max_tokens_stop(sdk):
    msg = sdk.messages.create(model=MODEL, max_tokens=3, messages=[{"role": "user", "content": "a long question " * 10}])
    assert msg.stop_reason == "max_tokens"


def test_wrong_key_is_401(sim):
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(base_url=sim.url, api_key="nope", max_retries=0).models.list()


@pytest.mark.parametrize("fault, exc", [("429", anthropic.RateLimitError), ("500", anthropic.InternalServerError),
                                        ("529", anthropic.APIStatusError)])
def test_fault_header(sdk, fault, exc):
    with pytest.raises(exc) as info:
        sdk.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}],
                            extra_headers={"x-sim-fault": fault})
    assert info.value.status_code == int(fault)


def test_control_endpoints(sim):
    with httpx.Client(base_url=sim.url) as c:
        assert c.post("/_sim/faults", json={"faults": ["500"]}).json() == {"queued": ["500"]}
        assert c.delete("/_sim/faults").json() == {"queued": []}
        c.get("/v1/models", headers={"x-api-key": UPSTREAM_KEY})
        assert c.get("/_sim/requests").json()["requests"][-1]["path"] == "/v1/models"
        assert set(c.get("/_sim/stats").json()) == {"requests", "completed", "cancelled", "in_flight"}
