/*
 * value — text to typed values, exactly: the parsers every source uses to turn
 * a JSON or Postgres text value into the bytes a batch stores. No floating
 * point is ever used for decimals; every parser rejects trailing garbage and
 * out-of-range values with a message saying why (the caller adds the column).
 *
 * Errors: parsers return 0 or FLOE_EINVAL and write one line into err
 * (ERR_LEN bytes, may be NULL) of the form
 *   '2023-02-29' is not a valid date (day 29 is out of range for 2023-02)
 * The input is quoted through value_quote, so a message is short, printable
 * and valid UTF-8 whatever the input was.
 * Reentrant; no locale dependence; callable from any thread.
 */
#ifndef FLOE_VALUE_H
#define FLOE_VALUE_H

#include <stddef.h>
#include <stdint.h>

/* The timestamp range accepted on input: 0001-01-01T00:00:00 ..
 * 9999-12-31T23:59:59.999999 (UTC after applying an offset). */
#define VALUE_TS_MIN (-62135596800000000LL)
#define VALUE_TS_MAX (253402300799999999LL)

/* "YYYY-MM-DD" (proleptic Gregorian, years 0001..9999) -> days since 1970-01-01. */
int value_parse_date(const char *s, size_t n, int32_t *days, char *err);
/* ISO-8601: "YYYY-MM-DD[T| ]HH:MM[:SS[.ffffff]]" with optional "Z" or "+HH[:MM]" /
 * "-HH[:MM]" offset. With an offset the result is UTC micros; without one the
 * wall time as given. More than 6 fraction digits is an error (no silent
 * rounding). -> microseconds since 1970-01-01T00:00:00.
 * Also accepted: lower-case 't' and 'z', the basic offset form "+HHMM".
 * Limits: hour 00..23, minute and second 00..59 (no leap second, no 24:00),
 * offsets up to +-18:00, result within VALUE_TS_MIN..VALUE_TS_MAX. */
int value_parse_timestamp(const char *s, size_t n, int64_t *micros, char *err);
/* "HH:MM:SS[.ffffff]" (1..6 fraction digits) -> microseconds since midnight.
 * Hour 00..23, minute and second 00..59, and "24:00:00" (PostgreSQL's and
 * DuckDB's end of day, with no fraction) as 86400000000. More than 6
 * fraction digits is an error (no silent rounding). */
#define VALUE_TIME_MAX (86400000000LL)
int value_parse_time(const char *s, size_t n, int64_t *micros, char *err);
/* Proleptic Gregorian calendar date with astronomical year numbering (1 BC is
 * year 0, 44 BC is -43) -> days since 1970-01-01 in *days. -1 (and *days
 * untouched) when the month is not 1..12, the day not 1..days in that month,
 * or |y| > 100000000. */
int value_civil_to_days(int64_t y, int m, int d, int64_t *days);
/* Decimal text ("-12.340", "1e3" not accepted) with at most `scale` fraction
 * digits (fewer are padded) and at most precision - scale integer digits ->
 * unscaled value. Accepted: an optional leading '+' or '-', leading zeros,
 * ".5" and "5."; fraction digits beyond `scale` only when they are all zero
 * ("1.500" for scale 2 is exactly 150; "1.505" is an error, never rounded).
 * 1 <= precision <= 38, 0 <= scale <= precision. */
int value_parse_decimal(const char *s, size_t n, int precision, int scale, __int128 *unscaled,
                        char *err);
/* Unscaled decimal -> `nbytes` (1..16) big-endian two's complement (Parquet FLBA). */
void value_decimal_to_be(__int128 v, uint8_t *out, int nbytes);
/* The inverse: nbytes (1..16) of big-endian two's complement. */
__int128 value_decimal_from_be(const uint8_t *p, int nbytes);
/* 8-4-4-4-12 hex (case-insensitive) -> 16 bytes. */
int value_parse_uuid(const char *s, size_t n, uint8_t out[16], char *err);
/* Standard base64 with padding (RFC 4648 §4) -> bytes appended to out (capacity
 * >= n * 3 / 4); *out_len set. The length must be a multiple of 4; '=' only as
 * the last one or two characters; the unused bits before the padding must be
 * zero (canonical encoding); no whitespace. */
int value_base64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len, char *err);

/* Formatting back to text (for responses and tests): return bytes written (NUL-terminated).
 * They return the length without the NUL, or FLOE_ETOOBIG when cap is too
 * small (out then holds "" when cap > 0). Sizes that always suffice: date 16,
 * timestamp 40, decimal 48. */
int value_format_date(int32_t days, char *out, size_t cap);
/* "YYYY-MM-DDTHH:MM:SS", then ".ffffff" (6 digits) when the fraction is not
 * zero, then "Z" when with_z. */
int value_format_timestamp(int64_t micros, int with_z, char *out, size_t cap);
/* "HH:MM:SS", then ".ffffff" when the fraction is not zero (24:00:00 for
 * VALUE_TIME_MAX). Size that always suffices: 24. */
int value_format_time(int64_t micros, char *out, size_t cap);
/* Exactly `scale` fraction digits: (12340, 3) -> "12.340", (-5, 2) -> "-0.05". */
int value_format_decimal(__int128 unscaled, int scale, char *out, size_t cap);

/* Length (1..4) of the well-formed UTF-8 sequence at p (n bytes available),
 * or 0 when it is not one (overlong forms, surrogates and code points above
 * U+10FFFF are not well-formed). */
size_t value_utf8_seq_len(const uint8_t *p, size_t n);

/* Writes s as a short quoted excerpt for error messages: 'text', at most 48
 * input bytes (then "..."), control bytes and invalid UTF-8 as \xNN. */
#define VALUE_QUOTE_LEN 200
void value_quote(const char *s, size_t n, char out[VALUE_QUOTE_LEN]);

#endif
