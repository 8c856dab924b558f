"""Restore: placeholders back to the caller's real values, in whole texts and in streams.

A streamed placeholder may arrive split over several deltas (``[EMA`` + ``IL_1]``).
``StreamRestorer`` holds back only a tail that could still become a placeholder (from its
last ``[``, at most ``MAX_PLACEHOLDER`` characters) and releases everything before it at
once. In ``input_json_delta`` fragments the placeholder sits inside a JSON string, so the
value is inserted JSON-escaped (``json=True``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson

__all__ = ["PLACEHOLDER", "restore_text", "restore_json", "StreamRestorer", "MAX_PLACEHOLDER"]

PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]{0,40}_\d{1,6}\]")
MAX_PLACEHOLDER = 50
_OPEN_TAIL = re.compile(r"\[[A-Z0-9_]{0,48}$")


def _escaped(value: str) -> str:
    return orjson.dumps(value).decode()[1:-1]


def restore_text(text: str, values: Mapping[str, str], *, json: bool = False) -> str:
    if "[" not in text or not values:
        return text

    def sub(m: re.Match) -> str:
        v = values.get(m.group())
        if v is None:
            return m.group()
        return _escaped(v) if json else v

    return PLACEHOLDER.sub(sub, text)


def restore_json(doc, values: Mapping[str, str]):
    """Every string inside a JSON value (a tool_use ``input``), keys included."""
    if isinstance(doc, str):
        return restore_text(doc, values)
    if isinstance(doc, list):
        return [restore_json(x, values) for x in doc]
    if isinstance(doc, dict):
        return {restore_text(k, values): restore_json(v, values) for k, v in doc.items()}
    return doc


class StreamRestorer:
    def __init__(self, values: Mapping[str, str], *, json: bool = False) -> None:
        self.values = values
        self.json = json
        self._held = ""

    def feed(self, chunk: str) -> str:
        text = self._held + chunk if self._held else chunk
        cut = len(text)
        if "[" in text[-MAX_PLACEHOLDER:]:
            m = _OPEN_TAIL.search(text, max(0, len(text) - MAX_PLACEHOLDER))
            if m is not None:
                cut = m.start()
        self._held = text[cut:]
        return restore_text(text[:cut], self.values, json=self.json)

    @property
    def held(self) -> bool:
        return bool(self._held)

    def flush(self) -> str:
        text, self._held = self._held, ""
        return restore_text(text, self.values, json=self.json)
