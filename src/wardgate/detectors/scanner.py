"""Scanner: every detector over one text, in linear time, within a time budget.

    normalise (detectors.text) → value rules (one RE2 pass) → context rules (one RE2 pass)
    → custom patterns and dictionaries → person names, street addresses → overlaps resolved
    → findings on the original text's spans

All patterns are RE2 (``google-re2``): matching is linear in the input by construction, so
no input can make a pattern backtrack. The checks that confirm a match run only on matches.
A scan that passes its deadline raises ``ScanBudgetExceeded``; the guard then refuses the
request rather than forwarding text it did not finish scanning.
"""

from __future__ import annotations

import bisect
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import re2

from wardgate.detectors.engine import spans
from wardgate.detectors.finding import Finding, category_of
from wardgate.detectors.pii import PII_RULES, find_numbers
from wardgate.detectors.rule import Rule
from wardgate.detectors.secrets import SECRET_RULES
from wardgate.detectors.text import normalize, utf8_view

__all__ = ["Scanner", "CustomEntity", "ScanBudgetExceeded", "compile_pattern"]

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.max_mem = 64 << 20


class ScanBudgetExceeded(Exception):
    """The scan did not finish within the request's time budget."""


def compile_pattern(pattern: str):
    """Compile with RE2 (linear time). Raises ValueError for what RE2 cannot do (lookaround,
    backreferences): such a pattern could backtrack and is refused."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        raise ValueError(f"not a valid RE2 pattern: {exc}") from None


@dataclass(frozen=True, slots=True)
class CustomEntity:
    """An organisation's own entity: a pattern (``EMP-\\d{6}``) or a dictionary of terms."""
    name: str
    pattern: str | None = None
    terms: tuple[str, ...] = ()
    case_sensitive: bool = False

    def rule(self) -> Rule:
        if self.pattern is not None:
            return Rule(f"custom:{self.name}", f"custom:{self.name}", self.pattern, None, 0.9)
        def bounded(term: str) -> str:  # \b only where the term has a word character at that end
            left = r"\b" if term[0].isalnum() or term[0] == "_" else ""
            right = r"\b" if term[-1].isalnum() or term[-1] == "_" else ""
            return left + re.escape(term) + right

        words = "|".join(bounded(t) for t in sorted(set(self.terms), key=len, reverse=True) if t)
        body = words if self.case_sensitive else f"(?i:{words})"
        return Rule(f"custom:{self.name}", f"custom:{self.name}", f"(?:{body})", None, 0.9)


class _Pass:
    """Rules joined into one RE2 alternation; the matching alternative is the first rule
    group that took part in the match."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        parts = []
        for i, rule in enumerate(rules):
            inner = rule.pattern.replace("(?P<v>", f"(?P<v{i}>")
            compile_pattern(inner)  # each rule on its own, so an error names it
            parts.append(f"(?P<r{i}>{inner})")
        self.rules = tuple(rules)
        self.regex = compile_pattern("|".join(parts)) if parts else None
        index = self.regex.groupindex if self.regex is not None else {}
        self._groups = [(index[f"r{i}"], rule, index.get(f"v{i}")) for i, rule in enumerate(rules)]

    def run(self, text: str, out: list[tuple[str, int, int, float, str]], data: bytes, to_char) -> None:
        """``data``: ``text`` in UTF-8, ``to_char`` maps its offsets back (``text.utf8_view``)."""
        if self.regex is None:
            return
        groups = self._groups
        for got in spans(self.regex, data):
            for gi, rule, vgroup in groups:  # the alternative that matched
                if got[gi][0] >= 0:
                    break
            start, end = got[vgroup] if vgroup is not None else got[0]
            start, end = to_char(start), to_char(end)
            if rule.check is None:
                out.append((rule.kind, start, end, rule.score, rule.name))
                continue
            got = rule.check(text[start:end], text, start)
            if got is None:
                continue
            if isinstance(got, float):
                out.append((rule.kind, start, end, got, rule.name))
            elif isinstance(got, list):
                out.extend((k, s, e, sc, rule.name) for k, sc, s, e in got)
            elif len(got) == 4:
                out.append((got[3], got[1], got[2], got[0], rule.name))
            else:
                out.append((rule.kind, got[1], got[2], got[0], rule.name))


_RANK = {"secret": 3, "custom": 2, "pii": 1}
# On equal spans the more specific rule wins: a vendor format over a context word for
# secrets, a context word (``licence no.``) over a bare number's shape for personal data.
_WEAK = frozenset({"entropy", "password-assignment", "password-element", "url-credentials", "number", "ipv6"})


def _resolve(raw: Iterable[tuple[str, int, int, float, str]]) -> list[tuple[str, int, int, float, str]]:
    """Overlapping findings: the stronger category wins, then the longer span, then the more
    specific rule, then the first. O(n log n): kept spans are disjoint and sorted, so a new
    span need only be compared with its neighbours."""
    ordered = sorted(raw, key=lambda f: (-_RANK[category_of(f[0])], -(f[2] - f[1]), f[4] in _WEAK, f[1]))
    starts: list[int] = []
    kept: list[tuple[str, int, int, float, str]] = []
    for f in ordered:
        if f[2] <= f[1]:
            continue
        i = bisect.bisect_left(starts, f[1])
        if i < len(kept) and kept[i][1] < f[2]:
            continue  # the next kept span starts before this one ends
        if i > 0 and kept[i - 1][2] > f[1]:
            continue  # the previous kept span ends after this one starts
        starts.insert(i, f[1])
        kept.insert(i, f)
    return kept


class Scanner:
    """All detectors, configured once; ``scan`` is thread-safe and keeps no state."""

    def __init__(self, *, custom: Sequence[CustomEntity] = (), names: bool = True, addresses: bool = True,
                 spacy_model: str | None = None, kinds: Iterable[str] | None = None) -> None:
        wanted = None if kinds is None else set(kinds)

        def keep(rule: Rule) -> bool:
            return wanted is None or rule.kind in wanted or rule.kind.startswith("custom:")

        rules = [r for r in (*SECRET_RULES, *PII_RULES) if keep(r)]
        self._values = _Pass([r for r in rules if not r.context])
        self._context = _Pass([r for r in rules if r.context])
        self._custom = _Pass([c.rule() for c in custom])
        self._wanted = wanted
        self._names = None
        self._addresses = None
        if names and (wanted is None or "person" in wanted):
            from wardgate.detectors.names import PersonNameDetector
            self._names = PersonNameDetector(spacy_model=spacy_model)
        if addresses and (wanted is None or "street_address" in wanted):
            from wardgate.detectors.address import StreetAddressDetector
            self._addresses = StreetAddressDetector()

    def scan(self, text: str, *, deadline: float | None = None) -> list[Finding]:
        """Findings in ``text`` (spans of the original), sorted and non-overlapping."""
        if not text:
            return []
        norm = normalize(text)
        t = norm.text
        raw: list[tuple[str, int, int, float, str]] = []
        view = data, to_char = utf8_view(t)
        self._values.run(t, raw, data, to_char)
        find_numbers(t, raw, data, to_char)
        self._context.run(t, raw, data, to_char)
        self._custom.run(t, raw, data, to_char)
        _check(deadline)
        for detector, kind in ((self._names, "person"), (self._addresses, "street_address")):
            if detector is not None:
                raw.extend((kind, s, e, sc, kind) for s, e, sc in detector.find(t, view))
        _check(deadline)
        wanted = self._wanted
        out = []
        for kind, s, e, score, name in _resolve(raw):
            if wanted is not None and kind not in wanted and not kind.startswith("custom:"):
                continue
            os_, oe = norm.span(s, e)
            out.append(Finding(kind, os_, oe, score, name))
        return out


def _check(deadline: float | None) -> None:
    if deadline is not None and time.perf_counter() > deadline:
        raise ScanBudgetExceeded()
