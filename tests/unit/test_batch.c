/*
 * test_batch — the columnar batch: invariant 1 (one value per row per column,
 * zeroed null slots, nrows + 1 offsets) after appends, nulls, aborts, resets,
 * growth over many rows and batch_append_batch; the Parquet view of a
 * column; and allocation failure, which must leave a well-formed batch that
 * batch_check reports (invariant 5). List columns (int32, string and wide
 * decimal elements; null lists, empty lists, null elements): appends that
 * grow the elements, abort and reset inside a list, batch_append_batch and
 * batch_append_row, the Parquet view, and an element allocation failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "table/batch.h"

/* Let the huge allocation in test_oom fail with NULL under ASan instead of
 * aborting the process. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

enum { C_ID, C_NAME, C_FLAG, C_SCORE, C_F32, C_DEC, C_UUID, C_BIN, NCOLS };

static floe_column cols[NCOLS] = {
    {.name = "id", .type = FT_INT64},
    {.name = "name", .type = FT_STRING, .nullable = 1},
    {.name = "flag", .type = FT_BOOLEAN, .nullable = 1},
    {.name = "score", .type = FT_FLOAT64, .nullable = 1},
    {.name = "f32", .type = FT_FLOAT32, .nullable = 1},
    {.name = "dec", .type = FT_DECIMAL, .precision = 30, .scale = 2, .nullable = 1},
    {.name = "uuid", .type = FT_UUID, .nullable = 1},
    {.name = "bin", .type = FT_BINARY, .nullable = 1},
};
static const floe_schema schema = {.ncols = NCOLS, .cols = cols};

/* Row i of the reference data: every third row has nulls in the nullable
 * columns; the name has i % 7 characters. */
static void append_row(batch *b, size_t i)
{
	batch_row_begin(b);
	batch_set_i64(b, C_ID, (int64_t)i * 1000003);
	if (i % 3 == 2) {
		batch_set_null(b, C_NAME);
		batch_set_null(b, C_FLAG);
		batch_set_null(b, C_SCORE);
		batch_set_null(b, C_F32);
		batch_set_null(b, C_DEC);
		batch_set_null(b, C_UUID);
		batch_set_null(b, C_BIN);
	} else {
		char name[8] = "abcdefg";
		batch_set_bytes(b, C_NAME, name, i % 7);
		batch_set_bool(b, C_FLAG, (int)(i & 1));
		batch_set_f64(b, C_SCORE, (double)i / 4);
		batch_set_f32(b, C_F32, (float)i);
		uint8_t dec[13];
		memset(dec, (int)(i & 0xff), sizeof dec);
		batch_set_fixed(b, C_DEC, dec);
		uint8_t u[16];
		memset(u, 0xa5, sizeof u);
		batch_set_fixed(b, C_UUID, u);
		batch_set_bytes(b, C_BIN, "\0\1\2", i % 4);
	}
	batch_row_commit(b);
}

/* Checks invariant 1 and the content of rows [0, n) against append_row,
 * where row r holds reference row first + r. */
static void check_rows(const batch *b, size_t n, size_t first)
{
	assert_int_equal(b->nrows, n);
	for (int c = 0; c < NCOLS; c++) {
		const batch_col *col = &b->cols[c];
		assert_int_equal(col->valid.len, n);
		if (col->kind == BC_BYTES)
			assert_int_equal(col->offsets.len, (n + 1) * 8);
		else
			assert_int_equal(col->values.len, n * (size_t)col->width);
	}
	for (size_t r = 0; r < n; r++) {
		size_t i = first + r;
		int null = i % 3 == 2;
		pq_column_data d;
		batch_column_data(b, C_ID, &d);
		int64_t id;
		memcpy(&id, (const uint8_t *)d.values + r * 8, 8);
		assert_int_equal(id, (int64_t)i * 1000003);
		assert_int_equal(d.valid[r], 1);
		for (int c = C_NAME; c < NCOLS; c++) {
			batch_column_data(b, c, &d);
			assert_int_equal(d.valid[r], !null);
			const batch_col *col = &b->cols[c];
			if (col->kind == BC_BYTES) {
				assert_null(d.values);
				size_t len = (size_t)(d.offsets[r + 1] - d.offsets[r]);
				assert_int_equal(len, null ? 0 : c == C_NAME ? i % 7 : i % 4);
				if (c == C_NAME)
					assert_memory_equal(d.bytes + d.offsets[r], "abcdefg", len);
				else
					assert_memory_equal(d.bytes + d.offsets[r], "\0\1\2", len);
				continue;
			}
			assert_null(d.offsets);
			const uint8_t *slot = (const uint8_t *)d.values + r * (size_t)col->width;
			if (null) {
				for (int k = 0; k < col->width; k++)
					assert_int_equal(slot[k], 0); /* null slots are zero */
				continue;
			}
			if (c == C_FLAG) {
				assert_int_equal(slot[0], i & 1);
			} else if (c == C_SCORE) {
				double v;
				memcpy(&v, slot, 8);
				assert_true(v == (double)i / 4);
			} else if (c == C_F32) {
				float v;
				memcpy(&v, slot, 4);
				assert_true(v == (float)i);
			} else {
				int want = c == C_DEC ? (int)(i & 0xff) : 0xa5;
				for (int k = 0; k < col->width; k++)
					assert_int_equal(slot[k], want);
			}
		}
	}
}

static void test_init_shapes(void **state)
{
	(void)state;
	batch b;
	assert_int_equal(batch_init(&b, &schema), 0);
	assert_int_equal(b.ncols, NCOLS);
	assert_int_equal(b.nrows, 0);
	assert_true(b.cap_rows > 0);
	assert_int_equal(b.cols[C_ID].kind, BC_I64);
	assert_int_equal(b.cols[C_NAME].kind, BC_BYTES);
	assert_int_equal(b.cols[C_FLAG].width, 1);
	assert_int_equal(b.cols[C_DEC].kind, BC_FIXED);
	assert_int_equal(b.cols[C_DEC].width, 13);
	assert_int_equal(b.cols[C_UUID].width, 16);
	assert_int_equal(batch_mem_bytes(&b), 2 * 8); /* the two offsets[0] */
	/* An empty batch still hands out non-NULL pointers. */
	pq_column_data d;
	batch_column_data(&b, C_NAME, &d);
	assert_non_null(d.bytes);
	assert_non_null(d.offsets);
	assert_int_equal(d.offsets[0], 0);
	batch_column_data(&b, C_ID, &d);
	assert_non_null(d.values);
	assert_non_null(d.valid);
	assert_int_equal(batch_check(&b), 0);
	batch_clear(&b);
	batch_clear(&b); /* a cleared batch can be cleared again */
	batch_clear(NULL);
	floe_schema none = {0};
	assert_int_equal(batch_init(&b, &none), 0);
	batch_row_begin(&b);
	batch_row_commit(&b);
	assert_int_equal(b.nrows, 1);
	batch_clear(&b);
}

static void test_append_grow_reset(void **state)
{
	(void)state;
	batch b;
	assert_int_equal(batch_init(&b, &schema), 0);
	for (size_t i = 0; i < 100000; i++)
		append_row(&b, i);
	assert_int_equal(batch_check(&b), 0);
	assert_true(b.cap_rows > b.nrows);
	check_rows(&b, 100000, 0);
	size_t mem = batch_mem_bytes(&b);
	size_t want = 0;
	for (int c = 0; c < NCOLS; c++)
		want += b.cols[c].valid.len + b.cols[c].values.len + b.cols[c].offsets.len +
		        b.cols[c].bytes.len;
	assert_int_equal(mem, want);
	assert_true(mem > 100000 * (8 + 8 + 4 + 13 + 16));

	/* Reset keeps the memory: appending again does not move buffers. */
	size_t cap = b.cap_rows;
	const uint8_t *ids = b.cols[C_ID].values.data, *names = b.cols[C_NAME].bytes.data;
	batch_reset(&b);
	assert_int_equal(b.nrows, 0);
	assert_int_equal(batch_mem_bytes(&b), 2 * 8);
	assert_int_equal(b.cap_rows, cap);
	for (size_t i = 0; i < 1000; i++)
		append_row(&b, i + 5);
	assert_ptr_equal(b.cols[C_ID].values.data, ids);
	assert_ptr_equal(b.cols[C_NAME].bytes.data, names);
	check_rows(&b, 1000, 5);
	batch_clear(&b);
}

static void test_abort(void **state)
{
	(void)state;
	batch b;
	assert_int_equal(batch_init(&b, &schema), 0);
	for (size_t i = 0; i < 20; i++)
		append_row(&b, i);
	/* A half row, including bytes values, disappears without a trace. */
	batch_row_begin(&b);
	batch_set_i64(&b, C_ID, 42);
	batch_set_bytes(&b, C_NAME, "a long name that is not kept", 28);
	batch_set_null(&b, C_FLAG);
	batch_set_bytes(&b, C_BIN, "zz", 2);
	batch_row_abort(&b);
	check_rows(&b, 20, 0);
	append_row(&b, 20);
	check_rows(&b, 21, 0);
	/* Aborting a row that set nothing is a no-op too. */
	batch_row_begin(&b);
	batch_row_abort(&b);
	check_rows(&b, 21, 0);
	/* Reset in the middle of a row drops it with the rest. */
	batch_row_begin(&b);
	batch_set_bytes(&b, C_NAME, "x", 1);
	batch_reset(&b);
	assert_int_equal(b.nrows, 0);
	append_row(&b, 0);
	check_rows(&b, 1, 0);
	batch_clear(&b);
}

static void test_append_batch(void **state)
{
	(void)state;
	batch a, b;
	assert_int_equal(batch_init(&a, &schema), 0);
	assert_int_equal(batch_init(&b, &schema), 0);
	for (size_t i = 0; i < 37; i++)
		append_row(&a, i);
	for (size_t i = 37; i < 1037; i++)
		append_row(&b, i);
	assert_int_equal(batch_append_batch(&a, &b), 0);
	check_rows(&a, 1037, 0);  /* offsets of the second part are rebased */
	check_rows(&b, 1000, 37); /* the source is untouched */
	batch_reset(&b);
	assert_int_equal(batch_append_batch(&a, &b), 0); /* empty source */
	check_rows(&a, 1037, 0);
	/* Appending into an empty batch and appending a batch to itself's copy. */
	assert_int_equal(batch_append_batch(&b, &a), 0);
	check_rows(&b, 1037, 0);
	append_row(&b, 1037);
	check_rows(&b, 1038, 0);
	batch_clear(&a);
	batch_clear(&b);
}

static void test_reserve(void **state)
{
	(void)state;
	batch b;
	assert_int_equal(batch_init(&b, &schema), 0);
	assert_int_equal(batch_reserve(&b, 5000), 0);
	assert_true(b.cap_rows > 5000);
	const uint8_t *ids = b.cols[C_ID].values.data;
	for (size_t i = 0; i < 5000; i++)
		append_row(&b, i);
	assert_ptr_equal(b.cols[C_ID].values.data, ids); /* no growth needed */
	check_rows(&b, 5000, 0);
	assert_int_equal(batch_reserve(&b, 0), 0);
	assert_int_equal(batch_reserve(&b, SIZE_MAX), FLOE_ENOMEM);
	assert_int_equal(batch_reserve(&b, SIZE_MAX / 8), FLOE_ENOMEM);
	check_rows(&b, 5000, 0); /* a failed reserve changes nothing */
	assert_int_equal(batch_check(&b), 0);
	batch_clear(&b);
}

static void test_oom(void **state)
{
	(void)state;
	batch b, other;
	assert_int_equal(batch_init(&b, &schema), 0);
	assert_int_equal(batch_init(&other, &schema), 0);
	for (size_t i = 0; i < 10; i++)
		append_row(&b, i);
	/* A value too large to allocate: the row is dropped at commit, the
	 * batch keeps its shape and reports the failure. */
	batch_row_begin(&b);
	batch_set_i64(&b, C_ID, 1);
	volatile size_t huge = (size_t)1 << 60; /* not a constant: no bounds warning */
	batch_set_bytes(&b, C_NAME, "x", huge);
	for (int c = C_FLAG; c < NCOLS; c++)
		batch_set_null(&b, c);
	batch_row_commit(&b);
	assert_int_equal(batch_check(&b), FLOE_ENOMEM);
	check_rows(&b, 10, 0);
	/* Later rows are dropped too (the batch is to be thrown away). */
	append_row(&b, 10);
	check_rows(&b, 10, 0);
	assert_int_equal(batch_check(&b), FLOE_ENOMEM);
	/* An oom batch is not appended anywhere. */
	assert_int_equal(batch_append_batch(&other, &b), FLOE_ENOMEM);
	assert_int_equal(other.nrows, 0);
	/* Reset makes it usable again. */
	batch_reset(&b);
	assert_int_equal(batch_check(&b), 0);
	for (size_t i = 0; i < 100; i++)
		append_row(&b, i);
	check_rows(&b, 100, 0);
	batch_clear(&b);
	batch_clear(&other);
}

/* ---- list columns ------------------------------------------------------ */

enum { L_ID, L_INTS, L_STRS, L_DECS, NLCOLS };

static floe_column lcols[NLCOLS] = {
    {.name = "id", .type = FT_INT64},
    {.name = "ints", .type = FT_LIST, .elem_type = FT_INT32, .nullable = 1},
    {.name = "strs", .type = FT_LIST, .elem_type = FT_STRING, .nullable = 1},
    {.name = "decs",
     .type = FT_LIST,
     .elem_type = FT_DECIMAL,
     .elem_precision = 30,
     .elem_scale = 2,
     .nullable = 1},
};
static const floe_schema lschema = {.ncols = NLCOLS, .cols = lcols};

/* The reference lists of row i: -1 = a null list, else the element count.
 * Element k is null when (i + k) % 3 == 1. */
static int lst_len(int col, size_t i)
{
	switch (col) {
	case L_INTS:
		return i % 5 == 1 ? -1 : i % 5 == 2 ? 0 : (int)(i % 7) + (i % 50 == 0 ? 3000 : 0);
	case L_STRS:
		return i % 4 == 3 ? -1 : (int)(i % 3);
	default:
		return i % 6 == 0 ? -1 : (int)(i % 2);
	}
}

static int lst_elem_null(size_t i, int k)
{
	return (i + (size_t)k) % 3 == 1;
}

static const char lst_text[] = "list element text";

static void append_list_row(batch *b, size_t i)
{
	batch_row_begin(b);
	batch_set_i64(b, L_ID, (int64_t)i);
	for (int c = L_INTS; c < NLCOLS; c++) {
		int n = lst_len(c, i);
		if (n < 0) {
			batch_set_null(b, c);
			continue;
		}
		batch_list_begin(b, c);
		for (int k = 0; k < n; k++) {
			if (lst_elem_null(i, k))
				batch_list_elem_null(b, c);
			else if (c == L_INTS)
				batch_list_elem_fixed(b, c, &(int32_t){(int32_t)(i * 10) + k});
			else if (c == L_STRS)
				batch_list_elem_bytes(b, c, lst_text, (i + (size_t)k) % 17);
			else
				batch_list_elem_decimal(b, c, -(__int128)i * 100 - k);
		}
		batch_list_end(b, c);
	}
	batch_row_commit(b);
}

/* Checks rows [0, n) of b through the Parquet view, row r holding reference
 * row first + r; and batch.h invariant 1 for the lists and elements. */
static void check_list_rows(const batch *b, size_t n, size_t first)
{
	assert_int_equal(b->nrows, n);
	for (int c = L_INTS; c < NLCOLS; c++) {
		pq_column_data d;
		batch_column_data(b, c, &d);
		const batch_col *e = b->cols[c].elem;
		assert_int_equal(b->cols[c].valid.len, n);
		assert_int_equal(b->cols[c].offsets.len, (n + 1) * 8);
		assert_int_equal(d.list_offsets[0], 0);
		assert_int_equal(e->valid.len, d.list_offsets[n]);
		if (e->kind == BC_BYTES)
			assert_int_equal(e->offsets.len, (d.list_offsets[n] + 1) * 8);
		else
			assert_int_equal(e->values.len, d.list_offsets[n] * (uint64_t)e->width);
		for (size_t r = 0; r < n; r++) {
			size_t i = first + r;
			int len = lst_len(c, i);
			assert_int_equal(d.valid[r], len >= 0);
			assert_int_equal(d.list_offsets[r + 1] - d.list_offsets[r],
			                 len < 0 ? 0 : len);
			for (int k = 0; k < len; k++) {
				size_t x = (size_t)d.list_offsets[r] + (size_t)k;
				int null = lst_elem_null(i, k);
				assert_int_equal(d.elem_valid[x], !null);
				if (c == L_STRS) {
					size_t l = (size_t)(d.offsets[x + 1] - d.offsets[x]);
					assert_int_equal(l, null ? 0 : (i + (size_t)k) % 17);
					assert_memory_equal(d.bytes + d.offsets[x], lst_text, l);
				} else if (c == L_INTS) {
					int32_t v;
					memcpy(&v, (const uint8_t *)d.values + 4 * x, 4);
					assert_int_equal(v, null ? 0 : (int32_t)(i * 10) + k);
				} else {
					uint8_t want[13] = {0};
					if (!null)
						value_decimal_to_be(-(__int128)i * 100 - k, want,
						                    13);
					assert_memory_equal((const uint8_t *)d.values + 13 * x,
					                    want, 13);
				}
			}
		}
	}
}

static void test_list_append_grow_reset(void **state)
{
	(void)state;
	batch b;
	assert_int_equal(batch_init(&b, &lschema), 0);
	assert_int_equal(b.cols[L_INTS].kind, BC_LIST);
	assert_int_equal(b.cols[L_INTS].elem->kind, BC_I32);
	assert_int_equal(b.cols[L_STRS].elem->kind, BC_BYTES);
	assert_int_equal(b.cols[L_DECS].elem->width, 13);
	/* list offsets[0] and the string elements' offsets[0] */
	assert_int_equal(batch_mem_bytes(&b), 3 * 8 + 8);
	pq_column_data d;
	batch_column_data(&b, L_DECS, &d); /* an empty list column has pointers */
	assert_non_null(d.list_offsets);
	assert_non_null(d.elem_valid);
	assert_non_null(d.values);
	for (size_t i = 0; i < 20000; i++)
		append_list_row(&b, i);
	assert_int_equal(batch_check(&b), 0);
	check_list_rows(&b, 20000, 0);
	size_t want = 0;
	for (int c = 0; c < NLCOLS; c++) {
		const batch_col *col = &b.cols[c];
		want += col->valid.len + col->values.len + col->offsets.len;
		if (col->elem)
			want += col->elem->valid.len + col->elem->values.len +
			        col->elem->offsets.len + col->elem->bytes.len;
	}
	assert_int_equal(batch_mem_bytes(&b), want);
	batch_reset(&b);
	assert_int_equal(batch_mem_bytes(&b), 3 * 8 + 8);
	for (size_t i = 0; i < 100; i++)
		append_list_row(&b, i + 7);
	check_list_rows(&b, 100, 7);
	batch_clear(&b);
}

static void test_list_abort(void **state)
{
	(void)state;
	batch b;
	assert_int_equal(batch_init(&b, &lschema), 0);
	for (size_t i = 0; i < 10; i++)
		append_list_row(&b, i);
	/* A row that stops inside a list: its elements go with it. */
	batch_row_begin(&b);
	batch_set_i64(&b, L_ID, 99);
	batch_list_begin(&b, L_INTS);
	batch_list_elem_fixed(&b, L_INTS, &(int32_t){5});
	batch_list_elem_null(&b, L_INTS);
	batch_list_end(&b, L_INTS);
	batch_list_begin(&b, L_STRS);
	batch_list_elem_bytes(&b, L_STRS, "gone", 4);
	batch_row_abort(&b);
	check_list_rows(&b, 10, 0);
	append_list_row(&b, 10);
	check_list_rows(&b, 11, 0);
	/* Reset inside a list drops everything. */
	batch_row_begin(&b);
	batch_list_begin(&b, L_DECS);
	batch_list_elem_decimal(&b, L_DECS, 1);
	batch_reset(&b);
	append_list_row(&b, 0);
	check_list_rows(&b, 1, 0);
	batch_clear(&b);
}

static void test_list_append_batch_and_row(void **state)
{
	(void)state;
	batch a, b, c;
	assert_int_equal(batch_init(&a, &lschema), 0);
	assert_int_equal(batch_init(&b, &lschema), 0);
	assert_int_equal(batch_init(&c, &lschema), 0);
	for (size_t i = 0; i < 33; i++)
		append_list_row(&a, i);
	for (size_t i = 33; i < 2033; i++)
		append_list_row(&b, i);
	assert_int_equal(batch_append_batch(&a, &b), 0);
	check_list_rows(&a, 2033, 0); /* list and element offsets rebased */
	check_list_rows(&b, 2000, 33);
	assert_int_equal(batch_append_batch(&c, &a), 0);
	check_list_rows(&c, 2033, 0);
	/* Row by row, as a flush copies the live rows of a batch. */
	batch_reset(&c);
	for (size_t r = 0; r < a.nrows; r++)
		assert_int_equal(batch_append_row(&c, &a, r), 0);
	check_list_rows(&c, 2033, 0);
	batch_clear(&a);
	batch_clear(&b);
	batch_clear(&c);
}

static void test_list_oom(void **state)
{
	(void)state;
	batch b;
	assert_int_equal(batch_init(&b, &lschema), 0);
	for (size_t i = 0; i < 5; i++)
		append_list_row(&b, i);
	batch_row_begin(&b);
	batch_set_i64(&b, L_ID, 1);
	batch_set_null(&b, L_INTS);
	batch_list_begin(&b, L_STRS);
	batch_list_elem_bytes(&b, L_STRS, "ok", 2);
	volatile size_t huge = (size_t)1 << 60;
	batch_list_elem_bytes(&b, L_STRS, "x", huge); /* dropped; the batch is oom */
	batch_list_elem_null(&b, L_STRS);
	batch_list_end(&b, L_STRS);
	batch_set_null(&b, L_DECS);
	batch_row_commit(&b);
	assert_int_equal(batch_check(&b), FLOE_ENOMEM);
	check_list_rows(&b, 5, 0);
	batch_reset(&b);
	for (size_t i = 0; i < 50; i++)
		append_list_row(&b, i);
	check_list_rows(&b, 50, 0);
	batch_clear(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_init_shapes),
	    cmocka_unit_test(test_append_grow_reset),
	    cmocka_unit_test(test_abort),
	    cmocka_unit_test(test_append_batch),
	    cmocka_unit_test(test_reserve),
	    cmocka_unit_test(test_oom),
	    cmocka_unit_test(test_list_append_grow_reset),
	    cmocka_unit_test(test_list_abort),
	    cmocka_unit_test(test_list_append_batch_and_row),
	    cmocka_unit_test(test_list_oom),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
