/*
 * thrift_read — a Thrift compact protocol READER for untrusted bytes: the
 * pull decoder behind Parquet's footer, page headers and offset index. It
 * owns no memory and no I/O: it walks a caller's buffer.
 *
 * Byte format: the compact protocol exactly as thrift.h describes it for the
 * writer (varints, zigzag, field headers in delta and long form, bools in
 * field headers, lists with short and long size, stop bytes). The reader
 * also accepts what other writers emit and thrift.h's writer never does:
 *   - list<bool> elements 0 as false (old C++/Go writers) besides 1 and 2,
 *     and element type 2 (BOOL_FALSE) for a list<bool>;
 *   - SET (read like a LIST), MAP (varint size, then when size > 0 one byte
 *     `kkkk vvvv` with the key and value types, then the pairs), DOUBLE (8
 *     bytes LE), I16, and UUID (type 13, 16 raw bytes) — all only skipped;
 *   - overlong varints (0x80 0x00 for 0), as the Java reader does.
 *
 * Usage (what Thrift-generated code does, by hand):
 *   thrift_reader_init(&t, p, n);
 *   while ((rc = thrift_read_field(&t, &id, &type)) > 0) {
 *           switch (id) {
 *           case 1: rc = thrift_read_i32(&t, type, &x); break;
 *           case 2: if ((rc = thrift_read_struct(&t, type)) > 0) rc = read_inner(&t); break;
 *           default: rc = thrift_skip(&t, type); break;
 *           }
 *           if (rc < 0) return rc;
 *   }
 *   (rc < 0: error; rc == 0: the stop byte of this struct was read.)
 * or the same loop with a function per struct: thrift_read_fields(&t, fn, ctx),
 * where fn(t, id, type, ctx) is the switch above.
 * Field readers take the type from the field header and return 1 when they
 * read the value, 0 when the type is not the one they read (the value is
 * skipped and the field counts as absent, as in generated code: a newer
 * writer may change a field's type), or a negative code.
 *
 * Invariants:
 *   1. No byte outside p[0..n) is ever read; every length and count is
 *      checked against the bytes left before it is used (a list of k
 *      elements needs at least k bytes, a binary of k bytes k bytes).
 *   2. Structs and containers nest at most THRIFT_MAX_DEPTH deep (thrift.h),
 *      so skipping is bounded recursion.
 *   3. Errors are sticky: after the first one every call returns
 *      FLOE_ECORRUPT again; `why` says what was wrong and `at` the byte
 *      offset in the buffer; `eof` is set when the bytes ran out (the caller
 *      may retry with a longer buffer, e.g. a page header read in pieces).
 * Not thread-safe; a reader lives on the caller's stack for one message.
 */
#ifndef FLOE_THRIFT_READ_H
#define FLOE_THRIFT_READ_H

#include <stddef.h>
#include <stdint.h>

#include "format/thrift.h"

typedef struct thrift_reader {
	const uint8_t *p;
	size_t n;
	size_t pos;      /* next byte to read; after the top-level stop: message length */
	int depth;       /* innermost open struct; 0 = top level, -1 after its stop */
	int nest;        /* structs + containers open, for invariant 2 */
	const char *why; /* invariant 3; NULL while no error */
	size_t at;
	int eof;
	int16_t last[THRIFT_MAX_DEPTH]; /* last field id of each open struct */
} thrift_reader;

/* Starts reading the message (a top-level struct) in p[0..n); p is borrowed. */
void thrift_reader_init(thrift_reader *t, const void *p, size_t n);

/* Handles one field: reads its value (thrift_read_*) or skips it
 * (thrift_skip); returns < 0 on error, anything else to go on. */
typedef int (*thrift_field_fn)(thrift_reader *t, int16_t id, int type, void *ctx);

/* Reads the fields of the innermost open struct up to its stop byte, each
 * through fn: 0, or the first error. */
int thrift_read_fields(thrift_reader *t, thrift_field_fn fn, void *ctx);
/* Enters a struct-typed field and reads its fields through fn: 1, 0 when
 * the field has another type (skipped), or an error. */
int thrift_read_struct_fields(thrift_reader *t, int type, thrift_field_fn fn, void *ctx);

/* Reads the next field header of the innermost open struct: 1 with *id and
 * *type (THRIFT_BOOL_TRUE .. THRIFT_STRUCT), 0 at the struct's stop byte (the
 * struct is closed), or FLOE_ECORRUPT. */
int thrift_read_field(thrift_reader *t, int16_t *id, int *type);
/* Skips the value of a field of this type (any type, nested to any depth
 * within invariant 2); 0 or FLOE_ECORRUPT. */
int thrift_skip(thrift_reader *t, int type);

/* Field values: 1 read, 0 another type (skipped), FLOE_ECORRUPT. */
int thrift_read_bool(thrift_reader *t, int type, int *v);
int thrift_read_i8(thrift_reader *t, int type, int8_t *v);
int thrift_read_i32(thrift_reader *t, int type, int32_t *v);
int thrift_read_i64(thrift_reader *t, int type, int64_t *v);
/* *p points into the message buffer (valid as long as it is). */
int thrift_read_binary(thrift_reader *t, int type, const uint8_t **p, size_t *len);
/* Enters a struct-typed field: read its fields with thrift_read_field until 0. */
int thrift_read_struct(thrift_reader *t, int type);
/* Opens a list (or set) field of elements of type elem (THRIFT_BOOL for
 * list<bool>); *count elements follow, each read with a thrift_get_*() call
 * or thrift_get_struct(). A list of another element type is skipped (0). */
int thrift_read_list(thrift_reader *t, int type, int elem, uint32_t *count);

/* List elements (after thrift_read_list returned 1): 0 or FLOE_ECORRUPT. */
int thrift_get_bool(thrift_reader *t, int *v);
int thrift_get_i32(thrift_reader *t, int32_t *v);
int thrift_get_i64(thrift_reader *t, int64_t *v);
int thrift_get_binary(thrift_reader *t, const uint8_t **p, size_t *len);
/* Enters a struct element; read its fields with thrift_read_field until 0. */
int thrift_get_struct(thrift_reader *t);
/* Skips the rest of a list opened with thrift_read_list: `left` elements
 * of type elem. */
int thrift_skip_elems(thrift_reader *t, int elem, uint32_t left);

/* Unsigned LEB128 from p[*pos..n) (at most 10 bytes, the value within 64
 * bits): 0 and *pos advanced, or -1 (truncated or too long). Also used by
 * Parquet's RLE and delta decoders. */
int thrift_varint_decode(const uint8_t *p, size_t n, size_t *pos, uint64_t *v);

static inline int64_t thrift_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
