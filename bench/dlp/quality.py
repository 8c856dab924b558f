"""Detection quality: Wardgate's scanner against Presidio's pattern recognizers, same scoring.

    python bench/dlp/quality.py              # Markdown tables
    python bench/dlp/quality.py --json       # one JSON document
    python bench/dlp/quality.py --misses     # also list missed secrets and false positives

PII: presidio-research's synth_dataset_v2.json (1,500 synthetic sentences). A prediction is a
true positive if it overlaps a gold span of the same type; precision is over predictions of
that type, recall over gold spans, F2 = 5PR / (4P + R). Reported for all rows and for the two
halves by template_id parity (even: development, odd: held-out).

Secrets: tests/data/secrets.jsonl. A positive is found if any finding of a secret kind
overlaps its value ("found"); "same kind" also needs the finding's kind to be the row's.
A negative is a false positive if any finding of a secret kind lands in it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import engines

ROOT = Path(__file__).resolve().parents[2]
DATASET = Path("/work/shared/datasets/presidio-research/synth_dataset_v2.json")
SECRETS = ROOT / "tests" / "data" / "secrets.jsonl"
KINDS = tuple(engines.DATASET_TO_KIND.values())
SPLITS = {"all": lambda tid: True, "dev (even template_id)": lambda tid: tid % 2 == 0,
          "held-out (odd template_id)": lambda tid: tid % 2 == 1}


def _overlaps(a: tuple, b: tuple) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def _prf(tp: int, npred: int, found: int, ngold: int) -> dict:
    p = tp / npred if npred else None
    r = found / ngold if ngold else None
    f2 = 5 * p * r / (4 * p + r) if p is not None and r is not None and (p or r) else (
        0.0 if p is not None and r is not None else None)
    return {"precision": p, "recall": r, "f2": f2, "predictions": npred, "gold": ngold,
            "tp_predictions": tp, "gold_found": found}


def score_pii(rows: list[dict], preds: list[list[tuple]], kinds: tuple[str, ...]) -> dict:
    counts = {k: [0, 0, 0, 0] for k in kinds}  # tp predictions, predictions, gold found, gold
    for row, pred in zip(rows, preds):
        gold = [(engines.DATASET_TO_KIND[s["entity_type"]], s["start_position"], s["end_position"])
                for s in row["spans"] if s["entity_type"] in engines.DATASET_TO_KIND]
        for p in pred:
            if p[0] in counts:
                counts[p[0]][1] += 1
                counts[p[0]][0] += any(g[0] == p[0] and _overlaps(g, p) for g in gold)
        for g in gold:
            if g[0] in counts:
                counts[g[0]][3] += 1
                counts[g[0]][2] += any(p[0] == g[0] and _overlaps(g, p) for p in pred)
    out = {k: _prf(*c) for k, c in counts.items()}
    pooled = [sum(counts[k][i] for k in engines.STRUCTURED if k in counts) for i in range(4)]
    out["structured overall"] = _prf(*pooled)
    return out


def run_pii(tools: dict) -> dict:
    rows = json.loads(DATASET.read_text(encoding="utf-8"))
    preds = {name: [fn(r["full_text"]) for r in rows] for name, (fn, _) in tools.items()}
    result = {}
    for split, keep in SPLITS.items():
        idx = [i for i, r in enumerate(rows) if keep(r["template_id"])]
        result[split] = {
            "rows": len(idx),
            **{name: score_pii([rows[i] for i in idx], [preds[name][i] for i in idx], kinds)
               for name, (_, kinds) in tools.items()},
        }
    return result


def _value_span(row: dict) -> tuple[str, int, int]:
    start = row["text"].index(row["value"])
    return (row["kind"], start, start + len(row["value"]))


def run_secrets(wardgate, presidio) -> dict:
    from wardgate.detectors.finding import category_of

    rows = [json.loads(line) for line in SECRETS.read_text(encoding="utf-8").splitlines()]
    by_kind = defaultdict(lambda: [0, 0, 0, 0])   # n, found, same kind, presidio overlap
    by_obf = defaultdict(lambda: [0, 0, 0, 0])
    by_why = defaultdict(lambda: [0, 0, 0])        # n, wardgate FP, presidio flagged
    misses, fps, wrong_kind = [], [], []
    for row in rows:
        found = [f for f in wardgate(row["text"]) if category_of(f[0]) == "secret"]
        pres = presidio(row["text"])
        if row["label"]:
            span = _value_span(row)
            hits = [f for f in found if _overlaps(f, span)]
            bucket = by_obf[row["obfuscated"]] if "obfuscated" in row else by_kind[row["kind"]]
            bucket[0] += 1
            bucket[1] += bool(hits)
            bucket[2] += any(f[0] == row["kind"] for f in hits)
            bucket[3] += any(_overlaps(p, span) for p in pres)
            if not hits:
                misses.append({"kind": row["kind"], "obfuscated": row.get("obfuscated"), "text": row["text"]})
            elif not any(f[0] == row["kind"] for f in hits):
                wrong_kind.append({"kind": row["kind"], "got": sorted({f[0] for f in hits}),
                                   "obfuscated": row.get("obfuscated"), "text": row["text"]})
        else:
            b = by_why[row["why"]]
            b[0] += 1
            b[1] += bool(found)
            b[2] += bool(pres)
            if found:
                fps.append({"why": row["why"], "text": row["text"],
                            "found": [(k, row["text"][s:e]) for k, s, e in found]})
    rate = lambda a, n: a / n if n else None  # noqa: E731
    return {
        "positives_by_kind": {k: {"n": n, "found": rate(f, n), "same_kind": rate(s, n), "presidio_any": rate(p, n)}
                              for k, (n, f, s, p) in by_kind.items()},
        "positives_by_obfuscation": {k: {"n": n, "found": rate(f, n), "same_kind": rate(s, n), "presidio_any": rate(p, n)}
                                     for k, (n, f, s, p) in by_obf.items()},
        "negatives_by_why": {k: {"n": n, "wardgate_fp": fp, "presidio_flagged": pf}
                             for k, (n, fp, pf) in by_why.items()},
        "misses": misses, "false_positives": fps, "wrong_kind": wrong_kind,
    }


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def markdown(res: dict, show_misses: bool) -> str:
    out = [f"# DLP quality (Wardgate vs Presidio {res['presidio_version']} pattern recognizers)", ""]
    for split, block in res["pii"].items():
        out += [f"## PII, {split}: {block['rows']} rows", "",
                "| entity | gold | Wardgate P | R | F2 | Presidio P | R | F2 |",
                "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for kind in (*KINDS, "structured overall"):
            w = block["wardgate"][kind]
            p = block["presidio"].get(kind)
            pcols = " | ".join(_f(p[m]) for m in ("precision", "recall", "f2")) if p else "n/a (needs NER) | | "
            name = f"**{kind}**" if kind == "structured overall" else kind
            out.append(f"| {name} | {w['gold']} | {_f(w['precision'])} | {_f(w['recall'])} | "
                       f"{_f(w['f2'])} | {pcols} |")
        out.append("")
    s = res["secrets"]
    out += ["## Secrets: recall on tests/data/secrets.jsonl (plain positives)", "",
            "| kind | n | found (any secret kind) | same kind | Presidio overlaps (any entity) |",
            "|---|---:|---:|---:|---:|"]
    for kind, v in s["positives_by_kind"].items():
        out.append(f"| {kind} | {v['n']} | {_pct(v['found'])} | {_pct(v['same_kind'])} | {_pct(v['presidio_any'])} |")
    tot = [sum(v["n"] * (v[m] or 0) for v in s["positives_by_kind"].values()) for m in ("found", "same_kind")]
    n = sum(v["n"] for v in s["positives_by_kind"].values())
    out += [f"| **all** | {n} | {_pct(tot[0] / n)} | {_pct(tot[1] / n)} | |", "",
            "## Secrets: obfuscated positives", "",
            "| obfuscation | n | found | same kind |", "|---|---:|---:|---:|"]
    for how, v in s["positives_by_obfuscation"].items():
        out.append(f"| {how} | {v['n']} | {_pct(v['found'])} | {_pct(v['same_kind'])} |")
    out += ["", "## Secrets: false positives on near-misses", "",
            "| why | n | Wardgate FP | Presidio flagged (any entity) |", "|---|---:|---:|---:|"]
    for why, v in s["negatives_by_why"].items():
        out.append(f"| {why} | {v['n']} | {v['wardgate_fp']} | {v['presidio_flagged']} |")
    nn = sum(v["n"] for v in s["negatives_by_why"].values())
    fp = sum(v["wardgate_fp"] for v in s["negatives_by_why"].values())
    out += [f"| **all** | {nn} | {fp} ({_pct(fp / nn)}) | |", "",
            "Presidio ships no recognizer for credentials or API keys; its column shows what its "
            f"generic recognizers ({', '.join(engines.PRESIDIO_GENERIC)}) happen to flag.", ""]
    if show_misses:
        for title, key in (("Missed secrets", "misses"), ("Found, but as another kind", "wrong_kind"),
                           ("False positives", "false_positives")):
            out += [f"## {title} ({len(s[key])})", ""]
            out += [f"- `{json.dumps(m, ensure_ascii=False)}`" for m in s[key]] + [""]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--misses", action="store_true", help="list each miss and false positive")
    args = ap.parse_args()
    wardgate, presidio = engines.wardgate(), engines.presidio()
    res = {
        "presidio_version": engines.presidio_version(),
        "pii": run_pii({"wardgate": (wardgate, KINDS), "presidio": (presidio, engines.PRESIDIO_KINDS)}),
        "secrets": run_secrets(wardgate, engines.presidio_generic()),
    }
    if args.json:
        if not args.misses:
            for key in ("misses", "false_positives", "wrong_kind"):
                res["secrets"].pop(key)
        print(json.dumps(res, indent=2, ensure_ascii=False))
    else:
        print(markdown(res, args.misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
