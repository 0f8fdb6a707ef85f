/* batch_codec — see batch_codec.h for the byte layout. */
#include "table/batch_codec.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* offsets[i] of a BC_BYTES or BC_LIST column. */
static uint64_t offset_at(const batch_col *c, size_t i)
{
	uint64_t off;
	memcpy(&off, c->offsets.data + i * sizeof off, sizeof off);
	return off;
}

/* Appends values [0, n) of column c (a list's elements after the list). */
static void encode_col(const batch_col *c, size_t n, buf *out)
{
	int has_nulls = n && memchr(c->valid.data, 0, n) != NULL;
	buf_put_u8(out, (uint8_t)c->kind);
	buf_put_u8(out, (uint8_t)has_nulls);
	if (has_nulls)
		buf_append(out, c->valid.data, n);
	if (c->kind != BC_BYTES && c->kind != BC_LIST) {
		buf_append(out, c->values.data, n * (size_t)c->width);
		return;
	}
	if (buf_reserve(out, n * 4))
		return;
	for (size_t r = 0; r < n; r++) {
		put_le32(out->data + out->len, (uint32_t)(offset_at(c, r + 1) - offset_at(c, r)));
		out->len += 4;
	}
	size_t end = (size_t)offset_at(c, n);
	if (c->kind == BC_LIST)
		encode_col(c->elem, end, out);
	else
		buf_append(out, c->bytes.data, end);
}

int batch_encode(const batch *b, buf *out)
{
	buf_put_u8(out, 1);
	buf_put_le32(out, (uint32_t)b->ncols);
	buf_put_le32(out, (uint32_t)b->nrows);
	for (int i = 0; i < b->ncols; i++)
		encode_col(&b->cols[i], b->nrows, out);
	return buf_ok(out) ? 0 : FLOE_ENOMEM;
}

typedef struct reader {
	const uint8_t *p;
	size_t n, off;
} reader;

static const uint8_t *take(reader *r, size_t n)
{
	if (n > r->n - r->off)
		return NULL;
	const uint8_t *p = r->p + r->off;
	r->off += n;
	return p;
}

/* Where one column's parts (or a list's elements') start inside the record. */
typedef struct col_parts {
	const uint8_t *valid, *vals, *lens, *data;
	size_t pos;  /* next byte of data */
	size_t next; /* elements: the next one */
} col_parts;

/* Checks the shape of the n values of column c at the reader and finds their
 * parts in v; a list's elements go to v[1]. Column `i` names it in errors. */
static int locate_col(reader *r, const batch_col *c, size_t n, col_parts *v, int i, char *err)
{
	const uint8_t *kh = take(r, 2);
	if (!kh || kh[0] != (uint8_t)c->kind || kh[1] > 1)
		return errf(err, FLOE_ECORRUPT,
		            "batch record: column %d header does not match the schema", i);
	if (kh[1] && !(v->valid = take(r, n)))
		goto truncated;
	if (c->kind != BC_BYTES && c->kind != BC_LIST) {
		if (!(v->vals = take(r, n * (size_t)c->width)))
			goto truncated;
		return 0;
	}
	if (!(v->lens = take(r, n * 4)))
		goto truncated;
	size_t total = 0;
	for (size_t k = 0; k < n; k++) {
		uint32_t len = get_le32(v->lens + 4 * k);
		if (len && v->valid && !v->valid[k])
			return errf(err, FLOE_ECORRUPT,
			            "batch record: column %d: a null value has a length", i);
		total += len;
	}
	if (c->kind == BC_BYTES) {
		if (!(v->data = take(r, total)))
			goto truncated;
		return 0;
	}
	/* Every element takes at least one byte, which bounds total. */
	if (total > r->n - r->off)
		goto truncated;
	return locate_col(r, c->elem, total, v + 1, i, err);
truncated:
	return errf(err, FLOE_ECORRUPT, "batch record: column %d truncated", i);
}

/* Appends the elements of row `row` of list column i from its parts. */
static void decode_list(batch *out, int i, const col_parts *v, col_parts *e, size_t row)
{
	const batch_col *ec = out->cols[i].elem;
	uint32_t count = get_le32(v->lens + 4 * row);
	batch_list_begin(out, i);
	for (uint32_t k = 0; k < count; k++, e->next++) {
		if (e->valid && !e->valid[e->next]) {
			batch_list_elem_null(out, i);
		} else if (ec->kind == BC_BYTES) {
			size_t len = get_le32(e->lens + 4 * e->next);
			batch_list_elem_bytes(out, i, e->data + e->pos, len);
			e->pos += len;
		} else {
			batch_list_elem_fixed(out, i, e->vals + e->next * (size_t)ec->width);
		}
	}
	batch_list_end(out, i);
}

int batch_decode(const uint8_t *p, size_t n, const floe_schema *schema, batch *out, char *err)
{
	reader r = {p, n, 0};
	col_parts *cv = NULL;
	int rc = 0;
	const uint8_t *h = take(&r, 9);
	if (!h || h[0] != 1)
		return errf(err, FLOE_ECORRUPT, "batch record: bad header");
	uint32_t ncols = get_le32(h + 1), nrows = get_le32(h + 5);
	if (ncols != (uint32_t)schema->ncols || out->ncols != schema->ncols)
		return errf(err, FLOE_ECORRUPT, "batch record: %u columns, table has %d", ncols,
		            schema->ncols);
	/* Two per column: the column's parts, then a list's elements'. */
	cv = calloc(ncols ? 2 * (size_t)ncols : 1, sizeof *cv);
	if (!cv)
		return errf(err, FLOE_ENOMEM, "out of memory");
	for (uint32_t i = 0; i < ncols; i++)
		if ((rc = locate_col(&r, &out->cols[i], nrows, &cv[2 * i], (int)i, err)))
			goto out;
	if (r.off != r.n) {
		rc = errf(err, FLOE_ECORRUPT, "batch record: %zu trailing bytes", r.n - r.off);
		goto out;
	}
	if (batch_reserve(out, nrows)) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t row = 0; row < nrows; row++) {
		batch_row_begin(out);
		for (uint32_t i = 0; i < ncols; i++) {
			col_parts *v = &cv[2 * i];
			int kind = out->cols[i].kind;
			size_t len = kind == BC_BYTES ? get_le32(v->lens + 4 * (size_t)row) : 0;
			if (v->valid && !v->valid[row])
				batch_set_null(out, (int)i);
			else if (kind == BC_LIST)
				decode_list(out, (int)i, v, v + 1, row);
			else if (kind == BC_BYTES)
				batch_set_bytes(out, (int)i, v->data + v->pos, len);
			else
				batch_set_fixed(out, (int)i,
				                v->vals + (size_t)row * (size_t)out->cols[i].width);
			v->pos += len;
		}
		batch_row_commit(out);
	}
	if (batch_check(out))
		rc = errf(err, FLOE_ENOMEM, "out of memory");
out:
	free(cv);
	return rc;
}
