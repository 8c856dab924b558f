"""normalize(): what the detectors see, and the exact way back to what the caller sent."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wardgate.detectors.scanner import Scanner
from wardgate.detectors.text import normalize

ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\U000e0041", "\ufe0f")


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(names=False, addresses=False)


def original_of(text: str, start: int, end: int) -> str:
    n = normalize(text)
    s, e = n.span(start, end)
    return text[s:e]


# ---- the fast path: ASCII, and non-ASCII text that does not change


@pytest.mark.parametrize("text", ["", "plain ascii, key=value; 192.168.0.1", "tab\tand\nnewline\x00nul"])
def test_ascii_is_its_own_normal_form(text: str) -> None:
    n = normalize(text)
    assert n.identity and n.text is text and n.original is text
    assert n.span(0, len(text)) == (0, len(text))


@pytest.mark.parametrize("text", [
    "café au lait 👍",                   # precomposed é and an emoji
    "cafe\u0301 👍🏽 naïve",                  # a combining acute, an emoji with a skin-tone modifier
    "日本語のテキスト",                     # CJK stays as it is
    "λ ξ ψ ω δ Δ Σ",                     # Greek letters with no Latin look-alike
])
def test_stable_non_ascii_text_is_untouched(text: str) -> None:
    n = normalize(text)
    assert n.identity and n.text == text


def test_combining_marks_are_not_composed_or_dropped() -> None:
    n = normalize("cafe\u0301")
    assert n.text == "cafe\u0301"  # NFKC per character: a lone combining mark is left alone


# ---- what changes, and the exact span back


def test_zero_width_and_format_characters_are_removed() -> None:
    text = "to" + "".join(ZERO_WIDTH) + "ken"
    n = normalize(text)
    assert n.text == "token"
    assert n.span(0, 5) == (0, len(text))
    assert n.span(2, 5) == (2 + len(ZERO_WIDTH), len(text))  # "ken" starts after the invisible run


def test_zero_width_inside_a_value_maps_back_to_the_whole_value(scanner: Scanner) -> None:
    value = "AKIAQ3EG\u200bRTZX\u200d5WDN\u20607PLJ"
    text = f"aws key: {value} in prod"
    [f] = scanner.scan(text)
    assert f.kind == "aws_access_key_id"
    assert text[f.start:f.end] == value


def test_fullwidth_digits_fold_and_map_back_one_to_one(scanner: Scanner) -> None:
    value = "４１１１ １１１１ １１１１ １１１１"
    text = f"card {value} thanks"
    n = normalize(text)
    assert n.text == "card 4111 1111 1111 1111 thanks"
    [f] = scanner.scan(text)
    assert f.kind == "credit_card" and text[f.start:f.end] == value


@pytest.mark.parametrize(("value", "kind"), [
    ("ѕk-ant-api03-Ab3dEf9hIj0kLm2nOp4qRs6tUv8wXy1zQ7", "anthropic_key"),   # Cyrillic dze
    ("АKIAQ3EGRTZX5WDN7PLJ", "aws_access_key_id"),                          # Cyrillic A
    ("ΑKIAQ3EGRTZX5WDN7PLJ", "aws_access_key_id"),                          # Greek Alpha
    ("ghр_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "github_token"),           # Cyrillic er
    ("jаnе.dое@ехаmрlе.соm", "email"),                                      # mostly Cyrillic
])
def test_homoglyphs_fold_to_latin_and_the_span_is_the_original(scanner: Scanner, value: str, kind: str) -> None:
    text = f"here: {value} ok"
    assert normalize(text).text.isascii()
    [f] = scanner.scan(text)
    assert f.kind == kind and text[f.start:f.end] == value


def test_ligatures_expand_and_a_span_inside_one_covers_the_whole_character(scanner: Scanner) -> None:
    text = "write to oﬃce@example.com now"   # U+FB03 "ffi": one character, three in the normal form
    n = normalize(text)
    assert n.text == "write to office@example.com now"
    [f] = scanner.scan(text)
    assert text[f.start:f.end] == "oﬃce@example.com"
    # a normalised span that starts or ends inside the expansion covers the whole ligature
    lig = text.index("ﬃ")
    assert n.span(lig + 1, lig + 2) == (lig, lig + 1)
    assert n.span(lig + 2, n.text.index("@")) == (lig, text.index("@"))


def test_spans_before_and_after_changed_characters_are_shifted_exactly() -> None:
    text = "A\u200bB ﬁ C１D"
    n = normalize(text)
    assert n.text == "AB fi C1D"
    for ch in "ABCD":
        i = n.text.index(ch)
        assert n.span(i, i + 1) == (text.index(ch), text.index(ch) + 1)


def test_variation_selectors_are_dropped_but_kept_inside_the_span() -> None:
    text = "x❤\ufe0fy"
    n = normalize(text)
    assert n.text == "x❤y"
    assert n.span(0, 3) == (0, len(text))


# ---- the property: invisible characters anywhere in a value never hide it

VALUES = (
    ("jane.doe@example.com", "email"),
    ("AKIAQ3EGRTZX5WDN7PLJ", "aws_access_key_id"),
    ("4111 1111 1111 1111", "credit_card"),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    which=st.sampled_from(VALUES),
    prefix=st.sampled_from(["", "see ", "my card/key/mail is ", "text\nwith lines: "]),
    inserts=st.lists(st.tuples(st.integers(min_value=0, max_value=40), st.sampled_from(ZERO_WIDTH)),
                     min_size=1, max_size=6),
)
def test_zero_width_chars_anywhere_still_yield_the_value(scanner: Scanner, which, prefix: str, inserts) -> None:
    value, kind = which
    chars = list(value)
    for pos, zw in sorted(inserts, reverse=True):
        chars.insert(min(pos, len(chars)), zw)
    obfuscated = "".join(chars)
    text = f"{prefix}{obfuscated} thanks"
    found = [f for f in scanner.scan(text) if f.kind == kind]
    assert len(found) == 1, (text, found)
    got = text[found[0].start:found[0].end]
    assert "".join(c for c in got if c not in ZERO_WIDTH) == value
    # the span never reaches past the obfuscated value into the surrounding text
    start = len(prefix)
    assert start <= found[0].start and found[0].end <= start + len(obfuscated)
