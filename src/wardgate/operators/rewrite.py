"""Rewrite a text at finding spans: redact (typed placeholder), mask (keep the last 4),
pseudonymize (a stable placeholder from the conversation's vault)."""

from __future__ import annotations

from collections.abc import Sequence

from wardgate.detectors.finding import Finding

__all__ = ["label", "redact", "mask", "rewrite"]


def label(kind: str) -> str:
    """``credit_card`` → ``CREDIT_CARD``; ``custom:project`` → ``PROJECT``."""
    return kind.split(":", 1)[-1].upper().replace("-", "_")


def redact(kind: str) -> str:
    return f"[{label(kind)}]"


def mask(value: str) -> str:
    """Every letter and digit but the last four becomes ``*``; separators stay."""
    keep = 4
    out = []
    for ch in reversed(value):
        if ch.isalnum():
            if keep:
                keep -= 1
                out.append(ch)
            else:
                out.append("*")
        else:
            out.append(ch)
    return "".join(reversed(out))


def rewrite(text: str, edits: Sequence[tuple[Finding, str]]) -> str:
    """``edits``: (finding, replacement) sorted by span, non-overlapping."""
    out = []
    pos = 0
    for f, replacement in edits:
        out.append(text[pos:f.start])
        out.append(replacement)
        pos = f.end
    out.append(text[pos:])
    return "".join(out)
