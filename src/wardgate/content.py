"""The text-bearing parts of a Messages API request, each with a way to write it back.

Guards that read or rewrite content (DLP now, prompt-injection checks next) walk the same
parts: the system prompt, text blocks, ``tool_result`` contents, text documents (and their
titles and context), search results, and the inputs of ``tool_use`` blocks replayed in the
history. ``thinking`` blocks are skipped: they are signed by the upstream and must come
back unchanged. Images and PDF/base64/URL documents are reported as binary parts; their
bytes are not scanned.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Part", "text_parts", "binary_parts"]


@dataclass(slots=True)
class Part:
    where: str            # a path for humans and the audit log: messages[2].content[0].text
    channel: str          # system | user | assistant | tool_result | document | tool_input
    holder: Any           # the dict or list that holds the string
    key: Any              # its key or index there

    @property
    def text(self) -> str:
        return self.holder[self.key]

    def set(self, value: str) -> None:
        self.holder[self.key] = value


def _strings(holder: Any, key: Any, where: str, channel: str) -> Iterator[Part]:
    value = holder[key]
    if isinstance(value, str):
        yield Part(where, channel, holder, key)
    elif isinstance(value, list):
        for i in range(len(value)):
            yield from _strings(value, i, f"{where}[{i}]", channel)
    elif isinstance(value, dict):
        for k in list(value):
            yield from _strings(value, k, f"{where}.{k}", channel)


def _blocks(blocks: list, where: str, channel: str) -> Iterator[Part]:
    for i, b in enumerate(blocks):
        if not isinstance(b, dict):
            continue
        at = f"{where}[{i}]"
        t = b.get("type")
        if t == "text" and isinstance(b.get("text"), str):
            yield Part(f"{at}.text", channel, b, "text")
        elif t == "tool_result":
            c = b.get("content")
            if isinstance(c, str):
                yield Part(f"{at}.content", "tool_result", b, "content")
            elif isinstance(c, list):
                yield from _blocks(c, f"{at}.content", "tool_result")
        elif t == "tool_use" and "input" in b:
            yield from _strings(b, "input", f"{at}.input", "tool_input")
        elif t == "document":
            for k in ("title", "context"):
                if isinstance(b.get(k), str):
                    yield Part(f"{at}.{k}", "document", b, k)
            src = b.get("source")
            if isinstance(src, dict):
                if src.get("type") == "text" and isinstance(src.get("data"), str):
                    yield Part(f"{at}.source.data", "document", src, "data")
                elif src.get("type") == "content" and isinstance(src.get("content"), list):
                    yield from _blocks(src["content"], f"{at}.source.content", "document")
        elif t == "search_result":
            for k in ("title", "source"):
                if isinstance(b.get(k), str):
                    yield Part(f"{at}.{k}", "document", b, k)
            if isinstance(b.get("content"), list):
                yield from _blocks(b["content"], f"{at}.content", "document")


def text_parts(body: dict[str, Any]) -> Iterator[Part]:
    system = body.get("system")
    if isinstance(system, str):
        yield Part("system", "system", body, "system")
    elif isinstance(system, list):
        yield from _blocks(system, "system", "system")
    for i, m in enumerate(body.get("messages") or ()):
        if not isinstance(m, dict):
            continue
        channel = "assistant" if m.get("role") == "assistant" else "user"
        c = m.get("content")
        if isinstance(c, str):
            yield Part(f"messages[{i}].content", channel, m, "content")
        elif isinstance(c, list):
            yield from _blocks(c, f"messages[{i}].content", channel)


def binary_parts(body: dict[str, Any]) -> Iterator[str]:
    """Where images and non-text documents are (their bytes are out of scope for scanning)."""
    def walk(blocks: list, where: str) -> Iterator[str]:
        for i, b in enumerate(blocks):
            if not isinstance(b, dict):
                continue
            t = b.get("type")
            src = b.get("source") if isinstance(b.get("source"), dict) else {}
            if t == "image" or (t == "document" and src.get("type") not in ("text", "content")):
                yield f"{where}[{i}]"
            elif t == "tool_result" and isinstance(b.get("content"), list):
                yield from walk(b["content"], f"{where}[{i}].content")
    for i, m in enumerate(body.get("messages") or ()):
        if isinstance(m, dict) and isinstance(m.get("content"), list):
            yield from walk(m["content"], f"messages[{i}].content")
