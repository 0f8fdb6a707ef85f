/*
 * test_pgoutput — the pgoutput decoder, the replication CopyData frames and
 * the standby status update.
 *
 * Messages are built byte by byte by a small encoder in this file that
 * follows PostgreSQL's proto.c / "Logical Replication Message Formats"
 * (not pgoutput.c): every message type of protocol versions 1-4, field by
 * field; the stream-block rules (xid prefix, Origin inside a block, what may
 * not appear there); version gating. Hostile input: every message truncated
 * at every byte and extended by one byte (FLOE_ECORRUPT with a byte offset,
 * decoder state unchanged), each structural rule broken on purpose with the
 * offset checked, and 10,000 random inputs (garbage and mutated messages,
 * in exact-size heap copies so ASan sees any overread) that must decode or be
 * FLOE_ECORRUPT with every decoded pointer inside the input. Finally real
 * bytes: tests/unit/data/pgoutput_sample.bin, captured from PostgreSQL 15 by
 * tests/tools/pgoutput_capture.sh (see its header for the statements), is
 * walked message by message and checked against those statements.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "source/pg/pgoutput.h"

/* ---- a test-side encoder (independent of pgoutput.c) ------------------- */

static void e_u8(buf *b, unsigned v)
{
	buf_put_u8(b, (uint8_t)v);
}
static void e_u16(buf *b, unsigned v)
{
	e_u8(b, (v >> 8) & 0xff);
	e_u8(b, v & 0xff);
}
static void e_u32(buf *b, uint32_t v)
{
	buf_put_be32(b, v);
}
static void e_u64(buf *b, uint64_t v)
{
	e_u32(b, (uint32_t)(v >> 32));
	e_u32(b, (uint32_t)v);
}
static void e_str(buf *b, const char *s)
{
	buf_append(b, s, strlen(s) + 1);
}

/* A column value for a TupleData: kind 'n', 'u', 't' or 'b'; for 't'/'b'
 * the bytes (len, or strlen when len is (size_t)-1). */
typedef struct tval {
	char kind;
	const char *s;
	size_t len;
} tval;
#define TV_NULL    ((tval){'n', NULL, 0})
#define TV_UNCH    ((tval){'u', NULL, 0})
#define TV_TEXT(x) ((tval){'t', (x), (size_t)-1})

static void e_tuple(buf *b, const tval *v, unsigned n)
{
	e_u16(b, n);
	for (unsigned i = 0; i < n; i++) {
		e_u8(b, (uint8_t)v[i].kind);
		if (v[i].kind == 't' || v[i].kind == 'b') {
			size_t len = v[i].len == (size_t)-1 ? strlen(v[i].s) : v[i].len;
			e_u32(b, (uint32_t)len);
			buf_append(b, v[i].s, len);
		}
	}
}

/* [xid] prefix of messages inside a stream block; xid 0 = none. */
static void e_xid(buf *b, uint32_t xid)
{
	if (xid)
		e_u32(b, xid);
}

static void mk_begin(buf *b, uint64_t final_lsn, int64_t t, uint32_t xid)
{
	e_u8(b, 'B');
	e_u64(b, final_lsn);
	e_u64(b, (uint64_t)t);
	e_u32(b, xid);
}

static void mk_commit(buf *b, uint64_t lsn, uint64_t end, int64_t t)
{
	e_u8(b, 'C');
	e_u8(b, 0);
	e_u64(b, lsn);
	e_u64(b, end);
	e_u64(b, (uint64_t)t);
}

static void mk_origin(buf *b, uint64_t lsn, const char *name)
{
	e_u8(b, 'O');
	e_u64(b, lsn);
	e_str(b, name);
}

typedef struct tcol {
	unsigned flags;
	const char *name;
	uint32_t type;
	int32_t typmod;
} tcol;

static void mk_relation(buf *b, uint32_t xid, uint32_t oid, const char *nsp, const char *rel,
                        char ident, const tcol *c, unsigned n)
{
	e_u8(b, 'R');
	e_xid(b, xid);
	e_u32(b, oid);
	e_str(b, nsp);
	e_str(b, rel);
	e_u8(b, (uint8_t)ident);
	e_u16(b, n);
	for (unsigned i = 0; i < n; i++) {
		e_u8(b, c[i].flags);
		e_str(b, c[i].name);
		e_u32(b, c[i].type);
		e_u32(b, (uint32_t)c[i].typmod);
	}
}

static void mk_type(buf *b, uint32_t xid, uint32_t oid, const char *nsp, const char *name)
{
	e_u8(b, 'Y');
	e_xid(b, xid);
	e_u32(b, oid);
	e_str(b, nsp);
	e_str(b, name);
}

static void mk_insert(buf *b, uint32_t xid, uint32_t relid, const tval *v, unsigned n)
{
	e_u8(b, 'I');
	e_xid(b, xid);
	e_u32(b, relid);
	e_u8(b, 'N');
	e_tuple(b, v, n);
}

/* old_kind 0: no old tuple. */
static void mk_update(buf *b, uint32_t xid, uint32_t relid, char old_kind, const tval *o,
                      unsigned on, const tval *v, unsigned n)
{
	e_u8(b, 'U');
	e_xid(b, xid);
	e_u32(b, relid);
	if (old_kind) {
		e_u8(b, (uint8_t)old_kind);
		e_tuple(b, o, on);
	}
	e_u8(b, 'N');
	e_tuple(b, v, n);
}

static void mk_delete(buf *b, uint32_t xid, uint32_t relid, char kind, const tval *o, unsigned on)
{
	e_u8(b, 'D');
	e_xid(b, xid);
	e_u32(b, relid);
	e_u8(b, (uint8_t)kind);
	e_tuple(b, o, on);
}

static void mk_truncate(buf *b, uint32_t xid, unsigned opts, const uint32_t *ids, uint32_t n)
{
	e_u8(b, 'T');
	e_xid(b, xid);
	e_u32(b, n);
	e_u8(b, opts);
	for (uint32_t i = 0; i < n; i++)
		e_u32(b, ids[i]);
}

static void mk_message(buf *b, uint32_t xid, unsigned flags, uint64_t lsn, const char *prefix,
                       const void *content, uint32_t len)
{
	e_u8(b, 'M');
	e_xid(b, xid);
	e_u8(b, flags);
	e_u64(b, lsn);
	e_str(b, prefix);
	e_u32(b, len);
	buf_append(b, content, len);
}

static void mk_stream_start(buf *b, uint32_t xid, unsigned first)
{
	e_u8(b, 'S');
	e_u32(b, xid);
	e_u8(b, first);
}

static void mk_stream_commit(buf *b, uint32_t xid, uint64_t lsn, uint64_t end, int64_t t)
{
	e_u8(b, 'c');
	e_u32(b, xid);
	e_u8(b, 0);
	e_u64(b, lsn);
	e_u64(b, end);
	e_u64(b, (uint64_t)t);
}

static void mk_stream_abort(buf *b, uint32_t xid, uint32_t subxid, int with_info, uint64_t lsn,
                            int64_t t)
{
	e_u8(b, 'A');
	e_u32(b, xid);
	e_u32(b, subxid);
	if (with_info) {
		e_u64(b, lsn);
		e_u64(b, (uint64_t)t);
	}
}

/* 'b' (no flags), 'P', 'K', 'p' (flags 0 first). */
static void mk_prepare(buf *b, char type, uint64_t lsn, uint64_t end, int64_t t, uint32_t xid,
                       const char *gid)
{
	e_u8(b, (uint8_t)type);
	if (type != 'b')
		e_u8(b, 0);
	e_u64(b, lsn);
	e_u64(b, end);
	e_u64(b, (uint64_t)t);
	e_u32(b, xid);
	e_str(b, gid);
}

static void mk_rollback_prepared(buf *b, uint64_t pend, uint64_t rend, int64_t pt, int64_t rt,
                                 uint32_t xid, const char *gid)
{
	e_u8(b, 'r');
	e_u8(b, 0);
	e_u64(b, pend);
	e_u64(b, rend);
	e_u64(b, (uint64_t)pt);
	e_u64(b, (uint64_t)rt);
	e_u32(b, xid);
	e_str(b, gid);
}

/* ---- helpers ------------------------------------------------------------- */

/* An exact-size heap copy, so ASan reports a read one byte past the end. */
static uint8_t *t_copy(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	assert_non_null(c);
	if (n)
		memcpy(c, p, n);
	return c;
}

static pgo_decoder *t_dec(int proto)
{
	pgo_decoder *d;
	assert_int_equal(pgo_decoder_new(proto, &d), 0);
	return d;
}

/* Decodes all of b with d; asserts success. */
static void t_ok(pgo_decoder *d, const buf *b, pgo_msg *m)
{
	char err[ERR_LEN] = "";
	int rc = pgo_decode(d, b->data, b->len, m, err);
	if (rc)
		fail_msg("decode failed: %s", err);
}

/* Decodes all of b with d; asserts FLOE_ECORRUPT and "at byte <at>" in the
 * message (at < 0: any offset). */
static void t_corrupt(pgo_decoder *d, const buf *b, long at)
{
	char err[ERR_LEN] = "";
	pgo_msg m;
	uint8_t *c = t_copy(b->data, b->len);
	int rc = pgo_decode(d, c, b->len, &m, err);
	free(c);
	if (rc != FLOE_ECORRUPT)
		fail_msg("expected FLOE_ECORRUPT, got %d (%s)", rc, err);
	if (at >= 0) {
		char want[48];
		snprintf(want, sizeof want, "at byte %ld", at);
		if (!strstr(err, want))
			fail_msg("expected \"%s\" in: %s", want, err);
	}
	assert_non_null(strstr(err, "byte"));
}

static void t_val(const pgo_value *v, char kind, const char *s)
{
	assert_int_equal(v->kind, kind);
	if (kind == 't' || kind == 'b') {
		assert_int_equal(v->len, strlen(s));
		if (v->len)
			assert_memory_equal(v->data, s, v->len);
	} else {
		assert_int_equal(v->len, 0);
		assert_null(v->data);
	}
}

/* ---- every message type ---------------------------------------------------- */

static void test_begin_commit_origin(void **state)
{
	(void)state;
	buf b = {0};
	pgo_msg m;
	pgo_decoder *d = t_dec(1);

	mk_begin(&b, 0x0000000101234567ull, -5, 0xfffffffeu);
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_BEGIN);
	assert_true(m.begin.final_lsn == 0x0000000101234567ull);
	assert_true(m.begin.commit_time == -5);
	assert_int_equal(m.has_xid, 1);
	assert_int_equal(m.xid, 0xfffffffeu);

	buf_reset(&b);
	mk_commit(&b, 0x10, 0x20, INT64_C(0x7fffffffffffffff));
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_COMMIT);
	assert_int_equal(m.has_xid, 0);
	assert_true(m.commit.commit_lsn == 0x10 && m.commit.end_lsn == 0x20);
	assert_true(m.commit.commit_time == INT64_MAX);

	buf_reset(&b);
	mk_origin(&b, 0xabcdef, "node_a");
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_ORIGIN);
	assert_true(m.origin.lsn == 0xabcdef);
	assert_string_equal(m.origin.name, "node_a");
	assert_ptr_equal(m.origin.name, (const char *)b.data + 9); /* no copy */

	assert_string_equal(pgo_type_name('B'), "Begin");
	assert_string_equal(pgo_type_name('K'), "Commit Prepared");
	assert_string_equal(pgo_type_name('Z'), "unknown");
	pgo_decoder_free(d);
	buf_release(&b);
}

static void test_relation_and_type(void **state)
{
	(void)state;
	buf b = {0};
	pgo_msg m;
	pgo_decoder *d = t_dec(1);
	const tcol cols[] = {
	    {1, "id", 20, -1}, {0, "price", 1700, (10 << 16 | 2) + 4}, {1, "", 25, -1}};

	mk_relation(&b, 0, 16385, "sales", "orders", 'i', cols, 3);
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_RELATION);
	const pgo_relation *r = &m.relation;
	assert_int_equal(r->oid, 16385);
	assert_string_equal(r->nspname, "sales");
	assert_string_equal(r->relname, "orders");
	assert_int_equal(r->replident, PGO_IDENT_INDEX);
	assert_int_equal(r->ncols, 3);
	assert_int_equal(r->cols[0].flags, PGO_COL_KEY);
	assert_string_equal(r->cols[0].name, "id");
	assert_int_equal(r->cols[0].type_oid, 20);
	assert_int_equal(r->cols[0].typmod, -1);
	assert_int_equal(r->cols[1].flags, 0);
	assert_int_equal(r->cols[1].typmod, (10 << 16 | 2) + 4);
	assert_string_equal(r->cols[2].name, "");

	/* A copy outlives the message and the decoder's scratch. */
	pgo_relation *dup;
	assert_int_equal(pgo_relation_dup(r, &dup), 0);
	memset(b.data, 0xee, b.len);
	buf_reset(&b);
	mk_relation(&b, 0, 1, "", "pg_class", 'n', NULL, 0);
	t_ok(d, &b, &m);
	assert_string_equal(m.relation.nspname, "pg_catalog"); /* sent empty */
	assert_int_equal(m.relation.ncols, 0);
	assert_null(m.relation.cols);
	assert_string_equal(dup->nspname, "sales");
	assert_string_equal(dup->relname, "orders");
	assert_int_equal(dup->ncols, 3);
	assert_string_equal(dup->cols[1].name, "price");
	assert_int_equal(dup->cols[2].type_oid, 25);
	pgo_relation_free(dup);
	pgo_relation_free(NULL);

	for (const char *id = "dnfi"; *id; id++) {
		buf_reset(&b);
		mk_relation(&b, 0, 7, "s", "t", *id, cols, 1);
		t_ok(d, &b, &m);
		assert_int_equal(m.relation.replident, *id);
	}

	buf_reset(&b);
	mk_type(&b, 0, 16400, "public", "mood");
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_TYPE);
	assert_int_equal(m.type_info.oid, 16400);
	assert_string_equal(m.type_info.nspname, "public");
	assert_string_equal(m.type_info.name, "mood");
	buf_reset(&b);
	mk_type(&b, 0, 16401, "", "int4_domain");
	t_ok(d, &b, &m);
	assert_string_equal(m.type_info.nspname, "pg_catalog");

	pgo_decoder_free(d);
	buf_release(&b);
}

static void test_changes(void **state)
{
	(void)state;
	buf b = {0};
	pgo_msg m;
	pgo_decoder *d = t_dec(1);
	const char bin[] = {0, 1, 2, '\n', 0};
	const tval row[] = {TV_TEXT("42"), TV_NULL, TV_UNCH, TV_TEXT(""), {'b', bin, sizeof bin}};

	mk_insert(&b, 0, 99, row, 5);
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_INSERT);
	assert_int_equal(m.has_xid, 0);
	assert_int_equal(m.change.relid, 99);
	assert_int_equal(m.change.old_kind, 0);
	assert_int_equal(m.change.old_tuple.ncols, 0);
	assert_int_equal(m.change.new_tuple.ncols, 5);
	const pgo_value *v = m.change.new_tuple.cols;
	t_val(&v[0], 't', "42");
	assert_ptr_equal(v[0].data, b.data + 1 + 4 + 1 + 2 + 1 + 4); /* into the message */
	t_val(&v[1], 'n', NULL);
	t_val(&v[2], 'u', NULL);
	assert_int_equal(v[3].kind, 't');
	assert_int_equal(v[3].len, 0);
	assert_int_equal(v[4].kind, 'b');
	assert_int_equal(v[4].len, sizeof bin);
	assert_memory_equal(v[4].data, bin, sizeof bin);

	/* Update without old tuple, with old key, with the full old row. */
	const tval key[] = {TV_TEXT("42"), TV_NULL, TV_NULL};
	const tval nrow[] = {TV_TEXT("43"), TV_TEXT("x"), TV_UNCH};
	buf_reset(&b);
	mk_update(&b, 0, 99, 0, NULL, 0, nrow, 3);
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_UPDATE);
	assert_int_equal(m.change.old_kind, 0);
	assert_int_equal(m.change.old_tuple.ncols, 0);
	assert_int_equal(m.change.new_tuple.ncols, 3);
	t_val(&m.change.new_tuple.cols[2], 'u', NULL);

	buf_reset(&b);
	mk_update(&b, 0, 99, 'K', key, 3, nrow, 3);
	t_ok(d, &b, &m);
	assert_int_equal(m.change.old_kind, 'K');
	assert_int_equal(m.change.old_tuple.ncols, 3);
	t_val(&m.change.old_tuple.cols[0], 't', "42");
	t_val(&m.change.old_tuple.cols[1], 'n', NULL);
	t_val(&m.change.new_tuple.cols[0], 't', "43");
	t_val(&m.change.new_tuple.cols[1], 't', "x");

	const tval full[] = {TV_TEXT("42"), TV_TEXT("old"), TV_TEXT("big")};
	buf_reset(&b);
	mk_update(&b, 0, 99, 'O', full, 3, nrow, 3);
	t_ok(d, &b, &m);
	assert_int_equal(m.change.old_kind, 'O');
	t_val(&m.change.old_tuple.cols[1], 't', "old");
	t_val(&m.change.new_tuple.cols[0], 't', "43");

	buf_reset(&b);
	mk_delete(&b, 0, 99, 'K', key, 3);
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_DELETE);
	assert_int_equal(m.change.old_kind, 'K');
	assert_int_equal(m.change.old_tuple.ncols, 3);
	assert_int_equal(m.change.new_tuple.ncols, 0);
	assert_null(m.change.new_tuple.cols);
	buf_reset(&b);
	mk_delete(&b, 0, 99, 'O', full, 3);
	t_ok(d, &b, &m);
	assert_int_equal(m.change.old_kind, 'O');
	t_val(&m.change.old_tuple.cols[2], 't', "big");

	/* Zero columns is well-formed (a table with only dropped columns). */
	buf_reset(&b);
	mk_insert(&b, 0, 5, NULL, 0);
	t_ok(d, &b, &m);
	assert_int_equal(m.change.new_tuple.ncols, 0);

	/* Many columns: the scratch grows, old and new stay apart. */
	enum { N = 1000 };
	tval *many = calloc(N, sizeof *many);
	assert_non_null(many);
	char(*txt)[8] = calloc(N, 8);
	assert_non_null(txt);
	for (int i = 0; i < N; i++) {
		snprintf(txt[i], 8, "%u", (unsigned)i % 10000u);
		many[i] = i % 3 ? TV_TEXT(txt[i]) : TV_NULL;
	}
	buf_reset(&b);
	mk_update(&b, 0, 5, 'O', many, N, many + 1, N - 1);
	t_ok(d, &b, &m);
	assert_int_equal(m.change.old_tuple.ncols, N);
	assert_int_equal(m.change.new_tuple.ncols, N - 1);
	for (int i = 0; i < N; i++) {
		t_val(&m.change.old_tuple.cols[i], i % 3 ? 't' : 'n', txt[i]);
		if (i + 1 < N)
			t_val(&m.change.new_tuple.cols[i], (i + 1) % 3 ? 't' : 'n', txt[i + 1]);
	}
	free(many);
	free(txt);
	pgo_decoder_free(d);
	buf_release(&b);
}

static void test_truncate_and_message(void **state)
{
	(void)state;
	buf b = {0};
	pgo_msg m;
	pgo_decoder *d = t_dec(1);
	const uint32_t ids[] = {16385, 16390, 0xffffffffu};

	for (unsigned opts = 0; opts < 4; opts++) {
		buf_reset(&b);
		mk_truncate(&b, 0, opts, ids, 3);
		t_ok(d, &b, &m);
		assert_int_equal(m.type, PGO_TRUNCATE);
		assert_int_equal(m.truncate.cascade, opts & 1);
		assert_int_equal(m.truncate.restart_identity, (opts >> 1) & 1);
		assert_int_equal(m.truncate.nrelids, 3);
		assert_memory_equal(m.truncate.relids, ids, sizeof ids);
	}
	buf_reset(&b);
	mk_truncate(&b, 0, 0, NULL, 0);
	t_ok(d, &b, &m);
	assert_int_equal(m.truncate.nrelids, 0);

	const char content[] = {'a', 0, 'b'};
	buf_reset(&b);
	mk_message(&b, 0, 1, 0x1234, "floe", content, 3);
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_MESSAGE);
	assert_int_equal(m.message.transactional, 1);
	assert_true(m.message.lsn == 0x1234);
	assert_string_equal(m.message.prefix, "floe");
	assert_int_equal(m.message.len, 3);
	assert_memory_equal(m.message.content, content, 3);
	buf_reset(&b);
	mk_message(&b, 0, 0, 1, "", "", 0);
	t_ok(d, &b, &m);
	assert_int_equal(m.message.transactional, 0);
	assert_int_equal(m.message.len, 0);
	pgo_decoder_free(d);
	buf_release(&b);
}

/* Protocol 2: stream blocks, their xid prefix and their rules. */
static void test_streaming(void **state)
{
	(void)state;
	buf b = {0};
	pgo_msg m;
	char err[ERR_LEN];
	pgo_decoder *d = t_dec(2);
	const tcol cols[] = {{1, "id", 23, -1}};
	const tval row[] = {TV_TEXT("1")};
	const uint32_t ids[] = {7};

	mk_stream_start(&b, 900, 1);
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_STREAM_START);
	assert_int_equal(m.xid, 900);
	assert_int_equal(m.stream_start.first_segment, 1);
	assert_int_equal(pgo_decoder_in_stream(d), 1);

	/* Origin follows Stream Start as its own message, without xid. */
	buf_reset(&b);
	mk_origin(&b, 0, "up");
	t_ok(d, &b, &m);
	assert_int_equal(m.has_xid, 0);

	/* Every streamable message carries the xid. */
	buf_reset(&b);
	mk_relation(&b, 901, 7, "public", "t", 'd', cols, 1);
	t_ok(d, &b, &m);
	assert_int_equal(m.has_xid, 1);
	assert_int_equal(m.xid, 901);
	assert_int_equal(m.relation.oid, 7);
	buf_reset(&b);
	mk_type(&b, 902, 8, "public", "e");
	t_ok(d, &b, &m);
	assert_int_equal(m.xid, 902);
	assert_int_equal(m.type_info.oid, 8);
	buf_reset(&b);
	mk_insert(&b, 903, 7, row, 1);
	t_ok(d, &b, &m);
	assert_int_equal(m.xid, 903);
	assert_int_equal(m.change.relid, 7);
	buf_reset(&b);
	mk_update(&b, 904, 7, 'K', row, 1, row, 1);
	t_ok(d, &b, &m);
	assert_int_equal(m.xid, 904);
	assert_int_equal(m.change.old_kind, 'K');
	buf_reset(&b);
	mk_delete(&b, 905, 7, 'O', row, 1);
	t_ok(d, &b, &m);
	assert_int_equal(m.xid, 905);
	buf_reset(&b);
	mk_truncate(&b, 906, 1, ids, 1);
	t_ok(d, &b, &m);
	assert_int_equal(m.xid, 906);
	assert_int_equal(m.truncate.relids[0], 7);
	buf_reset(&b);
	mk_message(&b, 907, 1, 5, "p", "x", 1);
	t_ok(d, &b, &m);
	assert_int_equal(m.xid, 907);
	assert_int_equal(m.message.len, 1);

	/* Not allowed inside a block; state unchanged by the failures. */
	buf_reset(&b);
	mk_stream_start(&b, 900, 0);
	t_corrupt(d, &b, 0);
	buf_reset(&b);
	mk_begin(&b, 1, 0, 1);
	t_corrupt(d, &b, 0);
	buf_reset(&b);
	mk_commit(&b, 1, 2, 0);
	t_corrupt(d, &b, 0);
	buf_reset(&b);
	mk_stream_commit(&b, 900, 1, 2, 3);
	t_corrupt(d, &b, 0);
	buf_reset(&b);
	mk_insert(&b, 903, 7, row, 1);
	b.len--; /* truncated inside the block */
	t_corrupt(d, &b, -1);
	assert_int_equal(pgo_decoder_in_stream(d), 1);

	buf_reset(&b);
	e_u8(&b, 'E');
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_STREAM_STOP);
	assert_int_equal(pgo_decoder_in_stream(d), 0);
	t_corrupt(d, &b, 0); /* Stop without Start */

	/* Outside a block the same bytes with an xid no longer parse. */
	buf_reset(&b);
	mk_insert(&b, 903, 7, row, 1);
	t_corrupt(d, &b, -1);
	buf_reset(&b);
	mk_insert(&b, 0, 7, row, 1);
	t_ok(d, &b, &m);
	assert_int_equal(m.has_xid, 0);

	buf_reset(&b);
	mk_stream_commit(&b, 900, 0x100, 0x200, 77);
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_STREAM_COMMIT);
	assert_int_equal(m.xid, 900);
	assert_true(m.commit.commit_lsn == 0x100 && m.commit.end_lsn == 0x200);
	assert_true(m.commit.commit_time == 77);

	buf_reset(&b);
	mk_stream_abort(&b, 900, 950, 0, 0, 0);
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_STREAM_ABORT);
	assert_int_equal(m.xid, 900);
	assert_int_equal(m.stream_abort.subxid, 950);
	assert_int_equal(m.stream_abort.has_abort_info, 0);
	/* The proto-4 tail is trailing garbage for proto 2. */
	buf_reset(&b);
	mk_stream_abort(&b, 900, 900, 1, 0x300, 9);
	t_corrupt(d, &b, 9);
	pgo_decoder_free(d);

	/* Protocol 1 has no streaming. */
	d = t_dec(1);
	buf_reset(&b);
	mk_stream_start(&b, 1, 1);
	assert_int_equal(pgo_decode(d, b.data, b.len, &m, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, "protocol version 2"));
	pgo_decoder_free(d);

	/* Protocol 4: Stream Abort with abort LSN and time (streaming=parallel). */
	d = t_dec(4);
	buf_reset(&b);
	mk_stream_abort(&b, 900, 901, 1, 0x300, 9);
	t_ok(d, &b, &m);
	assert_int_equal(m.stream_abort.has_abort_info, 1);
	assert_true(m.stream_abort.abort_lsn == 0x300);
	assert_true(m.stream_abort.abort_time == 9);
	buf_reset(&b);
	mk_stream_abort(&b, 900, 901, 0, 0, 0);
	t_ok(d, &b, &m);
	assert_int_equal(m.stream_abort.has_abort_info, 0);
	pgo_decoder_free(d);

	assert_int_equal(pgo_decoder_new(0, &d), FLOE_EINVAL);
	assert_null(d);
	assert_int_equal(pgo_decoder_new(5, &d), FLOE_EINVAL);
	pgo_decoder_free(NULL);
	buf_release(&b);
}

/* Protocol 3: two-phase commit messages. */
static void test_two_phase(void **state)
{
	(void)state;
	buf b = {0};
	pgo_msg m;
	pgo_decoder *d = t_dec(3);

	const char types[] = {'b', 'P', 'K', 'p'};
	for (size_t i = 0; i < sizeof types; i++) {
		buf_reset(&b);
		mk_prepare(&b, types[i], 0x50 + i, 0x60 + i, -1 - (int64_t)i, 1000 + (uint32_t)i,
		           "gid-1");
		t_ok(d, &b, &m);
		assert_int_equal(m.type, types[i]);
		assert_true(m.prepare.lsn == 0x50 + i);
		assert_true(m.prepare.end_lsn == 0x60 + i);
		assert_true(m.prepare.time == -1 - (int64_t)i);
		assert_int_equal(m.has_xid, 1);
		assert_int_equal(m.xid, 1000 + i);
		assert_string_equal(m.prepare.gid, "gid-1");
	}
	buf_reset(&b);
	mk_rollback_prepared(&b, 0x70, 0x80, 5, 6, 77, "g");
	t_ok(d, &b, &m);
	assert_int_equal(m.type, PGO_ROLLBACK_PREPARED);
	assert_true(m.rollback_prepared.prepare_end_lsn == 0x70);
	assert_true(m.rollback_prepared.rollback_end_lsn == 0x80);
	assert_true(m.rollback_prepared.prepare_time == 5);
	assert_true(m.rollback_prepared.rollback_time == 6);
	assert_int_equal(m.xid, 77);
	assert_string_equal(m.rollback_prepared.gid, "g");
	pgo_decoder_free(d);

	d = t_dec(2);
	t_corrupt(d, &b, 0); /* 'r' needs protocol 3 */
	buf_reset(&b);
	mk_prepare(&b, 'b', 1, 2, 3, 4, "g");
	t_corrupt(d, &b, 0);
	pgo_decoder_free(d);
	buf_release(&b);
}

/* ---- hostile input ------------------------------------------------------------ */

/* A well-formed message of every kind, with the decoder state it needs. */
typedef struct sample {
	buf b;
	int proto;
	int in_stream; /* decode after a Stream Start */
} sample;

enum { NSAMPLES = 32 };

static int t_samples(sample *s)
{
	int n = 0;
	const tcol cols[] = {{1, "id", 23, -1}, {0, "name", 1043, 36}};
	const tval row[] = {TV_TEXT("1"), TV_NULL, TV_UNCH, {'b', "\x00\x01", 2}};
	const uint32_t ids[] = {1, 2};
#define NEXT(p, st) (s[n].proto = (p), s[n].in_stream = (st), &s[n++].b)
	memset(s, 0, NSAMPLES * sizeof *s);
	mk_begin(NEXT(1, 0), 0x100, 5, 6);
	mk_commit(NEXT(1, 0), 0x100, 0x110, 5);
	mk_origin(NEXT(1, 0), 0x99, "o");
	mk_relation(NEXT(1, 0), 0, 10, "public", "t", 'd', cols, 2);
	mk_type(NEXT(1, 0), 0, 11, "public", "mood");
	mk_insert(NEXT(1, 0), 0, 10, row, 4);
	mk_update(NEXT(1, 0), 0, 10, 0, NULL, 0, row, 4);
	mk_update(NEXT(1, 0), 0, 10, 'K', row, 2, row, 4);
	mk_update(NEXT(1, 0), 0, 10, 'O', row, 4, row, 4);
	mk_delete(NEXT(1, 0), 0, 10, 'K', row, 2);
	mk_delete(NEXT(1, 0), 0, 10, 'O', row, 4);
	mk_truncate(NEXT(1, 0), 0, 3, ids, 2);
	mk_message(NEXT(1, 0), 0, 1, 7, "pfx", "abc", 3);
	mk_stream_start(NEXT(2, 0), 5, 1);
	e_u8(NEXT(2, 1), 'E');
	mk_relation(NEXT(2, 1), 5, 10, "public", "t", 'f', cols, 2);
	mk_type(NEXT(2, 1), 5, 11, "", "x");
	mk_insert(NEXT(2, 1), 5, 10, row, 4);
	mk_update(NEXT(2, 1), 5, 10, 'O', row, 4, row, 4);
	mk_delete(NEXT(2, 1), 5, 10, 'K', row, 1);
	mk_truncate(NEXT(2, 1), 5, 0, ids, 1);
	mk_message(NEXT(2, 1), 5, 0, 7, "", "z", 1);
	mk_stream_commit(NEXT(2, 0), 5, 0x100, 0x110, 5);
	mk_stream_abort(NEXT(2, 0), 5, 6, 0, 0, 0);
	mk_prepare(NEXT(3, 0), 'b', 1, 2, 3, 4, "gid");
	mk_prepare(NEXT(3, 0), 'P', 1, 2, 3, 4, "gid");
	mk_prepare(NEXT(3, 0), 'K', 1, 2, 3, 4, "gid");
	mk_prepare(NEXT(3, 0), 'p', 1, 2, 3, 4, "gid");
	mk_rollback_prepared(NEXT(3, 0), 1, 2, 3, 4, 5, "gid");
	mk_stream_abort(NEXT(4, 0), 5, 6, 1, 0x200, 8);
#undef NEXT
	assert_true(n <= NSAMPLES);
	for (int i = 0; i < n; i++)
		assert_true(buf_ok(&s[i].b));
	return n;
}

static void t_samples_free(sample *s, int n)
{
	for (int i = 0; i < n; i++)
		buf_release(&s[i].b);
}

static pgo_decoder *t_dec_for(const sample *s)
{
	pgo_decoder *d = t_dec(s->proto);
	if (s->in_stream) {
		buf st = {0};
		pgo_msg m;
		mk_stream_start(&st, 5, 0);
		t_ok(d, &st, &m);
		buf_release(&st);
	}
	return d;
}

static void test_truncated_everywhere(void **state)
{
	(void)state;
	sample s[NSAMPLES];
	int n = t_samples(s);
	for (int i = 0; i < n; i++) {
		pgo_decoder *d = t_dec_for(&s[i]);
		pgo_msg m;
		int in_stream = pgo_decoder_in_stream(d);
		t_ok(d, &s[i].b, &m); /* whole: fine (and may move the state) */
		pgo_decoder_free(d);
		d = t_dec_for(&s[i]);
		for (size_t cut = 0; cut < s[i].b.len; cut++) {
			/* 'A' + xid + subxid is itself a valid short Stream Abort (and
			 * the prefix form always takes the short one). */
			if (s[i].proto == 4 && cut >= 9)
				continue;
			buf t = s[i].b;
			t.len = cut;
			t_corrupt(d, &t, -1);
			assert_int_equal(pgo_decoder_in_stream(d), in_stream);
			/* The prefix form needs the whole message too. */
			char err[ERR_LEN];
			size_t used = 99;
			uint8_t *c = t_copy(s[i].b.data, cut);
			assert_int_equal(pgo_decode_prefix(d, c, cut, &m, &used, err),
			                 FLOE_ECORRUPT);
			assert_int_equal(used, 0);
			free(c);
		}
		/* One byte too many: trailing garbage (but the prefix form takes the
		 * message and reports its length). */
		buf x = {0};
		buf_append(&x, s[i].b.data, s[i].b.len);
		e_u8(&x, 0);
		if (s[i].proto != 4)
			t_corrupt(d, &x, (long)s[i].b.len);
		size_t used = 0;
		assert_int_equal(pgo_decode_prefix(d, x.data, x.len, &m, &used, NULL), 0);
		assert_int_equal(used, s[i].proto == 4 ? 9 : s[i].b.len);
		buf_release(&x);
		pgo_decoder_free(d);
	}
	t_samples_free(s, n);
}

/* Each rule of a valid message, broken on purpose, with its offset. */
static void test_structural_rules(void **state)
{
	(void)state;
	buf b = {0};
	pgo_decoder *d = t_dec(1);
	const tval row[] = {TV_TEXT("1"), TV_NULL};
	const tcol cols[] = {{1, "id", 23, -1}};

	e_u8(&b, 'Z'); /* unknown type */
	t_corrupt(d, &b, 0);
	buf_reset(&b);
	t_corrupt(d, &b, 0); /* empty */

	buf_reset(&b);
	mk_begin(&b, 0, 1, 2); /* final lsn 0 */
	t_corrupt(d, &b, 1);

	buf_reset(&b);
	mk_commit(&b, 1, 2, 3);
	b.data[1] = 1; /* flags must be 0 */
	t_corrupt(d, &b, 1);

	buf_reset(&b);
	mk_relation(&b, 0, 1, "s", "t", 'x', cols, 1); /* replica identity */
	t_corrupt(d, &b, 9);
	buf_reset(&b);
	mk_relation(&b, 0, 1, "s", "t", 'd', cols, 1);
	b.data[12] = 2; /* column flags: only bit 1 */
	t_corrupt(d, &b, 12);
	buf_reset(&b);
	mk_relation(&b, 0, 1, "s", "t", 'd', cols, 1);
	b.data[10] = 0xff; /* 65281 columns claimed, 1 sent: refused before allocating */
	t_corrupt(d, &b, 12);

	buf_reset(&b);
	mk_insert(&b, 0, 1, row, 2);
	b.data[5] = 'K'; /* Insert takes only 'N' */
	t_corrupt(d, &b, 5);
	buf_reset(&b);
	mk_insert(&b, 0, 1, row, 2);
	b.data[8] = 'x'; /* column kind */
	t_corrupt(d, &b, 8);
	buf_reset(&b);
	mk_insert(&b, 0, 1, row, 2);
	put_be32(b.data + 9, 0xffffffffu); /* value length past the end */
	t_corrupt(d, &b, 13);
	buf_reset(&b);
	mk_insert(&b, 0, 1, row, 2);
	b.data[6] = 0xff; /* column count past the end */
	t_corrupt(d, &b, 8);

	buf_reset(&b);
	mk_update(&b, 0, 1, 'K', row, 2, row, 2);
	b.data[5] = 'X';
	t_corrupt(d, &b, 5);
	buf_reset(&b);
	mk_update(&b, 0, 1, 'K', row, 2, row, 2);
	b.data[5 + 1 + 2 + 1 + 4 + 1 + 1] = 'K'; /* second marker must be 'N' */
	t_corrupt(d, &b, 15);
	buf_reset(&b);
	mk_delete(&b, 0, 1, 'N', row, 2); /* Delete takes 'K' or 'O' */
	t_corrupt(d, &b, 5);

	uint32_t ids[] = {1};
	buf_reset(&b);
	mk_truncate(&b, 0, 4, ids, 1); /* unknown option bit */
	t_corrupt(d, &b, 5);
	buf_reset(&b);
	mk_truncate(&b, 0, 0, ids, 1);
	put_be32(b.data + 1, 0xffffffffu); /* 4 billion ids claimed */
	t_corrupt(d, &b, 6);

	buf_reset(&b);
	mk_message(&b, 0, 2, 1, "p", "x", 1); /* flags */
	t_corrupt(d, &b, 1);
	buf_reset(&b);
	mk_message(&b, 0, 0, 1, "p", "x", 1);
	put_be32(b.data + 12, 2); /* content longer than the message */
	t_corrupt(d, &b, 16);

	buf_reset(&b);
	mk_origin(&b, 1, "name");
	b.len--; /* no NUL */
	t_corrupt(d, &b, 9);
	pgo_decoder_free(d);

	d = t_dec(2);
	buf_reset(&b);
	mk_stream_start(&b, 1, 2); /* first-segment flag */
	t_corrupt(d, &b, 5);
	assert_int_equal(pgo_decoder_in_stream(d), 0);
	pgo_decoder_free(d);
	buf_release(&b);
}

/* xorshift64*: deterministic, seeded per run. */
static uint64_t t_rng = 0x9E3779B97F4A7C15ull;
static uint64_t t_rand(void)
{
	t_rng ^= t_rng >> 12;
	t_rng ^= t_rng << 25;
	t_rng ^= t_rng >> 27;
	return t_rng * 0x2545F4914F6CDD1Dull;
}

static int t_inside(const void *p, size_t len, const uint8_t *base, size_t n)
{
	const uint8_t *q = p;
	return q >= base && len <= n && (size_t)(q - base) <= n - len;
}

static void t_check_tuple(const pgo_tuple *t, const uint8_t *p, size_t n)
{
	for (unsigned i = 0; i < t->ncols; i++) {
		const pgo_value *v = &t->cols[i];
		assert_true(strchr("nutb", v->kind) != NULL);
		if (v->kind == 't' || v->kind == 'b')
			assert_true(t_inside(v->data, v->len, p, n));
	}
}

/* Everything a successful decode points at lies inside the input. */
static void t_check_msg(const pgo_msg *m, const uint8_t *p, size_t n)
{
	switch (m->type) {
	case PGO_RELATION:
		for (unsigned i = 0; i < m->relation.ncols; i++)
			assert_true(t_inside(m->relation.cols[i].name,
			                     strlen(m->relation.cols[i].name) + 1, p, n));
		assert_true(t_inside(m->relation.relname, strlen(m->relation.relname) + 1, p, n));
		break;
	case PGO_INSERT:
	case PGO_UPDATE:
	case PGO_DELETE:
		t_check_tuple(&m->change.old_tuple, p, n);
		t_check_tuple(&m->change.new_tuple, p, n);
		break;
	case PGO_MESSAGE:
		assert_true(t_inside(m->message.content, m->message.len, p, n));
		assert_true(t_inside(m->message.prefix, strlen(m->message.prefix) + 1, p, n));
		break;
	case PGO_TRUNCATE:
		assert_true((uint64_t)m->truncate.nrelids * 4 <= n);
		break;
	default:
		break;
	}
}

static void test_fuzz(void **state)
{
	(void)state;
	sample s[NSAMPLES];
	int ns = t_samples(s);
	const char types[] = "BCORYIUDTMSEcAbPKrpwkZ";
	int decoded = 0;
	for (int it = 0; it < 10000; it++) {
		buf b = {0};
		int proto = 1 + (int)(t_rand() % 4), in_stream = 0;
		if (it % 2 == 0) {
			/* Garbage, usually behind a real type byte. */
			size_t len = (size_t)(t_rand() % 80);
			for (size_t i = 0; i < len; i++) {
				unsigned v = (unsigned)t_rand();
				/* Small numbers make plausible counts and lengths. */
				e_u8(&b, v % 4 == 0 ? 0 : v % 4 == 1 ? (v >> 8) % 4 : v >> 8);
			}
			if (len && t_rand() % 4)
				b.data[0] = (uint8_t)types[t_rand() % (sizeof types - 1)];
			in_stream = proto >= 2 && t_rand() % 2;
		} else {
			/* A real message with a few bytes changed, cut or extended. */
			const sample *o = &s[t_rand() % (uint64_t)ns];
			proto = o->proto;
			in_stream = o->in_stream;
			buf_append(&b, o->b.data, o->b.len);
			int k = 1 + (int)(t_rand() % 4);
			for (int j = 0; j < k && b.len; j++) {
				size_t at = (size_t)(t_rand() % b.len);
				switch (t_rand() % 4) {
				case 0:
					b.data[at] ^= (uint8_t)(1u << (t_rand() % 8));
					break;
				case 1:
					b.data[at] = (uint8_t)t_rand();
					break;
				case 2:
					b.len = at;
					break;
				default:
					e_u8(&b, (uint8_t)t_rand());
					break;
				}
			}
		}
		assert_true(buf_ok(&b));
		pgo_decoder *d = t_dec(proto);
		if (in_stream) {
			buf st = {0};
			pgo_msg sm;
			mk_stream_start(&st, 1, 1);
			t_ok(d, &st, &sm);
			buf_release(&st);
		}
		uint8_t *c = t_copy(b.data, b.len);
		char err[ERR_LEN] = "";
		pgo_msg m;
		int rc = pgo_decode(d, c, b.len, &m, err);
		if (rc == 0) {
			decoded++;
			t_check_msg(&m, c, b.len);
		} else {
			assert_int_equal(rc, FLOE_ECORRUPT);
			assert_non_null(strstr(err, "byte"));
			assert_int_equal(pgo_decoder_in_stream(d), in_stream);
		}
		size_t used;
		rc = pgo_decode_prefix(d, c, b.len, &m, &used, err);
		if (rc == 0)
			assert_true(used <= b.len);
		else
			assert_int_equal(rc, FLOE_ECORRUPT);

		pgo_frame f;
		rc = pgo_frame_decode(c, b.len, &f, err);
		if (rc == 0)
			assert_true(f.type != 'w' || t_inside(f.data, f.len, c, b.len));
		else
			assert_int_equal(rc, FLOE_ECORRUPT);
		free(c);
		pgo_decoder_free(d);
		buf_release(&b);
	}
	/* The mutations leave many messages intact; garbage rarely is. */
	assert_true(decoded > 500);
	t_samples_free(s, ns);
}

/* ---- CopyData frames and the status update -------------------------------------- */

static void test_frames(void **state)
{
	(void)state;
	buf b = {0};
	pgo_frame f;
	char err[ERR_LEN];

	e_u8(&b, 'w');
	e_u64(&b, 0x1000);
	e_u64(&b, 0x2000);
	e_u64(&b, (uint64_t)-3);
	mk_begin(&b, 0x1500, 1, 2);
	assert_int_equal(pgo_frame_decode(b.data, b.len, &f, err), 0);
	assert_int_equal(f.type, 'w');
	assert_true(f.wal_start == 0x1000 && f.wal_end == 0x2000 && f.send_time == -3);
	assert_ptr_equal(f.data, b.data + PGO_XLOGDATA_HDR);
	assert_int_equal(f.len, 21);
	pgo_decoder *d = t_dec(1);
	pgo_msg m;
	assert_int_equal(pgo_decode(d, f.data, f.len, &m, err), 0);
	assert_true(m.begin.final_lsn == 0x1500);
	pgo_decoder_free(d);
	/* Every cut of the header is corrupt; an empty payload is not. */
	for (size_t cut = 0; cut < PGO_XLOGDATA_HDR; cut++) {
		uint8_t *c = t_copy(b.data, cut);
		assert_int_equal(pgo_frame_decode(c, cut, &f, err), FLOE_ECORRUPT);
		assert_non_null(strstr(err, "byte"));
		free(c);
	}
	assert_int_equal(pgo_frame_decode(b.data, PGO_XLOGDATA_HDR, &f, err), 0);
	assert_int_equal(f.len, 0);

	for (unsigned reply = 0; reply < 3; reply++) {
		buf_reset(&b);
		e_u8(&b, 'k');
		e_u64(&b, 0xABCDEF0123ull);
		e_u64(&b, 42);
		e_u8(&b, reply);
		assert_int_equal(b.len, PGO_KEEPALIVE_LEN);
		int rc = pgo_frame_decode(b.data, b.len, &f, err);
		if (reply == 2) {
			assert_int_equal(rc, FLOE_ECORRUPT);
			assert_non_null(strstr(err, "at byte 17"));
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(f.type, 'k');
		assert_true(f.wal_end == 0xABCDEF0123ull && f.send_time == 42);
		assert_int_equal(f.reply_requested, (int)reply);
		for (size_t cut = 0; cut < b.len; cut++) {
			uint8_t *c = t_copy(b.data, cut);
			assert_int_equal(pgo_frame_decode(c, cut, &f, err), FLOE_ECORRUPT);
			free(c);
		}
	}
	e_u8(&b, 0); /* keepalive with a trailing byte */
	b.data[17] = 0;
	assert_int_equal(pgo_frame_decode(b.data, b.len, &f, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, "at byte 18"));
	b.data[0] = 'r'; /* client-to-server type, not a server frame */
	assert_int_equal(pgo_frame_decode(b.data, b.len, &f, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, "at byte 0"));

	/* Standby status update: byte for byte. */
	uint8_t st[PGO_STATUS_LEN];
	pgo_status_encode(st, 0x0102030405060708ull, 0x1112131415161718ull, 0x2122232425262728ull,
	                  -2, 1);
	const uint8_t want[PGO_STATUS_LEN] = {'r',  0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
	                                      0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x21,
	                                      0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0xff, 0xff,
	                                      0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x01};
	assert_memory_equal(st, want, PGO_STATUS_LEN);
	pgo_status_encode(st, 0, 0, 0, 0, 7);
	assert_int_equal(st[33], 1);

	/* The clock is PostgreSQL's epoch: 2024-01-01 is 757382400 s after 2000. */
	int64_t now = pgo_clock_now();
	assert_true(now > INT64_C(757382400) * 1000000);
	assert_true(now < INT64_C(3155760000) * 1000000); /* before 2100 */
	buf_release(&b);
}

/* ---- real bytes from PostgreSQL 15 ---------------------------------------------- */

static uint8_t *t_read_sample(size_t *n)
{
	const char *rel = "tests/unit/data/pgoutput_sample.bin";
	char path[1024];
	FILE *f = fopen(rel, "rb");
	if (!f) { /* run from elsewhere: next to this source file */
		const char *slash = strrchr(__FILE__, '/');
		int dl = slash ? (int)(slash - __FILE__) : 1;
		snprintf(path, sizeof path, "%.*s/data/pgoutput_sample.bin", dl,
		         slash ? __FILE__ : ".");
		f = fopen(path, "rb");
	}
	if (!f)
		fail_msg("cannot open %s (run from the repository root)", rel);
	uint8_t *p = malloc(1 << 16);
	assert_non_null(p);
	*n = fread(p, 1, 1 << 16, f);
	fclose(f);
	assert_true(*n > 0 && *n < (1 << 16));
	uint8_t *c = t_copy(p, *n);
	free(p);
	return c;
}

/* What one message of the capture must be: its type and a check. */
static int t_text_is(const pgo_value *v, const char *s)
{
	return v->kind == 't' && v->len == strlen(s) && memcmp(v->data, s, v->len) == 0;
}

static void test_real_capture(void **state)
{
	(void)state;
	size_t n, off = 0;
	uint8_t *p = t_read_sample(&n);
	pgo_decoder *d = t_dec(1);
	char types[128];
	size_t nt = 0;
	uint32_t t_oid = 0, nokey_oid = 0, mood_oid = 0, last_xid = 0;
	uint64_t begin_lsn = 0;
	int begins = 0, relations_t = 0, inserts = 0, updates = 0, deletes = 0;

	while (off < n) {
		char err[ERR_LEN] = "";
		pgo_msg m;
		size_t used;
		int rc = pgo_decode_prefix(d, p + off, n - off, &m, &used, err);
		if (rc)
			fail_msg("message %zu at file offset %zu: %s", nt, off, err);
		/* pg_recvlogical writes a newline after every message. */
		assert_true(off + used < n);
		assert_int_equal(p[off + used], '\n');
		/* The message alone also decodes strictly, to the same length. */
		pgo_msg again;
		assert_int_equal(pgo_decode(d, p + off, used, &again, err), 0);
		assert_true(nt + 1 < sizeof types);
		types[nt++] = m.type;

		switch (m.type) {
		case PGO_BEGIN:
			assert_true(m.xid > last_xid);
			last_xid = m.xid;
			begin_lsn = m.begin.final_lsn;
			begins++;
			break;
		case PGO_COMMIT:
			assert_true(m.commit.commit_lsn == begin_lsn);
			assert_true(m.commit.end_lsn > m.commit.commit_lsn);
			break;
		case PGO_TYPE:
			assert_string_equal(m.type_info.nspname, "public");
			assert_string_equal(m.type_info.name, "mood");
			mood_oid = m.type_info.oid;
			break;
		case PGO_RELATION: {
			const pgo_relation *r = &m.relation;
			assert_string_equal(r->nspname, "public");
			if (!strcmp(r->relname, "t")) {
				relations_t++;
				t_oid = r->oid;
				assert_int_equal(r->replident, PGO_IDENT_DEFAULT);
				/* 4 columns, then 5 after ALTER TABLE ADD COLUMN. */
				assert_int_equal(r->ncols, relations_t == 1 ? 4 : 5);
				assert_string_equal(r->cols[0].name, "id");
				assert_int_equal(r->cols[0].flags, PGO_COL_KEY);
				assert_int_equal(r->cols[0].type_oid, 23);
				assert_string_equal(r->cols[2].name, "big");
				assert_int_equal(r->cols[2].flags, 0);
				assert_int_equal(r->cols[2].type_oid, 25);
				assert_string_equal(r->cols[3].name, "m");
				assert_int_equal(r->cols[3].type_oid, mood_oid);
				assert_int_equal(r->cols[3].typmod, -1);
				if (r->ncols == 5) {
					assert_string_equal(r->cols[4].name, "extra");
					assert_int_equal(r->cols[4].type_oid, 23);
				}
			} else {
				assert_string_equal(r->relname, "nokey");
				nokey_oid = r->oid;
				assert_int_equal(r->replident, PGO_IDENT_FULL);
				assert_int_equal(r->ncols, 2);
				/* FULL identity: every column is part of the key. */
				assert_int_equal(r->cols[0].flags, PGO_COL_KEY);
				assert_int_equal(r->cols[1].flags, PGO_COL_KEY);
			}
			break;
		}
		case PGO_INSERT: {
			const pgo_tuple *t = &m.change.new_tuple;
			inserts++;
			if (inserts == 1) {
				assert_int_equal(m.change.relid, t_oid);
				assert_int_equal(t->ncols, 4);
				assert_true(t_text_is(&t->cols[0], "1"));
				assert_int_equal(t->cols[2].len, 3000);
				for (size_t i = 0; i < 3000; i++)
					assert_int_equal(t->cols[2].data[i], 'x');
				assert_true(t_text_is(&t->cols[3], "happy"));
			} else if (inserts == 2) {
				assert_true(t_text_is(&t->cols[0], "2"));
				for (int i = 1; i < 4; i++)
					assert_int_equal(t->cols[i].kind, PGO_VAL_NULL);
			} else if (inserts == 3) {
				assert_int_equal(m.change.relid, nokey_oid);
				assert_true(t_text_is(&t->cols[1], "a"));
			} else {
				assert_int_equal(t->ncols, 5);
				assert_true(t_text_is(&t->cols[1], "three"));
				assert_true(t_text_is(&t->cols[4], "7"));
			}
			break;
		}
		case PGO_UPDATE: {
			const pgo_tuple *o = &m.change.old_tuple, *t = &m.change.new_tuple;
			updates++;
			if (updates == 1) {
				/* note changed; the TOASTed big column was not sent. */
				assert_int_equal(m.change.old_kind, 0);
				assert_true(t_text_is(&t->cols[1], "uno"));
				assert_int_equal(t->cols[2].kind, PGO_VAL_UNCHANGED);
				assert_true(t_text_is(&t->cols[3], "happy"));
			} else if (updates == 2) {
				/* Key changed: the old key, other columns null. */
				assert_int_equal(m.change.old_kind, 'K');
				assert_true(t_text_is(&o->cols[0], "2"));
				assert_int_equal(o->cols[1].kind, PGO_VAL_NULL);
				assert_true(t_text_is(&t->cols[0], "20"));
			} else {
				assert_int_equal(m.change.relid, nokey_oid);
				assert_int_equal(m.change.old_kind, 'O');
				assert_true(t_text_is(&o->cols[1], "a"));
				assert_true(t_text_is(&t->cols[1], "b"));
			}
			break;
		}
		case PGO_DELETE:
			deletes++;
			assert_int_equal(m.change.old_kind, deletes == 1 ? 'K' : 'O');
			assert_true(
			    t_text_is(&m.change.old_tuple.cols[0], deletes == 1 ? "20" : "1"));
			assert_int_equal(m.change.new_tuple.ncols, 0);
			break;
		case PGO_TRUNCATE:
			assert_int_equal(m.truncate.nrelids, 2);
			assert_int_equal(m.truncate.cascade, 0);
			assert_int_equal(m.truncate.restart_identity, 1);
			assert_true(
			    (m.truncate.relids[0] == t_oid && m.truncate.relids[1] == nokey_oid) ||
			    (m.truncate.relids[1] == t_oid && m.truncate.relids[0] == nokey_oid));
			break;
		case PGO_MESSAGE:
			assert_int_equal(m.message.transactional, 1);
			assert_string_equal(m.message.prefix, "floe");
			assert_int_equal(m.message.len, 5);
			assert_memory_equal(m.message.content, "hello", 5);
			break;
		default:
			fail_msg("unexpected message type '%c'", m.type);
		}
		off += used + 1;
	}
	types[nt] = '\0';
	/* The statements of tests/tools/pgoutput_capture.sh, in order. */
	assert_string_equal(types, "BYRIIC"
	                           "BUC"
	                           "BUC"
	                           "BDC"
	                           "BRIUDC"
	                           "BYRIC"
	                           "BYRRTC"
	                           "BMC");
	assert_int_equal(begins, 8);
	pgo_decoder_free(d);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_begin_commit_origin),
	    cmocka_unit_test(test_relation_and_type),
	    cmocka_unit_test(test_changes),
	    cmocka_unit_test(test_truncate_and_message),
	    cmocka_unit_test(test_streaming),
	    cmocka_unit_test(test_two_phase),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_structural_rules),
	    cmocka_unit_test(test_fuzz),
	    cmocka_unit_test(test_frames),
	    cmocka_unit_test(test_real_capture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
