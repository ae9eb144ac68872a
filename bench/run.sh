#!/usr/bin/env bash
# Benchmarks of the targets in DEVELOPERS.md, measured, never asserted in tests:
#   - reading a whole plan (access check and audit included) vs GET /v1/me
#   - durable writes (POST steps) vs a bare one-row-per-commit SQLite insert loop
#   - p99 latency of reads and writes, resident memory
# Usage: bench/run.sh [seconds-per-run]   (needs wrk: apt-get install wrk; python3 for the baseline)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${1:-10}"
CONNECTIONS=32
command -v wrk >/dev/null || { echo "bench: install wrk (apt-get install -y wrk)" >&2; exit 1; }
cargo build --release -q
BIN=target/release/samplan
DATA=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export SAMPLAN_DATA_DIR="$DATA" SAMPLAN_BIND="127.0.0.1:$PORT" SAMPLAN_JWT_SECRET="bench-secret-bench-secret-bench-secret-0123" RUST_LOG=warn
"$BIN" & PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$DATA"' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/health/ready" >/dev/null && break; sleep 0.2; done
S="http://127.0.0.1:$PORT"
TOKEN=$("$BIN" token --org vasteras-kommun --agency municipality --role case_worker)
AUTH="Authorization: Bearer $TOKEN"
P=$(curl -s "$S/v1/participants" -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"personal_identity_number": "19811218-9876", "name": "Anna Andersson"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
PLAN=$(curl -s "$S/v1/plans" -H "$AUTH" -H 'Content-Type: application/json' -d "{\"participant_id\": \"$P\"}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for i in $(seq 1 10); do
  curl -s -o /dev/null "$S/v1/plans/$PLAN/steps" -H "$AUTH" -H 'Content-Type: application/json' -d "{\"description\": \"steg $i\", \"owner\": \"participant\"}"
  curl -s -o /dev/null "$S/v1/plans/$PLAN/scale-readings" -H "$AUTH" -H 'Content-Type: application/json' -d "{\"value\": $((i % 11)), \"why_not_lower\": \"x\", \"one_step_up\": \"y\"}"
done

cat > "$DATA/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"description": "bench step", "owner": "participant"}'
LUA

run() { # name, path, extra args
  local name=$1 path=$2; shift 2
  local out; out=$(wrk -t2 -c$CONNECTIONS -d"${DURATION}s" --latency -H "$AUTH" "$@" "$S$path")
  local rps; rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  local p99; p99=$(awk '/ 99%/ {print $2}' <<<"$out")
  local errors; errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ' || true)
  printf '%-28s %10s req/s   p99 %8s   %s\n' "$name" "$rps" "$p99" "$errors"
  echo "$rps" > "$DATA/$name.rps"
}

echo "samplan bench: $CONNECTIONS connections, ${DURATION}s per run, $(nproc) cores"
run me /v1/me
run plan "/v1/plans/$PLAN"
run write-step "/v1/plans/$PLAN/steps" -s "$DATA/post.lua"
echo "resident memory: $(( $(awk '/VmRSS/ {print $2}' /proc/$PID/status) / 1024 )) MB (VmHWM $(( $(awk '/VmHWM/ {print $2}' /proc/$PID/status) / 1024 )) MB)"
python3 - "$DATA" "$DURATION" <<'PY'
import sqlite3, sys, time, os
data, duration = sys.argv[1], float(sys.argv[2])
db = sqlite3.connect(os.path.join(data, "baseline.db"), isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
n, end = 0, time.time() + min(duration, 5)
while time.time() < end:
    db.execute("BEGIN IMMEDIATE"); db.execute("INSERT INTO t (v) VALUES ('x')"); db.execute("COMMIT"); n += 1
baseline = n / min(duration, 5)
rps = lambda name: float(open(os.path.join(data, name + ".rps")).read())
me, plan, write = rps("me"), rps("plan"), rps("write-step")
print(f"whole plan / me: {plan / me:.0%} (target >= 50%)")
print(f"bare SQLite one-row commits: {baseline:.0f}/s; durable step writes: {write:.0f}/s ({write / baseline:.0%} of it, target >= 100%)")
PY
