/*
 * index — the primary-key index of one table: encoded key -> row location.
 *
 * What it owns: an open-addressing hash table (Robin Hood linear probing,
 * power-of-two capacity, backward-shift deletion, so no tombstones) and, for
 * keys that do not fit in a slot, an append-only arena of key bytes. It also
 * owns the per-data-file key list format (".fidx") that a restart rebuilds
 * the index from, so a restart never reads Parquet.
 *
 * Keys. index_key_encode turns row r of a batch into canonical bytes: equal
 * keys give equal bytes and different keys different bytes (exact, no
 * hashing involved), and memcmp order of the bytes is the order of the key
 * tuples. Per column, in key order:
 *   int16/int32/int64  8 bytes big-endian, sign bit flipped (so an int ->
 *                      long promotion keeps every encoded key the same)
 *   decimal p <= 18    8 bytes, same as the ints (unscaled value)
 *   decimal p > 18     16 bytes: unscaled value sign-extended to 128 bits
 *   date32             4 bytes, sign bit flipped
 *   timestamp(tz)      8 bytes, sign bit flipped (micros)
 *   boolean            1 byte, 0 or 1
 *   uuid               16 bytes as stored (RFC order)
 *   string / binary    the bytes as they are when the column is the last key
 *                      column; otherwise each 0x00 written as 0x00 0xFF and
 *                      the value ended by 0x00 0x00 (so ("a\0", "b") and
 *                      ("a", "\0b") differ)
 * float32/float64 cannot be key columns (Iceberg forbids them as identifier
 * fields: -0.0 / NaN have no exact equality). The caller rejects null key
 * values before encoding; the encoder reads whatever the slot holds.
 *
 * Full-row keys (index_keydesc_init_fullrow: tables without a primary key,
 * where the whole row is the identity and equal rows may repeat). Every
 * column in schema order, each as a presence byte (0 = null, and nothing
 * follows for the column; 1 = a value follows) and then the value encoded
 * as above (so a string column is escaped unless it is the last column),
 * plus float32 / float64 as 4 / 8 bytes of canonical bits: -0.0 is encoded
 * as +0.0 and every NaN as the one quiet NaN (0x7fc00000 / 0x7ff8...0), so
 * equal bytes mean "the same value" (NaN equals NaN here); the bits are
 * sign-flipped like the ints (order within a float column is numeric, but
 * nothing relies on it). A list column (full-row keys only; a list cannot be
 * a primary key column) is its element count as 4 bytes big-endian, then
 * each element as a presence byte and the value encoded as above as if not
 * last (strings escaped), so a null list (presence 0), an empty list (count
 * 0) and lists that differ in any element encode differently. Every column
 * has the presence byte, nullable or not. A full-row key is always variable
 * width (arena slots) and its index is a multimap (kd.multi): use the
 * index_multi_* calls on it.
 *
 * Slots. A key whose encoded width is fixed and <= 8 bytes (one int, date,
 * timestamp, decimal p <= 18 key; or e.g. (date32, boolean)) is stored inline
 * in a 16-byte slot {~loc, key}; a fixed key of 9..16 bytes (uuid, decimal
 * p > 18, (int64, int32)) inline in a 24-byte slot {~loc, key hi, key lo};
 * any other key as a 24-byte slot {~loc, 64-bit hash, arena ref} plus the
 * key bytes and a 1-3 byte length in the arena (the hash is compared first,
 * then the bytes, so a hash collision never matches).
 *
 * Memory per key (index_mem_bytes; malloc overhead aside). The table grows
 * by doubling when it would pass 0.85 load, so load stays in (0.425, 0.85]
 * and a 16-byte slot costs 18.8 .. 37.7 bytes per key; 24-byte slots 28.2 ..
 * 56.5, plus the key bytes + 1..3 in the arena for arena keys.
 * Measured by bench/index_mem.c (50,000,000 shuffled int64 keys): see
 * INDEX_MEASURED below. Growth allocates the new table before freeing the
 * old one, so the peak during a doubling is briefly 1.5x the new table; the
 * doubling itself is one pass (the table is ordered by the hash's top bits,
 * so the new table is written nearly sequentially). Tables of 4 MiB and
 * more are mmap'ed 2 MiB-aligned with MADV_HUGEPAGE (fewer TLB misses, and
 * cheaper first touches on the development VM).
 *
 * Invariants:
 *   1. A slot is empty iff its loc word is 0 (we store ~loc, so a freshly
 *      allocated, zeroed table is empty and INDEX_LOC_NONE can never be
 *      stored).
 *   2. Robin Hood order: walking from a key's home slot (top bits of its
 *      hash) to its slot, every slot passed is occupied by an entry whose
 *      distance from its own home is >= the distance walked so far. Lookups
 *      stop at the first empty slot or the first entry closer to home.
 *   3. count <= 0.85 * capacity, capacity a power of two >= 16.
 *   4. Arena: every arena-mode slot's ref points at a live entry; dead bytes
 *      (entries of removed keys) are counted and reclaimed by copying the
 *      live keys into fresh chunks once they outweigh the live ones.
 *   5. mem_count is the number of entries whose location is in memory
 *      (index_loc_is_mem), so after a full flush + remap it must be 0.
 *
 * Thread rules: an index belongs to the table writer thread that owns the
 * table; no locking inside, no shared state between indexes.
 * Errors: int return, 0 or a negative FLOE_* code; functions whose message a
 * person reads take `char *err` (ERR_LEN bytes, may be NULL). Any failure
 * leaves the index as it was before the call unless stated otherwise.
 *
 * Restart. The writer keeps one .fidx file per data file (written when the
 * data file is written, durable before the Iceberg commit that adds it) and
 * on restart calls index_load_file for every live data file with that
 * file's deletion vector as the deleted-position predicate. Measured for
 * 10,000,000 int64 keys in 10 files: INDEX_MEASURED below.
 *
 * INDEX_MEASURED (bench/index_mem.c, -O2, the 2-core AMD EPYC development
 * VM shared with other jobs (load 3-4 during the run), so rates vary by
 * +-50% between runs; the VM's first touch of a 4 KiB page costs ~12 us):
 *   50,000,000 int64 keys: 21.5 bytes/key by index_mem_bytes and 21.5 by
 *   RSS; peak RSS growth while building 32.2 bytes/key (the last doubling,
 *   2^25 -> 2^26 slots). Peers in the same run: a sorted key array 8.0
 *   (keys only, no locations: the lower bound), a pre-sized plain
 *   linear-probing map 42.9.
 *   Insert 1.6 M keys/s one index_put at a time, 2.7 M keys/s in the
 *   writer's batch shape (index_key_encode + index_lookup_many + index_put;
 *   the plain map: 2.7 M/s including clearing its arrays). Lookups (half
 *   absent) 2.7 M/s one at a time, 8.8 M/s with index_lookup_many (sorted
 *   array 0.6 M/s, plain map at half our load 11.5 M/s).
 *   Restart of 10,000,000 int64 keys from 10 .fidx files (80 MB, 1% of
 *   positions deleted): 0.9 s with the files in the page cache and the
 *   index reserved for the total first (index_reserve, from the data
 *   files' record counts), 1.5 s after the files were dropped from the
 *   page cache, 1.9 s without index_reserve. Writing the 10 files
 *   (fsynced): 0.4 s.
 */
#ifndef FLOE_INDEX_H
#define FLOE_INDEX_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "table/batch.h"
#include "table/coltype.h"

/* ---- locations ----------------------------------------------------------
 * A location is a 64-bit value. The index stores it as given and interprets
 * only bit 63 (for index_mem_count) and the reserved INDEX_LOC_NONE. The
 * helpers below pack the two forms the table writer uses:
 *   memory row:  bit 63 = 1, bits 0..62 = mem row ordinal (< 2^63 - 1)
 *   file row:    bit 63 = 0, bits 39..62 = file id (< 2^24),
 *                bits 0..38 = row position in the data file (< 2^39)
 */
#define INDEX_LOC_NONE    UINT64_MAX /* "no such key"; never stored */
#define INDEX_LOC_MEM_BIT (UINT64_C(1) << 63)
#define INDEX_FILE_ID_MAX ((UINT32_C(1) << 24) - 1)
#define INDEX_POS_MAX     ((UINT64_C(1) << 39) - 1)
#define INDEX_MEM_ORD_MAX (INDEX_LOC_MEM_BIT - 2)
#define INDEX_POS_NONE    UINT64_MAX /* index_remap_memory: row not written */

static inline uint64_t index_loc_mem(uint64_t ordinal) /* ordinal <= INDEX_MEM_ORD_MAX */
{
	return INDEX_LOC_MEM_BIT | ordinal;
}
static inline uint64_t index_loc_file(uint32_t file_id, uint64_t pos) /* within the MAXes */
{
	return (uint64_t)file_id << 39 | pos;
}
static inline int index_loc_is_mem(uint64_t loc)
{
	return loc != INDEX_LOC_NONE && (loc & INDEX_LOC_MEM_BIT) != 0;
}
static inline uint64_t index_loc_mem_ordinal(uint64_t loc)
{
	return loc & ~INDEX_LOC_MEM_BIT;
}
static inline uint32_t index_loc_file_id(uint64_t loc)
{
	return (uint32_t)(loc >> 39) & INDEX_FILE_ID_MAX;
}
static inline uint64_t index_loc_pos(uint64_t loc)
{
	return loc & INDEX_POS_MAX;
}

/* ---- key description and encoding --------------------------------------- */

#define INDEX_MAX_KEY_COLS 16    /* primary key columns */
#define INDEX_MAX_COLS     255   /* full-row key columns (schema columns) */
#define INDEX_KEY_MAX      65535 /* longest encoded key, bytes (full rows too) */

typedef struct index_keydesc {
	int ncols;
	int col[INDEX_MAX_COLS];        /* column index in the schema / batch */
	uint8_t cls[INDEX_MAX_COLS];    /* encoding class (index.c), stored in .fidx */
	uint8_t vwidth[INDEX_MAX_COLS]; /* batch value width, 0 for BC_BYTES */
	uint32_t width;                 /* encoded key bytes if fixed, else 0 */
	uint8_t multi; /* 1: full-row key, multimap index (presence bytes, width 0) */
} index_keydesc;

/* The encoded key of one integer key column (int16/int32/int64, decimal
 * p <= 18): 8 bytes, for callers that have the value rather than a batch.
 * One 8-byte store on purpose: eight byte stores (buf.h's put_be64 as gcc
 * compiles it) cannot be forwarded to the 8-byte load index_lookup reads
 * the key with, so that load waits for them to retire, behind the previous
 * lookup's cache miss, and lookups stop overlapping (350 instead of 60 ns
 * per lookup measured in a 10M-key table). */
static inline void index_key_int64(uint8_t *out, int64_t v)
{
	uint64_t u = (uint64_t)v ^ INDEX_LOC_MEM_BIT; /* sign bit flipped: memcmp order */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	u = __builtin_bswap64(u);
#endif
	memcpy(out, &u, sizeof u);
}

/* Describes a key made of schema columns cols[0..ncols) in that order.
 * FLOE_EINVAL (message names the column) for 0 or > INDEX_MAX_KEY_COLS
 * columns, an index out of range, a column listed twice, a float column or a
 * list column. */
int index_keydesc_init(index_keydesc *kd, const floe_schema *schema, const int *cols, int ncols,
                       char *err);

/* Describes the full-row key of schema: every column, in schema order, any
 * type, nullable or not (see "Full-row keys" above); kd->multi = 1,
 * kd->width = 0. FLOE_EINVAL for a schema of 0 or > INDEX_MAX_COLS columns.
 * A row whose encoding passes INDEX_KEY_MAX bytes makes index_key_encode
 * fail with FLOE_ETOOBIG. */
int index_keydesc_init_fullrow(index_keydesc *kd, const floe_schema *schema, char *err);

/* Replaces out's content with the encoded key of row `row` of b (a batch of
 * the schema kd was made from). Errors: FLOE_EINVAL if b's columns do not
 * have the key's shape; FLOE_ETOOBIG if the key exceeds INDEX_KEY_MAX bytes
 * (message names the row); FLOE_ENOMEM (out is released then, so it is
 * usable again). */
int index_key_encode(const index_keydesc *kd, const batch *b, size_t row, buf *out, char *err);
/* The encoded keys of rows [from, to) of b, except the rows r with skip
 * (may be NULL) and skip[r] != 0, appended to out back to back, checking
 * b's shape once: what index_key_encode gives row by row, for a writer
 * that encodes many rows. ends (may be NULL; room for to - from) gets each
 * appended key's end offset in out; *nkeys = the keys appended. Errors as
 * index_key_encode; the keys appended before the failing row stay. */
int index_keys_append(const index_keydesc *kd, const batch *b, size_t from, size_t to,
                      const uint8_t *skip, buf *out, size_t *ends, size_t *nkeys, char *err);

/* ---- the index ---------------------------------------------------------- */

typedef struct index_map index_map;

/* A new empty index for keys described by kd (copied). 0, FLOE_EINVAL (kd
 * not made by index_keydesc_init or index_keydesc_init_fullrow) or
 * FLOE_ENOMEM. Free it with index_free. A kd with multi set makes a multi
 * index (a multimap; see "multimap" below). */
int index_new(const index_keydesc *kd, index_map **out);
void index_free(index_map *ix); /* NULL is a no-op */

/* Keys below are encoded keys (index_key_encode or a .fidx). Every call
 * checks the length: FLOE_EINVAL if a fixed-width key has another length or
 * a key is longer than INDEX_KEY_MAX. index_lookup, index_lookup_many,
 * index_put, index_remove and index_remap_key are for unique-key indexes:
 * FLOE_EINVAL (nothing done) on a multi index. */

/* *loc_out = the key's location, or INDEX_LOC_NONE if absent. */
int index_lookup(const index_map *ix, const uint8_t *key, size_t len, uint64_t *loc_out);
/* n lookups at once, with the same results as n index_lookup calls but
 * faster on a large table: the home slots are prefetched a few keys ahead,
 * so cache misses overlap (a writer that looks up a request's keys this
 * way first finds the slots in cache in its index_put calls after it).
 * Key i is keys[offs[i] .. offs[i + 1]) (n + 1 offsets), or, with offs
 * NULL (fixed-width keys only), the i-th run of kd.width bytes.
 * FLOE_EINVAL if a key has a bad length (locs then partly written). */
int index_lookup_many(const index_map *ix, const uint8_t *keys, const size_t *offs, size_t n,
                      uint64_t *locs);
/* Inserts key -> loc, or replaces the location of a present key.
 * *old_out (may be NULL) = the previous location or INDEX_LOC_NONE.
 * FLOE_EINVAL if loc == INDEX_LOC_NONE; FLOE_ENOMEM (index unchanged). */
int index_put(index_map *ix, const uint8_t *key, size_t len, uint64_t loc, uint64_t *old_out);
/* Removes the key; *old_out (may be NULL) = its location or INDEX_LOC_NONE
 * when it was absent (not an error). Never fails for lack of memory. */
int index_remove(index_map *ix, const uint8_t *key, size_t len, uint64_t *old_out);
/* Sets the key's location to new_loc only if it is currently expect_loc;
 * *done (may be NULL) = 1 if it did. */
int index_remap_key(index_map *ix, const uint8_t *key, size_t len, uint64_t expect_loc,
                    uint64_t new_loc, int *done);

/* Many puts or remaps at once: the effect of the calls one by one in batch
 * order (a key repeated in the batch ends with its last location), faster
 * on a large table because each key's home slot is prefetched a few keys
 * ahead (as index_lookup_many does). Keys as for index_lookup_many (offs
 * NULL: fixed-width keys back to back). On a unique-key index only:
 * FLOE_EINVAL on a multi index, for a bad key length or a location
 * INDEX_LOC_NONE (all checked first: nothing done then). */
/* index_put for every key i: locs[i] in, olds[i] = the location it replaced
 * (INDEX_LOC_NONE if none). FLOE_ENOMEM (growing the table): the keys
 * before the failing one are put. */
int index_put_many(index_map *ix, const uint8_t *keys, const size_t *offs, size_t n,
                   const uint64_t *locs, uint64_t *olds);
/* index_remap_key for every key i (expect[i] -> new_locs[i]); *remapped
 * (may be NULL) = how many changed. Never fails for lack of memory. */
int index_remap_many(index_map *ix, const uint8_t *keys, const size_t *offs, size_t n,
                     const uint64_t *expect, const uint64_t *new_locs, size_t *remapped);

/* ---- multimap (multi index: kd.multi, full-row keys) ---------------------
 * A multi index holds any number of copies of a key, each with its own
 * location. Inside, copy n (0 .. copies - 1) of key K is the entry
 * K || n (4 bytes big-endian) and the copies of a key are always numbered
 * contiguously: add appends copy `copies`, take removes copy `copies - 1`.
 * Counting the copies probes for copy numbers by doubling and then
 * bisecting (copy n exists iff n < copies), so add, take and count cost
 * O(log copies) hash probes; nothing extra is stored per key (a key with
 * one copy costs one slot and its bytes + 4 in the arena). The calls are
 * FLOE_EINVAL on a unique-key index (and for a bad key length). */

/* Adds one more copy of key at loc. FLOE_EINVAL (loc == INDEX_LOC_NONE),
 * FLOE_ENOMEM (index unchanged), FLOE_ETOOBIG (2^32 - 1 copies already). */
int index_multi_add(index_map *ix, const uint8_t *key, size_t len, uint64_t loc);
/* Removes one copy of key: the most recently added of those present
 * (copies - 1), and sets *loc_out to its location; *loc_out =
 * INDEX_LOC_NONE when the key has no copy (not an error). Never fails for
 * lack of memory. */
int index_multi_take(index_map *ix, const uint8_t *key, size_t len, uint64_t *loc_out);
/* *n = the number of copies of key (0 when absent). */
int index_multi_count(const index_map *ix, const uint8_t *key, size_t len, size_t *n);

/* After a flush: the in-memory rows of batch b became rows of data file
 * file_id. Contract: row r of b is the memory row with ordinal
 * first_ordinal + r; pos[r] is its position in the data file, or
 * INDEX_POS_NONE if it was not written (deleted or superseded in memory).
 * For each written row whose key still maps to index_loc_mem(first_ordinal
 * + r), the location becomes index_loc_file(file_id, pos[r]); a key that
 * maps elsewhere (a newer row, or removed) is left alone. Cost: one encode
 * and one lookup per row of b, whatever the size of the index. Call it once
 * per memory batch flushed. *remapped (may be NULL) = keys changed; a writer
 * that only writes live rows can check it equals the rows written.
 * Errors: FLOE_EINVAL (file_id or a position out of range, b not of the key's
 * shape: nothing changed), FLOE_ENOMEM / FLOE_ETOOBIG from encoding (rows
 * before the failing one are remapped; calling again finishes the job).
 * On a multi index: for row r, the copy of its key whose location is
 * index_loc_mem(first_ordinal + r) (if any) gets the file location; the
 * other copies are left alone. The copy is found by bisection over the
 * copy numbers (O(log copies) probes) when the key's memory copies have
 * ordinals increasing with their copy numbers, which holds when memory
 * rows get increasing ordinals in the order they are added and memory
 * batches are remapped oldest first; otherwise by a walk over all copies
 * (O(copies) probes): correct either way, only slower. */
int index_remap_memory(index_map *ix, const batch *b, uint64_t first_ordinal, const uint64_t *pos,
                       uint32_t file_id, size_t *remapped, char *err);

size_t index_count(const index_map *ix);     /* entries (a multi index: copies) */
size_t index_mem_count(const index_map *ix); /* entries (copies) with an in-memory location */
/* Bytes allocated by the index: struct, table, arena chunks, scratch. */
size_t index_mem_bytes(const index_map *ix);
/* Grows the table so that n keys fit without another resize. FLOE_ENOMEM. */
int index_reserve(index_map *ix, size_t n);
/* Gives memory back: shrinks the table to fit the count (load <= 0.6) and
 * copies the live arena keys into fresh chunks. FLOE_ENOMEM (unchanged). */
int index_compact(index_map *ix);

/* Testing aid: keeps only the top `bits` (0..64) bits of every hash, so
 * that unequal keys collide: arena keys then share their stored hash and
 * are told apart by their bytes, and probe chains grow long and wrap.
 * Only on an empty index (FLOE_EINVAL otherwise). */
int index_test_hash_bits(index_map *ix, unsigned bits);
/* Testing aid: on a multi index, the copy insertions after the next n
 * fail with FLOE_ENOMEM (index_multi_add, index_load_*), until called
 * again; n = SIZE_MAX turns it off (the default). */
void index_test_fail_adds(index_map *ix, size_t n);

/* ---- per-data-file key lists (.fidx) -------------------------------------
 * Byte layout (integers little-endian):
 *   0      4  magic "FIDX"
 *   4      2  version = 1
 *   6      1  ncols (1..16; full-row keys 1..255)
 *   7      1  flags: 0, or 1 = full-row key (multi index: presence bytes,
 *             float classes allowed, key width 0, repeated keys allowed)
 *   8      n  encoding class of each key column (index.c: KC_*)
 *   8+n    4  key width: encoded bytes per key when fixed, 0 = variable
 *   12+n   8  count: rows in the data file
 *   20+n   .. the keys in row-position order: width bytes each, or, when
 *             variable, a LEB128 length (<= INDEX_KEY_MAX, at most 3 bytes,
 *             minimal) followed by that many bytes
 *   end-4  4  CRC32C of every byte before it
 * A file is valid iff the CRC matches, magic and version are these, the
 * flags are 0 or 1, the columns are 1..16 (1..255 with flag 1), the classes
 * are known (floats and lists, 0x40 | the element's class, only with
 * flag 1), the width is what the classes give
 * (0 with flag 1), the keys fill the body exactly (count keys, no byte
 * left over) and count <= INDEX_POS_MAX + 1. Files of unique-key indexes
 * are byte for byte what they were before full-row keys existed. */

typedef struct index_fidx {
	index_keydesc kd;
	buf out;     /* the file so far */
	buf scratch; /* index_fidx_add_row's encoded key */
	uint64_t count;
} index_fidx;

/* Starts a key list (in memory) for a data file with keys described by kd. */
void index_fidx_begin(index_fidx *w, const index_keydesc *kd);
/* Appends the key of the next row position (an encoded key of kd's shape;
 * FLOE_EINVAL otherwise, FLOE_ENOMEM). */
int index_fidx_add(index_fidx *w, const uint8_t *key, size_t len);
/* Appends the key of row `row` of b as the next row position
 * (index_key_encode's errors). */
int index_fidx_add_row(index_fidx *w, const batch *b, size_t row, char *err);
/* index_fidx_add_row for every row of b, in order. */
int index_fidx_add_rows(index_fidx *w, const batch *b, char *err);
/* Finishes the file and writes it durably (fs_put_durable: written, fsynced,
 * renamed, directory fsynced). Releases w's memory whatever happens. */
int index_fidx_commit(index_fidx *w, const char *path, char *err);
/* Drops an unfinished key list. */
void index_fidx_abandon(index_fidx *w);

/* Answers whether row position pos of the data file is deleted (its
 * deletion vector); 1 = deleted, 0 = live. */
typedef int (*index_deleted_fn)(void *arg, uint64_t pos);

/* Adds every not-deleted row of the key list at path as
 * key -> index_loc_file(file_id, pos). is_deleted may be NULL (none deleted).
 * *rows_out (may be NULL) = the rows the file lists, for comparing with the
 * data file's record count.
 * All or nothing: on any error the index is as before. Errors:
 * FLOE_ENOTFOUND / FLOE_EIO (reading), FLOE_ECORRUPT (the file is damaged or
 * not a key list; message names the path and what is wrong), FLOE_EINVAL
 * (file_id out of range, or the file's key columns or flags differ from
 * the index's), FLOE_EEXIST (a live key is already in the index: the
 * table's deletion vectors and key lists disagree; never on a multi index,
 * which adds each live row as one more copy of its key, after the copies
 * already there, in position order), FLOE_ENOMEM. */
int index_load_file(index_map *ix, const char *path, uint32_t file_id, index_deleted_fn is_deleted,
                    void *arg, uint64_t *rows_out, char *err);
/* The same for a key list already in memory (data, len); `name` is used in
 * messages. The bytes are only read during the call. */
int index_load_bytes(index_map *ix, const uint8_t *data, size_t len, const char *name,
                     uint32_t file_id, index_deleted_fn is_deleted, void *arg, uint64_t *rows_out,
                     char *err);

#endif
