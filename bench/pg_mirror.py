#!/usr/bin/python3
"""make bench, PostgreSQL mirror: floe against PostgreSQL's own tools in the
same run, on a private PostgreSQL 15 cluster (tests/integration/pgcluster.py).

1. streaming: a pgbench-style workload (single-row and 100-row transactions
   of inserts and updates) is written while floe is stopped, so the slot
   holds it; then floe starts and we time how long it takes to apply and
   commit all of it to Iceberg (confirmed_lsn reaches the end). The peer is
   pg_recvlogical decoding the same WAL with pgoutput from a second slot
   created at the same point, to /dev/null (--endpos). Ratio = floe rows/s /
   pg_recvlogical rows/s (goal >= 0.8).
2. lag: a procedure inserts 10k rows/s (100-row transactions every 10 ms)
   for LAG_SECONDS; each row carries clock_timestamp(). Afterwards, each
   row's freshness = timestamp-ms of the first Iceberg snapshot holding it
   minus its insert time: p50 / p99.
3. copy: a COPY_ROWS-row table (default 10M) mirrored from scratch: floe's
   copy rows/s vs the fastest of three COPY (SELECT ...) TO '/dev/null' of
   the same table (goal >= 0.5), and the files it wrote.
4. large transaction: one transaction inserting LARGE_ROWS rows (default
   3M, about 100 bytes each) and updating a tenth of them, written while
   floe is stopped. floe (protocol 2, streaming on: the transaction is
   spooled to disk, then applied in pieces and staged) vs pg_recvlogical
   decoding the same WAL the same way; and floe's peak resident memory
   (VmHWM) next to the size of the transaction's data.
The streaming peers run with the options floe uses: proto_version 2,
streaming on.
Environment: STREAM_ROWS (default 1000000), LAG_SECONDS (10), COPY_ROWS,
COPY_WORKERS (table_config.copy_workers; unset: floe's default),
LARGE_ROWS; PG_BENCH picks parts (default stream,lag,copy,large), e.g.
PG_BENCH=copy runs the copy benchmark alone.
"""
import json
import os
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import Floe, duckq, live_data_and_dvs, read_avro, local_path, current_metadata  # noqa: E402
from pgcluster import PgCluster, PG_BIN  # noqa: E402

STREAM_ROWS = int(os.environ.get("STREAM_ROWS", "1000000"))
LAG_SECONDS = int(os.environ.get("LAG_SECONDS", "10"))
COPY_ROWS = int(os.environ.get("COPY_ROWS", "10000000"))
COPY_WORKERS = int(os.environ.get("COPY_WORKERS", "0"))  # 0: floe's default
LARGE_ROWS = int(os.environ.get("LARGE_ROWS", "3000000"))
PARTS = set(os.environ.get("PG_BENCH", "stream,lag,copy,large").split(","))


def lsn(s):
    hi, lo = s.strip().split("/")
    return int(hi, 16) << 32 | int(lo, 16)


def wait_confirmed(f, name, target, timeout=900):
    t0 = time.time()
    while time.time() - t0 < timeout:
        st, b, _ = f.request("GET", "/tables/" + name)
        src = b.get("source", {})
        if src.get("phase") == "error":
            raise SystemExit("mirror failed: %s" % src)
        if src.get("phase") == "streaming" and lsn(src["confirmed_lsn"]) >= target:
            return time.time() - t0
        time.sleep(0.05)
    raise SystemExit("timeout waiting for %s: %s" % (name, b))


def mirror(f, pg, name, table_config=None):
    st, body, _ = f.request("POST", "/tables/%s/from_postgres" % name, {
        "database": "bench", "table": name, "src_uri": pg.dsn(), "src_table_name": "public." + name,
        "table_config": table_config or {}})
    if st != 201:
        raise SystemExit("mirror %s: %d %s" % (name, st, body))
    return body


def psql(pg, sql):
    return pg.sql(sql)


def recvlogical(pg, slot, pub, endpos):
    """Seconds pg_recvlogical takes to decode the slot up to endpos with
    pgoutput (the options floe uses) to /dev/null."""
    t0 = time.time()
    subprocess.run(pg._cmd([os.path.join(PG_BIN, "pg_recvlogical"), "-d", pg.dsn(),
                            "--slot", slot, "--start", "--endpos", endpos, "-f", "/dev/null",
                            "-o", "proto_version=2", "-o", "streaming=on",
                            "-o", "publication_names=" + pub, "--no-loop"]),
                   check=True, timeout=1800)
    return time.time() - t0


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def stopped_mirror_with_peer(pg, table, ddl, slot, pub):
    """Creates the table, mirrors it and stops floe once it streams; then a
    publication and a peer slot start where floe's slot stopped (the
    publication first: a slot decodes with the catalog as of each change).
    Returns the stopped Floe, whose data dir a new Floe resumes."""
    psql(pg, ddl)
    f = Floe()
    f.start()
    mirror(f, pg, table)
    wait_confirmed(f, table, lsn(psql(pg, "SELECT pg_current_wal_lsn()")))
    f.stop()
    psql(pg, "CREATE PUBLICATION %s FOR TABLE %s" % (pub, table))
    psql(pg, "SELECT pg_create_logical_replication_slot('%s', 'pgoutput')" % slot)
    return f


def bench_large_txn(pg):
    print("== pg_large_txn (one transaction: %d inserted rows of ~100 bytes, then %d of them "
          "updated)" % (LARGE_ROWS, LARGE_ROWS // 10))
    f = stopped_mirror_with_peer(pg, "bulk", "CREATE TABLE bulk (id bigint PRIMARY KEY, v int, "
                                 "pad text)", "peer2", "bulkpub")
    t0 = time.time()
    psql(pg, "BEGIN; INSERT INTO bulk SELECT g, g %% 1000, repeat(md5(g::text), 3) "
             "FROM generate_series(1, %d) g; UPDATE bulk SET v = -v WHERE id %% 10 = 0; COMMIT"
             % LARGE_ROWS)
    end = lsn(psql(pg, "SELECT pg_current_wal_lsn()"))
    data_mb = int(psql(pg, "SELECT pg_table_size('bulk')")) / 1e6
    print("  transaction written in %.1f s; table data %.0f MB" % (time.time() - t0, data_mb))
    changes = LARGE_ROWS + LARGE_ROWS // 10
    peer_s = recvlogical(pg, "peer2", "bulkpub", psql(pg, "SELECT pg_current_wal_lsn()").strip())
    f2 = Floe(data_dir=f.data_dir)
    f2.start()
    floe_s = wait_confirmed(f2, "bulk", end, timeout=3600)
    rss = peak_rss_mb(f2.proc.pid)
    st, b, _ = f2.request("GET", "/tables/bulk")
    src = b["source"]
    _, md = current_metadata(f2.table_dir("bulk", "bench"))
    snap = [x for x in md["snapshots"] if x["snapshot-id"] == md["current-snapshot-id"]]
    if not snap:
        raise SystemExit("bulk: no current snapshot after confirmed %s >= %X: GET %s\nmetadata %s\nlog:\n%s"
                         % (src.get("confirmed_lsn"), end, b, md, f2.read_log()[-5000:]))
    snap = snap[0]
    print("  pg_recvlogical (pgoutput, streaming, /dev/null): %.2f s = %.0f changes/s"
          % (peer_s, changes / peer_s))
    print("  floe (spool, replay, stage, one Iceberg commit): %.2f s = %.0f changes/s; table rows %d"
          " (PostgreSQL %s); spooled %.0f MB; last snapshot added %s data files"
          % (floe_s, changes / floe_s, b["row_count"], psql(pg, "SELECT count(*) FROM bulk"),
             src.get("spooled_bytes", 0) / 1e6, snap["summary"].get("added-data-files")))
    print("  floe peak resident memory %.0f MB for a %.0f MB transaction" % (rss, data_mb))
    print("== pg_large_txn: floe/pg_recvlogical changes/s = %.2f; peak RSS / data = %.2f"
          % (peer_s / floe_s, rss / data_mb))
    psql(pg, "SELECT pg_drop_replication_slot('peer2')")
    f2.stop()
    f2.cleanup()


def bench_streaming(pg):
    print("== pg_stream (%d changed rows: 60%% in 100-row insert transactions, 20%% single-row "
          "inserts, 20%% single-row updates)" % STREAM_ROWS)
    f = stopped_mirror_with_peer(pg, "acct", "CREATE TABLE acct (id bigint PRIMARY KEY, balance "
                                 "numeric(12,2), name text, updated timestamptz)", "peer", "peerpub")
    batched, singles = STREAM_ROWS * 6 // 10, STREAM_ROWS * 2 // 10
    # 100-row transactions through a procedure (COMMIT inside the loop).
    psql(pg, """CREATE PROCEDURE load(n int, per int, first bigint) LANGUAGE plpgsql AS $$
    DECLARE b bigint := first; BEGIN
      WHILE b < first + n LOOP
        INSERT INTO acct SELECT i, i % 1000, 'name ' || i, now()
          FROM generate_series(b, least(b + per, first + n) - 1) i;
        COMMIT; b := b + per;
      END LOOP; END $$""")
    psql(pg, """CREATE PROCEDURE touch(n int, maxid bigint) LANGUAGE plpgsql AS $$
    BEGIN FOR k IN 1..n LOOP
        UPDATE acct SET balance = balance + 1, updated = now() WHERE id = 1 + (k * 7919) % maxid;
        COMMIT; END LOOP; END $$""")
    t0 = time.time()
    psql(pg, "CALL load(%d, 100, 1)" % batched)
    psql(pg, "CALL load(%d, 1, %d)" % (singles, batched + 1))
    psql(pg, "CALL touch(%d, %d)" % (STREAM_ROWS - batched - singles, batched + singles))
    end = lsn(psql(pg, "SELECT pg_current_wal_lsn()"))
    print("  workload written in %.1f s; WAL %.1f MB" % (time.time() - t0, (end - lsn(
        psql(pg, "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name='peer'"))) / 1e6))
    # pg_recvlogical: decode the same WAL with pgoutput, to /dev/null.
    endpos = psql(pg, "SELECT pg_current_wal_lsn()").strip()
    peer_s = recvlogical(pg, "peer", "peerpub", endpos)
    f2 = Floe(data_dir=f.data_dir)
    f2.start()
    floe_s = wait_confirmed(f2, "acct", end)
    st, b, _ = f2.request("GET", "/tables/acct")
    pg_count = int(psql(pg, "SELECT count(*) FROM acct"))
    print("  pg_recvlogical (pgoutput, /dev/null): %.2f s = %.0f rows/s" % (peer_s, STREAM_ROWS / peer_s))
    print("  floe (decode + apply + Iceberg commit): %.2f s = %.0f rows/s (table rows %d, PostgreSQL %d)"
          % (floe_s, STREAM_ROWS / floe_s, b["row_count"], pg_count))
    print("== pg_stream: floe/pg_recvlogical rows/s = %.2f (goal >= 0.8)" % (peer_s / floe_s))
    psql(pg, "SELECT pg_drop_replication_slot('peer')")
    return f2


def bench_lag(f, pg):
    print("== pg_lag (10k rows/s for %d s: 100-row transactions every 10 ms)" % LAG_SECONDS)
    psql(pg, "CREATE TABLE tick (id bigserial PRIMARY KEY, at timestamptz NOT NULL)")
    mirror(f, pg, "tick")
    wait_confirmed(f, "tick", lsn(psql(pg, "SELECT pg_current_wal_lsn()")))
    psql(pg, """CREATE PROCEDURE ticks(secs int) LANGUAGE plpgsql AS $$
    DECLARE t0 timestamptz := clock_timestamp(); k int := 0; BEGIN
      WHILE clock_timestamp() < t0 + make_interval(secs => secs) LOOP
        INSERT INTO tick (at) SELECT clock_timestamp() FROM generate_series(1, 100);
        COMMIT; k := k + 1;
        PERFORM pg_sleep(greatest(0, extract(epoch FROM (t0 + k * interval '10 ms' - clock_timestamp()))));
      END LOOP; END $$""")
    psql(pg, "CALL ticks(%d)" % LAG_SECONDS)
    wait_confirmed(f, "tick", lsn(psql(pg, "SELECT pg_current_wal_lsn()")))
    # Freshness per row: the first snapshot holding its file, minus its insert time.
    _, md = current_metadata(f.table_dir("tick", "bench"))
    snap_ms = {s["snapshot-id"]: s["timestamp-ms"] for s in md["snapshots"]}
    lags = []
    data, _ = live_data_and_dvs(f.table_dir("tick", "bench"))
    added = {}
    snap = [s for s in md["snapshots"] if s["snapshot-id"] == md["current-snapshot-id"]][0]
    _, lists, _ = read_avro(local_path(snap["manifest-list"]))
    for m in lists:
        _, entries, _ = read_avro(local_path(m["manifest_path"]))
        for e in entries:
            if e["data_file"]["content"] == 0:
                added[e["data_file"]["file_path"]] = snap_ms.get(e["snapshot_id"], snap["timestamp-ms"])
    for uri in data:
        rows = duckq("SELECT epoch_us(\"at\") FROM read_parquet('%s')" % local_path(uri))
        for (us,) in rows:
            lags.append(added[uri] - int(us) / 1000.0)
    lags.sort()
    n = len(lags)
    print("  rows %d; freshness (PostgreSQL commit -> visible in Iceberg) p50 %.0f ms, p99 %.0f ms, max %.0f ms"
          % (n, lags[n // 2], lags[min(n - 1, n * 99 // 100)], lags[-1]))


def bench_copy(f, pg):
    print("== pg_copy (%d rows: bigint key, numeric, text, timestamptz, double)" % COPY_ROWS)
    psql(pg, "CREATE TABLE big (id bigint PRIMARY KEY, amount numeric(12,2), note text, "
             "at timestamptz, score double precision)")
    psql(pg, "INSERT INTO big SELECT i, (i %% 100000) / 100.0, 'note number ' || i, "
             "'2024-01-01'::timestamptz + i * interval '1 second', i * 0.5 FROM "
             "generate_series(1, %d) i" % COPY_ROWS)
    psql(pg, "VACUUM ANALYZE big")
    # Written out now, so that no checkpoint of the load runs during
    # either measurement.
    psql(pg, "CHECKPOINT")
    # The peer three times, the fastest counting: on this VM the same COPY
    # takes from 4.6 to 7.5 s from one run to the next.
    peer_runs = []
    for _ in range(3):
        t0 = time.time()
        psql(pg, "COPY (SELECT * FROM big) TO '/dev/null'")
        peer_runs.append(time.time() - t0)
    peer_s = min(peer_runs)
    t0 = time.time()
    cfg = {"copy_workers": COPY_WORKERS} if COPY_WORKERS else None
    mirror(f, pg, "big", table_config=cfg)
    floe_s = wait_confirmed(f, "big", 0, timeout=1800)
    data, _ = live_data_and_dvs(f.table_dir("big", "bench"))
    sizes = [os.path.getsize(local_path(u)) for u in data]
    st, b, _ = f.request("GET", "/tables/big")
    print("  COPY (SELECT ...) TO '/dev/null': %.2f s = %.0f rows/s (fastest of %s s)"
          % (peer_s, COPY_ROWS / peer_s, ", ".join("%.2f" % r for r in peer_runs)))
    print("  floe copy into Iceberg (%d workers): %.2f s = %.0f rows/s; %d rows; %d data files, "
          "%.1f MB (%.1f MB each on average)"
          % (b["source"]["copy"]["workers"], floe_s, COPY_ROWS / floe_s, b["row_count"], len(sizes),
             sum(sizes) / 1e6, sum(sizes) / 1e6 / max(1, len(sizes))))
    print("== pg_copy: floe/COPY rows/s = %.2f (goal >= 0.5)" % (peer_s / floe_s))


def main():
    with PgCluster(extra_conf=["max_wal_size=4GB", "shared_buffers=512MB",
                               "synchronous_commit=off"]) as pg:
        if PARTS & {"stream", "lag", "copy"}:
            f = bench_streaming(pg) if "stream" in PARTS else Floe().start()
            try:
                if "lag" in PARTS:
                    bench_lag(f, pg)
                if "copy" in PARTS:
                    bench_copy(f, pg)
            finally:
                f.stop()
                f.cleanup()
        if "large" in PARTS:
            bench_large_txn(pg)


if __name__ == "__main__":
    main()
