"""shape: the request's structure, beyond the field types intake already checked.

Catches malformed requests before they cost an upstream round trip: each message is an
object with role ``user`` or ``assistant`` and string or block-list content, blocks are
objects with a string ``type``, ``system`` is a string or a list of blocks, tools have names.
Unknown block types and fields pass: new API features must not be broken by the gateway.
"""

from __future__ import annotations

from pydantic import Field

from wardgate.errors import InvalidField
from wardgate.flow import Flow
from wardgate.guards.base import Deny, Guard, GuardConfig

__all__ = ["RequestShapeGuard"]


class ShapeConfig(GuardConfig):
    max_messages: int = Field(100_000, ge=1)
    max_tokens_limit: int = Field(1_000_000, ge=1)


def _blocks_ok(content: object) -> bool:
    return isinstance(content, list) and all(
        isinstance(b, dict) and isinstance(b.get("type"), str) for b in content)


class RequestShapeGuard(Guard):
    name = "shape"
    Config = ShapeConfig

    async def on_request(self, flow: Flow) -> Deny | None:
        body = flow.body
        if body is None:
            return None
        cfg = self.config
        messages = body.get("messages", ())
        if len(messages) > cfg.max_messages:
            return self._bad(f"messages: at most {cfg.max_messages} messages are accepted")
        for i, m in enumerate(messages):
            if not isinstance(m, dict):
                return self._bad(f"messages.{i}: Input should be an object")
            if m.get("role") not in ("user", "assistant"):
                return self._bad(f"messages.{i}.role: Input should be 'user' or 'assistant'")
            content = m.get("content")
            if not isinstance(content, str) and not _blocks_ok(content):
                return self._bad(f"messages.{i}.content: Input should be a string or a list of content blocks")
        system = body.get("system")
        if system is not None and not isinstance(system, str) and not _blocks_ok(system):
            return self._bad("system: Input should be a string or a list of content blocks")
        tools = body.get("tools")
        if tools is not None:
            if not isinstance(tools, list) or not all(
                    isinstance(t, dict) and isinstance(t.get("name"), str) for t in tools):
                return self._bad("tools: Input should be a list of tools, each with a name")
        mt = body.get("max_tokens")
        if isinstance(mt, int) and mt > cfg.max_tokens_limit:
            return self._bad(f"max_tokens: at most {cfg.max_tokens_limit} is accepted by this gateway")
        return None

    @staticmethod
    def _bad(message: str) -> Deny:
        return Deny(InvalidField(message, code="shape.invalid"), message)
