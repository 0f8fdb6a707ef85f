/*
 * faultfs — an LD_PRELOAD shim that makes file I/O fail on demand, so tests
 * can show what floe does when the disk fills up or turns read-only, and
 * that it recovers when the fault goes away.
 *
 * Control: the environment variable FLOE_FAULT_CTL names a file. While that
 * file holds "<mode> <path-prefix>", calls on files whose path starts with
 * the prefix fail:
 *   enospc    write/writev/pwrite -> ENOSPC
 *   eio       write/writev/pwrite/fsync/fdatasync -> EIO
 *   fsynceio  fsync/fdatasync only -> EIO (the writes "succeed")
 *   erofs     open for writing or creating -> EROFS
 * An absent or empty file means no fault. The file is re-read on every call
 * (tests only: the cost does not matter, the immediacy does).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { F_NONE, F_ENOSPC, F_EIO, F_FSYNC_EIO, F_EROFS };

static int read_ctl(char *prefix, size_t cap)
{
	const char *ctl = getenv("FLOE_FAULT_CTL");
	if (!ctl)
		return F_NONE;
	static ssize_t (*real_read)(int, void *, size_t);
	static int (*real_open)(const char *, int, ...);
	if (!real_read) {
		real_read = dlsym(RTLD_NEXT, "read");
		real_open = dlsym(RTLD_NEXT, "open");
	}
	int fd = real_open(ctl, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return F_NONE;
	char buf[4200];
	ssize_t n = real_read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return F_NONE;
	buf[n] = 0;
	char mode[16];
	if (sscanf(buf, "%15s %4095s", mode, prefix) != 2 || cap < 4096)
		return F_NONE;
	if (!strcmp(mode, "enospc"))
		return F_ENOSPC;
	if (!strcmp(mode, "eio"))
		return F_EIO;
	if (!strcmp(mode, "fsynceio"))
		return F_FSYNC_EIO;
	if (!strcmp(mode, "erofs"))
		return F_EROFS;
	return F_NONE;
}

static int fd_matches(int fd, const char *prefix)
{
	char link[64], path[4096];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	if (n <= 0)
		return 0;
	path[n] = 0;
	return strncmp(path, prefix, strlen(prefix)) == 0;
}

/* Returns the errno to fail with for a data call on fd, or 0. */
static int fault_for_fd(int fd, int is_sync)
{
	char prefix[4096];
	int mode = read_ctl(prefix, sizeof prefix);
	if (mode == F_NONE || mode == F_EROFS || !fd_matches(fd, prefix))
		return 0;
	if (mode == F_ENOSPC)
		return is_sync ? 0 : ENOSPC;
	if (mode == F_FSYNC_EIO)
		return is_sync ? EIO : 0;
	return EIO;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef int (*sync_fn)(int);
typedef int (*open_fn)(const char *, int, ...);

#define REAL(name, type)                                                                           \
	static type real_##name;                                                                   \
	if (!real_##name)                                                                          \
	real_##name = (type)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *p, size_t n)
{
	REAL(write, write_fn);
	int e = fault_for_fd(fd, 0);
	if (e) {
		errno = e;
		return -1;
	}
	return real_write(fd, p, n);
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	REAL(writev, writev_fn);
	int e = fault_for_fd(fd, 0);
	if (e) {
		errno = e;
		return -1;
	}
	return real_writev(fd, iov, cnt);
}

ssize_t pwrite(int fd, const void *p, size_t n, off_t off)
{
	REAL(pwrite, pwrite_fn);
	int e = fault_for_fd(fd, 0);
	if (e) {
		errno = e;
		return -1;
	}
	return real_pwrite(fd, p, n, off);
}

int fsync(int fd)
{
	REAL(fsync, sync_fn);
	int e = fault_for_fd(fd, 1);
	if (e) {
		errno = e;
		return -1;
	}
	return real_fsync(fd);
}

int fdatasync(int fd)
{
	REAL(fdatasync, sync_fn);
	int e = fault_for_fd(fd, 1);
	if (e) {
		errno = e;
		return -1;
	}
	return real_fdatasync(fd);
}

static int open_fault(const char *path, int flags)
{
	char prefix[4096];
	if (!(flags & (O_WRONLY | O_RDWR | O_CREAT)))
		return 0;
	if (read_ctl(prefix, sizeof prefix) != F_EROFS)
		return 0;
	return strncmp(path, prefix, strlen(prefix)) == 0 ? EROFS : 0;
}

int open(const char *path, int flags, ...)
{
	REAL(open, open_fn);
	va_list ap;
	va_start(ap, flags);
	mode_t mode = (flags & O_CREAT) ? (mode_t)va_arg(ap, int) : 0;
	va_end(ap);
	int e = open_fault(path, flags);
	if (e) {
		errno = e;
		return -1;
	}
	return real_open(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));
