"""Every string a Messages API request carries, each with a way to write it back.

Guards that read or rewrite content (DLP now, prompt-injection checks next) walk the same
parts. The walk is exhaustive: every string anywhere in the body is a part (system prompt,
text blocks, tool results, documents, search results, citations, tool definitions and their
schemas, replayed tool inputs, server-tool and MCP blocks, metadata, stop sequences, block
types the gateway does not know yet), except identifiers and binary payloads listed in
``_NOT_TEXT``. Parts the gateway must not change are marked ``readonly``: signed
``thinking`` blocks, names (tools, MCP servers), URLs, and the keys of free-form objects
(a tool's input, its ``input_schema``); a guard may refuse them but not rewrite them.

Where a part is (``where``) uses field names from the API and indices inside free-form
objects, so a path never repeats a caller's own key, which could itself be sensitive.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Part", "text_parts", "binary_parts"]

# API fields whose strings are identifiers, enums or binary: never text a person wrote.
_NOT_TEXT = frozenset({
    "type", "id", "tool_use_id", "role", "model", "media_type", "signature", "stop_reason",
    "cache_control", "encrypted_content", "file_id", "container", "service_tier", "stop_sequence", "ttl",
})
_READONLY = frozenset({"name", "server_name", "url"})
_FREE = frozenset({"input", "input_schema", "properties", "metadata"})  # objects whose keys callers choose
_SIGNED = frozenset({"thinking", "redacted_thinking"})
_CHANNEL = {"system": "system", "tools": "tools", "metadata": "metadata", "stop_sequences": "metadata"}


@dataclass(slots=True)
class Part:
    where: str            # a path for people and the audit log: messages[2].content[0].text
    channel: str          # system | user | assistant | tool_result | document | tool_input | tools | metadata
    holder: Any           # the dict or list that holds the string
    key: Any              # its key or index there
    readonly: bool = False
    is_key: bool = False  # the string is a key of ``holder`` (a free-form object's key)

    @property
    def text(self) -> str:
        return self.key if self.is_key else self.holder[self.key]

    def set(self, value: str) -> None:
        if self.readonly or self.is_key:
            raise ValueError(f"{self.where} cannot be rewritten")
        self.holder[self.key] = value


def _binary_source(block: dict) -> bool:
    src = block.get("source")
    return isinstance(src, dict) and src.get("type") not in ("text", "content", None)


def _walk(holder: Any, key: Any, where: str, channel: str, free: bool, ro: bool) -> Iterator[Part]:
    value = holder[key]
    if isinstance(value, str):
        yield Part(where, channel, holder, key, ro or key in _READONLY and not free)
    elif isinstance(value, list):
        for i in range(len(value)):
            yield from _walk(value, i, f"{where}[{i}]", channel, free, ro)
    elif isinstance(value, dict):
        kind = value.get("type") if not free else None
        if kind == "redacted_thinking":
            return  # encrypted by the upstream: nothing a person wrote
        if kind == "image" or (kind == "document" and _binary_source(value)):
            for k in ("title", "context"):  # a PDF's bytes are out of scope; its title is not
                if isinstance(value.get(k), str):
                    yield Part(f"{where}.{k}", channel, value, k)
            return
        sub = channel
        if kind == "tool_result" or kind in ("mcp_tool_result",) or str(kind).endswith("_tool_result"):
            sub = "tool_result"
        elif kind in ("document", "search_result"):
            sub = "document"
        elif kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
            sub = "tool_input"
        signed = ro or kind in _SIGNED
        for i, k in enumerate(list(value)):
            if not free and k in _NOT_TEXT:
                continue
            if free:  # the caller chose this key: scan it, never print it
                yield Part(f"{where}{{{i}}}.key", sub, value, k, True, True)
                at = f"{where}{{{i}}}"
            else:
                at = f"{where}.{k}"
            yield from _walk(value, k, at, sub, free or k in _FREE, signed)


def text_parts(body: dict[str, Any]) -> Iterator[Part]:
    for key in list(body):
        if key in _NOT_TEXT:
            continue
        if key == "messages" and isinstance(body[key], list):
            for i, m in enumerate(body[key]):
                if isinstance(m, dict):
                    channel = "assistant" if m.get("role") == "assistant" else "user"
                    for k in list(m):
                        if k not in _NOT_TEXT:
                            yield from _walk(m, k, f"messages[{i}].{k}", channel, False, False)
            continue
        yield from _walk(body, key, key, _CHANNEL.get(key, "request"), key in _FREE, False)


def binary_parts(body: dict[str, Any]) -> Iterator[str]:
    """Where images and non-text documents are, at any depth (their bytes are not scanned)."""
    def walk(value: Any, where: str) -> Iterator[str]:
        if isinstance(value, dict):
            kind = value.get("type")
            if kind == "image" or (kind == "document" and _binary_source(value)):
                yield where
                return
            for k, v in value.items():
                yield from walk(v, f"{where}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(v, f"{where}[{i}]")
    yield from walk(body.get("messages"), "messages")
    yield from walk(body.get("system"), "system")
