/*
 * parquet — floe's Parquet file writer (contract in parquet.h). It owns the
 * bytes of one file from "PAR1" to "PAR1"; it knows nothing of tables.
 *
 * File layout
 *   "PAR1"
 *   row group*      column chunk per column, in schema order:
 *                     [dictionary page]  only when some data page of the
 *                                        chunk is RLE_DICTIONARY-encoded
 *                     data page+
 *   ColumnIndex*    one per (row group, column) unless a page of the chunk
 *                   has no valid min/max (all NaN), row groups in order
 *   OffsetIndex*    one per (row group, column)
 *   FileMetaData    thrift compact (see thrift.h)
 *   u32 LE          length of FileMetaData
 *   "PAR1"
 *
 * Page = PageHeader (thrift) + body compressed as a whole with the file's
 * codec (ZSTD frame with content size / raw Snappy / nothing):
 *   dictionary page  DictionaryPageHeader{num_values, PLAIN}; body = the
 *                    dictionary's values in PLAIN, in index order.
 *   data page (v1)   DataPageHeader{num_values (level entries, nulls
 *                    included), encoding, RLE, RLE, Statistics}; body =
 *                    [u32 LE n][n bytes: repetition levels]   lists only
 *                    [u32 LE n][n bytes: definition levels]   optional or list
 *                    values of the non-null entries
 * Lists (spec.list): the schema has the LIST group, the repeated group
 * "list" and the leaf "element"; the one column chunk is the leaf's. A row
 * is one level entry when its list is null (definition level 0) or empty
 * (def_empty), else one entry per element (def_empty + 1 for a null element,
 * max_def for a present one), with repetition level 0 for a row's first
 * entry and 1 for the others.
 * Encodings:
 *   PLAIN            INT32/INT64/FLOAT/DOUBLE little-endian; BOOLEAN one bit
 *                    per value, LSB first, last byte zero-padded; BYTE_ARRAY
 *                    u32 LE length + bytes; FLBA the raw bytes.
 *   RLE hybrid       (definition levels, bit width 1 (lists: of max_def);
 *                    repetition levels, bit width 1; dictionary indices)
 *                    runs of either varint(count << 1) + the value in
 *                    ceil(width/8) LE bytes, or varint(groups << 1 | 1) +
 *                    groups * width bytes holding 8 values per group packed
 *                    LSB first (the final group zero-padded).
 *   RLE_DICTIONARY   one byte bit width (>= 1), then the indices as RLE hybrid
 *                    without a length prefix.
 *   DELTA_BINARY_PACKED (opt-in) header varint(128) varint(4) varint(count)
 *                    zigzag(first); per block of 128 deltas: zigzag(min
 *                    delta), 4 bit-width bytes, then each used miniblock of
 *                    32 (delta - min) values bit-packed LSB first. Deltas wrap
 *                    at the column's width (32 bits for INT32).
 *   DELTA_LENGTH_BYTE_ARRAY (opt-in) the lengths as DELTA_BINARY_PACKED, then
 *                    all bytes concatenated.
 *
 * Choices, and why
 *   - Pages hold at most PQ_PAGE_MAX_ROWS rows and about opts.page_bytes of
 *     PLAIN-sized values: 20,000 rows is parquet-mr's and parquet-rs's page
 *     row limit, small enough that the page index lets readers skip pages.
 *   - Dictionary: every chunk of a non-boolean column starts with one (a
 *     hash table keyed by the value's bits, so NaN payloads and -0.0 stay
 *     distinct). After the chunk's first page, if dictionary + indices are
 *     not smaller than the PLAIN values (parquet-mr's test), the page is
 *     re-encoded PLAIN from the dictionary and the chunk has no dictionary
 *     at all; if the dictionary later outgrows opts.dict_max_bytes, the
 *     pages so far stay RLE_DICTIONARY and the rest of the chunk is PLAIN.
 *   - The bit width of dictionary indices is at least 1 (as Arrow writes):
 *     width 0 is legal but a rare path in readers.
 *   - delta_encodings defaults to 0: Iceberg Java's vectorized (Arrow) reader
 *     read DELTA_BINARY_PACKED only from apache/iceberg#13391 (2025) and
 *     DELTA_LENGTH_BYTE_ARRAY only from #15362 (2026); older Spark/Flink
 *     deployments fail on them. DuckDB, Trino, Spark >= 3.3 and pyarrow read
 *     them, so callers that know their readers may opt in.
 *   - Statistics (page headers, chunk metadata, column index): min/max in
 *     the column's type order, null_count always, nan_count (Statistics 9,
 *     ColumnIndex 8) for floats; float min ±0 is written -0.0 and max ±0
 *     +0.0; BYTE_ARRAY bounds longer than PQ_STAT_MAX_BYTES are truncated (a
 *     STRING on a code point boundary) and the max incremented, with
 *     is_{min,max}_value_exact false. pq_file_result always has exact values.
 *   - ColumnChunk.file_offset is the chunk's first page, as parquet-mr (the
 *     library behind Java Iceberg) writes it; readers ignore it.
 *
 * Invariants
 *   1. Bytes reach the sink strictly in file order; w->offset is the number
 *      of bytes the sink accepted. After any error w->failed is set and the
 *      sink is never called again.
 *   2. A column chunk is buffered (compressed pages) until its row group is
 *      flushed; all columns of a row group hold the same rows.
 *   3. A page starts on a row boundary (a list row is never split, so a page
 *      may pass PQ_PAGE_MAX_ROWS level entries by one long list); the
 *      page_rows of a chunk's pages add up to its rows, their page_levels to
 *      its num_values (equal for a flat column).
 *   4. While dict_on, every buffered index of the page is < dict_n, and the
 *      dictionary's PLAIN bytes (dict_vals) never exceed opts.dict_max_bytes.
 *   5. pq_stats hold exact values; only pq_bounds_of() turns them into the
 *      (possibly truncated) values written to the file.
 *   6. A column's pages are encoded in the work area c->wk (scratch, zstd
 *      context, delta buffer). With opts.threads 2 each of the two threads
 *      writing columns has its own (work[0] the caller's, work[1] the
 *      helper's) and a column is written by one thread at a time, so two
 *      columns' pages are encoded at once; a column's bytes depend only on
 *      its own state, never on the thread. The sink, the row-group flush
 *      and the footer run on the caller's thread, between jobs.
 * One writer per thread; errors are negative FLOE_* codes with a message.
 */
#include "format/parquet.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <snappy-c.h>
#include <zstd.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/parquet_internal.h"
#include "format/thrift.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "parquet.c copies native integers and floats as PLAIN (little-endian) values"
#endif

#define PQ_PAGE_MAX_ROWS   20000
#define PQ_STAT_MAX_BYTES  64
#define PQ_BOUND_TMP       (PQ_STAT_MAX_BYTES + 8)
#define PQ_PAGE_BYTES_MAX  ((size_t)1 << 30) /* page sizes are i32 in PageHeader */
#define PQ_VALUE_MAX       ((uint64_t)INT32_MAX - 64)
#define PQ_DELTA_BLOCK     128
#define PQ_DELTA_MINIBLOCK 32
#define PQ_HASH_MUL        0x9E3779B97F4A7C15ull

/* Exact statistics of a page, chunk or file (invariant 5). */
typedef struct pq_stats {
	int64_t nulls;
	int64_t nans;
	int has; /* min/max hold a value */
	buf min; /* PLAIN without length prefix */
	buf max;
} pq_stats;

/* Statistics as written to the file (see pq_bounds_of). min/max point into
 * the pq_stats they came from, into tmin/tmax, or into a meta buffer. */
typedef struct pq_bounds {
	int64_t nulls;
	int64_t nans;
	int has;
	int min_exact;
	int max_exact;
	const uint8_t *min;
	const uint8_t *max;
	size_t min_len;
	size_t max_len;
	uint8_t tmin[PQ_BOUND_TMP];
	uint8_t tmax[PQ_BOUND_TMP];
} pq_bounds;

/* One data page, for the page index. */
typedef struct pq_page_info {
	int64_t offset;    /* in the chunk's pages buffer */
	int64_t first_row; /* within the row group */
	int64_t nulls;
	int64_t nans;
	int32_t size; /* header + compressed body */
	int null_page;
	size_t min_off, min_len, max_off, max_len; /* bounds, in pq_col.pi_bytes */
} pq_page_info;

/* A finished column chunk, kept for the footer. */
typedef struct pq_chunk_meta {
	int64_t data_page_offset;
	int64_t dict_page_offset; /* -1: none */
	int64_t num_values;
	int64_t uncompressed; /* headers included */
	int64_t compressed;
	int32_t dict_pages;  /* data pages RLE_DICTIONARY */
	int32_t other_pages; /* data pages PLAIN / DELTA_* */
	int64_t nulls;
	int64_t nans;
	int has, min_exact, max_exact;
	size_t min_off, min_len, max_off, max_len; /* in pq_writer.meta_bytes */
	int64_t ci_off, oi_off; /* relative to the column / offset index sections */
	int32_t ci_len, oi_len; /* ci_len 0: no column index */
} pq_chunk_meta;

typedef struct pq_rg_meta {
	int64_t offset;
	int64_t num_rows;
	int64_t uncompressed;
	int64_t compressed;
} pq_rg_meta;

/* What encoding a column's pages borrows: one per thread that writes
 * columns (invariant 6), so two columns can be encoded at once. */
typedef struct pq_work {
	ZSTD_CCtx *zctx;
	buf scratch;  /* uncompressed page body */
	buf zbuf;     /* compressed page body */
	int64_t *tmp; /* delta encoder input, tmp_cap */
	size_t tmp_cap;
} pq_work;

typedef struct pq_col {
	pq_column_spec spec; /* name owned */
	pq_work *wk;         /* the work area of the thread writing the column now */
	size_t width;        /* input slot bytes; 0 for BYTE_ARRAY */
	int signed_flba;     /* decimal FLBA: first byte compares signed */
	int other_enc;       /* encoding of non-dictionary data pages */

	/* levels: flat optional columns have definition levels 0/1; lists
	 * definition levels 0..max_def and repetition levels 0/1 */
	int max_def;
	int def_empty; /* lists: the definition level of an empty list */

	/* current page */
	size_t page_rows;
	size_t page_levels; /* level entries (= page_rows for a flat column) */
	size_t page_raw;    /* PLAIN bytes of the page's values (dictionary mode) */
	pq_stats page_st;
	buf vals; /* PLAIN values (non-dictionary mode) */
	size_t bool_bits;
	uint32_t *idx; /* dictionary indices, lv_cap */
	size_t idx_n;
	uint8_t *defs; /* definition level of each level entry of the page, lv_cap */
	uint8_t *reps; /* lists: repetition level of each level entry, lv_cap */
	size_t lv_cap; /* PQ_PAGE_MAX_ROWS; grown for a list row longer than that */

	/* dictionary of the current chunk */
	int dict_on;
	buf dict_vals;  /* PLAIN bytes of the entries, in index order */
	uint64_t *dkey; /* per entry: the value bits (width <= 8) or its hash */
	uint32_t *doff; /* per entry: offset in dict_vals (byte types) */
	uint32_t dict_n, dict_cap;
	uint32_t *slots; /* open addressing: entry + 1, 0 empty */
	int slot_bits;

	/* current chunk */
	buf pages;     /* data pages, headers included */
	buf dict_page; /* the dictionary page, headers included */
	int64_t chunk_rows;
	int64_t chunk_values; /* level entries */
	int64_t chunk_uncomp, chunk_comp;
	int32_t dict_pages, other_pages;
	pq_stats chunk_st;
	pq_page_info *pi;
	size_t npi, pi_cap;
	buf pi_bytes;
	int ci_ok;

	/* whole file */
	pq_stats file_st;
	int64_t file_values, file_comp, file_uncomp;
} pq_col;

struct pq_writer {
	pq_options opts;
	pq_sink_fn sink;
	void *sink_ctx;
	int64_t offset;
	int failed;
	uint64_t seed; /* byte-hash seed: output never depends on it */

	int ncols;
	pq_col *cols;
	pq_kv *kv;
	int nkv;
	char *created_by;
	size_t fixed_row_bytes; /* PLAIN bytes per row of the fixed-width columns */

	pq_work work[2];          /* [0] the caller's, [1] the helper's */
	struct pq_helper *helper; /* opts.threads == 2 and more than one column */

	int64_t rg_rows;
	int64_t num_rows;
	pq_rg_meta *rgs;
	pq_chunk_meta *chunks; /* nrg * ncols */
	int nrg, rg_cap;
	buf meta_bytes; /* chunk statistics bounds */
	buf colidx;     /* serialized ColumnIndex structs */
	buf offidx;     /* serialized OffsetIndex structs */
};

/* ---- small helpers ---------------------------------------------------- */

/* b->data + off, valid also for an empty buffer (whose data is NULL). */
static const uint8_t *pq_at(const buf *b, size_t off)
{
	return b->data ? b->data + off : (const uint8_t *)"";
}

/* The validity of values r.. of d (rows of a flat column, elements of a
 * list), or NULL when every value is present. */
static const uint8_t *pq_valid_at(const pq_col *c, const pq_column_data *d, size_t r)
{
	return d->valid && (c->spec.list || !c->spec.required) ? d->valid + r : NULL;
}

static int pq_memcmp_len(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t m = al < bl ? al : bl;
	int r = m ? memcmp(a, b, m) : 0;
	if (r)
		return r < 0 ? -1 : 1;
	return (al > bl) - (al < bl);
}

/* -0.0 sorts before +0.0; NaN never reaches here. */
static int pq_cmp_double(double a, double b)
{
	if (a < b)
		return -1;
	if (a > b)
		return 1;
	return (int)!!signbit(b) - (int)!!signbit(a);
}

/* Compares two PLAIN values of c's type in its sort order. */
static int pq_cmp(const pq_col *c, const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	switch (c->spec.physical) {
	case PQ_BOOLEAN:
		return (a[0] > b[0]) - (a[0] < b[0]);
	case PQ_INT32: {
		int32_t x, y;
		memcpy(&x, a, 4);
		memcpy(&y, b, 4);
		return (x > y) - (x < y);
	}
	case PQ_INT64: {
		int64_t x, y;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		return (x > y) - (x < y);
	}
	case PQ_FLOAT: {
		float x, y;
		memcpy(&x, a, 4);
		memcpy(&y, b, 4);
		return pq_cmp_double(x, y);
	}
	case PQ_DOUBLE: {
		double x, y;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		return pq_cmp_double(x, y);
	}
	case PQ_FIXED_LEN_BYTE_ARRAY:
		if (c->signed_flba && al && bl && a[0] != b[0])
			return (int8_t)a[0] < (int8_t)b[0] ? -1 : 1;
		return pq_memcmp_len(a, al, b, bl);
	case PQ_BYTE_ARRAY:
		return pq_memcmp_len(a, al, b, bl);
	}
	return 0;
}

/* ---- statistics -------------------------------------------------------- */

static void pq_stats_reset(pq_stats *st)
{
	st->nulls = st->nans = 0;
	st->has = 0;
	buf_reset(&st->min);
	buf_reset(&st->max);
}

static void pq_stats_release(pq_stats *st)
{
	buf_release(&st->min);
	buf_release(&st->max);
}

static int pq_stats_ok(const pq_stats *st)
{
	return buf_ok(&st->min) && buf_ok(&st->max);
}

static void pq_stats_merge(const pq_col *c, pq_stats *st, const uint8_t *mn, size_t mnl,
                           const uint8_t *mx, size_t mxl)
{
	if (!st->has || pq_cmp(c, mn, mnl, pq_at(&st->min, 0), st->min.len) < 0) {
		buf_reset(&st->min);
		buf_append(&st->min, mn, mnl);
	}
	if (!st->has || pq_cmp(c, mx, mxl, pq_at(&st->max, 0), st->max.len) > 0) {
		buf_reset(&st->max);
		buf_append(&st->max, mx, mxl);
	}
	st->has = 1;
}

static void pq_stats_add(const pq_col *c, pq_stats *to, const pq_stats *from)
{
	to->nulls += from->nulls;
	to->nans += from->nans;
	if (from->has)
		pq_stats_merge(c, to, pq_at(&from->min, 0), from->min.len, pq_at(&from->max, 0),
		               from->max.len);
}

/* Min and max of the valid rows of a signed integer column (at least one). */
#define PQ_MINMAX_INT(NAME, T, TMIN, TMAX)                                                         \
	static void NAME(const uint8_t *p, const uint8_t *valid, size_t n, T *mn, T *mx)           \
	{                                                                                          \
		T lo = TMAX, hi = TMIN;                                                            \
		if (!valid) {                                                                      \
			for (size_t i = 0; i < n; i++) {                                           \
				T v;                                                               \
				memcpy(&v, p + i * sizeof(T), sizeof(T));                          \
				lo = v < lo ? v : lo;                                              \
				hi = v > hi ? v : hi;                                              \
			}                                                                          \
		} else {                                                                           \
			for (size_t i = 0; i < n; i++) {                                           \
				T v;                                                               \
				memcpy(&v, p + i * sizeof(T), sizeof(T));                          \
				if (valid[i]) {                                                    \
					lo = v < lo ? v : lo;                                      \
					hi = v > hi ? v : hi;                                      \
				}                                                                  \
			}                                                                          \
		}                                                                                  \
		*mn = lo;                                                                          \
		*mx = hi;                                                                          \
	}
PQ_MINMAX_INT(pq_minmax_i32, int32_t, INT32_MIN, INT32_MAX)
PQ_MINMAX_INT(pq_minmax_i64, int64_t, INT64_MIN, INT64_MAX)

/* Min and max of the valid, non-NaN rows of a float column; returns how
 * many such rows there are and adds the NaNs to *nans. The sign of a zero
 * extreme is exact: min is -0.0 only if a -0.0 occurs, max +0.0 only if a
 * +0.0 occurs (a second pass, taken only when an extreme is zero). */
#define PQ_MINMAX_FLOAT(NAME, T)                                                                   \
	static size_t NAME(const uint8_t *p, const uint8_t *valid, size_t n, T *mn, T *mx,         \
	                   int64_t *nans)                                                          \
	{                                                                                          \
		T lo = (T)INFINITY, hi = (T)-INFINITY;                                             \
		size_t cnt = 0;                                                                    \
		int64_t nan = 0;                                                                   \
		for (size_t i = 0; i < n; i++) {                                                   \
			T v;                                                                       \
			memcpy(&v, p + i * sizeof(T), sizeof(T));                                  \
			if (valid && !valid[i])                                                    \
				continue;                                                          \
			if (v != v) {                                                              \
				nan++;                                                             \
				continue;                                                          \
			}                                                                          \
			cnt++;                                                                     \
			lo = v < lo ? v : lo;                                                      \
			hi = v > hi ? v : hi;                                                      \
		}                                                                                  \
		*nans += nan;                                                                      \
		if (cnt && (lo == 0 || hi == 0)) {                                                 \
			int neg = 0, pos = 0;                                                      \
			for (size_t i = 0; i < n; i++) {                                           \
				T v;                                                               \
				memcpy(&v, p + i * sizeof(T), sizeof(T));                          \
				if ((!valid || valid[i]) && v == 0) {                              \
					if (signbit(v))                                            \
						neg = 1;                                           \
					else                                                       \
						pos = 1;                                           \
				}                                                                  \
			}                                                                          \
			if (lo == 0)                                                               \
				lo = neg ? (T)-0.0 : (T)0.0;                                       \
			if (hi == 0)                                                               \
				hi = pos ? (T)0.0 : (T)-0.0;                                       \
		}                                                                                  \
		*mn = lo;                                                                          \
		*mx = hi;                                                                          \
		return cnt;                                                                        \
	}
PQ_MINMAX_FLOAT(pq_minmax_f32, float)
PQ_MINMAX_FLOAT(pq_minmax_f64, double)

/* The first 8 bytes of a value as a big-endian number, zero-padded: keys
 * order like the bytes they start with, so most comparisons need no memcmp. */
static inline uint64_t pq_prefix_key(const uint8_t *p, size_t len)
{
	uint64_t k = 0;
	if (len >= 8) {
		memcpy(&k, p, 8);
		return __builtin_bswap64(k);
	}
	for (size_t i = 0; i < len; i++)
		k |= (uint64_t)p[i] << (56 - 8 * i);
	return k;
}

static inline int pq_key_cmp(uint64_t ka, const uint8_t *a, size_t al, uint64_t kb,
                             const uint8_t *b, size_t bl)
{
	if (ka != kb)
		return ka < kb ? -1 : 1;
	size_t m = al < bl ? al : bl;
	if (m > 8) {
		int r = memcmp(a + 8, b + 8, m - 8);
		if (r)
			return r;
	}
	return (al > bl) - (al < bl);
}

/* Min and max of the valid rows of a BYTE_ARRAY (varlen, values at
 * base + off[i]) or FLBA column (values at base + i * width); decimal FLBA
 * compares its first byte signed. At least one row is valid. */
static inline __attribute__((always_inline)) void
pq_minmax_bytes(const pq_col *c, pq_stats *st, const uint8_t *base, const uint64_t *off,
                const uint8_t *valid, size_t n, const int varlen)
{
	uint64_t flip = c->signed_flba ? (uint64_t)1 << 63 : 0;
	const uint8_t *mn = NULL, *mx = NULL;
	size_t mnl = 0, mxl = 0;
	uint64_t kmn = 0, kmx = 0;
	for (size_t i = 0; i < n; i++) {
		if (valid && !valid[i])
			continue;
		const uint8_t *v = varlen ? base + off[i] : base + i * c->width;
		size_t len = varlen ? (size_t)(off[i + 1] - off[i]) : c->width;
		uint64_t k = pq_prefix_key(v, len) ^ flip;
		if (!mn) {
			mn = mx = v;
			mnl = mxl = len;
			kmn = kmx = k;
		} else if (pq_key_cmp(k, v, len, kmn, mn, mnl) < 0) {
			mn = v;
			mnl = len;
			kmn = k;
		} else if (pq_key_cmp(k, v, len, kmx, mx, mxl) > 0) {
			mx = v;
			mxl = len;
			kmx = k;
		}
	}
	pq_stats_merge(c, st, mn, mnl, mx, mxl);
}

/* Statistics of rows [r, r+n) of d merged into st; returns the null count. */
static size_t pq_stats_rows(const pq_col *c, pq_stats *st, const pq_column_data *d, size_t r,
                            size_t n)
{
	const uint8_t *valid = pq_valid_at(c, d, r);
	size_t nulls = 0;
	if (valid)
		for (size_t i = 0; i < n; i++)
			nulls += !valid[i];
	st->nulls += (int64_t)nulls;
	if (nulls == n)
		return nulls;
	/* BYTE_ARRAY has no values array (and NULL + 0 is undefined). */
	const uint8_t *p = c->width ? (const uint8_t *)d->values + r * c->width : NULL;
	switch (c->spec.physical) {
	case PQ_BOOLEAN: {
		uint8_t lo = 1, hi = 0;
		for (size_t i = 0; i < n; i++) {
			if (valid && !valid[i])
				continue;
			uint8_t v = p[i] != 0;
			lo &= v;
			hi |= v;
		}
		pq_stats_merge(c, st, &lo, 1, &hi, 1);
		break;
	}
	case PQ_INT32: {
		int32_t lo, hi;
		pq_minmax_i32(p, valid, n, &lo, &hi);
		pq_stats_merge(c, st, (const uint8_t *)&lo, 4, (const uint8_t *)&hi, 4);
		break;
	}
	case PQ_INT64: {
		int64_t lo, hi;
		pq_minmax_i64(p, valid, n, &lo, &hi);
		pq_stats_merge(c, st, (const uint8_t *)&lo, 8, (const uint8_t *)&hi, 8);
		break;
	}
	case PQ_FLOAT: {
		float lo, hi;
		if (pq_minmax_f32(p, valid, n, &lo, &hi, &st->nans))
			pq_stats_merge(c, st, (const uint8_t *)&lo, 4, (const uint8_t *)&hi, 4);
		break;
	}
	case PQ_DOUBLE: {
		double lo, hi;
		if (pq_minmax_f64(p, valid, n, &lo, &hi, &st->nans))
			pq_stats_merge(c, st, (const uint8_t *)&lo, 8, (const uint8_t *)&hi, 8);
		break;
	}
	case PQ_FIXED_LEN_BYTE_ARRAY:
		pq_minmax_bytes(c, st, p, NULL, valid, n, 0);
		break;
	case PQ_BYTE_ARRAY:
		pq_minmax_bytes(c, st, d->bytes, d->offsets + r, valid, n, 1);
		break;
	}
	return nulls;
}

/* Start of the last UTF-8 character of p[0..len), or len if p ends inside a
 * malformed sequence. Decodes it into *cp. */
static size_t pq_utf8_last(const uint8_t *p, size_t len, uint32_t *cp)
{
	size_t s = len;
	int cont = 0;
	while (s > 0 && cont < 4 && (p[s - 1] & 0xC0) == 0x80) {
		s--;
		cont++;
	}
	if (s == 0)
		return len;
	s--;
	uint8_t b = p[s];
	int need;
	uint32_t v;
	if (b < 0x80) {
		need = 0;
		v = b;
	} else if ((b & 0xE0) == 0xC0) {
		need = 1;
		v = b & 0x1F;
	} else if ((b & 0xF0) == 0xE0) {
		need = 2;
		v = b & 0x0F;
	} else if ((b & 0xF8) == 0xF0) {
		need = 3;
		v = b & 0x07;
	} else {
		return len;
	}
	if (need != cont)
		return len;
	for (int i = 1; i <= need; i++)
		v = v << 6 | (p[s + (size_t)i] & 0x3F);
	*cp = v;
	return s;
}

static size_t pq_utf8_put(uint8_t *p, uint32_t cp)
{
	if (cp < 0x80) {
		p[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		p[0] = (uint8_t)(0xC0 | cp >> 6);
		p[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		p[0] = (uint8_t)(0xE0 | cp >> 12);
		p[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		p[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	p[0] = (uint8_t)(0xF0 | cp >> 18);
	p[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
	p[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
	p[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

/* Length of the longest prefix of p (at most PQ_STAT_MAX_BYTES) that ends
 * on a character boundary; 0 when the bytes are not UTF-8 there. */
static size_t pq_utf8_cut(const uint8_t *p)
{
	size_t cut = PQ_STAT_MAX_BYTES;
	for (int i = 0; i < 4 && (p[cut] & 0xC0) == 0x80; i++)
		cut--;
	return (p[cut] & 0xC0) == 0x80 ? 0 : cut;
}

/* A truncated upper bound for a long value in tmp (PQ_BOUND_TMP bytes):
 * the prefix with its last character (STRING) or byte incremented. Returns
 * its length, or 0 when no such bound exists (then the exact value is used). */
static size_t pq_upper_bound(const pq_col *c, const uint8_t *p, uint8_t *tmp)
{
	if (c->spec.logical == PQ_LOGICAL_STRING) {
		size_t len = pq_utf8_cut(p);
		memcpy(tmp, p, len);
		while (len > 0) {
			uint32_t cp;
			size_t s = pq_utf8_last(tmp, len, &cp);
			if (s == len)
				return 0;
			cp++;
			if (cp == 0xD800)
				cp = 0xE000;
			if (cp <= 0x10FFFF)
				return s + pq_utf8_put(tmp + s, cp);
			len = s;
		}
		return 0;
	}
	memcpy(tmp, p, PQ_STAT_MAX_BYTES);
	for (size_t len = PQ_STAT_MAX_BYTES; len > 0; len--) {
		if (tmp[len - 1] != 0xFF) {
			tmp[len - 1]++;
			return len;
		}
	}
	return 0;
}

/* What the file says about st (invariant 5). */
static void pq_bounds_of(const pq_col *c, const pq_stats *st, pq_bounds *b)
{
	b->nulls = st->nulls;
	b->nans = st->nans;
	b->has = st->has;
	b->min = st->min.data;
	b->min_len = st->min.len;
	b->max = st->max.data;
	b->max_len = st->max.len;
	b->min_exact = b->max_exact = 1;
	if (!st->has)
		return;
	switch (c->spec.physical) {
	case PQ_FLOAT:
	case PQ_DOUBLE: {
		/* Parquet: a zero min is written -0.0, a zero max +0.0. */
		double lo, hi;
		if (c->spec.physical == PQ_FLOAT) {
			float f;
			memcpy(&f, b->min, 4);
			lo = f;
			memcpy(&f, b->max, 4);
			hi = f;
		} else {
			memcpy(&lo, b->min, 8);
			memcpy(&hi, b->max, 8);
		}
		if (lo == 0 && !signbit(lo)) {
			memset(b->tmin, 0, b->min_len);
			b->tmin[b->min_len - 1] = 0x80;
			b->min = b->tmin;
			b->min_exact = 0;
		}
		if (hi == 0 && signbit(hi)) {
			memset(b->tmax, 0, b->max_len);
			b->max = b->tmax;
			b->max_exact = 0;
		}
		break;
	}
	case PQ_BYTE_ARRAY:
		if (b->min_len > PQ_STAT_MAX_BYTES) {
			size_t cut = c->spec.logical == PQ_LOGICAL_STRING ? pq_utf8_cut(b->min)
			                                                  : PQ_STAT_MAX_BYTES;
			if (cut) {
				b->min_len = cut;
				b->min_exact = 0;
			}
		}
		if (b->max_len > PQ_STAT_MAX_BYTES) {
			size_t len = pq_upper_bound(c, b->max, b->tmax);
			if (len) {
				b->max = b->tmax;
				b->max_len = len;
				b->max_exact = 0;
			}
		}
		break;
	default:
		break;
	}
}

static int pq_is_float(const pq_col *c)
{
	return c->spec.physical == PQ_FLOAT || c->spec.physical == PQ_DOUBLE;
}

/* Statistics struct (fields 3 null_count, 5 max_value, 6 min_value,
 * 7/8 exactness, 9 nan_count). */
static void pq_thrift_stats(thrift_writer *t, int16_t id, const pq_col *c, const pq_bounds *b)
{
	thrift_struct_begin(t, id);
	thrift_field_i64(t, 3, b->nulls);
	if (b->has) {
		thrift_field_binary(t, 5, b->max, b->max_len);
		thrift_field_binary(t, 6, b->min, b->min_len);
		thrift_field_bool(t, 7, b->max_exact);
		thrift_field_bool(t, 8, b->min_exact);
	}
	if (pq_is_float(c))
		thrift_field_i64(t, 9, b->nans);
	thrift_struct_end(t);
}

/* ---- encoders ---------------------------------------------------------- */

/* Packs n values of bw bits (0..64, each value fitting) LSB first; returns
 * ceil(n * bw / 8), the bytes written. */
static size_t pq_pack_bits(uint8_t *dst, const uint64_t *v, size_t n, int bw)
{
	uint8_t *p = dst;
	uint64_t acc = 0;
	int nb = 0;
	if (bw == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		acc |= v[i] << nb;
		nb += bw;
		if (nb >= 64) {
			put_le64(p, acc);
			p += 8;
			nb -= 64;
			acc = nb ? v[i] >> (bw - nb) : 0;
		}
	}
	for (; nb > 0; nb -= 8) {
		*p++ = (uint8_t)acc;
		acc >>= 8;
	}
	return (size_t)(p - dst);
}

/* RLE hybrid input: validity bytes (wide = 0) or dictionary indices. */
static inline uint32_t pq_rle_get(const void *v, int wide, size_t i)
{
	return wide ? ((const uint32_t *)v)[i] : ((const uint8_t *)v)[i];
}

static void pq_rle_bitpacked(buf *out, const void *v, int wide, size_t start, size_t count, int bw)
{
	size_t groups = (count + 7) / 8;
	thrift_put_varint(out, (uint64_t)groups << 1 | 1);
	if (buf_reserve(out, groups * (size_t)bw + 8))
		return;
	uint64_t g[8];
	uint8_t *dst = out->data + out->len;
	for (size_t i = 0; i < groups; i++) {
		for (size_t j = 0; j < 8; j++) {
			size_t k = i * 8 + j;
			g[j] = k < count ? pq_rle_get(v, wide, start + k) : 0;
		}
		dst += pq_pack_bits(dst, g, 8, bw);
	}
	out->len = (size_t)(dst - out->data);
}

static void pq_rle_repeat(buf *out, uint32_t value, size_t count, int bw)
{
	thrift_put_varint(out, (uint64_t)count << 1);
	for (int i = 0; i < (bw + 7) / 8; i++)
		buf_put_u8(out, (uint8_t)(value >> (8 * i)));
}

/* RLE/bit-packed hybrid of n values of bw bits: runs of 8 or more equal
 * values become RLE runs, the rest bit-packed runs (which must hold whole
 * groups of 8, so a literal stretch borrows values from the next run to end
 * on a group boundary). */
static void pq_rle_encode(buf *out, const void *v, int wide, size_t n, int bw)
{
	size_t lit = 0, i = 0;
	while (i < n) {
		uint32_t x = pq_rle_get(v, wide, i);
		size_t j = i + 1;
		while (j < n && pq_rle_get(v, wide, j) == x)
			j++;
		size_t pending = i - lit;
		size_t pad = (8 - pending % 8) % 8;
		if (j - i >= pad + 8) {
			if (pending + pad)
				pq_rle_bitpacked(out, v, wide, lit, pending + pad, bw);
			pq_rle_repeat(out, x, j - i - pad, bw);
			lit = j;
		}
		i = j;
	}
	if (lit < n)
		pq_rle_bitpacked(out, v, wide, lit, n - lit, bw);
}

/* DELTA_BINARY_PACKED of v[0..n); with is32 the values are INT32 and deltas
 * wrap at 32 bits (readers add in the column's width). */
static void pq_delta_encode(buf *out, const int64_t *v, size_t n, int is32)
{
	thrift_put_varint(out, PQ_DELTA_BLOCK);
	thrift_put_varint(out, PQ_DELTA_BLOCK / PQ_DELTA_MINIBLOCK);
	thrift_put_varint(out, n);
	thrift_put_varint(out, thrift_zigzag(n ? v[0] : 0));
	int64_t delta[PQ_DELTA_BLOCK];
	uint64_t packed[PQ_DELTA_BLOCK];
	for (size_t i = 1; i < n; i += PQ_DELTA_BLOCK) {
		size_t m = n - i < PQ_DELTA_BLOCK ? n - i : PQ_DELTA_BLOCK;
		int64_t mind = INT64_MAX;
		for (size_t j = 0; j < m; j++) {
			uint64_t d = (uint64_t)v[i + j] - (uint64_t)v[i + j - 1];
			delta[j] = is32 ? (int64_t)(int32_t)(uint32_t)d : (int64_t)d;
			mind = delta[j] < mind ? delta[j] : mind;
		}
		/* With is32 both are int32, so the difference is exact and fits
		 * 32 bits; for INT64 the unsigned difference is the true one. */
		for (size_t j = 0; j < PQ_DELTA_BLOCK; j++)
			packed[j] = j < m ? (uint64_t)delta[j] - (uint64_t)mind : 0;
		thrift_put_varint(out, thrift_zigzag(mind));
		int bw[PQ_DELTA_BLOCK / PQ_DELTA_MINIBLOCK];
		size_t need = 0;
		for (size_t k = 0; k < PQ_DELTA_BLOCK / PQ_DELTA_MINIBLOCK; k++) {
			uint64_t all = 0;
			for (size_t j = 0; j < PQ_DELTA_MINIBLOCK; j++)
				all |= packed[k * PQ_DELTA_MINIBLOCK + j];
			bw[k] = k * PQ_DELTA_MINIBLOCK < m ? pq_bit_width(all) : 0;
			buf_put_u8(out, (uint8_t)bw[k]);
			need += (size_t)bw[k] * PQ_DELTA_MINIBLOCK / 8;
		}
		if (buf_reserve(out, need + 8))
			return;
		for (size_t k = 0; k * PQ_DELTA_MINIBLOCK < m; k++)
			out->len +=
			    pq_pack_bits(out->data + out->len, packed + k * PQ_DELTA_MINIBLOCK,
			                 PQ_DELTA_MINIBLOCK, bw[k]);
	}
}

/* ---- compression and pages --------------------------------------------- */

static int pq_compress(const pq_writer *w, pq_work *wk, const uint8_t *src, size_t n,
                       const uint8_t **out, size_t *outlen, char *err)
{
	static const uint8_t empty[1];
	if (!src)
		src = empty;
	buf_reset(&wk->zbuf);
	switch (w->opts.codec) {
	case PQ_CODEC_UNCOMPRESSED:
		*out = src;
		*outlen = n;
		return 0;
	case PQ_CODEC_ZSTD: {
		size_t cap = ZSTD_compressBound(n);
		if (buf_reserve(&wk->zbuf, cap))
			return errf(err, FLOE_ENOMEM, "parquet: out of memory compressing a page");
		size_t r = ZSTD_compress2(wk->zctx, wk->zbuf.data, cap, src, n);
		if (ZSTD_isError(r))
			return errf(err, FLOE_EIO, "parquet: zstd: %s", ZSTD_getErrorName(r));
		*out = wk->zbuf.data;
		*outlen = r;
		return 0;
	}
	case PQ_CODEC_SNAPPY: {
		size_t cap = snappy_max_compressed_length(n);
		if (buf_reserve(&wk->zbuf, cap))
			return errf(err, FLOE_ENOMEM, "parquet: out of memory compressing a page");
		size_t len = cap;
		if (snappy_compress((const char *)src, n, (char *)wk->zbuf.data, &len) != SNAPPY_OK)
			return errf(err, FLOE_EIO, "parquet: snappy failed on a %zu-byte page", n);
		*out = wk->zbuf.data;
		*outlen = len;
		return 0;
	}
	}
	return errf(err, FLOE_EINVAL, "parquet: unknown codec %d", (int)w->opts.codec);
}

/* The work area's delta scratch with room for n values, or NULL. */
static int64_t *pq_work_tmp(pq_work *wk, size_t n)
{
	if (n > wk->tmp_cap) {
		size_t cap = n < PQ_PAGE_MAX_ROWS ? PQ_PAGE_MAX_ROWS : n;
		int64_t *tmp = realloc(wk->tmp, cap * sizeof(*tmp));
		if (!tmp)
			return NULL;
		wk->tmp = tmp;
		wk->tmp_cap = cap;
	}
	return wk->tmp;
}

/* Compresses body and appends header + body to dst. For a data page, b is
 * its statistics; for a dictionary page b is NULL. Returns the page size. */
static int pq_page_emit(pq_writer *w, pq_col *c, buf *dst, const uint8_t *body, size_t n, int enc,
                        size_t num_values, const pq_bounds *b, size_t *size, char *err)
{
	const uint8_t *z = NULL;
	size_t zn = 0;
	int rc = pq_compress(w, c->wk, body, n, &z, &zn, err);
	if (rc)
		return rc;
	if (n > (size_t)INT32_MAX || zn > (size_t)INT32_MAX)
		return errf(err, FLOE_ETOOBIG, "parquet: column '%s': a %zu-byte page is too large",
		            c->spec.name, n);
	size_t start = dst->len;
	thrift_writer t;
	thrift_init(&t, dst);
	thrift_field_i32(&t, 1, b ? PQ_PAGE_DATA : PQ_PAGE_DICTIONARY);
	thrift_field_i32(&t, 2, (int32_t)n);
	thrift_field_i32(&t, 3, (int32_t)zn);
	if (b) {
		thrift_struct_begin(&t, 5);
		thrift_field_i32(&t, 1, (int32_t)num_values);
		thrift_field_i32(&t, 2, enc);
		thrift_field_i32(&t, 3, PQ_ENC_RLE);
		thrift_field_i32(&t, 4, PQ_ENC_RLE);
		pq_thrift_stats(&t, 5, c, b);
		thrift_struct_end(&t);
	} else {
		thrift_struct_begin(&t, 7);
		thrift_field_i32(&t, 1, (int32_t)num_values);
		thrift_field_i32(&t, 2, PQ_ENC_PLAIN);
		thrift_struct_end(&t);
	}
	if (thrift_finish(&t))
		return errf(err, FLOE_ENOMEM, "parquet: out of memory writing a page header");
	size_t hlen = dst->len - start;
	buf_append(dst, z, zn);
	if (!buf_ok(dst))
		return errf(err, FLOE_ENOMEM, "parquet: out of memory buffering a column chunk");
	c->chunk_uncomp += (int64_t)(hlen + n);
	c->chunk_comp += (int64_t)(hlen + zn);
	*size = hlen + zn;
	return 0;
}

/* ---- dictionary -------------------------------------------------------- */

static inline uint64_t pq_hash_bytes(uint64_t seed, const uint8_t *p, size_t n)
{
	uint64_t h = seed ^ (n * PQ_HASH_MUL);
	while (n >= 8) {
		uint64_t k;
		memcpy(&k, p, 8);
		k *= 0xBF58476D1CE4E5B9ull;
		k ^= k >> 31;
		h = (h ^ k) * 0x94D049BB133111EBull;
		p += 8;
		n -= 8;
	}
	if (n) {
		uint64_t k = 0;
		for (size_t i = 0; i < n; i++)
			k |= (uint64_t)p[i] << (8 * i);
		k *= 0xBF58476D1CE4E5B9ull;
		k ^= k >> 31;
		h = (h ^ k) * 0x94D049BB133111EBull;
	}
	return h ^ (h >> 29);
}

static inline uint32_t pq_slot(const pq_col *c, uint64_t key)
{
	return (uint32_t)((key * PQ_HASH_MUL) >> (64 - c->slot_bits));
}

static void pq_dict_clear(pq_col *c)
{
	if (c->slots)
		memset(c->slots, 0, sizeof(uint32_t) << c->slot_bits);
	c->dict_n = 0;
	buf_reset(&c->dict_vals);
}

/* Makes room for one more entry: entry arrays and a table at most half full. */
static int pq_dict_reserve(pq_col *c)
{
	if (c->dict_n + 1 > c->dict_cap) {
		uint32_t cap = c->dict_cap ? c->dict_cap * 2 : 1024;
		uint64_t *k = realloc(c->dkey, cap * sizeof(*k));
		if (!k)
			return -1;
		c->dkey = k;
		uint32_t *o = realloc(c->doff, cap * sizeof(*o));
		if (!o)
			return -1;
		c->doff = o;
		c->dict_cap = cap;
	}
	if (!c->slots || (size_t)(c->dict_n + 1) * 2 > (size_t)1 << c->slot_bits) {
		int bits = c->slots ? c->slot_bits + 1 : 11;
		uint32_t *s = calloc((size_t)1 << bits, sizeof(*s));
		if (!s)
			return -1;
		free(c->slots);
		c->slots = s;
		c->slot_bits = bits;
		uint32_t mask = ((uint32_t)1 << bits) - 1;
		for (uint32_t e = 0; e < c->dict_n; e++) {
			uint32_t i = pq_slot(c, c->dkey[e]);
			while (s[i])
				i = (i + 1) & mask;
			s[i] = e + 1;
		}
	}
	return 0;
}

/* Whether byte-type dictionary entry e holds the len bytes at v; prefix is
 * 4 when entries carry a PLAIN length (BYTE_ARRAY), else 0. */
static inline int pq_dict_bytes_eq(const pq_col *c, uint32_t e, size_t prefix, const uint8_t *v,
                                   size_t len)
{
	const uint8_t *ev = c->dict_vals.data + c->doff[e];
	size_t elen = prefix ? get_le32(ev) : c->width;
	return elen == len && (len == 0 || memcmp(ev + prefix, v, len) == 0);
}

/* Dictionary-encodes rows [r, r+n) of a column into the page's indices;
 * stops at the first value that would push the dictionary past
 * dict_max_bytes. *done = rows consumed. width 4 or 8 (INT32/FLOAT,
 * INT64/DOUBLE): an entry is keyed by its value bits. width 0 (BYTE_ARRAY,
 * FIXED_LEN_BYTE_ARRAY): keyed by a hash, compared by its bytes and found
 * through doff. Always inlined with a constant width, so each kind gets its
 * own loop with the other kinds' branches folded away. */
static inline __attribute__((always_inline)) int pq_dict_put_run(pq_writer *w, pq_col *c,
                                                                 const pq_column_data *d, size_t r,
                                                                 size_t n, size_t *done,
                                                                 const size_t width)
{
	const uint8_t *valid = pq_valid_at(c, d, r);
	const uint64_t *off = !width && c->spec.physical == PQ_BYTE_ARRAY ? d->offsets + r : NULL;
	const size_t vw = width ? width : c->width; /* bytes of a fixed-size value */
	const uint8_t *fixed = off ? NULL : (const uint8_t *)d->values + r * vw;
	size_t prefix = off ? 4 : 0; /* PLAIN length prefix in dict_vals */
	uint32_t *idx = c->idx + c->idx_n;
	uint32_t mask = ((uint32_t)1 << c->slot_bits) - 1;
	size_t i;
	int rc = 0;
	for (i = 0; i < n; i++) {
		if (valid && !valid[i])
			continue;
		const uint8_t *v;
		size_t len;
		if (off) {
			v = d->bytes + off[i];
			len = (size_t)(off[i + 1] - off[i]);
		} else {
			v = fixed + i * vw;
			len = vw;
		}
		uint64_t key = 0;
		if (width)
			memcpy(&key, v, width);
		else
			key = pq_hash_bytes(w->seed, v, len);
		uint32_t s = pq_slot(c, key);
		for (;;) {
			uint32_t e = c->slots[s];
			if (e && c->dkey[e - 1] == key &&
			    (width || pq_dict_bytes_eq(c, e - 1, prefix, v, len))) {
				*idx++ = e - 1;
				break;
			}
			if (e) {
				s = (s + 1) & mask;
				continue;
			}
			if (c->dict_vals.len + prefix + len > w->opts.dict_max_bytes)
				goto out;
			if (pq_dict_reserve(c)) {
				rc = FLOE_ENOMEM;
				goto out;
			}
			mask = ((uint32_t)1 << c->slot_bits) - 1;
			s = pq_slot(c, key);
			while (c->slots[s])
				s = (s + 1) & mask;
			c->dkey[c->dict_n] = key;
			if (!width)
				c->doff[c->dict_n] = (uint32_t)c->dict_vals.len;
			if (off)
				buf_put_le32(&c->dict_vals, (uint32_t)len);
			buf_append(&c->dict_vals, v, len);
			c->slots[s] = ++c->dict_n;
			*idx++ = c->dict_n - 1;
			break;
		}
	}
out:
	c->idx_n = (size_t)(idx - c->idx);
	*done = i;
	return rc;
}

static int pq_dict_put(pq_writer *w, pq_col *c, const pq_column_data *d, size_t r, size_t n,
                       size_t *done, char *err)
{
	int rc;
	if (pq_dict_reserve(c))
		return errf(err, FLOE_ENOMEM, "parquet: out of memory in a dictionary");
	switch (c->spec.physical) {
	case PQ_INT32:
	case PQ_FLOAT:
		rc = pq_dict_put_run(w, c, d, r, n, done, 4);
		break;
	case PQ_INT64:
	case PQ_DOUBLE:
		rc = pq_dict_put_run(w, c, d, r, n, done, 8);
		break;
	default:
		rc = pq_dict_put_run(w, c, d, r, n, done, 0);
		break;
	}
	if (rc || !buf_ok(&c->dict_vals))
		return errf(err, FLOE_ENOMEM, "parquet: out of memory in a dictionary");
	return 0;
}

/* Bit width of the page's dictionary indices (>= 1, see the header). */
static int pq_dict_bit_width(const pq_col *c)
{
	return c->dict_n > 1 ? pq_bit_width(c->dict_n - 1) : 1;
}

/* Turns the page's indices back into PLAIN values and drops the
 * dictionary: the chunk is then PLAIN from its first page on. */
static int pq_dict_abandon(pq_col *c, char *err)
{
	size_t w = c->width;
	for (size_t i = 0; i < c->idx_n; i++) {
		uint32_t e = c->idx[i];
		if (c->spec.physical == PQ_BYTE_ARRAY) {
			const uint8_t *ev = c->dict_vals.data + c->doff[e];
			buf_append(&c->vals, ev, 4 + (size_t)get_le32(ev));
		} else if (c->spec.physical == PQ_FIXED_LEN_BYTE_ARRAY) {
			buf_append(&c->vals, c->dict_vals.data + c->doff[e], w);
		} else {
			buf_append(&c->vals, c->dict_vals.data + (size_t)e * w, w);
		}
	}
	if (!buf_ok(&c->vals))
		return errf(err, FLOE_ENOMEM, "parquet: out of memory re-encoding a page");
	c->idx_n = 0;
	c->dict_on = 0;
	pq_dict_clear(c);
	return 0;
}

/* Builds the chunk's dictionary page and stops dictionary encoding. */
static int pq_dict_page(pq_writer *w, pq_col *c, char *err)
{
	size_t size;
	int rc = pq_page_emit(w, c, &c->dict_page, c->dict_vals.data, c->dict_vals.len,
	                      PQ_ENC_PLAIN, c->dict_n, NULL, &size, err);
	if (rc)
		return rc;
	c->dict_on = 0;
	pq_dict_clear(c);
	return 0;
}

/* ---- pages ------------------------------------------------------------- */

static void pq_plain_put(pq_col *c, const pq_column_data *d, size_t r, size_t n)
{
	const uint8_t *valid = pq_valid_at(c, d, r);
	buf *b = &c->vals;
	switch (c->spec.physical) {
	case PQ_BOOLEAN: {
		const uint8_t *v = (const uint8_t *)d->values + r;
		if (buf_reserve(b, n / 8 + 2))
			return;
		for (size_t i = 0; i < n; i++) {
			if (valid && !valid[i])
				continue;
			if (c->bool_bits % 8 == 0)
				b->data[b->len++] = 0;
			b->data[b->len - 1] |= (uint8_t)((v[i] != 0) << (c->bool_bits % 8));
			c->bool_bits++;
		}
		return;
	}
	case PQ_BYTE_ARRAY: {
		const uint64_t *off = d->offsets + r;
		if (buf_reserve(b, (size_t)(off[n] - off[0]) + 4 * n))
			return;
		uint8_t *dst = b->data + b->len;
		for (size_t i = 0; i < n; i++) {
			if (valid && !valid[i])
				continue;
			size_t len = (size_t)(off[i + 1] - off[i]);
			put_le32(dst, (uint32_t)len);
			memcpy(dst + 4, d->bytes + off[i], len);
			dst += 4 + len;
		}
		b->len = (size_t)(dst - b->data);
		return;
	}
	default: {
		/* Copy runs of present rows at once. */
		const uint8_t *p = (const uint8_t *)d->values + r * c->width;
		if (!valid) {
			buf_append(b, p, n * c->width);
			return;
		}
		size_t i = 0;
		while (i < n) {
			while (i < n && !valid[i])
				i++;
			size_t s = i;
			while (i < n && valid[i])
				i++;
			buf_append(b, p + s * c->width, (i - s) * c->width);
		}
		return;
	}
	}
}

/* PLAIN bytes of the page so far, the measure pages are cut by. */
static size_t pq_page_used(const pq_col *c)
{
	return c->dict_on ? c->page_raw : c->vals.len;
}

/* Rows from r (at most n) that the current page can still take (>= 1). */
static size_t pq_page_room(const pq_writer *w, const pq_col *c, const pq_column_data *d, size_t r,
                           size_t n)
{
	size_t room = PQ_PAGE_MAX_ROWS - c->page_rows;
	if (n < room)
		room = n;
	size_t used = pq_page_used(c);
	size_t left = w->opts.page_bytes > used ? w->opts.page_bytes - used : 0;
	size_t fit;
	if (c->spec.physical == PQ_BYTE_ARRAY) {
		/* Largest k with bytes(r, r+k) + 4k <= left; monotone in k. */
		const uint64_t *off = d->offsets + r;
		size_t lo = 0, hi = room;
		while (lo < hi) {
			size_t mid = lo + (hi - lo + 1) / 2;
			if ((size_t)(off[mid] - off[0]) + 4 * mid <= left)
				lo = mid;
			else
				hi = mid - 1;
		}
		fit = lo;
	} else if (c->spec.physical == PQ_BOOLEAN) {
		fit = left > SIZE_MAX / 8 ? SIZE_MAX : left * 8;
	} else {
		fit = left / c->width;
	}
	if (fit < 1)
		fit = 1;
	return fit < room ? fit : room;
}

/* Serializes the page's bounds into pi_bytes for the column index. */
static void pq_page_info_bounds(pq_col *c, pq_page_info *pi, const pq_bounds *b)
{
	pi->min_off = c->pi_bytes.len;
	pi->min_len = b->has ? b->min_len : 0;
	buf_append(&c->pi_bytes, b->min, pi->min_len);
	pi->max_off = c->pi_bytes.len;
	pi->max_len = b->has ? b->max_len : 0;
	buf_append(&c->pi_bytes, b->max, pi->max_len);
}

/* Appends n levels of bit width bw as [u32 LE length][RLE hybrid]. */
static void pq_put_levels(buf *body, const uint8_t *levels, size_t n, int bw)
{
	size_t at = body->len;
	buf_put_le32(body, 0);
	pq_rle_encode(body, levels, 0, n, bw);
	if (buf_ok(body))
		put_le32(body->data + at, (uint32_t)(body->len - at - 4));
}

static int pq_page_flush(pq_writer *w, pq_col *c, char *err)
{
	if (c->page_rows == 0)
		return 0;
	int rc;
	if (c->dict_on && c->dict_pages == 0) {
		/* parquet-mr's test: keep the dictionary only if it pays. */
		size_t enc = (c->idx_n * (size_t)pq_dict_bit_width(c) + 7) / 8;
		if (c->dict_vals.len + enc >= c->page_raw && (rc = pq_dict_abandon(c, err)))
			return rc;
	}
	buf *body = &c->wk->scratch;
	buf_reset(body);
	if (c->spec.list)
		pq_put_levels(body, c->reps, c->page_levels, 1);
	if (c->max_def)
		pq_put_levels(body, c->defs, c->page_levels, pq_bit_width((uint64_t)c->max_def));
	int enc;
	int direct = 0; /* the PLAIN values are the whole body: no copy */
	size_t nvals = c->page_levels - (size_t)c->page_st.nulls;
	if (c->dict_on) {
		enc = PQ_ENC_RLE_DICTIONARY;
		int bw = pq_dict_bit_width(c);
		buf_put_u8(body, (uint8_t)bw);
		pq_rle_encode(body, c->idx, 1, c->idx_n, bw);
	} else if (c->other_enc == PQ_ENC_DELTA_BINARY_PACKED) {
		enc = c->other_enc;
		int64_t *tmp = pq_work_tmp(c->wk, nvals);
		if (!tmp)
			return errf(err, FLOE_ENOMEM, "parquet: out of memory encoding a page");
		int is32 = c->spec.physical == PQ_INT32;
		for (size_t i = 0; i < nvals; i++) {
			if (is32) {
				int32_t x;
				memcpy(&x, c->vals.data + 4 * i, 4);
				tmp[i] = x;
			} else {
				memcpy(&tmp[i], c->vals.data + 8 * i, 8);
			}
		}
		pq_delta_encode(body, tmp, nvals, is32);
	} else if (c->other_enc == PQ_ENC_DELTA_LENGTH_BYTE_ARRAY) {
		enc = c->other_enc;
		int64_t *tmp = pq_work_tmp(c->wk, nvals);
		if (!tmp)
			return errf(err, FLOE_ENOMEM, "parquet: out of memory encoding a page");
		size_t pos = 0;
		for (size_t i = 0; i < nvals; i++) {
			tmp[i] = get_le32(c->vals.data + pos);
			pos += 4 + (size_t)tmp[i];
		}
		pq_delta_encode(body, tmp, nvals, 1);
		if (buf_reserve(body, c->vals.len - 4 * nvals) == 0) {
			pos = 0;
			for (size_t i = 0; i < nvals; i++) {
				buf_append(body, c->vals.data + pos + 4, (size_t)tmp[i]);
				pos += 4 + (size_t)tmp[i];
			}
		}
	} else {
		enc = PQ_ENC_PLAIN;
		direct = !c->max_def;
		if (!direct)
			buf_append(body, c->vals.data, c->vals.len);
	}
	if (!buf_ok(body) || !buf_ok(&c->vals) || !pq_stats_ok(&c->page_st))
		return errf(err, FLOE_ENOMEM, "parquet: out of memory encoding a page");
	const uint8_t *src = direct ? c->vals.data : body->data;
	size_t srclen = direct ? c->vals.len : body->len;

	if (pq_grow((void **)&c->pi, &c->pi_cap, c->npi + 1, sizeof(*c->pi)))
		return errf(err, FLOE_ENOMEM, "parquet: out of memory in the page index");
	pq_page_info *pi = &c->pi[c->npi];
	pq_bounds b;
	pq_bounds_of(c, &c->page_st, &b);
	pi->offset = (int64_t)c->pages.len;
	pi->first_row = c->chunk_rows;
	pi->nulls = c->page_st.nulls;
	pi->nans = c->page_st.nans;
	pi->null_page = (size_t)c->page_st.nulls == c->page_levels;
	if (!pi->null_page && !b.has)
		c->ci_ok = 0; /* all NaN: a column index would need NaN bounds */
	pq_page_info_bounds(c, pi, &b);
	size_t size;
	rc = pq_page_emit(w, c, &c->pages, src, srclen, enc, c->page_levels, &b, &size, err);
	if (rc)
		return rc;
	pi->size = (int32_t)size;
	c->npi++;
	if (enc == PQ_ENC_RLE_DICTIONARY)
		c->dict_pages++;
	else
		c->other_pages++;
	pq_stats_add(c, &c->chunk_st, &c->page_st);
	if (!pq_stats_ok(&c->chunk_st) || !buf_ok(&c->pi_bytes))
		return errf(err, FLOE_ENOMEM, "parquet: out of memory in statistics");
	c->chunk_rows += (int64_t)c->page_rows;
	c->chunk_values += (int64_t)c->page_levels;
	c->page_rows = 0;
	c->page_levels = 0;
	c->page_raw = 0;
	c->idx_n = 0;
	c->bool_bits = 0;
	buf_reset(&c->vals);
	pq_stats_reset(&c->page_st);
	return 0;
}

/* The dictionary outgrew dict_max_bytes in the middle of the page. */
static int pq_dict_overflow(pq_writer *w, pq_col *c, char *err)
{
	int rc;
	if (c->dict_pages == 0)
		return pq_dict_abandon(c, err); /* nothing written with it yet */
	if ((rc = pq_page_flush(w, c, err)))
		return rc;
	return pq_dict_page(w, c, err);
}

/* Encodes values [e, e+n) of d (rows of a flat column, elements of a list)
 * into the page: dictionary indices or PLAIN. *done = values consumed, < n
 * when the dictionary is full (the caller then calls pq_dict_overflow). */
static int pq_put_values(pq_writer *w, pq_col *c, const pq_column_data *d, size_t e, size_t n,
                         size_t *done, char *err)
{
	*done = n;
	if (c->dict_on)
		return pq_dict_put(w, c, d, e, n, done, err);
	pq_plain_put(c, d, e, n);
	if (!buf_ok(&c->vals))
		return errf(err, FLOE_ENOMEM, "parquet: out of memory buffering a page");
	return 0;
}

/* Adds values [e, e+n) of d, already encoded, to the page's statistics and
 * PLAIN size. */
static void pq_account_values(pq_col *c, const pq_column_data *d, size_t e, size_t n)
{
	size_t nulls = pq_stats_rows(c, &c->page_st, d, e, n);
	if (!c->dict_on)
		return;
	size_t present = n - nulls;
	if (c->spec.physical == PQ_BYTE_ARRAY)
		c->page_raw += (size_t)(d->offsets[e + n] - d->offsets[e]) + 4 * present;
	else
		c->page_raw += present * c->width;
}

/* After values were added: flushes the page when it is full. */
static int pq_page_maybe_flush(pq_writer *w, pq_col *c, char *err)
{
	if (c->page_levels >= PQ_PAGE_MAX_ROWS || pq_page_used(c) >= w->opts.page_bytes)
		return pq_page_flush(w, c, err);
	return 0;
}

/* Appends rows [r, end) of a flat column to its chunk, cutting pages. */
static int pq_col_write(pq_writer *w, pq_col *c, const pq_column_data *d, size_t r, size_t end,
                        char *err)
{
	int rc;
	while (r < end) {
		size_t n = pq_page_room(w, c, d, r, end - r);
		size_t done;
		if ((rc = pq_put_values(w, c, d, r, n, &done, err)))
			return rc;
		if (c->max_def) {
			if (d->valid)
				memcpy(c->defs + c->page_levels, d->valid + r, done);
			else
				memset(c->defs + c->page_levels, 1, done);
		}
		pq_account_values(c, d, r, done);
		c->page_rows += done;
		c->page_levels += done;
		r += done;
		rc = done < n ? pq_dict_overflow(w, c, err) : pq_page_maybe_flush(w, c, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* Upper bound of the PLAIN bytes of elements [e, e+n) of a list column. */
static size_t pq_elem_bytes(const pq_col *c, const pq_column_data *d, size_t e, size_t n)
{
	if (c->spec.physical == PQ_BYTE_ARRAY)
		return (size_t)(d->offsets[e + n] - d->offsets[e]) + 4 * n;
	if (c->spec.physical == PQ_BOOLEAN)
		return (n + 7) / 8;
	return n * c->width;
}

/* Rows from r (at most n) of a list column that the current page can still
 * take whole; *levels = their level entries. 0 only when the page is not
 * empty and the next row does not fit: the caller flushes it first. */
static size_t pq_list_room(const pq_writer *w, const pq_col *c, const pq_column_data *d, size_t r,
                           size_t n, size_t *levels)
{
	const uint64_t *lo = d->list_offsets;
	size_t cap = PQ_PAGE_MAX_ROWS > c->page_levels ? PQ_PAGE_MAX_ROWS - c->page_levels : 0;
	size_t used = pq_page_used(c);
	size_t left = w->opts.page_bytes > used ? w->opts.page_bytes - used : 0;
	size_t k = 0, ents = 0, bytes = 0;
	while (k < n) {
		size_t len = (size_t)(lo[r + k + 1] - lo[r + k]);
		size_t e = len ? len : 1;
		size_t b = pq_elem_bytes(c, d, (size_t)lo[r + k], len) + 1;
		if ((ents + e > cap || bytes + b > left) && (k > 0 || c->page_levels > 0))
			break;
		ents += e;
		bytes += b;
		k++;
	}
	*levels = ents;
	return k;
}

/* Makes room for `need` level entries in c's page buffers (levels and
 * dictionary indices; the delta encoder's input grows where it is used,
 * pq_work_tmp). */
static int pq_page_grow(pq_col *c, size_t need, char *err)
{
	if (need <= c->lv_cap)
		return 0;
	size_t cap = c->lv_cap * 2 > need ? c->lv_cap * 2 : need;
	uint8_t *defs = realloc(c->defs, cap);
	if (defs)
		c->defs = defs;
	uint8_t *reps = defs ? realloc(c->reps, cap) : NULL;
	if (reps)
		c->reps = reps;
	uint32_t *idx = NULL;
	if (reps && c->idx && (idx = realloc(c->idx, cap * sizeof(*idx))))
		c->idx = idx;
	if (!reps || (c->idx && !idx))
		return errf(err, FLOE_ENOMEM, "parquet: out of memory for a page of %zu values",
		            need);
	c->lv_cap = cap;
	return 0;
}

/* Writes the definition and repetition levels of rows [r, r+n) of a list
 * column after the page's; returns the entries of null and empty lists. */
static size_t pq_list_levels(pq_col *c, const pq_column_data *d, size_t r, size_t n)
{
	const uint64_t *lo = d->list_offsets;
	const uint8_t *ev = c->spec.element_required ? NULL : d->elem_valid;
	const uint8_t *rv = c->spec.required ? NULL : d->valid;
	size_t o = c->page_levels, nolist = 0;
	int null_elem = c->def_empty + 1;
	for (size_t row = r; row < r + n; row++) {
		size_t e = (size_t)lo[row], end = (size_t)lo[row + 1];
		if ((rv && !rv[row]) || e == end) {
			c->defs[o] = (uint8_t)(rv && !rv[row] ? 0 : c->def_empty);
			c->reps[o++] = 0;
			nolist++;
			continue;
		}
		for (size_t k = e; k < end; k++) {
			c->defs[o] = (uint8_t)(!ev || ev[k] ? c->max_def : null_elem);
			c->reps[o++] = k > e;
		}
	}
	c->page_levels = o;
	return nolist;
}

/* Appends rows [r, end) of a list column to its chunk: the values are the
 * elements, the levels say which rows and lists they belong to; pages are
 * cut between rows only. */
static int pq_list_write(pq_writer *w, pq_col *c, const pq_column_data *d, size_t r, size_t end,
                         char *err)
{
	const uint64_t *lo = d->list_offsets;
	pq_column_data ev = {.valid = c->spec.element_required ? NULL : d->elem_valid,
	                     .values = d->values,
	                     .offsets = d->offsets,
	                     .bytes = d->bytes};
	int rc;
	while (r < end) {
		size_t levels, n = pq_list_room(w, c, d, r, end - r, &levels);
		if (n == 0) {
			if ((rc = pq_page_flush(w, c, err)))
				return rc;
			continue;
		}
		if ((rc = pq_page_grow(c, c->page_levels + levels, err)))
			return rc;
		size_t e0 = (size_t)lo[r], ne = (size_t)(lo[r + n] - lo[r]), done = 0, rows = n;
		if (ne && (rc = pq_put_values(w, c, &ev, e0, ne, &done, err)))
			return rc;
		if (done < ne) {
			/* The dictionary filled up inside a row: keep the rows before
			 * it, drop the indices of that row's elements, and let
			 * pq_dict_overflow decide how it goes on from that row. */
			rows = 0;
			while (lo[r + rows + 1] <= e0 + done)
				rows++;
			for (size_t k = (size_t)lo[r + rows]; k < e0 + done; k++)
				c->idx_n -= !ev.valid || ev.valid[k];
		}
		size_t kept = (size_t)(lo[r + rows] - lo[r]);
		if (kept)
			pq_account_values(c, &ev, e0, kept);
		c->page_st.nulls += (int64_t)pq_list_levels(c, d, r, rows);
		c->page_rows += rows;
		r += rows;
		rc = rows < n ? pq_dict_overflow(w, c, err) : pq_page_maybe_flush(w, c, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- row groups -------------------------------------------------------- */

static int pq_emit(pq_writer *w, const void *p, size_t n, char *err)
{
	if (n == 0)
		return 0;
	int rc = w->sink(w->sink_ctx, p, n, err);
	if (rc) {
		w->failed = rc;
		return rc;
	}
	w->offset += (int64_t)n;
	return 0;
}

/* Buffered size of the current row group, in encoded (uncompressed) bytes. */
static size_t pq_rg_bytes(const pq_writer *w)
{
	size_t total = 0;
	for (int i = 0; i < w->ncols; i++) {
		const pq_col *c = &w->cols[i];
		total += (size_t)c->chunk_uncomp;
		if (c->dict_on)
			total +=
			    c->dict_vals.len + (c->idx_n * (size_t)pq_dict_bit_width(c) + 7) / 8;
		else
			total += c->vals.len;
	}
	return total;
}

/* PLAIN bytes of rows [r, r+k) over all columns. */
static size_t pq_raw_bytes(const pq_writer *w, const pq_column_data *data, size_t r, size_t k)
{
	size_t total = k * w->fixed_row_bytes;
	for (int i = 0; i < w->ncols; i++) {
		const pq_col *c = &w->cols[i];
		if (c->spec.list) {
			const uint64_t *lo = data[i].list_offsets;
			total +=
			    pq_elem_bytes(c, &data[i], (size_t)lo[r], (size_t)(lo[r + k] - lo[r]));
			total += k; /* levels, roughly */
		} else if (c->spec.physical == PQ_BYTE_ARRAY) {
			total += (size_t)(data[i].offsets[r + k] - data[i].offsets[r]) + 4 * k;
		}
	}
	return total;
}

/* Rows to take from r so the row group stays close to row_group_bytes: as
 * many as fit the remaining budget at PLAIN size (an upper bound of what
 * they add), but at least a page's worth, so that columns that encode far
 * below PLAIN size do not shrink the slices geometrically. */
static size_t pq_slice_rows(const pq_writer *w, const pq_column_data *data, size_t r, size_t nrows)
{
	size_t cur = pq_rg_bytes(w);
	size_t budget = w->opts.row_group_bytes > cur ? w->opts.row_group_bytes - cur : 0;
	if (budget < w->opts.page_bytes)
		budget = w->opts.page_bytes;
	size_t lo = 1, hi = nrows - r;
	if (pq_raw_bytes(w, data, r, hi) <= budget)
		return hi;
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;
		if (pq_raw_bytes(w, data, r, mid) <= budget)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

static void pq_index_entry_bounds(const pq_col *c, const pq_page_info *pi, const uint8_t **mn,
                                  const uint8_t **mx)
{
	*mn = pq_at(&c->pi_bytes, pi->min_off);
	*mx = pq_at(&c->pi_bytes, pi->max_off);
}

/* ColumnIndex and OffsetIndex of the chunk whose first data page is at
 * data_off, appended to w->colidx / w->offidx. */
static void pq_page_index(pq_writer *w, pq_col *c, pq_chunk_meta *m, int64_t data_off)
{
	thrift_writer t;
	m->ci_len = 0;
	if (c->ci_ok) {
		int asc = 1, desc = 1;
		const pq_page_info *prev = NULL;
		for (size_t i = 0; i < c->npi; i++) {
			const pq_page_info *pi = &c->pi[i];
			if (pi->null_page)
				continue;
			if (prev) {
				const uint8_t *pmn, *pmx, *mn, *mx;
				pq_index_entry_bounds(c, prev, &pmn, &pmx);
				pq_index_entry_bounds(c, pi, &mn, &mx);
				int a = pq_cmp(c, pmn, prev->min_len, mn, pi->min_len);
				int b = pq_cmp(c, pmx, prev->max_len, mx, pi->max_len);
				if (a > 0 || b > 0)
					asc = 0;
				if (a < 0 || b < 0)
					desc = 0;
			}
			prev = pi;
		}
		size_t start = w->colidx.len;
		thrift_init(&t, &w->colidx);
		thrift_list_begin(&t, 1, THRIFT_BOOL, (uint32_t)c->npi);
		for (size_t i = 0; i < c->npi; i++)
			thrift_elem_bool(&t, c->pi[i].null_page);
		thrift_list_begin(&t, 2, THRIFT_BINARY, (uint32_t)c->npi);
		for (size_t i = 0; i < c->npi; i++)
			thrift_elem_binary(&t, pq_at(&c->pi_bytes, c->pi[i].min_off),
			                   c->pi[i].min_len);
		thrift_list_begin(&t, 3, THRIFT_BINARY, (uint32_t)c->npi);
		for (size_t i = 0; i < c->npi; i++)
			thrift_elem_binary(&t, pq_at(&c->pi_bytes, c->pi[i].max_off),
			                   c->pi[i].max_len);
		thrift_field_i32(&t, 4,
		                 asc ? PQ_ORDER_ASCENDING
		                     : (desc ? PQ_ORDER_DESCENDING : PQ_ORDER_UNORDERED));
		thrift_list_begin(&t, 5, THRIFT_I64, (uint32_t)c->npi);
		for (size_t i = 0; i < c->npi; i++)
			thrift_elem_i64(&t, c->pi[i].nulls);
		if (pq_is_float(c)) {
			thrift_list_begin(&t, 8, THRIFT_I64, (uint32_t)c->npi);
			for (size_t i = 0; i < c->npi; i++)
				thrift_elem_i64(&t, c->pi[i].nans);
		}
		if (thrift_finish(&t) == 0) {
			m->ci_off = (int64_t)start;
			m->ci_len = (int32_t)(w->colidx.len - start);
		}
	}
	size_t start = w->offidx.len;
	thrift_init(&t, &w->offidx);
	thrift_list_begin(&t, 1, THRIFT_STRUCT, (uint32_t)c->npi);
	for (size_t i = 0; i < c->npi; i++) {
		thrift_elem_struct_begin(&t);
		thrift_field_i64(&t, 1, data_off + c->pi[i].offset);
		thrift_field_i32(&t, 2, c->pi[i].size);
		thrift_field_i64(&t, 3, c->pi[i].first_row);
		thrift_struct_end(&t);
	}
	thrift_finish(&t);
	m->oi_off = (int64_t)start;
	m->oi_len = (int32_t)(w->offidx.len - start);
}

static void pq_chunk_reset(pq_writer *w, pq_col *c)
{
	buf_reset(&c->pages);
	buf_reset(&c->dict_page);
	buf_reset(&c->pi_bytes);
	pq_stats_reset(&c->chunk_st);
	pq_dict_clear(c);
	c->dict_on = c->spec.physical != PQ_BOOLEAN && w->opts.dict_max_bytes > 0;
	c->chunk_rows = c->chunk_values = c->chunk_uncomp = c->chunk_comp = 0;
	c->dict_pages = c->other_pages = 0;
	c->npi = 0;
	c->ci_ok = 1;
}

/* Writes the buffered row group to the sink (invariant 2). */
static int pq_rowgroup_flush(pq_writer *w, char *err)
{
	int rc;
	if (w->rg_rows == 0)
		return 0;
	if (w->nrg == INT16_MAX)
		return errf(err, FLOE_ETOOBIG, "parquet: more than %d row groups", INT16_MAX);
	if (w->nrg == w->rg_cap) {
		int cap = w->rg_cap ? w->rg_cap * 2 : 8;
		pq_rg_meta *rgs = realloc(w->rgs, (size_t)cap * sizeof(*rgs));
		if (!rgs)
			return errf(err, FLOE_ENOMEM, "parquet: out of memory");
		w->rgs = rgs;
		pq_chunk_meta *ch =
		    realloc(w->chunks, (size_t)cap * (size_t)w->ncols * sizeof(*ch));
		if (!ch)
			return errf(err, FLOE_ENOMEM, "parquet: out of memory");
		w->chunks = ch;
		w->rg_cap = cap;
	}
	pq_rg_meta *rg = &w->rgs[w->nrg];
	rg->offset = w->offset;
	rg->num_rows = w->rg_rows;
	rg->uncompressed = rg->compressed = 0;
	for (int i = 0; i < w->ncols; i++) {
		pq_col *c = &w->cols[i];
		pq_chunk_meta *m = &w->chunks[(size_t)w->nrg * (size_t)w->ncols + (size_t)i];
		if ((rc = pq_page_flush(w, c, err)))
			return rc;
		if (c->dict_on && c->dict_pages && (rc = pq_dict_page(w, c, err)))
			return rc;
		m->dict_page_offset = c->dict_page.len ? w->offset : -1;
		m->data_page_offset = w->offset + (int64_t)c->dict_page.len;
		m->num_values = c->chunk_values;
		m->uncompressed = c->chunk_uncomp;
		m->compressed = c->chunk_comp;
		m->dict_pages = c->dict_pages;
		m->other_pages = c->other_pages;
		pq_bounds b;
		pq_bounds_of(c, &c->chunk_st, &b);
		m->nulls = b.nulls;
		m->nans = b.nans;
		m->has = b.has;
		m->min_exact = b.min_exact;
		m->max_exact = b.max_exact;
		m->min_off = w->meta_bytes.len;
		m->min_len = b.has ? b.min_len : 0;
		buf_append(&w->meta_bytes, b.min, m->min_len);
		m->max_off = w->meta_bytes.len;
		m->max_len = b.has ? b.max_len : 0;
		buf_append(&w->meta_bytes, b.max, m->max_len);
		pq_page_index(w, c, m, m->data_page_offset);
		if (!buf_ok(&w->meta_bytes) || !buf_ok(&w->colidx) || !buf_ok(&w->offidx))
			return errf(err, FLOE_ENOMEM, "parquet: out of memory in the footer");
		if ((rc = pq_emit(w, c->dict_page.data, c->dict_page.len, err)) ||
		    (rc = pq_emit(w, c->pages.data, c->pages.len, err)))
			return rc;
		rg->uncompressed += c->chunk_uncomp;
		rg->compressed += c->chunk_comp;
		c->file_values += c->chunk_values;
		c->file_comp += c->chunk_comp;
		c->file_uncomp += c->chunk_uncomp;
		pq_stats_add(c, &c->file_st, &c->chunk_st);
		if (!pq_stats_ok(&c->file_st))
			return errf(err, FLOE_ENOMEM, "parquet: out of memory in statistics");
		pq_chunk_reset(w, c);
	}
	w->num_rows += w->rg_rows;
	w->rg_rows = 0;
	w->nrg++;
	return 0;
}

/* ---- footer ------------------------------------------------------------ */

/* The SchemaElement of a leaf column of type s, named `name`. */
static void pq_schema_element(thrift_writer *t, const pq_column_spec *s, const char *name,
                              int32_t field_id, int repetition)
{
	thrift_elem_struct_begin(t);
	thrift_field_i32(t, 1, (int32_t)s->physical);
	if (s->physical == PQ_FIXED_LEN_BYTE_ARRAY)
		thrift_field_i32(t, 2, s->type_length);
	thrift_field_i32(t, 3, repetition);
	thrift_field_string(t, 4, name);
	int ct = -1;
	switch (s->logical) {
	case PQ_LOGICAL_STRING:
		ct = PQ_CT_UTF8;
		break;
	case PQ_LOGICAL_INT:
		ct =
		    PQ_CT_INT_8 + pq_bit_width((uint64_t)s->int_bits) - 4; /* 8 -> 15 .. 64 -> 18 */
		break;
	case PQ_LOGICAL_DATE:
		ct = PQ_CT_DATE;
		break;
	case PQ_LOGICAL_TIME:
		ct = s->nanos ? -1 : PQ_CT_TIME_MICROS;
		break;
	case PQ_LOGICAL_TIMESTAMP:
		ct = s->nanos ? -1 : PQ_CT_TIMESTAMP_MICROS;
		break;
	case PQ_LOGICAL_DECIMAL:
		ct = PQ_CT_DECIMAL;
		break;
	default:
		break;
	}
	if (ct >= 0)
		thrift_field_i32(t, 6, ct);
	if (s->logical == PQ_LOGICAL_DECIMAL) {
		thrift_field_i32(t, 7, s->scale);
		thrift_field_i32(t, 8, s->precision);
	}
	thrift_field_i32(t, 9, field_id);
	if (s->logical != PQ_LOGICAL_NONE) {
		thrift_struct_begin(t, 10);
		switch (s->logical) {
		case PQ_LOGICAL_STRING:
			thrift_struct_begin(t, PQ_LT_STRING);
			break;
		case PQ_LOGICAL_INT:
			thrift_struct_begin(t, PQ_LT_INTEGER);
			thrift_field_i8(t, 1, (int8_t)s->int_bits);
			thrift_field_bool(t, 2, 1);
			break;
		case PQ_LOGICAL_DATE:
			thrift_struct_begin(t, PQ_LT_DATE);
			break;
		case PQ_LOGICAL_TIME:
		case PQ_LOGICAL_TIMESTAMP:
			thrift_struct_begin(t, s->logical == PQ_LOGICAL_TIME ? PQ_LT_TIME
			                                                     : PQ_LT_TIMESTAMP);
			thrift_field_bool(t, 1,
			                  s->logical == PQ_LOGICAL_TIMESTAMP && s->utc_adjusted);
			thrift_struct_begin(t, 2);
			thrift_struct_begin(t, s->nanos ? PQ_UNIT_NANOS : PQ_UNIT_MICROS);
			thrift_struct_end(t);
			thrift_struct_end(t);
			break;
		case PQ_LOGICAL_DECIMAL:
			thrift_struct_begin(t, PQ_LT_DECIMAL);
			thrift_field_i32(t, 1, s->scale);
			thrift_field_i32(t, 2, s->precision);
			break;
		case PQ_LOGICAL_UUID:
			thrift_struct_begin(t, PQ_LT_UUID);
			break;
		case PQ_LOGICAL_NONE:
			break;
		}
		thrift_struct_end(t); /* the member */
		thrift_struct_end(t); /* LogicalType */
	}
	thrift_struct_end(t);
}

/* The SchemaElements of column s: its leaf, or for a list the LIST group,
 * the repeated group "list" and the leaf "element". */
static void pq_schema_column(thrift_writer *t, const pq_column_spec *s)
{
	int rep = s->required ? PQ_REQUIRED : PQ_OPTIONAL;
	if (!s->list) {
		pq_schema_element(t, s, s->name, s->field_id, rep);
		return;
	}
	thrift_elem_struct_begin(t);
	thrift_field_i32(t, 3, rep);
	thrift_field_string(t, 4, s->name);
	thrift_field_i32(t, 5, 1);
	thrift_field_i32(t, 6, PQ_CT_LIST);
	thrift_field_i32(t, 9, s->field_id);
	thrift_struct_begin(t, 10); /* LogicalType */
	thrift_struct_begin(t, PQ_LT_LIST);
	thrift_struct_end(t);
	thrift_struct_end(t);
	thrift_struct_end(t);
	thrift_elem_struct_begin(t);
	thrift_field_i32(t, 3, PQ_REPEATED);
	thrift_field_string(t, 4, "list");
	thrift_field_i32(t, 5, 1);
	thrift_struct_end(t);
	pq_schema_element(t, s, "element", s->element_field_id,
	                  s->element_required ? PQ_REQUIRED : PQ_OPTIONAL);
}

static void pq_column_chunk(thrift_writer *t, const pq_writer *w, const pq_col *c,
                            const pq_chunk_meta *m, int64_t ci_base, int64_t oi_base)
{
	int enc[4], nenc = 0;
	if (m->dict_pages)
		enc[nenc++] = PQ_ENC_PLAIN; /* the dictionary page */
	if (c->max_def || c->spec.list)
		enc[nenc++] = PQ_ENC_RLE;
	if (m->other_pages && !(c->other_enc == PQ_ENC_PLAIN && m->dict_pages))
		enc[nenc++] = c->other_enc;
	if (m->dict_pages)
		enc[nenc++] = PQ_ENC_RLE_DICTIONARY;

	thrift_elem_struct_begin(t);
	thrift_field_i64(t, 2,
	                 m->dict_page_offset >= 0 ? m->dict_page_offset : m->data_page_offset);
	thrift_struct_begin(t, 3);
	thrift_field_i32(t, 1, (int32_t)c->spec.physical);
	thrift_list_begin(t, 2, THRIFT_I32, (uint32_t)nenc);
	for (int i = 0; i < nenc; i++)
		thrift_elem_i32(t, enc[i]);
	thrift_list_begin(t, 3, THRIFT_BINARY, c->spec.list ? 3 : 1);
	thrift_elem_string(t, c->spec.name);
	if (c->spec.list) {
		thrift_elem_string(t, "list");
		thrift_elem_string(t, "element");
	}
	thrift_field_i32(t, 4, (int32_t)w->opts.codec);
	thrift_field_i64(t, 5, m->num_values);
	thrift_field_i64(t, 6, m->uncompressed);
	thrift_field_i64(t, 7, m->compressed);
	thrift_field_i64(t, 9, m->data_page_offset);
	if (m->dict_page_offset >= 0)
		thrift_field_i64(t, 11, m->dict_page_offset);
	pq_bounds b;
	b.nulls = m->nulls;
	b.nans = m->nans;
	b.has = m->has;
	b.min_exact = m->min_exact;
	b.max_exact = m->max_exact;
	b.min = pq_at(&w->meta_bytes, m->min_off);
	b.min_len = m->min_len;
	b.max = pq_at(&w->meta_bytes, m->max_off);
	b.max_len = m->max_len;
	pq_thrift_stats(t, 12, c, &b);
	/* encoding_stats: lets readers see that every data page is
	 * dictionary-encoded without reading the pages. */
	uint32_t nstats = (m->dict_pages ? 2u : 0u) + (m->other_pages ? 1u : 0u);
	thrift_list_begin(t, 13, THRIFT_STRUCT, nstats);
	if (m->dict_pages) {
		thrift_elem_struct_begin(t);
		thrift_field_i32(t, 1, PQ_PAGE_DICTIONARY);
		thrift_field_i32(t, 2, PQ_ENC_PLAIN);
		thrift_field_i32(t, 3, 1);
		thrift_struct_end(t);
		thrift_elem_struct_begin(t);
		thrift_field_i32(t, 1, PQ_PAGE_DATA);
		thrift_field_i32(t, 2, PQ_ENC_RLE_DICTIONARY);
		thrift_field_i32(t, 3, m->dict_pages);
		thrift_struct_end(t);
	}
	if (m->other_pages) {
		thrift_elem_struct_begin(t);
		thrift_field_i32(t, 1, PQ_PAGE_DATA);
		thrift_field_i32(t, 2, c->other_enc);
		thrift_field_i32(t, 3, m->other_pages);
		thrift_struct_end(t);
	}
	thrift_struct_end(t); /* ColumnMetaData */
	thrift_field_i64(t, 4, oi_base + m->oi_off);
	thrift_field_i32(t, 5, m->oi_len);
	if (m->ci_len) {
		thrift_field_i64(t, 6, ci_base + m->ci_off);
		thrift_field_i32(t, 7, m->ci_len);
	}
	thrift_struct_end(t);
}

static int pq_footer(pq_writer *w, buf *out, int64_t ci_base, int64_t oi_base)
{
	thrift_writer t;
	thrift_init(&t, out);
	thrift_field_i32(&t, 1, 1);
	uint32_t nlists = 0;
	for (int i = 0; i < w->ncols; i++)
		nlists += w->cols[i].spec.list ? 1u : 0u;
	thrift_list_begin(&t, 2, THRIFT_STRUCT, (uint32_t)w->ncols + 1 + 2 * nlists);
	thrift_elem_struct_begin(&t);
	thrift_field_string(&t, 4, "schema");
	thrift_field_i32(&t, 5, w->ncols);
	thrift_struct_end(&t);
	for (int i = 0; i < w->ncols; i++)
		pq_schema_column(&t, &w->cols[i].spec);
	thrift_field_i64(&t, 3, w->num_rows);
	thrift_list_begin(&t, 4, THRIFT_STRUCT, (uint32_t)w->nrg);
	for (int g = 0; g < w->nrg; g++) {
		const pq_rg_meta *rg = &w->rgs[g];
		thrift_elem_struct_begin(&t);
		thrift_list_begin(&t, 1, THRIFT_STRUCT, (uint32_t)w->ncols);
		for (int i = 0; i < w->ncols; i++)
			pq_column_chunk(&t, w, &w->cols[i],
			                &w->chunks[(size_t)g * (size_t)w->ncols + (size_t)i],
			                ci_base, oi_base);
		thrift_field_i64(&t, 2, rg->uncompressed);
		thrift_field_i64(&t, 3, rg->num_rows);
		thrift_field_i64(&t, 5, rg->offset);
		thrift_field_i64(&t, 6, rg->compressed);
		thrift_field_i16(&t, 7, (int16_t)g);
		thrift_struct_end(&t);
	}
	if (w->nkv) {
		thrift_list_begin(&t, 5, THRIFT_STRUCT, (uint32_t)w->nkv);
		for (int i = 0; i < w->nkv; i++) {
			thrift_elem_struct_begin(&t);
			thrift_field_string(&t, 1, w->kv[i].key);
			if (w->kv[i].value)
				thrift_field_string(&t, 2, w->kv[i].value);
			thrift_struct_end(&t);
		}
	}
	thrift_field_string(&t, 6, w->created_by);
	thrift_list_begin(&t, 7, THRIFT_STRUCT, (uint32_t)w->ncols);
	for (int i = 0; i < w->ncols; i++) {
		thrift_elem_struct_begin(&t); /* ColumnOrder */
		thrift_struct_begin(&t, 1);   /* TYPE_ORDER: TypeDefinedOrder {} */
		thrift_struct_end(&t);
		thrift_struct_end(&t);
	}
	return thrift_finish(&t);
}

/* ---- public API -------------------------------------------------------- */

void pq_options_default(pq_options *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->codec = PQ_CODEC_ZSTD;
	opts->zstd_level = 3;
	opts->row_group_bytes = (size_t)128 << 20;
	opts->page_bytes = (size_t)1 << 20;
	opts->dict_max_bytes = (size_t)1 << 20;
	opts->created_by = "floe";
	opts->delta_encodings = 0;
	opts->threads = 1;
}

/* Largest decimal precision an n-byte two's complement integer holds:
 * floor(log10(2^(8n-1) - 1)). */
static int pq_flba_max_precision(int n)
{
	return (int)((8.0 * n - 1) * 0.30102999566398120);
}

static int pq_check_spec(const pq_column_spec *s, int i, char *err)
{
	const char *name = s->name;
	if (!name || !*name)
		return errf(err, FLOE_EINVAL, "parquet: column %d has no name", i);
	pq_physical p = s->physical;
	if (p != PQ_BOOLEAN && p != PQ_INT32 && p != PQ_INT64 && p != PQ_FLOAT && p != PQ_DOUBLE &&
	    p != PQ_BYTE_ARRAY && p != PQ_FIXED_LEN_BYTE_ARRAY)
		return errf(err, FLOE_EINVAL, "parquet: column '%s': unknown physical type %d",
		            name, (int)p);
	if (p == PQ_FIXED_LEN_BYTE_ARRAY && s->type_length <= 0)
		return errf(err, FLOE_EINVAL,
		            "parquet: column '%s': FIXED_LEN_BYTE_ARRAY needs a "
		            "positive type_length",
		            name);
	int ok;
	switch (s->logical) {
	case PQ_LOGICAL_NONE:
		ok = 1;
		break;
	case PQ_LOGICAL_STRING:
		ok = p == PQ_BYTE_ARRAY;
		break;
	case PQ_LOGICAL_INT:
		ok = (p == PQ_INT32 &&
		      (s->int_bits == 8 || s->int_bits == 16 || s->int_bits == 32)) ||
		     (p == PQ_INT64 && s->int_bits == 64);
		break;
	case PQ_LOGICAL_DATE:
		ok = p == PQ_INT32;
		break;
	case PQ_LOGICAL_TIME:
	case PQ_LOGICAL_TIMESTAMP:
		ok = p == PQ_INT64;
		break;
	case PQ_LOGICAL_DECIMAL: {
		int maxp = p == PQ_INT32                  ? 9
		           : p == PQ_INT64                ? 18
		           : p == PQ_FIXED_LEN_BYTE_ARRAY ? pq_flba_max_precision(s->type_length)
		                                          : 0;
		ok = s->precision >= 1 && s->precision <= maxp && s->scale >= 0 &&
		     s->scale <= s->precision;
		break;
	}
	case PQ_LOGICAL_UUID:
		ok = p == PQ_FIXED_LEN_BYTE_ARRAY && s->type_length == 16;
		break;
	default:
		ok = 0;
		break;
	}
	if (!ok)
		return errf(err, FLOE_EINVAL,
		            "parquet: column '%s': logical type %d does not fit physical type %d "
		            "(int_bits %d, precision %d, scale %d, type_length %d)",
		            name, (int)s->logical, (int)p, s->int_bits, s->precision, s->scale,
		            s->type_length);
	return 0;
}

static int pq_check_options(const pq_options *o, char *err)
{
	if (o->codec != PQ_CODEC_UNCOMPRESSED && o->codec != PQ_CODEC_SNAPPY &&
	    o->codec != PQ_CODEC_ZSTD)
		return errf(err, FLOE_EINVAL, "parquet: unsupported codec %d", (int)o->codec);
	if (o->codec == PQ_CODEC_ZSTD &&
	    (o->zstd_level < ZSTD_minCLevel() || o->zstd_level > ZSTD_maxCLevel()))
		return errf(err, FLOE_EINVAL, "parquet: zstd level %d is outside %d..%d",
		            o->zstd_level, ZSTD_minCLevel(), ZSTD_maxCLevel());
	if (o->row_group_bytes == 0 || o->page_bytes == 0)
		return errf(err, FLOE_EINVAL,
		            "parquet: row_group_bytes and page_bytes must be > 0");
	if (o->page_bytes > PQ_PAGE_BYTES_MAX)
		return errf(err, FLOE_EINVAL, "parquet: page_bytes %zu is above %zu", o->page_bytes,
		            PQ_PAGE_BYTES_MAX);
	if (o->threads < 0 || o->threads > 2)
		return errf(err, FLOE_EINVAL, "parquet: threads %d is not 1 or 2", o->threads);
	if (o->dict_max_bytes > UINT32_MAX / 2)
		return errf(err, FLOE_EINVAL, "parquet: dict_max_bytes %zu is too large",
		            o->dict_max_bytes);
	return 0;
}

static void pq_col_release(pq_col *c)
{
	free((char *)c->spec.name);
	pq_stats_release(&c->page_st);
	pq_stats_release(&c->chunk_st);
	pq_stats_release(&c->file_st);
	buf_release(&c->vals);
	buf_release(&c->dict_vals);
	buf_release(&c->pages);
	buf_release(&c->dict_page);
	buf_release(&c->pi_bytes);
	free(c->idx);
	free(c->defs);
	free(c->reps);
	free(c->dkey);
	free(c->doff);
	free(c->slots);
	free(c->pi);
}

/* ---- two threads writing columns (invariant 6) ------------------------ */

/* The helper thread of a writer with opts.threads == 2: it writes the
 * columns marked `mine` of each job while the caller writes the others. */
typedef struct pq_helper {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a job or quit for the helper; the job done for the caller */
	int job, quit;
	const pq_column_data *data;
	size_t r, end;
	uint8_t *mine; /* per column: 1 = the helper writes it */
	int rc;
	char err[ERR_LEN];
} pq_helper;

/* Rows [r, end) of column c. */
static int pq_write_column(pq_writer *w, pq_col *c, const pq_column_data *d, size_t r, size_t end,
                           char *err)
{
	return (c->spec.list ? pq_list_write : pq_col_write)(w, c, d, r, end, err);
}

static void *pq_helper_main(void *arg)
{
	pq_writer *w = arg;
	pq_helper *h = w->helper;
	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->job && !h->quit)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->quit)
			break;
		pthread_mutex_unlock(&h->mu);
		int rc = 0;
		for (int i = 0; i < w->ncols && rc == 0; i++)
			if (h->mine[i])
				rc = pq_write_column(w, &w->cols[i], &h->data[i], h->r, h->end,
				                     h->err);
		pthread_mutex_lock(&h->mu);
		h->rc = rc;
		h->job = 0;
		pthread_cond_broadcast(&h->cv);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static int pq_helper_start(pq_writer *w, char *err)
{
	pq_helper *h = calloc(1, sizeof(*h));
	if (!h || !(h->mine = calloc((size_t)w->ncols, 1))) {
		free(h);
		return errf(err, FLOE_ENOMEM, "parquet: out of memory opening a writer");
	}
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	w->helper = h;
	if (pthread_create(&h->thread, NULL, pq_helper_main, w) != 0) {
		w->helper = NULL;
		pthread_mutex_destroy(&h->mu);
		pthread_cond_destroy(&h->cv);
		free(h->mine);
		free(h);
		return errf(err, FLOE_ENOMEM, "parquet: cannot start a writer thread");
	}
	return 0;
}

static void pq_helper_stop(pq_writer *w)
{
	pq_helper *h = w->helper;
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->quit = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h->mine);
	free(h);
	w->helper = NULL;
}

/* About how much work rows [r, end) of column c are: their PLAIN bytes. */
static size_t pq_col_weight(const pq_col *c, const pq_column_data *d, size_t r, size_t end)
{
	size_t n = end - r;
	if (c->spec.list)
		n = (size_t)(d->list_offsets[end] - d->list_offsets[r]);
	if (c->spec.physical == PQ_BYTE_ARRAY) {
		size_t e0 = c->spec.list ? (size_t)d->list_offsets[r] : r;
		return (size_t)(d->offsets[e0 + n] - d->offsets[e0]) + 4 * n;
	}
	return n * (c->width ? c->width : 1);
}

/* Rows [r, end) of every column: with a helper, the heaviest columns first,
 * each to the thread with less work so far (the column's wk follows it);
 * the bytes each column produces do not depend on which thread writes it. */
static int pq_write_columns(pq_writer *w, const pq_column_data *data, size_t r, size_t end,
                            char *err)
{
	pq_helper *h = w->helper;
	int rc = 0;
	if (!h) {
		for (int i = 0; i < w->ncols && rc == 0; i++)
			rc = pq_write_column(w, &w->cols[i], &data[i], r, end, err);
		return rc;
	}
	size_t load[2] = {0, 0};
	memset(h->mine, 0xff, (size_t)w->ncols); /* 0xff: not placed yet */
	for (int placed = 0; placed < w->ncols; placed++) {
		int best = -1;
		size_t bw = 0;
		for (int i = 0; i < w->ncols; i++) {
			size_t wt = pq_col_weight(&w->cols[i], &data[i], r, end);
			if (h->mine[i] == 0xff && (best < 0 || wt > bw)) {
				best = i;
				bw = wt;
			}
		}
		int side = load[1] < load[0];
		h->mine[best] = (uint8_t)side;
		w->cols[best].wk = &w->work[side];
		load[side] += bw;
	}
	pthread_mutex_lock(&h->mu);
	h->data = data;
	h->r = r;
	h->end = end;
	h->rc = 0;
	h->job = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	for (int i = 0; i < w->ncols && rc == 0; i++)
		if (!h->mine[i])
			rc = pq_write_column(w, &w->cols[i], &data[i], r, end, err);
	pthread_mutex_lock(&h->mu);
	while (h->job)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	if (rc == 0 && h->rc)
		rc = errf(err, h->rc, "%s", h->err);
	for (int i = 0; i < w->ncols; i++) /* row group flushes run on this thread */
		w->cols[i].wk = &w->work[0];
	return rc;
}

void pq_writer_abort(pq_writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < w->ncols; i++)
		pq_col_release(&w->cols[i]);
	free(w->cols);
	for (int i = 0; i < w->nkv; i++) {
		free((char *)w->kv[i].key);
		free((char *)w->kv[i].value);
	}
	free(w->kv);
	free(w->created_by);
	pq_helper_stop(w);
	for (int k = 0; k < 2; k++) {
		ZSTD_freeCCtx(w->work[k].zctx);
		buf_release(&w->work[k].scratch);
		buf_release(&w->work[k].zbuf);
		free(w->work[k].tmp);
	}
	free(w->rgs);
	free(w->chunks);
	buf_release(&w->meta_bytes);
	buf_release(&w->colidx);
	buf_release(&w->offidx);
	free(w);
}

static char *pq_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

int pq_writer_open(const pq_column_spec *cols, int ncols, const pq_kv *kv, int nkv,
                   const pq_options *opts, pq_sink_fn sink, void *sink_ctx, pq_writer **out,
                   char *err)
{
	int rc;
	pq_writer *w = NULL;
	*out = NULL;
	if (ncols <= 0 || !cols || !sink || nkv < 0 || (nkv && !kv)) {
		rc = errf(err, FLOE_EINVAL, "parquet: need at least one column and a sink");
		goto fail;
	}
	pq_options o;
	if (opts)
		o = *opts;
	else
		pq_options_default(&o);
	if (!o.created_by)
		o.created_by = "floe";
	if ((rc = pq_check_options(&o, err)))
		goto fail;
	for (int i = 0; i < ncols; i++) {
		if ((rc = pq_check_spec(&cols[i], i, err)))
			goto fail;
		for (int j = 0; j < i; j++)
			if (strcmp(cols[i].name, cols[j].name) == 0) {
				rc = errf(err, FLOE_EINVAL,
				          "parquet: column name '%s' appears twice", cols[i].name);
				goto fail;
			}
	}
	for (int i = 0; i < nkv; i++)
		if (!kv[i].key) {
			rc = errf(err, FLOE_EINVAL, "parquet: key-value entry %d has no key", i);
			goto fail;
		}

	w = calloc(1, sizeof(*w));
	if (!w)
		goto oom;
	w->opts = o;
	w->sink = sink;
	w->sink_ctx = sink_ctx;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	w->seed = ((uint64_t)(uintptr_t)w ^ (uint64_t)ts.tv_nsec) * PQ_HASH_MUL;
	w->created_by = strdup(o.created_by);
	w->cols = calloc((size_t)ncols, sizeof(*w->cols));
	w->kv = nkv ? calloc((size_t)nkv, sizeof(*w->kv)) : NULL;
	if (!w->created_by || !w->cols || (nkv && !w->kv))
		goto oom;
	w->opts.created_by = w->created_by;
	w->ncols = ncols;
	for (int i = 0; i < ncols; i++) {
		pq_col *c = &w->cols[i];
		c->spec = cols[i];
		c->spec.name = strdup(cols[i].name);
		if (!c->spec.name)
			goto oom;
		switch (c->spec.physical) {
		case PQ_BOOLEAN:
			c->width = 1;
			break;
		case PQ_INT32:
		case PQ_FLOAT:
			c->width = 4;
			break;
		case PQ_INT64:
		case PQ_DOUBLE:
			c->width = 8;
			break;
		case PQ_FIXED_LEN_BYTE_ARRAY:
			c->width = (size_t)c->spec.type_length;
			break;
		case PQ_BYTE_ARRAY:
			c->width = 0;
			break;
		}
		if (!c->spec.list)
			w->fixed_row_bytes += c->width;
		/* Levels: a list's definition levels count the optional list,
		 * the repeated group and the optional element. */
		c->def_empty = c->spec.list && !c->spec.required ? 1 : 0;
		c->max_def =
		    c->spec.list ? c->def_empty + 1 + !c->spec.element_required : !c->spec.required;
		c->lv_cap = PQ_PAGE_MAX_ROWS;
		c->signed_flba = c->spec.physical == PQ_FIXED_LEN_BYTE_ARRAY &&
		                 c->spec.logical == PQ_LOGICAL_DECIMAL;
		c->other_enc = PQ_ENC_PLAIN;
		if (o.delta_encodings &&
		    (c->spec.physical == PQ_INT32 || c->spec.physical == PQ_INT64))
			c->other_enc = PQ_ENC_DELTA_BINARY_PACKED;
		if (o.delta_encodings && c->spec.physical == PQ_BYTE_ARRAY)
			c->other_enc = PQ_ENC_DELTA_LENGTH_BYTE_ARRAY;
		if (c->max_def && !(c->defs = malloc(PQ_PAGE_MAX_ROWS)))
			goto oom;
		if (c->spec.list && !(c->reps = malloc(PQ_PAGE_MAX_ROWS)))
			goto oom;
		if (c->spec.physical != PQ_BOOLEAN && o.dict_max_bytes > 0 &&
		    !(c->idx = malloc(PQ_PAGE_MAX_ROWS * sizeof(*c->idx))))
			goto oom;
		pq_chunk_reset(w, c);
	}
	for (int i = 0; i < nkv; i++) {
		w->kv[i].key = strdup(kv[i].key);
		w->kv[i].value = pq_strdup(kv[i].value);
		w->nkv = i + 1;
		if (!w->kv[i].key || (kv[i].value && !w->kv[i].value))
			goto oom;
	}
	int nwork = o.threads == 2 && ncols > 1 ? 2 : 1;
	for (int k = 0; k < nwork && o.codec == PQ_CODEC_ZSTD; k++) {
		w->work[k].zctx = ZSTD_createCCtx();
		if (!w->work[k].zctx)
			goto oom;
		size_t r =
		    ZSTD_CCtx_setParameter(w->work[k].zctx, ZSTD_c_compressionLevel, o.zstd_level);
		if (ZSTD_isError(r)) {
			rc = errf(err, FLOE_EINVAL, "parquet: zstd level %d: %s", o.zstd_level,
			          ZSTD_getErrorName(r));
			goto fail;
		}
	}
	for (int i = 0; i < ncols; i++)
		w->cols[i].wk = &w->work[0];
	if (nwork == 2 && (rc = pq_helper_start(w, err)))
		goto fail;
	if ((rc = pq_emit(w, PQ_MAGIC, 4, err)))
		goto fail;
	*out = w;
	return 0;
oom:
	rc = errf(err, FLOE_ENOMEM, "parquet: out of memory opening a writer");
fail:
	pq_writer_abort(w);
	return rc;
}

/* Checks values [first, first + n) of d (rows of a flat column, elements of
 * a list; `what` names them) for the column's physical type. */
static int pq_check_values(const pq_col *c, const pq_column_data *d, size_t first, size_t n,
                           const char *what, char *err)
{
	const char *name = c->spec.name;
	if (c->spec.physical != PQ_BYTE_ARRAY) {
		if (n && !d->values)
			return errf(err, FLOE_EINVAL, "parquet: column '%s': no values", name);
		return 0;
	}
	if (!d->offsets || (!d->bytes && d->offsets[first + n] != d->offsets[first]))
		return errf(err, FLOE_EINVAL, "parquet: column '%s': no offsets/bytes", name);
	for (size_t r = first; r < first + n; r++) {
		uint64_t len = d->offsets[r + 1] - d->offsets[r];
		if (d->offsets[r + 1] < d->offsets[r])
			return errf(err, FLOE_EINVAL,
			            "parquet: column '%s': offsets decrease at %s %zu", name, what,
			            r);
		if (len > PQ_VALUE_MAX)
			return errf(err, FLOE_ETOOBIG,
			            "parquet: column '%s': %s %zu holds %llu bytes, "
			            "above the %llu a Parquet value may have",
			            name, what, r, (unsigned long long)len,
			            (unsigned long long)PQ_VALUE_MAX);
	}
	return 0;
}

/* Checks a list column's rows: offsets, null lists, required elements. */
static int pq_check_list(const pq_col *c, const pq_column_data *d, size_t nrows, char *err)
{
	const char *name = c->spec.name;
	const uint64_t *lo = d->list_offsets;
	if (!lo)
		return errf(err, FLOE_EINVAL, "parquet: list column '%s': no list offsets", name);
	for (size_t r = 0; r < nrows; r++) {
		if (lo[r + 1] < lo[r])
			return errf(err, FLOE_EINVAL,
			            "parquet: list column '%s': list offsets decrease at row %zu",
			            name, r);
		if (d->valid && !d->valid[r] && lo[r + 1] != lo[r])
			return errf(err, FLOE_EINVAL,
			            "parquet: list column '%s': row %zu is null but has elements",
			            name, r);
	}
	size_t first = (size_t)lo[0], n = (size_t)(lo[nrows] - lo[0]);
	if (c->spec.element_required && d->elem_valid && n) {
		const uint8_t *z = memchr(d->elem_valid + first, 0, n);
		if (z)
			return errf(err, FLOE_EINVAL,
			            "parquet: list column '%s' has required elements but element "
			            "%zu is null",
			            name, (size_t)(z - d->elem_valid));
	}
	return pq_check_values(c, d, first, n, "element", err);
}

/* Checks a batch before any of it is encoded. */
static int pq_check_batch(const pq_writer *w, const pq_column_data *data, size_t nrows, char *err)
{
	for (int i = 0; i < w->ncols; i++) {
		const pq_col *c = &w->cols[i];
		const pq_column_data *d = &data[i];
		int rc = c->spec.list ? pq_check_list(c, d, nrows, err)
		                      : pq_check_values(c, d, 0, nrows, "row", err);
		if (rc)
			return rc;
		if (c->spec.required && d->valid) {
			const uint8_t *z = memchr(d->valid, 0, nrows);
			if (z)
				return errf(err, FLOE_EINVAL,
				            "parquet: column '%s' is required but row %zu is null",
				            c->spec.name, (size_t)(z - d->valid));
		}
	}
	return 0;
}

int pq_writer_write(pq_writer *w, const pq_column_data *data, size_t nrows, char *err)
{
	int rc;
	if (w->failed)
		return errf(err, w->failed, "parquet: the writer failed earlier");
	if (nrows == 0)
		return 0;
	if (!data) {
		rc = errf(err, FLOE_EINVAL, "parquet: no column data");
		goto fail;
	}
	if ((rc = pq_check_batch(w, data, nrows, err)))
		goto fail;
	for (size_t r = 0; r < nrows;) {
		size_t n = pq_slice_rows(w, data, r, nrows);
		if ((rc = pq_write_columns(w, data, r, r + n, err)))
			goto fail;
		w->rg_rows += (int64_t)n;
		r += n;
		if (pq_rg_bytes(w) >= w->opts.row_group_bytes && (rc = pq_rowgroup_flush(w, err)))
			goto fail;
	}
	return 0;
fail:
	w->failed = rc;
	return rc;
}

static int pq_fill_result(pq_writer *w, pq_file_result *res, char *err)
{
	res->num_rows = w->num_rows;
	res->file_size = w->offset;
	res->nrow_groups = w->nrg;
	res->ncols = w->ncols;
	res->row_group_offsets = calloc((size_t)w->nrg + 1, sizeof(int64_t));
	res->cols = calloc((size_t)w->ncols, sizeof(*res->cols));
	if (!res->row_group_offsets || !res->cols)
		goto oom;
	for (int g = 0; g < w->nrg; g++)
		res->row_group_offsets[g] = w->rgs[g].offset;
	for (int i = 0; i < w->ncols; i++) {
		const pq_col *c = &w->cols[i];
		pq_column_result *cr = &res->cols[i];
		cr->num_values = c->file_values;
		cr->null_count = c->file_st.nulls;
		cr->nan_count = c->file_st.nans;
		cr->compressed_bytes = c->file_comp;
		cr->uncompressed_bytes = c->file_uncomp;
		cr->has_min_max = c->file_st.has;
		if (!c->file_st.has)
			continue;
		cr->min_len = c->file_st.min.len;
		cr->max_len = c->file_st.max.len;
		cr->min = malloc(cr->min_len + 1);
		cr->max = malloc(cr->max_len + 1);
		if (!cr->min || !cr->max)
			goto oom;
		if (cr->min_len)
			memcpy(cr->min, c->file_st.min.data, cr->min_len);
		if (cr->max_len)
			memcpy(cr->max, c->file_st.max.data, cr->max_len);
	}
	return 0;
oom:
	return errf(err, FLOE_ENOMEM, "parquet: out of memory filling the file result");
}

int pq_writer_close(pq_writer *w, pq_file_result *result, char *err)
{
	int rc;
	buf footer = {0};
	memset(result, 0, sizeof(*result));
	if (w->failed) {
		rc = errf(err, w->failed, "parquet: the writer failed earlier");
		goto fail;
	}
	if ((rc = pq_rowgroup_flush(w, err)))
		goto fail;
	int64_t ci_base = w->offset;
	if ((rc = pq_emit(w, w->colidx.data, w->colidx.len, err)))
		goto fail;
	int64_t oi_base = w->offset;
	if ((rc = pq_emit(w, w->offidx.data, w->offidx.len, err)))
		goto fail;
	if (pq_footer(w, &footer, ci_base, oi_base) || footer.len > UINT32_MAX) {
		rc = errf(err, FLOE_ENOMEM, "parquet: cannot serialize the footer (out of memory)");
		goto fail;
	}
	uint8_t tail[8];
	put_le32(tail, (uint32_t)footer.len);
	memcpy(tail + 4, PQ_MAGIC, 4);
	if ((rc = pq_emit(w, footer.data, footer.len, err)) || (rc = pq_emit(w, tail, 8, err)))
		goto fail;
	if ((rc = pq_fill_result(w, result, err)))
		goto fail;
	buf_release(&footer);
	pq_writer_abort(w);
	return 0;
fail:
	buf_release(&footer);
	pq_file_result_free(result);
	pq_writer_abort(w);
	return rc;
}

void pq_file_result_free(pq_file_result *r)
{
	if (!r)
		return;
	for (int i = 0; r->cols && i < r->ncols; i++) {
		free(r->cols[i].min);
		free(r->cols[i].max);
	}
	free(r->cols);
	free(r->row_group_offsets);
	memset(r, 0, sizeof(*r));
}
