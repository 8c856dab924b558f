"""Normalised text for detection, with exact spans back to the original.

Obfuscation must not hide a value from the detectors, so they run on a normalised copy:

- NFKC per character (fullwidth ``４１１１`` → ``4111``, ligatures, compatibility forms);
- zero-width and other invisible format characters (Unicode category Cf: ZWSP, ZWJ, bidi
  controls, soft hyphen, BOM, tag characters) and variation selectors are removed;
- Cyrillic and Greek letters that look like Latin ones are folded to Latin (``ѕk-ant-`` with
  a Cyrillic ``ѕ``, ``АKIA`` with a Cyrillic ``А``).

``Normalized.span(start, end)`` maps a span of the normalised text to the exact span of the
original that produced it, so operators rewrite what the caller actually sent. ASCII text
(most prompts) is its own normal form and costs nothing; otherwise only the characters that
change are looked at one by one.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from functools import lru_cache

__all__ = ["Normalized", "normalize", "utf8_view"]

_NON_ASCII = re.compile(r"[^\x00-\x7f]+")

# Latin look-alikes (Unicode confusables) in Cyrillic and Greek, the ones used to dodge filters.
_HOMOGLYPHS = str.maketrans({
    "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d", "һ": "h", "ӏ": "l",
    "ԛ": "q", "ԝ": "w", "ɡ": "g", "ո": "n", "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M",
    "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I",
    "Ј": "J", "Ԛ": "Q", "Ԝ": "W", "Ӏ": "I",
    "α": "a", "ο": "o", "ν": "v", "ρ": "p", "τ": "t", "υ": "u", "ι": "i", "κ": "k", "χ": "x",
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})
_FOLDED = frozenset(chr(c) for c in _HOMOGLYPHS)
# Default-ignorable code points outside category Cf (Unicode DerivedCoreProperties): invisible
# in every renderer, so usable to split a value.
_IGNORABLE = frozenset({0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0})


@lru_cache(maxsize=4096)
def _fold(ch: str) -> str:
    """What one non-ASCII character becomes ("" when it is invisible)."""
    if unicodedata.category(ch) == "Cf" or ord(ch) in _IGNORABLE or 0xFE00 <= ord(ch) <= 0xFE0F \
            or 0xE0100 <= ord(ch) <= 0xE01EF or 0x180B <= ord(ch) <= 0x180F:
        return ""
    out = unicodedata.normalize("NFKC", ch)
    return out.translate(_HOMOGLYPHS) if any(c in _FOLDED for c in out) else out


@lru_cache(maxsize=4096)
def _stable(run: str) -> bool:
    return all(_fold(c) == c for c in run)


class Normalized:
    """A normalised text and the map back to the original.

    The map is a sorted list of segments ``(norm_start, orig_start, norm_len, orig_len)``;
    a segment with equal lengths is a verbatim copy, any other replaced one character.
    """

    __slots__ = ("original", "text", "_starts", "_segs")

    def __init__(self, original: str, text: str, segs: list[tuple[int, int, int, int]] | None) -> None:
        self.original = original
        self.text = text
        self._segs = segs
        self._starts = [s[0] for s in segs] if segs else None

    @property
    def identity(self) -> bool:
        return self._segs is None

    def _seg(self, i: int) -> tuple[int, int, int, int]:
        return self._segs[bisect.bisect_right(self._starts, i) - 1]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span for the normalised span [start, end)."""
        if self._segs is None:
            return start, end
        ns, os_, nl, ol = self._seg(start)
        o_start = os_ + (start - ns) if nl == ol else os_
        ns, os_, nl, ol = self._seg(max(start, end - 1))
        o_end = os_ + (end - ns) if nl == ol else os_ + ol
        return o_start, o_end


def normalize(text: str) -> Normalized:
    if text.isascii():
        return Normalized(text, text, None)
    out: list[str] = []
    segs: list[tuple[int, int, int, int]] = []
    n_pos = 0
    o_pos = 0

    def copy(upto: int) -> None:
        nonlocal n_pos, o_pos
        if upto > o_pos:
            length = upto - o_pos
            out.append(text[o_pos:upto])
            segs.append((n_pos, o_pos, length, length))
            n_pos += length
            o_pos = upto

    for m in _NON_ASCII.finditer(text):
        run = m.group()
        if _stable(run):
            continue  # unchanged: stays inside the surrounding verbatim copy
        copy(m.start())
        for i, ch in enumerate(run, m.start()):
            f = _fold(ch)
            if f == ch:
                copy(i + 1)
                continue
            if f:
                out.append(f)
            segs.append((n_pos, i, len(f), 1) if f else (n_pos, i, 0, 1))
            n_pos += len(f)
            o_pos = i + 1
    if not segs:
        return Normalized(text, text, None)
    copy(len(text))
    segs = [s for s in segs if s[2] or s is segs[-1]]  # dropped characters need no segment of their own
    return Normalized(text, "".join(out), segs)


def _same(offset: int) -> int:
    return offset


def utf8_view(text: str):
    """``text`` as UTF-8 bytes for RE2 (whose binding is much faster on bytes), and a map from
    byte offsets back to character offsets: the identity for ASCII; otherwise only the
    non-ASCII characters are visited, and each look-up is a bisection."""
    data = text.encode("utf-8")
    if len(data) == len(text):
        return data, _same
    byte_at: list[int] = []   # byte offset just after each non-ASCII character
    shift: list[int] = []     # bytes minus characters up to there
    extra = 0
    for m in _NON_ASCII.finditer(text):
        for ch in m.group():
            extra += len(ch.encode("utf-8")) - 1
        byte_at.append(m.end() + extra)
        shift.append(extra)

    def to_char(offset: int) -> int:
        i = bisect.bisect_right(byte_at, offset) - 1
        return offset - (shift[i] if i >= 0 else 0)
    return data, to_char
