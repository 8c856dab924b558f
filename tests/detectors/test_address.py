"""StreetAddressDetector: positives and near-misses side by side, exact offsets, no blow-ups."""

from __future__ import annotations

import time

import pytest

from wardgate.detectors.address import StreetAddressDetector


@pytest.fixture(scope="module")
def detector() -> StreetAddressDetector:
    return StreetAddressDetector()


def found(detector: StreetAddressDetector, text: str) -> list[str]:
    return [text[s:e] for s, e, _ in detector.find(text)]


@pytest.mark.parametrize(("text", "addresses"), [
    ("I live at 221B Baker Street, London.", ["221B Baker Street"]),
    ("Send it to 1600 Pennsylvania Ave NW, Washington, DC 20500 please.",
     ["1600 Pennsylvania Ave NW, Washington, DC 20500"]),
    ("Office: 350 Fifth Avenue Suite 3300\nNew York, NY 10118-0110\n",
     ["350 Fifth Avenue Suite 3300\nNew York, NY 10118-0110"]),
    ("The shop is at 42 W. 34th St. near the station.", ["42 W. 34th St."]),
    ("Dexter lives on Ziegelgasse 19 in Vienna.", ["Ziegelgasse 19"]),
    ("Our office moved to Koskikatu 25, 00100 Helsinki.", ["Koskikatu 25, 00100"]),
    ("Meet at Rua Augusta 274 tomorrow.", ["Rua Augusta 274"]),
    ("Verda lives on 33 avenue de Provence.", ["33 avenue de Provence"]),
    ("Wesselényi u. 94. is in Budapest.", ["Wesselényi u. 94"]),
    ("Mail: P.O. Box 211, Springfield", ["P.O. Box 211"]),
    ("Please return to Unit 4719 Box 7394\nDPO AP 70942 in case of an issue.",
     ["Unit 4719 Box 7394\nDPO AP 70942"]),
    ("Ship to 28030 Edeby 55\n Apt. 297\n Tystberga\n Sweden 99178",
     ["28030 Edeby 55\n Apt. 297\n Tystberga\n Sweden 99178"]),
])
def test_finds_addresses(detector: StreetAddressDetector, text: str, addresses: list[str]) -> None:
    assert found(detector, text) == addresses


@pytest.mark.parametrize("text", [
    "5 Steps to success: plan, build, test, ship.",
    "There are 3 Main points and 2 minor ones.",
    "Upgrade to version 2.10.3 Road map follows.",
    "It is a 2 way street and a 3 lane road.",
    "Section 4 Court rulings; Chapter 12 Drive systems; Table 3 Way points.",
    "for i in range(10): street = streets[i]; x1 Road = None",
    "Deliver to QA by 5 and return to step 3 if it fails.",
    "Python 3 and Chapter 12 are referenced in Table 4.",
    "ERROR Connection Refused at 10.0.0.5:6379 (attempt 4 of 5)",
    "Investigate 5 issues, Navigate 3 menus, Spring 2024 release.",
    "Buy a Bow tie 3 times; the Water gate 5 report.",
])
def test_ignores_near_misses(detector: StreetAddressDetector, text: str) -> None:
    assert found(detector, text) == []


def test_offsets_are_characters_not_bytes(detector: StreetAddressDetector) -> None:
    text = "Ünïcödé — wohnt in der Hauptstraße 3\n Apt. 4\n Zürich 8001. Danke!"
    spans = detector.find(text)
    assert [text[s:e] for s, e, _ in spans] == ["Hauptstraße 3\n Apt. 4\n Zürich 8001"]
    assert spans[0][2] > 0.8


def test_spans_are_sorted_and_disjoint(detector: StreetAddressDetector) -> None:
    text = "A: 10 Downing Street. B: 1 Infinite Loop, Cupertino, CA 95014. C: PO Box 7"
    spans = detector.find(text)
    assert [text[s:e] for s, e, _ in spans] == [
        "10 Downing Street", "1 Infinite Loop, Cupertino, CA 95014", "PO Box 7"]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


@pytest.mark.parametrize("text", [
    "A " * 50000, "Aa" * 50000, "1 " * 50000, "1" * 100000, "x" * 100000,
    "12 Main " * 12000, "Baker Street 1 " * 7000, "Apt 1\n" * 16000, "PO Box 1 " * 11000,
    "1 A " * 25000, "12 Aa Bb Cc Dd " * 7000, "lives on " * 11000,
])
def test_adversarial_inputs_finish_quickly(detector: StreetAddressDetector, text: str) -> None:
    started = time.perf_counter()
    detector.find(text)
    assert time.perf_counter() - started < 1.0
