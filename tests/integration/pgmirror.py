"""Helpers for the PostgreSQL mirroring tests (issue 6): start a mirror over
the REST API, wait until floe has applied everything up to an LSN, and
compare a PostgreSQL table with what an Iceberg reader sees.

Comparison. Both sides are rendered to canonical Python values, column by
column, from independent readers:

  PostgreSQL  COPY (SELECT <canonical text per column>) TO STDOUT through psql;
              the rendering is chosen by the column's PostgreSQL type (domains
              resolved to their base type, arrays by element type).
  Iceberg     the snapshot's live data files (manifests read with python3-avro,
              deletion vectors decoded by tests/tools/dv_check.py, both through
              harness.live_data_and_dvs) read by DuckDB with read_parquet's
              `schema` map: columns are matched by Iceberg field id (never by
              name), cast to the type of the table schema (so an int column
              written before an int->long promotion reads as long), and a
              column a file does not have reads as the field's
              `initial-default` (Iceberg v3; null when there is none) -- the
              way the Iceberg spec says a reader must. Rows at DV positions
              are dropped. The rendering is chosen by the Iceberg type.

Canonical values: bool; int; float4 and float8 as repr() of the value rounded
to float32 / float64 (so -0.0, NaN and infinities are exact and distinct);
numeric as PostgreSQL's text (DuckDB's DECIMAL text has the same digits);
strings as str (hex-encoded UTF-8 on the wire, so no escaping and no NUL
truncation); bytea as upper-case hex; date as days since 1970-01-01; time and
timestamps as microseconds (timestamps since 1970-01-01 UTC); infinite dates
and timestamps as 'infinity' / '-infinity' (floe stores the integer extremes;
DuckDB reads INT32_MAX / INT64_MAX as infinity and the minimum as the raw
integer, both accepted); uuid as lower-case text; arrays as tuples of
canonical elements.
"""
import collections
import json
import os
import re
import struct
import subprocess
import threading
import time

from harness import current_metadata, duckq, live_data_and_dvs, local_path

STRESS = os.environ.get("FLOE_PG_STRESS") == "1"
MAX_REPORT = 20


# ---------------------------------------------------------------------------
# LSNs
# ---------------------------------------------------------------------------

def lsn_int(s):
    """'X/Y' (hex halves) -> int; None stays None."""
    if s is None:
        return None
    hi, lo = s.split("/")
    return int(hi, 16) << 32 | int(lo, 16)


def lsn_text(n):
    return "%X/%X" % (n >> 32, n & 0xFFFFFFFF)


def current_lsn(pg, dbname="postgres"):
    return lsn_int(pg.sql("SELECT pg_current_wal_lsn()", dbname=dbname))


# ---------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------

def src_uri(pg, user="postgres", dbname="postgres"):
    return "postgresql://%s@127.0.0.1:%d/%s" % (user, pg.port, dbname)


def error_message(out):
    """The message of a 4xx JSON body ({"message": ...}, or {"error": ...})."""
    if not isinstance(out, dict):
        return None
    m = out.get("message")
    if m is None:
        m = out.get("error")
    return m


def mirror_body(pg, src_table, table, database="db", table_config=None, user="postgres",
                dbname="postgres"):
    return {"database": database, "table": table, "src_uri": src_uri(pg, user, dbname),
            "src_table_name": src_table, "table_config": table_config or {}}


def post_mirror(f, pg, name, src_table, **kw):
    """POST /tables/{name}/from_postgres; returns (status, body)."""
    body = mirror_body(pg, src_table, kw.pop("table", name), **kw)
    st, out, _ = f.request("POST", "/tables/%s/from_postgres" % name, body)
    return st, out


def log_tail(f, n=4000):
    try:
        return f.read_log()[-n:]
    except Exception as e:  # the log of a stopped server may be gone
        return "(no log: %s)" % e


def mirror(f, pg, name, src_table, **kw):
    """Starts mirroring; asserts 201 and the documented answer; returns it."""
    st, out = post_mirror(f, pg, name, src_table, **kw)
    if st != 201:
        raise AssertionError("POST /tables/%s/from_postgres -> %d %s\nfloe log:\n%s"
                             % (name, st, out, log_tail(f)))
    if not isinstance(out, dict) or out.get("phase") not in ("copying", "streaming") \
            or out.get("identity") not in ("primary-key", "full-row", "append-only"):
        raise AssertionError("POST /tables/%s/from_postgres: unexpected answer %s" % (name, out))
    return out


def describe(f, name):
    st, out, _ = f.request("GET", "/tables/" + name)
    if st != 200:
        raise AssertionError("GET /tables/%s -> %d %s\nfloe log:\n%s" % (name, st, out, log_tail(f)))
    return out


def source_of(f, name):
    out = describe(f, name)
    src = out.get("source")
    if not isinstance(src, dict):
        raise AssertionError("GET /tables/%s has no source object: %s" % (name, out))
    return src


def wait_phase(f, name, phases=("streaming",), timeout=60):
    """Waits until source.phase is one of phases; fails on phase error."""
    deadline = time.time() + timeout
    src = None
    while time.time() < deadline:
        src = source_of(f, name)
        if src.get("phase") in phases:
            return src
        if src.get("phase") == "error" and "error" not in phases:
            raise AssertionError("table %s stopped with an error: %s\nfloe log:\n%s"
                                 % (name, src, log_tail(f)))
        time.sleep(0.1)
    raise AssertionError("table %s: phase not in %s after %ds: %s\nfloe log:\n%s"
                         % (name, phases, timeout, src, log_tail(f)))


def wait_converged(f, pg, names, timeout=60, target=None, dbname="postgres"):
    """Waits until every table in names has source.confirmed_lsn >= target
    (default: pg_current_wal_lsn() now): floe has applied and committed
    everything up to it. Returns target."""
    if isinstance(names, str):
        names = [names]
    if target is None:
        target = current_lsn(pg, dbname)
    deadline = time.time() + timeout
    for name in names:
        src = None
        while True:
            src = source_of(f, name)
            if src.get("phase") == "error":
                raise AssertionError("table %s stopped with an error while waiting for LSN %s: %s"
                                     "\nfloe log:\n%s" % (name, lsn_text(target), src, log_tail(f)))
            c = src.get("confirmed_lsn")
            if c is not None and lsn_int(c) >= target:
                break
            if time.time() > deadline:
                raise AssertionError(
                    "table %s did not reach LSN %s within %ds: GET /tables/%s = %s\nslots: %s\n"
                    "floe log:\n%s" % (name, lsn_text(target), timeout, name,
                                       json.dumps(describe(f, name)),
                                       pg.sql("SELECT slot_name, active, confirmed_flush_lsn, "
                                              "restart_lsn FROM pg_replication_slots",
                                              dbname=dbname, check=False),
                                       log_tail(f)))
            time.sleep(0.05)
    return target


def slot_count(pg, dbname="postgres"):
    return int(pg.sql("SELECT count(*) FROM pg_replication_slots", dbname=dbname))


def publication_count(pg, dbname="postgres"):
    return int(pg.sql("SELECT count(*) FROM pg_publication", dbname=dbname))


# ---------------------------------------------------------------------------
# PostgreSQL columns and their canonical rendering
# ---------------------------------------------------------------------------

STRING_TYPES = {"text", "varchar", "bpchar", "json", "jsonb", "name", "char", "xml"}
SIMPLE_KINDS = {"bool", "int2", "int4", "int8", "float4", "float8", "numeric", "bytea", "date",
                "time", "timestamp", "timestamptz", "uuid"}


def _kind(typname, typtype):
    if typtype == "e" or typname in STRING_TYPES:
        return "string"
    if typname in SIMPLE_KINDS:
        return typname
    return "other:" + typname


class PgCol:
    def __init__(self, name, kind, typmod, elem_kind, type_text):
        self.name, self.kind, self.typmod, self.elem_kind = name, kind, typmod, elem_kind
        self.type_text = type_text  # format_type() of the column, for messages

    def __repr__(self):
        return "PgCol(%s %s)" % (self.name, self.type_text)


def pg_columns(pg, src_table, dbname="postgres"):
    """Columns of src_table in attnum order (domains resolved)."""
    q = """
SELECT a.attname, bt.typname, bt.typtype,
       CASE WHEN t.typtype = 'd' AND t.typtypmod <> -1 THEN t.typtypmod ELSE a.atttypmod END,
       coalesce(et.typname, ''), coalesce(et.typtype::text, ''),
       format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type et0 ON et0.oid = bt.typelem AND bt.typcategory = 'A'
LEFT JOIN pg_type et ON et.oid = CASE WHEN et0.typtype = 'd' THEN et0.typbasetype ELSE et0.oid END
WHERE a.attrelid = '%s'::regclass AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum""" % src_table.replace("'", "''")
    out = []
    for line in pg.sql(q, dbname=dbname).split("\n"):
        name, typname, typtype, typmod, etypname, etyptype, text = line.split("|")
        if etypname:
            out.append(PgCol(name, "array", int(typmod), _kind(etypname, etyptype), text))
        else:
            out.append(PgCol(name, _kind(typname, typtype), int(typmod), None, text))
    return out


def qident(name):
    return '"%s"' % name.replace('"', '""')


def _pg_scalar_sql(kind, e):
    if kind in ("bool", "int2", "int4", "int8", "float4", "float8", "numeric", "uuid"):
        return "(%s)::text" % e
    if kind == "string":
        return ("CASE WHEN %s IS NULL THEN NULL ELSE encode(convert_to(format('%%s', %s), 'UTF8'), "
                "'hex') END" % (e, e))
    if kind == "bytea":
        return "upper(encode(%s, 'hex'))" % e
    if kind == "date":
        return ("CASE WHEN %s = 'infinity'::date THEN 'infinity' WHEN %s = '-infinity'::date "
                "THEN '-infinity' ELSE (%s - DATE '1970-01-01')::text END" % (e, e, e))
    if kind == "time":
        return "(extract(epoch FROM %s) * 1000000)::bigint::text" % e
    if kind in ("timestamp", "timestamptz"):
        return ("CASE WHEN isfinite(%s) THEN (extract(epoch FROM %s) * 1000000)::bigint::text "
                "ELSE (%s)::text END" % (e, e, e))
    raise AssertionError("no canonical PostgreSQL rendering for " + kind)


def pg_expr(col):
    e = qident(col.name)
    if col.kind == "array":
        return ("CASE WHEN %s IS NULL THEN NULL ELSE (SELECT coalesce(json_agg(%s ORDER BY o), "
                "'[]'::json)::text FROM unnest(%s) WITH ORDINALITY AS u(x, o)) END"
                % (e, _pg_scalar_sql(col.elem_kind, "x"), e))
    return _pg_scalar_sql(col.kind, e)


def _f32(s):
    return repr(struct.unpack(">f", struct.pack(">f", float(s)))[0])


def _f64(s):
    return repr(float(s))


def canon_scalar(kind, s, side):
    """Canonical value of one scalar rendered as text s (None for NULL).
    kind: a PostgreSQL kind (side 'pg') or an Iceberg primitive type
    (side 'ice')."""
    if s is None:
        return None
    if side == "ice":
        kind = {"boolean": "bool", "int": "int8", "long": "int8", "float": "float4",
                "double": "float8", "string": "string", "binary": "bytea", "date": "date",
                "time": "time", "timestamp": "timestamp", "timestamptz": "timestamp",
                "uuid": "uuid"}.get(kind, kind)
        if kind.startswith("decimal"):
            kind = "numeric"
    if kind == "bool":
        return {"true": True, "false": False}[s]
    if kind in ("int2", "int4", "int8"):
        return int(s)
    if kind == "float4":
        return _f32(s)
    if kind == "float8":
        return _f64(s)
    if kind == "numeric":
        return s
    if kind == "string":
        return bytes.fromhex(s).decode("utf-8")
    if kind == "bytea":
        return s.upper()
    if kind == "date":
        if s in ("infinity", "-infinity"):
            return s
        v = int(s)
        if v == 2**31 - 1:
            return "infinity"
        if v in (-2**31, -2**31 + 1):
            return "-infinity"
        return v
    if kind == "time":
        return int(s)
    if kind in ("timestamp", "timestamptz"):
        if s in ("infinity", "-infinity"):
            return s
        v = int(s)
        if v == 2**63 - 1:
            return "infinity"
        if v in (-2**63, -2**63 + 1):
            return "-infinity"
        return v
    if kind == "uuid":
        return s.lower()
    raise AssertionError("cannot canonicalize %s (%s)" % (kind, side))


def canon_pg(col, s):
    if col.kind == "array":
        if s is None:
            return None
        return tuple(canon_scalar(col.elem_kind, x, "pg") for x in json.loads(s))
    if col.kind == "numeric" and s is not None:
        return s
    return canon_scalar(col.kind, s, "pg")


def _copy_unescape(s):
    if s == "\\N":
        return None
    if "\\" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            out.append({"t": "\t", "n": "\n", "r": "\r", "b": "\b", "f": "\f", "v": "\v"}.get(n, n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def pg_rows(pg, src_table, cols=None, dbname="postgres", exclude=()):
    """(columns, list of canonical row tuples) of src_table in PostgreSQL."""
    cols = [c for c in (cols or pg_columns(pg, src_table, dbname)) if c.name not in exclude]
    q = "COPY (SELECT %s FROM %s) TO STDOUT" % (", ".join(pg_expr(c) for c in cols), src_table)
    text = pg.sql(q, dbname=dbname)
    rows = []
    for line in text.split("\n") if text else []:
        fields = [_copy_unescape(x) for x in line.split("\t")]
        assert len(fields) == len(cols), (line[:200], cols)
        rows.append(tuple(canon_pg(c, v) for c, v in zip(cols, fields)))
    return cols, rows


# ---------------------------------------------------------------------------
# The Iceberg side
# ---------------------------------------------------------------------------

def schema_of(md, schema_id=None):
    sid = md.get("current-schema-id") if schema_id is None else schema_id
    for s in md["schemas"]:
        if s["schema-id"] == sid:
            return s
    raise AssertionError("schema %s not in metadata" % sid)


def duck_type(t):
    if isinstance(t, dict):
        if t.get("type") == "list":
            return duck_type(t["element"]) + "[]"
        raise AssertionError("unexpected Iceberg type %s" % t)
    m = re.match(r"decimal\((\d+),\s*(\d+)\)$", t)
    if m:
        return "DECIMAL(%s,%s)" % m.groups()
    return {"boolean": "BOOLEAN", "int": "INTEGER", "long": "BIGINT", "float": "FLOAT",
            "double": "DOUBLE", "date": "DATE", "time": "TIME", "timestamp": "TIMESTAMP",
            "timestamptz": "TIMESTAMPTZ", "string": "VARCHAR", "uuid": "UUID", "binary": "BLOB"}[t]


def _duck_scalar_sql(t, d):
    if t in ("string", "binary"):
        return "hex(%s)" % d
    if t == "date":
        return "CAST(%s - DATE '1970-01-01' AS VARCHAR)" % d
    if t == "time":
        return "CAST(epoch_us(%s) AS VARCHAR)" % d
    if t in ("timestamp", "timestamptz"):
        return ("CASE WHEN isinf(%s) THEN CAST(%s AS VARCHAR) ELSE CAST(epoch_us(%s) AS VARCHAR) END"
                % (d, d, d))
    return "CAST(%s AS VARCHAR)" % d


def duck_expr(field):
    d = qident(field["name"])
    t = field["type"]
    if isinstance(t, dict):
        return "to_json(list_transform(%s, x -> %s))" % (d, _duck_scalar_sql(t["element"], "x"))
    return _duck_scalar_sql(t, d)


def canon_ice(field, s):
    t = field["type"]
    if isinstance(t, dict):
        if s is None:
            return None
        return tuple(canon_scalar(t["element"], x, "ice") for x in json.loads(s))
    return canon_scalar(t, s, "ice")


def _sql_str(s):
    return "'%s'" % s.replace("'", "''")


def _default_sql(field):
    """The field's initial-default as a VARCHAR literal DuckDB casts to the
    column type (NULL when it has none)."""
    if "initial-default" not in field or field["initial-default"] is None:
        return "NULL::VARCHAR"
    v = field["initial-default"]
    if isinstance(v, bool):
        return _sql_str("true" if v else "false")
    if isinstance(v, (int, float)):
        return _sql_str(repr(v) if isinstance(v, float) else str(v))
    if isinstance(v, str):
        if field["type"] == "binary":
            raise AssertionError("binary initial-default not supported by this reader")
        return _sql_str(v)
    raise AssertionError("initial-default %r of %s not supported by this reader" % (v, field))


def ice_rows(table_dir, snapshot_id=None, md=None, names=None):
    """(schema fields used, list of canonical row tuples) of a snapshot
    (default the current one) as a v3 reader sees it: fields in schema order
    (or in the order of `names`)."""
    if md is None:
        _, md = current_metadata(table_dir)
    schema_id = None
    if snapshot_id is not None:
        snap = [s for s in md["snapshots"] if s["snapshot-id"] == snapshot_id][0]
        schema_id = snap.get("schema-id")
    schema = schema_of(md, schema_id)
    fields = schema["fields"]
    if names is not None:
        by = {x["name"]: x for x in fields}
        fields = [by[n] for n in names]
    data, dvs = live_data_and_dvs(table_dir, snapshot_id=snapshot_id, metadata=md)
    if not data:
        return fields, []
    smap = ", ".join("%d: {name: %s, type: %s, default_value: %s}" % (
        x["id"], _sql_str(x["name"]), _sql_str(duck_type(x["type"])), _default_sql(x))
        for x in schema["fields"])
    q = ("SELECT filename, file_row_number, %s FROM read_parquet([%s], filename=true, "
         "file_row_number=true, schema=map{%s})"
         % (", ".join(duck_expr(x) for x in fields) or "1",
            ", ".join(_sql_str(local_path(u)) for u in data), smap))
    rows = []
    for r in duckq(q):
        fname, pos = r[0], int(r[1])
        if pos in dvs.get("file://" + fname, ()):
            continue
        rows.append(tuple(canon_ice(x, v) for x, v in zip(fields, r[2:])))
    return fields, rows


# ---------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------

def _short(v):
    if isinstance(v, str) and len(v) > 60:
        return "%r...(%d chars)" % (v[:40], len(v))
    if isinstance(v, tuple):
        return "(" + ", ".join(_short(x) for x in v) + ")"
    return repr(v)


def diff_rows(names, expected, got, what):
    """None when the multisets are equal, else a message."""
    e, g = collections.Counter(expected), collections.Counter(got)
    if e == g:
        return None
    missing = list((e - g).elements())
    extra = list((g - e).elements())
    key = lambda r: repr(r)
    missing.sort(key=key)
    extra.sort(key=key)
    lines = ["%s: PostgreSQL has %d rows, Iceberg %d; %d only in PostgreSQL, %d only in Iceberg"
             % (what, len(expected), len(got), len(missing), len(extra)),
             "columns: " + ", ".join(names)]
    for r in missing[:MAX_REPORT]:
        lines.append("  only in PostgreSQL: " + _short(r))
    for r in extra[:MAX_REPORT]:
        lines.append("  only in Iceberg:    " + _short(r))
    return "\n".join(lines)


def assert_mirrored(f, pg, src_table, table, database="db", dbname="postgres", exclude=(),
                    what=None):
    """The Iceberg table's current snapshot equals the PostgreSQL table now:
    same column names (the Iceberg schema has exactly PostgreSQL's columns
    minus `exclude`), same multiset of rows, value by value."""
    cols, expected = pg_rows(pg, src_table, dbname=dbname, exclude=exclude)
    table_dir = os.path.join(f.data_dir, database, table)
    _, md = current_metadata(table_dir)
    ice_names = [x["name"] for x in schema_of(md)["fields"]]
    names = [c.name for c in cols]
    if ice_names != names:
        raise AssertionError("%s: Iceberg schema columns %s, PostgreSQL columns %s"
                             % (what or table, ice_names, names))
    _, got = ice_rows(table_dir, md=md, names=names)
    msg = diff_rows(names, expected, got, what or table)
    if msg:
        raise AssertionError(msg + "\nGET source: %s\nfloe log:\n%s"
                             % (json.dumps(describe(f, table).get("source")) if f.proc else "-",
                                log_tail(f, 2500)))
    return len(expected)


# ---------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------

class PsqlSession:
    """A long-lived psql process fed statements on stdin (ON_ERROR_STOP off:
    a failing statement is just reported on stderr, like an application
    that ignores an error). Output goes to files; close() waits for it."""

    def __init__(self, pg, path_prefix, dbname="postgres"):
        self.out_path = path_prefix + ".out"
        self.err_path = path_prefix + ".err"
        self.out = open(self.out_path, "w")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(pg.psql_argv(dbname), stdin=subprocess.PIPE, stdout=self.out,
                                     stderr=self.err, text=True)

    def send(self, sql):
        self.proc.stdin.write(sql if sql.endswith("\n") else sql + "\n")

    def close(self, timeout=120):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.out.close()
        self.err.close()
        return rc

    def output(self):
        with open(self.out_path) as fh:
            return fh.read()

    def errors(self):
        with open(self.err_path) as fh:
            return fh.read()


class BatchWriter(threading.Thread):
    """Runs make_sql(rng, i) batches through short-lived psql processes until
    stopped; a batch that fails (server restarting) is retried later with new
    statements. Counts the batches that succeeded."""

    def __init__(self, pg, make_sql, seed=1, pause=0.0, dbname="postgres"):
        super().__init__(daemon=True)
        import random
        self.pg, self.make_sql, self.pause, self.dbname = pg, make_sql, pause, dbname
        self.rng = random.Random(seed)
        self.stop_ev = threading.Event()
        self.ok = self.failed = 0
        self.last_error = None

    def run(self):
        i = 0
        while not self.stop_ev.is_set():
            try:
                self.pg.sql(self.make_sql(self.rng, i), dbname=self.dbname)
                self.ok += 1
            except Exception as e:  # server restarting, a conflict: PostgreSQL stays the truth
                self.failed += 1
                self.last_error = str(e)[-300:]
                time.sleep(0.1)
            i += 1
            if self.pause:
                time.sleep(self.pause)

    def stop(self):
        self.stop_ev.set()
        self.join(120)


def sql_lit(v):
    """A Python value as an SQL literal."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int,)):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "'NaN'"
        if v in (float("inf"), float("-inf")):
            return "'%sInfinity'" % ("-" if v < 0 else "")
        return "'%r'" % v
    return _sql_str(str(v))
