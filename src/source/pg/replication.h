/*
 * replication — a PostgreSQL logical replication client over libpq: one
 * walsender connection (conninfo with replication=database), IDENTIFY_SYSTEM,
 * CREATE_REPLICATION_SLOT ... LOGICAL pgoutput with an exported snapshot,
 * START_REPLICATION ... LOGICAL with pgoutput's options, reading the CopyData
 * frames of the stream with a timeout, and sending standby status updates.
 * It moves bytes only: decoding frames and messages is pgoutput.h's job.
 *
 * Owns: the PGconn, the current frame (libpq's buffer) and the last result.
 *
 * When an LSN may be confirmed. The flush LSN sent in a status update tells
 * PostgreSQL it may forget every change before it, for good: a restart
 * resumes the slot there. So the caller passes as flush only the end LSN of
 * transactions floe has made durable (committed to Iceberg, or to floe's WAL
 * once that exists), or — when floe has nothing pending at all — the wal_end
 * of a keepalive, so an idle slot does not pin the server's WAL. Never the
 * LSN of something merely received. write/apply are informational.
 *
 * Threads: a connection belongs to one thread. Nothing here is global.
 *
 * Errors: 0 or a negative FLOE_* code (base/err.h); err (ERR_LEN bytes, may
 * be NULL) gets one line naming the command and libpq's message
 * (PQerrorMessage or the server's, with its SQLSTATE). Codes:
 *   FLOE_EINVAL    bad argument (slot or option text), bad conninfo, or the
 *                  server refused us for a reason the user must fix: no
 *                  REPLICATION privilege or authentication failed (28xxx,
 *                  42501), wal_level not logical / wrong database state
 *                  (55000), a malformed command (42xxx, 22xxx)
 *   FLOE_EEXIST    CREATE_REPLICATION_SLOT: the slot exists (42710)
 *   FLOE_ENOTFOUND the slot, or (PostgreSQL reports it at the first change,
 *                  through pgrepl_read) a publication does not exist (42704)
 *   FLOE_EBUSY     the slot is active elsewhere (55006) or the server is out
 *                  of slots / wal senders / connections (53xxx)
 *   FLOE_EIO       connection lost, server ended the stream, anything else
 *   FLOE_ENOMEM    allocation failed
 * After FLOE_EIO on a streaming connection, close it and reconnect.
 */
#ifndef FLOE_REPLICATION_H
#define FLOE_REPLICATION_H

#include <stddef.h>
#include <stdint.h>

typedef struct pgrepl_conn pgrepl_conn;

/* IDENTIFY_SYSTEM's answer. */
typedef struct pgrepl_system {
	char systemid[32]; /* decimal text, as the server sends it */
	uint32_t timeline;
	uint64_t xlogpos; /* the server's current flush LSN */
	char dbname[64];  /* the database this connection replicates */
} pgrepl_system;

/* CREATE_REPLICATION_SLOT's answer. */
typedef struct pgrepl_slot {
	uint64_t consistent_point; /* stream from here to follow the snapshot */
	char snapshot_name[64];    /* SET TRANSACTION SNAPSHOT this, until the
	                            * connection runs its next command; "" if none */
} pgrepl_slot;

/* Formats an LSN as PostgreSQL does ("16/B374D848") into out (>= 18 bytes). */
void pgrepl_lsn_format(uint64_t lsn, char out[18]);
/* Parses "X/Y" (hex halves); FLOE_EINVAL if s is not exactly that. */
int pgrepl_lsn_parse(const char *s, uint64_t *out);

/* Opens a walsender connection. conninfo must ask for replication=database
 * (a logical slot belongs to one database); FLOE_EINVAL otherwise. *out is
 * freed with pgrepl_close. On failure *out is NULL. */
int pgrepl_connect(const char *conninfo, pgrepl_conn **out, char *err);

/* Closes the connection (ending a stream first) and frees c, including the
 * current frame. pgrepl_close(NULL) is a no-op. */
void pgrepl_close(pgrepl_conn *c);

/* IDENTIFY_SYSTEM into *out. */
int pgrepl_identify_system(pgrepl_conn *c, pgrepl_system *out, char *err);

/* CREATE_REPLICATION_SLOT slot LOGICAL pgoutput (SNAPSHOT 'export')
 * (PostgreSQL 15 syntax). slot: 1..63 of [a-z0-9_], else FLOE_EINVAL.
 * FLOE_EEXIST if it exists. The exported snapshot lives until the next
 * command on c (START_REPLICATION included), so copy with it first. */
int pgrepl_create_slot(pgrepl_conn *c, const char *slot, pgrepl_slot *out, char *err);
/* The same with choices: a TEMPORARY slot (dropped when c closes: a copy's
 * snapshot holder) and whether to export a snapshot (SNAPSHOT 'nothing'
 * otherwise; snapshot_name is then ""). */
int pgrepl_create_slot_ex(pgrepl_conn *c, const char *slot, int temporary, int export_snapshot,
                          pgrepl_slot *out, char *err);

/* The server's version as PQserverVersion gives it (150004 for 15.4). */
int pgrepl_server_version(const pgrepl_conn *c);

/* pgrepl_start options */
#define PGREPL_MESSAGES  1 /* messages 'true': logical decoding messages too */
#define PGREPL_STREAMING 2 /* streaming 'on': in-progress transactions (proto >= 2) */

/* START_REPLICATION SLOT slot LOGICAL start_lsn (proto_version 'v',
 * publication_names 'publications'[, messages 'true'][, streaming 'on']),
 * the last two as `options` (PGREPL_*) ask. start_lsn 0 means
 * "where the slot's confirmed_flush_lsn is". publications: a comma-separated
 * list of publication names (quoted for the server here). proto_version 1..4
 * (the server refuses what it does not know). After success the connection
 * is in COPY BOTH mode: only pgrepl_read, pgrepl_send_status and
 * pgrepl_close may follow. */
int pgrepl_start(pgrepl_conn *c, const char *slot, uint64_t start_lsn, int proto_version,
                 const char *publications, int options, char *err);

/* Waits up to timeout_ms (0: just poll; < 0: forever) for the next CopyData
 * frame. On a frame, *data and *len get its bytes (decode with pgo_frame_decode);
 * they are owned by c and valid until the next pgrepl_read or pgrepl_close.
 * On timeout returns 0 with *data NULL and *len 0. FLOE_EIO when the server
 * ended the stream or the connection failed (err says why). */
int pgrepl_read(pgrepl_conn *c, int timeout_ms, const uint8_t **data, size_t *len, char *err);

/* Sends a standby status update (see "When an LSN may be confirmed" above)
 * and flushes it to the socket. reply_requested asks the server to answer
 * with a keepalive at once. */
int pgrepl_send_status(pgrepl_conn *c, uint64_t write_lsn, uint64_t flush_lsn, uint64_t apply_lsn,
                       int reply_requested, char *err);

/* The libpq connection, for callers that must poll its socket with others;
 * owned by c. */
struct pg_conn *pgrepl_pgconn(pgrepl_conn *c);

#endif
