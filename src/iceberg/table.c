/*
 * table — an Iceberg v3 table in a file-system catalog (contract in
 * table.h): create, load, accessors, property changes, and reading the
 * current snapshot's manifests. Commits live in commit.c, the metadata
 * document in metadata.c, the version files in catalog.c.
 *
 * Owns the ice_table: its current metadata document, the parsed schema, the
 * current manifest list and the live-file cache.
 * Invariants:
 *   1. t->doc is the document of metadata/v<t->version>.metadata.json as it
 *      was committed; t->view, t->schema and t->manifests are derived from it.
 *   2. t changes only after a new version is published; a failure before
 *      that leaves t as it was. A failure after it may have become visible
 *      poisons t (every later change fails; reload to learn the outcome).
 *   3. t->dir is canonical (realpath), so location = "file://" + dir names
 *      the same table however the caller spelled the path.
 * One thread at a time per ice_table. Errors: FLOE_EINVAL (bad arguments or
 * a document breaking the rules), FLOE_ENOTFOUND, FLOE_EEXIST, FLOE_EIO,
 * FLOE_ECORRUPT (a manifest that is not what its list says), FLOE_ENOMEM;
 * messages name the file or key.
 */
#include "base/err.h"
#include "base/log.h"
#include "iceberg/table_internal.h"
#include "storage/fs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ice_table_free(ice_table *t)
{
	if (!t)
		return;
	free(t->dir);
	free(t->location);
	json_decref(t->doc);
	ice_schema_clear(&t->schema);
	ice_manifest_files_free(t->manifests, t->nmanifests);
	free(t->mids);
	ice_live_free(t->live);
	free(t);
}

/* Reads a manifest list file named by its URI. */
static int ice_table_read_list(const char *uri, ice_manifest_file **out, size_t *n, char *err)
{
	char path[ICE_PATH_MAX];
	uint8_t *data = NULL;
	size_t len;
	int rc;
	if ((rc = ice_catalog_local_path(uri, path, err)) ||
	    (rc = fs_read_all(path, &data, &len, err)))
		return rc;
	rc = ice_manifest_list_read(data, len, out, n, err);
	free(data);
	return rc;
}

/* Builds the table of `dir` (canonical) at `version` from its document,
 * which is taken over (freed on failure too). */
static int ice_table_from_doc(const char *dir, int version, json_t *doc, ice_table **out, char *err)
{
	int rc;
	ice_table *t = calloc(1, sizeof *t);
	if (!t) {
		json_decref(doc);
		return errf(err, FLOE_ENOMEM, "out of memory");
	}
	t->doc = doc;
	t->version = version;
	if (!(t->dir = strdup(dir)) || asprintf(&t->location, "file://%s", dir) < 0) {
		t->location = NULL;
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = ice_meta_parse(doc, &t->view, err)))
		goto fail;
	if (strcmp(t->view.location, t->location) != 0) {
		rc =
		    errf(err, FLOE_EINVAL, "table at %s says its location is %s (moved or copied?)",
		         dir, t->view.location);
		goto fail;
	}
	if ((rc = ice_schema_from_json(t->view.schema, &t->schema, err)))
		goto fail;
	if (t->view.manifest_list) {
		rc = ice_table_read_list(t->view.manifest_list, &t->manifests, &t->nmanifests, err);
		if (rc)
			goto fail;
	}
	if (t->nmanifests > 0 && !(t->mids = calloc(t->nmanifests, sizeof *t->mids))) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < t->nmanifests; i++)
		t->mids[i] = ++t->next_mid;
	*out = t;
	return 0;
fail:
	ice_table_free(t);
	return rc;
}

/* realpath(dir) into out; FLOE_ENOTFOUND if it does not exist. */
static int ice_table_canonical(const char *dir, char out[PATH_MAX], char *err)
{
	if (!dir || dir[0] != '/')
		return errf(err, FLOE_EINVAL, "table directory '%s' is not an absolute path",
		            dir ? dir : "(null)");
	if (!realpath(dir, out))
		return errf(err, errno == ENOENT ? FLOE_ENOTFOUND : FLOE_EIO, "%s: %s", dir,
		            strerror(errno));
	return 0;
}

int ice_table_load(const char *dir, ice_table **out, char *err)
{
	char canon[PATH_MAX], path[ICE_PATH_MAX], name[64];
	uint8_t *data = NULL;
	size_t len;
	int version, rc;
	json_error_t jerr;
	if ((rc = ice_table_canonical(dir, canon, err)) ||
	    (rc = ice_catalog_latest(canon, &version, err)))
		return rc;
	snprintf(name, sizeof name, "v%d.metadata.json", version);
	if ((rc = ice_catalog_path(path, canon, name, err)) ||
	    (rc = fs_read_all(path, &data, &len, err)))
		return rc;
	json_t *doc = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
	free(data);
	if (!doc)
		return errf(err, FLOE_ECORRUPT, "%s: invalid JSON at line %d: %s", path, jerr.line,
		            jerr.text);
	if ((rc = ice_table_from_doc(canon, version, doc, out, err)))
		return rc;
	/* A crash between publish and hint leaves the hint one version behind,
	 * and readers that trust it (DuckDB) would miss the last commit until
	 * the next one. Best effort: a read-only table still loads. */
	char herr[ERR_LEN];
	if (ice_catalog_fix_hint(canon, version, herr))
		log_warn("table %s: cannot update version-hint.text: %s", canon, herr);
	return 0;
}

/* fsync dir and its parent, so a new table directory survives a crash. */
static int ice_table_sync_dirs(const char *dir, char *err)
{
	char parent[PATH_MAX];
	int rc = fs_fsync_dir(dir, err);
	if (rc)
		return rc;
	snprintf(parent, sizeof parent, "%s", dir);
	char *slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	return fs_fsync_dir(parent, err);
}

int ice_table_create(const char *dir, const ice_schema *schema, const json_t *properties,
                     ice_table **out, char *err)
{
	char canon[PATH_MAX], sub[ICE_PATH_MAX], location[ICE_PATH_MAX];
	int version, rc, published;
	if (!dir || dir[0] != '/')
		return errf(err, FLOE_EINVAL, "table directory '%s' is not an absolute path",
		            dir ? dir : "(null)");
	if ((rc = ice_schema_validate(schema, err)) ||
	    (rc = ice_meta_check_properties(properties, "table properties", err)))
		return rc;
	if (snprintf(sub, sizeof sub, "%s/metadata", dir) >= (int)sizeof sub)
		return errf(err, FLOE_EINVAL, "table directory too long: %s", dir);
	if ((rc = fs_mkdirs(sub, err)))
		return rc;
	snprintf(sub, sizeof sub, "%s/data", dir);
	if ((rc = fs_mkdirs(sub, err)) || (rc = ice_table_canonical(dir, canon, err)) ||
	    (rc = ice_table_sync_dirs(canon, err)))
		return rc;
	rc = ice_catalog_latest(canon, &version, NULL);
	if (rc == 0)
		return errf(err, FLOE_EEXIST, "a table exists at %s (version %d)", canon, version);
	if (snprintf(location, sizeof location, "file://%s", canon) >= (int)sizeof location)
		return errf(err, FLOE_EINVAL, "table directory too long: %s", canon);
	json_t *doc = NULL;
	if ((rc = ice_meta_create(location, schema, properties, ice_meta_now_ms(NULL), &doc, err)))
		return rc;
	if ((rc = ice_catalog_publish(canon, 1, doc, &published, err))) {
		json_decref(doc);
		return rc;
	}
	return ice_table_from_doc(canon, 1, doc, out, err);
}

const ice_schema *ice_table_schema(const ice_table *t)
{
	return &t->schema;
}

const json_t *ice_table_properties(const ice_table *t)
{
	return t->view.properties;
}

const char *ice_table_location(const ice_table *t)
{
	return t->location;
}

const char *ice_table_dir(const ice_table *t)
{
	return t->dir;
}

int ice_table_poisoned(const ice_table *t)
{
	return t->poisoned;
}

int ice_table_version(const ice_table *t)
{
	return t->version;
}

int64_t ice_table_snapshot_id(const ice_table *t)
{
	return t->view.snapshot_id;
}

int64_t ice_table_sequence_number(const ice_table *t)
{
	return t->view.seq;
}

int64_t ice_table_next_row_id(const ice_table *t)
{
	return t->view.next_row_id;
}

int64_t ice_table_last_updated_ms(const ice_table *t)
{
	return t->view.last_updated_ms;
}

const char *ice_table_summary(const ice_table *t, const char *key)
{
	if (!t->view.snapshot)
		return NULL;
	return json_string_value(
	    json_object_get(json_object_get(t->view.snapshot, "summary"), key));
}

static int64_t ice_table_summary_int(const ice_table *t, const char *key)
{
	const char *s = ice_table_summary(t, key);
	return s ? strtoll(s, NULL, 10) : 0;
}

int64_t ice_table_total_records(const ice_table *t)
{
	return ice_table_summary_int(t, "total-records");
}

int64_t ice_table_total_data_files(const ice_table *t)
{
	return ice_table_summary_int(t, "total-data-files");
}

void ice_table_install(ice_table *t, int version, json_t *doc, const ice_meta_view *view)
{
	json_decref(t->doc);
	t->doc = doc;
	t->view = *view;
	t->version = version;
}

/* A metadata-only version: optionally a new current schema, then property
 * changes (either may be NULL). */
static int ice_table_update_meta(ice_table *t, const ice_schema *schema, const json_t *properties,
                                 char *err)
{
	ice_meta_view view;
	ice_schema copy = {0};
	int rc, published = 0;
	if (t->poisoned)
		return errf(err, FLOE_EIO, "table %s: an earlier commit failed midway; reload it",
		            t->dir);
	json_t *doc = NULL;
	if ((rc = ice_meta_next(t, ice_meta_now_ms(t->doc), &doc, err)))
		goto fail;
	if (schema &&
	    ((rc = ice_schema_validate(schema, err)) ||
	     (rc = ice_schema_copy(schema, &copy) ? errf(err, FLOE_ENOMEM, "out of memory") : 0) ||
	     (rc = ice_meta_add_schema(doc, &copy, err))))
		goto fail;
	if ((properties && (rc = ice_meta_update_properties(doc, properties, err))) ||
	    (rc = ice_meta_parse(doc, &view, err)) ||
	    (rc = ice_catalog_publish(t->dir, t->version + 1, doc, &published, err)))
		goto fail;
	ice_table_install(t, t->version + 1, doc, &view);
	if (schema) {
		ice_schema_clear(&t->schema);
		t->schema = copy;
	}
	return 0;
fail:
	if (published)
		t->poisoned = 1;
	ice_schema_clear(&copy);
	json_decref(doc);
	return rc;
}

int32_t ice_table_last_column_id(const ice_table *t)
{
	return (int32_t)json_integer_value(json_object_get(t->doc, "last-column-id"));
}

int ice_table_set_properties(ice_table *t, const json_t *properties, char *err)
{
	return ice_table_update_meta(t, NULL, properties, err);
}

int ice_table_set_schema(ice_table *t, const ice_schema *schema, const json_t *properties,
                         char *err)
{
	return ice_table_update_meta(t, schema, properties, err);
}

int ice_table_read_manifest(const ice_manifest_file *mf, ice_manifest_entry **out, size_t *n,
                            char *err)
{
	char path[ICE_PATH_MAX];
	uint8_t *data = NULL;
	size_t len;
	int rc;
	if ((rc = ice_catalog_local_path(mf->manifest_path, path, err)) ||
	    (rc = fs_read_all(path, &data, &len, err)))
		return rc;
	if ((int64_t)len != mf->manifest_length) {
		rc = errf(err, FLOE_ECORRUPT, "manifest %s has %zu bytes, its list says %lld", path,
		          len, (long long)mf->manifest_length);
		free(data);
		return rc;
	}
	rc = ice_manifest_read(data, len, out, n, err);
	free(data);
	if (rc)
		return rc;
	/* Inheritance (spec "Sequence Number Inheritance" and "First Row ID
	 * Inheritance"); a null sequence number on a non-ADDED entry only comes
	 * from v1 manifests, where it is 0. DELETED entries take no row ids,
	 * as in Java's ManifestReader. */
	int64_t next_row_id = mf->content == ICE_CONTENT_DATA ? mf->first_row_id : -1;
	for (size_t i = 0; i < *n; i++) {
		ice_manifest_entry *e = &(*out)[i];
		int64_t inherited = e->status == ICE_STATUS_ADDED ? mf->sequence_number : 0;
		if (e->snapshot_id < 0)
			e->snapshot_id = mf->added_snapshot_id;
		if (e->sequence_number < 0)
			e->sequence_number = inherited;
		if (e->file_sequence_number < 0)
			e->file_sequence_number = inherited;
		if (e->file.content != ICE_CONTENT_DATA) {
			e->file.first_row_id = -1;
		} else if (e->file.first_row_id < 0 && next_row_id >= 0 &&
		           e->status != ICE_STATUS_DELETED) {
			e->file.first_row_id = next_row_id;
			next_row_id += e->file.record_count;
		}
	}
	return 0;
}

int ice_table_live_files(const ice_table *t, ice_manifest_entry **out, size_t *n, char *err)
{
	ice_manifest_entry *all = NULL, *e = NULL;
	size_t nall = 0, cap = 0, ne = 0;
	int rc = 0;
	for (size_t i = 0; i < t->nmanifests; i++) {
		if ((rc = ice_table_read_manifest(&t->manifests[i], &e, &ne, err)))
			goto fail;
		for (size_t k = 0; k < ne; k++) {
			if (e[k].status == ICE_STATUS_DELETED) {
				ice_data_file_clear(&e[k].file);
				continue;
			}
			if (nall == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				ice_manifest_entry *p = realloc(all, ncap * sizeof *p);
				if (!p) {
					/* Free what is not yet moved into `all`. */
					for (size_t j = k; j < ne; j++)
						ice_data_file_clear(&e[j].file);
					free(e);
					e = NULL;
					rc = errf(err, FLOE_ENOMEM, "out of memory");
					goto fail;
				}
				all = p;
				cap = ncap;
			}
			all[nall++] = e[k]; /* moved: the file's memory now belongs to all */
		}
		free(e);
		e = NULL;
	}
	*out = all;
	*n = nall;
	return 0;
fail:
	ice_manifest_entries_free(all, nall);
	return rc;
}

int ice_table_ensure_live(ice_table *t, char *err)
{
	ice_manifest_entry *e = NULL;
	size_t ne = 0;
	int rc = 0;
	if (t->live)
		return 0;
	ice_live *live = ice_live_new();
	if (!live)
		return errf(err, FLOE_ENOMEM, "out of memory");
	/* Data manifests first, so that each DV finds its data file. */
	for (int content = ICE_CONTENT_DATA; content <= ICE_CONTENT_POSITION_DELETES; content++) {
		for (size_t i = 0; i < t->nmanifests; i++) {
			const ice_manifest_file *mf = &t->manifests[i];
			if (mf->content != content)
				continue;
			if ((rc = ice_table_read_manifest(mf, &e, &ne, err)))
				goto fail;
			for (size_t k = 0; k < ne && rc == 0; k++) {
				const ice_data_file *f = &e[k].file;
				if (e[k].status == ICE_STATUS_DELETED)
					continue;
				rc = ice_live_add(live, f->file_path, f->content,
				                  f->referenced_data_file, t->mids[i], err);
			}
			ice_manifest_entries_free(e, ne);
			e = NULL;
			if (rc == FLOE_EEXIST) {
				/* A file live twice, or two DVs for one data file. */
				char why[ERR_LEN];
				snprintf(why, sizeof why, "%s", err ? err : "");
				rc = errf(err, FLOE_ECORRUPT, "table %s: %s", t->dir, why);
			}
			if (rc)
				goto fail;
		}
	}
	t->live = live;
	return 0;
fail:
	ice_live_free(live);
	return rc;
}
