"""OIDC bearer tokens (JWT) from configured issuers, verified against the IdP's JWKS.

- ``jwks_uri`` comes from the issuer's discovery document (whose ``issuer`` must match exactly).
- Keys are cached by ``kid``; an unknown ``kid`` triggers one refetch, throttled to one per
  ``jwks_refresh_min_seconds``. When the IdP is down the last good keys are kept for at most
  ``max_stale_seconds``; after that, tokens are refused (fail closed).
- The algorithm must be on the issuer's allowlist (asymmetric only: never ``none``, never HS*),
  and it is the only algorithm the token is verified with. ``exp``, ``iat``, ``iss``, ``aud``,
  ``sub`` are required; ``exp``/``nbf``/``iat`` get a small leeway; ``iss`` must match exactly.
- ``jku``, ``x5u`` and embedded ``jwk`` headers are ignored: nothing in a token makes the
  gateway fetch anything.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import aiohttp
import jwt
from jwt import PyJWKSet

from wardgate.flow import Principal
from wardgate.settings import OidcIssuer

__all__ = ["OidcVerifier", "TokenRejected", "looks_like_jwt", "unverified_issuer"]

log = logging.getLogger("wardgate.oidc")


class TokenRejected(Exception):
    """The reason is for the decision record only; the client gets the opaque 401."""


def looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2 and value.startswith("eyJ")


def unverified_issuer(token: str) -> str | None:
    try:
        iss = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
    return iss if isinstance(iss, str) else None


_FAMILY = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


class OidcVerifier:
    def __init__(self, cfg: OidcIssuer, *, clock=time.time) -> None:
        self.cfg = cfg
        self.clock = clock
        self._keys: dict[str, Any] = {}
        self._fetched_at: float | None = None
        self._last_attempt = float("-inf")
        self._jwks_uri: str | None = None
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _get_json(self, url: str) -> Any:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.cfg.timeout_seconds),
                                                  trust_env=False)
        async with self._session.get(url, allow_redirects=False) as r:
            if r.status != 200:
                raise OSError(f"HTTP {r.status} from the IdP")
            return await r.json(content_type=None)

    async def refresh(self, *, force: bool = False) -> bool:
        now = self.clock()
        if not force and now - self._last_attempt < self.cfg.jwks_refresh_min_seconds:
            return False
        self._last_attempt = now
        try:
            if self._jwks_uri is None:
                url = self.cfg.discovery_url or self.cfg.issuer.rstrip("/") + "/.well-known/openid-configuration"
                doc = await self._get_json(url)
                if doc.get("issuer") != self.cfg.issuer:
                    raise ValueError("discovery document names another issuer")
                self._jwks_uri = doc["jwks_uri"]
            raw = await self._get_json(self._jwks_uri)
            jwks = PyJWKSet.from_dict(raw)
            declared = {k.get("kid"): k.get("alg") for k in raw.get("keys", []) if isinstance(k, dict)}
        except (OSError, ValueError, KeyError, TypeError, aiohttp.ClientError, jwt.PyJWTError, TimeoutError) as exc:
            log.warning("jwks refresh failed", extra={"issuer": self.cfg.issuer, "error": type(exc).__name__})
            return False
        self._keys = {k.key_id: (k, declared.get(k.key_id)) for k in jwks.keys if k.key_id}
        self._fetched_at = self.clock()
        return True

    async def verify(self, token: str) -> dict[str, Any]:
        cfg = self.cfg
        if len(token) > cfg.max_token_bytes:
            raise TokenRejected("token too large")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("malformed token") from None
        alg = header.get("alg")
        if alg not in cfg.algorithms:
            raise TokenRejected(f"algorithm {str(alg)[:16]!r} not allowed")
        kid = header.get("kid")
        if self._fetched_at is None:
            await self.refresh(force=True)
        elif self.clock() - self._fetched_at > min(3600.0, cfg.max_stale_seconds / 2):
            await self.refresh()  # routine refresh; on failure the last good keys stay
        if self._fetched_at is None or self.clock() - self._fetched_at > cfg.max_stale_seconds:
            raise TokenRejected("IdP keys unavailable or too stale")
        entry = self._keys.get(kid) if isinstance(kid, str) else None
        if entry is None and await self.refresh():
            entry = self._keys.get(kid) if isinstance(kid, str) else None
        if entry is None:
            raise TokenRejected("unknown key id")
        key, declared_alg = entry
        if key.key_type != _FAMILY.get(alg[:2]) or declared_alg not in (None, alg):
            raise TokenRejected("key does not match the algorithm")
        try:
            return jwt.decode(token, key.key, algorithms=[alg], audience=cfg.audience, issuer=cfg.issuer,
                              leeway=cfg.leeway_seconds,
                              options={"require": ["exp", "iat", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise TokenRejected("token expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("token not yet valid") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("wrong audience") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("wrong issuer") from None
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"invalid token ({type(exc).__name__})") from None

    def principal(self, claims: dict[str, Any]) -> Principal:
        """Map verified claims to a Wardgate identity: role from groups, workspace, MFA rule."""
        cfg = self.cfg
        groups = claims.get(cfg.groups_claim) or []
        if isinstance(groups, str):
            groups = [groups]
        role = next((r for g, r in cfg.role_mapping.items() if g in groups), cfg.default_role)
        if role is None:
            raise TokenRejected("no role for the token's groups")
        workspace = cfg.workspace
        if cfg.workspace_claim is not None:
            workspace = claims.get(cfg.workspace_claim)
            if not isinstance(workspace, str) or not workspace:
                raise TokenRejected("no workspace claim")
        if role in cfg.require_mfa.roles:
            amr = claims.get("amr") or []
            if not isinstance(amr, list) or not set(amr) & set(cfg.require_mfa.amr):
                raise TokenRejected(f"role {role} requires MFA")
        sub = str(claims["sub"])
        pid = "sso_" + hashlib.sha256(f"{cfg.issuer}|{sub}".encode()).hexdigest()[:24]
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        return Principal(id=pid, kind="user", workspace=workspace, role=role, email=email)
