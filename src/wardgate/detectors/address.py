"""StreetAddressDetector: find postal street addresses in free text, offline.

One combined linear-time ``re2`` pattern finds the core of an address in one of four shapes:

- house number, street name, street type: "221B Baker Street", "1600 Pennsylvania Ave NW";
- street word with a type ending, then a house number: "Ziegelgasse 19", "Koskikatu 25";
- a street-type word first: "Rua Augusta 274", "ul. Długa 5", "33 avenue de Provence";
- boxes: "P.O. Box 211", "PSC 5217, Box 4854", "Unit 4719 Box 7394", then "APO AE 09012".

The core is then extended over what usually follows on the same or the next lines: a unit
("Apt. 4", "Suite 300", "#12"), a city with state and ZIP, a country and a postal code. Names made
only of ordinary lower-case English words are refused ("3 main points", "a 2 way street"), and so
is a dotted or code-like number in front ("version 2.10.3", "x1 Road").
"""

from __future__ import annotations

import re2

from wardgate.detectors.engine import search
from wardgate.detectors.names import common_words
from wardgate.detectors.text import utf8_view

__all__ = ["StreetAddressDetector"]

_SUFFIXES = (
    "street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    "terrace|ter|parkway|pkwy|highway|hwy|circle|cir|square|sq|trail|trl|crescent|cres|close|"
    "grove|row|alley|plaza|loop|pike|turnpike|expressway|freeway|causeway|heights|hts|mews|"
    "gardens|gdns|walk|crossing|xing|commons|cove|estates|glen|hollow|landing|harbor|hill|hills|"
    "manor|meadows|orchard|ridge|summit|vista|junction|jct|route|rte|creek|strasse|straße|str"
)
_ENDINGS = (
    "strasse|straße|str|gasse|weg|allee|platz|damm|ufer|chaussee|steig|pfad|katu|tie|kuja|polku|"
    "väylä|vej|gade|stræde|gatan|gata|vägen|väg|gränd|vegen|veien|vei|gate|straat|laan|plein|"
    "gracht|kade|singel|utca|út|útja|körút|köz|tér|sor|tänav|maantee|puiestee|iela|gatvė|ulica"
)
_PREFIXES = (
    "c/|avenue|rua|rue|via|viale|vicolo|piazza|piazzale|corso|largo|strada|calle|avenida|"
    "avda\\.|av\\.|"
    "paseo|camino|carrer|plaza|praça|travessa|alameda|estrada|chemin|allée|impasse|quai|"
    "boulevard|bd\\.|ul\\.|ulica|al\\.|aleja|os\\.|pl\\.|plac|trg|ulice|náměstí|třída|"
    "odos|odós|leoforos|bulevardi|sokak|cadde|caddesi"
)
_WORD_SUFFIXES = (
    "u\\.|utca|út|útja|körút|tér|köz|sor|terrasse|allé|vej|gade|vei|veien|gate|gata|gatan|"
    "straat|laan|weg|straße|strasse|katu|tie|tänav|iela"
)
_CUES = (
    "lives on|lives at|live on|live at|address is|address:|located at|corner of|ship to|"
    "shipped to|deliver to|delivered to|send it to|send to|sent to|return to|mail to|based at"
)
_CONNECTORS = frozenset(
    "de del della delle dei degli di da do dos das du des la le les el los las y e et von van der "
    "den ter vom zum zur am an dem of the and".split()
)
_NAME_WORD = r"[\p{L}\d][\p{L}\d'’.\-]*"
_CAP_WORDS = r"\p{Lu}[\p{L}'’.\-]*(?:[ \t]+\p{L}[\p{L}'’.\-]*){0,3}"
_UNIT_WORD = r"(?i:apt|apartment|suite|ste|unit|fl|floor|room|rm|bldg|building|#)"
_HOUSE = r"\d{1,6}(?:-\d{1,4})?[A-Za-z]?"
_GAP = r"[ \t]+"

_SEP_RAW = r"\.?[ \t]*,?[ \t]*(?:\r?\n[ \t]*){0,2},?[ \t]*"
_OPTIONS = re2.Options()
_OPTIONS.max_mem = 64 << 20
_CORE = re2.compile(
    r"(?:^|[^\p{L}\p{N}_.\-/:#])(?:"
    # 1: number + name + suffix
    r"(" + _HOUSE + _GAP + r"(?:(?i:n|s|e|w|ne|nw|se|sw|north|south|east|west)\.?" + _GAP + r")?"
    r"(?:" + _NAME_WORD + _GAP + r"){1,4}(?i:" + _SUFFIXES + r")\.?)"
    # 2: compound street word + number
    r"|(\p{L}[\p{L}\-]*(?i:" + _ENDINGS + r")\.?" + _GAP + _HOUSE + r")"
    # 3: street-type prefix + name + number, or number + prefix + name
    r"|((?i:" + _PREFIXES + r")" + _GAP + r"(?:" + _NAME_WORD + _GAP + r"){0,4}" + _NAME_WORD
    + _GAP + _HOUSE + r"|" + _HOUSE + _GAP + r"(?i:" + _PREFIXES + r")" + _GAP
    + r"(?:" + _NAME_WORD + r")(?:" + _GAP + _NAME_WORD + r"){0,3})"
    # 4: boxes
    r"|((?i:p\.?[ \t]?o\.?[ \t]?box|post[ \t]office[ \t]box|(?:psc|unit|cmr)[ \t]+\d{3,5},?"
    r"[ \t]+box)[ \t]+\d{1,6}|(?:USNS|USNV|USS|USCGC)[ \t]+\p{Lu}[\p{L}\-]+)"
    # 5: name + separate street word + number ("Király u. 15", "Stensås terrasse 38")
    r"|(\p{Lu}[\p{L}\-]*(?:" + _GAP + r"\p{L}[\p{L}\-]*){0,2}" + _GAP + r"(?i:" + _WORD_SUFFIXES
    + r")" + _GAP + _HOUSE + r")"
    # 6: [number] name number, then a unit ("Edeby 55 Apt. 2"); or after a cue ("lives on X 12")
    r"|((?:" + _HOUSE + _GAP + r")?" + _CAP_WORDS + _GAP + r"\d{1,5}[A-Za-z]?)" + _SEP_RAW
    + _UNIT_WORD + r"\.?"
    r"|(?i:" + _CUES + r")" + _GAP + r"(?:the[ \t]+corner[ \t]+of[ \t]+)?((?:" + _HOUSE + _GAP
    + r")?" + _CAP_WORDS + _GAP
    + r"\d{1,5}[A-Za-z]?)"
    r")(?:[^\p{L}\p{N}_]|$)",
    _OPTIONS,
)
_SEP = _SEP_RAW
_UNIT = re2.compile(
    _SEP + r"(?i:apt|apartment|suite|ste|unit|fl|floor|room|rm|bldg|building|#)\.?[ \t]*#?"
    r"\d[\dA-Za-z\-]{0,5}(?:[^\p{L}\p{N}_]|$)"
)
_MILITARY = re2.compile(_SEP + r"(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP)[ \t]+\d{5}")
_ZIP = re2.compile(_SEP + r"(?:\p{Lu}{2,3}[ \t]+)?\d{4,6}(?:-\d{4})?(?:[^\p{L}\p{N}_]|$)")
_STATE = re2.compile(_SEP + r"\p{Lu}{2,3}(?:[^\p{L}\p{N}_]|$)")
_PLACE = re2.compile(
    _SEP + r"\p{Lu}[\p{L}'’.\-]*(?:[ \t]+\p{L}[\p{L}'’.\-]*){0,3}(?:[^\p{L}\p{N}_]|$)"
)
_SOLID = ("unit", "zip", "military")


def _trim_boundary(text: str, start: int, end: int) -> int:
    while end > start and not text[end - 1].isalnum() and not (
            text[end - 1] == "." and end - 2 >= start and text[end - 2].isalpha()):
        end -= 1
    return end


class StreetAddressDetector:
    """Offline street-address finder; see the module docstring for the shapes it accepts."""

    def __init__(self) -> None:
        self._words = common_words()

    def find(self, text: str, view=None) -> list[tuple[int, int, float]]:
        """``view``: ``text.utf8_view(text)`` when the caller already has it."""
        data, to_char = view or utf8_view(text)
        out: list[tuple[int, int, float]] = []
        pos = 0
        while (got := search(_CORE, data, pos)) is not None:
            shape = next((i for i in range(1, len(got)) if got[i][0] >= 0), 0)  # the shape that matched
            start, end = to_char(got[shape][0]), to_char(got[shape][1])
            score = self._core_score(text, shape, start, end)
            if score is None:
                retry = got[shape][0] - 1
                pos = retry if retry > got[0][0] else _next_gap(data, got[shape][0], got[0][1])
                continue
            end = core_end = _strip_dot(text, start, end)
            end, solid = _extend(text, end)
            out.append((start, end, round(min(1.0, score + 0.1 * solid), 2)))
            pos = got[shape][1] + len(text[core_end:end].encode("utf-8"))
        return out

    def _core_score(self, text: str, shape: int, start: int, end: int) -> float | None:
        core = text[start:end]
        if shape == 4:
            return 0.9
        words = core.replace("\t", " ").split(" ")
        if shape == 1:
            return self._number_first(words)
        if shape == 2:
            stem = words[0].rstrip(".").lower()
            if stem in self._words or text[end:end + 1] == "." and text[end + 1:end + 2].isdigit():
                return None  # a word, or a version number ("wardgate 0.1.0")
            return 0.8
        if shape == 3:
            return self._prefixed(words)
        if shape == 5:
            return 0.75 if self._has_plain_word(words[:-2]) else None
        return 0.7 if self._has_plain_word(words) else None

    def _has_plain_word(self, words: list[str]) -> bool:
        """True if some word is a proper name rather than English ("Edeby", not "Chapter")."""
        names = [w.strip(".") for w in words if w and not w[0].isdigit()]
        return any(len(w) > 2 and not w.isupper() and w.lower() not in self._words
                   and w.lower() not in _CONNECTORS for w in names)

    def _number_first(self, words: list[str]) -> float | None:
        name = [w for w in words[1:-1] if w]
        if not name or any(ch in w for w in name for ch in "@=()"):
            return None
        capital = [w for w in name if w[0].isupper() or w[0].isdigit()]
        if len(capital) == len(name):
            if len(name) == 1 and name[0].isdigit():
                return None
            return 0.85
        plain = [w for w in name if w.lower().strip(".") not in self._words]
        return 0.7 if plain and len(capital) + len(plain) >= len(name) else None

    def _prefixed(self, words: list[str]) -> float | None:
        named = [w for w in words if not w[0].isdigit()][1:]
        content = [w for w in named if w.lower() not in _CONNECTORS]
        if not content:
            return None
        if all(w[0].isupper() for w in content):
            return 0.8
        plain = [w for w in content if w.lower() not in self._words]
        return 0.65 if len(plain) == len(content) else None


def _strip_dot(text: str, start: int, end: int) -> int:
    """Keep the dot of an abbreviation ("St.", "Ave."), drop a full stop ("Provence.")."""
    if text[end - 1] != ".":
        return end
    word = text[start:end - 1].rsplit(None, 1)[-1]
    return end if len(word) <= 4 and word.isalpha() else end - 1


def _next_gap(data: bytes, start: int, limit: int) -> int:
    """Where to search again after a refused core: the gap after its first word."""
    for i in range(start + 1, limit):
        if data[i] in b" \t\n":
            return i
    return limit


def _extend(text: str, end: int) -> tuple[int, int]:
    """Follow units, military post offices, city/state/ZIP and country lines.

    Returns the new end and 1 if something solid (unit, ZIP, APO/FPO/DPO) was found, else 0.
    """
    window = text[end:end + 240]
    best, solid = 0, 0
    pos = 0
    for _ in range(6):
        for kind, pattern in (("unit", _UNIT), ("military", _MILITARY), ("zip", _ZIP),
                              ("state", _STATE), ("place", _PLACE)):
            m = pattern.match(window, pos)
            if m is not None and m.end() > pos:
                pos = _trim_boundary(window, pos, m.end())
                if kind in _SOLID:
                    best, solid = pos, solid + 1
                break
        else:
            break
    return end + best, min(solid, 1)
