"""Test helpers shipped with the package: flows, guards, and a real simulated upstream."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from wardgate.flow import Flow
from wardgate.guards.base import Deny, Guard
from wardgate.server import ThreadedServer
from wardgate.upstream.sim import SimState, SimUpstreamApp

__all__ = ["make_flow", "run_guard", "SimUpstream"]


def make_flow(body: dict[str, Any] | None = None, *, route: str = "messages",
              headers: dict[str, str] | None = None, **fields: Any) -> Flow:
    body = {"model": "claude-sonnet-5-5", "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}]} if body is None else body
    return Flow(request_id="wgreq_test", route=route, headers=dict(headers or {}),
                raw_body=orjson.dumps(body), body=body, **fields)


def run_guard(guard: Guard, flow: Flow) -> Deny | None:
    """Run one guard's request hook synchronously (for unit tests without an event loop)."""
    return asyncio.run(guard.on_request(flow))


class SimUpstream(ThreadedServer):
    """The simulated upstream on a free loopback port, in a thread; ``.state`` is live."""

    def __init__(self, api_key: str | None = "sk-ant-sim-upstream-key", **state: Any) -> None:
        self.state = SimState(api_key=api_key, **state)
        super().__init__(SimUpstreamApp(self.state))
