"""Detector speed: Wardgate's scanner against Presidio's pattern recognizers, same texts, same run.

    python bench/dlp/speed.py                 # Markdown
    python bench/dlp/speed.py --json
    python bench/dlp/speed.py --seconds 2     # time per tool and size (default 8)

Texts are built deterministically: "typical prompts" of 4 KB (English prose, a code snippet, a
JSON blob, a log excerpt, a few PII values: email, phone, card number, IP, a name), and 64 KB
documents made of sixteen different 4 KB prompts. Each tool is warmed up, then the tools take
turns in rounds (so drift hits all of them alike); every call is timed with perf_counter_ns.
Single process, one thread. Throughput is UTF-8 bytes scanned per second of scanning.

Tools: Wardgate with every built-in detector (secrets, PII, names, addresses); Wardgate limited to
the seven kinds Presidio's pattern recognizers cover; Presidio's seven recognizers for those kinds;
and Presidio without its PhoneRecognizer, which takes most of its time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time

import engines

SEED = 4096

_PROSE = [
    "I am preparing the quarterly review for the operations team and need help tightening the summary.",
    "The migration moved the billing service to the new cluster, but latency rose during the evening peak.",
    "Please rewrite the following paragraph so that it reads well for customers who are not engineers.",
    "We suspect the cache is evicting hot keys too early; the hit rate fell from 92% to 71% last week.",
    "Our support queue doubled after the release, mostly questions about the new invoice layout.",
    "Can you explain why the retry loop below can send the same request twice when the network is slow?",
    "The contract renewal is due in March, and legal wants a short list of the risks we accepted.",
    "Draft a polite reply to the vendor asking for the updated price list and the delivery schedule.",
    "The test suite takes eleven minutes on CI; most of it is spent starting the database containers.",
    "Summarise the incident timeline in five bullet points and suggest two follow-up actions.",
]
_PII = [
    "You can reach me at {first}.{last}@example.com or on +1 415-555-{n4}.",
    "The customer, {First} {Last}, paid with card 4111 1111 1111 1111 and asked for a refund.",
    "Forward the report to {first}.{last}@acme-corp.io before Friday.",
    "{First} {Last} called from (212) 555-{n4} about the delayed shipment.",
]
_FIRST = ["Maria", "James", "Aisha", "Chen", "Olivia", "Mateo", "Priya", "Lukas"]
_LAST = ["Garcia", "Smith", "Khan", "Wang", "Johnson", "Rossi", "Patel", "Muller"]
_CODE = '''```python
def {fn}(orders: list[dict], limit: int = {n}) -> list[dict]:
    """Return the most recent orders whose total exceeds the limit."""
    recent = sorted(orders, key=lambda o: o["created_at"], reverse=True)
    result = []
    for order in recent:
        if order["total"] > limit and order["status"] != "cancelled":
            result.append({{"id": order["id"], "total": order["total"]}})
    return result[:{k}]
```'''


def _json_blob(r: random.Random) -> str:
    items = [{"sku": f"SKU-{r.randint(10000, 99999)}", "qty": r.randint(1, 5),
              "price": round(r.uniform(3, 250), 2)} for _ in range(r.randint(3, 6))]
    doc = {"order_id": f"ord_{r.getrandbits(48):012x}", "created_at": "2026-11-20T10:12:03Z",
           "status": r.choice(["paid", "shipped", "pending"]), "items": items,
           "shipping": {"method": "express", "country": "US"}}
    return json.dumps(doc, indent=2)


def _log(r: random.Random) -> str:
    lines = []
    for i in range(r.randint(5, 9)):
        ip = f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
        lines.append(f"2026-11-20T10:{12 + i:02d}:{r.randint(0, 59):02d}Z INFO svc=api "
                     f"path=/v1/orders/{r.randint(1000, 9999)} status={r.choice([200, 200, 201, 404, 502])} "
                     f"dur={r.randint(3, 900)}ms client={ip}")
    return "\n".join(lines)


def prompt(r: random.Random, size: int = 4096) -> str:
    parts = []
    while sum(len(p) + 2 for p in parts) < size:
        pick = r.random()
        if pick < 0.45:
            parts.append(" ".join(r.sample(_PROSE, 3)))
        elif pick < 0.6:
            first, last = r.choice(_FIRST), r.choice(_LAST)
            parts.append(r.choice(_PII).format(first=first.lower(), last=last.lower(), First=first,
                                               Last=last, n4=f"{r.randint(0, 9999):04d}"))
        elif pick < 0.75:
            parts.append(_CODE.format(fn=r.choice(["top_orders", "large_recent", "filter_orders"]),
                                      n=r.randint(50, 500), k=r.randint(5, 20)))
        elif pick < 0.88:
            parts.append(_json_blob(r))
        else:
            parts.append(_log(r))
    return "\n\n".join(parts)[:size]


def corpora(n_small: int = 32, n_large: int = 8) -> dict[str, list[str]]:
    r = random.Random(SEED)
    small = [prompt(r) for _ in range(n_small)]
    large = ["\n\n".join(prompt(r) for _ in range(16))[:65536] for _ in range(n_large)]
    return {"4 KB": small, "64 KB": large}


def measure(tools: dict, texts: list[str], seconds: float, rounds: int = 5) -> dict:
    nbytes = [len(t.encode()) for t in texts]
    for fn in tools.values():                     # warm-up: every text once, then 0.3 s more
        for t in texts:
            fn(t)
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:
            fn(texts[0])
    lat = {name: [] for name in tools}
    scanned = dict.fromkeys(tools, 0)
    for _ in range(rounds):
        for name, fn in tools.items():
            budget_ns = int(seconds / rounds * 1e9)
            spent, i = 0, 0
            while spent < budget_ns or i < 5:
                t = texts[i % len(texts)]
                t0 = time.perf_counter_ns()
                fn(t)
                dt = time.perf_counter_ns() - t0
                lat[name].append(dt)
                scanned[name] += nbytes[i % len(texts)]
                spent += dt
                i += 1
    out = {}
    for name, xs in lat.items():
        xs.sort()
        total = sum(xs)
        out[name] = {"calls": len(xs), "mb_per_s": scanned[name] / total * 1e3,
                     "p50_ms": xs[len(xs) // 2] / 1e6, "p99_ms": xs[min(len(xs) - 1, int(len(xs) * 0.99))] / 1e6,
                     "mean_ms": total / len(xs) / 1e6}
    return out


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "presidio_analyzer": engines.presidio_version()}


def markdown(res: dict) -> str:
    m = res["machine"]
    out = [f"# DLP speed: {m['cpus']} cores, Python {m['python']}, {m['platform']}, "
           f"presidio-analyzer {m['presidio_analyzer']}", "",
           "Single process, one thread; each call timed with perf_counter_ns after a warm-up.", ""]
    base = "presidio (7 recognizers)"
    for size, block in res["sizes"].items():
        out += [f"## {size} texts", "", "| tool | calls | MB/s | p50 ms | p99 ms | Presidio p50 / this p50 |",
                "|---|---:|---:|---:|---:|---:|"]
        for name, v in block.items():
            ratio = block[base]["p50_ms"] / v["p50_ms"]
            out.append(f"| {name} | {v['calls']} | {v['mb_per_s']:.2f} | {v['p50_ms']:.3f} | "
                       f"{v['p99_ms']:.3f} | {ratio:.2f}x |")
        out.append("")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--seconds", type=float, default=8.0, help="timed seconds per tool and size")
    args = ap.parse_args()
    tools = {
        "wardgate (all detectors)": engines.wardgate(),
        "wardgate (same 7 kinds)": engines.wardgate(kinds=engines.PRESIDIO_KINDS),
        "presidio (7 recognizers)": engines.presidio(),
        # PhoneRecognizer (phonenumbers' matcher over 8 regions) is most of Presidio's time.
        "presidio (6, no phone)": engines.presidio(tuple(
            n for n in engines.PRESIDIO_RECOGNIZERS if n != "PhoneRecognizer")),
    }
    res = {"machine": machine(), "sizes": {size: measure(tools, texts, args.seconds)
                                           for size, texts in corpora().items()}}
    print(json.dumps(res, indent=2) if args.json else markdown(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
