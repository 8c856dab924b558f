"""Identity services shared by the authn guard and the admin API."""

from __future__ import annotations

import os

from wardgate.errors import ConfigError
from wardgate.identity.keystore import KeyStore
from wardgate.identity.oidc import OidcVerifier
from wardgate.identity.throttle import FailureThrottle
from wardgate.settings import Settings
from wardgate.store.db import Database

__all__ = ["Identity", "pepper_from_env", "MIN_PEPPER"]

MIN_PEPPER = 32


def pepper_from_env(settings: Settings, environ=None, *, required: bool = True) -> bytes | None:
    env = os.environ if environ is None else environ
    value = env.get(settings.identity.pepper_env, "")
    if len(value) < MIN_PEPPER:
        if not required:
            return None
        raise ConfigError(f"identity.pepper_env: environment variable {settings.identity.pepper_env} must hold "
                          f"a secret of at least {MIN_PEPPER} characters (keys are stored as HMACs under it)")
    return value.encode()


class Identity:
    def __init__(self, settings: Settings, db: Database, pepper: bytes | None) -> None:
        self.settings = settings
        self.db = db
        self.pepper = pepper
        ident = settings.identity
        self.keys = KeyStore(db, pepper, ident.cache_ttl_seconds) if pepper is not None else None
        self.oidc = {cfg.issuer: OidcVerifier(cfg) for cfg in ident.oidc}
        self.throttle = FailureThrottle(ident.failures.max_failures, ident.failures.window_seconds)

    async def close(self) -> None:
        if self.keys is not None:
            await self.keys.flush()
        for verifier in self.oidc.values():
            await verifier.close()
        await self.db.close()
