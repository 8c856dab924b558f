"""OutputFilter: what the model wrote, scanned and restored, for whole messages and for streams."""

from __future__ import annotations

import orjson
import pytest

from wardgate.detectors.finding import category_of
from wardgate.detectors.scanner import Scanner
from wardgate.guards.dlp_output import WINDOW, OutputFilter
from wardgate.upstream.sse import SSEEvent

TOKEN = "ghp_XFL41EwCl5ov9RttYnn1sCIvaUojhbOIDYvG"
VALUES = {"[EMAIL_1]": "jane.doe@example.com", "[PHONE_1]": "+44 20 7946 0958"}


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(names=False, addresses=False)


def make(scanner: Scanner, *, values=VALUES, seen=(), actions=None) -> OutputFilter:
    table = {"secret": "redact", "pii": "redact", "custom": "redact"} | (actions or {})

    def action(kind: str) -> str:
        return table.get(kind) or table[category_of(kind)]
    return OutputFilter(scanner, action, values, set(seen), 0.5)


def delta(text: str, index: int = 0) -> SSEEvent:
    return SSEEvent.build("content_block_delta", {
        "type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}})


def json_delta(fragment: str, index: int = 0) -> SSEEvent:
    return SSEEvent.build("content_block_delta", {
        "type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": fragment}})


def stop(index: int = 0) -> SSEEvent:
    return SSEEvent.build("content_block_stop", {"type": "content_block_stop", "index": index})


def run(f: OutputFilter, events: list[SSEEvent]) -> list[SSEEvent]:
    out: list[SSEEvent] = []
    for ev in events:
        got = f.event(ev)
        if got is None:
            continue
        out.extend(got if isinstance(got, list) else [got])
    return out


def text_of(events: list[SSEEvent]) -> str:
    parts = []
    for ev in events:
        if ev.event == "content_block_delta":
            d = ev.json["delta"]
            parts.append(d.get("text", d.get("partial_json", "")))
    return "".join(parts)


# ---- a whole message


def test_message_redacts_a_secret_the_model_wrote_and_restores_placeholders(scanner: Scanner) -> None:
    f = make(scanner)
    doc = {"content": [{"type": "text", "text": f"Use {TOKEN} and write to [EMAIL_1] or [PHONE_1]."}]}
    assert f.message(doc) is True
    assert doc["content"][0]["text"] == "Use [GITHUB_TOKEN] and write to jane.doe@example.com or +44 20 7946 0958."
    assert f.redacted and f.findings == {("github_token", "redact"): 1}


def test_message_scans_and_restores_tool_input(scanner: Scanner) -> None:
    f = make(scanner)
    doc = {"content": [{"type": "tool_use", "id": "t1", "name": "sh",
                        "input": {"cmd": f"export GH={TOKEN}", "to": ["[EMAIL_1]"], "n": 3}}]}
    assert f.message(doc)
    assert doc["content"][0]["input"] == {"cmd": "export GH=[GITHUB_TOKEN]", "to": ["jane.doe@example.com"], "n": 3}


def test_message_leaves_clean_text_and_thinking_alone(scanner: Scanner) -> None:
    f = make(scanner)
    thinking = {"type": "thinking", "thinking": f"the key was {TOKEN}", "signature": "sig"}
    doc = {"content": [thinking, {"type": "text", "text": "All good."}]}
    assert f.message(doc) is False
    assert doc["content"][0] == {"type": "thinking", "thinking": f"the key was {TOKEN}", "signature": "sig"}
    assert not f.redacted


def test_personal_data_from_the_request_is_not_flagged_but_new_data_is(scanner: Scanner) -> None:
    f = make(scanner, seen={"jane.doe@example.com"})
    doc = {"content": [{"type": "text", "text": "I wrote to jane.doe@example.com and bob@example.org."}]}
    f.message(doc)
    assert doc["content"][0]["text"] == "I wrote to jane.doe@example.com and [EMAIL]."


def test_the_seen_set_never_excuses_a_secret(scanner: Scanner) -> None:
    f = make(scanner, seen={TOKEN})
    doc = {"content": [{"type": "text", "text": f"token {TOKEN}"}]}
    f.message(doc)
    assert doc["content"][0]["text"] == "token [GITHUB_TOKEN]"


def test_allow_and_flag_actions_leave_the_text(scanner: Scanner) -> None:
    f = make(scanner, actions={"pii": "allow", "secret": "flag"})
    doc = {"content": [{"type": "text", "text": f"{TOKEN} bob@example.org"}]}
    assert f.message(doc) is False
    assert f.findings == {("github_token", "flag"): 1} and not f.redacted


# ---- a stream


def test_a_token_split_over_five_deltas_never_leaves_in_one_piece_or_in_part(scanner: Scanner) -> None:
    f = make(scanner)
    pieces = ["Here it is: gh", "p_XFL41EwCl", "5ov9RttYnn1s", "CIvaUojhb", "OIDYvG - keep it safe."]
    assert "".join(pieces) == f"Here it is: {TOKEN} - keep it safe."
    out = run(f, [delta(p) for p in pieces] + [stop()])
    text = text_of(out)
    assert text == "Here it is: [GITHUB_TOKEN] - keep it safe."
    for i in range(len(TOKEN) - 8):
        assert TOKEN[i:i + 8] not in text
    assert out[-1].event == "content_block_stop"


def test_nothing_of_a_split_token_is_released_before_the_token_is_complete(scanner: Scanner) -> None:
    f = make(scanner)
    released = ""
    pieces = ["x" * (WINDOW + 10) + " key ", TOKEN[:10], TOKEN[10:20], TOKEN[20:30], TOKEN[30:], " done"]
    for p in pieces:
        got = f.event(delta(p))
        for ev in (got if isinstance(got, list) else [got] if got else []):
            released += text_of([ev])
        assert "ghp_" not in released
    assert TOKEN[:10] not in released + text_of(run(f, [stop()]))


def test_clean_deltas_are_released_as_the_same_event_objects(scanner: Scanner) -> None:
    for values in ({}, VALUES):
        f = make(scanner, values=values)
        events = [delta(f"sentence number {i} is perfectly ordinary. ") for i in range(20)]
        size = len(events[0].json["delta"]["text"])
        released = run(f, events)
        # everything more than WINDOW characters behind the newest text is out before the stop
        assert len(released) >= len(events) - (WINDOW // size + 1)
        out = released + run(f, [stop()])
        assert [id(e) for e in out[:-1]] == [id(e) for e in events]     # byte-faithful: the very objects
        assert out[-1].event == "content_block_stop"


def test_early_clean_deltas_are_released_before_the_stream_ends(scanner: Scanner) -> None:
    f = make(scanner)
    events = [delta("a" * 40 + " ") for _ in range(6)]
    out = run(f, events)
    assert out and out[0] is events[0]


def test_restored_placeholders_in_a_stream(scanner: Scanner) -> None:
    f = make(scanner)
    pieces = ["Write to [EM", "AIL_1] or call [PH", "ONE_1", "] today."]
    out = run(f, [delta(p) for p in pieces] + [stop()])
    assert text_of(out) == "Write to jane.doe@example.com or call +44 20 7946 0958 today."


def test_restored_values_are_not_flagged_as_new_personal_data(scanner: Scanner) -> None:
    f = make(scanner)
    out = run(f, [delta("mail [EMAIL_1] now")] + [stop()])
    assert text_of(out) == "mail jane.doe@example.com now" and not f.redacted


def test_flush_at_block_stop_emits_held_text_before_the_stop_event(scanner: Scanner) -> None:
    f = make(scanner)
    first = f.event(delta("short answer, see [EMAIL_"))
    assert first is None or text_of(first if isinstance(first, list) else [first]) == ""
    end = stop()
    out = f.event(end)
    assert isinstance(out, list) and out[-1] is end
    assert text_of(out[:-1]) == "short answer, see [EMAIL_"


def test_tool_input_json_deltas_are_restored_json_escaped(scanner: Scanner) -> None:
    values = {"[CUSTOM_NOTE_1]": 'say "hi"\n'}
    f = make(scanner, values=values)
    pieces = ['{"msg": "[CUSTOM_N', 'OTE_1]"}']
    out = run(f, [json_delta(p) for p in pieces] + [stop()])
    assert orjson.loads(text_of(out)) == {"msg": 'say "hi"\n'}


def test_blocks_are_independent_and_other_events_pass_through(scanner: Scanner) -> None:
    f = make(scanner)
    start = SSEEvent.build("message_start", {"type": "message_start", "message": {"id": "m"}})
    assert f.event(start) is start
    out = run(f, [delta("block zero: gh", 0), delta("block one: hello", 1), delta(TOKEN[2:], 0), stop(1), stop(0)])
    by_index: dict[int, str] = {}
    for ev in out:
        if ev.event == "content_block_delta":
            by_index[ev.json["index"]] = by_index.get(ev.json["index"], "") + ev.json["delta"]["text"]
    # block 0's two deltas make the token, whatever came between them in block 1
    assert by_index == {0: "block zero: [GITHUB_TOKEN]", 1: "block one: hello"}


def test_a_stop_for_an_unknown_block_passes_through(scanner: Scanner) -> None:
    f = make(scanner)
    end = stop(7)
    assert f.event(end) is end


def test_a_finding_straddling_the_release_point_is_held_whole(scanner: Scanner) -> None:
    key = "AKIAQ3EGRLWZ7YBJXN5T"
    out = run(make(scanner), [delta("the key is " + key[:-1]), delta(key[-1] + " filler words" * 10), stop()])
    assert key not in text_of(out) and "[AWS_ACCESS_KEY_ID]" in text_of(out)


def test_an_unterminated_key_block_cannot_hold_the_stream_or_slow_it(scanner: Scanner) -> None:
    import time
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cK\n"
    events = [delta("-----BEGIN PRIVATE KEY-----\n")] + [delta(body) for _ in range(2000)] + [stop()]
    t0 = time.perf_counter()
    out = run(make(scanner), events)
    assert time.perf_counter() - t0 < 5
    text = text_of(out)
    assert body not in text and "[PRIVATE_KEY]" in text


def test_a_kind_redacted_alone_turns_the_output_scan_on(scanner: Scanner) -> None:
    table = {"secret": "allow", "pii": "allow", "custom": "allow", "email": "redact"}
    f = OutputFilter(scanner, lambda k: table.get(k) or table[category_of(k)], {}, set(), 0.5,
                     ("secret", "pii", "custom", "email"))
    doc = {"content": [{"type": "text", "text": "write to new.person@example.org"}]}
    assert f.message(doc) and doc["content"][0]["text"] == "write to [EMAIL]"
