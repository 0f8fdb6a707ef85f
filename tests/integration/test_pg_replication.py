"""Issue 6, step 1: the logical replication client (src/source/pg/replication.c)
and the pgoutput decoder against a real PostgreSQL 15, through
tests/tools/pgrepl_tail.

A private cluster (PgCluster: own temp dir, free port, 127.0.0.1, stopped
after) gets a table with a primary key and an out-of-line TOASTed text column
and a publication. pgrepl_tail creates the slot and streams while the test
runs INSERT, an UPDATE of a non-TOAST column of the row holding a 100 KB value
(that value must arrive as 'u', unchanged), a key-changing UPDATE, DELETE,
TRUNCATE, and ALTER TABLE ADD COLUMN followed by an INSERT (a new Relation
message with the column). The printed messages must be exactly the expected
sequence, value by value. Then the slot's confirmed_flush_lsn must have moved
to at least the last commit's end LSN, which the tool confirmed.
"""
import hashlib
import json
import os
import re
import signal
import subprocess
import tempfile
import time
import unittest

from pgcluster import PgCluster

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TAIL = os.environ.get("PGREPL_TAIL_BIN", os.path.join(ROOT, "build", "rel", "tools", "pgrepl_tail"))


def lsn(s):
    hi, lo = s.split("/")
    return int(hi, 16) << 32 | int(lo, 16)


def big_value():
    """The 102400-byte value SQL builds with string_agg(md5(i::text))."""
    return "".join(hashlib.md5(str(i).encode()).hexdigest() for i in range(1, 3201))


BIG_SQL = "(SELECT string_agg(md5(i::text), '' ORDER BY i) FROM generate_series(1, 3200) i)"
U = {"unchanged": True}


class PgReplicationTest(unittest.TestCase):
    def setUp(self):
        if not os.path.exists(TAIL):
            r = subprocess.run(["make", "-C", ROOT, os.path.relpath(TAIL, ROOT)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                self.fail("building %s failed:\n%s" % (TAIL, r.stdout[-4000:]))

    def wait_for(self, what, cond, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = cond()
            if v:
                return v
            time.sleep(0.05)
        self.fail("timed out waiting for " + what)

    def test_pg_replication_stream(self):
        with PgCluster() as pg, tempfile.TemporaryDirectory(prefix="floe-tail-") as tmp:
            pg.sql("CREATE TABLE t (id int PRIMARY KEY, note text, big text);"
                   "ALTER TABLE t ALTER COLUMN big SET STORAGE EXTERNAL;"
                   "CREATE TABLE other (x int);"
                   "CREATE PUBLICATION pub FOR TABLE t")
            out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
            out, err = open(out_path, "w"), open(err_path, "w")
            proc = subprocess.Popen([TAIL, pg.dsn(replication="database"), "floe_slot", "pub", "25"],
                                    stdout=out, stderr=err)

            def stderr_text():
                with open(err_path) as f:
                    return f.read()

            def lines():
                with open(out_path) as f:
                    return [json.loads(l) for l in f.read().splitlines()]

            try:
                self.wait_for("pgrepl_tail to stream",
                              lambda: "streaming slot" in stderr_text() or proc.poll() is not None)
                self.assertIsNone(proc.poll(), "pgrepl_tail exited:\n" + stderr_text())
                slot0 = pg.sql("SELECT confirmed_flush_lsn FROM pg_replication_slots "
                               "WHERE slot_name = 'floe_slot'")
                self.assertTrue(slot0, "slot floe_slot was not created")

                pg.sql("INSERT INTO t VALUES (1, 'one', %s), (2, 'two', 'small')" % BIG_SQL)
                # The 100 KB value is out of line (TOASTed), so an update of
                # another column leaves it unchanged ('u') in the stream.
                self.assertEqual(pg.sql("SELECT pg_column_size(big) > 100000 FROM t WHERE id = 1"), "t")
                pg.sql("UPDATE t SET note = 'uno' WHERE id = 1")
                pg.sql("UPDATE t SET id = 3 WHERE id = 2")
                pg.sql("INSERT INTO other VALUES (1)")  # not published: no messages
                pg.sql("DELETE FROM t WHERE id = 3")
                pg.sql("TRUNCATE t")
                pg.sql("ALTER TABLE t ADD COLUMN extra int DEFAULT 7")
                pg.sql("INSERT INTO t (id, note) VALUES (4, E'four \"q\" \\\\ \\n')")
                end = lsn(pg.sql("SELECT pg_current_wal_lsn()"))

                # The last Commit is printed; then the tool confirms past it.
                self.wait_for("the last commit", lambda: any(
                    m["type"] == "Commit" and lsn(m["end_lsn"]) >= end for m in lines()))

                def confirmed():
                    c = [lsn(x) for x in re.findall(r"confirmed flush (\S+)", stderr_text())]
                    return c and max(c) >= end and max(c)

                tool_confirmed = self.wait_for("a confirmation past the last commit", confirmed)

                def slot_lsn():
                    v = pg.sql("SELECT confirmed_flush_lsn FROM pg_replication_slots "
                               "WHERE slot_name = 'floe_slot'")
                    return lsn(v) if lsn(v) >= end else None

                slot_now = self.wait_for("confirmed_flush_lsn to advance", slot_lsn)
                self.assertGreater(slot_now, lsn(slot0))
                self.assertLessEqual(slot_now, tool_confirmed)
            finally:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
                try:
                    rc = proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    rc = proc.wait()
                out.close()
                err.close()
            self.assertEqual(rc, 0, "pgrepl_tail failed:\n" + stderr_text())

            got = lines()
            xids = []
            for m in got:
                if m["type"] == "Begin":
                    xids.append(m["xid"])
                for k in ("final_lsn", "commit_lsn", "end_lsn"):
                    m.pop(k, None)
            self.assertEqual(len(xids), 6, got)
            self.assertEqual(len(set(xids)), 6, "distinct transactions")
            rel = {"type": "Relation", "relation": "public.t", "replident": "d",
                   "columns": ["id", "note", "big"], "key": ["id"]}
            rel2 = dict(rel, columns=["id", "note", "big", "extra"])
            x1, x2, x3, x4, x5, x6 = xids
            tx = lambda x, *msgs: ([{"type": "Begin", "xid": x}] + [dict(m, xid=x) for m in msgs]
                                   + [{"type": "Commit", "xid": x}])
            change = lambda typ, **kw: dict({"type": typ, "relation": "public.t"}, **kw)
            expected = (
                tx(x1, rel, change("Insert", new=["1", "one", big_value()]),
                   change("Insert", new=["2", "two", "small"])) +
                tx(x2, change("Update", new=["1", "uno", U])) +
                tx(x3, change("Update", old_kind="K", old=["2", None, None],
                              new=["3", "two", "small"])) +
                tx(x4, change("Delete", old_kind="K", old=["3", None, None])) +
                # TRUNCATE gives the table a new relfilenode, which invalidates
                # pgoutput's cache entry: the Relation is sent again.
                tx(x5, rel, {"type": "Truncate", "relations": ["public.t"], "cascade": 0,
                        "restart_identity": 0}) +
                tx(x6, rel2, change("Insert", new=["4", 'four "q" \\ \n', None, "7"])))
            self.assertEqual(len(got), len(expected), "\n".join(json.dumps(m)[:200] for m in got))
            for i, (g, e) in enumerate(zip(got, expected)):
                self.assertEqual(g, e, "message %d" % i)

    def test_pg_replication_errors(self):
        """libpq and server errors surface as FLOE_* codes with the server's
        message and SQLSTATE (pgrepl_tail prints "(code)" after the text)."""
        def run(pg, slot, pub, seconds="2", wait=True):
            p = subprocess.Popen([TAIL, pg.dsn(replication="database"), slot, pub, seconds],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if not wait:
                return p
            _, err = p.communicate(timeout=30)
            return p.returncode, err

        rc, err = run(_NoServer(), "s", "p")
        self.assertEqual(rc, 1)
        self.assertIn("pgrepl: connect:", err)
        self.assertIn("(-2)", err)  # FLOE_EIO

        with PgCluster() as pg:
            pg.sql("CREATE TABLE t (id int PRIMARY KEY)")
            # A publication that does not exist: PostgreSQL says so at the
            # first change, through the stream (42704 -> FLOE_ENOTFOUND).
            p = run(pg, "s1", "nope", "20", wait=False)
            self.wait_for("streaming", lambda: p.poll() is not None or pg.sql(
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 's1' AND active") == "1")
            pg.sql("INSERT INTO t VALUES (1)")
            _, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 1, err)
            self.assertRegex(err, r'publication "nope" does not exist.*SQLSTATE 42704\) \(-4\)')
            # A slot in use by another connection (55006 -> FLOE_EBUSY).
            p = run(pg, "s2", "nope", "20", wait=False)
            try:
                self.wait_for("s2 active", lambda: p.poll() is not None or pg.sql(
                    "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 's2' AND active")
                    == "1")
                rc, err = run(pg, "s2", "nope", "1")
                self.assertEqual(rc, 1, err)
                self.assertRegex(err, r'START_REPLICATION: .*slot "s2" is active.*55006\) \(-7\)')
            finally:
                p.terminate()
                p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0)
            rc, err = run(pg, "Bad-Name", "p")
            self.assertEqual(rc, 1)
            self.assertIn("slot name 'Bad-Name'", err)

        with PgCluster(extra_conf=["wal_level=replica"]) as pg:
            rc, err = run(pg, "s", "p")
            self.assertEqual(rc, 1)
            self.assertRegex(err, r"logical decoding requires wal_level >= logical.*55000\) \(-1\)")
            self.assertEqual(pg.sql("SELECT count(*) FROM pg_replication_slots"), "0")


class _NoServer:
    """A dsn() to a port nothing listens on (a just-closed ephemeral port)."""

    def dsn(self, **extra):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return "host=127.0.0.1 port=%d dbname=postgres user=postgres replication=database" % port


if __name__ == "__main__":
    unittest.main()
