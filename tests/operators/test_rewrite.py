"""Rewrite operators: labels, redaction, masking, and edits at finding spans."""

from __future__ import annotations

import pytest

from wardgate.detectors.finding import Finding
from wardgate.detectors.scanner import Scanner
from wardgate.operators.rewrite import label, mask, redact, rewrite


@pytest.mark.parametrize(("kind", "want"), [
    ("credit_card", "CREDIT_CARD"), ("email", "EMAIL"), ("custom:project", "PROJECT"),
    ("custom:employee-id", "EMPLOYEE_ID"), ("aws_access_key_id", "AWS_ACCESS_KEY_ID"),
])
def test_label(kind: str, want: str) -> None:
    assert label(kind) == want
    assert redact(kind) == f"[{want}]"


@pytest.mark.parametrize(("value", "want"), [
    ("4111 1111 1111 1234", "**** **** **** 1234"),
    ("4111-1111-1111-1234", "****-****-****-1234"),
    ("jane@example.com", "****@******e.com"),
    ("+44 20 7946 0958", "+** ** **** 0958"),
    ("abcd", "abcd"),
    ("ab", "ab"),
    ("", ""),
])
def test_mask_keeps_the_last_four_letters_or_digits_and_every_separator(value: str, want: str) -> None:
    assert mask(value) == want
    assert len(mask(value)) == len(value)


def _f(start: int, end: int, kind: str = "email") -> Finding:
    return Finding(kind, start, end, 0.9, "test")


def test_rewrite_replaces_each_span_and_keeps_the_rest() -> None:
    text = "a jane@example.com b 415-555-2671 c"
    edits = [(_f(2, 18), "[EMAIL_1]"), (_f(21, 33, "phone"), "[PHONE_1]")]
    assert rewrite(text, edits) == "a [EMAIL_1] b [PHONE_1] c"


def test_rewrite_at_the_edges_and_with_no_edits() -> None:
    assert rewrite("secret", [(_f(0, 6), "[X]")]) == "[X]"
    assert rewrite("ab", [(_f(0, 1), "1"), (_f(1, 2), "2")]) == "12"
    assert rewrite("unchanged", []) == "unchanged"


def test_rewrite_on_the_original_of_an_obfuscated_text_removes_every_invisible_character() -> None:
    text = "key: AKIAQ3EG\u200bRTZX\u200d5WDN7PLJ, thanks"
    [f] = Scanner(names=False, addresses=False).scan(text)
    assert rewrite(text, [(f, redact(f.kind))]) == "key: [AWS_ACCESS_KEY_ID], thanks"
