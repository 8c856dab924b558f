"""Latency the dlp guard adds to one request: p50/p99 of its request hook (parts walked,
every part scanned, findings decided, values pseudonymized in the memory vault, the body
rewritten) and of restoring + output-scanning the echoed answer, for 4 KB prompts; and the
request hook for an agent request carrying 30 tool definitions.

    .venv/bin/python bench/dlp/latency.py [--seconds 5] [--json]

Same prompts as speed.py (prose, PII, code, JSON, logs). Single process, after a warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from speed import corpora  # noqa: E402

from wardgate.flow import Principal  # noqa: E402
from wardgate.guards.dlp import DlpGuard  # noqa: E402
from wardgate.settings import settings_from_dict  # noqa: E402
from wardgate.testing import make_flow  # noqa: E402


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


async def run(seconds: float) -> dict:
    guard = DlpGuard()
    guard.configure({}, settings_from_dict({}))
    texts = corpora()["4 KB"]
    bodies = [{"model": "claude-sonnet-5-5", "max_tokens": 256,
               "messages": [{"role": "user", "content": t}]} for t in texts]
    req, resp = [], []
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end or i < 2 * len(bodies):
        body = copy.deepcopy(bodies[i % len(bodies)])
        flow = make_flow(body)
        flow.principal = Principal(id="key_bench", workspace="bench", role="developer")
        t0 = time.perf_counter_ns()
        deny = await guard.on_request(flow)
        t1 = time.perf_counter_ns()
        assert deny is None, deny
        echoed = flow.body["messages"][0]["content"]
        flow.response_body = json.dumps({"type": "message", "role": "assistant", "content": [
            {"type": "text", "text": echoed}]}).encode()
        t2 = time.perf_counter_ns()
        await guard.on_response(flow)
        t3 = time.perf_counter_ns()
        if i >= len(bodies):  # the first pass is the warm-up
            req.append((t1 - t0) / 1e6)
            resp.append((t3 - t2) / 1e6)
        i += 1
    tools = [{"name": f"tool_{i}", "description": "Fetches the current status of an order from the order "
              "service and returns it as JSON with all fields.", "input_schema": {
                  "type": "object", "required": ["p0"], "properties": {
                      f"p{j}": {"type": "string", "description": "The identifier of the thing to look up"}
                      for j in range(5)}}} for i in range(30)]
    agent = {"model": "claude-sonnet-5-5", "max_tokens": 256, "tools": tools,
             "messages": [{"role": "user", "content": "What is the status of order 1234?"}]}
    with_tools = []
    for k in range(300):
        flow = make_flow(copy.deepcopy(agent))
        flow.principal = Principal(id="key_bench", workspace="bench", role="developer")
        t0 = time.perf_counter_ns()
        await guard.on_request(flow)
        if k >= 20:
            with_tools.append((time.perf_counter_ns() - t0) / 1e6)
    return {"requests": len(req), "prompt_bytes": 4096,
            "tools_request_ms": {"p50": statistics.median(with_tools), "p99": _pct(with_tools, 99),
                                 "max": max(with_tools)},
            "request_hook_ms": {"p50": statistics.median(req), "p99": _pct(req, 99), "max": max(req)},
            "answer_restore_ms": {"p50": statistics.median(resp), "p99": _pct(resp, 99), "max": max(resp)}}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = asyncio.run(run(args.seconds))
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"dlp guard, 4 KB prompts, {res['requests']} requests (2 cores, one process)\n")
    print("| hook | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|")
    for k, label in (("request_hook_ms", "request: scan + pseudonymize"),
                     ("answer_restore_ms", "answer: output scan + restore"),
                     ("tools_request_ms", "request with 30 tool definitions (961 strings)")):
        v = res[k]
        print(f"| {label} | {v['p50']:.3f} | {v['p99']:.3f} | {v['max']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
