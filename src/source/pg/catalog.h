/*
 * catalog — what floe asks a PostgreSQL server's catalog over an ordinary
 * connection: whether the server and user can do logical replication, a
 * table's columns, key and replica identity, a column type's description
 * (domains resolved to their base type, arrays to their element), and the
 * publication and slot floe manages.
 *
 * Messages are written for a DBA: they name the setting, privilege or table
 * and say what to change. Codes: FLOE_EINVAL (a setting such as wal_level),
 * FLOE_EPERM (a missing privilege), FLOE_ENOTFOUND (no such table),
 * FLOE_EBUSY (no free replication slot), FLOE_EIO (the server went away).
 */
#ifndef FLOE_PG_CATALOG_H
#define FLOE_PG_CATALOG_H

#include <libpq-fe.h>
#include <stdint.h>

#include "source/pg/pgtype.h"

typedef struct pgcat_column {
	char *name;       /* owned */
	char *type_name;  /* owned: format_type() text, for messages */
	pgtype_desc type; /* type.type_name points at type_name */
	int not_null;
	int key_pos; /* 1-based position in the primary key, 0: not a key column */
} pgcat_column;

typedef struct pgcat_table {
	uint32_t relid;
	char *nspname, *relname; /* owned */
	char *quoted;            /* "nsp"."rel", owned */
	char replident;          /* 'd', 'n', 'f', 'i' */
	int64_t est_rows;        /* reltuples, -1 unknown */
	int64_t pages;           /* relation size in blocks now */
	int ncols;
	pgcat_column *cols; /* live columns in attribute order (no generated ones) */
	int nkey;           /* primary key columns */
} pgcat_table;

/* wal_level must be logical, the user needs REPLICATION (or superuser) and
 * a replication slot must be free (need_slots of them). */
int pgcat_check_server(PGconn *c, int need_slots, char *err);
/* Describes `qualified` ("schema.table" or "table", as SQL would name it).
 * The user needs SELECT on it. Free with pgcat_table_free. */
int pgcat_table_describe(PGconn *c, const char *qualified, pgcat_table *out, char *err);
void pgcat_table_free(pgcat_table *t);
/* Describes type oid with typmod: resolves domains (a domain's typmod wins
 * when it sets one) and array elements. *name_out (malloc'd) gets
 * format_type(oid, typmod); out->type_name points at it. */
int pgcat_type_describe(PGconn *c, uint32_t oid, int32_t typmod, pgtype_desc *out, char **name_out,
                        char *err);
/* The value existing rows have in column attname of relation relid when it
 * was added with a constant default (pg_attribute.attmissingval: PostgreSQL
 * did not rewrite the rows): *text_out (malloc'd, the value's text output,
 * length *len_out) or NULL when there is none. */
int pgcat_missing_value(PGconn *c, uint32_t relid, const char *attname, char **text_out,
                        size_t *len_out, char *err);
/* Creates publication `pub` for the table, or adds the table to it. */
int pgcat_publication_add(PGconn *c, const char *pub, const char *quoted_table, char *err);
/* Removes the table from pub (a missing table or publication is fine). */
int pgcat_publication_remove(PGconn *c, const char *pub, const char *quoted_table, char *err);
/* Drops the publication and the slot (missing ones are fine; an active slot
 * is FLOE_EBUSY). */
int pgcat_drop(PGconn *c, const char *pub, const char *slot, char *err);

typedef struct pgcat_slot {
	int exists;
	uint64_t confirmed_flush; /* 0 when null */
	uint64_t current_lsn;     /* pg_current_wal_lsn() */
	int64_t retained_bytes;   /* current - restart_lsn */
	char wal_status[16];      /* reserved, extended, unreserved, lost */
} pgcat_slot;
int pgcat_slot_status(PGconn *c, const char *slot, pgcat_slot *out, char *err);

#endif
