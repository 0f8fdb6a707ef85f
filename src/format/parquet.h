/*
 * parquet — floe's Parquet file writer. Knows bytes, not tables.
 *
 * The caller describes a list of columns (pq_column_spec: physical type,
 * logical annotation, field_id, required or optional; a column may instead be
 * a LIST of elements of that type), then hands rows in column-major form
 * (pq_column_data) once or many times, then closes the file. Output goes
 * through a caller-supplied sink so the file can stream to disk.
 *
 * Contract:
 *   1. Every SchemaElement carries field_id; the footer key-value metadata holds
 *      what the caller passes (e.g. "iceberg.schema").
 *   2. Row groups are cut when the buffered uncompressed size of the current
 *      row group reaches opts.row_group_bytes; a single pq_writer_write call may
 *      produce several row groups, and several calls may share one.
 *   3. Data pages are v1 pages with RLE/bit-packed definition levels (optional
 *      columns only; list columns also have repetition levels before them,
 *      and pages start on a row boundary). Each column chunk starts
 *      dictionary-encoded
 *      (RLE_DICTIONARY) and falls back to PLAIN for the rest of the chunk when
 *      the dictionary would exceed opts.dict_max_bytes / values (or, with
 *      opts.delta_encodings, to DELTA_BINARY_PACKED for INT32/INT64 and
 *      DELTA_LENGTH_BYTE_ARRAY for BYTE_ARRAY).
 *   4. Statistics min/max/null_count (Statistics fields 3, 5, 6; never the
 *      deprecated 1/2) per column chunk, in the type's defined sort order
 *      (signed ints, IEEE floats without NaN with -0.0 < +0.0, unsigned bytes
 *      for strings/binary/uuid, signed two's complement for decimal FLBA), and
 *      column_orders = TypeDefinedOrder for every column.
 *   5. The writer never reads back what it wrote; nothing is written to the
 *      sink after pq_writer_close (or after an error).
 * Not thread-safe: one writer per thread (with opts.threads 2 the writer
 * runs a helper thread of its own, inside pq_writer_write only). Errors
 * come back as a negative FLOE_* code with a message in err (ERR_LEN
 * bytes).
 */
#ifndef FLOE_PARQUET_H
#define FLOE_PARQUET_H

#include <stddef.h>
#include <stdint.h>

/* Values equal the Parquet thrift enum Type. */
typedef enum pq_physical {
	PQ_BOOLEAN = 0,
	PQ_INT32 = 1,
	PQ_INT64 = 2,
	PQ_FLOAT = 4,
	PQ_DOUBLE = 5,
	PQ_BYTE_ARRAY = 6,
	PQ_FIXED_LEN_BYTE_ARRAY = 7,
} pq_physical;

typedef enum pq_logical {
	PQ_LOGICAL_NONE = 0,
	PQ_LOGICAL_STRING,    /* BYTE_ARRAY, + ConvertedType UTF8 */
	PQ_LOGICAL_INT,       /* INT32/INT64 with int_bits (8/16/32/64), signed */
	PQ_LOGICAL_DATE,      /* INT32, + ConvertedType DATE */
	PQ_LOGICAL_TIME,      /* INT64 micros (or nanos when nanos=1), not UTC-adjusted */
	PQ_LOGICAL_TIMESTAMP, /* INT64 micros (or nanos), utc_adjusted; micros also get
	                         ConvertedType TIMESTAMP_MICROS */
	PQ_LOGICAL_DECIMAL,   /* INT32 / INT64 / FLBA, precision + scale, + ConvertedType DECIMAL */
	PQ_LOGICAL_UUID,      /* FLBA(16) */
} pq_logical;

typedef struct pq_column_spec {
	const char *name;
	int32_t field_id;
	pq_physical physical;
	pq_logical logical;
	int required;     /* 1: REQUIRED (no definition levels), 0: OPTIONAL */
	int type_length;  /* FLBA only */
	int precision;    /* DECIMAL */
	int scale;        /* DECIMAL */
	int int_bits;     /* PQ_LOGICAL_INT */
	int utc_adjusted; /* TIMESTAMP */
	int nanos;        /* TIME / TIMESTAMP: 1 = NANOS unit */
	/* list = 1: the column is the standard 3-level LIST
	 *   <required|optional> group name (LIST) {      field_id
	 *     repeated group list {
	 *       <element_required ? required : optional> <type> element;  element_field_id
	 *   } }
	 * where `required` is the list's repetition and the type members above
	 * describe the element. Its one leaf column has path name.list.element,
	 * definition levels 0 null list (optional lists only), then empty list,
	 * null element (optional elements only), present element, and
	 * repetition levels 0 (a row's first entry) / 1. */
	int list;
	int32_t element_field_id;
	int element_required;
} pq_column_spec;

/*
 * One column's values for `nrows` rows, column-major, borrowed for the call.
 *   valid:   nrows bytes, 1 = value present, 0 = null; NULL means all present
 *            (required columns must pass NULL or all ones).
 *   values:  fixed-width types: nrows slots of the physical width, dense by row
 *            (the slot of a null row is ignored): BOOLEAN 1 byte (0/1), INT32 4,
 *            INT64 8, FLOAT 4, DOUBLE 8 (native little-endian), FLBA
 *            type_length bytes (decimal FLBA: big-endian two's complement).
 *   offsets/bytes: BYTE_ARRAY: value i is bytes[offsets[i] .. offsets[i+1]),
 *            offsets has nrows+1 entries (null rows have an empty range).
 * A list column (spec.list): valid is per row (a null list; NULL = none), and
 *   list_offsets: nrows+1 entries; row r holds elements list_offsets[r] ..
 *            list_offsets[r+1] (a null list an empty range), indexes into
 *   elem_valid, values, offsets, bytes: the elements, laid out as a column's
 *            rows are above (elem_valid: 1 = present, 0 = null element; NULL
 *            = all present). A call uses elements list_offsets[0] ..
 *            list_offsets[nrows] only.
 */
typedef struct pq_column_data {
	const uint8_t *valid;
	const void *values;
	const uint64_t *offsets;
	const uint8_t *bytes;
	const uint64_t *list_offsets; /* list columns only */
	const uint8_t *elem_valid;    /* list columns only */
} pq_column_data;

typedef enum pq_codec {
	PQ_CODEC_UNCOMPRESSED = 0,
	PQ_CODEC_SNAPPY = 1,
	PQ_CODEC_ZSTD = 6,
} pq_codec; /* values equal the thrift CompressionCodec enum */

typedef struct pq_options {
	pq_codec codec;         /* default ZSTD */
	int zstd_level;         /* default 3 */
	size_t row_group_bytes; /* uncompressed bytes per row group; default 128 MiB */
	size_t page_bytes;      /* target uncompressed data page size; default 1 MiB */
	size_t dict_max_bytes;  /* dictionary page limit before PLAIN fallback; default 1 MiB */
	const char *created_by; /* default "floe" */
	int delta_encodings;    /* 1: DELTA_* instead of PLAIN after dictionary fallback;
	                           default 0 (older Iceberg Java vectorized readers reject
	                           them; see parquet.c) */
	int threads;            /* 1 (default) or 2: a second thread encodes and compresses
	                           about half of the columns of each pq_writer_write; the
	                           file's bytes are the same either way */
} pq_options;

/* Fills opts with the defaults above. */
void pq_options_default(pq_options *opts);

/* Appends n bytes to the output; returns 0 or a negative FLOE_* code. */
typedef int (*pq_sink_fn)(void *ctx, const void *data, size_t n, char *err);

typedef struct pq_kv {
	const char *key;
	const char *value;
} pq_kv;

/* Per-column results, for Iceberg manifest metrics. min/max are the exact
 * extreme values in PLAIN encoding without length prefix (INT32 4 bytes LE,
 * INT64 8 LE, FLOAT/DOUBLE IEEE LE, BOOLEAN 1 byte, BYTE_ARRAY raw bytes, FLBA
 * raw bytes); has_min_max = 0 when every value is null (or NaN). For a list
 * column they describe its leaf, as the column chunks do (parquet-mr's
 * counting, which Iceberg's manifest metrics follow): num_values counts level
 * entries (an element, or one entry for a null or empty list) and null_count
 * the entries without a value (null elements, null and empty lists). */
typedef struct pq_column_result {
	int64_t num_values; /* level entries (rows for a flat column), nulls included */
	int64_t null_count;
	int64_t nan_count;        /* FLOAT/DOUBLE only, else 0 */
	int64_t compressed_bytes; /* sum over row groups of total_compressed_size */
	int64_t uncompressed_bytes;
	int has_min_max;
	uint8_t *min; /* malloc'd; freed by pq_file_result_free */
	size_t min_len;
	uint8_t *max;
	size_t max_len;
} pq_column_result;

typedef struct pq_file_result {
	int64_t num_rows;
	int64_t file_size; /* bytes sent to the sink in total */
	int nrow_groups;
	int64_t *row_group_offsets; /* file offset of each row group's first page (split offsets) */
	int ncols;
	pq_column_result *cols;
} pq_file_result;

typedef struct pq_writer pq_writer;

/* Starts a file: writes the "PAR1" magic to the sink. cols and kv are copied.
 * *out is freed by pq_writer_close or pq_writer_abort. */
int pq_writer_open(const pq_column_spec *cols, int ncols, const pq_kv *kv, int nkv,
                   const pq_options *opts, pq_sink_fn sink, void *sink_ctx, pq_writer **out,
                   char *err);
/* Appends nrows rows (data has ncols entries, in the order of cols). */
int pq_writer_write(pq_writer *w, const pq_column_data *data, size_t nrows, char *err);
/* Flushes the last row group, writes the footer and "PAR1", frees w, and
 * fills *result (caller frees with pq_file_result_free). w is freed even on error. */
int pq_writer_close(pq_writer *w, pq_file_result *result, char *err);
/* Frees w without writing anything more. NULL is a no-op. */
void pq_writer_abort(pq_writer *w);
void pq_file_result_free(pq_file_result *r);

#endif
