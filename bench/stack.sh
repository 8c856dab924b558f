#!/usr/bin/env bash
# Measure the stack choices side by side with the shared harness (one short run per variant):
# the real Wardgate app under uvloop/asyncio x httptools/h11, and a bare relay with the
# aiohttp or the httpx client. Results: bench/results/stack-*.md
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HARNESS="${HARNESS:-$ROOT/../shared/bench}"
export DURATION="${DURATION:-5}" REPEATS="${REPEATS:-1}" WARMUP="${WARMUP:-2}" TTFT_N="${TTFT_N:-0}"
export CONCURRENCY="${CONCURRENCY:-1 64}"
PY="$ROOT/.venv/bin/python"
"$PY" -c 'import httpx' 2>/dev/null || "$ROOT/.venv/bin/pip" install -q httpx
OUT="$ROOT/bench/results/stack-$(date +%Y%m%d-%H%M%S).md"
mkdir -p "$ROOT/bench/results"
echo "| variant | json req/s c=64 | stream req/s c=64 | json p50 c=1 ms | stream p50 c=1 ms |" > "$OUT"
echo "|---|---:|---:|---:|---:|" >> "$OUT"
WANT="${*:-shipped asyncio h11 aiohttp httpx}"   # a subset: bench/stack.sh shipped asyncio
run() {  # key, name, stack_serve args
  local key="$1" name="$2"; shift 2
  case " $WANT " in *" $key "*) ;; *) return 0;; esac
  local dir; dir="$(mktemp -d)"
  GATEWAY_CMD="cd '$ROOT' && WG_BENCH_UPSTREAM_KEY=sk-ant-bench WG_BENCH_GATEWAY_KEY=wg-bench-key exec '$PY' bench/stack_serve.py $* --port 18300" \
  GATEWAY_URL=http://127.0.0.1:18300 GATEWAY_KEY=wg-bench-key GATEWAY_DESC="$name" OUT_DIR="$dir" \
    "$HARNESS/run_all.sh" custom >/dev/null 2>&1 || true
  "$PY" - "$name" "$dir" >> "$OUT" <<'PYEOF'
import glob, json, sys
name, d = sys.argv[1], sys.argv[2]
def cell(mode, c):  # mean over repeats
    cells = [json.load(open(f)) for f in glob.glob(f"{d}/results-*/cell-custom-{mode}-c{c}-r*.json")]
    if not cells:
        return {}
    return {"ok_rps": sum(x["ok_rps"] for x in cells) / len(cells),
            "lat_ms": {"p50": sum(x["lat_ms"]["p50"] for x in cells) / len(cells)}}
def rps(x):
    return f"{x['ok_rps']:.0f}" if x else "n/a"
def p50(x):
    return f"{x['lat_ms']['p50']:.2f}" if x else "n/a"
j64, s64, j1, s1 = cell("json", 64), cell("stream", 64), cell("json", 1), cell("stream", 1)
print(f"| {name} | {rps(j64)} | {rps(s64)} | {p50(j1)} | {p50(s1)} |")
PYEOF
}
run shipped "wardgate, uvloop + httptools (shipped)" wardgate --loop uvloop --http httptools
run asyncio "wardgate, asyncio + httptools" wardgate --loop asyncio --http httptools
run h11 "wardgate, uvloop + h11" wardgate --loop uvloop --http h11
run aiohttp "bare relay, aiohttp client" relay --client aiohttp
run httpx "bare relay, httpx client" relay --client httpx
cat "$OUT"
