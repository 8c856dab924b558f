"""limits: rate limits, dollar budgets and agent-session caps (``wardgate.limits``).

One guard, not one per kind: every counter a request touches (requests and tokens per
minute, tokens per day, concurrency, budgets of key/user/workspace/gateway, session caps)
is checked and reserved in one atomic step, so a refused request takes nothing from any
of them. Only ``/v1/messages`` is limited (``count_tokens`` and ``models`` are free).

- on_request: plan, estimate, reserve the worst case; refuse with 429 (``rate.*``,
  ``budget.exceeded``), 403 (``session.*``) or 503 (``limits.unavailable``).
- on_response_event / on_response: read the usage the upstream reports.
- on_finish: settle (actual tokens and cost; reservations released), ledger row, alerts.
"""

from __future__ import annotations

from wardgate.flow import Flow
from wardgate.guards.base import Deny, Guard, GuardConfig
from wardgate.upstream.sse import SSEEvent

__all__ = ["LimitsGuard"]


class LimitsGuard(Guard):
    name = "limits"
    Config = GuardConfig

    def setup(self, settings, services) -> None:
        self.limits = getattr(services, "limits", None)

    async def on_request(self, flow: Flow) -> Deny | None:
        if self.limits is None or flow.route != "messages":
            return None
        err = await self.limits.admit(flow)
        if err is None:
            return None
        return Deny(err, err.message[:300])

    async def on_response_event(self, flow: Flow, event: SSEEvent) -> SSEEvent | Deny | None:
        if self.limits is not None and event.event in ("message_start", "message_delta", "message_stop"):
            self.limits.observe_event(flow, event)
        return event

    async def on_response(self, flow: Flow) -> Deny | None:
        if self.limits is not None:
            self.limits.observe_response(flow)
        return None

    async def on_finish(self, flow: Flow) -> None:
        if self.limits is not None:
            await self.limits.settle(flow)
