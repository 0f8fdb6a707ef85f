/*
 * schema — Iceberg schemas: type names, the JSON form, copy/clear and the
 * invariants of schema.h.
 *
 * Owns: the ice_schema / ice_field memory (names, docs, identifier ids).
 * Invariants enforced by ice_schema_validate (and so by ice_schema_from_json):
 *   1. every field id, list element ids included, is unique, > 0 and
 *      <= ICE_MAX_FIELD_ID (higher ids are reserved for metadata columns such
 *      as _row_id);
 *   2. field names are non-empty and unique (readers resolve columns by name);
 *   3. identifier ids name required, primitive, non-floating-point fields of
 *      the schema (the Iceberg spec forbids optional, nested, float and double
 *      identifiers);
 *   4. decimal precision is 1..38 and 0 <= scale <= precision; fixed length > 0
 *      (list elements too);
 *   5. a list's element is primitive: lists of lists, maps or structs are not
 *      supported, in either direction of the JSON form.
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
    [ICE_BOOLEAN] = "boolean",
    [ICE_INT] = "int",
    [ICE_LONG] = "long",
    [ICE_FLOAT] = "float",
    [ICE_DOUBLE] = "double",
    [ICE_DECIMAL] = NULL,
    [ICE_DATE] = "date",
    [ICE_TIME] = "time",
    [ICE_TIMESTAMP] = "timestamp",
    [ICE_TIMESTAMPTZ] = "timestamptz",
    [ICE_STRING] = "string",
    [ICE_UUID] = "uuid",
    [ICE_BINARY] = "binary",
    [ICE_FIXED] = NULL,
    [ICE_LIST] = NULL,
};
#define ICE_NTYPES ((int)(sizeof ice_simple_names / sizeof ice_simple_names[0]))

void ice_field_element(const ice_field *f, ice_field *view)
{
	memset(view, 0, sizeof *view);
	view->id = f->elem_id;
	view->name = (char *)"element"; /* never freed: a view owns nothing */
	view->required = f->elem_required;
	view->type = f->elem_type;
	view->precision = f->elem_precision;
	view->scale = f->elem_scale;
	view->length = f->elem_length;
}

static void ice_list_type_name(const ice_field *f, char *out, size_t cap)
{
	ice_field e;
	char et[48];
	ice_field_element(f, &e);
	ice_type_name(&e, et, sizeof et);
	snprintf(out, cap, "list<%s>", et);
}

void ice_type_name(const ice_field *f, char *out, size_t cap)
{
	if (f->type == ICE_DECIMAL)
		snprintf(out, cap, "decimal(%d, %d)", f->precision, f->scale);
	else if (f->type == ICE_FIXED)
		snprintf(out, cap, "fixed[%d]", f->length);
	else if (f->type == ICE_LIST)
		ice_list_type_name(f, out, cap);
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
	if (f->type == ICE_LIST) {
		ice_field e;
		ice_field_element(f, &e);
		if (e.type == ICE_LIST)
			return errf(err, FLOE_EINVAL,
			            "field '%s': lists of lists are not supported", f->name);
		int rc = ice_field_validate(&e, err);
		if (rc) {
			char inner[ERR_LEN];
			snprintf(inner, sizeof inner, "%s", err ? err : "");
			return errf(err, rc, "list field '%s': %s", f->name, inner);
		}
		if (e.id == f->id)
			return errf(err, FLOE_EINVAL,
			            "list field '%s': element id %d is its own id", f->name,
			            (int)e.id);
	}
	return 0;
}

/* Whether field f or its list element has this id. */
static int ice_field_has_id(const ice_field *f, int32_t id)
{
	return f->id == id || (f->type == ICE_LIST && f->elem_id == id);
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
			const ice_field *g = &s->fields[j];
			int32_t shared = ice_field_has_id(g, f->id) ? f->id
			                 : f->type == ICE_LIST && ice_field_has_id(g, f->elem_id)
			                     ? f->elem_id
			                     : 0;
			if (shared)
				return errf(err, FLOE_EINVAL, "fields '%s' and '%s' share id %d",
				            g->name, f->name, (int)shared);
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
		if (f->type == ICE_LIST)
			return errf(err, FLOE_EINVAL, "identifier field '%s' cannot be a list",
			            f->name);
		for (int j = 0; j < i; j++)
			if (s->identifier_ids[j] == id)
				return errf(err, FLOE_EINVAL, "identifier field '%s' listed twice",
				            f->name);
	}
	return 0;
}

/* A field's "type": a string, or the list object. New reference; NULL on OOM. */
static json_t *ice_type_to_json(const ice_field *f)
{
	char type[64];
	if (f->type != ICE_LIST) {
		ice_type_name(f, type, sizeof type);
		return json_string(type);
	}
	ice_field e;
	ice_field_element(f, &e);
	ice_type_name(&e, type, sizeof type);
	return json_pack("{s:s, s:I, s:s, s:b}", "type", "list", "element-id", (json_int_t)e.id,
	                 "element", type, "element-required", e.required);
}

static json_t *ice_field_to_json(const ice_field *f)
{
	/* "o" steals the type, also when json_pack fails. */
	json_t *o = json_pack("{s:I, s:s, s:b, s:o}", "id", (json_int_t)f->id, "name", f->name,
	                      "required", f->required, "type", ice_type_to_json(f));
	if (o && f->doc && json_object_set_new(o, "doc", json_string(f->doc))) {
		json_decref(o);
		return NULL;
	}
	if (o && f->initial_default) {
		json_t *v = json_loads(f->initial_default, JSON_DECODE_ANY, NULL);
		if (!v || json_object_set(o, "initial-default", v) ||
		    json_object_set(o, "write-default", v)) {
			json_decref(v);
			json_decref(o);
			return NULL;
		}
		json_decref(v);
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

/* {"type":"list","element-id":N,"element":"<primitive>","element-required":b}
 * -> f's type and elem_* members. */
static int ice_list_from_json(const json_t *t, const char *name, ice_field *f, char *err)
{
	char what[ERR_LEN / 2];
	snprintf(what, sizeof what, "field '%.100s'", name);
	const char *kind = json_string_value(json_object_get(t, "type"));
	if (!kind || strcmp(kind, "list") != 0)
		return errf(err, FLOE_EINVAL, "%s: nested type '%s' is not supported (only list)",
		            what, kind ? kind : "?");
	int rc = ice_json_int32(t, "element-id", &f->elem_id, what, err);
	if (rc)
		return rc;
	const json_t *req = json_object_get(t, "element-required");
	if (!json_is_boolean(req))
		return errf(err, FLOE_EINVAL, "%s: \"element-required\" must be a boolean", what);
	const json_t *elem = json_object_get(t, "element");
	if (json_is_object(elem))
		return errf(err, FLOE_EINVAL, "%s: lists of nested types are not supported", what);
	if (!json_is_string(elem))
		return errf(err, FLOE_EINVAL, "%s: \"element\" must be a type name", what);
	ice_field e = {0};
	if ((rc = ice_type_parse(json_string_value(elem), &e, err)))
		return errf(err, rc, "%s: unknown or unsupported element type '%s'", what,
		            json_string_value(elem));
	f->type = ICE_LIST;
	f->elem_required = json_is_true(req);
	f->elem_type = e.type;
	f->elem_precision = e.precision;
	f->elem_scale = e.scale;
	f->elem_length = e.length;
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
	if (json_is_object(type)) {
		if ((rc = ice_list_from_json(type, name, f, err)))
			return rc;
	} else if (!json_is_string(type)) {
		return errf(err, FLOE_EINVAL, "field '%s': \"type\" must be a string or an object",
		            name);
	} else if ((rc = ice_type_parse(json_string_value(type), f, err))) {
		return errf(err, rc, "field '%s': unknown or unsupported type '%s'", name,
		            json_string_value(type));
	}
	f->name = strdup(name);
	if (!f->name)
		return errf(err, FLOE_ENOMEM, "out of memory");
	const char *doc = json_string_value(json_object_get(j, "doc"));
	if (doc && !(f->doc = strdup(doc)))
		return errf(err, FLOE_ENOMEM, "out of memory");
	json_t *dflt = json_object_get(j, "initial-default");
	if (dflt && !json_is_null(dflt) &&
	    !(f->initial_default = json_dumps(dflt, JSON_ENCODE_ANY | JSON_COMPACT)))
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
		g->initial_default = NULL;
		s.nfields++;
		if (f->name && !(g->name = strdup(f->name)))
			goto fail;
		if (f->doc && !(g->doc = strdup(f->doc)))
			goto fail;
		if (f->initial_default && !(g->initial_default = strdup(f->initial_default)))
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
		free(s->fields[i].initial_default);
	}
	free(s->fields);
	free(s->identifier_ids);
	memset(s, 0, sizeof *s);
}

int32_t ice_schema_max_field_id(const ice_schema *s)
{
	int32_t max = 0;
	for (int i = 0; i < s->nfields; i++) {
		const ice_field *f = &s->fields[i];
		if (f->id > max)
			max = f->id;
		if (f->type == ICE_LIST && f->elem_id > max)
			max = f->elem_id;
	}
	return max;
}

const ice_field *ice_schema_find(const ice_schema *s, int32_t field_id)
{
	for (int i = 0; i < s->nfields; i++)
		if (s->fields[i].id == field_id)
			return &s->fields[i];
	return NULL;
}
