/*
 * bounds — Parquet column min/max to Iceberg single-value bounds (contract in
 * bounds.h, spec appendix D).
 *
 * Owns nothing: appends to the caller's buffers.
 * Invariants of what it produces:
 *   1. A lower bound is <= every value of the column and an upper bound is >=
 *      every value, in Iceberg's order for the type (readers prune files with
 *      them, so a wrong bound silently loses rows).
 *   2. Strings stay valid UTF-8 and are cut only on a code point boundary;
 *      a truncated upper bound has its last incrementable code point
 *      incremented (never into the surrogate range) and what follows dropped.
 *   3. Nothing is padded; decimals use the fewest bytes that keep the sign.
 * The Parquet writer never reports NaN as min/max; a NaN here is refused
 * rather than written, because a NaN bound breaks every reader's pruning.
 * Any thread. Errors: FLOE_EINVAL (value of the wrong width, invalid UTF-8,
 * NaN), FLOE_ENOMEM.
 */
#include "iceberg/bounds.h"
#include "base/err.h"

#include <math.h>
#include <string.h>

/* One side of a column's range. */
typedef enum ice_bound_side { ICE_LOWER, ICE_UPPER } ice_bound_side;

static int ice_check_len(const ice_field *f, const char *which, size_t len, size_t want, char *err)
{
	if (len != want)
		return errf(err, FLOE_EINVAL, "column '%s': %s value has %zu bytes, expected %zu",
		            f->name, which, len, want);
	return 0;
}

/* Appends the unscaled value `be` (n bytes big-endian two's complement) with
 * redundant sign bytes removed: a leading 0x00 before a byte < 0x80, or a
 * leading 0xff before a byte >= 0x80, carries no information. */
static void ice_put_min_twos_complement(buf *out, const uint8_t *be, size_t n)
{
	size_t i = 0;
	while (i + 1 < n &&
	       ((be[i] == 0x00 && !(be[i + 1] & 0x80)) || (be[i] == 0xff && (be[i + 1] & 0x80))))
		i++;
	buf_append(out, be + i, n - i);
}

static int ice_decimal_bound(const ice_field *f, const char *which, const uint8_t *v, size_t len,
                             buf *out, char *err)
{
	uint8_t be[8];
	int rc;
	/* The Parquet physical type follows the precision (parquet.h). */
	if (f->precision <= 9) {
		if ((rc = ice_check_len(f, which, len, 4, err)))
			return rc;
		put_be32(be, get_le32(v));
		ice_put_min_twos_complement(out, be, 4);
	} else if (f->precision <= 18) {
		if ((rc = ice_check_len(f, which, len, 8, err)))
			return rc;
		put_be64(be, get_le64(v));
		ice_put_min_twos_complement(out, be, 8);
	} else {
		if (len < 1 || len > 16)
			return errf(err, FLOE_EINVAL,
			            "column '%s': %s decimal value has %zu bytes, expected 1..16",
			            f->name, which, len);
		ice_put_min_twos_complement(out, v, len);
	}
	return 0;
}

static int ice_float_bound(const ice_field *f, const char *which, const uint8_t *v, size_t len,
                           buf *out, char *err)
{
	int is_nan;
	size_t want = f->type == ICE_FLOAT ? 4 : 8;
	int rc = ice_check_len(f, which, len, want, err);
	if (rc)
		return rc;
	if (f->type == ICE_FLOAT) {
		uint32_t bits = get_le32(v);
		float x;
		memcpy(&x, &bits, sizeof x);
		is_nan = isnan(x);
	} else {
		uint64_t bits = get_le64(v);
		double x;
		memcpy(&x, &bits, sizeof x);
		is_nan = isnan(x);
	}
	if (is_nan)
		return errf(err, FLOE_EINVAL, "column '%s': %s value is NaN", f->name, which);
	buf_append(out, v, len);
	return 0;
}

/*
 * Decodes the UTF-8 sequence at s[i..n); returns its length (1..4) and the
 * code point, or 0 when the bytes are not well-formed UTF-8 (overlong forms,
 * surrogates and values above U+10FFFF are rejected, as RFC 3629 requires).
 */
static size_t ice_utf8_decode(const uint8_t *s, size_t i, size_t n, uint32_t *cp)
{
	uint8_t c = s[i];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n - i < len)
		return 0;
	for (size_t k = 1; k < len; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i + k] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static void ice_utf8_encode(buf *out, uint32_t cp)
{
	uint8_t b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | cp >> 6);
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | cp >> 12);
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | cp >> 18);
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_append(out, b, n);
}

static int ice_string_bound(const ice_field *f, const char *which, ice_bound_side side,
                            const uint8_t *s, size_t n, buf *out, int *has_bound, char *err)
{
	/* starts[k] = byte offset of code point k, for the first CHARS + 1. */
	size_t starts[ICE_BOUND_STRING_CHARS + 1];
	uint32_t cps[ICE_BOUND_STRING_CHARS];
	size_t ncp = 0, i = 0;
	while (i < n) {
		uint32_t cp;
		size_t len = ice_utf8_decode(s, i, n, &cp);
		if (len == 0)
			return errf(err, FLOE_EINVAL,
			            "column '%s': %s value is not valid UTF-8 at byte %zu", f->name,
			            which, i);
		if (ncp == ICE_BOUND_STRING_CHARS)
			break;
		starts[ncp] = i;
		cps[ncp++] = cp;
		i += len;
	}
	/* Validate the rest too: a bound must never come from malformed text. */
	for (size_t j = i; j < n;) {
		uint32_t cp;
		size_t len = ice_utf8_decode(s, j, n, &cp);
		if (len == 0)
			return errf(err, FLOE_EINVAL,
			            "column '%s': %s value is not valid UTF-8 at byte %zu", f->name,
			            which, j);
		j += len;
	}
	*has_bound = 1;
	if (i == n || side == ICE_LOWER) {
		/* Untruncated, or a lower bound: a prefix is <= the value. */
		buf_append(out, s, i);
		return 0;
	}
	/* Truncated upper bound: increment the last code point that can be,
	 * dropping the ones after it; the result is > every string with the
	 * kept prefix. */
	for (size_t k = ncp; k-- > 0;) {
		uint32_t next = cps[k] + 1;
		if (next == 0xd800)
			next = 0xe000; /* surrogates are not characters */
		if (next > 0x10ffff)
			continue;
		buf_append(out, s, starts[k]);
		ice_utf8_encode(out, next);
		return 0;
	}
	*has_bound = 0;
	return 0;
}

static void ice_binary_bound(ice_bound_side side, const uint8_t *s, size_t n, buf *out,
                             int *has_bound)
{
	*has_bound = 1;
	if (n <= ICE_BOUND_BINARY_BYTES || side == ICE_LOWER) {
		buf_append(out, s, n < ICE_BOUND_BINARY_BYTES ? n : ICE_BOUND_BINARY_BYTES);
		return;
	}
	/* Unsigned byte order: bump the last byte below 0xff, drop the rest. */
	for (size_t k = ICE_BOUND_BINARY_BYTES; k-- > 0;) {
		if (s[k] == 0xff)
			continue;
		buf_append(out, s, k);
		buf_put_u8(out, (uint8_t)(s[k] + 1));
		return;
	}
	*has_bound = 0;
}

/* Converts one Parquet min or max into its Iceberg bound. *has_bound = 0
 * when there is none (only possible for a truncated upper bound). */
static int ice_one_bound(const ice_field *f, ice_bound_side side, const uint8_t *v, size_t len,
                         buf *out, int *has_bound, char *err)
{
	const char *which = side == ICE_LOWER ? "min" : "max";
	int rc;
	*has_bound = 1;
	switch (f->type) {
	case ICE_BOOLEAN:
		if ((rc = ice_check_len(f, which, len, 1, err)))
			return rc;
		buf_put_u8(out, v[0] ? 1 : 0);
		return 0;
	case ICE_INT:
	case ICE_DATE:
		if ((rc = ice_check_len(f, which, len, 4, err)))
			return rc;
		buf_append(out, v, 4);
		return 0;
	case ICE_LONG:
	case ICE_TIME:
	case ICE_TIMESTAMP:
	case ICE_TIMESTAMPTZ:
		if ((rc = ice_check_len(f, which, len, 8, err)))
			return rc;
		buf_append(out, v, 8);
		return 0;
	case ICE_FLOAT:
	case ICE_DOUBLE:
		return ice_float_bound(f, which, v, len, out, err);
	case ICE_DECIMAL:
		return ice_decimal_bound(f, which, v, len, out, err);
	case ICE_STRING:
		return ice_string_bound(f, which, side, v, len, out, has_bound, err);
	case ICE_UUID:
		/* FLBA(16) holds the UUID big-endian already. */
		if ((rc = ice_check_len(f, which, len, 16, err)))
			return rc;
		buf_append(out, v, 16);
		return 0;
	case ICE_FIXED:
		/* Kept whole: readers may expect exactly L bytes for fixed[L]. */
		if ((rc = ice_check_len(f, which, len, (size_t)f->length, err)))
			return rc;
		buf_append(out, v, len);
		return 0;
	case ICE_BINARY:
		ice_binary_bound(side, v, len, out, has_bound);
		return 0;
	case ICE_LIST:
		/* Bounds belong to leaf fields; a list's own id never has any. */
		return errf(err, FLOE_EINVAL, "column '%s': a list has no bounds", f->name);
	}
	return errf(err, FLOE_EINVAL, "column '%s': invalid type %d", f->name, (int)f->type);
}

int ice_bounds_from_parquet(const ice_field *f, const uint8_t *pq_min, size_t min_len,
                            const uint8_t *pq_max, size_t max_len, buf *lower, buf *upper,
                            int *has_upper, char *err)
{
	size_t lower_len0 = lower->len, upper_len0 = upper->len;
	int has_lower, rc;
	*has_upper = 0;
	if ((rc = ice_one_bound(f, ICE_LOWER, pq_min, min_len, lower, &has_lower, err)))
		goto fail;
	if ((rc = ice_one_bound(f, ICE_UPPER, pq_max, max_len, upper, has_upper, err)))
		goto fail;
	if (!buf_ok(lower) || !buf_ok(upper)) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	return 0;
fail:
	/* Leave the buffers as they were: the caller may go on with other columns. */
	lower->len = lower_len0 < lower->len ? lower_len0 : lower->len;
	upper->len = upper_len0 < upper->len ? upper_len0 : upper->len;
	*has_upper = 0;
	return rc;
}
