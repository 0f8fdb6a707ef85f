"""Issue 4: tables without a primary key use the full row as identity: insert
and delete only, a delete removes one matching row. Read back with DuckDB and
the independent DV decoder (tests/tools/dv_check.py)."""
import collections
import unittest

from harness import Floe, duckq, live_data_and_dvs, local_path

SCHEMA = [{"name": "a", "data_type": "int64", "nullable": True},
          {"name": "s", "data_type": "string", "nullable": True},
          {"name": "f", "data_type": "float64", "nullable": True}]


def live_rows(table_dir):
    """Multiset of (a, s, f) of the live rows, f as text."""
    data, dvs = live_data_and_dvs(table_dir)
    out = collections.Counter()
    if not data:
        return out
    rows = duckq("SELECT filename, a, s, CASE WHEN f = 0 THEN '0' ELSE CAST(f AS VARCHAR) END, file_row_number "
                 "FROM read_parquet([%s], filename=true, file_row_number=true)"
                 % ",".join("'%s'" % local_path(u) for u in data))
    for fname, a, s, f, pos in rows:
        if int(pos) not in dvs.get("file://" + fname, ()):
            out[(a, s, f)] += 1
    return out


class FullRowTest(unittest.TestCase):
    def setUp(self):
        self.f = Floe().start()
        self.f.create_table("fr", SCHEMA)

    def tearDown(self):
        self.f.cleanup()

    def test_delete_removes_one_matching_row(self):
        f = self.f
        rows = [{"a": 1, "s": "x", "f": 1.5}, {"a": 1, "s": "x", "f": 1.5}, {"a": 1, "s": "x", "f": 1.5},
                {"a": None, "s": None, "f": None}, {"a": 2, "s": "y", "f": -0.0}, {"a": 3, "s": "z", "f": "NaN"}]
        f.ingest("fr", rows, mode="sync")
        out = f.ok("POST", "/ingest/fr", {"operation": "delete", "request_mode": "sync",
                                           "data": [{"a": 1, "s": "x", "f": 1.5}, {"a": 9, "s": "none", "f": 0}]})
        self.assertEqual(out["deleted"], 1)
        got = live_rows(f.table_dir("fr"))
        self.assertEqual(got[("1", "x", "1.5")], 2)
        # -0.0 matches +0.0, NaN matches NaN, null matches null
        out = f.ok("POST", "/ingest/fr", {"operation": "delete", "request_mode": "sync", "data": [
            {"a": 2, "s": "y", "f": 0.0}, {"a": 3, "s": "z", "f": "NaN"}, {"a": None, "s": None, "f": None}]})
        self.assertEqual(out["deleted"], 3)
        got = live_rows(f.table_dir("fr"))
        self.assertEqual(sum(got.values()), 2)
        # the index survives a restart: two copies left, then one, then none
        f.stop()
        f.start()
        for left in (1, 0):
            out = f.ok("POST", "/ingest/fr", {"operation": "delete", "request_mode": "sync",
                                               "data": [{"a": 1, "s": "x", "f": 1.5}]})
            self.assertEqual(out["deleted"], 1)
            self.assertEqual(live_rows(f.table_dir("fr"))[("1", "x", "1.5")], left)
        out = f.ok("POST", "/ingest/fr", {"operation": "delete", "data": [{"a": 1, "s": "x", "f": 1.5}]})
        self.assertEqual(out["deleted"], 0)

    def test_delete_of_rows_still_in_memory_and_in_files(self):
        f = self.f
        f.ingest("fr", [{"a": i, "s": "v", "f": 1.0} for i in range(10)], mode="sync")  # in a file
        f.ingest("fr", [{"a": i, "s": "v", "f": 1.0} for i in range(5)])  # in memory
        out = f.ok("POST", "/ingest/fr", {"operation": "delete", "request_mode": "sync",
                                           "data": [{"a": i, "s": "v", "f": 1.0} for i in range(3)]})
        self.assertEqual(out["deleted"], 3)
        got = live_rows(f.table_dir("fr"))
        self.assertEqual(sum(got.values()), 12)
        for i in range(5):
            self.assertEqual(got[(str(i), "v", "1.0")], 1 if i < 3 else 2)

    def test_upsert_and_update_need_a_key(self):
        for op in ("upsert", "update"):
            st, out, _ = self.f.request("POST", "/ingest/fr", {"operation": op, "data": [{"a": 1}]})
            self.assertEqual(st, 400)
            self.assertIn("primary key", out["message"])


if __name__ == "__main__":
    unittest.main()
