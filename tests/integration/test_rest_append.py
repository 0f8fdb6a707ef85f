"""Issue 3: the REST append path end to end.

A real floe server over HTTP; what it writes is read back by DuckDB
(read_parquet, parquet_schema, parquet_metadata) and python3-avro, never by
floe itself.
"""
import datetime
import json
import math
import os
import struct
import unittest
import uuid as uuidlib

from harness import Floe, current_metadata, duckq, live_data_files, local_path, read_avro

ALL_TYPES = [
    {"name": "id", "data_type": "int64", "nullable": False},
    {"name": "b", "data_type": "boolean", "nullable": True},
    {"name": "i16", "data_type": "int16", "nullable": True},
    {"name": "i32", "data_type": "int32", "nullable": True},
    {"name": "f32", "data_type": "float32", "nullable": True},
    {"name": "f64", "data_type": "float64", "nullable": True},
    {"name": "d9", "data_type": "decimal(9,2)", "nullable": True},
    {"name": "d18", "data_type": "decimal(18,4)", "nullable": True},
    {"name": "d38", "data_type": "decimal(38,10)", "nullable": True},
    {"name": "s", "data_type": "string", "nullable": True},
    {"name": "bin", "data_type": "binary", "nullable": True},
    {"name": "dt", "data_type": "date32", "nullable": True},
    {"name": "ts", "data_type": "timestamp", "nullable": True},
    {"name": "tstz", "data_type": "timestamptz", "nullable": True},
    {"name": "u", "data_type": "uuid", "nullable": True},
    {"name": "tm", "data_type": "time", "nullable": True},
]

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def micros(text):
    """Expected microseconds for an ISO-8601 text (offset -> UTC; none -> wall time)."""
    t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    d = t - EPOCH
    return (d.days * 86400 + d.seconds) * 1000000 + d.microseconds


def rows_all_types():
    rows = [
        {"id": -9223372036854775808, "b": True, "i16": -32768, "i32": -2147483648,
         "f32": -3.4028234663852886e38, "f64": -1.7976931348623157e308, "d9": "-9999999.99",
         "d18": "-99999999999999.9999", "d38": "-9999999999999999999999999999.9999999999",
         "s": "", "bin": "", "dt": "0001-01-01", "ts": "0001-01-01T00:00:00",
         "tstz": "1970-01-01T00:00:00Z", "u": "00000000-0000-0000-0000-000000000000",
         "tm": "00:00:00"},
        {"id": 9223372036854775807, "b": False, "i16": 32767, "i32": 2147483647,
         "f32": 3.4028234663852886e38, "f64": 1.7976931348623157e308, "d9": 9999999.99,
         "d18": "99999999999999.9999", "d38": "9999999999999999999999999999.9999999999",
         "s": "héllo wörld — 日本語 🚀", "bin": "AAEC/w==", "dt": "9999-12-31",
         "ts": "9999-12-31T23:59:59.999999", "tstz": "2024-03-01T12:34:56.789+02:00",
         "u": "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF", "tm": "24:00:00"},
        {"id": 0, "b": None, "i16": None, "i32": None, "f32": None, "f64": None, "d9": None,
         "d18": None, "d38": None, "s": None, "bin": None, "dt": None, "ts": None,
         "tstz": None, "u": None, "tm": None},
        {"id": 1, "f32": "NaN", "f64": "NaN", "s": "tab\there \"quoted\" \\ back\nslash",
         "d9": "0.01", "d38": "0.0000000001", "dt": "2024-02-29", "ts": "2024-02-29 23:59:59.5",
         "tm": "12:34:56.5"},
        {"id": 2, "f32": "Infinity", "f64": "-Infinity", "d9": "-0.5", "i16": 0,
         "s": "\u0000nul inside", "ts": 1700000000123456, "tstz": "2024-03-01T00:00:00-05:30",
         "tm": 1},
        {"id": 3, "f32": -0.0, "f64": -0.0, "d18": 12.5, "s": "x" * 5000,
         "u": "123e4567-e89b-12d3-a456-426614174000", "bin": "3q2+7w=="},
        {"id": 4, "f64": 0.1, "f32": 0.1, "d38": "12345678901234567890123456.7890123456",
         "tm": "23:59:59.999999"},
        {"id": 5, "f64": 2.5e-308, "f32": 1.4e-45},
    ]
    return rows


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def expected_text(col, v):
    """What DuckDB prints (after the casts in SELECT_SQL) for the value sent."""
    if v is None:
        return None
    t = col["data_type"]
    if t == "boolean":
        return "true" if v else "false"
    if t in ("int16", "int32", "int64"):
        return str(v)
    if t.startswith("decimal"):
        scale = int(t.split(",")[1].rstrip(")"))
        from decimal import Decimal, getcontext
        getcontext().prec = 60
        return format(Decimal(str(v)).quantize(Decimal(1).scaleb(-scale)), "f")
    if t == "string":
        return v.encode("utf-8").hex().upper()
    if t == "binary":
        import base64
        return base64.b64decode(v).hex().upper()
    if t == "date32":
        return v
    if t in ("timestamp", "timestamptz"):
        return str(v if isinstance(v, int) else micros(v))
    if t == "uuid":
        return str(uuidlib.UUID(v))
    if t == "time":
        if isinstance(v, int):
            return str(v)
        hms, _, frac = v.partition(".")
        h, m, s = (int(x) for x in hms.split(":"))
        return str(((h * 60 + m) * 60 + s) * 1000000 + int((frac + "000000")[:6]))
    raise AssertionError(t)


def float_matches(col, sent, got):
    if sent is None:
        return got is None
    val = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}.get(sent, sent)
    if col["data_type"] == "float32":
        val = f32(val)
    g = float(got)
    if col["data_type"] == "float32":
        g = f32(g)  # DuckDB prints the shortest text that round-trips as float32
    if math.isnan(val):
        return math.isnan(g)
    return g == val and math.copysign(1, g) == math.copysign(1, val)


def select_sql(files):
    exprs = []
    for c in ALL_TYPES:
        n, t = c["name"], c["data_type"]
        if t in ("binary", "string"):
            # hex: the C API's text form stops at a NUL byte
            exprs.append("hex(%s)" % n)
        elif t in ("timestamp", "timestamptz", "time"):
            exprs.append("epoch_us(%s)" % n)
        elif t in ("float32", "float64"):
            # repr-exact text: DuckDB prints the shortest round-trip form
            exprs.append("CAST(%s AS VARCHAR)" % n)
        else:
            exprs.append("CAST(%s AS VARCHAR)" % n)
    return "SELECT %s FROM read_parquet([%s]) ORDER BY id" % (
        ", ".join(exprs), ", ".join("'%s'" % f for f in files))


class RestAppendTest(unittest.TestCase):
    def setUp(self):
        self.floe = Floe().start()

    def tearDown(self):
        self.floe.cleanup()

    def data_files(self, name):
        return [local_path(e["data_file"]["file_path"]) for e in live_data_files(self.floe.table_dir(name))]

    def test_health_and_help(self):
        status, out, _ = self.floe.request("GET", "/health")
        self.assertEqual(status, 200)
        self.assertEqual(out["status"], "healthy")

    def test_every_type_round_trips_through_duckdb(self):
        f = self.floe
        f.create_table("all", ALL_TYPES)
        rows = rows_all_types()
        f.ingest("all", rows[:3], mode="sync")
        f.ingest("all", rows[3:])
        f.flush("all")
        files = self.data_files("all")
        self.assertEqual(len(files), 2)
        got = duckq(select_sql(files))
        self.assertEqual(len(got), len(rows))
        for sent, row in zip(sorted(rows, key=lambda r: r["id"]), got):
            for i, col in enumerate(ALL_TYPES):
                v = sent.get(col["name"])
                if col["data_type"] in ("float32", "float64"):
                    self.assertTrue(float_matches(col, v, row[i]),
                                    "id %s col %s: sent %r got %r" % (sent["id"], col["name"], v, row[i]))
                else:
                    self.assertEqual(row[i], expected_text(col, v),
                                     "id %s col %s" % (sent["id"], col["name"]))

    def test_parquet_schema_has_field_ids_and_types(self):
        f = self.floe
        f.create_table("all", ALL_TYPES)
        f.ingest("all", rows_all_types(), mode="sync")
        path = self.data_files("all")[0]
        got = duckq("SELECT name, field_id, type, converted_type, logical_type, repetition_type "
                    "FROM parquet_schema('%s')" % path)
        by_name = {r[0]: r for r in got}
        for i, col in enumerate(ALL_TYPES):
            r = by_name[col["name"]]
            self.assertEqual(r[1], str(i + 1), col)
            self.assertEqual(r[5], "OPTIONAL" if col["nullable"] else "REQUIRED")
        self.assertEqual(by_name["i16"][2], "INT32")
        self.assertIn("IntType", by_name["i16"][4] or "")
        # DuckDB 1.5 prints the bit width as a raw byte (0x10) in this column
        lt = (by_name["i16"][4] or "").replace(" ", "")
        self.assertTrue("bitWidth=16" in lt or "bitWidth=\x10" in lt, lt)
        self.assertEqual(by_name["d9"][2], "INT32")
        self.assertEqual(by_name["d18"][2], "INT64")
        self.assertEqual(by_name["d38"][2], "FIXED_LEN_BYTE_ARRAY")
        self.assertEqual(by_name["u"][2], "FIXED_LEN_BYTE_ARRAY")
        self.assertEqual(by_name["s"][3], "UTF8")
        self.assertEqual(by_name["ts"][3], "TIMESTAMP_MICROS")
        self.assertEqual(by_name["dt"][3], "DATE")
        self.assertEqual(by_name["tm"][2], "INT64")
        self.assertEqual(by_name["tm"][3], "TIME_MICROS")
        lt = (by_name["tm"][4] or "").replace(" ", "")
        self.assertIn("TimeType", lt)
        self.assertTrue("isAdjustedToUTC=0" in lt or "isAdjustedToUTC=false" in lt, lt)
        self.assertEqual(duckq("SELECT typeof(tm) FROM read_parquet('%s') LIMIT 1" % path),
                         [["TIME"]])
        kv = duckq("SELECT decode(key), decode(value) FROM parquet_kv_metadata('%s')" % path)
        schema = json.loads(dict((k, v) for k, v in kv)["iceberg.schema"])
        self.assertEqual([fld["name"] for fld in schema["fields"]], [c["name"] for c in ALL_TYPES])

    def test_manifests_read_by_python_avro(self):
        f = self.floe
        f.create_table("t", [{"name": "id", "data_type": "int64", "nullable": False},
                             {"name": "name", "data_type": "string", "nullable": True}])
        for k in range(3):
            f.ingest("t", [{"id": k * 10 + j, "name": "n%d" % (k * 10 + j)} for j in range(5)], mode="sync")
        hint, md = current_metadata(f.table_dir("t"))
        self.assertEqual(md["format-version"], 3)
        for key in ["format-version", "table-uuid", "location", "last-sequence-number",
                    "last-updated-ms", "last-column-id", "schemas", "current-schema-id",
                    "partition-specs", "default-spec-id", "last-partition-id", "sort-orders",
                    "default-sort-order-id", "next-row-id", "properties", "current-snapshot-id",
                    "snapshots", "snapshot-log", "metadata-log", "refs"]:
            self.assertIn(key, md)
        self.assertNotIn("schema", md)
        self.assertNotIn("partition-spec", md)
        self.assertEqual(md["refs"]["main"]["snapshot-id"], md["current-snapshot-id"])
        self.assertEqual(md["next-row-id"], 15)
        self.assertEqual(md["last-sequence-number"], 3)
        snap = [s for s in md["snapshots"] if s["snapshot-id"] == md["current-snapshot-id"]][0]
        self.assertEqual(snap["first-row-id"], 10)
        self.assertEqual(snap["added-rows"], 5)
        self.assertEqual(snap["summary"]["operation"], "append")
        self.assertEqual(snap["summary"]["total-records"], "15")
        for v in snap["summary"].values():
            self.assertIsInstance(v, str)
        with open(os.path.join(f.table_dir("t"), "metadata", "version-hint.text"), "rb") as fh:
            self.assertEqual(fh.read(), hint.encode())
            self.assertFalse(hint.endswith("\n"))
        meta, lists, schema = read_avro(local_path(snap["manifest-list"]))
        self.assertEqual(meta["format-version"], "3")
        self.assertEqual(meta["snapshot-id"], str(snap["snapshot-id"]))
        for field in schema["fields"]:
            self.assertIn("field-id", field)
        total = 0
        seqs = set()
        for m in lists:
            self.assertEqual(m["content"], 0)
            self.assertEqual(os.path.getsize(local_path(m["manifest_path"])), m["manifest_length"])
            mmeta, entries, mschema = read_avro(local_path(m["manifest_path"]))
            self.assertEqual(mmeta["format-version"], "3")
            self.assertEqual(mmeta["content"], "data")
            self.assertEqual(json.loads(mmeta["schema"])["fields"][0]["id"], 1)
            for e in entries:
                df = e["data_file"]
                self.assertEqual(df["file_format"], "PARQUET")
                path = local_path(df["file_path"])
                self.assertEqual(os.path.getsize(path), df["file_size_in_bytes"])
                total += df["record_count"]
                ids = [int(r[0]) for r in duckq("SELECT id FROM read_parquet('%s')" % path)]
                self.assertEqual(df["record_count"], len(ids))
                lower = {kv["key"]: kv["value"] for kv in df["lower_bounds"]}
                upper = {kv["key"]: kv["value"] for kv in df["upper_bounds"]}
                self.assertEqual(struct.unpack("<q", lower[1])[0], min(ids))
                self.assertEqual(struct.unpack("<q", upper[1])[0], max(ids))
                self.assertEqual(lower[2], ("n%d" % min(ids)).encode())
                vc = {kv["key"]: kv["value"] for kv in df["value_counts"]}
                self.assertEqual(vc[1], len(ids))
                nc = {kv["key"]: kv["value"] for kv in df["null_value_counts"]}
                self.assertEqual(nc[2], 0)
                if e["status"] == 1:
                    self.assertIsNone(e["sequence_number"])  # inherited
                    seqs.add(m["sequence_number"])
                else:
                    self.assertIsNotNone(e["sequence_number"])
        self.assertEqual(total, 15)

    def test_restart_keeps_tables_and_rows(self):
        f = self.floe
        f.create_table("r", [{"name": "id", "data_type": "int64", "nullable": False},
                             {"name": "v", "data_type": "int16", "nullable": True}], database="app")
        f.ingest("r", [{"id": i, "v": i} for i in range(100)], mode="sync")
        f.ingest("r", [{"id": 100, "v": -1}])  # async, committed at shutdown
        self.assertEqual(f.stop(), 0)
        f.start()
        out = f.ok("GET", "/tables/r")
        self.assertEqual(out["row_count"], 101)
        self.assertEqual([c["data_type"] for c in out["schema"]], ["int64", "int16"])
        status, _, _ = f.request("POST", "/ingest/r", {"operation": "insert", "data": {"id": 1, "v": 70000}})
        self.assertEqual(status, 400)  # still int16 after restart
        f.ingest("r", {"id": 101, "v": 7}, mode="sync")
        files = [local_path(e["data_file"]["file_path"]) for e in live_data_files(f.table_dir("r", "app"))]
        got = duckq("SELECT count(*), sum(id) FROM read_parquet([%s])" % ",".join("'%s'" % p for p in files))
        self.assertEqual(got, [["102", str(sum(range(102)))]])
        listed = f.ok("GET", "/tables")["tables"]
        self.assertEqual([(t["name"], t["database"], t["table"]) for t in listed], [("r", "app", "r")])

    def test_commit_interval_commits_async_rows(self):
        f = self.floe
        f.create_table("a", [{"name": "id", "data_type": "int64", "nullable": False}])
        f.ingest("a", [{"id": 1}])
        import time
        deadline = time.time() + 10
        while time.time() < deadline and f.ok("GET", "/tables/a")["row_count"] != 1:
            time.sleep(0.05)
        self.assertEqual(f.ok("GET", "/tables/a")["row_count"], 1)

    def test_drop_table(self):
        f = self.floe
        f.create_table("gone", [{"name": "id", "data_type": "int64", "nullable": False}])
        f.ingest("gone", {"id": 1}, mode="sync")
        f.ok("DELETE", "/tables/gone")
        self.assertFalse(os.path.exists(f.table_dir("gone")))
        status, out, _ = f.request("GET", "/tables/gone")
        self.assertEqual(status, 404)
        f.create_table("gone", [{"name": "x", "data_type": "string"}])

    def test_metrics(self):
        f = self.floe
        f.create_table("m", [{"name": "id", "data_type": "int64", "nullable": False}])
        f.ingest("m", [{"id": i} for i in range(7)], mode="sync")
        f.request("POST", "/ingest/m", raw=b"{bad")
        status, text, hdrs = f.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn('floe_table_rows_ingested_total{table="m"} 7', text)
        self.assertIn('floe_table_commits_total{table="m"} 1', text)
        self.assertIn('floe_http_errors_total{kind="bad_request"} 1', text)
        self.assertIn('floe_http_request_duration_seconds_bucket{route="ingest",le="+Inf"} 2', text)


if __name__ == "__main__":
    unittest.main()


class ManifestBoundTest(unittest.TestCase):
    def test_many_commits_keep_the_manifest_list_short(self):
        f = Floe().start()
        try:
            f.create_table("many", [{"name": "id", "data_type": "int64", "nullable": False}],
                           table_config={"mooncake": {"append_only": True}})
            for i in range(300):
                f.ingest("many", {"id": i}, mode="sync")
            _, md = current_metadata(f.table_dir("many"))
            snap = [s for s in md["snapshots"] if s["snapshot-id"] == md["current-snapshot-id"]][0]
            _, lists, _ = read_avro(local_path(snap["manifest-list"]))
            self.assertLessEqual(len(lists), 17)
            self.assertEqual(len(md["snapshots"]), 300)
            self.assertEqual(md["next-row-id"], 300)
            files = [local_path(e["data_file"]["file_path"]) for e in live_data_files(f.table_dir("many"))]
            self.assertEqual(len(files), 300)
            got = duckq("SELECT count(*), sum(id) FROM read_parquet([%s])" % ",".join("'%s'" % p for p in files))
            self.assertEqual(got, [["300", str(sum(range(300)))]])
        finally:
            f.cleanup()
