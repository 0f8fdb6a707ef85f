/*
 * test_value — the exact text parsers and formatters of src/table/value.c:
 * valid values, every boundary (0001-01-01, 9999-12-31, leap days, the
 * timestamp range, decimals at precision 38 of both signs) and the invalid
 * forms each parser must reject, with the message it gives.
 * Oracles are independent of the code under test: dates against a day count
 * summed year by year, base64 against a straightforward encoder here. Also
 * the time-of-day parser (24:00:00 included) and value_civil_to_days for
 * astronomical (BC) and far-future years.
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
#include "table/value.h"

#define S(lit) lit, sizeof(lit) - 1

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("'%s' does not contain '%s'", hay, needle);
}

/* ---- dates ------------------------------------------------------------- */

static int32_t date_ok(const char *s)
{
	int32_t d = 0;
	char err[ERR_LEN] = "";
	if (value_parse_date(s, strlen(s), &d, err))
		fail_msg("'%s' rejected: %s", s, err);
	return d;
}

static void date_bad(const char *s, const char *why)
{
	int32_t d = 12345;
	char err[ERR_LEN] = "";
	assert_int_equal(value_parse_date(s, strlen(s), &d, err), FLOE_EINVAL);
	assert_int_equal(d, 12345);
	assert_contains(err, why);
}

static void test_date_valid(void **state)
{
	(void)state;
	assert_int_equal(date_ok("1970-01-01"), 0);
	assert_int_equal(date_ok("1970-01-02"), 1);
	assert_int_equal(date_ok("1969-12-31"), -1);
	assert_int_equal(date_ok("0001-01-01"), -719162);
	assert_int_equal(date_ok("9999-12-31"), 2932896);
	assert_int_equal(date_ok("2000-01-01"), 10957);
	assert_int_equal(date_ok("2024-02-29"), 19782);
	assert_int_equal(date_ok("2000-02-29"), 11016); /* divisible by 400: leap */
	assert_int_equal(date_ok("2024-12-31"), 20088);
}

static void test_date_invalid(void **state)
{
	(void)state;
	date_bad("2023-02-29", "day 29 is out of range for 2023-02");
	date_bad("1900-02-29", "day 29 is out of range for 1900-02"); /* by 100: no leap */
	date_bad("2024-02-30", "day 30 is out of range");
	date_bad("2024-04-31", "day 31 is out of range");
	date_bad("2024-01-00", "day 00 is out of range");
	date_bad("2024-13-01", "month 13 is out of range");
	date_bad("2024-00-01", "month 00 is out of range");
	date_bad("0000-01-01", "year 0000 is out of range");
	date_bad("2024-1-01", "expected YYYY-MM-DD");
	date_bad("2024/01/01", "expected YYYY-MM-DD");
	date_bad("2024-01-01T00:00", "expected YYYY-MM-DD");
	date_bad("2024-01-01 ", "expected YYYY-MM-DD");
	date_bad(" 2024-01-01", "expected YYYY-MM-DD");
	date_bad("+2024-01-01", "expected YYYY-MM-DD");
	date_bad("10000-01-01", "expected YYYY-MM-DD");
	date_bad("", "expected YYYY-MM-DD");
	date_bad("abcd-ef-gh", "expected YYYY-MM-DD");
	char err[ERR_LEN];
	int32_t d;
	assert_int_equal(value_parse_date(S("2023-02-29"), &d, err), FLOE_EINVAL);
	assert_string_equal(err, "'2023-02-29' is not a valid date (day 29 is out of range for "
	                         "2023-02)");
	/* The parser reads only n bytes: a valid prefix of a longer buffer. */
	assert_int_equal(value_parse_date("2024-02-29XYZ", 10, &d, NULL), 0);
	assert_int_equal(d, 19782);
}

/* Every year's January 1st against a count summed year by year, and every
 * 13th day round-tripped through the formatter. */
static void test_date_oracle_and_round_trip(void **state)
{
	(void)state;
	int64_t jan1 = -719162; /* 0001-01-01 */
	for (int y = 1; y <= 9999; y++) {
		char s[24];
		int32_t d;
		snprintf(s, sizeof s, "%04d-01-01", y);
		assert_int_equal(value_parse_date(s, 10, &d, NULL), 0);
		assert_int_equal(d, jan1);
		int leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
		snprintf(s, sizeof s, "%04d-02-29", y);
		assert_int_equal(value_parse_date(s, 10, &d, NULL), leap ? 0 : FLOE_EINVAL);
		if (leap)
			assert_int_equal(d, jan1 + 59);
		jan1 += leap ? 366 : 365;
	}
	for (int32_t d = -719162; d <= 2932896; d += 13) {
		char s[16];
		int32_t back;
		assert_int_equal(value_format_date(d, s, sizeof s), 10);
		assert_int_equal(value_parse_date(s, 10, &back, NULL), 0);
		assert_int_equal(back, d);
	}
	char s[16];
	assert_int_equal(value_format_date(2932896, s, sizeof s), 10);
	assert_string_equal(s, "9999-12-31");
	assert_int_equal(value_format_date(-719162, s, sizeof s), 10);
	assert_string_equal(s, "0001-01-01");
	assert_int_equal(value_format_date(0, s, 10), FLOE_ETOOBIG);
	assert_string_equal(s, "");
}

/* ---- timestamps -------------------------------------------------------- */

static int64_t ts_ok(const char *s)
{
	int64_t t = 0;
	char err[ERR_LEN] = "";
	if (value_parse_timestamp(s, strlen(s), &t, err))
		fail_msg("'%s' rejected: %s", s, err);
	return t;
}

static void ts_bad(const char *s, const char *why)
{
	int64_t t = 777;
	char err[ERR_LEN] = "";
	assert_int_equal(value_parse_timestamp(s, strlen(s), &t, err), FLOE_EINVAL);
	assert_int_equal(t, 777);
	assert_contains(err, why);
}

#define H 3600000000LL
#define M 60000000LL

static void test_timestamp_valid(void **state)
{
	(void)state;
	assert_int_equal(ts_ok("1970-01-01T00:00:00"), 0);
	assert_int_equal(ts_ok("1970-01-01 00:00"), 0);
	assert_int_equal(ts_ok("1970-01-01t00:00:00z"), 0);
	assert_int_equal(ts_ok("1970-01-01T00:00:01"), 1000000);
	assert_int_equal(ts_ok("1970-01-01T00:00:00.1"), 100000);
	assert_int_equal(ts_ok("1970-01-01T00:00:00.000001"), 1);
	assert_int_equal(ts_ok("1970-01-01T00:00:00.123456"), 123456);
	assert_int_equal(ts_ok("1969-12-31T23:59:59.999999"), -1);
	int64_t base = 19782LL * 86400000000LL + 12 * H + 34 * M + 56000000 + 123456;
	assert_int_equal(ts_ok("2024-02-29T12:34:56.123456"), base);
	assert_int_equal(ts_ok("2024-02-29T12:34:56.123456Z"), base);
	assert_int_equal(ts_ok("2024-02-29T12:34:56.123456+00:00"), base);
	assert_int_equal(ts_ok("2024-02-29T12:34:56.123456-00:00"), base);
	assert_int_equal(ts_ok("2024-02-29T12:34:56.123456+02:00"), base - 2 * H);
	assert_int_equal(ts_ok("2024-02-29T12:34:56.123456+02"), base - 2 * H);
	assert_int_equal(ts_ok("2024-02-29T12:34:56.123456-05:30"), base + 5 * H + 30 * M);
	assert_int_equal(ts_ok("2024-02-29T12:34:56.123456+0530"), base - 5 * H - 30 * M);
	assert_int_equal(ts_ok("2024-02-29 12:34+18:00"), base - 56123456 - 18 * H);
	assert_int_equal(ts_ok("2024-02-29T12:34:56-18:00"), base - 123456 + 18 * H);
	/* An offset that moves the instant across midnight and a month end. */
	assert_int_equal(ts_ok("2024-03-01T01:00:00+02:00"), ts_ok("2024-02-29T23:00:00Z"));
	assert_int_equal(ts_ok("0001-01-01T00:00:00"), VALUE_TS_MIN);
	assert_int_equal(ts_ok("0001-01-01T05:00:00+05:00"), VALUE_TS_MIN);
	assert_int_equal(ts_ok("9999-12-31T23:59:59.999999"), VALUE_TS_MAX);
	assert_int_equal(ts_ok("9999-12-31T22:59:59.999999-01:00"), VALUE_TS_MAX);
}

static void test_timestamp_invalid(void **state)
{
	(void)state;
	ts_bad("2024-01-01T12:00:00.1234567", "7 fraction digits; at most 6");
	ts_bad("2024-01-01T12:00:00.1234560", "7 fraction digits");
	ts_bad("2024-01-01T12:00:00.", "no digits after '.'");
	ts_bad("2024-01-01T24:00:00", "hour 24 is out of range");
	ts_bad("2024-01-01T23:60:00", "minute 60 is out of range");
	ts_bad("2024-01-01T23:59:60", "second 60 is out of range");
	ts_bad("2024-01-01T12:00+18:01", "offset is out of range");
	ts_bad("2024-01-01T12:00+19", "offset is out of range");
	ts_bad("2024-01-01T12:00+05:60", "offset is out of range");
	ts_bad("2023-02-29T12:00:00", "day 29 is out of range for 2023-02");
	ts_bad("0001-01-01T00:00:00+00:01", "outside 0001-01-01..9999-12-31");
	ts_bad("9999-12-31T23:59:59.999999-00:01", "outside 0001-01-01..9999-12-31");
	ts_bad("2024-01-01", "expected YYYY-MM-DD[T| ]HH:MM");
	ts_bad("2024-01-01T12", "expected YYYY-MM-DD[T| ]HH:MM");
	ts_bad("2024-01-01T12:0", "expected YYYY-MM-DD[T| ]HH:MM");
	ts_bad("2024-01-01X12:00", "expected YYYY-MM-DD[T| ]HH:MM");
	ts_bad("2024-01-01T12:00:0", "expected YYYY-MM-DD[T| ]HH:MM");
	ts_bad("2024-01-01T12:00.5", "expected YYYY-MM-DD[T| ]HH:MM");
	ts_bad("2024-01-01T12:00:00Zx", "expected YYYY-MM-DD[T| ]HH:MM");
	ts_bad("2024-01-01T12:00:00 Z", "expected YYYY-MM-DD[T| ]HH:MM");
	ts_bad("2024-01-01T12:00:00+5", "expected YYYY-MM-DD[T| ]HH:MM");
	ts_bad("2024-01-01T12:00:00+05:3", "expected YYYY-MM-DD[T| ]HH:MM");
	ts_bad("2024-01-01T12:00:00+05:30:00", "expected YYYY-MM-DD[T| ]HH:MM");
	ts_bad("2024-01-01T12:00:00+053", "expected YYYY-MM-DD[T| ]HH:MM");
	ts_bad("2024-01-01T12:00:00UTC", "expected YYYY-MM-DD[T| ]HH:MM");
	ts_bad("", "expected YYYY-MM-DD");
}

static void test_timestamp_format(void **state)
{
	(void)state;
	char s[40];
	assert_int_equal(value_format_timestamp(0, 0, s, sizeof s), 19);
	assert_string_equal(s, "1970-01-01T00:00:00");
	value_format_timestamp(-1, 1, s, sizeof s);
	assert_string_equal(s, "1969-12-31T23:59:59.999999Z");
	value_format_timestamp(VALUE_TS_MIN, 1, s, sizeof s);
	assert_string_equal(s, "0001-01-01T00:00:00Z");
	value_format_timestamp(VALUE_TS_MAX, 0, s, sizeof s);
	assert_string_equal(s, "9999-12-31T23:59:59.999999");
	value_format_timestamp(ts_ok("2024-02-29T12:34:56.5"), 0, s, sizeof s);
	assert_string_equal(s, "2024-02-29T12:34:56.500000");
	assert_int_equal(value_format_timestamp(0, 1, s, 20), FLOE_ETOOBIG);
	/* Round trip over the whole range with a stride that hits every
	 * fraction digit and time of day. */
	uint64_t x = 88172645463325252ULL;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
		int64_t t =
		    VALUE_TS_MIN + (int64_t)(x % (uint64_t)(VALUE_TS_MAX - VALUE_TS_MIN + 1));
		int64_t back;
		int n = value_format_timestamp(t, i & 1, s, sizeof s);
		assert_true(n > 0);
		assert_int_equal(value_parse_timestamp(s, (size_t)n, &back, NULL), 0);
		assert_int_equal(back, t);
	}
}

/* ---- decimals ---------------------------------------------------------- */

static __int128 dec_ok(const char *s, int p, int sc)
{
	__int128 v = 0;
	char err[ERR_LEN] = "";
	if (value_parse_decimal(s, strlen(s), p, sc, &v, err))
		fail_msg("'%s' as decimal(%d,%d) rejected: %s", s, p, sc, err);
	return v;
}

static void dec_bad(const char *s, int p, int sc, const char *why)
{
	__int128 v = 99;
	char err[ERR_LEN] = "";
	assert_int_equal(value_parse_decimal(s, strlen(s), p, sc, &v, err), FLOE_EINVAL);
	assert_true(v == 99);
	assert_contains(err, why);
}

static __int128 pow10_128(int n)
{
	__int128 v = 1;
	while (n--)
		v *= 10;
	return v;
}

static void assert_dec(__int128 got, __int128 want)
{
	if (got != want) {
		char g[48], w[48];
		value_format_decimal(got, 0, g, sizeof g);
		value_format_decimal(want, 0, w, sizeof w);
		fail_msg("decimal %s != %s", g, w);
	}
}

/* ---- time of day and civil dates ----------------------------------------- */

static int64_t time_ok(const char *s)
{
	int64_t t = 0;
	char err[ERR_LEN] = "";
	if (value_parse_time(s, strlen(s), &t, err))
		fail_msg("'%s' rejected: %s", s, err);
	return t;
}

static void time_bad(const char *s, const char *why)
{
	int64_t t = 12345;
	char err[ERR_LEN] = "";
	assert_int_equal(value_parse_time(s, strlen(s), &t, err), FLOE_EINVAL);
	assert_int_equal(t, 12345);
	assert_contains(err, why);
}

static void test_time(void **state)
{
	(void)state;
	assert_int_equal(time_ok("00:00:00"), 0);
	assert_int_equal(time_ok("00:00:00.000001"), 1);
	assert_int_equal(time_ok("12:34:56.5"), (12 * 3600 + 34 * 60 + 56) * 1000000LL + 500000);
	assert_int_equal(time_ok("23:59:59.999999"), VALUE_TIME_MAX - 1);
	assert_int_equal(time_ok("24:00:00"), VALUE_TIME_MAX);
	assert_int_equal(time_ok("24:00:00.000"), VALUE_TIME_MAX);
	time_bad("24:00:00.000001", "'24:00:00.000001' is not a valid time (after 24:00:00, the "
	                            "end of the day)");
	time_bad("24:01:00", "after 24:00:00");
	time_bad("25:00:00", "hour 25 is out of range 00..24");
	time_bad("12:60:00", "minute 60 is out of range 00..59");
	time_bad("12:00:60", "second 60 is out of range 00..59");
	time_bad("12:00:00.1234567", "7 fraction digits; at most 6 (microseconds)");
	time_bad("12:00:00.", "no digits after '.'");
	time_bad("12:00", "expected HH:MM:SS[.ffffff]");
	time_bad("1:00:00", "expected HH:MM:SS[.ffffff]");
	time_bad("12:00:00Z", "expected HH:MM:SS[.ffffff]");
	time_bad("12:00:00+00", "expected HH:MM:SS[.ffffff]");
	time_bad("", "expected HH:MM:SS[.ffffff]");
	time_bad("T12:00:00", "expected HH:MM:SS[.ffffff]");

	char s[24];
	assert_int_equal(value_format_time(0, s, sizeof s), 8);
	assert_string_equal(s, "00:00:00");
	value_format_time(VALUE_TIME_MAX, s, sizeof s);
	assert_string_equal(s, "24:00:00");
	value_format_time(VALUE_TIME_MAX - 1, s, sizeof s);
	assert_string_equal(s, "23:59:59.999999");
	assert_int_equal(value_format_time(-1, s, sizeof s), FLOE_ETOOBIG);
	assert_int_equal(value_format_time(VALUE_TIME_MAX + 1, s, sizeof s), FLOE_ETOOBIG);
	assert_int_equal(value_format_time(1, s, 15), FLOE_ETOOBIG);
	for (int64_t t = 0; t <= VALUE_TIME_MAX; t += 999999937) {
		int64_t back;
		int n = value_format_time(t, s, sizeof s);
		assert_true(n > 0);
		assert_int_equal(value_parse_time(s, (size_t)n, &back, NULL), 0);
		assert_int_equal(back, t);
	}
}

static void test_civil_to_days(void **state)
{
	(void)state;
	int64_t d = 77;
	assert_int_equal(value_civil_to_days(1970, 1, 1, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(value_civil_to_days(1, 1, 1, &d), 0);
	assert_int_equal(d, -719162);
	/* astronomical years: 0 is 1 BC (leap), -43 is 44 BC */
	assert_int_equal(value_civil_to_days(0, 2, 29, &d), 0);
	assert_int_equal(d, -719469);
	assert_int_equal(value_civil_to_days(-43, 3, 15, &d), 0);
	assert_int_equal(d, -735160);
	assert_int_equal(value_civil_to_days(-4713, 11, 24, &d), 0); /* Julian day 0 */
	assert_int_equal(d, -2440588);
	assert_int_equal(value_civil_to_days(5874897, 12, 31, &d), 0);
	assert_int_equal(d, 2145042905);
	d = 77;
	assert_int_equal(value_civil_to_days(-1, 2, 29, &d), -1); /* 2 BC */
	assert_int_equal(value_civil_to_days(1900, 2, 29, &d), -1);
	assert_int_equal(value_civil_to_days(2023, 4, 31, &d), -1);
	assert_int_equal(value_civil_to_days(2023, 0, 1, &d), -1);
	assert_int_equal(value_civil_to_days(2023, 13, 1, &d), -1);
	assert_int_equal(value_civil_to_days(2023, 1, 0, &d), -1);
	assert_int_equal(value_civil_to_days(100000001, 1, 1, &d), -1);
	assert_int_equal(value_civil_to_days(-100000001, 1, 1, &d), -1);
	assert_int_equal(d, 77);
}

static void test_decimal_valid(void **state)
{
	(void)state;
	assert_dec(dec_ok("12.34", 10, 2), 1234);
	assert_dec(dec_ok("-12.340", 10, 3), -12340);
	assert_dec(dec_ok("+5", 10, 2), 500);
	assert_dec(dec_ok(".5", 10, 2), 50);
	assert_dec(dec_ok("-.5", 10, 2), -50);
	assert_dec(dec_ok("5.", 10, 2), 500);
	assert_dec(dec_ok("007.50", 10, 2), 750);
	assert_dec(dec_ok("1.50", 10, 2), 150);
	assert_dec(dec_ok("1.500000", 10, 2), 150); /* zeros beyond the scale are exact */
	assert_dec(dec_ok("0", 1, 0), 0);
	assert_dec(dec_ok("-0.00", 5, 2), 0);
	assert_dec(dec_ok("000000000000000000000000000000000000000000001", 1, 0), 1);
	assert_dec(dec_ok("9", 1, 0), 9);
	assert_dec(dec_ok("999.99", 5, 2), 99999);
	assert_dec(dec_ok("-999.99", 5, 2), -99999);
	__int128 max38 = pow10_128(38) - 1;
	assert_dec(dec_ok("99999999999999999999999999999999999999", 38, 0), max38);
	assert_dec(dec_ok("-99999999999999999999999999999999999999", 38, 0), -max38);
	assert_dec(dec_ok("0.99999999999999999999999999999999999999", 38, 38), max38);
	assert_dec(dec_ok("-.99999999999999999999999999999999999999", 38, 38), -max38);
	assert_dec(dec_ok("9999999999999999999999999999.9999999999", 38, 10), max38);
	assert_dec(dec_ok("-9999999999999999999999999999.9999999999", 38, 10), -max38);
	assert_dec(dec_ok("1", 38, 10), pow10_128(10));
	assert_dec(dec_ok("0.00000000000000000000000000000000000001", 38, 38), 1);
}

static void test_decimal_invalid(void **state)
{
	(void)state;
	dec_bad("100000000000000000000000000000000000000", 38, 0,
	        "is out of range for decimal(38,0)");
	dec_bad("-100000000000000000000000000000000000000", 38, 0, "out of range");
	dec_bad("1.0", 38, 38, "out of range for decimal(38,38)");
	dec_bad("10000000000000000000000000000", 38, 10, "out of range");
	dec_bad("1000", 5, 2, "'1000' is out of range for decimal(5,2)");
	dec_bad("1.505", 10, 2, "more than 2 fraction digits");
	dec_bad("0.001", 10, 2, "more than 2 fraction digits");
	dec_bad("1.5", 10, 0, "more than 0 fraction digits");
	dec_bad("1e3", 10, 2, "exponent notation is not accepted");
	dec_bad("1.5E-1", 10, 2, "exponent notation is not accepted");
	dec_bad("", 10, 2, "no digits");
	dec_bad("-", 10, 2, "no digits");
	dec_bad(".", 10, 2, "no digits");
	dec_bad("+.", 10, 2, "no digits");
	dec_bad("1.2.3", 10, 2, "unexpected character");
	dec_bad(" 1", 10, 2, "no digits");
	dec_bad("1 ", 10, 2, "unexpected character");
	dec_bad("0x1", 10, 2, "unexpected character");
	dec_bad("--1", 10, 2, "no digits");
	dec_bad("+-1", 10, 2, "no digits");
	dec_bad("1,5", 10, 2, "unexpected character");
	dec_bad("NaN", 10, 2, "no digits");
	dec_bad("Infinity", 10, 2, "no digits");
	dec_bad("1", 0, 0, "decimal(0,0) is not a valid decimal type");
	dec_bad("1", 39, 0, "decimal(39,0) is not a valid decimal type");
	dec_bad("1", 5, 6, "decimal(5,6) is not a valid decimal type");
	dec_bad("1", 5, -1, "not a valid decimal type");
}

static void test_decimal_format_and_be(void **state)
{
	(void)state;
	char s[48];
	assert_int_equal(value_format_decimal(1234, 2, s, sizeof s), 5);
	assert_string_equal(s, "12.34");
	value_format_decimal(-5, 2, s, sizeof s);
	assert_string_equal(s, "-0.05");
	value_format_decimal(0, 0, s, sizeof s);
	assert_string_equal(s, "0");
	value_format_decimal(0, 3, s, sizeof s);
	assert_string_equal(s, "0.000");
	value_format_decimal(-12340, 3, s, sizeof s);
	assert_string_equal(s, "-12.340");
	__int128 max38 = pow10_128(38) - 1;
	value_format_decimal(max38, 0, s, sizeof s);
	assert_string_equal(s, "99999999999999999999999999999999999999");
	value_format_decimal(-max38, 38, s, sizeof s);
	assert_string_equal(s, "-0.99999999999999999999999999999999999999");
	assert_int_equal(value_format_decimal(-max38, 38, s, 41), FLOE_ETOOBIG);
	assert_int_equal(value_format_decimal(-max38, 38, s, 42), 41);

	uint8_t be[16];
	value_decimal_to_be(1, be, 4);
	assert_memory_equal(be, "\x00\x00\x00\x01", 4);
	value_decimal_to_be(-1, be, 9);
	assert_memory_equal(be, "\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9);
	value_decimal_to_be(256, be, 2);
	assert_memory_equal(be, "\x01\x00", 2);
	value_decimal_to_be(-256, be, 2);
	assert_memory_equal(be, "\xff\x00", 2);
	/* 10^38 - 1 = 0x4B3B4CA85A86C47A098A223FFFFFFFFF */
	value_decimal_to_be(max38, be, 16);
	assert_memory_equal(be, "\x4b\x3b\x4c\xa8\x5a\x86\xc4\x7a\x09\x8a\x22\x3f\xff\xff\xff\xff",
	                    16);
	value_decimal_to_be(-max38, be, 16);
	assert_memory_equal(be, "\xb4\xc4\xb3\x57\xa5\x79\x3b\x85\xf6\x75\xdd\xc0\x00\x00\x00\x01",
	                    16);
	/* Text -> unscaled -> text for values around the precision limits. */
	for (int p = 1; p <= 38; p++) {
		for (int sc = 0; sc <= p; sc += (p > 4 ? p / 4 : 1)) {
			__int128 lim = pow10_128(p) - 1;
			__int128 vals[] = {lim, -lim, 1, -1, 0, lim / 7, -(lim / 3)};
			for (size_t k = 0; k < sizeof vals / sizeof vals[0]; k++) {
				__int128 back;
				int n = value_format_decimal(vals[k], sc, s, sizeof s);
				assert_true(n > 0);
				assert_int_equal(
				    value_parse_decimal(s, (size_t)n, p, sc, &back, NULL), 0);
				assert_dec(back, vals[k]);
			}
		}
	}
}

/* ---- uuid, base64, utf-8, quoting ---------------------------------------- */

static void test_uuid(void **state)
{
	(void)state;
	uint8_t u[16];
	char err[ERR_LEN];
	static const uint8_t want[16] = {0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3,
	                                 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x00};
	assert_int_equal(value_parse_uuid(S("123e4567-e89b-12d3-a456-426614174000"), u, err), 0);
	assert_memory_equal(u, want, 16);
	assert_int_equal(value_parse_uuid(S("123E4567-E89B-12D3-A456-426614174000"), u, err), 0);
	assert_memory_equal(u, want, 16);
	assert_int_equal(value_parse_uuid(S("00000000-0000-0000-0000-000000000000"), u, err), 0);
	assert_int_equal(value_parse_uuid(S("ffffffff-ffff-ffff-ffff-ffffffffffff"), u, err), 0);
	assert_memory_equal(u, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
	                    16);
	assert_int_equal(value_parse_uuid(S("123e4567e89b12d3a456426614174000"), u, err),
	                 FLOE_EINVAL);
	assert_contains(err, "expected 8-4-4-4-12 hex digits");
	assert_int_equal(value_parse_uuid(S("{123e4567-e89b-12d3-a456-426614174000}"), u, err),
	                 FLOE_EINVAL);
	assert_int_equal(value_parse_uuid(S("123e4567-e89b-12d3-a456-42661417400g"), u, err),
	                 FLOE_EINVAL);
	assert_contains(err, "not a hex digit at offset 35");
	assert_int_equal(value_parse_uuid(S("123e4567-e89b-12d3-a456_426614174000"), u, err),
	                 FLOE_EINVAL);
	assert_contains(err, "expected '-' at offset 23");
	assert_int_equal(value_parse_uuid(S("123e456-7e89b-12d3-a456-426614174000"), u, err),
	                 FLOE_EINVAL);
	assert_int_equal(value_parse_uuid(S(""), u, err), FLOE_EINVAL);
}

static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[v >> 12 & 63];
		out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? a[v & 63] : '=';
	}
	return o;
}

static void b64_bad(const char *s, const char *why)
{
	uint8_t out[64];
	size_t n;
	char err[ERR_LEN] = "";
	assert_int_equal(value_base64_decode(s, strlen(s), out, &n, err), FLOE_EINVAL);
	assert_contains(err, why);
}

static void test_base64(void **state)
{
	(void)state;
	uint8_t out[400], in[300];
	char enc[420];
	size_t n = 99;
	assert_int_equal(value_base64_decode(S(""), out, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(value_base64_decode(S("Zg=="), out, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(out, "f", 1);
	assert_int_equal(value_base64_decode(S("Zm8="), out, &n, NULL), 0);
	assert_memory_equal(out, "fo", n);
	assert_int_equal(value_base64_decode(S("Zm9vYmFy"), out, &n, NULL), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "foobar", 6);
	for (int i = 0; i < 300; i++)
		in[i] = (uint8_t)(i * 7 + 3);
	for (size_t len = 0; len <= 300; len++) {
		size_t el = b64_encode(in, len, enc);
		assert_int_equal(value_base64_decode(enc, el, out, &n, NULL), 0);
		assert_int_equal(n, len);
		assert_memory_equal(out, in, len);
	}
	b64_bad("Zg=", "length 3 is not a multiple of 4");
	b64_bad("Zm9vY", "not a multiple of 4");
	b64_bad("Zg=a", "unexpected character at offset 2");
	b64_bad("Z===", "unexpected character at offset 1");
	b64_bad("====", "unexpected character at offset 0");
	b64_bad("=Zm9", "unexpected character at offset 0");
	b64_bad("Zg==Zg==", "unexpected character at offset 2");
	b64_bad("Zh==", "non-zero bits before the padding");
	b64_bad("Zm9=", "non-zero bits before the padding");
	b64_bad("Zm 9", "unexpected character at offset 2");
	b64_bad("Zm9v\n", "not a multiple of 4");
	b64_bad("Zm-v", "unexpected character at offset 2"); /* base64url is not accepted */
	b64_bad("Zm_v", "unexpected character at offset 2");
}

static void test_utf8_and_quote(void **state)
{
	(void)state;
#define U(lit) (const uint8_t *)lit, sizeof(lit) - 1
	assert_int_equal(value_utf8_seq_len(U("a")), 1);
	assert_int_equal(value_utf8_seq_len(U("\xc3\xa9")), 2);
	assert_int_equal(value_utf8_seq_len(U("\xe2\x82\xac")), 3);
	assert_int_equal(value_utf8_seq_len(U("\xf0\x9f\x98\x80")), 4);
	assert_int_equal(value_utf8_seq_len(U("\xf4\x8f\xbf\xbf")), 4); /* U+10FFFF */
	assert_int_equal(value_utf8_seq_len(U("\xed\x9f\xbf")), 3);     /* U+D7FF */
	assert_int_equal(value_utf8_seq_len(U("\xee\x80\x80")), 3);     /* U+E000 */
	assert_int_equal(value_utf8_seq_len(U("\x80")), 0);             /* lone continuation */
	assert_int_equal(value_utf8_seq_len(U("\xc0\x80")), 0);         /* overlong NUL */
	assert_int_equal(value_utf8_seq_len(U("\xc1\xbf")), 0);         /* overlong */
	assert_int_equal(value_utf8_seq_len(U("\xe0\x9f\xbf")), 0);     /* overlong */
	assert_int_equal(value_utf8_seq_len(U("\xf0\x8f\xbf\xbf")), 0); /* overlong */
	assert_int_equal(value_utf8_seq_len(U("\xed\xa0\x80")), 0);     /* surrogate D800 */
	assert_int_equal(value_utf8_seq_len(U("\xed\xbf\xbf")), 0);     /* surrogate DFFF */
	assert_int_equal(value_utf8_seq_len(U("\xf4\x90\x80\x80")), 0); /* > U+10FFFF */
	assert_int_equal(value_utf8_seq_len(U("\xf5\x80\x80\x80")), 0);
	assert_int_equal(value_utf8_seq_len(U("\xff")), 0);
	assert_int_equal(value_utf8_seq_len(U("\xc3")), 0); /* truncated */
	assert_int_equal(value_utf8_seq_len(U("\xe2\x82")), 0);
	assert_int_equal(value_utf8_seq_len(U("\xf0\x9f\x98")), 0);
	assert_int_equal(value_utf8_seq_len(U("\xc3\x28")), 0); /* bad continuation */
	assert_int_equal(value_utf8_seq_len(U("")), 0);
#undef U
	char q[VALUE_QUOTE_LEN];
	value_quote(S("abc"), q);
	assert_string_equal(q, "'abc'");
	value_quote(S("a\nb\x7f\xff\xc3\xa9"), q);
	assert_string_equal(q, "'a\\x0Ab\\x7F\\xFF\xc3\xa9'");
	value_quote(S("0123456789012345678901234567890123456789012345678901234567890"), q);
	assert_string_equal(q, "'012345678901234567890123456789012345678901234567...'");
	/* A multi-byte character that does not fit whole is cut before it. */
	value_quote(S("01234567890123456789012345678901234567890123456\xe2\x82\xac"), q);
	assert_string_equal(q, "'01234567890123456789012345678901234567890123456...'");
	char worst[64];
	memset(worst, 1, sizeof worst);
	value_quote(worst, sizeof worst, q);
	assert_int_equal(strlen(q), 1 + 48 * 4 + 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_date_valid),
	    cmocka_unit_test(test_date_invalid),
	    cmocka_unit_test(test_date_oracle_and_round_trip),
	    cmocka_unit_test(test_timestamp_valid),
	    cmocka_unit_test(test_timestamp_invalid),
	    cmocka_unit_test(test_timestamp_format),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_civil_to_days),
	    cmocka_unit_test(test_decimal_valid),
	    cmocka_unit_test(test_decimal_invalid),
	    cmocka_unit_test(test_decimal_format_and_be),
	    cmocka_unit_test(test_uuid),
	    cmocka_unit_test(test_base64),
	    cmocka_unit_test(test_utf8_and_quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
