/*
 * batch — columnar rows (contract and invariants in batch.h).
 *
 * The per-value setters are inline in batch.h and write without checks
 * because the room for the row in progress is made in advance (invariant 4);
 * this file holds everything that allocates: init, the doubling of the row
 * room when a commit uses its last slot, the growth of BC_BYTES data and of
 * list elements, and whole-batch operations. A list column's elements are a
 * batch_col of their own (batch.h invariant 1), so the column-level helpers
 * below (col_*) serve top-level columns and element columns alike.
 * Allocation failures never leave a column misaligned: the failing row is
 * dropped at commit and the batch is marked oom (invariant 5), which
 * batch_check reports. A buffer whose growth failed is not left poisoned
 * (buf.h invariant 2) because the batch keeps its own oom flag; batch_reset
 * makes the batch usable again.
 */
#include "table/batch.h"

#include <stdint.h>
#include <stdlib.h>

#include "base/err.h"

#define BATCH_INITIAL_ROWS 16

/* Grows x so that it can hold `total` bytes; keeps the content. */
static int grow_to(buf *x, size_t total)
{
	if (total <= x->len)
		return 0;
	if (buf_reserve(x, total - x->len)) {
		x->oom = 0; /* nothing was lost; the batch tracks failure itself */
		return FLOE_ENOMEM;
	}
	return 0;
}

static int has_offsets(const batch_col *c)
{
	return c->kind == BC_BYTES || c->kind == BC_LIST;
}

/* Makes room in c for n values in all (valid, values or offsets) after the
 * ones it has; the content is kept. */
static int col_grow(batch_col *c, size_t n)
{
	if (grow_to(&c->valid, c->valid.len + n))
		return FLOE_ENOMEM;
	if (has_offsets(c))
		return grow_to(&c->offsets, c->offsets.len + n * sizeof(uint64_t));
	return grow_to(&c->values, c->values.len + n * (size_t)c->width);
}

/* Makes room for `rows` rows in every column (invariant 4 uses rows =
 * nrows + 1 at least). On failure cap_rows is unchanged and so is every
 * column's content. */
static int grow_rows(batch *b, size_t rows)
{
	if (rows <= b->cap_rows)
		return 0;
	if (rows > SIZE_MAX / 16 - 1)
		return FLOE_ENOMEM;
	for (int i = 0; i < b->ncols; i++) {
		batch_col *c = &b->cols[i];
		if (grow_to(&c->valid, rows))
			return FLOE_ENOMEM;
		if (has_offsets(c)) {
			if (grow_to(&c->offsets, (rows + 1) * sizeof(uint64_t)))
				return FLOE_ENOMEM;
		} else if (grow_to(&c->values, rows * (size_t)c->width)) {
			return FLOE_ENOMEM;
		}
	}
	b->cap_rows = rows;
	return 0;
}

/* An empty column of the given kind: offsets[0] = 0 for the kinds with
 * offsets, and bytes / element storage allocated so that a column of empty
 * values still has non-NULL data pointers. */
static int col_init(batch_col *c, const floe_column *fc)
{
	c->kind = coltype_batch_kind(fc);
	c->width = coltype_width(fc);
	if (has_offsets(c)) {
		uint64_t zero = 0;
		buf_append(&c->offsets, &zero, sizeof zero);
		if (!buf_ok(&c->offsets))
			return FLOE_ENOMEM;
	}
	if (c->kind == BC_BYTES && buf_reserve(&c->bytes, 64))
		return FLOE_ENOMEM;
	if (c->kind == BC_LIST) {
		floe_column ef;
		coltype_element(fc, &ef);
		if (!(c->elem = calloc(1, sizeof *c->elem)) || col_init(c->elem, &ef) ||
		    col_grow(c->elem, BATCH_INITIAL_ROWS))
			return FLOE_ENOMEM;
	}
	return 0;
}

int batch_init(batch *b, const floe_schema *schema)
{
	memset(b, 0, sizeof *b);
	if (schema->ncols > 0) {
		b->cols = calloc((size_t)schema->ncols, sizeof *b->cols);
		if (!b->cols)
			goto fail;
	}
	b->ncols = schema->ncols;
	for (int i = 0; i < b->ncols; i++)
		if (col_init(&b->cols[i], &schema->cols[i]))
			goto fail;
	if (grow_rows(b, BATCH_INITIAL_ROWS))
		goto fail;
	return 0;
fail:
	batch_clear(b);
	return FLOE_ENOMEM;
}

static void col_release(batch_col *c)
{
	buf_release(&c->valid);
	buf_release(&c->values);
	buf_release(&c->offsets);
	buf_release(&c->bytes);
	if (c->elem) {
		col_release(c->elem);
		free(c->elem);
	}
}

void batch_clear(batch *b)
{
	if (!b)
		return;
	for (int i = 0; i < b->ncols && b->cols; i++)
		col_release(&b->cols[i]);
	free(b->cols);
	memset(b, 0, sizeof *b);
}

/* offsets[i] of a column with offsets. */
static uint64_t col_offset(const batch_col *c, size_t i)
{
	uint64_t off;
	memcpy(&off, c->offsets.data + i * sizeof off, sizeof off);
	return off;
}

/* Sets c's lengths to exactly n values: BC_BYTES data ends at offsets[n],
 * a list's elements at offsets[n] elements. */
static void col_truncate(batch_col *c, size_t n)
{
	c->valid.len = n;
	if (!has_offsets(c)) {
		c->values.len = n * (size_t)c->width;
		return;
	}
	uint64_t end = col_offset(c, n);
	c->offsets.len = (n + 1) * sizeof end;
	if (c->kind == BC_BYTES)
		c->bytes.len = (size_t)end;
	else
		col_truncate(c->elem, (size_t)end);
}

/* Sets every column's lengths to exactly b->nrows rows, which drops a
 * partly appended row. */
static void truncate_to_nrows(batch *b)
{
	for (int i = 0; i < b->ncols; i++)
		col_truncate(&b->cols[i], b->nrows);
}

void batch_reset(batch *b)
{
	b->nrows = 0;
	b->oom = 0;
	truncate_to_nrows(b); /* offsets[0] is always 0 */
}

void batch_row_abort(batch *b)
{
	truncate_to_nrows(b);
}

void batch_list_abort(batch *b, int col)
{
	batch_col *c = &b->cols[col];
	assert(c->kind == BC_LIST);
	/* The list in progress starts at the offset of the row's start. */
	col_truncate(c->elem, (size_t)col_offset(c, c->valid.len));
}

void batch_commit_slow(batch *b)
{
	if (!b->oom && grow_rows(b, b->cap_rows * 2) == 0)
		return;
	/* No room for the next row (or an earlier failure): drop the row just
	 * committed so that the row slot at nrows stays free (invariant 5). */
	b->oom = 1;
	b->nrows--;
	truncate_to_nrows(b);
}

int batch_bytes_slow(batch *b, batch_col *c, size_t n)
{
	if (buf_reserve(&c->bytes, n) == 0)
		return 0;
	c->bytes.oom = 0;
	b->oom = 1;
	return -1;
}

int batch_elem_slow(batch *b, batch_col *e, size_t n)
{
	/* Doubling, as buf_reserve grows each part. */
	if (col_grow(e, 1) == 0 &&
	    (e->kind != BC_BYTES || grow_to(&e->bytes, e->bytes.len + n) == 0))
		return 0;
	b->oom = 1;
	return -1;
}

int batch_reserve(batch *b, size_t rows)
{
	/* + 1: the slot of the row in progress (invariant 4). */
	size_t need = b->nrows + rows + 1;
	if (need < rows)
		return FLOE_ENOMEM;
	if (need <= b->cap_rows)
		return 0;
	return grow_rows(b, need > b->cap_rows * 2 ? need : b->cap_rows * 2);
}

int batch_check(const batch *b)
{
	return b->oom ? FLOE_ENOMEM : 0;
}

static size_t col_mem_bytes(const batch_col *c)
{
	size_t n = c->valid.len + c->values.len + c->offsets.len + c->bytes.len;
	return c->elem ? n + col_mem_bytes(c->elem) : n;
}

size_t batch_mem_bytes(const batch *b)
{
	size_t n = 0;
	for (int i = 0; i < b->ncols; i++)
		n += col_mem_bytes(&b->cols[i]);
	return n;
}

/* Makes room in d for the first n values of s: valid and values / offsets,
 * BC_BYTES data, list elements. Content is kept. */
static int col_reserve_from(batch_col *d, const batch_col *s, size_t n)
{
	if (col_grow(d, n))
		return FLOE_ENOMEM;
	if (d->kind == BC_BYTES)
		return grow_to(&d->bytes, d->bytes.len + (size_t)col_offset(s, n));
	if (d->kind == BC_LIST)
		return col_reserve_from(d->elem, s->elem, (size_t)col_offset(s, n));
	return 0;
}

/* Appends the first n values of s to d (room made by col_reserve_from);
 * offsets are rebased onto d's data. */
static void col_copy(batch_col *d, const batch_col *s, size_t n)
{
	assert(d->kind == s->kind && d->width == s->width);
	memcpy(d->valid.data + d->valid.len, s->valid.data, n);
	d->valid.len += n;
	if (!has_offsets(d)) {
		size_t len = n * (size_t)d->width;
		if (len)
			memcpy(d->values.data + d->values.len, s->values.data, len);
		d->values.len += len;
		return;
	}
	uint64_t base = d->kind == BC_LIST ? d->elem->valid.len : d->bytes.len;
	for (size_t r = 1; r <= n; r++) {
		uint64_t off = col_offset(s, r) + base;
		memcpy(d->offsets.data + d->offsets.len, &off, sizeof off);
		d->offsets.len += sizeof off;
	}
	size_t end = (size_t)col_offset(s, n);
	if (d->kind == BC_LIST) {
		col_copy(d->elem, s->elem, end);
		return;
	}
	if (end)
		memcpy(d->bytes.data + d->bytes.len, s->bytes.data, end);
	d->bytes.len += end;
}

int batch_append_batch(batch *dst, const batch *src)
{
	assert(dst->ncols == src->ncols);
	if (src->oom)
		return FLOE_ENOMEM;
	if (src->nrows == 0)
		return 0;
	/* Make every bit of room first, so the copy below cannot fail half way. */
	if (batch_reserve(dst, src->nrows))
		return FLOE_ENOMEM;
	for (int i = 0; i < dst->ncols; i++)
		if (col_reserve_from(&dst->cols[i], &src->cols[i], src->nrows))
			return FLOE_ENOMEM;
	for (int i = 0; i < dst->ncols; i++)
		col_copy(&dst->cols[i], &src->cols[i], src->nrows);
	dst->nrows += src->nrows;
	return 0;
}

void batch_column_data(const batch *b, int col, pq_column_data *out)
{
	const batch_col *c = &b->cols[col];
	memset(out, 0, sizeof *out);
	out->valid = c->valid.data;
	if (c->kind == BC_LIST) {
		out->list_offsets = (const uint64_t *)(const void *)c->offsets.data;
		c = c->elem; /* the values are the elements' */
		out->elem_valid = c->valid.data;
	}
	if (c->kind == BC_BYTES) {
		out->offsets = (const uint64_t *)(const void *)c->offsets.data;
		out->bytes = c->bytes.data;
	} else {
		out->values = c->values.data;
	}
}

/* Appends list value r of list column `col` of src to the row in progress. */
static void append_list(batch *dst, int c, const batch_col *col, size_t r)
{
	const batch_col *e = col->elem;
	size_t lo = (size_t)col_offset(col, r), hi = (size_t)col_offset(col, r + 1);
	batch_list_begin(dst, c);
	for (size_t k = lo; k < hi; k++) {
		if (!e->valid.data[k]) {
			batch_list_elem_null(dst, c);
		} else if (e->kind == BC_BYTES) {
			uint64_t s = col_offset(e, k);
			batch_list_elem_bytes(dst, c, e->bytes.data + s, col_offset(e, k + 1) - s);
		} else {
			batch_list_elem_fixed(dst, c, e->values.data + k * (size_t)e->width);
		}
	}
	batch_list_end(dst, c);
}

void batch_append_value(batch *dst, int c, const batch_col *col, size_t r)
{
	assert(dst->cols[c].kind == col->kind && dst->cols[c].width == col->width);
	if (!col->valid.data[r]) {
		batch_set_null(dst, c);
	} else if (col->kind == BC_LIST) {
		append_list(dst, c, col, r);
	} else if (col->kind == BC_BYTES) {
		const uint64_t *off = (const uint64_t *)(const void *)col->offsets.data;
		batch_set_bytes(dst, c, col->bytes.data + off[r], off[r + 1] - off[r]);
	} else {
		batch_set_fixed(dst, c, col->values.data + r * (size_t)col->width);
	}
}

int batch_append_row(batch *dst, const batch *src, size_t r)
{
	return batch_append_row_merged(dst, src, r, NULL, 0, NULL);
}

int batch_append_row_merged(batch *dst, const batch *src, size_t r, const batch *alt, size_t ar,
                            const uint8_t *take_alt)
{
	batch_row_begin(dst);
	for (int c = 0; c < src->ncols; c++) {
		if (take_alt && take_alt[c])
			batch_append_value(dst, c, &alt->cols[c], ar);
		else
			batch_append_value(dst, c, &src->cols[c], r);
	}
	batch_row_commit(dst);
	return batch_check(dst);
}
