/*
 * thrift_read — compact protocol reader (byte format, contract and
 * invariants in thrift_read.h; the format itself is specified in thrift.h).
 *
 * Every primitive read goes through thrift_need(), the one place that
 * compares a length with the bytes left; every count is bounded by the bytes
 * left before anything loops over it. The first error is recorded with its
 * offset and every later call fails the same way (invariant 3), so a caller
 * may check once at the end of a struct.
 */
#include "format/thrift_read.h"

#include <string.h>

#include "base/buf.h"
#include "base/err.h"

/* Thrift 0.19 added a UUID type (16 raw bytes); no Parquet struct uses it,
 * but a reader must be able to skip it. */
#define THRIFT_UUID 13

void thrift_reader_init(thrift_reader *t, const void *p, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->p = p;
	t->n = n;
}

static int thrift_fail(thrift_reader *t, const char *why, int eof)
{
	if (!t->why) {
		t->why = why;
		t->at = t->pos;
		t->eof = eof;
	}
	return FLOE_ECORRUPT;
}

/* Checks that k more bytes are there (invariant 1). */
static int thrift_need(thrift_reader *t, uint64_t k)
{
	if (t->why)
		return FLOE_ECORRUPT;
	if (k > t->n - t->pos)
		return thrift_fail(t, "truncated", 1);
	return 0;
}

int thrift_varint_decode(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
	uint64_t x = 0;
	size_t i = *pos;
	for (int shift = 0; shift < 70; shift += 7) {
		if (i >= n)
			return -1;
		uint8_t b = p[i++];
		if (shift == 63 && b > 1)
			return -1;
		x |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80)) {
			*v = x;
			*pos = i;
			return 0;
		}
	}
	return -1;
}

static int thrift_varint(thrift_reader *t, uint64_t *v)
{
	if (t->why)
		return FLOE_ECORRUPT;
	size_t pos = t->pos;
	if (thrift_varint_decode(t->p, t->n, &pos, v) == 0) {
		t->pos = pos;
		return 0;
	}
	/* A varint that stops at the end of the buffer may go on beyond it. */
	int eof = 1;
	for (size_t i = t->pos; i < t->n && i - t->pos < 10; i++)
		if (!(t->p[i] & 0x80) || i - t->pos == 9)
			eof = 0;
	return thrift_fail(t, eof ? "truncated varint" : "varint longer than 64 bits", eof);
}

/* A zigzag varint within [lo, hi]. */
static int thrift_zigzag_in(thrift_reader *t, int64_t lo, int64_t hi, int64_t *v)
{
	uint64_t u;
	size_t start = t->pos;
	int rc = thrift_varint(t, &u);
	if (rc)
		return rc;
	int64_t x = thrift_unzigzag(u);
	if (x < lo || x > hi) {
		t->pos = start; /* report where the value starts */
		return thrift_fail(t, "integer out of range for its type", 0);
	}
	*v = x;
	return 0;
}

static int thrift_byte(thrift_reader *t, uint8_t *b)
{
	int rc = thrift_need(t, 1);
	if (rc)
		return rc;
	*b = t->p[t->pos++];
	return 0;
}

/* Enters a struct or container (invariant 2). */
static int thrift_nest(thrift_reader *t)
{
	if (t->why)
		return FLOE_ECORRUPT;
	if (t->nest + 1 >= THRIFT_MAX_DEPTH)
		return thrift_fail(t, "nested too deeply", 0);
	t->nest++;
	return 0;
}

int thrift_read_field(thrift_reader *t, int16_t *id, int *type)
{
	uint8_t h;
	int rc;
	if (t->depth < 0)
		return thrift_fail(t, "read past the end of the message", 0);
	if ((rc = thrift_byte(t, &h)))
		return rc;
	if (h == THRIFT_STOP) {
		t->depth--;
		if (t->nest > 0)
			t->nest--;
		return 0;
	}
	int ty = h & 0x0F;
	if (ty == THRIFT_STOP || ty > THRIFT_UUID) {
		t->pos--;
		return thrift_fail(t, "bad field type", 0);
	}
	int64_t fid;
	if (h >> 4) {
		fid = (int64_t)t->last[t->depth] + (h >> 4);
		if (fid > INT16_MAX) {
			t->pos--;
			return thrift_fail(t, "field id above 32767", 0);
		}
	} else if ((rc = thrift_zigzag_in(t, INT16_MIN, INT16_MAX, &fid))) {
		return rc;
	}
	t->last[t->depth] = (int16_t)fid;
	*id = (int16_t)fid;
	*type = ty;
	return 1;
}

int thrift_read_fields(thrift_reader *t, thrift_field_fn fn, void *ctx)
{
	int16_t id;
	int type, rc;
	while ((rc = thrift_read_field(t, &id, &type)) > 0)
		if ((rc = fn(t, id, type, ctx)) < 0)
			return rc;
	return rc;
}

int thrift_read_struct_fields(thrift_reader *t, int type, thrift_field_fn fn, void *ctx)
{
	int rc = thrift_read_struct(t, type);
	if (rc > 0 && (rc = thrift_read_fields(t, fn, ctx)) == 0)
		rc = 1;
	return rc;
}

static int thrift_is_bool(int type)
{
	return type == THRIFT_BOOL_TRUE || type == THRIFT_BOOL_FALSE;
}

/* A list or set header: element type and size, the size checked against
 * the bytes left (every element takes at least one byte). */
static int thrift_list_header(thrift_reader *t, int *elem, uint32_t *count)
{
	uint8_t b;
	uint64_t u;
	int rc;
	if ((rc = thrift_byte(t, &b)))
		return rc;
	*elem = b & 0x0F;
	u = b >> 4;
	if (u == 15 && (rc = thrift_varint(t, &u)))
		return rc;
	if (u && (*elem == THRIFT_STOP || *elem > THRIFT_UUID))
		return thrift_fail(t, "bad list element type", 0);
	if (u > UINT32_MAX)
		return thrift_fail(t, "list size above 2^32", 0);
	if ((rc = thrift_need(t, u)))
		return rc;
	*count = (uint32_t)u;
	return 0;
}

/* Skips a value; in_list: a bool is a byte (not the type nibble). */
static int thrift_skip_value(thrift_reader *t, int type, int in_list)
{
	uint64_t u;
	uint8_t b;
	int rc;
	switch (type) {
	case THRIFT_BOOL_TRUE:
	case THRIFT_BOOL_FALSE: {
		int v;
		return in_list ? thrift_get_bool(t, &v) : thrift_need(t, 0);
	}
	case THRIFT_I8:
		return thrift_byte(t, &b);
	case THRIFT_I16:
	case THRIFT_I32:
	case THRIFT_I64:
		return thrift_varint(t, &u);
	case THRIFT_DOUBLE:
	case THRIFT_UUID:
		if ((rc = thrift_need(t, type == THRIFT_DOUBLE ? 8 : 16)))
			return rc;
		t->pos += type == THRIFT_DOUBLE ? 8 : 16;
		return 0;
	case THRIFT_BINARY: {
		const uint8_t *p;
		size_t len;
		return thrift_get_binary(t, &p, &len);
	}
	case THRIFT_LIST:
	case THRIFT_SET: {
		int elem;
		uint32_t count;
		if ((rc = thrift_list_header(t, &elem, &count)) || (rc = thrift_nest(t)))
			return rc;
		rc = thrift_skip_elems(t, elem, count);
		t->nest--;
		return rc;
	}
	case THRIFT_MAP: {
		if ((rc = thrift_varint(t, &u)))
			return rc;
		if (u == 0)
			return 0;
		if ((rc = thrift_byte(t, &b)))
			return rc;
		int kt = b >> 4, vt = b & 0x0F;
		if (kt == THRIFT_STOP || kt > THRIFT_UUID || vt == THRIFT_STOP || vt > THRIFT_UUID)
			return thrift_fail(t, "bad map key or value type", 0);
		/* Every pair takes at least two bytes. */
		if (u > (t->n - t->pos) / 2)
			return thrift_fail(t, "truncated map", 1);
		if ((rc = thrift_nest(t)))
			return rc;
		for (uint64_t i = 0; i < u && !rc; i++)
			if (!(rc = thrift_skip_value(t, kt, 1)))
				rc = thrift_skip_value(t, vt, 1);
		t->nest--;
		return rc;
	}
	case THRIFT_STRUCT: {
		int16_t id;
		int ty;
		if ((rc = thrift_get_struct(t)))
			return rc;
		while ((rc = thrift_read_field(t, &id, &ty)) > 0)
			if ((rc = thrift_skip_value(t, ty, 0)))
				return rc;
		return rc;
	}
	}
	return thrift_fail(t, "bad type", 0);
}

int thrift_skip(thrift_reader *t, int type)
{
	return thrift_skip_value(t, type, 0);
}

int thrift_skip_elems(thrift_reader *t, int elem, uint32_t left)
{
	int rc = 0;
	for (uint32_t i = 0; i < left && !rc; i++)
		rc = thrift_skip_value(t, elem, 1);
	return rc;
}

/* 1 when a field of this type holds what the caller reads; otherwise the
 * value is skipped and the field counts as absent (0), or an error. */
static int thrift_want(thrift_reader *t, int type, int want)
{
	int ok = want == THRIFT_BOOL ? thrift_is_bool(type) : type == want;
	if (!ok)
		return thrift_skip(t, type);
	return t->why ? FLOE_ECORRUPT : 1;
}

/* A field reader's result from its element reader's (0 or an error). */
static int thrift_got(int rc)
{
	return rc ? rc : 1;
}

int thrift_read_bool(thrift_reader *t, int type, int *v)
{
	int rc = thrift_want(t, type, THRIFT_BOOL);
	if (rc > 0)
		*v = type == THRIFT_BOOL_TRUE;
	return rc;
}

int thrift_read_i8(thrift_reader *t, int type, int8_t *v)
{
	uint8_t b;
	int rc = thrift_want(t, type, THRIFT_I8);
	if (rc > 0 && (rc = thrift_got(thrift_byte(t, &b))) > 0)
		*v = (int8_t)b;
	return rc;
}

int thrift_read_i32(thrift_reader *t, int type, int32_t *v)
{
	int rc = thrift_want(t, type, THRIFT_I32);
	return rc > 0 ? thrift_got(thrift_get_i32(t, v)) : rc;
}

int thrift_read_i64(thrift_reader *t, int type, int64_t *v)
{
	int rc = thrift_want(t, type, THRIFT_I64);
	return rc > 0 ? thrift_got(thrift_get_i64(t, v)) : rc;
}

int thrift_read_binary(thrift_reader *t, int type, const uint8_t **p, size_t *len)
{
	int rc = thrift_want(t, type, THRIFT_BINARY);
	return rc > 0 ? thrift_got(thrift_get_binary(t, p, len)) : rc;
}

int thrift_read_struct(thrift_reader *t, int type)
{
	int rc = thrift_want(t, type, THRIFT_STRUCT);
	return rc > 0 ? thrift_got(thrift_get_struct(t)) : rc;
}

int thrift_read_list(thrift_reader *t, int type, int elem, uint32_t *count)
{
	if (type != THRIFT_LIST && type != THRIFT_SET)
		return thrift_skip(t, type);
	size_t start = t->pos;
	int et, rc;
	uint32_t n;
	if ((rc = thrift_list_header(t, &et, &n)))
		return rc;
	if (et != elem && !(elem == THRIFT_BOOL && thrift_is_bool(et))) {
		t->pos = start;
		return thrift_skip(t, type);
	}
	*count = n;
	return 1;
}

int thrift_get_bool(thrift_reader *t, int *v)
{
	uint8_t b;
	int rc = thrift_byte(t, &b);
	if (rc)
		return rc;
	if (b > THRIFT_BOOL_FALSE) {
		t->pos--;
		return thrift_fail(t, "bad bool", 0);
	}
	*v = b == THRIFT_BOOL_TRUE;
	return 0;
}

int thrift_get_i32(thrift_reader *t, int32_t *v)
{
	int64_t x;
	int rc = thrift_zigzag_in(t, INT32_MIN, INT32_MAX, &x);
	if (rc)
		return rc;
	*v = (int32_t)x;
	return 0;
}

int thrift_get_i64(thrift_reader *t, int64_t *v)
{
	uint64_t u;
	int rc = thrift_varint(t, &u);
	if (rc)
		return rc;
	*v = thrift_unzigzag(u);
	return 0;
}

int thrift_get_binary(thrift_reader *t, const uint8_t **p, size_t *len)
{
	uint64_t u;
	int rc;
	if ((rc = thrift_varint(t, &u)) || (rc = thrift_need(t, u)))
		return rc;
	*p = t->p + t->pos;
	*len = (size_t)u;
	t->pos += (size_t)u;
	return 0;
}

int thrift_get_struct(thrift_reader *t)
{
	int rc = thrift_nest(t);
	if (rc)
		return rc;
	t->last[++t->depth] = 0; /* depth <= nest < THRIFT_MAX_DEPTH */
	return 0;
}
