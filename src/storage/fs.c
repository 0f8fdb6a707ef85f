/*
 * fs — local file-system store (contract in fs.h).
 *
 * Durability order for every file floe publishes: write data -> fsync file ->
 * rename/link into place -> fsync directory. Nothing here retries a failed
 * fsync: after one the page cache state is unknown (the PostgreSQL rule).
 */
#include "storage/fs.h"
#include "base/err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_uint tmp_counter;

/* A full disk is worth telling apart: the caller answers 507 and retries. */
static int io_code(int e)
{
	return e == ENOSPC || e == EDQUOT ? FLOE_ENOSPC : FLOE_EIO;
}

int fs_mkdirs(const char *path, char *err)
{
	char tmp[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof tmp)
		return errf(err, FLOE_EINVAL, "path too long: %s", path);
	memcpy(tmp, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		char c = tmp[i];
		tmp[i] = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
			return errf(err, FLOE_EIO, "mkdir %s: %s", tmp, strerror(errno));
		tmp[i] = c;
	}
	return 0;
}

int fs_write_all(int fd, const void *data, size_t len, const char *path_for_msg, char *err)
{
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return errf(err, io_code(errno), "write %s: %s", path_for_msg,
			            strerror(errno));
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int fs_fsync_fd(int fd, const char *path_for_msg, char *err)
{
	if (fsync(fd) != 0)
		return errf(err, io_code(errno), "fsync %s: %s", path_for_msg, strerror(errno));
	return 0;
}

int fs_fsync_dir(const char *dir, char *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errf(err, FLOE_EIO, "open dir %s: %s", dir, strerror(errno));
	int rc = fs_fsync_fd(fd, dir, err);
	close(fd);
	return rc;
}

static int parent_dir(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(out, cap, ".");
		return 0;
	}
	size_t n = (size_t)(slash - path);
	if (n == 0)
		n = 1;
	if (n >= cap)
		return -1;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

int fs_put_new(const char *path, const void *data, size_t len, char *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return errf(err, errno == EEXIST ? FLOE_EEXIST : io_code(errno), "create %s: %s",
		            path, strerror(errno));
	int rc = fs_write_all(fd, data, len, path, err);
	if (rc == 0)
		rc = fs_fsync_fd(fd, path, err);
	if (close(fd) != 0 && rc == 0)
		rc = errf(err, FLOE_EIO, "close %s: %s", path, strerror(errno));
	if (rc != 0)
		unlink(path);
	return rc;
}

int fs_put_durable(const char *path, const void *data, size_t len, char *err)
{
	char tmp[4096], dir[4096];
	int n = snprintf(tmp, sizeof tmp, "%s.tmp-%d-%u", path, (int)getpid(),
	                 atomic_fetch_add(&tmp_counter, 1));
	if (n < 0 || (size_t)n >= sizeof tmp || parent_dir(path, dir, sizeof dir))
		return errf(err, FLOE_EINVAL, "path too long: %s", path);
	int rc = fs_put_new(tmp, data, len, err);
	if (rc)
		return rc;
	if (rename(tmp, path) != 0) {
		rc = errf(err, FLOE_EIO, "rename %s: %s", path, strerror(errno));
		unlink(tmp);
		return rc;
	}
	return fs_fsync_dir(dir, err);
}

int fs_publish(const char *tmp_path, const char *final_path, char *err)
{
	char dir[4096];
	if (parent_dir(final_path, dir, sizeof dir))
		return errf(err, FLOE_EINVAL, "path too long: %s", final_path);
	if (link(tmp_path, final_path) != 0) {
		int e = errno;
		return errf(err, e == EEXIST ? FLOE_EEXIST : FLOE_EIO, "publish %s: %s", final_path,
		            strerror(e));
	}
	unlink(tmp_path);
	return fs_fsync_dir(dir, err);
}

int fs_read_all(const char *path, uint8_t **out, size_t *len, char *err)
{
	uint8_t *data = NULL;
	int rc = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errf(err, errno == ENOENT ? FLOE_ENOTFOUND : FLOE_EIO, "open %s: %s", path,
		            strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		rc = errf(err, FLOE_EIO, "stat %s: %s", path, strerror(errno));
		goto fail;
	}
	size_t size = (size_t)st.st_size;
	data = malloc(size + 1);
	if (!data) {
		rc = errf(err, FLOE_ENOMEM, "out of memory reading %s", path);
		goto fail;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t r = read(fd, data + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = errf(err, FLOE_EIO, "read %s: %s", path,
			          r < 0 ? strerror(errno) : "short read");
			goto fail;
		}
		got += (size_t)r;
	}
	data[size] = 0;
	close(fd);
	*out = data;
	*len = size;
	return 0;
fail:
	free(data);
	close(fd);
	return rc;
}

int fs_remove_tree(const char *path, char *err)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0
		                       : errf(err, FLOE_EIO, "stat %s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (!d)
			return errf(err, FLOE_EIO, "opendir %s: %s", path, strerror(errno));
		struct dirent *de;
		int rc = 0;
		while (rc == 0 && (de = readdir(d)) != NULL) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char child[4096];
			int n = snprintf(child, sizeof child, "%s/%s", path, de->d_name);
			if (n < 0 || (size_t)n >= sizeof child)
				rc = errf(err, FLOE_EINVAL, "path too long under %s", path);
			else
				rc = fs_remove_tree(child, err);
		}
		closedir(d);
		if (rc)
			return rc;
		if (rmdir(path) != 0)
			return errf(err, FLOE_EIO, "rmdir %s: %s", path, strerror(errno));
		return 0;
	}
	if (unlink(path) != 0)
		return errf(err, FLOE_EIO, "unlink %s: %s", path, strerror(errno));
	return 0;
}

int fs_pathf(char *out, size_t cap, char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap)
		return errf(err, FLOE_EINVAL, "path too long (over %zu bytes): %.100s...", cap - 1,
		            out);
	return 0;
}

int fs_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

int64_t fs_file_size(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	return (int64_t)st.st_size;
}
