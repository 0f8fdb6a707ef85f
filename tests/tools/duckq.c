/*
 * duckq — run SQL in the vendored DuckDB and print the results; the
 * independent reader behind floe's integration tests.
 *
 *   duckq [-d DBFILE] [-j] "SQL" ["SQL" ...]
 *
 * Each argument is run in order (an argument may hold several statements;
 * DuckDB returns the last one's result) and every result row is printed:
 *
 *   default  one line per row, values separated by a tab. NULL is `\N`; text
 *            is raw except that backslash, tab, newline and carriage return
 *            become `\\`, `\t`, `\n`, `\r` (PostgreSQL COPY text style), so
 *            every row is exactly one line.
 *   -j       one JSON object per row, keys = column names. NULL is `null`,
 *            BOOLEAN is `true`/`false`, integer, decimal and floating point
 *            columns are JSON numbers (NaN and infinities, which JSON cannot
 *            hold, are the strings "nan", "inf", "-inf"), everything else is
 *            a JSON string of DuckDB's text rendering (dates, timestamps,
 *            blobs as DuckDB prints them, nested types as their literal).
 *
 * Values come from duckdb_value_varchar, so text stops at a NUL byte (cast
 * to BLOB to see such bytes), and types it cannot render — nested types
 * (LIST, STRUCT, MAP, ...), UUID, TIMESTAMP WITH TIME ZONE, TIMESTAMP_NS —
 * must be cast to VARCHAR in the SQL (`u::VARCHAR`); duckq fails with a
 * message naming the column rather than print them wrongly.
 *
 * The database is in memory unless -d names a file. Extensions are never
 * downloaded (autoinstall_known_extensions=false); the built-in parquet and
 * json extensions load on demand (autoload_known_extensions=true).
 * An error prints DuckDB's message on stderr and exits 1; nothing later runs.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* duckdb.h declares `f()` functions; the Makefile adds it with -I, not
 * -isystem, so silence that one warning for the vendored header only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include "duckdb.h"
#pragma GCC diagnostic pop

static void duckq_usage(FILE *f)
{
	fprintf(f, "usage: duckq [-d DBFILE] [-j] \"SQL\" [\"SQL\" ...]\n");
}

/* Writes n bytes of text with the TSV escapes described above. */
static void duckq_put_tsv(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		default:
			putchar(c);
		}
	}
}

/* Writes n bytes as the inside of a JSON string (RFC 8259 escapes). */
static void duckq_put_json_str(const char *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\r':
			fputs("\\r", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		case '\b':
			fputs("\\b", stdout);
			break;
		case '\f':
			fputs("\\f", stdout);
			break;
		default:
			if (c < 0x20)
				printf("\\u%04x", c);
			else
				putchar(c);
		}
	}
	putchar('"');
}

static bool duckq_is_numeric(duckdb_type t)
{
	switch (t) {
	case DUCKDB_TYPE_TINYINT:
	case DUCKDB_TYPE_SMALLINT:
	case DUCKDB_TYPE_INTEGER:
	case DUCKDB_TYPE_BIGINT:
	case DUCKDB_TYPE_UTINYINT:
	case DUCKDB_TYPE_USMALLINT:
	case DUCKDB_TYPE_UINTEGER:
	case DUCKDB_TYPE_UBIGINT:
	case DUCKDB_TYPE_HUGEINT:
	case DUCKDB_TYPE_UHUGEINT:
	case DUCKDB_TYPE_FLOAT:
	case DUCKDB_TYPE_DOUBLE:
	case DUCKDB_TYPE_DECIMAL:
		return true;
	default:
		return false;
	}
}

/* True when s[0..n) is a JSON number (DuckDB renders NaN as "nan" and
 * infinities as "inf"/"-inf", which are not). */
static bool duckq_json_number(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' ||
		      c == 'E'))
			return false;
	}
	return true;
}

/* Prints one value; returns -1 when DuckDB cannot render it as text. */
static int duckq_print_value(duckdb_result *res, idx_t col, idx_t row, bool json)
{
	if (duckdb_value_is_null(res, col, row)) {
		fputs(json ? "null" : "\\N", stdout);
		return 0;
	}
	char *p = duckdb_value_varchar(res, col, row);
	if (!p) {
		fprintf(stderr,
		        "duckq: column '%s' has a type duckdb_value_varchar cannot render; "
		        "cast it to VARCHAR in the SQL\n",
		        duckdb_column_name(res, col));
		return -1;
	}
	size_t n = strlen(p);
	if (!json) {
		duckq_put_tsv(p, n);
	} else {
		duckdb_type t = duckdb_column_type(res, col);
		if (t == DUCKDB_TYPE_BOOLEAN)
			fputs(n > 0 && (p[0] == 't' || p[0] == 'T') ? "true" : "false", stdout);
		else if (duckq_is_numeric(t) && duckq_json_number(p, n))
			fwrite(p, 1, n, stdout);
		else
			duckq_put_json_str(p, n);
	}
	duckdb_free(p);
	return 0;
}

static int duckq_print_result(duckdb_result *res, bool json)
{
	idx_t ncols = duckdb_column_count(res);
	idx_t nrows = duckdb_row_count(res);
	if (ncols == 0)
		return 0;
	for (idx_t r = 0; r < nrows; r++) {
		if (json)
			putchar('{');
		for (idx_t c = 0; c < ncols; c++) {
			if (json) {
				const char *name = duckdb_column_name(res, c);
				if (c)
					putchar(',');
				duckq_put_json_str(name, strlen(name));
				putchar(':');
			} else if (c) {
				putchar('\t');
			}
			if (duckq_print_value(res, c, r, json))
				return -1;
		}
		fputs(json ? "}\n" : "\n", stdout);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dbfile = NULL;
	bool json = false;
	int opt;
	while ((opt = getopt(argc, argv, "d:jh")) != -1) {
		switch (opt) {
		case 'd':
			dbfile = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			duckq_usage(stdout);
			return 0;
		default:
			duckq_usage(stderr);
			return 1;
		}
	}
	if (optind >= argc) {
		duckq_usage(stderr);
		return 1;
	}

	int rc = 1;
	duckdb_config config = NULL;
	duckdb_database db = NULL;
	duckdb_connection conn = NULL;
	char *open_err = NULL;

	if (duckdb_create_config(&config) == DuckDBError ||
	    duckdb_set_config(config, "autoinstall_known_extensions", "false") == DuckDBError ||
	    duckdb_set_config(config, "autoload_known_extensions", "true") == DuckDBError) {
		fprintf(stderr, "duckq: cannot configure DuckDB\n");
		goto fail;
	}
	if (duckdb_open_ext(dbfile, &db, config, &open_err) == DuckDBError) {
		fprintf(stderr, "duckq: cannot open %s: %s\n",
		        dbfile ? dbfile : ":memory:", open_err ? open_err : "unknown error");
		goto fail;
	}
	if (duckdb_connect(db, &conn) == DuckDBError) {
		fprintf(stderr, "duckq: cannot connect\n");
		goto fail;
	}
	for (int i = optind; i < argc; i++) {
		duckdb_result res;
		if (duckdb_query(conn, argv[i], &res) == DuckDBError) {
			const char *msg = duckdb_result_error(&res);
			fprintf(stderr, "duckq: %s\n", msg ? msg : "query failed");
			duckdb_destroy_result(&res);
			goto fail;
		}
		int prc = duckq_print_result(&res, json);
		duckdb_destroy_result(&res);
		if (prc)
			goto fail;
	}
	if (fflush(stdout) != 0) {
		perror("duckq: stdout");
		goto fail;
	}
	rc = 0;
fail:
	if (open_err)
		duckdb_free(open_err);
	duckdb_disconnect(&conn);
	duckdb_close(&db);
	duckdb_destroy_config(&config);
	return rc;
}
