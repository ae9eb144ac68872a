#!/usr/bin/env python3
"""Query plans of the reads that matter at scale, on a seeded store (see bench/explain.sh).

For each store it starts the app, creates a bench participant (with an active
consent) and plan through the API, picks a seeded participant and plan, and
issues: the whole-plan read for both, the participant's access log, the
association's audit log (first page, and filtered by participant, by a
frequent and an absent organisation, by outcome and by a time window) and the
change feed (first and
second page for the registering organisation, first page for another one).

The SQL is not copied from the source: on PostgreSQL it is captured from the
server's statement log (log_statement = all, set for that database only while
the app runs), request by request, with its parameters; each SELECT is then
prepared and run with EXPLAIN (ANALYZE, BUFFERS) EXECUTE, twice, and the second
(warm) plan is kept. The writes a request makes (its audit event) are listed.

SQLite has no statement log, so its statements are the PostgreSQL capture of
the same requests (on the seeded PostgreSQL store when one is given, else on a
small scratch database seeded for the purpose), with this store's ids bound in
their place: UUIDs as 16-byte blobs, the audit window's upper bound as this
store's head. sea-orm builds the same SELECTs for both backends (only the
placeholders differ). Each gets EXPLAIN QUERY PLAN and a timed execution
(best of three).

Findings are flagged: PostgreSQL "Seq Scan" over more than 10 000 rows, SQLite
"SCAN <table>" without an index, and sorts in a temporary b-tree.
"""

import argparse
import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
JWT_SECRET = "bench-secret-bench-secret-bench-secret-0123"
SECRET_KEY = "bench-server-key-bench-server-key-0123456789"
ASSOC = "vastmanland"


def log(msg):
    print(f"explain: {msg}", file=sys.stderr, flush=True)


def psql(url, sql, fields=False):
    args = ["psql", url, "-XqtA", "-v", "ON_ERROR_STOP=1"] + (["-F", "\t"] if fields else []) + ["-c", sql]
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


class App:
    def __init__(self, binary, url, workdir):
        self.binary, self.url = binary, url
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.env = dict(os.environ, SAMPLAN_DATABASE_URL=url, SAMPLAN_DATA_DIR=os.path.join(workdir, "data"),
                        SAMPLAN_BIND=f"127.0.0.1:{self.port}", SAMPLAN_JWT_SECRET=JWT_SECRET,
                        SAMPLAN_SECRET_KEY=SECRET_KEY, RUST_LOG="warn")
        self.proc = subprocess.Popen([binary], env=self.env)
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(600):
            try:
                urllib.request.urlopen(self.base + "/health/ready", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError):
                if self.proc.poll() is not None:
                    sys.exit("explain: samplan exited at start")
                time.sleep(0.1)

    def token(self, org, agency, role):
        return subprocess.run([self.binary, "token", "--org", org, "--agency", agency, "--role", role],
                              env=self.env, check=True, capture_output=True, text=True).stdout.strip()

    def call(self, token, method, path, body=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, None

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def random_pin():
    return subprocess.run(["bash", "-c", f". '{HERE}/lib.sh'; random_pin"], check=True, capture_output=True,
                          text=True).stdout.strip()


class PgStore:
    kind = "postgres"

    def __init__(self, url):
        self.url = url
        self.db = url.rsplit("/", 1)[1].split("?")[0]
        logfile = psql(url, "SELECT pg_current_logfile()") or ""
        if logfile and not logfile.startswith("/"):
            logfile = os.path.join(psql(url, "SHOW data_directory"), logfile)
        version = psql(url, "SHOW server_version_num")[:2]
        self.logfile = os.environ.get("BENCH_PG_LOG") or logfile or f"/var/log/postgresql/postgresql-{version}-main.log"

    def q(self, sql):
        return psql(self.url, sql)

    def seeded(self):
        row = psql(self.url, """
            SELECT p.id, pl.id FROM participants p JOIN plans pl ON pl.participant_id = p.id
            WHERE p.org = 'vasteras-kommun' AND p.personal_identity_number < '2005'
              AND EXISTS (SELECT 1 FROM consents c WHERE c.participant_id = p.id AND c.withdrawn_at IS NULL
                          AND c.valid_until >= current_date)
              AND EXISTS (SELECT 1 FROM meetings m WHERE m.plan_id = pl.id)
            ORDER BY p.id LIMIT 1""", fields=True)
        return row.split("\t")

    def head(self):
        return int(psql(self.url, f"SELECT COALESCE(MAX(seq), 0) FROM audit_events WHERE assoc = '{ASSOC}'"))


class SqliteStore:
    kind = "sqlite"

    def __init__(self, path):
        self.path = path
        self.url = f"sqlite://{os.path.abspath(path)}?mode=rw"

    def conn(self):
        return sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)

    def seeded(self):
        with self.conn() as db:
            row = db.execute("""
                SELECT hex(p.id), hex(pl.id) FROM participants p JOIN plans pl ON pl.participant_id = p.id
                WHERE p.org = 'vasteras-kommun' AND p.personal_identity_number < '2005'
                  AND EXISTS (SELECT 1 FROM consents c WHERE c.participant_id = p.id AND c.withdrawn_at IS NULL
                              AND c.valid_until >= date('now'))
                  AND EXISTS (SELECT 1 FROM meetings m WHERE m.plan_id = pl.id)
                ORDER BY p.id LIMIT 1""").fetchone()
        return [fmt_uuid(h) for h in row]

    def head(self):
        with self.conn() as db:
            return db.execute("SELECT COALESCE(MAX(seq), 0) FROM audit_events WHERE assoc = ?", (ASSOC,)).fetchone()[0]


def fmt_uuid(h):
    h = h.lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def scenario(app, store, capture=None):
    """Issues the requests; returns roles (ids by role) and, when capture is a PgStore, the statements of each."""
    cw = app.token("vasteras-kommun", "municipality", "case_worker")
    af = app.token("af-vasteras", "employment_office", "case_worker")
    auditor = app.token("vastmanlands-samordningsforbund", "association", "auditor")
    status, p = app.call(cw, "POST", "/v1/participants",
                         {"personal_identity_number": random_pin(), "name": "Anna Andersson"})
    assert status == 201, status
    today = time.strftime("%Y-%m-%d")
    app.call(cw, "POST", f"/v1/participants/{p['id']}/consents",
             {"organisations": ["vasteras-kommun", "af-vasteras"], "purpose": "samordnad rehabilitering",
              "valid_from": today, "valid_until": time.strftime("%Y-%m-%d", time.gmtime(time.time() + 300 * 86400))})
    status, plan = app.call(cw, "POST", "/v1/plans", {"participant_id": p["id"]})
    assert status == 201, status
    for i in range(5):
        app.call(cw, "POST", f"/v1/plans/{plan['id']}/steps", {"description": f"steg {i}", "owner": "participant"})
    for i in range(3):
        app.call(cw, "POST", f"/v1/plans/{plan['id']}/scale-readings",
                 {"value": i + 3, "why_not_lower": "x", "one_step_up": "y"})
    seeded_participant, seeded_plan = store.seeded()
    roles = {"bench_participant": p["id"], "bench_plan": plan["id"], "seeded_participant": seeded_participant,
             "seeded_plan": seeded_plan}
    year_ago = time.time() - 365 * 86400
    day_from = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(year_ago))
    day_to = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(year_ago + 86400))
    requests = [
        ("GET /v1/plans/{id}: the bench plan (participant with an active consent)", cw, f"/v1/plans/{plan['id']}"),
        ("GET /v1/plans/{id}: a seeded plan", cw, f"/v1/plans/{seeded_plan}"),
        ("GET /v1/participants/{id}/access-log: a seeded participant", cw,
         f"/v1/participants/{seeded_participant}/access-log"),
        ("GET /v1/audit-events: first page", auditor, "/v1/audit-events"),
        ("GET /v1/audit-events?participant=", auditor, f"/v1/audit-events?participant={seeded_participant}"),
        ("GET /v1/audit-events?organisation=fk-vastmanland", auditor, "/v1/audit-events?organisation=fk-vastmanland"),
        ("GET /v1/audit-events?organisation=ovanakers-kommun (an organisation with no events)", auditor,
         "/v1/audit-events?organisation=ovanakers-kommun"),
        ("GET /v1/audit-events?outcome=denied", auditor, "/v1/audit-events?outcome=denied"),
        ("GET /v1/audit-events?from=&to= (one day, a year ago)", auditor,
         f"/v1/audit-events?from={day_from}&to={day_to}"),
        ("GET /v1/changes: first page (vasteras-kommun)", cw, "/v1/changes"),
        ("GET /v1/changes?after=: second page (vasteras-kommun)", cw, None),
        ("GET /v1/changes: first page (af-vasteras, mostly through consents)", af, "/v1/changes"),
    ]
    captured = []
    cursor = None
    for label, token, path in requests:
        if path is None:
            path = f"/v1/changes?after={cursor}"
        head = store.head() if capture else None
        offset = os.path.getsize(capture.logfile) if capture else 0
        status, body = app.call(token, "GET", path)
        if label.startswith("GET /v1/changes: first page (vasteras"):
            cursor = body["next_cursor"]
        time.sleep(0.3)
        statements = read_log(capture, offset) if capture else []
        captured.append({"label": label, "status": status, "head": head, "statements": statements})
        log(f"{status} {label}" + (f": {len(statements)} statements" if capture else ""))
    return roles, captured


LINE = re.compile(r"\[(\d+)\] \S+@(\S+) (LOG|DETAIL):\s+(.*)$")
PARAM = re.compile(r"\$(\d+) = (NULL|'((?:[^']|'')*)')")


def read_log(pg, offset):
    with open(pg.logfile, "rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", "replace")
    out, pending = [], {}
    for line in text.splitlines():
        m = LINE.search(line)
        if not m or m.group(2) != pg.db:
            continue
        pid, kind, rest = m.group(1), m.group(3), m.group(4)
        if kind == "LOG":
            sm = re.match(r"(?:execute \S+|statement): (.*)$", rest)
            if sm:
                entry = {"sql": sm.group(1), "params": []}
                out.append(entry)
                pending[pid] = entry
        elif kind == "DETAIL" and rest.startswith("parameters:") and pid in pending:
            pending[pid]["params"] = [None if v == "NULL" else s.replace("''", "'")
                                      for _, v, s in PARAM.findall(rest)]
    return out


def lit_pg(v):
    return "NULL" if v is None else "'" + v.replace("'", "''") + "'"


UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def lit_sqlite(v):
    if v is None:
        return "NULL"
    if UUID.match(v):
        return "X'" + v.replace("-", "") + "'"
    if re.match(r"^-?\d+$", v):
        return v
    return "'" + v.replace("'", "''") + "'"


def bind(sql, params, lit):
    for i in range(len(params), 0, -1):
        sql = re.sub(rf"\${i}(?!\d)", lambda _: lit(params[i - 1]), sql)
    return sql


def short(sql):
    """The statement with its column list elided (the WHERE, ORDER and LIMIT stay exact)."""
    return re.sub(r"^SELECT (.{120,}?) FROM ", lambda m: "SELECT … FROM ", sql, count=1)


def explain_pg(pg, entry):
    sql, params = entry["sql"], entry["params"]
    head = sql.split(None, 1)[0].upper()
    if head in ("BEGIN", "COMMIT", "ROLLBACK"):
        return None
    if head == "INSERT":
        try:
            return psql(pg.url, "EXPLAIN " + bind(sql, params, lit_pg))
        except subprocess.CalledProcessError as e:
            return "(not explained: " + e.stderr.strip().replace("\n", " ") + ")"
    script = (f"BEGIN;\nPREPARE q AS {sql};\n" +
              (f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE q({', '.join(lit_pg(p) for p in params)});\n" * 2) +
              "ROLLBACK;\n")
    done = subprocess.run(["psql", pg.url, "-XqtA", "-v", "ON_ERROR_STOP=1"], input=script,
                          capture_output=True, text=True)
    if done.returncode != 0:
        return "(not explained: " + done.stderr.strip().replace("\n", " ") + ")"
    out = done.stdout.strip()
    # keep the second (warm) of the two outputs: it starts at the second top-level node
    lines = out.splitlines()
    tops = [i for i, l in enumerate(lines) if "(cost=" in l and not l.startswith(" ")]
    return "\n".join(lines[tops[1]:]) if len(tops) > 1 else out


def explain_sqlite(store, sql):
    with store.conn() as db:
        rows = db.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        depth = {0: 0}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, 0) + 1
            lines.append("  " * (depth[node] - 1) + detail)
        best = None
        for _ in range(3):
            t = time.perf_counter()
            n = len(db.execute(sql).fetchall())
            best = min(best or 1e9, time.perf_counter() - t)
    return "\n".join(lines), n, best * 1000


def flags_pg(plan, sizes):
    """Seq Scans of tables over 10 000 rows, filters that throw away over 10 000 rows, over 5 ms."""
    found = []
    for table in re.findall(r"Seq Scan on (\w+)", plan):
        if sizes.get(table, 0) > 10000:
            found.append(f"Seq Scan on {table} ({sizes[table]:,} rows)")
    for m in re.finditer(r"Rows Removed by Filter: (\d+)", plan):
        if int(m.group(1)) > 10000:
            found.append(f"{int(m.group(1)):,} rows removed by filter")
    for m in re.finditer(r"Execution Time: ([\d.]+) ms", plan):
        if float(m.group(1)) > 5:
            found.append(f"{float(m.group(1)):.1f} ms")
    return found


def flags_sqlite(plan, ms):
    found = []
    for line in plan.splitlines():
        s = line.strip()
        if s.startswith("SCAN ") and "USING" not in s:
            found.append(f"full scan: {s}")
        if "TEMP B-TREE" in s:
            found.append(s)
    if ms > 5:
        found.append(f"{ms:.1f} ms")
    return found


def report(store, captured, roles=None, pg_roles=None):
    """Markdown: per request, each statement with its plan."""
    print(f"\n### {store.kind}\n")
    summary = []
    sizes = {}
    if store.kind == "postgres":
        for line in psql(store.url, "SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r' "
                                    "AND relnamespace = 'public'::regnamespace", fields=True).splitlines():
            name, n = line.split("\t")
            sizes[name] = int(n)
    for req in captured:
        print(f"#### {req['label']} ({req['status']})\n")
        for entry in req["statements"]:
            sql, params = entry["sql"], entry["params"]
            verb = sql.split(None, 1)[0].upper()
            if verb in ("BEGIN", "COMMIT", "ROLLBACK"):
                continue
            if store.kind == "postgres":
                plan = explain_pg(store, entry)
                flags = flags_pg(plan, sizes) if verb != "INSERT" else []
                shown = short(sql)
                if verb == "INSERT":  # the audit events: elide the rows and their values
                    rows = sql.count("), (") + 1
                    shown = re.sub(r" VALUES \(.*\)( RETURNING|$)", f" VALUES … ({rows} row{'s' * (rows > 1)})\\1", sql)
                    params = []
                print(f"`{shown}`" + (f" — parameters {', '.join(lit_pg(p) for p in params)}" if params else "") + "\n")
                print("```\n" + plan + "\n```\n")
            else:
                if verb != "SELECT" or sql.endswith("FOR UPDATE") or "_pending" in sql:
                    continue  # SQLite's writes, locks and (empty) staging tables differ; only the reads are compared
                mapped = []
                for p in params:
                    if p is not None and pg_roles and p in pg_roles:
                        p = roles[pg_roles[p]]
                    elif p is not None and req["head"] is not None and p == str(req["head"]):
                        p = str(store.head())
                    mapped.append(p)
                bound = bind(sql, mapped, lit_sqlite)
                try:
                    plan, n, ms = explain_sqlite(store, bound)
                except sqlite3.Error as e:  # PostgreSQL-only (an advisory lock, a cast): not issued on SQLite
                    print(f"`{short(bound)}`\n\n(not on SQLite: {e})\n")
                    continue
                flags = flags_sqlite(plan, ms)
                print(f"`{short(bind(sql, mapped, lit_sqlite))}`\n")
                print(f"```\n{plan}\n-- {n} rows, {ms:.2f} ms (best of 3)\n```\n")
            if flags:
                summary.append((req["label"], short(sql)[:160], "; ".join(flags)))
    print(f"#### Flagged on {store.kind}\n")
    if not summary:
        print("Nothing: every statement is an index lookup or range under 5 ms.\n")
    for label, sql, flags in summary:
        print(f"- {label}: {flags}\n  `{sql}`")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--postgres", help="URL of a seeded PostgreSQL database")
    ap.add_argument("--sqlite", help="path of a seeded SQLite file")
    ap.add_argument("--scratch-server", default="postgres://postgres@127.0.0.1:5432/test",
                    help="PostgreSQL server for the scratch capture when only --sqlite is given")
    args = ap.parse_args()
    work = tempfile.mkdtemp()
    pg_roles = pg_captured = None
    scratch = None
    if args.postgres or args.sqlite:
        if args.postgres:
            pg = PgStore(args.postgres)
        else:
            scratch = f"samplan_explain_{os.getpid()}"
            server = args.scratch_server
            psql(server, f'CREATE DATABASE "{scratch}"')
            url = server.rsplit("/", 1)[0] + "/" + scratch
            subprocess.run([os.path.join(HERE, "seed.sh"), "postgres", url, "0.001"], check=True,
                           env=dict(os.environ, SAMPLAN_BIN=args.bin), capture_output=True)
            pg = PgStore(url)
        log(f"capturing statements on {pg.db} (log {pg.logfile})")
        psql(pg.url, f'ALTER DATABASE "{pg.db}" SET log_statement = \'all\'')
        try:
            app = App(args.bin, pg.url, work)
            try:
                roles, pg_captured = scenario(app, pg, capture=pg)
            finally:
                app.stop()
        finally:
            psql(pg.url, f'ALTER DATABASE "{pg.db}" RESET log_statement')
        pg_roles = {v: k for k, v in roles.items()}
        if args.postgres:
            report(pg, pg_captured)
    if args.sqlite:
        store = SqliteStore(args.sqlite)
        app = App(args.bin, store.url, work)
        try:
            roles, captured = scenario(app, store)
        finally:
            app.stop()
        for req, pg_req in zip(captured, pg_captured):
            req["statements"] = pg_req["statements"]
            req["head"] = pg_req["head"]
        report(store, captured, roles, pg_roles)
    if scratch:
        psql(args.scratch_server, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')


if __name__ == "__main__":
    main()
