"""What one request is checked against: the scopes that apply to it and the counters each
limit becomes (``Bucket`` for rates, ``Quota`` for per-day tokens, budgets, concurrency and
session caps). Pure functions of the request, the caller and the config: no I/O."""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

import orjson

from wardgate.flow import Principal
from wardgate.limits.price import nano
from wardgate.limits.store import Bucket, Ledger, Quota
from wardgate.settings import LimitSet, LimitValues, RolePolicy, SessionCaps, Settings

__all__ = ["Scope", "Check", "Plan", "scopes_for", "build_checks", "session_id", "tool_rounds"]

SESSION_HEADER = "wardgate-session-id"


@dataclass(frozen=True, slots=True)
class Scope:
    kind: str            # key | user | workspace | all | session
    id: str
    model: str | None    # the model pattern of a per-model limit

    @property
    def tag(self) -> str:
        return f"{self.kind}|{_safe(self.id)}|{self.model or '*'}"

    @property
    def label(self) -> str:
        base = {"key": f"key {self.id}", "user": f"user {self.id}", "workspace": f"workspace {self.id}",
                "all": "the whole gateway", "session": f"session {self.id}"}[self.kind]
        return base + (f" on models {self.model}" if self.model else "")


def _safe(s: str) -> str:
    return s.replace("%", "%25").replace("|", "%7C").replace(":", "%3A")


@dataclass(frozen=True, slots=True)
class Check:
    """One counter of the plan, and how to settle it."""
    counter: Bucket | Quota
    what: str            # rpm | tpm | tpd | concurrent | budget | turns | session_tokens | session_usd
    scope: Scope
    limit: int
    period: str = "minute"
    settle: str = "none"   # none | tokens | cost | one | zero
    alert_at: tuple[float, ...] = ()


@dataclass(slots=True)
class Plan:
    checks: list[Check] = field(default_factory=list)

    @property
    def needs_shared_state(self) -> bool:
        """Budgets, per-day tokens and session caps must not run on a per-replica fallback."""
        return any(c.what not in ("rpm", "tpm", "concurrent") for c in self.checks)


_KEY_LIMITS: dict[bytes, LimitValues] = {}


def _key_limits(raw: dict[str, Any]) -> LimitValues:
    """A key's stored limits, validated once per distinct value (not once per request)."""
    tag = orjson.dumps(raw, option=orjson.OPT_SORT_KEYS)
    v = _KEY_LIMITS.get(tag)
    if v is None:
        if len(_KEY_LIMITS) > 10_000:
            _KEY_LIMITS.clear()
        v = _KEY_LIMITS[tag] = LimitValues.model_validate(raw)
    return v


def scopes_for(p: Principal, policy: RolePolicy, settings: Settings) -> list[tuple[Scope, LimitSet | LimitValues]]:
    out: list[tuple[Scope, LimitSet | LimitValues]] = []
    if p.kind == "key" and p.limits:
        out.append((Scope("key", p.id, None), _key_limits(p.limits)))
    if policy.limits is not None:
        out.append((Scope("user", p.owner or p.id, None), policy.limits))
    ws = settings.limits.workspaces.get(p.workspace or "")
    if ws is not None:
        out.append((Scope("workspace", p.workspace or "", None), ws))
    if not settings.limits.global_.empty or settings.limits.global_.models:
        out.append((Scope("all", "*", None), settings.limits.global_))
    return out


def _expand(scope: Scope, values: LimitSet | LimitValues, model: str):
    yield scope, values
    for pattern, sub in (getattr(values, "models", None) or {}).items():
        if fnmatch.fnmatchcase(model, pattern):
            yield Scope(scope.kind, scope.id, pattern), sub


def build_checks(scopes, model: str, *, estimate: int, bound: int, max_tokens: int, worst_cost: int) -> Plan:
    plan = Plan()
    add = plan.checks.append
    for base, values in scopes:
        for scope, v in _expand(base, values, model):
            tag = scope.tag
            if v.rpm is not None:
                add(Check(Bucket(f"rpm|{tag}", v.rpm, 1), "rpm", scope, v.rpm))
            if v.tpm is not None:
                add(Check(Bucket(f"tpm|{tag}", v.tpm, estimate + max_tokens), "tpm", scope, v.tpm, settle="tokens"))
            if v.concurrent is not None:
                add(Check(Quota(f"cc|{tag}", v.concurrent, 1, "none"), "concurrent", scope, v.concurrent,
                          "none", settle="zero"))
            if v.tpd is not None:
                led = Ledger(scope.kind, scope.id, scope.model, "tokens")
                add(Check(Quota(f"{_ledger_tag(led)}|day", v.tpd, bound + max_tokens, "day", led), "tpd", scope,
                          v.tpd, "day", settle="tokens"))
            if v.budget_usd is not None:
                led = Ledger(scope.kind, scope.id, scope.model, "cost")
                limit = nano(v.budget_usd)
                add(Check(Quota(f"{_ledger_tag(led)}|{v.budget_period}", limit, worst_cost, v.budget_period, led),
                          "budget", scope, limit, v.budget_period, settle="cost", alert_at=tuple(v.alert_at)))
    return plan


def _ledger_tag(led: Ledger) -> str:
    return f"L|{led.measure}|{led.scope}|{_safe(led.id)}|{led.model or '*'}"


def parse_ledger_key(name: str) -> tuple[Ledger, str, int] | None:
    """``L|cost|key|<id>|<model>|month:<start>`` → (ledger, period, period start)."""
    parts = name.split("|")
    if len(parts) != 6 or parts[0] != "L" or ":" not in parts[5]:
        return None
    period, _, start = parts[5].partition(":")
    try:
        since = int(float(start))
    except ValueError:
        return None
    ident = parts[3].replace("%3A", ":").replace("%7C", "|").replace("%25", "%")
    return Ledger(parts[2], ident, None if parts[4] == "*" else parts[4], parts[1]), period, since


def session_checks(plan: Plan, caps: SessionCaps, sid: str, *, bound: int, max_tokens: int, worst_cost: int) -> None:
    scope = Scope("session", sid, None)
    idle = caps.idle_minutes * 60
    add = plan.checks.append
    if caps.max_turns is not None:
        add(Check(Quota(f"s|{sid}|turns", caps.max_turns, 1, "none", idle=idle), "turns", scope, caps.max_turns,
                  "session", settle="one"))
    if caps.max_tokens is not None:
        add(Check(Quota(f"s|{sid}|tokens", caps.max_tokens, bound + max_tokens, "none", idle=idle), "session_tokens",
                  scope, caps.max_tokens, "session", settle="tokens"))
    if caps.max_usd is not None:
        limit = nano(caps.max_usd)
        add(Check(Quota(f"s|{sid}|usd", limit, worst_cost, "none", idle=idle), "session_usd", scope, limit,
                  "session", settle="cost"))


def _first_turn(body: dict[str, Any]) -> Any:
    for m in body.get("messages") or ():
        if isinstance(m, dict) and m.get("role") == "user":
            return m.get("content")
    return None


def session_id(secret: bytes, owner: str, body: dict[str, Any], presented: str | None) -> str | None:
    """The gateway's id for this conversation: the one it issued (``wardgate-session-id``,
    checked against its MAC and owner), or else one derived from the conversation's opening
    (the system prompt and the first user turn, which every later turn of an agent loop
    repeats). None when the presented id is not one this gateway issued to this caller."""
    if presented is not None:
        parts = presented.split("_")
        if len(parts) != 3 or parts[0] != "wgs" or len(parts[1]) != 24 or len(parts[2]) != 16:
            return None
        want = hmac.new(secret, f"{owner}\0{parts[1]}".encode(), hashlib.sha256).hexdigest()[:16]
        given = parts[2].encode("utf-8", "replace")  # header values may hold any latin-1 character
        return presented if hmac.compare_digest(want.encode(), given) else None
    opening = orjson.dumps([owner, body.get("system"), _first_turn(body)], option=orjson.OPT_SORT_KEYS)
    fp = hmac.new(secret, opening, hashlib.sha256).hexdigest()[:24]  # keyed: ids reveal nothing of prompts
    mac = hmac.new(secret, f"{owner}\0{fp}".encode(), hashlib.sha256).hexdigest()[:16]
    return f"wgs_{fp}_{mac}"


def _is_tool_results(m: Any) -> bool:
    c = m.get("content")
    return isinstance(c, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in c)


def tool_rounds(body: dict[str, Any]) -> int:
    """Consecutive tool-use round trips at the end of the conversation: the user turns that
    carry tool results, counted back to the last turn without one (a human's message)."""
    n = 0
    for m in reversed(body.get("messages") or []):
        if not isinstance(m, dict):
            break
        if m.get("role") == "user":
            if not _is_tool_results(m):
                break
            n += 1
    return n
