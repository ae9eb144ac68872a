#!/usr/bin/env bash
# Query plans of the whole-plan read, the audit log reads and the change feed on
# seeded stores (bench/seed.sh), as Markdown on stdout (see bench/explain.py).
#
# usage: bench/explain.sh [--sqlite FILE] [--postgres URL]
#   defaults: bench-seeded.db when it exists, and postgres://postgres@127.0.0.1:5432/samplan_seeded when it exists.
#   The PostgreSQL statements are captured from the server's log (log_statement = all
#   on that database while the app runs; BENCH_PG_LOG=path when the log is elsewhere).
#   With only --sqlite, the capture runs on a scratch database seeded at scale 0.001.
# The app is started on each store in turn; it must not be running there already.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/.."
. "$HERE/lib.sh"
ARGS=("$@")
if [ ${#ARGS[@]} -eq 0 ]; then
  [ -f bench-seeded.db ] && ARGS+=(--sqlite bench-seeded.db)
  if [ "$(psql postgres://postgres@127.0.0.1:5432/postgres -XtAc "SELECT 1 FROM pg_database WHERE datname = 'samplan_seeded'" 2>/dev/null)" = 1 ]; then
    ARGS+=(--postgres postgres://postgres@127.0.0.1:5432/samplan_seeded)
  fi
  [ ${#ARGS[@]} -gt 0 ] || { echo "explain: no seeded store found; run bench/seed.sh first" >&2; exit 1; }
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
BIN=$(samplan_bin "$TMP")
python3 "$HERE/explain.py" --bin "$BIN" "${ARGS[@]}"
