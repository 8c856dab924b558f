"""The Guard base class: small, configured once, run by the chain in a fixed order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from wardgate.errors import ConfigError, WardgateError
from wardgate.flow import Flow
from wardgate.upstream.sse import SSEEvent

__all__ = ["Guard", "GuardConfig", "Deny"]


@dataclass(frozen=True, slots=True)
class Deny:
    """A guard's refusal: the error the client sees, and a reason for the audit log only."""

    error: WardgateError
    reason: str = ""
    findings: tuple[dict[str, Any], ...] = ()   # kinds, counts, where: for the audit log


class GuardConfig(BaseModel):
    """Options every guard has; subclasses add their own fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    mode: Literal["enforce", "shadow", "off"] = "enforce"
    fail_open: bool = False

    @field_validator("mode", mode="before")
    @classmethod
    def _yaml_off(cls, v):
        return "off" if v is False else v  # YAML 1.1 reads a bare `off` as false


class Guard:
    name: ClassVar[str]
    Config: ClassVar[type[GuardConfig]] = GuardConfig
    # True: on_request runs on the headers alone, before the body is read or parsed (authn:
    # an unauthenticated caller gets its 401 without the gateway parsing a byte of its body).
    before_body: ClassVar[bool] = False

    def __init__(self) -> None:
        self.config: GuardConfig = self.Config()

    @property
    def mode(self) -> str:
        return self.config.mode

    @property
    def fail_open(self) -> bool:
        return self.config.fail_open

    def configure(self, raw: dict[str, Any], settings: Any = None, services: Any = None) -> None:
        """Validate this guard's options at load; errors name the key, never the value."""
        try:
            self.config = self.Config.model_validate(raw or {})
        except ValidationError as exc:
            problems = []
            for err in exc.errors(include_input=False, include_url=False):
                loc = ".".join(str(p) for p in err["loc"])
                msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
                problems.append(f"guards.{self.name}.{loc}: {msg}")
            raise ConfigError("; ".join(problems)) from None
        self.setup(settings, services)

    def setup(self, settings: Any, services: Any) -> None:
        """Hook for guards that derive state from settings (and shared services such as
        ``wardgate.identity.service.Identity``) after their options are validated."""

    async def on_request(self, flow: Flow) -> Deny | None:
        return None

    async def on_response_event(self, flow: Flow, event: SSEEvent) -> SSEEvent | list[SSEEvent] | Deny | None:
        """Each SSE event of a streamed answer, as it arrives. Return the event to relay (the
        same, or a new one from ``event.with_json``), a list of events to relay in its place,
        None to drop it, or Deny to end the stream with an in-band ``error`` event."""
        return event

    async def on_finish(self, flow: Flow) -> None:
        """Always called once the request is over, whatever happened (answered, refused by a
        later guard, upstream error, client gone): release what ``on_request`` took."""

    async def on_response(self, flow: Flow) -> Deny | None:
        """After the whole response. JSON: ``flow.response`` is the parsed body (change it
        with ``flow.replace_response``); a Deny replaces the answer with an error. Streams:
        called after the last event was relayed (``flow.response`` is None); a Deny ends the
        stream with an in-band ``error`` event."""
        return None
