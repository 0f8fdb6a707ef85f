/*
 * pgtype — PostgreSQL types and text values into floe columns (the mapping
 * table and the accepted text forms are in pgtype.h).
 *
 * Invariants:
 *   1. One scalar mapping (map_scalar) and one parser per type
 *      (pgtype_set_scalar, writing to a sink: a column's value or a list's
 *      next element) serve columns and array elements, so a list column maps
 *      and parses its elements exactly as a plain column of the element
 *      type. pgbinary.c hands a binary value it refuses to the same parser
 *      as text, so the two paths refuse with one message.
 *   2. Every parser consumes exactly len bytes or fails; a value reaches the
 *      batch only after it parsed completely (bytea is checked whole before
 *      its bytes are reserved and decoded in place), so a failure leaves the
 *      row in progress as it was. A list's elements reach the batch one by
 *      one; a failure at any of them (or in the array syntax after them)
 *      drops those already added (batch_list_abort).
 *   3. No floating point except for float columns, no locale: strtod/strtof
 *      only see text that already matched the float grammar, in the "C"
 *      LC_NUMERIC floe never changes.
 *   4. Calendar arithmetic is value.c's (value_civil_to_days), in astronomical
 *      years; instants are summed in __int128 and range-checked before they
 *      are narrowed to int64, so no intermediate overflows.
 * Errors: FLOE_EINVAL "column '<name>': '<text>' is not a valid <type>
 * (<expected>)" or "... is out of range for <type> (<range>)" (for a list,
 * <text> is the element and <type> the element's), "column '<name>':
 * multi-dimensional arrays are not supported (...)"; FLOE_ENOMEM. Reentrant.
 */
#include "source/pg/pgtype.h"
#include "source/pg/pgtype_internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "table/value.h"

#define SUPPORTED_TYPES                                                                            \
	"boolean, smallint, integer, bigint, oid, real, double precision, numeric, text, "         \
	"varchar, char, name, \"char\", json, jsonb, xml, enums, bytea, date, time, timestamp, "   \
	"timestamptz, uuid, and one-dimensional arrays of these"
#define SKIP_HINT "set table_config.skip_unsupported_columns to mirror the table without it"

#define US_PER_DAY INT64_C(86400000000)

/* ---- messages ---------------------------------------------------------- */

void pgtype_quote_column(const char *name, char q[VALUE_QUOTE_LEN])
{
	if (name)
		value_quote(name, strlen(name), q);
	else
		snprintf(q, VALUE_QUOTE_LEN, "(unnamed)");
}

/* The type as the caller named it, else "oid N". */
static void quote_type(const pgtype_desc *d, char *out, size_t cap)
{
	if (d->type_name)
		snprintf(out, cap, "%s", d->type_name);
	else
		snprintf(out, cap, "oid %u", (unsigned)d->oid);
}

int pgtype_value_error(char *err, const floe_column *c, const char *text, size_t len,
                       const char *verb, const char *fmt, ...)
{
	if (!err)
		return FLOE_EINVAL;
	char cq[VALUE_QUOTE_LEN], tq[VALUE_QUOTE_LEN], tn[48], reason[ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	pgtype_quote_column(c->name, cq);
	value_quote(text, len, tq);
	coltype_name(c, tn, sizeof tn);
	return errf(err, FLOE_EINVAL, "column %s: %s %s %s (%s)", cq, tq, verb, tn, reason);
}

#define BAD(...)   pgtype_value_error(err, c, text, len, "is not a valid", __VA_ARGS__)
#define RANGE(...) pgtype_value_error(err, c, text, len, "is out of range for", __VA_ARGS__)

/* A message from value.c ("'x' is not a valid uuid (...)"), prefixed with the
 * column. */
static int column_error(char *err, const floe_column *c, const char *verr)
{
	char cq[VALUE_QUOTE_LEN];
	pgtype_quote_column(c->name, cq);
	return errf(err, FLOE_EINVAL, "column %s: %s", cq, verr);
}

/* ---- type mapping ------------------------------------------------------ */

/* numeric's typmod: ((precision << 16) | (scale & 0x7ff)) + VARHDRSZ, the
 * scale an 11-bit two's complement number since PostgreSQL 15 (-1000..1000;
 * before 15 it was never negative). < VARHDRSZ: unconstrained. */
static void map_numeric(int32_t typmod, floe_column *out)
{
	out->type = FT_STRING;
	if (typmod < 4)
		return;
	int p = (int)(((uint32_t)(typmod - 4) >> 16) & 0xffff);
	int s = (int)((((uint32_t)(typmod - 4) & 0x7ff) ^ 1024)) - 1024;
	if (p >= 1 && p <= 38 && s >= 0 && s <= p) {
		out->type = FT_DECIMAL;
		out->precision = p;
		out->scale = s;
	}
}

/* The table in pgtype.h for one (base) type; -1 when it is not supported. */
static int map_scalar(uint32_t oid, int32_t typmod, char typtype, floe_column *out)
{
	out->precision = out->scale = 0;
	switch (oid) {
	case PGT_BOOL:
		out->type = FT_BOOLEAN;
		return 0;
	case PGT_INT2:
		out->type = FT_INT16;
		return 0;
	case PGT_INT4:
		out->type = FT_INT32;
		return 0;
	case PGT_INT8:
	case PGT_OID:
		out->type = FT_INT64;
		return 0;
	case PGT_FLOAT4:
		out->type = FT_FLOAT32;
		return 0;
	case PGT_FLOAT8:
		out->type = FT_FLOAT64;
		return 0;
	case PGT_NUMERIC:
		map_numeric(typmod, out);
		return 0;
	case PGT_TEXT:
	case PGT_VARCHAR:
	case PGT_BPCHAR:
	case PGT_NAME:
	case PGT_CHAR:
	case PGT_JSON:
	case PGT_JSONB:
	case PGT_XML:
		out->type = FT_STRING;
		return 0;
	case PGT_BYTEA:
		out->type = FT_BINARY;
		return 0;
	case PGT_DATE:
		out->type = FT_DATE32;
		return 0;
	case PGT_TIME:
		out->type = FT_TIME;
		return 0;
	case PGT_TIMESTAMP:
		out->type = FT_TIMESTAMP;
		return 0;
	case PGT_TIMESTAMPTZ:
		out->type = FT_TIMESTAMPTZ;
		return 0;
	case PGT_UUID:
		out->type = FT_UUID;
		return 0;
	default:
		if (typtype == 'e') {
			out->type = FT_STRING;
			return 0;
		}
		return -1;
	}
}

int pgtype_map_element(const pgtype_desc *d, floe_column *elem_out, char *err)
{
	char cq[VALUE_QUOTE_LEN], tn[128];
	pgtype_quote_column(elem_out->name, cq);
	quote_type(d, tn, sizeof tn);
	if (!d->elem_oid)
		return errf(err, FLOE_EINVAL, "column %s: type %s is not an array", cq, tn);
	floe_column m = *elem_out;
	if (map_scalar(d->elem_oid, d->elem_typmod, d->elem_typtype, &m))
		return errf(err, FLOE_EINVAL,
		            "column %s: column type %s (an array of element type oid %u) is not "
		            "supported (supported: " SUPPORTED_TYPES "); " SKIP_HINT,
		            cq, tn, (unsigned)d->elem_oid);
	elem_out->type = m.type;
	elem_out->precision = m.precision;
	elem_out->scale = m.scale;
	return 0;
}

int pgtype_map(const pgtype_desc *d, floe_column *out, char *err)
{
	char cq[VALUE_QUOTE_LEN], tn[128];
	pgtype_quote_column(out->name, cq);
	quote_type(d, tn, sizeof tn);
	floe_column m = *out;
	/* int2vector and oidvector are arrays to the catalog but print as
	 * "1 2 3", not as array literals. */
	int vector = d->base_oid == PGT_INT2VECTOR || d->base_oid == PGT_OIDVECTOR;
	if (d->elem_oid && !vector) {
		int rc = pgtype_map_element(d, &m, err);
		if (rc)
			return rc;
		out->type = FT_LIST;
		out->precision = out->scale = 0;
		out->elem_type = m.type;
		out->elem_precision = m.precision;
		out->elem_scale = m.scale;
		return 0;
	}
	if (vector || map_scalar(d->base_oid, d->typmod, d->typtype, &m))
		return errf(
		    err, FLOE_EINVAL,
		    "column %s: column type %s is not supported (supported: " SUPPORTED_TYPES
		    "); " SKIP_HINT,
		    cq, tn);
	out->type = m.type;
	out->precision = m.precision;
	out->scale = m.scale;
	out->elem_type = 0;
	out->elem_precision = out->elem_scale = 0;
	return 0;
}

/* ---- where a parsed value goes ----------------------------------------- */

/* Sinks (pgtype_internal.h): one parser per type for both a column's value
 * and a list's next element (invariant 1 of this file). */
void pgtype_put_float(const pgtype_sink *s, const floe_column *c, double v)
{
	if (isnan(v))
		v = NAN;
	if (c->type == FT_FLOAT32) {
		float f = (float)v;
		pgtype_put_fixed(s, &f);
	} else {
		pgtype_put_fixed(s, &v);
	}
}

/* ---- scalar parsers ---------------------------------------------------- */

static int is_digit(char ch)
{
	return (unsigned)(unsigned char)ch - '0' <= 9;
}

static int text_is(const char *text, size_t len, const char *word)
{
	size_t n = strlen(word);
	return len == n && memcmp(text, word, n) == 0;
}

static int set_int(const pgtype_sink *o, const floe_column *c, const char *text, size_t len,
                   char *err)
{
	int64_t lo = c->type == FT_INT16 ? INT16_MIN : c->type == FT_INT32 ? INT32_MIN : INT64_MIN;
	int64_t hi = c->type == FT_INT16 ? INT16_MAX : c->type == FT_INT32 ? INT32_MAX : INT64_MAX;
	size_t i = 0;
	int neg = len > 0 && text[0] == '-';
	i += (size_t)neg;
	if (i == len)
		return BAD("expected an integer");
	/* Magnitude in uint64: |INT64_MIN| = INT64_MAX + 1 still fits. */
	uint64_t m = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	int over = 0;
	for (; i < len; i++) {
		if (!is_digit(text[i]))
			return BAD("expected an integer");
		unsigned dg = (unsigned)(text[i] - '0');
		if (m > (limit - dg) / 10)
			over = 1;
		else
			m = m * 10 + dg;
	}
	int64_t v = neg ? (m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m) : (int64_t)m;
	if (over || v < lo || v > hi)
		return RANGE("%" PRId64 "..%" PRId64, lo, hi);
	if (c->type == FT_INT64)
		pgtype_put_i64(o, v);
	else
		pgtype_put_i32(o, (int32_t)v);
	return 0;
}

/* float4out / float8out text: [-]digits[.digits][e(+|-)digits], or the
 * three words. src_oid: the PostgreSQL type the text came from, 0 unknown. */
static int set_float(const pgtype_sink *o, const floe_column *c, uint32_t src_oid, const char *text,
                     size_t len, char *err)
{
	static const char *const expect =
	    "expected a decimal number with an optional exponent, NaN, Infinity or -Infinity";
	int via_float = c->type == FT_FLOAT32 || src_oid == PGT_FLOAT4;
	double v;
	if (text_is(text, len, "NaN")) {
		v = NAN;
	} else if (text_is(text, len, "Infinity")) {
		v = INFINITY;
	} else if (text_is(text, len, "-Infinity")) {
		v = -INFINITY;
	} else {
		char tmp[64];
		size_t i = 0, nd = 0;
		int nonzero = 0;
		if (i < len && text[i] == '-')
			i++;
		for (; i < len && is_digit(text[i]); i++, nd++)
			nonzero |= text[i] != '0';
		if (i < len && text[i] == '.') {
			size_t f = 0;
			for (i++; i < len && is_digit(text[i]); i++, f++)
				nonzero |= text[i] != '0';
			if (f == 0)
				return BAD("%s", expect);
		}
		if (nd == 0)
			return BAD("%s", expect);
		if (i < len && (text[i] == 'e' || text[i] == 'E')) {
			size_t e = 0;
			i++;
			if (i < len && (text[i] == '+' || text[i] == '-'))
				i++;
			for (; i < len && is_digit(text[i]); i++, e++)
				;
			if (e == 0)
				return BAD("%s", expect);
		}
		if (i != len)
			return BAD("%s", expect);
		if (len >= sizeof tmp)
			return BAD("more than %zu characters", sizeof tmp - 1);
		memcpy(tmp, text, len);
		tmp[len] = '\0';
		char *end;
		if (via_float)
			v = (double)strtof(tmp, &end);
		else
			v = strtod(tmp, &end);
		/* The grammar above is a subset of strtod's, so end is tmp + len;
		 * only the magnitude can be wrong. A denormal result is exact
		 * enough: it is what float4in/float8in give. */
		if (isinf(v) || (v == 0 && nonzero))
			return RANGE("the value overflows or underflows to %s",
			             isinf(v) ? "infinity" : "zero");
	}
	pgtype_put_float(o, c, v);
	return 0;
}

static int set_decimal(const pgtype_sink *o, const floe_column *c, const char *text, size_t len,
                       char *err)
{
	if (text_is(text, len, "NaN") || text_is(text, len, "Infinity") ||
	    text_is(text, len, "-Infinity"))
		return BAD("a decimal has no NaN or infinity; map the column to string to keep "
		           "such values");
	char verr[ERR_LEN];
	__int128 v;
	if (value_parse_decimal(text, len, c->precision, c->scale, &v, verr))
		return column_error(err, c, verr);
	pgtype_put_decimal(o, v);
	return 0;
}

static int hexval(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static int set_bytea(const pgtype_sink *o, const floe_column *c, const char *text, size_t len,
                     char *err)
{
	if (len < 2 || text[0] != '\\' || text[1] != 'x' || len % 2)
		return BAD("expected \\x and pairs of hex digits; the connection must set "
		           "bytea_output=hex");
	for (size_t i = 2; i < len; i++)
		if (hexval((unsigned char)text[i]) < 0)
			return BAD("not a hex digit at offset %zu", i);
	size_t n = (len - 2) / 2;
	/* Reserve the value's bytes in the batch (the source bytes are only a
	 * placeholder of the right length) and decode into them: no copy. An
	 * allocation failure appends a null value or no element. */
	batch_col *bc = pgtype_sink_col(o);
	size_t before = bc->valid.len;
	pgtype_put_bytes(o, text + 2, n);
	if (n == 0 || bc->valid.len == before || !bc->valid.data[bc->valid.len - 1])
		return 0; /* empty, or the batch is oom and the row will be dropped */
	uint8_t *out = bc->bytes.data + bc->bytes.len - n;
	for (size_t k = 0; k < n; k++)
		out[k] = (uint8_t)(hexval((unsigned char)text[2 + 2 * k]) << 4 |
		                   hexval((unsigned char)text[3 + 2 * k]));
	return 0;
}

/* "Y...Y-MM-DD" at text[*i..]: 4..9 year digits. 0 and *i past it, or -1. */
static int parse_ymd(const char *text, size_t len, size_t *i, int64_t *y, int *m, int *d)
{
	size_t p = *i, y0 = p;
	int64_t yy = 0;
	while (p < len && is_digit(text[p]) && p - y0 < 9)
		yy = yy * 10 + (text[p++] - '0');
	if (p - y0 < 4 || len - p < 6 || text[p] != '-' || !is_digit(text[p + 1]) ||
	    !is_digit(text[p + 2]) || text[p + 3] != '-' || !is_digit(text[p + 4]) ||
	    !is_digit(text[p + 5]))
		return -1;
	*m = (text[p + 1] - '0') * 10 + (text[p + 2] - '0');
	*d = (text[p + 4] - '0') * 10 + (text[p + 5] - '0');
	*y = yy;
	*i = p + 6;
	return 0;
}

/* Year (1.. as written, at most 9 digits), month, day and the era -> days
 * since 1970-01-01; -1 for a day that does not exist. */
static int civil_days(int64_t y, int m, int d, int bc, int64_t *days)
{
	if (y < 1)
		return -1;
	if (y > 100000000) { /* beyond value_civil_to_days, and any int32 day */
		*days = bc ? INT64_MIN : INT64_MAX;
		return m >= 1 && m <= 12 && d >= 1 && d <= 31 ? 0 : -1;
	}
	return value_civil_to_days(bc ? 1 - y : y, m, d, days);
}

static int has_bc(const char *text, size_t *len)
{
	if (*len >= 3 && memcmp(text + *len - 3, " BC", 3) == 0) {
		*len -= 3;
		return 1;
	}
	return 0;
}

static int set_date(const pgtype_sink *o, const floe_column *c, const char *text, size_t len,
                    char *err)
{
	static const char *const expect = "expected YYYY-MM-DD[ BC], infinity or -infinity";
	if (text_is(text, len, "infinity")) {
		pgtype_put_i32(o, INT32_MAX);
		return 0;
	}
	if (text_is(text, len, "-infinity")) {
		pgtype_put_i32(o, INT32_MIN);
		return 0;
	}
	size_t n = len, i = 0;
	int bc = has_bc(text, &n), m, d;
	int64_t y, days;
	if (parse_ymd(text, n, &i, &y, &m, &d) || i != n)
		return BAD("%s", expect);
	if (civil_days(y, m, d, bc, &days))
		return BAD("no such day in the proleptic Gregorian calendar");
	if (days <= INT32_MIN || days >= INT32_MAX) /* the extremes mean infinity */
		return RANGE("int32 days since 1970-01-01");
	pgtype_put_i32(o, (int32_t)days);
	return 0;
}

static int set_time(const pgtype_sink *o, const floe_column *c, const char *text, size_t len,
                    char *err)
{
	char verr[ERR_LEN];
	int64_t t;
	if (value_parse_time(text, len, &t, verr))
		return column_error(err, c, verr);
	pgtype_put_i64(o, t);
	return 0;
}

/* "[+-]HH[:MM[:SS]]" at text[*i..n) -> seconds east of UTC. PostgreSQL keeps
 * offsets within +-15:59:59. */
static int parse_offset(const char *text, size_t n, size_t *i, int64_t *secs)
{
	size_t p = *i;
	int part[3] = {0, 0, 0};
	if (p >= n || (text[p] != '+' && text[p] != '-'))
		return -1;
	int neg = text[p++] == '-';
	for (int k = 0; k < 3; k++) {
		if (k > 0) {
			if (p == n)
				break;
			if (text[p++] != ':')
				return -1;
		}
		if (n - p < 2 || !is_digit(text[p]) || !is_digit(text[p + 1]))
			return -1;
		part[k] = (text[p] - '0') * 10 + (text[p + 1] - '0');
		p += 2;
	}
	if (p != n || part[0] > 15 || part[1] > 59 || part[2] > 59)
		return -1;
	int64_t s = part[0] * 3600 + part[1] * 60 + part[2];
	*secs = neg ? -s : s;
	*i = p;
	return 0;
}

static int set_timestamp(const pgtype_sink *o, const floe_column *c, const char *text, size_t len,
                         char *err)
{
	int tz = c->type == FT_TIMESTAMPTZ;
	const char *expect =
	    tz ? "expected YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM[:SS]][ BC], "
	         "infinity or -infinity"
	       : "expected YYYY-MM-DD HH:MM:SS[.ffffff][ BC], infinity or -infinity";
	if (text_is(text, len, "infinity")) {
		pgtype_put_i64(o, INT64_MAX);
		return 0;
	}
	if (text_is(text, len, "-infinity")) {
		pgtype_put_i64(o, INT64_MIN);
		return 0;
	}
	size_t n = len, i = 0;
	int bc = has_bc(text, &n), m, d;
	int64_t y, days, tod, off = 0;
	if (parse_ymd(text, n, &i, &y, &m, &d) || i == n || text[i] != ' ')
		return BAD("%s", expect);
	size_t t0 = ++i;
	while (i < n && (is_digit(text[i]) || text[i] == ':' || text[i] == '.'))
		i++;
	char verr[ERR_LEN];
	if (value_parse_time(text + t0, i - t0, &tod, verr))
		return BAD("%s", verr);
	if (tod == VALUE_TIME_MAX)
		return BAD("24:00:00 is not a time of day inside a timestamp");
	if (tz ? parse_offset(text, n, &i, &off) : i != n)
		return BAD("%s", expect);
	if (civil_days(y, m, d, bc, &days))
		return BAD("no such day in the proleptic Gregorian calendar");
	__int128 us = (__int128)days * US_PER_DAY + tod - (__int128)off * 1000000;
	if (us <= INT64_MIN || us >= INT64_MAX) /* the extremes mean infinity */
		return RANGE("int64 microseconds since 1970-01-01 00:00:00 UTC, about 290308 BC to "
		             "294247 AD");
	pgtype_put_i64(o, (int64_t)us);
	return 0;
}

static int set_uuid(const pgtype_sink *o, const floe_column *c, const char *text, size_t len,
                    char *err)
{
	char verr[ERR_LEN];
	uint8_t u[16];
	if (value_parse_uuid(text, len, u, verr))
		return column_error(err, c, verr);
	pgtype_put_fixed(o, u);
	return 0;
}

int pgtype_set_scalar(const pgtype_sink *o, const floe_column *c, uint32_t src_oid,
                      const char *text, size_t len, char *err)
{
	switch (c->type) {
	case FT_BOOLEAN: {
		if (len != 1 || (text[0] != 't' && text[0] != 'f'))
			return BAD("expected t or f");
		uint8_t v = text[0] == 't';
		pgtype_put_fixed(o, &v);
		return 0;
	}
	case FT_INT16:
	case FT_INT32:
	case FT_INT64:
		return set_int(o, c, text, len, err);
	case FT_FLOAT32:
	case FT_FLOAT64:
		return set_float(o, c, src_oid, text, len, err);
	case FT_DECIMAL:
		return set_decimal(o, c, text, len, err);
	case FT_STRING:
		pgtype_put_bytes(o, text, len);
		return 0;
	case FT_BINARY:
		return set_bytea(o, c, text, len, err);
	case FT_DATE32:
		return set_date(o, c, text, len, err);
	case FT_TIME:
		return set_time(o, c, text, len, err);
	case FT_TIMESTAMP:
	case FT_TIMESTAMPTZ:
		return set_timestamp(o, c, text, len, err);
	case FT_UUID:
		return set_uuid(o, c, text, len, err);
	default:
		break;
	}
	char cq[VALUE_QUOTE_LEN], tn[48];
	pgtype_quote_column(c->name, cq);
	coltype_name(c, tn, sizeof tn);
	return errf(err, FLOE_EINVAL, "column %s: a %s column cannot take a PostgreSQL text value",
	            cq, tn);
}

/* ---- arrays ------------------------------------------------------------ */

static int is_space(char ch)
{
	/* array_in's scanner_isspace */
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

typedef struct split_ctx {
	const char *column, *text;
	size_t len;
	char *err;
} split_ctx;

__attribute__((format(printf, 2, 3))) static int split_error(const split_ctx *s, const char *fmt,
                                                             ...)
{
	if (!s->err)
		return FLOE_EINVAL;
	char cq[VALUE_QUOTE_LEN], tq[VALUE_QUOTE_LEN], reason[ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	pgtype_quote_column(s->column, cq);
	value_quote(s->text, s->len, tq);
	return errf(s->err, FLOE_EINVAL, "column %s: %s is not a valid array (%s)", cq, tq, reason);
}

/* PostgreSQL does not tie an array column to a number of dimensions: an
 * int4[] column takes {{1,2},{3,4}} as well as {1,2}. */
static int multi_dim_error(const split_ctx *s)
{
	char cq[VALUE_QUOTE_LEN], tq[VALUE_QUOTE_LEN];
	pgtype_quote_column(s->column, cq);
	value_quote(s->text, s->len, tq);
	return errf(s->err, FLOE_EINVAL,
	            "column %s: multi-dimensional arrays are not supported (%s; a PostgreSQL "
	            "array column such as int4[] takes arrays of any dimensionality, floe mirrors "
	            "one-dimensional arrays only)",
	            cq, tq);
}

/* text[from..to) with each backslash dropped and the character after it
 * kept, into *scratch (allocated once, len bytes: enough for any element of
 * the array) from position *n on. */
static int unescape_into(const char *text, size_t from, size_t to, size_t len, char **scratch,
                         size_t *n, char *err)
{
	if (!*scratch && !(*scratch = malloc(len)))
		return errf(err, FLOE_ENOMEM, "out of memory");
	for (size_t k = from; k < to; k++) {
		if (text[k] == '\\')
			k++;
		(*scratch)[(*n)++] = text[k];
	}
	return 0;
}

int pgtype_array_split(const char *column, const char *text, size_t len, char delim,
                       pgtype_elem_fn fn, void *ctx, char *err)
{
	split_ctx s = {column, text, len, err};
	char *scratch = NULL; /* len bytes, on the first escaped element */
	int rc = 0;
	size_t i = 0;
	while (i < len && is_space(text[i]))
		i++;
	if (i < len && text[i] == '[') {
		rc = split_error(&s, "a lower-bound decoration [m:n]= is not supported");
		goto fail;
	}
	if (i == len || text[i] != '{') {
		rc = split_error(&s, "expected '{'");
		goto fail;
	}
	i++;
	while (i < len && is_space(text[i]))
		i++;
	if (i < len && text[i] == '}') {
		i++;
		goto end;
	}
	for (;;) {
		while (i < len && is_space(text[i]))
			i++;
		if (i == len) {
			rc = split_error(&s, "no closing '}'");
			goto fail;
		}
		if (text[i] == '{') {
			rc = multi_dim_error(&s);
			goto fail;
		}
		const char *elem;
		size_t n = 0;
		int is_null = 0;
		if (text[i] == '"') {
			size_t e0 = ++i;
			int escaped = 0;
			while (i < len && text[i] != '"') {
				if (text[i] == '\\') {
					escaped = 1;
					i++;
				}
				i++;
			}
			if (i >= len) {
				rc = split_error(&s, "unterminated quoted element");
				goto fail;
			}
			if (escaped) {
				if ((rc = unescape_into(text, e0, i, len, &scratch, &n, err)))
					goto fail;
				elem = scratch;
			} else {
				elem = text + e0;
				n = i - e0;
			}
			i++; /* the closing quote */
			while (i < len && is_space(text[i]))
				i++;
		} else {
			/* Unquoted: up to the delimiter or '}'; a backslash takes the
			 * next character literally (and keeps it from being
			 * trimmed); trailing whitespace is dropped. */
			size_t e0 = i, keep = i; /* keep: end of the last escaped char */
			int escaped = 0;
			while (i < len && text[i] != delim && text[i] != '}') {
				if (text[i] == '"' || text[i] == '{') {
					rc = split_error(
					    &s, "unexpected '%c' in an unquoted element", text[i]);
					goto fail;
				}
				if (text[i] == '\\') {
					if (i + 1 == len) {
						rc = split_error(&s, "a backslash at the end");
						goto fail;
					}
					escaped = 1;
					i++;
					keep = i + 1;
				}
				i++;
			}
			size_t e1 = i;
			while (e1 > keep && e1 > e0 && is_space(text[e1 - 1]))
				e1--;
			if (e1 == e0) {
				rc = split_error(&s, "an empty unquoted element");
				goto fail;
			}
			if (escaped) {
				if ((rc = unescape_into(text, e0, e1, len, &scratch, &n, err)))
					goto fail;
				elem = scratch;
			} else {
				elem = text + e0;
				n = e1 - e0;
				is_null = n == 4 && strncasecmp(elem, "NULL", 4) == 0;
			}
		}
		if (i == len) {
			rc = split_error(&s, "no closing '}'");
			goto fail;
		}
		if (text[i] != delim && text[i] != '}') {
			rc = split_error(&s, "expected '%c' or '}' after an element", delim);
			goto fail;
		}
		if ((rc = fn(ctx, elem, n, is_null)))
			goto fail;
		if (text[i++] == '}')
			break;
	}
end:
	while (i < len && is_space(text[i]))
		i++;
	if (i != len)
		rc = split_error(&s, "text after the closing '}'");
fail:
	free(scratch);
	return rc;
}

/* ---- values: lists, and the entry point ---------------------------------- */

/* A list value in progress: pgtype_array_split's context. */
typedef struct list_ctx {
	pgtype_sink o;    /* o.elem = 1 */
	floe_column elem; /* the element as a column (coltype_element) */
	uint32_t src_oid; /* the element's PostgreSQL type, 0 unknown */
	char *err;
} list_ctx;

static int add_element(void *ctx, const char *text, size_t len, int is_null)
{
	list_ctx *l = ctx;
	if (is_null) {
		batch_list_elem_null(l->o.b, l->o.col);
		return 0;
	}
	return pgtype_set_scalar(&l->o, &l->elem, l->src_oid, text, len, l->err);
}

/* Every delimiter is ',' (typdelim of every type map_scalar supports). A
 * failure drops the elements added so far (invariant 2). */
static int set_list(batch *b, int col, const floe_column *c, const pgtype_desc *d, const char *text,
                    size_t len, char *err)
{
	list_ctx l = {.o = {b, col, 1}, .src_oid = d ? d->elem_oid : 0, .err = err};
	coltype_element(c, &l.elem);
	batch_list_begin(b, col);
	int rc = pgtype_array_split(c->name, text, len, ',', add_element, &l, err);
	if (rc) {
		batch_list_abort(b, col);
		return rc;
	}
	batch_list_end(b, col);
	return 0;
}

int pgtype_set_text(batch *b, int col, const floe_column *c, const pgtype_desc *d, const char *text,
                    size_t len, char *err)
{
	if (c->type == FT_LIST)
		return set_list(b, col, c, d, text, len, err);
	pgtype_sink o = {b, col, 0};
	return pgtype_set_scalar(&o, c, d ? d->base_oid : 0, text, len, err);
}
