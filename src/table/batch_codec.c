/* batch_codec — see batch_codec.h for the byte layout. */
#include "table/batch_codec.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"

int batch_encode(const batch *b, buf *out)
{
	buf_put_u8(out, 1);
	buf_put_le32(out, (uint32_t)b->ncols);
	buf_put_le32(out, (uint32_t)b->nrows);
	for (int i = 0; i < b->ncols; i++) {
		const batch_col *c = &b->cols[i];
		int has_nulls = memchr(c->valid.data, 0, b->nrows) != NULL;
		buf_put_u8(out, (uint8_t)c->kind);
		buf_put_u8(out, (uint8_t)has_nulls);
		if (has_nulls)
			buf_append(out, c->valid.data, b->nrows);
		if (c->kind != BC_BYTES) {
			buf_append(out, c->values.data, b->nrows * (size_t)c->width);
			continue;
		}
		const uint64_t *off = (const uint64_t *)(const void *)c->offsets.data;
		if (buf_reserve(out, b->nrows * 4))
			break;
		for (size_t r = 0; r < b->nrows; r++) {
			put_le32(out->data + out->len, (uint32_t)(off[r + 1] - off[r]));
			out->len += 4;
		}
		buf_append(out, c->bytes.data + off[0], off[b->nrows] - off[0]);
	}
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

/* Where each column's parts start inside the record. */
typedef struct col_parts {
	const uint8_t *valid, *vals, *lens, *data;
	size_t pos; /* next byte of data */
} col_parts;

/* Checks the record's shape and finds every column's parts. */
static int locate_parts(reader *r, const batch *out, uint32_t nrows, col_parts *cv, char *err)
{
	for (int i = 0; i < out->ncols; i++) {
		const batch_col *c = &out->cols[i];
		col_parts *v = &cv[i];
		const uint8_t *kh = take(r, 2);
		if (!kh || kh[0] != (uint8_t)c->kind || kh[1] > 1)
			return errf(err, FLOE_ECORRUPT,
			            "batch record: column %d header does not match the schema", i);
		if (kh[1] && !(v->valid = take(r, nrows)))
			goto truncated;
		if (c->kind != BC_BYTES) {
			if (!(v->vals = take(r, (size_t)nrows * (size_t)c->width)))
				goto truncated;
			continue;
		}
		if (!(v->lens = take(r, (size_t)nrows * 4)))
			goto truncated;
		size_t total = 0;
		for (uint32_t row = 0; row < nrows; row++)
			total += get_le32(v->lens + 4 * (size_t)row);
		if (!(v->data = take(r, total)))
			goto truncated;
		continue;
	truncated:
		return errf(err, FLOE_ECORRUPT, "batch record: column %d truncated", i);
	}
	if (r->off != r->n)
		return errf(err, FLOE_ECORRUPT, "batch record: %zu trailing bytes", r->n - r->off);
	return 0;
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
	cv = calloc(ncols ? ncols : 1, sizeof *cv);
	if (!cv)
		return errf(err, FLOE_ENOMEM, "out of memory");
	if ((rc = locate_parts(&r, out, nrows, cv, err)))
		goto out;
	if (batch_reserve(out, nrows)) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t row = 0; row < nrows; row++) {
		batch_row_begin(out);
		for (uint32_t i = 0; i < ncols; i++) {
			col_parts *v = &cv[i];
			int kind = out->cols[i].kind;
			size_t len = kind == BC_BYTES ? get_le32(v->lens + 4 * (size_t)row) : 0;
			if (v->valid && !v->valid[row])
				batch_set_null(out, (int)i);
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
