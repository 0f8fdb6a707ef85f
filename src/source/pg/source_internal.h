/*
 * source_internal — the structures shared by source.c (the manager and the
 * streaming thread), stream.c (applying pgoutput messages) and copy.c (the
 * initial copy). Not for use outside src/source/pg/.
 * Locking: fields marked (mu) are guarded by the source's mutex; (stream)
 * belong to the streaming thread; (copy) to the table's copy thread until
 * it finishes.
 */
#ifndef FLOE_PG_SOURCE_INTERNAL_H
#define FLOE_PG_SOURCE_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "base/err.h"
#include "source/pg/catalog.h"
#include "source/pg/pgoutput.h"
#include "source/pg/source.h"
#include "table/table.h"

enum { PGM_COPYING = 0, PGM_STREAMING = 1, PGM_ERROR = 2, PGM_STOPPED = 3 };

/* One buffered piece of a transaction for one table: rows of one operation,
 * a TRUNCATE, or a schema change, applied in order at Commit. */
typedef struct txn_item {
	struct txn_item *next;
	int op;              /* TABLE_OP_*, or 0 for a schema change */
	batch *rows;         /* NULL for TRUNCATE and schema changes */
	buf unchanged;       /* rows x columns bytes, empty when none is unchanged */
	batch *lookup;       /* the old key of a key-changing UPDATE with unchanged values;
	                        for a schema change, the defaults of added columns */
	floe_schema *schema; /* the new schema (op 0) */
} txn_item;

typedef struct pg_source pg_source;

typedef struct pgm_table {
	struct pgm_table *next;
	pg_source *owner;
	char *name, *src_table;
	pgcat_table cat; /* at attach time: copy column list, key */
	floe_table *t;   /* acquired from the registry while mirrored */
	int skip_unsupported;
	int copy_workers;

	/* (mu) */
	int phase; /* PGM_* */
	char error[ERR_LEN];
	uint64_t copy_lsn;    /* the copy snapshot's consistent point, 0 until known */
	uint64_t applied_lsn; /* end LSN of the last transaction applied */
	int copied;           /* copy done; applies once the stream restarts from the slot */
	pthread_t copy_thread;
	int copy_thread_started;
	/* the copy's open connections, so a shutdown can cancel what they wait
	 * for (creating the slot, a COPY); registered and removed under mu */
	PGconn *copy_conns[65];

	atomic_int_fast64_t copy_rows, copy_estimate;

	/* (stream) */
	uint64_t skip_before; /* transactions committing before this are in the table */
	int in_txn;           /* the current transaction applies to this table */
	uint64_t seen_lsn;    /* end of the last transaction this table took part in */
	uint32_t relid;       /* from Relation messages */
	floe_schema schema;   /* the schema as of the stream position */
	int nrel;             /* columns of the last Relation */
	int *col_src;         /* per schema column: Relation column index, -1 none */
	uint8_t *rel_is_key;  /* per Relation column: 1 if part of the primary key */
	pgtype_desc *rel_types;
	char **rel_type_names;
	txn_item *items, *items_tail; /* this transaction's changes */
	/* committed transactions not applied yet: consecutive rows of one
	 * operation are merged, so many small transactions apply as one request */
	txn_item *ready, *ready_tail;
	size_t ready_rows;
	size_t items_rows; /* changes in items */
	batch *seg;        /* the open item's rows (items_tail) */
	int dirty;         /* applied since the last commit */
	int partial;       /* part of the open transaction is applied (a streamed one
	                      applied in pieces): roll back unless it reaches Commit */
} pgm_table;

struct pg_source {
	struct pg_source *next;
	pgsrc_manager *m;
	char *uri, *key, *slot, *pub, *state_path;
	pthread_mutex_t mu;
	pthread_t thread;
	int thread_started;

	/* (mu) */
	pgm_table *tables;
	int stop;           /* the source is closing: streaming and copies end */
	int stream_stop;    /* the streaming thread alone ends (the table list changes) */
	int restart_stream; /* a copy finished: read the slot again from its start */
	int connected;
	char error[ERR_LEN];
	uint64_t received_lsn, confirmed_lsn, server_lsn;
	int64_t last_commit_time; /* PostgreSQL microseconds of the last applied commit */
	uint64_t streamed_txns;   /* streamed transactions applied (protocol 2) */
	uint64_t spooled_bytes;   /* bytes of them that went through the spool */
	int64_t last_lag_ms;
	pgcat_slot slot_status;
	int64_t slot_checked_ms; /* when slot_status was read (monotonic ms) */

	/* (stream) */
	PGconn *sql; /* catalog lookups */
};

struct pgsrc_manager {
	registry *reg;
	char *root, *sources_dir, *instance;
	pthread_mutex_t mu;
	pg_source *sources;
};

/* source.c */
int pgsrc_save_state(pg_source *s, char *err); /* takes s->mu */
int64_t pgsrc_now_ms(void);

/* copy.c: starts the initial copy of t on its own thread. */
int pgcopy_start(pg_source *s, pgm_table *t, char *err);
/* Cancels whatever the copy's connections are waiting for (mu held). */
void pgcopy_cancel(pgm_table *t);

/* stream.c: t stops with msg (phase error; confirmation is held). */
void pgm_set_error(pg_source *s, pgm_table *t, const char *msg);
/* stream.c: the streaming thread's body. */
void *pgstream_main(void *arg);
/* Frees the items of the open transaction of every table (stream). */
void pgstream_discard_txn(pg_source *s);
void pgm_table_free_stream(pgm_table *t);

#endif
