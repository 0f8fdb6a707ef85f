/*
 * test_pgtype — PostgreSQL type mapping and text values into batches
 * (src/source/pg/pgtype.c): every row of the mapping table, numeric typmods
 * (PostgreSQL 15's negative scales included), unsupported types, arrays;
 * every floe type's text forms at their boundaries (integer overflow by one,
 * decimals exactly filling p and one digit over, BC dates, year 1, +-infinity,
 * 24:00:00, offsets with seconds, float NaN/Inf/-0/denormals and float4
 * double-rounding); that every bad text is refused with a message naming the
 * column and leaves the row untouched; the array literal splitter; list
 * values (each element type's text through the scalar parsers, NULL and
 * "NULL", empty and null arrays, nested arrays and bad elements refused with
 * the elements already added dropped, in a batch that has earlier rows).
 * Oracles: day counts were computed outside floe (Python's datetime, and for
 * BC and far-future dates a count summing year lengths), float values from
 * the C library's own constants.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "source/pg/pgtype.h"
#include "table/value.h"

#define US_DAY INT64_C(86400000000)

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' does not contain '%s'", hay, needle);
}

static pgtype_desc desc(uint32_t oid, int32_t typmod)
{
	pgtype_desc d = {.oid = oid, .base_oid = oid, .typmod = typmod, .typtype = 'b'};
	return d;
}

/* numeric(p,s)'s typmod as PostgreSQL 15 builds it. */
static int32_t numeric_typmod(int p, int s)
{
	return (int32_t)(((uint32_t)p << 16) | ((uint32_t)s & 0x7ff)) + 4;
}

/* ---- mapping ------------------------------------------------------------ */

static floe_column map_ok(pgtype_desc d)
{
	floe_column c = {.name = "c", .nullable = 1, .field_id = 7};
	char err[ERR_LEN] = "";
	if (pgtype_map(&d, &c, err))
		fail_msg("oid %u rejected: %s", d.oid, err);
	assert_string_equal(c.name, "c");
	assert_int_equal(c.nullable, 1);
	assert_int_equal(c.field_id, 7);
	return c;
}

static void map_bad(pgtype_desc d, const char *why)
{
	floe_column c = {.name = "ip"};
	char err[ERR_LEN] = "";
	assert_int_equal(pgtype_map(&d, &c, err), FLOE_EINVAL);
	assert_contains(err, "column 'ip': ");
	assert_contains(err, why);
}

static void test_map_scalars(void **state)
{
	(void)state;
	static const struct {
		uint32_t oid;
		floe_type t;
	} t[] = {
	    {16, FT_BOOLEAN},  {21, FT_INT16},    {23, FT_INT32},       {20, FT_INT64},
	    {26, FT_INT64},    {700, FT_FLOAT32}, {701, FT_FLOAT64},    {25, FT_STRING},
	    {1043, FT_STRING}, {1042, FT_STRING}, {19, FT_STRING},      {18, FT_STRING},
	    {114, FT_STRING},  {3802, FT_STRING}, {142, FT_STRING},     {17, FT_BINARY},
	    {1082, FT_DATE32}, {1083, FT_TIME},   {1114, FT_TIMESTAMP}, {1184, FT_TIMESTAMPTZ},
	    {2950, FT_UUID},   {1700, FT_STRING},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		floe_column c = map_ok(desc(t[i].oid, -1));
		if (c.type != t[i].t)
			fail_msg("oid %u: type %d, want %d", t[i].oid, c.type, t[i].t);
		assert_int_equal(c.precision, 0);
		assert_int_equal(c.scale, 0);
	}
	/* varchar(20), bpchar(3): typmods do not matter */
	assert_int_equal(map_ok(desc(1043, 24)).type, FT_STRING);
	assert_int_equal(map_ok(desc(1042, 7)).type, FT_STRING);
	/* an enum (any oid) and a domain over int4 */
	pgtype_desc e = {.oid = 16390, .base_oid = 16390, .typmod = -1, .typtype = 'e'};
	assert_int_equal(map_ok(e).type, FT_STRING);
	pgtype_desc dom = {.oid = 16400, .base_oid = 23, .typmod = -1, .typtype = 'b'};
	assert_int_equal(map_ok(dom).type, FT_INT32);
	/* a domain numeric(12,4) */
	pgtype_desc dn = {
	    .oid = 16401, .base_oid = 1700, .typmod = numeric_typmod(12, 4), .typtype = 'b'};
	floe_column c = map_ok(dn);
	assert_int_equal(c.type, FT_DECIMAL);
	assert_int_equal(c.precision, 12);
	assert_int_equal(c.scale, 4);
}

static void test_map_numeric(void **state)
{
	(void)state;
	static const struct {
		int p, s;
		floe_type t;
	} t[] = {
	    {1, 0, FT_DECIMAL},    {10, 2, FT_DECIMAL}, {38, 38, FT_DECIMAL}, {38, 0, FT_DECIMAL},
	    {18, 18, FT_DECIMAL},  {39, 0, FT_STRING},  {1000, 2, FT_STRING}, {5, -2, FT_STRING},
	    {3, -1000, FT_STRING}, {2, 5, FT_STRING},   {5, 1000, FT_STRING},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		floe_column c = map_ok(desc(1700, numeric_typmod(t[i].p, t[i].s)));
		if (c.type != t[i].t)
			fail_msg("numeric(%d,%d): type %d", t[i].p, t[i].s, c.type);
		if (c.type == FT_DECIMAL) {
			assert_int_equal(c.precision, t[i].p);
			assert_int_equal(c.scale, t[i].s);
		}
	}
	assert_int_equal(map_ok(desc(1700, -1)).type, FT_STRING);
}

static void test_map_unsupported(void **state)
{
	(void)state;
	static const uint32_t oids[] = {1186, 1266, 790,  869,  650,  829,  600,
	                                3614, 1560, 1562, 3904, 2249, 2278, 1186};
	for (size_t i = 0; i < sizeof oids / sizeof oids[0]; i++) {
		char want[64];
		snprintf(want, sizeof want, "column type oid %u is not supported", oids[i]);
		map_bad(desc(oids[i], -1), want);
	}
	pgtype_desc d = desc(1186, -1);
	d.type_name = "interval";
	map_bad(d, "column type interval is not supported (supported: boolean, smallint, ");
	map_bad(d, "timestamptz, uuid, and one-dimensional arrays of these); set "
	           "table_config.skip_unsupported_columns to mirror the table without it");
	pgtype_desc comp = {.oid = 16500,
	                    .base_oid = 16500,
	                    .typtype = 'c',
	                    .typmod = -1,
	                    .type_name = "public.address"};
	map_bad(comp, "column type public.address is not supported");
	/* A domain over an unsupported type names the domain. */
	pgtype_desc dom = {
	    .oid = 16501, .base_oid = 869, .typtype = 'b', .typmod = -1, .type_name = "public.ip4"};
	map_bad(dom, "column type public.ip4 is not supported");
	/* NULL column name still gives a message */
	floe_column c = {0};
	char err[ERR_LEN] = "";
	assert_int_equal(pgtype_map(&d, &c, err), FLOE_EINVAL);
	assert_contains(err, "column (unnamed): column type interval");
	assert_int_equal(pgtype_map(&d, &c, NULL), FLOE_EINVAL);
}

static void test_map_arrays(void **state)
{
	(void)state;
	pgtype_desc d = {.oid = 1007,
	                 .base_oid = 1007,
	                 .typmod = -1,
	                 .typtype = 'b',
	                 .elem_oid = 23,
	                 .elem_typmod = -1,
	                 .elem_typtype = 'b',
	                 .type_name = "integer[]"};
	/* integer[] -> list<int32>; name, nullable and both field ids untouched */
	floe_column l = {.name = "c", .nullable = 1, .field_id = 7, .elem_field_id = 9};
	char err[ERR_LEN] = "";
	assert_int_equal(pgtype_map(&d, &l, err), 0);
	assert_int_equal(l.type, FT_LIST);
	assert_int_equal(l.elem_type, FT_INT32);
	assert_int_equal(l.precision + l.scale + l.elem_precision + l.elem_scale, 0);
	assert_string_equal(l.name, "c");
	assert_int_equal(l.nullable, 1);
	assert_int_equal(l.field_id, 7);
	assert_int_equal(l.elem_field_id, 9);
	/* the same column mapped again as a scalar clears the element */
	pgtype_desc i4 = desc(23, -1);
	assert_int_equal(pgtype_map(&i4, &l, err), 0);
	assert_int_equal(l.type, FT_INT32);
	assert_int_equal(l.elem_type, 0);
	floe_column e = {.name = "ip"};
	assert_int_equal(pgtype_map_element(&d, &e, err), 0);
	assert_int_equal(e.type, FT_INT32);
	/* numeric(10,2)[] */
	d.oid = d.base_oid = 1231;
	d.elem_oid = 1700;
	d.elem_typmod = numeric_typmod(10, 2);
	assert_int_equal(pgtype_map_element(&d, &e, err), 0);
	assert_int_equal(e.type, FT_DECIMAL);
	assert_int_equal(e.precision, 10);
	assert_int_equal(e.scale, 2);
	floe_column c = map_ok(d);
	assert_int_equal(c.type, FT_LIST);
	assert_int_equal(c.elem_type, FT_DECIMAL);
	assert_int_equal(c.elem_precision, 10);
	assert_int_equal(c.elem_scale, 2);
	/* numeric[] and numeric(40,2)[]: lists of strings, as the scalars */
	d.elem_typmod = -1;
	c = map_ok(d);
	assert_int_equal(c.elem_type, FT_STRING);
	assert_int_equal(c.elem_precision + c.elem_scale, 0);
	d.elem_typmod = numeric_typmod(40, 2);
	assert_int_equal(map_ok(d).elem_type, FT_STRING);
	/* every supported scalar's array, arrays of domains (resolved by the
	 * caller) alike */
	static const struct {
		uint32_t arr, elem;
		floe_type t;
	} arrs[] = {
	    {1000, 16, FT_BOOLEAN},  {1005, 21, FT_INT16},       {1016, 20, FT_INT64},
	    {1028, 26, FT_INT64},    {1021, 700, FT_FLOAT32},    {1022, 701, FT_FLOAT64},
	    {1009, 25, FT_STRING},   {1015, 1043, FT_STRING},    {1014, 1042, FT_STRING},
	    {3807, 3802, FT_STRING}, {1001, 17, FT_BINARY},      {1182, 1082, FT_DATE32},
	    {1183, 1083, FT_TIME},   {1115, 1114, FT_TIMESTAMP}, {1185, 1184, FT_TIMESTAMPTZ},
	    {2951, 2950, FT_UUID}};
	for (size_t i = 0; i < sizeof arrs / sizeof arrs[0]; i++) {
		pgtype_desc a = desc(arrs[i].arr, -1);
		a.elem_oid = arrs[i].elem;
		a.elem_typmod = -1;
		a.elem_typtype = 'b';
		c = map_ok(a);
		if (c.type != FT_LIST || c.elem_type != arrs[i].t)
			fail_msg("array oid %u: type %d element %d", arrs[i].arr, c.type,
			         c.elem_type);
	}
	/* int2vector and oidvector are arrays to the catalog, not array literals */
	pgtype_desc v = desc(22, -1);
	v.elem_oid = 21;
	v.type_name = "int2vector";
	map_bad(v, "column type int2vector is not supported");
	v.oid = v.base_oid = 30;
	v.elem_oid = 26;
	v.type_name = "oidvector";
	map_bad(v, "column type oidvector is not supported");
	/* an enum array */
	d.elem_oid = 16390;
	d.elem_typtype = 'e';
	assert_int_equal(pgtype_map_element(&d, &e, err), 0);
	assert_int_equal(e.type, FT_STRING);
	/* interval[]: the element is what is unsupported */
	d.oid = d.base_oid = 1187;
	d.elem_oid = 1186;
	d.elem_typtype = 'b';
	d.type_name = "interval[]";
	d.elem_typmod = -1;
	assert_int_equal(pgtype_map_element(&d, &e, err), FLOE_EINVAL);
	assert_contains(err, "column 'ip': column type interval[] (an array of element type oid "
	                     "1186) is not supported");
	map_bad(d, "(an array of element type oid 1186) is not supported");
	/* not an array */
	pgtype_desc s = desc(23, -1);
	assert_int_equal(pgtype_map_element(&s, &e, err), FLOE_EINVAL);
	assert_contains(err, "column 'ip': type oid 23 is not an array");
}

/* ---- values ------------------------------------------------------------- */

/* One value of floe type `type` (source oid src, 0: none) through a
 * one-column batch. On success the stored value bytes (fixed kinds) or the
 * value (BC_BYTES) go to out/outn; on failure the message to err, and the
 * row is checked to have nothing appended. */
static int run(const char *type, uint32_t src, const char *text, size_t len, uint8_t *out,
               size_t *outn, char *err)
{
	floe_column col = {.name = "qty", .nullable = 1};
	char perr[ERR_LEN];
	if (coltype_parse(type, &col, perr))
		fail_msg("%s", perr);
	floe_schema s = {1, &col};
	batch b;
	assert_int_equal(batch_init(&b, &s), 0);
	pgtype_desc d = desc(src, -1);
	/* An exact-size heap copy: ASan catches a read past len. */
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, text, len);
	batch_row_begin(&b);
	err[0] = '\0';
	int rc = pgtype_set_text(&b, 0, &col, src ? &d : NULL, copy, len, err);
	free(copy);
	const batch_col *bc = &b.cols[0];
	if (rc) {
		assert_int_equal(bc->valid.len, 0);
		assert_int_equal(bc->values.len, 0);
		assert_int_equal(bc->bytes.len, 0);
		batch_row_abort(&b);
	} else {
		assert_int_equal(bc->valid.len, 1);
		assert_int_equal(bc->valid.data[0], 1);
		batch_row_commit(&b);
		assert_int_equal(batch_check(&b), 0);
		if (bc->kind == BC_BYTES) {
			assert_true(bc->bytes.len <= 256);
			memcpy(out, bc->bytes.data, bc->bytes.len);
			*outn = bc->bytes.len;
		} else {
			memcpy(out, bc->values.data, (size_t)bc->width);
			*outn = (size_t)bc->width;
		}
	}
	batch_clear(&b);
	return rc;
}

static size_t ok_src(const char *type, uint32_t src, const char *text, uint8_t *out)
{
	char err[ERR_LEN];
	size_t n = 0;
	if (run(type, src, text, strlen(text), out, &n, err))
		fail_msg("%s '%s' rejected: %s", type, text, err);
	return n;
}

static size_t ok(const char *type, const char *text, uint8_t *out)
{
	return ok_src(type, 0, text, out);
}

static int64_t ok_i64(const char *type, const char *text)
{
	uint8_t v[16];
	int64_t x;
	assert_int_equal(ok(type, text, v), 8);
	memcpy(&x, v, 8);
	return x;
}

static int32_t ok_i32(const char *type, const char *text)
{
	uint8_t v[16];
	int32_t x;
	assert_int_equal(ok(type, text, v), 4);
	memcpy(&x, v, 4);
	return x;
}

static double ok_f64(const char *text, uint32_t src)
{
	uint8_t v[16];
	double x;
	assert_int_equal(ok_src("float64", src, text, v), 8);
	memcpy(&x, v, 8);
	return x;
}

static float ok_f32(const char *text)
{
	uint8_t v[16];
	float x;
	assert_int_equal(ok("float32", text, v), 4);
	memcpy(&x, v, 4);
	return x;
}

/* Refused, with a message naming the column, quoting the text (its start)
 * and containing why. */
static void bad_n(const char *type, const char *text, size_t len, const char *why)
{
	char err[ERR_LEN];
	uint8_t v[256];
	size_t n;
	if (run(type, 0, text, len, v, &n, err) != FLOE_EINVAL)
		fail_msg("%s '%.*s' accepted", type, (int)len, text);
	assert_contains(err, "column 'qty': '");
	char q[VALUE_QUOTE_LEN];
	value_quote(text, len, q);
	assert_contains(err, q);
	assert_contains(err, why);
}

static void bad(const char *type, const char *text, const char *why)
{
	bad_n(type, text, strlen(text), why);
}

static void test_bool(void **state)
{
	(void)state;
	uint8_t v[16];
	assert_int_equal(ok("boolean", "t", v), 1);
	assert_int_equal(v[0], 1);
	ok("boolean", "f", v);
	assert_int_equal(v[0], 0);
	static const char *const no[] = {"true", "false", "T", "F", "", "tt", "1", "0", " t"};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		bad("boolean", no[i], "is not a valid boolean (expected t or f)");
}

static void test_ints(void **state)
{
	(void)state;
	assert_int_equal(ok_i32("int16", "-32768"), -32768);
	assert_int_equal(ok_i32("int16", "32767"), 32767);
	assert_int_equal(ok_i32("int16", "0"), 0);
	assert_int_equal(ok_i32("int16", "-0"), 0);
	bad("int16", "32768", "is out of range for int16 (-32768..32767)");
	bad("int16", "-32769", "is out of range for int16");
	assert_int_equal(ok_i32("int32", "2147483647"), INT32_MAX);
	assert_int_equal(ok_i32("int32", "-2147483648"), INT32_MIN);
	bad("int32", "2147483648", "out of range for int32 (-2147483648..2147483647)");
	bad("int32", "-2147483649", "out of range for int32");
	assert_true(ok_i64("int64", "9223372036854775807") == INT64_MAX);
	assert_true(ok_i64("int64", "-9223372036854775808") == INT64_MIN);
	assert_true(ok_i64("int64", "000000000000000000000042") == 42);
	bad("int64", "9223372036854775808", "out of range for int64");
	bad("int64", "-9223372036854775809", "out of range for int64");
	bad("int64", "18446744073709551616", "out of range for int64");
	bad("int64", "99999999999999999999999999999", "out of range for int64");
	/* oid into int64 */
	uint8_t v[16];
	int64_t x;
	ok_src("int64", 26, "4294967295", v);
	memcpy(&x, v, 8);
	assert_true(x == 4294967295LL);
	static const char *const no[] = {"",     "-",   "+1",  "1.0", " 1", "1 ",
	                                 "0x10", "1e3", "--1", "1-",  "١"};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		bad("int16", no[i], "is not a valid int16 (expected an integer)");
		bad("int64", no[i], "is not a valid int64 (expected an integer)");
	}
	bad_n("int32", "12\0003", 4, "expected an integer");
}

static void test_floats(void **state)
{
	(void)state;
	assert_true(ok_f64("1.7976931348623157e+308", 0) == DBL_MAX);
	assert_true(ok_f64("-1.7976931348623157e+308", 0) == -DBL_MAX);
	assert_true(ok_f64("5e-324", 0) == 4.9406564584124654e-324); /* denormal */
	assert_true(ok_f64("2.2250738585072014e-308", 0) == DBL_MIN);
	assert_true(ok_f64("0.1", 0) == 0.1);
	assert_true(ok_f64("1e+100", 0) == 1e100);
	assert_true(ok_f64("1E5", 0) == 1e5);
	assert_true(ok_f64("123", 0) == 123.0);
	double z = ok_f64("-0", 0);
	assert_true(z == 0 && signbit(z));
	z = ok_f64("0", 0);
	assert_true(z == 0 && !signbit(z));
	assert_true(isnan(ok_f64("NaN", 0)));
	assert_true(ok_f64("Infinity", 0) == INFINITY);
	assert_true(ok_f64("-Infinity", 0) == -INFINITY);
	/* A float4 source into a float64 column is the float's value. */
	assert_true(ok_f64("0.1", 700) == (double)0.1f);
	assert_true(ok_f64("0.1", 701) == 0.1);

	assert_true(ok_f32("3.4028235e+38") == FLT_MAX);
	assert_true(ok_f32("1e-45") == nextafterf(0, 1)); /* smallest denormal */
	assert_true(ok_f32("1.1754944e-38") == FLT_MIN);
	assert_true(ok_f32("0.1") == 0.1f);
	float fz = ok_f32("-0");
	assert_true(fz == 0 && signbit(fz));
	assert_true(isnan(ok_f32("NaN")));
	assert_true(ok_f32("-Infinity") == -INFINITY);
	/* Just above the midpoint of 1 and the next float: strtod would land
	 * on the midpoint exactly and (float) round to even (1.0f); strtof
	 * rounds up, as float4in does. */
	assert_true(ok_f32("1.0000000596046448") == nextafterf(1, 2));
	/* Every float's shortest round-trip text comes back as that float. */
	uint32_t u = 0x9e3779b9;
	for (int i = 0; i < 20000; i++) {
		u = u * 1664525 + 1013904223;
		float f;
		memcpy(&f, &u, 4);
		if (!isfinite(f))
			continue;
		char text[32];
		int prec;
		for (prec = 1; prec <= 9; prec++) {
			snprintf(text, sizeof text, "%.*g", prec, (double)f);
			if (strtof(text, NULL) == f)
				break;
		}
		float g = ok_f32(text);
		if (memcmp(&f, &g, 4) != 0)
			fail_msg("'%s': %a != %a", text, (double)g, (double)f);
	}

	bad("float32", "3.5e+38",
	    "is out of range for float32 (the value overflows or "
	    "underflows to infinity)");
	bad("float32", "1e-50", "underflows to zero");
	bad("float64", "1e400", "out of range for float64");
	bad("float64", "1e-400", "out of range for float64");
	static const char *const no[] = {"nan", "inf", "infinity", "-NaN", "+1",    "1e",  "1.",
	                                 ".5",  "--1", "0x1p3",    "",     "-",     "1e+", " 1",
	                                 "1 ",  "1,5", "Inf",      "1e5x", "1.2.3", "e5"};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		bad("float64", no[i],
		    "is not a valid float64 (expected a decimal number with an "
		    "optional exponent, NaN, Infinity or -Infinity)");
		bad("float32", no[i], "is not a valid float32");
	}
	char longtext[80];
	memset(longtext, '1', sizeof longtext - 1);
	longtext[sizeof longtext - 1] = '\0';
	bad("float64", longtext, "more than 63 characters");
}

static __int128 dec_value(const char *type, const char *text)
{
	uint8_t v[16];
	size_t n = ok(type, text, v);
	if (n == 4) {
		int32_t x;
		memcpy(&x, v, 4);
		return x;
	}
	if (n == 8) {
		int64_t x;
		memcpy(&x, v, 8);
		return x;
	}
	/* big-endian two's complement */
	__int128 x = (v[0] & 0x80) ? -1 : 0;
	for (size_t k = 0; k < n; k++)
		x = (__int128)((unsigned __int128)x << 8) | v[k];
	return x;
}

static void test_decimals(void **state)
{
	(void)state;
	assert_true(dec_value("decimal(5,2)", "123.45") == 12345);
	assert_true(dec_value("decimal(5,2)", "-123.45") == -12345);
	assert_true(dec_value("decimal(5,2)", "999.99") == 99999);
	assert_true(dec_value("decimal(5,2)", "-999.99") == -99999);
	assert_true(dec_value("decimal(5,2)", "0.5") == 50); /* padded */
	assert_true(dec_value("decimal(5,2)", "7") == 700);  /* padded */
	assert_true(dec_value("decimal(5,2)", "-0.01") == -1);
	assert_true(dec_value("decimal(5,2)", "1.230") == 123); /* exact: a trailing zero */
	assert_true(dec_value("decimal(9,0)", "999999999") == 999999999);
	assert_true(dec_value("decimal(18,0)", "-999999999999999999") == -999999999999999999LL);
	assert_true(dec_value("decimal(18,18)", "0.999999999999999999") == 999999999999999999LL);
	/* p > 18: FLBA, checked byte for byte */
	uint8_t v[16];
	assert_int_equal(ok("decimal(20,2)", "-0.01", v), 9);
	for (int k = 0; k < 9; k++)
		assert_int_equal(v[k], 0xff);
	assert_int_equal(ok("decimal(20,2)", "2.56", v), 9);
	static const uint8_t be256[9] = {0, 0, 0, 0, 0, 0, 0, 1, 0};
	assert_memory_equal(v, be256, 9);
	/* p = 38: the largest values of both signs, all integer or all fraction */
	char nines[48], text[64];
	memset(nines, '9', 38);
	nines[38] = '\0';
	__int128 max38 = 0;
	for (int k = 0; k < 38; k++)
		max38 = max38 * 10 + 9;
	assert_true(dec_value("decimal(38,0)", nines) == max38);
	snprintf(text, sizeof text, "-%s", nines);
	assert_true(dec_value("decimal(38,0)", text) == -max38);
	snprintf(text, sizeof text, "0.%s", nines);
	assert_true(dec_value("decimal(38,38)", text) == max38);
	snprintf(text, sizeof text, "-%.28s.%.10s", nines, nines);
	assert_true(dec_value("decimal(38,10)", text) == -max38);
	/* one digit too many, at every size */
	snprintf(text, sizeof text, "9%s", nines);
	bad("decimal(38,0)", text, "is out of range for decimal(38,0)");
	bad("decimal(38,10)", "12345678901234567890123456789.9", "out of range for decimal(38,10)");
	bad("decimal(9,0)", "1000000000", "out of range for decimal(9,0)");
	bad("decimal(18,2)", "-10000000000000000.00", "out of range for decimal(18,2)");
	bad("decimal(5,2)", "1000.00", "out of range for decimal(5,2)");
	bad("decimal(5,2)", "-1000", "out of range for decimal(5,2)");
	/* fraction digits beyond the scale: refused, never rounded */
	bad("decimal(5,2)", "1.234", "more than 2 fraction digits for decimal(5,2)");
	bad("decimal(5,2)", "1.005", "more than 2 fraction digits");
	bad("decimal(38,38)", "0.000000000000000000000000000000000000001",
	    "more than 38 fraction digits");
	bad("decimal(5,0)", "1.5", "more than 0 fraction digits");
	/* NaN and infinities have no decimal */
	static const char *const special[] = {"NaN", "Infinity", "-Infinity"};
	for (size_t i = 0; i < 3; i++)
		bad("decimal(10,2)", special[i],
		    "is not a valid decimal(10,2) (a decimal has no NaN or infinity; map the "
		    "column to string to keep such values)");
	static const char *const no[] = {"",   "-",  "1e5", "abc", "1.2.3",
	                                 " 1", "1 ", "1,5", "nan", "0x10"};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		bad("decimal(20,4)", no[i], "is not a valid decimal");
}

static void ok_bytes(const char *type, uint32_t src, const char *text, const void *want, size_t wn)
{
	uint8_t v[256];
	size_t n = ok_src(type, src, text, v);
	assert_int_equal(n, wn);
	assert_memory_equal(v, want, wn);
}

static void test_strings_and_bytea(void **state)
{
	(void)state;
	/* numeric into string: PostgreSQL's text, whatever it is */
	ok_bytes("string", 1700, "NaN", "NaN", 3);
	ok_bytes("string", 1700, "-Infinity", "-Infinity", 9);
	const char *big = "123456789012345678901234567890123456789012.000000000000000000001";
	ok_bytes("string", 1700, big, big, strlen(big));
	ok_bytes("string", 25, "", "", 0);
	ok_bytes("string", 25, "héllo 日本 🚀", "héllo 日本 🚀", strlen("héllo 日本 🚀"));
	ok_bytes("string", 1042, "ab   ", "ab   ", 5); /* bpchar keeps its padding */
	ok_bytes("string", 3802, "{\"a\": [1, 2]}", "{\"a\": [1, 2]}", 13);
	{
		char err[ERR_LEN];
		uint8_t v[256];
		size_t n;
		assert_int_equal(run("string", 25, "a\0b", 3, v, &n, err), 0);
		assert_int_equal(n, 3);
		assert_memory_equal(v, "a\0b", 3);
	}

	ok_bytes("binary", 17, "\\x", "", 0);
	ok_bytes("binary", 17, "\\x0a0bff", "\x0a\x0b\xff", 3);
	ok_bytes("binary", 17, "\\xDEADbeef", "\xde\xad\xbe\xef", 4);
	ok_bytes("binary", 17, "\\x00", "\0", 1);
	/* large enough for the batch to grow its byte buffer */
	char *hex = malloc(2 + 2 * 200 + 1);
	uint8_t want[200];
	strcpy(hex, "\\x");
	for (int i = 0; i < 200; i++) {
		want[i] = (uint8_t)(i * 37);
		snprintf(hex + 2 + 2 * i, 3, "%02x", want[i]);
	}
	ok_bytes("binary", 17, hex, want, 200);
	free(hex);
	bad("binary", "abc",
	    "is not a valid binary (expected \\x and pairs of hex digits; the "
	    "connection must set bytea_output=hex)");
	bad("binary", "\\000abc", "bytea_output=hex");
	bad("binary", "", "bytea_output=hex");
	bad("binary", "\\", "bytea_output=hex");
	bad("binary", "\\x0", "bytea_output=hex");
	bad("binary", "\\X00", "bytea_output=hex");
	bad("binary", "\\x0g", "not a hex digit at offset 3");
	bad("binary", "\\x 0", "not a hex digit at offset 2");
}

static void test_dates(void **state)
{
	(void)state;
	assert_int_equal(ok_i32("date32", "1970-01-01"), 0);
	assert_int_equal(ok_i32("date32", "1969-12-31"), -1);
	assert_int_equal(ok_i32("date32", "2000-02-29"), 11016);
	assert_int_equal(ok_i32("date32", "2097-12-31"), 46751);
	assert_int_equal(ok_i32("date32", "0001-01-01"), -719162);
	assert_int_equal(ok_i32("date32", "9999-12-31"), 2932896);
	assert_int_equal(ok_i32("date32", "10000-01-01"), 2932897);
	/* 1 BC is year 0 (a leap year), 44 BC is -43 */
	assert_int_equal(ok_i32("date32", "0001-12-31 BC"), -719163);
	assert_int_equal(ok_i32("date32", "0001-01-01 BC"), -719528);
	assert_int_equal(ok_i32("date32", "0001-02-29 BC"), -719528 + 59);
	assert_int_equal(ok_i32("date32", "0044-03-15 BC"), -735160);
	/* PostgreSQL's whole date range */
	assert_int_equal(ok_i32("date32", "4714-11-24 BC"), -2440588);
	assert_int_equal(ok_i32("date32", "5874897-12-31"), 2145042905);
	assert_int_equal(ok_i32("date32", "infinity"), INT32_MAX);
	assert_int_equal(ok_i32("date32", "-infinity"), INT32_MIN);

	bad("date32", "2023-02-29",
	    "is not a valid date32 (no such day in the proleptic "
	    "Gregorian calendar)");
	bad("date32", "0002-02-29 BC", "no such day"); /* 2 BC = year -1: not leap */
	bad("date32", "1900-02-29", "no such day");
	bad("date32", "1970-13-01", "no such day");
	bad("date32", "1970-00-01", "no such day");
	bad("date32", "1970-01-32", "no such day");
	bad("date32", "1970-01-00", "no such day");
	bad("date32", "0000-01-01", "no such day");
	bad("date32", "0000-01-01 BC", "no such day");
	bad("date32", "999999999-01-01",
	    "is out of range for date32 (int32 days since 1970-01-01)");
	bad("date32", "999999999-01-01 BC", "is out of range for date32");
	static const char *const no[] = {
	    "1970-1-1",    "70-01-01",  "1970-01-01 AD",       "1970-01-01BC", "Infinity",
	    "1970-01-01 ", "",          "1970-01-01 00:00:00", "1970/01/01",   "1234567890-01-01",
	    " BC",         "+infinity", "1970-01-01 bc"};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		bad("date32", no[i],
		    "is not a valid date32 (expected YYYY-MM-DD[ BC], infinity or -infinity)");
}

static void test_times(void **state)
{
	(void)state;
	assert_true(ok_i64("time", "00:00:00") == 0);
	assert_true(ok_i64("time", "23:59:59.999999") == US_DAY - 1);
	assert_true(ok_i64("time", "24:00:00") == US_DAY);
	assert_true(ok_i64("time", "12:34:56.5") ==
	            (12 * 3600 + 34 * 60 + 56) * INT64_C(1000000) + 500000);
	assert_true(ok_i64("time", "00:00:00.000001") == 1);
	bad("time", "24:00:00.000001", "after 24:00:00, the end of the day");
	bad("time", "24:00:01", "after 24:00:00");
	bad("time", "25:00:00", "hour 25 is out of range 00..24");
	bad("time", "12:60:00", "minute 60 is out of range");
	bad("time", "12:00:60", "second 60 is out of range");
	bad("time", "12:00:00.1234567", "7 fraction digits");
	bad("time", "12:00:00.", "no digits after '.'");
	static const char *const no[] = {"12:00",    "1:00:00",  "12:00:00+00", "",
	                                 "12-00-00", "allballs", "12:00:00 "};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		bad("time", no[i], "is not a valid time (expected HH:MM:SS[.ffffff])");
}

static void test_timestamps(void **state)
{
	(void)state;
	const int64_t M = 1000000;
	assert_true(ok_i64("timestamp", "1970-01-01 00:00:00") == 0);
	assert_true(ok_i64("timestamp", "1969-12-31 23:59:59.999999") == -1);
	assert_true(ok_i64("timestamp", "2024-02-29 23:59:59.5") ==
	            (19782 * INT64_C(86400) + 86399) * M + 500000);
	assert_true(ok_i64("timestamp", "0001-01-01 00:00:00") == VALUE_TS_MIN);
	assert_true(ok_i64("timestamp", "9999-12-31 23:59:59.999999") == VALUE_TS_MAX);
	assert_true(ok_i64("timestamp", "10000-01-01 00:00:00") == VALUE_TS_MAX + 1);
	assert_true(ok_i64("timestamp", "0001-12-31 23:59:59.999999 BC") == VALUE_TS_MIN - 1);
	assert_true(ok_i64("timestamp", "0044-03-15 12:00:00 BC") == INT64_C(-63517780800000000));
	assert_true(ok_i64("timestamp", "4714-11-24 00:00:00 BC") == -2440588 * US_DAY);
	/* the last microsecond before int64's end (which means infinity) */
	assert_true(ok_i64("timestamp", "294247-01-10 04:00:54.775806") == INT64_MAX - 1);
	assert_true(ok_i64("timestamp", "infinity") == INT64_MAX);
	assert_true(ok_i64("timestamp", "-infinity") == INT64_MIN);
	bad("timestamp", "294247-01-10 04:00:54.775807",
	    "is out of range for timestamp (int64 microseconds since 1970-01-01 00:00:00 UTC");
	bad("timestamp", "294276-12-31 23:59:59.999999", "is out of range for timestamp");
	bad("timestamp", "2024-01-01 24:00:00", "24:00:00 is not a time of day inside a timestamp");
	bad("timestamp", "2024-01-01 25:00:00", "hour 25 is out of range");
	bad("timestamp", "2024-01-01 00:00:00.1234567", "7 fraction digits");
	bad("timestamp", "2023-02-29 00:00:00", "no such day");
	bad("timestamp", "0000-01-01 00:00:00", "no such day");
	static const char *const no[] = {"2024-01-01T00:00:00",
	                                 "2024-01-01 00:00:00+00",
	                                 "2024-01-01 00:00",
	                                 "2024-01-01",
	                                 "2024-01-01 ",
	                                 "",
	                                 "Infinity",
	                                 "2024-01-01 00:00:00Z",
	                                 "2024-01-01  00:00:00",
	                                 "2024-01-01 00:00:00 AD"};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		bad("timestamp", no[i], "is not a valid timestamp");
	bad("timestamp", "2024-01-01 00:00:00+00",
	    "(expected YYYY-MM-DD HH:MM:SS[.ffffff][ BC], infinity or -infinity)");

	assert_true(ok_i64("timestamptz", "1970-01-01 00:00:00+00") == 0);
	assert_true(ok_i64("timestamptz", "1970-01-01 02:00:00+02") == 0);
	assert_true(ok_i64("timestamptz", "1969-12-31 18:30:00-05:30") == 0);
	assert_true(ok_i64("timestamptz", "1970-01-01 00:00:00-15:59:59") ==
	            (15 * 3600 + 59 * 60 + 59) * M);
	/* local mean time offsets have seconds */
	assert_true(ok_i64("timestamptz", "1850-01-01 00:00:00+00:53:28") ==
	            INT64_C(-3786828808000000));
	assert_true(ok_i64("timestamptz", "2024-03-01 12:34:56.789+00") ==
	            (19783 * INT64_C(86400) + 12 * 3600 + 34 * 60 + 56) * M + 789000);
	assert_true(ok_i64("timestamptz", "0044-03-15 12:00:00+00 BC") ==
	            INT64_C(-63517780800000000));
	assert_true(ok_i64("timestamptz", "0044-03-15 12:00:00+01 BC") ==
	            INT64_C(-63517780800000000) - 3600 * M);
	assert_true(ok_i64("timestamptz", "infinity") == INT64_MAX);
	assert_true(ok_i64("timestamptz", "-infinity") == INT64_MIN);
	static const char *const notz[] = {"1970-01-01 00:00:00",
	                                   "1970-01-01 00:00:00+16",
	                                   "1970-01-01 00:00:00+1",
	                                   "1970-01-01 00:00:00+01:6",
	                                   "1970-01-01 00:00:00+01:",
	                                   "1970-01-01 00:00:00Z",
	                                   "1970-01-01 00:00:00 BC+00",
	                                   "1970-01-01 00:00:00+01:60",
	                                   "1970-01-01 00:00:00+0100",
	                                   "1970-01-01 00:00:00+01:00:60",
	                                   "1970-01-01 00:00:00+01:00:00:00",
	                                   "1970-01-01 00:00:00 +00",
	                                   "1970-01-01T00:00:00+00"};
	for (size_t i = 0; i < sizeof notz / sizeof notz[0]; i++)
		bad("timestamptz", notz[i],
		    "is not a valid timestamptz (expected YYYY-MM-DD "
		    "HH:MM:SS[.ffffff]+HH[:MM[:SS]][ BC], infinity or -infinity)");
}

static void test_uuid(void **state)
{
	(void)state;
	static const uint8_t want[16] = {0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3,
	                                 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00};
	uint8_t v[16];
	assert_int_equal(ok("uuid", "123e4567-e89b-12d3-a456-426614174000", v), 16);
	assert_memory_equal(v, want, 16);
	ok("uuid", "123E4567-E89B-12D3-A456-426614174000", v);
	assert_memory_equal(v, want, 16);
	bad("uuid", "123e4567e89b12d3a456426614174000", "is not a valid uuid");
	bad("uuid", "123e4567-e89b-12d3-a456-42661417400g", "not a hex digit");
	bad("uuid", "{123e4567-e89b-12d3-a456-426614174000}", "is not a valid uuid");
	bad("uuid", "", "is not a valid uuid");
}

/* Long bad text: the message shows a bounded excerpt, still names the column. */
static void test_messages(void **state)
{
	(void)state;
	char text[4096];
	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	char err[ERR_LEN];
	uint8_t v[256];
	size_t n;
	assert_int_equal(run("int32", 0, text, strlen(text), v, &n, err), FLOE_EINVAL);
	assert_contains(err, "column 'qty': 'xxxxxxxx");
	assert_contains(err, "...' is not a valid int32 (expected an integer)");
	assert_true(strlen(err) < 200);
	/* control bytes are escaped in messages */
	assert_int_equal(run("date32", 0, "\x01\n", 2, v, &n, err), FLOE_EINVAL);
	assert_contains(err, "'\\x01\\x0A'");
	/* err may be NULL */
	floe_column col = {.name = "qty"};
	coltype_parse("int16", &col, err);
	floe_schema s = {1, &col};
	batch b;
	assert_int_equal(batch_init(&b, &s), 0);
	batch_row_begin(&b);
	assert_int_equal(pgtype_set_text(&b, 0, &col, NULL, "x", 1, NULL), FLOE_EINVAL);
	assert_int_equal(pgtype_set_text(&b, 0, &col, NULL, "7", 1, NULL), 0);
	batch_row_commit(&b);
	assert_int_equal(b.nrows, 1);
	batch_clear(&b);
}

/* A row of every supported type through one batch, as a relation's tuple. */
static void test_row_of_every_type(void **state)
{
	(void)state;
	static const struct {
		uint32_t oid;
		int32_t typmod;
		const char *text;
	} cols[] = {
	    {16, -1, "t"},
	    {21, -1, "-7"},
	    {23, -1, "70000"},
	    {20, -1, "-5000000000"},
	    {26, -1, "4000000000"},
	    {700, -1, "1.5"},
	    {701, -1, "-2.25"},
	    {1700, 0, "12.34"},                  /* typmod filled in below: numeric(6,2) */
	    {1700, 1, "-1234567890123456789.5"}, /* numeric(30,1) */
	    {1700, -1, "NaN"},
	    {25, -1, "text"},
	    {17, -1, "\\x0102"},
	    {1082, -1, "2024-05-06"},
	    {1083, -1, "01:02:03"},
	    {1114, -1, "2024-05-06 01:02:03"},
	    {1184, -1, "2024-05-06 01:02:03+00"},
	    {2950, -1, "00000000-0000-0000-0000-000000000001"},
	};
	enum { N = sizeof cols / sizeof cols[0] };
	floe_column fc[N];
	pgtype_desc d[N];
	char names[N][8], err[ERR_LEN] = "";
	for (int i = 0; i < N; i++) {
		int32_t tm = cols[i].typmod;
		if (cols[i].oid == 1700 && tm >= 0)
			tm = tm == 0 ? numeric_typmod(6, 2) : numeric_typmod(30, 1);
		d[i] = desc(cols[i].oid, tm);
		snprintf(names[i], sizeof names[i], "c%d", i);
		memset(&fc[i], 0, sizeof fc[i]);
		fc[i].name = names[i];
		fc[i].nullable = 1;
		if (pgtype_map(&d[i], &fc[i], err))
			fail_msg("%s", err);
	}
	floe_schema s = {N, fc};
	batch b;
	assert_int_equal(batch_init(&b, &s), 0);
	for (int r = 0; r < 3; r++) {
		batch_row_begin(&b);
		for (int i = 0; i < N; i++) {
			if (r == 1) {
				batch_set_null(&b, i);
				continue;
			}
			if (pgtype_set_text(&b, i, &fc[i], &d[i], cols[i].text,
			                    strlen(cols[i].text), err))
				fail_msg("%s", err);
		}
		batch_row_commit(&b);
	}
	assert_int_equal(b.nrows, 3);
	assert_int_equal(batch_check(&b), 0);
	int32_t i32;
	memcpy(&i32, b.cols[2].values.data + 8, 4);
	assert_int_equal(i32, 70000);
	int64_t i64;
	memcpy(&i64, b.cols[13].values.data + 16, 8);
	assert_true(i64 == 3723 * INT64_C(1000000));
	assert_int_equal(b.cols[7].kind, BC_I32);
	memcpy(&i32, b.cols[7].values.data, 4);
	assert_int_equal(i32, 1234);
	assert_int_equal(b.cols[8].kind, BC_FIXED);
	assert_int_equal(b.cols[9].kind, BC_BYTES); /* unconstrained numeric */
	batch_clear(&b);
}

/* ---- arrays ------------------------------------------------------------- */

typedef struct collected {
	int n, stop_after;
	char elems[16][32];
	int nulls[16];
} collected;

static int collect(void *ctx, const char *elem, size_t n, int is_null)
{
	collected *c = ctx;
	if (c->stop_after && c->n == c->stop_after)
		return -42;
	assert_true(c->n < 16 && n < 32);
	memcpy(c->elems[c->n], elem, n);
	c->elems[c->n][n] = '\0';
	c->nulls[c->n] = is_null;
	c->n++;
	return 0;
}

/* want: elements joined by '|', a null shown as <N>. */
static void split_ok(const char *text, char delim, const char *want)
{
	collected c = {0};
	char err[ERR_LEN] = "", got[512] = "";
	if (pgtype_array_split("tags", text, strlen(text), delim, collect, &c, err))
		fail_msg("'%s' rejected: %s", text, err);
	for (int i = 0; i < c.n; i++) {
		if (i)
			strcat(got, "|");
		strcat(got, c.nulls[i] ? "<N>" : c.elems[i]);
	}
	assert_string_equal(got, want);
}

static void split_bad(const char *text, const char *why)
{
	collected c = {0};
	char err[ERR_LEN] = "";
	assert_int_equal(pgtype_array_split("tags", text, strlen(text), ',', collect, &c, err),
	                 FLOE_EINVAL);
	assert_contains(err, "column 'tags': ");
	assert_contains(err, "is not a valid array (");
	assert_contains(err, why);
}

/* PostgreSQL lets any array column hold a multi-dimensional array: the
 * message says so. */
static void multi_dim_bad(const char *text)
{
	collected c = {0};
	char err[ERR_LEN] = "", want[256];
	assert_int_equal(pgtype_array_split("tags", text, strlen(text), ',', collect, &c, err),
	                 FLOE_EINVAL);
	snprintf(want, sizeof want,
	         "column 'tags': multi-dimensional arrays are not supported ('%s'; a PostgreSQL "
	         "array column such as int4[] takes arrays of any dimensionality, floe mirrors "
	         "one-dimensional arrays only)",
	         text);
	assert_string_equal(err, want);
}

static void test_array_split(void **state)
{
	(void)state;
	split_ok("{}", ',', "");
	split_ok(" { } ", ',', "");
	split_ok("{a}", ',', "a");
	split_ok("{1,2,3}", ',', "1|2|3");
	split_ok("{a,b,NULL,\"q\\\"x\"}", ',', "a|b|<N>|q\"x");
	split_ok("{\"NULL\",null,NuLl,\"\"}", ',', "NULL|<N>|<N>|");
	split_ok("{\"a,b\",\"c}\",\"{d}\",\"back\\\\slash\"}", ',', "a,b|c}|{d}|back\\slash");
	split_ok("{ a , b c ,\"  sp  \" }", ',', "a|b c|  sp  ");
	split_ok("{a\\,b,\\NULL,x\\ }", ',', "a,b|NULL|x ");
	split_ok("{\"2024-01-01 00:00:00+00\",\"2024-01-02 00:00:00+00\"}", ',',
	         "2024-01-01 00:00:00+00|2024-01-02 00:00:00+00");
	split_ok("{1;2;3}", ';', "1|2|3");
	split_ok("{\"é日\",🚀}", ',', "é日|🚀");
	/* the quoted "NULL" is a string; an escaped NULL too */
	collected c = {0};
	char err[ERR_LEN] = "";
	assert_int_equal(
	    pgtype_array_split("tags", "{\"NULL\",\\NULL,NULL}", 19, ',', collect, &c, err), 0);
	assert_int_equal(c.n, 3);
	assert_int_equal(c.nulls[0], 0);
	assert_int_equal(c.nulls[1], 0);
	assert_int_equal(c.nulls[2], 1);
	/* the callback stops the split */
	memset(&c, 0, sizeof c);
	c.stop_after = 2;
	assert_int_equal(pgtype_array_split("tags", "{1,\"2\\\\\",3,4}", 14, ',', collect, &c, err),
	                 -42);
	assert_int_equal(c.n, 2);
	/* not NUL-terminated: only len bytes are read */
	memset(&c, 0, sizeof c);
	char *exact = malloc(5);
	memcpy(exact, "{a,b}", 5);
	assert_int_equal(pgtype_array_split("tags", exact, 5, ',', collect, &c, err), 0);
	assert_int_equal(c.n, 2);
	free(exact);

	multi_dim_bad("{{1,2},{3,4}}");
	multi_dim_bad("{1,{2}}");
	split_bad("[2:3]={1,2}", "a lower-bound decoration [m:n]= is not supported");
	split_bad("", "expected '{'");
	split_bad("1,2", "expected '{'");
	split_bad("{", "no closing '}'");
	split_bad("{a", "no closing '}'");
	split_bad("{a,", "no closing '}'");
	split_bad("{\"a}", "unterminated quoted element");
	split_bad("{\"a\\\"}", "unterminated quoted element");
	split_bad("{a,}", "an empty unquoted element");
	split_bad("{,a}", "an empty unquoted element");
	split_bad("{a,,b}", "an empty unquoted element");
	split_bad("{a}x", "text after the closing '}'");
	split_bad("{a}}", "text after the closing '}'");
	split_bad("{a\"b\"}", "unexpected '\"' in an unquoted element");
	split_bad("{\"a\"b}", "expected ',' or '}' after an element");
	split_bad("{a\\", "a backslash at the end");
	/* NULL column name */
	assert_int_equal(pgtype_array_split(NULL, "{{1}}", 5, ',', collect, &c, err), FLOE_EINVAL);
	assert_contains(err, "column (unnamed): multi-dimensional arrays are not supported");
	assert_int_equal(pgtype_array_split(NULL, "{1", 2, ',', collect, &c, err), FLOE_EINVAL);
	assert_contains(err, "column (unnamed): '{1' is not a valid array");
}

/* ---- list values -------------------------------------------------------- */

/* The elements of row r of list column col, joined by '|': a null element
 * as <N>, bytes as they are (control bytes as \xNN), integers and floats
 * in decimal, booleans as t or f, FIXED as hex; a null list as NULL. */
static void render_list(const batch *b, int col, size_t r, char *out, size_t cap)
{
	const batch_col *c = &b->cols[col], *e = c->elem;
	uint64_t off[2];
	size_t n = 0;
	out[0] = '\0';
	if (!c->valid.data[r]) {
		snprintf(out, cap, "NULL");
		return;
	}
	memcpy(off, c->offsets.data + r * 8, sizeof off);
	for (uint64_t k = off[0]; k < off[1]; k++) {
		n += (size_t)snprintf(out + n, cap - n, "%s", k > off[0] ? "|" : "");
		const uint8_t *v = e->values.data + k * (size_t)e->width;
		if (!e->valid.data[k]) {
			n += (size_t)snprintf(out + n, cap - n, "<N>");
		} else if (e->kind == BC_BYTES) {
			uint64_t bo[2];
			memcpy(bo, e->offsets.data + k * 8, sizeof bo);
			for (uint64_t i = bo[0]; i < bo[1] && n < cap; i++) {
				uint8_t ch = e->bytes.data[i];
				n += (size_t)snprintf(out + n, cap - n,
				                      ch < 0x20 ? "\\x%02X" : "%c", ch);
			}
		} else if (e->kind == BC_BOOL) {
			n += (size_t)snprintf(out + n, cap - n, "%c", *v ? 't' : 'f');
		} else if (e->kind == BC_I32) {
			int32_t x;
			memcpy(&x, v, 4);
			n += (size_t)snprintf(out + n, cap - n, "%d", (int)x);
		} else if (e->kind == BC_I64) {
			int64_t x;
			memcpy(&x, v, 8);
			n += (size_t)snprintf(out + n, cap - n, "%lld", (long long)x);
		} else if (e->kind == BC_F64) {
			double x;
			memcpy(&x, v, 8);
			n += (size_t)snprintf(out + n, cap - n, "%.17g", x);
		} else {
			for (int i = 0; i < e->width; i++)
				n += (size_t)snprintf(out + n, cap - n, "%02x", v[i]);
		}
		assert_true(n < cap);
	}
}

/* A list column of floe type `type` in a one-column batch. */
static void list_batch(const char *type, floe_column *col, batch *b)
{
	char err[ERR_LEN];
	memset(col, 0, sizeof *col);
	col->name = "tags";
	col->nullable = 1;
	if (coltype_parse(type, col, err))
		fail_msg("%s", err);
	floe_schema s = {1, col};
	assert_int_equal(batch_init(b, &s), 0);
}

/* text into a list of `type` (source element oid elem, 0: none): rendered
 * by render_list, compared with want. */
static void list_ok(const char *type, uint32_t elem, const char *text, const char *want)
{
	floe_column col;
	batch b;
	char err[ERR_LEN] = "", got[1024];
	list_batch(type, &col, &b);
	pgtype_desc d = desc(1007, -1);
	d.elem_oid = elem;
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1); /* exact size: ASan sees a read past len */
	assert_non_null(copy);
	memcpy(copy, text, len);
	batch_row_begin(&b);
	if (pgtype_set_text(&b, 0, &col, elem ? &d : NULL, copy, len, err))
		fail_msg("%s '%s' rejected: %s", type, text, err);
	free(copy);
	batch_row_commit(&b);
	assert_int_equal(batch_check(&b), 0);
	assert_int_equal(b.nrows, 1);
	render_list(&b, 0, 0, got, sizeof got);
	if (strcmp(got, want))
		fail_msg("%s '%s': got '%s', want '%s'", type, text, got, want);
	batch_clear(&b);
}

/* text refused with a message containing column 'tags' and why; the batch,
 * holding one earlier row of the valid literal `good`, is exactly as it was,
 * its row in progress untouched, and the row takes `good` after the
 * failure. */
static void list_bad(const char *type, const char *good, const char *text, const char *why)
{
	floe_column col;
	batch b;
	char err[ERR_LEN] = "", want[256], got[256];
	list_batch(type, &col, &b);
	batch_row_begin(&b);
	if (pgtype_set_text(&b, 0, &col, NULL, good, strlen(good), err))
		fail_msg("%s '%s' rejected: %s", type, good, err);
	batch_row_commit(&b);
	render_list(&b, 0, 0, want, sizeof want);
	const batch_col *c = &b.cols[0], *e = c->elem;
	size_t ev = e->valid.len, evals = e->values.len, eb = e->bytes.len, eo = e->offsets.len;
	batch_row_begin(&b);
	if (pgtype_set_text(&b, 0, &col, NULL, text, strlen(text), err) != FLOE_EINVAL)
		fail_msg("%s '%s' accepted", type, text);
	assert_contains(err, "column 'tags': ");
	assert_contains(err, why);
	assert_int_equal(c->valid.len, 1);
	assert_int_equal(c->offsets.len, 2 * sizeof(uint64_t));
	assert_int_equal(e->valid.len, ev);
	assert_int_equal(e->values.len, evals);
	assert_int_equal(e->bytes.len, eb);
	assert_int_equal(e->offsets.len, eo);
	/* the row goes on */
	assert_int_equal(pgtype_set_text(&b, 0, &col, NULL, good, strlen(good), err), 0);
	batch_row_commit(&b);
	assert_int_equal(batch_check(&b), 0);
	for (size_t r = 0; r < 2; r++) {
		render_list(&b, 0, r, got, sizeof got);
		assert_string_equal(got, want);
	}
	batch_clear(&b);
}

static void test_list_values(void **state)
{
	(void)state;
	list_ok("list<int32>", 23, "{1,-2,NULL,2147483647,-2147483648}",
	        "1|-2|<N>|2147483647|-2147483648");
	list_ok("list<int16>", 21, "{-32768, 32767 }", "-32768|32767");
	list_ok("list<int64>", 20, "{9223372036854775807,-9223372036854775808}",
	        "9223372036854775807|-9223372036854775808");
	list_ok("list<int32>", 23, "{}", "");
	list_ok("list<int32>", 23, " { } ", "");
	list_ok("list<int32>", 23, "{NULL}", "<N>");
	/* text: quotes, escapes, NULL and "NULL", empty strings, spaces */
	list_ok(
	    "list<string>", 25,
	    "{plain,\"a,b\",\"q\\\"x\",\"back\\\\slash\",NULL,\"NULL\",\"\",\" sp \",null,\"{}\"}",
	    "plain|a,b|q\"x|back\\slash|<N>|NULL|| sp |<N>|{}");
	list_ok("list<string>", 25, "{\"\",\"\"}", "|");
	list_ok("list<string>", 25, "{\"é日\",🚀}", "é日|🚀");
	/* numeric(10,2): decimals, unscaled (10 digits: int64 storage) */
	list_ok("list<decimal(10,2)>", 1700, "{1.50,NULL,-99999999.99,0,7}",
	        "150|<N>|-9999999999|0|700");
	list_ok("list<decimal(38,0)>", 1700, "{-1}", "ffffffffffffffffffffffffffffffff");
	list_ok("list<string>", 1700, "{NaN,1.000,-Infinity}", "NaN|1.000|-Infinity");
	/* timestamptz: quoted by array_out, converted to UTC micros */
	list_ok("list<timestamptz>", 1184,
	        "{\"2000-01-01 00:00:00.5+02\",-infinity,NULL,infinity,\"1970-01-01 00:00:00+00\"}",
	        "946677600500000|-9223372036854775808|<N>|9223372036854775807|0");
	list_ok("list<timestamp>", 1114, "{\"1969-12-31 23:59:59.999999\"}", "-1");
	list_ok("list<date32>", 1082, "{infinity,-infinity,1970-01-02,\"0001-12-31 BC\"}",
	        "2147483647|-2147483648|1|-719163");
	list_ok("list<uuid>", 2950, "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}",
	        "a0eebc999c0b4ef8bb6d6bb9bd380a11|<N>");
	list_ok("list<boolean>", 16, "{t,f,NULL}", "t|f|<N>");
	list_ok("list<binary>", 17, "{\"\\\\x00ff\",NULL,\"\\\\x\"}", "\\x00\xff|<N>|");
	list_ok("list<time>", 1083, "{24:00:00,00:00:00.000001}", "86400000000|1");
	/* a float4[] source into list<float64> goes through float, as a scalar */
	list_ok("list<float64>", 700, "{0.1,NaN}", "0.10000000149011612|nan");
	list_ok("list<float64>", 701, "{0.1,-Infinity}", "0.10000000000000001|-inf");

	/* refused, nothing appended */
	list_bad("list<int32>", "{1,NULL}", "{{1,2},{3,4}}",
	         "multi-dimensional arrays are not supported");
	list_bad("list<int32>", "{1,NULL}", "{1,{2}}", "takes arrays of any dimensionality");
	list_bad("list<int32>", "{1,NULL}", "{1,x,3}",
	         "'x' is not a valid int32 (expected an integer)");
	list_bad("list<int16>", "{1,NULL}", "{1,2,32768}", "'32768' is out of range for int16");
	list_bad("list<int32>", "{1,NULL}", "{1,2", "is not a valid array (no closing '}')");
	list_bad("list<int32>", "{1,NULL}", "[0:1]={1,2}", "a lower-bound decoration");
	list_bad("list<int32>", "{1,NULL}", "NULL", "is not a valid array (expected '{')");
	list_bad("list<int32>", "{1,NULL}", "", "expected '{'");
	list_bad("list<decimal(10,2)>", "{1.5,NULL}", "{1.5,1.234}", "1.234");
	list_bad("list<decimal(10,2)>", "{1.5,NULL}", "{NaN}", "a decimal has no NaN or infinity");
	list_bad("list<uuid>", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
	         "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,nope}", "'nope'");
	list_bad("list<boolean>", "{t,f}", "{t,true}",
	         "'true' is not a valid boolean (expected t or f)");
	list_bad("list<binary>", "{\"\\\\x01\",NULL}", "{\"\\\\x00\",\"\\\\x0g\"}",
	         "not a hex digit");
	list_bad("list<string>", "{a,\"b c\"}", "{\"a\\\"b\",c", "no closing '}'");
	list_bad("list<string>", "{a,\"b c\"}", "{a,\"b\"x}",
	         "expected ',' or '}' after an element");
	list_bad("list<timestamptz>", "{\"2000-01-01 00:00:00+00\"}", "{\"2000-01-01 00:00:00\"}",
	         "is not a valid timestamptz");
}

/* Lists through pgtype_map and a relation-like row: a null list, lists
 * after it, the error of a bad element naming the column with err NULL
 * too, and a row aborted after a list failed. */
static void test_list_rows(void **state)
{
	(void)state;
	pgtype_desc d[2] = {desc(23, -1), desc(1009, -1)};
	d[1].elem_oid = 25;
	d[1].type_name = "text[]";
	floe_column fc[2] = {{.name = "id"}, {.name = "tags", .nullable = 1}};
	char err[ERR_LEN] = "", got[256];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pgtype_map(&d[i], &fc[i], err), 0);
	assert_int_equal(fc[1].type, FT_LIST);
	floe_schema s = {2, fc};
	batch b;
	assert_int_equal(batch_init(&b, &s), 0);
	static const char *const tags[] = {NULL, "{x,NULL}", "{}", "{\"y z\"}"};
	for (int r = 0; r < 40; r++) { /* past the initial room of rows and elements */
		const char *t = tags[r % 4];
		batch_row_begin(&b);
		assert_int_equal(pgtype_set_text(&b, 0, &fc[0], &d[0], "7", 1, err), 0);
		if (!t)
			batch_set_null(&b, 1);
		else
			assert_int_equal(pgtype_set_text(&b, 1, &fc[1], &d[1], t, strlen(t), err),
			                 0);
		batch_row_commit(&b);
	}
	/* a failed list, then the whole row aborted, as stream.c does */
	batch_row_begin(&b);
	assert_int_equal(pgtype_set_text(&b, 0, &fc[0], &d[0], "8", 1, err), 0);
	assert_int_equal(pgtype_set_text(&b, 1, &fc[1], &d[1], "{a,{b}}", 7, NULL), FLOE_EINVAL);
	assert_int_equal(pgtype_set_text(&b, 1, &fc[1], &d[1], "{a,{b}}", 7, err), FLOE_EINVAL);
	assert_contains(err,
	                "column 'tags': multi-dimensional arrays are not supported ('{a,{b}}'");
	batch_row_abort(&b);
	assert_int_equal(b.nrows, 40);
	assert_int_equal(batch_check(&b), 0);
	assert_int_equal(b.cols[1].elem->valid.len, 30);
	for (int r = 0; r < 40; r++) {
		static const char *const want[] = {"NULL", "x|<N>", "", "y z"};
		render_list(&b, 1, (size_t)r, got, sizeof got);
		assert_string_equal(got, want[r % 4]);
	}
	batch_clear(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_map_scalars),
	    cmocka_unit_test(test_map_numeric),
	    cmocka_unit_test(test_map_unsupported),
	    cmocka_unit_test(test_map_arrays),
	    cmocka_unit_test(test_bool),
	    cmocka_unit_test(test_ints),
	    cmocka_unit_test(test_floats),
	    cmocka_unit_test(test_decimals),
	    cmocka_unit_test(test_strings_and_bytea),
	    cmocka_unit_test(test_dates),
	    cmocka_unit_test(test_times),
	    cmocka_unit_test(test_timestamps),
	    cmocka_unit_test(test_uuid),
	    cmocka_unit_test(test_messages),
	    cmocka_unit_test(test_row_of_every_type),
	    cmocka_unit_test(test_array_split),
	    cmocka_unit_test(test_list_values),
	    cmocka_unit_test(test_list_rows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
