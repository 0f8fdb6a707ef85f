/*
 * table — one floe table: its Iceberg table, its schema, and the writer thread
 * that owns both.
 *
 * Threads: every mutation happens on the table's writer thread; other threads
 * talk to it only through table_submit / table_flush (a message queue), and
 * read counters through atomics or table_describe (which takes the state lock
 * briefly). So the Iceberg state, the in-memory rows and the file writers need
 * no locks of their own.
 *
 * Write path: a source parses a request into a batch (all or nothing), then
 * table_submit appends it to the table's write-ahead log, waits until the log
 * is durable (group commit) and hands the batch over. The writer keeps
 * batches in memory and
 * commits them as one Parquet data file + one Iceberg snapshot when
 *   (a) the rows in memory reach config.flush_bytes (uncompressed), or
 *   (b) config.commit_interval_ms has passed since the first uncommitted row, or
 *   (c) a sync submit or table_flush asks for it.
 * Invariants:
 *   1. A batch is committed whole or not at all; batches commit in submit order.
 *   2. A sync submit returns only after its rows are in a committed snapshot.
 *   3. table_submit returns 0 only after the batch is durable in the WAL
 *      (unless wal_sync is "none"); the LSN it returns is the WAL record's.
 *      Each snapshot records in its summary (floe.lsn) the highest LSN it
 *      holds; the WAL is truncated up to it after the commit.
 *   4. A failed commit leaves the table unchanged (new files are removed) and
 *      puts it in read-only mode: submits answer FLOE_ENOSPC (disk full) or
 *      FLOE_EIO with the reason, while the writer retries the commit with
 *      back-off (the rows are safe in the WAL); the first successful commit
 *      lifts the mode. A failed WAL fsync is different: the log is poisoned
 *      and the table stays read-only until restart (never retried).
 *   5. Memory is bounded: when rows in memory + queued exceed
 *      config.max_memory_bytes, or all tables together exceed the shared
 *      budget, table_submit answers FLOE_EBUSY (HTTP 429).
 *   6. Opening a table replays WAL records above the snapshot's floe.lsn and
 *      commits them before the table serves.
 */
#ifndef FLOE_TABLE_H
#define FLOE_TABLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "format/parquet.h"
#include "table/batch.h"
#include "table/coltype.h"
#include "table/wal.h"

/* Memory shared by all tables of a server (bytes accepted, not yet committed). */
typedef struct mem_budget {
	_Atomic size_t used;
	size_t limit; /* 0: no limit */
} mem_budget;

typedef struct table_config {
	int commit_interval_ms;   /* default 1000 */
	size_t flush_bytes;       /* default 128 MiB */
	size_t row_group_bytes;   /* default 128 MiB */
	size_t max_memory_bytes;  /* default 1 GiB */
	pq_codec codec;           /* default ZSTD */
	int zstd_level;           /* default 3 */
	wal_sync_mode wal_sync;   /* default WAL_SYNC_FSYNC */
	size_t wal_segment_bytes; /* default 64 MiB */
	int orphan_grace_s; /* unreferenced files older than this are removed at open; default 600
	                     */
	mem_budget *budget; /* shared; NULL: none */
	/* 1: a source that keeps its own log feeds the table (PostgreSQL CDC,
	 * see "Source-driven tables" below). Kept in the table properties
	 * (floe.source-driven) so it survives a restart. */
	int source_driven;
} table_config;

void table_config_default(table_config *c);

typedef struct floe_table floe_table;

/* Row identity: a primary key; the full row (no key, insert and delete);
 * or append-only (no index, insert only). */
typedef struct table_identity {
	int primary_key; /* 1: cols[0..nkey) are the key */
	int full_row;    /* 1: full-row identity (primary_key = 0) */
	int nkey;
	int cols[16]; /* schema column indexes, in key order */
} table_identity;

/* Creates the Iceberg table under dir (which must not exist yet) with its WAL
 * in wal_dir, and starts its writer. `name`, `database`, `table` are kept in
 * the table properties so a restart finds them. */
int table_create(const char *dir, const char *wal_dir, const char *name, const char *database,
                 const char *table, const floe_schema *schema, const table_identity *ident,
                 const table_config *cfg, floe_table **out, char *err);
/* Loads an existing table from its Iceberg metadata, replays and commits its
 * WAL, removes orphan files, and starts its writer. */
int table_open(const char *dir, const char *wal_dir, const table_config *cfg, floe_table **out,
               char *err);
/* Stops the writer after committing whatever is in memory; frees t. Returns
 * the final commit's status (the table is freed either way). NULL is a no-op. */
int table_close(floe_table *t, char *err);

/* The server is stopping: a sync request waiting on a table that cannot
 * commit (read-only) gets its answer now instead of holding up the shutdown;
 * its rows stay in the WAL. */
void table_begin_shutdown(floe_table *t);
const char *table_name(const floe_table *t);
const char *table_database(const floe_table *t);
const char *table_tablename(const floe_table *t);
const char *table_dir(const floe_table *t);
const floe_schema *table_schema(const floe_table *t);

/* WAL record kinds (the operation a batch carries). */
enum { TABLE_OP_INSERT = 1, TABLE_OP_UPSERT = 2, TABLE_OP_UPDATE = 3, TABLE_OP_DELETE = 4 };
/* Source-driven tables only, never in the WAL: every row goes (rows NULL). */
enum { TABLE_OP_TRUNCATE = 5 };

/* "insert", "upsert", "update", "delete". */
const char *table_op_name(int op);

typedef struct submit_result {
	int64_t lsn;    /* WAL LSN of the request */
	size_t deleted; /* delete: rows that existed and were deleted */
} submit_result;

/* Applies one request (op is TABLE_OP_*): logs it and hands it to the
 * writer. Ownership of rows passes to the table when *taken = 1; otherwise
 * the caller still owns (and frees) it. Returns 0 when the change is durable
 * (and, with sync, committed). Errors: FLOE_EINVAL (update/delete on an
 * append-only table, a missing key value), FLOE_EEXIST (insert of a present
 * key), FLOE_ENOTFOUND (update of an absent key; or the table is shutting
 * down), FLOE_EBUSY (memory limit), FLOE_ENOSPC / FLOE_EIO (read-only).
 * An error after the WAL append (fsync failure) leaves the outcome unknown. */
int table_submit(floe_table *t, int op, batch *rows, int sync, submit_result *res, int *taken,
                 char *err);
/* The table's primary key column names ("id", "region"), or nkey = 0. */
int table_key_columns(const floe_table *t, const int **cols);
/* Commits everything submitted before the call; *snapshot_id_out = the current
 * snapshot after it (-1 if the table has none). */
int table_flush(floe_table *t, int64_t *snapshot_id_out, char *err);

/* {"name","database","table","schema":[...],"location","metadata_location",
 *   "current_snapshot_id","sequence_number","row_count","rows_in_memory",
 *   "data_files","last_commit_ms","commits"} — new reference. With brief=1 the
 * schema is left out. */
json_t *table_describe(floe_table *t, int brief);

/* ---- Source-driven tables ----
 * A source with its own durable log (a PostgreSQL replication slot) feeds
 * the table; the source, not the table, decides what a snapshot holds:
 *   1. Changes skip floe's WAL: after a crash the source replays them from
 *      its log, starting after the floe.lsn of the table's last snapshot.
 *   2. The writer commits only when the source asks (table_source_commit),
 *      so a snapshot ends at a boundary the source chose (a transaction
 *      commit) and records the source's position as floe.lsn. Memory limits
 *      do not refuse changes; the source commits often enough.
 *   3. A transaction may be larger than memory: the source applies it in
 *      pieces, and whenever config.flush_bytes of rows are in memory the
 *      writer stages them (a durable data file in no snapshot); the next
 *      commit adds every staged file at once. Until then readers see none
 *      of it; table_source_rollback (or a crash) throws it away.
 *   4. Changes apply in submit order; a failed apply (out of memory) leaves
 *      the table read-only until restart, like a poisoned WAL. A failed
 *      staging leaves it read-only until table_source_rollback.
 */

/* Applies one change (op TABLE_OP_*; rows NULL for TRUNCATE). `unchanged`
 * (rows->nrows x schema columns bytes, or NULL) marks values the source did
 * not send because they did not change (PostgreSQL's unchanged TOAST
 * values): with op UPSERT on a keyed table they keep the current value of
 * the row with the same key — or, when `lookup` is given (same shape and
 * row count as rows), of the row whose key is in lookup's row (an UPDATE
 * that changed the key) — read from memory or from the row's data file. A
 * row with unchanged values must be the first of its key in the request.
 * Ownership of rows as in table_submit; lookup stays the caller's. */
int table_source_apply(floe_table *t, int op, batch *rows, const uint8_t *unchanged,
                       const batch *lookup, submit_result *res, int *taken, char *err);
/* Commits every change applied so far as one snapshot whose summary has
 * floe.lsn = source_lsn (when >= 0) and floe.phase = phase (when not NULL),
 * and waits for it. No snapshot when nothing changed. */
int table_source_commit(floe_table *t, int64_t source_lsn, const char *phase, char *err);
/* Forgets every change applied since the last commit (memory, staged
 * files, pending deletes, a pending TRUNCATE): the table is as its current
 * snapshot, its index rebuilt from it. For a source whose transaction was
 * cut off after parts of it were applied. */
int table_source_rollback(floe_table *t, char *err);
/* The source expects about `rows` keys (an initial copy): a keyed table
 * sizes its index once instead of growing it step by step. */
int table_source_reserve(floe_table *t, size_t rows, char *err);
/* Bulk load (a source's initial copy): writes rows[0..n) as a data file
 * and its key list on the calling thread, so several loaders encode in
 * parallel, then has the writer stage it (rule 3: the next commit adds it)
 * and index its keys from the key list. The rows stay the caller's and are
 * only read. The caller promises that no key of these rows is in the table
 * or in other changes until that commit (a copy of a primary-key table into
 * a table it truncated); a key found twice fails the load with FLOE_EEXIST
 * and the table unchanged. The schema must not change meanwhile (a source
 * applies no change to a table it is copying). */
int table_source_load(floe_table *t, batch *const *rows, size_t n, char *err);
/* floe.lsn of the current snapshot (-1 when the table has none). */
int64_t table_snapshot_lsn(floe_table *t);
/* Bytes applied and not committed yet. */
size_t table_bytes_pending(floe_table *t);
/* Schema evolution (any table): `schema` is the new column list. Columns
 * are matched by field_id; field_id 0 marks a new column (the table gives it
 * the next id); a column whose id is absent is dropped; a type may only
 * widen (int16/int32 -> int64, float32 -> float64, decimal(p,s) ->
 * decimal(p',s) with p' > p); the key columns must stay. Rows in memory are
 * converted; the Iceberg schema changes in a metadata-only commit.
 * defaults (NULL, or one row shaped like schema): an added column whose
 * value there is not null had that value in every existing row (PostgreSQL's
 * ADD COLUMN ... DEFAULT): rows in memory get it, and the field records it
 * as its Iceberg initial-default for the files written before.
 * Source-driven tables only (a WAL record knows one schema). */
int table_alter_schema(floe_table *t, const floe_schema *schema, const batch *defaults, char *err);

typedef struct table_stats {
	uint64_t rows_ingested;
	uint64_t batches;
	uint64_t commits;
	uint64_t commit_failures;
	uint64_t bytes_written; /* Parquet + metadata bytes */
	uint64_t rows_in_memory;
	uint64_t bytes_in_memory;
	uint64_t data_files;
	int64_t total_records;
	uint64_t wal_bytes;          /* WAL segment bytes on disk */
	uint64_t wal_bytes_appended; /* WAL record bytes written since start */
	uint64_t wal_records_replayed;
	int read_only;
} table_stats;
void table_get_stats(floe_table *t, table_stats *out);

#endif
