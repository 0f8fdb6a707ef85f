/*
 * pgtype — PostgreSQL column types as floe column types, and PostgreSQL's
 * text output of a value as the bytes a floe batch stores.
 *
 * The values come from pgoutput (binary = false) and, when a table's initial
 * copy falls back to text COPY, from COPY ... TO STDOUT in text format after
 * COPY's own backslash unescaping, which the caller does. Binary COPY values
 * go through pgbinary.h, which puts the same values and refuses the same
 * ones (sharing this file's parsers through pgtype_internal.h). The
 * connection sets DateStyle=ISO, TimeZone=UTC, IntervalStyle=postgres,
 * extra_float_digits=3, bytea_output=hex, client_encoding=UTF8; the
 * parsers below accept exactly the forms the server writes under those
 * settings and nothing looser.
 *
 * Type mapping (pgtype_map), by the base type after resolving domains:
 *
 *   PostgreSQL (oid)                         floe            notes
 *   bool (16)                                boolean
 *   int2 (21)                                int16
 *   int4 (23)                                int32
 *   int8 (20)                                int64
 *   oid (26)                                 int64           0..4294967295
 *   float4 (700)                             float32         NaN, +-Infinity kept
 *   float8 (701)                             float64         NaN, +-Infinity kept
 *   numeric(p,s) (1700), p <= 38, 0<=s<=p    decimal(p,s)    NaN, +-Infinity: error
 *   numeric otherwise (unconstrained,        string          PostgreSQL's exact text,
 *     p > 38, negative scale, s > p)                         never rounded
 *   text (25), varchar (1043), bpchar        string          bpchar keeps its padding
 *     (1042), name (19), "char" (18),
 *     json (114), jsonb (3802), xml (142),
 *     any enum (typtype 'e')
 *   bytea (17)                               binary
 *   date (1082)                              date32          +-infinity: INT32_MAX/MIN
 *   time (1083)                              time            24:00:00 = 86400000000
 *   timestamp (1114)                         timestamp       +-infinity: INT64_MAX/MIN
 *   timestamptz (1184)                       timestamptz     +-infinity: INT64_MAX/MIN
 *   uuid (2950)                              uuid
 *   T[] for any T above (_int4 1007, ...;    list<T'>        T' = T's row (numeric
 *     arrays of domains and enums too)                       rules included:
 *                                                            numeric[] -> list<string>);
 *                                                            elements nullable
 *   anything else: interval, timetz, money,  (error)         skip_unsupported_columns
 *     inet, cidr, macaddr, point, tsvector,
 *     bit, varbit, ranges, composites,
 *     arrays of those, int2vector, oidvector
 *
 * Infinite dates and timestamps are stored as the extreme integers, like
 * DuckDB does (DuckDB reads them back as 'infinity' / '-infinity').
 *
 * Arrays: PostgreSQL does not tie an array column to a number of dimensions
 * (an int4[] column takes {{1,2},{3,4}} as well as {1,2}), so a column maps
 * to a list by its type alone and a multi-dimensional value is an error when
 * it arrives; so is a value whose lower bound is not 1 ([0:1]={a,b}), which a
 * list cannot keep.
 *
 * Text conversion (pgtype_set_text) is exact: nothing is rounded (a decimal
 * with more significant fraction digits than the column's scale, a value
 * beyond the column's range, a timestamp beyond int64 microseconds since
 * 1970 are errors), nothing malformed is accepted.
 *
 * Errors: FLOE_EINVAL with one line in err (ERR_LEN bytes, may be NULL) that
 * names the column, quotes the offending text (value_quote: at most 48
 * bytes) and says what was expected, e.g.
 *   column 'qty': '32768' is out of range for int16 (-32768..32767)
 * FLOE_ENOMEM from pgtype_array_split. Reentrant: no shared state, no locale.
 */
#ifndef FLOE_PGTYPE_H
#define FLOE_PGTYPE_H

#include <stddef.h>
#include <stdint.h>

#include "table/batch.h"
#include "table/coltype.h"

/* Type oids of pg_catalog (stable across PostgreSQL versions). */
enum {
	PGT_BOOL = 16,
	PGT_BYTEA = 17,
	PGT_CHAR = 18,
	PGT_NAME = 19,
	PGT_INT8 = 20,
	PGT_INT2 = 21,
	PGT_INT2VECTOR = 22,
	PGT_INT4 = 23,
	PGT_TEXT = 25,
	PGT_OID = 26,
	PGT_OIDVECTOR = 30,
	PGT_JSON = 114,
	PGT_XML = 142,
	PGT_FLOAT4 = 700,
	PGT_FLOAT8 = 701,
	PGT_BPCHAR = 1042,
	PGT_VARCHAR = 1043,
	PGT_DATE = 1082,
	PGT_TIME = 1083,
	PGT_TIMESTAMP = 1114,
	PGT_TIMESTAMPTZ = 1184,
	PGT_NUMERIC = 1700,
	PGT_UUID = 2950,
	PGT_JSONB = 3802,
};

/* What the caller learned about a column's type from the catalog. */
typedef struct pgtype_desc {
	uint32_t oid;      /* the column's type oid as the server names it */
	uint32_t base_oid; /* after resolving domains (== oid for non-domains) */
	int32_t typmod;    /* of the base type (domain typmod when a domain sets one), -1 none */
	char typtype;      /* pg_type.typtype of base: 'b' base, 'e' enum, ... */
	uint32_t elem_oid; /* for arrays (base type's typelem with typcategory 'A'): element
	                      base oid after domain resolution, else 0 */
	int32_t elem_typmod;
	char elem_typtype;
	const char *type_name; /* for messages ("public.mood", "interval"); NULL: the oid */
} pgtype_desc;

/* Sets out->type, precision and scale for a column of PostgreSQL type d (the
 * table above); leaves nullable and field_id alone. out->name, when not
 * NULL, names the column in messages. An array maps to FT_LIST with
 * elem_type, elem_precision and elem_scale from pgtype_map_element (and
 * elem_field_id left alone); any other type sets the elem_* type members to
 * 0. FLOE_EINVAL for a type floe does not mirror, with a message a DBA can
 * act on:
 *   column 'ip': column type inet is not supported (supported: ...); set
 *   table_config.skip_unsupported_columns to mirror the table without it
 * (for an array of such a type, the message names the element type oid). */
int pgtype_map(const pgtype_desc *d, floe_column *out, char *err);

/* For an array type d (d->elem_oid != 0): the floe column its elements map
 * to, by the same table (elem_out->type, precision, scale; elem_out->name
 * used in messages). FLOE_EINVAL when d is not an array or its element type
 * is not supported. This is what a list column's element will be. */
int pgtype_map_element(const pgtype_desc *d, floe_column *elem_out, char *err);

/* Appends one value of column `col` of b (floe type c, source type d; d may
 * be NULL, meaning the PostgreSQL type pgtype_map maps to c) to the row in
 * progress, from its text output text[0..len) (not NUL-terminated). The
 * accepted text depends on c->type:
 *   boolean      "t" or "f"
 *   int16/32/64  optional '-', decimal digits; within the column's range
 *   float32/64   what float4out/float8out write: a decimal number with an
 *                optional exponent, "NaN", "Infinity", "-Infinity" (strtof
 *                for float32, so a float4's shortest text comes back as the
 *                same float; a float4 source into a float64 column goes
 *                through float too)
 *   decimal(p,s) optional '-', digits, optional '.' and digits: at most p-s
 *                integer digits, at most s fraction digits apart from
 *                trailing zeros (fewer are padded); NaN and +-Infinity are
 *                errors naming the column
 *   string       the bytes as they are
 *   binary       "\x" then pairs of hex digits (bytea_output=hex)
 *   date32       "Y...Y-MM-DD" (4 or more year digits, year >= 1) with an
 *                optional " BC" (44 BC = astronomical year -43), "infinity",
 *                "-infinity"
 *   time         "HH:MM:SS[.f...]" (1..6 fraction digits), 24:00:00 allowed
 *   timestamp    "Y...Y-MM-DD HH:MM:SS[.f...][ BC]", "infinity", "-infinity"
 *   timestamptz  the same with an offset "+HH", "+HH:MM" or "+HH:MM:SS" (or
 *                '-') before the " BC", converted to UTC
 *   uuid         8-4-4-4-12 hex digits
 *   list<T>      a one-dimensional array literal (pgtype_array_split) whose
 *                elements are each accepted as a T column's value would be
 *                (d's element type standing for d), an unquoted NULL being
 *                a null element: {1,NULL,3}, {"a b","NULL",""}, {}.
 *                Multi-dimensional arrays and [m:n]= bounds are errors
 * On failure nothing is appended to the row (the caller aborts the row or
 * the batch); for a list, the elements added before the failure are
 * dropped. An allocation failure inside the batch follows batch.h's
 * invariant 5 (b->oom; batch_check reports it). */
int pgtype_set_text(batch *b, int col, const floe_column *c, const pgtype_desc *d, const char *text,
                    size_t len, char *err);

/* Called once per element by pgtype_array_split: elem[0..n) is the element
 * with quotes and backslash escapes removed (valid only during the call; not
 * NUL-terminated); is_null is 1 for an unquoted NULL (any case), 0 for
 * everything else, the quoted "NULL" included. A nonzero return stops the
 * split and is returned by it. */
typedef int (*pgtype_elem_fn)(void *ctx, const char *elem, size_t n, int is_null);

/* Calls fn for each element of a one-dimensional array's text output
 * text[0..len), e.g. {a,b,NULL,"q\"x",""}, in order; "{}" has none.
 * Whitespace around elements is skipped and an unquoted element's trailing
 * whitespace dropped, as array_in does. `column` (may be NULL) names the
 * column in messages; delim is the element type's typdelim (',' for every
 * supported type). FLOE_EINVAL for multi-dimensional arrays ({{1,2},{3,4}}),
 * a lower-bound decoration ([2:3]={...}) and malformed text; FLOE_ENOMEM
 * when an escaped element needs scratch memory that cannot be had; or fn's
 * nonzero return. */
int pgtype_array_split(const char *column, const char *text, size_t len, char delim,
                       pgtype_elem_fn fn, void *ctx, char *err);

#endif
