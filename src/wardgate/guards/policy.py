"""policy: what the caller's role may do. Deny by default.

Per role (``roles:`` in the config, over the built-in admin/auditor/developer/analyst/service;
``workspace_roles.<workspace>.<role>`` overrides a role for one workspace):
whether it may call the model at all, which models (with ``model_aliases`` resolved, and a
key's own ``allowed_models`` on top), the largest ``max_tokens`` (clamp or reject; the
role's ``default_max_tokens`` is injected when the client sends none), whether
streaming is allowed, which tools, and whether API keys are accepted (some roles must use SSO).
The authenticated identity overwrites any client-supplied ``metadata.user_id``.
"""

from __future__ import annotations

import fnmatch

from wardgate.errors import AuthenticationFailed, InvalidField, PermissionDenied
from wardgate.flow import Flow
from wardgate.guards.base import Deny, Guard, GuardConfig

__all__ = ["PolicyGuard"]


class PolicyConfig(GuardConfig):
    set_user_id: bool = True


def _allowed(name: str, patterns) -> bool:
    return any(p == "*" or p == name or fnmatch.fnmatchcase(name, p) for p in patterns)


class PolicyGuard(Guard):
    name = "policy"
    Config = PolicyConfig

    def setup(self, settings, services) -> None:
        self.settings = settings
        self.aliases = dict(settings.model_aliases) if settings is not None else {}

    async def on_request(self, flow: Flow) -> Deny | None:
        p = flow.principal
        policy = self.settings.policy_for(p.workspace, p.role) if p is not None and self.settings else None
        if policy is None:
            return Deny(PermissionDenied("Your role has no policy in this gateway.", code="policy.no_role"),
                        f"role {p.role if p else None!r} not configured")
        if not policy.call_model:
            return Deny(PermissionDenied("Your role may not call the model.", code="policy.no_model_access"))
        if p.kind == "key" and not policy.api_keys:
            return Deny(AuthenticationFailed("This role must sign in with SSO; API keys are not accepted.",
                                             code="policy.sso_required"))
        body = flow.body
        if body is None:
            return None
        model = body.get("model")
        if isinstance(model, str):
            resolved = self.aliases.get(model, model)
            if not _allowed(resolved, policy.models) or (
                    p.allowed_models is not None and not _allowed(resolved, p.allowed_models)):
                return Deny(PermissionDenied(f"Model {resolved[:100]} is not allowed for your role.",
                                             code="policy.model_denied"))
            if resolved != model:
                body["model"] = resolved
                flow.mark_body_changed()
        mt = body.get("max_tokens")
        if mt is None and flow.route == "messages":  # the upstream always gets a max_tokens
            mt = body["max_tokens"] = min(policy.default_max_tokens, policy.max_tokens or policy.default_max_tokens)
            flow.mark_body_changed()
            flow.decide(self.name, "policy.max_tokens_injected", "rewrite", f"default {mt}")
        if policy.max_tokens is not None and isinstance(mt, int) and mt > policy.max_tokens:
            if policy.max_tokens_action == "reject":
                return Deny(InvalidField(f"max_tokens: at most {policy.max_tokens} for your role",
                                         code="policy.max_tokens"))
            body["max_tokens"] = policy.max_tokens
            flow.mark_body_changed()
            flow.decide(self.name, "policy.max_tokens_clamped", "rewrite", f"{mt} → {policy.max_tokens}")
        if body.get("stream") is True and not policy.stream:
            return Deny(PermissionDenied("Streaming is not allowed for your role.", code="policy.stream_denied"))
        for tool in body.get("tools") or ():
            name = tool.get("name") if isinstance(tool, dict) else None
            if not isinstance(name, str) or not _allowed(name, policy.tools):
                return Deny(PermissionDenied(f"Tool {str(name)[:100]} is not allowed for your role.",
                                             code="policy.tool_denied"))
        if self.config.set_user_id and flow.route == "messages":
            meta = body.get("metadata")
            if not isinstance(meta, dict):
                meta = {}
            if meta.get("user_id") != p.id:
                body["metadata"] = {**meta, "user_id": p.id}
                flow.mark_body_changed()
        return None
