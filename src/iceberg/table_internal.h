/*
 * table_internal — what the files of the Iceberg table module share:
 * the ice_table struct and the helpers split across
 *   table.c     create, load, accessors, properties, reading the snapshot
 *   metadata.c  the metadata JSON document (build, check, next version, ids)
 *   catalog.c   the file-system catalog (vN files, hint, publish, scan)
 *   commit.c    snapshot commits (manifests, row lineage, merge)
 * Not for use outside src/iceberg/. Same threading and error rules as table.h.
 */
#ifndef FLOE_ICE_TABLE_INTERNAL_H
#define FLOE_ICE_TABLE_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "iceberg/liveset.h"
#include "iceberg/manifest.h"
#include "iceberg/schema.h"
#include "iceberg/table.h"

#define ICE_PATH_MAX 4096
#define ICE_UUID_LEN 37 /* 36 characters and the NUL */

/* The fields of a metadata document the table reads; pointers borrow from
 * the document. */
typedef struct ice_meta_view {
	const char *location;
	int64_t last_updated_ms;
	int64_t seq; /* last-sequence-number */
	int64_t next_row_id;
	int64_t snapshot_id;       /* -1: none */
	const json_t *schema;      /* the current schema object */
	const json_t *properties;  /* an object (possibly empty) */
	const json_t *snapshot;    /* the current snapshot object, or NULL */
	const char *manifest_list; /* its manifest-list, or NULL */
} ice_meta_view;

struct ice_table {
	char *dir;      /* canonical absolute path, no trailing slash */
	char *location; /* "file://" + dir */
	int version;    /* N of metadata/v<N>.metadata.json */
	json_t *doc;    /* the current metadata document */
	ice_meta_view view;
	ice_schema schema;
	/* The current snapshot's manifest list; mids[i] is an in-memory id of
	 * manifests[i] that the live set refers to (never reused). */
	ice_manifest_file *manifests;
	size_t nmanifests;
	uint32_t *mids;
	uint32_t next_mid;
	ice_live *live; /* NULL until a commit needs it (a cache) */
	/* Set when a commit failed after its metadata may have become visible:
	 * the handle no longer knows the table's state; reload it. */
	int poisoned;
};

/* --- metadata.c --- */
/* Wall-clock ms, never earlier than doc's last-updated-ms (doc may be NULL). */
int64_t ice_meta_now_ms(const json_t *doc);
/* A random (version 4) UUID in its 36-character text form. */
int ice_meta_new_uuid(char out[ICE_UUID_LEN], char *err);
/* A random positive 63-bit id not used by any snapshot of doc. */
int ice_meta_new_snapshot_id(const json_t *doc, int64_t *out, char *err);
/* The v1 document of a new table (no snapshot) into *out. */
int ice_meta_create(const char *location, const ice_schema *schema, const json_t *properties,
                    int64_t now_ms, json_t **out, char *err);
/* Checks a document (format-version 3, required keys and types, unpartitioned,
 * consistent current snapshot) and fills *v with pointers into it. */
int ice_meta_parse(json_t *doc, ice_meta_view *v, char *err);
/* *out = a deep copy of t's document for version t->version + 1: last-updated-ms is
 * advanced to now_ms and metadata-log gains t's current file (bounded by
 * write.metadata.previous-versions-max). */
int ice_meta_next(const ice_table *t, int64_t now_ms, json_t **out, char *err);

typedef struct ice_meta_snapshot {
	int64_t snapshot_id;
	int64_t parent_id; /* -1: none */
	int64_t seq;
	int64_t timestamp_ms;
	int64_t first_row_id;
	int64_t added_rows;
	int32_t schema_id;
	const char *manifest_list;
	json_t *summary; /* an object of strings; stolen (also on failure) */
} ice_meta_snapshot;
/* Appends a snapshot and makes it current (refs.main, logs, counters). */
int ice_meta_add_snapshot(json_t *doc, ice_meta_snapshot *s, char *err);
/* Merges `changes` into the document's properties: string values are set,
 * null values remove the key. FLOE_EINVAL for any other value. */
/* Appends `schema` to doc's "schemas" as the new current schema: its
 * schema_id is set to one above every existing id (ids are never reused) and
 * last-column-id grows to cover its field ids (it never shrinks, so a dropped
 * column's id is never given to another column). */
int ice_meta_add_schema(json_t *doc, ice_schema *schema, char *err);
int ice_meta_update_properties(json_t *doc, const json_t *changes, char *err);
/* FLOE_EINVAL unless p is NULL or an object whose values are all strings. */
int ice_meta_check_properties(const json_t *p, const char *what, char *err);

/* --- catalog.c --- */
/* The highest committed version under dir (max of the hint and a scan of
 * metadata/); FLOE_ENOTFOUND when there is none. */
int ice_catalog_latest(const char *dir, int *version, char *err);
/* Writes doc as metadata/v<version>.metadata.json by the commit protocol.
 * *published is set to 1 as soon as the new file may be visible, so that on
 * an error the caller knows whether the commit can have happened. */
int ice_catalog_publish(const char *dir, int version, const json_t *doc, int *published, char *err);
/* path = dir + "/metadata/" + name, checked for length. */
int ice_catalog_path(char out[ICE_PATH_MAX], const char *dir, const char *name, char *err);
/* Makes version-hint.text hold exactly the digits of `version` unless it
 * names a higher version already. */
int ice_catalog_fix_hint(const char *dir, int version, char *err);
/* The local path of a "file://" (or "file:" or absolute) location. */
int ice_catalog_local_path(const char *uri, char out[ICE_PATH_MAX], char *err);

/* --- table.c --- */
/* Reads a manifest of the current snapshot and makes inherited values
 * explicit: snapshot ids and sequence numbers from the manifest list entry,
 * and data files' first_row_id by the spec's rule (manifest first_row_id plus
 * the record counts of the preceding live data files that had none). */
int ice_table_read_manifest(const ice_manifest_file *mf, ice_manifest_entry **out, size_t *n,
                            char *err);
/* Builds t->live from the current manifests if it is not there. */
int ice_table_ensure_live(ice_table *t, char *err);
/* Makes doc (taken over) version `version` of t, with its parsed view;
 * cannot fail, so it runs only after the version is published. */
void ice_table_install(ice_table *t, int version, json_t *doc, const ice_meta_view *view);

#endif
