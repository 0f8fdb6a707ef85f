/*
 * test_thrift_read — the compact protocol reader (src/format/thrift_read.c)
 * against messages from floe's writer (src/format/thrift.c) and hand-made
 * bytes: every type (bools in field headers and in lists, i8, i16, i32, i64
 * extremes, binary with NUL bytes, double, set, map, uuid), delta and long
 * field ids (backwards, negative, far), nested structs, long list headers,
 * lists of structs; skipping unknown fields and fields of an unexpected type;
 * the field-handler walk (thrift_read_fields, thrift_read_struct_fields);
 * every truncation of a message and a set of malformed inputs give
 * FLOE_ECORRUPT (buffers are exact-size heap copies, so ASan sees any read
 * past the end); random bytes never crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/thrift.h"
#include "format/thrift_read.h"

/* ---- a sample message ---------------------------------------------------- */

typedef struct sample {
	int t, f;
	int8_t i8;
	int32_t i32, far_i32, back_i32, neg_i32, inner_i32;
	int64_t i64, deep_i64;
	char bin[16];
	size_t bin_len;
	char deep[8], far[8];
	uint32_t nlong;
	int32_t longlist[32];
	int bools[3];
	char strs[3][4];
	int64_t sids[2];
	int sflag;
	int inner_empty; /* the empty list inside the struct was seen */
} sample;

static void sample_write(buf *b)
{
	thrift_writer t;
	thrift_init(&t, b);
	thrift_field_bool(&t, 1, 1);
	thrift_field_bool(&t, 2, 0);
	thrift_field_i8(&t, 3, -5);
	thrift_field_i16(&t, 4, -300);
	thrift_field_i32(&t, 5, INT32_MIN);
	thrift_field_i64(&t, 6, INT64_MAX);
	thrift_field_binary(&t, 7, "hello\0world", 11);
	thrift_struct_begin(&t, 8);
	thrift_field_i32(&t, 1, 7);
	thrift_struct_begin(&t, 2);
	thrift_field_string(&t, 1, "deep");
	thrift_field_i64(&t, 20, -1);
	thrift_struct_end(&t);
	thrift_list_begin(&t, 3, THRIFT_I32, 0);
	thrift_struct_end(&t);
	thrift_list_begin(&t, 9, THRIFT_I32, 20);
	for (int i = 0; i < 20; i++)
		thrift_elem_i32(&t, i * i - 100);
	thrift_list_begin(&t, 10, THRIFT_BOOL, 3);
	thrift_elem_bool(&t, 1);
	thrift_elem_bool(&t, 0);
	thrift_elem_bool(&t, 1);
	thrift_list_begin(&t, 11, THRIFT_BINARY, 3);
	thrift_elem_string(&t, "a");
	thrift_elem_string(&t, "");
	thrift_elem_string(&t, "ccc");
	thrift_list_begin(&t, 12, THRIFT_STRUCT, 2);
	thrift_elem_struct_begin(&t);
	thrift_field_i64(&t, 1, 1);
	thrift_struct_end(&t);
	thrift_elem_struct_begin(&t);
	thrift_field_i64(&t, 1, 2);
	thrift_field_bool(&t, 40, 1);
	thrift_struct_end(&t);
	thrift_field_i32(&t, 30, 42); /* delta 18: long form */
	thrift_field_i32(&t, 25, 43); /* backwards: long form */
	thrift_field_string(&t, 1000, "far");
	thrift_field_i32(&t, -5, -7); /* negative id */
	assert_int_equal(thrift_finish(&t), 0);
}

static int read_deep(thrift_reader *t, sample *s)
{
	int16_t id;
	int type, rc;
	const uint8_t *p;
	size_t n;
	while ((rc = thrift_read_field(t, &id, &type)) > 0) {
		if (id == 1 && (rc = thrift_read_binary(t, type, &p, &n)) > 0 &&
		    n < sizeof(s->deep))
			memcpy(s->deep, p, n);
		else if (id == 20)
			rc = thrift_read_i64(t, type, &s->deep_i64);
		else if (id != 1)
			rc = thrift_skip(t, type);
		if (rc < 0)
			return rc;
	}
	return rc;
}

static int read_inner(thrift_reader *t, sample *s)
{
	int16_t id;
	int type, rc;
	uint32_t n;
	while ((rc = thrift_read_field(t, &id, &type)) > 0) {
		if (id == 1)
			rc = thrift_read_i32(t, type, &s->inner_i32);
		else if (id == 2)
			rc = (rc = thrift_read_struct(t, type)) > 0 ? read_deep(t, s) : rc;
		else if (id == 3 && (rc = thrift_read_list(t, type, THRIFT_I32, &n)) > 0)
			s->inner_empty = n == 0;
		else if (id != 3)
			rc = thrift_skip(t, type);
		if (rc < 0)
			return rc;
	}
	return rc;
}

static int read_lists(thrift_reader *t, int16_t id, int type, sample *s)
{
	uint32_t n;
	int rc;
	const uint8_t *p;
	size_t len;
	int16_t fid;
	int ft;
	switch (id) {
	case 9:
		if ((rc = thrift_read_list(t, type, THRIFT_I32, &n)) <= 0)
			return rc;
		s->nlong = n;
		for (uint32_t i = 0; i < n; i++)
			if ((rc = thrift_get_i32(t, i < 32 ? &s->longlist[i] : &s->i32)))
				return rc;
		return 0;
	case 10:
		if ((rc = thrift_read_list(t, type, THRIFT_BOOL, &n)) <= 0)
			return rc;
		for (uint32_t i = 0; i < n; i++)
			if ((rc = thrift_get_bool(t, &s->bools[i % 3])))
				return rc;
		return 0;
	case 11:
		if ((rc = thrift_read_list(t, type, THRIFT_BINARY, &n)) <= 0)
			return rc;
		for (uint32_t i = 0; i < n; i++) {
			if ((rc = thrift_get_binary(t, &p, &len)))
				return rc;
			if (i < 3 && len < 4)
				memcpy(s->strs[i], p, len);
		}
		return 0;
	default: /* 12 */
		if ((rc = thrift_read_list(t, type, THRIFT_STRUCT, &n)) <= 0)
			return rc;
		for (uint32_t i = 0; i < n; i++) {
			if ((rc = thrift_get_struct(t)))
				return rc;
			while ((rc = thrift_read_field(t, &fid, &ft)) > 0) {
				if (fid == 1)
					rc = thrift_read_i64(t, ft, &s->sids[i % 2]);
				else if (fid == 40)
					rc = thrift_read_bool(t, ft, &s->sflag);
				else
					rc = thrift_skip(t, ft);
				if (rc < 0)
					return rc;
			}
			if (rc < 0)
				return rc;
		}
		return 0;
	}
}

/* Reads the sample from exactly n bytes (a heap copy, for ASan). */
static int sample_read(const uint8_t *msg, size_t n, sample *s, thrift_reader *out)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	if (n)
		memcpy(copy, msg, n);
	memset(s, 0, sizeof(*s));
	thrift_reader t;
	thrift_reader_init(&t, copy, n);
	int16_t id;
	int type, rc;
	const uint8_t *p;
	size_t len;
	while ((rc = thrift_read_field(&t, &id, &type)) > 0) {
		switch (id) {
		case 1:
			rc = thrift_read_bool(&t, type, &s->t);
			break;
		case 2:
			rc = thrift_read_bool(&t, type, &s->f);
			break;
		case 3:
			rc = thrift_read_i8(&t, type, &s->i8);
			break;
		case 5:
			rc = thrift_read_i32(&t, type, &s->i32);
			break;
		case 6:
			rc = thrift_read_i64(&t, type, &s->i64);
			break;
		case 7:
			if ((rc = thrift_read_binary(&t, type, &p, &len)) > 0 && len <= 16) {
				memcpy(s->bin, p, len);
				s->bin_len = len;
			}
			break;
		case 8:
			if ((rc = thrift_read_struct(&t, type)) > 0)
				rc = read_inner(&t, s);
			break;
		case 9:
		case 10:
		case 11:
		case 12:
			rc = read_lists(&t, id, type, s);
			break;
		case 30:
			rc = thrift_read_i32(&t, type, &s->far_i32);
			break;
		case 25:
			rc = thrift_read_i32(&t, type, &s->back_i32);
			break;
		case 1000:
			if ((rc = thrift_read_binary(&t, type, &p, &len)) > 0 && len < 8)
				memcpy(s->far, p, len);
			break;
		case -5:
			rc = thrift_read_i32(&t, type, &s->neg_i32);
			break;
		default: /* 4 (i16) */
			rc = thrift_skip(&t, type);
			break;
		}
		if (rc < 0)
			break;
	}
	if (rc == 0 && t.pos != n)
		rc = -99;
	if (out)
		*out = t;
	free(copy);
	return rc;
}

static void test_every_type(void **state)
{
	(void)state;
	buf b = {0};
	sample s;
	sample_write(&b);
	assert_int_equal(sample_read(b.data, b.len, &s, NULL), 0);
	assert_true(s.t);
	assert_false(s.f);
	assert_int_equal(s.i8, -5);
	assert_int_equal(s.i32, INT32_MIN);
	assert_true(s.i64 == INT64_MAX);
	assert_int_equal(s.bin_len, 11);
	assert_memory_equal(s.bin, "hello\0world", 11);
	assert_int_equal(s.inner_i32, 7);
	assert_string_equal(s.deep, "deep");
	assert_int_equal(s.deep_i64, -1);
	assert_true(s.inner_empty);
	assert_int_equal(s.nlong, 20);
	for (int i = 0; i < 20; i++)
		assert_int_equal(s.longlist[i], i * i - 100);
	assert_int_equal(s.bools[0], 1);
	assert_int_equal(s.bools[1], 0);
	assert_int_equal(s.bools[2], 1);
	assert_string_equal(s.strs[0], "a");
	assert_string_equal(s.strs[1], "");
	assert_string_equal(s.strs[2], "ccc");
	assert_int_equal(s.sids[0], 1);
	assert_int_equal(s.sids[1], 2);
	assert_true(s.sflag);
	assert_int_equal(s.far_i32, 42);
	assert_int_equal(s.back_i32, 43);
	assert_string_equal(s.far, "far");
	assert_int_equal(s.neg_i32, -7);
	buf_release(&b);
}

/* Reads only fields 5 and 1000 of the sample: everything else is skipped,
 * nested structs and lists included. */
static void test_skip_unknown_fields(void **state)
{
	(void)state;
	buf b = {0};
	sample_write(&b);
	thrift_reader t;
	thrift_reader_init(&t, b.data, b.len);
	int16_t id;
	int type, rc, seen = 0;
	int32_t v = 0;
	const uint8_t *p;
	size_t n;
	while ((rc = thrift_read_field(&t, &id, &type)) > 0) {
		if (id == 5) {
			/* the wrong type is skipped, not an error */
			int64_t w = 12345;
			assert_int_equal(thrift_read_i64(&t, type, &w), 0);
			assert_int_equal(w, 12345);
			seen++;
		} else if (id == 1000) {
			assert_int_equal(thrift_read_binary(&t, type, &p, &n), 1);
			assert_int_equal(n, 3);
			seen++;
		} else if (id == -5) {
			assert_int_equal(thrift_read_i32(&t, type, &v), 1);
		} else if (id == 9) {
			/* a list of another element type is skipped whole */
			uint32_t cnt = 99;
			assert_int_equal(thrift_read_list(&t, type, THRIFT_BINARY, &cnt), 0);
			assert_int_equal(cnt, 99);
		} else if (id == 8) {
			/* a struct read as a list: skipped */
			uint32_t cnt;
			assert_int_equal(thrift_read_list(&t, type, THRIFT_I32, &cnt), 0);
		} else {
			assert_int_equal(thrift_skip(&t, type), 0);
		}
	}
	assert_int_equal(rc, 0);
	assert_int_equal(seen, 2);
	assert_int_equal(v, -7);
	assert_int_equal(t.pos, b.len);
	assert_int_equal(t.depth, -1);
	/* nothing after the top-level stop */
	assert_int_equal(thrift_read_field(&t, &id, &type), FLOE_ECORRUPT);
	assert_non_null(t.why);
	buf_release(&b);
}

/* Field handlers for thrift_read_fields: the top level keeps field 5 and
 * enters struct 8 through thrift_read_struct_fields. */
typedef struct fields_seen {
	int32_t i32, inner;
	int n, struct_rc;
} fields_seen;

static int inner_field(thrift_reader *t, int16_t id, int type, void *ctx)
{
	fields_seen *f = ctx;
	f->n++;
	return id == 1 ? thrift_read_i32(t, type, &f->inner) : thrift_skip(t, type);
}

static int top_field(thrift_reader *t, int16_t id, int type, void *ctx)
{
	fields_seen *f = ctx;
	f->n++;
	if (id == 5)
		return thrift_read_i32(t, type, &f->i32);
	if (id == 8)
		return f->struct_rc = thrift_read_struct_fields(t, type, inner_field, f);
	if (id == 6) /* an i64: not a struct, so skipped (0) */
		return thrift_read_struct_fields(t, type, inner_field, f);
	return thrift_skip(t, type);
}

static void test_read_fields(void **state)
{
	(void)state;
	buf b = {0};
	sample_write(&b);
	thrift_reader t;
	fields_seen f = {0};
	thrift_reader_init(&t, b.data, b.len);
	assert_int_equal(thrift_read_fields(&t, top_field, &f), 0);
	assert_int_equal(t.pos, b.len);
	assert_int_equal(f.i32, INT32_MIN);
	assert_int_equal(f.inner, 7);
	assert_int_equal(f.struct_rc, 1);
	assert_int_equal(f.n, 16 + 3); /* 16 top-level fields, 3 in struct 8 */
	/* a handler's error stops the walk */
	thrift_reader_init(&t, b.data, b.len - 1);
	assert_int_equal(thrift_read_fields(&t, top_field, &f), FLOE_ECORRUPT);
	buf_release(&b);
}

/* Every proper prefix of the message is corrupt and says it ran out. */
static void test_every_truncation(void **state)
{
	(void)state;
	buf b = {0};
	sample s;
	thrift_reader t;
	sample_write(&b);
	for (size_t k = 0; k < b.len; k++) {
		int rc = sample_read(b.data, k, &s, &t);
		assert_int_equal(rc, FLOE_ECORRUPT);
		assert_non_null(t.why);
		assert_true(t.eof);
		assert_true(t.at <= k);
	}
	buf_release(&b);
}

/* Walks any message, skipping every field; 0 or FLOE_ECORRUPT. */
static int walk(const uint8_t *p, size_t n, thrift_reader *t)
{
	int16_t id;
	int type, rc;
	thrift_reader_init(t, p, n);
	while ((rc = thrift_read_field(t, &id, &type)) > 0)
		if ((rc = thrift_skip(t, type)))
			return rc;
	return rc;
}

static int walk_bytes(const uint8_t *bytes, size_t n, const char **why)
{
	uint8_t *copy = malloc(n ? n : 1);
	assert_non_null(copy);
	if (n)
		memcpy(copy, bytes, n);
	thrift_reader t;
	int rc = walk(copy, n, &t);
	if (why)
		*why = t.why;
	free(copy);
	return rc;
}

/* The bytes walk cleanly (why NULL) or fail saying something with why. */
static void walk_expect(const uint8_t *in, size_t n, const char *why)
{
	const char *w = NULL;
	int rc = walk_bytes(in, n, &w);
	if (!why) {
		assert_int_equal(rc, 0);
		return;
	}
	assert_int_equal(rc, FLOE_ECORRUPT);
	assert_non_null(w);
	if (!strstr(w, why))
		fail_msg("error '%s' does not say '%s'", w, why);
}

#define WALK(why, ...)                                                                             \
	do {                                                                                       \
		static const uint8_t in_[] = {__VA_ARGS__};                                        \
		walk_expect(in_, sizeof(in_), why);                                                \
	} while (0)

static void test_skip_other_types(void **state)
{
	(void)state;
	/* 1: double 1.0; 2: set<i32> {1, 2}; 3: map<binary,bool> {"a": true}
	 * (bools in maps are bytes); 4: empty map; 5: uuid; 6: i16 -2;
	 * 7: list<bool> written with element type 2 and a 0 element. */
	WALK(NULL, 0x17, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x1A, 0x25, 0x02, 0x04, 0x1B, 0x01, 0x81,
	     0x01, 'a', 0x01, 0x1B, 0x00, 0x1D, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
	     16, 0x14, 0x03, 0x19, 0x22, 0x00, 0x02, 0x00);
	/* a list<list<i32>> */
	WALK(NULL, 0x19, 0x29, 0x15, 0x02, 0x00, 0x00);
}

static void test_malformed(void **state)
{
	(void)state;
	/* a varint longer than 10 bytes */
	WALK("varint", 0x16, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0);
	/* a 10th varint byte above 1 */
	WALK("varint", 0x16, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02, 0);
	/* field type 14 and 15 do not exist */
	WALK("type", 0x1E, 0);
	WALK("type", 0x1F, 0);
	/* delta with type STOP */
	WALK("type", 0x10, 0);
	/* a long-form id beyond i16 */
	WALK("range", 0x05, 0x80, 0x80, 0x04, 0x00, 0);
	/* ids wrapping past 32767 by delta */
	WALK("32767", 0x05, 0xFE, 0xFF, 0x03, 0x00, 0x15, 0x00, 0);
	/* a bool list element 3 */
	WALK("bool", 0x19, 0x11, 0x03, 0);
	/* a list of 2 elements of type 0 */
	WALK("element type", 0x19, 0x20, 0);
	/* a list announcing more elements than there are bytes */
	WALK("truncated", 0x19, 0xF5, 0xFF, 0xFF, 0x03, 0x00);
	WALK("list size", 0x19, 0xF5, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x00);
	/* a map with a key type 0 */
	WALK("map", 0x1B, 0x01, 0x05, 0x00, 0x00);
	/* a map announcing more pairs than bytes */
	WALK("map", 0x1B, 0x7F, 0x55, 0x00, 0x00, 0);
	/* a binary longer than the message */
	WALK("truncated", 0x18, 0x05, 'a', 'b', 0);
	/* an i32 field whose value needs 33 bits */
	thrift_reader t;
	static const uint8_t big[] = {0x15, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00};
	int16_t id;
	int type;
	int32_t v;
	thrift_reader_init(&t, big, sizeof(big));
	assert_int_equal(thrift_read_field(&t, &id, &type), 1);
	assert_int_equal(thrift_read_i32(&t, type, &v), FLOE_ECORRUPT);
	assert_non_null(strstr(t.why, "range"));
	assert_int_equal(t.at, 1); /* where the value starts */
	/* errors are sticky */
	assert_int_equal(thrift_read_field(&t, &id, &type), FLOE_ECORRUPT);
	assert_int_equal(t.at, 1);
}

static void test_depth_limit(void **state)
{
	(void)state;
	uint8_t deep[64];
	size_t n = 0;
	/* 40 nested structs (field 1 of each) */
	for (int i = 0; i < 40; i++)
		deep[n++] = 0x1C;
	for (int i = 0; i < 21; i++)
		deep[n++] = 0x00;
	const char *why;
	assert_int_equal(walk_bytes(deep, n, &why), FLOE_ECORRUPT);
	assert_non_null(strstr(why, "deep"));
	/* nested lists */
	n = 0;
	deep[n++] = 0x19;
	for (int i = 0; i < 40; i++)
		deep[n++] = 0x19;
	deep[n++] = 0x00;
	assert_int_equal(walk_bytes(deep, n, &why), FLOE_ECORRUPT);
	assert_non_null(strstr(why, "deep"));
	/* nesting just below the limit is fine */
	buf b = {0};
	thrift_writer w;
	thrift_init(&w, &b);
	for (int i = 0; i < THRIFT_MAX_DEPTH - 2; i++)
		thrift_struct_begin(&w, 1);
	thrift_field_i32(&w, 1, 5);
	for (int i = 0; i < THRIFT_MAX_DEPTH - 2; i++)
		thrift_struct_end(&w);
	assert_int_equal(thrift_finish(&w), 0);
	assert_int_equal(walk_bytes(b.data, b.len, NULL), 0);
	buf_release(&b);
}

static void test_varint_decode(void **state)
{
	(void)state;
	static const uint8_t v[] = {0xDF, 0x89, 0x03, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	                            0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x80, 0x00};
	size_t pos = 0;
	uint64_t x;
	assert_int_equal(thrift_varint_decode(v, sizeof(v), &pos, &x), 0);
	assert_int_equal(x, 50399);
	assert_int_equal(pos, 3);
	assert_int_equal(thrift_varint_decode(v, sizeof(v), &pos, &x), 0);
	assert_true(x == UINT64_MAX);
	assert_int_equal(pos, 13);
	assert_int_equal(thrift_varint_decode(v, sizeof(v), &pos, &x), 0); /* overlong 0 */
	assert_int_equal(x, 0);
	assert_int_equal(thrift_varint_decode(v, sizeof(v), &pos, &x), -1); /* at the end */
	pos = 0;
	assert_int_equal(thrift_varint_decode(v, 2, &pos, &x), -1); /* cut */
	assert_int_equal(pos, 0);
	assert_true(thrift_unzigzag(1) == -1);
	assert_true(thrift_unzigzag(UINT64_MAX) == INT64_MIN);
	assert_true(thrift_unzigzag(UINT64_MAX - 1) == INT64_MAX);
}

/* Random and mutated bytes: errors are fine, crashes and reads past the
 * end are not. */
static void test_random_bytes(void **state)
{
	(void)state;
	uint64_t x = 0x9E3779B97F4A7C15ull;
	buf b = {0};
	sample_write(&b);
	for (int iter = 0; iter < 20000; iter++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint8_t m[96];
		size_t n;
		if (iter % 2) {
			n = x % sizeof(m);
			for (size_t i = 0; i < n; i++) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				m[i] = (uint8_t)x;
			}
		} else {
			n = b.len < sizeof(m) ? b.len : sizeof(m);
			memcpy(m, b.data, n);
			m[x % n] ^= (uint8_t)(x >> 8);
			m[(x >> 16) % n] ^= (uint8_t)(x >> 24);
		}
		int rc = walk_bytes(m, n, NULL);
		assert_true(rc == 0 || rc == FLOE_ECORRUPT);
		sample s;
		rc = sample_read(m, n, &s, NULL);
		assert_true(rc == 0 || rc == FLOE_ECORRUPT || rc == -99);
	}
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_type),       cmocka_unit_test(test_skip_unknown_fields),
	    cmocka_unit_test(test_read_fields),      cmocka_unit_test(test_every_truncation),
	    cmocka_unit_test(test_skip_other_types), cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_depth_limit),      cmocka_unit_test(test_varint_decode),
	    cmocka_unit_test(test_random_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
