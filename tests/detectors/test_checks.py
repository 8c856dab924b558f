"""Validators: each checksum and shape test with values that pass and near-misses that must not."""

from __future__ import annotations

import pytest

from wardgate.detectors.checks import (
    IBAN_LENGTHS, digits_of, entropy, iban_ok, ipv4_ok, ipv6_ok, luhn, placeholder, ssn_ok,
)


@pytest.mark.parametrize("number", [
    "4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "79927398713",
    "3530111333300000", "4000056655665556",
])
def test_luhn_accepts_valid_numbers(number: str) -> None:
    assert luhn(number)


@pytest.mark.parametrize("number", ["4111111111111112", "5555555555554445", "378282246310006", "79927398710",
                                    "1234567812345678"])
def test_luhn_rejects_a_wrong_check_digit(number: str) -> None:
    assert not luhn(number)


def test_luhn_catches_every_single_digit_change() -> None:
    base = "4111111111111111"
    for i in range(len(base)):
        for d in "0123456789":
            if d != base[i]:
                assert not luhn(base[:i] + d + base[i + 1:]), (i, d)


def test_digits_of_keeps_only_digits() -> None:
    assert digits_of("4111 1111-1111.1111") == "4111111111111111"
    assert digits_of("(415) 555-2671 x12") == "415555267112"


VALID_IBANS = [
    "GB82WEST12345698765432",        # United Kingdom
    "DE89370400440532013000",        # Germany
    "FR1420041010050500013M02606",   # France (a letter in the BBAN)
    "NL91ABNA0417164300",            # Netherlands
    "BE68539007547034",              # Belgium
    "CH9300762011623852957",         # Switzerland
    "ES9121000418450200051332",      # Spain
    "IT60X0542811101000000123456",   # Italy
    "NO9386011117947",               # Norway (the shortest)
    "AT611904300234573201",          # Austria
    "PL61109010140000071219812874",  # Poland
]


@pytest.mark.parametrize("iban", VALID_IBANS)
def test_iban_accepts_valid_numbers(iban: str) -> None:
    assert len(iban) == IBAN_LENGTHS[iban[:2]]
    assert iban_ok(iban)


@pytest.mark.parametrize(("iban", "why"), [
    ("GB82WEST12345698765433", "last digit changed"),
    ("GB28WEST12345698765432", "check digits swapped"),
    ("DE89370400440532013001", "last digit changed"),
    ("GB82WEST1234569876543", "one character short"),
    ("GB82WEST123456987654321", "one character long"),
    ("NO93860111179470", "Norway with 16 characters"),
    ("XX89370400440532013000", "no such country"),
    ("GB8AWEST12345698765432", "check digits not digits"),
    ("", "empty"),
])
def test_iban_rejects_near_misses(iban: str, why: str) -> None:
    assert not iban_ok(iban), why


def test_iban_catches_every_single_character_change() -> None:
    iban = "DE89370400440532013000"
    for i in range(4, len(iban)):
        for d in "0123456789":
            if d != iban[i]:
                assert not iban_ok(iban[:i] + d + iban[i + 1:]), (i, d)


@pytest.mark.parametrize("ssn", ["536221234", "001010001", "899999999", "665123456", "667123456", "123456780"])
def test_ssn_accepts_the_assigned_ranges(ssn: str) -> None:
    assert ssn_ok(ssn)


@pytest.mark.parametrize(("ssn", "why"), [
    ("000221234", "area 000"),
    ("666221234", "area 666"),
    ("900221234", "area 9xx"),
    ("999221234", "area 9xx"),
    ("536001234", "group 00"),
    ("536220000", "serial 0000"),
    ("123456789", "the advertised example"),
    ("078051120", "the Woolworth wallet card"),
    ("219099999", "the Social Security Administration's ad"),
    ("53622123", "8 digits"),
    ("5362212345", "10 digits"),
])
def test_ssn_rejects_what_the_ssa_never_issues(ssn: str, why: str) -> None:
    assert not ssn_ok(ssn), why


@pytest.mark.parametrize("ip", ["1.2.3.4", "0.0.0.0", "255.255.255.255", "192.168.0.1", "10.0.0.10"])
def test_ipv4_accepts(ip: str) -> None:
    assert ipv4_ok(ip)


@pytest.mark.parametrize("ip", ["256.1.1.1", "1.2.3.999", "01.2.3.4", "1.2.3.04", "1.2.3", "1.2.3.4.5", "1..3.4",
                                " 1.2.3.4", "1.2.3.-4", "1.2.3.4 ", "a.b.c.d", "1234.1.1.1"])
def test_ipv4_rejects(ip: str) -> None:
    assert not ipv4_ok(ip)


def test_ipv4_is_false_not_an_error_for_a_superscript_digit() -> None:
    assert ipv4_ok("1.2.3.²") is False  # "²".isdigit() is true, and int("²") raises


@pytest.mark.parametrize("ip", ["::1", "2001:db8::1", "fe80::1ff:fe23:4567:890a", "a:b:c:d:e:f:0:1",
                                "2001:0db8:0000:0000:0000:ff00:0042:8329", "::ffff:192.0.2.1"])
def test_ipv6_accepts(ip: str) -> None:
    assert ipv6_ok(ip)


@pytest.mark.parametrize(("ip", "why"), [
    ("::", "the unspecified address alone is no one's address"),
    ("10:30:00", "a time"),
    ("1:2:3", "three groups without ::"),
    ("12:34:56:78:90:ab", "a MAC address (six groups, no ::)"),
    ("1::2::3", "two ::"),
    ("2001:db8::g", "not hex"),
    ("1:2:3:4:5:6:7:8:9", "nine groups"),
])
def test_ipv6_rejects(ip: str, why: str) -> None:
    assert not ipv6_ok(ip), why


def test_entropy_in_bits_per_character() -> None:
    assert entropy("") == 0
    assert entropy("aaaa") == 0
    assert entropy("ab") == pytest.approx(1.0)
    assert entropy("abcd") == pytest.approx(2.0)
    assert entropy("0123456789abcdef" * 4) == pytest.approx(4.0)
    assert entropy("aHL_E9yTYL_9S4xDQNMAAL5QaDtpc6RzGKXi5Asa6sm") > 4.0


@pytest.mark.parametrize("value", [
    "sk-ant-xxxx", "sk-ant-api03-xxxxxxxxxxxxxxxxxxxxxxxx", "YOUR_API_KEY", "your-api-key", "${TOKEN}",
    "{{ secrets.API_KEY }}", "<your-key>", "%(token)s", "changeme", "REPLACE_ME", "REDACTED", "****", "...",
    "aaaaaaaa", "00000000000", "password", "secret", "none", "null", "process.env.API_KEY",
    "os.environ['API_KEY']", "!vault |", "arn:aws:secretsmanager:eu-west-1:123:secret:x", "my-example-key",
    "dummy_token_value", "abcdef123456", "put-your-secret-here", "xyzxyzxyzxyzxyzxyz",
])
def test_placeholder_recognises_stand_ins(value: str) -> None:
    assert placeholder(value)


@pytest.mark.parametrize("value", [
    "hunter2xyz", "Tr0ub4dor&3", "aHL_E9yTYL_9S4xDQNMAAL5QaDt", "ghp_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "AKIAQ3EGRTZX5WDN7PLJ", "correct-horse-battery-staple", "S3cr3t!pass",
])
def test_placeholder_leaves_real_looking_values_alone(value: str) -> None:
    assert not placeholder(value)
