/*
 * test_dv — deletion vectors: the position set and its deletion-vector-v1 blob.
 *
 * The spec's worked example byte for byte; positions across 32-bit key
 * boundaries and at the largest allowed position; which Roaring container
 * each shape of data gets (array <= 4096 values, bitset above, run where
 * smaller), read from the bytes by a small decoder in this file; union
 * semantics; and hostile input: every truncation and every bit flip of a
 * blob, hand-built vectors (with a valid CRC) breaking each structural rule,
 * and random mutations — each must be FLOE_ECORRUPT or a valid set, never a
 * crash (run under ASan + UBSan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/dv.h"

/* ---- helpers ------------------------------------------------------------ */

static void t_hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * n] = '\0';
}

/* Appends the bytes of a hex string; spaces are ignored. */
static void t_unhex(buf *b, const char *hex)
{
	for (const char *s = hex; *s;) {
		if (*s == ' ') {
			s++;
			continue;
		}
		unsigned v;
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		buf_put_u8(b, (uint8_t)v);
		s += 2;
	}
	assert_true(buf_ok(b));
}

/* Wraps vector bytes into a blob with a correct length and CRC, computed
 * here with zlib rather than by dv.c. */
static void t_wrap(buf *blob, const uint8_t *vec, size_t n)
{
	uint8_t t[4];
	buf_reset(blob);
	put_be32(t, (uint32_t)(n + 4));
	buf_append(blob, t, 4);
	buf_append(blob, DV_MAGIC, 4);
	buf_append(blob, vec, n);
	uLong crc = crc32(0L, blob->data + 4, (uInt)(n + 4));
	put_be32(t, (uint32_t)crc);
	buf_append(blob, t, 4);
	assert_true(buf_ok(blob));
}

static dv *t_dv(const uint64_t *pos, size_t n)
{
	dv *d;
	assert_int_equal(dv_new(&d), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(dv_add(d, pos[i]), 0);
	return d;
}

static dv *t_dv_range(uint64_t first, uint64_t count, uint64_t step)
{
	dv *d;
	assert_int_equal(dv_new(&d), 0);
	for (uint64_t i = 0; i < count; i++)
		assert_int_equal(dv_add(d, first + i * step), 0);
	return d;
}

struct t_list {
	uint64_t *v;
	size_t n, cap;
};

static int t_collect_one(void *arg, uint64_t pos)
{
	struct t_list *l = arg;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		assert_non_null(l->v);
	}
	l->v[l->n++] = pos;
	return 0;
}

static struct t_list t_collect(const dv *d)
{
	struct t_list l = {0};
	assert_int_equal(dv_iterate(d, t_collect_one, &l), 0);
	return l;
}

/* a and b hold the same positions (compared by iteration). */
static void t_assert_same(const dv *a, const dv *b)
{
	struct t_list la = t_collect(a), lb = t_collect(b);
	assert_int_equal(la.n, lb.n);
	assert_int_equal(la.n, dv_cardinality(a));
	if (la.n)
		assert_memory_equal(la.v, lb.v, la.n * sizeof *la.v);
	free(la.v);
	free(lb.v);
}

static void t_serialize(const dv *d, buf *out)
{
	buf_reset(out);
	assert_int_equal(dv_serialize_blob(d, out), 0);
}

/* Serializes d, parses it back, and checks the round trip. */
static void t_roundtrip(const dv *d, buf *blob)
{
	char err[ERR_LEN] = "";
	dv *back;
	t_serialize(d, blob);
	assert_int_equal(dv_parse_blob(blob->data, blob->len, &back, err), 0);
	t_assert_same(d, back);
	dv_free(back);
}

/*
 * An independent look at the portable bitmap of the bitmap-th 32-bit bitmap
 * of a blob: writes one letter per container (A array, B bitset, R run) into
 * types, and says whether the offset header is present. Reads only what it
 * needs (containers are skipped by their sizes).
 */
static void t_container_types(const buf *blob, size_t bitmap, char *types, int *has_offsets)
{
	const uint8_t *p = blob->data + 8;
	size_t pos = 8; /* past the bitmap count */
	for (size_t m = 0;; m++) {
		pos += 4; /* key */
		const uint8_t *r = p + pos;
		uint32_t cookie = get_le32(r), count;
		const uint8_t *runflags = NULL;
		size_t hdr;
		if ((cookie & 0xFFFF) == 12347) {
			count = (cookie >> 16) + 1;
			runflags = r + 4;
			hdr = 4 + (count + 7) / 8;
		} else {
			assert_int_equal(cookie, 12346);
			count = get_le32(r + 4);
			hdr = 8;
		}
		const uint8_t *kc = r + hdr;
		*has_offsets = !runflags || count >= 4;
		size_t at = hdr + 4 * count + (*has_offsets ? 4 * count : 0);
		for (uint32_t c = 0; c < count; c++) {
			uint32_t card = (uint32_t)get_le16(kc + 4 * c + 2) + 1;
			char t;
			if (runflags && (runflags[c / 8] >> (c % 8)) & 1) {
				t = 'R';
				at += 2 + 4 * (size_t)get_le16(r + at);
			} else if (card > 4096) {
				t = 'B';
				at += 8192;
			} else {
				t = 'A';
				at += 2 * (size_t)card;
			}
			if (m == bitmap)
				types[c] = t;
		}
		if (m == bitmap) {
			types[count] = '\0';
			return;
		}
		pos += at;
	}
}

static void t_expect_types(const dv *d, size_t bitmap, const char *want, int want_offsets)
{
	buf blob = {0};
	char types[64];
	int offsets;
	t_roundtrip(d, &blob);
	t_container_types(&blob, bitmap, types, &offsets);
	assert_string_equal(types, want);
	assert_int_equal(offsets, want_offsets);
	buf_release(&blob);
}

/* ---- the worked example and basic set behaviour ---------------------------- */

static void test_worked_example(void **state)
{
	(void)state;
	const uint64_t pos[] = {1, 3, 5};
	dv *d = t_dv(pos, 3);
	buf blob = {0};
	char hex[256];
	t_serialize(d, &blob);
	t_hex(blob.data, blob.len, hex);
	assert_string_equal(hex, "00000026"
	                         "d1d33964"
	                         "0100000000000000"
	                         "00000000"
	                         "3a300000"
	                         "01000000"
	                         "0000"
	                         "0200"
	                         "10000000"
	                         "0100"
	                         "0300"
	                         "0500"
	                         "5a9e5d39");
	assert_int_equal(blob.len, 46);

	/* The spec's bytes, independently typed, parse to {1,3,5}. */
	buf spec = {0};
	t_unhex(&spec, "00000026 d1d33964 0100000000000000 00000000 3a300000 01000000 0000 0200 "
	               "10000000 0100 0300 0500 5a9e5d39");
	dv *back;
	char err[ERR_LEN] = "";
	assert_int_equal(dv_parse_blob(spec.data, spec.len, &back, err), 0);
	t_assert_same(d, back);
	assert_int_equal(dv_cardinality(back), 3);
	assert_true(dv_contains(back, 3));
	assert_false(dv_contains(back, 2));
	dv_free(back);
	dv_free(d);
	buf_release(&blob);
	buf_release(&spec);
}

static void test_empty(void **state)
{
	(void)state;
	dv *d;
	assert_int_equal(dv_new(&d), 0);
	assert_int_equal(dv_cardinality(d), 0);
	assert_false(dv_contains(d, 0));
	buf blob = {0}, want = {0};
	t_serialize(d, &blob);
	const uint8_t zero[8] = {0};
	t_wrap(&want, zero, sizeof zero);
	assert_int_equal(blob.len, 20);
	assert_memory_equal(blob.data, want.data, want.len);
	t_roundtrip(d, &blob);
	dv_free(d);
	dv_free(NULL);
	buf_release(&blob);
	buf_release(&want);
}

static void test_key_boundaries(void **state)
{
	(void)state;
	const uint64_t k = UINT64_C(1) << 32;
	const uint64_t pos[] = {3 * k, 5, k + 7, k - 1, k, 5};
	dv *d = t_dv(pos, 6);
	assert_int_equal(dv_cardinality(d), 5);
	for (size_t i = 0; i < 6; i++)
		assert_true(dv_contains(d, pos[i]));
	assert_false(dv_contains(d, 6));
	assert_false(dv_contains(d, k + 6));
	assert_false(dv_contains(d, 2 * k + 7));
	assert_false(dv_contains(d, 4 * k));

	struct t_list l = t_collect(d);
	const uint64_t sorted[] = {5, k - 1, k, k + 7, 3 * k};
	assert_int_equal(l.n, 5);
	assert_memory_equal(l.v, sorted, sizeof sorted);
	free(l.v);

	/* Three 32-bit bitmaps, keys 0, 1, 3 (no empty bitmap for key 2). */
	buf blob = {0};
	t_roundtrip(d, &blob);
	assert_int_equal(get_le64(blob.data + 8), 3);
	assert_int_equal(get_le32(blob.data + 16), 0);
	dv_free(d);
	buf_release(&blob);
}

static void test_position_limits(void **state)
{
	(void)state;
	dv *d;
	assert_int_equal(dv_new(&d), 0);
	assert_int_equal(dv_add(d, DV_MAX_POSITION + 1), FLOE_EINVAL);
	assert_int_equal(dv_add(d, UINT64_MAX), FLOE_EINVAL);
	assert_int_equal(dv_cardinality(d), 0);
	assert_int_equal(dv_add(d, DV_MAX_POSITION), 0);
	assert_int_equal(dv_add(d, 0), 0);
	assert_true(dv_contains(d, DV_MAX_POSITION));
	assert_false(dv_contains(d, UINT64_MAX));
	assert_false(dv_contains(d, DV_MAX_POSITION + 1));
	buf blob = {0};
	t_roundtrip(d, &blob);
	dv_free(d);
	buf_release(&blob);
}

struct t_stop {
	int seen;
	uint64_t last;
};

static int t_stop_at_third(void *arg, uint64_t pos)
{
	struct t_stop *s = arg;
	s->last = pos;
	return ++s->seen == 3 ? 42 : 0;
}

static void test_iterate_stops(void **state)
{
	(void)state;
	const uint64_t pos[] = {9, UINT64_C(1) << 33, 1, 4};
	dv *d = t_dv(pos, 4);
	struct t_stop s = {0};
	assert_int_equal(dv_iterate(d, t_stop_at_third, &s), 42);
	assert_int_equal(s.seen, 3);
	assert_int_equal(s.last, 9);
	dv_free(d);
}

static void test_union(void **state)
{
	(void)state;
	const uint64_t k = UINT64_C(1) << 32;
	const uint64_t pa[] = {1, 2, k}, pb[] = {2, 3, 5 * k}, pu[] = {1, 2, 3, k, 5 * k};
	dv *a = t_dv(pa, 3), *b = t_dv(pb, 3), *u = t_dv(pu, 5), *b_copy = t_dv(pb, 3);
	assert_int_equal(dv_union(a, b), 0);
	t_assert_same(a, u);
	t_assert_same(b, b_copy); /* src untouched */

	assert_int_equal(dv_union(a, a), 0); /* self: no change */
	t_assert_same(a, u);

	dv *e;
	assert_int_equal(dv_new(&e), 0);
	assert_int_equal(dv_union(a, e), 0); /* ∪ empty */
	t_assert_same(a, u);
	assert_int_equal(dv_union(e, b), 0); /* empty ∪ b */
	t_assert_same(e, b);

	/* Union of shared keys must not alias: adding to b must not show in e. */
	assert_int_equal(dv_add(b, 5 * k + 1), 0);
	assert_false(dv_contains(e, 5 * k + 1));

	buf blob = {0};
	t_roundtrip(a, &blob);
	dv_free(a);
	dv_free(b);
	dv_free(u);
	dv_free(e);
	dv_free(b_copy);
	buf_release(&blob);
}

/* ---- container choice ------------------------------------------------------ */

static void test_containers(void **state)
{
	(void)state;
	/* 5000 consecutive positions: one run (0, 4999), far smaller than an
	 * array of 10000 bytes. Blob = 12 + 8 + 4 + (4 + 1 + 4 + 2 + 4). */
	dv *run = t_dv_range(0, 5000, 1);
	t_expect_types(run, 0, "R", 0);
	buf blob = {0};
	t_serialize(run, &blob);
	assert_int_equal(blob.len, 39);
	assert_int_equal(get_le16(blob.data + 8 + 8 + 4 + 4 + 1 + 4), 1);        /* one run */
	assert_int_equal(get_le16(blob.data + 8 + 8 + 4 + 4 + 1 + 4 + 4), 4999); /* len - 1 */

	/* 4097 scattered values: more than an array may hold -> bitset. */
	dv *bits = t_dv_range(0, 4097, 2);
	t_expect_types(bits, 0, "B", 1);
	t_serialize(bits, &blob);
	assert_int_equal(get_le16(blob.data + 8 + 8 + 4 + 8 + 2), 4096); /* card - 1 */
	assert_int_equal(blob.len, 12 + 8 + 4 + 8 + 4 + 4 + 8192);

	/* 4096 scattered values: still an array (8192 bytes, like a bitset). */
	dv *arr = t_dv_range(0, 4096, 2);
	t_expect_types(arr, 0, "A", 1);

	/* Mixed: array, bitset, run, run in one 32-bit bitmap; with runs and
	 * >= 4 containers the offset header is present ... */
	dv *mixed = t_dv_range(1, 3, 2);
	dv *part = t_dv_range(65536, 4097, 2);
	assert_int_equal(dv_union(mixed, part), 0);
	dv_free(part);
	part = t_dv_range(2 * 65536, 65536, 1);
	assert_int_equal(dv_union(mixed, part), 0);
	dv_free(part);
	part = t_dv_range(3 * 65536 + 100, 1000, 1);
	assert_int_equal(dv_union(mixed, part), 0);
	dv_free(part);
	t_expect_types(mixed, 0, "ABRR", 1);

	/* ... and with runs and < 4 containers it is not. */
	dv *three = t_dv_range(5, 1, 1);
	part = t_dv_range(65536, 300, 1);
	assert_int_equal(dv_union(three, part), 0);
	dv_free(part);
	part = t_dv_range(2 * 65536, 5000, 2);
	assert_int_equal(dv_union(three, part), 0);
	dv_free(part);
	t_expect_types(three, 0, "ARB", 0);

	/* Unions keep the rules: two sparse arrays whose union passes 4096
	 * values become a bitset; interleaved halves of a range become a run. */
	dv *u = t_dv_range(0, 2100, 4), *v = t_dv_range(2, 2100, 4);
	assert_int_equal(dv_union(u, v), 0);
	t_expect_types(u, 0, "B", 1);
	dv_free(u);
	dv_free(v);
	u = t_dv_range(0, 5000, 2);
	v = t_dv_range(1, 5000, 2);
	assert_int_equal(dv_union(u, v), 0);
	assert_int_equal(dv_cardinality(u), 10000);
	t_expect_types(u, 0, "R", 0);

	/* The same containers in a bitmap past the first key. */
	dv *high = t_dv_range((UINT64_C(1) << 32) + 10, 5000, 1);
	assert_int_equal(dv_add(high, 1), 0);
	t_expect_types(high, 1, "R", 0);

	dv_free(u);
	dv_free(v);
	dv_free(high);
	dv_free(run);
	dv_free(bits);
	dv_free(arr);
	dv_free(mixed);
	dv_free(three);
	buf_release(&blob);
}

/* ---- hostile input ------------------------------------------------------------ */

/* A blob with several keys and every container type (~8.3 KiB). */
static dv *t_mixed_dv(void)
{
	const uint64_t k = UINT64_C(1) << 32;
	dv *d = t_dv_range(1, 3, 2);
	dv *part = t_dv_range(70000, 4097, 3);
	assert_int_equal(dv_union(d, part), 0);
	dv_free(part);
	part = t_dv_range(k + 100, 700, 1);
	assert_int_equal(dv_union(d, part), 0);
	dv_free(part);
	assert_int_equal(dv_add(d, 7 * k + 65535), 0);
	assert_int_equal(dv_add(d, 7 * k + 65536), 0);
	return d;
}

static void t_expect_corrupt(const uint8_t *p, size_t n)
{
	char err[ERR_LEN] = "";
	dv *d = (dv *)&err; /* must be reset to NULL */
	assert_int_equal(dv_parse_blob(p, n, &d, err), FLOE_ECORRUPT);
	assert_null(d);
	assert_true(strncmp(err, "dv: ", 4) == 0);
}

static void test_truncations_and_flips(void **state)
{
	(void)state;
	dv *d = t_mixed_dv();
	buf blob = {0};
	t_serialize(d, &blob);
	assert_true(blob.len > 8192);
	/* A copy of exactly the right size for each length, so ASan sees any
	 * read past the end. */
	for (size_t n = 0; n < blob.len; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		assert_non_null(cut);
		memcpy(cut, blob.data, n);
		t_expect_corrupt(cut, n);
		free(cut);
	}
	uint8_t *longer = malloc(blob.len + 1);
	assert_non_null(longer);
	memcpy(longer, blob.data, blob.len);
	longer[blob.len] = 0;
	t_expect_corrupt(longer, blob.len + 1);
	free(longer);
	for (size_t i = 0; i < blob.len * 8; i++) {
		blob.data[i / 8] ^= (uint8_t)(1u << (i % 8));
		t_expect_corrupt(blob.data, blob.len);
		blob.data[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	/* Untouched after all that. */
	dv *back;
	assert_int_equal(dv_parse_blob(blob.data, blob.len, &back, NULL), 0);
	t_assert_same(d, back);
	dv_free(back);
	dv_free(d);
	buf_release(&blob);
}

/* Vectors that pass length, magic and CRC but break a structural rule. */
static void test_structural_rules(void **state)
{
	(void)state;
	static const struct {
		const char *vector_hex;
		const char *reason;
	} bad[] = {
	    {"", "no room for its bitmap count"},
	    {"ffffffffffffffff", "exceeds"},
	    {"0200000000000000 01000000 3a30000000000000 00000000 3a30000000000000",
	     "does not ascend"},
	    {"0200000000000000 01000000 3a30000000000000 01000000 3a30000000000000",
	     "does not ascend"},
	    {"0100000000000000 ffffff7f 3a30000000000000", "exceeds the largest"},
	    {"0100000000000000 00000000 3c300000 00000000", "unknown cookie"},
	    {"0100000000000000 00000000 3a300000 01000100", "containers (at most"},
	    {"0100000000000000 00000000 3a300000 ffffffff", "containers (at most"},
	    /* array {3,1}, {1,1} */
	    {"0100000000000000 00000000 3a300000 01000000 0000 0100 10000000 0300 0100",
	     "not ascending"},
	    {"0100000000000000 00000000 3a300000 01000000 0000 0100 10000000 0100 0100",
	     "not ascending"},
	    /* container keys 1 then 0 */
	    {"0100000000000000 00000000 3a300000 02000000 0100 0000 0000 0000 18000000 1a000000 "
	     "0100 0100",
	     "container keys not ascending"},
	    /* offset 17 instead of 16 */
	    {"0100000000000000 00000000 3a300000 01000000 0000 0000 11000000 0100",
	     "offset header"},
	    /* runs: none; past 65535; overlapping; lengths vs header */
	    {"0100000000000000 00000000 3b300000 01 0000 0000 0000", "no runs"},
	    {"0100000000000000 00000000 3b300000 01 0000 0100 0100 ffff 0100", "past 65535"},
	    {"0100000000000000 00000000 3b300000 01 0000 0500 0200 0000 0300 0200 0200", "overlap"},
	    {"0100000000000000 00000000 3b300000 01 0000 0500 0100 0000 0300", "add up"},
	    /* truncated array */
	    {"0100000000000000 00000000 3a300000 01000000 0000 0200 10000000 0100 0300",
	     "array container needs"},
	    /* trailing bytes after the last bitmap */
	    {"0100000000000000 00000000 3a300000 01000000 0000 0000 10000000 0100 00",
	     "after the last bitmap"},
	    /* beyond DV_MAX_POSITION under the largest key: 0x80000001 */
	    {"0100000000000000 feffff7f 3b300000 01 0080 0000 0100 0100 0000", "beyond"},
	    /* runs with >= 4 containers need offsets; here they are wrong */
	    {"0100000000000000 00000000 3b300300 00 0000 0000 0100 0000 0200 0000 0300 0000 "
	     "00000000 02000000 04000000 06000000 0100 0200 0300 0400",
	     "offset header"},
	};
	buf vec = {0}, blob = {0};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char err[ERR_LEN] = "";
		dv *d;
		buf_reset(&vec);
		t_unhex(&vec, bad[i].vector_hex);
		t_wrap(&blob, vec.data, vec.len);
		assert_int_equal(dv_parse_blob(blob.data, blob.len, &d, err), FLOE_ECORRUPT);
		assert_null(d);
		if (!strstr(err, bad[i].reason))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, bad[i].reason);
	}

	/* A bitset whose popcount differs from its header (4097 vs 4098). */
	buf_reset(&vec);
	t_unhex(&vec, "0100000000000000 00000000 3a300000 01000000 0000 0010 10000000");
	size_t at = vec.len;
	for (size_t i = 0; i < 8192; i++)
		buf_put_u8(&vec, 0);
	for (size_t v = 0; v < 4098; v++)
		vec.data[at + v / 8] |= (uint8_t)(1u << (v % 8));
	t_wrap(&blob, vec.data, vec.len);
	char err[ERR_LEN] = "";
	dv *d;
	assert_int_equal(dv_parse_blob(blob.data, blob.len, &d, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, "popcount"));
	/* ... and with one bit cleared it is a valid bitset of 4097. */
	vec.data[at] &= (uint8_t)~1u;
	t_wrap(&blob, vec.data, vec.len);
	assert_int_equal(dv_parse_blob(blob.data, blob.len, &d, err), 0);
	assert_int_equal(dv_cardinality(d), 4097);
	assert_false(dv_contains(d, 0));
	assert_true(dv_contains(d, 4097));
	dv_free(d);

	buf_release(&vec);
	buf_release(&blob);
}

/* Valid shapes other writers produce. */
static void test_foreign_shapes(void **state)
{
	(void)state;
	static const struct {
		const char *vector_hex;
		uint64_t card;
		uint64_t some;
	} ok[] = {
	    /* Java pads keys 0 and 2 with empty bitmaps: positions 2^32+7, 3*2^32+1 */
	    {"0400000000000000 00000000 3a30000000000000 01000000 3a300000 01000000 0000 0000 "
	     "10000000 0700 02000000 3a30000000000000 03000000 3a300000 01000000 0000 0000 "
	     "10000000 0100",
	     2, (UINT64_C(1) << 32) + 7},
	    /* adjacent runs (0..1)(2..3) */
	    {"0100000000000000 00000000 3b300000 01 0000 0300 0200 0000 0100 0200 0100", 4, 3},
	    /* the largest position */
	    {"0100000000000000 feffff7f 3b300000 01 0080 0000 0100 0000 0000", 1, DV_MAX_POSITION},
	    /* a run container under a run cookie with 4 containers and offsets */
	    {"0100000000000000 00000000 3b300300 0f 0000 0000 0100 0000 0200 0000 0300 0000 "
	     "25000000 2b000000 31000000 37000000 "
	     "0100 0100 0000 0100 0100 0000 0100 0200 0000 0100 0300 0000",
	     4, 3 * 65536 + 3},
	};
	buf vec = {0}, blob = {0};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char err[ERR_LEN] = "";
		dv *d;
		buf_reset(&vec);
		t_unhex(&vec, ok[i].vector_hex);
		t_wrap(&blob, vec.data, vec.len);
		if (dv_parse_blob(blob.data, blob.len, &d, err))
			fail_msg("case %zu: %s", i, err);
		assert_int_equal(dv_cardinality(d), ok[i].card);
		assert_true(dv_contains(d, ok[i].some));
		t_roundtrip(d, &blob);
		dv_free(d);
	}
	buf_release(&vec);
	buf_release(&blob);
}

static uint64_t t_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Random damage behind a valid CRC: only the structural checks stand
 * between the bytes and CRoaring. Any outcome but a crash or a wrong
 * error code is fine; what parses must survive a round trip. */
static void test_fuzz_behind_crc(void **state)
{
	(void)state;
	buf blob = {0}, wrapped = {0};
	/* Small enough for 20000 rounds, with arrays, a run and three keys. */
	const uint64_t k = UINT64_C(1) << 32;
	const uint64_t pos[] = {1, 3, 5, 65536 + 9, 3 * k + 2, 3 * k + 3, 3 * k + 4, 3 * k + 5};
	dv *d = t_dv(pos, sizeof pos / sizeof pos[0]);
	dv *part = t_dv_range(2 * 65536, 300, 1);
	assert_int_equal(dv_union(d, part), 0);
	dv_free(part);
	t_serialize(d, &blob);
	size_t vlen = blob.len - 12;
	uint8_t *vec = malloc(vlen + 8);
	assert_non_null(vec);
	uint64_t seed = 0x9E3779B97F4A7C15u;
	int parsed = 0;
	for (int round = 0; round < 20000; round++) {
		memcpy(vec, blob.data + 8, vlen);
		size_t n = vlen;
		int edits = 1 + (int)(t_rand(&seed) % 4);
		for (int e = 0; e < edits; e++) {
			size_t at = t_rand(&seed) % n;
			switch (t_rand(&seed) % 3) {
			case 0:
				vec[at] ^= (uint8_t)(1u << (t_rand(&seed) % 8));
				break;
			case 1:
				vec[at] = (uint8_t)t_rand(&seed);
				break;
			default:
				if (n > 1)
					n = 1 + t_rand(&seed) % (n - 1);
				break;
			}
		}
		t_wrap(&wrapped, vec, n);
		char err[ERR_LEN];
		dv *out;
		int rc = dv_parse_blob(wrapped.data, wrapped.len, &out, err);
		if (rc) {
			assert_int_equal(rc, FLOE_ECORRUPT);
			continue;
		}
		parsed++;
		buf again = {0};
		t_roundtrip(out, &again);
		buf_release(&again);
		dv_free(out);
	}
	assert_true(parsed > 0); /* some edits keep a valid shape */
	free(vec);
	dv_free(d);
	buf_release(&blob);
	buf_release(&wrapped);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_worked_example),   cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_key_boundaries),   cmocka_unit_test(test_position_limits),
	    cmocka_unit_test(test_iterate_stops),    cmocka_unit_test(test_union),
	    cmocka_unit_test(test_containers),       cmocka_unit_test(test_truncations_and_flips),
	    cmocka_unit_test(test_structural_rules), cmocka_unit_test(test_foreign_shapes),
	    cmocka_unit_test(test_fuzz_behind_crc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
