/*
 * puffin — Puffin files (Iceberg puffin-spec): a writer that streams blobs
 * and the JSON footer through a caller's sink, and a reader over a file held
 * in memory. Deletion vectors (dv.h) are the blob type floe writes; the
 * writer also takes any uncompressed blob. Byte format only: it knows nothing
 * of tables, manifests or storage.
 *
 * The exact layout, the footer JSON and the reader's validation rules are
 * described at the top of puffin.c.
 *
 * Errors: 0 or a negative FLOE_* code, with a one-line reason in err (ERR_LEN
 * bytes, may be NULL). FLOE_ECORRUPT: the bytes are not a valid Puffin file
 * or DV. FLOE_EINVAL: a bad argument, or a valid file using a feature floe
 * does not support (compressed footer or blob, unknown flags). FLOE_ENOMEM.
 * A sink's own error code is passed through.
 * Threads: a writer belongs to one thread; an open puffin_file is read-only
 * and may be shared.
 */
#ifndef FLOE_PUFFIN_H
#define FLOE_PUFFIN_H

#include <stddef.h>
#include <stdint.h>

#include "format/dv.h"

#define PUFFIN_MAGIC   "PFA1"
#define PUFFIN_DV_TYPE "deletion-vector-v1"
/* The field a DV blob is about: the reserved row position column `_pos`
 * (Integer.MAX_VALUE - 2). */
#define PUFFIN_DV_FIELD 2147483645

typedef struct puffin_kv {
	const char *key;
	const char *value;
} puffin_kv;

/*
 * One blob's footer entry. The writer reads type, fields, snapshot_id,
 * sequence_number and props (compression_codec must be NULL: floe writes no
 * compressed blobs; offset and length are ignored). The reader fills every
 * field; its pointers stay valid until puffin_close.
 */
typedef struct puffin_blob {
	const char *type;
	const int32_t *fields;
	size_t nfields;
	int64_t snapshot_id;
	int64_t sequence_number;
	uint64_t offset; /* from the start of the file */
	uint64_t length;
	const char *compression_codec; /* NULL when the footer has none */
	const puffin_kv *props;
	size_t nprops;
} puffin_blob;

/* Where a blob landed: what an Iceberg manifest entry records as
 * content_offset / content_size_in_bytes. */
typedef struct puffin_blob_pos {
	uint64_t offset;
	uint64_t length;
} puffin_blob_pos;

/* ---- writer ---- */

/* Receives the file's bytes in order; returns 0 or a negative FLOE_* code
 * (with a message in err). */
typedef int (*puffin_sink_fn)(void *ctx, const void *data, size_t n, char *err);
/* A sink appending to the buf * passed as ctx (FLOE_ENOMEM when it fails). */
int puffin_buf_sink(void *ctx, const void *data, size_t n, char *err);

typedef struct puffin_writer puffin_writer;

/* Starts a file: writes the leading magic. created_by goes into the footer's
 * "created-by" property (e.g. "floe 0.1.0"); NULL means "floe". On error
 * nothing is allocated and *out is NULL. */
int puffin_writer_open(puffin_sink_fn sink, void *ctx, const char *created_by, puffin_writer **out,
                       char *err);
/* Writes data[0..n) as the next blob described by desc; *pos (may be NULL)
 * gets its offset and length. FLOE_EINVAL for a bad desc (no type, a
 * compression codec, strings that are not UTF-8). */
int puffin_writer_add_blob(puffin_writer *w, const puffin_blob *desc, const uint8_t *data, size_t n,
                           puffin_blob_pos *pos, char *err);
/* Writes d as a deletion-vector-v1 blob for the data file whose Iceberg
 * file_path is referenced_data_file (copied byte for byte into the footer):
 * fields [PUFFIN_DV_FIELD], snapshot-id and sequence-number -1, properties
 * referenced-data-file and cardinality. *pos covers the whole blob, length
 * prefix and CRC included. */
int puffin_writer_add_dv(puffin_writer *w, const char *referenced_data_file, const dv *d,
                         puffin_blob_pos *pos, char *err);
/* Writes the footer and frees w, also on error. *file_size (may be NULL)
 * gets the total number of bytes given to the sink. */
int puffin_writer_close(puffin_writer *w, uint64_t *file_size, char *err);
/* Frees w without writing a footer (the bytes already sunk are not a valid
 * file). NULL is a no-op. */
void puffin_writer_abort(puffin_writer *w);

/* After any error from add_blob / add_dv (a sink failure included) the
 * writer is poisoned: later calls return the same code and close only frees. */

/* ---- reader ---- */

typedef struct puffin_file puffin_file;

/* Parses and validates the footer of the whole file data[0..len). data is
 * borrowed and must stay valid until puffin_close(*out). */
int puffin_open(const uint8_t *data, size_t len, puffin_file **out, char *err);
/* NULL is a no-op. */
void puffin_close(puffin_file *f);
size_t puffin_blob_count(const puffin_file *f);
/* The i-th footer entry (i < puffin_blob_count), valid until puffin_close. */
const puffin_blob *puffin_blob_at(const puffin_file *f, size_t i);
/* A blob property, or NULL; valid until puffin_close. */
const char *puffin_blob_prop(const puffin_blob *b, const char *key);
/* A file property (footer "properties"), or NULL; valid until puffin_close. */
const char *puffin_file_prop(const puffin_file *f, const char *key);
/* The bytes of blob i (borrowed from the file's data). FLOE_EINVAL when the
 * blob is compressed. */
int puffin_blob_data(const puffin_file *f, size_t i, const uint8_t **p, size_t *n, char *err);
/* Decodes blob i as a deletion vector into *out (free with dv_free) and
 * checks it against its footer entry: type deletion-vector-v1 (else
 * FLOE_EINVAL), uncompressed, a referenced-data-file property, and a
 * cardinality property equal to the decoded set's (else FLOE_ECORRUPT). */
int puffin_read_dv(const puffin_file *f, size_t i, dv **out, char *err);

#endif
