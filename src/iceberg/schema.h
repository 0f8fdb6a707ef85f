/*
 * schema — an Iceberg table schema (a struct of primitive fields and lists of
 * a primitive element; no maps or nested structs yet) and its JSON form.
 *
 * Invariants:
 *   1. Field ids are unique over the whole schema, list element ids included,
 *      > 0 and below 2147483447 (higher ids are reserved for metadata columns
 *      such as _row_id = 2147483540).
 *   2. identifier ids name required, primitive fields of the schema.
 * JSON form (table metadata "schemas" and the manifest header "schema"):
 *   {"type":"struct","schema-id":0,"identifier-field-ids":[1],
 *    "fields":[{"id":1,"name":"id","required":true,"type":"long"},
 *              {"id":2,"name":"tags","required":false,"type":{"type":"list",
 *               "element-id":3,"element":"string","element-required":false}}]}
 * with type names boolean int long float double date time timestamp timestamptz
 * string uuid binary fixed[L] decimal(P,S).
 */
#ifndef FLOE_ICE_SCHEMA_H
#define FLOE_ICE_SCHEMA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define ICE_ROW_ID_FIELD_ID           2147483540
#define ICE_LAST_UPDATED_SEQ_FIELD_ID 2147483539
#define ICE_POS_FIELD_ID              2147483645

typedef enum ice_type_id {
	ICE_BOOLEAN,
	ICE_INT,
	ICE_LONG,
	ICE_FLOAT,
	ICE_DOUBLE,
	ICE_DECIMAL,
	ICE_DATE,
	ICE_TIME,
	ICE_TIMESTAMP,
	ICE_TIMESTAMPTZ,
	ICE_STRING,
	ICE_UUID,
	ICE_BINARY,
	ICE_FIXED,
	ICE_LIST, /* of a primitive element: the elem_* members */
} ice_type_id;

typedef struct ice_field {
	int32_t id;
	char *name; /* owned */
	int required;
	ice_type_id type;
	int precision; /* DECIMAL */
	int scale;     /* DECIMAL */
	int length;    /* FIXED */
	char *doc;     /* optional, owned, may be NULL */
	/* Iceberg v3 default of an added field, as JSON text of its single-value
	 * serialization (written as both initial-default, what files without
	 * the field read as, and write-default); owned, NULL: none (null). */
	char *initial_default;
	/* ICE_LIST: the element (Iceberg's element-id, element-required and
	 * element type, a primitive one with its parameters); zero otherwise.
	 * ice_field_element gives it as a field of its own. */
	int32_t elem_id;
	int elem_required;
	ice_type_id elem_type;
	int elem_precision, elem_scale, elem_length;
} ice_field;

typedef struct ice_schema {
	int32_t schema_id;
	int nfields;
	ice_field *fields; /* owned */
	int nidentifiers;
	int32_t *identifier_ids; /* owned */
} ice_schema;

/* "long", "decimal(10,2)", "fixed[16]"...; writes into out (>= 32 bytes).
 * A list is named "list<E>" (for messages; its JSON form is an object). */
void ice_type_name(const ice_field *f, char *out, size_t cap);
/* Parses a primitive type name into f->type/precision/scale/length;
 * FLOE_EINVAL if unknown. */
int ice_type_parse(const char *name, ice_field *f, char *err);
/* The element of list field f as a field of its own: id = element-id, name
 * "element", required = element-required, the element's type. The view
 * borrows nothing (its name is a string literal). */
void ice_field_element(const ice_field *f, ice_field *view);
/* New reference; NULL on OOM. */
json_t *ice_schema_to_json(const ice_schema *s);
/* Fills *out (caller calls ice_schema_clear); validates the invariants. */
int ice_schema_from_json(const json_t *j, ice_schema *out, char *err);
/* Checks the invariants above (plus unique non-empty names, decimal
 * precision 1..38 with 0 <= scale <= precision, fixed length > 0, identifier
 * fields not float/double); FLOE_EINVAL naming the field. */
int ice_schema_validate(const ice_schema *s, char *err);
int ice_schema_copy(const ice_schema *src, ice_schema *dst);
void ice_schema_clear(ice_schema *s);
/* Largest field id in the schema, list element ids included (0 when empty):
 * the table's last-column-id. */
int32_t ice_schema_max_field_id(const ice_schema *s);
/* The top-level field with this id; NULL when none (a list's element id is
 * not a top-level field). */
const ice_field *ice_schema_find(const ice_schema *s, int32_t field_id);

#endif
