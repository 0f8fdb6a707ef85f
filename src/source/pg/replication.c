/*
 * replication — logical replication client over libpq; see replication.h for
 * the contract (what may be confirmed, errors, threads).
 *
 * The connection stays in libpq's blocking mode for commands and for
 * PQputCopyData (a 34-byte status update never blocks for long); reads use
 * PQgetCopyData(async = 1) and select() on PQsocket so a caller can wait
 * with a deadline and still answer keepalives in time.
 *
 * Invariants:
 *   1. c->frame is NULL or the frame last handed out by pgrepl_read; it is
 *      freed (PQfreemem) before the next read and in pgrepl_close.
 *   2. c->streaming is 1 from a successful START_REPLICATION until the stream
 *      ends; commands other than read/status are refused while it is 1.
 */
#include "source/pg/replication.h"
#include "source/pg/pgsql.h"

#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "base/err.h"
#include "source/pg/pgoutput.h"

struct pgrepl_conn {
	PGconn *pg;
	char *frame; /* libpq-allocated CopyData bytes of the last read */
	int streaming;
};

/* Copies libpq's message (may span lines) into one line, runs of white
 * space as one space, without leading or trailing space. */
/* Reports a failed command: the server's error (from res when there is one)
 * or the connection's. */
static int fail_res(pgrepl_conn *c, PGresult *res, const char *what, char *err)
{
	char inner[ERR_LEN];
	int code = pgsql_fail(c->pg, res, what, inner);
	/* A missing privilege is the user's to fix, like any bad input here. */
	return errf(err, code == FLOE_EPERM ? FLOE_EINVAL : code, "pgrepl: %s", inner);
}

void pgrepl_lsn_format(uint64_t lsn, char out[18])
{
	snprintf(out, 18, "%" PRIX32 "/%" PRIX32, (uint32_t)(lsn >> 32), (uint32_t)lsn);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Parses 1..8 hex digits up to stop; returns the position after them or
 * NULL. */
static const char *parse_hex32(const char *s, char stop, uint32_t *out)
{
	uint32_t v = 0;
	int n = 0;
	for (; *s && *s != stop; s++, n++) {
		int h = hexval(*s);
		if (h < 0 || n == 8)
			return NULL;
		v = v << 4 | (uint32_t)h;
	}
	if (n == 0 || *s != stop)
		return NULL;
	*out = v;
	return s;
}

int pgrepl_lsn_parse(const char *s, uint64_t *out)
{
	uint32_t hi, lo;
	const char *p = s ? parse_hex32(s, '/', &hi) : NULL;
	if (!p || !parse_hex32(p + 1, 0, &lo))
		return FLOE_EINVAL;
	*out = (uint64_t)hi << 32 | lo;
	return 0;
}

int pgrepl_connect(const char *conninfo, pgrepl_conn **out, char *err)
{
	*out = NULL;
	char *perr = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &perr);
	if (!opts) {
		char msg[ERR_LEN];
		pgsql_one_line(msg, sizeof msg, perr ? perr : "out of memory");
		PQfreemem(perr);
		return errf(err, FLOE_EINVAL, "pgrepl: bad conninfo: %s", msg);
	}
	int logical = 0;
	for (PQconninfoOption *o = opts; o->keyword; o++)
		if (!strcmp(o->keyword, "replication") && o->val && !strcmp(o->val, "database"))
			logical = 1;
	PQconninfoFree(opts);
	if (!logical)
		return errf(err, FLOE_EINVAL,
		            "pgrepl: conninfo must contain replication=database (a logical "
		            "replication connection)");

	pgrepl_conn *c = calloc(1, sizeof *c);
	if (!c)
		return errf(err, FLOE_ENOMEM, "pgrepl: out of memory");
	c->pg = PQconnectdb(conninfo);
	if (!c->pg) {
		free(c);
		return errf(err, FLOE_ENOMEM, "pgrepl: out of memory");
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		char msg[ERR_LEN];
		/* Authentication and permission problems are the user's to fix. */
		int code = pgsql_connect_error(c->pg, msg, sizeof msg) == FLOE_EIO ? FLOE_EIO
		                                                                   : FLOE_EINVAL;
		pgrepl_close(c);
		return errf(err, code, "pgrepl: connect: %s", msg);
	}
	*out = c;
	return 0;
}

void pgrepl_close(pgrepl_conn *c)
{
	if (!c)
		return;
	if (c->frame)
		PQfreemem(c->frame);
	if (c->pg) {
		if (c->streaming && PQputCopyEnd(c->pg, NULL) == 1)
			PQflush(c->pg);
		PQfinish(c->pg);
	}
	free(c);
}

/* Runs a command that returns rows; *res is the result to PQclear. */
static int exec_tuples(pgrepl_conn *c, const char *sql, const char *what, PGresult **res, char *err)
{
	*res = NULL;
	if (c->streaming)
		return errf(err, FLOE_EINVAL, "pgrepl: %s: the connection is streaming", what);
	PGresult *r = PQexec(c->pg, sql);
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK) {
		int rc = fail_res(c, r, what, err);
		PQclear(r);
		return rc;
	}
	*res = r;
	return 0;
}

int pgrepl_identify_system(pgrepl_conn *c, pgrepl_system *out, char *err)
{
	PGresult *r;
	int rc = exec_tuples(c, "IDENTIFY_SYSTEM", "IDENTIFY_SYSTEM", &r, err);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	if (PQntuples(r) != 1 || PQnfields(r) < 4) {
		rc = errf(err, FLOE_EIO,
		          "pgrepl: IDENTIFY_SYSTEM: %d rows of %d fields, expected 1 of 4",
		          PQntuples(r), PQnfields(r));
		goto fail;
	}
	snprintf(out->systemid, sizeof out->systemid, "%s", PQgetvalue(r, 0, 0));
	char *end;
	errno = 0;
	unsigned long tli = strtoul(PQgetvalue(r, 0, 1), &end, 10);
	if (errno || *end || tli > UINT32_MAX ||
	    pgrepl_lsn_parse(PQgetvalue(r, 0, 2), &out->xlogpos)) {
		rc = errf(err, FLOE_EIO,
		          "pgrepl: IDENTIFY_SYSTEM: bad timeline '%s' or xlogpos '%s'",
		          PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2));
		goto fail;
	}
	out->timeline = (uint32_t)tli;
	snprintf(out->dbname, sizeof out->dbname, "%s", PQgetvalue(r, 0, 3));
fail:
	PQclear(r);
	return rc;
}

/* PostgreSQL's own rule for slot names (ReplicationSlotValidateName). */
static int valid_slot_name(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 63)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

int pgrepl_create_slot(pgrepl_conn *c, const char *slot, pgrepl_slot *out, char *err)
{
	return pgrepl_create_slot_ex(c, slot, 0, 1, out, err);
}

int pgrepl_create_slot_ex(pgrepl_conn *c, const char *slot, int temporary, int export_snapshot,
                          pgrepl_slot *out, char *err)
{
	if (!valid_slot_name(slot))
		return errf(err, FLOE_EINVAL,
		            "pgrepl: slot name '%s': use 1 to 63 lower-case letters, digits or '_'",
		            slot ? slot : "");
	char sql[200];
	snprintf(sql, sizeof sql, "CREATE_REPLICATION_SLOT %s %sLOGICAL pgoutput (SNAPSHOT '%s')",
	         slot, temporary ? "TEMPORARY " : "", export_snapshot ? "export" : "nothing");
	PGresult *r;
	int rc = exec_tuples(c, sql, "CREATE_REPLICATION_SLOT", &r, err);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	if (PQntuples(r) != 1 || PQnfields(r) < 3) {
		rc = errf(err, FLOE_EIO,
		          "pgrepl: CREATE_REPLICATION_SLOT: %d rows of %d fields, expected 1 of 4",
		          PQntuples(r), PQnfields(r));
		goto fail;
	}
	if (pgrepl_lsn_parse(PQgetvalue(r, 0, 1), &out->consistent_point)) {
		rc = errf(err, FLOE_EIO,
		          "pgrepl: CREATE_REPLICATION_SLOT: bad consistent_point '%s'",
		          PQgetvalue(r, 0, 1));
		goto fail;
	}
	if (!PQgetisnull(r, 0, 2)) {
		const char *snap = PQgetvalue(r, 0, 2);
		if (strlen(snap) >= sizeof out->snapshot_name) {
			rc = errf(err, FLOE_EIO,
			          "pgrepl: CREATE_REPLICATION_SLOT: snapshot name '%s' too long",
			          snap);
			goto fail;
		}
		snprintf(out->snapshot_name, sizeof out->snapshot_name, "%s", snap);
	}
fail:
	PQclear(r);
	return rc;
}

int pgrepl_server_version(const pgrepl_conn *c)
{
	return PQserverVersion(c->pg);
}

int pgrepl_start(pgrepl_conn *c, const char *slot, uint64_t start_lsn, int proto_version,
                 const char *publications, int options, char *err)
{
	if (!valid_slot_name(slot))
		return errf(err, FLOE_EINVAL,
		            "pgrepl: slot name '%s': use 1 to 63 lower-case letters, digits or '_'",
		            slot ? slot : "");
	if (proto_version < PGO_PROTO_MIN || proto_version > PGO_PROTO_MAX)
		return errf(err, FLOE_EINVAL, "pgrepl: proto_version %d is not %d..%d",
		            proto_version, PGO_PROTO_MIN, PGO_PROTO_MAX);
	if (!publications || !*publications)
		return errf(err, FLOE_EINVAL, "pgrepl: no publication named");
	if ((options & PGREPL_STREAMING) && proto_version < 2)
		return errf(err, FLOE_EINVAL, "pgrepl: streaming needs proto_version 2 or higher");
	if (c->streaming)
		return errf(err, FLOE_EINVAL, "pgrepl: START_REPLICATION: already streaming");

	char *lit = PQescapeLiteral(c->pg, publications, strlen(publications));
	if (!lit)
		return fail_res(c, NULL, "START_REPLICATION: quoting publication_names", err);
	char lsn[18];
	pgrepl_lsn_format(start_lsn, lsn);
	size_t cap = strlen(lit) + 256;
	char *sql = malloc(cap);
	if (!sql) {
		PQfreemem(lit);
		return errf(err, FLOE_ENOMEM, "pgrepl: out of memory");
	}
	snprintf(
	    sql, cap,
	    "START_REPLICATION SLOT %s LOGICAL %s (proto_version '%d', publication_names %s%s%s)",
	    slot, lsn, proto_version, lit, (options & PGREPL_MESSAGES) ? ", messages 'true'" : "",
	    (options & PGREPL_STREAMING) ? ", streaming 'on'" : "");
	PQfreemem(lit);
	PGresult *r = PQexec(c->pg, sql);
	free(sql);
	if (!r || PQresultStatus(r) != PGRES_COPY_BOTH) {
		int rc = fail_res(c, r, "START_REPLICATION", err);
		PQclear(r);
		return rc;
	}
	PQclear(r);
	c->streaming = 1;
	return 0;
}

/* The stream ended (PQgetCopyData returned -1 or -2): collect why. */
static int stream_ended(pgrepl_conn *c, int got, char *err)
{
	c->streaming = 0;
	int rc = errf(err, FLOE_EIO, "pgrepl: replication stream ended");
	if (got == -2) {
		char msg[ERR_LEN];
		pgsql_one_line(msg, sizeof msg, PQerrorMessage(c->pg));
		return errf(err, FLOE_EIO, "pgrepl: reading the stream: %s", msg);
	}
	PGresult *r;
	while ((r = PQgetResult(c->pg)) != NULL) {
		ExecStatusType st = PQresultStatus(r);
		if (st != PGRES_COMMAND_OK && st != PGRES_COPY_BOTH && st != PGRES_COPY_OUT)
			rc = fail_res(c, r, "replication stream ended", err);
		PQclear(r);
		if (PQstatus(c->pg) == CONNECTION_BAD)
			break;
	}
	return rc;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int pgrepl_read(pgrepl_conn *c, int timeout_ms, const uint8_t **data, size_t *len, char *err)
{
	*data = NULL;
	*len = 0;
	if (c->frame) {
		PQfreemem(c->frame);
		c->frame = NULL;
	}
	if (!c->streaming)
		return errf(err, FLOE_EINVAL, "pgrepl: read: the connection is not streaming");
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	for (;;) {
		char *f = NULL;
		int got = PQgetCopyData(c->pg, &f, 1);
		if (got > 0) {
			c->frame = f;
			*data = (const uint8_t *)f;
			*len = (size_t)got;
			return 0;
		}
		if (got < 0)
			return stream_ended(c, got, err);
		/* got == 0: nothing complete buffered; wait for the socket. */
		int fd = PQsocket(c->pg);
		if (fd < 0)
			return fail_res(c, NULL, "read: no socket", err);
		struct timeval tv, *tvp = NULL;
		if (deadline >= 0) {
			int64_t left = deadline - now_ms();
			if (left <= 0)
				return 0;
			tv.tv_sec = (time_t)(left / 1000);
			tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
			tvp = &tv;
		}
		fd_set rfds;
		FD_ZERO(&rfds);
		FD_SET(fd, &rfds);
		int n = select(fd + 1, &rfds, NULL, NULL, tvp);
		if (n < 0 && errno != EINTR)
			return errf(err, FLOE_EIO, "pgrepl: read: select: %s", strerror(errno));
		if (n > 0 && !PQconsumeInput(c->pg))
			return stream_ended(c, -2, err);
	}
}

int pgrepl_send_status(pgrepl_conn *c, uint64_t write_lsn, uint64_t flush_lsn, uint64_t apply_lsn,
                       int reply_requested, char *err)
{
	if (!c->streaming)
		return errf(err, FLOE_EINVAL,
		            "pgrepl: status update: the connection is not streaming");
	uint8_t msg[PGO_STATUS_LEN];
	pgo_status_encode(msg, write_lsn, flush_lsn, apply_lsn, pgo_clock_now(), reply_requested);
	if (PQputCopyData(c->pg, (const char *)msg, (int)sizeof msg) != 1 || PQflush(c->pg) != 0)
		return fail_res(c, NULL, "sending a status update", err);
	return 0;
}

struct pg_conn *pgrepl_pgconn(pgrepl_conn *c)
{
	return c->pg;
}
