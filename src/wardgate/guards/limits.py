"""limits: rate limits, dollar budgets and agent-session caps (``wardgate.limits``).

One guard, not one per kind: every counter a request touches (requests and tokens per
minute, tokens per day, concurrency, budgets of key/user/workspace/gateway, session caps)
is checked and reserved in one atomic step, so a refused request takes nothing from any
of them. Only ``/v1/messages`` is limited (``count_tokens`` and ``models`` are free).

- on_request: plan, estimate, reserve the worst case; refuse with 429 (``rate.*``,
  ``budget.exceeded``), 403 (``session.*``) or 503 (``limits.unavailable``).
- on_finish: settle with the usage the relay read from the answer (``flow.usage``; it needs
  no event hook, so streams still pass through as bytes), release reservations, queue the
  ledger row, raise alerts.
"""

from __future__ import annotations

from wardgate.flow import Flow
from wardgate.guards.base import Deny, Guard, GuardConfig

__all__ = ["LimitsGuard"]


class LimitsGuard(Guard):
    name = "limits"
    Config = GuardConfig

    def setup(self, settings, services) -> None:
        self.limits = services.limits if services is not None else None

    async def on_request(self, flow: Flow) -> Deny | None:
        if self.limits is None or flow.route != "messages":
            return None
        err = await self.limits.admit(flow)
        if err is None:
            return None
        return Deny(err, err.message[:300])

    async def on_finish(self, flow: Flow) -> None:
        if self.limits is not None:
            await self.limits.settle(flow)
