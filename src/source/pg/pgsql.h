/*
 * pgsql — what floe's PostgreSQL code shares about ordinary libpq
 * connections: the connection string floe uses (the user's URI plus the
 * session settings the text decoders rely on), running a statement with
 * parameters, and turning a failure into a FLOE_* code and one line.
 *
 * Session settings every floe connection gets (so values come in the forms
 * pgtype.h parses): DateStyle=ISO, TimeZone=UTC, IntervalStyle=postgres,
 * extra_float_digits=3, bytea_output=hex, client_encoding=UTF8,
 * application_name=floe.
 *
 * SQLSTATE → code: 42710 FLOE_EEXIST; 42704, 42P01, 3D000 FLOE_ENOTFOUND;
 * 42501 and 28xxx FLOE_EPERM (privileges, authentication); 55006 and 53xxx
 * FLOE_EBUSY; 55000, other 42xxx, 22xxx FLOE_EINVAL; anything else (and a
 * lost connection) FLOE_EIO.
 * Errors: 0 or a negative FLOE_* code; err gets "what: message (SQLSTATE x)".
 */
#ifndef FLOE_PGSQL_H
#define FLOE_PGSQL_H

#include <libpq-fe.h>
#include <stddef.h>

/* A key=value connection string for `uri` (a postgresql:// URI or a
 * key=value string) with floe's session settings, and replication=database
 * when replication is 1. *out is malloc'd. FLOE_EINVAL for a bad URI. */
int pgsql_conninfo(const char *uri, int replication, char **out, char *err);
/* Connects (not a replication connection). FLOE_EIO when the server cannot
 * be reached, FLOE_EPERM for authentication, FLOE_ENOTFOUND for a missing
 * database, FLOE_EINVAL for a bad URI. */
int pgsql_connect(const char *uri, PGconn **out, char *err);
/* Runs sql with text parameters ($1..). *res (may be NULL when the caller
 * wants no rows) gets the result on success; PQclear it. */
int pgsql_exec(PGconn *c, const char *sql, int nparams, const char *const *params, PGresult **res,
               char *err);
/* Why a connection attempt failed: its message on one line into msg, and
 * FLOE_EPERM (authentication, pg_hba.conf, permission), FLOE_ENOTFOUND (a
 * database or role that does not exist) or FLOE_EIO (the server cannot be
 * reached). */
int pgsql_connect_error(PGconn *c, char *msg, size_t cap);
/* The error of a failed command (res may be NULL: the connection's). */
int pgsql_fail(PGconn *c, PGresult *res, const char *what, char *err);
/* The code for a SQLSTATE (see above). */
int pgsql_code_of_sqlstate(const char *st);
/* Copies src into dst on one line (newlines and runs of spaces folded). */
void pgsql_one_line(char *dst, size_t cap, const char *src);
/* "X/Y" of an LSN into out (>= 18 bytes); parse back: pgrepl_lsn_parse. */

#endif
