#!/usr/bin/env bash
# make bench: every benchmark, each against a peer in the same run.
# Prints ratios; BENCHMARKS.md records results with the machine description.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/rel
mkdir -p bench/out
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

if [ -x $B/bench/parquet_write ]; then
	echo "== parquet_write"
	$B/bench/parquet_write bench/out
fi
if [ -x $B/bench/ingest_parse ]; then
	echo "== ingest_parse"
	$B/bench/ingest_parse
fi

echo "== rest_ingest"
data=$(mktemp -d /tmp/floe-bench-XXXXXX)
log=$data.log
$B/floe serve "$data" --port 0 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$data" "$log"' EXIT
port=""
for _ in $(seq 200); do
	port=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$log" | sed 's/.*://' || true)
	[ -n "$port" ] && break
	sleep 0.05
done
[ -n "$port" ] || { cat "$log"; exit 1; }
curl -sf -X POST "http://127.0.0.1:$port/tables/bench" -d '{"database":"bench","table":"bench","schema":[
  {"name":"id","data_type":"int64","nullable":false},{"name":"name","data_type":"string","nullable":true},
  {"name":"score","data_type":"float64","nullable":true},{"name":"ts","data_type":"timestamp","nullable":true},
  {"name":"flag","data_type":"boolean","nullable":true}],"table_config":{}}' >/dev/null
$B/bench/rest_ingest --port "$port" --table bench --clients "${CLIENTS:-4}" --seconds "${SECONDS_RUN:-10}" --batch 1000
curl -sf -X POST "http://127.0.0.1:$port/tables/bench/flush" >/dev/null
echo "  committed rows: $(curl -sf "http://127.0.0.1:$port/tables/bench" | grep -o '"row_count":[0-9]*')"
