#!/usr/bin/env bash
# Gateway overhead: Wardgate vs direct-to-upstream, with LiteLLM and Portkey beside it in the
# same run, using the shared harness (../shared/bench: wrk + nginx mock, all on 127.0.0.1).
#
#   bench/overhead.sh                      # direct + wardgate + the peers that are installed
#   PEERS="" bench/overhead.sh             # direct + wardgate only
#   DURATION=10 REPEATS=2 bench/overhead.sh   # harness knobs pass through (see its run_all.sh)
#   WG_VARIANT=bare|nodlp|accounting|limits bench/overhead.sh   # which Wardgate (default: accounting)
#
# Variants: `bare` is the foundation's chain (authn, shape, policy; limits and dlp off);
# `nodlp` is the default install without the dlp guard; `accounting` is the default install
# (the limits guard on, no limits configured: usage read from every response and written to
# the spend ledger; the dlp guard on: every request scanned, answers scanned and restored); `limits` adds limits and budgets on
# the Redis backend at every scope (key rpm+tpm+budget, user rpm+budget, workspace budget,
# global rpm+concurrency: 8 counters checked and reserved in one Lua script per request), set
# high enough never to refuse.
#
# Reports json and stream at concurrency 1/16/64: req/s, p50/p90/p99, added p50 vs direct,
# time to first token, gateway CPU per request and peak RSS. Results are copied to
# bench/results/. Peers are installed outside the repo as ../shared/bench/README.md shows.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HARNESS="${HARNESS:-$ROOT/../shared/bench}"
[ -x "$HARNESS/run_all.sh" ] || { echo "shared harness not found at $HARNESS" >&2; exit 2; }

if ! command -v wrk >/dev/null || [ ! -f /usr/lib/nginx/modules/ngx_http_lua_module.so ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light libnginx-mod-http-lua wrk
  else
    echo "needs: apt-get install nginx-light libnginx-mod-http-lua wrk" >&2; exit 2
  fi
fi
[ -x "$ROOT/.venv/bin/wardgate" ] || { python3 -m venv "$ROOT/.venv" && "$ROOT/.venv/bin/pip" install -q -e "$ROOT"; }

if [ -z "${PEERS+x}" ]; then
  PEERS=""
  [ -x /tmp/bench-peers/litellm/bin/litellm ] && PEERS="$PEERS litellm"
  [ -d /tmp/bench-peers/portkey-pinned/node_modules ] && PEERS="$PEERS portkey"
fi

PORT="${WARDGATE_BENCH_PORT:-18200}"
WG_VARIANT="${WG_VARIANT:-accounting}"
KEY_FLAGS=""
VARIANT_ENV=""
case "$WG_VARIANT" in
  bare) VARIANT_ENV="WARDGATE_GUARDS__LIMITS__MODE=off WARDGATE_GUARDS__DLP__MODE=off" ;;
  nodlp) VARIANT_ENV="WARDGATE_GUARDS__DLP__MODE=off" ;;
  accounting) ;;
  limits)
    KEY_FLAGS="--rpm 100000000 --tpm 1000000000000 --budget-usd 1000000 --budget-period month"
    VARIANT_ENV="WARDGATE_REDIS__URL=redis://127.0.0.1:6379/0 WARDGATE_LIMITS__REDIS_PREFIX=wgbench:$$: \
WARDGATE_ROLES__DEVELOPER__LIMITS__RPM=100000000 WARDGATE_ROLES__DEVELOPER__LIMITS__BUDGET_USD=1000000 \
WARDGATE_LIMITS__WORKSPACES__BENCH__BUDGET_USD=1000000 WARDGATE_LIMITS__GLOBAL__RPM=100000000 \
WARDGATE_LIMITS__GLOBAL__CONCURRENT=100000" ;;
  *) echo "WG_VARIANT: bare, nodlp, accounting or limits" >&2; exit 2 ;;
esac
# A real virtual key (workspace bench, role developer) in a fresh database: the benchmark runs the
# identity path callers use (checksum, cached key look-up, policy), not a static key.
DATA="$(mktemp -d /tmp/wardgate-bench-data.XXXXXX)"
PEPPER="bench-pepper-0123456789abcdefghijklmnop"
wg() { WARDGATE_KEY_PEPPER="$PEPPER" WARDGATE_DATA_DIR="$DATA" WG_BENCH_GATEWAY_KEY=unused \
       "$ROOT/.venv/bin/wardgate" "$@" --config "$ROOT/bench/wardgate.bench.yaml"; }
wg db upgrade >/dev/null
wg workspaces create bench >/dev/null
# shellcheck disable=SC2086
KEY="$(wg keys create --workspace bench --role developer --description benchmark $KEY_FLAGS --json |
       "$ROOT/.venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["key"])')"
export GATEWAY_CMD="cd '$ROOT' && $VARIANT_ENV WG_BENCH_UPSTREAM_KEY=sk-ant-bench WG_BENCH_GATEWAY_KEY=unused \
WARDGATE_KEY_PEPPER=$PEPPER WARDGATE_UPSTREAM__BASE_URL=\"\$MOCK_URL\" WARDGATE_DATA_DIR='$DATA' \
exec .venv/bin/wardgate serve --config bench/wardgate.bench.yaml --port $PORT"
export GATEWAY_URL="http://127.0.0.1:$PORT" GATEWAY_KEY="$KEY"
export GATEWAY_DESC="wardgate $("$ROOT/.venv/bin/wardgate" --version | cut -d' ' -f2): uvicorn+uvloop+httptools, aiohttp client, virtual key, variant $WG_VARIANT, JSON access log on"
export GATEWAY_VERSION_CMD="'$ROOT/.venv/bin/python' -c 'import wardgate,uvicorn,aiohttp;print(\"wardgate\",wardgate.__version__,\"uvicorn\",uvicorn.__version__,\"aiohttp\",aiohttp.__version__)'"
export OUT_DIR="${OUT_DIR:-/tmp/wardgate-bench}"

# shellcheck disable=SC2086
"$HARNESS/run_all.sh" direct custom $PEERS
latest="$(ls -t "$OUT_DIR"/results-*.md | head -n 1)"
mkdir -p "$ROOT/bench/results"
name="$(basename "$latest" .md)-$WG_VARIANT.md"
sed "s/| custom |/| wardgate-$WG_VARIANT |/g; s/^  custom /  wardgate-$WG_VARIANT /" "$latest" > "$ROOT/bench/results/$name"
echo "report: $ROOT/bench/results/$name"
