/*
 * thrift — a Thrift compact protocol WRITER, just enough for Parquet's
 * footer and page headers. It owns no I/O: bytes are appended to a buf.
 *
 * Byte format (Apache Thrift compact protocol, as the Java and C++
 * implementations write it):
 *   varint     unsigned LEB128: 7 bits per byte, least significant group
 *              first, high bit set on every byte but the last.
 *   zigzag     i16/i32/i64 are mapped (n << 1) ^ (n >> 63) before the varint,
 *              so small negative numbers stay short (-1 -> 1, 1 -> 2).
 *   i8         one raw byte.
 *   binary     varint length, then the bytes (strings are UTF-8 binaries).
 *   field      header byte `dddd tttt`: dddd = field id minus the previous
 *              field id of the same struct (1..15), tttt = type; when the
 *              delta is outside 1..15 the header is `0000 tttt` followed by
 *              the field id as a zigzag varint (long form). Types: BOOL_TRUE 1,
 *              BOOL_FALSE 2, I8 3, I16 4, I32 5, I64 6, DOUBLE 7, BINARY 8,
 *              LIST 9, SET 10, MAP 11, STRUCT 12.
 *   bool field no value bytes: the value is the type nibble (1 true, 2 false).
 *   struct     its fields, then a stop byte 0x00. Field-id deltas restart at
 *              0 inside every nested struct and resume in the parent after it.
 *   union      a struct with exactly one field.
 *   list       header `ssss tttt` (size 0..14 in the high nibble, element
 *              type low) or `1111 tttt` + varint size when size >= 15; then
 *              the elements, each encoded like a field value without a field
 *              header. Bool elements are one byte, 1 true / 2 false, with
 *              element type 1 (what the Java and C++ libraries write; their
 *              readers, and Rust's, accept it).
 *
 * Usage: thrift_init() opens the top-level struct; write fields with
 * thrift_field_*(); thrift_struct_begin()/thrift_list_begin() open nested
 * values, thrift_struct_end() closes a struct (field or list element);
 * thrift_finish() writes the top-level stop byte and reports errors.
 *
 * Invariants:
 *   1. Field ids within one struct are written in strictly increasing order
 *      (the writer accepts any order, but Parquet readers expect the delta
 *      form's ordering and it keeps output canonical).
 *   2. Errors are sticky: an allocation failure (the buf is poisoned), nesting
 *      deeper than THRIFT_MAX_DEPTH, a field written where a list element is
 *      due (or the reverse), an element of the wrong type, an unbalanced
 *      thrift_struct_end, or a list given more or fewer elements than its
 *      header announced make thrift_finish() return -1; nothing is reported
 *      before that.
 * Not thread-safe; a writer lives on the caller's stack for one message.
 */
#ifndef FLOE_THRIFT_H
#define FLOE_THRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

enum {
	THRIFT_STOP = 0,
	THRIFT_BOOL_TRUE = 1,
	THRIFT_BOOL_FALSE = 2,
	THRIFT_I8 = 3,
	THRIFT_I16 = 4,
	THRIFT_I32 = 5,
	THRIFT_I64 = 6,
	THRIFT_DOUBLE = 7,
	THRIFT_BINARY = 8,
	THRIFT_LIST = 9,
	THRIFT_SET = 10,
	THRIFT_MAP = 11,
	THRIFT_STRUCT = 12,
};
/* Element type of a list<bool> (see the header comment). */
#define THRIFT_BOOL THRIFT_BOOL_TRUE

#define THRIFT_MAX_DEPTH 16

/* One open struct or list. */
typedef struct thrift_frame {
	uint8_t is_list;
	uint8_t elem;       /* list: element type */
	int16_t last;       /* struct: last field id written */
	uint32_t remaining; /* list: elements still to come */
} thrift_frame;

typedef struct thrift_writer {
	buf *out;
	int depth; /* index of the innermost open frame; 0 = top-level struct */
	int bad;   /* sticky misuse flag */
	thrift_frame f[THRIFT_MAX_DEPTH];
} thrift_writer;

/* Unsigned LEB128. Also used by Parquet's RLE and delta encodings. */
static inline void thrift_put_varint(buf *b, uint64_t v)
{
	uint8_t t[10];
	int n = 0;
	while (v >= 0x80) {
		t[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	t[n++] = (uint8_t)v;
	buf_append(b, t, (size_t)n);
}

static inline uint64_t thrift_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/* Starts a message (the top-level struct) appended to out. */
void thrift_init(thrift_writer *t, buf *out);
/* Writes the top-level stop byte. Returns 0, or -1 on OOM or misuse (see
 * invariant 2); out then holds garbage. */
int thrift_finish(thrift_writer *t);

void thrift_field_bool(thrift_writer *t, int16_t id, int v);
void thrift_field_i8(thrift_writer *t, int16_t id, int8_t v);
void thrift_field_i16(thrift_writer *t, int16_t id, int16_t v);
void thrift_field_i32(thrift_writer *t, int16_t id, int32_t v);
void thrift_field_i64(thrift_writer *t, int16_t id, int64_t v);
void thrift_field_binary(thrift_writer *t, int16_t id, const void *p, size_t n);
void thrift_field_string(thrift_writer *t, int16_t id, const char *s);
/* Opens a struct-typed field; the fields written next belong to it until
 * thrift_struct_end(). */
void thrift_struct_begin(thrift_writer *t, int16_t id);
/* Writes the stop byte of the innermost open struct (field or element). */
void thrift_struct_end(thrift_writer *t);
/* Opens a list-typed field of `count` elements of type elem; follow with
 * exactly count thrift_elem_*() calls (or thrift_elem_struct_begin/end). */
void thrift_list_begin(thrift_writer *t, int16_t id, int elem, uint32_t count);

void thrift_elem_bool(thrift_writer *t, int v);
void thrift_elem_i32(thrift_writer *t, int32_t v);
void thrift_elem_i64(thrift_writer *t, int64_t v);
void thrift_elem_binary(thrift_writer *t, const void *p, size_t n);
void thrift_elem_string(thrift_writer *t, const char *s);
/* Opens a struct element of a list<struct>; close with thrift_struct_end(). */
void thrift_elem_struct_begin(thrift_writer *t);

#endif
