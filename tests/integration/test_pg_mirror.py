"""Issue 6: mirroring PostgreSQL tables into Iceberg (POST
/tables/{name}/from_postgres), end to end against real PostgreSQL 15 clusters.

Every test starts its own cluster (PgCluster: initdb in a temp dir,
wal_level=logical, its own port on 127.0.0.1, stopped after) and its own floe
server, drives PostgreSQL with psql, waits until floe has applied everything
up to pg_current_wal_lsn() (GET /tables/{name} -> source.confirmed_lsn) and
then compares the PostgreSQL table, value by value, with what an Iceberg v3
reader sees in the current snapshot: the live Parquet files read by DuckDB by
field id minus the rows the deletion vectors delete (pgmirror.py explains the
canonical forms).

Sizes are small by default (the file runs in a few minutes on 2 cores);
FLOE_PG_STRESS=1 makes the random DML run longer and the tables bigger.
FLOE_PG_SEED sets the random seed (default below); failures name it.
"""
import collections
import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import unittest

from harness import Floe, current_metadata, duckq, live_data_and_dvs, local_path, read_avro
from pgcluster import PgCluster
from pgmirror import (STRESS, BatchWriter, PsqlSession, assert_mirrored, current_lsn, describe,
                      diff_rows, error_message, ice_rows, lsn_int, lsn_text, mirror, pg_columns,
                      post_mirror, publication_count, schema_of, slot_count, source_of, sql_lit,
                      wait_converged, wait_phase)

SEED = int(os.environ.get("FLOE_PG_SEED", "6006"))
STOP_TIMEOUT = 20  # seconds floe may take to exit on SIGTERM at the end of a test


class PgMirrorBase(unittest.TestCase):
    """A PostgreSQL cluster and a floe server per test."""

    def setUp(self):
        t0 = time.time()
        self.addCleanup(lambda: sys.stderr.write("[%.1f s] " % (time.time() - t0)))
        self.tmp = tempfile.mkdtemp(prefix="floe-pgm-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.pg = self.start_pg()
        self.f = self.start_floe()
        self.rng = random.Random(SEED)

    def start_pg(self, extra_conf=()):
        pg = PgCluster(extra_conf=extra_conf)
        pg.start()
        self.addCleanup(pg.stop)
        return pg

    def start_floe(self):
        f = Floe().start()

        def stop():
            t0 = time.time()
            running = f.proc is not None and f.proc.poll() is None
            rc = f.stop(timeout=STOP_TIMEOUT)
            hung = running and rc == -9 and time.time() - t0 >= STOP_TIMEOUT
            log = f.read_log()[-2000:] if hung else ""
            f.cleanup()
            if hung:
                raise AssertionError("floe did not exit within %d s of SIGTERM (killed):\n%s"
                                     % (STOP_TIMEOUT, log))
        self.addCleanup(stop)
        return f

    def restart_floe(self, kill=False):
        if kill:
            self.f.kill()
        else:
            rc = self.f.stop()
            self.assertEqual(rc, 0, "floe did not stop cleanly:\n" + self.f.read_log()[-3000:])
        self.f.start()

    def converge(self, names, timeout=60, **kw):
        return wait_converged(self.f, self.pg, names, timeout=timeout, **kw)

    def same(self, src_table, table, what=None, **kw):
        return assert_mirrored(self.f, self.pg, src_table, table,
                               what="%s (seed %d)" % (what or table, SEED), **kw)

    def metadata(self, table, database="db"):
        return current_metadata(self.f.table_dir(table, database))[1]

    def check_source_shape(self, name, src_table):
        """GET /tables/{name}.source has every documented field, and the slot
        and publication it names exist in PostgreSQL with the table in it."""
        src = source_of(self.f, name)
        for k in ("kind", "src_table", "slot", "publication", "phase", "copy", "confirmed_lsn",
                  "received_lsn", "lag_bytes", "lag_ms", "slot_wal_status",
                  "slot_retained_bytes", "error"):
            self.assertIn(k, src, "GET /tables/%s source lacks %r: %s" % (name, k, src))
        self.assertEqual(src["kind"], "postgres", src)
        self.assertEqual(src["src_table"], src_table, src)
        self.assertIn(src["phase"], ("copying", "streaming"), src)
        for k in ("rows", "rows_estimated", "percent"):
            self.assertIn(k, src["copy"], src)
        for k in ("confirmed_lsn", "received_lsn"):
            self.assertRegex(src[k], r"^[0-9A-F]+/[0-9A-F]+$", src)
        for k in ("lag_bytes", "lag_ms", "slot_retained_bytes"):
            self.assertIsInstance(src[k], int, src)
            self.assertGreaterEqual(src[k], 0, src)
        self.assertIn(src["slot_wal_status"], ("reserved", "extended", "unreserved", "lost"), src)
        self.assertIsNone(src["error"], src)
        self.assertEqual(self.pg.sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = "
                                     "%s AND plugin = 'pgoutput'" % sql_lit(src["slot"])), "1",
                         "slot %s is not a pgoutput slot in pg_replication_slots" % src["slot"])
        sch, tbl = src_table.split(".")
        self.assertEqual(self.pg.sql(
            "SELECT count(*) FROM pg_publication_tables WHERE pubname = %s AND schemaname = %s "
            "AND tablename = %s" % (sql_lit(src["publication"]), sql_lit(sch), sql_lit(tbl))), "1",
            "publication %s does not publish %s" % (src["publication"], src_table))
        return src

    def check_snapshot_lsns(self, table, database="db"):
        """Every snapshot has summary floe.lsn (decimal LSN), non-decreasing
        in commit order, and the current one is <= the confirmed LSN (the
        intermediate commits of an initial copy, marked
        floe.phase=copying, have none)."""
        md = self.metadata(table, database)
        last = -1
        for s in sorted(md["snapshots"], key=lambda s: s["sequence-number"]):
            v = s["summary"].get("floe.lsn")
            if v is None and s["summary"].get("floe.phase") == "copying":
                continue
            self.assertIsNotNone(v, "snapshot %s of %s has no floe.lsn: %s"
                                 % (s["snapshot-id"], table, s["summary"]))
            self.assertRegex(v, r"^\d+$", s["summary"])
            self.assertGreaterEqual(int(v), last, "floe.lsn went backwards: %s" % md["snapshots"])
            last = int(v)
        confirmed = lsn_int(source_of(self.f, table)["confirmed_lsn"])
        self.assertLessEqual(last, confirmed, "the current snapshot's floe.lsn %s is past the "
                             "confirmed LSN %s" % (lsn_text(last), lsn_text(confirmed)))
        return md


# ---------------------------------------------------------------------------
# 1. Every type round-trips
# ---------------------------------------------------------------------------

TYPES_PRELUDE = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy ''quoted''', 'ünï');
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE DOMAIN price AS numeric(12,3);
"""

# PostgreSQL type of each column of the types tables.
TYPE_PG = {
    "id": "int PRIMARY KEY", "b": "bool", "i2": "int2", "i4": "int4", "i8": "int8",
    "f4": "float4", "f8": "float8", "n10_2": "numeric(10,2)", "n38_0": "numeric(38,0)",
    "n38_10": "numeric(38,10)", "n_free": "numeric", "pr": "price", "t": "text",
    "vc": "varchar(20)", "vcu": "varchar", "c5": "char(5)", "js": "json", "jb": "jsonb",
    "m": "mood", "by": "bytea", "d": "date", "tm": "time", "ts": "timestamp",
    "tstz": "timestamptz", "u": "uuid", "dom": "posint",
    "a_i4": "int4[]", "a_i2": "int2[]", "a_i8": "int8[]", "a_t": "text[]",
    "a_n": "numeric(10,2)[]", "a_f8": "float8[]", "a_f4": "float4[]", "a_b": "bool[]",
    "a_d": "date[]", "a_ts": "timestamp[]", "a_tstz": "timestamptz[]", "a_u": "uuid[]",
    "a_by": "bytea[]", "a_m": "mood[]", "a_dom": "posint[]", "a_jb": "jsonb[]",
}
SCALAR_COLS = [c for c in TYPE_PG if not c.startswith("a_")]
ARRAY_COLS = ["id"] + [c for c in TYPE_PG if c.startswith("a_")]


def types_ddl(table, cols):
    return "CREATE TABLE %s (%s)" % (table, ", ".join("%s %s" % (c, TYPE_PG[c]) for c in cols))


# Iceberg type and the type DuckDB reads from the Parquet file, per column.
TYPE_EXPECT = {
    "id": ("int", "INTEGER"), "b": ("boolean", "BOOLEAN"), "i2": ("int", "SMALLINT"),
    "i4": ("int", "INTEGER"), "i8": ("long", "BIGINT"), "f4": ("float", "FLOAT"),
    "f8": ("double", "DOUBLE"), "n10_2": ("decimal(10,2)", "DECIMAL(10,2)"),
    "n38_0": ("decimal(38,0)", "DECIMAL(38,0)"), "n38_10": ("decimal(38,10)", "DECIMAL(38,10)"),
    "n_free": ("string", "VARCHAR"), "pr": ("decimal(12,3)", "DECIMAL(12,3)"),
    "t": ("string", "VARCHAR"), "vc": ("string", "VARCHAR"), "vcu": ("string", "VARCHAR"),
    "c5": ("string", "VARCHAR"), "js": ("string", "VARCHAR"), "jb": ("string", "VARCHAR"),
    "m": ("string", "VARCHAR"), "by": ("binary", "BLOB"), "d": ("date", "DATE"),
    "tm": ("time", "TIME"), "ts": ("timestamp", "TIMESTAMP"),
    "tstz": ("timestamptz", "TIMESTAMP WITH TIME ZONE"), "u": ("uuid", "UUID"),
    "dom": ("int", "INTEGER"),
    "a_i4": ("list<int>", "INTEGER[]"), "a_i2": ("list<int>", "SMALLINT[]"),
    "a_i8": ("list<long>", "BIGINT[]"), "a_t": ("list<string>", "VARCHAR[]"),
    "a_n": ("list<decimal(10,2)>", "DECIMAL(10,2)[]"), "a_f8": ("list<double>", "DOUBLE[]"),
    "a_f4": ("list<float>", "FLOAT[]"), "a_b": ("list<boolean>", "BOOLEAN[]"),
    "a_d": ("list<date>", "DATE[]"), "a_ts": ("list<timestamp>", "TIMESTAMP[]"),
    "a_tstz": ("list<timestamptz>", "TIMESTAMP WITH TIME ZONE[]"),
    "a_u": ("list<uuid>", "UUID[]"), "a_by": ("list<binary>", "BLOB[]"),
    "a_m": ("list<string>", "VARCHAR[]"), "a_dom": ("list<int>", "INTEGER[]"),
    "a_jb": ("list<string>", "VARCHAR[]"),
}

NINES38 = "9" * 38
LONG_TEXT = "".join(chr(0x41 + i % 26) if i % 7 else "é日🚀"[i % 3] for i in range(6000))

# SQL expressions per column; a column a row does not name is NULL.
TYPE_ROWS = [
    {},  # all NULL
    {  # minima
        "b": "false", "i2": "-32768", "i4": "-2147483648", "i8": "-9223372036854775808",
        "f4": "'-Infinity'", "f8": "'-Infinity'", "n10_2": "-99999999.99", "n38_0": "-" + NINES38,
        "n38_10": "-9999999999999999999999999999.9999999999",
        "n_free": "-123456789012345678901234567890123456789012345678901234567890."
                  "000000000000000000000000000001",
        "pr": "-999999999.999", "t": "''", "vc": "''", "vcu": "''", "c5": "''", "js": "'[]'",
        "jb": "'{}'", "m": "'sad'", "by": "'\\x'", "d": "'4713-01-01 BC'", "tm": "'00:00:00'",
        "ts": "'4713-01-01 00:00:00 BC'", "tstz": "'4713-01-01 00:00:00+00 BC'",
        "u": "'00000000-0000-0000-0000-000000000000'", "dom": "1",
        "a_i4": "'{}'", "a_i2": "'{}'", "a_i8": "'{}'", "a_t": "'{}'", "a_n": "'{}'",
        "a_f8": "'{}'", "a_f4": "'{}'", "a_b": "'{}'", "a_d": "'{}'", "a_ts": "'{}'",
        "a_tstz": "'{}'", "a_u": "'{}'", "a_by": "'{}'", "a_m": "'{}'", "a_dom": "'{}'",
        "a_jb": "'{}'",
    },
    {  # maxima
        "b": "true", "i2": "32767", "i4": "2147483647", "i8": "9223372036854775807",
        "f4": "'Infinity'", "f8": "'Infinity'", "n10_2": "99999999.99", "n38_0": NINES38,
        "n38_10": "9999999999999999999999999999.9999999999", "n_free": "'Infinity'",
        "pr": "999999999.999", "t": sql_lit(LONG_TEXT), "vc": "'abcdefghijklmnopqrst'",
        "vcu": sql_lit("x" * 3000), "c5": "'abcde'",
        "js": "'{\"a\": [1, 2.50, \"x\"],  \"b\" : null }'",
        "jb": "'{\"b\": [1, 2.50, {\"c\": \"ü\"}], \"a\": null, \"a2\": 1e3}'",
        "m": "'happy ''quoted'''", "by": "'\\xffffff00'", "d": "'5874897-12-31'",
        "tm": "'24:00:00'", "ts": "'294246-12-31 23:59:59.999999'",
        "tstz": "'294246-12-31 23:59:59.999999+00'", "u": "'ffffffff-ffff-ffff-ffff-ffffffffffff'",
        "dom": "2147483647",
        "a_i4": "'{-2147483648,2147483647}'", "a_i2": "'{-32768,NULL,32767}'",
        "a_i8": "'{9223372036854775807,NULL,-9223372036854775808}'",
        "a_t": "'{\"a,b\",\"c\\\"d\",NULL,\"NULL\",\"\",\"ü 🚀\",\"{}\",\" sp \"}'",
        "a_n": "'{1.50,NULL,-99999999.99,0}'", "a_f8": "'{NaN,-Infinity,Infinity,-0,5e-324,0.1}'",
        "a_f4": "'{NaN,-0,1.4e-45,0.1,3.4028235e38}'", "a_b": "'{t,f,NULL}'",
        "a_d": "'{infinity,-infinity,2000-01-01,\"4713-01-01 BC\",NULL}'",
        "a_ts": "'{\"2000-01-01 00:00:00.5\",infinity,-infinity}'",
        "a_tstz": "'{\"2000-01-01 00:00:00.5+02\",-infinity,NULL}'",
        "a_u": "'{00000000-0000-0000-0000-000000000001,NULL}'",
        "a_by": "ARRAY['\\x00ff'::bytea, NULL, '\\x'::bytea]", "a_m": "ARRAY['sad', 'ünï']::mood[]",
        "a_dom": "'{1,2,NULL}'", "a_jb": "ARRAY['{\"b\":1,  \"a\":2}'::jsonb, NULL, '[]'::jsonb]",
    },
    {  # specials
        "b": "true", "i2": "0", "i4": "0", "i8": "0", "f4": "'NaN'", "f8": "'NaN'", "n10_2": "0",
        "n38_0": "0", "n38_10": "-0.0000000001", "n_free": "'NaN'", "pr": "0.001",
        "t": "E'tab\\there\\nnew line \\\\ back \"dq\" ''sq'' \\r end'", "vc": "'NULL'",
        "vcu": "'\\N'", "c5": "' a'", "js": "'null'", "jb": "'\"str\"'", "m": "'ünï'",
        "by": "'\\x00'", "d": "'infinity'", "tm": "'23:59:59.999999'", "ts": "'infinity'",
        "tstz": "'infinity'", "u": "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "dom": "42",
        "a_i4": "'{NULL}'", "a_t": "'{NULL,NULL}'", "a_f8": "'{NULL}'",
    },
    {
        "f4": "'-0'", "f8": "'-0'", "d": "'-infinity'", "ts": "'-infinity'", "tstz": "'-infinity'",
        "n_free": "0.000000000000000000000000000000000000000000001", "t": "'日本語 🚀'",
        "c5": "'ab'", "jb": "'[1, \"a\", {\"k\": true, \"e\": \"\\u00e9\"}]'",
        "tm": "'12:34:56.5'", "by": "decode(repeat('ab01', 3000), 'hex')", "n10_2": "0.01",
        "i2": "-1", "i4": "-1", "i8": "-1", "m": "'ok'",
    },
    {
        "f4": "1.4e-45", "f8": "5e-324", "d": "'2000-02-29'", "tm": "'00:00:00.000001'",
        "ts": "'1969-12-31 23:59:59.999999'", "tstz": "'2020-06-01 12:00:00.123456+05:30'",
        "n_free": "-1.50", "n38_0": "12345678901234567890123456789012345678",
        "n38_10": "0.0000000001", "pr": "-0.5", "vc": "'  lead'", "c5": "'a    '",
        "js": "'{\"dup\": 1, \"dup\": 2}'", "jb": "'{\"dup\": 1, \"dup\": 2}'",
    },
    {
        "f4": "3.4028235e38", "f8": "1.7976931348623157e308", "d": "'0001-12-31 BC'",
        "ts": "'1970-01-01 00:00:00.000001'", "tstz": "'1969-12-31 23:59:59.999999-08'",
        "n_free": "1e-10",
    },
    {
        "f4": "1.17549435e-38", "f8": "2.2250738585072014e-308", "n_free": "1.0/3",
        "ts": "'2024-02-29 12:00:00.123'", "tstz": "'2000-01-01 00:00:00+14'", "d": "'0001-01-01'",
    },
    {"f4": "0.1", "f8": "1.0::float8/3", "pr": "123.4", "n10_2": "-0.5", "tm": "'00:00:01'"},
]


def insert_types_sql(table, cols, rows, first_id):
    out = []
    for i, r in enumerate(rows):
        vals = [str(first_id + i)] + [r.get(c, "NULL") for c in cols[1:]]
        out.append("INSERT INTO %s (%s) VALUES (%s);" % (table, ", ".join(cols), ", ".join(vals)))
    return "\n".join(out)


def type_name(t):
    if isinstance(t, dict):
        return "list<%s>" % type_name(t["element"])
    return t.replace(" ", "")


class TypesTest(PgMirrorBase):
    def round_trip(self, table, cols):
        pg, f = self.pg, self.f
        src = "public." + table
        pg.sql(TYPES_PRELUDE + types_ddl(table, cols))
        pg.sql(insert_types_sql(table, cols, TYPE_ROWS, 1))
        out = mirror(f, pg, table, src)
        self.assertEqual(out["identity"], "primary-key", out)
        self.assertEqual(out["name"], table, out)
        wait_phase(f, table)
        self.converge(table)
        self.same(src, table, "after the initial copy")
        self.check_source_shape(table, src)

        # Iceberg types, identifier field, and what DuckDB reads from Parquet.
        md = self.metadata(table)
        schema = schema_of(md)
        got = {x["name"]: type_name(x["type"]) for x in schema["fields"]}
        self.assertEqual(got, {c: TYPE_EXPECT[c][0] for c in cols})
        ids = {x["name"]: x["id"] for x in schema["fields"]}
        self.assertEqual(schema.get("identifier-field-ids"), [ids["id"]], schema)
        data, _ = live_data_and_dvs(f.table_dir(table))
        self.assertTrue(data)
        desc = duckq("DESCRIBE SELECT * FROM read_parquet('%s')" % local_path(data[0]))
        duck = {r[0]: r[1] for r in desc}
        self.assertEqual(duck, {c: TYPE_EXPECT[c][1] for c in cols})

        # Streaming: the same rows again, updates that move values between
        # rows, to NULL and from NULL, a key change, deletes.
        pg.sql(insert_types_sql(table, cols, TYPE_ROWS, 101))
        vcols = cols[1:]
        copy_row = lambda dst, src_id: (
            "UPDATE %s a SET (%s) = (SELECT %s FROM %s s WHERE s.id = %d) WHERE a.id = %d;"
            % (table, ", ".join(vcols), ", ".join("s." + c for c in vcols), table, src_id, dst))
        pg.sql("BEGIN;" + copy_row(102, 103) + copy_row(1, 3) + copy_row(103, 101) + "COMMIT;")
        pg.sql(copy_row(104, 105) + copy_row(105, 2))
        pg.sql("UPDATE %s SET id = 206 WHERE id = 106; DELETE FROM %s WHERE id IN (4, 108);"
               % (table, table))
        if "f4" in cols:
            pg.sql("UPDATE %s SET f4 = '-0', f8 = 'NaN' WHERE id = 107" % table)
        else:
            pg.sql("UPDATE %s SET a_t = '{}', a_f8 = '{-0,NaN}' WHERE id = 107" % table)
        self.converge(table)
        n = self.same(src, table, "after streaming")
        self.assertEqual(n, 2 * len(TYPE_ROWS) - 2)
        self.check_snapshot_lsns(table)

    def test_scalar_types_round_trip(self):
        self.round_trip("scalars", SCALAR_COLS)

    def test_array_types_round_trip(self):
        self.round_trip("arrays", ARRAY_COLS)


# ---------------------------------------------------------------------------
# 2. Randomized concurrent DML
# ---------------------------------------------------------------------------

R1_KEYS = 3000
R2_K = 40
R2_J = 50


def rand_text(rng):
    r = rng.random()
    if r < 0.1:
        return None
    if r < 0.2:
        return rng.choice(["", "it's", "ü🚀", "tab\there", "multi\nline", "back\\slash", " "])
    if r < 0.22:
        return "L" * rng.randint(500, 4000)
    return "v%d" % rng.randint(0, 10**6)


def rand_float(rng):
    return rng.choice([rng.uniform(-1e6, 1e6), 0.0, -0.0, float("nan"), float("inf"), 1e-310,
                       rng.random(), None])


def r1_stmt(rng):
    r = rng.random()
    k = rng.randrange(R1_KEYS)
    if r < 0.35:
        return ("INSERT INTO r1 VALUES (%d, %s, 0, %s, %s, now()) ON CONFLICT (id) DO UPDATE SET "
                "v = excluded.v, n = r1.n + 1;" % (k, sql_lit(rand_text(rng)),
                                                  sql_lit("%.2f" % rng.uniform(-1e9, 1e9)),
                                                  sql_lit(rand_float(rng))))
    if r < 0.6:
        return "UPDATE r1 SET n = n + 1, f = %s WHERE id = %d;" % (sql_lit(rand_float(rng)), k)
    if r < 0.7:
        k2 = rng.randrange(R1_KEYS)
        return ("UPDATE r1 SET id = %d, v = coalesce(v, '') || 'm' WHERE id = %d AND NOT EXISTS "
                "(SELECT 1 FROM r1 WHERE id = %d);" % (k2, k, k2))
    if r < 0.78:
        return "UPDATE r1 SET amount = amount + 1 WHERE id BETWEEN %d AND %d;" % (k, k + 5)
    if r < 0.95:
        return "DELETE FROM r1 WHERE id = %d;" % k
    return "DELETE FROM r1 WHERE id BETWEEN %d AND %d;" % (k, k + 3)


def r2_stmt(rng):
    r = rng.random()
    k, j = "k%d" % rng.randrange(R2_K), rng.randrange(R2_J)
    if r < 0.4:
        return ("INSERT INTO r2 VALUES (%s, %d, %s) ON CONFLICT (k, j) DO UPDATE SET payload = "
                "excluded.payload;" % (sql_lit(k), j, sql_lit(rand_text(rng))))
    if r < 0.6:
        return "UPDATE r2 SET payload = %s WHERE k = %s AND j = %d;" % (
            sql_lit(rand_text(rng)), sql_lit(k), j)
    if r < 0.75:
        k2 = "k%d" % rng.randrange(R2_K)
        return ("UPDATE r2 SET k = %s WHERE k = %s AND j = %d AND NOT EXISTS (SELECT 1 FROM r2 "
                "WHERE k = %s AND j = %d);" % (sql_lit(k2), sql_lit(k), j, sql_lit(k2), j))
    return "DELETE FROM r2 WHERE k = %s AND j = %d;" % (sql_lit(k), j)


def random_stmt(rng):
    return r1_stmt(rng) if rng.random() < 0.65 else r2_stmt(rng)


def random_unit(rng):
    """One unit of work: an autocommit statement, a transaction (committed or
    rolled back), a transaction with savepoints, or a bulk transaction."""
    r = rng.random()
    if r < 0.45:
        return random_stmt(rng)
    if r < 0.75:
        body = " ".join(random_stmt(rng) for _ in range(rng.randint(2, 8)))
        end = "ROLLBACK;" if rng.random() < 0.2 else "COMMIT;"
        return "BEGIN; %s %s" % (body, end)
    if r < 0.95:
        parts = ["BEGIN;", random_stmt(rng), "SAVEPOINT s1;", random_stmt(rng), random_stmt(rng)]
        if rng.random() < 0.5:
            parts += ["SAVEPOINT s2;", random_stmt(rng), "ROLLBACK TO SAVEPOINT s2;"]
        parts += ["ROLLBACK TO SAVEPOINT s1;" if rng.random() < 0.6 else "RELEASE SAVEPOINT s1;",
                  random_stmt(rng), "ROLLBACK;" if rng.random() < 0.1 else "COMMIT;"]
        return " ".join(parts)
    base = rng.randrange(R1_KEYS)
    n = rng.randint(200, 1500)
    return ("BEGIN; INSERT INTO r1 SELECT g %% %d, md5(g::text), 0, g, g, now() FROM "
            "generate_series(%d, %d) g ON CONFLICT (id) DO UPDATE SET n = r1.n + 1; DELETE FROM r1 "
            "WHERE id %% 97 = %d; %s" % (R1_KEYS, base, base + n, rng.randrange(97),
                                         "ROLLBACK;" if rng.random() < 0.3 else "COMMIT;"))


R_DDL = ("CREATE TABLE r1 (id bigint PRIMARY KEY, v text, n int NOT NULL DEFAULT 0, "
         "amount numeric(14,2), f float8, ts timestamptz);"
         "CREATE TABLE r2 (k text, j int, payload text, PRIMARY KEY (k, j));"
         "INSERT INTO r1 SELECT g * 3, 'init' || g, 0, g / 7.0, g, now() "
         "FROM generate_series(0, 999) g;"
         "INSERT INTO r2 SELECT 'k' || (g %% %d), g / %d, md5(g::text) FROM generate_series(0, 599) g"
         % (R2_K, R2_K))


def run_sessions(pg, tmp, n, seconds, seed):
    """n psql sessions fed random_unit() for `seconds`; returns a function
    that waits for them to finish."""
    deadline = time.time() + seconds
    sessions, threads = [], []

    def feed(sess, rng):
        try:
            while time.time() < deadline:
                sess.send(random_unit(rng))
        except (BrokenPipeError, ValueError):
            pass

    for i in range(n):
        sess = PsqlSession(pg, os.path.join(tmp, "sess%d-%d" % (seed, i)))
        sessions.append(sess)
        t = threading.Thread(target=feed, args=(sess, random.Random(seed * 100 + i)), daemon=True)
        threads.append(t)
        t.start()

    def finish():
        for t in threads:
            t.join(seconds + 60)
        for s in sessions:
            s.close()
    return finish


class RandomDmlTest(PgMirrorBase):
    def test_random_concurrent_dml(self):
        pg, f = self.pg, self.f
        pg.sql(R_DDL)
        mirror(f, pg, "r1", "public.r1")
        mirror(f, pg, "r2", "public.r2")
        wait_phase(f, "r1")
        wait_phase(f, "r2")
        schema = schema_of(self.metadata("r2"))
        ids = {x["name"]: x["id"] for x in schema["fields"]}
        self.assertEqual(sorted(schema.get("identifier-field-ids") or []), sorted([ids["k"], ids["j"]]))

        seconds = 120 if STRESS else 20
        nsess = 6 if STRESS else 4
        deadline = time.time() + seconds
        finish = run_sessions(pg, self.tmp, nsess, seconds, SEED)
        # floe stays in streaming while the sessions run
        phases = collections.Counter()
        while time.time() < deadline:
            for name in ("r1", "r2"):
                phases[source_of(f, name)["phase"]] += 1
            time.sleep(0.5)
        finish()
        self.assertNotIn("error", phases, "a table went to phase error: %s\n%s"
                         % (phases, [source_of(f, n) for n in ("r1", "r2")]))
        # Sanity: the workload did change the tables and did hit errors
        # (conflicts roll transactions back), as intended.
        stats = pg.sql("SELECT n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables "
                       "WHERE relname = 'r1'")
        self.converge(["r1", "r2"], timeout=90)
        n1 = self.same("public.r1", "r1", "r1 after random DML (%s ins|upd|del)" % stats)
        n2 = self.same("public.r2", "r2", "r2 after random DML")
        self.assertGreater(n1 + n2, 0)
        self.check_snapshot_lsns("r1")


# ---------------------------------------------------------------------------
# 3. Initial copy while writes run
# ---------------------------------------------------------------------------

def copy_writer_sql(nrows):
    def make(rng, i):
        parts = ["BEGIN;"]
        for j in range(5):
            parts.append("INSERT INTO big VALUES (%d, 'new', %d, now());" % (10**7 + i * 10 + j, j))
        for _ in range(5):
            parts.append("UPDATE big SET v = v || '+', n = n + 1 WHERE id = %d;" % rng.randint(1, nrows))
        parts.append("DELETE FROM big WHERE id = %d;" % rng.randint(1, nrows))
        if i % 10 == 0:
            parts.append("UPDATE big SET n = -n WHERE id BETWEEN %d AND %d;" % (
                (lambda a: (a, a + 50))(rng.randint(1, nrows))))
        parts.append("COMMIT;")
        return " ".join(parts)
    return make


class InitialCopyTest(PgMirrorBase):
    def test_initial_copy_with_concurrent_writes(self):
        pg, f = self.pg, self.f
        nrows = 2000000 if STRESS else 200000
        pg.sql("CREATE TABLE big (id int PRIMARY KEY, v text, n int, ts timestamptz);"
               "INSERT INTO big SELECT g, md5(g::text), g %% 1000, now() FROM generate_series(1, %d) g;"
               "ANALYZE big" % nrows)
        w = BatchWriter(pg, copy_writer_sql(nrows), seed=SEED)
        w.start()
        self.addCleanup(w.stop)
        time.sleep(0.5)
        # Three connections over ranges of the table's blocks (the default
        # depends on the CPUs): the ranges must meet without a gap or an
        # overlap, and their files must load side by side.
        out = mirror(f, pg, "big", "public.big", table_config={"copy_workers": 3})
        self.assertEqual(out["identity"], "primary-key")
        samples = []
        deadline = time.time() + (600 if STRESS else 120)
        while True:
            src = source_of(f, "big")
            samples.append(src)
            if src["phase"] == "streaming":
                break
            self.assertEqual(src["phase"], "copying", src)
            self.assertLess(time.time(), deadline, "the copy did not finish: %s" % src)
            time.sleep(0.2)
        time.sleep(2)
        w.stop()
        self.assertGreater(w.ok, 0, w.last_error)
        copying = [s for s in samples if s["phase"] == "copying"]
        for s in copying:
            c = s["copy"]
            self.assertEqual(c["workers"], 3, s)
            self.assertGreaterEqual(c["percent"], 0, s)
            self.assertLessEqual(c["percent"], 100, s)
            self.assertGreaterEqual(c["rows"], 0, s)
        pcts = [s["copy"]["percent"] for s in copying]
        self.assertEqual(pcts, sorted(pcts), "copy progress went backwards: %s" % pcts)
        if copying:
            self.assertGreater(max(s["copy"]["rows_estimated"] for s in copying), 0, copying[-1])
        self.converge("big", timeout=120)
        final = source_of(f, "big")
        self.assertGreaterEqual(final["copy"]["rows"], nrows * 0.9, final)
        self.same("public.big", "big", "copy with %d concurrent write batches" % w.ok)


    def test_two_tables_copied_while_writing(self):
        """Two tables mirrored back to back while random DML runs on both:
        each copy finishes and both equal PostgreSQL."""
        pg, f = self.pg, self.f
        pg.sql(R_DDL)
        finish = run_sessions(pg, self.tmp, 2, 8, SEED + 1)
        time.sleep(0.5)
        mirror(f, pg, "r1", "public.r1")
        mirror(f, pg, "r2", "public.r2")
        wait_phase(f, "r1", timeout=60)
        wait_phase(f, "r2", timeout=60)
        finish()
        self.converge(["r1", "r2"])
        self.same("public.r1", "r1", "r1 copied during DML")
        self.same("public.r2", "r2", "r2 copied during DML")


# ---------------------------------------------------------------------------
# 4. TOAST
# ---------------------------------------------------------------------------

def big_sql(seed, n=3200):
    """An incompressible ~100 kB text value (n md5 hex digests)."""
    return ("(SELECT string_agg(md5((i * 7919 + %d)::text), '' ORDER BY i) FROM generate_series(1, %d) i)"
            % (seed, n))


class ToastTest(PgMirrorBase):
    def test_toast_unchanged_values_kept(self):
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE tt (id int PRIMARY KEY, n int, big text, big2 text, bb bytea);"
               "ALTER TABLE tt ALTER COLUMN big SET STORAGE EXTERNAL;"
               "ALTER TABLE tt ALTER COLUMN bb SET STORAGE EXTERNAL;"
               "INSERT INTO tt VALUES (1, 0, %s, %s, decode(%s, 'hex')), (2, 0, %s, 'small', NULL),"
               "(3, 0, NULL, %s, decode(%s, 'hex'))"
               % (big_sql(1), big_sql(2), big_sql(3, 800), big_sql(4), big_sql(5), big_sql(6, 800)))
        self.assertEqual(pg.sql("SELECT pg_column_size(big) > 100000 FROM tt WHERE id = 1"), "t")
        mirror(f, pg, "tt", "public.tt")
        self.converge("tt")
        self.same("public.tt", "tt", "after the copy")

        def bump(what):
            # updates that leave the TOASTed columns unchanged ('u' in pgoutput)
            for _ in range(3):
                pg.sql("UPDATE tt SET n = n + 1 WHERE id IN (1, 2, 3)")
            pg.sql("BEGIN; UPDATE tt SET n = n + 10 WHERE id = 1; UPDATE tt SET n = n + 10 WHERE id = 1;"
                   "COMMIT")
            self.converge("tt")
            self.same("public.tt", "tt", what)

        bump("updates of rows copied to Parquet")
        bump("updates of rows committed by streaming")
        # new rows, updated in the same transaction and right after
        pg.sql("BEGIN; INSERT INTO tt VALUES (4, 0, %s, NULL, NULL); UPDATE tt SET n = 5 WHERE id = 4;"
               "COMMIT; UPDATE tt SET n = 6 WHERE id = 4" % big_sql(7))
        # a TOASTed value replaced, then unchanged updates of the new value
        pg.sql("UPDATE tt SET big = %s WHERE id = 2; UPDATE tt SET n = 100 WHERE id = 2" % big_sql(8))
        self.converge("tt")
        self.same("public.tt", "tt", "new rows")
        self.restart_floe()
        bump("updates after a floe restart")
        self.restart_floe(kill=True)
        bump("updates after kill -9 of floe")
        # key changes: the unchanged TOASTed values move with the row (the
        # old key's row is where they are)
        pg.sql("UPDATE tt SET id = 30 WHERE id = 3")
        self.converge("tt")
        self.same("public.tt", "tt", "a re-keyed row (Parquet)")
        pg.sql("BEGIN; UPDATE tt SET n = 77 WHERE id = 1; UPDATE tt SET id = 10 WHERE id = 1; COMMIT;"
               "UPDATE tt SET id = 31, n = 1 WHERE id = 30")
        self.converge("tt")
        self.same("public.tt", "tt", "re-keyed rows (memory)")
        self.assertEqual(pg.sql("SELECT count(*) FROM tt WHERE length(big) = 102400"), "3")


# ---------------------------------------------------------------------------
# 5. TRUNCATE and schema changes
# ---------------------------------------------------------------------------

class SchemaChangeTest(PgMirrorBase):
    def test_truncate_and_schema_changes(self):
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE sc (id int PRIMARY KEY, a int4, f float4, d text, keep text);"
               "INSERT INTO sc SELECT g, g * 1000, g / 3.0, 'd' || g, 'k' || g FROM generate_series(1, 20) g")
        mirror(f, pg, "sc", "public.sc")
        self.converge("sc")
        self.same("public.sc", "sc", "after the copy")
        seen_ids = set()
        prev = {}

        def check_schema(step, expect_new=(), expect_types=None):
            md = self.metadata("sc")
            schema = schema_of(md)
            cur = {x["name"]: x for x in schema["fields"]}
            self.assertEqual(list(cur), [c.name for c in pg_columns(pg, "public.sc")], step)
            for name, fld in cur.items():
                if name in expect_new:
                    self.assertNotIn(fld["id"], seen_ids, "%s: new column %s reuses field id %d"
                                     % (step, name, fld["id"]))
                elif name in prev:
                    self.assertEqual(fld["id"], prev[name]["id"], "%s: field id of %s changed"
                                     % (step, name))
            for name, t in (expect_types or {}).items():
                self.assertEqual(cur[name]["type"], t, step)
            self.assertGreaterEqual(md.get("last-column-id", 0), max(x["id"] for x in cur.values()))
            for s in md["schemas"]:
                seen_ids.update(x["id"] for x in s["fields"])
            prev.clear()
            prev.update(cur)
            return cur

        check_schema("initial", expect_types={"a": "int", "f": "float"})

        # TRUNCATE inside a transaction, rows before and after it
        pg.sql("BEGIN; INSERT INTO sc VALUES (50, 1, 1, 'x', 'y'); TRUNCATE sc;"
               "INSERT INTO sc SELECT g, g, g, 'after' || g, 'k' FROM generate_series(100, 102) g; COMMIT")
        self.converge("sc")
        self.same("public.sc", "sc", "TRUNCATE in a transaction")
        pg.sql("TRUNCATE sc")
        self.converge("sc")
        self.same("public.sc", "sc", "TRUNCATE to empty")
        pg.sql("INSERT INTO sc SELECT g, g * 1000, g / 3.0, 'd' || g, 'k' || g FROM generate_series(1, 30) g")
        self.converge("sc")
        self.same("public.sc", "sc", "rows after TRUNCATE")

        # ADD COLUMN without default: old rows null
        pg.sql("ALTER TABLE sc ADD COLUMN x int")
        pg.sql("INSERT INTO sc (id, a, x) VALUES (200, 1, 5); UPDATE sc SET x = 7 WHERE id = 2")
        self.converge("sc")
        self.same("public.sc", "sc", "ADD COLUMN x int")
        check_schema("ADD COLUMN x", expect_new=("x",))

        # DROP COLUMN, then a new column of the same name: a new field id,
        # the old values never come back
        pg.sql("ALTER TABLE sc DROP COLUMN d")
        pg.sql("INSERT INTO sc (id, a) VALUES (203, 3)")
        self.converge("sc")
        self.same("public.sc", "sc", "DROP COLUMN d")
        check_schema("DROP COLUMN d")
        pg.sql("ALTER TABLE sc ADD COLUMN d text")
        pg.sql("INSERT INTO sc (id, d) VALUES (204, 'new d')")
        self.converge("sc")
        self.same("public.sc", "sc", "ADD COLUMN d again")
        check_schema("ADD COLUMN d again", expect_new=("d",))

        # type promotion int4 -> int8, float4 -> float8
        pg.sql("ALTER TABLE sc ALTER COLUMN a TYPE int8")
        pg.sql("INSERT INTO sc (id, a) VALUES (205, 1099511627776); UPDATE sc SET a = -1099511627776 WHERE id = 3")
        self.converge("sc")
        self.same("public.sc", "sc", "int4 -> int8")
        check_schema("int4 -> int8", expect_types={"a": "long", "f": "float"})
        pg.sql("ALTER TABLE sc ALTER COLUMN f TYPE float8")
        pg.sql("INSERT INTO sc (id, f) VALUES (206, 1e300), (207, 0.1)")
        self.converge("sc")
        self.same("public.sc", "sc", "float4 -> float8")
        check_schema("float4 -> float8", expect_types={"a": "long", "f": "double"})
        f.stop()
        f.start()
        pg.sql("INSERT INTO sc (id, a, f, d) VALUES (208, 8, 8.5, 'after restart')")
        self.converge("sc")
        self.same("public.sc", "sc", "after a restart with the evolved schema")

        # ADD COLUMN with a constant default: existing rows read as the
        # default (PostgreSQL does not rewrite them, and no change is
        # streamed for them). floe is expected to record it as the Iceberg v3
        # initial-default of the new field, which ice_rows applies to files
        # without that field id (as the spec requires of readers).
        pg.sql("ALTER TABLE sc ADD COLUMN y text DEFAULT 'dflt';"
               "ALTER TABLE sc ADD COLUMN z numeric(10,2) NOT NULL DEFAULT 1.25")
        pg.sql("INSERT INTO sc (id, y, z) VALUES (201, 'own', 2.50), (202, DEFAULT, DEFAULT)")
        self.converge("sc")
        cur = check_schema("ADD COLUMN y, z with defaults", expect_new=("y", "z"))
        self.same("public.sc", "sc", "ADD COLUMN ... DEFAULT (initial-default %s, %s)"
                  % (cur["y"].get("initial-default"), cur["z"].get("initial-default")))
        pg.sql("UPDATE sc SET a = -a WHERE id = 1")  # an old row rewritten with its default
        self.converge("sc")
        self.same("public.sc", "sc", "update after ADD COLUMN ... DEFAULT")

        # Any other type change stops the table with a clear error and keeps
        # the slot (nothing is lost).
        pg.sql("ALTER TABLE sc ALTER COLUMN keep TYPE int USING length(keep)")
        pg.sql("INSERT INTO sc (id, keep) VALUES (300, 3)")
        src = wait_phase(f, "sc", ("error",), timeout=30)
        self.assertIsInstance(src.get("error"), str, src)
        self.assertIn("keep", src["error"], src)
        self.assertEqual(slot_count(pg), 1, "the slot must be kept after a stopping error")

    def test_array_column_schema_changes(self):
        """An added array column gets a new field id and a new element id; a
        kept one keeps both through an element promotion (int4[] -> int8[],
        numeric(6,2)[] -> numeric(20,2)[]); rows in memory when the schema
        changes (written before the ALTER in the same transaction) are
        converted; a list that would become a scalar stops the table."""
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE ac (id int PRIMARY KEY, a int4[], n numeric(6,2)[]);"
               "INSERT INTO ac VALUES (1, '{1,NULL,3}', '{1.5}'), (2, NULL, '{}')")
        mirror(f, pg, "ac", "public.ac")
        self.converge("ac")
        self.same("public.ac", "ac", "after the copy")

        def ids(step):
            md = self.metadata("ac")
            fields = {x["name"]: x for x in schema_of(md)["fields"]}
            out = {}
            for name, x in fields.items():
                out[name] = x["id"]
                if isinstance(x["type"], dict):
                    out[name + ".element"] = x["type"]["element-id"]
            self.assertEqual(len(set(out.values())), len(out), "%s: ids not distinct: %s"
                             % (step, out))
            self.assertGreaterEqual(md["last-column-id"], max(out.values()), step)
            return out, {n: type_name(x["type"]) for n, x in fields.items()}

        before, types = ids("initial")
        self.assertEqual(types, {"id": "int", "a": "list<int>", "n": "list<decimal(6,2)>"})
        pg.sql("BEGIN; INSERT INTO ac VALUES (3, '{7,8}', '{2.25,NULL}');"
               "ALTER TABLE ac ADD COLUMN tags text[];"
               "INSERT INTO ac VALUES (4, '{9}', NULL, '{x,NULL,\"y z\",\"\"}'); COMMIT")
        self.converge("ac")
        self.same("public.ac", "ac", "ADD COLUMN tags text[]")
        after, types = ids("ADD COLUMN tags text[]")
        for k, v in before.items():
            self.assertEqual(after[k], v, "ADD COLUMN: the id of %s changed" % k)
        self.assertGreater(min(after["tags"], after["tags.element"]), max(before.values()), after)
        self.assertEqual(types["tags"], "list<string>")

        pg.sql("BEGIN; INSERT INTO ac VALUES (5, '{-1,NULL}', '{0.01}', '{}');"
               "ALTER TABLE ac ALTER COLUMN a TYPE int8[];"
               "ALTER TABLE ac ALTER COLUMN n TYPE numeric(20,2)[];"
               "INSERT INTO ac VALUES (6, '{9223372036854775807}', '{123456789012345678.99}', NULL);"
               "UPDATE ac SET a = a || 5000000000::int8 WHERE id = 1; COMMIT")
        self.converge("ac")
        self.same("public.ac", "ac", "int4[] -> int8[], numeric(6,2)[] -> numeric(20,2)[]")
        promoted, types = ids("element promotion")
        self.assertEqual(promoted, after)
        self.assertEqual(types["a"], "list<long>")
        self.assertEqual(types["n"], "list<decimal(20,2)>")
        f.stop()
        f.start()
        pg.sql("INSERT INTO ac VALUES (7, '{1}', '{1}', '{after,restart}')")
        self.converge("ac")
        self.same("public.ac", "ac", "after a restart with the evolved schema")

        pg.sql("ALTER TABLE ac ALTER COLUMN tags TYPE text USING array_to_string(tags, ',')")
        pg.sql("INSERT INTO ac (id, tags) VALUES (8, 'x')")
        src = wait_phase(f, "ac", ("error",), timeout=30)
        self.assertIn("tags", src.get("error") or "", src)


# ---------------------------------------------------------------------------
# 6. Tables without a primary key
# ---------------------------------------------------------------------------

class NoKeyTest(PgMirrorBase):
    def test_replica_identity_full(self):
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE fr (a int, b text, c float8); ALTER TABLE fr REPLICA IDENTITY FULL;"
               "INSERT INTO fr VALUES (1, 'x', 1.5), (1, 'x', 1.5), (1, 'x', 1.5), (NULL, NULL, NULL),"
               "(NULL, NULL, NULL), (2, 'y', '-0'), (3, 'z', 'NaN')")
        out = mirror(f, pg, "fr", "public.fr")
        self.assertEqual(out["identity"], "full-row", out)
        self.converge("fr")
        self.same("public.fr", "fr", "full-row copy")
        one = lambda cond: "(SELECT ctid FROM fr WHERE %s LIMIT 1)" % cond
        pg.sql("INSERT INTO fr VALUES (1, 'x', 1.5), (4, 'w', 'Infinity');"
               "UPDATE fr SET b = 'changed' WHERE ctid = %s;"
               "DELETE FROM fr WHERE ctid = %s;"
               "UPDATE fr SET c = 2 WHERE c = 'NaN';"
               "UPDATE fr SET c = 0 WHERE c = 0;"
               "DELETE FROM fr WHERE ctid = %s;"
               "UPDATE fr SET a = 9 WHERE ctid = %s"
               % (one("a = 1 AND b = 'x'"), one("a = 1 AND b = 'x'"), one("a IS NULL"),
                  one("a IS NULL")))
        pg.sql("BEGIN; INSERT INTO fr VALUES (5, 'five', 5), (5, 'five', 5);"
               "DELETE FROM fr WHERE ctid = %s; COMMIT" % one("a = 5"))
        self.converge("fr")
        self.same("public.fr", "fr", "full-row updates and deletes")

    def test_replica_identity_full_toast(self):
        """Unchanged TOASTed values of a full-row table (20 kB values: out of
        line with STORAGE EXTERNAL; floe limits a full-row identity to
        64 kB)."""
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE frt (a int, n int, big text); ALTER TABLE frt REPLICA IDENTITY FULL;"
               "ALTER TABLE frt ALTER COLUMN big SET STORAGE EXTERNAL;"
               "INSERT INTO frt VALUES (1, 0, %s), (1, 0, %s), (2, 0, %s)"
               % (big_sql(1, 640), big_sql(1, 640), big_sql(2, 640)))
        self.assertEqual(pg.sql("SELECT pg_column_size(big) FROM frt WHERE a = 2"), "20480")
        out = mirror(f, pg, "frt", "public.frt")
        self.assertEqual(out["identity"], "full-row", out)
        self.converge("frt")
        pg.sql("UPDATE frt SET n = n + 1 WHERE ctid = (SELECT ctid FROM frt LIMIT 1);"
               "UPDATE frt SET n = 7; UPDATE frt SET n = 8 WHERE a = 2")
        self.converge("frt")
        self.same("public.frt", "frt", "full-row TOAST updates")

    def test_append_only(self):
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE ap (a int, b text); INSERT INTO ap VALUES (1, 'one'), (1, 'one')")
        out = mirror(f, pg, "ap", "public.ap")
        self.assertEqual(out["identity"], "append-only", out)
        notice = out.get("notice")
        self.assertIsInstance(notice, str, out)
        for w in ("UPDATE", "DELETE", "identity"):
            self.assertIn(w.lower(), notice.lower(), notice)
        self.converge("ap")
        self.same("public.ap", "ap", "append-only copy")
        pg.sql("INSERT INTO ap VALUES (2, 'two'), (NULL, NULL), (1, 'one')")
        with self.assertRaises(RuntimeError) as cm:
            pg.sql("UPDATE ap SET b = 'x' WHERE a = 2")
        self.assertIn("replica identity", str(cm.exception))
        pg.sql("INSERT INTO ap VALUES (3, 'three')")
        self.converge("ap")
        self.same("public.ap", "ap", "append-only inserts")
        self.assertEqual(source_of(f, "ap")["phase"], "streaming")


# ---------------------------------------------------------------------------
# 7. kill -9 of floe, restart of PostgreSQL
# ---------------------------------------------------------------------------

def kill_writer_sql(rng, i):
    parts = ["BEGIN;"]
    for j in range(4):
        parts.append("INSERT INTO kt VALUES (%d, %d, %s);" % (100000 + i * 10 + j, i, sql_lit("w%d" % i)))
    for _ in range(3):
        parts.append("UPDATE kt SET v = v + 1, s = s || '.' WHERE id = %d;" % rng.randrange(2000))
    parts.append("DELETE FROM kt WHERE id = %d;" % rng.randrange(2000))
    if rng.random() < 0.2:
        parts.append("UPDATE kt SET id = id + 1000000 WHERE id = %d;" % rng.randrange(2000))
    parts.append("ROLLBACK;" if rng.random() < 0.1 else "COMMIT;")
    return " ".join(parts)


class RestartTest(PgMirrorBase):
    def make_kt(self, n=2000):
        self.pg.sql("CREATE TABLE kt (id int PRIMARY KEY, v int, s text);"
                    "INSERT INTO kt SELECT g, 0, 's' || g FROM generate_series(0, %d) g" % (n - 1))

    def test_kill_floe_during_streaming(self):
        pg, f = self.pg, self.f
        self.make_kt()
        mirror(f, pg, "kt", "public.kt")
        wait_phase(f, "kt")
        w = BatchWriter(pg, kill_writer_sql, seed=SEED)
        w.start()
        self.addCleanup(w.stop)
        kills = 3 if STRESS else 2
        for k in range(kills):
            time.sleep(self.rng.uniform(1.0, 3.0))
            self.restart_floe(kill=True)
        time.sleep(2)
        w.stop()
        self.assertGreater(w.ok, 0, w.last_error)
        self.converge("kt", timeout=90)
        self.same("public.kt", "kt", "after %d kill -9 during streaming (%d write batches)"
                  % (kills, w.ok))
        self.assertEqual(slot_count(pg), 1)

    def test_kill_floe_during_copy(self):
        pg, f = self.pg, self.f
        n = 3000000 if STRESS else 400000
        self.make_kt(n)
        out = mirror(f, pg, "kt", "public.kt")
        time.sleep(0.3)
        phase = source_of(f, "kt")["phase"]
        self.restart_floe(kill=True)
        if phase != "copying":
            sys.stderr.write("note: the copy of %d rows ended before the kill\n" % n)
        pg.sql("INSERT INTO kt VALUES (-1, -1, 'after'); UPDATE kt SET v = 9 WHERE id < 10;"
               "DELETE FROM kt WHERE id BETWEEN 10 AND 19")
        wait_phase(f, "kt", timeout=180)
        self.converge("kt", timeout=120)
        self.same("public.kt", "kt", "after kill -9 during the copy (phase at kill: %s)" % phase)
        self.assertEqual(slot_count(pg), 1, pg.sql("SELECT slot_name FROM pg_replication_slots"))

    def test_restart_postgres_during_streaming(self):
        pg, f = self.pg, self.f
        self.make_kt()
        mirror(f, pg, "kt", "public.kt")
        wait_phase(f, "kt")
        w = BatchWriter(pg, kill_writer_sql, seed=SEED)
        w.start()
        self.addCleanup(w.stop)
        time.sleep(2)
        try:
            pg.restart("fast")
        except RuntimeError as e:
            active = pg.sql("SELECT pid, backend_type, state, wait_event FROM pg_stat_activity",
                            check=False)
            self.fail("pg_ctl restart -m fast failed while floe streamed: %s\nserver log:\n%s\n"
                      "pg_stat_activity:\n%s\nfloe log:\n%s"
                      % (e, "\n".join(l for l in pg.server_log().splitlines() if "is shutting down" not in l)[-2500:], active, f.read_log()[-2500:]))
        time.sleep(3)
        w.stop()
        self.assertGreater(w.ok, 0, w.last_error)
        # floe reconnects with backoff: give it time, phase error is allowed
        # on the way only if it recovers.
        deadline = time.time() + 90
        target = current_lsn(pg)
        while True:
            src = source_of(f, "kt")
            c = src.get("confirmed_lsn")
            if src["phase"] == "streaming" and c and lsn_int(c) >= target:
                break
            if time.time() > deadline:
                self.fail("floe did not catch up after the PostgreSQL restart: %s\nfloe log:\n%s"
                          % (src, f.read_log()[-3000:]))
            time.sleep(0.2)
        self.same("public.kt", "kt", "after a PostgreSQL restart (%d write batches)" % w.ok)
        self.assertEqual(slot_count(pg), 1)


# ---------------------------------------------------------------------------
# 8. The slot does not bloat PostgreSQL
# ---------------------------------------------------------------------------

class SlotBloatTest(PgMirrorBase):
    def slot(self, name):
        row = self.pg.sql("SELECT confirmed_flush_lsn, restart_lsn, wal_status, "
                          "pg_current_wal_lsn() FROM pg_replication_slots WHERE slot_name = %s"
                          % sql_lit(name))
        c, r, st, cur = row.split("|")
        return lsn_int(c), lsn_int(r), st, lsn_int(cur)

    def test_idle_table_slot_advances(self):
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE idle (id int PRIMARY KEY, v text); INSERT INTO idle VALUES (1, 'a');"
               "CREATE TABLE busy (id bigserial, pad text)")
        mirror(f, pg, "idle", "public.idle")
        self.converge("idle")
        src = self.check_source_shape("idle", "public.idle")
        slot = src["slot"]
        c0, _, _, _ = self.slot(slot)
        w = BatchWriter(pg, lambda rng, i: "INSERT INTO busy (pad) SELECT repeat(md5(g::text), 8) "
                        "FROM generate_series(1, 3000) g", seed=SEED)
        w.start()
        self.addCleanup(w.stop)
        seconds = 60 if STRESS else 10
        samples = []
        t_end = time.time() + seconds
        while time.time() < t_end:
            time.sleep(1)
            samples.append(self.slot(slot))
        w.stop()
        start_lsn = samples[0][3]
        confirmed = [s[0] for s in samples]
        self.assertGreater(confirmed[-1], start_lsn,
                           "confirmed_flush_lsn did not move during unrelated traffic: %s"
                           % [(lsn_text(a), lsn_text(d)) for a, _, _, d in samples])
        advanced = sum(1 for a, b in zip(confirmed, confirmed[1:]) if b > a)
        self.assertGreaterEqual(advanced, len(confirmed) // 3,
                                "confirmed_flush_lsn moved only %d times in %d s" % (advanced, seconds))
        end = current_lsn(pg)
        generated = end - c0
        deadline = time.time() + 10
        while self.slot(slot)[0] < end:
            self.assertLess(time.time(), deadline, "the slot did not catch up with the idle WAL "
                            "within 10 s after the traffic stopped: %s < %s"
                            % (lsn_text(self.slot(slot)[0]), lsn_text(end)))
            time.sleep(0.2)
        # With the slot confirmed, a checkpoint (it logs the running
        # transactions) lets PostgreSQL move restart_lsn: the retained WAL
        # shrinks to well below what the traffic wrote.
        deadline = time.time() + 30
        while True:
            pg.sql("CHECKPOINT")
            time.sleep(1)
            c, r, st, cur = self.slot(slot)
            if cur - r < max(generated // 4, 1 << 20):
                break
            self.assertLess(time.time(), deadline, "the slot still retains %d bytes of the %d "
                            "written (restart_lsn %s, current %s)" % (cur - r, generated,
                                                                      lsn_text(r), lsn_text(cur)))
        src = source_of(f, "idle")
        self.assertIn(src["slot_wal_status"], ("reserved", "extended"), src)
        self.assertIsInstance(src["slot_retained_bytes"], int, src)
        deadline = time.time() + 15
        while src["slot_retained_bytes"] > max(generated // 2, 2 << 20):
            self.assertLess(time.time(), deadline, "GET shows slot_retained_bytes %d; PostgreSQL: %d"
                            % (src["slot_retained_bytes"], cur - r))
            time.sleep(0.5)
            src = source_of(f, "idle")
        self.assertEqual(src["phase"], "streaming")


# ---------------------------------------------------------------------------
# 9. One LSN across tables
# ---------------------------------------------------------------------------

class OneLsnTest(PgMirrorBase):
    def test_transactions_line_up_across_tables(self):
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE ta (id int PRIMARY KEY, txn int); CREATE TABLE tb (id int PRIMARY KEY, txn int)")
        mirror(f, pg, "ta", "public.ta")
        mirror(f, pg, "tb", "public.tb")
        wait_phase(f, "ta")
        wait_phase(f, "tb")
        self.converge(["ta", "tb"])
        # Transactions run one after another from one session. Each touches
        # A, B or both; the model replays them. After each commit the
        # session prints pg_current_wal_lsn(): transaction i's commit ends
        # in (post[i-1], post[i]].
        rng = self.rng
        ntx = 1500 if STRESS else 400
        txns = []  # per txn: list of (table, op, id)
        live = {"a": set(), "b": set()}
        both_rows = []
        for i in range(1, ntx + 1):
            which = rng.choice(["both", "both", "both", "a", "b"])
            ops = []
            for t in ("a", "b"):
                if which in ("both", t):
                    ops.append((t, "ins", i))
            if which == "both" and both_rows and rng.random() < 0.3:
                j = rng.choice(both_rows)
                ops += [("a", "upd", j), ("b", "upd", j)]
                if rng.random() < 0.3 and j in live["a"] and j in live["b"]:
                    ops += [("a", "del", j), ("b", "del", j)]
            for t, op, k in ops:
                if op == "ins":
                    live[t].add(k)
                elif op == "del":
                    live[t].discard(k)
            if which == "both":
                both_rows.append(i)
            txns.append(ops)
        sess = PsqlSession(pg, os.path.join(self.tmp, "onelsn"))
        for i, ops in enumerate(txns, 1):
            stmts = []
            for t, op, k in ops:
                if op == "ins":
                    stmts.append("INSERT INTO t%s VALUES (%d, %d);" % (t, k, i))
                elif op == "upd":
                    stmts.append("UPDATE t%s SET txn = %d WHERE id = %d;" % (t, i, k))
                else:
                    stmts.append("DELETE FROM t%s WHERE id = %d;" % (t, k))
            sess.send("BEGIN; %s COMMIT; SELECT 'post', %d, pg_current_wal_lsn();" % (" ".join(stmts), i))
            if i % 20 == 0:
                sess.send("SELECT pg_sleep(0.1);")
        self.assertEqual(sess.close(), 0, sess.errors())
        self.assertEqual(sess.errors(), "")
        post = {0: 0}
        for line in sess.output().splitlines():
            if line.startswith("post|"):
                _, i, l = line.split("|")
                post[int(i)] = lsn_int(l)
        self.assertEqual(len(post), ntx + 1)
        self.converge(["ta", "tb"])

        # model states after k transactions
        def states():
            st = {"a": {}, "b": {}}
            yield {t: dict(v) for t, v in st.items()}
            for i, ops in enumerate(txns, 1):
                for t, op, k in ops:
                    if op == "ins" or (op == "upd" and k in st[t]):
                        st[t][k] = i
                    else:
                        st[t].pop(k, None)
                yield {t: dict(v) for t, v in st.items()}

        model = list(states())

        snaps = {}
        for t in ("a", "b"):
            table_dir = f.table_dir("t" + t)
            _, md = current_metadata(table_dir)
            lst = []
            for s in md["snapshots"]:
                if not os.path.exists(local_path(s["manifest-list"])):
                    continue
                if "floe.lsn" not in s["summary"]:
                    self.assertEqual(s["summary"].get("floe.phase"), "copying", s)
                    continue
                lsn = int(s["summary"]["floe.lsn"])
                _, rows = ice_rows(table_dir, snapshot_id=s["snapshot-id"], md=md, names=["id", "txn"])
                state = {}
                for k, v in rows:
                    self.assertNotIn(k, state, "duplicate id %d in snapshot %s" % (k, s["snapshot-id"]))
                    state[k] = v
                lst.append((lsn, s["sequence-number"], state))
            lst.sort(key=lambda x: (x[0], x[1]))
            snaps[t] = lst
        for t in ("a", "b"):
            self.assertGreater(len({l for l, _, _ in snaps[t]}), 2,
                               "table t%s has too few snapshots to check: %s" % (t, [l for l, _, _ in snaps[t]]))

        def at(t, L):
            cands = [x for x in snaps[t] if x[0] <= L]
            return cands[-1][2] if cands else {}

        problems = []
        lsns = sorted({l for t in snaps for l, _, _ in snaps[t]})
        for L in lsns:
            lo = max(i for i in post if post[i] <= L)  # committed for sure
            later = [i for i in range(1, ntx + 1) if post[i - 1] >= L]
            hi = min(later) - 1 if later else ntx  # not committed yet for sure after hi
            sa, sb = at("a", L), at("b", L)
            ka = [k for k in range(lo, hi + 1) if model[k]["a"] == sa]
            kb = [k for k in range(lo, hi + 1) if model[k]["b"] == sb]
            if not set(ka) & set(kb):
                problems.append("at LSN %s (txns %d..%d possible): table ta matches txn prefixes %s, "
                                "tb matches %s" % (lsn_text(L), lo, hi, ka[:10], kb[:10]))
        self.assertFalse(problems, "transactions do not line up across tables (seed %d):\n%s"
                         % (SEED, "\n".join(problems[:20])))
        self.same("public.ta", "ta")
        self.same("public.tb", "tb")


# ---------------------------------------------------------------------------
# 10. Bad input
# ---------------------------------------------------------------------------

class BadInputTest(PgMirrorBase):
    def rejected(self, name, body, status, words=(), pg=None):
        pg = pg or self.pg
        st, out, _ = self.f.request("POST", "/tables/%s/from_postgres" % name, body)
        self.assertIn(st, status if isinstance(status, tuple) else (status,),
                      "%s -> %d %s" % (body, st, out))
        msg = error_message(out)
        self.assertIsInstance(msg, str, "no message in %s" % out)
        for w in words:
            if isinstance(w, tuple):
                self.assertTrue(any(x.lower() in msg.lower() for x in w), "%s: none of %s in %r"
                                % (body, w, msg))
            else:
                self.assertIn(w.lower(), msg.lower(), "%s: %r" % (body, msg))
        self.assert_nothing_left(name, pg)
        return msg

    def assert_nothing_left(self, name, pg):
        st, out, _ = self.f.request("GET", "/tables/" + name)
        self.assertEqual(st, 404, "table %s exists after a failed POST: %s" % (name, out))
        self.assertEqual(slot_count(pg), 0, "stray slot: %s" % pg.sql(
            "SELECT slot_name FROM pg_replication_slots"))
        self.assertEqual(publication_count(pg), 0, "stray publication: %s" % pg.sql(
            "SELECT pubname FROM pg_publication"))
        self.assertFalse(os.path.exists(self.f.table_dir(name)), "table directory left behind")

    def body(self, src_table="public.t", pg=None, **kw):
        pg = pg or self.pg
        b = {"database": "db", "table": kw.pop("table", "t"),
             "src_uri": "postgresql://%s@127.0.0.1:%d/%s" % (kw.pop("user", "postgres"),
                                                              kw.pop("port", pg.port),
                                                              kw.pop("dbname", "postgres")),
             "src_table_name": src_table, "table_config": kw.pop("table_config", {})}
        b.update(kw)
        return b

    def test_bad_input(self):
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a');"
               "CREATE TABLE odd (id int PRIMARY KEY, iv interval, p point, ok text);"
               "INSERT INTO odd VALUES (1, '1 day', '(1,2)', 'fine');"
               "CREATE ROLE app LOGIN; GRANT SELECT ON t TO app")
        from pgcluster import _free_port
        self.rejected("t", self.body(port=_free_port()), 400,
                      [("connect", "connection")])
        self.rejected("t", self.body(dbname="nosuchdb"), (400, 404), ["nosuchdb"])
        self.rejected("t", self.body("public.nosuch"), 404, ["does not exist", "public.nosuch"])
        self.rejected("t", self.body("nosuchschema.t"), 404, ["does not exist"])
        self.rejected("t", self.body(user="app"), 403, ["REPLICATION"])
        self.rejected("t", self.body("public.odd", table="t"), 400, ["iv", "interval"])
        for missing in ("src_uri", "src_table_name", "database", "table"):
            b = self.body()
            del b[missing]
            self.rejected("t", b, 400, [missing])
        self.rejected("t", self.body(src_uri="mysql://x@127.0.0.1/db"), 400, ["src_uri"])
        self.rejected("t", self.body(table_config={"skip_unsupported_columns": "yes"}), 400,
                      ["skip_unsupported_columns"])
        st, out, _ = f.request("POST", "/tables/t/from_postgres", raw=b'{"database": ')
        self.assertEqual(st, 400, out)
        self.assert_nothing_left("t", pg)

        with PgCluster(extra_conf=["wal_level=replica"]) as pg2:
            self.assertEqual(pg2.sql("SHOW wal_level"), "replica")
            pg2.sql("CREATE TABLE t (id int PRIMARY KEY)")
            self.rejected("t", self.body(pg=pg2), 400, ["wal_level", "logical"], pg=pg2)

        # skip_unsupported_columns leaves those columns out
        out = mirror(f, pg, "odd", "public.odd", table_config={"skip_unsupported_columns": True})
        self.converge("odd")
        pg.sql("INSERT INTO odd VALUES (2, '2 days', '(3,4)', 'also')")
        self.converge("odd")
        self.same("public.odd", "odd", "skip_unsupported_columns", exclude=("iv", "p"))

        # names already in use: a mirrored table, a REST table
        mirror(f, pg, "m1", "public.t", table="m1")
        f.create_table("rest", [{"name": "id", "data_type": "int64", "nullable": False}])
        for name, table in (("m1", "m1x"), ("rest", "restx"), ("m2", "m1"), ("m3", "rest")):
            st, out, _ = f.request("POST", "/tables/%s/from_postgres" % name,
                                   self.body(table=table))
            self.assertEqual(st, 409, (name, table, out))
            self.assertIsInstance(error_message(out), str, out)
        self.assertEqual(slot_count(pg), 1)
        pg.sql("INSERT INTO t VALUES (2, 'b')")
        self.converge("m1")
        self.same("public.t", "m1", "the first mirror after the 409s")


# ---------------------------------------------------------------------------
# 11. DELETE stops mirroring, drops the slot and publication
# ---------------------------------------------------------------------------

class DeleteTest(PgMirrorBase):
    def test_delete_drops_slot_and_publication(self):
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE d1 (id int PRIMARY KEY); CREATE TABLE d2 (id int PRIMARY KEY);"
               "INSERT INTO d1 VALUES (1); INSERT INTO d2 VALUES (1)")
        mirror(f, pg, "d1", "public.d1")
        mirror(f, pg, "d2", "public.d2")
        self.converge(["d1", "d2"])
        s1, s2 = source_of(f, "d1"), source_of(f, "d2")
        self.assertEqual(s1["slot"], s2["slot"], "one slot per source database")
        self.assertEqual(s1["publication"], s2["publication"])
        self.assertEqual(slot_count(pg), 1)

        st, out, _ = f.request("DELETE", "/tables/d1")
        self.assertIn(st, (200, 204), out)
        st, out, _ = f.request("GET", "/tables/d1")
        self.assertEqual(st, 404, out)
        self.assertEqual(slot_count(pg), 1, "the slot is still needed by d2")
        self.assertEqual(pg.sql("SELECT string_agg(tablename, ',') FROM pg_publication_tables"), "d2")
        pg.sql("INSERT INTO d1 VALUES (2); INSERT INTO d2 VALUES (2)")
        self.converge("d2")
        self.same("public.d2", "d2")

        # mirrored again after the DELETE
        mirror(f, pg, "d1", "public.d1")
        self.converge(["d1", "d2"])
        self.same("public.d1", "d1", "d1 mirrored again")
        self.restart_floe()
        for name in ("d1", "d2"):
            st, out, _ = f.request("DELETE", "/tables/" + name)
            self.assertIn(st, (200, 204), out)
        self.assertEqual(slot_count(pg), 0, pg.sql("SELECT slot_name FROM pg_replication_slots"))
        self.assertEqual(publication_count(pg), 0, pg.sql("SELECT pubname FROM pg_publication"))
        # and they stay gone after a restart
        self.restart_floe()
        st, out, _ = f.request("GET", "/tables/d1")
        self.assertEqual(st, 404, out)
        time.sleep(1)
        self.assertEqual(slot_count(pg), 0)


if __name__ == "__main__":
    unittest.main()


# ---------------------------------------------------------------------------
# 12. floe mirror: the command line asks the running server through the API
# ---------------------------------------------------------------------------

class CliTest(PgMirrorBase):
    def test_floe_mirror_command(self):
        import subprocess
        from harness import FLOE
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE clitab (id int PRIMARY KEY, v text); INSERT INTO clitab VALUES (1, 'a')")
        uri = "postgresql://postgres@127.0.0.1:%d/postgres" % pg.port
        p = subprocess.run([FLOE, "mirror", uri, "public.clitab", "--server", "127.0.0.1:%d" % f.port,
                            "--database", "db"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        answer = json.loads(p.stdout)
        self.assertEqual(answer["name"], "clitab")
        self.assertEqual(answer["identity"], "primary-key")
        pg.sql("INSERT INTO clitab VALUES (2, 'b')")
        self.converge("clitab")
        self.same("public.clitab", "clitab", "mirrored through floe mirror")
        # The same table again: the server's 409, and a non-zero exit.
        p = subprocess.run([FLOE, "mirror", uri, "public.clitab", "--server", "127.0.0.1:%d" % f.port],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("already exists", p.stdout)
