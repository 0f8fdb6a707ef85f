/*
 * bounds — Iceberg single-value binary serialization of lower/upper bounds
 * (spec appendix D), made from the exact min/max a Parquet writer reports.
 *
 * int/date: 4-byte LE; long/time/timestamp*: 8-byte LE; float/double: IEEE LE;
 * boolean: one byte 0/1; string: UTF-8 truncated to ICE_BOUND_STRING_CHARS code
 * points (an upper bound that was truncated gets its last code point
 * incremented; if no increment is possible there is no upper bound); binary:
 * raw, truncated to ICE_BOUND_BINARY_BYTES likewise; uuid: 16 bytes big-endian;
 * decimal: unscaled value as minimal two's-complement big-endian. Never padded.
 * Lists have none: Iceberg keeps metrics per leaf field, and floe reports a
 * list's value and null counts under its element id without bounds (as
 * Iceberg Java does for fields inside a list).
 */
#ifndef FLOE_ICE_BOUNDS_H
#define FLOE_ICE_BOUNDS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "iceberg/schema.h"

#define ICE_BOUND_STRING_CHARS 16
#define ICE_BOUND_BINARY_BYTES 16

/*
 * pq_min/pq_max are Parquet PLAIN values without length prefix, as
 * pq_column_result gives them (INT32 LE for int/date/decimal(p<=9), INT64 LE
 * for long/timestamps/decimal(p<=18), FLBA big-endian for wider decimals and
 * uuid). Appends the Iceberg bounds to lower/upper; *has_upper = 0 when a
 * truncated upper bound cannot be incremented (omit it then).
 */
int ice_bounds_from_parquet(const ice_field *f, const uint8_t *pq_min, size_t min_len,
                            const uint8_t *pq_max, size_t max_len, buf *lower, buf *upper,
                            int *has_upper, char *err);

#endif
