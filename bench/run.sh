#!/usr/bin/env bash
# make bench: every benchmark, each against a peer in the same run.
# Prints ratios; BENCHMARKS.md records results with the machine description.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/rel
mkdir -p bench/out
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -r)"

# BENCH_ONLY=rest_ingest (or parquet_write, index_mem, ingest_parse, pg_mirror) runs one.
want() { [ -z "${BENCH_ONLY:-}" ] || [ "$BENCH_ONLY" = "$1" ]; }

if want parquet_write && [ -x $B/bench/parquet_write ]; then
	echo "== parquet_write"
	$B/bench/parquet_write 10000000 bench/out
fi
if want index_mem && [ -x $B/bench/index_mem ]; then
	echo "== index_mem"
	$B/bench/index_mem 50000000 bench/out
fi
if want ingest_parse && [ -x $B/bench/ingest_parse ]; then
	echo "== ingest_parse"
	$B/bench/ingest_parse
fi

if want pg_mirror; then
	FLOE_BIN=$B/floe /usr/bin/python3 bench/pg_mirror.py
fi

pids=()
dirs=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	for d in "${dirs[@]}"; do rm -rf "$d" "$d.log" "$d.json"; done
}
trap cleanup EXIT

# start_floe WAL_SYNC TABLE_CONFIG ID_COLUMN_EXTRA -> sets PORT and DATA
start_floe() {
	DATA=$(mktemp -d /tmp/floe-bench-XXXXXX)
	dirs+=("$DATA")
	echo "{\"wal_sync\":\"$1\"}" >"$DATA.json"
	$B/floe serve "$DATA" --port 0 --config "$DATA.json" >"$DATA.log" 2>&1 &
	pids+=($!)
	PORT=""
	for _ in $(seq 200); do
		PORT=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$DATA.log" | sed 's/.*://' || true)
		[ -n "$PORT" ] && break
		sleep 0.05
	done
	[ -n "$PORT" ] || { cat "$DATA.log"; exit 1; }
	curl -sf -X POST "http://127.0.0.1:$PORT/tables/bench" -d '{"database":"bench","table":"bench","schema":[
	  {"name":"id","data_type":"int64","nullable":false'"$3"'},{"name":"name","data_type":"string","nullable":true},
	  {"name":"score","data_type":"float64","nullable":true},{"name":"ts","data_type":"timestamp","nullable":true},
	  {"name":"flag","data_type":"boolean","nullable":true}],
	  "table_config":'"$2"'}' >/dev/null
}

metric() { curl -sf "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 ~ "^"m"\\{" {print $2}'; }

want rest_ingest || exit 0
APPEND_ONLY='{"mooncake":{"append_only":true,"row_identity":"None"}}'
declare -A RPS P99
for mode in fsync none keyed; do
	if [ $mode = keyed ]; then
		echo "== rest_ingest (wal_sync=fsync, primary key id: every row goes through the index)"
		start_floe fsync '{}' ',"primary_key":true'
	else
		echo "== rest_ingest (wal_sync=$mode, append-only table)"
		start_floe $mode "$APPEND_ONLY" ''
	fi
	out=$($B/bench/rest_ingest --port "$PORT" --table bench --clients "${CLIENTS:-4}" --seconds "${SECONDS_RUN:-10}" --batch 1000)
	echo "$out"
	RPS[$mode]=$(grep -o 'rows_per_s=[0-9]*' <<<"$out" | cut -d= -f2)
	P99[$mode]=$(grep -o 'p99_ms=[0-9.]*' <<<"$out" | cut -d= -f2)
	json_bytes=$(grep -o 'json_bytes_per_row=[0-9.]*' <<<"$out" | cut -d= -f2)
	rows=$(metric floe_table_rows_ingested_total)
	walw=$(metric floe_table_wal_bytes_written_total)
	curl -sf -X POST "http://127.0.0.1:$PORT/tables/bench/flush" >/dev/null
	sleep 0.2
	wal_disk=$(metric floe_table_wal_bytes)
	committed=$(curl -sf "http://127.0.0.1:$PORT/tables/bench" | grep -o '"row_count":[0-9]*' | cut -d: -f2)
	pq=$(du -sb "$DATA/bench/bench/data" | cut -f1)
	awk -v r="$rows" -v w="$walw" -v j="$json_bytes" -v d="$wal_disk" -v c="$committed" -v p="$pq" 'BEGIN {
		printf "  WAL bytes/row %.1f vs JSON bytes/row %.1f (ratio %.2f); WAL on disk after commit: %d bytes\n", w/r, j, (w/r)/j, d
		printf "  committed rows %d; Parquet bytes/row %.1f\n", c, p/c }'
done
awk -v a="${RPS[fsync]}" -v b="${RPS[none]}" -v pa="${P99[fsync]}" -v pb="${P99[none]}" 'BEGIN {
	printf "== group commit: rows/s fsync/none = %.2f (p99 %.2f ms vs %.2f ms)\n", a/b, pa, pb }'
