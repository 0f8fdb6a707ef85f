/*
 * test_rowfetch — rows of a Parquet data file back into batches
 * (src/table/rowfetch.c), the way the table's UPDATE path uses it.
 *
 * A batch of every floe type (lists of int32, string and decimal included,
 * with nulls everywhere they may be) is written as flush.c writes it
 * (coltype_to_parquet + batch_column_data, with the _row_id columns floe
 * adds), in small pages and several row groups. Then:
 *   - through the same schema, single rows in random order and sorted bulk
 *     lookups with repeats come back byte-identical to the rows written;
 *   - through an evolved schema (columns reordered, int -> long, float ->
 *     double, decimal(9,2) -> decimal(20,2), decimal(18,3) -> decimal(38,3),
 *     list<int> -> list<long>, list<decimal(9,2)> -> list<decimal(25,2)>,
 *     a dropped column, added columns and an added list) each row equals one
 *     converted independently here, added columns NULL;
 *   - types that Iceberg cannot promote (string over int, narrower decimal,
 *     another scale, a list over a scalar, long -> int) are FLOE_EINVAL
 *     naming the column, and leave the batch untouched; so does a row
 *     outside the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/parquet.h"
#include "format/parquet_read.h"
#include "table/batch.h"
#include "table/coltype.h"
#include "table/rowfetch.h"

enum { N = 3000 };

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The file's schema (field ids in comments are what matters). */
enum {
	A_ID,
	A_I,
	A_F,
	A_D9,
	A_D18,
	A_D38,
	A_S,
	A_B,
	A_U,
	A_DT,
	A_TS,
	A_TZ,
	A_TM,
	A_SM,
	A_BO,
	A_L,
	A_LS,
	A_LD,
	A_GONE,
	NA
};

static floe_column acols[NA] = {
    [A_ID] = {.name = "id", .type = FT_INT64, .field_id = 1},
    [A_I] = {.name = "i", .type = FT_INT32, .nullable = 1, .field_id = 2},
    [A_F] = {.name = "f", .type = FT_FLOAT32, .nullable = 1, .field_id = 3},
    [A_D9] = {.name = "d9",
              .type = FT_DECIMAL,
              .precision = 9,
              .scale = 2,
              .nullable = 1,
              .field_id = 4},
    [A_D18] = {.name = "d18",
               .type = FT_DECIMAL,
               .precision = 18,
               .scale = 3,
               .nullable = 1,
               .field_id = 5},
    [A_D38] = {.name = "d38",
               .type = FT_DECIMAL,
               .precision = 38,
               .scale = 10,
               .nullable = 1,
               .field_id = 6},
    [A_S] = {.name = "s", .type = FT_STRING, .nullable = 1, .field_id = 7},
    [A_B] = {.name = "b", .type = FT_BINARY, .nullable = 1, .field_id = 8},
    [A_U] = {.name = "u", .type = FT_UUID, .nullable = 1, .field_id = 9},
    [A_DT] = {.name = "dt", .type = FT_DATE32, .nullable = 1, .field_id = 10},
    [A_TS] = {.name = "ts", .type = FT_TIMESTAMP, .nullable = 1, .field_id = 11},
    [A_TZ] = {.name = "tz", .type = FT_TIMESTAMPTZ, .nullable = 1, .field_id = 12},
    [A_TM] = {.name = "tm", .type = FT_TIME, .nullable = 1, .field_id = 13},
    [A_SM] = {.name = "sm", .type = FT_INT16, .nullable = 1, .field_id = 14},
    [A_BO] = {.name = "bo", .type = FT_BOOLEAN, .nullable = 1, .field_id = 15},
    [A_L] = {.name = "l",
             .type = FT_LIST,
             .elem_type = FT_INT32,
             .nullable = 1,
             .field_id = 16,
             .elem_field_id = 40},
    [A_LS] = {.name = "ls",
              .type = FT_LIST,
              .elem_type = FT_STRING,
              .field_id = 17,
              .elem_field_id = 41},
    [A_LD] = {.name = "ld",
              .type = FT_LIST,
              .elem_type = FT_DECIMAL,
              .elem_precision = 9,
              .elem_scale = 2,
              .nullable = 1,
              .field_id = 18,
              .elem_field_id = 42},
    [A_GONE] = {.name = "gone", .type = FT_STRING, .nullable = 1, .field_id = 19},
};
static const floe_schema aschema = {.ncols = NA, .cols = acols};

/* The evolved schema: reordered, promoted, one column dropped, three added. */
static floe_column bcols[] = {
    {.name = "added", .type = FT_INT32, .nullable = 1, .field_id = 50},
    {.name = "ld",
     .type = FT_LIST,
     .elem_type = FT_DECIMAL,
     .elem_precision = 25,
     .elem_scale = 2,
     .nullable = 1,
     .field_id = 18,
     .elem_field_id = 42},
    {.name = "l",
     .type = FT_LIST,
     .elem_type = FT_INT64,
     .nullable = 1,
     .field_id = 16,
     .elem_field_id = 40},
    {.name = "id", .type = FT_INT64, .field_id = 1},
    {.name = "i", .type = FT_INT64, .nullable = 1, .field_id = 2},
    {.name = "f", .type = FT_FLOAT64, .nullable = 1, .field_id = 3},
    {.name = "d9", .type = FT_DECIMAL, .precision = 20, .scale = 2, .nullable = 1, .field_id = 4},
    {.name = "d18", .type = FT_DECIMAL, .precision = 38, .scale = 3, .nullable = 1, .field_id = 5},
    {.name = "d38", .type = FT_DECIMAL, .precision = 38, .scale = 10, .nullable = 1, .field_id = 6},
    {.name = "renamed_s", .type = FT_STRING, .nullable = 1, .field_id = 7},
    {.name = "b", .type = FT_BINARY, .nullable = 1, .field_id = 8},
    {.name = "u", .type = FT_UUID, .nullable = 1, .field_id = 9},
    {.name = "dt", .type = FT_DATE32, .nullable = 1, .field_id = 10},
    {.name = "ts", .type = FT_TIMESTAMP, .nullable = 1, .field_id = 11},
    {.name = "tz", .type = FT_TIMESTAMPTZ, .nullable = 1, .field_id = 12},
    {.name = "tm", .type = FT_TIME, .nullable = 1, .field_id = 13},
    {.name = "sm", .type = FT_INT16, .nullable = 1, .field_id = 14},
    {.name = "bo", .type = FT_BOOLEAN, .nullable = 1, .field_id = 15},
    {.name = "ls", .type = FT_LIST, .elem_type = FT_STRING, .field_id = 17, .elem_field_id = 41},
    {.name = "added_list",
     .type = FT_LIST,
     .elem_type = FT_STRING,
     .nullable = 1,
     .field_id = 51,
     .elem_field_id = 52},
    {.name = "added_uuid", .type = FT_UUID, .nullable = 1, .field_id = 53},
};
static const floe_schema bschema = {.ncols = (int)(sizeof bcols / sizeof bcols[0]), .cols = bcols};

static __int128 pow10_128(int n)
{
	__int128 v = 1;
	while (n--)
		v *= 10;
	return v;
}

/* A random unscaled decimal of precision p (extremes often). */
static __int128 rnd_decimal(int p)
{
	__int128 lim = pow10_128(p) - 1;
	uint64_t x = rnd();
	if (x % 8 == 0)
		return lim;
	if (x % 8 == 1)
		return -lim;
	__int128 v = ((__int128)(rnd() >> 1) << 64 | rnd()) % (lim + 1);
	return x % 2 ? -v : v;
}

/* A value of type t (a scalar column or a list's element view) into column
 * col of the row in progress, or into its list when elem. */
static void put_random(batch *b, int col, const floe_column *t, int elem)
{
	uint64_t x = rnd();
	uint8_t slot[16];
	char text[64];
	size_t len = 0;
	int bytes = 0;
	switch (t->type) {
	case FT_INT64:
	case FT_TIMESTAMP:
	case FT_TIMESTAMPTZ: {
		int64_t v = x % 11 == 0 ? INT64_MIN : x % 11 == 1 ? INT64_MAX : (int64_t)x;
		memcpy(slot, &v, 8);
		break;
	}
	case FT_TIME: {
		int64_t v = (int64_t)(x % 86400000001ull);
		memcpy(slot, &v, 8);
		break;
	}
	case FT_INT32:
	case FT_DATE32: {
		int32_t v = x % 11 == 0 ? INT32_MIN : x % 11 == 1 ? INT32_MAX : (int32_t)x;
		memcpy(slot, &v, 4);
		break;
	}
	case FT_INT16: {
		int32_t v = (int16_t)x;
		memcpy(slot, &v, 4);
		break;
	}
	case FT_FLOAT32: {
		static const uint32_t sp[] = {0x7FC00001, 0xFF800000, 0x7F800000, 0x80000000};
		uint32_t v = x % 5 < 4 ? sp[x % 5] : (uint32_t)(x >> 32);
		memcpy(slot, &v, 4);
		break;
	}
	case FT_BOOLEAN:
		slot[0] = (uint8_t)(x & 1);
		break;
	case FT_DECIMAL: {
		__int128 v = rnd_decimal(t->precision);
		if (elem)
			batch_list_elem_decimal(b, col, v);
		else
			batch_set_decimal(b, col, v);
		return;
	}
	case FT_UUID:
		for (int i = 0; i < 16; i++)
			slot[i] = (uint8_t)rnd();
		break;
	case FT_STRING:
	case FT_BINARY:
		len = (size_t)snprintf(text, sizeof(text), "%llu%s",
		                       (unsigned long long)(x % 100000), x % 3 ? "" : "-é€-\x01");
		if (t->type == FT_BINARY && len)
			text[0] = 0;
		bytes = 1;
		break;
	default:
		fail_msg("type %d", (int)t->type);
	}
	if (bytes && elem)
		batch_list_elem_bytes(b, col, text, len);
	else if (bytes)
		batch_set_bytes(b, col, text, len);
	else if (elem)
		batch_list_elem_fixed(b, col, slot);
	else
		batch_set_fixed(b, col, slot);
}

static void make_rows(batch *b)
{
	rng_state = 5;
	assert_int_equal(batch_init(b, &aschema), 0);
	for (size_t r = 0; r < N; r++) {
		batch_row_begin(b);
		for (int c = 0; c < NA; c++) {
			const floe_column *col = &acols[c];
			if (col->nullable && (rnd() % 5 == 0 || (r >= 1000 && r < 1100))) {
				batch_set_null(b, c);
				continue;
			}
			if (col->type != FT_LIST) {
				put_random(b, c, col, 0);
				continue;
			}
			floe_column e;
			coltype_element(col, &e);
			size_t n = rnd() % 5;
			if (r % 500 == 7)
				n = 300;
			batch_list_begin(b, c);
			for (size_t k = 0; k < n; k++) {
				if (rnd() % 4 == 0)
					batch_list_elem_null(b, c);
				else
					put_random(b, c, &e, 1);
			}
			batch_list_end(b, c);
		}
		batch_row_commit(b);
	}
	assert_int_equal(batch_check(b), 0);
}

static int mem_write(void *ctx, const void *p, size_t n, char *err)
{
	buf *out = ctx;
	buf_append(out, p, n);
	return buf_ok(out) ? 0 : errf(err, FLOE_ENOMEM, "oom");
}

/* As flush.c writes a data file: the schema's columns plus floe's two row
 * lineage columns (field ids no table column has). */
static void write_file(const batch *b, buf *out)
{
	pq_column_spec specs[NA + 2];
	pq_column_data data[NA + 2];
	static int64_t ids[N];
	for (int c = 0; c < NA; c++) {
		coltype_to_parquet(&acols[c], &specs[c]);
		batch_column_data(b, c, &data[c]);
	}
	for (int k = 0; k < 2; k++) {
		memset(&specs[NA + k], 0, sizeof(specs[0]));
		specs[NA + k].name = k ? "_last_updated_sequence_number" : "_row_id";
		specs[NA + k].field_id = 2147483540 - k;
		specs[NA + k].physical = PQ_INT64;
		memset(&data[NA + k], 0, sizeof(data[0]));
		data[NA + k].values = ids;
	}
	for (int i = 0; i < N; i++)
		ids[i] = i;
	pq_options o;
	pq_options_default(&o);
	o.page_bytes = 3000;
	o.row_group_bytes = 150000;
	char err[ERR_LEN];
	pq_writer *w;
	pq_file_result res;
	if (pq_writer_open(specs, NA + 2, NULL, 0, &o, mem_write, out, &w, err) ||
	    pq_writer_write(w, data, N, err) || pq_writer_close(w, &res, err))
		fail_msg("write: %s", err);
	assert_true(res.nrow_groups > 1);
	pq_file_result_free(&res);
}

/* Two batches hold the same bytes, column by column. */
static void col_equal(const batch_col *x, const batch_col *y, const char *name)
{
	if (x->valid.len != y->valid.len || memcmp(x->valid.data, y->valid.data, x->valid.len) ||
	    x->values.len != y->values.len ||
	    (x->values.len && memcmp(x->values.data, y->values.data, x->values.len)) ||
	    x->offsets.len != y->offsets.len ||
	    (x->offsets.len && memcmp(x->offsets.data, y->offsets.data, x->offsets.len)) ||
	    x->bytes.len != y->bytes.len ||
	    (x->bytes.len && memcmp(x->bytes.data, y->bytes.data, x->bytes.len)))
		fail_msg("column %s differs", name);
	if (x->elem || y->elem) {
		assert_true(x->elem && y->elem);
		col_equal(x->elem, y->elem, name);
	}
}

static void batch_equal(const batch *x, const batch *y, const floe_schema *s)
{
	assert_int_equal(x->nrows, y->nrows);
	assert_int_equal(x->ncols, y->ncols);
	for (int c = 0; c < x->ncols; c++)
		col_equal(&x->cols[c], &y->cols[c], s->cols[c].name);
}

/* The rows written (schema A), the file's bytes and a reader over them. */
typedef struct fixture {
	batch a;
	buf file;
	pq_reader *r;
} fixture;

static int fixture_setup(void **state)
{
	char err[ERR_LEN];
	fixture *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	make_rows(&fx->a);
	write_file(&fx->a, &fx->file);
	if (pq_reader_open_mem(fx->file.data, fx->file.len, "data.parquet", &fx->r, err))
		fail_msg("open: %s", err);
	*state = fx;
	return 0;
}

static int fixture_teardown(void **state)
{
	fixture *fx = *state;
	pq_reader_close(fx->r);
	batch_clear(&fx->a);
	buf_release(&fx->file);
	free(fx);
	return 0;
}

static void test_same_schema(void **state)
{
	fixture *fx = *state;
	pq_reader *r = fx->r;
	const batch *a = &fx->a;
	batch got, want;
	char err[ERR_LEN];

	/* random single rows */
	assert_int_equal(batch_init(&got, &aschema), 0);
	assert_int_equal(batch_init(&want, &aschema), 0);
	rng_state = 11;
	for (int i = 0; i < 1500; i++) {
		int64_t row = (int64_t)(rnd() % N);
		if (rowfetch_append_row(r, row, &aschema, &got, err))
			fail_msg("row %lld: %s", (long long)row, err);
		assert_int_equal(batch_append_row(&want, a, (size_t)row), 0);
	}
	batch_equal(&got, &want, &aschema);

	/* sorted bulk lookups, with repeats, then every row */
	batch_reset(&got);
	batch_reset(&want);
	int64_t rows[800];
	for (int i = 0; i < 800; i++)
		rows[i] = i / 2 * 3; /* each twice */
	assert_int_equal(rowfetch_append_rows(r, rows, 800, &aschema, &got, err), 0);
	for (int i = 0; i < 800; i++)
		assert_int_equal(batch_append_row(&want, a, (size_t)rows[i]), 0);
	batch_equal(&got, &want, &aschema);
	batch_reset(&got);
	int64_t *all = malloc(N * sizeof(*all));
	for (int i = 0; i < N; i++)
		all[i] = i;
	assert_int_equal(rowfetch_append_rows(r, all, N, &aschema, &got, err), 0);
	batch_equal(&got, a, &aschema);
	free(all);

	batch_clear(&got);
	batch_clear(&want);
}

/* ---- the evolved schema, converted here independently ------------------- */

static __int128 decimal_at(const batch_col *c, size_t i)
{
	const uint8_t *p = c->values.data + i * (size_t)c->width;
	if (c->kind == BC_I32) {
		int32_t v;
		memcpy(&v, p, 4);
		return v;
	}
	if (c->kind == BC_I64) {
		int64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	__int128 v = (int8_t)p[0];
	for (int k = 1; k < c->width; k++)
		v = v * 256 + p[k];
	return v;
}

/* Value i of source column src (type st) into column col of the row (or its
 * list) as type tt. */
static void put_converted(batch *b, int col, const floe_column *tt, const batch_col *src,
                          const floe_column *st, size_t i, int elem)
{
	if (!src->valid.data[i]) {
		if (elem)
			batch_list_elem_null(b, col);
		else
			batch_set_null(b, col);
		return;
	}
	uint8_t slot[16];
	if (tt->type == FT_DECIMAL) {
		__int128 v = decimal_at(src, i);
		if (elem)
			batch_list_elem_decimal(b, col, v);
		else
			batch_set_decimal(b, col, v);
		return;
	}
	if (src->kind == BC_BYTES) {
		const uint64_t *off = (const uint64_t *)src->offsets.data;
		const uint8_t *p = src->bytes.data + off[i];
		size_t n = (size_t)(off[i + 1] - off[i]);
		if (elem)
			batch_list_elem_bytes(b, col, p, n);
		else
			batch_set_bytes(b, col, p, n);
		return;
	}
	const uint8_t *p = src->values.data + i * (size_t)src->width;
	if (tt->type == FT_INT64 && st->type == FT_INT32) {
		int32_t v;
		memcpy(&v, p, 4);
		int64_t w = v;
		memcpy(slot, &w, 8);
	} else if (tt->type == FT_FLOAT64 && st->type == FT_FLOAT32) {
		float v;
		memcpy(&v, p, 4);
		double w = v;
		memcpy(slot, &w, 8);
	} else {
		memcpy(slot, p, (size_t)src->width);
	}
	if (elem)
		batch_list_elem_fixed(b, col, slot);
	else
		batch_set_fixed(b, col, slot);
}

/* Row r of a (schema A) as schema B expects it. */
static void convert_row(batch *b, const batch *a, size_t r)
{
	batch_row_begin(b);
	for (int c = 0; c < bschema.ncols; c++) {
		const floe_column *tt = &bcols[c];
		int s = -1;
		for (int k = 0; k < NA; k++)
			if (acols[k].field_id == tt->field_id)
				s = k;
		if (s < 0) {
			batch_set_null(b, c);
			continue;
		}
		const batch_col *src = &a->cols[s];
		if (tt->type != FT_LIST) {
			put_converted(b, c, tt, src, &acols[s], r, 0);
			continue;
		}
		if (!src->valid.data[r]) {
			batch_set_null(b, c);
			continue;
		}
		floe_column te, se;
		coltype_element(tt, &te);
		coltype_element(&acols[s], &se);
		const uint64_t *lo = (const uint64_t *)src->offsets.data;
		batch_list_begin(b, c);
		for (uint64_t e = lo[r]; e < lo[r + 1]; e++)
			put_converted(b, c, &te, src->elem, &se, (size_t)e, 1);
		batch_list_end(b, c);
	}
	batch_row_commit(b);
}

static void test_evolved_schema(void **state)
{
	fixture *fx = *state;
	pq_reader *r = fx->r;
	const batch *a = &fx->a;
	batch got, want;
	char err[ERR_LEN];
	assert_int_equal(batch_init(&got, &bschema), 0);
	assert_int_equal(batch_init(&want, &bschema), 0);
	rng_state = 3;
	for (int i = 0; i < 1000; i++) {
		int64_t row = (int64_t)(rnd() % N);
		if (rowfetch_append_row(r, row, &bschema, &got, err))
			fail_msg("row %lld: %s", (long long)row, err);
		convert_row(&want, a, (size_t)row);
	}
	int64_t rows[N / 2];
	for (int i = 0; i < N / 2; i++) {
		rows[i] = 2 * i;
		convert_row(&want, a, (size_t)rows[i]);
	}
	assert_int_equal(rowfetch_append_rows(r, rows, N / 2, &bschema, &got, err), 0);
	assert_int_equal(batch_check(&want), 0);
	batch_equal(&got, &want, &bschema);
	/* the added columns are all null */
	for (size_t i = 0; i < got.nrows; i++) {
		assert_int_equal(got.cols[0].valid.data[i], 0);
		assert_int_equal(got.cols[19].valid.data[i], 0);
		assert_int_equal(got.cols[20].valid.data[i], 0);
	}
	batch_clear(&got);
	batch_clear(&want);
}

/* One column over the file's field `id` with type `t`: the call fails with
 * FLOE_EINVAL naming it, and the batch is untouched. */
static void expect_mismatch(pq_reader *r, floe_column t)
{
	floe_column cols[2] = {{.name = "id", .type = FT_INT64, .field_id = 1}, t};
	floe_schema s = {.ncols = 2, .cols = cols};
	batch b;
	char err[ERR_LEN] = "";
	assert_int_equal(batch_init(&b, &s), 0);
	assert_int_equal(rowfetch_append_row(r, 5, &s, &b, err), FLOE_EINVAL);
	if (!strstr(err, t.name) || !strstr(err, "cannot be read as") ||
	    !strstr(err, "data.parquet"))
		fail_msg("message: %s", err);
	assert_int_equal(b.nrows, 0);
	batch_clear(&b);
}

static void test_mismatches(void **state)
{
	fixture *fx = *state;
	pq_reader *r = fx->r;
	char err[ERR_LEN];
	expect_mismatch(r, (floe_column){.name = "i_as_string", .type = FT_STRING, .field_id = 2});
	expect_mismatch(r, (floe_column){.name = "id_as_int", .type = FT_INT32, .field_id = 1});
	expect_mismatch(r, (floe_column){.name = "narrower",
	                                 .type = FT_DECIMAL,
	                                 .precision = 10,
	                                 .scale = 3,
	                                 .field_id = 5});
	expect_mismatch(r, (floe_column){.name = "rescaled",
	                                 .type = FT_DECIMAL,
	                                 .precision = 20,
	                                 .scale = 3,
	                                 .field_id = 4});
	expect_mismatch(r, (floe_column){.name = "list_elem", .type = FT_INT32, .field_id = 40});
	expect_mismatch(r, (floe_column){.name = "as_list",
	                                 .type = FT_LIST,
	                                 .elem_type = FT_INT64,
	                                 .field_id = 99,
	                                 .elem_field_id = 1});
	expect_mismatch(r, (floe_column){.name = "tz_as_ts", .type = FT_TIMESTAMP, .field_id = 12});
	expect_mismatch(r, (floe_column){.name = "date_as_long", .type = FT_INT64, .field_id = 10});
	expect_mismatch(r, (floe_column){.name = "bin_as_str", .type = FT_STRING, .field_id = 8});
	expect_mismatch(r, (floe_column){.name = "f_as_int", .type = FT_INT32, .field_id = 3});
	/* a row outside the file */
	batch b;
	assert_int_equal(batch_init(&b, &aschema), 0);
	assert_int_equal(rowfetch_append_row(r, 0, &aschema, &b, err), 0);
	assert_int_equal(rowfetch_append_row(r, N, &aschema, &b, err), FLOE_EINVAL);
	assert_int_equal(b.nrows, 1);
	int64_t rows[3] = {1, 2, -1};
	assert_int_equal(rowfetch_append_rows(r, rows, 3, &aschema, &b, err), FLOE_EINVAL);
	assert_int_equal(b.nrows, 3); /* the rows before the bad one stay */
	assert_int_equal(batch_check(&b), 0);
	batch_clear(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_same_schema, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_evolved_schema, fixture_setup, fixture_teardown),
	    cmocka_unit_test_setup_teardown(test_mismatches, fixture_setup, fixture_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
