/*
 * parquet_write — floe's Parquet writer against DuckDB's, same process,
 * same data: N rows (default 10,000,000) of
 *     id   BIGINT NOT NULL  = 0 .. N-1
 *     name VARCHAR NOT NULL = 'name' || id
 * compressed with ZSTD (level 3 on both sides).
 *
 *   parquet_write [ROWS] [OUTDIR]     (OUTDIR default bench/out)
 *
 * floe is timed from pq_writer_open to pq_writer_close returning (pages
 * encoded, compressed and written to the file); building the column arrays
 * is timed separately ("gen") and shown added in the "floe gen+write" rows,
 * since DuckDB's COPY times include producing its rows. DuckDB runs
 *   COPY (SELECT range AS id, 'name'||range AS name FROM range(N))
 *     TO '...' (FORMAT parquet, COMPRESSION zstd [, PARQUET_VERSION v2])
 * with its default threads. Neither side fsyncs. Every configuration runs
 * REPEAT times and the fastest run counts (the machine is shared).
 *
 * floe runs twice: default options (dictionary, PLAIN fallback) compared
 * with DuckDB's default (PARQUET_VERSION v1), and delta_encodings = 1
 * (DELTA_BINARY_PACKED / DELTA_LENGTH_BYTE_ARRAY fallback) compared with
 * DuckDB's PARQUET_VERSION v2, which uses the same encodings.
 *
 * Every floe file is read back by DuckDB: count(*), sum(id), min/max(name)
 * and sum(length(name)) must match. Exit status 1 on any mismatch or error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "format/parquet.h"

/* duckdb.h declares `f()` functions; the Makefile adds it with -I, not
 * -isystem, so silence that one warning for the vendored header only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include "duckdb.h"
#pragma GCC diagnostic pop

#define REPEAT 3

typedef struct bench_data {
	size_t n;
	int64_t *id;
	uint64_t *off;
	uint8_t *bytes;
} bench_data;

typedef struct bench_fd_sink {
	int fd;
} bench_fd_sink;

static double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_sink(void *ctx, const void *data, size_t n, char *err)
{
	bench_fd_sink *s = ctx;
	const uint8_t *p = data;
	while (n > 0) {
		ssize_t k = write(s->fd, p, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errf(err, FLOE_EIO, "write: %s", strerror(errno));
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int bench_gen(bench_data *d, size_t n)
{
	d->n = n;
	d->id = malloc(n * sizeof(*d->id));
	d->off = malloc((n + 1) * sizeof(*d->off));
	d->bytes = malloc(n * 24 + 1);
	if (!d->id || !d->off || !d->bytes)
		return -1;
	/* The decimal digits of i, kept as text and incremented in place. */
	char digits[24] = "0";
	size_t nd = 1;
	uint64_t pos = 0;
	for (size_t i = 0; i < n; i++) {
		d->id[i] = (int64_t)i;
		d->off[i] = pos;
		memcpy(d->bytes + pos, "name", 4);
		memcpy(d->bytes + pos + 4, digits, nd);
		pos += 4 + nd;
		size_t k = nd;
		while (k > 0 && digits[k - 1] == '9')
			digits[--k] = '0';
		if (k == 0) {
			memmove(digits + 1, digits, nd++);
			digits[0] = '1';
		} else {
			digits[k - 1]++;
		}
	}
	d->off[n] = pos;
	return 0;
}

static void bench_free(bench_data *d)
{
	free(d->id);
	free(d->off);
	free(d->bytes);
}

static long long bench_file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Writes d to path with floe; *secs = wall time of open..close. */
static int bench_floe(const bench_data *d, const char *path, int delta, double *secs)
{
	char err[ERR_LEN];
	pq_column_spec cols[2] = {
	    {.name = "id", .field_id = 1, .physical = PQ_INT64, .required = 1},
	    {.name = "name",
	     .field_id = 2,
	     .physical = PQ_BYTE_ARRAY,
	     .logical = PQ_LOGICAL_STRING,
	     .required = 1},
	};
	pq_column_data data[2] = {
	    {.values = d->id},
	    {.offsets = d->off, .bytes = d->bytes},
	};
	pq_options opts;
	pq_options_default(&opts);
	opts.delta_encodings = delta;
	bench_fd_sink sink = {.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)};
	if (sink.fd < 0) {
		fprintf(stderr, "parquet_write: %s: %s\n", path, strerror(errno));
		return -1;
	}
	pq_writer *w = NULL;
	pq_file_result res;
	double t0 = bench_now();
	int rc = pq_writer_open(cols, 2, NULL, 0, &opts, bench_sink, &sink, &w, err);
	if (!rc)
		rc = pq_writer_write(w, data, d->n, err);
	if (!rc) {
		rc = pq_writer_close(w, &res, err);
		w = NULL;
	}
	*secs = bench_now() - t0;
	pq_writer_abort(w);
	if (close(sink.fd) != 0 && !rc)
		rc = errf(err, FLOE_EIO, "close: %s", strerror(errno));
	if (rc) {
		fprintf(stderr, "parquet_write: floe: %s\n", err);
		return -1;
	}
	pq_file_result_free(&res);
	return 0;
}

static int bench_query(duckdb_connection con, const char *sql, duckdb_result *res)
{
	if (duckdb_query(con, sql, res) == DuckDBError) {
		fprintf(stderr, "parquet_write: duckdb: %s\n", duckdb_result_error(res));
		duckdb_destroy_result(res);
		return -1;
	}
	return 0;
}

static int bench_duck(duckdb_connection con, size_t n, const char *path, int v2, double *secs)
{
	char sql[1024];
	snprintf(sql, sizeof(sql),
	         "COPY (SELECT range AS id, 'name'||range AS name FROM range(%zu)) TO '%s' "
	         "(FORMAT parquet, COMPRESSION zstd%s)",
	         n, path, v2 ? ", PARQUET_VERSION v2" : "");
	duckdb_result res;
	double t0 = bench_now();
	if (bench_query(con, sql, &res))
		return -1;
	*secs = bench_now() - t0;
	duckdb_destroy_result(&res);
	return 0;
}

static int bench_cmp(const bench_data *d, size_t a, size_t b)
{
	size_t al = (size_t)(d->off[a + 1] - d->off[a]), bl = (size_t)(d->off[b + 1] - d->off[b]);
	int r = memcmp(d->bytes + d->off[a], d->bytes + d->off[b], al < bl ? al : bl);
	return r ? r : (al > bl) - (al < bl);
}

/* DuckDB reads floe's file back; every aggregate must match the data. */
static int bench_verify(duckdb_connection con, const bench_data *d, const char *path)
{
	char sql[1024];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*)::VARCHAR, sum(id)::VARCHAR, min(name), max(name), "
	         "sum(length(name))::VARCHAR FROM read_parquet('%s')",
	         path);
	duckdb_result res;
	if (bench_query(con, sql, &res))
		return -1;
	char want[5][64];
	unsigned long long n = d->n, len = d->off[d->n] - d->off[0];
	snprintf(want[0], sizeof(want[0]), "%llu", n);
	snprintf(want[1], sizeof(want[1]), "%llu", n ? n * (n - 1) / 2 : 0);
	/* min/max(name) straight from the generated bytes. */
	size_t lo = 0, hi = 0;
	for (size_t i = 1; i < d->n; i++) {
		if (bench_cmp(d, i, lo) < 0)
			lo = i;
		if (bench_cmp(d, i, hi) > 0)
			hi = i;
	}
	snprintf(want[2], sizeof(want[2]), "%.*s", (int)(d->off[lo + 1] - d->off[lo]),
	         (const char *)d->bytes + d->off[lo]);
	snprintf(want[3], sizeof(want[3]), "%.*s", (int)(d->off[hi + 1] - d->off[hi]),
	         (const char *)d->bytes + d->off[hi]);
	snprintf(want[4], sizeof(want[4]), "%llu", len);
	static const char *what[5] = {"count(*)", "sum(id)", "min(name)", "max(name)",
	                              "sum(length(name))"};
	int bad = 0;
	for (int c = 0; c < 5; c++) {
		char *v = duckdb_value_varchar(&res, (idx_t)c, 0);
		if (!v || strcmp(v, want[c]) != 0) {
			fprintf(stderr, "parquet_write: %s: %s = %s, want %s\n", path, what[c],
			        v ? v : "NULL", want[c]);
			bad = 1;
		}
		duckdb_free(v);
	}
	duckdb_destroy_result(&res);
	return bad ? -1 : 0;
}

typedef struct bench_row {
	const char *name;
	double secs;
	long long bytes;
} bench_row;

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 10000000;
	const char *dir = argc > 2 ? argv[2] : "bench/out";
	int rc = 1;
	bench_data d = {0};
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_config config = NULL;
	char *open_err = NULL;
	char floe1[512], floe2[512], duck1[512], duck2[512];

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "parquet_write: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(floe1, sizeof(floe1), "%s/floe.parquet", dir);
	snprintf(floe2, sizeof(floe2), "%s/floe_delta.parquet", dir);
	snprintf(duck1, sizeof(duck1), "%s/duckdb.parquet", dir);
	snprintf(duck2, sizeof(duck2), "%s/duckdb_v2.parquet", dir);

	double t0 = bench_now();
	if (bench_gen(&d, n)) {
		fprintf(stderr, "parquet_write: out of memory for %zu rows\n", n);
		goto fail;
	}
	double gen = bench_now() - t0;

	if (duckdb_create_config(&config) == DuckDBError ||
	    duckdb_set_config(config, "autoinstall_known_extensions", "false") == DuckDBError ||
	    duckdb_set_config(config, "autoload_known_extensions", "true") == DuckDBError ||
	    duckdb_open_ext(NULL, &db, config, &open_err) == DuckDBError ||
	    duckdb_connect(db, &con) == DuckDBError) {
		fprintf(stderr, "parquet_write: cannot start DuckDB: %s\n",
		        open_err ? open_err : "?");
		goto fail;
	}

	double best[4] = {1e30, 1e30, 1e30, 1e30};
	for (int rep = 0; rep < REPEAT; rep++) {
		double s;
		if (bench_floe(&d, floe1, 0, &s))
			goto fail;
		best[0] = s < best[0] ? s : best[0];
		if (bench_floe(&d, floe2, 1, &s))
			goto fail;
		best[1] = s < best[1] ? s : best[1];
		if (bench_duck(con, n, duck1, 0, &s))
			goto fail;
		best[2] = s < best[2] ? s : best[2];
		if (bench_duck(con, n, duck2, 1, &s))
			goto fail;
		best[3] = s < best[3] ? s : best[3];
	}
	if (bench_verify(con, &d, floe1) || bench_verify(con, &d, floe2))
		goto fail;

	duckdb_result tres;
	char threads[32] = "?";
	if (bench_query(con, "SELECT current_setting('threads')::VARCHAR", &tres) == 0) {
		char *v = duckdb_value_varchar(&tres, 0, 0);
		if (v)
			snprintf(threads, sizeof(threads), "%s", v);
		duckdb_free(v);
		duckdb_destroy_result(&tres);
	}

	bench_row rows[6] = {
	    {"floe default (write)", best[0], bench_file_size(floe1)},
	    {"floe default (gen+write)", gen + best[0], bench_file_size(floe1)},
	    {"duckdb default (v1)", best[2], bench_file_size(duck1)},
	    {"floe delta (write)", best[1], bench_file_size(floe2)},
	    {"floe delta (gen+write)", gen + best[1], bench_file_size(floe2)},
	    {"duckdb PARQUET_VERSION v2", best[3], bench_file_size(duck2)},
	};
	printf("parquet_write: %zu rows (id BIGINT, name VARCHAR), ZSTD, best of %d; "
	       "duckdb threads=%s; column generation for floe %.3f s\n",
	       n, REPEAT, threads, gen);
	printf("%-28s %10s %14s %12s %12s\n", "writer", "seconds", "bytes", "time/duck",
	       "size/duck");
	for (int i = 0; i < 6; i++) {
		const bench_row *ref = i < 3 ? &rows[2] : &rows[5];
		printf("%-28s %10.3f %14lld %12.3f %12.3f\n", rows[i].name, rows[i].secs,
		       rows[i].bytes, rows[i].secs / ref->secs,
		       (double)rows[i].bytes / (double)ref->bytes);
	}
	printf("verify: DuckDB reads both floe files back: count, sum(id), min/max(name), "
	       "sum(length(name)) match\n");
	rc = 0;
fail:
	if (open_err)
		duckdb_free(open_err);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	duckdb_destroy_config(&config);
	bench_free(&d);
	return rc;
}
