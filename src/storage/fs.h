/*
 * fs — the local file-system store: the few file operations floe's writers
 * need, each with the durability order spelled out.
 *
 * Invariants:
 *   1. fs_put_durable: when it returns 0 the file at `path` holds exactly the
 *      bytes, they are fsynced, and so is the directory entry. A crash before
 *      that leaves either no file or (for an existing path) the old one.
 *   2. fs_publish: links a fully written, fsynced temp file to its final name
 *      and fails with FLOE_EEXIST if that name exists (never overwrites): this
 *      is the atomic step of an Iceberg commit.
 *   3. A failed fsync is reported as FLOE_EIO and never retried here.
 *   4. ENOSPC / EDQUOT come back as FLOE_ENOSPC, other I/O errors as FLOE_EIO.
 * Thread-safe (no shared state). Errors: FLOE_EIO / FLOE_ENOTFOUND /
 * FLOE_EEXIST / FLOE_ENOMEM with a message naming the path and errno.
 */
#ifndef FLOE_FS_H
#define FLOE_FS_H

#include <stddef.h>
#include <stdint.h>

/* mkdir -p; 0 if it exists already. */
int fs_mkdirs(const char *path, char *err);
/* Writes `data` to `path` via "<path>.tmp-<pid>-<n>", fsync, rename, fsync dir. */
int fs_put_durable(const char *path, const void *data, size_t len, char *err);
/* Writes `data` to a new file `path` (O_EXCL) and fsyncs it; no rename. */
int fs_put_new(const char *path, const void *data, size_t len, char *err);
/* link(tmp, final) then unlink(tmp), fsync the directory. EEXIST if final exists. */
int fs_publish(const char *tmp_path, const char *final_path, char *err);
/* Reads a whole file; *out is malloc'd (NUL-terminated for convenience, not
 * counted in *len); the caller frees it. */
int fs_read_all(const char *path, uint8_t **out, size_t *len, char *err);
int fs_fsync_dir(const char *dir, char *err);
int fs_fsync_fd(int fd, const char *path_for_msg, char *err);
/* Writes all of data to fd (retrying short writes and EINTR). */
int fs_write_all(int fd, const void *data, size_t len, const char *path_for_msg, char *err);
/* rm -rf; 0 if it does not exist. */
int fs_remove_tree(const char *path, char *err);
int fs_exists(const char *path);
/* snprintf into a path buffer; FLOE_EINVAL (message in err) if it does not fit. */
int fs_pathf(char *out, size_t cap, char *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int64_t fs_file_size(const char *path);

#endif
