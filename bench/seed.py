#!/usr/bin/env python3
"""Seeds a Samplan store at scale, straight into its tables (the app must be stopped).

    bench/seed.py sqlite PATH.db      [--scale 1.0] [--assoc vastmanland] [--seed 11]
    bench/seed.py postgres URL        [--scale 1.0] [--assoc vastmanland] [--seed 11]

At --scale 1: 100 000 participants, each with one plan (platform, solution
scenario), 1 000 000 plan steps, about 300 000 resources, 200 000 scale
readings, 150 000 meetings, 70 000 participants with consents (about 85 000
consents, 200 000 named organisations), one change-feed row per insert and
update (about 2.5 million), and 10 000 000 audit events.

The store must already carry the app's schema (bench/seed.sh migrates it by
running `samplan audit verify` once). Rows are written as the app writes them:
on SQLite UUIDs are 16-byte BLOBs, times RFC 3339 text with an offset, dates
YYYY-MM-DD, JSON as text; on PostgreSQL the native types (COPY through psql).

The audit events continue the association's real hash chain from its current
head (`audit_heads`), with the app's canonical encoding and SHA-256, and the
head row is moved to the last one: `samplan audit verify` passes and the app
keeps appending. The change feed continues after the association's highest
`seq` in commit order of the seeded rows' times; on PostgreSQL `change_heads`
is moved to it. While loading, the change-feed triggers and the secondary
indexes of the seeded tables are dropped (SQLite) or disabled (PostgreSQL:
session_replication_role = replica), then recreated from their own stored
definitions, so the schema afterwards is exactly the app's.

Everything is generated from --seed, so two runs give the same shape of data
(ids and times differ: ids are UUIDv7 of the seeded times, times end an hour
before now).
"""

import argparse
import bisect
import hashlib
import json
import os
import random
import sqlite3
import subprocess
import sys
import time

ORGS = [  # slug, agency, share of the participants it registers
    ("vasteras-kommun", "municipality", 0.35),
    ("af-vasteras", "employment_office", 0.20),
    ("fk-vastmanland", "social_insurance", 0.15),
    ("region-vastmanland", "region", 0.10),
    ("koping-kommun", "municipality", 0.10),
    ("sala-kommun", "municipality", 0.10),
]
AGENCY = {slug: agency for slug, agency, _ in ORGS}
COORD_ORG = "vastmanlands-samordningsforbund"
AGENCY[COORD_ORG] = "association"
ORG_SLUGS = [o[0] for o in ORGS]
ORG_WEIGHTS = [o[2] for o in ORGS]

FIRST = ["Anna", "Eva", "Maria", "Karin", "Sara", "Lena", "Emma", "Johanna", "Amira", "Fatima", "Erik", "Lars",
         "Karl", "Anders", "Johan", "Per", "Mikael", "Ali", "Mohammed", "Oskar", "Elin", "Hanna", "Nils", "Åsa"]
LAST = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson", "Svensson",
        "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson", "Bengtsson", "Jönsson", "Lindberg", "Ahmed",
        "Hussein", "Öberg", "Lindqvist", "Berg", "Axelsson", "Sandberg"]
STEP_TEXT = ["Ringa förskolan om praktik", "Besöka arbetsplatsen", "Gå upp kl 7 tre dagar i veckan",
             "Boka tid hos vårdcentralen", "Skriva ett CV", "Söka två jobb", "Träffa studie- och yrkesvägledare",
             "Prova arbetsträning två timmar om dagen", "Gå på promenad varje dag", "Ansöka om körkortstillstånd",
             "Ta kontakt med facket", "Anmäla sig till SFI", "Handla själv en gång i veckan"]
RESOURCE_TEXT = ["Har varit dagbarnvårdare och är bra med barn", "Kör truck", "Talar arabiska och svenska",
                 "Har en syster som stöttar", "Tycker om att laga mat", "Är noggrann", "Har körkort B",
                 "Har spelat fotboll i många år", "Är bra på datorer"]
OUTCOMES = ["Fick komma på besök", "Gick bra", "Blev inte av, provar igen", "Fick en tid", "Klart"]
PURPOSES = ["samordnad rehabilitering", "gemensam plan inom samordningsförbundet", "arbetslivsinriktad rehabilitering"]
SUPPORT = ["work", "studies", "job_seeking", "sickness_benefit", "activity_compensation", "financial_support", "other"]

US = 1_000_000
DAY = 86_400 * US


# ------------------------------------------------------------------ encodings

def v7(ms, rnd):
    """A UUIDv7 (as int) for a time in milliseconds."""
    return (ms << 80) | (0x7 << 76) | (rnd.getrandbits(12) << 64) | (0x2 << 62) | rnd.getrandbits(62)


def uuid_str(u):
    h = "%032x" % u
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def ts(us):
    """RFC 3339 with microseconds and +00:00, as sqlx writes a DateTime<Utc> on SQLite."""
    s, frac = divmod(us, US)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{frac:06d}+00:00"


def date(us):
    return time.strftime("%Y-%m-%d", time.gmtime(us // US))


def pin(i):
    """A valid personnummer (12 digits, Luhn) unique per i; births 1950–2004."""
    born = time.gmtime(-631152000 + (i % 20000) * 86400)  # 1950-01-01 + i % 20000 days
    serial = (i // 20000) % 1000
    nine = f"{born.tm_year % 100:02d}{born.tm_mon:02d}{born.tm_mday:02d}{serial:03d}"
    total = 0
    for k, ch in enumerate(nine):
        d = int(ch) * (2 if k % 2 == 0 else 1)
        total += d // 10 + d % 10
    return f"{born.tm_year // 100:02d}{nine}{(10 - total % 10) % 10}"


# ------------------------------------------------------------------ stores

class Sqlite:
    """Writes with executemany in one big transaction."""
    name = "sqlite"

    def __init__(self, path):
        if not os.path.exists(path):
            sys.exit(f"seed: {path} does not exist (run the app or bench/seed.sh once to create the schema)")
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=MEMORY")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-1000000")
        self.db.execute("PRAGMA temp_store=MEMORY")
        self.db.execute("PRAGMA locking_mode=EXCLUSIVE")
        self.db.execute("PRAGMA foreign_keys=OFF")

    @staticmethod
    def uid(u):
        return None if u is None else u.to_bytes(16, "big")

    def scalar(self, sql, *args):
        row = self.db.execute(sql, args).fetchone()
        return row[0] if row else None

    @staticmethod
    def quote(text):
        return "'" + text.replace("'", "''") + "'"

    def begin(self, tables):
        self.db.execute("BEGIN")
        marks = ",".join("?" * len(tables))
        self.indexes = self.db.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL AND tbl_name IN ({marks})",
            tables).fetchall()
        self.triggers = self.db.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type='trigger' AND name LIKE 'changes\\_%' ESCAPE '\\' "
            f"AND tbl_name IN ({marks})", tables).fetchall()
        for name, _ in self.indexes:
            self.db.execute(f'DROP INDEX "{name}"')
        for name, _ in self.triggers:
            self.db.execute(f'DROP TRIGGER "{name}"')
        self.db.execute("CREATE TEMP TABLE seed_changes (ts INTEGER, kind TEXT, rid BLOB, pid BLOB, plid BLOB, "
                        "ver INTEGER, op TEXT)")

    def copy(self, table, columns, rows):
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        self.db.executemany(sql, rows)

    def finish(self, assoc, head_seq, head_hash):
        t = time.time()
        for name, sql in self.indexes:
            self.db.execute(sql)
        log(f"  indexes recreated ({len(self.indexes)}) in {time.time() - t:.0f}s")
        t = time.time()
        base = self.scalar("SELECT COALESCE(MAX(seq), 0) FROM changes WHERE assoc = ?", assoc)
        self.db.execute(
            "INSERT INTO changes (assoc, seq, resource_type, resource_id, participant_id, plan_id, version, operation, "
            "changed_at_us) SELECT ?, ? + ROW_NUMBER() OVER (ORDER BY ts, rowid), kind, rid, pid, plid, ver, op, ts "
            "FROM seed_changes ORDER BY ts, rowid", (assoc, base))
        self.db.execute("DROP TABLE seed_changes")
        log(f"  change feed ordered and written in {time.time() - t:.0f}s")
        for name, sql in self.triggers:
            self.db.execute(sql)
        self.db.execute("INSERT INTO audit_heads (assoc, seq, hash) VALUES (?, ?, ?) "
                        "ON CONFLICT (assoc) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                        (assoc, head_seq, head_hash))
        self.db.execute("COMMIT")
        self.db.execute("PRAGMA locking_mode=NORMAL")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.close()


class Postgres:
    """Streams one psql session: COPY … FROM STDIN per table, in one transaction."""
    name = "postgres"

    def __init__(self, url):
        self.url = url
        self.proc = None

    @staticmethod
    def uid(u):
        return None if u is None else uuid_str(u)

    @staticmethod
    def quote(text):
        return "'" + text.replace("'", "''") + "'"

    def scalar(self, sql):
        out = subprocess.run(["psql", self.url, "-XtAq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                             check=True, capture_output=True, text=True).stdout.strip()
        return out or None

    def write(self, text):
        try:
            self.proc.stdin.write(text)
        except BrokenPipeError:
            self.proc.wait()
            sys.exit("seed: psql stopped (see its error above)")

    def begin(self, tables):
        names = ",".join(f"'{t}'" for t in tables)
        rows = subprocess.run(
            ["psql", self.url, "-XtAq", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c",
             f"SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ({names}) "
             f"AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))"],
            check=True, capture_output=True, text=True).stdout.strip().splitlines()
        self.indexes = [r.split("\t", 1) for r in rows if r]
        self.proc = subprocess.Popen(["psql", self.url, "-Xq", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                     text=True, bufsize=1 << 20)
        # replica: no triggers (change feed, foreign keys) fire while loading.
        self.write("SET session_replication_role = replica;\nSET maintenance_work_mem = '512MB';\nBEGIN;\n")
        for name, _ in self.indexes:
            self.write(f'DROP INDEX "{name}";\n')
        self.write("CREATE TEMP TABLE seed_changes (n bigserial, ts bigint, kind text, rid uuid, pid uuid, plid uuid, "
                   "ver bigint, op text);\n")

    def copy(self, table, columns, rows):
        self.write(f"COPY {table} ({', '.join(columns)}) FROM STDIN;\n")
        buf = []
        for row in rows:
            buf.append("\t".join("\\N" if v is None else str(v) for v in row))
            if len(buf) >= 20000:
                self.write("\n".join(buf) + "\n")
                buf = []
        if buf:
            self.write("\n".join(buf) + "\n")
        self.write("\\.\n")

    def finish(self, assoc, head_seq, head_hash):
        for name, sql in self.indexes:
            self.write(sql + ";\n")
        q = assoc.replace("'", "''")
        self.write(
            f"INSERT INTO changes (assoc, seq, resource_type, resource_id, participant_id, plan_id, version, operation, "
            f"changed_at_us) SELECT '{q}', base.seq + ROW_NUMBER() OVER (ORDER BY ts, n), kind, rid, pid, plid, ver, op, ts "
            f"FROM seed_changes, (SELECT COALESCE(MAX(seq), 0) AS seq FROM changes WHERE assoc = '{q}') base;\n"
            f"INSERT INTO change_heads (assoc, seq) SELECT '{q}', MAX(seq) FROM changes WHERE assoc = '{q}' "
            f"ON CONFLICT (assoc) DO UPDATE SET seq = excluded.seq;\n"
            f"INSERT INTO audit_heads (assoc, seq, hash) VALUES ('{q}', {head_seq}, '{head_hash}') "
            f"ON CONFLICT (assoc) DO UPDATE SET seq = excluded.seq, hash = excluded.hash;\n"
            "COMMIT;\n"
            "\\echo seed: committed, now VACUUM ANALYZE\n"
            "VACUUM (ANALYZE);\n")
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            sys.exit("seed: psql failed")


# ------------------------------------------------------------------ generation

START_CLOCK = time.time()


def log(msg):
    print(f"[{time.time() - START_CLOCK:6.0f}s] {msg}", file=sys.stderr, flush=True)


def counts(rnd, n, total, spread):
    """n non-negative counts summing exactly to total, each about total/n ± spread."""
    mean = total / n
    c = [max(0, int(rnd.uniform(mean - spread, mean + spread + 1))) for _ in range(n)]
    diff = total - sum(c)
    while diff:
        i = rnd.randrange(n)
        if diff > 0:
            c[i] += 1
            diff -= 1
        elif c[i] > 0:
            c[i] -= 1
            diff += 1
    return c


def seed(store, assoc, scale, rseed):
    rnd = random.Random(rseed)
    uid = store.uid
    n_part = max(1, round(100_000 * scale))
    n_steps = round(1_000_000 * scale)
    n_audit = round(10_000_000 * scale)
    end_us = (int(time.time()) - 3600) * US
    start_us = end_us - 3 * 365 * DAY

    tables = ["participants", "plans", "plan_platforms", "plan_solution_scenarios", "plan_resources", "plan_steps",
              "scale_readings", "meetings", "consents", "consent_organisations", "changes", "audit_events"]
    head = store.scalar("SELECT seq || ' ' || hash FROM audit_heads WHERE assoc = " + store.quote(assoc))
    head_seq, head_hash = (int(head.split()[0]), head.split()[1]) if head else (0, "0" * 64)
    store.begin(tables)
    changes = []  # (ts_us, kind, rid, pid, plid, version, op), flushed per table

    def flush_changes():
        store.copy("seed_changes", ["ts", "kind", "rid", "pid", "plid", "ver", "op"], changes)
        changes.clear()

    # participants, sorted by registration time so that their UUIDv7 ids follow time
    t0 = time.time()
    p_created = sorted(rnd.randrange(start_us, end_us - 30 * DAY) for _ in range(n_part))
    p_org = [rnd.choices(ORG_SLUGS, ORG_WEIGHTS)[0] for _ in range(n_part)]
    p_id = [v7(t // 1000, rnd) for t in p_created]
    # who else sees the participant: the organisations named in its consents
    p_named = [[] for _ in range(n_part)]

    def participants():
        for i in range(n_part):
            org = p_org[i]
            changes.append((p_created[i], "participant", uid(p_id[i]), uid(p_id[i]), None, 1, "insert"))
            yield (uid(p_id[i]), pin(i), f"{rnd.choice(FIRST)} {rnd.choice(LAST)}", assoc, org,
                   f"handlaggare{rnd.randrange(1, 41)}@{org}", ts(p_created[i]))
    store.copy("participants", ["id", "personal_identity_number", "name", "assoc", "org", "created_by", "created_at"],
               participants())
    flush_changes()

    # consents: 70 % of participants; 15 % of those also have an older, expired one
    named_rows = []

    def consents():
        for i in range(n_part):
            if rnd.random() >= 0.70:
                continue
            org = p_org[i]
            others = rnd.sample([o for o in ORG_SLUGS if o != org], rnd.choice([1, 1, 2, 3]))
            p_named[i] = others
            periods = []
            begin = p_created[i] + rnd.randrange(0, 7 * DAY)
            if rnd.random() < 0.15 and begin - 400 * DAY > start_us:
                periods.append((begin - 400 * DAY, begin - 35 * DAY, False))
            withdrawn = rnd.random() < 0.08
            expired = not withdrawn and rnd.random() < 0.15
            until = begin + (rnd.randrange(60, 300) if expired else rnd.randrange(365, 3 * 365)) * DAY
            periods.append((begin, until, withdrawn))
            for (frm, until, withdrawn) in periods:
                cid = v7(frm // 1000, rnd)
                w_at = rnd.randrange(frm, end_us) if withdrawn else None
                sub = f"handlaggare{rnd.randrange(1, 41)}@{org}"
                changes.append((frm, "consent", uid(cid), uid(p_id[i]), None, 1, "insert"))
                if withdrawn:
                    changes.append((w_at, "consent", uid(cid), uid(p_id[i]), None, 2, "update"))
                for o in [org] + others:
                    named_rows.append((uid(cid), o, uid(p_id[i])))
                yield (uid(cid), uid(p_id[i]), rnd.choice(PURPOSES), date(frm), date(until),
                       ts(w_at) if withdrawn else None, sub if withdrawn else None, org if withdrawn else None,
                       assoc, org, sub, ts(frm), 2 if withdrawn else 1)
    store.copy("consents", ["id", "participant_id", "purpose", "valid_from", "valid_until", "withdrawn_at",
                            "withdrawn_by", "withdrawn_org", "assoc", "org", "created_by", "created_at", "version"],
               consents())
    store.copy("consent_organisations", ["consent_id", "org", "participant_id"], named_rows)
    n_named = len(named_rows)
    named_rows.clear()
    flush_changes()
    log(f"participants {n_part}, consent organisations {n_named} ({time.time() - t0:.0f}s)")

    # plans: one per participant, with platform and solution scenario
    t0 = time.time()
    pl_created = [min(p_created[i] + rnd.randrange(0, 7 * DAY), end_us - DAY) for i in range(n_part)]
    pl_id = [v7(t // 1000, rnd) for t in pl_created]

    def plans():
        for i in range(n_part):
            org = p_org[i]
            status = rnd.choices(["active", "draft", "paused", "completed", "closed"], [60, 10, 5, 15, 10])[0]
            coord = rnd.random() < 0.3
            version = rnd.randrange(1, 5)
            created = pl_created[i]
            updated = created if version == 1 else rnd.randrange(created, end_us)
            sub = f"handlaggare{rnd.randrange(1, 41)}@{org}"
            changes.append((created, "plan", uid(pl_id[i]), uid(p_id[i]), uid(pl_id[i]), 1, "insert"))
            if version > 1:
                changes.append((updated, "plan", uid(pl_id[i]), uid(p_id[i]), uid(pl_id[i]), version, "update"))
            yield (uid(pl_id[i]), uid(p_id[i]), org, status,
                   f"samordnare{rnd.randrange(1, 6)}@{COORD_ORG}" if coord else None, COORD_ORG if coord else None,
                   rnd.choice(SUPPORT) if rnd.random() < 0.8 else None,
                   rnd.choice(SUPPORT) if status in ("completed", "closed") else None,
                   assoc, org, sub, ts(created), version, org, sub, ts(updated))
    store.copy("plans", ["id", "participant_id", "leading_org", "status", "coordinator", "coordinator_org",
                         "support_at_start", "support_at_end", "assoc", "org", "created_by", "created_at", "version",
                         "updated_org", "updated_by", "updated_at"], plans())
    flush_changes()

    def parts(kind):
        for i in range(n_part):
            org = p_org[i]
            created = pl_created[i]
            version = rnd.randrange(1, 4)
            updated = created if version == 1 else rnd.randrange(created, end_us)
            sub = f"handlaggare{rnd.randrange(1, 41)}@{org}"
            changes.append((created, kind, uid(pl_id[i]), uid(p_id[i]), uid(pl_id[i]), 1, "insert"))
            if version > 1:
                changes.append((updated, kind, uid(pl_id[i]), uid(p_id[i]), uid(pl_id[i]), version, "update"))
            if kind == "platform":
                frames = {o: "arbetsträning" if AGENCY[o] == "employment_office" else "försörjningsstöd under planens tid"
                          for o in [org] + p_named[i]}
                body = ("Vi möts för att deltagaren ska komma närmare arbete",
                        json.dumps(frames, ensure_ascii=False, separators=(",", ":")),
                        "Jag har något att gå till varje vecka")
            else:
                body = ("Jag jobbar på en förskola tre dagar i veckan",
                        json.dumps(["Jag kommer upp på morgonen", "Mina barn märker att jag är gladare"],
                                   ensure_ascii=False, separators=(",", ":")))
            yield (uid(pl_id[i]),) + body + (assoc, org, sub, ts(created), version, org, sub, ts(updated))
    written = ["assoc", "org", "created_by", "created_at", "version", "updated_org", "updated_by", "updated_at"]
    store.copy("plan_platforms", ["plan_id", "purpose", "frames", "how_the_participant_notices_it_helps"] + written,
               parts("platform"))
    store.copy("plan_solution_scenarios", ["plan_id", "preferred_future", "signs_of_progress"] + written,
               parts("solution_scenario"))
    flush_changes()
    log(f"plans {n_part} with platforms and solution scenarios ({time.time() - t0:.0f}s)")

    def contributor(i):
        """The organisation writing to plan i: mostly the registering one, else one named in a consent."""
        return p_org[i] if not p_named[i] or rnd.random() < 0.7 else rnd.choice(p_named[i])

    # resources, steps, readings, meetings
    t0 = time.time()
    per_plan = counts(rnd, n_part, n_steps, 10)

    def steps():
        for i in range(n_part):
            for _ in range(per_plan[i]):
                org = contributor(i)
                created = rnd.randrange(pl_created[i], end_us)
                sid = v7(created // 1000, rnd)
                status = rnd.choices(["planned", "done", "dropped"], [50, 35, 15])[0]
                version = 1 if status == "planned" else 2
                updated = created if version == 1 else rnd.randrange(created, end_us)
                sub = f"handlaggare{rnd.randrange(1, 41)}@{org}"
                changes.append((created, "step", uid(sid), uid(p_id[i]), uid(pl_id[i]), 1, "insert"))
                if version > 1:
                    changes.append((updated, "step", uid(sid), uid(p_id[i]), uid(pl_id[i]), version, "update"))
                yield (uid(sid), uid(pl_id[i]), rnd.choice(STEP_TEXT),
                       "participant" if rnd.random() < 0.5 else org,
                       date(created + rnd.randrange(7, 60) * DAY) if rnd.random() < 0.7 else None, status,
                       rnd.choice(OUTCOMES) if status == "done" else None,
                       assoc, org, sub, ts(created), version, org, sub, ts(updated))
    store.copy("plan_steps", ["id", "plan_id", "description", "owner", "due", "status", "outcome", "assoc", "org",
                              "created_by", "created_at", "version", "updated_org", "updated_by", "updated_at"], steps())
    flush_changes()
    log(f"steps {n_steps} ({time.time() - t0:.0f}s)")

    t0 = time.time()
    n_res = round(300_000 * scale)
    n_read = round(200_000 * scale)
    n_meet = round(150_000 * scale)

    def children(total, spread, kind):
        per = counts(rnd, n_part, total, spread)
        for i in range(n_part):
            for _ in range(per[i]):
                org = contributor(i)
                created = rnd.randrange(pl_created[i], end_us)
                cid = v7(created // 1000, rnd)
                sub = f"handlaggare{rnd.randrange(1, 41)}@{org}"
                changes.append((created, kind, uid(cid), uid(p_id[i]), uid(pl_id[i]), 1, "insert"))
                if kind == "resource":
                    yield (uid(cid), uid(pl_id[i]), rnd.choice(RESOURCE_TEXT),
                           "participant" if rnd.random() < 0.4 else org, assoc, org, sub, ts(created))
                elif kind == "scale_reading":
                    yield (uid(cid), uid(pl_id[i]), rnd.randrange(0, 11), "Jag har börjat gå upp på morgnarna",
                           "Att jag besöker förskolan", ts(created), assoc, org, sub, ts(created))
                else:
                    held = created - rnd.randrange(0, 3) * DAY
                    who = ["deltagaren", p_org[i]] + p_named[i][:2]
                    nxt = date(held + rnd.randrange(14, 29) * DAY) + "T10:00:00+01:00" if rnd.random() < 0.7 else None
                    yield (uid(cid), uid(pl_id[i]), date(held), json.dumps(who, separators=(",", ":")),
                           "Deltagaren har ringt förskolan", "Besöka förskolan", nxt, assoc, org, sub, ts(created))
    store.copy("plan_resources", ["id", "plan_id", "description", "noted_by", "assoc", "org", "created_by",
                                  "created_at"], children(n_res, 3, "resource"))
    store.copy("scale_readings", ["id", "plan_id", "value", "why_not_lower", "one_step_up", "recorded_at", "assoc",
                                  "org", "created_by", "created_at"], children(n_read, 2, "scale_reading"))
    store.copy("meetings", ["id", "plan_id", "held_on", "participants", "better_since_last_time", "until_next_time",
                            "next_meeting", "assoc", "org", "created_by", "created_at"], children(n_meet, 2, "meeting"))
    flush_changes()
    log(f"resources {n_res}, scale readings {n_read}, meetings {n_meet} ({time.time() - t0:.0f}s)")

    # audit events: the association's chain, continued from its head
    t0 = time.time()
    p_id_str = [uuid_str(u) for u in p_id]
    pl_id_str = [uuid_str(u) for u in pl_id]
    p_id_col = [uid(u) for u in p_id]
    subs = {o: [f"handlaggare{k}@{o}" for k in range(1, 41)] for o in ORG_SLUGS}
    subs[COORD_ORG] = [f"samordnare{k}@{COORD_ORG}" for k in range(1, 6)]
    # action, resource type, which id is the resource (plan, participant, new, none), status, share
    kinds = [
        ("GET /v1/plans/{id}", "plans", "plan", 200, 45),
        ("GET /v1/participants/{id}", "participants", "participant", 200, 10),
        ("POST /v1/plans/{id}/steps", "steps", "new", 201, 8),
        ("PATCH /v1/plans/{id}/steps/{step_id}", "steps", "new", 200, 6),
        ("GET /v1/plans/{id}/progress", "progress", "plan", 200, 5),
        ("POST /v1/plans/{id}/scale-readings", "scale-readings", "new", 201, 3),
        ("POST /v1/plans/{id}/meetings", "meetings", "new", 201, 2),
        ("GET /v1/participants", "participants", "none", 200, 8),
        ("GET /v1/changes", "changes", "none", 200, 8),
        ("GET /v1/me", "me", "nobody", 200, 3),
        ("GET /v1/plans/{id}", "plans", "refused", 404, 1.5),
        ("PATCH /v1/plans/{id}", "plans", "forbidden", 403, 0.5),
    ]
    kind_pick = [k for k in kinds for _ in range(int(k[4] * 2))]
    span = end_us - start_us
    a_q = json.dumps(assoc)[1:-1]

    def events():
        nonlocal head_seq, head_hash
        prev = head_hash
        seq = head_seq
        sha = hashlib.sha256
        getrandbits = rnd.getrandbits
        first_created = p_created[0]
        for n in range(n_audit):
            at = start_us + (span * n) // n_audit + getrandbits(10)
            if at < first_created:
                at = first_created + n
            known = bisect.bisect_right(p_created, at)  # participants registered by then
            i = getrandbits(32) % known
            action, rtype, which, status, _ = kind_pick[getrandbits(16) % len(kind_pick)]
            if which == "refused" or which == "forbidden":
                org = ORG_SLUGS[getrandbits(8) % len(ORG_SLUGS)]
            elif p_named[i] and getrandbits(2) == 0:
                org = p_named[i][getrandbits(8) % len(p_named[i])]
            else:
                org = p_org[i]
            role = "case_worker"
            r = getrandbits(5)
            if r == 0:
                role, org = "coordinator", COORD_ORG
            elif r == 1:
                role = "integration"
            osubs = subs[org]
            sub = osubs[getrandbits(8) % len(osubs)] if role != "integration" else f"integration@{org}"
            outcome = "allowed"
            participant = p_id_str[i]
            if which == "plan":
                resource = pl_id_str[i]
            elif which == "participant":
                resource = p_id_str[i]
            elif which == "new":
                resource = uuid_str(v7(at // 1000, rnd))
            elif which == "refused":
                resource, outcome = pl_id_str[i], "denied"
            elif which == "forbidden":
                resource, outcome = pl_id_str[i], "denied"
            elif which == "none":
                resource = None
            else:  # GET /v1/me: no participant
                resource = participant = None
            seq += 1
            eid_int = v7(at // 1000, rnd)
            eid = uuid_str(eid_int)
            rid = uuid_str(v7((at - 300) // 1000, rnd))
            agency = AGENCY[org]
            canonical = (
                f'{{"assoc":"{a_q}","seq":{seq},"id":"{eid}","occurred_at_us":{at},"sub":"{sub}","org":"{org}",'
                f'"agency":"{agency}","role":"{role}","action":"{action}","resource_type":"{rtype}",'
                f'"resource_id":{"null" if resource is None else chr(34) + resource + chr(34)},'
                f'"participant_id":{"null" if participant is None else chr(34) + participant + chr(34)},'
                f'"outcome":"{outcome}","status":{status},"request_id":"{rid}","prev_hash":"{prev}"}}')
            h = sha(canonical.encode()).hexdigest()
            yield (assoc, seq, uid(eid_int), at, sub, org, agency, role, action, rtype, resource,
                   None if participant is None else p_id_col[i], outcome, status, rid, prev, h)
            prev = h
            if seq % 1_000_000 == 0:
                log(f"  audit events: {seq - head_seq}")
        head_seq, head_hash = seq, prev
    store.copy("audit_events", ["assoc", "seq", "id", "occurred_at_us", "sub", "org", "agency", "role", "action",
                                "resource_type", "resource_id", "participant_id", "outcome", "status", "request_id",
                                "prev_hash", "hash"], events())
    log(f"audit events {n_audit}, chain head now {head_seq} ({time.time() - t0:.0f}s)")

    t0 = time.time()
    store.finish(assoc, head_seq, head_hash)
    log(f"indexes, change feed and heads written ({time.time() - t0:.0f}s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store", choices=["sqlite", "postgres"])
    ap.add_argument("target", help="SQLite file path, or PostgreSQL URL")
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = 100k participants, 1M steps, 10M audit events")
    ap.add_argument("--assoc", default="vastmanland", help="the association (the token's assoc; samplan token's default)")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    store = Sqlite(args.target) if args.store == "sqlite" else Postgres(args.target)
    seed(store, args.assoc, args.scale, args.seed)
    log("done")


if __name__ == "__main__":
    main()
