/*
 * rowfetch — file rows into batch rows (contract in rowfetch.h).
 *
 * A call first makes a plan: per schema column, the file column (or none)
 * and how its values become the batch's (as they are, widened, or a decimal
 * re-encoded). Then each row is read column by column through the reader's
 * per-column cursors and appended with batch_row_begin / batch_set_* /
 * batch_row_commit, so a failure leaves no half row (batch.h invariant 2).
 * Invariant: a plan entry's kind and width are the batch column's (for a
 * list, its element column's), so every value written has the width the
 * batch expects.
 */
#include "table/rowfetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

typedef enum rf_conv {
	RF_ABSENT,      /* the file has no such field: NULL */
	RF_SAME,        /* the batch form of the file's value */
	RF_INT_WIDEN,   /* INT32 -> INT64 */
	RF_FLOAT_WIDEN, /* FLOAT -> DOUBLE */
	RF_DECIMAL,     /* any decimal encoding -> the column's */
} rf_conv;

typedef struct rf_col {
	int fcol; /* file column; -1 when absent */
	rf_conv conv;
	int list;
	batch_kind kind; /* of the column, or of a list's elements */
	int width;
	int precision; /* RF_DECIMAL: the column's */
	int phys;      /* the file's physical type */
} rf_col;

/* "INT32", "INT64 TIMESTAMP", "FIXED_LEN_BYTE_ARRAY DECIMAL(38,10)", ... for
 * messages. */
static void rf_describe(const pq_reader_column *f, char *out, size_t cap)
{
	static const char *const phys[] = {
	    "BOOLEAN", "INT32",  "INT64",      "INT96",
	    "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
	static const char *const logical[] = {"",      " STRING",    " INT",     " DATE",
	                                      " TIME", " TIMESTAMP", " DECIMAL", " UUID"};
	const pq_column_spec *s = &f->spec;
	unsigned p = (unsigned)s->physical, l = (unsigned)s->logical;
	snprintf(out, cap, "%s%s%s%s", p < 8 ? phys[p] : "?", l < 8 ? logical[l] : "",
	         f->other_logical ? " (other annotation)" : "", f->max_rep ? " in a list" : "");
	if (s->logical == PQ_LOGICAL_DECIMAL) {
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "(%d,%d)", s->precision, s->scale);
	}
}

/* Whether the file's annotation means the same values as the column's. */
static int rf_same_logical(const pq_column_spec *f, const pq_column_spec *t)
{
	if (f->logical == t->logical) {
		if (f->logical == PQ_LOGICAL_TIME || f->logical == PQ_LOGICAL_TIMESTAMP)
			return f->utc_adjusted == t->utc_adjusted && f->nanos == t->nanos;
		return 1;
	}
	/* A signed INT(n) annotation adds nothing to a plain int. */
	return (f->logical == PQ_LOGICAL_INT || f->logical == PQ_LOGICAL_NONE) &&
	       (t->logical == PQ_LOGICAL_INT || t->logical == PQ_LOGICAL_NONE);
}

/* How file column f's values become the batch values of column t (a scalar
 * column or a list's element); -1 when they cannot. */
static int rf_match(const pq_reader_column *f, const floe_column *t, rf_col *p)
{
	pq_column_spec ts;
	const pq_column_spec *fs = &f->spec;
	coltype_to_parquet(t, &ts);
	p->kind = coltype_batch_kind(t);
	p->width = coltype_width(t);
	p->phys = (int)fs->physical;
	if (f->other_logical || p->width > 16) /* rf_put's slot */
		return -1;
	if (ts.logical == PQ_LOGICAL_DECIMAL) {
		p->conv = RF_DECIMAL;
		p->precision = t->precision;
		int enc_ok = fs->physical == PQ_INT32 || fs->physical == PQ_INT64 ||
		             fs->physical == PQ_FIXED_LEN_BYTE_ARRAY ||
		             fs->physical == PQ_BYTE_ARRAY;
		return enc_ok && fs->logical == PQ_LOGICAL_DECIMAL && fs->scale == ts.scale &&
		               fs->precision >= 1 && fs->precision <= ts.precision
		           ? 0
		           : -1;
	}
	if (fs->physical == ts.physical && rf_same_logical(fs, &ts) &&
	    (fs->physical != PQ_FIXED_LEN_BYTE_ARRAY || fs->type_length == ts.type_length)) {
		p->conv = RF_SAME;
		return 0;
	}
	if (ts.physical == PQ_INT64 && ts.logical == PQ_LOGICAL_NONE && fs->physical == PQ_INT32 &&
	    rf_same_logical(fs, &ts)) {
		p->conv = RF_INT_WIDEN;
		return 0;
	}
	if (ts.physical == PQ_DOUBLE && fs->physical == PQ_FLOAT && fs->logical == ts.logical) {
		p->conv = RF_FLOAT_WIDEN;
		return 0;
	}
	return -1;
}

/* The plan for schema s over the file (see the header). */
static int rf_plan(pq_reader *r, const floe_schema *s, rf_col *plan, char *err)
{
	for (int c = 0; c < s->ncols; c++) {
		const floe_column *col = &s->cols[c];
		rf_col *p = &plan[c];
		floe_column target = *col;
		memset(p, 0, sizeof(*p));
		p->list = col->type == FT_LIST;
		p->fcol = pq_reader_find_field(r, coltype_leaf_field_id(col));
		if (p->fcol < 0) {
			p->conv = RF_ABSENT;
			continue;
		}
		if (p->list)
			coltype_element(col, &target);
		const pq_reader_column *f = pq_reader_column_info(r, p->fcol);
		if ((f->max_rep > 0) == p->list && rf_match(f, &target, p) == 0)
			continue;
		char want[64], got[128];
		coltype_name(col, want, sizeof(want));
		rf_describe(f, got, sizeof(got));
		return errf(
		    err, FLOE_EINVAL,
		    "parquet: %s: column '%s' (field id %d) is %s in the file and cannot be "
		    "read as %s",
		    pq_reader_name(r), col->name, (int)coltype_leaf_field_id(col), got, want);
	}
	return 0;
}

/* An unscaled decimal from any of its Parquet encodings: INT32, INT64, or
 * big-endian two's complement bytes (FLBA, BYTE_ARRAY) of any length whose
 * value fits 128 bits. -1 when it does not. */
static int rf_decimal_of(int phys, const pq_value *v, __int128 *out)
{
	if (phys == PQ_INT32) {
		*out = v->v.i32;
		return 0;
	}
	if (phys == PQ_INT64) {
		*out = v->v.i64;
		return 0;
	}
	size_t n = v->len;
	if (n == 0)
		return -1;
	const uint8_t *b = v->bytes;
	size_t skip = n > 16 ? n - 16 : 0;
	uint8_t sign = (b[skip] & 0x80) ? 0xFF : 0x00;
	for (size_t i = 0; i < skip; i++)
		if (b[i] != sign)
			return -1;
	unsigned __int128 u = sign ? ~(unsigned __int128)0 : 0;
	for (size_t i = skip; i < n; i++)
		u = u << 8 | b[i];
	*out = (__int128)u;
	return 0;
}

/* Writes one present value (v) or NULL into column col of the row in
 * progress, or into its list when elem is set. */
static int rf_put(pq_reader *r, batch *b, const floe_schema *s, int col, const rf_col *p,
                  const pq_value *v, int elem, int64_t row, char *err)
{
	uint8_t slot[16];
	if (!v->present) {
		if (elem)
			batch_list_elem_null(b, col);
		else
			batch_set_null(b, col);
		return 0;
	}
	switch (p->conv) {
	case RF_SAME:
		if (p->kind == BC_BYTES) {
			if (elem)
				batch_list_elem_bytes(b, col, v->bytes, v->len);
			else
				batch_set_bytes(b, col, v->bytes, v->len);
			return 0;
		}
		if (p->kind == BC_BOOL)
			slot[0] = v->v.b != 0;
		else if (p->kind == BC_FIXED) /* FLBA of the column's width (rf_match) */
			memcpy(slot, v->bytes, (size_t)p->width);
		else /* 4 or 8 bytes: every member of the union starts at its first byte */
			memcpy(slot, &v->v, (size_t)p->width);
		break;
	case RF_INT_WIDEN: {
		int64_t x = v->v.i32;
		memcpy(slot, &x, sizeof(x));
		break;
	}
	case RF_FLOAT_WIDEN: {
		double x = v->v.f32;
		memcpy(slot, &x, sizeof(x));
		break;
	}
	case RF_DECIMAL: {
		__int128 x, lim = 1;
		for (int i = 0; i < p->precision; i++)
			lim *= 10;
		if (rf_decimal_of(p->phys, v, &x) || x >= lim || x <= -lim)
			return errf(err, FLOE_ECORRUPT,
			            "parquet: %s: column '%s', row %lld: a decimal outside "
			            "precision %d",
			            pq_reader_name(r), s->cols[col].name, (long long)row,
			            p->precision);
		batch_decimal_slot(p->kind, p->width, x, slot);
		break;
	}
	case RF_ABSENT:
		break;
	}
	if (elem)
		batch_list_elem_fixed(b, col, slot);
	else
		batch_set_fixed(b, col, slot);
	return 0;
}

/* Appends one row by the plan. */
static int rf_row(pq_reader *r, const rf_col *plan, const floe_schema *s, int64_t row, batch *b,
                  char *err)
{
	int rc = 0;
	pq_value v;
	batch_row_begin(b);
	for (int c = 0; c < s->ncols; c++) {
		const rf_col *p = &plan[c];
		if (p->conv == RF_ABSENT) {
			batch_set_null(b, c);
			continue;
		}
		if (!p->list) {
			if ((rc = pq_reader_value(r, p->fcol, row, &v, err)) ||
			    (rc = rf_put(r, b, s, c, p, &v, 0, row, err)))
				goto fail;
			continue;
		}
		int64_t len;
		if ((rc = pq_reader_list(r, p->fcol, row, &len, err)))
			goto fail;
		if (len < 0) {
			batch_set_null(b, c);
			continue;
		}
		batch_list_begin(b, c);
		for (int64_t i = 0; i < len; i++)
			if ((rc = pq_reader_elem(r, p->fcol, &v, err)) ||
			    (rc = rf_put(r, b, s, c, p, &v, 1, row, err)))
				goto fail;
		batch_list_end(b, c);
	}
	batch_row_commit(b);
	if (batch_check(b))
		return errf(err, FLOE_ENOMEM, "parquet: %s: out of memory appending row %lld",
		            pq_reader_name(r), (long long)row);
	return 0;
fail:
	batch_row_abort(b);
	return rc;
}

int rowfetch_append_rows(pq_reader *r, const int64_t *rows, size_t n, const floe_schema *schema,
                         batch *b, char *err)
{
	int rc;
	rf_col *plan = calloc(schema->ncols > 0 ? (size_t)schema->ncols : 1, sizeof(*plan));
	if (!plan)
		return errf(err, FLOE_ENOMEM, "parquet: out of memory reading rows");
	if ((rc = rf_plan(r, schema, plan, err)))
		goto fail;
	for (size_t i = 0; i < n; i++)
		if ((rc = rf_row(r, plan, schema, rows[i], b, err)))
			goto fail;
fail:
	free(plan);
	return rc;
}

int rowfetch_append_row(pq_reader *r, int64_t row, const floe_schema *schema, batch *b, char *err)
{
	return rowfetch_append_rows(r, &row, 1, schema, b, err);
}
