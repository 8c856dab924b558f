"""What the simulator says: a Messages API response built from the request, as JSON or SSE.

Deterministic for a given request (ids aside), so tests can assert on it. Every answer says
that it is simulated.
"""

from __future__ import annotations

import math
import os
from typing import Any

import orjson

__all__ = ["Reply", "build_reply", "estimate_tokens", "SIM_MODELS"]

SIM_MODELS = (
    ("claude-opus-5-5", "Claude Opus 5.5"),
    ("claude-sonnet-5-5", "Claude Sonnet 5.5"),
    ("claude-haiku-5-5", "Claude Haiku 5.5"),
    ("claude-sonnet-4-5", "Claude Sonnet 4.5"),
)
PREFIX = "[simulated by Wardgate: no model was called] "


def estimate_tokens(*parts: Any) -> int:
    size = sum(len(p) if isinstance(p, str) else len(orjson.dumps(p)) for p in parts if p is not None)
    return max(1, math.ceil(size / 4))


def _last_user(messages: list) -> Any:
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            return m.get("content")
    return ""


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _has_tool_result(content: Any) -> bool:
    return isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content)


_SAMPLES = {"string": "example", "integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}


_ECHO_ARGS = ("text", "query", "message", "body")


def _sample_input(schema: Any, said: str = "") -> dict:
    """Arguments from the tool's schema; string arguments named text/query/message/body carry
    the user's last words (so a test can see what the model would pass on)."""
    if not isinstance(schema, dict):
        return {}
    props = schema.get("properties") or {}
    out = {}
    for name in schema.get("required") or list(props)[:1]:
        spec = props.get(name) or {}
        kind = spec.get("type") if isinstance(spec, dict) else None
        if isinstance(spec, dict) and spec.get("enum"):
            out[name] = spec["enum"][0]
        elif said and name in _ECHO_ARGS and kind in (None, "string"):
            out[name] = said[:500]
        else:
            out[name] = _SAMPLES.get(kind if isinstance(kind, str) else "string", "example")
    return out


class Reply:
    """The blocks of one answer; rendered as one JSON message or as SSE events."""

    def __init__(self, model: str, blocks: list[dict], stop_reason: str, input_tokens: int) -> None:
        self.id = "msg_sim_" + os.urandom(12).hex()
        self.model = model
        self.blocks = blocks
        self.stop_reason = stop_reason
        self.input_tokens = input_tokens
        self.output_tokens = estimate_tokens(*[b.get("text") or b.get("thinking") or b.get("input") for b in blocks])

    def _usage(self, output_tokens: int) -> dict:
        return {"input_tokens": self.input_tokens, "output_tokens": output_tokens,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}

    def message(self) -> dict:
        return {"id": self.id, "type": "message", "role": "assistant", "model": self.model,
                "content": self.blocks, "stop_reason": self.stop_reason, "stop_sequence": None,
                "usage": self._usage(self.output_tokens)}

    def events(self, piece_chars: int = 0) -> list[tuple[str, dict]]:
        start = self.message() | {"content": [], "stop_reason": None, "usage": self._usage(1)}
        out: list[tuple[str, dict]] = [("message_start", {"type": "message_start", "message": start})]
        for i, block in enumerate(self.blocks):
            kind = block["type"]
            if kind == "text":
                empty = {"type": "text", "text": ""}
                deltas = [{"type": "text_delta", "text": t} for t in _pieces(block["text"], piece_chars)]
            elif kind == "tool_use":
                empty = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
                deltas = [{"type": "input_json_delta", "partial_json": p}
                          for p in _pieces(orjson.dumps(block["input"]).decode(), piece_chars or 12)]
            else:  # thinking
                empty = {"type": "thinking", "thinking": "", "signature": ""}
                deltas = [{"type": "thinking_delta", "thinking": t} for t in _pieces(block["thinking"])]
                deltas.append({"type": "signature_delta", "signature": block["signature"]})
            out.append(("content_block_start", {"type": "content_block_start", "index": i, "content_block": empty}))
            if i == 0:
                out.append(("ping", {"type": "ping"}))
            out += [("content_block_delta", {"type": "content_block_delta", "index": i, "delta": d}) for d in deltas]
            out.append(("content_block_stop", {"type": "content_block_stop", "index": i}))
        out.append(("message_delta", {"type": "message_delta",
                                      "delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
                                      "usage": {"output_tokens": self.output_tokens}}))
        out.append(("message_stop", {"type": "message_stop"}))
        return out


def _pieces(text: str, size: int = 0) -> list[str]:
    if not text:
        return [""]
    if size:
        return [text[i:i + size] for i in range(0, len(text), size)]
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


def build_reply(body: dict) -> Reply:
    messages = body.get("messages") or []
    model = body.get("model", "claude-sonnet-5-5")
    max_tokens = body.get("max_tokens") or 1024
    input_tokens = estimate_tokens(body.get("system"), messages, body.get("tools"))
    last = _last_user(messages)
    blocks: list[dict] = []
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        blocks.append({"type": "thinking", "thinking": "The user wants a reply; this is a simulation.",
                       "signature": "sim-signature-" + os.urandom(8).hex()})
    tools = body.get("tools") or []
    choice = body.get("tool_choice") or {}
    wants_tool = tools and not _has_tool_result(last) and choice.get("type") != "none"
    if wants_tool:
        tool = tools[0]
        if choice.get("type") == "tool":
            tool = next((t for t in tools if t.get("name") == choice.get("name")), tool)
        blocks.append({"type": "text", "text": PREFIX + f"I will call the {tool.get('name')} tool."})
        blocks.append({"type": "tool_use", "id": "toolu_sim_" + os.urandom(8).hex(),
                       "name": tool.get("name"), "input": _sample_input(tool.get("input_schema"), _text_of(last))})
        return Reply(model, blocks, "tool_use", input_tokens)
    if _has_tool_result(last):
        text = PREFIX + "Thanks, I received the tool result."
    else:
        text = PREFIX + "You said: " + _text_of(last)
    stop = "end_turn"
    if math.ceil(len(text) / 4) > max_tokens:
        text, stop = text[: max_tokens * 4], "max_tokens"
    blocks.append({"type": "text", "text": text})
    return Reply(model, blocks, stop, input_tokens)
