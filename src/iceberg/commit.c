/*
 * commit — one Iceberg snapshot commit (ice_table_commit, contract in
 * table.h): new manifests, rewritten manifests for removed files, manifest
 * merging, row lineage, the manifest list, the snapshot and its summary.
 *
 * Owns the files it writes for the commit (metadata/<uuid>-m<k>.avro and
 * metadata/snap-<id>-1-<uuid>.avro, names never reused) until the new
 * metadata version is published; on an earlier failure it removes them.
 *
 * The new snapshot's manifest list, in this order:
 *   1. a data manifest of the added data files (ADDED, sequence numbers and
 *      first_row_id null: inherited);
 *   2. a delete manifest of the added DVs (ADDED);
 *   3. per content (data, deletes), one rewritten manifest holding every
 *      live entry of the old manifests that contain a removed file (those
 *      entries DELETED with this snapshot's id, the rest EXISTING), plus,
 *      when the list would hold more than ICE_MANIFEST_MERGE_COUNT manifests
 *      of that content, the entries of the small (< ICE_MANIFEST_TARGET_BYTES)
 *      kept manifests (EXISTING). Rewritten entries carry explicit sequence
 *      numbers, snapshot ids and first_row_id, so no row id changes;
 *   4. the untouched manifests of the parent, in their order (manifests
 *      without live files are dropped).
 * Invariants checked before anything is written (all FLOE_EINVAL):
 *   1. removed paths are live files of the current snapshot, once each; a
 *      removed data file's DV is removed with it;
 *   2. added paths are new and unique; data files are content 0 (PARQUET,
 *      AVRO or ORC), DVs are content 1 PUFFIN with referenced_data_file,
 *      offset, size and a positive cardinality;
 *   3. each DV references a live data file (or one added here) that keeps at
 *      most one DV: an old DV must be removed in the same commit;
 *   4. extra summary keys do not replace the ones computed here.
 * Row lineage (spec "Row Lineage"): first-row-id = the table's next-row-id;
 * each data manifest of the new list without a first_row_id gets a running
 * counter that advances by its rows with a null first_row_id; added-rows = the
 * advance; next-row-id = first-row-id + added-rows.
 * One thread per table. Errors as table.h; after the new metadata may have
 * been published, a failure poisons the table handle instead of rolling back.
 */
#include "base/err.h"
#include "iceberg/crashpoint.h"
#include "iceberg/table_internal.h"
#include "storage/fs.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ICE_KEEP, ICE_REWRITE, ICE_DROP };
enum { ICE_NSIDES = 2 }; /* manifest content: 0 data, 1 deletes */

/* At most: new data, new deletes, and one rewritten manifest per side. */
#define ICE_MAX_NEW_MANIFESTS 4

/* A file the commit removes. */
typedef struct ice_removal {
	char *path; /* owned copy */
	int content;
	uint32_t mid;
} ice_removal;

/* Counts for the snapshot summary. */
typedef struct ice_counts {
	int64_t added_data_files, added_records, added_files_size;
	int64_t added_delete_files, added_dvs, added_position_deletes;
	int64_t deleted_data_files, deleted_records, removed_files_size;
	int64_t removed_delete_files, removed_dvs, removed_position_deletes,
	    removed_equality_deletes;
} ice_counts;

typedef struct ice_plan {
	int64_t snapshot_id, seq, now_ms;
	char uuid[ICE_UUID_LEN];
	ice_removal *removed;
	size_t nremoved;
	const ice_live *gone; /* the removed paths, as a set */
	uint8_t *action;      /* per parent manifest: ICE_KEEP / ICE_REWRITE / ICE_DROP */
	/* The manifests written by this commit and their place in `list`. */
	ice_manifest_file fresh[ICE_MAX_NEW_MANIFESTS];
	int fresh_side[ICE_MAX_NEW_MANIFESTS]; /* content of each */
	/* Rows of fresh[i] whose first_row_id is null (assigned by inheritance):
	 * what the row-id counter must advance by for that manifest. */
	int64_t fresh_inherit[ICE_MAX_NEW_MANIFESTS];
	int nfresh;
	int rewritten[ICE_NSIDES]; /* index into fresh of a side's rewritten manifest, or -1 */
	int added[ICE_NSIDES];     /* index into fresh of a side's added manifest, or -1 */
	/* Entries of the rewritten manifests (kept for the live-set update). */
	ice_manifest_entry *rw[ICE_NSIDES];
	size_t nrw[ICE_NSIDES];
	/* Files written so far (removed again if the commit fails early). */
	char *written[ICE_MAX_NEW_MANIFESTS + 1];
	int nwritten;
	/* The new manifest list. */
	ice_manifest_file *list;
	uint32_t *mids;
	size_t nlist;
	int64_t first_row_id, added_rows;
	char *list_uri;
	ice_counts counts;
} ice_plan;

static void ice_plan_free(ice_plan *p)
{
	for (size_t i = 0; i < p->nremoved; i++)
		free(p->removed[i].path);
	free(p->removed);
	free(p->action);
	for (int i = 0; i < p->nfresh; i++)
		free(p->fresh[i].manifest_path);
	for (int s = 0; s < ICE_NSIDES; s++)
		ice_manifest_entries_free(p->rw[s], p->nrw[s]);
	for (int i = 0; i < p->nwritten; i++)
		free(p->written[i]);
	ice_manifest_files_free(p->list, p->nlist);
	free(p->mids);
	free(p->list_uri);
}

/* Removes the files of a commit that never became visible. Best effort: a
 * file left behind is an orphan no snapshot refers to, never a wrong table. */
static void ice_plan_unlink(ice_plan *p)
{
	for (int i = 0; i < p->nwritten; i++)
		(void)unlink(p->written[i]);
}

/* A summary value: counts[add] - counts[sub] (ICE_NONE: 0). The totals add
 * that delta to the parent's value. */
#define ICE_NONE         SIZE_MAX
#define ICE_COUNT(field) offsetof(ice_counts, field)
typedef struct ice_summary_field {
	const char *key;
	size_t add, sub;
} ice_summary_field;

static const ice_summary_field ice_summary_counts[] = {
    {"added-data-files", ICE_COUNT(added_data_files), ICE_NONE},
    {"added-records", ICE_COUNT(added_records), ICE_NONE},
    {"added-files-size", ICE_COUNT(added_files_size), ICE_NONE},
    {"added-delete-files", ICE_COUNT(added_delete_files), ICE_NONE},
    {"added-dvs", ICE_COUNT(added_dvs), ICE_NONE},
    {"added-position-deletes", ICE_COUNT(added_position_deletes), ICE_NONE},
    {"deleted-data-files", ICE_COUNT(deleted_data_files), ICE_NONE},
    {"deleted-records", ICE_COUNT(deleted_records), ICE_NONE},
    {"removed-files-size", ICE_COUNT(removed_files_size), ICE_NONE},
    {"removed-delete-files", ICE_COUNT(removed_delete_files), ICE_NONE},
    {"removed-dvs", ICE_COUNT(removed_dvs), ICE_NONE},
    {"removed-position-deletes", ICE_COUNT(removed_position_deletes), ICE_NONE},
    {"removed-equality-deletes", ICE_COUNT(removed_equality_deletes), ICE_NONE},
};

static const ice_summary_field ice_summary_totals[] = {
    {"total-data-files", ICE_COUNT(added_data_files), ICE_COUNT(deleted_data_files)},
    {"total-delete-files", ICE_COUNT(added_delete_files), ICE_COUNT(removed_delete_files)},
    {"total-records", ICE_COUNT(added_records), ICE_COUNT(deleted_records)},
    {"total-files-size", ICE_COUNT(added_files_size), ICE_COUNT(removed_files_size)},
    {"total-position-deletes", ICE_COUNT(added_position_deletes),
     ICE_COUNT(removed_position_deletes)},
    {"total-equality-deletes", ICE_NONE, ICE_COUNT(removed_equality_deletes)},
};

#define ICE_NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static int64_t ice_summary_value(const ice_counts *k, const ice_summary_field *f)
{
	int64_t v = 0, x;
	if (f->add != ICE_NONE) {
		memcpy(&x, (const char *)k + f->add, sizeof x);
		v += x;
	}
	if (f->sub != ICE_NONE) {
		memcpy(&x, (const char *)k + f->sub, sizeof x);
		v -= x;
	}
	return v;
}

/* Is key one of those the table computes? */
static int ice_summary_reserved(const char *key)
{
	if (strcmp(key, "operation") == 0)
		return 1;
	for (size_t i = 0; i < ICE_NELEMS(ice_summary_counts); i++)
		if (strcmp(key, ice_summary_counts[i].key) == 0)
			return 1;
	for (size_t i = 0; i < ICE_NELEMS(ice_summary_totals); i++)
		if (strcmp(key, ice_summary_totals[i].key) == 0)
			return 1;
	return 0;
}

static int ice_check_file(const ice_data_file *f, int dv, char *err)
{
	const char *what = dv ? "deletion vector" : "data file";
	if (!f->file_path || !f->file_path[0])
		return errf(err, FLOE_EINVAL, "%s without file_path", what);
	if (f->record_count < 0 || f->file_size_in_bytes < 0)
		return errf(err, FLOE_EINVAL, "%s %s: negative record_count or file_size_in_bytes",
		            what, f->file_path);
	if (!dv) {
		if (f->content != ICE_CONTENT_DATA || !f->file_format ||
		    (strcmp(f->file_format, "PARQUET") && strcmp(f->file_format, "AVRO") &&
		     strcmp(f->file_format, "ORC")))
			return errf(err, FLOE_EINVAL,
			            "data file %s: needs content 0 and format PARQUET, AVRO or ORC",
			            f->file_path);
		if (f->referenced_data_file)
			return errf(err, FLOE_EINVAL, "data file %s has a referenced_data_file",
			            f->file_path);
		return 0;
	}
	/* v3 tables take deletion vectors only, never new v2 position deletes. */
	if (f->content != ICE_CONTENT_POSITION_DELETES || !f->file_format ||
	    strcmp(f->file_format, "PUFFIN") != 0)
		return errf(err, FLOE_EINVAL,
		            "deletion vector %s: needs content 1 and format PUFFIN", f->file_path);
	if (!f->referenced_data_file || f->content_offset < 0 || f->content_size_in_bytes <= 0)
		return errf(err, FLOE_EINVAL,
		            "deletion vector %s: needs referenced_data_file, content_offset and "
		            "content_size_in_bytes",
		            f->file_path);
	if (f->record_count == 0)
		return errf(err, FLOE_EINVAL, "deletion vector %s: cardinality 0", f->file_path);
	return 0;
}

static const char *ice_default_operation(const ice_commit *c)
{
	int adds = c->nadded_data > 0;
	int dels = c->nadded_deletes > 0 || c->nremoved > 0;
	return adds && dels ? "overwrite" : dels ? "delete" : "append";
}

/* Checks what needs no table state (invariants 2 and 4, shapes). */
static int ice_check_commit(const ice_commit *c, char *err)
{
	int rc;
	if ((c->nadded_data && !c->added_data) || (c->nadded_deletes && !c->added_deletes) ||
	    (c->nremoved && !c->removed_paths) || (c->nsummary && !c->summary))
		return errf(err, FLOE_EINVAL, "commit: a count is set without its array");
	for (size_t i = 0; i < c->nadded_data; i++)
		if ((rc = ice_check_file(&c->added_data[i], 0, err)))
			return rc;
	for (size_t i = 0; i < c->nadded_deletes; i++)
		if ((rc = ice_check_file(&c->added_deletes[i], 1, err)))
			return rc;
	for (size_t i = 0; i < c->nremoved; i++)
		if (!c->removed_paths[i])
			return errf(err, FLOE_EINVAL, "commit: removed path %zu is NULL", i);
	for (size_t i = 0; i < c->nsummary; i++) {
		const ice_kv *kv = &c->summary[i];
		if (!kv->key || !kv->value)
			return errf(err, FLOE_EINVAL,
			            "commit: summary entry %zu has no key or value", i);
		if (ice_summary_reserved(kv->key))
			return errf(err, FLOE_EINVAL,
			            "commit: summary key '%s' is computed by the table", kv->key);
	}
	if (c->operation) {
		static const char *const ops[] = {"append", "replace", "overwrite", "delete"};
		size_t k = 0;
		while (k < ICE_NELEMS(ops) && strcmp(c->operation, ops[k]) != 0)
			k++;
		if (k == ICE_NELEMS(ops))
			return errf(err, FLOE_EINVAL, "commit: unknown operation '%s'",
			            c->operation);
		if (k == 0 && (c->nadded_deletes || c->nremoved))
			return errf(err, FLOE_EINVAL,
			            "commit: an append cannot add deletes or remove files");
	}
	return 0;
}

static int ice_plan_add_removal(ice_plan *p, const ice_live_file *lf, char *err)
{
	ice_removal *r = &p->removed[p->nremoved];
	if (!(r->path = strdup(lf->path)))
		return errf(err, FLOE_ENOMEM, "out of memory");
	r->content = lf->content;
	r->mid = lf->mid;
	p->nremoved++;
	return 0;
}

/*
 * Invariants 1-3 against the live set. `gone` collects removed paths,
 * `fresh` added paths and `refs` the data files that get a new DV; all three
 * are scratch sets freed by the caller.
 */
static int ice_resolve(ice_table *t, const ice_commit *c, ice_plan *p, ice_live *gone,
                       ice_live *fresh, ice_live *refs, char *err)
{
	int rc;
	/* Room for every explicit removal plus one auto-removed DV each. */
	if (c->nremoved && !(p->removed = calloc(2 * c->nremoved, sizeof *p->removed)))
		return errf(err, FLOE_ENOMEM, "out of memory");
	for (size_t i = 0; i < c->nremoved; i++) {
		const char *path = c->removed_paths[i];
		const ice_live_file *lf = ice_live_get(t->live, path);
		if (!lf)
			return errf(err, FLOE_EINVAL, "cannot remove %s: not a live file of %s",
			            path, t->dir);
		rc = ice_live_add(gone, path, lf->content, NULL, lf->mid, err);
		if (rc == FLOE_EEXIST)
			return errf(err, FLOE_EINVAL, "%s is removed twice", path);
		if (rc || (rc = ice_plan_add_removal(p, lf, err)))
			return rc;
	}
	/* A removed data file takes its DV along (a DV must not outlive it). */
	for (size_t i = 0; i < c->nremoved; i++) {
		const ice_live_file *lf = ice_live_get(t->live, c->removed_paths[i]);
		if (lf->content != ICE_CONTENT_DATA || !lf->dv || ice_live_get(gone, lf->dv))
			continue;
		const ice_live_file *dv = ice_live_get(t->live, lf->dv);
		if (!dv)
			return errf(err, FLOE_ECORRUPT, "table %s: DV %s of %s is not live", t->dir,
			            lf->dv, lf->path);
		if ((rc = ice_live_add(gone, dv->path, dv->content, NULL, dv->mid, err)) ||
		    (rc = ice_plan_add_removal(p, dv, err)))
			return rc;
	}
	for (size_t i = 0; i < c->nadded_data + c->nadded_deletes; i++) {
		int is_dv = i >= c->nadded_data;
		const ice_data_file *f =
		    is_dv ? &c->added_deletes[i - c->nadded_data] : &c->added_data[i];
		if (ice_live_get(t->live, f->file_path))
			return errf(err, FLOE_EINVAL, "cannot add %s: it is already in %s",
			            f->file_path, t->dir);
		rc = ice_live_add(fresh, f->file_path, f->content, NULL, 0, err);
		if (rc == FLOE_EEXIST)
			return errf(err, FLOE_EINVAL, "%s is added twice", f->file_path);
		if (rc)
			return rc;
		if (!is_dv)
			continue;
		const char *ref = f->referenced_data_file;
		const ice_live_file *data = ice_live_get(t->live, ref);
		const ice_live_file *added = ice_live_get(fresh, ref);
		int live_data =
		    data && data->content == ICE_CONTENT_DATA && !ice_live_get(gone, ref);
		if (!live_data && !(added && added->content == ICE_CONTENT_DATA))
			return errf(
			    err, FLOE_EINVAL,
			    "deletion vector %s references %s, which is not a live data file",
			    f->file_path, ref);
		if (live_data && data->dv && !ice_live_get(gone, data->dv))
			return errf(err, FLOE_EINVAL,
			            "data file %s already has deletion vector %s: remove it in the "
			            "same commit as the new one %s",
			            ref, data->dv, f->file_path);
		rc = ice_live_add(refs, ref, ICE_CONTENT_DATA, NULL, 0, err);
		if (rc == FLOE_EEXIST)
			return errf(err, FLOE_EINVAL, "two new deletion vectors for %s", ref);
		if (rc)
			return rc;
	}
	return 0;
}

static int ice_side_of(int file_content)
{
	return file_content == ICE_CONTENT_DATA ? 0 : 1;
}

/* Chooses, per parent manifest, keep / rewrite / drop (see the header). */
static int ice_plan_actions(const ice_table *t, const ice_commit *c, ice_plan *p, char *err)
{
	if (t->nmanifests && !(p->action = calloc(t->nmanifests, 1)))
		return errf(err, FLOE_ENOMEM, "out of memory");
	for (size_t i = 0; i < t->nmanifests; i++) {
		const ice_manifest_file *m = &t->manifests[i];
		p->action[i] =
		    m->added_files_count + m->existing_files_count == 0 ? ICE_DROP : ICE_KEEP;
	}
	for (size_t r = 0; r < p->nremoved; r++)
		for (size_t i = 0; i < t->nmanifests; i++)
			if (t->mids[i] == p->removed[r].mid)
				p->action[i] = ICE_REWRITE;
	for (int side = 0; side < ICE_NSIDES; side++) {
		size_t nadded = side == 0 ? c->nadded_data : c->nadded_deletes;
		size_t kept = 0, small = 0;
		int rewrite = 0;
		for (size_t i = 0; i < t->nmanifests; i++) {
			if (t->manifests[i].content != side)
				continue;
			rewrite |= p->action[i] == ICE_REWRITE;
			if (p->action[i] == ICE_KEEP) {
				kept++;
				small +=
				    t->manifests[i].manifest_length < ICE_MANIFEST_TARGET_BYTES;
			}
		}
		size_t count = (nadded > 0) + (size_t)rewrite + kept;
		/* Merging gains only if it folds at least two manifests into one. */
		if (count <= ICE_MANIFEST_MERGE_COUNT || small + (size_t)rewrite < 2)
			continue;
		for (size_t i = 0; i < t->nmanifests; i++)
			if (t->manifests[i].content == side && p->action[i] == ICE_KEEP &&
			    t->manifests[i].manifest_length < ICE_MANIFEST_TARGET_BYTES)
				p->action[i] = ICE_REWRITE;
	}
	return 0;
}

/* Fills the manifest_file record of a manifest this commit writes. */
static void ice_describe_manifest(const ice_plan *p, int side, const ice_manifest_entry *e,
                                  size_t n, ice_manifest_file *mf)
{
	int64_t min_seq = -1;
	mf->partition_spec_id = 0;
	mf->content = side;
	mf->sequence_number = p->seq;
	mf->added_snapshot_id = p->snapshot_id;
	mf->first_row_id = -1;
	for (size_t i = 0; i < n; i++) {
		int64_t rows = e[i].file.record_count;
		switch (e[i].status) {
		case ICE_STATUS_ADDED:
			mf->added_files_count++;
			mf->added_rows_count += rows;
			break;
		case ICE_STATUS_EXISTING:
			mf->existing_files_count++;
			mf->existing_rows_count += rows;
			break;
		default:
			mf->deleted_files_count++;
			mf->deleted_rows_count += rows;
			continue; /* deleted entries do not count for min_sequence_number */
		}
		int64_t seq = e[i].sequence_number < 0 ? p->seq : e[i].sequence_number;
		if (min_seq < 0 || seq < min_seq)
			min_seq = seq;
	}
	mf->min_sequence_number = min_seq < 0 ? p->seq : min_seq;
}

/* Writes one manifest of this commit and records it in p->fresh. */
static int ice_write_manifest(const ice_table *t, ice_plan *p, int side,
                              const ice_manifest_entry *e, size_t n, char *err)
{
	char name[96], path[ICE_PATH_MAX];
	buf b = {0};
	int rc;
	ice_manifest_file *mf = &p->fresh[p->nfresh];
	memset(mf, 0, sizeof *mf);
	snprintf(name, sizeof name, "%s-m%d.avro", p->uuid, p->nfresh);
	if ((rc = ice_catalog_path(path, t->dir, name, err)) ||
	    (rc = ice_manifest_write(&b, &t->schema, side, e, n, err)))
		goto fail;
	if (!buf_ok(&b)) {
		rc = errf(err, FLOE_ENOMEM, "out of memory writing manifest %s", name);
		goto fail;
	}
	if (!(p->written[p->nwritten] = strdup(path)) ||
	    asprintf(&mf->manifest_path, "%s/metadata/%s", t->location, name) < 0) {
		mf->manifest_path = NULL;
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = fs_put_new(path, b.data, b.len, err)))
		goto fail;
	p->nwritten++;
	mf->manifest_length = (int64_t)b.len;
	ice_describe_manifest(p, side, e, n, mf);
	p->fresh_inherit[p->nfresh] = 0;
	for (size_t i = 0; i < n; i++)
		if (side == ICE_CONTENT_DATA && e[i].file.first_row_id < 0)
			p->fresh_inherit[p->nfresh] += e[i].file.record_count;
	p->fresh_side[p->nfresh++] = side;
	buf_release(&b);
	return 0;
fail:
	free(p->written[p->nwritten]);
	p->written[p->nwritten] = NULL;
	free(mf->manifest_path);
	mf->manifest_path = NULL;
	buf_release(&b);
	return rc;
}

/* The manifest of added files of one side: ADDED, everything inherited. */
static int ice_write_added(const ice_table *t, ice_plan *p, int side, const ice_data_file *files,
                           size_t n, char *err)
{
	p->added[side] = -1;
	if (n == 0)
		return 0;
	ice_manifest_entry *e = calloc(n, sizeof *e);
	if (!e)
		return errf(err, FLOE_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		e[i].status = ICE_STATUS_ADDED;
		e[i].snapshot_id = p->snapshot_id;
		e[i].sequence_number = -1;
		e[i].file_sequence_number = -1;
		e[i].file = files[i];        /* borrowed for the write */
		e[i].file.first_row_id = -1; /* new rows get their ids by inheritance */
	}
	int idx = p->nfresh;
	int rc = ice_write_manifest(t, p, side, e, n, err);
	free(e);
	if (rc == 0)
		p->added[side] = idx;
	return rc;
}

static void ice_count_removed(ice_counts *k, const ice_data_file *f)
{
	k->removed_files_size += f->file_size_in_bytes;
	if (f->content == ICE_CONTENT_DATA) {
		k->deleted_data_files++;
		k->deleted_records += f->record_count;
		return;
	}
	k->removed_delete_files++;
	if (f->content == ICE_CONTENT_EQUALITY_DELETES) {
		k->removed_equality_deletes += f->record_count;
		return;
	}
	k->removed_position_deletes += f->record_count;
	if (f->referenced_data_file && f->file_format && strcmp(f->file_format, "PUFFIN") == 0)
		k->removed_dvs++;
}

/* Appends the entries of `src` (taken over) to p->rw[side]: live ones as
 * EXISTING or, when removed, DELETED by this snapshot. */
static int ice_take_entries(ice_plan *p, int side, ice_manifest_entry *src, size_t n, size_t *found,
                            char *err)
{
	ice_manifest_entry *all = realloc(p->rw[side], (p->nrw[side] + n) * sizeof *all);
	if (!all && p->nrw[side] + n > 0) {
		ice_manifest_entries_free(src, n);
		return errf(err, FLOE_ENOMEM, "out of memory");
	}
	p->rw[side] = all;
	for (size_t i = 0; i < n; i++) {
		ice_manifest_entry *e = &src[i];
		if (e->status == ICE_STATUS_DELETED) {
			/* Deleted by an earlier snapshot: gone from this one. */
			ice_data_file_clear(&e->file);
			continue;
		}
		if (ice_live_get(p->gone, e->file.file_path)) {
			e->status = ICE_STATUS_DELETED;
			e->snapshot_id = p->snapshot_id;
			ice_count_removed(&p->counts, &e->file);
			(*found)++;
		} else {
			e->status = ICE_STATUS_EXISTING;
		}
		p->rw[side][p->nrw[side]++] = *e; /* moved */
	}
	free(src);
	return 0;
}

/* The rewritten manifest of one side (see the header), if it has any. */
static int ice_write_rewritten(const ice_table *t, ice_plan *p, int side, char *err)
{
	size_t found = 0, expected = 0;
	int rc;
	p->rewritten[side] = -1;
	for (size_t i = 0; i < p->nremoved; i++)
		expected += ice_side_of(p->removed[i].content) == side;
	for (size_t i = 0; i < t->nmanifests; i++) {
		if (t->manifests[i].content != side || p->action[i] != ICE_REWRITE)
			continue;
		ice_manifest_entry *e = NULL;
		size_t n = 0;
		if ((rc = ice_table_read_manifest(&t->manifests[i], &e, &n, err)) ||
		    (rc = ice_take_entries(p, side, e, n, &found, err)))
			return rc;
	}
	if (found != expected)
		return errf(err, FLOE_ECORRUPT,
		            "table %s: %zu of %zu removed files found in their manifests", t->dir,
		            found, expected);
	if (p->nrw[side] == 0)
		return 0;
	int idx = p->nfresh;
	if ((rc = ice_write_manifest(t, p, side, p->rw[side], p->nrw[side], err)))
		return rc;
	p->rewritten[side] = idx;
	return 0;
}

/* The new manifest list (new manifests first, then the kept ones) with row
 * ids assigned, written to its file. */
static int ice_write_list(ice_table *t, ice_plan *p, char *err)
{
	char name[128], path[ICE_PATH_MAX];
	buf b = {0};
	int rc;
	size_t cap = (size_t)p->nfresh + t->nmanifests;
	if (cap && (!(p->list = calloc(cap, sizeof *p->list)) ||
	            !(p->mids = calloc(cap, sizeof *p->mids)))) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	uint32_t next_mid = t->next_mid;
	for (int i = 0; i < p->nfresh; i++) {
		p->list[p->nlist] = p->fresh[i];
		if (!(p->list[p->nlist].manifest_path = strdup(p->fresh[i].manifest_path))) {
			rc = errf(err, FLOE_ENOMEM, "out of memory");
			goto fail;
		}
		p->mids[p->nlist++] = ++next_mid;
	}
	for (size_t i = 0; i < t->nmanifests; i++) {
		if (p->action[i] != ICE_KEEP)
			continue;
		p->list[p->nlist] = t->manifests[i];
		if (!(p->list[p->nlist].manifest_path = strdup(t->manifests[i].manifest_path))) {
			rc = errf(err, FLOE_ENOMEM, "out of memory");
			goto fail;
		}
		p->mids[p->nlist++] = t->mids[i];
	}
	/* Row lineage: a running counter from the table's next-row-id. It
	 * advances by the rows that get their first_row_id by inheritance
	 * (spec "First Row ID Assignment": exact, not the added + existing
	 * estimate), so next-row-id grows by exactly the rows added: rewritten
	 * manifests carry explicit first_row_ids and use up no ids. Only the
	 * fresh manifests (the first nfresh of the list) lack a first_row_id. */
	p->first_row_id = t->view.next_row_id;
	int64_t next = p->first_row_id;
	for (size_t i = 0; i < p->nlist; i++) {
		ice_manifest_file *m = &p->list[i];
		if (m->content != ICE_CONTENT_DATA || m->first_row_id >= 0)
			continue;
		m->first_row_id = next;
		next += (int)i < p->nfresh ? p->fresh_inherit[i]
					   : m->added_rows_count + m->existing_rows_count;
	}
	p->added_rows = next - p->first_row_id;
	snprintf(name, sizeof name, "snap-%" PRId64 "-1-%s.avro", p->snapshot_id, p->uuid);
	if ((rc = ice_catalog_path(path, t->dir, name, err)) ||
	    (rc = ice_manifest_list_write(&b, p->snapshot_id, t->view.snapshot_id, p->seq,
	                                  p->first_row_id, p->list, p->nlist, err)))
		goto fail;
	if (!buf_ok(&b)) {
		rc = errf(err, FLOE_ENOMEM, "out of memory writing manifest list");
		goto fail;
	}
	if (!(p->written[p->nwritten] = strdup(path)) ||
	    asprintf(&p->list_uri, "%s/metadata/%s", t->location, name) < 0) {
		p->list_uri = NULL;
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = fs_put_new(path, b.data, b.len, err)))
		goto fail;
	p->nwritten++;
	buf_release(&b);
	return 0;
fail:
	free(p->written[p->nwritten]);
	p->written[p->nwritten] = NULL;
	buf_release(&b);
	return rc;
}

/* The parent's value of a total, or -1 when it has none to carry. */
static int64_t ice_parent_total(const ice_table *t, const char *key)
{
	if (!t->view.snapshot)
		return 0;
	const char *s = ice_table_summary(t, key);
	if (!s)
		return -1;
	char *end;
	long long v = strtoll(s, &end, 10);
	return end == s || *end || v < 0 ? -1 : v;
}

static int ice_summary_set(json_t *o, const char *key, int64_t v)
{
	char s[32];
	snprintf(s, sizeof s, "%" PRId64, v);
	return json_object_set_new(o, key, json_string(s));
}

/* The snapshot summary: operation, this commit's counts, totals carried
 * from the parent (omitted when the parent has none) and the caller's keys. */
static json_t *ice_build_summary(const ice_table *t, const ice_commit *c, const ice_plan *p)
{
	json_t *o = json_object();
	const char *op = c->operation ? c->operation : ice_default_operation(c);
	if (!o || json_object_set_new(o, "operation", json_string(op)))
		goto fail;
	for (size_t i = 0; i < ICE_NELEMS(ice_summary_counts); i++) {
		const ice_summary_field *f = &ice_summary_counts[i];
		if (ice_summary_set(o, f->key, ice_summary_value(&p->counts, f)))
			goto fail;
	}
	for (size_t i = 0; i < ICE_NELEMS(ice_summary_totals); i++) {
		const ice_summary_field *f = &ice_summary_totals[i];
		int64_t parent = ice_parent_total(t, f->key);
		if (parent >= 0 &&
		    ice_summary_set(o, f->key, parent + ice_summary_value(&p->counts, f)))
			goto fail;
	}
	for (size_t i = 0; i < c->nsummary; i++)
		if (json_object_set_new(o, c->summary[i].key, json_string(c->summary[i].value)))
			goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static void ice_count_added(ice_counts *k, const ice_commit *c)
{
	for (size_t i = 0; i < c->nadded_data; i++) {
		k->added_data_files++;
		k->added_records += c->added_data[i].record_count;
		k->added_files_size += c->added_data[i].file_size_in_bytes;
	}
	for (size_t i = 0; i < c->nadded_deletes; i++) {
		k->added_delete_files++;
		k->added_dvs++;
		k->added_position_deletes += c->added_deletes[i].record_count;
		k->added_files_size += c->added_deletes[i].file_size_in_bytes;
	}
}

/* Brings t->live up to the committed snapshot. It is a cache: if an update
 * fails, drop it and let the next commit rebuild it from the manifests. */
static void ice_update_live(ice_table *t, const ice_commit *c, const ice_plan *p)
{
	int rc = 0;
	for (size_t i = 0; i < p->nremoved; i++)
		ice_live_remove(t->live, p->removed[i].path);
	for (int side = 0; side < ICE_NSIDES; side++) {
		if (p->rewritten[side] < 0)
			continue;
		for (size_t i = 0; i < p->nrw[side]; i++) {
			ice_live_file *lf = ice_live_get(t->live, p->rw[side][i].file.file_path);
			if (p->rw[side][i].status != ICE_STATUS_DELETED && lf)
				lf->mid = p->mids[p->rewritten[side]];
		}
	}
	for (size_t i = 0; i < c->nadded_data && rc == 0; i++)
		rc = ice_live_add(t->live, c->added_data[i].file_path, ICE_CONTENT_DATA, NULL,
		                  p->mids[p->added[0]], NULL);
	for (size_t i = 0; i < c->nadded_deletes && rc == 0; i++)
		rc = ice_live_add(
		    t->live, c->added_deletes[i].file_path, ICE_CONTENT_POSITION_DELETES,
		    c->added_deletes[i].referenced_data_file, p->mids[p->added[1]], NULL);
	if (rc) {
		ice_live_free(t->live);
		t->live = NULL;
	}
}

int ice_table_commit(ice_table *t, const ice_commit *c, int64_t *snapshot_id_out, char *err)
{
	ice_plan p = {.rewritten = {-1, -1}, .added = {-1, -1}};
	ice_live *gone = NULL, *fresh = NULL, *refs = NULL;
	json_t *doc = NULL;
	ice_meta_view view;
	int rc, published = 0;
	if (t->poisoned)
		return errf(err, FLOE_EIO, "table %s: an earlier commit failed midway; reload it",
		            t->dir);
	if ((rc = ice_check_commit(c, err)) || (rc = ice_table_ensure_live(t, err)))
		return rc;
	if (!(gone = ice_live_new()) || !(fresh = ice_live_new()) || !(refs = ice_live_new())) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	p.gone = gone;
	if ((rc = ice_resolve(t, c, &p, gone, fresh, refs, err)) ||
	    (rc = ice_plan_actions(t, c, &p, err)) ||
	    (rc = ice_meta_new_snapshot_id(t->doc, &p.snapshot_id, err)) ||
	    (rc = ice_meta_new_uuid(p.uuid, err)))
		goto fail;
	p.seq = t->view.seq + 1;
	p.now_ms = ice_meta_now_ms(t->doc);
	ice_count_added(&p.counts, c);

	/* 1. Manifests, then the manifest list, each fsynced; then metadata/
	 * so their names survive a crash before the metadata points at them. */
	if ((rc = ice_write_added(t, &p, 0, c->added_data, c->nadded_data, err)) ||
	    (rc = ice_write_added(t, &p, 1, c->added_deletes, c->nadded_deletes, err)) ||
	    (rc = ice_write_rewritten(t, &p, 0, err)) || (rc = ice_write_rewritten(t, &p, 1, err)))
		goto fail;
	ice_crash_point("ice_after_manifests");
	char mdir[ICE_PATH_MAX];
	if ((rc = ice_write_list(t, &p, err)) || (rc = ice_catalog_path(mdir, t->dir, "", err)) ||
	    (rc = fs_fsync_dir(mdir, err)))
		goto fail;
	ice_crash_point("ice_after_manifest_list");

	/* 2-3. The next metadata version, published atomically. */
	ice_meta_snapshot snap = {
	    .snapshot_id = p.snapshot_id,
	    .parent_id = t->view.snapshot_id,
	    .seq = p.seq,
	    .timestamp_ms = p.now_ms,
	    .first_row_id = p.first_row_id,
	    .added_rows = p.added_rows,
	    .schema_id = t->schema.schema_id,
	    .manifest_list = p.list_uri,
	    .summary = ice_build_summary(t, c, &p),
	};
	if ((rc = ice_meta_next(t, p.now_ms, &doc, err))) {
		json_decref(snap.summary);
		goto fail;
	}
	if ((rc = ice_meta_add_snapshot(doc, &snap, err)) ||
	    (rc = ice_meta_parse(doc, &view, err)) ||
	    (rc = ice_catalog_publish(t->dir, t->version + 1, doc, &published, err)))
		goto fail;

	/* Visible: the table now describes the new snapshot. */
	ice_table_install(t, t->version + 1, doc, &view);
	doc = NULL;
	ice_manifest_files_free(t->manifests, t->nmanifests);
	free(t->mids);
	t->manifests = p.list;
	t->mids = p.mids;
	t->nmanifests = p.nlist;
	for (size_t i = 0; i < p.nlist; i++)
		if (p.mids[i] > t->next_mid)
			t->next_mid = p.mids[i];
	p.list = NULL;
	p.nlist = 0;
	ice_update_live(t, c, &p);
	p.mids = NULL;
	if (snapshot_id_out)
		*snapshot_id_out = p.snapshot_id;
	rc = 0;
fail:
	if (rc) {
		if (published)
			t->poisoned = 1;
		else
			ice_plan_unlink(&p);
	}
	json_decref(doc);
	ice_live_free(gone);
	ice_live_free(fresh);
	ice_live_free(refs);
	ice_plan_free(&p);
	return rc;
}
