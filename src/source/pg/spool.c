/*
 * spool — one streamed transaction's messages on disk (spool.h has the file
 * layout and the subtransaction rule).
 */
#include "source/pg/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "storage/fs.h"

#define SPOOL_WRITE_BUF (1u << 20)

typedef struct sub_start {
	uint32_t subxid;
	uint64_t offset; /* where its first change begins */
} sub_start;

struct pgspool {
	uint32_t xid;
	int fd;
	char path[4096];
	uint64_t flushed; /* bytes in the file */
	buf wbuf;         /* bytes after them, not written yet */
	sub_start *subs;
	size_t nsubs, capsubs;
	uint32_t last_subxid; /* the newest subxid seen (most changes repeat it) */
	/* reading */
	uint64_t rpos;
	buf rbuf;
};

static int spool_io_error(const char *what, const char *path, char *err)
{
	return errf(err, errno == ENOSPC ? FLOE_ENOSPC : FLOE_EIO, "spool %s %s: %s", what, path,
	            strerror(errno));
}

int pgspool_open(const char *dir, uint32_t xid, pgspool **out, char *err)
{
	pgspool *sp = calloc(1, sizeof *sp);
	int rc;
	*out = NULL;
	if (!sp)
		return errf(err, FLOE_ENOMEM, "out of memory");
	sp->xid = sp->last_subxid = xid;
	sp->fd = -1;
	if ((rc = fs_pathf(sp->path, sizeof sp->path, err, "%s/%" PRIu32 ".spool", dir, xid)))
		goto fail;
	sp->fd = open(sp->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (sp->fd < 0) {
		rc = spool_io_error("create", sp->path, err);
		goto fail;
	}
	*out = sp;
	return 0;
fail:
	free(sp);
	return rc;
}

uint32_t pgspool_xid(const pgspool *sp)
{
	return sp->xid;
}

uint64_t pgspool_bytes(const pgspool *sp)
{
	return sp->flushed + sp->wbuf.len;
}

static int spool_flush(pgspool *sp, char *err)
{
	if (sp->wbuf.len == 0)
		return 0;
	if (pwrite(sp->fd, sp->wbuf.data, sp->wbuf.len, (off_t)sp->flushed) !=
	    (ssize_t)sp->wbuf.len)
		return spool_io_error("write", sp->path, err);
	sp->flushed += sp->wbuf.len;
	buf_reset(&sp->wbuf);
	return 0;
}

/* Records where subxid's first change begins, once. */
static int note_sub(pgspool *sp, uint32_t subxid, char *err)
{
	if (subxid == sp->last_subxid)
		return 0;
	sp->last_subxid = subxid;
	if (subxid == sp->xid)
		return 0;
	for (size_t i = 0; i < sp->nsubs; i++)
		if (sp->subs[i].subxid == subxid)
			return 0;
	if (sp->nsubs == sp->capsubs) {
		size_t cap = sp->capsubs ? 2 * sp->capsubs : 16;
		sub_start *s = realloc(sp->subs, cap * sizeof *s);
		if (!s)
			return errf(err, FLOE_ENOMEM, "out of memory");
		sp->subs = s;
		sp->capsubs = cap;
	}
	sp->subs[sp->nsubs++] = (sub_start){subxid, pgspool_bytes(sp)};
	return 0;
}

int pgspool_append(pgspool *sp, uint32_t subxid, const uint8_t *msg, size_t len, char *err)
{
	if (len > UINT32_MAX)
		return errf(err, FLOE_ETOOBIG, "spool: a message of %zu bytes", len);
	int rc = note_sub(sp, subxid, err);
	if (rc)
		return rc;
	if (sp->wbuf.len + 4 + len > SPOOL_WRITE_BUF && (rc = spool_flush(sp, err)))
		return rc;
	buf_put_le32(&sp->wbuf, (uint32_t)len);
	buf_append(&sp->wbuf, msg, len);
	if (!buf_ok(&sp->wbuf))
		return errf(err, FLOE_ENOMEM, "out of memory");
	return 0;
}

int pgspool_abort_sub(pgspool *sp, uint32_t subxid, char *err)
{
	size_t i = 0;
	while (i < sp->nsubs && sp->subs[i].subxid != subxid)
		i++;
	if (i == sp->nsubs)
		return 0;
	uint64_t cut = sp->subs[i].offset;
	if (cut >= sp->flushed) {
		sp->wbuf.len = (size_t)(cut - sp->flushed);
	} else {
		buf_reset(&sp->wbuf);
		if (ftruncate(sp->fd, (off_t)cut) != 0)
			return spool_io_error("truncate", sp->path, err);
		sp->flushed = cut;
	}
	sp->nsubs = i;
	sp->last_subxid = sp->xid; /* the parent writes next */
	return 0;
}

int pgspool_rewind(pgspool *sp, char *err)
{
	sp->rpos = 0;
	return spool_flush(sp, err);
}

/* Reads exactly n bytes at sp->rpos into sp->rbuf. */
static int spool_read(pgspool *sp, size_t n, char *err)
{
	buf_reset(&sp->rbuf);
	if (buf_reserve(&sp->rbuf, n ? n : 1))
		return errf(err, FLOE_ENOMEM, "out of memory for a %zu-byte message", n);
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(sp->fd, sp->rbuf.data + got, n - got, (off_t)(sp->rpos + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return spool_io_error("read", sp->path, err);
		if (r == 0)
			return errf(err, FLOE_ECORRUPT, "spool %s: ends inside a message",
			            sp->path);
		got += (size_t)r;
	}
	sp->rbuf.len = n;
	sp->rpos += n;
	return 0;
}

int pgspool_next(pgspool *sp, const uint8_t **msg, size_t *len, char *err)
{
	*msg = NULL;
	*len = 0;
	if (sp->rpos >= sp->flushed)
		return 0;
	int rc = spool_read(sp, 4, err);
	if (rc)
		return rc;
	size_t n = get_le32(sp->rbuf.data);
	if ((rc = spool_read(sp, n, err)))
		return rc;
	*msg = sp->rbuf.data;
	*len = n;
	return 0;
}

void pgspool_remove(pgspool *sp)
{
	if (!sp)
		return;
	if (sp->fd >= 0)
		close(sp->fd);
	unlink(sp->path);
	buf_release(&sp->wbuf);
	buf_release(&sp->rbuf);
	free(sp->subs);
	free(sp);
}

int pgspool_clear_dir(const char *dir, char *err)
{
	int rc = fs_mkdirs(dir, err);
	if (rc)
		return rc;
	DIR *d = opendir(dir);
	if (!d)
		return errf(err, FLOE_EIO, "open %s: %s", dir, strerror(errno));
	struct dirent *e;
	char path[4096];
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 6 || strcmp(e->d_name + n - 6, ".spool") != 0)
			continue;
		if (fs_pathf(path, sizeof path, NULL, "%s/%s", dir, e->d_name) == 0)
			unlink(path);
	}
	closedir(d);
	return 0;
}
