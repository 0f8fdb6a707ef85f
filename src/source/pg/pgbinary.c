/*
 * pgbinary — PostgreSQL's binary COPY stream into batch rows (contract in
 * pgbinary.h).
 *
 * The stream (PostgreSQL's "COPY ... Binary Format"); every integer is
 * big-endian:
 *   header   11 bytes signature "PGCOPY\n\377\r\n\0"
 *            int32 flags: bit 16 = tuples carry an OID (never since
 *              PostgreSQL 12; refused), bits 17..31 must be 0 (a reader
 *              must refuse a critical bit it does not know), bits 0..15 are
 *              ignorable
 *            int32 length of the header extension, then that many bytes
 *              (skipped)
 *   tuple*   int16 field count (= the SELECT list's columns), then per field
 *            int32 length (-1: NULL, no bytes follow) and that many bytes:
 *            the value in its type's send format
 *   trailer  int16 -1, the stream's last bytes
 * PostgreSQL sends the header with the first tuple and then a CopyData
 * message per tuple (and one for the trailer); nothing here relies on that:
 * a chunk may end anywhere, and what it ends with waits in `carry`.
 *
 * Send formats (the types' *send functions), n = the field's length:
 *   bool               1 byte, 0 or 1
 *   int2 / int4 / int8 2 / 4 / 8 bytes, two's complement; oid 4 bytes unsigned
 *   float4 / float8    4 / 8 bytes IEEE 754
 *   numeric            int16 ndigits, int16 weight, uint16 sign (0x0000 +,
 *                      0x4000 -, 0xC000 NaN, 0xD000 Infinity, 0xF000
 *                      -Infinity), uint16 dscale (digits after the point in
 *                      the text form), then ndigits int16 base-10000 digits
 *                      (0..9999), most significant first:
 *                      value = sum digit[i] * 10000^(weight - i)
 *   text, varchar, bpchar (with its padding), name, json, xml, an enum's
 *   label              the text, in client_encoding (UTF8)
 *   "char"             1 byte (its text form is made below, as charout does)
 *   jsonb              1 byte version (1), then the text jsonb_out writes
 *   bytea              the bytes
 *   date               int32 days since 2000-01-01; INT32_MAX infinity,
 *                      INT32_MIN -infinity
 *   time               int64 microseconds since midnight, 0..86400000000
 *   timestamp(tz)      int64 microseconds since 2000-01-01 00:00:00 (UTC for
 *                      timestamptz); INT64_MAX infinity, INT64_MIN -infinity
 *   uuid               16 bytes
 *   a domain           its base type's format
 *   an array           int32 ndim (0: empty), int32 flags (1: has NULLs),
 *                      uint32 element type oid, ndim x (int32 length, int32
 *                      lower bound), then each element as int32 length (-1:
 *                      NULL) and its bytes in the element type's format
 *
 * Invariants:
 *   1. Nothing is read beyond a length checked first: a tuple's extent is
 *      walked field by field before any of it is decoded, and every value
 *      decoder checks its n against its format.
 *   2. A value reaches the batch only when it decoded completely; a failed
 *      tuple aborts its row (batch.h), a failed list drops its elements.
 *   3. Values the text path could refuse (integers narrower than int8,
 *      decimals, NaN and infinity into a decimal) are checked here and, when
 *      refused, rendered as PostgreSQL's text and handed to pgtype's parser,
 *      so the message is the text path's. Values no column can refuse (a
 *      string, a bytea, a uuid) are stored as they are.
 */
#include "source/pg/pgbinary.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "source/pg/pgtype_internal.h"

#define SIGNATURE     "PGCOPY\n\377\r\n"
#define SIGNATURE_LEN 11 /* with its final NUL */
#define FLAG_OIDS     (UINT32_C(1) << 16)
#define FLAGS_UNKNOWN UINT32_C(0xfffe0000) /* bits 17..31 */

#define NUMERIC_POS  0x0000
#define NUMERIC_NEG  0x4000
#define NUMERIC_NAN  0xC000
#define NUMERIC_PINF 0xD000
#define NUMERIC_NINF 0xF000

/* PostgreSQL's epoch (2000-01-01) from 1970-01-01, in days and in us. */
#define PG_EPOCH_DAYS INT64_C(10957)
#define PG_EPOCH_US   (PG_EPOCH_DAYS * INT64_C(86400000000))

/* ---- messages ------------------------------------------------------------ */

/* PostgreSQL's name of a wire type, for messages. */
static const char *wire_name(uint32_t oid)
{
	switch (oid) {
	case PGT_BOOL:
		return "bool";
	case PGT_INT2:
		return "int2";
	case PGT_INT4:
		return "int4";
	case PGT_INT8:
		return "int8";
	case PGT_OID:
		return "oid";
	case PGT_FLOAT4:
		return "float4";
	case PGT_FLOAT8:
		return "float8";
	case PGT_NUMERIC:
		return "numeric";
	case PGT_CHAR:
		return "\"char\"";
	case PGT_JSONB:
		return "jsonb";
	case PGT_DATE:
		return "date";
	case PGT_TIME:
		return "time";
	case PGT_TIMESTAMP:
		return "timestamp";
	case PGT_TIMESTAMPTZ:
		return "timestamptz";
	case PGT_UUID:
		return "uuid";
	default:
		return "array";
	}
}

/* "column '<c>': malformed binary <type> value (<reason>)"; FLOE_ECORRUPT. */
__attribute__((format(printf, 4, 5))) static int malformed(char *err, const floe_column *c,
                                                           uint32_t oid, const char *fmt, ...)
{
	if (!err)
		return FLOE_ECORRUPT;
	char cq[VALUE_QUOTE_LEN], reason[ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	pgtype_quote_column(c->name, cq);
	return errf(err, FLOE_ECORRUPT, "column %s: malformed binary %s value (%s)", cq,
	            wire_name(oid), reason);
}

/* A value of `want` bytes has n. */
static int bad_length(char *err, const floe_column *c, uint32_t oid, size_t n, size_t want)
{
	return malformed(err, c, oid, "%zu bytes, expected %zu", n, want);
}

/* ---- numeric --------------------------------------------------------------- */

typedef struct pg_numeric {
	int ndigits, weight, dscale;
	unsigned sign;
	const uint8_t *digits; /* ndigits big-endian int16 */
} pg_numeric;

static unsigned numeric_digit(const pg_numeric *x, int i)
{
	return get_be16(x->digits + 2 * (size_t)i);
}

/* The send format at p[0..n) -> *x; -1 when it is not one. */
static int numeric_read(const uint8_t *p, size_t n, pg_numeric *x)
{
	if (n < 8)
		return -1;
	x->ndigits = (int16_t)get_be16(p);
	x->weight = (int16_t)get_be16(p + 2);
	x->sign = get_be16(p + 4);
	x->dscale = get_be16(p + 6);
	x->digits = p + 8;
	if (x->ndigits < 0 || n != 8 + 2 * (size_t)x->ndigits || x->dscale > 0x3fff)
		return -1;
	if (x->sign != NUMERIC_POS && x->sign != NUMERIC_NEG && x->sign != NUMERIC_NAN &&
	    x->sign != NUMERIC_PINF && x->sign != NUMERIC_NINF)
		return -1;
	for (int i = 0; i < x->ndigits; i++)
		if (numeric_digit(x, i) > 9999)
			return -1;
	return 0;
}

/* Bytes numeric_text writes (without a NUL), plus 3 it may scribble past. */
static size_t numeric_text_cap(const pg_numeric *x)
{
	size_t n = 1 + 10 + 3; /* sign, "-Infinity", slack */
	if (x->weight >= 0)
		n += 4 * ((size_t)x->weight + 1);
	return n + 1 + (size_t)x->dscale + 4;
}

/* PostgreSQL's numeric_out text of x (get_str_from_var): sign, the integer
 * digits without leading zeros ("0" when there are none), then when dscale
 * > 0 a point and exactly dscale fraction digits. Writes into out
 * (numeric_text_cap bytes); returns the length. */
static size_t numeric_text(const pg_numeric *x, char *out)
{
	static const char *const special[] = {"NaN", "Infinity", "-Infinity"};
	int sp = x->sign == NUMERIC_NAN ? 0 : x->sign == NUMERIC_PINF ? 1 : 2;
	if (x->sign != NUMERIC_POS && x->sign != NUMERIC_NEG) {
		size_t n = strlen(special[sp]);
		memcpy(out, special[sp], n);
		return n;
	}
	char *q = out;
	int d;
	if (x->sign == NUMERIC_NEG)
		*q++ = '-';
	if (x->weight < 0) {
		d = x->weight + 1;
		*q++ = '0';
	} else {
		for (d = 0; d <= x->weight; d++) {
			unsigned dig = d < x->ndigits ? numeric_digit(x, d) : 0;
			int put = d > 0; /* the first group has no leading zeros */
			for (unsigned div = 1000; div >= 1; div /= 10) {
				unsigned v = dig / div;
				dig -= v * div;
				put |= v > 0 || div == 1;
				if (put)
					*q++ = (char)('0' + v);
			}
		}
	}
	if (x->dscale > 0) {
		*q++ = '.';
		char *end = q + x->dscale;
		for (int i = 0; i < x->dscale; d++, i += 4) {
			unsigned dig = d >= 0 && d < x->ndigits ? numeric_digit(x, d) : 0;
			for (unsigned div = 1000; div >= 1; div /= 10) {
				*q++ = (char)('0' + dig / div);
				dig %= div;
			}
		}
		q = end;
	}
	return (size_t)(q - out);
}

static unsigned __int128 pow10_u128(int e)
{
	static const uint64_t p[20] = {1,
	                               10,
	                               100,
	                               1000,
	                               10000,
	                               100000,
	                               1000000,
	                               10000000,
	                               100000000,
	                               1000000000,
	                               10000000000,
	                               100000000000,
	                               1000000000000,
	                               10000000000000,
	                               100000000000000,
	                               1000000000000000,
	                               10000000000000000,
	                               100000000000000000,
	                               1000000000000000000,
	                               10000000000000000000u};
	return e < 20 ? p[e] : (unsigned __int128)p[19] * p[e - 19];
}

/* x * 10^scale as an integer, when x has no nonzero digit beyond `scale`
 * fraction digits and |x * 10^scale| < 10^precision (value_parse_decimal's
 * rule); else -1. A finite x only. */
static int numeric_unscaled(const pg_numeric *x, int precision, int scale, __int128 *out)
{
	static const unsigned small[4] = {1, 10, 100, 1000};
	unsigned __int128 v = 0, limit = pow10_u128(precision);
	for (int i = 0; i < x->ndigits; i++) {
		unsigned dg = numeric_digit(x, i);
		if (!dg)
			continue;
		int e = 4 * (x->weight - i) + scale; /* the digit's power of ten in v */
		if (e < 0) {
			if (e <= -4 || dg % small[-e])
				return -1;
			dg /= small[-e];
			e = 0;
		}
		if (e >= precision || (precision - e < 4 && dg >= small[precision - e]))
			return -1;
		v += dg * pow10_u128(e); /* < 10^precision, so no overflow */
		if (v >= limit)
			return -1;
	}
	*out = x->sign == NUMERIC_NEG ? -(__int128)v : (__int128)v;
	return 0;
}

/* A numeric into a decimal or string column. */
static int set_numeric(const pgtype_sink *o, const floe_column *c, const uint8_t *p, size_t n,
                       char *err)
{
	pg_numeric x;
	if (numeric_read(p, n, &x))
		return malformed(err, c, PGT_NUMERIC, "%zu bytes", n);
	int finite = x.sign == NUMERIC_POS || x.sign == NUMERIC_NEG;
	__int128 v;
	if (c->type == FT_DECIMAL && finite &&
	    numeric_unscaled(&x, c->precision, c->scale, &v) == 0) {
		pgtype_put_decimal(o, v);
		return 0;
	}
	/* A string, or a decimal the fast path refused: PostgreSQL's text of
	 * the value through the text path (invariant 3). */
	char small[128], *text = small;
	size_t cap = numeric_text_cap(&x);
	if (cap > sizeof small && !(text = malloc(cap)))
		return errf(err, FLOE_ENOMEM, "out of memory");
	size_t len = numeric_text(&x, text);
	int rc = pgtype_set_scalar(o, c, PGT_NUMERIC, text, len, err);
	if (text != small)
		free(text);
	return rc;
}

/* ---- other scalars ---------------------------------------------------------- */

static int set_int(const pgtype_sink *o, const floe_column *c, uint32_t oid, const uint8_t *p,
                   size_t n, char *err)
{
	size_t want = oid == PGT_INT2 ? 2 : oid == PGT_INT8 ? 8 : 4;
	if (n != want)
		return bad_length(err, c, oid, n, want);
	int64_t v = oid == PGT_INT2   ? (int16_t)get_be16(p)
	            : oid == PGT_INT4 ? (int32_t)get_be32(p)
	            : oid == PGT_OID  ? (int64_t)get_be32(p)
	                              : (int64_t)get_be64(p);
	int64_t lo = c->type == FT_INT16 ? INT16_MIN : c->type == FT_INT32 ? INT32_MIN : INT64_MIN;
	int64_t hi = c->type == FT_INT16 ? INT16_MAX : c->type == FT_INT32 ? INT32_MAX : INT64_MAX;
	if (v < lo || v > hi) { /* the text path's message (invariant 3) */
		char text[24];
		int len = snprintf(text, sizeof text, "%" PRId64, v);
		return pgtype_set_scalar(o, c, oid, text, (size_t)len, err);
	}
	if (c->type == FT_INT64)
		pgtype_put_i64(o, v);
	else
		pgtype_put_i32(o, (int32_t)v);
	return 0;
}

static int set_float(const pgtype_sink *o, const floe_column *c, uint32_t oid, const uint8_t *p,
                     size_t n, char *err)
{
	if (oid == PGT_FLOAT4) {
		if (n != 4)
			return bad_length(err, c, oid, n, 4);
		uint32_t bits = get_be32(p);
		float f;
		memcpy(&f, &bits, sizeof f);
		pgtype_put_float(o, c, (double)f);
	} else {
		if (n != 8)
			return bad_length(err, c, oid, n, 8);
		uint64_t bits = get_be64(p);
		double v;
		memcpy(&v, &bits, sizeof v);
		pgtype_put_float(o, c, v);
	}
	return 0;
}

/* "char": charout's text (PostgreSQL 15 and later): "" for the zero byte,
 * a backslash and three octal digits for a byte with the high bit set, else
 * the byte. */
static int set_char(const pgtype_sink *o, const floe_column *c, const uint8_t *p, size_t n,
                    char *err)
{
	if (n != 1)
		return bad_length(err, c, PGT_CHAR, n, 1);
	char text[4] = {(char)p[0]};
	size_t len = p[0] != 0;
	if (p[0] & 0x80) {
		text[0] = '\\';
		text[1] = (char)('0' + (p[0] >> 6));
		text[2] = (char)('0' + ((p[0] >> 3) & 7));
		text[3] = (char)('0' + (p[0] & 7));
		len = 4;
	}
	pgtype_put_bytes(o, text, len);
	return 0;
}

/* Days since 1970-01-01 (infinities already handled) into a date32 column,
 * under the text path's bound: the extreme int32 values mean infinity. */
static int set_date(const pgtype_sink *o, const floe_column *c, const uint8_t *p, size_t n,
                    char *err)
{
	if (n != 4)
		return bad_length(err, c, PGT_DATE, n, 4);
	int32_t d = (int32_t)get_be32(p);
	if (d == INT32_MAX || d == INT32_MIN) { /* +-infinity: the same extremes */
		pgtype_put_i32(o, d);
		return 0;
	}
	int64_t days = (int64_t)d + PG_EPOCH_DAYS;
	if (days <= INT32_MIN || days >= INT32_MAX) {
		char text[48];
		int len = snprintf(text, sizeof text, "%" PRId32 " days after 2000-01-01", d);
		return pgtype_value_error(err, c, text, (size_t)len, "is out of range for",
		                          "int32 days since 1970-01-01");
	}
	pgtype_put_i32(o, (int32_t)days);
	return 0;
}

static int set_timestamp(const pgtype_sink *o, const floe_column *c, uint32_t oid, const uint8_t *p,
                         size_t n, char *err)
{
	if (n != 8)
		return bad_length(err, c, oid, n, 8);
	int64_t t = (int64_t)get_be64(p);
	if (t == INT64_MAX || t == INT64_MIN) { /* +-infinity: the same extremes */
		pgtype_put_i64(o, t);
		return 0;
	}
	__int128 us = (__int128)t + PG_EPOCH_US;
	if (us <= INT64_MIN || us >= INT64_MAX) {
		char text[64];
		int len =
		    snprintf(text, sizeof text, "%" PRId64 " us after 2000-01-01 00:00:00", t);
		return pgtype_value_error(err, c, text, (size_t)len, "is out of range for",
		                          "int64 microseconds since 1970-01-01 00:00:00 UTC, about "
		                          "290308 BC to 294247 AD");
	}
	pgtype_put_i64(o, (int64_t)us);
	return 0;
}

/* One scalar of wire type oid (typtype for enums) into o. */
static int set_scalar(const pgtype_sink *o, const floe_column *c, uint32_t oid, const uint8_t *p,
                      size_t n, char *err)
{
	switch (oid) {
	case PGT_BOOL:
		if (n != 1 || p[0] > 1)
			return malformed(err, c, oid, "expected one byte 0 or 1");
		pgtype_put_fixed(o, p);
		return 0;
	case PGT_INT2:
	case PGT_INT4:
	case PGT_INT8:
	case PGT_OID:
		return set_int(o, c, oid, p, n, err);
	case PGT_FLOAT4:
	case PGT_FLOAT8:
		return set_float(o, c, oid, p, n, err);
	case PGT_NUMERIC:
		return set_numeric(o, c, p, n, err);
	case PGT_CHAR:
		return set_char(o, c, p, n, err);
	case PGT_JSONB:
		if (n < 1 || p[0] != 1)
			return malformed(err, c, oid, "expected version 1");
		pgtype_put_bytes(o, p + 1, n - 1);
		return 0;
	case PGT_DATE:
		return set_date(o, c, p, n, err);
	case PGT_TIME: {
		if (n != 8)
			return bad_length(err, c, oid, n, 8);
		int64_t t = (int64_t)get_be64(p);
		if (t < 0 || t > VALUE_TIME_MAX)
			return malformed(err, c, oid, "%" PRId64 " us is not a time of day", t);
		pgtype_put_i64(o, t);
		return 0;
	}
	case PGT_TIMESTAMP:
	case PGT_TIMESTAMPTZ:
		return set_timestamp(o, c, oid, p, n, err);
	case PGT_UUID:
		if (n != 16)
			return bad_length(err, c, oid, n, 16);
		pgtype_put_fixed(o, p);
		return 0;
	default: /* text-like types, enums and bytea: the bytes as they are */
		pgtype_put_bytes(o, p, n);
		return 0;
	}
}

/* ---- arrays ---------------------------------------------------------------- */

/* A one-dimensional array (the send format above) as a list value: each
 * element through set_scalar as its own type (d->elem_oid). */
static int set_list(batch *b, int col, const floe_column *c, const pgtype_desc *d, const uint8_t *p,
                    size_t n, char *err)
{
	pgtype_sink o = {b, col, 1};
	floe_column elem;
	coltype_element(c, &elem);
	if (n < 12)
		return malformed(err, c, 0, "%zu bytes", n);
	int32_t ndim = (int32_t)get_be32(p);
	uint32_t flags = get_be32(p + 4);
	if (ndim < 0 || flags > 1)
		return malformed(err, c, 0, "ndim %" PRId32 ", flags %" PRIu32, ndim, flags);
	if (ndim > 1) {
		char cq[VALUE_QUOTE_LEN];
		pgtype_quote_column(c->name, cq);
		return errf(
		    err, FLOE_EINVAL,
		    "column %s: multi-dimensional arrays are not supported (a value of %" PRId32
		    " dimensions; a PostgreSQL array column such as int4[] takes arrays of any "
		    "dimensionality, floe mirrors one-dimensional arrays only)",
		    cq, ndim);
	}
	size_t off = 12, count = 0;
	if (ndim == 1) {
		if (n < 20)
			return malformed(err, c, 0, "%zu bytes", n);
		int32_t len = (int32_t)get_be32(p + 12), lbound = (int32_t)get_be32(p + 16);
		if (len < 0)
			return malformed(err, c, 0, "%" PRId32 " elements", len);
		if (lbound != 1) {
			char cq[VALUE_QUOTE_LEN];
			pgtype_quote_column(c->name, cq);
			return errf(err, FLOE_EINVAL,
			            "column %s: an array with lower bound %" PRId32
			            " is not a valid array (a lower-bound decoration [m:n]= is not "
			            "supported)",
			            cq, lbound);
		}
		count = (size_t)len;
		off = 20;
	}
	int rc = 0;
	batch_list_begin(b, col);
	for (size_t i = 0; i < count; i++) {
		if (n - off < 4) {
			rc = malformed(err, c, 0, "element %zu is cut off", i);
			goto fail;
		}
		int32_t len = (int32_t)get_be32(p + off);
		off += 4;
		if (len == -1) {
			batch_list_elem_null(b, col);
			continue;
		}
		if (len < 0 || (size_t)len > n - off) {
			rc = malformed(err, c, 0, "element %zu has length %" PRId32, i, len);
			goto fail;
		}
		if ((rc = set_scalar(&o, &elem, d->elem_oid, p + off, (size_t)len, err)))
			goto fail;
		off += (size_t)len;
	}
	if (off != n) {
		rc = malformed(err, c, 0, "%zu bytes after the last element", n - off);
		goto fail;
	}
	batch_list_end(b, col);
	return 0;
fail:
	batch_list_abort(b, col);
	return rc;
}

/* ---- which columns -------------------------------------------------------- */

/* A value of wire type oid (typtype for enums) fits a column of c's type. */
static int wire_fits(uint32_t oid, char typtype, const floe_column *c)
{
	floe_type t = c->type;
	switch (oid) {
	case PGT_BOOL:
		return t == FT_BOOLEAN;
	case PGT_INT2:
	case PGT_INT4:
	case PGT_INT8:
	case PGT_OID:
		return t == FT_INT16 || t == FT_INT32 || t == FT_INT64;
	case PGT_FLOAT4:
		return t == FT_FLOAT32 || t == FT_FLOAT64;
	case PGT_FLOAT8:
		return t == FT_FLOAT64;
	case PGT_NUMERIC:
		return t == FT_DECIMAL || t == FT_STRING;
	case PGT_TEXT:
	case PGT_VARCHAR:
	case PGT_BPCHAR:
	case PGT_NAME:
	case PGT_CHAR:
	case PGT_JSON:
	case PGT_JSONB:
	case PGT_XML:
		return t == FT_STRING;
	case PGT_BYTEA:
		return t == FT_BINARY;
	case PGT_DATE:
		return t == FT_DATE32;
	case PGT_TIME:
		return t == FT_TIME;
	case PGT_TIMESTAMP:
		return t == FT_TIMESTAMP;
	case PGT_TIMESTAMPTZ:
		return t == FT_TIMESTAMPTZ;
	case PGT_UUID:
		return t == FT_UUID;
	default:
		return typtype == 'e' && t == FT_STRING;
	}
}

int pgbin_supported(const floe_column *c, const pgtype_desc *d)
{
	if (!d || d->base_oid == PGT_INT2VECTOR || d->base_oid == PGT_OIDVECTOR)
		return 0;
	if (!d->elem_oid)
		return c->type != FT_LIST && wire_fits(d->base_oid, d->typtype, c);
	if (c->type != FT_LIST)
		return 0;
	floe_column elem;
	coltype_element(c, &elem);
	return wire_fits(d->elem_oid, d->elem_typtype, &elem);
}

int pgbin_set_value(batch *b, int col, const floe_column *c, const pgtype_desc *d, const uint8_t *p,
                    size_t n, char *err)
{
	if (c->type == FT_LIST)
		return set_list(b, col, c, d, p, n, err);
	pgtype_sink o = {b, col, 0};
	return set_scalar(&o, c, d->base_oid, p, n, err);
}

/* ---- the stream ------------------------------------------------------------ */

void pgbin_reader_init(pgbin_reader *r, const floe_schema *schema, const pgtype_desc *const *types,
                       const char *what)
{
	memset(r, 0, sizeof *r);
	r->schema = schema;
	r->types = types;
	r->what = what;
}

void pgbin_reader_clear(pgbin_reader *r)
{
	if (r)
		buf_release(&r->carry);
}

/* The header at p[0..n): its length in *len, 0 while incomplete. */
static int read_header(const pgbin_reader *r, const uint8_t *p, size_t n, size_t *len, char *err)
{
	*len = 0;
	if (memcmp(p, SIGNATURE, n < SIGNATURE_LEN ? n : SIGNATURE_LEN) != 0)
		return errf(err, FLOE_ECORRUPT, "%s: binary COPY data without the PGCOPY signature",
		            r->what);
	if (n < SIGNATURE_LEN + 8)
		return 0;
	uint32_t flags = get_be32(p + SIGNATURE_LEN), ext = get_be32(p + SIGNATURE_LEN + 4);
	if (flags & (FLAG_OIDS | FLAGS_UNKNOWN))
		return errf(err, FLOE_ECORRUPT,
		            "%s: binary COPY header flags 0x%08" PRIx32 " are not supported",
		            r->what, flags);
	if (ext > INT32_MAX)
		return errf(err, FLOE_ECORRUPT,
		            "%s: binary COPY header extension of %" PRIu32 " bytes", r->what, ext);
	if (n - (SIGNATURE_LEN + 8) >= ext)
		*len = SIGNATURE_LEN + 8 + ext;
	return 0;
}

/* The tuple (or the trailer) at p[0..n): its length in *len, 0 while
 * incomplete; *trailer = 1 for the trailer. Invariant 1: only lengths are
 * read here. */
static int tuple_extent(const pgbin_reader *r, const uint8_t *p, size_t n, size_t *len,
                        int *trailer, char *err)
{
	*len = 0;
	*trailer = 0;
	if (n < 2)
		return 0;
	int16_t nf = (int16_t)get_be16(p);
	if (nf == -1) {
		*trailer = 1;
		*len = 2;
		return 0;
	}
	if (nf != r->schema->ncols)
		return errf(err, FLOE_ECORRUPT, "%s: binary COPY tuple has %d fields, expected %d",
		            r->what, nf, r->schema->ncols);
	size_t off = 2;
	for (int i = 0; i < nf; i++) {
		if (n - off < 4)
			return 0;
		int32_t flen = (int32_t)get_be32(p + off);
		off += 4;
		if (flen < -1)
			return errf(err, FLOE_ECORRUPT, "%s: binary COPY field of length %" PRId32,
			            r->what, flen);
		if (flen > 0) {
			if (n - off < (size_t)flen)
				return 0;
			off += (size_t)flen;
		}
	}
	*len = off;
	return 0;
}

/* One complete tuple (tuple_extent said so) as a row of b. */
static int add_tuple(const pgbin_reader *r, batch *b, const uint8_t *p, char *err)
{
	size_t off = 2;
	batch_row_begin(b);
	for (int c = 0; c < r->schema->ncols; c++) {
		int32_t flen = (int32_t)get_be32(p + off);
		off += 4;
		if (flen == -1) {
			batch_set_null(b, c);
			continue;
		}
		int rc = pgbin_set_value(b, c, &r->schema->cols[c], r->types[c], p + off,
		                         (size_t)flen, err);
		if (rc) {
			batch_row_abort(b);
			return rc;
		}
		off += (size_t)flen;
	}
	batch_row_commit(b);
	return batch_check(b) ? errf(err, FLOE_ENOMEM, "out of memory") : 0;
}

/* Walks the stream in p[0..n): the header, then each complete tuple, which
 * becomes a row of b or, with out not NULL, is appended to out as it is;
 * the trailer ends it. *used = the bytes taken (an incomplete header or
 * tuple at the end is left). */
static int consume(pgbin_reader *r, batch *b, buf *out, const uint8_t *p, size_t n, size_t *used,
                   char *err)
{
	size_t off = 0, len;
	int rc = 0, trailer;
	while (off < n) {
		if (r->state == 2) {
			rc = errf(err, FLOE_ECORRUPT, "%s: binary COPY data after the trailer",
			          r->what);
			break;
		}
		if (r->state == 0) {
			if ((rc = read_header(r, p + off, n - off, &len, err)) || !len)
				break;
			r->state = 1;
			off += len;
			continue;
		}
		if ((rc = tuple_extent(r, p + off, n - off, &len, &trailer, err)) || !len)
			break;
		if (trailer)
			r->state = 2;
		else if (out)
			buf_append(out, p + off, len);
		else if ((rc = add_tuple(r, b, p + off, err)))
			break;
		off += len;
	}
	*used = off;
	if (rc == 0 && out && !buf_ok(out))
		rc = errf(err, FLOE_ENOMEM, "out of memory");
	return rc;
}

/* consume over what the reader carries from earlier chunks and p[0..n);
 * what is left incomplete is carried to the next call. */
static int feed(pgbin_reader *r, batch *b, buf *out, const uint8_t *p, size_t n, char *err)
{
	size_t used;
	int rc;
	if (r->carry.len == 0) { /* the usual case: whole tuples, taken in place */
		if ((rc = consume(r, b, out, p, n, &used, err)))
			return rc;
		buf_append(&r->carry, p + used, n - used);
	} else {
		buf_append(&r->carry, p, n);
		if (!buf_ok(&r->carry))
			return errf(err, FLOE_ENOMEM, "out of memory");
		if ((rc = consume(r, b, out, r->carry.data, r->carry.len, &used, err)))
			return rc;
		memmove(r->carry.data, r->carry.data + used, r->carry.len - used);
		r->carry.len -= used;
	}
	return buf_ok(&r->carry) ? 0 : errf(err, FLOE_ENOMEM, "out of memory");
}

int pgbin_reader_feed(pgbin_reader *r, batch *b, const uint8_t *p, size_t n, char *err)
{
	return feed(r, b, NULL, p, n, err);
}

int pgbin_reader_frame(pgbin_reader *r, buf *out, const uint8_t *p, size_t n, char *err)
{
	return feed(r, NULL, out, p, n, err);
}

int pgbin_decode_tuples(const pgbin_reader *r, batch *b, const uint8_t *p, size_t n,
                        size_t row_limit, size_t *used, char *err)
{
	size_t off = 0, len;
	int rc = 0, trailer;
	while (off < n && b->nrows < row_limit) {
		if ((rc = tuple_extent(r, p + off, n - off, &len, &trailer, err)))
			break;
		if (!len || trailer) {
			rc = errf(err, FLOE_ECORRUPT,
			          "%s: binary COPY tuples cut off or mixed with the trailer",
			          r->what);
			break;
		}
		if ((rc = add_tuple(r, b, p + off, err)))
			break;
		off += len;
	}
	*used = off;
	return rc;
}

int pgbin_reader_finish(const pgbin_reader *r, char *err)
{
	if (r->state == 2 && r->carry.len == 0)
		return 0;
	return errf(err, FLOE_ECORRUPT, "%s: binary COPY data ended %s", r->what,
	            r->state == 0 ? "before its header" : "inside a tuple or before the trailer");
}
