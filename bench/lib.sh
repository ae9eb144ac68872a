# Shared by the bench scripts (sourced, not run).
#
# samplan_bin DIR: builds the release binary (cargo build --release -p samplan-api,
# into $CARGO_TARGET_DIR when set) and copies it to DIR/samplan, so that a
# build from another checkout sharing the target directory cannot swap the
# binary in the middle of a run. SAMPLAN_BIN=path skips the build and uses
# that binary instead. Prints the path.
samplan_bin() {
  local dir=$1 target
  if [ -n "${SAMPLAN_BIN:-}" ]; then
    cp "$SAMPLAN_BIN" "$dir/samplan"
  else
    target="${CARGO_TARGET_DIR:-$PWD/target}"
    cargo build --release -q -p samplan-api >&2
    cp "$target/release/samplan" "$dir/samplan"
  fi
  echo "$dir/samplan"
}

# The development secret every bench script signs its tokens with.
BENCH_JWT_SECRET="bench-secret-bench-secret-bench-secret-0123"
# One server key for every node of a run (cursors, request fingerprints).
BENCH_SECRET_KEY="bench-server-key-bench-server-key-0123456789"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

json_id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

# wait_ready URL PID [tries]: 0 when /health/ready answers, 1 when PID died or time ran out.
wait_ready() {
  local url=$1 pid=$2 tries=${3:-150}
  for _ in $(seq 1 "$tries"); do
    curl -sf "$url/health/ready" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# A random valid personnummer born 2005–2008 (seed.py's are born 1950–2004),
# so a bench participant never collides with a seeded one or an earlier run's.
random_pin() {
  python3 - <<'PY'
import random, time
born = time.gmtime(random.randrange(1104537600, 1230681600))
nine = f"{born.tm_year % 100:02d}{born.tm_mon:02d}{born.tm_mday:02d}{random.randrange(1000):03d}"
total = sum((d // 10 + d % 10) for d in (int(c) * (2 - k % 2) for k, c in enumerate(nine)))
print(f"{born.tm_year // 100}{nine[:6]}-{nine[6:]}{(10 - total % 10) % 10}")
PY
}
