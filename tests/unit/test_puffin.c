/*
 * test_puffin — the Puffin writer and reader, with deletion-vector blobs.
 *
 * The whole file byte for byte for one DV (the spec's footer JSON); several
 * DVs whose offsets and lengths must point exactly at their blob bytes;
 * generic blobs; a reader that rejects every truncation and each broken
 * footer rule; writer failures (sink errors poison the writer, bad
 * arguments). Last, the house rule: a file with DVs of every container shape
 * is read by tests/tools/dv_check.py, a decoder written from the specs that
 * shares no code with floe, and its positions must equal what was written.
 */
#include <inttypes.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/dv.h"
#include "format/puffin.h"

/* ---- helpers ------------------------------------------------------------ */

static dv *t_dv_range(uint64_t first, uint64_t count, uint64_t step)
{
	dv *d;
	assert_int_equal(dv_new(&d), 0);
	for (uint64_t i = 0; i < count; i++)
		assert_int_equal(dv_add(d, first + i * step), 0);
	return d;
}

static void t_add(dv *d, uint64_t pos)
{
	assert_int_equal(dv_add(d, pos), 0);
}

static void t_merge(dv *d, dv *part)
{
	assert_int_equal(dv_union(d, part), 0);
	dv_free(part);
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

static void t_assert_same(const dv *a, const dv *b)
{
	struct t_list la = {0}, lb = {0};
	assert_int_equal(dv_iterate(a, t_collect_one, &la), 0);
	assert_int_equal(dv_iterate(b, t_collect_one, &lb), 0);
	assert_int_equal(la.n, lb.n);
	if (la.n)
		assert_memory_equal(la.v, lb.v, la.n * sizeof *la.v);
	free(la.v);
	free(lb.v);
}

/* The DVs the multi-blob tests write: every container shape, several keys,
 * both portable header variants, a non-ASCII path. */
#define T_NDV 6
static const char *const t_refs[T_NDV] = {
    "file:///t/data/a.parquet", "file:///t/data/b.parquet",
    "file:///t/data/c.parquet", "file:///t/data/d.parquet",
    "file:///t/data/e.parquet", "s3://bucket/t/data/f g \xc3\xbc/x.parquet",
};

static void t_make_dvs(dv *dvs[T_NDV])
{
	const uint64_t k = UINT64_C(1) << 32;
	dvs[0] = t_dv_range(1, 3, 2);    /* array {1,3,5} */
	dvs[1] = t_dv_range(0, 5000, 1); /* one run */
	dvs[2] = t_dv_range(0, 4097, 2); /* bitset */
	dvs[3] = t_dv_range(5, 1, 1);    /* across 32-bit keys */
	t_add(dvs[3], k + 7);
	t_add(dvs[3], 3 * k);
	t_add(dvs[3], DV_MAX_POSITION);
	dvs[4] = t_dv_range(0, 100, 1); /* run, array, bitset, run: offsets with runs */
	t_merge(dvs[4], t_dv_range(65536 + 1, 2, 2));
	t_merge(dvs[4], t_dv_range(2 * 65536, 4097, 2));
	t_merge(dvs[4], t_dv_range(3 * 65536, 65536, 1));
	t_merge(dvs[4], t_dv_range(5 * k + 17, 3000, 7)); /* second key: arrays */
	dvs[5] = t_dv_range(123456789, 1, 1);
}

static void t_free_dvs(dv *dvs[T_NDV])
{
	for (int i = 0; i < T_NDV; i++)
		dv_free(dvs[i]);
}

/* Writes the T_NDV DVs into out; pos[] gets where each landed. */
static void t_write_dvs(dv *dvs[T_NDV], buf *out, puffin_blob_pos pos[T_NDV], uint64_t *size)
{
	char err[ERR_LEN] = "";
	puffin_writer *w;
	assert_int_equal(puffin_writer_open(puffin_buf_sink, out, "floe test", &w, err), 0);
	for (int i = 0; i < T_NDV; i++)
		if (puffin_writer_add_dv(w, t_refs[i], dvs[i], &pos[i], err))
			fail_msg("add_dv %d: %s", i, err);
	assert_int_equal(puffin_writer_close(w, size, err), 0);
}

/* A file of raw blob bytes and a hand-written footer JSON, flags as given. */
static void t_file(buf *f, const uint8_t *blob, size_t n, const char *json, uint32_t flags)
{
	buf_reset(f);
	buf_append(f, PUFFIN_MAGIC, 4);
	buf_append(f, blob, n);
	buf_append(f, PUFFIN_MAGIC, 4);
	buf_append_str(f, json);
	buf_put_le32(f, (uint32_t)strlen(json));
	buf_put_le32(f, flags);
	buf_append(f, PUFFIN_MAGIC, 4);
	assert_true(buf_ok(f));
}

static int t_open(const buf *f, puffin_file **pf, char *err)
{
	*pf = NULL;
	int rc = puffin_open(f->data, f->len, pf, err);
	if (rc)
		assert_null(*pf);
	return rc;
}

/* The worked example blob ({1,3,5}) from the spec. */
static const uint8_t t_blob135[46] = {
    0x00, 0x00, 0x00, 0x26, 0xd1, 0xd3, 0x39, 0x64, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x3a, 0x30, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00,
    0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x03, 0x00, 0x05, 0x00, 0x5a, 0x9e, 0x5d, 0x39};

#define T_DV_ENTRY(off, len, props)                                                                \
	"{\"type\":\"deletion-vector-v1\",\"fields\":[2147483645],\"snapshot-id\":-1,"             \
	"\"sequence-number\":-1,\"offset\":" off ",\"length\":" len ",\"properties\":" props "}"
#define T_DV_PROPS "{\"referenced-data-file\":\"file:///tmp/x.parquet\",\"cardinality\":\"3\"}"

/* ---- writer ------------------------------------------------------------------ */

static void test_exact_file(void **state)
{
	(void)state;
	/* The spec's footer, byte for byte. */
	const char *footer =
	    "{\"blobs\":[{\"type\":\"deletion-vector-v1\",\"fields\":[2147483645],"
	    "\"snapshot-id\":-1,\"sequence-number\":-1,\"offset\":4,\"length\":46,"
	    "\"properties\":{\"referenced-data-file\":\"file:///tmp/x.parquet\","
	    "\"cardinality\":\"3\"}}],\"properties\":{\"created-by\":\"floe 0.1\"}}";
	buf want = {0}, got = {0};
	t_file(&want, t_blob135, sizeof t_blob135, footer, 0);

	dv *d = t_dv_range(1, 3, 2);
	char err[ERR_LEN] = "";
	puffin_writer *w;
	puffin_blob_pos pos;
	uint64_t size = 0;
	assert_int_equal(puffin_writer_open(puffin_buf_sink, &got, "floe 0.1", &w, err), 0);
	assert_int_equal(puffin_writer_add_dv(w, "file:///tmp/x.parquet", d, &pos, err), 0);
	assert_int_equal(puffin_writer_close(w, &size, err), 0);

	assert_int_equal(pos.offset, 4);
	assert_int_equal(pos.length, 46);
	assert_int_equal(size, got.len);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	/* The tail: payload size (LE), flags 0, magic. */
	assert_int_equal(get_le32(got.data + got.len - 12), strlen(footer));
	assert_int_equal(get_le32(got.data + got.len - 8), 0);
	dv_free(d);
	buf_release(&want);
	buf_release(&got);
}

static void test_no_blobs(void **state)
{
	(void)state;
	buf got = {0};
	char err[ERR_LEN] = "";
	puffin_writer *w;
	uint64_t size;
	assert_int_equal(puffin_writer_open(puffin_buf_sink, &got, NULL, &w, err), 0);
	assert_int_equal(puffin_writer_close(w, &size, err), 0);
	const char *json = "{\"blobs\":[],\"properties\":{\"created-by\":\"floe\"}}";
	buf want = {0};
	t_file(&want, NULL, 0, json, 0);
	assert_int_equal(size, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	puffin_file *f;
	assert_int_equal(t_open(&got, &f, err), 0);
	assert_int_equal(puffin_blob_count(f), 0);
	assert_null(puffin_blob_at(f, 0));
	assert_string_equal(puffin_file_prop(f, "created-by"), "floe");
	puffin_close(f);
	puffin_close(NULL);
	buf_release(&got);
	buf_release(&want);
}

static void test_several_dvs(void **state)
{
	(void)state;
	dv *dvs[T_NDV];
	t_make_dvs(dvs);
	buf file = {0}, one = {0};
	puffin_blob_pos pos[T_NDV];
	uint64_t size;
	t_write_dvs(dvs, &file, pos, &size);
	assert_int_equal(size, file.len);

	/* Blobs back to back from offset 4, each exactly its own DV's bytes. */
	uint64_t expect = 4;
	for (int i = 0; i < T_NDV; i++) {
		assert_int_equal(pos[i].offset, expect);
		buf_reset(&one);
		assert_int_equal(dv_serialize_blob(dvs[i], &one), 0);
		assert_int_equal(pos[i].length, one.len);
		assert_memory_equal(file.data + pos[i].offset, one.data, one.len);
		/* What Java checks: length field == content_size_in_bytes - 8. */
		assert_int_equal(get_be32(file.data + pos[i].offset), pos[i].length - 8);
		expect += pos[i].length;
	}
	assert_memory_equal(file.data + expect, PUFFIN_MAGIC, 4); /* footer starts */

	char err[ERR_LEN] = "";
	puffin_file *f;
	assert_int_equal(t_open(&file, &f, err), 0);
	assert_int_equal(puffin_blob_count(f), T_NDV);
	assert_string_equal(puffin_file_prop(f, "created-by"), "floe test");
	assert_null(puffin_file_prop(f, "nope"));
	for (size_t i = 0; i < T_NDV; i++) {
		const puffin_blob *b = puffin_blob_at(f, i);
		assert_string_equal(b->type, PUFFIN_DV_TYPE);
		assert_int_equal(b->nfields, 1);
		assert_int_equal(b->fields[0], PUFFIN_DV_FIELD);
		assert_int_equal(b->snapshot_id, -1);
		assert_int_equal(b->sequence_number, -1);
		assert_null(b->compression_codec);
		assert_int_equal(b->offset, pos[i].offset);
		assert_int_equal(b->length, pos[i].length);
		assert_int_equal(b->nprops, 2);
		assert_string_equal(puffin_blob_prop(b, "referenced-data-file"), t_refs[i]);
		char card[24];
		snprintf(card, sizeof card, "%" PRIu64, dv_cardinality(dvs[i]));
		assert_string_equal(puffin_blob_prop(b, "cardinality"), card);
		const uint8_t *p;
		size_t n;
		assert_int_equal(puffin_blob_data(f, i, &p, &n, err), 0);
		assert_ptr_equal(p, file.data + pos[i].offset);
		assert_int_equal(n, pos[i].length);
		dv *back;
		if (puffin_read_dv(f, i, &back, err))
			fail_msg("read_dv %zu: %s", i, err);
		t_assert_same(dvs[i], back);
		dv_free(back);
	}
	assert_int_equal(puffin_blob_data(f, T_NDV, &(const uint8_t *){0}, &(size_t){0}, err),
	                 FLOE_EINVAL);
	puffin_close(f);
	t_free_dvs(dvs);
	buf_release(&file);
	buf_release(&one);
}

static void test_generic_blobs(void **state)
{
	(void)state;
	buf file = {0};
	char err[ERR_LEN] = "";
	puffin_writer *w;
	const int32_t fields[] = {1, 2};
	const puffin_kv props[] = {{"ndv", "10"}};
	const puffin_blob theta = {.type = "apache-datasketches-theta-v1",
	                           .fields = fields,
	                           .nfields = 2,
	                           .snapshot_id = 7,
	                           .sequence_number = 3,
	                           .props = props,
	                           .nprops = 1};
	const puffin_blob bare = {.type = "x-empty"};
	const uint8_t sketch[] = "sketch bytes";
	puffin_blob_pos p1, p2, p3;
	dv *d = t_dv_range(9, 2, 1);
	assert_int_equal(puffin_writer_open(puffin_buf_sink, &file, "t", &w, err), 0);
	assert_int_equal(puffin_writer_add_blob(w, &theta, sketch, 12, &p1, err), 0);
	assert_int_equal(puffin_writer_add_blob(w, &bare, NULL, 0, &p2, err), 0);
	assert_int_equal(puffin_writer_add_dv(w, "file:///d.parquet", d, &p3, err), 0);
	assert_int_equal(puffin_writer_close(w, NULL, err), 0);
	assert_int_equal(p1.offset, 4);
	assert_int_equal(p2.offset, 16);
	assert_int_equal(p2.length, 0);
	assert_int_equal(p3.offset, 16);
	/* A blob without properties has no "properties" member. */
	const char *entry = "{\"type\":\"x-empty\",\"fields\":[],\"snapshot-id\":0,"
	                    "\"sequence-number\":0,\"offset\":16,\"length\":0}";
	assert_non_null(memmem(file.data, file.len, entry, strlen(entry)));

	puffin_file *f;
	assert_int_equal(t_open(&file, &f, err), 0);
	assert_int_equal(puffin_blob_count(f), 3);
	const puffin_blob *b = puffin_blob_at(f, 0);
	assert_string_equal(b->type, "apache-datasketches-theta-v1");
	assert_int_equal(b->nfields, 2);
	assert_int_equal(b->fields[1], 2);
	assert_int_equal(b->snapshot_id, 7);
	assert_int_equal(b->sequence_number, 3);
	assert_string_equal(puffin_blob_prop(b, "ndv"), "10");
	const uint8_t *p;
	size_t n;
	assert_int_equal(puffin_blob_data(f, 0, &p, &n, err), 0);
	assert_int_equal(n, 12);
	assert_memory_equal(p, "sketch bytes", 12);
	assert_int_equal(puffin_blob_at(f, 1)->nprops, 0);
	dv *back;
	assert_int_equal(puffin_read_dv(f, 0, &back, err), FLOE_EINVAL);
	assert_null(back);
	assert_int_equal(puffin_read_dv(f, 2, &back, err), 0);
	t_assert_same(d, back);
	dv_free(back);
	puffin_close(f);
	dv_free(d);
	buf_release(&file);
}

/* A sink that fails on its fail_at-th call (1-based). */
struct t_sink {
	buf out;
	int calls;
	int fail_at;
};

static int t_failing_sink(void *ctx, const void *data, size_t n, char *err)
{
	struct t_sink *s = ctx;
	if (++s->calls == s->fail_at)
		return errf(err, FLOE_ENOSPC, "disk full (test)");
	return puffin_buf_sink(&s->out, data, n, err);
}

static void test_writer_errors(void **state)
{
	(void)state;
	char err[ERR_LEN] = "";
	dv *d = t_dv_range(1, 3, 2);
	puffin_writer *w;

	/* The leading magic cannot be written: nothing is left allocated. */
	struct t_sink s = {.fail_at = 1};
	w = (puffin_writer *)&s;
	assert_int_equal(puffin_writer_open(t_failing_sink, &s, NULL, &w, err), FLOE_ENOSPC);
	assert_null(w);

	/* A blob's bytes cannot be written: the writer is poisoned. */
	for (int fail_at = 2; fail_at <= 3; fail_at++) {
		struct t_sink s2 = {.fail_at = fail_at};
		assert_int_equal(puffin_writer_open(t_failing_sink, &s2, NULL, &w, err), 0);
		int rc = puffin_writer_add_dv(w, "file:///a", d, NULL, err);
		if (fail_at == 2) {
			assert_int_equal(rc, FLOE_ENOSPC);
			assert_string_equal(err, "disk full (test)");
			assert_int_equal(puffin_writer_add_dv(w, "file:///b", d, NULL, err),
			                 FLOE_ENOSPC);
			assert_non_null(strstr(err, "failed earlier"));
		} else {
			assert_int_equal(rc, 0); /* the footer fails instead */
		}
		assert_int_equal(puffin_writer_close(w, NULL, err), FLOE_ENOSPC);
		buf_release(&s2.out);
	}

	/* Bad arguments. */
	buf out = {0};
	const puffin_blob notype = {.type = NULL};
	const puffin_blob zstd = {.type = "t", .compression_codec = "zstd"};
	const puffin_kv dup[] = {{"a", "1"}, {"a", "2"}};
	const puffin_blob dupprops = {.type = "t", .props = dup, .nprops = 2};
	const puffin_kv badval[] = {{"a", "\xff"}};
	const puffin_blob badutf8 = {.type = "t", .props = badval, .nprops = 1};
	struct {
		const char *ref;
		const puffin_blob *desc;
	} bad[] = {
	    {"", NULL},
	    {NULL, NULL},
	    {"file:///\xc3(", NULL},            /* broken sequence */
	    {"file:///\xed\xa0\x80", NULL},     /* surrogate */
	    {"file:///\xc0\xaf", NULL},         /* overlong '/' */
	    {"file:///\xf4\x90\x80\x80", NULL}, /* past U+10FFFF */
	    {NULL, &notype},
	    {NULL, &zstd},
	    {NULL, &dupprops},
	    {NULL, &badutf8},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		buf_reset(&out);
		assert_int_equal(puffin_writer_open(puffin_buf_sink, &out, NULL, &w, err), 0);
		int rc = bad[i].desc ? puffin_writer_add_blob(w, bad[i].desc, NULL, 0, NULL, err)
		                     : puffin_writer_add_dv(w, bad[i].ref, d, NULL, err);
		if (rc != FLOE_EINVAL)
			fail_msg("case %zu: rc %d (%s)", i, rc, err);
		puffin_writer_abort(w);
	}
	assert_int_equal(puffin_writer_open(puffin_buf_sink, &out, "\xff", &w, err), FLOE_EINVAL);
	assert_null(w);
	/* Valid non-ASCII is copied as is. */
	buf_reset(&out);
	assert_int_equal(puffin_writer_open(puffin_buf_sink, &out, NULL, &w, err), 0);
	assert_int_equal(puffin_writer_add_dv(w, "file:///\xf0\x9f\x90\xa7.parquet", d, NULL, err),
	                 0);
	assert_int_equal(puffin_writer_close(w, NULL, err), 0);
	const char *path = "\"file:///\xf0\x9f\x90\xa7.parquet\"";
	assert_non_null(memmem(out.data, out.len, path, strlen(path)));
	puffin_writer_abort(NULL);
	dv_free(d);
	buf_release(&out);
}

/* ---- reader ------------------------------------------------------------------ */

static void test_reader_truncations(void **state)
{
	(void)state;
	dv *dvs[T_NDV];
	t_make_dvs(dvs);
	buf file = {0};
	puffin_blob_pos pos[T_NDV];
	uint64_t size;
	t_write_dvs(dvs, &file, pos, &size);
	char err[ERR_LEN];
	for (size_t n = 0; n < file.len; n++) {
		uint8_t *cut = malloc(n ? n : 1);
		assert_non_null(cut);
		memcpy(cut, file.data, n);
		puffin_file *f;
		int rc = puffin_open(cut, n, &f, err);
		assert_int_equal(rc, FLOE_ECORRUPT);
		assert_null(f);
		free(cut);
	}
	t_free_dvs(dvs);
	buf_release(&file);
}

static void test_reader_rules(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		uint32_t flags;
		int rc;
		const char *reason;
	} cases[] = {
	    {"{\"blobs\":[" T_DV_ENTRY("4", "46", T_DV_PROPS) "]}", 1, FLOE_EINVAL, "compressed"},
	    {"{\"blobs\":[" T_DV_ENTRY("4", "46", T_DV_PROPS) "]}", 0x100, FLOE_EINVAL,
	     "unknown footer flags"},
	    {"{\"blobs\":[" T_DV_ENTRY("4", "46", T_DV_PROPS) "]", 0, FLOE_ECORRUPT, "JSON"},
	    {"[]", 0, FLOE_ECORRUPT, "not a JSON object"},
	    {"{}", 0, FLOE_ECORRUPT, "no 'blobs'"},
	    {"{\"blobs\":{}}", 0, FLOE_ECORRUPT, "no 'blobs'"},
	    {"{\"blobs\":[1]}", 0, FLOE_ECORRUPT, "not an object"},
	    {"{\"blobs\":[],\"blobs\":[]}", 0, FLOE_ECORRUPT, "JSON"},
	    {"{\"blobs\":[],\"properties\":{\"a\":1}}", 0, FLOE_ECORRUPT, "not a string"},
	    {"{\"blobs\":[],\"properties\":[]}", 0, FLOE_ECORRUPT, "not an object"},
	    {"{\"blobs\":[" T_DV_ENTRY("0", "46", T_DV_PROPS) "]}", 0, FLOE_ECORRUPT, "outside"},
	    {"{\"blobs\":[" T_DV_ENTRY("5", "46", T_DV_PROPS) "]}", 0, FLOE_ECORRUPT, "outside"},
	    {"{\"blobs\":[" T_DV_ENTRY("4", "-1", T_DV_PROPS) "]}", 0, FLOE_ECORRUPT, "outside"},
	    {"{\"blobs\":[" T_DV_ENTRY("9223372036854775807", "46", T_DV_PROPS) "]}", 0,
	     FLOE_ECORRUPT, "outside"},
	    {"{\"blobs\":[" T_DV_ENTRY("4", "\"46\"", T_DV_PROPS) "]}", 0, FLOE_ECORRUPT,
	     "'length'"},
	    {"{\"blobs\":[" T_DV_ENTRY("4", "46", "{\"cardinality\":3}") "]}", 0, FLOE_ECORRUPT,
	     "not a string"},
	    {"{\"blobs\":[{\"fields\":[],\"snapshot-id\":-1,\"sequence-number\":-1,"
	     "\"offset\":4,\"length\":46}]}",
	     0, FLOE_ECORRUPT, "'type'"},
	    {"{\"blobs\":[{\"type\":\"t\",\"snapshot-id\":-1,\"sequence-number\":-1,"
	     "\"offset\":4,\"length\":46}]}",
	     0, FLOE_ECORRUPT, "'fields'"},
	    {"{\"blobs\":[{\"type\":\"t\",\"fields\":[2147483648],\"snapshot-id\":-1,"
	     "\"sequence-number\":-1,\"offset\":4,\"length\":46}]}",
	     0, FLOE_ECORRUPT, "int32"},
	    {"{\"blobs\":[{\"type\":\"t\",\"fields\":[],\"sequence-number\":-1,"
	     "\"offset\":4,\"length\":46}]}",
	     0, FLOE_ECORRUPT, "'snapshot-id'"},
	    {"{\"blobs\":[{\"type\":\"t\",\"fields\":[],\"snapshot-id\":-1,\"sequence-number\":-1,"
	     "\"offset\":4,\"length\":46,\"compression-codec\":5}]}",
	     0, FLOE_ECORRUPT, "compression-codec"},
	    {"{\"blobs\":[{\"type\":\"t\xff\",\"fields\":[],\"snapshot-id\":-1,"
	     "\"sequence-number\":-1,\"offset\":4,\"length\":46}]}",
	     0, FLOE_ECORRUPT, "JSON"},
	};
	buf file = {0};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[ERR_LEN] = "";
		puffin_file *f;
		t_file(&file, t_blob135, sizeof t_blob135, cases[i].json, cases[i].flags);
		int rc = t_open(&file, &f, err);
		if (rc != cases[i].rc || !strstr(err, cases[i].reason))
			fail_msg("case %zu: rc %d, '%s' (want %d, '%s')", i, rc, err, cases[i].rc,
			         cases[i].reason);
	}

	/* Framing: each magic, the payload size. */
	const char *good = "{\"blobs\":[" T_DV_ENTRY("4", "46", T_DV_PROPS) "]}";
	char err[ERR_LEN] = "";
	puffin_file *f;
	t_file(&file, t_blob135, sizeof t_blob135, good, 0);
	assert_int_equal(t_open(&file, &f, err), 0);
	puffin_close(f);
	const size_t at[] = {0, 4 + sizeof t_blob135, file.len - 1};
	for (size_t i = 0; i < 3; i++) {
		file.data[at[i]] ^= 0x20;
		assert_int_equal(t_open(&file, &f, err), FLOE_ECORRUPT);
		assert_non_null(strstr(err, "PFA1"));
		file.data[at[i]] ^= 0x20;
	}
	const uint32_t sizes[] = {0x80000000u, (uint32_t)file.len, (uint32_t)strlen(good) + 1,
	                          (uint32_t)strlen(good) - 1};
	for (size_t i = 0; i < 4; i++) {
		put_le32(file.data + file.len - 12, sizes[i]);
		assert_int_equal(t_open(&file, &f, err), FLOE_ECORRUPT);
	}
	buf_release(&file);
}

static void test_reader_dv_checks(void **state)
{
	(void)state;
	static const struct {
		const char *props;
		const char *codec;
		int rc;
		const char *reason;
	} cases[] = {
	    {"{\"referenced-data-file\":\"f\",\"cardinality\":\"4\"}", NULL, FLOE_ECORRUPT,
	     "footer cardinality 4"},
	    {"{\"referenced-data-file\":\"f\",\"cardinality\":\"x\"}", NULL, FLOE_ECORRUPT,
	     "cardinality property"},
	    {"{\"referenced-data-file\":\"f\",\"cardinality\":\"-3\"}", NULL, FLOE_ECORRUPT,
	     "cardinality property"},
	    {"{\"referenced-data-file\":\"f\",\"cardinality\":\"18446744073709551616\"}", NULL,
	     FLOE_ECORRUPT, "cardinality property"},
	    {"{\"referenced-data-file\":\"f\"}", NULL, FLOE_ECORRUPT, "cardinality property"},
	    {"{\"cardinality\":\"3\"}", NULL, FLOE_ECORRUPT, "referenced-data-file"},
	    {"{\"referenced-data-file\":\"f\",\"cardinality\":\"3\"}", "zstd", FLOE_EINVAL,
	     "compressed (zstd)"},
	};
	buf file = {0}, json = {0};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char err[ERR_LEN] = "";
		puffin_file *f;
		buf_reset(&json);
		buf_printf(&json,
		           "{\"blobs\":[{\"type\":\"deletion-vector-v1\",\"fields\":[2147483645],"
		           "\"snapshot-id\":-1,\"sequence-number\":-1,\"offset\":4,\"length\":46,"
		           "%s%s%s\"properties\":%s}]}",
		           cases[i].codec ? "\"compression-codec\":\"" : "",
		           cases[i].codec ? cases[i].codec : "", cases[i].codec ? "\"," : "",
		           cases[i].props);
		buf_put_u8(&json, 0);
		t_file(&file, t_blob135, sizeof t_blob135, (const char *)json.data, 0);
		assert_int_equal(t_open(&file, &f, err), 0);
		dv *d;
		int rc = puffin_read_dv(f, 0, &d, err);
		if (rc != cases[i].rc || !strstr(err, cases[i].reason))
			fail_msg("case %zu: rc %d, '%s'", i, rc, err);
		assert_null(d);
		puffin_close(f);
	}

	/* A damaged blob names the blob and the DV's reason. */
	uint8_t blob[sizeof t_blob135];
	memcpy(blob, t_blob135, sizeof blob);
	blob[40] ^= 1;
	t_file(&file, blob, sizeof blob, "{\"blobs\":[" T_DV_ENTRY("4", "46", T_DV_PROPS) "]}", 0);
	char err[ERR_LEN] = "";
	puffin_file *f;
	dv *d;
	assert_int_equal(t_open(&file, &f, err), 0);
	assert_int_equal(puffin_read_dv(f, 0, &d, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, "blob 0 at offset 4: dv: CRC mismatch"));
	puffin_close(f);
	/* A length that cuts the blob short: the DV's length field disagrees. */
	t_file(&file, t_blob135, sizeof t_blob135,
	       "{\"blobs\":[" T_DV_ENTRY("4", "45", T_DV_PROPS) "]}", 0);
	assert_int_equal(t_open(&file, &f, err), 0);
	assert_int_equal(puffin_read_dv(f, 0, &d, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, "length field 38"));
	puffin_close(f);
	buf_release(&file);
	buf_release(&json);
}

/* ---- the independent decoder ------------------------------------------------- */

/* Runs dv_check.py on path; returns its exit status and, when 0, its JSON. */
static int t_dv_check(const char *path, json_t **out)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/tools/dv_check.py '%s' 2>/dev/null",
	         path);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	json_error_t jerr;
	*out = json_loadf(p, 0, &jerr);
	int status = pclose(p);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 0 && !*out)
		fail_msg("dv_check.py printed no JSON: %s", jerr.text);
	return WEXITSTATUS(status);
}

static void t_write_file(const char *path, const buf *b)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(b->data, 1, b->len, fp), b->len);
	assert_int_equal(fclose(fp), 0);
}

static void test_independent_decoder(void **state)
{
	(void)state;
	dv *dvs[T_NDV];
	t_make_dvs(dvs);
	buf file = {0};
	puffin_blob_pos pos[T_NDV];
	uint64_t size;
	t_write_dvs(dvs, &file, pos, &size);

	char dir[] = "/tmp/floe_test_puffin_XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[sizeof dir + 32];
	snprintf(path, sizeof path, "%s/dvs.puffin", dir);
	t_write_file(path, &file);

	json_t *got;
	assert_int_equal(t_dv_check(path, &got), 0);
	assert_int_equal(json_integer_value(json_object_get(got, "file_size")), size);
	assert_string_equal(json_string_value(json_object_get(got, "created_by")), "floe test");
	assert_true(json_is_true(json_object_get(got, "packed")));
	json_t *blobs = json_object_get(got, "blobs");
	assert_int_equal(json_array_size(blobs), T_NDV);
	json_int_t kinds[3] = {0}, with_offsets = 0, without_offsets = 0;
	for (size_t i = 0; i < T_NDV; i++) {
		json_t *b = json_array_get(blobs, i);
		assert_int_equal(json_integer_value(json_object_get(b, "offset")), pos[i].offset);
		assert_int_equal(json_integer_value(json_object_get(b, "length")), pos[i].length);
		assert_string_equal(json_string_value(json_object_get(b, "referenced_data_file")),
		                    t_refs[i]);
		assert_int_equal(json_integer_value(json_object_get(b, "cardinality")),
		                 dv_cardinality(dvs[i]));
		struct t_list want = {0};
		assert_int_equal(dv_iterate(dvs[i], t_collect_one, &want), 0);
		json_t *positions = json_object_get(b, "positions");
		assert_int_equal(json_array_size(positions), want.n);
		for (size_t k = 0; k < want.n; k++) {
			json_t *v = json_array_get(positions, k);
			if ((uint64_t)json_integer_value(v) != want.v[k])
				fail_msg("blob %zu position %zu: %lld, wrote %" PRIu64, i, k,
				         (long long)json_integer_value(v), want.v[k]);
		}
		free(want.v);
		json_t *c = json_object_get(b, "containers");
		kinds[0] += json_integer_value(json_object_get(c, "array"));
		kinds[1] += json_integer_value(json_object_get(c, "bitset"));
		kinds[2] += json_integer_value(json_object_get(c, "run"));
		with_offsets += json_integer_value(json_object_get(b, "roaring_with_offsets"));
		without_offsets +=
		    json_integer_value(json_object_get(b, "roaring_without_offsets"));
	}
	/* The decoder saw every container type and both header variants. */
	assert_true(kinds[0] > 0 && kinds[1] > 0 && kinds[2] > 0);
	assert_true(with_offsets > 0 && without_offsets > 0);
	json_decref(got);

	/* And it is no rubber stamp: one flipped bit in a blob fails it. */
	file.data[pos[2].offset + 100] ^= 0x04;
	t_write_file(path, &file);
	assert_int_equal(t_dv_check(path, &got), 1);
	json_decref(got);

	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	t_free_dvs(dvs);
	buf_release(&file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_file),          cmocka_unit_test(test_no_blobs),
	    cmocka_unit_test(test_several_dvs),         cmocka_unit_test(test_generic_blobs),
	    cmocka_unit_test(test_writer_errors),       cmocka_unit_test(test_reader_truncations),
	    cmocka_unit_test(test_reader_rules),        cmocka_unit_test(test_reader_dv_checks),
	    cmocka_unit_test(test_independent_decoder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
