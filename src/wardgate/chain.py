"""GuardChain: the guards in their fixed order, fail-closed, with shadow mode.

Request hooks run in order (guards marked ``before_body`` first, on the headers alone,
before the body is read) and the first Deny answers locally (the upstream is never
contacted). Response hooks run in reverse. A guard that raises is a ``guard.error`` (503)
unless its config opts in to ``fail_open``, which is recorded and counted. A guard in
``shadow`` mode records what it would have denied and lets the request through.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from wardgate.errors import GuardError, WardgateError
from wardgate.flow import Flow
from wardgate.guards.base import Deny, Guard
from wardgate.upstream.sse import SSEEvent

__all__ = ["GuardChain"]

log = logging.getLogger("wardgate.chain")


def _overrides(guard: Guard, hook: str) -> bool:
    return getattr(type(guard), hook) is not getattr(Guard, hook)


class GuardChain:
    def __init__(self, guards: Sequence[Guard],
                 on_fail_open: Callable[[str], None] | None = None) -> None:
        active = tuple(g for g in guards if g.mode != "off")
        names = [g.name for g in active]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate guard names in chain: {names}")
        self.guards = active
        requests = [g for g in active if _overrides(g, "on_request")]
        early = [g for g in requests if g.before_body]
        if requests[:len(early)] != early:
            raise ValueError("guards that run before the body must come first in the order")
        self._early = tuple(early)
        self._request = tuple(g for g in requests if not g.before_body)
        self._events = tuple(g for g in reversed(active) if _overrides(g, "on_response_event"))
        self._response = tuple(g for g in reversed(active) if _overrides(g, "on_response"))
        self._finish = tuple(g for g in reversed(active) if _overrides(g, "on_finish"))
        self._on_fail_open = on_fail_open or (lambda name: None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.guards)

    @property
    def rewrites_events(self) -> bool:
        """True when some guard wants to see SSE events (else the relay passes bytes through)."""
        return bool(self._events)

    @property
    def finishes(self) -> bool:
        return bool(self._finish)

    @property
    def inspects_responses(self) -> bool:
        return bool(self._response)

    # ---- verdict bookkeeping shared by the hooks
    def _failed(self, flow: Flow, guard: Guard, hook: str, exc: BaseException) -> WardgateError | None:
        log.error("guard failed", extra={"guard": guard.name, "hook": hook,
                                         "error": type(exc).__name__, "request_id": flow.request_id})
        if guard.fail_open:
            flow.decide(guard.name, "guard.error", "fail-open", f"{hook} raised {type(exc).__name__}")
            self._on_fail_open(guard.name)
            return None
        flow.decide(guard.name, "guard.error", "error", f"{hook} raised {type(exc).__name__}")
        return GuardError()

    def _verdict(self, flow: Flow, guard: Guard, deny: Deny) -> WardgateError | None:
        if guard.mode == "shadow":
            flow.decide(guard.name, deny.error.code, "shadow", deny.reason, deny.findings)
            return None
        flow.decide(guard.name, deny.error.code, "deny", deny.reason, deny.findings)
        return deny.error

    # ---- hooks
    async def run_request(self, flow: Flow, *, before_body: bool = False) -> WardgateError | None:
        """Request hooks in order. ``before_body=True`` runs only the guards that need no body
        (before intake); the default runs the rest, once the body is parsed."""
        for guard in self._early if before_body else self._request:
            try:
                verdict = await guard.on_request(flow)
            except Exception as exc:  # fail closed
                err = self._failed(flow, guard, "on_request", exc)
                if err is not None:
                    return err
                continue
            if verdict is None:
                flow.decide(guard.name, f"{guard.name}.allowed", "allow")
                continue
            err = self._verdict(flow, guard, verdict)
            if err is not None:
                return err
        return None

    async def run_response_event(self, flow: Flow, event: SSEEvent
                                 ) -> SSEEvent | list[SSEEvent] | WardgateError | None:
        """Pass one SSE event through the guards (reverse order). None: drop the event; a
        list: several events in its place (a guard released text it held back). A guard that
        replaces an event gets a ``<name>.rewrote`` decision once; one that holds or releases
        events records its own decisions."""
        current: list[SSEEvent] = [event]
        for guard in self._events:
            nxt: list[SSEEvent] = []
            for ev in current:
                try:
                    out = await guard.on_response_event(flow, ev)
                except Exception as exc:
                    err = self._failed(flow, guard, "on_response_event", exc)
                    if err is not None:
                        return err
                    nxt.append(ev)
                    continue
                if isinstance(out, Deny):
                    err = self._verdict(flow, guard, out)
                    if err is not None:
                        return err
                    nxt.append(ev)
                    continue
                # a replaced event is a rewrite; holding (None) or releasing (a list) is not
                if isinstance(out, SSEEvent) and out is not ev:
                    rewrote = flow.state.setdefault("chain.rewrote", set())
                    if guard.name not in rewrote:  # one decision per guard, not one per delta
                        rewrote.add(guard.name)
                        flow.decide(guard.name, f"{guard.name}.rewrote", "rewrite")
                if isinstance(out, list):
                    nxt.extend(out)
                elif out is not None:
                    nxt.append(out)
            current = nxt
            if not current:
                return None
        return current[0] if len(current) == 1 else current

    async def run_finish(self, flow: Flow) -> None:
        """Finish hooks (reverse order). Errors are logged and counted, never raised: the
        answer has already been decided."""
        for guard in self._finish:
            try:
                await guard.on_finish(flow)
            except Exception as exc:  # noqa: BLE001
                log.error("guard failed", extra={"guard": guard.name, "hook": "on_finish",
                                                 "error": type(exc).__name__, "request_id": flow.request_id})

    async def run_response(self, flow: Flow) -> WardgateError | None:
        for guard in self._response:
            try:
                verdict = await guard.on_response(flow)
            except Exception as exc:
                err = self._failed(flow, guard, "on_response", exc)
                if err is not None:
                    return err
                continue
            if verdict is not None:
                err = self._verdict(flow, guard, verdict)
                if err is not None:
                    return err
        return None
