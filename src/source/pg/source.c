/*
 * source — the manager of PostgreSQL sources (source.h): creating mirrors,
 * their state file, resuming them at start, stopping them, and what GET
 * /tables and /metrics show.
 *
 * The streaming thread reads the table list without the lock, so the list
 * only changes while that thread is stopped (stop_stream / start_stream
 * around every change); a reconnect costs a moment and re-reads nothing the
 * tables hold (source.h rule 4).
 *
 * State file <data>/.floe/sources/<slot>.json (0600, written atomically):
 *   {"uri": "...", "slot": "...", "publication": "...",
 *    "tables": [{"name": "...", "src_table": "...", "phase": "copying" |
 *                "streaming", "copy_lsn": N, "skip_unsupported_columns":
 *                bool, "copy_workers": N}]}
 */
#include "source/pg/source.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "source/pg/pgsql.h"
#include "source/pg/pgtype.h"
#include "source/pg/replication.h"
#include "source/pg/source_internal.h"
#include "storage/fs.h"

int64_t pgsrc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *phase_name(int phase)
{
	static const char *const names[] = {"copying", "streaming", "error", "stopped"};
	return phase >= 0 && phase <= PGM_STOPPED ? names[phase] : "?";
}

/* ---- the streaming thread's life ---- */

static int start_stream(pg_source *s, char *err)
{
	if (s->thread_started || !s->tables)
		return 0;
	pthread_mutex_lock(&s->mu);
	s->stream_stop = 0;
	pthread_mutex_unlock(&s->mu);
	if (pthread_create(&s->thread, NULL, pgstream_main, s) != 0)
		return errf(err, FLOE_ENOMEM, "cannot start the streaming thread");
	s->thread_started = 1;
	return 0;
}

static void stop_stream(pg_source *s)
{
	if (!s->thread_started)
		return;
	pthread_mutex_lock(&s->mu);
	s->stream_stop = 1;
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	s->thread_started = 0;
}

/* ---- state file ---- */

int pgsrc_save_state(pg_source *s, char *err)
{
	json_t *tables = json_array(), *doc = NULL;
	char *text = NULL;
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	for (pgm_table *t = s->tables; tables && t; t = t->next)
		json_array_append_new(
		    tables,
		    json_pack("{s:s,s:s,s:s,s:I,s:b,s:i}", "name", t->name, "src_table",
		              t->src_table, "phase",
		              t->phase == PGM_STREAMING || t->copy_lsn ? "streaming" : "copying",
		              "copy_lsn", (json_int_t)t->copy_lsn, "skip_unsupported_columns",
		              t->skip_unsupported, "copy_workers", t->copy_workers));
	pthread_mutex_unlock(&s->mu);
	doc = tables ? json_pack("{s:s,s:s,s:s,s:O}", "uri", s->uri, "slot", s->slot, "publication",
	                         s->pub, "tables", tables)
	             : NULL;
	text = doc ? json_dumps(doc, JSON_INDENT(1)) : NULL;
	if (!text) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = fs_put_durable(s->state_path, text, strlen(text), err)))
		goto out;
	chmod(s->state_path, 0600);
out:
	free(text);
	json_decref(doc);
	json_decref(tables);
	return rc;
}

/* ---- tables ---- */

static void free_table(pgsrc_manager *m, pgm_table *t)
{
	if (!t)
		return;
	pgm_table_free_stream(t);
	pgcat_table_free(&t->cat);
	if (t->t)
		registry_release(m->reg, t->t);
	free(t->name);
	free(t->src_table);
	free(t);
}

static void free_source(pg_source *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s->uri);
	free(s->key);
	free(s->slot);
	free(s->pub);
	free(s->state_path);
	free(s);
}

/* The floe schema and identity of a described PostgreSQL table. *notice
 * gets a sentence for the user when the table is append-only. */
static int schema_of_table(const pgcat_table *cat, int skip_unsupported, floe_schema *out,
                           table_identity *ident, const char **notice, char *err)
{
	memset(out, 0, sizeof *out);
	memset(ident, 0, sizeof *ident);
	*notice = NULL;
	if (!(out->cols = calloc((size_t)cat->ncols + 1, sizeof *out->cols)))
		return errf(err, FLOE_ENOMEM, "out of memory");
	int keypos[64] = {0};
	for (int i = 0; i < cat->ncols; i++) {
		const pgcat_column *pc = &cat->cols[i];
		floe_column col = {.name = pc->name};
		int rc = pgtype_map(&pc->type, &col, err);
		if (rc && skip_unsupported && pc->key_pos == 0) {
			log_info("mirror of %s: column %s (%s) left out: %s", cat->relname,
			         pc->name, pc->type_name, err);
			continue;
		}
		if (rc)
			return rc;
		/* Only key columns are required: a NOT NULL added or dropped later
		 * must not make old files invalid. */
		col.nullable = pc->key_pos == 0;
		if (!(col.name = strdup(pc->name)))
			return errf(err, FLOE_ENOMEM, "out of memory");
		if (pc->key_pos > 0 && pc->key_pos <= 16)
			keypos[pc->key_pos - 1] = out->ncols + 1;
		out->cols[out->ncols++] = col;
	}
	if (out->ncols == 0)
		return errf(err, FLOE_EINVAL, "%s has no column floe can mirror", cat->relname);
	if (cat->nkey > 16)
		return errf(err, FLOE_EINVAL,
		            "%s: a primary key of %d columns is too long (16 at most)",
		            cat->relname, cat->nkey);
	if (cat->nkey > 0) {
		ident->primary_key = 1;
		ident->nkey = cat->nkey;
		for (int k = 0; k < cat->nkey; k++)
			ident->cols[k] = keypos[k] - 1;
	} else if (cat->replident == 'f') {
		ident->full_row = 1;
	} else if (cat->replident == 'i') {
		return errf(err, FLOE_EINVAL,
		            "%s has REPLICA IDENTITY USING INDEX and no primary key; floe needs a "
		            "primary key or REPLICA IDENTITY FULL",
		            cat->relname);
	} else {
		*notice =
		    "the table has no primary key and no REPLICA IDENTITY FULL: it is mirrored "
		    "append-only, and PostgreSQL rejects UPDATE and DELETE on it while it is "
		    "published until you add a primary key or run ALTER TABLE ... REPLICA "
		    "IDENTITY FULL (then mirror it again)";
	}
	return 0;
}

static pg_source *find_source(pgsrc_manager *m, const char *key)
{
	for (pg_source *s = m->sources; s; s = s->next)
		if (!strcmp(s->key, key))
			return s;
	return NULL;
}

static int find_table(pgsrc_manager *m, const char *name, pg_source **src, pgm_table **tab)
{
	for (pg_source *s = m->sources; s; s = s->next)
		for (pgm_table *t = s->tables; t; t = t->next)
			if (!strcmp(t->name, name)) {
				*src = s;
				*tab = t;
				return 1;
			}
	return 0;
}

/* FNV-1a, for slot names: stable across versions and machines. */
static uint64_t name_hash(const char *a, const char *b)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (const char *p = a; *p; p++)
		h = (h ^ (uint8_t)*p) * UINT64_C(1099511628211);
	h = (h ^ '/') * UINT64_C(1099511628211);
	for (const char *p = b; *p; p++)
		h = (h ^ (uint8_t)*p) * UINT64_C(1099511628211);
	return h;
}

static int new_source(pgsrc_manager *m, const char *uri, const char *key, const char *slot,
                      const char *pub, pg_source **out, char *err)
{
	pg_source *s = calloc(1, sizeof *s);
	char path[PATH_MAX];
	if (!s)
		return errf(err, FLOE_ENOMEM, "out of memory");
	pthread_mutex_init(&s->mu, NULL);
	s->m = m;
	s->uri = strdup(uri);
	s->key = strdup(key);
	s->slot = strdup(slot);
	s->pub = strdup(pub);
	int rc = fs_pathf(path, sizeof path, err, "%s/%s.json", m->sources_dir, slot);
	if (rc == 0 && !(s->state_path = strdup(path)))
		rc = -1;
	if (rc || !s->uri || !s->key || !s->slot || !s->pub) {
		free_source(s);
		return rc ? rc : errf(err, FLOE_ENOMEM, "out of memory");
	}
	*out = s;
	return 0;
}

static int new_table(const char *name, const char *src_table, int skip_unsupported, int workers,
                     pgm_table **out, char *err)
{
	pgm_table *t = calloc(1, sizeof *t);
	if (!t || !(t->name = strdup(name)) || !(t->src_table = strdup(src_table))) {
		if (t)
			free(t->name);
		free(t);
		return errf(err, FLOE_ENOMEM, "out of memory");
	}
	t->skip_unsupported = skip_unsupported;
	t->copy_workers = workers;
	*out = t;
	return 0;
}

/* copy_workers when table_config does not say: 4, but one per two CPUs
 * floe may run on, since a worker keeps about two busy (its connection,
 * decoder and loader threads); on a smaller machine more connections only
 * add the server's cost of scanning block ranges (copy.c). */
static int default_copy_workers(void)
{
	cpu_set_t cpus;
	int n = sched_getaffinity(0, sizeof cpus, &cpus) == 0 ? CPU_COUNT(&cpus) : 1;
	return n >= 8 ? 4 : n >= 4 ? n / 2 : 1;
}

static int parse_table_config(const json_t *cfg, int *skip, int *workers, char *err)
{
	const char *k;
	const json_t *v;
	*skip = 0;
	*workers = default_copy_workers();
	if (!cfg || json_is_null(cfg))
		return 0;
	if (!json_is_object(cfg))
		return errf(err, FLOE_EINVAL, "table_config must be a JSON object");
	json_object_foreach((json_t *)cfg, k, v)
	{
		if (!strcmp(k, "skip_unsupported_columns")) {
			if (!json_is_boolean(v))
				return errf(
				    err, FLOE_EINVAL,
				    "table_config.skip_unsupported_columns must be true or false");
			*skip = json_is_true(v);
		} else if (!strcmp(k, "copy_workers")) {
			if (!json_is_integer(v) || json_integer_value(v) < 1 ||
			    json_integer_value(v) > 64)
				return errf(err, FLOE_EINVAL,
				            "table_config.copy_workers must be an integer 1..64");
			*workers = (int)json_integer_value(v);
		} else {
			return errf(
			    err, FLOE_EINVAL,
			    "table_config.%s is not an option of a PostgreSQL mirror (known: "
			    "skip_unsupported_columns, copy_workers)",
			    k);
		}
	}
	return 0;
}

int pgsrc_mirror(pgsrc_manager *m, const char *name, const char *database, const char *table,
                 const char *uri, const char *src_table, const json_t *options, json_t **reply,
                 char *err)
{
	PGconn *sql = NULL;
	pgrepl_conn *repl = NULL;
	pgcat_table cat = {0};
	floe_schema schema = {0};
	table_identity ident;
	floe_table *ft = NULL;
	pg_source *s = NULL, *created_source = NULL;
	pgm_table *t = NULL;
	const char *notice = NULL;
	char *ci = NULL, key[512], slot[64];
	int rc, skip, workers, pub_added = 0, slot_created = 0, stream_was_running = 0;
	*reply = NULL;
	pthread_mutex_lock(&m->mu);
	if ((rc = parse_table_config(options, &skip, &workers, err)))
		goto fail;
	if ((ft = registry_acquire(m->reg, name))) {
		registry_release(m->reg, ft);
		ft = NULL;
		rc = errf(err, FLOE_EEXIST, "table '%s' already exists", name);
		goto fail;
	}
	if ((rc = pgsql_connect(uri, &sql, err))) {
		if (rc == FLOE_EIO)
			rc = FLOE_EINVAL; /* unreachable server: the URI is the user's to fix */
		goto fail;
	}
	snprintf(key, sizeof key, "%s:%s/%s", PQhost(sql) ? PQhost(sql) : "",
	         PQport(sql) ? PQport(sql) : "", PQdb(sql) ? PQdb(sql) : "");
	s = find_source(m, key);
	if ((rc = pgcat_check_server(sql, s ? 1 : 2, err)) ||
	    (rc = pgcat_table_describe(sql, src_table, &cat, err)))
		goto fail;
	for (pgm_table *o = s ? s->tables : NULL; o; o = o->next)
		if (o->cat.relid == cat.relid) {
			rc = errf(err, FLOE_EEXIST, "%s is already mirrored as table '%s'",
			          src_table, o->name);
			goto fail;
		}
	if ((rc = schema_of_table(&cat, skip, &schema, &ident, &notice, err)))
		goto fail;
	if ((rc = registry_create(m->reg, name, database, table, &schema, &ident, 1, &ft, err)))
		goto fail;
	if (!s) {
		snprintf(slot, sizeof slot, "floe_%016" PRIx64, name_hash(m->instance, key));
		if ((rc = new_source(m, uri, key, slot, slot, &created_source, err)))
			goto fail;
		s = created_source;
	}
	if ((rc = new_table(name, src_table, skip, workers, &t, err)))
		goto fail;
	t->cat = cat;
	memset(&cat, 0, sizeof cat);
	t->t = ft;
	t->owner = s;
	t->phase = PGM_COPYING;
	if ((rc = pgcat_publication_add(sql, s->pub, t->cat.quoted, err)))
		goto fail;
	pub_added = 1;
	if (created_source) {
		/* The slot first, so its start precedes the copy's snapshot. */
		pgrepl_slot sl;
		if ((rc = pgsql_conninfo(uri, 1, &ci, err)) ||
		    (rc = pgrepl_connect(ci, &repl, err)))
			goto fail;
		rc = pgrepl_create_slot_ex(repl, s->slot, 0, 0, &sl, err);
		if (rc == FLOE_EEXIST) {
			rc = 0; /* ours, from before a lost state file: resume it */
		} else if (rc) {
			goto fail;
		} else {
			slot_created = 1;
			s->confirmed_lsn = sl.consistent_point;
		}
		pgrepl_close(repl);
		repl = NULL;
	}
	stream_was_running = s->thread_started;
	stop_stream(s);
	pthread_mutex_lock(&s->mu);
	t->next = s->tables;
	s->tables = t;
	pthread_mutex_unlock(&s->mu);
	if ((rc = pgsrc_save_state(s, err)) || (rc = pgcopy_start(s, t, err))) {
		pthread_mutex_lock(&s->mu);
		s->tables = t->next;
		pthread_mutex_unlock(&s->mu);
		goto fail;
	}
	if (created_source) {
		created_source->next = m->sources;
		m->sources = created_source;
		created_source = NULL;
	}
	start_stream(s, err);
	*reply = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "name", name, "status", "created", "phase",
	                   "copying", "identity",
	                   ident.primary_key ? "primary-key"
	                   : ident.full_row  ? "full-row"
	                                     : "append-only",
	                   "slot", s->slot, "publication", s->pub);
	if (*reply && notice)
		json_object_set_new(*reply, "notice", json_string(notice));
	log_info("mirror %s: %s -> %s.%s (slot %s)", name, src_table, database, table, s->slot);
	PQfinish(sql);
	floe_schema_clear(&schema);
	free(ci);
	pthread_mutex_unlock(&m->mu);
	return 0;
fail:
	pgrepl_close(repl);
	if (sql && s && (slot_created || (pub_added && created_source))) {
		char e2[ERR_LEN];
		pgcat_drop(sql, s->pub, s->slot, e2);
	} else if (sql && s && pub_added) {
		char e2[ERR_LEN];
		pgcat_publication_remove(sql, s->pub, t->cat.quoted, e2);
	}
	if (t) {
		t->t = NULL;
		free_table(m, t);
	}
	if (ft) {
		char e2[ERR_LEN];
		registry_release(m->reg, ft);
		registry_drop(m->reg, name, e2);
	}
	if (s && stream_was_running) {
		char e2[ERR_LEN];
		if (start_stream(s, e2))
			log_error("source %s: %s", s->slot, e2);
	}
	free_source(created_source);
	if (sql)
		PQfinish(sql);
	pgcat_table_free(&cat);
	floe_schema_clear(&schema);
	free(ci);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int pgsrc_unmirror(pgsrc_manager *m, const char *name, char *err)
{
	pg_source *s;
	pgm_table *t;
	int rc = 0;
	pthread_mutex_lock(&m->mu);
	if (!find_table(m, name, &s, &t)) {
		pthread_mutex_unlock(&m->mu);
		return errf(err, FLOE_ENOTFOUND, "table '%s' is not a mirror", name);
	}
	stop_stream(s);
	pthread_mutex_lock(&s->mu);
	t->phase = PGM_STOPPED;
	pgcopy_cancel(t);
	pthread_mutex_unlock(&s->mu);
	if (t->copy_thread_started)
		pthread_join(t->copy_thread, NULL);
	pthread_mutex_lock(&s->mu);
	for (pgm_table **pp = &s->tables; *pp; pp = &(*pp)->next)
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	pthread_mutex_unlock(&s->mu);
	PGconn *sql = NULL;
	if (pgsql_connect(s->uri, &sql, err) == 0) {
		if (s->tables) {
			rc = pgcat_publication_remove(sql, s->pub, t->cat.quoted, err);
		} else {
			/* The walsender may need a moment to let the slot go. */
			for (int i = 0; i < 50; i++) {
				rc = pgcat_drop(sql, s->pub, s->slot, err);
				if (rc != FLOE_EBUSY && rc != FLOE_EINVAL)
					break;
				usleep(100 * 1000);
			}
		}
		PQfinish(sql);
	} else {
		log_warn("mirror %s: PostgreSQL unreachable, slot %s and publication %s stay: %s",
		         name, s->slot, s->pub, err);
		rc = 0;
	}
	if (rc)
		log_warn("mirror %s: cleaning up in PostgreSQL: %s", name, err);
	free_table(m, t);
	if (s->tables) {
		pgsrc_save_state(s, err);
		start_stream(s, err);
	} else {
		unlink(s->state_path);
		for (pg_source **pp = &m->sources; *pp; pp = &(*pp)->next)
			if (*pp == s) {
				*pp = s->next;
				break;
			}
		free_source(s);
	}
	pthread_mutex_unlock(&m->mu);
	return 0;
}

/* ---- introspection ---- */

/* Reads the slot's state from PostgreSQL, at most once a second: GET
 * /tables and /metrics ask for every table, and each read is a new
 * connection. */
static void slot_refresh(pg_source *s)
{
	PGconn *sql = NULL;
	char err[ERR_LEN];
	pgcat_slot st;
	int64_t now = pgsrc_now_ms();
	pthread_mutex_lock(&s->mu);
	int fresh = s->slot_checked_ms && now - s->slot_checked_ms < 1000;
	pthread_mutex_unlock(&s->mu);
	if (fresh)
		return;
	if (pgsql_connect(s->uri, &sql, err) == 0 &&
	    pgcat_slot_status(sql, s->slot, &st, err) == 0) {
		pthread_mutex_lock(&s->mu);
		s->slot_status = st;
		s->slot_checked_ms = now;
		pthread_mutex_unlock(&s->mu);
	}
	if (sql)
		PQfinish(sql);
}

json_t *pgsrc_describe(pgsrc_manager *m, const char *name)
{
	pg_source *s;
	pgm_table *t;
	json_t *o = NULL;
	pthread_mutex_lock(&m->mu);
	if (!find_table(m, name, &s, &t))
		goto out;
	slot_refresh(s);
	char confirmed[18], received[18], applied[18];
	pthread_mutex_lock(&s->mu);
	pgrepl_lsn_format(s->confirmed_lsn, confirmed);
	pgrepl_lsn_format(s->received_lsn, received);
	pgrepl_lsn_format(t->applied_lsn, applied);
	int64_t copied = atomic_load(&t->copy_rows), est = atomic_load(&t->copy_estimate);
	/* While copying, at most 99: the estimate (reltuples) may fall short,
	 * and the figure must never go backwards. */
	double percent = est > 0 ? 100.0 * (double)copied / (double)est : 0.0;
	if (t->phase != PGM_COPYING)
		percent = 100.0;
	else if (percent > 99.0)
		percent = 99.0;
	uint64_t end =
	    s->slot_status.current_lsn > s->server_lsn ? s->slot_status.current_lsn : s->server_lsn;
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:I,s:I,s:f,s:i},s:I,s:I,s:s,s:I,s:b}",
	              "kind", "postgres", "src_table", t->src_table, "slot", s->slot, "publication",
	              s->pub, "phase", phase_name(t->phase), "confirmed_lsn", confirmed,
	              "received_lsn", received, "applied_lsn", applied, "copy", "rows",
	              (json_int_t)copied, "rows_estimated", (json_int_t)est, "percent", percent,
	              "workers", t->copy_workers, "lag_bytes",
	              (json_int_t)(end > s->confirmed_lsn ? end - s->confirmed_lsn : 0), "lag_ms",
	              (json_int_t)s->last_lag_ms, "slot_wal_status", s->slot_status.wal_status,
	              "slot_retained_bytes", (json_int_t)s->slot_status.retained_bytes, "connected",
	              s->connected);
	if (o) {
		json_object_set_new(o, "streamed_transactions",
		                    json_integer((json_int_t)s->streamed_txns));
		json_object_set_new(o, "spooled_bytes", json_integer((json_int_t)s->spooled_bytes));
	}
	if (o)
		json_object_set_new(o, "error",
		                    t->phase == PGM_ERROR ? json_string(t->error)
		                    : s->error[0]         ? json_string(s->error)
		                                          : json_null());
	pthread_mutex_unlock(&s->mu);
out:
	pthread_mutex_unlock(&m->mu);
	return o;
}

void pgsrc_metrics(pgsrc_manager *m, buf *out)
{
	pthread_mutex_lock(&m->mu);
	for (pg_source *s = m->sources; s; s = s->next) {
		slot_refresh(s);
		pthread_mutex_lock(&s->mu);
		uint64_t end = s->slot_status.current_lsn > s->server_lsn
		                   ? s->slot_status.current_lsn
		                   : s->server_lsn;
		buf_printf(out,
		           "floe_source_slot_retained_bytes{slot=\"%s\",wal_status=\"%s\"} %" PRId64
		           "\n",
		           s->slot, s->slot_status.wal_status, s->slot_status.retained_bytes);
		buf_printf(out, "floe_source_confirmed_lsn{slot=\"%s\"} %" PRIu64 "\n", s->slot,
		           s->confirmed_lsn);
		buf_printf(out, "floe_source_connected{slot=\"%s\"} %d\n", s->slot, s->connected);
		buf_printf(out, "floe_source_streamed_transactions{slot=\"%s\"} %" PRIu64 "\n",
		           s->slot, s->streamed_txns);
		buf_printf(out, "floe_source_spooled_bytes{slot=\"%s\"} %" PRIu64 "\n", s->slot,
		           s->spooled_bytes);
		for (pgm_table *t = s->tables; t; t = t->next) {
			buf_printf(out, "floe_source_lag_bytes{table=\"%s\"} %" PRIu64 "\n",
			           t->name, end > s->confirmed_lsn ? end - s->confirmed_lsn : 0);
			buf_printf(out, "floe_source_lag_ms{table=\"%s\"} %" PRId64 "\n", t->name,
			           s->last_lag_ms);
			buf_printf(out, "floe_source_copy_rows{table=\"%s\"} %" PRId64 "\n",
			           t->name, (int64_t)atomic_load(&t->copy_rows));
			buf_printf(out, "floe_source_streaming{table=\"%s\"} %d\n", t->name,
			           t->phase == PGM_STREAMING);
		}
		pthread_mutex_unlock(&s->mu);
	}
	pthread_mutex_unlock(&m->mu);
}

/* ---- start and stop ---- */

static int resume_table(pgsrc_manager *m, pg_source *s, PGconn *sql, const json_t *jt)
{
	char err[ERR_LEN];
	const char *name = json_string_value(json_object_get(jt, "name"));
	const char *src = json_string_value(json_object_get(jt, "src_table"));
	const char *phase = json_string_value(json_object_get(jt, "phase"));
	pgm_table *t = NULL;
	if (!name || !src || !phase)
		return errf(err, FLOE_ECORRUPT, "incomplete table entry");
	if (new_table(name, src, json_is_true(json_object_get(jt, "skip_unsupported_columns")),
	              (int)json_integer_value(json_object_get(jt, "copy_workers")), &t, err))
		return FLOE_ENOMEM;
	t->owner = s;
	if (!(t->t = registry_acquire(m->reg, name))) {
		log_warn("source %s: table %s is gone; not mirrored", s->slot, name);
		free_table(m, t);
		return 0;
	}
	t->copy_lsn = (uint64_t)json_integer_value(json_object_get(jt, "copy_lsn"));
	t->phase = strcmp(phase, "streaming") == 0 ? PGM_STREAMING : PGM_COPYING;
	int64_t snap = table_snapshot_lsn(t->t);
	t->skip_before = snap > (int64_t)t->copy_lsn ? (uint64_t)snap : t->copy_lsn;
	t->applied_lsn = t->skip_before;
	int rc = sql ? pgcat_table_describe(sql, src, &t->cat, err)
	             : errf(err, FLOE_EIO, "PostgreSQL was unreachable when floe started");
	if (rc) {
		t->phase = PGM_ERROR;
		snprintf(t->error, sizeof t->error, "%.400s (restart floe to retry)", err);
		log_error("source %s: table %s: %s", s->slot, name, t->error);
	}
	t->next = s->tables;
	s->tables = t;
	if (t->phase == PGM_COPYING && pgcopy_start(s, t, err))
		pgm_set_error(s, t, err);
	return 0;
}

static void resume_source(pgsrc_manager *m, const char *path, const char *fname)
{
	json_error_t jerr;
	char err[ERR_LEN];
	pg_source *s = NULL;
	PGconn *sql = NULL;
	size_t n = strlen(fname);
	if (n < 6 || strcmp(fname + n - 5, ".json") != 0)
		return;
	json_t *doc = json_load_file(path, 0, &jerr);
	const char *uri = json_string_value(json_object_get(doc, "uri"));
	const char *slot = json_string_value(json_object_get(doc, "slot"));
	const char *pub = json_string_value(json_object_get(doc, "publication"));
	if (!uri || !slot || !pub) {
		log_error("source state %s is damaged; not resumed", path);
		goto out;
	}
	if (pgsql_connect(uri, &sql, err))
		log_error("source %s: %s", slot, err);
	char key[512];
	snprintf(key, sizeof key, "%s", slot);
	if (sql)
		snprintf(key, sizeof key, "%s:%s/%s", PQhost(sql) ? PQhost(sql) : "",
		         PQport(sql) ? PQport(sql) : "", PQdb(sql) ? PQdb(sql) : "");
	if (new_source(m, uri, key, slot, pub, &s, err))
		goto out;
	size_t i;
	json_t *jt;
	json_array_foreach(json_object_get(doc, "tables"), i, jt) resume_table(m, s, sql, jt);
	s->next = m->sources;
	m->sources = s;
	if (start_stream(s, err))
		log_error("source %s: %s", slot, err);
	log_info("source %s: resumed", slot);
out:
	if (sql)
		PQfinish(sql);
	json_decref(doc);
}

int pgsrc_manager_open(registry *reg, const char *root, pgsrc_manager **out, char *err)
{
	pgsrc_manager *m = calloc(1, sizeof *m);
	char dir[PATH_MAX], real[PATH_MAX];
	int rc;
	*out = NULL;
	if (!m)
		return errf(err, FLOE_ENOMEM, "out of memory");
	pthread_mutex_init(&m->mu, NULL);
	m->reg = reg;
	if ((rc = fs_pathf(dir, sizeof dir, err, "%s/.floe/sources", root)) ||
	    (rc = fs_mkdirs(dir, err)))
		goto fail;
	if (!realpath(root, real))
		snprintf(real, sizeof real, "%s", root);
	if (!(m->root = strdup(root)) || !(m->sources_dir = strdup(dir)) ||
	    !(m->instance = strdup(real))) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	DIR *d = opendir(dir);
	if (!d) {
		rc = errf(err, FLOE_EIO, "%s: %s", dir, strerror(errno));
		goto fail;
	}
	for (struct dirent *e; (e = readdir(d));) {
		char path[PATH_MAX];
		if (fs_pathf(path, sizeof path, err, "%s/%s", dir, e->d_name) == 0)
			resume_source(m, path, e->d_name);
	}
	closedir(d);
	*out = m;
	return 0;
fail:
	pgsrc_manager_close(m);
	return rc;
}

void pgsrc_manager_close(pgsrc_manager *m)
{
	if (!m)
		return;
	for (pg_source *s = m->sources; s;) {
		pg_source *next = s->next;
		pthread_mutex_lock(&s->mu);
		s->stop = 1;
		for (pgm_table *t = s->tables; t; t = t->next)
			if (t->phase == PGM_COPYING) {
				t->phase = PGM_STOPPED;
				pgcopy_cancel(t);
			}
		pthread_mutex_unlock(&s->mu);
		if (s->thread_started)
			pthread_join(s->thread, NULL);
		for (pgm_table *t = s->tables; t;) {
			pgm_table *tn = t->next;
			if (t->copy_thread_started)
				pthread_join(t->copy_thread, NULL);
			free_table(m, t);
			t = tn;
		}
		free_source(s);
		s = next;
	}
	pthread_mutex_destroy(&m->mu);
	free(m->root);
	free(m->sources_dir);
	free(m->instance);
	free(m);
}
