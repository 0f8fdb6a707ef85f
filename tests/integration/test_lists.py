"""List columns (an Iceberg list of a primitive element) end to end over REST.

What floe writes is read back by others only: DuckDB (read_parquet with
to_json per value, parquet_schema, parquet_metadata) and python3-avro for the
manifests. Covered: every element kind (int, string, decimal in INT64 and
FLBA, timestamp, uuid, boolean, date) with null lists, empty lists, null
elements and lists of 10,000 elements across page and row group boundaries;
a dictionary that fills up in the middle of a long list; the field ids of the
list and its element in Parquet and in the Iceberg schema (element-id,
last-column-id); manifest metrics keyed by the element id; a restart (the
schema read back) and WAL replay after kill -9; a keyed table and a full-row
table with list columns; bad input naming data[i].col[j]. And
tests/tools/pq_roundtrip, which writes Parquet (lists included) with the
writer alone under six option sets and reads every value back with DuckDB.
"""
import json
import os
import random
import subprocess
import tempfile
import unittest
import uuid as uuidlib
from decimal import Decimal

from harness import (ROOT, Floe, current_metadata, duckq, live_data_and_dvs, live_data_files,
                     local_path)

PQ_ROUNDTRIP = os.environ.get("PQ_ROUNDTRIP_BIN",
                              os.path.join(ROOT, "build", "rel", "tools", "pq_roundtrip"))

LIST_SCHEMA = [
    {"name": "id", "data_type": "int64", "nullable": False},
    {"name": "ints", "data_type": "list<int32>"},
    {"name": "strs", "data_type": "list<string>"},
    {"name": "decs", "data_type": "list<decimal(12,3)>"},
    {"name": "wide", "data_type": "decimal(30,5)[]"},
    {"name": "ts", "data_type": "list<timestamp>"},
    {"name": "uuids", "data_type": "uuid[]"},
    {"name": "flags", "data_type": "list<boolean>"},
    {"name": "days", "data_type": "list<date32>"},
    {"name": "tags", "data_type": "list<string>"},
]
LIST_COLS = [c["name"] for c in LIST_SCHEMA[1:]]
NCOLS = len(LIST_SCHEMA)
# Element ids come after the top-level ids, in column order.
ELEMENT_ID = {name: NCOLS + 1 + k for k, name in enumerate(LIST_COLS)}
FIELD_ID = {c["name"]: i + 1 for i, c in enumerate(LIST_SCHEMA)}

LONG_IDS = (150, 151, 152)  # rows with 10,000-element lists
WORDS = ["red", "green", "blue", "cyan", "magenta", "yellow", "black", "white"]
STRINGS = ["", "plain", "with \"quotes\" and \\ backslash", "comma, [bracket]", "tab\there",
           "new\nline", "héllo wörld — 日本語 🚀", "null", "NULL"]


def dec_text(unscaled, scale):
    return format(Decimal(unscaled).scaleb(-scale), "f")


def gen_elem(col, rng, i, k):
    if col == "ints":
        return rng.randint(-2 ** 31, 2 ** 31 - 1)
    if col == "strs":
        return rng.choice(STRINGS) + str(rng.randint(0, 99))
    if col == "decs":
        return dec_text(rng.randint(-(10 ** 12) + 1, 10 ** 12 - 1), 3)
    if col == "wide":
        return dec_text(rng.randint(-(10 ** 30) + 1, 10 ** 30 - 1), 5)
    if col == "ts":
        return rng.randint(-2208988800000000, 4102444800000000)  # 1900..2100
    if col == "uuids":
        return str(uuidlib.UUID(int=rng.getrandbits(128)))
    if col == "flags":
        return rng.random() < 0.5
    if col == "days":
        return "%04d-%02d-%02d" % (rng.randint(1000, 9999), rng.randint(1, 12), rng.randint(1, 28))
    if col == "tags":
        # dictionary-friendly words, except the long rows: distinct long
        # strings that fill the dictionary up in the middle of a list
        if i in LONG_IDS:
            return "%05d-%s" % (k, "x" * 200)
        return rng.choice(WORDS)
    raise AssertionError(col)


def gen_rows(n, seed=7, first_id=0):
    rng = random.Random(seed)
    rows = []
    for i in range(first_id, first_id + n):
        row = {"id": i}
        for col in LIST_COLS:
            r = rng.random()
            if i in LONG_IDS and col in ("ints", "strs", "decs", "tags", "uuids"):
                row[col] = [None if k % 97 == 5 else gen_elem(col, rng, i, k) for k in range(10000)]
            elif r < 0.1:
                if rng.random() < 0.5:
                    row[col] = None
                # else: missing, which is null too
            elif r < 0.2:
                row[col] = []
            else:
                row[col] = [None if rng.random() < 0.15 else gen_elem(col, rng, i, k)
                            for k in range(rng.randint(1, 8))]
        rows.append(row)
    return rows


def expected(col, v):
    """The value DuckDB gives back through SELECT_EXPR, as Python data."""
    if v is None:
        return None
    out = []
    for x in v:
        if x is None:
            out.append(None)
        elif col in ("decs", "wide"):
            out.append(format(Decimal(x).quantize(Decimal(1).scaleb(-(3 if col == "decs" else 5))), "f"))
        elif col == "uuids":
            out.append(str(uuidlib.UUID(x)))
        else:
            out.append(x)
    return out


SELECT_EXPR = {
    "ints": "to_json(ints)",
    "strs": "to_json(strs)",
    "decs": "to_json(list_transform(decs, x -> x::VARCHAR))",
    "wide": "to_json(list_transform(wide, x -> x::VARCHAR))",
    "ts": "to_json(list_transform(ts, x -> epoch_us(x)))",
    "uuids": "to_json(list_transform(uuids, x -> x::VARCHAR))",
    "flags": "to_json(flags)",
    "days": "to_json(list_transform(days, x -> x::VARCHAR))",
    "tags": "to_json(tags)",
}


def read_back(files, cols=LIST_COLS, order="id"):
    sql = "SELECT id, %s FROM read_parquet([%s]) ORDER BY %s" % (
        ", ".join("(%s)::VARCHAR" % SELECT_EXPR[c] for c in cols),
        ", ".join("'%s'" % f for f in files), order)
    out = []
    for r in duckq(sql):
        out.append([int(r[0])] + [None if x is None else json.loads(x) for x in r[1:]])
    return out


def levels(v):
    """Level entries of one list value, and how many of them carry no value."""
    if v is None:
        return 1, 1
    if not v:
        return 1, 1
    return len(v), sum(1 for x in v if x is None)


class ListsTest(unittest.TestCase):
    def setUp(self):
        # Small row groups, so the long lists cross row group boundaries.
        self.cfg = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump({"row_group_bytes": 262144}, self.cfg)
        self.cfg.close()
        self.f = Floe(args=["--config", self.cfg.name]).start()

    def tearDown(self):
        self.f.cleanup()
        os.unlink(self.cfg.name)

    def files(self, name):
        return [local_path(e["data_file"]["file_path"])
                for e in live_data_files(self.f.table_dir(name))]

    def assert_rows(self, got, rows):
        self.assertEqual(len(got), len(rows))
        for sent, g in zip(sorted(rows, key=lambda r: r["id"]), got):
            self.assertEqual(g[0], sent["id"])
            for k, col in enumerate(LIST_COLS):
                want = expected(col, sent.get(col))
                self.assertEqual(g[k + 1], want, "id %d column %s" % (sent["id"], col))

    def test_values_schema_and_metrics(self):
        f = self.f
        # Append-only: a full-row identity would refuse the 10,000-element
        # rows (an encoded row is at most 64 KiB).
        f.create_table("lt", LIST_SCHEMA, table_config={"mooncake": {"append_only": True}})
        rows = gen_rows(400)
        f.ingest("lt", rows, mode="sync")  # one file, rows in this order
        files = self.files("lt")
        self.assertEqual(len(files), 1)
        path = files[0]
        self.assert_rows(read_back(files), rows)

        # Parquet schema: the LIST group has the column's id, the element its
        # element id; the repeated group "list" has none.
        sch = duckq("SELECT name, field_id, repetition_type, converted_type, num_children "
                    "FROM parquet_schema('%s')" % path)
        names = [r[0] for r in sch]
        for col in LIST_COLS:
            at = names.index(col)
            self.assertEqual(sch[at][1:], [str(FIELD_ID[col]), "OPTIONAL", "LIST", "1"], col)
            self.assertEqual(sch[at + 1][:3], ["list", None, "REPEATED"], col)
            self.assertEqual(sch[at + 2][:3], ["element", str(ELEMENT_ID[col]), "OPTIONAL"], col)

        # Column chunks: path name.list.element; num_values counts level
        # entries and null_count the entries without a value, per row group.
        md = duckq("SELECT row_group_id, row_group_num_rows, path_in_schema, num_values, "
                   "stats_null_count FROM parquet_metadata('%s') ORDER BY row_group_id, column_id"
                   % path)
        groups = {}
        for rg, nrows, pis, nv, nulls in md:
            groups.setdefault(int(rg), (int(nrows), {}))[1][pis] = (int(nv), int(nulls))
        self.assertGreater(len(groups), 1, "the long lists should span row groups")
        start = 0
        for rg in sorted(groups):
            nrows, chunks = groups[rg]
            part = rows[start:start + nrows]
            start += nrows
            for col in LIST_COLS:
                ents = [levels(r.get(col)) for r in part]
                self.assertEqual(chunks["%s, list, element" % col],
                                 (sum(e for e, _ in ents), sum(n for _, n in ents)),
                                 "row group %d column %s" % (rg, col))
        self.assertEqual(start, len(rows))

        # Iceberg schema: list types with their element ids; last-column-id
        # counts the element ids.
        _, meta = current_metadata(f.table_dir("lt"))
        self.assertEqual(meta["last-column-id"], NCOLS + len(LIST_COLS))
        fields = {fl["name"]: fl for fl in meta["schemas"][0]["fields"]}
        self.assertEqual(fields["id"]["type"], "long")
        self.assertEqual(fields["tags"], {"id": FIELD_ID["tags"], "name": "tags", "required": False,
                                          "type": {"type": "list", "element-id": ELEMENT_ID["tags"],
                                                   "element": "string", "element-required": False}})
        self.assertEqual(fields["wide"]["type"]["element"], "decimal(30, 5)")
        self.assertEqual(fields["uuids"]["type"]["element"], "uuid")

        # Manifest metrics: value and null counts under the element ids,
        # nothing under a list's own id, and no bounds for lists.
        entry = live_data_files(f.table_dir("lt"))[0]["data_file"]
        vc = {x["key"]: x["value"] for x in entry["value_counts"]}
        nc = {x["key"]: x["value"] for x in entry["null_value_counts"]}
        lower = {x["key"] for x in entry["lower_bounds"] or []}
        upper = {x["key"] for x in entry["upper_bounds"] or []}
        for col in LIST_COLS:
            ents = [levels(r.get(col)) for r in rows]
            self.assertEqual(vc[ELEMENT_ID[col]], sum(e for e, _ in ents), col)
            self.assertEqual(nc[ELEMENT_ID[col]], sum(n for _, n in ents), col)
            self.assertNotIn(FIELD_ID[col], vc)
            for ids in (lower, upper):
                self.assertNotIn(FIELD_ID[col], ids)
                self.assertNotIn(ELEMENT_ID[col], ids)
        self.assertIn(1, lower)  # the id column keeps its bounds

    def test_restart_and_wal_replay(self):
        f = self.f
        f.create_table("lr", LIST_SCHEMA)
        first = gen_rows(30, seed=1)
        f.ingest("lr", first, mode="sync")
        # Rows only in the WAL when the server dies.
        second = gen_rows(20, seed=2, first_id=1000)
        f.ingest("lr", second, mode="async")
        f.kill()
        f.start()
        f.flush("lr")
        third = gen_rows(10, seed=3, first_id=2000)
        f.ingest("lr", third, mode="sync")
        self.assert_rows(read_back(self.files("lr")), first + second + third)
        _, meta = current_metadata(f.table_dir("lr"))
        self.assertEqual(meta["last-column-id"], NCOLS + len(LIST_COLS))

    def test_bad_input(self):
        f = self.f
        f.create_table("lb", [{"name": "id", "data_type": "int64", "nullable": False},
                              {"name": "tags", "data_type": "list<string>"},
                              {"name": "nums", "data_type": "list<int16>", "nullable": False}])
        cases = [
            ({"id": 1, "tags": "a", "nums": []}, "data[0].tags: expected an array for list<string>, got a string"),
            ({"id": 1, "tags": {}, "nums": []}, "data[0].tags: expected an array for list<string>, got an object"),
            ({"id": 1, "nums": [1, 70000]}, "data[0].nums[1]: 70000 is out of range for int16"),
            ({"id": 1, "nums": [1, "x"]}, "data[0].nums[1]: expected an integer for int16, got a string"),
            ({"id": 1, "nums": [[1]]}, "data[0].nums[0]: expected an integer for int16, got an array"),
            ({"id": 1, "tags": ["a", 1], "nums": []}, "data[0].tags[1]: expected a string for string, got a number"),
            ({"id": 1, "nums": None}, "data[0].nums: null for non-nullable column"),
            ({"id": 1}, "data[0].nums: missing value for non-nullable column"),
        ]
        for row, msg in cases:
            st, out, _ = f.request("POST", "/ingest/lb", {"operation": "insert",
                                                         "data": [{"id": 0, "nums": []}, row]})
            self.assertEqual(st, 400, (row, out))
            self.assertEqual(out["message"], msg.replace("data[0]", "data[1]"))
        st, out, _ = f.request("POST", "/ingest/lb", raw=b'{"operation":"insert","data":[{"id":1,"nums":[1 2]}]}')
        self.assertEqual(st, 400)
        self.assertIn("expected ',' or ']'", out["message"])
        # Nothing of a failed body was kept.
        f.ingest("lb", [{"id": 5, "tags": ["ok"], "nums": [1, None, -32768]}], mode="sync")
        got = duckq("SELECT id, to_json(tags)::VARCHAR, to_json(nums)::VARCHAR FROM read_parquet([%s])"
                    % ", ".join("'%s'" % p for p in self.files("lb")))
        self.assertEqual(got, [["5", '["ok"]', "[1,null,-32768]"]])
        # Bad types at create.
        for t, msg in [("list<int8>", "list element: unknown type 'int8'"),
                       ("list<list<int32>>", "lists of lists are not supported"),
                       ("list", "a list needs its element type")]:
            st, out, _ = f.request("POST", "/tables/bad", {
                "database": "db", "table": "bad",
                "schema": [{"name": "x", "data_type": t}], "table_config": {}})
            self.assertEqual(st, 400, out)
            self.assertIn(msg, out["message"])
        # A list cannot be a key.
        st, out, _ = f.request("POST", "/tables/badkey", {
            "database": "db", "table": "badkey",
            "schema": [{"name": "k", "data_type": "list<int32>", "nullable": False}],
            "table_config": {"row_identity": {"primary_key": ["k"]}}})
        self.assertEqual(st, 400, out)
        self.assertIn("key column 'k': list columns cannot be keys", out["message"])


def live_list_rows(table_dir, cols):
    """Multiset of the live rows (DVs applied): tuples of JSON texts."""
    data, dvs = live_data_and_dvs(table_dir)
    out = {}
    if not data:
        return out
    sql = "SELECT filename, file_row_number, %s FROM read_parquet([%s], filename=true, file_row_number=true)" % (
        ", ".join("to_json(%s)::VARCHAR" % c for c in cols), ", ".join("'%s'" % local_path(u) for u in data))
    for r in duckq(sql):
        if int(r[1]) in dvs.get("file://" + r[0], ()):
            continue
        key = tuple(r[2:])
        out[key] = out.get(key, 0) + 1
    return out


class ListIdentityTest(unittest.TestCase):
    def setUp(self):
        self.f = Floe().start()

    def tearDown(self):
        self.f.cleanup()

    def test_keyed_table_upsert_and_delete(self):
        f = self.f
        f.create_table("kl", [{"name": "id", "data_type": "int64", "nullable": False},
                              {"name": "tags", "data_type": "list<string>"},
                              {"name": "vals", "data_type": "list<decimal(20,2)>"}],
                       table_config={"row_identity": {"primary_key": ["id"]}})
        state = {}
        rng = random.Random(3)

        def row(i):
            tags = rng.choice([None, [], ["a", None, "b" * rng.randint(0, 40)], ["x"] * rng.randint(1, 50)])
            vals = rng.choice([None, [], ["1.50", None, "-99999999999999999.99"]])
            return {"id": i, "tags": tags, "vals": vals}

        rows = [row(i) for i in range(200)]
        f.ingest("kl", rows, mode="sync")
        state.update({r["id"]: r for r in rows})
        ups = [row(i) for i in range(150, 260)]  # 50 replaced, 60 new
        out = f.ok("POST", "/ingest/kl", {"operation": "upsert", "request_mode": "sync", "data": ups})
        state.update({r["id"]: r for r in ups})
        out = f.ok("POST", "/ingest/kl", {"operation": "delete", "request_mode": "sync",
                                           "data": [{"id": i} for i in range(0, 260, 7)]})
        self.assertEqual(out["deleted"], len(range(0, 260, 7)))
        for i in range(0, 260, 7):
            del state[i]
        f.stop()
        f.start()  # the key index comes back from the .fidx files
        ups = [row(i) for i in range(100, 110)]
        f.ok("POST", "/ingest/kl", {"operation": "upsert", "request_mode": "sync", "data": ups})
        state.update({r["id"]: r for r in ups})
        got = live_list_rows(f.table_dir("kl"), ["id", "tags", "list_transform(vals, x -> x::VARCHAR)"])
        want = {}
        for r in state.values():
            key = (json.dumps(r["id"]), None if r["tags"] is None else json.dumps(r["tags"], separators=(",", ":")),
                   None if r["vals"] is None else json.dumps(
                       [None if v is None else format(Decimal(v).quantize(Decimal("0.01")), "f") for v in r["vals"]],
                       separators=(",", ":")))
            want[key] = 1
        self.assertEqual(sorted(got.items(), key=str), sorted(want.items(), key=str))

    def test_full_row_table_delete_matches_lists_exactly(self):
        f = self.f
        f.create_table("fl", [{"name": "a", "data_type": "int64"},
                              {"name": "tags", "data_type": "list<string>"},
                              {"name": "nums", "data_type": "list<float64>"}])
        rows = [{"a": 1, "tags": ["x", None], "nums": [1.5, -0.0]},
                {"a": 1, "tags": ["x", None], "nums": [1.5, -0.0]},
                {"a": 1, "tags": None, "nums": []},
                {"a": 1, "tags": [], "nums": []},
                {"a": 2, "tags": ["x\u0000y"], "nums": ["NaN"]},
                {"a": 2, "tags": ["x", "y"], "nums": None}]
        f.ingest("fl", rows, mode="sync")

        def delete(data):
            return f.ok("POST", "/ingest/fl", {"operation": "delete", "request_mode": "sync",
                                                "data": data})["deleted"]

        # Element-wise equality: one of the two copies goes; -0.0 matches 0.0.
        self.assertEqual(delete([{"a": 1, "tags": ["x", None], "nums": [1.5, 0.0]}]), 1)
        # A null element is not an empty string, a longer list is not equal.
        self.assertEqual(delete([{"a": 1, "tags": ["x", ""], "nums": [1.5, 0.0]},
                                 {"a": 1, "tags": ["x", None, None], "nums": [1.5, 0.0]}]), 0)
        # A null list is not an empty list: each matches only itself.
        self.assertEqual(delete([{"a": 1, "tags": [], "nums": []}]), 1)
        self.assertEqual(delete([{"a": 1, "tags": [], "nums": []}]), 0)
        # "x\0y" is one element, not ["x", "y"] (escaped inside the key).
        self.assertEqual(delete([{"a": 2, "tags": ["x", "y"]}]), 1)
        self.assertEqual(delete([{"a": 2, "tags": ["x", "y"]}]), 0)
        f.stop()
        f.start()
        self.assertEqual(delete([{"a": 1, "tags": None, "nums": []},
                                 {"a": 2, "tags": ["x\u0000y"], "nums": ["NaN"]}]), 2)
        got = live_list_rows(f.table_dir("fl"), ["a", "tags", "nums"])
        self.assertEqual(got, {("1", '["x",null]', "[1.5,-0.0]"): 1})


class ParquetRoundtripTest(unittest.TestCase):
    def test_pq_roundtrip_tool(self):
        with tempfile.TemporaryDirectory(prefix="pq-rt-") as d:
            p = subprocess.run([PQ_ROUNDTRIP, d], capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
        self.assertRegex(p.stdout.splitlines()[-1], r"^pq_roundtrip: \d+ passed, 0 failed$")


if __name__ == "__main__":
    unittest.main()
