/*
 * stream — a source's streaming thread (source.h explains the rules): reads
 * the slot, decodes pgoutput, buffers each transaction per table, applies it
 * at Commit, commits all tables at one boundary, confirms, reconnects.
 *
 * Row mapping. A Relation message lists the table's live columns; each floe
 * column takes the value of the Relation column of the same name. A change
 * in the list (added, dropped or retyped column) becomes a schema change
 * item applied in order with the rows. Operations:
 *   primary key  INSERT -> upsert; UPDATE -> upsert, preceded by a delete of
 *                the old key when the key changed; DELETE -> delete by key
 *   full row     INSERT -> insert; UPDATE -> delete the old row + insert;
 *                DELETE -> delete one copy of the old row
 *   append-only  INSERT -> insert (PostgreSQL refuses UPDATE/DELETE on a
 *                published table without replica identity)
 * Upserts make the replay of an already-applied transaction harmless for
 * keyed tables; skip_before makes it unnecessary for all.
 * Unchanged TOAST values ('u') take the old tuple's value when the message
 * has one (REPLICA IDENTITY FULL), else the table looks the current row up
 * (table_source_apply's `unchanged`); such a row opens its own item so it is
 * the first of its key there.
 *
 * Large transactions. With PostgreSQL 14+ the stream uses protocol 2 with
 * streaming on: a transaction outgrowing the server's
 * logical_decoding_work_mem arrives while in progress, in Stream Start/Stop
 * blocks, and goes to a spool file (spool.h) instead of memory. A Stream
 * Abort drops it (or cuts back a subtransaction); at its Stream Commit it is
 * replayed from the file as Begin, its messages, Commit — every table first
 * committing what it holds, then taking the transaction in pieces of
 * READY_MAX_ROWS changes (the table stages what outgrows its memory, and
 * nothing of it is visible before the commit at a boundary after it). A
 * replay cut short (stop, error) rolls those tables back to their last
 * snapshot; the slot sends the transaction again. Smaller transactions come
 * whole at their Commit and are buffered as before; their size is bounded
 * by logical_decoding_work_mem.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "storage/fs.h"
#include "source/pg/pgsql.h"
#include "source/pg/pgtype.h"
#include "source/pg/replication.h"
#include "source/pg/source_internal.h"
#include "source/pg/spool.h"

#define SEG_MAX_ROWS       8192
#define COMMIT_INTERVAL_MS 500
#define KEEPALIVE_ASK_MS   1000
/* A status update at least this often while data flows: the server drops a
 * client silent for wal_sender_timeout (default 60 s), and one transaction
 * can take longer than that to arrive. */
#define STATUS_EVERY_MS 10000

static void free_item(txn_item *it)
{
	if (it->rows) {
		batch_clear(it->rows);
		free(it->rows);
	}
	buf_release(&it->unchanged);
	if (it->lookup) {
		batch_clear(it->lookup);
		free(it->lookup);
	}
	if (it->schema) {
		floe_schema_clear(it->schema);
		free(it->schema);
	}
	free(it);
}

static void free_items(txn_item *it)
{
	while (it) {
		txn_item *next = it->next;
		free_item(it);
		it = next;
	}
}

static void discard_items(pgm_table *t)
{
	free_items(t->items);
	t->items = t->items_tail = NULL;
	t->items_rows = 0;
	t->seg = NULL;
}

void pgstream_discard_txn(pg_source *s)
{
	for (pgm_table *t = s->tables; t; t = t->next)
		discard_items(t);
}

static void clear_relation(pgm_table *t)
{
	for (int i = 0; i < t->nrel; i++)
		free(t->rel_type_names[i]);
	free(t->rel_type_names);
	free(t->rel_types);
	free(t->col_src);
	free(t->rel_is_key);
	t->rel_type_names = NULL;
	t->rel_types = NULL;
	t->col_src = NULL;
	t->rel_is_key = NULL;
	t->nrel = 0;
}

void pgm_table_free_stream(pgm_table *t)
{
	discard_items(t);
	free_items(t->ready);
	t->ready = t->ready_tail = NULL;
	t->ready_rows = 0;
	clear_relation(t);
	floe_schema_clear(&t->schema);
}

static int64_t pg_now(void)
{
	return pgo_clock_now();
}

/* ---- building items ---- */

static txn_item *new_item(pgm_table *t, int op, char *err)
{
	txn_item *it = calloc(1, sizeof *it);
	if (!it) {
		errf(err, FLOE_ENOMEM, "out of memory");
		return NULL;
	}
	it->op = op;
	if (t->items_tail)
		t->items_tail->next = it;
	else
		t->items = it;
	t->items_tail = it;
	t->seg = NULL;
	return it;
}

/* The open rows item for op, or a new one (fresh = 1 forces a new one). */
static batch *rows_item(pgm_table *t, int op, int fresh, char *err)
{
	txn_item *it = t->items_tail;
	if (!fresh && t->seg && it && it->op == op && t->seg->nrows < SEG_MAX_ROWS &&
	    it->unchanged.len == 0)
		return t->seg;
	if (!(it = new_item(t, op, err)))
		return NULL;
	if (!(it->rows = calloc(1, sizeof *it->rows)) || batch_init(it->rows, &t->schema)) {
		free(it->rows);
		it->rows = NULL;
		errf(err, FLOE_ENOMEM, "out of memory");
		return NULL;
	}
	t->seg = it->rows;
	return t->seg;
}

/* Appends tuple tup as a row of b. 'u' values come from u_from (an old
 * full tuple) when it has them; the rest are null and marked in unch
 * (schema columns bytes, may be NULL: then 'u' is an error). Returns the
 * number of unchanged values left, or a negative error. */
static int add_row(pgm_table *t, batch *b, const pgo_tuple *tup, const pgo_tuple *u_from,
                   uint8_t *unch, char *err)
{
	int left = 0;
	if (tup->ncols != t->nrel)
		return errf(err, FLOE_ECORRUPT,
		            "%s: a change has %u columns, its Relation message %d", t->src_table,
		            tup->ncols, t->nrel);
	batch_row_begin(b);
	for (int c = 0; c < t->schema.ncols; c++) {
		int i = t->col_src[c];
		const pgo_value *v = i >= 0 ? &tup->cols[i] : NULL;
		if (v && v->kind == PGO_VAL_UNCHANGED && u_from && i < u_from->ncols &&
		    u_from->cols[i].kind != PGO_VAL_UNCHANGED)
			v = &u_from->cols[i];
		if (!v || v->kind == PGO_VAL_NULL) {
			batch_set_null(b, c);
		} else if (v->kind == PGO_VAL_UNCHANGED) {
			if (!unch) {
				batch_row_abort(b);
				return errf(
				    err, FLOE_EINVAL,
				    "%s: column %s arrived unchanged where a value is needed",
				    t->src_table, t->schema.cols[c].name);
			}
			unch[c] = 1;
			left++;
			batch_set_null(b, c);
		} else if (v->kind == PGO_VAL_TEXT) {
			int rc = pgtype_set_text(b, c, &t->schema.cols[c], &t->rel_types[i],
			                         (const char *)v->data, v->len, err);
			if (rc) {
				batch_row_abort(b);
				return rc;
			}
		} else {
			batch_row_abort(b);
			return errf(err, FLOE_ECORRUPT, "%s: binary value in a text stream",
			            t->src_table);
		}
	}
	batch_row_commit(b);
	if (batch_check(b))
		return errf(err, FLOE_ENOMEM, "out of memory");
	return left;
}

/* Adds one row for op; rows with unchanged values get their own item, and
 * take them from the current row of key_from's key when given (else their
 * own key's). */
static int queue_row(pgm_table *t, int op, const pgo_tuple *tup, const pgo_tuple *u_from,
                     const pgo_tuple *key_from, char *err)
{
	int has_u = 0;
	for (uint16_t i = 0; i < tup->ncols; i++)
		has_u |= tup->cols[i].kind == PGO_VAL_UNCHANGED;
	if (has_u && u_from) {
		has_u = 0;
		for (uint16_t i = 0; i < tup->ncols && i < u_from->ncols; i++)
			has_u |= tup->cols[i].kind == PGO_VAL_UNCHANGED &&
			         u_from->cols[i].kind == PGO_VAL_UNCHANGED;
	}
	batch *b = rows_item(t, op, has_u, err);
	if (!b)
		return FLOE_ENOMEM;
	uint8_t *unch = NULL;
	txn_item *it = t->items_tail;
	if (has_u) {
		if (buf_reserve(&it->unchanged, (size_t)t->schema.ncols))
			return errf(err, FLOE_ENOMEM, "out of memory");
		unch = it->unchanged.data;
		memset(unch, 0, (size_t)t->schema.ncols);
		it->unchanged.len = (size_t)t->schema.ncols;
	}
	int rc = add_row(t, b, tup, u_from, unch, err);
	if (rc < 0)
		return rc;
	if (has_u && key_from) {
		if (!(it->lookup = calloc(1, sizeof *it->lookup)) ||
		    batch_init(it->lookup, &t->schema)) {
			free(it->lookup);
			it->lookup = NULL;
			return errf(err, FLOE_ENOMEM, "out of memory");
		}
		if ((rc = add_row(t, it->lookup, key_from, NULL, NULL, err)) < 0)
			return rc;
	}
	if (has_u) /* the item holds exactly this row */
		t->seg = NULL;
	t->items_rows++;
	return 0;
}

/* 1 if old and new differ in a primary key column. */
static int key_changed(const pgm_table *t, const pgo_tuple *old, const pgo_tuple *new_)
{
	for (int i = 0; i < t->nrel; i++) {
		if (!t->rel_is_key[i] || i >= old->ncols || i >= new_->ncols)
			continue;
		const pgo_value *a = &old->cols[i], *b = &new_->cols[i];
		if (a->kind != b->kind || a->len != b->len ||
		    (a->len && memcmp(a->data, b->data, a->len) != 0))
			return 1;
	}
	return 0;
}

static int identity_of(const pgm_table *t)
{
	return t->cat.nkey > 0 ? 1 : t->cat.replident == 'f' ? 2 : 0;
}

static int on_change(pgm_table *t, const pgo_msg *msg, char *err)
{
	const pgo_tuple *old = msg->change.old_kind ? &msg->change.old_tuple : NULL;
	const pgo_tuple *full_old = msg->change.old_kind == 'O' ? old : NULL;
	int ident = identity_of(t);
	int rc;
	if (!t->col_src || !t->rel_is_key)
		return errf(err, FLOE_ECORRUPT, "%s: a change arrived before its Relation message",
		            t->src_table);
	switch (msg->type) {
	case PGO_INSERT:
		return queue_row(t, ident == 1 ? TABLE_OP_UPSERT : TABLE_OP_INSERT,
		                 &msg->change.new_tuple, NULL, NULL, err);
	case PGO_UPDATE:
		if (ident == 0)
			return errf(
			    err, FLOE_EINVAL,
			    "%s: an UPDATE arrived but the table has no key or replica "
			    "identity; set a primary key or REPLICA IDENTITY FULL and mirror "
			    "it again",
			    t->src_table);
		if (ident == 2) {
			if (!full_old)
				return errf(err, FLOE_EINVAL,
				            "%s: an UPDATE without the old row; the table needs "
				            "REPLICA IDENTITY FULL",
				            t->src_table);
			if ((rc = queue_row(t, TABLE_OP_DELETE, full_old, NULL, NULL, err)))
				return rc;
			return queue_row(t, TABLE_OP_INSERT, &msg->change.new_tuple, full_old, NULL,
			                 err);
		}
		if (old && key_changed(t, old, &msg->change.new_tuple)) {
			/* The new row first: its unchanged values come from the old
			 * key's row, which must still be there. */
			if ((rc = queue_row(t, TABLE_OP_UPSERT, &msg->change.new_tuple, full_old,
			                    old, err)))
				return rc;
			return queue_row(t, TABLE_OP_DELETE, old, NULL, NULL, err);
		}
		return queue_row(t, TABLE_OP_UPSERT, &msg->change.new_tuple, full_old, NULL, err);
	case PGO_DELETE:
		if (ident == 0 || !old)
			return errf(
			    err, FLOE_EINVAL,
			    "%s: a DELETE arrived but the table has no key or replica identity",
			    t->src_table);
		return queue_row(t, TABLE_OP_DELETE, old, NULL, NULL, err);
	default:
		return 0;
	}
}

/* ---- Relation messages: the column list, and schema changes ---- */

static int describe_rel_types(pg_source *s, pgm_table *t, const pgo_relation *r, char *err)
{
	clear_relation(t);
	t->rel_types = calloc((size_t)r->ncols + 1, sizeof *t->rel_types);
	t->rel_type_names = calloc((size_t)r->ncols + 1, sizeof *t->rel_type_names);
	if (!t->rel_types || !t->rel_type_names)
		return errf(err, FLOE_ENOMEM, "out of memory");
	t->nrel = r->ncols;
	for (int i = 0; i < r->ncols; i++) {
		int rc = pgcat_type_describe(s->sql, r->cols[i].type_oid, r->cols[i].typmod,
		                             &t->rel_types[i], &t->rel_type_names[i], err);
		if (rc)
			return rc;
	}
	return 0;
}

/* The floe schema the Relation implies: columns by name keep their field
 * id (and a list its element's); new ones get 0 (the table assigns ids). Unsupported types are left
 * out when the table was mirrored with skip_unsupported_columns. */
static int schema_of_relation(pgm_table *t, const pgo_relation *r, floe_schema *out, char *err)
{
	memset(out, 0, sizeof *out);
	if (!(out->cols = calloc((size_t)r->ncols + 1, sizeof *out->cols)))
		return errf(err, FLOE_ENOMEM, "out of memory");
	for (int i = 0; i < r->ncols; i++) {
		floe_column col = {.name = (char *)r->cols[i].name};
		int rc = pgtype_map(&t->rel_types[i], &col, err);
		if (rc && t->skip_unsupported)
			continue;
		if (rc)
			return rc;
		int old = floe_schema_find(&t->schema, r->cols[i].name, strlen(r->cols[i].name));
		col.nullable = 1;
		col.field_id = 0;
		if (old >= 0) {
			col.nullable = t->schema.cols[old].nullable;
			col.field_id = t->schema.cols[old].field_id;
			col.elem_field_id = t->schema.cols[old].elem_field_id;
		}
		if (!(col.name = strdup(r->cols[i].name)))
			return errf(err, FLOE_ENOMEM, "out of memory");
		out->cols[out->ncols++] = col;
	}
	return 0;
}

static int same_schema(const floe_schema *a, const floe_schema *b)
{
	if (a->ncols != b->ncols)
		return 0;
	for (int c = 0; c < a->ncols; c++) {
		const floe_column *x = &a->cols[c], *y = &b->cols[c];
		if (strcmp(x->name, y->name) || x->type != y->type ||
		    x->precision != y->precision || x->scale != y->scale ||
		    x->elem_type != y->elem_type || x->elem_precision != y->elem_precision ||
		    x->elem_scale != y->elem_scale || x->field_id != y->field_id || !y->field_id)
			return 0;
	}
	return 1;
}

/* The values rows that existed before had in the columns `next` adds
 * (ADD COLUMN ... DEFAULT with a constant: PostgreSQL keeps it as the
 * column's missing value and streams nothing for those rows): *out is a
 * one-row batch shaped like next, or NULL when no added column has one. */
static int added_defaults(pg_source *s, pgm_table *t, const pgo_relation *r,
                          const floe_schema *next, batch **out, char *err)
{
	batch *b = NULL;
	int rc = 0, any = 0;
	*out = NULL;
	if (!(b = calloc(1, sizeof *b)) || batch_init(b, next)) {
		free(b);
		return errf(err, FLOE_ENOMEM, "out of memory");
	}
	batch_row_begin(b);
	for (int c = 0; c < next->ncols && rc == 0; c++) {
		char *text = NULL;
		size_t len = 0;
		int i = -1;
		for (int k = 0; k < r->ncols; k++)
			if (!strcmp(r->cols[k].name, next->cols[c].name))
				i = k;
		if (next->cols[c].field_id == 0 && i >= 0)
			rc = pgcat_missing_value(s->sql, r->oid, next->cols[c].name, &text, &len,
			                         err);
		if (rc == 0 && text)
			rc =
			    pgtype_set_text(b, c, &next->cols[c], &t->rel_types[i], text, len, err);
		else if (rc == 0)
			batch_set_null(b, c);
		any |= text != NULL;
		free(text);
	}
	if (rc) {
		batch_row_abort(b);
	} else {
		batch_row_commit(b);
		rc = batch_check(b) ? errf(err, FLOE_ENOMEM, "out of memory") : 0;
	}
	if (rc || !any) {
		batch_clear(b);
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

/* col_src: each schema column's position in the Relation, by name;
 * rel_is_key: which Relation columns form the primary key. */
static int map_columns(pgm_table *t, const pgo_relation *r, char *err)
{
	int *src = calloc((size_t)t->schema.ncols + 1, sizeof *src);
	uint8_t *is_key = calloc((size_t)r->ncols + 1, 1);
	if (!src || !is_key) {
		free(src);
		free(is_key);
		return errf(err, FLOE_ENOMEM, "out of memory");
	}
	for (int c = 0; c < t->schema.ncols; c++) {
		src[c] = -1;
		for (int i = 0; i < r->ncols; i++)
			if (!strcmp(r->cols[i].name, t->schema.cols[c].name))
				src[c] = i;
	}
	for (int i = 0; i < r->ncols; i++)
		for (int k = 0; k < t->cat.ncols; k++)
			if (t->cat.cols[k].key_pos > 0 &&
			    !strcmp(t->cat.cols[k].name, r->cols[i].name))
				is_key[i] = 1;
	free(t->col_src);
	free(t->rel_is_key);
	t->col_src = src;
	t->rel_is_key = is_key;
	return 0;
}

/* skipped: the transaction is one the table already holds; its changes are
 * not applied, so neither is a schema difference. */
static int on_relation(pg_source *s, pgm_table *t, const pgo_relation *r, int skipped, char *err)
{
	floe_schema next = {0};
	int rc;
	t->relid = r->oid;
	if ((rc = describe_rel_types(s, t, r, err)))
		goto out;
	if (!skipped && (rc = schema_of_relation(t, r, &next, err)))
		goto out;
	if (!skipped && !same_schema(&t->schema, &next)) {
		/* A schema change, applied in order with this transaction's rows.
		 * New columns get their ids when it applies; until then rows are
		 * built with id 0 for them, which the table maps by position. */
		txn_item *it = new_item(t, 0, err);
		if (!it || !(it->schema = calloc(1, sizeof *it->schema)) ||
		    floe_schema_copy(&next, it->schema)) {
			rc = errf(err, FLOE_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = added_defaults(s, t, r, &next, &it->lookup, err)))
			goto out;
		log_info("source %s: %s changed its columns (%d -> %d)", s->slot, t->src_table,
		         t->schema.ncols, next.ncols);
		floe_schema_clear(&t->schema);
		t->schema = next;
		memset(&next, 0, sizeof next);
	}
	rc = map_columns(t, r, err);
out:
	floe_schema_clear(&next);
	return rc;
}

/* Columns a schema change adds have id 0 until it applies; one the table
 * already has (an earlier change of the same transaction added it) keeps
 * its id, found by name. */
static void resolve_new_ids(floe_schema *to, const floe_schema *current)
{
	for (int c = 0; c < to->ncols; c++) {
		if (to->cols[c].field_id)
			continue;
		int i = floe_schema_find(current, to->cols[c].name, strlen(to->cols[c].name));
		if (i >= 0)
			to->cols[c].field_id = current->cols[i].field_id;
	}
}

/* ---- applying and committing ---- */

#define READY_MAX_ROWS 65536

static int mergeable(const txn_item *a, const txn_item *b)
{
	return a && a->op && a->op == b->op && a->rows && b->rows && !a->unchanged.len &&
	       !b->unchanged.len && a->rows->nrows + b->rows->nrows <= READY_MAX_ROWS;
}

/* A committed transaction of t joins the ready list. */
static int make_ready(pgm_table *t, char *err)
{
	for (txn_item *it = t->items; it;) {
		txn_item *next = it->next;
		it->next = NULL;
		if (it->rows)
			t->ready_rows += it->rows->nrows;
		if (mergeable(t->ready_tail, it)) {
			if (batch_append_batch(t->ready_tail->rows, it->rows)) {
				t->items = next;
				free_item(it);
				return errf(err, FLOE_ENOMEM, "out of memory");
			}
			free_item(it);
		} else {
			if (t->ready_tail)
				t->ready_tail->next = it;
			else
				t->ready = it;
			t->ready_tail = it;
		}
		it = next;
	}
	t->items = t->items_tail = NULL;
	t->items_rows = 0;
	t->seg = NULL;
	return 0;
}

/* Applies t's ready transactions, in order. */
static int apply_ready(pgm_table *t, char *err)
{
	int rc = 0;
	for (txn_item *it = t->ready; it && rc == 0; it = it->next) {
		if (it->op == 0) {
			resolve_new_ids(it->schema, table_schema(t->t));
			rc = table_alter_schema(t->t, it->schema, it->lookup, err);
			if (rc == 0) {
				/* Take the ids the table gave the new columns. */
				floe_schema_clear(&t->schema);
				rc = floe_schema_copy(table_schema(t->t), &t->schema)
				         ? errf(err, FLOE_ENOMEM, "out of memory")
				         : 0;
			}
			continue;
		}
		submit_result res;
		int taken = 0;
		rc = table_source_apply(t->t, it->op, it->rows,
		                        it->unchanged.len ? it->unchanged.data : NULL, it->lookup,
		                        &res, &taken, err);
		if (taken)
			it->rows = NULL;
	}
	t->dirty = 1;
	free_items(t->ready);
	t->ready = t->ready_tail = NULL;
	t->ready_rows = 0;
	return rc;
}

void pgm_set_error(pg_source *s, pgm_table *t, const char *msg)
{
	pthread_mutex_lock(&s->mu);
	if (t->phase != PGM_ERROR)
		log_error("source %s: table %s stopped: %s", s->slot, t->name, msg);
	t->phase = PGM_ERROR;
	snprintf(t->error, sizeof t->error, "%s", msg);
	pthread_mutex_unlock(&s->mu);
}

/* Throws away what t applied since its last snapshot (why: for the log). */
static void rollback_table(pg_source *s, pgm_table *t, const char *why)
{
	char err[ERR_LEN];
	t->dirty = t->partial = 0;
	if (table_source_rollback(t->t, err))
		log_error("source %s: table %s: rollback failed: %s", s->slot, t->name, err);
	else
		log_info("source %s: table %s: rolled back to its last snapshot (%s)", s->slot,
		         t->name, why);
}

/* t stops with msg (streaming thread). What it applied since its last
 * snapshot goes too — whole transactions or part of one — so nothing past
 * that snapshot can be committed later (at shutdown, say); the slot keeps
 * those changes for the next start. */
static void stop_table(pg_source *s, pgm_table *t, const char *msg)
{
	pgm_set_error(s, t, msg);
	discard_items(t);
	free_items(t->ready);
	t->ready = t->ready_tail = NULL;
	t->ready_rows = 0;
	if (t->dirty || t->partial)
		rollback_table(s, t, "the table stopped");
}

/* A transaction cut off midway (stop, error) leaves nothing behind. */
static void rollback_partial(pg_source *s, pgm_table *t)
{
	if (t->partial)
		rollback_table(s, t, "a transaction cut off midway");
}

static int holds_confirmation(pg_source *s)
{
	pthread_mutex_lock(&s->mu);
	int hold = s->restart_stream;
	for (pgm_table *t = s->tables; t; t = t->next)
		hold |= t->phase == PGM_COPYING || t->phase == PGM_ERROR;
	pthread_mutex_unlock(&s->mu);
	return hold;
}

/* Applies what every table has ready. */
static void apply_all_ready(pg_source *s)
{
	for (pgm_table *t = s->tables; t; t = t->next) {
		char err[ERR_LEN];
		if (t->ready && t->phase == PGM_STREAMING && apply_ready(t, err))
			stop_table(s, t, err);
	}
}

/* Commits every dirty streaming table at lsn (a transaction boundary). */
static int commit_all(pg_source *s, uint64_t lsn)
{
	int ok = 1;
	apply_all_ready(s);
	for (pgm_table *t = s->tables; t; t = t->next) {
		if (!t->dirty || t->phase != PGM_STREAMING)
			continue;
		char err[ERR_LEN];
		if (table_source_commit(t->t, (int64_t)lsn, NULL, err)) {
			stop_table(s, t, err);
			ok = 0;
			continue;
		}
		t->dirty = 0;
	}
	return ok;
}

static int any_dirty(pg_source *s)
{
	for (pgm_table *t = s->tables; t; t = t->next)
		if (t->dirty || t->ready)
			return 1;
	return 0;
}

static int memory_full(pg_source *s)
{
	for (pgm_table *t = s->tables; t; t = t->next)
		if (t->dirty && table_bytes_pending(t->t) > ((size_t)64 << 20))
			return 1;
	return 0;
}

static pgm_table *table_of_relid(pg_source *s, uint32_t relid)
{
	for (pgm_table *t = s->tables; t; t = t->next)
		if (t->relid == relid)
			return t;
	return NULL;
}

static pgm_table *table_of_relation(pg_source *s, const pgo_relation *r)
{
	for (pgm_table *t = s->tables; t; t = t->next)
		if (!strcmp(t->cat.nspname, r->nspname) && !strcmp(t->cat.relname, r->relname))
			return t;
	return NULL;
}

/* ---- the connection ---- */

typedef struct stream {
	pg_source *s;
	pgrepl_conn *conn;
	pgo_decoder *dec;
	int proto; /* pgoutput protocol of this session: 2 streams large transactions */
	char spool_dir[4096];
	pgspool **spools; /* open streamed transactions */
	size_t nspools;
	pgspool *cur; /* the one between Stream Start and Stream Stop */
	int in_txn;
	uint64_t txn_final_lsn, last_end; /* last applied transaction's end */
	int64_t txn_commit_time;
	uint64_t confirmed;
	int64_t last_commit_ms, last_ask_ms, last_status_ms;
} stream;

static int send_status(stream *st, int ask, char *err)
{
	uint64_t recv;
	pthread_mutex_lock(&st->s->mu);
	recv = st->s->received_lsn;
	st->s->confirmed_lsn = st->confirmed;
	pthread_mutex_unlock(&st->s->mu);
	st->last_status_ms = pgsrc_now_ms();
	return pgrepl_send_status(st->conn, recv, st->confirmed, st->confirmed, ask, err);
}

/* Commits and confirms when due (between transactions only). */
static int maybe_commit(stream *st, int force, char *err)
{
	pg_source *s = st->s;
	int64_t now = pgsrc_now_ms();
	if (st->in_txn)
		return 0;
	if (any_dirty(s) &&
	    (force || now - st->last_commit_ms >= COMMIT_INTERVAL_MS || memory_full(s))) {
		commit_all(s, st->last_end);
		st->last_commit_ms = now;
	}
	if (!any_dirty(s) && !holds_confirmation(s) && st->last_end > st->confirmed) {
		st->confirmed = st->last_end;
		return send_status(st, 0, err);
	}
	return 0;
}

/* ---- streamed transactions (protocol 2) ---- */

static void close_spools(stream *st)
{
	for (size_t i = 0; i < st->nspools; i++)
		pgspool_remove(st->spools[i]);
	free(st->spools);
	st->spools = NULL;
	st->nspools = 0;
	st->cur = NULL;
}

/* The spool of xid (its index in st->spools), or -1. */
static long find_spool(const stream *st, uint32_t xid)
{
	for (size_t i = 0; i < st->nspools; i++)
		if (pgspool_xid(st->spools[i]) == xid)
			return (long)i;
	return -1;
}

static void drop_spool(stream *st, long i)
{
	if (st->cur == st->spools[i])
		st->cur = NULL;
	pgspool_remove(st->spools[i]);
	st->spools[i] = st->spools[--st->nspools];
}

static int on_stream_start(stream *st, uint32_t xid, char *err)
{
	long i = find_spool(st, xid);
	if (i >= 0) {
		st->cur = st->spools[i];
		return 0;
	}
	pgspool **grown = realloc(st->spools, (st->nspools + 1) * sizeof *grown);
	if (!grown)
		return errf(err, FLOE_ENOMEM, "out of memory");
	st->spools = grown;
	int rc = pgspool_open(st->spool_dir, xid, &st->spools[st->nspools], err);
	if (rc)
		return rc;
	st->cur = st->spools[st->nspools++];
	return 0;
}

static int on_stream_abort(stream *st, const pgo_msg *msg, char *err)
{
	long i = find_spool(st, msg->xid);
	if (i < 0)
		return 0;
	if (msg->stream_abort.subxid == msg->xid) {
		drop_spool(st, i);
		return 0;
	}
	return pgspool_abort_sub(st->spools[i], msg->stream_abort.subxid, err);
}

/* During a replay: tables holding READY_MAX_ROWS changes of it apply them. */
static void apply_pieces(pg_source *s)
{
	for (pgm_table *t = s->tables; t; t = t->next) {
		char err[ERR_LEN];
		if (!t->in_txn || t->phase != PGM_STREAMING || t->items_rows < READY_MAX_ROWS)
			continue;
		t->partial = 1;
		if (make_ready(t, err) || apply_ready(t, err))
			stop_table(s, t, err);
	}
}

static int stop_requested(pg_source *s)
{
	pthread_mutex_lock(&s->mu);
	int stop = s->stop || s->stream_stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

static int handle_message(stream *st, const pgo_msg *msg, const uint8_t *raw, size_t rawlen,
                          char *err);
static int send_status(stream *st, int ask, char *err);

/* Stream Commit: the spooled transaction applies as Begin, its messages,
 * Commit. A stop request cuts it off (st->in_txn stays set: the caller
 * ends the session and rolls back). */
static int on_stream_commit(stream *st, const pgo_msg *commit, char *err)
{
	pg_source *s = st->s;
	pgo_decoder *dec = NULL;
	pgo_msg m;
	long i = find_spool(st, commit->xid);
	pgspool *sp = i >= 0 ? st->spools[i] : NULL;
	const uint8_t start[6] = {PGO_STREAM_START,
	                          (uint8_t)(commit->xid >> 24),
	                          (uint8_t)(commit->xid >> 16),
	                          (uint8_t)(commit->xid >> 8),
	                          (uint8_t)commit->xid,
	                          1};
	int rc;
	/* What is applied so far is whole transactions: commit it, so that a
	 * rollback of this one takes nothing else with it. */
	if (any_dirty(s)) {
		commit_all(s, st->last_end);
		st->last_commit_ms = pgsrc_now_ms();
	}
	pgo_msg begin = {.type = PGO_BEGIN, .xid = commit->xid};
	begin.begin.final_lsn = commit->commit.commit_lsn;
	begin.begin.commit_time = commit->commit.commit_time;
	if ((rc = pgo_decoder_new(st->proto, &dec)) ||
	    (rc = pgo_decode(dec, start, sizeof start, &m, err)) ||
	    (rc = handle_message(st, &begin, NULL, 0, err)) ||
	    (sp && (rc = pgspool_rewind(sp, err))))
		goto out;
	for (uint64_t n = 1; sp; n++) {
		const uint8_t *data;
		size_t len;
		if ((rc = pgspool_next(sp, &data, &len, err)))
			goto out;
		if (!data)
			break;
		if ((rc = pgo_decode(dec, data, len, &m, err)) ||
		    (rc = handle_message(st, &m, data, len, err)))
			goto out;
		apply_pieces(s);
		if (n % 1024)
			continue;
		if (stop_requested(s))
			goto out;
		if (pgsrc_now_ms() - st->last_status_ms >= STATUS_EVERY_MS &&
		    (rc = send_status(st, 0, err)))
			goto out;
	}
	pthread_mutex_lock(&s->mu);
	s->streamed_txns++;
	s->spooled_bytes += sp ? pgspool_bytes(sp) : 0;
	pthread_mutex_unlock(&s->mu);
	m = *commit;
	m.type = PGO_COMMIT;
	rc = handle_message(st, &m, NULL, 0, err);
out:
	pgo_decoder_free(dec);
	if (i >= 0 && (i = find_spool(st, commit->xid)) >= 0)
		drop_spool(st, i);
	return rc;
}

/* Handles one decoded message; raw/rawlen are its bytes (for the spool). */
static int handle_message(stream *st, const pgo_msg *msg, const uint8_t *raw, size_t rawlen,
                          char *err)
{
	pg_source *s = st->s;
	pgm_table *t;
	int rc = 0;
	if (st->cur && msg->type != PGO_STREAM_STOP)
		/* A change of a transaction in progress: kept until it ends. */
		return pgspool_append(st->cur, msg->xid, raw, rawlen, err);
	switch (msg->type) {
	case PGO_STREAM_START:
		return on_stream_start(st, msg->xid, err);
	case PGO_STREAM_STOP:
		st->cur = NULL;
		return 0;
	case PGO_STREAM_ABORT:
		return on_stream_abort(st, msg, err);
	case PGO_STREAM_COMMIT:
		return on_stream_commit(st, msg, err);
	case PGO_BEGIN:
		st->in_txn = 1;
		st->txn_final_lsn = msg->begin.final_lsn;
		st->txn_commit_time = msg->begin.commit_time;
		/* Which tables take this transaction is decided once, at its start:
		 * a copy finishing meanwhile must not get half of it. */
		pthread_mutex_lock(&s->mu);
		for (t = s->tables; t; t = t->next)
			t->in_txn = t->phase == PGM_STREAMING && !t->copied &&
			            st->txn_final_lsn >= t->skip_before;
		pthread_mutex_unlock(&s->mu);
		return 0;
	case PGO_RELATION:
		/* Column layouts are learnt even for tables still copying: the
		 * server sends a Relation once per session. */
		t = table_of_relation(s, &msg->relation);
		if (!t || t->phase == PGM_ERROR || t->phase == PGM_STOPPED)
			return 0;
		rc = on_relation(s, t, &msg->relation, !t->in_txn, err);
		if (rc == FLOE_EIO || rc == FLOE_ENOMEM)
			return rc; /* the catalog connection failed: reconnect */
		if (rc)
			stop_table(s, t, err);
		return 0;
	case PGO_INSERT:
	case PGO_UPDATE:
	case PGO_DELETE:
		t = table_of_relid(s, msg->change.relid);
		if (!t || !t->in_txn)
			return 0;
		if ((rc = on_change(t, msg, err))) {
			discard_items(t);
			stop_table(s, t, err);
		}
		return 0;
	case PGO_TRUNCATE:
		for (uint32_t i = 0; i < msg->truncate.nrelids; i++) {
			t = table_of_relid(s, msg->truncate.relids[i]);
			if (!t || !t->in_txn)
				continue;
			if (!new_item(t, TABLE_OP_TRUNCATE, err))
				return FLOE_ENOMEM;
		}
		return 0;
	case PGO_COMMIT:
		for (t = s->tables; t; t = t->next) {
			t->partial = 0; /* whole now (a table that failed midway is rolled back) */
			if (t->in_txn)
				t->seen_lsn = msg->commit.end_lsn;
			if (!t->items)
				continue;
			if (t->in_txn && t->phase == PGM_STREAMING &&
			    ((rc = make_ready(t, err)) ||
			     (t->ready_rows >= READY_MAX_ROWS && (rc = apply_ready(t, err)))))
				stop_table(s, t, err);
			discard_items(t);
		}
		st->in_txn = 0;
		st->last_end = msg->commit.end_lsn;
		pthread_mutex_lock(&s->mu);
		s->last_commit_time = msg->commit.commit_time;
		s->last_lag_ms = (pg_now() - msg->commit.commit_time) / 1000;
		for (t = s->tables; t; t = t->next)
			if (t->phase == PGM_STREAMING)
				t->applied_lsn = st->last_end;
		pthread_mutex_unlock(&s->mu);
		return maybe_commit(st, 0, err);
	default:
		return 0; /* Origin, Type, Message: nothing to apply */
	}
}

/* One connection's life: start streaming, apply, until an error or stop. */
static int stream_once(stream *st, char *err)
{
	pg_source *s = st->s;
	char *ci = NULL;
	const uint8_t *data;
	size_t len;
	int rc;
	if ((rc = pgsql_conninfo(s->uri, 1, &ci, err)) || (rc = pgrepl_connect(ci, &st->conn, err)))
		goto out;
	if (s->sql && PQstatus(s->sql) != CONNECTION_OK) {
		PQfinish(s->sql); /* the server restarted */
		s->sql = NULL;
	}
	if (!s->sql && (rc = pgsql_connect(s->uri, &s->sql, err)))
		goto out;
	/* A new session sends every open transaction again from its start. */
	close_spools(st);
	st->proto = pgrepl_server_version(st->conn) >= 140000 ? 2 : 1;
	if ((rc = pgspool_clear_dir(st->spool_dir, err)) ||
	    (rc = pgo_decoder_new(st->proto, &st->dec)) ||
	    (rc = pgrepl_start(st->conn, s->slot, 0, st->proto, s->pub,
	                       st->proto >= 2 ? PGREPL_STREAMING : 0, err)))
		goto out;
	pthread_mutex_lock(&s->mu);
	s->connected = 1;
	s->error[0] = 0;
	s->restart_stream = 0;
	for (pgm_table *t = s->tables; t; t = t->next) {
		/* Each table skips what it already holds (source.h, rule 4): what
		 * it took part in. This session starts at or before every copy
		 * point (confirmation was held), so a finished copy applies from
		 * here on. */
		if (t->seen_lsn > t->skip_before)
			t->skip_before = t->seen_lsn;
		t->in_txn = 0;
		t->copied = 0;
		/* The schema as the table has it (a transaction cut off by the
		 * last disconnect may have changed ours); the server sends every
		 * Relation again in a new session. */
		floe_schema_clear(&t->schema);
		if (t->t && floe_schema_copy(table_schema(t->t), &t->schema))
			rc = errf(err, FLOE_ENOMEM, "out of memory");
	}
	pthread_mutex_unlock(&s->mu);
	if (rc)
		goto out;
	log_info("source %s: streaming", s->slot);
	for (;;) {
		pthread_mutex_lock(&s->mu);
		int stop = s->stop || s->stream_stop, restart = s->restart_stream;
		pthread_mutex_unlock(&s->mu);
		if (stop || (restart && !st->in_txn)) {
			rc = 0;
			break;
		}
		if ((rc = pgrepl_read(st->conn, 100, &data, &len, err)))
			break;
		int64_t now = pgsrc_now_ms();
		if (!data) {
			if ((rc = maybe_commit(st, 0, err)))
				break;
			if (!st->in_txn && now - st->last_ask_ms >= KEEPALIVE_ASK_MS) {
				st->last_ask_ms = now;
				if ((rc = send_status(st, 1, err)))
					break;
			}
			continue;
		}
		if (now - st->last_status_ms >= STATUS_EVERY_MS && (rc = send_status(st, 0, err)))
			break; /* a long transaction must not look like a dead client */
		pgo_frame f;
		if ((rc = pgo_frame_decode(data, len, &f, err)))
			break;
		pthread_mutex_lock(&s->mu);
		if (f.wal_end > s->server_lsn)
			s->server_lsn = f.wal_end;
		if (f.type == 'w' && f.wal_start > s->received_lsn)
			s->received_lsn = f.wal_start;
		pthread_mutex_unlock(&s->mu);
		if (f.type == 'k') {
			/* Nothing of ours pending: the server's position may go. */
			if (!st->in_txn && !any_dirty(s) && !holds_confirmation(s) &&
			    f.wal_end > st->confirmed) {
				st->confirmed = f.wal_end;
				if (st->last_end < f.wal_end)
					st->last_end = f.wal_end;
				if ((rc = send_status(st, 0, err)))
					break;
			} else if (f.reply_requested) {
				/* The server wants our position now: a shutting-down
				 * server waits until we confirm what it sent, so commit
				 * what is applied and answer with it. */
				if ((!st->in_txn && (rc = maybe_commit(st, 1, err))) ||
				    (rc = send_status(st, 0, err)))
					break;
			}
			continue;
		}
		pgo_msg msg;
		if ((rc = pgo_decode(st->dec, f.data, f.len, &msg, err)) ||
		    (rc = handle_message(st, &msg, f.data, f.len, err)))
			break;
	}
out:
	/* Whatever was applied is whole transactions once a transaction cut
	 * off midway is rolled back: commit it. */
	pgstream_discard_txn(s);
	for (pgm_table *t = s->tables; t; t = t->next)
		rollback_partial(s, t);
	st->in_txn = 0;
	close_spools(st);
	commit_all(s, st->last_end);
	if (st->conn && rc == 0 && !holds_confirmation(s) && st->last_end > st->confirmed) {
		st->confirmed = st->last_end;
		char e2[ERR_LEN];
		send_status(st, 0, e2);
	}
	pgrepl_close(st->conn);
	st->conn = NULL;
	pgo_decoder_free(st->dec);
	st->dec = NULL;
	free(ci);
	if (rc && s->sql) { /* it may have died with the stream: connect afresh */
		PQfinish(s->sql);
		s->sql = NULL;
	}
	pthread_mutex_lock(&s->mu);
	s->connected = 0;
	if (rc)
		snprintf(s->error, sizeof s->error, "%s", err);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void *pgstream_main(void *arg)
{
	pg_source *s = arg;
	stream st = {.s = s};
	int backoff_ms = 250;
	char perr[ERR_LEN];
	if (fs_pathf(st.spool_dir, sizeof st.spool_dir, perr, "%s/%s.spool", s->m->sources_dir,
	             s->slot)) {
		log_error("source %s: %s", s->slot, perr);
		return NULL;
	}
	pthread_mutex_lock(&s->mu);
	st.confirmed = s->confirmed_lsn;
	pthread_mutex_unlock(&s->mu);
	for (;;) {
		char err[ERR_LEN];
		pthread_mutex_lock(&s->mu);
		int stop = s->stop || s->stream_stop;
		pthread_mutex_unlock(&s->mu);
		if (stop)
			break;
		int rc = stream_once(&st, err);
		if (rc == 0) {
			backoff_ms = 250;
			continue;
		}
		log_warn("source %s: %s; reconnecting in %d ms", s->slot, err, backoff_ms);
		for (int waited = 0; waited < backoff_ms; waited += 50) {
			pthread_mutex_lock(&s->mu);
			stop = s->stop || s->stream_stop;
			pthread_mutex_unlock(&s->mu);
			if (stop)
				break;
			usleep(50 * 1000);
		}
		backoff_ms = backoff_ms * 2 > 10000 ? 10000 : backoff_ms * 2;
	}
	if (s->sql) {
		PQfinish(s->sql);
		s->sql = NULL;
	}
	return NULL;
}
