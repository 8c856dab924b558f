"""Wardgate: a self-hosted, zero-trust security gateway for the Anthropic Claude API."""

__version__ = "0.1.0"
__all__ = ["__version__"]
