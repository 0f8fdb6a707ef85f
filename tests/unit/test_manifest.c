/*
 * test_manifest — Iceberg v3 manifests and manifest lists.
 *
 * Writes a data manifest (ADDED entries with null sequence numbers, EXISTING
 * and DELETED with explicit ones, metrics maps, bounds including an empty
 * one, split offsets), a delete manifest (deletion vectors with
 * referenced_data_file / content_offset / content_size_in_bytes) and a
 * manifest list; reads them back and compares every field. Then checks the
 * same files with independent readers run as subprocesses: python3-avro
 * (every record, field by field, against an expectation written here from
 * the spec, the header metadata, and a field-id on every schema field) and
 * avrocat (record counts and every non-bytes value). Also reads files in the
 * shape other Iceberg writers produce (written by python3-avro: partitioned,
 * deflate, v2 fields only, a v1 manifest list), and checks that the writers
 * refuse entries that break the spec and the readers refuse broken files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/avro.h"
#include "iceberg/manifest.h"
#include "iceberg/schema.h"

/* ---- fixtures ----------------------------------------------------------- */

static ice_field t_fields[] = {
    {.id = 1, .name = "id", .required = 1, .type = ICE_LONG},
    {.id = 2, .name = "name", .required = 0, .type = ICE_STRING},
    {.id = 3, .name = "score", .required = 0, .type = ICE_DOUBLE},
};
static int32_t t_ident[] = {1};
static const ice_schema t_schema = {
    .schema_id = 7, .nfields = 3, .fields = t_fields, .nidentifiers = 1, .identifier_ids = t_ident};

static uint8_t t_lo1[] = {0x01, 0, 0, 0, 0, 0, 0, 0};
static uint8_t t_hi1[] = {0xe8, 0x03, 0, 0, 0, 0, 0, 0x80};
static uint8_t t_hi2[] = {'z', 'e', 'b', 'r', 'a'};
static uint8_t t_lo3[] = {0, 0, 0, 0, 0, 0, 0xf0, 0xbf};
static uint8_t t_hi3[] = {0, 0, 0, 0, 0, 0, 0x59, 0x40};
static uint8_t t_empty[1];

/* Columns sorted by field id, as the reader returns them. Column 2's lower
 * bound is the empty string: present, zero bytes. */
static ice_col_metrics t_cols_a[] = {
    {.field_id = 1,
     .column_size = 812,
     .value_count = 100,
     .null_count = 0,
     .nan_count = -1,
     .lower = t_lo1,
     .lower_len = 8,
     .upper = t_hi1,
     .upper_len = 8},
    {.field_id = 2,
     .column_size = 2048,
     .value_count = 100,
     .null_count = 7,
     .nan_count = -1,
     .lower = t_empty,
     .lower_len = 0,
     .upper = t_hi2,
     .upper_len = 5},
    {.field_id = 3,
     .column_size = 900,
     .value_count = 100,
     .null_count = 1,
     .nan_count = 2,
     .lower = t_lo3,
     .lower_len = 8,
     .upper = t_hi3,
     .upper_len = 8},
};
/* Partial metrics: only some maps name each column. */
static ice_col_metrics t_cols_b[] = {
    {.field_id = 1, .column_size = 64, .value_count = -1, .null_count = -1, .nan_count = -1},
    {.field_id = 3,
     .column_size = -1,
     .value_count = 5,
     .null_count = -1,
     .nan_count = 0,
     .upper = t_hi3,
     .upper_len = 8},
};
static int64_t t_splits[] = {4, 1048576, 2097152};

static ice_data_file t_data_file(const char *path, int64_t rows, ice_col_metrics *cols, int ncols)
{
	return (ice_data_file){.content = ICE_CONTENT_DATA,
	                       .file_path = (char *)path,
	                       .file_format = "PARQUET",
	                       .record_count = rows,
	                       .file_size_in_bytes = rows * 40 + 1000,
	                       .ncols = ncols,
	                       .cols = cols,
	                       .sort_order_id = -1,
	                       .first_row_id = -1,
	                       .content_offset = -1,
	                       .content_size_in_bytes = -1};
}

static void t_data_entries(ice_manifest_entry e[4])
{
	e[0] = (ice_manifest_entry){
	    .status = ICE_STATUS_ADDED,
	    .snapshot_id = -1,
	    .sequence_number = -1,
	    .file_sequence_number = -1,
	    .file = t_data_file("file:///tmp/t/data/a.parquet", 100, t_cols_a, 3)};
	e[0].file.nsplit_offsets = 3;
	e[0].file.split_offsets = t_splits;
	e[0].file.sort_order_id = 0;
	e[1] =
	    (ice_manifest_entry){.status = ICE_STATUS_ADDED,
	                         .snapshot_id = 9001,
	                         .sequence_number = -1,
	                         .file_sequence_number = -1,
	                         .file = t_data_file("file:///tmp/t/data/b.parquet", 0, NULL, 0)};
	e[2] = (ice_manifest_entry){
	    .status = ICE_STATUS_EXISTING,
	    .snapshot_id = 77,
	    .sequence_number = 3,
	    .file_sequence_number = 4,
	    .file = t_data_file("file:///tmp/t/data/c.parquet", 5, t_cols_b, 2)};
	e[2].file.first_row_id = 500;
	e[3] =
	    (ice_manifest_entry){.status = ICE_STATUS_DELETED,
	                         .snapshot_id = 78,
	                         .sequence_number = 2,
	                         .file_sequence_number = 2,
	                         .file = t_data_file("file:///tmp/t/data/d.parquet", 1, NULL, 0)};
	e[3].file.first_row_id = 0;
}

static ice_data_file t_dv(const char *path, const char *ref, int64_t card, int64_t off,
                          int64_t size)
{
	ice_data_file f = t_data_file(path, card, NULL, 0);
	f.content = ICE_CONTENT_POSITION_DELETES;
	f.file_format = "PUFFIN";
	f.file_size_in_bytes = 1234;
	f.referenced_data_file = (char *)ref;
	f.content_offset = off;
	f.content_size_in_bytes = size;
	return f;
}

static void t_delete_entries(ice_manifest_entry e[2])
{
	e[0] = (ice_manifest_entry){.status = ICE_STATUS_ADDED,
	                            .snapshot_id = -1,
	                            .sequence_number = -1,
	                            .file_sequence_number = -1,
	                            .file = t_dv("file:///tmp/t/data/dv-1.puffin",
	                                         "file:///tmp/t/data/a.parquet", 3, 4, 46)};
	e[1] = (ice_manifest_entry){.status = ICE_STATUS_EXISTING,
	                            .snapshot_id = 77,
	                            .sequence_number = 3,
	                            .file_sequence_number = 3,
	                            .file = t_dv("file:///tmp/t/data/dv-0.puffin",
	                                         "file:///tmp/t/data/c.parquet", 1, 50, 40)};
}

static void t_list_files(ice_manifest_file m[2], int64_t data_len, int64_t del_len)
{
	m[0] = (ice_manifest_file){.manifest_path = "file:///tmp/t/metadata/a-m0.avro",
	                           .manifest_length = data_len,
	                           .partition_spec_id = 0,
	                           .content = 0,
	                           .sequence_number = 4,
	                           .min_sequence_number = 2,
	                           .added_snapshot_id = 9001,
	                           .added_files_count = 2,
	                           .existing_files_count = 1,
	                           .deleted_files_count = 1,
	                           .added_rows_count = 100,
	                           .existing_rows_count = 5,
	                           .deleted_rows_count = 1,
	                           .first_row_id = 1000};
	m[1] = (ice_manifest_file){.manifest_path = "file:///tmp/t/metadata/a-m1.avro",
	                           .manifest_length = del_len,
	                           .partition_spec_id = 0,
	                           .content = 1,
	                           .sequence_number = 4,
	                           .min_sequence_number = 3,
	                           .added_snapshot_id = 9001,
	                           .added_files_count = 1,
	                           .existing_files_count = 1,
	                           .deleted_files_count = 0,
	                           .added_rows_count = 3,
	                           .existing_rows_count = 1,
	                           .deleted_rows_count = 0,
	                           .first_row_id = -1};
}

/* ---- comparisons -------------------------------------------------------- */

static void t_expect_str(const char *want, const char *got)
{
	if (!want)
		assert_null(got);
	else
		assert_string_equal(want, got);
}

static void t_expect_bytes(const uint8_t *want, size_t wlen, const uint8_t *got, size_t glen)
{
	if (!want) {
		assert_null(got);
		return;
	}
	assert_non_null(got);
	assert_int_equal(wlen, glen);
	if (wlen)
		assert_memory_equal(want, got, wlen);
}

static void t_expect_file(const ice_data_file *w, const ice_data_file *g)
{
	assert_int_equal(w->content, g->content);
	t_expect_str(w->file_path, g->file_path);
	t_expect_str(w->file_format, g->file_format);
	assert_int_equal(w->record_count, g->record_count);
	assert_int_equal(w->file_size_in_bytes, g->file_size_in_bytes);
	assert_int_equal(w->ncols, g->ncols);
	for (int i = 0; i < w->ncols; i++) {
		const ice_col_metrics *a = &w->cols[i], *b = &g->cols[i];
		assert_int_equal(a->field_id, b->field_id);
		assert_int_equal(a->column_size, b->column_size);
		assert_int_equal(a->value_count, b->value_count);
		assert_int_equal(a->null_count, b->null_count);
		assert_int_equal(a->nan_count, b->nan_count);
		t_expect_bytes(a->lower, a->lower_len, b->lower, b->lower_len);
		t_expect_bytes(a->upper, a->upper_len, b->upper, b->upper_len);
	}
	assert_int_equal(w->nsplit_offsets, g->nsplit_offsets);
	for (int i = 0; i < w->nsplit_offsets; i++)
		assert_int_equal(w->split_offsets[i], g->split_offsets[i]);
	assert_int_equal(w->nequality_ids, g->nequality_ids);
	for (int i = 0; i < w->nequality_ids; i++)
		assert_int_equal(w->equality_ids[i], g->equality_ids[i]);
	assert_int_equal(w->sort_order_id, g->sort_order_id);
	assert_int_equal(w->first_row_id, g->first_row_id);
	t_expect_str(w->referenced_data_file, g->referenced_data_file);
	assert_int_equal(w->content_offset, g->content_offset);
	assert_int_equal(w->content_size_in_bytes, g->content_size_in_bytes);
}

static void t_expect_entries(const ice_manifest_entry *w, size_t nw, const ice_manifest_entry *g,
                             size_t ng)
{
	assert_int_equal(nw, ng);
	for (size_t i = 0; i < nw; i++) {
		assert_int_equal(w[i].status, g[i].status);
		assert_int_equal(w[i].snapshot_id, g[i].snapshot_id);
		assert_int_equal(w[i].sequence_number, g[i].sequence_number);
		assert_int_equal(w[i].file_sequence_number, g[i].file_sequence_number);
		t_expect_file(&w[i].file, &g[i].file);
	}
}

static void t_expect_list(const ice_manifest_file *w, size_t nw, const ice_manifest_file *g,
                          size_t ng)
{
	assert_int_equal(nw, ng);
	for (size_t i = 0; i < nw; i++) {
		t_expect_str(w[i].manifest_path, g[i].manifest_path);
		assert_int_equal(w[i].manifest_length, g[i].manifest_length);
		assert_int_equal(w[i].partition_spec_id, g[i].partition_spec_id);
		assert_int_equal(w[i].content, g[i].content);
		assert_int_equal(w[i].sequence_number, g[i].sequence_number);
		assert_int_equal(w[i].min_sequence_number, g[i].min_sequence_number);
		assert_int_equal(w[i].added_snapshot_id, g[i].added_snapshot_id);
		assert_int_equal(w[i].added_files_count, g[i].added_files_count);
		assert_int_equal(w[i].existing_files_count, g[i].existing_files_count);
		assert_int_equal(w[i].deleted_files_count, g[i].deleted_files_count);
		assert_int_equal(w[i].added_rows_count, g[i].added_rows_count);
		assert_int_equal(w[i].existing_rows_count, g[i].existing_rows_count);
		assert_int_equal(w[i].deleted_rows_count, g[i].deleted_rows_count);
		assert_int_equal(w[i].first_row_id, g[i].first_row_id);
	}
}

/* ---- the files under test ---------------------------------------------- */

typedef struct t_files {
	ice_manifest_entry data[4], del[2];
	ice_manifest_file list[2];
	buf data_buf, del_buf, list_buf;
} t_files;

static void t_write_all(t_files *f)
{
	memset(f, 0, sizeof *f);
	char err[ERR_LEN] = "";
	t_data_entries(f->data);
	t_delete_entries(f->del);
	int rc = ice_manifest_write(&f->data_buf, &t_schema, ICE_CONTENT_DATA, f->data, 4, err);
	if (rc)
		fail_msg("data manifest: %s", err);
	rc = ice_manifest_write(&f->del_buf, &t_schema, ICE_CONTENT_POSITION_DELETES, f->del, 2,
	                        err);
	if (rc)
		fail_msg("delete manifest: %s", err);
	t_list_files(f->list, (int64_t)f->data_buf.len, (int64_t)f->del_buf.len);
	rc = ice_manifest_list_write(&f->list_buf, 9001, 8000, 4, 1000, f->list, 2, err);
	if (rc)
		fail_msg("manifest list: %s", err);
}

static void t_release_all(t_files *f)
{
	buf_release(&f->data_buf);
	buf_release(&f->del_buf);
	buf_release(&f->list_buf);
}

static void test_round_trip(void **state)
{
	(void)state;
	t_files f;
	t_write_all(&f);
	char err[ERR_LEN] = "";
	ice_manifest_entry *got;
	size_t n;
	int rc = ice_manifest_read(f.data_buf.data, f.data_buf.len, &got, &n, err);
	if (rc)
		fail_msg("%s", err);
	t_expect_entries(f.data, 4, got, n);
	ice_manifest_entries_free(got, n);

	rc = ice_manifest_read(f.del_buf.data, f.del_buf.len, &got, &n, err);
	if (rc)
		fail_msg("%s", err);
	t_expect_entries(f.del, 2, got, n);

	/* Copies are deep and equal; clear frees them. */
	ice_data_file copy;
	assert_int_equal(ice_data_file_copy(&f.data[0].file, &copy), 0);
	t_expect_file(&f.data[0].file, &copy);
	assert_ptr_not_equal(copy.cols, f.data[0].file.cols);
	ice_data_file_clear(&copy);
	assert_int_equal(ice_data_file_copy(&got[0].file, &copy), 0);
	t_expect_file(&f.del[0].file, &copy);
	ice_data_file_clear(&copy);
	ice_data_file_clear(NULL);
	ice_manifest_entries_free(got, n);

	ice_manifest_file *mf;
	rc = ice_manifest_list_read(f.list_buf.data, f.list_buf.len, &mf, &n, err);
	if (rc)
		fail_msg("%s", err);
	t_expect_list(f.list, 2, mf, n);
	ice_manifest_files_free(mf, n);

	/* Our own header metadata, through the generic reader. */
	json_t *meta, *records;
	assert_int_equal(avro_read(f.list_buf.data, f.list_buf.len, &meta, &records, err), 0);
	const char *keys[][2] = {{"snapshot-id", "9001"},
	                         {"parent-snapshot-id", "8000"},
	                         {"sequence-number", "4"},
	                         {"first-row-id", "1000"},
	                         {"format-version", "3"}};
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(json_string_value(json_object_get(meta, keys[i][0])),
		                    keys[i][1]);
	json_decref(meta);
	json_decref(records);
	t_release_all(&f);
}

static void test_empty_and_big(void **state)
{
	(void)state;
	char err[ERR_LEN] = "";
	buf b = {0};
	assert_int_equal(ice_manifest_write(&b, &t_schema, ICE_CONTENT_DATA, NULL, 0, err), 0);
	ice_manifest_entry *got;
	size_t n;
	assert_int_equal(ice_manifest_read(b.data, b.len, &got, &n, err), 0);
	assert_int_equal(n, 0);
	ice_manifest_entries_free(got, n);
	buf_release(&b);

	/* Enough entries for several Avro blocks. */
	enum { N = 3000 };
	ice_manifest_entry *e = calloc(N, sizeof *e);
	char(*paths)[64] = calloc(N, sizeof *paths);
	assert_non_null(e);
	assert_non_null(paths);
	for (size_t i = 0; i < N; i++) {
		snprintf(paths[i], sizeof paths[i], "file:///tmp/t/data/%05zu.parquet", i);
		e[i] = (ice_manifest_entry){.status = ICE_STATUS_ADDED,
		                            .snapshot_id = -1,
		                            .sequence_number = -1,
		                            .file_sequence_number = -1,
		                            .file = t_data_file(paths[i], (int64_t)i, t_cols_a, 3)};
	}
	assert_int_equal(ice_manifest_write(&b, &t_schema, ICE_CONTENT_DATA, e, N, err), 0);
	assert_int_equal(ice_manifest_read(b.data, b.len, &got, &n, err), 0);
	t_expect_entries(e, N, got, n);
	ice_manifest_entries_free(got, n);
	buf_release(&b);
	free(e);
	free(paths);
}

static void test_writer_refuses(void **state)
{
	(void)state;
	char err[ERR_LEN];
	buf b = {0};
	buf_append(&b, "keep", 4);
	ice_manifest_entry e[4];
	t_data_entries(e);

	e[2].sequence_number = -1; /* EXISTING without a sequence number */
	assert_int_equal(ice_manifest_write(&b, &t_schema, ICE_CONTENT_DATA, e, 4, err),
	                 FLOE_EINVAL);
	assert_non_null(strstr(err, "sequence"));
	t_data_entries(e);
	assert_int_equal(ice_manifest_write(&b, &t_schema, ICE_CONTENT_POSITION_DELETES, e, 4, err),
	                 FLOE_EINVAL);
	ice_col_metrics dup[] = {t_cols_a[0], t_cols_a[0]};
	e[0].file.cols = dup;
	e[0].file.ncols = 2;
	assert_int_equal(ice_manifest_write(&b, &t_schema, ICE_CONTENT_DATA, e, 4, err),
	                 FLOE_EINVAL);
	assert_non_null(strstr(err, "column 1"));
	t_data_entries(e);
	e[1].file.file_path = NULL;
	assert_int_equal(ice_manifest_write(&b, &t_schema, ICE_CONTENT_DATA, e, 4, err),
	                 FLOE_EINVAL);

	ice_manifest_entry d[2];
	t_delete_entries(d);
	d[1].file.referenced_data_file = NULL;
	assert_int_equal(ice_manifest_write(&b, &t_schema, ICE_CONTENT_POSITION_DELETES, d, 2, err),
	                 FLOE_EINVAL);
	assert_non_null(strstr(err, "referenced_data_file"));
	t_delete_entries(d);
	d[0].file.content = ICE_CONTENT_EQUALITY_DELETES; /* without equality_ids */
	assert_int_equal(ice_manifest_write(&b, &t_schema, ICE_CONTENT_POSITION_DELETES, d, 2, err),
	                 FLOE_EINVAL);

	ice_manifest_file m[2];
	t_list_files(m, 10, 10);
	m[1].first_row_id = 5; /* a delete manifest never takes row ids */
	assert_int_equal(ice_manifest_list_write(&b, 1, -1, 1, 0, m, 2, err), FLOE_EINVAL);
	t_list_files(m, 10, 10);
	m[0].added_rows_count = -1;
	assert_int_equal(ice_manifest_list_write(&b, 1, -1, 1, 0, m, 2, err), FLOE_EINVAL);
	t_list_files(m, 10, 10);
	assert_int_equal(ice_manifest_list_write(&b, 1, -1, 1, -1, m, 2, err), FLOE_EINVAL);
	/* Nothing was appended by any refused call. */
	assert_int_equal(b.len, 4);
	buf_release(&b);
}

static void test_reader_refuses(void **state)
{
	(void)state;
	t_files f;
	t_write_all(&f);
	char err[ERR_LEN];
	/* Every strict prefix of a manifest list (one block) is an error. */
	for (size_t k = 0; k < f.list_buf.len; k++) {
		uint8_t *copy = malloc(k ? k : 1);
		assert_non_null(copy);
		memcpy(copy, f.list_buf.data, k);
		ice_manifest_file *m;
		size_t n;
		int rc = ice_manifest_list_read(copy, k, &m, &n, err);
		free(copy);
		if (rc == 0) {
			/* Only the bare header is a valid (empty) file. */
			assert_int_equal(n, 0);
			ice_manifest_files_free(m, n);
			continue;
		}
		assert_int_equal(rc, FLOE_ECORRUPT);
		assert_null(m);
	}
	/* A manifest list is not a manifest. */
	ice_manifest_entry *e;
	size_t n;
	assert_int_equal(ice_manifest_read(f.list_buf.data, f.list_buf.len, &e, &n, err),
	                 FLOE_ECORRUPT);
	assert_non_null(strstr(err, "status"));
	t_release_all(&f);
}

/* ---- subprocess helpers ------------------------------------------------- */

static void t_write_file(const char *path, const void *p, size_t n)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

static void t_read_file(const char *path, buf *out)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	uint8_t chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
		buf_append(out, chunk, n);
	fclose(fp);
}

/* Runs cmd and returns its stdout (NUL-terminated) in out; fails on exit != 0. */
static void t_run(const char *cmd, buf *out)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
		buf_append(out, chunk, n);
	int st = pclose(p);
	if (st != 0)
		fail_msg("'%s' exited with status %d", cmd, st);
	buf_put_u8(out, 0);
}

typedef struct t_dir {
	char path[64];
	char files[8][128];
	int n;
} t_dir;

static const char *t_dir_file(t_dir *d, const char *name)
{
	assert_true(d->n < 8);
	char path[sizeof d->files[0]];
	snprintf(path, sizeof path, "%s/%s", d->path, name);
	memcpy(d->files[d->n], path, sizeof path);
	return d->files[d->n++];
}

static void t_dir_remove(t_dir *d)
{
	for (int i = 0; i < d->n; i++)
		unlink(d->files[i]);
	rmdir(d->path);
}

/* ---- python3-avro reads our files --------------------------------------- */

static const char *t_py_dump =
    "import sys, json, warnings\n"
    "warnings.simplefilter('ignore')\n"
    "import avro.datafile, avro.io\n"
    "def conv(v):\n"
    "    if isinstance(v, bytes): return {'hex': v.hex()}\n"
    "    if isinstance(v, dict): return {k: conv(x) for k, x in v.items()}\n"
    "    if isinstance(v, list): return [conv(x) for x in v]\n"
    "    return v\n"
    "def check(s, path, out):\n"
    "    if isinstance(s, list):\n"
    "        for b in s: check(b, path, out)\n"
    "    elif isinstance(s, dict):\n"
    "        t = s.get('type')\n"
    "        if t == 'record':\n"
    "            order[s['name']] = [f.get('field-id') for f in s['fields']]\n"
    "            for f in s['fields']:\n"
    "                p = path + '.' + f['name']\n"
    "                if not isinstance(f.get('field-id'), int): out.append(p + ' has no "
    "field-id')\n"
    "                if isinstance(f['type'], list) and f['type'][0] == 'null' and \\\n"
    "                   ('default' not in f or f['default'] is not None):\n"
    "                    out.append(p + ' has no null default')\n"
    "                check(f['type'], p, out)\n"
    "        elif t == 'array':\n"
    "            if s.get('logicalType') != 'map' and not isinstance(s.get('element-id'), int):\n"
    "                out.append(path + ' has no element-id')\n"
    "            check(s['items'], path + '[]', out)\n"
    "res, order = [], {}\n"
    "for p in sys.argv[1:]:\n"
    "    with open(p, 'rb') as fh:\n"
    "        r = avro.datafile.DataFileReader(fh, avro.io.DatumReader())\n"
    "        meta = {k: v.decode() for k, v in r.meta.items()}\n"
    "        schema = json.loads(meta.pop('avro.schema'))\n"
    "        bad, order = [], {}\n"
    "        check(schema, schema['name'], bad)\n"
    "        res.append({'meta': meta, 'problems': bad, 'order': order,\n"
    "                    'records': [conv(x) for x in r]})\n"
    "print(json.dumps(res))\n";

static json_t *t_opt(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

static json_t *t_hex(const uint8_t *p, size_t n)
{
	char *h = malloc(2 * n + 1);
	assert_non_null(h);
	h[0] = 0;
	for (size_t i = 0; i < n; i++)
		sprintf(h + 2 * i, "%02x", p[i]);
	json_t *j = json_pack("{s:s}", "hex", h);
	free(h);
	return j;
}

/* The map for one metric, as the spec lays it out: an array of {key, value}
 * records for the columns that have the metric, null when none has. */
enum { T_SIZE, T_VALUES, T_NULLS, T_NANS, T_LOWER, T_UPPER };
static json_t *t_metric_map(const ice_data_file *f, int which)
{
	json_t *a = json_array();
	for (int i = 0; i < f->ncols; i++) {
		const ice_col_metrics *c = &f->cols[i];
		json_t *v = NULL;
		switch (which) {
		case T_SIZE:
			v = c->column_size >= 0 ? json_integer(c->column_size) : NULL;
			break;
		case T_VALUES:
			v = c->value_count >= 0 ? json_integer(c->value_count) : NULL;
			break;
		case T_NULLS:
			v = c->null_count >= 0 ? json_integer(c->null_count) : NULL;
			break;
		case T_NANS:
			v = c->nan_count >= 0 ? json_integer(c->nan_count) : NULL;
			break;
		case T_LOWER:
			v = c->lower ? t_hex(c->lower, c->lower_len) : NULL;
			break;
		case T_UPPER:
			v = c->upper ? t_hex(c->upper, c->upper_len) : NULL;
			break;
		}
		if (v)
			json_array_append_new(
			    a, json_pack("{s:i,s:o}", "key", c->field_id, "value", v));
	}
	if (json_array_size(a) == 0) {
		json_decref(a);
		return json_null();
	}
	return a;
}

static json_t *t_long_list(const int64_t *v, int n)
{
	if (n <= 0)
		return json_null();
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static json_t *t_entry_json(const ice_manifest_entry *e)
{
	const ice_data_file *f = &e->file;
	json_t *df = json_pack(
	    "{s:i,s:s,s:s,s:{},s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:n,s:o,s:n,s:o,s:o,s:o,s:o,s:o}",
	    "content", f->content, "file_path", f->file_path, "file_format", f->file_format,
	    "partition", "record_count", (json_int_t)f->record_count, "file_size_in_bytes",
	    (json_int_t)f->file_size_in_bytes, "column_sizes", t_metric_map(f, T_SIZE),
	    "value_counts", t_metric_map(f, T_VALUES), "null_value_counts",
	    t_metric_map(f, T_NULLS), "nan_value_counts", t_metric_map(f, T_NANS), "lower_bounds",
	    t_metric_map(f, T_LOWER), "upper_bounds", t_metric_map(f, T_UPPER), "key_metadata",
	    "split_offsets", t_long_list(f->split_offsets, f->nsplit_offsets), "equality_ids",
	    "sort_order_id", t_opt(f->sort_order_id), "first_row_id", t_opt(f->first_row_id),
	    "referenced_data_file",
	    f->referenced_data_file ? json_string(f->referenced_data_file) : json_null(),
	    "content_offset", t_opt(f->content_offset), "content_size_in_bytes",
	    t_opt(f->content_size_in_bytes));
	assert_non_null(df);
	json_t *j =
	    json_pack("{s:i,s:o,s:o,s:o,s:o}", "status", e->status, "snapshot_id",
	              t_opt(e->snapshot_id), "sequence_number", t_opt(e->sequence_number),
	              "file_sequence_number", t_opt(e->file_sequence_number), "data_file", df);
	assert_non_null(j);
	return j;
}

static json_t *t_list_json(const ice_manifest_file *m)
{
	json_t *j = json_pack(
	    "{s:s,s:I,s:i,s:i,s:I,s:I,s:I,s:i,s:i,s:i,s:I,s:I,s:I,s:[],s:n,s:o}", "manifest_path",
	    m->manifest_path, "manifest_length", (json_int_t)m->manifest_length,
	    "partition_spec_id", m->partition_spec_id, "content", m->content, "sequence_number",
	    (json_int_t)m->sequence_number, "min_sequence_number",
	    (json_int_t)m->min_sequence_number, "added_snapshot_id",
	    (json_int_t)m->added_snapshot_id, "added_files_count", m->added_files_count,
	    "existing_files_count", m->existing_files_count, "deleted_files_count",
	    m->deleted_files_count, "added_rows_count", (json_int_t)m->added_rows_count,
	    "existing_rows_count", (json_int_t)m->existing_rows_count, "deleted_rows_count",
	    (json_int_t)m->deleted_rows_count, "partitions", "key_metadata", "first_row_id",
	    t_opt(m->first_row_id));
	assert_non_null(j);
	return j;
}

static void t_expect_json(const char *what, json_t *want, const json_t *got)
{
	if (!json_equal(want, got)) {
		char *a = json_dumps(want, JSON_SORT_KEYS), *b = json_dumps(got, JSON_SORT_KEYS);
		fail_msg("%s:\nwant %s\ngot  %s", what, a, b);
	}
	json_decref(want);
}

/* The records of one file as python3-avro read them. */
static void t_expect_py_records(const json_t *res, const ice_manifest_entry *e, size_t n)
{
	const json_t *recs = json_object_get(res, "records");
	assert_int_equal(json_array_size(recs), n);
	for (size_t i = 0; i < n; i++)
		t_expect_json("python3-avro manifest entry", t_entry_json(&e[i]),
		              json_array_get(recs, i));
}

static void t_expect_manifest_meta(const json_t *meta, const char *content)
{
	json_t *schema = json_loads(json_string_value(json_object_get(meta, "schema")), 0, NULL);
	assert_non_null(schema);
	t_expect_json("manifest header schema", ice_schema_to_json(&t_schema), schema);
	json_decref(schema);
	json_t *rest = json_deep_copy(meta);
	json_object_del(rest, "schema");
	t_expect_json("manifest header",
	              json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "avro.codec", "null", "schema-id", "7",
	                        "partition-spec", "[]", "partition-spec-id", "0", "format-version",
	                        "3", "content", content),
	              rest);
	json_decref(rest);
}

static void test_python_reads_ours(void **state)
{
	(void)state;
	t_files f;
	t_write_all(&f);
	t_dir d = {.path = "/tmp/floe-test-manifest-XXXXXX"};
	assert_non_null(mkdtemp(d.path));
	const char *script = t_dir_file(&d, "dump.py");
	const char *pd = t_dir_file(&d, "data-m0.avro");
	const char *pdel = t_dir_file(&d, "deletes-m1.avro");
	const char *pl = t_dir_file(&d, "snap-9001-1-x.avro");
	t_write_file(script, t_py_dump, strlen(t_py_dump));
	t_write_file(pd, f.data_buf.data, f.data_buf.len);
	t_write_file(pdel, f.del_buf.data, f.del_buf.len);
	t_write_file(pl, f.list_buf.data, f.list_buf.len);

	buf cmd = {0}, out = {0};
	buf_printf(&cmd, "/usr/bin/python3 %s %s %s %s", script, pd, pdel, pl);
	buf_put_u8(&cmd, 0);
	t_run((const char *)cmd.data, &out);
	json_error_t jerr;
	json_t *res = json_loads((const char *)out.data, 0, &jerr);
	if (!res)
		fail_msg("python3-avro output is not JSON: %s\n%s", jerr.text, (char *)out.data);
	assert_int_equal(json_array_size(res), 3);
	for (size_t i = 0; i < 3; i++) {
		const json_t *problems = json_object_get(json_array_get(res, i), "problems");
		if (json_array_size(problems)) {
			char *s = json_dumps(problems, 0);
			fail_msg("schema of file %zu: %s", i, s);
		}
	}
	/* Record names and field order exactly as the spec's tables. */
	static const char *const orders[] = {
	    "{\"manifest_entry\":[0,1,3,4,2],"
	    "\"r2\":[134,100,101,102,103,104,108,109,110,137,125,128,131,132,135,140,142,143,144,"
	    "145],\"r102\":[],\"k117_v118\":[117,118],\"k119_v120\":[119,120],"
	    "\"k121_v122\":[121,122],\"k138_v139\":[138,139],\"k126_v127\":[126,127],"
	    "\"k129_v130\":[129,130]}",
	    "{\"manifest_file\":[500,501,502,517,515,516,503,504,505,506,512,513,514,507,519,520],"
	    "\"r508\":[509,518,510,511]}",
	};
	for (size_t i = 0; i < 3; i++)
		t_expect_json("record names and field order", json_loads(orders[i / 2], 0, NULL),
		              json_object_get(json_array_get(res, i), "order"));
	t_expect_manifest_meta(json_object_get(json_array_get(res, 0), "meta"), "data");
	t_expect_manifest_meta(json_object_get(json_array_get(res, 1), "meta"), "deletes");
	t_expect_py_records(json_array_get(res, 0), f.data, 4);
	t_expect_py_records(json_array_get(res, 1), f.del, 2);

	const json_t *lres = json_array_get(res, 2);
	t_expect_json("manifest list header",
	              json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "avro.codec", "null", "snapshot-id",
	                        "9001", "parent-snapshot-id", "8000", "sequence-number", "4",
	                        "first-row-id", "1000", "format-version", "3"),
	              json_object_get(lres, "meta"));
	const json_t *lrecs = json_object_get(lres, "records");
	assert_int_equal(json_array_size(lrecs), 2);
	for (size_t i = 0; i < 2; i++)
		t_expect_json("python3-avro manifest_file", t_list_json(&f.list[i]),
		              json_array_get(lrecs, i));

	json_decref(res);
	buf_release(&cmd);
	buf_release(&out);
	t_dir_remove(&d);
	t_release_all(&f);
}

/* ---- avrocat (avro-c) reads our files ----------------------------------- */

/* avro-c prints a union value as {"type": value}; unwrap those so records
 * compare with the plain expectation. */
static json_t *t_unwrap_unions(json_t *j)
{
	static const char *const branches[] = {"int",   "long",  "string",
	                                       "array", "bytes", "boolean"};
	if (json_is_object(j) && json_object_size(j) == 1) {
		for (size_t i = 0; i < sizeof branches / sizeof *branches; i++) {
			json_t *v = json_object_get(j, branches[i]);
			if (v)
				return t_unwrap_unions(v);
		}
	}
	if (json_is_object(j)) {
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v)
		{
			json_t *u = t_unwrap_unions(v);
			if (u != v)
				json_object_set(j, k, u);
		}
	} else if (json_is_array(j)) {
		for (size_t i = 0; i < json_array_size(j); i++) {
			json_t *v = json_array_get(j, i);
			json_t *u = t_unwrap_unions(v);
			if (u != v)
				json_array_set(j, i, u);
		}
	}
	return j;
}

/* avrocat prints bytes only up to the first NUL, so bound values are left to
 * python3-avro; here they are blanked on both sides. */
static void t_blank_bounds(json_t *df)
{
	static const char *const maps[] = {"lower_bounds", "upper_bounds"};
	for (size_t m = 0; m < 2; m++) {
		json_t *a = json_object_get(df, maps[m]);
		for (size_t i = 0; i < json_array_size(a); i++)
			json_object_set_new(json_array_get(a, i), "value", json_null());
	}
}

static void t_avrocat(const char *path, size_t nrec, json_t **lines)
{
	buf cmd = {0}, out = {0};
	buf_printf(&cmd, "avrocat %s", path);
	buf_put_u8(&cmd, 0);
	t_run((const char *)cmd.data, &out);
	*lines = json_array();
	char *save = NULL;
	for (char *line = strtok_r((char *)out.data, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_error_t jerr;
		json_t *j = json_loads(line, 0, &jerr);
		if (!j)
			fail_msg("avrocat line is not JSON: %s: %s", jerr.text, line);
		json_array_append_new(*lines, t_unwrap_unions(j));
	}
	assert_int_equal(json_array_size(*lines), nrec);
	buf_release(&cmd);
	buf_release(&out);
}

static void t_avrocat_entries(const char *path, const ice_manifest_entry *e, size_t n)
{
	json_t *lines;
	t_avrocat(path, n, &lines);
	for (size_t i = 0; i < n; i++) {
		json_t *want = t_entry_json(&e[i]);
		t_blank_bounds(json_object_get(want, "data_file"));
		json_t *got = json_array_get(lines, i);
		t_blank_bounds(json_object_get(got, "data_file"));
		t_expect_json("avrocat manifest entry", want, got);
	}
	json_decref(lines);
}

static void test_avrocat_reads_ours(void **state)
{
	(void)state;
	t_files f;
	t_write_all(&f);
	t_dir d = {.path = "/tmp/floe-test-manifest-XXXXXX"};
	assert_non_null(mkdtemp(d.path));
	const char *pd = t_dir_file(&d, "data-m0.avro");
	const char *pdel = t_dir_file(&d, "deletes-m1.avro");
	const char *pl = t_dir_file(&d, "snap.avro");
	t_write_file(pd, f.data_buf.data, f.data_buf.len);
	t_write_file(pdel, f.del_buf.data, f.del_buf.len);
	t_write_file(pl, f.list_buf.data, f.list_buf.len);

	t_avrocat_entries(pd, f.data, 4);
	t_avrocat_entries(pdel, f.del, 2);
	json_t *lines;
	t_avrocat(pl, 2, &lines);
	for (size_t i = 0; i < 2; i++)
		t_expect_json("avrocat manifest_file", t_list_json(&f.list[i]),
		              json_array_get(lines, i));
	json_decref(lines);
	t_dir_remove(&d);
	t_release_all(&f);
}

/* ---- files shaped like other writers' ----------------------------------- */

/* A partitioned v2-style manifest (no v3 fields, a v1 field our reader does
 * not know, fields out of our order, deflate), a v1 manifest list, and a
 * manifest without file_path. */
static const char *t_py_foreign =
    "import sys, json, warnings\n"
    "warnings.simplefilter('ignore')\n"
    "import avro.schema, avro.datafile, avro.io\n"
    "def opt(t): return ['null', t]\n"
    "def m(k, v, vt): return {'type': 'array', 'logicalType': 'map', 'items': {'type': 'record',\n"
    "    'name': 'k%d_v%d' % (k, v), 'fields': [{'name': 'key', 'type': 'int', 'field-id': k},\n"
    "    {'name': 'value', 'type': vt, 'field-id': v}]}}\n"
    "def f(name, t, i, o=False):\n"
    "    d = {'name': name, 'type': opt(t) if o else t, 'field-id': i}\n"
    "    if o: d['default'] = None\n"
    "    return d\n"
    "r2 = {'type': 'record', 'name': 'r2', 'fields': [\n"
    "    f('content', 'int', 134), f('file_format', 'string', 101), f('file_path', 'string', "
    "100),\n"
    "    f('partition', {'type': 'record', 'name': 'r102', 'fields': [f('day', 'int', 1000, "
    "True)]}, 102),\n"
    "    f('record_count', 'long', 103), f('file_size_in_bytes', 'long', 104),\n"
    "    f('block_size_in_bytes', 'long', 105),\n"
    "    f('column_sizes', m(117, 118, 'long'), 108, True), f('value_counts', m(119, 120, 'long'), "
    "109, True),\n"
    "    f('null_value_counts', m(121, 122, 'long'), 110, True),\n"
    "    f('nan_value_counts', m(138, 139, 'long'), 137, True),\n"
    "    f('lower_bounds', m(126, 127, 'bytes'), 125, True), f('upper_bounds', m(129, 130, "
    "'bytes'), 128, True),\n"
    "    f('key_metadata', 'bytes', 131, True),\n"
    "    f('split_offsets', {'type': 'array', 'items': 'long', 'element-id': 133}, 132, True),\n"
    "    f('equality_ids', {'type': 'array', 'items': 'int', 'element-id': 136}, 135, True),\n"
    "    f('sort_order_id', 'int', 140, True)]}\n"
    "entry = {'type': 'record', 'name': 'manifest_entry', 'fields': [f('status', 'int', 0),\n"
    "    f('snapshot_id', 'long', 1, True), f('sequence_number', 'long', 3, True),\n"
    "    f('file_sequence_number', 'long', 4, True), f('data_file', r2, 2)]}\n"
    "def df(**kw):\n"
    "    d = {'content': 0, 'file_format': 'PARQUET', 'file_path': 'x', 'partition': {'day': "
    "19000},\n"
    "         'record_count': 0, 'file_size_in_bytes': 0, 'block_size_in_bytes': 67108864,\n"
    "         'column_sizes': None, 'value_counts': None, 'null_value_counts': None,\n"
    "         'nan_value_counts': None, 'lower_bounds': None, 'upper_bounds': None,\n"
    "         'key_metadata': None, 'split_offsets': None, 'equality_ids': None, 'sort_order_id': "
    "None}\n"
    "    d.update(kw)\n"
    "    return d\n"
    "a = df(file_path='s3://b/t/data/day=19000/a.parquet', record_count=10, "
    "file_size_in_bytes=999,\n"
    "       column_sizes=[{'key': 3, 'value': 30}, {'key': 1, 'value': 10}],\n"
    "       value_counts=[{'key': 1, 'value': 10}, {'key': 3, 'value': 10}],\n"
    "       lower_bounds=[{'key': 1, 'value': b'\\x05\\x00\\x00\\x00'}], split_offsets=[4],\n"
    "       sort_order_id=0)\n"
    "b = df(content=2, file_path='s3://b/t/data/eq.parquet', record_count=2, "
    "file_size_in_bytes=77,\n"
    "       partition={'day': None}, equality_ids=[1, 3])\n"
    "def write(path, schema, meta, recs):\n"
    "    with open(path, 'wb') as fh:\n"
    "        w = avro.datafile.DataFileWriter(fh, avro.io.DatumWriter(),\n"
    "                                         avro.schema.parse(json.dumps(schema)), "
    "codec='deflate')\n"
    "        for k, v in meta.items(): w.set_meta(k, v.encode())\n"
    "        for r in recs: w.append(r)\n"
    "        w.close()\n"
    "write(sys.argv[1] + '/v2.avro', entry, {'format-version': '2', 'content': 'data'},\n"
    "      [{'status': 1, 'snapshot_id': 42, 'sequence_number': None, 'file_sequence_number': "
    "None,\n"
    "        'data_file': a},\n"
    "       {'status': 2, 'snapshot_id': 43, 'sequence_number': 5, 'file_sequence_number': 6,\n"
    "        'data_file': b}])\n"
    "r508 = {'type': 'record', 'name': 'r508', 'fields': [f('contains_null', 'boolean', 509),\n"
    "    f('lower_bound', 'bytes', 510, True), f('upper_bound', 'bytes', 511, True)]}\n"
    "v1list = {'type': 'record', 'name': 'manifest_file', 'fields': [\n"
    "    f('manifest_path', 'string', 500), f('manifest_length', 'long', 501),\n"
    "    f('partition_spec_id', 'int', 502), f('added_snapshot_id', 'long', 503, True),\n"
    "    f('added_data_files_count', 'int', 504, True), f('existing_data_files_count', 'int', 505, "
    "True),\n"
    "    f('deleted_data_files_count', 'int', 506, True),\n"
    "    f('partitions', {'type': 'array', 'items': r508, 'element-id': 508}, 507, True),\n"
    "    f('added_rows_count', 'long', 512, True), f('existing_rows_count', 'long', 513, True),\n"
    "    f('deleted_rows_count', 'long', 514, True)]}\n"
    "write(sys.argv[1] + '/v1list.avro', v1list, {'format-version': '1'},\n"
    "      [{'manifest_path': 's3://b/t/metadata/x-m0.avro', 'manifest_length': 5555,\n"
    "        'partition_spec_id': 1, 'added_snapshot_id': 42, 'added_data_files_count': 2,\n"
    "        'existing_data_files_count': 0, 'deleted_data_files_count': None,\n"
    "        'partitions': [{'contains_null': False, 'lower_bound': b'\\x00', 'upper_bound': "
    "None}],\n"
    "        'added_rows_count': 12, 'existing_rows_count': 0, 'deleted_rows_count': None}])\n"
    "nopath = json.loads(json.dumps(entry))\n"
    "nopath['fields'][4]['type']['fields'] = [x for x in r2['fields'] if x['name'] != "
    "'file_path']\n"
    "c = dict(a)\n"
    "del c['file_path']\n"
    "write(sys.argv[1] + '/nopath.avro', nopath, {}, [{'status': 1, 'snapshot_id': None,\n"
    "      'sequence_number': None, 'file_sequence_number': None, 'data_file': c}])\n";

static void test_reads_other_writers(void **state)
{
	(void)state;
	t_dir d = {.path = "/tmp/floe-test-manifest-XXXXXX"};
	assert_non_null(mkdtemp(d.path));
	const char *script = t_dir_file(&d, "foreign.py");
	const char *v2 = t_dir_file(&d, "v2.avro");
	const char *v1list = t_dir_file(&d, "v1list.avro");
	const char *nopath = t_dir_file(&d, "nopath.avro");
	t_write_file(script, t_py_foreign, strlen(t_py_foreign));
	buf cmd = {0}, out = {0};
	buf_printf(&cmd, "/usr/bin/python3 %s %s", script, d.path);
	buf_put_u8(&cmd, 0);
	t_run((const char *)cmd.data, &out);
	buf_release(&cmd);
	buf_release(&out);

	char err[ERR_LEN] = "";
	buf b = {0};
	t_read_file(v2, &b);
	ice_manifest_entry *e;
	size_t n;
	int rc = ice_manifest_read(b.data, b.len, &e, &n, err);
	if (rc)
		fail_msg("%s", err);
	ice_col_metrics cols[] = {
	    {.field_id = 1,
	     .column_size = 10,
	     .value_count = 10,
	     .null_count = -1,
	     .nan_count = -1,
	     .lower = (uint8_t *)"\x05\x00\x00\x00",
	     .lower_len = 4},
	    {.field_id = 3,
	     .column_size = 30,
	     .value_count = 10,
	     .null_count = -1,
	     .nan_count = -1},
	};
	int64_t splits[] = {4};
	int32_t eq[] = {1, 3};
	ice_manifest_entry want[2] = {
	    {.status = ICE_STATUS_ADDED,
	     .snapshot_id = 42,
	     .sequence_number = -1,
	     .file_sequence_number = -1,
	     .file = t_data_file("s3://b/t/data/day=19000/a.parquet", 10, cols, 2)},
	    {.status = ICE_STATUS_DELETED,
	     .snapshot_id = 43,
	     .sequence_number = 5,
	     .file_sequence_number = 6,
	     .file = t_data_file("s3://b/t/data/eq.parquet", 2, NULL, 0)},
	};
	want[0].file.file_size_in_bytes = 999;
	want[0].file.nsplit_offsets = 1;
	want[0].file.split_offsets = splits;
	want[0].file.sort_order_id = 0;
	want[1].file.content = ICE_CONTENT_EQUALITY_DELETES;
	want[1].file.file_size_in_bytes = 77;
	want[1].file.nequality_ids = 2;
	want[1].file.equality_ids = eq;
	t_expect_entries(want, 2, e, n);
	ice_manifest_entries_free(e, n);

	buf_reset(&b);
	t_read_file(v1list, &b);
	ice_manifest_file *m;
	rc = ice_manifest_list_read(b.data, b.len, &m, &n, err);
	if (rc)
		fail_msg("%s", err);
	ice_manifest_file wl = {.manifest_path = "s3://b/t/metadata/x-m0.avro",
	                        .manifest_length = 5555,
	                        .partition_spec_id = 1,
	                        .content = 0,
	                        .sequence_number = 0,
	                        .min_sequence_number = 0,
	                        .added_snapshot_id = 42,
	                        .added_files_count = 2,
	                        .existing_files_count = 0,
	                        .deleted_files_count = -1,
	                        .added_rows_count = 12,
	                        .existing_rows_count = 0,
	                        .deleted_rows_count = -1,
	                        .first_row_id = -1};
	t_expect_list(&wl, 1, m, n);
	ice_manifest_files_free(m, n);

	buf_reset(&b);
	t_read_file(nopath, &b);
	assert_int_equal(ice_manifest_read(b.data, b.len, &e, &n, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, "manifest entry 0"));
	assert_non_null(strstr(err, "'file_path' (id 100) is missing"));
	buf_release(&b);
	t_dir_remove(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),          cmocka_unit_test(test_empty_and_big),
	    cmocka_unit_test(test_writer_refuses),      cmocka_unit_test(test_reader_refuses),
	    cmocka_unit_test(test_python_reads_ours),   cmocka_unit_test(test_avrocat_reads_ours),
	    cmocka_unit_test(test_reads_other_writers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
