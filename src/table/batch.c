/*
 * batch — columnar rows (contract and invariants in batch.h).
 *
 * The per-value setters are inline in batch.h and write without checks
 * because the room for the row in progress is made in advance (invariant 4);
 * this file holds everything that allocates: init, the doubling of the row
 * room when a commit uses its last slot, the growth of BC_BYTES data, and
 * whole-batch operations.
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
		if (c->kind == BC_BYTES) {
			if (grow_to(&c->offsets, (rows + 1) * sizeof(uint64_t)))
				return FLOE_ENOMEM;
		} else if (grow_to(&c->values, rows * (size_t)c->width)) {
			return FLOE_ENOMEM;
		}
	}
	b->cap_rows = rows;
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
	for (int i = 0; i < b->ncols; i++) {
		batch_col *c = &b->cols[i];
		c->kind = coltype_batch_kind(&schema->cols[i]);
		c->width = coltype_width(&schema->cols[i]);
		if (c->kind == BC_BYTES) {
			/* offsets[0] = 0; bytes is allocated so that a column of
			 * empty values still has a non-NULL data pointer. */
			uint64_t zero = 0;
			buf_append(&c->offsets, &zero, sizeof zero);
			if (buf_reserve(&c->bytes, 64) || !buf_ok(&c->offsets))
				goto fail;
		}
	}
	if (grow_rows(b, BATCH_INITIAL_ROWS))
		goto fail;
	return 0;
fail:
	batch_clear(b);
	return FLOE_ENOMEM;
}

void batch_clear(batch *b)
{
	if (!b)
		return;
	for (int i = 0; i < b->ncols && b->cols; i++) {
		batch_col *c = &b->cols[i];
		buf_release(&c->valid);
		buf_release(&c->values);
		buf_release(&c->offsets);
		buf_release(&c->bytes);
	}
	free(b->cols);
	memset(b, 0, sizeof *b);
}

/* Sets every column's lengths to exactly b->nrows rows, which drops a
 * partly appended row. The BC_BYTES data end is offsets[nrows]. */
static void truncate_to_nrows(batch *b)
{
	for (int i = 0; i < b->ncols; i++) {
		batch_col *c = &b->cols[i];
		c->valid.len = b->nrows;
		if (c->kind == BC_BYTES) {
			uint64_t end;
			memcpy(&end, c->offsets.data + b->nrows * sizeof end, sizeof end);
			c->offsets.len = (b->nrows + 1) * sizeof end;
			c->bytes.len = (size_t)end;
		} else {
			c->values.len = b->nrows * (size_t)c->width;
		}
	}
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

size_t batch_mem_bytes(const batch *b)
{
	size_t n = 0;
	for (int i = 0; i < b->ncols; i++) {
		const batch_col *c = &b->cols[i];
		n += c->valid.len + c->values.len + c->offsets.len + c->bytes.len;
	}
	return n;
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
	for (int i = 0; i < dst->ncols; i++) {
		batch_col *d = &dst->cols[i];
		if (d->kind == BC_BYTES &&
		    grow_to(&d->bytes, d->bytes.len + src->cols[i].bytes.len))
			return FLOE_ENOMEM;
	}
	for (int i = 0; i < dst->ncols; i++) {
		batch_col *d = &dst->cols[i];
		const batch_col *s = &src->cols[i];
		assert(d->kind == s->kind && d->width == s->width);
		memcpy(d->valid.data + d->valid.len, s->valid.data, src->nrows);
		d->valid.len += src->nrows;
		if (d->kind != BC_BYTES) {
			memcpy(d->values.data + d->values.len, s->values.data, s->values.len);
			d->values.len += s->values.len;
			continue;
		}
		uint64_t base = d->bytes.len;
		for (size_t r = 1; r <= src->nrows; r++) {
			uint64_t off;
			memcpy(&off, s->offsets.data + r * sizeof off, sizeof off);
			off += base;
			memcpy(d->offsets.data + d->offsets.len, &off, sizeof off);
			d->offsets.len += sizeof off;
		}
		if (s->bytes.len)
			memcpy(d->bytes.data + d->bytes.len, s->bytes.data, s->bytes.len);
		d->bytes.len += s->bytes.len;
	}
	dst->nrows += src->nrows;
	return 0;
}

void batch_column_data(const batch *b, int col, pq_column_data *out)
{
	const batch_col *c = &b->cols[col];
	out->valid = c->valid.data;
	if (c->kind == BC_BYTES) {
		out->values = NULL;
		out->offsets = (const uint64_t *)(const void *)c->offsets.data;
		out->bytes = c->bytes.data;
	} else {
		out->values = c->values.data;
		out->offsets = NULL;
		out->bytes = NULL;
	}
}

int batch_append_row(batch *dst, const batch *src, size_t r)
{
	batch_row_begin(dst);
	for (int c = 0; c < src->ncols; c++) {
		const batch_col *col = &src->cols[c];
		if (!col->valid.data[r]) {
			batch_set_null(dst, c);
		} else if (col->kind == BC_BYTES) {
			const uint64_t *off = (const uint64_t *)(const void *)col->offsets.data;
			batch_set_bytes(dst, c, col->bytes.data + off[r], off[r + 1] - off[r]);
		} else {
			batch_set_fixed(dst, c, col->values.data + r * (size_t)col->width);
		}
	}
	batch_row_commit(dst);
	return batch_check(dst);
}
