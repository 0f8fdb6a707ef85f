#!/usr/bin/env bash
# Installs everything floe needs to build, test and benchmark, and nothing else.
# Idempotent: a second run installs nothing and downloads nothing.
#   1. Debian packages (apt-get update runs once, only when something is missing).
#   2. DuckDB (not in Debian): libduckdb.so and duckdb.h from the npm registry,
#      pinned, into vendor/duckdb/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="build-essential pkg-config clang-format
libmicrohttpd-dev libjansson-dev libpq-dev librdkafka-dev libroaring-dev
libzstd-dev libsnappy-dev zlib1g-dev libcurl4-openssl-dev libssl-dev libcmocka-dev
postgresql-15 postgresql-server-dev-15 postgresql-client-15
python3 python3-avro avro-bin curl ca-certificates"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# npm comes with Node.js; some images ship Node.js from elsewhere, whose nodejs
# package conflicts with Debian's npm, so only ask for npm when there is none.
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	echo "deps: installing$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

DUCKDB_LIB_PKG="@duckdb/node-bindings-linux-x64@1.5.6-r.1"
DUCKDB_HDR_PKG="duckdb@1.4.4"
V=vendor/duckdb
if [ ! -f "$V/libduckdb.so" ] || [ ! -f "$V/duckdb.h" ] || [ "$(cat "$V/VERSION" 2>/dev/null)" != "$DUCKDB_LIB_PKG $DUCKDB_HDR_PKG" ]; then
	echo "deps: fetching DuckDB ($DUCKDB_LIB_PKG, headers from $DUCKDB_HDR_PKG)"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$V"
	(cd "$tmp" && npm pack --silent "$DUCKDB_LIB_PKG" >/dev/null && npm pack --silent "$DUCKDB_HDR_PKG" >/dev/null)
	mkdir -p "$tmp/lib" "$tmp/hdr"
	tar -xzf "$tmp"/duckdb-node-bindings-linux-x64-*.tgz -C "$tmp/lib"
	tar -xzf "$tmp"/duckdb-1.4.4.tgz -C "$tmp/hdr" package/src/duckdb/src/include/duckdb.h package/src/duckdb/src/include/duckdb_extension.h
	cp "$tmp/lib/package/libduckdb.so" "$V/libduckdb.so"
	cp "$tmp/hdr/package/src/duckdb/src/include/duckdb.h" "$V/duckdb.h"
	cp "$tmp/hdr/package/src/duckdb/src/include/duckdb_extension.h" "$V/duckdb_extension.h"
	echo "$DUCKDB_LIB_PKG $DUCKDB_HDR_PKG" >"$V/VERSION"
fi
