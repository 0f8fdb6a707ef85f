/*
 * schema — Iceberg schemas: type names, the JSON form, copy/clear and the
 * invariants of schema.h.
 *
 * Owns: the ice_schema / ice_field memory (names, docs, identifier ids).
 * Invariants enforced by ice_schema_validate (and so by ice_schema_from_json):
 *   1. every field id is unique, > 0 and <= ICE_MAX_FIELD_ID (higher ids are
 *      reserved for metadata columns such as _row_id);
 *   2. field names are non-empty and unique (readers resolve columns by name);
 *   3. identifier ids name required, non-floating-point fields of the schema
 *      (the Iceberg spec forbids optional, float and double identifiers);
 *   4. decimal precision is 1..38 and 0 <= scale <= precision; fixed length > 0.
 * Type names are written as Java Iceberg writes them (Types.*.toString()), so
 * decimals are "decimal(P, S)" with a space; the parser accepts any spacing.
 * Any thread; no shared state. Errors: FLOE_EINVAL with a message naming the
 * field, FLOE_ENOMEM.
 */
#include "iceberg/schema.h"
#include "base/err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Field ids above this are reserved by the spec for metadata columns. */
#define ICE_MAX_FIELD_ID 2147483447

/* Names of the parameterless types, indexed by ice_type_id (NULL: has parameters). */
static const char *const ice_simple_names[] = {
    [ICE_BOOLEAN] = "boolean",     [ICE_INT] = "int",
    [ICE_LONG] = "long",           [ICE_FLOAT] = "float",
    [ICE_DOUBLE] = "double",       [ICE_DECIMAL] = NULL,
    [ICE_DATE] = "date",           [ICE_TIME] = "time",
    [ICE_TIMESTAMP] = "timestamp", [ICE_TIMESTAMPTZ] = "timestamptz",
    [ICE_STRING] = "string",       [ICE_UUID] = "uuid",
    [ICE_BINARY] = "binary",       [ICE_FIXED] = NULL,
};
#define ICE_NTYPES ((int)(sizeof ice_simple_names / sizeof ice_simple_names[0]))

void ice_type_name(const ice_field *f, char *out, size_t cap)
{
	if (f->type == ICE_DECIMAL)
		snprintf(out, cap, "decimal(%d, %d)", f->precision, f->scale);
	else if (f->type == ICE_FIXED)
		snprintf(out, cap, "fixed[%d]", f->length);
	else if ((int)f->type >= 0 && (int)f->type < ICE_NTYPES)
		snprintf(out, cap, "%s", ice_simple_names[f->type]);
	else
		snprintf(out, cap, "invalid(%d)", (int)f->type);
}

static const char *ice_skip_spaces(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

/* Parses a non-negative decimal int at *p (after optional spaces), advancing *p. */
static int ice_parse_small_int(const char **p, int *out)
{
	const char *s = ice_skip_spaces(*p);
	if (!isdigit((unsigned char)*s))
		return -1;
	long v = 0;
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s - '0');
		if (v > 1000000)
			return -1;
		s++;
	}
	*p = ice_skip_spaces(s);
	*out = (int)v;
	return 0;
}

int ice_type_parse(const char *name, ice_field *f, char *err)
{
	for (int i = 0; i < ICE_NTYPES; i++) {
		if (ice_simple_names[i] && strcmp(name, ice_simple_names[i]) == 0) {
			f->type = (ice_type_id)i;
			f->precision = f->scale = f->length = 0;
			return 0;
		}
	}
	const char *p;
	int a, b;
	if (strncmp(name, "decimal(", 8) == 0) {
		p = name + 8;
		if (ice_parse_small_int(&p, &a) || *p++ != ',' || ice_parse_small_int(&p, &b) ||
		    strcmp(p, ")") != 0)
			return errf(err, FLOE_EINVAL, "malformed type '%s'", name);
		f->type = ICE_DECIMAL;
		f->precision = a;
		f->scale = b;
		f->length = 0;
		return 0;
	}
	if (strncmp(name, "fixed[", 6) == 0) {
		p = name + 6;
		if (ice_parse_small_int(&p, &a) || strcmp(p, "]") != 0)
			return errf(err, FLOE_EINVAL, "malformed type '%s'", name);
		f->type = ICE_FIXED;
		f->length = a;
		f->precision = f->scale = 0;
		return 0;
	}
	return errf(err, FLOE_EINVAL, "unknown or unsupported type '%s'", name);
}

static int ice_field_validate(const ice_field *f, char *err)
{
	if (!f->name || !f->name[0])
		return errf(err, FLOE_EINVAL, "field %d: empty name", (int)f->id);
	if (f->id <= 0 || f->id > ICE_MAX_FIELD_ID)
		return errf(err, FLOE_EINVAL, "field '%s': id %d outside 1..%d", f->name,
		            (int)f->id, ICE_MAX_FIELD_ID);
	if ((int)f->type < 0 || (int)f->type >= ICE_NTYPES)
		return errf(err, FLOE_EINVAL, "field '%s': invalid type %d", f->name, (int)f->type);
	if (f->type == ICE_DECIMAL &&
	    (f->precision < 1 || f->precision > 38 || f->scale < 0 || f->scale > f->precision))
		return errf(
		    err, FLOE_EINVAL,
		    "field '%s': decimal(%d, %d) needs precision 1..38 and scale 0..precision",
		    f->name, f->precision, f->scale);
	if (f->type == ICE_FIXED && f->length < 1)
		return errf(err, FLOE_EINVAL, "field '%s': fixed length %d must be positive",
		            f->name, f->length);
	return 0;
}

int ice_schema_validate(const ice_schema *s, char *err)
{
	if (s->nfields < 0 || (s->nfields > 0 && !s->fields))
		return errf(err, FLOE_EINVAL, "schema %d: bad field array", (int)s->schema_id);
	if (s->schema_id < 0)
		return errf(err, FLOE_EINVAL, "schema id %d is negative", (int)s->schema_id);
	for (int i = 0; i < s->nfields; i++) {
		const ice_field *f = &s->fields[i];
		int rc = ice_field_validate(f, err);
		if (rc)
			return rc;
		/* Quadratic, but schemas have at most a few thousand columns and
		 * this runs once per load or create. */
		for (int j = 0; j < i; j++) {
			if (s->fields[j].id == f->id)
				return errf(err, FLOE_EINVAL, "fields '%s' and '%s' share id %d",
				            s->fields[j].name, f->name, (int)f->id);
			if (strcmp(s->fields[j].name, f->name) == 0)
				return errf(err, FLOE_EINVAL, "two fields are named '%s'", f->name);
		}
	}
	for (int i = 0; i < s->nidentifiers; i++) {
		int32_t id = s->identifier_ids[i];
		const ice_field *f = ice_schema_find(s, id);
		if (!f)
			return errf(err, FLOE_EINVAL, "identifier field id %d is not in the schema",
			            (int)id);
		if (!f->required)
			return errf(err, FLOE_EINVAL, "identifier field '%s' must be required",
			            f->name);
		if (f->type == ICE_FLOAT || f->type == ICE_DOUBLE)
			return errf(err, FLOE_EINVAL,
			            "identifier field '%s' cannot be float or double", f->name);
		for (int j = 0; j < i; j++)
			if (s->identifier_ids[j] == id)
				return errf(err, FLOE_EINVAL, "identifier field '%s' listed twice",
				            f->name);
	}
	return 0;
}

static json_t *ice_field_to_json(const ice_field *f)
{
	char type[64];
	ice_type_name(f, type, sizeof type);
	json_t *o = json_pack("{s:I, s:s, s:b, s:s}", "id", (json_int_t)f->id, "name", f->name,
	                      "required", f->required, "type", type);
	if (o && f->doc && json_object_set_new(o, "doc", json_string(f->doc))) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *ice_schema_to_json(const ice_schema *s)
{
	json_t *fields = json_array();
	json_t *ids = json_array();
	json_t *o = NULL;
	if (!fields || !ids)
		goto fail;
	for (int i = 0; i < s->nfields; i++)
		if (json_array_append_new(fields, ice_field_to_json(&s->fields[i])))
			goto fail;
	for (int i = 0; i < s->nidentifiers; i++)
		if (json_array_append_new(ids, json_integer(s->identifier_ids[i])))
			goto fail;
	/* "o" steals both arrays, also when json_pack fails. */
	o = json_pack("{s:s, s:I, s:o, s:o}", "type", "struct", "schema-id",
	              (json_int_t)s->schema_id, "identifier-field-ids", ids, "fields", fields);
	return o;
fail:
	json_decref(fields);
	json_decref(ids);
	return NULL;
}

/* Reads an int32 member; FLOE_EINVAL when missing or out of range. */
static int ice_json_int32(const json_t *o, const char *key, int32_t *out, const char *what,
                          char *err)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return errf(err, FLOE_EINVAL, "%s: \"%s\" must be an integer", what, key);
	json_int_t x = json_integer_value(v);
	if (x < INT32_MIN || x > INT32_MAX)
		return errf(err, FLOE_EINVAL, "%s: \"%s\" %lld is out of range", what, key,
		            (long long)x);
	*out = (int32_t)x;
	return 0;
}

static int ice_field_from_json(const json_t *j, int index, ice_field *f, char *err)
{
	char what[64];
	snprintf(what, sizeof what, "schema field #%d", index);
	if (!json_is_object(j))
		return errf(err, FLOE_EINVAL, "%s is not an object", what);
	int rc = ice_json_int32(j, "id", &f->id, what, err);
	if (rc)
		return rc;
	const char *name = json_string_value(json_object_get(j, "name"));
	if (!name)
		return errf(err, FLOE_EINVAL, "%s: \"name\" must be a string", what);
	const json_t *req = json_object_get(j, "required");
	if (!json_is_boolean(req))
		return errf(err, FLOE_EINVAL, "field '%s': \"required\" must be a boolean", name);
	f->required = json_is_true(req);
	const json_t *type = json_object_get(j, "type");
	if (json_is_object(type))
		return errf(err, FLOE_EINVAL, "field '%s': nested types are not supported yet",
		            name);
	if (!json_is_string(type))
		return errf(err, FLOE_EINVAL, "field '%s': \"type\" must be a string", name);
	rc = ice_type_parse(json_string_value(type), f, err);
	if (rc)
		return errf(err, rc, "field '%s': unknown or unsupported type '%s'", name,
		            json_string_value(type));
	f->name = strdup(name);
	if (!f->name)
		return errf(err, FLOE_ENOMEM, "out of memory");
	const char *doc = json_string_value(json_object_get(j, "doc"));
	if (doc && !(f->doc = strdup(doc)))
		return errf(err, FLOE_ENOMEM, "out of memory");
	return 0;
}

int ice_schema_from_json(const json_t *j, ice_schema *out, char *err)
{
	ice_schema s = {0};
	int rc;
	if (!json_is_object(j) || !json_is_string(json_object_get(j, "type")) ||
	    strcmp(json_string_value(json_object_get(j, "type")), "struct") != 0) {
		rc = errf(err, FLOE_EINVAL, "schema must be an object with \"type\":\"struct\"");
		goto fail;
	}
	if ((rc = ice_json_int32(j, "schema-id", &s.schema_id, "schema", err)))
		goto fail;
	const json_t *fields = json_object_get(j, "fields");
	if (!json_is_array(fields)) {
		rc = errf(err, FLOE_EINVAL, "schema: \"fields\" must be an array");
		goto fail;
	}
	size_t n = json_array_size(fields);
	if (n > 0 && !(s.fields = calloc(n, sizeof *s.fields))) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		/* Count first so ice_schema_clear frees a half-filled field too. */
		s.nfields++;
		if ((rc =
		         ice_field_from_json(json_array_get(fields, i), (int)i, &s.fields[i], err)))
			goto fail;
	}
	const json_t *ids = json_object_get(j, "identifier-field-ids");
	if (ids && !json_is_array(ids)) {
		rc = errf(err, FLOE_EINVAL, "schema: \"identifier-field-ids\" must be an array");
		goto fail;
	}
	size_t nids = json_array_size(ids);
	if (nids > 0 && !(s.identifier_ids = calloc(nids, sizeof *s.identifier_ids))) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < nids; i++) {
		const json_t *v = json_array_get(ids, i);
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    json_integer_value(v) > INT32_MAX) {
			rc = errf(err, FLOE_EINVAL,
			          "schema: identifier-field-ids[%zu] is not a field id", i);
			goto fail;
		}
		s.identifier_ids[s.nidentifiers++] = (int32_t)json_integer_value(v);
	}
	if ((rc = ice_schema_validate(&s, err)))
		goto fail;
	*out = s;
	return 0;
fail:
	ice_schema_clear(&s);
	return rc;
}

int ice_schema_copy(const ice_schema *src, ice_schema *dst)
{
	ice_schema s = {.schema_id = src->schema_id};
	if (src->nfields > 0 && !(s.fields = calloc((size_t)src->nfields, sizeof *s.fields)))
		goto fail;
	for (int i = 0; i < src->nfields; i++) {
		const ice_field *f = &src->fields[i];
		ice_field *g = &s.fields[i];
		*g = *f;
		g->name = NULL;
		g->doc = NULL;
		s.nfields++;
		if (f->name && !(g->name = strdup(f->name)))
			goto fail;
		if (f->doc && !(g->doc = strdup(f->doc)))
			goto fail;
	}
	if (src->nidentifiers > 0) {
		s.identifier_ids = malloc((size_t)src->nidentifiers * sizeof *s.identifier_ids);
		if (!s.identifier_ids)
			goto fail;
		memcpy(s.identifier_ids, src->identifier_ids,
		       (size_t)src->nidentifiers * sizeof *s.identifier_ids);
		s.nidentifiers = src->nidentifiers;
	}
	*dst = s;
	return 0;
fail:
	ice_schema_clear(&s);
	return FLOE_ENOMEM;
}

void ice_schema_clear(ice_schema *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nfields; i++) {
		free(s->fields[i].name);
		free(s->fields[i].doc);
	}
	free(s->fields);
	free(s->identifier_ids);
	memset(s, 0, sizeof *s);
}

int32_t ice_schema_max_field_id(const ice_schema *s)
{
	int32_t max = 0;
	for (int i = 0; i < s->nfields; i++)
		if (s->fields[i].id > max)
			max = s->fields[i].id;
	return max;
}

const ice_field *ice_schema_find(const ice_schema *s, int32_t field_id)
{
	for (int i = 0; i < s->nfields; i++)
		if (s->fields[i].id == field_id)
			return &s->fields[i];
	return NULL;
}
