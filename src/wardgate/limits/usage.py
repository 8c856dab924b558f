"""Token usage as the upstream reports it: from a JSON message, or from a stream's events.

In a stream, ``message_start`` carries the usage so far (input and cache tokens, a first
output count) and each ``message_delta`` carries **cumulative** counts: a field present in a
later event replaces the earlier value; it is never added to it. A stream cut short is
billed from the last usage seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["Usage", "usage_from_message", "merge_usage", "fold_event", "track_stream", "USAGE_EVENTS"]

USAGE_EVENTS = frozenset({"message_start", "message_delta", "message_stop"})


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
    inp, out, w5, w1, read = (prev.input_tokens, prev.output_tokens, prev.cache_write_5m_tokens,
                              prev.cache_write_1h_tokens, prev.cache_read_tokens)
    v = _int(doc.get("input_tokens"))
    inp = inp if v is None else v
    v = _int(doc.get("output_tokens"))
    out = out if v is None else v
    v = _int(doc.get("cache_read_input_tokens"))
    read = read if v is None else v
    split = doc.get("cache_creation")
    if isinstance(split, dict):
        w5 = _int(split.get("ephemeral_5m_input_tokens")) or 0
        w1 = _int(split.get("ephemeral_1h_input_tokens")) or 0
    else:
        v = _int(doc.get("cache_creation_input_tokens"))
        if v is not None and v != w5 + w1:  # no TTL split given: all of it at the 5-minute rate
            w5, w1 = v, 0                    # (the same total again keeps the split seen before)
    return Usage(inp, out, w5, w1, read)


def usage_from_message(doc: Any) -> Usage | None:
    if isinstance(doc, dict) and isinstance(doc.get("usage"), dict):
        return merge_usage(Usage(), doc["usage"])
    return None


_EVENT = b"event: message_"


def _blocks_with_usage(data: bytes):
    """(event name, data) of each ``message_start``/``message_delta``/``message_stop`` event in
    ``data`` (whole SSE events, as the relay forwards them). A byte search skips every other
    event (the text deltas) without parsing it."""
    if _EVENT not in data:
        return
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    for block in data.split(b"\n\n"):
        if _EVENT not in block:
            continue
        name, payload = None, []
        for line in block.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip().decode("latin-1")
            elif line.startswith(b"data:"):
                payload.append(line[6:] if line[5:6] == b" " else line[5:])
        if name in USAGE_EVENTS:
            yield name, b"\n".join(payload)


def fold_event(prev: Usage | None, name: str, doc: Any) -> Usage | None:
    """``prev`` with the usage one ``message_start``/``message_delta`` event carries."""
    if not isinstance(doc, dict):
        return prev
    message = doc.get("message") if name == "message_start" else None
    u = message.get("usage") if isinstance(message, dict) else doc.get("usage")
    return merge_usage(prev or Usage(), u) if isinstance(u, dict) else prev


def track_stream(prev: Usage | None, data: bytes) -> tuple[Usage | None, bool]:
    """Fold the usage events in ``data`` into ``prev``; also says whether ``message_stop`` came."""
    stopped = False
    for name, payload in _blocks_with_usage(data):
        if name == "message_stop":
            stopped = True
            continue
        try:
            prev = fold_event(prev, name, orjson.loads(payload))
        except orjson.JSONDecodeError:
            continue
    return prev, stopped
