/*
 * manifest — Iceberg v3 manifests and manifest lists as Avro files
 * (../shared/spec/iceberg-v3-writer.md §2 gives every field id and type).
 *
 * Writers produce the whole file into a buf; the caller stores it. Readers
 * decode files written by floe or by another Iceberg writer.
 * Conventions in these structs: an optional long is -1 when null (row ids,
 * sequence numbers, offsets and sizes are never negative).
 * Errors: FLOE_EINVAL when a writer is given entries that break the spec
 * (nothing is appended to `out` then), FLOE_ECORRUPT for a file that is not a
 * valid manifest (list), FLOE_ENOMEM; the reason goes to err (ERR_LEN bytes).
 */
#ifndef FLOE_ICE_MANIFEST_H
#define FLOE_ICE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "iceberg/schema.h"

enum { ICE_CONTENT_DATA = 0, ICE_CONTENT_POSITION_DELETES = 1, ICE_CONTENT_EQUALITY_DELETES = 2 };
enum { ICE_STATUS_EXISTING = 0, ICE_STATUS_ADDED = 1, ICE_STATUS_DELETED = 2 };

/* Metrics of one column of a data file (manifest fields 108/109/110/137/125/128). */
typedef struct ice_col_metrics {
	int32_t field_id;
	int64_t column_size; /* -1: omit */
	int64_t value_count; /* -1: omit */
	int64_t null_count;  /* -1: omit */
	int64_t nan_count;   /* -1: omit (non-float columns) */
	uint8_t *lower;      /* owned; NULL: no bound */
	size_t lower_len;
	uint8_t *upper; /* owned; NULL: no bound */
	size_t upper_len;
} ice_col_metrics;

/* A data_file record (r2). */
typedef struct ice_data_file {
	int content;       /* ICE_CONTENT_* */
	char *file_path;   /* owned; full URI */
	char *file_format; /* owned; "PARQUET" or "PUFFIN" */
	int64_t record_count;
	int64_t file_size_in_bytes;
	int ncols;
	ice_col_metrics *cols; /* owned; may be NULL when ncols == 0 */
	int nsplit_offsets;
	int64_t *split_offsets;        /* owned */
	int32_t sort_order_id;         /* -1: null */
	int64_t first_row_id;          /* -1: null */
	char *referenced_data_file;    /* owned; NULL unless a DV */
	int64_t content_offset;        /* -1: null */
	int64_t content_size_in_bytes; /* -1: null */
	int nequality_ids;
	int32_t *equality_ids; /* owned; field ids an equality delete file (content 2) matches on */
} ice_data_file;

/* A manifest_entry record. */
typedef struct ice_manifest_entry {
	int status;                   /* ICE_STATUS_* */
	int64_t snapshot_id;          /* -1: null (inherit) */
	int64_t sequence_number;      /* -1: null (inherit) */
	int64_t file_sequence_number; /* -1: null (inherit) */
	ice_data_file file;
} ice_manifest_entry;

/* A manifest_file record of a manifest list. */
typedef struct ice_manifest_file {
	char *manifest_path; /* owned; full URI */
	int64_t manifest_length;
	int32_t partition_spec_id;
	int content; /* 0 data, 1 deletes */
	int64_t sequence_number;
	int64_t min_sequence_number;
	int64_t added_snapshot_id;
	int32_t added_files_count, existing_files_count, deleted_files_count;
	int64_t added_rows_count, existing_rows_count, deleted_rows_count;
	int64_t first_row_id; /* -1: null */
} ice_manifest_file;

/* Frees what f owns and zeroes it; NULL is a no-op. */
void ice_data_file_clear(ice_data_file *f);
/* Deep copy into dst (overwritten, not freed first); FLOE_ENOMEM leaves dst zeroed. */
int ice_data_file_copy(const ice_data_file *src, ice_data_file *dst);
void ice_manifest_entries_free(ice_manifest_entry *e, size_t n);
void ice_manifest_files_free(ice_manifest_file *m, size_t n);

/*
 * Writes a manifest (unpartitioned, spec id 0) holding `entries`; content is
 * "data" or "deletes" (ICE_CONTENT_DATA / ICE_CONTENT_POSITION_DELETES). The
 * header carries schema (the table schema JSON), schema-id, partition-spec "[]",
 * partition-spec-id "0", format-version "3", content. Entries are written in
 * order; ADDED entries with sequence numbers -1 are written as null.
 * FLOE_EINVAL (nothing appended) when an entry breaks the spec: a file whose
 * content does not match the manifest's, EXISTING/DELETED without sequence
 * numbers, a DV without referenced_data_file/content_offset/content_size,
 * an equality delete without equality_ids, a column twice in cols.
 */
int ice_manifest_write(buf *out, const ice_schema *schema, int content,
                       const ice_manifest_entry *entries, size_t n, char *err);
/* Reads every entry of a manifest; *out is malloc'd (free with ice_manifest_entries_free).
 * Fields are found by name, so files of other writers and older format
 * versions read too: an absent optional field is -1/NULL, an absent v1
 * `content` is data. Column metrics come back sorted by field id. */
int ice_manifest_read(const uint8_t *data, size_t len, ice_manifest_entry **out, size_t *n,
                      char *err);

/* Writes a manifest list with the header metadata snapshot-id, parent-snapshot-id
 * ("null" when parent_id < 0), sequence-number, first-row-id, format-version "3".
 * FLOE_EINVAL (nothing appended) for a negative sequence number, count or
 * first_row_id argument, or a delete manifest with a first_row_id. */
int ice_manifest_list_write(buf *out, int64_t snapshot_id, int64_t parent_id,
                            int64_t sequence_number, int64_t first_row_id,
                            const ice_manifest_file *files, size_t n, char *err);
/* Reads a manifest list; *out malloc'd (free with ice_manifest_files_free). A v1
 * list's missing content and sequence numbers read as 0, missing counts as -1. */
int ice_manifest_list_read(const uint8_t *data, size_t len, ice_manifest_file **out, size_t *n,
                           char *err);

#endif
