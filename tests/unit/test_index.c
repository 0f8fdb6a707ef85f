/*
 * test_index — the primary-key index against a reference model.
 *
 * The model: every key type gets a "universe" batch whose row j holds the
 * j-th of K distinct keys (built so that they are distinct: extremes,
 * empty strings, embedded NUL bytes, prefixes of each other, long keys);
 * the reference is ref[j] = the location key j must have, or
 * INDEX_LOC_NONE. 1,000,000 random operations over int64, string,
 * composite (string, int32), uuid and decimal(38) keys check every result
 * (old locations, lookups, count, mem_count) and simulate the writer's
 * flushes through index_remap_memory. Then: encoding exactness and order,
 * growth over many doublings with the bytes/key bound, remove/reinsert,
 * arena compaction, and the .fidx files: round trip with a deletion
 * predicate, all-or-nothing loads, every truncation, every flipped bit and
 * damage behind a valid CRC.
 *
 * Full-row keys and the multimap (tables without a primary key): encoding
 * exactness over every type (nulls vs values, -0.0 == +0.0, every NaN
 * equal, strings with NUL bytes), a randomized model of add / take / count
 * over keys with thousands of copies with the writer's flushes through
 * index_remap_memory (oldest batch first, and out of order), and .fidx
 * round trips with repeated keys, deleted positions, all-or-nothing loads
 * and damage.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/crc32c.h"
#include "base/err.h"
#include "storage/fs.h"
#include "table/index.h"

/* index_reserve(huge) must fail with NULL from calloc, not abort. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static char tmpdir[] = "/tmp/test_index.XXXXXX";

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	/* splitmix64: deterministic, so a failure replays */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static size_t rnd_below(size_t n)
{
	return (size_t)(rnd() % n);
}

/* ---- schemas and key universes ----------------------------------------- */

static floe_column c_int64[] = {{.name = "id", .type = FT_INT64}};
static floe_column c_str[] = {{.name = "s", .type = FT_STRING}};
static floe_column c_comp[] = {{.name = "s", .type = FT_STRING}, {.name = "n", .type = FT_INT32}};
static floe_column c_uuid[] = {{.name = "u", .type = FT_UUID}};
static floe_column c_dec[] = {{.name = "d", .type = FT_DECIMAL, .precision = 38, .scale = 4}};
static const floe_schema s_int64 = {1, c_int64};
static const floe_schema s_str = {1, c_str};
static const floe_schema s_comp = {2, c_comp};
static const floe_schema s_uuid = {1, c_uuid};
static const floe_schema s_dec = {1, c_dec};
static const int key_0[] = {0};
static const int key_01[] = {0, 1};

/* The j-th string: four families that cannot produce the same bytes (the
 * raw family always ends in NUL, the others never contain one except the
 * "…\0" family, which is 5+ bytes and starts with 'k'). */
static size_t key_string(size_t j, char *out)
{
	switch (j % 4) {
	case 0:
		return j == 0 ? 0 : (size_t)sprintf(out, "key-%zu", j);
	case 1:
		for (int i = 0; i < 4; i++)
			out[i] = (char)(j >> (8 * i));
		return 4;
	case 2:
		return (size_t)sprintf(out, "key-%zu", j) + 1; /* includes the NUL */
	default: {
		size_t n = j % 300;
		memset(out, 'x', n);
		return n + (size_t)sprintf(out + n, "%zu", j);
	}
	}
}

static int64_t key_int64(size_t j)
{
	static const int64_t extremes[] = {INT64_MIN, INT64_MAX, 0, -1, 1, INT64_MIN + 1};
	if (j < 6)
		return extremes[j];
	/* an odd multiplier is a bijection on 64 bits, so keys are distinct */
	return (int64_t)((uint64_t)j * 0x9e3779b97f4a7c15u);
}

/* Appends key j of the schema's type family to b. */
static void append_key(batch *b, const floe_schema *s, size_t j)
{
	char str[400];
	batch_row_begin(b);
	if (s == &s_int64) {
		batch_set_i64(b, 0, key_int64(j));
	} else if (s == &s_str) {
		batch_set_bytes(b, 0, str, key_string(j, str));
	} else if (s == &s_comp) {
		/* five ints per string, so equal string parts are common */
		batch_set_bytes(b, 0, str, key_string(j / 5, str));
		batch_set_i32(b, 1, (int32_t)((int64_t)(j % 5) * 900000007 - 2000000000));
	} else if (s == &s_uuid) {
		/* groups of four share their first 8 bytes */
		uint8_t u[16];
		put_be64(u, (j / 4) * 0xbf58476d1ce4e5b9u);
		put_le64(u + 8, (j % 4) * 0x94d049bb133111ebu);
		batch_set_fixed(b, 0, u);
	} else {
		__int128 v = ((__int128)j - 100000) * (__int128)1000000000000000000 * 100 + (int)j;
		uint8_t be[16];
		for (int i = 0; i < 16; i++)
			be[i] = (uint8_t)(v >> (8 * (15 - i)));
		batch_set_fixed(b, 0, be);
	}
	batch_row_commit(b);
	assert_int_equal(batch_check(b), 0);
}

/* Copies row r of src to the end of dst (same schema). */
static void copy_row(batch *dst, const batch *src, size_t r)
{
	batch_row_begin(dst);
	for (int c = 0; c < src->ncols; c++) {
		const batch_col *col = &src->cols[c];
		if (!col->valid.data[r]) {
			batch_set_null(dst, c);
		} else if (col->kind == BC_BYTES) {
			uint64_t off[2];
			memcpy(off, col->offsets.data + r * 8, 16);
			batch_set_bytes(dst, c, col->bytes.data + off[0], off[1] - off[0]);
		} else {
			batch_set_fixed(dst, c, col->values.data + r * (size_t)col->width);
		}
	}
	batch_row_commit(dst);
	assert_int_equal(batch_check(dst), 0);
}

/* K encoded keys of one family, flat. */
typedef struct universe {
	const floe_schema *schema;
	index_keydesc kd;
	batch rows; /* row j = key j */
	size_t k;
	uint8_t *bytes;
	size_t *off; /* k + 1 */
} universe;

static void universe_init(universe *u, const floe_schema *s, const int *cols, int ncols, size_t k)
{
	char err[ERR_LEN];
	memset(u, 0, sizeof *u);
	u->schema = s;
	u->k = k;
	assert_int_equal(index_keydesc_init(&u->kd, s, cols, ncols, err), 0);
	assert_int_equal(batch_init(&u->rows, s), 0);
	for (size_t j = 0; j < k; j++)
		append_key(&u->rows, s, j);
	buf all = {0}, key = {0};
	u->off = calloc(k + 1, sizeof *u->off);
	assert_non_null(u->off);
	for (size_t j = 0; j < k; j++) {
		assert_int_equal(index_key_encode(&u->kd, &u->rows, j, &key, err), 0);
		buf_append(&all, key.data, key.len);
		u->off[j + 1] = all.len;
	}
	assert_true(buf_ok(&all));
	u->bytes = buf_steal(&all, NULL);
	buf_release(&key);
	/* exactness of the encoding: K distinct keys give K distinct byte
	 * strings (checked through a fresh index) */
	index_map *ix;
	assert_int_equal(index_new(&u->kd, &ix), 0);
	for (size_t j = 0; j < k; j++) {
		uint64_t old;
		assert_int_equal(
		    index_put(ix, u->bytes + u->off[j], u->off[j + 1] - u->off[j], j, &old), 0);
		assert_true(old == INDEX_LOC_NONE);
	}
	assert_int_equal(index_count(ix), k);
	index_free(ix);
}

static void universe_clear(universe *u)
{
	batch_clear(&u->rows);
	free(u->bytes);
	free(u->off);
}

#define UKEY(u, j) ((u)->bytes + (u)->off[j]), ((u)->off[(j) + 1] - (u)->off[j])

/* ---- the randomized model test ----------------------------------------- */

typedef struct model {
	universe *u;
	index_map *ix;
	uint64_t *ref; /* per key */
	size_t ref_count, ref_mem;
	batch mem; /* the writer's in-memory rows */
	size_t *mem_key;
	uint64_t mem_base;
	uint32_t next_file;
} model;

static void model_set(model *m, size_t j, uint64_t loc)
{
	uint64_t old = m->ref[j];
	m->ref_count += (loc != INDEX_LOC_NONE) - (old != INDEX_LOC_NONE);
	m->ref_mem += (size_t)index_loc_is_mem(loc) - (size_t)index_loc_is_mem(old);
	m->ref[j] = loc;
}

static void model_check_all(model *m)
{
	for (size_t j = 0; j < m->u->k; j++) {
		uint64_t loc;
		assert_int_equal(index_lookup(m->ix, UKEY(m->u, j), &loc), 0);
		assert_true(loc == m->ref[j]);
	}
	/* the batched form agrees, for every count around its lookahead */
	uint64_t *locs = malloc(m->u->k * sizeof *locs);
	assert_non_null(locs);
	for (size_t n = 0; n < 20; n++) {
		assert_int_equal(index_lookup_many(m->ix, m->u->bytes, m->u->off, n, locs), 0);
		for (size_t j = 0; j < n; j++)
			assert_true(locs[j] == m->ref[j]);
	}
	assert_int_equal(index_lookup_many(m->ix, m->u->bytes, m->u->off, m->u->k, locs), 0);
	for (size_t j = 0; j < m->u->k; j++)
		assert_true(locs[j] == m->ref[j]);
	if (m->u->kd.width) /* fixed-width keys may come without offsets */
		assert_int_equal(index_lookup_many(m->ix, m->u->bytes, NULL, m->u->k, locs), 0);
	else
		assert_int_equal(index_lookup_many(m->ix, m->u->bytes, NULL, 1, locs), FLOE_EINVAL);
	for (size_t j = 0; m->u->kd.width && j < m->u->k; j++)
		assert_true(locs[j] == m->ref[j]);
	free(locs);
	assert_int_equal(index_count(m->ix), m->ref_count);
	assert_int_equal(index_mem_count(m->ix), m->ref_mem);
}

/* The writer's flush: live memory rows get consecutive positions in a new
 * file; dead ones sometimes get a position too (a row whose key maps
 * elsewhere must be left alone). */
static void model_flush(model *m)
{
	char err[ERR_LEN];
	size_t n = m->mem.nrows, live = 0;
	uint64_t *pos = malloc((n + 1) * sizeof *pos);
	assert_non_null(pos);
	uint64_t next = 0;
	for (size_t r = 0; r < n; r++) {
		int is_live = m->ref[m->mem_key[r]] == index_loc_mem(m->mem_base + r);
		live += (size_t)is_live;
		pos[r] = is_live || rnd_below(4) == 0 ? next++ : INDEX_POS_NONE;
	}
	uint32_t fid = m->next_file++ % (INDEX_FILE_ID_MAX + 1);
	size_t remapped;
	assert_int_equal(index_remap_memory(m->ix, &m->mem, m->mem_base, pos, fid, &remapped, err),
	                 0);
	assert_int_equal(remapped, live);
	for (size_t r = 0; r < n; r++)
		if (m->ref[m->mem_key[r]] == index_loc_mem(m->mem_base + r))
			model_set(m, m->mem_key[r], index_loc_file(fid, pos[r]));
	assert_int_equal(index_mem_count(m->ix), 0);
	assert_int_equal(m->ref_mem, 0);
	m->mem_base += n;
	batch_reset(&m->mem);
	free(pos);
}

/* A batch of index_put_many (put = 1) or index_remap_many over random keys,
 * some repeated, with offsets or (fixed-width keys, sometimes) without: the
 * outcome must be the calls one by one in batch order. */
static void model_many(model *m, int put)
{
	universe *u = m->u;
	size_t n = (size_t)rnd_below(64) + 1;
	size_t *js = malloc(n * sizeof *js), *offs = malloc((n + 1) * sizeof *offs);
	uint64_t *locs = malloc(n * sizeof *locs), *expect = malloc(n * sizeof *expect);
	uint64_t *olds = malloc(n * sizeof *olds);
	buf keys = {0};
	assert_true(js && offs && locs && expect && olds);
	offs[0] = 0;
	for (size_t i = 0; i < n; i++) {
		js[i] = i > 0 && rnd_below(4) == 0 ? js[rnd_below(i)] : (size_t)rnd_below(u->k);
		buf_append(&keys, UKEY(u, js[i]));
		offs[i + 1] = keys.len;
		locs[i] = index_loc_file((uint32_t)rnd_below(INDEX_FILE_ID_MAX + 1),
		                         rnd() & INDEX_POS_MAX);
		expect[i] = rnd_below(2) ? m->ref[js[i]] : index_loc_file(1, 1);
	}
	assert_true(buf_ok(&keys));
	const size_t *o = u->kd.width && rnd_below(2) ? NULL : offs;
	if (put) {
		assert_int_equal(index_put_many(m->ix, keys.data, o, n, locs, olds), 0);
		for (size_t i = 0; i < n; i++) {
			assert_true(olds[i] == m->ref[js[i]]);
			model_set(m, js[i], locs[i]);
		}
	} else {
		size_t remapped, want = 0;
		assert_int_equal(index_remap_many(m->ix, keys.data, o, n, expect, locs, &remapped),
		                 0);
		for (size_t i = 0; i < n; i++)
			if (m->ref[js[i]] != INDEX_LOC_NONE && m->ref[js[i]] == expect[i]) {
				model_set(m, js[i], locs[i]);
				want++;
			}
		assert_int_equal(remapped, want);
	}
	buf_release(&keys);
	free(js);
	free(offs);
	free(locs);
	free(expect);
	free(olds);
}

/* hash_bits < 64 forces collisions (index_test_hash_bits). */
static void model_run(const floe_schema *s, const int *cols, int ncols, size_t k, size_t nops,
                      unsigned hash_bits)
{
	universe u;
	universe_init(&u, s, cols, ncols, k);
	model m = {.u = &u};
	m.ref = malloc(k * sizeof *m.ref);
	m.mem_key = malloc(nops * sizeof *m.mem_key);
	assert_non_null(m.ref);
	assert_non_null(m.mem_key);
	for (size_t j = 0; j < k; j++)
		m.ref[j] = INDEX_LOC_NONE;
	assert_int_equal(index_new(&u.kd, &m.ix), 0);
	assert_int_equal(index_test_hash_bits(m.ix, hash_bits), 0);
	assert_int_equal(batch_init(&m.mem, s), 0);
	for (size_t op = 0; op < nops; op++) {
		size_t j = rnd_below(k);
		unsigned r = (unsigned)rnd_below(1000);
		uint64_t loc, old;
		if (r < 400) { /* insert / upsert */
			if (r < 250) {
				loc = index_loc_mem(m.mem_base + m.mem.nrows);
				m.mem_key[m.mem.nrows] = j;
				copy_row(&m.mem, &u.rows, j);
			} else {
				loc = index_loc_file((uint32_t)rnd_below(INDEX_FILE_ID_MAX + 1),
				                     rnd() & INDEX_POS_MAX);
			}
			assert_int_equal(index_put(m.ix, UKEY(&u, j), loc, &old), 0);
			assert_true(old == m.ref[j]);
			model_set(&m, j, loc);
		} else if (r < 600) {
			assert_int_equal(index_remove(m.ix, UKEY(&u, j), &old), 0);
			assert_true(old == m.ref[j]);
			model_set(&m, j, INDEX_LOC_NONE);
		} else if (r < 990) {
			assert_int_equal(index_lookup(m.ix, UKEY(&u, j), &loc), 0);
			assert_true(loc == m.ref[j]);
		} else if (r < 995) {
			model_many(&m, r < 993);
		} else if (r < 998) { /* remap one key, sometimes with a stale expectation */
			uint64_t expect = rnd_below(2) ? m.ref[j] : index_loc_file(1, 1);
			uint64_t nl = index_loc_file(2, op);
			int done;
			assert_int_equal(index_remap_key(m.ix, UKEY(&u, j), expect, nl, &done), 0);
			int want = m.ref[j] != INDEX_LOC_NONE && m.ref[j] == expect;
			assert_int_equal(done, want);
			if (want)
				model_set(&m, j, nl);
		} else if (r == 998) {
			model_flush(&m);
		} else {
			assert_int_equal(index_compact(m.ix), 0);
		}
		assert_int_equal(index_count(m.ix), m.ref_count);
		assert_int_equal(index_mem_count(m.ix), m.ref_mem);
		if (op % (nops / 10) == 0)
			model_check_all(&m);
	}
	model_flush(&m);
	model_check_all(&m);
	index_free(m.ix);
	batch_clear(&m.mem);
	free(m.ref);
	free(m.mem_key);
	universe_clear(&u);
}

/* 1,000,000 operations with real hashes, then 150,000 with 3-bit hashes
 * (8 distinct values: every key collides with an eighth of the others). */
static void test_model_int64(void **state)
{
	(void)state;
	model_run(&s_int64, key_0, 1, 50000, 400000, 64);
}

static void test_model_string(void **state)
{
	(void)state;
	model_run(&s_str, key_0, 1, 20000, 200000, 64);
}

static void test_model_composite(void **state)
{
	(void)state;
	model_run(&s_comp, key_01, 2, 20000, 200000, 64);
}

static void test_model_uuid(void **state)
{
	(void)state;
	model_run(&s_uuid, key_0, 1, 20000, 100000, 64);
}

static void test_model_decimal(void **state)
{
	(void)state;
	model_run(&s_dec, key_0, 1, 20000, 100000, 64);
}

static void test_model_collisions(void **state)
{
	(void)state;
	model_run(&s_int64, key_0, 1, 1000, 50000, 3);
	model_run(&s_str, key_0, 1, 1000, 50000, 3);
	model_run(&s_uuid, key_0, 1, 1000, 50000, 0);
}

/* Large batches into an empty index (it doubles many times inside one
 * call), half of them repeated keys, against index_put one by one into a
 * second index; then a remap of every key; then the refusals. */
static void test_put_many_large(void **state)
{
	(void)state;
	universe u;
	universe_init(&u, &s_str, key_0, 1, 20000);
	size_t n = 60000;
	size_t *js = malloc(n * sizeof *js), *offs = malloc((n + 1) * sizeof *offs);
	uint64_t *locs = malloc(n * sizeof *locs), *olds = malloc(n * sizeof *olds);
	buf keys = {0};
	assert_true(js && offs && locs && olds);
	offs[0] = 0;
	for (size_t i = 0; i < n; i++) {
		js[i] = (size_t)rnd_below(u.k);
		buf_append(&keys, UKEY(&u, js[i]));
		offs[i + 1] = keys.len;
		locs[i] = index_loc_mem(i);
	}
	index_map *a, *b;
	assert_int_equal(index_new(&u.kd, &a), 0);
	assert_int_equal(index_new(&u.kd, &b), 0);
	assert_int_equal(index_put_many(a, keys.data, offs, n, locs, olds), 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t old;
		assert_int_equal(
		    index_put(b, keys.data + offs[i], offs[i + 1] - offs[i], locs[i], &old), 0);
		assert_true(old == olds[i]);
	}
	assert_int_equal(index_count(a), index_count(b));
	assert_int_equal(index_mem_count(a), index_mem_count(b));
	/* every key's last location moves to a file: remapped once per key */
	uint64_t *nl = malloc(n * sizeof *nl);
	assert_non_null(nl);
	for (size_t i = 0; i < n; i++)
		nl[i] = index_loc_file(3, i);
	size_t remapped;
	assert_int_equal(index_remap_many(a, keys.data, offs, n, locs, nl, &remapped), 0);
	assert_int_equal(remapped, index_count(b));
	assert_int_equal(index_mem_count(a), 0);
	for (size_t j = 0; j < u.k; j++) {
		uint64_t la, lb;
		assert_int_equal(index_lookup(a, UKEY(&u, j), &la), 0);
		assert_int_equal(index_lookup(b, UKEY(&u, j), &lb), 0);
		if (lb == INDEX_LOC_NONE)
			assert_true(la == INDEX_LOC_NONE);
		else
			assert_true(la == index_loc_file(3, index_loc_mem_ordinal(lb)));
	}
	/* refusals change nothing: a NONE location, a bad length, no offsets
	 * for variable-width keys, a multi index */
	locs[5] = INDEX_LOC_NONE;
	size_t before = index_count(a);
	assert_int_equal(index_put_many(a, keys.data, offs, n, locs, olds), FLOE_EINVAL);
	assert_int_equal(index_remap_many(a, keys.data, offs, n, nl, locs, NULL), FLOE_EINVAL);
	assert_int_equal(index_put_many(a, keys.data, NULL, 1, nl, olds), FLOE_EINVAL);
	size_t bad[2] = {0, INDEX_KEY_MAX + 1};
	uint8_t *big = calloc(INDEX_KEY_MAX + 1, 1);
	assert_int_equal(index_put_many(a, big, bad, 1, nl, olds), FLOE_EINVAL);
	free(big);
	assert_int_equal(index_count(a), before);
	index_keydesc fk;
	char err[ERR_LEN];
	assert_int_equal(index_keydesc_init_fullrow(&fk, &s_str, err), 0);
	index_map *multi;
	assert_int_equal(index_new(&fk, &multi), 0);
	assert_int_equal(index_put_many(multi, keys.data, offs, 1, nl, olds), FLOE_EINVAL);
	assert_int_equal(index_remap_many(multi, keys.data, offs, 1, nl, nl, NULL), FLOE_EINVAL);
	index_free(multi);
	/* an empty batch is fine */
	assert_int_equal(index_put_many(a, keys.data, offs, 0, nl, olds), 0);
	index_free(a);
	index_free(b);
	buf_release(&keys);
	free(js);
	free(offs);
	free(locs);
	free(olds);
	free(nl);
	universe_clear(&u);
}

/* ---- encoding ----------------------------------------------------------- */

static void encode_one(const index_keydesc *kd, const batch *b, size_t row, uint8_t *out,
                       size_t *len)
{
	char err[ERR_LEN];
	buf k = {0};
	assert_int_equal(index_key_encode(kd, b, row, &k, err), 0);
	memcpy(out, k.data, k.len);
	*len = k.len;
	buf_release(&k);
}

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

/* Rows of b are in ascending key order: their encodings must be too. */
static void check_ascending(const index_keydesc *kd, const batch *b)
{
	uint8_t prev[512], cur[512];
	size_t pn = 0, cn;
	for (size_t r = 0; r < b->nrows; r++) {
		encode_one(kd, b, r, cur, &cn);
		if (r > 0)
			assert_true(bytes_cmp(prev, pn, cur, cn) < 0);
		memcpy(prev, cur, cn);
		pn = cn;
	}
}

static void test_encode_order(void **state)
{
	(void)state;
	char err[ERR_LEN];
	floe_column cols[] = {
	    {.name = "i64", .type = FT_INT64},
	    {.name = "d", .type = FT_DATE32},
	    {.name = "dec", .type = FT_DECIMAL, .precision = 20, .scale = 0}, /* 9 bytes */
	    {.name = "b", .type = FT_BOOLEAN},
	    {.name = "s", .type = FT_STRING},
	    {.name = "t", .type = FT_BINARY},
	};
	floe_schema s = {6, cols};
	batch b;
	assert_int_equal(batch_init(&b, &s), 0);
	static const int64_t ints[] = {INT64_MIN, -5, -1, 0, 1, 7, INT64_MAX};
	static const int32_t days[] = {INT32_MIN, -5, -1, 0, 1, 7, INT32_MAX};
	for (size_t i = 0; i < 7; i++) {
		uint8_t dec[9];
		/* -(2^71) .. : sign-extended big-endian values in order */
		int64_t v = ints[i];
		dec[0] = v < 0 ? 0xff : 0;
		put_be64(dec + 1, (uint64_t)v);
		batch_row_begin(&b);
		batch_set_i64(&b, 0, ints[i]);
		batch_set_i32(&b, 1, days[i]);
		batch_set_fixed(&b, 2, dec);
		batch_set_bool(&b, 3, i >= 3);
		batch_set_bytes(&b, 4, "a", 1);
		batch_set_bytes(&b, 5, "", 0);
		batch_row_commit(&b);
	}
	for (int c = 0; c < 4; c++) {
		index_keydesc kd;
		int col = c;
		assert_int_equal(index_keydesc_init(&kd, &s, &col, 1, err), 0);
		if (c != 3)
			check_ascending(&kd, &b);
	}
	/* (string, binary): ("", x) < ("a", "") < ("a", "\0") < ("a\0", "")
	 * < ("a\0", "b") < ("ab", "") and all distinct. */
	batch_reset(&b);
	static const struct {
		const char *s, *t;
		size_t sn, tn;
	} pairs[] = {{"", "zz", 0, 2},    {"a", "", 1, 0},    {"a", "\0", 1, 1},
	             {"a\0", "", 2, 0},   {"a\0", "b", 2, 1}, {"a\0\xff", "", 3, 0},
	             {"a\x01", "", 2, 0}, {"ab", "", 2, 0}};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		batch_row_begin(&b);
		batch_set_i64(&b, 0, 0);
		batch_set_i32(&b, 1, 0);
		batch_set_null(&b, 2);
		batch_set_bool(&b, 3, 0);
		batch_set_bytes(&b, 4, pairs[i].s, pairs[i].sn);
		batch_set_bytes(&b, 5, pairs[i].t, pairs[i].tn);
		batch_row_commit(&b);
	}
	index_keydesc kd;
	assert_int_equal(index_keydesc_init(&kd, &s, (int[]){4, 5}, 2, err), 0);
	assert_int_equal(kd.width, 0);
	check_ascending(&kd, &b);
	batch_clear(&b);
}

static void test_encode_promotion_and_widths(void **state)
{
	(void)state;
	char err[ERR_LEN];
	floe_column cols[] = {
	    {.name = "a", .type = FT_INT16},
	    {.name = "b", .type = FT_INT32},
	    {.name = "c", .type = FT_INT64},
	    {.name = "u", .type = FT_UUID},
	    {.name = "t", .type = FT_TIMESTAMPTZ},
	    {.name = "d5", .type = FT_DECIMAL, .precision = 5},
	    {.name = "d18", .type = FT_DECIMAL, .precision = 18},
	};
	floe_schema s = {7, cols};
	batch b;
	assert_int_equal(batch_init(&b, &s), 0);
	batch_row_begin(&b);
	batch_set_i32(&b, 0, -300);
	batch_set_i32(&b, 1, -300);
	batch_set_i64(&b, 2, -300);
	batch_set_fixed(&b, 3, "0123456789abcdef");
	batch_set_i64(&b, 4, 5);
	batch_set_i32(&b, 5, -300);
	batch_set_i64(&b, 6, -300);
	batch_row_commit(&b);
	uint8_t e[3][64];
	size_t n[3];
	for (int c = 0; c < 3; c++) {
		index_keydesc kd;
		assert_int_equal(index_keydesc_init(&kd, &s, &c, 1, err), 0);
		assert_int_equal(kd.width, 8);
		encode_one(&kd, &b, 0, e[c], &n[c]);
	}
	/* int16 -> int32 -> int64 promotion keeps the encoded key */
	assert_memory_equal(e[0], e[1], 8);
	assert_memory_equal(e[1], e[2], 8);
	index_keydesc kd;
	assert_int_equal(index_keydesc_init(&kd, &s, (int[]){5}, 1, err), 0);
	assert_int_equal(kd.width, 8); /* decimal p <= 18: 8 bytes (inline) */
	uint8_t d5[8], d18[8];
	size_t dn;
	encode_one(&kd, &b, 0, d5, &dn);
	assert_int_equal(index_keydesc_init(&kd, &s, (int[]){6}, 1, err), 0);
	encode_one(&kd, &b, 0, d18, &dn);
	assert_memory_equal(d5, d18, 8);
	/* (uuid, timestamptz) is 24 bytes: arena mode with a fixed width */
	assert_int_equal(index_keydesc_init(&kd, &s, (int[]){3, 4}, 2, err), 0);
	assert_int_equal(kd.width, 24);
	uint8_t ut[24];
	encode_one(&kd, &b, 0, ut, &dn);
	assert_memory_equal(ut, "0123456789abcdef", 16);
	index_map *ix;
	assert_int_equal(index_new(&kd, &ix), 0);
	uint64_t loc;
	assert_int_equal(index_put(ix, ut, 24, 9, NULL), 0);
	assert_int_equal(index_lookup(ix, ut, 24, &loc), 0);
	assert_true(loc == 9);
	assert_int_equal(index_lookup(ix, ut, 23, &loc), FLOE_EINVAL);
	index_free(ix);
	batch_clear(&b);
}

static void test_keydesc_errors(void **state)
{
	(void)state;
	char err[ERR_LEN];
	floe_column cols[] = {{.name = "f", .type = FT_FLOAT64},
	                      {.name = "id", .type = FT_INT64},
	                      {.name = "g", .type = FT_FLOAT32}};
	floe_schema s = {3, cols};
	index_keydesc kd;
	assert_int_equal(index_keydesc_init(&kd, &s, (int[]){0}, 1, err), FLOE_EINVAL);
	assert_non_null(strstr(err, "'f'"));
	assert_int_equal(index_keydesc_init(&kd, &s, (int[]){2}, 1, err), FLOE_EINVAL);
	assert_int_equal(index_keydesc_init(&kd, &s, (int[]){1, 1}, 2, err), FLOE_EINVAL);
	assert_non_null(strstr(err, "twice"));
	assert_int_equal(index_keydesc_init(&kd, &s, (int[]){3}, 1, err), FLOE_EINVAL);
	assert_int_equal(index_keydesc_init(&kd, &s, (int[]){-1}, 1, err), FLOE_EINVAL);
	assert_int_equal(index_keydesc_init(&kd, &s, (int[]){1}, 0, err), FLOE_EINVAL);
	int many[INDEX_MAX_KEY_COLS + 1] = {0};
	assert_int_equal(index_keydesc_init(&kd, &s, many, INDEX_MAX_KEY_COLS + 1, err),
	                 FLOE_EINVAL);
	assert_int_equal(index_keydesc_init(&kd, &s, (int[]){1}, 1, err), 0);
	index_map *bad;
	index_keydesc zero = {0};
	assert_int_equal(index_new(&zero, &bad), FLOE_EINVAL);
	assert_null(bad);
	index_keydesc wrong = kd;
	wrong.width = 4;
	assert_int_equal(index_new(&wrong, &bad), FLOE_EINVAL);

	/* a batch of another shape is refused, not misread */
	batch b;
	assert_int_equal(batch_init(&b, &s_str), 0);
	append_key(&b, &s_str, 3);
	buf k = {0};
	assert_int_equal(index_key_encode(&kd, &b, 0, &k, err), FLOE_EINVAL);
	index_keydesc skd;
	assert_int_equal(index_keydesc_init(&skd, &s_str, key_0, 1, err), 0);
	assert_int_equal(index_key_encode(&skd, &b, 1, &k, err), FLOE_EINVAL); /* no row 1 */
	/* a key over INDEX_KEY_MAX bytes */
	size_t big = INDEX_KEY_MAX + 1;
	char *p = calloc(1, big);
	assert_non_null(p);
	batch_row_begin(&b);
	batch_set_bytes(&b, 0, p, big);
	batch_row_commit(&b);
	assert_int_equal(index_key_encode(&skd, &b, 1, &k, err), FLOE_ETOOBIG);
	assert_non_null(strstr(err, "row 1"));
	/* and one exactly at the limit is fine */
	batch_row_begin(&b);
	batch_set_bytes(&b, 0, p, INDEX_KEY_MAX);
	batch_row_commit(&b);
	assert_int_equal(index_key_encode(&skd, &b, 2, &k, err), 0);
	index_map *ix;
	assert_int_equal(index_new(&skd, &ix), 0);
	assert_int_equal(index_put(ix, k.data, k.len, 1, NULL), 0);
	assert_int_equal(index_put(ix, (const uint8_t *)p, big, 1, NULL), FLOE_EINVAL);
	assert_int_equal(index_put(ix, k.data, k.len, INDEX_LOC_NONE, NULL), FLOE_EINVAL);
	uint64_t loc;
	assert_int_equal(index_lookup(ix, k.data, k.len, &loc), 0);
	assert_true(loc == 1);
	index_free(ix);
	index_free(NULL);
	free(p);
	buf_release(&k);
	batch_clear(&b);
}

/* ---- growth, remove / reinsert, memory ---------------------------------- */

static void put_be_key(uint8_t *k, int64_t v)
{
	put_be64(k, (uint64_t)v ^ INDEX_LOC_MEM_BIT);
}

static void test_growth_int64(void **state)
{
	(void)state;
	char err[ERR_LEN];
	index_keydesc kd;
	assert_int_equal(index_keydesc_init(&kd, &s_int64, key_0, 1, err), 0);
	index_map *ix;
	assert_int_equal(index_new(&kd, &ix), 0);
	const size_t n = 3000000;
	size_t resizes = 0, last = index_mem_bytes(ix);
	double worst = 0;
	uint8_t k[8];
	for (size_t i = 0; i < n; i++) {
		/* keys 7i - 5: spread out, and 7i - 4 is never a key */
		put_be_key(k, (int64_t)i * 7 - 5);
		assert_int_equal(index_put(ix, k, 8, index_loc_file(1, i), NULL), 0);
		size_t mb = index_mem_bytes(ix);
		if (mb != last)
			resizes++;
		last = mb;
		if (i >= 1000) {
			double per = (double)mb / (double)(i + 1);
			worst = per > worst ? per : worst;
		}
	}
	assert_true(resizes >= 17);
	assert_true(worst <= 40.0);
	print_message("growth: %zu resizes, worst %.1f bytes/key, end %.1f\n", resizes, worst,
	              (double)index_mem_bytes(ix) / (double)n);
	for (size_t i = 0; i < n; i++) {
		uint64_t loc;
		put_be_key(k, (int64_t)i * 7 - 5);
		assert_int_equal(index_lookup(ix, k, 8, &loc), 0);
		assert_true(loc == index_loc_file(1, i));
		put_be_key(k, (int64_t)i * 7 - 4); /* never inserted */
		assert_int_equal(index_lookup(ix, k, 8, &loc), 0);
		assert_true(loc == INDEX_LOC_NONE);
	}
	/* remove the odd ones, reinsert them elsewhere, remove everything */
	for (size_t i = 1; i < n; i += 2) {
		uint64_t old;
		put_be_key(k, (int64_t)i * 7 - 5);
		assert_int_equal(index_remove(ix, k, 8, &old), 0);
		assert_true(old == index_loc_file(1, i));
	}
	assert_int_equal(index_count(ix), n / 2);
	for (size_t i = 0; i < n; i++) {
		uint64_t loc;
		put_be_key(k, (int64_t)i * 7 - 5);
		assert_int_equal(index_lookup(ix, k, 8, &loc), 0);
		assert_true(loc == (i & 1 ? INDEX_LOC_NONE : index_loc_file(1, i)));
	}
	for (size_t i = 1; i < n; i += 2) {
		uint64_t old;
		put_be_key(k, (int64_t)i * 7 - 5);
		assert_int_equal(index_put(ix, k, 8, index_loc_mem(i), &old), 0);
		assert_true(old == INDEX_LOC_NONE);
	}
	assert_int_equal(index_mem_count(ix), n / 2);
	for (size_t i = 0; i < n; i++) {
		uint64_t old;
		put_be_key(k, (int64_t)i * 7 - 5);
		assert_int_equal(index_remove(ix, k, 8, &old), 0);
		assert_true(old == (i & 1 ? index_loc_mem(i) : index_loc_file(1, i)));
		assert_int_equal(index_remove(ix, k, 8, &old), 0);
		assert_true(old == INDEX_LOC_NONE);
	}
	assert_int_equal(index_count(ix), 0);
	assert_int_equal(index_mem_count(ix), 0);
	/* compaction shrinks the emptied table to its minimum */
	size_t before = index_mem_bytes(ix);
	assert_int_equal(index_compact(ix), 0);
	assert_true(index_mem_bytes(ix) < before / 1000);
	/* a reservation too large for any machine fails cleanly */
	assert_int_equal(index_reserve(ix, SIZE_MAX / 4), FLOE_ENOMEM);
	assert_int_equal(index_reserve(ix, (size_t)1 << 50), FLOE_ENOMEM);
	put_be_key(k, 42);
	assert_int_equal(index_put(ix, k, 8, 7, NULL), 0);
	assert_int_equal(index_count(ix), 1);
	index_free(ix);
}

static void test_arena_compaction(void **state)
{
	(void)state;
	universe u;
	universe_init(&u, &s_str, key_0, 1, 200000);
	index_map *ix;
	assert_int_equal(index_new(&u.kd, &ix), 0);
	for (size_t j = 0; j < u.k; j++)
		assert_int_equal(index_put(ix, UKEY(&u, j), j, NULL), 0);
	size_t full = index_mem_bytes(ix);
	/* remove 90%: the arena is compacted on the way (dead > live) */
	for (size_t j = 0; j < u.k; j++)
		if (j % 10)
			assert_int_equal(index_remove(ix, UKEY(&u, j), NULL), 0);
	size_t after = index_mem_bytes(ix);
	assert_true(after < full);
	assert_int_equal(index_compact(ix), 0);
	size_t compacted = index_mem_bytes(ix);
	print_message("arena: %zu bytes full, %zu after removing 90%%, %zu compacted\n", full,
	              after, compacted);
	assert_true(compacted < full / 4);
	for (size_t j = 0; j < u.k; j++) {
		uint64_t loc;
		assert_int_equal(index_lookup(ix, UKEY(&u, j), &loc), 0);
		assert_true(loc == (j % 10 ? INDEX_LOC_NONE : j));
	}
	/* reinsert everything on top of the compacted arena */
	for (size_t j = 0; j < u.k; j++)
		assert_int_equal(index_put(ix, UKEY(&u, j), j + 1, NULL), 0);
	for (size_t j = 0; j < u.k; j++) {
		uint64_t loc;
		assert_int_equal(index_lookup(ix, UKEY(&u, j), &loc), 0);
		assert_true(loc == j + 1);
	}
	index_free(ix);
	universe_clear(&u);
}

/* ---- remap after a flush ------------------------------------------------ */

static void test_remap_memory(void **state)
{
	(void)state;
	char err[ERR_LEN];
	universe u;
	universe_init(&u, &s_comp, key_01, 2, 10);
	index_map *ix;
	assert_int_equal(index_new(&u.kd, &ix), 0);
	batch mem;
	assert_int_equal(batch_init(&mem, &s_comp), 0);
	/* memory rows 100..104: keys 0, 1, 2, then 1 again (supersedes row
	 * 101), then 3; key 2 is deleted afterwards; key 4 lives in a file. */
	static const size_t keys[] = {0, 1, 2, 1, 3};
	for (size_t r = 0; r < 5; r++) {
		copy_row(&mem, &u.rows, keys[r]);
		assert_int_equal(index_put(ix, UKEY(&u, keys[r]), index_loc_mem(100 + r), NULL), 0);
	}
	assert_int_equal(index_put(ix, UKEY(&u, 4), index_loc_file(3, 3), NULL), 0);
	assert_int_equal(index_remove(ix, UKEY(&u, 2), NULL), 0);
	assert_int_equal(index_mem_count(ix), 3);
	/* the writer writes rows 100, 103, 104 at positions 0, 1, 2; it also
	 * passes a position for the superseded row 101 to check it is ignored */
	uint64_t pos[5] = {0, 7, INDEX_POS_NONE, 1, 2};
	size_t remapped;
	uint64_t bad[5] = {0, 1, 2, INDEX_POS_MAX + 1, 3};
	assert_int_equal(index_remap_memory(ix, &mem, 100, bad, 9, &remapped, err), FLOE_EINVAL);
	assert_int_equal(
	    index_remap_memory(ix, &mem, 100, pos, INDEX_FILE_ID_MAX + 1, &remapped, err),
	    FLOE_EINVAL);
	assert_int_equal(index_remap_memory(ix, &mem, INDEX_MEM_ORD_MAX, pos, 9, &remapped, err),
	                 FLOE_EINVAL);
	assert_int_equal(index_mem_count(ix), 3); /* nothing changed */
	batch other;
	assert_int_equal(batch_init(&other, &s_str), 0);
	append_key(&other, &s_str, 1);
	assert_int_equal(index_remap_memory(ix, &other, 0, pos, 9, &remapped, err), FLOE_EINVAL);
	assert_int_equal(index_remap_memory(ix, &mem, 100, pos, 9, &remapped, err), 0);
	assert_int_equal(remapped, 3);
	assert_int_equal(index_mem_count(ix), 0);
	static const struct {
		size_t key;
		uint64_t loc;
	} want[] = {{0, 0}, {1, 1}, {2, INDEX_LOC_NONE}, {3, 2}, {4, 0}};
	for (size_t i = 0; i < 5; i++) {
		uint64_t loc, w = want[i].loc;
		if (i == 4)
			w = index_loc_file(3, 3);
		else if (w != INDEX_LOC_NONE)
			w = index_loc_file(9, w);
		assert_int_equal(index_lookup(ix, UKEY(&u, want[i].key), &loc), 0);
		assert_true(loc == w);
	}
	/* the location helpers round-trip their extremes */
	uint64_t l = index_loc_file(INDEX_FILE_ID_MAX, INDEX_POS_MAX);
	assert_false(index_loc_is_mem(l));
	assert_int_equal(index_loc_file_id(l), INDEX_FILE_ID_MAX);
	assert_true(index_loc_pos(l) == INDEX_POS_MAX);
	assert_true(l != INDEX_LOC_NONE);
	l = index_loc_mem(INDEX_MEM_ORD_MAX);
	assert_true(index_loc_is_mem(l) && l != INDEX_LOC_NONE);
	assert_true(index_loc_mem_ordinal(l) == INDEX_MEM_ORD_MAX);
	assert_false(index_loc_is_mem(INDEX_LOC_NONE));
	batch_clear(&other);
	batch_clear(&mem);
	index_free(ix);
	universe_clear(&u);
}

/* ---- .fidx persistence -------------------------------------------------- */

static int every_7th(void *arg, uint64_t pos)
{
	(void)arg;
	return pos % 7 == 3;
}

static int del_one(void *arg, uint64_t pos)
{
	return pos == *(const uint64_t *)arg;
}

static void path_for(char *out, const char *name)
{
	snprintf(out, 4096, "%s/%s", tmpdir, name);
}

/* Writes keys [0, n) of u (position p = key p) to a .fidx file. */
static void write_fidx(const universe *u, size_t n, const char *path)
{
	char err[ERR_LEN];
	index_fidx w;
	index_fidx_begin(&w, &u->kd);
	for (size_t j = 0; j < n; j++)
		assert_int_equal(index_fidx_add_row(&w, &u->rows, j, err), 0);
	assert_int_equal(index_fidx_commit(&w, path, err), 0);
}

static void round_trip(const floe_schema *s, const int *cols, int ncols)
{
	char err[ERR_LEN], path[4096];
	universe u;
	universe_init(&u, s, cols, ncols, 5000);
	path_for(path, "rt.fidx");
	write_fidx(&u, u.k, path);
	index_map *ix;
	assert_int_equal(index_new(&u.kd, &ix), 0);
	uint64_t rows;
	assert_int_equal(index_load_file(ix, path, 77, every_7th, NULL, &rows, err), 0);
	assert_int_equal(rows, u.k);
	size_t live = 0;
	for (size_t j = 0; j < u.k; j++) {
		uint64_t loc;
		assert_int_equal(index_lookup(ix, UKEY(&u, j), &loc), 0);
		assert_true(loc == (every_7th(NULL, j) ? INDEX_LOC_NONE : index_loc_file(77, j)));
		live += loc != INDEX_LOC_NONE;
	}
	assert_int_equal(index_count(ix), live);
	/* loading it again (another file id) finds live keys already there:
	 * FLOE_EEXIST and nothing of the second load stays */
	assert_int_equal(index_load_file(ix, path, 78, NULL, NULL, &rows, err), FLOE_EEXIST);
	assert_non_null(strstr(err, "already in the index"));
	assert_int_equal(index_count(ix), live);
	for (size_t j = 0; j < u.k; j++) {
		uint64_t loc;
		assert_int_equal(index_lookup(ix, UKEY(&u, j), &loc), 0);
		assert_true(loc == (every_7th(NULL, j) ? INDEX_LOC_NONE : index_loc_file(77, j)));
	}
	index_free(ix);
	universe_clear(&u);
}

/* The batch encoders agree with index_key_encode row by row: every key
 * family, with rows skipped, over sub-ranges; and a key list built with
 * index_fidx_add_rows has the same bytes as one built row by row. */
static void keys_append_family(const floe_schema *s, const int *cols, int ncols)
{
	char err[ERR_LEN];
	universe u;
	universe_init(&u, s, cols, ncols, 2000);
	uint8_t *skip = calloc(u.k, 1);
	size_t *ends = malloc(u.k * sizeof *ends);
	assert_true(skip && ends);
	for (size_t j = 0; j < u.k; j++)
		skip[j] = rnd_below(3) == 0;
	size_t from = 7, to = u.k - 5, nk;
	buf out = {0}, one = {0};
	buf_append(&out, "xy", 2); /* appended after what is there */
	assert_int_equal(index_keys_append(&u.kd, &u.rows, from, to, skip, &out, ends, &nk, err),
	                 0);
	size_t off = 2, k = 0;
	for (size_t r = from; r < to; r++) {
		if (skip[r])
			continue;
		assert_int_equal(index_key_encode(&u.kd, &u.rows, r, &one, err), 0);
		assert_true(off + one.len == ends[k]);
		assert_memory_equal(out.data + off, one.data, one.len);
		off = ends[k++];
	}
	assert_int_equal(nk, k);
	assert_int_equal(out.len, off);
	assert_int_equal(index_keys_append(&u.kd, &u.rows, 5, u.k + 1, NULL, &out, NULL, &nk, err),
	                 FLOE_EINVAL);
	index_fidx a, b;
	index_fidx_begin(&a, &u.kd);
	index_fidx_begin(&b, &u.kd);
	assert_int_equal(index_fidx_add_rows(&a, &u.rows, err), 0);
	for (size_t r = 0; r < u.k; r++)
		assert_int_equal(index_fidx_add_row(&b, &u.rows, r, err), 0);
	assert_int_equal(a.count, b.count);
	assert_int_equal(a.out.len, b.out.len);
	assert_memory_equal(a.out.data, b.out.data, a.out.len);
	index_fidx_abandon(&a);
	index_fidx_abandon(&b);
	buf_release(&out);
	buf_release(&one);
	free(skip);
	free(ends);
	universe_clear(&u);
}

static void test_keys_append(void **state)
{
	(void)state;
	keys_append_family(&s_int64, key_0, 1);
	keys_append_family(&s_str, key_0, 1);
	keys_append_family(&s_comp, key_01, 2);
	keys_append_family(&s_uuid, key_0, 1);
	keys_append_family(&s_dec, key_0, 1);
}

static void test_fidx_round_trip(void **state)
{
	(void)state;
	round_trip(&s_int64, key_0, 1);
	round_trip(&s_str, key_0, 1);
	round_trip(&s_comp, key_01, 2);
	round_trip(&s_uuid, key_0, 1);
	round_trip(&s_dec, key_0, 1);
}

static void test_fidx_all_or_nothing(void **state)
{
	(void)state;
	char err[ERR_LEN], path[4096];
	universe u;
	universe_init(&u, &s_str, key_0, 1, 100);
	/* a list with key 5 at positions 5 and 60 */
	index_fidx w;
	index_fidx_begin(&w, &u.kd);
	for (size_t j = 0; j < 100; j++)
		assert_int_equal(index_fidx_add(&w, UKEY(&u, j == 60 ? 5 : j)), 0);
	path_for(path, "dup.fidx");
	assert_int_equal(index_fidx_commit(&w, path, err), 0);
	index_map *ix;
	assert_int_equal(index_new(&u.kd, &ix), 0);
	assert_int_equal(index_put(ix, UKEY(&u, 99), index_loc_mem(1), NULL), 0);
	assert_int_equal(index_load_file(ix, path, 1, NULL, NULL, NULL, err), FLOE_EEXIST);
	assert_non_null(strstr(err, "position 60"));
	assert_int_equal(index_count(ix), 1);
	/* with position 5 deleted only key 99, taken, is in the way */
	uint64_t del5 = 5, rows;
	assert_int_equal(index_load_file(ix, path, 1, del_one, &del5, &rows, err), FLOE_EEXIST);
	assert_non_null(strstr(err, "position 99"));
	assert_int_equal(index_count(ix), 1);
	assert_int_equal(index_mem_count(ix), 1);
	assert_int_equal(index_remove(ix, UKEY(&u, 99), NULL), 0);
	assert_int_equal(index_load_file(ix, path, 1, del_one, &del5, &rows, err), 0);
	assert_int_equal(rows, 100);
	assert_int_equal(index_count(ix), 99);
	uint64_t loc;
	assert_int_equal(index_lookup(ix, UKEY(&u, 5), &loc), 0);
	assert_true(loc == index_loc_file(1, 60));
	assert_int_equal(index_lookup(ix, UKEY(&u, 60), &loc), 0);
	assert_true(loc == INDEX_LOC_NONE);
	/* an empty list, a missing file, a bad file id, another key shape */
	index_fidx_begin(&w, &u.kd);
	path_for(path, "empty.fidx");
	assert_int_equal(index_fidx_commit(&w, path, err), 0);
	assert_int_equal(index_load_file(ix, path, 2, NULL, NULL, &rows, err), 0);
	assert_int_equal(rows, 0);
	path_for(path, "missing.fidx");
	assert_int_equal(index_load_file(ix, path, 2, NULL, NULL, &rows, err), FLOE_ENOTFOUND);
	path_for(path, "empty.fidx");
	assert_int_equal(index_load_file(ix, path, INDEX_FILE_ID_MAX + 1, NULL, NULL, &rows, err),
	                 FLOE_EINVAL);
	index_keydesc ikd;
	assert_int_equal(index_keydesc_init(&ikd, &s_int64, key_0, 1, err), 0);
	index_map *iix;
	assert_int_equal(index_new(&ikd, &iix), 0);
	assert_int_equal(index_load_file(iix, path, 2, NULL, NULL, &rows, err), FLOE_EINVAL);
	assert_non_null(strstr(err, "differ"));
	/* a key of the wrong length is refused by the writer */
	index_fidx_begin(&w, &ikd);
	assert_int_equal(index_fidx_add(&w, (const uint8_t *)"1234567", 7), FLOE_EINVAL);
	index_fidx_abandon(&w);
	index_free(iix);
	index_free(ix);
	universe_clear(&u);
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc((size_t)n + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* Loads damaged bytes: must be FLOE_ECORRUPT and leave ix untouched. */
static void expect_corrupt(index_map *ix, const uint8_t *p, size_t len)
{
	char err[ERR_LEN];
	size_t before = index_count(ix);
	int rc = index_load_bytes(ix, p, len, "t.fidx", 5, NULL, NULL, NULL, err);
	if (rc != FLOE_ECORRUPT)
		fail_msg("len %zu: rc %d (%s)", len, rc, rc ? err : "ok");
	assert_non_null(strstr(err, "t.fidx"));
	assert_int_equal(index_count(ix), before);
}

static void recrc(uint8_t *p, size_t len)
{
	put_le32(p + len - 4, crc32c(0, p, len - 4));
}

static void corruption(const floe_schema *s, size_t nkeys)
{
	char err[ERR_LEN], path[4096];
	universe u;
	universe_init(&u, s, key_0, 1, nkeys);
	size_t nfile = nkeys - 1; /* the last key is put in the index instead */
	path_for(path, "c.fidx");
	write_fidx(&u, nfile, path);
	size_t len;
	uint8_t *orig = read_file(path, &len);
	uint8_t *p = malloc(len);
	assert_non_null(p);
	index_map *ix;
	assert_int_equal(index_new(&u.kd, &ix), 0);
	assert_int_equal(index_put(ix, UKEY(&u, nkeys - 1), 1, NULL), 0); /* not in the file */
	for (size_t n = 0; n < len; n++) {
		uint8_t *t = malloc(n ? n : 1); /* exactly n bytes: ASan sees reads past n */
		assert_non_null(t);
		memcpy(t, orig, n);
		expect_corrupt(ix, t, n);
		free(t);
	}
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(p, orig, len);
			p[i] ^= (uint8_t)(1u << bit);
			expect_corrupt(ix, p, len);
		}
	/* damage behind a valid CRC: the parser's own checks */
	size_t nc = 1, hdr = 20 + nc;
	struct {
		size_t at;
		uint8_t v;
	} edits[] = {
	    {0, 'G'},                        /* magic */
	    {4, 2},                          /* version */
	    {6, 0},                          /* no columns */
	    {6, 17},                         /* too many columns */
	    {6, 2},                          /* columns beyond the header */
	    {7, 2},                          /* unknown flags */
	    {7, 0x81},                       /* unknown flags */
	    {8, 0},                          /* class 0 */
	    {8, 11},                         /* float32: full-row keys only */
	    {8, 12},                         /* float64: full-row keys only */
	    {8, 13},                         /* unknown class */
	    {8 + nc, 7},                     /* width */
	    {12 + nc, (uint8_t)(nfile + 1)}, /* count one more */
	    {12 + nc, (uint8_t)(nfile - 1)}, /* count one fewer */
	    {12 + nc + 7, 0x80},             /* count huge */
	};
	for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
		memcpy(p, orig, len);
		p[edits[e].at] = edits[e].v;
		recrc(p, len);
		expect_corrupt(ix, p, len);
	}
	if (u.kd.width == 0) {
		/* a length past the end, an overlong length (0x80 0x00, a
		 * 2-byte 0), a length over INDEX_KEY_MAX, a byte too many */
		uint8_t *q = malloc(len + 8);
		assert_non_null(q);
		memcpy(q, orig, len);
		q[hdr] = 0x7f;
		recrc(q, len);
		expect_corrupt(ix, q, len);
		memcpy(q, orig, hdr);
		put_le64(q + 12 + nc, 1);
		q[hdr] = 0x80, q[hdr + 1] = 0x00;
		recrc(q, hdr + 2 + 4);
		expect_corrupt(ix, q, hdr + 2 + 4);
		q[hdr] = 0x00; /* the same key, minimal, loads */
		recrc(q, hdr + 1 + 4);
		assert_int_equal(
		    index_load_bytes(ix, q, hdr + 1 + 4, "q", 5, NULL, NULL, NULL, err), 0);
		assert_int_equal(index_remove(ix, (const uint8_t *)"", 0, NULL), 0);
		memcpy(q, orig, hdr);
		put_le64(q + 12 + nc, 1);
		q[hdr] = 0xff, q[hdr + 1] = 0xff, q[hdr + 2] = 0x07;
		recrc(q, hdr + 3 + 4);
		expect_corrupt(ix, q, hdr + 3 + 4);
		/* one trailing byte after the last key */
		memcpy(q, orig, len - 4);
		q[len - 4] = 0;
		recrc(q, len + 1);
		expect_corrupt(ix, q, len + 1);
		free(q);
	}
	/* the undamaged bytes still load */
	assert_int_equal(index_load_bytes(ix, orig, len, "t.fidx", 5, NULL, NULL, NULL, err), 0);
	assert_int_equal(index_count(ix), nkeys);
	free(p);
	free(orig);
	index_free(ix);
	universe_clear(&u);
}

static void test_fidx_corruption(void **state)
{
	(void)state;
	corruption(&s_str, 12);   /* variable-length keys */
	corruption(&s_int64, 12); /* fixed width */
}

/* ---- full-row keys and the multimap ------------------------------------- */

/* Every type; the last column is a string (written raw), the others
 * escaped / fixed. Value domains per column: index 0 is null; canon[] maps
 * an index to its equality class (floats: -0.0 ~ +0.0, NaNs ~ each other). */
static floe_column c_all[] = {
    {.name = "b", .type = FT_BOOLEAN, .nullable = 1},
    {.name = "i16", .type = FT_INT16, .nullable = 1},
    {.name = "i32", .type = FT_INT32, .nullable = 1},
    {.name = "i64", .type = FT_INT64, .nullable = 1},
    {.name = "f32", .type = FT_FLOAT32, .nullable = 1},
    {.name = "f64", .type = FT_FLOAT64, .nullable = 1},
    {.name = "d5", .type = FT_DECIMAL, .precision = 5, .scale = 1, .nullable = 1},
    {.name = "d10", .type = FT_DECIMAL, .precision = 10, .scale = 2, .nullable = 1},
    {.name = "d30", .type = FT_DECIMAL, .precision = 30, .scale = 2, .nullable = 1},
    {.name = "s", .type = FT_STRING, .nullable = 1},
    {.name = "bin", .type = FT_BINARY, .nullable = 1},
    {.name = "dt", .type = FT_DATE32, .nullable = 1},
    {.name = "ts", .type = FT_TIMESTAMP, .nullable = 1},
    {.name = "tz", .type = FT_TIMESTAMPTZ, .nullable = 1},
    {.name = "u", .type = FT_UUID, .nullable = 1},
    {.name = "last", .type = FT_STRING, .nullable = 1},
};
static const floe_schema s_all = {16, c_all};
#define ALL_NCOLS 16

static const char *const sdom[] = {NULL, "", "\0", "a", "a\0", "\0b", "b", "ab", "\0\0"};
static const size_t sdom_len[] = {0, 0, 1, 1, 2, 2, 1, 2, 2};
#define SDOM 9
/* float domains: null, 0.0, -0.0, NaN, -NaN, signalling NaN, NaN with a
 * payload, 1.0, -1.0, inf, -inf, smallest denormal */
static const uint64_t f64dom[] = {0,
                                  0,
                                  UINT64_C(0x8000000000000000),
                                  UINT64_C(0x7ff8000000000000),
                                  UINT64_C(0xfff8000000000000),
                                  UINT64_C(0x7ff0000000000001),
                                  UINT64_C(0x7ffabcdef0123456),
                                  UINT64_C(0x3ff0000000000000),
                                  UINT64_C(0xbff0000000000000),
                                  UINT64_C(0x7ff0000000000000),
                                  UINT64_C(0xfff0000000000000),
                                  1};
static const uint32_t f32dom[] = {0,          0,          0x80000000, 0x7fc00000,
                                  0xffc00000, 0x7f800001, 0x7fabcdef, 0x3f800000,
                                  0xbf800000, 0x7f800000, 0xff800000, 1};
static const int fcanon[] = {0, 1, 1, 3, 3, 3, 3, 7, 8, 9, 10, 11};
#define FDOM 12
static const int64_t idom[] = {0, 0, -1, 1, INT32_MIN, INT32_MAX};
#define IDOM 6

static int dom_size(int c)
{
	switch (c_all[c].type) {
	case FT_BOOLEAN:
		return 3;
	case FT_FLOAT32:
	case FT_FLOAT64:
		return FDOM;
	case FT_STRING:
	case FT_BINARY:
		return SDOM;
	default:
		return IDOM;
	}
}

static int canon(int c, int v)
{
	return c_all[c].type == FT_FLOAT32 || c_all[c].type == FT_FLOAT64 ? fcanon[v] : v;
}

/* Appends a row of s_all whose column c holds domain value v[c]. */
static void append_all(batch *b, const int *v)
{
	batch_row_begin(b);
	for (int c = 0; c < ALL_NCOLS; c++) {
		const floe_column *col = &c_all[c];
		if (v[c] == 0) {
			batch_set_null(b, c);
			continue;
		}
		int64_t x = idom[v[c] % IDOM];
		switch (col->type) {
		case FT_BOOLEAN:
			batch_set_bool(b, c, v[c] == 2);
			break;
		case FT_FLOAT32: {
			float f;
			memcpy(&f, &f32dom[v[c]], 4);
			batch_set_f32(b, c, f);
			break;
		}
		case FT_FLOAT64: {
			double f;
			memcpy(&f, &f64dom[v[c]], 8);
			batch_set_f64(b, c, f);
			break;
		}
		case FT_STRING:
		case FT_BINARY:
			batch_set_bytes(b, c, sdom[v[c]], sdom_len[v[c]]);
			break;
		case FT_UUID:
		case FT_DECIMAL: {
			int w = coltype_width(col);
			if (w == 4) {
				batch_set_i32(b, c, (int32_t)x);
			} else if (w == 8) {
				batch_set_i64(b, c, x);
			} else {
				uint8_t be[16];
				for (int i = 0; i < w; i++)
					be[i] = (uint8_t)((uint64_t)x >> (8 * (w - 1 - i) < 64
					                                      ? 8 * (w - 1 - i)
					                                      : 63));
				batch_set_fixed(b, c, be);
			}
			break;
		}
		default:
			if (coltype_width(col) == 4)
				batch_set_i32(b, c, (int32_t)x);
			else
				batch_set_i64(b, c, x);
		}
	}
	batch_row_commit(b);
	assert_int_equal(batch_check(b), 0);
}

static void encode_all(const index_keydesc *kd, const int *v, buf *out)
{
	char err[ERR_LEN];
	batch b;
	assert_int_equal(batch_init(&b, &s_all), 0);
	append_all(&b, v);
	assert_int_equal(index_key_encode(kd, &b, 0, out, err), 0);
	batch_clear(&b);
}

static int buf_eq(const buf *a, const buf *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static void test_fullrow_encode(void **state)
{
	(void)state;
	char err[ERR_LEN];
	index_keydesc kd;
	assert_int_equal(index_keydesc_init_fullrow(&kd, &s_all, err), 0);
	assert_int_equal(kd.multi, 1);
	assert_int_equal(kd.width, 0);
	assert_int_equal(kd.ncols, ALL_NCOLS);
	buf a = {0}, b = {0};
	int v[ALL_NCOLS] = {0};
	/* all null: one 0 presence byte per column */
	encode_all(&kd, v, &a);
	assert_int_equal(a.len, ALL_NCOLS);
	for (size_t i = 0; i < a.len; i++)
		assert_int_equal(a.data[i], 0);
	/* the last string raw, an inner one escaped */
	v[ALL_NCOLS - 1] = 4; /* "a\0" */
	encode_all(&kd, v, &a);
	assert_int_equal(a.len, ALL_NCOLS - 1 + 3);
	assert_memory_equal(a.data + ALL_NCOLS - 1, "\1a\0", 3);
	v[ALL_NCOLS - 1] = 0;
	v[9] = 4;
	encode_all(&kd, v, &a);
	assert_int_equal(a.len, ALL_NCOLS - 1 + 6);
	assert_memory_equal(a.data + 9, "\1a\0\xff\0\0", 6);
	/* ("a\0", "b") vs ("a", "\0b") in two adjacent escaped columns */
	v[10] = 6;
	encode_all(&kd, v, &a);
	v[9] = 3, v[10] = 5;
	encode_all(&kd, v, &b);
	assert_false(buf_eq(&a, &b));
	/* null vs empty string, null vs zero, per column */
	for (int c = 0; c < ALL_NCOLS; c++) {
		int w[ALL_NCOLS] = {0};
		encode_all(&kd, w, &a);
		w[c] = 1; /* "" / 0 / false / 0.0 */
		encode_all(&kd, w, &b);
		assert_false(buf_eq(&a, &b));
	}
	/* -0.0 == +0.0 and NaNs equal, spelled out */
	int z[ALL_NCOLS] = {0};
	z[4] = 1, z[5] = 1;
	encode_all(&kd, z, &a);
	z[4] = 2, z[5] = 2;
	encode_all(&kd, z, &b);
	assert_true(buf_eq(&a, &b));
	for (int n1 = 3; n1 <= 6; n1++)
		for (int n2 = 3; n2 <= 6; n2++) {
			z[4] = n1, z[5] = n2;
			encode_all(&kd, z, &a);
			z[4] = n2, z[5] = n1;
			encode_all(&kd, z, &b);
			assert_true(buf_eq(&a, &b));
		}
	/* random rows: an equivalent spelling encodes the same, a change of
	 * one column's class encodes differently */
	for (int iter = 0; iter < 3000; iter++) {
		int x[ALL_NCOLS], y[ALL_NCOLS];
		for (int c = 0; c < ALL_NCOLS; c++)
			x[c] = (int)rnd_below((size_t)dom_size(c));
		for (int c = 0; c < ALL_NCOLS; c++) {
			do
				y[c] = (int)rnd_below((size_t)dom_size(c));
			while (canon(c, y[c]) != canon(c, x[c]));
		}
		encode_all(&kd, x, &a);
		encode_all(&kd, y, &b);
		assert_true(buf_eq(&a, &b));
		int c = (int)rnd_below(ALL_NCOLS);
		do
			y[c] = (int)rnd_below((size_t)dom_size(c));
		while (canon(c, y[c]) == canon(c, x[c]));
		encode_all(&kd, y, &b);
		assert_false(buf_eq(&a, &b));
	}
	/* a row longer than INDEX_KEY_MAX */
	batch big;
	assert_int_equal(batch_init(&big, &s_all), 0);
	char *huge = calloc(1, INDEX_KEY_MAX);
	assert_non_null(huge);
	batch_row_begin(&big);
	for (int c = 0; c < ALL_NCOLS - 1; c++)
		batch_set_null(&big, c);
	batch_set_bytes(&big, ALL_NCOLS - 1, huge, INDEX_KEY_MAX - ALL_NCOLS);
	batch_row_commit(&big);
	batch_row_begin(&big);
	for (int c = 0; c < ALL_NCOLS - 1; c++)
		batch_set_null(&big, c);
	batch_set_bytes(&big, ALL_NCOLS - 1, huge, INDEX_KEY_MAX - ALL_NCOLS + 1);
	batch_row_commit(&big);
	assert_int_equal(index_key_encode(&kd, &big, 0, &a, err), 0);
	assert_int_equal(a.len, INDEX_KEY_MAX);
	assert_int_equal(index_key_encode(&kd, &big, 1, &a, err), FLOE_ETOOBIG);
	assert_non_null(strstr(err, "row 1"));
	free(huge);
	batch_clear(&big);
	/* keydesc limits; a primary key still refuses floats */
	floe_schema none = {0, c_all};
	assert_int_equal(index_keydesc_init_fullrow(&kd, &none, err), FLOE_EINVAL);
	floe_column *many = calloc(INDEX_MAX_COLS + 1, sizeof *many);
	assert_non_null(many);
	for (int c = 0; c <= INDEX_MAX_COLS; c++)
		many[c] = (floe_column){.name = "x", .type = FT_FLOAT32};
	floe_schema wide = {INDEX_MAX_COLS + 1, many};
	assert_int_equal(index_keydesc_init_fullrow(&kd, &wide, err), FLOE_EINVAL);
	wide.ncols = INDEX_MAX_COLS;
	assert_int_equal(index_keydesc_init_fullrow(&kd, &wide, err), 0);
	index_map *ix;
	assert_int_equal(index_new(&kd, &ix), 0);
	index_free(ix);
	free(many);
	assert_int_equal(index_keydesc_init(&kd, &s_all, (int[]){4}, 1, err), FLOE_EINVAL);
	assert_int_equal(index_keydesc_init(&kd, &s_all, (int[]){5}, 1, err), FLOE_EINVAL);
	/* a hand-made keydesc: floats only with multi */
	assert_int_equal(index_keydesc_init_fullrow(&kd, &s_all, err), 0);
	kd.multi = 0;
	assert_int_equal(index_new(&kd, &ix), FLOE_EINVAL);
	buf_release(&a);
	buf_release(&b);
}

static void test_multi_api(void **state)
{
	(void)state;
	char err[ERR_LEN];
	index_keydesc kd, pk;
	assert_int_equal(index_keydesc_init_fullrow(&kd, &s_str, err), 0);
	assert_int_equal(index_keydesc_init(&pk, &s_str, key_0, 1, err), 0);
	index_map *mx, *ux;
	assert_int_equal(index_new(&kd, &mx), 0);
	assert_int_equal(index_new(&pk, &ux), 0);
	const uint8_t *k = (const uint8_t *)"\1abc";
	uint64_t loc;
	size_t n;
	int done;
	/* unique-key calls on a multi index, multi calls on a unique one */
	assert_int_equal(index_put(mx, k, 4, 1, NULL), FLOE_EINVAL);
	assert_int_equal(index_remove(mx, k, 4, NULL), FLOE_EINVAL);
	assert_int_equal(index_lookup(mx, k, 4, &loc), FLOE_EINVAL);
	assert_int_equal(index_remap_key(mx, k, 4, 1, 2, &done), FLOE_EINVAL);
	size_t offs[2] = {0, 4};
	assert_int_equal(index_lookup_many(mx, k, offs, 1, &loc), FLOE_EINVAL);
	assert_int_equal(index_multi_add(ux, k, 4, 1), FLOE_EINVAL);
	assert_int_equal(index_multi_take(ux, k, 4, &loc), FLOE_EINVAL);
	assert_true(loc == INDEX_LOC_NONE);
	assert_int_equal(index_multi_count(ux, k, 4, &n), FLOE_EINVAL);
	assert_int_equal(index_multi_add(mx, k, 4, INDEX_LOC_NONE), FLOE_EINVAL);
	assert_int_equal(index_multi_add(mx, k, INDEX_KEY_MAX + 1, 1), FLOE_EINVAL);
	assert_int_equal(index_count(mx), 0);
	/* copies are a stack; the empty key is a key */
	assert_int_equal(index_multi_take(mx, k, 4, &loc), 0);
	assert_true(loc == INDEX_LOC_NONE);
	for (uint64_t i = 0; i < 5; i++)
		assert_int_equal(index_multi_add(mx, k, 4, i == 2 ? index_loc_mem(i) : i), 0);
	assert_int_equal(index_multi_add(mx, k, 0, 99), 0);
	assert_int_equal(index_multi_add(mx, k, 3, 98), 0); /* a prefix of k */
	assert_int_equal(index_multi_count(mx, k, 4, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(index_multi_count(mx, k, 0, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(index_count(mx), 7);
	assert_int_equal(index_mem_count(mx), 1);
	for (uint64_t i = 5; i-- > 0;) {
		assert_int_equal(index_multi_take(mx, k, 4, &loc), 0);
		assert_true(loc == (i == 2 ? index_loc_mem(i) : i));
	}
	assert_int_equal(index_multi_take(mx, k, 4, &loc), 0);
	assert_true(loc == INDEX_LOC_NONE);
	assert_int_equal(index_count(mx), 2);
	assert_int_equal(index_mem_count(mx), 0);
	/* a failed add changes nothing */
	index_test_fail_adds(mx, 0);
	assert_int_equal(index_multi_add(mx, k, 4, 1), FLOE_ENOMEM);
	index_test_fail_adds(mx, SIZE_MAX);
	assert_int_equal(index_count(mx), 2);
	index_free(mx);
	index_free(ux);
}

/* The full-row universe: K distinct rows of (s string, n int64, f float64,
 * t binary), nulls included. Row j has f = j, or (every third row) f null
 * and n = j, so rows are distinct. */
static floe_column c_row[] = {
    {.name = "s", .type = FT_STRING, .nullable = 1},
    {.name = "n", .type = FT_INT64, .nullable = 1},
    {.name = "f", .type = FT_FLOAT64, .nullable = 1},
    {.name = "t", .type = FT_BINARY, .nullable = 1},
};
static const floe_schema s_row = {4, c_row};

typedef struct rowset {
	index_keydesc kd;
	batch rows;
	size_t k;
	buf *key; /* encoded, per row */
} rowset;

static void rowset_init(rowset *rs, size_t k)
{
	char err[ERR_LEN], str[400];
	memset(rs, 0, sizeof *rs);
	rs->k = k;
	assert_int_equal(index_keydesc_init_fullrow(&rs->kd, &s_row, err), 0);
	assert_int_equal(batch_init(&rs->rows, &s_row), 0);
	rs->key = calloc(k, sizeof *rs->key);
	assert_non_null(rs->key);
	for (size_t j = 0; j < k; j++) {
		batch *b = &rs->rows;
		batch_row_begin(b);
		if (j % 7 == 0)
			batch_set_null(b, 0);
		else
			batch_set_bytes(b, 0, str, key_string(j % 50, str));
		if (j % 3 == 0)
			batch_set_null(b, 1);
		else
			batch_set_i64(b, 1, j % 3 == 1 ? (int64_t)j : 5);
		if (j % 3 == 1)
			batch_set_null(b, 2);
		else
			batch_set_f64(b, 2, j == 0 ? -0.0 : (double)j);
		if (j % 5 == 0)
			batch_set_null(b, 3);
		else
			batch_set_bytes(b, 3, str, key_string(j % 13, str));
		batch_row_commit(b);
		assert_int_equal(batch_check(b), 0);
		assert_int_equal(index_key_encode(&rs->kd, b, j, &rs->key[j], err), 0);
	}
	for (size_t i = 0; i < k; i++) /* distinct rows, distinct keys */
		for (size_t j = i + 1; j < k; j++)
			assert_false(buf_eq(&rs->key[i], &rs->key[j]));
}

static void rowset_clear(rowset *rs)
{
	for (size_t j = 0; j < rs->k; j++)
		buf_release(&rs->key[j]);
	free(rs->key);
	batch_clear(&rs->rows);
}

#define RKEY(rs, j) (rs)->key[j].data, (rs)->key[j].len

/* The multimap model: per key, the stack of its copies' locations. */
typedef struct mstack {
	uint64_t *loc;
	size_t n, cap;
} mstack;

typedef struct mbatch {
	batch rows;
	uint64_t first_ord;
} mbatch;

typedef struct mmodel {
	rowset *rs;
	index_map *ix;
	mstack *st;
	size_t total, mem;
	uint64_t next_ord;
	size_t *ord_key; /* by ordinal */
	uint8_t *ord_live;
	size_t ord_cap;
	mbatch mb[8];
	size_t nmb;
	uint32_t next_file;
	uint64_t direct_pos; /* file locations added directly */
	int open;            /* mb[nmb - 1] takes the next memory row */
} mmodel;

static void mpush(mstack *s, uint64_t loc)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 4;
		s->loc = realloc(s->loc, s->cap * sizeof *s->loc);
		assert_non_null(s->loc);
	}
	s->loc[s->n++] = loc;
}

static void mmodel_check(mmodel *m)
{
	for (size_t j = 0; j < m->rs->k; j++) {
		size_t n;
		assert_int_equal(index_multi_count(m->ix, RKEY(m->rs, j), &n), 0);
		assert_int_equal(n, m->st[j].n);
	}
	assert_int_equal(index_count(m->ix), m->total);
	assert_int_equal(index_mem_count(m->ix), m->mem);
}

static void mmodel_take(mmodel *m, size_t j)
{
	uint64_t loc;
	assert_int_equal(index_multi_take(m->ix, RKEY(m->rs, j), &loc), 0);
	mstack *s = &m->st[j];
	if (s->n == 0) {
		assert_true(loc == INDEX_LOC_NONE);
		return;
	}
	assert_true(loc == s->loc[--s->n]);
	m->total--;
	if (index_loc_is_mem(loc)) {
		m->ord_live[index_loc_mem_ordinal(loc)] = 0;
		m->mem--;
	}
}

/* Flushes memory batch i (the oldest, or another one): live rows get
 * consecutive positions, dead ones none or (sometimes) one, which must
 * change nothing since no copy is at their location any more. */
static void mmodel_flush(mmodel *m, size_t i)
{
	char err[ERR_LEN];
	mbatch *b = &m->mb[i];
	size_t n = b->rows.nrows, live = 0;
	uint64_t *pos = malloc((n ? n : 1) * sizeof *pos);
	assert_non_null(pos);
	uint32_t fid = m->next_file++ % INDEX_FILE_ID_MAX;
	for (size_t r = 0; r < n; r++) {
		if (m->ord_live[b->first_ord + r])
			pos[r] = live++;
		else
			pos[r] = rnd_below(3) == 0 ? 1000 + r : INDEX_POS_NONE;
	}
	size_t remapped;
	assert_int_equal(
	    index_remap_memory(m->ix, &b->rows, b->first_ord, pos, fid, &remapped, err), 0);
	assert_int_equal(remapped, live);
	for (size_t r = 0; r < n; r++) {
		uint64_t ord = b->first_ord + r;
		if (!m->ord_live[ord])
			continue;
		mstack *s = &m->st[m->ord_key[ord]];
		size_t at = 0;
		while (s->loc[at] != index_loc_mem(ord))
			at++;
		s->loc[at] = index_loc_file(fid, pos[r]);
		m->ord_live[ord] = 0;
		m->mem--;
	}
	free(pos);
	batch_clear(&b->rows);
	memmove(&m->mb[i], &m->mb[i + 1], (m->nmb - i - 1) * sizeof *m->mb);
	m->nmb--;
	m->open = 0;
}

static void mmodel_add(mmodel *m, size_t j)
{
	uint64_t loc;
	if (rnd_below(10) == 0) { /* a file row (as a load would add) */
		loc = index_loc_file(INDEX_FILE_ID_MAX, m->direct_pos++);
	} else {
		/* rows join the newest batch while it is the last one made */
		if (!m->open || rnd_below(100) == 0) {
			if (m->nmb == 8)
				mmodel_flush(m, 0);
			mbatch *b = &m->mb[m->nmb++];
			assert_int_equal(batch_init(&b->rows, &s_row), 0);
			b->first_ord = m->next_ord;
			m->open = 1;
		}
		if (m->next_ord == m->ord_cap) {
			m->ord_cap = m->ord_cap ? 2 * m->ord_cap : 1024;
			m->ord_key = realloc(m->ord_key, m->ord_cap * sizeof *m->ord_key);
			m->ord_live = realloc(m->ord_live, m->ord_cap);
			assert_true(m->ord_key && m->ord_live);
		}
		copy_row(&m->mb[m->nmb - 1].rows, &m->rs->rows, j);
		m->ord_key[m->next_ord] = j;
		m->ord_live[m->next_ord] = 1;
		loc = index_loc_mem(m->next_ord++);
		m->mem++;
	}
	assert_int_equal(index_multi_add(m->ix, RKEY(m->rs, j), loc), 0);
	mpush(&m->st[j], loc);
	m->total++;
}

static void multi_model_run(size_t k, size_t nops, unsigned hash_bits)
{
	rowset rs;
	rowset_init(&rs, k);
	mmodel m = {.rs = &rs};
	assert_int_equal(index_new(&rs.kd, &m.ix), 0);
	if (hash_bits)
		assert_int_equal(index_test_hash_bits(m.ix, hash_bits), 0);
	m.st = calloc(k, sizeof *m.st);
	assert_non_null(m.st);
	size_t max_copies = 0;
	for (size_t op = 0; op < nops; op++) {
		/* a quarter of the operations go to three hot keys */
		size_t j = rnd_below(4) == 0 ? rnd_below(3) : rnd_below(k);
		size_t r = rnd_below(100);
		if (r < 55) {
			mmodel_add(&m, j);
		} else if (r < 95) {
			mmodel_take(&m, j);
		} else if (r < 99) {
			size_t n;
			assert_int_equal(index_multi_count(m.ix, RKEY(&rs, j), &n), 0);
			assert_int_equal(n, m.st[j].n);
		} else if (m.nmb > 0 && (rnd_below(4) == 0 || m.nmb >= 7)) {
			mmodel_flush(&m, rnd_below(5) == 0 ? rnd_below(m.nmb) : 0);
		}
		if (m.st[j].n > max_copies)
			max_copies = m.st[j].n;
		if (rnd_below(50000) == 0)
			assert_int_equal(index_compact(m.ix), 0);
		if (op % 10000 == 0)
			mmodel_check(&m);
	}
	while (m.nmb)
		mmodel_flush(&m, 0);
	mmodel_check(&m);
	assert_true(max_copies > nops / 200); /* thousands in the big run */
	/* drain: every copy comes back, newest first, then none */
	for (size_t j = 0; j < k; j++) {
		while (m.st[j].n)
			mmodel_take(&m, j);
		mmodel_take(&m, j);
		free(m.st[j].loc);
	}
	assert_int_equal(index_count(m.ix), 0);
	assert_int_equal(index_mem_count(m.ix), 0);
	free(m.st);
	free(m.ord_key);
	free(m.ord_live);
	index_free(m.ix);
	rowset_clear(&rs);
}

static void test_multi_model(void **state)
{
	(void)state;
	multi_model_run(300, 300000, 0);
}

static void test_multi_model_collisions(void **state)
{
	(void)state;
	multi_model_run(100, 60000, 6);
}

/* Remap with repeated rows in one batch, copies of the same row in files,
 * and memory copies out of ordinal order (the walk, not the bisection). */
static void test_multi_remap(void **state)
{
	(void)state;
	char err[ERR_LEN];
	rowset rs;
	rowset_init(&rs, 4);
	index_map *ix;
	assert_int_equal(index_new(&rs.kd, &ix), 0);
	/* key 0: file (1,5), mem 100, mem 102; key 1: mem 101, mem 103 */
	assert_int_equal(index_multi_add(ix, RKEY(&rs, 0), index_loc_file(1, 5)), 0);
	batch mem;
	assert_int_equal(batch_init(&mem, &s_row), 0);
	static const size_t keys[] = {0, 1, 0, 1, 2};
	for (size_t r = 0; r < 5; r++) {
		copy_row(&mem, &rs.rows, keys[r]);
		assert_int_equal(index_multi_add(ix, RKEY(&rs, keys[r]), index_loc_mem(100 + r)),
		                 0);
	}
	uint64_t loc;
	/* key 2's row 104 is deleted in memory but the writer passes a position */
	assert_int_equal(index_multi_take(ix, RKEY(&rs, 2), &loc), 0);
	assert_true(loc == index_loc_mem(104));
	uint64_t pos[5] = {0, 1, 2, 3, 4};
	size_t remapped;
	assert_int_equal(index_remap_memory(ix, &mem, 100, pos, 9, &remapped, err), 0);
	assert_int_equal(remapped, 4);
	assert_int_equal(index_mem_count(ix), 0);
	static const uint64_t want0[] = {2, 0};
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(index_multi_take(ix, RKEY(&rs, 0), &loc), 0);
		assert_true(loc == index_loc_file(9, want0[i]));
	}
	assert_int_equal(index_multi_take(ix, RKEY(&rs, 0), &loc), 0);
	assert_true(loc == index_loc_file(1, 5));
	assert_int_equal(index_multi_take(ix, RKEY(&rs, 1), &loc), 0);
	assert_true(loc == index_loc_file(9, 3));
	assert_int_equal(index_multi_take(ix, RKEY(&rs, 1), &loc), 0);
	assert_true(loc == index_loc_file(9, 1));
	assert_int_equal(index_count(ix), 0);
	/* out of order: copies of key 3 at mem 7, file, mem 3, mem 5; remap
	 * ordinals 3..7 (a batch of five rows of key 3) */
	batch b3;
	assert_int_equal(batch_init(&b3, &s_row), 0);
	for (size_t r = 0; r < 5; r++)
		copy_row(&b3, &rs.rows, 3);
	uint64_t order[] = {index_loc_mem(7), index_loc_file(2, 0), index_loc_mem(3),
	                    index_loc_mem(5)};
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(index_multi_add(ix, RKEY(&rs, 3), order[i]), 0);
	uint64_t pos3[5] = {10, 11, 12, 13, 14};
	assert_int_equal(index_remap_memory(ix, &b3, 3, pos3, 4, &remapped, err), 0);
	assert_int_equal(remapped, 3);
	uint64_t want3[] = {index_loc_file(4, 12), index_loc_file(4, 10), index_loc_file(2, 0),
	                    index_loc_file(4, 14)};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(index_multi_take(ix, RKEY(&rs, 3), &loc), 0);
		assert_true(loc == want3[i]);
	}
	batch_clear(&b3);
	batch_clear(&mem);
	index_free(ix);
	rowset_clear(&rs);
}

static int every_5th(void *arg, uint64_t pos)
{
	(void)arg;
	return pos % 5 == 2;
}

/* A .fidx of 2000 positions over 37 rows: row p*p % 37 at position p. */
#define FX_POS  2000
#define FX_ROWS 37
static size_t fx_row(uint64_t p)
{
	return (size_t)(p * p % FX_ROWS);
}

static void test_multi_fidx(void **state)
{
	(void)state;
	char err[ERR_LEN], path[4096];
	rowset rs;
	rowset_init(&rs, FX_ROWS);
	index_fidx w;
	index_fidx_begin(&w, &rs.kd);
	for (uint64_t p = 0; p < FX_POS; p++) {
		if (p % 2)
			assert_int_equal(index_fidx_add_row(&w, &rs.rows, fx_row(p), err), 0);
		else
			assert_int_equal(index_fidx_add(&w, RKEY(&rs, fx_row(p))), 0);
	}
	path_for(path, "multi.fidx");
	assert_int_equal(index_fidx_commit(&w, path, err), 0);
	index_map *ix;
	assert_int_equal(index_new(&rs.kd, &ix), 0);
	/* copies already there stay below the loaded ones */
	assert_int_equal(index_multi_add(ix, RKEY(&rs, 1), index_loc_mem(0)), 0);
	uint64_t rows;
	assert_int_equal(index_load_file(ix, path, 7, every_5th, NULL, &rows, err), 0);
	assert_int_equal(rows, FX_POS);
	assert_int_equal(index_load_file(ix, path, 8, NULL, NULL, &rows, err), 0);
	size_t live = 0;
	for (uint64_t p = 0; p < FX_POS; p++)
		live += !every_5th(NULL, p);
	assert_int_equal(index_count(ix), 1 + live + FX_POS);
	/* all or nothing: a load that fails part way leaves every key as it was */
	for (size_t after = 0; after < 1500; after += 499) {
		index_test_fail_adds(ix, after);
		assert_int_equal(index_load_file(ix, path, 9, every_5th, NULL, &rows, err),
		                 FLOE_ENOMEM);
		index_test_fail_adds(ix, SIZE_MAX);
		assert_int_equal(index_count(ix), 1 + live + FX_POS);
		assert_int_equal(index_mem_count(ix), 1);
	}
	/* per row: file 8's positions newest first, then file 7's live ones,
	 * then the memory copy of row 1 */
	for (size_t j = 0; j < FX_ROWS; j++) {
		size_t n, want = j == 1;
		for (uint64_t p = 0; p < FX_POS; p++)
			want += (fx_row(p) == j) + (fx_row(p) == j && !every_5th(NULL, p));
		assert_int_equal(index_multi_count(ix, RKEY(&rs, j), &n), 0);
		assert_int_equal(n, want);
		uint64_t loc;
		for (uint32_t f = 8; f >= 7; f--)
			for (uint64_t p = FX_POS; p-- > 0;) {
				if (fx_row(p) != j || (f == 7 && every_5th(NULL, p)))
					continue;
				assert_int_equal(index_multi_take(ix, RKEY(&rs, j), &loc), 0);
				assert_true(loc == index_loc_file(f, p));
			}
		if (j == 1) {
			assert_int_equal(index_multi_take(ix, RKEY(&rs, j), &loc), 0);
			assert_true(loc == index_loc_mem(0));
		}
		assert_int_equal(index_multi_take(ix, RKEY(&rs, j), &loc), 0);
		assert_true(loc == INDEX_LOC_NONE);
	}
	assert_int_equal(index_count(ix), 0);
	/* a multi list into a unique index and a unique list into a multi
	 * index are refused */
	universe u;
	universe_init(&u, &s_str, key_0, 1, 10);
	index_map *ux;
	assert_int_equal(index_new(&u.kd, &ux), 0);
	assert_int_equal(index_load_file(ux, path, 1, NULL, NULL, &rows, err), FLOE_EINVAL);
	char upath[4096];
	path_for(upath, "unique.fidx");
	write_fidx(&u, 10, upath);
	index_keydesc skd;
	assert_int_equal(index_keydesc_init_fullrow(&skd, &s_str, err), 0);
	index_map *sx;
	assert_int_equal(index_new(&skd, &sx), 0);
	assert_int_equal(index_load_file(sx, upath, 1, NULL, NULL, &rows, err), FLOE_EINVAL);
	assert_non_null(strstr(err, "differ"));
	assert_int_equal(index_count(sx), 0);
	index_free(sx);
	index_free(ux);
	universe_clear(&u);
	/* damage to a small multi list: every truncation, every flipped bit,
	 * a width behind a valid CRC */
	index_fidx_begin(&w, &rs.kd);
	for (uint64_t p = 0; p < 6; p++)
		assert_int_equal(index_fidx_add(&w, RKEY(&rs, p % 3)), 0);
	path_for(path, "small.fidx");
	assert_int_equal(index_fidx_commit(&w, path, err), 0);
	size_t len;
	uint8_t *orig = read_file(path, &len), *p = malloc(len);
	assert_non_null(p);
	assert_int_equal(orig[7], 1);
	for (size_t n = 0; n < len; n++) {
		uint8_t *t = malloc(n ? n : 1);
		assert_non_null(t);
		memcpy(t, orig, n);
		expect_corrupt(ix, t, n);
		free(t);
	}
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(p, orig, len);
			p[i] ^= (uint8_t)(1u << bit);
			expect_corrupt(ix, p, len);
		}
	memcpy(p, orig, len);
	p[8 + 4] = 8; /* key width of a fixed key */
	recrc(p, len);
	expect_corrupt(ix, p, len);
	assert_int_equal(index_load_bytes(ix, orig, len, "t.fidx", 5, NULL, NULL, &rows, err), 0);
	assert_int_equal(index_count(ix), 6);
	free(p);
	free(orig);
	index_free(ix);
	rowset_clear(&rs);
}

/* Full-row keys of rows with list columns: equal lists encode equal (also
 * from another batch), a null list, an empty list, a null element and every
 * other difference encode differently; a list cannot be a primary key; key
 * lists (.fidx) with list classes load back. */
static void test_fullrow_lists(void **state)
{
	(void)state;
	enum { A, L, M, D, NC };
	floe_column cols[NC] = {
	    {.name = "a", .type = FT_INT64, .nullable = 1},
	    {.name = "l", .type = FT_LIST, .elem_type = FT_STRING, .nullable = 1},
	    {.name = "m", .type = FT_LIST, .elem_type = FT_INT32, .nullable = 1},
	    {.name = "d",
	     .type = FT_LIST,
	     .elem_type = FT_DECIMAL,
	     .elem_precision = 30,
	     .elem_scale = 2,
	     .nullable = 1},
	};
	floe_schema sch = {NC, cols};
	char err[ERR_LEN];
	index_keydesc kd;
	assert_int_equal(index_keydesc_init(&kd, &sch, (int[]){L}, 1, err), FLOE_EINVAL);
	assert_non_null(strstr(err, "column 'l': a list column cannot be part of a primary key"));
	assert_int_equal(index_keydesc_init_fullrow(&kd, &sch, err), 0);
	assert_int_equal(kd.cls[L], 0x40 | 9); /* list of strings */
	assert_int_equal(kd.vwidth[M], 4);
	assert_int_equal(kd.vwidth[D], 13);
	/* Rows: strings of list l ("" marks a null element, "-" an empty
	 * string, "NUL" the 3 bytes a\0b), then m's ints; nl / nm -1 is a
	 * null list. Every row differs from the others but row 13 (= 7). */
	static const struct {
		const char *l[3];
		int nl;
		int m[2];
		int nm; /* -1: null list */
	} rows[] = {
	    {{NULL}, -1, {0}, -1},       /* 0: null, null */
	    {{NULL}, 0, {0}, -1},        /* 1: [], null */
	    {{NULL}, -1, {0}, 0},        /* 2: null, [] */
	    {{NULL}, 0, {0}, 0},         /* 3: [], [] */
	    {{""}, 1, {0}, 0},           /* 4: [null], [] */
	    {{"-"}, 1, {0}, 0},          /* 5: [""], [] */
	    {{"ab"}, 1, {0}, 0},         /* 6: ["ab"], [] */
	    {{"a", "b"}, 2, {0}, 0},     /* 7: ["a","b"], [] */
	    {{"NUL"}, 1, {0}, 0},        /* 8: ["a\0b"], [] */
	    {{"a", "b"}, 2, {1}, 1},     /* 9: ["a","b"], [1] */
	    {{"a", "b"}, 2, {1, 0}, 2},  /* 10 */
	    {{"a", "b", ""}, 3, {1}, 1}, /* 11 */
	    {{"a", "b"}, 2, {256}, 1},   /* 12 */
	    {{"a", "b"}, 2, {0}, 0},     /* 13: = 7 */
	};
	enum { NROWS = sizeof rows / sizeof rows[0] };
	batch b[2];
	for (int k = 0; k < 2; k++) {
		assert_int_equal(batch_init(&b[k], &sch), 0);
		if (k == 1) /* shift the element offsets of the second batch */
			for (int pad = 0; pad < 3; pad++) {
				batch_row_begin(&b[1]);
				batch_set_null(&b[1], A);
				for (int c = L; c < NC; c++) {
					batch_list_begin(&b[1], c);
					batch_list_elem_null(&b[1], c);
					batch_list_end(&b[1], c);
				}
				batch_row_commit(&b[1]);
			}
		for (size_t r = 0; r < NROWS; r++) {
			batch_row_begin(&b[k]);
			batch_set_i64(&b[k], A, 7);
			if (rows[r].nl < 0) {
				batch_set_null(&b[k], L);
			} else {
				batch_list_begin(&b[k], L);
				for (int e = 0; e < rows[r].nl; e++) {
					const char *x = rows[r].l[e];
					if (!*x)
						batch_list_elem_null(&b[k], L);
					else if (!strcmp(x, "-"))
						batch_list_elem_bytes(&b[k], L, "", 0);
					else if (!strcmp(x, "NUL"))
						batch_list_elem_bytes(&b[k], L, "a\0b", 3);
					else
						batch_list_elem_bytes(&b[k], L, x, strlen(x));
				}
				batch_list_end(&b[k], L);
			}
			if (rows[r].nm < 0) {
				batch_set_null(&b[k], M);
			} else {
				batch_list_begin(&b[k], M);
				for (int e = 0; e < rows[r].nm; e++)
					batch_list_elem_fixed(&b[k], M, &(int32_t){rows[r].m[e]});
				batch_list_end(&b[k], M);
			}
			batch_list_begin(&b[k], D);
			batch_list_elem_decimal(&b[k], D, -5);
			batch_list_end(&b[k], D);
			batch_row_commit(&b[k]);
		}
		assert_int_equal(batch_check(&b[k]), 0);
	}
	buf x = {0}, y = {0};
	for (size_t i = 0; i < NROWS; i++) {
		assert_int_equal(index_key_encode(&kd, &b[0], i, &x, err), 0);
		assert_int_equal(index_key_encode(&kd, &b[1], i + 3, &y, err), 0);
		assert_true(buf_eq(&x, &y)); /* the same lists from another batch */
		for (size_t j = 0; j < NROWS; j++) {
			assert_int_equal(index_key_encode(&kd, &b[0], j, &y, err), 0);
			int same = i == j || (i == 7 && j == 13) || (i == 13 && j == 7);
			if (buf_eq(&x, &y) != same)
				fail_msg("rows %zu and %zu: equal keys %d", i, j, !same);
		}
	}
	/* A key list with list classes loads back into a multi index. */
	index_fidx w;
	index_fidx_begin(&w, &kd);
	for (size_t r = 0; r < NROWS; r++)
		assert_int_equal(index_fidx_add_row(&w, &b[0], r, err), 0);
	char path[4096];
	path_for(path, "lists.fidx");
	assert_int_equal(index_fidx_commit(&w, path, err), 0);
	index_map *ix;
	assert_int_equal(index_new(&kd, &ix), 0);
	uint64_t nrows;
	assert_int_equal(index_load_file(ix, path, 3, NULL, NULL, &nrows, err), 0);
	assert_int_equal(nrows, NROWS);
	size_t n;
	assert_int_equal(index_key_encode(&kd, &b[1], 3 + 7, &x, err), 0);
	assert_int_equal(index_multi_count(ix, x.data, x.len, &n), 0);
	assert_int_equal(n, 2); /* rows 7 and 13 */
	index_free(ix);
	/* A list class only in a full-row key. */
	index_keydesc bad = kd;
	bad.multi = 0;
	assert_int_equal(index_new(&bad, &ix), FLOE_EINVAL);
	/* A list whose encoding passes INDEX_KEY_MAX. */
	batch_reset(&b[0]);
	batch_row_begin(&b[0]);
	batch_set_null(&b[0], A);
	batch_set_null(&b[0], L);
	batch_list_begin(&b[0], M);
	for (int e = 0; e < INDEX_KEY_MAX / 9 + 1; e++)
		batch_list_elem_fixed(&b[0], M, &(int32_t){e});
	batch_list_end(&b[0], M);
	batch_set_null(&b[0], D);
	batch_row_commit(&b[0]);
	assert_int_equal(index_key_encode(&kd, &b[0], 0, &x, err), FLOE_ETOOBIG);
	buf_release(&x);
	buf_release(&y);
	batch_clear(&b[0]);
	batch_clear(&b[1]);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return fs_remove_tree(tmpdir, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_order),
	    cmocka_unit_test(test_encode_promotion_and_widths),
	    cmocka_unit_test(test_keydesc_errors),
	    cmocka_unit_test(test_model_int64),
	    cmocka_unit_test(test_model_string),
	    cmocka_unit_test(test_model_composite),
	    cmocka_unit_test(test_model_uuid),
	    cmocka_unit_test(test_model_decimal),
	    cmocka_unit_test(test_model_collisions),
	    cmocka_unit_test(test_put_many_large),
	    cmocka_unit_test(test_keys_append),
	    cmocka_unit_test(test_growth_int64),
	    cmocka_unit_test(test_arena_compaction),
	    cmocka_unit_test(test_remap_memory),
	    cmocka_unit_test(test_fidx_round_trip),
	    cmocka_unit_test(test_fidx_all_or_nothing),
	    cmocka_unit_test(test_fidx_corruption),
	    cmocka_unit_test(test_fullrow_encode),
	    cmocka_unit_test(test_multi_api),
	    cmocka_unit_test(test_multi_model),
	    cmocka_unit_test(test_multi_model_collisions),
	    cmocka_unit_test(test_multi_remap),
	    cmocka_unit_test(test_multi_fidx),
	    cmocka_unit_test(test_fullrow_lists),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
