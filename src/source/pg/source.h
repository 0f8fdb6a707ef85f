/*
 * source — PostgreSQL tables mirrored into floe tables (change data capture).
 *
 * One pg_source per source database (host, port, database), shared by all
 * the tables floe mirrors from it: one logical replication slot and one
 * publication, both named floe_<id> (id: a hash of floe's data directory
 * and the database, so two floe servers never share a slot). The source's
 * thread streams the slot (pgoutput, protocol 1) and applies each
 * transaction to the tables it touches; the initial copy of a table runs on
 * its own threads (copy.h).
 *
 * Exactly once. The slot is the log (floe's WAL is not used for these
 * tables, table.h "Source-driven tables"):
 *   1. A transaction's changes are buffered per table and applied at its
 *      Commit, in commit order, so a table never holds part of one.
 *   2. Every commit_interval (and when memory fills) all tables with
 *      applied changes commit at the same transaction boundary: their
 *      snapshots record floe.lsn = that transaction's end LSN. A reader
 *      lines tables up by taking, in each, the newest snapshot with
 *      floe.lsn <= L.
 *   3. Only then is that LSN sent to PostgreSQL as flushed (the slot may
 *      forget everything before it). With nothing applied and uncommitted,
 *      the position of the server's keepalive is confirmed instead, so an
 *      idle slot does not retain WAL; floe asks for a keepalive every second.
 *   4. After any restart (floe, PostgreSQL, the connection) streaming
 *      resumes at the slot's confirmed LSN and each table skips transactions
 *      whose commit LSN is below its own position (floe.lsn of its last
 *      snapshot, its copy's consistent point, or the last commit made).
 *   5. A table being copied holds confirmation back; when its copy has
 *      committed (floe.lsn = the copy snapshot's consistent point) the
 *      stream restarts from the slot so the transactions after that point
 *      reach it too. Other tables keep streaming meanwhile.
 * A table that cannot go on (a schema change Iceberg cannot express, a
 * value that does not convert) stops with its error shown; confirmation
 * stops too, so the slot keeps its changes until the problem is fixed.
 *
 * State that must survive a restart lives in <data>/.floe/sources/<slot>.json
 * (the URI may hold a password: mode 0600): the URI, slot, publication and
 * per table its name, source table, phase and copy LSN.
 *
 * Threads: the manager's functions are called from HTTP threads; each
 * source has one streaming thread and one thread per running copy.
 */
#ifndef FLOE_PG_SOURCE_H
#define FLOE_PG_SOURCE_H

#include <jansson.h>

#include "base/buf.h"
#include "table/registry.h"

typedef struct pgsrc_manager pgsrc_manager;

/* Resumes every source recorded under <root>/.floe/sources (tables must be
 * open in reg already). Problems with one source are logged, not fatal. */
int pgsrc_manager_open(registry *reg, const char *root, pgsrc_manager **out, char *err);
/* Stops every source (committing what was applied); before registry_close. */
void pgsrc_manager_close(pgsrc_manager *m);

/* POST /tables/{name}/from_postgres: checks the source, creates the floe
 * table from the PostgreSQL table's schema, adds it to the publication and
 * slot, and starts its copy. *reply: the 201 body. Errors are the caller's
 * 4xx: FLOE_EINVAL (bad URI, server settings, unsupported column type),
 * FLOE_EPERM, FLOE_ENOTFOUND (table), FLOE_EEXIST (name), FLOE_EBUSY
 * (slots). Nothing is left behind on failure. */
int pgsrc_mirror(pgsrc_manager *m, const char *name, const char *database, const char *table,
                 const char *uri, const char *src_table, const json_t *options, json_t **reply,
                 char *err);
/* Stops mirroring `name` (DELETE /tables/{name}); drops the slot and
 * publication when it was the source's last table. FLOE_ENOTFOUND when the
 * table is not a mirror (the caller then drops it as usual). */
int pgsrc_unmirror(pgsrc_manager *m, const char *name, char *err);
/* The "source" object of GET /tables/{name}, or NULL (not a mirror). */
json_t *pgsrc_describe(pgsrc_manager *m, const char *name);
/* Prometheus lines for every mirrored table. */
void pgsrc_metrics(pgsrc_manager *m, buf *out);

#endif
