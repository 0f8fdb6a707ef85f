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
 * table_submit hands the batch over. The writer keeps batches in memory and
 * commits them as one Parquet data file + one Iceberg snapshot when
 *   (a) the rows in memory reach config.flush_bytes (uncompressed), or
 *   (b) config.commit_interval_ms has passed since the first uncommitted row, or
 *   (c) a sync submit or table_flush asks for it.
 * Invariants:
 *   1. A batch is committed whole or not at all; batches commit in submit order.
 *   2. A sync submit returns only after its rows are in a committed snapshot.
 *   3. After a commit failure the table turns read-only (table_submit answers
 *      FLOE_EIO with the reason) and the rows in memory are kept, never
 *      half-written to the table; no commit is retried blindly.
 *   4. Memory is bounded: when rows in memory + queued exceed
 *      config.max_memory_bytes, table_submit answers FLOE_EBUSY (HTTP 429).
 * Until the write-ahead log exists, rows acknowledged by an async submit but not
 * yet committed are lost if the process dies.
 */
#ifndef FLOE_TABLE_H
#define FLOE_TABLE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "format/parquet.h"
#include "table/batch.h"
#include "table/coltype.h"

typedef struct table_config {
	int commit_interval_ms;   /* default 1000 */
	size_t flush_bytes;       /* default 128 MiB */
	size_t row_group_bytes;   /* default 128 MiB */
	size_t max_memory_bytes;  /* default 1 GiB */
	pq_codec codec;           /* default ZSTD */
	int zstd_level;           /* default 3 */
} table_config;

void table_config_default(table_config *c);

typedef struct floe_table floe_table;

/* Creates the Iceberg table under dir (which must not exist yet) and starts
 * its writer. `name`, `database`, `table` are kept in the table properties so
 * a restart finds them. */
int table_create(const char *dir, const char *name, const char *database, const char *table,
		 const floe_schema *schema, const table_config *cfg, floe_table **out, char *err);
/* Loads an existing table from its Iceberg metadata and starts its writer. */
int table_open(const char *dir, const table_config *cfg, floe_table **out, char *err);
/* Stops the writer after committing whatever is in memory; frees t. Returns
 * the final commit's status (the table is freed either way). NULL is a no-op. */
int table_close(floe_table *t, char *err);

const char *table_name(const floe_table *t);
const char *table_database(const floe_table *t);
const char *table_tablename(const floe_table *t);
const char *table_dir(const floe_table *t);
const floe_schema *table_schema(const floe_table *t);

/* Hands `rows` to the writer (ownership passes on success: the caller must not
 * touch it again; on failure the caller still owns it). With sync, waits for
 * the commit holding these rows. *lsn_out: the sequence number of this batch
 * within the table. Errors: FLOE_EBUSY (memory limit), FLOE_EIO (table is
 * read-only after a failure), FLOE_ENOTFOUND (table is being dropped). */
int table_submit(floe_table *t, batch *rows, int sync, int64_t *lsn_out, char *err);
/* Commits everything submitted before the call; *snapshot_id_out = the current
 * snapshot after it (-1 if the table has none). */
int table_flush(floe_table *t, int64_t *snapshot_id_out, char *err);

/* {"name","database","table","schema":[...],"location","metadata_location",
 *   "current_snapshot_id","sequence_number","row_count","rows_in_memory",
 *   "data_files","last_commit_ms","commits"} — new reference. With brief=1 the
 * schema is left out. */
json_t *table_describe(floe_table *t, int brief);

typedef struct table_stats {
	uint64_t rows_ingested;
	uint64_t batches;
	uint64_t commits;
	uint64_t commit_failures;
	uint64_t bytes_written;   /* Parquet + metadata bytes */
	uint64_t rows_in_memory;
	uint64_t bytes_in_memory;
	uint64_t data_files;
	int64_t total_records;
} table_stats;
void table_get_stats(floe_table *t, table_stats *out);

#endif
