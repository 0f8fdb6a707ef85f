/*
 * coltype — floe's column types (the moonlink `data_type` names users write)
 * and how each maps to Iceberg, Parquet and the in-memory batch.
 *
 *   floe type      Iceberg        Parquet                          batch storage
 *   boolean        boolean        BOOLEAN                          BC_BOOL  (1 byte)
 *   int16          int            INT32 INT(16,true)               BC_I32
 *   int32          int            INT32                            BC_I32
 *   int64          long           INT64                            BC_I64
 *   float32        float          FLOAT                            BC_F32
 *   float64        double         DOUBLE                           BC_F64
 *   decimal(p,s)   decimal(p,s)   INT32 p<=9 / INT64 p<=18 /       BC_I32 / BC_I64 /
 *                                 FLBA(min bytes) DECIMAL(p,s)     BC_FIXED (big-endian)
 *   string         string         BYTE_ARRAY STRING                BC_BYTES
 *   binary         binary         BYTE_ARRAY                       BC_BYTES
 *   date32         date           INT32 DATE                       BC_I32 (days since epoch)
 *   timestamp      timestamp      INT64 TIMESTAMP(MICROS,false)    BC_I64 (micros)
 *   timestamptz    timestamptz    INT64 TIMESTAMP(MICROS,true)     BC_I64 (micros UTC)
 *   uuid           uuid           FLBA(16) UUID                    BC_FIXED (16 bytes, RFC order)
 *   time           time           INT64 TIME(MICROS,false)         BC_I64 (micros since midnight,
 *                                                                  0..86400000000: 24:00:00 is
 *                                                                  the end of the day)
 *   list<T>        list (element  LIST: group (LIST) / repeated group   BC_LIST (per row offsets
 *                  T, optional)   list / optional T element            into an element column)
 * 1 <= p <= 38, 0 <= s <= p. T is any type but a list; elements are always
 * nullable. A list's element has an Iceberg field id of its own (element-id):
 * floe_schema_assign_field_ids gives the columns 1..n and the elements the
 * ids after that.
 */
#ifndef FLOE_COLTYPE_H
#define FLOE_COLTYPE_H

#include <stdint.h>

#include "format/parquet.h"
#include "iceberg/schema.h"

typedef enum floe_type {
	FT_BOOLEAN,
	FT_INT16,
	FT_INT32,
	FT_INT64,
	FT_FLOAT32,
	FT_FLOAT64,
	FT_DECIMAL,
	FT_STRING,
	FT_BINARY,
	FT_DATE32,
	FT_TIMESTAMP,
	FT_TIMESTAMPTZ,
	FT_UUID,
	FT_TIME,
	FT_LIST,
} floe_type;

typedef enum batch_kind {
	BC_BOOL,
	BC_I32,
	BC_I64,
	BC_F32,
	BC_F64,
	BC_BYTES,
	BC_FIXED,
	BC_LIST,
} batch_kind;

typedef struct floe_column {
	char *name; /* owned */
	/* JSON text of the value rows written before the column existed read as
	 * (Iceberg initial-default); owned, NULL: null. */
	char *initial_default;
	floe_type type;
	int precision, scale; /* FT_DECIMAL */
	int nullable;
	int32_t field_id;
	/* FT_LIST: the element's type (never FT_LIST), its decimal parameters
	 * and its Iceberg element-id; zero otherwise. coltype_element gives the
	 * element as a column of its own. */
	floe_type elem_type;
	int elem_precision, elem_scale;
	int32_t elem_field_id;
} floe_column;

typedef struct floe_schema {
	int ncols;
	floe_column *cols; /* owned */
} floe_schema;

/* Parses "int64", "decimal(10,2)", ... (also accepts the moonlink / SQL / Arrow
 * aliases listed below). FLOE_EINVAL with a message naming the type otherwise.
 * Accepted names (ASCII case-insensitive, nothing else; the canonical name
 * first):
 *   boolean      bool
 *   int16        smallint
 *   int32        int, integer
 *   int64        bigint, long
 *   float32      float, real
 *   float64      double
 *   decimal(p,s) decimal(p) (= scale 0), numeric(p,s), numeric(p); spaces
 *                may surround p and s
 *   string       text, utf8, varchar
 *   binary       bytes, bytea
 *   date32       date
 *   timestamp    (micros, no time zone)
 *   timestamptz  (micros, UTC)
 *   uuid
 *   time         (micros since midnight, no time zone)
 *   list<T>      T[]; T any name above (not a list), spaces allowed
 *                around T: "list<decimal(10,2)>", "text[]"
 * Sets col->type, precision and scale (0 unless decimal) and the elem_*
 * type members (0 unless a list); leaves name, nullable, field_id and
 * elem_field_id alone. */
int coltype_parse(const char *name, floe_column *col, char *err);
/* The canonical name: writes into out (>= 32 bytes). */
void coltype_name(const floe_column *col, char *out, size_t cap);
/* The element of list column col as a column of its own: the list's name
 * (borrowed), the element type, nullable, field_id = elem_field_id. */
void coltype_element(const floe_column *col, floe_column *view);
/* The Iceberg field id of the column's Parquet leaf, which manifest metrics
 * are keyed by: the element id for a list, else the column's. */
int32_t coltype_leaf_field_id(const floe_column *col);
batch_kind coltype_batch_kind(const floe_column *col);
/* Bytes per value for fixed kinds (BC_BOOL 1, BC_I32 4, ...); 0 for BC_BYTES
 * and BC_LIST. */
int coltype_width(const floe_column *col);
/* Minimal FLBA bytes holding a decimal of this precision (p > 18). */
int coltype_decimal_bytes(int precision);
void coltype_to_iceberg(const floe_column *col, ice_field *out_borrowing_name);
void coltype_to_parquet(const floe_column *col, pq_column_spec *out_borrowing_name);

/* Frees the names and the column array; s is left empty. NULL is a no-op. */
void floe_schema_clear(floe_schema *s);
/* Deep copy into dst (overwritten, not cleared first); FLOE_ENOMEM leaves dst
 * empty. */
int floe_schema_copy(const floe_schema *src, floe_schema *dst);
/* Index of the column named `name` (len bytes), or -1. */
int floe_schema_find(const floe_schema *s, const char *name, size_t len);
/* A new table's field ids: the columns get 1..ncols in order, then the list
 * elements ncols + 1, ... in column order (top-level ids never depend on
 * which columns are lists). */
void floe_schema_assign_field_ids(floe_schema *s);

#endif
