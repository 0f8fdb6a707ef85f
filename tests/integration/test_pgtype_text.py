"""PostgreSQL text output -> floe values, checked against PostgreSQL itself.

A real PostgreSQL 15 holds edge values of every supported type (and a few
unsupported ones) in tables; the test reads each column's type description
from the catalog the way floe does (domains resolved, array elements) and
each value's text output (format('%s', v): the type's output function, as
pgoutput and COPY send it) under floe's session settings, and runs them
through tests/tools/pgtype_check (src/source/pg/pgtype.c). The expected
result of every value is computed by PostgreSQL from the value, not from
its text: extract(epoch ...) for times, date arithmetic for dates,
float4send/float8send for floats, v * 10^s for decimals, unnest() for arrays.
Time zones other than UTC (with offsets in seconds, BC dates) are checked by
reading timestamptz values in other session zones too.
"""
import os
import subprocess
import unittest

from pgcluster import PgCluster

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHECK = os.environ.get("PGTYPE_CHECK_BIN", os.path.join(ROOT, "build", "rel", "tools", "pgtype_check"))

SESSION = ("SET DateStyle=ISO; SET IntervalStyle=postgres; SET extra_float_digits=3; "
           "SET bytea_output=hex; SET client_encoding=UTF8; SET TimeZone=UTC; ")

INT64_MAX = 2**63 - 1
INT64_MIN = -2**63
INT32_MAX = 2**31 - 1
INT32_MIN = -2**31

HEXTEXT = "encode(convert_to(format('%%s', %s), 'UTF8'), 'hex')"

# (column type, canonical SQL expression of v (text), values as SQL literals)
TS_CANON = ("CASE WHEN v = 'infinity' THEN '%d' WHEN v = '-infinity' THEN '%d' "
            "ELSE (extract(epoch FROM v) * 1000000)::numeric(40,0)::text END" % (INT64_MAX, INT64_MIN))
TS_VALUES = ["'1970-01-01 00:00:00'", "'1969-12-31 23:59:59.999999'", "'2024-02-29 23:59:59.5'",
             "'0001-01-01 00:00:00'", "'0001-12-31 23:59:59.999999 BC'", "'0044-03-15 12:00:00 BC'",
             "'4714-11-24 00:00:00 BC'", "'9999-12-31 23:59:59.999999'", "'10000-01-01 00:00:00'",
             "'294247-01-10 04:00:54.775806'", "'294276-12-31 23:59:59.999999'",
             "'1850-01-01 00:00:00'", "'infinity'", "'-infinity'", "'2000-01-01 00:00:00.000001'"]
CASES = [
    ("bool", "CASE WHEN v THEN '1' ELSE '0' END", ["true", "false"]),
    ("int2", "v::text", ["-32768", "32767", "0"]),
    ("int4", "v::text", ["-2147483648", "2147483647", "-1"]),
    ("int8", "v::text", ["-9223372036854775808", "9223372036854775807"]),
    ("oid", "v::bigint::text", ["0", "4294967295"]),
    ("float4", "encode(float4send(v), 'hex')",
     ["'1e-45'", "'3.4028235e38'", "'-0'", "'0'", "'NaN'", "'Infinity'", "'-Infinity'", "'0.1'",
      "'1.17549435e-38'", "'16777217'", "'3.14159265'", "'-2.5e-40'", "'1.0000000596046448'"]),
    ("float8", "encode(float8send(v), 'hex')",
     ["'5e-324'", "'1.7976931348623157e308'", "'-0'", "'NaN'", "'Infinity'", "'-Infinity'",
      "'0.1'", "'2.2250738585072014e-308'", "'1e100'", "'123456789.123456789'", "'-1e-320'"]),
    ("numeric(5,2)", "(v * 100)::numeric(40,0)::text",
     ["0", "-999.99", "999.99", "0.01", "-0.01", "1.5", "'NaN'"]),
    ("numeric(9,0)", "v::text", ["999999999", "-999999999"]),
    ("numeric(18,4)", "(v * 10000)::numeric(40,0)::text",
     ["99999999999999.9999", "-99999999999999.9999", "0.0001"]),
    ("numeric(38,10)", "(v * 10000000000)::numeric(60,0)::text",
     ["9999999999999999999999999999.9999999999", "-9999999999999999999999999999.9999999999",
      "0.0000000001", "-0.5"]),
    ("numeric(38,0)", "v::text", ["99999999999999999999999999999999999999",
                                  "-99999999999999999999999999999999999999"]),
    ("numeric(38,38)", "(v * 1e38)::numeric(80,0)::text",
     ["0.99999999999999999999999999999999999999", "-0.00000000000000000000000000000000000001"]),
    ("numeric(20,2)", "(v * 100)::numeric(40,0)::text", ["-0.01", "2.56", "123456789012345678.99"]),
    ("numeric", HEXTEXT % "v",
     ["1.5", "'NaN'", "'Infinity'", "'-Infinity'", "1e-100", "1.50",
      "123456789012345678901234567890123456789012345.000000000000000000001"]),
    ("numeric(50,2)", HEXTEXT % "v", ["123456789012345678901234567890123456789012345678.99"]),
    ("text", HEXTEXT % "v", ["''", "'héllo 日本 🚀'", "E'tab\\there\\nnl'", "'a\"b\\c'"]),
    ("varchar(8)", HEXTEXT % "v", ["'abc'", "''"]),
    ("bpchar(4)", HEXTEXT % "v", ["'ab'", "'abcd'"]),
    ("name", HEXTEXT % "v", ["'pg_class'"]),
    ('"char"', HEXTEXT % "v", ["'x'"]),
    ("json", HEXTEXT % "v", ["'{\"a\": [1, 2.50]}'"]),
    ("jsonb", HEXTEXT % "v", ["'{\"a\": [1, 2.50]}'"]),
    ("xml", HEXTEXT % "v", ["'<a b=\"1\">x</a>'"]),
    ("bytea", "encode(v, 'hex')", ["'\\x'", "'\\x00ff10'", "'abc'", "decode(repeat('ab', 3000), 'hex')"]),
    ("date", "CASE WHEN v = 'infinity' THEN '%d' WHEN v = '-infinity' THEN '%d' "
             "ELSE (v - '1970-01-01'::date)::text END" % (INT32_MAX, INT32_MIN),
     ["'1970-01-01'", "'0001-01-01'", "'0001-12-31 BC'", "'0001-02-29 BC'", "'0044-03-15 BC'",
      "'4714-11-24 BC'", "'5874897-12-31'", "'2000-02-29'", "'9999-12-31'", "'10000-01-01'",
      "'infinity'", "'-infinity'"]),
    ("time", "(extract(epoch FROM v) * 1000000)::numeric(20,0)::text",
     ["'00:00:00'", "'24:00:00'", "'23:59:59.999999'", "'12:34:56.5'", "'00:00:00.000001'"]),
    ("time(0)", "(extract(epoch FROM v) * 1000000)::numeric(20,0)::text", ["'12:34:56'"]),
    ("timestamp", TS_CANON, TS_VALUES),
    ("timestamp(3)", TS_CANON, ["'2024-01-01 00:00:00.123'"]),
    ("timestamptz", TS_CANON, [v[:-1] + "+00'" if v not in ("'infinity'", "'-infinity'") and
                               not v.endswith(" BC'") else v for v in TS_VALUES] +
     ["'2024-07-01 12:00:00+05:45'", "'1850-01-01 00:00:00 Europe/Amsterdam'",
      "'0044-03-15 12:00:00+01 BC'"]),
    ("uuid", "replace(v::text, '-', '')",
     ["'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'",
      "'123e4567-e89b-12d3-a456-426614174000'"]),
    ("mood", HEXTEXT % "v", ["'sad'", "'happy face'"]),
    ("posint", "v::text", ["1", "2147483647"]),
    ("price", "(v * 100)::numeric(40,0)::text", ["12345678.99", "-0.01"]),
]
# arrays: canonical = N | v<hex> per element, joined by ','
ARRAY_CANON = ("coalesce((SELECT string_agg(CASE WHEN e IS NULL THEN 'N' ELSE 'v' || %s END, ',' "
               "ORDER BY o) FROM unnest(v) WITH ORDINALITY AS u(e, o)), '')" % (HEXTEXT % "e"))
ARRAY_CASES = [
    ("text[]", ARRAY_CANON,
     ["'{}'", "'{a,NULL,\"NULL\",\"q\\\"x\",\"\",\"b c\",\"{x}\",\"a,b\",\"\\\\\",\" sp \"}'",
      "ARRAY['null', NULL, 'NuLl', E'tab\\t', 'é日🚀']"]),
    ("int4[]", ARRAY_CANON, ["'{1,2,NULL,-3}'", "'{}'", "'[2:3]={1,2}'", "'{{1,2},{3,4}}'"]),
    ("numeric(10,2)[]", ARRAY_CANON, ["'{1.5,NULL,-0.01}'"]),
    ("timestamptz[]", ARRAY_CANON, ["'{\"2024-01-01 00:00:00+00\",infinity}'"]),
    ("mood[]", ARRAY_CANON, ["'{sad,\"happy face\"}'"]),
    ("bytea[]", ARRAY_CANON, ["ARRAY['\\x00ff'::bytea, NULL]"]),
]
UNSUPPORTED = [("interval", "'1 day'"), ("timetz", "'12:00:00+01'"), ("money", "1"),
               ("inet", "'10.0.0.1'"), ("int4range", "'[1,2)'"), ("addr", "ROW('x', 1)"),
               ("bit(3)", "B'101'"), ("interval[]", "'{1 day}'")]

DESCRIBE = """SELECT a.attname, a.atttypid, bt.oid,
  CASE WHEN t.typbasetype <> 0 THEN t.typtypmod ELSE a.atttypmod END, bt.typtype,
  CASE WHEN bt.typcategory = 'A' THEN et.oid ELSE 0 END,
  CASE WHEN bt.typcategory = 'A' THEN a.atttypmod ELSE -1 END,
  coalesce(et.typtype, '-'), format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typbasetype <> 0 THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type et ON bt.typcategory = 'A' AND et.oid = bt.typelem
WHERE a.attrelid = '%s'::regclass AND a.attname = 'v'"""


class PgTypeTextTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(CHECK):
            r = subprocess.run(["make", "-C", ROOT, os.path.relpath(CHECK, ROOT)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                raise AssertionError("building %s failed:\n%s" % (CHECK, r.stdout[-4000:]))
        cls.pg = PgCluster().start()
        cls.pg.sql("CREATE TYPE mood AS ENUM ('sad', 'happy face'); "
                   "CREATE DOMAIN posint AS int4 CHECK (VALUE > 0); "
                   "CREATE DOMAIN price AS numeric(10,2); "
                   "CREATE TYPE addr AS (s text, n int)")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def rows(self, query):
        out = self.pg.sql(SESSION + query)
        return [line.split("|") for line in out.split("\n") if line and line != "SET"]

    def load(self, n, coltype, values):
        table = "t%d" % n
        self.pg.sql("CREATE TABLE %s (id int, v %s); INSERT INTO %s VALUES %s" % (
            table, coltype, table, ", ".join("(%d, %s)" % (i, v) for i, v in enumerate(values))))
        desc = self.rows(DESCRIBE % table)
        self.assertEqual(len(desc), 1)
        return table, desc[0][1:]

    def check(self, desc, hexes):
        """Runs pgtype_check over one desc and these value texts (hex)."""
        d = list(desc)
        d[7] = d[7].replace("\t", " ")
        inp = "".join("\t".join(d + [h]) + "\n" for h in hexes)
        r = subprocess.run([CHECK], input=inp, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.split("\n")[:-1]
        self.assertEqual(len(out), len(hexes), r.stdout)
        return out

    def run_cases(self, cases, zones=("UTC",)):
        n = 0
        for coltype, canon, values in cases:
            n += 1
            table, desc = self.load(n, coltype, values)
            for zone in zones if coltype.startswith("timestamptz") else ("UTC",):
                got_rows = self.rows("SET TimeZone='%s'; SELECT %s, %s FROM %s ORDER BY id"
                                     % (zone, HEXTEXT % "v", canon, table))
                self.assertEqual(len(got_rows), len(values))
                results = self.check(desc, [r[0] for r in got_rows])
                for (hextext, want), got, lit in zip(got_rows, results, values):
                    where = "%s %s (text %r, zone %s)" % (coltype, lit[:60],
                                                          bytes.fromhex(hextext)[:80], zone)
                    self.verify(coltype, want, got, where)

    def verify(self, coltype, want, got, where):
        expect_err = None
        if coltype.split("(")[0] in ("timestamp", "timestamptz"):
            infinite = want in (str(INT64_MAX), str(INT64_MIN))
            if not infinite and not INT64_MIN < int(want) < INT64_MAX:
                expect_err = "is out of range for"
        if want == "NaN":  # a decimal column's canonical form; strings are hex
            expect_err = "a decimal has no NaN or infinity"
        if expect_err:
            self.assertTrue(got.startswith("ERR column 'v': "), "%s: %s" % (where, got))
            self.assertIn(expect_err, got, where)
        else:
            self.assertEqual(got, "OK " + want, where)

    def test_scalars_match_postgres(self):
        self.run_cases(CASES, zones=("UTC", "Europe/Amsterdam", "Asia/Kathmandu",
                                     "America/St_Johns"))

    def test_arrays_split_like_postgres(self):
        n = 100
        for coltype, canon, values in ARRAY_CASES:
            n += 1
            table, desc = self.load(n, coltype, values)
            got_rows = self.rows("SELECT %s, array_ndims(v), array_lower(v, 1) FROM %s "
                                 "ORDER BY id" % (HEXTEXT % "v", table))
            canon_rows = self.rows("SELECT id, CASE WHEN array_ndims(v) = 1 AND "
                                   "array_lower(v, 1) = 1 THEN %s ELSE '' END FROM %s ORDER BY id"
                                   % (canon, table))
            self.assertEqual(len(got_rows), len(values))
            self.assertEqual(len(canon_rows), len(values))
            results = self.check(desc, [r[0] for r in got_rows])
            for (hextext, ndims, lower), (_, want), got in zip(got_rows, canon_rows, results):
                where = "%s %r" % (coltype, bytes.fromhex(hextext))
                if ndims and ndims != "1":
                    self.assertIn("multi-dimensional arrays are not supported", got, where)
                elif lower and lower != "1":
                    self.assertIn("lower-bound decoration", got, where)
                else:
                    self.assertEqual(got, "OK " + want, where)

    def test_unsupported_types_name_the_type(self):
        n = 200
        for coltype, value in UNSUPPORTED:
            n += 1
            table, desc = self.load(n, coltype, [value])
            got = self.check(desc, ["00"])[0]
            self.assertTrue(got.startswith("ERR column 'v': column type "), got)
            self.assertIn("is not supported", got)
            self.assertIn("set table_config.skip_unsupported_columns to mirror the table "
                          "without it", got)
            self.assertIn(desc[7], got)


if __name__ == "__main__":
    unittest.main()
