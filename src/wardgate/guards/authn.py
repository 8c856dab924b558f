"""authn: a static-key check from configuration (until virtual keys and SSO land).

The gateway is never open by default: with no keys configured every request gets the
same opaque 401. Keys are held as SHA-256 digests, compared in constant time; the reason a
key was refused goes to the decision record only.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from wardgate.errors import AuthenticationFailed, ConfigError
from wardgate.flow import Flow, Principal
from wardgate.guards.base import Deny, Guard

__all__ = ["StaticKeyGuard", "presented_key"]


def presented_key(headers: dict[str, str]) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return key
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class StaticKeyGuard(Guard):
    name = "authn"
    before_body = True

    def setup(self, settings) -> None:
        if self.config.mode != "enforce" or self.config.fail_open:
            raise ConfigError("guards.authn: authentication is always enforced (mode must be "
                              "'enforce' and fail_open false); the gateway is never open")
        self._keys: list[tuple[str, bytes]] = []
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
            self._keys.append((entry.id, digest))

    async def on_request(self, flow: Flow) -> Deny | None:
        key = presented_key(flow.headers)
        if key is None:
            return Deny(AuthenticationFailed(), "no credentials presented")
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        match = None
        for key_id, known in self._keys:  # no early exit: time does not depend on which key
            if hmac.compare_digest(known, digest):
                match = key_id
        if match is None:
            return Deny(AuthenticationFailed(), "unknown key")
        flow.principal = Principal(id=match, kind="key")
        return None
