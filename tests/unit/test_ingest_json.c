/*
 * test_ingest_json — the single-pass ingest body parser: every column type,
 * every error message in ingest_json.h (each leaving the batch empty), a
 * 1,000-row body with one bad row, unicode and escapes, int64 extremes,
 * float special values and exact round trips (against strtod), key order
 * variations (prediction and hash fallback), single object vs array, and
 * operations / request modes. List columns: JSON arrays of every element
 * form (null lists, empty lists, null elements, escapes, base64, decimals,
 * a long list), and errors naming data[i].col[j] that leave nothing behind.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "server/ingest_json.h"
#include "table/value.h"

enum {
	C_ID,
	C_NAME,
	C_AGE,
	C_I32,
	C_SCORE,
	C_F32,
	C_FLAG,
	C_D,
	C_TS,
	C_TSTZ,
	C_U,
	C_BIN,
	C_DEC,
	C_BIG,
	C_MID,
	NCOLS
};

static floe_column all_cols[NCOLS] = {
    {.name = "id", .type = FT_INT64},
    {.name = "name", .type = FT_STRING, .nullable = 1},
    {.name = "age", .type = FT_INT16, .nullable = 1},
    {.name = "i32", .type = FT_INT32, .nullable = 1},
    {.name = "score", .type = FT_FLOAT64, .nullable = 1},
    {.name = "f32", .type = FT_FLOAT32, .nullable = 1},
    {.name = "flag", .type = FT_BOOLEAN, .nullable = 1},
    {.name = "d", .type = FT_DATE32, .nullable = 1},
    {.name = "ts", .type = FT_TIMESTAMP, .nullable = 1},
    {.name = "tstz", .type = FT_TIMESTAMPTZ, .nullable = 1},
    {.name = "u", .type = FT_UUID, .nullable = 1},
    {.name = "bin", .type = FT_BINARY, .nullable = 1},
    {.name = "dec", .type = FT_DECIMAL, .precision = 5, .scale = 2, .nullable = 1},
    {.name = "big", .type = FT_DECIMAL, .precision = 38, .scale = 4, .nullable = 1},
    {.name = "mid", .type = FT_DECIMAL, .precision = 18, .scale = 3, .nullable = 1},
};
static const floe_schema all = {.ncols = NCOLS, .cols = all_cols};

typedef struct fixture {
	batch b;
	ingest_request req;
	char err[ERR_LEN];
	const floe_schema *schema;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	if (!f || batch_init(&f->b, &all))
		return -1;
	f->schema = &all;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	batch_clear(&f->b);
	free(f);
	return 0;
}

/* Parses body into the fixture's batch (which starts empty each time). */
static int parse_len(fixture *f, const char *body, size_t len)
{
	batch_reset(&f->b);
	memset(&f->req, 0x5a, sizeof f->req);
	f->req.rows = &f->b;
	f->err[0] = '\0';
	int rc = ingest_parse(body, len, f->schema, &f->req, f->err);
	if (rc)
		assert_int_equal(f->b.nrows, 0); /* nothing of a failed body is kept */
	return rc;
}

static int parse(fixture *f, const char *body)
{
	return parse_len(f, body, strlen(body));
}

static void ok(fixture *f, const char *body)
{
	if (parse(f, body))
		fail_msg("body rejected: %s\n  body: %.200s", f->err, body);
}

static void bad(fixture *f, const char *body, const char *msg)
{
	int rc = parse(f, body);
	if (rc != FLOE_EINVAL)
		fail_msg("body accepted (rc %d), expected '%s'\n  body: %.200s", rc, msg, body);
	if (strcmp(f->err, msg) != 0)
		fail_msg("message '%s'\n      not '%s'\n  body: %.200s", f->err, msg, body);
}

/* Like bad(), comparing only the start of the message. */
static void bad_prefix(fixture *f, const char *body, const char *prefix)
{
	int rc = parse(f, body);
	if (rc != FLOE_EINVAL)
		fail_msg("body accepted (rc %d), expected '%s...'\n  body: %.200s", rc, prefix,
		         body);
	if (strncmp(f->err, prefix, strlen(prefix)) != 0)
		fail_msg("message '%s'\n   lacks '%s'\n  body: %.200s", f->err, prefix, body);
}

/* "malformed JSON at byte <offset of `at` in body>: what" */
static void bad_at(fixture *f, const char *body, const char *at, const char *what)
{
	const char *p = strstr(body, at);
	assert_non_null(p);
	char msg[ERR_LEN];
	snprintf(msg, sizeof msg, "malformed JSON at byte %zu: %s", (size_t)(p - body), what);
	bad(f, body, msg);
}

static int is_null(const fixture *f, int col, size_t row)
{
	assert_true(row < f->b.nrows);
	return f->b.cols[col].valid.data[row] == 0;
}

static int64_t get_i64(const fixture *f, int col, size_t row)
{
	int64_t v;
	assert_int_equal(f->b.cols[col].width, 8);
	memcpy(&v, f->b.cols[col].values.data + row * 8, 8);
	return v;
}

static int32_t get_i32(const fixture *f, int col, size_t row)
{
	int32_t v;
	assert_int_equal(f->b.cols[col].width, 4);
	memcpy(&v, f->b.cols[col].values.data + row * 4, 4);
	return v;
}

static double get_f64(const fixture *f, int col, size_t row)
{
	double v;
	memcpy(&v, f->b.cols[col].values.data + row * 8, 8);
	return v;
}

static float get_f32(const fixture *f, int col, size_t row)
{
	float v;
	memcpy(&v, f->b.cols[col].values.data + row * 4, 4);
	return v;
}

static const uint8_t *get_bytes(const fixture *f, int col, size_t row, size_t *len)
{
	pq_column_data d;
	batch_column_data(&f->b, col, &d);
	*len = (size_t)(d.offsets[row + 1] - d.offsets[row]);
	return d.bytes + d.offsets[row];
}

static void assert_str(const fixture *f, int col, size_t row, const char *want, size_t n)
{
	size_t len;
	const uint8_t *p = get_bytes(f, col, row, &len);
	assert_int_equal(len, n);
	assert_memory_equal(p, want, n);
}

#define INS(rows) "{\"operation\":\"insert\",\"data\":" rows "}"

/* ---- types ------------------------------------------------------------- */

static void test_every_type(void **state)
{
	fixture *f = *state;
	ok(f,
	   INS("{\"id\": 7, \"name\": \"Ann\", \"age\": -12, \"i32\": 2147483647,"
	       " \"score\": 2.5, \"f32\": 0.1, \"flag\": true, \"d\": \"2024-02-29\","
	       " \"ts\": \"2024-02-29T12:34:56.123456\", \"tstz\": \"2024-02-29T14:34:56+02:00\","
	       " \"u\": \"123e4567-e89b-12d3-a456-426614174000\", \"bin\": \"AAEC/w==\","
	       " \"dec\": 123.45, \"big\": \"-99999999999999999999999999999999.9999\","
	       " \"mid\": -0.5}"));
	assert_int_equal(f->req.op, INGEST_INSERT);
	assert_int_equal(f->req.sync, 0);
	assert_int_equal(f->b.nrows, 1);
	for (int c = 0; c < NCOLS; c++)
		assert_false(is_null(f, c, 0));
	assert_int_equal(get_i64(f, C_ID, 0), 7);
	assert_str(f, C_NAME, 0, "Ann", 3);
	assert_int_equal(get_i32(f, C_AGE, 0), -12);
	assert_int_equal(get_i32(f, C_I32, 0), 2147483647);
	assert_true(get_f64(f, C_SCORE, 0) == 2.5);
	assert_true(get_f32(f, C_F32, 0) == 0.1f);
	assert_int_equal(f->b.cols[C_FLAG].values.data[0], 1);
	assert_int_equal(get_i32(f, C_D, 0), 19782);
	int64_t ts = 19782LL * 86400000000LL + (12 * 3600 + 34 * 60 + 56) * 1000000LL + 123456;
	assert_int_equal(get_i64(f, C_TS, 0), ts);
	assert_int_equal(get_i64(f, C_TSTZ, 0), ts - 123456); /* 14:34:56+02:00 = 12:34:56Z */
	assert_memory_equal(f->b.cols[C_U].values.data,
	                    "\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x14\x17\x40\x00", 16);
	assert_str(f, C_BIN, 0, "\x00\x01\x02\xff", 4);
	assert_int_equal(get_i32(f, C_DEC, 0), 12345);
	assert_int_equal(get_i64(f, C_MID, 0), -500);
	/* decimal(38,4) is a 16-byte big-endian FLBA: -(10^36 - 1). */
	uint8_t be[16];
	__int128 v = 1;
	for (int i = 0; i < 36; i++)
		v *= 10;
	value_decimal_to_be(-(v - 1), be, 16);
	assert_int_equal(f->b.cols[C_BIG].width, 16);
	assert_memory_equal(f->b.cols[C_BIG].values.data, be, 16);

	/* Second forms: false, integer timestamps, decimal strings, nulls. */
	ok(f, INS("{\"id\": -1, \"flag\": false, \"ts\": -1, \"tstz\": 0, \"dec\": \"-1.5\","
	          " \"mid\": 1.50, \"name\": \"\", \"bin\": \"\", \"score\": 3, \"f32\": -2}"));
	assert_int_equal(f->b.cols[C_FLAG].values.data[0], 0);
	assert_int_equal(get_i64(f, C_TS, 0), -1);
	assert_int_equal(get_i64(f, C_TSTZ, 0), 0);
	assert_int_equal(get_i32(f, C_DEC, 0), -150);
	assert_int_equal(get_i64(f, C_MID, 0), 1500); /* 1.50 exact, no float */
	assert_str(f, C_NAME, 0, "", 0);
	assert_false(is_null(f, C_NAME, 0)); /* empty, not null */
	assert_str(f, C_BIN, 0, "", 0);
	assert_true(get_f64(f, C_SCORE, 0) == 3.0);
	assert_true(get_f32(f, C_F32, 0) == -2.0f);
	assert_true(is_null(f, C_AGE, 0));
	assert_true(is_null(f, C_U, 0));
	assert_true(is_null(f, C_BIG, 0));
}

static void test_value_errors(void **state)
{
	fixture *f = *state;
	bad(f, INS("{\"id\":1,\"age\":70000}"), "data[0].age: 70000 is out of range for int16");
	bad(f, INS("{\"id\":1,\"age\":-32769}"), "data[0].age: -32769 is out of range for int16");
	bad(f, INS("{\"id\":1,\"i32\":2147483648}"),
	    "data[0].i32: 2147483648 is out of range for int32");
	bad(f, INS("{\"id\":1.5}"), "data[0].id: 1.5 is not an integer");
	bad(f, INS("{\"id\":1e2}"), "data[0].id: 1e2 is not an integer");
	bad(f, INS("{\"id\":1.0}"), "data[0].id: 1.0 is not an integer");
	bad(f, INS("{\"id\":\"1\"}"), "data[0].id: expected an integer for int64, got a string");
	bad(f, INS("{\"id\":true}"), "data[0].id: expected an integer for int64, got a boolean");
	bad(f, INS("{\"id\":1,\"name\":5}"),
	    "data[0].name: expected a string for string, got a number");
	bad(f, INS("{\"id\":1,\"name\":{\"a\":1}}"),
	    "data[0].name: expected a string for string, got an object");
	bad(f, INS("{\"id\":1,\"name\":[\"a\"]}"),
	    "data[0].name: expected a string for string, got an array");
	bad(f,
	    INS("{\"id\":1,\"age\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"),
	    "data[0].age: expected an integer for int16, got an array");
	bad(f, INS("{\"id\":1,\"flag\":1}"),
	    "data[0].flag: expected true or false for boolean, got a number");
	bad(f, INS("{\"id\":1,\"flag\":\"true\"}"),
	    "data[0].flag: expected true or false for boolean, got a string");
	bad(f, INS("{\"id\":1,\"score\":\"1.5\"}"),
	    "data[0].score: '1.5' is not a number (expected a JSON number or \"NaN\", "
	    "\"Infinity\", \"-Infinity\")");
	bad(f, INS("{\"id\":1,\"score\":\"nan\"}"),
	    "data[0].score: 'nan' is not a number (expected a JSON number or \"NaN\", "
	    "\"Infinity\", \"-Infinity\")");
	bad(f, INS("{\"id\":1,\"score\":true}"),
	    "data[0].score: expected a number for float64, got a boolean");
	bad(f, INS("{\"id\":1,\"d\":\"2023-02-29\"}"),
	    "data[0].d: '2023-02-29' is not a valid date (day 29 is out of range for 2023-02)");
	bad(f, INS("{\"id\":1,\"d\":19000}"),
	    "data[0].d: expected a \"YYYY-MM-DD\" string for date32, got a number");
	bad_prefix(f, INS("{\"id\":1,\"ts\":\"2024-01-01T00:00:00.1234567\"}"),
	           "data[0].ts: '2024-01-01T00:00:00.1234567' is not a valid timestamp (7 fraction "
	           "digits");
	bad(f, INS("{\"id\":1,\"ts\":253402300800000000}"),
	    "data[0].ts: 253402300800000000 is out of range for timestamp");
	bad(f, INS("{\"id\":1,\"tstz\":1.5}"), "data[0].tstz: 1.5 is not an integer");
	bad(f, INS("{\"id\":1,\"ts\":false}"),
	    "data[0].ts: expected an ISO-8601 string or integer microseconds for timestamp, got a "
	    "boolean");
	bad_prefix(f, INS("{\"id\":1,\"u\":\"123e4567e89b12d3a456426614174000\"}"),
	           "data[0].u: '123e4567e89b12d3a456426614174000' is not a valid uuid");
	bad(f, INS("{\"id\":1,\"u\":7}"),
	    "data[0].u: expected a uuid string for uuid, got a number");
	bad(f, INS("{\"id\":1,\"bin\":\"Zg=\"}"),
	    "data[0].bin: 'Zg=' is not a valid base64 (length 3 is not a multiple of 4)");
	bad(f, INS("{\"id\":1,\"bin\":1}"),
	    "data[0].bin: expected a base64 string for binary, got a number");
	bad(f, INS("{\"id\":1,\"dec\":1000}"),
	    "data[0].dec: '1000' is out of range for decimal(5,2)");
	bad(f, INS("{\"id\":1,\"dec\":1.234}"),
	    "data[0].dec: '1.234' is not a valid decimal (more than 2 fraction digits for "
	    "decimal(5,2))");
	bad(f, INS("{\"id\":1,\"dec\":1e2}"),
	    "data[0].dec: '1e2' is not a valid decimal (exponent notation is not accepted)");
	bad(f, INS("{\"id\":1,\"dec\":true}"),
	    "data[0].dec: expected a number or a decimal string for decimal(5,2), got a boolean");
	bad(f, INS("{\"id\":1,\"score\":1e400}"),
	    "data[0].score: 1e400 is out of range for float64");
	bad(f, INS("{\"id\":1,\"score\":-1e400}"),
	    "data[0].score: -1e400 is out of range for float64");
	bad(f, INS("{\"id\":1,\"f32\":1e39}"), "data[0].f32: 1e39 is out of range for float32");
	bad(f, INS("{\"id\":123456789012345678901234567890123456789012345678901234567890}"),
	    "data[0].id: 1234567890123456789012345678901234567890... is out of range for int64");
}

static void test_int64_extremes(void **state)
{
	fixture *f = *state;
	ok(f, INS("[{\"id\":-9223372036854775808},{\"id\":9223372036854775807},{\"id\":-0},"
	          "{\"id\":0},{\"id\":-1},{\"id\":4294967296}]"));
	assert_int_equal(f->b.nrows, 6);
	assert_true(get_i64(f, C_ID, 0) == INT64_MIN);
	assert_true(get_i64(f, C_ID, 1) == INT64_MAX);
	assert_int_equal(get_i64(f, C_ID, 2), 0);
	assert_int_equal(get_i64(f, C_ID, 3), 0);
	assert_int_equal(get_i64(f, C_ID, 4), -1);
	assert_int_equal(get_i64(f, C_ID, 5), 4294967296LL);
	bad(f, INS("{\"id\":9223372036854775808}"),
	    "data[0].id: 9223372036854775808 is out of range for int64");
	bad(f, INS("{\"id\":-9223372036854775809}"),
	    "data[0].id: -9223372036854775809 is out of range for int64");
	bad(f, INS("{\"id\":9999999999999999999}"),
	    "data[0].id: 9999999999999999999 is out of range for int64");
	bad(f, INS("{\"id\":18446744073709551616}"),
	    "data[0].id: 18446744073709551616 is out of range for int64");
	bad(f, INS("{\"id\":-18446744073709551615}"),
	    "data[0].id: -18446744073709551615 is out of range for int64");
	ok(f, INS("[{\"id\":1,\"age\":-32768,\"i32\":-2147483648},{\"id\":2,\"age\":32767}]"));
	assert_int_equal(get_i32(f, C_AGE, 0), -32768);
	assert_int_equal(get_i32(f, C_I32, 0), INT32_MIN);
	assert_int_equal(get_i32(f, C_AGE, 1), 32767);
	bad(f, INS("{\"id\":1,\"i32\":-2147483649}"),
	    "data[0].i32: -2147483649 is out of range for int32");
	/* Timestamp micros at the ends of the range. */
	ok(f, INS("[{\"id\":1,\"ts\":-62135596800000000},{\"id\":2,\"ts\":253402300799999999}]"));
	assert_int_equal(get_i64(f, C_TS, 0), VALUE_TS_MIN);
	assert_int_equal(get_i64(f, C_TS, 1), VALUE_TS_MAX);
	bad(f, INS("{\"id\":1,\"ts\":-62135596800000001}"),
	    "data[0].ts: -62135596800000001 is out of range for timestamp");
}

/* ---- floats ------------------------------------------------------------ */

static void test_float_specials(void **state)
{
	fixture *f = *state;
	ok(f, INS("[{\"id\":1,\"score\":\"NaN\",\"f32\":\"NaN\"},"
	          "{\"id\":2,\"score\":\"Infinity\",\"f32\":\"Infinity\"},"
	          "{\"id\":3,\"score\":\"-Infinity\",\"f32\":\"-Infinity\"},"
	          "{\"id\":4,\"score\":-0.0,\"f32\":-0.0},"
	          "{\"id\":5,\"score\":-0,\"f32\":0e5},"
	          "{\"id\":6,\"score\":1e-400,\"f32\":1e-50},"
	          "{\"id\":7,\"score\":-0.0e-400,\"f32\":4.9e-324}]"));
	assert_true(isnan(get_f64(f, C_SCORE, 0)));
	assert_true(isnan(get_f32(f, C_F32, 0)));
	assert_true(isinf(get_f64(f, C_SCORE, 1)) && get_f64(f, C_SCORE, 1) > 0);
	assert_true(isinf(get_f32(f, C_F32, 1)) && get_f32(f, C_F32, 1) > 0);
	assert_true(isinf(get_f64(f, C_SCORE, 2)) && get_f64(f, C_SCORE, 2) < 0);
	assert_true(isinf(get_f32(f, C_F32, 2)) && get_f32(f, C_F32, 2) < 0);
	assert_true(get_f64(f, C_SCORE, 3) == 0.0 && signbit(get_f64(f, C_SCORE, 3)));
	assert_true(get_f32(f, C_F32, 3) == 0.0f && signbit(get_f32(f, C_F32, 3)));
	assert_true(get_f64(f, C_SCORE, 4) == 0.0 && signbit(get_f64(f, C_SCORE, 4)));
	assert_true(get_f32(f, C_F32, 4) == 0.0f && !signbit(get_f32(f, C_F32, 4)));
	/* Underflow rounds to zero (or a subnormal); it is not an error. */
	assert_true(get_f64(f, C_SCORE, 5) == 0.0);
	assert_true(get_f32(f, C_F32, 5) == 0.0f);
	assert_true(get_f64(f, C_SCORE, 6) == 0.0 && signbit(get_f64(f, C_SCORE, 6)));
	/* Unquoted NaN / Infinity are not JSON. */
	bad_at(f, INS("{\"id\":1,\"score\":NaN}"), "NaN", "expected a value");
	bad_at(f, INS("{\"id\":1,\"score\":Infinity}"), "Infinity", "expected a value");
	bad_at(f, INS("{\"id\":1,\"score\":-Infinity}"), "Infinity", "expected a digit");
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Doubles printed with 17 significant digits (and shorter forms that take
 * the fast path) come back bit for bit, equal to strtod of the same text. */
static void test_float_round_trip(void **state)
{
	fixture *f = *state;
	buf body = {0};
	char num[64];
	double want[1000];
	float wantf[1000];
	for (int round = 0; round < 40; round++) {
		buf_reset(&body);
		buf_append_str(&body, "{\"operation\":\"insert\",\"data\":[");
		for (int i = 0; i < 1000; i++) {
			double d;
			int kind = (int)(rng() % 4);
			if (kind == 0) { /* any finite double */
				uint64_t bits;
				do {
					bits = rng();
					memcpy(&d, &bits, 8);
				} while (!isfinite(d));
				snprintf(num, sizeof num, "%.17g", d);
			} else if (kind == 1) { /* short decimals: the fast path */
				int digits = 1 + (int)(rng() % 15);
				int exp = (int)(rng() % 45) - 22;
				snprintf(num, sizeof num, "%.*e", digits - 1,
				         (double)(rng() % 1000000007) * pow(10, exp - 9));
			} else if (kind == 2) { /* "money" values */
				snprintf(num, sizeof num, "%s%llu.%02llu", rng() & 1 ? "-" : "",
				         (unsigned long long)(rng() % 100000000),
				         (unsigned long long)(rng() % 100));
			} else { /* integers and big/small magnitudes */
				snprintf(num, sizeof num, "%llde%d",
				         (long long)(rng() % 100000000000LL),
				         (int)(rng() % 600) - 300);
			}
			want[i] = strtod(num, NULL);
			if (isinf(want[i])) {
				snprintf(num, sizeof num, "1.5");
				want[i] = 1.5;
			}
			/* The same text for float32 unless it overflows there. */
			const char *fnum = num;
			wantf[i] = strtof(num, NULL);
			if (isinf(wantf[i])) {
				fnum = "0";
				wantf[i] = 0.0f;
			}
			buf_printf(&body, "%s{\"id\":%d,\"score\":%s,\"f32\":%s}", i ? "," : "", i,
			           num, fnum);
		}
		buf_append_str(&body, "]}");
		assert_true(buf_ok(&body));
		if (parse_len(f, (const char *)body.data, body.len))
			fail_msg("%s", f->err);
		assert_int_equal(f->b.nrows, 1000);
		for (int i = 0; i < 1000; i++) {
			double got = get_f64(f, C_SCORE, (size_t)i);
			if (memcmp(&got, &want[i], 8) != 0)
				fail_msg("row %d: %.17g != %.17g", i, got, want[i]);
			float gotf = get_f32(f, C_F32, (size_t)i);
			if (memcmp(&gotf, &wantf[i], 4) != 0)
				fail_msg("row %d: f32 %.9g != %.9g", i, gotf, wantf[i]);
		}
	}
	buf_release(&body);
	/* Known hard cases for naive conversion. */
	ok(f, INS("[{\"id\":1,\"score\":2.2250738585072011e-308},"
	          "{\"id\":2,\"score\":9007199254740993},"
	          "{\"id\":3,\"score\":0.1},"
	          "{\"id\":4,\"score\":1.7976931348623157e308},"
	          "{\"id\":5,\"score\":123456789012345678901234567890}]"));
	assert_true(get_f64(f, C_SCORE, 0) == strtod("2.2250738585072011e-308", NULL));
	assert_true(get_f64(f, C_SCORE, 1) == 9007199254740992.0);
	assert_true(get_f64(f, C_SCORE, 2) == 0.1);
	assert_true(get_f64(f, C_SCORE, 3) == 1.7976931348623157e308);
	assert_true(get_f64(f, C_SCORE, 4) == 123456789012345678901234567890.0);
}

/* ---- strings ----------------------------------------------------------- */

static void test_unicode_and_escapes(void **state)
{
	fixture *f = *state;
	ok(f, INS("[{\"id\":1,\"name\":\"caf\\u00e9 \\ud83d\\ude00 \\u20AC\"},"
	          "{\"id\":2,\"name\":\"café 😀 €\"},"
	          "{\"id\":3,\"name\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"},"
	          "{\"id\":4,\"name\":\"a\\u0000b\"},"
	          "{\"id\":5,\"n\\u0061me\":\"escaped key\"},"
	          "{\"id\":6,\"name\":\"\xf4\x8f\xbf\xbf\\uDBFF\\uDFFF\"},"
	          "{\"id\":7,\"name\":\"0123456789abcdef0123456789\\n0123456789abcdef\"}]"));
	assert_int_equal(f->b.nrows, 7);
	assert_str(f, C_NAME, 0, "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac", 14);
	assert_str(f, C_NAME, 1, "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac", 14);
	assert_str(f, C_NAME, 2, "\"\\/\b\f\n\r\t", 8);
	assert_str(f, C_NAME, 3, "a\0b", 3);
	assert_str(f, C_NAME, 4, "escaped key", 11);
	assert_str(f, C_NAME, 5, "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf", 8);
	assert_str(f, C_NAME, 6, "0123456789abcdef0123456789\n0123456789abcdef", 43);
	/* Escapes decode in every string-typed value, e.g. "\/" in base64. */
	ok(f, INS("{\"id\":1,\"bin\":\"AAEC\\/w==\",\"d\":\"2024\\u002d02-29\"}"));
	assert_str(f, C_BIN, 0, "\x00\x01\x02\xff", 4);
	assert_int_equal(get_i32(f, C_D, 0), 19782);

	/* Invalid UTF-8 and bad escapes, with the byte offset of the problem. */
	bad_at(f, INS("{\"id\":1,\"name\":\"ab\xff\"}"), "\xff", "invalid UTF-8 in string");
	bad_at(f, INS("{\"id\":1,\"name\":\"ab\xc0\x80\"}"), "\xc0", "invalid UTF-8 in string");
	bad_at(f, INS("{\"id\":1,\"name\":\"ab\xed\xa0\x80\"}"), "\xed", "invalid UTF-8 in string");
	bad_at(f, INS("{\"id\":1,\"name\":\"0123456789\\n\xe2\x82\"}"), "\xe2",
	       "invalid UTF-8 in string");
	bad_at(f, INS("{\"id\":1,\"n\xc3\"}"), "\xc3", "invalid UTF-8 in string");
	bad_at(f, INS("{\"id\":1,\"name\":\"a\tb\"}"), "\t",
	       "control character 0x09 in string (must be escaped)");
	bad_at(f, INS("{\"id\":1,\"name\":\"a\\qb\"}"), "\\q", "invalid escape '\\q'");
	bad_at(f, INS("{\"id\":1,\"name\":\"a\\u12\"}"), "\\u12",
	       "invalid \\u escape (expected 4 hex digits)");
	bad_at(f, INS("{\"id\":1,\"name\":\"a\\u12G4\"}"), "\\u12",
	       "invalid \\u escape (expected 4 hex digits)");
	bad_at(f, INS("{\"id\":1,\"name\":\"a\\ud83d\"}"), "\\ud83d",
	       "invalid \\u escape: unpaired high surrogate");
	bad_at(f, INS("{\"id\":1,\"name\":\"a\\ud83d\\u0041\"}"), "\\ud83d",
	       "invalid \\u escape: unpaired high surrogate");
	bad_at(f, INS("{\"id\":1,\"name\":\"a\\ude00\"}"), "\\ude00",
	       "invalid \\u escape: unpaired low surrogate");
	bad_at(f, "{\"operation\":\"insert\",\"data\":{\"id\":1,\"name\":\"abc", "\"abc",
	       "unterminated string");
	bad_at(f, "{\"operation\":\"insert\",\"data\":{\"id\":1,\"name\":\"a\\n", "\"a\\n",
	       "unterminated string");
	bad_at(f, "{\"operation\":\"insert\",\"data\":{\"id\":1,\"name\":\"a\\", "\\",
	       "unterminated string");
}

/* The 8-bytes-at-a-time string scan: every special byte at every offset of
 * strings around the word size, against a byte-by-byte expectation. */
static void test_string_scan_offsets(void **state)
{
	fixture *f = *state;
	static const struct {
		const char *json, *raw, *bad;
	} specials[] = {
	    {"\\n", "\n", NULL},
	    {"\\\"", "\"", NULL},
	    {"\xc3\xa9", "\xc3\xa9", NULL},
	    {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", NULL},
	    {"\x7f", "\x7f", NULL},
	    {" ", " ", NULL},
	    {"\x1f", NULL, "control character 0x1F in string (must be escaped)"},
	    {"\x80", NULL, "invalid UTF-8 in string"},
	};
	char body[256], want[64], json[64];
	for (size_t k = 0; k < sizeof specials / sizeof specials[0]; k++) {
		for (size_t len = 0; len <= 24; len++) {
			for (size_t pos = 0; pos <= len; pos++) {
				size_t jn = 0, wn = 0;
				for (size_t i = 0; i < len; i++) {
					if (i == pos) {
						jn += (size_t)sprintf(json + jn, "%s",
						                      specials[k].json);
						if (specials[k].raw)
							wn += (size_t)sprintf(want + wn, "%s",
							                      specials[k].raw);
					}
					json[jn++] = (char)('a' + i % 26);
					want[wn++] = (char)('a' + i % 26);
				}
				if (pos == len) {
					jn += (size_t)sprintf(json + jn, "%s", specials[k].json);
					if (specials[k].raw)
						wn += (size_t)sprintf(want + wn, "%s",
						                      specials[k].raw);
				}
				json[jn] = '\0';
				int n = snprintf(body, sizeof body,
				                 INS("{\"id\":1,\"name\":\"%s\"}"), json);
				int rc = parse_len(f, body, (size_t)n);
				if (specials[k].bad) {
					assert_int_equal(rc, FLOE_EINVAL);
					char msg[ERR_LEN];
					snprintf(msg, sizeof msg, "malformed JSON at byte %zu: %s",
					         strlen("{\"operation\":\"insert\",\"data\":{"
					                "\"id\":1,\"name\":\"") +
					             pos,
					         specials[k].bad);
					assert_string_equal(f->err, msg);
				} else {
					if (rc)
						fail_msg("%s", f->err);
					assert_str(f, C_NAME, 0, want, wn);
				}
			}
		}
	}
}

/* ---- structure and messages -------------------------------------------- */

static void test_structure_errors(void **state)
{
	fixture *f = *state;
	bad(f, INS("{\"id\":1,\"nmae\":\"x\"}"), "data[0]: unknown column 'nmae'");
	bad(f, INS("[{\"id\":1},{\"id\":2,\"Name\":\"x\"}]"), "data[1]: unknown column 'Name'");
	bad(f, INS("[{\"id\":1},{},{\"id\":3}]"),
	    "data[1].id: missing value for non-nullable column");
	bad(f, INS("[{\"id\":1},{\"id\":2},{\"id\":3},{\"name\":\"x\"}]"),
	    "data[3].id: missing value for non-nullable column");
	bad(f, INS("{\"id\":null}"), "data[0].id: null for non-nullable column");
	bad(f, INS("{\"id\":1,\"id\":2}"), "data[0].id: duplicate key");
	bad(f, INS("{\"id\":1,\"name\":\"a\",\"name\":null}"), "data[0].name: duplicate key");
	bad(f, "{\"operation\":\"inset\",\"data\":{\"id\":1}}",
	    "operation: unknown operation 'inset' (expected insert, upsert, update or delete)");
	bad(f, "{\"operation\":\"INSERT\",\"data\":{\"id\":1}}",
	    "operation: unknown operation 'INSERT' (expected insert, upsert, update or delete)");
	bad(f, "{\"operation\":1,\"data\":{\"id\":1}}",
	    "operation: expected a string, got a number");
	bad(f, "{\"operation\":null,\"data\":{\"id\":1}}",
	    "operation: expected a string, got null");
	bad(f, "{\"operation\":\"insert\",\"request_mode\":\"now\",\"data\":{\"id\":1}}",
	    "request_mode: unknown mode 'now' (expected async or sync)");
	bad(f, "{\"operation\":\"insert\",\"request_mode\":true,\"data\":{\"id\":1}}",
	    "request_mode: expected a string, got a boolean");
	bad(f, "{\"operation\":\"insert\"}", "data: missing");
	bad(f, "{\"data\":{\"id\":1}}", "operation: missing");
	bad(f, "{}", "operation: missing");
	bad(f, "{\"operation\":\"insert\",\"operation\":\"insert\",\"data\":{\"id\":1}}",
	    "operation: duplicate key");
	bad(f, "{\"operation\":\"insert\",\"data\":{\"id\":1},\"data\":{\"id\":2}}",
	    "data: duplicate key");
	bad(f, "{\"operation\":\"insert\",\"rows\":[],\"data\":{\"id\":1}}",
	    "unknown key 'rows' (expected operation, request_mode, data, table or database)");
	bad(f, "{\"operation\":\"insert\",\"table\":5,\"data\":{\"id\":1}}",
	    "table: expected a string, got a number");
	bad(f, "{\"operation\":\"insert\",\"database\":{},\"data\":{\"id\":1}}",
	    "database: expected a string, got an object");
	bad(f, "{\"operation\":\"insert\",\"data\":5}",
	    "data: expected an object or an array of objects, got a number");
	bad(f, "{\"operation\":\"insert\",\"data\":null}",
	    "data: expected an object or an array of objects, got null");
	bad(f, "{\"operation\":\"insert\",\"data\":[{\"id\":1},[{\"id\":2}]]}",
	    "data[1]: expected an object, got an array");
	bad(f, "{\"operation\":\"insert\",\"data\":[{\"id\":1},\"x\"]}",
	    "data[1]: expected an object, got a string");
	bad(f,
	    "{\"operation\":\"insert\",\"data\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]]]]}",
	    "data[0]: expected an object, got an array");

	/* Syntax, with byte offsets. */
	bad_at(f, INS("{\"id\":1 \"name\":\"x\"}"), "\"name", "expected ',' or '}'");
	bad_at(f, INS("[{\"id\":1} {\"id\":2}]"), "{\"id\":2", "expected ',' or ']'");
	bad_at(f, INS("{\"id\":1,}"), "}}", "expected a key string");
	bad_at(f, INS("[{\"id\":1},]"), "]}", "expected a value");
	bad_at(f, INS("{\"id\" 1}"), "1}", "expected ':'");
	bad_at(f, INS("{\"id\":}"), "}}", "expected a value");
	bad_at(f, INS("{\"id\":01}"), "1}}", "leading zero in a number");
	bad_at(f, INS("{\"id\":-}"), "}}", "expected a digit");
	bad_at(f, INS("{\"id\":1.}"), "}}", "expected a digit after '.'");
	bad_at(f, INS("{\"id\":1e}"), "}}", "expected a digit in the exponent");
	bad_at(f, INS("{\"id\":+1}"), "+1", "expected a value");
	bad_at(f, INS("{\"id\":.5}"), ".5", "expected a value");
	bad_at(f, INS("{\"id\":1,\"flag\":tru}"), "tru", "invalid literal (expected true)");
	bad_at(f, INS("{\"id\":1,\"flag\":True}"), "True", "expected a value");
	bad_at(f, INS("{\"id\":nul}"), "nul", "invalid literal (expected null)");
	bad_at(f, INS("{\"id\":1}") " x", "x", "unexpected data after the top-level object");
	bad_at(f, INS("{\"id\":1}") "{}", "{}", "unexpected data after the top-level object");
	bad_at(f, "{\"operation\":\"insert\" \"data\":{}}", "\"data", "expected ',' or '}'");
	bad_at(f, "{'operation':'insert'}", "'", "expected a key string");
	bad(f, "", "malformed JSON at byte 0: expected '{'");
	bad(f, "   ", "malformed JSON at byte 3: expected '{'");
	bad(f, "[]", "malformed JSON at byte 0: expected '{'");
	bad(f, "null", "malformed JSON at byte 0: expected '{'");
	bad(f, "{", "malformed JSON at byte 1: expected a key string");
	bad(f, "{\"operation\"", "malformed JSON at byte 12: expected ':'");
	bad(f, "{\"operation\":", "malformed JSON at byte 13: expected a value");
	bad(f, "{\"operation\":\"insert\",\"data\":[",
	    "malformed JSON at byte 30: expected a value");
	bad(f, "{\"operation\":\"insert\",\"data\":[{\"id\":1}",
	    "malformed JSON at byte 38: expected ',' or ']'");
	bad(f, "{\"operation\":\"insert\",\"data\":{\"id\":1",
	    "malformed JSON at byte 36: expected ',' or '}'");
	/* Only the four JSON whitespace bytes count as whitespace. */
	bad(f, "{\"operation\":\"insert\",\f\"data\":{\"id\":1}}",
	    "malformed JSON at byte 22: expected a key string");
	bad(f, "\v{}", "malformed JSON at byte 0: expected '{'");
	/* A NUL byte inside the body is just a bad byte, not an end. */
	static const char nul_body[] = "{\"operation\":\"insert\",\"data\":{\"id\":1}}\0";
	assert_int_equal(parse_len(f, nul_body, sizeof nul_body - 1), FLOE_EINVAL);
	assert_string_equal(
	    f->err, "malformed JSON at byte 38: unexpected data after the top-level object");
	/* The body need not be NUL-terminated: only len bytes are read. */
	const char *cut = INS("{\"id\":1}") "garbage";
	assert_int_equal(parse_len(f, cut, strlen(cut) - 7), 0);
	assert_int_equal(f->b.nrows, 1);
	assert_int_equal(parse_len(f, NULL, 0), FLOE_EINVAL);
	assert_string_equal(f->err, "malformed JSON at byte 0: expected '{'");
}

/* 1,000 rows, one bad: the error names it and nothing is kept. */
static void test_thousand_rows_one_bad(void **state)
{
	fixture *f = *state;
	buf body = {0};
	for (int bad_row = -1; bad_row < 1000; bad_row += 518) {
		buf_reset(&body);
		buf_append_str(&body,
		               "{\"operation\":\"upsert\",\"request_mode\":\"sync\",\"data\":[");
		for (int i = 0; i < 1000; i++)
			buf_printf(&body,
			           "%s{\"id\":%d,\"name\":\"user %d\",\"age\":%d,\"score\":%d.25,"
			           "\"flag\":%s,\"ts\":\"2024-05-01T12:00:%02d.%06dZ\"}",
			           i ? ",\n " : "", i, i, i == bad_row ? 70000 : i % 100, i,
			           i % 2 ? "true" : "false", i % 60, i);
		buf_append_str(&body, "]}");
		assert_true(buf_ok(&body));
		int rc = parse_len(f, (const char *)body.data, body.len);
		if (bad_row == 517) {
			assert_int_equal(rc, FLOE_EINVAL);
			assert_string_equal(f->err,
			                    "data[517].age: 70000 is out of range for int16");
			assert_int_equal(f->b.nrows, 0);
			assert_int_equal(batch_mem_bytes(&f->b), 2 * 8); /* only offsets[0] */
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(f->req.op, INGEST_UPSERT);
		assert_int_equal(f->req.sync, 1);
		assert_int_equal(f->b.nrows, 1000);
		for (int i = 0; i < 1000; i++) {
			char name[32];
			int n = snprintf(name, sizeof name, "user %d", i);
			assert_int_equal(get_i64(f, C_ID, (size_t)i), i);
			assert_str(f, C_NAME, (size_t)i, name, (size_t)n);
			assert_int_equal(get_i32(f, C_AGE, (size_t)i), i % 100);
			assert_true(get_f64(f, C_SCORE, (size_t)i) == i + 0.25);
			assert_int_equal(f->b.cols[C_FLAG].values.data[i], i % 2);
			assert_int_equal(get_i64(f, C_TS, (size_t)i),
			                 1714564800000000LL + (i % 60) * 1000000LL + i);
			assert_true(is_null(f, C_U, (size_t)i));
		}
	}
	buf_release(&body);
}

static void test_missing_and_operations(void **state)
{
	fixture *f = *state;
	/* Missing nullable columns are null. */
	ok(f, INS("{\"id\":1}"));
	for (int c = 1; c < NCOLS; c++)
		assert_true(is_null(f, c, 0));
	/* Explicit nulls in nullable columns. */
	ok(f, INS("{\"id\":1,\"name\":null,\"age\":null,\"bin\":null,\"big\":null}"));
	assert_true(is_null(f, C_NAME, 0));
	assert_true(is_null(f, C_BIG, 0));
	/* Delete: key columns may be absent or null (the table layer checks). */
	ok(f, "{\"operation\":\"delete\",\"data\":[{\"name\":\"x\"},{\"id\":null}]}");
	assert_int_equal(f->req.op, INGEST_DELETE);
	assert_int_equal(f->b.nrows, 2);
	assert_true(is_null(f, C_ID, 0));
	assert_true(is_null(f, C_ID, 1));
	/* "data" before "operation": decided once the operation is known. */
	ok(f, "{\"data\":[{\"name\":\"x\"},{\"id\":null}],\"operation\":\"delete\"}");
	assert_int_equal(f->b.nrows, 2);
	bad(f, "{\"data\":[{\"id\":1},{\"name\":\"x\"},{\"id\":null}],\"operation\":\"update\"}",
	    "data[1].id: missing value for non-nullable column");
	bad(f, "{\"data\":[{\"id\":null},{\"name\":\"x\"}],\"operation\":\"insert\"}",
	    "data[0].id: null for non-nullable column");
	bad(f, "{\"data\":[{\"name\":\"x\"}],\"operation\":\"inset\"}",
	    "operation: unknown operation 'inset' (expected insert, upsert, update or delete)");
	bad(f, "{\"data\":[{\"name\":\"x\"}]}", "operation: missing");
	/* A value error after a deferred missing value is reported as it is. */
	bad(f, "{\"data\":[{\"name\":\"x\"},{\"id\":1,\"age\":99999}],\"operation\":\"insert\"}",
	    "data[1].age: 99999 is out of range for int16");
	/* Every operation and mode; "table"/"database" ignored; any key order. */
	static const char *const ops[] = {"insert", "upsert", "update", "delete"};
	for (int op = 0; op < 4; op++) {
		char body[256];
		snprintf(body, sizeof body,
		         "{\"table\":\"t\",\"request_mode\":\"%s\",\"data\":{\"id\":%d},"
		         "\"database\":\"db\",\"operation\":\"%s\"}",
		         op % 2 ? "sync" : "async", op, ops[op]);
		ok(f, body);
		assert_int_equal(f->req.op, op);
		assert_int_equal(f->req.sync, op % 2);
		assert_string_equal(ingest_op_name((ingest_op)op), ops[op]);
		assert_int_equal(get_i64(f, C_ID, 0), op);
	}
	assert_string_equal(ingest_op_name((ingest_op)99), "unknown");
}

static void test_single_vs_array_and_whitespace(void **state)
{
	fixture *f = *state;
	ok(f, INS("{\"id\":5,\"name\":\"one\"}"));
	assert_int_equal(f->b.nrows, 1);
	assert_int_equal(get_i64(f, C_ID, 0), 5);
	ok(f, INS("[{\"id\":5,\"name\":\"one\"}]"));
	assert_int_equal(f->b.nrows, 1);
	assert_str(f, C_NAME, 0, "one", 3);
	ok(f, INS("[]"));
	assert_int_equal(f->b.nrows, 0);
	ok(f, INS("[ \n ]"));
	assert_int_equal(f->b.nrows, 0);
	ok(f, " \t\r\n{ \"operation\" :\t\"insert\" ,\r\n \"data\" : [ { \"id\" : 1 , \"name\""
	      " : \"a\" } , {\"id\":2} , { \"id\"\n:\n3\n} ] } \n\t ");
	assert_int_equal(f->b.nrows, 3);
	assert_int_equal(f->req.op, INGEST_INSERT);
	assert_str(f, C_NAME, 0, "a", 1);
	assert_int_equal(get_i64(f, C_ID, 2), 3);
}

/* Keys in any order: the prediction misses and falls back to the hash. */
static void test_key_order(void **state)
{
	fixture *f = *state;
	ok(f, INS("[{\"id\":1,\"name\":\"a\",\"age\":10},"
	          "{\"age\":20,\"id\":2,\"name\":\"b\"},"
	          "{\"name\":\"c\",\"age\":30,\"id\":3},"
	          "{\"id\":4},"
	          "{\"age\":50,\"id\":5},"
	          "{\"id\":6,\"name\":\"f\",\"age\":60}]"));
	assert_int_equal(f->b.nrows, 6);
	static const char *const names[] = {"a", "b", "c", NULL, NULL, "f"};
	for (size_t r = 0; r < 6; r++) {
		assert_int_equal(get_i64(f, C_ID, r), (int64_t)r + 1);
		if (r == 3)
			assert_true(is_null(f, C_AGE, r));
		else
			assert_int_equal(get_i32(f, C_AGE, r), (int32_t)(r + 1) * 10);
		if (names[r])
			assert_str(f, C_NAME, r, names[r], 1);
		else
			assert_true(is_null(f, C_NAME, r));
	}

	/* A wide schema (200 columns) with every row in a random order. */
	enum { W = 200 };
	floe_column wc[W];
	char names_buf[W][16];
	for (int i = 0; i < W; i++) {
		snprintf(names_buf[i], sizeof names_buf[i], "c%d", i);
		wc[i] = (floe_column){.name = names_buf[i], .type = FT_INT32, .nullable = 1};
	}
	floe_schema wide = {.ncols = W, .cols = wc};
	batch wb;
	assert_int_equal(batch_init(&wb, &wide), 0);
	buf body = {0};
	buf_append_str(&body, "{\"operation\":\"insert\",\"data\":[");
	int order[W];
	for (int r = 0; r < 50; r++) {
		for (int i = 0; i < W; i++)
			order[i] = i;
		for (int i = W - 1; i > 0 && r % 5 != 0; i--) { /* every 5th row in order */
			int j = (int)(rng() % (uint64_t)(i + 1)), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		buf_append_str(&body, r ? ",{" : "{");
		for (int i = 0; i < W; i++) {
			if ((order[i] + r) % 7 == 0)
				continue; /* some columns missing */
			buf_printf(&body, "%s\"c%d\":%d", i ? "," : "", order[i],
			           order[i] * 1000 + r);
		}
		buf_append_str(&body, "}");
	}
	buf_append_str(&body, "]}");
	/* A leading comma appears when the first column is skipped; fix it up. */
	for (size_t i = 0; i + 1 < body.len; i++)
		if (body.data[i] == '{' && body.data[i + 1] == ',')
			body.data[i + 1] = ' ';
	ingest_request req = {.rows = &wb};
	char err[ERR_LEN];
	if (ingest_parse((const char *)body.data, body.len, &wide, &req, err))
		fail_msg("%s", err);
	assert_int_equal(wb.nrows, 50);
	for (int r = 0; r < 50; r++) {
		for (int c = 0; c < W; c++) {
			int present = (c + r) % 7 != 0;
			assert_int_equal(wb.cols[c].valid.data[r], present);
			int32_t v;
			memcpy(&v, wb.cols[c].values.data + (size_t)r * 4, 4);
			assert_int_equal(v, present ? c * 1000 + r : 0);
		}
	}
	batch_clear(&wb);
	buf_release(&body);
}

/* ---- lists --------------------------------------------------------------- */

enum { L_ID, L_INTS, L_STRS, L_DECS, L_BINS, L_FLTS, L_TS, L_REQ, L_NCOLS };

static floe_column list_cols[L_NCOLS] = {
    {.name = "id", .type = FT_INT64},
    {.name = "ints", .type = FT_LIST, .elem_type = FT_INT16, .nullable = 1},
    {.name = "strs", .type = FT_LIST, .elem_type = FT_STRING, .nullable = 1},
    {.name = "decs",
     .type = FT_LIST,
     .elem_type = FT_DECIMAL,
     .elem_precision = 25,
     .elem_scale = 2,
     .nullable = 1},
    {.name = "bins", .type = FT_LIST, .elem_type = FT_BINARY, .nullable = 1},
    {.name = "flts", .type = FT_LIST, .elem_type = FT_FLOAT64, .nullable = 1},
    {.name = "ts", .type = FT_LIST, .elem_type = FT_TIMESTAMP, .nullable = 1},
    {.name = "req", .type = FT_LIST, .elem_type = FT_BOOLEAN},
};
static const floe_schema lists = {.ncols = L_NCOLS, .cols = list_cols};

/* The element range of row r of list column col; -1 when the list is null. */
static long list_at(const fixture *f, int col, size_t row, pq_column_data *d)
{
	batch_column_data(&f->b, col, d);
	if (!d->valid[row])
		return -1;
	return (long)(d->list_offsets[row + 1] - d->list_offsets[row]);
}

static void test_lists(void **state)
{
	fixture *f = *state;
	batch_clear(&f->b);
	assert_int_equal(batch_init(&f->b, &lists), 0);
	f->schema = &lists;
	ok(f,
	   INS("[{\"id\":1,\"ints\":[1,null,-32768],\"strs\":[\"a\\\"b\",null,\"\",\"\\u00e9\"],"
	       "\"decs\":[1.5,\"-0.01\",null],\"bins\":[\"AAE=\",null],\"flts\":[\"NaN\",-0.0,2],"
	       "\"ts\":[0,\"1970-01-01T00:00:01Z\"],\"req\":[true,false,null]},"
	       "{\"id\":2,\"ints\":null,\"strs\":[],\"req\":[]},"
	       "{\"id\":3,\"ints\":[ ],\"decs\":[ null ],\"req\":[\n]}]"));
	assert_int_equal(f->b.nrows, 3);
	pq_column_data d;
	assert_int_equal(list_at(f, L_INTS, 0, &d), 3);
	assert_int_equal(d.elem_valid[0] + d.elem_valid[1] + d.elem_valid[2], 2);
	int32_t i32;
	memcpy(&i32, (const uint8_t *)d.values + 8, 4);
	assert_int_equal(i32, -32768);
	assert_int_equal(list_at(f, L_INTS, 1, &d), -1);
	assert_int_equal(list_at(f, L_INTS, 2, &d), 0);
	assert_int_equal(list_at(f, L_STRS, 0, &d), 4);
	assert_int_equal(d.offsets[1] - d.offsets[0], 3);
	assert_memory_equal(d.bytes, "a\"b", 3);
	assert_int_equal(d.elem_valid[1], 0);
	assert_int_equal(d.offsets[3] - d.offsets[2], 0); /* "" is present and empty */
	assert_int_equal(d.elem_valid[2], 1);
	assert_memory_equal(d.bytes + d.offsets[3], "\xc3\xa9", 2);
	assert_int_equal(list_at(f, L_STRS, 1, &d), 0);
	assert_int_equal(list_at(f, L_STRS, 2, &d), -1); /* missing: null */
	assert_int_equal(list_at(f, L_DECS, 0, &d), 3);
	uint8_t be[13];
	value_decimal_to_be(150, be, 11);
	assert_memory_equal(d.values, be, 11);
	value_decimal_to_be(-1, be, 11);
	assert_memory_equal((const uint8_t *)d.values + 11, be, 11);
	assert_int_equal(list_at(f, L_DECS, 2, &d), 1);
	assert_int_equal(d.elem_valid[3], 0);
	assert_int_equal(list_at(f, L_BINS, 0, &d), 2);
	assert_int_equal(d.offsets[1] - d.offsets[0], 2);
	assert_memory_equal(d.bytes, "\0\1", 2);
	assert_int_equal(list_at(f, L_FLTS, 0, &d), 3);
	double x;
	memcpy(&x, d.values, 8);
	assert_true(isnan(x));
	memcpy(&x, (const uint8_t *)d.values + 8, 8);
	assert_true(x == 0 && signbit(x));
	assert_int_equal(list_at(f, L_TS, 0, &d), 2);
	int64_t t;
	memcpy(&t, (const uint8_t *)d.values + 8, 8);
	assert_int_equal(t, 1000000);
	assert_int_equal(list_at(f, L_REQ, 0, &d), 3);
	assert_int_equal(d.elem_valid[2], 0); /* elements are always nullable */
	assert_int_equal(list_at(f, L_REQ, 2, &d), 0);

	/* A long list, then more rows after it. */
	buf body = {0};
	buf_append_str(&body,
	               "{\"operation\":\"insert\",\"data\":[{\"id\":1,\"req\":[],\"strs\":[");
	for (int k = 0; k < 5000; k++)
		buf_printf(&body, "%s\"s%d\"", k ? "," : "", k);
	buf_append_str(&body, "]},{\"id\":2,\"req\":[true]}]}");
	if (parse_len(f, (const char *)body.data, body.len))
		fail_msg("%s", f->err);
	buf_release(&body);
	assert_int_equal(list_at(f, L_STRS, 0, &d), 5000);
	assert_memory_equal(d.bytes + d.offsets[4999], "s4999", 5);
	assert_int_equal(list_at(f, L_REQ, 1, &d), 1);

	/* Errors name the element; nothing of the body stays. */
	bad(f, INS("{\"id\":1,\"req\":[],\"ints\":7}"),
	    "data[0].ints: expected an array for list<int16>, got a number");
	bad(f, INS("[{\"id\":1,\"req\":[]},{\"id\":1,\"req\":[],\"ints\":[1,2,40000]}]"),
	    "data[1].ints[2]: 40000 is out of range for int16");
	bad(f, INS("{\"id\":1,\"req\":[],\"strs\":[\"a\",[\"b\"]]}"),
	    "data[0].strs[1]: expected a string for string, got an array");
	bad(f, INS("{\"id\":1,\"req\":[],\"strs\":[{}]}"),
	    "data[0].strs[0]: expected a string for string, got an object");
	bad(f, INS("{\"id\":1,\"req\":[],\"decs\":[\"1.234\"]}"),
	    "data[0].decs[0]: '1.234' is not a valid decimal (more than 2 fraction digits for "
	    "decimal(25,2))");
	bad(f, INS("{\"id\":1,\"req\":[],\"bins\":[\"A\"]}"),
	    "data[0].bins[0]: 'A' is not a valid base64 (length 1 is not a multiple of 4)");
	bad(f, INS("{\"id\":1,\"req\":null}"), "data[0].req: null for non-nullable column");
	bad(f, INS("{\"id\":1}"), "data[0].req: missing value for non-nullable column");
	bad(f, INS("{\"id\":1,\"req\":[1]}"),
	    "data[0].req[0]: expected true or false for boolean, got a number");
	bad_at(f, INS("{\"id\":1,\"req\":[true false]}"), "false", "expected ',' or ']'");
	bad_at(f, INS("{\"id\":1,\"req\":[true,]}"), "]}}", "expected a value");
	bad_prefix(f, INS("{\"id\":1,\"req\":[true"), "malformed JSON at byte");
	/* After all that, the batch takes rows again. */
	ok(f, INS("{\"id\":9,\"req\":[false]}"));
	assert_int_equal(f->b.nrows, 1);
	assert_int_equal(list_at(f, L_REQ, 0, &d), 1);
	f->schema = &all;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_lists, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_type, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_value_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_int64_extremes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_float_specials, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_float_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unicode_and_escapes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_string_scan_offsets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_structure_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thousand_rows_one_bad, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_and_operations, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_single_vs_array_and_whitespace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_key_order, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
