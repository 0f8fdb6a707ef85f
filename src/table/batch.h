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
 * A batch belongs to one thread at a time; it moves between threads by
 * handing over the pointer.
 */
#ifndef FLOE_BATCH_H
#define FLOE_BATCH_H

#include <stddef.h>
#include <stdint.h>

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
} batch;

/* Makes an empty batch shaped like schema. */
int batch_init(batch *b, const floe_schema *schema);
void batch_clear(batch *b); /* frees memory; b may be re-inited */
void batch_reset(batch *b); /* drops all rows, keeps capacity */
size_t batch_mem_bytes(const batch *b);

/* Appending one row: each column gets exactly one value (set or null) between
 * begin and commit; batch_row_abort drops whatever the row had set so far. */
void batch_row_begin(batch *b);
void batch_set_null(batch *b, int col);
void batch_set_fixed(batch *b, int col, const void *value); /* width bytes */
void batch_set_bytes(batch *b, int col, const void *p, size_t n);
void batch_row_commit(batch *b);
void batch_row_abort(batch *b);
/* 0, or FLOE_ENOMEM if any append failed since the last reset. */
int batch_check(const batch *b);

/* Appends all rows of src (same schema) to dst. */
int batch_append_batch(batch *dst, const batch *src);
/* Describes column `col` for the Parquet writer (pointers valid until b changes). */
void batch_column_data(const batch *b, int col, pq_column_data *out);

#endif
