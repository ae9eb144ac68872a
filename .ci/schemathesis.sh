#!/usr/bin/env bash
# CI: the spec is the truth. Runs schemathesis against the release server's
# own /openapi.json with every check (see schemathesis.toml) and the examples, coverage, fuzzing and
# stateful phases, bounded in time; any failure fails the step.
#
# usage: .ci/schemathesis.sh path/to/release/samplan [extra schemathesis run options]
#   SCHEMATHESIS_MAX_TIME     time budget of the schemathesis run, seconds (default 180)
#   SCHEMATHESIS_MAX_EXAMPLES test cases per operation and phase (default 50)
#   SCHEMATHESIS_SEED         a seed, to reproduce a run (default: random)
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5

HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:?usage: $0 path/to/release/samplan}
[ -x "$BIN" ] || { echo "schemathesis: $BIN is not an executable" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
MAX_TIME=${SCHEMATHESIS_MAX_TIME:-180}
MAX_EXAMPLES=${SCHEMATHESIS_MAX_EXAMPLES:-50}

if [ "$(schemathesis --version 2>/dev/null || true)" != "schemathesis, version $SCHEMATHESIS_VERSION" ]; then
  pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SAMPLAN_DATA_DIR="$WORK/data"
export SAMPLAN_JWT_SECRET=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
export SAMPLAN_BIND="127.0.0.1:$PORT"
export RUST_LOG=${RUST_LOG:-warn}
unset SAMPLAN_DATABASE_URL SAMPLAN_JWT_PUBLIC_KEYS SAMPLAN_TRUST SAMPLAN_JWT_ISSUER SAMPLAN_JWT_AUDIENCE

"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 100); do
  curl -fs "$BASE/health/ready" >/dev/null 2>&1 && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; echo "schemathesis: the server did not start" >&2; exit 1; }
  sleep 0.1
done
curl -fs "$BASE/health/ready" >/dev/null || { cat "$WORK/server.log" >&2; echo "schemathesis: the server is not ready" >&2; exit 1; }

TOKEN=$("$BIN" token --org vasteras-kommun --agency municipality --role case_worker --ttl 1h)

SEED_ARGS=()
[ -n "${SCHEMATHESIS_SEED:-}" ] && SEED_ARGS=(--seed "$SCHEMATHESIS_SEED")

status=0
cd "$WORK" # schemathesis keeps its crash cache in the working directory
# One worker: schemathesis (hypothesis) on CPython 3.11 can trip over
# "AST constructor recursion depth mismatch" when two threads generate at once.
SCHEMATHESIS_HOOKS="$HERE/schemathesis_hooks.py" \
schemathesis --config-file "$HERE/schemathesis.toml" run "$BASE/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$MAX_EXAMPLES" \
  --max-time "$MAX_TIME" \
  --request-timeout 10 \
  --workers 1 \
  --generation-database none \
  --no-color \
  "${SEED_ARGS[@]}" "${@:2}" || status=$?

if [ "$status" -ne 0 ]; then
  echo "schemathesis: failures (exit $status); server log:" >&2
  tail -n 50 "$WORK/server.log" >&2
fi
exit "$status"
