"""Rule: one pattern (RE2 syntax, so matching is linear time) plus the check that confirms it.

``pattern`` may mark the value with a group named ``v``; the rest is context (``password=``)
that must be present but is not part of the finding. ``check(value, text, start)`` returns a
score (0..1), or None to drop the match; ``start`` is the value's offset in ``text``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Rule", "Check"]

Check = Callable[[str, str, int], "float | tuple[float, int, int] | None"]


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    name: str
    pattern: str
    check: Check | None = None
    score: float = 0.9
    # value rules identify themselves (a key prefix, an @); context rules start with words
    # (``password=``) and run in a second pass so they never hide a value rule's match.
    context: bool = False
