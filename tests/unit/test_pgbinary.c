/*
 * test_pgbinary — PostgreSQL binary COPY into batches (src/source/pg/
 * pgbinary.c). The oracle is the text path: every binary value is paired
 * with the text PostgreSQL prints for the same datum, both go through their
 * decoder into batches of the same column, and the batches must hold the
 * same bytes (or both refuse, with the same message where the refusal is
 * about the value). Covered: every type of pgtype.h's map at its bounds
 * (integers into narrower columns, float NaN/-0/denormals and float4 into
 * float64, infinite dates and timestamps, BC dates, 24:00:00, "char" above
 * 127, jsonb's version byte); numeric into decimals (0, negative, scales
 * larger and smaller than the column's, trailing zero groups, 38 digits,
 * one digit too many, a nonzero digit beyond the scale, NaN and +-Infinity)
 * and into strings (more than 38 digits, dscale padding, tiny values);
 * arrays (NULL elements, empty, multi-dimensional and lower-bound refusals,
 * bad elements dropping what was added); malformed values; and the stream:
 * a header, tuples and the trailer fed in every possible split, bad
 * signature and flags, wrong field counts, truncation at every byte (a
 * clean error), bytes after the trailer. Byte layouts were built from
 * PostgreSQL's send functions (numeric_send, array_send, date_send, ...);
 * day and microsecond counts are checked against the text path, which is
 * itself checked against Python's datetime in test_pgtype.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "source/pg/pgbinary.h"
#include "source/pg/pgtype.h"
#include "table/value.h"

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' does not contain '%s'", hay, needle);
}

/* ---- building binary values ------------------------------------------------ */

static void be16(buf *b, uint16_t v)
{
	uint8_t t[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	buf_append(b, t, 2);
}

static void be32(buf *b, uint32_t v)
{
	buf_put_be32(b, v);
}

static void be64(buf *b, uint64_t v)
{
	uint8_t t[8];
	put_be64(t, v);
	buf_append(b, t, 8);
}

/* numeric_send of a decimal text ("-12.340", "0", "NaN", "Infinity",
 * "-Infinity") as PostgreSQL stores it: base-10000 groups aligned on the
 * point, leading and trailing zero groups stripped, dscale = the text's
 * fraction digits, zero with weight 0 and no digits. */
static void numeric_bin(buf *b, const char *text)
{
	if (!strcmp(text, "NaN") || !strcmp(text, "Infinity") || !strcmp(text, "-Infinity")) {
		be16(b, 0);
		be16(b, 0);
		be16(b, text[0] == 'N' ? 0xC000 : text[0] == 'I' ? 0xD000 : 0xF000);
		be16(b, 0);
		return;
	}
	int neg = text[0] == '-';
	const char *s = text + neg, *dot = strchr(s, '.');
	size_t ni = dot ? (size_t)(dot - s) : strlen(s), nf = dot ? strlen(dot + 1) : 0;
	/* digits padded to whole groups on both sides of the point */
	size_t lead = (4 - ni % 4) % 4, trail = (4 - nf % 4) % 4;
	char d[512];
	size_t n = 0;
	for (size_t i = 0; i < lead; i++)
		d[n++] = '0';
	memcpy(d + n, s, ni);
	n += ni;
	if (nf)
		memcpy(d + n, dot + 1, nf);
	n += nf;
	for (size_t i = 0; i < trail; i++)
		d[n++] = '0';
	int groups = (int)(n / 4), weight = (int)((lead + ni) / 4) - 1;
	uint16_t g[128];
	for (int i = 0; i < groups; i++)
		g[i] = (uint16_t)((d[4 * i] - '0') * 1000 + (d[4 * i + 1] - '0') * 100 +
		                  (d[4 * i + 2] - '0') * 10 + (d[4 * i + 3] - '0'));
	int first = 0, last = groups;
	while (first < last && g[first] == 0)
		first++, weight--;
	while (last > first && g[last - 1] == 0)
		last--;
	if (first == last)
		weight = 0, neg = 0;
	be16(b, (uint16_t)(last - first));
	be16(b, (uint16_t)weight);
	be16(b, neg ? 0x4000 : 0);
	be16(b, (uint16_t)nf);
	for (int i = first; i < last; i++)
		be16(b, g[i]);
}

/* ---- columns and types ------------------------------------------------------ */

static pgtype_desc pg(uint32_t oid)
{
	pgtype_desc d = {.oid = oid, .base_oid = oid, .typmod = -1, .typtype = 'b'};
	return d;
}

static pgtype_desc pg_array(uint32_t array_oid, uint32_t elem)
{
	pgtype_desc d = pg(array_oid);
	d.elem_oid = elem;
	d.elem_typmod = -1;
	d.elem_typtype = 'b';
	return d;
}

static floe_column col(floe_type t)
{
	floe_column c = {.name = "c", .type = t, .nullable = 1};
	return c;
}

static floe_column dec(int p, int s)
{
	floe_column c = col(FT_DECIMAL);
	c.precision = p;
	c.scale = s;
	return c;
}

static floe_column list_of(floe_type t, int p, int s)
{
	floe_column c = col(FT_LIST);
	c.elem_type = t;
	c.elem_precision = p;
	c.elem_scale = s;
	return c;
}

/* ---- comparing batches ----------------------------------------------------- */

static void same_buf(const buf *a, const buf *b, const char *what, const char *ctx)
{
	if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len)))
		fail_msg("%s: %s differs (%zu vs %zu bytes)", ctx, what, a->len, b->len);
}

static void same_col(const batch_col *a, const batch_col *b, const char *ctx)
{
	same_buf(&a->valid, &b->valid, "valid", ctx);
	same_buf(&a->values, &b->values, "values", ctx);
	same_buf(&a->offsets, &b->offsets, "offsets", ctx);
	same_buf(&a->bytes, &b->bytes, "bytes", ctx);
	assert_true(!a->elem == !b->elem);
	if (a->elem)
		same_col(a->elem, b->elem, ctx);
}

/* One value through both paths into a fresh one-column batch (behind a
 * first row, so offsets and earlier values are in play). want_rc: 0, or
 * the error both must give; same_msg: the messages must be equal. The
 * binary path's message is returned in msg (ERR_LEN) when it fails. */
static void check_value(floe_column c, pgtype_desc d, const buf *bin, const char *text, int want_rc,
                        int same_msg, char *msg)
{
	floe_schema s = {1, &c};
	batch bb, bt;
	assert_int_equal(batch_init(&bb, &s), 0);
	assert_int_equal(batch_init(&bt, &s), 0);
	char eb[ERR_LEN] = "", et[ERR_LEN] = "";
	for (int k = 0; k < 2; k++) {
		batch *x = k ? &bt : &bb;
		batch_row_begin(x);
		batch_set_null(x, 0);
		batch_row_commit(x);
	}
	batch_row_begin(&bb);
	int rb = pgbin_set_value(&bb, 0, &c, &d, bin->data, bin->len, eb);
	batch_row_begin(&bt);
	int rt = text ? pgtype_set_text(&bt, 0, &c, &d, text, strlen(text), et) : want_rc;
	if (rb != want_rc || rt != want_rc)
		fail_msg("'%s': binary rc %d (%s), text rc %d (%s), want %d", text ? text : "-", rb,
		         eb, rt, et, want_rc);
	if (rb == 0) {
		batch_row_commit(&bb);
		batch_row_commit(&bt);
		assert_int_equal(batch_check(&bb), 0);
		same_col(&bb.cols[0], &bt.cols[0], text ? text : "-");
	} else {
		/* nothing reached the row: abort leaves the first row alone */
		batch_row_abort(&bb);
		assert_int_equal(bb.nrows, 1);
		assert_int_equal(bb.cols[0].valid.len, 1);
		if (bb.cols[0].elem)
			assert_int_equal(bb.cols[0].elem->valid.len, 0);
		assert_contains(eb, "column 'c': ");
		if (same_msg)
			assert_string_equal(eb, et);
		if (msg)
			snprintf(msg, ERR_LEN, "%s", eb);
	}
	batch_clear(&bb);
	batch_clear(&bt);
}

static void ok(floe_column c, pgtype_desc d, const buf *bin, const char *text)
{
	check_value(c, d, bin, text, 0, 0, NULL);
}

/* A value both paths refuse with the same message. */
static void refused(floe_column c, pgtype_desc d, const buf *bin, const char *text, int rc)
{
	check_value(c, d, bin, text, rc, 1, NULL);
}

/* Bytes that are not a binary value of d: FLOE_ECORRUPT naming the column. */
static void malformed(floe_column c, pgtype_desc d, const buf *bin, const char *why)
{
	char msg[ERR_LEN];
	check_value(c, d, bin, NULL, FLOE_ECORRUPT, 0, msg);
	assert_contains(msg, why);
}

/* ---- scalars ----------------------------------------------------------------- */

static void test_bool_ints(void **state)
{
	(void)state;
	buf b = {0};
	for (int v = 0; v < 2; v++) {
		buf_reset(&b);
		buf_put_u8(&b, (uint8_t)v);
		ok(col(FT_BOOLEAN), pg(PGT_BOOL), &b, v ? "t" : "f");
	}
	buf_reset(&b);
	buf_put_u8(&b, 2);
	malformed(col(FT_BOOLEAN), pg(PGT_BOOL), &b, "malformed binary bool value");

	static const int64_t i2[] = {-32768, -1, 0, 1, 32767};
	for (size_t i = 0; i < sizeof i2 / sizeof i2[0]; i++) {
		char t[32];
		snprintf(t, sizeof t, "%lld", (long long)i2[i]);
		buf_reset(&b);
		be16(&b, (uint16_t)i2[i]);
		ok(col(FT_INT16), pg(PGT_INT2), &b, t);
		ok(col(FT_INT32), pg(PGT_INT2), &b, t); /* widened columns */
		ok(col(FT_INT64), pg(PGT_INT2), &b, t);
	}
	static const int64_t i4[] = {INT32_MIN, -32769, 32768, INT32_MAX};
	for (size_t i = 0; i < sizeof i4 / sizeof i4[0]; i++) {
		char t[32];
		snprintf(t, sizeof t, "%lld", (long long)i4[i]);
		buf_reset(&b);
		be32(&b, (uint32_t)i4[i]);
		ok(col(FT_INT32), pg(PGT_INT4), &b, t);
		ok(col(FT_INT64), pg(PGT_INT4), &b, t);
		/* into int16: out of range, the text path's message */
		refused(col(FT_INT16), pg(PGT_INT4), &b, t, FLOE_EINVAL);
	}
	static const int64_t i8[] = {INT64_MIN, -1, 0, 2147483648LL, INT64_MAX};
	for (size_t i = 0; i < sizeof i8 / sizeof i8[0]; i++) {
		char t[32];
		snprintf(t, sizeof t, "%lld", (long long)i8[i]);
		buf_reset(&b);
		be64(&b, (uint64_t)i8[i]);
		ok(col(FT_INT64), pg(PGT_INT8), &b, t);
	}
	char msg[ERR_LEN];
	buf_reset(&b);
	be64(&b, (uint64_t)INT64_C(2147483648));
	check_value(col(FT_INT32), pg(PGT_INT8), &b, "2147483648", FLOE_EINVAL, 1, msg);
	assert_contains(msg, "column 'c': '2147483648' is out of range for int32");
	/* oid: unsigned */
	buf_reset(&b);
	be32(&b, UINT32_MAX);
	ok(col(FT_INT64), pg(PGT_OID), &b, "4294967295");
	/* wrong lengths */
	buf_reset(&b);
	be32(&b, 1);
	malformed(col(FT_INT16), pg(PGT_INT2), &b,
	          "malformed binary int2 value (4 bytes, expected 2)");
	malformed(col(FT_INT64), pg(PGT_INT8), &b, "(4 bytes, expected 8)");
	buf_release(&b);
}

static void test_floats(void **state)
{
	(void)state;
	buf b = {0};
	static const struct {
		float f;
		const char *text; /* float4out, extra_float_digits=3 */
	} f4[] = {{0.1f, "0.1"},
	          {-0.0f, "-0"},
	          {1.4e-45f, "1e-45"},
	          {3.4028235e38f, "3.4028235e+38"},
	          {1.17549435e-38f, "1.1754944e-38"},
	          {INFINITY, "Infinity"},
	          {-INFINITY, "-Infinity"},
	          {NAN, "NaN"}};
	for (size_t i = 0; i < sizeof f4 / sizeof f4[0]; i++) {
		uint32_t bits;
		memcpy(&bits, &f4[i].f, 4);
		buf_reset(&b);
		be32(&b, bits);
		ok(col(FT_FLOAT32), pg(PGT_FLOAT4), &b, f4[i].text);
		ok(col(FT_FLOAT64), pg(PGT_FLOAT4), &b, f4[i].text); /* float4 into float64 */
	}
	static const struct {
		double v;
		const char *text;
	} f8[] = {{0.1, "0.1"},
	          {1.0 / 3, "0.3333333333333333"},
	          {5e-324, "5e-324"},
	          {-0.0, "-0"},
	          {1.7976931348623157e308, "1.7976931348623157e+308"},
	          {-INFINITY, "-Infinity"},
	          {NAN, "NaN"}};
	for (size_t i = 0; i < sizeof f8 / sizeof f8[0]; i++) {
		uint64_t bits;
		memcpy(&bits, &f8[i].v, 8);
		buf_reset(&b);
		be64(&b, bits);
		ok(col(FT_FLOAT64), pg(PGT_FLOAT8), &b, f8[i].text);
	}
	/* a NaN with another payload is stored as the one NaN the text gives */
	buf_reset(&b);
	be64(&b, UINT64_C(0xfff8000000000001));
	ok(col(FT_FLOAT64), pg(PGT_FLOAT8), &b, "NaN");
	buf_reset(&b);
	be32(&b, 0xffc00001u);
	ok(col(FT_FLOAT32), pg(PGT_FLOAT4), &b, "NaN");
	malformed(col(FT_FLOAT64), pg(PGT_FLOAT8), &b, "(4 bytes, expected 8)");
	buf_release(&b);
}

static void num(floe_column c, const char *text)
{
	buf b = {0};
	numeric_bin(&b, text);
	ok(c, pg(PGT_NUMERIC), &b, text);
	buf_release(&b);
}

static void num_refused(floe_column c, const char *text, const char *why)
{
	buf b = {0};
	char msg[ERR_LEN];
	numeric_bin(&b, text);
	check_value(c, pg(PGT_NUMERIC), &b, text, FLOE_EINVAL, 1, msg);
	assert_contains(msg, why);
	buf_release(&b);
}

static void test_numeric_decimal(void **state)
{
	(void)state;
	static const char *const n10_2[] = {"0",         "0.00",         "-0.50",       "1.50",
	                                    "0.01",      "-99999999.99", "99999999.99", "12345",
	                                    "1.500",     "1.5000000",    "10000.00",    "10000000",
	                                    "-12345678", "0.1",          "20000000.00"};
	for (size_t i = 0; i < sizeof n10_2 / sizeof n10_2[0]; i++)
		num(dec(10, 2), n10_2[i]);
	/* p = 38, the widest decimal, at its edges */
	num(dec(38, 0), "99999999999999999999999999999999999999");
	num(dec(38, 0), "-99999999999999999999999999999999999999");
	num(dec(38, 0), "12345678901234567890123456789012345678");
	num(dec(38, 10), "-9999999999999999999999999999.9999999999");
	num(dec(38, 10), "0.0000000001");
	num(dec(38, 10), "-0.0000000001");
	num(dec(38, 38), "0.99999999999999999999999999999999999999");
	num(dec(18, 18), "-0.000000000000000001");
	num(dec(9, 3), "-999999.999");
	num(dec(12, 3), "0.001");
	num(dec(1, 0), "9");
	num(dec(1, 1), "0.9");
	num(dec(5, 0), "10000"); /* a digit group that is exactly one */
	num(dec(20, 4), "1000000000000000");
	num(dec(20, 4), "-9999999999999999.9999");
	/* refused, with the text path's message */
	num_refused(dec(10, 2), "100000000.00",
	            "column 'c': '100000000.00' is out of range for decimal(10,2)");
	num_refused(dec(10, 2), "100000000", "is out of range for decimal(10,2)");
	num_refused(dec(10, 2), "1.505", "more than 2 fraction digits");
	num_refused(dec(10, 2), "0.001", "more than 2 fraction digits");
	num_refused(dec(10, 2), "0.00000000001", "more than 2 fraction digits");
	num_refused(dec(38, 0), "100000000000000000000000000000000000000", "is out of range");
	num_refused(dec(38, 0), "123456789012345678901234567890123456789012345", "is out of range");
	num_refused(dec(5, 0), "100000", "is out of range for decimal(5,0)");
	num_refused(dec(1, 1), "1.0", "is out of range for decimal(1,1)");
	num_refused(dec(3, 0), "1000.5", "is out of range");
	/* NaN and infinities are never a decimal: the text path's message */
	num_refused(dec(10, 2), "NaN",
	            "column 'c': 'NaN' is not a valid decimal(10,2) (a decimal "
	            "has no NaN or infinity; map the column to string");
	num_refused(dec(10, 2), "Infinity", "'Infinity' is not a valid decimal(10,2)");
	num_refused(dec(38, 0), "-Infinity", "'-Infinity' is not a valid decimal(38,0)");
}

static void test_numeric_string(void **state)
{
	(void)state;
	/* unconstrained numeric, p > 38: PostgreSQL's exact text */
	static const char *const t[] = {
	    "0",
	    "0.000",
	    "-1.50",
	    "NaN",
	    "Infinity",
	    "-Infinity",
	    "123456789012345678901234567890123456789012345678901234567890."
	    "000000000000000000000000000001",
	    "0.000000000000000000000000000000000000000000001",
	    "0.0000000001",
	    "0.33333333333333333333",
	    "1000000000000000000000000000000000000000000",
	    "-99999999999999999999999999999999999999999999999999",
	    "10000",
	    "1.0001",
	    "9999.9999",
	    "0.00010000",
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		num(col(FT_STRING), t[i]);
	/* the text is exactly PostgreSQL's: check one by hand too */
	buf b = {0};
	numeric_bin(&b, "-0.000120");
	floe_column c = col(FT_STRING);
	floe_schema s = {1, &c};
	batch x;
	pgtype_desc d = pg(PGT_NUMERIC);
	char err[ERR_LEN];
	assert_int_equal(batch_init(&x, &s), 0);
	batch_row_begin(&x);
	assert_int_equal(pgbin_set_value(&x, 0, &c, &d, b.data, b.len, err), 0);
	batch_row_commit(&x);
	assert_int_equal(x.cols[0].bytes.len, 9);
	assert_memory_equal(x.cols[0].bytes.data, "-0.000120", 9);
	batch_clear(&x);
	/* malformed: a digit over 9999, a length that does not match ndigits,
	 * an unknown sign */
	buf_reset(&b);
	be16(&b, 1), be16(&b, 0), be16(&b, 0), be16(&b, 0), be16(&b, 10000);
	malformed(dec(10, 2), d, &b, "malformed binary numeric value");
	buf_reset(&b);
	be16(&b, 2), be16(&b, 0), be16(&b, 0), be16(&b, 0), be16(&b, 1);
	malformed(col(FT_STRING), d, &b, "malformed binary numeric value");
	buf_reset(&b);
	be16(&b, 0), be16(&b, 0), be16(&b, 0x8000), be16(&b, 0);
	malformed(col(FT_STRING), d, &b, "malformed binary numeric value");
	buf_reset(&b);
	be16(&b, 0);
	malformed(col(FT_STRING), d, &b, "malformed binary numeric value (2 bytes)");
	buf_release(&b);
}

static void test_text_like(void **state)
{
	(void)state;
	static const uint32_t oids[] = {PGT_TEXT, PGT_VARCHAR, PGT_BPCHAR,
	                                PGT_NAME, PGT_JSON,    PGT_XML};
	static const char *const vals[] = {"",         "a    ", "tab\there \\ \"q\"",
	                                   "日本語 🚀", "NULL",  "\\N"};
	buf b = {0};
	for (size_t i = 0; i < sizeof oids / sizeof oids[0]; i++)
		for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
			buf_reset(&b);
			buf_append(&b, vals[k], strlen(vals[k]));
			ok(col(FT_STRING), pg(oids[i]), &b, vals[k]);
		}
	/* an enum label */
	pgtype_desc e = {.oid = 16390, .base_oid = 16390, .typmod = -1, .typtype = 'e'};
	buf_reset(&b);
	buf_append(&b, "happy 'quoted'", 14);
	ok(col(FT_STRING), e, &b, "happy 'quoted'");
	/* jsonb: version 1, then jsonb_out's text */
	buf_reset(&b);
	buf_put_u8(&b, 1);
	buf_append(&b, "{\"a\": 1}", 8);
	ok(col(FT_STRING), pg(PGT_JSONB), &b, "{\"a\": 1}");
	buf_reset(&b);
	buf_put_u8(&b, 2);
	buf_append(&b, "{}", 2);
	malformed(col(FT_STRING), pg(PGT_JSONB), &b, "expected version 1");
	/* "char": charout's text (PostgreSQL 15) */
	static const struct {
		uint8_t ch;
		const char *text;
	} ch[] = {{'a', "a"}, {0, ""}, {0xe9, "\\351"}, {0x80, "\\200"}, {'\\', "\\"}};
	for (size_t i = 0; i < sizeof ch / sizeof ch[0]; i++) {
		buf_reset(&b);
		buf_put_u8(&b, ch[i].ch);
		ok(col(FT_STRING), pg(PGT_CHAR), &b, ch[i].text);
	}
	/* bytea: the raw bytes */
	buf_reset(&b);
	ok(col(FT_BINARY), pg(PGT_BYTEA), &b, "\\x");
	buf_append(&b, "\x00\xff\x10", 3);
	ok(col(FT_BINARY), pg(PGT_BYTEA), &b, "\\x00ff10");
	/* uuid */
	buf_reset(&b);
	for (int i = 0; i < 16; i++)
		buf_put_u8(&b, (uint8_t)(0xa0 + i));
	ok(col(FT_UUID), pg(PGT_UUID), &b, "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf");
	buf_put_u8(&b, 0);
	malformed(col(FT_UUID), pg(PGT_UUID), &b, "(17 bytes, expected 16)");
	buf_release(&b);
}

static void test_dates_times(void **state)
{
	(void)state;
	buf b = {0};
	static const struct {
		int32_t d; /* days since 2000-01-01 */
		const char *text;
	} dates[] = {{0, "2000-01-01"},
	             {-10957, "1970-01-01"},
	             {59, "2000-02-29"},
	             {-730119, "0001-01-01"},
	             {-730120, "0001-12-31 BC"},
	             {-2451507, "4713-01-01 BC"},
	             {2145031948, "5874897-12-31"},
	             {INT32_MAX, "infinity"},
	             {INT32_MIN, "-infinity"}};
	for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
		buf_reset(&b);
		be32(&b, (uint32_t)dates[i].d);
		ok(col(FT_DATE32), pg(PGT_DATE), &b, dates[i].text);
	}
	static const struct {
		int64_t us;
		const char *text;
	} times[] = {{0, "00:00:00"},
	             {1, "00:00:00.000001"},
	             {45296500000, "12:34:56.5"},
	             {86399999999, "23:59:59.999999"},
	             {86400000000, "24:00:00"}};
	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		buf_reset(&b);
		be64(&b, (uint64_t)times[i].us);
		ok(col(FT_TIME), pg(PGT_TIME), &b, times[i].text);
	}
	buf_reset(&b);
	be64(&b, (uint64_t)86400000001);
	malformed(col(FT_TIME), pg(PGT_TIME), &b, "not a time of day");
	static const struct {
		int64_t us; /* since 2000-01-01 00:00:00 */
		const char *ts, *tstz;
	} ts[] = {
	    {0, "2000-01-01 00:00:00", "2000-01-01 00:00:00+00"},
	    {-1, "1999-12-31 23:59:59.999999", "1999-12-31 23:59:59.999999+00"},
	    {-946684800000000, "1970-01-01 00:00:00", "1970-01-01 00:00:00+00"},
	    {769003200123456, "2024-05-14 12:00:00.123456", "2024-05-14 12:00:00.123456+00"},
	    {-211810204800000000, "4713-01-01 00:00:00 BC", "4713-01-01 00:00:00+00 BC"},
	    {9222424559999999999, "294246-12-31 23:59:59.999999",
	     "294246-12-31 23:59:59.999999+00"},
	    {INT64_MAX, "infinity", "infinity"},
	    {INT64_MIN, "-infinity", "-infinity"},
	};
	for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
		buf_reset(&b);
		be64(&b, (uint64_t)ts[i].us);
		ok(col(FT_TIMESTAMP), pg(PGT_TIMESTAMP), &b, ts[i].ts);
		ok(col(FT_TIMESTAMPTZ), pg(PGT_TIMESTAMPTZ), &b, ts[i].tstz);
	}
	/* PostgreSQL goes to 294276 AD; beyond int64 micros since 1970 both
	 * paths refuse (the messages quote different texts) */
	char msg[ERR_LEN];
	buf_reset(&b);
	be64(&b, (uint64_t)INT64_C(9223371331199999999)); /* 294276-12-31 23:59:59.999999 */
	check_value(col(FT_TIMESTAMP), pg(PGT_TIMESTAMP), &b, "294276-12-31 23:59:59.999999",
	            FLOE_EINVAL, 0, msg);
	assert_contains(msg, "is out of range for timestamp (int64 microseconds since 1970");
	malformed(col(FT_DATE32), pg(PGT_DATE), &b,
	          "malformed binary date value (8 bytes, expected 4)");
	buf_release(&b);
}

/* ---- arrays -------------------------------------------------------------- */

/* array_send: ndim, flags, element oid, (length, lower bound) per
 * dimension; elements added by the caller. */
static void array_head(buf *b, int ndim, int has_null, uint32_t elem, int len, int lbound)
{
	be32(b, (uint32_t)ndim);
	be32(b, (uint32_t)has_null);
	be32(b, elem);
	for (int i = 0; i < ndim; i++) {
		be32(b, (uint32_t)len);
		be32(b, (uint32_t)lbound);
	}
}

static void elem_null(buf *b)
{
	be32(b, UINT32_MAX);
}

static void elem_i4(buf *b, int32_t v)
{
	be32(b, 4);
	be32(b, (uint32_t)v);
}

static void elem_text(buf *b, const char *s)
{
	be32(b, (uint32_t)strlen(s));
	buf_append(b, s, strlen(s));
}

static void test_arrays(void **state)
{
	(void)state;
	buf b = {0};
	pgtype_desc a4 = pg_array(1007, PGT_INT4);
	array_head(&b, 1, 1, PGT_INT4, 3, 1);
	elem_i4(&b, 1), elem_null(&b), elem_i4(&b, -3);
	ok(list_of(FT_INT32, 0, 0), a4, &b, "{1,NULL,-3}");
	ok(list_of(FT_INT64, 0, 0), a4, &b, "{1,NULL,-3}");
	/* empty: ndim 0 */
	buf_reset(&b);
	array_head(&b, 0, 0, PGT_INT4, 0, 0);
	ok(list_of(FT_INT32, 0, 0), a4, &b, "{}");
	/* all NULL */
	buf_reset(&b);
	array_head(&b, 1, 1, PGT_INT4, 2, 1);
	elem_null(&b), elem_null(&b);
	ok(list_of(FT_INT32, 0, 0), a4, &b, "{NULL,NULL}");
	/* text[]: the string "NULL" is not a null */
	pgtype_desc at = pg_array(1009, PGT_TEXT);
	buf_reset(&b);
	array_head(&b, 1, 1, PGT_TEXT, 5, 1);
	elem_text(&b, "a,b"), elem_null(&b), elem_text(&b, "NULL"), elem_text(&b, ""),
	    elem_text(&b, "ü 🚀");
	ok(list_of(FT_STRING, 0, 0), at, &b, "{\"a,b\",NULL,\"NULL\",\"\",\"ü 🚀\"}");
	/* numeric(10,2)[] and numeric[] (strings) */
	pgtype_desc an = pg_array(1231, PGT_NUMERIC);
	static const char *const nums[] = {"1.50", "-99999999.99", "0"};
	buf_reset(&b);
	array_head(&b, 1, 1, PGT_NUMERIC, 4, 1);
	for (int i = 0; i < 3; i++) {
		buf e = {0};
		numeric_bin(&e, nums[i]);
		be32(&b, (uint32_t)e.len);
		buf_append(&b, e.data, e.len);
		buf_release(&e);
		if (i == 0)
			elem_null(&b);
	}
	ok(list_of(FT_DECIMAL, 10, 2), an, &b, "{1.50,NULL,-99999999.99,0}");
	ok(list_of(FT_STRING, 0, 0), an, &b, "{1.50,NULL,-99999999.99,0}");
	/* a NaN element into decimal: the text path's message for the element */
	buf_reset(&b);
	array_head(&b, 1, 0, PGT_NUMERIC, 2, 1);
	{
		buf e = {0};
		numeric_bin(&e, "1.00");
		be32(&b, (uint32_t)e.len);
		buf_append(&b, e.data, e.len);
		buf_reset(&e);
		numeric_bin(&e, "NaN");
		be32(&b, (uint32_t)e.len);
		buf_append(&b, e.data, e.len);
		buf_release(&e);
	}
	refused(list_of(FT_DECIMAL, 10, 2), an, &b, "{1.00,NaN}", FLOE_EINVAL);
	/* date[] with infinities, bool[], uuid[], bytea[] */
	pgtype_desc ad = pg_array(1182, PGT_DATE);
	buf_reset(&b);
	array_head(&b, 1, 1, PGT_DATE, 3, 1);
	be32(&b, 4), be32(&b, INT32_MAX), be32(&b, 4), be32(&b, (uint32_t)-730120), elem_null(&b);
	ok(list_of(FT_DATE32, 0, 0), ad, &b, "{infinity,\"0001-12-31 BC\",NULL}");
	pgtype_desc ab = pg_array(1000, PGT_BOOL);
	buf_reset(&b);
	array_head(&b, 1, 0, PGT_BOOL, 2, 1);
	be32(&b, 1), buf_put_u8(&b, 1), be32(&b, 1), buf_put_u8(&b, 0);
	ok(list_of(FT_BOOLEAN, 0, 0), ab, &b, "{t,f}");
	pgtype_desc aby = pg_array(1001, PGT_BYTEA);
	buf_reset(&b);
	array_head(&b, 1, 1, PGT_BYTEA, 3, 1);
	be32(&b, 2), buf_append(&b, "\x00\xff", 2), elem_null(&b), be32(&b, 0);
	ok(list_of(FT_BINARY, 0, 0), aby, &b, "{\"\\\\x00ff\",NULL,\"\\\\x\"}");

	/* refusals: two dimensions, a lower bound other than 1 */
	char msg[ERR_LEN];
	buf_reset(&b);
	array_head(&b, 2, 0, PGT_INT4, 1, 1);
	elem_i4(&b, 1);
	check_value(list_of(FT_INT32, 0, 0), a4, &b, "{{1}}", FLOE_EINVAL, 0, msg);
	assert_contains(msg, "column 'c': multi-dimensional arrays are not supported");
	buf_reset(&b);
	array_head(&b, 1, 0, PGT_INT4, 2, 0);
	elem_i4(&b, 1), elem_i4(&b, 2);
	check_value(list_of(FT_INT32, 0, 0), a4, &b, "[0:1]={1,2}", FLOE_EINVAL, 0, msg);
	assert_contains(msg, "a lower-bound decoration [m:n]= is not supported");
	/* a bad element after good ones: the list is dropped whole */
	buf_reset(&b);
	array_head(&b, 1, 0, PGT_INT4, 3, 1);
	elem_i4(&b, 1), elem_i4(&b, 2), be32(&b, 2), be16(&b, 7);
	malformed(list_of(FT_INT32, 0, 0), a4, &b, "malformed binary int4 value (2 bytes");
	/* cut off, too long, bytes after the last element, bad header */
	buf_reset(&b);
	array_head(&b, 1, 0, PGT_INT4, 2, 1);
	elem_i4(&b, 1);
	malformed(list_of(FT_INT32, 0, 0), a4, &b, "element 1 is cut off");
	buf_reset(&b);
	array_head(&b, 1, 0, PGT_INT4, 1, 1);
	be32(&b, 100), be32(&b, 1);
	malformed(list_of(FT_INT32, 0, 0), a4, &b, "element 0 has length 100");
	buf_reset(&b);
	array_head(&b, 1, 0, PGT_INT4, 1, 1);
	elem_i4(&b, 1), buf_put_u8(&b, 0);
	malformed(list_of(FT_INT32, 0, 0), a4, &b, "1 bytes after the last element");
	buf_reset(&b);
	be32(&b, 1);
	malformed(list_of(FT_INT32, 0, 0), a4, &b, "malformed binary array value (4 bytes)");
	buf_reset(&b);
	array_head(&b, 1, 7, PGT_INT4, 0, 1);
	malformed(list_of(FT_INT32, 0, 0), a4, &b, "flags 7");
	buf_release(&b);
}

static void test_supported(void **state)
{
	(void)state;
	floe_column i4 = col(FT_INT32), s = col(FT_STRING), l = list_of(FT_INT32, 0, 0);
	pgtype_desc d4 = pg(PGT_INT4), dt = pg(PGT_TEXT), a4 = pg_array(1007, PGT_INT4);
	assert_true(pgbin_supported(&i4, &d4));
	assert_false(pgbin_supported(&i4, NULL));
	assert_false(pgbin_supported(&s, &d4)); /* not what pgtype_map makes of int4 */
	assert_true(pgbin_supported(&s, &dt));
	assert_true(pgbin_supported(&l, &a4));
	assert_false(pgbin_supported(&i4, &a4));
	assert_false(pgbin_supported(&l, &d4));
	pgtype_desc iv = pg(1186); /* interval */
	assert_false(pgbin_supported(&s, &iv));
	pgtype_desc e = {.oid = 16390, .base_oid = 16390, .typmod = -1, .typtype = 'e'};
	assert_true(pgbin_supported(&s, &e));
	pgtype_desc dom = {.oid = 16400, .base_oid = PGT_INT4, .typmod = -1, .typtype = 'b'};
	assert_true(pgbin_supported(&i4, &dom));
	floe_column f4 = col(FT_FLOAT32), f8 = col(FT_FLOAT64);
	pgtype_desc df4 = pg(PGT_FLOAT4), df8 = pg(PGT_FLOAT8);
	assert_true(pgbin_supported(&f8, &df4));
	assert_false(pgbin_supported(&f4, &df8));
	pgtype_desc vec = pg_array(PGT_INT2VECTOR, PGT_INT2);
	floe_column l2 = list_of(FT_INT16, 0, 0);
	assert_false(pgbin_supported(&l2, &vec));
}

/* ---- the stream ------------------------------------------------------------- */

static floe_column stream_cols[3];
static floe_schema stream_schema = {3, stream_cols};
static pgtype_desc stream_desc[3];
static const pgtype_desc *stream_types[3] = {&stream_desc[0], &stream_desc[1], &stream_desc[2]};

static int stream_setup(void **state)
{
	(void)state;
	stream_cols[0] = col(FT_INT64);
	stream_cols[0].name = "id";
	stream_cols[1] = col(FT_STRING);
	stream_cols[1].name = "v";
	stream_cols[2] = dec(10, 2);
	stream_cols[2].name = "amount";
	stream_desc[0] = pg(PGT_INT8);
	stream_desc[1] = pg(PGT_TEXT);
	stream_desc[2] = pg(PGT_NUMERIC);
	return 0;
}

static void header(buf *b, uint32_t flags, uint32_t ext)
{
	buf_append(b, "PGCOPY\n\377\r\n\0", 11);
	be32(b, flags);
	be32(b, ext);
	for (uint32_t i = 0; i < ext; i++)
		buf_put_u8(b, 0x5a);
}

/* A tuple (id, v, amount); v NULL when NULL, amount as numeric text or NULL. */
static void tuple(buf *b, int64_t id, const char *v, const char *amount)
{
	be16(b, 3);
	be32(b, 8);
	be64(b, (uint64_t)id);
	if (v)
		elem_text(b, v);
	else
		elem_null(b);
	if (amount) {
		buf e = {0};
		numeric_bin(&e, amount);
		be32(b, (uint32_t)e.len);
		buf_append(b, e.data, e.len);
		buf_release(&e);
	} else {
		elem_null(b);
	}
}

static void trailer(buf *b)
{
	be16(b, 0xffff);
}

/* The stream the server would send for three rows. */
static void good_stream(buf *b)
{
	header(b, 0, 0);
	tuple(b, 1, "one", "1.50");
	tuple(b, -2, NULL, NULL);
	tuple(b, 3, "", "-99999999.99");
	trailer(b);
}

static void check_rows(const batch *x)
{
	assert_int_equal(x->nrows, 3);
	int64_t id[3];
	memcpy(id, x->cols[0].values.data, sizeof id);
	assert_int_equal(id[0], 1);
	assert_int_equal(id[1], -2);
	assert_int_equal(id[2], 3);
	assert_memory_equal(x->cols[1].valid.data, "\1\0\1", 3);
	assert_int_equal(x->cols[1].bytes.len, 3);
	assert_memory_equal(x->cols[1].bytes.data, "one", 3);
	assert_memory_equal(x->cols[2].valid.data, "\1\0\1", 3);
	int64_t a[3];
	memcpy(a, x->cols[2].values.data, sizeof a);
	assert_int_equal(a[0], 150);
	assert_int_equal(a[1], 0);
	assert_int_equal(a[2], -9999999999LL);
}

/* Feeds s in chunks cut at `cuts` (ascending offsets, ncuts of them). */
static int feed_cut(pgbin_reader *r, batch *x, const buf *s, const size_t *cuts, int ncuts,
                    char *err)
{
	size_t from = 0;
	for (int i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : s->len;
		int rc = pgbin_reader_feed(r, x, s->data + from, to - from, err);
		if (rc)
			return rc;
		from = to;
	}
	return pgbin_reader_finish(r, err);
}

static void test_stream_splits(void **state)
{
	(void)state;
	buf s = {0};
	good_stream(&s);
	char err[ERR_LEN] = "";
	/* whole, then cut once at every offset, then cut at every byte */
	for (size_t cut = 0; cut <= s.len; cut++) {
		batch x;
		pgbin_reader r;
		assert_int_equal(batch_init(&x, &stream_schema), 0);
		pgbin_reader_init(&r, &stream_schema, stream_types, "public.t");
		if (feed_cut(&r, &x, &s, &cut, 1, err))
			fail_msg("cut at %zu: %s", cut, err);
		check_rows(&x);
		pgbin_reader_clear(&r);
		batch_clear(&x);
	}
	size_t *cuts = malloc(s.len * sizeof *cuts);
	for (size_t i = 0; i < s.len; i++)
		cuts[i] = i + 1;
	batch x;
	pgbin_reader r;
	assert_int_equal(batch_init(&x, &stream_schema), 0);
	pgbin_reader_init(&r, &stream_schema, stream_types, "public.t");
	assert_int_equal(feed_cut(&r, &x, &s, cuts, (int)s.len - 1, err), 0);
	check_rows(&x);
	pgbin_reader_clear(&r);
	batch_clear(&x);
	free(cuts);
	/* a header extension is skipped; an empty table is header + trailer */
	buf_reset(&s);
	header(&s, 0x0000ffffu, 5); /* ignorable flag bits */
	trailer(&s);
	assert_int_equal(batch_init(&x, &stream_schema), 0);
	pgbin_reader_init(&r, &stream_schema, stream_types, "public.t");
	assert_int_equal(feed_cut(&r, &x, &s, NULL, 0, err), 0);
	assert_int_equal(x.nrows, 0);
	pgbin_reader_clear(&r);
	batch_clear(&x);
	buf_release(&s);
}

/* Every proper prefix of the stream ends in a clean error: the rows that
 * were complete are in the batch, the rest is not. */
static void test_stream_truncated(void **state)
{
	(void)state;
	buf s = {0};
	good_stream(&s);
	for (size_t len = 0; len < s.len; len++) {
		batch x;
		pgbin_reader r;
		char err[ERR_LEN] = "";
		assert_int_equal(batch_init(&x, &stream_schema), 0);
		pgbin_reader_init(&r, &stream_schema, stream_types, "public.t");
		assert_int_equal(pgbin_reader_feed(&r, &x, s.data, len, err), 0);
		assert_int_equal(pgbin_reader_finish(&r, err), FLOE_ECORRUPT);
		assert_contains(err, "public.t: binary COPY data ended ");
		assert_true(x.nrows <= 3);
		for (int c = 0; c < 3; c++)
			assert_int_equal(x.cols[c].valid.len, x.nrows);
		pgbin_reader_clear(&r);
		batch_clear(&x);
	}
	buf_release(&s);
}

/* s is refused by the reader with `why`; rows before the bad part stay. */
static void stream_bad(const buf *s, size_t rows_before, const char *why)
{
	batch x;
	pgbin_reader r;
	char err[ERR_LEN] = "";
	assert_int_equal(batch_init(&x, &stream_schema), 0);
	pgbin_reader_init(&r, &stream_schema, stream_types, "public.t");
	int rc = pgbin_reader_feed(&r, &x, s->data, s->len, err);
	if (rc == 0)
		rc = pgbin_reader_finish(&r, err);
	assert_true(rc == FLOE_ECORRUPT || rc == FLOE_EINVAL);
	assert_contains(err, why);
	assert_int_equal(x.nrows, rows_before);
	for (int c = 0; c < 3; c++)
		assert_int_equal(x.cols[c].valid.len, rows_before);
	pgbin_reader_clear(&r);
	batch_clear(&x);
}

static void test_stream_bad(void **state)
{
	(void)state;
	buf s = {0};
	buf_append(&s, "PGCOPY\n\377\r\n\1", 11);
	stream_bad(&s, 0, "public.t: binary COPY data without the PGCOPY signature");
	buf_reset(&s);
	buf_append(&s, "1\t2\n", 4); /* text COPY where binary was expected */
	stream_bad(&s, 0, "without the PGCOPY signature");
	buf_reset(&s);
	header(&s, 1u << 16, 0);
	stream_bad(&s, 0, "binary COPY header flags 0x00010000 are not supported");
	buf_reset(&s);
	header(&s, 1u << 31, 0);
	stream_bad(&s, 0, "flags 0x80000000");
	/* a tuple with two fields for three columns */
	buf_reset(&s);
	header(&s, 0, 0);
	tuple(&s, 1, "a", "1");
	be16(&s, 2), be32(&s, 8), be64(&s, 1), elem_null(&s);
	stream_bad(&s, 1, "public.t: binary COPY tuple has 2 fields, expected 3");
	/* a negative field length other than -1 */
	buf_reset(&s);
	header(&s, 0, 0);
	be16(&s, 3), be32(&s, (uint32_t)-2);
	stream_bad(&s, 0, "binary COPY field of length -2");
	/* bytes after the trailer */
	buf_reset(&s);
	good_stream(&s);
	buf_put_u8(&s, 0);
	stream_bad(&s, 3, "binary COPY data after the trailer");
	/* a value the column cannot take stops the stream with the text
	 * path's message; the rows before it stay */
	buf_reset(&s);
	header(&s, 0, 0);
	tuple(&s, 1, "a", "1");
	tuple(&s, 2, "b", "NaN");
	trailer(&s);
	stream_bad(&s, 1, "column 'amount': 'NaN' is not a valid decimal(10,2)");
	/* a malformed value in the middle of a tuple */
	buf_reset(&s);
	header(&s, 0, 0);
	be16(&s, 3), be32(&s, 4), be32(&s, 1), elem_null(&s), elem_null(&s);
	trailer(&s);
	stream_bad(&s, 0, "column 'id': malformed binary int8 value (4 bytes, expected 8)");
	buf_release(&s);
}

/* The split the initial copy uses: a reader thread frames the stream into
 * whole tuples (pgbin_reader_frame), a decoder turns them into rows
 * (pgbin_decode_tuples) a row limit at a time. Same rows as feed, for every
 * way of cutting the stream; framing refuses what feed refuses; decoding
 * refuses bytes that do not end on a tuple. */
static void test_stream_frame_decode(void **state)
{
	(void)state;
	buf s = {0};
	good_stream(&s);
	char err[ERR_LEN] = "";
	for (size_t cut = 0; cut <= s.len; cut++) {
		pgbin_reader r;
		buf framed = {0};
		pgbin_reader_init(&r, &stream_schema, stream_types, "public.t");
		assert_int_equal(pgbin_reader_frame(&r, &framed, s.data, cut, err), 0);
		assert_int_equal(pgbin_reader_frame(&r, &framed, s.data + cut, s.len - cut, err),
		                 0);
		assert_int_equal(pgbin_reader_finish(&r, err), 0);
		/* one row at a time into three batches, then all into one */
		batch x;
		assert_int_equal(batch_init(&x, &stream_schema), 0);
		size_t off = 0, used;
		for (size_t lim = 1; lim <= 3; lim++) {
			assert_int_equal(pgbin_decode_tuples(&r, &x, framed.data + off,
			                                     framed.len - off, lim, &used, err),
			                 0);
			assert_int_equal(x.nrows, lim);
			off += used;
		}
		assert_int_equal(off, framed.len);
		check_rows(&x);
		batch_reset(&x);
		assert_int_equal(
		    pgbin_decode_tuples(&r, &x, framed.data, framed.len, 100, &used, err), 0);
		assert_int_equal(used, framed.len);
		check_rows(&x);
		/* a cut inside a tuple is refused */
		batch_reset(&x);
		assert_int_equal(
		    pgbin_decode_tuples(&r, &x, framed.data, framed.len - 1, 100, &used, err),
		    FLOE_ECORRUPT);
		assert_contains(err, "public.t: binary COPY tuples cut off");
		assert_int_equal(x.nrows, 2);
		batch_clear(&x);
		buf_release(&framed);
		pgbin_reader_clear(&r);
	}
	/* framing checks the structure: a wrong field count */
	buf_reset(&s);
	header(&s, 0, 0);
	be16(&s, 2);
	pgbin_reader r;
	buf framed = {0};
	pgbin_reader_init(&r, &stream_schema, stream_types, "public.t");
	assert_int_equal(pgbin_reader_frame(&r, &framed, s.data, s.len, err), FLOE_ECORRUPT);
	assert_contains(err, "tuple has 2 fields, expected 3");
	assert_int_equal(framed.len, 0);
	pgbin_reader_clear(&r);
	buf_release(&framed);
	buf_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bool_ints),
	    cmocka_unit_test(test_floats),
	    cmocka_unit_test(test_numeric_decimal),
	    cmocka_unit_test(test_numeric_string),
	    cmocka_unit_test(test_text_like),
	    cmocka_unit_test(test_dates_times),
	    cmocka_unit_test(test_arrays),
	    cmocka_unit_test(test_supported),
	    cmocka_unit_test_setup(test_stream_splits, stream_setup),
	    cmocka_unit_test_setup(test_stream_truncated, stream_setup),
	    cmocka_unit_test_setup(test_stream_bad, stream_setup),
	    cmocka_unit_test_setup(test_stream_frame_decode, stream_setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
