/*
 * registry — tables by name (contract in registry.h).
 *
 * The map is a small array: servers own tens to thousands of tables, and every
 * lookup is a short string compare under one mutex, far below the cost of the
 * request it serves. Each entry counts its users; `cond` wakes a dropper
 * waiting for the last one.
 */
#include "table/registry.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "iceberg/table.h"
#include "storage/fs.h"

typedef struct entry {
	floe_table *t;
	int users;
	int dropped;
} entry;

struct registry {
	char *root;
	table_config cfg;
	mem_budget budget; /* shared by every table: cfg.budget points here */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	entry **items;
	size_t n, cap;
};

int registry_check_name(const char *s, const char *what, char *err)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0)
		return errf(err, FLOE_EINVAL, "%s: must not be empty", what);
	if (n > 255)
		return errf(err, FLOE_EINVAL, "%s: longer than 255 bytes", what);
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return errf(err, FLOE_EINVAL, "%s: '%s' is not allowed", what, s);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '/' || c == '\\')
			return errf(err, FLOE_EINVAL, "%s: must not contain '%c'", what, c);
		if (c < 0x20 || c == 0x7f)
			return errf(err, FLOE_EINVAL, "%s: must not contain control characters",
			            what);
	}
	return 0;
}

static int add_entry(registry *r, floe_table *t, char *err)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		entry **items = realloc(r->items, cap * sizeof *items);
		if (!items)
			return errf(err, FLOE_ENOMEM, "out of memory");
		r->items = items;
		r->cap = cap;
	}
	entry *e = calloc(1, sizeof *e);
	if (!e)
		return errf(err, FLOE_ENOMEM, "out of memory");
	e->t = t;
	r->items[r->n++] = e;
	return 0;
}

static entry *find_entry(registry *r, const char *name, size_t *idx)
{
	for (size_t i = 0; i < r->n; i++) {
		if (!strcmp(table_name(r->items[i]->t), name)) {
			if (idx)
				*idx = i;
			return r->items[i];
		}
	}
	return NULL;
}

/* The WAL of table <root>/<db>/<table> lives in <root>/.floe/wal/<db>/<table>:
 * outside the Iceberg table location, so maintenance tools that delete files
 * a table does not reference (orphan-file removal) never touch it. */
static int wal_dir_for(const registry *r, const char *table_dir, char *out, size_t cap, char *err)
{
	size_t n = strlen(r->root);
	if (strncmp(table_dir, r->root, n) != 0 || table_dir[n] != '/')
		return errf(err, FLOE_EINVAL, "table %s is outside the data directory", table_dir);
	return fs_pathf(out, cap, err, "%s/.floe/wal%s", r->root, table_dir + n);
}

static int open_one(void *ctx, const char *dir)
{
	registry *r = ctx;
	char err[ERR_LEN], wal_dir[4096];
	floe_table *t = NULL;
	if (wal_dir_for(r, dir, wal_dir, sizeof wal_dir, err) ||
	    table_open(dir, wal_dir, &r->cfg, &t, err)) {
		log_error("skipping table at %s: %s", dir, err);
		return 0;
	}
	if (find_entry(r, table_name(t), NULL)) {
		log_error("skipping table at %s: name %s is already used by another table", dir,
		          table_name(t));
		table_close(t, NULL);
		return 0;
	}
	if (add_entry(r, t, err)) {
		log_error("skipping table at %s: %s", dir, err);
		table_close(t, NULL);
	}
	return 0;
}

int registry_open(const char *root, const table_config *cfg, registry **out, char *err)
{
	registry *r = calloc(1, sizeof *r);
	int rc;
	if (!r)
		return errf(err, FLOE_ENOMEM, "out of memory");
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->cfg = *cfg;
	r->budget.limit = cfg->budget ? cfg->budget->limit : 0;
	r->cfg.budget = &r->budget;
	r->root = realpath(root, NULL);
	if (!r->root) {
		if ((rc = fs_mkdirs(root, err)))
			goto fail;
		r->root = realpath(root, NULL);
		if (!r->root) {
			rc = errf(err, FLOE_EIO, "cannot resolve data directory %s", root);
			goto fail;
		}
	}
	if ((rc = ice_catalog_scan(r->root, 2, open_one, r, err)))
		goto fail;
	*out = r;
	return 0;
fail:
	registry_close(r, NULL);
	return rc;
}

int registry_close(registry *r, char *err)
{
	if (!r)
		return 0;
	int rc = 0;
	for (size_t i = 0; i < r->n; i++) {
		char e[ERR_LEN];
		if (table_close(r->items[i]->t, e)) {
			log_error("%s", e);
			rc = errf(err, FLOE_EIO, "%s", e);
		}
		free(r->items[i]);
	}
	free(r->items);
	free(r->root);
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->cond);
	free(r);
	return rc;
}

const char *registry_root(const registry *r)
{
	return r->root;
}

int registry_create(registry *r, const char *name, const char *database, const char *tablename,
                    const floe_schema *schema, const table_identity *ident, int source_driven,
                    floe_table **out, char *err)
{
	char dir[4096];
	int rc;
	if ((rc = registry_check_name(name, "name", err)) ||
	    (rc = registry_check_name(database, "database", err)) ||
	    (rc = registry_check_name(tablename, "table", err)))
		return rc;
	if ((rc = fs_pathf(dir, sizeof dir, err, "%s/%s/%s", r->root, database, tablename)))
		return rc;
	/* Creation holds the lock so two creates of one name cannot both win;
	 * creating a table is rare and takes milliseconds. */
	pthread_mutex_lock(&r->mu);
	if (find_entry(r, name, NULL)) {
		rc = errf(err, FLOE_EEXIST, "table '%s' already exists", name);
		goto out;
	}
	if (fs_exists(dir)) {
		rc = errf(err, FLOE_EEXIST, "table %s.%s already exists (directory %s)", database,
		          tablename, dir);
		goto out;
	}
	floe_table *t = NULL;
	char wal_dir[4096];
	if ((rc = wal_dir_for(r, dir, wal_dir, sizeof wal_dir, err)))
		goto out;
	table_config cfg = r->cfg;
	cfg.source_driven = source_driven;
	if ((rc = table_create(dir, wal_dir, name, database, tablename, schema, ident, &cfg, &t,
	                       err))) {
		char e2[ERR_LEN];
		fs_remove_tree(dir, e2);
		goto out;
	}
	if ((rc = add_entry(r, t, err))) {
		table_close(t, NULL);
		goto out;
	}
	r->items[r->n - 1]->users = 1;
	*out = t;
out:
	pthread_mutex_unlock(&r->mu);
	return rc;
}

floe_table *registry_acquire(registry *r, const char *name)
{
	pthread_mutex_lock(&r->mu);
	entry *e = find_entry(r, name, NULL);
	if (e && e->dropped)
		e = NULL;
	if (e)
		e->users++;
	pthread_mutex_unlock(&r->mu);
	return e ? e->t : NULL;
}

void registry_release(registry *r, floe_table *t)
{
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->n; i++) {
		if (r->items[i]->t == t) {
			r->items[i]->users--;
			break;
		}
	}
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
}

int registry_drop(registry *r, const char *name, char *err)
{
	size_t idx;
	pthread_mutex_lock(&r->mu);
	entry *e = find_entry(r, name, &idx);
	if (!e || e->dropped) {
		pthread_mutex_unlock(&r->mu);
		return errf(err, FLOE_ENOTFOUND, "table '%s' does not exist", name);
	}
	e->dropped = 1;
	while (e->users > 0)
		pthread_cond_wait(&r->cond, &r->mu);
	r->items[idx] = r->items[--r->n];
	pthread_mutex_unlock(&r->mu);

	char dir[4096], wal_dir[4096];
	snprintf(dir, sizeof dir, "%s", table_dir(e->t));
	int rc = wal_dir_for(r, dir, wal_dir, sizeof wal_dir, err);
	char cerr[ERR_LEN];
	if (table_close(e->t, cerr))
		log_warn("dropping %s: %s", name, cerr);
	free(e);
	/* The table's files go first: a crash between the two leaves a WAL
	 * without a table, which nothing replays. */
	if (rc == 0)
		rc = fs_remove_tree(dir, err);
	if (rc == 0)
		rc = fs_remove_tree(wal_dir, err);
	if (rc == 0)
		log_info("table %s: dropped, removed %s", name, dir);
	return rc;
}

void registry_foreach(registry *r, void (*fn)(void *ctx, floe_table *t), void *ctx)
{
	pthread_mutex_lock(&r->mu);
	size_t n = r->n;
	floe_table **ts = malloc((n ? n : 1) * sizeof *ts);
	if (!ts) {
		pthread_mutex_unlock(&r->mu);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		ts[i] = r->items[i]->t;
		r->items[i]->users++;
	}
	pthread_mutex_unlock(&r->mu);
	for (size_t i = 0; i < n; i++) {
		fn(ctx, ts[i]);
		registry_release(r, ts[i]);
	}
	free(ts);
}
