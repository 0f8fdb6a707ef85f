/*
 * batch — rows in columnar form, the unit that moves from a source to the
 * table writer and from the writer to the Parquet writer.
 *
 * Invariants:
 *   1. Every column holds exactly nrows values: valid has nrows bytes (1 =
 *      present, 0 = null), fixed kinds have nrows * width value bytes (a null
 *      row's slot is zero), BC_BYTES has nrows + 1 uint64 offsets into bytes,
 *      BC_LIST nrows + 1 uint64 offsets into its element column `elem` (row
 *      r's list is elements offsets[r] .. offsets[r + 1]; a null list's range
 *      is empty). The element column is a batch_col of the element's kind
 *      holding offsets[nrows] values by invariant 1, elements for rows.
 *   2. A batch never holds a half row: sources append a row through
 *      batch_row_begin / batch_row_commit, or throw the batch away.
 *   3. mem_bytes approximates the uncompressed size (values + offsets + valid)
 *      and drives flush decisions.
 *   4. cap_rows > nrows: valid, values and offsets always have room for the
 *      row in progress, so the setters below write without a capacity check
 *      (only BC_BYTES data and list elements can need to grow inside a row).
 *      batch_row_commit grows the room when the committed row used the last
 *      of it.
 *   5. After a failed allocation (oom) the batch stays well-formed: the row
 *      that failed is dropped at commit, and so is every later row, until
 *      batch_reset. batch_check reports it; the caller throws the rows away.
 * A batch belongs to one thread at a time; it moves between threads by
 * handing over the pointer.
 */
#ifndef FLOE_BATCH_H
#define FLOE_BATCH_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "format/parquet.h"
#include "table/coltype.h"
#include "table/value.h"

typedef struct batch_col {
	batch_kind kind;
	int width;              /* fixed kinds: bytes per value */
	buf valid;              /* nrows bytes */
	buf values;             /* fixed kinds */
	buf offsets;            /* BC_BYTES, BC_LIST: (nrows + 1) uint64, native order */
	buf bytes;              /* BC_BYTES */
	struct batch_col *elem; /* BC_LIST: the elements (owned; never a list) */
} batch_col;

typedef struct batch {
	int ncols;
	batch_col *cols;
	size_t nrows;
	size_t cap_rows; /* invariant 4 */
	int oom;         /* invariant 5: an append failed since the last reset */
} batch;

/* Makes an empty batch shaped like schema. FLOE_ENOMEM leaves b cleared. */
int batch_init(batch *b, const floe_schema *schema);
void batch_clear(batch *b); /* frees memory; b may be re-inited */
void batch_reset(batch *b); /* drops all rows, keeps capacity */
size_t batch_mem_bytes(const batch *b);
/* Room for `rows` more rows in the fixed-width parts (BC_BYTES data and list
 * elements grow as values arrive). 0 or FLOE_ENOMEM (the batch is unchanged
 * then). */
int batch_reserve(batch *b, size_t rows);

/* Appending one row: each column gets exactly one value (set or null) between
 * begin and commit; batch_row_abort drops whatever the row had set so far.
 * The setters are inline: a value costs a store or two (invariant 4). */
static inline void batch_row_begin(batch *b);
static inline void batch_set_null(batch *b, int col);
static inline void batch_set_fixed(batch *b, int col, const void *value); /* width bytes */
static inline void batch_set_bytes(batch *b, int col, const void *p, size_t n);
static inline void batch_row_commit(batch *b);
void batch_row_abort(batch *b);
/* Typed forms of batch_set_fixed for the column's own width: i32 for BC_I32,
 * i64 for BC_I64, f32 / f64 for BC_F32 / BC_F64, bool (0/1) for BC_BOOL. */
static inline void batch_set_i32(batch *b, int col, int32_t v);
static inline void batch_set_i64(batch *b, int col, int64_t v);
static inline void batch_set_f32(batch *b, int col, float v);
static inline void batch_set_f64(batch *b, int col, double v);
static inline void batch_set_bool(batch *b, int col, int v);
/* An unscaled decimal in the column's storage: i32 for BC_I32 (p <= 9), i64
 * for BC_I64 (p <= 18), else width bytes big-endian two's complement. The
 * caller has checked that v fits the column's precision. */
static inline void batch_set_decimal(batch *b, int col, __int128 v);
/* A list value for BC_LIST column `col` of the row in progress: begin, then
 * each element in order, then end (a null list is batch_set_null instead).
 * Elements take the element type's batch form (coltype_element: its kind
 * and width, e.g. 4 bytes for int32, big-endian bytes for a wide decimal).
 * Elements grow like BC_BYTES data: a failed allocation drops the element
 * and marks the batch oom, so the row is dropped at commit (invariant 5).
 * batch_row_abort between begin and end drops the elements too, and
 * batch_list_abort drops only them: the column then has no value for the
 * row in progress, as before begin (the caller sets one, e.g. null, or
 * aborts the row). */
static inline void batch_list_begin(batch *b, int col);
static inline void batch_list_elem_null(batch *b, int col);
static inline void batch_list_elem_fixed(batch *b, int col, const void *value); /* elem width */
static inline void batch_list_elem_bytes(batch *b, int col, const void *p, size_t n);
/* An unscaled decimal element (see batch_set_decimal). */
static inline void batch_list_elem_decimal(batch *b, int col, __int128 v);
static inline void batch_list_end(batch *b, int col);
void batch_list_abort(batch *b, int col);
/* 0, or FLOE_ENOMEM if any append failed since the last reset. */
int batch_check(const batch *b);

/* Appends all rows of src (same schema) to dst. FLOE_ENOMEM leaves dst
 * unchanged (also when src itself had failed an append). */
int batch_append_batch(batch *dst, const batch *src);
/* Appends row r of src (same schema) to dst; 0 or FLOE_ENOMEM. */
int batch_append_row(batch *dst, const batch *src, size_t r);
/* Appends one row made of src's row r, except the columns c with
 * take_alt[c] = 1, which come from alt's row ar (all three share a shape).
 * 0 or FLOE_ENOMEM. */
int batch_append_row_merged(batch *dst, const batch *src, size_t r, const batch *alt, size_t ar,
                            const uint8_t *take_alt);
/* Appends value r of col (a column of another batch, of the same kind and
 * width as dst's column c; for a list, elements of the same kind and width)
 * as column c of dst's row in progress: null, bytes, a list or a fixed
 * value as it is. A failed allocation follows invariant 5. */
void batch_append_value(batch *dst, int c, const batch_col *col, size_t r);
/* Describes column `col` for the Parquet writer (pointers valid until b changes). */
void batch_column_data(const batch *b, int col, pq_column_data *out);

/* ---- inline implementation (slow paths live in batch.c) ---------------- */

/* Grows the row room after a commit filled it, or drops the row when the
 * batch is oom (invariants 4, 5). */
void batch_commit_slow(batch *b);
/* Makes room for n more bytes in BC_BYTES column c; 0, or -1 (b->oom set). */
int batch_bytes_slow(batch *b, batch_col *c, size_t n);
/* Makes room for one more element in element column e, and n bytes of it
 * for BC_BYTES elements; 0, or -1 (b->oom set). */
int batch_elem_slow(batch *b, batch_col *e, size_t n);

static inline void batch_row_begin(batch *b)
{
	(void)b; /* the room for the row was made by init / the last commit */
}

/* Column-level appends (a top-level column or a list's elements); the
 * room was made by the caller. */
static inline uint8_t *batch_col_slot(batch_col *c, int width)
{
	c->valid.data[c->valid.len++] = 1;
	uint8_t *slot = c->values.data + c->values.len;
	c->values.len += (size_t)width;
	return slot;
}

/* Ends the value in progress of a BC_BYTES or BC_LIST column: the offset of
 * its end (bytes, or elements). */
static inline void batch_push_offset(batch_col *c)
{
	uint64_t off = c->kind == BC_LIST ? c->elem->valid.len : c->bytes.len;
	memcpy(c->offsets.data + c->offsets.len, &off, sizeof off);
	c->offsets.len += sizeof off;
}

static inline void batch_col_put_null(batch_col *c)
{
	c->valid.data[c->valid.len++] = 0;
	if (c->kind == BC_BYTES || c->kind == BC_LIST) {
		batch_push_offset(c);
	} else {
		memset(c->values.data + c->values.len, 0, (size_t)c->width);
		c->values.len += (size_t)c->width;
	}
}

static inline void batch_col_put_bytes(batch_col *c, const void *p, size_t n)
{
	if (n)
		memcpy(c->bytes.data + c->bytes.len, p, n);
	c->bytes.len += n;
	c->valid.data[c->valid.len++] = 1;
	batch_push_offset(c);
}

/* Marks the row-in-progress value of `col` present and returns its slot. */
static inline uint8_t *batch_slot(batch *b, int col, int width)
{
	batch_col *c = &b->cols[col];
	assert(c->kind != BC_BYTES && c->kind != BC_LIST && c->width == width);
	return batch_col_slot(c, width);
}

static inline void batch_set_null(batch *b, int col)
{
	batch_col_put_null(&b->cols[col]);
}

static inline void batch_set_fixed(batch *b, int col, const void *value)
{
	int w = b->cols[col].width;
	memcpy(batch_slot(b, col, w), value, (size_t)w);
}

static inline void batch_set_i32(batch *b, int col, int32_t v)
{
	memcpy(batch_slot(b, col, 4), &v, 4);
}

static inline void batch_set_i64(batch *b, int col, int64_t v)
{
	memcpy(batch_slot(b, col, 8), &v, 8);
}

static inline void batch_set_f32(batch *b, int col, float v)
{
	memcpy(batch_slot(b, col, 4), &v, 4);
}

static inline void batch_set_f64(batch *b, int col, double v)
{
	memcpy(batch_slot(b, col, 8), &v, 8);
}

static inline void batch_set_bool(batch *b, int col, int v)
{
	*batch_slot(b, col, 1) = v ? 1 : 0;
}

/* An unscaled decimal in the batch form of kind / width: i32, i64 or
 * width bytes big-endian two's complement. */
static inline void batch_decimal_slot(batch_kind kind, int width, __int128 v, uint8_t out[16])
{
	if (kind == BC_I32) {
		int32_t x = (int32_t)v;
		memcpy(out, &x, sizeof x);
	} else if (kind == BC_I64) {
		int64_t x = (int64_t)v;
		memcpy(out, &x, sizeof x);
	} else {
		value_decimal_to_be(v, out, width);
	}
}

static inline void batch_set_decimal(batch *b, int col, __int128 v)
{
	const batch_col *c = &b->cols[col];
	uint8_t slot[16];
	batch_decimal_slot(c->kind, c->width, v, slot);
	batch_set_fixed(b, col, slot);
}

static inline void batch_set_bytes(batch *b, int col, const void *p, size_t n)
{
	batch_col *c = &b->cols[col];
	assert(c->kind == BC_BYTES);
	if (c->bytes.cap - c->bytes.len < n && batch_bytes_slow(b, c, n)) {
		batch_set_null(b, col); /* keeps the row shape; the batch is oom */
		return;
	}
	batch_col_put_bytes(c, p, n);
}

/* The element column of list `col` with room for one more element of n
 * bytes, or NULL when that room could not be made (b->oom is set then). */
static inline batch_col *batch_elem_room(batch *b, int col, size_t n)
{
	batch_col *e = b->cols[col].elem;
	assert(b->cols[col].kind == BC_LIST);
	int ok = e->valid.len < e->valid.cap &&
	         (e->kind == BC_BYTES ? e->offsets.cap - e->offsets.len >= sizeof(uint64_t) &&
	                                    e->bytes.cap - e->bytes.len >= n
	                              : e->values.cap - e->values.len >= (size_t)e->width);
	return ok || batch_elem_slow(b, e, n) == 0 ? e : NULL;
}

static inline void batch_list_begin(batch *b, int col)
{
	assert(b->cols[col].kind == BC_LIST);
	(void)b, (void)col; /* the elements start at offsets[row] already */
}

static inline void batch_list_elem_null(batch *b, int col)
{
	batch_col *e = batch_elem_room(b, col, 0);
	if (e)
		batch_col_put_null(e);
}

static inline void batch_list_elem_fixed(batch *b, int col, const void *value)
{
	batch_col *e = batch_elem_room(b, col, 0);
	assert(!e || e->kind != BC_BYTES);
	if (e)
		memcpy(batch_col_slot(e, e->width), value, (size_t)e->width);
}

static inline void batch_list_elem_bytes(batch *b, int col, const void *p, size_t n)
{
	batch_col *e = batch_elem_room(b, col, n);
	assert(!e || e->kind == BC_BYTES);
	if (e)
		batch_col_put_bytes(e, p, n);
}

static inline void batch_list_elem_decimal(batch *b, int col, __int128 v)
{
	const batch_col *e = b->cols[col].elem;
	uint8_t slot[16];
	batch_decimal_slot(e->kind, e->width, v, slot);
	batch_list_elem_fixed(b, col, slot);
}

static inline void batch_list_end(batch *b, int col)
{
	batch_col *c = &b->cols[col];
	assert(c->kind == BC_LIST);
	c->valid.data[c->valid.len++] = 1;
	batch_push_offset(c);
}

static inline void batch_row_commit(batch *b)
{
#ifndef NDEBUG
	for (int i = 0; i < b->ncols; i++)
		assert(b->cols[i].valid.len == b->nrows + 1); /* one value per column */
#endif
	if (++b->nrows == b->cap_rows || b->oom)
		batch_commit_slow(b);
}

#endif
