/*
 * index_mem — the primary-key index's memory and speed for int64 keys,
 * against two plain peers in the same run.
 *
 *   index_mem [KEYS] [DIR]       (KEYS default 50,000,000; DIR bench/out)
 *
 * Keys are 0 .. KEYS-1 in a shuffled order (a bijective mix of the counter,
 * cycle-walked into range, so no key array is held while the index is
 * measured). Reported:
 *   - bytes/key by index_mem_bytes and by RSS growth (/proc/self/status),
 *     and the peak RSS growth while building (includes the doublings);
 *   - insert rate, twice: "direct" (index_key_int64 + index_put per key,
 *     file locations) and "batch" (the writer's path: 4096-row batches,
 *     index_key_encode per row, index_lookup_many over the batch, then
 *     index_put per row, memory locations);
 *   - lookup rate for 5M present + 5M absent keys, one index_lookup per
 *     key and index_lookup_many over 2048 keys at a time;
 *   - save + reload of 10,000,000 keys as 10 .fidx files of 1M rows
 *     (fsynced; 1% of positions deleted by the predicate on reload), from
 *     the page cache and after posix_fadvise(DONTNEED) dropped the files
 *     from it (the "restart after a reboot" case, as far as a process can
 *     arrange it), with and without index_reserve.
 * Peers, on the same keys: a sorted array of the keys + binary search (8
 * bytes/key, the lower bound for holding the keys at all; it has no
 * locations and no updates) built with qsort, and a minimal open-addressing
 * map (int64 -> uint64, linear probing, pre-sized to load <= 0.7, no
 * deletes, no resizes: what a hand-rolled single-purpose map costs; its
 * insert time includes allocating and clearing its arrays, since on this
 * VM the first touch of a page costs ~12 us, ~0.8 s per 256 MB).
 * Exit status 1 if any lookup gives a wrong answer.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/err.h"
#include "storage/fs.h"
#include "table/index.h"

#define LOOKUPS    5000000
#define BATCH      4096
#define SAVE_KEYS  10000000
#define SAVE_FILES 10

static uint64_t nkeys;
static unsigned dom_bits;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* kB of a /proc/self/status field ("VmRSS", "VmHWM"). */
static long proc_kb(const char *field)
{
	char line[256];
	long v = -1;
	size_t n = strlen(field);
	FILE *f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

/* Resets VmHWM to the current RSS (Linux >= 4.0). */
static void reset_peak(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "5", 1) != 1)
			fprintf(stderr, "clear_refs: peak RSS not reset\n");
		close(fd);
	}
}

/* A bijection of [0, 2^dom_bits): odd multiplies and xor-shifts stay
 * bijective modulo a power of two. */
static uint64_t mix_once(uint64_t x)
{
	uint64_t m = (UINT64_C(1) << dom_bits) - 1;
	x = (x * UINT64_C(0x9e3779b97f4a7c15)) & m;
	x ^= x >> (dom_bits / 2 + 1);
	x = (x * UINT64_C(0xc2b2ae3d27d4eb4f)) & m;
	x ^= x >> (dom_bits / 2 + 1);
	return x;
}

/* The i-th key: cycle-walking keeps the bijection inside [0, nkeys). */
static uint64_t key_of(uint64_t i)
{
	do
		i = mix_once(i);
	while (i >= nkeys);
	return i;
}

static uint64_t rng = 0x2545f4914f6cdd1du;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void encode(uint8_t *k, uint64_t v)
{
	index_key_int64(k, (int64_t)v);
}

static uint64_t loc_of(uint64_t key)
{
	return index_loc_file((uint32_t)(key >> 20), key & 0xfffff);
}

static _Noreturn void die(const char *what, int rc, const char *err)
{
	fprintf(stderr, "index_mem: %s: %d %s\n", what, rc, err ? err : "");
	exit(1);
}

/* Lookups of LOOKUPS present and LOOKUPS absent keys through `find`, which
 * returns the location or INDEX_LOC_NONE. Returns keys/s; exits on a
 * wrong answer. */
static double lookup_rate(uint64_t (*find)(void *, uint64_t), void *ctx)
{
	rng = 0x2545f4914f6cdd1du;
	double t = now();
	for (int i = 0; i < LOOKUPS; i++) {
		uint64_t k = key_of(rnd() % nkeys);
		if (find(ctx, k) != loc_of(k))
			die("lookup of a present key", -1, NULL);
		if (find(ctx, nkeys + rnd() % nkeys) != INDEX_LOC_NONE)
			die("lookup of an absent key", -1, NULL);
	}
	return 2.0 * LOOKUPS / (now() - t);
}

/* The same lookups through index_lookup_many, 2048 keys at a time. */
static double lookup_rate_many(const index_map *ix)
{
	enum { M = 1024 };
	static uint8_t keys[2 * M * 8];
	static uint64_t want[2 * M], locs[2 * M];
	rng = 0x2545f4914f6cdd1du;
	double t = now();
	for (int i = 0; i < LOOKUPS; i += M) {
		for (int j = 0; j < M; j++) {
			uint64_t k = key_of(rnd() % nkeys);
			encode(keys + 16 * j, k);
			want[2 * j] = loc_of(k);
			encode(keys + 16 * j + 8, nkeys + rnd() % nkeys);
			want[2 * j + 1] = INDEX_LOC_NONE;
		}
		if (index_lookup_many(ix, keys, NULL, 2 * M, locs))
			die("index_lookup_many", -1, NULL);
		for (int j = 0; j < 2 * M; j++)
			if (locs[j] != want[j])
				die("index_lookup_many: wrong location", -1, NULL);
	}
	return 2.0 * LOOKUPS / (now() - t);
}

/* The writer's path: rows arrive in batches; each row's key is encoded from
 * the batch, the batch's keys are looked up together (an insert must know
 * whether the key exists), then put. Returns keys/s. */
static double insert_batches(index_map *ix, const floe_schema *schema, const index_keydesc *kd)
{
	char err[ERR_LEN];
	batch b;
	buf key = {0};
	static uint8_t keys[BATCH * 8];
	static uint64_t locs[BATCH];
	if (batch_init(&b, schema))
		die("batch_init", FLOE_ENOMEM, NULL);
	double t = now();
	for (uint64_t i = 0; i < nkeys; i += BATCH) {
		size_t n = nkeys - i < BATCH ? (size_t)(nkeys - i) : BATCH;
		batch_reset(&b);
		for (size_t r = 0; r < n; r++) {
			batch_row_begin(&b);
			batch_set_i64(&b, 0, (int64_t)key_of(i + r));
			batch_row_commit(&b);
		}
		for (size_t r = 0; r < n; r++) {
			int rc = index_key_encode(kd, &b, r, &key, err);
			if (rc)
				die("index_key_encode", rc, err);
			memcpy(keys + 8 * r, key.data, 8);
		}
		if (index_lookup_many(ix, keys, NULL, n, locs))
			die("index_lookup_many", -1, NULL);
		for (size_t r = 0; r < n; r++) {
			if (locs[r] != INDEX_LOC_NONE)
				die("insert of an existing key", -1, NULL);
			int rc = index_put(ix, keys + 8 * r, 8, index_loc_mem(i + r), NULL);
			if (rc)
				die("index_put", rc, NULL);
		}
	}
	double rate = (double)nkeys / (now() - t);
	batch_clear(&b);
	buf_release(&key);
	return rate;
}

static uint64_t find_index(void *ctx, uint64_t key)
{
	uint8_t k[8];
	uint64_t loc;
	encode(k, key);
	if (index_lookup(ctx, k, 8, &loc))
		die("index_lookup", -1, NULL);
	return loc;
}

/* ---- peer 1: sorted array + binary search -------------------------------- */

typedef struct sorted {
	uint64_t *keys;
	size_t n;
} sorted;

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static uint64_t find_sorted(void *ctx, uint64_t key)
{
	const sorted *s = ctx;
	size_t lo = 0, n = s->n;
	while (n > 1) {
		size_t half = n / 2;
		lo = s->keys[lo + half] <= key ? lo + half : lo;
		n -= half;
	}
	/* A location would live in a parallel array; derive it here. */
	return s->n && s->keys[lo] == key ? loc_of(key) : INDEX_LOC_NONE;
}

/* ---- peer 2: a minimal int64 -> uint64 linear-probing map ---------------- */

typedef struct plain_map {
	uint64_t *keys, *vals;
	size_t mask;
} plain_map;

#define PLAIN_EMPTY UINT64_MAX

static size_t plain_home(const plain_map *m, uint64_t key)
{
	uint64_t h = key * UINT64_C(0x9e3779b97f4a7c15);
	return (size_t)(h ^ h >> 29) & m->mask;
}

static void plain_put(plain_map *m, uint64_t key, uint64_t val)
{
	size_t i = plain_home(m, key);
	while (m->keys[i] != PLAIN_EMPTY && m->keys[i] != key)
		i = (i + 1) & m->mask;
	m->keys[i] = key;
	m->vals[i] = val;
}

static uint64_t find_plain(void *ctx, uint64_t key)
{
	const plain_map *m = ctx;
	for (size_t i = plain_home(m, key);; i = (i + 1) & m->mask) {
		if (m->keys[i] == key)
			return m->vals[i];
		if (m->keys[i] == PLAIN_EMPTY)
			return INDEX_LOC_NONE;
	}
}

/* ---- save + reload ------------------------------------------------------- */

static int every_100th(void *arg, uint64_t pos)
{
	(void)arg;
	return pos % 100 == 0;
}

static void fidx_path(char *out, const char *dir, int f)
{
	char err[ERR_LEN];
	if (fs_pathf(out, 4096, err, "%s/index_mem-%d.fidx", dir, f))
		die("path", FLOE_EINVAL, err);
}

static double save_files(const index_keydesc *kd, const char *dir)
{
	char err[ERR_LEN], path[4096];
	double t = now();
	uint64_t per = SAVE_KEYS / SAVE_FILES;
	for (int f = 0; f < SAVE_FILES; f++) {
		index_fidx w;
		index_fidx_begin(&w, kd);
		for (uint64_t p = 0; p < per; p++) {
			uint8_t k[8];
			encode(k, key_of((uint64_t)f * per + p));
			int rc = index_fidx_add(&w, k, 8);
			if (rc)
				die("index_fidx_add", rc, NULL);
		}
		fidx_path(path, dir, f);
		int rc = index_fidx_commit(&w, path, err);
		if (rc)
			die("index_fidx_commit", rc, err);
	}
	return now() - t;
}

static void drop_cache(const char *dir)
{
	char path[4096];
	for (int f = 0; f < SAVE_FILES; f++) {
		fidx_path(path, dir, f);
		int fd = open(path, O_RDONLY);
		if (fd >= 0) {
			posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
			close(fd);
		}
	}
}

/* A restart: a new index filled from the files; returns seconds. */
static double reload(const index_keydesc *kd, const char *dir, int reserve)
{
	char err[ERR_LEN], path[4096];
	index_map *ix;
	double t = now();
	int rc = index_new(kd, &ix);
	if (rc == 0 && reserve)
		rc = index_reserve(ix, SAVE_KEYS);
	if (rc)
		die("index_new", rc, NULL);
	uint64_t per = SAVE_KEYS / SAVE_FILES;
	for (int f = 0; f < SAVE_FILES; f++) {
		fidx_path(path, dir, f);
		uint64_t rows;
		rc = index_load_file(ix, path, (uint32_t)f, every_100th, NULL, &rows, err);
		if (rc || rows != per)
			die("index_load_file", rc, err);
	}
	double s = now() - t;
	if (index_count(ix) != SAVE_KEYS - SAVE_KEYS / 100)
		die("reload count", -1, NULL);
	uint8_t k[8];
	uint64_t loc;
	encode(k, key_of(per + 1)); /* file 1, position 1 */
	if (index_lookup(ix, k, 8, &loc) || loc != index_loc_file(1, 1))
		die("reload lookup", -1, NULL);
	index_free(ix);
	return s;
}

int main(int argc, char **argv)
{
	char err[ERR_LEN];
	nkeys = argc > 1 ? strtoull(argv[1], NULL, 10) : 50000000;
	const char *dir = argc > 2 ? argv[2] : "bench/out";
	if (nkeys < SAVE_KEYS)
		die("KEYS must be >= 10000000", FLOE_EINVAL, NULL);
	for (dom_bits = 1; (UINT64_C(1) << dom_bits) < nkeys; dom_bits++)
		;
	int rc = fs_mkdirs(dir, err);
	if (rc)
		die("mkdir", rc, err);

	floe_column col = {.name = "id", .type = FT_INT64};
	floe_schema schema = {1, &col};
	index_keydesc kd;
	if ((rc = index_keydesc_init(&kd, &schema, (int[]){0}, 1, err)))
		die("keydesc", rc, err);

	/* ---- floe's index */
	long rss0 = proc_kb("VmRSS");
	reset_peak();
	index_map *ix;
	if ((rc = index_new(&kd, &ix)))
		die("index_new", rc, NULL);
	double t = now();
	for (uint64_t i = 0; i < nkeys; i++) {
		uint8_t k[8];
		uint64_t key = key_of(i);
		encode(k, key);
		if ((rc = index_put(ix, k, 8, loc_of(key), NULL)))
			die("index_put", rc, NULL);
	}
	double ins = (double)nkeys / (now() - t);
	double ix_bytes = (double)index_mem_bytes(ix) / (double)nkeys;
	double ix_rss = (double)(proc_kb("VmRSS") - rss0) * 1024 / (double)nkeys;
	double ix_peak = (double)(proc_kb("VmHWM") - rss0) * 1024 / (double)nkeys;
	double ix_look = lookup_rate(find_index, ix);
	double ix_many = lookup_rate_many(ix);
	index_free(ix);
	if ((rc = index_new(&kd, &ix)))
		die("index_new", rc, NULL);
	double ins_batch = insert_batches(ix, &schema, &kd);
	if (index_count(ix) != nkeys || index_mem_count(ix) != nkeys)
		die("batch insert count", -1, NULL);
	index_free(ix);
	printf("floe index : %" PRIu64 " int64 keys\n", nkeys);
	printf("  bytes/key  %.1f (index_mem_bytes)  %.1f (RSS)  peak while building %.1f (RSS)\n",
	       ix_bytes, ix_rss, ix_peak);
	printf(
	    "  insert     %.2f M keys/s direct, %.2f M keys/s batch (encode + lookup_many + put)\n",
	    ins / 1e6, ins_batch / 1e6);
	printf("  lookup     %.2f M keys/s one at a time, %.2f M keys/s index_lookup_many "
	       "(half present, half absent)\n",
	       ix_look / 1e6, ix_many / 1e6);

	/* ---- save + reload 10M keys */
	double save = save_files(&kd, dir);
	double warm = reload(&kd, dir, 1);
	double warm_nores = reload(&kd, dir, 0);
	drop_cache(dir);
	double cold = reload(&kd, dir, 1);
	printf("  save 10M keys to %d .fidx files (fsynced): %.2f s\n", SAVE_FILES, save);
	printf("  reload 10M keys (1%% deleted): %.2f s from page cache, %.2f s without "
	       "index_reserve, %.2f s after dropping the files from the cache\n",
	       warm, warm_nores, cold);
	for (int f = 0; f < SAVE_FILES; f++) {
		char path[4096];
		fidx_path(path, dir, f);
		unlink(path);
	}

	/* ---- peer 1: sorted array */
	rss0 = proc_kb("VmRSS");
	reset_peak();
	sorted s = {malloc(nkeys * sizeof(uint64_t)), nkeys};
	if (!s.keys)
		die("malloc", FLOE_ENOMEM, NULL);
	t = now();
	for (uint64_t i = 0; i < nkeys; i++)
		s.keys[i] = key_of(i);
	qsort(s.keys, nkeys, sizeof *s.keys, cmp_u64);
	double s_build = (double)nkeys / (now() - t);
	double s_rss = (double)(proc_kb("VmRSS") - rss0) * 1024 / (double)nkeys;
	double s_look = lookup_rate(find_sorted, &s);
	free(s.keys);
	printf(
	    "sorted array: bytes/key 8.0 (RSS %.1f; keys only, no locations), build %.2f M keys/s "
	    "(qsort), lookup %.2f M keys/s\n",
	    s_rss, s_build / 1e6, s_look / 1e6);

	/* ---- peer 2: minimal hash map */
	rss0 = proc_kb("VmRSS");
	reset_peak();
	size_t cap = 16;
	while ((double)nkeys > 0.7 * (double)cap)
		cap *= 2;
	t = now(); /* its allocation counts: first touches of pages are dear here */
	plain_map m = {malloc(cap * 8), malloc(cap * 8), cap - 1};
	if (!m.keys || !m.vals)
		die("malloc", FLOE_ENOMEM, NULL);
	memset(m.keys, 0xff, cap * 8);
	for (uint64_t i = 0; i < nkeys; i++) {
		uint64_t key = key_of(i);
		plain_put(&m, key, loc_of(key));
	}
	double p_ins = (double)nkeys / (now() - t);
	double p_bytes = (double)cap * 16 / (double)nkeys;
	double p_rss = (double)(proc_kb("VmRSS") - rss0) * 1024 / (double)nkeys;
	double p_look = lookup_rate(find_plain, &m);
	free(m.keys);
	free(m.vals);
	printf(
	    "plain map   : bytes/key %.1f (RSS %.1f; pre-sized, no deletes), insert %.2f M keys/s, "
	    "lookup %.2f M keys/s\n",
	    p_bytes, p_rss, p_ins / 1e6, p_look / 1e6);

	printf("ratios: floe bytes/key / sorted array = %.2f, / plain map = %.2f; "
	       "lookup rate (one at a time) floe / sorted array = %.2f, / plain map = %.2f; "
	       "insert rate (direct) floe / plain map = %.2f\n",
	       ix_bytes / 8.0, ix_bytes / p_bytes, ix_look / s_look, ix_look / p_look, ins / p_ins);
	return 0;
}
