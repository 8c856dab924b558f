"""LedgerWriter: the spend ledger's write side, and alert events.

Requests only queue (a row per request that reached the upstream, an event per alert); a
background task writes the queue in batches (``flush``, every 0.5 s), so no request waits on
the database. Rows that cannot be written are kept for the next try (bounded).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from wardgate.flow import Flow
from wardgate.limits.plan import parse_ledger_key
from wardgate.limits.price import usd
from wardgate.limits.usage import Usage
from wardgate.store.db import Database, StoreUnavailable
from wardgate.store.models import AdminEvent
from wardgate.store.usage import UsageRepo

__all__ = ["LedgerWriter"]

log = logging.getLogger("wardgate.limits")


class LedgerWriter:
    def __init__(self, db: Database, metrics: Any, clock) -> None:
        self.db = db
        self.repo = UsageRepo(db)
        self.metrics = metrics
        self.clock = clock
        self._rows: list[dict[str, Any]] = []
        self._events: list[AdminEvent] = []

    def record(self, flow: Flow, model: str, session: str | None, u: Usage, cost: int) -> None:
        p = flow.principal
        now = self.clock()
        self._rows.append({
            "request_id": flow.request_id, "at": now,
            "day": dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%d"),
            # bounded: a workspace from an OIDC claim can be long, and one bad row must not
            # stop the ledger
            "key_id": p.id[:40] if p and p.kind == "key" else None,
            "user_id": (p.owner or p.id)[:64] if p else None, "workspace_id": (p.workspace or "")[:64] or None,
            "model": model[:128], "session_id": session,
            "input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
            "cache_write_tokens": u.cache_write_tokens, "cache_read_tokens": u.cache_read_tokens,
            "cost_nano": cost, "attempts": flow.upstream_attempts, "status": flow.upstream_status,
            "partial": not flow.answer_complete,
        })
        if self.metrics is not None and cost:
            self.metrics.spend.labels(model[:64]).inc(usd(cost))
            for kind, n in (("input", u.input_tokens), ("output", u.output_tokens),
                            ("cache_write", u.cache_write_tokens), ("cache_read", u.cache_read_tokens)):
                if n:
                    self.metrics.tokens.labels(kind).inc(n)

    def alert(self, kind: str, workspace: str | None, target: str | None, **detail: Any) -> None:
        """An alert event: a warning log line, a metric, and a row in the admin event log."""
        log.warning("alert", extra={"alert": kind, "target": target})
        if self.metrics is not None:
            self.metrics.alerts.labels(kind).inc()
        self._events.append(AdminEvent(at=self.clock(), actor="wardgate", action=kind, workspace_id=workspace,
                                       target=(target or "")[:64] or None, detail=detail))

    async def flush(self) -> None:
        rows, self._rows = self._rows, []
        events, self._events = self._events, []
        try:
            await self.repo.insert_many(rows)
        except StoreUnavailable:
            if self.metrics is not None:
                self.metrics.limits_store_errors.labels("ledger").inc()
            self._rows[:0] = rows[-100_000:]  # kept for the next try (bounded)
        if events:
            try:
                async with self.db.sessions() as s, s.begin():
                    s.add_all(events)
            except Exception as exc:  # noqa: BLE001 - alerts are also in logs and metrics
                log.error("alert events not stored", extra={"error": type(exc).__name__})

    async def reconcile(self, store) -> int:
        """Raise the store's spend counters to the ledger's totals where they are behind (never
        lower: the newest spend may not be written yet)."""
        raised = 0
        for name in await store.scan_ledger_keys():
            parsed = parse_ledger_key(name)
            if parsed is None:
                continue
            led, _, since = parsed
            total = await self.repo.total(led.scope, led.id, led.model, led.measure, since)
            await store.raise_used(name, total)
            raised += 1
        return raised
