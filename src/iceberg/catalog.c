/*
 * catalog — the file-system catalog: which metadata version of a table is
 * current, publishing the next one, and finding tables under a root.
 *
 * Owns the files metadata/v<N>.metadata.json and metadata/version-hint.text.
 * Invariants:
 *   1. The current version is the highest N with a v<N>.metadata.json; the
 *      hint is only a shortcut for readers (DuckDB reads it raw, so it holds
 *      the digits of N and no newline). It may lag after a crash until the
 *      writer loads the table again (ice_catalog_fix_hint), and it never
 *      moves backwards.
 *   2. A version file is published by link(2) from a fully written, fsynced
 *      temp file, never overwritten: two writers cannot both commit v<N>.
 *   3. Durability order: temp file fsynced -> linked -> metadata/ fsynced ->
 *      hint replaced (itself fsynced with its directory).
 * Temp files are named v<N>.metadata.json.<uuid>.tmp, which no reader takes
 * for a version. One writer thread per table; ice_catalog_scan is reentrant.
 * Errors: FLOE_ENOTFOUND (no table), FLOE_EEXIST (the version exists: another
 * writer), FLOE_EIO, FLOE_ENOMEM, FLOE_EINVAL (paths too long).
 */
#include "base/err.h"
#include "iceberg/crashpoint.h"
#include "iceberg/table_internal.h"
#include "storage/fs.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int ice_pathf(char out[ICE_PATH_MAX], char *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ice_pathf(char out[ICE_PATH_MAX], char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, ICE_PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= ICE_PATH_MAX)
		return errf(err, FLOE_EINVAL, "path too long under %.200s", out);
	return 0;
}

int ice_catalog_path(char out[ICE_PATH_MAX], const char *dir, const char *name, char *err)
{
	return ice_pathf(out, err, "%s/metadata/%s", dir, name);
}

int ice_catalog_local_path(const char *uri, char out[ICE_PATH_MAX], char *err)
{
	const char *p = NULL;
	if (strncmp(uri, "file://", 7) == 0)
		p = uri + 7;
	else if (strncmp(uri, "file:", 5) == 0) /* Java's Hadoop form "file:/x" */
		p = uri + 5;
	else if (uri[0] == '/')
		p = uri;
	if (!p || p[0] != '/')
		return errf(err, FLOE_EINVAL, "unsupported location '%s' (only local files)", uri);
	return ice_pathf(out, err, "%s", p);
}

/* Parses the digits of a version: 1..INT_MAX, no sign, no leading zero. */
static int ice_catalog_parse_version(const char *s, size_t len, int *out)
{
	if (len == 0 || len > 10 || s[0] == '0')
		return -1;
	long long v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v > INT_MAX)
		return -1;
	*out = (int)v;
	return 0;
}

/* The N of a name "v<N>.metadata.json", or 0. */
static int ice_catalog_version_of(const char *name)
{
	static const char suffix[] = ".metadata.json";
	size_t n = strlen(name), sl = sizeof suffix - 1;
	int v;
	if (n <= sl + 1 || name[0] != 'v' || strcmp(name + n - sl, suffix) != 0 ||
	    ice_catalog_parse_version(name + 1, n - sl - 1, &v))
		return 0;
	return v;
}

/* The version named by version-hint.text if that version's file exists, else 0. */
static int ice_catalog_hint_version(const char *dir)
{
	char path[ICE_PATH_MAX], file[ICE_PATH_MAX];
	uint8_t *data = NULL;
	size_t len;
	int v = 0;
	if (ice_catalog_path(path, dir, "version-hint.text", NULL) ||
	    fs_read_all(path, &data, &len, NULL))
		return 0;
	/* Other writers end the hint with a newline; accept it when reading. */
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
		len--;
	if (ice_catalog_parse_version((const char *)data, len, &v) == 0) {
		char name[64];
		snprintf(name, sizeof name, "v%d.metadata.json", v);
		if (ice_catalog_path(file, dir, name, NULL) || !fs_exists(file))
			v = 0;
	} else {
		v = 0;
	}
	free(data);
	return v;
}

int ice_catalog_latest(const char *dir, int *version, char *err)
{
	char mdir[ICE_PATH_MAX];
	int rc = ice_pathf(mdir, err, "%s/metadata", dir);
	if (rc)
		return rc;
	int best = ice_catalog_hint_version(dir);
	/* The hint may be stale after a crash between publish and hint: the
	 * directory listing is the truth. */
	DIR *d = opendir(mdir);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return errf(err, FLOE_ENOTFOUND, "no Iceberg table at %s", dir);
		return errf(err, FLOE_EIO, "opendir %s: %s", mdir, strerror(errno));
	}
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		int v = ice_catalog_version_of(de->d_name);
		if (v > best)
			best = v;
		errno = 0;
	}
	rc = errno ? errf(err, FLOE_EIO, "readdir %s: %s", mdir, strerror(errno)) : 0;
	closedir(d);
	if (rc)
		return rc;
	if (best == 0)
		return errf(err, FLOE_ENOTFOUND, "no Iceberg table at %s (no metadata version)",
		            dir);
	*version = best;
	return 0;
}

int ice_catalog_fix_hint(const char *dir, int version, char *err)
{
	char path[ICE_PATH_MAX], digits[16];
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = ice_catalog_path(path, dir, "version-hint.text", err);
	if (rc)
		return rc;
	int n = snprintf(digits, sizeof digits, "%d", version);
	rc = fs_read_all(path, &data, &len, NULL);
	int same = rc == 0 && len == (size_t)n && memcmp(data, digits, len) == 0;
	int hint = 0;
	if (rc == 0 && ice_catalog_parse_version((const char *)data, len, &hint) != 0)
		hint = 0; /* garbage: replace it */
	free(data);
	/* Never move the hint backwards: a higher one belongs to a newer commit. */
	if (same || hint > version)
		return 0;
	return fs_put_durable(path, digits, (size_t)n, err);
}

int ice_catalog_publish(const char *dir, int version, const json_t *doc, int *published, char *err)
{
	char tmp[ICE_PATH_MAX], final[ICE_PATH_MAX], hint[ICE_PATH_MAX], name[96];
	char uuid[ICE_UUID_LEN];
	char *text = NULL;
	int rc;
	*published = 0;
	if ((rc = ice_meta_new_uuid(uuid, err)))
		return rc;
	snprintf(name, sizeof name, "v%d.metadata.json", version);
	if ((rc = ice_catalog_path(final, dir, name, err)) ||
	    (rc = ice_pathf(tmp, err, "%s.%s.tmp", final, uuid)) ||
	    (rc = ice_catalog_path(hint, dir, "version-hint.text", err)))
		return rc;
	text = json_dumps(doc, JSON_COMPACT);
	if (!text)
		return errf(err, FLOE_ENOMEM, "out of memory serializing %s", name);
	if ((rc = fs_put_new(tmp, text, strlen(text), err)))
		goto fail;
	ice_crash_point("ice_after_metadata_tmp");
	if ((rc = fs_publish(tmp, final, err))) {
		/* fs_publish removes the temp file only once the link exists. */
		if (fs_exists(tmp)) {
			(void)unlink(tmp); /* best effort: an orphan temp is harmless */
			if (rc == FLOE_EEXIST)
				errf(err, rc, "%s exists: another writer committed to %s", name,
				     dir);
		} else {
			*published = 1;
		}
		goto fail;
	}
	*published = 1;
	ice_crash_point("ice_after_publish");
	snprintf(name, sizeof name, "%d", version);
	if ((rc = fs_put_durable(hint, name, strlen(name), err)))
		goto fail;
	ice_crash_point("ice_after_hint");
	free(text);
	return 0;
fail:
	free(text);
	return rc;
}

static int ice_catalog_walk(const char *path, int depth, int (*fn)(void *ctx, const char *dir),
                            void *ctx, char *err)
{
	if (depth == 0) {
		int v;
		if (ice_catalog_latest(path, &v, NULL) != 0)
			return 0;
		return fn(ctx, path);
	}
	struct dirent **list = NULL;
	int n = scandir(path, &list, NULL, alphasort);
	if (n < 0) {
		if (errno == ENOTDIR || errno == ENOENT) /* a file, or gone meanwhile */
			return 0;
		return errf(err, FLOE_EIO, "scandir %s: %s", path, strerror(errno));
	}
	int rc = 0;
	for (int i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		char child[ICE_PATH_MAX];
		struct stat st;
		if (rc == 0 && strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
		    (rc = ice_pathf(child, err, "%s/%s", path, name)) == 0 &&
		    stat(child, &st) == 0 && S_ISDIR(st.st_mode))
			rc = ice_catalog_walk(child, depth - 1, fn, ctx, err);
		free(list[i]);
	}
	free(list);
	return rc;
}

int ice_catalog_scan(const char *root, int depth, int (*fn)(void *ctx, const char *dir), void *ctx,
                     char *err)
{
	struct stat st;
	if (depth < 0)
		return errf(err, FLOE_EINVAL, "catalog scan depth %d is negative", depth);
	if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode))
		return errf(err, FLOE_ENOTFOUND, "catalog root %s is not a directory", root);
	return ice_catalog_walk(root, depth, fn, ctx, err);
}
