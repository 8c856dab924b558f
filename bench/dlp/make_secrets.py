"""Generate tests/data/secrets.jsonl: secrets in vendors' documented formats, and near-misses.

    python bench/dlp/make_secrets.py            # (re)write tests/data/secrets.jsonl
    python bench/dlp/make_secrets.py --check    # exit 1 if the file differs from a fresh run

Every body comes from one seeded RNG, so the file is reproducible byte for byte and none of
the values is a live credential. Rows:

    {"text": ..., "kind": <SECRET_KINDS name>, "value": <substring of text>, "label": 1}
    {"text": ..., "kind": ..., "value": ..., "label": 1, "obfuscated": "zero_width|fullwidth|..."}
    {"text": ..., "label": 0, "why": "uuid|git_sha|sha256|md5|placeholder|version|..."}

``value`` occurs exactly once in ``text``; a scanner's finding should overlap it.
Formats (prefix, alphabet, length, checksum) follow each vendor's documentation and the
public gitleaks rules; GitHub and npm tokens carry a valid CRC32 checksum, Wardgate keys the
checksum of ``wardgate.identity.keyformat``.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import sys
import zlib
from pathlib import Path

from templates import CONTEXTS, NEGATIVES

SEED = 20261121
OUT = Path(__file__).resolve().parents[2] / "tests" / "data" / "secrets.jsonl"
PER_KIND = 28

ALNUM = string.ascii_letters + string.digits
B62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
URLSAFE = ALNUM + "-_"
B64 = ALNUM + "+/"
HEX = "0123456789abcdef"
B32 = string.ascii_uppercase + "234567"


class Gen:
    """Value generators, one method per kind; each returns a list of candidate values."""

    def __init__(self, rng: random.Random) -> None:
        self.r = rng

    def s(self, alphabet: str, n: int) -> str:
        return "".join(self.r.choice(alphabet) for _ in range(n))

    def crc_b62(self, text: str) -> str:
        n, out = zlib.crc32(text.encode()), []
        while n:
            n, rem = divmod(n, 62)
            out.append(B62[rem])
        return "".join(reversed(out)).rjust(6, "0")

    def b64(self, nbytes: int, urlsafe: bool = False) -> str:
        raw = bytes(self.r.getrandbits(8) for _ in range(nbytes))
        enc = base64.urlsafe_b64encode(raw) if urlsafe else base64.b64encode(raw)
        return enc.decode().rstrip("=") if urlsafe else enc.decode()

    def anthropic_key(self) -> str:
        prefix = self.r.choice(["sk-ant-api03-"] * 4 + ["sk-ant-admin01-"])
        return prefix + self.s(URLSAFE, 93) + "AA"

    def openai_key(self) -> str:
        style = self.r.choice(["proj", "proj", "svcacct", "legacy"])
        if style == "legacy":
            return "sk-" + self.s(ALNUM, 20) + "T3BlbkFJ" + self.s(ALNUM, 20)
        n = self.r.choice([74, 58])
        return f"sk-{style}-" + self.s(URLSAFE, n) + "T3BlbkFJ" + self.s(URLSAFE, n)

    def aws_access_key_id(self) -> str:
        return self.r.choice(["AKIA", "AKIA", "ASIA"]) + self.s(B32, 16)

    def aws_secret_key(self) -> str:
        return self.s(B64, 40)

    def github_token(self) -> str:
        kind = self.r.choice(["ghp_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"])
        if kind == "github_pat_":
            return "github_pat_" + self.s(ALNUM, 22) + "_" + self.s(ALNUM, 59)
        body = self.s(ALNUM, 30)
        return kind + body + self.crc_b62(body)

    def gitlab_token(self) -> str:
        return "glpat-" + self.s(URLSAFE, 20)

    def slack_token(self) -> str:
        d = lambda: str(self.r.randint(10**9, 10**13 - 1))  # noqa: E731
        kind = self.r.choice(["xoxb", "xoxb", "xoxp", "xoxa", "xapp", "hook", "hook"])
        if kind == "xoxb":
            return f"xoxb-{d()}-{d()}-{self.s(ALNUM, 24)}"
        if kind == "xoxp":
            return f"xoxp-{d()}-{d()}-{d()}-{self.s(HEX, 32)}"
        if kind == "xoxa":
            return f"xoxa-2-{d()}-{d()}-{d()}-{self.s(HEX, 64)}"
        if kind == "xapp":
            return f"xapp-1-A{self.s(B32[:26] + '0123456789', 10)}-{d()}-{self.s(HEX, 64)}"
        up = string.ascii_uppercase + string.digits
        return (f"https://hooks.slack.com/services/T{self.s(up, 8)}/B{self.s(up, 10)}/"
                f"{self.s(ALNUM, 24)}")

    def stripe_key(self) -> str:
        prefix = self.r.choice(["sk_live_", "sk_live_", "rk_live_", "sk_test_"])
        return prefix + self.s(ALNUM, self.r.choice([24, 34, 99]))

    def google_api_key(self) -> str:
        return "AIzaSy" + self.s(URLSAFE, 33)

    def azure_key(self) -> str:
        return self.b64(64)  # 88 characters, ends in "=="

    def gcp_service_account(self) -> str:
        project = self.r.choice(["acme-prod-3921", "data-lake-dev", "ml-infra-204511", "billing-etl"])
        who = self.r.choice(["deployer", "ci-runner", "bq-reader", "terraform"])
        pem = "-----BEGIN PRIVATE KEY-----\\n" + "\\n".join(
            self.b64(48) for _ in range(self.r.randint(8, 26))) + "\\n-----END PRIVATE KEY-----\\n"
        doc = {
            "type": "service_account", "project_id": project,
            "private_key_id": self.s(HEX, 40), "private_key": "@PEM@",
            "client_email": f"{who}@{project}.iam.gserviceaccount.com",
            "client_id": str(self.r.randint(10**20, 10**21 - 1)),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
        text = json.dumps(doc, indent=self.r.choice([None, 2]))
        return text.replace('"@PEM@"', '"' + pem + '"')

    def twilio_key(self) -> str:
        return ("SK" + self.s(HEX, 32)) if self.r.random() < 0.6 else self.s(HEX, 32)

    def sendgrid_key(self) -> str:
        return "SG." + self.s(URLSAFE, 22) + "." + self.s(URLSAFE, 43)

    def npm_token(self) -> str:
        body = self.s(ALNUM, 30)
        return "npm_" + body + self.crc_b62(body)

    def pypi_token(self) -> str:
        return "pypi-AgEIcHlwaS5vcmc" + self.b64(self.r.randint(90, 160), urlsafe=True)

    def jwt(self) -> str:
        alg = self.r.choice(["HS256", "RS256", "ES256"])
        header = {"alg": alg, "typ": "JWT"} if self.r.random() < 0.7 else {
            "alg": alg, "kid": self.s(HEX, 16), "typ": "JWT"}
        payload = {"sub": str(self.r.randint(1, 10**9)), "iat": 1763700000 + self.r.randint(0, 10**6),
                   "exp": 1763800000 + self.r.randint(0, 10**6)}
        if self.r.random() < 0.5:
            payload["scope"] = self.r.choice(["read:org", "admin", "openid profile email"])
        enc = lambda o: base64.urlsafe_b64encode(  # noqa: E731
            json.dumps(o, separators=(",", ":")).encode()).decode().rstrip("=")
        sig = self.b64({"HS256": 32, "RS256": 256, "ES256": 64}[alg], urlsafe=True)
        return f"{enc(header)}.{enc(payload)}.{sig}"

    def private_key(self) -> str:
        label = self.r.choice(["RSA PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY",
                               "DSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "PRIVATE KEY",
                               "PGP PRIVATE KEY BLOCK"])
        lines = {"EC PRIVATE KEY": 3, "OPENSSH PRIVATE KEY": 7, "DSA PRIVATE KEY": 10}.get(
            label, self.r.randint(12, 25))
        body = [self.b64(48) for _ in range(lines)]
        if label == "OPENSSH PRIVATE KEY":
            body[0] = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW"
        head = ""
        if label == "PGP PRIVATE KEY BLOCK":
            body[0] = "lQOYBF" + body[0][6:]
            body.append("=" + self.b64(3))
            head = "\n"
        elif label == "RSA PRIVATE KEY" and self.r.random() < 0.3:
            head = f"Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,{self.s(HEX, 32).upper()}\n\n"
        return f"-----BEGIN {label}-----\n{head}" + "\n".join(body) + f"\n-----END {label}-----"

    def url_password(self) -> str:
        return self.s(ALNUM, self.r.randint(8, 14)) + self.r.choice(["", "!", "~", "%21", "_"])

    def password(self) -> str:
        words = ["Summer", "dragon", "Maple", "orange", "Falcon", "winter", "Tiger", "purple"]
        if self.r.random() < 0.5:
            return (self.r.choice(words) + str(self.r.randint(10, 9999))
                    + self.r.choice("!#$%&*?@"))
        return self.s(ALNUM + "!#%&*+-.?@^_~", self.r.randint(12, 24))

    def wardgate_key(self) -> str:
        prefix = self.r.choice(["wg_live_", "wg_live_", "wg_test_"])
        body = self.s(B62, 32)
        return prefix + body + self.crc_b62(prefix + body)

    def generic_secret(self) -> str:
        alphabet = self.r.choice([ALNUM, HEX, URLSAFE])
        return self.s(alphabet, self.r.randint(32, 64))


# --- obfuscation -----------------------------------------------------------------------------

_PREFIXES = ("sk-ant-api03-", "sk-ant-admin01-", "sk-proj-", "sk-svcacct-", "sk-", "github_pat_",
             "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "glpat-", "xoxb-", "xoxp-", "xoxa-", "xapp-",
             "sk_live_", "rk_live_", "sk_test_", "SG.", "npm_", "wg_live_", "wg_test_")
_ZW = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
_CYR = {"A": "\u0410", "K": "\u041a", "I": "\u0406", "S": "\u0405", "a": "\u0430", "s": "\u0455",
        "k": "\u043a", "p": "\u0440", "o": "\u043e", "e": "\u0435", "c": "\u0441", "x": "\u0445",
        "i": "\u0456", "j": "\u0458", "y": "\u0443", "B": "\u0412", "E": "\u0415", "T": "\u0422"}


def obfuscate(rng: random.Random, value: str, how: str) -> str:
    if how == "zero_width":
        chars = list(value)
        for pos in sorted(rng.sample(range(1, len(value)), 4), reverse=True):
            chars.insert(pos, rng.choice(_ZW))
        return "".join(chars)
    if how == "fullwidth":
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in value)
    if how == "cyrillic_prefix":
        head = value[:6]
        swaps = [i for i, c in enumerate(head) if c in _CYR]
        for i in rng.sample(swaps, min(2, len(swaps))):
            head = head[:i] + _CYR[head[i]] + head[i + 1:]
        return head + value[6:]
    # Split the body into groups of 4 and keep a vendor prefix whole, as a person would.
    sep = " " if how == "split_spaces" else "-"
    prefix = next((p for p in _PREFIXES if value.startswith(p)), "")
    body = value[len(prefix):]
    return prefix + sep.join(body[i:i + 4] for i in range(0, len(body), 4))


OBFUSCATED_KINDS = ["anthropic_key", "openai_key", "aws_access_key_id", "github_token",
                    "stripe_key", "google_api_key", "slack_token", "sendgrid_key", "npm_token",
                    "wardgate_key", "gitlab_token"]
OBFUSCATIONS = ["zero_width", "fullwidth", "cyrillic_prefix", "split_spaces", "split_dashes"]


# --- assembly --------------------------------------------------------------------------------

def place(template: str, value: str) -> tuple[str, str]:
    text = template.replace("{v}", value)
    if text.count(value) != 1:
        raise ValueError(f"value not unique in {template!r}")
    return text, value


def build(seed: int = SEED) -> list[dict]:
    rng = random.Random(seed)
    gen = Gen(rng)
    rows: list[dict] = []
    for kind, templates in CONTEXTS.items():
        for i in range(PER_KIND):
            value = getattr(gen, kind)()
            if kind == "twilio_key" and not value.startswith("SK"):
                template = rng.choice(templates["auth_token"])
            elif kind == "slack_token" and value.startswith("https://"):
                template = rng.choice(templates["webhook"])
            elif isinstance(templates, dict):
                template = templates["main"][i % len(templates["main"])]
            else:
                template = templates[i % len(templates)]
            text, value = place(template, value)
            rows.append({"text": text, "kind": kind, "value": value, "label": 1})
    for how in OBFUSCATIONS:
        for kind in OBFUSCATED_KINDS:
            value = getattr(gen, kind)()
            if kind == "slack_token":
                while value.startswith("https://"):
                    value = gen.slack_token()
            hidden = obfuscate(rng, value, how)
            template = rng.choice(["Here is the key I'm using: {v} - why do I get a 401?",
                                   "export API_TOKEN={v}", 'token = "{v}"',
                                   "please debug this config:\nkey: {v}\nregion: eu-west-1"])
            text, hidden = place(template, hidden)
            rows.append({"text": text, "kind": kind, "value": hidden, "label": 1,
                         "obfuscated": how})
    for why, maker in NEGATIVES.items():
        for text in maker(gen):
            rows.append({"text": text, "label": 0, "why": why})
    return rows


def dump(rows: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the file, write nothing")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rows = build()
    data = dump(rows)
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == data
        print(f"{args.out}: {'up to date' if same else 'DIFFERS from a fresh run'}")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(data, encoding="utf-8")
    pos = sum(r["label"] for r in rows)
    print(f"wrote {args.out}: {pos} positives, {len(rows) - pos} negatives")
    return 0


if __name__ == "__main__":
    sys.exit(main())
