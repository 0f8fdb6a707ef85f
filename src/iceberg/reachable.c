/*
 * reachable — every file the table's metadata can reach: for each snapshot
 * in the current metadata document, its manifest list, the manifests it
 * names, and every data and delete file those manifests name (whatever the
 * entry status: a DELETED entry's file is still read by older snapshots).
 *
 * Used to find orphans (files left by a crash mid-commit): a file under the
 * table directory that is not reachable and not the current metadata is
 * garbage. Manifests shared by many snapshots are read once.
 * Reads only; same threading rule as table.h (the table's writer thread).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "iceberg/table_internal.h"
#include "storage/fs.h"

typedef struct str_set {
	char **items;
	size_t n, cap;
} str_set;

static int set_add(str_set *s, const char *v, char *err)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		char **items = realloc(s->items, cap * sizeof *items);
		if (!items)
			return errf(err, FLOE_ENOMEM, "out of memory");
		s->items = items;
		s->cap = cap;
	}
	if (!(s->items[s->n] = strdup(v)))
		return errf(err, FLOE_ENOMEM, "out of memory");
	s->n++;
	return 0;
}

static void set_free(str_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->items[i]);
	free(s->items);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int set_contains(const str_set *s, const char *v)
{
	return bsearch(&v, s->items, s->n, sizeof *s->items, cmp_str) != NULL;
}

/* Sorts and drops duplicates. */
static void set_seal(str_set *s)
{
	if (s->n < 2)
		return;
	qsort(s->items, s->n, sizeof *s->items, cmp_str);
	size_t w = 1;
	for (size_t r = 1; r < s->n; r++) {
		if (strcmp(s->items[r], s->items[w - 1]) == 0)
			free(s->items[r]);
		else
			s->items[w++] = s->items[r];
	}
	s->n = w;
}

static int read_all_uri(const char *uri, uint8_t **data, size_t *len, char *err)
{
	char path[ICE_PATH_MAX];
	int rc = ice_catalog_local_path(uri, path, err);
	return rc ? rc : fs_read_all(path, data, len, err);
}

/* Reads every file named in `in` (manifest lists when `lists`, else
 * manifests) and adds the paths they name to `out`. */
static int collect_named(const str_set *in, int lists, str_set *out, char *err)
{
	int rc = 0;
	for (size_t i = 0; i < in->n && rc == 0; i++) {
		uint8_t *data = NULL;
		size_t len = 0, n = 0;
		ice_manifest_file *mf = NULL;
		ice_manifest_entry *e = NULL;
		if ((rc = read_all_uri(in->items[i], &data, &len, err)))
			break;
		rc = lists ? ice_manifest_list_read(data, len, &mf, &n, err)
			   : ice_manifest_read(data, len, &e, &n, err);
		free(data);
		for (size_t k = 0; k < n && rc == 0; k++)
			rc = set_add(out, lists ? mf[k].manifest_path : e[k].file.file_path, err);
		if (lists)
			ice_manifest_files_free(mf, n);
		else
			ice_manifest_entries_free(e, n);
	}
	set_seal(out);
	return rc;
}

int ice_table_reachable_files(const ice_table *t, int (*fn)(void *ctx, const char *uri), void *ctx,
			      char *err)
{
	str_set lists = {0}, manifests = {0}, files = {0};
	int rc = 0;
	const json_t *snaps = json_object_get(t->doc, "snapshots");
	size_t i;
	const json_t *snap;
	json_array_foreach(snaps, i, snap) {
		const char *ml = json_string_value(json_object_get(snap, "manifest-list"));
		if (ml && (rc = set_add(&lists, ml, err)))
			goto out;
	}
	set_seal(&lists);
	if ((rc = collect_named(&lists, 1, &manifests, err)) ||
	    (rc = collect_named(&manifests, 0, &files, err)))
		goto out;
	const str_set *all[] = {&lists, &manifests, &files};
	for (size_t s = 0; s < 3 && rc == 0; s++)
		for (i = 0; i < all[s]->n && rc == 0; i++)
			rc = fn(ctx, all[s]->items[i]);
out:
	set_free(&lists);
	set_free(&manifests);
	set_free(&files);
	return rc;
}

typedef struct collect_ctx {
	str_set set;
	char *err;
} collect_ctx;

static int collect(void *ctx, const char *uri)
{
	collect_ctx *c = ctx;
	return set_add(&c->set, uri, c->err);
}

/* Metadata documents and the hint are the catalog's, never orphans here. */
static int is_catalog_file(const char *name)
{
	size_t n = strlen(name);
	if (!strcmp(name, "version-hint.text"))
		return 1;
	return name[0] == 'v' && n > 14 && !strcmp(name + n - 14, ".metadata.json");
}

int ice_table_orphans(const ice_table *t, const char *subdir,
                      int (*fn)(void *ctx, const char *path, const char *name), void *ctx,
                      char *err)
{
	collect_ctx c = {.err = err};
	char dir[ICE_PATH_MAX], path[ICE_PATH_MAX], uri[ICE_PATH_MAX];
	DIR *d = NULL;
	int rc = ice_table_reachable_files(t, collect, &c, err);
	if (rc)
		goto out;
	set_seal(&c.set);
	if ((rc = fs_pathf(dir, sizeof dir, err, "%s/%s", t->dir, subdir)))
		goto out;
	if (!(d = opendir(dir))) {
		rc = errno == ENOENT ? 0
		                     : errf(err, FLOE_EIO, "opendir %s: %s", dir, strerror(errno));
		goto out;
	}
	struct dirent *de;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || is_catalog_file(de->d_name))
			continue;
		if ((rc = fs_pathf(path, sizeof path, err, "%s/%s", dir, de->d_name)) ||
		    (rc = fs_pathf(uri, sizeof uri, err, "%s/%s/%s", t->location, subdir,
		                   de->d_name)))
			break;
		if (!set_contains(&c.set, uri))
			rc = fn(ctx, path, de->d_name);
	}
out:
	if (d)
		closedir(d);
	set_free(&c.set);
	return rc;
}
