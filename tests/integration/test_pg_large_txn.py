"""Issue 6: PostgreSQL transactions larger than memory, against real
PostgreSQL 15 clusters.

The cluster runs with logical_decoding_work_mem = 64kB, so PostgreSQL streams
any transaction past 64 kB while it is still in progress (pgoutput protocol
2, Stream Start/Stop/Commit/Abort); floe spools it to disk and applies it at
its Stream Commit. floe runs with flush_bytes = 1 MiB, so a mirrored table
stages a big transaction into several data files that no snapshot shows
until the whole transaction commits.

Checked, with DuckDB reading the Iceberg files:
  - a big transaction (inserts, updates and deletes of rows already staged,
    a rolled-back savepoint, a released one) while small transactions run on
    another table: the tables equal PostgreSQL; the big transaction's rows
    appear in one snapshot that adds several data files; no snapshot of the
    table ever holds part of it;
  - a big transaction that rolls back leaves no trace;
  - a big transaction whose table stops midway (an unsupported ALTER inside
    it) is rolled back in floe: the Iceberg table keeps its last state;
  - kill -9 of floe after it staged part of a big transaction: after the
    restart the table equals PostgreSQL and no snapshot holds part of it.
"""
import json
import os
import time
import unittest

from harness import Floe, current_metadata
from pgmirror import (describe, ice_rows, log_tail, mirror, pg_rows, source_of, wait_phase)
from test_pg_mirror import PgMirrorBase

WORK_MEM = "logical_decoding_work_mem=64kB"
FLUSH_BYTES = 1 << 20
PAD = "repeat(md5(g::text), 3)"  # 96 characters a row


class LargeTxnBase(PgMirrorBase):
    def setUp(self):
        super().setUp()
        # Replace the default cluster and server with the small-memory ones.
        self.pg.stop()
        self.f.stop()
        self.pg = self.start_pg(extra_conf=[WORK_MEM])
        cfg = os.path.join(self.tmp, "floe.json")
        with open(cfg, "w") as fh:
            json.dump({"flush_bytes": FLUSH_BYTES}, fh)
        self.f.args = ["--config", cfg]
        self.f.start()

    def table_dir(self, name):
        return self.f.table_dir(name, "db")

    def snapshot_states(self, name):
        """{snapshot id: sorted rows} of every snapshot of the table."""
        _, md = current_metadata(self.table_dir(name))
        out = {}
        for s in md["snapshots"]:
            _, rows = ice_rows(self.table_dir(name), snapshot_id=s["snapshot-id"], md=md)
            out[s["snapshot-id"]] = sorted(rows)
        return md, out

    def pg_state(self, src):
        return sorted(pg_rows(self.pg, src)[1])

    def assert_atomic(self, name, allowed, what):
        """Every snapshot of the table is one of the allowed states."""
        md, states = self.snapshot_states(name)
        for sid, rows in states.items():
            if not any(rows == a for a in allowed):
                raise AssertionError(
                    "%s: snapshot %d of %s (%d rows) is none of the %d states PostgreSQL had "
                    "at a commit (%s rows): part of a transaction is visible"
                    % (what, sid, name, len(rows), len(allowed), [len(a) for a in allowed]))
        return md


class LargeTransactionTest(LargeTxnBase):
    def test_large_transaction_streamed_and_staged(self):
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE big (id int PRIMARY KEY, n int, pad text, doc text);"
               "ALTER TABLE big ALTER COLUMN doc SET STORAGE EXTERNAL;"
               "CREATE TABLE small (id int PRIMARY KEY, v int);"
               "INSERT INTO big SELECT g, 0, %s FROM generate_series(1, 1000) g;"
               "INSERT INTO small VALUES (1, 0)" % PAD)
        mirror(f, pg, "big", "public.big")
        mirror(f, pg, "small", "public.small")
        self.converge(["big", "small"])
        before = self.pg_state("public.big")

        # Small transactions on another table while the big one is sent.
        from pgmirror import BatchWriter
        w = BatchWriter(pg, lambda rng: "UPDATE small SET v = v + 1 WHERE id = 1")
        w.start()
        try:
            pg.sql("BEGIN;"
                   # 100 kB TOASTed values, staged early in the transaction ...
                   "UPDATE big SET doc = repeat(md5(id::text), 3200) WHERE id <= 3;"
                   "INSERT INTO big SELECT g, 1, %s FROM generate_series(1001, 150000) g;"
                   "UPDATE big SET n = n + 10 WHERE id %% 3 = 0;"     # rows staged already
                   "DELETE FROM big WHERE id %% 7 = 0;"
                   "SAVEPOINT s1;"
                   "INSERT INTO big SELECT g, 2, 'gone' FROM generate_series(200001, 220000) g;"
                   "UPDATE big SET pad = 'gone too' WHERE id < 500;"
                   "ROLLBACK TO s1;"
                   "SAVEPOINT s2;"
                   "INSERT INTO big SELECT g, 3, 'kept' FROM generate_series(300001, 305000) g;"
                   "RELEASE s2;"
                   "UPDATE big SET pad = 'last' WHERE id = 2;"
                   # ... kept by updates that send them as unchanged ('u')
                   "UPDATE big SET n = 99 WHERE id <= 3;"
                   "COMMIT" % PAD)
        finally:
            w.stop()
        after = self.pg_state("public.big")
        self.converge(["big", "small"], timeout=180)
        self.same("public.big", "big", "after a streamed transaction")
        self.same("public.small", "small", "beside a streamed transaction")
        src = source_of(f, "big")
        self.assertGreaterEqual(src["streamed_transactions"], 1, src)
        self.assertGreater(src["spooled_bytes"], 10 << 20, src)
        md = self.assert_atomic("big", [before, after], "streamed transaction")
        big_snaps = [s for s in md["snapshots"]
                     if int(s["summary"].get("added-data-files", "0")) >= 2]
        self.assertTrue(big_snaps, "no snapshot added the staged files together: %s"
                        % [s["summary"] for s in md["snapshots"]])
        self.assertNotIn("gone", json.dumps(after))
        self.assertEqual(pg.sql("SELECT count(*) FROM big WHERE length(doc) = 102400 AND n = 99"),
                         "3")

        # A big transaction that rolls back: streamed, then aborted.
        snaps = len(md["snapshots"])
        pg.sql("BEGIN; INSERT INTO big SELECT g, 9, %s FROM generate_series(400001, 480000) g;"
               "DELETE FROM big WHERE id < 100; ROLLBACK" % PAD)
        pg.sql("UPDATE small SET v = -1 WHERE id = 1")
        self.converge(["big", "small"])
        self.same("public.big", "big", "after a rolled-back streamed transaction")
        _, md = current_metadata(self.table_dir("big"))
        self.assertEqual(len(md["snapshots"]), snaps, "a rolled-back transaction made a snapshot")
        spool = os.path.join(f.data_dir, ".floe", "sources")
        left = [n for d, _, names in os.walk(spool) for n in names if n.endswith(".spool")]
        self.assertEqual(left, [], "spool files left behind")

        # And after a restart the table is whole.
        self.restart_floe()
        self.converge(["big", "small"])
        self.same("public.big", "big", "after a restart")

    def test_large_transaction_rolled_back_when_table_stops(self):
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE big (id int PRIMARY KEY, n int, pad text);"
               "CREATE TABLE other (id int PRIMARY KEY);"
               "INSERT INTO big SELECT g, 0, %s FROM generate_series(1, 500) g" % PAD)
        mirror(f, pg, "big", "public.big")
        mirror(f, pg, "other", "public.other")
        self.converge(["big", "other"])
        before = self.pg_state("public.big")
        _, md = current_metadata(self.table_dir("big"))
        snaps = len(md["snapshots"])
        # 150k rows reach the table in pieces (and are staged) before the
        # ALTER, which floe cannot apply: the table stops and what it
        # applied of the transaction is rolled back.
        pg.sql("BEGIN; INSERT INTO big SELECT g, 1, %s FROM generate_series(501, 150000) g;"
               "INSERT INTO other VALUES (1);"
               "ALTER TABLE big ALTER COLUMN n TYPE text;"
               "INSERT INTO big VALUES (0, 'x', 'y'); COMMIT" % PAD)
        src = wait_phase(f, "big", phases=("error",), timeout=120)
        self.assertIn("column n", src["error"], src)
        # The slot stays where big stopped (nothing of it is lost), so wait
        # for other's rows rather than for the confirmed LSN.
        deadline = time.time() + 60
        while describe(f, "other")["row_count"] < 1 and time.time() < deadline:
            time.sleep(0.2)
        self.same("public.other", "other", "the other table of the transaction")
        _, md = current_metadata(self.table_dir("big"))
        self.assertEqual(len(md["snapshots"]), snaps,
                         "the stopped table committed part of the transaction")
        self.assertEqual(sorted(self.snapshot_states("big")[1][md["current-snapshot-id"]]),
                         before)
        self.assertIn("rolled back", f.read_log())
        self.assertGreater(source_of(f, "other")["streamed_transactions"], 0)
        # Neither a clean shutdown nor the next start commits any of it.
        self.restart_floe()
        wait_phase(f, "big", phases=("error",), timeout=120)
        _, md = current_metadata(self.table_dir("big"))
        self.assertEqual(len(md["snapshots"]), snaps, "a restart committed part of the transaction")


class LargeTransactionCrashTest(LargeTxnBase):
    def test_kill_while_staging(self):
        pg, f = self.pg, self.f
        pg.sql("CREATE TABLE big (id int PRIMARY KEY, n int, pad text);"
               "INSERT INTO big SELECT g, 0, %s FROM generate_series(1, 1000) g" % PAD)
        mirror(f, pg, "big", "public.big")
        self.converge("big")
        before = self.pg_state("public.big")
        # The next start dies right after it staged its first data file.
        f.stop()
        f.env["FLOE_CRASH_POINT"] = "table_after_stage"
        f.start()
        pg.sql("BEGIN; INSERT INTO big SELECT g, 1, %s FROM generate_series(1001, 120000) g;"
               "UPDATE big SET n = 2 WHERE id <= 1000; COMMIT" % PAD)
        after = self.pg_state("public.big")
        deadline = time.time() + 120
        while f.proc.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        self.assertIsNotNone(f.proc.poll(), "floe did not reach the crash point:\n"
                             + log_tail(f))
        del f.env["FLOE_CRASH_POINT"]
        self.assert_atomic("big", [before], "after the crash")
        f.start()
        self.converge("big", timeout=180)
        self.same("public.big", "big", "after kill -9 while staging")
        self.assert_atomic("big", [before, after], "after the restart")


if __name__ == "__main__":
    unittest.main()
