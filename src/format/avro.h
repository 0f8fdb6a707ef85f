/*
 * avro — Avro object container files: a writer (for Iceberg manifests and
 * manifest lists) and a generic reader (to load them back).
 *
 * Byte layout written (Avro spec 1.11, "Object Container Files"):
 *   "Obj" 0x01
 *   metadata: map<string,bytes> as Avro map blocks: count (zig-zag long),
 *             count x (key string, value bytes), then 0. Always includes
 *             "avro.schema" (the writer schema JSON) and "avro.codec" = "null".
 *   16-byte sync marker (random per file)
 *   blocks: record count (long), byte size (long), the records, sync marker.
 * Records are encoded by the caller with the avro_put_* primitives (binary
 * encoding: int/long zig-zag varints, float/double IEEE LE, bytes/string =
 * long length + bytes, union = long branch index + value, array/map = blocks
 * of (count, items) ending with 0).
 *
 * The reader decodes any file whose codec is "null" or "deflate" using the
 * writer schema in its header, into jansson values: record -> object, enum ->
 * string, array -> array, map -> object, union -> the branch value (null ->
 * json null), int/long -> integer, float/double -> real, boolean -> true/false,
 * string -> string, bytes/fixed -> a string made with json_stringn_nocheck
 * holding the raw bytes (read with json_string_value + json_string_length).
 * A NaN or infinite float/double becomes the string "NaN", "Infinity" or
 * "-Infinity" (jansson has no such reals). Logical types are ignored.
 * Every length and count is bounds-checked: a corrupt file is an error
 * (FLOE_ECORRUPT, message with the byte offset), never a crash; an
 * unsupported codec is FLOE_EINVAL.
 * Not thread-safe per writer; the reader is reentrant.
 */
#ifndef FLOE_AVRO_H
#define FLOE_AVRO_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* --- binary encoding primitives (append to b) --- */
void avro_put_long(buf *b, int64_t v); /* zig-zag varint; int uses the same */
void avro_put_int(buf *b, int32_t v);
void avro_put_bool(buf *b, int v);
void avro_put_double(buf *b, double v);
void avro_put_float(buf *b, float v);
void avro_put_bytes(buf *b, const void *p, size_t n);
void avro_put_string(buf *b, const char *s); /* NUL-terminated */
/* Union helpers for ["null", T]: branch 0 = null, 1 = value. */
void avro_put_null_branch(buf *b);
void avro_put_value_branch(buf *b);

/* --- container file writer --- */
typedef struct avro_writer avro_writer;

typedef struct avro_meta {
	const char *key;
	const char *value; /* stored as bytes */
} avro_meta;

/* Starts a file into `out` (appended to; owned by the caller, must outlive w).
 * schema_json is the writer schema (FLOE_EINVAL if it is not a valid Avro
 * schema); meta adds header entries besides avro.schema/avro.codec (keys
 * starting with "avro." are reserved: FLOE_EINVAL). */
int avro_writer_open(buf *out, const char *schema_json, const avro_meta *meta, size_t nmeta,
                     avro_writer **w, char *err);
/* The buffer to encode the next record into (owned by w); call
 * avro_writer_end_record after each record. A record begun but not ended is
 * dropped by the next avro_writer_record or by close. Blocks are flushed every
 * ~64 KiB of records. */
buf *avro_writer_record(avro_writer *w);
int avro_writer_end_record(avro_writer *w, char *err);
/* Flushes the last block and frees w (also on error). */
int avro_writer_close(avro_writer *w, char *err);

/* --- reader --- */
/* Decodes a whole container file. *meta_out: object of header metadata
 * (values as strings, avro.schema included); *records_out: array of records.
 * Both owned by the caller (json_decref). */
int avro_read(const uint8_t *data, size_t len, json_t **meta_out, json_t **records_out, char *err);

#endif
