"""Server-sent events: an incremental parser that keeps every event's exact bytes.

The relay forwards ``SSEEvent.raw`` untouched; only an event a guard replaced is
re-serialised. Line endings may be ``\\r\\n``, ``\\n`` or ``\\r`` (WHATWG HTML, 9.2.6), and a
chunk may end anywhere, including between ``\\r`` and ``\\n``.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

__all__ = ["SSEEvent", "SSEParser", "complete_prefix"]

_LINE_END = re.compile(rb"\r\n|\r|\n")
_NO_JSON = object()


class SSEEvent:
    __slots__ = ("event", "data", "id", "raw", "_json")

    def __init__(self, event: str | None, data: str | None, raw: bytes, id: str | None = None) -> None:
        self.event = event      # None for a comment-only block
        self.data = data        # None when the block had no data lines
        self.id = id
        self.raw = raw
        self._json: Any = _NO_JSON

    @classmethod
    def build(cls, event: str, payload: Any) -> "SSEEvent":
        data = orjson.dumps(payload).decode()
        ev = cls(event, data, f"event: {event}\ndata: {data}\n\n".encode())
        ev._json = payload
        return ev

    @property
    def json(self) -> Any:
        """The data parsed as JSON, or None."""
        if self._json is _NO_JSON:
            try:
                self._json = orjson.loads(self.data) if self.data else None
            except orjson.JSONDecodeError:
                self._json = None
        return self._json

    def with_json(self, payload: Any) -> "SSEEvent":
        """A new event of the same type carrying ``payload`` (for guards that rewrite)."""
        return SSEEvent.build(self.event or "message", payload)

    def __repr__(self) -> str:
        return f"SSEEvent(event={self.event!r}, data={self.data!r})"


class SSEParser:
    """Feed bytes, get complete events. ``close()`` returns what is left at end of stream."""

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0          # scan position in _buf (start of the next unread line)
        self._reset()

    def _reset(self) -> None:
        self._event: str | None = None
        self._data: list[str] = []
        self._id: str | None = None
        self._fields = False

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        return self._scan(self._buf + chunk if self._buf else chunk, final=False)

    def close(self) -> tuple[list[SSEEvent], bytes]:
        """End of stream: events a final ``\\r`` completes, and the bytes of an unterminated
        event (which is not dispatched, per the spec)."""
        events = self._scan(self._buf, final=True) if self._buf else []
        rest, self._buf, self._pos = self._buf, b"", 0
        self._reset()
        return events, rest

    def _scan(self, buf: bytes, final: bool) -> list[SSEEvent]:
        pos = self._pos
        start = 0
        out: list[SSEEvent] = []
        n = len(buf)
        while True:
            m = _LINE_END.search(buf, pos)
            if m is None:
                break
            if m.group() == b"\r" and m.end() == n and not final:
                break  # may be the first half of \r\n: wait for more bytes
            line = buf[pos:m.start()]
            pos = m.end()
            if not line:
                out.append(self._dispatch(buf[start:pos]))
                start = pos
                continue
            self._field(line)
        self._buf = buf[start:]
        self._pos = pos - start
        return out

    def _field(self, line: bytes) -> None:
        if line[:1] == b":":
            return
        name, sep, value = line.partition(b":")
        if sep and value[:1] == b" ":
            value = value[1:]
        text = value.decode("utf-8", "replace")
        if name == b"data":
            self._data.append(text)
            self._fields = True
        elif name == b"event":
            self._event = text
            self._fields = True
        elif name == b"id":
            self._id = text

    def _dispatch(self, raw: bytes) -> SSEEvent:
        data = "\n".join(self._data) if self._data else None
        ev = SSEEvent(self._event if self._fields else None, data, raw, self._id)
        if ev.event is None and data is not None:
            ev.event = "message"
        self._reset()
        return ev


def complete_prefix(buf: bytes) -> int:
    """Length of the longest prefix of ``buf`` that ends at an event boundary (0 if none).

    Conservative: an unusual mix of line endings may be found one event late, never early.
    """
    cut = buf.rfind(b"\n\n")
    cut = cut + 2 if cut >= 0 else 0
    if b"\r" in buf:
        crlf = buf.rfind(b"\r\n\r\n")
        if crlf >= 0:
            cut = max(cut, crlf + 4)
        cr = buf.rfind(b"\r\r")
        if cr >= 0 and not (cr + 2 == len(buf)):
            cut = max(cut, cr + 2)
    return cut
