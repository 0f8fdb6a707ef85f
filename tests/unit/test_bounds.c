/*
 * test_bounds — src/iceberg/bounds.c: the Iceberg single-value bound of
 * every type, decimal sign handling, and the truncation / increment rules for
 * strings (including 4-byte UTF-8, U+10FFFF and the surrogate gap) and binary.
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

#include "base/buf.h"
#include "base/err.h"
#include "iceberg/bounds.h"

typedef struct result {
	int rc;
	buf lo, hi;
	int has_upper;
	char err[ERR_LEN];
} result;

static void run(const ice_field *f, const void *mn, size_t mnl, const void *mx, size_t mxl,
                result *r)
{
	memset(r, 0, sizeof *r);
	r->rc = ice_bounds_from_parquet(f, mn, mnl, mx, mxl, &r->lo, &r->hi, &r->has_upper, r->err);
}

static void done(result *r)
{
	buf_release(&r->lo);
	buf_release(&r->hi);
}

static void expect_bytes(const buf *b, const void *want, size_t n)
{
	if (b->len != n || (n && memcmp(b->data, want, n) != 0)) {
		char got[256] = "", exp[256] = "";
		for (size_t i = 0; i < b->len && i < 80; i++)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%02x", b->data[i]);
		for (size_t i = 0; i < n && i < 80; i++)
			snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "%02x",
			         ((const uint8_t *)want)[i]);
		fail_msg("bound %s (len %zu) != expected %s (len %zu)", got, b->len, exp, n);
	}
}

/* Both bounds equal the inputs byte for byte (the common case). */
static void expect_same(const ice_field *f, const void *mn, size_t mnl, const void *mx, size_t mxl)
{
	result r;
	run(f, mn, mnl, mx, mxl, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.has_upper, 1);
	expect_bytes(&r.lo, mn, mnl);
	expect_bytes(&r.hi, mx, mxl);
	done(&r);
}

static void expect_error(const ice_field *f, const void *mn, size_t mnl, const void *mx, size_t mxl,
                         const char *needle)
{
	result r;
	/* Pre-filled buffers must come back unchanged on error. */
	memset(&r, 0, sizeof r);
	buf_append(&r.lo, "L", 1);
	buf_append(&r.hi, "U", 1);
	r.rc = ice_bounds_from_parquet(f, mn, mnl, mx, mxl, &r.lo, &r.hi, &r.has_upper, r.err);
	assert_int_equal(r.rc, FLOE_EINVAL);
	if (!strstr(r.err, needle))
		fail_msg("error '%s' does not mention '%s'", r.err, needle);
	expect_bytes(&r.lo, "L", 1);
	expect_bytes(&r.hi, "U", 1);
	assert_int_equal(r.has_upper, 0);
	done(&r);
}

static void test_fixed_width(void **state)
{
	(void)state;
	ice_field f = {.id = 1, .name = "c"};
	uint8_t b0 = 0, b1 = 1, b2 = 7;
	f.type = ICE_BOOLEAN;
	expect_same(&f, &b0, 1, &b1, 1);
	result r;
	run(&f, &b2, 1, &b2, 1, &r); /* any non-zero byte is true */
	assert_int_equal(r.rc, 0);
	expect_bytes(&r.lo, "\x01", 1);
	expect_bytes(&r.hi, "\x01", 1);
	done(&r);
	expect_error(&f, &b0, 0, &b1, 1, "min value has 0 bytes");

	uint8_t i4a[4], i4b[4], i8a[8], i8b[8];
	put_le32(i4a, (uint32_t)-5);
	put_le32(i4b, 123456);
	put_le64(i8a, (uint64_t)INT64_MIN);
	put_le64(i8b, (uint64_t)INT64_MAX);
	ice_type_id t4[] = {ICE_INT, ICE_DATE};
	for (size_t i = 0; i < 2; i++) {
		f.type = t4[i];
		expect_same(&f, i4a, 4, i4b, 4);
		expect_error(&f, i4a, 4, i8b, 8, "max value has 8 bytes, expected 4");
	}
	ice_type_id t8[] = {ICE_LONG, ICE_TIME, ICE_TIMESTAMP, ICE_TIMESTAMPTZ};
	for (size_t i = 0; i < 4; i++) {
		f.type = t8[i];
		expect_same(&f, i8a, 8, i8b, 8);
		expect_error(&f, i4a, 4, i8b, 8, "expected 8");
	}

	uint8_t u1[16], u2[16];
	for (int i = 0; i < 16; i++) {
		u1[i] = (uint8_t)i;
		u2[i] = (uint8_t)(0xf0 + i);
	}
	f.type = ICE_UUID;
	expect_same(&f, u1, 16, u2, 16);
	expect_error(&f, u1, 15, u2, 16, "expected 16");

	f.type = ICE_FIXED;
	f.length = 20; /* fixed values are never truncated */
	uint8_t x1[20] = {0}, x2[20];
	memset(x2, 0xff, sizeof x2);
	expect_same(&f, x1, 20, x2, 20);
	expect_error(&f, x1, 19, x2, 20, "expected 20");
}

static void put_float(uint8_t *p, float x)
{
	uint32_t v;
	memcpy(&v, &x, 4);
	put_le32(p, v);
}

static void put_double(uint8_t *p, double x)
{
	uint64_t v;
	memcpy(&v, &x, 8);
	put_le64(p, v);
}

static void test_floats(void **state)
{
	(void)state;
	ice_field f = {.id = 1, .name = "x", .type = ICE_FLOAT};
	uint8_t a[8], b[8];
	put_float(a, -0.0f);
	put_float(b, 0.0f);
	expect_same(&f, a, 4, b, 4);
	assert_int_equal(a[3], 0x80); /* the sign of -0.0 survives */
	put_float(a, -INFINITY);
	put_float(b, 3.5f);
	expect_same(&f, a, 4, b, 4);
	put_float(b, NAN);
	expect_error(&f, a, 4, b, 4, "NaN");
	expect_error(&f, a, 8, a, 4, "expected 4");

	f.type = ICE_DOUBLE;
	put_double(a, -1e300);
	put_double(b, INFINITY);
	expect_same(&f, a, 8, b, 8);
	put_double(a, NAN);
	expect_error(&f, a, 8, b, 8, "min value is NaN");
}

/* decimal bound of an INT32 / INT64 / FLBA value. */
static void expect_decimal(int precision, const uint8_t *pq, size_t n, const char *want,
                           size_t wantn)
{
	ice_field f = {
	    .id = 1, .name = "d", .type = ICE_DECIMAL, .precision = precision, .scale = 2};
	result r;
	run(&f, pq, n, pq, n, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.has_upper, 1);
	expect_bytes(&r.lo, want, wantn);
	expect_bytes(&r.hi, want, wantn);
	done(&r);
}

static void expect_decimal32(int32_t v, const char *want, size_t wantn)
{
	uint8_t le[4];
	put_le32(le, (uint32_t)v);
	expect_decimal(9, le, 4, want, wantn);
}

static void expect_decimal64(int64_t v, const char *want, size_t wantn)
{
	uint8_t le[8];
	put_le64(le, (uint64_t)v);
	expect_decimal(18, le, 8, want, wantn);
}

static void test_decimal(void **state)
{
	(void)state;
	expect_decimal32(0, "\x00", 1);
	expect_decimal32(1, "\x01", 1);
	expect_decimal32(127, "\x7f", 1);
	expect_decimal32(128, "\x00\x80", 2);
	expect_decimal32(255, "\x00\xff", 2);
	expect_decimal32(256, "\x01\x00", 2);
	expect_decimal32(-1, "\xff", 1);
	expect_decimal32(-128, "\x80", 1);
	expect_decimal32(-129, "\xff\x7f", 2);
	expect_decimal32(INT32_MIN, "\x80\x00\x00\x00", 4);
	expect_decimal32(INT32_MAX, "\x7f\xff\xff\xff", 4);
	expect_decimal32(999999999, "\x3b\x9a\xc9\xff", 4);

	expect_decimal64(0, "\x00", 1);
	expect_decimal64(0x0102030405LL, "\x01\x02\x03\x04\x05", 5);
	expect_decimal64(-256, "\xff\x00", 2);
	expect_decimal64(-32768, "\x80\x00", 2);
	expect_decimal64(-32769, "\xff\x7f\xff", 3);
	expect_decimal64(INT64_MIN, "\x80\x00\x00\x00\x00\x00\x00\x00", 8);
	expect_decimal64(999999999999999999LL, "\x0d\xe0\xb6\xb3\xa7\x63\xff\xff", 8);

	/* FLBA (precision > 18): big-endian already, only sign bytes dropped. */
	uint8_t one[13] = {0}, neg[13], big[16];
	one[12] = 1;
	expect_decimal(30, one, 13, "\x01", 1);
	memset(neg, 0xff, sizeof neg);
	neg[12] = 0x80;
	expect_decimal(30, neg, 13, "\x80", 1);
	neg[12] = 0x7f; /* -129 */
	expect_decimal(30, neg, 13, "\xff\x7f", 2);
	memset(big, 0, sizeof big);
	big[0] = 0x4b; /* 10^38 - 1 = 0x4b3b4ca85a86c47a098a223fffffffff */
	memcpy(big, "\x4b\x3b\x4c\xa8\x5a\x86\xc4\x7a\x09\x8a\x22\x3f\xff\xff\xff\xff", 16);
	expect_decimal(38, big, 16, (const char *)big, 16);
	memset(big, 0, sizeof big);
	expect_decimal(38, big, 16, "\x00", 1);

	ice_field f = {.id = 1, .name = "d", .type = ICE_DECIMAL, .precision = 9, .scale = 0};
	uint8_t v8[17] = {0};
	expect_error(&f, v8, 8, v8, 4, "expected 4");
	f.precision = 18;
	expect_error(&f, v8, 4, v8, 8, "expected 8");
	f.precision = 38;
	expect_error(&f, v8, 17, v8, 16, "expected 1..16");
	expect_error(&f, v8, 0, v8, 16, "expected 1..16");
}

static void check_string(const char *mn, const char *mx, const char *want_lo, const char *want_hi)
{
	ice_field f = {.id = 1, .name = "s", .type = ICE_STRING};
	result r;
	run(&f, mn, strlen(mn), mx, strlen(mx), &r);
	if (r.rc)
		fail_msg("unexpected error: %s", r.err);
	expect_bytes(&r.lo, want_lo, strlen(want_lo));
	if (want_hi) {
		assert_int_equal(r.has_upper, 1);
		expect_bytes(&r.hi, want_hi, strlen(want_hi));
	} else {
		assert_int_equal(r.has_upper, 0);
		assert_int_equal(r.hi.len, 0);
	}
	done(&r);
}

/* s repeated n times (into a static buffer per slot). */
static const char *rep(int slot, const char *s, int n)
{
	static char bufs[4][512];
	bufs[slot][0] = 0;
	for (int i = 0; i < n; i++)
		strcat(bufs[slot], s);
	return bufs[slot];
}

static void test_strings(void **state)
{
	(void)state;
	char a[128], b[128];
	/* Short and exactly-16 strings are kept whole (no increment). */
	check_string("", "zz", "", "zz");
	check_string("0123456789abcdef", "0123456789abcdef", "0123456789abcdef",
	             "0123456789abcdef");
	/* 17 ASCII characters: the upper bound bumps the 16th. */
	check_string("0123456789abcdefg", "0123456789abcdefg", "0123456789abcdef",
	             "0123456789abcdeg");
	/* Multibyte: 17 x U+00E9 (2 bytes) -> 16 kept, last becomes U+00EA. */
	snprintf(a, sizeof a, "%s", rep(0, "\xc3\xa9", 17));
	snprintf(b, sizeof b, "%s\xc3\xaa", rep(1, "\xc3\xa9", 15));
	check_string(a, a, rep(2, "\xc3\xa9", 16), b);
	/* 4-byte UTF-8: 17 x U+1F600 -> 16 x U+1F600 and 15 x U+1F600 + U+1F601. */
	snprintf(a, sizeof a, "%s", rep(0, "\xf0\x9f\x98\x80", 17));
	snprintf(b, sizeof b, "%s\xf0\x9f\x98\x81", rep(1, "\xf0\x9f\x98\x80", 15));
	check_string(a, a, rep(2, "\xf0\x9f\x98\x80", 16), b);
	/* The 16th code point is U+10FFFF: it cannot grow, so the 15th does. */
	snprintf(a, sizeof a, "%s\xf4\x8f\xbf\xbfzz", rep(0, "a", 15));
	snprintf(b, sizeof b, "%sb", rep(1, "a", 14));
	{
		char lo[64];
		snprintf(lo, sizeof lo, "%s\xf4\x8f\xbf\xbf", rep(2, "a", 15));
		check_string(a, a, lo, b);
	}
	/* Every kept code point is U+10FFFF: no upper bound at all. */
	snprintf(a, sizeof a, "%s", rep(0, "\xf4\x8f\xbf\xbf", 17));
	check_string(a, a, rep(1, "\xf4\x8f\xbf\xbf", 16), NULL);
	/* Incrementing U+D7FF skips the surrogates to U+E000. */
	snprintf(a, sizeof a, "%s\xed\x9f\xbf!", rep(0, "x", 15));
	snprintf(b, sizeof b, "%s\xee\x80\x80", rep(1, "x", 15));
	check_string("x", a, "x", b);
	/* U+FFFF grows to the 4-byte U+10000. */
	snprintf(a, sizeof a, "%s\xef\xbf\xbf!", rep(0, "x", 15));
	snprintf(b, sizeof b, "%s\xf0\x90\x80\x80", rep(1, "x", 15));
	check_string("x", a, "x", b);
	/* U+007F grows to the 2-byte U+0080. */
	snprintf(a, sizeof a, "%s\x7f!", rep(0, "x", 15));
	snprintf(b, sizeof b, "%s\xc2\x80", rep(1, "x", 15));
	check_string("x", a, "x", b);
	/* Only the max is truncated: the min stays whole and vice versa. */
	check_string("a", "bbbbbbbbbbbbbbbbbbbb", "a", "bbbbbbbbbbbbbbbc");
	check_string("aaaaaaaaaaaaaaaaaaaa", "b", "aaaaaaaaaaaaaaaa", "b");
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	ice_field f = {.id = 1, .name = "s", .type = ICE_STRING};
	static const char *bad[] = {
	    "\xc0\x80",             /* overlong NUL */
	    "\xe0\x80\xaf",         /* overlong '/' */
	    "\xed\xa0\x80",         /* surrogate U+D800 */
	    "\xf4\x90\x80\x80",     /* U+110000 */
	    "\xf8\x88\x80\x80\x80", /* 5-byte form */
	    "\xc3",                 /* truncated */
	    "\x80",                 /* stray continuation */
	    "ok\xe2\x82",           /* truncated at the end */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		expect_error(&f, bad[i], strlen(bad[i]), "a", 1, "not valid UTF-8");
		expect_error(&f, "a", 1, bad[i], strlen(bad[i]), "max value is not valid UTF-8");
	}
	/* Malformed bytes after the 16th code point are still caught. */
	char a[64];
	snprintf(a, sizeof a, "%s\xff", rep(0, "a", 20));
	expect_error(&f, "a", 1, a, strlen(a), "at byte 20");
}

static void expect_binary(const uint8_t *mx, size_t n, const uint8_t *want, size_t wn, int has)
{
	ice_field f = {.id = 1, .name = "b", .type = ICE_BINARY};
	result r;
	run(&f, mx, n, mx, n, &r);
	assert_int_equal(r.rc, 0);
	expect_bytes(&r.lo, mx, n < 16 ? n : 16);
	assert_int_equal(r.has_upper, has);
	expect_bytes(&r.hi, want, wn);
	done(&r);
}

static void test_binary(void **state)
{
	(void)state;
	uint8_t v[40], w[16];
	for (int i = 0; i < 40; i++)
		v[i] = (uint8_t)(i * 7);
	expect_binary(v, 0, v, 0, 1);
	expect_binary(v, 16, v, 16, 1);
	/* 17 bytes: the 16th byte grows by one, the rest is dropped. */
	memcpy(w, v, 16);
	w[15]++;
	expect_binary(v, 17, w, 16, 1);
	/* Trailing 0xff bytes are dropped and the byte before them grows. */
	memset(v + 13, 0xff, 10);
	memcpy(w, v, 13);
	w[12]++;
	expect_binary(v, 30, w, 13, 1);
	/* All 0xff: no upper bound. */
	memset(v, 0xff, sizeof v);
	expect_binary(v, 40, NULL, 0, 0);
}

static void test_appends(void **state)
{
	(void)state;
	/* Bounds are appended after what the buffers already hold. */
	ice_field f = {.id = 1, .name = "i", .type = ICE_INT};
	uint8_t mn[4], mx[4];
	put_le32(mn, 1);
	put_le32(mx, 2);
	buf lo = {0}, hi = {0};
	buf_append(&lo, "ab", 2);
	buf_append(&hi, "c", 1);
	int has;
	char err[ERR_LEN];
	assert_int_equal(ice_bounds_from_parquet(&f, mn, 4, mx, 4, &lo, &hi, &has, err), 0);
	expect_bytes(&lo, "ab\x01\x00\x00\x00", 6);
	expect_bytes(&hi, "c\x02\x00\x00\x00", 5);
	f.type = (ice_type_id)77;
	assert_int_equal(ice_bounds_from_parquet(&f, mn, 4, mx, 4, &lo, &hi, &has, err),
	                 FLOE_EINVAL);
	assert_int_equal(lo.len, 6);
	assert_int_equal(hi.len, 5);
	/* A list has no bounds of its own (its element's are not kept). */
	ice_field l = {
	    .id = 2, .name = "tags", .type = ICE_LIST, .elem_id = 3, .elem_type = ICE_INT};
	assert_int_equal(ice_bounds_from_parquet(&l, mn, 4, mx, 4, &lo, &hi, &has, err),
	                 FLOE_EINVAL);
	assert_non_null(strstr(err, "'tags': a list has no bounds"));
	assert_int_equal(has, 0);
	assert_int_equal(lo.len, 6);
	buf_release(&lo);
	buf_release(&hi);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixed_width),  cmocka_unit_test(test_floats),
	    cmocka_unit_test(test_decimal),      cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_invalid_utf8), cmocka_unit_test(test_binary),
	    cmocka_unit_test(test_appends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
