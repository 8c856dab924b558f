"""Typed settings from one YAML file plus ``WARDGATE_*`` environment overrides.

Validated once at load. Errors name the key (``upstream.timeouts.read``) and never echo the
value, so a secret pasted into the wrong key cannot end up in a terminal or a log.

Environment overrides use ``__`` between levels: ``WARDGATE_SERVER__PORT=9000``,
``WARDGATE_UPSTREAM__TIMEOUTS__READ=120``. Values are parsed as YAML scalars (numbers,
booleans, lists in ``[a, b]`` form).
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wardgate.errors import ConfigError

__all__ = [
    "Settings",
    "ServerSettings",
    "UpstreamSettings",
    "TimeoutSettings",
    "RetrySettings",
    "BreakerSettings",
    "StaticKey",
    "RolePolicy",
    "LimitValues",
    "LimitSet",
    "SessionCaps",
    "LimitsSettings",
    "OidcIssuer",
    "DEFAULT_ROLES",
    "load_settings",
    "settings_from_dict",
]

ENV_PREFIX = "WARDGATE_"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Model):
    host: str = "127.0.0.1"
    port: int = Field(8088, ge=0, le=65535)
    max_body_bytes: int = Field(32 * 1024 * 1024, ge=1024)
    access_log: bool = True
    trusted_proxies: list[str] = Field(default_factory=list)


class TimeoutSettings(_Model):
    connect: float = Field(5.0, gt=0)
    read: float = Field(600.0, gt=0)
    write: float = Field(60.0, gt=0)
    pool: float = Field(10.0, gt=0)


class RetrySettings(_Model):
    max: int = Field(2, ge=0, le=2)
    backoff_base: float = Field(0.5, ge=0)
    backoff_max: float = Field(8.0, ge=0)
    retry_after_max: float = Field(20.0, ge=0)


class BreakerSettings(_Model):
    failures: int = Field(5, ge=1)
    open_seconds: float = Field(30.0, gt=0)


class UpstreamSettings(_Model):
    base_url: str = "https://api.anthropic.com"
    api_key_env: str = "ANTHROPIC_API_KEY"
    timeouts: TimeoutSettings = TimeoutSettings()
    retries: RetrySettings = RetrySettings()
    breaker: BreakerSettings = BreakerSettings()
    max_connections: int = Field(256, ge=1)
    simulated: bool = False

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, v: str) -> str:
        if not v or not all(c.isalnum() or c == "_" for c in v):
            raise ValueError("must be the NAME of an environment variable, not a key")
        return v


class DatabaseSettings(_Model):
    url: str | None = None  # default: sqlite file under data_dir


class RedisSettings(_Model):
    url: str | None = None

    @field_validator("url")
    @classmethod
    def _redis_url(cls, v: str | None) -> str | None:
        if v is not None and not v.startswith(("redis://", "rediss://")):
            raise ValueError("must start with redis:// or rediss://")
        return v


class StaticKey(_Model):
    id: str = Field(min_length=1, max_length=64)
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    env: str | None = None
    role: str = "service"
    workspace: str = "default"

    def model_post_init(self, _ctx: Any) -> None:
        if (self.sha256 is None) == (self.env is None):
            raise ValueError("give exactly one of sha256 or env")


class AuthSettings(_Model):
    static_keys: list[StaticKey] = Field(default_factory=list)


class FailureLimit(_Model):
    max_failures: int = Field(20, ge=1)
    window_seconds: float = Field(60.0, gt=0)


class MfaRule(_Model):
    roles: list[str] = Field(default_factory=list)
    amr: list[str] = Field(default_factory=lambda: ["mfa"])


_FORBIDDEN_ALGS = ("none", "HS256", "HS384", "HS512")


class OidcIssuer(_Model):
    issuer: str
    audience: str
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"], min_length=1)
    discovery_url: str | None = None
    groups_claim: str = "groups"
    role_mapping: dict[str, str] = Field(default_factory=dict)
    default_role: str | None = None
    workspace: str | None = None
    workspace_claim: str | None = None
    require_mfa: MfaRule = MfaRule()
    leeway_seconds: float = Field(60.0, ge=0, le=300)
    max_token_bytes: int = Field(8192, ge=512)
    jwks_refresh_min_seconds: float = Field(30.0, ge=0)
    max_stale_seconds: float = Field(86400.0, gt=0)
    timeout_seconds: float = Field(5.0, gt=0)

    @field_validator("issuer")
    @classmethod
    def _issuer_url(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")):
            raise ValueError("must be the issuer's URL")
        return v

    @field_validator("algorithms")
    @classmethod
    def _safe_algs(cls, v: list[str]) -> list[str]:
        allowed = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
        for alg in v:
            if alg in _FORBIDDEN_ALGS or alg.lower() == "none" or alg not in allowed:
                raise ValueError(f"{alg} is not accepted for IdP tokens (asymmetric algorithms only)")
        return v

    def model_post_init(self, _ctx: Any) -> None:
        if (self.workspace is None) == (self.workspace_claim is None):
            raise ValueError("give exactly one of workspace or workspace_claim")


class IdentitySettings(_Model):
    pepper_env: str = "WARDGATE_KEY_PEPPER"
    root_workspace: str = "root"
    cache_ttl_seconds: float = Field(2.0, gt=0, le=5)
    rotation_age_days: float = Field(90.0, gt=0)
    default_grace_hours: float = Field(24.0, ge=0)
    failures: FailureLimit = FailureLimit()
    oidc: list[OidcIssuer] = Field(default_factory=list)


class LimitValues(_Model):
    """One scope's limits. Absent means unlimited. Rates refill continuously (token bucket,
    as the Anthropic API does); ``tpd`` and budgets reset at the start of each UTC period."""

    rpm: int | None = Field(None, ge=1)
    tpm: int | None = Field(None, ge=1)
    tpd: int | None = Field(None, ge=1)
    concurrent: int | None = Field(None, ge=1)
    budget_usd: float | None = Field(None, gt=0, le=1_000_000)
    budget_period: Literal["day", "week", "month"] = "month"
    alert_at: list[float] = Field(default_factory=lambda: [0.8])

    @field_validator("alert_at")
    @classmethod
    def _fractions(cls, v: list[float]) -> list[float]:
        if any(not 0 < x < 1 for x in v):
            raise ValueError("thresholds are fractions between 0 and 1 (0.8 = 80%)")
        return sorted(set(v))

    @property
    def empty(self) -> bool:
        return all(getattr(self, k) is None for k in ("rpm", "tpm", "tpd", "concurrent", "budget_usd"))


class LimitSet(LimitValues):
    """Limits for a scope, plus narrower limits per model pattern (``claude-opus-*``)."""

    models: dict[str, LimitValues] = Field(default_factory=dict)


class SessionCaps(_Model):
    """Caps on one agent session (a conversation the gateway identifies; see docs/limits.md)."""

    max_turns: int | None = Field(None, ge=1)
    max_tokens: int | None = Field(None, ge=1)
    max_usd: float | None = Field(None, gt=0)
    max_tool_rounds: int | None = Field(None, ge=1)
    idle_minutes: float = Field(60.0, gt=0, le=10080)


DlpAction = Literal["allow", "redact", "mask", "pseudonymize", "block"]
OutputAction = Literal["allow", "flag", "redact"]


class DlpPolicy(_Model):
    """A role's data-protection overrides, on top of ``guards.dlp`` (see docs/dlp.md).
    Keys of ``actions``/``output``: an entity kind (``email``), a category (``secret``,
    ``pii``, ``custom``) or ``custom:<name>``."""

    actions: dict[str, DlpAction] = Field(default_factory=dict)
    output: dict[str, OutputAction] = Field(default_factory=dict)
    block_binary: bool | None = None


class RolePolicy(_Model):
    call_model: bool = True
    models: list[str] = Field(default_factory=lambda: ["*"])
    max_tokens: int | None = Field(None, ge=1)
    default_max_tokens: int = Field(4096, ge=1)
    max_tokens_action: Literal["clamp", "reject"] = "clamp"
    stream: bool = True
    tools: list[str] = Field(default_factory=lambda: ["*"])
    api_keys: bool = True
    admin: bool = False
    read_audit: bool = False
    limits: LimitSet | None = None      # per caller (the SSO user, or the key's owner)
    session: SessionCaps | None = None
    dlp: DlpPolicy | None = None


DEFAULT_ROLES: dict[str, RolePolicy] = {
    "admin": RolePolicy(admin=True, read_audit=True),
    "auditor": RolePolicy(call_model=False, read_audit=True),
    "developer": RolePolicy(),
    "analyst": RolePolicy(tools=[], max_tokens=4096),
    "service": RolePolicy(),
}


class PriceEntry(_Model):
    input: float = Field(ge=0)
    output: float = Field(ge=0)
    cache_write_5m: float | None = Field(None, ge=0)
    cache_write_1h: float | None = Field(None, ge=0)
    cache_read: float | None = Field(None, ge=0)


class RedisDown(_Model):
    rate_limits: Literal["local", "deny"] = "local"
    local_share: float = Field(0.5, gt=0, le=1)


class LimitsSettings(_Model):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    backend: Literal["auto", "memory", "redis"] = "auto"
    global_: LimitSet = Field(default_factory=LimitSet, alias="global")
    workspaces: dict[str, LimitSet] = Field(default_factory=dict)
    prices: dict[str, PriceEntry] = Field(default_factory=dict)
    unknown_model: Literal["deny", "allow"] = "deny"
    unknown_model_price: PriceEntry = PriceEntry(input=15.0, output=75.0)
    lease_seconds: float = Field(120.0, ge=1, le=3600)
    reconcile_seconds: float = Field(60.0, ge=1)
    redis_prefix: str = Field("wg:", min_length=1, max_length=32)
    redis_timeout_seconds: float = Field(0.5, gt=0, le=10)
    redis_down: RedisDown = RedisDown()
    image_tokens: int = Field(1600, ge=1)
    pdf_page_tokens: int = Field(4600, ge=1)


class LoggingSettings(_Model):
    level: Literal["debug", "info", "warning", "error"] = "info"


class Settings(_Model):
    data_dir: str = ".wardgate"
    server: ServerSettings = ServerSettings()
    upstream: UpstreamSettings = UpstreamSettings()
    database: DatabaseSettings = DatabaseSettings()
    redis: RedisSettings = RedisSettings()
    auth: AuthSettings = AuthSettings()
    identity: IdentitySettings = IdentitySettings()
    roles: dict[str, RolePolicy] = Field(default_factory=dict)
    workspace_roles: dict[str, dict[str, RolePolicy]] = Field(default_factory=dict)
    model_aliases: dict[str, str] = Field(default_factory=dict)
    limits: LimitsSettings = LimitsSettings()
    guards: dict[str, dict[str, Any]] = Field(default_factory=dict)
    logging: LoggingSettings = LoggingSettings()

    @cached_property
    def role_policies(self) -> dict[str, RolePolicy]:
        """Built-in roles, each replaced by a configured role of the same name; plus new roles.
        Computed once: the policy guard consults it on every request."""
        return DEFAULT_ROLES | dict(self.roles)

    def unknown_role(self, role: str) -> str | None:
        """Why ``role`` cannot be assigned, or None if it can."""
        if role in self.role_policies:
            return None
        return f"unknown role {role[:64]!r} (known: {', '.join(sorted(self.role_policies))})"

    def policy_for(self, workspace: str | None, role: str | None) -> RolePolicy | None:
        """A workspace's own policy for the role if it has one, else the global one."""
        if role is None:
            return None
        own = self.workspace_roles.get(workspace or "", {})
        return own.get(role) or self.role_policies.get(role)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{Path(self.data_dir) / 'wardgate.db'}"


def _format(exc: ValidationError, prefix: str = "") -> str:
    lines = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        msg = err["msg"].replace("Value error, ", "")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"{prefix}{loc}: {msg}")
    return "; ".join(lines)


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX):].lower().split("__")
        if path[0] not in Settings.model_fields:
            if len(path) > 1:  # looks like an override: a typo must not pass silently
                raise ConfigError(f"environment {name}: unknown key {'.'.join(path)}")
            continue  # other WARDGATE_* variables (e.g. WARDGATE_CONFIG) are not settings
        try:
            value = yaml.safe_load(raw) if raw else raw
        except yaml.YAMLError:
            value = raw
        if isinstance(value, dict) and not raw.lstrip().startswith("{"):
            value = raw  # "wg:" is a string here, not a one-key mapping (flow style {a: b} is)
        if isinstance(value, bool) and raw.strip().lower() not in ("true", "false"):
            value = raw  # YAML 1.1 reads on/off/yes/no as booleans; keep the word (e.g. mode=off)
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"environment {name}: conflicts with another override")
        node[path[-1]] = value
    return out


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def settings_from_dict(data: dict[str, Any], *, source: str = "config") -> Settings:
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_format(exc)}") from None


def load_settings(path: str | os.PathLike | None = None,
                  environ: dict[str, str] | None = None) -> Settings:
    """Load YAML (optional) and apply WARDGATE_* overrides; raise ConfigError on any problem."""
    environ = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{source}: cannot read ({exc.strerror})") from None
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark else ""
            raise ConfigError(f"{source}: not valid YAML{where}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{source}: the top level must be a mapping")
        data = loaded or {}
    data = _merge(data, _env_overrides(environ))
    return settings_from_dict(data, source=source)
