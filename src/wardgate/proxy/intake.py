"""Strict request intake: size cap, content type, strict JSON, field types.

Every failure is a clear 4xx in the Anthropic shape and nothing is forwarded:
- body over ``server.max_body_bytes``: 413, before reading when Content-Length says so,
  while reading otherwise;
- not ``application/json``: 415;
- invalid UTF-8, malformed JSON, duplicate keys, NaN/Infinity, numbers that overflow,
  integers outside 64 bits, lone surrogates, nesting deeper than 64: 400;
- wrong types for ``model``, ``max_tokens``, ``messages``, ``stream``: 400.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

from wardgate.errors import BadRequest, InvalidField, InvalidJSON, PayloadTooLarge, UnsupportedMediaType

__all__ = ["ClientDisconnected", "read_body", "check_content_type", "parse_json", "check_fields", "MAX_DEPTH"]

MAX_DEPTH = 64


class ClientDisconnected(Exception):
    """The client went away (while sending its body, or before the answer was complete)."""

_INT64 = 2**63


async def read_body(receive: Callable[[], Awaitable[dict]], headers: list[tuple[bytes, bytes]],
                    limit: int) -> bytes:
    declared = None
    for k, v in headers:
        if k == b"content-length":
            if not v.isdigit():
                raise BadRequest("Invalid Content-Length header.")
            declared = int(v)
            break
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"Request body is {declared} bytes; the limit is {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise ClientDisconnected()
        part = msg.get("body", b"")
        if part:
            size += len(part)
            if size > limit:
                raise PayloadTooLarge(f"Request body exceeds the limit of {limit} bytes.")
            chunks.append(part)
        if not msg.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def check_content_type(headers: list[tuple[bytes, bytes]]) -> None:
    for k, v in headers:
        if k == b"content-type":
            media, _, params = v.decode("latin-1").partition(";")
            if media.strip().lower() != "application/json":
                break
            for p in params.split(";"):
                name, _, val = p.partition("=")
                if name.strip().lower() == "charset" and val.strip().strip('"').lower() not in ("utf-8", "utf8"):
                    raise UnsupportedMediaType("Only UTF-8 JSON is accepted.")
            return
    raise UnsupportedMediaType()


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise InvalidJSON(f"Duplicate key in JSON object: {k[:64]!r}.")
            seen.add(k)
    return out


def _constant(name: str) -> Any:
    raise InvalidJSON(f"{name} is not valid JSON.")


def _int(text: str) -> int:
    if len(text) > 20:
        raise InvalidJSON("Integer out of range.")
    value = int(text)
    if not -_INT64 <= value < _INT64:
        raise InvalidJSON("Integer out of range.")
    return value


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise InvalidJSON("Number out of range.")
    return value


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant,
                            parse_int=_int, parse_float=_float, strict=True)


def parse_json(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidJSON("Request body is not valid UTF-8.") from None
    try:
        doc, end = _DECODER.raw_decode(text, _skip_ws(text, 0))
    except RecursionError:
        raise InvalidJSON(f"JSON nesting is deeper than {MAX_DEPTH} levels.") from None
    except json.JSONDecodeError as exc:
        raise InvalidJSON(f"Request body is not valid JSON: {exc.msg} at position {exc.pos}.") from None
    if _skip_ws(text, end) != len(text):
        raise InvalidJSON("Request body has extra data after the JSON value.")
    _walk(doc)
    return doc


def _skip_ws(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in " \t\n\r":
        i += 1
    return i


def _walk(doc: Any) -> None:
    """Depth limit and lone-surrogate check in one iterative pass."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if depth > MAX_DEPTH:
                raise InvalidJSON(f"JSON nesting is deeper than {MAX_DEPTH} levels.")
            for k, v in node.items():
                if not k.isascii():
                    _check_str(k)
                if isinstance(v, str):
                    if not v.isascii():
                        _check_str(v)
                elif isinstance(v, (dict, list)):
                    stack.append((v, depth + 1))
        elif isinstance(node, list):
            if depth > MAX_DEPTH:
                raise InvalidJSON(f"JSON nesting is deeper than {MAX_DEPTH} levels.")
            for v in node:
                if isinstance(v, str):
                    if not v.isascii():
                        _check_str(v)
                elif isinstance(v, (dict, list)):
                    stack.append((v, depth + 1))
        elif isinstance(node, str) and not node.isascii():
            _check_str(node)


def _check_str(s: str) -> None:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJSON("JSON string contains a lone surrogate.") from None


_REQUIRED = {
    "messages": ("model", "messages"),
    "count_tokens": ("model", "messages"),
}


def check_fields(doc: Any, route: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise InvalidField("Request body must be a JSON object.")
    for name in _REQUIRED.get(route, ()):
        if name not in doc:
            raise InvalidField(f"{name}: Field required")
    model = doc.get("model")
    if "model" in doc and (not isinstance(model, str) or not model):
        raise InvalidField("model: Input should be a non-empty string")
    if "max_tokens" in doc:
        mt = doc["max_tokens"]
        if isinstance(mt, bool) or not isinstance(mt, int) or mt < 1:
            raise InvalidField("max_tokens: Input should be a positive integer")
    if "messages" in doc and not isinstance(doc["messages"], list):
        raise InvalidField("messages: Input should be a valid list")
    if "stream" in doc and not isinstance(doc["stream"], bool):
        raise InvalidField("stream: Input should be a valid boolean")
    return doc
