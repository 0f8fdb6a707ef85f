/*
 * flush — one commit of a table: the rows in memory become one Parquet data
 * file, the positions deleted since the last commit become deletion vectors
 * (one Puffin file per data file, replacing its previous DV), and both land
 * in one Iceberg snapshot that records the WAL position it covers (floe.lsn).
 *
 * Order (each durable before the next; a crash anywhere leaves only orphans,
 * which table open removes):
 *   1. the data file (fsync, directory fsync); for a keyed table its key list
 *      (.fidx) and, if rows kept their row ids, the row-id list (.rid), both
 *      outside the table directory;
 *   2. the Puffin files of the new DVs;
 *   3. the Iceberg commit (src/iceberg/README.md);
 *   4. only then the state in memory: index locations, file states.
 * Row lineage: rows carried over by an update keep their _row_id, written
 * explicitly in a `_row_id` column (field 2147483540) beside an all-null
 * `_last_updated_sequence_number` (2147483539), so they inherit the new
 * commit's sequence number; files of new rows only have neither column
 * (readers derive the ids). A data file whose rows are all deleted is removed
 * from the table instead of getting a DV.
 *
 * Staging (source-driven tables, table_stage_mem): a transaction larger than
 * memory is written out in the middle as staged data files — step 1 only,
 * no snapshot, so readers never see part of it. The index points into them
 * like into any file; deletes of their rows become pending DVs. The next
 * commit adds them, in the order written, before its own file (row ids are
 * assigned in that order); a staged file every row of which is gone by then
 * is not added but removed from disk. A crash leaves them as orphans.
 *
 * Loads (table_source_load, a source's initial copy): the caller's thread
 * writes its rows as a data file and key list (table_load_write: the same
 * writing as a commit's, so any number of loads encode in parallel), and the
 * writer then only stages it and adds its keys to the index from the key
 * list (table_load_stage). Everything else here is writer thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/log.h"
#include "format/puffin.h"
#include "iceberg/bounds.h"
#include "iceberg/crashpoint.h"
#include "storage/fs.h"
#include "table/table_internal.h"

typedef struct fd_sink {
	int fd;
	const char *path;
	buf pending; /* coalesces small footer writes */
} fd_sink;

static int fd_sink_write(void *ctx, const void *data, size_t n, char *err)
{
	fd_sink *s = ctx;
	if (s->pending.len + n < (1u << 20)) {
		buf_append(&s->pending, data, n);
		return buf_ok(&s->pending) ? 0 : errf(err, FLOE_ENOMEM, "out of memory");
	}
	int rc = fs_write_all(s->fd, s->pending.data, s->pending.len, s->path, err);
	buf_reset(&s->pending);
	if (rc)
		return rc;
	return fs_write_all(s->fd, data, n, s->path, err);
}

static int fd_sink_flush(fd_sink *s, char *err)
{
	int rc = fs_write_all(s->fd, s->pending.data, s->pending.len, s->path, err);
	buf_reset(&s->pending);
	return rc;
}

/* Fills the manifest metrics of one data file from the Parquet writer's results. */
static int data_file_from_result(floe_table *t, const char *path, const pq_file_result *r,
                                 ice_data_file *df, char *err)
{
	const ice_schema *is = ice_table_schema(t->ice);
	buf lower = {0}, upper = {0};
	int rc = 0;
	memset(df, 0, sizeof *df);
	df->content = ICE_CONTENT_DATA;
	df->sort_order_id = -1;
	df->first_row_id = -1;
	df->content_offset = -1;
	df->content_size_in_bytes = -1;
	size_t plen = strlen(path) + 8;
	df->file_path = malloc(plen);
	df->file_format = strdup("PARQUET");
	df->cols = calloc((size_t)r->ncols, sizeof *df->cols);
	df->split_offsets = calloc((size_t)(r->nrow_groups ? r->nrow_groups : 1), sizeof(int64_t));
	if (!df->file_path || !df->file_format || !df->cols || !df->split_offsets) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(df->file_path, plen, "file://%s", path);
	df->record_count = r->num_rows;
	df->file_size_in_bytes = r->file_size;
	df->nsplit_offsets = r->nrow_groups;
	memcpy(df->split_offsets, r->row_group_offsets, (size_t)r->nrow_groups * sizeof(int64_t));
	for (int i = 0; i < r->ncols; i++) {
		const pq_column_result *c = &r->cols[i];
		/* A list's metrics are its element's (coltype_leaf_field_id):
		 * ice_schema_find does not find that id, so it gets counts and
		 * no bounds. */
		int32_t field_id = i < t->schema.ncols ? coltype_leaf_field_id(&t->schema.cols[i])
		                   : i == t->schema.ncols ? ICE_ROW_ID_FIELD_ID
		                                          : ICE_LAST_UPDATED_SEQ_FIELD_ID;
		const ice_field *f = ice_schema_find(is, field_id);
		ice_col_metrics *m = &df->cols[df->ncols++];
		m->field_id = field_id;
		m->column_size = c->compressed_bytes;
		m->value_count = c->num_values;
		m->null_count = c->null_count;
		m->nan_count =
		    (f && (f->type == ICE_FLOAT || f->type == ICE_DOUBLE)) ? c->nan_count : -1;
		if (!f || !c->has_min_max)
			continue;
		int has_upper = 1;
		buf_reset(&lower);
		buf_reset(&upper);
		if ((rc = ice_bounds_from_parquet(f, c->min, c->min_len, c->max, c->max_len, &lower,
		                                  &upper, &has_upper, err)))
			goto fail;
		m->lower = malloc(lower.len ? lower.len : 1);
		if (!m->lower) {
			rc = errf(err, FLOE_ENOMEM, "out of memory");
			goto fail;
		}
		if (lower.len) /* an empty string is a valid bound */
			memcpy(m->lower, lower.data, lower.len);
		m->lower_len = lower.len;
		if (has_upper) {
			m->upper = malloc(upper.len ? upper.len : 1);
			if (!m->upper) {
				rc = errf(err, FLOE_ENOMEM, "out of memory");
				goto fail;
			}
			if (upper.len)
				memcpy(m->upper, upper.data, upper.len);
			m->upper_len = upper.len;
		}
	}
	buf_release(&lower);
	buf_release(&upper);
	return 0;
fail:
	buf_release(&lower);
	buf_release(&upper);
	ice_data_file_clear(df);
	return rc;
}

/* The live rows of one pending batch, ready for the Parquet writer: the batch
 * itself when nothing in it died, else a compacted copy. */
typedef struct live_rows {
	const batch *b;
	batch copy;
	int copied;
	int64_t *row_ids; /* per written row, -1 = none; NULL if the batch has none */
	uint8_t *rid_valid;
} live_rows;

static void live_rows_clear(live_rows *l)
{
	if (l->copied)
		batch_clear(&l->copy);
	free(l->row_ids);
	free(l->rid_valid);
	memset(l, 0, sizeof *l);
}

static int live_rows_make(floe_table *t, const pending *p, live_rows *l, char *err)
{
	memset(l, 0, sizeof *l);
	l->b = p->rows;
	size_t n = p->rows->nrows - p->ndead;
	if (p->ndead > 0) {
		if (batch_init(&l->copy, &t->schema) || batch_reserve(&l->copy, n))
			return errf(err, FLOE_ENOMEM, "out of memory");
		l->copied = 1;
		for (size_t r = 0; r < p->rows->nrows; r++)
			if (!p->dead[r] && batch_append_row(&l->copy, p->rows, r))
				return errf(err, FLOE_ENOMEM, "out of memory");
		l->b = &l->copy;
	}
	if (p->row_ids) {
		l->row_ids = malloc((n ? n : 1) * sizeof *l->row_ids);
		l->rid_valid = malloc(n ? n : 1);
		if (!l->row_ids || !l->rid_valid)
			return errf(err, FLOE_ENOMEM, "out of memory");
		size_t w = 0;
		for (size_t r = 0; r < p->rows->nrows; r++) {
			if (p->dead && p->dead[r])
				continue;
			l->row_ids[w] = p->row_ids[r];
			l->rid_valid[w] = p->row_ids[r] >= 0;
			w++;
		}
	}
	return 0;
}

/* Counts the live rows of a pending list and whether any keeps an explicit
 * row id. */
static size_t live_rows_in(const pending *list, int *any_row_ids)
{
	size_t n = 0;
	*any_row_ids = 0;
	for (const pending *p = list; p; p = p->next) {
		n += p->rows->nrows - p->ndead;
		for (size_t r = 0; p->row_ids && r < p->rows->nrows && !*any_row_ids; r++)
			*any_row_ids = p->row_ids[r] >= 0 && !(p->dead && p->dead[r]);
	}
	return n;
}

/* Output of writing the data file. */
typedef struct written {
	pq_file_result res;
	int64_t *file_row_ids; /* explicit row id per position (-1 none), or NULL */
	index_fidx fidx;
	int fidx_open;
} written;

static void written_clear(written *w)
{
	pq_file_result_free(&w->res);
	free(w->file_row_ids);
	if (w->fidx_open)
		index_fidx_abandon(&w->fidx);
	memset(w, 0, sizeof *w);
}

/* Writes the live rows of a pending list (t->mem, or a load's batches) as
 * one Parquet file at `path` (fsynced), encoded on `threads` threads. Keyed
 * tables also collect each row's key in w->fidx. Reads only what is fixed
 * while the schema is (any thread, see table_load_write). */
static int write_data_file(floe_table *t, const pending *list, const char *path, int with_row_ids,
                           size_t nlive, int threads, written *w, char *err)
{
	pq_column_spec *specs = NULL;
	pq_column_data *cols = NULL;
	pq_writer *pw = NULL;
	live_rows l = {0};
	fd_sink sink = {.fd = -1, .path = path};
	int n = t->schema.ncols, ncols = n + (with_row_ids ? 2 : 0), rc = 0;
	size_t pos = 0;
	specs = calloc((size_t)ncols, sizeof *specs);
	cols = calloc((size_t)ncols, sizeof *cols);
	if (!specs || !cols) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	for (int i = 0; i < n; i++)
		coltype_to_parquet(&t->schema.cols[i], &specs[i]);
	if (with_row_ids) {
		static const char *const names[] = {"_row_id", "_last_updated_sequence_number"};
		static const int32_t ids[] = {ICE_ROW_ID_FIELD_ID, ICE_LAST_UPDATED_SEQ_FIELD_ID};
		for (int k = 0; k < 2; k++) {
			specs[n + k].name = names[k];
			specs[n + k].field_id = ids[k];
			specs[n + k].physical = PQ_INT64;
			specs[n + k].required = 0;
		}
		w->file_row_ids = malloc((nlive ? nlive : 1) * sizeof *w->file_row_ids);
		if (!w->file_row_ids) {
			rc = errf(err, FLOE_ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (t->ix) {
		index_fidx_begin(&w->fidx, &t->kd);
		w->fidx_open = 1;
	}
	sink.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (sink.fd < 0) {
		rc = errf(err, errno == ENOSPC ? FLOE_ENOSPC : FLOE_EIO, "create %s: %s", path,
		          strerror(errno));
		goto fail;
	}
	pq_options opts;
	pq_options_default(&opts);
	opts.codec = t->cfg.codec;
	opts.zstd_level = t->cfg.zstd_level;
	opts.row_group_bytes = t->cfg.row_group_bytes;
	opts.created_by = "floe version 0.1";
	opts.threads = threads;
	pq_kv kv = {"iceberg.schema", t->iceberg_schema_json};
	if ((rc = pq_writer_open(specs, ncols, &kv, 1, &opts, fd_sink_write, &sink, &pw, err)))
		goto fail;
	static const uint8_t no_valid[1] = {0};
	for (const pending *p = list; p; p = p->next) {
		if ((rc = live_rows_make(t, p, &l, err)))
			goto fail;
		size_t rows = l.b->nrows;
		for (int i = 0; i < n; i++)
			batch_column_data(l.b, i, &cols[i]);
		if (with_row_ids) {
			uint8_t *zeros = NULL;
			int64_t *none = NULL;
			if (!l.row_ids) { /* a batch of new rows only: all null */
				zeros = calloc(rows ? rows : 1, 1);
				none = malloc((rows ? rows : 1) * sizeof *none);
				if (!zeros || !none) {
					free(zeros);
					free(none);
					rc = errf(err, FLOE_ENOMEM, "out of memory");
					goto fail;
				}
				for (size_t r = 0; r < rows; r++)
					none[r] = -1;
				l.row_ids = none;
				l.rid_valid = zeros;
			}
			cols[n] = (pq_column_data){.valid = l.rid_valid, .values = l.row_ids};
			uint8_t *all_null = calloc(rows ? rows : 1, 1);
			cols[n + 1] = (pq_column_data){.valid = all_null ? all_null : no_valid,
			                               .values = l.row_ids};
			memcpy(w->file_row_ids + pos, l.row_ids, rows * sizeof *l.row_ids);
			rc = all_null ? pq_writer_write(pw, cols, rows, err)
			              : errf(err, FLOE_ENOMEM, "out of memory");
			free(all_null);
		} else {
			rc = pq_writer_write(pw, cols, rows, err);
		}
		if (rc == 0 && w->fidx_open)
			rc = index_fidx_add_rows(&w->fidx, l.b, err);
		pos += rows;
		live_rows_clear(&l);
		if (rc)
			goto fail;
	}
	rc = pq_writer_close(pw, &w->res, err);
	pw = NULL;
	if (rc)
		goto fail;
	if ((rc = fd_sink_flush(&sink, err)) || (rc = fs_fsync_fd(sink.fd, path, err)))
		goto fail;
	close(sink.fd);
	buf_release(&sink.pending);
	free(specs);
	free(cols);
	return 0;
fail:
	live_rows_clear(&l);
	pq_writer_abort(pw);
	if (sink.fd >= 0) {
		close(sink.fd);
		unlink(path);
	}
	buf_release(&sink.pending);
	free(specs);
	free(cols);
	return rc;
}

/* The .rid sidecar: explicit row ids of a data file's rows.
 *   8  magic "FLOERID" 0x01
 *   8  count (u64 LE)
 *   8n row ids (i64 LE, -1 = inherited)
 *   4  CRC32C of everything before it */
static int write_row_ids(const char *path, const int64_t *ids, size_t n, char *err)
{
	buf b = {0};
	buf_append(&b, "FLOERID\x01", 8);
	buf_put_le64(&b, n);
	for (size_t i = 0; i < n; i++)
		buf_put_le64(&b, (uint64_t)ids[i]);
	if (!buf_ok(&b)) {
		buf_release(&b);
		return errf(err, FLOE_ENOMEM, "out of memory");
	}
	buf_put_le32(&b, crc32c(0, b.data, b.len));
	int rc = buf_ok(&b) ? fs_put_durable(path, b.data, b.len, err)
	                    : errf(err, FLOE_ENOMEM, "out of memory");
	buf_release(&b);
	return rc;
}

/* A DV written for this commit, installed into its file state on success. */
typedef struct new_dv {
	uint32_t file_id;
	dv *merged;       /* owned until installed */
	char *uri;        /* Puffin file, owned */
	int removes_file; /* every row deleted: the data file goes instead */
} new_dv;

typedef struct commit_plan {
	new_dv *dvs;
	size_t ndvs;
	ice_data_file *deletes; /* added DV entries */
	size_t ndeletes;
	const char **removed;
	size_t nremoved;
	char **created; /* files written for this commit (removed on failure) */
	size_t ncreated;
} commit_plan;

static void plan_free(commit_plan *pl, int remove_files)
{
	for (size_t i = 0; i < pl->ndvs; i++) {
		dv_free(pl->dvs[i].merged);
		free(pl->dvs[i].uri);
	}
	for (size_t i = 0; i < pl->ndeletes; i++)
		ice_data_file_clear(&pl->deletes[i]);
	for (size_t i = 0; i < pl->ncreated; i++) {
		if (remove_files)
			unlink(pl->created[i]);
		free(pl->created[i]);
	}
	free(pl->dvs);
	free(pl->deletes);
	free(pl->removed);
	free(pl->created);
	memset(pl, 0, sizeof *pl);
}

static int plan_created(commit_plan *pl, const char *path, char *err)
{
	char **c = realloc(pl->created, (pl->ncreated + 1) * sizeof *c);
	if (!c)
		return errf(err, FLOE_ENOMEM, "out of memory");
	pl->created = c;
	if (!(c[pl->ncreated] = strdup(path)))
		return errf(err, FLOE_ENOMEM, "out of memory");
	pl->ncreated++;
	return 0;
}

/* Writes one Puffin file holding the DV `d` of data file f (durable). */
static int write_dv_file(floe_table *t, const file_state *f, const dv *d, commit_plan *pl,
                         ice_data_file *out, char *err)
{
	char uuid[37], path[4096];
	buf bytes = {0};
	puffin_writer *pw = NULL;
	puffin_blob_pos bp;
	uint64_t size = 0;
	int rc;
	table_random_uuid(uuid);
	if ((rc = fs_pathf(path, sizeof path, err, "%s/data/%05" PRIu64 "-%s-dv.puffin", t->dir,
	                   atomic_fetch_add(&t->file_seq, 1) + 1, uuid)))
		return rc;
	if ((rc = puffin_writer_open(puffin_buf_sink, &bytes, "floe 0.1", &pw, err)) ||
	    (rc = puffin_writer_add_dv(pw, f->uri, d, &bp, err)))
		goto fail;
	rc = puffin_writer_close(pw, &size, err);
	pw = NULL;
	if (rc || (rc = fs_put_new(path, bytes.data, bytes.len, err)) ||
	    (rc = plan_created(pl, path, err)))
		goto fail;
	memset(out, 0, sizeof *out);
	out->content = ICE_CONTENT_POSITION_DELETES;
	out->sort_order_id = -1;
	out->first_row_id = -1;
	size_t ulen = strlen(path) + 8;
	out->file_path = malloc(ulen);
	out->file_format = strdup("PUFFIN");
	out->referenced_data_file = strdup(f->uri);
	if (!out->file_path || !out->file_format || !out->referenced_data_file) {
		ice_data_file_clear(out);
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(out->file_path, ulen, "file://%s", path);
	out->record_count = (int64_t)dv_cardinality(d);
	out->file_size_in_bytes = (int64_t)size;
	out->content_offset = (int64_t)bp.offset;
	out->content_size_in_bytes = (int64_t)bp.length;
	buf_release(&bytes);
	return 0;
fail:
	puffin_writer_abort(pw);
	buf_release(&bytes);
	return rc;
}

/* Plans the DV side of the commit: every file with pending deletes gets the
 * union of its old and new positions, or is removed when nothing is left. */
static int plan_deletes(floe_table *t, commit_plan *pl, char *err)
{
	size_t n = 0;
	for (size_t i = 0; i < t->nfiles; i++)
		n += t->files[i].live && t->files[i].pending;
	if (n == 0)
		return 0;
	pl->dvs = calloc(n, sizeof *pl->dvs);
	pl->deletes = calloc(n, sizeof *pl->deletes);
	pl->removed = calloc(2 * n, sizeof *pl->removed);
	if (!pl->dvs || !pl->deletes || !pl->removed)
		return errf(err, FLOE_ENOMEM, "out of memory");
	for (size_t i = 0; i < t->nfiles; i++) {
		file_state *f = &t->files[i];
		if (!f->live || !f->pending)
			continue;
		new_dv *nd = &pl->dvs[pl->ndvs++];
		nd->file_id = (uint32_t)i;
		if (dv_new(&nd->merged) || (f->deleted && dv_union(nd->merged, f->deleted)) ||
		    dv_union(nd->merged, f->pending))
			return errf(err, FLOE_ENOMEM, "out of memory");
		if ((int64_t)dv_cardinality(nd->merged) >= f->record_count) {
			nd->removes_file = 1; /* its DV, if any, goes with it */
			if (!f->staged)       /* a staged file is simply not added */
				pl->removed[pl->nremoved++] = f->uri;
			continue;
		}
		int rc = write_dv_file(t, f, nd->merged, pl, &pl->deletes[pl->ndeletes], err);
		if (rc)
			return rc;
		if (!(nd->uri = strdup(pl->deletes[pl->ndeletes].file_path)))
			return errf(err, FLOE_ENOMEM, "out of memory");
		pl->ndeletes++;
		if (f->dv_uri)
			pl->removed[pl->nremoved++] = f->dv_uri;
	}
	return 0;
}

/* After the snapshot is committed: the file states take the new DVs. */
static void install_deletes(floe_table *t, commit_plan *pl)
{
	for (size_t i = 0; i < pl->ndvs; i++) {
		new_dv *nd = &pl->dvs[i];
		file_state *f = &t->files[nd->file_id];
		dv_free(f->pending);
		f->pending = NULL;
		dv_free(f->deleted);
		f->deleted = nd->merged;
		nd->merged = NULL;
		free(f->dv_uri);
		f->dv_uri = nd->uri;
		nd->uri = NULL;
		if (nd->removes_file)
			f->live = 0;
	}
	t->deletes_pending = 0;
}

/* Keys gathered for one index_remap_many call (remap_flushed). */
typedef struct remap_chunk {
	buf keys;
	size_t *offs;
	uint64_t *expect, *locs;
	size_t n, cap;
} remap_chunk;

/* Rows per index_remap_many call: its prefetching needs a run of keys; the
 * chunk's ~40 bytes of scratch per row are reused for the whole flush. */
#define REMAP_CHUNK_ROWS ((size_t)1 << 16)

static int remap_chunk_run(floe_table *t, remap_chunk *c, char *err)
{
	int rc =
	    c->n ? index_remap_many(t->ix, c->keys.data, c->offs, c->n, c->expect, c->locs, NULL)
	         : 0;
	c->n = 0;
	buf_reset(&c->keys);
	return rc ? errf(err, rc, "remapping the index: a key of the wrong shape") : 0;
}

/* Index locations of the flushed rows move from memory to the new file:
 * the written rows' keys, in chunks of REMAP_CHUNK_ROWS across the memory
 * batches, through index_remap_many (a full-row index remaps batch by
 * batch). */
static int remap_flushed(floe_table *t, uint32_t file_id, char *err)
{
	uint64_t next_pos = 0;
	uint64_t *pos = NULL;
	remap_chunk c = {0};
	int rc = 0;
	if (t->kd.multi) {
		for (pending *p = t->mem; p && rc == 0; p = p->next) {
			size_t n = p->rows->nrows;
			free(pos);
			if (!(pos = malloc((n ? n : 1) * sizeof *pos))) {
				rc = errf(err, FLOE_ENOMEM, "out of memory");
				break;
			}
			for (size_t r = 0; r < n; r++)
				pos[r] = p->dead && p->dead[r] ? INDEX_POS_NONE : next_pos++;
			rc = index_remap_memory(t->ix, p->rows, p->first_ord, pos, file_id, NULL,
			                        err);
		}
		goto out;
	}
	size_t rows = 0;
	for (pending *p = t->mem; p; p = p->next)
		rows += p->rows->nrows;
	c.cap = rows < REMAP_CHUNK_ROWS ? rows : REMAP_CHUNK_ROWS;
	c.offs = malloc((c.cap + 1) * sizeof *c.offs);
	c.expect = malloc((c.cap ? c.cap : 1) * sizeof *c.expect);
	c.locs = malloc((c.cap ? c.cap : 1) * sizeof *c.locs);
	if (!c.offs || !c.expect || !c.locs) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto out;
	}
	c.offs[0] = 0;
	for (pending *p = t->mem; p && rc == 0; p = p->next) {
		/* Row by row ranges that fit the chunk; the live rows' keys in one
		 * index_keys_append each. */
		for (size_t r = 0, to; r < p->rows->nrows && rc == 0; r = to) {
			if (c.n == c.cap && (rc = remap_chunk_run(t, &c, err)))
				break;
			to = r + (c.cap - c.n);
			if (to > p->rows->nrows)
				to = p->rows->nrows;
			size_t nk, first = c.n;
			if ((rc = index_keys_append(&t->kd, p->rows, r, to, p->dead, &c.keys,
			                            c.offs + c.n + 1, &nk, err)))
				break;
			for (size_t k = r; k < to; k++) {
				if (p->dead && p->dead[k])
					continue;
				c.expect[c.n] = index_loc_mem(p->first_ord + k);
				c.locs[c.n++] = index_loc_file(file_id, next_pos++);
			}
			if (c.n - first != nk)
				rc = errf(err, FLOE_ECORRUPT, "remap: key count mismatch");
		}
	}
	if (rc == 0)
		rc = remap_chunk_run(t, &c, err);
out:
	free(pos);
	buf_release(&c.keys);
	free(c.offs);
	free(c.expect);
	free(c.locs);
	return rc;
}

/* A TRUNCATE was applied: the snapshot removes every data file live before
 * it (their DVs go with them). *old holds the entries the paths point into. */
static int plan_truncate(floe_table *t, commit_plan *pl, ice_manifest_entry **old, size_t *nold,
                         char *err)
{
	int rc = ice_table_live_files(t->ice, old, nold, err);
	if (rc)
		return rc;
	const char **removed = realloc(pl->removed, (pl->nremoved + *nold + 1) * sizeof *removed);
	if (!removed)
		return errf(err, FLOE_ENOMEM, "out of memory");
	pl->removed = removed;
	for (size_t i = 0; i < *nold; i++)
		if ((*old)[i].file.content == ICE_CONTENT_DATA)
			pl->removed[pl->nremoved++] = (*old)[i].file.file_path;
	return 0;
}

/* Writes the live rows of a pending list as a new data file with its key
 * list and row-id list, recording each file it creates in pl (the caller
 * removes them on failure). *have = 0 when no row is live. */
static int write_list_file(floe_table *t, const pending *list, int threads, commit_plan *pl,
                           written *w, char path[FILE_PATH_CAP], int *have, char *err)
{
	char data_dir[4096], uuid[37], side[4096];
	int with_row_ids = 0, rc;
	size_t nlive = live_rows_in(list, &with_row_ids);
	*have = 0;
	if (nlive == 0)
		return 0;
	table_random_uuid(uuid);
	if ((rc = fs_pathf(data_dir, sizeof data_dir, err, "%s/data", t->dir)) ||
	    (rc = fs_pathf(path, FILE_PATH_CAP, err, "%s/%05" PRIu64 "-%s.parquet", data_dir,
	                   atomic_fetch_add(&t->file_seq, 1) + 1, uuid)) ||
	    (rc = write_data_file(t, list, path, with_row_ids, nlive, threads, w, err)) ||
	    (rc = plan_created(pl, path, err)) || (rc = fs_fsync_dir(data_dir, err)))
		return rc;
	ice_crash_point("table_after_data_file");
	if (w->fidx_open) {
		if ((rc = keyed_sidecar_path(t, path, ".fidx", side, sizeof side, err)) ||
		    (rc = plan_created(pl, side, err)))
			return rc;
		w->fidx_open = 0;
		if ((rc = index_fidx_commit(&w->fidx, side, err)))
			return rc;
	}
	if (w->file_row_ids &&
	    ((rc = keyed_sidecar_path(t, path, ".rid", side, sizeof side, err)) ||
	     (rc = plan_created(pl, side, err)) ||
	     (rc = write_row_ids(side, w->file_row_ids, nlive, err))))
		return rc;
	*have = 1;
	return 0;
}

/* The writer's own files: a commit or a staging is the one thing the writer
 * does alone, so a second thread encodes half of the columns (same bytes). */
static int write_mem_file(floe_table *t, commit_plan *pl, written *w, ice_data_file *df, int *have,
                          char *err)
{
	char path[FILE_PATH_CAP];
	int rc = write_list_file(t, t->mem, 2, pl, w, path, have, err);
	return rc == 0 && *have ? data_file_from_result(t, path, &w->res, df, err) : rc;
}

/* Removes a data file that is in no snapshot, with its sidecars. */
static void remove_unreferenced(floe_table *t, const char *uri)
{
	static const char *const suffixes[] = {".fidx", ".rid"};
	char side[4096], err[ERR_LEN];
	for (size_t i = 0; t->sidecar_dir && i < 2; i++)
		if (keyed_sidecar_path(t, uri, suffixes[i], side, sizeof side, err) == 0)
			unlink(side);
	unlink(table_local_path(uri));
}

/* Room for one more staged file: the zeroed slot t->staged[t->nstaged],
 * which counts once the caller increments nstaged; NULL when out of
 * memory. */
static staged_file *next_staged(floe_table *t)
{
	staged_file *grown = realloc(t->staged, (t->nstaged + 1) * sizeof *grown);
	if (!grown)
		return NULL;
	t->staged = grown;
	memset(&grown[t->nstaged], 0, sizeof *grown);
	return &grown[t->nstaged];
}

int table_stage_mem(floe_table *t, char *err)
{
	commit_plan pl = {0};
	written w = {0};
	ice_data_file df = {0};
	int have = 0, rc;
	staged_file *sf = next_staged(t);
	if (!sf)
		return errf(err, FLOE_ENOMEM, "out of memory");
	long long started_ns = mono_ns();
	if ((rc = write_mem_file(t, &pl, &w, &df, &have, err)) || !have)
		goto out;
	ice_crash_point("table_after_stage");
	if (t->ix) {
		/* No row id yet: rows updated before the commit count as new. */
		if ((rc = keyed_add_file(t, df.file_path, w.res.num_rows, -1, w.file_row_ids,
		                         &sf->file_id, err)))
			goto out;
		w.file_row_ids = NULL;
		t->files[sf->file_id].staged = 1;
		if ((rc = remap_flushed(t, sf->file_id, err))) {
			t->wal_poisoned = 1; /* the index is half moved: see the commit */
			log_error("table %s: index update after staging failed: %s", t->name, err);
			plan_free(&pl, 0);
			goto out;
		}
	}
	sf->df = df;
	memset(&df, 0, sizeof df);
	t->nstaged++;
	atomic_fetch_add(&t->bytes_written, (uint64_t)w.res.file_size);
	log_debug("table %s: staged %" PRId64 " rows mid-transaction (%zu staged files) in %lld ms",
	          t->name, w.res.num_rows, t->nstaged, (mono_ns() - started_ns) / 1000000);
out:
	plan_free(&pl, rc != 0);
	written_clear(&w);
	ice_data_file_clear(&df);
	return rc;
}

int table_load_write(floe_table *t, batch *const *rows, size_t n, table_load *out, char *err)
{
	commit_plan pl = {0};
	written w = {0};
	int have = 0, rc = 0;
	memset(out, 0, sizeof *out);
	pending *list = calloc(n ? n : 1, sizeof *list);
	if (!list)
		return errf(err, FLOE_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		list[i].rows = rows[i];
		list[i].next = i + 1 < n ? &list[i + 1] : NULL;
	}
	/* One encoding thread: the loads of a copy run side by side. */
	rc = write_list_file(t, n ? list : NULL, 1, &pl, &w, out->path, &have, err);
	if (rc == 0 && have) {
		out->res = w.res; /* the writer describes the file from it */
		memset(&w.res, 0, sizeof w.res);
	} else {
		out->path[0] = 0;
	}
	plan_free(&pl, rc != 0);
	written_clear(&w);
	free(list);
	return rc;
}

int table_load_stage(floe_table *t, table_load *l, char *err)
{
	ice_data_file df = {0};
	staged_file *sf = next_staged(t);
	if (!sf)
		return errf(err, FLOE_ENOMEM, "out of memory");
	int rc = data_file_from_result(t, l->path, &l->res, &df, err);
	if (rc)
		return rc;
	if (t->ix) {
		char side[4096];
		uint64_t listed = 0;
		if ((rc = keyed_add_file(t, df.file_path, df.record_count, -1, NULL, &sf->file_id,
		                         err)))
			goto fail;
		t->files[sf->file_id].staged = 1;
		/* All or nothing: a key already there (the load broke its
		 * promise) leaves the index as it was. */
		if ((rc = keyed_sidecar_path(t, l->path, ".fidx", side, sizeof side, err)) ||
		    (rc = index_load_file(t->ix, side, sf->file_id, NULL, NULL, &listed, err)) ||
		    (listed != (uint64_t)df.record_count &&
		     (rc =
		          errf(err, FLOE_ECORRUPT, "%s lists %" PRIu64 " keys for %" PRId64 " rows",
		               side, listed, df.record_count)))) {
			t->files[sf->file_id].live = 0;
			goto fail;
		}
	}
	sf->df = df;
	t->nstaged++;
	l->path[0] = 0; /* the staged list owns the file now */
	atomic_fetch_add(&t->bytes_written, (uint64_t)df.file_size_in_bytes);
	log_debug("table %s: staged a loaded file of %" PRId64 " rows (%zu staged files)", t->name,
	          df.record_count, t->nstaged);
	return 0;
fail:
	ice_data_file_clear(&df);
	return rc;
}

void table_load_discard(floe_table *t, table_load *l)
{
	if (l->path[0])
		remove_unreferenced(t, l->path);
	l->path[0] = 0;
	pq_file_result_free(&l->res);
}

void table_discard_staged(floe_table *t)
{
	for (size_t i = 0; i < t->nstaged; i++) {
		staged_file *sf = &t->staged[i];
		if (t->ix && sf->file_id < t->nfiles)
			t->files[sf->file_id].live = 0;
		remove_unreferenced(t, sf->df.file_path);
		ice_data_file_clear(&sf->df);
	}
	free(t->staged);
	t->staged = NULL;
	t->nstaged = 0;
}

/* Whether the commit of pl leaves staged file sf out: a TRUNCATE or the
 * deletes of the same transaction removed every row of it. */
static int staged_dropped(const floe_table *t, const commit_plan *pl, const staged_file *sf)
{
	if (!t->ix)
		return 0;
	if (!t->files[sf->file_id].live)
		return 1;
	for (size_t i = 0; i < pl->ndvs; i++)
		if (pl->dvs[i].file_id == sf->file_id)
			return pl->dvs[i].removes_file;
	return 0;
}

/* The data files the commit adds: the staged ones that are still wanted,
 * in the order they were written, then df (if have_data). The array borrows
 * the descriptions. */
static int plan_added(floe_table *t, const commit_plan *pl, const ice_data_file *df, int have_data,
                      ice_data_file **out, size_t *n, char *err)
{
	*n = 0;
	*out = malloc((t->nstaged + 1) * sizeof **out);
	if (!*out)
		return errf(err, FLOE_ENOMEM, "out of memory");
	for (size_t i = 0; i < t->nstaged; i++)
		if (!staged_dropped(t, pl, &t->staged[i]))
			(*out)[(*n)++] = t->staged[i].df;
	if (have_data)
		(*out)[(*n)++] = *df;
	return 0;
}

/* After the commit: staged files get their first row ids (assigned by
 * inheritance in the order they were added, from first_row_id) and leave
 * the staged list; those left out are removed from disk. Returns the first
 * row id of the file written by this commit. */
static int64_t settle_staged(floe_table *t, const commit_plan *pl, int64_t first_row_id)
{
	int64_t next = first_row_id;
	for (size_t i = 0; i < t->nstaged; i++) {
		staged_file *sf = &t->staged[i];
		if (staged_dropped(t, pl, sf)) {
			remove_unreferenced(t, sf->df.file_path);
		} else {
			if (t->ix) {
				t->files[sf->file_id].first_row_id = next;
				t->files[sf->file_id].staged = 0;
			}
			next += sf->df.record_count;
		}
		ice_data_file_clear(&sf->df);
	}
	free(t->staged);
	t->staged = NULL;
	t->nstaged = 0;
	return next;
}

int table_commit_mem(floe_table *t, int64_t upto_lsn, char *err)
{
	char lsn_text[32];
	written w = {0};
	ice_data_file df = {0};
	commit_plan pl = {0};
	ice_data_file *added = NULL;
	size_t nadded = 0;
	int have_data = 0, rc = 0;
	ice_manifest_entry *old = NULL; /* live files a TRUNCATE removes */
	size_t nold = 0;
	int64_t first_row_id = ice_table_next_row_id(t->ice);
	long long started_ns = mono_ns();
	if ((rc = write_mem_file(t, &pl, &w, &df, &have_data, err)))
		goto fail;
	long long written_ns = mono_ns();
	if (t->ix && (rc = plan_deletes(t, &pl, err)))
		goto fail;
	if (t->truncate_pending && (rc = plan_truncate(t, &pl, &old, &nold, err)))
		goto fail;
	if ((rc = plan_added(t, &pl, &df, have_data, &added, &nadded, err)))
		goto fail;
	if (nadded == 0 && pl.ndvs == 0 && pl.nremoved == 0) {
		/* Everything in memory cancelled out: no snapshot to make (a
		 * TRUNCATE of a table without files is done too). */
		t->truncate_pending = 0;
		settle_staged(t, &pl, first_row_id);
		plan_free(&pl, 0);
		ice_manifest_entries_free(old, nold);
		free(added);
		return 0;
	}
	/* floe.lsn: the WAL position, or for a source-driven table the source's
	 * (none on commits the source made mid-way, e.g. during a copy). */
	ice_kv summary[2];
	size_t nsummary = 0;
	int64_t lsn = t->cfg.source_driven ? t->commit_source_lsn : upto_lsn;
	snprintf(lsn_text, sizeof lsn_text, "%" PRId64, lsn);
	if (lsn >= 0)
		summary[nsummary++] = (ice_kv){"floe.lsn", lsn_text};
	if (t->cfg.source_driven && t->commit_source_phase[0])
		summary[nsummary++] = (ice_kv){"floe.phase", t->commit_source_phase};
	ice_commit c = {.added_data = added,
	                .nadded_data = nadded,
	                .added_deletes = pl.deletes,
	                .nadded_deletes = pl.ndeletes,
	                .removed_paths = pl.removed,
	                .nremoved = pl.nremoved,
	                .summary = summary,
	                .nsummary = nsummary,
	                .operation = t->truncate_pending && nadded ? "overwrite" : NULL};
	int64_t snap;
	if ((rc = ice_table_commit(t->ice, &c, &snap, err)))
		goto fail;
	/* Committed: from here on only memory changes. */
	t->truncate_pending = 0;
	if (t->ix)
		install_deletes(t, &pl);
	int64_t new_file_row_id = settle_staged(t, &pl, first_row_id);
	if (t->ix && have_data) {
		uint32_t file_id = 0;
		char merr[ERR_LEN];
		int mrc = keyed_add_file(t, df.file_path, w.res.num_rows, new_file_row_id,
		                         w.file_row_ids, &file_id, merr);
		if (mrc == 0) {
			w.file_row_ids = NULL; /* the file state owns them now */
			mrc = remap_flushed(t, file_id, merr);
		}
		if (mrc) {
			/* The index no longer matches the table: only a restart
			 * (which rebuilds it from the key lists) can fix that. */
			t->wal_poisoned = 1;
			log_error("table %s: index update after commit failed: %s", t->name, merr);
		}
	}
	atomic_fetch_add(&t->bytes_written, (uint64_t)w.res.file_size);
	atomic_fetch_add(&t->commits, 1);
	table_publish_snapshot_state(t);
	log_debug("table %s: committed snapshot %" PRId64 " (%zu data files, %zu DVs) in %lld ms, "
	          "%lld ms of it writing the data file",
	          t->name, snap, nadded, pl.ndeletes, (mono_ns() - started_ns) / 1000000,
	          (written_ns - started_ns) / 1000000);
	plan_free(&pl, 0);
	ice_manifest_entries_free(old, nold);
	written_clear(&w);
	ice_data_file_clear(&df);
	free(added);
	return 0;
fail:
	free(added);
	ice_manifest_entries_free(old, nold);
	/* A poisoned handle means the snapshot naming these files may be live. */
	plan_free(&pl, !ice_table_poisoned(t->ice));
	written_clear(&w);
	ice_data_file_clear(&df);
	return rc;
}
