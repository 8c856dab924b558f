"""The answer side of the dlp guard: scan what the model wrote, then restore pseudonyms.

Per content block, text passes two stages, in this order:

1. the output scan, on the upstream's text: secrets, and personal data the request did not
   contain, are redacted or flagged per policy. A stream keeps a carry-over window of
   ``WINDOW`` characters (and any match still growing at the end), so a secret split over
   several deltas is caught before any of it is released; it rescans once ``SCAN_EVERY``
   new characters have arrived, not on every delta;
2. the restore: placeholders become the caller's values; only a possible placeholder's
   first characters are held back (``operators.restore``).

Thinking blocks are left as they are (the upstream signs them).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from wardgate.detectors.scanner import Scanner
from wardgate.operators.restore import StreamRestorer, restore_json, restore_text
from wardgate.operators.rewrite import redact, rewrite
from wardgate.upstream.sse import SSEEvent

__all__ = ["OutputFilter", "WINDOW"]

WINDOW = 96
MAX_HOLD = 16384  # most characters of one block held back at once
SCAN_EVERY = 32   # new characters that make a rescan worth it (deltas are a few characters each)


# How a secret cut at MAX_HOLD continues (group 1: its end marker, when it has one). Linear:
# the alternatives start with different characters.
_CONTINUES = {"private_key": re.compile(
    r"(?:[A-Za-z0-9+/=:,.\s\\]|-[A-Za-z0-9])*(-----END[ A-Z0-9]{0,20}PRIVATE KEY(?: BLOCK)?-----)?")}
_TOKEN_CONTINUES = re.compile(r"[A-Za-z0-9_\-.=+/]*()")


def _rebuilt(event: SSEEvent, doc: dict, field: str, text: str) -> SSEEvent:
    return event.with_json({**doc, "delta": {**doc["delta"], field: text}})


class _Block:
    """One streamed content block. Deltas wait in ``queue`` until they lie more than
    ``WINDOW`` characters (and before any match still growing) behind the newest text; they
    are then released as they came, byte for byte, unless a finding or a placeholder in them
    means they must be rewritten."""

    def __init__(self, f: "OutputFilter", field: str, index: int) -> None:
        self.f = f
        self.index = index
        self.field = field
        self.queue: list[tuple[SSEEvent, dict, str]] = []
        self.open: str | None = None  # the kind of a secret cut at MAX_HOLD, still arriving
        self.unscanned = 0
        self.restorer = StreamRestorer(f.values, json=field == "partial_json") if f.values else None

    def feed(self, event: SSEEvent, doc: dict, text: str) -> list[SSEEvent]:
        self.queue.append((event, doc, text))
        if not self.f.enabled:
            return self._release(len(self.queue), [])
        self.unscanned += len(text)
        if self.unscanned < SCAN_EVERY:
            return []  # too little new text to release anything yet: no scan
        self.unscanned = 0
        buf = "".join(t for _, _, t in self.queue)
        if self.open is not None:  # the rest of a secret too long to hold whole: dropped
            m = _CONTINUES.get(self.open, _TOKEN_CONTINUES).match(buf)
            if m.end() == len(buf) and not m.group(1):
                self.queue = []
                return []
            self.open = None
            buf = buf[m.end():]
            ev, doc0, _ = self.queue[0]
            self.queue = [(_rebuilt(ev, doc0, self.field, buf), doc0, buf)] if buf else []
            if not buf:
                return []
        findings = self.f.scan(buf)
        cut = len(buf) - WINDOW
        for fd in findings:
            if fd.end > cut:  # may still grow, or straddles the boundary: hold it whole
                cut = min(cut, fd.start)
        if len(buf) > MAX_HOLD:  # a match that keeps growing (an unterminated key block) is cut
            cut = len(buf) - WINDOW
        while True:
            n = pos = 0
            for _, _, t in self.queue:
                if pos + len(t) > cut:
                    break
                pos += len(t)
                n += 1
            straddling = [fd.start for fd in findings if fd.start < pos < fd.end]
            if not straddling or len(buf) > MAX_HOLD:
                break
            cut = min(straddling)  # never release the first part of a finding alone
        released = [fd for fd in findings if fd.start < pos]
        if len(buf) > MAX_HOLD:  # what is released of a cut finding is redacted up to the cut
            for fd in released:
                if fd.end > pos and fd.category == "secret":
                    self.open = fd.kind  # and what follows of it is dropped as it arrives
            released = [fd if fd.end <= pos else fd.clipped(pos) for fd in released]
        return self._release(n, released)

    def flush(self) -> list[SSEEvent]:
        buf = "".join(t for _, _, t in self.queue)
        out = self._release(len(self.queue), self.f.scan(buf))
        if self.restorer is not None:
            rest = self.restorer.flush()
            if rest:
                kind = "input_json_delta" if self.field == "partial_json" else "text_delta"
                out.append(SSEEvent.build("content_block_delta", {
                    "type": "content_block_delta", "index": self.index, "delta": {"type": kind, self.field: rest}}))
        return out

    def _release(self, n: int, findings) -> list[SSEEvent]:
        group, self.queue = self.queue[:n], self.queue[n:]
        if not group:
            return []
        if findings:  # one event carries the group's text, redacted
            ev, doc, _ = group[0]
            text = self.f.apply("".join(t for _, _, t in group), findings)
            group = [(_rebuilt(ev, doc, self.field, text), doc, text)]
        if self.restorer is None:
            return [ev for ev, _, _ in group]
        out = []
        for ev, doc, t in group:
            restored = self.restorer.feed(t)
            if restored == t and not self.restorer.held:
                out.append(ev)
            elif restored:
                out.append(_rebuilt(ev, doc, self.field, restored))
        return out


class OutputFilter:
    def __init__(self, scanner: Scanner, action: Callable[[str], str], values: Mapping[str, str],
                 seen: set[str], min_score: float, kinds: Iterable[str] = ("secret", "pii", "custom")) -> None:
        self.scanner = scanner
        self.action = action
        self.values = values
        self.seen = seen
        self.min_score = min_score
        self.findings: Counter = Counter()
        self.redacted = False
        self._blocks: dict[int, _Block] = {}
        self.enabled = any(action(k) != "allow" for k in kinds)

    # ---- detection and redaction, shared by both forms
    def scan(self, text: str):
        if not self.enabled or not text:
            return []
        out = []
        for f in self.scanner.scan(text):
            if f.score < self.min_score:
                continue
            act = self.action(f.kind)
            if act == "allow" or (f.category != "secret" and text[f.start:f.end] in self.seen):
                continue  # the caller's own data coming back is not a leak
            out.append(f)
        return out

    def apply(self, text: str, findings) -> str:
        edits = []
        for f in findings:
            act = self.action(f.kind)
            self.findings[(f.kind, act)] += 1
            if act == "redact":
                edits.append((f, redact(f.kind)))
        if edits:
            self.redacted = True
            return rewrite(text, edits)
        return text

    # ---- a whole message
    def message(self, doc: dict) -> bool:
        changed = False
        for block in doc["content"]:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                old = block["text"]
                new = restore_text(self.apply(old, self.scan(old)), self.values)
                if new != old:
                    block["text"] = new
                    changed = True
            elif block.get("type") in ("tool_use", "server_tool_use") and "input" in block:
                old = block["input"]
                new = restore_json(self._scan_json(old), self.values)
                if new != old:
                    block["input"] = new
                    changed = True
        return changed

    def _scan_json(self, doc):
        if isinstance(doc, str):
            return self.apply(doc, self.scan(doc))
        if isinstance(doc, list):
            return [self._scan_json(x) for x in doc]
        if isinstance(doc, dict):
            return {k: self._scan_json(v) for k, v in doc.items()}
        return doc

    # ---- a stream, one event at a time
    def event(self, event: SSEEvent):
        name = event.event
        if name == "content_block_delta":
            if not self.enabled and not self.values:
                return event
            doc = event.json
            if not isinstance(doc, dict):
                return event
            delta = doc.get("delta") or {}
            kind = delta.get("type")
            field = "text" if kind == "text_delta" else "partial_json" if kind == "input_json_delta" else None
            if field is None or not isinstance(delta.get(field), str):
                return event
            idx = doc.get("index", 0)
            block = self._blocks.get(idx)
            if block is None:
                block = self._blocks[idx] = _Block(self, field, idx)
            out = block.feed(event, doc, delta[field])
            return out[0] if len(out) == 1 and out[0] is event else (out or None)
        if name == "content_block_stop":
            doc = event.json
            idx = doc.get("index", 0) if isinstance(doc, dict) else 0
            block = self._blocks.pop(idx, None)
            if block is None:
                return event
            return [*block.flush(), event]
        return event
