/*
 * wal — segment files of length-prefixed, CRC32C-checked records (contract in
 * wal.h).
 *
 * Files: <dir>/<first-lsn as 16 hex digits>.wal, one per segment, LSNs
 * contiguous across segments.
 *
 * Segment header (32 bytes, little-endian):
 *    0  8  magic "FLOEWAL" 0x01
 *    8  8  first_lsn: LSN of the first record this segment holds (or will)
 *   16  4  format version = 1
 *   20  8  reserved, zero
 *   28  4  CRC32C of bytes 0..27
 * Record (20-byte header + payload):
 *    0  4  payload length n (<= WAL_MAX_RECORD)
 *    4  4  CRC32C of bytes 8 .. 20+n (lsn, kind, padding and payload)
 *    8  8  lsn (= previous record's lsn + 1)
 *   16  1  kind (meaning is the caller's)
 *   17  3  zero
 *   20  n  payload
 * A record is intact when its header and payload lie inside the file, the CRC
 * matches and the lsn is the expected next one.
 *
 * Durability order: records are written with one writev per record under the
 * lock; wal_sync elects one caller (the leader) to fdatasync the active
 * segment for everyone written so far, the others wait on `synced`. A segment
 * is fdatasynced before the log moves to the next one, and a new segment's
 * directory entry is fsynced before records go into it.
 */
#include "table/wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/err.h"
#include "base/log.h"
#include "storage/fs.h"

#define WAL_MAGIC      "FLOEWAL\x01"
#define WAL_HEADER     32
#define WAL_REC_HEADER 20
#define WAL_MAX_RECORD ((size_t)1 << 30)

typedef struct segment {
	uint64_t first_lsn;
	uint64_t size;
} segment;

struct wal {
	char *dir;
	wal_options opts;
	pthread_mutex_t mu;
	pthread_cond_t synced_cond;
	segment *segs; /* sorted by first_lsn; the last one is active */
	size_t nsegs, capsegs;
	int fd; /* active segment, -1 until replay */
	int replayed;
	uint64_t next_lsn, written_lsn, synced_lsn;
	uint64_t appended_bytes; /* record bytes (headers included) written since open */
	int syncing;
	int poisoned;
	char poison_msg[ERR_LEN];
};

void wal_options_default(wal_options *o)
{
	o->segment_bytes = (size_t)64 << 20;
	o->sync = WAL_SYNC_FSYNC;
}

static int seg_path(const wal *w, uint64_t first_lsn, char *out, size_t cap, char *err)
{
	return fs_pathf(out, cap, err, "%s/%016" PRIx64 ".wal", w->dir, first_lsn);
}

static int poison(wal *w, int code, const char *msg)
{
	if (!w->poisoned) {
		w->poisoned = 1;
		snprintf(w->poison_msg, sizeof w->poison_msg, "%s", msg);
		log_error("wal %s: %s; the log refuses writes from now on", w->dir, msg);
	}
	pthread_cond_broadcast(&w->synced_cond);
	return code;
}

static int poisoned_err(wal *w, char *err)
{
	return errf(err, FLOE_EIO, "write-ahead log failed earlier: %s", w->poison_msg);
}

static int add_segment(wal *w, uint64_t first_lsn, uint64_t size, char *err)
{
	if (w->nsegs == w->capsegs) {
		size_t cap = w->capsegs ? w->capsegs * 2 : 8;
		segment *s = realloc(w->segs, cap * sizeof *s);
		if (!s)
			return errf(err, FLOE_ENOMEM, "out of memory");
		w->segs = s;
		w->capsegs = cap;
	}
	w->segs[w->nsegs].first_lsn = first_lsn;
	w->segs[w->nsegs].size = size;
	w->nsegs++;
	return 0;
}

static int cmp_seg(const void *a, const void *b)
{
	uint64_t x = ((const segment *)a)->first_lsn, y = ((const segment *)b)->first_lsn;
	return x < y ? -1 : x > y;
}

int wal_open(const char *dir, const wal_options *opts, wal **out, char *err)
{
	wal *w = calloc(1, sizeof *w);
	DIR *d = NULL;
	int rc;
	if (!w)
		return errf(err, FLOE_ENOMEM, "out of memory");
	w->fd = -1;
	w->opts = *opts;
	w->next_lsn = 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->synced_cond, NULL);
	if (!(w->dir = strdup(dir))) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = fs_mkdirs(dir, err)))
		goto fail;
	d = opendir(dir);
	if (!d) {
		rc = errf(err, FLOE_EIO, "opendir %s: %s", dir, strerror(errno));
		goto fail;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		uint64_t lsn;
		char tail[8];
		if (strlen(de->d_name) != 20 ||
		    sscanf(de->d_name, "%16" SCNx64 "%7s", &lsn, tail) != 2 ||
		    strcmp(tail, ".wal") != 0)
			continue;
		char path[4096];
		if ((rc = seg_path(w, lsn, path, sizeof path, err)))
			goto fail;
		if ((rc = add_segment(w, lsn, (uint64_t)fs_file_size(path), err)))
			goto fail;
	}
	closedir(d);
	d = NULL;
	if (w->nsegs > 1)
		qsort(w->segs, w->nsegs, sizeof *w->segs, cmp_seg);
	*out = w;
	return 0;
fail:
	if (d)
		closedir(d);
	wal_close(w);
	return rc;
}

void wal_close(wal *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->synced_cond);
	free(w->segs);
	free(w->dir);
	free(w);
}

static void encode_seg_header(uint8_t h[WAL_HEADER], uint64_t first_lsn)
{
	memset(h, 0, WAL_HEADER);
	memcpy(h, WAL_MAGIC, 8);
	put_le64(h + 8, first_lsn);
	put_le32(h + 16, 1);
	put_le32(h + 28, crc32c(0, h, 28));
}

/* Starts a new segment whose first record will be w->next_lsn (mu held). */
static int start_segment(wal *w, char *err)
{
	char path[4096];
	uint8_t h[WAL_HEADER];
	int rc = seg_path(w, w->next_lsn, path, sizeof path, err);
	if (rc)
		return rc;
	encode_seg_header(h, w->next_lsn);
	/* An empty segment already named after next_lsn is simply reused. */
	if (w->nsegs && w->segs[w->nsegs - 1].first_lsn == w->next_lsn)
		w->nsegs--;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return errf(err, FLOE_EIO, "create %s: %s", path, strerror(errno));
	if ((rc = fs_write_all(fd, h, sizeof h, path, err)) ||
	    (w->opts.sync == WAL_SYNC_FSYNC &&
	     ((rc = fs_fsync_fd(fd, path, err)) || (rc = fs_fsync_dir(w->dir, err))))) {
		close(fd);
		return rc;
	}
	if ((rc = add_segment(w, w->next_lsn, WAL_HEADER, err))) {
		close(fd);
		return rc;
	}
	if (w->fd >= 0)
		close(w->fd);
	w->fd = fd;
	return 0;
}

/* Deletes the first n segments (mu held). Oldest first, so a crash midway
 * leaves a contiguous suffix of the log. */
static int remove_segments(wal *w, size_t n, char *err)
{
	size_t done = 0;
	int rc = 0;
	for (; done < n; done++) {
		char path[4096];
		if ((rc = seg_path(w, w->segs[done].first_lsn, path, sizeof path, err)))
			break;
		if (unlink(path) != 0 && errno != ENOENT) {
			rc = errf(err, FLOE_EIO, "unlink %s: %s", path, strerror(errno));
			break;
		}
	}
	if (done > 0) {
		memmove(w->segs, w->segs + done, (w->nsegs - done) * sizeof *w->segs);
		w->nsegs -= done;
	}
	return rc;
}

/* Is there an intact record anywhere in [from, size) with an lsn above
 * `after`? Used only after a damaged record, to tell a torn tail (nothing
 * intact follows) from corruption in the middle. */
static int intact_record_after(const uint8_t *p, size_t size, size_t from, uint64_t after)
{
	for (size_t off = from; off + WAL_REC_HEADER <= size; off++) {
		uint64_t lsn = get_le64(p + off + 8);
		uint32_t n = get_le32(p + off);
		if (lsn <= after || lsn > after + (1u << 24) || n > size - off - WAL_REC_HEADER)
			continue;
		if (crc32c(0, p + off + 8, 12 + (size_t)n) == get_le32(p + off + 4))
			return 1;
	}
	return 0;
}

/* Replays one segment (mapped at p). Sets *torn_at to the offset of a damaged
 * tail record, or 0 if the segment ends cleanly. */
static int replay_segment(wal *w, size_t idx, const uint8_t *p, size_t size, uint64_t after_lsn,
                          wal_replay_fn fn, void *ctx, uint64_t *expect, size_t *torn_at,
                          const char *path, char *err)
{
	uint8_t h[WAL_HEADER];
	int last = idx + 1 == w->nsegs;
	*torn_at = 0;
	if (size < WAL_HEADER) {
		if (last) { /* crashed while creating it */
			*torn_at = 0;
			return 1;
		}
		return errf(err, FLOE_ECORRUPT, "wal %s: segment shorter than its header", path);
	}
	encode_seg_header(h, w->segs[idx].first_lsn);
	if (memcmp(h, p, WAL_HEADER) != 0)
		return errf(err, FLOE_ECORRUPT, "wal %s: bad segment header at offset 0", path);
	if (*expect != 0 && w->segs[idx].first_lsn != *expect)
		return errf(err, FLOE_ECORRUPT,
		            "wal %s: segment starts at lsn %" PRIu64 " but lsn %" PRIu64
		            " was expected (a segment is missing)",
		            path, w->segs[idx].first_lsn, *expect);
	*expect = w->segs[idx].first_lsn;
	size_t off = WAL_HEADER;
	while (off < size) {
		const char *why = NULL;
		uint32_t n = 0;
		if (size - off < WAL_REC_HEADER) {
			why = "record header cut short";
		} else {
			n = get_le32(p + off);
			if (n > WAL_MAX_RECORD || n > size - off - WAL_REC_HEADER)
				why = "record length runs past the end of the file";
			else if (crc32c(0, p + off + 8, 12 + (size_t)n) != get_le32(p + off + 4))
				why = "checksum mismatch";
			else if (get_le64(p + off + 8) != *expect)
				why = "unexpected lsn";
		}
		if (why) {
			if (!last || intact_record_after(p, size, off + 1, *expect - 1))
				return errf(err, FLOE_ECORRUPT,
				            "wal %s: corrupt record at offset %zu (%s) followed by "
				            "intact records; refusing to drop them",
				            path, off, why);
			log_warn(
			    "wal %s: torn record at offset %zu (%s): replay ends at lsn %" PRIu64,
			    path, off, why, *expect - 1);
			*torn_at = off;
			return 1;
		}
		uint64_t lsn = *expect;
		if (lsn > after_lsn) {
			int rc = fn(ctx, lsn, p[off + 16], p + off + WAL_REC_HEADER, n, err);
			if (rc)
				return rc;
		}
		(*expect)++;
		off += WAL_REC_HEADER + n;
	}
	return 0;
}

int wal_replay(wal *w, uint64_t after_lsn, wal_replay_fn fn, void *ctx, char *err)
{
	uint64_t expect = 0;
	int rc = 0;
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < w->nsegs; i++) {
		char path[4096];
		if ((rc = seg_path(w, w->segs[i].first_lsn, path, sizeof path, err)))
			goto out;
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			rc = errf(err, FLOE_EIO, "open %s: %s", path, strerror(errno));
			goto out;
		}
		struct stat st;
		if (fstat(fd, &st) != 0) {
			rc = errf(err, FLOE_EIO, "stat %s: %s", path, strerror(errno));
			close(fd);
			goto out;
		}
		size_t size = (size_t)st.st_size;
		const uint8_t *p = NULL;
		if (size > 0) {
			p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
			if (p == MAP_FAILED) {
				rc = errf(err, FLOE_EIO, "mmap %s: %s", path, strerror(errno));
				close(fd);
				goto out;
			}
		}
		size_t torn_at = 0;
		uint64_t seg_first = w->segs[i].first_lsn;
		if (expect == 0)
			expect = seg_first;
		rc = replay_segment(w, i, p ? p : (const uint8_t *)"", size, after_lsn, fn, ctx,
		                    &expect, &torn_at, path, err);
		if (p)
			munmap((void *)p, size);
		if (rc == 1) { /* torn tail in the last segment: cut it */
			rc = 0;
			if (torn_at < WAL_HEADER) {
				close(fd);
				unlink(path);
				w->nsegs--;
				fd = -1;
			} else if (ftruncate(fd, (off_t)torn_at) != 0 || fsync(fd) != 0) {
				rc = errf(err, FLOE_EIO, "truncate %s: %s", path, strerror(errno));
			} else {
				w->segs[i].size = torn_at;
			}
		}
		if (fd >= 0)
			close(fd);
		if (rc)
			goto out;
	}
	w->next_lsn = (expect ? expect : 1);
	if (w->next_lsn <= after_lsn + 1) {
		/* Every record on disk is already in a committed snapshot: the log
		 * restarts empty right after it. */
		w->next_lsn = after_lsn + 1;
		if ((rc = remove_segments(w, w->nsegs, err)))
			goto out;
	}
	w->written_lsn = w->synced_lsn = w->next_lsn - 1;
	/* Appends go to a fresh segment (the old ones stay as they are; the LSN
	 * in a segment's name must equal its first record). */
	if ((rc = start_segment(w, err)))
		goto out;
	w->replayed = 1;
out:
	pthread_mutex_unlock(&w->mu);
	return rc;
}

/* Waits until no fdatasync is in flight (mu held): rotation and truncation
 * must not close the fd a leader is syncing. */
static void wait_no_sync(wal *w)
{
	while (w->syncing)
		pthread_cond_wait(&w->synced_cond, &w->mu);
}

/* Moves appends to a new segment (mu held): the old one is synced first so
 * "synced_lsn" never skips records of an older fd. */
static int rotate(wal *w, char *err)
{
	wait_no_sync(w);
	if (w->opts.sync == WAL_SYNC_FSYNC && fdatasync(w->fd) != 0) {
		char msg[ERR_LEN];
		snprintf(msg, sizeof msg, "fdatasync: %s", strerror(errno));
		return errf(err, poison(w, FLOE_EIO, msg), "write-ahead log: %s", msg);
	}
	w->synced_lsn = w->written_lsn;
	int rc = start_segment(w, err);
	if (rc)
		return poison(w, rc, err);
	return 0;
}

int wal_append(wal *w, uint8_t kind, const void *p1, size_t n1, const void *p2, size_t n2,
               uint64_t *lsn_out, char *err)
{
	uint8_t h[WAL_REC_HEADER];
	size_t n = n1 + n2;
	int rc = 0;
	if (n > WAL_MAX_RECORD)
		return errf(err, FLOE_ETOOBIG, "record of %zu bytes is over the WAL limit", n);
	pthread_mutex_lock(&w->mu);
	if (w->poisoned) {
		rc = poisoned_err(w, err);
		goto out;
	}
	if (!w->replayed) {
		rc = errf(err, FLOE_EINVAL, "wal %s: append before replay", w->dir);
		goto out;
	}
	segment *active = &w->segs[w->nsegs - 1];
	if (active->size > WAL_HEADER &&
	    active->size + WAL_REC_HEADER + n > w->opts.segment_bytes) {
		if ((rc = rotate(w, err)))
			goto out;
		active = &w->segs[w->nsegs - 1];
	}
	uint64_t lsn = w->next_lsn;
	put_le32(h, (uint32_t)n);
	put_le64(h + 8, lsn);
	h[16] = kind;
	h[17] = h[18] = h[19] = 0;
	uint32_t crc = crc32c(0, h + 8, 12);
	crc = crc32c(crc, p1, n1);
	crc = crc32c(crc, p2, n2);
	put_le32(h + 4, crc);
	struct iovec iov[3] = {{h, sizeof h}, {(void *)p1, n1}, {(void *)p2, n2}};
	size_t total = sizeof h + n, done = 0;
	int iovcnt = 3, first = 0;
	while (done < total) {
		ssize_t wr = writev(w->fd, iov + first, iovcnt - first);
		if (wr < 0 && errno == EINTR)
			continue;
		if (wr <= 0) {
			int e = wr < 0 ? errno : EIO;
			/* Cut the partial record off so the log stays clean and later
			 * appends can succeed once there is room again (a full disk is
			 * not a reason to give up on the log). If even that fails the
			 * log is poisoned; the partial record is then a torn tail. */
			if (ftruncate(w->fd, (off_t)active->size) == 0) {
				rc = errf(err, e == ENOSPC || e == EDQUOT ? FLOE_ENOSPC : FLOE_EIO,
				          "write-ahead log: write: %s", strerror(e));
			} else {
				char msg[ERR_LEN];
				snprintf(msg, sizeof msg, "write: %s", strerror(e));
				rc =
				    errf(err, poison(w, FLOE_EIO, msg), "write-ahead log: %s", msg);
			}
			goto out;
		}
		done += (size_t)wr;
		size_t left = (size_t)wr;
		while (first < iovcnt && left >= iov[first].iov_len) {
			left -= iov[first].iov_len;
			first++;
		}
		if (first < iovcnt) {
			iov[first].iov_base = (uint8_t *)iov[first].iov_base + left;
			iov[first].iov_len -= left;
		}
	}
	active->size += total;
	w->appended_bytes += total;
	w->next_lsn = lsn + 1;
	w->written_lsn = lsn;
	if (lsn_out)
		*lsn_out = lsn;
out:
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int wal_sync(wal *w, uint64_t lsn, char *err)
{
	int rc = 0;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		if (w->poisoned) {
			rc = poisoned_err(w, err);
			break;
		}
		if (w->synced_lsn >= lsn)
			break;
		if (w->opts.sync == WAL_SYNC_NONE) {
			w->synced_lsn = w->written_lsn;
			continue;
		}
		if (w->syncing) {
			pthread_cond_wait(&w->synced_cond, &w->mu);
			continue;
		}
		/* Leader: sync everything written so far, for every waiter. */
		w->syncing = 1;
		uint64_t target = w->written_lsn;
		int fd = w->fd;
		pthread_mutex_unlock(&w->mu);
		int r = fdatasync(fd);
		int e = errno;
		pthread_mutex_lock(&w->mu);
		w->syncing = 0;
		if (r != 0) {
			char msg[ERR_LEN];
			snprintf(msg, sizeof msg, "fdatasync: %s", strerror(e));
			poison(w, FLOE_EIO, msg);
			continue;
		}
		if (target > w->synced_lsn)
			w->synced_lsn = target;
		pthread_cond_broadcast(&w->synced_cond);
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

int wal_truncate(wal *w, uint64_t upto_lsn, char *err)
{
	int rc = 0;
	pthread_mutex_lock(&w->mu);
	if (w->poisoned) {
		rc = poisoned_err(w, err);
		goto out;
	}
	/* If everything in the active segment is covered, start a new one so the
	 * old can go: the log on disk shrinks to a header after each commit. */
	segment *active = &w->segs[w->nsegs - 1];
	if (w->replayed && active->size > WAL_HEADER && w->written_lsn <= upto_lsn &&
	    (rc = rotate(w, err)))
		goto out;
	size_t keep_from = 0;
	while (keep_from + 1 < w->nsegs && w->segs[keep_from + 1].first_lsn <= upto_lsn + 1)
		keep_from++;
	rc = remove_segments(w, keep_from, err);
out:
	pthread_mutex_unlock(&w->mu);
	return rc;
}

uint64_t wal_last_lsn(wal *w)
{
	pthread_mutex_lock(&w->mu);
	uint64_t v = w->next_lsn - 1;
	pthread_mutex_unlock(&w->mu);
	return v;
}

uint64_t wal_appended_bytes(wal *w)
{
	pthread_mutex_lock(&w->mu);
	uint64_t v = w->appended_bytes;
	pthread_mutex_unlock(&w->mu);
	return v;
}

uint64_t wal_disk_bytes(wal *w)
{
	uint64_t total = 0;
	pthread_mutex_lock(&w->mu);
	for (size_t i = 0; i < w->nsegs; i++)
		total += w->segs[i].size;
	pthread_mutex_unlock(&w->mu);
	return total;
}
