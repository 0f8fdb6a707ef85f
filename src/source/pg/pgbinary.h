/*
 * pgbinary — PostgreSQL's binary COPY stream (COPY ... TO STDOUT (FORMAT
 * binary)) into floe batch rows. The initial copy reads it: binary send
 * functions cost the server less than the text output functions, and the
 * values need no parsing here. The stream's byte layout and each type's
 * send format are described in pgbinary.c.
 *
 * Values land exactly where the text path (pgtype.h) puts them: the same
 * mapping, the same infinities, nothing rounded; a value the text path
 * refuses is refused here, and where the refusal is about the value (a
 * decimal's range or scale, NaN or infinity into a decimal, an integer out
 * of a narrower column's range) the message is the text path's, word for
 * word, because the value is rendered as PostgreSQL's text and handed to
 * pgtype's parser. Malformed binary data (a length that does not fit the
 * type, a truncated stream) is FLOE_ECORRUPT.
 *
 * Which columns can be read in binary: pgbin_supported. A column whose
 * PostgreSQL type is unknown (d == NULL) or whose floe type is not the one
 * pgtype_map gives that PostgreSQL type cannot; the caller copies such a
 * table in text format.
 *
 * Reentrant: a reader belongs to one thread; no shared state.
 */
#ifndef FLOE_PGBINARY_H
#define FLOE_PGBINARY_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "source/pg/pgtype.h"
#include "table/batch.h"

/* 1 when a value of PostgreSQL type d can be decoded from its binary form
 * into a column of floe type c (d's base type, or for an array its element
 * type, decides the wire format; c must be what pgtype_map makes of d, or a
 * widening of it: int16 -> int32 -> int64, float32 -> float64, a decimal of
 * larger precision), else 0. d may be NULL (then 0). */
int pgbin_supported(const floe_column *c, const pgtype_desc *d);

/* Appends one value of column `col` of b (floe type c, PostgreSQL type d,
 * pgbin_supported(c, d) true) from its binary send form p[0..n) to the row
 * in progress. On failure nothing is appended (for a list, the elements
 * added so far are dropped): FLOE_EINVAL for a value the column cannot take
 * (the text path's message), FLOE_ECORRUPT for bytes that are not a valid
 * binary value of d. */
int pgbin_set_value(batch *b, int col, const floe_column *c, const pgtype_desc *d, const uint8_t *p,
                    size_t n, char *err);

/* A binary COPY stream being decoded: fed in chunks as they arrive (a
 * CopyData message each); a tuple split across chunks waits for the rest. */
typedef struct pgbin_reader {
	const floe_schema *schema;       /* borrowed: the rows' columns, in order */
	const pgtype_desc *const *types; /* borrowed: per column, its PostgreSQL type */
	const char *what;                /* borrowed: names the stream in messages */
	int state;                       /* 0 header expected, 1 tuples, 2 trailer seen */
	buf carry;                       /* an incomplete header or tuple from earlier chunks */
} pgbin_reader;

/* Starts a reader; schema, types (schema->ncols entries, each supported by
 * pgbin_supported) and what must outlive it. */
void pgbin_reader_init(pgbin_reader *r, const floe_schema *schema, const pgtype_desc *const *types,
                       const char *what);
/* Decodes p[0..n): every complete tuple becomes a row of b (batch_row_begin
 * .. batch_row_commit), in order; a trailing incomplete one is kept for the
 * next call. On failure the row in progress is aborted and the reader must
 * not be fed again: FLOE_ECORRUPT for a bad header, a tuple with the wrong
 * number of fields, malformed values or bytes after the trailer;
 * FLOE_EINVAL for a value the column cannot take; FLOE_ENOMEM. Rows
 * committed before the failure stay in b. */
int pgbin_reader_feed(pgbin_reader *r, batch *b, const uint8_t *p, size_t n, char *err);
/* The framing half of pgbin_reader_feed, for a reader thread that hands
 * the decoding to others: the complete tuples of p[0..n) (header and
 * trailer taken off) are appended to out as they are, whole tuples only;
 * the same errors for the stream's structure and field lengths. */
int pgbin_reader_frame(pgbin_reader *r, buf *out, const uint8_t *p, size_t n, char *err);
/* The decoding half: p[0..n) holds whole tuples (from pgbin_reader_frame),
 * each becomes a row of b as pgbin_reader_feed would make it, until b has
 * row_limit rows; *used = the bytes decoded (the rest is for the next
 * batch). r only lends its schema, types and name (any reader initialised
 * like the framing one; its state is not used). FLOE_ECORRUPT when p does
 * not end on a tuple boundary. */
int pgbin_decode_tuples(const pgbin_reader *r, batch *b, const uint8_t *p, size_t n,
                        size_t row_limit, size_t *used, char *err);
/* The stream ended: 0 when the trailer was its last bytes, else
 * FLOE_ECORRUPT (truncated). */
int pgbin_reader_finish(const pgbin_reader *r, char *err);
/* Frees the reader's memory; NULL is a no-op. */
void pgbin_reader_clear(pgbin_reader *r);

#endif
