"""Limits: the engine behind the ``limits`` guard.

    admit  → plan the checks (plan.py) → one atomic admit on the store (reserving the worst
             case) → on refusal, the clearest error for the first limit that failed
    settle → the real usage (``flow.usage``: the relay reads it from the JSON ``usage``, or
             from a stream's ``message_start`` and last ``message_delta``) turned into tokens and
             nano-dollars; reservations released;
             a ledger row queued; alerts for budget thresholds crossed

Background tasks: the ledger writer (batched inserts), lease renewal for requests still
running (a stream may outlive ``lease_seconds``), and reconciliation of Redis counters from
the ledger (at start, then every ``reconcile_seconds``; counters only ever move up).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import os
import time
from dataclasses import dataclass, replace
from typing import Any

from wardgate.errors import LimitsUnavailable, PermissionDenied, WardgateError
from wardgate.flow import Flow
from wardgate.limits.ledger import LedgerWriter
from wardgate.limits.estimate import Calibrator, InputEstimate, cache_ttl, estimate_input
from wardgate.limits.plan import (SESSION_HEADER, Plan, build_checks, scopes_for,
                                  session_checks, session_id, tool_rounds)
from wardgate.limits.price import Price, PriceTable, usd
from wardgate.limits.refusal import limit_headers, refusal, session_refusal
from wardgate.limits.store import Admission, Bucket, MemoryLimitStore, Quota, SettleItem, StoreDown, make_store
from wardgate.limits.usage import Usage
from wardgate.settings import Settings
from wardgate.store.db import Database, StoreUnavailable

__all__ = ["Limits", "Ticket"]

log = logging.getLogger("wardgate.limits")


@dataclass(slots=True)
class Ticket:
    """One admitted request: what it reserved, and what it used so far."""
    lease: str
    plan: Plan
    keys: list[str]
    store: Any
    model: str
    price: Price
    estimate: InputEstimate | None   # None when no limit applies (nothing to calibrate)
    session: str | None
    settled: bool = False


class Limits:
    def __init__(self, settings: Settings, db: Database, *, metrics: Any = None, secret: bytes | None = None,
                 store: Any = None, clock=time.time) -> None:
        self.settings = settings
        self.cfg = cfg = settings.limits
        self.metrics = metrics
        self.clock = clock
        self.prices = PriceTable({k: v.model_dump(exclude_none=True) for k, v in cfg.prices.items()})
        self.unknown_price = PriceTable.fallback(cfg.unknown_model_price.input, cfg.unknown_model_price.output)
        self.calibrator = Calibrator()
        if store is None:
            store = make_store(settings)
        self.store = store
        self.fallback = MemoryLimitStore(clock=clock)
        self.ledger = LedgerWriter(db, metrics, clock)
        self.usage = self.ledger.repo
        self.secret = hmac.new(secret or os.urandom(32), b"wardgate-session-id", hashlib.sha256).digest()
        self._active: dict[str, Ticket] = {}
        self._alerted: set[str] = set()
        self._exhausted: set[str] = set()
        self._down = False
        self._retry_at = 0.0
        self._failures = 0
        self._last_failure = 0.0
        self._alerted_down = -1e9
        self._tasks: list[asyncio.Task] = []
        self._batcher: asyncio.Task | None = None
        self._pending: list[tuple[Ticket, list[SettleItem], str | None, int]] = []
        self._wake = asyncio.Event()

    # ---- admission
    async def admit(self, flow: Flow) -> WardgateError | None:
        body, p = flow.body, flow.principal
        if body is None or p is None:
            return None
        policy = self.settings.policy_for(p.workspace, p.role)
        if policy is None:
            return None
        model = body.get("model") if isinstance(body.get("model"), str) else ""
        price = self.prices.lookup(model)
        if price is None:
            if self.cfg.unknown_model == "deny":
                return PermissionDenied(f"Model {model[:100]} has no price in this gateway, so its spend "
                                        "cannot be limited; ask an admin to add it to limits.prices.",
                                        code="limits.unknown_model")
            price = replace(self.unknown_price, model=model)
        scopes = scopes_for(p, policy, self.settings)
        if not scopes and policy.session is None:  # nothing to limit: only the usage is recorded
            flow.state["limits.ticket"] = Ticket(flow.request_id, Plan(), [], self.store, model, price, None, None)
            return None
        est = estimate_input(body, image_tokens=self.cfg.image_tokens, pdf_page_tokens=self.cfg.pdf_page_tokens)
        max_tokens = body.get("max_tokens") if isinstance(body.get("max_tokens"), int) else policy.default_max_tokens
        ttl = cache_ttl(body) if flow.body_changed or b"cache_control" in flow.raw_body else None
        worst = price.worst_case(est.bound, max_tokens, ttl)
        estimate = est.scaled(self.calibrator.factor(model))
        plan = build_checks(scopes, model, estimate=estimate, bound=est.bound,
                            max_tokens=max_tokens, worst_cost=worst)
        sid = None
        if policy.session is not None:
            caps = policy.session
            presented = flow.headers.get(SESSION_HEADER)
            sid = session_id(self.secret, p.owner or p.id, body, presented)
            if sid is None:
                return PermissionDenied(f"The {SESSION_HEADER} header does not hold a session this gateway "
                                        "issued to you; send back the value from a previous response, or none.",
                                        code="session.invalid")
            flow.response_headers.append((SESSION_HEADER.encode(), sid.encode()))
            if caps.max_tool_rounds is not None and tool_rounds(body) > caps.max_tool_rounds:
                self._session_alert(sid, p.workspace, cap="max_tool_rounds", limit=caps.max_tool_rounds,
                                    principal=p.id)
                return self._count(session_refusal(sid, f"{caps.max_tool_rounds} consecutive tool-use round trips",
                                                   "session.tool_rounds"), "tool_rounds")
            session_checks(plan, caps, sid, bound=est.bound, max_tokens=max_tokens, worst_cost=worst)
        ticket = Ticket(flow.request_id, plan, [], self.store, model, price, est, sid)
        if not plan.checks:  # none of the limits concerns this model: nothing to reserve
            flow.state["limits.ticket"] = ticket
            return None
        try:
            if self._down and time.monotonic() < self._retry_at:
                raise StoreDown("recently unreachable")  # do not wait on a dead Redis every request
            adm = await self._admit(ticket, plan)
        except StoreDown as exc:
            adm = await self._admit_fallback(ticket, plan, str(exc))
            if isinstance(adm, WardgateError):
                return adm
        except StoreUnavailable:
            return LimitsUnavailable()
        if not adm.ok:
            # nothing is reserved, but if the guard is in shadow mode the request still goes
            # out, and its usage must still be recorded
            flow.state["limits.ticket"] = replace(ticket, plan=Plan(), keys=[])
            return self._refusal(ticket.plan, adm, worst, flow, max_tokens, model[:100])
        ticket.keys = adm.keys
        self._active[ticket.lease] = ticket
        flow.state["limits.ticket"] = ticket
        flow.response_headers.extend(limit_headers(ticket.plan, adm))
        return None

    async def _admit(self, ticket: Ticket, plan: Plan) -> Admission:
        counters = [c.counter for c in plan.checks]
        adm = await ticket.store.admit(ticket.lease, counters, self.cfg.lease_seconds)
        if adm.need_ledger:  # first sight of a spend counter: seed it from the ledger of record
            init = {}
            for i, since in adm.need_ledger:
                led = counters[i].ledger
                init[i] = await self.usage.total(led.scope, led.id, led.model, led.measure, since)
            adm = await ticket.store.admit(ticket.lease, counters, self.cfg.lease_seconds, init)
        if ticket.store is self.store:
            self._failures = 0
            if self._down:
                self._down = False
                log.warning("limits store is back", extra={"store": "redis"})
        return adm

    async def _admit_fallback(self, ticket: Ticket, plan: Plan, why: str) -> Admission | WardgateError:
        self._count_error("admit")
        now = time.monotonic()
        if why != "recently unreachable":
            self._failures = self._failures + 1 if now - self._last_failure < 1.0 else 1
            self._last_failure = now
            # a single slow reply fails only its own request; the store counts as down (and is
            # skipped for a second at a time) after 3 failures in a row within a second
            if self._failures >= 3:
                self._retry_at = now + 1.0
                if not self._down:
                    self._down = True
                    log.warning("limits store unreachable", extra={"error": why})
                    if now - self._alerted_down > 300:  # one alert per outage, at most every 5 min
                        self._alerted_down = now
                        self.alert("limits-store-down", None, None, budgets="deny", error=why,
                                   rate_limits=self.cfg.redis_down.rate_limits)
        if plan.needs_shared_state or self.cfg.redis_down.rate_limits == "deny":
            return LimitsUnavailable()
        share = self.cfg.redis_down.local_share
        local = Plan([replace(c, counter=_scaled(c.counter, share)) for c in plan.checks])
        if self.metrics is not None:
            self.metrics.limits_fallback.inc()
        ticket.store = self.fallback
        ticket.plan = local
        return await self._admit(ticket, local)

    def _count(self, err: WardgateError, what: str) -> WardgateError:
        if self.metrics is not None:
            self.metrics.limits_denied.labels(what).inc()
        return err

    def _count_error(self, op: str) -> None:
        if self.metrics is not None:
            self.metrics.limits_store_errors.labels(op).inc()

    def _refusal(self, plan: Plan, adm: Admission, worst: int, flow: Flow, max_tokens: int,
                 model: str) -> WardgateError:
        c = plan.checks[adm.failed]
        key = adm.keys[adm.failed] if adm.failed < len(adm.keys) else ""
        if c.what == "budget" and _first_time(self._exhausted, key):  # once per budget and period
            self.alert("budget-exhausted", flow.principal.workspace if flow.principal else None, c.scope.id,
                       scope=c.scope.kind, model=c.scope.model, period=c.period, limit_usd=round(usd(c.limit), 6),
                       left_usd=round(usd(max(0, adm.remaining[adm.failed] + c.counter.amount)), 6))
        if c.what in ("turns", "session_tokens", "session_usd"):
            p = flow.principal
            self._session_alert(c.scope.id, p.workspace if p else None, cap=c.what, limit=c.limit,
                                principal=p.id if p else None)
        return self._count(refusal(plan, adm, worst=worst, max_tokens=max_tokens, model=model), c.what)

    def _session_alert(self, sid: str, workspace: str | None, **detail: Any) -> None:
        """One alert per capped session, however often its agent retries."""
        if _first_time(self._alerted, sid):
            self.alert("session-cap-reached", workspace, sid, **detail)

    # ---- settlement
    async def settle(self, flow: Flow) -> None:
        ticket: Ticket | None = flow.state.get("limits.ticket")
        if ticket is None or ticket.settled:
            return
        ticket.settled = True
        self._active.pop(ticket.lease, None)
        u = flow.usage or Usage()  # read by the relay: the JSON usage, or a stream's last counts
        if flow.upstream_status == 200 and not flow.answer_complete and flow.stream_deltas > u.output_tokens:
            # cut short before the final message_delta: message_start said ~1 output token, but
            # the upstream generated at least one token per content delta that was relayed
            u = replace(u, output_tokens=flow.stream_deltas)
        cost = ticket.price.cost(u)
        answered = flow.upstream_status == 200
        items = []
        for c, key in zip(ticket.plan.checks, ticket.keys):
            actual = {"tokens": u.total, "cost": cost, "one": 1 if answered else 0, "zero": 0,
                      "none": c.counter.amount}[c.settle]
            if isinstance(c.counter, Bucket):
                if c.settle == "none":
                    continue  # a request counts against requests-per-minute whatever happened
                items.append(SettleItem("bucket", key, c.counter.amount, actual, c.counter.capacity, c.counter.per))
            else:
                items.append(SettleItem("quota", key, c.counter.amount, actual,
                                        ledger=c.counter.ledger is not None))
        workspace = flow.principal.workspace if flow.principal else None
        if items and ticket.store is self.store and self._batcher is not None:
            # shared store: settlements of concurrent requests go out together, off the
            # request's path (until they land, the reservation holds: stricter, never looser)
            self._pending.append((ticket, items, workspace, 0))
            self._wake.set()
        elif items:
            try:
                settled = await ticket.store.settle(ticket.lease, items)
            except StoreDown:
                self._count_error("settle")  # the ledger still has it; reconciliation catches up
                settled = []
            self._alerts_for(ticket, settled, workspace)
        if flow.upstream_status is not None:
            self.ledger.record(flow, ticket.model, ticket.session, u, cost)
            if ticket.estimate is not None and u.input_tokens and flow.usage is not None and answered:
                self.calibrator.observe(ticket.model, ticket.estimate,
                                        u.input_tokens + u.cache_write_tokens + u.cache_read_tokens)

    async def _settle_batches(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(0)  # let this loop turn's other finishing requests join
            batch, self._pending = self._pending[:500], self._pending[500:]
            if self._pending:
                self._wake.set()
            try:
                results = await self.store.settle_many([(t.lease, items) for t, items, _, _ in batch])
            except StoreDown:
                self._count_error("settle")
                # retried a few times, a second apart; an expired lease is freed by the store
                # anyway, and the ledger has the spend (reconciliation raises budget counters)
                retry = [(t, items, ws, n + 1) for t, items, ws, n in batch if n < 3]
                if retry:
                    asyncio.get_running_loop().call_later(1.0, self._requeue, retry)
                continue
            except Exception as exc:  # noqa: BLE001 - the batcher must not die
                log.error("settle batch failed", extra={"error": type(exc).__name__})
                continue
            for (ticket, _, workspace, _), settled in zip(batch, results):
                self._alerts_for(ticket, settled, workspace)

    def _requeue(self, batch) -> None:
        self._pending[:0] = batch
        self._wake.set()

    def _alerts_for(self, ticket: Ticket, settled, workspace: str | None) -> None:
        by_key = {s.key: s for s in settled}
        for c, key in zip(ticket.plan.checks, ticket.keys):
            s = by_key.get(key)
            if s is None or c.what != "budget":
                continue
            for thr in c.alert_at:
                mark = thr * c.limit
                if s.used_before < mark <= s.used_after:
                    self.alert("budget-threshold-crossed", workspace, c.scope.id,
                               scope=c.scope.kind, model=c.scope.model, threshold=thr, period=c.period,
                               spent_usd=round(usd(s.used_after), 6), limit_usd=round(usd(c.limit), 6))

    def alert(self, kind: str, workspace: str | None, target: str | None, **detail: Any) -> None:
        self.ledger.alert(kind, workspace, target, **detail)

    # ---- background work
    async def flush(self) -> None:
        await self.ledger.flush()

    async def renew(self) -> None:
        for t in list(self._active.values()):
            quota_keys = [k for c, k in zip(t.plan.checks, t.keys) if isinstance(c.counter, Quota)]
            try:
                await t.store.renew(t.lease, quota_keys, self.cfg.lease_seconds)
            except StoreDown:
                self._count_error("renew")

    async def reconcile(self) -> int:
        """Raise Redis spend counters to the ledger's totals where they are behind."""
        if not hasattr(self.store, "scan_ledger_keys"):  # the memory store is seeded, never behind
            return 0
        await self.flush()
        return await self.ledger.reconcile(self.store)

    async def start(self) -> None:
        with contextlib.suppress(StoreDown, StoreUnavailable):
            await self.reconcile()
        if hasattr(self.store, "settle_many"):
            self._batcher = asyncio.ensure_future(self._settle_batches())
        self._tasks = [asyncio.ensure_future(self._every(0.5, self.flush)),
                       asyncio.ensure_future(self._every(self.cfg.lease_seconds / 3, self.renew)),
                       asyncio.ensure_future(self._every(self.cfg.reconcile_seconds, self.reconcile))]

    async def _every(self, seconds: float, fn) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await fn()
            except (StoreDown, StoreUnavailable):
                self._count_error(fn.__name__)
            except Exception as exc:  # noqa: BLE001 - a background task must not die
                log.error("limits background task failed", extra={"task": fn.__name__, "error": type(exc).__name__})

    async def close(self) -> None:
        if self._batcher is not None:
            for _ in range(100):  # settle what is queued before going
                if not self._pending:
                    break
                self._wake.set()
                await asyncio.sleep(0.01)
            self._batcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._batcher
            self._batcher = None
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks = []
        with contextlib.suppress(Exception):
            await self.flush()
        await self.store.close()


def _first_time(seen: set[str], key: str) -> bool:
    """True the first time ``key`` is seen (the memory is bounded: it forgets all at 10,000)."""
    if key in seen:
        return False
    if len(seen) >= 10_000:
        seen.clear()
    seen.add(key)
    return True


def _scaled(counter: Bucket | Quota, share: float) -> Bucket | Quota:
    if isinstance(counter, Bucket):
        return replace(counter, capacity=max(1, int(counter.capacity * share)))
    return replace(counter, limit=max(1, int(counter.limit * share)))
