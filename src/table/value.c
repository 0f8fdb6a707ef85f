/*
 * value — exact text <-> typed value conversions (contract in value.h).
 *
 * Invariants:
 *   1. No parser uses floating point or the C locale; every parser consumes
 *      exactly n bytes or fails, so trailing garbage is always an error.
 *   2. Calendar arithmetic is proleptic Gregorian through Howard Hinnant's
 *      days_from_civil / civil_from_days: closed forms, no loops, exact for
 *      every int64 day count we can meet.
 *   3. Decimals are accumulated in __int128 only after the digit count has
 *      been checked against the precision (<= 38 digits < 2^127), so the
 *      accumulation cannot overflow.
 * Errors: FLOE_EINVAL with "<quoted input> is not a valid <kind> (<reason>)"
 * or "<quoted input> is out of range for <type>" in err.
 */
#include "table/value.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"

#define QUOTE_MAX_INPUT 48 /* input bytes shown in a message before "..." */

/* ---- messages ---------------------------------------------------------- */

size_t value_utf8_seq_len(const uint8_t *p, size_t n)
{
	if (n == 0)
		return 0;
	uint8_t c0 = p[0];
	if (c0 < 0x80)
		return 1;
	/* 0x80..0xC1: a continuation byte or an overlong 2-byte lead. */
	if (c0 < 0xC2)
		return 0;
	if (c0 < 0xE0)
		return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	/* The second byte's range excludes overlongs (E0, F0), UTF-16
	 * surrogates (ED A0..BF) and code points above U+10FFFF (F4 90..). */
	uint8_t lo = 0x80, hi = 0xBF;
	if (c0 < 0xF0) {
		if (c0 == 0xE0)
			lo = 0xA0;
		else if (c0 == 0xED)
			hi = 0x9F;
		if (n < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80)
			return 0;
		return 3;
	}
	if (c0 < 0xF5) {
		if (c0 == 0xF0)
			lo = 0x90;
		else if (c0 == 0xF4)
			hi = 0x8F;
		if (n < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 ||
		    (p[3] & 0xC0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

void value_quote(const char *s, size_t n, char out[VALUE_QUOTE_LEN])
{
	static const char hex[] = "0123456789ABCDEF";
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, o = 0;
	out[o++] = '\'';
	/* Worst case per input byte is 4 output bytes ("\xNN"): 1 + 48 * 4 +
	 * 4 ("'...") + NUL stays below VALUE_QUOTE_LEN. */
	while (i < n && i < QUOTE_MAX_INPUT) {
		size_t l = value_utf8_seq_len(p + i, n - i);
		if (l == 1 && p[i] >= 0x20 && p[i] != 0x7F) {
			out[o++] = (char)p[i++];
		} else if (l > 1 && i + l <= QUOTE_MAX_INPUT) {
			memcpy(out + o, p + i, l);
			o += l;
			i += l;
		} else if (l > 1) {
			break; /* a character that does not fit whole is cut */
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[p[i] >> 4];
			out[o++] = hex[p[i] & 15];
			i++;
		}
	}
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '\'';
	out[o] = '\0';
}

/* "'<input>' is not a valid <kind> (<reason>)" -> err; returns FLOE_EINVAL. */
__attribute__((format(printf, 5, 6))) static int bad(char *err, const char *s, size_t n,
                                                     const char *kind, const char *fmt, ...)
{
	if (!err)
		return FLOE_EINVAL;
	char q[VALUE_QUOTE_LEN], reason[ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	value_quote(s, n, q);
	return errf(err, FLOE_EINVAL, "%s is not a valid %s (%s)", q, kind, reason);
}

/* ---- calendar ---------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
	static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return mdays[m - 1];
}

int value_civil_to_days(int64_t y, int m, int d, int64_t *days)
{
	if (y < -100000000 || y > 100000000 || m < 1 || m > 12 || d < 1 ||
	    (unsigned)d > days_in_month(y, (unsigned)m))
		return -1;
	*days = days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

/* ndig ASCII digits at s -> *v; 0, or -1 when one is not a digit. */
static int fixed_digits(const char *s, int ndig, int *v)
{
	int x = 0;
	for (int i = 0; i < ndig; i++) {
		unsigned dg = (unsigned)(unsigned char)s[i] - '0';
		if (dg > 9)
			return -1;
		x = x * 10 + (int)dg;
	}
	*v = x;
	return 0;
}

/* The "YYYY-MM-DD" at s (n >= 10 bytes of the whole input s..s+n, used for
 * the message) -> days since the epoch. `kind` names the value in errors. */
static int parse_ymd(const char *s, size_t n, const char *kind, int64_t *days, char *err)
{
	int y, m, d;
	if (n < 10 || fixed_digits(s, 4, &y) || s[4] != '-' || fixed_digits(s + 5, 2, &m) ||
	    s[7] != '-' || fixed_digits(s + 8, 2, &d))
		return bad(err, s, n, kind, "expected YYYY-MM-DD");
	if (y == 0)
		return bad(err, s, n, kind, "year 0000 is out of range 0001..9999");
	if (m < 1 || m > 12)
		return bad(err, s, n, kind, "month %02d is out of range", m);
	if (d < 1 || (unsigned)d > days_in_month(y, (unsigned)m))
		return bad(err, s, n, kind, "day %02d is out of range for %04d-%02d", d, y, m);
	*days = days_from_civil(y, (unsigned)m, (unsigned)d);
	return 0;
}

int value_parse_date(const char *s, size_t n, int32_t *days, char *err)
{
	int64_t dd;
	if (n != 10)
		return bad(err, s, n, "date", "expected YYYY-MM-DD");
	int rc = parse_ymd(s, n, "date", &dd, err);
	if (rc)
		return rc;
	*days = (int32_t)dd; /* years 1..9999 are well inside int32 */
	return 0;
}

/* The fraction of seconds at s[*i] == '.': 1..6 digits, as microseconds
 * (fewer digits are padded); *i moves past them. `what` names the type in
 * the message. */
static int parse_fraction(const char *s, size_t n, size_t *i, const char *what, int64_t *frac,
                          char *err)
{
	size_t f0 = ++*i;
	while (*i < n && (unsigned)(unsigned char)s[*i] - '0' <= 9)
		++*i;
	size_t nf = *i - f0;
	if (nf == 0)
		return bad(err, s, n, what, "no digits after '.'");
	if (nf > 6)
		return bad(err, s, n, what, "%zu fraction digits; at most 6 (microseconds)", nf);
	*frac = 0;
	for (size_t k = 0; k < 6; k++)
		*frac = *frac * 10 + (k < nf ? s[f0 + k] - '0' : 0);
	return 0;
}

int value_parse_timestamp(const char *s, size_t n, int64_t *micros, char *err)
{
	static const char *const shape = "expected YYYY-MM-DD[T| ]HH:MM[:SS[.ffffff]][Z|+HH[:MM]]";
	int64_t days;
	int hh, mi, ss = 0, oh = 0, om = 0, osign = 0;
	int64_t frac = 0;
	if (n < 16)
		return bad(err, s, n, "timestamp", "%s", shape);
	int rc = parse_ymd(s, n, "timestamp", &days, err);
	if (rc)
		return rc;
	if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || fixed_digits(s + 11, 2, &hh) ||
	    s[13] != ':' || fixed_digits(s + 14, 2, &mi))
		return bad(err, s, n, "timestamp", "%s", shape);
	size_t i = 16;
	if (i < n && s[i] == ':') {
		if (n - i < 3 || fixed_digits(s + i + 1, 2, &ss))
			return bad(err, s, n, "timestamp", "%s", shape);
		i += 3;
		if (i < n && s[i] == '.' &&
		    (rc = parse_fraction(s, n, &i, "timestamp", &frac, err)))
			return rc;
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < n && (s[i] == '+' || s[i] == '-')) {
		osign = s[i] == '-' ? -1 : 1;
		if (n - i < 3 || fixed_digits(s + i + 1, 2, &oh))
			return bad(err, s, n, "timestamp", "%s", shape);
		i += 3;
		if (i < n && s[i] == ':') {
			if (n - i < 3 || fixed_digits(s + i + 1, 2, &om))
				return bad(err, s, n, "timestamp", "%s", shape);
			i += 3;
		} else if (n - i >= 2 && fixed_digits(s + i, 2, &om) == 0) {
			i += 2;
		}
	}
	if (i != n)
		return bad(err, s, n, "timestamp", "%s", shape);
	if (hh > 23)
		return bad(err, s, n, "timestamp", "hour %02d is out of range 00..23", hh);
	if (mi > 59)
		return bad(err, s, n, "timestamp", "minute %02d is out of range 00..59", mi);
	if (ss > 59)
		return bad(err, s, n, "timestamp", "second %02d is out of range 00..59", ss);
	if (om > 59 || oh * 60 + om > 18 * 60)
		return bad(err, s, n, "timestamp", "offset is out of range -18:00..+18:00");
	int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss - osign * (oh * 3600 + om * 60);
	int64_t t = secs * 1000000 + frac;
	if (t < VALUE_TS_MIN || t > VALUE_TS_MAX)
		return bad(err, s, n, "timestamp", "outside 0001-01-01..9999-12-31 in UTC");
	*micros = t;
	return 0;
}

int value_parse_time(const char *s, size_t n, int64_t *micros, char *err)
{
	static const char *const shape = "expected HH:MM:SS[.ffffff]";
	int hh, mi, ss;
	int64_t frac = 0;
	if (n < 8 || fixed_digits(s, 2, &hh) || s[2] != ':' || fixed_digits(s + 3, 2, &mi) ||
	    s[5] != ':' || fixed_digits(s + 6, 2, &ss))
		return bad(err, s, n, "time", "%s", shape);
	size_t i = 8;
	int rc;
	if (i < n && s[i] == '.' && (rc = parse_fraction(s, n, &i, "time", &frac, err)))
		return rc;
	if (i != n)
		return bad(err, s, n, "time", "%s", shape);
	if (hh > 24)
		return bad(err, s, n, "time", "hour %02d is out of range 00..24", hh);
	if (mi > 59)
		return bad(err, s, n, "time", "minute %02d is out of range 00..59", mi);
	if (ss > 59)
		return bad(err, s, n, "time", "second %02d is out of range 00..59", ss);
	if (hh == 24 && (mi || ss || frac))
		return bad(err, s, n, "time", "after 24:00:00, the end of the day");
	*micros = ((int64_t)hh * 3600 + mi * 60 + ss) * 1000000 + frac;
	return 0;
}

/* ---- decimal ----------------------------------------------------------- */

int value_parse_decimal(const char *s, size_t n, int precision, int scale, __int128 *unscaled,
                        char *err)
{
	char type[32];
	if (precision < 1 || precision > 38 || scale < 0 || scale > precision)
		return errf(err, FLOE_EINVAL, "decimal(%d,%d) is not a valid decimal type",
		            precision, scale);
	snprintf(type, sizeof type, "decimal(%d,%d)", precision, scale);
	size_t i = 0;
	int neg = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	size_t int0 = i;
	while (i < n && (unsigned)(unsigned char)s[i] - '0' <= 9)
		i++;
	size_t int1 = i, frac0 = i, frac1 = i;
	if (i < n && s[i] == '.') {
		frac0 = ++i;
		while (i < n && (unsigned)(unsigned char)s[i] - '0' <= 9)
			i++;
		frac1 = i;
	}
	if (int1 == int0 && frac1 == frac0)
		return bad(err, s, n, "decimal", "no digits");
	if (i < n && (s[i] == 'e' || s[i] == 'E'))
		return bad(err, s, n, "decimal", "exponent notation is not accepted");
	if (i < n)
		return bad(err, s, n, "decimal", "unexpected character at offset %zu", i);
	/* Leading zeros are not significant; trailing fraction zeros beyond
	 * the scale are dropped because they change nothing (no rounding). */
	while (int0 < int1 && s[int0] == '0')
		int0++;
	while (frac1 > frac0 + (size_t)scale && s[frac1 - 1] == '0')
		frac1--;
	if (int1 - int0 > (size_t)(precision - scale)) {
		char q[VALUE_QUOTE_LEN];
		value_quote(s, n, q);
		return errf(err, FLOE_EINVAL, "%s is out of range for %s", q, type);
	}
	if (frac1 - frac0 > (size_t)scale)
		return bad(err, s, n, "decimal", "more than %d fraction digits for %s", scale,
		           type);
	__int128 v = 0;
	for (size_t k = int0; k < int1; k++)
		v = v * 10 + (s[k] - '0');
	for (size_t k = frac0; k < frac0 + (size_t)scale; k++)
		v = v * 10 + (k < frac1 ? s[k] - '0' : 0);
	*unscaled = neg ? -v : v;
	return 0;
}

void value_decimal_to_be(__int128 v, uint8_t *out, int nbytes)
{
	/* Arithmetic on the unsigned image is the two's complement encoding
	 * without relying on implementation-defined signed shifts. */
	unsigned __int128 u = (unsigned __int128)v;
	for (int i = nbytes - 1; i >= 0; i--) {
		out[i] = (uint8_t)u;
		u >>= 8;
	}
}

/* ---- uuid and base64 --------------------------------------------------- */

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20; /* ASCII upper -> lower; non-letters stay out of range */
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int value_parse_uuid(const char *s, size_t n, uint8_t out[16], char *err)
{
	if (n != 36)
		return bad(err, s, n, "uuid", "expected 8-4-4-4-12 hex digits");
	int k = 0;
	for (size_t i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return bad(err, s, n, "uuid", "expected '-' at offset %zu", i);
			i++;
			continue;
		}
		int hi = hexval((unsigned char)s[i]), lo = hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return bad(err, s, n, "uuid", "not a hex digit at offset %zu",
			           hi < 0 ? i : i + 1);
		out[k++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

/* Value + 1 of each base64 character; 0 marks a byte outside the alphabet. */
static const uint8_t b64_val1[256] = {
    ['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,  ['H'] = 8,
    ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16,
    ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40,
    ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48,
    ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
    ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

int value_base64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len, char *err)
{
	const uint8_t *p = (const uint8_t *)s;
	if (n % 4)
		return bad(err, s, n, "base64", "length %zu is not a multiple of 4", n);
	size_t pad = 0;
	if (n && p[n - 1] == '=')
		pad = p[n - 2] == '=' ? 2 : 1;
	size_t o = 0;
	for (size_t i = 0; i < n; i += 4) {
		uint32_t q = 0;
		size_t nchar = i + 4 == n ? 4 - pad : 4;
		for (size_t k = 0; k < nchar; k++) {
			uint8_t v1 = b64_val1[p[i + k]];
			if (!v1)
				return bad(err, s, n, "base64",
				           "unexpected character at offset %zu", i + k);
			q = q << 6 | (uint32_t)(v1 - 1);
		}
		if (nchar == 4) {
			out[o++] = (uint8_t)(q >> 16);
			out[o++] = (uint8_t)(q >> 8);
			out[o++] = (uint8_t)q;
		} else if (nchar == 3) {
			if (q & 3)
				return bad(err, s, n, "base64", "non-zero bits before the padding");
			out[o++] = (uint8_t)(q >> 10);
			out[o++] = (uint8_t)(q >> 2);
		} else {
			if (q & 15)
				return bad(err, s, n, "base64", "non-zero bits before the padding");
			out[o++] = (uint8_t)(q >> 4);
		}
	}
	*out_len = o;
	return 0;
}

/* ---- formatting -------------------------------------------------------- */

static int fit(char *out, size_t cap, int len)
{
	if (len < 0 || (size_t)len >= cap) {
		if (cap)
			out[0] = '\0';
		return FLOE_ETOOBIG;
	}
	return len;
}

int value_format_date(int32_t days, char *out, size_t cap)
{
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	return fit(out, cap, snprintf(out, cap, "%04lld-%02u-%02u", (long long)y, m, d));
}

int value_format_timestamp(int64_t micros, int with_z, char *out, size_t cap)
{
	/* Floor division, so instants before 1970 get a positive time of day. */
	int64_t days = micros / 86400000000LL, rem = micros % 86400000000LL;
	if (rem < 0) {
		rem += 86400000000LL;
		days--;
	}
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	int64_t secs = rem / 1000000, frac = rem % 1000000;
	char fbuf[16] = "";
	if (frac)
		snprintf(fbuf, sizeof fbuf, ".%06lld", (long long)frac);
	return fit(out, cap,
	           snprintf(out, cap, "%04lld-%02u-%02uT%02lld:%02lld:%02lld%s%s", (long long)y, m,
	                    d, (long long)(secs / 3600), (long long)(secs / 60 % 60),
	                    (long long)(secs % 60), fbuf, with_z ? "Z" : ""));
}

int value_format_time(int64_t micros, char *out, size_t cap)
{
	if (micros < 0 || micros > VALUE_TIME_MAX)
		return fit(out, cap, -1);
	int64_t secs = micros / 1000000, frac = micros % 1000000;
	char fbuf[16] = "";
	if (frac)
		snprintf(fbuf, sizeof fbuf, ".%06lld", (long long)frac);
	return fit(out, cap,
	           snprintf(out, cap, "%02lld:%02lld:%02lld%s", (long long)(secs / 3600),
	                    (long long)(secs / 60 % 60), (long long)(secs % 60), fbuf));
}

int value_format_decimal(__int128 unscaled, int scale, char *out, size_t cap)
{
	char digits[48];
	int nd = 0;
	unsigned __int128 u =
	    unscaled < 0 ? -(unsigned __int128)unscaled : (unsigned __int128)unscaled;
	do {
		digits[nd++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (scale < 0 || scale > 38)
		return fit(out, cap, -1);
	while (nd <= scale)
		digits[nd++] = '0'; /* at least one digit before the point */
	size_t len = (size_t)nd + (unscaled < 0) + (scale > 0);
	if (len >= cap)
		return fit(out, cap, -1);
	size_t o = 0;
	if (unscaled < 0)
		out[o++] = '-';
	for (int k = nd - 1; k >= 0; k--) {
		out[o++] = digits[k];
		if (k == scale && scale > 0)
			out[o++] = '.';
	}
	out[o] = '\0';
	return (int)o;
}

__int128 value_decimal_from_be(const uint8_t *p, int nbytes)
{
	__int128 u = (p[0] & 0x80) ? -1 : 0;
	for (int k = 0; k < nbytes; k++)
		u = (__int128)((unsigned __int128)u << 8) | p[k];
	return u;
}
