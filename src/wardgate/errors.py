"""One error root, rendered in the Anthropic error shape.

    WardgateError                 500 api_error            internal.error
    ├── ConfigError               (load time, never rendered to a client)
    ├── BadRequest                400 invalid_request_error request.invalid
    │   ├── InvalidJSON           400                       request.invalid_json
    │   ├── InvalidField          400                       request.invalid_field
    │   └── SensitiveDataBlocked  400                       dlp.blocked (dlp.secret_blocked, …)
    ├── AuthenticationFailed      401 authentication_error  authn.failed
    ├── PermissionDenied          403 permission_error      permission.denied
    ├── NotFound                  404 not_found_error       route.not_found
    ├── MethodNotAllowed          405 invalid_request_error route.method_not_allowed
    ├── PayloadTooLarge           413 request_too_large     request.too_large
    ├── UnsupportedMediaType      415 invalid_request_error request.unsupported_media_type
    ├── RateLimited               429 rate_limit_error      rate.limited
    │   └── BudgetExceeded        429 rate_limit_error      budget.exceeded
    ├── SessionCapReached         403 permission_error      session.cap_reached
    ├── LimitsUnavailable         503 api_error             limits.unavailable
    ├── VaultUnavailable          503 api_error             dlp.vault_unavailable
    ├── GuardError                503 api_error             guard.error
    └── UpstreamError             502 api_error             upstream.error
        ├── UpstreamTimeout       504 api_error             upstream.timeout
        └── UpstreamUnavailable   503 overloaded_error      upstream.circuit_open

Every class carries ``status_code``, ``error_type`` (the Anthropic ``error.type``) and a
stable dotted ``code`` (sent as the ``wardgate-error-code`` header and recorded as the
decision code). Messages never contain secrets or prompt text.
"""

from __future__ import annotations

import orjson

__all__ = [
    "WardgateError",
    "ConfigError",
    "BadRequest",
    "InvalidJSON",
    "InvalidField",
    "SensitiveDataBlocked",
    "VaultUnavailable",
    "AuthenticationFailed",
    "PermissionDenied",
    "NotFound",
    "MethodNotAllowed",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "RateLimited",
    "BudgetExceeded",
    "SessionCapReached",
    "LimitsUnavailable",
    "GuardError",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
    "error_body",
]


class WardgateError(Exception):
    status_code = 500
    error_type = "api_error"
    code = "internal.error"
    default_message = "Internal gateway error."

    def __init__(self, message: str | None = None, *, code: str | None = None,
                 retry_after: float | None = None) -> None:
        self.message = message or self.default_message
        if code is not None:
            self.code = code
        self.retry_after = retry_after
        self.extra_headers: list[tuple[bytes, bytes]] = []
        super().__init__(self.message)

    def body(self, request_id: str | None = None) -> bytes:
        return error_body(self.error_type, self.message, request_id)

    def headers(self) -> list[tuple[bytes, bytes]]:
        out = [(b"wardgate-error-code", self.code.encode())]
        if self.retry_after is not None:
            out.append((b"retry-after", str(max(1, round(self.retry_after))).encode()))
        return out + self.extra_headers


class ConfigError(WardgateError):
    code = "config.invalid"
    default_message = "Invalid configuration."


class BadRequest(WardgateError):
    status_code = 400
    error_type = "invalid_request_error"
    code = "request.invalid"
    default_message = "Invalid request."


class InvalidJSON(BadRequest):
    code = "request.invalid_json"
    default_message = "Request body is not valid JSON."


class InvalidField(BadRequest):
    code = "request.invalid_field"


class AuthenticationFailed(WardgateError):
    status_code = 401
    error_type = "authentication_error"
    code = "authn.failed"
    default_message = "invalid x-api-key"


class PermissionDenied(WardgateError):
    status_code = 403
    error_type = "permission_error"
    code = "permission.denied"
    default_message = "This request is not permitted by the gateway's policy."


class NotFound(WardgateError):
    status_code = 404
    error_type = "not_found_error"
    code = "route.not_found"
    default_message = "Not found."


class MethodNotAllowed(WardgateError):
    status_code = 405
    error_type = "invalid_request_error"
    code = "route.method_not_allowed"
    default_message = "Method not allowed."


class PayloadTooLarge(WardgateError):
    status_code = 413
    error_type = "request_too_large"
    code = "request.too_large"
    default_message = "Request exceeds the maximum allowed size."


class UnsupportedMediaType(WardgateError):
    status_code = 415
    error_type = "invalid_request_error"
    code = "request.unsupported_media_type"
    default_message = "Content-Type must be application/json."


class RateLimited(WardgateError):
    status_code = 429
    error_type = "rate_limit_error"
    code = "rate.limited"
    default_message = "Too many requests; slow down."


class BudgetExceeded(RateLimited):
    code = "budget.exceeded"
    default_message = "Budget exceeded."


class SessionCapReached(WardgateError):
    status_code = 403
    error_type = "permission_error"
    code = "session.cap_reached"
    default_message = "This agent session reached its cap; a person must review it before it continues."


class SensitiveDataBlocked(BadRequest):
    code = "dlp.blocked"
    default_message = "The request contains data that may not be sent to the model."


class VaultUnavailable(WardgateError):
    status_code = 503
    error_type = "api_error"
    code = "dlp.vault_unavailable"
    default_message = "The data-protection vault is unavailable; the request was not sent."


class LimitsUnavailable(WardgateError):
    status_code = 503
    error_type = "api_error"
    code = "limits.unavailable"
    default_message = ("Spend limits cannot be checked right now (the limits store is unreachable); "
                       "the request was not forwarded.")


class GuardError(WardgateError):
    status_code = 503
    error_type = "api_error"
    code = "guard.error"
    default_message = "A security check could not be completed; the request was not forwarded."


class UpstreamError(WardgateError):
    status_code = 502
    error_type = "api_error"
    code = "upstream.error"
    default_message = "The upstream API could not be reached."


class UpstreamTimeout(UpstreamError):
    status_code = 504
    code = "upstream.timeout"
    default_message = "The upstream API timed out."


class UpstreamUnavailable(UpstreamError):
    status_code = 503
    error_type = "overloaded_error"
    code = "upstream.circuit_open"
    default_message = "The upstream API is failing; the gateway is shedding requests for a moment."


def error_body(error_type: str, message: str, request_id: str | None = None) -> bytes:
    doc: dict = {"type": "error", "error": {"type": error_type, "message": message}}
    if request_id:
        doc["request_id"] = request_id
    return orjson.dumps(doc)
