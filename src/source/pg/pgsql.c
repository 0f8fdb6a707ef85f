/*
 * pgsql — shared libpq plumbing (pgsql.h).
 */
#include "source/pg/pgsql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"

void pgsql_one_line(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	for (; src && *src && n + 1 < cap; src++) {
		int space = *src == '\n' || *src == '\r' || *src == '\t' || *src == ' ';
		if (space && (n == 0 || dst[n - 1] == ' '))
			continue;
		dst[n++] = space ? ' ' : *src;
	}
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = 0;
}

int pgsql_code_of_sqlstate(const char *st)
{
	if (!st || strlen(st) != 5)
		return FLOE_EIO;
	if (!strcmp(st, "42710"))
		return FLOE_EEXIST;
	if (!strcmp(st, "42704") || !strcmp(st, "42P01") || !strcmp(st, "3D000"))
		return FLOE_ENOTFOUND;
	if (!strcmp(st, "42501") || !strncmp(st, "28", 2))
		return FLOE_EPERM;
	if (!strcmp(st, "55006") || !strncmp(st, "53", 2))
		return FLOE_EBUSY;
	if (!strncmp(st, "42", 2) || !strcmp(st, "55000") || !strncmp(st, "22", 2))
		return FLOE_EINVAL;
	return FLOE_EIO;
}

int pgsql_fail(PGconn *c, PGresult *res, const char *what, char *err)
{
	char msg[ERR_LEN];
	const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *text = res ? PQresultErrorMessage(res) : NULL;
	if (!text || !*text)
		text = c ? PQerrorMessage(c) : NULL;
	pgsql_one_line(msg, sizeof msg, text);
	if (!msg[0])
		snprintf(msg, sizeof msg, "no message from libpq");
	return errf(err, pgsql_code_of_sqlstate(st), "%s: %s%s%s%s", what, msg,
	            st ? " (SQLSTATE " : "", st ? st : "", st ? ")" : "");
}

/* Appends key='value' with the quoting libpq's key=value syntax wants. */
static void put_kv(buf *b, const char *key, const char *val)
{
	buf_append_str(b, key);
	buf_append_str(b, "='");
	for (const char *p = val; *p; p++) {
		if (*p == '\'' || *p == '\\')
			buf_append(b, "\\", 1);
		buf_append(b, p, 1);
	}
	buf_append_str(b, "' ");
}

int pgsql_conninfo(const char *uri, int replication, char **out, char *err)
{
	char *perr = NULL;
	buf b = {0};
	*out = NULL;
	PQconninfoOption *opts = PQconninfoParse(uri ? uri : "", &perr);
	if (!opts) {
		char msg[ERR_LEN];
		pgsql_one_line(msg, sizeof msg, perr ? perr : "out of memory");
		PQfreemem(perr);
		return errf(err, FLOE_EINVAL, "src_uri is not a PostgreSQL connection URI: %s",
		            msg);
	}
	static const char *const ours[] = {"replication", "options", "application_name",
	                                   "client_encoding", NULL};
	for (PQconninfoOption *o = opts; o->keyword; o++) {
		int skip = !o->val;
		for (const char *const *k = ours; *k && !skip; k++)
			skip = !strcmp(o->keyword, *k);
		if (!skip)
			put_kv(&b, o->keyword, o->val);
	}
	PQconninfoFree(opts);
	put_kv(&b, "options",
	       "-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=postgres -c "
	       "extra_float_digits=3 -c bytea_output=hex");
	put_kv(&b, "application_name", "floe");
	put_kv(&b, "client_encoding", "UTF8");
	if (replication)
		put_kv(&b, "replication", "database");
	buf_append(&b, "", 1);
	if (!buf_ok(&b)) {
		buf_release(&b);
		return errf(err, FLOE_ENOMEM, "out of memory");
	}
	*out = (char *)buf_steal(&b, NULL);
	return 0;
}

int pgsql_connect_error(PGconn *c, char *msg, size_t cap)
{
	pgsql_one_line(msg, cap, PQerrorMessage(c));
	if (strstr(msg, "authentication") || strstr(msg, "pg_hba.conf") ||
	    strstr(msg, "permission"))
		return FLOE_EPERM;
	return strstr(msg, "does not exist") ? FLOE_ENOTFOUND : FLOE_EIO;
}

int pgsql_connect(const char *uri, PGconn **out, char *err)
{
	char *ci = NULL;
	*out = NULL;
	int rc = pgsql_conninfo(uri, 0, &ci, err);
	if (rc)
		return rc;
	PGconn *c = PQconnectdb(ci);
	free(ci);
	if (!c)
		return errf(err, FLOE_ENOMEM, "out of memory");
	if (PQstatus(c) != CONNECTION_OK) {
		char msg[ERR_LEN];
		int code = pgsql_connect_error(c, msg, sizeof msg);
		PQfinish(c);
		return errf(err, code, "cannot connect to PostgreSQL: %s", msg);
	}
	*out = c;
	return 0;
}

int pgsql_exec(PGconn *c, const char *sql, int nparams, const char *const *params, PGresult **res,
               char *err)
{
	if (res)
		*res = NULL;
	PGresult *r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		int rc = pgsql_fail(c, r, "PostgreSQL", err);
		PQclear(r);
		return rc;
	}
	if (res)
		*res = r;
	else
		PQclear(r);
	return 0;
}
