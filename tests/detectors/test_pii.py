"""PII detectors: positives and near-misses side by side (tests/data/dlp_cases.jsonl), then the
number classifier's decisions one by one.

1.2.3.4 is a valid IPv4 address, and an address is what a dotted quad is taken to be: a
version string has to look like one (``v1.2.3.4``, ``1.2.3``, ``10.2.0.1234``) to be left alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wardgate.detectors.finding import PII_KINDS
from wardgate.detectors.scanner import Scanner

DATA = Path(__file__).parent.parent / "data"
CASES = [json.loads(line) for line in (DATA / "dlp_cases.jsonl").read_text().splitlines() if line.strip()]
PII_CASES = [c for c in CASES if c["kind"] in PII_KINDS or (c["kind"] is None and c["about"] == "pii")]


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(names=False, addresses=False)


def found(scanner: Scanner, text: str) -> list[tuple[str, str]]:
    return [(f.kind, text[f.start:f.end]) for f in scanner.scan(text)]


@pytest.mark.parametrize("case", PII_CASES, ids=lambda c: f"{c['kind'] or 'no-' + c['why']}")
def test_case(scanner: Scanner, case: dict) -> None:
    got = found(scanner, case["text"])
    if case["kind"] is None:
        assert got == [], case["why"]
    else:
        assert got == [(case["kind"], case["value"])]


def test_cases_cover_every_structured_kind() -> None:
    kinds = {c["kind"] for c in PII_CASES if c["kind"]}
    assert kinds == set(PII_KINDS) - {"street_address", "person"}  # those have their own tests


# ---- cards


@pytest.mark.parametrize("card", ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111",
                                  "5555 5555 5555 4444", "3782 822463 10005"])
def test_luhn_valid_cards_are_found_whole(scanner: Scanner, card: str) -> None:
    text = f"paid with {card}, thanks"
    assert found(scanner, text) == [("credit_card", card)]


@pytest.mark.parametrize("card", ["4111 1111 1111 1112", "4111-1111-1111-1112", "5555 5555 5555 4445"])
def test_luhn_invalid_cards_are_not_cards(scanner: Scanner, card: str) -> None:
    assert all(kind != "credit_card" for kind, _ in found(scanner, f"paid with {card}, thanks"))


@pytest.mark.parametrize("card", ["4111 1111 1111 1112", "0000 0000 0000 0000"])
def test_card_shaped_number_failing_luhn_is_not_a_phone(scanner: Scanner, card: str) -> None:
    assert found(scanner, f"paid with {card}, thanks") == []


def test_mixed_separators_are_not_one_card(scanner: Scanner) -> None:
    assert ("credit_card", "4111 1111-1111 1111") not in found(scanner, "n 4111 1111-1111 1111 x")


# ---- IBAN


def test_iban_with_spaces_and_lower_case(scanner: Scanner) -> None:
    text = "IBAN gb82 west 1234 5698 7654 32."
    assert found(scanner, text) == [("iban", "gb82 west 1234 5698 7654 32")]


def test_iban_followed_by_more_digits_stops_at_its_length(scanner: Scanner) -> None:
    text = "to NO93 8601 1117 947 ref 2024"
    assert found(scanner, text)[0] == ("iban", "NO93 8601 1117 947")


def test_iban_with_a_wrong_checksum_is_not_an_iban(scanner: Scanner) -> None:
    assert all(kind != "iban" for kind, _ in found(scanner, "IBAN: GB82 WEST 1234 5698 7654 33"))


# ---- SSN


@pytest.mark.parametrize("ssn", ["000-22-1234", "666-22-1234", "900-22-1234", "999-22-1234", "536-00-1234",
                                 "536-22-0000", "123-45-6789", "078-05-1120"])
def test_ssn_outside_the_issued_ranges_is_not_an_ssn(scanner: Scanner, ssn: str) -> None:
    assert all(kind != "us_ssn" for kind, _ in found(scanner, f"SSN {ssn}"))


def test_bare_nine_digits_need_an_ssn_context_word(scanner: Scanner) -> None:
    assert found(scanner, "SSN: 536221234") == [("us_ssn", "536221234")]
    assert found(scanner, "order 536221234") == []


# ---- phones


@pytest.mark.parametrize("text,value", [("tel 4155552671", "4155552671"), ("phone: 4155552671", "4155552671"),
                                        ("mobile 07700900123", "07700900123")])
def test_unformatted_phone_after_a_context_word(scanner: Scanner, text: str, value: str) -> None:
    assert found(scanner, text) == [("phone", value)]


def test_extension_with_ext_dot_is_part_of_the_phone(scanner: Scanner) -> None:
    text = "office (415) 555-2671 ext. 204"
    assert found(scanner, text) == [("phone", "(415) 555-2671 ext. 204")]


def test_extension_without_a_dot_is_part_of_the_phone(scanner: Scanner) -> None:
    text = "office (415) 555-2671 ext 204"
    assert found(scanner, text) == [("phone", "(415) 555-2671 ext 204")]


@pytest.mark.parametrize("text", ["released 2024-05-01", "on 17.05.2024", "v 10.2.0.1234", "ID 20240501123456",
                                  "path /v1/2024/05/01/1234567", "x=1234567", "build-1234567"])
def test_dates_ids_and_paths_are_not_phones(scanner: Scanner, text: str) -> None:
    assert found(scanner, text) == []


def test_a_date_next_to_a_phone_is_split_off(scanner: Scanner) -> None:
    text = "2024-05-01 415-555-2671"
    assert found(scanner, text) == [("phone", "415-555-2671")]


# ---- IP addresses


@pytest.mark.parametrize("text", ["v1.2.3.4", "version 1.2.3", "python 3.11.4", "build 10.2.0.1234",
                                  "at 10:30:00", "ratio 1:2:3"])
def test_versions_and_times_are_not_ip_addresses(scanner: Scanner, text: str) -> None:
    assert found(scanner, text) == []


@pytest.mark.parametrize("ip", ["10.0.0.1", "8.8.8.8", "1.2.3.4", "10.1.12.3"])
def test_short_ipv4_addresses_are_found(scanner: Scanner, ip: str) -> None:
    assert found(scanner, f"server {ip} is down") == [("ip_address", ip)]


# ---- context-word kinds


def test_date_of_birth_needs_its_context_word(scanner: Scanner) -> None:
    assert found(scanner, "DOB: 17/05/1990") == [("date_of_birth", "17/05/1990")]
    assert found(scanner, "Due: 17/05/1990") == []
    assert found(scanner, "born 1990-05-17, died 2020-01-02") == [("date_of_birth", "1990-05-17")]


@pytest.mark.parametrize("text", ["passport: photos", "passport number pending", "DL is down", "license: MIT"])
def test_context_words_without_a_number_find_nothing(scanner: Scanner, text: str) -> None:
    assert found(scanner, text) == []
