#!/usr/bin/env bash
# Data-protection benchmarks: Wardgate's scanner against Presidio's pattern recognizers.
#
#   bench/dlp/run.sh                 # quality (synthetic PII + secrets corpus), then speed
#   bench/dlp/run.sh --json          # the same, machine-readable (one JSON document per script)
#   bench/dlp/run.sh --misses        # also list every missed secret and false positive
#   SPEED_SECONDS=2 bench/dlp/run.sh # shorter timing runs (default 8 s per tool and size)
#
# A separate venv (bench/dlp/.venv, gitignored) holds Wardgate (editable) and presidio-analyzer,
# so Presidio's dependencies (spaCy among them) never enter the gateway's own venv.
# Presidio's pattern recognizers need no spaCy model: nothing here downloads one, and the
# scripts never build an AnalyzerEngine (which would try to load en_core_web_lg).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3.11}"

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --upgrade pip
fi
# The detectors import google-re2 and phonenumbers; named here too in case pyproject lags.
"$venv/bin/pip" install --quiet -e "$repo" "presidio-analyzer>=2.2.355" google-re2 phonenumbers

# Regenerate the secrets corpus and fail if it drifted from the committed file (it is seeded).
"$venv/bin/python" "$here/make_secrets.py" --check

# quality.py takes --json and --misses; speed.py takes --json and --seconds (SPEED_SECONDS).
json=()
for arg in "$@"; do
    if [[ "$arg" == --json ]]; then json=(--json); fi
done
"$venv/bin/python" "$here/quality.py" "$@"
"$venv/bin/python" "$here/speed.py" "${json[@]}" --seconds "${SPEED_SECONDS:-8}"
