/*
 * test_avro — the Avro encoding, the container writer and the generic reader.
 *
 * Byte-exact checks of the encoding (zig-zag varints at the edges, strings,
 * floats), the header and block framing walked by an independent decoder in
 * this file, round trips of every Avro type through avro_read, deflate files
 * (built here with zlib, and written by python3-avro), and corrupt input:
 * every truncation and many byte flips of small files, under ASan, must give
 * an error or a valid result, never a crash or an over-read.
 */
#define ZLIB_CONST
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/avro.h"

/* ---- helpers ------------------------------------------------------------ */

/* An independent varint decoder, so the framing checks do not trust avro.c. */
static int64_t t_get_long(const uint8_t *p, size_t len, size_t *pos)
{
	uint64_t u = 0;
	for (int shift = 0; shift < 70; shift += 7) {
		assert_true(*pos < len);
		uint8_t b = p[(*pos)++];
		u |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return (u & 1) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1);
	}
	fail_msg("varint too long");
	return 0;
}

static void t_expect_bytes(const buf *b, const char *hex)
{
	char got[256] = "";
	for (size_t i = 0; i < b->len && 2 * i + 2 < sizeof got; i++)
		sprintf(got + 2 * i, "%02x", b->data[i]);
	assert_string_equal(got, hex);
}

/* Reads a whole file; returns 0 or the error code (meta/records freed). */
static int t_read(const uint8_t *p, size_t n, json_t **records, char *err)
{
	json_t *meta = NULL;
	*records = NULL;
	int rc = avro_read(p, n, &meta, records, err);
	json_decref(meta);
	return rc;
}

/* Reads from an exactly sized copy, so ASan sees any read past the end. */
static int t_read_copy(const uint8_t *p, size_t n, json_t **records, char *err)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	if (n)
		memcpy(copy, p, n);
	int rc = t_read(copy, n, records, err);
	free(copy);
	return rc;
}

/* Builds a container by hand (any codec, given raw block payloads), for files
 * our writer would never produce. */
static void t_build(buf *out, const char *schema, const char *codec, const uint8_t sync[16])
{
	buf_append(out, "Obj\x01", 4);
	avro_put_long(out, 2);
	avro_put_string(out, "avro.schema");
	avro_put_string(out, schema);
	avro_put_string(out, "avro.codec");
	avro_put_string(out, codec);
	avro_put_long(out, 0);
	buf_append(out, sync, 16);
}

static void t_block(buf *out, int64_t count, const uint8_t *p, size_t n, const uint8_t sync[16])
{
	avro_put_long(out, count);
	avro_put_long(out, (int64_t)n);
	buf_append(out, p, n);
	buf_append(out, sync, 16);
}

static const uint8_t t_sync[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static void t_deflate(const uint8_t *p, size_t n, buf *out)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	assert_int_equal(buf_reserve(out, deflateBound(&z, n)), 0);
	z.next_in = p;
	z.avail_in = (uInt)n;
	z.next_out = out->data + out->len;
	z.avail_out = (uInt)(out->cap - out->len);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	out->len = out->cap - z.avail_out;
	deflateEnd(&z);
}

/* Expects avro_read of a hand-built one-block file to fail with `code`. */
static void t_expect_fail(const char *schema, const uint8_t *rec, size_t n, int64_t count, int code,
                          const char *needle)
{
	buf f = {0};
	t_build(&f, schema, "null", t_sync);
	t_block(&f, count, rec, n, t_sync);
	json_t *records;
	char err[ERR_LEN] = "";
	int rc = t_read_copy(f.data, f.len, &records, err);
	if (rc != code || !strstr(err, needle))
		fail_msg("expected %d containing '%s', got %d: %s", code, needle, rc, err);
	buf_release(&f);
}

/* ---- encoding ----------------------------------------------------------- */

static void test_varint_edges(void **state)
{
	(void)state;
	static const struct {
		int64_t v;
		const char *hex;
	} cases[] = {
	    {0, "00"},
	    {-1, "01"},
	    {1, "02"},
	    {-64, "7f"},
	    {64, "8001"},
	    {-65, "8101"},
	    {8191, "fe7f"},
	    {8192, "808001"},
	    {INT32_MAX, "feffffff0f"},
	    {INT32_MIN, "ffffffff0f"},
	    {INT64_MAX, "feffffffffffffffff01"},
	    {INT64_MIN, "ffffffffffffffffff01"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		buf b = {0};
		avro_put_long(&b, cases[i].v);
		t_expect_bytes(&b, cases[i].hex);
		size_t pos = 0;
		assert_true(t_get_long(b.data, b.len, &pos) == cases[i].v);
		assert_int_equal(pos, b.len);
		buf_release(&b);
	}
	buf b = {0};
	avro_put_int(&b, INT32_MIN);
	t_expect_bytes(&b, "ffffffff0f");
	buf_release(&b);
}

static void test_primitives(void **state)
{
	(void)state;
	buf b = {0};
	avro_put_string(&b, "abc");
	t_expect_bytes(&b, "06616263");
	buf_reset(&b);
	avro_put_string(&b, "");
	t_expect_bytes(&b, "00");
	buf_reset(&b);
	avro_put_bytes(&b, "\x00\xff", 2);
	t_expect_bytes(&b, "0400ff");
	buf_reset(&b);
	avro_put_bool(&b, 7);
	avro_put_bool(&b, 0);
	t_expect_bytes(&b, "0100");
	buf_reset(&b);
	avro_put_double(&b, 1.0);
	t_expect_bytes(&b, "000000000000f03f");
	buf_reset(&b);
	avro_put_float(&b, -2.5f);
	t_expect_bytes(&b, "000020c0");
	buf_reset(&b);
	avro_put_null_branch(&b);
	avro_put_value_branch(&b);
	t_expect_bytes(&b, "0002");
	buf_release(&b);
}

/* ---- container framing -------------------------------------------------- */

static const char *t_rec_schema = "{\"type\":\"record\",\"name\":\"r\",\"fields\":["
                                  "{\"name\":\"i\",\"type\":\"long\"},"
                                  "{\"name\":\"s\",\"type\":\"string\"}]}";

static void test_header_layout(void **state)
{
	(void)state;
	buf out = {0};
	avro_writer *w;
	char err[ERR_LEN];
	avro_meta meta[] = {{"floe.k", "v1"}, {"format-version", "3"}};
	assert_int_equal(avro_writer_open(&out, t_rec_schema, meta, 2, &w, err), 0);
	assert_int_equal(avro_writer_close(w, err), 0);

	/* Walk the header byte by byte. */
	const uint8_t *p = out.data;
	size_t pos = 4;
	assert_memory_equal(p, "Obj\x01", 4);
	assert_int_equal(t_get_long(p, out.len, &pos), 4);
	const char *want[][2] = {{"avro.schema", t_rec_schema},
	                         {"avro.codec", "null"},
	                         {"floe.k", "v1"},
	                         {"format-version", "3"}};
	for (int i = 0; i < 4; i++) {
		for (int kv = 0; kv < 2; kv++) {
			int64_t n = t_get_long(p, out.len, &pos);
			assert_int_equal(n, strlen(want[i][kv]));
			assert_memory_equal(p + pos, want[i][kv], (size_t)n);
			pos += (size_t)n;
		}
	}
	assert_int_equal(t_get_long(p, out.len, &pos), 0);
	assert_int_equal(out.len, pos + 16); /* the sync marker, and no block */

	json_t *m, *records;
	assert_int_equal(avro_read(out.data, out.len, &m, &records, err), 0);
	assert_int_equal(json_object_size(m), 4);
	assert_string_equal(json_string_value(json_object_get(m, "floe.k")), "v1");
	assert_string_equal(json_string_value(json_object_get(m, "avro.codec")), "null");
	assert_string_equal(json_string_value(json_object_get(m, "avro.schema")), t_rec_schema);
	assert_int_equal(json_array_size(records), 0);
	json_decref(m);
	json_decref(records);
	buf_release(&out);
}

static void t_write_records(buf *out, int n)
{
	avro_writer *w;
	char err[ERR_LEN];
	assert_int_equal(avro_writer_open(out, t_rec_schema, NULL, 0, &w, err), 0);
	for (int i = 0; i < n; i++) {
		buf *r = avro_writer_record(w);
		avro_put_long(r, (int64_t)i * 1000003 - 5000000);
		char s[32];
		snprintf(s, sizeof s, "record-%d", i);
		avro_put_string(r, s);
		assert_int_equal(avro_writer_end_record(w, err), 0);
	}
	assert_int_equal(avro_writer_close(w, err), 0);
}

static void test_blocks_and_sync(void **state)
{
	(void)state;
	enum { N = 20000 };
	buf out = {0}, empty = {0}, other = {0};
	t_write_records(&out, N);
	t_write_records(&empty, 0);
	t_write_records(&other, 1);
	size_t hdr = empty.len;
	const uint8_t *sync = out.data + hdr - 16;
	/* A fresh random marker per file. */
	assert_memory_not_equal(sync, other.data + hdr - 16, 16);

	size_t pos = hdr, blocks = 0;
	int64_t total = 0;
	while (pos < out.len) {
		int64_t count = t_get_long(out.data, out.len, &pos);
		int64_t size = t_get_long(out.data, out.len, &pos);
		assert_true(count > 0);
		pos += (size_t)size;
		assert_true(pos + 16 <= out.len);
		assert_memory_equal(out.data + pos, sync, 16);
		pos += 16;
		/* Every block but the last is flushed just past 64 KiB. */
		if (pos < out.len)
			assert_true(size >= 64 * 1024 && size < 64 * 1024 + 64);
		total += count;
		blocks++;
	}
	assert_int_equal(pos, out.len);
	assert_int_equal(total, N);
	assert_true(blocks > 2);

	json_t *records;
	char err[ERR_LEN];
	assert_int_equal(t_read(out.data, out.len, &records, err), 0);
	assert_int_equal(json_array_size(records), N);
	for (int i = 0; i < N; i += 997) {
		json_t *r = json_array_get(records, (size_t)i);
		assert_int_equal(json_integer_value(json_object_get(r, "i")),
		                 (int64_t)i * 1000003 - 5000000);
		char s[32];
		snprintf(s, sizeof s, "record-%d", i);
		assert_string_equal(json_string_value(json_object_get(r, "s")), s);
	}
	json_decref(records);
	buf_release(&out);
	buf_release(&empty);
	buf_release(&other);
}

static void test_writer_errors(void **state)
{
	(void)state;
	buf out = {0};
	avro_writer *w;
	char err[ERR_LEN];
	assert_int_equal(avro_writer_open(&out, "{not json", NULL, 0, &w, err), FLOE_EINVAL);
	assert_null(w);
	assert_int_equal(
	    avro_writer_open(&out, "{\"type\":\"array\",\"items\":\"nosuch\"}", NULL, 0, &w, err),
	    FLOE_EINVAL);
	assert_non_null(strstr(err, "nosuch"));
	avro_meta reserved = {"avro.codec", "deflate"};
	assert_int_equal(avro_writer_open(&out, "\"long\"", &reserved, 1, &w, err), FLOE_EINVAL);
	assert_int_equal(out.len, 0);

	/* A record begun and abandoned is not written. */
	assert_int_equal(avro_writer_open(&out, "\"long\"", NULL, 0, &w, err), 0);
	avro_put_long(avro_writer_record(w), 99);
	avro_put_long(avro_writer_record(w), 7);
	assert_int_equal(avro_writer_end_record(w, err), 0);
	avro_put_long(avro_writer_record(w), 8); /* never ended */
	assert_int_equal(avro_writer_close(w, err), 0);
	json_t *records;
	assert_int_equal(t_read(out.data, out.len, &records, err), 0);
	assert_int_equal(json_array_size(records), 1);
	assert_int_equal(json_integer_value(json_array_get(records, 0)), 7);
	json_decref(records);
	buf_release(&out);
}

/* ---- every type through the reader ------------------------------------- */

static const char *t_all_schema =
    "{\"type\":\"record\",\"name\":\"top\",\"namespace\":\"floe.test\",\"fields\":["
    "{\"name\":\"n\",\"type\":\"null\"},"
    "{\"name\":\"b\",\"type\":\"boolean\"},"
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"l\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}},"
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"d\",\"type\":\"double\"},"
    "{\"name\":\"by\",\"type\":\"bytes\"},"
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"color\","
    "\"symbols\":[\"RED\",\"GREEN\",\"BLUE\"]}},"
    "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"int\",\"element-id\":7}},"
    "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":[\"null\",\"long\"]}},"
    "{\"name\":\"r\",\"type\":{\"type\":\"record\",\"name\":\"inner\",\"fields\":["
    "{\"name\":\"k\",\"type\":\"int\",\"field-id\":1}]}},"
    "{\"name\":\"u\",\"type\":[\"null\",\"string\",\"inner\"],\"default\":null},"
    "{\"name\":\"x\",\"type\":{\"type\":\"fixed\",\"name\":\"uuid16\",\"size\":16}},"
    "{\"name\":\"r3\",\"type\":\"floe.test.inner\"},"
    "{\"name\":\"e2\",\"type\":\"color\"},"
    "{\"name\":\"nan\",\"type\":\"double\"},"
    "{\"name\":\"empty\",\"type\":{\"type\":\"record\",\"name\":\"nothing\",\"fields\":[]}}"
    "]}";

/* Encodes record number k of the all-types schema. */
static void t_put_all(buf *r, int k)
{
	/* n: null takes no bytes */
	avro_put_bool(r, k & 1);
	avro_put_int(r, k ? INT32_MIN : INT32_MAX);
	avro_put_long(r, k ? INT64_MIN : INT64_MAX);
	avro_put_float(r, 1.5f);
	avro_put_double(r, -3.25);
	avro_put_bytes(r, "\xff\x00\x01", 3);
	avro_put_string(r, k ? "h\xc3\xa9llo" : "");
	avro_put_int(r, 2); /* BLUE */
	if (k) {
		/* A negative block count carries the block's byte size. */
		avro_put_long(r, -2);
		avro_put_long(r, 2);
		avro_put_int(r, 5);
		avro_put_int(r, -6);
		avro_put_long(r, 1);
		avro_put_int(r, 7);
	}
	avro_put_long(r, 0);
	avro_put_long(r, 2);
	avro_put_string(r, "a");
	avro_put_value_branch(r);
	avro_put_long(r, 42);
	avro_put_string(r, "b");
	avro_put_null_branch(r);
	avro_put_long(r, 0);
	avro_put_int(r, 11); /* r.k */
	if (k) {
		avro_put_long(r, 2); /* u = inner {k: 12} */
		avro_put_int(r, 12);
	} else {
		avro_put_long(r, 1); /* u = "x" */
		avro_put_string(r, "x");
	}
	buf_append(r, "0123456789abcdef", 16);
	avro_put_int(r, 13); /* r3.k */
	avro_put_int(r, 0);  /* e2 = RED */
	avro_put_double(r, k ? INFINITY : NAN);
	/* empty: nothing */
}

static json_t *t_expect_all(int k)
{
	json_t *e = json_pack("{s:n,s:b,s:I,s:I,s:f,s:f,s:s,s:s,s:o,s:{s:i,s:n},s:{s:i},s:o,"
	                      "s:{s:i},s:s,s:s,s:{}}",
	                      "n", "b", k & 1, "i", (json_int_t)(k ? INT32_MIN : INT32_MAX), "l",
	                      (json_int_t)(k ? INT64_MIN : INT64_MAX), "f", 1.5, "d", -3.25, "s",
	                      k ? "h\xc3\xa9llo" : "", "e", "BLUE", "a",
	                      k ? json_pack("[i,i,i]", 5, -6, 7) : json_array(), "m", "a", 42, "b",
	                      "r", "k", 11, "u", k ? json_pack("{s:i}", "k", 12) : json_string("x"),
	                      "r3", "k", 13, "e2", "RED", "nan", k ? "Infinity" : "NaN", "empty");
	assert_non_null(e);
	json_object_set_new(e, "by", json_stringn_nocheck("\xff\x00\x01", 3));
	json_object_set_new(e, "x", json_stringn_nocheck("0123456789abcdef", 16));
	return e;
}

static void t_write_all(buf *out, int nrec)
{
	avro_writer *w;
	char err[ERR_LEN];
	assert_int_equal(avro_writer_open(out, t_all_schema, NULL, 0, &w, err), 0);
	for (int k = 0; k < nrec; k++) {
		t_put_all(avro_writer_record(w), k & 1);
		assert_int_equal(avro_writer_end_record(w, err), 0);
	}
	assert_int_equal(avro_writer_close(w, err), 0);
}

static void t_check_all(json_t *records, int nrec)
{
	assert_int_equal(json_array_size(records), nrec);
	for (int k = 0; k < nrec; k++) {
		json_t *want = t_expect_all(k & 1);
		json_t *got = json_array_get(records, (size_t)k);
		if (!json_equal(want, got)) {
			char *a = json_dumps(want, JSON_SORT_KEYS),
			     *b = json_dumps(got, JSON_SORT_KEYS);
			fail_msg("record %d:\nwant %s\ngot  %s", k, a, b);
		}
		json_decref(want);
	}
}

static void test_round_trip_all_types(void **state)
{
	(void)state;
	buf out = {0};
	t_write_all(&out, 4);
	json_t *records;
	char err[ERR_LEN] = "";
	int rc = t_read(out.data, out.len, &records, err);
	if (rc)
		fail_msg("%s", err);
	t_check_all(records, 4);
	json_decref(records);
	buf_release(&out);
}

/* A deflate file, built with zlib, two blocks. */
static void t_build_deflate(buf *f, int nrec_per_block)
{
	t_build(f, t_all_schema, "deflate", t_sync);
	for (int blk = 0; blk < 2; blk++) {
		buf raw = {0}, z = {0};
		for (int k = 0; k < nrec_per_block; k++)
			t_put_all(&raw, k & 1);
		t_deflate(raw.data, raw.len, &z);
		t_block(f, nrec_per_block, z.data, z.len, t_sync);
		buf_release(&raw);
		buf_release(&z);
	}
}

static void test_deflate(void **state)
{
	(void)state;
	buf f = {0};
	t_build_deflate(&f, 3);
	json_t *records;
	char err[ERR_LEN] = "";
	int rc = t_read(f.data, f.len, &records, err);
	if (rc)
		fail_msg("%s", err);
	assert_int_equal(json_array_size(records), 6);
	for (size_t i = 0; i < 6; i++) {
		json_t *want = t_expect_all((int)(i % 3) & 1);
		assert_true(json_equal(want, json_array_get(records, i)));
		json_decref(want);
	}
	json_decref(records);
	buf_release(&f);

	/* A block that inflates past the 64 MiB cap is refused, not allocated. */
	size_t big = ((size_t)64 << 20) + 4096;
	uint8_t *zeros = calloc(1, big);
	assert_non_null(zeros);
	buf z = {0};
	t_deflate(zeros, big, &z);
	free(zeros);
	buf g = {0};
	t_build(&g, "{\"type\":\"fixed\",\"name\":\"f\",\"size\":1}", "deflate", t_sync);
	t_block(&g, 1, z.data, z.len, t_sync);
	assert_int_equal(t_read(g.data, g.len, &records, err), FLOE_ETOOBIG);
	buf_release(&z);
	buf_release(&g);
}

/* ---- corrupt input ------------------------------------------------------ */

/* Every prefix of a file is either a valid file (it ends on a block boundary)
 * or FLOE_ECORRUPT naming an offset. */
static void t_every_prefix(const buf *f, const size_t *valid, size_t nvalid)
{
	for (size_t k = 0; k <= f->len; k++) {
		json_t *records;
		char err[ERR_LEN] = "";
		int rc = t_read_copy(f->data, k, &records, err);
		int ok = 0;
		for (size_t v = 0; v < nvalid; v++)
			ok |= valid[v] == k;
		if (ok) {
			if (rc)
				fail_msg("prefix %zu should be valid: %s", k, err);
			json_decref(records);
		} else if (rc != FLOE_ECORRUPT || !strstr(err, "offset")) {
			fail_msg("prefix %zu of %zu: rc %d, '%s'", k, f->len, rc, err);
		}
	}
}

static void test_truncated_everywhere(void **state)
{
	(void)state;
	buf f = {0}, empty = {0};
	t_write_all(&f, 3);
	t_write_all(&empty, 0);
	size_t valid[] = {empty.len, f.len};
	t_every_prefix(&f, valid, 2);

	/* The deflate file: its header, after block 1, after block 2. */
	buf d = {0}, d1 = {0};
	t_build_deflate(&d, 2);
	t_build(&d1, t_all_schema, "deflate", t_sync);
	size_t hdr = d1.len;
	size_t pos = hdr;
	t_get_long(d.data, d.len, &pos);
	int64_t size = t_get_long(d.data, d.len, &pos);
	size_t dvalid[] = {hdr, pos + (size_t)size + 16, d.len};
	t_every_prefix(&d, dvalid, 3);
	buf_release(&f);
	buf_release(&empty);
	buf_release(&d);
	buf_release(&d1);
}

static void test_byte_flips(void **state)
{
	(void)state;
	buf f = {0}, d = {0};
	t_write_all(&f, 2);
	t_build_deflate(&d, 2);
	const buf *files[] = {&f, &d};
	static const uint8_t masks[] = {0x01, 0x02, 0x10, 0x80, 0xff};
	for (size_t fi = 0; fi < 2; fi++) {
		const buf *src = files[fi];
		uint8_t *copy = malloc(src->len);
		assert_non_null(copy);
		for (size_t i = 0; i < src->len; i++) {
			for (size_t m = 0; m < sizeof masks; m++) {
				memcpy(copy, src->data, src->len);
				copy[i] ^= masks[m];
				json_t *records;
				char err[ERR_LEN];
				int rc = t_read(copy, src->len, &records, err);
				assert_true(rc <= 0);
				if (rc == 0)
					json_decref(records);
			}
		}
		free(copy);
	}
	buf_release(&f);
	buf_release(&d);
}

static void test_corrupt_cases(void **state)
{
	(void)state;
	const char *arr_long = "{\"type\":\"array\",\"items\":\"long\"}";
	const char *arr_null = "{\"type\":\"array\",\"items\":\"null\"}";
	/* An array claiming 2^40 items in 3 bytes: refused before allocating. */
	t_expect_fail(arr_long, (const uint8_t *)"\x80\x80\x80\x80\x80\x40\x00", 7, 1,
	              FLOE_ECORRUPT, "count");
	/* Zero-byte items: a huge count exhausts the budget instead of memory. */
	t_expect_fail(arr_null, (const uint8_t *)"\x80\x80\x80\x80\x80\x40\x00", 7, 1,
	              FLOE_ECORRUPT, "empty items");
	t_expect_fail("\"string\"", (const uint8_t *)"\x03", 1, 1, FLOE_ECORRUPT, "length -2");
	t_expect_fail("\"string\"",
	              (const uint8_t *)"\x08"
	                               "ab",
	              3, 1, FLOE_ECORRUPT, "length 4 exceeds");
	t_expect_fail("\"string\"", (const uint8_t *)"\x04\xc3\x28", 3, 1, FLOE_ECORRUPT,
	              "not UTF-8");
	t_expect_fail("[\"null\",\"long\"]", (const uint8_t *)"\x04", 1, 1, FLOE_ECORRUPT,
	              "union index 2");
	t_expect_fail("{\"type\":\"enum\",\"name\":\"e\",\"symbols\":[\"A\"]}",
	              (const uint8_t *)"\x02", 1, 1, FLOE_ECORRUPT, "enum index 1");
	t_expect_fail("\"boolean\"", (const uint8_t *)"\x02", 1, 1, FLOE_ECORRUPT,
	              "boolean byte 2");
	t_expect_fail("\"long\"", (const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10,
	              1, FLOE_ECORRUPT, "longer than 64 bits");
	t_expect_fail("\"int\"", (const uint8_t *)"\x80\x80\x80\x80\x10", 5, 1, FLOE_ECORRUPT,
	              "out of range");
	t_expect_fail("\"long\"", (const uint8_t *)"\x02\x02", 2, 1, FLOE_ECORRUPT,
	              "1 bytes after the block");
	t_expect_fail("\"long\"", (const uint8_t *)"\x02", 1, 3, FLOE_ECORRUPT, "count 3 exceeds");
	t_expect_fail("\"long\"", (const uint8_t *)"\x02", 1, -1, FLOE_ECORRUPT, "negative block");
	t_expect_fail("{\"type\":\"fixed\",\"name\":\"f\",\"size\":4}", (const uint8_t *)"abc", 3,
	              1, FLOE_ECORRUPT, "count 1 exceeds");
	/* Recursion: a linked list 300 deep, and a record that contains itself. */
	uint8_t deep[301];
	memset(deep, 0x02, 300);
	deep[300] = 0;
	t_expect_fail("{\"type\":\"record\",\"name\":\"node\",\"fields\":[{\"name\":\"next\","
	              "\"type\":[\"null\",\"node\"]}]}",
	              deep, sizeof deep, 1, FLOE_ECORRUPT, "nested deeper");
	t_expect_fail("{\"type\":\"record\",\"name\":\"loop\",\"fields\":[{\"name\":\"x\","
	              "\"type\":\"loop\"}]}",
	              NULL, 0, 1, FLOE_ECORRUPT, "nested deeper");
	/* Bad schemas and headers. */
	t_expect_fail("{\"type\":\"array\",\"items\":\"nosuch\"}", NULL, 0, 0, FLOE_ECORRUPT,
	              "unknown type 'nosuch'");
	t_expect_fail("{\"type\":", NULL, 0, 0, FLOE_ECORRUPT, "not JSON");
	t_expect_fail("{\"type\":\"record\",\"name\":\"a\",\"fields\":[{\"name\":\"x\",\"type\":"
	              "{\"type\":\"record\",\"name\":\"a\",\"fields\":[]}}]}",
	              NULL, 0, 0, FLOE_ECORRUPT, "defined twice");

	json_t *records;
	char err[ERR_LEN];
	buf f = {0};
	t_build(&f, "\"long\"", "snappy", t_sync);
	assert_int_equal(t_read_copy(f.data, f.len, &records, err), FLOE_EINVAL);
	assert_non_null(strstr(err, "snappy"));
	buf_reset(&f);
	/* A block whose sync marker is not the header's. */
	static const uint8_t other[16] = {9};
	t_build(&f, "\"long\"", "null", t_sync);
	t_block(&f, 1, (const uint8_t *)"\x02", 1, other);
	assert_int_equal(t_read_copy(f.data, f.len, &records, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, "sync marker"));
	buf_reset(&f);
	/* A truncated and a garbled deflate block. */
	buf z = {0};
	t_deflate((const uint8_t *)"\x02\x04\x06", 3, &z);
	t_build(&f, "\"long\"", "deflate", t_sync);
	t_block(&f, 3, z.data, z.len - 1, t_sync);
	assert_int_equal(t_read_copy(f.data, f.len, &records, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, "truncated"));
	buf_reset(&f);
	t_build(&f, "\"long\"", "deflate", t_sync);
	t_block(&f, 3, (const uint8_t *)"\xff\xff\xff\xff", 4, t_sync);
	assert_int_equal(t_read_copy(f.data, f.len, &records, err), FLOE_ECORRUPT);
	buf_reset(&f);
	/* Not Avro at all; a header without a schema. */
	assert_int_equal(t_read_copy((const uint8_t *)"PAR1", 4, &records, err), FLOE_ECORRUPT);
	assert_int_equal(t_read_copy((const uint8_t *)"Obj\x01\x00", 5, &records, err),
	                 FLOE_ECORRUPT);
	assert_non_null(strstr(err, "avro.schema"));
	buf_release(&f);
	buf_release(&z);
}

/* ---- an independent writer: python3-avro, deflate --------------------- */

static const char *t_py_writer =
    "import sys, json, avro.schema, avro.datafile, avro.io\n"
    "s = avro.schema.parse(sys.argv[2])\n"
    "with open(sys.argv[1], 'wb') as fh:\n"
    "    w = avro.datafile.DataFileWriter(fh, avro.io.DatumWriter(), s, codec='deflate')\n"
    "    w.set_meta('who', b'python')\n"
    "    for i in range(3000):\n"
    "        w.append({'id': i * 7919 - 10**12, 'name': 'n%d' % i, 'tags': ['a'] * (i % 4),\n"
    "                  'attrs': {'k%d' % j: j for j in range(i % 3)},\n"
    "                  'opt': None if i % 2 else i, 'kind': ['X', 'Y'][i % 2],\n"
    "                  'h': bytes([i % 256]) * 4, 'ok': i % 5 == 0, 'ratio': i / 4})\n"
    "        if i == 1500: w.sync()\n"
    "    w.close()\n";

static const char *t_py_schema =
    "{\"type\":\"record\",\"name\":\"py\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},{\"name\":\"name\",\"type\":\"string\"},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"string\"}},"
    "{\"name\":\"attrs\",\"type\":{\"type\":\"map\",\"values\":\"int\"}},"
    "{\"name\":\"opt\",\"type\":[\"null\",\"long\"]},"
    "{\"name\":\"kind\",\"type\":{\"type\":\"enum\",\"name\":\"k\",\"symbols\":[\"X\",\"Y\"]}},"
    "{\"name\":\"h\",\"type\":{\"type\":\"fixed\",\"name\":\"h4\",\"size\":4}},"
    "{\"name\":\"ok\",\"type\":\"boolean\"},{\"name\":\"ratio\",\"type\":\"double\"}]}";

static void test_python_written_deflate(void **state)
{
	(void)state;
	char dir[] = "/tmp/floe-test-avro-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char script[128], file[128];
	snprintf(script, sizeof script, "%s/w.py", dir);
	snprintf(file, sizeof file, "%s/py.avro", dir);
	FILE *fp = fopen(script, "w");
	assert_non_null(fp);
	fputs(t_py_writer, fp);
	fclose(fp);
	buf cmd = {0};
	buf_printf(&cmd, "/usr/bin/python3 %s %s '%s'", script, file, t_py_schema);
	buf_put_u8(&cmd, 0);
	int st = system((const char *)cmd.data);
	buf_release(&cmd);
	if (st != 0)
		fail_msg("python3-avro could not write the file (is python3-avro installed?)");
	fp = fopen(file, "rb");
	assert_non_null(fp);
	buf f = {0};
	uint8_t chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_append(&f, chunk, n);
	fclose(fp);
	unlink(file);
	unlink(script);
	rmdir(dir);

	json_t *meta, *records;
	char err[ERR_LEN] = "";
	int rc = avro_read(f.data, f.len, &meta, &records, err);
	if (rc)
		fail_msg("%s", err);
	assert_string_equal(json_string_value(json_object_get(meta, "avro.codec")), "deflate");
	assert_string_equal(json_string_value(json_object_get(meta, "who")), "python");
	assert_int_equal(json_array_size(records), 3000);
	for (int i = 0; i < 3000; i++) {
		json_t *r = json_array_get(records, (size_t)i);
		assert_int_equal(json_integer_value(json_object_get(r, "id")),
		                 (int64_t)i * 7919 - 1000000000000LL);
		char name[16];
		snprintf(name, sizeof name, "n%d", i);
		assert_string_equal(json_string_value(json_object_get(r, "name")), name);
		assert_int_equal(json_array_size(json_object_get(r, "tags")), i % 4);
		json_t *attrs = json_object_get(r, "attrs");
		assert_int_equal(json_object_size(attrs), i % 3);
		if (i % 3 == 2)
			assert_int_equal(json_integer_value(json_object_get(attrs, "k1")), 1);
		json_t *opt = json_object_get(r, "opt");
		if (i % 2)
			assert_true(json_is_null(opt));
		else
			assert_int_equal(json_integer_value(opt), i);
		assert_string_equal(json_string_value(json_object_get(r, "kind")),
		                    i % 2 ? "Y" : "X");
		json_t *h = json_object_get(r, "h");
		assert_int_equal(json_string_length(h), 4);
		assert_int_equal((uint8_t)json_string_value(h)[3], i % 256);
		assert_true(json_is_true(json_object_get(r, "ok")) == (i % 5 == 0));
		assert_true(json_real_value(json_object_get(r, "ratio")) == i / 4.0);
	}
	json_decref(meta);
	json_decref(records);
	buf_release(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_varint_edges),
	    cmocka_unit_test(test_primitives),
	    cmocka_unit_test(test_header_layout),
	    cmocka_unit_test(test_blocks_and_sync),
	    cmocka_unit_test(test_writer_errors),
	    cmocka_unit_test(test_round_trip_all_types),
	    cmocka_unit_test(test_deflate),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_byte_flips),
	    cmocka_unit_test(test_corrupt_cases),
	    cmocka_unit_test(test_python_written_deflate),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
