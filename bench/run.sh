#!/usr/bin/env bash
# Benchmarks of the speed and memory targets, measured, never asserted in tests.
# One command runs, on each store (SQLite and PostgreSQL), with 32 connections:
#   - GET /v1/me (authentication only), the yardstick
#   - GET /v1/plans/{id}, a whole plan (5 steps, 3 readings; access check and audit included)
#   - POST /v1/plans/{id}/steps, a durable write
# and beside them the stores' own durable-commit ceilings:
#   - SQLite: WAL + synchronous=FULL, one insert per commit, one thread (python3)
#   - PostgreSQL: one insert per commit with pgbench, 1 client and 32 clients
# It prints requests/s, p50/p99/max and the same-run ratios, and the server's
# peak resident memory (VmHWM).
#
# usage: bench/run.sh [seconds-per-run] [sqlite|postgres|both] [--scale]
#   BENCH_PG_URL  PostgreSQL server (default postgres://postgres@127.0.0.1:5432/test);
#                 each run creates and drops its own database there.
#   SAMPLAN_BIN   use this binary instead of building (cargo build --release -p samplan-api,
#                 into $CARGO_TARGET_DIR when set); either way the run uses a private copy.
#
# --scale (or BENCH_SCALE=1): instead of the loads above, GET /v1/plans/{id} on
# an empty store and on a store seeded by bench/seed.sh (100 000 participants,
# 1 000 000 steps, 10 000 000 audit events), in the same run: the p50 of each,
# and their ratio (goal: seeded p50 <= 1.5 x empty p50). Two plans per store,
# each 5 steps and 3 readings: "plan" as in the normal run (participant without
# consent) and "consented" (participant with an active consent naming two
# organisations, so the read also loads the consent's organisations).
#   BENCH_SEEDED_SQLITE  a seeded SQLite file to use (else one is seeded into a temporary directory: ~5 min, ~6 GB)
#   BENCH_SEEDED_PG      a seeded PostgreSQL database URL to use (else one is seeded and dropped: ~5 min, ~6 GB)
#   BENCH_SEED_SCALE     scale of a store seeded by the run (default 1; e.g. 0.01 to try the script quickly)
#   Each run adds its bench participants, plans and their audit events to a reused seeded store.
# Needs wrk (installed with apt-get when missing), python3, and pgbench for PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
SCALE_MODE="${BENCH_SCALE:-0}"
ARGS=()
for arg in "$@"; do
  if [ "$arg" = --scale ]; then SCALE_MODE=1; else ARGS+=("$arg"); fi
done
DURATION="${ARGS[0]:-10}"
STORES="${ARGS[1]:-both}"
CONNECTIONS=32
PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk" >&2
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
WORK=$(mktemp -d)
PID=
PG_DBS=()
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  for db in "${PG_DBS[@]}"; do
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
BIN=$(samplan_bin "$WORK")

# new_pg_db NAME: creates database NAME on the PostgreSQL server (dropped on exit).
new_pg_db() {
  psql "$PG_URL" -qc "CREATE DATABASE \"$1\"" >/dev/null
  PG_DBS+=("$1")
}

# Starts samplan on the given database URL (empty: SQLite in $WORK) and seeds one plan.
start() {
  local url=$1
  PORT=$(free_port)
  rm -rf "$WORK/data"
  SAMPLAN_DATA_DIR="$WORK/data" SAMPLAN_BIND="127.0.0.1:$PORT" SAMPLAN_DATABASE_URL="$url" \
    SAMPLAN_JWT_SECRET="$BENCH_JWT_SECRET" RUST_LOG=warn "$BIN" &
  PID=$!
  S="http://127.0.0.1:$PORT"
  wait_ready "$S" "$PID" 600 || { echo "bench: samplan did not come up on $url" >&2; exit 1; }
  TOKEN=$(SAMPLAN_JWT_SECRET="$BENCH_JWT_SECRET" "$BIN" token --org vasteras-kommun --agency municipality --role case_worker)
  AUTH="Authorization: Bearer $TOKEN"
  PLAN=$(new_plan)
}

# new_plan [consent]: a participant (a fresh personnummer, so a reused seeded store takes it too)
# with a plan of 5 steps and 3 readings; with "consent", the participant also has an active
# consent naming vasteras-kommun and af-vasteras. Prints the plan's id.
new_plan() {
  local p plan
  p=$(curl -s "$S/v1/participants" -H "$AUTH" -H 'Content-Type: application/json' \
    -d "{\"personal_identity_number\": \"$(random_pin)\", \"name\": \"Anna Andersson\"}" | json_id)
  if [ "${1:-}" = consent ]; then
    curl -sf -o /dev/null "$S/v1/participants/$p/consents" -H "$AUTH" -H 'Content-Type: application/json' \
      -d "{\"organisations\": [\"vasteras-kommun\", \"af-vasteras\"], \"purpose\": \"samordnad rehabilitering\", \"valid_from\": \"$(date -u -d '-30 days' +%F)\", \"valid_until\": \"$(date -u -d '+1 year' +%F)\"}"
  fi
  plan=$(curl -s "$S/v1/plans" -H "$AUTH" -H 'Content-Type: application/json' -d "{\"participant_id\": \"$p\"}" | json_id)
  for i in 1 2 3 4 5; do
    curl -s -o /dev/null "$S/v1/plans/$plan/steps" -H "$AUTH" -H 'Content-Type: application/json' \
      -d "{\"description\": \"steg $i\", \"owner\": \"participant\"}"
  done
  for i in 1 2 3; do
    curl -s -o /dev/null "$S/v1/plans/$plan/scale-readings" -H "$AUTH" -H 'Content-Type: application/json' \
      -d "{\"value\": $((i + 3)), \"why_not_lower\": \"x\", \"one_step_up\": \"y\"}"
  done
  echo "$plan"
}

stop() {
  echo "  peak resident memory: $(( $(awk '/VmHWM/ {print $2}' /proc/$PID/status) / 1024 )) MB"
  kill "$PID"; wait "$PID" 2>/dev/null || true; PID=
}

cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"description": "bench step", "owner": "participant"}'
LUA

# wrk's latency in ms, from "1.23ms", "456.00us" or "1.20s".
to_ms() { awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v*=1000 } printf "%.1f", v }' <<<"$1"; }

# run STORE NAME PATH [wrk args]: one load, one result line, rps kept for ratios.
run() {
  local store=$1 name=$2 path=$3; shift 3
  local out rps p50 p99 max errors
  out=$(wrk -t2 -c$CONNECTIONS -d"${DURATION}s" --latency -H "$AUTH" "$@" "$S$path")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '/ 50%/ {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '/ 99%/ {print $2}' <<<"$out")")
  max=$(to_ms "$(awk '/Latency/ && !/Distribution/ {print $4; exit}' <<<"$out")")
  errors=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ' || true)
  printf '  %-16s %9s req/s   p50 %7s ms   p99 %7s ms   max %8s ms   %s\n' "$name" "$rps" "$p50" "$p99" "$max" "$errors"
  echo "$rps" > "$WORK/$store-$name.rps"
  echo "$p50" > "$WORK/$store-$name.p50"
}

bench_store() {
  local store=$1 url=$2
  echo "$store:"
  start "$url"
  run "$store" me /v1/me
  run "$store" plan "/v1/plans/$PLAN"
  local before after
  before=$(store_counters)
  run "$store" write "/v1/plans/$PLAN/steps" -s "$WORK/post.lua"
  after=$(store_counters)
  # SQLite's one writer: the writes that shared each commit during the write load.
  python3 -c 'import sys; w0, c0, w1, c1 = map(float, sys.argv[1:5]); print(f"  writes per commit during the write load: {(w1 - w0) / (c1 - c0):.1f}" if c1 > c0 else "  writes per commit: (each write commits on its own: PostgreSQL)")' $before $after
  stop
}

# samplan_store_writes_total and samplan_store_commits_total from /metrics.
store_counters() {
  curl -s "$S/metrics" | awk '/^samplan_store_writes_total/ {w=$2} /^samplan_store_commits_total/ {c=$2} END {print w+0, c+0}'
}

# The two plan reads of the scale mode, after 2 s of warm-up (the same on both stores).
scale_loads() {
  local store=$1 which=$2 consented
  consented=$(new_plan consent)
  wrk -t2 -c$CONNECTIONS -d2s -H "$AUTH" "$S/v1/plans/$PLAN" >/dev/null
  run "$store" "plan-$which" "/v1/plans/$PLAN"
  run "$store" "consented-$which" "/v1/plans/$consented"
}

# bench_scale STORE EMPTY_URL SEEDED_URL
bench_scale() {
  local store=$1 empty_url=$2 seeded_url=$3
  echo "$store, empty store:"
  start "$empty_url"
  scale_loads "$store" empty
  stop
  echo "$store, seeded store:"
  start "$seeded_url"
  scale_loads "$store" seeded
  stop
}

scale_report() {
  python3 - "$WORK" <<'PY'
import os, sys
work = sys.argv[1]
def read(name):
    try:
        return float(open(os.path.join(work, name)).read())
    except (OSError, ValueError):
        return None
print("GET /v1/plans/{id} p50, seeded store / empty store (goal: <= 1.5):")
for store in ("sqlite", "postgres"):
    for plan in ("plan", "consented"):
        empty, seeded = read(f"{store}-{plan}-empty.p50"), read(f"{store}-{plan}-seeded.p50")
        if empty and seeded:
            verdict = "meets the goal" if seeded <= 1.5 * empty else "MISSES the goal"
            print(f"  {store:9} {plan:10} empty {empty:6.1f} ms   seeded {seeded:6.1f} ms   ratio {seeded / empty:5.2f}   {verdict}")
PY
}

if [ "$SCALE_MODE" = 1 ]; then
  echo "samplan bench --scale: $CONNECTIONS connections, ${DURATION}s per run, $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  case "$STORES" in sqlite | both)
    seeded="${BENCH_SEEDED_SQLITE:-}"
    if [ -z "$seeded" ]; then
      seeded="$WORK/seeded.db"
      echo "sqlite: seeding $seeded (BENCH_SEEDED_SQLITE=file reuses one)" >&2
      SAMPLAN_BIN="$BIN" bench/seed.sh sqlite "$seeded" "${BENCH_SEED_SCALE:-1}" >&2
    fi
    bench_scale sqlite "" "sqlite://$(realpath "$seeded")?mode=rw"
    ;;
  esac
  if [ "$STORES" = postgres ] || [ "$STORES" = both ]; then
    if pg_isready -q -d "$PG_URL" 2>/dev/null; then
      new_pg_db "samplan_bench_$$"
      seeded="${BENCH_SEEDED_PG:-}"
      if [ -z "$seeded" ]; then
        new_pg_db "samplan_scale_$$"
        seeded="${PG_URL%/*}/samplan_scale_$$"
        echo "postgres: seeding $seeded (BENCH_SEEDED_PG=url reuses one)" >&2
        SAMPLAN_BIN="$BIN" bench/seed.sh postgres "$seeded" "${BENCH_SEED_SCALE:-1}" >&2
      fi
      bench_scale postgres "${PG_URL%/*}/samplan_bench_$$" "$seeded"
    else
      echo "postgres: skipped ($PG_URL does not answer)"
    fi
  fi
  scale_report
  exit 0
fi

echo "samplan bench: $CONNECTIONS connections, ${DURATION}s per run, $(nproc) cores, $(uname -r)"
case "$STORES" in sqlite | both) bench_store sqlite "" ;; esac
if [ "$STORES" = postgres ] || [ "$STORES" = both ]; then
  if pg_isready -q -d "$PG_URL" 2>/dev/null; then
    PG_DB="samplan_bench_$$"
    new_pg_db "$PG_DB"
    bench_store postgres "${PG_URL%/*}/$PG_DB"
    # PostgreSQL's own ceiling: one insert per commit, in the same database.
    psql "${PG_URL%/*}/$PG_DB" -qc "CREATE TABLE bench_commit (id bigserial PRIMARY KEY, v text)" >/dev/null
    echo "INSERT INTO bench_commit (v) VALUES ('x');" > "$WORK/insert.sql"
    for clients in 1 $CONNECTIONS; do
      tps=$(pgbench -n -c "$clients" -j 2 -T "$(( DURATION < 5 ? DURATION : 5 ))" -f "$WORK/insert.sql" "${PG_URL%/*}/$PG_DB" 2>/dev/null \
        | awk '/^tps/ {print int($3)}')
      echo "$tps" > "$WORK/pg-commit-$clients.rps"
    done
  else
    echo "postgres: skipped ($PG_URL does not answer)"
  fi
fi

# SQLite's own ceiling: WAL, synchronous=FULL, one insert per commit, one thread.
python3 - "$WORK" "$DURATION" <<'PY'
import sqlite3, sys, time, os
work, duration = sys.argv[1], min(float(sys.argv[2]), 5)
db = sqlite3.connect(os.path.join(work, "baseline.db"), isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
n, end = 0, time.time() + duration
while time.time() < end:
    db.execute("BEGIN IMMEDIATE"); db.execute("INSERT INTO t (v) VALUES ('x')"); db.execute("COMMIT"); n += 1
open(os.path.join(work, "sqlite-commit.rps"), "w").write(str(n / duration))
PY

python3 - "$WORK" <<'PY'
import os, sys
work = sys.argv[1]
def rps(name):
    path = os.path.join(work, name + ".rps")
    try:
        return float(open(path).read())
    except (OSError, ValueError):
        return None
print("same-run ratios (targets: plan >= 50% of me; write >= 30% of me and >= 100% of the store's one-thread commit ceiling):")
ceilings = {"sqlite": ("bare SQLite one-insert commits", rps("sqlite-commit")),
            "postgres": ("pgbench one-insert commits, 1 client", rps("pg-commit-1"))}
for store in ("sqlite", "postgres"):
    me, plan, write = rps(f"{store}-me"), rps(f"{store}-plan"), rps(f"{store}-write")
    if not me:
        continue
    label, ceiling = ceilings[store]
    line = f"  {store:9} plan/me {plan / me:5.0%}   write/me {write / me:5.0%}"
    if ceiling:
        line += f"   write/ceiling {write / ceiling:5.0%} ({label}: {ceiling:.0f}/s)"
    print(line)
pg32 = rps(f"pg-commit-32")
if pg32:
    print(f"  pgbench one-insert commits, 32 clients (PostgreSQL's group-commit ceiling): {pg32:.0f}/s")
PY
