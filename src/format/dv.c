/*
 * dv — deletion vectors: a 64-bit position set and its deletion-vector-v1
 * blob (contract in dv.h). Byte format only; which data file a DV belongs to
 * is the caller's business (puffin.c records it in the footer).
 *
 * Representation. Debian 12's CRoaring (0.2.66) has no 64-bit bitmap in C,
 * so a dv is what the blob is: a sorted array of (key, 32-bit bitmap) parts,
 * key = position >> 32. Invariants:
 *   1. parts[0..n) have strictly ascending keys, each <= DV_MAX_KEY.
 *   2. Every part's bitmap is non-empty and owned by the dv.
 *   3. Every position is <= DV_MAX_POSITION.
 *
 * Blob layout (Iceberg puffin-spec, "deletion-vector-v1"):
 *
 *   bytes  content
 *   4      length = 4 + len(vector), big-endian (it covers magic + vector)
 *   4      magic D1 D3 39 64
 *   n      vector:
 *            8  u64 LE number of 32-bit bitmaps that follow
 *            per bitmap, keys strictly ascending:
 *              4  u32 LE key (position >> 32)
 *              m  the low 32 bits as a portable 32-bit Roaring bitmap
 *   4      CRC-32 (zlib polynomial) of magic + vector, big-endian
 *
 * Portable 32-bit Roaring (RoaringFormatSpec; integers little-endian):
 *   u32 12346, u32 N                      when no container is a run container
 *   u32 12347 | (N - 1) << 16, then ceil(N / 8) bytes: bit k = container k is
 *                                         a run container
 *   N x (u16 key = value >> 16, u16 cardinality - 1)
 *   N x u32 byte offset of the container from the cookie: only when the cookie
 *                                         is 12346 or N >= 4
 *   the containers, in key order:
 *     run     u16 R, then R x (u16 start, u16 length - 1)
 *     bitset  not run and cardinality > 4096: 1024 u64 words, bit v = value v
 *     array   not run and cardinality <= 4096: the values, ascending u16
 *
 * Worked example, positions {1,3,5}:
 *   00000026 d1d33964 0100000000000000 00000000
 *   3a300000 01000000 0000 0200 10000000 0100 0300 0500 5a9e5d39
 *
 * We write one bitmap per non-empty key, run-optimised (the smallest of
 * array / bitset / run per container, as Java's runOptimize picks). Java
 * writes a bitmap for every key from 0 up, empty ones included; dv_parse_blob
 * accepts those and drops them, and Java reads our sparse keys (it fills the
 * gaps itself).
 *
 * Rules dv_parse_blob enforces (any break is FLOE_ECORRUPT with the reason):
 *   1. The blob is exactly length + 8 bytes; magic; CRC.
 *   2. The vector holds at least the count, and the count is at most what
 *      the bytes can hold (each bitmap needs a 4-byte key and an 8-byte empty
 *      bitmap), so a corrupt count cannot drive allocation or looping.
 *   3. Keys strictly ascending and <= DV_MAX_KEY; positions <= DV_MAX_POSITION.
 *   4. Each portable bitmap: a known cookie; N <= 65536; every byte in bounds;
 *      container keys strictly ascending; offsets, when present, pointing
 *      exactly at their containers; arrays strictly ascending; a bitset's
 *      popcount equal to its header cardinality; runs non-empty, within 16
 *      bits, ascending and not overlapping, their lengths summing to the
 *      header cardinality.
 *   5. The vector ends exactly after the last bitmap.
 * These are checked here before CRoaring sees the bytes because 0.2.66's
 * roaring_bitmap_portable_deserialize_safe checks bounds only: it trusts
 * header cardinalities, container order, array order and run shapes (and then
 * answers contains / cardinality wrongly), turns a negative container count
 * into a huge allocation, and prints to stderr. The serializer runs the same
 * checks on CRoaring's output, so a library bug cannot put a bitmap readers
 * misread (spec pitfall 11) into a file.
 */
#include "format/dv.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <roaring/roaring.h>

#include "base/err.h"

/* Portable Roaring constants (RoaringFormatSpec). */
#define DV_COOKIE_NO_RUN    12346u
#define DV_COOKIE_RUN       12347u
#define DV_NO_OFFSET_LIMIT  4u /* with runs, offsets only from this many containers */
#define DV_MAX_CONTAINERS   65536u
#define DV_ARRAY_MAX        4096u /* more values than this make a bitset */
#define DV_BITSET_BYTES     8192u
#define DV_MIN_BITMAP_BYTES 8u /* an empty bitmap: cookie 12346 + count 0 */
/* Low 32 bits allowed under DV_MAX_KEY (invariant 3). */
#define DV_MAX_LOW_AT_MAX_KEY ((uint32_t)DV_MAX_POSITION)

struct dv_part {
	uint32_t key;
	roaring_bitmap_t *bm;
};

struct dv {
	struct dv_part *parts;
	size_t n;
	size_t cap;
};

int dv_new(dv **out)
{
	*out = calloc(1, sizeof **out);
	return *out ? 0 : FLOE_ENOMEM;
}

void dv_free(dv *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		roaring_bitmap_free(d->parts[i].bm);
	free(d->parts);
	free(d);
}

/* Index of key in d->parts, or where it would be inserted; *found says which. */
static size_t dv_find(const dv *d, uint32_t key, bool *found)
{
	size_t lo = 0, hi = d->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (d->parts[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < d->n && d->parts[lo].key == key;
	return lo;
}

/* Inserts (key, bm) at index i, taking ownership of bm only on success. */
static int dv_insert(dv *d, size_t i, uint32_t key, roaring_bitmap_t *bm)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 4;
		struct dv_part *p = realloc(d->parts, cap * sizeof *p);
		if (!p)
			return FLOE_ENOMEM;
		d->parts = p;
		d->cap = cap;
	}
	memmove(d->parts + i + 1, d->parts + i, (d->n - i) * sizeof *d->parts);
	d->parts[i] = (struct dv_part){key, bm};
	d->n++;
	return 0;
}

int dv_add(dv *d, uint64_t pos)
{
	if (pos > DV_MAX_POSITION)
		return FLOE_EINVAL;
	uint32_t key = (uint32_t)(pos >> 32);
	bool found;
	size_t i = dv_find(d, key, &found);
	if (!found) {
		roaring_bitmap_t *bm = roaring_bitmap_create();
		if (!bm)
			return FLOE_ENOMEM;
		if (dv_insert(d, i, key, bm)) {
			roaring_bitmap_free(bm);
			return FLOE_ENOMEM;
		}
	}
	roaring_bitmap_add(d->parts[i].bm, (uint32_t)pos);
	return 0;
}

bool dv_contains(const dv *d, uint64_t pos)
{
	if (pos > DV_MAX_POSITION)
		return false;
	bool found;
	size_t i = dv_find(d, (uint32_t)(pos >> 32), &found);
	return found && roaring_bitmap_contains(d->parts[i].bm, (uint32_t)pos);
}

uint64_t dv_cardinality(const dv *d)
{
	uint64_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += roaring_bitmap_get_cardinality(d->parts[i].bm);
	return n;
}

/*
 * All allocation happens first (copies of src's bitmaps whose keys dst lacks,
 * and the merged part array), so a failure leaves dst as it was; the merge
 * that follows cannot fail.
 */
int dv_union(dv *dst, const dv *src)
{
	if (dst == src || src->n == 0)
		return 0;
	size_t cap = dst->n + src->n;
	roaring_bitmap_t **fresh = calloc(src->n, sizeof *fresh);
	struct dv_part *merged = malloc(cap * sizeof *merged);
	if (!fresh || !merged)
		goto fail;
	for (size_t j = 0; j < src->n; j++) {
		bool found;
		dv_find(dst, src->parts[j].key, &found);
		if (found)
			continue;
		fresh[j] = roaring_bitmap_copy(src->parts[j].bm);
		if (!fresh[j])
			goto fail;
	}
	size_t i = 0, j = 0, k = 0;
	while (i < dst->n || j < src->n) {
		if (j == src->n || (i < dst->n && dst->parts[i].key < src->parts[j].key)) {
			merged[k++] = dst->parts[i++];
		} else if (fresh[j]) {
			merged[k++] = (struct dv_part){src->parts[j].key, fresh[j]};
			j++;
		} else {
			/* src's key exists in dst, and every smaller dst key has
			 * been taken, so it is parts[i]. */
			roaring_bitmap_or_inplace(dst->parts[i].bm, src->parts[j].bm);
			merged[k++] = dst->parts[i++];
			j++;
		}
	}
	free(fresh);
	free(dst->parts);
	dst->parts = merged;
	dst->n = k;
	dst->cap = cap;
	return 0;
fail:
	if (fresh)
		for (size_t f = 0; f < src->n; f++)
			if (fresh[f])
				roaring_bitmap_free(fresh[f]);
	free(fresh);
	free(merged);
	return FLOE_ENOMEM;
}

struct dv_iter_ctx {
	uint64_t high;
	dv_iter_fn fn;
	void *arg;
	int rc;
};

static bool dv_iter_one(uint32_t low, void *p)
{
	struct dv_iter_ctx *c = p;
	c->rc = c->fn(c->arg, c->high | low);
	return c->rc == 0;
}

int dv_iterate(const dv *d, dv_iter_fn fn, void *arg)
{
	struct dv_iter_ctx c = {.fn = fn, .arg = arg};
	for (size_t i = 0; i < d->n; i++) {
		c.high = (uint64_t)d->parts[i].key << 32;
		if (!roaring_iterate(d->parts[i].bm, dv_iter_one, &c))
			return c.rc;
	}
	return 0;
}

/* ---- portable Roaring validation ---------------------------------------- */

/* Walks the containers of a portable bitmap whose header starts at p. */
struct dv_portable {
	const uint8_t *p;
	size_t n;   /* bytes available from p */
	size_t pos; /* next unread byte; pos <= n */
	uint32_t key;
	char *err;
};

static int dv_short(struct dv_portable *r, size_t need, const char *what)
{
	return errf(r->err, FLOE_ECORRUPT,
	            "dv: bitmap for key %" PRIu32 ": %s needs %zu bytes at offset %zu, %zu left",
	            r->key, what, need, r->pos, r->n - r->pos);
}

static int dv_bad(struct dv_portable *r, uint32_t c, const char *what)
{
	return errf(r->err, FLOE_ECORRUPT,
	            "dv: bitmap for key %" PRIu32 ": container %" PRIu32 ": %s", r->key, c, what);
}

/* Checks one run container at r->pos holding `card` values. */
static int dv_check_run(struct dv_portable *r, uint32_t c, uint32_t card)
{
	if (r->n - r->pos < 2)
		return dv_short(r, 2, "run count");
	uint32_t nruns = get_le16(r->p + r->pos);
	r->pos += 2;
	if (nruns == 0)
		return dv_bad(r, c, "run container with no runs");
	if (r->n - r->pos < 4 * (size_t)nruns)
		return dv_short(r, 4 * (size_t)nruns, "runs");
	uint32_t sum = 0;
	int32_t prev_end = -1;
	for (uint32_t i = 0; i < nruns; i++) {
		const uint8_t *q = r->p + r->pos + 4 * (size_t)i;
		uint32_t start = get_le16(q), lenm1 = get_le16(q + 2);
		if (start + lenm1 > 0xFFFF)
			return dv_bad(r, c, "run extends past 65535");
		if ((int32_t)start <= prev_end)
			return dv_bad(r, c, "runs overlap or are not ascending");
		prev_end = (int32_t)(start + lenm1);
		sum += lenm1 + 1;
	}
	r->pos += 4 * (size_t)nruns;
	if (sum != card)
		return dv_bad(r, c, "run lengths do not add up to the header cardinality");
	return 0;
}

static int dv_check_bitset(struct dv_portable *r, uint32_t c, uint32_t card)
{
	if (r->n - r->pos < DV_BITSET_BYTES)
		return dv_short(r, DV_BITSET_BYTES, "bitset container");
	uint32_t ones = 0;
	for (size_t i = 0; i < DV_BITSET_BYTES; i += 8)
		ones += (uint32_t)__builtin_popcountll(get_le64(r->p + r->pos + i));
	r->pos += DV_BITSET_BYTES;
	if (ones != card)
		return dv_bad(r, c, "bitset popcount differs from the header cardinality");
	return 0;
}

static int dv_check_array(struct dv_portable *r, uint32_t c, uint32_t card)
{
	if (r->n - r->pos < 2 * (size_t)card)
		return dv_short(r, 2 * (size_t)card, "array container");
	const uint8_t *q = r->p + r->pos;
	for (uint32_t i = 1; i < card; i++)
		if (get_le16(q + 2 * (size_t)i) <= get_le16(q + 2 * (size_t)(i - 1)))
			return dv_bad(r, c, "array values not ascending");
	r->pos += 2 * (size_t)card;
	return 0;
}

/*
 * Checks the portable bitmap at p (at most n bytes; it may be followed by
 * other data) against rule 4; on success *used is its size and *card its
 * cardinality. key only labels messages.
 */
static int dv_check_portable(const uint8_t *p, size_t n, uint32_t key, size_t *used, uint64_t *card,
                             char *err)
{
	struct dv_portable r = {.p = p, .n = n, .key = key, .err = err};
	const uint8_t *runflags = NULL;
	uint32_t count;
	if (n < 4)
		return dv_short(&r, 4, "cookie");
	uint32_t cookie = get_le32(p);
	if ((cookie & 0xFFFF) == DV_COOKIE_RUN) {
		count = (cookie >> 16) + 1;
		r.pos = 4;
		size_t nflags = (count + 7) / 8;
		if (n - r.pos < nflags)
			return dv_short(&r, nflags, "run flags");
		runflags = p + r.pos;
		r.pos += nflags;
	} else if (cookie == DV_COOKIE_NO_RUN) {
		if (n < 8)
			return dv_short(&r, 8, "container count");
		count = get_le32(p + 4);
		r.pos = 8;
		if (count > DV_MAX_CONTAINERS)
			return errf(err, FLOE_ECORRUPT,
			            "dv: bitmap for key %" PRIu32 ": %" PRIu32
			            " containers (at most %u)",
			            key, count, DV_MAX_CONTAINERS);
	} else {
		return errf(err, FLOE_ECORRUPT,
		            "dv: bitmap for key %" PRIu32 ": unknown cookie 0x%08" PRIx32, key,
		            cookie);
	}
	if (n - r.pos < 4 * (size_t)count)
		return dv_short(&r, 4 * (size_t)count, "container keys");
	const uint8_t *keycards = p + r.pos;
	r.pos += 4 * (size_t)count;
	const uint8_t *offsets = NULL;
	if (!runflags || count >= DV_NO_OFFSET_LIMIT) {
		if (n - r.pos < 4 * (size_t)count)
			return dv_short(&r, 4 * (size_t)count, "container offsets");
		offsets = p + r.pos;
		r.pos += 4 * (size_t)count;
	}
	uint64_t total = 0;
	for (uint32_t c = 0; c < count; c++) {
		uint32_t ckey = get_le16(keycards + 4 * (size_t)c);
		uint32_t ccard = (uint32_t)get_le16(keycards + 4 * (size_t)c + 2) + 1;
		if (c > 0 && ckey <= get_le16(keycards + 4 * (size_t)(c - 1)))
			return dv_bad(&r, c, "container keys not ascending");
		if (offsets && get_le32(offsets + 4 * (size_t)c) != r.pos)
			return dv_bad(&r, c, "offset header does not point at the container");
		int rc;
		if (runflags && (runflags[c / 8] >> (c % 8)) & 1)
			rc = dv_check_run(&r, c, ccard);
		else if (ccard > DV_ARRAY_MAX)
			rc = dv_check_bitset(&r, c, ccard);
		else
			rc = dv_check_array(&r, c, ccard);
		if (rc)
			return rc;
		total += ccard;
	}
	*used = r.pos;
	*card = total;
	return 0;
}

/* ---- blob ---------------------------------------------------------------- */

/* Appends key and the run-optimised portable bitmap of one part to out. */
static int dv_put_part(const struct dv_part *part, buf *out)
{
	int rc;
	roaring_bitmap_t *tmp = roaring_bitmap_copy(part->bm);
	if (!tmp)
		return FLOE_ENOMEM;
	roaring_bitmap_run_optimize(tmp);
	size_t size = roaring_bitmap_portable_size_in_bytes(tmp);
	buf_put_le32(out, part->key);
	if (buf_reserve(out, size)) {
		rc = FLOE_ENOMEM;
		goto fail;
	}
	uint8_t *at = out->data + out->len;
	size_t used;
	uint64_t card;
	if (roaring_bitmap_portable_serialize(tmp, (char *)at) != size ||
	    dv_check_portable(at, size, part->key, &used, &card, NULL) || used != size ||
	    card != roaring_bitmap_get_cardinality(part->bm)) {
		rc = FLOE_ECORRUPT;
		goto fail;
	}
	out->len += size;
	rc = 0;
fail:
	roaring_bitmap_free(tmp);
	return rc;
}

int dv_serialize_blob(const dv *d, buf *out)
{
	size_t start = out->len;
	int rc = FLOE_ENOMEM;
	uint8_t head[16];
	put_be32(head, 0); /* length, patched below */
	memcpy(head + 4, DV_MAGIC, 4);
	put_le64(head + 8, d->n);
	buf_append(out, head, sizeof head);
	if (!buf_ok(out))
		goto fail;
	for (size_t i = 0; i < d->n; i++)
		if ((rc = dv_put_part(&d->parts[i], out)))
			goto fail;
	/* Java reads the length as a signed int and the blob length as
	 * length + 8, so keep both within int32. */
	size_t len = out->len - start - 4;
	if (len > (size_t)INT32_MAX - 8) {
		rc = FLOE_ETOOBIG;
		goto fail;
	}
	put_be32(out->data + start, (uint32_t)len);
	uint32_t crc = (uint32_t)crc32(0L, out->data + start + 4, (uInt)len);
	buf_put_be32(out, crc);
	if (!buf_ok(out)) {
		rc = FLOE_ENOMEM;
		goto fail;
	}
	return 0;
fail:
	out->len = start;
	return rc;
}

/* Rules 2-5 over the vector v[0..n), filling d. */
static int dv_parse_vector(const uint8_t *v, size_t n, dv *d, char *err)
{
	int rc;
	roaring_bitmap_t *bm = NULL;
	if (n < 8)
		return errf(err, FLOE_ECORRUPT,
		            "dv: vector of %zu bytes has no room for its bitmap count", n);
	uint64_t count = get_le64(v);
	size_t room = (n - 8) / (4 + DV_MIN_BITMAP_BYTES);
	if (count > room)
		return errf(err, FLOE_ECORRUPT,
		            "dv: bitmap count %" PRIu64 " exceeds what %zu vector bytes can hold",
		            count, n);
	size_t pos = 8;
	int64_t prev = -1; /* last key read, empty bitmaps included */
	for (uint64_t i = 0; i < count; i++) {
		if (n - pos < 4)
			return errf(err, FLOE_ECORRUPT,
			            "dv: bitmap %" PRIu64 ": no room for its key", i);
		uint32_t key = get_le32(v + pos);
		pos += 4;
		if (key > DV_MAX_KEY)
			return errf(err, FLOE_ECORRUPT,
			            "dv: bitmap key %" PRIu32
			            " exceeds the largest allowed (%" PRIu32 ")",
			            key, DV_MAX_KEY);
		if ((int64_t)key <= prev)
			return errf(err, FLOE_ECORRUPT,
			            "dv: bitmap key %" PRIu32 " does not ascend (previous %" PRId64
			            ")",
			            key, prev);
		prev = key;
		size_t used;
		uint64_t card;
		if ((rc = dv_check_portable(v + pos, n - pos, key, &used, &card, err)))
			return rc;
		bm = roaring_bitmap_portable_deserialize_safe((const char *)v + pos, used);
		if (!bm)
			return errf(err, FLOE_ENOMEM,
			            "dv: out of memory decoding bitmap for key %" PRIu32, key);
		if (roaring_bitmap_get_cardinality(bm) != card ||
		    roaring_bitmap_portable_size_in_bytes(bm) != used) {
			rc = errf(err, FLOE_ECORRUPT,
			          "dv: bitmap for key %" PRIu32 ": CRoaring decoded it differently",
			          key);
			goto fail;
		}
		if (key == DV_MAX_KEY && card > 0 &&
		    roaring_bitmap_maximum(bm) > DV_MAX_LOW_AT_MAX_KEY) {
			rc = errf(err, FLOE_ECORRUPT, "dv: position beyond %" PRIu64,
			          DV_MAX_POSITION);
			goto fail;
		}
		pos += used;
		if (card == 0) {
			/* Java pads missing keys with empty bitmaps. */
			roaring_bitmap_free(bm);
			bm = NULL;
			continue;
		}
		if (dv_insert(d, d->n, key, bm)) {
			rc = errf(err, FLOE_ENOMEM, "dv: out of memory");
			goto fail;
		}
		bm = NULL;
	}
	if (pos != n)
		return errf(err, FLOE_ECORRUPT, "dv: %zu bytes after the last bitmap", n - pos);
	return 0;
fail:
	if (bm)
		roaring_bitmap_free(bm);
	return rc;
}

int dv_parse_blob(const uint8_t *p, size_t n, dv **out, char *err)
{
	int rc;
	dv *d = NULL;
	*out = NULL;
	if (n < DV_BLOB_OVERHEAD)
		return errf(err, FLOE_ECORRUPT, "dv: blob of %zu bytes is shorter than %d", n,
		            DV_BLOB_OVERHEAD);
	uint32_t len = get_be32(p);
	if ((uint64_t)len + 8 != n)
		return errf(err, FLOE_ECORRUPT,
		            "dv: length field %" PRIu32
		            " does not match a blob of %zu bytes (expected %zu)",
		            len, n, n - 8);
	if (memcmp(p + 4, DV_MAGIC, 4) != 0)
		return errf(err, FLOE_ECORRUPT,
		            "dv: bad magic %02x%02x%02x%02x (expected d1d33964)", p[4], p[5], p[6],
		            p[7]);
	uint32_t stored = get_be32(p + 4 + len);
	uint32_t crc = (uint32_t)crc32(0L, p + 4, (uInt)len);
	if (stored != crc)
		return errf(err, FLOE_ECORRUPT,
		            "dv: CRC mismatch: stored %08" PRIx32 ", computed %08" PRIx32, stored,
		            crc);
	if ((rc = dv_new(&d)))
		return errf(err, rc, "dv: out of memory");
	if ((rc = dv_parse_vector(p + 8, len - 4, d, err)))
		goto fail;
	*out = d;
	return 0;
fail:
	dv_free(d);
	return rc;
}
