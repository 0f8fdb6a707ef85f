/*
 * wal — a table's write-ahead log: binary records in segment files, appended
 * before a change is acknowledged, replayed after a crash, deleted once the
 * changes are in a committed Iceberg snapshot.
 *
 * Contract:
 *   1. wal_append gives each record the next LSN (1, 2, 3, ... per log, never
 *      reused, continuing across restarts and truncation).
 *   2. wal_sync(lsn) returns 0 only when every record up to lsn is on stable
 *      storage (fdatasync), unless the log was opened with sync = WAL_SYNC_NONE.
 *      Concurrent callers share one fdatasync (group commit).
 *   3. After any write or sync failure the log is poisoned: every later call
 *      fails with FLOE_EIO and the first error's text. A failed fsync is never
 *      retried (the page cache may have dropped the data).
 *   4. wal_replay visits every intact record with lsn > after_lsn in order. A
 *      damaged record at the very end of the log (torn write) ends replay
 *      there: it is logged and the tail is cut off so appends continue after
 *      the last good record. A damaged record followed by intact ones is
 *      corruption in the middle: FLOE_ECORRUPT naming the file and offset,
 *      and nothing is cut.
 *   5. wal_truncate(lsn) deletes whole segments whose records are all <= lsn;
 *      the active segment is kept.
 * Thread-safe: appends and syncs may come from any thread.
 */
#ifndef FLOE_WAL_H
#define FLOE_WAL_H

#include <stddef.h>
#include <stdint.h>

typedef enum wal_sync_mode { WAL_SYNC_FSYNC, WAL_SYNC_NONE } wal_sync_mode;

typedef struct wal wal;

typedef struct wal_options {
	size_t segment_bytes; /* default 64 MiB */
	wal_sync_mode sync;
} wal_options;

void wal_options_default(wal_options *o);

/* Opens (creating if needed) the log in dir. Call wal_replay before the first
 * append so a torn tail is cut; wal_append refuses until then. */
int wal_open(const char *dir, const wal_options *opts, wal **out, char *err);
void wal_close(wal *w);

typedef int (*wal_replay_fn)(void *ctx, uint64_t lsn, uint8_t kind, const uint8_t *payload,
                             size_t len, char *err);
/* Replays records with lsn > after_lsn; fn returning non-zero stops replay
 * with that code. Sets the next LSN to max(last record, after_lsn) + 1. */
int wal_replay(wal *w, uint64_t after_lsn, wal_replay_fn fn, void *ctx, char *err);

/* Appends one record (written to the OS, not yet synced). *lsn_out = its LSN.
 * The payload may be split in two parts (a header and a body) to save a copy. */
int wal_append(wal *w, uint8_t kind, const void *p1, size_t n1, const void *p2, size_t n2,
               uint64_t *lsn_out, char *err);
int wal_sync(wal *w, uint64_t lsn, char *err);
int wal_truncate(wal *w, uint64_t upto_lsn, char *err);

uint64_t wal_last_lsn(wal *w);
/* Record bytes (headers included) appended since the log was opened. */
uint64_t wal_appended_bytes(wal *w);
/* Bytes in segment files on disk. */
uint64_t wal_disk_bytes(wal *w);

#endif
