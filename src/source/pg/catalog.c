/*
 * catalog — PostgreSQL catalog queries (catalog.h).
 */
#include "source/pg/catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "source/pg/pgsql.h"
#include "source/pg/replication.h"

int pgcat_check_server(PGconn *c, int need_slots, char *err)
{
	PGresult *r = NULL;
	int rc = pgsql_exec(c,
	                    "SELECT current_setting('wal_level'), (SELECT rolreplication OR "
	                    "rolsuper FROM pg_roles WHERE rolname = current_user), "
	                    "current_setting('max_replication_slots')::int - (SELECT count(*) "
	                    "FROM pg_replication_slots), current_user, current_database()",
	                    0, NULL, &r, err);
	if (rc)
		return rc;
	const char *level = PQgetvalue(r, 0, 0);
	if (strcmp(level, "logical") != 0)
		rc =
		    errf(err, FLOE_EINVAL,
		         "PostgreSQL has wal_level=%s; logical replication needs wal_level=logical "
		         "(set it in postgresql.conf and restart the server)",
		         level);
	else if (strcmp(PQgetvalue(r, 0, 1), "t") != 0)
		rc = errf(err, FLOE_EPERM,
		          "role %s lacks the REPLICATION privilege (ALTER ROLE %s REPLICATION)",
		          PQgetvalue(r, 0, 3), PQgetvalue(r, 0, 3));
	else if (atoi(PQgetvalue(r, 0, 2)) < need_slots)
		rc = errf(err, FLOE_EBUSY,
		          "database %s: no free replication slot (raise max_replication_slots or "
		          "drop unused slots)",
		          PQgetvalue(r, 0, 4));
	PQclear(r);
	return rc;
}

void pgcat_table_free(pgcat_table *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].type_name);
	}
	free(t->cols);
	free(t->nspname);
	free(t->relname);
	free(t->quoted);
	memset(t, 0, sizeof *t);
}

static char *quote_ident(PGconn *c, const char *s)
{
	char *q = PQescapeIdentifier(c, s, strlen(s));
	char *out = q ? strdup(q) : NULL;
	PQfreemem(q);
	return out;
}

int pgcat_table_describe(PGconn *c, const char *qualified, pgcat_table *out, char *err)
{
	PGresult *r = NULL;
	char relid[16];
	memset(out, 0, sizeof *out);
	const char *p1[] = {qualified};
	int rc =
	    pgsql_exec(c,
	               "SELECT c.oid, n.nspname, c.relname, c.relreplident, "
	               "c.reltuples::bigint, pg_relation_size(c.oid) / "
	               "current_setting('block_size')::bigint, has_table_privilege(c.oid, "
	               "'SELECT'), c.relkind, current_database() FROM pg_class c JOIN "
	               "pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
	               1, p1, &r, err);
	if (rc)
		return rc;
	if (PQntuples(r) != 1) {
		rc = errf(err, FLOE_ENOTFOUND, "table %s does not exist in the source database",
		          qualified);
		goto fail;
	}
	if (strcmp(PQgetvalue(r, 0, 7), "r") != 0) {
		rc = errf(err, FLOE_EINVAL, "%s is not an ordinary table (relkind %s)", qualified,
		          PQgetvalue(r, 0, 7));
		goto fail;
	}
	if (strcmp(PQgetvalue(r, 0, 6), "t") != 0) {
		rc = errf(err, FLOE_EPERM, "permission denied: the role needs SELECT on %s",
		          qualified);
		goto fail;
	}
	out->relid = (uint32_t)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	out->nspname = strdup(PQgetvalue(r, 0, 1));
	out->relname = strdup(PQgetvalue(r, 0, 2));
	out->replident = PQgetvalue(r, 0, 3)[0];
	out->est_rows = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
	out->pages = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
	PQclear(r);
	r = NULL;
	char *qn = out->nspname ? quote_ident(c, out->nspname) : NULL;
	char *qr = out->relname ? quote_ident(c, out->relname) : NULL;
	if (qn && qr && (out->quoted = malloc(strlen(qn) + strlen(qr) + 2)))
		sprintf(out->quoted, "%s.%s", qn, qr);
	free(qn);
	free(qr);
	if (!out->quoted) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	snprintf(relid, sizeof relid, "%u", out->relid);
	const char *p2[] = {relid};
	if ((rc = pgsql_exec(
	         c,
	         "SELECT a.attname, a.atttypid, a.atttypmod, a.attnotnull, "
	         "coalesce((SELECT k.n FROM pg_index i, unnest(i.indkey) WITH ORDINALITY "
	         "k(attnum, n) WHERE i.indrelid = a.attrelid AND i.indisprimary AND "
	         "k.attnum = a.attnum), 0) "
	         "FROM pg_attribute a WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT "
	         "a.attisdropped AND a.attgenerated = '' ORDER BY a.attnum",
	         1, p2, &r, err)))
		goto fail;
	int n = PQntuples(r);
	if (!(out->cols = calloc((size_t)n + 1, sizeof *out->cols))) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		pgcat_column *col = &out->cols[out->ncols];
		if (!(col->name = strdup(PQgetvalue(r, i, 0)))) {
			rc = errf(err, FLOE_ENOMEM, "out of memory");
			goto fail;
		}
		out->ncols++;
		col->not_null = PQgetvalue(r, i, 3)[0] == 't';
		col->key_pos = atoi(PQgetvalue(r, i, 4));
		out->nkey += col->key_pos > 0;
		if ((rc = pgcat_type_describe(c, (uint32_t)strtoul(PQgetvalue(r, i, 1), NULL, 10),
		                              atoi(PQgetvalue(r, i, 2)), &col->type,
		                              &col->type_name, err)))
			goto fail;
	}
	PQclear(r);
	return 0;
fail:
	PQclear(r);
	pgcat_table_free(out);
	return rc;
}

/* One step of type resolution: typtype, base type, typmod, element. */
static int type_row(PGconn *c, uint32_t oid, PGresult **r, char *err)
{
	char o[16];
	snprintf(o, sizeof o, "%u", oid);
	const char *p[] = {o};
	int rc = pgsql_exec(c,
	                    "SELECT typtype, typbasetype, typtypmod, typelem, typcategory FROM "
	                    "pg_type WHERE oid = $1",
	                    1, p, r, err);
	if (rc == 0 && PQntuples(*r) != 1) {
		PQclear(*r);
		*r = NULL;
		rc = errf(err, FLOE_ENOTFOUND, "type %u does not exist", oid);
	}
	return rc;
}

/* Follows domains down to a base type: *oid and *typmod change, *typtype
 * gets the base's typtype, *elem its array element (0 if not an array). */
static int resolve_domain(PGconn *c, uint32_t *oid, int32_t *typmod, char *typtype, uint32_t *elem,
                          char *err)
{
	for (int depth = 0; depth < 16; depth++) {
		PGresult *r = NULL;
		int rc = type_row(c, *oid, &r, err);
		if (rc)
			return rc;
		*typtype = PQgetvalue(r, 0, 0)[0];
		if (*typtype == 'd') {
			int32_t dm = atoi(PQgetvalue(r, 0, 2));
			if (dm != -1)
				*typmod = dm;
			*oid = (uint32_t)strtoul(PQgetvalue(r, 0, 1), NULL, 10);
			PQclear(r);
			continue;
		}
		*elem = PQgetvalue(r, 0, 4)[0] == 'A'
		            ? (uint32_t)strtoul(PQgetvalue(r, 0, 3), NULL, 10)
		            : 0;
		PQclear(r);
		return 0;
	}
	return errf(err, FLOE_EINVAL, "type %u: domains nested too deeply", *oid);
}

int pgcat_type_describe(PGconn *c, uint32_t oid, int32_t typmod, pgtype_desc *out, char **name_out,
                        char *err)
{
	PGresult *r = NULL;
	char o[16], m[16];
	memset(out, 0, sizeof *out);
	*name_out = NULL;
	snprintf(o, sizeof o, "%u", oid);
	snprintf(m, sizeof m, "%d", (int)typmod);
	const char *p[] = {o, m};
	int rc = pgsql_exec(c, "SELECT format_type($1::oid, $2::int)", 2, p, &r, err);
	if (rc)
		return rc;
	*name_out = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!*name_out)
		return errf(err, FLOE_ENOMEM, "out of memory");
	out->oid = oid;
	out->base_oid = oid;
	out->typmod = typmod;
	out->type_name = *name_out;
	uint32_t elem = 0, dummy;
	if ((rc = resolve_domain(c, &out->base_oid, &out->typmod, &out->typtype, &elem, err)))
		goto fail;
	if (elem) {
		/* An array column's typmod is its element's. */
		out->elem_oid = elem;
		out->elem_typmod = out->typmod;
		if ((rc = resolve_domain(c, &out->elem_oid, &out->elem_typmod, &out->elem_typtype,
		                         &dummy, err)))
			goto fail;
	}
	return 0;
fail:
	free(*name_out);
	*name_out = NULL;
	out->type_name = NULL;
	return rc;
}

typedef struct first_elem {
	char *text;
	size_t len;
	int seen;
} first_elem;

static int take_first(void *ctx, const char *elem, size_t n, int is_null)
{
	first_elem *f = ctx;
	if (f->seen++ || is_null)
		return 0;
	if (!(f->text = malloc(n + 1)))
		return FLOE_ENOMEM;
	memcpy(f->text, elem, n);
	f->text[n] = 0;
	f->len = n;
	return 0;
}

int pgcat_missing_value(PGconn *c, uint32_t relid, const char *attname, char **text_out,
                        size_t *len_out, char *err)
{
	PGresult *r = NULL;
	char rel[16];
	first_elem f = {0};
	*text_out = NULL;
	*len_out = 0;
	snprintf(rel, sizeof rel, "%u", relid);
	const char *p[] = {rel, attname};
	int rc = pgsql_exec(c,
	                    "SELECT attmissingval::text FROM pg_attribute WHERE attrelid = $1 AND "
	                    "attname = $2 AND NOT attisdropped AND atthasmissing",
	                    2, p, &r, err);
	if (rc)
		return rc;
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		/* attmissingval is a one-element array of the column's type. */
		const char *arr = PQgetvalue(r, 0, 0);
		rc = pgtype_array_split(attname, arr, strlen(arr), ',', take_first, &f, err);
		if (rc == FLOE_ENOMEM)
			errf(err, rc, "out of memory");
	}
	PQclear(r);
	if (rc) {
		free(f.text);
		return rc;
	}
	*text_out = f.text;
	*len_out = f.len;
	return 0;
}

/* Runs "<head> <publication> <tail> <table>" with the publication quoted. */
static int publication_cmd(PGconn *c, const char *head, const char *pub, const char *tail,
                           const char *table, char *err)
{
	char *qp = quote_ident(c, pub);
	buf sql = {0};
	if (!qp)
		return errf(err, FLOE_ENOMEM, "out of memory");
	buf_printf(&sql, "%s %s %s %s", head, qp, tail, table ? table : "");
	buf_append(&sql, "", 1);
	int rc = buf_ok(&sql) ? pgsql_exec(c, (const char *)sql.data, 0, NULL, NULL, err)
	                      : errf(err, FLOE_ENOMEM, "out of memory");
	buf_release(&sql);
	free(qp);
	return rc;
}

int pgcat_publication_add(PGconn *c, const char *pub, const char *quoted_table, char *err)
{
	PGresult *r = NULL;
	const char *p[] = {pub};
	int rc = pgsql_exec(c, "SELECT 1 FROM pg_publication WHERE pubname = $1", 1, p, &r, err);
	if (rc)
		return rc;
	int exists = PQntuples(r) == 1;
	PQclear(r);
	rc = exists ? publication_cmd(c, "ALTER PUBLICATION", pub, "ADD TABLE", quoted_table, err)
	            : publication_cmd(c, "CREATE PUBLICATION", pub, "FOR TABLE", quoted_table, err);
	if (rc == FLOE_EEXIST) /* already a member */
		rc = 0;
	return rc;
}

int pgcat_publication_remove(PGconn *c, const char *pub, const char *quoted_table, char *err)
{
	int rc = publication_cmd(c, "ALTER PUBLICATION", pub, "DROP TABLE", quoted_table, err);
	return rc == FLOE_ENOTFOUND ? 0 : rc;
}

int pgcat_drop(PGconn *c, const char *pub, const char *slot, char *err)
{
	int rc = publication_cmd(c, "DROP PUBLICATION IF EXISTS", pub, "", NULL, err);
	if (rc)
		return rc;
	const char *p[] = {slot};
	return pgsql_exec(c,
	                  "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
	                  "WHERE slot_name = $1",
	                  1, p, NULL, err);
}

int pgcat_slot_status(PGconn *c, const char *slot, pgcat_slot *out, char *err)
{
	PGresult *r = NULL;
	const char *p[] = {slot};
	memset(out, 0, sizeof *out);
	int rc =
	    pgsql_exec(c,
	               "SELECT coalesce(s.confirmed_flush_lsn::text, ''), coalesce(s.wal_status, "
	               "''), coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), "
	               "s.restart_lsn)::bigint, 0), pg_current_wal_lsn()::text FROM "
	               "pg_replication_slots s WHERE s.slot_name = $1",
	               1, p, &r, err);
	if (rc)
		return rc;
	if (PQntuples(r) == 1) {
		out->exists = 1;
		pgrepl_lsn_parse(PQgetvalue(r, 0, 0), &out->confirmed_flush);
		snprintf(out->wal_status, sizeof out->wal_status, "%s", PQgetvalue(r, 0, 1));
		out->retained_bytes = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
		pgrepl_lsn_parse(PQgetvalue(r, 0, 3), &out->current_lsn);
	}
	PQclear(r);
	return 0;
}
