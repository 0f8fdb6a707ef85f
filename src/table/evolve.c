/*
 * evolve — schema evolution of a table (table_alter_schema): checking a new
 * column list against the current one, giving added columns their field ids,
 * converting the rows in memory, and the Iceberg metadata commit.
 *
 * Columns are matched by field id, never by name or position, so a column
 * renamed or moved keeps its data, and a dropped column's id is never given
 * to another one (new ids start above the table's last-column-id, which
 * Iceberg never lowers).
 * Allowed type changes are Iceberg's promotions: int16/int32 -> int64,
 * float32 -> float64, decimal(p,s) -> decimal(p',s) with p' >= p, and the
 * same of a list's element type (a list stays a list). A list column's
 * element has a field id of its own: an added list gets a new one after its
 * column's, a kept list keeps its element's id whatever the caller passed.
 * Nullability may loosen, never tighten (old files may hold nulls).
 * Order of work, so that a failure changes nothing: check, convert the
 * memory batches into new ones, commit the Iceberg schema, then install the
 * new batches and schema. Writer thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "table/value.h"
#include "table/table_internal.h"

/* Bytes of a big-endian two's complement value in a wider one. */
static void widen_be(const uint8_t *in, int inw, uint8_t *out, int outw)
{
	memset(out, (in[0] & 0x80) ? 0xff : 0, (size_t)(outw - inw));
	memcpy(out + outw - inw, in, (size_t)inw);
}

/* A fixed-width value of `from`'s batch kind as `to`'s (a promotion that
 * evolve_check allowed). */
static void convert_fixed(const batch_col *from, const uint8_t *v, const batch_col *to,
                          uint8_t *out)
{
	if (from->kind == to->kind && from->width == to->width) {
		memcpy(out, v, (size_t)to->width);
	} else if (from->kind == BC_F32 && to->kind == BC_F64) {
		float f;
		memcpy(&f, v, 4);
		double d = f;
		memcpy(out, &d, 8);
	} else if (to->kind == BC_I64) { /* from BC_I32 */
		int32_t x;
		memcpy(&x, v, 4);
		int64_t y = x;
		memcpy(out, &y, 8);
	} else { /* decimal into a wider big-endian FIXED */
		uint8_t be[8];
		int w = from->width;
		if (from->kind == BC_FIXED) {
			widen_be(v, w, out, to->width);
			return;
		}
		int64_t x;
		if (w == 4) {
			int32_t x32;
			memcpy(&x32, v, 4);
			x = x32;
		} else {
			memcpy(&x, v, 8);
		}
		for (int i = 0; i < 8; i++)
			be[i] = (uint8_t)((uint64_t)x >> (56 - 8 * i));
		widen_be(be, 8, out, to->width);
	}
}

static int promotion_allowed(const floe_column *a, const floe_column *b)
{
	if (a->type == FT_LIST || b->type == FT_LIST) {
		/* A list stays a list; its element may be promoted. */
		floe_column ea, eb;
		coltype_element(a, &ea);
		coltype_element(b, &eb);
		return a->type == b->type && promotion_allowed(&ea, &eb);
	}
	if (a->type == b->type)
		return a->type != FT_DECIMAL ||
		       (a->scale == b->scale && b->precision >= a->precision);
	if (b->type == FT_INT64)
		return a->type == FT_INT16 || a->type == FT_INT32;
	if (b->type == FT_INT32)
		return a->type == FT_INT16;
	return a->type == FT_FLOAT32 && b->type == FT_FLOAT64;
}

/* Checks `to` against the table and fills map[c] = the current index of new
 * column c, or -1 for an added one. */
static int evolve_check(const floe_table *t, const floe_schema *to, int *map, char *err)
{
	const floe_schema *from = &t->schema;
	if (t->ident == IDENT_FULL_ROW)
		return errf(err, FLOE_EINVAL,
		            "table %s: its identity is the full row; a schema change would change "
		            "the identity of every row (give the table a primary key)",
		            t->name);
	for (int c = 0; c < to->ncols; c++) {
		const floe_column *n = &to->cols[c];
		map[c] = -1;
		if (n->field_id == 0)
			continue;
		for (int o = 0; o < from->ncols; o++)
			if (from->cols[o].field_id == n->field_id)
				map[c] = o;
		if (map[c] < 0)
			return errf(err, FLOE_EINVAL, "table %s: column %s: field id %d is unknown",
			            t->name, n->name, (int)n->field_id);
		const floe_column *o = &from->cols[map[c]];
		char tn[64], fn[64];
		coltype_name(o, fn, sizeof fn);
		coltype_name(n, tn, sizeof tn);
		if (!promotion_allowed(o, n))
			return errf(err, FLOE_EINVAL,
			            "table %s: column %s cannot change type from %s to %s (Iceberg "
			            "allows int->long, float->double and wider decimal precision, "
			            "also of a list's elements)",
			            t->name, n->name, fn, tn);
		if (o->nullable && !n->nullable)
			return errf(err, FLOE_EINVAL,
			            "table %s: column %s cannot become required: older rows may be "
			            "null",
			            t->name, n->name);
	}
	for (int k = 0; k < t->nkey; k++) {
		int32_t id = from->cols[t->key_cols[k]].field_id;
		int found = 0;
		for (int c = 0; c < to->ncols; c++)
			found |= to->cols[c].field_id == id;
		if (!found)
			return errf(err, FLOE_EINVAL, "table %s: key column %s cannot be dropped",
			            t->name, from->cols[t->key_cols[k]].name);
	}
	return 0;
}

/* Whether values of a are stored exactly as values of b (a promotion that
 * keeps the batch form, such as int16 -> int32 or decimal(5,2) ->
 * decimal(7,2)). */
static int same_form(const batch_col *a, const batch_col *b)
{
	return a->kind == b->kind && a->width == b->width &&
	       (a->kind != BC_LIST || same_form(a->elem, b->elem));
}

/* Value r of src (a column of the table's batch) as column c of nb's row in
 * progress, converted to c's type. */
static void convert_value(batch *nb, int c, const batch_col *src, size_t r)
{
	const batch_col *to = &nb->cols[c];
	uint8_t tmp[32];
	if (!src->valid.data[r] || same_form(src, to)) {
		batch_append_value(nb, c, src, r);
	} else if (src->kind != BC_LIST) {
		convert_fixed(src, src->values.data + r * (size_t)src->width, to, tmp);
		batch_set_fixed(nb, c, tmp);
	} else { /* a list of promoted (fixed-width) elements */
		const batch_col *e = src->elem;
		uint64_t off[2];
		memcpy(off, src->offsets.data + r * sizeof off[0], sizeof off);
		batch_list_begin(nb, c);
		for (size_t k = (size_t)off[0]; k < (size_t)off[1]; k++) {
			if (!e->valid.data[k]) {
				batch_list_elem_null(nb, c);
				continue;
			}
			convert_fixed(e, e->values.data + k * (size_t)e->width, to->elem, tmp);
			batch_list_elem_fixed(nb, c, tmp);
		}
		batch_list_end(nb, c);
	}
}

/* The Iceberg single-value JSON (spec: "JSON single-value serialization")
 * of value r of col, a column of type c; NULL for a type without one here
 * (lists) or out of memory. */
static char *iceberg_json_value(const floe_column *c, const batch_col *col, size_t r)
{
	const uint8_t *v = col->values.data + r * (size_t)col->width;
	char text[160];
	int32_t i32 = 0;
	int64_t i64 = 0;
	json_t *j = NULL;
	if (col->kind == BC_I32)
		memcpy(&i32, v, 4);
	if (col->kind == BC_I64)
		memcpy(&i64, v, 8);
	switch (c->type) {
	case FT_BOOLEAN:
		j = json_boolean(v[0]);
		break;
	case FT_INT16:
	case FT_INT32:
		j = json_integer(i32);
		break;
	case FT_INT64:
		j = json_integer(i64);
		break;
	case FT_FLOAT32: {
		float f;
		memcpy(&f, v, 4);
		j = json_real(f);
		break;
	}
	case FT_FLOAT64: {
		double d;
		memcpy(&d, v, 8);
		j = json_real(d);
		break;
	}
	case FT_DECIMAL:
		value_format_decimal(col->kind == BC_I32   ? i32
		                     : col->kind == BC_I64 ? i64
		                                           : value_decimal_from_be(v, col->width),
		                     c->scale, text, sizeof text);
		j = json_string(text);
		break;
	case FT_DATE32:
		value_format_date(i32, text, sizeof text);
		j = json_string(text);
		break;
	case FT_TIME:
		value_format_time(i64, text, sizeof text);
		j = json_string(text);
		break;
	case FT_TIMESTAMP:
	case FT_TIMESTAMPTZ: {
		value_format_timestamp(i64, 0, text, sizeof text);
		size_t n = strlen(text);
		if (c->type == FT_TIMESTAMPTZ && n + 7 < sizeof text)
			memcpy(text + n, "+00:00", 7);
		j = json_string(text);
		break;
	}
	case FT_UUID:
		snprintf(text, sizeof text,
		         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		         v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11],
		         v[12], v[13], v[14], v[15]);
		j = json_string(text);
		break;
	case FT_STRING:
	case FT_BINARY: {
		const uint64_t *off = (const uint64_t *)(const void *)col->offsets.data;
		const uint8_t *p = col->bytes.data + off[r];
		size_t n = off[r + 1] - off[r];
		if (c->type == FT_STRING) {
			j = json_stringn((const char *)p, n);
			break;
		}
		char *hex = malloc(2 * n + 1);
		for (size_t k = 0; hex && k < n; k++)
			snprintf(hex + 2 * k, 3, "%02X", p[k]);
		if (hex) {
			hex[2 * n] = 0;
			j = json_string(hex);
		}
		free(hex);
		break;
	}
	default:
		return NULL;
	}
	char *out = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	json_decref(j);
	return out;
}

/* Copies b (shaped like the table's schema) into *out shaped like `to`;
 * an added column takes defaults' row 0 value when there is one. */
static int convert_batch(const batch *b, const floe_schema *to, const int *map,
                         const batch *defaults, batch **out, char *err)
{
	batch *nb = calloc(1, sizeof *nb);
	if (!nb || batch_init(nb, to) || batch_reserve(nb, b->nrows)) {
		free(nb);
		return errf(err, FLOE_ENOMEM, "out of memory");
	}
	for (size_t r = 0; r < b->nrows; r++) {
		batch_row_begin(nb);
		for (int c = 0; c < to->ncols; c++) {
			if (map[c] < 0 && defaults && to->cols[c].initial_default)
				batch_append_value(nb, c, &defaults->cols[c], 0);
			else if (map[c] < 0)
				batch_set_null(nb, c);
			else
				convert_value(nb, c, &b->cols[map[c]], r);
		}
		batch_row_commit(nb);
	}
	if (batch_check(nb)) {
		batch_clear(nb);
		free(nb);
		return errf(err, FLOE_ENOMEM, "out of memory");
	}
	*out = nb;
	return 0;
}

static void free_batches(batch **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i])
			batch_clear(v[i]);
		free(v[i]);
	}
	free(v);
}

int evolve_apply(floe_table *t, const floe_schema *to_in, const batch *defaults, char *err)
{
	floe_schema to = {0};
	ice_schema is = {0};
	json_t *cols = NULL, *props = NULL;
	char *cols_text = NULL, *schema_json = NULL;
	batch **converted = NULL;
	size_t nmem = 0;
	int *map = NULL, rc;
	if (floe_schema_copy(to_in, &to) || !(map = calloc((size_t)to.ncols + 1, sizeof *map)))
		goto oom;
	if ((rc = evolve_check(t, &to, map, err)))
		goto fail;
	/* New ids above every id the table has had (last-column-id counts list
	 * elements' ids too); a kept list keeps its element's id. */
	int32_t next_id = ice_table_last_column_id(t->ice);
	if (defaults && (defaults->nrows != 1 || defaults->ncols != to.ncols))
		defaults = NULL; /* not shaped like the new schema */
	for (int c = 0; c < to.ncols; c++) {
		floe_column *n = &to.cols[c];
		if (n->field_id == 0) {
			n->field_id = ++next_id;
			/* Rows from before the column read as its default: Iceberg's
			 * initial-default (a type without a JSON form reads null). */
			free(n->initial_default);
			n->initial_default = NULL;
			if (defaults && defaults->cols[c].valid.data[0])
				n->initial_default = iceberg_json_value(n, &defaults->cols[c], 0);
		}
		if (n->type == FT_LIST)
			n->elem_field_id =
			    map[c] >= 0 ? t->schema.cols[map[c]].elem_field_id : ++next_id;
	}
	for (pending *p = t->mem; p; p = p->next)
		nmem++;
	if (!(converted = calloc(nmem + 1, sizeof *converted)))
		goto oom;
	size_t i = 0;
	for (pending *p = t->mem; p; p = p->next, i++)
		if ((rc = convert_batch(p->rows, &to, map, defaults, &converted[i], err)))
			goto fail;
	table_identity ident = {.primary_key = t->ident == IDENT_PRIMARY_KEY, .nkey = t->nkey};
	int key_cols[INDEX_MAX_KEY_COLS];
	for (int k = 0; k < t->nkey; k++)
		for (int c = 0; c < to.ncols; c++)
			if (to.cols[c].field_id == t->schema.cols[t->key_cols[k]].field_id)
				ident.cols[k] = key_cols[k] = c;
	if ((rc = table_ice_schema(&to, &ident, &is, err)))
		goto fail;
	json_t *sj = ice_schema_to_json(&is);
	schema_json = sj ? json_dumps(sj, JSON_COMPACT) : NULL;
	json_decref(sj);
	cols = table_columns_json(&to);
	cols_text = cols ? json_dumps(cols, JSON_COMPACT) : NULL;
	props = cols_text ? json_pack("{s:s}", "floe.columns", cols_text) : NULL;
	if (!props || !schema_json)
		goto oom;
	index_keydesc kd = t->kd;
	if (t->ident == IDENT_PRIMARY_KEY &&
	    (rc = index_keydesc_init(&kd, &to, key_cols, t->nkey, err)))
		goto fail;
	if ((rc = ice_table_set_schema(t->ice, &is, props, err)))
		goto fail;
	/* Committed: install. Nothing below can fail. */
	i = 0;
	t->mem_bytes = 0;
	for (pending *p = t->mem; p; p = p->next, i++) {
		batch_clear(p->rows);
		free(p->rows);
		p->rows = converted[i];
		converted[i] = NULL;
		p->bytes = batch_mem_bytes(p->rows);
		t->mem_bytes += p->bytes;
	}
	floe_schema_clear(&t->schema);
	t->schema = to;
	memset(&to, 0, sizeof to);
	memcpy(t->key_cols, key_cols, sizeof(int) * (size_t)t->nkey);
	t->kd = kd;
	free(t->iceberg_schema_json);
	t->iceberg_schema_json = schema_json;
	schema_json = NULL;
	log_info("table %s: schema changed (%d columns, schema id %d)", t->name, t->schema.ncols,
	         (int)ice_table_schema(t->ice)->schema_id);
	rc = 0;
	goto out;
oom:
	rc = errf(err, FLOE_ENOMEM, "out of memory");
fail:
out:
	free_batches(converted, nmem);
	floe_schema_clear(&to);
	ice_schema_clear(&is);
	json_decref(cols);
	json_decref(props);
	free(cols_text);
	free(schema_json);
	free(map);
	return rc;
}
