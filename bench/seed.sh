#!/usr/bin/env bash
# Seeds a store at scale: 100 000 participants, 1 000 000 plan steps (with
# consents, resources, scale readings, meetings and the change feed) and
# 10 000 000 audit events forming a valid continuation of the association's
# hash chain (see bench/seed.py and bench/README.md).
#
# usage: bench/seed.sh sqlite   [FILE.db] [scale]   (default bench-seeded.db in the current directory)
#        bench/seed.sh postgres [URL]     [scale]   (default postgres://postgres@127.0.0.1:5432/samplan_seeded)
#
# Creates the file or database when missing and gives it the app's schema by
# running `samplan audit verify` once (which migrates). The app must not be
# running on the store while it is seeded. SEED_VERIFY=1 walks the audit
# chain afterwards with `samplan audit verify` (minutes at scale 1).
# Disk: about 5 GB per store at scale 1.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
cd "$HERE/.."
. "$HERE/lib.sh"
STORE=${1:?usage: bench/seed.sh sqlite|postgres [FILE|URL] [scale]}
SCALE=${3:-1}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
BIN=$(samplan_bin "$TMP")

case "$STORE" in
  sqlite)
    FILE=$(realpath -m "${2:-bench-seeded.db}")
    URL="sqlite://$FILE?mode=rwc"
    ;;
  postgres)
    URL=${2:-postgres://postgres@127.0.0.1:5432/samplan_seeded}
    DB=${URL##*/}; DB=${DB%%\?*}
    SERVER=${URL%/*}/postgres
    if [ "$(psql "$SERVER" -XtAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]; then
      psql "$SERVER" -Xqc "CREATE DATABASE \"$DB\""
      echo "seed: created database $DB" >&2
    fi
    ;;
  *) echo "usage: bench/seed.sh sqlite|postgres [FILE|URL] [scale]" >&2; exit 2 ;;
esac

run_samplan() {
  SAMPLAN_DATABASE_URL="$URL" SAMPLAN_DATA_DIR="$TMP/data" SAMPLAN_JWT_SECRET="$BENCH_JWT_SECRET" \
    SAMPLAN_SECRET_KEY="$BENCH_SECRET_KEY" RUST_LOG=warn "$BIN" "$@"
}

echo "seed: migrating $STORE store" >&2
run_samplan audit verify --assoc vastmanland >/dev/null
start=$(date +%s)
if [ "$STORE" = sqlite ]; then
  python3 "$HERE/seed.py" sqlite "$FILE" --scale "$SCALE"
  ls -la "$FILE" >&2
else
  python3 "$HERE/seed.py" postgres "$URL" --scale "$SCALE"
  psql "$URL" -XtAc "SELECT 'database size: ' || pg_size_pretty(pg_database_size(current_database()))" >&2
fi
echo "seed: $STORE seeded in $(( $(date +%s) - start )) s" >&2
if [ "${SEED_VERIFY:-0}" = 1 ]; then
  start=$(date +%s)
  run_samplan audit verify --assoc vastmanland
  echo "seed: chain verified in $(( $(date +%s) - start )) s" >&2
fi
