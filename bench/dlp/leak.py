"""End-to-end leak benchmark: what reaches the upstream, and what comes back to the caller.

    python bench/dlp/leak.py                  # 300 PII prompts + 132 secret prompts, Markdown
    python bench/dlp/leak.py --json           # the same numbers as JSON
    python bench/dlp/leak.py -n 600 --seed 7  # more prompts, another seed
    python bench/dlp/leak.py --misses         # also list every leaked or unrestored value

A real ``wardgate serve`` process (default configuration: secrets blocked, personal data
pseudonymized, in-memory vault) runs in front of the simulated upstream, which records every
body it receives and echoes the user's words back ("You said: ..."), streaming three
characters at a time so placeholders arrive split across deltas. Prompts alternate between
JSON and streamed requests and are sent one at a time, so each upstream body belongs to one
prompt.

- PII prompts hold four values of different kinds (email, phone, credit_card, iban, us_ssn,
  ip_address, person), each plain or obfuscated: zero-width characters inserted, fullwidth
  characters, Cyrillic look-alike letters (kinds with letters), or the value's groups split
  by spaces or dashes (card, phone, IBAN, SSN).
- Secret prompts hold one credential (the kinds and obfuscations of make_secrets.py).

Reported:

1. leaked: the fraction of values whose normal form can be recovered from the upstream body
   normalised the same way (NFKC, invisible characters removed, Cyrillic/Greek look-alikes
   folded; numbers compared as their digits, IBANs and secrets without spaces and dashes),
   per kind and per obfuscation;
2. restored: of the values that did not leak, the fraction the caller got back exactly as
   sent, in JSON answers and in streams (the simulator echoes the prompt, so every one should
   come back), and answers still holding a placeholder;
3. blocked: the fraction of secret prompts refused with ``dlp.secret_blocked``, and the
   fraction of unblocked secrets that reached the upstream.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import string
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

import httpx
import phonenumbers

from make_secrets import OBFUSCATED_KINDS, OBFUSCATIONS, Gen
from make_secrets import obfuscate as obfuscate_secret
from wardgate.server import free_port
from wardgate.testing import SimUpstream

SEED = 20261122
MODEL = "claude-sonnet-5-5"
GW_KEY = "wg_bench_leak_key_0123456789"
SIM_KEY = "sk-ant-bench-upstream-key"
PEPPER = "bench-leak-pepper-0123456789abcdefghijklmnopqrstuvwxyz"
PII_KINDS = ("email", "phone", "credit_card", "iban", "us_ssn", "ip_address", "person")
PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]{0,40}_\d{1,6}\]")

# --- values ----------------------------------------------------------------------------------

FIRST = ["Maria", "James", "Aisha", "Wei", "Olga", "Santiago", "Priya", "Kwame", "Ingrid", "Mohammed",
         "Hannah", "Lucas", "Fatima", "Kenji", "Elena", "Thomas", "Chloe", "Dmitri", "Amara", "Patrick"]
LAST = ["Keller", "Thompson", "Okafor", "Zhang", "Ivanova", "Moreno", "Raman", "Mensah", "Lindqvist",
        "Haddad", "Schmidt", "Fernandes", "Rahman", "Tanaka", "Rossi", "O'Brien", "Dubois", "Novak",
        "Nwosu", "Gallagher"]
DOMAINS = ["kunde-example.de", "mail.example.org", "corp.example.net", "example.co.uk", "acme-example.com"]
PHONE_REGIONS = ["US", "US", "GB", "DE", "FR", "IN"]
IBAN_FORMATS = {"DE": "n18", "GB": "a4n14", "FR": "n10c11n2", "NL": "a4n10", "ES": "n20", "IT": "a1n10c12"}


class Values:
    def __init__(self, rng: random.Random) -> None:
        self.r = rng

    def digits(self, n: int) -> str:
        return "".join(self.r.choice(string.digits) for _ in range(n))

    def person(self) -> str:
        return f"{self.r.choice(FIRST)} {self.r.choice(LAST)}"

    def email(self) -> str:
        first, last = self.r.choice(FIRST).lower(), self.r.choice(LAST).lower().replace("'", "")
        local = self.r.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}{self.r.randint(1, 99)}"])
        return f"{local}@{self.r.choice(DOMAINS)}"

    def phone(self) -> str:
        while True:
            region = self.r.choice(PHONE_REGIONS)
            example = phonenumbers.example_number(region)
            national = str(example.national_number)
            cand = national[:2] + self.digits(len(national) - 2)
            num = phonenumbers.parse(f"+{example.country_code}{cand}", None)
            if phonenumbers.is_valid_number(num):
                fmt = phonenumbers.PhoneNumberFormat.INTERNATIONAL
                if region == "US" and self.r.random() < 0.5:
                    fmt = phonenumbers.PhoneNumberFormat.NATIONAL
                return phonenumbers.format_number(num, fmt)

    def credit_card(self) -> str:
        prefix, length = self.r.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("6011", 16), ("37", 15)])
        body = prefix + self.digits(length - len(prefix) - 1)
        return body + str(_luhn_digit(body))

    def iban(self) -> str:
        country = self.r.choice(list(IBAN_FORMATS))
        bban = ""
        for m in re.finditer(r"([anc])(\d+)", IBAN_FORMATS[country]):
            alphabet = {"a": string.ascii_uppercase, "n": string.digits,
                        "c": string.ascii_uppercase + string.digits}[m.group(1)]
            bban += "".join(self.r.choice(alphabet) for _ in range(int(m.group(2))))
        check = 98 - int(_iban_number(bban + country + "00")) % 97
        return f"{country}{check:02d}{bban}"

    def us_ssn(self) -> str:
        while True:
            area = self.r.randint(1, 899)
            if area != 666:
                return f"{area:03d}-{self.r.randint(1, 99):02d}-{self.r.randint(1, 9999):04d}"

    def ip_address(self) -> str:
        first = self.r.choice([23, 51, 81, 91, 104, 141, 185, 203, 212])
        return f"{first}.{self.r.randint(0, 255)}.{self.r.randint(0, 255)}.{self.r.randint(1, 254)}"


def _luhn_digit(body: str) -> int:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


def _iban_number(s: str) -> str:
    return "".join(str(int(c, 36)) for c in s)


# --- obfuscation -----------------------------------------------------------------------------

_CYR = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "c": "\u0441", "x": "\u0445",
        "i": "\u0456", "y": "\u0443", "A": "\u0410", "E": "\u0415", "O": "\u041e", "P": "\u0420",
        "C": "\u0421", "K": "\u041a", "M": "\u041c", "T": "\u0422", "H": "\u041d", "B": "\u0412",
        "I": "\u0406", "S": "\u0405", "X": "\u0425"}
_FOLD = {v: k for k, v in _CYR.items()}
_SPLIT = ("split_spaces", "split_dashes")
NUMERIC = ("phone", "credit_card", "us_ssn", "ip_address")


def variants_for(kind: str) -> list[str]:
    out = ["plain", "plain", "zero_width", "fullwidth"]
    if kind in ("email", "person", "iban"):
        out.append("cyrillic")
    if kind in ("phone", "credit_card", "iban", "us_ssn"):
        out += list(_SPLIT)
    return out


def obfuscate(rng: random.Random, kind: str, value: str, how: str) -> str:
    if how == "plain":
        return value
    if how in ("zero_width", "fullwidth"):  # the same as the secrets corpus does it
        return obfuscate_secret(rng, value, how)
    if how == "cyrillic":
        swaps = [i for i, c in enumerate(value) if c in _CYR]
        chars = list(value)
        for i in rng.sample(swaps, min(2, len(swaps))):
            chars[i] = _CYR[chars[i]]
        return "".join(chars)
    sep = " " if how == "split_spaces" else "-"
    if kind == "us_ssn":
        return value.replace("-", sep)
    compact = re.sub(r"[^0-9A-Za-z+]", "", value)
    plus = compact.startswith("+")
    compact = compact.lstrip("+")
    size = 4 if kind in ("credit_card", "iban") else 3
    return ("+" if plus else "") + sep.join(compact[i:i + size] for i in range(0, len(compact), size))


# --- normal forms: what counts as the value reaching the upstream ---------------------------

def fold(text: str) -> str:
    """NFKC, invisible characters removed, Cyrillic/Greek look-alikes folded to Latin."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(_FOLD.get(c, c) for c in text if unicodedata.category(c) != "Cf")


def _runs(text: str, keep: str) -> str:
    """Keep characters of class ``keep``, drop separators inside a value, cut everything else."""
    out = []
    for c in text:
        if (c.isdigit() if keep == "digits" else c.isalnum()):
            out.append(c.upper())
        elif c in " -./()+\t":
            continue
        else:
            out.append("|")
    return "".join(out)


def normal_form(kind: str, text: str) -> str:
    text = fold(text)
    if kind in NUMERIC:
        return _runs(text, "digits")
    if kind == "iban":
        return _runs(text, "alnum")
    if kind in PII_KINDS:
        return text.casefold()
    return re.sub(r"[\s\-]", "", text)  # secrets: split groups joined again


def upstream_text(body: str) -> str:
    """Every string in the recorded JSON body, one per line (escapes decoded)."""
    out: list[str] = []

    def walk(x) -> None:
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, list):
            for y in x:
                walk(y)
        elif isinstance(x, dict):
            for k, y in x.items():
                out.append(k)
                walk(y)
    try:
        walk(json.loads(body))
    except ValueError:
        return body
    return "\n".join(out)


def leaked(kind: str, plain: str, upstream: str) -> bool:
    return normal_form(kind, plain) in normal_form(kind, upstream)


# --- prompts ---------------------------------------------------------------------------------

CONTEXT = {
    "email": ["write to {v}", "her email is {v}", "contact: {v}", "cc {v} on the reply"],
    "phone": ["call back on {v}", "phone {v}", "mobile: {v}", "reach him at {v}"],
    "credit_card": ["refund card {v}", "card number {v}", "charged to {v}", "the card ({v}) was declined"],
    "iban": ["IBAN {v}", "wire it to {v}", "account (IBAN): {v}"],
    "us_ssn": ["SSN {v}", "social security number {v}", "SSN: {v}"],
    "ip_address": ["logged in from {v}", "the request came from {v}", "client IP {v}"],
    "person": ["the customer {v} complained", "Dear {v},", "{v} wrote to support", "signed by {v}"],
}
OPENERS = ["Please draft a reply to this ticket.", "Summarise the case below for the team.",
           "Translate into German:", "Check this note for mistakes.", "Rewrite this politely."]


def pii_prompts(rng: random.Random, n: int) -> list[dict]:
    gen = Values(rng)
    prompts = []
    for i in range(n):
        items, parts = [], [rng.choice(OPENERS)]
        for kind in rng.sample(PII_KINDS, 4):
            plain = getattr(gen, kind)()
            how = rng.choice(variants_for(kind))
            sent = obfuscate(rng, kind, plain, how)
            parts.append(rng.choice(CONTEXT[kind]).replace("{v}", sent) + ";")
            items.append({"kind": kind, "how": how, "plain": plain, "sent": sent})
        prompts.append({"text": " ".join(parts), "items": items, "stream": i % 2 == 1})
    return prompts


SECRET_CONTEXT = ["Here is the key I'm using: {v} - why do I get a 401?", "export API_TOKEN={v}",
                  'token = "{v}"', "please debug this config:\nkey: {v}\nregion: eu-west-1"]


def secret_prompts(rng: random.Random, per_cell: int) -> list[dict]:
    gen = Gen(rng)
    prompts = []
    for how in ["plain", *OBFUSCATIONS]:
        for kind in OBFUSCATED_KINDS:
            for j in range(per_cell):
                plain = getattr(gen, kind)()
                while kind == "slack_token" and plain.startswith("https://"):
                    plain = gen.slack_token()
                sent = plain if how == "plain" else obfuscate_secret(rng, plain, how)
                text = rng.choice(SECRET_CONTEXT).replace("{v}", sent)
                prompts.append({"text": text, "items": [{"kind": kind, "how": how, "plain": plain, "sent": sent}],
                                "stream": j % 2 == 1})
    return prompts


# --- the gateway and the calls ---------------------------------------------------------------

class Gateway:
    """``wardgate serve`` as a subprocess with a throwaway data directory."""

    def __init__(self, upstream: str, workdir: Path) -> None:
        port = free_port()
        cfg = workdir / "wardgate.yaml"
        cfg.write_text(
            f"data_dir: {workdir / 'data'}\nserver:\n  port: {port}\n"
            f"upstream:\n  base_url: {upstream}\n  api_key_env: WG_BENCH_UPSTREAM_KEY\n"
            "auth:\n  static_keys:\n"
            f"    - id: bench\n      sha256: \"{hashlib.sha256(GW_KEY.encode()).hexdigest()}\"\n")
        env = os.environ | {"WG_BENCH_UPSTREAM_KEY": SIM_KEY, "WARDGATE_KEY_PEPPER": PEPPER}
        subprocess.run([sys.executable, "-m", "wardgate", "db", "upgrade", "--config", str(cfg)], env=env,
                       check=True, capture_output=True, timeout=60)
        self.url = f"http://127.0.0.1:{port}"
        self.log = (workdir / "gateway.log").open("wb")
        self.proc = subprocess.Popen([sys.executable, "-m", "wardgate", "serve", "--config", str(cfg)],
                                     env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited: {(workdir / 'gateway.log').read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=0.5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("gateway did not come up")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def call(client: httpx.Client, prompt: dict) -> tuple[int, str, str]:
    """(status, error code, the answer's text)."""
    body = {"model": MODEL, "max_tokens": 4096, "stream": prompt["stream"],
            "messages": [{"role": "user", "content": prompt["text"]}]}
    r = client.post("/v1/messages", json=body)
    if r.status_code != 200:
        return r.status_code, r.headers.get("wardgate-error-code", ""), r.text
    if not prompt["stream"]:
        return 200, "", "".join(b.get("text", "") for b in r.json()["content"])
    text = []
    for line in r.text.split("\n"):
        if line.startswith("data: "):
            ev = json.loads(line[6:])
            if ev.get("type") == "content_block_delta" and ev["delta"].get("type") == "text_delta":
                text.append(ev["delta"]["text"])
    return 200, "", "".join(text)


def run(n: int, seed: int, per_cell: int) -> dict:
    rng = random.Random(seed)
    prompts = pii_prompts(rng, n) + secret_prompts(rng, per_cell)
    leaks = defaultdict(lambda: [0, 0])            # (table, key) -> [leaked, total]
    restores = defaultdict(lambda: [0, 0])         # (mode, kind) -> [restored, total]
    blocks = defaultdict(lambda: [0, 0])           # (table, key) -> [blocked, total]
    whole = defaultdict(lambda: [0, 0])            # mode -> [answers == echo of the prompt, total]
    placeholders_left = defaultdict(int)
    misses: list[dict] = []
    started = time.perf_counter()
    with SimUpstream(api_key=SIM_KEY, piece_chars=3) as sim, tempfile.TemporaryDirectory() as tmp:
        gw = Gateway(sim.url, Path(tmp))
        try:
            headers = {"x-api-key": GW_KEY, "anthropic-version": "2023-06-01"}
            with httpx.Client(base_url=gw.url, headers=headers, timeout=30) as client:
                for prompt in prompts:
                    sim.state.requests.clear()
                    status, code, answer = call(client, prompt)
                    sent = [r for r in sim.state.requests if r["path"] == "/v1/messages"]
                    upstream = upstream_text(sent[-1]["body"]) if sent else ""
                    mode = "stream" if prompt["stream"] else "json"
                    secret = prompt["items"][0]["kind"] not in PII_KINDS
                    if secret:
                        item = prompt["items"][0]
                        ok = status == 400 and code == "dlp.secret_blocked"
                        for key in (("kind", item["kind"]), ("how", item["how"]), ("all", "all")):
                            blocks[key][0] += ok
                            blocks[key][1] += 1
                        if not ok:
                            leak = bool(sent) and leaked(item["kind"], item["plain"], upstream)
                            blocks[("unblocked_leaked", "all")][0] += leak
                            blocks[("unblocked_leaked", "all")][1] += 1
                            misses.append({"what": "secret not blocked", "kind": item["kind"], "how": item["how"],
                                           "status": status, "reached_upstream": leak, "sent": item["sent"]})
                        continue
                    if status != 200 or not sent:
                        misses.append({"what": f"PII prompt refused: {status} {code}", "text": prompt["text"]})
                        continue
                    whole[mode][1] += 1
                    whole[mode][0] += answer.endswith("You said: " + prompt["text"])
                    placeholders_left[mode] += bool(PLACEHOLDER.search(answer))
                    for item in prompt["items"]:
                        leak = leaked(item["kind"], item["plain"], upstream)
                        for key in (("kind", item["kind"]), ("how", item["how"]), ("all", "all")):
                            leaks[key][0] += leak
                            leaks[key][1] += 1
                        if leak:
                            misses.append({"what": "leaked", "mode": mode, **item})
                            continue
                        back = item["sent"] in answer
                        for key in ((mode, item["kind"]), (mode, "all")):
                            restores[key][0] += back
                            restores[key][1] += 1
                        if not back:
                            misses.append({"what": "not restored", "mode": mode, **item})
        finally:
            gw.stop()
    return {"seed": seed, "pii_prompts": n, "secret_prompts": len(prompts) - n,
            "seconds": round(time.perf_counter() - started, 1),
            "leaked": _table(leaks), "restored": _table(restores), "blocked": _table(blocks),
            "answers_equal_to_echo": {m: {"n": v[0], "of": v[1]} for m, v in whole.items()},
            "answers_with_placeholder": dict(placeholders_left), "misses": misses}


def _table(counts: dict) -> dict:
    out: dict = {}
    for (group, key), (hit, total) in sorted(counts.items()):
        out.setdefault(group, {})[key] = {"n": hit, "of": total, "rate": round(hit / total, 4) if total else None}
    return out


# --- report ----------------------------------------------------------------------------------

def _pct(cell: dict | None) -> str:
    if not cell or not cell["of"]:
        return "–"
    return f"{100 * cell['n'] / cell['of']:.1f}% ({cell['n']}/{cell['of']})"


def markdown(res: dict, show_misses: bool) -> str:
    lk, rs, bl = res["leaked"], res["restored"], res["blocked"]
    lines = [f"## DLP leak benchmark (seed {res['seed']}: {res['pii_prompts']} PII prompts, "
             f"{res['secret_prompts']} secret prompts, {res['seconds']} s)", "",
             "### 1. Personal data reaching the upstream (lower is better)", "",
             "| kind | leaked | | obfuscation | leaked |", "|---|---:|---|---|---:|"]
    kinds = list(lk.get("kind", {}))
    hows = list(lk.get("how", {}))
    for i in range(max(len(kinds), len(hows))):
        k = kinds[i] if i < len(kinds) else ""
        h = hows[i] if i < len(hows) else ""
        lines.append(f"| {k} | {_pct(lk['kind'].get(k))} | | {h} | {_pct(lk['how'].get(h))} |")
    lines.append(f"| **all** | **{_pct(lk.get('all', {}).get('all'))}** | | | |")
    lines += ["", "### 2. Pseudonymized values restored exactly in the caller's answer (higher is better)", "",
              "| kind | JSON | stream |", "|---|---:|---:|"]
    for k in [*PII_KINDS, "all"]:
        label = f"**{k}**" if k == "all" else k
        lines.append(f"| {label} | {_pct(rs.get('json', {}).get(k))} | {_pct(rs.get('stream', {}).get(k))} |")
    eq = res["answers_equal_to_echo"]
    left = res["answers_with_placeholder"]
    lines.append(f"| answer = exact echo of the prompt | {_pct(eq.get('json'))} | {_pct(eq.get('stream'))} |")
    lines.append(f"| answers still holding a placeholder | {left.get('json', 0)} | {left.get('stream', 0)} |")
    lines += ["", "### 3. Secret prompts blocked (higher is better)", "",
              "| kind | blocked | | obfuscation | blocked |", "|---|---:|---|---|---:|"]
    kinds, hows = list(bl.get("kind", {})), list(bl.get("how", {}))
    for i in range(max(len(kinds), len(hows))):
        k = kinds[i] if i < len(kinds) else ""
        h = hows[i] if i < len(hows) else ""
        lines.append(f"| {k} | {_pct(bl['kind'].get(k)) if k else ''} | | {h} | "
                     f"{_pct(bl['how'].get(h)) if h else ''} |")
    lines.append(f"| **all** | **{_pct(bl.get('all', {}).get('all'))}** | | | |")
    ub = bl.get("unblocked_leaked", {}).get("all")
    lines.append(f"\nUnblocked secrets that reached the upstream: {_pct(ub) if ub else 'none unblocked'}")
    if show_misses and res["misses"]:
        lines += ["", "### Misses", ""]
        lines += [f"- {json.dumps(m, ensure_ascii=True)}" for m in res["misses"]]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=300, help="PII prompts (default 300)")
    ap.add_argument("--secrets-per-cell", type=int, default=2,
                    help="secret prompts per kind and obfuscation (default 2: 132 prompts)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--misses", action="store_true", help="list every leaked, unrestored or unblocked value")
    args = ap.parse_args()
    res = run(args.n, args.seed, args.secrets_per_cell)
    if args.json:
        if not args.misses:
            res.pop("misses")
        print(json.dumps(res, indent=2, ensure_ascii=True))
    else:
        print(markdown(res, args.misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
