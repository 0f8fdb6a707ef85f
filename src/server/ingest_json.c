/*
 * ingest_json — one pass over a POST /ingest body straight into a columnar
 * batch (contract and message forms in ingest_json.h).
 *
 * Why it is fast:
 *   - No DOM and no allocation per value: a value goes from the body text to
 *     its column buffer; a string without escapes is copied exactly once.
 *   - Column lookup predicts: the rows of one body nearly always list their
 *     keys in the same order, so the column found at key position k of the
 *     previous row is tried first (a length compare and a memcmp). A hash of
 *     the column names, built once per body, is the fallback.
 *   - Strings are scanned 8 bytes at a time (SWAR) for '"', '\\', control and
 *     non-ASCII bytes, so plain ASCII runs at memchr speed.
 *   - A double with at most 15 significant digits and a power of ten within
 *     10^-22..10^22 is converted by one IEEE multiplication or division of
 *     two exact values, which is correctly rounded (Clinger's fast path);
 *     everything else goes through strtod/strtof on a NUL-terminated copy.
 *
 * Invariants:
 *   1. The grammar accepted has fixed depth (body -> data array -> row ->
 *      scalar, or row -> list array -> scalar for a list column); an object
 *      or array where a scalar belongs is an error at once, so the only
 *      recursion is a list element's value (whose type is never a list) and
 *      no depth limit is needed.
 *   2. Every string (keys included) is checked to be valid UTF-8 on the way:
 *      raw bytes by value_utf8_seq_len, \u escapes by surrogate pairing.
 *   3. The batch only ever holds whole rows (batch_row_commit per row); on
 *      any error the whole batch is reset, so a body is all or nothing.
 *   4. Before "operation" is known, the first missing/null value of a
 *      non-nullable column is remembered (the row gets a null) and reported
 *      at the end unless the operation is delete.
 *   5. A list element is parsed by the same code as a column value: into
 *      column `col` of a scratch batch whose columns are the list elements'
 *      types (elem_schema), and then appended to the row's list; so every
 *      element type accepts exactly what a column of that type accepts.
 * Errors: FLOE_EINVAL with a message naming the place (byte offset for
 * syntax, data[i].column for values); FLOE_ENOMEM "out of memory".
 * The process must keep the "C" LC_NUMERIC locale (floe never calls
 * setlocale), because strtod is locale-dependent.
 */
#include "server/ingest_json.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "table/value.h"

#define IJ_NUMTEXT_MAX 40 /* number characters echoed in a message */

enum { IJ_MISSING = 1, IJ_NULL = 2 };

typedef struct ij_ctx {
	const char *base, *p, *end;
	const floe_schema *schema;
	batch *b;
	char *err;
	int op; /* -1 until the "operation" key is seen */
	int ncols;
	size_t row;       /* index of the row being parsed */
	size_t *name_len; /* per column */
	size_t *seen;     /* seen[col] == row + 1: col has a value in this row */
	int *pred;        /* pred[k]: the column at key position k last row */
	int *hash;        /* column names, open addressing: column or -1 */
	uint32_t hash_mask;
	buf scratch;  /* decoded strings with escapes; long number copies */
	buf bin;      /* base64-decoded values (the input may be in scratch) */
	int deferred; /* invariant 4: 0, IJ_MISSING or IJ_NULL */
	size_t def_row;
	int def_col;
	/* invariant 5; only when the schema has a list column */
	long elem;               /* index of the list element being parsed, or -1 */
	floe_schema elem_schema; /* per column: its element (names borrowed) */
	batch elem_batch;        /* holds the element being parsed */
} ij_ctx;

/* A JSON number as scanned: its text and, when it fits, its digits. */
typedef struct ij_num {
	const char *s;
	size_t n;
	int neg;
	int is_int;    /* no fraction and no exponent */
	int mant_ovf;  /* more than 19 significant digits: mant is incomplete */
	int sig;       /* significant digits in mant */
	int frac;      /* how many of mant's digits are after the point */
	uint64_t mant; /* the digits as an integer, point removed */
	int64_t exp;   /* explicit exponent (saturated at +-1e6) */
} ij_num;

/* ---- errors ------------------------------------------------------------ */

__attribute__((format(printf, 2, 3))) static int ij_syntax(ij_ctx *c, const char *fmt, ...)
{
	char what[ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return errf(c->err, FLOE_EINVAL, "malformed JSON at byte %zu: %s", (size_t)(c->p - c->base),
	            what);
}

__attribute__((format(printf, 3, 4))) static int ij_colerr(ij_ctx *c, int col, const char *fmt, ...)
{
	char what[ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (c->elem >= 0)
		return errf(c->err, FLOE_EINVAL, "data[%zu].%s[%ld]: %s", c->row,
		            c->schema->cols[col].name, c->elem, what);
	return errf(c->err, FLOE_EINVAL, "data[%zu].%s: %s", c->row, c->schema->cols[col].name,
	            what);
}

static int ij_nomem(ij_ctx *c)
{
	return errf(c->err, FLOE_ENOMEM, "out of memory");
}

/* What a JSON value starting with ch is, for "got ..." messages; NULL when
 * ch cannot start a value. */
static const char *ij_got(int ch)
{
	switch (ch) {
	case '"':
		return "a string";
	case '{':
		return "an object";
	case '[':
		return "an array";
	case 't':
	case 'f':
		return "a boolean";
	case 'n':
		return "null";
	default:
		return ch == '-' || (ch >= '0' && ch <= '9') ? "a number" : NULL;
	}
}

static const char *ij_expected(floe_type t)
{
	switch (t) {
	case FT_BOOLEAN:
		return "true or false";
	case FT_INT16:
	case FT_INT32:
	case FT_INT64:
		return "an integer";
	case FT_FLOAT32:
	case FT_FLOAT64:
		return "a number";
	case FT_DECIMAL:
		return "a number or a decimal string";
	case FT_STRING:
		return "a string";
	case FT_BINARY:
		return "a base64 string";
	case FT_DATE32:
		return "a \"YYYY-MM-DD\" string";
	case FT_TIMESTAMP:
	case FT_TIMESTAMPTZ:
		return "an ISO-8601 string or integer microseconds";
	case FT_UUID:
		return "a uuid string";
	case FT_TIME:
		return "an \"HH:MM:SS[.ffffff]\" string or integer microseconds";
	case FT_LIST:
		return "an array";
	}
	return "a value";
}

static int ij_type_error(ij_ctx *c, int col, const char *got)
{
	const floe_column *fc = &c->schema->cols[col];
	char tn[32];
	coltype_name(fc, tn, sizeof tn);
	return ij_colerr(c, col, "expected %s for %s, got %s", ij_expected(fc->type), tn, got);
}

/* A value of the wrong JSON kind where `where` wanted `want`; a syntax error
 * when the byte cannot start a value at all. */
static int ij_kind_error(ij_ctx *c, const char *where, const char *want)
{
	int ch = c->p < c->end ? (unsigned char)*c->p : -1;
	const char *got = ij_got(ch);
	if (!got)
		return ij_syntax(c, "expected a value");
	return errf(c->err, FLOE_EINVAL, "%s: expected %s, got %s", where, want, got);
}

/* ---- lexing ------------------------------------------------------------ */

static inline void ij_ws(ij_ctx *c)
{
	const char *p = c->p, *end = c->end;
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	c->p = p;
}

static inline int ij_peek(const ij_ctx *c)
{
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

/* Expects byte ch (after whitespace); `what` completes "expected ...". */
static inline int ij_expect(ij_ctx *c, char ch, const char *what)
{
	ij_ws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return 0;
	}
	return ij_syntax(c, "expected %s", what);
}

/* The first byte at or after p that a string scan must look at: '"', '\\',
 * a control byte (< 0x20) or a non-ASCII byte (>= 0x80); end if none.
 * 8 bytes at a time: (x - 0x01..) & ~x has the high bit set in each zero
 * byte of x; the same with 0x20.. finds bytes below 0x20. Borrows can add
 * false hits, but only in bytes more significant than a true hit, so the
 * least significant hit is exact: the word is read in little-endian order
 * so that it is also the first in memory. */
static inline const char *ij_scan_plain(const char *p, const char *end)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	while (end - p >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		w = __builtin_bswap64(w);
#endif
		uint64_t q = w ^ (ones * '"'), s = w ^ (ones * '\\');
		uint64_t m =
		    (((q - ones) & ~q) | ((s - ones) & ~s) | ((w - ones * 0x20) & ~w) | w) & high;
		if (m)
			return p + (__builtin_ctzll(m) >> 3);
		p += 8;
	}
	for (; p < end; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '"' || ch == '\\' || ch < 0x20 || ch >= 0x80)
			return p;
	}
	return end;
}

/* Four hex digits at p -> value, or -1. */
static int ij_hex4(const char *p)
{
	int v = 0;
	for (int i = 0; i < 4; i++) {
		int ch = (unsigned char)p[i], d;
		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
			d = (ch | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static void ij_put_utf8(buf *s, uint32_t cp)
{
	uint8_t u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xC0 | cp >> 6);
		u[1] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xE0 | cp >> 12);
		u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xF0 | cp >> 18);
		u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (uint8_t)(0x80 | (cp & 0x3F));
		n = 4;
	}
	buf_append(s, u, n);
}

/* One escape sequence at c->p (a backslash) appended decoded to scratch. */
static int ij_escape(ij_ctx *c)
{
	const char *p = c->p;
	static const char simple_in[] = "\"\\/bfnrt", simple_out[] = "\"\\/\b\f\n\r\t";
	if (c->end - p < 2)
		return ij_syntax(c, "unterminated string");
	const char *hit = memchr(simple_in, p[1], sizeof simple_in - 1);
	if (hit) {
		buf_put_u8(&c->scratch, (uint8_t)simple_out[hit - simple_in]);
		c->p += 2;
		return 0;
	}
	if (p[1] != 'u') {
		if ((unsigned char)p[1] < 0x20 || (unsigned char)p[1] >= 0x7F)
			return ij_syntax(c, "invalid escape sequence");
		return ij_syntax(c, "invalid escape '\\%c'", p[1]);
	}
	int cp = c->end - p >= 6 ? ij_hex4(p + 2) : -1;
	if (cp < 0)
		return ij_syntax(c, "invalid \\u escape (expected 4 hex digits)");
	size_t used = 6;
	if (cp >= 0xDC00 && cp <= 0xDFFF)
		return ij_syntax(c, "invalid \\u escape: unpaired low surrogate");
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		int lo = c->end - p >= 12 && p[6] == '\\' && p[7] == 'u' ? ij_hex4(p + 8) : -1;
		if (lo < 0xDC00 || lo > 0xDFFF)
			return ij_syntax(c, "invalid \\u escape: unpaired high surrogate");
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		used = 12;
	}
	ij_put_utf8(&c->scratch, (uint32_t)cp);
	c->p += used;
	return 0;
}

/* Checks the non-plain byte at c->p inside a string, which is not '"' or
 * '\\': a control byte is an error; a non-ASCII byte must start valid
 * UTF-8. Returns the sequence length or 0 after writing the error. */
static size_t ij_nonascii(ij_ctx *c, int *rc)
{
	unsigned char ch = (unsigned char)*c->p;
	if (ch < 0x20) {
		*rc = ij_syntax(c, "control character 0x%02X in string (must be escaped)", ch);
		return 0;
	}
	size_t l = value_utf8_seq_len((const uint8_t *)c->p, (size_t)(c->end - c->p));
	if (!l)
		*rc = ij_syntax(c, "invalid UTF-8 in string");
	return l;
}

/* The rest of a string with escapes, from c->p (the first backslash), decoded
 * into scratch after the plain prefix [start, c->p). */
static int ij_string_escaped(ij_ctx *c, const char *start, const char **out, size_t *outn)
{
	int rc = 0;
	buf_reset(&c->scratch);
	buf_append(&c->scratch, start, (size_t)(c->p - start));
	for (;;) {
		const char *q = ij_scan_plain(c->p, c->end);
		buf_append(&c->scratch, c->p, (size_t)(q - c->p));
		c->p = q;
		if (q == c->end) {
			c->p = start - 1;
			return ij_syntax(c, "unterminated string");
		}
		if (*q == '"')
			break;
		if (*q == '\\') {
			if ((rc = ij_escape(c)))
				return rc;
			continue;
		}
		size_t l = ij_nonascii(c, &rc);
		if (!l)
			return rc;
		buf_append(&c->scratch, c->p, l);
		c->p += l;
	}
	c->p++;
	if (!buf_ok(&c->scratch))
		return ij_nomem(c);
	*out = (const char *)c->scratch.data;
	*outn = c->scratch.len;
	return 0;
}

/* The string at c->p (its opening quote) -> its content, decoded: a slice of
 * the body when it has no escapes, else scratch (valid until the next
 * string). c->p ends after the closing quote. */
static int ij_string(ij_ctx *c, const char **out, size_t *outn)
{
	const char *start = ++c->p;
	int rc = 0;
	for (;;) {
		const char *p = ij_scan_plain(c->p, c->end);
		c->p = p;
		if (p == c->end) {
			c->p = start - 1;
			return ij_syntax(c, "unterminated string");
		}
		if (*p == '"') {
			*out = start;
			*outn = (size_t)(p - start);
			c->p = p + 1;
			return 0;
		}
		if (*p == '\\')
			return ij_string_escaped(c, start, out, outn);
		size_t l = ij_nonascii(c, &rc);
		if (!l)
			return rc;
		c->p += l;
	}
}

/* "true", "false" or "null" at c->p. */
static int ij_literal(ij_ctx *c, const char *word, size_t n)
{
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
		return ij_syntax(c, "invalid literal (expected %s)", word);
	c->p += n;
	return 0;
}

static inline void ij_digit(ij_num *num, unsigned d, int in_frac)
{
	if (num->sig < 19) {
		num->mant = num->mant * 10 + d;
		num->sig += num->mant != 0;
		num->frac += in_frac;
	} else {
		num->mant_ovf = 1;
	}
}

/* The JSON number at c->p (RFC 8259 grammar) -> *num; c->p after it. */
static int ij_number(ij_ctx *c, ij_num *num)
{
	const char *p = c->p, *end = c->end;
	memset(num, 0, sizeof *num);
	num->s = p;
	num->is_int = 1;
	if (*p == '-') {
		num->neg = 1;
		p++;
	}
	if (p == end || (unsigned)(*p - '0') > 9) {
		c->p = p;
		return ij_syntax(c, "expected a digit");
	}
	if (*p == '0') {
		p++;
		if (p < end && (unsigned)(*p - '0') <= 9) {
			c->p = p;
			return ij_syntax(c, "leading zero in a number");
		}
	} else {
		while (p < end && (unsigned)(*p - '0') <= 9)
			ij_digit(num, (unsigned)(*p++ - '0'), 0);
	}
	if (p < end && *p == '.') {
		num->is_int = 0;
		p++;
		if (p == end || (unsigned)(*p - '0') > 9) {
			c->p = p;
			return ij_syntax(c, "expected a digit after '.'");
		}
		while (p < end && (unsigned)(*p - '0') <= 9)
			ij_digit(num, (unsigned)(*p++ - '0'), 1);
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		num->is_int = 0;
		p++;
		int eneg = 0;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		if (p == end || (unsigned)(*p - '0') > 9) {
			c->p = p;
			return ij_syntax(c, "expected a digit in the exponent");
		}
		while (p < end && (unsigned)(*p - '0') <= 9) {
			if (num->exp < 1000000)
				num->exp = num->exp * 10 + (*p - '0');
			p++;
		}
		if (eneg)
			num->exp = -num->exp;
	}
	num->n = (size_t)(p - num->s);
	c->p = p;
	return 0;
}

/* The number's text for a message: at most IJ_NUMTEXT_MAX characters. */
static const char *ij_numtext(const ij_num *num, char out[IJ_NUMTEXT_MAX + 4])
{
	size_t n = num->n > IJ_NUMTEXT_MAX ? IJ_NUMTEXT_MAX : num->n;
	memcpy(out, num->s, n);
	strcpy(out + n, num->n > n ? "..." : "");
	return out;
}

/* ---- values ------------------------------------------------------------ */

static int ij_out_of_range(ij_ctx *c, int col, const ij_num *num)
{
	char t[IJ_NUMTEXT_MAX + 4], tn[32];
	coltype_name(&c->schema->cols[col], tn, sizeof tn);
	return ij_colerr(c, col, "%s is out of range for %s", ij_numtext(num, t), tn);
}

/* The number as an integer in lo..hi; the one scanner behind every integer
 * type (int16/32/64 and timestamp micros). */
static int ij_int(ij_ctx *c, int col, const ij_num *num, int64_t lo, int64_t hi, int64_t *out)
{
	if (!num->is_int) {
		char t[IJ_NUMTEXT_MAX + 4];
		return ij_colerr(c, col, "%s is not an integer", ij_numtext(num, t));
	}
	/* JSON integers have no leading zeros, so sig is the digit count and
	 * mant is exact unless mant_ovf (20+ digits, beyond int64 anyway). */
	uint64_t m = num->mant;
	int64_t v;
	if (num->mant_ovf)
		return ij_out_of_range(c, col, num);
	if (!num->neg && m <= (uint64_t)INT64_MAX)
		v = (int64_t)m;
	else if (num->neg && m <= (uint64_t)INT64_MAX)
		v = -(int64_t)m;
	else if (num->neg && m == (uint64_t)INT64_MAX + 1)
		v = INT64_MIN;
	else
		return ij_out_of_range(c, col, num);
	if (v < lo || v > hi)
		return ij_out_of_range(c, col, num);
	*out = v;
	return 0;
}

static const double ij_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                  1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                  1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const float ij_pow10f[] = {1e0f, 1e1f, 1e2f, 1e3f, 1e4f, 1e5f,
                                  1e6f, 1e7f, 1e8f, 1e9f, 1e10f};

/* The number as a correctly rounded float64 / float32 stored in col. */
static int ij_float(ij_ctx *c, int col, const ij_num *num, int is32)
{
#if FLT_EVAL_METHOD == 0
	/* Clinger: mant and 10^|e| are exact in the type, so one operation
	 * rounds once, correctly. float: mant < 10^7 < 2^24, 10^10 = 5^10 *
	 * 2^10 with 5^10 < 2^24; double: mant < 10^15 < 2^53, 5^22 < 2^53. */
	int64_t e = num->exp - num->frac;
	if (!num->mant_ovf && !is32 && num->sig <= 15 && e >= -22 && e <= 22) {
		double d = (double)num->mant;
		d = e < 0 ? d / ij_pow10[-e] : d * ij_pow10[e];
		batch_set_f64(c->b, col, num->neg ? -d : d);
		return 0;
	}
	if (!num->mant_ovf && is32 && num->sig <= 7 && e >= -10 && e <= 10) {
		float f = (float)num->mant;
		f = e < 0 ? f / ij_pow10f[-e] : f * ij_pow10f[e];
		batch_set_f32(c->b, col, num->neg ? -f : f);
		return 0;
	}
#endif
	char stack[128], *text = stack, *endp;
	if (num->n < sizeof stack) {
		memcpy(stack, num->s, num->n);
		stack[num->n] = '\0';
	} else {
		buf_reset(&c->scratch);
		buf_append(&c->scratch, num->s, num->n);
		buf_put_u8(&c->scratch, 0);
		if (!buf_ok(&c->scratch))
			return ij_nomem(c);
		text = (char *)c->scratch.data;
	}
	errno = 0;
	if (is32) {
		float f = strtof(text, &endp);
		if (errno == ERANGE && isinf(f))
			return ij_out_of_range(c, col, num);
		batch_set_f32(c->b, col, f);
	} else {
		double d = strtod(text, &endp);
		if (errno == ERANGE && isinf(d))
			return ij_out_of_range(c, col, num);
		batch_set_f64(c->b, col, d);
	}
	/* The JSON grammar is a subset of strtod's: it consumes everything. */
	assert(endp == text + num->n);
	return 0;
}

static int ij_decimal(ij_ctx *c, int col, const char *s, size_t n)
{
	const floe_column *fc = &c->schema->cols[col];
	char verr[ERR_LEN];
	__int128 v;
	if (value_parse_decimal(s, n, fc->precision, fc->scale, &v, verr))
		return ij_colerr(c, col, "%s", verr);
	batch_set_decimal(c->b, col, v);
	return 0;
}

static int ij_from_number(ij_ctx *c, int col, const ij_num *num)
{
	int64_t v;
	int rc;
	switch (c->schema->cols[col].type) {
	case FT_INT16:
		if ((rc = ij_int(c, col, num, INT16_MIN, INT16_MAX, &v)))
			return rc;
		batch_set_i32(c->b, col, (int32_t)v);
		return 0;
	case FT_INT32:
		if ((rc = ij_int(c, col, num, INT32_MIN, INT32_MAX, &v)))
			return rc;
		batch_set_i32(c->b, col, (int32_t)v);
		return 0;
	case FT_INT64:
		if ((rc = ij_int(c, col, num, INT64_MIN, INT64_MAX, &v)))
			return rc;
		batch_set_i64(c->b, col, v);
		return 0;
	case FT_TIMESTAMP:
	case FT_TIMESTAMPTZ:
		if ((rc = ij_int(c, col, num, VALUE_TS_MIN, VALUE_TS_MAX, &v)))
			return rc;
		batch_set_i64(c->b, col, v);
		return 0;
	case FT_TIME:
		if ((rc = ij_int(c, col, num, 0, VALUE_TIME_MAX, &v)))
			return rc;
		batch_set_i64(c->b, col, v);
		return 0;
	case FT_FLOAT32:
		return ij_float(c, col, num, 1);
	case FT_FLOAT64:
		return ij_float(c, col, num, 0);
	case FT_DECIMAL:
		/* The number's text is parsed as a decimal: 1.50 stays exact. */
		return ij_decimal(c, col, num->s, num->n);
	default:
		return ij_type_error(c, col, "a number");
	}
}

/* The strings float columns take for the values JSON numbers cannot hold. */
static int ij_float_word(ij_ctx *c, int col, const char *s, size_t n)
{
	double d;
	if (n == 3 && memcmp(s, "NaN", 3) == 0)
		d = NAN;
	else if (n == 8 && memcmp(s, "Infinity", 8) == 0)
		d = INFINITY;
	else if (n == 9 && memcmp(s, "-Infinity", 9) == 0)
		d = -INFINITY;
	else {
		char q[VALUE_QUOTE_LEN];
		value_quote(s, n, q);
		return ij_colerr(c, col,
		                 "%s is not a number (expected a JSON number or \"NaN\", "
		                 "\"Infinity\", \"-Infinity\")",
		                 q);
	}
	if (c->schema->cols[col].type == FT_FLOAT32)
		batch_set_f32(c->b, col, (float)d);
	else
		batch_set_f64(c->b, col, d);
	return 0;
}

static int ij_from_string(ij_ctx *c, int col, const char *s, size_t n)
{
	char verr[ERR_LEN];
	int rc = 0;
	switch (c->schema->cols[col].type) {
	case FT_STRING:
		batch_set_bytes(c->b, col, s, n);
		return 0;
	case FT_BINARY: {
		size_t outn;
		buf_reset(&c->bin);
		if (buf_reserve(&c->bin, n / 4 * 3 + 3))
			return ij_nomem(c);
		if (value_base64_decode(s, n, c->bin.data, &outn, verr))
			return ij_colerr(c, col, "%s", verr);
		batch_set_bytes(c->b, col, c->bin.data, outn);
		return 0;
	}
	case FT_DATE32: {
		int32_t d;
		if ((rc = value_parse_date(s, n, &d, verr)))
			return ij_colerr(c, col, "%s", verr);
		batch_set_i32(c->b, col, d);
		return 0;
	}
	case FT_TIMESTAMP:
	case FT_TIMESTAMPTZ: {
		int64_t t;
		if ((rc = value_parse_timestamp(s, n, &t, verr)))
			return ij_colerr(c, col, "%s", verr);
		batch_set_i64(c->b, col, t);
		return 0;
	}
	case FT_UUID: {
		uint8_t u[16];
		if ((rc = value_parse_uuid(s, n, u, verr)))
			return ij_colerr(c, col, "%s", verr);
		batch_set_fixed(c->b, col, u);
		return 0;
	}
	case FT_TIME: {
		int64_t t;
		if ((rc = value_parse_time(s, n, &t, verr)))
			return ij_colerr(c, col, "%s", verr);
		batch_set_i64(c->b, col, t);
		return 0;
	}
	case FT_DECIMAL:
		return ij_decimal(c, col, s, n);
	case FT_FLOAT32:
	case FT_FLOAT64:
		return ij_float_word(c, col, s, n);
	default:
		return ij_type_error(c, col, "a string");
	}
}

/* No value for col in this row (absent or null): null, or an error for a
 * non-nullable column unless the operation is delete (invariant 4). */
static int ij_absent(ij_ctx *c, int col, int why)
{
	if (!c->schema->cols[col].nullable && c->op != INGEST_DELETE) {
		if (c->op >= 0)
			return ij_colerr(c, col, "%s for non-nullable column",
			                 why == IJ_MISSING ? "missing value" : "null");
		if (!c->deferred) {
			c->deferred = why;
			c->def_row = c->row;
			c->def_col = col;
		}
	}
	batch_set_null(c->b, col);
	return 0;
}

static int ij_list(ij_ctx *c, int col);

/* One column value at c->p. */
static int ij_value(ij_ctx *c, int col)
{
	int ch = ij_peek(c), rc;
	if (ch == '"') {
		const char *s;
		size_t n;
		if ((rc = ij_string(c, &s, &n)))
			return rc;
		return ij_from_string(c, col, s, n);
	}
	if (ch == '-' || (ch >= '0' && ch <= '9')) {
		ij_num num;
		if ((rc = ij_number(c, &num)))
			return rc;
		return ij_from_number(c, col, &num);
	}
	if (ch == 't' || ch == 'f') {
		if ((rc = ij_literal(c, ch == 't' ? "true" : "false", ch == 't' ? 4 : 5)))
			return rc;
		if (c->schema->cols[col].type != FT_BOOLEAN)
			return ij_type_error(c, col, "a boolean");
		batch_set_bool(c->b, col, ch == 't');
		return 0;
	}
	if (ch == 'n') {
		if ((rc = ij_literal(c, "null", 4)))
			return rc;
		return ij_absent(c, col, IJ_NULL);
	}
	if (ch == '[' && c->schema->cols[col].type == FT_LIST)
		return ij_list(c, col);
	if (ch == '{' || ch == '[')
		return ij_type_error(c, col, ij_got(ch));
	return ij_syntax(c, "expected a value");
}

/* One element of list column col at c->p, appended to the row's list
 * (invariant 5). */
static int ij_elem(ij_ctx *c, int col)
{
	batch *rows = c->b;
	const floe_schema *schema = c->schema;
	c->b = &c->elem_batch;
	c->schema = &c->elem_schema;
	int rc = ij_value(c, col);
	c->b = rows;
	c->schema = schema;
	if (rc == 0 && batch_check(&c->elem_batch))
		rc = ij_nomem(c);
	const batch_col *e = &c->elem_batch.cols[col];
	if (rc == 0 && !e->valid.data[0])
		batch_list_elem_null(rows, col);
	else if (rc == 0 && e->kind == BC_BYTES)
		batch_list_elem_bytes(rows, col, e->bytes.data, e->bytes.len);
	else if (rc == 0)
		batch_list_elem_fixed(rows, col, e->values.data);
	batch_row_abort(&c->elem_batch);
	return rc;
}

/* A list column's value at c->p ('['): an array of element values (a
 * nested array or object is a type error naming the element). */
static int ij_list(ij_ctx *c, int col)
{
	int rc = 0;
	c->p++;
	batch_list_begin(c->b, col);
	ij_ws(c);
	if (ij_peek(c) != ']') {
		for (c->elem = 0;; c->elem++) {
			if ((rc = ij_elem(c, col)))
				goto out;
			ij_ws(c);
			int ch = ij_peek(c);
			if (ch == ']')
				break;
			if (ch != ',') {
				rc = ij_syntax(c, "expected ',' or ']'");
				goto out;
			}
			c->p++;
			ij_ws(c);
		}
	}
	c->p++;
	batch_list_end(c->b, col);
out:
	c->elem = -1;
	return rc;
}

/* ---- objects ----------------------------------------------------------- */

/* Both objects of the grammar (the body and a row) are walked alike:
 *   for (end = ij_obj_open(c); !end; end = ij_obj_next(c)) {
 *           ij_key; check the key; ij_colon; the value;
 *   }
 * and end < 0 is an error. Whitespace is skipped between all tokens. */

/* After the '{': skips whitespace; 1 (and consumes it) at '}', else 0. */
static inline int ij_obj_open(ij_ctx *c)
{
	ij_ws(c);
	if (ij_peek(c) == '}') {
		c->p++;
		return 1;
	}
	return 0;
}

/* After a member's value: 0 after a ',' (and whitespace), 1 after the
 * closing '}', or a syntax error. */
static inline int ij_obj_next(ij_ctx *c)
{
	ij_ws(c);
	int ch = ij_peek(c);
	if (ch != ',' && ch != '}')
		return ij_syntax(c, "expected ',' or '}'");
	c->p++;
	if (ch == '}')
		return 1;
	ij_ws(c);
	return 0;
}

/* A member's key string (see ij_string for how long *k stays valid). */
static inline int ij_key(ij_ctx *c, const char **k, size_t *kn)
{
	if (ij_peek(c) != '"')
		return ij_syntax(c, "expected a key string");
	return ij_string(c, k, kn);
}

/* The ':' after a key and the whitespace before the value. */
static inline int ij_colon(ij_ctx *c)
{
	int rc = ij_expect(c, ':', "':'");
	if (rc)
		return rc;
	ij_ws(c);
	return 0;
}

/* ---- rows -------------------------------------------------------------- */

static uint32_t ij_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

/* Column names are short: a byte loop beats a call to memcmp here. */
static inline int ij_name_is(const ij_ctx *c, int col, const char *k, size_t n)
{
	if (c->name_len[col] != n)
		return 0;
	const char *name = c->schema->cols[col].name;
	for (size_t i = 0; i < n; i++)
		if (name[i] != k[i])
			return 0;
	return 1;
}

/* The column named k at key position pos of a row, or -1. */
static inline int ij_lookup(ij_ctx *c, int pos, const char *k, size_t n)
{
	if (pos < c->ncols && ij_name_is(c, c->pred[pos], k, n))
		return c->pred[pos];
	int col = -1;
	for (uint32_t h = ij_hash(k, n) & c->hash_mask;; h = (h + 1) & c->hash_mask) {
		int cand = c->hash[h];
		if (cand < 0 || ij_name_is(c, cand, k, n)) {
			col = cand;
			break;
		}
	}
	if (col >= 0 && pos < c->ncols)
		c->pred[pos] = col;
	return col;
}

/* One row object at c->p ('{'), committed to the batch. */
static int ij_row(ij_ctx *c)
{
	size_t stamp = c->row + 1;
	int pos = 0, end, rc;
	c->p++;
	batch_row_begin(c->b);
	for (end = ij_obj_open(c); !end; end = ij_obj_next(c)) {
		const char *k;
		size_t kn;
		if ((rc = ij_key(c, &k, &kn)))
			return rc;
		int col = ij_lookup(c, pos, k, kn);
		if (col < 0) {
			char q[VALUE_QUOTE_LEN];
			value_quote(k, kn, q);
			return errf(c->err, FLOE_EINVAL, "data[%zu]: unknown column %s", c->row, q);
		}
		if (c->seen[col] == stamp)
			return ij_colerr(c, col, "duplicate key");
		c->seen[col] = stamp;
		pos++;
		if ((rc = ij_colon(c)) || (rc = ij_value(c, col)))
			return rc;
	}
	if (end < 0)
		return end;
	/* pos counts distinct columns (duplicates are errors above). */
	for (int col = 0; pos < c->ncols && col < c->ncols; col++) {
		if (c->seen[col] != stamp && (rc = ij_absent(c, col, IJ_MISSING)))
			return rc;
	}
	batch_row_commit(c->b);
	c->row++;
	return 0;
}

/* The value of "data": one row object or an array of them. */
static int ij_data(ij_ctx *c)
{
	int rc, ch = ij_peek(c);
	if (ch == '{')
		return ij_row(c);
	if (ch != '[')
		return ij_kind_error(c, "data", "an object or an array of objects");
	c->p++;
	ij_ws(c);
	if (ij_peek(c) == ']') {
		c->p++;
		return 0;
	}
	for (;;) {
		if (ij_peek(c) != '{') {
			char where[40];
			snprintf(where, sizeof where, "data[%zu]", c->row);
			return ij_kind_error(c, where, "an object");
		}
		if ((rc = ij_row(c)))
			return rc;
		ij_ws(c);
		ch = ij_peek(c);
		if (ch == ']') {
			c->p++;
			return 0;
		}
		if (ch != ',')
			return ij_syntax(c, "expected ',' or ']'");
		c->p++;
		ij_ws(c);
	}
}

/* ---- body -------------------------------------------------------------- */

enum { K_OPERATION, K_REQUEST_MODE, K_DATA, K_TABLE, K_DATABASE, K_COUNT };
static const char *const ij_keys[K_COUNT] = {"operation", "request_mode", "data", "table",
                                             "database"};
static const char *const ij_ops[] = {
    [INGEST_INSERT] = "insert",
    [INGEST_UPSERT] = "upsert",
    [INGEST_UPDATE] = "update",
    [INGEST_DELETE] = "delete",
};

const char *ingest_op_name(ingest_op op)
{
	if ((unsigned)op < sizeof ij_ops / sizeof ij_ops[0])
		return ij_ops[op];
	return "unknown";
}

/* A top-level string value for `key`. */
static int ij_top_string(ij_ctx *c, const char *key, const char **s, size_t *n)
{
	if (ij_peek(c) != '"')
		return ij_kind_error(c, key, "a string");
	return ij_string(c, s, n);
}

static int ij_top_value(ij_ctx *c, int key, ingest_request *req)
{
	const char *s;
	size_t n;
	char q[VALUE_QUOTE_LEN];
	int rc;
	if (key == K_DATA)
		return ij_data(c);
	if ((rc = ij_top_string(c, ij_keys[key], &s, &n)))
		return rc;
	if (key == K_OPERATION) {
		for (int op = 0; op < (int)(sizeof ij_ops / sizeof ij_ops[0]); op++) {
			if (strlen(ij_ops[op]) == n && memcmp(ij_ops[op], s, n) == 0) {
				c->op = op;
				return 0;
			}
		}
		value_quote(s, n, q);
		return errf(c->err, FLOE_EINVAL,
		            "operation: unknown operation %s (expected insert, upsert, update or "
		            "delete)",
		            q);
	}
	if (key == K_REQUEST_MODE) {
		if (n == 4 && memcmp(s, "sync", 4) == 0) {
			req->sync = 1;
		} else if (n == 5 && memcmp(s, "async", 5) == 0) {
			req->sync = 0;
		} else {
			value_quote(s, n, q);
			return errf(c->err, FLOE_EINVAL,
			            "request_mode: unknown mode %s (expected async or sync)", q);
		}
	}
	return 0; /* "table" and "database" are accepted and ignored */
}

static int ij_body(ij_ctx *c, ingest_request *req)
{
	unsigned seen = 0;
	int end, rc;
	if ((rc = ij_expect(c, '{', "'{'")))
		return rc;
	for (end = ij_obj_open(c); !end; end = ij_obj_next(c)) {
		const char *k;
		size_t kn;
		if ((rc = ij_key(c, &k, &kn)))
			return rc;
		int key = 0;
		while (key < K_COUNT &&
		       !(strlen(ij_keys[key]) == kn && memcmp(ij_keys[key], k, kn) == 0))
			key++;
		if (key == K_COUNT) {
			char q[VALUE_QUOTE_LEN];
			value_quote(k, kn, q);
			return errf(c->err, FLOE_EINVAL,
			            "unknown key %s (expected operation, request_mode, "
			            "data, table or database)",
			            q);
		}
		if (seen & 1u << key)
			return errf(c->err, FLOE_EINVAL, "%s: duplicate key", ij_keys[key]);
		seen |= 1u << key;
		if ((rc = ij_colon(c)) || (rc = ij_top_value(c, key, req)))
			return rc;
	}
	if (end < 0)
		return end;
	ij_ws(c);
	if (c->p != c->end)
		return ij_syntax(c, "unexpected data after the top-level object");
	if (!(seen & 1u << K_OPERATION))
		return errf(c->err, FLOE_EINVAL, "operation: missing");
	if (!(seen & 1u << K_DATA))
		return errf(c->err, FLOE_EINVAL, "data: missing");
	if (c->deferred && c->op != INGEST_DELETE) {
		c->row = c->def_row;
		return ij_colerr(c, c->def_col, "%s for non-nullable column",
		                 c->deferred == IJ_MISSING ? "missing value" : "null");
	}
	return 0;
}

/* The element schema and batch of invariant 5, when a column is a list. */
static int ij_setup_lists(ij_ctx *c)
{
	int lists = 0;
	for (int i = 0; i < c->ncols; i++)
		lists |= c->schema->cols[i].type == FT_LIST;
	if (!lists)
		return 0;
	c->elem_schema.cols = calloc((size_t)c->ncols, sizeof *c->elem_schema.cols);
	if (!c->elem_schema.cols)
		return FLOE_ENOMEM;
	c->elem_schema.ncols = c->ncols;
	for (int i = 0; i < c->ncols; i++) {
		const floe_column *fc = &c->schema->cols[i];
		if (fc->type == FT_LIST)
			coltype_element(fc, &c->elem_schema.cols[i]);
		else
			c->elem_schema.cols[i] = *fc;
	}
	return batch_init(&c->elem_batch, &c->elem_schema);
}

/* Per-body lookup state: name lengths, the row stamps, the position
 * prediction and the name hash, in one allocation. */
static int ij_setup(ij_ctx *c)
{
	int n = c->ncols;
	uint32_t hsize = 8;
	while (hsize < 2u * (uint32_t)n)
		hsize *= 2;
	size_t bytes = (size_t)n * (2 * sizeof(size_t) + sizeof(int)) + hsize * sizeof(int);
	char *mem = malloc(bytes);
	if (!mem)
		return FLOE_ENOMEM;
	c->name_len = (size_t *)(void *)mem;
	c->seen = c->name_len + n;
	c->pred = (int *)(void *)(c->seen + n);
	c->hash = c->pred + n;
	c->hash_mask = hsize - 1;
	memset(c->hash, 0xff, hsize * sizeof(int)); /* all -1 */
	for (int i = 0; i < n; i++) {
		const char *name = c->schema->cols[i].name;
		c->name_len[i] = strlen(name);
		c->seen[i] = 0;
		c->pred[i] = i; /* first guess: keys in schema order */
		uint32_t h = ij_hash(name, c->name_len[i]) & c->hash_mask;
		while (c->hash[h] >= 0 && !ij_name_is(c, c->hash[h], name, c->name_len[i]))
			h = (h + 1) & c->hash_mask;
		if (c->hash[h] < 0)
			c->hash[h] = i; /* a duplicate name keeps its first column */
	}
	return ij_setup_lists(c);
}

static void ij_release(ij_ctx *c)
{
	free(c->name_len);
	buf_release(&c->scratch);
	buf_release(&c->bin);
	batch_clear(&c->elem_batch);
	free(c->elem_schema.cols); /* the names are the schema's */
}

int ingest_parse(const char *body, size_t len, const floe_schema *schema, ingest_request *req,
                 char *err)
{
	if (!body)
		body = ""; /* len is 0; keeps the pointer arithmetic defined */
	ij_ctx c = {
	    .base = body,
	    .p = body,
	    .end = body + len,
	    .schema = schema,
	    .b = req->rows,
	    .err = err,
	    .op = -1,
	    .ncols = schema->ncols,
	    .elem = -1,
	};
	int rc;
	assert(req->rows->ncols == schema->ncols && req->rows->nrows == 0);
	req->sync = 0;
	if (ij_setup(&c)) {
		rc = ij_nomem(&c);
		goto fail;
	}
	if ((rc = ij_body(&c, req)))
		goto fail;
	if (batch_check(c.b) || !buf_ok(&c.scratch) || !buf_ok(&c.bin)) {
		rc = ij_nomem(&c);
		goto fail;
	}
	req->op = (ingest_op)c.op;
	ij_release(&c);
	return 0;
fail:
	batch_reset(c.b);
	ij_release(&c);
	return rc;
}
