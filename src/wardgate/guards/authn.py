"""authn: who is calling. Virtual keys, SSO bearer tokens (OIDC JWT), or static keys.

The credential comes from ``x-api-key`` or ``Authorization: Bearer`` (the SDK sends its
``api_key`` either way, depending on its version). Its form decides how it is checked:
a well-formed ``wg_live_``/``wg_test_`` key (its checksum holds) → virtual key (the cached key
store); a JWT →
the configured OIDC issuer named in its ``iss``; anything else → the static keys.

Unknown, malformed, revoked and expired credentials all get the same opaque 401; the reason
goes to the decision record only. Repeated failures from one client address are throttled
(429). The gateway is never open: with nothing configured, every request is refused. This
guard runs before the body is read and cannot be put in shadow, off or fail-open.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time

from wardgate.errors import AuthenticationFailed, ConfigError, RateLimited
from wardgate.flow import Flow, Principal
from wardgate.guards.base import Deny, Guard
from wardgate.identity.keyformat import is_well_formed
from wardgate.identity.oidc import TokenRejected, looks_like_jwt, unverified_issuer

__all__ = ["AuthnGuard", "presented_key"]

log = logging.getLogger("wardgate.authn")


_CONFLICT = "\x00conflict"


def presented_key(headers: dict[str, str]) -> str | None:
    """The credential from ``x-api-key`` or ``Authorization: Bearer``. Two different ones in
    one request are ambiguous: the request is refused rather than one picked silently."""
    key = headers.get("x-api-key") or None
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    if key and bearer and key != bearer:
        return _CONFLICT
    return key or bearer


class AuthnGuard(Guard):
    name = "authn"
    before_body = True

    def setup(self, settings, services) -> None:
        if self.config.mode != "enforce" or self.config.fail_open:
            raise ConfigError("guards.authn: authentication is always enforced (mode must be "
                              "'enforce' and fail_open false); the gateway is never open")
        self.identity = services.identity if services is not None else None
        self.rotation_age = settings.identity.rotation_age_days * 86400 if settings is not None else 90 * 86400
        self._static: list[tuple[Principal, bytes]] = []
        if settings is None:
            return
        for i, entry in enumerate(settings.auth.static_keys):
            if entry.sha256 is not None:
                digest = bytes.fromhex(entry.sha256)
            else:
                value = os.environ.get(entry.env or "")
                if not value:
                    raise ConfigError(f"auth.static_keys.{i}.env: environment variable {entry.env} is not set")
                digest = hashlib.sha256(value.encode()).digest()
            principal = Principal(id=entry.id, kind="static", workspace=entry.workspace, role=entry.role)
            self._static.append((principal, digest))

    async def on_request(self, flow: Flow) -> Deny | None:
        client = flow.client or "unknown"
        throttle = self.identity.throttle if self.identity is not None else None
        if throttle is not None:
            wait = throttle.blocked(client)
            if wait is not None:
                return Deny(RateLimited("Too many failed authentication attempts; try again later.",
                                        code="authn.throttled", retry_after=wait), "throttled")
        credential = presented_key(flow.headers)
        if credential is None:
            return self._fail(client, "no credentials presented")
        if credential == _CONFLICT:
            return self._fail(client, "conflicting credentials (x-api-key and Bearer differ)")
        if is_well_formed(credential):  # the checksum tells a virtual key without a look-up
            principal, reason = await self._virtual_key(flow, credential)
        elif looks_like_jwt(credential):
            principal, reason = await self._sso(credential)
        else:
            principal, reason = self._static_key(credential)
            if principal is None and credential.startswith(("wg_live_", "wg_test_")):
                reason = "malformed key"  # a virtual key whose checksum fails: mistyped or forged
        if principal is None:
            return self._fail(client, reason)
        flow.principal = principal
        return None

    def _fail(self, client: str, reason: str) -> Deny:
        if self.identity is not None:
            self.identity.throttle.failure(client)
        return Deny(AuthenticationFailed(), reason)

    async def _virtual_key(self, flow: Flow, key: str) -> tuple[Principal | None, str]:
        store = self.identity.keys if self.identity is not None else None
        if store is None:
            return None, "virtual keys are not enabled (no pepper configured)"
        rec, reason = await store.authenticate(key)
        if rec is None:
            return None, f"{reason} key"
        if time.time() - rec.created_at > self.rotation_age:
            flow.decide(self.name, "authn.stale_key", "flag", f"key {rec.id} is past the rotation age")
            log.warning("key-stale-used", extra={"key_id": rec.id, "workspace": rec.workspace})
        if rec.replaced_by is not None:
            flow.decide(self.name, "authn.rotated_key", "flag", f"key {rec.id} was rotated; grace period")
        return Principal(id=rec.id, kind="key", workspace=rec.workspace, role=rec.role, owner=rec.owner,
                         allowed_models=rec.allowed_models, scopes=rec.scopes, limits=rec.limits or None), "ok"

    async def _sso(self, token: str) -> tuple[Principal | None, str]:
        oidc = self.identity.oidc if self.identity is not None else {}
        verifier = oidc.get(unverified_issuer(token) or "")
        if verifier is None:
            return None, "token from an unknown issuer"
        try:
            return verifier.principal(await verifier.verify(token)), "ok"
        except TokenRejected as exc:
            return None, f"sso: {exc}"

    def _static_key(self, key: str) -> tuple[Principal | None, str]:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        match = None
        for principal, known in self._static:  # no early exit: time does not depend on which key
            if hmac.compare_digest(known, digest):
                match = principal
        return (match, "ok") if match is not None else (None, "unknown key")
