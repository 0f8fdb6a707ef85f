/*
 * table — a floe table and its writer thread (contract in table.h).
 *
 * State shared with other threads, all protected by `mu`:
 *   queue/queue_tail   batches submitted but not yet taken by the writer
 *   bytes_pending      bytes of queued + in-memory batches (backpressure)
 *   last_lsn           lsn of the newest submitted batch
 *   committed_lsn      lsn of the newest batch in a committed snapshot
 *   commit_now         a sync submit or flush wants a commit without waiting
 *   ro_code/ro_msg     read-only mode after a failure (0 = writable)
 *   wal_poisoned       the WAL failed an fsync: read-only until restart
 *   stopping           table_close was called
 * The WAL append happens under `mu` too, so queue order equals LSN order.
 * Writer-only state (no lock): mem (batches taken from the queue, in order),
 * the ice_table, counters published through atomics.
 *
 * Waiting rule: a caller that needs "my rows are committed" waits on `done`
 * until committed_lsn >= its lsn (or the table is closing). LSNs are the
 * WAL's: per table, one per batch, above the floe.lsn of every snapshot.
 */
#include "table/table.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/log.h"
#include "iceberg/bounds.h"
#include "iceberg/crashpoint.h"
#include "iceberg/table.h"
#include "storage/fs.h"
#include "table/batch_codec.h"
#include "table/table_internal.h"

void table_config_default(table_config *c)
{
	c->commit_interval_ms = 1000;
	c->flush_bytes = (size_t)128 << 20;
	c->row_group_bytes = (size_t)128 << 20;
	c->max_memory_bytes = (size_t)1 << 30;
	c->codec = PQ_CODEC_ZSTD;
	c->zstd_level = 3;
	c->wal_sync = WAL_SYNC_FSYNC;
	c->wal_segment_bytes = (size_t)64 << 20;
	c->orphan_grace_s = 600;
	c->budget = NULL;
}

void table_random_uuid(char out[37])
{
	uint8_t b[16];
	if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
		/* getrandom on Linux >= 3.17 does not fail for 16 bytes; fall back to
		 * time-based bits rather than abort. */
		long long t = mono_ns() ^ now_ms();
		for (int i = 0; i < 16; i++)
			b[i] = (uint8_t)(t >> (i % 8 * 8)) ^ (uint8_t)(i * 37);
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	         b[13], b[14], b[15]);
}

/* ---- schema <-> Iceberg ---- */

int table_ice_schema(const floe_schema *fs, const table_identity *ident, ice_schema *out, char *err)
{
	memset(out, 0, sizeof *out);
	if (fs->ncols <= 0)
		return errf(err, FLOE_EINVAL, "a table needs at least one column");
	out->fields = calloc((size_t)fs->ncols, sizeof *out->fields);
	if (!out->fields)
		return errf(err, FLOE_ENOMEM, "out of memory");
	out->nfields = fs->ncols;
	for (int i = 0; i < fs->ncols; i++) {
		coltype_to_iceberg(&fs->cols[i], &out->fields[i]);
		out->fields[i].name = strdup(fs->cols[i].name);
		out->fields[i].initial_default =
		    fs->cols[i].initial_default ? strdup(fs->cols[i].initial_default) : NULL;
		if (!out->fields[i].name ||
		    (fs->cols[i].initial_default && !out->fields[i].initial_default)) {
			ice_schema_clear(out);
			return errf(err, FLOE_ENOMEM, "out of memory");
		}
	}
	if (ident && ident->primary_key) {
		/* Iceberg's identifier fields: what readers and engines (MERGE,
		 * equality deletes) know as the table's key. */
		out->identifier_ids = calloc((size_t)ident->nkey, sizeof *out->identifier_ids);
		if (!out->identifier_ids) {
			ice_schema_clear(out);
			return errf(err, FLOE_ENOMEM, "out of memory");
		}
		for (int k = 0; k < ident->nkey; k++)
			out->identifier_ids[k] = fs->cols[ident->cols[k]].field_id;
		out->nidentifiers = ident->nkey;
	}
	return 0;
}

/* The user-facing column list kept in the table properties ("floe.columns"):
 * Iceberg alone cannot tell int16 from int32. A list also keeps its
 * element's field id ("element_field_id"). */
json_t *table_columns_json(const floe_schema *s)
{
	json_t *arr = json_array();
	for (int i = 0; arr && i < s->ncols; i++) {
		char type[64];
		coltype_name(&s->cols[i], type, sizeof type);
		json_t *c = json_pack("{s:s,s:s,s:b,s:i}", "name", s->cols[i].name, "data_type",
		                      type, "nullable", s->cols[i].nullable, "field_id",
		                      (int)s->cols[i].field_id);
		if (c && s->cols[i].type == FT_LIST)
			json_object_set_new(c, "element_field_id",
			                    json_integer(s->cols[i].elem_field_id));
		if (c && s->cols[i].initial_default)
			json_object_set_new(c, "initial_default",
			                    json_string(s->cols[i].initial_default));
		json_array_append_new(arr, c);
	}
	return arr;
}

static int columns_from_json(const char *text, floe_schema *out, char *err)
{
	json_error_t jerr;
	int rc = 0;
	json_t *arr = json_loads(text, 0, &jerr);
	memset(out, 0, sizeof *out);
	if (!json_is_array(arr)) {
		rc = errf(err, FLOE_ECORRUPT, "table property floe.columns is not a JSON array");
		goto fail;
	}
	size_t n = json_array_size(arr);
	out->cols = calloc(n ? n : 1, sizeof *out->cols);
	if (!out->cols) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(arr, i);
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *type = json_string_value(json_object_get(c, "data_type"));
		json_t *id = json_object_get(c, "field_id");
		if (!name || !type || !json_is_integer(id)) {
			rc = errf(err, FLOE_ECORRUPT,
			          "table property floe.columns[%zu] is incomplete", i);
			goto fail;
		}
		floe_column *col = &out->cols[out->ncols];
		if ((rc = coltype_parse(type, col, err)))
			goto fail;
		col->name = strdup(name);
		if (!col->name) {
			rc = errf(err, FLOE_ENOMEM, "out of memory");
			goto fail;
		}
		out->ncols++; /* from here on floe_schema_clear frees it */
		col->nullable = json_is_true(json_object_get(c, "nullable"));
		col->field_id = (int32_t)json_integer_value(id);
		const char *dflt = json_string_value(json_object_get(c, "initial_default"));
		if (dflt && !(col->initial_default = strdup(dflt))) {
			rc = errf(err, FLOE_ENOMEM, "out of memory");
			goto fail;
		}
		json_t *eid = json_object_get(c, "element_field_id");
		if (col->type == FT_LIST && !json_is_integer(eid)) {
			rc = errf(
			    err, FLOE_ECORRUPT,
			    "table property floe.columns[%zu]: a list without element_field_id", i);
			goto fail;
		}
		col->elem_field_id = (int32_t)json_integer_value(eid);
	}
	json_decref(arr);
	return 0;
fail:
	json_decref(arr);
	floe_schema_clear(out);
	return rc;
}

/* ---- lifecycle ---- */

static void *writer_main(void *arg);

static int table_alloc(const char *dir, const char *wal_dir, const table_config *cfg,
                       floe_table **out, char *err)
{
	floe_table *t = calloc(1, sizeof *t);
	if (!t)
		return errf(err, FLOE_ENOMEM, "out of memory");
	t->dir = strdup(dir);
	t->wal_dir = strdup(wal_dir);
	t->cfg = *cfg;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->work, NULL);
	pthread_cond_init(&t->done, NULL);
	atomic_store(&t->snapshot_id, -1);
	atomic_store(&t->snapshot_lsn, -1);
	t->source_lsn = -1;
	*out = t;
	return t->dir && t->wal_dir ? 0 : errf(err, FLOE_ENOMEM, "out of memory");
}

static void free_pending_list(pending *p)
{
	while (p) {
		pending *next = p->next;
		batch_clear(p->rows);
		free(p->rows);
		free(p->dead);
		free(p->row_ids);
		free(p);
		p = next;
	}
}

void table_budget_add(floe_table *t, size_t bytes)
{
	if (t->cfg.budget)
		atomic_fetch_add(&t->cfg.budget->used, bytes);
}

void table_budget_sub(floe_table *t, size_t bytes)
{
	if (t->cfg.budget)
		atomic_fetch_sub(&t->cfg.budget->used, bytes);
}

static void table_free(floe_table *t)
{
	if (!t)
		return;
	table_budget_sub(t, t->bytes_pending);
	free_pending_list(t->mem);
	free_pending_list(t->queue);
	wal_close(t->wal);
	free(t->wal_dir);
	table_discard_staged(t); /* never committed: nothing may see them */
	keyed_free(t);
	ice_table_free(t->ice);
	floe_schema_clear(&t->schema);
	free(t->iceberg_schema_json);
	free(t->name);
	free(t->database);
	free(t->tablename);
	free(t->dir);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->work);
	pthread_cond_destroy(&t->done);
	free(t);
}

void table_publish_snapshot_state(floe_table *t)
{
	/* Live rows: the data files' records less the rows their DVs delete. */
	const char *deleted = ice_table_summary(t->ice, "total-position-deletes");
	atomic_store(&t->total_records,
	             ice_table_total_records(t->ice) - (deleted ? strtoll(deleted, NULL, 10) : 0));
	atomic_store(&t->data_files, ice_table_total_data_files(t->ice));
	atomic_store(&t->snapshot_id, ice_table_snapshot_id(t->ice));
	atomic_store(&t->last_commit_ms,
	             ice_table_snapshot_id(t->ice) >= 0 ? ice_table_last_updated_ms(t->ice) : 0);
	const char *lsn = ice_table_summary(t->ice, "floe.lsn");
	atomic_store(&t->snapshot_lsn, lsn ? strtoll(lsn, NULL, 10) : -1);
}

static void take_queue(floe_table *t);

/* WAL replay: each record becomes a batch in the queue, as if just submitted. */
static int replay_record(void *ctx, uint64_t lsn, uint8_t kind, const uint8_t *p, size_t len,
                         char *err)
{
	floe_table *t = ctx;
	if (kind < TABLE_OP_INSERT || kind > TABLE_OP_DELETE ||
	    (kind != TABLE_OP_INSERT && t->ident == IDENT_APPEND))
		return errf(err, FLOE_ECORRUPT, "wal %s: record %llu has unknown kind %u",
		            t->wal_dir, (unsigned long long)lsn, kind);
	pending *pd = calloc(1, sizeof *pd);
	batch *rows = calloc(1, sizeof *rows);
	int rc = 0;
	if (!pd || !rows || batch_init(rows, &t->schema)) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = batch_decode(p, len, &t->schema, rows, err))) {
		char inner[ERR_LEN];
		snprintf(inner, sizeof inner, "%s", err);
		rc = errf(err, rc, "wal %s: record %llu: %s", t->wal_dir, (unsigned long long)lsn,
		          inner);
		goto fail;
	}
	if (t->ident != IDENT_APPEND) {
		/* The same validation and application as when it was first
		 * accepted, on the same state: the same outcome. */
		request req = {.op = kind, .rows = rows, .lsn = lsn};
		free(pd);
		keyed_apply(t, &req, 1);
		if (!req.taken) {
			batch_clear(rows);
			free(rows);
		}
		if (req.rc)
			return errf(err, req.rc, "wal %s: replaying record %llu: %s", t->wal_dir,
			            (unsigned long long)lsn, req.err);
		t->last_lsn = (int64_t)lsn;
		t->replayed++;
		return 0;
	}
	pd->rows = rows;
	pd->lsn = (int64_t)lsn;
	pd->bytes = batch_mem_bytes(rows);
	if (t->queue_tail)
		t->queue_tail->next = pd;
	else
		t->queue = pd;
	t->queue_tail = pd;
	t->bytes_pending += pd->bytes;
	table_budget_add(t, pd->bytes);
	t->last_lsn = (int64_t)lsn;
	t->replayed++;
	return 0;
fail:
	if (rows)
		batch_clear(rows);
	free(rows);
	free(pd);
	return rc;
}

/* Orphans are files a crash left behind mid-commit (a data file written but
 * never committed, manifests of an unpublished version, a metadata temp
 * file). Only those older than the grace period go: a file that young might
 * belong to a commit another process is making right now. */
static int remove_orphan(void *ctx, const char *path, const char *name)
{
	floe_table *t = ctx;
	struct stat st;
	(void)name;
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	if ((long long)st.st_mtime > now_ms() / 1000 - t->cfg.orphan_grace_s)
		return 0;
	if (unlink(path) == 0)
		log_info("table %s: removed orphan file %s (no snapshot references it)", t->name,
		         path);
	else
		log_warn("table %s: cannot remove orphan %s: %s", t->name, path, strerror(errno));
	return 0;
}

static void remove_orphans(floe_table *t)
{
	char err[ERR_LEN];
	static const char *const subdirs[] = {"data", "metadata"};
	for (size_t i = 0; i < 2; i++)
		if (ice_table_orphans(t->ice, subdirs[i], remove_orphan, t, err))
			log_warn("table %s: orphan scan of %s/ skipped: %s", t->name, subdirs[i],
			         err);
}

/* Common tail of create and open: schema JSON for file footers, the WAL
 * (replayed and committed), the writer thread. */
static int table_start(floe_table *t, char *err)
{
	json_t *js = ice_schema_to_json(ice_table_schema(t->ice));
	t->iceberg_schema_json = js ? json_dumps(js, JSON_COMPACT) : NULL;
	json_decref(js);
	if (!t->iceberg_schema_json)
		return errf(err, FLOE_ENOMEM, "out of memory");
	const char *lsn = ice_table_summary(t->ice, "floe.lsn");
	t->last_lsn = t->committed_lsn = lsn ? strtoll(lsn, NULL, 10) : 0;
	t->source_seq = t->committed_lsn;
	table_publish_snapshot_state(t);
	char data_dir[4096];
	int rc = fs_pathf(data_dir, sizeof data_dir, err, "%s/data", t->dir);
	if (rc == 0)
		rc = fs_mkdirs(data_dir, err);
	if (rc)
		return rc;
	wal_options wo;
	wal_options_default(&wo);
	wo.sync = t->cfg.wal_sync;
	wo.segment_bytes = t->cfg.wal_segment_bytes;
	if ((rc = keyed_open(t, err)))
		return rc;
	if ((rc = wal_open(t->wal_dir, &wo, &t->wal, err)))
		return rc;
	if ((rc = wal_replay(t->wal, (uint64_t)t->committed_lsn, replay_record, t, err)))
		return rc;
	if (t->ident != IDENT_APPEND && t->replayed)
		t->applied_lsn = t->last_lsn;
	if (t->queue || t->mem || t->deletes_pending) {
		/* Recovery: commit what the log held before serving. */
		int64_t upto = t->last_lsn;
		take_queue(t);
		log_info("table %s: replayed %llu WAL records (%zu rows) above lsn %lld", t->name,
		         (unsigned long long)t->replayed, t->mem_rows, (long long)t->committed_lsn);
		char cerr[ERR_LEN];
		if (table_commit_mem(t, upto, cerr) == 0) {
			table_budget_sub(t, t->bytes_pending);
			t->bytes_pending = 0;
			table_drop_mem(t);
			t->committed_lsn = upto;
			char terr[ERR_LEN];
			if (wal_truncate(t->wal, (uint64_t)upto, terr))
				log_warn("table %s: %s", t->name, terr);
		} else {
			/* The rows stay in memory and in the WAL; the writer retries. */
			log_error("table %s: committing replayed rows failed: %s", t->name, cerr);
			t->ro_code = FLOE_EIO;
			snprintf(t->ro_msg, sizeof t->ro_msg, "%s", cerr);
		}
	}
	if (!t->ro_code)
		remove_orphans(t);
	if (pthread_create(&t->thread, NULL, writer_main, t) != 0)
		return errf(err, FLOE_ENOMEM, "cannot start writer thread for table %s", t->name);
	return 0;
}

int table_create(const char *dir, const char *wal_dir, const char *name, const char *database,
                 const char *tablename, const floe_schema *schema, const table_identity *ident,
                 const table_config *cfg, floe_table **out, char *err)
{
	floe_table *t = NULL;
	ice_schema is = {0};
	json_t *props = NULL, *cols = NULL;
	char *cols_text = NULL;
	int rc = table_alloc(dir, wal_dir, cfg, &t, err);
	if (rc)
		goto fail;
	t->name = strdup(name);
	t->database = strdup(database);
	t->tablename = strdup(tablename);
	if (!t->name || !t->database || !t->tablename || floe_schema_copy(schema, &t->schema)) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	floe_schema_assign_field_ids(&t->schema);
	if ((rc = table_ice_schema(&t->schema, ident, &is, err)))
		goto fail;
	cols = table_columns_json(&t->schema);
	cols_text = cols ? json_dumps(cols, JSON_COMPACT) : NULL;
	props = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "floe.name", name, "floe.database", database,
	                  "floe.table", tablename, "floe.columns", cols_text ? cols_text : "",
	                  "write.format.default", "parquet", "write.parquet.compression-codec",
	                  cfg->codec == PQ_CODEC_ZSTD     ? "zstd"
	                  : cfg->codec == PQ_CODEC_SNAPPY ? "snappy"
	                                                  : "uncompressed");
	if (!cols_text || !props) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	if (ident && ident->primary_key) {
		json_t *keys = json_array();
		for (int k = 0; keys && k < ident->nkey; k++)
			json_array_append_new(keys,
			                      json_string(t->schema.cols[ident->cols[k]].name));
		char *keys_text = keys ? json_dumps(keys, JSON_COMPACT) : NULL;
		json_decref(keys);
		rc = keys_text
		         ? json_object_set_new(props, "floe.primary_key", json_string(keys_text))
		         : -1;
		free(keys_text);
		if (rc || json_object_set_new(props, "floe.identity", json_string("primary-key"))) {
			rc = errf(err, FLOE_ENOMEM, "out of memory");
			goto fail;
		}
	} else if (json_object_set_new(
	               props, "floe.identity",
	               json_string(ident && ident->full_row ? "full-row" : "append-only"))) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	if (cfg->source_driven &&
	    json_object_set_new(props, "floe.source-driven", json_string("true"))) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = fs_mkdirs(dir, err)))
		goto fail;
	/* A WAL left by an earlier table of the same name must not be replayed
	 * into this one. */
	if ((rc = fs_remove_tree(wal_dir, err)))
		goto fail;
	if ((rc = ice_table_create(dir, &is, props, &t->ice, err)))
		goto fail;
	if ((rc = table_start(t, err)))
		goto fail;
	ice_schema_clear(&is);
	json_decref(props);
	json_decref(cols);
	free(cols_text);
	*out = t;
	log_info("table %s: created at %s (%d columns)", name, dir, schema->ncols);
	return 0;
fail:
	ice_schema_clear(&is);
	json_decref(props);
	json_decref(cols);
	free(cols_text);
	table_free(t);
	return rc;
}

int table_open(const char *dir, const char *wal_dir, const table_config *cfg, floe_table **out,
               char *err)
{
	floe_table *t = NULL;
	int rc = table_alloc(dir, wal_dir, cfg, &t, err);
	if (rc)
		goto fail;
	if ((rc = ice_table_load(dir, &t->ice, err)))
		goto fail;
	const json_t *props = ice_table_properties(t->ice);
	const char *name = json_string_value(json_object_get(props, "floe.name"));
	const char *db = json_string_value(json_object_get(props, "floe.database"));
	const char *tn = json_string_value(json_object_get(props, "floe.table"));
	const char *cols = json_string_value(json_object_get(props, "floe.columns"));
	if (!name || !db || !tn || !cols) {
		rc = errf(err, FLOE_ECORRUPT, "%s: not a floe table (floe.* properties missing)",
		          dir);
		goto fail;
	}
	t->name = strdup(name);
	t->database = strdup(db);
	t->tablename = strdup(tn);
	if (!t->name || !t->database || !t->tablename) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = columns_from_json(cols, &t->schema, err)))
		goto fail;
	t->cfg.source_driven = json_is_string(json_object_get(props, "floe.source-driven")) ? 1 : 0;
	if ((rc = table_start(t, err)))
		goto fail;
	*out = t;
	log_info("table %s: loaded from %s (snapshot %" PRId64 ", %" PRId64 " rows)", t->name, dir,
	         ice_table_snapshot_id(t->ice), ice_table_total_records(t->ice));
	return 0;
fail:
	table_free(t);
	return rc;
}

int table_close(floe_table *t, char *err)
{
	if (!t)
		return 0;
	pthread_mutex_lock(&t->mu);
	t->stopping = 1;
	pthread_cond_signal(&t->work);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	int rc = 0;
	if (t->mem || t->queue || t->deletes_pending)
		rc = errf(
		    err, FLOE_EIO,
		    "table %s: rows not committed at shutdown (they are in the WAL and will be "
		    "committed at the next start): %s",
		    t->name, t->ro_msg);
	table_free(t);
	return rc;
}

const char *table_op_name(int op)
{
	static const char *const names[] = {"?", "insert", "upsert", "update", "delete"};
	return names[op >= TABLE_OP_INSERT && op <= TABLE_OP_DELETE ? op : 0];
}

void table_begin_shutdown(floe_table *t)
{
	pthread_mutex_lock(&t->mu);
	t->shutting_down = 1;
	pthread_cond_broadcast(&t->done);
	pthread_mutex_unlock(&t->mu);
}

const char *table_name(const floe_table *t)
{
	return t->name;
}
const char *table_database(const floe_table *t)
{
	return t->database;
}
const char *table_tablename(const floe_table *t)
{
	return t->tablename;
}
const char *table_dir(const floe_table *t)
{
	return t->dir;
}
const floe_schema *table_schema(const floe_table *t)
{
	return &t->schema;
}

/* ---- submitting ---- */

/* Waits (mu held) until everything up to lsn is committed, or the table is
 * closing with rows it could not commit. */
static int wait_committed(floe_table *t, int64_t lsn, char *err)
{
	while (t->committed_lsn < lsn && !((t->stopping || t->shutting_down) && t->ro_code) &&
	       !t->stage_failed)
		pthread_cond_wait(&t->done, &t->mu);
	if (t->stage_failed)
		return errf(err, t->ro_code, "table %s: %s", t->name, t->ro_msg);
	if (t->committed_lsn < lsn)
		return errf(err, t->ro_code,
		            "table %s: rows are durable in the WAL but not committed: %s", t->name,
		            t->ro_msg);
	return 0;
}

/* Why a submit is refused right now (mu held), or 0. */
static int refuse_reason(floe_table *t, size_t bytes, char *err)
{
	if (t->stopping)
		return errf(err, FLOE_ENOTFOUND, "table %s is shutting down", t->name);
	if (t->ro_code)
		return errf(err, t->ro_code, "table %s is read-only: %s", t->name, t->ro_msg);
	if (t->cfg.source_driven)
		return 0; /* the source bounds memory by committing */
	if (t->bytes_pending > 0 && t->bytes_pending + bytes > t->cfg.max_memory_bytes)
		return errf(
		    err, FLOE_EBUSY,
		    "table %s has %zu bytes waiting to be committed (limit %zu); retry later",
		    t->name, t->bytes_pending, t->cfg.max_memory_bytes);
	mem_budget *b = t->cfg.budget;
	if (b && b->limit && atomic_load(&b->used) > 0 && atomic_load(&b->used) + bytes > b->limit)
		return errf(
		    err, FLOE_EBUSY,
		    "the server has %zu bytes waiting to be committed (limit %zu); retry later",
		    atomic_load(&b->used), b->limit);
	return 0;
}

/* Keyed tables: the writer validates and applies the request (it owns the
 * index); this thread waits for that, then for the WAL to be durable. */
static int submit_keyed(floe_table *t, request *req, char *err)
{
	int rc;
	pthread_mutex_lock(&t->mu);
	/* A rollback is what a read-only source-driven table needs to recover. */
	if ((req->op != TABLE_OP_ROLLBACK || t->stopping) &&
	    (rc = refuse_reason(t, req->rows ? batch_mem_bytes(req->rows) : 0, err))) {
		pthread_mutex_unlock(&t->mu);
		return rc;
	}
	if (t->requests_tail)
		t->requests_tail->next = req;
	else
		t->requests = req;
	t->requests_tail = req;
	pthread_cond_signal(&t->work);
	while (!req->done)
		pthread_cond_wait(&t->done, &t->mu);
	pthread_mutex_unlock(&t->mu);
	if (req->rc)
		return errf(err, req->rc, "%s", req->err);
	return 0;
}

static int wal_sync_or_fail(floe_table *t, uint64_t lsn, char *err)
{
	int rc = wal_sync(t->wal, lsn, err);
	if (rc == 0)
		return 0;
	pthread_mutex_lock(&t->mu);
	if (!t->wal_poisoned) {
		t->wal_poisoned = 1;
		t->ro_code = FLOE_EIO;
		snprintf(t->ro_msg, sizeof t->ro_msg, "%s (restart floe once the disk is healthy)",
		         err);
	}
	pthread_mutex_unlock(&t->mu);
	return FLOE_EIO;
}

static int wait_sync_commit(floe_table *t, uint64_t lsn, char *err)
{
	pthread_mutex_lock(&t->mu);
	t->commit_now = 1;
	pthread_cond_signal(&t->work);
	int rc = wait_committed(t, (int64_t)lsn, err);
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int table_key_columns(const floe_table *t, const int **cols)
{
	*cols = t->key_cols;
	return t->ident == IDENT_PRIMARY_KEY ? t->nkey : 0;
}

int table_submit(floe_table *t, int op, batch *rows, int sync, submit_result *res, int *taken,
                 char *err)
{
	int rc = 0;
	uint64_t lsn = 0;
	buf rec = {0};
	*taken = 0;
	memset(res, 0, sizeof *res);
	if (t->cfg.source_driven)
		return errf(err, FLOE_EINVAL,
		            "table '%s' mirrors a PostgreSQL table: it takes changes only from its "
		            "source",
		            t->name);
	if (t->ident != IDENT_APPEND) {
		request req = {.op = op, .rows = rows};
		rc = submit_keyed(t, &req, err);
		*taken = req.taken;
		res->lsn = (int64_t)req.lsn;
		res->deleted = req.deleted;
		if (rc == 0 && req.lsn)
			rc = wal_sync_or_fail(t, req.lsn, err);
		if (rc == 0 && sync && req.lsn)
			rc = wait_sync_commit(t, req.lsn, err);
		return rc;
	}
	if (op != TABLE_OP_INSERT)
		return errf(err, FLOE_EINVAL,
		            "operation: '%s' is not allowed: table '%s' is append-only (created "
		            "without a primary key); only insert is",
		            table_op_name(op), t->name);
	pending *p = calloc(1, sizeof *p);
	if (!p || batch_encode(rows, &rec)) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	p->next = NULL;
	p->rows = rows;
	p->bytes = batch_mem_bytes(rows);
	pthread_mutex_lock(&t->mu);
	if ((rc = refuse_reason(t, p->bytes, err)) ||
	    (rc = wal_append(t->wal, (uint8_t)op, rec.data, rec.len, NULL, 0, &lsn, err))) {
		pthread_mutex_unlock(&t->mu);
		goto fail;
	}
	*taken = 1;
	p->lsn = (int64_t)lsn;
	t->last_lsn = p->lsn;
	t->bytes_pending += p->bytes;
	table_budget_add(t, p->bytes);
	if (t->queue_tail)
		t->queue_tail->next = p;
	else
		t->queue = p;
	t->queue_tail = p;
	atomic_fetch_add(&t->rows_ingested, rows->nrows);
	atomic_fetch_add(&t->batches, 1);
	pthread_cond_signal(&t->work);
	pthread_mutex_unlock(&t->mu);
	buf_release(&rec);
	res->lsn = (int64_t)lsn;
	if ((rc = wal_sync_or_fail(t, lsn, err)))
		return rc;
	if (sync)
		rc = wait_sync_commit(t, lsn, err);
	return rc;
fail:
	buf_release(&rec);
	free(p);
	return rc;
}

int table_flush(floe_table *t, int64_t *snapshot_id_out, char *err)
{
	pthread_mutex_lock(&t->mu);
	t->commit_now = 1;
	pthread_cond_signal(&t->work);
	int rc = wait_committed(t, t->last_lsn, err);
	pthread_mutex_unlock(&t->mu);
	if (snapshot_id_out)
		*snapshot_id_out = atomic_load(&t->snapshot_id);
	return rc;
}

int table_source_apply(floe_table *t, int op, batch *rows, const uint8_t *unchanged,
                       const batch *lookup, submit_result *res, int *taken, char *err)
{
	memset(res, 0, sizeof *res);
	*taken = 0;
	if (!t->cfg.source_driven)
		return errf(err, FLOE_EINVAL, "table %s is not fed by a source", t->name);
	request req = {.op = op, .rows = rows, .unchanged = unchanged, .lookup = lookup};
	int rc = submit_keyed(t, &req, err);
	*taken = req.taken;
	res->lsn = (int64_t)req.lsn;
	res->deleted = req.deleted;
	return rc;
}

int table_source_load(floe_table *t, batch *const *rows, size_t n, char *err)
{
	if (!t->cfg.source_driven)
		return errf(err, FLOE_EINVAL, "table %s is not fed by a source", t->name);
	table_load l;
	int rc = table_load_write(t, rows, n, &l, err);
	if (rc == 0 && l.path[0]) {
		request req = {.op = TABLE_OP_LOAD, .load = &l};
		rc = submit_keyed(t, &req, err);
	}
	table_load_discard(t, &l); /* nothing left when it was staged */
	return rc;
}

int table_source_commit(floe_table *t, int64_t source_lsn, const char *phase, char *err)
{
	pthread_mutex_lock(&t->mu);
	t->source_lsn = source_lsn;
	snprintf(t->source_phase, sizeof t->source_phase, "%s", phase ? phase : "");
	t->commit_now = 1;
	pthread_cond_signal(&t->work);
	int rc = wait_committed(t, t->last_lsn, err);
	pthread_mutex_unlock(&t->mu);
	return rc;
}

int table_source_rollback(floe_table *t, char *err)
{
	request req = {.op = TABLE_OP_ROLLBACK};
	return submit_keyed(t, &req, err);
}

int table_source_reserve(floe_table *t, size_t rows, char *err)
{
	request req = {.op = TABLE_OP_RESERVE, .reserve_rows = rows};
	return submit_keyed(t, &req, err);
}

int64_t table_snapshot_lsn(floe_table *t)
{
	return atomic_load(&t->snapshot_lsn);
}

size_t table_bytes_pending(floe_table *t)
{
	pthread_mutex_lock(&t->mu);
	size_t n = t->bytes_pending;
	pthread_mutex_unlock(&t->mu);
	return n;
}

int table_alter_schema(floe_table *t, const floe_schema *schema, const batch *defaults, char *err)
{
	if (!t->cfg.source_driven)
		return errf(err, FLOE_EINVAL, "table %s: schema changes come from a source only",
		            t->name);
	request req = {.op = TABLE_OP_ALTER, .new_schema = schema, .lookup = defaults};
	return submit_keyed(t, &req, err);
}

/* ---- the writer thread ---- */

static void take_queue(floe_table *t)
{
	if (!t->queue)
		return;
	if (!t->mem_since_ns)
		t->mem_since_ns = mono_ns();
	if (t->mem_tail)
		t->mem_tail->next = t->queue;
	else
		t->mem = t->queue;
	t->mem_tail = t->queue_tail;
	t->applied_lsn = t->queue_tail->lsn;
	for (pending *p = t->queue; p; p = p->next) {
		t->mem_rows += p->rows->nrows;
		t->mem_bytes += p->bytes;
	}
	t->queue = t->queue_tail = NULL;
	atomic_store(&t->rows_in_memory, t->mem_rows);
}

void table_drop_mem(floe_table *t)
{
	free_pending_list(t->mem);
	t->nmem_arr = 0;
	t->mem = t->mem_tail = NULL;
	t->mem_rows = t->mem_bytes = 0;
	atomic_store(&t->rows_in_memory, 0);
}

/* After a commit whose outcome is unknown (the Iceberg handle is poisoned):
 * loads the table again and tells whether the snapshot holding `upto` made
 * it. Writer thread only, without mu. */
static int commit_landed_after_all(floe_table *t, int64_t upto)
{
	ice_table *fresh = NULL;
	char err[ERR_LEN];
	if (!ice_table_poisoned(t->ice))
		return 0;
	if (ice_table_load(t->dir, &fresh, err)) {
		log_warn("table %s: reload after a failed commit: %s", t->name, err);
		return 0;
	}
	int64_t before = atomic_load(&t->snapshot_id);
	ice_table_free(t->ice);
	t->ice = fresh;
	table_publish_snapshot_state(t);
	if (t->cfg.source_driven) /* floe.lsn is the source's: a new snapshot tells */
		return ice_table_snapshot_id(t->ice) != before;
	const char *lsn = ice_table_summary(t->ice, "floe.lsn");
	return lsn && strtoll(lsn, NULL, 10) >= upto;
}

/* After a failed commit: read-only mode and a back-off before the next try
 * (mu held). */
static void enter_read_only(floe_table *t, int code, const char *msg)
{
	if (!t->ro_code)
		log_error("table %s: commit failed, table is read-only until a commit succeeds: %s",
		          t->name, msg);
	t->ro_code = code == FLOE_ENOSPC ? FLOE_ENOSPC : FLOE_EIO;
	snprintf(t->ro_msg, sizeof t->ro_msg, "%s", msg);
	t->retry_delay_ms = t->retry_delay_ms ? t->retry_delay_ms * 2 : 250;
	if (t->retry_delay_ms > 5000)
		t->retry_delay_ms = 5000;
	t->retry_at_ns = mono_ns() + (long long)t->retry_delay_ms * 1000000LL;
	atomic_fetch_add(&t->commit_failures, 1);
}

static void timed_wait(floe_table *t, long long until_ns)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long wait_ns = until_ns - mono_ns();
	if (wait_ns < 0)
		wait_ns = 0;
	long long ns = ts.tv_nsec + wait_ns % 1000000000LL;
	ts.tv_sec += (time_t)(wait_ns / 1000000000LL + ns / 1000000000LL);
	ts.tv_nsec = (long)(ns % 1000000000LL);
	pthread_cond_timedwait(&t->work, &t->mu, &ts);
}

/* Applies the queued keyed requests (mu held on entry and exit; released
 * while applying, since validation and the WAL append take a while). */
static void apply_requests(floe_table *t)
{
	while (t->requests) {
		request *batch_of = t->requests;
		t->requests = t->requests_tail = NULL;
		pthread_mutex_unlock(&t->mu);
		size_t bytes_before = t->mem_bytes;
		for (request *r = batch_of; r; r = r->next) {
			if (t->wal_poisoned) {
				r->rc = errf(r->err, FLOE_EIO,
				             "table %s is read-only until restart", t->name);
				continue;
			}
			keyed_apply(t, r, 0);
		}
		pthread_mutex_lock(&t->mu);
		/* A schema change can shrink the rows in memory. */
		if (t->mem_bytes >= bytes_before) {
			t->bytes_pending += t->mem_bytes - bytes_before;
			table_budget_add(t, t->mem_bytes - bytes_before);
		} else {
			t->bytes_pending -= bytes_before - t->mem_bytes;
			table_budget_sub(t, bytes_before - t->mem_bytes);
		}
		atomic_store(&t->rows_in_memory, t->mem_rows);
		for (request *r = batch_of; r;) {
			request *next = r->next;
			if (r->op == TABLE_OP_ROLLBACK && r->rc == 0 && t->stage_failed &&
			    !t->wal_poisoned) {
				log_info("table %s: rolled back, writable again", t->name);
				t->stage_failed = 0;
				t->ro_code = 0;
			}
			if (r->rc == 0 && (int64_t)r->lsn > t->last_lsn)
				t->last_lsn = (int64_t)r->lsn;
			r->done = 1;
			r = next;
		}
		if (t->wal_poisoned && !t->ro_code) {
			t->ro_code = FLOE_EIO;
			snprintf(t->ro_msg, sizeof t->ro_msg,
			         "the in-memory state of the table failed to update; restart floe");
		}
		if (!t->mem && t->deletes_pending && !t->mem_since_ns)
			t->mem_since_ns = mono_ns();
		pthread_cond_broadcast(&t->done);
	}
}

static void *writer_main(void *arg)
{
	floe_table *t = arg;
	char err[ERR_LEN];
	pthread_mutex_lock(&t->mu);
	for (;;) {
		apply_requests(t);
		take_queue(t);
		int dirty = t->mem || t->deletes_pending || t->truncate_pending || t->nstaged;
		if (dirty && !t->mem_since_ns)
			t->mem_since_ns = mono_ns();
		long long now = mono_ns();
		/* A source-driven table commits when its source asks (table.h). */
		long long deadline =
		    t->cfg.source_driven
		        ? LLONG_MAX
		        : t->mem_since_ns + (long long)t->cfg.commit_interval_ms * 1000000LL;
		int in_backoff = t->ro_code && now < t->retry_at_ns;
		/* A failed staging leaves part of a transaction: never committed,
		 * the source rolls it back (table_source_rollback). */
		int due = dirty && !in_backoff && !t->stage_failed &&
		          (t->commit_now || t->stopping || t->ro_code ||
		           (!t->cfg.source_driven &&
		            (t->mem_bytes >= t->cfg.flush_bytes || now >= deadline)));
		if (t->commit_now && !dirty)
			t->commit_now = 0; /* nothing to commit: flushers see committed_lsn */
		if (!dirty && t->applied_lsn > t->committed_lsn) {
			/* Applied requests that changed nothing (deletes of absent keys,
			 * rows cancelled in memory) need no snapshot: they are done. */
			t->committed_lsn = t->applied_lsn;
			pthread_cond_broadcast(&t->done);
		}
		if (!due && t->cfg.source_driven && !t->stage_failed &&
		    t->mem_bytes >= t->cfg.flush_bytes) {
			/* A transaction larger than memory: write it out, invisibly. */
			pthread_mutex_unlock(&t->mu);
			int rc = table_stage_mem(t, err);
			pthread_mutex_lock(&t->mu);
			if (rc == 0) {
				t->bytes_pending -= t->mem_bytes;
				table_budget_sub(t, t->mem_bytes);
				table_drop_mem(t);
			} else {
				log_error("table %s: staging rows failed: %s", t->name, err);
				t->ro_code = rc == FLOE_ENOSPC ? FLOE_ENOSPC : FLOE_EIO;
				snprintf(t->ro_msg, sizeof t->ro_msg, "%s", err);
				t->stage_failed = 1;
			}
			pthread_cond_broadcast(&t->done);
			continue;
		}
		if (due) {
			int64_t upto = t->applied_lsn;
			t->commit_now = 0;
			t->commit_source_lsn = t->source_lsn;
			memcpy(t->commit_source_phase, t->source_phase, sizeof t->source_phase);
			pthread_mutex_unlock(&t->mu);
			int rc = table_commit_mem(t, upto, err);
			if (rc != 0 && commit_landed_after_all(t, upto)) {
				log_warn("table %s: the commit reported \"%s\" but its snapshot is "
				         "in the "
				         "table",
				         t->name, err);
				rc = 0;
			}
			if (rc == 0)
				ice_crash_point("table_after_commit");
			if (rc == 0 && !t->wal_poisoned) {
				char terr[ERR_LEN];
				if (wal_truncate(t->wal, (uint64_t)upto, terr))
					log_warn("table %s: %s", t->name, terr);
			}
			pthread_mutex_lock(&t->mu);
			if (rc == 0) {
				t->bytes_pending -= t->mem_bytes;
				table_budget_sub(t, t->mem_bytes);
				table_drop_mem(t);
				t->mem_since_ns = 0;
				t->committed_lsn = upto;
				if (t->ro_code && !t->wal_poisoned) {
					log_info(
					    "table %s: commit succeeded, table is writable again",
					    t->name);
					t->ro_code = 0;
					t->retry_delay_ms = 0;
				}
			} else {
				enter_read_only(t, rc, err);
				if (t->stopping)
					break; /* the WAL keeps the rows for the next start */
			}
			pthread_cond_broadcast(&t->done);
			continue;
		}
		if (t->stopping && !t->queue && !dirty && !t->requests)
			break;
		if (t->requests || t->queue)
			continue;
		if (in_backoff || (dirty && deadline != LLONG_MAX))
			timed_wait(t, in_backoff ? t->retry_at_ns : deadline);
		else
			pthread_cond_wait(&t->work, &t->mu);
	}
	/* Requests that arrive while stopping are refused (refuse_reason); any
	 * left in the queue get an answer rather than a hang. */
	for (request *r = t->requests; r; r = r->next) {
		r->rc = errf(r->err, FLOE_ENOTFOUND, "table %s is shutting down", t->name);
		r->done = 1;
	}
	t->requests = t->requests_tail = NULL;
	pthread_cond_broadcast(&t->done);
	pthread_mutex_unlock(&t->mu);
	return NULL;
}

/* ---- introspection ---- */

void table_get_stats(floe_table *t, table_stats *out)
{
	memset(out, 0, sizeof *out);
	out->rows_ingested = atomic_load(&t->rows_ingested);
	out->batches = atomic_load(&t->batches);
	out->commits = atomic_load(&t->commits);
	out->commit_failures = atomic_load(&t->commit_failures);
	out->bytes_written = atomic_load(&t->bytes_written);
	out->rows_in_memory = atomic_load(&t->rows_in_memory);
	out->data_files = (uint64_t)atomic_load(&t->data_files);
	out->total_records = atomic_load(&t->total_records);
	out->wal_bytes = wal_disk_bytes(t->wal);
	out->wal_bytes_appended = wal_appended_bytes(t->wal);
	pthread_mutex_lock(&t->mu);
	out->bytes_in_memory = t->bytes_pending;
	out->wal_records_replayed = t->replayed;
	out->read_only = t->ro_code != 0;
	pthread_mutex_unlock(&t->mu);
}

json_t *table_describe(floe_table *t, int brief)
{
	table_stats st;
	table_get_stats(t, &st);
	char loc[4200];
	snprintf(loc, sizeof loc, "file://%s", t->dir);
	json_t *o =
	    json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "name", t->name, "database",
	              t->database, "table", t->tablename, "location", loc, "row_count",
	              (json_int_t)st.total_records, "rows_in_memory", (json_int_t)st.rows_in_memory,
	              "data_files", (json_int_t)st.data_files, "commits", (json_int_t)st.commits,
	              "last_commit_ms", (json_int_t)atomic_load(&t->last_commit_ms));
	if (!o)
		return NULL;
	int64_t snap = atomic_load(&t->snapshot_id);
	json_object_set_new(o, "current_snapshot_id", snap >= 0 ? json_integer(snap) : json_null());
	pthread_mutex_lock(&t->mu);
	json_object_set_new(o, "lsn", json_integer(t->last_lsn));
	json_object_set_new(o, "committed_lsn", json_integer(t->committed_lsn));
	json_object_set_new(o, "status", json_string(t->ro_code ? "read-only" : "ok"));
	if (t->ro_code)
		json_object_set_new(o, "error", json_string(t->ro_msg));
	pthread_mutex_unlock(&t->mu);
	json_object_set_new(o, "wal_bytes", json_integer((json_int_t)st.wal_bytes));
	if (!brief)
		json_object_set_new(o, "schema", table_columns_json(&t->schema));
	return o;
}
