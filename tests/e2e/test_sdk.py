"""The official anthropic SDK, unchanged but for base_url, through a real gateway process."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from tests.e2e.conftest import GW_KEY, SIM_KEY

pytestmark = pytest.mark.e2e
MODEL = "claude-sonnet-5-5"
TOOLS = [{"name": "get_weather", "description": "Current weather",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]


@pytest.fixture
def sdk(gateway, sim_ctl):
    return anthropic.Anthropic(base_url=gateway.url, api_key=GW_KEY, max_retries=0)


@pytest.fixture
def direct(sim_proc):
    return anthropic.Anthropic(base_url=sim_proc.url, api_key=SIM_KEY, max_retries=0)


def test_messages_create(sdk, sim_ctl):
    msg = sdk.messages.create(model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "Hello"}],
                              metadata={"user_id": "u1"}, stop_sequences=["END"], extra_body={"temperature": 0.1})
    assert msg.type == "message" and msg.model == MODEL and msg.stop_reason == "end_turn"
    assert msg.content[0].text.endswith("You said: Hello")
    assert msg.usage.input_tokens > 0
    body = sim_ctl.get("/_sim/requests").json()["requests"][-1]["body"]
    assert '"temperature":0.1' in body
    assert '"metadata":{"user_id":"e2e"}' in body  # the authenticated identity overwrites the client's


def test_raw_response_headers(sdk):
    raw = sdk.messages.with_raw_response.create(model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "x"}])
    assert raw.headers["request-id"].startswith("req_sim_")
    assert float(raw.headers["wardgate-overhead-ms"]) >= 0
    assert raw.parse().content


def test_stream_text_matches_direct(sdk, direct):
    kwargs = dict(model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "Stream please"}])
    with sdk.messages.stream(**kwargs) as s:
        events = [e.type for e in s]
        final = s.get_final_message()
    with direct.messages.stream(**kwargs) as d:
        direct_events = [e.type for e in d]
        direct_final = d.get_final_message()
    assert events == direct_events
    assert final.content[0].text == direct_final.content[0].text
    assert final.usage.output_tokens == direct_final.usage.output_tokens


def test_stream_tool_use(sdk):
    with sdk.messages.stream(model=MODEL, max_tokens=256, tools=TOOLS, tool_choice={"type": "tool", "name": "get_weather"},
                             messages=[{"role": "user", "content": "Weather in Paris?"}]) as s:
        final = s.get_final_message()
    use = [b for b in final.content if b.type == "tool_use"][0]
    assert final.stop_reason == "tool_use" and use.name == "get_weather" and use.input == {"city": "example"}
    follow = sdk.messages.create(model=MODEL, max_tokens=64, tools=TOOLS, messages=[
        {"role": "user", "content": "Weather in Paris?"}, {"role": "assistant", "content": final.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny"}]}])
    assert follow.stop_reason == "end_turn"


def test_stream_thinking(sdk):
    with sdk.messages.stream(model=MODEL, max_tokens=1024, thinking={"type": "adaptive"},
                             messages=[{"role": "user", "content": "Think"}]) as s:
        deltas = {e.delta.type for e in s if e.type == "content_block_delta"}
        final = s.get_final_message()
    assert {"thinking_delta", "signature_delta", "text_delta"} <= deltas
    assert final.content[0].type == "thinking" and final.content[0].signature.startswith("sim-signature-")


async def test_async_client_stream(gateway, sim_ctl):
    client = anthropic.AsyncAnthropic(base_url=gateway.url, api_key=GW_KEY, max_retries=0)
    async with client.messages.stream(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "async"}]) as s:
        text = "".join([t async for t in s.text_stream])
    assert text.endswith("You said: async")
    await client.close()


def test_count_tokens_and_models(sdk):
    assert sdk.messages.count_tokens(model=MODEL, messages=[{"role": "user", "content": "hi " * 50}]).input_tokens > 30
    assert MODEL in [m.id for m in sdk.models.list()]
    assert sdk.models.retrieve(MODEL).display_name == "Claude Sonnet 5.5"


def test_beta_messages(sdk, sim_ctl):
    msg = sdk.beta.messages.create(model=MODEL, max_tokens=32, messages=[{"role": "user", "content": "beta"}],
                                   betas=["interleaved-thinking-2025-05-14"])
    assert msg.content[0].text.endswith("You said: beta")
    seen = sim_ctl.get("/_sim/requests").json()["requests"][-1]
    assert seen["headers"]["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert seen["headers"]["x-api-key"] == SIM_KEY and "authorization" not in seen["headers"]


def test_x_api_key_header_works_too(gateway, sim_ctl):
    r = httpx.post(gateway.url + "/v1/messages", headers={"x-api-key": GW_KEY, "anthropic-version": "2023-06-01"},
                   json={"model": MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 200


# ---- errors map to the SDK's exception classes

def test_401(gateway, sim_ctl):
    bad = anthropic.Anthropic(base_url=gateway.url, api_key="wg_wrong", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as e:
        bad.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert e.value.body["error"] == {"type": "authentication_error", "message": "invalid x-api-key"}
    assert sim_ctl.get("/_sim/stats").json()["requests"] == 0


def test_400_from_intake(sdk):
    with pytest.raises(anthropic.BadRequestError) as e:
        sdk.messages.create(model=MODEL, max_tokens=0, messages=[{"role": "user", "content": "x"}])
    assert e.value.body["error"]["type"] == "invalid_request_error"
    with pytest.raises(anthropic.BadRequestError):
        sdk.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "system", "content": "x"}])


def test_404_from_upstream(sdk):
    with pytest.raises(anthropic.NotFoundError):
        sdk.models.retrieve("claude-nonexistent")


def test_413(gateway, sim_ctl):
    big = anthropic.Anthropic(base_url=gateway.url, api_key=GW_KEY, max_retries=0)
    with pytest.raises(anthropic.ContentTooLargeError) as e:
        big.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x" * (33 * 1024 * 1024)}])
    assert e.value.body["error"]["type"] == "request_too_large"


@pytest.mark.parametrize("fault, exc", [
    ("429", anthropic.RateLimitError), ("500", anthropic.InternalServerError),
    ("503", anthropic.ServiceUnavailableError), ("529", anthropic.OverloadedError)])
def test_upstream_errors_after_retries(sdk, sim_ctl, fault, exc):
    sim_ctl.post("/_sim/faults", json={"faults": [fault] * 3})
    with pytest.raises(exc) as e:
        sdk.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}])
    assert e.value.status_code == int(fault)
    assert sim_ctl.get("/_sim/stats").json()["requests"] == 3  # the gateway retried twice


def test_transient_failures_are_invisible_to_the_caller(sdk, sim_ctl):
    sim_ctl.post("/_sim/faults", json={"faults": ["529", "502"]})
    assert sdk.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "x"}]).content


def test_mid_stream_failure_raises_in_the_sdk(sdk, sim_ctl):
    sim_ctl.post("/_sim/faults", json={"faults": ["drop"]})
    seen = []
    with pytest.raises(anthropic.APIStatusError) as e:
        with sdk.messages.stream(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "x"}]) as s:
            for event in s:
                seen.append(event.type)
    assert "message_stop" not in seen and e.value.body["error"]["type"] == "api_error"
    assert sim_ctl.get("/_sim/stats").json()["requests"] == 1


def test_in_band_upstream_error_reaches_the_sdk(sdk, sim_ctl):
    sim_ctl.post("/_sim/faults", json={"faults": ["error_event"]})
    with pytest.raises(anthropic.APIStatusError) as e:
        with sdk.messages.stream(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "x"}]) as s:
            list(s)
    assert e.value.body["error"]["type"] == "overloaded_error"
