/*
 * pgtype_internal — what pgtype.c (text values) shares with pgbinary.c
 * (binary COPY values), so that both put a value where the other would and
 * a value one refuses is refused by the other with the same message. Not for
 * use outside src/source/pg/.
 *
 * A parsed scalar goes to a sink: the value of column `col` of the row in
 * progress, or (elem = 1) the next element of the list in progress in that
 * column. The put helpers follow batch.h: they never fail; an allocation
 * failure marks the batch oom (batch.h invariant 5).
 */
#ifndef FLOE_PGTYPE_INTERNAL_H
#define FLOE_PGTYPE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "source/pg/pgtype.h"
#include "table/batch.h"
#include "table/value.h"

typedef struct pgtype_sink {
	batch *b;
	int col;
	int elem; /* 1: an element of list column col */
} pgtype_sink;

/* The batch column the values go to: the column, or its elements. */
static inline batch_col *pgtype_sink_col(const pgtype_sink *s)
{
	batch_col *c = &s->b->cols[s->col];
	return s->elem ? c->elem : c;
}

/* width bytes of the column's (or element's) batch form. */
static inline void pgtype_put_fixed(const pgtype_sink *s, const void *v)
{
	if (s->elem)
		batch_list_elem_fixed(s->b, s->col, v);
	else
		batch_set_fixed(s->b, s->col, v);
}

static inline void pgtype_put_bytes(const pgtype_sink *s, const void *p, size_t n)
{
	if (s->elem)
		batch_list_elem_bytes(s->b, s->col, p, n);
	else
		batch_set_bytes(s->b, s->col, p, n);
}

static inline void pgtype_put_decimal(const pgtype_sink *s, __int128 v)
{
	if (s->elem)
		batch_list_elem_decimal(s->b, s->col, v);
	else
		batch_set_decimal(s->b, s->col, v);
}

static inline void pgtype_put_i32(const pgtype_sink *s, int32_t v)
{
	pgtype_put_fixed(s, &v);
}

static inline void pgtype_put_i64(const pgtype_sink *s, int64_t v)
{
	pgtype_put_fixed(s, &v);
}

/* A float or double for a float32 / float64 column (a double narrowed to
 * float for float32). Every NaN becomes the C library's NAN, as the text
 * "NaN" does. */
void pgtype_put_float(const pgtype_sink *s, const floe_column *c, double v);

/* One scalar value of floe type c->type (never a list) from PostgreSQL's
 * text output text[0..len): pgtype_set_text's rules for a scalar. src_oid:
 * the PostgreSQL type the text came from (0 unknown; it matters for float4
 * into a float64 column). */
int pgtype_set_scalar(const pgtype_sink *s, const floe_column *c, uint32_t src_oid,
                      const char *text, size_t len, char *err);

/* "column '<c>': '<text>' <verb> <type> (<reason>)" -> err (may be NULL),
 * e.g. verb "is not a valid" or "is out of range for", <type> the column's
 * floe type; returns FLOE_EINVAL. */
__attribute__((format(printf, 6, 7))) int pgtype_value_error(char *err, const floe_column *c,
                                                             const char *text, size_t len,
                                                             const char *verb, const char *fmt,
                                                             ...);

/* The column name quoted for messages ("(unnamed)" for NULL). */
void pgtype_quote_column(const char *name, char q[VALUE_QUOTE_LEN]);

#endif
