/*
 * thrift — compact protocol writer (byte format and contract in thrift.h).
 *
 * The writer keeps a small stack of open structs and lists so that field-id
 * deltas restart inside nested structs and list sizes are checked; misuse is
 * recorded in `bad` rather than asserted, so a bug shows up as an error from
 * thrift_finish() in tests instead of a corrupt footer in production.
 */
#include "format/thrift.h"

#include <string.h>

void thrift_init(thrift_writer *t, buf *out)
{
	memset(t, 0, sizeof(*t));
	t->out = out;
}

int thrift_finish(thrift_writer *t)
{
	if (t->depth != 0)
		t->bad = 1;
	buf_put_u8(t->out, THRIFT_STOP);
	return t->bad || !buf_ok(t->out) ? -1 : 0;
}

/* Writes a field header in the innermost struct. */
static void thrift_field_header(thrift_writer *t, int16_t id, int type)
{
	thrift_frame *f = &t->f[t->depth];
	if (f->is_list) {
		t->bad = 1;
		return;
	}
	int delta = (int)id - (int)f->last;
	if (delta > 0 && delta <= 15) {
		buf_put_u8(t->out, (uint8_t)(delta << 4 | type));
	} else {
		buf_put_u8(t->out, (uint8_t)type);
		thrift_put_varint(t->out, thrift_zigzag(id));
	}
	f->last = id;
}

static void thrift_push(thrift_writer *t, int is_list, int elem, uint32_t count)
{
	if (t->depth + 1 >= THRIFT_MAX_DEPTH) {
		t->bad = 1;
		return;
	}
	thrift_frame *f = &t->f[++t->depth];
	f->is_list = (uint8_t)is_list;
	f->elem = (uint8_t)elem;
	f->last = 0;
	f->remaining = count;
}

/* Checks that a list element of type elem is due, and counts it. A list
 * whose last element was written is closed. */
static int thrift_elem_due(thrift_writer *t, int elem)
{
	thrift_frame *f = &t->f[t->depth];
	if (!f->is_list || f->elem != elem || f->remaining == 0) {
		t->bad = 1;
		return 0;
	}
	return 1;
}

static void thrift_elem_done(thrift_writer *t)
{
	thrift_frame *f = &t->f[t->depth];
	if (--f->remaining == 0)
		t->depth--;
}

void thrift_field_bool(thrift_writer *t, int16_t id, int v)
{
	thrift_field_header(t, id, v ? THRIFT_BOOL_TRUE : THRIFT_BOOL_FALSE);
}

void thrift_field_i8(thrift_writer *t, int16_t id, int8_t v)
{
	thrift_field_header(t, id, THRIFT_I8);
	buf_put_u8(t->out, (uint8_t)v);
}

void thrift_field_i16(thrift_writer *t, int16_t id, int16_t v)
{
	thrift_field_header(t, id, THRIFT_I16);
	thrift_put_varint(t->out, thrift_zigzag(v));
}

void thrift_field_i32(thrift_writer *t, int16_t id, int32_t v)
{
	thrift_field_header(t, id, THRIFT_I32);
	thrift_put_varint(t->out, thrift_zigzag(v));
}

void thrift_field_i64(thrift_writer *t, int16_t id, int64_t v)
{
	thrift_field_header(t, id, THRIFT_I64);
	thrift_put_varint(t->out, thrift_zigzag(v));
}

void thrift_field_binary(thrift_writer *t, int16_t id, const void *p, size_t n)
{
	thrift_field_header(t, id, THRIFT_BINARY);
	thrift_put_varint(t->out, n);
	buf_append(t->out, p, n);
}

void thrift_field_string(thrift_writer *t, int16_t id, const char *s)
{
	thrift_field_binary(t, id, s, strlen(s));
}

void thrift_struct_begin(thrift_writer *t, int16_t id)
{
	thrift_field_header(t, id, THRIFT_STRUCT);
	thrift_push(t, 0, 0, 0);
}

void thrift_struct_end(thrift_writer *t)
{
	if (t->depth == 0 || t->f[t->depth].is_list) {
		t->bad = 1;
		return;
	}
	buf_put_u8(t->out, THRIFT_STOP);
	t->depth--;
	/* A struct closed inside a list was one of its elements. */
	if (t->f[t->depth].is_list)
		thrift_elem_done(t);
}

void thrift_list_begin(thrift_writer *t, int16_t id, int elem, uint32_t count)
{
	thrift_field_header(t, id, THRIFT_LIST);
	if (count < 15) {
		buf_put_u8(t->out, (uint8_t)(count << 4 | (uint32_t)elem));
	} else {
		buf_put_u8(t->out, (uint8_t)(0xF0 | elem));
		thrift_put_varint(t->out, count);
	}
	if (count > 0)
		thrift_push(t, 1, elem, count);
}

void thrift_elem_bool(thrift_writer *t, int v)
{
	if (!thrift_elem_due(t, THRIFT_BOOL))
		return;
	buf_put_u8(t->out, v ? THRIFT_BOOL_TRUE : THRIFT_BOOL_FALSE);
	thrift_elem_done(t);
}

void thrift_elem_i32(thrift_writer *t, int32_t v)
{
	if (!thrift_elem_due(t, THRIFT_I32))
		return;
	thrift_put_varint(t->out, thrift_zigzag(v));
	thrift_elem_done(t);
}

void thrift_elem_i64(thrift_writer *t, int64_t v)
{
	if (!thrift_elem_due(t, THRIFT_I64))
		return;
	thrift_put_varint(t->out, thrift_zigzag(v));
	thrift_elem_done(t);
}

void thrift_elem_binary(thrift_writer *t, const void *p, size_t n)
{
	if (!thrift_elem_due(t, THRIFT_BINARY))
		return;
	thrift_put_varint(t->out, n);
	buf_append(t->out, p, n);
	thrift_elem_done(t);
}

void thrift_elem_string(thrift_writer *t, const char *s)
{
	thrift_elem_binary(t, s, strlen(s));
}

void thrift_elem_struct_begin(thrift_writer *t)
{
	if (!thrift_elem_due(t, THRIFT_STRUCT))
		return;
	thrift_push(t, 0, 0, 0);
}
