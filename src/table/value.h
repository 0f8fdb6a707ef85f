/*
 * value — text to typed values, exactly: the parsers every source uses to turn
 * a JSON or Postgres text value into the bytes a batch stores. No floating
 * point is ever used for decimals; every parser rejects trailing garbage and
 * out-of-range values with a message saying why (the caller adds the column).
 */
#ifndef FLOE_VALUE_H
#define FLOE_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* "YYYY-MM-DD" (proleptic Gregorian, years 0001..9999) -> days since 1970-01-01. */
int value_parse_date(const char *s, size_t n, int32_t *days, char *err);
/* ISO-8601: "YYYY-MM-DD[T| ]HH:MM[:SS[.ffffff]]" with optional "Z" or "+HH[:MM]" /
 * "-HH[:MM]" offset. With an offset the result is UTC micros; without one the
 * wall time as given. More than 6 fraction digits is an error (no silent
 * rounding). -> microseconds since 1970-01-01T00:00:00. */
int value_parse_timestamp(const char *s, size_t n, int64_t *micros, char *err);
/* Decimal text ("-12.340", "1e3" not accepted) with at most `scale` fraction
 * digits (fewer are padded) and at most precision - scale integer digits ->
 * unscaled value. */
int value_parse_decimal(const char *s, size_t n, int precision, int scale, __int128 *unscaled,
			char *err);
/* Unscaled decimal -> `nbytes` big-endian two's complement (Parquet FLBA). */
void value_decimal_to_be(__int128 v, uint8_t *out, int nbytes);
/* 8-4-4-4-12 hex (case-insensitive) -> 16 bytes. */
int value_parse_uuid(const char *s, size_t n, uint8_t out[16], char *err);
/* Standard base64 with padding (RFC 4648 §4) -> bytes appended to out (capacity
 * >= n * 3 / 4); *out_len set. */
int value_base64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len, char *err);

/* Formatting back to text (for responses and tests): return bytes written (NUL-terminated). */
int value_format_date(int32_t days, char *out, size_t cap);
int value_format_timestamp(int64_t micros, int with_z, char *out, size_t cap);
int value_format_decimal(__int128 unscaled, int scale, char *out, size_t cap);

#endif
