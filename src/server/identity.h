/*
 * identity — the row identity a create request asks for, in every form floe
 * accepts, checked for contradictions:
 *   table_config.row_identity.primary_key: ["col", ...]
 *   schema[i].primary_key: true (key order = schema order)
 *   table_config.mooncake: {"append_only": bool,
 *       "row_identity": "None" | "FullRow" | {"Keys": [i, ...]} |
 *                       {"SinglePrimitiveKey": i}}       (moonlink's form)
 * Forms that name keys must name the same ones; append_only with a key is a
 * contradiction; key columns must exist, be non-nullable and neither float
 * nor list.
 * Without any key the whole row is the identity ("FullRow": insert and
 * delete, a delete removes one matching row), unless append_only is true.
 */
#ifndef FLOE_IDENTITY_H
#define FLOE_IDENTITY_H

#include <jansson.h>

#include "table/coltype.h"
#include "table/table.h"

/* schema_json: the request's schema array; cfg: its table_config (may be
 * NULL). FLOE_EINVAL with a message naming the field. */
int identity_parse(const json_t *schema_json, const json_t *cfg, const floe_schema *schema,
                   table_identity *out, char *err);

#endif
