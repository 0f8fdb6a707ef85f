/*
 * batch — rows in columnar form, the unit that moves from a source to the
 * table writer and from the writer to the Parquet writer.
 *
 * Invariants:
 *   1. Every column holds exactly nrows values: valid has nrows bytes (1 =
 *      present, 0 = null), fixed kinds have nrows * width value bytes (a null
 *      row's slot is zero), BC_BYTES has nrows + 1 uint64 offsets into bytes.
 *   2. A batch never holds a half row: sources append a row through
 *      batch_row_begin / batch_row_commit, or throw the batch away.
 *   3. mem_bytes approximates the uncompressed size (values + offsets + valid)
 *      and drives flush decisions.
 *   4. cap_rows > nrows: valid, values and offsets always have room for the
 *      row in progress, so the setters below write without a capacity check
 *      (only BC_BYTES data can need to grow inside a row). batch_row_commit
 *      grows the room when the committed row used the last of it.
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

typedef struct batch_col {
	batch_kind kind;
	int width;   /* fixed kinds: bytes per value */
	buf valid;   /* nrows bytes */
	buf values;  /* fixed kinds */
	buf offsets; /* BC_BYTES: (nrows + 1) uint64, native order */
	buf bytes;   /* BC_BYTES */
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
/* Room for `rows` more rows in the fixed-width parts (BC_BYTES data grows
 * as values arrive). 0 or FLOE_ENOMEM (the batch is unchanged then). */
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
/* 0, or FLOE_ENOMEM if any append failed since the last reset. */
int batch_check(const batch *b);

/* Appends all rows of src (same schema) to dst. FLOE_ENOMEM leaves dst
 * unchanged (also when src itself had failed an append). */
int batch_append_batch(batch *dst, const batch *src);
/* Appends row r of src (same schema) to dst; 0 or FLOE_ENOMEM. */
int batch_append_row(batch *dst, const batch *src, size_t r);
/* Describes column `col` for the Parquet writer (pointers valid until b changes). */
void batch_column_data(const batch *b, int col, pq_column_data *out);

/* ---- inline implementation (slow paths live in batch.c) ---------------- */

/* Grows the row room after a commit filled it, or drops the row when the
 * batch is oom (invariants 4, 5). */
void batch_commit_slow(batch *b);
/* Makes room for n more bytes in BC_BYTES column c; 0, or -1 (b->oom set). */
int batch_bytes_slow(batch *b, batch_col *c, size_t n);

static inline void batch_row_begin(batch *b)
{
	(void)b; /* the room for the row was made by init / the last commit */
}

/* Marks the row-in-progress value of `col` present and returns its slot. */
static inline uint8_t *batch_slot(batch *b, int col, int width)
{
	batch_col *c = &b->cols[col];
	assert(c->kind != BC_BYTES && c->width == width);
	c->valid.data[c->valid.len++] = 1;
	uint8_t *slot = c->values.data + c->values.len;
	c->values.len += (size_t)width;
	return slot;
}

static inline void batch_push_offset(batch_col *c)
{
	uint64_t off = c->bytes.len;
	memcpy(c->offsets.data + c->offsets.len, &off, sizeof off);
	c->offsets.len += sizeof off;
}

static inline void batch_set_null(batch *b, int col)
{
	batch_col *c = &b->cols[col];
	c->valid.data[c->valid.len++] = 0;
	if (c->kind == BC_BYTES) {
		batch_push_offset(c);
	} else {
		memset(c->values.data + c->values.len, 0, (size_t)c->width);
		c->values.len += (size_t)c->width;
	}
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

static inline void batch_set_bytes(batch *b, int col, const void *p, size_t n)
{
	batch_col *c = &b->cols[col];
	assert(c->kind == BC_BYTES);
	if (c->bytes.cap - c->bytes.len < n && batch_bytes_slow(b, c, n)) {
		batch_set_null(b, col); /* keeps the row shape; the batch is oom */
		return;
	}
	if (n)
		memcpy(c->bytes.data + c->bytes.len, p, n);
	c->bytes.len += n;
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
