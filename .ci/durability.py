#!/usr/bin/env python3
"""Durability check of the real `samplan` binary on SQLite.

Usage: python3 .ci/durability.py target/release/samplan

1. Crash: 8 writer threads add steps to one plan; the server is killed with
   SIGKILL while writes are in flight. After a restart on the same data
   directory every step that was answered 201 must be in the plan, and
   `samplan audit verify` must pass.
2. Graceful stop: 20 reader threads read the plan; the server gets SIGTERM
   while reads are in flight. Every request sent before the signal must get
   a complete 200, the process must exit 0 within 35 s, the store must be
   closed (SQLite removes the WAL file when its last connection closes
   cleanly), and after another restart `samplan audit verify` must pass.

Exits non-zero with a message on failure (the failures of the graceful stop
are reported together). Python stdlib only. Keeps the data directory and
shows the end of the server log when it fails.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

SECRET = "durability-check-secret-0123456789abcdef"  # 40 bytes, fixed
WRITERS = 8
KILL_AFTER = 1.5  # seconds of load before SIGKILL
READERS = 20
READS_PER_READER = 8
READ_TIMEOUT = 60
EXIT_DEADLINE = 35


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The binary under test, with its environment and log."""

    def __init__(self, binary, data_dir):
        self.binary = binary
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SAMPLAN_")}
        self.env.update(
            SAMPLAN_DATA_DIR=data_dir,
            SAMPLAN_BIND=f"127.0.0.1:{self.port}",
            SAMPLAN_JWT_SECRET=SECRET,
            NO_COLOR="1",
        )
        self.log_path = os.path.join(data_dir, "server.log")
        self.proc = None
        self.starts = 0

    def start(self):
        self.starts += 1
        log = open(self.log_path, "a")
        log.write(f"\n===== start {self.starts} =====\n")
        log.flush()
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            check(self.proc.poll() is None, f"the server exited with {self.proc.returncode} while starting")
            try:
                with urllib.request.urlopen(self.base + "/health/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise Failure("GET /health/ready did not answer 200 within 60 s")

    def run(self, *args):
        """Runs `samplan ARGS` with the server's environment."""
        return subprocess.run([self.binary, *args], env=self.env, capture_output=True, text=True, timeout=120)

    def stop_hard(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, lines=30):
        """The end of the server log without the per-request lines of 2xx answers."""
        try:
            with open(self.log_path, errors="replace") as f:
                kept = [line for line in f if not (" request " in line and " status=2" in line)]
            return "".join(kept[-lines:])
        except OSError:
            return "(no log)"


def request(base, method, path, token, body=None, timeout=30):
    """One HTTP request on its own connection; returns (status, parsed JSON body)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def mint_token(server):
    result = server.run("token", "--org", "vasteras-kommun", "--agency", "municipality", "--role", "case_worker")
    check(result.returncode == 0, f"samplan token failed: {result.stderr.strip()}")
    return result.stdout.strip()


def audit_verify(server, when):
    result = server.run("audit", "verify")
    check(
        result.returncode == 0,
        f"samplan audit verify failed {when} (exit {result.returncode}): {result.stdout.strip()} {result.stderr.strip()}",
    )
    return result.stdout.strip()


def plan_step_ids(server, token, plan):
    status, plan_view = request(server.base, "GET", f"/v1/plans/{plan}", token, timeout=READ_TIMEOUT)
    check(status == 200, f"GET /v1/plans/{{id}} answered {status}: {plan_view}")
    return {step["id"] for step in plan_view["steps"]}


# ---------------------------------------------------------------- 1. SIGKILL under write load
def crash_under_load(server, token, plan):
    acknowledged = []  # step ids answered 201
    problems = []  # HTTP answers other than 201 (the API misbehaving)
    lock = threading.Lock()
    in_flight = [0]

    def writer(t):
        n = 0
        while True:  # until the server is gone
            n += 1
            with lock:
                in_flight[0] += 1
            try:
                status, view = request(
                    server.base, "POST", f"/v1/plans/{plan}/steps", token,
                    {"description": f"step {t}-{n}", "owner": "participant"},
                )
            except (OSError, http.client.HTTPException, ValueError):
                return  # connection refused/reset, or a cut-off answer: not acknowledged
            finally:
                with lock:
                    in_flight[0] -= 1
            if status == 201:
                with lock:
                    acknowledged.append(view["id"])
            else:
                with lock:
                    problems.append((status, str(view)[:300]))

    threads = [threading.Thread(target=writer, args=(t,), daemon=True) for t in range(WRITERS)]
    for thread in threads:
        thread.start()
    time.sleep(KILL_AFTER)
    with lock:
        acknowledged_before_kill = len(acknowledged)
        writes_in_flight = in_flight[0]
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()
    for thread in threads:
        thread.join(timeout=60)
        check(not thread.is_alive(), "a writer thread did not stop after the server was killed")
    check(server.proc.returncode == -signal.SIGKILL, f"the server was not killed by SIGKILL ({server.proc.returncode})")
    check(not problems, f"writes were answered other than 201 before the kill: {problems[:5]}")
    check(acknowledged_before_kill > 0, "no write was acknowledged before the kill")
    check(writes_in_flight > 0, "no write was in flight when the server was killed")
    check(len(set(acknowledged)) == len(acknowledged), "the same step id was answered twice")

    server.start()
    present = plan_step_ids(server, token, plan)
    missing = [i for i in acknowledged if i not in present]
    print(f"  acknowledged {len(acknowledged)}, present {len(set(acknowledged) & present)}"
          f" (writes in flight at SIGKILL: {writes_in_flight};"
          f" committed but unacknowledged: {len(present - set(acknowledged))})")
    check(not missing, f"{len(missing)} acknowledged steps are missing after the restart, e.g. {missing[:3]}")
    verified = audit_verify(server, "after SIGKILL and restart")
    print(f"  audit verify after SIGKILL: {verified}")
    return len(acknowledged), len(present)


# ---------------------------------------------------------------- 2. SIGTERM with reads in flight
def graceful_stop(server, token, plan, expected_steps):
    results = []  # (sent_at, done_at, outcome) per request
    lock = threading.Lock()
    go = threading.Barrier(READERS + 1)

    def reader():
        go.wait()
        for _ in range(READS_PER_READER):
            sent_at = None
            try:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=READ_TIMEOUT)
                conn.request("GET", f"/v1/plans/{plan}", headers={"Authorization": f"Bearer {token}"})
                sent_at = time.monotonic()  # the whole request is on the wire
                response = conn.getresponse()
                payload = response.read()
                conn.close()
                status = response.status
                complete = status == 200 and len(json.loads(payload)["steps"]) >= expected_steps
                outcome = "200" if complete else f"{status} (incomplete: {payload[:200]!r})"
            except (OSError, http.client.HTTPException, ValueError) as e:
                outcome = f"{type(e).__name__}: {e}"
            with lock:
                results.append((sent_at, time.monotonic(), outcome))
            if outcome != "200":
                return  # the server has stopped listening

    threads = [threading.Thread(target=reader, daemon=True) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    go.wait()
    # Wait until the first reads have been answered, so that the readers are
    # in their loop, then signal while the next ones are in flight.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with lock:
            if len(results) >= READERS:
                break
        time.sleep(0.005)
    signalled_at = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    try:
        code = server.proc.wait(timeout=EXIT_DEADLINE)
    except subprocess.TimeoutExpired:
        raise Failure(f"the server did not exit within {EXIT_DEADLINE} s of SIGTERM")
    exited_after = time.monotonic() - signalled_at
    for thread in threads:
        thread.join(timeout=READ_TIMEOUT)
        check(not thread.is_alive(), "a reader thread hangs after the server exited")
    check(code == 0, f"the server exited with {code} after SIGTERM, not 0")

    before = [r for r in results if r[0] is not None and r[0] < signalled_at]
    in_flight = [r for r in before if r[1] >= signalled_at]
    broken = [r[2] for r in before if r[2] != "200"]
    after = [r for r in results if r[0] is None or r[0] >= signalled_at]
    print(f"  requests sent before SIGTERM {len(before)} (in flight at the signal {len(in_flight)}),"
          f" answered 200 {len(before) - len(broken)}; attempted after it {len(after)};"
          f" exit code {code} after {exited_after:.2f} s")
    # Checked after the restart below, so that one run reports everything.
    failures = []
    if broken:
        failures.append(f"{len(broken)} of {len(before)} requests sent before SIGTERM got no complete answer"
                        f" ({len(in_flight)} were in flight at the signal): {sorted(set(broken))}")
    if not in_flight:
        failures.append("no request was in flight when SIGTERM was sent (nothing was tested)")

    # SQLite checkpoints and removes the WAL file when the last connection
    # closes cleanly: a WAL left behind means the store was not closed.
    wal = os.path.join(server.env["SAMPLAN_DATA_DIR"], "samplan.db-wal")
    wal_left = os.path.getsize(wal) if os.path.exists(wal) else None
    state = "closed (WAL checkpointed and removed)" if wal_left is None else f"NOT closed (WAL left, {wal_left} bytes)"
    print(f"  store after the graceful stop: {state}")
    if wal_left is not None:
        failures.append(f"the store was not closed on SIGTERM: samplan.db-wal was left with {wal_left} bytes"
                        " (a clean close of the last SQLite connection checkpoints and removes it)")

    server.start()
    check(len(plan_step_ids(server, token, plan)) == expected_steps, "the plan changed across the graceful stop")
    verified = audit_verify(server, "after SIGTERM and restart")
    print(f"  audit verify after SIGTERM: {verified}")
    check(not failures, "\n  - " + "\n  - ".join(failures))


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    if not os.access(binary, os.X_OK):
        print(f"durability: {binary} is not an executable", file=sys.stderr)
        return 2
    data_dir = tempfile.mkdtemp(prefix="samplan-durability-")
    server = Server(binary, data_dir)
    started = time.monotonic()
    try:
        server.start()
        token = mint_token(server)
        status, participant = request(
            server.base, "POST", "/v1/participants", token,
            {"personal_identity_number": "19811218-9876", "name": "Anna Andersson"},
        )
        check(status == 201, f"POST /v1/participants answered {status}: {participant}")
        status, plan = request(server.base, "POST", "/v1/plans", token, {"participant_id": participant["id"]})
        check(status == 201, f"POST /v1/plans answered {status}: {plan}")
        plan = plan["id"]

        print(f"durability: SIGKILL with {WRITERS} writers after {KILL_AFTER} s")
        acknowledged, present = crash_under_load(server, token, plan)
        print(f"durability: SIGTERM with {READERS} readers")
        graceful_stop(server, token, plan, present)
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=EXIT_DEADLINE)
    except (Failure, subprocess.TimeoutExpired) as e:
        server.stop_hard()
        print(f"durability: FAILED: {e}", file=sys.stderr)
        print(f"durability: data directory kept in {data_dir}; server log tail:", file=sys.stderr)
        print(server.log_tail(), file=sys.stderr)
        return 1
    except BaseException:
        server.stop_hard()
        print(f"durability: data directory kept in {data_dir}", file=sys.stderr)
        raise
    shutil.rmtree(data_dir, ignore_errors=True)
    print(f"durability: OK in {time.monotonic() - started:.1f} s: {acknowledged} acknowledged writes survived"
          " SIGKILL; on SIGTERM in-flight requests finished, the store closed and the exit code was 0;"
          " audit chain intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
