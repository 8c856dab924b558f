"""PersonNameDetector: find people's names in free text, offline.

One ``re`` pass collects runs of capitalised words ("Dr. Ada M. Lovelace"); its pattern cannot
backtrack (every repetition starts with a character the previous one cannot consume), and ``re``
is used rather than ``re2`` because it is cheaper per match on ordinary prose. Ordinary words
("The", "Please") are dropped with one set look-up; the remaining runs are judged against
shipped name lists (US Census 1990 first and last names, Mimesis' per-locale person names) and a
list of common English words that makes a token *ambiguous* ("Will", "May", "Mark", "Rose").
A run is a name when

- a title precedes it (Mr, Ms, Dr, ...) or a cue does ("my name is", "Dear", "said", "patient",
  "customer", "signed" ...), or a verb of speech follows it ("... wrote");
- it pairs a first name with a surname, an initial or an unknown capitalised word, with at least
  one token that is not an ordinary word ("Ada Lovelace" yes, "Grace Period" no);
- it is a single first name that is not an ordinary word and not a place or product ("Natasja").

A second, ``re2`` pass (linear, cheap when nothing matches) catches lower-case names right after a
self-introduction ("my name is ada lovelace"). With ``spacy_model`` the PERSON entities of that
spaCy pipeline are added.
"""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from importlib import resources

import re2

from wardgate.detectors.engine import spans
from wardgate.detectors.text import utf8_view

__all__ = ["PersonNameDetector", "SpacyUnavailableError", "common_words"]

_STRONG, _PAIR, _SINGLE = 0.9, 0.8, 0.6

_TITLES = frozenset(
    "mr mrs ms miss mx dr prof sir dame madam mister lady lord rev fr sr sra srta herr frau mme "
    "mlle dott sig signora señor señora senhor senhora doctor professor judge officer captain "
    "sgt lt col gen".split()
)
_CUES_BEFORE = frozenset(
    "dear hi hello hey thanks thank cc attn attention signed sincerely regards cheers "
    "said says asked told wrote called named name nee née by contact customer client patient "
    "employee user applicant tenant member student teacher author manager director witness "
    "spouse husband wife son daughter mother father brother sister partner colleague "
    "am i'm im meet met ask emailed phoned visited from to with".split()
)
_WEAK_CUES = frozenset("by from to with am".split())
_MAX_TOKENS = 6
_CAMEL_OK = frozenset(("Mc", "Ma", "De", "Di", "La", "Le", "Va", "Fi"))
_LEADING_STOP = frozenset(
    "the a an this that these those my our your his her their its and or but of in on at for "
    "if when while as so".split()
)
_NO_CUE = _WEAK_CUES | {""}
_CUES_AFTER = frozenset(
    "said says wrote writes asked replied told called emailed phoned added explained noted "
    "argued answered whispered shouted smiled laughed".split()
)
_SELF_INTRO = re2.compile(
    r"(?i:\b(?:my name is|my name's|name:|i am|i'm|call me|this is))[ \t]+"
    r"(\p{Ll}[\p{Ll}'’\-]+)(?:[ \t]+(\p{Ll}[\p{Ll}'’\-]+))?"
)
_UPPER = "A-ZÀ-ÖØ-Þ\u0100-\u024f\u0370-\u03ff\u0400-\u042f"
_TOKEN = "[" + _UPPER + r"][\w'’\-]*\.?"
_RUN = re.compile(_TOKEN + r"(?:[ \t]+" + _TOKEN + r")*")
_TOKEN_SPLIT = re.compile(r"\S+")
_WORD_AFTER = re.compile(r"[ \t,]{1,2}([^\W\d_]+)")
_CODE_AFTER = frozenset("(_=[{<0123456789")
_CODE_BEFORE = frozenset(".@/\\$#-_")


@lru_cache(maxsize=1)
def _lexicon() -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    data = resources.files("wardgate.detectors") / "data"

    def load(name: str) -> frozenset[str]:
        with gzip.open(data.joinpath(name).open("rb"), "rt", encoding="utf-8") as fh:
            return frozenset(line.strip() for line in fh if line.strip())

    stop = data.joinpath("not_names.txt").read_text(encoding="utf-8")
    not_names = frozenset(w for line in stop.splitlines() if not line.startswith("#")
                          for w in line.split())
    return load("first.txt.gz"), load("last.txt.gz"), load("words.txt.gz"), not_names


@lru_cache(maxsize=1)
def _boring_words() -> frozenset[str]:
    """Ordinary words that can never start a name on their own: skipped without a look."""
    keep = _TITLES | _CUES_BEFORE
    words = [w for w in _lexicon()[2] if w not in keep]
    pronouns = frozenset({"i", "i'm", "i'll", "i've", "i'd"})
    return frozenset(words) | frozenset(w.capitalize() for w in words) | pronouns


def common_words() -> frozenset[str]:
    """Lower-case English words (SCOWL size 35), shared with the address detector."""
    return _lexicon()[2]


def _bare(token: str) -> str:
    token = token.rstrip(".")
    if token.endswith(("'s", "’s")):
        token = token[:-2]
    return token.lower()


@lru_cache(maxsize=65536)
def _features(raw: str) -> tuple:
    """What a token is, from the word lists (cached: the same words come back all the time)."""
    first, last, words, not_names = _lexicon()
    key = _bare(raw)
    trim = 0
    if raw.endswith(".") or raw.endswith(("'s", "’s")):
        trim = len(raw) - len(raw.rstrip("."))
        if raw.rstrip(".").endswith(("'s", "’s")):
            trim += 2
    parts = key.split("-") if "-" in key else (key,)
    return (raw.endswith("."), trim, key, len(key) == 1, key in _TITLES,
            key in first or parts[0] in first, key in last or all(p in last for p in parts),
            key in words or key in _CUES_BEFORE, key in not_names)


class _Token:
    __slots__ = ("start", "end", "key", "first", "last", "word", "place", "title", "initial", "dot")

    def __init__(self, raw: str, start: int, lex: tuple) -> None:
        self.start = start
        (self.dot, trim, self.key, self.initial, self.title, self.first, self.last, self.word,
         self.place) = _features(raw)
        self.end = start + len(raw) - trim

    @property
    def namelike(self) -> bool:
        return self.first or self.last

    @property
    def plain(self) -> bool:
        return not self.word and not self.place


def _shape_ok(token: str) -> bool:
    """Reject ALLCAPS and camelCase (HTTP, JsonParser); keep McDowell, O'Brien, Jean-Luc."""
    body = token.rstrip(".")
    rest = body[1:]
    if not rest or rest.islower() and rest.isalpha():
        return True
    if body.isupper():
        return False
    for part in body.replace("’", "-").replace("'", "-").split("-"):
        inner = sum(1 for ch in part[1:] if ch.isupper())
        if inner > 1 or inner == 1 and part[:2] not in _CAMEL_OK:
            return False
    return True


class PersonNameDetector:
    """Offline person-name finder; see the module docstring for the rules."""

    def __init__(self, spacy_model: str | None = None) -> None:
        self._lex = _lexicon()
        self._boring = _boring_words()
        first, last, _, _ = self._lex
        self._nameish = first | last | _TITLES | _CUES_BEFORE
        self._nlp = _load_spacy(spacy_model) if spacy_model else None

    def find(self, text: str, view=None) -> list[tuple[int, int, float]]:
        """``view``: ``text.utf8_view(text)`` when the caller already has it."""
        spans: list[tuple[int, int, float]] = []
        boring, nameish = self._boring, self._nameish
        pos, dead = 0, set()
        for run in _RUN.findall(text):
            if run in boring or run.isupper():
                continue
            if run in dead:
                continue
            start = _locate(text, run, pos)
            if start < 0:
                dead.add(run)
                continue
            pos = end = start + len(run)
            keys = run.lower().replace(".", " ").split()
            if nameish.isdisjoint(_bare(k) for k in keys) and not (
                    _cue_before(text, start) not in _NO_CUE
                    or _bare(keys[-1]) not in boring and _cue_after(text, end)):
                continue
            spans.extend(self._judge_run(text, start, end))
        spans.extend(self._self_intro(text, view or utf8_view(text)))
        if self._nlp is not None:
            spans.extend((e.start_char, e.end_char, 0.85) for e in self._nlp(text).ents
                         if e.label_ == "PERSON")
        return _merge(spans)

    def _judge_run(self, text: str, start: int, end: int) -> list[tuple[int, int, float]]:
        if end < len(text) and text[end] in _CODE_AFTER:
            return []
        tokens: list[_Token | None] = []
        for m in _TOKEN_SPLIT.finditer(text, start, end):
            raw = m.group()
            tokens.append(_Token(raw, m.start(), self._lex) if _shape_ok(raw) else None)
        out: list[tuple[int, int, float]] = []
        for group, cue in _groups(tokens, _cue_before(text, start)):
            hit = _judge_group(group, cue, _cue_after(text, group[-1].end))
            if hit is not None:
                out.append(hit)
        return out

    def _self_intro(self, text: str, view) -> list[tuple[int, int, float]]:
        data, to_char = view  # RE2 on bytes
        hits = (self._intro_hit(got, text, to_char) for got in spans(_SELF_INTRO, data))
        return [hit for hit in hits if hit is not None]

    def _intro_hit(self, got, text: str, to_char) -> tuple[int, int, float] | None:
        first, last, words, _ = self._lex
        s1, e1 = to_char(got[1][0]), to_char(got[1][1])
        given = text[s1:e1]
        surname = text[to_char(got[2][0]):to_char(got[2][1])] if got[2][0] >= 0 else None
        if given not in first or given in words:
            return None
        end = e1
        if surname and surname not in words and (surname in last or surname not in first):
            end = to_char(got[2][1])
        return s1, end, _PAIR


def _locate(text: str, run: str, pos: int) -> int:
    """Offset of the next clean match equal to ``run`` (findall gives strings, not offsets)."""
    at = text.find(run, pos)
    while at > 0 and (text[at - 1].isalnum() or text[at - 1] in _CODE_BEFORE
                      or _RUN.match(text, at).group() != run):
        at = text.find(run, at + 1)
    return at


def _groups(tokens: list, cue: str):
    """Split a run into groups at titles, cue words, sentence dots and bad-shaped tokens."""
    group: list[_Token] = []
    for tok in tokens:
        if tok is None or tok.title or (tok.key in _CUES_BEFORE and tok.word):
            if group:
                yield group, cue
            group = []
            cue = "title" if tok is not None and tok.title else (tok.key if tok is not None else "")
            continue
        group.append(tok)
        if tok.dot and not tok.initial or len(group) == _MAX_TOKENS:
            yield group, cue
            group, cue = [], ""
    if group:
        yield group, cue


def _judge_group(group: list, cue: str, cue_after: bool) -> tuple[int, int, float] | None:
    while group and group[0].key in _LEADING_STOP:
        group = group[1:]
    while group and not group[-1].namelike and (group[-1].word or group[-1].initial):
        group = group[:-1]
    if not group or group[0].initial and len(group) == 1:
        return None
    if len(group) == 1 and group[0].place:
        return None  # a lone month, place, product or assistant name ("Hi Claude") is not a person
    head = group[0]
    strong = cue == "title" or (cue and cue not in _WEAK_CUES) or cue_after
    if strong and (head.namelike or head.plain):
        keep = [t for t in group if t.namelike or t.plain or t.initial]
        if keep and keep[0] is head:
            return head.start, _run_end(group), _STRONG
    if len(group) >= 2:
        rest = group[1:]
        if head.first or head.initial:
            ends_ok = rest[-1].last or rest[-1].plain
            has_clear = any(t.namelike and t.plain for t in group)
            if ends_ok and has_clear and all(t.namelike or t.plain or t.initial for t in rest):
                return head.start, group[-1].end, _PAIR
        if cue in _WEAK_CUES and head.namelike and head.plain and not rest[0].word:
            return head.start, rest[0].end, _PAIR
    if head.first and head.plain and len(group) == 1:
        return head.start, head.end, _SINGLE
    if cue in ("by", "with") and len(group) == 1 and head.last and head.plain:
        return head.start, head.end, _SINGLE
    return None


def _run_end(group: list) -> int:
    while len(group) > 1 and group[-1].word and not group[-1].namelike:
        group = group[:-1]
    return group[-1].end


def _cue_before(text: str, start: int) -> str:
    before = text[max(0, start - 20):start]
    if not before or before[-1] == "\n":
        return ""
    words = before.lower().split()
    word = words[-1].strip(",:;\"'(") if words else ""
    if word == "is" and len(words) > 1 and words[-2] == "name":
        return "named"
    return word if word in _CUES_BEFORE or word in _TITLES else ""


def _cue_after(text: str, end: int) -> bool:
    m = _WORD_AFTER.match(text[end:end + 16])
    return m is not None and m.group(1) in _CUES_AFTER


def _merge(spans: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    spans.sort()
    out: list[tuple[int, int, float]] = []
    for s, e, score in spans:
        if out and s < out[-1][1]:
            ps, pe, pscore = out[-1]
            out[-1] = (ps, max(pe, e), max(pscore, score))
        else:
            out.append((s, e, score))
    return out


class SpacyUnavailableError(ImportError):
    """spaCy or the named pipeline cannot be imported."""


def _load_spacy(model: str):
    try:
        import spacy  # noqa: PLC0415
    except ImportError as exc:
        raise SpacyUnavailableError(
            f"spacy_model={model!r} needs the 'spacy' package, which is not installed") from exc
    try:
        return spacy.load(model, disable=["parser", "lemmatizer", "textcat"])
    except OSError as exc:
        raise SpacyUnavailableError(
            f"spaCy pipeline {model!r} is not installed (pip install it as a package)") from exc
