/*
 * parquet_read — Parquet reader (contract in parquet_read.h). It owns an open
 * file (or borrows a buffer), the decoded footer, and per column a cursor:
 * the pages of one column chunk, its dictionary and one decompressed page.
 *
 * Bytes it reads (the file layout is in parquet.c's header; the thrift
 * structs are parquet-format's parquet.thrift, read with thrift_read.h):
 *   tail         u32 LE footer length + "PAR1" ("PARE": encrypted, refused)
 *   FileMetaData 2 schema (a depth-first list of SchemaElement: 1 type,
 *                2 type_length, 3 repetition, 4 name, 5 num_children,
 *                6 converted_type, 7 scale, 8 precision, 9 field_id,
 *                10 LogicalType), 3 num_rows, 4 row groups (1 columns, 3
 *                num_rows), each ColumnChunk (1 file_path, 3 ColumnMetaData:
 *                1 type, 4 codec, 5 num_values, 7 total_compressed_size,
 *                9 data_page_offset, 11 dictionary_page_offset; 4/5 offset
 *                index offset/length; 8/9 encryption). Everything else is
 *                skipped.
 *   OffsetIndex  1 list<PageLocation{1 offset, 2 compressed_page_size
 *                (header included), 3 first_row_index}>: data pages only.
 *   PageHeader   1 type, 2 uncompressed_page_size, 3 compressed_page_size,
 *                4 crc (CRC-32 of the bytes after the header), 5 DataPageHeader
 *                {1 num_values, 2 encoding, 3 definition_level_encoding},
 *                7 DictionaryPageHeader {1 num_values, 2 encoding},
 *                8 DataPageHeaderV2 {1 num_values, 2 num_nulls, 3 num_rows,
 *                4 encoding, 5 def levels byte length, 6 rep levels byte
 *                length, 7 is_compressed (default true)}.
 *   page body    v1: all of it compressed: [u32 LE n + n bytes of repetition
 *                levels when max_rep > 0] [u32 LE n + n bytes of definition
 *                levels when max_def > 0] values. v2: rep levels, def levels
 *                (no length prefix, never compressed), then the values,
 *                compressed when is_compressed. A page holds num_values
 *                level entries; a row is an entry at repetition level 0 and
 *                the entries above 0 after it (flat columns: entry = row).
 *   encodings    PLAIN, RLE hybrid, RLE_DICTIONARY and the DELTA kinds as
 *                parquet.c describes them; DELTA_BYTE_ARRAY = prefix lengths
 *                (DELTA_BINARY_PACKED), then the suffixes as
 *                DELTA_LENGTH_BYTE_ARRAY, value i = the first prefix[i] bytes
 *                of value i-1 + suffix i; BYTE_STREAM_SPLIT = byte k of every
 *                value, for k = 0..width-1, one stream after the other.
 *
 * Invariants:
 *   1. Every byte range read from the file lies in [4, data_end) (before
 *      the footer); every range inside a page lies in its decompressed
 *      body. Checked with subtraction, never with a sum that can overflow.
 *   2. A column's cursor is valid for (rg, page): pages[] lists the data
 *      pages of chunk rg with their first rows, strictly increasing from 0
 *      and all below the row group's row count; `body` holds page `page`
 *      uncompressed and the decoders stand at level entry d.ent, the first
 *      of row d.pos of the page (but for the d.list_left entries of row
 *      d.pos - 1 that pq_reader_elem has not read), with d.vidx non-null
 *      values consumed. Pages start at a row (the first entry's repetition
 *      level is 0; checked when the page is loaded).
 *   3. Allocation is bounded by the file: by a page's declared sizes, which
 *      the codec's own header must confirm (ZSTD frame size, Snappy length,
 *      gzip ISIZE) and which may not exceed PQ_READ_PAGE_MAX; counts that no
 *      bytes back (levels, delta streams) are walked, never allocated.
 * Errors: negative FLOE_* with "parquet: <file>: <what>" in err. A decoder
 * that meets a bad byte records why in the page's decoder state and the
 * cursor drops the page (it is read again on the next call).
 * One thread at a time per reader.
 */
#include "format/parquet_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/parquet_internal.h"
#include "format/thrift_read.h"

#define PQ_READ_PAGE_MAX    ((size_t)1 << 30) /* as the writer's PQ_PAGE_BYTES_MAX */
#define PQ_SCHEMA_MAX_DEPTH 32
#define PQ_HEADER_FIRST     256 /* bytes read for a page header before retrying longer */
#define PQ_DELTA_BLOCK_MAX  ((uint64_t)1 << 20)

enum { PQ_CODEC_GZIP = 2 };
enum { PQ_DICT_UNKNOWN, PQ_DICT_NONE, PQ_DICT_LOADED };

/* ---- decoders of page contents ------------------------------------------ */

/* RLE / bit-packed hybrid stream of bw-bit values (bw <= 32). */
typedef struct pq_rle {
	const uint8_t *p;
	size_t n, pos;
	int bw;
	uint64_t left; /* values left in the current run */
	int rle;       /* the run repeats `value` */
	uint32_t value;
	const uint8_t *bits; /* bit-packed run: its bytes inside p */
	size_t bits_len;
	uint64_t bidx; /* next value of the bit-packed run */
} pq_rle;

/* DELTA_BINARY_PACKED stream. */
typedef struct pq_delta {
	const uint8_t *p;
	size_t n, pos;
	uint64_t mini_count, mini_size; /* miniblocks per block, values per miniblock */
	uint64_t left;                  /* values still to return */
	int64_t last;
	int started; /* the first value was returned */
	int is32;    /* values wrap at 32 bits */
	uint64_t min_delta;
	const uint8_t *widths; /* mini_count bytes of the current block */
	uint64_t mini_idx, in_mini;
	const uint8_t *mini;
	size_t mini_len;
	int bw;
} pq_delta;

/* Decoders standing somewhere in a data page (invariant 2). */
typedef struct pq_pagedec {
	int64_t first_row, rows; /* first row within the row group; rows of the page */
	uint64_t levels;         /* level entries (= rows unless repeated) */
	int enc;
	const uint8_t *rp; /* repetition levels (hybrid, no prefix) */
	size_t rp_len;
	const uint8_t *lv; /* definition levels (hybrid, no prefix) */
	size_t lv_len;
	const uint8_t *vv; /* values */
	size_t vv_len;
	uint64_t nvals;     /* present values in the page */
	uint64_t bss_count; /* BYTE_STREAM_SPLIT: values in the streams */
	size_t sfx_off;     /* DELTA_BYTE_ARRAY: suffix lengths in vv */
	size_t bytes_off;   /* DELTA_(LENGTH_)BYTE_ARRAY: value bytes in vv */
	int64_t pos;        /* next row of the page */
	uint64_t ent;       /* next level entry */
	uint64_t list_left; /* entries of row pos - 1 not yet read (pq_reader_elem) */
	uint64_t vidx;      /* next value */
	size_t bpos;        /* byte cursor in vv */
	pq_rle reps;
	pq_rle defs;
	pq_rle idx;  /* dictionary indices, RLE booleans */
	pq_delta dl; /* values, lengths, suffix lengths */
	pq_delta pl; /* DELTA_BYTE_ARRAY prefix lengths */
	const char *why;
} pq_pagedec;

typedef struct pq_page_loc {
	int64_t offset;    /* of its header */
	int64_t size;      /* header + body; 0: not known (found by walking) */
	int64_t first_row; /* within the row group */
} pq_page_loc;

typedef struct pq_chunk {
	int64_t start; /* first page: dictionary_page_offset or data_page_offset */
	int64_t size;  /* total_compressed_size */
	int64_t data_off;
	int64_t num_values;
	int64_t oi_off;
	int32_t oi_len;
	int32_t codec;
	int32_t type;
	int external;  /* file_path set: pages in another file */
	int encrypted; /* no plaintext ColumnMetaData */
	int has_meta;
} pq_chunk;

typedef struct pq_rgroup {
	int64_t first_row, num_rows;
	size_t chunk0, nchunks; /* in pq_reader.chunks */
} pq_rgroup;

typedef struct pq_rcol {
	pq_reader_column info;
	int width; /* PLAIN bytes per value; 0 for BOOLEAN (bits) and BYTE_ARRAY */
	int rg;    /* chunk the cursor is in; -1 none (invariant 2) */
	pq_page_loc *pages;
	size_t npages, pages_cap;
	int dict_state;
	buf dict;           /* the dictionary page, uncompressed */
	uint32_t *dict_off; /* BYTE_ARRAY: entry i is at dict_off[i] (its length prefix) */
	size_t dict_off_cap;
	uint32_t dict_n;
	int64_t page; /* index in pages of the page in body; -1 none */
	buf body;
	buf prev; /* DELTA_BYTE_ARRAY: the last value */
	pq_pagedec d;
} pq_rcol;

typedef struct pq_fid {
	int32_t field_id;
	int col;
} pq_fid;

struct pq_reader {
	char *name;
	int fd; /* -1: reading mem */
	const uint8_t *mem;
	int64_t size;
	int64_t data_end; /* start of the footer */
	int64_t num_rows;
	int ncols;
	pq_rcol *cols;
	int nrg;
	pq_rgroup *rgs;
	pq_chunk *chunks;
	size_t nchunks;
	pq_fid *fids; /* sorted by field_id */
	int nfids;
	buf footer;
	buf zbuf; /* compressed bytes of the page being read */
	buf hbuf; /* page header bytes */
	ZSTD_DCtx *zctx;
};

/* Formats "parquet: <file>: <message>" into err. */
static int pq_rerr(const pq_reader *r, char *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int pq_rerr(const pq_reader *r, char *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	char msg[ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return errf(err, code, "parquet: %s: %s", r->name, msg);
}

static int pq_fail(pq_pagedec *d, const char *why)
{
	if (!d->why)
		d->why = why;
	return -1;
}

/* Value i of an array of bw-bit values (bw <= 64) packed LSB first in
 * p[0..n): 0, or -1 when it lies beyond n. */
static int pq_unpack(const uint8_t *p, size_t n, uint64_t i, int bw, uint64_t *v)
{
	if (bw == 0) {
		*v = 0;
		return 0;
	}
	if (i >= (uint64_t)n * 8 / (uint64_t)bw)
		return -1;
	uint64_t bit = i * (uint64_t)bw;
	size_t byte = (size_t)(bit >> 3);
	int sh = (int)(bit & 7);
	if (bw <= 56 && n - byte >= 8) { /* one 8-byte load holds it */
		*v = get_le64(p + byte) >> sh & (((uint64_t)1 << bw) - 1);
		return 0;
	}
	size_t need = (size_t)(sh + bw + 7) >> 3;
	if (need > n - byte)
		return -1;
	unsigned __int128 x = 0;
	for (size_t j = 0; j < need; j++)
		x |= (unsigned __int128)p[byte + j] << (8 * j);
	x >>= sh;
	*v = bw == 64 ? (uint64_t)x : (uint64_t)x & (((uint64_t)1 << bw) - 1);
	return 0;
}

static void pq_rle_init(pq_rle *d, const uint8_t *p, size_t n, int bw)
{
	memset(d, 0, sizeof(*d));
	d->p = p;
	d->n = n;
	d->bw = bw;
}

/* Reads the next run header. */
static int pq_rle_run(pq_rle *d, pq_pagedec *pd)
{
	uint64_t h;
	if (d->pos >= d->n)
		return pq_fail(pd, "RLE/bit-packed stream ends before its values");
	if (thrift_varint_decode(d->p, d->n, &d->pos, &h))
		return pq_fail(pd, "bad RLE run header");
	if (h & 1) {
		/* Bit-packed: groups of 8 values; a writer may cut the final
		 * run short of its padding, so only the bytes there count. */
		uint64_t groups = h >> 1;
		if (groups > ((uint64_t)1 << 56))
			groups = (uint64_t)1 << 56;
		uint64_t len = groups * (uint64_t)d->bw;
		size_t avail = d->n - d->pos;
		d->rle = 0;
		d->left = groups * 8;
		d->bits = d->p + d->pos;
		d->bits_len = len < avail ? (size_t)len : avail;
		d->bidx = 0;
		d->pos += d->bits_len;
		return 0;
	}
	size_t nb = (size_t)(d->bw + 7) / 8;
	if (nb > d->n - d->pos)
		return pq_fail(pd, "RLE run value beyond the stream");
	uint32_t v = 0;
	for (size_t i = 0; i < nb; i++)
		v |= (uint32_t)d->p[d->pos + i] << (8 * i);
	d->pos += nb;
	if (d->bw < 32 && v >> d->bw)
		return pq_fail(pd, "RLE run value wider than the bit width");
	d->rle = 1;
	d->left = h >> 1;
	d->value = v;
	return 0;
}

static int pq_rle_next(pq_rle *d, pq_pagedec *pd, uint32_t *v)
{
	while (d->left == 0)
		if (pq_rle_run(d, pd))
			return -1;
	d->left--;
	if (d->rle) {
		*v = d->value;
		return 0;
	}
	uint64_t x;
	if (pq_unpack(d->bits, d->bits_len, d->bidx++, d->bw, &x))
		return pq_fail(pd, "bit-packed run beyond the stream");
	*v = (uint32_t)x;
	return 0;
}

/* Ones among bits [from, from + m) of p (the caller checked the range). */
static uint64_t pq_popcount_bits(const uint8_t *p, uint64_t from, uint64_t m)
{
	uint64_t cnt = 0;
	for (; m && from % 8; from++, m--)
		cnt += p[from / 8] >> (from % 8) & 1;
	for (; m >= 64; from += 64, m -= 64)
		cnt += (uint64_t)__builtin_popcountll(get_le64(p + from / 8));
	for (; m >= 8; from += 8, m -= 8)
		cnt += (uint64_t)__builtin_popcount(p[from / 8]);
	for (; m; from++, m--)
		cnt += p[from / 8] >> (from % 8) & 1;
	return cnt;
}

/* Skips k values, counting those equal to eq into *neq (may be NULL);
 * a value above max is corrupt. */
static int pq_rle_skip(pq_rle *d, pq_pagedec *pd, uint64_t k, uint32_t eq, uint32_t max,
                       uint64_t *neq)
{
	uint64_t cnt = 0;
	while (k) {
		while (d->left == 0)
			if (pq_rle_run(d, pd))
				return -1;
		uint64_t m = k < d->left ? k : d->left;
		if (d->rle) {
			if (d->value > max)
				return pq_fail(pd, "level above the column's maximum");
			cnt += d->value == eq ? m : 0;
		} else if ((neq || max != UINT32_MAX) && d->bw == 1 && eq <= 1) {
			/* Levels of width 1 (flat columns, lists' repetition):
			 * count bits; every value is <= 1 <= max. */
			if (d->bidx + m > (uint64_t)d->bits_len * 8)
				return pq_fail(pd, "bit-packed run beyond the stream");
			uint64_t ones = pq_popcount_bits(d->bits, d->bidx, m);
			cnt += eq ? ones : m - ones;
		} else if (neq || max != UINT32_MAX) {
			for (uint64_t i = 0; i < m; i++) {
				uint64_t x;
				if (pq_unpack(d->bits, d->bits_len, d->bidx + i, d->bw, &x))
					return pq_fail(pd, "bit-packed run beyond the stream");
				if (x > max)
					return pq_fail(pd, "level above the column's maximum");
				cnt += x == eq;
			}
		}
		if (!d->rle)
			d->bidx += m;
		d->left -= m;
		k -= m;
	}
	if (neq)
		*neq = cnt;
	return 0;
}

static int pq_delta_init(pq_delta *d, pq_pagedec *pd, const uint8_t *p, size_t n, int is32)
{
	uint64_t block, first;
	memset(d, 0, sizeof(*d));
	d->p = p;
	d->n = n;
	d->is32 = is32;
	if (thrift_varint_decode(p, n, &d->pos, &block) ||
	    thrift_varint_decode(p, n, &d->pos, &d->mini_count) ||
	    thrift_varint_decode(p, n, &d->pos, &d->left) ||
	    thrift_varint_decode(p, n, &d->pos, &first))
		return pq_fail(pd, "truncated DELTA_BINARY_PACKED header");
	if (block == 0 || block % 128 || block > PQ_DELTA_BLOCK_MAX || d->mini_count == 0 ||
	    block % d->mini_count || (block / d->mini_count) % 32)
		return pq_fail(pd, "bad DELTA_BINARY_PACKED block layout");
	d->mini_size = block / d->mini_count;
	d->last =
	    is32 ? (int64_t)(int32_t)(uint32_t)thrift_unzigzag(first) : thrift_unzigzag(first);
	d->mini_idx = d->mini_count - 1;
	d->in_mini = d->mini_size; /* the first delta starts a block */
	return 0;
}

static int pq_delta_next(pq_delta *d, pq_pagedec *pd, int64_t *v)
{
	if (d->left == 0)
		return pq_fail(pd, "DELTA_BINARY_PACKED stream holds fewer values than the page");
	d->left--;
	if (!d->started) {
		d->started = 1;
		*v = d->last;
		return 0;
	}
	if (d->in_mini == d->mini_size) {
		if (d->mini_idx + 1 >= d->mini_count) {
			uint64_t md;
			if (thrift_varint_decode(d->p, d->n, &d->pos, &md))
				return pq_fail(pd, "truncated DELTA_BINARY_PACKED block");
			if (d->mini_count > d->n - d->pos)
				return pq_fail(pd, "truncated DELTA_BINARY_PACKED bit widths");
			d->min_delta = (uint64_t)thrift_unzigzag(md);
			d->widths = d->p + d->pos;
			d->pos += d->mini_count;
			d->mini_idx = 0;
		} else {
			d->mini_idx++;
		}
		d->bw = d->widths[d->mini_idx];
		if (d->bw > 64)
			return pq_fail(pd, "DELTA_BINARY_PACKED bit width above 64");
		uint64_t len = d->mini_size * (uint64_t)d->bw / 8;
		size_t avail = d->n - d->pos;
		d->mini = d->p + d->pos;
		d->mini_len = len < avail ? (size_t)len : avail;
		d->pos += d->mini_len;
		d->in_mini = 0;
	}
	uint64_t u;
	if (pq_unpack(d->mini, d->mini_len, d->in_mini++, d->bw, &u))
		return pq_fail(pd, "DELTA_BINARY_PACKED miniblock beyond the page");
	uint64_t x = (uint64_t)d->last + d->min_delta + u;
	d->last = d->is32 ? (int64_t)(int32_t)(uint32_t)x : (int64_t)x;
	*v = d->last;
	return 0;
}

/* Walks a copy of d to its end: *end = the byte after it, *sum = the sum
 * of its values (lengths: each must be >= 0). */
static int pq_delta_end(const pq_delta *d, pq_pagedec *pd, size_t *end, uint64_t *sum)
{
	pq_delta t = *d;
	uint64_t s = 0;
	while (t.left) {
		int64_t v;
		if (pq_delta_next(&t, pd, &v))
			return -1;
		if (v < 0)
			return pq_fail(pd, "negative length in a DELTA stream");
		s += (uint64_t)v;
		if (s > t.n)
			return pq_fail(pd, "DELTA lengths exceed the page");
	}
	*end = t.pos;
	*sum = s;
	return 0;
}

/* ---- I/O ------------------------------------------------------------------ */

/* Reads n bytes at off into dst (invariant 1 is the caller's). */
static int pq_read_at(pq_reader *r, int64_t off, void *dst, size_t n, char *err)
{
	if (off < 0 || off > r->size || (uint64_t)n > (uint64_t)(r->size - off))
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "range %lld+%zu is beyond the file's %lld bytes", (long long)off, n,
		               (long long)r->size);
	if (!r->mem) {
		size_t got = 0;
		while (got < n) {
			ssize_t k = pread(r->fd, (uint8_t *)dst + got, n - got,
			                  (off_t)(off + (int64_t)got));
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return pq_rerr(r, err, FLOE_EIO, "read at %lld: %s",
				               (long long)(off + (int64_t)got), strerror(errno));
			if (k == 0)
				return pq_rerr(r, err, FLOE_EIO, "the file shrank while open");
			got += (size_t)k;
		}
	} else if (n) {
		memcpy(dst, r->mem + off, n);
	}
	return 0;
}

/* Reads n bytes at off into b (replacing its content). */
static int pq_read_buf(pq_reader *r, buf *b, int64_t off, size_t n, char *err)
{
	buf_reset(b);
	if (buf_reserve(b, n ? n : 1))
		return pq_rerr(r, err, FLOE_ENOMEM, "out of memory reading %zu bytes", n);
	int rc = pq_read_at(r, off, b->data, n, err);
	if (rc == 0)
		b->len = n;
	return rc;
}

/* ---- footer ------------------------------------------------------------- */

/* A SchemaElement as read. */
typedef struct pq_selem {
	int32_t type, type_length, repetition, num_children, converted, scale, precision;
	int32_t field_id;
	int has_type, has_rep, has_converted, has_field_id;
	const uint8_t *name;
	size_t name_len;
	int lt; /* LogicalType member, 0: none */
	int32_t lt_scale, lt_precision;
	int8_t lt_bits;
	int lt_signed, lt_utc, lt_unit;
} pq_selem;

/* Footer structs, one field handler each (thrift_field_fn): the handler
 * reads the fields it knows and skips the rest. */

/* An empty struct (a union member without fields): everything skipped. */
static int pq_f_skip(thrift_reader *t, int16_t id, int type, void *ctx)
{
	(void)id, (void)ctx;
	return thrift_skip(t, type);
}

/* TimeUnit union: which member is set. */
static int pq_f_time_unit(thrift_reader *t, int16_t id, int type, void *ctx)
{
	int rc = thrift_read_struct_fields(t, type, pq_f_skip, NULL);
	if (rc > 0)
		*(int *)ctx = id;
	return rc;
}

/* The member of a LogicalType union (e->lt) and its fields. */
static int pq_f_logical_member(thrift_reader *t, int16_t id, int type, void *ctx)
{
	pq_selem *e = ctx;
	int tm = e->lt == PQ_LT_TIME || e->lt == PQ_LT_TIMESTAMP;
	if (e->lt == PQ_LT_DECIMAL && (id == 1 || id == 2))
		return thrift_read_i32(t, type, id == 1 ? &e->lt_scale : &e->lt_precision);
	if (tm && id == 1)
		return thrift_read_bool(t, type, &e->lt_utc);
	if (tm && id == 2)
		return thrift_read_struct_fields(t, type, pq_f_time_unit, &e->lt_unit);
	if (e->lt == PQ_LT_INTEGER && id == 1)
		return thrift_read_i8(t, type, &e->lt_bits);
	if (e->lt == PQ_LT_INTEGER && id == 2)
		return thrift_read_bool(t, type, &e->lt_signed);
	return thrift_skip(t, type);
}

static int pq_f_logical_type(thrift_reader *t, int16_t id, int type, void *ctx)
{
	pq_selem *e = ctx;
	e->lt = id;
	return thrift_read_struct_fields(t, type, pq_f_logical_member, e);
}

static int pq_f_schema_element(thrift_reader *t, int16_t id, int type, void *ctx)
{
	pq_selem *e = ctx;
	switch (id) {
	case 1:
		return e->has_type = thrift_read_i32(t, type, &e->type);
	case 2:
		return thrift_read_i32(t, type, &e->type_length);
	case 3:
		return e->has_rep = thrift_read_i32(t, type, &e->repetition);
	case 4:
		return thrift_read_binary(t, type, &e->name, &e->name_len);
	case 5:
		return thrift_read_i32(t, type, &e->num_children);
	case 6:
		return e->has_converted = thrift_read_i32(t, type, &e->converted);
	case 7:
		return thrift_read_i32(t, type, &e->scale);
	case 8:
		return thrift_read_i32(t, type, &e->precision);
	case 9:
		return e->has_field_id = thrift_read_i32(t, type, &e->field_id);
	case 10:
		return thrift_read_struct_fields(t, type, pq_f_logical_type, e);
	default:
		return thrift_skip(t, type);
	}
}

/* ColumnMetaData; dict_off is kept in c->start until the struct ends. */
static int pq_f_column_meta(thrift_reader *t, int16_t id, int type, void *ctx)
{
	pq_chunk *c = ctx;
	c->has_meta = 1;
	switch (id) {
	case 1:
		return thrift_read_i32(t, type, &c->type);
	case 4:
		return thrift_read_i32(t, type, &c->codec);
	case 5:
		return thrift_read_i64(t, type, &c->num_values);
	case 7:
		return thrift_read_i64(t, type, &c->size);
	case 9:
		return thrift_read_i64(t, type, &c->data_off);
	case 11:
		return thrift_read_i64(t, type, &c->start);
	default:
		return thrift_skip(t, type);
	}
}

static int pq_f_column_chunk(thrift_reader *t, int16_t id, int type, void *ctx)
{
	pq_chunk *c = ctx;
	const uint8_t *p;
	size_t n;
	switch (id) {
	case 1:
		return c->external = thrift_read_binary(t, type, &p, &n);
	case 3:
		return thrift_read_struct_fields(t, type, pq_f_column_meta, c);
	case 4:
		return thrift_read_i64(t, type, &c->oi_off);
	case 5:
		return thrift_read_i32(t, type, &c->oi_len);
	case 8:
	case 9:
		c->encrypted = 1;
		return thrift_skip(t, type);
	default:
		return thrift_skip(t, type);
	}
}

typedef struct pq_footer {
	pq_reader *r;
	pq_selem *schema;
	uint32_t nschema;
	int has_schema, has_rows;
	size_t chunk_cap;
	pq_rgroup *rg; /* the row group being read */
} pq_footer;

/* RowGroup: its chunks are appended to r->chunks. */
static int pq_f_row_group(thrift_reader *t, int16_t id, int type, void *ctx)
{
	pq_footer *f = ctx;
	pq_reader *r = f->r;
	pq_rgroup *g = f->rg;
	uint32_t n;
	int rc;
	if (id == 3)
		return thrift_read_i64(t, type, &g->num_rows);
	if (id != 1 || g->nchunks || (rc = thrift_read_list(t, type, THRIFT_STRUCT, &n)) == 0)
		return thrift_skip(t, type);
	if (rc < 0)
		return rc;
	if (pq_grow((void **)&r->chunks, &f->chunk_cap, r->nchunks + n, sizeof(pq_chunk)))
		return FLOE_ENOMEM;
	g->nchunks = n;
	for (uint32_t i = 0; i < n && rc >= 0; i++) {
		pq_chunk *c = &r->chunks[r->nchunks++];
		memset(c, 0, sizeof(*c));
		c->type = c->codec = -1;
		if ((rc = thrift_get_struct(t)) == 0)
			rc = thrift_read_fields(t, pq_f_column_chunk, c);
		/* Some writers put 0 in dictionary_page_offset for "none". */
		if (!(c->start > 0 && c->start < c->data_off))
			c->start = c->data_off;
	}
	return rc;
}

static int pq_f_file_meta(thrift_reader *t, int16_t id, int type, void *ctx)
{
	pq_footer *f = ctx;
	pq_reader *r = f->r;
	uint32_t n;
	int rc;
	if (id == 3)
		return f->has_rows = thrift_read_i64(t, type, &r->num_rows);
	if ((id != 2 || f->has_schema) && (id != 4 || r->rgs))
		return thrift_skip(t, type);
	if ((rc = thrift_read_list(t, type, THRIFT_STRUCT, &n)) <= 0)
		return rc;
	if (id == 2) {
		f->has_schema = 1;
		f->nschema = n;
		if (!(f->schema = calloc(n ? n : 1, sizeof(*f->schema))))
			return FLOE_ENOMEM;
	} else if (!(r->rgs = calloc(n ? n : 1, sizeof(*r->rgs)))) {
		return FLOE_ENOMEM;
	}
	for (uint32_t i = 0; i < n && rc >= 0; i++) {
		if ((rc = thrift_get_struct(t)))
			break;
		if (id == 2) {
			rc = thrift_read_fields(t, pq_f_schema_element, &f->schema[i]);
		} else {
			f->rg = &r->rgs[r->nrg++];
			f->rg->num_rows = -1;
			f->rg->chunk0 = r->nchunks;
			rc = thrift_read_fields(t, pq_f_row_group, f);
		}
	}
	return rc;
}

/* The LogicalType member each ConvertedType stands for (parquet-format
 * LogicalTypes.md, "backward compatibility"); 0: none floe reads. */
static const uint8_t pq_ct_lt[] = {
    [PQ_CT_UTF8] = PQ_LT_STRING,
    [PQ_CT_DECIMAL] = PQ_LT_DECIMAL,
    [PQ_CT_DATE] = PQ_LT_DATE,
    [PQ_CT_TIME_MILLIS] = PQ_LT_TIME,
    [PQ_CT_TIME_MICROS] = PQ_LT_TIME,
    [PQ_CT_TIMESTAMP_MILLIS] = PQ_LT_TIMESTAMP,
    [PQ_CT_TIMESTAMP_MICROS] = PQ_LT_TIMESTAMP,
    [PQ_CT_UINT_8] = PQ_LT_INTEGER,
    [PQ_CT_UINT_8 + 1] = PQ_LT_INTEGER,
    [PQ_CT_UINT_8 + 2] = PQ_LT_INTEGER,
    [PQ_CT_UINT_8 + 3] = PQ_LT_INTEGER,
    [PQ_CT_INT_8] = PQ_LT_INTEGER,
    [PQ_CT_INT_8 + 1] = PQ_LT_INTEGER,
    [PQ_CT_INT_8 + 2] = PQ_LT_INTEGER,
    [PQ_CT_INT_64] = PQ_LT_INTEGER,
};

/* floe's name for each LogicalType member it reads. */
static const pq_logical pq_lt_logical[] = {
    [PQ_LT_STRING] = PQ_LOGICAL_STRING,       [PQ_LT_DECIMAL] = PQ_LOGICAL_DECIMAL,
    [PQ_LT_DATE] = PQ_LOGICAL_DATE,           [PQ_LT_TIME] = PQ_LOGICAL_TIME,
    [PQ_LT_TIMESTAMP] = PQ_LOGICAL_TIMESTAMP, [PQ_LT_INTEGER] = PQ_LOGICAL_INT,
    [PQ_LT_UUID] = PQ_LOGICAL_UUID,
};

/* A legacy ConvertedType as the LogicalType it stands for; one with no
 * counterpart floe reads becomes member 0xFF, an unknown annotation. */
static void pq_converted_as_logical(pq_selem *e)
{
	int ct = e->converted;
	int n = (int)(sizeof(pq_ct_lt) / sizeof(pq_ct_lt[0]));
	e->lt = ct >= 0 && ct < n && pq_ct_lt[ct] ? pq_ct_lt[ct] : 0xFF;
	e->lt_utc = 1; /* what TIME_* and TIMESTAMP_* mean */
	e->lt_unit = ct == PQ_CT_TIME_MILLIS || ct == PQ_CT_TIMESTAMP_MILLIS ? PQ_UNIT_MILLIS
	                                                                     : PQ_UNIT_MICROS;
	e->lt_scale = e->scale;
	e->lt_precision = e->precision;
	e->lt_signed = ct >= PQ_CT_INT_8;
	e->lt_bits =
	    (int8_t)(8 << ((ct - PQ_CT_UINT_8) & 3)); /* UINT_8.. and INT_8..: 8 16 32 64 */
}

/* Fills the column's spec from its schema element (its LogicalType, else
 * its ConvertedType). */
static void pq_leaf_types(pq_selem *e, pq_reader_column *c)
{
	pq_column_spec *s = &c->spec;
	int n = (int)(sizeof(pq_lt_logical) / sizeof(pq_lt_logical[0]));
	s->physical = (pq_physical)e->type;
	s->type_length = e->type_length;
	if (!e->lt && e->has_converted)
		pq_converted_as_logical(e);
	s->logical = e->lt > 0 && e->lt < n ? pq_lt_logical[e->lt] : PQ_LOGICAL_NONE;
	switch (s->logical) {
	case PQ_LOGICAL_DECIMAL:
		s->precision = e->lt_precision;
		s->scale = e->lt_scale;
		break;
	case PQ_LOGICAL_TIME:
	case PQ_LOGICAL_TIMESTAMP: /* millis have no name in pq_column_spec */
		if (e->lt_unit != PQ_UNIT_MICROS && e->lt_unit != PQ_UNIT_NANOS)
			s->logical = PQ_LOGICAL_NONE;
		s->utc_adjusted = s->logical == PQ_LOGICAL_TIMESTAMP && e->lt_utc;
		s->nanos = e->lt_unit == PQ_UNIT_NANOS;
		break;
	case PQ_LOGICAL_INT: /* unsigned ints have none either */
		if (!e->lt_signed)
			s->logical = PQ_LOGICAL_NONE;
		s->int_bits = e->lt_bits;
		break;
	default:
		break;
	}
	c->other_logical = e->lt && s->logical == PQ_LOGICAL_NONE;
}

static int pq_leaf_width(const pq_reader_column *c)
{
	switch ((int)c->spec.physical) {
	case PQ_INT32:
	case PQ_FLOAT:
		return 4;
	case PQ_INT64:
	case PQ_DOUBLE:
		return 8;
	case PQ_PHYS_INT96:
		return 12;
	case PQ_FIXED_LEN_BYTE_ARRAY:
		return c->spec.type_length;
	default:
		return 0;
	}
}

/* Walks the schema element at *i and its children (depth-first, as the
 * list stores them), adding leaves to r->cols. */
static int pq_schema_walk(pq_reader *r, const pq_footer *f, uint32_t *i, int depth, int def,
                          int rep, int list_def, char *err)
{
	pq_selem *e = &f->schema[*i];
	uint32_t at = (*i)++;
	if (depth > PQ_SCHEMA_MAX_DEPTH)
		return pq_rerr(r, err, FLOE_ECORRUPT, "schema nested deeper than %d levels",
		               PQ_SCHEMA_MAX_DEPTH);
	if (depth > 0) {
		if (!e->has_rep || e->repetition < PQ_REQUIRED || e->repetition > PQ_REPEATED)
			return pq_rerr(r, err, FLOE_ECORRUPT,
			               "schema element %u has no valid repetition", at);
		if (e->repetition == PQ_REPEATED)
			list_def = def;
		def += e->repetition != PQ_REQUIRED;
		rep += e->repetition == PQ_REPEATED;
	}
	if (e->num_children < 0)
		return pq_rerr(r, err, FLOE_ECORRUPT, "schema element %u has %d children", at,
		               e->num_children);
	if (e->num_children > 0 || depth == 0) {
		for (int32_t k = 0; k < e->num_children; k++) {
			if (*i >= f->nschema)
				return pq_rerr(r, err, FLOE_ECORRUPT,
				               "schema element %u has more children than the "
				               "schema has elements",
				               at);
			int rc = pq_schema_walk(r, f, i, depth + 1, def, rep, list_def, err);
			if (rc)
				return rc;
		}
		return 0;
	}
	/* A leaf. */
	if (!e->has_type || e->type < PQ_BOOLEAN || e->type > PQ_FIXED_LEN_BYTE_ARRAY)
		return pq_rerr(r, err, FLOE_ECORRUPT, "schema leaf %u has no valid physical type",
		               at);
	if (e->type == PQ_FIXED_LEN_BYTE_ARRAY && e->type_length <= 0)
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "schema leaf %u: FIXED_LEN_BYTE_ARRAY of %d bytes", at,
		               e->type_length);
	pq_rcol *c = &r->cols[r->ncols++];
	c->info.spec.name = strndup(e->name ? (const char *)e->name : "", e->name_len);
	if (!c->info.spec.name)
		return pq_rerr(r, err, FLOE_ENOMEM, "out of memory reading the schema");
	c->info.spec.required = e->repetition == PQ_REQUIRED;
	c->info.spec.field_id = e->field_id;
	c->info.has_field_id = e->has_field_id;
	c->info.max_def = def;
	c->info.max_rep = rep;
	c->info.list_def = list_def;
	pq_leaf_types(e, &c->info);
	c->width = pq_leaf_width(&c->info);
	c->rg = -1;
	c->page = -1;
	return 0;
}

static int pq_fid_cmp(const void *a, const void *b)
{
	const pq_fid *x = a, *y = b;
	if (x->field_id != y->field_id)
		return x->field_id < y->field_id ? -1 : 1;
	return x->col - y->col;
}

/* Builds columns, row groups and the field-id index from the footer. */
static int pq_build(pq_reader *r, const pq_footer *f, char *err)
{
	if (!f->has_schema || f->nschema == 0 || !f->has_rows || !r->rgs)
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "the footer lacks its schema, row count or "
		               "row groups");
	uint32_t leaves = 0;
	for (uint32_t i = 1; i < f->nschema; i++)
		leaves += f->schema[i].num_children <= 0;
	r->cols = calloc(leaves ? leaves : 1, sizeof(*r->cols));
	if (!r->cols)
		return pq_rerr(r, err, FLOE_ENOMEM, "out of memory reading the schema");
	uint32_t i = 0;
	int rc = pq_schema_walk(r, f, &i, 0, 0, 0, -1, err);
	if (rc)
		return rc;
	if (i != f->nschema)
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "the schema tree covers %u of its %u elements", i, f->nschema);
	if (r->num_rows < 0)
		return pq_rerr(r, err, FLOE_ECORRUPT, "negative row count");
	int64_t rows = 0;
	for (int g = 0; g < r->nrg; g++) {
		pq_rgroup *rg = &r->rgs[g];
		if (rg->num_rows < 0 || rg->num_rows > r->num_rows - rows)
			return pq_rerr(r, err, FLOE_ECORRUPT,
			               "row group %d: %lld rows do not fit the file's %lld", g,
			               (long long)rg->num_rows, (long long)r->num_rows);
		if (rg->nchunks != (size_t)r->ncols)
			return pq_rerr(r, err, FLOE_ECORRUPT,
			               "row group %d has %zu column chunks for %d leaf columns", g,
			               rg->nchunks, r->ncols);
		rg->first_row = rows;
		rows += rg->num_rows;
	}
	if (rows != r->num_rows)
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "row groups hold %lld rows, the footer says %lld", (long long)rows,
		               (long long)r->num_rows);
	r->fids = calloc(r->ncols ? (size_t)r->ncols : 1, sizeof(*r->fids));
	if (!r->fids)
		return pq_rerr(r, err, FLOE_ENOMEM, "out of memory reading the schema");
	for (int c = 0; c < r->ncols; c++)
		if (r->cols[c].info.has_field_id)
			r->fids[r->nfids++] = (pq_fid){r->cols[c].info.spec.field_id, c};
	qsort(r->fids, (size_t)r->nfids, sizeof(*r->fids), pq_fid_cmp);
	return 0;
}

static int pq_open_common(pq_reader *r, char *err)
{
	int rc;
	uint8_t tail[8], head[4];
	pq_footer f = {0};
	if (r->size < 12)
		return pq_rerr(r, err, FLOE_ECORRUPT, "%lld bytes is too short for a Parquet file",
		               (long long)r->size);
	if ((rc = pq_read_at(r, r->size - 8, tail, 8, err)) ||
	    (rc = pq_read_at(r, 0, head, 4, err)))
		return rc;
	if (memcmp(tail + 4, PQ_MAGIC_ENCRYPTED, 4) == 0)
		return pq_rerr(r, err, FLOE_EINVAL, "encrypted Parquet files are not supported");
	if (memcmp(tail + 4, PQ_MAGIC, 4) || memcmp(head, PQ_MAGIC, 4))
		return pq_rerr(r, err, FLOE_ECORRUPT, "no \"PAR1\" magic at %s",
		               memcmp(head, PQ_MAGIC, 4) ? "the start" : "the end");
	uint32_t flen = get_le32(tail);
	if (flen == 0 || (int64_t)flen > r->size - 12)
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "footer length %u does not fit the file's %lld bytes", flen,
		               (long long)r->size);
	r->data_end = r->size - 8 - (int64_t)flen;
	if ((rc = pq_read_buf(r, &r->footer, r->data_end, flen, err)))
		return rc;
	thrift_reader t;
	thrift_reader_init(&t, r->footer.data, r->footer.len);
	f.r = r;
	rc = thrift_read_fields(&t, pq_f_file_meta, &f);
	if (rc == FLOE_ENOMEM) {
		rc = pq_rerr(r, err, rc, "out of memory reading the footer");
		goto fail;
	}
	if (rc < 0 || t.pos != t.n) {
		rc = pq_rerr(r, err, FLOE_ECORRUPT, "footer: %s at byte %zu of %zu",
		             t.why ? t.why : "bytes after its end", t.why ? t.at : t.pos, t.n);
		goto fail;
	}
	rc = pq_build(r, &f, err);
fail: /* also the way out on success: the schema elements are done with */
	free(f.schema);
	return rc;
}

static int pq_reader_new(const char *name, pq_reader **out, char *err)
{
	*out = NULL;
	pq_reader *r = calloc(1, sizeof(*r));
	if (!r || !(r->name = strdup(name ? name : "(memory)"))) {
		free(r);
		return errf(err, FLOE_ENOMEM, "parquet: out of memory opening %s",
		            name ? name : "(memory)");
	}
	r->fd = -1;
	*out = r;
	return 0;
}

int pq_reader_open(const char *path, pq_reader **out, char *err)
{
	pq_reader *r;
	*out = NULL;
	int rc = pq_reader_new(path, &r, err);
	if (rc)
		return rc;
	struct stat st;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		rc = pq_rerr(r, err, errno == ENOENT ? FLOE_ENOTFOUND : FLOE_EIO, "open: %s",
		             strerror(errno));
		goto fail;
	}
	if (fstat(r->fd, &st)) {
		rc = pq_rerr(r, err, FLOE_EIO, "stat: %s", strerror(errno));
		goto fail;
	}
	r->size = (int64_t)st.st_size;
	if ((rc = pq_open_common(r, err)))
		goto fail;
	*out = r;
	return 0;
fail:
	pq_reader_close(r);
	return rc;
}

int pq_reader_open_mem(const void *data, size_t n, const char *name, pq_reader **out, char *err)
{
	pq_reader *r;
	*out = NULL;
	int rc = pq_reader_new(name, &r, err);
	if (rc)
		return rc;
	r->mem = data ? data : (const uint8_t *)"";
	r->size = (int64_t)n;
	if ((rc = pq_open_common(r, err))) {
		pq_reader_close(r);
		return rc;
	}
	*out = r;
	return 0;
}

void pq_reader_close(pq_reader *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->ncols; i++) {
		pq_rcol *c = &r->cols[i];
		free((char *)c->info.spec.name);
		free(c->pages);
		buf_release(&c->dict);
		free(c->dict_off);
		buf_release(&c->body);
		buf_release(&c->prev);
	}
	free(r->cols);
	free(r->rgs);
	free(r->chunks);
	free(r->fids);
	buf_release(&r->footer);
	buf_release(&r->zbuf);
	buf_release(&r->hbuf);
	ZSTD_freeDCtx(r->zctx);
	if (r->fd >= 0)
		close(r->fd);
	free(r->name);
	free(r);
}

int64_t pq_reader_num_rows(const pq_reader *r)
{
	return r->num_rows;
}

int pq_reader_ncols(const pq_reader *r)
{
	return r->ncols;
}

const pq_reader_column *pq_reader_column_info(const pq_reader *r, int col)
{
	return col >= 0 && col < r->ncols ? &r->cols[col].info : NULL;
}

const char *pq_reader_name(const pq_reader *r)
{
	return r->name;
}

int pq_reader_find_field(const pq_reader *r, int32_t field_id)
{
	int lo = 0, hi = r->nfids;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (r->fids[mid].field_id < field_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->nfids && r->fids[lo].field_id == field_id ? r->fids[lo].col : -1;
}

/* ---- pages ---------------------------------------------------------------- */

typedef struct pq_page_hdr {
	int32_t type, usize, csize, crc;
	int has_crc, has_sub;
	int32_t num_values, num_nulls, num_rows, enc, def_enc;
	int32_t def_len, rep_len;
	int is_compressed;
	int sub; /* field id of the type's header struct */
	size_t hlen;
} pq_page_hdr;

/* DataPageHeader (v1), DictionaryPageHeader or DataPageHeaderV2 (h->sub
 * says which: the PageHeader field id 5, 7 or 8) into h. */
static int pq_f_page_sub(thrift_reader *t, int16_t id, int type, void *ctx)
{
	pq_page_hdr *h = ctx;
	int32_t *dst = NULL;
	if (id == 1)
		dst = &h->num_values;
	else if (h->sub == 5 && (id == 2 || id == 3))
		dst = id == 2 ? &h->enc : &h->def_enc;
	else if (h->sub == 7 && id == 2)
		dst = &h->enc;
	else if (h->sub == 8 && id >= 2 && id <= 6) {
		int32_t *v2[] = {&h->num_nulls, &h->num_rows, &h->enc, &h->def_len, &h->rep_len};
		dst = v2[id - 2];
	} else if (h->sub == 8 && id == 7)
		return thrift_read_bool(t, type, &h->is_compressed);
	return dst ? thrift_read_i32(t, type, dst) : thrift_skip(t, type);
}

static int pq_f_page_header(thrift_reader *t, int16_t id, int type, void *ctx)
{
	pq_page_hdr *h = ctx;
	int32_t *dst = id == 1 ? &h->type : id == 2 ? &h->usize : id == 3 ? &h->csize : NULL;
	if (dst)
		return thrift_read_i32(t, type, dst);
	if (id == 4)
		return h->has_crc = thrift_read_i32(t, type, &h->crc);
	if ((id == 5 && h->type == PQ_PAGE_DATA) || (id == 7 && h->type == PQ_PAGE_DICTIONARY) ||
	    (id == 8 && h->type == PQ_PAGE_DATA_V2)) {
		h->sub = id;
		return h->has_sub = thrift_read_struct_fields(t, type, pq_f_page_sub, h);
	}
	return thrift_skip(t, type);
}

static int pq_page_header_parse(thrift_reader *t, pq_page_hdr *h)
{
	memset(h, 0, sizeof(*h));
	h->type = -1;
	h->usize = h->csize = -1;
	h->num_values = h->num_nulls = h->num_rows = h->enc = h->def_len = h->rep_len = -1;
	h->def_enc = PQ_ENC_RLE;
	h->is_compressed = 1;
	int rc = thrift_read_fields(t, pq_f_page_header, h);
	h->hlen = t->pos;
	return rc;
}

/* Reads the page header at off, which must end with its page by `end`. */
static int pq_page_header(pq_reader *r, const pq_rcol *c, int64_t off, int64_t end, pq_page_hdr *h,
                          char *err)
{
	size_t want = PQ_HEADER_FIRST;
	int rc;
	if (off < 4 || off >= end || end > r->data_end)
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "column '%s': page offset %lld is outside its column chunk",
		               c->info.spec.name, (long long)off);
	for (;;) {
		size_t avail = (uint64_t)(end - off) < want ? (size_t)(end - off) : want;
		if ((rc = pq_read_buf(r, &r->hbuf, off, avail, err)))
			return rc;
		thrift_reader t;
		thrift_reader_init(&t, r->hbuf.data, avail);
		rc = pq_page_header_parse(&t, h);
		if (rc == 0)
			break;
		if (!(t.eof && avail == want))
			return pq_rerr(r, err, FLOE_ECORRUPT,
			               "column '%s': page header at offset %lld: %s at byte %zu",
			               c->info.spec.name, (long long)off, t.why ? t.why : "bad",
			               t.at);
		want *= 4;
	}
	if (h->usize < 0 || h->csize < 0 || (uint64_t)h->csize > (uint64_t)(end - off) - h->hlen)
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "column '%s': page at offset %lld: sizes %d/%d do not fit its chunk",
		               c->info.spec.name, (long long)off, h->csize, h->usize);
	return 0;
}

/* Decompresses src[0..n) into exactly usize bytes appended to out
 * (invariant 3). */
static int pq_decompress(pq_reader *r, const pq_rcol *c, int codec, const uint8_t *src, size_t n,
                         size_t usize, buf *out, char *err)
{
	const char *name = c->info.spec.name;
	if (usize > PQ_READ_PAGE_MAX)
		return pq_rerr(r, err, FLOE_ECORRUPT, "column '%s': page of %zu bytes is above %zu",
		               name, usize, PQ_READ_PAGE_MAX);
	/* The size the compressed data itself states, where it states one. */
	int sized = 1;
	switch (codec) {
	case PQ_CODEC_UNCOMPRESSED:
		sized = n == usize;
		break;
	case PQ_CODEC_SNAPPY: {
		size_t len;
		sized = snappy_uncompressed_length((const char *)src, n, &len) == SNAPPY_OK &&
		        len == usize;
		break;
	}
	case PQ_CODEC_ZSTD: {
		/* A page may hold several frames: the first may not exceed it. */
		unsigned long long fs = ZSTD_getFrameContentSize(src, n);
		sized = fs != ZSTD_CONTENTSIZE_ERROR &&
		        (fs == ZSTD_CONTENTSIZE_UNKNOWN || fs <= (unsigned long long)usize);
		break;
	}
	case PQ_CODEC_GZIP: /* ISIZE: the size mod 2^32 */
		sized = n >= 18 && get_le32(src + n - 4) == (uint32_t)usize;
		break;
	default:
		return pq_rerr(r, err, FLOE_EINVAL,
		               "column '%s': compression codec %d is not supported", name, codec);
	}
	if (!sized)
		return pq_rerr(
		    r, err, FLOE_ECORRUPT,
		    "column '%s': compressed page does not hold the %zu bytes its header "
		    "says",
		    name, usize);
	if (buf_reserve(out, usize + 1))
		return pq_rerr(r, err, FLOE_ENOMEM, "out of memory for a %zu-byte page", usize);
	uint8_t *dst = out->data + out->len;
	size_t got = 0;
	int ok = 0;
	switch (codec) {
	case PQ_CODEC_UNCOMPRESSED:
		if (n)
			memcpy(dst, src, n);
		got = n;
		ok = 1;
		break;
	case PQ_CODEC_SNAPPY:
		got = usize;
		ok = snappy_uncompress((const char *)src, n, (char *)dst, &got) == SNAPPY_OK;
		break;
	case PQ_CODEC_ZSTD: {
		if (!r->zctx && !(r->zctx = ZSTD_createDCtx()))
			return pq_rerr(r, err, FLOE_ENOMEM, "out of memory for a zstd context");
		size_t z = ZSTD_decompressDCtx(r->zctx, dst, usize, src, n);
		ok = !ZSTD_isError(z);
		got = ok ? z : 0;
		break;
	}
	case PQ_CODEC_GZIP: {
		z_stream zs;
		memset(&zs, 0, sizeof(zs));
		if (inflateInit2(&zs, 15 + 32) != Z_OK)
			return pq_rerr(r, err, FLOE_ENOMEM, "out of memory for zlib");
		zs.next_in = (Bytef *)(uintptr_t)src;
		zs.avail_in = (uInt)n;
		zs.next_out = dst;
		zs.avail_out = (uInt)usize;
		ok = n <= UINT32_MAX && inflate(&zs, Z_FINISH) == Z_STREAM_END;
		got = usize - zs.avail_out;
		inflateEnd(&zs);
		break;
	}
	}
	if (!ok || got != usize)
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "column '%s': page does not decompress to its %zu bytes", name,
		               usize);
	out->len += usize;
	return 0;
}

/* Reads the body of the page whose header h is at off, checks its CRC and
 * decompresses it into out: v2 levels (prefix bytes) are copied as they are. */
static int pq_page_body(pq_reader *r, const pq_rcol *c, const pq_chunk *ch, int64_t off,
                        const pq_page_hdr *h, size_t prefix, int compressed, buf *out, char *err)
{
	int rc;
	size_t cs = (size_t)h->csize, us = (size_t)h->usize;
	if ((rc = pq_read_buf(r, &r->zbuf, off + (int64_t)h->hlen, cs, err)))
		return rc;
	if (h->has_crc && (uint32_t)h->crc != (uint32_t)crc32(0L, r->zbuf.data, (uInt)cs))
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "column '%s': page at offset %lld fails its CRC", c->info.spec.name,
		               (long long)off);
	if (prefix > cs || prefix > us)
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "column '%s': page at offset %lld: levels longer than the page",
		               c->info.spec.name, (long long)off);
	buf_reset(out);
	buf_append(out, r->zbuf.data, prefix);
	if (!buf_ok(out))
		return pq_rerr(r, err, FLOE_ENOMEM, "out of memory for a page");
	return pq_decompress(r, c, compressed ? ch->codec : PQ_CODEC_UNCOMPRESSED,
	                     r->zbuf.data + prefix, cs - prefix, us - prefix, out, err);
}

/* Error for a page's contents. */
static int pq_page_corrupt(pq_reader *r, const pq_rcol *c, char *err)
{
	const pq_page_loc *pl = &c->pages[c->page];
	return pq_rerr(r, err, FLOE_ECORRUPT, "column '%s', row group %d, page at offset %lld: %s",
	               c->info.spec.name, c->rg, (long long)pl->offset,
	               c->d.why ? c->d.why : "bad page");
}

/* Loads the dictionary page at the chunk's start (if it is one). */
static int pq_dict_load(pq_reader *r, pq_rcol *c, const pq_chunk *ch, char *err)
{
	pq_page_hdr h;
	int rc;
	int64_t end = c->npages ? c->pages[0].offset : ch->start + ch->size;
	c->dict_state = PQ_DICT_NONE;
	if (ch->start >= end)
		return 0;
	if ((rc = pq_page_header(r, c, ch->start, end, &h, err)))
		return rc;
	if (h.type != PQ_PAGE_DICTIONARY)
		return 0;
	const char *name = c->info.spec.name;
	if (!h.has_sub || h.num_values < 0 ||
	    (h.enc != PQ_ENC_PLAIN && h.enc != PQ_ENC_PLAIN_DICTIONARY))
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "column '%s', row group %d: bad dictionary page header", name,
		               c->rg);
	if ((rc = pq_page_body(r, c, ch, ch->start, &h, 0, 1, &c->dict, err)))
		return rc;
	uint64_t n = (uint64_t)h.num_values; /* < 2^31: dict_n holds it */
	size_t len = c->dict.len;
	int phys = (int)c->info.spec.physical;
	if (phys == PQ_BYTE_ARRAY) {
		if (n > len / 4)
			goto bad;
		if (pq_grow((void **)&c->dict_off, &c->dict_off_cap, n + 1, sizeof(uint32_t)))
			return pq_rerr(r, err, FLOE_ENOMEM, "out of memory for a dictionary");
		size_t pos = 0;
		for (uint64_t i = 0; i < n; i++) {
			if (len - pos < 4 || get_le32(c->dict.data + pos) > len - pos - 4)
				goto bad;
			c->dict_off[i] = (uint32_t)pos;
			pos += 4 + get_le32(c->dict.data + pos);
		}
	} else if (phys == PQ_BOOLEAN ? n > (uint64_t)len * 8 : n > len / (size_t)c->width) {
		goto bad;
	}
	c->dict_n = (uint32_t)n;
	c->dict_state = PQ_DICT_LOADED;
	return 0;
bad:
	return pq_rerr(r, err, FLOE_ECORRUPT,
	               "column '%s', row group %d: dictionary of %lld values does not fit its "
	               "%zu bytes",
	               name, c->rg, (long long)n, len);
}

/* Reading an OffsetIndex into a cursor's page list. */
typedef struct pq_oi {
	pq_rcol *c;
	int64_t start, end, rows; /* the chunk's bytes and rows */
	const char *why;
} pq_oi;

static int pq_f_page_location(thrift_reader *t, int16_t id, int type, void *ctx)
{
	pq_page_loc *pl = ctx;
	int32_t size;
	int rc;
	if (id == 1)
		return thrift_read_i64(t, type, &pl->offset);
	if (id == 3)
		return thrift_read_i64(t, type, &pl->first_row);
	if (id != 2)
		return thrift_skip(t, type);
	if ((rc = thrift_read_i32(t, type, &size)) > 0)
		pl->size = size;
	return rc;
}

static int pq_f_offset_index(thrift_reader *t, int16_t id, int type, void *ctx)
{
	pq_oi *o = ctx;
	pq_rcol *c = o->c;
	uint32_t n;
	int rc;
	if (id != 1 || c->npages || (rc = thrift_read_list(t, type, THRIFT_STRUCT, &n)) == 0)
		return thrift_skip(t, type);
	if (rc < 0)
		return rc;
	if (pq_grow((void **)&c->pages, &c->pages_cap, n, sizeof(*c->pages)))
		return FLOE_ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		pq_page_loc pl = {-1, -1, -1};
		if ((rc = thrift_get_struct(t)) ||
		    (rc = thrift_read_fields(t, pq_f_page_location, &pl)))
			return rc;
		const pq_page_loc *prev = i ? &c->pages[i - 1] : NULL;
		if (pl.offset < (prev ? prev->offset + prev->size : o->start) ||
		    pl.offset >= o->end || pl.size <= 0 || pl.size > o->end - pl.offset)
			o->why = "page location outside its chunk or overlapping";
		else if (prev ? pl.first_row <= prev->first_row || pl.first_row >= o->rows
		              : pl.first_row != 0)
			o->why = "page first rows not increasing from 0 within the row group";
		if (o->why)
			return FLOE_ECORRUPT;
		c->pages[c->npages++] = pl;
	}
	return 0;
}

/* The data pages of the cursor's chunk from its offset index (invariant 2). */
static int pq_pages_from_index(pq_reader *r, pq_rcol *c, const pq_chunk *ch, int64_t rows,
                               char *err)
{
	int rc;
	const char *name = c->info.spec.name;
	if (ch->oi_off < 4 || ch->oi_off > r->data_end || ch->oi_len > r->data_end - ch->oi_off)
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "column '%s', row group %d: offset index outside the file", name,
		               c->rg);
	if ((rc = pq_read_buf(r, &r->zbuf, ch->oi_off, (size_t)ch->oi_len, err)))
		return rc;
	thrift_reader t;
	thrift_reader_init(&t, r->zbuf.data, r->zbuf.len);
	pq_oi o = {c, ch->start, ch->start + ch->size, rows, NULL};
	rc = thrift_read_fields(&t, pq_f_offset_index, &o);
	if (rc == FLOE_ENOMEM)
		return pq_rerr(r, err, rc, "out of memory for the page list");
	if (rc < 0 || t.pos != t.n || (rows > 0 && c->npages == 0))
		return pq_rerr(r, err, FLOE_ECORRUPT, "column '%s', row group %d: offset index: %s",
		               name, c->rg,
		               o.why       ? o.why
		               : t.why     ? t.why
		               : rc < 0    ? "bad"
		               : c->npages ? "bytes after its end"
		                           : "no pages");
	return 0;
}

static int pq_page_rows(pq_reader *r, pq_rcol *c, const pq_chunk *ch, int64_t off, int64_t size,
                        int32_t *rows, char *err);

/* The data pages of the chunk by walking its page headers. */
static int pq_pages_from_headers(pq_reader *r, pq_rcol *c, const pq_chunk *ch, int64_t rows,
                                 char *err)
{
	int64_t off = ch->start, end = ch->start + ch->size, first = 0;
	int rc;
	while (off < end && first < rows) {
		pq_page_hdr h;
		if ((rc = pq_page_header(r, c, off, end, &h, err)))
			return rc;
		int64_t size = (int64_t)h.hlen + h.csize;
		if (h.type == PQ_PAGE_DATA || h.type == PQ_PAGE_DATA_V2) {
			int32_t nrows = h.type == PQ_PAGE_DATA ? h.num_values : h.num_rows;
			if (h.type == PQ_PAGE_DATA && c->info.max_rep > 0 && h.has_sub &&
			    (rc = pq_page_rows(r, c, ch, off, size, &nrows, err)))
				return rc;
			if (!h.has_sub || nrows <= 0 || nrows > rows - first)
				return pq_rerr(
				    r, err, FLOE_ECORRUPT,
				    "column '%s', row group %d: page at offset %lld holds "
				    "%d rows, %lld are left",
				    c->info.spec.name, c->rg, (long long)off, nrows,
				    (long long)(rows - first));
			if (pq_grow((void **)&c->pages, &c->pages_cap, c->npages + 1,
			            sizeof(*c->pages)))
				return pq_rerr(r, err, FLOE_ENOMEM,
				               "out of memory for the page list");
			c->pages[c->npages++] = (pq_page_loc){off, size, first};
			first += nrows;
		}
		off += size;
	}
	if (first != rows)
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "column '%s', row group %d: pages hold %lld of its %lld rows",
		               c->info.spec.name, c->rg, (long long)first, (long long)rows);
	return 0;
}

/* Points the cursor at chunk g: the page list; the dictionary is loaded
 * when a page needs it. */
static int pq_chunk_enter(pq_reader *r, pq_rcol *c, int g, char *err)
{
	const pq_rgroup *rg = &r->rgs[g];
	const pq_chunk *ch = &r->chunks[rg->chunk0 + (size_t)(c - r->cols)];
	const char *name = c->info.spec.name;
	c->rg = -1;
	c->page = -1;
	c->npages = 0;
	c->dict_state = PQ_DICT_UNKNOWN;
	c->dict_n = 0;
	if (ch->external || ch->encrypted || !ch->has_meta)
		return pq_rerr(r, err, FLOE_EINVAL,
		               "column '%s', row group %d: %s column chunks are not supported",
		               name, g, ch->external ? "external" : "encrypted");
	if (ch->type != (int32_t)c->info.spec.physical)
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "column '%s', row group %d: chunk type %d, schema type %d", name, g,
		               ch->type, (int)c->info.spec.physical);
	if (c->info.max_rep == 0 ? ch->num_values != rg->num_rows : ch->num_values < rg->num_rows)
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "column '%s', row group %d: %lld values for %lld rows", name, g,
		               (long long)ch->num_values, (long long)rg->num_rows);
	if (ch->start < 4 || ch->start > r->data_end || ch->size < 0 ||
	    ch->size > r->data_end - ch->start || ch->data_off < ch->start ||
	    (ch->size > 0 && ch->data_off >= ch->start + ch->size))
		return pq_rerr(
		    r, err, FLOE_ECORRUPT,
		    "column '%s', row group %d: chunk %lld+%lld is outside the file's data", name,
		    g, (long long)ch->start, (long long)ch->size);
	c->rg = g;
	int rc = ch->oi_len > 0 ? pq_pages_from_index(r, c, ch, rg->num_rows, err)
	                        : pq_pages_from_headers(r, c, ch, rg->num_rows, err);
	if (rc) {
		c->rg = -1;
		c->npages = 0;
	}
	return rc;
}

static int pq_is_dict_enc(int enc)
{
	return enc == PQ_ENC_RLE_DICTIONARY || enc == PQ_ENC_PLAIN_DICTIONARY;
}

/* Puts the decoders at the page's first row (invariant 2). */
static int pq_page_rewind(pq_rcol *c)
{
	pq_pagedec *d = &c->d;
	d->pos = 0;
	d->ent = 0;
	d->list_left = 0;
	d->vidx = 0;
	d->bpos = 0;
	pq_rle_init(&d->reps, d->rp, d->rp_len, pq_bit_width((uint64_t)c->info.max_rep));
	pq_rle_init(&d->defs, d->lv, d->lv_len, pq_bit_width((uint64_t)c->info.max_def));
	buf_reset(&c->prev);
	if (d->nvals == 0)
		return 0;
	int is32 = c->info.spec.physical == PQ_INT32;
	switch (d->enc) {
	case PQ_ENC_RLE_DICTIONARY:
	case PQ_ENC_PLAIN_DICTIONARY:
		if (d->vv_len < 1 || d->vv[0] > 32)
			return pq_fail(d, "bad dictionary index bit width");
		pq_rle_init(&d->idx, d->vv + 1, d->vv_len - 1, d->vv[0]);
		return 0;
	case PQ_ENC_RLE: /* BOOLEAN */
		if (d->vv_len < 4 || get_le32(d->vv) > d->vv_len - 4)
			return pq_fail(d, "bad RLE boolean length");
		pq_rle_init(&d->idx, d->vv + 4, get_le32(d->vv), 1);
		return 0;
	case PQ_ENC_DELTA_BINARY_PACKED:
		return pq_delta_init(&d->dl, d, d->vv, d->vv_len, is32);
	case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
		d->bpos = d->bytes_off;
		return pq_delta_init(&d->dl, d, d->vv, d->vv_len, 1);
	case PQ_ENC_DELTA_BYTE_ARRAY:
		d->bpos = d->bytes_off;
		if (pq_delta_init(&d->pl, d, d->vv, d->vv_len, 1))
			return -1;
		return pq_delta_init(&d->dl, d, d->vv + d->sfx_off, d->vv_len - d->sfx_off, 1);
	default:
		return 0;
	}
}

/* Whether this reader decodes values of c's type in encoding enc. */
static int pq_enc_ok(const pq_rcol *c, int enc)
{
	int phys = (int)c->info.spec.physical;
	switch (enc) {
	case PQ_ENC_PLAIN:
	case PQ_ENC_RLE_DICTIONARY:
	case PQ_ENC_PLAIN_DICTIONARY:
		return 1;
	case PQ_ENC_RLE:
		return phys == PQ_BOOLEAN;
	case PQ_ENC_DELTA_BINARY_PACKED:
		return phys == PQ_INT32 || phys == PQ_INT64;
	case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
		return phys == PQ_BYTE_ARRAY;
	case PQ_ENC_DELTA_BYTE_ARRAY:
		return phys == PQ_BYTE_ARRAY || phys == PQ_FIXED_LEN_BYTE_ARRAY;
	case PQ_ENC_BYTE_STREAM_SPLIT:
		return c->width > 0;
	default:
		return 0;
	}
}

/* Checks the value streams of a page once and finds where the parts of the
 * DELTA_*BYTE_ARRAY encodings start (pq_page_rewind uses the offsets). */
static int pq_page_prepare(pq_rcol *c)
{
	pq_pagedec *d = &c->d;
	size_t end, end2;
	uint64_t sum;
	if (d->nvals == 0)
		return 0;
	switch (d->enc) {
	case PQ_ENC_DELTA_BINARY_PACKED:
		if (pq_delta_init(&d->dl, d, d->vv, d->vv_len, c->info.spec.physical == PQ_INT32))
			return -1;
		if (d->dl.left < d->nvals)
			return pq_fail(d, "DELTA stream holds fewer values than the page");
		return 0;
	case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
		if (pq_delta_init(&d->dl, d, d->vv, d->vv_len, 1))
			return -1;
		if (d->dl.left < d->nvals || pq_delta_end(&d->dl, d, &end, &sum))
			return pq_fail(d, "DELTA_LENGTH_BYTE_ARRAY lengths do not fit the page");
		if (sum > d->vv_len - end)
			return pq_fail(d, "DELTA_LENGTH_BYTE_ARRAY values beyond the page");
		d->bytes_off = end;
		return 0;
	case PQ_ENC_DELTA_BYTE_ARRAY:
		if (pq_delta_init(&d->pl, d, d->vv, d->vv_len, 1))
			return -1;
		if (d->pl.left < d->nvals || pq_delta_end(&d->pl, d, &end, &sum))
			return pq_fail(d, "DELTA_BYTE_ARRAY prefix lengths do not fit the page");
		d->sfx_off = end;
		if (pq_delta_init(&d->dl, d, d->vv + end, d->vv_len - end, 1))
			return -1;
		if (d->dl.left < d->nvals || pq_delta_end(&d->dl, d, &end2, &sum))
			return pq_fail(d, "DELTA_BYTE_ARRAY suffix lengths do not fit the page");
		if (sum > d->vv_len - end - end2)
			return pq_fail(d, "DELTA_BYTE_ARRAY suffixes beyond the page");
		d->bytes_off = end + end2;
		return 0;
	case PQ_ENC_BYTE_STREAM_SPLIT:
		if (d->vv_len % (size_t)c->width)
			return pq_fail(d, "BYTE_STREAM_SPLIT streams of unequal length");
		d->bss_count = d->vv_len / (size_t)c->width;
		if (d->bss_count < d->nvals)
			return pq_fail(d, "BYTE_STREAM_SPLIT holds fewer values than the page");
		return 0;
	default:
		return 0;
	}
}

/* Splits a data page body into its levels and values (v1: each level
 * stream has a u32 LE length prefix; v2: the header gives the lengths). */
static int pq_page_layout(pq_rcol *c, const pq_page_hdr *h)
{
	pq_pagedec *d = &c->d;
	const uint8_t *b = c->body.data;
	size_t n = c->body.len, pos = 0;
	if (h->type == PQ_PAGE_DATA_V2) {
		d->rp = b;
		d->rp_len = (size_t)h->rep_len;
		d->lv = b + h->rep_len;
		d->lv_len = (size_t)h->def_len;
		pos = (size_t)h->rep_len + (size_t)h->def_len; /* <= n: pq_page_body */
	} else {
		for (int k = 0; k < 2; k++) {
			if (k == 0 ? c->info.max_rep == 0 : c->info.max_def == 0)
				continue;
			if (n - pos < 4 || get_le32(b + pos) > n - pos - 4)
				return pq_fail(d, "levels longer than the page");
			size_t len = get_le32(b + pos);
			*(k == 0 ? &d->rp : &d->lv) = b + pos + 4;
			*(k == 0 ? &d->rp_len : &d->lv_len) = len;
			pos += 4 + len;
		}
	}
	d->vv = b ? b + pos : b;
	d->vv_len = n - pos;
	return 0;
}

/* Walks the page's levels once: checks each, counts the rows (entries at
 * repetition level 0; the first entry must be one: rows never span pages)
 * and the present values. */
static int pq_page_count(pq_rcol *c, uint64_t *rows)
{
	pq_pagedec *d = &c->d;
	uint32_t max_def = (uint32_t)c->info.max_def, max_rep = (uint32_t)c->info.max_rep;
	*rows = d->levels;
	d->nvals = d->levels;
	pq_rle_init(&d->reps, d->rp, d->rp_len, pq_bit_width(max_rep));
	pq_rle_init(&d->defs, d->lv, d->lv_len, pq_bit_width(max_def));
	if (max_rep > 0 && d->levels > 0) {
		pq_rle first = d->reps;
		uint32_t rep;
		if (pq_rle_next(&first, d, &rep))
			return -1;
		if (rep != 0)
			return pq_fail(d, "page starts inside a row (repetition level above 0)");
		if (pq_rle_skip(&d->reps, d, d->levels, 0, max_rep, rows))
			return -1;
	}
	if (max_def > 0 && pq_rle_skip(&d->defs, d, d->levels, max_def, max_def, &d->nvals))
		return -1;
	return 0;
}

/* Reads the data page at pl into body and lays it out in d (not yet
 * rewound); *h is its header. */
static int pq_page_read(pq_reader *r, pq_rcol *c, const pq_chunk *ch, const pq_page_loc *pl,
                        int64_t end, pq_page_hdr *h, char *err)
{
	const char *name = c->info.spec.name;
	int rc;
	c->page = -1;
	if ((rc = pq_page_header(r, c, pl->offset, end, h, err)))
		return rc;
	int v2 = h->type == PQ_PAGE_DATA_V2;
	if ((h->type != PQ_PAGE_DATA && !v2) || !h->has_sub || h->num_values < 0 ||
	    (v2 && (h->def_len < 0 || h->rep_len < 0)) ||
	    (pl->size > 0 && (int64_t)h->hlen + h->csize != pl->size))
		return pq_rerr(
		    r, err, FLOE_ECORRUPT,
		    "column '%s', row group %d: no valid data page header at offset %lld", name,
		    c->rg, (long long)pl->offset);
	if (!v2 && c->info.max_def > 0 && h->def_enc != PQ_ENC_RLE)
		return pq_rerr(r, err, FLOE_EINVAL,
		               "column '%s': definition level encoding %d is not supported", name,
		               h->def_enc);
	if (!pq_enc_ok(c, h->enc))
		return pq_rerr(r, err, FLOE_EINVAL,
		               "column '%s': encoding %d is not supported for physical type %d",
		               name, h->enc, (int)c->info.spec.physical);
	size_t levels = v2 ? (size_t)h->def_len + (size_t)h->rep_len : 0;
	if ((rc = pq_page_body(r, c, ch, pl->offset, h, levels, !v2 || h->is_compressed, &c->body,
	                       err)))
		return rc;
	pq_pagedec *d = &c->d;
	memset(d, 0, sizeof(*d));
	d->first_row = pl->first_row;
	d->levels = (uint64_t)h->num_values;
	d->enc = h->enc;
	return 0;
}

/* Rows of the v1 data page of a list column at off (only its levels say
 * how many): reads it, so the cached page is gone afterwards. */
static int pq_page_rows(pq_reader *r, pq_rcol *c, const pq_chunk *ch, int64_t off, int64_t size,
                        int32_t *rows, char *err)
{
	pq_page_loc pl = {off, size, 0};
	pq_page_hdr h;
	uint64_t n;
	int rc = pq_page_read(r, c, ch, &pl, off + size, &h, err);
	if (rc)
		return rc;
	if (pq_page_layout(c, &h) || pq_page_count(c, &n)) {
		c->page = -1;
		return pq_rerr(r, err, FLOE_ECORRUPT,
		               "column '%s', row group %d, page at offset %lld: %s",
		               c->info.spec.name, c->rg, (long long)off, c->d.why);
	}
	*rows = n > INT32_MAX ? INT32_MAX : (int32_t)n;
	return 0;
}

/* Reads page p of the cursor's chunk into body and rewinds it. */
static int pq_page_load(pq_reader *r, pq_rcol *c, size_t p, char *err)
{
	const pq_rgroup *rg = &r->rgs[c->rg];
	const pq_chunk *ch = &r->chunks[rg->chunk0 + (size_t)(c - r->cols)];
	const pq_page_loc *pl = &c->pages[p];
	int64_t rows =
	    (p + 1 < c->npages ? c->pages[p + 1].first_row : rg->num_rows) - pl->first_row;
	int64_t end = pl->size > 0 ? pl->offset + pl->size : ch->start + ch->size;
	pq_page_hdr h;
	uint64_t counted;
	int rc;
	if ((rc = pq_page_read(r, c, ch, pl, end, &h, err)))
		return rc;
	pq_pagedec *d = &c->d;
	c->page = (int64_t)p;
	d->rows = rows;
	if ((c->info.max_rep == 0 && h.num_values != rows) ||
	    (h.type == PQ_PAGE_DATA_V2 && h.num_rows != rows)) {
		pq_fail(d, "its row count differs from its place in the chunk");
		goto corrupt;
	}
	if (pq_is_dict_enc(d->enc) && c->dict_state == PQ_DICT_UNKNOWN &&
	    (rc = pq_dict_load(r, c, ch, err))) {
		c->page = -1;
		return rc;
	}
	if (pq_is_dict_enc(d->enc) && c->dict_state != PQ_DICT_LOADED) {
		pq_fail(d, "dictionary-encoded page without a dictionary page");
		goto corrupt;
	}
	if (pq_page_layout(c, &h) || pq_page_count(c, &counted))
		goto corrupt;
	if (counted != (uint64_t)rows) {
		pq_fail(d, "its repetition levels hold another number of rows than its place in "
		           "the chunk says");
		goto corrupt;
	}
	if (h.type == PQ_PAGE_DATA_V2 && h.num_nulls >= 0 &&
	    (uint64_t)h.num_nulls != d->levels - d->nvals) {
		pq_fail(d, "null count disagrees with the definition levels");
		goto corrupt;
	}
	if (pq_page_prepare(c) || pq_page_rewind(c))
		goto corrupt;
	return 0;
corrupt:
	rc = pq_page_corrupt(r, c, err);
	c->page = -1;
	return rc;
}

/* ---- values ------------------------------------------------------------- */

/* A BYTE_ARRAY dictionary entry or PLAIN value at vv[*pos]. */
static int pq_plain_bytes(pq_pagedec *d, const uint8_t *p, size_t n, size_t *pos, pq_value *out)
{
	if (n - *pos < 4 || get_le32(p + *pos) > n - *pos - 4)
		return pq_fail(d, "BYTE_ARRAY value beyond the page");
	out->len = get_le32(p + *pos);
	out->bytes = p + *pos + 4;
	*pos += 4 + out->len;
	return 0;
}

/* Fixed-width value i of PLAIN data p[0..n). */
static int pq_plain_fixed(const pq_rcol *c, pq_pagedec *d, const uint8_t *p, size_t n, uint64_t i,
                          pq_value *out)
{
	int phys = (int)c->info.spec.physical;
	if (phys == PQ_BOOLEAN) {
		if (i / 8 >= n)
			return pq_fail(d, "BOOLEAN value beyond the page");
		out->v.b = p[i / 8] >> (i % 8) & 1;
		return 0;
	}
	size_t w = (size_t)c->width;
	if (i >= n / w)
		return pq_fail(d, "value beyond the page");
	const uint8_t *v = p + i * w;
	switch (phys) {
	case PQ_INT32:
		out->v.i32 = (int32_t)get_le32(v);
		break;
	case PQ_INT64:
		out->v.i64 = (int64_t)get_le64(v);
		break;
	case PQ_FLOAT: {
		uint32_t u = get_le32(v);
		memcpy(&out->v.f32, &u, 4);
		break;
	}
	case PQ_DOUBLE: {
		uint64_t u = get_le64(v);
		memcpy(&out->v.f64, &u, 8);
		break;
	}
	default: /* FIXED_LEN_BYTE_ARRAY */
		out->bytes = v;
		out->len = w;
		break;
	}
	return 0;
}

/* The next present value of the page (d->vidx), decoded. */
static int pq_next_value(pq_rcol *c, pq_value *out)
{
	pq_pagedec *d = &c->d;
	uint64_t i = d->vidx;
	int64_t x;
	if (i >= d->nvals)
		return pq_fail(d, "more values than the page holds");
	d->vidx++;
	switch (d->enc) {
	case PQ_ENC_PLAIN:
		if (c->info.spec.physical == PQ_BYTE_ARRAY)
			return pq_plain_bytes(d, d->vv, d->vv_len, &d->bpos, out);
		return pq_plain_fixed(c, d, d->vv, d->vv_len, i, out);
	case PQ_ENC_RLE_DICTIONARY:
	case PQ_ENC_PLAIN_DICTIONARY: {
		uint32_t k;
		if (pq_rle_next(&d->idx, d, &k))
			return -1;
		if (k >= c->dict_n)
			return pq_fail(d, "dictionary index beyond the dictionary");
		if (c->info.spec.physical != PQ_BYTE_ARRAY)
			return pq_plain_fixed(c, d, c->dict.data, c->dict.len, k, out);
		size_t pos = c->dict_off[k];
		return pq_plain_bytes(d, c->dict.data, c->dict.len, &pos, out);
	}
	case PQ_ENC_RLE: {
		uint32_t k;
		if (pq_rle_next(&d->idx, d, &k))
			return -1;
		out->v.b = (int)k;
		return 0;
	}
	case PQ_ENC_DELTA_BINARY_PACKED:
		if (pq_delta_next(&d->dl, d, &x))
			return -1;
		if (c->info.spec.physical == PQ_INT32)
			out->v.i32 = (int32_t)x;
		else
			out->v.i64 = x;
		return 0;
	case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
		if (pq_delta_next(&d->dl, d, &x))
			return -1;
		if (x < 0 || (uint64_t)x > d->vv_len - d->bpos)
			return pq_fail(d, "DELTA_LENGTH_BYTE_ARRAY value beyond the page");
		out->bytes = d->vv + d->bpos;
		out->len = (size_t)x;
		d->bpos += (size_t)x;
		return 0;
	case PQ_ENC_DELTA_BYTE_ARRAY: {
		int64_t pre;
		if (pq_delta_next(&d->pl, d, &pre) || pq_delta_next(&d->dl, d, &x))
			return -1;
		if (pre < 0 || (uint64_t)pre > c->prev.len || x < 0 ||
		    (uint64_t)x > d->vv_len - d->bpos)
			return pq_fail(d, "DELTA_BYTE_ARRAY value beyond the page");
		c->prev.len = (size_t)pre;
		buf_append(&c->prev, d->vv + d->bpos, (size_t)x);
		if (!buf_ok(&c->prev))
			return pq_fail(d, "out of memory");
		d->bpos += (size_t)x;
		if (c->info.spec.physical == PQ_FIXED_LEN_BYTE_ARRAY &&
		    c->prev.len != (size_t)c->width)
			return pq_fail(d, "DELTA_BYTE_ARRAY value of the wrong length");
		out->bytes = c->prev.data ? c->prev.data : (const uint8_t *)"";
		out->len = c->prev.len;
		return 0;
	}
	case PQ_ENC_BYTE_STREAM_SPLIT: {
		/* Byte k of value i is byte i of stream k. */
		uint8_t tmp[8];
		size_t w = (size_t)c->width;
		int flba = c->info.spec.physical == PQ_FIXED_LEN_BYTE_ARRAY;
		if (flba) {
			buf_reset(&c->prev);
			if (buf_reserve(&c->prev, w))
				return pq_fail(d, "out of memory");
			c->prev.len = w;
		}
		uint8_t *dst = flba ? c->prev.data : tmp;
		for (size_t k = 0; k < w; k++)
			dst[k] = d->vv[k * d->bss_count + i];
		return pq_plain_fixed(c, d, dst, w, 0, out);
	}
	}
	return pq_fail(d, "encoding not supported for this column type");
}

/* Skips k present values. */
static int pq_skip_values(pq_rcol *c, uint64_t k)
{
	pq_pagedec *d = &c->d;
	pq_value v;
	if (k > d->nvals - d->vidx)
		return pq_fail(d, "more values than the page holds");
	switch (d->enc) {
	case PQ_ENC_PLAIN:
		if (c->info.spec.physical == PQ_BYTE_ARRAY)
			break;
		/* fall through */
	case PQ_ENC_BYTE_STREAM_SPLIT:
		d->vidx += k;
		return 0;
	case PQ_ENC_RLE_DICTIONARY:
	case PQ_ENC_PLAIN_DICTIONARY:
	case PQ_ENC_RLE:
		if (pq_rle_skip(&d->idx, d, k, 0, UINT32_MAX, NULL))
			return -1;
		d->vidx += k;
		return 0;
	default:
		break;
	}
	for (uint64_t i = 0; i < k; i++)
		if (pq_next_value(c, &v))
			return -1;
	return 0;
}

/* Entries of the row the cursor stands at (>= 1), read from a copy of the
 * repetition levels: the first has level 0, the rest of the row above 0. */
static int pq_row_entries(pq_pagedec *d, uint64_t *n)
{
	pq_rle t = d->reps;
	uint32_t rep;
	uint64_t k = 1;
	if (d->ent >= d->levels)
		return pq_fail(d, "more rows than the page's levels hold");
	if (pq_rle_next(&t, d, &rep))
		return -1;
	if (rep != 0)
		return pq_fail(d, "row does not start at repetition level 0");
	while (d->ent + k < d->levels) {
		if (pq_rle_next(&t, d, &rep))
			return -1;
		if (rep == 0)
			break;
		k++;
	}
	*n = k;
	return 0;
}

/* Consumes k level entries and their values. */
static int pq_skip_entries(pq_rcol *c, uint64_t k)
{
	pq_pagedec *d = &c->d;
	uint64_t present = k;
	if (k > d->levels - d->ent)
		return pq_fail(d, "more rows than the page's levels hold");
	if (c->info.max_rep > 0 && pq_rle_skip(&d->reps, d, k, 0, UINT32_MAX, NULL))
		return -1;
	if (c->info.max_def > 0 &&
	    pq_rle_skip(&d->defs, d, k, (uint32_t)c->info.max_def, UINT32_MAX, &present))
		return -1;
	d->ent += k;
	return pq_skip_values(c, present);
}

/* Reads one level entry: its definition level, and its value when present. */
static int pq_read_entry(pq_rcol *c, uint32_t *def, pq_value *out)
{
	pq_pagedec *d = &c->d;
	uint32_t rep;
	memset(out, 0, sizeof(*out));
	*def = (uint32_t)c->info.max_def;
	if (d->ent >= d->levels)
		return pq_fail(d, "more rows than the page's levels hold");
	if (c->info.max_rep > 0 && pq_rle_next(&d->reps, d, &rep))
		return -1;
	if (c->info.max_def > 0 && pq_rle_next(&d->defs, d, def))
		return -1;
	d->ent++;
	if (*def != (uint32_t)c->info.max_def)
		return 0;
	out->present = 1;
	return pq_next_value(c, out);
}

/* The last of n (>= 1) elements stride bytes apart whose int64_t at byte
 * off (ascending: a first row) is <= row; 0 when none is. Row groups
 * without rows share a first row with the next: the last one wins. */
static size_t pq_last_from(const void *base, size_t n, size_t stride, size_t off, int64_t row)
{
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo + 1) / 2;
		int64_t first;
		memcpy(&first, (const uint8_t *)base + mid * stride + off, sizeof(first));
		if (first <= row)
			lo = mid;
		else
			hi = mid - 1;
	}
	return lo;
}

/* Checks the arguments of a value or list read. */
static int pq_check_read(const pq_reader *r, int col, int64_t row, int list, char *err)
{
	if (col < 0 || col >= r->ncols)
		return pq_rerr(r, err, FLOE_EINVAL, "no column %d (the file has %d)", col,
		               r->ncols);
	const pq_reader_column *ci = &r->cols[col].info;
	if (row < 0 || row >= r->num_rows)
		return pq_rerr(r, err, FLOE_EINVAL, "row %lld is outside the file's %lld rows",
		               (long long)row, (long long)r->num_rows);
	if (ci->max_rep > 1)
		return pq_rerr(r, err, FLOE_EINVAL, "column '%s': nested lists are not readable",
		               ci->spec.name);
	if (list != (ci->max_rep > 0))
		return pq_rerr(r, err, FLOE_EINVAL, "column '%s' is %sa list column", ci->spec.name,
		               list ? "not " : "");
	if (ci->spec.physical == (pq_physical)PQ_PHYS_INT96)
		return pq_rerr(r, err, FLOE_EINVAL, "column '%s': INT96 is not supported",
		               ci->spec.name);
	return 0;
}

/* Puts the cursor of c at the first level entry of file row `row`: loads
 * the chunk and page as needed (invariant 2), then skips forward. */
static int pq_seek(pq_reader *r, pq_rcol *c, int64_t row, char *err)
{
	int rc;
	int g = (int)pq_last_from(r->rgs, (size_t)r->nrg, sizeof(pq_rgroup),
	                          offsetof(pq_rgroup, first_row), row);
	int64_t in_rg = row - r->rgs[g].first_row;
	if (c->rg != g && (rc = pq_chunk_enter(r, c, g, err)))
		return rc;
	size_t p = pq_last_from(c->pages, c->npages, sizeof(pq_page_loc),
	                        offsetof(pq_page_loc, first_row), in_rg);
	pq_pagedec *d = &c->d;
	if (c->page != (int64_t)p) {
		if ((rc = pq_page_load(r, c, p, err)))
			return rc;
	} else if (in_rg - d->first_row < d->pos) {
		d->why = NULL;
		if (pq_page_rewind(c))
			goto corrupt;
	} else if (d->list_left && pq_skip_entries(c, d->list_left)) {
		goto corrupt;
	}
	d->list_left = 0;
	uint64_t skip = (uint64_t)(in_rg - d->first_row - d->pos);
	if (c->info.max_rep == 0) {
		if (pq_skip_entries(c, skip))
			goto corrupt;
	} else {
		for (uint64_t i = 0; i < skip; i++) {
			uint64_t n;
			if (pq_row_entries(d, &n) || pq_skip_entries(c, n))
				goto corrupt;
		}
	}
	d->pos += (int64_t)skip;
	return 0;
corrupt:
	rc = pq_page_corrupt(r, c, err);
	c->page = -1; /* the decoders are somewhere undefined: reload next time */
	return rc;
}

int pq_reader_value(pq_reader *r, int col, int64_t row, pq_value *out, char *err)
{
	int rc;
	uint32_t def;
	memset(out, 0, sizeof(*out));
	if ((rc = pq_check_read(r, col, row, 0, err)))
		return rc;
	pq_rcol *c = &r->cols[col];
	if ((rc = pq_seek(r, c, row, err)))
		return rc;
	if (pq_read_entry(c, &def, out)) {
		rc = pq_page_corrupt(r, c, err);
		c->page = -1;
		return rc;
	}
	c->d.pos++;
	return 0;
}

int pq_reader_list(pq_reader *r, int col, int64_t row, int64_t *len, char *err)
{
	int rc;
	uint32_t def;
	uint64_t n;
	*len = -1;
	if ((rc = pq_check_read(r, col, row, 1, err)))
		return rc;
	pq_rcol *c = &r->cols[col];
	pq_pagedec *d = &c->d;
	if ((rc = pq_seek(r, c, row, err)))
		return rc;
	pq_rle t = d->defs;
	if (pq_row_entries(d, &n) || pq_rle_next(&t, d, &def))
		goto corrupt;
	d->pos++;
	if ((int)def > c->info.list_def) {
		d->list_left = n;
		*len = (int64_t)n;
		return 0;
	}
	/* A null (below list_def) or empty list: one entry, no elements. */
	if (n != 1) {
		pq_fail(d, "a null or empty list with more than one level entry");
		goto corrupt;
	}
	if (pq_skip_entries(c, 1))
		goto corrupt;
	*len = (int)def == c->info.list_def ? 0 : -1;
	return 0;
corrupt:
	rc = pq_page_corrupt(r, c, err);
	c->page = -1;
	return rc;
}

int pq_reader_elem(pq_reader *r, int col, pq_value *out, char *err)
{
	uint32_t def;
	memset(out, 0, sizeof(*out));
	if (col < 0 || col >= r->ncols || r->cols[col].page < 0 || r->cols[col].d.list_left == 0)
		return pq_rerr(r, err, FLOE_EINVAL, "column %d: no list element to read", col);
	pq_rcol *c = &r->cols[col];
	if (pq_read_entry(c, &def, out))
		goto corrupt;
	if ((int)def <= c->info.list_def) {
		pq_fail(&c->d, "a list element below the list's definition level");
		goto corrupt;
	}
	c->d.list_left--;
	return 0;
corrupt : {
	int rc = pq_page_corrupt(r, c, err);
	c->page = -1;
	return rc;
}
}
