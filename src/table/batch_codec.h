/*
 * batch_codec — a batch as bytes, for write-ahead log records.
 *
 * Layout (little-endian):
 *   u8  version = 1
 *   u32 ncols
 *   u32 nrows
 *   per column, in schema order:
 *     u8 kind (batch_kind; must match the schema's)
 *     u8 has_nulls: 1 -> nrows validity bytes (0/1) follow, 0 -> all present
 *     fixed kinds: nrows * width value bytes (a null row's slot is zero)
 *     BC_BYTES:    nrows u32 lengths, then the concatenated bytes
 *     BC_LIST:     nrows u32 element counts (0 for a null list), then the
 *                  elements, all rows' in order, as a column of that many
 *                  values in the same form: u8 kind, u8 has_nulls, [validity],
 *                  values or lengths + bytes
 * (BC_LIST is a kind added after version 1 was first written; records
 * without list columns are byte for byte what they were.)
 * The decoder checks every count against the bytes that remain (and that a
 * null value has length 0): a damaged record is FLOE_ECORRUPT, never a
 * crash.
 */
#ifndef FLOE_BATCH_CODEC_H
#define FLOE_BATCH_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "table/batch.h"
#include "table/coltype.h"

/* Appends the encoding of b to out. */
int batch_encode(const batch *b, buf *out);
/* Decodes into out, an empty batch made by batch_init for schema. */
int batch_decode(const uint8_t *p, size_t n, const floe_schema *schema, batch *out, char *err);

#endif
