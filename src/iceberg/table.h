/*
 * table (iceberg) — one Iceberg v3 table in a file-system catalog: create,
 * load, and commit snapshots. Owns the table's metadata files; the caller
 * owns data files (Parquet) and Puffin files and passes their descriptions.
 *
 * Layout under `dir` (an absolute local path; location = "file://" + dir):
 *   metadata/v<N>.metadata.json     table metadata, N = 1, 2, ...
 *   metadata/version-hint.text      the digits of N, no newline
 *   metadata/<uuid>-m<k>.avro       manifests
 *   metadata/snap-<id>-1-<uuid>.avro manifest lists
 *   data/                           data and Puffin files (written by the caller)
 *
 * Commit protocol (each step fsynced before the next):
 *   1. write new manifests and the new manifest list (new names, never reused);
 *   2. write v<N+1>.metadata.json under a temp name, fsync, link to its final
 *      name without overwriting (fs_publish), fsync metadata/;
 *   3. rewrite version-hint.text (fs_put_durable).
 * A crash before 2 completes leaves v<N> current (orphan files only); after it,
 * v<N+1> is current even if the hint is stale (load scans for the highest N).
 *
 * Invariants of every committed metadata file:
 *   1. format-version 3 with every required key of the spec, next-row-id,
 *      refs.main == current-snapshot-id, logs ordered, last-updated-ms >= both.
 *   2. Row lineage: snapshot first-row-id = next-row-id before the commit; each
 *      newly written data manifest gets first_row_id from a running counter
 *      (advanced by added + existing rows), delete manifests get null; the new
 *      next-row-id = first-row-id + added-rows.
 *   3. The number of data manifests in a snapshot stays bounded: when there are
 *      more than ICE_MANIFEST_MERGE_COUNT, the small ones are merged into one
 *      (entries rewritten as EXISTING with explicit sequence numbers and
 *      first_row_id, so no row id changes).
 *   4. Summary values are strings; totals are carried from the parent.
 * One thread at a time per ice_table (the table's writer thread).
 */
#ifndef FLOE_ICE_TABLE_H
#define FLOE_ICE_TABLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "iceberg/manifest.h"
#include "iceberg/schema.h"

#define ICE_MANIFEST_MERGE_COUNT 16
#define ICE_MANIFEST_TARGET_BYTES (8 << 20)

typedef struct ice_table ice_table;

/* Creates the table (metadata/v1.metadata.json, no snapshot). `properties` is a
 * JSON object of string values (may be NULL). FLOE_EEXIST if a table is there. */
int ice_table_create(const char *dir, const ice_schema *schema, const json_t *properties,
		     ice_table **out, char *err);
/* Loads the newest committed metadata under dir and its current manifest list.
 * If version-hint.text lags behind (a crash after publish), it is rewritten,
 * so call this from the table's writer only (best effort: a warning is logged
 * when the directory is read-only). */
int ice_table_load(const char *dir, ice_table **out, char *err);
void ice_table_free(ice_table *t);

const ice_schema *ice_table_schema(const ice_table *t);
const json_t *ice_table_properties(const ice_table *t); /* borrowed, valid until the next commit */
const char *ice_table_location(const ice_table *t);     /* "file:///abs/dir" */
const char *ice_table_dir(const ice_table *t);
int ice_table_version(const ice_table *t);
/* 1 after a commit failed once its metadata may have become visible: the
 * handle no longer knows the table's state; load the table again. */
int ice_table_poisoned(const ice_table *t);               /* N of the current vN.metadata.json */
int64_t ice_table_snapshot_id(const ice_table *t);       /* -1: no snapshot yet */
int64_t ice_table_sequence_number(const ice_table *t);   /* last-sequence-number */
int64_t ice_table_next_row_id(const ice_table *t);
int64_t ice_table_last_updated_ms(const ice_table *t);
/* The highest field id the table has ever used (last-column-id). */
int32_t ice_table_last_column_id(const ice_table *t);
/* Value of a current-snapshot summary key, or NULL (borrowed). */
const char *ice_table_summary(const ice_table *t, const char *key);
/* Totals of the current snapshot (0 with no snapshot). */
int64_t ice_table_total_records(const ice_table *t);
int64_t ice_table_total_data_files(const ice_table *t);

/* Live files of the current snapshot (data and delete files), read from its
 * manifests. *out malloc'd, free with ice_manifest_entries_free. Entries carry
 * their effective sequence numbers and, for data files, their first_row_id
 * (inherited values made explicit). */
int ice_table_live_files(const ice_table *t, ice_manifest_entry **out, size_t *n, char *err);

typedef struct ice_kv {
	const char *key;
	const char *value;
} ice_kv;

typedef struct ice_commit {
	const ice_data_file *added_data; /* new Parquet data files */
	size_t nadded_data;
	const ice_data_file *added_deletes; /* new deletion vectors (content 1, PUFFIN) */
	size_t nadded_deletes;
	const char *const *removed_paths; /* file_path of live data or delete files to remove */
	size_t nremoved;
	const ice_kv *summary; /* extra snapshot summary properties, e.g. floe.lsn */
	size_t nsummary;
	/* NULL: chosen as below; else "append", "replace" (compaction),
	 * "overwrite" or "delete". Zero-initialised callers get the default. */
	const char *operation;
} ice_commit;

/* Commits one snapshot. operation: "append" when only data is added, "delete"
 * when only deletes/removals, "overwrite" for both. On error nothing becomes
 * visible and t still describes the previous snapshot.
 * Rules (FLOE_EINVAL otherwise): removed paths are live files; removing a
 * data file also removes its DV; added paths are new; a new DV references a
 * live (or added) data file, and that file's old DV, if any, is removed in
 * the same commit. Summary keys the table computes may not be overridden.
 * If the failure comes after the new metadata may have been published (the
 * fsync of metadata/ or the hint failed), t is poisoned: later commits fail
 * with FLOE_EIO and the caller reloads the table to see whether it happened.
 * Crash points (iceberg/crashpoint.h) sit between the protocol's steps. */
int ice_table_commit(ice_table *t, const ice_commit *c, int64_t *snapshot_id_out, char *err);

/* Commits new table properties (a metadata-only change, no snapshot):
 * `properties` is an object whose string values are set and whose null
 * values remove the key; other keys keep their value. */
int ice_table_set_properties(ice_table *t, const json_t *properties, char *err);

/* Schema evolution, a metadata-only change: `schema` (its schema_id is
 * ignored; the table assigns the next one) becomes the current schema, with
 * optional property changes as above in the same version. Field ids keep
 * their meaning: a field whose id is new is an added column (files written
 * before read it as null, or as its initial-default), a missing id is a
 * dropped column, a changed type under the same id must be a promotion the
 * spec allows (int->long, float->double, decimal precision widening; the
 * caller checks). Data files keep the schema they were written with. */
int ice_table_set_schema(ice_table *t, const ice_schema *schema, const json_t *properties,
                         char *err);

/* Calls fn(uri) once for every file reachable from any snapshot of the
 * current metadata: manifest lists, manifests, data and delete files (full
 * URIs as the metadata holds them). Stops and returns fn's value if non-zero. */
int ice_table_reachable_files(const ice_table *t, int (*fn)(void *ctx, const char *uri), void *ctx,
			      char *err);
/* Calls fn(path, name) for every file in <dir>/<subdir> ("data" or
 * "metadata") that no snapshot reaches, except metadata documents and the
 * version hint: the leftovers of a crash in the middle of a commit. */
int ice_table_orphans(const ice_table *t, const char *subdir,
		      int (*fn)(void *ctx, const char *path, const char *name), void *ctx, char *err);

/* Calls fn(dir) for each table directory found under root at depth `depth`
 * (e.g. 2 for root/<database>/<table>) that holds metadata/version-hint.text
 * or metadata/v*.metadata.json, in name order. Stops and returns fn's value
 * if non-zero. FLOE_ENOTFOUND if root is not a directory. */
int ice_catalog_scan(const char *root, int depth, int (*fn)(void *ctx, const char *dir), void *ctx,
		     char *err);

#endif
