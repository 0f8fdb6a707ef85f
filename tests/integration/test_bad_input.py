"""Issue 3: every kind of bad input gets a 4xx with {"message"} naming the
field and reason, and nothing of the request is applied (checked by reading
the table back with DuckDB)."""
import json
import os
import subprocess
import tempfile
import unittest

from harness import FLOE, Floe, duckq, live_data_files, local_path

SCHEMA = [
    {"name": "id", "data_type": "int64", "nullable": False},
    {"name": "small", "data_type": "int16", "nullable": True},
    {"name": "d", "data_type": "date32", "nullable": True},
    {"name": "amount", "data_type": "decimal(10,2)", "nullable": True},
    {"name": "u", "data_type": "uuid", "nullable": True},
    {"name": "name", "data_type": "string", "nullable": True},
]


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cfg = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump({"max_body_bytes": 65536}, cls.cfg)
        cls.cfg.close()
        cls.floe = Floe(args=["--config", cls.cfg.name]).start()
        cls.floe.create_table("t", SCHEMA)
        cls.floe.ingest("t", [{"id": 1, "name": "keep"}], mode="sync")

    @classmethod
    def tearDownClass(cls):
        cls.floe.cleanup()
        os.unlink(cls.cfg.name)

    def assert_rejected(self, method, path, body=None, raw=None, status=400, words=()):
        st, out, _ = self.floe.request(method, path, body=body, raw=raw)
        self.assertEqual(st, status, out)
        self.assertIsInstance(out, dict, out)
        self.assertIn("message", out)
        for w in words:
            self.assertIn(w, out["message"])
        return out["message"]

    def assert_unchanged(self):
        self.floe.flush("t")
        files = [local_path(e["data_file"]["file_path"]) for e in live_data_files(self.floe.table_dir("t"))]
        got = duckq("SELECT id, name FROM read_parquet([%s]) ORDER BY id" % ",".join("'%s'" % p for p in files))
        self.assertEqual(got, [["1", "keep"]])

    def ingest_bad(self, data, words, op="insert", status=400):
        self.assert_rejected("POST", "/ingest/t", {"operation": op, "data": data}, status=status, words=words)
        self.assert_unchanged()

    def test_malformed_json(self):
        self.assert_rejected("POST", "/ingest/t", raw=b'{"operation": "insert", "data": [', words=["JSON"])
        self.assert_rejected("POST", "/tables/x", raw=b"{nope", words=["JSON"])
        self.assert_unchanged()

    def test_unknown_table(self):
        self.assert_rejected("POST", "/ingest/nosuch", {"operation": "insert", "data": {"id": 1}},
                             status=404, words=["nosuch"])
        self.assert_rejected("GET", "/tables/nosuch", status=404, words=["nosuch"])
        self.assert_rejected("DELETE", "/tables/nosuch", status=404, words=["nosuch"])

    def test_table_exists(self):
        self.assert_rejected("POST", "/tables/t", {"database": "db", "table": "other", "schema": SCHEMA},
                             status=409, words=["already exists"])
        self.assert_rejected("POST", "/tables/t2", {"database": "db", "table": "t", "schema": SCHEMA},
                             status=409, words=["already exists"])

    def test_bad_table_names(self):
        for name, word in [("..", ".."), ("a%2Fb", None), ("x" * 256, "255"), ("a%01b", "control")]:
            st, out, _ = self.floe.request("POST", "/tables/" + name,
                                           {"database": "db", "table": "ok", "schema": SCHEMA})
            self.assertIn(st, (400, 404), (name, out))
            if word:
                self.assertIn(word, out["message"])
        for db, tn, word in [("", "x", "database"), ("..", "x", "database"), ("db", "a/b", "table"),
                             ("db", "x" * 256, "table"), ("d\nb", "x", "database")]:
            self.assert_rejected("POST", "/tables/fine", {"database": db, "table": tn, "schema": SCHEMA},
                                 words=[word])
        self.assertEqual(sorted(os.listdir(self.floe.data_dir)), [".floe", "db"])

    def test_bad_schemas(self):
        def create(schema, words):
            self.assert_rejected("POST", "/tables/bad", {"database": "db", "table": "bad", "schema": schema},
                                 words=words)
        create([{"name": "a", "data_type": "int128"}], ["schema[0].data_type", "int128"])
        create([{"name": "a", "data_type": "int64"}, {"name": "a", "data_type": "string"}],
               ["schema[1].name", "duplicate", "'a'"])
        create([{"name": "a", "data_type": "decimal(40,2)"}], ["schema[0].data_type"])
        create([{"name": "a", "data_type": "decimal(5,6)"}], ["schema[0].data_type"])
        create([], ["schema"])
        create([{"name": "", "data_type": "int64"}], ["schema[0].name"])
        create([{"name": "a", "data_type": "int64", "nullable": "yes"}], ["schema[0].nullable"])
        create([{"name": "a", "data_type": "int64", "colour": 1}], ["schema[0]", "colour"])
        self.assertFalse(os.path.exists(self.floe.table_dir("bad")))

    def test_wrong_types_and_ranges(self):
        self.ingest_bad({"id": 2, "small": 70000}, ["data[0].small", "70000", "int16"])
        self.ingest_bad({"id": "2"}, ["data[0].id"])
        self.ingest_bad({"id": 2.5}, ["data[0].id"])
        self.ingest_bad({"id": 9223372036854775808}, ["data[0].id"])
        self.ingest_bad({"id": 2, "d": "2023-02-29"}, ["data[0].d"])
        self.ingest_bad({"id": 2, "d": "yesterday"}, ["data[0].d"])
        self.ingest_bad({"id": 2, "amount": "12.345"}, ["data[0].amount"])
        self.ingest_bad({"id": 2, "amount": "1e3"}, ["data[0].amount"])
        self.ingest_bad({"id": 2, "amount": "123456789.00"}, ["data[0].amount"])
        self.ingest_bad({"id": 2, "u": "not-a-uuid"}, ["data[0].u"])
        self.ingest_bad({"id": 2, "name": 5}, ["data[0].name"])
        self.ingest_bad({"id": 2, "name": {"nested": 1}}, ["data[0].name"])

    def test_missing_and_unknown_columns(self):
        self.ingest_bad({"name": "no id"}, ["data[0].id", "missing"])
        self.ingest_bad({"id": None}, ["data[0].id"])
        self.ingest_bad({"id": 2, "nmae": "typo"}, ["data[0]", "nmae"])

    def test_unknown_operation_and_mode(self):
        self.assert_rejected("POST", "/ingest/t", {"operation": "inset", "data": {"id": 2}}, words=["operation", "inset"])
        self.assert_rejected("POST", "/ingest/t", {"operation": "insert", "request_mode": "later", "data": {"id": 2}},
                             words=["request_mode", "later"])
        self.assert_rejected("POST", "/ingest/t", {"operation": "insert"}, words=["data"])
        self.assert_unchanged()

    def test_one_bad_row_in_a_thousand(self):
        rows = [{"id": 1000 + i, "small": i} for i in range(1000)]
        rows[517]["small"] = 40000
        self.ingest_bad(rows, ["data[517].small", "40000"])

    def test_body_over_limit(self):
        rows = [{"id": 5000 + i, "name": "x" * 100} for i in range(1000)]
        self.assert_rejected("POST", "/ingest/t", {"operation": "insert", "data": rows}, status=413, words=["65536"])
        self.assert_unchanged()

    def test_update_on_a_table_without_key(self):
        # no key: full-row identity, which has insert and delete but no update
        self.ingest_bad({"id": 1, "name": "keep"}, ["operation", "update", "primary key"], op="update")
        self.ingest_bad({"id": 1, "name": "keep"}, ["operation", "upsert", "primary key"], op="upsert")


class TokenTest(unittest.TestCase):
    def test_token_required_on_every_route_but_health(self):
        f = Floe(env={"FLOE_TOKEN": "s3cret-token"}).start()
        try:
            st, _, _ = f.request("GET", "/health")
            self.assertEqual(st, 200)
            st, out, _ = f.request("GET", "/tables")
            self.assertEqual(st, 401)
            self.assertIn("token", out["message"])
            st, _, _ = f.request("GET", "/tables", headers={"Authorization": "Bearer wrong"})
            self.assertEqual(st, 401)
            st, _, _ = f.request("GET", "/tables", headers={"Authorization": "Bearer s3cret-token-longer"})
            self.assertEqual(st, 401)
            st, _, _ = f.request("POST", "/ingest/x", {"operation": "insert", "data": {}})
            self.assertEqual(st, 401)
            f.token = "s3cret-token"
            st, _, _ = f.request("GET", "/tables")
            self.assertEqual(st, 200)
        finally:
            f.cleanup()

    def test_token_file(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as tf:
            tf.write("from-file\n")
        f = Floe(args=["--token-file", tf.name]).start()
        try:
            f.token = "from-file"
            st, _, _ = f.request("GET", "/tables")
            self.assertEqual(st, 200)
        finally:
            f.cleanup()
            os.unlink(tf.name)

    def test_refuses_non_loopback_without_token(self):
        d = tempfile.mkdtemp()
        env = dict(os.environ)
        env.pop("FLOE_TOKEN", None)
        p = subprocess.run([FLOE, "serve", os.path.join(d, "data"), "--bind", "0.0.0.0", "--port", "0"],
                           capture_output=True, text=True, timeout=20, env=env)
        self.assertEqual(p.returncode, 2)
        self.assertIn("without a token", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(d, "data")))
        os.rmdir(d)

    def test_help(self):
        p = subprocess.run([FLOE, "serve", "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        for word in ["--bind", "--port", "--config", "--token-file", "commit_interval_ms", "compression"]:
            self.assertIn(word, p.stdout)
        p = subprocess.run([FLOE, "--help"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0)
        self.assertIn("serve", p.stdout)


if __name__ == "__main__":
    unittest.main()
