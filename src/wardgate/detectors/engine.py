"""RE2 matches as plain spans, without the Python binding's per-match objects.

The ``google-re2`` binding builds a Match object (and works out ``lastindex`` in Python) for
every match; on ordinary text (timestamps, IP addresses, capitalised words) that costs more
than the matching itself. ``spans`` calls the compiled program directly on UTF-8 bytes and
yields each match's group spans (byte offsets; ``(-1, -1)`` for a group that did not take
part). If a future binding drops that entry point, the public ``finditer`` is used instead.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["spans", "search"]

try:  # the binding's compiled program: Match(anchor, text, pos, endpos) -> [(start, end), ...]
    from re2 import _Anchor
    _UNANCHORED = _Anchor.UNANCHORED
except ImportError:  # pragma: no cover - depends on the installed binding
    _UNANCHORED = None


def spans(regex, data: bytes) -> Iterator[list[tuple[int, int]]]:
    program = getattr(regex, "_regexp", None)
    if program is None or _UNANCHORED is None:  # pragma: no cover
        for m in regex.finditer(data):
            yield [m.span(i) for i in range(regex.groups + 1)]
        return
    pos, end = 0, len(data)
    while True:
        got = program.Match(_UNANCHORED, data, pos, end)
        first = got[0]
        if first[0] < 0:
            return
        yield got
        if first[1] == pos:  # an empty match: step on
            if pos == end:
                return
            pos += 1
        else:
            pos = first[1]


def search(regex, data: bytes, pos: int = 0) -> list[tuple[int, int]] | None:
    """The first match at or after ``pos``, as group spans, or None."""
    program = getattr(regex, "_regexp", None)
    if program is None or _UNANCHORED is None:  # pragma: no cover
        m = regex.search(data, pos)
        return None if m is None else [m.span(i) for i in range(regex.groups + 1)]
    got = program.Match(_UNANCHORED, data, pos, len(data))
    return None if got[0][0] < 0 else got
