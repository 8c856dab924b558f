"""Secret detectors on the corpus (tests/data/secrets.jsonl) and on hand-written positives with
their near-misses side by side (tests/data/dlp_cases.jsonl).

Recall counts a positive as found when a secret finding overlaps its value, as
bench/dlp/quality.py does; a stricter test then checks that nothing of the value is left out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wardgate.detectors.finding import SECRET_KINDS, Finding
from wardgate.detectors.scanner import Scanner

DATA = Path(__file__).parent.parent / "data"
CORPUS = [json.loads(line) for line in (DATA / "secrets.jsonl").read_text().splitlines() if line.strip()]
PLAIN = [r for r in CORPUS if r["label"] == 1 and not r.get("obfuscated")]
OBFUSCATED = [r for r in CORPUS if r["label"] == 1 and r.get("obfuscated")]
NEGATIVES = [r for r in CORPUS if r["label"] == 0]
CASES = [json.loads(line) for line in (DATA / "dlp_cases.jsonl").read_text().splitlines() if line.strip()]
SECRET_CASES = [c for c in CASES if c["kind"] in SECRET_KINDS or (c["kind"] is None and c["about"] == "secret")]


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(names=False, addresses=False)


def value_span(row: dict) -> tuple[int, int]:
    start = row["text"].index(row["value"])
    return start, start + len(row["value"])


def secrets_in(scanner: Scanner, text: str) -> list[Finding]:
    return [f for f in scanner.scan(text) if f.category == "secret"]


def found(scanner: Scanner, row: dict) -> bool:
    s, e = value_span(row)
    return any(f.start < e and s < f.end for f in secrets_in(scanner, row["text"]))


def test_corpus_has_every_group() -> None:
    assert len(PLAIN) > 500 and len(OBFUSCATED) > 50 and len(NEGATIVES) > 300
    assert {r["obfuscated"] for r in OBFUSCATED} >= {"zero_width", "fullwidth", "cyrillic_prefix", "split_spaces"}


def test_recall_on_plain_positives(scanner: Scanner) -> None:
    missed = [r["text"][:120] for r in PLAIN if not found(scanner, r)]
    assert 1 - len(missed) / len(PLAIN) >= 0.99, missed


def test_recall_on_obfuscated_positives(scanner: Scanner) -> None:
    missed = [(r["obfuscated"], r["text"][:120]) for r in OBFUSCATED if not found(scanner, r)]
    assert 1 - len(missed) / len(OBFUSCATED) >= 0.95, missed


def test_negatives_have_no_secret_findings(scanner: Scanner) -> None:
    flagged = [(r["why"], r["text"][:120], [(f.kind, r["text"][f.start:f.end]) for f in fs])
               for r in NEGATIVES if (fs := secrets_in(scanner, r["text"]))]
    assert flagged == []


def test_plain_positives_leave_no_part_of_the_value_visible(scanner: Scanner) -> None:
    """Every character of the secret is inside a secret finding. A service-account file is a
    whole JSON document (its key id and private key are found; the project name need not be),
    and a webhook URL's scheme is not secret."""
    leaks = []
    for r in PLAIN:
        if r["kind"] == "gcp_service_account":
            continue
        s, e = value_span(r)
        if r["value"].startswith("https://"):
            s += len("https://")
        covered = [False] * (e - s)
        for f in secrets_in(scanner, r["text"]):
            for i in range(max(s, f.start), min(e, f.end)):
                covered[i - s] = True
        if not all(covered):
            leaks.append((r["kind"], r["text"][:120]))
    assert leaks == []


def test_service_account_key_id_and_private_key_are_both_found(scanner: Scanner) -> None:
    rows = [r for r in PLAIN if r["kind"] == "gcp_service_account"]
    assert rows
    for r in rows:
        kinds = {f.kind for f in secrets_in(scanner, r["text"])}
        assert {"gcp_service_account", "private_key"} <= kinds, r["text"][:80]


# ---- hand-written cases: positives and near-misses side by side


@pytest.mark.parametrize("case", SECRET_CASES, ids=lambda c: f"{c['kind'] or 'no-' + c['why']}")
def test_case(scanner: Scanner, case: dict) -> None:
    text = case["text"]
    got = [(f.kind, text[f.start:f.end]) for f in scanner.scan(text)]
    if case["kind"] is None:
        assert got == [], case["why"]
    else:
        assert got == [(case["kind"], case["value"])]


def test_cases_cover_every_vendor_kind_with_a_positive() -> None:
    kinds = {c["kind"] for c in SECRET_CASES if c["kind"]}
    assert kinds >= set(SECRET_KINDS) - {"gcp_service_account"}  # a whole JSON file: the corpus has it


# ---- split keys: the finding is the whole key, separators included, and no more


@pytest.mark.parametrize("sep", [" ", "-"])
def test_aws_key_id_split_in_groups_of_four(scanner: Scanner, sep: str) -> None:
    key = sep.join(["AKIA", "Q3EG", "RTZX", "5WDN", "7PLJ"])
    text = f"the key is {key} and it works"
    [f] = scanner.scan(text)
    assert (f.kind, text[f.start:f.end]) == ("aws_access_key_id", key)


def test_a_spaced_key_does_not_take_the_following_words(scanner: Scanner) -> None:
    key = "ghp_XFL41E wCl5ov 9RttYn n1sCIv aUojhb OIDYvG"
    text = f"token {key} but it expired yesterday"
    [f] = scanner.scan(text)
    assert text[f.start:f.end] == key


ANTHROPIC = ("sk-ant-api03-aHL_E9yTYL_9S4xDQNMAAL5QaDtpc6RzGKXi5Asa6smYgOw9RTEzi1JGLEXa0sO40x9ehcZGvQfZnHg5wplQ70Mx"
             "rbgPNAA")


@pytest.mark.parametrize("tail", [" and it fails", ". It fails with 401", " (rotated)", "\nnext line", ", thanks"])
def test_key_span_stops_at_the_key(scanner: Scanner, tail: str) -> None:
    text = f"key {ANTHROPIC}{tail}"
    [f] = scanner.scan(text)
    assert text[f.start:f.end] == ANTHROPIC


@pytest.mark.parametrize("tail", [" - why does every call return 401?", " - thanks"])
def test_key_span_stops_before_a_spaced_dash(scanner: Scanner, tail: str) -> None:
    text = f"Here's my key {ANTHROPIC}{tail}"
    [f] = scanner.scan(text)
    assert text[f.start:f.end] == ANTHROPIC


def test_vendor_token_inside_url_credentials_keeps_its_kind(scanner: Scanner) -> None:
    token = "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"
    text = f"git remote set-url origin https://x-access-token:{token}@github.com/acme/app"
    [f] = secrets_in(scanner, text)
    assert (f.kind, text[f.start:f.end]) == ("github_token", token)


@pytest.mark.parametrize("text", [
    "client = Anthropic(api_key=os.environ['ANTHROPIC_API_KEY'])",
    "Authorization: Bearer $TOKEN",
    "x-api-key: {{ secrets.ANTHROPIC_API_KEY }}",
    "api_key: YOUR_API_KEY",
    "API_KEY=<paste your key here>",
    "token = '${GITHUB_TOKEN}'",
    "secret: !vault |",
])
def test_placeholders_and_references_are_not_secrets(scanner: Scanner, text: str) -> None:
    assert secrets_in(scanner, text) == []
