"""dlp: keep secrets and personal data from reaching the upstream; keep answers useful.

On the request, every text-bearing part (``wardgate.content``) is scanned
(``wardgate.detectors``); per entity kind the role's policy decides:

    allow · redact ([EMAIL]) · mask (************1111) · pseudonymize ([EMAIL_1]) · block

Secrets default to block, personal data to pseudonymize. Pseudonyms are stable for the
conversation (the vault, ``operators.vault``) and restored in the answer before the caller
sees it: JSON, streamed ``text_delta`` and ``input_json_delta`` (``operators.restore``).
The answer is scanned too (``guards.dlp_output``): secrets, and personal data the request
did not contain, are redacted or flagged per ``output``. Findings (kinds, counts, where,
never values) go into the flow's decisions for the audit log. A scan that overruns
``scan_budget_ms`` refuses the request (413) rather than forward text it did not finish.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import os
import time
from collections import Counter
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from wardgate.content import binary_parts, text_parts
from wardgate.detectors.finding import PII_KINDS, SECRET_KINDS, Finding, category_of
from wardgate.detectors.scanner import CustomEntity, ScanBudgetExceeded, Scanner, compile_pattern
from wardgate.errors import ConfigError, PayloadTooLarge, SensitiveDataBlocked
from wardgate.errors import VaultUnavailable as VaultDown
from wardgate.flow import Flow
from wardgate.guards.base import Deny, Guard, GuardConfig
from wardgate.guards.dlp_output import OutputFilter
from wardgate.limits.plan import SESSION_HEADER, session_id
from wardgate.operators.rewrite import label, mask, redact, rewrite
from wardgate.operators.vault import MemoryVault, RedisVault, VaultKey, VaultUnavailable
from wardgate.settings import DlpAction, OutputAction
from wardgate.upstream.sse import SSEEvent

__all__ = ["DlpGuard", "DlpConfig"]

_SEP = "\n\x00\n"  # between parts scanned together: no pattern crosses a NUL
_DEFAULT_ACTIONS = {"secret": "block", "pii": "pseudonymize", "custom": "pseudonymize"}
_DEFAULT_OUTPUT = {"secret": "redact", "pii": "flag", "custom": "flag"}


class CustomConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    pattern: str | None = None
    terms: list[str] = Field(default_factory=list)
    terms_file: str | None = None
    case_sensitive: bool = False

    @model_validator(mode="after")
    def _one_source(self):
        if (self.pattern is None) == (not self.terms and self.terms_file is None):
            raise ValueError("give either pattern, or terms / terms_file")
        if self.pattern is not None:
            compile_pattern(self.pattern)  # RE2: linear time, or refused at load
        return self


class VaultConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    backend: Literal["auto", "memory", "redis"] = "auto"
    ttl_seconds: float = Field(86400.0, gt=0, le=30 * 86400)


class DlpConfig(GuardConfig):
    actions: dict[str, DlpAction] = Field(default_factory=dict)
    output: dict[str, OutputAction] = Field(default_factory=dict)
    min_score: float = Field(0.5, ge=0, le=1)
    scan_budget_ms: float = Field(250.0, gt=0)
    block_binary: bool = False
    names: bool = True
    addresses: bool = True
    spacy_model: str | None = None
    custom: list[CustomConfig] = Field(default_factory=list)
    vault: VaultConfig = VaultConfig()


def _choose(kind: str, *tables: dict[str, str]) -> str:
    cat = category_of(kind)
    for table in tables:
        for key in (kind, cat):
            if key in table:
                return table[key]
    raise KeyError(kind)


def _summary(found: list[tuple[str, Finding, str]]) -> tuple[dict[str, Any], ...]:
    by_kind: dict[tuple[str, str], list] = {}
    for where, f, action in found:
        by_kind.setdefault((f.kind, action), []).append([where, f.start, f.end])
    return tuple({"kind": k, "action": a, "count": len(spans), "spans": spans[:20]}
                 for (k, a), spans in sorted(by_kind.items()))


class DlpGuard(Guard):
    name = "dlp"
    Config = DlpConfig

    def setup(self, settings, services) -> None:
        cfg: DlpConfig = self.config
        for table in (cfg.actions, cfg.output):
            for key in table:
                _known_key(key, cfg)
        custom = []
        for c in cfg.custom:
            terms = tuple(c.terms)
            if c.terms_file is not None:
                try:
                    with open(c.terms_file, encoding="utf-8") as fh:
                        terms += tuple(line.strip() for line in fh if line.strip() and not line.startswith("#"))
                except OSError as exc:
                    raise ConfigError(f"guards.dlp.custom.{c.name}.terms_file: cannot read ({exc.strerror})") from None
            custom.append(CustomEntity(c.name, c.pattern, terms, c.case_sensitive))
        try:
            self.scanner = Scanner(custom=custom, names=cfg.names, addresses=cfg.addresses,
                                   spacy_model=cfg.spacy_model)
        except ImportError as exc:
            raise ConfigError(f"guards.dlp.spacy_model: {exc}") from None
        self.output_scanner = Scanner(custom=custom, names=False, addresses=False)
        self._kinds = ("secret", "pii", "custom", *SECRET_KINDS, *PII_KINDS, *(f"custom:{c.name}" for c in custom))
        self.settings = settings
        pepper = getattr(services, "pepper", None) if services is not None else None
        secret = pepper or os.urandom(32)
        # the same derivation as the limits service, so a wardgate-session-id it issued names
        # the conversation here too
        self._sid_secret = hmac.new(secret, b"wardgate-session-id", hashlib.sha256).digest()
        key = VaultKey(secret)
        backend = cfg.vault.backend
        redis_url = settings.redis.url if settings is not None else None
        if backend == "auto":
            backend = "redis" if redis_url else "memory"
        if backend == "redis":
            if not redis_url:
                raise ConfigError("guards.dlp.vault.backend: redis needs redis.url")
            if pepper is None:
                raise ConfigError("guards.dlp.vault.backend: a shared vault needs the key pepper "
                                  "(identity.pepper_env) so every replica derives the same key")
            self.vault = RedisVault(key, cfg.vault.ttl_seconds, redis_url, settings.limits.redis_prefix,
                                    settings.limits.redis_timeout_seconds)
        else:
            self.vault = MemoryVault(key, cfg.vault.ttl_seconds)

    # ---- policy
    def _policy(self, flow: Flow):
        p = flow.principal
        if p is None or self.settings is None:
            return None
        role = self.settings.policy_for(p.workspace, p.role)
        return role.dlp if role is not None else None

    def _action(self, kind: str, policy) -> str:
        return _choose(kind, policy.actions if policy else {}, self.config.actions, _DEFAULT_ACTIONS)

    # ---- request
    async def on_request(self, flow: Flow) -> Deny | None:
        body = flow.body
        if not body or flow.route not in ("messages", "count_tokens"):
            return None
        policy = self._policy(flow)
        cfg: DlpConfig = self.config
        block_binary = policy.block_binary if policy and policy.block_binary is not None else cfg.block_binary
        if block_binary:
            where = next(binary_parts(body), None)
            if where is not None:
                return Deny(SensitiveDataBlocked("Images and PDF documents are not allowed for your role: their "
                                                 "content cannot be checked for sensitive data.",
                                                 code="dlp.binary_blocked"), f"binary content at {where}")
        deadline = time.perf_counter() + cfg.scan_budget_ms / 1000
        parts = list(text_parts(body))
        found: list[tuple[Any, Finding, str]] = []
        try:
            for part, f in self._scan(parts, deadline):
                if f.score >= cfg.min_score:
                    found.append((part, f, self._action(f.kind, policy)))
        except ScanBudgetExceeded:
            return Deny(PayloadTooLarge("The request could not be checked for sensitive data within the "
                                        "gateway's time budget; send less text.", code="dlp.scan_budget"),
                        f"scan exceeded {cfg.scan_budget_ms:g} ms")
        flow.state["dlp.seen"] = {part.text[f.start:f.end] for part, f, _ in found}
        if not found:
            return None
        summary = _summary([(p.where, f, a) for p, f, a in found])
        blocked = [(p, f) for p, f, a in found if a == "block"]
        if blocked:
            return _refusal(blocked, "", summary)
        stuck = [(p, f) for p, f, a in found if a != "allow" and (p.readonly or p.is_key)]
        if stuck:  # signed thinking, a name, a URL, a key of a free-form object: refuse, never rewrite
            return _refusal(stuck, ", a field the gateway cannot rewrite", summary)
        if self.mode == "shadow":  # record what would change, change nothing
            counts = Counter((f.kind, a) for _, f, a in found if a != "allow")
            if counts:
                reason = ", ".join(f"{k}×{n} {a}" for (k, a), n in sorted(counts.items()))
                flow.decide(self.name, "dlp.would_rewrite", "shadow", reason, summary)
            return None
        rewritten = await self._rewrite(flow, found)
        if rewritten is not None:
            return rewritten
        counts = Counter((f.kind, a) for _, f, a in found if a != "allow")
        if counts:
            flow.mark_body_changed()
            reason = ", ".join(f"{k}×{n} {a}" for (k, a), n in sorted(counts.items()))
            flow.decide(self.name, "dlp.rewrote", "rewrite", reason, summary)
        else:
            flow.decide(self.name, "dlp.found", "allow", "allowed by policy", summary)
        return None

    def _scan(self, parts: list, deadline: float):
        """All parts in one scan: a request with 30 tool definitions has about a thousand
        short strings, and one scan of their concatenation costs a fraction of a thousand
        scans. The separator stops every pattern; a finding is cut at its part's end."""
        texts = [p.text for p in parts]
        starts, pos = [], 0
        for t in texts:
            starts.append(pos)
            pos += len(t) + len(_SEP)
        for f in self.scanner.scan(_SEP.join(texts), deadline=deadline):
            i = bisect.bisect_right(starts, f.start) - 1
            begin = starts[i]
            end = begin + len(texts[i])
            if f.start < end:
                yield parts[i], Finding(f.kind, f.start - begin, min(f.end, end) - begin, f.score, f.detector)

    async def _rewrite(self, flow: Flow, found) -> Deny | None:
        pseudo = [(p, f) for p, f, a in found if a == "pseudonymize"]
        placeholders: dict[tuple[int, int, int], str] = {}
        if pseudo:
            p = flow.principal
            owner = (p.owner or p.id) if p is not None else "anonymous"
            cid = session_id(self._sid_secret, owner, flow.body, flow.headers.get(SESSION_HEADER)) or \
                session_id(self._sid_secret, owner, flow.body, None)
            try:
                conv = await self.vault.load(cid)
                items, keys = [], []
                for part, f in pseudo:
                    value = part.text[f.start:f.end]
                    tag = self.vault.key.tag(cid, f.kind, value)
                    known = conv.by_tag.get(tag)
                    if known is not None:
                        placeholders[(id(part), f.start, f.end)] = known
                    else:
                        items.append((tag, label(f.kind), value))
                        keys.append((id(part), f.start, f.end))
                if items:
                    for k, ph in zip(keys, await self.vault.allocate(conv, items)):
                        placeholders[k] = ph
            except VaultUnavailable as exc:
                flow.decide(self.name, "dlp.vault_unavailable", "error", type(exc.__cause__).__name__)
                return Deny(VaultDown(), "vault unavailable")
        edits: dict[int, tuple[Any, list]] = {}
        restore: dict[str, str] = {}
        for part, f, action in found:
            if action == "allow":
                continue
            value = part.text[f.start:f.end]
            if action == "redact":
                new = redact(f.kind)
            elif action == "mask":
                new = mask(value)
            else:
                new = placeholders[(id(part), f.start, f.end)]
                restore[new] = value
            edits.setdefault(id(part), (part, []))[1].append((f, new))
        # Only what this request itself sent is restored: a placeholder the model writes
        # that stands for a value of another request, or another caller, stays a placeholder.
        flow.state["dlp.values"] = restore
        for part, changes in edits.values():
            part.set(rewrite(part.text, changes))
        return None

    # ---- response
    def _output(self, flow: Flow) -> OutputFilter:
        out = flow.state.get("dlp.out")
        if out is None:
            policy = self._policy(flow)
            table = policy.output if policy else {}
            out = flow.state["dlp.out"] = OutputFilter(
                self.output_scanner, lambda kind: _choose(kind, table, self.config.output, _DEFAULT_OUTPUT),
                flow.state.get("dlp.values") or {}, flow.state.get("dlp.seen") or set(), self.config.min_score,
                self._kinds)
        return out

    async def on_response(self, flow: Flow) -> Deny | None:
        if flow.route != "messages" or self.mode == "shadow":
            return None
        out = self._output(flow)
        doc = flow.response
        if isinstance(doc, dict) and isinstance(doc.get("content"), list):
            if out.message(doc):
                flow.replace_response(doc)
        self._record(flow, out)
        return None

    async def on_response_event(self, flow: Flow, event: SSEEvent):
        if flow.route != "messages" or self.mode == "shadow":
            return event
        return self._output(flow).event(event)

    def _record(self, flow: Flow, out: OutputFilter) -> None:
        if out.findings:
            summary = tuple({"kind": k, "action": a, "count": n} for (k, a), n in sorted(out.findings.items()))
            reason = ", ".join(f"{k}×{n} {a}" for (k, a), n in sorted(out.findings.items()))
            flow.decide(self.name, "dlp.output_found", "rewrite" if out.redacted else "allow", reason, summary)


def _refusal(hits: list, why: str, summary: tuple) -> Deny:
    """400 naming the kinds and where, never the values."""
    kinds = sorted({f.kind for _, f in hits})
    secret = any(f.category == "secret" for _, f in hits)
    what = "a secret" if secret else "personal data"
    return Deny(SensitiveDataBlocked(
        f"The request contains {what} ({', '.join(kinds)}) in {hits[0][0].where}{why}; it was not sent to "
        f"the model. Remove it and retry.", code="dlp.secret_blocked" if secret else "dlp.pii_blocked"),
        f"{len(hits)} finding(s): {', '.join(kinds)}", summary)


def _known_key(key: str, cfg: DlpConfig) -> None:
    names = {f"custom:{c.name}" for c in cfg.custom}
    if key not in (*SECRET_KINDS, *PII_KINDS, "secret", "pii", "custom") and key not in names:
        raise ConfigError(f"guards.dlp: unknown entity kind {key!r}")
