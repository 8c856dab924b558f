"""Restore: placeholders back to values, in whole texts, JSON documents and streams."""

from __future__ import annotations

import orjson
import pytest

from wardgate.operators.restore import MAX_PLACEHOLDER, PLACEHOLDER, StreamRestorer, restore_json, restore_text

VALUES = {"[EMAIL_1]": "jane@example.com", "[PHONE_12]": "+44 20 7946 0958", "[CUSTOM_PROJECT_1]": 'Falcon "β"\n\\'}


def test_restore_text_replaces_known_placeholders_only() -> None:
    text = "mail [EMAIL_1] or [EMAIL_2], call [PHONE_12]; [email_1] [EMAIL] [EMAIL_1"
    assert restore_text(text, VALUES) == (
        "mail jane@example.com or [EMAIL_2], call +44 20 7946 0958; [email_1] [EMAIL] [EMAIL_1")


def test_restore_text_without_values_or_brackets_returns_the_same_object() -> None:
    text = "nothing to do [EMAIL_1]"
    assert restore_text(text, {}) is text
    plain = "no brackets here"
    assert restore_text(plain, VALUES) is plain


def test_restore_text_json_escapes_the_value() -> None:
    fragment = '{"q": "[CUSTOM_PROJECT_1] and [EMAIL_1]"}'
    out = restore_text(fragment, VALUES, json=True)
    assert orjson.loads(out) == {"q": 'Falcon "β"\n\\ and jane@example.com'}


def test_restore_json_reaches_nested_strings_and_keys() -> None:
    doc = {"to": ["[EMAIL_1]", 3, None, True], "[EMAIL_1]": {"note": "call [PHONE_12]"}, "n": 1.5}
    assert restore_json(doc, VALUES) == {
        "to": ["jane@example.com", 3, None, True], "jane@example.com": {"note": "call +44 20 7946 0958"}, "n": 1.5}


def test_the_longest_placeholder_fits_the_hold_back() -> None:
    longest = "[" + "A" * 41 + "_" + "9" * 6 + "]"
    assert PLACEHOLDER.fullmatch(longest) and len(longest) == MAX_PLACEHOLDER
    r = StreamRestorer({longest: "v"})
    assert r.feed(longest[:-1]) == "" and r.feed("]") == "v"


def _stream(chunks: list[str], values=VALUES, json: bool = False) -> str:
    r = StreamRestorer(values, json=json)
    return "".join(r.feed(c) for c in chunks) + r.flush()


TEXT = "Hi [EMAIL_1], your number [PHONE_12] and [CUSTOM_PROJECT_1] ([UNKNOWN_3]) [x] [EMAIL_1]"


def test_placeholders_split_at_every_position_across_two_chunks() -> None:
    want = restore_text(TEXT, VALUES)
    for i in range(len(TEXT) + 1):
        assert _stream([TEXT[:i], TEXT[i:]]) == want, i


def test_placeholders_split_at_every_pair_of_positions_across_three_chunks() -> None:
    text = "a [EMAIL_1]b[PHONE_12]"
    want = restore_text(text, VALUES)
    for i in range(len(text) + 1):
        for j in range(i, len(text) + 1):
            assert _stream([text[:i], text[i:j], text[j:]]) == want, (i, j)


def test_one_character_at_a_time() -> None:
    assert _stream(list(TEXT)) == restore_text(TEXT, VALUES)


def test_only_a_possible_placeholder_prefix_is_held_back() -> None:
    r = StreamRestorer(VALUES)
    assert r.feed("a [") == "a " and r.held
    assert r.feed("EMAIL_") == "" and r.held
    assert r.feed("1] b") == "jane@example.com b" and not r.held
    assert r.feed("[x]") == "[x]" and not r.held           # lower case: never a placeholder
    assert r.feed("[x") == "[x" and not r.held
    assert r.feed("[A-") == "[A-" and not r.held             # a dash cannot be in one
    assert r.feed("see [EMAIL_1] [") == "see jane@example.com " and r.held
    assert r.flush() == "[" and not r.held


def test_a_long_bracketed_run_is_released_once_it_cannot_be_a_placeholder() -> None:
    r = StreamRestorer(VALUES)
    prefix = "[" + "A" * 41 + "_" + "9" * 6                   # the longest placeholder but its "]"
    assert r.feed(prefix) == "" and r.held
    assert r.feed("9") == prefix + "9" and not r.held           # one digit too many: release it all
    assert r.feed("[" + "A" * 49) == "[" + "A" * 49 and not r.held


def test_flush_restores_a_placeholder_that_ended_the_stream() -> None:
    r = StreamRestorer(VALUES)
    assert r.feed("bye [EMAIL_1") == "bye "
    assert r.flush() == "[EMAIL_1"                          # never closed: left as it came
    r2 = StreamRestorer(VALUES)
    r2.feed("bye [EMAIL_1")
    assert r2.feed("]") == "jane@example.com"


def test_stream_json_escapes_values_in_partial_json() -> None:
    doc = '{"cmd": "notify [CUSTOM_PROJECT_1] at [EMAIL_1]"}'
    for i in range(len(doc) + 1):
        out = _stream([doc[:i], doc[i:]], json=True)
        assert orjson.loads(out) == {"cmd": 'notify Falcon "β"\n\\ at jane@example.com'}, i
