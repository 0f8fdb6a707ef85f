/*
 * test_batch_codec — the WAL form of a batch (src/table/batch_codec.c):
 * encode / decode round trips for every kind, with and without nulls, and
 * list columns (null lists, empty lists, null elements, fixed, wide decimal
 * and byte elements, a long list); the exact bytes of a small list record;
 * and damaged records (a header that does not match the schema, truncation
 * anywhere, trailing bytes, a null list that claims elements), which must be
 * FLOE_ECORRUPT and never a crash. Runs under ASan+UBSan.
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
#include "table/batch_codec.h"

enum { C_ID, C_NAME, C_DEC, C_INTS, C_STRS, C_DECS, C_BOOLS, NCOLS };

static floe_column cols[NCOLS] = {
    {.name = "id", .type = FT_INT64},
    {.name = "name", .type = FT_STRING, .nullable = 1},
    {.name = "dec", .type = FT_DECIMAL, .precision = 25, .scale = 3, .nullable = 1},
    {.name = "ints", .type = FT_LIST, .elem_type = FT_INT32, .nullable = 1},
    {.name = "strs", .type = FT_LIST, .elem_type = FT_STRING, .nullable = 1},
    {.name = "decs",
     .type = FT_LIST,
     .elem_type = FT_DECIMAL,
     .elem_precision = 38,
     .elem_scale = 9,
     .nullable = 1},
    {.name = "bools", .type = FT_LIST, .elem_type = FT_BOOLEAN},
};
static const floe_schema schema = {.ncols = NCOLS, .cols = cols};

/* Row i: lists of i % 6 elements (row 13: 5000), null when i % 4 == 3 (not
 * the non-nullable bools), element k null when (i + k) % 5 == 2. */
static void append_row(batch *b, size_t i)
{
	batch_row_begin(b);
	batch_set_i64(b, C_ID, (int64_t)i - 7);
	if (i % 4 == 3) {
		batch_set_null(b, C_NAME);
		batch_set_null(b, C_DEC);
	} else {
		batch_set_bytes(b, C_NAME, "name\0with nul", i % 14);
		batch_set_decimal(b, C_DEC, (__int128)i * 1000 + 1);
	}
	for (int c = C_INTS; c < NCOLS; c++) {
		if (i % 4 == 3 && c != C_BOOLS) {
			batch_set_null(b, c);
			continue;
		}
		size_t n = i == 13 ? 5000 : i % 6;
		batch_list_begin(b, c);
		for (size_t k = 0; k < n; k++) {
			if ((i + k) % 5 == 2)
				batch_list_elem_null(b, c);
			else if (c == C_INTS)
				batch_list_elem_fixed(b, c, &(int32_t){(int32_t)(i * k) - 3});
			else if (c == C_STRS)
				batch_list_elem_bytes(b, c, "abcdefghij", (i + k) % 11);
			else if (c == C_DECS)
				batch_list_elem_decimal(b, c, -(__int128)(i + k) * 1000000007);
			else
				batch_list_elem_fixed(b, c, &(uint8_t){(uint8_t)(k & 1)});
		}
		batch_list_end(b, c);
	}
	batch_row_commit(b);
}

/* Whether columns a and b hold the same n values (elements compared too). */
static void assert_col_equal(const batch_col *a, const batch_col *b, size_t n)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->width, b->width);
	assert_int_equal(a->valid.len, n);
	assert_int_equal(b->valid.len, n);
	assert_memory_equal(a->valid.data, b->valid.data, n);
	if (a->kind != BC_BYTES && a->kind != BC_LIST) {
		assert_int_equal(a->values.len, b->values.len);
		if (a->values.len)
			assert_memory_equal(a->values.data, b->values.data, a->values.len);
		return;
	}
	assert_int_equal(a->offsets.len, (n + 1) * 8);
	assert_memory_equal(a->offsets.data, b->offsets.data, a->offsets.len);
	uint64_t end;
	memcpy(&end, a->offsets.data + n * 8, 8);
	if (a->kind == BC_LIST) {
		assert_col_equal(a->elem, b->elem, (size_t)end);
		return;
	}
	assert_int_equal(a->bytes.len, end);
	assert_int_equal(b->bytes.len, end);
	if (end)
		assert_memory_equal(a->bytes.data, b->bytes.data, (size_t)end);
}

static void assert_batch_equal(const batch *a, const batch *b)
{
	assert_int_equal(a->nrows, b->nrows);
	for (int c = 0; c < a->ncols; c++)
		assert_col_equal(&a->cols[c], &b->cols[c], a->nrows);
}

static void test_roundtrip(void **state)
{
	(void)state;
	size_t sizes[] = {0, 1, 4, 14, 300};
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		batch in, out;
		buf rec = {0};
		char err[ERR_LEN];
		assert_int_equal(batch_init(&in, &schema), 0);
		assert_int_equal(batch_init(&out, &schema), 0);
		for (size_t i = 0; i < sizes[s]; i++)
			append_row(&in, i);
		assert_int_equal(batch_encode(&in, &rec), 0);
		assert_int_equal(batch_decode(rec.data, rec.len, &schema, &out, err), 0);
		assert_batch_equal(&in, &out);
		/* The decoded batch takes more rows like any other. */
		append_row(&out, 99);
		assert_int_equal(out.nrows, sizes[s] + 1);
		buf_release(&rec);
		batch_clear(&in);
		batch_clear(&out);
	}
}

/* The exact record of one row with ints = [7, null], strs = null,
 * decs = [], bools = [true] (and id 0, name null, dec null). */
static void test_exact_list_bytes(void **state)
{
	(void)state;
	batch b;
	buf rec = {0};
	assert_int_equal(batch_init(&b, &schema), 0);
	batch_row_begin(&b);
	batch_set_i64(&b, C_ID, 0);
	batch_set_null(&b, C_NAME);
	batch_set_null(&b, C_DEC);
	batch_list_begin(&b, C_INTS);
	batch_list_elem_fixed(&b, C_INTS, &(int32_t){7});
	batch_list_elem_null(&b, C_INTS);
	batch_list_end(&b, C_INTS);
	batch_set_null(&b, C_STRS);
	batch_list_begin(&b, C_DECS);
	batch_list_end(&b, C_DECS);
	batch_list_begin(&b, C_BOOLS);
	batch_list_elem_fixed(&b, C_BOOLS, &(uint8_t){1});
	batch_list_end(&b, C_BOOLS);
	batch_row_commit(&b);
	assert_int_equal(batch_encode(&b, &rec), 0);
	static const uint8_t want[] = {
	    1,        7, 0, 0, 0, 1, 0, 0, 0,          /* version, ncols, nrows */
	    BC_I64,   0, 0, 0, 0, 0, 0, 0, 0, 0,       /* id */
	    BC_BYTES, 1, 0, 0, 0, 0, 0,                /* name: null, length 0 */
	    BC_FIXED, 1, 0,                            /* dec: null */
	    0,        0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    /* its slot: 11 zero bytes */
	    BC_LIST,  0, 2, 0, 0, 0,                   /* ints: 2 elements */
	    BC_I32,   1, 1, 0, 7, 0, 0, 0, 0, 0, 0, 0, /* elements: valid, values */
	    BC_LIST,  1, 0, 0, 0, 0, 0,                /* strs: null, 0 elements */
	    BC_BYTES, 0,                               /* no elements */
	    BC_LIST,  0, 0, 0, 0, 0,                   /* decs: empty */
	    BC_FIXED, 0,                               /* no elements */
	    BC_LIST,  0, 1, 0, 0, 0,                   /* bools: 1 element */
	    BC_BOOL,  0, 1,                            /* true */
	};
	assert_int_equal(rec.len, sizeof want);
	assert_memory_equal(rec.data, want, sizeof want);
	buf_release(&rec);
	batch_clear(&b);
}

static int decode_rc(const uint8_t *p, size_t n, char *err)
{
	batch out;
	assert_int_equal(batch_init(&out, &schema), 0);
	int rc = batch_decode(p, n, &schema, &out, err);
	batch_clear(&out);
	return rc;
}

static void test_damaged(void **state)
{
	(void)state;
	batch in;
	buf rec = {0};
	char err[ERR_LEN];
	assert_int_equal(batch_init(&in, &schema), 0);
	for (size_t i = 0; i < 20; i++)
		append_row(&in, i);
	assert_int_equal(batch_encode(&in, &rec), 0);
	/* Every truncation is refused. */
	for (size_t n = 0; n < rec.len; n++)
		assert_int_equal(decode_rc(rec.data, n, err), FLOE_ECORRUPT);
	/* One byte too many. */
	uint8_t *more = malloc(rec.len + 1);
	memcpy(more, rec.data, rec.len);
	more[rec.len] = 0;
	assert_int_equal(decode_rc(more, rec.len + 1, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, "trailing"));
	free(more);
	/* A list kind where the schema has an int64. */
	rec.data[9] = BC_LIST;
	assert_int_equal(decode_rc(rec.data, rec.len, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, "column 0 header"));
	buf_release(&rec);
	batch_clear(&in);

	/* A null list (row 3 of ints) that claims an element. */
	assert_int_equal(batch_init(&in, &schema), 0);
	for (size_t i = 0; i < 4; i++)
		append_row(&in, i);
	assert_int_equal(batch_encode(&in, &rec), 0);
	batch_clear(&in);
	/* Find the ints column: its header is BC_LIST, 1 (has nulls), then
	 * valid 1 1 1 0, then the four counts 0 1 2 0. */
	static const uint8_t ints_hdr[] = {BC_LIST, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1,
	                                   0,       0, 0, 2, 0, 0, 0, 0, 0, 0, 0};
	uint8_t *at = memmem(rec.data, rec.len, ints_hdr, sizeof ints_hdr);
	assert_non_null(at);
	at[sizeof ints_hdr - 4] = 1;
	assert_int_equal(decode_rc(rec.data, rec.len, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, "null value has a length"));
	/* A count far beyond the record. */
	at[sizeof ints_hdr - 4] = 0;
	at[sizeof ints_hdr - 5] = 0x7f;
	assert_int_equal(decode_rc(rec.data, rec.len, err), FLOE_ECORRUPT);
	buf_release(&rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_exact_list_bytes),
	    cmocka_unit_test(test_damaged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
