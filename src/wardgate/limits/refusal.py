"""What a caller is told: the refusal for the first limit that failed, and the headers that
say what is left (``anthropic-ratelimit-*`` as the Anthropic API names them, and budgets)."""

from __future__ import annotations

import datetime as dt
import math

from wardgate.errors import BudgetExceeded, RateLimited, SessionCapReached, WardgateError
from wardgate.limits.plan import Plan
from wardgate.limits.price import format_usd, usd
from wardgate.limits.store import NEVER, Admission

__all__ = ["refusal", "session_refusal", "limit_headers"]

_HEADED = {"rpm": b"requests", "tpm": b"tokens", "budget": b"budget"}
_UNITS = {"rpm": "requests per minute", "tpm": "tokens per minute", "tpd": "tokens per day",
          "concurrent": "concurrent requests"}


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def session_refusal(sid: str, cap: str, code: str) -> SessionCapReached:
    return SessionCapReached(f"Session {sid} reached its cap of {cap}; the agent loop was stopped for review. "
                             "Start a new conversation to continue.", code=code)


def refusal(plan: Plan, adm: Admission, *, worst: int, max_tokens: int, model: str) -> WardgateError:
    c = plan.checks[adm.failed]
    left = adm.remaining[adm.failed] + c.counter.amount  # what was left before this request
    never = adm.retry_after == NEVER
    retry = None if never else max(1.0, math.ceil(adm.retry_after))
    who = c.scope.label
    if c.what == "budget":
        err: WardgateError = BudgetExceeded(
            f"Budget exceeded for {who}: {format_usd(max(0, int(left)))} of {format_usd(c.limit)} left "
            f"this {c.period} (resets {_iso(adm.resets[adm.failed])}); this request could cost up to "
            f"{format_usd(worst)} (its input plus max_tokens={max_tokens} of output at {model}'s prices). "
            "Lower max_tokens, or wait for the reset.", retry_after=retry)
        err.extra_headers.append((b"x-should-retry", b"false"))  # seconds of back-off cannot help
    elif c.what in ("turns", "session_tokens", "session_usd"):
        cap = {"turns": f"{c.limit} turns", "session_tokens": f"{c.limit} tokens",
               "session_usd": format_usd(c.limit)}[c.what]
        err = session_refusal(c.scope.id, cap, f"session.{c.what}")
    else:
        unit = _UNITS[c.what]
        if never:
            msg = (f"This request needs up to {c.counter.amount} tokens (estimated input plus max_tokens), "
                   f"more than the limit of {c.limit} {unit} for {who}; lower max_tokens.")
        else:
            msg = f"Rate limit of {c.limit} {unit} reached for {who}; {max(0, int(left))} left, retry in {int(retry or 1)} s."
        err = RateLimited(msg, code=f"rate.{c.what}", retry_after=retry)
        if never:
            err.extra_headers.append((b"x-should-retry", b"false"))
    err.extra_headers.extend(limit_headers(plan, adm))
    return err


def limit_headers(plan: Plan, adm: Admission) -> list[tuple[bytes, bytes]]:
    """The tightest limit of each kind. Requests: what is left after this one; tokens and
    budgets: what was left before this request's reservation (it is settled to the real use)."""
    out: list[tuple[bytes, bytes]] = []
    tightest: dict[str, tuple[float, int, float]] = {}
    for i, c in enumerate(plan.checks):
        if c.what in _HEADED and i < len(adm.remaining):
            left = adm.remaining[i] + (c.counter.amount if c.what != "rpm" else 0)
            if c.what not in tightest or left < tightest[c.what][0]:
                tightest[c.what] = (left, c.limit, adm.resets[i])
    for what, (left, limit, reset) in tightest.items():
        name = _HEADED[what]
        if what == "budget":
            out += [(b"wardgate-budget-limit-usd", f"{usd(limit):.6f}".encode()),
                    (b"wardgate-budget-remaining-usd", f"{max(0.0, usd(left)):.6f}".encode()),
                    (b"wardgate-budget-reset", _iso(reset).encode())]
        else:
            out += [(b"anthropic-ratelimit-" + name + b"-limit", str(limit).encode()),
                    (b"anthropic-ratelimit-" + name + b"-remaining", str(max(0, math.floor(left))).encode()),
                    (b"anthropic-ratelimit-" + name + b"-reset", _iso(reset).encode())]
    return out
