/*
 * ingest_json — the fast path for POST /ingest/{table} bodies: one pass over
 * the JSON text straight into a columnar batch, no DOM per row.
 *
 * Body: {"operation": "insert"|"upsert"|"update"|"delete",
 *        "request_mode": "async"|"sync",          (optional, default async)
 *        "data": {row} | [{row}, ...]}
 * Keys may come in any order; "table" and "database" are accepted and ignored
 * (moonlink clients send them); any other top-level key is an error.
 * A row is an object of column name -> value; JSON value forms per type:
 *   boolean: true/false; int*: JSON integer (no fraction/exponent) in range;
 *   float*: JSON number, or the strings "NaN", "Infinity", "-Infinity";
 *   decimal: JSON number or string, parsed exactly (no float rounding);
 *   string: JSON string (escapes decoded, \u surrogate pairs combined, the
 *   result valid UTF-8); binary: base64 string; date32: "YYYY-MM-DD";
 *   timestamp/timestamptz: ISO-8601 string (value_parse_timestamp) or an
 *   integer of microseconds; uuid: "8-4-4-4-12" hex string; time:
 *   "HH:MM:SS[.ffffff]" (value_parse_time) or an integer of microseconds
 *   since midnight (0..86400000000); list<T>: a JSON array of T's forms, null
 *   elements allowed. null for null.
 * Rules: an unknown column, a duplicate key in a row, a missing or null value
 * for a non-nullable column (missing nullable columns are null), a value of
 * the wrong type or out of range: FLOE_EINVAL with a message of the form
 *   data[17].age: 70000 is out of range for int16
 * Nothing of a failed body is kept (the batch is reset).
 * Reentrant: no shared state.
 *
 * Details of the contract:
 *   - Rows are numbered from 0 in messages, also when "data" is one object.
 *   - JSON is RFC 8259: whitespace is space, tab, CR, LF; strings must be
 *     valid UTF-8 (raw bytes and \u escapes alike; a lone surrogate is an
 *     error); NaN/Infinity are only accepted as the strings above.
 *   - Integers cover int64 exactly (-9223372036854775808..9223372036854775807);
 *     floats are correctly rounded (strtod / strtof semantics), -0.0 kept; a
 *     number too large for the float type is out of range, not infinity.
 *   - Duplicate keys are errors, at the top level and in rows. "table" and
 *     "database" must be strings; "request_mode" "async" or "sync".
 *   - The grammar has fixed depth (body -> data array -> row -> scalar, or
 *     row -> list array -> scalar for a list column): any other nested object
 *     or array is a type error naming the column (data[i].col) or the list
 *     element (data[i].col[j]), so nesting never goes deeper.
 *   - Error messages (FLOE_EINVAL):
 *       malformed JSON at byte 123: expected ',' or '}'
 *       data[17].age: 70000 is out of range for int16
 *       data[2].tags[4]: expected a string for string, got a number
 *       data[0]: unknown column 'nmae'
 *       data[3].id: missing value for non-nullable column   (or "null for ...")
 *       data[2].name: expected a string for string, got a number
 *       operation: unknown operation 'inset' (expected insert, upsert, update or delete)
 *       request_mode: unknown mode 'x' (expected async or sync)
 *       data: missing          operation: missing          operation: duplicate key
 *     FLOE_ENOMEM: "out of memory".
 *   - When "data" comes before "operation", a missing or null value of a
 *     non-nullable column is only an error once the operation is known not
 *     to be delete; then the first such value is the one reported.
 */
#ifndef FLOE_INGEST_JSON_H
#define FLOE_INGEST_JSON_H

#include <stddef.h>

#include "table/batch.h"
#include "table/coltype.h"

typedef enum ingest_op {
	INGEST_INSERT,
	INGEST_UPSERT,
	INGEST_UPDATE,
	INGEST_DELETE,
} ingest_op;

typedef struct ingest_request {
	ingest_op op;
	int sync;    /* request_mode == "sync" */
	batch *rows; /* borrowed from the caller, filled by the parser */
} ingest_request;

/* Parses body (len bytes, need not be NUL-terminated) into req->rows (an
 * empty batch made with batch_init for `schema`). For INGEST_DELETE, columns
 * absent from a row are stored as null even when not nullable (the table layer
 * checks that key columns are present); so are explicit nulls.
 * Sets req->op and req->sync on success. */
int ingest_parse(const char *body, size_t len, const floe_schema *schema, ingest_request *req,
                 char *err);
const char *ingest_op_name(ingest_op op);

#endif
