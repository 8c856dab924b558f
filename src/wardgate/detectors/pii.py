"""PII detectors with structure: email, phone, credit card, IBAN, US SSN, IP addresses, and,
with a context word, dates of birth, passport and driver-licence numbers.

Numbers are found as one kind of candidate, a run of digits with the separators people type
(``4111 1111-1111 1111``, ``(415) 555-2671``, ``+44 20 7946 0958``, ``192.168.0.1``), and
then classified: IPv4, SSN (valid SSA ranges), card (Luhn, 12-19 digits), phone (digit count
and grouping, a ``+`` or a context word for unformatted runs; ``phonenumbers`` confirms
numbers given with a country code). Dates and versions are not phones.
"""

from __future__ import annotations

import re

import phonenumbers
import re2

from wardgate.detectors.checks import IBAN_LENGTHS, digits_of, iban_ok, ipv4_ok, ipv6_ok, luhn, ssn_ok
from wardgate.detectors.engine import spans
from wardgate.detectors.rule import Rule
from wardgate.detectors.text import utf8_view

__all__ = ["PII_RULES", "classify_number", "find_numbers"]

_PHONE_CONTEXT = re.compile(r"(?i)(phone|tel|mobile|cell|fax|call|contact|reach|whatsapp|sms|text me|number|"
                            r"telefon|téléphone|nummer|no\.|#)\W{0,3}$")
_SSN_CONTEXT = re.compile(r"(?i)(ssn|social security|soc\.? sec)[^\n]{0,12}$")
_DATE = re.compile(r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\b")
_SSN_SHAPE = re.compile(r"^\d{3}([- ])\d{2}\1\d{4}$")
_CARD_SHAPE = re.compile(r"^\d{4}([ \-])\d{4}\1\d{4}\1\d{1,7}$|^\d{4}([ \-])\d{6}\2\d{4,5}$|^\d{12,19}$")
_PHONE_GROUPS = re.compile(r"^(\+\d{1,3}[ \-.]?)?(\(\d{1,4}\)[ \-.]?)?\d{1,5}([ \-.]\d{1,5}){0,5}"
                           r"(\s?(x|ext\.?)\s?\d{1,5})?$")


_EXT = re.compile(r"\s?(?:x|ext\.?)\s?\d{1,5}$")


def _phone(cand: str, text: str, start: int) -> float | None:
    number = _EXT.sub("", cand)
    digits = digits_of(number)
    if not 7 <= len(digits) <= 15 or _DATE.match(number) or _ISO_DATE.match(number):
        return None
    before = text[max(0, start - 40):start]
    if before[-1:].isalnum() or before.endswith(("-", "_", "/", "=", ".")):
        return None  # part of an identifier, a path or a version
    if number.startswith("+"):
        try:
            num = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_possible_number(num):
            return None
        return 0.95 if phonenumbers.is_valid_number(num) or any(c in number for c in " -.()") else 0.8
    if _PHONE_CONTEXT.search(before):
        return 0.9  # "tel 4155552671": a context word is enough, formatted or not
    if not _PHONE_GROUPS.match(number) or not any(c in number for c in " -.()"):
        return None  # an unformatted run of digits is an id until something says it is a phone
    if "." in number and not re.match(r"^\d{2,4}(\.\d{2,4}){2,4}$", number):
        return None
    return 0.75


def classify_number(cand: str, text: str, start: int) -> tuple[str, float] | None:
    """What a run of digits is, judged on its shape and what precedes it."""
    if _DATE.match(cand):
        return None
    if cand.count(".") == 3:
        return ("ip_address", 0.9) if _ipv4(cand, text, start) else None
    digits = digits_of(cand)
    if _SSN_SHAPE.match(cand):
        if ssn_ok(digits):
            return "us_ssn", 0.85
    elif len(digits) == 9 and cand.isdigit() and _SSN_CONTEXT.search(text[max(0, start - 30):start]) \
            and ssn_ok(digits):
        return "us_ssn", 0.9
    if 12 <= len(digits) <= 19 and _CARD_SHAPE.match(cand) and luhn(digits) and len(set(digits)) > 1:
        return "credit_card", 0.9 if len(digits) >= 13 else 0.7
    score = _phone(cand, text, start)
    if score is not None:
        return "phone", score
    return None


_MAX_PARTS = 6  # a phone or a card has at most this many space-separated groups


def _split_number(cand: str, text: str, start: int):
    """A run that is not one thing may be several (``2024-05-01 415-555-2671``): try the
    space-separated parts, longest first."""
    if _CARD_SHAPE.match(cand):
        return []  # a card-shaped number that failed the card checks is not three phones
    parts = [(m.start(), m.end()) for m in re.finditer(r"\S+", cand)]
    out = []
    i = 0
    while i < len(parts):
        for j in range(min(len(parts), i + _MAX_PARTS), i, -1):
            s, e = parts[i][0], parts[j - 1][1]
            got = classify_number(cand[s:e], text, start + s)
            if got is not None:
                out.append((got[0], got[1], start + s, start + e))
                i = j
                break
        else:
            i += 1
    return out


def _number(value: str, text: str, start: int):
    value = value.rstrip(". -")
    if value.startswith("(") and ")" not in value[1:6]:  # "(4111 1111 …)": the bracket is prose
        value, start = value[1:], start + 1
    value = value.rstrip(")") if value.count(")") > value.count("(") else value
    got = classify_number(value, text, start)
    if got is not None:
        return got[1], start, start + len(value), got[0]
    if " " not in value:
        return None
    return _split_number(value, text, start) or None


# Runs of digits are the most frequent candidates in ordinary text (timestamps, amounts, ids),
# so they get their own pattern. Its first alternative (group 1) takes dates and timestamps,
# the commonest runs in logs, so they are passed over without being classified.
_NUMBER = re2.compile(r"(\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d{1,9})?)?\b"
                      r"|\b\d{1,2}/\d{1,2}/\d{4}\b)"
                      r"|(?:\+|\(|\b)\d(?:[ \-./()]{0,2}\d){6,22}(?:\s?(?:x|ext\.?)\s?\d{1,5})?"
                      r"|\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b")  # and short IPv4 addresses (8.8.8.8)


def find_numbers(text: str, out: list, data: bytes | None = None, to_char=None) -> None:
    """Classified runs of digits, appended to ``out`` as (kind, start, end, score, "number").
    ``data``, ``to_char``: ``text`` in UTF-8 and the map of its offsets (``text.utf8_view``)."""
    if data is None:
        data, to_char = utf8_view(text)
    for got in spans(_NUMBER, data):
        if got[1][0] >= 0:
            continue  # a date or a timestamp
        start, end = to_char(got[0][0]), to_char(got[0][1])
        got = _number(text[start:end], text, start)
        if got is None:
            continue
        if isinstance(got, list):
            out.extend((k, s, e, sc, "number") for k, sc, s, e in got)
        else:
            out.append((got[3], got[1], got[2], got[0], "number"))


def _ipv4(value: str, text: str, start: int):
    if not ipv4_ok(value) or text[max(0, start - 9):start].rstrip().lower().endswith(("version", "v")):
        return None
    if text[start + len(value):start + len(value) + 2][:1] == "." and text[start + len(value) + 1:][:1].isdigit():
        return None  # 1.2.3.4.5: a version or an OID
    return 0.9


def _iban(value: str, _text: str, start: int):
    compact = value.replace(" ", "").replace("-", "").upper()
    want = IBAN_LENGTHS.get(compact[:2])
    if want is None or len(compact) < want:
        return None
    compact = compact[:want]
    if not iban_ok(compact):
        return None
    seen = 0  # the original span of the first ``want`` characters
    for i, ch in enumerate(value):
        if ch not in " -":
            seen += 1
            if seen == want:
                return 0.99, start, start + i + 1
    return None


def _ipv6(value: str, _text: str, _start: int):
    return 0.9 if ipv6_ok(value) else None


def _contextual(min_digits: int):
    def check(value: str, _text: str, _start: int):
        return 0.8 if sum(c.isdigit() for c in value) >= min_digits else None
    return check

_MONTH = r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]{0,6}\.?"
_DATE_VALUE = (r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}|" + _MONTH + r" \d{1,2}(?:st|nd|rd|th)?,? \d{4}|"
               r"\d{1,2}(?:st|nd|rd|th)? " + _MONTH + r",? \d{4}")

PII_RULES: tuple[Rule, ...] = (
    Rule("email", "email",
         r"[A-Za-z0-9][A-Za-z0-9._%+\-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}\.)+[A-Za-z]{2,24}\b", None, 0.95),
    Rule("iban", "iban", r"\b(?i:[a-z]{2}\d{2}(?:[ \-]?[a-z0-9]{4}){2,7}(?:[ \-]?[a-z0-9]{1,4})?)\b", _iban),
    Rule("ip_address", "ipv6", r"(?i:\b(?:[0-9a-f]{1,4}:){1,7}(?::?[0-9a-f]{1,4}){1,7}\b|::(?:[0-9a-f]{1,4}:?){1,7}\b)", _ipv6),
    Rule("date_of_birth", "dob",
         r"(?i:\b(?:dob|d\.o\.b\.?|date of birth|birth ?date|born(?: on)?|birthday|geburtsdatum)\b)[^\n\d]{0,20}?(?P<v>"
         + _DATE_VALUE + ")", None, 0.85, context=True),
    Rule("passport", "passport",
         r"(?i:\bpassport(?: (?:no|number|num|#))?\.?(?:\s+is)?)[:#\s]{0,5}(?P<v>[A-Z0-9]{6,9})\b", _contextual(3), context=True),
    Rule("driver_license", "driver-license",
         r"(?i:\b(?:driver'?s? licen[cs]e|driving licen[cs]e|licen[cs]e (?:no|number)|DL)(?: (?:no|number|num|#))?\.?(?:\s+is)?)"
         r"[:#\s]{0,5}(?P<v>[A-Z0-9][A-Z0-9\-]{4,15})\b", _contextual(4), context=True),
)
