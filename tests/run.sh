#!/usr/bin/env bash
# Runs every test floe has and ends with one summary line: "N passed, N failed".
#   1. unit tests (cmocka), built with AddressSanitizer + UBSan (build/san/tests)
#   2. integration tests (python3 unittest) against the release binary, real
#      HTTP, real PostgreSQL where needed, DuckDB and python3-avro as readers.
# A test binary that crashes counts as one failure.
set -u
cd "$(dirname "$0")/.."
passed=0
failed=0
failed_names=()
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

for t in build/san/tests/test_*; do
	[ -x "$t" ] || continue
	out=$("$t" 2>&1)
	rc=$?
	echo "$out"
	ok=$(grep -c '^\[       OK \]' <<<"$out")
	bad=$(grep -c '^\[  FAILED  \] [a-z_]' <<<"$out")
	# A sanitizer report or crash after the tests ran still fails the binary.
	if [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
	passed=$((passed + ok))
	failed=$((failed + bad))
	[ "$bad" -gt 0 ] && failed_names+=("$(basename "$t")")
done

# Integration suites print their own "<label>: N passed, N failed" line.
#   integration      every test, against the release binary
#   integration-san  the API, bad-input, key, list and PostgreSQL-mirror tests again against floe built
#                    with ASan+UBSan: any sanitizer report (a leak at exit
#                    included) fails the test that started that server
run_suite() {
	local label=$1
	shift
	local out_file
	out_file=$(mktemp)
	FLOE_SUITE_LABEL=$label /usr/bin/python3 tests/integration/run.py "$@" 2>&1 | tee "$out_file"
	local line
	line=$(grep -E "^$label: [0-9]+ passed, [0-9]+ failed" "$out_file" | tail -1)
	if [ -n "$line" ]; then
		local ip if_
		ip=$(sed -E "s/^$label: ([0-9]+) passed.*/\1/" <<<"$line")
		if_=$(sed -E "s/^$label: [0-9]+ passed, ([0-9]+) failed.*/\1/" <<<"$line")
		passed=$((passed + ip))
		failed=$((failed + if_))
		[ "$if_" -gt 0 ] && failed_names+=("$label")
	else
		failed=$((failed + 1))
		failed_names+=("$label (runner crashed)")
	fi
	rm -f "$out_file"
}

run_suite integration "$@"
if [ $# -eq 0 ] && [ -x build/san/floe ]; then
	FLOE_BIN=build/san/floe run_suite integration-san -k test_rest_append -k test_bad_input \
		-k KeysFocused -k test_fullrow -k ListsTest -k ListIdentityTest \
		-k test_scalar_types_round_trip -k test_array_types_round_trip -k ToastTest \
		-k SchemaChangeTest -k test_large_transaction_rolled_back_when_table_stops -k InitialCopyTest
fi

if [ ${#failed_names[@]} -gt 0 ]; then
	echo "failing: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
