/*
 * manifest — Iceberg v3 manifests and manifest lists as Avro container files
 * (contract in manifest.h; every field id and type in
 * ../shared/spec/iceberg-v3-writer.md §2).
 *
 * Owns the Avro schemas of the records manifest_entry (with data_file r2 and
 * partition r102) and manifest_file (with partition summary r508), their
 * encoding from the C structs and their decoding from any writer's files.
 * One table per record lists its fields in file order: field id, name, type,
 * optionality and where the value lives in the C struct. That table produces
 * the schema JSON, drives the encoder and drives the decoder, so the three
 * cannot disagree.
 *
 * Files written (container framing in format/avro.c, codec null):
 *   manifest       records manifest_entry; header metadata schema (the table
 *                  schema JSON), schema-id, partition-spec "[]",
 *                  partition-spec-id "0", format-version "3", content
 *                  "data" | "deletes".
 *   manifest list  records manifest_file; header metadata snapshot-id,
 *                  parent-snapshot-id ("null" if none), sequence-number,
 *                  first-row-id, format-version "3".
 *
 * Invariants of every file written:
 *   1. Every record field carries "field-id", every list "element-id";
 *      optional fields are ["null", T] with "default": null; int-keyed maps
 *      are arrays of records k<key>_v<value> with "logicalType": "map".
 *   2. Fields 105/106/107/111 are never written; partition is r102 with no
 *      fields (unpartitioned); manifest_file.partitions is [] (never null).
 *   3. Nulls: an optional int/long < 0, a NULL string, an empty list and a
 *      metrics map with no value are written as null.
 *   4. Entries are checked before anything is written (rules in manifest.h);
 *      on any error `out` is left as it was.
 * Reading finds fields by name (v1 names accepted for the file counts) and
 * skips fields it does not know (partition values, v1 block_size_in_bytes);
 * an absent optional field reads as -1 / NULL, an absent field that is
 * required only since v2 takes the spec's default for older files, an absent
 * required field is FLOE_ECORRUPT naming the entry and field.
 * No shared state: any thread may call any function.
 */
#include "iceberg/manifest.h"

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "format/avro.h"

/* Int fields (`int content`, `int32_t counts`) are all accessed as int32_t. */
_Static_assert(_Generic((int32_t)0, int : 1, default : 0), "int32_t must be int");

/* ------------------------------------------------------------------------ */
/* Field tables                                                              */

enum mkind {
	MK_INT,        /* int32_t at off */
	MK_LONG,       /* int64_t at off */
	MK_STRING,     /* char * at off */
	MK_BYTES,      /* floe keeps none: written null */
	MK_BOOL,       /* floe keeps none: schema only */
	MK_RECORD,     /* nested record `rec` at off */
	MK_LIST,       /* elements (elem: MK_LONG / MK_INT) at off, int count at off_n */
	MK_EMPTY_LIST, /* list of `rec`, always written empty (partition summaries) */
	MK_MAP,        /* metrics map of ice_data_file.cols: value at off in ice_col_metrics
	                  (elem MK_LONG: int64_t, -1 = none; MK_BYTES: uint8_t *, size_t
	                  length at off_n) */
};

#define NO_OFF SIZE_MAX /* floe keeps no value for this field */

typedef struct mrecord mrecord;

typedef struct mfield {
	int32_t id;
	const char *name;
	uint8_t kind;       /* MK_* */
	uint8_t elem;       /* MK_LIST elements, MK_MAP values */
	uint8_t opt;        /* ["null", T], default null */
	uint8_t need;       /* reading: absent or null is corrupt */
	int32_t key_id;     /* MK_MAP */
	int32_t elem_id;    /* MK_LIST / MK_EMPTY_LIST element id, MK_MAP value id */
	size_t off;         /* see enum mkind */
	size_t off_n;       /* see enum mkind */
	int64_t absent;     /* reading a non-optional int/long: value when absent (older files) */
	const mrecord *rec; /* MK_RECORD, MK_EMPTY_LIST */
	const char *alias;  /* reading: the field's v1 name */
} mfield;

struct mrecord {
	const char *name;
	const mfield *fields;
	size_t n;
};

#define NFIELDS(a) (sizeof(a) / sizeof *(a))
#define DF(m)      offsetof(ice_data_file, m)
#define CM(m)      offsetof(ice_col_metrics, m)
#define MF(m)      offsetof(ice_manifest_file, m)
#define ME(m)      offsetof(ice_manifest_entry, m)

static const mrecord ice_r102 = {"r102", NULL, 0};

static const mfield ice_r2_fields[] = {
    {134, "content", MK_INT, .off = DF(content)}, /* absent in v1: data */
    {100, "file_path", MK_STRING, .off = DF(file_path), .need = 1},
    {101, "file_format", MK_STRING, .off = DF(file_format), .need = 1},
    {102, "partition", MK_RECORD, .rec = &ice_r102, .off = NO_OFF},
    {103, "record_count", MK_LONG, .off = DF(record_count), .need = 1},
    {104, "file_size_in_bytes", MK_LONG, .off = DF(file_size_in_bytes), .need = 1},
    {108, "column_sizes", MK_MAP, MK_LONG, 1, .key_id = 117, .elem_id = 118,
     .off = CM(column_size)},
    {109, "value_counts", MK_MAP, MK_LONG, 1, .key_id = 119, .elem_id = 120,
     .off = CM(value_count)},
    {110, "null_value_counts", MK_MAP, MK_LONG, 1, .key_id = 121, .elem_id = 122,
     .off = CM(null_count)},
    {137, "nan_value_counts", MK_MAP, MK_LONG, 1, .key_id = 138, .elem_id = 139,
     .off = CM(nan_count)},
    {125, "lower_bounds", MK_MAP, MK_BYTES, 1, .key_id = 126, .elem_id = 127, .off = CM(lower),
     .off_n = CM(lower_len)},
    {128, "upper_bounds", MK_MAP, MK_BYTES, 1, .key_id = 129, .elem_id = 130, .off = CM(upper),
     .off_n = CM(upper_len)},
    {131, "key_metadata", MK_BYTES, .opt = 1, .off = NO_OFF},
    {132, "split_offsets", MK_LIST, MK_LONG, 1, .elem_id = 133, .off = DF(split_offsets),
     .off_n = DF(nsplit_offsets)},
    {135, "equality_ids", MK_LIST, MK_INT, 1, .elem_id = 136, .off = DF(equality_ids),
     .off_n = DF(nequality_ids)},
    {140, "sort_order_id", MK_INT, .opt = 1, .off = DF(sort_order_id)},
    {142, "first_row_id", MK_LONG, .opt = 1, .off = DF(first_row_id)},
    {143, "referenced_data_file", MK_STRING, .opt = 1, .off = DF(referenced_data_file)},
    {144, "content_offset", MK_LONG, .opt = 1, .off = DF(content_offset)},
    {145, "content_size_in_bytes", MK_LONG, .opt = 1, .off = DF(content_size_in_bytes)},
};
static const mrecord ice_r2 = {"r2", ice_r2_fields, NFIELDS(ice_r2_fields)};

static const mfield ice_entry_fields[] = {
    {0, "status", MK_INT, .off = ME(status), .need = 1},
    {1, "snapshot_id", MK_LONG, .opt = 1, .off = ME(snapshot_id)},
    {3, "sequence_number", MK_LONG, .opt = 1, .off = ME(sequence_number)},
    {4, "file_sequence_number", MK_LONG, .opt = 1, .off = ME(file_sequence_number)},
    {2, "data_file", MK_RECORD, .rec = &ice_r2, .off = ME(file), .need = 1},
};
static const mrecord ice_manifest_entry_rec = {"manifest_entry", ice_entry_fields,
                                               NFIELDS(ice_entry_fields)};

static const mfield ice_r508_fields[] = {
    {509, "contains_null", MK_BOOL, .off = NO_OFF},
    {518, "contains_nan", MK_BOOL, .opt = 1, .off = NO_OFF},
    {510, "lower_bound", MK_BYTES, .opt = 1, .off = NO_OFF},
    {511, "upper_bound", MK_BYTES, .opt = 1, .off = NO_OFF},
};
static const mrecord ice_r508 = {"r508", ice_r508_fields, NFIELDS(ice_r508_fields)};

/* v1 lists lack content and sequence numbers (0 by the spec); v1 counts are
 * optional and named added_data_files_count etc. (-1 when absent). */
static const mfield ice_manifest_file_fields[] = {
    {500, "manifest_path", MK_STRING, .off = MF(manifest_path), .need = 1},
    {501, "manifest_length", MK_LONG, .off = MF(manifest_length), .need = 1},
    {502, "partition_spec_id", MK_INT, .off = MF(partition_spec_id), .need = 1},
    {517, "content", MK_INT, .off = MF(content)},
    {515, "sequence_number", MK_LONG, .off = MF(sequence_number)},
    {516, "min_sequence_number", MK_LONG, .off = MF(min_sequence_number)},
    {503, "added_snapshot_id", MK_LONG, .off = MF(added_snapshot_id), .need = 1},
    {504, "added_files_count", MK_INT, .off = MF(added_files_count), .absent = -1,
     .alias = "added_data_files_count"},
    {505, "existing_files_count", MK_INT, .off = MF(existing_files_count), .absent = -1,
     .alias = "existing_data_files_count"},
    {506, "deleted_files_count", MK_INT, .off = MF(deleted_files_count), .absent = -1,
     .alias = "deleted_data_files_count"},
    {512, "added_rows_count", MK_LONG, .off = MF(added_rows_count), .absent = -1},
    {513, "existing_rows_count", MK_LONG, .off = MF(existing_rows_count), .absent = -1},
    {514, "deleted_rows_count", MK_LONG, .off = MF(deleted_rows_count), .absent = -1},
    {507, "partitions", MK_EMPTY_LIST, .opt = 1, .elem_id = 508, .rec = &ice_r508, .off = NO_OFF},
    {519, "key_metadata", MK_BYTES, .opt = 1, .off = NO_OFF},
    {520, "first_row_id", MK_LONG, .opt = 1, .off = MF(first_row_id)},
};
static const mrecord ice_manifest_file_rec = {"manifest_file", ice_manifest_file_fields,
                                              NFIELDS(ice_manifest_file_fields)};

/* ------------------------------------------------------------------------ */
/* Schema JSON from a table                                                  */

static const char *ice_avro_prim(uint8_t kind)
{
	switch (kind) {
	case MK_INT:
		return "int";
	case MK_LONG:
		return "long";
	case MK_STRING:
		return "string";
	case MK_BOOL:
		return "boolean";
	default:
		return "bytes";
	}
}

static void ice_schema_record(buf *b, const mrecord *r);

static void ice_schema_type(buf *b, const mfield *f)
{
	switch (f->kind) {
	case MK_RECORD:
		ice_schema_record(b, f->rec);
		return;
	case MK_LIST:
		buf_printf(b, "{\"type\":\"array\",\"items\":\"%s\",\"element-id\":%d}",
		           ice_avro_prim(f->elem), f->elem_id);
		return;
	case MK_EMPTY_LIST:
		buf_append_str(b, "{\"type\":\"array\",\"items\":");
		ice_schema_record(b, f->rec);
		buf_printf(b, ",\"element-id\":%d}", f->elem_id);
		return;
	case MK_MAP:
		buf_printf(
		    b,
		    "{\"type\":\"array\",\"logicalType\":\"map\",\"items\":{\"type\":\"record\","
		    "\"name\":\"k%d_v%d\",\"fields\":[{\"name\":\"key\",\"type\":\"int\","
		    "\"field-id\":%d},{\"name\":\"value\",\"type\":\"%s\",\"field-id\":%d}]}}",
		    f->key_id, f->elem_id, f->key_id, ice_avro_prim(f->elem), f->elem_id);
		return;
	default:
		buf_printf(b, "\"%s\"", ice_avro_prim(f->kind));
	}
}

static void ice_schema_record(buf *b, const mrecord *r)
{
	buf_printf(b, "{\"type\":\"record\",\"name\":\"%s\",\"fields\":[", r->name);
	for (size_t i = 0; i < r->n; i++) {
		const mfield *f = &r->fields[i];
		buf_printf(b, "%s{\"name\":\"%s\",\"type\":", i ? "," : "", f->name);
		if (f->opt)
			buf_append_str(b, "[\"null\",");
		ice_schema_type(b, f);
		if (f->opt)
			buf_append_str(b, "],\"default\":null");
		buf_printf(b, ",\"field-id\":%d}", f->id);
	}
	buf_append_str(b, "]}");
}

/* ------------------------------------------------------------------------ */
/* Encoding a struct by its table                                            */

/* Writes the union branch of an optional field; true when it was null (and
 * so nothing more is written). Required fields write no branch. */
static bool ice_enc_branch(buf *b, const mfield *f, bool is_null)
{
	if (!f->opt)
		return false;
	if (is_null) {
		avro_put_null_branch(b);
		return true;
	}
	avro_put_value_branch(b);
	return false;
}

static bool ice_metric_present(const mfield *f, const ice_col_metrics *c)
{
	const char *p = (const char *)c + f->off;
	if (f->elem == MK_LONG)
		return *(const int64_t *)p >= 0;
	return *(uint8_t *const *)p != NULL;
}

/* One metrics map: the columns that have this metric, in cols order. */
static void ice_enc_metrics(buf *b, const mfield *f, const ice_data_file *df)
{
	int64_t n = 0;
	for (int i = 0; i < df->ncols; i++)
		n += ice_metric_present(f, &df->cols[i]);
	if (ice_enc_branch(b, f, n == 0))
		return;
	if (n > 0) {
		avro_put_long(b, n);
		for (int i = 0; i < df->ncols; i++) {
			const ice_col_metrics *c = &df->cols[i];
			if (!ice_metric_present(f, c))
				continue;
			const char *p = (const char *)c + f->off;
			avro_put_int(b, c->field_id);
			if (f->elem == MK_LONG)
				avro_put_long(b, *(const int64_t *)p);
			else
				avro_put_bytes(b, *(uint8_t *const *)p,
				               *(const size_t *)((const char *)c + f->off_n));
		}
	}
	avro_put_long(b, 0);
}

static void ice_enc_list(buf *b, const mfield *f, const char *base)
{
	int n = *(const int *)(base + f->off_n);
	if (ice_enc_branch(b, f, n <= 0))
		return;
	if (n > 0) {
		avro_put_long(b, n);
		for (int i = 0; i < n; i++) {
			if (f->elem == MK_LONG)
				avro_put_long(b, (*(int64_t *const *)(base + f->off))[i]);
			else
				avro_put_int(b, (*(int32_t *const *)(base + f->off))[i]);
		}
	}
	avro_put_long(b, 0);
}

static void ice_enc_record(buf *b, const mrecord *r, const char *base);

static void ice_enc_field(buf *b, const mfield *f, const char *base)
{
	const char *p = base && f->off != NO_OFF ? base + f->off : NULL;
	switch (f->kind) {
	case MK_INT: {
		int32_t v = p ? *(const int32_t *)p : -1;
		if (!ice_enc_branch(b, f, v < 0))
			avro_put_int(b, v);
		return;
	}
	case MK_LONG: {
		int64_t v = p ? *(const int64_t *)p : -1;
		if (!ice_enc_branch(b, f, v < 0))
			avro_put_long(b, v);
		return;
	}
	case MK_STRING: {
		const char *s = p ? *(char *const *)p : NULL;
		if (!ice_enc_branch(b, f, !s))
			avro_put_string(b, s ? s : "");
		return;
	}
	case MK_BYTES:
		if (!ice_enc_branch(b, f, true))
			avro_put_bytes(b, NULL, 0);
		return;
	case MK_BOOL:
		if (!ice_enc_branch(b, f, true))
			avro_put_bool(b, 0);
		return;
	case MK_RECORD:
		ice_enc_branch(b, f, false);
		ice_enc_record(b, f->rec, p);
		return;
	case MK_EMPTY_LIST:
		ice_enc_branch(b, f, false);
		avro_put_long(b, 0);
		return;
	case MK_LIST:
		ice_enc_list(b, f, base);
		return;
	case MK_MAP:
		ice_enc_metrics(b, f, (const ice_data_file *)base);
		return;
	}
}

static void ice_enc_record(buf *b, const mrecord *r, const char *base)
{
	for (size_t i = 0; i < r->n; i++)
		ice_enc_field(b, &r->fields[i], base);
}

/* Writes one container file of records described by `rec`; `items` holds n
 * structs of `size` bytes. On error out is restored to its length on entry. */
static int ice_write_file(buf *out, const mrecord *rec, const avro_meta *meta, size_t nmeta,
                          const void *items, size_t size, size_t n, char *err)
{
	size_t start = out->len;
	avro_writer *w = NULL;
	buf schema = {0};
	ice_schema_record(&schema, rec);
	buf_put_u8(&schema, 0);
	int rc;
	if (!buf_ok(&schema)) {
		rc = errf(err, FLOE_ENOMEM, "manifest: out of memory");
		goto fail;
	}
	rc = avro_writer_open(out, (const char *)schema.data, meta, nmeta, &w, err);
	if (rc)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		ice_enc_record(avro_writer_record(w), rec, (const char *)items + i * size);
		rc = avro_writer_end_record(w, err);
		if (rc)
			goto fail;
	}
	rc = avro_writer_close(w, err);
	w = NULL;
fail:
	avro_writer_close(w, NULL);
	if (rc)
		out->len = start;
	buf_release(&schema);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Checks before writing                                                     */

static int ice_cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static int ice_check_cols(const ice_data_file *f, size_t i, char *err)
{
	if (f->ncols < 0 || (f->ncols > 0 && !f->cols))
		return errf(err, FLOE_EINVAL, "manifest entry %zu: bad column metrics", i);
	if (f->ncols < 2)
		return 0;
	int32_t *ids = malloc((size_t)f->ncols * sizeof *ids);
	if (!ids)
		return errf(err, FLOE_ENOMEM, "manifest: out of memory");
	for (int c = 0; c < f->ncols; c++)
		ids[c] = f->cols[c].field_id;
	qsort(ids, (size_t)f->ncols, sizeof *ids, ice_cmp_i32);
	int rc = 0;
	for (int c = 1; c < f->ncols && !rc; c++)
		if (ids[c] == ids[c - 1])
			rc = errf(err, FLOE_EINVAL,
			          "manifest entry %zu: column %d has metrics twice", i, ids[c]);
	free(ids);
	return rc;
}

static int ice_check_entry(const ice_manifest_entry *e, int content, size_t i, char *err)
{
	const ice_data_file *f = &e->file;
	if (e->status < ICE_STATUS_EXISTING || e->status > ICE_STATUS_DELETED)
		return errf(err, FLOE_EINVAL, "manifest entry %zu: status %d", i, e->status);
	if (e->status != ICE_STATUS_ADDED &&
	    (e->sequence_number < 0 || e->file_sequence_number < 0))
		return errf(err, FLOE_EINVAL,
		            "manifest entry %zu: EXISTING and DELETED entries need both sequence "
		            "numbers",
		            i);
	if (!f->file_path || !f->file_format)
		return errf(err, FLOE_EINVAL, "manifest entry %zu: no file_path or file_format", i);
	if (f->content < ICE_CONTENT_DATA || f->content > ICE_CONTENT_EQUALITY_DELETES ||
	    (f->content == ICE_CONTENT_DATA) != (content == ICE_CONTENT_DATA))
		return errf(err, FLOE_EINVAL,
		            "manifest entry %zu: file content %d in a %s manifest", i, f->content,
		            content == ICE_CONTENT_DATA ? "data" : "delete");
	if (f->record_count < 0 || f->file_size_in_bytes < 0)
		return errf(err, FLOE_EINVAL, "manifest entry %zu: negative record count or size",
		            i);
	if (f->nsplit_offsets < 0 || (f->nsplit_offsets > 0 && !f->split_offsets) ||
	    f->nequality_ids < 0 || (f->nequality_ids > 0 && !f->equality_ids))
		return errf(err, FLOE_EINVAL, "manifest entry %zu: bad list", i);
	if (f->content == ICE_CONTENT_POSITION_DELETES && strcmp(f->file_format, "PUFFIN") == 0 &&
	    (!f->referenced_data_file || f->content_offset < 0 || f->content_size_in_bytes < 0))
		return errf(err, FLOE_EINVAL,
		            "manifest entry %zu: a deletion vector needs referenced_data_file, "
		            "content_offset and content_size_in_bytes",
		            i);
	if (f->content == ICE_CONTENT_EQUALITY_DELETES && f->nequality_ids == 0)
		return errf(err, FLOE_EINVAL,
		            "manifest entry %zu: an equality delete file needs equality_ids", i);
	return ice_check_cols(f, i, err);
}

static int ice_check_manifest_file(const ice_manifest_file *m, size_t i, char *err)
{
	if (!m->manifest_path)
		return errf(err, FLOE_EINVAL, "manifest list entry %zu: no manifest_path", i);
	if (m->content != ICE_CONTENT_DATA && m->content != 1)
		return errf(err, FLOE_EINVAL, "manifest list entry %zu: content %d", i, m->content);
	if (m->manifest_length < 0 || m->sequence_number < 0 || m->min_sequence_number < 0 ||
	    m->added_files_count < 0 || m->existing_files_count < 0 || m->deleted_files_count < 0 ||
	    m->added_rows_count < 0 || m->existing_rows_count < 0 || m->deleted_rows_count < 0)
		return errf(err, FLOE_EINVAL,
		            "manifest list entry %zu: negative length, sequence number or count",
		            i);
	/* Row ids are assigned through data manifests only. */
	if (m->content != ICE_CONTENT_DATA && m->first_row_id >= 0)
		return errf(err, FLOE_EINVAL,
		            "manifest list entry %zu: a delete manifest has no first_row_id", i);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Writers                                                                   */

int ice_manifest_write(buf *out, const ice_schema *schema, int content,
                       const ice_manifest_entry *entries, size_t n, char *err)
{
	if (content < ICE_CONTENT_DATA || content > ICE_CONTENT_EQUALITY_DELETES)
		return errf(err, FLOE_EINVAL, "manifest: content %d", content);
	for (size_t i = 0; i < n; i++) {
		int rc = ice_check_entry(&entries[i], content, i, err);
		if (rc)
			return rc;
	}
	int rc;
	char *schema_text = NULL;
	json_t *sj = ice_schema_to_json(schema);
	if (!sj || !(schema_text = json_dumps(sj, JSON_COMPACT))) {
		rc = errf(err, FLOE_ENOMEM, "manifest: out of memory");
		goto fail;
	}
	char schema_id[16];
	snprintf(schema_id, sizeof schema_id, "%d", schema->schema_id);
	const avro_meta meta[] = {
	    {"schema", schema_text},  {"schema-id", schema_id},
	    {"partition-spec", "[]"}, {"partition-spec-id", "0"},
	    {"format-version", "3"},  {"content", content == ICE_CONTENT_DATA ? "data" : "deletes"},
	};
	rc = ice_write_file(out, &ice_manifest_entry_rec, meta, NFIELDS(meta), entries,
	                    sizeof *entries, n, err);
fail:
	free(schema_text);
	json_decref(sj);
	return rc;
}

int ice_manifest_list_write(buf *out, int64_t snapshot_id, int64_t parent_id,
                            int64_t sequence_number, int64_t first_row_id,
                            const ice_manifest_file *files, size_t n, char *err)
{
	if (sequence_number < 0 || first_row_id < 0)
		return errf(err, FLOE_EINVAL,
		            "manifest list: negative sequence number %lld or first row id %lld",
		            (long long)sequence_number, (long long)first_row_id);
	for (size_t i = 0; i < n; i++) {
		int rc = ice_check_manifest_file(&files[i], i, err);
		if (rc)
			return rc;
	}
	char snap[24], parent[24], seq[24], frid[24];
	snprintf(snap, sizeof snap, "%lld", (long long)snapshot_id);
	if (parent_id < 0)
		snprintf(parent, sizeof parent, "null");
	else
		snprintf(parent, sizeof parent, "%lld", (long long)parent_id);
	snprintf(seq, sizeof seq, "%lld", (long long)sequence_number);
	snprintf(frid, sizeof frid, "%lld", (long long)first_row_id);
	const avro_meta meta[] = {
	    {"snapshot-id", snap},  {"parent-snapshot-id", parent}, {"sequence-number", seq},
	    {"first-row-id", frid}, {"format-version", "3"},
	};
	return ice_write_file(out, &ice_manifest_file_rec, meta, NFIELDS(meta), files,
	                      sizeof *files, n, err);
}

/* ------------------------------------------------------------------------ */
/* Decoding a struct by its table                                            */

static int ice_dec_bad(const char *where, const mfield *f, const char *what, char *err)
{
	return errf(err, FLOE_ECORRUPT, "manifest: %s: field '%s' (id %d) %s", where, f->name,
	            f->id, what);
}

static void *ice_memdup(const void *p, size_t n)
{
	/* At least one byte: an empty bound is not "no bound". */
	void *d = malloc(n ? n : 1);
	if (d && n)
		memcpy(d, p, n);
	return d;
}

/* An integer value within [lo, hi]. */
static bool ice_dec_int(const json_t *v, int64_t lo, int64_t hi, int64_t *out)
{
	if (!json_is_integer(v))
		return false;
	json_int_t x = json_integer_value(v);
	if (x < lo || x > hi)
		return false;
	*out = x;
	return true;
}

static int ice_dec_list(const mfield *f, const json_t *v, char *base, const char *where, char *err)
{
	if (!json_is_array(v))
		return ice_dec_bad(where, f, "is not a list", err);
	size_t n = json_array_size(v);
	if (n == 0)
		return 0;
	if (n > INT_MAX)
		return ice_dec_bad(where, f, "is too long", err);
	bool is_long = f->elem == MK_LONG;
	void *arr = malloc(n * (is_long ? sizeof(int64_t) : sizeof(int32_t)));
	if (!arr)
		return errf(err, FLOE_ENOMEM, "manifest: out of memory");
	for (size_t i = 0; i < n; i++) {
		int64_t x;
		if (!ice_dec_int(json_array_get(v, i), is_long ? INT64_MIN : INT32_MIN,
		                 is_long ? INT64_MAX : INT32_MAX, &x)) {
			free(arr);
			return ice_dec_bad(where, f, "has an element of the wrong type", err);
		}
		if (is_long)
			((int64_t *)arr)[i] = x;
		else
			((int32_t *)arr)[i] = (int32_t)x;
	}
	if (is_long)
		*(int64_t **)(base + f->off) = arr;
	else
		*(int32_t **)(base + f->off) = arr;
	*(int *)(base + f->off_n) = (int)n;
	return 0;
}

/* The metrics maps of a data_file: the columns named in any map, sorted by
 * field id, each with the metrics the maps give it (-1 / NULL otherwise). */
static int ice_dec_metrics(const mrecord *r, const json_t *obj, ice_data_file *df,
                           const char *where, char *err)
{
	size_t cap = 0;
	for (size_t i = 0; i < r->n; i++) {
		const mfield *f = &r->fields[i];
		const json_t *v = json_object_get(obj, f->name);
		if (f->kind != MK_MAP || !v || json_is_null(v))
			continue;
		if (!json_is_array(v))
			return ice_dec_bad(where, f, "is not an int-keyed map", err);
		cap += json_array_size(v);
	}
	if (cap == 0)
		return 0;
	int rc = 0;
	int32_t *ids = malloc(cap * sizeof *ids);
	if (!ids)
		return errf(err, FLOE_ENOMEM, "manifest: out of memory");
	size_t n = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->n; i++) {
			const mfield *f = &r->fields[i];
			const json_t *v = json_object_get(obj, f->name);
			if (f->kind != MK_MAP || !v || json_is_null(v))
				continue;
			for (size_t k = 0; k < json_array_size(v); k++) {
				const json_t *item = json_array_get(v, k);
				int64_t key;
				if (!ice_dec_int(json_object_get(item, "key"), INT32_MIN, INT32_MAX,
				                 &key)) {
					rc = ice_dec_bad(where, f,
					                 "has an entry without an int key", err);
					goto fail;
				}
				if (pass == 0) {
					ids[n++] = (int32_t)key;
					continue;
				}
				int32_t k32 = (int32_t)key;
				const int32_t *hit =
				    bsearch(&k32, ids, n, sizeof *ids, ice_cmp_i32);
				char *p = (char *)&df->cols[hit - ids] + f->off;
				const json_t *val = json_object_get(item, "value");
				if (f->elem == MK_LONG) {
					if (!ice_dec_int(val, INT64_MIN, INT64_MAX, (int64_t *)p)) {
						rc = ice_dec_bad(where, f,
						                 "has a value that is not a long",
						                 err);
						goto fail;
					}
					continue;
				}
				if (!json_is_string(val)) {
					rc = ice_dec_bad(where, f, "has a value that is not bytes",
					                 err);
					goto fail;
				}
				/* A key given twice: the last value wins. */
				free(*(uint8_t **)p);
				*(uint8_t **)p =
				    ice_memdup(json_string_value(val), json_string_length(val));
				if (!*(uint8_t **)p) {
					rc = errf(err, FLOE_ENOMEM, "manifest: out of memory");
					goto fail;
				}
				*(size_t *)((char *)&df->cols[hit - ids] + f->off_n) =
				    json_string_length(val);
			}
		}
		if (pass == 1)
			break;
		qsort(ids, n, sizeof *ids, ice_cmp_i32);
		size_t u = 0;
		for (size_t k = 0; k < n; k++)
			if (u == 0 || ids[k] != ids[u - 1])
				ids[u++] = ids[k];
		n = u;
		if (n > INT_MAX) {
			rc = errf(err, FLOE_ECORRUPT, "manifest: %s: too many columns", where);
			goto fail;
		}
		df->cols = calloc(n, sizeof *df->cols);
		if (!df->cols) {
			rc = errf(err, FLOE_ENOMEM, "manifest: out of memory");
			goto fail;
		}
		df->ncols = (int)n;
		for (size_t c = 0; c < n; c++) {
			df->cols[c].field_id = ids[c];
			for (size_t i = 0; i < r->n; i++)
				if (r->fields[i].kind == MK_MAP && r->fields[i].elem == MK_LONG)
					*(int64_t *)((char *)&df->cols[c] + r->fields[i].off) = -1;
		}
	}
fail:
	free(ids);
	return rc;
}

static int ice_dec_record(const mrecord *r, const json_t *obj, char *base, const char *where,
                          char *err)
{
	if (!json_is_object(obj))
		return errf(err, FLOE_ECORRUPT, "manifest: %s: %s is not a record", where, r->name);
	bool maps = false;
	for (size_t i = 0; i < r->n; i++) {
		const mfield *f = &r->fields[i];
		if (f->kind == MK_MAP)
			maps = true;
		if (f->kind == MK_MAP || f->off == NO_OFF)
			continue;
		const json_t *v = json_object_get(obj, f->name);
		if (!v && f->alias)
			v = json_object_get(obj, f->alias);
		char *p = base + f->off;
		int64_t x;
		int rc = 0;
		if (!v || json_is_null(v)) {
			if (f->need)
				return ice_dec_bad(where, f, "is missing", err);
			if (f->kind == MK_INT)
				*(int32_t *)p = (int32_t)(f->opt ? -1 : f->absent);
			else if (f->kind == MK_LONG)
				*(int64_t *)p = f->opt ? -1 : f->absent;
			continue;
		}
		switch (f->kind) {
		case MK_INT:
			if (!ice_dec_int(v, INT32_MIN, INT32_MAX, &x))
				return ice_dec_bad(where, f, "is not an int", err);
			*(int32_t *)p = (int32_t)x;
			break;
		case MK_LONG:
			if (!ice_dec_int(v, INT64_MIN, INT64_MAX, (int64_t *)p))
				return ice_dec_bad(where, f, "is not a long", err);
			break;
		case MK_STRING: {
			if (!json_is_string(v))
				return ice_dec_bad(where, f, "is not a string", err);
			size_t len = json_string_length(v);
			if (memchr(json_string_value(v), 0, len))
				return ice_dec_bad(where, f, "holds a NUL byte", err);
			char *s = strndup(json_string_value(v), len);
			if (!s)
				return errf(err, FLOE_ENOMEM, "manifest: out of memory");
			*(char **)p = s;
			break;
		}
		case MK_RECORD:
			rc = ice_dec_record(f->rec, v, p, where, err);
			break;
		case MK_LIST:
			rc = ice_dec_list(f, v, base, where, err);
			break;
		default:
			break;
		}
		if (rc)
			return rc;
	}
	return maps ? ice_dec_metrics(r, obj, (ice_data_file *)base, where, err) : 0;
}

/* Decodes every record of a container file into a calloc'd array of n structs
 * of `size` bytes. On error *out still holds what was decoded (zeroed beyond)
 * for the caller to free with the type's free function. */
static int ice_read_file(const uint8_t *data, size_t len, const mrecord *rec, size_t size,
                         const char *what, void **out, size_t *n, char *err)
{
	*out = NULL;
	*n = 0;
	json_t *meta = NULL, *records = NULL;
	int rc = avro_read(data, len, &meta, &records, err);
	if (rc)
		return rc;
	size_t count = json_array_size(records);
	char *arr = calloc(count ? count : 1, size);
	if (!arr) {
		rc = errf(err, FLOE_ENOMEM, "manifest: out of memory");
		goto fail;
	}
	*out = arr;
	*n = count;
	for (size_t i = 0; i < count; i++) {
		char where[64];
		snprintf(where, sizeof where, "%s %zu", what, i);
		rc = ice_dec_record(rec, json_array_get(records, i), arr + i * size, where, err);
		if (rc)
			goto fail;
	}
fail:
	json_decref(meta);
	json_decref(records);
	return rc;
}

int ice_manifest_read(const uint8_t *data, size_t len, ice_manifest_entry **out, size_t *n,
                      char *err)
{
	void *raw;
	size_t count;
	int rc = ice_read_file(data, len, &ice_manifest_entry_rec, sizeof(ice_manifest_entry),
	                       "manifest entry", &raw, &count, err);
	ice_manifest_entry *e = raw;
	for (size_t i = 0; i < count && !rc; i++) {
		if (e[i].status < ICE_STATUS_EXISTING || e[i].status > ICE_STATUS_DELETED ||
		    e[i].file.content < ICE_CONTENT_DATA ||
		    e[i].file.content > ICE_CONTENT_EQUALITY_DELETES)
			rc = errf(err, FLOE_ECORRUPT,
			          "manifest: manifest entry %zu: status %d or content %d unknown",
			          i, e[i].status, e[i].file.content);
	}
	if (rc) {
		ice_manifest_entries_free(e, count);
		*out = NULL;
		*n = 0;
		return rc;
	}
	*out = e;
	*n = count;
	return 0;
}

int ice_manifest_list_read(const uint8_t *data, size_t len, ice_manifest_file **out, size_t *n,
                           char *err)
{
	void *raw;
	size_t count;
	int rc = ice_read_file(data, len, &ice_manifest_file_rec, sizeof(ice_manifest_file),
	                       "manifest list entry", &raw, &count, err);
	ice_manifest_file *m = raw;
	for (size_t i = 0; i < count && !rc; i++) {
		if (m[i].content != ICE_CONTENT_DATA && m[i].content != 1)
			rc = errf(err, FLOE_ECORRUPT,
			          "manifest: manifest list entry %zu: content %d unknown", i,
			          m[i].content);
	}
	if (rc) {
		ice_manifest_files_free(m, count);
		*out = NULL;
		*n = 0;
		return rc;
	}
	*out = m;
	*n = count;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Ownership helpers                                                         */

void ice_data_file_clear(ice_data_file *f)
{
	if (!f)
		return;
	free(f->file_path);
	free(f->file_format);
	for (int i = 0; i < f->ncols; i++) {
		free(f->cols[i].lower);
		free(f->cols[i].upper);
	}
	free(f->cols);
	free(f->split_offsets);
	free(f->referenced_data_file);
	free(f->equality_ids);
	memset(f, 0, sizeof *f);
}

static bool ice_dup_str(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return !src || *dst;
}

int ice_data_file_copy(const ice_data_file *src, ice_data_file *dst)
{
	ice_data_file d = *src;
	d.file_path = d.file_format = d.referenced_data_file = NULL;
	d.cols = NULL;
	d.ncols = 0;
	d.split_offsets = NULL;
	d.nsplit_offsets = 0;
	d.equality_ids = NULL;
	d.nequality_ids = 0;
	if (!ice_dup_str(&d.file_path, src->file_path) ||
	    !ice_dup_str(&d.file_format, src->file_format) ||
	    !ice_dup_str(&d.referenced_data_file, src->referenced_data_file))
		goto fail;
	if (src->nsplit_offsets > 0) {
		d.split_offsets = ice_memdup(src->split_offsets, (size_t)src->nsplit_offsets *
		                                                     sizeof *src->split_offsets);
		if (!d.split_offsets)
			goto fail;
		d.nsplit_offsets = src->nsplit_offsets;
	}
	if (src->nequality_ids > 0) {
		d.equality_ids = ice_memdup(src->equality_ids,
		                            (size_t)src->nequality_ids * sizeof *src->equality_ids);
		if (!d.equality_ids)
			goto fail;
		d.nequality_ids = src->nequality_ids;
	}
	if (src->ncols > 0) {
		d.cols = calloc((size_t)src->ncols, sizeof *d.cols);
		if (!d.cols)
			goto fail;
		d.ncols = src->ncols;
		for (int i = 0; i < src->ncols; i++) {
			const ice_col_metrics *c = &src->cols[i];
			d.cols[i] = *c;
			d.cols[i].lower = c->lower ? ice_memdup(c->lower, c->lower_len) : NULL;
			d.cols[i].upper = c->upper ? ice_memdup(c->upper, c->upper_len) : NULL;
			if ((c->lower && !d.cols[i].lower) || (c->upper && !d.cols[i].upper))
				goto fail;
		}
	}
	*dst = d;
	return 0;
fail:
	ice_data_file_clear(&d);
	memset(dst, 0, sizeof *dst);
	return FLOE_ENOMEM;
}

void ice_manifest_entries_free(ice_manifest_entry *e, size_t n)
{
	if (!e)
		return;
	for (size_t i = 0; i < n; i++)
		ice_data_file_clear(&e[i].file);
	free(e);
}

void ice_manifest_files_free(ice_manifest_file *m, size_t n)
{
	if (!m)
		return;
	for (size_t i = 0; i < n; i++)
		free(m[i].manifest_path);
	free(m);
}
