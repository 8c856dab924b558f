"""Guards, one per module, and the fixed order they run in.

``DEFAULT_ORDER`` is the order of request hooks; response hooks run in reverse. Options
for each guard live under ``guards.<name>`` in the config file.
"""

from __future__ import annotations

from typing import Any

from wardgate.errors import ConfigError
from wardgate.guards.authn import AuthnGuard
from wardgate.guards.base import Deny, Guard, GuardConfig
from wardgate.guards.dlp import DlpGuard
from wardgate.guards.limits import LimitsGuard
from wardgate.guards.policy import PolicyGuard
from wardgate.guards.shape import RequestShapeGuard

__all__ = ["DEFAULT_ORDER", "GUARDS", "build_guards", "Guard", "GuardConfig", "Deny"]

GUARDS: dict[str, type[Guard]] = {
    AuthnGuard.name: AuthnGuard,
    RequestShapeGuard.name: RequestShapeGuard,
    PolicyGuard.name: PolicyGuard,
    LimitsGuard.name: LimitsGuard,
    DlpGuard.name: DlpGuard,
}
DEFAULT_ORDER: tuple[str, ...] = ("authn", "shape", "policy", "limits", "dlp")


def build_guards(settings: Any, services: Any = None) -> list[Guard]:
    options = dict(settings.guards)
    unknown = sorted(set(options) - set(GUARDS))
    if unknown:
        raise ConfigError(f"guards.{unknown[0]}: unknown guard (known: {', '.join(DEFAULT_ORDER)})")
    guards = []
    for name in DEFAULT_ORDER:
        guard = GUARDS[name]()
        guard.configure(options.get(name) or {}, settings, services)
        guards.append(guard)
    return guards
