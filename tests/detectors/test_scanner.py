"""Scanner: overlaps, custom entities, RE2-only patterns, the deadline, and time linear in the input."""

from __future__ import annotations

import random
import string
import time

import pytest

from wardgate.detectors.scanner import CustomEntity, ScanBudgetExceeded, Scanner, compile_pattern


@pytest.fixture(scope="module")
def bare() -> Scanner:
    return Scanner(names=False, addresses=False)


@pytest.fixture(scope="module")
def full() -> Scanner:
    return Scanner()


def found(scanner: Scanner, text: str) -> list[tuple[str, str]]:
    return [(f.kind, text[f.start:f.end]) for f in scanner.scan(text)]


def test_empty_text_has_no_findings(bare: Scanner) -> None:
    assert bare.scan("") == []


def test_findings_are_sorted_and_never_overlap(bare: Scanner) -> None:
    text = ("mail jane@example.com or call 415-555-2671; key ghp_XFL41EwCl5ov9RttYnn1sCIvaUojhbOIDYvG; "
            "card 4111 1111 1111 1111; ip 192.168.10.25; password: Zx9vQ2mN7pL4")
    fs = bare.scan(text)
    assert [f.kind for f in fs] == ["email", "phone", "github_token", "credit_card", "ip_address", "password"]
    assert all(a.end <= b.start for a, b in zip(fs, fs[1:]))


# ---- overlaps


@pytest.mark.parametrize(("text", "secret", "pii"), [
    ("password: 415-555-2671", ("password", "415-555-2671"), ("phone", "415-555-2671")),
    ("db_pass: 192.168.100.200x", ("password", "192.168.100.200x"), ("ip_address", "192.168.100.200")),
])
def test_a_secret_beats_personal_data_on_the_same_text(bare: Scanner, text: str, secret, pii) -> None:
    pii_only = Scanner(names=False, addresses=False, kinds=[pii[0]])
    assert found(pii_only, text) == [pii]           # the personal-data detector does fire on it
    assert found(bare, text) == [secret]             # and loses to the secret


def test_custom_beats_personal_data_and_secret_beats_custom() -> None:
    scanner = Scanner(names=False, addresses=False, custom=[
        CustomEntity("employee", pattern=r"EMP-\d{3}-\d{3}-\d{4}"),
        CustomEntity("codeword", terms=("Zx9vQ2mN7pL4",)),
    ])
    assert found(scanner, "id EMP-415-555-2671 here") == [("custom:employee", "EMP-415-555-2671")]
    assert found(scanner, "password: Zx9vQ2mN7pL4") == [("password", "Zx9vQ2mN7pL4")]


def test_within_a_category_the_longer_span_wins(bare: Scanner) -> None:
    text = "call 415-555-2671 x12 now"
    assert found(bare, text) == [("phone", "415-555-2671 x12")]


# ---- custom patterns and dictionaries


@pytest.fixture(scope="module")
def custom() -> Scanner:
    return Scanner(names=False, addresses=False, custom=[
        CustomEntity("employee", pattern=r"\bEMP-\d{6}\b"),
        CustomEntity("project", terms=("Falcon", "Blue Heron", "Blue", "a.b")),
        CustomEntity("ticker", terms=("ACME",), case_sensitive=True),
    ])


@pytest.mark.parametrize(("text", "want"), [
    ("ask EMP-123456 about it", [("custom:employee", "EMP-123456")]),
    ("ask EMP-1234567 about it", []),
    ("project falcon ships", [("custom:project", "falcon")]),
    ("PROJECT FALCON SHIPS", [("custom:project", "FALCON")]),
    ("Falconry is a sport", []),
    ("a peregrine-falcon", [("custom:project", "falcon")]),
    ("the Blue Heron flies", [("custom:project", "Blue Heron")]),   # the longest term first
    ("blue sky", [("custom:project", "blue")]),
    ("xa.by and a.b", [("custom:project", "a.b")]),                # terms are literal, not patterns
    ("buy ACME now", [("custom:ticker", "ACME")]),
    ("buy Acme now", []),
])
def test_custom_entities(custom: Scanner, text: str, want) -> None:
    assert found(custom, text) == want


@pytest.mark.parametrize("term", ["C++", "Acme Inc."])
def test_dictionary_terms_ending_in_punctuation(term: str) -> None:
    scanner = Scanner(names=False, addresses=False, custom=[CustomEntity("t", terms=(term,))])
    text = f"we use {term} daily"
    assert found(scanner, text) == [("custom:t", term)]


def test_custom_entities_survive_a_kinds_filter() -> None:
    scanner = Scanner(names=False, addresses=False, kinds=["email"], custom=[CustomEntity("p", terms=("Falcon",))])
    text = "jane@example.com, 415-555-2671, Falcon, ghp_XFL41EwCl5ov9RttYnn1sCIvaUojhbOIDYvG"
    assert found(scanner, text) == [("email", "jane@example.com"), ("custom:p", "Falcon")]


# ---- only RE2


@pytest.mark.parametrize("pattern", [r"(a+)+(?=x)", r"(?<=a)b", r"(?!x)y", r"(a)\1", r"(?P<w>a)(?P=w)"])
def test_compile_pattern_refuses_what_re2_cannot_do(pattern: str) -> None:
    with pytest.raises(ValueError, match="RE2"):
        compile_pattern(pattern)


def test_nested_quantifiers_are_accepted_because_re2_does_not_backtrack() -> None:
    rx = compile_pattern(r"(a+)+$")
    t0 = time.perf_counter()
    assert rx.search("a" * 50_000 + "!") is None
    assert time.perf_counter() - t0 < 0.5


def test_a_custom_entity_with_a_lookaround_is_refused_at_configuration() -> None:
    with pytest.raises(ValueError):
        Scanner(names=False, addresses=False, custom=[CustomEntity("bad", pattern=r"EMP-(?=\d)")])


# ---- the deadline


def test_a_deadline_already_past_raises(bare: Scanner) -> None:
    with pytest.raises(ScanBudgetExceeded):
        bare.scan("mail jane@example.com", deadline=time.perf_counter() - 1)


def test_a_deadline_in_the_future_is_no_obstacle(bare: Scanner) -> None:
    assert found(bare, "mail jane@example.com") == [("email", "jane@example.com")]
    assert bare.scan("mail jane@example.com", deadline=time.perf_counter() + 60)


# ---- linear time

_rnd = random.Random(20261121)
ADVERSARIAL = {
    "a": "a" * 100_000,
    "1 ": "1 " * 50_000,
    "@": "@" * 100_000,
    "a@": "a@" * 50_000,
    "sk-ant": "sk-ant-api03-" + "A" * 100_000,
    "AKIA": "AKIA" * 25_000,
    "pem": "-----BEGIN PRIVATE KEY-----" + "A" * 100_000,
    "password=": "password=" * 12_000,
    "1-": "1-" * 50_000,
    "+1 (": "+1 (" * 25_000,
    "::": "::" * 50_000,
    "[EMAIL_": "[EMAIL_" * 14_000,
    "1.": "1." * 50_000,
    "hex:": "abcd:" * 20_000,
    "dob": "dob " * 25_000,
    "random": "".join(_rnd.choice(string.printable) for _ in range(100_000)),
}
def _time(scanner: Scanner, text: str) -> float:
    t0 = time.perf_counter()
    scanner.scan(text)
    return time.perf_counter() - t0


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_100kb_adversarial_input_scans_quickly(full: Scanner, name: str) -> None:
    assert _time(full, ADVERSARIAL[name]) < 1.5


@pytest.mark.parametrize("unit", ["a@", "1-", "sk-ant-api03-A", "[EMAIL_", "random"])
def test_scan_time_grows_linearly(full: Scanner, unit: str) -> None:
    def text(n: int) -> str:
        if unit == "random":
            rnd = random.Random(7)
            return "".join(rnd.choice(string.printable) for _ in range(n))
        return (unit * (n // len(unit) + 1))[:n]
    small, large = text(50_000), text(200_000)
    _time(full, small)  # warm caches
    assert _time(full, large) < 4 * max(_time(full, small), 0.005) + 0.05


def test_scan_time_is_linear_with_many_findings(bare: Scanner) -> None:
    small, large = "x@y.io " * 1_800, "x@y.io " * 7_200   # ~12.5 KB and ~50 KB, one email each 7 characters
    _time(bare, small)
    best = lambda text: min(_time(bare, text) for _ in range(3))  # noqa: E731 (the least disturbed run)
    assert best(large) < 4 * best(small) + 0.05
