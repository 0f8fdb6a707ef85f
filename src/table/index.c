/*
 * index — primary-key index (contract, key encoding, invariants and the
 * .fidx layout in index.h).
 *
 * The table is an array of slots of `stride` 64-bit words; word 0 holds ~loc
 * (0 = empty, invariant 1), the rest the key or (hash, arena ref):
 *   MODE_I1     [~loc, key]            fixed keys of 1..8 bytes
 *   MODE_I2     [~loc, key hi, key lo] fixed keys of 9..16 bytes
 *   MODE_ARENA  [~loc, hash, ref]      everything else
 * A key's home slot is the top `bits` bits of its hash, so the table is
 * sorted by home (Robin Hood keeps it so, up to the wrap at the end), which
 * makes a doubling a near-sequential pass. The probe loops are written once
 * with the mode as a parameter and instantiated per mode by the dispatchers
 * (find_slot, place, remove_at), so the int64 path has no mode branches.
 *
 * Hashes are seeded per index (getrandom) so that keys chosen by a client
 * cannot be aimed at one home slot; nothing persisted depends on a hash.
 *
 * Arena: chunks of 128 KiB doubling to 1 MiB (a ref is chunk << 20 | offset,
 * and the largest entry, 3 + 65535 bytes, fits any chunk); an entry is the
 * LEB128 key length and the key bytes.
 */
#include "table/index.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "base/crc32c.h"
#include "base/err.h"
#include "storage/fs.h"

#define ALWAYS_INLINE inline __attribute__((always_inline))

/* Encoding classes; the numbers are stored in .fidx files: never renumber. */
enum {
	KC_BOOL = 1,
	KC_INT = 2,   /* int16, int32, int64, time (int64 micros) */
	KC_DEC8 = 3,  /* decimal p <= 18 */
	KC_DEC16 = 4, /* decimal p > 18 */
	KC_DATE = 5,
	KC_TS = 6,
	KC_TSTZ = 7,
	KC_UUID = 8,
	KC_STRING = 9,
	KC_BINARY = 10,
	KC_F32 = 11, /* full-row keys only */
	KC_F64 = 12, /* full-row keys only */
	KC_LAST = KC_F64,
	/* A list column (full-row keys only) is KC_LIST | its element's class. */
	KC_LIST = 0x40,
};

/* Encoded bytes per class, 0 = variable. */
static const uint8_t class_width[KC_LAST + 1] = {
    [KC_BOOL] = 1, [KC_INT] = 8,   [KC_DEC8] = 8,   [KC_DEC16] = 16, [KC_DATE] = 4, [KC_TS] = 8,
    [KC_TSTZ] = 8, [KC_UUID] = 16, [KC_STRING] = 0, [KC_BINARY] = 0, [KC_F32] = 4,  [KC_F64] = 8,
};

enum { MODE_I1, MODE_I2, MODE_ARENA };

#define MIN_BITS        4
#define MAX_BITS        56
#define NO_SLOT         SIZE_MAX
#define ARENA_REF_SHIFT 20
#define ARENA_MIN_CHUNK (UINT32_C(1) << 17)
#define ARENA_MAX_CHUNK (UINT32_C(1) << ARENA_REF_SHIFT)
#define ARENA_MIN_DEAD  ARENA_MAX_CHUNK /* compaction below this is not worth it */
#define HUGE_ALIGN      ((size_t)2 << 20)
#define HUGE_MIN        ((size_t)4 << 20) /* smaller tables come from malloc */
#define FIDX_VERSION    1
#define FIDX_FIXED_HDR  20 /* header bytes besides the class bytes */
#define FIDX_CRC_LEN    4
#define FIDX_FLAG_MULTI 1          /* header byte 7 */
#define COPY_LEN        4          /* a multi index entry is key || copy number (BE) */
#define COPY_MAX        UINT32_MAX /* copies of one key: numbers 0 .. COPY_MAX - 1 */

typedef struct arena_chunk {
	uint8_t *p;
	uint32_t size, used;
} arena_chunk;

struct index_map {
	index_keydesc kd;
	int mode;
	size_t stride; /* words per slot */
	unsigned bits; /* capacity = 1 << bits */
	size_t cap, mask, grow_at;
	uint64_t *slots;
	size_t count, mem_count;
	uint64_t seed;
	uint64_t hash_mask; /* ~0 except under index_test_hash_bits */
	arena_chunk *chunks;
	size_t nchunks, chunks_cap;
	size_t arena_live, arena_dead; /* entry bytes of present / removed keys */
	buf scratch;                   /* index_remap_memory's encoded key */
	size_t adds_left;              /* index_test_fail_adds */
};

/* A key prepared for probing: its hash and what a slot holds for it. */
typedef struct probe {
	uint64_t hash;
	uint64_t k0, k1;    /* inline modes */
	const uint8_t *key; /* arena mode */
	size_t len;
} probe;

/* ---- hashing ------------------------------------------------------------ */

static inline uint64_t fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	return x ^ (x >> 33);
}

static inline uint64_t mum(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t hash_i1(uint64_t k, uint64_t seed)
{
	return fmix64(k ^ seed);
}

static inline uint64_t hash_i2(uint64_t k0, uint64_t k1, uint64_t seed)
{
	return fmix64(fmix64(k0 ^ seed) + k1);
}

static uint64_t hash_bytes(const uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ ((uint64_t)n * UINT64_C(0x9e3779b97f4a7c15));
	for (; n >= 8; p += 8, n -= 8)
		h = mum(h ^ get_le64(p), UINT64_C(0xa0761d6478bd642f));
	if (n) {
		uint64_t t = 0;
		for (size_t i = 0; i < n; i++)
			t |= (uint64_t)p[i] << (8 * i);
		h = mum(h ^ t, UINT64_C(0xe7037ed1a0b428db));
	}
	return fmix64(h);
}

/* Big-endian value of n <= 8 bytes. */
static inline uint64_t be_n(const uint8_t *p, size_t n)
{
	if (n == 8)
		return get_be64(p); /* one bswap: the int64 key path */
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* ---- key description and encoding --------------------------------------- */

/* One 4-byte store, for the reason given at index_key_int64. */
static inline void store_be32(uint8_t *p, uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	memcpy(p, &v, sizeof v);
}

static batch_kind class_kind(int cls, int vwidth)
{
	switch (cls) {
	case KC_BOOL:
		return BC_BOOL;
	case KC_INT:
	case KC_DEC8:
	case KC_DATE:
		return vwidth == 4 ? BC_I32 : BC_I64;
	case KC_TS:
	case KC_TSTZ:
		return BC_I64;
	case KC_DEC16:
	case KC_UUID:
		return BC_FIXED;
	case KC_F32:
		return BC_F32;
	case KC_F64:
		return BC_F64;
	default:
		return BC_BYTES;
	}
}

static int class_is_list(int cls)
{
	return (cls & KC_LIST) != 0;
}

static int type_class(const floe_column *c)
{
	switch (c->type) {
	case FT_BOOLEAN:
		return KC_BOOL;
	case FT_INT16:
	case FT_INT32:
	case FT_INT64:
	case FT_TIME:
		return KC_INT;
	case FT_DECIMAL:
		return c->precision <= 18 ? KC_DEC8 : KC_DEC16;
	case FT_DATE32:
		return KC_DATE;
	case FT_TIMESTAMP:
		return KC_TS;
	case FT_TIMESTAMPTZ:
		return KC_TSTZ;
	case FT_UUID:
		return KC_UUID;
	case FT_STRING:
		return KC_STRING;
	case FT_BINARY:
		return KC_BINARY;
	case FT_FLOAT32:
		return KC_F32;
	case FT_FLOAT64:
		return KC_F64;
	case FT_LIST: {
		floe_column e;
		coltype_element(c, &e);
		int ec = type_class(&e);
		return ec && !class_is_list(ec) ? KC_LIST | ec : 0;
	}
	}
	return 0;
}

static int class_is_float(int cls)
{
	return cls == KC_F32 || cls == KC_F64;
}

/* Whether cls is a class a key of this kind may have: floats and lists only
 * in full-row keys, a list's element never a list. */
static int class_ok(int cls, int multi)
{
	int base = cls & ~KC_LIST;
	if (class_is_list(cls) && !multi)
		return 0;
	return base >= 1 && base <= KC_LAST && (multi || !class_is_float(base));
}

/* The batch value width of a key column (a list's: its element's). */
static int value_width(const floe_column *c)
{
	floe_column e;
	if (c->type != FT_LIST)
		return coltype_width(c);
	coltype_element(c, &e);
	return coltype_width(&e);
}

/* Sets kd->width from the classes: the sum when every class is fixed. */
static void keydesc_finish(index_keydesc *kd)
{
	uint32_t w = 0;
	if (kd->multi) { /* presence bytes, and always arena slots */
		kd->width = 0;
		return;
	}
	for (int i = 0; i < kd->ncols; i++) {
		if (class_width[kd->cls[i]] == 0) {
			kd->width = 0;
			return;
		}
		w += class_width[kd->cls[i]];
	}
	kd->width = w;
}

int index_keydesc_init(index_keydesc *kd, const floe_schema *schema, const int *cols, int ncols,
                       char *err)
{
	memset(kd, 0, sizeof *kd);
	if (ncols < 1 || ncols > INDEX_MAX_KEY_COLS)
		return errf(err, FLOE_EINVAL, "a primary key has 1 to %d columns, not %d",
		            INDEX_MAX_KEY_COLS, ncols);
	for (int i = 0; i < ncols; i++) {
		if (cols[i] < 0 || cols[i] >= schema->ncols)
			return errf(err, FLOE_EINVAL,
			            "primary key column %d does not exist (%d columns)", cols[i],
			            schema->ncols);
		const floe_column *c = &schema->cols[cols[i]];
		for (int j = 0; j < i; j++)
			if (cols[j] == cols[i])
				return errf(err, FLOE_EINVAL,
				            "column '%s' is listed twice in the primary key",
				            c->name);
		int cls = type_class(c);
		if (class_is_list(cls))
			return errf(err, FLOE_EINVAL,
			            "column '%s': a list column cannot be part of a primary key",
			            c->name);
		if (!cls || class_is_float(cls))
			return errf(
			    err, FLOE_EINVAL,
			    "column '%s': a floating-point column cannot be part of a primary key",
			    c->name);
		kd->col[i] = cols[i];
		kd->cls[i] = (uint8_t)cls;
		kd->vwidth[i] = (uint8_t)coltype_width(c);
	}
	kd->ncols = ncols;
	keydesc_finish(kd);
	return 0;
}

int index_keydesc_init_fullrow(index_keydesc *kd, const floe_schema *schema, char *err)
{
	memset(kd, 0, sizeof *kd);
	if (schema->ncols < 1 || schema->ncols > INDEX_MAX_COLS)
		return errf(err, FLOE_EINVAL,
		            "a table without a primary key has 1 to %d columns, not %d",
		            INDEX_MAX_COLS, schema->ncols);
	for (int i = 0; i < schema->ncols; i++) {
		const floe_column *c = &schema->cols[i];
		int cls = type_class(c);
		if (!cls)
			return errf(err, FLOE_EINVAL, "column '%s' has an unknown type", c->name);
		kd->col[i] = i;
		kd->cls[i] = (uint8_t)cls;
		kd->vwidth[i] = (uint8_t)value_width(c);
	}
	kd->ncols = schema->ncols;
	kd->multi = 1;
	keydesc_finish(kd);
	return 0;
}

/* Whether batch column c has the kind and value width of class cls. */
static int col_matches(const batch_col *c, int cls, int vwidth)
{
	if (class_is_list(cls))
		return c->kind == BC_LIST && col_matches(c->elem, cls & ~KC_LIST, vwidth);
	return c->kind == class_kind(cls, vwidth) && (c->kind == BC_BYTES || c->width == vwidth);
}

/* FLOE_EINVAL unless every key column of b has the kind and width kd expects. */
static int keydesc_check_batch(const index_keydesc *kd, const batch *b, char *err)
{
	for (int i = 0; i < kd->ncols; i++) {
		int col = kd->col[i];
		if (col >= b->ncols)
			return errf(err, FLOE_EINVAL, "key column %d: the batch has %d columns",
			            col, b->ncols);
		if (!col_matches(&b->cols[col], kd->cls[i], kd->vwidth[i]))
			return errf(err, FLOE_EINVAL,
			            "key column %d: the batch column has another type", col);
	}
	return 0;
}

/* Appends n bytes with each 0x00 escaped as 0x00 0xFF, then 0x00 0x00.
 * Room for 2n + 2 bytes is reserved by the caller. */
static void put_escaped(buf *out, const uint8_t *p, size_t n)
{
	uint8_t *o = out->data + out->len;
	for (size_t i = 0; i < n; i++) {
		*o++ = p[i];
		if (p[i] == 0)
			*o++ = 0xff;
	}
	*o++ = 0;
	*o++ = 0;
	out->len = (size_t)(o - out->data);
}

static int encode_value(const batch_col *c, int cls, size_t row, int last, buf *out);

/* A presence byte (0 = null, nothing follows) and, when present, the value
 * of row `row` of c as encode_value writes it. */
static int encode_present(const batch_col *c, int cls, size_t row, int last, buf *out)
{
	int present = c->valid.data[row] != 0;
	if (buf_reserve(out, 1))
		return FLOE_ENOMEM;
	out->data[out->len++] = (uint8_t)present;
	return present ? encode_value(c, cls, row, last, out) : 0;
}

/* A list value (full-row keys): the element count as 4 bytes big-endian,
 * then each element as encode_present writes a value that is not last (so
 * every element ends where it says), which makes equal bytes equal lists. */
static int encode_list(const batch_col *c, int cls, size_t row, buf *out)
{
	uint64_t off[2];
	memcpy(off, c->offsets.data + row * sizeof(uint64_t), sizeof off);
	if (off[1] - off[0] > INDEX_KEY_MAX)
		return FLOE_ETOOBIG;
	if (buf_reserve(out, 4))
		return FLOE_ENOMEM;
	store_be32(out->data + out->len, (uint32_t)(off[1] - off[0]));
	out->len += 4;
	int rc = 0;
	for (uint64_t k = off[0]; k < off[1] && rc == 0 && out->len <= INDEX_KEY_MAX; k++)
		rc = encode_present(c->elem, cls & ~KC_LIST, (size_t)k, 0, out);
	return rc;
}

/* Appends one column's encoding (index.h) of row `row`. */
static int encode_col(const index_keydesc *kd, int i, const batch *b, size_t row, buf *out)
{
	const batch_col *c = &b->cols[kd->col[i]];
	int last = i == kd->ncols - 1;
	if (kd->multi)
		return encode_present(c, kd->cls[i], row, last, out);
	return encode_value(c, kd->cls[i], row, last, out);
}

/* Appends the encoding (index.h) of the value in row `row` of c, of class
 * cls; `last`: nothing follows it in the key. */
static int encode_value(const batch_col *c, int cls, size_t row, int last, buf *out)
{
	if (class_is_list(cls))
		return encode_list(c, cls, row, out);
	if (cls == KC_STRING || cls == KC_BINARY) {
		uint64_t off[2];
		memcpy(off, c->offsets.data + row * sizeof(uint64_t), sizeof off);
		size_t n = (size_t)(off[1] - off[0]);
		if (n > INDEX_KEY_MAX)
			return FLOE_ETOOBIG;
		if (buf_reserve(out, last ? n : 2 * n + 2))
			return FLOE_ENOMEM;
		if (last)
			buf_append(out, c->bytes.data + off[0], n);
		else
			put_escaped(out, c->bytes.data + off[0], n);
		return 0;
	}
	if (buf_reserve(out, 16))
		return FLOE_ENOMEM;
	const uint8_t *v = c->values.data + row * (size_t)c->width;
	uint8_t *o = out->data + out->len;
	out->len += class_width[cls];
	switch (cls) {
	case KC_BOOL:
		o[0] = v[0] ? 1 : 0;
		break;
	case KC_DATE: {
		int32_t x;
		memcpy(&x, v, 4);
		store_be32(o, (uint32_t)x ^ UINT32_C(0x80000000));
		break;
	}
	case KC_INT:
	case KC_DEC8:
	case KC_TS:
	case KC_TSTZ: {
		int64_t x;
		if (c->kind == BC_I32) {
			int32_t x32;
			memcpy(&x32, v, 4);
			x = x32;
		} else {
			memcpy(&x, v, 8);
		}
		index_key_int64(o, x);
		break;
	}
	case KC_DEC16: {
		/* Big-endian two's complement of width 9..16 -> 16 bytes. */
		size_t w = (size_t)c->width;
		memset(o, (v[0] & 0x80) ? 0xff : 0, 16 - w);
		memcpy(o + 16 - w, v, w);
		o[0] ^= 0x80;
		break;
	}
	case KC_F32: {
		float f;
		uint32_t u;
		memcpy(&f, v, 4);
		if (f != f)
			u = UINT32_C(0x7fc00000);
		else if (f == 0.0f)
			u = 0; /* -0.0 too */
		else
			memcpy(&u, &f, 4);
		/* Sign-magnitude -> ordered unsigned, as for the ints. */
		u = (u & UINT32_C(0x80000000)) ? ~u : u ^ UINT32_C(0x80000000);
		store_be32(o, u);
		break;
	}
	case KC_F64: {
		double f;
		uint64_t u;
		memcpy(&f, v, 8);
		if (f != f)
			u = UINT64_C(0x7ff8000000000000);
		else if (f == 0.0)
			u = 0;
		else
			memcpy(&u, &f, 8);
		u = (u & INDEX_LOC_MEM_BIT) ? ~u : u ^ INDEX_LOC_MEM_BIT;
		put_be64(o, u);
		break;
	}
	default: /* KC_UUID */
		memcpy(o, v, 16);
		break;
	}
	return 0;
}

int index_key_encode(const index_keydesc *kd, const batch *b, size_t row, buf *out, char *err)
{
	int rc = keydesc_check_batch(kd, b, err);
	if (rc)
		return rc;
	if (row >= b->nrows)
		return errf(err, FLOE_EINVAL, "row %zu: the batch has %zu rows", row, b->nrows);
	buf_reset(out);
	for (int i = 0; i < kd->ncols && rc == 0; i++)
		rc = encode_col(kd, i, b, row, out);
	if (rc == 0 && out->len > INDEX_KEY_MAX)
		rc = FLOE_ETOOBIG;
	if (rc == FLOE_ETOOBIG)
		return errf(err, rc, "row %zu: the %s is longer than %d bytes", row,
		            kd->multi ? "encoded row" : "primary key", INDEX_KEY_MAX);
	if (rc) {
		buf_release(out); /* clears the poison so out is usable again */
		return errf(err, rc, "row %zu: out of memory encoding the primary key", row);
	}
	return 0;
}

int index_keys_append(const index_keydesc *kd, const batch *b, size_t from, size_t to,
                      const uint8_t *skip, buf *out, size_t *ends, size_t *nkeys, char *err)
{
	*nkeys = 0;
	int rc = keydesc_check_batch(kd, b, err);
	if (rc)
		return rc;
	if (from > to || to > b->nrows)
		return errf(err, FLOE_EINVAL, "rows %zu..%zu: the batch has %zu rows", from, to,
		            b->nrows);
	for (size_t row = from; row < to; row++) {
		if (skip && skip[row])
			continue;
		size_t start = out->len;
		for (int i = 0; i < kd->ncols && rc == 0; i++)
			rc = encode_col(kd, i, b, row, out);
		if (rc == 0 && out->len - start > INDEX_KEY_MAX)
			rc = FLOE_ETOOBIG;
		if (rc == FLOE_ETOOBIG) {
			out->len = start;
			return errf(err, rc, "row %zu: the %s is longer than %d bytes", row,
			            kd->multi ? "encoded row" : "primary key", INDEX_KEY_MAX);
		}
		if (rc) {
			out->len = start;
			out->oom = 0; /* what was appended before stays usable */
			return errf(err, rc, "row %zu: out of memory encoding the primary key",
			            row);
		}
		if (ends)
			ends[*nkeys] = out->len;
		++*nkeys;
	}
	return 0;
}

/* FLOE_EINVAL unless len is a possible encoded key length for kd. */
static int key_len_ok(const index_keydesc *kd, size_t len)
{
	if (kd->width ? len != kd->width : len > INDEX_KEY_MAX)
		return FLOE_EINVAL;
	return 0;
}

/* ---- arena -------------------------------------------------------------- */

static size_t varint_len(size_t n)
{
	return n < 0x80 ? 1 : n < 0x4000 ? 2 : 3;
}

static size_t put_varint(uint8_t *o, size_t n)
{
	size_t i = 0;
	while (n >= 0x80) {
		o[i++] = (uint8_t)(n | 0x80);
		n >>= 7;
	}
	o[i++] = (uint8_t)n;
	return i;
}

/* Reads a minimal LEB128 value <= INDEX_KEY_MAX from [p, end); returns its
 * byte length, or 0 if it is truncated, overlong or too large. */
static size_t get_varint(const uint8_t *p, const uint8_t *end, size_t *n)
{
	size_t v = 0, avail = (size_t)(end - p);
	for (size_t i = 0; i < 3 && i < avail; i++) {
		v |= (size_t)(p[i] & 0x7f) << (7 * i);
		if (p[i] & 0x80)
			continue;
		if ((i > 0 && p[i] == 0) || v > INDEX_KEY_MAX)
			return 0;
		*n = v;
		return i + 1;
	}
	return 0;
}

/* The key bytes of the arena entry at ref; *len = their count. Arena
 * entries were written by us, so they are trusted. */
static inline const uint8_t *arena_key(const index_map *ix, uint64_t ref, size_t *len)
{
	const arena_chunk *c = &ix->chunks[ref >> ARENA_REF_SHIFT];
	const uint8_t *e = c->p + (ref & (ARENA_MAX_CHUNK - 1));
	size_t n = 0;
	for (unsigned shift = 0;; shift += 7) {
		n |= (size_t)(*e & 0x7f) << shift;
		if (!(*e++ & 0x80))
			break;
	}
	*len = n;
	return e;
}

static uint32_t arena_chunk_size(size_t k)
{
	return k >= 3 ? ARENA_MAX_CHUNK : ARENA_MIN_CHUNK << k;
}

static size_t arena_alloc_bytes(const index_map *ix)
{
	size_t n = ix->chunks_cap * sizeof *ix->chunks;
	for (size_t k = 0; k < ix->nchunks; k++)
		n += ix->chunks[k].size;
	return n;
}

/* Appends a new empty chunk; FLOE_ENOMEM leaves the arena unchanged. */
static int arena_add_chunk(arena_chunk **chunks, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		arena_chunk *p = realloc(*chunks, ncap * sizeof *p);
		if (!p)
			return FLOE_ENOMEM;
		*chunks = p;
		*cap = ncap;
	}
	uint32_t size = arena_chunk_size(*n);
	uint8_t *mem = malloc(size);
	if (!mem)
		return FLOE_ENOMEM;
	(*chunks)[(*n)++] = (arena_chunk){mem, size, 0};
	return 0;
}

static void arena_free_chunks(arena_chunk *chunks, size_t n)
{
	for (size_t k = 0; k < n; k++)
		free(chunks[k].p);
	free(chunks);
}

/* Copies an entry for key (followed by the copy number copy, big-endian,
 * when sfx is set: multi index) into the arena; *ref = where. FLOE_ENOMEM. */
static int arena_append(index_map *ix, const uint8_t *key, size_t len, int sfx, uint32_t copy,
                        uint64_t *ref)
{
	size_t klen = len;
	if (sfx)
		len += COPY_LEN;
	size_t need = varint_len(len) + len;
	arena_chunk *c = ix->nchunks ? &ix->chunks[ix->nchunks - 1] : NULL;
	if (!c || c->size - c->used < need) {
		if (arena_add_chunk(&ix->chunks, &ix->nchunks, &ix->chunks_cap))
			return FLOE_ENOMEM;
		c = &ix->chunks[ix->nchunks - 1];
	}
	*ref = (uint64_t)(ix->nchunks - 1) << ARENA_REF_SHIFT | c->used;
	c->used += (uint32_t)put_varint(c->p + c->used, len);
	memcpy(c->p + c->used, key, klen);
	if (sfx)
		put_be32(c->p + c->used + klen, copy);
	c->used += (uint32_t)len;
	ix->arena_live += need;
	return 0;
}

/* Lays the live keys out in slot order into fresh chunks and repoints the
 * slots (invariant 4). All chunks are allocated before any slot changes, so
 * FLOE_ENOMEM leaves everything as it was. */
static int arena_compact(index_map *ix)
{
	arena_chunk *nc = NULL;
	size_t nn = 0, ncap = 0;
	/* Pass 1: how many chunks the layout takes. Chunk k's size depends
	 * only on k, and every entry fits in any chunk. */
	size_t need_chunks = 0, used = 0;
	for (size_t i = 0; i < ix->cap; i++) {
		const uint64_t *s = ix->slots + i * ix->stride;
		if (!s[0])
			continue;
		size_t len;
		arena_key(ix, s[2], &len);
		size_t sz = varint_len(len) + len;
		if (need_chunks == 0 || arena_chunk_size(need_chunks - 1) - used < sz) {
			need_chunks++;
			used = 0;
		}
		used += sz;
	}
	while (nn < need_chunks)
		if (arena_add_chunk(&nc, &nn, &ncap))
			goto fail;
	/* Pass 2: copy with the same rule; cannot fail. */
	size_t k = 0;
	for (size_t i = 0; i < ix->cap; i++) {
		uint64_t *s = ix->slots + i * ix->stride;
		if (!s[0])
			continue;
		size_t len;
		const uint8_t *key = arena_key(ix, s[2], &len);
		size_t sz = varint_len(len) + len;
		if (nc[k].size - nc[k].used < sz)
			k++;
		s[2] = (uint64_t)k << ARENA_REF_SHIFT | nc[k].used;
		nc[k].used += (uint32_t)put_varint(nc[k].p + nc[k].used, len);
		memcpy(nc[k].p + nc[k].used, key, len);
		nc[k].used += (uint32_t)len;
	}
	arena_free_chunks(ix->chunks, ix->nchunks);
	ix->chunks = nc;
	ix->nchunks = nn;
	ix->chunks_cap = ncap;
	ix->arena_dead = 0;
	return 0;
fail:
	arena_free_chunks(nc, nn);
	return FLOE_ENOMEM;
}

/* ---- the table: one probe loop per operation, instantiated per mode ----- */

static ALWAYS_INLINE size_t mode_stride(int mode)
{
	return mode == MODE_I1 ? 2 : 3;
}

static ALWAYS_INLINE size_t home_of(const index_map *ix, uint64_t hash)
{
	return (size_t)(hash >> (64 - ix->bits));
}

static ALWAYS_INLINE uint64_t slot_hash(const index_map *ix, const uint64_t *s, int mode)
{
	if (mode == MODE_I1)
		return hash_i1(s[1], ix->seed) & ix->hash_mask;
	if (mode == MODE_I2)
		return hash_i2(s[1], s[2], ix->seed) & ix->hash_mask;
	return s[1];
}

static ALWAYS_INLINE int slot_match(const index_map *ix, const uint64_t *s, const probe *p,
                                    int mode)
{
	if (mode == MODE_I1)
		return s[1] == p->k0;
	if (mode == MODE_I2)
		return s[1] == p->k0 && s[2] == p->k1;
	if (s[1] != p->hash)
		return 0;
	size_t len;
	const uint8_t *key = arena_key(ix, s[2], &len);
	return len == p->len && memcmp(key, p->key, len) == 0;
}

/* Distance of the entry in slot i from its home. */
static ALWAYS_INLINE size_t slot_dist(const index_map *ix, size_t i, const uint64_t *s, int mode)
{
	return (i - home_of(ix, slot_hash(ix, s, mode))) & ix->mask;
}

static ALWAYS_INLINE size_t find_m(const index_map *ix, const probe *p, int mode)
{
	const size_t stride = mode_stride(mode);
	size_t i = home_of(ix, p->hash);
	/* Ends: invariant 3 leaves an empty slot; invariant 2 bounds the walk. */
	for (size_t d = 0;; d++, i = (i + 1) & ix->mask) {
		const uint64_t *s = ix->slots + i * stride;
		if (!s[0])
			return NO_SLOT;
		if (slot_match(ix, s, p, mode))
			return i;
		if (slot_dist(ix, i, s, mode) < d)
			return NO_SLOT;
	}
}

/* Robin Hood insertion of an entry known to be absent, with room for it. */
static ALWAYS_INLINE void place_m(index_map *ix, const uint64_t *entry, uint64_t hash, int mode)
{
	const size_t stride = mode_stride(mode);
	uint64_t cur[3], tmp[3];
	memcpy(cur, entry, stride * sizeof *cur);
	size_t i = home_of(ix, hash);
	for (size_t d = 0;; d++, i = (i + 1) & ix->mask) {
		uint64_t *s = ix->slots + i * stride;
		if (!s[0]) {
			memcpy(s, cur, stride * sizeof *s);
			return;
		}
		size_t sd = slot_dist(ix, i, s, mode);
		if (sd < d) { /* the resident is richer: it moves on, we stay */
			memcpy(tmp, s, stride * sizeof *s);
			memcpy(s, cur, stride * sizeof *s);
			memcpy(cur, tmp, stride * sizeof *s);
			d = sd;
		}
	}
}

/* Empties slot i by backward shift: the entries after it that are not at
 * home move back one slot (invariant 2 holds without tombstones). */
static ALWAYS_INLINE void remove_at_m(index_map *ix, size_t i, int mode)
{
	const size_t stride = mode_stride(mode);
	for (;;) {
		size_t j = (i + 1) & ix->mask;
		uint64_t *sj = ix->slots + j * stride;
		if (!sj[0] || slot_dist(ix, j, sj, mode) == 0)
			break;
		memcpy(ix->slots + i * stride, sj, stride * sizeof *sj);
		i = j;
	}
	memset(ix->slots + i * stride, 0, stride * sizeof *ix->slots);
}

/* Calls fn(args..., mode) with the mode as a constant, so that each mode
 * gets its own copy of the inlined loops (fn returns a value or void). */
#define BY_MODE(ix, fn, ...)                                                                       \
	((ix)->mode == MODE_I1   ? fn(__VA_ARGS__, MODE_I1)                                        \
	 : (ix)->mode == MODE_I2 ? fn(__VA_ARGS__, MODE_I2)                                        \
	                         : fn(__VA_ARGS__, MODE_ARENA))

static ALWAYS_INLINE void place_entry_m(index_map *ix, const uint64_t *entry, int mode)
{
	place_m(ix, entry, slot_hash(ix, entry, mode), mode);
}

static size_t find_slot(const index_map *ix, const probe *p)
{
	return BY_MODE(ix, find_m, ix, p);
}

static void place(index_map *ix, const uint64_t *entry)
{
	BY_MODE(ix, place_entry_m, ix, entry);
}

static void remove_at(index_map *ix, size_t i)
{
	BY_MODE(ix, remove_at_m, ix, i);
}

static inline uint64_t *slot_at(const index_map *ix, size_t i)
{
	return ix->slots + i * ix->stride;
}

/* A probe's home slot is prefetched this many keys before it is walked:
 * enough to cover a cache miss with the work of the keys in between. */
#define LOOKAHEAD 8

static inline void prefetch_home(const index_map *ix, uint64_t hash)
{
	__builtin_prefetch(slot_at(ix, home_of(ix, hash)));
}

/* Most keys a table of 1 << bits slots holds (invariant 3: load <= 0.85). */
static size_t limit_of(unsigned bits)
{
	size_t cap = (size_t)1 << bits;
	return cap / 20 * 17 + cap % 20 * 17 / 20;
}

/* A zeroed table of cap slots, or NULL. Tables of HUGE_MIN bytes and more
 * are mapped directly, 2 MiB-aligned and marked MADV_HUGEPAGE: with 4 KiB
 * pages nearly every lookup in a large table also misses the TLB, and on
 * the development VM the first touch of each 4 KiB page costs ~12 us
 * (measured for 1 GiB: 5.6 s to touch with 4 KiB pages, 3.2 s with huge
 * pages; random reads 44 vs 30 ns). The advice is only advice: without THP
 * the mapping works the same. */
static uint64_t *table_alloc(size_t cap, size_t stride)
{
	if (cap > (SIZE_MAX - HUGE_ALIGN) / (stride * sizeof(uint64_t)))
		return NULL;
	size_t bytes = cap * stride * sizeof(uint64_t);
	if (bytes < HUGE_MIN)
		return calloc(cap, stride * sizeof(uint64_t));
	uint8_t *p = mmap(NULL, bytes + HUGE_ALIGN, PROT_READ | PROT_WRITE,
	                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Keep the 2 MiB-aligned part; bytes is a multiple of the page size. */
	size_t head = (HUGE_ALIGN - (uintptr_t)p % HUGE_ALIGN) % HUGE_ALIGN;
	if (head)
		munmap(p, head);
	munmap(p + head + bytes, HUGE_ALIGN - head); /* head < HUGE_ALIGN */
	(void)madvise(p + head, bytes, MADV_HUGEPAGE);
	return (uint64_t *)(void *)(p + head);
}

static void table_free(uint64_t *t, size_t cap, size_t stride)
{
	size_t bytes = cap * stride * sizeof(uint64_t);
	if (bytes < HUGE_MIN)
		free(t);
	else if (t)
		munmap(t, bytes);
}

/* Rebuilds the table with 1 << bits slots (bits large enough for count).
 * The new table is allocated before the old one is freed: a brief 1.5x. */
static int table_resize(index_map *ix, unsigned bits)
{
	size_t cap = (size_t)1 << bits;
	uint64_t *ns = table_alloc(cap, ix->stride);
	if (!ns)
		return FLOE_ENOMEM;
	uint64_t *old = ix->slots;
	size_t ocap = ix->cap;
	ix->slots = ns;
	ix->bits = bits;
	ix->cap = cap;
	ix->mask = cap - 1;
	ix->grow_at = limit_of(bits);
	for (size_t i = 0; i < ocap; i++) {
		const uint64_t *s = old + i * ix->stride;
		if (s[0])
			place(ix, s);
	}
	table_free(old, ocap, ix->stride);
	return 0;
}

static unsigned bits_for(size_t n)
{
	unsigned bits = MIN_BITS;
	while (bits < MAX_BITS && limit_of(bits) < n)
		bits++;
	return bits;
}

int index_reserve(index_map *ix, size_t n)
{
	unsigned bits = bits_for(n);
	if (limit_of(bits) < n)
		return FLOE_ENOMEM;
	return bits > ix->bits ? table_resize(ix, bits) : 0;
}

/* ---- public operations -------------------------------------------------- */

/* FLOE_EINVAL unless kd could have come from index_keydesc_init. */
static int keydesc_valid(const index_keydesc *kd)
{
	if (kd->multi > 1 || kd->ncols < 1 ||
	    kd->ncols > (kd->multi ? INDEX_MAX_COLS : INDEX_MAX_KEY_COLS))
		return FLOE_EINVAL;
	index_keydesc check = *kd;
	for (int i = 0; i < kd->ncols; i++)
		if (!class_ok(kd->cls[i], kd->multi) || kd->col[i] < 0)
			return FLOE_EINVAL;
	keydesc_finish(&check);
	return check.width == kd->width ? 0 : FLOE_EINVAL;
}

int index_new(const index_keydesc *kd, index_map **out)
{
	*out = NULL;
	if (keydesc_valid(kd))
		return FLOE_EINVAL;
	index_map *ix = calloc(1, sizeof *ix);
	if (!ix)
		return FLOE_ENOMEM;
	ix->kd = *kd;
	ix->mode = kd->width >= 1 && kd->width <= 8    ? MODE_I1
	           : kd->width >= 9 && kd->width <= 16 ? MODE_I2
	                                               : MODE_ARENA;
	ix->stride = mode_stride(ix->mode);
	ix->hash_mask = UINT64_MAX;
	ix->adds_left = SIZE_MAX;
	if (getrandom(&ix->seed, sizeof ix->seed, GRND_NONBLOCK) != (ssize_t)sizeof ix->seed)
		ix->seed =
		    (uint64_t)(uintptr_t)ix ^ (uint64_t)time(NULL) * UINT64_C(0x9e3779b97f4a7c15);
	if (table_resize(ix, MIN_BITS)) {
		free(ix);
		return FLOE_ENOMEM;
	}
	*out = ix;
	return 0;
}

void index_free(index_map *ix)
{
	if (!ix)
		return;
	table_free(ix->slots, ix->cap, ix->stride);
	arena_free_chunks(ix->chunks, ix->nchunks);
	buf_release(&ix->scratch);
	free(ix);
}

/* Checks the key's length and fills p. */
static ALWAYS_INLINE int make_probe_m(const index_map *ix, const uint8_t *key, size_t len, probe *p,
                                      int mode)
{
	if (key_len_ok(&ix->kd, len))
		return FLOE_EINVAL;
	/* Every field is set, so an entry can be built from any probe. */
	p->key = key;
	p->len = len;
	p->k0 = p->k1 = 0;
	if (mode == MODE_I1) {
		p->k0 = be_n(key, len);
		p->hash = hash_i1(p->k0, ix->seed);
	} else if (mode == MODE_I2) {
		p->k0 = get_be64(key);
		p->k1 = be_n(key + 8, len - 8);
		p->hash = hash_i2(p->k0, p->k1, ix->seed);
	} else {
		p->hash = hash_bytes(key, len, ix->seed);
	}
	p->hash &= ix->hash_mask;
	return 0;
}

static int make_probe(const index_map *ix, const uint8_t *key, size_t len, probe *p)
{
	return BY_MODE(ix, make_probe_m, ix, key, len, p);
}

static void set_loc(index_map *ix, uint64_t *s, uint64_t loc)
{
	ix->mem_count -= index_loc_is_mem(~s[0]);
	ix->mem_count += index_loc_is_mem(loc);
	s[0] = ~loc;
}

/* Adds a key known to be absent. FLOE_ENOMEM leaves the index unchanged. */
static int insert_new(index_map *ix, const probe *p, uint64_t loc)
{
	if (ix->count >= ix->grow_at) {
		if (ix->bits >= MAX_BITS || table_resize(ix, ix->bits + 1))
			return FLOE_ENOMEM;
	}
	uint64_t e[3] = {~loc, p->k0, p->k1}; /* the slot's words (file comment) */
	if (ix->mode == MODE_ARENA) {
		e[1] = p->hash;
		if (arena_append(ix, p->key, p->len, 0, 0, &e[2]))
			return FLOE_ENOMEM;
	}
	place(ix, e);
	ix->count++;
	ix->mem_count += index_loc_is_mem(loc);
	return 0;
}

/* Removes the entry in slot i, with its bookkeeping; may compact the arena. */
static void delete_slot(index_map *ix, size_t i)
{
	uint64_t *s = slot_at(ix, i);
	ix->mem_count -= index_loc_is_mem(~s[0]);
	ix->count--;
	if (ix->mode == MODE_ARENA) {
		size_t len;
		arena_key(ix, s[2], &len);
		size_t sz = varint_len(len) + len;
		ix->arena_live -= sz;
		ix->arena_dead += sz;
	}
	remove_at(ix, i);
	/* Amortised: the copy costs the live bytes, paid for by as many dead
	 * ones. Without memory we simply keep the dead bytes for now. */
	if (ix->arena_dead > ix->arena_live && ix->arena_dead >= ARENA_MIN_DEAD)
		(void)arena_compact(ix);
}

/* The location of the key p describes, or INDEX_LOC_NONE. */
static ALWAYS_INLINE uint64_t probe_loc_m(const index_map *ix, const probe *p, int mode)
{
	size_t i = find_m(ix, p, mode);
	return i == NO_SLOT ? INDEX_LOC_NONE : ~ix->slots[i * mode_stride(mode)];
}

static ALWAYS_INLINE int lookup_m(const index_map *ix, const uint8_t *key, size_t len,
                                  uint64_t *loc_out, int mode)
{
	probe p;
	*loc_out = INDEX_LOC_NONE;
	if (make_probe_m(ix, key, len, &p, mode))
		return FLOE_EINVAL;
	*loc_out = probe_loc_m(ix, &p, mode);
	return 0;
}

int index_lookup(const index_map *ix, const uint8_t *key, size_t len, uint64_t *loc_out)
{
	if (ix->kd.multi) {
		*loc_out = INDEX_LOC_NONE;
		return FLOE_EINVAL;
	}
	return BY_MODE(ix, lookup_m, ix, key, len, loc_out);
}

static ALWAYS_INLINE int lookup_many_m(const index_map *ix, const uint8_t *keys, const size_t *offs,
                                       size_t n, uint64_t *locs, int mode)
{
	probe ring[LOOKAHEAD];
	size_t w = ix->kd.width;
	for (size_t i = 0; i < n + LOOKAHEAD; i++) {
		probe *p = &ring[i % LOOKAHEAD]; /* key i - LOOKAHEAD, then key i */
		if (i >= LOOKAHEAD)
			locs[i - LOOKAHEAD] = probe_loc_m(ix, p, mode);
		if (i < n) {
			const uint8_t *k = offs ? keys + offs[i] : keys + i * w;
			size_t len = offs ? offs[i + 1] - offs[i] : w;
			if (make_probe_m(ix, k, len, p, mode))
				return FLOE_EINVAL;
			prefetch_home(ix, p->hash);
		}
	}
	return 0;
}

int index_lookup_many(const index_map *ix, const uint8_t *keys, const size_t *offs, size_t n,
                      uint64_t *locs)
{
	if ((!offs && !ix->kd.width) || ix->kd.multi)
		return FLOE_EINVAL;
	return BY_MODE(ix, lookup_many_m, ix, keys, offs, n, locs);
}

int index_put(index_map *ix, const uint8_t *key, size_t len, uint64_t loc, uint64_t *old_out)
{
	if (old_out)
		*old_out = INDEX_LOC_NONE;
	probe p;
	if (ix->kd.multi || loc == INDEX_LOC_NONE || make_probe(ix, key, len, &p))
		return FLOE_EINVAL;
	size_t i = find_slot(ix, &p);
	if (i == NO_SLOT)
		return insert_new(ix, &p, loc);
	uint64_t *s = slot_at(ix, i);
	if (old_out)
		*old_out = ~s[0];
	set_loc(ix, s, loc);
	return 0;
}

int index_remove(index_map *ix, const uint8_t *key, size_t len, uint64_t *old_out)
{
	if (old_out)
		*old_out = INDEX_LOC_NONE;
	probe p;
	if (ix->kd.multi || make_probe(ix, key, len, &p))
		return FLOE_EINVAL;
	size_t i = find_slot(ix, &p);
	if (i == NO_SLOT)
		return 0;
	if (old_out)
		*old_out = ~slot_at(ix, i)[0];
	delete_slot(ix, i);
	return 0;
}

int index_remap_key(index_map *ix, const uint8_t *key, size_t len, uint64_t expect_loc,
                    uint64_t new_loc, int *done)
{
	if (done)
		*done = 0;
	probe p;
	if (ix->kd.multi || new_loc == INDEX_LOC_NONE || make_probe(ix, key, len, &p))
		return FLOE_EINVAL;
	size_t i = find_slot(ix, &p);
	if (i == NO_SLOT || ~slot_at(ix, i)[0] != expect_loc)
		return 0;
	set_loc(ix, slot_at(ix, i), new_loc);
	if (done)
		*done = 1;
	return 0;
}

/* ---- many keys at once -----------------------------------------------------
 * One probe per key, in batch order, each home slot prefetched LOOKAHEAD
 * keys before its probe (lookup_many_m's ring), so the cache misses of a
 * large table overlap. (Visiting the keys sorted by home slot was tried: on
 * the development VM the sort's scratch memory cost more in first-touch
 * page faults than the ordered walk saved.) */

/* The probes of keys[0..n) (offs as index_lookup_many), one at a time into
 * ring slots: probe_at fills ring[i % LOOKAHEAD] for key i. */
static ALWAYS_INLINE int probe_at(const index_map *ix, const uint8_t *keys, const size_t *offs,
                                  size_t i, probe *ring)
{
	size_t w = ix->kd.width;
	probe *p = &ring[i % LOOKAHEAD];
	int rc = make_probe(ix, offs ? keys + offs[i] : keys + i * w,
	                    offs ? offs[i + 1] - offs[i] : w, p);
	if (rc == 0)
		prefetch_home(ix, p->hash);
	return rc;
}

/* FLOE_EINVAL unless every key has a good length and every location is one. */
static int many_valid(const index_map *ix, const uint8_t *keys, const size_t *offs, size_t n,
                      const uint64_t *locs)
{
	if (ix->kd.multi || (!offs && !ix->kd.width))
		return FLOE_EINVAL;
	size_t w = ix->kd.width;
	for (size_t i = 0; i < n; i++)
		if (locs[i] == INDEX_LOC_NONE ||
		    key_len_ok(&ix->kd, offs ? offs[i + 1] - offs[i] : w))
			return FLOE_EINVAL;
	(void)keys;
	return 0;
}

int index_put_many(index_map *ix, const uint8_t *keys, const size_t *offs, size_t n,
                   const uint64_t *locs, uint64_t *olds)
{
	int rc = many_valid(ix, keys, offs, n, locs);
	probe ring[LOOKAHEAD];
	for (size_t i = 0; i < n + LOOKAHEAD && rc == 0; i++) {
		if (i >= LOOKAHEAD) {
			size_t k = i - LOOKAHEAD;
			const probe *p = &ring[k % LOOKAHEAD];
			size_t at = find_slot(ix, p);
			if (at == NO_SLOT) {
				olds[k] = INDEX_LOC_NONE;
				rc = insert_new(ix, p, locs[k]);
			} else {
				olds[k] = ~slot_at(ix, at)[0];
				set_loc(ix, slot_at(ix, at), locs[k]);
			}
		}
		if (i < n && rc == 0)
			rc = probe_at(ix, keys, offs, i, ring);
	}
	return rc;
}

int index_remap_many(index_map *ix, const uint8_t *keys, const size_t *offs, size_t n,
                     const uint64_t *expect, const uint64_t *new_locs, size_t *remapped)
{
	if (remapped)
		*remapped = 0;
	int rc = many_valid(ix, keys, offs, n, new_locs);
	probe ring[LOOKAHEAD];
	for (size_t i = 0; i < n + LOOKAHEAD && rc == 0; i++) {
		if (i >= LOOKAHEAD) {
			size_t k = i - LOOKAHEAD, at = find_slot(ix, &ring[k % LOOKAHEAD]);
			if (at != NO_SLOT && ~slot_at(ix, at)[0] == expect[k]) {
				set_loc(ix, slot_at(ix, at), new_locs[k]);
				if (remapped)
					++*remapped;
			}
		}
		if (i < n)
			rc = probe_at(ix, keys, offs, i, ring);
	}
	return rc;
}

/* ---- multimap ------------------------------------------------------------
 * Copy n of key K is the arena entry K || n (COPY_LEN bytes, big-endian) in
 * a slot whose hash is derived from K's hash and n (copy_hash), so all the
 * probes for one key hash its bytes once. Invariant: the copies of a key are
 * numbered 0 .. copies - 1 without gaps (add appends, take removes the last,
 * remap changes locations only, a failed load takes back what it added). */

typedef struct mkey {
	const uint8_t *key;
	size_t len;
	uint64_t base; /* hash of the key bytes */
} mkey;

static int mkey_make(const index_map *ix, const uint8_t *key, size_t len, mkey *m)
{
	if (!ix->kd.multi || key_len_ok(&ix->kd, len))
		return FLOE_EINVAL;
	m->key = key;
	m->len = len;
	m->base = hash_bytes(key, len, ix->seed);
	return 0;
}

static uint64_t copy_hash(const index_map *ix, uint64_t base, uint64_t n)
{
	return fmix64(base + (n + 1) * UINT64_C(0x9e3779b97f4a7c15)) & ix->hash_mask;
}

/* The slot of copy n of m, or NO_SLOT. */
static size_t find_copy(const index_map *ix, const mkey *m, uint64_t n)
{
	if (n >= COPY_MAX)
		return NO_SLOT;
	uint64_t h = copy_hash(ix, m->base, n);
	size_t i = home_of(ix, h);
	for (size_t d = 0;; d++, i = (i + 1) & ix->mask) {
		const uint64_t *s = slot_at(ix, i);
		if (!s[0])
			return NO_SLOT;
		if (s[1] == h) {
			size_t el;
			const uint8_t *e = arena_key(ix, s[2], &el);
			if (el == m->len + COPY_LEN && memcmp(e, m->key, m->len) == 0 &&
			    get_be32(e + m->len) == n)
				return i;
		}
		if (slot_dist(ix, i, s, MODE_ARENA) < d)
			return NO_SLOT;
	}
}

/* The number of copies of m: copy n exists iff n < copies, so double, then
 * bisect: O(log copies) probes. */
static uint64_t copies_of(const index_map *ix, const mkey *m)
{
	if (find_copy(ix, m, 0) == NO_SLOT)
		return 0;
	uint64_t lo = 0, hi = 1; /* copy lo exists; hi is not known yet */
	while (find_copy(ix, m, hi) != NO_SLOT) {
		lo = hi;
		hi *= 2; /* stops by COPY_MAX: find_copy says no from there */
	}
	while (hi - lo > 1) { /* lo exists, hi does not */
		uint64_t mid = lo + (hi - lo) / 2;
		if (find_copy(ix, m, mid) != NO_SLOT)
			lo = mid;
		else
			hi = mid;
	}
	return lo + 1;
}

/* Adds copy n (= the current number of copies) of m at loc. FLOE_ENOMEM
 * leaves the index unchanged (but perhaps grown). */
static int insert_copy(index_map *ix, const mkey *m, uint64_t n, uint64_t loc)
{
	if (ix->adds_left != SIZE_MAX && ix->adds_left-- == 0) {
		ix->adds_left = 0;
		return FLOE_ENOMEM;
	}
	if (ix->count >= ix->grow_at) {
		if (ix->bits >= MAX_BITS || table_resize(ix, ix->bits + 1))
			return FLOE_ENOMEM;
	}
	uint64_t e[3] = {~loc, copy_hash(ix, m->base, n), 0};
	if (arena_append(ix, m->key, m->len, 1, (uint32_t)n, &e[2]))
		return FLOE_ENOMEM;
	place(ix, e);
	ix->count++;
	ix->mem_count += index_loc_is_mem(loc);
	return 0;
}

/* Removes the last copy of m; its location, or INDEX_LOC_NONE. */
static uint64_t take_copy(index_map *ix, const mkey *m)
{
	uint64_t n = copies_of(ix, m);
	if (n == 0)
		return INDEX_LOC_NONE;
	size_t i = find_copy(ix, m, n - 1);
	uint64_t loc = ~slot_at(ix, i)[0];
	delete_slot(ix, i);
	return loc;
}

int index_multi_add(index_map *ix, const uint8_t *key, size_t len, uint64_t loc)
{
	mkey m;
	if (loc == INDEX_LOC_NONE || mkey_make(ix, key, len, &m))
		return FLOE_EINVAL;
	uint64_t n = copies_of(ix, &m);
	if (n >= COPY_MAX)
		return FLOE_ETOOBIG;
	return insert_copy(ix, &m, n, loc);
}

int index_multi_take(index_map *ix, const uint8_t *key, size_t len, uint64_t *loc_out)
{
	mkey m;
	*loc_out = INDEX_LOC_NONE;
	if (mkey_make(ix, key, len, &m))
		return FLOE_EINVAL;
	*loc_out = take_copy(ix, &m);
	return 0;
}

int index_multi_count(const index_map *ix, const uint8_t *key, size_t len, size_t *n)
{
	mkey m;
	*n = 0;
	if (mkey_make(ix, key, len, &m))
		return FLOE_EINVAL;
	*n = (size_t)copies_of(ix, &m);
	return 0;
}

/* The slot of the copy of m (of cnt copies) located at mem location target,
 * or NO_SLOT. Bisects for the first copy that is in memory with an ordinal
 * >= target's (index.h: right when the memory copies' ordinals grow with
 * their copy numbers), and walks all copies when that is not the one. */
static size_t find_mem_copy(const index_map *ix, const mkey *m, uint64_t cnt, uint64_t target)
{
	uint64_t lo = 0, hi = cnt;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		size_t i = find_copy(ix, m, mid);
		if (i == NO_SLOT) /* cannot happen (contiguous copies) */
			break;
		uint64_t loc = ~slot_at(ix, i)[0];
		if (index_loc_is_mem(loc) && loc >= target)
			hi = mid;
		else
			lo = mid + 1;
	}
	size_t i = lo < cnt ? find_copy(ix, m, lo) : NO_SLOT;
	if (i != NO_SLOT && ~slot_at(ix, i)[0] == target)
		return i;
	for (uint64_t n = 0; n < cnt; n++) {
		i = find_copy(ix, m, n);
		if (i != NO_SLOT && ~slot_at(ix, i)[0] == target)
			return i;
	}
	return NO_SLOT;
}

int index_remap_memory(index_map *ix, const batch *b, uint64_t first_ordinal, const uint64_t *pos,
                       uint32_t file_id, size_t *remapped, char *err)
{
	if (remapped)
		*remapped = 0;
	if (file_id > INDEX_FILE_ID_MAX)
		return errf(err, FLOE_EINVAL, "file id %" PRIu32 " is out of range", file_id);
	if (b->nrows &&
	    (first_ordinal > INDEX_MEM_ORD_MAX || b->nrows - 1 > INDEX_MEM_ORD_MAX - first_ordinal))
		return errf(err, FLOE_EINVAL, "memory row ordinals out of range");
	int rc = keydesc_check_batch(&ix->kd, b, err);
	if (rc)
		return rc;
	for (size_t r = 0; r < b->nrows; r++)
		if (pos[r] != INDEX_POS_NONE && pos[r] > INDEX_POS_MAX)
			return errf(err, FLOE_EINVAL,
			            "row %zu: position %" PRIu64 " is out of range", r, pos[r]);
	for (size_t r = 0; r < b->nrows; r++) {
		if (pos[r] == INDEX_POS_NONE)
			continue;
		rc = index_key_encode(&ix->kd, b, r, &ix->scratch, err);
		if (rc)
			return rc;
		if (ix->kd.multi) {
			mkey m;
			if (mkey_make(ix, ix->scratch.data, ix->scratch.len, &m))
				return errf(err, FLOE_EINVAL, "row %zu: bad key",
				            r); /* cannot happen */
			uint64_t cnt = copies_of(ix, &m);
			size_t i = find_mem_copy(ix, &m, cnt, index_loc_mem(first_ordinal + r));
			if (i != NO_SLOT) {
				set_loc(ix, slot_at(ix, i), index_loc_file(file_id, pos[r]));
				if (remapped)
					++*remapped;
			}
			continue;
		}
		int done;
		rc = index_remap_key(ix, ix->scratch.data, ix->scratch.len,
		                     index_loc_mem(first_ordinal + r),
		                     index_loc_file(file_id, pos[r]), &done);
		if (rc) /* cannot happen: the key was just encoded for this index */
			return errf(err, rc, "row %zu: bad key", r);
		if (remapped)
			*remapped += (size_t)done;
	}
	return 0;
}

size_t index_count(const index_map *ix)
{
	return ix->count;
}

size_t index_mem_count(const index_map *ix)
{
	return ix->mem_count;
}

size_t index_mem_bytes(const index_map *ix)
{
	return sizeof *ix + ix->cap * ix->stride * sizeof *ix->slots + arena_alloc_bytes(ix) +
	       ix->scratch.cap;
}

int index_compact(index_map *ix)
{
	/* Shrink first: the arena pass then walks the smaller table. */
	unsigned bits = bits_for(ix->count + ix->count / 2);
	if (bits < ix->bits && table_resize(ix, bits))
		return FLOE_ENOMEM;
	if (ix->mode == MODE_ARENA && ix->arena_dead > 0)
		return arena_compact(ix);
	return 0;
}

int index_test_hash_bits(index_map *ix, unsigned bits)
{
	if (ix->count || bits > 64)
		return FLOE_EINVAL;
	ix->hash_mask = bits == 0 ? 0 : UINT64_MAX << (64 - bits);
	return 0;
}

void index_test_fail_adds(index_map *ix, size_t n)
{
	ix->adds_left = n;
}

/* ---- .fidx key lists ---------------------------------------------------- */

void index_fidx_begin(index_fidx *w, const index_keydesc *kd)
{
	memset(w, 0, sizeof *w);
	w->kd = *kd;
	uint8_t hdr[FIDX_FIXED_HDR + INDEX_MAX_COLS] = {'F', 'I', 'D', 'X'};
	size_t n = (size_t)kd->ncols;
	put_le16(hdr + 4, FIDX_VERSION);
	hdr[6] = (uint8_t)n;
	hdr[7] = kd->multi ? FIDX_FLAG_MULTI : 0;
	memcpy(hdr + 8, kd->cls, n);
	put_le32(hdr + 8 + n, kd->width);
	/* count (8 bytes at 12 + n) is filled in by index_fidx_commit */
	buf_append(&w->out, hdr, FIDX_FIXED_HDR + n);
}

int index_fidx_add(index_fidx *w, const uint8_t *key, size_t len)
{
	if (key_len_ok(&w->kd, len))
		return FLOE_EINVAL;
	if (w->kd.width == 0) {
		uint8_t v[3];
		buf_append(&w->out, v, put_varint(v, len));
	}
	buf_append(&w->out, key, len);
	w->count++;
	return buf_ok(&w->out) ? 0 : FLOE_ENOMEM;
}

int index_fidx_add_row(index_fidx *w, const batch *b, size_t row, char *err)
{
	int rc = index_key_encode(&w->kd, b, row, &w->scratch, err);
	if (rc)
		return rc;
	rc = index_fidx_add(w, w->scratch.data, w->scratch.len);
	return rc ? errf(err, rc, "row %zu: out of memory", row) : 0;
}

int index_fidx_add_rows(index_fidx *w, const batch *b, char *err)
{
	int rc = 0;
	if (!w->kd.width) { /* each key after its length */
		for (size_t r = 0; r < b->nrows && rc == 0; r++)
			rc = index_fidx_add_row(w, b, r, err);
		return rc;
	}
	size_t n; /* fixed width: the keys as they are, back to back */
	rc = index_keys_append(&w->kd, b, 0, b->nrows, NULL, &w->out, NULL, &n, err);
	w->count += n;
	return rc;
}

int index_fidx_commit(index_fidx *w, const char *path, char *err)
{
	int rc;
	if (buf_reserve(&w->out, FIDX_CRC_LEN)) { /* also fails if an add ran out */
		rc = errf(err, FLOE_ENOMEM, "%s: out of memory building the key list", path);
		goto done;
	}
	put_le64(w->out.data + 12 + w->kd.ncols, w->count);
	buf_put_le32(&w->out, crc32c(0, w->out.data, w->out.len));
	rc = fs_put_durable(path, w->out.data, w->out.len, err);
done:
	index_fidx_abandon(w);
	return rc;
}

void index_fidx_abandon(index_fidx *w)
{
	buf_release(&w->out);
	buf_release(&w->scratch);
	w->count = 0;
}

/* Walks the keys of a validated .fidx body. */
typedef struct fidx_cursor {
	const uint8_t *p, *end;
	uint32_t width;
} fidx_cursor;

/* The next key; 0, or -1 when the body has no well-formed key left. */
static int fidx_next(fidx_cursor *c, const uint8_t **key, size_t *len)
{
	size_t n = c->width, h = 0;
	if (!c->width && (h = get_varint(c->p, c->end, &n)) == 0)
		return -1;
	if ((size_t)(c->end - c->p) - h < n)
		return -1;
	*key = c->p + h;
	*len = n;
	c->p += h + n;
	return 0;
}

/* Removes the keys that positions [0, upto) of the list added. */
static void fidx_rollback(index_map *ix, fidx_cursor c, uint64_t upto, uint32_t file_id)
{
	const uint8_t *key;
	size_t len;
	for (uint64_t pos = 0; pos < upto && fidx_next(&c, &key, &len) == 0; pos++) {
		probe p;
		if (make_probe(ix, key, len, &p))
			continue;
		size_t i = find_slot(ix, &p);
		if (i != NO_SLOT && ~slot_at(ix, i)[0] == index_loc_file(file_id, pos))
			delete_slot(ix, i);
	}
}

/* Takes back the copies that live positions [0, upto) of the list added to
 * a multi index: each added the last copy of its key, so taking the last
 * copy once per live position leaves every key as it was (the copies it
 * removes may be in another order, but they are all this file's). */
static void fidx_rollback_multi(index_map *ix, fidx_cursor c, uint64_t upto,
                                index_deleted_fn is_deleted, void *arg)
{
	const uint8_t *key;
	size_t len;
	for (uint64_t pos = 0; pos < upto && fidx_next(&c, &key, &len) == 0; pos++) {
		mkey m;
		if ((is_deleted && is_deleted(arg, pos)) || mkey_make(ix, key, len, &m))
			continue;
		(void)take_copy(ix, &m);
	}
}

/* index_load_bytes on a multi index, after the validation and reservation. */
static int load_multi(index_map *ix, fidx_cursor start, uint64_t count, const char *name,
                      uint32_t file_id, index_deleted_fn is_deleted, void *arg, char *err)
{
	fidx_cursor c = start;
	for (uint64_t pos = 0; pos < count; pos++) {
		const uint8_t *key;
		size_t klen;
		fidx_next(&c, &key, &klen); /* validated */
		if (is_deleted && is_deleted(arg, pos))
			continue;
		mkey m;
		int rc = mkey_make(ix, key, klen, &m); /* lengths validated */
		uint64_t n = copies_of(ix, &m);
		if (rc == 0 && n >= COPY_MAX)
			rc = errf(err, FLOE_ETOOBIG,
			          "%s: too many copies of the row at position %" PRIu64, name, pos);
		else if (rc == 0 && insert_copy(ix, &m, n, index_loc_file(file_id, pos)))
			rc = errf(err, FLOE_ENOMEM, "%s: out of memory", name);
		if (rc) {
			fidx_rollback_multi(ix, start, pos, is_deleted, arg);
			return rc;
		}
	}
	return 0;
}

int index_load_bytes(index_map *ix, const uint8_t *data, size_t len, const char *name,
                     uint32_t file_id, index_deleted_fn is_deleted, void *arg, uint64_t *rows_out,
                     char *err)
{
	if (rows_out)
		*rows_out = 0;
	if (file_id > INDEX_FILE_ID_MAX)
		return errf(err, FLOE_EINVAL, "%s: file id %" PRIu32 " is out of range", name,
		            file_id);
	if (len < FIDX_FIXED_HDR + 1 + FIDX_CRC_LEN)
		return errf(err, FLOE_ECORRUPT, "%s: truncated key list (%zu bytes)", name, len);
	size_t body_end = len - FIDX_CRC_LEN;
	if (crc32c(0, data, body_end) != get_le32(data + body_end))
		return errf(err, FLOE_ECORRUPT, "%s: key list checksum mismatch", name);
	/* The CRC is not a parser's safety net: every field is checked below. */
	if (memcmp(data, "FIDX", 4) != 0)
		return errf(err, FLOE_ECORRUPT, "%s: not a key list (bad magic)", name);
	if (get_le16(data + 4) != FIDX_VERSION)
		return errf(err, FLOE_ECORRUPT, "%s: key list version %u is not supported", name,
		            get_le16(data + 4));
	size_t ncols = data[6];
	int multi = data[7] == FIDX_FLAG_MULTI;
	if (ncols < 1 || ncols > (multi ? INDEX_MAX_COLS : INDEX_MAX_KEY_COLS) ||
	    (data[7] != 0 && !multi) || FIDX_FIXED_HDR + ncols > body_end)
		return errf(err, FLOE_ECORRUPT, "%s: bad key list header", name);
	index_keydesc fk = {.ncols = (int)ncols, .multi = (uint8_t)multi};
	for (size_t i = 0; i < ncols; i++) {
		fk.cls[i] = data[8 + i];
		if (!class_ok(fk.cls[i], multi))
			return errf(err, FLOE_ECORRUPT, "%s: unknown key class %u", name,
			            fk.cls[i]);
	}
	keydesc_finish(&fk);
	if (get_le32(data + 8 + ncols) != fk.width)
		return errf(err, FLOE_ECORRUPT, "%s: key width does not match the key columns",
		            name);
	if ((int)ncols != ix->kd.ncols || memcmp(fk.cls, ix->kd.cls, ncols) != 0 ||
	    fk.multi != ix->kd.multi)
		return errf(err, FLOE_EINVAL,
		            "%s: the key list's key columns differ from the table's", name);
	uint64_t count = get_le64(data + 12 + ncols);
	fidx_cursor start = {data + FIDX_FIXED_HDR + ncols, data + body_end, fk.width};
	size_t body = (size_t)(start.end - start.p);
	/* Each key takes at least one byte, which bounds count before any
	 * arithmetic with it. */
	if (count > body || count > INDEX_POS_MAX + 1 ||
	    (fk.width && (body % fk.width != 0 || body / fk.width != count)))
		return errf(err, FLOE_ECORRUPT, "%s: %" PRIu64 " keys do not fill %zu bytes", name,
		            count, body);
	if (!fk.width) {
		fidx_cursor c = start;
		const uint8_t *key;
		size_t klen;
		for (uint64_t pos = 0; pos < count; pos++)
			if (fidx_next(&c, &key, &klen))
				return errf(err, FLOE_ECORRUPT, "%s: key %" PRIu64 " is damaged",
				            name, pos);
		if (c.p != c.end)
			return errf(err, FLOE_ECORRUPT, "%s: bytes after the last key", name);
	}
	if (count > SIZE_MAX - ix->count || index_reserve(ix, ix->count + (size_t)count))
		return errf(err, FLOE_ENOMEM, "%s: out of memory for %" PRIu64 " keys", name,
		            count);
	if (ix->kd.multi) {
		int rc = load_multi(ix, start, count, name, file_id, is_deleted, arg, err);
		if (rc == 0 && rows_out)
			*rows_out = count;
		return rc;
	}

	/* Key i is hashed and its home slot prefetched LOOKAHEAD keys before it
	 * is inserted (as in index_lookup_many); the table does not move in
	 * between because of the reservation above. */
	struct {
		probe p;
		int live;
	} ring[LOOKAHEAD];
	fidx_cursor c = start;
	int rc = 0;
	uint64_t pos = 0;
	for (uint64_t ahead = 0; ahead < count + LOOKAHEAD; ahead++) {
		/* the ring slot holds key ahead - LOOKAHEAD, then key ahead */
		probe *p = &ring[ahead % LOOKAHEAD].p;
		int *live = &ring[ahead % LOOKAHEAD].live;
		if (ahead >= LOOKAHEAD && *live) {
			pos = ahead - LOOKAHEAD;
			size_t i = find_slot(ix, p);
			if (i != NO_SLOT) {
				rc = errf(err, FLOE_EEXIST,
				          "%s: the key at position %" PRIu64
				          " is already in the index (location %#" PRIx64 ")",
				          name, pos, ~slot_at(ix, i)[0]);
				goto fail;
			}
			if (insert_new(ix, p, index_loc_file(file_id, pos))) {
				rc = errf(err, FLOE_ENOMEM, "%s: out of memory", name);
				goto fail;
			}
		}
		if (ahead < count) {
			const uint8_t *key;
			size_t klen;
			fidx_next(&c, &key, &klen); /* validated above */
			*live = !(is_deleted && is_deleted(arg, ahead));
			make_probe(ix, key, klen, p); /* lengths validated above */
			prefetch_home(ix, p->hash);
		}
	}
	if (rows_out)
		*rows_out = count;
	return 0;
fail:
	fidx_rollback(ix, start, pos, file_id);
	return rc;
}

int index_load_file(index_map *ix, const char *path, uint32_t file_id, index_deleted_fn is_deleted,
                    void *arg, uint64_t *rows_out, char *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	if (rows_out)
		*rows_out = 0;
	int rc = fs_read_all(path, &data, &len, err);
	if (rc)
		return rc;
	rc = index_load_bytes(ix, data, len, path, file_id, is_deleted, arg, rows_out, err);
	free(data);
	return rc;
}
