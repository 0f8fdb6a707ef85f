/*
 * pgrepl_tail — streams a PostgreSQL logical replication slot through
 * source/pg/replication.c and source/pg/pgoutput.c and prints every decoded
 * pgoutput message as one line of JSON on stdout:
 *
 *   pgrepl_tail CONNINFO SLOT PUBLICATION SECONDS
 *
 * CONNINFO must contain replication=database. The slot (pgoutput) is created
 * when it does not exist, and streaming starts at its consistent point;
 * otherwise at the slot's confirmed_flush_lsn. Streams for SECONDS (or until
 * SIGINT/SIGTERM), then sends a last status update and exits 0; 1 on any
 * error (one line on stderr).
 *
 * Lines (keys in this order; every message inside a transaction carries the
 * xid of its Begin):
 *   {"type":"Begin","xid":N,"final_lsn":"X/Y"}
 *   {"type":"Commit","xid":N,"commit_lsn":"X/Y","end_lsn":"X/Y"}
 *   {"type":"Relation","xid":N,"relation":"public.t","replident":"d",
 *    "columns":["id","note"],"key":["id"]}
 *   {"type":"Type","xid":N,"name":"public.mood"}
 *   {"type":"Insert","xid":N,"relation":"public.t","new":[...]}
 *   {"type":"Update","xid":N,"relation":"public.t","old_kind":"K","old":[...],"new":[...]}
 *       (old_kind and old only when the message has an old tuple)
 *   {"type":"Delete","xid":N,"relation":"public.t","old_kind":"K","old":[...]}
 *   {"type":"Truncate","xid":N,"relations":["public.t"],"cascade":0,"restart_identity":0}
 *   {"type":"Origin"|"Message"|...,"xid":N}  (other messages: the type only)
 * A tuple value is a JSON string (text format), null, {"unchanged":true}
 * (an unchanged TOASTed value, 'u') or {"binary":"<hex>"}.
 *
 * The tool's "durable" point is its stdout: a transaction is committed once
 * its Commit line is written and flushed. So the flush LSN it confirms is the
 * end LSN of the last printed Commit, or — on a keepalive while no
 * transaction is open — the keepalive's wal_end. Each confirmation is logged
 * on stderr as "pgrepl_tail: confirmed flush X/Y"; start-up logs
 * "pgrepl_tail: streaming slot S from X/Y" once START_REPLICATION succeeded.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "source/pg/pgoutput.h"
#include "source/pg/replication.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

typedef struct relcache {
	pgo_relation **rels;
	size_t n, cap;
} relcache;

static const pgo_relation *rel_find(const relcache *rc, uint32_t oid)
{
	for (size_t i = 0; i < rc->n; i++)
		if (rc->rels[i]->oid == oid)
			return rc->rels[i];
	return NULL;
}

static int rel_put(relcache *rc, const pgo_relation *r)
{
	pgo_relation *copy;
	if (pgo_relation_dup(r, &copy))
		return FLOE_ENOMEM;
	for (size_t i = 0; i < rc->n; i++)
		if (rc->rels[i]->oid == r->oid) {
			pgo_relation_free(rc->rels[i]);
			rc->rels[i] = copy;
			return 0;
		}
	if (rc->n == rc->cap) {
		size_t cap = rc->cap ? rc->cap * 2 : 8;
		pgo_relation **p = realloc(rc->rels, cap * sizeof *p);
		if (!p) {
			pgo_relation_free(copy);
			return FLOE_ENOMEM;
		}
		rc->rels = p;
		rc->cap = cap;
	}
	rc->rels[rc->n++] = copy;
	return 0;
}

static void rel_free_all(relcache *rc)
{
	for (size_t i = 0; i < rc->n; i++)
		pgo_relation_free(rc->rels[i]);
	free(rc->rels);
}

static void json_str(const uint8_t *s, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = s[i];
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '\t')
			fputs("\\t", stdout);
		else if (ch == '\r')
			fputs("\\r", stdout);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_cstr(const char *s)
{
	json_str((const uint8_t *)s, strlen(s));
}

static void print_relname(const relcache *rc, uint32_t oid)
{
	const pgo_relation *r = rel_find(rc, oid);
	if (!r) {
		printf("\"?%u\"", oid);
		return;
	}
	char name[256];
	snprintf(name, sizeof name, "%s.%s", r->nspname, r->relname);
	json_cstr(name);
}

static void print_tuple(const pgo_tuple *t)
{
	putchar('[');
	for (uint16_t i = 0; i < t->ncols; i++) {
		const pgo_value *v = &t->cols[i];
		if (i)
			putchar(',');
		switch (v->kind) {
		case PGO_VAL_NULL:
			fputs("null", stdout);
			break;
		case PGO_VAL_UNCHANGED:
			fputs("{\"unchanged\":true}", stdout);
			break;
		case PGO_VAL_TEXT:
			json_str(v->data, v->len);
			break;
		default:
			fputs("{\"binary\":\"", stdout);
			for (uint32_t j = 0; j < v->len; j++)
				printf("%02x", v->data[j]);
			fputs("\"}", stdout);
		}
	}
	putchar(']');
}

static void print_lsn(const char *key, uint64_t lsn)
{
	char s[18];
	pgrepl_lsn_format(lsn, s);
	printf(",\"%s\":\"%s\"", key, s);
}

/* Prints one decoded message; keeps the relation cache current. */
static int print_msg(relcache *rc, const pgo_msg *m, uint32_t xid)
{
	printf("{\"type\":");
	json_cstr(pgo_type_name(m->type));
	printf(",\"xid\":%u", m->has_xid ? m->xid : xid);
	switch (m->type) {
	case PGO_BEGIN:
		print_lsn("final_lsn", m->begin.final_lsn);
		break;
	case PGO_COMMIT:
		print_lsn("commit_lsn", m->commit.commit_lsn);
		print_lsn("end_lsn", m->commit.end_lsn);
		break;
	case PGO_RELATION: {
		const pgo_relation *r = &m->relation;
		if (rel_put(rc, r))
			return FLOE_ENOMEM;
		printf(",\"relation\":");
		print_relname(rc, r->oid);
		printf(",\"replident\":\"%c\",\"columns\":[", r->replident);
		for (uint16_t i = 0; i < r->ncols; i++) {
			if (i)
				putchar(',');
			json_cstr(r->cols[i].name);
		}
		printf("],\"key\":[");
		int first = 1;
		for (uint16_t i = 0; i < r->ncols; i++)
			if (r->cols[i].flags & PGO_COL_KEY) {
				if (!first)
					putchar(',');
				first = 0;
				json_cstr(r->cols[i].name);
			}
		putchar(']');
		break;
	}
	case PGO_TYPE: {
		char name[256];
		snprintf(name, sizeof name, "%s.%s", m->type_info.nspname, m->type_info.name);
		printf(",\"name\":");
		json_cstr(name);
		break;
	}
	case PGO_INSERT:
	case PGO_UPDATE:
	case PGO_DELETE:
		printf(",\"relation\":");
		print_relname(rc, m->change.relid);
		if (m->change.old_kind) {
			printf(",\"old_kind\":\"%c\",\"old\":", m->change.old_kind);
			print_tuple(&m->change.old_tuple);
		}
		if (m->type != PGO_DELETE) {
			printf(",\"new\":");
			print_tuple(&m->change.new_tuple);
		}
		break;
	case PGO_TRUNCATE:
		printf(",\"relations\":[");
		for (uint32_t i = 0; i < m->truncate.nrelids; i++) {
			if (i)
				putchar(',');
			print_relname(rc, m->truncate.relids[i]);
		}
		printf("],\"cascade\":%d,\"restart_identity\":%d", m->truncate.cascade,
		       m->truncate.restart_identity);
		break;
	default:
		break;
	}
	printf("}\n");
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int confirm(pgrepl_conn *c, uint64_t written, uint64_t flushed, char *err)
{
	int rc = pgrepl_send_status(c, written, flushed, flushed, 0, err);
	if (rc == 0) {
		char s[18];
		pgrepl_lsn_format(flushed, s);
		fprintf(stderr, "pgrepl_tail: confirmed flush %s\n", s);
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: pgrepl_tail CONNINFO SLOT PUBLICATION SECONDS\n");
		return 2;
	}
	const char *conninfo = argv[1], *slot = argv[2], *pub = argv[3];
	double seconds = atof(argv[4]);
	char err[ERR_LEN] = "";
	pgrepl_conn *c = NULL;
	pgo_decoder *dec = NULL;
	relcache rels = {0};
	int rc;

	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	if ((rc = pgrepl_connect(conninfo, &c, err)))
		goto fail;
	pgrepl_system sys;
	if ((rc = pgrepl_identify_system(c, &sys, err)))
		goto fail;
	pgrepl_slot created;
	uint64_t start = 0;
	rc = pgrepl_create_slot(c, slot, &created, err);
	if (rc == 0)
		start = created.consistent_point;
	else if (rc != FLOE_EEXIST)
		goto fail;
	if ((rc = pgrepl_start(c, slot, start, 1, pub, 0, err)))
		goto fail;
	if ((rc = pgo_decoder_new(1, &dec))) {
		snprintf(err, sizeof err, "pgo_decoder_new failed");
		goto fail;
	}
	{
		char s[18];
		pgrepl_lsn_format(start, s);
		fprintf(stderr, "pgrepl_tail: streaming slot %s of database %s from %s\n", slot,
		        sys.dbname, s);
	}

	uint64_t written = start, flushed = start;
	uint32_t xid = 0;
	int in_xact = 0;
	double deadline = now_s() + seconds, last_status = now_s();
	while (!stop_requested) {
		double left = deadline - now_s();
		if (left <= 0)
			break;
		int wait_ms = left > 0.2 ? 200 : (int)(left * 1000) + 1;
		const uint8_t *data;
		size_t len;
		if ((rc = pgrepl_read(c, wait_ms, &data, &len, err)))
			goto fail;
		if (!data) {
			/* Stay well inside wal_sender_timeout when nothing arrives. */
			if (now_s() - last_status > 10) {
				if ((rc = confirm(c, written, flushed, err)))
					goto fail;
				last_status = now_s();
			}
			continue;
		}
		pgo_frame f;
		if ((rc = pgo_frame_decode(data, len, &f, err)))
			goto fail;
		if (f.type == 'k') {
			if (f.wal_end > written)
				written = f.wal_end;
			/* Nothing pending: the slot may forget everything sent so far. */
			if (!in_xact && f.wal_end > flushed)
				flushed = f.wal_end;
			if ((rc = confirm(c, written, flushed, err)))
				goto fail;
			last_status = now_s();
			continue;
		}
		if (f.wal_start > written)
			written = f.wal_start;
		pgo_msg m;
		if ((rc = pgo_decode(dec, f.data, f.len, &m, err)))
			goto fail;
		if (m.type == PGO_BEGIN) {
			xid = m.xid;
			in_xact = 1;
		}
		if ((rc = print_msg(&rels, &m, xid))) {
			snprintf(err, sizeof err, "out of memory");
			goto fail;
		}
		if (m.type == PGO_COMMIT) {
			if (fflush(stdout) != 0) {
				rc = FLOE_EIO;
				snprintf(err, sizeof err, "writing stdout failed");
				goto fail;
			}
			in_xact = 0;
			if (m.commit.end_lsn > flushed)
				flushed = m.commit.end_lsn;
		}
	}
	fflush(stdout);
	if ((rc = confirm(c, written, flushed, err)))
		goto fail;
	pgo_decoder_free(dec);
	pgrepl_close(c);
	rel_free_all(&rels);
	return 0;
fail:
	fflush(stdout);
	fprintf(stderr, "pgrepl_tail: %s (%d)\n", err, rc);
	pgo_decoder_free(dec);
	pgrepl_close(c);
	rel_free_all(&rels);
	return 1;
}
