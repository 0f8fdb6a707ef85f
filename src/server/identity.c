/* identity — see identity.h. */
#include "server/identity.h"

#include <string.h>

#include "base/err.h"

typedef struct key_list {
	int n;
	int cols[16];
	const char *source; /* which form named them, for messages */
} key_list;

static int add_key(key_list *k, const floe_schema *s, int col, const char *where, char *err)
{
	if (col < 0 || col >= s->ncols)
		return errf(err, FLOE_EINVAL, "%s: no such column", where);
	for (int i = 0; i < k->n; i++)
		if (k->cols[i] == col)
			return errf(err, FLOE_EINVAL, "%s: column '%s' is listed twice", where,
			            s->cols[col].name);
	if (k->n == 16)
		return errf(err, FLOE_EINVAL, "%s: at most 16 key columns", where);
	k->cols[k->n++] = col;
	return 0;
}

/* table_config.row_identity.primary_key */
static int keys_from_names(const json_t *arr, const floe_schema *s, key_list *k, char *err)
{
	const char *where = "table_config.row_identity.primary_key";
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return errf(err, FLOE_EINVAL, "%s: must be a non-empty array of column names",
		            where);
	size_t i;
	const json_t *v;
	json_array_foreach(arr, i, v)
	{
		const char *name = json_string_value(v);
		int col = name ? floe_schema_find(s, name, strlen(name)) : -1;
		if (col < 0)
			return errf(err, FLOE_EINVAL, "%s[%zu]: no column named '%s'", where, i,
			            name ? name : "(not a string)");
		int rc = add_key(k, s, col, where, err);
		if (rc)
			return rc;
	}
	k->source = where;
	return 0;
}

/* moonlink's row_identity: {"Keys": [indexes]} or {"SinglePrimitiveKey": index}. */
static int keys_from_moonlink(const json_t *ri, const floe_schema *s, key_list *k, char *err)
{
	const char *where = "table_config.mooncake.row_identity";
	const json_t *keys = json_object_get(ri, "Keys");
	const json_t *single = json_object_get(ri, "SinglePrimitiveKey");
	if (json_object_size(ri) != 1 || (!keys && !single))
		return errf(err, FLOE_EINVAL,
		            "%s: must be \"None\", \"FullRow\", {\"Keys\": [...]} or "
		            "{\"SinglePrimitiveKey\": n}",
		            where);
	if (single) {
		if (!json_is_integer(single))
			return errf(err, FLOE_EINVAL,
			            "%s.SinglePrimitiveKey: must be a column index", where);
		k->source = where;
		return add_key(k, s, (int)json_integer_value(single), where, err);
	}
	if (!json_is_array(keys) || json_array_size(keys) == 0)
		return errf(err, FLOE_EINVAL,
		            "%s.Keys: must be a non-empty array of column indexes", where);
	size_t i;
	const json_t *v;
	json_array_foreach(keys, i, v)
	{
		if (!json_is_integer(v))
			return errf(err, FLOE_EINVAL, "%s.Keys[%zu]: must be a column index", where,
			            i);
		int rc = add_key(k, s, (int)json_integer_value(v), where, err);
		if (rc)
			return rc;
	}
	k->source = where;
	return 0;
}

static int same_keys(const key_list *a, const key_list *b)
{
	return a->n == b->n && memcmp(a->cols, b->cols, sizeof(int) * (size_t)a->n) == 0;
}

/* Adopts `k` as the key, or checks it agrees with the one already chosen. */
static int merge_keys(key_list *chosen, const key_list *k, char *err)
{
	if (k->n == 0)
		return 0;
	if (chosen->n && !same_keys(chosen, k))
		return errf(err, FLOE_EINVAL, "%s and %s name different key columns",
		            chosen->source, k->source);
	*chosen = *k;
	return 0;
}

int identity_parse(const json_t *schema_json, const json_t *cfg, const floe_schema *s,
                   table_identity *out, char *err)
{
	key_list chosen = {0}, k = {0};
	int rc, append_only = 0, full_row = 0;
	memset(out, 0, sizeof *out);
	size_t i;
	const json_t *c;
	json_array_foreach(schema_json, i, c)
	{
		const json_t *pk = json_object_get(c, "primary_key");
		if (pk && !json_is_boolean(pk))
			return errf(err, FLOE_EINVAL,
			            "schema[%zu].primary_key: must be true or false", i);
		if (json_is_true(pk) && (rc = add_key(&k, s, (int)i, "schema[].primary_key", err)))
			return rc;
	}
	k.source = "schema[].primary_key";
	if ((rc = merge_keys(&chosen, &k, err)))
		return rc;
	const json_t *ri = json_object_get(cfg, "row_identity");
	if (ri) {
		memset(&k, 0, sizeof k);
		if (!json_is_object(ri) || json_object_size(ri) != 1 ||
		    !json_object_get(ri, "primary_key"))
			return errf(
			    err, FLOE_EINVAL,
			    "table_config.row_identity: must be {\"primary_key\": [columns]}");
		if ((rc = keys_from_names(json_object_get(ri, "primary_key"), s, &k, err)) ||
		    (rc = merge_keys(&chosen, &k, err)))
			return rc;
	}
	const json_t *mc = json_object_get(cfg, "mooncake");
	if (mc) {
		const json_t *ao = json_object_get(mc, "append_only");
		const json_t *mri = json_object_get(mc, "row_identity");
		append_only = json_is_true(ao);
		memset(&k, 0, sizeof k);
		if (json_is_string(mri)) {
			const char *v = json_string_value(mri);
			if (!strcmp(v, "FullRow"))
				full_row = 1;
			else if (strcmp(v, "None") != 0)
				return errf(
				    err, FLOE_EINVAL,
				    "table_config.mooncake.row_identity: unknown value '%s'", v);
			else if (ao && !append_only)
				return errf(err, FLOE_EINVAL,
				            "table_config.mooncake: row_identity \"None\" needs "
				            "append_only: true");
			else
				append_only = 1; /* no identity: nothing to delete by */
		} else if (mri) {
			if ((rc = keys_from_moonlink(mri, s, &k, err)) ||
			    (rc = merge_keys(&chosen, &k, err)))
				return rc;
		}
	}
	if (append_only && (chosen.n || full_row))
		return errf(err, FLOE_EINVAL,
		            "table_config.mooncake.append_only: an append-only table cannot have a "
		            "row identity (%s)",
		            chosen.n ? chosen.source : "FullRow");
	if (full_row && chosen.n)
		return errf(err, FLOE_EINVAL,
		            "table_config: FullRow identity and key columns (%s) "
		            "contradict each other",
		            chosen.source);
	for (int j = 0; j < chosen.n; j++) {
		const floe_column *col = &s->cols[chosen.cols[j]];
		if (col->nullable)
			return errf(err, FLOE_EINVAL,
			            "key column '%s' must be declared \"nullable\": false",
			            col->name);
		if (col->type == FT_FLOAT32 || col->type == FT_FLOAT64)
			return errf(
			    err, FLOE_EINVAL,
			    "key column '%s': float columns cannot be keys (no exact equality)",
			    col->name);
		if (col->type == FT_LIST)
			return errf(
			    err, FLOE_EINVAL,
			    "key column '%s': list columns cannot be keys (Iceberg identifier "
			    "fields are primitive)",
			    col->name);
	}
	out->primary_key = chosen.n > 0;
	/* Without a key and without append_only: the whole row is the identity. */
	out->full_row = !out->primary_key && !append_only;
	if (out->full_row && s->ncols > 255)
		return errf(
		    err, FLOE_EINVAL,
		    "schema: %d columns; a table without a primary key uses the full row as "
		    "its identity, which works up to 255 columns: give a primary key or "
		    "create it append-only",
		    s->ncols);
	out->nkey = chosen.n;
	memcpy(out->cols, chosen.cols, sizeof(int) * (size_t)chosen.n);
	return 0;
}
