/*
 * copy — the initial copy of a mirrored table (source.h rule 5).
 *
 * A temporary replication slot, created on its own walsender connection
 * with an exported snapshot, fixes the copy's point in time: its consistent
 * point C. Workers (table_config.copy_workers, default 4 or one per two
 * CPUs, source.c) each open an ordinary connection, join that snapshot (SET
 * TRANSACTION SNAPSHOT) and run COPY (SELECT ...) TO STDOUT: one worker
 * over the whole table, several over shares of the table's blocks (WHERE
 * ctid in [a, b); the last share is open-ended so rows in blocks added
 * since the size was read are not missed). One worker is a plain
 * sequential scan, the cheapest for the server (it reads through a small
 * ring of buffers, where block-range scans go through all of
 * shared_buffers; in bench/pg_mirror.py on 2 cores one scan cost
 * PostgreSQL about half the CPU of four); several keep more cores of both
 * sides busy.
 *
 * Each worker is three threads: the connection thread reads COPY data and
 * cuts it into chunks of whole tuples (or lines) for the decoder thread
 * (copypipe.h), which turns them into rows, COPY_BATCH_ROWS to a batch;
 * every COPY_LOAD_BYTES of batches go to the worker's loader thread, which
 * writes them as a Parquet file and key list while the decoder fills a
 * second set (copyload.h, table_source_load). So the server keeps sending
 * while files are written, workers encode side by side, and the table's
 * writer only stages each file and indexes its keys. The promise
 * table_source_load asks for holds: the table was truncated first, and a
 * primary key is unique in the snapshot (full-row and keyless tables need
 * no such promise). One commit at the end, with floe.lsn = C, adds every
 * staged file, so readers see the whole copy at once. Then the table
 * streams: transactions committing from C on apply to it.
 * A copy interrupted by a crash starts over (the table is truncated first).
 *
 * Format. The copy reads binary COPY (pgbinary.h: the server's send
 * functions cost it less than its output functions, and the values need no
 * parsing here), with the same values and errors as the text path. A table
 * with a column pgbin_supported refuses (a column whose PostgreSQL type the
 * catalog did not describe), or with a "char" column on a server before
 * PostgreSQL 15 (whose text form of a non-ASCII "char" differs), is copied
 * in text format instead, as a whole; the log says which and why.
 *
 * COPY text format (PostgreSQL's copy.c): one row per line, columns split
 * by a tab, \N for null, and backslash escapes \b \f \n \r \t \v \\, \ooo
 * (octal) and \xhh (hex) inside values.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/log.h"
#include "source/pg/copyload.h"
#include "source/pg/copypipe.h"
#include "source/pg/pgbinary.h"
#include "source/pg/pgsql.h"
#include "source/pg/pgtype.h"
#include "source/pg/replication.h"
#include "source/pg/source_internal.h"

#define COPY_BATCH_ROWS 16384
/* Rows a worker holds before loading them as one data file (batch memory;
 * about a tenth of it in Parquet). A worker has two such sets (copyload.h),
 * so the copy's batch memory is 2 x copy_workers times this. */
#define COPY_LOAD_BYTES ((size_t)64 << 20)
/* A chunk the connection thread hands to the decoder is cut once it holds
 * this much; COPY_PIPE_DEPTH chunks (~8 MiB) let the server run ahead while
 * the decoder writes a file. */
#define COPY_CHUNK_BYTES ((size_t)256 << 10)
#define COPY_PIPE_DEPTH  32

typedef struct copy_job {
	pg_source *s;
	pgm_table *t;
	const char *snapshot;
	const char *select_list;
	const pgtype_desc *const *types; /* per schema column (shared, read-only) */
	int binary;                      /* COPY ... (FORMAT binary) */
	int64_t first_block, end_block;  /* end_block < 0: to the end */
	copypipe *pipe;                  /* connection thread -> decoder thread */
	int rc, decode_rc;
	char err[ERR_LEN], decode_err[ERR_LEN];
} copy_job;

/* Undoes COPY's escapes of one field in place; returns its new length. */
static size_t unescape(char *p, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];
		if (ch != '\\' || i + 1 == n) {
			p[o++] = ch;
			continue;
		}
		ch = p[++i];
		switch (ch) {
		case 'b':
			p[o++] = '\b';
			break;
		case 'f':
			p[o++] = '\f';
			break;
		case 'n':
			p[o++] = '\n';
			break;
		case 'r':
			p[o++] = '\r';
			break;
		case 't':
			p[o++] = '\t';
			break;
		case 'v':
			p[o++] = '\v';
			break;
		case 'x': {
			int v = 0, k = 0;
			while (k < 2 && i + 1 < n &&
			       ((p[i + 1] >= '0' && p[i + 1] <= '9') ||
			        ((p[i + 1] | 32) >= 'a' && (p[i + 1] | 32) <= 'f'))) {
				char h = p[++i];
				v = v * 16 + (h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
				k++;
			}
			p[o++] = k ? (char)v : 'x';
			break;
		}
		default:
			if (ch >= '0' && ch <= '7') {
				int v = ch - '0', k = 1;
				while (k < 3 && i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '7') {
					v = v * 8 + (p[++i] - '0');
					k++;
				}
				p[o++] = (char)v;
			} else {
				p[o++] = ch;
			}
		}
	}
	return o;
}

/* One COPY line (without its newline) as a row of b, columns in schema
 * order (the SELECT list is the schema's columns). */
static int add_line(pgm_table *t, const floe_schema *schema, const pgtype_desc *const *types,
                    batch *b, char *line, size_t n, char *err)
{
	batch_row_begin(b);
	size_t start = 0;
	for (int c = 0; c < schema->ncols; c++) {
		size_t end = start;
		while (end < n && line[end] != '\t')
			end++;
		if (end == n && c + 1 < schema->ncols) {
			batch_row_abort(b);
			return errf(err, FLOE_ECORRUPT, "%s: COPY row has too few columns",
			            t->src_table);
		}
		char *f = line + start;
		size_t flen = end - start;
		if (flen == 2 && f[0] == '\\' && f[1] == 'N') {
			batch_set_null(b, c);
		} else {
			flen = unescape(f, flen);
			int rc = pgtype_set_text(b, c, &schema->cols[c], types[c], f, flen, err);
			if (rc) {
				batch_row_abort(b);
				return rc;
			}
		}
		start = end + 1;
	}
	batch_row_commit(b);
	return batch_check(b) ? errf(err, FLOE_ENOMEM, "out of memory") : 0;
}

/* A connection of t's copy becomes cancellable (c) or stops being (NULL
 * with was = the connection). */
static void track_conn(pg_source *s, pgm_table *t, PGconn *c, PGconn *was)
{
	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < sizeof t->copy_conns / sizeof t->copy_conns[0]; i++)
		if (t->copy_conns[i] == was) {
			t->copy_conns[i] = c;
			break;
		}
	pthread_mutex_unlock(&s->mu);
}

void pgcopy_cancel(pgm_table *t)
{
	for (size_t i = 0; i < sizeof t->copy_conns / sizeof t->copy_conns[0]; i++) {
		if (!t->copy_conns[i])
			continue;
		char msg[256];
		PGcancel *cancel = PQgetCancel(t->copy_conns[i]);
		if (cancel) {
			PQcancel(cancel, msg, sizeof msg);
			PQfreeCancel(cancel);
		}
	}
}

/* Joins the copy's snapshot on c and starts the worker's COPY. */
static int start_copy(copy_job *j, PGconn *c, char *err)
{
	buf sql = {0};
	PGresult *r = NULL;
	int rc;
	/* The snapshot name comes from the server ("00000003-00000002-1"). */
	char stmt[160];
	snprintf(stmt, sizeof stmt, "SET TRANSACTION SNAPSHOT '%s'", j->snapshot);
	if ((rc = pgsql_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, NULL,
	                     err)) ||
	    (rc = pgsql_exec(c, stmt, 0, NULL, NULL, err)))
		goto out;
	buf_printf(&sql, "COPY (SELECT %s FROM %s", j->select_list, j->t->cat.quoted);
	if (j->first_block > 0 || j->end_block >= 0)
		buf_printf(&sql, " WHERE ctid >= '(%" PRId64 ",0)'::tid", j->first_block);
	if (j->end_block >= 0)
		buf_printf(&sql, " AND ctid < '(%" PRId64 ",0)'::tid", j->end_block);
	buf_append_str(&sql, j->binary ? ") TO STDOUT (FORMAT binary)" : ") TO STDOUT");
	buf_append(&sql, "", 1);
	if (!buf_ok(&sql)) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto out;
	}
	r = PQexec(c, (const char *)sql.data);
	if (PQresultStatus(r) != PGRES_COPY_OUT)
		rc = pgsql_fail(c, r, "COPY", err);
out:
	PQclear(r);
	buf_release(&sql);
	return rc;
}

/* The whole lines of p[0..n) (text format, each ending in a newline) as
 * rows of b, until b has row_limit rows; *used = the bytes taken. The lines
 * are unescaped in place. */
static int add_lines(const copy_job *j, const floe_schema *schema, batch *b, char *p, size_t n,
                     size_t row_limit, size_t *used, char *err)
{
	size_t off = 0;
	int rc = 0;
	while (off < n && b->nrows < row_limit) {
		char *nl = memchr(p + off, '\n', n - off);
		size_t len = nl ? (size_t)(nl - (p + off)) : n - off;
		if ((rc = add_line(j->t, schema, j->types, b, p + off, len, err)))
			break;
		off += len + 1;
	}
	*used = off < n ? off : n;
	return rc;
}

/* Rows from a chunk's bytes p[0..n) into b, up to COPY_BATCH_ROWS;
 * *used = the bytes taken. */
static int decode_some(const copy_job *j, const pgbin_reader *rd, const floe_schema *schema,
                       batch *b, uint8_t *p, size_t n, size_t *used, char *err)
{
	if (j->binary)
		return pgbin_decode_tuples(rd, b, p, n, COPY_BATCH_ROWS, used, err);
	return add_lines(j, schema, b, (char *)p, n, COPY_BATCH_ROWS, used, err);
}

/* The decoder thread of a worker: chunks from the pipe become batch rows,
 * COPY_BATCH_ROWS to a batch (exactly, so a kept batch never has to grow),
 * loaded into the table by the worker's copyload. On failure it stops the
 * pipe, so the connection thread ends too. */
static void *decode_main(void *arg)
{
	copy_job *j = arg;
	const floe_schema *schema = table_schema(j->t->t);
	pgbin_reader rd; /* lends schema, types and name to pgbin_decode_tuples */
	copyload *load = NULL;
	batch *b = NULL;
	buf *chunk;
	int rc = 0, stopped = 0;
	pgbin_reader_init(&rd, schema, j->types, j->t->src_table);
	rc = copyload_new(j->t->t, schema, COPY_BATCH_ROWS, COPY_LOAD_BYTES, &load, j->decode_err);
	while (rc == 0 && (chunk = copypipe_take(j->pipe, &stopped))) {
		for (size_t off = 0, used; rc == 0 && off < chunk->len; off += used) {
			used = 0;
			if ((rc = copyload_batch(load, &b, j->decode_err)) == 0 &&
			    (rc = decode_some(j, &rd, schema, b, chunk->data + off,
			                      chunk->len - off, &used, j->decode_err)) == 0 &&
			    b->nrows >= COPY_BATCH_ROWS) {
				atomic_fetch_add(&j->t->copy_rows, (int_fast64_t)b->nrows);
				rc = copyload_filled(load, j->decode_err);
			}
		}
		copypipe_give_back(j->pipe, chunk);
	}
	if (rc == 0 && stopped)
		rc = errf(j->decode_err, FLOE_EIO, "stopped");
	if (rc == 0 && (rc = copyload_batch(load, &b, j->decode_err)) == 0) {
		atomic_fetch_add(&j->t->copy_rows, (int_fast64_t)b->nrows); /* partly filled */
		rc = copyload_finish(load, j->decode_err);
	}
	if (rc)
		copypipe_stop(j->pipe);
	copyload_free(load);
	pgbin_reader_clear(&rd);
	j->decode_rc = rc;
	return NULL;
}

/* One COPY message into the chunk being filled: a binary stream's complete
 * tuples (framed by rd), or a text line with its newline. */
static int add_message(copy_job *j, pgbin_reader *rd, buf *chunk, const char *msg, size_t n,
                       char *err)
{
	if (j->binary)
		return pgbin_reader_frame(rd, chunk, (const uint8_t *)msg, n, err);
	if (n && msg[n - 1] == '\n')
		n--;
	buf_append(chunk, msg, n);
	buf_put_u8(chunk, '\n');
	return buf_ok(chunk) ? 0 : errf(err, FLOE_ENOMEM, "out of memory");
}

/* The connection thread of a worker: runs the COPY and feeds the pipe,
 * whole tuples (or lines) per chunk, to its decoder thread. */
static int read_copy(copy_job *j, PGconn *c, char *err)
{
	pgm_table *t = j->t;
	pgbin_reader rd;
	buf *chunk = NULL;
	char *msg = NULL;
	PGresult *r = NULL;
	int rc;
	pgbin_reader_init(&rd, table_schema(t->t), j->types, t->src_table);
	if ((rc = start_copy(j, c, err)))
		goto out;
	for (;;) {
		if (!chunk && !(chunk = copypipe_get_empty(j->pipe))) {
			rc = errf(err, FLOE_EIO, "stopped"); /* the decoder failed */
			goto out;
		}
		int n = PQgetCopyData(c, &msg, 0);
		if (n == -1)
			break;
		if (n < 0) {
			rc = pgsql_fail(c, NULL, "COPY", err);
			goto out;
		}
		rc = add_message(j, &rd, chunk, msg, (size_t)n, err);
		PQfreemem(msg);
		msg = NULL;
		if (rc)
			goto out;
		if (chunk->len < COPY_CHUNK_BYTES)
			continue;
		copypipe_put(j->pipe, chunk);
		chunk = NULL;
		pthread_mutex_lock(&j->s->mu);
		int stop = j->s->stop || t->phase == PGM_STOPPED;
		pthread_mutex_unlock(&j->s->mu);
		if (stop) {
			rc = errf(err, FLOE_EIO, "stopped");
			goto out;
		}
	}
	r = PQgetResult(c);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		rc = pgsql_fail(c, r, "COPY", err);
		goto out;
	}
	if (j->binary && (rc = pgbin_reader_finish(&rd, err)))
		goto out;
	copypipe_put(j->pipe, chunk);
	chunk = NULL;
out:
	if (chunk) { /* every chunk goes back to the pipe; a failed copy's empty */
		buf_reset(chunk);
		copypipe_put(j->pipe, chunk);
	}
	PQfreemem(msg);
	PQclear(r);
	pgbin_reader_clear(&rd);
	return rc;
}

/* A worker: one connection (this thread), its decoder thread, and the
 * decoder's loader thread (copyload.h). */
static void *copy_worker(void *arg)
{
	copy_job *j = arg;
	PGconn *c = NULL;
	pthread_t decoder;
	int rc, started = 0;
	if ((rc = copypipe_new(COPY_PIPE_DEPTH, &j->pipe))) {
		rc = errf(j->err, rc, "out of memory");
		goto out;
	}
	if (pthread_create(&decoder, NULL, decode_main, j) != 0) {
		rc = errf(j->err, FLOE_ENOMEM, "cannot start a copy thread");
		goto out;
	}
	started = 1;
	if ((rc = pgsql_connect(j->s->uri, &c, j->err)))
		goto out;
	track_conn(j->s, j->t, c, NULL);
	rc = read_copy(j, c, j->err);
out:
	if (started) {
		if (rc)
			copypipe_stop(j->pipe);
		else
			copypipe_close(j->pipe);
		pthread_join(decoder, NULL);
		/* The decoder's failure is the cause when both failed (it stops
		 * the pipe, and then the connection thread stops too). */
		if (j->decode_rc)
			rc = errf(j->err, j->decode_rc, "%s", j->decode_err);
	}
	copypipe_free(j->pipe);
	j->pipe = NULL;
	if (c) {
		track_conn(j->s, j->t, NULL, c);
		PQfinish(c);
	}
	j->rc = rc;
	return NULL;
}

/* Each schema column's PostgreSQL type (by name; NULL when the catalog
 * description has no such column), into types (schema->ncols entries). */
static void column_types(const pgm_table *t, const floe_schema *schema, const pgtype_desc **types)
{
	for (int col = 0; col < schema->ncols; col++) {
		types[col] = NULL;
		for (int k = 0; k < t->cat.ncols; k++)
			if (!strcmp(t->cat.cols[k].name, schema->cols[col].name))
				types[col] = &t->cat.cols[k].type;
	}
}

/* 1 when the copy can read binary COPY (see the file comment); otherwise
 * logs why not and returns 0. */
static int binary_ok(const pg_source *s, const pgm_table *t, PGconn *c, const floe_schema *schema,
                     const pgtype_desc *const *types)
{
	for (int col = 0; col < schema->ncols; col++) {
		const pgtype_desc *d = types[col];
		const char *why = NULL;
		if (!pgbin_supported(&schema->cols[col], d))
			why = "its type cannot be read in binary";
		else if (PQserverVersion(c) < 150000 &&
		         (d->base_oid == PGT_CHAR || d->elem_oid == PGT_CHAR))
			why = "\"char\" prints differently before PostgreSQL 15";
		if (why) {
			log_info("source %s: copying %s in text format: column %s: %s", s->slot,
			         t->src_table, schema->cols[col].name, why);
			return 0;
		}
	}
	return 1;
}

/* "a", "b", ... : the schema's columns, quoted, in order. */
static int select_list(PGconn *c, const floe_schema *s, buf *out, char *err)
{
	for (int i = 0; i < s->ncols; i++) {
		char *q = PQescapeIdentifier(c, s->cols[i].name, strlen(s->cols[i].name));
		if (!q)
			return errf(err, FLOE_ENOMEM, "out of memory");
		buf_printf(out, "%s%s", i ? ", " : "", q);
		PQfreemem(q);
	}
	buf_append(out, "", 1);
	return buf_ok(out) ? 0 : errf(err, FLOE_ENOMEM, "out of memory");
}

static int run_copy(pg_source *s, pgm_table *t, char *err)
{
	pgrepl_conn *rc_conn = NULL;
	PGconn *sql = NULL;
	char *ci = NULL, slot[64];
	pgrepl_slot sl;
	buf cols = {0};
	copy_job *jobs = NULL;
	pthread_t *threads = NULL;
	const pgtype_desc **types = NULL;
	int rc, nworkers = t->copy_workers > 0 ? t->copy_workers : 1, started = 0;
	submit_result res;
	int taken;
	uint64_t rnd = 0;
	if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		rnd = (uint64_t)pgsrc_now_ms() ^ (uint64_t)(uintptr_t)t;
	snprintf(slot, sizeof slot, "floe_copy_%016" PRIx64, rnd);
	if ((rc = table_source_apply(t->t, TABLE_OP_TRUNCATE, NULL, NULL, NULL, &res, &taken,
	                             err)) ||
	    (rc = table_source_commit(t->t, -1, "copying", err)))
		goto out;
	if ((rc = pgsql_conninfo(s->uri, 1, &ci, err)) ||
	    (rc = pgrepl_connect(ci, &rc_conn, err)) ||
	    (track_conn(s, t, pgrepl_pgconn(rc_conn), NULL),
	     (rc = pgrepl_create_slot_ex(rc_conn, slot, 1, 1, &sl, err))) ||
	    (rc = pgsql_connect(s->uri, &sql, err)))
		goto out;
	pgcat_table now;
	if ((rc = pgcat_table_describe(sql, t->src_table, &now, err)))
		goto out;
	int64_t blocks = now.pages, estimate = now.est_rows;
	if (estimate <= 0 && blocks > 0) {
		/* Never analyzed (reltuples -1): count a small table, else guess
		 * from its size; only the progress figure depends on it. */
		buf q = {0};
		PGresult *cr = NULL;
		buf_printf(&q, "SELECT count(*) FROM %s", now.quoted);
		buf_append(&q, "", 1);
		estimate = blocks * 60;
		if (blocks <= 12800 && buf_ok(&q) &&
		    pgsql_exec(sql, (const char *)q.data, 0, NULL, &cr, err) == 0)
			estimate = strtoll(PQgetvalue(cr, 0, 0), NULL, 10);
		PQclear(cr);
		buf_release(&q);
	}
	atomic_store(&t->copy_estimate, estimate > 0 ? estimate : 0);
	if (estimate > 0 && (rc = table_source_reserve(t->t, (size_t)estimate, err)))
		goto out;
	pgcat_table_free(&now);
	const floe_schema *schema = table_schema(t->t);
	if ((rc = select_list(sql, schema, &cols, err)))
		goto out;
	if (!(types = calloc((size_t)schema->ncols + 1, sizeof *types))) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto out;
	}
	column_types(t, schema, types);
	int binary = binary_ok(s, t, sql, schema, types);
	if (blocks < 64)
		nworkers = 1;
	jobs = calloc((size_t)nworkers, sizeof *jobs);
	threads = calloc((size_t)nworkers, sizeof *threads);
	if (!jobs || !threads) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto out;
	}
	for (int i = 0; i < nworkers; i++) {
		jobs[i] =
		    (copy_job){.s = s,
		               .t = t,
		               .snapshot = sl.snapshot_name,
		               .select_list = (const char *)cols.data,
		               .types = types,
		               .binary = binary,
		               .first_block = nworkers == 1 ? 0 : blocks * i / nworkers,
		               .end_block = i + 1 == nworkers ? -1 : blocks * (i + 1) / nworkers};
		if (pthread_create(&threads[i], NULL, copy_worker, &jobs[i]) != 0) {
			rc = errf(err, FLOE_ENOMEM, "cannot start a copy thread");
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(threads[i], NULL);
		if (jobs[i].rc && rc == 0)
			rc = errf(err, jobs[i].rc, "%s", jobs[i].err);
	}
	if (rc)
		goto out;
	if ((rc = table_source_commit(t->t, (int64_t)sl.consistent_point, NULL, err)))
		goto out;
	pthread_mutex_lock(&s->mu);
	t->copy_lsn = sl.consistent_point;
	t->skip_before = sl.consistent_point;
	t->applied_lsn = sl.consistent_point;
	if (t->phase == PGM_COPYING) {
		t->phase = PGM_STREAMING;
		t->copied = 1;
	}
	s->restart_stream = 1; /* rule 5: read the slot again for this table */
	pthread_mutex_unlock(&s->mu);
	char lsn[18];
	pgrepl_lsn_format(sl.consistent_point, lsn);
	log_info("source %s: copied %s into %s (%" PRId64 " rows, %s COPY, consistent point %s)",
	         s->slot, t->src_table, t->name, (int64_t)atomic_load(&t->copy_rows),
	         binary ? "binary" : "text", lsn);
	rc = pgsrc_save_state(s, err);
out:
	free(jobs);
	free(threads);
	free(types);
	buf_release(&cols);
	if (sql)
		PQfinish(sql);
	if (rc_conn)
		track_conn(s, t, NULL, pgrepl_pgconn(rc_conn));
	pgrepl_close(rc_conn); /* drops the temporary slot */
	free(ci);
	return rc;
}

static void *copy_main(void *arg)
{
	pgm_table *t = arg;
	pg_source *s = t->owner;
	char err[ERR_LEN];
	int rc = run_copy(s, t, err);
	if (rc) {
		pthread_mutex_lock(&s->mu);
		int stopping = s->stop || t->phase == PGM_STOPPED;
		pthread_mutex_unlock(&s->mu);
		if (!stopping) {
			/* The files loaded so far are staged: never part of a snapshot. */
			char rerr[ERR_LEN];
			if (table_source_rollback(t->t, rerr))
				log_warn("source %s: %s: %s", s->slot, t->name, rerr);
			pgm_set_error(s, t, err);
		}
	}
	return NULL;
}

int pgcopy_start(pg_source *s, pgm_table *t, char *err)
{
	t->owner = s;
	atomic_store(&t->copy_rows, 0);
	if (pthread_create(&t->copy_thread, NULL, copy_main, t) != 0)
		return errf(err, FLOE_ENOMEM, "cannot start the copy of %s", t->src_table);
	t->copy_thread_started = 1;
	return 0;
}
