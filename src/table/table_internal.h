/*
 * table_internal — the floe_table struct and what the files of the table
 * writer share. Not for use outside src/table/.
 *   table.c   lifecycle, submitting, the writer loop, introspection
 *   flush.c   turning rows in memory (and pending deletes) into a Parquet data
 *             file, Puffin deletion vectors and one Iceberg snapshot
 *   keyed.c   tables with a primary key: the index, applying insert / upsert /
 *             update / delete, row lineage of updated rows, restart state
 * Locking: fields under "shared" are protected by `mu`; "writer-only" fields
 * belong to the writer thread (and to table_start before it runs).
 */
#ifndef FLOE_TABLE_INTERNAL_H
#define FLOE_TABLE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "format/dv.h"
#include "format/parquet.h"
#include "iceberg/table.h"
#include "table/index.h"
#include "table/table.h"
#include "table/wal.h"

/* A batch of rows accepted but not committed yet. */
typedef struct pending {
	struct pending *next;
	batch *rows;
	int64_t lsn;
	size_t bytes;
	/* keyed tables */
	uint64_t first_ord; /* memory ordinal of row 0 */
	uint8_t *dead;      /* per row: 1 = deleted or superseded before the flush; NULL = none */
	size_t ndead;
	int64_t
	    *row_ids; /* per row: the _row_id an updated row keeps, -1 = new row; NULL = all new */
} pending;

/* A live data file of a keyed table. */
typedef struct file_state {
	char *uri; /* file_path as in the manifests */
	int64_t record_count;
	int64_t first_row_id; /* the file's first_row_id (inherited value made explicit) */
	int64_t *row_ids;     /* explicit _row_id per position (-1: inherited), or NULL */
	dv *deleted;          /* committed deletion vector, or NULL */
	char *dv_uri;         /* the Puffin file holding it */
	dv *pending;          /* positions deleted since the last commit, or NULL */
	int live;
	int staged; /* written mid-transaction, not in any snapshot yet (t->staged) */
} file_state;

/* A data file a source-driven table wrote in the middle of a transaction
 * (flush.c table_stage_mem): durable, invisible, added by the next commit.
 * Its rows have no row ids until then (first_row_id -1). */
typedef struct staged_file {
	ice_data_file df;
	uint32_t file_id; /* keyed tables: its file_state (dropped when not live) */
} staged_file;

/* A keyed request waiting for the writer to apply it. */
typedef struct request {
	struct request *next;
	int op;
	batch *rows;
	const uint8_t *unchanged; /* source-driven UPSERT: table_source_apply */
	const batch *lookup;      /* where unchanged values come from (TABLE_OP_ALTER: defaults) */
	const floe_schema *new_schema; /* TABLE_OP_ALTER */
	size_t reserve_rows;           /* TABLE_OP_RESERVE */
	struct table_load *load;       /* TABLE_OP_LOAD */
	int done, rc, taken;
	uint64_t lsn;
	size_t deleted;
	char err[ERR_LEN];
} request;

/* IDENT_FULL_ROW: no key; the whole row is the identity (a multimap: equal
 * rows may repeat); insert and delete only, delete removes one copy. */
enum { IDENT_APPEND = 0, IDENT_PRIMARY_KEY = 1, IDENT_FULL_ROW = 2 };

/* Requests that only the writer makes sense of (not in the WAL). */
enum { TABLE_OP_ALTER = 100, TABLE_OP_RESERVE = 101, TABLE_OP_ROLLBACK = 102, TABLE_OP_LOAD = 103 };

struct floe_table {
	char *name, *database, *tablename, *dir;
	floe_schema schema;
	table_config cfg;
	ice_table *ice;
	char *iceberg_schema_json; /* footer key "iceberg.schema" of data files */

	/* shared (mu) */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work; /* writer waits for work */
	pthread_cond_t done; /* submitters wait for commits and applied requests */
	pending *queue, *queue_tail;
	request *requests, *requests_tail;
	size_t bytes_pending;
	int64_t last_lsn, committed_lsn;
	int commit_now, stopping;
	int shutting_down; /* the server is stopping: read-only waiters give up */
	int ro_code;       /* FLOE_ENOSPC / FLOE_EIO while read-only, else 0 */
	char ro_msg[ERR_LEN];
	int wal_poisoned;
	int stage_failed; /* source-driven: staging failed mid-transaction; read-only
	                     until table_source_rollback */
	wal *wal;
	char *wal_dir;

	/* writer-only */
	pending *mem, *mem_tail;
	size_t mem_rows, mem_bytes;
	long long mem_since_ns; /* when the oldest uncommitted batch arrived */
	long long retry_at_ns;  /* read-only mode: next commit attempt */
	int retry_delay_ms;
	_Atomic uint64_t file_seq; /* data and DV file names; table_load_write takes them too */
	uint64_t replayed;

	/* keyed tables (writer-only) */
	int ident;
	int nkey;
	int key_cols[INDEX_MAX_KEY_COLS];
	index_keydesc kd;
	index_map *ix;
	file_state *files; /* by file id */
	size_t nfiles, capfiles;
	pending **mem_arr; /* the batches of mem, by first_ord */
	size_t nmem_arr, capmem_arr;
	uint64_t next_ord;
	size_t deletes_pending; /* positions in files' pending DVs */
	int64_t applied_lsn;    /* newest request applied to memory */
	int truncate_pending;   /* source-driven: the next commit removes every old file */
	staged_file *staged;    /* source-driven: files the next commit adds, in order */
	size_t nstaged;
	int64_t source_seq; /* source-driven: request numbers (the WAL's LSNs elsewhere) */

	/* source-driven commits (shared, mu): what the next snapshot records */
	int64_t source_lsn;    /* floe.lsn, -1: none */
	char source_phase[16]; /* floe.phase, "" : none */
	/* their copies for the commit being made (writer-only) */
	int64_t commit_source_lsn;
	char commit_source_phase[16];
	char *sidecar_dir;              /* .fidx / .rid files of the data files */
	struct pq_reader *fetch_reader; /* unchanged values: the last data file read */
	uint32_t fetch_file;

	/* published counters */
	atomic_uint_fast64_t rows_ingested, batches, commits, commit_failures, bytes_written;
	atomic_uint_fast64_t rows_in_memory;
	atomic_int_fast64_t total_records, data_files, snapshot_id, last_commit_ms, snapshot_lsn;
};

/* table.c */
/* The Iceberg schema of a column list (field ids as in fs; identifier fields
 * from ident, which may be NULL). */
int table_ice_schema(const floe_schema *fs, const table_identity *ident, ice_schema *out,
                     char *err);
/* The floe.columns table property: names, floe types, nullability, ids. */
json_t *table_columns_json(const floe_schema *s);
void table_random_uuid(char out[37]);
void table_publish_snapshot_state(floe_table *t);
void table_budget_add(floe_table *t, size_t bytes);
void table_budget_sub(floe_table *t, size_t bytes);
/* Frees the rows in memory (t->mem); the caller settles bytes_pending. */
void table_drop_mem(floe_table *t);

/* flush.c: commits the rows in t->mem and the pending deletes as one
 * snapshot recording upto_lsn. On failure nothing is visible and the state in
 * memory is unchanged. */
int table_commit_mem(floe_table *t, int64_t upto_lsn, char *err);

/* flush.c, source-driven tables: writes the rows in t->mem as a staged data
 * file (durable, in no snapshot) so memory can be freed in the middle of a
 * transaction; the next table_commit_mem adds it. The caller drops t->mem on
 * success; on failure nothing changed. */
int table_stage_mem(floe_table *t, char *err);
/* Forgets the staged files and removes them from disk (TRUNCATE, rollback). */
void table_discard_staged(floe_table *t);

/* flush.c, loads (table_source_load): a data file and its key list written
 * by the loading thread, staged by the writer. */
#define FILE_PATH_CAP 4096
typedef struct table_load {
	char path[FILE_PATH_CAP]; /* the data file; "" once staged, or when no rows */
	pq_file_result res;       /* what the Parquet writer reported */
} table_load;
/* Any thread: writes the rows as a data file (and key list). Reads only
 * the schema, key and configuration, which do not change while a source
 * loads; the Iceberg handle stays the writer's. */
int table_load_write(floe_table *t, batch *const *rows, size_t n, table_load *out, char *err);
/* Writer thread: the file joins the staged files and its keys the index
 * (FLOE_EEXIST, with nothing changed, when a key is already there); it then
 * owns the file. */
int table_load_stage(floe_table *t, table_load *l, char *err);
/* Removes a load's files that were not staged. */
void table_load_discard(floe_table *t, table_load *l);

/* evolve.c: applies a TABLE_OP_ALTER request (writer thread). */
int evolve_apply(floe_table *t, const floe_schema *to, const batch *defaults, char *err);

/* keyed.c */
/* The file path of a file:// URI as the manifests hold it. */
const char *table_local_path(const char *uri);
/* Reads the identity from the table properties and, for a keyed table,
 * rebuilds the index from the live files' key lists and deletion vectors. */
int keyed_open(floe_table *t, char *err);
void keyed_free(floe_table *t);
/* Source-driven rollback: forgets everything since the last commit (rows in
 * memory, pending deletes, staged files, a pending TRUNCATE) and rebuilds the
 * index from the current snapshot. */
int keyed_rollback(floe_table *t, char *err);
/* Validates req against the index; if valid, logs it (unless replaying) and
 * applies it: the surviving rows join t->mem, replaced and deleted rows are
 * marked. req->rc / req->err tell a rejected request. */
void keyed_apply(floe_table *t, request *req, int replay);
/* Registers a data file a commit just added. row_ids (explicit _row_id per
 * position, or NULL) is taken over on success. */
int keyed_add_file(floe_table *t, const char *uri, int64_t record_count, int64_t first_row_id,
                   int64_t *row_ids, uint32_t *file_id, char *err);
/* The row of memory ordinal ord: its batch and row index, or NULL. */
pending *keyed_find_mem(floe_table *t, uint64_t ord, size_t *row);
/* Directory path of the sidecar of data file uri with suffix (".fidx"). */
int keyed_sidecar_path(const floe_table *t, const char *uri, const char *suffix, char *out,
                       size_t cap, char *err);

#endif
