"""Issue 5: durability. A 2xx means the rows are in an fsynced WAL; kill -9 at
any moment loses no acknowledged row and commits no row twice; crashes inside
a commit leave a readable table; torn and corrupt WAL, disk full and a
read-only disk behave as documented. Every check reads the Iceberg files with
DuckDB and python3-avro, never through floe."""
import glob
import json
import os
import random
import shutil
import signal
import tempfile
import threading
import time
import unittest

from harness import (ROOT, Floe, current_metadata, duckq, live_data_and_dvs, live_data_files, local_path,
                     read_avro)

SCHEMA = [{"name": "id", "data_type": "int64", "nullable": False},
          {"name": "batch", "data_type": "int64", "nullable": False},
          {"name": "payload", "data_type": "string", "nullable": True}]
PRELOAD = os.path.join(ROOT, "build", "rel", "preload", "faultfs.so")


def table_rows(table_dir):
    """(id, batch) pairs of the current snapshot, read by DuckDB."""
    files = [local_path(e["data_file"]["file_path"]) for e in live_data_files(table_dir)]
    for f in files:
        assert os.path.exists(f), f
    if not files:
        return []
    got = duckq("SELECT id, batch FROM read_parquet([%s])" % ",".join("'%s'" % f for f in files))
    return [(int(a), int(b)) for a, b in got]


def check_consistent(test, table_dir, acked, sent):
    """acked: batch id -> ids acknowledged; sent: batch id -> ids sent (acked or not)."""
    rows = table_rows(table_dir)
    ids = [r[0] for r in rows]
    test.assertEqual(len(ids), len(set(ids)), "duplicate rows in %s" % table_dir)
    present = set(ids)
    by_batch = {}
    for i, b in rows:
        by_batch.setdefault(b, set()).add(i)
    for b, want in acked.items():
        test.assertTrue(want <= present, "acknowledged batch %d lost in %s" % (b, table_dir))
    for b, got in by_batch.items():
        test.assertIn(b, sent, "rows of a batch never sent")
        test.assertEqual(got, sent[b], "batch %d half-applied in %s" % (b, table_dir))
    return len(ids)


class Loader:
    """Client threads inserting unique batches until stopped; records what was acknowledged."""

    def __init__(self, floe, tables, threads=3, batch_rows=50):
        self.floe, self.tables, self.nthreads, self.batch_rows = floe, tables, threads, batch_rows
        self.lock = threading.Lock()
        self.next_batch = 0
        self.sent = {t: {} for t in tables}
        self.acked = {t: {} for t in tables}
        self.stop_flag = threading.Event()

    def start(self):
        self.stop_flag.clear()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(self.nthreads)]
        for th in self.threads:
            th.start()

    def stop(self):
        self.stop_flag.set()
        for th in self.threads:
            th.join(30)

    def run(self):
        rnd = random.Random()
        while not self.stop_flag.is_set():
            with self.lock:
                b = self.next_batch
                self.next_batch += 1
            table = rnd.choice(self.tables)
            ids = set(range(b * self.batch_rows, (b + 1) * self.batch_rows))
            rows = [{"id": i, "batch": b, "payload": "p%d-%s" % (i, "x" * rnd.randint(0, 40))} for i in ids]
            with self.lock:
                self.sent[table][b] = ids
            mode = "sync" if rnd.random() < 0.3 else "async"
            try:
                status, _, _ = self.floe.request("POST", "/ingest/" + table,
                                                 {"operation": "insert", "request_mode": mode, "data": rows},
                                                 timeout=10)
            except Exception:
                status = None
            if status == 200:
                with self.lock:
                    self.acked[table][b] = ids


class KillTest(unittest.TestCase):
    def test_kill9_torture(self):
        kills = int(os.environ.get("FLOE_TORTURE_KILLS", "30"))
        cfg = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump({"commit_interval_ms": 50}, cfg)
        cfg.close()
        f = Floe(args=["--config", cfg.name]).start()
        tables = ["k1", "k2", "k3"]
        try:
            for t in tables:
                f.create_table(t, SCHEMA)
            loader = Loader(f, tables)
            rnd = random.Random(1234)
            total = 0
            for k in range(kills):
                loader.start()
                time.sleep(rnd.uniform(0.05, 0.6))
                f.kill()
                loader.stop()
                f.start()
                total = sum(check_consistent(self, f.table_dir(t), loader.acked[t], loader.sent[t])
                            for t in tables)
            acked = sum(len(v) for t in tables for v in loader.acked[t].values())
            self.assertGreater(acked, 0)
            self.assertGreaterEqual(total, acked)
            # after a last clean commit the WAL is empty but for segment headers
            for t in tables:
                f.flush(t)
                self.assertLessEqual(f.ok("GET", "/tables/" + t)["wal_bytes"], 64)
        finally:
            f.cleanup()
            os.unlink(cfg.name)


KEYED_SCHEMA = [{"name": "id", "data_type": "int64", "nullable": False, "primary_key": True},
                {"name": "val", "data_type": "string", "nullable": True}]


def keyed_state(table_dir):
    """id -> val of the live rows (data files minus their DVs), read by DuckDB
    and the independent DV decoder."""
    data, dvs = live_data_and_dvs(table_dir)
    state = {}
    if not data:
        return state
    rows = duckq("SELECT filename, id, val, file_row_number FROM read_parquet([%s], filename=true, "
                 "file_row_number=true, union_by_name=true)" % ",".join("'%s'" % local_path(u) for u in data))
    for fname, i, v, pos in rows:
        if int(pos) in dvs.get("file://" + fname, ()):
            continue
        assert int(i) not in state, "key %s live twice" % i
        state[int(i)] = v
    return state


class KeyedLoader:
    """Threads that each own a key range and send insert / upsert / delete
    batches; per key the set of values it may have (None = absent): one value
    after an acknowledged request, more after a request with no answer."""

    def __init__(self, floe, table, threads=3, keys_per_thread=300):
        self.floe, self.table = floe, table
        self.nthreads, self.kpt = threads, keys_per_thread
        self.possible = {}
        self.unknown = []  # (batch value, keys, deleted?) of requests with no answer
        self.lock = threading.Lock()
        self.seq = 0
        self.stop_flag = threading.Event()

    def start(self):
        self.stop_flag.clear()
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True) for n in range(self.nthreads)]
        for th in self.threads:
            th.start()

    def stop(self):
        self.stop_flag.set()
        for th in self.threads:
            th.join(30)

    def run(self, n):
        rnd = random.Random()
        base = n * self.kpt
        while not self.stop_flag.is_set():
            with self.lock:
                self.seq += 1
                tag = "b%d" % self.seq
            keys = rnd.sample(range(base, base + self.kpt), rnd.randint(1, 40))
            op = rnd.choice(["upsert", "upsert", "delete", "insert"])
            if op == "insert":
                with self.lock:
                    keys = [k for k in keys if self.possible.get(k, {None}) == {None}]
                if not keys:
                    continue
            data = [{"id": k} if op == "delete" else {"id": k, "val": tag} for k in keys]
            new = None if op == "delete" else tag
            try:
                st, out, _ = self.floe.request("POST", "/ingest/" + self.table,
                                               {"operation": op, "data": data,
                                                "request_mode": rnd.choice(["sync", "async"])}, timeout=10)
            except Exception:
                st = None
            with self.lock:
                if st == 200:
                    for k in keys:
                        self.possible[k] = {new}
                elif st is None or st >= 500:
                    for k in keys:
                        self.possible.setdefault(k, {None}).add(new)
                    self.unknown.append((new, keys, op))
                    return  # the server is gone; this thread's work is done


class KeyedKillTest(unittest.TestCase):
    def test_kill9_keyed_upsert_delete(self):
        kills = max(10, int(os.environ.get("FLOE_TORTURE_KILLS", "30")) // 2)
        cfg = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump({"commit_interval_ms": 50}, cfg)
        cfg.close()
        f = Floe(args=["--config", cfg.name]).start()
        try:
            f.create_table("kk", KEYED_SCHEMA)
            loader = KeyedLoader(f, "kk")
            rnd = random.Random(99)
            for k in range(kills):
                loader.start()
                time.sleep(rnd.uniform(0.05, 0.5))
                f.kill()
                loader.stop()
                f.start()
                state = keyed_state(f.table_dir("kk"))
                for key, vals in loader.possible.items():
                    self.assertIn(state.get(key), vals, "key %d after kill %d" % (key, k))
                for key in state:
                    self.assertIn(key, loader.possible, "key %d was never written" % key)
                for new, keys, op in loader.unknown:
                    applied = sum(1 for key in keys if state.get(key) == new)
                    if op == "delete":
                        continue  # absent keys may also be absent for other reasons
                    self.assertIn(applied, (0, len(keys)), "batch %s half-applied" % new)
                # from here on the state read is the truth
                for key in loader.possible:
                    loader.possible[key] = {state.get(key)}
                loader.unknown = []
        finally:
            f.cleanup()
            os.unlink(cfg.name)


CRASH_POINTS = ["table_after_data_file", "ice_after_manifests", "ice_after_manifest_list",
                "ice_after_metadata_tmp", "ice_after_publish", "ice_after_hint", "table_after_commit"]


class CrashPointTest(unittest.TestCase):
    def test_crash_inside_commit_at_every_step(self):
        for point in CRASH_POINTS:
            with self.subTest(point=point):
                d = tempfile.mkdtemp(prefix="floe-crash-")
                cfg = os.path.join(d, "floe.json")
                with open(cfg, "w") as fh:
                    json.dump({"orphan_grace_seconds": 0}, fh)
                f = Floe(data_dir=os.path.join(d, "data"), args=["--config", cfg]).start()
                try:
                    f.create_table("c", SCHEMA)
                    f.ingest("c", [{"id": i, "batch": 0} for i in range(10)], mode="sync")
                    f.stop()
                    f.env["FLOE_CRASH_POINT"] = point
                    f.start()
                    st, out, _ = f.request("POST", "/ingest/c", {"operation": "insert", "data": [
                        {"id": 100 + i, "batch": 1} for i in range(5)]})
                    self.assertEqual(st, 200, out)  # durable in the WAL
                    try:  # the server aborts inside this commit
                        f.request("POST", "/tables/c/flush", timeout=10)
                    except Exception:
                        pass
                    rc = f.proc.wait(20)
                    self.assertNotEqual(rc, 0, "floe should have aborted at " + point)
                    f.stop()
                    del f.env["FLOE_CRASH_POINT"]
                    f.start()
                    hint, md = current_metadata(f.table_dir("c"))
                    self.assertEqual(md["format-version"], 3)
                    snap = [s for s in md["snapshots"] if s["snapshot-id"] == md["current-snapshot-id"]][0]
                    read_avro(local_path(snap["manifest-list"]))
                    rows = table_rows(f.table_dir("c"))
                    self.assertEqual(sorted(r[0] for r in rows), list(range(10)) + list(range(100, 105)))
                    # the crash's leftovers are gone: every data file is referenced
                    live = {os.path.basename(local_path(e["data_file"]["file_path"]))
                            for e in live_data_files(f.table_dir("c"))}
                    self.assertEqual(set(os.listdir(os.path.join(f.table_dir("c"), "data"))), live)
                    self.assertEqual([n for n in os.listdir(os.path.join(f.table_dir("c"), "metadata"))
                                      if n.endswith(".tmp")], [])
                finally:
                    f.cleanup()
                    shutil.rmtree(d, ignore_errors=True)


class WalDamageTest(unittest.TestCase):
    def setUp(self):
        self.cfg = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump({"commit_interval_ms": 3600000}, self.cfg)  # rows stay in the WAL
        self.cfg.close()
        self.f = Floe(args=["--config", self.cfg.name]).start()
        self.f.create_table("w", SCHEMA)

    def tearDown(self):
        self.f.cleanup()
        os.unlink(self.cfg.name)

    def wal_segments(self):
        return sorted(glob.glob(os.path.join(self.f.data_dir, ".floe", "wal", "db", "w", "*.wal")))

    def fill_and_kill(self):
        for b in range(3):
            self.f.ingest("w", [{"id": b * 10 + i, "batch": b, "payload": "v"} for i in range(10)])
        self.f.kill()
        segs = [s for s in self.wal_segments() if os.path.getsize(s) > 32]
        self.assertEqual(len(segs), 1)
        return segs[0]

    def test_torn_tail_ends_replay_at_last_good_record(self):
        seg = self.fill_and_kill()
        os.truncate(seg, os.path.getsize(seg) - 7)
        self.f.start()
        self.assertIn("torn record", self.f.read_log())
        self.f.flush("w")
        rows = table_rows(self.f.table_dir("w"))
        self.assertEqual(sorted({b for _, b in rows}), [0, 1])
        # the log continues after the cut
        self.f.ingest("w", [{"id": 99, "batch": 9}], mode="sync")
        self.assertIn((99, 9), table_rows(self.f.table_dir("w")))

    def test_flipped_byte_in_the_middle_refuses_the_table(self):
        seg = self.fill_and_kill()
        with open(seg, "r+b") as fh:
            fh.seek(32 + 40)  # inside the first record
            b = fh.read(1)
            fh.seek(32 + 40)
            fh.write(bytes([b[0] ^ 0xFF]))
        size_before = os.path.getsize(seg)
        self.f.start()
        log = self.f.read_log()
        self.assertIn("corrupt record at offset 32", log)
        self.assertIn(os.path.basename(seg), log)
        st, _, _ = self.f.request("GET", "/tables/w")
        self.assertEqual(st, 404)
        self.assertEqual(os.path.getsize(seg), size_before)  # nothing dropped


@unittest.skipUnless(os.path.exists(PRELOAD), "faultfs.so not built")
class DiskFaultTest(unittest.TestCase):
    def setUp(self):
        self.ctl = tempfile.NamedTemporaryFile("w", delete=False)
        self.ctl.close()
        self.f = Floe(env={"LD_PRELOAD": PRELOAD, "FLOE_FAULT_CTL": self.ctl.name}).start()
        self.f.create_table("d", SCHEMA)

    def tearDown(self):
        self.set_fault("")
        self.f.cleanup()
        os.unlink(self.ctl.name)

    def set_fault(self, text):
        with open(self.ctl.name, "w") as fh:
            fh.write(text)

    def test_disk_full_on_data_files_then_recovery(self):
        f = self.f
        f.ingest("d", [{"id": 1, "batch": 1}], mode="sync")
        self.set_fault("enospc " + f.table_dir("d"))
        st, out, _ = f.request("POST", "/ingest/d", {"operation": "insert", "data": [{"id": 2, "batch": 2}]})
        self.assertEqual(st, 200, out)  # durable in the WAL, which is elsewhere
        deadline = time.time() + 10
        next_id = 1000
        while time.time() < deadline:
            st, out, hdrs = f.request("POST", "/ingest/d", {"operation": "insert",
                                                            "data": [{"id": next_id, "batch": 3}]})
            next_id += 1
            if st != 200:
                break
            time.sleep(0.2)
        self.assertEqual(st, 507, out)
        self.assertIn("No space left", out["message"])
        self.assertIn("Retry-After", hdrs)
        self.assertEqual(f.ok("GET", "/tables/d")["status"], "read-only")
        self.set_fault("")
        deadline = time.time() + 15
        while time.time() < deadline and f.ok("GET", "/tables/d")["status"] != "ok":
            time.sleep(0.1)
        f.ingest("d", [{"id": 4, "batch": 4}], mode="sync")
        ids = sorted(r[0] for r in table_rows(f.table_dir("d")))
        self.assertIn(1, ids)
        self.assertIn(2, ids)
        self.assertIn(4, ids)
        self.assertEqual(len(ids), len(set(ids)))

    def test_sigterm_while_read_only_does_not_hang(self):
        f = self.f
        self.set_fault("enospc " + f.table_dir("d"))
        result = {}

        def sync_request():
            result["status"] = f.request("POST", "/ingest/d", {"operation": "insert", "request_mode": "sync",
                                                               "data": [{"id": 42, "batch": 42}]}, timeout=60)[0]
        th = threading.Thread(target=sync_request)
        th.start()
        time.sleep(1.0)  # the commit fails, the request waits for a commit that cannot happen
        t0 = time.time()
        rc = f.stop(signal.SIGTERM, timeout=45)
        th.join(10)
        self.assertLess(time.time() - t0, 40)
        self.assertNotEqual(result.get("status"), 200)  # not visible, so not a sync 2xx
        self.assertEqual(rc, 1)  # rows left uncommitted (safe in the WAL)
        self.set_fault("")
        f.start()
        self.assertIn((42, 42), table_rows(f.table_dir("d")))  # replayed from the WAL at start

    def test_disk_full_on_wal_rejects_and_recovers(self):
        f = self.f
        self.set_fault("enospc " + os.path.join(f.data_dir, ".floe"))
        st, out, _ = f.request("POST", "/ingest/d", {"operation": "insert", "data": [{"id": 5, "batch": 5}]})
        self.assertEqual(st, 507, out)
        self.assertIn("write-ahead log", out["message"])
        self.set_fault("")
        f.ingest("d", [{"id": 6, "batch": 6}], mode="sync")
        self.assertEqual(sorted(r[0] for r in table_rows(f.table_dir("d"))), [6])

    def test_read_only_data_dir(self):
        f = self.f
        f.ingest("d", [{"id": 1, "batch": 1}], mode="sync")
        self.set_fault("erofs " + f.table_dir("d"))
        f.ingest("d", [{"id": 2, "batch": 2}])
        deadline = time.time() + 10
        status = None
        while time.time() < deadline:
            status = f.ok("GET", "/tables/d")
            if status["status"] == "read-only":
                break
            time.sleep(0.1)
        self.assertEqual(status["status"], "read-only")
        self.assertIn("Read-only file system", status["error"])
        st, out, _ = f.request("POST", "/ingest/d", {"operation": "insert", "data": [{"id": 3, "batch": 3}]})
        self.assertEqual(st, 503, out)
        self.set_fault("")
        deadline = time.time() + 15
        while time.time() < deadline and f.ok("GET", "/tables/d")["status"] != "ok":
            time.sleep(0.1)
        f.ingest("d", [{"id": 4, "batch": 4}], mode="sync")
        self.assertEqual(sorted(r[0] for r in table_rows(f.table_dir("d"))), [1, 2, 4])

    def test_fsync_failure_on_wal_makes_table_read_only_until_restart(self):
        f = self.f
        self.set_fault("fsynceio " + os.path.join(f.data_dir, ".floe"))
        st, out, _ = f.request("POST", "/ingest/d", {"operation": "insert", "data": [{"id": 7, "batch": 7}]})
        self.assertIn(st, (503,), out)
        self.set_fault("")
        st, out, _ = f.request("POST", "/ingest/d", {"operation": "insert", "data": [{"id": 8, "batch": 8}]})
        self.assertEqual(st, 503, out)
        self.assertIn("restart", out["message"])
        f.stop()
        f.start()
        f.ingest("d", [{"id": 9, "batch": 9}], mode="sync")
        ids = [r[0] for r in table_rows(f.table_dir("d"))]
        self.assertIn(9, ids)
        self.assertNotIn(8, ids)


class ShutdownTest(unittest.TestCase):
    def test_sigterm_with_requests_in_flight(self):
        cfg = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump({"commit_interval_ms": 3600000}, cfg)
        cfg.close()
        f = Floe(args=["--config", cfg.name]).start()
        try:
            f.create_table("s", SCHEMA)
            loader = Loader(f, ["s"], threads=4)
            loader.start()
            time.sleep(0.5)
            rc = f.stop(signal.SIGTERM)
            loader.stop()
            self.assertEqual(rc, 0)
            acked = loader.acked["s"]
            self.assertGreater(len(acked), 0)
            # committed at shutdown: the Iceberg table alone has every acked row
            check_consistent(self, f.table_dir("s"), acked, loader.sent["s"])
            wal = glob.glob(os.path.join(f.data_dir, ".floe", "wal", "db", "s", "*.wal"))
            self.assertLessEqual(sum(os.path.getsize(w) for w in wal), 64)
        finally:
            f.cleanup()
            os.unlink(cfg.name)


if __name__ == "__main__":
    unittest.main()


class BackpressureTest(unittest.TestCase):
    def test_table_behind_answers_429_then_recovers(self):
        cfg = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump({"commit_interval_ms": 3600000, "max_table_memory_bytes": 1048576,
                   "flush_bytes": 1 << 30}, cfg)
        cfg.close()
        f = Floe(args=["--config", cfg.name]).start()
        try:
            f.create_table("bp", SCHEMA, table_config={"mooncake": {"append_only": True}})
            acked, status, hdrs, out = 0, None, {}, None
            for b in range(200):
                rows = [{"id": b * 100 + i, "batch": b, "payload": "x" * 200} for i in range(100)]
                status, out, hdrs = f.request("POST", "/ingest/bp", {"operation": "insert", "data": rows})
                if status != 200:
                    break
                acked += 1
            self.assertEqual(status, 429, out)
            self.assertIn("retry", out["message"])
            self.assertEqual(hdrs.get("Retry-After"), "1")
            self.assertGreater(acked, 0)
            f.flush("bp")  # the writer catches up: accepted again
            f.ingest("bp", [{"id": 10 ** 9, "batch": 999}], mode="sync")
            self.assertEqual(len(table_rows(f.table_dir("bp"))), acked * 100 + 1)
        finally:
            f.cleanup()
            os.unlink(cfg.name)
