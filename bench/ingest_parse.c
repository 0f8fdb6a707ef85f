/*
 * bench/ingest_parse — how fast ingest_parse turns a REST ingest body into a
 * columnar batch, next to jansson's json_loadb of the same body (a DOM parse
 * only: jansson still has to walk the tree and convert values after that,
 * so the ratio understates floe's advantage).
 *
 * Body: 1,000 rows of a 5-column schema (id int64, name string, score
 * float64, ts timestamp, flag boolean), shaped like what moonlink clients
 * send. Each side parses it repeatedly for about `seconds` (default 3).
 * Usage: ingest_parse [seconds]
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"
#include "server/ingest_json.h"

#define ROWS 1000

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_body(buf *b)
{
	uint64_t x = 0x2545F4914F6CDD1DULL;
	buf_append_str(b, "{\"operation\":\"insert\",\"request_mode\":\"async\",\"data\":[");
	for (int i = 0; i < ROWS; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		buf_printf(b,
		           "%s{\"id\":%d,\"name\":\"user_%05d\",\"score\":%llu.%03llu,"
		           "\"ts\":\"2024-05-%02dT%02d:%02d:%02d.%06dZ\",\"flag\":%s}",
		           i ? "," : "", 1000000 + i, (int)(x % 100000),
		           (unsigned long long)(x % 10000), (unsigned long long)(x >> 20) % 1000,
		           1 + i % 28, i % 24, i % 60, (i * 7) % 60, (int)(x % 1000000),
		           x & 1 ? "true" : "false");
	}
	buf_append_str(b, "]}");
}

/* Runs fn until `seconds` have passed; returns iterations per second. */
typedef int (*bench_fn)(void *ctx);

static double run(bench_fn fn, void *ctx, double seconds)
{
	long iters = 0;
	double t0 = now(), t;
	do {
		for (int k = 0; k < 10; k++, iters++)
			if (fn(ctx))
				return -1;
		t = now();
	} while (t - t0 < seconds);
	return (double)iters / (t - t0);
}

typedef struct floe_ctx {
	const buf *body;
	const floe_schema *schema;
	batch rows;
	char err[ERR_LEN];
} floe_ctx;

static int floe_once(void *p)
{
	floe_ctx *c = p;
	batch_reset(&c->rows);
	ingest_request req = {.rows = &c->rows};
	int rc = ingest_parse((const char *)c->body->data, c->body->len, c->schema, &req, c->err);
	if (rc == 0 && c->rows.nrows != ROWS)
		rc = errf(c->err, FLOE_EINVAL, "parsed %zu rows, not %d", c->rows.nrows, ROWS);
	return rc;
}

static int jansson_once(void *p)
{
	const buf *body = p;
	json_error_t jerr;
	json_t *j = json_loadb((const char *)body->data, body->len, 0, &jerr);
	if (!j) {
		fprintf(stderr, "jansson: %s\n", jerr.text);
		return -1;
	}
	json_decref(j);
	return 0;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 3.0;
	floe_column cols[] = {
	    {.name = "id", .type = FT_INT64, .field_id = 1},
	    {.name = "name", .type = FT_STRING, .nullable = 1, .field_id = 2},
	    {.name = "score", .type = FT_FLOAT64, .nullable = 1, .field_id = 3},
	    {.name = "ts", .type = FT_TIMESTAMP, .nullable = 1, .field_id = 4},
	    {.name = "flag", .type = FT_BOOLEAN, .nullable = 1, .field_id = 5},
	};
	floe_schema schema = {.ncols = 5, .cols = cols};
	buf body = {0};
	int rc = 1;
	make_body(&body);
	floe_ctx fc = {.body = &body, .schema = &schema};
	if (!buf_ok(&body) || batch_init(&fc.rows, &schema)) {
		fprintf(stderr, "out of memory\n");
		goto fail;
	}
	double mb = (double)body.len / 1e6;
	printf("body: %d rows, %zu bytes (%.1f bytes/row); %.1f s per side\n", ROWS, body.len,
	       (double)body.len / ROWS, seconds);

	double f = run(floe_once, &fc, seconds);
	if (f < 0) {
		fprintf(stderr, "ingest_parse: %s\n", fc.err);
		goto fail;
	}
	printf("floe ingest_parse    %12.0f rows/s  %8.1f MB/s\n", f * ROWS, f * mb);
	double j = run(jansson_once, &body, seconds);
	if (j < 0)
		goto fail;
	printf("jansson json_loadb   %12.0f rows/s  %8.1f MB/s  (DOM only)\n", j * ROWS, j * mb);
	printf("ratio floe / jansson %12.2fx\n", f / j);
	rc = 0;
fail:
	batch_clear(&fc.rows);
	buf_release(&body);
	return rc;
}
