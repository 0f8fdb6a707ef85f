/*
 * test_parquet_read — the Parquet reader (src/format/parquet_read.c) against
 * files from floe's writer (src/format/parquet.c) and hand-made files.
 *
 * Round trips: every physical and logical type the writer has (BOOLEAN
 * required and optional, INT(8), INT(16), INT32/INT64 extremes, FLOAT and
 * DOUBLE with NaN payloads, ±Inf, -0.0, subnormals, decimals in INT32, INT64
 * and FLBA(16) up to ±(10^38-1), strings with long and multi-byte values,
 * binary with 0x00/0xFF, DATE, TIMESTAMP, TIME, UUID, an all-null column,
 * lists of int32 and of strings with null lists, empty lists, null elements
 * and long lists), written in batches of odd sizes under every configuration
 * that changes the bytes: each codec, dictionary off / on / overflowing into
 * the fallback mid-chunk, delta encodings on and off, small pages and
 * several row groups. Every row is read back row-major in order, in random
 * order, backwards, and through the header walk used when a file has no
 * offset index (the index is cut out of the footer), and compared bit for
 * bit with what was written.
 * Hand-made files cover what floe's writer never emits: DATA_PAGE_V2
 * (compressed and not), GZIP, PLAIN_DICTIONARY, RLE booleans,
 * DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT, page CRCs (good and bad), and the
 * features refused with FLOE_EINVAL (INT96, BIT_PACKED levels, LZ4).
 * Damage: bytes of a small file flipped at every position, cut at every
 * length, and random junk: the reader may fail, only with ECORRUPT / EINVAL,
 * and never reads outside the file (each variant is an exact-size heap copy,
 * under ASan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/parquet.h"
#include "format/parquet_read.h"
#include "format/thrift.h"
#include "format/thrift_read.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int mem_write(void *ctx, const void *p, size_t n, char *err)
{
	buf *b = ctx;
	buf_append(b, p, n);
	return buf_ok(b) ? 0 : errf(err, FLOE_ENOMEM, "oom");
}

/* ---- the generated table -------------------------------------------------- */

enum {
	C_BREQ,
	C_BOPT,
	C_I8,
	C_I16,
	C_I32,
	C_I64,
	C_F32,
	C_F64,
	C_DEC9,
	C_DEC18,
	C_DEC38,
	C_STR,
	C_LOW,
	C_BIN,
	C_DATE,
	C_TS,
	C_TIME,
	C_UUID,
	C_OVER,
	C_NULLS,
	C_LI32,
	C_LSTR,
	NCOLS
};

enum { NROWS = 6000 };

typedef struct tcol {
	pq_column_spec spec;
	int width;       /* fixed slot bytes; 0 for BYTE_ARRAY */
	uint8_t *valid;  /* per row; NULL: none null */
	uint8_t *values; /* fixed slots of rows (flat) or elements (lists) */
	uint64_t *off;   /* BYTE_ARRAY: offsets of rows or elements */
	buf bytes;
	uint64_t *loff; /* lists: per row */
	uint8_t *evalid;
	size_t nvals;
} tcol;

static const char *const lowcard[] = {"alpha", "beta", "gamma", "", "δέλτα"};

static void be128(__int128 v, uint8_t out[16])
{
	unsigned __int128 u = (unsigned __int128)v;
	for (int i = 15; i >= 0; i--) {
		out[i] = (uint8_t)u;
		u >>= 8;
	}
}

static __int128 pow10_128(int n)
{
	__int128 v = 1;
	while (n--)
		v *= 10;
	return v;
}

/* One value of column c (an element's for lists) into slot or bytes. */
static void gen_value(int c, size_t row, uint8_t *slot, buf *bytes)
{
	uint64_t x = rnd();
	switch (c) {
	case C_BREQ:
	case C_BOPT:
		slot[0] = (uint8_t)(x & 1);
		break;
	case C_I8: {
		int32_t v = (int8_t)x;
		memcpy(slot, &v, 4);
		break;
	}
	case C_I16: {
		int32_t v = (int16_t)x;
		memcpy(slot, &v, 4);
		break;
	}
	case C_I32:
	case C_LI32:
	case C_DATE: {
		int32_t v = x % 97 == 1 ? INT32_MIN : x % 97 == 2 ? INT32_MAX : (int32_t)(x >> 7);
		if (c == C_DATE)
			v = (int32_t)(x % 200000) - 100000;
		if (x % 5 == 0)
			v = (int32_t)(row % 50); /* some repeats for the dictionary */
		memcpy(slot, &v, 4);
		break;
	}
	case C_I64:
	case C_TS:
	case C_TIME: {
		int64_t v = x % 89 == 1 ? INT64_MIN : x % 89 == 2 ? INT64_MAX : (int64_t)x;
		if (c == C_TIME)
			v = (int64_t)(x % 86400000001ull);
		if (x % 3 == 0)
			v = (int64_t)row * 1000; /* small deltas */
		memcpy(slot, &v, 8);
		break;
	}
	case C_F32: {
		static const uint32_t special[] = {0x7FC00001, 0xFFC12345, 0x7F800000, 0xFF800000,
		                                   0x80000000, 0x00000000, 0x00000001, 0x7F7FFFFF,
		                                   0x3F800000, 0x7FA00000};
		uint32_t v = x % 3 ? (uint32_t)(x >> 32) : special[(x >> 8) % 10];
		memcpy(slot, &v, 4);
		break;
	}
	case C_F64: {
		static const uint64_t special[] = {0x7FF8000000000001ull, 0xFFF8000000000123ull,
		                                   0x7FF0000000000000ull, 0xFFF0000000000000ull,
		                                   0x8000000000000000ull, 0x0000000000000000ull,
		                                   0x0000000000000001ull, 0x7FEFFFFFFFFFFFFFull,
		                                   0x3FF0000000000000ull, 0x7FF4000000000000ull};
		uint64_t v = x % 3 ? x : special[(x >> 8) % 10];
		memcpy(slot, &v, 8);
		break;
	}
	case C_DEC9: {
		int32_t v = (int32_t)(x % 1999999999ull) - 999999999;
		memcpy(slot, &v, 4);
		break;
	}
	case C_DEC18: {
		int64_t lim = 999999999999999999LL;
		int64_t v = x % 7 == 0 ? lim : x % 7 == 1 ? -lim : (int64_t)(x % (uint64_t)lim);
		memcpy(slot, &v, 8);
		break;
	}
	case C_DEC38: {
		__int128 lim = pow10_128(38) - 1;
		__int128 v = ((__int128)(x >> 1) << 64 | rnd()) % lim;
		if (x % 9 == 0)
			v = lim;
		else if (x % 9 == 1)
			v = -lim;
		else if (x % 9 == 2)
			v = -1;
		else if (x % 2)
			v = -v;
		be128(v, slot);
		break;
	}
	case C_UUID:
		for (int i = 0; i < 16; i++)
			slot[i] = (uint8_t)rnd();
		break;
	case C_OVER: {
		int64_t v = (int64_t)row * 1000003;
		memcpy(slot, &v, 8);
		break;
	}
	case C_STR:
	case C_LSTR: {
		static const char *const pieces[] = {"a", "é", "€", "😀", "z", "\x7f", "0"};
		size_t len = x % 40 == 0 ? 3000 + x % 3000 : x % 40;
		for (size_t i = 0; i < len; i++)
			buf_append_str(bytes, pieces[(x >> (i % 50)) % 7]);
		break;
	}
	case C_LOW:
		buf_append_str(bytes, lowcard[x % 5]);
		break;
	case C_BIN: {
		size_t len = x % 21;
		for (size_t i = 0; i < len; i++) {
			uint8_t b = (uint8_t)rnd();
			if (b % 4 == 0)
				b = b % 8 ? 0x00 : 0xFF;
			buf_put_u8(bytes, b);
		}
		break;
	}
	default:
		break;
	}
}

static void spec_of(int c, pq_column_spec *s)
{
	static const char *const names[NCOLS] = {
	    "breq", "bopt", "i8",  "i16",  "i32", "i64",  "f32",  "f64",  "dec9",  "dec18", "dec38",
	    "str",  "low",  "bin", "date", "ts",  "time", "uuid", "over", "nulls", "li32",  "lstr"};
	memset(s, 0, sizeof(*s));
	s->name = names[c];
	s->field_id = 100 + c;
	s->required = c == C_BREQ || c == C_OVER || c == C_LSTR;
	switch (c) {
	case C_BREQ:
	case C_BOPT:
		s->physical = PQ_BOOLEAN;
		break;
	case C_I8:
	case C_I16:
		s->physical = PQ_INT32;
		s->logical = PQ_LOGICAL_INT;
		s->int_bits = c == C_I8 ? 8 : 16;
		break;
	case C_I32:
	case C_NULLS:
	case C_LI32:
		s->physical = PQ_INT32;
		break;
	case C_I64:
	case C_OVER:
		s->physical = PQ_INT64;
		break;
	case C_F32:
		s->physical = PQ_FLOAT;
		break;
	case C_F64:
		s->physical = PQ_DOUBLE;
		break;
	case C_DEC9:
	case C_DEC18:
	case C_DEC38:
		s->physical = c == C_DEC9    ? PQ_INT32
		              : c == C_DEC18 ? PQ_INT64
		                             : PQ_FIXED_LEN_BYTE_ARRAY;
		s->logical = PQ_LOGICAL_DECIMAL;
		s->precision = c == C_DEC9 ? 9 : c == C_DEC18 ? 18 : 38;
		s->scale = c == C_DEC9 ? 2 : c == C_DEC18 ? 4 : 10;
		s->type_length = c == C_DEC38 ? 16 : 0;
		break;
	case C_STR:
	case C_LOW:
	case C_LSTR:
		s->physical = PQ_BYTE_ARRAY;
		s->logical = PQ_LOGICAL_STRING;
		break;
	case C_BIN:
		s->physical = PQ_BYTE_ARRAY;
		break;
	case C_DATE:
		s->physical = PQ_INT32;
		s->logical = PQ_LOGICAL_DATE;
		break;
	case C_TS:
		s->physical = PQ_INT64;
		s->logical = PQ_LOGICAL_TIMESTAMP;
		s->utc_adjusted = 1;
		break;
	case C_TIME:
		s->physical = PQ_INT64;
		s->logical = PQ_LOGICAL_TIME;
		break;
	case C_UUID:
		s->physical = PQ_FIXED_LEN_BYTE_ARRAY;
		s->logical = PQ_LOGICAL_UUID;
		s->type_length = 16;
		break;
	}
	if (c == C_LI32 || c == C_LSTR) {
		s->list = 1;
		s->element_field_id = 200 + c;
	}
}

static int phys_width(const pq_column_spec *s)
{
	switch (s->physical) {
	case PQ_BOOLEAN:
		return 1;
	case PQ_INT32:
	case PQ_FLOAT:
		return 4;
	case PQ_INT64:
	case PQ_DOUBLE:
		return 8;
	case PQ_FIXED_LEN_BYTE_ARRAY:
		return s->type_length;
	default:
		return 0;
	}
}

/* Whether row r of an optional flat column is null: random, plus runs. */
static int gen_null(int c, size_t r)
{
	if (c == C_NULLS)
		return 1;
	if (r >= 100 && r < 300)
		return 1;
	if (r >= 300 && r < 600)
		return 0;
	return rnd() % 6 == 0;
}

static void table_make(tcol *t)
{
	rng_state = 42;
	memset(t, 0, sizeof(*t) * NCOLS);
	for (int c = 0; c < NCOLS; c++) {
		tcol *k = &t[c];
		spec_of(c, &k->spec);
		k->width = phys_width(&k->spec);
		if (!k->spec.required)
			k->valid = calloc(NROWS, 1);
		if (k->spec.list) {
			k->loff = calloc(NROWS + 1, sizeof(uint64_t));
			size_t n = 0;
			for (size_t r = 0; r < NROWS; r++) {
				uint64_t x = rnd();
				int null = !k->spec.required && x % 9 == 0;
				size_t len = null || x % 9 == 1 ? 0 : 1 + (x >> 8) % 4;
				if (r % 1000 == 500)
					len = 400;
				if (k->valid)
					k->valid[r] = !null;
				k->loff[r] = n;
				n += len;
			}
			k->loff[NROWS] = n;
			k->nvals = n;
		} else {
			k->nvals = NROWS;
			for (size_t r = 0; r < NROWS && k->valid; r++)
				k->valid[r] = !gen_null(c, r);
		}
		k->values = calloc(k->nvals ? k->nvals : 1, k->width ? (size_t)k->width : 1);
		if (k->spec.list)
			k->evalid = calloc(k->nvals ? k->nvals : 1, 1);
		if (!k->width)
			k->off = calloc(k->nvals + 1, sizeof(uint64_t));
		for (size_t i = 0; i < k->nvals; i++) {
			int present = k->spec.list ? rnd() % 5 != 0 : !k->valid || k->valid[i];
			if (k->spec.list)
				k->evalid[i] = (uint8_t)present;
			if (k->off)
				k->off[i] = k->bytes.len;
			if (present)
				gen_value(c, i, k->values + i * (size_t)k->width, &k->bytes);
		}
		if (k->off)
			k->off[k->nvals] = k->bytes.len;
		assert_true(buf_ok(&k->bytes));
	}
}

static void table_free(tcol *t)
{
	for (int c = 0; c < NCOLS; c++) {
		free(t[c].valid);
		free(t[c].values);
		free(t[c].off);
		free(t[c].loff);
		free(t[c].evalid);
		buf_release(&t[c].bytes);
	}
}

/* Rows [r, r+n) of column k for the writer. */
static pq_column_data table_data(const tcol *k, size_t r)
{
	pq_column_data d = {0};
	d.valid = k->valid ? k->valid + r : NULL;
	d.bytes = k->bytes.data;
	if (k->spec.list) {
		d.list_offsets = k->loff + r;
		d.elem_valid = k->evalid;
		d.values = k->values;
		d.offsets = k->off;
	} else {
		d.values = k->values + r * (size_t)k->width;
		d.offsets = k->off ? k->off + r : NULL;
	}
	return d;
}

typedef struct config {
	const char *name;
	pq_codec codec;
	size_t dict_max; /* SIZE_MAX: default */
	int delta;
	size_t page, row_group; /* 0: default */
} config;

static void write_table(const tcol *t, const config *cf, buf *out, pq_file_result *res)
{
	pq_column_spec specs[NCOLS];
	pq_column_data d[NCOLS];
	pq_options o;
	pq_options_default(&o);
	o.codec = cf->codec;
	if (cf->dict_max != SIZE_MAX)
		o.dict_max_bytes = cf->dict_max;
	o.delta_encodings = cf->delta;
	if (cf->page)
		o.page_bytes = cf->page;
	if (cf->row_group)
		o.row_group_bytes = cf->row_group;
	for (int c = 0; c < NCOLS; c++)
		specs[c] = t[c].spec;
	char err[ERR_LEN];
	pq_writer *w;
	if (pq_writer_open(specs, NCOLS, NULL, 0, &o, mem_write, out, &w, err))
		fail_msg("open: %s", err);
	static const size_t sizes[] = {1, 7, 1000, 4096, 13};
	for (size_t r = 0, i = 0; r < NROWS; i++) {
		size_t n = sizes[i % 5];
		if (n > NROWS - r)
			n = NROWS - r;
		for (int c = 0; c < NCOLS; c++)
			d[c] = table_data(&t[c], r);
		if (pq_writer_write(w, d, n, err))
			fail_msg("write: %s", err);
		r += n;
	}
	if (pq_writer_close(w, res, err))
		fail_msg("close: %s", err);
}

/* Compares one value read with element (or row) i of column k. */
static void expect_cell_value(const tcol *k, size_t i, int present, const pq_value *v, int c,
                              int64_t row)
{
	if (v->present != present)
		fail_msg("column %s row %lld: present %d, want %d", k->spec.name, (long long)row,
		         v->present, present);
	if (!present)
		return;
	int ok;
	if (!k->width) {
		size_t len = (size_t)(k->off[i + 1] - k->off[i]);
		ok = v->len == len &&
		     (len == 0 || memcmp(v->bytes, k->bytes.data + k->off[i], len) == 0);
	} else if (k->spec.physical == PQ_BOOLEAN) {
		ok = v->v.b == k->values[i];
	} else if (k->spec.physical == PQ_FIXED_LEN_BYTE_ARRAY) {
		ok = v->len == (size_t)k->width &&
		     memcmp(v->bytes, k->values + i * (size_t)k->width, (size_t)k->width) == 0;
	} else {
		ok = memcmp(&v->v, k->values + i * (size_t)k->width, (size_t)k->width) == 0;
	}
	if (!ok)
		fail_msg("column %d (%s) row %lld: value differs", c, k->spec.name, (long long)row);
}

static void check_cell(pq_reader *r, const tcol *t, int c, int64_t row)
{
	const tcol *k = &t[c];
	char err[ERR_LEN];
	pq_value v;
	if (!k->spec.list) {
		if (pq_reader_value(r, c, row, &v, err))
			fail_msg("column %s row %lld: %s", k->spec.name, (long long)row, err);
		expect_cell_value(k, (size_t)row, !k->valid || k->valid[row], &v, c, row);
		return;
	}
	int64_t len;
	if (pq_reader_list(r, c, row, &len, err))
		fail_msg("list %s row %lld: %s", k->spec.name, (long long)row, err);
	int64_t want = k->valid && !k->valid[row] ? -1 : (int64_t)(k->loff[row + 1] - k->loff[row]);
	if (len != want)
		fail_msg("list %s row %lld: %lld elements, want %lld", k->spec.name, (long long)row,
		         (long long)len, (long long)want);
	for (int64_t e = 0; e < len; e++) {
		size_t i = (size_t)k->loff[row] + (size_t)e;
		if (pq_reader_elem(r, c, &v, err))
			fail_msg("list %s row %lld elem %lld: %s", k->spec.name, (long long)row,
			         (long long)e, err);
		expect_cell_value(k, i, k->evalid[i], &v, c, row);
	}
	assert_int_equal(pq_reader_elem(r, c, &v, err), FLOE_EINVAL);
}

/* The file's columns as the writer described them. */
static void check_schema(pq_reader *r, const tcol *t)
{
	assert_int_equal(pq_reader_num_rows(r), NROWS);
	assert_int_equal(pq_reader_ncols(r), NCOLS);
	for (int c = 0; c < NCOLS; c++) {
		const pq_column_spec *s = &t[c].spec;
		const pq_reader_column *ci = pq_reader_column_info(r, c);
		assert_non_null(ci);
		int32_t id = s->list ? s->element_field_id : s->field_id;
		assert_int_equal(pq_reader_find_field(r, id), c);
		assert_true(ci->has_field_id);
		assert_string_equal(ci->spec.name, s->list ? "element" : s->name);
		assert_int_equal(ci->spec.physical, s->physical);
		assert_int_equal(ci->spec.logical, s->logical);
		assert_int_equal(ci->spec.type_length, s->type_length);
		assert_int_equal(ci->spec.precision, s->precision);
		assert_int_equal(ci->spec.scale, s->scale);
		assert_int_equal(ci->spec.utc_adjusted, s->utc_adjusted);
		assert_false(ci->other_logical);
		if (s->logical == PQ_LOGICAL_INT)
			assert_int_equal(ci->spec.int_bits, s->int_bits);
		assert_int_equal(ci->max_rep, s->list ? 1 : 0);
		if (s->list) {
			assert_int_equal(ci->list_def, s->required ? 0 : 1);
			assert_int_equal(ci->max_def, ci->list_def + 2);
		} else {
			assert_int_equal(ci->max_def, s->required ? 0 : 1);
			assert_int_equal(ci->list_def, -1);
		}
	}
	assert_int_equal(pq_reader_find_field(r, 99), -1);
	assert_null(pq_reader_column_info(r, NCOLS));
}

/* Every way of walking the file. */
static void check_all(pq_reader *r, const tcol *t, int random_reads)
{
	check_schema(r, t);
	for (int64_t row = 0; row < NROWS; row++)
		for (int c = 0; c < NCOLS; c++)
			check_cell(r, t, c, row);
	rng_state = 7;
	for (int i = 0; i < random_reads; i++) {
		uint64_t x = rnd();
		check_cell(r, t, (int)(x % NCOLS), (int64_t)((x >> 8) % NROWS));
	}
	for (int64_t row = NROWS - 1; row >= 0; row -= 37)
		for (int c = 0; c < NCOLS; c++)
			check_cell(r, t, c, row);
}

/* Cuts ColumnChunk fields 4..7 (offset and column index) out of the footer,
 * so the reader must walk page headers. They are the last fields of each
 * ColumnChunk, so removing their bytes leaves a valid message. */
static void strip_page_index(buf *file)
{
	size_t n = file->len;
	uint32_t flen = get_le32(file->data + n - 8);
	size_t fstart = n - 8 - flen;
	const uint8_t *f = file->data + fstart;
	thrift_reader t;
	thrift_reader_init(&t, f, flen);
	buf out = {0};
	size_t copied = 0;
	int16_t id;
	int type;
	uint32_t nrg, ncc;
	while (thrift_read_field(&t, &id, &type) > 0) {
		if (id != 4) {
			assert_int_equal(thrift_skip(&t, type), 0);
			continue;
		}
		assert_int_equal(thrift_read_list(&t, type, THRIFT_STRUCT, &nrg), 1);
		for (uint32_t g = 0; g < nrg; g++) {
			assert_int_equal(thrift_get_struct(&t), 0);
			while (thrift_read_field(&t, &id, &type) > 0) {
				if (id != 1) {
					assert_int_equal(thrift_skip(&t, type), 0);
					continue;
				}
				assert_int_equal(thrift_read_list(&t, type, THRIFT_STRUCT, &ncc),
				                 1);
				for (uint32_t k = 0; k < ncc; k++) {
					assert_int_equal(thrift_get_struct(&t), 0);
					size_t cut = 0;
					for (;;) {
						size_t at = t.pos;
						int rc = thrift_read_field(&t, &id, &type);
						assert_true(rc >= 0);
						if (rc == 0) {
							if (cut) {
								buf_append(&out, f + copied,
								           cut - copied);
								copied = t.pos - 1;
							}
							break;
						}
						if (id >= 4 && id <= 7 && !cut)
							cut = at;
						assert_int_equal(thrift_skip(&t, type), 0);
					}
				}
			}
		}
	}
	buf_append(&out, f + copied, flen - copied);
	buf rebuilt = {0};
	buf_append(&rebuilt, file->data, fstart);
	buf_append(&rebuilt, out.data, out.len);
	buf_put_le32(&rebuilt, (uint32_t)out.len);
	buf_append(&rebuilt, "PAR1", 4);
	assert_true(buf_ok(&rebuilt));
	assert_true(out.len < flen);
	buf_release(&out);
	buf_release(file);
	*file = rebuilt;
}

static void run_config(const config *cf)
{
	tcol t[NCOLS];
	table_make(t);
	buf file = {0};
	pq_file_result res;
	write_table(t, cf, &file, &res);
	if (cf->row_group)
		assert_true(res.nrow_groups > 1);
	pq_file_result_free(&res);
	char err[ERR_LEN];
	pq_reader *r;
	if (pq_reader_open_mem(file.data, file.len, cf->name, &r, err))
		fail_msg("%s: open: %s", cf->name, err);
	check_all(r, t, 1500);
	pq_reader_close(r);
	/* the same without the page index */
	strip_page_index(&file);
	if (pq_reader_open_mem(file.data, file.len, cf->name, &r, err))
		fail_msg("%s: open without index: %s", cf->name, err);
	check_all(r, t, 300);
	pq_reader_close(r);
	buf_release(&file);
	table_free(t);
}

static const config configs[] = {
    {"plain", PQ_CODEC_UNCOMPRESSED, 0, 0, 0, 0},
    {"zstd-dict", PQ_CODEC_ZSTD, SIZE_MAX, 0, 0, 0},
    {"snappy-dict-small-pages", PQ_CODEC_SNAPPY, SIZE_MAX, 0, 700, 60000},
    {"zstd-overflow-delta", PQ_CODEC_ZSTD, 3000, 1, 2048, 120000},
    {"plain-delta-nodict", PQ_CODEC_UNCOMPRESSED, 0, 1, 1000, 0},
    {"snappy-overflow", PQ_CODEC_SNAPPY, 3000, 0, 0, 50000},
};

static void test_config_0(void **state)
{
	(void)state;
	run_config(&configs[0]);
}
static void test_config_1(void **state)
{
	(void)state;
	run_config(&configs[1]);
}
static void test_config_2(void **state)
{
	(void)state;
	run_config(&configs[2]);
}
static void test_config_3(void **state)
{
	(void)state;
	run_config(&configs[3]);
}
static void test_config_4(void **state)
{
	(void)state;
	run_config(&configs[4]);
}
static void test_config_5(void **state)
{
	(void)state;
	run_config(&configs[5]);
}

/* pq_reader_open on a real file, and its errors. */
static void test_open_file(void **state)
{
	(void)state;
	tcol t[NCOLS];
	table_make(t);
	buf file = {0};
	pq_file_result res;
	write_table(t, &configs[1], &file, &res);
	pq_file_result_free(&res);
	char path[] = "/tmp/floe-pqread-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, file.data, file.len), (ssize_t)file.len);
	close(fd);
	char err[ERR_LEN];
	pq_reader *r;
	assert_int_equal(pq_reader_open(path, &r, err), 0);
	assert_string_equal(pq_reader_name(r), path);
	for (int64_t row = 0; row < NROWS; row += 11)
		for (int c = 0; c < NCOLS; c++)
			check_cell(r, t, c, row);
	pq_value v;
	int64_t len;
	assert_int_equal(pq_reader_value(r, 0, NROWS, &v, err), FLOE_EINVAL);
	assert_int_equal(pq_reader_value(r, 0, -1, &v, err), FLOE_EINVAL);
	assert_int_equal(pq_reader_value(r, NCOLS, 0, &v, err), FLOE_EINVAL);
	assert_int_equal(pq_reader_value(r, C_LI32, 0, &v, err), FLOE_EINVAL);
	assert_non_null(strstr(err, "is a list column"));
	assert_int_equal(pq_reader_list(r, C_I32, 0, &len, err), FLOE_EINVAL);
	pq_reader_close(r);
	/* a file shorter than its footer says */
	assert_int_equal(truncate(path, (off_t)file.len / 2), 0);
	assert_int_equal(pq_reader_open(path, &r, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, path));
	unlink(path);
	assert_int_equal(pq_reader_open(path, &r, err), FLOE_ENOTFOUND);
	assert_non_null(strstr(err, path));
	pq_reader_close(NULL);
	buf_release(&file);
	table_free(t);
}

/* ---- hand-made files ------------------------------------------------------ */

/* DELTA_BINARY_PACKED of v[0..n): one block of 128 values, 4 miniblocks of
 * 32, every miniblock at the block's widest width (a simpler writer than
 * floe's, so the reader sees other choices). */
static void delta_put(buf *b, const int64_t *v, size_t n)
{
	thrift_put_varint(b, 128);
	thrift_put_varint(b, 4);
	thrift_put_varint(b, n);
	thrift_put_varint(b, thrift_zigzag(n ? v[0] : 0));
	for (size_t i = 1; i < n; i += 128) {
		size_t m = n - i < 128 ? n - i : 128;
		int64_t delta[128], mind = INT64_MAX;
		for (size_t j = 0; j < m; j++) {
			/* wrapping difference, as the format defines it */
			delta[j] = (int64_t)((uint64_t)v[i + j] - (uint64_t)v[i + j - 1]);
			mind = delta[j] < mind ? delta[j] : mind;
		}
		uint64_t all = 0;
		for (size_t j = 0; j < m; j++)
			all |= (uint64_t)delta[j] - (uint64_t)mind;
		int bw = all ? 64 - __builtin_clzll(all) : 0;
		thrift_put_varint(b, thrift_zigzag(mind));
		for (int k = 0; k < 4; k++)
			buf_put_u8(b, (uint8_t)bw);
		size_t minis = (m + 31) / 32;
		uint8_t bits[32 * 8];
		for (size_t k = 0; k < minis; k++) {
			memset(bits, 0, sizeof(bits));
			for (size_t j = 0; j < 32; j++) {
				size_t at = k * 32 + j;
				uint64_t d = at < m ? (uint64_t)delta[at] - (uint64_t)mind : 0;
				for (size_t q = 0; q < (size_t)bw; q++)
					if (d >> q & 1)
						bits[(j * (size_t)bw + q) / 8] |=
						    (uint8_t)(1u << ((j * (size_t)bw + q) % 8));
			}
			buf_append(b, bits, 32 * (size_t)bw / 8);
		}
	}
}

/* gzip (RFC 1952) of p[0..n). */
static void gzip_put(buf *out, const uint8_t *p, size_t n)
{
	z_stream zs;
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	size_t cap = deflateBound(&zs, (uLong)n) + 32;
	assert_int_equal(buf_reserve(out, cap), 0);
	zs.next_in = (Bytef *)(uintptr_t)p;
	zs.avail_in = (uInt)n;
	zs.next_out = out->data + out->len;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	out->len += cap - zs.avail_out;
	deflateEnd(&zs);
}

typedef struct hpage {
	int type; /* 0 data v1, 2 dictionary, 3 data v2 */
	int enc;
	int nvalues, nnulls, nrows;
	buf levels; /* v1: with length prefix; v2: raw def levels */
	buf values;
	int v2_uncompressed;
	int crc; /* 1: correct, 2: wrong */
	int def_enc;
} hpage;

/* A one-column file: the leaf `spec` (required or optional), the pages, one
 * row group of `rows` rows with codec, no page index. */
static void hand_file(buf *f, const pq_column_spec *spec, int codec, hpage *pages, int npages,
                      int64_t rows)
{
	buf chunk = {0};
	for (int i = 0; i < npages; i++) {
		hpage *pg = &pages[i];
		buf body = {0}, z = {0};
		if (pg->type != 3)
			buf_append(&body, pg->levels.data, pg->levels.len);
		buf_append(&body, pg->values.data, pg->values.len);
		size_t lv = pg->type == 3 ? pg->levels.len : 0;
		buf_append(&z, pg->levels.data, lv);
		if (codec == 2 && !pg->v2_uncompressed)
			gzip_put(&z, body.data, body.len);
		else
			buf_append(&z, body.data, body.len);
		thrift_writer t;
		thrift_init(&t, &chunk);
		thrift_field_i32(&t, 1, pg->type);
		thrift_field_i32(&t, 2, (int32_t)(body.len + lv));
		thrift_field_i32(&t, 3, (int32_t)z.len);
		if (pg->crc) {
			uint32_t crc = (uint32_t)crc32(0L, z.data, (uInt)z.len);
			thrift_field_i32(&t, 4, (int32_t)(crc + (pg->crc == 2)));
		}
		if (pg->type == 0) {
			thrift_struct_begin(&t, 5);
			thrift_field_i32(&t, 1, pg->nvalues);
			thrift_field_i32(&t, 2, pg->enc);
			thrift_field_i32(&t, 3, pg->def_enc ? pg->def_enc : 3);
			thrift_field_i32(&t, 4, 3);
			thrift_struct_end(&t);
		} else if (pg->type == 2) {
			thrift_struct_begin(&t, 7);
			thrift_field_i32(&t, 1, pg->nvalues);
			thrift_field_i32(&t, 2, pg->enc);
			thrift_struct_end(&t);
		} else {
			thrift_struct_begin(&t, 8);
			thrift_field_i32(&t, 1, pg->nvalues);
			thrift_field_i32(&t, 2, pg->nnulls);
			thrift_field_i32(&t, 3, pg->nrows);
			thrift_field_i32(&t, 4, pg->enc);
			thrift_field_i32(&t, 5, (int32_t)lv);
			thrift_field_i32(&t, 6, 0);
			if (pg->v2_uncompressed)
				thrift_field_bool(&t, 7, 0);
			thrift_struct_end(&t);
		}
		assert_int_equal(thrift_finish(&t), 0);
		buf_append(&chunk, z.data, z.len);
		buf_release(&body);
		buf_release(&z);
		buf_release(&pg->levels);
		buf_release(&pg->values);
	}
	buf_reset(f);
	buf_append(f, "PAR1", 4);
	buf_append(f, chunk.data, chunk.len);
	size_t fstart = f->len;
	thrift_writer t;
	thrift_init(&t, f);
	thrift_field_i32(&t, 1, 1);
	thrift_list_begin(&t, 2, THRIFT_STRUCT, 2);
	thrift_elem_struct_begin(&t);
	thrift_field_string(&t, 4, "schema");
	thrift_field_i32(&t, 5, 1);
	thrift_struct_end(&t);
	thrift_elem_struct_begin(&t);
	thrift_field_i32(&t, 1, (int32_t)spec->physical);
	if (spec->type_length)
		thrift_field_i32(&t, 2, spec->type_length);
	thrift_field_i32(&t, 3, spec->required ? 0 : 1);
	thrift_field_string(&t, 4, "v");
	thrift_field_i32(&t, 9, 1);
	thrift_struct_end(&t);
	thrift_field_i64(&t, 3, rows);
	thrift_list_begin(&t, 4, THRIFT_STRUCT, 1);
	thrift_elem_struct_begin(&t);
	thrift_list_begin(&t, 1, THRIFT_STRUCT, 1);
	thrift_elem_struct_begin(&t);
	thrift_field_i64(&t, 2, 4);
	thrift_struct_begin(&t, 3);
	thrift_field_i32(&t, 1, (int32_t)spec->physical);
	thrift_list_begin(&t, 2, THRIFT_I32, 0);
	thrift_list_begin(&t, 3, THRIFT_BINARY, 1);
	thrift_elem_string(&t, "v");
	thrift_field_i32(&t, 4, codec);
	thrift_field_i64(&t, 5, rows);
	thrift_field_i64(&t, 6, (int64_t)chunk.len);
	thrift_field_i64(&t, 7, (int64_t)chunk.len);
	thrift_field_i64(&t, 9, 4);
	thrift_struct_end(&t);
	thrift_struct_end(&t);
	thrift_field_i64(&t, 2, (int64_t)chunk.len);
	thrift_field_i64(&t, 3, rows);
	thrift_struct_end(&t);
	assert_int_equal(thrift_finish(&t), 0);
	buf_put_le32(f, (uint32_t)(f->len - fstart));
	buf_append(f, "PAR1", 4);
	assert_true(buf_ok(f));
	buf_release(&chunk);
}

/* Definition levels (bit width 1) of present[0..n) as a bit-packed run. */
static void levels_put(buf *b, const uint8_t *present, size_t n, int prefix)
{
	buf run = {0};
	size_t groups = (n + 7) / 8;
	thrift_put_varint(&run, groups << 1 | 1);
	for (size_t g = 0; g < groups; g++) {
		uint8_t x = 0;
		for (size_t j = 0; j < 8 && g * 8 + j < n; j++)
			x |= (uint8_t)(present[g * 8 + j] << j);
		buf_put_u8(&run, x);
	}
	if (prefix)
		buf_put_le32(b, (uint32_t)run.len);
	buf_append(b, run.data, run.len);
	buf_release(&run);
}

/* The exact-size copy a hand-made file is read from (one at a time). */
static uint8_t *open_copy;

static pq_reader *open_buf(const buf *f, int expect_rc, char *err)
{
	pq_reader *r = NULL;
	open_copy = malloc(f->len);
	assert_non_null(open_copy);
	memcpy(open_copy, f->data, f->len);
	int rc = pq_reader_open_mem(open_copy, f->len, "hand", &r, err);
	assert_int_equal(rc, expect_rc);
	if (rc) {
		free(open_copy);
		open_copy = NULL;
	}
	return r;
}

static void close_buf(pq_reader *r)
{
	pq_reader_close(r);
	free(open_copy);
	open_copy = NULL;
}

/* DATA_PAGE_V2: DELTA_BYTE_ARRAY strings with nulls, gzip-compressed, then
 * a PLAIN page that is not compressed. */
static void test_v2_delta_byte_array_gzip(void **state)
{
	(void)state;
	static const char *const words[] = {"apple", "applesauce", "apply",   "banana",
	                                    "",      "band",       "bandana", "bandanas"};
	uint8_t present[10] = {1, 1, 0, 1, 1, 1, 0, 1, 1, 1};
	pq_column_spec spec = {.physical = PQ_BYTE_ARRAY};
	hpage pg[2];
	memset(pg, 0, sizeof(pg));
	/* page 1: rows 0..9, 8 present, DELTA_BYTE_ARRAY */
	int64_t pre[8], sfx[8];
	buf sbytes = {0};
	for (int i = 0; i < 8; i++) {
		size_t p = 0;
		if (i > 0)
			while (words[i - 1][p] && words[i][p] == words[i - 1][p])
				p++;
		pre[i] = (int64_t)p;
		sfx[i] = (int64_t)(strlen(words[i]) - p);
		buf_append_str(&sbytes, words[i] + p);
	}
	pg[0].type = 3;
	pg[0].enc = 7;
	pg[0].nvalues = pg[0].nrows = 10;
	pg[0].nnulls = 2;
	levels_put(&pg[0].levels, present, 10, 0);
	delta_put(&pg[0].values, pre, 8);
	delta_put(&pg[0].values, sfx, 8);
	buf_append(&pg[0].values, sbytes.data, sbytes.len);
	buf_release(&sbytes);
	/* page 2: rows 10..12, all present, PLAIN, not compressed */
	uint8_t all[3] = {1, 1, 1};
	pg[1].type = 3;
	pg[1].enc = 0;
	pg[1].nvalues = pg[1].nrows = 3;
	pg[1].v2_uncompressed = 1;
	levels_put(&pg[1].levels, all, 3, 0);
	for (int i = 0; i < 3; i++) {
		buf_put_le32(&pg[1].values, 2);
		buf_append(&pg[1].values, i == 0 ? "xy" : i == 1 ? "zz" : "q!", 2);
	}
	buf f = {0};
	hand_file(&f, &spec, 2, pg, 2, 13);
	char err[ERR_LEN];
	pq_reader *r = open_buf(&f, 0, err);
	pq_value v;
	for (int pass = 0; pass < 2; pass++) {
		int w = 0;
		for (int64_t row = 0; row < 10; row++) {
			assert_int_equal(pq_reader_value(r, 0, row, &v, err), 0);
			assert_int_equal(v.present, present[row]);
			if (!v.present)
				continue;
			assert_int_equal(v.len, strlen(words[w]));
			assert_memory_equal(v.bytes, words[w], v.len);
			w++;
		}
		assert_int_equal(pq_reader_value(r, 0, 12, &v, err), 0);
		assert_memory_equal(v.bytes, "q!", 2);
		assert_int_equal(pq_reader_value(r, 0, 10, &v, err), 0);
		assert_memory_equal(v.bytes, "xy", 2);
	}
	/* backwards inside the DELTA_BYTE_ARRAY page */
	assert_int_equal(pq_reader_value(r, 0, 9, &v, err), 0);
	assert_memory_equal(v.bytes, "bandanas", 8);
	assert_int_equal(pq_reader_value(r, 0, 4, &v, err), 0);
	assert_memory_equal(v.bytes, "banana", 6);
	close_buf(r);
	buf_release(&f);
}

/* BYTE_STREAM_SPLIT of DOUBLE and FLBA(3); PLAIN_DICTIONARY; RLE booleans;
 * page CRCs. */
static void test_other_encodings(void **state)
{
	(void)state;
	char err[ERR_LEN];
	pq_value v;
	buf f = {0};
	hpage pg[2];

	/* BYTE_STREAM_SPLIT doubles, v1, required, with a correct CRC */
	double d[5] = {1.5, -0.0, INFINITY, -1e300, 3.25};
	memset(pg, 0, sizeof(pg));
	pg[0].enc = 9;
	pg[0].nvalues = 5;
	pg[0].crc = 1;
	for (int k = 0; k < 8; k++)
		for (int i = 0; i < 5; i++)
			buf_put_u8(&pg[0].values, ((uint8_t *)&d[i])[k]);
	pq_column_spec sd = {.physical = PQ_DOUBLE, .required = 1};
	hand_file(&f, &sd, 0, pg, 1, 5);
	pq_reader *r = open_buf(&f, 0, err);
	for (int i = 4; i >= 0; i--) {
		assert_int_equal(pq_reader_value(r, 0, i, &v, err), 0);
		assert_memory_equal(&v.v.f64, &d[i], 8);
	}
	close_buf(r);

	/* the same page with a wrong CRC */
	memset(pg, 0, sizeof(pg));
	pg[0].enc = 9;
	pg[0].nvalues = 5;
	pg[0].crc = 2;
	for (int k = 0; k < 8; k++)
		for (int i = 0; i < 5; i++)
			buf_put_u8(&pg[0].values, ((uint8_t *)&d[i])[k]);
	hand_file(&f, &sd, 0, pg, 1, 5);
	r = open_buf(&f, 0, err);
	assert_int_equal(pq_reader_value(r, 0, 0, &v, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, "CRC"));
	close_buf(r);

	/* BYTE_STREAM_SPLIT FLBA(3), optional */
	static const uint8_t fl[3][3] = {{1, 2, 3}, {0xFF, 0, 0x80}, {9, 9, 9}};
	uint8_t present[4] = {1, 0, 1, 1};
	memset(pg, 0, sizeof(pg));
	pg[0].enc = 9;
	pg[0].nvalues = 4;
	levels_put(&pg[0].levels, present, 4, 1);
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 3; i++)
			buf_put_u8(&pg[0].values, fl[i][k]);
	pq_column_spec sf = {.physical = PQ_FIXED_LEN_BYTE_ARRAY, .type_length = 3};
	hand_file(&f, &sf, 0, pg, 1, 4);
	r = open_buf(&f, 0, err);
	int k = 0;
	for (int64_t row = 0; row < 4; row++) {
		assert_int_equal(pq_reader_value(r, 0, row, &v, err), 0);
		assert_int_equal(v.present, present[row]);
		if (v.present) {
			assert_int_equal(v.len, 3);
			assert_memory_equal(v.bytes, fl[k], 3);
			k++;
		}
	}
	close_buf(r);

	/* a PLAIN dictionary page + a PLAIN_DICTIONARY (2) data page, GZIP */
	memset(pg, 0, sizeof(pg));
	pg[0].type = 2;
	pg[0].enc = 0;
	pg[0].nvalues = 3;
	int32_t dict[3] = {-7, 100, 2000000000};
	buf_append(&pg[0].values, dict, sizeof(dict));
	pg[1].enc = 2;
	pg[1].nvalues = 6;
	buf_put_u8(&pg[1].values, 2); /* bit width */
	thrift_put_varint(&pg[1].values, 1 << 1 | 1);
	/* indices 2 1 0 0 1 2 (then padding) at 2 bits */
	buf_put_u8(&pg[1].values, 2 | 1 << 2 | 0 << 4 | 0 << 6);
	buf_put_u8(&pg[1].values, 1 | 2 << 2);
	pq_column_spec si = {.physical = PQ_INT32, .required = 1};
	hand_file(&f, &si, 2, pg, 2, 6);
	r = open_buf(&f, 0, err);
	static const int want[6] = {2, 1, 0, 0, 1, 2};
	for (int64_t row = 5; row >= 0; row--) {
		assert_int_equal(pq_reader_value(r, 0, row, &v, err), 0);
		assert_int_equal(v.v.i32, dict[want[row]]);
	}
	close_buf(r);

	/* RLE booleans: a run of 5 true, then bit-packed 1 0 1 */
	memset(pg, 0, sizeof(pg));
	pg[0].enc = 3;
	pg[0].nvalues = 8;
	buf rl = {0};
	thrift_put_varint(&rl, 5 << 1);
	buf_put_u8(&rl, 1);
	thrift_put_varint(&rl, 1 << 1 | 1);
	buf_put_u8(&rl, 0x05);
	buf_put_le32(&pg[0].values, (uint32_t)rl.len);
	buf_append(&pg[0].values, rl.data, rl.len);
	buf_release(&rl);
	pq_column_spec sb = {.physical = PQ_BOOLEAN, .required = 1};
	hand_file(&f, &sb, 0, pg, 1, 8);
	r = open_buf(&f, 0, err);
	static const int bw[8] = {1, 1, 1, 1, 1, 1, 0, 1};
	for (int64_t row = 0; row < 8; row++) {
		assert_int_equal(pq_reader_value(r, 0, row, &v, err), 0);
		assert_int_equal(v.v.b, bw[row]);
	}
	close_buf(r);

	/* DELTA_BINARY_PACKED INT64 with large deltas (64-bit widths) */
	int64_t big[300];
	for (int i = 0; i < 300; i++)
		big[i] = i % 2 ? INT64_MIN + i : INT64_MAX - i;
	memset(pg, 0, sizeof(pg));
	pg[0].enc = 5;
	pg[0].nvalues = 300;
	delta_put(&pg[0].values, big, 300);
	pq_column_spec sl = {.physical = PQ_INT64, .required = 1};
	hand_file(&f, &sl, 0, pg, 1, 300);
	r = open_buf(&f, 0, err);
	for (int64_t row = 0; row < 300; row += 7) {
		assert_int_equal(pq_reader_value(r, 0, row, &v, err), 0);
		assert_true(v.v.i64 == big[row]);
	}
	close_buf(r);
	buf_release(&f);
}

/* What the reader refuses, by name. */
static void test_unsupported(void **state)
{
	(void)state;
	char err[ERR_LEN];
	pq_value v;
	buf f = {0};
	hpage pg[1];

	/* INT96 */
	memset(pg, 0, sizeof(pg));
	pg[0].nvalues = 1;
	buf_append(&pg[0].values, "123456789012", 12);
	pq_column_spec s96 = {.physical = (pq_physical)3, .required = 1};
	hand_file(&f, &s96, 0, pg, 1, 1);
	pq_reader *r = open_buf(&f, 0, err);
	assert_int_equal(pq_reader_value(r, 0, 0, &v, err), FLOE_EINVAL);
	assert_non_null(strstr(err, "INT96"));
	close_buf(r);

	/* BIT_PACKED definition levels */
	memset(pg, 0, sizeof(pg));
	pg[0].nvalues = 1;
	pg[0].def_enc = 4;
	buf_put_le32(&pg[0].levels, 1);
	buf_put_u8(&pg[0].levels, 1);
	buf_put_le32(&pg[0].values, 5);
	pq_column_spec so = {.physical = PQ_INT32};
	hand_file(&f, &so, 0, pg, 1, 1);
	r = open_buf(&f, 0, err);
	assert_int_equal(pq_reader_value(r, 0, 0, &v, err), FLOE_EINVAL);
	assert_non_null(strstr(err, "level encoding"));
	close_buf(r);

	/* LZ4_RAW */
	memset(pg, 0, sizeof(pg));
	pg[0].nvalues = 1;
	buf_put_le32(&pg[0].values, 5);
	pq_column_spec sr = {.physical = PQ_INT32, .required = 1};
	hand_file(&f, &sr, 7, pg, 1, 1);
	r = open_buf(&f, 0, err);
	assert_int_equal(pq_reader_value(r, 0, 0, &v, err), FLOE_EINVAL);
	assert_non_null(strstr(err, "codec 7"));
	close_buf(r);

	/* DELTA_BINARY_PACKED on a DOUBLE column */
	memset(pg, 0, sizeof(pg));
	pg[0].nvalues = 1;
	pg[0].enc = 5;
	buf_put_le32(&pg[0].values, 5);
	pq_column_spec sx = {.physical = PQ_DOUBLE, .required = 1};
	hand_file(&f, &sx, 0, pg, 1, 1);
	r = open_buf(&f, 0, err);
	assert_int_equal(pq_reader_value(r, 0, 0, &v, err), FLOE_EINVAL);
	assert_non_null(strstr(err, "encoding 5"));
	close_buf(r);

	/* an encrypted footer */
	buf_reset(&f);
	buf_append(&f, "PAR1", 4);
	buf_put_le32(&f, 4);
	buf_append(&f, "PARE", 4);
	assert_null(open_buf(&f, FLOE_EINVAL, err));
	assert_non_null(strstr(err, "encrypted"));
	buf_release(&f);
}

/* ---- damage --------------------------------------------------------------- */

/* A small file: several row groups and pages, a dictionary, nulls, a list. */
static void small_file(buf *out, int codec)
{
	enum { N = 100 };
	pq_column_spec cols[4] = {
	    {.name = "a", .field_id = 1, .physical = PQ_INT32},
	    {.name = "s", .field_id = 2, .physical = PQ_BYTE_ARRAY, .logical = PQ_LOGICAL_STRING},
	    {.name = "l", .field_id = 3, .physical = PQ_INT64, .list = 1, .element_field_id = 4},
	    {.name = "d",
	     .field_id = 5,
	     .physical = PQ_FIXED_LEN_BYTE_ARRAY,
	     .logical = PQ_LOGICAL_DECIMAL,
	     .type_length = 16,
	     .precision = 38,
	     .required = 1},
	};
	static int32_t a[N];
	static uint8_t av[N], lv[N], ev[N * 3];
	static uint64_t soff[N + 1], loff[N + 1];
	static char sbytes[N * 4];
	static int64_t le[N * 3];
	static uint8_t dec[N * 16];
	size_t sp = 0, ne = 0;
	for (int i = 0; i < N; i++) {
		a[i] = i % 10;
		av[i] = i % 7 != 0;
		soff[i] = sp;
		sp += (size_t)snprintf(sbytes + sp, 5, "%d", i % 13);
		lv[i] = i % 5 != 0;
		loff[i] = ne;
		for (int k = 0; lv[i] && k < i % 4; k++) {
			le[ne] = i * 3 + k;
			ev[ne++] = k != 1;
		}
		memset(dec + i * 16, i % 2 ? 0xFF : 0, 16);
		dec[i * 16 + 15] = (uint8_t)i;
	}
	soff[N] = sp;
	loff[N] = ne;
	pq_column_data d[4] = {
	    {.valid = av, .values = a},
	    {.offsets = soff, .bytes = (const uint8_t *)sbytes},
	    {.valid = lv, .values = le, .list_offsets = loff, .elem_valid = ev},
	    {.values = dec},
	};
	pq_options o;
	pq_options_default(&o);
	o.codec = (pq_codec)codec;
	o.page_bytes = 200;
	o.row_group_bytes = 1200;
	char err[ERR_LEN];
	pq_writer *w;
	assert_int_equal(pq_writer_open(cols, 4, NULL, 0, &o, mem_write, out, &w, err), 0);
	assert_int_equal(pq_writer_write(w, d, N, err), 0);
	pq_file_result res;
	assert_int_equal(pq_writer_close(w, &res, err), 0);
	assert_true(res.nrow_groups > 1);
	pq_file_result_free(&res);
}

/* Opens n bytes (an exact heap copy) and reads every cell; any error must
 * be ECORRUPT or EINVAL with a message naming the file. */
static void read_damaged(const uint8_t *p, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	if (n)
		memcpy(copy, p, n);
	char err[ERR_LEN];
	pq_reader *r;
	int rc = pq_reader_open_mem(copy, n, "damaged.parquet", &r, err);
	if (rc == 0) {
		int64_t rows = pq_reader_num_rows(r);
		int ncols = pq_reader_ncols(r);
		for (int64_t row = 0; row < rows && row < 100000; row++) {
			for (int c = 0; c < ncols; c++) {
				pq_value v;
				int64_t len;
				const pq_reader_column *ci = pq_reader_column_info(r, c);
				if (ci->max_rep == 0) {
					rc = pq_reader_value(r, c, row, &v, err);
				} else if ((rc = pq_reader_list(r, c, row, &len, err)) == 0) {
					for (int64_t e = 0; e < len && rc == 0; e++)
						rc = pq_reader_elem(r, c, &v, err);
				}
				if (rc && rc != FLOE_ECORRUPT && rc != FLOE_EINVAL)
					fail_msg("rc %d: %s", rc, err);
				if (rc)
					assert_non_null(strstr(err, "damaged.parquet"));
			}
		}
		pq_reader_close(r);
	} else {
		if (rc != FLOE_ECORRUPT && rc != FLOE_EINVAL)
			fail_msg("open rc %d: %s", rc, err);
		assert_non_null(strstr(err, "damaged.parquet"));
	}
	free(copy);
}

static void test_damaged_files(void **state)
{
	(void)state;
	/* k = 3: uncompressed without its page index (page headers walked) */
	static const int codecs[4] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY, PQ_CODEC_ZSTD,
	                              PQ_CODEC_UNCOMPRESSED};
	for (int k = 0; k < 4; k++) {
		buf f = {0};
		small_file(&f, codecs[k]);
		if (k == 3)
			strip_page_index(&f);
		read_damaged(f.data, f.len); /* the intact file reads */
		uint8_t *m = malloc(f.len);
		assert_non_null(m);
		for (size_t pos = 0; pos < f.len; pos++) {
			static const uint8_t masks[] = {0xFF, 0x01, 0x80};
			for (int j = 0; j < 3; j++) {
				if (k > 0 && j > 0)
					continue; /* one mask is enough for the compressed files */
				memcpy(m, f.data, f.len);
				m[pos] ^= masks[j];
				read_damaged(m, f.len);
			}
		}
		for (size_t len = 0; len < f.len; len += k ? 7 : 1) {
			read_damaged(f.data, len);
			/* the footer kept, a piece cut out of the middle */
			if (len + 16 < f.len) {
				memcpy(m, f.data, len);
				memcpy(m + len, f.data + len + 9, f.len - len - 9);
				read_damaged(m, f.len - 9);
			}
		}
		free(m);
		buf_release(&f);
	}
	/* junk */
	rng_state = 99;
	for (int i = 0; i < 2000; i++) {
		uint8_t j[64];
		size_t n = rnd() % sizeof(j);
		for (size_t q = 0; q < n; q++)
			j[q] = (uint8_t)rnd();
		if (n >= 12) {
			memcpy(j, "PAR1", 4);
			memcpy(j + n - 4, "PAR1", 4);
			put_le32(j + n - 8, (uint32_t)(rnd() % (n - 11)));
		}
		read_damaged(j, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_0),        cmocka_unit_test(test_config_1),
	    cmocka_unit_test(test_config_2),        cmocka_unit_test(test_config_3),
	    cmocka_unit_test(test_config_4),        cmocka_unit_test(test_config_5),
	    cmocka_unit_test(test_open_file),       cmocka_unit_test(test_v2_delta_byte_array_gzip),
	    cmocka_unit_test(test_other_encodings), cmocka_unit_test(test_unsupported),
	    cmocka_unit_test(test_damaged_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
