"""Validators: the checksums and shape tests that turn a pattern match into a finding.

Each returns True/False (or a score) for a candidate value; none does I/O, none echoes values.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter

__all__ = ["luhn", "iban_ok", "IBAN_LENGTHS", "ssn_ok", "ipv4_ok", "ipv6_ok", "entropy", "placeholder",
           "placeholder_value", "digits_of"]

_NOT_DIGIT = re.compile(r"\D")


def digits_of(s: str) -> str:
    return _NOT_DIGIT.sub("", s)


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# ISO 13616 registry (SWIFT, release 2024): country code -> IBAN length.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BI": 27,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21,
    "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28,
    "NL": 18, "NO": 15, "OM": 23, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22,
    "RU": 33, "SA": 24, "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}


def iban_ok(compact: str) -> bool:
    """``compact``: upper-case, no spaces. Length for the country, then ISO 7064 mod 97-10."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    moved = compact[4:] + compact[:4]
    n = 0
    for ch in moved:
        n = (n * (100 if ch.isalpha() else 10) + (ord(ch) - 55 if ch.isalpha() else ord(ch) - 48)) % 97
    return n == 1


def ssn_ok(digits: str) -> bool:
    """US SSN ranges (SSA): area 001-899 except 666, group 01-99, serial 0001-9999."""
    if len(digits) != 9:
        return False
    area, group, serial = int(digits[:3]), digits[3:5], digits[5:]
    return 0 < area < 900 and area != 666 and group != "00" and serial != "0000" and \
        digits not in ("123456789", "078051120", "219099999")


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}")


def ipv4_ok(s: str) -> bool:
    """Four decimal octets, 0-255, no leading zeros (``010`` is octal to some parsers)."""
    return _IPV4.fullmatch(s) is not None


def ipv6_ok(s: str) -> bool:
    if s.count(":") < 2 or (s.count(":") < 4 and "::" not in s):
        return False
    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return s != "::"


def entropy(s: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values()) if n else 0.0


_PLACEHOLDER = re.compile(
    r"(?i)(x{4,}|\*{3,}|\.{3,}|_{4,}|0{8,}|1234567|abcdef|example|sample|dummy|placeholder|your[_\-]?|"
    r"<[^>]*>|\$\{|\{\{|%\(|changeme|redacted|secret[_\-]?here|here$|^none$|^null$|^true$|^false$|"
    r"^undefined$|^password$|^pass$|^secret$|^test$|^env\b|^os\.environ|^process\.env|^getenv|replace[_\-]?me|"
    r"^!vault|^vault:|^ref\+|^arn:aws:secretsmanager)")


def placeholder(value: str) -> bool:
    """Looks like a stand-in, not a real credential (``sk-ant-xxxx``, ``YOUR_API_KEY``, ``${VAR}``)."""
    if _PLACEHOLDER.search(value):
        return True
    return len(set(value)) <= 3 or len(set(value)) <= 5 < len(value) // 4


_STAND_IN = re.compile(
    r"(?i)^(x+|\*+|\.+|_+|-+|0+|<[^>]*>|\$\{.*\}|\$[A-Z_][A-Z0-9_]*|\{\{.*\}\}|%\(.*\)s?|"
    r"(your|my|the)[_\- ]?(password|pass|secret|pwd)[_\- ]?(here)?|changeme|change[_\-]?me|replace[_\-]?me|"
    r"password|passwd|pass|secret|example|sample|dummy|placeholder|redacted|none|null|true|false|undefined|"
    r"test|todo|tbd|n/?a|!vault.*|vault:.*|ref\+.*|env\b.*|os\.environ.*|process\.env.*|getenv.*)$")


def placeholder_value(value: str) -> bool:
    """A whole value that stands in for a password (``changeme``, ``${DB_PASSWORD}``, ``****``);
    unlike ``placeholder`` it does not look inside: ``Example2024!`` is a password."""
    return _STAND_IN.match(value) is not None or len(set(value)) <= 2
