/*
 * pq_read_check — floe's Parquet reader (src/format/parquet_read.c) and
 * rowfetch (src/table/rowfetch.c) on files another writer made: DuckDB,
 * in-process, writes a table of every type floe has under each
 * configuration that changes the bytes, and floe reads every value back.
 *
 *   pq_read_check [DIR]        (files go to DIR, default /tmp; kept on failure)
 *
 * Configurations: PARQUET_VERSION V1 and V2 (V2 makes DuckDB write
 * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, BYTE_STREAM_SPLIT and
 * DATA_PAGE_V2 pages) x UNCOMPRESSED / SNAPPY / GZIP / ZSTD, with default
 * and small row groups. The data (row i of range(DK_ROWS)): INTEGER, BIGINT
 * (with INT64_MIN/MAX), SMALLINT, TINYINT, DOUBLE and FLOAT with NaN, ±Inf,
 * -0.0, BOOLEAN, a low-cardinality string (dictionary), unique strings,
 * long strings with multi-byte characters, BLOB, DECIMAL(9,2) / (18,4) /
 * (38,10) up to ±(10^38-1), DATE, TIMESTAMP, TIMESTAMPTZ, TIME, UUID,
 * INTEGER[] and VARCHAR[] with null lists, empty lists and null elements;
 * NULLs in every column. Field ids are given explicitly (FIELD_IDS).
 * Each value is computed here from i and compared with
 *   - pq_reader_value / pq_reader_list, all rows in order and a random
 *     sample, every cell;
 *   - rowfetch_append_rows into a batch of a floe schema that also promotes
 *     int -> long, float -> double and decimal(9,2) -> decimal(20,2).
 * Prints one "name: N passed, M failed" line per configuration, then a
 * total line; exits 1 if anything failed.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "format/parquet_read.h"
#include "table/batch.h"
#include "table/coltype.h"
#include "table/rowfetch.h"

/* duckdb.h declares `f()` functions; silence that one warning for the
 * vendored header only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include "duckdb.h"
#pragma GCC diagnostic pop

#define DK_ROWS 40000

typedef struct dk_ctx {
	int passed, failed, shown;
	const char *cfg;
} dk_ctx;

static void dk_check(dk_ctx *t, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void dk_check(dk_ctx *t, int ok, const char *fmt, ...)
{
	if (ok) {
		t->passed++;
		return;
	}
	t->failed++;
	if (t->shown++ >= 30)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL [%s] ", t->cfg);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- the data, as SQL and as C ------------------------------------------ */

/* A value in a form both sides can be compared in. */
typedef enum dk_kind { K_NULL, K_INT, K_FLT, K_BOOL, K_BYTES, K_DEC } dk_kind;

typedef struct dk_val {
	dk_kind kind;
	int64_t i;
	double d;
	__int128 dec;
	uint8_t b[8192];
	size_t len;
} dk_val;

typedef struct dk_col {
	const char *name;
	const char *sql;
	int32_t field_id;     /* a list: the element's (the list's is field_id - 1) */
	const char *type;     /* floe type for rowfetch */
	const char *promoted; /* NULL: the same */
	int list;
} dk_col;

enum {
	D_A,
	D_B,
	D_HI,
	D_SM,
	D_TI,
	D_F,
	D_FF,
	D_BO,
	D_S,
	D_S2,
	D_S3,
	D_BL,
	D_D9,
	D_D18,
	D_D38,
	D_DT,
	D_TS,
	D_TZ,
	D_TM,
	D_U,
	D_L,
	D_LS,
	DK_NCOLS
};

static const dk_col dk_cols[DK_NCOLS] = {
    [D_A] = {"a", "CASE WHEN i%7=0 THEN NULL ELSE ((i*7919) % 200003 - 100000)::INTEGER END", 1,
             "int32", "int64", 0},
    [D_B] = {"b", "CASE WHEN i%11=0 THEN NULL ELSE i*1000000007 - 25000000000000 END::BIGINT", 2,
             "int64", NULL, 0},
    [D_HI] = {"hi",
              "CASE i%5 WHEN 0 THEN -9223372036854775808 WHEN 1 THEN 9223372036854775807 "
              "ELSE i - 50000 END::BIGINT",
              3, "int64", NULL, 0},
    [D_SM] = {"sm", "((i % 65536) - 32768)::SMALLINT", 4, "int16", NULL, 0},
    [D_TI] = {"ti", "CASE WHEN i%17=0 THEN NULL ELSE ((i % 256) - 128)::TINYINT END", 5, "int16",
              NULL, 0},
    [D_F] = {"f",
             "CASE i%13 WHEN 0 THEN 'nan'::DOUBLE WHEN 1 THEN 'inf'::DOUBLE WHEN 2 THEN "
             "'-inf'::DOUBLE WHEN 3 THEN '-0.0'::DOUBLE WHEN 4 THEN NULL ELSE i*0.25 - 100 "
             "END::DOUBLE",
             6, "float64", NULL, 0},
    [D_FF] = {"ff",
              "CASE i%13 WHEN 0 THEN 'nan'::FLOAT WHEN 1 THEN 'inf'::FLOAT WHEN 2 THEN "
              "'-inf'::FLOAT WHEN 3 THEN '-0.0'::FLOAT WHEN 4 THEN NULL ELSE (i*0.25 - 100)::FLOAT "
              "END::FLOAT",
              7, "float32", "float64", 0},
    [D_BO] = {"bo", "CASE WHEN i%10=0 THEN NULL ELSE i%3=0 END", 8, "boolean", NULL, 0},
    [D_S] = {"s", "'v' || ((i*31) % 1000)", 9, "string", NULL, 0},
    [D_S2] = {"s2", "'row-' || i || repeat('x', i%50)", 10, "string", NULL, 0},
    [D_S3] = {"s3", "CASE WHEN i%100=0 THEN repeat('ab', i % 3000) || 'é' ELSE NULL END", 11,
              "string", NULL, 0},
    [D_BL] = {"bl", "CASE WHEN i%9=0 THEN NULL ELSE unhex(printf('%08x', i)) END", 12, "binary",
              NULL, 0},
    [D_D9] = {"d9",
              "(((i*37) % 2000001 - 1000000)::DECIMAL(18,0) * 0.01::DECIMAL(3,2))::DECIMAL(9,2)",
              13, "decimal(9,2)", "decimal(20,2)", 0},
    [D_D18] = {"d18",
               "((i*123456789 - 3000000000000)::DECIMAL(18,0) * "
               "0.0001::DECIMAL(5,4))::DECIMAL(18,4)",
               14, "decimal(18,4)", NULL, 0},
    [D_D38] = {"d38",
               "CASE i%1000 WHEN 0 THEN '9999999999999999999999999999.9999999999' WHEN 1 THEN "
               "'-9999999999999999999999999999.9999999999' WHEN 2 THEN NULL ELSE "
               "(CASE WHEN i%2=1 THEN '-' ELSE '' END) || (i*7)::VARCHAR || repeat('9', 20) || "
               "'.' || lpad(i::VARCHAR, 10, '0') END::DECIMAL(38,10)",
               15, "decimal(38,10)", NULL, 0},
    [D_DT] = {"dt", "CASE WHEN i%13=5 THEN NULL ELSE DATE '1970-01-01' + (i - 25000)::INTEGER END",
              16, "date32", NULL, 0},
    [D_TS] = {"ts", "make_timestamp((i * 1000003 - 10000000000)::BIGINT)", 17, "timestamp", NULL,
              0},
    [D_TZ] = {"tz", "make_timestamp((i * 999983 + 7)::BIGINT)::TIMESTAMPTZ", 18, "timestamptz",
              NULL, 0},
    [D_TM] = {"tm", "'00:00:00'::TIME + to_microseconds((i * 1234567) % 86400000000)", 19, "time",
              NULL, 0},
    [D_U] = {"u", "printf('%08x-0000-4000-8000-%012x', i, i*7)::UUID", 20, "uuid", NULL, 0},
    [D_L] = {"l",
             "CASE i%6 WHEN 0 THEN NULL WHEN 1 THEN []::INTEGER[] WHEN 2 THEN [NULL::INTEGER] "
             "ELSE list_transform(range(i%6), x -> (x + i)::INTEGER) END",
             22, "list<int32>", "list<int64>", 1},
    [D_LS] = {"ls",
              "CASE i%5 WHEN 0 THEN NULL WHEN 1 THEN []::VARCHAR[] ELSE ['a' || i, NULL, ''] END",
              24, "list<string>", NULL, 1},
};

static __int128 dk_pow10(int n)
{
	__int128 v = 1;
	while (n--)
		v *= 10;
	return v;
}

static void dk_int(dk_val *v, int64_t x)
{
	v->kind = K_INT;
	v->i = x;
}

static void dk_flt(dk_val *v, double x)
{
	v->kind = K_FLT;
	v->d = x;
}

static void dk_str(dk_val *v, const char *s)
{
	v->kind = K_BYTES;
	v->len = strlen(s);
	memcpy(v->b, s, v->len);
}

/* The value of flat column c in row i. */
static void dk_expect(int c, int64_t i, dk_val *v)
{
	v->kind = K_NULL;
	switch (c) {
	case D_A:
		if (i % 7)
			dk_int(v, (i * 7919) % 200003 - 100000);
		break;
	case D_B:
		if (i % 11)
			dk_int(v, i * 1000000007 - 25000000000000LL);
		break;
	case D_HI:
		dk_int(v, i % 5 == 0 ? INT64_MIN : i % 5 == 1 ? INT64_MAX : i - 50000);
		break;
	case D_SM:
		dk_int(v, i % 65536 - 32768);
		break;
	case D_TI:
		if (i % 17)
			dk_int(v, i % 256 - 128);
		break;
	case D_F:
	case D_FF: {
		static const double sp[4] = {NAN, INFINITY, -INFINITY, -0.0};
		if (i % 13 < 4)
			dk_flt(v, sp[i % 13]);
		else if (i % 13 > 4)
			dk_flt(v, c == D_FF ? (double)(float)(i * 0.25 - 100) : i * 0.25 - 100);
		break;
	}
	case D_BO:
		if (i % 10) {
			v->kind = K_BOOL;
			v->i = i % 3 == 0;
		}
		break;
	case D_S: {
		char s[16];
		snprintf(s, sizeof(s), "v%" PRId64, (i * 31) % 1000);
		dk_str(v, s);
		break;
	}
	case D_S2: {
		char s[80];
		int n = snprintf(s, sizeof(s), "row-%" PRId64, i);
		memset(s + n, 'x', (size_t)(i % 50));
		s[n + i % 50] = 0;
		dk_str(v, s);
		break;
	}
	case D_S3:
		if (i % 100 == 0) {
			v->kind = K_BYTES;
			v->len = 0;
			for (int64_t k = 0; k < i % 3000; k++) {
				v->b[v->len++] = 'a';
				v->b[v->len++] = 'b';
			}
			memcpy(v->b + v->len, "é", 2);
			v->len += 2;
		}
		break;
	case D_BL:
		if (i % 9) {
			v->kind = K_BYTES;
			v->len = 4;
			for (int k = 0; k < 4; k++)
				v->b[k] = (uint8_t)(i >> (24 - 8 * k));
		}
		break;
	case D_D9:
		v->kind = K_DEC;
		v->dec = (i * 37) % 2000001 - 1000000;
		break;
	case D_D18:
		v->kind = K_DEC;
		v->dec = i * 123456789 - 3000000000000LL;
		break;
	case D_D38:
		if (i % 1000 == 2)
			break;
		v->kind = K_DEC;
		if (i % 1000 < 2) {
			v->dec = (dk_pow10(38) - 1) * (i % 1000 ? -1 : 1);
			break;
		}
		v->dec =
		    (((__int128)(i * 7) * dk_pow10(20) + dk_pow10(20) - 1) * dk_pow10(10) + i) *
		    (i % 2 ? -1 : 1);
		break;
	case D_DT:
		if (i % 13 != 5)
			dk_int(v, i - 25000);
		break;
	case D_TS:
		dk_int(v, i * 1000003 - 10000000000LL);
		break;
	case D_TZ:
		dk_int(v, i * 999983 + 7);
		break;
	case D_TM:
		dk_int(v, (i * 1234567) % 86400000000LL);
		break;
	case D_U: {
		v->kind = K_BYTES;
		v->len = 16;
		memset(v->b, 0, 16);
		for (int k = 0; k < 4; k++)
			v->b[k] = (uint8_t)(i >> (24 - 8 * k));
		v->b[6] = 0x40;
		v->b[8] = 0x80;
		for (int k = 0; k < 6; k++)
			v->b[10 + k] = (uint8_t)((i * 7) >> (40 - 8 * k));
		break;
	}
	}
}

/* List column c in row i: *len (-1 null), elements into e[]. */
static void dk_expect_list(int c, int64_t i, int64_t *len, dk_val *e)
{
	*len = -1;
	if (c == D_L) {
		if (i % 6 == 0)
			return;
		*len = i % 6 == 1 ? 0 : i % 6 == 2 ? 1 : i % 6;
		for (int64_t k = 0; k < *len; k++) {
			e[k].kind = K_NULL;
			if (i % 6 != 2)
				dk_int(&e[k], i + k);
		}
		return;
	}
	if (i % 5 == 0)
		return;
	*len = i % 5 == 1 ? 0 : 3;
	if (*len) {
		char s[32];
		snprintf(s, sizeof(s), "a%" PRId64, i);
		dk_str(&e[0], s);
		e[1].kind = K_NULL;
		dk_str(&e[2], "");
	}
}

/* ---- values as read ------------------------------------------------------- */

static int dk_is_decimal(const pq_column_spec *s)
{
	return s->logical == PQ_LOGICAL_DECIMAL;
}

/* A pq_value of file column ci into the comparable form. */
static void dk_from_pq(const pq_reader_column *ci, const pq_value *pv, dk_val *v)
{
	v->kind = K_NULL;
	if (!pv->present)
		return;
	const pq_column_spec *s = &ci->spec;
	if (dk_is_decimal(s)) {
		v->kind = K_DEC;
		if (s->physical == PQ_INT32) {
			v->dec = pv->v.i32;
		} else if (s->physical == PQ_INT64) {
			v->dec = pv->v.i64;
		} else {
			v->dec = pv->len ? (int8_t)pv->bytes[0] : 0;
			for (size_t k = 1; k < pv->len; k++)
				v->dec = v->dec * 256 + pv->bytes[k];
		}
		return;
	}
	switch (s->physical) {
	case PQ_BOOLEAN:
		v->kind = K_BOOL;
		v->i = pv->v.b;
		break;
	case PQ_INT32:
		dk_int(v, pv->v.i32);
		break;
	case PQ_INT64:
		dk_int(v, pv->v.i64);
		break;
	case PQ_FLOAT:
		dk_flt(v, pv->v.f32);
		break;
	case PQ_DOUBLE:
		dk_flt(v, pv->v.f64);
		break;
	default:
		v->kind = K_BYTES;
		v->len = pv->len < sizeof(v->b) ? pv->len : sizeof(v->b);
		memcpy(v->b, pv->bytes, v->len);
		break;
	}
}

/* Cell i of batch column bc (of floe type col, or a list's element view). */
static void dk_from_batch(const batch_col *bc, const floe_column *col, size_t i, dk_val *v)
{
	v->kind = K_NULL;
	if (!bc->valid.data[i])
		return;
	const uint8_t *p = bc->values.data + i * (size_t)bc->width;
	if (col->type == FT_DECIMAL) {
		v->kind = K_DEC;
		if (bc->kind == BC_I32) {
			int32_t x;
			memcpy(&x, p, 4);
			v->dec = x;
		} else if (bc->kind == BC_I64) {
			int64_t x;
			memcpy(&x, p, 8);
			v->dec = x;
		} else {
			v->dec = (int8_t)p[0];
			for (int k = 1; k < bc->width; k++)
				v->dec = v->dec * 256 + p[k];
		}
		return;
	}
	switch (bc->kind) {
	case BC_BOOL:
		v->kind = K_BOOL;
		v->i = p[0];
		break;
	case BC_I32: {
		int32_t x;
		memcpy(&x, p, 4);
		dk_int(v, x);
		break;
	}
	case BC_I64: {
		int64_t x;
		memcpy(&x, p, 8);
		dk_int(v, x);
		break;
	}
	case BC_F32: {
		float x;
		memcpy(&x, p, 4);
		dk_flt(v, x);
		break;
	}
	case BC_F64: {
		double x;
		memcpy(&x, p, 8);
		dk_flt(v, x);
		break;
	}
	case BC_FIXED:
		v->kind = K_BYTES;
		v->len = (size_t)bc->width;
		memcpy(v->b, p, v->len);
		break;
	case BC_BYTES: {
		const uint64_t *off = (const uint64_t *)bc->offsets.data;
		v->kind = K_BYTES;
		v->len = (size_t)(off[i + 1] - off[i]);
		if (v->len > sizeof(v->b))
			v->len = sizeof(v->b);
		memcpy(v->b, bc->bytes.data + off[i], v->len);
		break;
	}
	case BC_LIST:
		break;
	}
}

static int dk_equal(const dk_val *x, const dk_val *y)
{
	if (x->kind != y->kind)
		return 0;
	switch (x->kind) {
	case K_NULL:
		return 1;
	case K_INT:
	case K_BOOL:
		return x->i == y->i;
	case K_FLT:
		if (isnan(x->d) || isnan(y->d))
			return isnan(x->d) && isnan(y->d);
		return memcmp(&x->d, &y->d, 8) == 0; /* -0.0 is not +0.0 */
	case K_DEC:
		return x->dec == y->dec;
	case K_BYTES:
		return x->len == y->len && memcmp(x->b, y->b, x->len) == 0;
	}
	return 0;
}

/* ---- one configuration ---------------------------------------------------- */

typedef struct dk_config {
	const char *name;
	const char *options; /* COPY options after FORMAT parquet */
} dk_config;

static int dk_query(duckdb_connection con, const char *sql)
{
	duckdb_result res;
	if (duckdb_query(con, sql, &res) == DuckDBError) {
		fprintf(stderr, "duckdb: %s\n%s\n", duckdb_result_error(&res), sql);
		duckdb_destroy_result(&res);
		return -1;
	}
	duckdb_destroy_result(&res);
	return 0;
}

/* The table dk, made once (the decimal arithmetic is DuckDB's slow part). */
static int dk_table(duckdb_connection con)
{
	static char sql[16384];
	size_t n = (size_t)snprintf(sql, sizeof(sql), "CREATE TABLE dk AS SELECT ");
	for (int c = 0; c < DK_NCOLS; c++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s%s AS %s", c ? ", " : "",
		                      dk_cols[c].sql, dk_cols[c].name);
	snprintf(sql + n, sizeof(sql) - n, " FROM range(%d) t(i) ORDER BY i", DK_ROWS);
	return dk_query(con, sql);
}

static int dk_write(duckdb_connection con, const char *path, const dk_config *cf)
{
	static char sql[16384];
	size_t n = (size_t)snprintf(
	    sql, sizeof(sql), "COPY (SELECT * FROM dk) TO '%s' (FORMAT parquet, %s, FIELD_IDS {",
	    path, cf->options);
	for (int c = 0; c < DK_NCOLS; c++) {
		const dk_col *d = &dk_cols[c];
		if (d->list)
			n += (size_t)snprintf(sql + n, sizeof(sql) - n,
			                      "%s%s: {__duckdb_field_id: %d, element: %d}",
			                      c ? ", " : "", d->name, d->field_id - 1, d->field_id);
		else
			n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s%s: %d", c ? ", " : "",
			                      d->name, d->field_id);
	}
	snprintf(sql + n, sizeof(sql) - n, "})");
	return dk_query(con, sql);
}

/* Reads every cell of row i through the reader and compares. */
static void dk_check_row(dk_ctx *t, pq_reader *r, const int *fcol, int64_t i)
{
	char err[ERR_LEN];
	static dk_val want, got, elems[8];
	for (int c = 0; c < DK_NCOLS; c++) {
		const pq_reader_column *ci = pq_reader_column_info(r, fcol[c]);
		pq_value pv;
		if (!dk_cols[c].list) {
			dk_expect(c, i, &want);
			int rc = pq_reader_value(r, fcol[c], i, &pv, err);
			dk_check(t, rc == 0, "%s row %" PRId64 ": %s", dk_cols[c].name, i, err);
			if (rc)
				continue;
			dk_from_pq(ci, &pv, &got);
			dk_check(t, dk_equal(&want, &got), "%s row %" PRId64 ": value differs",
			         dk_cols[c].name, i);
			continue;
		}
		int64_t wlen, glen;
		dk_expect_list(c, i, &wlen, elems);
		int rc = pq_reader_list(r, fcol[c], i, &glen, err);
		dk_check(t, rc == 0 && glen == wlen,
		         "%s row %" PRId64 ": %s / %" PRId64 " elements, want %" PRId64,
		         dk_cols[c].name, i, rc ? err : "ok", glen, wlen);
		if (rc || glen != wlen)
			continue;
		for (int64_t k = 0; k < glen; k++) {
			rc = pq_reader_elem(r, fcol[c], &pv, err);
			dk_check(t, rc == 0, "%s row %" PRId64 " element %" PRId64 ": %s",
			         dk_cols[c].name, i, k, err);
			if (rc)
				break;
			dk_from_pq(ci, &pv, &got);
			dk_check(t, dk_equal(&elems[k], &got),
			         "%s row %" PRId64 " element %" PRId64 ": value differs",
			         dk_cols[c].name, i, k);
		}
	}
}

/* The floe schema over the file (promoted = 1: with the promotions). */
static int dk_schema(floe_schema *s, int promoted)
{
	char err[ERR_LEN];
	s->ncols = DK_NCOLS;
	s->cols = calloc(DK_NCOLS, sizeof(*s->cols));
	if (!s->cols)
		return -1;
	for (int c = 0; c < DK_NCOLS; c++) {
		const dk_col *d = &dk_cols[c];
		floe_column *col = &s->cols[c];
		const char *type = promoted && d->promoted ? d->promoted : d->type;
		if (coltype_parse(type, col, err)) {
			fprintf(stderr, "%s: %s\n", type, err);
			return -1;
		}
		col->name = strdup(d->name);
		col->nullable = 1;
		if (d->list) {
			col->field_id = d->field_id - 1;
			col->elem_field_id = d->field_id;
		} else {
			col->field_id = d->field_id;
		}
	}
	return 0;
}

/* All rows through rowfetch, compared with the expectations. */
static void dk_check_rowfetch(dk_ctx *t, pq_reader *r, int promoted)
{
	floe_schema s = {0};
	batch b;
	char err[ERR_LEN];
	static dk_val want, got, elems[8];
	if (dk_schema(&s, promoted) || batch_init(&b, &s)) {
		dk_check(t, 0, "schema or batch");
		floe_schema_clear(&s);
		return;
	}
	int64_t *rows = malloc(DK_ROWS * sizeof(*rows));
	for (int64_t i = 0; i < DK_ROWS; i++)
		rows[i] = i;
	int rc = rowfetch_append_rows(r, rows, DK_ROWS, &s, &b, err);
	dk_check(t, rc == 0 && b.nrows == DK_ROWS, "rowfetch (promoted %d): %s", promoted,
	         rc ? err : "wrong row count");
	for (size_t i = 0; rc == 0 && i < b.nrows; i++) {
		for (int c = 0; c < DK_NCOLS; c++) {
			const batch_col *bc = &b.cols[c];
			const floe_column *col = &s.cols[c];
			if (!dk_cols[c].list) {
				dk_expect(c, (int64_t)i, &want);
				if (want.kind == K_FLT && col->type == FT_FLOAT64 &&
				    dk_cols[c].promoted)
					want.d = (double)(float)want.d;
				dk_from_batch(bc, col, i, &got);
				dk_check(t, dk_equal(&want, &got),
				         "rowfetch %s row %zu: value differs", col->name, i);
				continue;
			}
			int64_t wlen;
			dk_expect_list(c, (int64_t)i, &wlen, elems);
			const uint64_t *lo = (const uint64_t *)bc->offsets.data;
			int64_t glen = bc->valid.data[i] ? (int64_t)(lo[i + 1] - lo[i]) : -1;
			dk_check(t, glen == wlen, "rowfetch %s row %zu: %" PRId64 " elements",
			         col->name, i, glen);
			floe_column ev;
			coltype_element(col, &ev);
			for (int64_t k = 0; glen == wlen && k < glen; k++) {
				dk_from_batch(bc->elem, &ev, (size_t)(lo[i] + (uint64_t)k), &got);
				dk_check(t, dk_equal(&elems[k], &got),
				         "rowfetch %s row %zu element %" PRId64 ": value differs",
				         col->name, i, k);
			}
		}
	}
	free(rows);
	batch_clear(&b);
	floe_schema_clear(&s);
}

static void dk_run(dk_ctx *t, duckdb_connection con, const char *dir, const dk_config *cf)
{
	char path[512], err[ERR_LEN];
	snprintf(path, sizeof(path), "%s/pq_read_check_%s.parquet", dir, cf->name);
	t->cfg = cf->name;
	if (dk_write(con, path, cf)) {
		dk_check(t, 0, "DuckDB could not write the file");
		return;
	}
	pq_reader *r;
	int rc = pq_reader_open(path, &r, err);
	dk_check(t, rc == 0, "open: %s", err);
	if (rc)
		return;
	int fcol[DK_NCOLS];
	dk_check(t, pq_reader_num_rows(r) == DK_ROWS, "%" PRId64 " rows", pq_reader_num_rows(r));
	for (int c = 0; c < DK_NCOLS; c++) {
		fcol[c] = pq_reader_find_field(r, dk_cols[c].field_id);
		dk_check(t, fcol[c] >= 0, "no field id %d", dk_cols[c].field_id);
		if (fcol[c] < 0) {
			pq_reader_close(r);
			return;
		}
	}
	for (int64_t i = 0; i < DK_ROWS; i++)
		dk_check_row(t, r, fcol, i);
	uint64_t x = 0x243F6A8885A308D3ull;
	for (int k = 0; k < 300; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		dk_check_row(t, r, fcol, (int64_t)(x % DK_ROWS));
	}
	dk_check_rowfetch(t, r, 0);
	dk_check_rowfetch(t, r, 1);
	pq_reader_close(r);
	if (t->failed == 0)
		unlink(path);
}

static const dk_config dk_configs[] = {
    {"v1_uncompressed", "PARQUET_VERSION V1, COMPRESSION uncompressed"},
    {"v1_snappy", "PARQUET_VERSION V1, COMPRESSION snappy"},
    {"v1_gzip_small_rg", "PARQUET_VERSION V1, COMPRESSION gzip, ROW_GROUP_SIZE 5000"},
    {"v1_zstd", "PARQUET_VERSION V1, COMPRESSION zstd"},
    {"v2_uncompressed", "PARQUET_VERSION V2, COMPRESSION uncompressed"},
    {"v2_snappy_small_rg", "PARQUET_VERSION V2, COMPRESSION snappy, ROW_GROUP_SIZE 3000"},
    {"v2_gzip", "PARQUET_VERSION V2, COMPRESSION gzip"},
    {"v2_zstd", "PARQUET_VERSION V2, COMPRESSION zstd"},
};

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	duckdb_database db;
	duckdb_connection con;
	duckdb_config cfg;
	if (duckdb_create_config(&cfg) == DuckDBError ||
	    duckdb_set_config(cfg, "autoinstall_known_extensions", "false") == DuckDBError ||
	    duckdb_open_ext(NULL, &db, cfg, NULL) == DuckDBError ||
	    duckdb_connect(db, &con) == DuckDBError) {
		fprintf(stderr, "cannot start DuckDB\n");
		return 1;
	}
	duckdb_destroy_config(&cfg);
	if (dk_table(con))
		return 1;
	int passed = 0, failed = 0;
	for (size_t k = 0; k < sizeof(dk_configs) / sizeof(dk_configs[0]); k++) {
		dk_ctx t = {0};
		dk_run(&t, con, dir, &dk_configs[k]);
		printf("%s: %d passed, %d failed\n", dk_configs[k].name, t.passed, t.failed);
		passed += t.passed;
		failed += t.failed;
	}
	printf("total: %d passed, %d failed\n", passed, failed);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	return failed ? 1 : 0;
}
