"""Shared helpers for integration tests: the real floe binary over real HTTP,
DuckDB (through tests/tools/duckq, linked with the vendored libduckdb) and
python3-avro as independent readers of what floe wrote.

Every server a test starts listens on 127.0.0.1 with a port the kernel picked
(--port 0; the port is read from floe's start-up log line), in its own temp
data directory, and is stopped by the test (also on failure).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FLOE = os.environ.get("FLOE_BIN", os.path.join(ROOT, "build", "rel", "floe"))
DUCKQ = os.environ.get("DUCKQ_BIN", os.path.join(ROOT, "build", "rel", "tools", "duckq"))


class Floe:
    """A floe server process on a private data dir."""

    def __init__(self, data_dir=None, args=(), env=None, token=None):
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="floe-it-")
        self.args = list(args)
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.token = token
        self.proc = None
        self.port = None
        self.log_path = None

    def start(self, timeout=20):
        self.log_path = os.path.join(tempfile.gettempdir(), "floe-it-%d-%d.log" % (os.getpid(), time.monotonic_ns()))
        self.log = open(self.log_path, "w+")
        cmd = [FLOE, "serve", self.data_dir, "--port", "0"] + self.args
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log, env=self.env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.log_path) as f:
                m = re.search(r"listening on http://[0-9.]+:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError("floe exited with %d:\n%s" % (self.proc.returncode, self.read_log()))
            time.sleep(0.02)
        raise RuntimeError("floe did not start:\n" + self.read_log())

    def read_log(self):
        with open(self.log_path) as f:
            return f.read()

    def sanitizer_reports(self):
        """AddressSanitizer / LeakSanitizer / UBSan reports in the log (when
        FLOE_BIN is a sanitizer build)."""
        log = self.read_log() if self.log_path and os.path.exists(self.log_path) else ""
        return [l for l in log.splitlines()
                if "ERROR: AddressSanitizer" in l or "ERROR: LeakSanitizer" in l or "runtime error:" in l]

    def stop(self, sig=signal.SIGTERM, timeout=60):
        """Stops the server; returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self.log.close()
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()
        reports = self.sanitizer_reports()
        if reports:
            raise AssertionError("sanitizer reports from floe:\n" + self.read_log()[-6000:])
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        if self.log_path and os.path.exists(self.log_path):
            os.unlink(self.log_path)

    def request(self, method, path, body=None, raw=None, headers=None, timeout=60):
        """Returns (status, parsed JSON or text, response headers)."""
        url = "http://127.0.0.1:%d%s" % (self.port, path)
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, text, hdrs = r.status, r.read().decode(), dict(r.headers)
        except urllib.error.HTTPError as e:
            status, text, hdrs = e.code, e.read().decode(), dict(e.headers)
        try:
            return status, json.loads(text), hdrs
        except ValueError:
            return status, text, hdrs

    # Shorthands that assert success.
    def ok(self, method, path, body=None):
        status, out, _ = self.request(method, path, body)
        if status != 200:
            raise AssertionError("%s %s -> %d %s" % (method, path, status, out))
        return out

    def create_table(self, name, schema, database="db", table=None, table_config=None):
        return self.ok("POST", "/tables/" + name, {
            "database": database, "table": table or name, "schema": schema,
            "table_config": table_config or {}})

    def ingest(self, name, rows, op="insert", mode="async"):
        return self.ok("POST", "/ingest/" + name, {"operation": op, "request_mode": mode, "data": rows})

    def flush(self, name):
        return self.ok("POST", "/tables/%s/flush" % name)

    def table_dir(self, name, database="db"):
        return os.path.join(self.data_dir, database, name)


def duckq(*sql, json_lines=False):
    """Runs SQL in a fresh in-memory DuckDB; returns rows (lists of strings, None for NULL)."""
    cmd = [DUCKQ] + (["-j"] if json_lines else []) + list(sql)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError("duckq failed: %s\n%s" % (p.stderr, sql))
    if json_lines:
        return [json.loads(line) for line in p.stdout.splitlines() if line]
    rows = []
    for line in p.stdout.split("\n")[:-1] if p.stdout else []:
        rows.append([None if f == "\\N" else unescape(f) for f in line.split("\t")])
    return rows


def unescape(s):
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            out.append({"t": "\t", "n": "\n", "\\": "\\", "r": "\r"}.get(n, n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def read_avro(path):
    """(header metadata dict, records list, writer schema dict) read with python3-avro."""
    import avro.datafile
    import avro.io
    with open(path, "rb") as f:
        reader = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        meta = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in reader.meta.items()}
        records = list(reader)
        reader.close()
    return meta, records, json.loads(meta["avro.schema"])


def local_path(uri):
    assert uri.startswith("file://"), uri
    return uri[len("file://"):]


def current_metadata(table_dir):
    with open(os.path.join(table_dir, "metadata", "version-hint.text")) as f:
        hint = f.read()
    path = os.path.join(table_dir, "metadata", "v%s.metadata.json" % hint)
    with open(path) as f:
        return hint, json.load(f)


def live_data_files(table_dir):
    """Data file entries (dicts from the manifests) of the current snapshot."""
    _, md = current_metadata(table_dir)
    snap_id = md.get("current-snapshot-id")
    if snap_id is None:
        return []
    snap = [s for s in md["snapshots"] if s["snapshot-id"] == snap_id][0]
    _, lists, _ = read_avro(local_path(snap["manifest-list"]))
    out = []
    for m in lists:
        _, entries, _ = read_avro(local_path(m["manifest_path"]))
        for e in entries:
            if e["status"] != 2 and e["data_file"]["content"] == 0:
                out.append(e)
    return out


DV_CHECK = os.path.join(ROOT, "tests", "tools", "dv_check.py")
_dv_module = None


def dv_check_module():
    """tests/tools/dv_check.py, the independent Puffin / DV decoder, loaded as
    a module (its check() is the decoder; a process per Puffin file would cost
    seconds per check)."""
    global _dv_module
    if _dv_module is None:
        import importlib.util
        spec = importlib.util.spec_from_file_location("dv_check", DV_CHECK)
        _dv_module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_dv_module)
    return _dv_module


def live_data_and_dvs(table_dir, snapshot_id=None, metadata=None):
    """(data file URIs, {data file URI: deleted positions}) of the current
    snapshot (or of snapshot_id, read from `metadata` when given, else from
    the current metadata): manifests read with python3-avro, every DV
    decoded by dv_check and checked against its manifest entry."""
    md = metadata if metadata is not None else current_metadata(table_dir)[1]
    snap_id = md.get("current-snapshot-id") if snapshot_id is None else snapshot_id
    if snap_id is None:
        return [], {}
    snap = [x for x in md["snapshots"] if x["snapshot-id"] == snap_id][0]
    _, lists, _ = read_avro(local_path(snap["manifest-list"]))
    data, dvs = [], {}
    dvc = dv_check_module()
    for m in lists:
        _, entries, _ = read_avro(local_path(m["manifest_path"]))
        for e in entries:
            if e["status"] == 2:
                continue
            df = e["data_file"]
            if df["content"] == 0:
                data.append(df["file_path"])
                continue
            with open(local_path(df["file_path"]), "rb") as fh:
                out = dvc.check(fh.read())
            for blob in out["blobs"]:
                assert blob["offset"] == df["content_offset"] and blob["length"] == df["content_size_in_bytes"]
                assert blob["cardinality"] == df["record_count"]
                assert blob["referenced_data_file"] not in dvs, "two DVs for one data file"
                dvs[blob["referenced_data_file"]] = set(blob["positions"])
    return data, dvs
