/*
 * parquet_read — random access to the values of a Parquet file: the reader
 * behind "keep the current value of an unchanged TOASTed column", which may
 * live only in a data file floe committed earlier. Knows bytes, not tables
 * (src/table/rowfetch.h turns values into batch rows of a table schema).
 *
 * What it reads: every file floe's writer (parquet.h) produces, and the same
 * features from other writers — codecs UNCOMPRESSED, SNAPPY, GZIP, ZSTD;
 * DATA_PAGE v1 and DATA_PAGE_V2; DICTIONARY_PAGE with PLAIN_DICTIONARY /
 * RLE_DICTIONARY indices; PLAIN for every physical type but INT96; RLE for
 * BOOLEAN; DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY,
 * BYTE_STREAM_SPLIT; definition levels as RLE/bit-packed hybrid; leaves
 * nested in groups; lists (a leaf with one repeated ancestor: the 3-level
 * LIST floe writes, and the legacy 2-level forms) through pq_reader_list;
 * page CRCs when present; the offset index when present (else page headers
 * are walked). Not read: nested lists and maps' repeated levels beyond one
 * (max_rep > 1), INT96, BIT_PACKED levels, LZ4/BROTLI/LZO codecs, encrypted
 * files, column chunks in other files, list rows split across pages (all
 * FLOE_EINVAL naming the feature).
 *
 * Access: pq_reader_value() positions a per-column cursor on a row. Each
 * column keeps its last decompressed page (and the chunk's dictionary), so
 * reading rows in ascending order, across columns in any interleaving,
 * decompresses every page at most once; a row before the cursor in the same
 * page restarts the page's decoders without decompressing again. Memory
 * held: the footer, plus per column read so far one uncompressed page and
 * one dictionary.
 *
 * Trust: the file is untrusted (a damaged or truncated file must not crash
 * floe). Every offset, length, count, level and index is checked before it
 * is used; a file that is not what it claims gives FLOE_ECORRUPT with a
 * message naming the file, the column and what is wrong. If the file
 * changes on disk while open, reads may fail (FLOE_EIO / FLOE_ECORRUPT).
 *
 * Errors: FLOE_ECORRUPT, FLOE_EIO (open/read failed), FLOE_ENOMEM,
 * FLOE_EINVAL (a feature listed above as not read; a row or column index
 * out of range), each with one line in err (ERR_LEN bytes, may be NULL).
 * A reader belongs to one thread at a time.
 */
#ifndef FLOE_PARQUET_READ_H
#define FLOE_PARQUET_READ_H

#include <stddef.h>
#include <stdint.h>

#include "format/parquet.h"

typedef struct pq_reader pq_reader;

/* A leaf column of the file, in schema order. */
typedef struct pq_reader_column {
	/* As the writer's spec describes it (name: the leaf's own name, owned
	 * by the reader). spec.physical may also be 3 (INT96). required: the
	 * leaf is REQUIRED (it may still be null when an enclosing group is). */
	pq_column_spec spec;
	int has_field_id;  /* spec.field_id is meaningful */
	int other_logical; /* annotated with something pq_logical has no name
	                      for (unsigned INT, TIME/TIMESTAMP in millis, JSON,
	                      ENUM, FLOAT16, ...); spec.logical is then NONE */
	int max_def;       /* definition level of a present value */
	int max_rep;       /* 1: a list's leaf (pq_reader_list); > 1 not readable */
	/* max_rep 1: the definition level of a present (maybe empty) list, the
	 * level of the repeated node's parent: an entry below it is a null
	 * list, at it an empty list, above it an element (null below max_def).
	 * -1 when max_rep is 0. */
	int list_def;
} pq_reader_column;

/* One value. present 0: null. Fixed-width physical types in v (BOOLEAN b
 * 0/1, INT32 i32, INT64 i64, FLOAT f32, DOUBLE f64, bit-exact: NaN payloads
 * and -0.0 kept); BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY in bytes/len, which
 * point into the reader and stay valid until the next pq_reader_value call
 * for the same column (or pq_reader_close). */
typedef struct pq_value {
	int present;
	union {
		int b;
		int32_t i32;
		int64_t i64;
		float f32;
		double f64;
	} v;
	const uint8_t *bytes;
	size_t len;
} pq_value;

/* Opens path and decodes the footer (schema, row groups, column chunks).
 * *out is freed with pq_reader_close. The file stays open until then. */
int pq_reader_open(const char *path, pq_reader **out, char *err);
/* The same over n bytes in memory (borrowed: they must outlive the reader);
 * name is used in messages (copied). */
int pq_reader_open_mem(const void *data, size_t n, const char *name, pq_reader **out, char *err);
/* Closes the file and frees everything. NULL is a no-op. */
void pq_reader_close(pq_reader *r);

int64_t pq_reader_num_rows(const pq_reader *r);
int pq_reader_ncols(const pq_reader *r);
/* Column col (0 <= col < ncols); valid until pq_reader_close. */
const pq_reader_column *pq_reader_column_info(const pq_reader *r, int col);
/* The leaf column whose schema element has this field id, or -1. */
int pq_reader_find_field(const pq_reader *r, int32_t field_id);
/* The path or name the reader was opened with (for messages). */
const char *pq_reader_name(const pq_reader *r);

/* The value of column col (max_rep 0) at row (0-based within the file)
 * into *out (see pq_value for how long its bytes stay valid). */
int pq_reader_value(pq_reader *r, int col, int64_t row, pq_value *out, char *err);
/* The list of list column col (max_rep 1) at row: *len = its elements, 0
 * for an empty list, -1 for a null one. Then *len pq_reader_elem calls give
 * the elements in order (a later read of another row drops the rest). */
int pq_reader_list(pq_reader *r, int col, int64_t row, int64_t *len, char *err);
/* The next element of the list opened by pq_reader_list (FLOE_EINVAL when
 * there is none): present 0 for a null element. */
int pq_reader_elem(pq_reader *r, int col, pq_value *out, char *err);

#endif
