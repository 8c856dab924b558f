"""Finding: what a detector found, where, and how sure it is. Never the value itself."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Finding", "SECRET_KINDS", "PII_KINDS", "category_of"]

# Stable entity kinds: config keys, placeholder names, audit fields.
SECRET_KINDS: tuple[str, ...] = (
    "anthropic_key", "openai_key", "aws_access_key_id", "aws_secret_key", "github_token",
    "gitlab_token", "slack_token", "stripe_key", "google_api_key", "azure_key",
    "gcp_service_account", "twilio_key", "sendgrid_key", "npm_token", "pypi_token", "jwt",
    "private_key", "url_password", "password", "wardgate_key", "generic_secret",
)
PII_KINDS: tuple[str, ...] = (
    "email", "phone", "credit_card", "iban", "us_ssn", "ip_address", "date_of_birth",
    "street_address", "passport", "driver_license", "person",
)


def category_of(kind: str) -> str:
    """secret | pii | custom (organisation patterns and dictionaries are ``custom:<name>``)."""
    if kind in SECRET_KINDS:
        return "secret"
    if kind.startswith("custom:"):
        return "custom"
    return "pii"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str          # one of SECRET_KINDS / PII_KINDS, or custom:<name>
    start: int         # span in the text that was scanned (the original, not the normalised form)
    end: int
    score: float       # 0..1
    detector: str      # which rule found it (for tuning and the audit log)

    @property
    def category(self) -> str:
        return category_of(self.kind)

    def clipped(self, end: int) -> "Finding":
        return Finding(self.kind, self.start, min(self.end, end), self.score, self.detector)
