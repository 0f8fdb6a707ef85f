/*
 * puffin — Puffin file writer and reader (contract in puffin.h).
 *
 * Byte layout (Iceberg puffin-spec, version 1):
 *
 *   bytes  content
 *   4      magic "PFA1" (50 46 41 31)
 *   ...    blob 1 .. blob n, back to back, each exactly as its footer entry's
 *          offset (from the start of the file) and length say
 *   footer:
 *     4    magic "PFA1"
 *     P    payload: UTF-8 JSON (never compressed by us)
 *     4    P as int32 little-endian
 *     4    flags: byte 0 bit 0 = payload compressed; all other bits reserved.
 *          We write 00 00 00 00.
 *     4    magic "PFA1"
 *
 * Footer JSON as written (compact, keys in this order; a DV's entry shown):
 *   {"blobs":[{"type":"deletion-vector-v1","fields":[2147483645],
 *     "snapshot-id":-1,"sequence-number":-1,"offset":4,"length":46,
 *     "properties":{"referenced-data-file":"file:///t/data/x.parquet",
 *                   "cardinality":"3"}}],
 *    "properties":{"created-by":"floe 0.1.0"}}
 * "compression-codec" is never written (no blob is compressed); "properties"
 * of a blob is left out when it has none. Strings are copied byte for byte
 * (jansson escapes only '"', '\\' and control characters, never '/'), so a
 * referenced-data-file equals the manifest's file_path exactly.
 *
 * The blobs are written as they are added and the footer at close, so the
 * whole file streams through the sink once; only the blob being added and
 * the footer's JSON tree are held in memory.
 *
 * Rules puffin_open enforces (FLOE_ECORRUPT unless noted):
 *   1. At least 20 bytes; "PFA1" at the start, at the end, and at the footer
 *      start that the payload size implies (size >= 0, footer after the
 *      leading magic).
 *   2. Then the flags: the compressed bit or any reserved bit is FLOE_EINVAL
 *      (we could not read such a footer correctly). Checked after rule 1, so
 *      a truncated or damaged file is FLOE_ECORRUPT, not "unsupported".
 *   3. The payload is a JSON object (UTF-8, no duplicate keys) with a "blobs"
 *      array and an optional "properties" object of strings.
 *   4. Every blob entry has a string "type", a "fields" array of int32, the
 *      integers "snapshot-id", "sequence-number", "offset" and "length",
 *      optionally a string "compression-codec" and a "properties" object of
 *      strings; offset >= 4 and offset + length <= the footer start, so blob
 *      bytes never overlap the magic or the footer.
 * Blob bytes are only handed out uncompressed (puffin_blob_data).
 */
#include "format/puffin.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"

#define PUFFIN_MAGIC_LEN   4
#define PUFFIN_FOOTER_TAIL 12 /* payload size, flags, magic */
/* Leading magic + an empty footer: the smallest file there can be. */
#define PUFFIN_MIN_FILE        (2 * PUFFIN_MAGIC_LEN + PUFFIN_FOOTER_TAIL)
#define PUFFIN_FLAG_COMPRESSED 0x01

/* ---- writer -------------------------------------------------------------- */

struct puffin_writer {
	puffin_sink_fn sink;
	void *ctx;
	uint64_t off;  /* bytes given to the sink so far */
	json_t *root;  /* the footer payload */
	json_t *blobs; /* root's "blobs" array (borrowed) */
	buf scratch;   /* the DV being encoded; then the footer */
	int failed;    /* sticky error code, 0 while healthy */
};

int puffin_buf_sink(void *ctx, const void *data, size_t n, char *err)
{
	buf *b = ctx;
	buf_append(b, data, n);
	return buf_ok(b) ? 0 : errf(err, FLOE_ENOMEM, "puffin: out of memory buffering the file");
}

static int puffin_nomem(char *err)
{
	return errf(err, FLOE_ENOMEM, "puffin: out of memory");
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF): the
 * rules jansson applies, checked first so that a failing json_string can only
 * mean out of memory. */
static bool puffin_utf8_valid(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;
	while (*p) {
		uint32_t c = *p, min;
		size_t more;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			more = 1, c &= 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			more = 2, c &= 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			more = 3, c &= 0x07, min = 0x10000;
		} else {
			return false;
		}
		/* A NUL fails the continuation test, so this stops at the end. */
		for (size_t i = 1; i <= more; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return false;
			c = c << 6 | (p[i] & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return false;
		p += more + 1;
	}
	return true;
}

static int puffin_set_str(json_t *obj, const char *key, const char *val, char *err)
{
	if (!puffin_utf8_valid(key) || !puffin_utf8_valid(val))
		return errf(err, FLOE_EINVAL, "puffin: '%s' or its value is not valid UTF-8", key);
	if (json_object_set_new(obj, key, json_string(val)))
		return puffin_nomem(err);
	return 0;
}

static int puffin_set_int(json_t *obj, const char *key, json_int_t v, char *err)
{
	if (json_object_set_new(obj, key, json_integer(v)))
		return puffin_nomem(err);
	return 0;
}

/* Builds the footer entry of a blob of n bytes at offset off into *out. */
static int puffin_entry(const puffin_blob *desc, uint64_t off, size_t n, json_t **out, char *err)
{
	int rc;
	json_t *e = json_object(), *fields = json_array(), *props = NULL;
	*out = NULL;
	if (!e || !fields) {
		rc = puffin_nomem(err);
		goto fail;
	}
	if (!desc->type || !*desc->type) {
		rc = errf(err, FLOE_EINVAL, "puffin: a blob needs a type");
		goto fail;
	}
	if (desc->compression_codec) {
		rc = errf(err, FLOE_EINVAL, "puffin: compressed blobs (%s) are not supported",
		          desc->compression_codec);
		goto fail;
	}
	if ((rc = puffin_set_str(e, "type", desc->type, err)))
		goto fail;
	for (size_t i = 0; i < desc->nfields; i++)
		if (json_array_append_new(fields, json_integer(desc->fields[i]))) {
			rc = puffin_nomem(err);
			goto fail;
		}
	if (json_object_set(e, "fields", fields)) {
		rc = puffin_nomem(err);
		goto fail;
	}
	if ((rc = puffin_set_int(e, "snapshot-id", desc->snapshot_id, err)) ||
	    (rc = puffin_set_int(e, "sequence-number", desc->sequence_number, err)) ||
	    (rc = puffin_set_int(e, "offset", (json_int_t)off, err)) ||
	    (rc = puffin_set_int(e, "length", (json_int_t)n, err)))
		goto fail;
	if (desc->nprops > 0) {
		if (!(props = json_object())) {
			rc = puffin_nomem(err);
			goto fail;
		}
		for (size_t i = 0; i < desc->nprops; i++) {
			const puffin_kv *kv = &desc->props[i];
			if (!kv->key || !kv->value || json_object_get(props, kv->key)) {
				rc = errf(err, FLOE_EINVAL,
				          "puffin: blob property %zu is missing or repeated", i);
				goto fail;
			}
			if ((rc = puffin_set_str(props, kv->key, kv->value, err)))
				goto fail;
		}
		if (json_object_set(e, "properties", props)) {
			rc = puffin_nomem(err);
			goto fail;
		}
	}
	json_decref(fields);
	json_decref(props);
	*out = e;
	return 0;
fail:
	json_decref(e);
	json_decref(fields);
	json_decref(props);
	return rc;
}

int puffin_writer_open(puffin_sink_fn sink, void *ctx, const char *created_by, puffin_writer **out,
                       char *err)
{
	int rc;
	json_t *props = NULL;
	puffin_writer *w = calloc(1, sizeof *w);
	*out = NULL;
	if (!w || !(w->root = json_object()) || !(w->blobs = json_array()) ||
	    json_object_set_new(w->root, "blobs", w->blobs) || !(props = json_object()) ||
	    json_object_set(w->root, "properties", props)) {
		rc = puffin_nomem(err);
		goto fail;
	}
	if ((rc = puffin_set_str(props, "created-by", created_by ? created_by : "floe", err)))
		goto fail;
	w->sink = sink;
	w->ctx = ctx;
	if ((rc = sink(ctx, PUFFIN_MAGIC, PUFFIN_MAGIC_LEN, err)))
		goto fail;
	w->off = PUFFIN_MAGIC_LEN;
	json_decref(props);
	*out = w;
	return 0;
fail:
	json_decref(props);
	puffin_writer_abort(w);
	return rc;
}

int puffin_writer_add_blob(puffin_writer *w, const puffin_blob *desc, const uint8_t *data, size_t n,
                           puffin_blob_pos *pos, char *err)
{
	int rc;
	json_t *e = NULL;
	if (w->failed)
		return errf(err, w->failed, "puffin: the writer failed earlier");
	if ((rc = puffin_entry(desc, w->off, n, &e, err)))
		goto fail;
	if (n > 0 && (rc = w->sink(w->ctx, data, n, err)))
		goto fail;
	/* append_new takes e even when it fails */
	rc = json_array_append_new(w->blobs, e);
	e = NULL;
	if (rc) {
		rc = puffin_nomem(err);
		goto fail;
	}
	if (pos)
		*pos = (puffin_blob_pos){w->off, n};
	w->off += n;
	return 0;
fail:
	json_decref(e);
	w->failed = rc;
	return rc;
}

int puffin_writer_add_dv(puffin_writer *w, const char *referenced_data_file, const dv *d,
                         puffin_blob_pos *pos, char *err)
{
	int rc;
	if (w->failed)
		return errf(err, w->failed, "puffin: the writer failed earlier");
	if (!referenced_data_file || !*referenced_data_file) {
		rc = errf(err, FLOE_EINVAL, "puffin: a deletion vector needs its data file's path");
		goto fail;
	}
	buf_reset(&w->scratch);
	if ((rc = dv_serialize_blob(d, &w->scratch))) {
		errf(err, rc, "puffin: encoding the deletion vector for %s failed (%s)",
		     referenced_data_file,
		     rc == FLOE_ENOMEM    ? "out of memory"
		     : rc == FLOE_ETOOBIG ? "too big"
		                          : "CRoaring wrote an invalid bitmap");
		goto fail;
	}
	char card[24];
	snprintf(card, sizeof card, "%" PRIu64, dv_cardinality(d));
	const int32_t field = PUFFIN_DV_FIELD;
	const puffin_kv props[] = {
	    {"referenced-data-file", referenced_data_file},
	    {"cardinality", card},
	};
	const puffin_blob desc = {
	    .type = PUFFIN_DV_TYPE,
	    .fields = &field,
	    .nfields = 1,
	    .snapshot_id = -1,
	    .sequence_number = -1,
	    .props = props,
	    .nprops = sizeof props / sizeof props[0],
	};
	return puffin_writer_add_blob(w, &desc, w->scratch.data, w->scratch.len, pos, err);
fail:
	w->failed = rc;
	return rc;
}

int puffin_writer_close(puffin_writer *w, uint64_t *file_size, char *err)
{
	int rc;
	char *payload = NULL;
	if (w->failed) {
		rc = errf(err, w->failed, "puffin: the writer failed earlier");
		goto fail;
	}
	payload = json_dumps(w->root, JSON_COMPACT);
	if (!payload) {
		rc = puffin_nomem(err);
		goto fail;
	}
	size_t plen = strlen(payload);
	if (plen > INT32_MAX) {
		rc = errf(err, FLOE_ETOOBIG, "puffin: footer of %zu bytes", plen);
		goto fail;
	}
	buf *f = &w->scratch;
	buf_reset(f);
	buf_append(f, PUFFIN_MAGIC, PUFFIN_MAGIC_LEN);
	buf_append(f, payload, plen);
	buf_put_le32(f, (uint32_t)plen);
	buf_put_le32(f, 0); /* flags: uncompressed */
	buf_append(f, PUFFIN_MAGIC, PUFFIN_MAGIC_LEN);
	if (!buf_ok(f)) {
		rc = puffin_nomem(err);
		goto fail;
	}
	if ((rc = w->sink(w->ctx, f->data, f->len, err)))
		goto fail;
	w->off += f->len;
	if (file_size)
		*file_size = w->off;
	rc = 0;
fail:
	free(payload);
	puffin_writer_abort(w);
	return rc;
}

void puffin_writer_abort(puffin_writer *w)
{
	if (!w)
		return;
	json_decref(w->root);
	buf_release(&w->scratch);
	free(w);
}

/* ---- reader -------------------------------------------------------------- */

struct puffin_file {
	const uint8_t *data;
	size_t len;
	json_t *root; /* owns every string the blobs and props point at */
	puffin_blob *blobs;
	size_t nblobs;
	puffin_kv *props; /* the file's properties */
	size_t nprops;
	int32_t *field_pool; /* all blobs' fields */
	puffin_kv *kv_pool;  /* all blobs' properties */
};

/* Fills out[] from a JSON object of strings (NULL obj: none). */
static int puffin_read_props(json_t *obj, puffin_kv *out, size_t *n, const char *where, char *err)
{
	const char *key;
	json_t *val;
	*n = 0;
	if (!obj)
		return 0;
	if (!json_is_object(obj))
		return errf(err, FLOE_ECORRUPT, "puffin: %s properties is not an object", where);
	json_object_foreach(obj, key, val)
	{
		if (!json_is_string(val))
			return errf(err, FLOE_ECORRUPT, "puffin: %s property '%s' is not a string",
			            where, key);
		out[(*n)++] = (puffin_kv){key, json_string_value(val)};
	}
	return 0;
}

/* A required integer member of a blob entry. */
static int puffin_read_int(json_t *e, size_t i, const char *key, json_int_t *v, char *err)
{
	json_t *j = json_object_get(e, key);
	if (!json_is_integer(j))
		return errf(err, FLOE_ECORRUPT, "puffin: blob %zu: '%s' missing or not an integer",
		            i, key);
	*v = json_integer_value(j);
	return 0;
}

/* Rule 4 for blob entry i; fields and props are taken from the pools. */
static int puffin_read_entry(puffin_file *f, size_t i, json_t *e, uint64_t footer_start,
                             int32_t **fields, puffin_kv **kvs, char *err)
{
	int rc;
	puffin_blob *b = &f->blobs[i];
	if (!json_is_object(e))
		return errf(err, FLOE_ECORRUPT, "puffin: blob %zu is not an object", i);
	json_t *type = json_object_get(e, "type");
	json_t *flds = json_object_get(e, "fields");
	json_t *codec = json_object_get(e, "compression-codec");
	if (!json_is_string(type))
		return errf(err, FLOE_ECORRUPT, "puffin: blob %zu: 'type' missing or not a string",
		            i);
	if (!json_is_array(flds))
		return errf(err, FLOE_ECORRUPT,
		            "puffin: blob %zu: 'fields' missing or not an array", i);
	if (codec && !json_is_null(codec) && !json_is_string(codec))
		return errf(err, FLOE_ECORRUPT,
		            "puffin: blob %zu: 'compression-codec' not a string", i);
	b->type = json_string_value(type);
	b->compression_codec = json_is_string(codec) ? json_string_value(codec) : NULL;
	b->fields = *fields;
	b->nfields = json_array_size(flds);
	for (size_t k = 0; k < b->nfields; k++) {
		json_t *fj = json_array_get(flds, k);
		if (!json_is_integer(fj) || json_integer_value(fj) < INT32_MIN ||
		    json_integer_value(fj) > INT32_MAX)
			return errf(err, FLOE_ECORRUPT, "puffin: blob %zu: field %zu not an int32",
			            i, k);
		(*fields)[k] = (int32_t)json_integer_value(fj);
	}
	*fields += b->nfields;
	json_int_t sid = 0, seq = 0, off = 0, len = 0; /* errf hides that rc != 0 */
	if ((rc = puffin_read_int(e, i, "snapshot-id", &sid, err)) ||
	    (rc = puffin_read_int(e, i, "sequence-number", &seq, err)) ||
	    (rc = puffin_read_int(e, i, "offset", &off, err)) ||
	    (rc = puffin_read_int(e, i, "length", &len, err)))
		return rc;
	if (off < PUFFIN_MAGIC_LEN || len < 0 || (uint64_t)off > footer_start ||
	    (uint64_t)len > footer_start - (uint64_t)off)
		return errf(err, FLOE_ECORRUPT,
		            "puffin: blob %zu: offset %lld length %lld outside the blob area "
		            "[4, %" PRIu64 ")",
		            i, (long long)off, (long long)len, footer_start);
	b->snapshot_id = sid;
	b->sequence_number = seq;
	b->offset = (uint64_t)off;
	b->length = (uint64_t)len;
	char where[48];
	snprintf(where, sizeof where, "blob %zu", i);
	b->props = *kvs;
	if ((rc =
	         puffin_read_props(json_object_get(e, "properties"), *kvs, &b->nprops, where, err)))
		return rc;
	*kvs += b->nprops;
	return 0;
}

/* Rule 3 and 4 over the parsed footer. */
static int puffin_read_footer(puffin_file *f, uint64_t footer_start, char *err)
{
	json_t *blobs = json_object_get(f->root, "blobs");
	json_t *props = json_object_get(f->root, "properties");
	if (!json_is_array(blobs))
		return errf(err, FLOE_ECORRUPT, "puffin: footer has no 'blobs' array");
	/* Size the pools first; entries of the wrong shape count as empty and
	 * are rejected below. */
	size_t nfields = 0, nkv = 0, i;
	json_t *e;
	json_array_foreach(blobs, i, e)
	{
		nfields += json_array_size(json_object_get(e, "fields"));
		nkv += json_object_size(json_object_get(e, "properties"));
	}
	f->nblobs = json_array_size(blobs);
	f->blobs = calloc(f->nblobs + 1, sizeof *f->blobs);
	f->field_pool = malloc((nfields + 1) * sizeof *f->field_pool);
	f->kv_pool = malloc((nkv + 1) * sizeof *f->kv_pool);
	f->props = malloc((json_object_size(props) + 1) * sizeof *f->props);
	if (!f->blobs || !f->field_pool || !f->kv_pool || !f->props)
		return puffin_nomem(err);
	int rc = puffin_read_props(props, f->props, &f->nprops, "file", err);
	int32_t *fields = f->field_pool;
	puffin_kv *kvs = f->kv_pool;
	for (i = 0; !rc && i < f->nblobs; i++)
		rc = puffin_read_entry(f, i, json_array_get(blobs, i), footer_start, &fields, &kvs,
		                       err);
	return rc;
}

int puffin_open(const uint8_t *data, size_t len, puffin_file **out, char *err)
{
	int rc;
	puffin_file *f = NULL;
	*out = NULL;
	if (len < PUFFIN_MIN_FILE)
		return errf(err, FLOE_ECORRUPT,
		            "puffin: %zu bytes is shorter than the smallest Puffin file (%d)", len,
		            PUFFIN_MIN_FILE);
	if (memcmp(data, PUFFIN_MAGIC, PUFFIN_MAGIC_LEN) != 0)
		return errf(err, FLOE_ECORRUPT, "puffin: the file does not start with PFA1");
	if (memcmp(data + len - PUFFIN_MAGIC_LEN, PUFFIN_MAGIC, PUFFIN_MAGIC_LEN) != 0)
		return errf(err, FLOE_ECORRUPT, "puffin: the file does not end with PFA1");
	int32_t psize = (int32_t)get_le32(data + len - PUFFIN_FOOTER_TAIL);
	if (psize < 0 || (size_t)psize > len - PUFFIN_MIN_FILE)
		return errf(err, FLOE_ECORRUPT,
		            "puffin: footer payload size %" PRId32 " does not fit a %zu-byte file",
		            psize, len);
	size_t footer_start = len - PUFFIN_FOOTER_TAIL - (size_t)psize - PUFFIN_MAGIC_LEN;
	if (memcmp(data + footer_start, PUFFIN_MAGIC, PUFFIN_MAGIC_LEN) != 0)
		return errf(err, FLOE_ECORRUPT, "puffin: no PFA1 at the footer start (offset %zu)",
		            footer_start);
	/* Flags only after the framing holds, so damage reads as corruption. */
	const uint8_t *flags = data + len - 8;
	if (flags[0] & PUFFIN_FLAG_COMPRESSED)
		return errf(err, FLOE_EINVAL, "puffin: compressed footers are not supported");
	if ((flags[0] & ~PUFFIN_FLAG_COMPRESSED) || flags[1] || flags[2] || flags[3])
		return errf(err, FLOE_EINVAL, "puffin: unknown footer flags %02x%02x%02x%02x",
		            flags[0], flags[1], flags[2], flags[3]);
	if (!(f = calloc(1, sizeof *f)))
		return puffin_nomem(err);
	f->data = data;
	f->len = len;
	json_error_t jerr;
	f->root = json_loadb((const char *)data + footer_start + PUFFIN_MAGIC_LEN, (size_t)psize,
	                     JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(f->root)) {
		rc = errf(err, FLOE_ECORRUPT, "puffin: footer is not a JSON object: %s",
		          f->root ? "another JSON value" : jerr.text);
		goto fail;
	}
	if ((rc = puffin_read_footer(f, footer_start, err)))
		goto fail;
	*out = f;
	return 0;
fail:
	puffin_close(f);
	return rc;
}

void puffin_close(puffin_file *f)
{
	if (!f)
		return;
	free(f->blobs);
	free(f->field_pool);
	free(f->kv_pool);
	free(f->props);
	json_decref(f->root);
	free(f);
}

size_t puffin_blob_count(const puffin_file *f)
{
	return f->nblobs;
}

const puffin_blob *puffin_blob_at(const puffin_file *f, size_t i)
{
	return i < f->nblobs ? &f->blobs[i] : NULL;
}

static const char *puffin_kv_find(const puffin_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}

const char *puffin_blob_prop(const puffin_blob *b, const char *key)
{
	return puffin_kv_find(b->props, b->nprops, key);
}

const char *puffin_file_prop(const puffin_file *f, const char *key)
{
	return puffin_kv_find(f->props, f->nprops, key);
}

int puffin_blob_data(const puffin_file *f, size_t i, const uint8_t **p, size_t *n, char *err)
{
	if (i >= f->nblobs)
		return errf(err, FLOE_EINVAL, "puffin: no blob %zu (the file has %zu)", i,
		            f->nblobs);
	const puffin_blob *b = &f->blobs[i];
	if (b->compression_codec)
		return errf(err, FLOE_EINVAL, "puffin: blob %zu is compressed (%s); not supported",
		            i, b->compression_codec);
	*p = f->data + b->offset;
	*n = (size_t)b->length;
	return 0;
}

/* A cardinality property: decimal digits only, no sign, fits uint64. */
static bool puffin_parse_u64(const char *s, uint64_t *v)
{
	uint64_t x = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	*v = x;
	return true;
}

int puffin_read_dv(const puffin_file *f, size_t i, dv **out, char *err)
{
	int rc;
	dv *d = NULL;
	const uint8_t *p = NULL;
	size_t n = 0;
	uint64_t card = 0;
	*out = NULL;
	if ((rc = puffin_blob_data(f, i, &p, &n, err)))
		return rc;
	const puffin_blob *b = &f->blobs[i];
	if (strcmp(b->type, PUFFIN_DV_TYPE) != 0)
		return errf(err, FLOE_EINVAL, "puffin: blob %zu is a '%s', not a %s", i, b->type,
		            PUFFIN_DV_TYPE);
	if (!puffin_blob_prop(b, "referenced-data-file"))
		return errf(err, FLOE_ECORRUPT,
		            "puffin: blob %zu: deletion vector without referenced-data-file", i);
	const char *cs = puffin_blob_prop(b, "cardinality");
	if (!cs || !puffin_parse_u64(cs, &card))
		return errf(err, FLOE_ECORRUPT,
		            "puffin: blob %zu: cardinality property missing or not a number", i);
	char why[ERR_LEN];
	if ((rc = dv_parse_blob(p, n, &d, why))) {
		rc = errf(err, rc, "puffin: blob %zu at offset %" PRIu64 ": %s", i, b->offset, why);
		goto fail;
	}
	if (dv_cardinality(d) != card) {
		rc = errf(err, FLOE_ECORRUPT,
		          "puffin: blob %zu: footer cardinality %" PRIu64
		          ", the vector holds %" PRIu64,
		          i, card, dv_cardinality(d));
		goto fail;
	}
	*out = d;
	return 0;
fail:
	dv_free(d);
	return rc;
}
