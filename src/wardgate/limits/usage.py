"""Token usage as the upstream reports it: from a JSON message, or from a stream's events.

In a stream, ``message_start`` carries the usage so far (input and cache tokens, a first
output count) and each ``message_delta`` carries **cumulative** counts: a field present in a
later event replaces the earlier value; it is never added to it. A stream cut short is
billed from the last usage seen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

__all__ = ["Usage", "usage_from_message", "merge_usage"]


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    cache_read_tokens: int = 0

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def total(self) -> int:
        """Tokens counted against token limits: input of every kind plus output."""
        return (self.input_tokens + self.output_tokens + self.cache_write_tokens
                + self.cache_read_tokens)


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) and v >= 0 else None


def merge_usage(prev: Usage, doc: Any) -> Usage:
    """``prev`` with the fields ``doc`` (an API ``usage`` object) carries replaced."""
    if not isinstance(doc, dict):
        return prev
    out = prev
    for field, name in (("input_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
                        ("cache_read_input_tokens", "cache_read_tokens")):
        v = _int(doc.get(field))
        if v is not None:
            out = replace(out, **{name: v})
    split = doc.get("cache_creation")
    if isinstance(split, dict):
        out = replace(out, cache_write_5m_tokens=_int(split.get("ephemeral_5m_input_tokens")) or 0,
                      cache_write_1h_tokens=_int(split.get("ephemeral_1h_input_tokens")) or 0)
    else:
        v = _int(doc.get("cache_creation_input_tokens"))
        if v is not None:  # no TTL split given: all of it at the 5-minute rate
            out = replace(out, cache_write_5m_tokens=v, cache_write_1h_tokens=0)
    return out


def usage_from_message(doc: Any) -> Usage | None:
    if isinstance(doc, dict) and isinstance(doc.get("usage"), dict):
        return merge_usage(Usage(), doc["usage"])
    return None
