"""Secret detectors: vendor key formats, private keys, passwords in URLs and assignments,
Wardgate's own virtual keys, and a generic high-entropy token after a context word.

Formats follow the vendors' documentation. Keys whose length is fixed may be split by
single spaces or dashes (``AKIA IOSF ODNN 7EXA MPLE``); placeholders (``sk-ant-xxxx``,
``YOUR_API_KEY``, ``${TOKEN}``) are never findings, nor are UUIDs, hashes or git SHAs.
"""

from __future__ import annotations

import re

from wardgate.detectors.checks import entropy, placeholder, placeholder_value
from wardgate.detectors.names import common_words
from wardgate.detectors.rule import Rule

__all__ = ["SECRET_RULES"]

_SEP = r"[ \-]?"  # one optional space or dash between characters of a fixed-length key
_HEX = re.compile(r"(?i)^[0-9a-f\-]+$")
_UUID = re.compile(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")


def _real(value: str, _text: str, _start: int):
    return None if placeholder(value) else 0.99


def _spaced(min_len: int):
    """A key that may be split by spaces: drop trailing ordinary words the pattern took along."""
    def check(value: str, _text: str, start: int):
        trimmed = value
        if " " in value:
            groups = value.split(" ")
            for i, g in enumerate(groups):  # "KEY - thanks": a dash standing alone is prose
                if i and g in ("-", ""):
                    groups = groups[:i]
                    break
            words = common_words()
            while len(groups) > 1 and (groups[-1].lower() in words or  # "KEY and more": words it took along
                                       groups[-1].isalpha() and groups[-1].islower() and len(groups[-1]) <= 3):
                groups.pop()
            trimmed = " ".join(groups)
        if len(trimmed.replace(" ", "")) < min_len or placeholder(trimmed):
            return None
        return 0.99, start, start + len(trimmed)
    return check


def _slack(value: str, text: str, start: int):
    got = _spaced(15)(value, text, start)
    if got is None or sum(c.isdigit() for c in text[got[1]:got[2]]) < 4:
        return None  # real tokens carry numeric team and user ids: "xoxb- and xoxp- tokens" is prose
    return got


def _password(value: str, _text: str, start: int):
    inner = value
    if len(value) >= 2 and value[0] in "\"'" and value[-1] == value[0]:
        inner = value[1:-1]
        start += 1
    inner = inner.rstrip(".,;)")
    if len(inner) < 4 or placeholder_value(inner) or inner.startswith(("$", "%", "@", "(", "[", "{")):
        return None
    if inner.isidentifier() and inner.lower() == inner and "_" in inner:
        return None  # a variable name (``password=db_password``), not a value
    return 0.85, start, start + len(inner)


def _generic(value: str, _text: str, start: int):
    v = value.rstrip("=.")
    if len(v) < 20 or placeholder(v) or _UUID.match(v):
        return None
    if _HEX.match(v):  # hex after a word like api_key or bearer: a token, if long and varied
        if len(v) < 32 or entropy(v) < 3.0:
            return None
        return 0.75, start, start + len(v)
    kinds = sum((any(c.islower() for c in v), any(c.isupper() for c in v), any(c.isdigit() for c in v)))
    if kinds < 2 or entropy(v) < 3.6:
        return None
    return 0.8, start, start + len(v)


def _aws_secret(value: str, _text: str, start: int):
    if placeholder(value) or entropy(value) < 4.0:
        return None
    return 0.95


_KEY_LINE = re.compile(r"[A-Za-z0-9+/=]{40,}")


def _pem(value: str, _text: str, start: int):
    """Key material, not a header mentioned in prose or wrapped around "..."."""
    parts = value.split("-----")
    body = parts[2] if len(parts) >= 3 else ""
    if not _KEY_LINE.search(body.replace("\\n", "\n")):
        return None
    end = value.rfind("-----")
    if len(parts) < 5:  # no END line: the key runs to the last line of base64
        m = list(_KEY_LINE.finditer(value))
        end = m[-1].end() if m else len(value)
        return 0.99, start, start + end
    return 0.99


def _url_password(value: str, _text: str, start: int):
    if placeholder(value) or value.startswith(("$", "%", "{")) or len(value) < 3:
        return None
    return 0.95


_B64URL = r"[A-Za-z0-9_\-]"
_ASSIGN = r"""["']?\s*(?:=>|:=|[:=]|\s(?i:is)\s)\s*"""

SECRET_RULES: tuple[Rule, ...] = (
    Rule("private_key", "pem",
         r"-----BEGIN[ A-Z0-9]{0,20}PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=:,.\s\\]|-[A-Za-z0-9])*"
         r"(?:-----END[ A-Z0-9]{0,20}PRIVATE KEY(?: BLOCK)?-----)?", _pem, 0.99),
    Rule("anthropic_key", "anthropic",
         r"sk-ant-(?:api|admin|oat|ort|sid)\d\d-(?:[ ]?[A-Za-z0-9_\-]){16,120}", _spaced(24)),
    Rule("openai_key", "openai",
         r"\bsk-(?:proj|svcacct|admin|None)-(?:[ ]?[A-Za-z0-9_\-]){20,200}"
         r"|\bsk-(?:" + _SEP + r"[A-Za-z0-9]){48}\b", _spaced(28)),
    Rule("aws_access_key_id", "aws-key-id",
         r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|APKA|AIPA)(?:" + _SEP + r"[A-Z2-7]){16}\b", _spaced(20)),
    Rule("github_token", "github",
         r"\b(?:ghp|gho|ghu|ghs|ghr)_(?:" + _SEP + r"[A-Za-z0-9]){36}\b|\bgithub_pat_(?:" + _SEP + r"[A-Za-z0-9_]){60,100}", _spaced(40)),
    Rule("gitlab_token", "gitlab", r"\b(?:glpat|gldt|glrt|glptt|glsoat|gloas)-(?:[ ]?[A-Za-z0-9_\-]){20,64}", _spaced(26)),
    Rule("slack_token", "slack",
         r"\bxox[abposre]-(?:[ ]?[A-Za-z0-9\-]){10,200}|\bxapp-\d-(?:[ ]?[A-Za-z0-9\-]){10,200}"
         r"|hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]{20,120}", _slack),
    Rule("stripe_key", "stripe", r"\b(?:sk|rk)_(?:live|test)_(?:" + _SEP + r"[A-Za-z0-9]){16,200}|\bwhsec_[A-Za-z0-9]{24,64}",
         _spaced(24)),
    Rule("google_api_key", "google", r"\bAIza(?:" + _SEP + _B64URL + r"){35}", _spaced(39)),
    Rule("sendgrid_key", "sendgrid", r"\bSG\.(?:[ \-]?[A-Za-z0-9_\-]){22}\.?(?:[ \-]?[A-Za-z0-9_\-]){43}", _spaced(68)),
    Rule("npm_token", "npm", r"\bnpm_(?:" + _SEP + r"[A-Za-z0-9]){36}\b", _spaced(40)),
    Rule("pypi_token", "pypi", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{40,}", _real),
    Rule("twilio_key", "twilio-sid", r"\bSK[0-9a-fA-F]{32}\b", _real, 0.9),
    Rule("jwt", "jwt", r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}", None, 0.95),
    Rule("wardgate_key", "wardgate", r"\bwg_(?:live|test)_(?:" + _SEP + r"[0-9A-Za-z]){38}\b", _spaced(46)),
    Rule("azure_key", "azure",
         r"(?i:AccountKey|SharedAccessKey|AccessKey)=(?P<v>[A-Za-z0-9+/]{40,120}={0,2})", _real),
    Rule("gcp_service_account", "gcp-key-id", r""""private_key_id"\s*:\s*"(?P<v>[0-9a-f]{40})\"""", None, 0.95),
    Rule("url_password", "url-credentials",
         r"\b[A-Za-z][A-Za-z0-9+.\-]{1,20}://[^\s:/@\"'<>]{0,64}:(?P<v>[^\s:/@\"'<>]{1,128})@[A-Za-z0-9.\-\[]",
         _url_password, context=True),
    # context rules: a word that says what follows
    Rule("aws_secret_key", "aws-secret",
         r"(?i:aws[^\n]{0,30}?secret[^\n]{0,20}?key|secret[_\- ]?access[_\- ]?key)(?:\s*\n\s*(?i:value))?[^A-Za-z0-9/+\n]{0,20}(?:(?i:is|\[none\])[^A-Za-z0-9/+\n]{0,6})?"
         r"(?P<v>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)", _aws_secret, context=True),
    Rule("azure_key", "azure-context",
         r"(?i:account[_\- ]?key|storage[_\- ]?key|azure[^\n]{0,30}?key)[^A-Za-z0-9+/\n]{1,20}"
         r"(?:(?i:is)[^A-Za-z0-9+/\n]{1,6})?(?P<v>[A-Za-z0-9+/]{86}==)", _real, context=True),
    Rule("twilio_key", "twilio-token",
         r"(?i:twilio)(?s:.{0,80}?)(?i:auth[_\- ]?token|token)" + _ASSIGN + r"""["']?(?P<v>[0-9a-f]{32})\b""",
         _real, context=True),
    Rule("twilio_key", "twilio-token",
         r"(?i:auth[_\- ]?token)" + _ASSIGN + r"""["']?(?P<v>[0-9a-f]{32})\b["']?[^\n]{0,20}(?i:twilio)""",
         _real, context=True),
    Rule("twilio_key", "twilio-pair",
         r"\bAC[0-9a-f]{32}\b[^\n]{0,12}?\b(?P<v>[0-9a-f]{32})\b", _real, context=True),
    Rule("password", "password-assignment",
         r"(?i:[a-z0-9_]*(?:password|passwd|passphrase)|\bpwd|\bdb_pass)"
         + _ASSIGN + r"""(?P<v>"[^"\n]{1,200}"|'[^'\n]{1,200}'|[^\s"',;<>]{1,200})""",
         _password, context=True),
    Rule("password", "password-element", r"(?i:<password>)(?P<v>[^<\n]{1,200})</", _password, context=True),
    Rule("generic_secret", "entropy",
         r"(?i:[a-z0-9_\-]*(?:api[_\-]?key|apikey|secret|access[_\-]?token|auth[_\-]?token|token|client[_\-]?secret|"
         r"x-api-key|authorization|bearer|private[_\-]?key|credential)[a-z0-9_\-]{0,20}\b)"
         r"""["']?\s*(?:=>|:=|[:=]|\s(?i:is)\s)?\s*(?:["']|(?i:bearer|token|basic)\s+)?(?P<v>[A-Za-z0-9_\-+/=.~]{20,500})""",
         _generic, context=True),
)
