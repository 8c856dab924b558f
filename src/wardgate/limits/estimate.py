"""How many input tokens a request can use, counted locally before the call.

Two numbers from one walk over the request:

- ``bound``: an upper bound for text. Claude's tokenizers are byte-level, so a token is never
  shorter than one byte of UTF-8: the text's byte count, plus a fixed allowance per message,
  per content block and for the hidden tool-use system prompt, cannot be exceeded. Budgets
  (dollar and per-day token quotas, session caps) reserve against this bound, which is why
  they are never overspent.
- ``estimate``: the bound's text part scaled by a per-model factor learned from the
  upstream's reported usage (``Calibrator``). Rate limits (tokens per minute) debit this
  estimate and are settled to the real count after the response.

Images and PDFs are estimated, not bounded: ``image_tokens`` per image (Anthropic's resizing
caps an image at about 1,600 tokens on most models) and ``pdf_page_tokens`` per PDF page (text
plus the page image). Settling after the response corrects both.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = ["InputEstimate", "estimate_input", "cache_ttl", "Calibrator"]

PER_REQUEST = 16
PER_MESSAGE = 8
PER_BLOCK = 8
TOOLS_PROMPT = 600     # the system prompt the API adds when tools are given (≈350 today)
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


@dataclass(frozen=True, slots=True)
class InputEstimate:
    text_bytes: int      # UTF-8 bytes of every text-bearing part
    fixed: int           # allowances: request, messages, blocks, tools prompt
    media: int           # images and PDF pages (estimated)

    @property
    def bound(self) -> int:
        return self.text_bytes + self.fixed + self.media

    def scaled(self, factor: float) -> int:
        return math.ceil(self.text_bytes * factor) + self.fixed + self.media


class _Walk:
    __slots__ = ("text", "fixed", "media", "image_tokens", "page_tokens")

    def __init__(self, image_tokens: int, page_tokens: int) -> None:
        self.text = 0
        self.fixed = PER_REQUEST
        self.media = 0
        self.image_tokens = image_tokens
        self.page_tokens = page_tokens

    def add(self, s: Any) -> None:
        if isinstance(s, str):
            self.text += len(s.encode("utf-8", "surrogatepass")) if not s.isascii() else len(s)
        elif s is not None:
            self.text += len(orjson.dumps(s))

    def content(self, c: Any) -> None:
        if isinstance(c, str):
            self.add(c)
        elif isinstance(c, list):
            for block in c:
                self.block(block)

    def block(self, b: Any) -> None:
        self.fixed += PER_BLOCK
        if not isinstance(b, dict):
            self.add(b)
            return
        kind = b.get("type")
        if kind == "text":
            self.add(b.get("text"))
        elif kind in ("image", "document"):
            self.source(kind, b.get("source"))
            for k in ("title", "context"):
                self.add(b.get(k))
        elif kind == "tool_use" or kind == "server_tool_use":
            self.add(b.get("name"))
            self.add(b.get("input"))
        elif isinstance(kind, str) and (kind == "tool_result" or kind.endswith("_tool_result")):
            self.content(b.get("content"))
        elif kind == "thinking":
            self.add(b.get("thinking"))
        elif kind == "redacted_thinking":
            self.add(b.get("data"))
        else:  # unknown or future block types: count everything they carry
            self.add(b)

    def source(self, kind: str, src: Any) -> None:
        if not isinstance(src, dict):
            self.add(src)
            return
        stype = src.get("type")
        if stype == "text":
            self.add(src.get("data"))
        elif stype == "content":
            self.content(src.get("content"))
        elif stype == "base64" and src.get("media_type") == "application/pdf":
            self.media += self.page_tokens * max(1, _pdf_pages(src.get("data")))
        elif kind == "image" or stype in ("base64", "url", "file"):
            self.media += self.image_tokens if kind == "image" else self.page_tokens * 20
        else:
            self.add(src)


def _pdf_pages(data: Any) -> int:
    if not isinstance(data, str):
        return 1
    try:
        raw = base64.b64decode(data, validate=False)
    except (ValueError, TypeError):
        return 1
    return len(_PAGE.findall(raw))


def estimate_input(body: dict[str, Any], *, image_tokens: int = 1600, pdf_page_tokens: int = 4600) -> InputEstimate:
    w = _Walk(image_tokens, pdf_page_tokens)
    system = body.get("system")
    w.content(system) if isinstance(system, list) else w.add(system)
    for m in body.get("messages") or ():
        w.fixed += PER_MESSAGE
        if isinstance(m, dict):
            w.content(m.get("content"))
        else:
            w.add(m)
    tools = body.get("tools")
    if tools:
        w.fixed += TOOLS_PROMPT
        w.add(tools)
    for k in ("tool_choice", "output_format", "output_config"):
        if body.get(k) is not None:
            w.add(body[k])
    return InputEstimate(w.text, w.fixed, w.media)


def cache_ttl(body: Any) -> str | None:
    """The longest prompt-cache TTL a request asks for ("1h", "5m"), or None."""
    found: str | None = None
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            cc = node.get("cache_control")
            if isinstance(cc, dict):
                if cc.get("ttl") == "1h":
                    return "1h"
                found = "5m"
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return found


class Calibrator:
    """Per model: actual input tokens per byte of text, as an exponentially weighted mean of
    the upstream's reported usage. Starts at ``initial`` (≈ 3.3 bytes per token, English)."""

    def __init__(self, initial: float = 0.3, weight: float = 0.1, low: float = 0.05, high: float = 1.0) -> None:
        self.initial = initial
        self.weight = weight
        self.low, self.high = low, high
        self._factor: dict[str, float] = {}

    def factor(self, model: str) -> float:
        return self._factor.get(model, self.initial)

    def observe(self, model: str, est: InputEstimate, actual_input: int) -> None:
        if est.text_bytes < 64 or len(self._factor) > 1000 and model not in self._factor:
            return  # too little text to learn from (the allowances dominate)
        sample = (actual_input - est.fixed - est.media) / est.text_bytes
        sample = min(self.high, max(self.low, sample))
        old = self._factor.get(model, self.initial)
        self._factor[model] = old + self.weight * (sample - old)
