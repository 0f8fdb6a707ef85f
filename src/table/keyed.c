/*
 * keyed — tables with a primary key (table_internal.h).
 *
 * The index maps each key to where its live row is: a row in memory (by a
 * memory ordinal, see pending.first_ord) or (data file id, position). A
 * request is applied in two passes:
 *   1. validate every row in order against the index and a request-local
 *      map (so a request sees its own earlier rows): insert of a present key
 *      is FLOE_EEXIST, update of an absent key FLOE_ENOTFOUND; nothing is
 *      changed and nothing logged when any row fails;
 *   2. log the request in the WAL (not when replaying it), then apply each
 *      key's last row: the old row it replaces or deletes is killed (a memory
 *      row is marked dead and never reaches Parquet; a file row joins the
 *      file's pending DV), and the surviving rows join memory as one batch.
 * Row lineage: a killed file row's _row_id (the file's explicit one, else
 * first_row_id + position) travels with the new version of the row; a new
 * row has none (-1) until a commit gives its file a first_row_id.
 * Replay applies the same logged requests to the same state, so it reaches
 * the same outcome (the WAL only holds requests that passed validation).
 *
 * Sidecars (outside the Iceberg table, in <wal dir>/index/): per data file,
 * <name>.fidx (its rows' keys, index.h) and <name>.rid (explicit row ids,
 * flush.c); a restart rebuilds the index from them and the live DVs.
 * Full-row identity (no key): the index is a multimap from the whole row to
 * its copies; insert adds a copy, delete takes one (the newest) if there is
 * one; upsert and update have no meaning without a key and are refused.
 * Writer thread only (and table_start before the writer runs).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32c.h"
#include "base/err.h"
#include "base/log.h"
#include "format/puffin.h"
#include "storage/fs.h"
#include "table/batch_codec.h"
#include "table/rowfetch.h"
#include "table/value.h"
#include "table/table_internal.h"

/* Request-local states (pass 1 and 2): a row index, or these markers. */
#define LOCAL_DELETED (UINT64_C(1) << 62)
#define LOCAL_DONE    (UINT64_C(1) << 61)

int keyed_sidecar_path(const floe_table *t, const char *uri, const char *suffix, char *out,
                       size_t cap, char *err)
{
	const char *base = strrchr(uri, '/');
	return fs_pathf(out, cap, err, "%s/%s%s", t->sidecar_dir, base ? base + 1 : uri, suffix);
}

pending *keyed_find_mem(floe_table *t, uint64_t ord, size_t *row)
{
	size_t lo = 0, hi = t->nmem_arr;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		pending *p = t->mem_arr[mid];
		if (ord < p->first_ord)
			hi = mid;
		else if (ord >= p->first_ord + p->rows->nrows)
			lo = mid + 1;
		else {
			*row = (size_t)(ord - p->first_ord);
			return p;
		}
	}
	return NULL;
}

static int grow_files(floe_table *t, char *err)
{
	if (t->nfiles < t->capfiles)
		return 0;
	size_t cap = t->capfiles ? t->capfiles * 2 : 16;
	file_state *f = realloc(t->files, cap * sizeof *f);
	if (!f)
		return errf(err, FLOE_ENOMEM, "out of memory");
	t->files = f;
	t->capfiles = cap;
	return 0;
}

int keyed_add_file(floe_table *t, const char *uri, int64_t record_count, int64_t first_row_id,
                   int64_t *row_ids, uint32_t *file_id, char *err)
{
	if (t->nfiles > INDEX_FILE_ID_MAX)
		return errf(err, FLOE_ETOOBIG, "table %s: too many data files for the index",
		            t->name);
	int rc = grow_files(t, err);
	if (rc)
		return rc;
	file_state *f = &t->files[t->nfiles];
	memset(f, 0, sizeof *f);
	if (!(f->uri = strdup(uri)))
		return errf(err, FLOE_ENOMEM, "out of memory");
	f->record_count = record_count;
	f->first_row_id = first_row_id;
	f->row_ids = row_ids;
	f->live = 1;
	*file_id = (uint32_t)t->nfiles++;
	return 0;
}

void keyed_free(floe_table *t)
{
	for (size_t i = 0; i < t->nfiles; i++) {
		free(t->files[i].uri);
		free(t->files[i].row_ids);
		dv_free(t->files[i].deleted);
		dv_free(t->files[i].pending);
		free(t->files[i].dv_uri);
	}
	free(t->files);
	free(t->mem_arr);
	free(t->sidecar_dir);
	index_free(t->ix);
	pq_reader_close(t->fetch_reader);
}

int keyed_rollback(floe_table *t, char *err)
{
	table_drop_mem(t);
	table_discard_staged(t);
	t->truncate_pending = 0;
	t->deletes_pending = 0;
	if (t->ident == IDENT_APPEND)
		return 0;
	/* The index and the file states hold what the transaction did: build
	 * them again from the snapshot, as a start does. */
	keyed_free(t);
	t->files = NULL;
	t->nfiles = t->capfiles = 0;
	t->mem_arr = NULL;
	t->nmem_arr = t->capmem_arr = 0;
	t->sidecar_dir = NULL;
	t->ix = NULL;
	t->fetch_reader = NULL;
	t->fetch_file = 0;
	return keyed_open(t, err);
}

const char *table_local_path(const char *uri)
{
	return strncmp(uri, "file://", 7) == 0 ? uri + 7 : uri;
}

/* Loads a .rid sidecar (see flush.c for its layout); *out NULL if absent. */
static int load_row_ids(const char *path, int64_t expect, int64_t **out, char *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	*out = NULL;
	int rc = fs_read_all(path, &data, &len, err);
	if (rc == FLOE_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (len < 20 || memcmp(data, "FLOERID\x01", 8) != 0 ||
	    get_le64(data + 8) != (uint64_t)expect || len != 20 + 8 * (size_t)expect ||
	    crc32c(0, data, len - 4) != get_le32(data + len - 4)) {
		free(data);
		return errf(err, FLOE_ECORRUPT, "%s: damaged row-id list", path);
	}
	int64_t *ids = malloc((expect ? (size_t)expect : 1) * sizeof *ids);
	if (!ids) {
		free(data);
		return errf(err, FLOE_ENOMEM, "out of memory");
	}
	for (int64_t i = 0; i < expect; i++)
		ids[i] = (int64_t)get_le64(data + 16 + 8 * (size_t)i);
	free(data);
	*out = ids;
	return 0;
}

/* Reads the DV of a delete-file entry (its Puffin blob at content_offset). */
static int load_dv(const ice_data_file *e, dv **out, char *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	puffin_file *pf = NULL;
	const char *path = table_local_path(e->file_path);
	int rc = fs_read_all(path, &data, &len, err);
	if (rc == 0)
		rc = puffin_open(data, len, &pf, err);
	if (rc)
		goto out;
	rc = errf(err, FLOE_ECORRUPT, "%s: no blob at offset %" PRId64, path, e->content_offset);
	for (size_t i = 0; i < puffin_blob_count(pf); i++) {
		if ((int64_t)puffin_blob_at(pf, i)->offset == e->content_offset) {
			rc = puffin_read_dv(pf, i, out, err);
			break;
		}
	}
out:
	puffin_close(pf);
	free(data);
	return rc;
}

static int is_deleted(void *arg, uint64_t pos)
{
	const file_state *f = arg;
	return f->deleted && dv_contains(f->deleted, pos);
}

/* Rebuilds file states and the index from the current snapshot. */
static int rebuild(floe_table *t, char *err)
{
	ice_manifest_entry *e = NULL;
	size_t n = 0;
	char side[4096];
	int rc = ice_table_live_files(t->ice, &e, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const ice_data_file *d = &e[i].file;
		if (d->content != ICE_CONTENT_DATA)
			continue;
		int64_t *ids = NULL;
		uint32_t id;
		if ((rc = keyed_sidecar_path(t, d->file_path, ".rid", side, sizeof side, err)) ||
		    (rc = load_row_ids(side, d->record_count, &ids, err)))
			break;
		if ((rc = keyed_add_file(t, d->file_path, d->record_count, d->first_row_id, ids,
		                         &id, err)))
			free(ids);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const ice_data_file *d = &e[i].file;
		if (d->content != ICE_CONTENT_POSITION_DELETES || !d->referenced_data_file)
			continue;
		for (size_t k = 0; k < t->nfiles; k++) {
			file_state *f = &t->files[k];
			if (strcmp(f->uri, d->referenced_data_file) != 0)
				continue;
			if ((rc = load_dv(d, &f->deleted, err)))
				break;
			if (!(f->dv_uri = strdup(d->file_path)))
				rc = errf(err, FLOE_ENOMEM, "out of memory");
			break;
		}
	}
	/* One allocation for every key instead of a doubling per growth (the
	 * rehashes cost as much as the loading). */
	size_t live_rows = 0;
	for (size_t k = 0; k < t->nfiles; k++)
		live_rows +=
		    (size_t)t->files[k].record_count -
		    (t->files[k].deleted ? (size_t)dv_cardinality(t->files[k].deleted) : 0);
	if (rc == 0 && live_rows && index_reserve(t->ix, live_rows))
		rc = errf(err, FLOE_ENOMEM, "out of memory for %zu keys", live_rows);
	for (size_t k = 0; k < t->nfiles && rc == 0; k++) {
		uint64_t rows = 0;
		if ((rc = keyed_sidecar_path(t, t->files[k].uri, ".fidx", side, sizeof side, err)))
			break;
		rc =
		    index_load_file(t->ix, side, (uint32_t)k, is_deleted, &t->files[k], &rows, err);
		if (rc == 0 && (int64_t)rows != t->files[k].record_count)
			rc = errf(err, FLOE_ECORRUPT,
			          "%s lists %" PRIu64 " rows, the data file has %" PRId64, side,
			          rows, t->files[k].record_count);
	}
	ice_manifest_entries_free(e, n);
	return rc;
}

int keyed_open(floe_table *t, char *err)
{
	const json_t *props = ice_table_properties(t->ice);
	const char *ident = json_string_value(json_object_get(props, "floe.identity"));
	const char *keys = json_string_value(json_object_get(props, "floe.primary_key"));
	json_t *arr = NULL;
	int rc = 0;
	t->ident = IDENT_APPEND;
	if (ident && !strcmp(ident, "full-row")) {
		t->ident = IDENT_FULL_ROW;
		if ((rc = index_keydesc_init_fullrow(&t->kd, &t->schema, err)) ||
		    (rc = index_new(&t->kd, &t->ix)))
			goto out;
		goto sidecars;
	}
	if (!ident || strcmp(ident, "primary-key") != 0)
		return 0;
	json_error_t jerr;
	arr = keys ? json_loads(keys, 0, &jerr) : NULL;
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > INDEX_MAX_KEY_COLS) {
		rc = errf(err, FLOE_ECORRUPT, "table %s: property floe.primary_key is damaged",
		          t->name);
		goto out;
	}
	t->nkey = 0;
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const char *name = json_string_value(json_array_get(arr, i));
		int c = name ? floe_schema_find(&t->schema, name, strlen(name)) : -1;
		if (c < 0) {
			rc =
			    errf(err, FLOE_ECORRUPT, "table %s: key column %s is not in the schema",
			         t->name, name ? name : "?");
			goto out;
		}
		t->key_cols[t->nkey++] = c;
	}
	t->ident = IDENT_PRIMARY_KEY;
	if ((rc = index_keydesc_init(&t->kd, &t->schema, t->key_cols, t->nkey, err)) ||
	    (rc = index_new(&t->kd, &t->ix)))
		goto out;
sidecars:;
	size_t n = strlen(t->wal_dir) + 8;
	if (!(t->sidecar_dir = malloc(n))) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto out;
	}
	snprintf(t->sidecar_dir, n, "%s/index", t->wal_dir);
	if ((rc = fs_mkdirs(t->sidecar_dir, err)))
		goto out;
	rc = rebuild(t, err);
out:
	json_decref(arr);
	return rc;
}

/* Appends the text a user sent for one key value (the forms ingest accepts). */
static void describe_value(const floe_column *fc, const batch_col *col, size_t r, buf *s)
{
	const uint8_t *v = col->values.data + r * (size_t)col->width;
	char text[128];
	int64_t i64 = 0;
	int32_t i32 = 0;
	if (col->kind == BC_I64)
		memcpy(&i64, v, 8);
	if (col->kind == BC_I32)
		memcpy(&i32, v, 4);
	switch (fc->type) {
	case FT_BOOLEAN:
		buf_append_str(s, v[0] ? "true" : "false");
		return;
	case FT_INT16:
	case FT_INT32:
		buf_printf(s, "%d", i32);
		return;
	case FT_INT64:
		buf_printf(s, "%" PRId64, i64);
		return;
	case FT_DATE32:
		value_format_date(i32, text, sizeof text);
		buf_printf(s, "'%s'", text);
		return;
	case FT_TIMESTAMP:
	case FT_TIMESTAMPTZ:
		value_format_timestamp(i64, fc->type == FT_TIMESTAMPTZ, text, sizeof text);
		buf_printf(s, "'%s'", text);
		return;
	case FT_TIME:
		value_format_time(i64, text, sizeof text);
		buf_printf(s, "'%s'", text);
		return;
	case FT_DECIMAL: {
		__int128 u = col->kind == BC_I32   ? i32
		             : col->kind == BC_I64 ? i64
		                                   : value_decimal_from_be(v, col->width);
		value_format_decimal(u, fc->scale, text, sizeof text);
		buf_append_str(s, text);
		return;
	}
	case FT_UUID:
		buf_printf(s,
		           "'%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x'",
		           v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11],
		           v[12], v[13], v[14], v[15]);
		return;
	default: {
		const uint64_t *off = (const uint64_t *)(const void *)col->offsets.data;
		size_t len = off[r + 1] - off[r];
		const uint8_t *p = col->bytes.data + off[r];
		if (fc->type == FT_STRING) {
			buf_printf(s, "'%.*s%s'", (int)(len > 64 ? 64 : len), (const char *)p,
			           len > 64 ? "..." : "");
			return;
		}
		buf_append_str(s, "0x");
		for (size_t k = 0; k < len && k < 32; k++)
			buf_printf(s, "%02x", p[k]);
	}
	}
}

/* Renders the key of row r ("id=5, region='eu'") for messages. */
static void describe_key(const floe_table *t, const batch *b, size_t r, char *out, size_t cap)
{
	buf s = {0};
	for (int i = 0; i < t->nkey; i++) {
		int c = t->key_cols[i];
		buf_printf(&s, "%s%s=", i ? ", " : "", t->schema.cols[c].name);
		describe_value(&t->schema.cols[c], &b->cols[c], r, &s);
	}
	snprintf(out, cap, "%.*s", (int)(s.len < cap ? s.len : cap - 1),
	         s.data ? (char *)s.data : "");
	buf_release(&s);
}

/* Kills the row at loc (it is replaced or deleted); returns its _row_id, or
 * -1 for a row that never reached a committed file. */
static int64_t kill_row(floe_table *t, uint64_t loc, char *err, int *rc)
{
	*rc = 0;
	if (index_loc_is_mem(loc)) {
		size_t row;
		pending *p = keyed_find_mem(t, index_loc_mem_ordinal(loc), &row);
		if (!p) {
			*rc = errf(err, FLOE_ECORRUPT, "index points at a missing memory row");
			return -1;
		}
		if (!p->dead && !(p->dead = calloc(p->rows->nrows, 1))) {
			*rc = errf(err, FLOE_ENOMEM, "out of memory");
			return -1;
		}
		if (!p->dead[row]) {
			p->dead[row] = 1;
			p->ndead++;
		}
		return p->row_ids ? p->row_ids[row] : -1;
	}
	uint32_t id = index_loc_file_id(loc);
	uint64_t pos = index_loc_pos(loc);
	if (id >= t->nfiles) {
		*rc = errf(err, FLOE_ECORRUPT, "index points at a missing data file");
		return -1;
	}
	file_state *f = &t->files[id];
	if ((!f->pending && dv_new(&f->pending)) || dv_add(f->pending, pos)) {
		*rc = errf(err, FLOE_ENOMEM, "out of memory");
		return -1;
	}
	t->deletes_pending++;
	if (f->row_ids && f->row_ids[pos] >= 0)
		return f->row_ids[pos];
	return f->first_row_id >= 0 ? f->first_row_id + (int64_t)pos : -1;
}

static int check_key_present(const floe_table *t, const batch *b, size_t r, char *err)
{
	for (int i = 0; i < t->nkey; i++) {
		int c = t->key_cols[i];
		if (!b->cols[c].valid.data[r])
			return errf(err, FLOE_EINVAL, "data[%zu].%s: missing value for key column",
			            r, t->schema.cols[c].name);
	}
	return 0;
}

/* Pass 1. Fills `local` with each key's last row (or LOCAL_DELETED). */
static int validate(floe_table *t, request *req, index_map *local, buf *key, char *err)
{
	const batch *b = req->rows;
	char desc[256];
	for (size_t r = 0; r < b->nrows; r++) {
		uint64_t lv, gv;
		int rc;
		if ((rc = check_key_present(t, b, r, err)) ||
		    (rc = index_key_encode(&t->kd, b, r, key, err)) ||
		    (rc = index_lookup(local, key->data, key->len, &lv)))
			return rc;
		int present;
		if (lv != INDEX_LOC_NONE) {
			present = lv != LOCAL_DELETED;
		} else {
			if ((rc = index_lookup(t->ix, key->data, key->len, &gv)))
				return rc;
			present = gv != INDEX_LOC_NONE;
		}
		uint64_t state = r;
		if (req->op == TABLE_OP_INSERT && present) {
			describe_key(t, b, r, desc, sizeof desc);
			return errf(err, FLOE_EEXIST, "data[%zu]: key (%s) already exists", r,
			            desc);
		}
		if (req->op == TABLE_OP_UPDATE && !present) {
			describe_key(t, b, r, desc, sizeof desc);
			return errf(err, FLOE_ENOTFOUND, "data[%zu]: key (%s) does not exist", r,
			            desc);
		}
		if (req->op == TABLE_OP_DELETE) {
			req->deleted += present;
			state = LOCAL_DELETED;
		}
		if ((rc = index_put(local, key->data, key->len, state, NULL)))
			return errf(err, rc, "out of memory");
	}
	return 0;
}

static int add_mem_batch(floe_table *t, pending *p, char *err)
{
	if (t->nmem_arr == t->capmem_arr) {
		size_t cap = t->capmem_arr ? t->capmem_arr * 2 : 64;
		pending **a = realloc(t->mem_arr, cap * sizeof *a);
		if (!a)
			return errf(err, FLOE_ENOMEM, "out of memory");
		t->mem_arr = a;
		t->capmem_arr = cap;
	}
	t->mem_arr[t->nmem_arr++] = p;
	if (!t->mem_since_ns)
		t->mem_since_ns = mono_ns();
	if (t->mem_tail)
		t->mem_tail->next = p;
	else
		t->mem = p;
	t->mem_tail = p;
	t->mem_rows += p->rows->nrows;
	t->mem_bytes += p->bytes;
	t->next_ord += p->rows->nrows;
	return 0;
}

/* Pass 2: apply each key's final row. Failures here (out of memory) leave
 * the table's memory state half-changed, so they poison the table. */
static int apply(floe_table *t, request *req, index_map *local, buf *key, char *err)
{
	batch *b = req->rows;
	batch *kept = NULL;
	pending *p = calloc(1, sizeof *p);
	int64_t *row_ids = malloc((b->nrows ? b->nrows : 1) * sizeof *row_ids);
	int any_row_id = 0, all_kept = 1, rc = 0;
	size_t nkept = 0;
	if (!p || !row_ids)
		goto oom;
	for (size_t r = 0; r < b->nrows && all_kept; r++) {
		uint64_t lv;
		if ((rc = index_key_encode(&t->kd, b, r, key, err)) ||
		    (rc = index_lookup(local, key->data, key->len, &lv)))
			goto fail;
		all_kept = lv == r;
	}
	if (!all_kept && (!(kept = calloc(1, sizeof *kept)) || batch_init(kept, &t->schema)))
		goto oom;
	for (size_t r = 0; r < b->nrows; r++) {
		uint64_t lv, old;
		if ((rc = index_key_encode(&t->kd, b, r, key, err)) ||
		    (rc = index_lookup(local, key->data, key->len, &lv)))
			goto fail;
		if (lv == LOCAL_DONE || (lv != LOCAL_DELETED && lv != r))
			continue; /* handled, or superseded by a later row */
		if (lv == LOCAL_DELETED) {
			index_remove(t->ix, key->data, key->len, &old);
			if (old != INDEX_LOC_NONE)
				kill_row(t, old, err, &rc);
		} else {
			int64_t rid = -1;
			if ((rc = index_lookup(t->ix, key->data, key->len, &old)))
				goto fail;
			if (old != INDEX_LOC_NONE)
				rid = kill_row(t, old, err, &rc);
			if (rc)
				goto fail;
			if (kept && batch_append_row(kept, b, r))
				goto oom;
			row_ids[nkept] = rid;
			any_row_id |= rid >= 0;
			if ((rc = index_put(t->ix, key->data, key->len,
			                    index_loc_mem(t->next_ord + nkept), NULL)))
				goto oom;
			nkept++;
		}
		if (rc || (rc = index_put(local, key->data, key->len, LOCAL_DONE, NULL)))
			goto fail;
	}
	if (nkept == 0) {
		free(p);
		free(row_ids);
		if (kept) {
			batch_clear(kept);
			free(kept);
		}
		return 0;
	}
	p->rows = kept ? kept : b;
	req->taken = kept == NULL;
	p->lsn = (int64_t)req->lsn;
	p->bytes = batch_mem_bytes(p->rows);
	p->first_ord = t->next_ord;
	p->row_ids = any_row_id ? row_ids : NULL;
	if (!any_row_id)
		free(row_ids);
	return add_mem_batch(t, p, err);
oom:
	rc = errf(err, FLOE_ENOMEM, "out of memory");
fail:
	free(p);
	free(row_ids);
	if (kept) {
		batch_clear(kept);
		free(kept);
	}
	return rc;
}

/* Every row must encode (a row over INDEX_KEY_MAX bytes cannot be a
 * full-row key): checked before the request is logged. */
static int validate_full_row(floe_table *t, const request *req, buf *key, char *err)
{
	for (size_t r = 0; r < req->rows->nrows; r++) {
		char inner[ERR_LEN];
		int rc = index_key_encode(&t->kd, req->rows, r, key, inner);
		if (rc == FLOE_ETOOBIG)
			return errf(
			    err, FLOE_EINVAL,
			    "data[%zu]: the row is too large to be its own identity (%s); give "
			    "the table a primary key",
			    r, inner);
		if (rc)
			return errf(err, rc, "%s", inner);
	}
	return 0;
}

/* Full-row tables: insert adds one copy of each row, delete takes one copy
 * of each row that has one. Nothing can fail for the data's sake. */
static int apply_full_row(floe_table *t, request *req, buf *key, char *err)
{
	batch *b = req->rows;
	int rc = 0;
	for (size_t r = 0; r < b->nrows; r++) {
		if ((rc = index_key_encode(&t->kd, b, r, key, err)))
			return rc;
		if (req->op == TABLE_OP_INSERT) {
			if ((rc = index_multi_add(t->ix, key->data, key->len,
			                          index_loc_mem(t->next_ord + r))))
				return errf(err, rc, "out of memory");
			continue;
		}
		uint64_t loc;
		if ((rc = index_multi_take(t->ix, key->data, key->len, &loc)))
			return rc;
		if (loc != INDEX_LOC_NONE) {
			kill_row(t, loc, err, &rc);
			if (rc)
				return rc;
			req->deleted++;
		}
	}
	if (req->op != TABLE_OP_INSERT || b->nrows == 0)
		return 0;
	pending *p = calloc(1, sizeof *p);
	if (!p)
		return errf(err, FLOE_ENOMEM, "out of memory");
	p->rows = b;
	req->taken = 1;
	p->lsn = (int64_t)req->lsn;
	p->bytes = batch_mem_bytes(b);
	p->first_ord = t->next_ord;
	return add_mem_batch(t, p, err);
}

/* Source-driven TRUNCATE: every row so far goes. Rows in memory die, every
 * data file leaves at the next commit (flush.c plan_truncate), the index
 * starts empty. */
static int apply_truncate(floe_table *t, char *err)
{
	for (pending *p = t->mem; p; p = p->next) {
		if (!p->dead && !(p->dead = calloc(p->rows->nrows ? p->rows->nrows : 1, 1)))
			return errf(err, FLOE_ENOMEM, "out of memory");
		memset(p->dead, 1, p->rows->nrows);
		p->ndead = p->rows->nrows;
	}
	for (size_t i = 0; i < t->nfiles; i++) {
		file_state *f = &t->files[i];
		dv_free(f->pending);
		f->pending = NULL;
		f->live = 0;
	}
	t->deletes_pending = 0;
	if (t->ix) {
		index_map *fresh;
		if (index_new(&t->kd, &fresh))
			return errf(err, FLOE_ENOMEM, "out of memory");
		index_free(t->ix);
		t->ix = fresh;
	}
	table_discard_staged(t); /* rows written earlier in this transaction */
	t->truncate_pending = 1;
	return 0;
}

/* Append-only tables fed by a source: the rows join memory as they are. */
static int apply_append(floe_table *t, request *req, char *err)
{
	if (req->op != TABLE_OP_INSERT)
		return errf(err, FLOE_EINVAL,
		            "operation: '%s' is not allowed: table '%s' is append-only",
		            table_op_name(req->op), t->name);
	if (req->rows->nrows == 0)
		return 0;
	pending *p = calloc(1, sizeof *p);
	if (!p)
		return errf(err, FLOE_ENOMEM, "out of memory");
	p->rows = req->rows;
	req->taken = 1;
	p->lsn = (int64_t)req->lsn;
	p->bytes = batch_mem_bytes(req->rows);
	p->first_ord = t->next_ord;
	return add_mem_batch(t, p, err);
}

/* The current values of the live row at loc into row 0 of *old (shaped
 * like the table): from memory, or from its data file (rowfetch.h). */
static int fetch_row(floe_table *t, uint64_t loc, batch *old, char *err)
{
	if (index_loc_is_mem(loc)) {
		size_t row;
		pending *p = keyed_find_mem(t, index_loc_mem_ordinal(loc), &row);
		if (!p)
			return errf(err, FLOE_ECORRUPT, "index points at a missing memory row");
		return batch_append_row(old, p->rows, row) ? errf(err, FLOE_ENOMEM, "out of memory")
		                                           : 0;
	}
	uint32_t id = index_loc_file_id(loc);
	if (id >= t->nfiles)
		return errf(err, FLOE_ECORRUPT, "index points at a missing data file");
	const char *uri = t->files[id].uri;
	const char *path = table_local_path(uri);
	if (!t->fetch_reader || t->fetch_file != id) {
		pq_reader_close(t->fetch_reader);
		t->fetch_reader = NULL;
		int rc = pq_reader_open(path, &t->fetch_reader, err);
		if (rc)
			return rc;
		t->fetch_file = id;
	}
	return rowfetch_append_row(t->fetch_reader, (int64_t)index_loc_pos(loc), &t->schema, old,
	                           err);
}

/* Rows with unchanged values (table_source_apply) get them from the current
 * row of their key: *out is a new batch with every row complete. A key with
 * no current row cannot keep a value: that is an error, never a null. */
static int merge_unchanged(floe_table *t, request *req, buf *key, batch **out, char *err)
{
	const batch *b = req->rows;
	size_t ncols = (size_t)t->schema.ncols;
	batch *merged = calloc(1, sizeof *merged), old = {0};
	int rc = 0;
	if (!merged || batch_init(merged, &t->schema) || batch_init(&old, &t->schema)) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t r = 0; r < b->nrows; r++) {
		const uint8_t *mask = req->unchanged + r * ncols;
		int any = 0;
		for (size_t c = 0; c < ncols; c++)
			any |= mask[c];
		if (!any) {
			if (batch_append_row(merged, b, r)) {
				rc = errf(err, FLOE_ENOMEM, "out of memory");
				goto fail;
			}
			continue;
		}
		uint64_t loc;
		const batch *kb = req->lookup ? req->lookup : b;
		if ((rc = index_key_encode(&t->kd, kb, r, key, err)) ||
		    (rc = index_lookup(t->ix, key->data, key->len, &loc)))
			goto fail;
		if (loc == INDEX_LOC_NONE) {
			char desc[256];
			describe_key(t, kb, r, desc, sizeof desc);
			rc = errf(
			    err, FLOE_ENOTFOUND,
			    "table %s: key (%s) has unchanged values but no current row to take "
			    "them from",
			    t->name, desc);
			goto fail;
		}
		batch_reset(&old);
		if ((rc = fetch_row(t, loc, &old, err)))
			goto fail;
		if (batch_append_row_merged(merged, b, r, &old, 0, mask)) {
			rc = errf(err, FLOE_ENOMEM, "out of memory");
			goto fail;
		}
	}
	batch_clear(&old);
	*out = merged;
	return 0;
fail:
	batch_clear(&old);
	if (merged)
		batch_clear(merged);
	free(merged);
	return rc;
}

/* Source-driven upserts: nothing to validate (the source's log is the
 * truth), so one index operation per row: the new row's location goes in and
 * the row it replaces, if any, dies. The batch joins memory first, so a key
 * repeated within the request kills its earlier row there. */
static int apply_source_upsert(floe_table *t, request *req, buf *key, char *err)
{
	batch *b = req->rows, *merged = NULL;
	int rc;
	if (req->unchanged && (rc = merge_unchanged(t, req, key, &merged, err)))
		return rc;
	if (merged)
		b = merged;
	pending *p = calloc(1, sizeof *p);
	if (!p) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	p->rows = b;
	p->lsn = (int64_t)req->lsn;
	p->bytes = batch_mem_bytes(b);
	p->first_ord = t->next_ord;
	if ((rc = add_mem_batch(t, p, err))) {
		free(p);
		goto fail;
	}
	req->taken = merged == NULL; /* else the caller frees the original */
	merged = NULL;
	/* Every key first (one index_keys_append), then one index_put_many,
	 * which prefetches each key's slot a few keys ahead so the cache misses
	 * of a large index overlap. */
	buf keys = {0};
	size_t *offs = malloc((b->nrows + 1) * sizeof *offs);
	uint64_t *locs = malloc((b->nrows ? b->nrows : 1) * sizeof *locs);
	uint64_t *olds = malloc((b->nrows ? b->nrows : 1) * sizeof *olds);
	if (!offs || !locs || !olds) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto out;
	}
	offs[0] = 0;
	size_t nk;
	for (size_t r = 0; r < b->nrows; r++) {
		if ((rc = check_key_present(t, b, r, err)))
			goto out;
		locs[r] = index_loc_mem(p->first_ord + r);
	}
	if ((rc = index_keys_append(&t->kd, b, 0, b->nrows, NULL, &keys, offs + 1, &nk, err)))
		goto out;
	if ((rc = index_put_many(t->ix, keys.data, offs, b->nrows, locs, olds))) {
		rc = errf(err, rc, "out of memory");
		goto out;
	}
	/* The rows replaced die, in row order (a key repeated in the request
	 * kills its earlier row, whose row id passes on). */
	for (size_t r = 0; r < b->nrows; r++) {
		if (olds[r] == INDEX_LOC_NONE)
			continue;
		int64_t rid = kill_row(t, olds[r], err, &rc);
		if (rc)
			goto out;
		if (rid < 0)
			continue;
		if (!p->row_ids) {
			if (!(p->row_ids = malloc(b->nrows * sizeof *p->row_ids))) {
				rc = errf(err, FLOE_ENOMEM, "out of memory");
				goto out;
			}
			for (size_t k = 0; k < b->nrows; k++)
				p->row_ids[k] = -1;
		}
		p->row_ids[r] = rid;
	}
out:
	buf_release(&keys);
	free(offs);
	free(locs);
	free(olds);
	return rc;
fail:
	if (merged) {
		batch_clear(merged);
		free(merged);
	}
	return rc;
}

/* The requests of a source-driven table: no WAL (the source keeps the log);
 * a failure to apply leaves memory half-changed, so it poisons the table. */
static void source_apply(floe_table *t, request *req)
{
	int rc;
	req->lsn = (uint64_t)++t->source_seq;
	if (req->op == TABLE_OP_RESERVE) {
		if (t->ix && index_reserve(t->ix, req->reserve_rows))
			log_warn("table %s: cannot reserve the index for %zu keys", t->name,
			         req->reserve_rows);
		t->applied_lsn = (int64_t)req->lsn;
		return;
	}
	if (req->op == TABLE_OP_ALTER) {
		/* A refused change (a type that cannot widen) leaves the table as it
		 * was: the source stops, nothing is poisoned. */
		req->rc = evolve_apply(t, req->new_schema, req->lookup, req->err);
		t->applied_lsn = (int64_t)req->lsn;
		return;
	}
	if (req->op == TABLE_OP_LOAD) {
		/* A refused load (a key already there) changes nothing. */
		if ((req->rc = table_load_stage(t, req->load, req->err)) == 0) {
			atomic_fetch_add(&t->rows_ingested, (uint64_t)req->load->res.num_rows);
			atomic_fetch_add(&t->batches, 1);
		}
		t->applied_lsn = (int64_t)req->lsn;
		return;
	}
	if (req->op == TABLE_OP_ROLLBACK) {
		/* A failed rebuild leaves no usable index: poisoned. */
		if ((req->rc = keyed_rollback(t, req->err)))
			t->wal_poisoned = 1;
		t->applied_lsn = (int64_t)req->lsn;
		return;
	}
	if (req->op == TABLE_OP_TRUNCATE)
		rc = apply_truncate(t, req->err);
	else if (t->ident == IDENT_APPEND)
		rc = apply_append(t, req, req->err);
	else if (t->ident == IDENT_PRIMARY_KEY && req->op == TABLE_OP_UPSERT) {
		buf key = {0};
		rc = apply_source_upsert(t, req, &key, req->err);
		buf_release(&key);
	} else
		return keyed_apply(t, req, 1);
	if (rc) {
		t->wal_poisoned = 1;
		req->rc = rc;
		return;
	}
	t->applied_lsn = (int64_t)req->lsn;
	if (req->rows) {
		atomic_fetch_add(&t->rows_ingested, req->rows->nrows);
		atomic_fetch_add(&t->batches, 1);
	}
}

void keyed_apply(floe_table *t, request *req, int replay)
{
	index_map *local = NULL;
	buf key = {0}, rec = {0};
	req->rc = 0;
	req->deleted = 0;
	req->taken = 0;
	if (t->cfg.source_driven && !replay)
		return source_apply(t, req);
	if (t->ident == IDENT_PRIMARY_KEY &&
	    (index_new(&t->kd, &local) || index_reserve(local, req->rows->nrows))) {
		req->rc = errf(req->err, FLOE_ENOMEM, "out of memory");
		goto out;
	}
	if (t->ident == IDENT_FULL_ROW && req->op != TABLE_OP_INSERT &&
	    req->op != TABLE_OP_DELETE) {
		req->rc = errf(req->err, FLOE_EINVAL,
		               "operation: '%s' needs a primary key; table '%s' has none (full-row "
		               "identity: insert and delete only)",
		               table_op_name(req->op), t->name);
		goto out;
	}
	if (t->ident == IDENT_PRIMARY_KEY && (req->rc = validate(t, req, local, &key, req->err)))
		goto out;
	if (t->ident == IDENT_FULL_ROW && (req->rc = validate_full_row(t, req, &key, req->err)))
		goto out;
	if (!replay) {
		uint64_t lsn;
		if (batch_encode(req->rows, &rec)) {
			req->rc = errf(req->err, FLOE_ENOMEM, "out of memory");
			goto out;
		}
		if ((req->rc = wal_append(t->wal, (uint8_t)req->op, rec.data, rec.len, NULL, 0,
		                          &lsn, req->err)))
			goto out;
		req->lsn = lsn;
	}
	int rc = t->ident == IDENT_FULL_ROW ? apply_full_row(t, req, &key, req->err)
	                                    : apply(t, req, local, &key, req->err);
	if (rc) {
		/* The request is logged but half-applied in memory: only a restart
		 * (replaying the WAL) rebuilds a consistent state. */
		t->wal_poisoned = 1;
		req->rc = rc;
		goto out;
	}
	t->applied_lsn = (int64_t)req->lsn;
	atomic_fetch_add(&t->rows_ingested, req->rows->nrows);
	atomic_fetch_add(&t->batches, 1);
out:
	index_free(local);
	buf_release(&key);
	buf_release(&rec);
}
