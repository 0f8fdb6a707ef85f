/*
 * spool — the changes of one streamed in-progress transaction (pgoutput
 * protocol 2), kept on disk until its Stream Commit or Stream Abort.
 *
 * PostgreSQL sends a transaction larger than logical_decoding_work_mem
 * before it commits, in blocks between Stream Start and Stream Stop; each
 * change carries the xid of the (sub)transaction that made it, and several
 * such transactions may be open at once. A spool keeps one transaction's
 * messages in arrival order in a file, so its size is bounded by the disk,
 * not by memory.
 *
 * Subtransaction abort: the file is cut back to where that subtransaction's
 * first change began. Whatever follows it belongs to it or to
 * subtransactions started inside it, which die with it (subtransactions nest,
 * and their parent writes nothing while one is open) — the rule PostgreSQL's
 * own apply worker follows.
 *
 * File <dir>/<xid>.spool, never fsynced: a new streaming session starts every
 * open transaction over, so the files of an earlier session are deleted
 * (pgspool_clear_dir), never read. Layout, repeated to the end:
 *   u32 LE  n
 *   n bytes one pgoutput message as received (type byte, xid, body)
 * Writes go through a 1 MiB buffer; reads use one buffer that grows to the
 * largest message.
 *
 * Errors: 0 or a negative FLOE_* code with one line in err. One thread.
 */
#ifndef FLOE_PG_SPOOL_H
#define FLOE_PG_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct pgspool pgspool;

/* Creates (truncating) <dir>/<xid>.spool; dir must exist. */
int pgspool_open(const char *dir, uint32_t xid, pgspool **out, char *err);
uint32_t pgspool_xid(const pgspool *sp);
/* Bytes spooled so far (headers included). */
uint64_t pgspool_bytes(const pgspool *sp);
/* Appends one message made by (sub)transaction subxid. */
int pgspool_append(pgspool *sp, uint32_t subxid, const uint8_t *msg, size_t len, char *err);
/* Drops the changes of subtransaction subxid and everything after them; a
 * subxid that made no change is nothing to drop. */
int pgspool_abort_sub(pgspool *sp, uint32_t subxid, char *err);
/* Reading back, from the first message: *msg (valid until the next call)
 * and *len, or *msg = NULL after the last. Appending ends the reading. */
int pgspool_rewind(pgspool *sp, char *err);
int pgspool_next(pgspool *sp, const uint8_t **msg, size_t *len, char *err);
/* Closes and deletes the file, frees sp (NULL is a no-op). */
void pgspool_remove(pgspool *sp);
/* Creates dir if needed and deletes every *.spool file in it. */
int pgspool_clear_dir(const char *dir, char *err);

#endif
