"""Issue 4: primary keys, insert/upsert/update/delete, deletion vectors in
Puffin files and row lineage through updates.

A real floe server over HTTP. Everything it wrote is read back without floe:
the metadata JSON, manifest lists and manifests with python3-avro, every live
data file with DuckDB (read_parquet(..., file_row_number=true), through duckq),
and every live deletion vector with tests/tools/dv_check.py (an independent
Puffin/Roaring decoder). The rows a v3 reader sees are the data files' rows
minus their DV positions; they are compared with a model, row by row, every
column, and with each row's _row_id (the file's `_row_id` column when written,
else the file's first_row_id + position).

The model test is deterministic for a seed: FLOE_KEYS_SEED (default below) and
FLOE_KEYS_OPS (row operations, default 200000) can be set in the environment;
every failure message names the seed, the phase and the table.
"""
import collections
import datetime
import decimal
import json
import os
import random
import sys
import tempfile
import time
import unittest
import uuid as uuidlib

from harness import DV_CHECK, Floe, current_metadata, duckq, dv_check_module, local_path, read_avro

ROW_ID_FIELD = 2147483540
LAST_UPDATED_FIELD = 2147483539
DEFAULT_SEED = 4004
MAX_REPORT = 25  # problems listed in one failure message

decimal.getcontext().prec = 60

# ---------------------------------------------------------------------------
# Column types: what is sent, and what DuckDB prints for it.
# Canonical value of a column = the text the SQL expression of Col.sql() makes
# DuckDB print (floats: a Python float), None for NULL.
# ---------------------------------------------------------------------------

ODD_STRINGS = ["", " ", "tab\there", "new\nline", "back\\slash", "quote\"d", "nul\u0000inside",
               "héllo wörld", "日本語", "🚀 rocket", "a" * 300, "\u00e9\u0301", "'single'", "%s%d"]


def quant(v, scale):
    d = decimal.Decimal(str(v)).quantize(decimal.Decimal(1).scaleb(-scale))
    if d == 0:
        d = abs(d)  # DuckDB prints 0.00, never -0.00
    return format(d, "f")


class Col:
    def __init__(self, name, dtype, nullable=True):
        self.name, self.dtype, self.nullable = name, dtype, nullable

    def schema(self):
        return {"name": self.name, "data_type": self.dtype, "nullable": self.nullable}

    @property
    def scale(self):
        return int(self.dtype.split(",")[1].rstrip(")"))

    def sql(self, alias=None):
        q = '"%s"' % self.name
        if self.dtype == "string":
            return "hex(%s)" % q  # the C API's text form stops at a NUL byte
        if self.dtype == "timestamp":
            return "CAST(epoch_us(%s) AS VARCHAR)" % q
        return "CAST(%s AS VARCHAR)" % q

    def canon(self, v):
        """Sent JSON value -> canonical value."""
        if v is None:
            return None
        t = self.dtype
        if t in ("int64", "int32", "timestamp"):
            return str(v)
        if t == "float64":
            return float(v)
        if t == "string":
            return v.encode("utf-8").hex().upper()
        if t == "boolean":
            return "true" if v else "false"
        if t == "uuid":
            return str(uuidlib.UUID(v))
        if t == "date32":
            return v
        if t.startswith("decimal"):
            return quant(v, self.scale)
        raise AssertionError(t)

    def from_db(self, text):
        if text is None:
            return None
        if self.dtype == "float64":
            return float(text)
        return text

    def human(self, canon):
        """How a key value may appear in an error message (alternatives)."""
        if self.dtype == "string":
            s = bytes.fromhex(canon).decode("utf-8")
            # long values may be cut: a prefix of 16+ characters then "..."
            return [s, json.dumps(s)[1:-1]] + [s[:n] + "..." for n in range(16, len(s))]
        if self.dtype == "uuid":
            return [canon, canon.upper()]
        if self.dtype.startswith("decimal"):
            return [canon, canon.rstrip("0").rstrip(".") if "." in canon else canon]
        return [canon]

    def message_friendly(self, canon):
        if self.dtype != "string":
            return True
        s = bytes.fromhex(canon).decode("utf-8")
        return s != "" and all(32 < ord(c) < 127 and c not in "\"\\" for c in s)

    def gen(self, rng):
        """A random non-key value to send (None sometimes when nullable)."""
        if self.nullable and rng.random() < 0.2:
            return None
        t = self.dtype
        if t == "int64":
            return rng.choice([rng.randint(-2**63, 2**63 - 1), rng.randint(-1000, 1000)])
        if t == "int32":
            return rng.randint(-2**31, 2**31 - 1)
        if t == "float64":
            return rng.choice([rng.uniform(-1e6, 1e6), rng.random(), 0.0, -0.0, 1e-300,
                               1.7976931348623157e308, rng.gauss(0, 1) * 1e12, 5e-324])
        if t == "string":
            r = rng.random()
            if r < 0.3:
                return rng.choice(ODD_STRINGS) + str(rng.randint(0, 99))
            if r < 0.32:
                return "L" * rng.randint(1000, 3000)
            return "v%d" % rng.randint(0, 10**9)
        if t == "boolean":
            return rng.random() < 0.5
        if t == "timestamp":
            return rng.randint(-2**50, 2**50)
        if t.startswith("decimal"):
            p = int(t[len("decimal("):].split(",")[0])
            return quant(decimal.Decimal(rng.randint(-10**p + 1, 10**p - 1)).scaleb(-self.scale),
                         self.scale)
        if t == "uuid":
            return str(uuidlib.UUID(int=rng.getrandbits(128)))
        if t == "date32":
            return (datetime.date(1970, 1, 1) + datetime.timedelta(days=rng.randint(-20000, 40000))).isoformat()
        raise AssertionError(t)

    def same(self, exp, got):
        if self.dtype == "float64":
            return (exp is None and got is None) or (exp is not None and got is not None and exp == got)
        return exp == got


class TableDef:
    """A table of the model test: columns, key columns and a key universe of
    `nkeys` distinct keys (index -> tuple of sent values)."""

    def __init__(self, name, cols, key_names, create_form, nkeys, rng):
        self.name, self.cols, self.key_names, self.form = name, cols, key_names, create_form
        self.by_name = {c.name: c for c in cols}
        self.key_cols = [self.by_name[k] for k in key_names]
        self.value_cols = [c for c in cols if c.name not in key_names]
        self.keys = make_universe(self, nkeys, rng)
        self.canon_keys = [self.canon_key(k) for k in self.keys]
        assert len(set(self.canon_keys)) == nkeys, name
        self.index_of = {ck: i for i, ck in enumerate(self.canon_keys)}

    def canon_key(self, key_values):
        return tuple(c.canon(v) for c, v in zip(self.key_cols, key_values))

    def create_body(self):
        schema = [c.schema() for c in self.cols]
        cfg = {}
        if self.form == "row_identity":
            cfg = {"row_identity": {"primary_key": list(self.key_names)}}
        elif self.form == "per_column":
            for s in schema:
                if s["name"] in self.key_names:
                    s["primary_key"] = True
        elif self.form == "moonlink":
            idx = [[c.name for c in self.cols].index(k) for k in self.key_names]
            cfg = {"mooncake": {"append_only": False, "row_identity": {"Keys": idx}}}
        else:
            raise AssertionError(self.form)
        return {"database": "db", "table": self.name, "schema": schema, "table_config": cfg}

    def send_key(self, i, rng):
        """Key columns of key i as sent: equal values in varying JSON forms."""
        out = {}
        for c, v in zip(self.key_cols, self.keys[i]):
            if c.dtype == "uuid" and rng.random() < 0.3:
                v = v.upper()
            elif c.dtype.startswith("decimal"):
                r = rng.random()
                d = decimal.Decimal(v)
                if r < 0.25 and "." in v:
                    v = v.rstrip("0").rstrip(".") or "0"
                elif r < 0.5 and len(d.as_tuple().digits) <= 15:
                    v = float(v)  # a JSON number; repr round-trips with <= 15 digits
            out[c.name] = v
        return out

    def make_row(self, i, rng):
        """(JSON row to send, expected canonical row) for key i."""
        row = self.send_key(i, rng)
        exp = {c.name: c.canon(v) for c, v in zip(self.key_cols, self.keys[i])}
        for c in self.value_cols:
            v = c.gen(rng)
            exp[c.name] = c.canon(v)
            if v is None and rng.random() < 0.5:
                continue  # omitted nullable column: null
            row[c.name] = v
        return row, exp

    def key_text(self, i):
        return "(%s)" % ", ".join("%s=%r" % (c.name, v) for c, v in zip(self.key_cols, self.keys[i]))


def make_universe(td, n, rng):
    kinds = [c.dtype for c in td.key_cols]
    seen, out = set(), []

    def add(k):
        ck = td.canon_key(k)
        if ck not in seen:
            seen.add(ck)
            out.append(k)

    if kinds == ["int64"]:
        for v in (-2**63, 2**63 - 1, 0, -1, 1):
            add((v,))
        while len(out) < n:
            add((rng.choice([rng.randint(-2**63, 2**63 - 1), rng.randint(-10**6, 10**6)]),))
    elif kinds == ["string"]:
        for s in ODD_STRINGS + ["k", "k1", "k10", "K1"]:
            add((s,))
        while len(out) < n:
            j = len(out)
            r = rng.random()
            if r < 0.8:
                add(("k%05d" % j,))
            elif r < 0.9:
                add((rng.choice(ODD_STRINGS) + "#%d" % j,))
            else:
                add(("long-%d-" % j + "z" * rng.randint(50, 400),))
    elif kinds == ["uuid"]:
        add((str(uuidlib.UUID(int=0)),))
        add((str(uuidlib.UUID(int=2**128 - 1)),))
        while len(out) < n:
            add((str(uuidlib.UUID(int=rng.getrandbits(128))),))
    elif kinds == ["date32"]:
        base = datetime.date(1950, 6, 1)
        for j in range(n):
            add(((base + datetime.timedelta(days=j)).isoformat(),))
    elif kinds[0].startswith("decimal") and len(kinds) == 1:
        sc = td.key_cols[0].scale
        for u in (10**18 - 1, -(10**18 - 1), 0, 1, -1, 10, 12345):
            add((quant(decimal.Decimal(u).scaleb(-sc), sc),))
        while len(out) < n:
            u = rng.choice([rng.randint(-10**18 + 1, 10**18 - 1), rng.randint(-10**6, 10**6)])
            add((quant(decimal.Decimal(u).scaleb(-sc), sc),))
    elif kinds == ["string", "int32"]:
        # pairs a naive concatenating encoding would confuse
        for p in [("a", 12), ("a1", 2), ("a12", 0), ("", 0), ("\u0000", 0), ("", 2**31 - 1),
                  ("a\u0000", 1), ("a", -2**31), ("ab", 1), ("a", 1)]:
            add(p)
        strs = ["", "a", "a1", "ab", "s\u0000", "ü", "🚀", "tab\t", "a" * 40] + ["p%d" % j for j in range(40)]
        while len(out) < n:
            add((rng.choice(strs), rng.choice([rng.randint(-2**31, 2**31 - 1), rng.randint(-3000, 3000)])))
    else:
        raise AssertionError(kinds)
    return out[:n]


# ---------------------------------------------------------------------------
# Reading the table without floe.
# ---------------------------------------------------------------------------

class Problems:
    def __init__(self, what):
        self.what, self.items = what, []

    def add(self, msg):
        self.items.append(msg)

    def check(self):
        if self.items:
            lines = self.items[:MAX_REPORT]
            more = len(self.items) - len(lines)
            raise AssertionError("%s: %d problem(s):\n  %s%s" % (
                self.what, len(self.items), "\n  ".join(lines),
                "\n  ... and %d more" % more if more else ""))


class DataFile:
    def __init__(self, entry, manifest, seq, first_row_id):
        df = entry["data_file"]
        self.uri = df["file_path"]
        self.path = local_path(self.uri)
        self.record_count = df["record_count"]
        self.size = df["file_size_in_bytes"]
        self.seq = seq
        self.first_row_id = first_row_id
        self.status = entry["status"]
        self.snapshot_id = entry["snapshot_id"]
        self.manifest = manifest["manifest_path"]
        self.dv = None


class DV:
    def __init__(self, entry, seq, blob):
        df = entry["data_file"]
        self.uri = df["file_path"]
        self.path = local_path(self.uri)
        self.ref = df["referenced_data_file"]
        self.offset = df["content_offset"]
        self.length = df["content_size_in_bytes"]
        self.card = df["record_count"]
        self.size = df["file_size_in_bytes"]
        self.seq = seq
        self.status = entry["status"]
        self.snapshot_id = entry["snapshot_id"]
        self.positions = set(blob["positions"]) if blob else set()


class TableState:
    """The current snapshot of one table as a v3 reader sees it."""

    def __init__(self):
        self.md = None
        self.snap = None
        self.files = {}      # data file URI -> DataFile (live)
        self.dvs = {}        # data file URI -> DV (live)
        self.entries = []    # (manifest_file record, entry) of every manifest of the snapshot
        self.rows = []       # dicts: column name -> canonical, plus _file, _pos, _row_id, _lus

    def summary(self, key, default=None):
        v = self.snap["summary"].get(key) if self.snap else None
        return default if v is None else v


_puffin_cache = {}


def decode_puffin(path):
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    if key not in _puffin_cache:
        mod = dv_check_module()
        with open(path, "rb") as f:
            data = f.read()
        try:
            _puffin_cache[key] = mod.check(data)
        except Exception as e:  # noqa: BLE001 - dv_check reports through exceptions
            _puffin_cache[key] = "dv_check: %s" % e
    return _puffin_cache[key]


def scan_snapshot(table_dir, p):
    """Reads metadata, manifest list and manifests; checks their structure and
    every live DV. Problems go to p; returns a TableState without rows."""
    ts = TableState()
    _, md = current_metadata(table_dir)
    ts.md = md
    if md.get("format-version") != 3:
        p.add("format-version %r" % md.get("format-version"))
    sid = md.get("current-snapshot-id")
    if sid is None or sid == -1:
        return ts
    snaps = [s for s in md["snapshots"] if s["snapshot-id"] == sid]
    if len(snaps) != 1:
        p.add("current snapshot %s not in snapshots" % sid)
        return ts
    ts.snap = snap = snaps[0]
    lmeta, mlist, _ = read_avro(local_path(snap["manifest-list"]))
    if lmeta.get("first-row-id") != str(snap.get("first-row-id")):
        p.add("manifest list header first-row-id %r, snapshot first-row-id %r"
              % (lmeta.get("first-row-id"), snap.get("first-row-id")))
    data_entries, dv_entries = [], []
    for m in mlist:
        mpath = local_path(m["manifest_path"])
        if not os.path.exists(mpath):
            p.add("manifest %s missing" % mpath)
            continue
        if os.path.getsize(mpath) != m["manifest_length"]:
            p.add("manifest %s: manifest_length %d, file has %d bytes"
                  % (mpath, m["manifest_length"], os.path.getsize(mpath)))
        mmeta, entries, _ = read_avro(mpath)
        want = {0: "data", 1: "deletes"}.get(m["content"])
        if mmeta.get("content") != want:
            p.add("manifest %s: header content %r, list content %r" % (mpath, mmeta.get("content"), m["content"]))
        if m["content"] == 0 and m.get("first_row_id") is None:
            p.add("data manifest %s has no first_row_id" % mpath)
        if m["content"] == 1 and m.get("first_row_id") is not None:
            p.add("delete manifest %s has first_row_id %r (must be null)" % (mpath, m["first_row_id"]))
        running = m.get("first_row_id")
        for e in entries:
            ts.entries.append((m, e))
            df = e["data_file"]
            st = e["status"]
            if e.get("snapshot_id") is None:
                e["snapshot_id"] = m["added_snapshot_id"]  # inherited (ADDED entries)
            if st == 1:
                seq = e["sequence_number"] if e.get("sequence_number") is not None else m["sequence_number"]
                if e["snapshot_id"] == sid and seq != snap["sequence-number"]:
                    p.add("%s ADDED by the current snapshot has sequence number %s, the snapshot's is %d"
                          % (df["file_path"], seq, snap["sequence-number"]))
            else:
                seq = e.get("sequence_number")
                if seq is None or e.get("file_sequence_number") is None:
                    p.add("%s entry for %s without explicit sequence numbers"
                          % ({0: "EXISTING", 2: "DELETED"}.get(st, st), df["file_path"]))
            if df["content"] not in (0, 1):
                p.add("content %d file %s (v3 floe writes data and DVs only)" % (df["content"], df["file_path"]))
                continue
            if (df["content"] == 0) != (m["content"] == 0):
                p.add("content %d entry %s in a content %d manifest" % (df["content"], df["file_path"], m["content"]))
            if df["content"] == 0:
                fr = df.get("first_row_id")
                if fr is None:
                    if st != 1:
                        p.add("%s data entry %s without explicit first_row_id"
                              % ({0: "EXISTING", 2: "DELETED"}.get(st, st), df["file_path"]))
                    if running is None:
                        fr = None
                    else:
                        fr = running
                        running += df["record_count"]
                if st != 2:
                    data_entries.append(DataFile(e, m, seq, fr))
            else:
                if df.get("first_row_id") is not None:
                    p.add("DV %s has first_row_id %r" % (df["file_path"], df["first_row_id"]))
                if st != 2:
                    dv_entries.append((e, seq))
    for f in data_entries:
        if f.uri in ts.files:
            p.add("data file %s live twice in the snapshot" % f.uri)
        ts.files[f.uri] = f
        if not os.path.exists(f.path):
            p.add("live data file %s missing" % f.path)
        elif os.path.getsize(f.path) != f.size:
            p.add("data file %s: file_size_in_bytes %d, file has %d" % (f.path, f.size, os.path.getsize(f.path)))
        if f.first_row_id is None:
            p.add("data file %s: no first_row_id (neither written nor inherited)" % f.uri)
        if f.record_count <= 0:
            p.add("live data file %s with record_count %d" % (f.uri, f.record_count))
    for e, seq in dv_entries:
        df = e["data_file"]
        name = df["file_path"]
        if df["file_format"] != "PUFFIN":
            p.add("delete file %s: file_format %r (v3: DVs in PUFFIN only)" % (name, df["file_format"]))
            continue
        for k in ("referenced_data_file", "content_offset", "content_size_in_bytes"):
            if df.get(k) is None:
                p.add("DV %s: %s is null" % (name, k))
        if df.get("referenced_data_file") is None:
            continue
        path = local_path(name)
        blob = None
        if not os.path.exists(path):
            p.add("live Puffin file %s missing" % path)
        else:
            if os.path.getsize(path) != df["file_size_in_bytes"]:
                p.add("Puffin %s: file_size_in_bytes %d, file has %d"
                      % (path, df["file_size_in_bytes"], os.path.getsize(path)))
            out = decode_puffin(path)
            if isinstance(out, str):
                p.add("Puffin %s: %s" % (path, out))
            else:
                found = [b for b in out["blobs"] if b["offset"] == df["content_offset"]]
                if not found:
                    p.add("Puffin %s: no blob at content_offset %s (blobs at %s)"
                          % (path, df["content_offset"], [b["offset"] for b in out["blobs"]]))
                else:
                    blob = found[0]
                    if blob["length"] != df["content_size_in_bytes"]:
                        p.add("Puffin %s blob at %d: length %d, content_size_in_bytes %s"
                              % (path, blob["offset"], blob["length"], df["content_size_in_bytes"]))
                    if blob["referenced_data_file"] != df["referenced_data_file"]:
                        p.add("Puffin %s blob at %d: referenced-data-file %r, manifest %r"
                              % (path, blob["offset"], blob["referenced_data_file"], df["referenced_data_file"]))
                    if blob["cardinality"] != df["record_count"]:
                        p.add("Puffin %s blob at %d: cardinality %d, manifest record_count %d"
                              % (path, blob["offset"], blob["cardinality"], df["record_count"]))
        dv = DV(e, seq, blob)
        target = ts.files.get(dv.ref)
        if target is None:
            p.add("DV %s references %r, which is not a live data file (byte for byte)" % (name, dv.ref))
            continue
        if target.dv is not None:
            p.add("data file %s has two live DVs: %s and %s" % (dv.ref, target.dv.uri, name))
            continue
        target.dv = dv
        ts.dvs[dv.ref] = dv
        if blob is not None:
            bad = sorted(x for x in dv.positions if x >= target.record_count)
            if bad:
                p.add("DV %s for %s: positions %s >= record_count %d" % (name, dv.ref, bad[:5], target.record_count))
        if dv.card >= target.record_count:
            p.add("data file %s: all %d rows deleted but still live with DV %s (must be removed, status DELETED)"
                  % (dv.ref, target.record_count, name))
        if seq is not None and target.seq is not None and seq < target.seq:
            p.add("DV %s has sequence number %d < its data file's %d (would not apply)" % (name, seq, target.seq))
    check_summary(ts, p)
    return ts


def check_summary(ts, p):
    snap, md = ts.snap, ts.md
    s = snap["summary"]
    sid = snap["snapshot-id"]

    def num(key, default=0):
        return int(s[key]) if key in s else default

    for k, v in s.items():
        if not isinstance(v, str):
            p.add("summary %s is %r, not a string" % (k, v))
    live_data = list(ts.files.values())
    live_dvs = list(ts.dvs.values())
    expect = {
        "total-records": sum(f.record_count for f in live_data),
        "total-data-files": len(live_data),
        "total-delete-files": len(live_dvs),
        "total-position-deletes": sum(d.card for d in live_dvs),
        "total-equality-deletes": 0,
        "total-files-size": sum(f.size for f in live_data) + sum(d.size for d in live_dvs),
    }
    for k, v in expect.items():
        if k not in s:
            p.add("summary has no %s (live files say %d)" % (k, v))
        elif int(s[k]) != v:
            p.add("summary %s = %s, live files say %d" % (k, s[k], v))
    added_data = [e for m, e in ts.entries if e["status"] == 1 and e["snapshot_id"] == sid
                  and e["data_file"]["content"] == 0]
    added_dvs = [e for m, e in ts.entries if e["status"] == 1 and e["snapshot_id"] == sid
                 and e["data_file"]["content"] == 1]
    removed_data = [e for m, e in ts.entries if e["status"] == 2 and e["snapshot_id"] == sid
                    and e["data_file"]["content"] == 0]
    removed_dvs = [e for m, e in ts.entries if e["status"] == 2 and e["snapshot_id"] == sid
                   and e["data_file"]["content"] == 1]
    for key, got in [("added-data-files", len(added_data)),
                     ("added-records", sum(e["data_file"]["record_count"] for e in added_data)),
                     ("added-dvs", len(added_dvs)),
                     ("added-delete-files", len(added_dvs)),
                     ("added-position-deletes", sum(e["data_file"]["record_count"] for e in added_dvs)),
                     ("deleted-data-files", len(removed_data)),
                     ("deleted-records", sum(e["data_file"]["record_count"] for e in removed_data)),
                     ("removed-dvs", len(removed_dvs)),
                     ("removed-delete-files", len(removed_dvs)),
                     ("removed-position-deletes", sum(e["data_file"]["record_count"] for e in removed_dvs))]:
        if num(key) != got:
            p.add("summary %s = %s, the current snapshot's manifests have %d"
                  % (key, s.get(key, "(absent)"), got))
    op = s.get("operation")
    if added_data and (added_dvs or removed_data or removed_dvs):
        want_op = "overwrite"
    elif added_data:
        want_op = "append"
    elif added_dvs or removed_data or removed_dvs:
        want_op = "delete"
    else:
        want_op = op
    if op != want_op:
        p.add("summary operation %r; the snapshot adds %d data files, %d DVs and removes %d data files, %d DVs"
              " -> %r" % (op, len(added_data), len(added_dvs), len(removed_data), len(removed_dvs), want_op))
    # Every snapshot still listed: totals chain, sequence numbers and row ids.
    by_id = {x["snapshot-id"]: x for x in md["snapshots"]}
    for x in md["snapshots"]:
        par = by_id.get(x.get("parent-snapshot-id"))
        xs = x["summary"]
        if par is None:
            continue
        ps = par["summary"]
        for total, add, rem in [("total-records", "added-records", "deleted-records"),
                                ("total-data-files", "added-data-files", "deleted-data-files"),
                                ("total-delete-files", "added-delete-files", "removed-delete-files"),
                                ("total-position-deletes", "added-position-deletes", "removed-position-deletes")]:
            if total in xs and total in ps:
                want = int(ps[total]) + int(xs.get(add, 0)) - int(xs.get(rem, 0))
                if int(xs[total]) != want:
                    p.add("snapshot %d (seq %d): %s %s != parent's %s + %s %s - %s %s"
                          % (x["snapshot-id"], x["sequence-number"], total, xs[total], ps[total],
                             add, xs.get(add, 0), rem, xs.get(rem, 0)))
        if x["sequence-number"] <= par["sequence-number"]:
            p.add("snapshot %d: sequence-number %d not above its parent's %d"
                  % (x["snapshot-id"], x["sequence-number"], par["sequence-number"]))
        if x.get("first-row-id") != par.get("first-row-id", 0) + par.get("added-rows", 0):
            p.add("snapshot %d (seq %d): first-row-id %s != parent's first-row-id %s + added-rows %s"
                  % (x["snapshot-id"], x["sequence-number"], x.get("first-row-id"),
                     par.get("first-row-id"), par.get("added-rows")))
    check_row_id_growth(md, p)
    if md.get("next-row-id") != snap.get("first-row-id", 0) + snap.get("added-rows", 0):
        p.add("next-row-id %s != current snapshot first-row-id %s + added-rows %s"
              % (md.get("next-row-id"), snap.get("first-row-id"), snap.get("added-rows")))
    if md.get("last-sequence-number") != snap["sequence-number"]:
        p.add("last-sequence-number %s != current snapshot's %s" % (md.get("last-sequence-number"),
                                                                  snap["sequence-number"]))


def check_row_id_growth(md, p):
    """Issue 4: next-row-id grows by exactly the rows added. A snapshot's
    added-rows must equal the rows it wrote to new data files; a manifest
    rewritten with EXISTING entries (whose first_row_id is explicit) must not
    be given a fresh first_row_id range (the spec allows that, the issue not)."""
    for x in md["snapshots"]:
        added = int(x["summary"].get("added-records", 0))
        if x.get("added-rows") != added:
            p.add("snapshot %d (seq %d, %s): added-rows %s but it added %d rows to data files "
                  "(next-row-id must grow by exactly the rows added)"
                  % (x["snapshot-id"], x["sequence-number"], x["summary"].get("operation"),
                     x.get("added-rows"), added))


def read_rows(ts, cols, p):
    """Reads every live data file with DuckDB, drops DV positions, derives
    _row_id; fills ts.rows."""
    files = sorted(ts.files.values(), key=lambda f: f.path)
    if not files:
        return
    reserved = {}  # path -> (row id column name or None, last-updated column name or None)
    for chunk in chunks(files, 150):
        got = duckq("SELECT file_name, name, field_id, type, repetition_type FROM parquet_schema([%s]) "
                    "WHERE field_id IN (%d, %d)"
                    % (",".join("'%s'" % f.path for f in chunk), ROW_ID_FIELD, LAST_UPDATED_FIELD))
        for fname, name, fid, typ, rep in got:
            r = reserved.setdefault(fname, [None, None])
            r[0 if int(fid) == ROW_ID_FIELD else 1] = name
            if typ != "INT64" or rep != "OPTIONAL":
                p.add("%s: column %s (field id %s) is %s %s, must be an optional long"
                      % (fname, name, fid, rep, typ))
    groups = {}
    for f in files:
        groups.setdefault(tuple(reserved.get(f.path, (None, None))), []).append(f)
    by_path = {f.path: f for f in files}
    seen_count = {f.path: 0 for f in files}
    for (rid_col, lus_col), gfiles in groups.items():
        for chunk in chunks(gfiles, 150):
            exprs = ["filename", "CAST(file_row_number AS VARCHAR)"] + [c.sql() for c in cols]
            exprs.append('CAST("%s" AS VARCHAR)' % rid_col if rid_col else "NULL")
            exprs.append('CAST("%s" AS VARCHAR)' % lus_col if lus_col else "NULL")
            got = duckq("SELECT %s FROM read_parquet([%s], filename=true, file_row_number=true, "
                        "union_by_name=true)" % (", ".join(exprs), ",".join("'%s'" % f.path for f in chunk)))
            for r in got:
                f = by_path.get(r[0])
                if f is None:
                    p.add("DuckDB returned filename %r" % r[0])
                    continue
                seen_count[f.path] += 1
                pos = int(r[1])
                if f.dv is not None and pos in f.dv.positions:
                    continue
                row = {c.name: c.from_db(v) for c, v in zip(cols, r[2:2 + len(cols)])}
                explicit, lus = r[2 + len(cols)], r[3 + len(cols)]
                row["_file"], row["_pos"] = f.uri, pos
                row["_explicit"] = explicit is not None
                if explicit is not None:
                    row["_row_id"] = int(explicit)
                    if f.first_row_id is not None and int(explicit) >= f.first_row_id:
                        p.add("%s pos %d: explicit _row_id %s is not below the file's first_row_id %d "
                              "(an updated row keeps an id assigned earlier)"
                              % (f.uri, pos, explicit, f.first_row_id))
                else:
                    row["_row_id"] = None if f.first_row_id is None else f.first_row_id + pos
                if lus is not None:
                    p.add("%s pos %d: _last_updated_sequence_number %s written (floe writes null: inherited)"
                          % (f.uri, pos, lus))
                ts.rows.append(row)
    for f in files:
        if seen_count[f.path] != f.record_count:
            p.add("data file %s: record_count %d, DuckDB reads %d rows" % (f.uri, f.record_count, seen_count[f.path]))


def chunks(xs, n):
    return [xs[i:i + n] for i in range(0, len(xs), n)]


def read_table(table_dir, cols, what):
    """The table as a v3 reader sees it; raises AssertionError listing every
    structural problem found."""
    p = Problems(what)
    ts = scan_snapshot(table_dir, p)
    if ts.snap is not None:
        read_rows(ts, cols, p)
    counts = collections.Counter(r["_row_id"] for r in ts.rows)
    dup = sorted((i for i, c in counts.items() if c > 1), key=str)
    if dup:
        p.add("%d _row_ids shared by several live rows, e.g. %s" % (len(dup), dup[:5]))
    if ts.snap is not None:
        live = int(ts.summary("total-records", 0)) - int(ts.summary("total-position-deletes", 0))
        if live != len(ts.rows):
            p.add("summary total-records - total-position-deletes = %d, the reader sees %d live rows"
                  % (live, len(ts.rows)))
    p.check()
    return ts


# ---------------------------------------------------------------------------
# The model test.
# ---------------------------------------------------------------------------

def model_tables(rng, nkeys):
    C = Col
    return [
        TableDef("k_i64", [C("id64", "int64", False), C("s", "string"), C("f", "float64"),
                           C("n", "int32"), C("b", "boolean")], ["id64"], "row_identity", nkeys, rng),
        TableDef("k_str", [C("skey", "string", False), C("v", "int64", False), C("s", "string"),
                           C("f", "float64")], ["skey"], "per_column", nkeys, rng),
        TableDef("k_uuid", [C("ukey", "uuid", False), C("f", "float64"), C("s", "string")],
                 ["ukey"], "moonlink", nkeys, rng),
        TableDef("k_date", [C("d", "decimal(10,2)"), C("dkey", "date32", False), C("s", "string")],
                 ["dkey"], "row_identity", nkeys, rng),
        TableDef("k_dec", [C("amount", "decimal(18,2)", False), C("s", "string"), C("ts", "timestamp"),
                           C("f", "float64")], ["amount"], "per_column", nkeys, rng),
        TableDef("k_comp", [C("s", "string"), C("region", "string", False), C("f", "float64"),
                            C("seq", "int32", False)], ["region", "seq"], "moonlink", nkeys, rng),
    ]


class KeySet:
    """Key indexes with O(1) add, remove and random choice."""

    def __init__(self, keys=()):
        self.items, self.pos = [], {}
        for k in keys:
            self.add(k)

    def __len__(self):
        return len(self.items)

    def add(self, k):
        if k not in self.pos:
            self.pos[k] = len(self.items)
            self.items.append(k)

    def remove(self, k):
        i = self.pos.pop(k, None)
        if i is None:
            return
        last = self.items.pop()
        if i < len(self.items):
            self.items[i] = last
            self.pos[last] = i

    def choice(self, rng):
        return self.items[rng.randrange(len(self.items))]


class TableModel:
    def __init__(self, td):
        self.td = td
        self.present = KeySet()
        self.absent = KeySet(range(len(td.keys)))
        self.rows = {}        # key index -> expected canonical row
        self.row_id = {}      # key index -> _row_id seen (None: inserted since the last check)
        self.ever_ids = set()
        self.touch = {}       # key index -> description of the last request that named it
        self.next_row_id_seen = 0
        self.lsn = None
        self.removed_files_seen = 0


class ModelRun:
    def __init__(self, test, floe, seed, total_ops, nkeys):
        self.t, self.floe, self.seed = test, floe, seed
        self.rng = random.Random(seed)
        self.total_ops, self.nkeys = total_ops, nkeys
        self.tables = [TableModel(td) for td in model_tables(random.Random(seed + 1), nkeys)]
        self.done = 0
        self.msg_problems = []
        self.batch_no = 0
        self.phase = "setup"
        self.stats = {k: 0 for k in ("requests", "insert", "upsert", "update", "delete", "409", "404",
                                     "400", "flush", "deleted", "repeats", "sync", "files_removed",
                                     "rows_compared", "live_dvs", "dv_positions", "ids_kept",
                                     "ids_kept_explicit", "ids_new")}

    def where(self, tm):
        return "seed %d, phase %s, table %s, batch %d" % (self.seed, self.phase, tm.td.name, self.batch_no)

    # -- requests --

    def post(self, tm, op, data, mode):
        self.batch_no += 1
        self.stats["requests"] += 1
        self.done += len(data)
        st, out, _ = self.floe.request("POST", "/ingest/" + tm.td.name,
                                       {"operation": op, "request_mode": mode, "data": data}, timeout=120)
        return st, out

    def expect_ok(self, tm, op, data, mode, st, out):
        self.t.assertEqual(st, 200, "%s: %s of %d rows (%s) -> %d %s" % (self.where(tm), op, len(data), mode, st, out))
        self.t.assertIsInstance(out, dict, self.where(tm))
        self.t.assertEqual(out.get("operation"), op, "%s: response %s" % (self.where(tm), out))
        self.t.assertEqual(out.get("rows"), len(data), "%s: response %s" % (self.where(tm), out))
        self.t.assertIn("table", out, self.where(tm))
        lsn = out.get("lsn")
        self.t.assertIsInstance(lsn, int, "%s: response %s" % (self.where(tm), out))
        if tm.lsn is not None:
            self.t.assertGreater(lsn, tm.lsn, "%s: lsn did not grow" % self.where(tm))
        tm.lsn = lsn

    def expect_error(self, tm, op, st, out, status, key=None, row_index=None, column=None):
        self.t.assertEqual(st, status, "%s: %s expected %d, got %d %s" % (self.where(tm), op, status, st, out))
        self.t.assertIsInstance(out, dict, "%s: error body %r" % (self.where(tm), out))
        msg = out.get("message", "")
        if key is not None:
            td = tm.td
            canon = td.canon_keys[key]
            for c, cv in zip(td.key_cols, canon):
                if not c.message_friendly(cv):
                    continue
                alts = c.human(cv)
                if not any(a in msg for a in alts):
                    # reported at the end, so that the model comparison still runs
                    self.msg_problems.append("%s: %d message %r does not name key column %s value (any of %r)"
                                             % (self.where(tm), status, msg, c.name, alts))
        if row_index is not None:
            self.t.assertIn("data[%d]" % row_index, msg, "%s: message %r" % (self.where(tm), msg))
            self.t.assertIn(column, msg, "%s: message %r" % (self.where(tm), msg))
        self.stats[str(status)] += 1

    def pick_mode(self):
        if self.rng.random() < 0.15:
            self.stats["sync"] += 1
            return "sync"
        return "async"

    def batch_size(self):
        r = self.rng.random()
        n = self.rng.randint(1, 10) if r < 0.35 else self.rng.randint(11, 100) if r < 0.75 else self.rng.randint(101, 500)
        return max(1, min(n, self.total_ops - self.done))

    def absent_keys(self, tm, n):
        """Up to n distinct key indexes not in the model."""
        n = min(n, len(tm.absent))
        out = {}
        while len(out) < n:
            out[tm.absent.choice(self.rng)] = True
        return list(out)

    def present_keys(self, tm, n):
        """n key indexes in the model (repeats possible), [] when it is empty."""
        if not len(tm.present):
            return []
        return [tm.present.choice(self.rng) for _ in range(n)]

    def add_repeats(self, keys):
        """Intra-batch repeats of some keys, at later positions."""
        if len(keys) >= 2 and self.rng.random() < 0.35:
            self.stats["repeats"] += 1
            for _ in range(self.rng.randint(1, max(1, len(keys) // 5))):
                i = self.rng.randrange(len(keys))
                keys.insert(self.rng.randint(i + 1, len(keys)), keys[i])
        return keys

    # -- model updates --

    def put(self, tm, k, exp, op):
        if k not in tm.rows:
            tm.row_id[k] = None  # a new row: a new _row_id, learnt at the next check
            tm.present.add(k)
            tm.absent.remove(k)
        tm.rows[k] = exp
        tm.touch[k] = "batch %d %s (%s)" % (self.batch_no, op, self.phase)

    def remove(self, tm, k):
        if k in tm.rows:
            del tm.rows[k]
            tm.row_id.pop(k, None)
            tm.present.remove(k)
            tm.absent.add(k)
            tm.touch[k] = "batch %d delete (%s)" % (self.batch_no, self.phase)
            return True
        return False

    # -- operations --

    def do_insert(self, tm, n, mode):
        keys = self.absent_keys(tm, n)
        if not keys:
            return self.do_upsert(tm, n, mode)
        rows = [tm.td.make_row(k, self.rng) for k in keys]
        st, out = self.post(tm, "insert", [r for r, _ in rows], mode)
        self.expect_ok(tm, "insert", keys, mode, st, out)
        for k, (_, exp) in zip(keys, rows):
            self.put(tm, k, exp, "insert")
        self.stats["insert"] += 1

    def do_insert_conflict(self, tm, n, mode):
        dup = self.present_keys(tm, 1)
        if not dup:
            return self.do_insert(tm, n, mode)
        keys = self.absent_keys(tm, max(0, n - 1))
        keys.insert(self.rng.randint(0, len(keys)), dup[0])
        rows = [tm.td.make_row(k, self.rng)[0] for k in keys]
        st, out = self.post(tm, "insert", rows, mode)
        self.expect_error(tm, "insert of existing key %s" % tm.td.key_text(dup[0]), st, out, 409, key=dup[0])
        for k in keys:
            tm.touch[k] = "batch %d insert rejected 409 (%s)" % (self.batch_no, self.phase)

    def do_upsert(self, tm, n, mode):
        keys = []
        for _ in range(n):
            k = self.present_keys(tm, 1) if self.rng.random() < 0.5 else self.absent_keys(tm, 1)
            keys.extend(k or [self.rng.randrange(self.nkeys)])
        keys = self.add_repeats(keys)
        rows = [tm.td.make_row(k, self.rng) for k in keys]
        st, out = self.post(tm, "upsert", [r for r, _ in rows], mode)
        self.expect_ok(tm, "upsert", keys, mode, st, out)
        for k, (_, exp) in zip(keys, rows):
            self.put(tm, k, exp, "upsert")
        self.stats["upsert"] += 1

    def do_update(self, tm, n, mode):
        keys = self.add_repeats(self.present_keys(tm, n))
        if not keys:
            return self.do_insert(tm, n, mode)
        rows = [tm.td.make_row(k, self.rng) for k in keys]
        st, out = self.post(tm, "update", [r for r, _ in rows], mode)
        self.expect_ok(tm, "update", keys, mode, st, out)
        for k, (_, exp) in zip(keys, rows):
            self.put(tm, k, exp, "update")
        self.stats["update"] += 1

    def do_update_missing(self, tm, n, mode):
        missing = self.absent_keys(tm, 1)
        if not missing:
            return self.do_update(tm, n, mode)
        keys = self.present_keys(tm, max(0, n - 1))
        keys.insert(self.rng.randint(0, len(keys)), missing[0])
        rows = [tm.td.make_row(k, self.rng)[0] for k in keys]
        st, out = self.post(tm, "update", rows, mode)
        self.expect_error(tm, "update of missing key %s" % tm.td.key_text(missing[0]), st, out, 404, key=missing[0])
        for k in keys:
            tm.touch[k] = "batch %d update rejected 404 (%s)" % (self.batch_no, self.phase)

    def do_delete(self, tm, n, mode):
        keys = []
        for _ in range(n):
            k = self.present_keys(tm, 1) if self.rng.random() < 0.7 else self.absent_keys(tm, 1)
            keys.extend(k or [self.rng.randrange(self.nkeys)])
        keys = self.add_repeats(keys)
        data = [tm.td.send_key(k, self.rng) for k in keys]
        st, out = self.post(tm, "delete", data, mode)
        self.expect_ok(tm, "delete", keys, mode, st, out)
        want = sum(1 for k in keys if self.remove(tm, k))
        self.t.assertEqual(out.get("deleted"), want, "%s: delete of %d keys (%d distinct present): response %s"
                           % (self.where(tm), len(keys), want, out))
        self.stats["delete"] += 1
        self.stats["deleted"] += want

    def do_bad_row(self, tm, n, mode):
        """A batch with one bad key value at data[i]: 400 naming data[i] and the column."""
        op = self.rng.choice(["insert", "upsert", "update", "delete"])
        if op == "update" and not len(tm.present):
            op = "upsert"
        keys = self.absent_keys(tm, n) if op == "insert" else \
            list(dict.fromkeys(self.present_keys(tm, n))) if op == "update" else \
            [self.rng.randrange(self.nkeys) for _ in range(n)]
        if not keys:
            return
        rows = [tm.td.make_row(k, self.rng)[0] if op != "delete" else tm.td.send_key(k, self.rng) for k in keys]
        i = self.rng.randrange(len(rows))
        col = self.rng.choice(tm.td.key_cols)
        how = self.rng.choice(["null", "missing", "type"])
        if how == "null":
            rows[i][col.name] = None
        elif how == "missing":
            del rows[i][col.name]
        else:
            rows[i][col.name] = {"int64": "abc", "int32": "abc", "uuid": "not-a-uuid", "date32": "2021-13-45",
                                 "string": [1, 2]}.get(col.dtype, "12.3.4")
        st, out = self.post(tm, op, rows, mode)
        self.expect_error(tm, "%s with %s key column %s at data[%d]" % (op, how, col.name, i), st, out, 400,
                          row_index=i, column=col.name)
        for k in keys:
            tm.touch[k] = "batch %d %s rejected 400 (%s)" % (self.batch_no, op, self.phase)

    def one_batch(self):
        tm = self.rng.choice(self.tables)
        n = self.batch_size()
        mode = self.pick_mode()
        r = self.rng.random()
        if r < 0.012:
            self.do_insert_conflict(tm, n, mode)
        elif r < 0.024:
            self.do_update_missing(tm, n, mode)
        elif r < 0.036:
            self.do_bad_row(tm, n, mode)
        elif r < 0.28:
            self.do_insert(tm, n, mode)
        elif r < 0.57:
            self.do_upsert(tm, n, mode)
        elif r < 0.77:
            self.do_update(tm, n, mode)
        else:
            self.do_delete(tm, n, mode)
        if self.rng.random() < 0.03:
            self.stats["flush"] += 1
            self.floe.flush(self.rng.choice(self.tables).td.name)

    def run_ops(self, count):
        stop = min(self.total_ops, self.done + count)
        while self.done < stop:
            self.one_batch()

    # -- deterministic probes --

    def fully_deleted_file(self, tm):
        """A committed file whose rows are then all deleted leaves the table:
        its entry DELETED in that snapshot, no DV for it."""
        f = self.floe
        f.flush(tm.td.name)
        before = set(scan_snapshot(f.table_dir(tm.td.name), Problems("")).files)
        keys = self.absent_keys(tm, self.rng.randint(1, 20))
        if not keys:
            return
        rows = [tm.td.make_row(k, self.rng) for k in keys]
        st, out = self.post(tm, "insert", [r for r, _ in rows], "sync")
        self.expect_ok(tm, "insert", keys, "sync", st, out)
        for k, (_, exp) in zip(keys, rows):
            self.put(tm, k, exp, "insert")
        after = scan_snapshot(f.table_dir(tm.td.name), Problems(""))
        new = [u for u in after.files if u not in before]
        self.t.assertEqual(len(new), 1, "%s: a sync insert of %d rows after a flush added data files %s"
                           % (self.where(tm), len(keys), new))
        self.t.assertEqual(after.files[new[0]].record_count, len(keys), self.where(tm))
        dkeys = list(keys)
        self.rng.shuffle(dkeys)
        st, out = self.post(tm, "delete", [tm.td.send_key(k, self.rng) for k in dkeys], "sync")
        self.expect_ok(tm, "delete", dkeys, "sync", st, out)
        for k in dkeys:
            self.remove(tm, k)
        self.t.assertEqual(out.get("deleted"), len(keys), "%s: %s" % (self.where(tm), out))
        p = Problems("%s: after deleting every row of %s" % (self.where(tm), new[0]))
        now = scan_snapshot(f.table_dir(tm.td.name), p)
        p.check()
        self.t.assertNotIn(new[0], now.files, "%s: data file %s with every row deleted is still live"
                           % (self.where(tm), new[0]))
        self.t.assertNotIn(new[0], now.dvs, self.where(tm))
        sts = [e["status"] for m, e in now.entries if e["data_file"]["file_path"] == new[0]]
        self.t.assertIn(2, sts, "%s: data file %s removed without a DELETED entry in the removing snapshot "
                                "(entries for it: %s)" % (self.where(tm), new[0], sts))
        self.stats["files_removed"] += 1

    def after_restart_probes(self, tm):
        """The index survived the restart: committed keys conflict, update and delete."""
        if len(tm.rows) < 3:
            return
        self.do_insert_conflict(tm, 3, "async")
        self.do_update_missing(tm, 2, "async")
        k = self.present_keys(tm, 1)
        row, exp = tm.td.make_row(k[0], self.rng)
        st, out = self.post(tm, "update", [row], "sync")
        self.expect_ok(tm, "update", k, "sync", st, out)
        self.put(tm, k[0], exp, "update")
        k = self.present_keys(tm, 1)
        st, out = self.post(tm, "delete", [tm.td.send_key(k[0], self.rng)], "sync")
        self.expect_ok(tm, "delete", k, "sync", st, out)
        self.t.assertEqual(out.get("deleted"), 1, "%s: delete of committed key %s after restart: %s"
                           % (self.where(tm), tm.td.key_text(k[0]), out))
        self.remove(tm, k[0])

    # -- comparison with the model --

    def check_all(self, flush=True):
        for tm in self.tables:
            if flush:
                self.floe.flush(tm.td.name)
        for tm in self.tables:
            self.check_table(tm)

    def check_table(self, tm):
        td = tm.td
        what = "%s: reading %s" % (self.where(tm), td.name)
        ts = read_table(self.floe.table_dir(td.name), td.cols, what)
        p = Problems("%s: table vs model" % self.where(tm))
        next_row_id = ts.md.get("next-row-id", 0)
        got = {}
        for r in ts.rows:
            ck = tuple(r[c.name] for c in td.key_cols)
            k = td.index_of.get(ck)
            if k is None:
                p.add("row %s pos %d has key %r, never sent" % (r["_file"], r["_pos"], ck))
                continue
            if k in got:
                o = got[k]
                p.add("key %s live twice: %s pos %d and %s pos %d"
                      % (td.key_text(k), o["_file"], o["_pos"], r["_file"], r["_pos"]))
                continue
            got[k] = r
        for k in sorted(set(tm.rows) - set(got)):
            p.add("key %s missing (last: %s)" % (td.key_text(k), tm.touch.get(k)))
        for k in sorted(set(got) - set(tm.rows)):
            p.add("key %s should not be live (last: %s), found in %s pos %d"
                  % (td.key_text(k), tm.touch.get(k), got[k]["_file"], got[k]["_pos"]))
        for k in sorted(set(got) & set(tm.rows)):
            exp, r = tm.rows[k], got[k]
            for c in td.cols:
                if not c.same(exp[c.name], r[c.name]):
                    p.add("key %s column %s: expected %r, read %r from %s pos %d (last: %s)"
                          % (td.key_text(k), c.name, exp[c.name], r[c.name], r["_file"], r["_pos"], tm.touch.get(k)))
            rid = r["_row_id"]
            known = tm.row_id.get(k)
            self.stats["rows_compared"] += 1
            if known is not None:
                self.stats["ids_kept"] += 1
                self.stats["ids_kept_explicit"] += r["_explicit"]
                if rid != known:
                    p.add("key %s: _row_id %s, was %s (updated/upserted rows keep theirs; %s pos %d, explicit=%s;"
                          " last: %s)" % (td.key_text(k), rid, known, r["_file"], r["_pos"], r["_explicit"],
                                          tm.touch.get(k)))
            elif rid is not None:
                self.stats["ids_new"] += 1
                if rid in tm.ever_ids:
                    p.add("key %s (new since the last check: %s) got _row_id %s, which an earlier row had"
                          % (td.key_text(k), tm.touch.get(k), rid))
                if not tm.next_row_id_seen <= rid < next_row_id:
                    p.add("key %s (new since the last check) got _row_id %s outside [%d, %d) (the next-row-id"
                          " range of the commits since)" % (td.key_text(k), rid, tm.next_row_id_seen, next_row_id))
        self.stats["live_dvs"] += len(ts.dvs)
        self.stats["dv_positions"] += sum(d.card for d in ts.dvs.values())
        if next_row_id < tm.next_row_id_seen:
            p.add("next-row-id went back from %d to %d" % (tm.next_row_id_seen, next_row_id))
        p.check()
        for k, r in got.items():
            tm.row_id[k] = r["_row_id"]
            tm.ever_ids.add(r["_row_id"])
        tm.next_row_id_seen = next_row_id
        return ts


class KeyModelTest(unittest.TestCase):
    def test_randomized_model(self):
        seed = int(os.environ.get("FLOE_KEYS_SEED", DEFAULT_SEED))
        total = int(os.environ.get("FLOE_KEYS_OPS", "200000"))
        nkeys = int(os.environ.get("FLOE_KEYS_KEYS", "20000"))
        cfg = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump({"commit_interval_ms": 250}, cfg)
        cfg.close()
        f = Floe(args=["--config", cfg.name])
        t0 = time.time()
        try:
            f.start()
            run = ModelRun(self, f, seed, total, nkeys)
            for tm in run.tables:
                st, out, _ = f.request("POST", "/tables/" + tm.td.name, tm.td.create_body())
                self.assertEqual(st, 200, "create %s (%s form): %s" % (tm.td.name, tm.td.form, out))
                _, md = current_metadata(f.table_dir(tm.td.name))
                sch = [s for s in md["schemas"] if s["schema-id"] == md["current-schema-id"]][0]
                ids = {fld["name"]: fld["id"] for fld in sch["fields"]}
                self.assertEqual(sorted(sch.get("identifier-field-ids", [])),
                                 sorted(ids[k] for k in tm.td.key_names),
                                 "%s: identifier-field-ids %s" % (tm.td.name, sch.get("identifier-field-ids")))
                for fld in sch["fields"]:
                    if fld["name"] in tm.td.key_names:
                        self.assertTrue(fld["required"], "%s: key column %s not required" % (tm.td.name, fld))

            # phase 1, then a check of everything committed so far
            run.phase = "1"
            run.run_ops(total * 2 // 5)
            for tm in run.tables:
                run.fully_deleted_file(tm)
            run.phase = "1-check"
            run.check_all()
            # more acknowledged rows, then SIGTERM: shutdown commits them
            run.phase = "1b"
            run.run_ops(3000)
            run.phase = "after-sigterm"
            rc = f.stop()
            self.assertEqual(rc, 0, "floe exited %s on SIGTERM" % rc)
            f.start()
            run.check_all(flush=False)
            for tm in run.tables:
                run.after_restart_probes(tm)

            run.phase = "2"
            run.run_ops(total * 3 // 10)
            for tm in run.tables:
                run.fully_deleted_file(tm)
            run.run_ops(3000)  # acknowledged, maybe not committed when the server dies
            run.phase = "after-kill9"
            f.kill()
            f.start()
            run.check_all()
            for tm in run.tables:
                run.after_restart_probes(tm)

            run.phase = "3"
            run.run_ops(total)
            for tm in run.tables:
                run.fully_deleted_file(tm)
            run.phase = "end"
            run.check_all()
            s = run.stats
            sys.stderr.write("\n  keys model: seed %d, %d row ops in %d requests, %.1fs; %s\n"
                             % (seed, run.done, s["requests"], time.time() - t0, s))
            self.assertGreaterEqual(run.done, total)
            self.assertGreater(s["409"], 0, s)
            self.assertGreater(s["404"], 0, s)
            self.assertGreater(s["400"], 0, s)
            self.assertGreater(s["repeats"], 0, s)
            # the checks were not vacuous: DVs were read, updated rows kept their ids
            self.assertGreater(s["live_dvs"], 0, s)
            self.assertGreater(s["ids_kept_explicit"], 0, s)
            self.assertGreater(s["files_removed"], 0, s)
            if run.msg_problems:
                self.fail("%d error messages do not name the key as sent, e.g.:\n  %s"
                          % (len(run.msg_problems), "\n  ".join(run.msg_problems[:10])))
        finally:
            f.cleanup()
            os.unlink(cfg.name)


# ---------------------------------------------------------------------------
# Focused cases.
# ---------------------------------------------------------------------------

KV = [{"name": "k", "data_type": "int64", "nullable": False},
      {"name": "v", "data_type": "string", "nullable": True}]
KV_COLS = [Col("k", "int64", False), Col("v", "string")]


def hexs(s):
    return None if s is None else s.encode().hex().upper()


class KeysFocusedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.floe = Floe().start()

    @classmethod
    def tearDownClass(cls):
        cls.floe.cleanup()

    def create(self, name, schema=KV, cfg=None):
        st, out, _ = self.floe.request("POST", "/tables/" + name, {"database": "db", "table": name,
                                                                   "schema": schema, "table_config": cfg or {}})
        self.assertEqual(st, 200, "create %s: %s" % (name, out))

    def create_kv(self, name):
        self.create(name, cfg={"row_identity": {"primary_key": ["k"]}})

    def table(self, name, cols=KV_COLS):
        return read_table(self.floe.table_dir(name), cols, "table %s" % name)

    def rows(self, name, cols=KV_COLS):
        """{k: v} of the live rows (v as sent text), read independently."""
        self.floe.flush(name)
        ts = self.table(name, cols)
        return {int(r["k"]): (None if r["v"] is None else bytes.fromhex(r["v"]).decode()) for r in ts.rows}

    def ingest(self, name, op, data, mode="sync"):
        return self.floe.request("POST", "/ingest/" + name, {"operation": op, "request_mode": mode, "data": data})

    def ok(self, name, op, data, mode="sync"):
        st, out, _ = self.ingest(name, op, data, mode)
        self.assertEqual(st, 200, "%s %s: %s" % (op, data, out))
        return out

    def test_three_create_forms(self):
        forms = {
            "f_row_identity": (KV, {"row_identity": {"primary_key": ["k"]}}),
            "f_per_column": ([dict(KV[0], primary_key=True), KV[1]], {}),
            "f_moonlink": (KV, {"mooncake": {"append_only": False, "row_identity": {"Keys": [0]}}}),
        }
        for name, (schema, cfg) in forms.items():
            with self.subTest(form=name):
                self.create(name, schema, cfg)
                _, md = current_metadata(self.floe.table_dir(name))
                sch = [s for s in md["schemas"] if s["schema-id"] == md["current-schema-id"]][0]
                self.assertEqual(sch.get("identifier-field-ids"), [1], sch)
                self.ok(name, "insert", [{"k": 1, "v": "a"}, {"k": 2, "v": "b"}])
                st, out, _ = self.ingest(name, "insert", [{"k": 2, "v": "again"}])
                self.assertEqual(st, 409, "%s: the key is not enforced: %s" % (name, out))
                self.ok(name, "upsert", [{"k": 1, "v": "A"}])
                self.assertEqual(self.rows(name), {1: "A", 2: "b"})
        with self.subTest(form="moonlink SinglePrimitiveKey"):
            self.create("f_single", KV, {"mooncake": {"append_only": False, "row_identity": {"SinglePrimitiveKey": 0}}})
            self.ok("f_single", "insert", [{"k": 5, "v": "x"}])
            st, out, _ = self.ingest("f_single", "insert", [{"k": 5}])
            self.assertEqual(st, 409, out)
        with self.subTest(form="nullable key column is rejected"):
            for i, (schema, cfg) in enumerate([
                    ([dict(KV[0], nullable=True), KV[1]], {"row_identity": {"primary_key": ["k"]}}),
                    ([dict(KV[0], nullable=True, primary_key=True), KV[1]], {}),
                    ([dict(KV[0], nullable=True), KV[1]],
                     {"mooncake": {"append_only": False, "row_identity": {"Keys": [0]}}})]):
                st, out, _ = self.floe.request("POST", "/tables/f_nullable%d" % i, {
                    "database": "db", "table": "f_nullable%d" % i, "schema": schema, "table_config": cfg})
                self.assertEqual(st, 400, "nullable key column accepted (%s): %s" % (cfg, out))
                self.assertIn("k", out["message"])
                self.assertEqual(self.floe.request("GET", "/tables/f_nullable%d" % i)[0], 404)

    def test_insert_existing_key_is_409_naming_the_key(self):
        self.create_kv("c409")
        self.ok("c409", "insert", [{"k": 7070707, "v": "first"}, {"k": 1, "v": "one"}])
        for mode in ("sync", "async"):
            st, out, _ = self.ingest("c409", "insert", [{"k": 31, "v": "new"}, {"k": 7070707, "v": "dup"},
                                                        {"k": 32, "v": "new"}], mode)
            self.assertEqual(st, 409, out)
            self.assertIn("7070707", out["message"])
        self.assertEqual(self.rows("c409"), {7070707: "first", 1: "one"})  # nothing applied

    def test_update_of_missing_key_is_404(self):
        self.create_kv("c404")
        self.ok("c404", "insert", [{"k": 1, "v": "one"}])
        st, out, _ = self.ingest("c404", "update", [{"k": 1, "v": "changed"}, {"k": 8080808, "v": "x"}])
        self.assertEqual(st, 404, out)
        self.assertIn("8080808", out["message"])
        self.assertEqual(self.rows("c404"), {1: "one"})

    def test_append_only_rejects_update_and_delete(self):
        self.create("ao", KV, {"mooncake": {"append_only": True, "row_identity": "None"}})
        self.ok("ao", "insert", [{"k": 1, "v": "x"}, {"k": 1, "v": "dup allowed"}])
        for op, data in (("update", [{"k": 1, "v": "y"}]), ("delete", [{"k": 1}])):
            st, out, _ = self.ingest("ao", op, data)
            self.assertEqual(st, 400, "%s on an append-only table: %s" % (op, out))
            self.assertIn("message", out)
        _, md = current_metadata(self.floe.table_dir("ao"))
        sch = [s for s in md["schemas"] if s["schema-id"] == md["current-schema-id"]][0]
        self.assertEqual(sch.get("identifier-field-ids", []), [])
        self.floe.flush("ao")
        ts = self.table("ao")
        self.assertEqual(sorted((int(r["k"]), bytes.fromhex(r["v"]).decode()) for r in ts.rows),
                         [(1, "dup allowed"), (1, "x")])
        self.assertEqual(ts.dvs, {})

    def test_contradictory_config_is_400(self):
        for i, cfg in enumerate([{"mooncake": {"append_only": True, "row_identity": {"Keys": [0]}}},
                                 {"mooncake": {"append_only": True, "row_identity": {"SinglePrimitiveKey": 0}}}]):
            st, out, _ = self.floe.request("POST", "/tables/contra%d" % i, {
                "database": "db", "table": "contra%d" % i, "schema": KV, "table_config": cfg})
            self.assertEqual(st, 400, "%s accepted: %s" % (cfg, out))
            self.assertIn("row_identity", out["message"])
            self.assertEqual(self.floe.request("GET", "/tables/contra%d" % i)[0], 404)

    def test_bad_key_value_is_400_naming_row_and_column(self):
        single = [{"name": "order_no", "data_type": "int64", "nullable": False},
                  {"name": "v", "data_type": "string", "nullable": True}]
        self.create("badk", single, {"row_identity": {"primary_key": ["order_no"]}})
        comp = [{"name": "region", "data_type": "string", "nullable": False},
                {"name": "v", "data_type": "string", "nullable": True},
                {"name": "seq_no", "data_type": "int32", "nullable": False},
                {"name": "required_col", "data_type": "int64", "nullable": False}]
        self.create("badc", comp, {"row_identity": {"primary_key": ["region", "seq_no"]}})
        self.ok("badk", "insert", [{"order_no": 1, "v": "keep"}])
        self.ok("badc", "insert", [{"region": "x", "seq_no": 1, "required_col": 1}])
        cases = [
            ("badk", "insert", [{"order_no": 10}, {"order_no": 11}, {"order_no": None, "v": "n"}], 2, "order_no"),
            ("badk", "upsert", [{"order_no": 10}, {"v": "no key"}], 1, "order_no"),
            ("badk", "update", [{"order_no": 1, "v": "z"}, {"order_no": 1}, {"order_no": 1},
                                {"order_no": "one"}], 3, "order_no"),
            ("badk", "delete", [{"order_no": 1}, {"order_no": None}], 1, "order_no"),
            ("badc", "upsert", [{"region": "y", "seq_no": 2, "required_col": 1},
                                {"region": "y", "seq_no": None, "required_col": 1}], 1, "seq_no"),
            ("badc", "insert", [{"seq_no": 3, "required_col": 1}], 0, "region"),
            ("badc", "delete", [{"region": "x", "seq_no": 1}, {"region": "x", "seq_no": "1x"}], 1, "seq_no"),
            ("badc", "upsert", [{"region": "y", "seq_no": 2, "required_col": 1},
                                {"region": "y", "seq_no": 3}], 1, "required_col"),
        ]
        for name, op, data, i, col in cases:
            with self.subTest(table=name, op=op, row=i, column=col):
                st, out, _ = self.ingest(name, op, data)
                self.assertEqual(st, 400, out)
                self.assertIn("data[%d]" % i, out["message"])
                self.assertIn(col, out["message"])
        self.floe.flush("badk")
        ts = self.table("badk", [Col("order_no", "int64", False), Col("v", "string")])
        self.assertEqual([(r["order_no"], r["v"]) for r in ts.rows], [("1", hexs("keep"))])
        self.floe.flush("badc")
        ts = self.table("badc", [Col("region", "string", False), Col("v", "string"), Col("seq_no", "int32", False),
                                 Col("required_col", "int64", False)])
        self.assertEqual([(r["region"], r["seq_no"]) for r in ts.rows], [(hexs("x"), "1")])

    def test_delete_reports_count(self):
        self.create_kv("dcount")
        self.ok("dcount", "insert", [{"k": i, "v": "v%d" % i} for i in range(1, 6)])
        out = self.ok("dcount", "delete", [{"k": 2}, {"k": 4}, {"k": 99}, {"k": 2}])
        self.assertEqual(out.get("deleted"), 2, out)
        out = self.ok("dcount", "delete", [{"k": 98}], mode="async")
        self.assertEqual(out.get("deleted"), 0, out)
        self.assertEqual(self.rows("dcount"), {1: "v1", 3: "v3", 5: "v5"})

    def test_intra_batch_last_wins(self):
        self.create_kv("lw")
        self.ok("lw", "upsert", [{"k": 1, "v": "a"}, {"k": 2, "v": "b"}, {"k": 1, "v": "c"}], mode="async")
        self.assertEqual(self.rows("lw"), {1: "c", 2: "b"})
        self.ok("lw", "update", [{"k": 2, "v": "x"}, {"k": 1}, {"k": 2, "v": "y"}])
        self.assertEqual(self.rows("lw"), {1: None, 2: "y"})
        self.ok("lw", "upsert", [{"k": 3, "v": "p"}, {"k": 3, "v": "q"}, {"k": 3, "v": "r"}])
        out = self.ok("lw", "delete", [{"k": 3}, {"k": 3}])
        self.assertEqual(out.get("deleted"), 1, out)
        self.ok("lw", "upsert", [{"k": 3, "v": "back"}, {"k": 1, "v": "one"}, {"k": 1, "v": "uno"}])
        self.assertEqual(self.rows("lw"), {1: "uno", 2: "y", 3: "back"})

    def test_upsert_after_flush_creates_dv_on_old_file(self):
        self.create_kv("dvt")
        self.ok("dvt", "insert", [{"k": i, "v": "v%d" % i} for i in range(10)])
        ts = self.table("dvt")
        self.assertEqual(len(ts.files), 1)
        (old,) = ts.files.values()
        pos = {int(r["k"]): r["_pos"] for r in ts.rows}
        ids = {int(r["k"]): r["_row_id"] for r in ts.rows}
        self.ok("dvt", "upsert", [{"k": 3, "v": "new3"}])
        ts = self.table("dvt")
        self.assertIn(old.uri, ts.dvs, "no DV on %s after upserting k=3" % old.uri)
        dv = ts.dvs[old.uri]
        self.assertEqual(ts.summary("operation"), "overwrite")
        self.assertEqual(ts.summary("added-dvs"), "1")
        p = self.run_dv_check(dv)
        self.assertEqual(p, [pos[3]])
        got = {int(r["k"]): r for r in ts.rows}
        self.assertEqual(bytes.fromhex(got[3]["v"]).decode(), "new3")
        self.assertNotEqual(got[3]["_file"], old.uri)
        self.assertTrue(got[3]["_explicit"], "the new version of k=3 does not carry _row_id explicitly")
        self.assertEqual({k: r["_row_id"] for k, r in got.items()}, ids)  # _row_id kept
        # a second delete on the same file: one DV with both positions, the old entry gone
        self.ok("dvt", "delete", [{"k": 5}])
        ts = self.table("dvt")
        dv2 = ts.dvs[old.uri]
        self.assertEqual(self.run_dv_check(dv2), sorted([pos[3], pos[5]]))
        self.assertEqual(ts.summary("operation"), "delete")
        self.assertEqual(ts.summary("total-position-deletes"), "2")
        statuses = {(e["data_file"]["file_path"], e["data_file"]["content_offset"]): e["status"]
                    for m, e in ts.entries if e["data_file"]["content"] == 1}
        if (dv.uri, dv.offset) in statuses:
            self.assertEqual(statuses[(dv.uri, dv.offset)], 2, "the old DV entry is not DELETED")
        self.assertEqual(sorted(int(r["k"]) for r in ts.rows), [0, 1, 2, 3, 4, 6, 7, 8, 9])

    def run_dv_check(self, dv):
        """dv_check.py as a process on the DV's Puffin file; returns the positions of its blob."""
        import subprocess
        pr = subprocess.run([sys.executable, DV_CHECK, dv.path], capture_output=True, text=True)
        self.assertEqual(pr.returncode, 0, pr.stderr)
        out = json.loads(pr.stdout)
        self.assertEqual(out["file_size"], dv.size)
        blobs = [b for b in out["blobs"] if b["offset"] == dv.offset]
        self.assertEqual(len(blobs), 1, out)
        b = blobs[0]
        self.assertEqual(b["length"], dv.length)
        self.assertEqual(b["referenced_data_file"], dv.ref)
        self.assertEqual(b["cardinality"], dv.card)
        return b["positions"]

    def test_fully_deleted_file_is_removed(self):
        self.create_kv("gone")
        self.ok("gone", "insert", [{"k": 1, "v": "stay"}])
        self.ok("gone", "insert", [{"k": i, "v": "x"} for i in (10, 11, 12)])
        ts = self.table("gone")
        target = [f for f in ts.files.values() if f.record_count == 3]
        self.assertEqual(len(target), 1)
        out = self.ok("gone", "delete", [{"k": 11}, {"k": 10}, {"k": 12}])
        self.assertEqual(out.get("deleted"), 3)
        ts = self.table("gone")
        uri = target[0].uri
        self.assertNotIn(uri, ts.files)
        self.assertNotIn(uri, ts.dvs)
        self.assertIn(2, [e["status"] for m, e in ts.entries if e["data_file"]["file_path"] == uri],
                      "the removed file has no DELETED entry")
        self.assertEqual(ts.summary("operation"), "delete")
        self.assertEqual(ts.summary("deleted-data-files"), "1")
        self.assertEqual(ts.summary("total-records"), "1")
        self.assertEqual([int(r["k"]) for r in ts.rows], [1])


if __name__ == "__main__":
    unittest.main()
