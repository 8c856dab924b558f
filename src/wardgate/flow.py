"""Flow: one request's state as it travels through the gateway.

Guards read and write the flow; the audit record (a later issue) is built from it.
The request body is parsed once; the original bytes are forwarded unless a guard replaced
the body, so an untouched request reaches the upstream byte for byte.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["Flow", "Decision", "Principal"]


@dataclass(frozen=True, slots=True)
class Decision:
    guard: str
    code: str      # stable dotted code: "authn.allowed", "authn.failed", "guard.error"
    action: str    # allow | deny | shadow | error | fail-open | rewrite
    reason: str = ""
    # what was found, for the audit log: kinds, counts, where (never values)
    findings: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Principal:
    id: str                    # key id, SSO principal id (sso_…), or static key id
    kind: str = "key"          # key | user (SSO) | static
    workspace: str | None = None
    role: str | None = None
    owner: str | None = None   # the user or service account a key belongs to
    allowed_models: tuple[str, ...] | None = None   # a key's own model restriction, on top of its role
    scopes: tuple[str, ...] = ()
    email: str | None = None
    limits: dict[str, Any] | None = None   # a key's own limits (rpm, tpm, budget_usd...)


@dataclass(eq=False, slots=True)
class Flow:
    request_id: str
    route: str                                   # messages | count_tokens | models | model
    method: str = "POST"
    path: str = "/v1/messages"
    query: bytes = b""
    client: str | None = None
    headers: dict[str, str] = field(default_factory=dict)   # lower-cased names, client's
    raw_body: bytes = b""
    body: dict[str, Any] | None = None
    principal: Principal | None = None
    decisions: list[Decision] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    upstream_seconds: float = 0.0
    upstream_status: int | None = None
    upstream_attempts: int = 0
    response_body: bytes = b""
    disconnected: bool = False
    response_started: bool = False   # headers were sent: from now on errors go in-band
    finished: bool = False
    state: dict[str, Any] = field(default_factory=dict)  # per-guard scratch space
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)  # added by guards
    usage: Any = None            # wardgate.limits.usage.Usage the upstream reported (last seen)
    answer_complete: bool = False  # the whole answer was seen: a JSON message, or message_stop
    stream_deltas: int = 0       # content_block_delta events relayed (a floor for a cut stream's output)
    _body_dirty: bool = False
    _response: Any = None
    _response_dirty: bool = False

    # ---- request body
    @property
    def stream(self) -> bool:
        return bool(self.body and self.body.get("stream") is True)

    def replace_body(self, body: dict[str, Any]) -> None:
        """A guard changed the request: it will be re-serialised before forwarding."""
        self.body = body
        self._body_dirty = True

    def mark_body_changed(self) -> None:
        self._body_dirty = True

    @property
    def body_changed(self) -> bool:
        return self._body_dirty

    def upstream_body(self) -> bytes:
        if self._body_dirty and self.body is not None:
            return orjson.dumps(self.body)
        return self.raw_body

    # ---- non-streaming response (parsed lazily, only if a guard asks)
    @property
    def response(self) -> Any:
        if self._response is None and self.response_body:
            try:
                self._response = orjson.loads(self.response_body)
            except orjson.JSONDecodeError:
                self._response = None
        return self._response

    def replace_response(self, doc: Any) -> None:
        self._response = doc
        self._response_dirty = True

    def downstream_body(self) -> bytes:
        if self._response_dirty:
            return orjson.dumps(self._response)
        return self.response_body

    # ---- decisions
    def decide(self, guard: str, code: str, action: str, reason: str = "",
               findings: tuple[dict[str, Any], ...] = ()) -> None:
        self.decisions.append(Decision(guard, code, action, reason, findings))

    @property
    def outcome(self) -> str:
        """The code that settled the request: the first deny/error, else 'allow'."""
        for d in self.decisions:
            if d.action in ("deny", "error"):
                return d.code
        return "allow"
