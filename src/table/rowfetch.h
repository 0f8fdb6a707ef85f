/*
 * rowfetch — whole rows of a Parquet data file, appended to a batch shaped
 * like a table's current schema. This is how an UPDATE keeps the current
 * value of a column whose new value did not arrive (PostgreSQL's unchanged
 * TOAST datums): the primary-key index knows the data file and position of
 * the current row, rowfetch brings back its values.
 *
 * Column mapping (Iceberg's rules: columns are matched by field id, never
 * by name or position):
 *   - a schema column whose field id (a list: its element id) the file does
 *     not have was added after the file was written: NULL;
 *   - the file's type must be the column's current type, or one Iceberg
 *     promotes to it: int -> long (INT32 into FT_INT64), float -> double,
 *     decimal(p,s) -> decimal(p',s) with p' >= p (any of the file's decimal
 *     encodings INT32 / INT64 / FLBA / BYTE_ARRAY into the batch form of
 *     p': exact, sign-extended); the same rules for a list's elements.
 *     Anything else is FLOE_EINVAL naming the column and both types.
 *   - values are bit-exact (NaN payloads, -0.0); a decimal outside the
 *     column's precision is FLOE_ECORRUPT.
 * Errors (with a message in err): FLOE_EINVAL as above or a row outside the
 * file; FLOE_ECORRUPT / FLOE_EIO from the file (parquet_read.h);
 * FLOE_ENOMEM (then the batch is oom: batch.h invariant 5). The row being
 * appended when an error happens is dropped; rows appended before it stay.
 * Runs on the thread that owns the reader and the batch.
 */
#ifndef FLOE_ROWFETCH_H
#define FLOE_ROWFETCH_H

#include <stddef.h>
#include <stdint.h>

#include "format/parquet_read.h"
#include "table/batch.h"
#include "table/coltype.h"

/* Appends file row `row` (0-based in the file) to b, whose shape is schema. */
int rowfetch_append_row(pq_reader *r, int64_t row, const floe_schema *schema, batch *b, char *err);
/* Appends rows[0..n) in that order. Ascending rows (the usual case: a batch
 * of lookups into one file, sorted by position) decode each page once;
 * other orders are correct but may decode a page again. */
int rowfetch_append_rows(pq_reader *r, const int64_t *rows, size_t n, const floe_schema *schema,
                         batch *b, char *err);

#endif
