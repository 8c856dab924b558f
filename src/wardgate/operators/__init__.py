"""Operators rewrite text; they never decide. Redact, mask, pseudonymize (with the vault),
and restore placeholders in answers, streamed ones included."""
