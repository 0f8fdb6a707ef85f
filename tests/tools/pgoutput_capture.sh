#!/usr/bin/env bash
# pgoutput_capture — records real pgoutput bytes from a throwaway PostgreSQL 15
# cluster, for tests/unit/test_pgoutput.c (which decodes and checks them).
#
#   tests/tools/pgoutput_capture.sh [OUT]     (default tests/unit/data/pgoutput_sample.bin)
#
# Starts a cluster as the postgres user in a mktemp directory on a free port
# (127.0.0.1 and a socket in that directory only), creates a publication and a
# pgoutput slot, runs the DML below, and streams the slot with pg_recvlogical
# (proto_version 1, messages on) up to the WAL position after the last
# statement. pg_recvlogical writes each message's bytes followed by "\n"; the
# unit test walks the file with pgo_decode_prefix and checks that separator.
# The cluster is stopped and removed on every exit path.
#
# The statements, in order (the unit test expects exactly these):
#   1. INSERT two rows into t (one with a 3000-byte out-of-line TOASTed
#      value, one with nulls)        -> Begin, Type(mood), Relation t, Insert x2, Commit
#   2. UPDATE t.note of row 1         -> Update whose TOASTed column is 'u'
#   3. UPDATE t.id 2 -> 20            -> Update with old key 'K'
#   4. DELETE row 20                  -> Delete 'K'
#   5. nokey (REPLICA IDENTITY FULL): INSERT, UPDATE, DELETE in one xact
#                                     -> Relation nokey, Insert, Update 'O', Delete 'O'
#   6. ALTER TABLE t ADD COLUMN extra int DEFAULT 7; INSERT row 3
#                                     -> Relation t with 5 columns, Insert
#   7. TRUNCATE t, nokey RESTART IDENTITY -> Truncate of 2 relations
#   8. pg_logical_emit_message(true, 'floe', 'hello') -> Message inside Begin/Commit
set -euo pipefail

BIN=/usr/lib/postgresql/15/bin
OUT=${1:-tests/unit/data/pgoutput_sample.bin}
[ -x "$BIN/initdb" ] || { echo "pgoutput_capture: PostgreSQL 15 not found at $BIN" >&2; exit 2; }

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

DIR=$(mktemp -d /tmp/floe-pgcap.XXXXXX)
chmod 755 "$DIR"
if [ "$(id -u)" = 0 ]; then chown postgres: "$DIR"; fi
started=0
cleanup() {
	if [ "$started" = 1 ]; then
		as_pg "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

as_pg "$BIN/initdb" -D "$DIR/data" -A trust --no-sync -U postgres >/dev/null
started=1
as_pg "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
	-o "-p $PORT -c listen_addresses=127.0.0.1 -k $DIR -c wal_level=logical -c fsync=off" \
	start >/dev/null

CONN="host=$DIR port=$PORT dbname=postgres user=postgres"
psql_() { as_pg "$BIN/psql" -X -q -v ON_ERROR_STOP=1 "$CONN" "$@"; }

psql_ >/dev/null <<'SQL'
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE TABLE t (id int PRIMARY KEY, note text, big text, m mood);
ALTER TABLE t ALTER COLUMN big SET STORAGE EXTERNAL;
CREATE TABLE nokey (a int, b text);
ALTER TABLE nokey REPLICA IDENTITY FULL;
CREATE PUBLICATION p FOR TABLE t, nokey;
SELECT pg_create_logical_replication_slot('s', 'pgoutput');
SQL

psql_ >/dev/null <<'SQL'
INSERT INTO t VALUES (1, 'one', repeat('x', 3000), 'happy'), (2, NULL, NULL, NULL);
UPDATE t SET note = 'uno' WHERE id = 1;
UPDATE t SET id = 20 WHERE id = 2;
DELETE FROM t WHERE id = 20;
BEGIN;
INSERT INTO nokey VALUES (1, 'a');
UPDATE nokey SET b = 'b';
DELETE FROM nokey;
COMMIT;
ALTER TABLE t ADD COLUMN extra int DEFAULT 7;
INSERT INTO t (id, note) VALUES (3, 'three');
TRUNCATE t, nokey RESTART IDENTITY;
SELECT pg_logical_emit_message(true, 'floe', 'hello');
SQL

END=$(psql_ -At -c 'SELECT pg_current_wal_lsn()')
mkdir -p "$(dirname "$OUT")"
as_pg "$BIN/pg_recvlogical" -d "$CONN" --slot=s --start --endpos="$END" --no-loop \
	-o proto_version=1 -o publication_names=p -o messages=true -f "$DIR/out.bin"
cp "$DIR/out.bin" "$OUT"
echo "pgoutput_capture: $(stat -c %s "$OUT") bytes to $OUT (up to $END)"
