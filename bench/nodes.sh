#!/usr/bin/env bash
# Several samplan nodes on one PostgreSQL database (issue 11, "Done when").
#
# (a) Start race: two nodes started at the same moment (released together from
#     one FIFO) on an EMPTY database, NODES_RACE_TRIES times (default 3), each
#     on a fresh database. Reports for each node whether it came up, or how it
#     exited (today one is expected to die in the migration race:
#     duplicate key value violates unique constraint "pg_type_typname_nsp_index").
# (b) Writes: POST /v1/plans/{id}/steps with wrk, on a fresh database migrated
#     by node 1 before node 2 starts (so (b) runs whatever (a) found):
#       one node      32 connections on node 1 (node 2 running, idle)
#       two nodes     16 connections on each, both on the same plan
#       a plan each   16 connections on each, node 1 on plan 1, node 2 on plan 2
#     All in one association (vastmanland) and one organisation
#     (vasteras-kommun): every write appends to the same audit chain.
#     Prints req/s, p50/p99, non-2xx, the ratio two/one, the steps the store
#     holds against the writes wrk saw acknowledged, then stops both nodes
#     (SIGTERM, so they finish what they hold) and runs `samplan audit verify`.
#
# usage: bench/nodes.sh [seconds-per-load]      (default 10)
#   BENCH_PG_URL      PostgreSQL server (default postgres://postgres@127.0.0.1:5432/test);
#                     every database is created there and dropped at the end
#   NODES_RACE_TRIES  start-race attempts (default 3; 0 skips (a))
#   NODES_ROUNDS      repeat the three loads of (b) this many times (default 1) and compare
#                     their means: on a shared machine, load from others shifts between loads
#   NODES_KEEP_DB=1   keep the write database (its name is printed)
#   SAMPLAN_BIN       use this binary instead of building
# Exits non-zero only when the audit chain does not verify or a node of (b) does not start.
# On a 2-core machine the two nodes, PostgreSQL and wrk share the same CPUs:
# two nodes can only beat one where one node leaves the CPUs idle (waiting on locks).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION="${1:-10}"
PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
SERVER="${PG_URL%/*}"
TRIES="${NODES_RACE_TRIES:-3}"
ROUNDS="${NODES_ROUNDS:-1}"

command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }; }
pg_isready -q -d "$PG_URL" || { echo "nodes: $PG_URL does not answer" >&2; exit 1; }

WORK=$(mktemp -d)
PIDS=()
DBS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for db in "${DBS[@]}"; do
    psql "$PG_URL" -Xqc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
BIN=$(samplan_bin "$WORK")

new_db() {
  psql "$PG_URL" -Xqc "CREATE DATABASE \"$1\"" >/dev/null
  if [ "${NODES_KEEP_DB:-0}" != 1 ] || [ "${2:-}" != keep ]; then DBS+=("$1"); fi
}

# launch NAME URL PORT [GATE]: starts a node in the background (after GATE, a FIFO, opens when given);
# its pid goes to PIDS and $WORK/NAME.pid, its log to $WORK/NAME.log.
launch() {
  local name=$1 url=$2 port=$3 gate=${4:-}
  mkdir -p "$WORK/$name"
  (
    [ -n "$gate" ] && read -r _ < "$gate" || true
    exec env SAMPLAN_DATABASE_URL="$url" SAMPLAN_DATA_DIR="$WORK/$name" SAMPLAN_BIND="127.0.0.1:$port" \
      SAMPLAN_JWT_SECRET="$BENCH_JWT_SECRET" SAMPLAN_SECRET_KEY="$BENCH_SECRET_KEY" RUST_LOG=warn "$BIN"
  ) >"$WORK/$name.log" 2>&1 &
  echo $! > "$WORK/$name.pid"
  PIDS+=($!)
}

# stop_node NAME: SIGTERM, then wait for it to finish.
stop_node() {
  local pid
  pid=$(cat "$WORK/$1.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  wait "$pid" 2>/dev/null || true
}

echo "samplan nodes bench: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg), ${DURATION}s per load"

# ------------------------------------------------------------------ (a) start race
if [ "$TRIES" -gt 0 ]; then
  echo "(a) two nodes started at the same moment on an empty database, $TRIES tries:"
  both=0
  for try in $(seq 1 "$TRIES"); do
    db="samplan_nodes_race_$$_$try"
    new_db "$db"
    gate="$WORK/gate$try"
    mkfifo "$gate"
    p1=$(free_port); p2=$(free_port)
    launch "race$try-1" "$SERVER/$db" "$p1" "$gate"
    launch "race$try-2" "$SERVER/$db" "$p2" "$gate"
    sleep 0.2
    echo go > "$gate"  # opening the FIFO for writing releases both readers at once
    up=0
    line="  try $try:"
    for n in 1 2; do
      port=$([ $n = 1 ] && echo "$p1" || echo "$p2")
      pid=$(cat "$WORK/race$try-$n.pid")
      if wait_ready "http://127.0.0.1:$port" "$pid" 300; then
        line+=" node $n up;"
        up=$((up + 1))
      elif kill -0 "$pid" 2>/dev/null; then
        line+=" node $n still not ready after 30 s;"
      else
        wait "$pid" 2>/dev/null && code=0 || code=$?
        why=$(grep -v '^\s*$' "$WORK/race$try-$n.log" | tail -1 | cut -c1-220)
        line+=" node $n DIED (exit $code): $why;"
      fi
    done
    echo "$line"
    [ "$up" = 2 ] && both=$((both + 1))
    stop_node "race$try-1"; stop_node "race$try-2"
    psql "$PG_URL" -Xqc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
  done
  echo "  both nodes came up in $both of $TRIES tries"
fi

# ------------------------------------------------------------------ (b) writes
DB="samplan_nodes_$$"
new_db "$DB" keep
URL="$SERVER/$DB"
P1=$(free_port); P2=$(free_port)
launch node1 "$URL" "$P1"
wait_ready "http://127.0.0.1:$P1" "$(cat "$WORK/node1.pid")" 300 || { echo "nodes: node 1 did not start:"; tail -5 "$WORK/node1.log"; exit 1; }
launch node2 "$URL" "$P2"
wait_ready "http://127.0.0.1:$P2" "$(cat "$WORK/node2.pid")" 300 || { echo "nodes: node 2 did not start:"; tail -5 "$WORK/node2.log"; exit 1; }
S1="http://127.0.0.1:$P1"; S2="http://127.0.0.1:$P2"
TOKEN=$(SAMPLAN_JWT_SECRET="$BENCH_JWT_SECRET" SAMPLAN_DATA_DIR="$WORK/node1" "$BIN" token --org vasteras-kommun --agency municipality --role case_worker)
AUTH="Authorization: Bearer $TOKEN"
new_plan() {
  local p
  p=$(curl -sf "$S1/v1/participants" -H "$AUTH" -H 'Content-Type: application/json' \
    -d "{\"personal_identity_number\": \"$(random_pin)\", \"name\": \"Anna Andersson\"}" | json_id)
  curl -sf "$S1/v1/plans" -H "$AUTH" -H 'Content-Type: application/json' -d "{\"participant_id\": \"$p\"}" | json_id
}
PLAN1=$(new_plan); PLAN2=$(new_plan)
cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"description": "bench step", "owner": "participant"}'
LUA

to_ms() { awk '{ v=$1; if (v ~ /us$/) { sub(/us$/,"",v); v/=1000 } else if (v ~ /ms$/) { sub(/ms$/,"",v) } else if (v ~ /s$/) { sub(/s$/,"",v); v*=1000 } printf "%.1f", v }' <<<"$1"; }

# load FILE THREADS CONNECTIONS URL: one wrk, its output in FILE.
load() { wrk -t"$2" -c"$3" -d"${DURATION}s" --latency -H "$AUTH" -s "$WORK/post.lua" "$4" > "$1"; }

# summary NAME FILE...: req/s summed, requests and non-2xx summed, p50/p99 of each.
summary() {
  local name=$1; shift
  local rps=0 reqs=0 bad=0 lat=""
  for f in "$@"; do
    rps=$(awk -v a="$rps" '/Requests\/sec/ {printf "%.1f", a + $2}' "$f")
    reqs=$((reqs + $(awk '/requests in/ {print $1}' "$f")))
    bad=$((bad + $(awk '/Non-2xx/ {print $NF}' "$f" | tail -1 | grep -E '^[0-9]+$' || echo 0)))
    lat+=" p50 $(to_ms "$(awk '/ 50%/ {print $2}' "$f")") p99 $(to_ms "$(awk '/ 99%/ {print $2}' "$f")") ms;"
  done
  printf '  %-36s %9s req/s   %7d requests, %d non-2xx  %s\n' "$name" "$rps" "$reqs" "$bad" "$lat"
  echo "$rps" >> "$WORK/$name.rps"
  ACKED=$((ACKED + reqs - bad))
}

ACKED=0
echo "(b) POST /v1/plans/{id}/steps, one association, one organisation (database $DB):"
wrk -t2 -c32 -d2s -H "$AUTH" -s "$WORK/post.lua" "$S1/v1/plans/$PLAN1/steps" > "$WORK/warm.out"  # warm-up, counted below
ACKED=$(( $(awk '/requests in/ {print $1}' "$WORK/warm.out") - $(awk '/Non-2xx/ {print $NF}' "$WORK/warm.out" | grep -E '^[0-9]+$' || echo 0) ))
for round in $(seq 1 "$ROUNDS"); do
  [ "$ROUNDS" -gt 1 ] && echo "  round $round:"
  load "$WORK/one.out" 2 32 "$S1/v1/plans/$PLAN1/steps"
  summary "one node, 32 connections" "$WORK/one.out"
  load "$WORK/same1.out" 1 16 "$S1/v1/plans/$PLAN1/steps" & w1=$!
  load "$WORK/same2.out" 1 16 "$S2/v1/plans/$PLAN1/steps" & w2=$!
  wait "$w1" "$w2"
  summary "two nodes, 16 + 16, same plan" "$WORK/same1.out" "$WORK/same2.out"
  load "$WORK/each1.out" 1 16 "$S1/v1/plans/$PLAN1/steps" & w1=$!
  load "$WORK/each2.out" 1 16 "$S2/v1/plans/$PLAN2/steps" & w2=$!
  wait "$w1" "$w2"
  summary "two nodes, 16 + 16, a plan each" "$WORK/each1.out" "$WORK/each2.out"
done
python3 - "$WORK" <<'PY'
import os, sys
work = sys.argv[1]
def r(name):
    values = [float(v) for v in open(os.path.join(work, name + ".rps")).read().split()]
    return sum(values) / len(values)
one = r("one node, 32 connections")
same, each = r("two nodes, 16 + 16, same plan"), r("two nodes, 16 + 16, a plan each")
print(f"  mean req/s: one node {one:.0f}, two nodes same plan {same:.0f}, two nodes a plan each {each:.0f}")
print(f"  two nodes / one node: same plan {same / one:.2f}, a plan each {each / one:.2f}   (goal: > 1)")
PY
for n in 1 2; do
  port=$([ $n = 1 ] && echo "$P1" || echo "$P2")
  m=$(curl -s "http://127.0.0.1:$port/metrics" | grep -E '^samplan_[a-z_]*(batch|commit|sealed?)[a-z_]*' | head -5 || true)
  [ -n "$m" ] && echo "  node $n /metrics:" && sed 's/^/    /' <<<"$m"
done
stop_node node1; stop_node node2
held=$(psql "$URL" -XtAc "SELECT count(*) FROM plan_steps" 2>/dev/null || echo "?")
echo "  steps in the store: $held; acknowledged (2xx) as wrk counted them: $ACKED (the store may hold more: writes in flight when wrk stopped)"
if [[ "$held" =~ ^[0-9]+$ ]] && [ "$held" -lt "$ACKED" ]; then
  echo "  LOST WRITES: the store holds fewer steps than were acknowledged"
fi
echo "audit chain:"
if SAMPLAN_DATABASE_URL="$URL" SAMPLAN_DATA_DIR="$WORK/verify" SAMPLAN_JWT_SECRET="$BENCH_JWT_SECRET" \
    SAMPLAN_SECRET_KEY="$BENCH_SECRET_KEY" RUST_LOG=warn "$BIN" audit verify 2>&1 | sed 's/^/  /'; then
  status=0
else
  status=1
fi
[ "${NODES_KEEP_DB:-0}" = 1 ] && echo "kept database $URL"
exit $status
