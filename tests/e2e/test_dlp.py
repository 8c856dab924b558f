"""The dlp issue's acceptance scenario through real processes and the official SDK.

A ``wardgate serve`` process in front of the simulated upstream, which echoes the user's last
words and records every body it receives. The simulator runs in this process (a loopback
server in a thread, ``wardgate.testing.SimUpstream``) because its stream piece size has no
``/_sim/`` control endpoint: ``piece_chars=3`` makes every placeholder arrive split across
deltas (``[EM`` + ``AIL`` + ``_1]``).
"""

from __future__ import annotations

import json
import re
import uuid

import anthropic
import pytest

from tests.conftest import MODEL
from tests.e2e.conftest import GW_KEY, SIM_KEY, start_gateway
from wardgate.testing import SimUpstream

pytestmark = pytest.mark.e2e

EMAIL = "maria.keller@kunde-example.de"
CARD = "4111 1111 1111 1111"
AWS = "AKIAZ4MPQ7RTW2XHN6LB"  # documented shape (AKIA + 16 of [A-Z2-7]), not an example value
PROMPT = f"Please draft a reply to our customer {EMAIL}; the refund goes to card {CARD}."
PLACEHOLDER = re.compile(r"\[[A-Z_]+_\d+\]")


@pytest.fixture(scope="module")
def sim():
    with SimUpstream(api_key=SIM_KEY, piece_chars=3) as server:
        yield server


@pytest.fixture
def recorded(sim):
    """The bodies the upstream received during one test."""
    sim.state.requests.clear()
    yield sim.state.requests
    sim.state.requests.clear()


@pytest.fixture(scope="module")
def gateway(sim, tmp_path_factory):
    gw = start_gateway(sim.url, tmp_path_factory.mktemp("dlp"))
    yield gw
    gw.stop()


def sdk(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key=GW_KEY, max_retries=0)


def ask(client: anthropic.Anthropic, messages: list[dict]) -> str:
    msg = client.messages.create(model=MODEL, max_tokens=512, messages=messages)
    return "".join(b.text for b in msg.content if b.type == "text")


def upstream_messages(recorded) -> list[str]:
    body = json.loads(recorded[-1]["body"])
    return [m["content"] if isinstance(m["content"], str) else json.dumps(m["content"]) for m in body["messages"]]


def assert_pseudonymized(raw_body: str) -> None:
    assert EMAIL not in raw_body
    assert CARD not in raw_body and CARD.replace(" ", "") not in raw_body
    assert "[EMAIL_1]" in raw_body and "[CREDIT_CARD_1]" in raw_body


def test_a_secret_is_refused_with_its_kind_and_never_reaches_the_upstream(gateway, recorded):
    with pytest.raises(anthropic.BadRequestError) as caught:
        ask(sdk(gateway.url), [{"role": "user", "content": f"{PROMPT} Deploy with key {AWS}."}])
    err = caught.value
    assert err.status_code == 400
    assert err.body["error"]["type"] == "invalid_request_error"
    assert "aws_access_key_id" in err.message
    assert err.response.headers.get("wardgate-error-code") == "dlp.secret_blocked"
    assert AWS not in err.response.text and AWS not in str(err)
    assert len(recorded) == 0


def test_personal_data_is_pseudonymized_upstream_and_restored_in_the_stream(gateway, recorded):
    with sdk(gateway.url).messages.stream(model=MODEL, max_tokens=512,
                                          messages=[{"role": "user", "content": PROMPT}]) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(recorded) == 1
    assert_pseudonymized(recorded[0]["body"])
    # the simulator streamed three characters at a time, so each placeholder came back split
    text = "".join(pieces)
    assert not any(PLACEHOLDER.fullmatch(p) for p in pieces)
    assert PROMPT in text
    assert not PLACEHOLDER.search(text)
    assert final.content[0].text == text and final.stop_reason == "end_turn"


def test_personal_data_is_pseudonymized_upstream_and_restored_in_json(gateway, recorded):
    text = ask(sdk(gateway.url), [{"role": "user", "content": PROMPT}])
    assert len(recorded) == 1
    assert_pseudonymized(recorded[0]["body"])
    assert PROMPT in text and not PLACEHOLDER.search(text)


def test_two_replicas_sharing_redis_give_one_placeholder_per_value(sim, recorded, tmp_path, redis_url):
    shared = (f"redis:\n  url: {redis_url}\n"
              f"limits:\n  redis_prefix: \"wge2e:{uuid.uuid4().hex[:12]}:\"\n")
    replicas = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            replicas.append(start_gateway(sim.url, tmp_path / name, extra_yaml=shared))
        a, b = (sdk(r.url) for r in replicas)
        carol, dave = "carol.ng@kunde-example.de", "dave.osei@kunde-example.de"

        # turn 1 on replica A
        first = {"role": "user", "content": PROMPT}
        answer1 = ask(a, [first])
        assert PROMPT in answer1
        assert_pseudonymized(recorded[-1]["body"])

        # turn 2, with the history, on replica B: the same email is the same placeholder
        history = [first, {"role": "assistant", "content": answer1}]
        answer2 = ask(b, [*history, {"role": "user", "content": f"Also copy {carol} and {EMAIL}."}])
        sent = upstream_messages(recorded)
        assert "[EMAIL_1]" in sent[0] and "[EMAIL_1]" in sent[1]
        assert sent[2] == "Also copy [EMAIL_2] and [EMAIL_1]."
        assert EMAIL not in recorded[-1]["body"] and carol not in recorded[-1]["body"]
        assert f"Also copy {carol} and {EMAIL}." in answer2

        # the same turn regenerated on A with other words: A knows carol's placeholder from B,
        # and a new value gets the next number, not one B already gave out
        ask(a, [*history, {"role": "user", "content": f"Copy {dave}, then {carol}."}])
        assert upstream_messages(recorded)[2] == "Copy [EMAIL_3], then [EMAIL_2]."
    finally:
        for r in replicas:
            r.stop()
