"""Quality and speed of the person-name and street-address detectors.

Usage: python bench/dlp/names_quality.py [DATASET] [--show-errors N]

DATASET defaults to shared/datasets/presidio-research/synth_dataset_v2.json. Rows are split by
template_id: even ids are the development half, odd ids the held-out half. A predicted span is a
true positive when it overlaps a gold span of the same type; recall counts gold spans that some
prediction overlaps. Also reported: the exact-boundary rate (gold spans predicted exactly), false
positives on a benign corpus with no names or addresses, and MB/s on ~4 KB English prompts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from wardgate.detectors.address import StreetAddressDetector
from wardgate.detectors.names import PersonNameDetector

DEFAULT_DATASET = Path(__file__).resolve().parents[3] / "shared/datasets/presidio-research/synth_dataset_v2.json"

BENIGN = [
    "Mark the file as read once you have reviewed it. Will this work? May we proceed tomorrow?",
    "Please summarise the attached quarterly report and list the three main risks for the board.",
    "The function returns None when the cache is empty; otherwise it yields each entry in order.",
    "Rose petals and Grace notes: a short guide to baroque ornamentation for beginners.",
    "Bill payment is due on the first Monday of June. Chase the invoice if it is late.",
    "In March the team moved the build to GitHub Actions and cut the runtime by half.",
    "5 Steps to success: plan, build, test, ship, learn. 3 Main points follow below.",
    "Upgrade to version 2.10.3 before Friday; 1 Street View layer is deprecated.",
    "The Long Island Rail Road runs east from Penn Station through Jamaica.",
    "White noise, Black Friday sales and Green energy were the top topics this week.",
    "Summer Sale: Save 20% on all Autumn Collection items until Sunday.",
    "Young people in New York and Los Angeles prefer public transit, the survey says.",
    "def parse(self, path: str) -> Config:\n    with open(path) as fh:\n        return Config.load(fh)\n",
    "class UserService:\n    def get_user(self, user_id: int) -> User | None:\n        return self.repo.find(user_id)\n",
    "import numpy as np\nfrom Django.db import models\nArray = np.zeros((3, 4))\nprint(Array.shape)\n",
    '{"status": "ok", "items": [{"id": 1, "Name": "Widget", "Price": 9.99}], "Page": 2}',
    '{"level": "INFO", "Message": "Cache Warmed", "Region": "us-east-1", "Duration": 1204}',
    "2024-05-01T12:00:01Z INFO Worker Started pid=4121 queue=Default",
    "2024-05-01T12:00:02Z WARN Retry Scheduled attempt=3 backoff=200ms",
    "ERROR Connection Refused while contacting Redis at 10.0.0.5:6379 (attempt 4 of 5)",
    "The Grand Canyon and Yellowstone are the most visited national parks in the United States.",
    "Apple and Microsoft reported earnings on Thursday; Amazon follows next week.",
    "Use Docker Compose to start Postgres, then run the migrations with Alembic.",
    "Section 4 Court rulings; Chapter 12 Drive systems; Table 3 Way points.",
    "Patient Safety Week starts in October. Customer Success Team Meeting at noon.",
    "Turn left at the second light, then continue for two miles along the river.",
    "The Lord of the Rings was written by an Oxford professor of English language.",
    "Pick a Sunny Day Theme for the Dashboard and save the Settings.",
    "We met at the Park Avenue Armory for the Spring Concert in April.",
    "Deploy 3 services to staging; 12 tests in Road Runner are flaky; see PR 4412 Part 2.",
    "Call me when you are free. This is fine. I am going to Python 3 soon. My name is on the list.",
    "Ship to production after review; deliver to QA by 5. Return to step 3 if it fails.",
]

ENGLISH_PROMPT = (
    "You are a helpful assistant. Please review the following pull request description and point "
    "out anything that looks risky. The change migrates the billing service from the legacy queue "
    "to the new event bus, adds retries with exponential backoff, and removes the old cron job that "
    "reconciled invoices every night. It also updates the README with instructions for running the "
    "integration tests locally with Docker Compose. Reviewers asked whether the retry policy could "
    "cause duplicate charges when the upstream payment provider times out but still processes the "
    "request. The author believes idempotency keys cover this case, but the tests do not exercise "
    "it yet. Summarise the risks in three bullet points and suggest one additional test. "
)


def score(rows, detector, kind: str) -> dict:
    pred_n = tp = gold_n = matched = exact = 0
    for row in rows:
        gold = [(s["start_position"], s["end_position"]) for s in row["spans"] if s["entity_type"] == kind]
        pred = [(s, e) for s, e, _ in detector.find(row["full_text"])]
        pred_n += len(pred)
        gold_n += len(gold)
        tp += sum(1 for p in pred if any(p[0] < g[1] and g[0] < p[1] for g in gold))
        matched += sum(1 for g in gold if any(p[0] < g[1] and g[0] < p[1] for p in pred))
        exact += sum(1 for g in gold if g in pred)
    p = tp / pred_n if pred_n else 0.0
    r = matched / gold_n if gold_n else 0.0
    f2 = 5 * p * r / (4 * p + r) if p + r else 0.0
    return {"gold": gold_n, "pred": pred_n, "P": p, "R": r, "F2": f2, "exact": exact / gold_n if gold_n else 0.0}


def errors(rows, detector, kind: str, limit: int) -> None:
    shown = 0
    for row in rows:
        text = row["full_text"]
        gold = [(s["start_position"], s["end_position"]) for s in row["spans"] if s["entity_type"] == kind]
        pred = [(s, e) for s, e, _ in detector.find(text)]
        fps = [text[s:e] for s, e in pred if not any(s < g[1] and g[0] < e for g in gold)]
        fns = [text[s:e] for s, e in gold if not any(p[0] < e and s < p[1] for p in pred)]
        if fps or fns:
            print(f"  FP={fps} FN={fns} | {text[:160]!r}")
            shown += 1
            if shown >= limit:
                return


def throughput(detector, text: str, rounds: int = 5, n: int = 500) -> float:
    """Best of ``rounds`` runs of ``n`` calls, in MB/s (the best run is the least disturbed)."""
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            detector.find(text)
        best = min(best, time.perf_counter() - t0)
    return n * len(text.encode()) / best / 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", default=str(DEFAULT_DATASET))
    ap.add_argument("--show-errors", type=int, default=0, help="print N error rows (dev split)")
    args = ap.parse_args()
    rows = json.loads(Path(args.dataset).read_text(encoding="utf-8"))
    splits = {
        "dev (even template_id)": [r for r in rows if r["template_id"] % 2 == 0],
        "held-out (odd)": [r for r in rows if r["template_id"] % 2 == 1],
    }
    detectors = {"PERSON": PersonNameDetector(), "STREET_ADDRESS": StreetAddressDetector()}
    print(f"{'type':<15} {'split':<24} {'gold':>5} {'pred':>5} {'P':>6} {'R':>6} {'F2':>6} {'exact':>6}")
    for kind, det in detectors.items():
        for name, split in splits.items():
            m = score(split, det, kind)
            print(f"{kind:<15} {name:<24} {m['gold']:>5} {m['pred']:>5} {m['P']:>6.3f} "
                  f"{m['R']:>6.3f} {m['F2']:>6.3f} {m['exact']:>6.3f}")
        if args.show_errors:
            errors(splits["dev (even template_id)"], det, kind, args.show_errors)
    prompt = (ENGLISH_PROMPT * 8)[:4096]
    for kind, det in detectors.items():
        fps = [(i, text[s:e]) for i, text in enumerate(BENIGN) for s, e, _ in det.find(text)]
        print(f"{kind:<15} benign corpus ({sum(map(len, BENIGN))} chars): {len(fps)} FP {fps}")
        print(f"{kind:<15} speed on 4 KB English prompt: {throughput(det, prompt):.0f} MB/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
