"""engine.spans / engine.search agree with the RE2 binding's own finditer / search."""

from __future__ import annotations

import random

import re2

from wardgate.detectors.engine import search, spans

PATTERNS = [r"(?P<a>ab)|(?P<b>c(d)?)", r"x*", r"\d+(?:[ .-]\d+)*", r"(a)|(b)|(c)", r"\b"]


def _reference(regex, data: bytes) -> list[list[tuple[int, int]]]:
    return [[m.span(i) for i in range(regex.groups + 1)] for m in regex.finditer(data)]


def test_spans_match_finditer_on_random_bytes() -> None:
    rnd = random.Random(11)
    for pattern in PATTERNS:
        regex = re2.compile(pattern)
        for _ in range(200):
            data = "".join(rnd.choice("abcdx1 2.-") for _ in range(rnd.randint(0, 30))).encode()
            assert [list(s) for s in spans(regex, data)] == _reference(regex, data), (pattern, data)


def test_search_from_a_position() -> None:
    regex = re2.compile(r"(a)|(b)")
    assert search(regex, b"xxb a", 0) == [(2, 3), (-1, -1), (2, 3)]
    assert search(regex, b"xxb a", 3) == [(4, 5), (4, 5), (-1, -1)]
    assert search(regex, b"xxb a", 5) is None
