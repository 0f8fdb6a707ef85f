/*
 * test_parquet — byte-level tests of the Parquet writer (src/format/parquet.c).
 *
 * Files are written to memory. Exact bytes are asserted for a whole page
 * (header and values), definition levels (RLE and bit-packed runs and the
 * group padding between them), dictionary pages and RLE_DICTIONARY indices,
 * BOOLEAN bit packing, DELTA_BINARY_PACKED and DELTA_LENGTH_BYTE_ARRAY, the
 * footer's Statistics structs (float zero signs, truncated string bounds)
 * and the file tail. A small compact-protocol reader walks the pages to
 * check dictionary fallback and that ZSTD/Snappy pages decompress to the
 * uncompressed ones. Statistics of every type are checked through
 * pq_file_result (exact values) including NaN, -0.0, negative decimals in
 * FLBA and strings with high bytes. Errors: bad specs, nulls in required
 * columns, a failing sink. List columns: the exact page (repetition then
 * definition levels, values), schema elements and column path; pages cut on
 * row boundaries only (a list longer than the page limit gets a page of its
 * own) with the OffsetIndex counting rows; required lists and elements; a
 * dictionary that fills up inside a list, decoded back value by value; bad
 * list data. Runs under ASan+UBSan without leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <zstd.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/parquet.h"
#include "format/thrift.h"

/* ---- helpers ----------------------------------------------------------- */

typedef struct mem_sink {
	buf out;
	int calls;
	int fail_at; /* fail the Nth call (1-based); 0 never */
} mem_sink;

static int mem_write(void *ctx, const void *p, size_t n, char *err)
{
	mem_sink *s = ctx;
	if (++s->calls == s->fail_at)
		return errf(err, FLOE_EIO, "disk full");
	buf_append(&s->out, p, n);
	return buf_ok(&s->out) ? 0 : errf(err, FLOE_ENOMEM, "oom");
}

static pq_options opts_plain(void)
{
	pq_options o;
	pq_options_default(&o);
	o.codec = PQ_CODEC_UNCOMPRESSED;
	o.dict_max_bytes = 0;
	return o;
}

/* Writes one batch; returns 0 or the error of the failing call. */
static int write_file(const pq_column_spec *cols, int ncols, const pq_column_data *data,
                      size_t nrows, const pq_options *o, mem_sink *s, pq_file_result *res)
{
	char err[ERR_LEN];
	pq_writer *w;
	int rc = pq_writer_open(cols, ncols, NULL, 0, o, mem_write, s, &w, err);
	if (rc)
		return rc;
	rc = pq_writer_write(w, data, nrows, err);
	if (rc) {
		pq_writer_abort(w);
		return rc;
	}
	return pq_writer_close(w, res, err);
}

static const uint8_t *find(const buf *b, const void *needle, size_t n)
{
	return memmem(b->data, b->len, needle, n);
}

#define HAS(b, ...)                                                                                \
	do {                                                                                       \
		static const uint8_t want_[] = {__VA_ARGS__};                                      \
		assert_non_null(find((b), want_, sizeof(want_)));                                  \
	} while (0)

/* A minimal compact-protocol reader: enough to walk page headers. */
typedef struct rd {
	const uint8_t *p;
	size_t n, i;
	int bad;
} rd;

static uint64_t rd_varint(rd *r)
{
	uint64_t v = 0;
	for (int s = 0; s < 64 && r->i < r->n; s += 7) {
		uint8_t b = r->p[r->i++];
		v |= (uint64_t)(b & 0x7F) << s;
		if (!(b & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

static int64_t rd_zigzag(rd *r)
{
	uint64_t v = rd_varint(r);
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static void rd_skip(rd *r, int type);

static void rd_skip_struct(rd *r)
{
	while (!r->bad && r->i < r->n) {
		uint8_t h = r->p[r->i++];
		if (h == 0)
			return;
		if ((h >> 4) == 0)
			rd_zigzag(r);
		rd_skip(r, h & 0x0F);
	}
}

static void rd_skip(rd *r, int type)
{
	switch (type) {
	case 1:
	case 2:
		break;
	case 3:
		r->i++;
		break;
	case 4:
	case 5:
	case 6:
		rd_varint(r);
		break;
	case 7:
		r->i += 8;
		break;
	case 8:
		r->i += rd_varint(r);
		break;
	case 9: {
		uint8_t h = r->p[r->i++];
		uint64_t n = h >> 4;
		if (n == 15)
			n = rd_varint(r);
		for (uint64_t k = 0; k < n && !r->bad; k++)
			rd_skip(r, (h & 0x0F) == 1 ? 3 : h & 0x0F);
		break;
	}
	case 12:
		rd_skip_struct(r);
		break;
	default:
		r->bad = 1;
	}
}

typedef struct page {
	int type; /* 0 data, 2 dictionary */
	int32_t uncompressed, compressed, num_values, encoding;
	size_t header_len;
	const uint8_t *body;
} page;

/* Parses the PageHeader at p; 0 on success. */
static int read_page(const uint8_t *p, size_t n, page *pg)
{
	rd r = {p, n, 0, 0};
	int16_t last = 0;
	memset(pg, 0, sizeof(*pg));
	while (!r.bad && r.i < r.n) {
		uint8_t h = p[r.i++];
		if (h == 0)
			break;
		int16_t id = (h >> 4) ? (int16_t)(last + (h >> 4)) : (int16_t)rd_zigzag(&r);
		last = id;
		int type = h & 0x0F;
		if (type == 5 && id <= 3) {
			int32_t v = (int32_t)rd_zigzag(&r);
			if (id == 1)
				pg->type = v;
			else if (id == 2)
				pg->uncompressed = v;
			else
				pg->compressed = v;
		} else if (type == 12 && (id == 5 || id == 7)) {
			int16_t l2 = 0;
			while (!r.bad && r.i < r.n) {
				uint8_t h2 = p[r.i++];
				if (h2 == 0)
					break;
				int16_t id2 =
				    (h2 >> 4) ? (int16_t)(l2 + (h2 >> 4)) : (int16_t)rd_zigzag(&r);
				l2 = id2;
				if ((h2 & 0x0F) == 5 && id2 <= 2) {
					int32_t v = (int32_t)rd_zigzag(&r);
					if (id2 == 1)
						pg->num_values = v;
					else
						pg->encoding = v;
				} else {
					rd_skip(&r, h2 & 0x0F);
				}
			}
		} else {
			rd_skip(&r, type);
		}
	}
	if (r.bad)
		return -1;
	pg->header_len = r.i;
	pg->body = p + r.i;
	return 0;
}

/* Walks the pages of a file whose single row group starts at offset 4 and
 * whose pages end where `end` is (first byte not a page). */
static int walk_pages(const buf *f, size_t end, page *pages, int max)
{
	size_t off = 4;
	int n = 0;
	while (off < end && n < max) {
		if (read_page(f->data + off, end - off, &pages[n]))
			return -1;
		off += pages[n].header_len + (size_t)pages[n].compressed;
		n++;
	}
	return off == end ? n : -1;
}

/* ---- tests ------------------------------------------------------------- */

static void test_file_tail_and_magic(void **state)
{
	(void)state;
	pq_column_spec col = {.name = "id", .field_id = 1, .physical = PQ_INT64, .required = 1};
	int64_t v[3] = {1, 2, 3};
	pq_column_data d = {.values = v};
	pq_options o;
	pq_options_default(&o);
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(&col, 1, &d, 3, &o, &s, &res), 0);
	const uint8_t *f = s.out.data;
	size_t n = s.out.len;
	assert_memory_equal(f, "PAR1", 4);
	assert_memory_equal(f + n - 4, "PAR1", 4);
	uint32_t flen = get_le32(f + n - 8);
	assert_true(flen > 0 && flen < n - 12);
	/* FileMetaData starts with version = 1 and ends with its stop byte. */
	const uint8_t *footer = f + n - 8 - flen;
	assert_int_equal(footer[0], 0x15);
	assert_int_equal(footer[1], 0x02);
	assert_int_equal(footer[flen - 1], 0x00);
	assert_int_equal(res.file_size, (int64_t)n);
	assert_int_equal(res.num_rows, 3);
	assert_int_equal(res.nrow_groups, 1);
	assert_int_equal(res.row_group_offsets[0], 4);
	/* created_by (field 6, right after row_groups: delta 2) */
	assert_non_null(memmem(footer, flen,
	                       "\x28\x04"
	                       "floe",
	                       6));
	pq_file_result_free(&res);
	buf_release(&s.out);
}

static void test_exact_plain_page(void **state)
{
	(void)state;
	pq_column_spec col = {.name = "x", .field_id = 7, .physical = PQ_INT32, .required = 1};
	int32_t v[3] = {5, -1, 300};
	pq_column_data d = {.values = v};
	pq_options o = opts_plain();
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(&col, 1, &d, 3, &o, &s, &res), 0);
	static const uint8_t want[] = {
	    'P',  'A',  'R',  '1',  0x15, 0x00, /* type DATA_PAGE */
	    0x15, 0x18,                         /* uncompressed 12 */
	    0x15, 0x18,                         /* compressed 12 */
	    0x2C,                               /* data_page_header */
	    0x15, 0x06,                         /* num_values 3 */
	    0x15, 0x00,                         /* PLAIN */
	    0x15, 0x06, 0x15, 0x06,             /* RLE, RLE */
	    0x1C,                               /* statistics */
	    0x36, 0x00,                         /* null_count 0 */
	    0x28, 0x04, 0x2C, 0x01, 0x00, 0x00, /* max_value 300 */
	    0x18, 0x04, 0xFF, 0xFF, 0xFF, 0xFF, /* min_value -1 */
	    0x11, 0x11,                         /* exact, exact */
	    0x00, 0x00, 0x00,                   /* stops */
	    0x05, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0x2C, 0x01, 0x00, 0x00,
	};
	assert_true(s.out.len > sizeof(want));
	assert_memory_equal(s.out.data, want, sizeof(want));
	/* The schema element: type INT32, REQUIRED, name, field_id 7. */
	HAS(&s.out, 0x15, 0x02, 0x25, 0x00, 0x18, 0x01, 'x', 0x55, 0x0E, 0x00);
	pq_file_result_free(&res);
	buf_release(&s.out);
}

/* Writes an optional INT32 column with the given validity and checks the
 * definition levels (length prefix + RLE hybrid) followed by the values. */
static void check_def_levels(const uint8_t *valid, size_t n, const uint8_t *levels, size_t nlevels)
{
	pq_column_spec col = {.name = "o", .field_id = 1, .physical = PQ_INT32};
	int32_t v[64];
	for (size_t i = 0; i < n; i++)
		v[i] = (int32_t)(0x11111111u * (i % 7 + 1));
	pq_column_data d = {.valid = valid, .values = v};
	pq_options o = opts_plain();
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(&col, 1, &d, n, &o, &s, &res), 0);
	buf want = {0};
	buf_put_le32(&want, (uint32_t)nlevels);
	buf_append(&want, levels, nlevels);
	for (size_t i = 0; i < n; i++)
		if (valid[i])
			buf_put_le32(&want, (uint32_t)v[i]);
	assert_non_null(find(&s.out, want.data, want.len));
	buf_release(&want);
	pq_file_result_free(&res);
	buf_release(&s.out);
}

static void test_def_levels_rle_bitpacked(void **state)
{
	(void)state;
	uint8_t all[10];
	memset(all, 1, sizeof(all));
	static const uint8_t l_all[] = {0x14, 0x01}; /* RLE run of 10 ones */
	check_def_levels(all, 10, l_all, sizeof(l_all));

	uint8_t alt[16];
	for (int i = 0; i < 16; i++)
		alt[i] = (uint8_t) !(i & 1);
	static const uint8_t l_alt[] = {0x05, 0x55, 0x55}; /* 2 bit-packed groups */
	check_def_levels(alt, 16, l_alt, sizeof(l_alt));

	/* 3 valid, 20 null, 5 valid: the literal run borrows 5 nulls to end
	 * on a group boundary, then 15 nulls run-length, then the tail is
	 * bit-packed and zero-padded. */
	uint8_t mix[28];
	memset(mix, 0, sizeof(mix));
	memset(mix, 1, 3);
	memset(mix + 23, 1, 5);
	static const uint8_t l_mix[] = {0x03, 0x07, 0x1E, 0x00, 0x03, 0x1F};
	check_def_levels(mix, 28, l_mix, sizeof(l_mix));

	/* 8 valid then 9 null: two RLE runs, no literals */
	uint8_t runs[17];
	memset(runs, 0, sizeof(runs));
	memset(runs, 1, 8);
	static const uint8_t l_runs[] = {0x10, 0x01, 0x12, 0x00};
	check_def_levels(runs, 17, l_runs, sizeof(l_runs));
}

static void test_boolean_plain_bits(void **state)
{
	(void)state;
	pq_column_spec col = {.name = "b", .field_id = 1, .physical = PQ_BOOLEAN, .required = 1};
	uint8_t v[9] = {1, 0, 1, 1, 0, 0, 0, 1, 7}; /* any non-zero is true */
	pq_column_data d = {.values = v};
	pq_options o = opts_plain();
	o.dict_max_bytes = 1 << 20; /* booleans never use a dictionary */
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(&col, 1, &d, 9, &o, &s, &res), 0);
	page pg;
	assert_int_equal(read_page(s.out.data + 4, s.out.len - 4, &pg), 0);
	assert_int_equal(pg.type, 0);
	assert_int_equal(pg.encoding, 0);
	assert_int_equal(pg.uncompressed, 2);
	assert_int_equal(pg.body[0], 0x8D);
	assert_int_equal(pg.body[1], 0x01);
	assert_int_equal(res.cols[0].min[0], 0);
	assert_int_equal(res.cols[0].max[0], 1);
	pq_file_result_free(&res);
	buf_release(&s.out);
}

static void test_dictionary_pages(void **state)
{
	(void)state;
	pq_column_spec col = {.name = "d", .field_id = 1, .physical = PQ_INT64, .required = 1};
	int64_t v[12] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 9, 9};
	pq_column_data d = {.values = v};
	pq_options o = opts_plain();
	o.dict_max_bytes = 1 << 20;
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(&col, 1, &d, 12, &o, &s, &res), 0);
	static const uint8_t want[] = {
	    'P',  'A',  'R',  '1',  0x15, 0x04, 0x15, 0x20, 0x15, 0x20, /* DICTIONARY_PAGE, 16, 16
	                                                                 */
	    0x4C, 0x15, 0x04, 0x15, 0x00, 0x00,                         /* 2 values, PLAIN */
	    0x00, 7,    0,    0,    0,    0,    0,    0,    0,    9,    0, 0, 0, 0, 0, 0, 0,
	};
	assert_memory_equal(s.out.data, want, sizeof(want));
	page pg;
	assert_int_equal(read_page(s.out.data + sizeof(want), s.out.len - sizeof(want), &pg), 0);
	assert_int_equal(pg.type, 0);
	assert_int_equal(pg.encoding, 8); /* RLE_DICTIONARY */
	assert_int_equal(pg.num_values, 12);
	/* bit width 1; RLE run of ten 0s; bit-packed (1, 1) padded to 8 */
	static const uint8_t body[] = {0x01, 0x14, 0x00, 0x03, 0x03};
	assert_int_equal(pg.uncompressed, sizeof(body));
	assert_memory_equal(pg.body, body, sizeof(body));
	/* encodings PLAIN, RLE_DICTIONARY; encoding_stats: 1 dictionary page
	 * PLAIN, 1 data page RLE_DICTIONARY */
	HAS(&s.out, 0x19, 0x25, 0x00, 0x10);
	HAS(&s.out, 0x15, 0x04, 0x15, 0x00, 0x15, 0x02, 0x00, 0x15, 0x00, 0x15, 0x10, 0x15, 0x02,
	    0x00);
	pq_file_result_free(&res);
	buf_release(&s.out);
}

static void test_dictionary_fallback(void **state)
{
	(void)state;
	enum { N = 600 };
	pq_column_spec col = {.name = "f", .field_id = 1, .physical = PQ_INT32, .required = 1};
	int32_t v[N];
	for (int i = 0; i < N; i++)
		v[i] = i < 200 ? i % 3 : i * 17; /* repeats, then distinct */
	pq_column_data d = {.values = v};
	pq_options o = opts_plain();
	o.dict_max_bytes = 256; /* 64 entries */
	o.page_bytes = 400;     /* 100 rows a page */
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(&col, 1, &d, N, &o, &s, &res), 0);
	page pg[32];
	/* pages end where the column index section starts: find it by walking
	 * until the walk lands on a non-page; the chunk holds all N rows. */
	size_t off = 4;
	int n = 0, dict = 0, rle_dict = 0, plain = 0, rows = 0, plain_after = 1;
	while (n < 32 && rows < N) {
		assert_int_equal(read_page(s.out.data + off, s.out.len - off, &pg[n]), 0);
		if (pg[n].type == 2) {
			assert_int_equal(n, 0); /* the dictionary page comes first */
			dict++;
			assert_int_equal(pg[n].uncompressed, 4 * pg[n].num_values);
			assert_true(pg[n].uncompressed <= 256);
		} else {
			rows += pg[n].num_values;
			if (pg[n].encoding == 8) {
				rle_dict++;
				plain_after &= plain == 0;
			} else {
				assert_int_equal(pg[n].encoding, 0);
				plain++;
			}
		}
		off += pg[n].header_len + (size_t)pg[n].compressed;
		n++;
	}
	assert_int_equal(rows, N);
	assert_int_equal(dict, 1);
	assert_true(rle_dict >= 2);
	assert_true(plain >= 2);
	assert_true(plain_after); /* PLAIN only after the dictionary pages */
	assert_int_equal(walk_pages(&s.out, off, pg, 32), n);
	pq_file_result_free(&res);
	buf_release(&s.out);

	/* All distinct from the start: no dictionary page at all. */
	for (int i = 0; i < N; i++)
		v[i] = i * 31;
	o.dict_max_bytes = 1 << 20;
	memset(&s, 0, sizeof(s));
	assert_int_equal(write_file(&col, 1, &d, N, &o, &s, &res), 0);
	assert_int_equal(read_page(s.out.data + 4, s.out.len - 4, &pg[0]), 0);
	assert_int_equal(pg[0].type, 0);
	assert_int_equal(pg[0].encoding, 0);
	pq_file_result_free(&res);
	buf_release(&s.out);
}

static void test_delta_encodings(void **state)
{
	(void)state;
	pq_column_spec cols[2] = {
	    {.name = "i", .field_id = 1, .physical = PQ_INT64, .required = 1},
	    {.name = "s",
	     .field_id = 2,
	     .physical = PQ_BYTE_ARRAY,
	     .logical = PQ_LOGICAL_STRING,
	     .required = 1},
	};
	int64_t v[5] = {1, 2, 3, 4, 5};
	uint64_t off[6] = {0, 1, 3, 3, 3, 3};
	pq_column_data d[2] = {{.values = v}, {.offsets = off, .bytes = (const uint8_t *)"abb"}};
	pq_options o = opts_plain();
	o.delta_encodings = 1;
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(cols, 2, d, 5, &o, &s, &res), 0);
	/* block 128, 4 miniblocks, 5 values, first 1; min delta 1, widths 0 */
	HAS(&s.out, 0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00);
	/* lengths 1,2,0,0,0: deltas 1,-2,0,0 -> min -2; packed 3,0,2,2 in 2
	 * bits: 0b10100011 = 0xA3, then 7 zero bytes; then "abb" */
	HAS(&s.out, 0x80, 0x01, 0x04, 0x05, 0x02, 0x03, 0x02, 0x00, 0x00, 0x00, 0xA3, 0x00, 0x00,
	    0x00, 0x00, 0x00, 0x00, 0x00, 'a', 'b', 'b');
	pq_file_result_free(&res);
	buf_release(&s.out);
}

/* Statistics struct bytes for a 4-byte float column chunk. */
static void test_float_statistics(void **state)
{
	(void)state;
	pq_column_spec col = {.name = "f", .field_id = 1, .physical = PQ_FLOAT, .required = 1};
	pq_options o = opts_plain();
	mem_sink s = {0};
	pq_file_result res;

	/* NaN and both zeros: exact min -0.0, max 1.5, one NaN */
	float a[4] = {NAN, 0.0f, -0.0f, 1.5f};
	pq_column_data d = {.values = a};
	assert_int_equal(write_file(&col, 1, &d, 4, &o, &s, &res), 0);
	assert_int_equal(res.cols[0].nan_count, 1);
	assert_true(res.cols[0].has_min_max);
	float mn, mx;
	memcpy(&mn, res.cols[0].min, 4);
	memcpy(&mx, res.cols[0].max, 4);
	assert_true(mn == 0 && signbit(mn));
	assert_true(mx == 1.5f);
	/* null_count 0, max 1.5, min -0.0, exact, exact, nan_count 1 */
	HAS(&s.out, 0x1C, 0x36, 0x00, 0x28, 0x04, 0x00, 0x00, 0xC0, 0x3F, 0x18, 0x04, 0x00, 0x00,
	    0x00, 0x80, 0x11, 0x11, 0x16, 0x02, 0x00);
	pq_file_result_free(&res);
	buf_release(&s.out);

	/* Only +0.0 as minimum: written -0.0 (not exact), result exact +0.0.
	 * Only -0.0 as maximum: written +0.0 (not exact). */
	float b[2] = {0.0f, 2.0f};
	d.values = b;
	memset(&s, 0, sizeof(s));
	assert_int_equal(write_file(&col, 1, &d, 2, &o, &s, &res), 0);
	memcpy(&mn, res.cols[0].min, 4);
	assert_true(mn == 0 && !signbit(mn));
	HAS(&s.out, 0x18, 0x04, 0x00, 0x00, 0x00, 0x80, 0x11, 0x12);
	pq_file_result_free(&res);
	buf_release(&s.out);

	float c[2] = {-3.0f, -0.0f};
	d.values = c;
	memset(&s, 0, sizeof(s));
	assert_int_equal(write_file(&col, 1, &d, 2, &o, &s, &res), 0);
	memcpy(&mx, res.cols[0].max, 4);
	assert_true(mx == 0 && signbit(mx));
	HAS(&s.out, 0x28, 0x04, 0x00, 0x00, 0x00, 0x00, 0x18, 0x04, 0x00, 0x00, 0x40, 0xC0, 0x12,
	    0x11);
	pq_file_result_free(&res);
	buf_release(&s.out);

	/* All NaN: no min/max anywhere, nan_count 2, and no column index */
	float e[2] = {NAN, -NAN};
	d.values = e;
	memset(&s, 0, sizeof(s));
	assert_int_equal(write_file(&col, 1, &d, 2, &o, &s, &res), 0);
	assert_false(res.cols[0].has_min_max);
	assert_int_equal(res.cols[0].nan_count, 2);
	HAS(&s.out, 0x1C, 0x36, 0x00, 0x66, 0x04, 0x00); /* null_count, nan_count 2 */
	pq_file_result_free(&res);
	buf_release(&s.out);
}

static void test_double_infinities(void **state)
{
	(void)state;
	pq_column_spec col = {.name = "d", .field_id = 1, .physical = PQ_DOUBLE};
	double v[4] = {-INFINITY, 1.0, INFINITY, 0.0};
	uint8_t valid[4] = {1, 1, 1, 0};
	pq_column_data d = {.valid = valid, .values = v};
	pq_options o = opts_plain();
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(&col, 1, &d, 4, &o, &s, &res), 0);
	double mn, mx;
	memcpy(&mn, res.cols[0].min, 8);
	memcpy(&mx, res.cols[0].max, 8);
	assert_true(isinf(mn) && mn < 0);
	assert_true(isinf(mx) && mx > 0);
	assert_int_equal(res.cols[0].null_count, 1);
	assert_int_equal(res.cols[0].nan_count, 0);
	pq_file_result_free(&res);
	buf_release(&s.out);
}

static void check_minmax(const pq_column_spec *col, const pq_column_data *d, size_t n,
                         const void *mn, size_t mnl, const void *mx, size_t mxl)
{
	pq_options o;
	pq_options_default(&o);
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(col, 1, d, n, &o, &s, &res), 0);
	assert_true(res.cols[0].has_min_max);
	assert_int_equal(res.cols[0].min_len, mnl);
	assert_int_equal(res.cols[0].max_len, mxl);
	assert_memory_equal(res.cols[0].min, mn, mnl);
	assert_memory_equal(res.cols[0].max, mx, mxl);
	pq_file_result_free(&res);
	buf_release(&s.out);
}

static void test_statistics_every_type(void **state)
{
	(void)state;
	/* INT32 signed */
	pq_column_spec c32 = {.name = "i", .field_id = 1, .physical = PQ_INT32, .required = 1};
	int32_t i32[4] = {-5, 3, INT32_MIN, 7};
	pq_column_data d = {.values = i32};
	int32_t lo32 = INT32_MIN, hi32 = 7;
	check_minmax(&c32, &d, 4, &lo32, 4, &hi32, 4);

	/* INT64 with nulls: the null slot (INT64_MIN) is ignored */
	pq_column_spec c64 = {.name = "l", .field_id = 1, .physical = PQ_INT64};
	int64_t i64[3] = {INT64_MIN, -2, 40};
	uint8_t valid[3] = {0, 1, 1};
	d = (pq_column_data){.valid = valid, .values = i64};
	int64_t lo64 = -2, hi64 = 40;
	check_minmax(&c64, &d, 3, &lo64, 8, &hi64, 8);

	/* BOOLEAN all false */
	pq_column_spec cb = {.name = "b", .field_id = 1, .physical = PQ_BOOLEAN, .required = 1};
	uint8_t bv[2] = {0, 0}, zero = 0;
	d = (pq_column_data){.values = bv};
	check_minmax(&cb, &d, 2, &zero, 1, &zero, 1);

	/* DOUBLE with NaN */
	pq_column_spec cd = {.name = "d", .field_id = 1, .physical = PQ_DOUBLE, .required = 1};
	double dv[3] = {2.5, NAN, -1.25};
	d = (pq_column_data){.values = dv};
	double dlo = -1.25, dhi = 2.5;
	check_minmax(&cd, &d, 3, &dlo, 8, &dhi, 8);

	/* STRING: unsigned bytes, so é (C3 A9) sorts after z */
	pq_column_spec cs = {.name = "s",
	                     .field_id = 1,
	                     .physical = PQ_BYTE_ARRAY,
	                     .logical = PQ_LOGICAL_STRING,
	                     .required = 1};
	const char *sb = "az\xC3\xA9"
	                 "ab";
	uint64_t so[6] = {0, 1, 2, 4, 4, 6}; /* a, z, é, "", ab */
	d = (pq_column_data){.offsets = so, .bytes = (const uint8_t *)sb};
	check_minmax(&cs, &d, 5, "", 0, "\xC3\xA9", 2);

	/* BYTE_ARRAY binary: 0xFF 0x00 is the max, an empty value the min */
	pq_column_spec cbin = {.name = "x", .field_id = 1, .physical = PQ_BYTE_ARRAY};
	static const uint8_t bb[] = {0x7F, 0x80, 0xFF, 0x00, 0x00};
	uint64_t bo[5] = {0, 1, 2, 4, 5};
	d = (pq_column_data){.offsets = bo, .bytes = bb};
	static const uint8_t bmin[] = {0x00}, bmax[] = {0xFF, 0x00};
	check_minmax(&cbin, &d, 4, bmin, 1, bmax, 2);

	/* DECIMAL(38,10) FLBA(16): signed big-endian two's complement */
	pq_column_spec cdec = {.name = "m",
	                       .field_id = 1,
	                       .physical = PQ_FIXED_LEN_BYTE_ARRAY,
	                       .logical = PQ_LOGICAL_DECIMAL,
	                       .type_length = 16,
	                       .precision = 38,
	                       .scale = 10,
	                       .required = 1};
	uint8_t dec[4][16];
	memset(dec, 0, sizeof(dec));
	dec[0][15] = 1;           /* +1 */
	memset(dec[1], 0xFF, 16); /* -1 */
	memset(dec[2], 0xFF, 16); /* -2^100 */
	memset(dec[2] + 3, 0, 13);
	dec[2][3] = 0xF0;
	dec[3][15] = 5; /* +5 */
	d = (pq_column_data){.values = dec};
	check_minmax(&cdec, &d, 4, dec[2], 16, dec[3], 16);

	/* UUID: unsigned bytes */
	pq_column_spec cu = {.name = "u",
	                     .field_id = 1,
	                     .physical = PQ_FIXED_LEN_BYTE_ARRAY,
	                     .logical = PQ_LOGICAL_UUID,
	                     .type_length = 16,
	                     .required = 1};
	uint8_t u[2][16];
	memset(u[0], 0x80, 16);
	memset(u[1], 0x7F, 16);
	d = (pq_column_data){.values = u};
	check_minmax(&cu, &d, 2, u[1], 16, u[0], 16);

	/* DATE and TIMESTAMP: signed ints */
	pq_column_spec cdt = {.name = "t",
	                      .field_id = 1,
	                      .physical = PQ_INT32,
	                      .logical = PQ_LOGICAL_DATE,
	                      .required = 1};
	int32_t days[3] = {-719162, 0, 2932896};
	d = (pq_column_data){.values = days};
	check_minmax(&cdt, &d, 3, &days[0], 4, &days[2], 4);
	pq_column_spec cts = {.name = "t",
	                      .field_id = 1,
	                      .physical = PQ_INT64,
	                      .logical = PQ_LOGICAL_TIMESTAMP,
	                      .utc_adjusted = 1,
	                      .required = 1};
	int64_t ts[2] = {1700000000000000, -1};
	d = (pq_column_data){.values = ts};
	check_minmax(&cts, &d, 2, &ts[1], 8, &ts[0], 8);

	/* All null: no min/max */
	pq_column_spec cn = {.name = "n", .field_id = 1, .physical = PQ_INT32};
	uint8_t none[2] = {0, 0};
	d = (pq_column_data){.valid = none, .values = i32};
	pq_options o;
	pq_options_default(&o);
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(&cn, 1, &d, 2, &o, &s, &res), 0);
	assert_false(res.cols[0].has_min_max);
	assert_int_equal(res.cols[0].null_count, 2);
	assert_int_equal(res.cols[0].num_values, 2);
	pq_file_result_free(&res);
	buf_release(&s.out);
}

static void test_long_string_bounds(void **state)
{
	(void)state;
	/* 63 'a' + "é" (cut at 64 lands inside é) + "z"; and 70 'b'. */
	buf b = {0};
	for (int i = 0; i < 63; i++)
		buf_put_u8(&b, 'a');
	buf_append_str(&b, "\xC3\xA9z");
	size_t l1 = b.len;
	for (int i = 0; i < 70; i++)
		buf_put_u8(&b, 'b');
	uint64_t off[3] = {0, l1, b.len};
	pq_column_spec col = {.name = "s",
	                      .field_id = 1,
	                      .physical = PQ_BYTE_ARRAY,
	                      .logical = PQ_LOGICAL_STRING,
	                      .required = 1};
	pq_column_data d = {.offsets = off, .bytes = b.data};
	pq_options o = opts_plain();
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(&col, 1, &d, 2, &o, &s, &res), 0);
	/* exact values in the result */
	assert_int_equal(res.cols[0].min_len, l1);
	assert_memory_equal(res.cols[0].min, b.data, l1);
	assert_int_equal(res.cols[0].max_len, 70);
	/* footer: max = 63 'b' + 'c' (64 bytes), min = 63 'a' (no half é),
	 * both marked inexact */
	buf want = {0};
	buf_put_u8(&want, 0x28);
	buf_put_u8(&want, 64);
	for (int i = 0; i < 63; i++)
		buf_put_u8(&want, 'b');
	buf_put_u8(&want, 'c');
	buf_put_u8(&want, 0x18);
	buf_put_u8(&want, 63);
	for (int i = 0; i < 63; i++)
		buf_put_u8(&want, 'a');
	buf_put_u8(&want, 0x12);
	buf_put_u8(&want, 0x12);
	assert_non_null(find(&s.out, want.data, want.len));
	buf_release(&want);
	pq_file_result_free(&res);
	buf_release(&s.out);
	buf_release(&b);
}

/* The same pages, compressed, decompress to the uncompressed bytes. */
static void test_codecs_roundtrip(void **state)
{
	(void)state;
	enum { N = 5000 };
	pq_column_spec col = {.name = "v", .field_id = 1, .physical = PQ_INT64};
	int64_t v[N];
	uint8_t valid[N];
	for (int i = 0; i < N; i++) {
		v[i] = (int64_t)i * i;
		valid[i] = i % 13 != 0;
	}
	pq_column_data d = {.valid = valid, .values = v};
	pq_codec codecs[3] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_ZSTD, PQ_CODEC_SNAPPY};
	buf raw[3] = {{0}};
	int npages = -1;
	for (int k = 0; k < 3; k++) {
		pq_options o;
		pq_options_default(&o);
		o.codec = codecs[k];
		o.page_bytes = 4096;
		mem_sink s = {0};
		pq_file_result res;
		assert_int_equal(write_file(&col, 1, &d, N, &o, &s, &res), 0);
		size_t off = 4;
		int rows = 0, n = 0;
		while (rows < N) {
			page pg;
			assert_int_equal(read_page(s.out.data + off, s.out.len - off, &pg), 0);
			size_t got = (size_t)pg.uncompressed;
			uint8_t *out = malloc(got + 1);
			assert_non_null(out);
			if (codecs[k] == PQ_CODEC_ZSTD) {
				assert_int_equal(
				    ZSTD_decompress(out, got, pg.body, (size_t)pg.compressed), got);
			} else if (codecs[k] == PQ_CODEC_SNAPPY) {
				assert_int_equal(snappy_uncompress((const char *)pg.body,
				                                   (size_t)pg.compressed,
				                                   (char *)out, &got),
				                 SNAPPY_OK);
				assert_int_equal(got, (size_t)pg.uncompressed);
			} else {
				assert_int_equal(pg.compressed, pg.uncompressed);
				memcpy(out, pg.body, got);
			}
			buf_append(&raw[k], out, got);
			free(out);
			if (pg.type == 0)
				rows += pg.num_values;
			off += pg.header_len + (size_t)pg.compressed;
			n++;
		}
		assert_true(n > 3);
		if (npages >= 0)
			assert_int_equal(n, npages);
		npages = n;
		pq_file_result_free(&res);
		buf_release(&s.out);
	}
	assert_int_equal(raw[0].len, raw[1].len);
	assert_int_equal(raw[0].len, raw[2].len);
	assert_memory_equal(raw[0].data, raw[1].data, raw[0].len);
	assert_memory_equal(raw[0].data, raw[2].data, raw[0].len);
	for (int k = 0; k < 3; k++)
		buf_release(&raw[k]);
}

/* opts.threads 2 writes the same bytes as 1: six columns of different
 * kinds (a list, strings with nulls, a decimal FLBA, booleans), several
 * writes and row groups, every codec, with and without delta encodings.
 * threads outside 1..2 is refused. */
static void test_two_threads_same_bytes(void **state)
{
	(void)state;
	enum { N = 30000 };
	pq_column_spec cols[6] = {
	    {.name = "id", .field_id = 1, .physical = PQ_INT64, .required = 1},
	    {.name = "s", .field_id = 2, .physical = PQ_BYTE_ARRAY, .logical = PQ_LOGICAL_STRING},
	    {.name = "f", .field_id = 3, .physical = PQ_DOUBLE},
	    {.name = "l", .field_id = 4, .physical = PQ_INT32, .list = 1, .element_field_id = 7},
	    {.name = "d",
	     .field_id = 5,
	     .physical = PQ_FIXED_LEN_BYTE_ARRAY,
	     .logical = PQ_LOGICAL_DECIMAL,
	     .type_length = 16,
	     .precision = 38,
	     .scale = 2},
	    {.name = "b", .field_id = 6, .physical = PQ_BOOLEAN},
	};
	int64_t *id = malloc(N * sizeof *id);
	double *f = malloc(N * sizeof *f);
	uint8_t *valid = malloc(N), *bv = malloc(N), *dec = calloc(N, 16);
	uint64_t *soff = malloc((N + 1) * sizeof *soff), *loff = malloc((N + 1) * sizeof *loff);
	int32_t *elems = malloc(3 * N * sizeof *elems);
	uint8_t *evalid = malloc(3 * N);
	buf sb = {0};
	assert_true(id && f && valid && bv && dec && soff && loff && elems && evalid);
	soff[0] = loff[0] = 0;
	uint64_t ne = 0;
	for (int i = 0; i < N; i++) {
		id[i] = (int64_t)i * 7919 % 100003;
		f[i] = i % 17 ? i * 0.25 : NAN;
		valid[i] = i % 11 != 0;
		bv[i] = (uint8_t)(i % 3 == 0);
		dec[16 * i + 15] = (uint8_t)i;
		dec[16 * i + 14] = (uint8_t)(i >> 8);
		if (valid[i])
			buf_printf(&sb, "value %d %s", i % 977, i % 5 ? "x" : "longer text");
		soff[i + 1] = sb.len;
		for (int k = 0; valid[i] && k < i % 4; k++, ne++) {
			elems[ne] = i * k;
			evalid[ne] = (i + k) % 7 != 0;
		}
		loff[i + 1] = ne;
	}
	pq_column_data data[6] = {
	    {.values = id},
	    {.valid = valid, .offsets = soff, .bytes = sb.data},
	    {.valid = valid, .values = f},
	    {.valid = valid, .list_offsets = loff, .elem_valid = evalid, .values = elems},
	    {.valid = valid, .values = dec},
	    {.values = bv},
	};
	pq_codec codecs[3] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_ZSTD, PQ_CODEC_SNAPPY};
	char err[ERR_LEN];
	for (int k = 0; k < 3; k++)
		for (int delta = 0; delta < 2; delta++) {
			buf out[2] = {{0}};
			for (int th = 1; th <= 2; th++) {
				pq_options o;
				pq_options_default(&o);
				o.codec = codecs[k];
				o.delta_encodings = delta;
				o.row_group_bytes = 150000;
				o.dict_max_bytes = 20000;
				o.threads = th;
				mem_sink ms = {0};
				pq_writer *w;
				pq_file_result res;
				assert_int_equal(
				    pq_writer_open(cols, 6, NULL, 0, &o, mem_write, &ms, &w, err),
				    0);
				/* three writes: the column data slices of rows [a, b) */
				size_t cut[4] = {0, 7000, 7001, N};
				for (int c = 0; c < 3; c++) {
					pq_column_data part[6];
					size_t a = cut[c];
					memcpy(part, data, sizeof part);
					part[0].values = id + a;
					part[1].valid = valid + a;
					part[1].offsets = soff + a;
					part[2].valid = valid + a;
					part[2].values = f + a;
					part[3].valid = valid + a;
					part[3].list_offsets = loff + a;
					part[4].valid = valid + a;
					part[4].values = dec + 16 * a;
					part[5].values = bv + a;
					int wrc = pq_writer_write(w, part, cut[c + 1] - a, err);
					if (wrc)
						fail_msg("write: %s", err);
				}
				assert_int_equal(pq_writer_close(w, &res, err), 0);
				assert_true(res.nrow_groups > 2);
				pq_file_result_free(&res);
				out[th - 1] = ms.out;
			}
			assert_int_equal(out[0].len, out[1].len);
			assert_memory_equal(out[0].data, out[1].data, out[0].len);
			buf_release(&out[0]);
			buf_release(&out[1]);
		}
	pq_options o;
	pq_options_default(&o);
	o.threads = 3;
	mem_sink ms = {0};
	pq_writer *w;
	assert_int_equal(pq_writer_open(cols, 6, NULL, 0, &o, mem_write, &ms, &w, err),
	                 FLOE_EINVAL);
	assert_non_null(strstr(err, "threads 3"));
	buf_release(&sb);
	free(id);
	free(f);
	free(valid);
	free(bv);
	free(dec);
	free(soff);
	free(loff);
	free(elems);
	free(evalid);
}

static void test_row_groups_and_batches(void **state)
{
	(void)state;
	enum { N = 20000 };
	pq_column_spec cols[2] = {
	    {.name = "a", .field_id = 1, .physical = PQ_INT64, .required = 1},
	    {.name = "s", .field_id = 2, .physical = PQ_BYTE_ARRAY, .logical = PQ_LOGICAL_STRING},
	};
	static int64_t v[N];
	static uint64_t off[N + 1];
	static uint8_t bytes[N * 8];
	size_t pos = 0;
	for (int i = 0; i < N; i++) {
		v[i] = i;
		off[i] = pos;
		pos += (size_t)snprintf((char *)bytes + pos, 9, "%07d", i * 7);
	}
	off[N] = pos;
	pq_options o;
	pq_options_default(&o);
	o.row_group_bytes = 64 * 1024;
	o.page_bytes = 8 * 1024;
	char err[ERR_LEN];
	mem_sink s = {0};
	pq_writer *w;
	assert_int_equal(pq_writer_open(cols, 2, NULL, 0, &o, mem_write, &s, &w, err), 0);
	for (size_t r = 0; r < N;) {
		size_t n = r % 3 == 0 ? 1 : 777;
		if (n > N - r)
			n = N - r;
		pq_column_data d[2] = {{.values = v + r}, {.offsets = off + r, .bytes = bytes}};
		assert_int_equal(pq_writer_write(w, d, n, err), 0);
		r += n;
	}
	pq_file_result res;
	assert_int_equal(pq_writer_close(w, &res, err), 0);
	assert_true(res.nrow_groups > 2);
	assert_int_equal(res.num_rows, N);
	assert_int_equal(res.row_group_offsets[0], 4);
	for (int g = 1; g < res.nrow_groups; g++)
		assert_true(res.row_group_offsets[g] > res.row_group_offsets[g - 1]);
	int64_t lo, hi;
	memcpy(&lo, res.cols[0].min, 8);
	memcpy(&hi, res.cols[0].max, 8);
	assert_int_equal(lo, 0);
	assert_int_equal(hi, N - 1);
	assert_int_equal(res.cols[1].max_len, 7);
	assert_memory_equal(res.cols[1].max, "0139993", 7);
	pq_file_result_free(&res);
	buf_release(&s.out);
}

/* ColumnIndex and OffsetIndex bytes follow the pages, then the footer. */
static void test_page_index(void **state)
{
	(void)state;
	enum { N = 250 };
	pq_column_spec col = {.name = "p", .field_id = 1, .physical = PQ_INT32, .required = 1};
	int32_t v[N];
	for (int i = 0; i < N; i++)
		v[i] = i;
	pq_column_data d = {.values = v};
	pq_options o = opts_plain();
	o.page_bytes = 400; /* 100 rows a page */
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(&col, 1, &d, N, &o, &s, &res), 0);
	page pg[3];
	size_t off[4] = {4};
	for (int i = 0; i < 3; i++) {
		assert_int_equal(read_page(s.out.data + off[i], s.out.len - off[i], &pg[i]), 0);
		assert_int_equal(pg[i].num_values, i < 2 ? 100 : 50);
		off[i + 1] = off[i] + pg[i].header_len + (size_t)pg[i].compressed;
	}
	buf want = {0};
	static const uint8_t ci[] = {
	    0x19, 0x31, 0x02, 0x02, 0x02, /* null_pages */
	    0x19, 0x38, 0x04, 0,    0,    0, 0, 0x04, 100, 0, 0, 0, 0x04, 200, 0, 0, 0, /* mins */
	    0x19, 0x38, 0x04, 99,   0,    0, 0, 0x04, 199, 0, 0, 0, 0x04, 249, 0, 0, 0, /* maxs */
	    0x15, 0x02,                   /* ASCENDING */
	    0x19, 0x36, 0x00, 0x00, 0x00, /* null_counts */
	    0x00,
	};
	buf_append(&want, ci, sizeof(ci));
	buf_put_u8(&want, 0x19);
	buf_put_u8(&want, 0x3C);
	for (int i = 0; i < 3; i++) {
		buf_put_u8(&want, 0x16);
		thrift_put_varint(&want, thrift_zigzag((int64_t)off[i]));
		buf_put_u8(&want, 0x15);
		thrift_put_varint(&want, thrift_zigzag((int64_t)(off[i + 1] - off[i])));
		buf_put_u8(&want, 0x16);
		thrift_put_varint(&want, thrift_zigzag(100 * i));
		buf_put_u8(&want, 0x00);
	}
	buf_put_u8(&want, 0x00);
	assert_true(s.out.len > off[3] + want.len);
	assert_memory_equal(s.out.data + off[3], want.data, want.len);
	/* the ColumnChunk points at both: offset_index_offset (4), length (5),
	 * column_index_offset (6), length (7) */
	buf cc = {0};
	buf_put_u8(&cc, 0x16);
	thrift_put_varint(&cc, thrift_zigzag((int64_t)(off[3] + sizeof(ci))));
	buf_put_u8(&cc, 0x15);
	thrift_put_varint(&cc, thrift_zigzag((int64_t)(want.len - sizeof(ci))));
	buf_put_u8(&cc, 0x16);
	thrift_put_varint(&cc, thrift_zigzag((int64_t)off[3]));
	buf_put_u8(&cc, 0x15);
	thrift_put_varint(&cc, thrift_zigzag((int64_t)sizeof(ci)));
	assert_non_null(find(&s.out, cc.data, cc.len));
	buf_release(&cc);
	buf_release(&want);
	pq_file_result_free(&res);
	buf_release(&s.out);
}

static void test_bad_specs(void **state)
{
	(void)state;
	char err[ERR_LEN];
	mem_sink s = {0};
	pq_writer *w = NULL;
	pq_column_spec bad[] = {
	    {.name = "s", .field_id = 1, .physical = PQ_INT32, .logical = PQ_LOGICAL_STRING},
	    {.name = "d",
	     .field_id = 1,
	     .physical = PQ_INT32,
	     .logical = PQ_LOGICAL_DECIMAL,
	     .precision = 10},
	    {.name = "d",
	     .field_id = 1,
	     .physical = PQ_FIXED_LEN_BYTE_ARRAY,
	     .type_length = 16,
	     .logical = PQ_LOGICAL_DECIMAL,
	     .precision = 39},
	    {.name = "f", .field_id = 1, .physical = PQ_FIXED_LEN_BYTE_ARRAY},
	    {.name = "u",
	     .field_id = 1,
	     .physical = PQ_FIXED_LEN_BYTE_ARRAY,
	     .type_length = 8,
	     .logical = PQ_LOGICAL_UUID},
	    {.name = "i",
	     .field_id = 1,
	     .physical = PQ_INT64,
	     .logical = PQ_LOGICAL_INT,
	     .int_bits = 16},
	    {.name = "", .field_id = 1, .physical = PQ_INT32},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(pq_writer_open(&bad[i], 1, NULL, 0, NULL, mem_write, &s, &w, err),
		                 FLOE_EINVAL);
		assert_null(w);
	}
	pq_column_spec dup[2] = {{.name = "a", .physical = PQ_INT32},
	                         {.name = "a", .physical = PQ_INT64}};
	assert_int_equal(pq_writer_open(dup, 2, NULL, 0, NULL, mem_write, &s, &w, err),
	                 FLOE_EINVAL);
	assert_non_null(strstr(err, "'a'"));
	pq_options o;
	pq_options_default(&o);
	o.zstd_level = 99;
	assert_int_equal(pq_writer_open(dup, 1, NULL, 0, &o, mem_write, &s, &w, err), FLOE_EINVAL);
	assert_int_equal(s.calls, 0); /* nothing reached the sink */
}

static void test_write_errors(void **state)
{
	(void)state;
	char err[ERR_LEN];
	pq_column_spec col = {.name = "r", .field_id = 1, .physical = PQ_INT32, .required = 1};
	int32_t v[3] = {1, 2, 3};
	uint8_t valid[3] = {1, 0, 1};
	pq_column_data d = {.valid = valid, .values = v};
	mem_sink s = {0};
	pq_writer *w;
	assert_int_equal(pq_writer_open(&col, 1, NULL, 0, NULL, mem_write, &s, &w, err), 0);
	assert_int_equal(pq_writer_write(w, &d, 3, err), FLOE_EINVAL);
	assert_non_null(strstr(err, "row 1"));
	/* the writer is poisoned: close fails and writes nothing more */
	int calls = s.calls;
	pq_file_result res;
	assert_int_equal(pq_writer_close(w, &res, err), FLOE_EINVAL);
	assert_int_equal(s.calls, calls);
	assert_null(res.cols);
	buf_release(&s.out);

	/* decreasing offsets */
	pq_column_spec sc = {.name = "s", .field_id = 1, .physical = PQ_BYTE_ARRAY};
	uint64_t off[3] = {0, 5, 2};
	pq_column_data sd = {.offsets = off, .bytes = (const uint8_t *)"hello"};
	memset(&s, 0, sizeof(s));
	assert_int_equal(pq_writer_open(&sc, 1, NULL, 0, NULL, mem_write, &s, &w, err), 0);
	assert_int_equal(pq_writer_write(w, &sd, 2, err), FLOE_EINVAL);
	pq_writer_abort(w);
	buf_release(&s.out);

	/* a sink that fails while the footer is written: the error comes back,
	 * the writer is freed, and the sink is not called again */
	d.valid = NULL;
	/* calls: magic, pages, column index, offset index, footer, tail */
	for (int fail_at = 1; fail_at <= 7; fail_at++) {
		memset(&s, 0, sizeof(s));
		s.fail_at = fail_at;
		int rc = pq_writer_open(&col, 1, NULL, 0, NULL, mem_write, &s, &w, err);
		if (rc == 0) {
			rc = pq_writer_write(w, &d, 3, err);
			if (rc == 0)
				rc = pq_writer_close(w, &res, err);
			else
				pq_writer_abort(w);
		}
		if (fail_at <= 6) {
			assert_int_equal(rc, FLOE_EIO);
			assert_int_equal(s.calls, fail_at);
		} else {
			assert_int_equal(rc, 0);
			pq_file_result_free(&res);
		}
		buf_release(&s.out);
	}
	pq_writer_abort(NULL);
	pq_file_result_free(NULL);
}

/* ---- lists --------------------------------------------------------------- */

/* Decodes `count` values of an RLE/bit-packed hybrid of bit width bw (<= 16)
 * at p (n bytes); returns the bytes consumed, or 0 when malformed. */
static size_t rle_decode(const uint8_t *p, size_t n, int bw, uint32_t *out, size_t count)
{
	rd r = {p, n, 0, 0};
	size_t o = 0;
	while (o < count && !r.bad && r.i < n) {
		uint64_t h = rd_varint(&r);
		if (h & 1) {
			size_t vals = (size_t)(h >> 1) * 8, bit = r.i * 8;
			for (size_t k = 0; k < vals; k++, bit += (size_t)bw) {
				uint32_t v = 0;
				for (int b = 0; b < bw; b++)
					v |= (uint32_t)(p[(bit + (size_t)b) / 8] >>
					                    ((bit + (size_t)b) % 8) &
					                1)
					     << b;
				if (o < count)
					out[o++] = v;
			}
			r.i += (size_t)(h >> 1) * (size_t)bw;
		} else {
			uint32_t v = 0;
			for (int b = 0; b < (bw + 7) / 8; b++)
				v |= (uint32_t)p[r.i++] << (8 * b);
			for (uint64_t k = 0; k < (h >> 1) && o < count; k++)
				out[o++] = v;
		}
	}
	return r.bad || o < count || r.i > n ? 0 : r.i;
}

/* One uncompressed list data page: its levels and where its values start. */
typedef struct list_page {
	size_t n; /* level entries */
	uint32_t *reps, *defs;
	const uint8_t *values, *end;
} list_page;

static void read_list_page(const page *pg, int def_bw, list_page *lp)
{
	const uint8_t *b = pg->body;
	lp->n = (size_t)pg->num_values;
	lp->reps = calloc(lp->n + 1, sizeof(uint32_t));
	lp->defs = calloc(lp->n + 1, sizeof(uint32_t));
	uint32_t len = get_le32(b);
	assert_int_equal(rle_decode(b + 4, len, 1, lp->reps, lp->n), len);
	b += 4 + len;
	len = get_le32(b);
	assert_int_equal(rle_decode(b + 4, len, def_bw, lp->defs, lp->n), len);
	lp->values = b + 4 + len;
	lp->end = pg->body + pg->uncompressed;
	assert_int_equal(lp->reps[0], 0); /* invariant 3: a page starts a row */
}

static void free_list_page(list_page *lp)
{
	free(lp->reps);
	free(lp->defs);
}

static void test_list_exact_page(void **state)
{
	(void)state;
	/* [1, null, 3], null, [], [4] */
	pq_column_spec col = {
	    .name = "tags", .field_id = 3, .physical = PQ_INT32, .list = 1, .element_field_id = 7};
	uint64_t lo[5] = {0, 3, 3, 3, 4};
	uint8_t valid[4] = {1, 0, 1, 1}, ev[4] = {1, 0, 1, 1};
	int32_t v[4] = {1, 0, 3, 4};
	pq_column_data d = {.valid = valid, .values = v, .list_offsets = lo, .elem_valid = ev};
	pq_options o = opts_plain();
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(&col, 1, &d, 4, &o, &s, &res), 0);
	static const uint8_t want[] = {
	    'P',  'A',  'R',  '1',  0x15, 0x00, /* type DATA_PAGE */
	    0x15, 0x32, 0x15, 0x32,             /* 25 bytes, uncompressed and compressed */
	    0x2C, 0x15, 0x0C,                   /* num_values 6: level entries */
	    0x15, 0x00, 0x15, 0x06, 0x15, 0x06, /* PLAIN, RLE, RLE */
	    0x1C, 0x36, 0x06, /* null_count 3: null element, null and empty list */
	    0x28, 0x04, 0x04, 0x00, 0x00, 0x00,       /* max 4 */
	    0x18, 0x04, 0x01, 0x00, 0x00, 0x00,       /* min 1 */
	    0x11, 0x11, 0x00, 0x00, 0x00,             /* exact, exact, stops */
	    0x02, 0x00, 0x00, 0x00, 0x03, 0x06,       /* repetition levels 0 1 1 0 0 0 */
	    0x03, 0x00, 0x00, 0x00, 0x03, 0x3B, 0x0D, /* definition levels 3 2 3 0 1 3 */
	    0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,
	};
	assert_true(s.out.len > sizeof(want));
	assert_memory_equal(s.out.data, want, sizeof(want));
	/* Schema: optional group tags (LIST) with field_id 3 ... */
	HAS(&s.out, 0x35, 0x02, 0x18, 0x04, 't', 'a', 'g', 's', 0x15, 0x02, 0x15, 0x06, 0x35, 0x06,
	    0x1C, 0x3C, 0x00, 0x00, 0x00);
	/* ... repeated group list with one child ... */
	HAS(&s.out, 0x35, 0x04, 0x18, 0x04, 'l', 'i', 's', 't', 0x15, 0x02, 0x00);
	/* ... optional int32 element with field_id 7; the root has 1 child. */
	HAS(&s.out, 0x15, 0x02, 0x25, 0x02, 0x18, 0x07, 'e', 'l', 'e', 'm', 'e', 'n', 't', 0x55,
	    0x0E, 0x00);
	HAS(&s.out, 0x48, 0x06, 's', 'c', 'h', 'e', 'm', 'a', 0x15, 0x02, 0x00);
	/* The chunk: path tags.list.element, codec, num_values 6. */
	HAS(&s.out, 0x19, 0x38, 0x04, 't', 'a', 'g', 's', 0x04, 'l', 'i', 's', 't', 0x07, 'e', 'l',
	    'e', 'm', 'e', 'n', 't', 0x15, 0x00, 0x16, 0x0C);
	assert_int_equal(res.num_rows, 4);
	assert_int_equal(res.cols[0].num_values, 6);
	assert_int_equal(res.cols[0].null_count, 3);
	assert_int_equal(res.cols[0].has_min_max, 1);
	assert_int_equal(get_le32(res.cols[0].min), 1);
	assert_int_equal(get_le32(res.cols[0].max), 4);
	pq_file_result_free(&res);
	buf_release(&s.out);
}

static void test_list_pages_on_row_boundaries(void **state)
{
	(void)state;
	enum { ROWS = 3000, LONG_ROW = 1500, LONG_LEN = 25000 };
	pq_column_spec col = {
	    .name = "l", .field_id = 1, .physical = PQ_INT64, .list = 1, .element_field_id = 2};
	uint64_t *lo = malloc((ROWS + 1) * sizeof(*lo));
	uint8_t *valid = malloc(ROWS);
	size_t entries = 0;
	lo[0] = 0;
	for (size_t r = 0; r < ROWS; r++) {
		valid[r] = r % 17 != 5;
		size_t len = !valid[r] ? 0 : r == LONG_ROW ? LONG_LEN : r % 13;
		lo[r + 1] = lo[r] + len;
		entries += len ? len : 1;
	}
	int64_t *v = malloc(lo[ROWS] * sizeof(*v));
	for (uint64_t k = 0; k < lo[ROWS]; k++)
		v[k] = (int64_t)k * 3;
	pq_column_data d = {.valid = valid, .values = v, .list_offsets = lo};
	pq_options o = opts_plain();
	mem_sink s = {0};
	pq_file_result res;
	/* In three calls, one of them a single row. */
	char err[ERR_LEN];
	pq_writer *w;
	assert_int_equal(pq_writer_open(&col, 1, NULL, 0, &o, mem_write, &s, &w, err), 0);
	assert_int_equal(pq_writer_write(w, &d, 1000, err), 0);
	pq_column_data d2 = d;
	d2.valid += 1000;
	d2.list_offsets += 1000;
	assert_int_equal(pq_writer_write(w, &d2, 1, err), 0);
	d2.valid += 1;
	d2.list_offsets += 1;
	assert_int_equal(pq_writer_write(w, &d2, ROWS - 1001, err), 0);
	assert_int_equal(pq_writer_close(w, &res, err), 0);
	assert_int_equal(res.cols[0].num_values, (int64_t)entries);
	assert_int_equal(res.cols[0].null_count, (int64_t)(entries - lo[ROWS]));

	/* Walk the pages: each starts a row; rows and values add up. */
	page pg[64];
	int np = walk_pages(&s.out, 4 + (size_t)res.cols[0].compressed_bytes, pg, 64);
	assert_true(np >= 3);
	size_t row = 0, elem = 0, total = 0, off = 4, long_pages = 0;
	buf want = {0}; /* the OffsetIndex */
	buf_put_u8(&want, 0x19);
	buf_put_u8(&want, (uint8_t)(np << 4 | 0x0C));
	for (int i = 0; i < np; i++) {
		list_page lp;
		read_list_page(&pg[i], 2, &lp);
		size_t psize = pg[i].header_len + (size_t)pg[i].compressed;
		buf_put_u8(&want, 0x16);
		thrift_put_varint(&want, thrift_zigzag((int64_t)off));
		buf_put_u8(&want, 0x15);
		thrift_put_varint(&want, thrift_zigzag((int64_t)psize));
		buf_put_u8(&want, 0x16);
		thrift_put_varint(&want, thrift_zigzag((int64_t)row));
		buf_put_u8(&want, 0x00);
		off += psize;
		long_pages += lp.n > 20000;
		const uint8_t *val = lp.values;
		for (size_t k = 0; k < lp.n; k++) {
			if (lp.reps[k] == 0)
				row++;
			size_t r = row - 1;
			if (lp.reps[k] == 1)
				assert_true(lo[r + 1] - lo[r] > 1);
			if (lp.defs[k] == 0) {
				assert_int_equal(valid[r], 0);
			} else if (lp.defs[k] == 1) {
				assert_int_equal(lo[r + 1], lo[r]); /* empty */
			} else {
				assert_int_equal(lp.defs[k], 3);
				int64_t x;
				memcpy(&x, val, 8);
				assert_int_equal(x, v[elem]);
				val += 8;
				elem++;
			}
		}
		assert_ptr_equal(val, lp.end);
		total += lp.n;
		free_list_page(&lp);
	}
	buf_put_u8(&want, 0x00);
	assert_int_equal(row, ROWS);
	assert_int_equal(elem, lo[ROWS]);
	assert_int_equal(total, entries);
	assert_int_equal(long_pages, 1); /* the long row alone, whole */
	assert_non_null(find(&s.out, want.data, want.len));
	buf_release(&want);
	free(lo);
	free(valid);
	free(v);
	pq_file_result_free(&res);
	buf_release(&s.out);
}

static void test_list_required_forms_and_errors(void **state)
{
	(void)state;
	char err[ERR_LEN];
	/* required list of required elements: [1, 2], [], [3] */
	pq_column_spec col = {.name = "r",
	                      .field_id = 1,
	                      .physical = PQ_INT32,
	                      .required = 1,
	                      .list = 1,
	                      .element_field_id = 2,
	                      .element_required = 1};
	uint64_t lo[4] = {0, 2, 2, 3};
	int32_t v[3] = {1, 2, 3};
	pq_column_data d = {.values = v, .list_offsets = lo};
	pq_options o = opts_plain();
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(&col, 1, &d, 3, &o, &s, &res), 0);
	HAS(&s.out, 0x02, 0x00, 0x00, 0x00, 0x03, 0x02, /* repetition 0 1 0 0 */
	    0x02, 0x00, 0x00, 0x00, 0x03, 0x0B,         /* definition 1 1 0 1 */
	    0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00);
	HAS(&s.out, 0x35, 0x00, 0x18, 0x01, 'r', 0x15, 0x02, 0x15, 0x06); /* required group */
	HAS(&s.out, 0x15, 0x02, 0x25, 0x00, 0x18, 0x07, 'e', 'l', 'e', 'm', 'e', 'n', 't');
	assert_int_equal(res.cols[0].null_count, 1); /* the empty list */
	pq_file_result_free(&res);
	buf_release(&s.out);

	static const struct {
		int required, element_required;
		uint64_t lo[4];
		uint8_t valid[3], ev[3];
		int no_offsets;
		const char *msg;
	} bad[] = {
	    {1, 0, {0, 1, 1, 2}, {1, 0, 1}, {1, 1, 1}, 0, "is required but row 1 is null"},
	    {0, 1, {0, 1, 1, 3}, {1, 1, 1}, {1, 0, 1}, 0, "has required elements but element 1"},
	    {0, 0, {0, 1, 2, 3}, {1, 0, 1}, {1, 1, 1}, 0, "row 1 is null but has elements"},
	    {0, 0, {0, 2, 1, 3}, {1, 1, 1}, {1, 1, 1}, 0, "list offsets decrease at row 1"},
	    {0, 0, {0, 1, 2, 3}, {1, 1, 1}, {1, 1, 1}, 1, "no list offsets"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pq_column_spec c = col;
		c.required = bad[i].required;
		c.element_required = bad[i].element_required;
		pq_column_data bd = {.valid = bad[i].valid,
		                     .values = v,
		                     .list_offsets = bad[i].no_offsets ? NULL : bad[i].lo,
		                     .elem_valid = bad[i].ev};
		pq_writer *w;
		memset(&s, 0, sizeof s);
		assert_int_equal(pq_writer_open(&c, 1, NULL, 0, &o, mem_write, &s, &w, err), 0);
		assert_int_equal(pq_writer_write(w, &bd, 3, err), FLOE_EINVAL);
		if (!strstr(err, bad[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].msg);
		pq_writer_abort(w);
		buf_release(&s.out);
	}
}

/* Lists of strings: words from a small vocabulary (the dictionary pays),
 * then rows of distinct strings that fill the dictionary up inside a list
 * after dictionary pages were written; every page is decoded back. */
static void test_list_dictionary_fills_inside_a_list(void **state)
{
	(void)state;
	enum { ROWS = 400 };
	static const char *const words[] = {"ab", "cd", "ef", "gh"};
	pq_column_spec col = {.name = "w",
	                      .field_id = 1,
	                      .physical = PQ_BYTE_ARRAY,
	                      .logical = PQ_LOGICAL_STRING,
	                      .list = 1,
	                      .element_field_id = 2};
	uint64_t lo[ROWS + 1] = {0};
	uint8_t valid[ROWS];
	buf bytes = {0}, offs = {0};
	buf ev = {0};
	buf_put_le64(&offs, 0);
	for (size_t r = 0; r < ROWS; r++) {
		valid[r] = r % 11 != 3;
		size_t len = !valid[r] ? 0 : r >= 300 && r % 10 == 0 ? 60 : r % 5;
		for (size_t k = 0; k < len; k++) {
			char tmp[32];
			int n = r >= 300 ? snprintf(tmp, sizeof tmp, "distinct-%zu-%zu", r, k)
			                 : snprintf(tmp, sizeof tmp, "%s", words[(r + k) % 4]);
			int null = (r + k) % 7 == 2;
			buf_put_u8(&ev, (uint8_t)!null);
			if (!null)
				buf_append(&bytes, tmp, (size_t)n);
			buf_put_le64(&offs, bytes.len);
		}
		lo[r + 1] = lo[r] + len;
	}
	pq_column_data d = {.valid = valid,
	                    .offsets = (const uint64_t *)(const void *)offs.data,
	                    .bytes = bytes.data,
	                    .list_offsets = lo,
	                    .elem_valid = ev.data};
	pq_options o;
	pq_options_default(&o);
	o.codec = PQ_CODEC_UNCOMPRESSED;
	o.page_bytes = 200;     /* pages of a few rows: dictionary pages come early */
	o.dict_max_bytes = 400; /* room for the words and a few distinct strings */
	mem_sink s = {0};
	pq_file_result res;
	assert_int_equal(write_file(&col, 1, &d, ROWS, &o, &s, &res), 0);
	page pg[512];
	int np = walk_pages(&s.out, 4 + (size_t)res.cols[0].compressed_bytes, pg, 512);
	assert_true(np > 3);
	assert_int_equal(pg[0].type, 2); /* the dictionary page comes first */
	const uint8_t *dict[128];
	uint32_t dlen[128];
	const uint8_t *dp = pg[0].body;
	assert_true(pg[0].num_values <= 128);
	for (int k = 0; k < pg[0].num_values; k++) {
		dlen[k] = get_le32(dp);
		dict[k] = dp + 4;
		dp += 4 + dlen[k];
	}
	size_t row = 0, elem = 0, dict_pages = 0, plain_pages = 0;
	for (int i = 1; i < np; i++) {
		assert_int_equal(pg[i].type, 0);
		list_page lp;
		read_list_page(&pg[i], 2, &lp);
		const uint8_t *val = lp.values;
		uint32_t *idx = NULL;
		size_t present = 0, next = 0;
		for (size_t k = 0; k < lp.n; k++)
			present += lp.defs[k] == 3;
		if (pg[i].encoding == 8) {                /* RLE_DICTIONARY: bit width, indices */
			assert_int_equal(plain_pages, 0); /* never back to the dictionary */
			dict_pages++;
			idx = calloc(present + 1, sizeof *idx);
			size_t used =
			    rle_decode(val + 1, (size_t)(lp.end - val - 1), val[0], idx, present);
			assert_true(used > 0 || present == 0);
		} else {
			assert_int_equal(pg[i].encoding, 0);
			plain_pages++;
		}
		for (size_t k = 0; k < lp.n; k++) {
			if (lp.reps[k] == 0)
				row++;
			size_t r = row - 1;
			if (lp.defs[k] < 2) {
				assert_int_equal(lp.defs[k], valid[r] ? 1 : 0);
				assert_int_equal(lo[r + 1], lo[r]);
				continue;
			}
			assert_int_equal(ev.data[elem], lp.defs[k] == 3);
			if (lp.defs[k] == 3) {
				const uint64_t *o64 = (const uint64_t *)(const void *)offs.data;
				size_t len = (size_t)(o64[elem + 1] - o64[elem]);
				const uint8_t *got;
				size_t glen;
				if (idx) {
					assert_true(idx[next] < (uint32_t)pg[0].num_values);
					got = dict[idx[next]];
					glen = dlen[idx[next]];
					next++;
				} else {
					glen = get_le32(val);
					got = val + 4;
					val += 4 + glen;
				}
				assert_int_equal(glen, len);
				assert_memory_equal(got, bytes.data + o64[elem], len);
			}
			elem++;
		}
		if (!idx)
			assert_ptr_equal(val, lp.end);
		free(idx);
		free_list_page(&lp);
	}
	assert_int_equal(row, ROWS);
	assert_int_equal(elem, lo[ROWS]);
	assert_true(dict_pages > 0 && plain_pages > 0);
	pq_file_result_free(&res);
	buf_release(&s.out);
	buf_release(&bytes);
	buf_release(&offs);
	buf_release(&ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_list_exact_page),
	    cmocka_unit_test(test_list_pages_on_row_boundaries),
	    cmocka_unit_test(test_list_required_forms_and_errors),
	    cmocka_unit_test(test_list_dictionary_fills_inside_a_list),
	    cmocka_unit_test(test_file_tail_and_magic),
	    cmocka_unit_test(test_exact_plain_page),
	    cmocka_unit_test(test_def_levels_rle_bitpacked),
	    cmocka_unit_test(test_boolean_plain_bits),
	    cmocka_unit_test(test_dictionary_pages),
	    cmocka_unit_test(test_dictionary_fallback),
	    cmocka_unit_test(test_delta_encodings),
	    cmocka_unit_test(test_float_statistics),
	    cmocka_unit_test(test_double_infinities),
	    cmocka_unit_test(test_statistics_every_type),
	    cmocka_unit_test(test_long_string_bounds),
	    cmocka_unit_test(test_codecs_roundtrip),
	    cmocka_unit_test(test_two_threads_same_bytes),
	    cmocka_unit_test(test_row_groups_and_batches),
	    cmocka_unit_test(test_page_index),
	    cmocka_unit_test(test_bad_specs),
	    cmocka_unit_test(test_write_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
