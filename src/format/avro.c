/*
 * avro — Avro object container files: the binary encoding, a container
 * writer, and a schema-driven reader into jansson values (contract in avro.h).
 * Byte formats only: Iceberg's manifests are built on top in iceberg/manifest.c.
 *
 * Byte layout of a file this module writes (Avro 1.11, "Object Container Files"):
 *
 *   bytes  content
 *   4      magic "Obj" 0x01
 *   ...    header metadata, an Avro map<bytes>: long N (= 2 + caller's entries),
 *          N x (string key, bytes value), long 0. First "avro.schema" (the
 *          writer schema JSON), then "avro.codec" = "null", then the caller's
 *          entries in the order given.
 *   16     sync marker, random per file (getrandom)
 *   then zero or more blocks, each:
 *     long   record count (> 0)
 *     long   byte size of the encoded records
 *     ...    the records, back to back
 *     16     the sync marker again
 *   A block is flushed once it holds AVRO_BLOCK_TARGET bytes, and at close.
 *
 * Binary encoding (Avro 1.11, "Binary Encoding"):
 *   int, long     zig-zag, then base-128 varint, low 7 bits first, high bit set
 *                 on every byte but the last: 0 -> 00, -1 -> 01, 1 -> 02,
 *                 -64 -> 7f, 64 -> 80 01, INT64_MAX -> fe ff.. ff 01 (10 bytes).
 *   float/double  IEEE 754 little-endian, 4 / 8 bytes.
 *   boolean       one byte, 0 or 1.
 *   bytes/string  long length, then the bytes (a string is UTF-8).
 *   union         long branch index, then the branch's value.
 *   array/map     blocks of long count then the items (a map item is a string
 *                 key and a value), ending with count 0; a negative count -n
 *                 is followed by the block's byte size (we never write those).
 *   record        the fields in schema order; enum: int symbol index;
 *                 fixed: exactly `size` bytes; null: nothing.
 *
 * Rules the reader enforces; a file breaking one is FLOE_ECORRUPT with the byte
 * offset (in a deflate block: the offset within the inflated block and the
 * file offset of the block):
 *   1. Every length, count and index is checked against the bytes left before
 *      anything is read or allocated. n items whose smallest encoding is k > 0
 *      bytes need n*k bytes left; items that may take zero bytes (null, empty
 *      records) draw on a budget of one per input byte, so memory stays
 *      proportional to the input.
 *   2. A block's records end exactly at its byte size; each block ends with
 *      the header's sync marker.
 *   3. Varints fit their type (a long in 10 bytes, an int in 32 bits),
 *      booleans are 0 or 1, strings are UTF-8, union and enum indexes exist.
 *   4. Schemas and values nest at most AVRO_MAX_DEPTH levels, so a recursive
 *      schema cannot run the stack out.
 *   5. A deflate block is one complete raw deflate stream (bytes after its
 *      end are ignored, as other readers do) inflating to at most
 *      AVRO_MAX_BLOCK bytes (else FLOE_ETOOBIG); the buffer grows by
 *      doubling, so it never exceeds twice what the input inflates to.
 * An unsupported codec is FLOE_EINVAL; allocation failure FLOE_ENOMEM.
 *
 * Threads: a writer belongs to one thread; avro_read keeps no state.
 */
#define ZLIB_CONST
#include "format/avro.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <zlib.h>

#include "base/err.h"

#define AVRO_MAGIC        "Obj\x01"
#define AVRO_MAGIC_LEN    4
#define AVRO_SYNC_LEN     16
#define AVRO_BLOCK_TARGET (64 * 1024)
#define AVRO_MAX_DEPTH    128
#define AVRO_MAX_BLOCK    ((size_t)64 << 20)

/* ------------------------------------------------------------------------ */
/* Encoding                                                                  */

void avro_put_long(buf *b, int64_t v)
{
	/* zig-zag maps 0, -1, 1, -2 ... to 0, 1, 2, 3 ...; done on the unsigned
	 * value so no negative number is shifted. */
	uint64_t u = (uint64_t)v << 1;
	if (v < 0)
		u = ~u;
	uint8_t t[10];
	size_t n = 0;
	while (u >= 0x80) {
		t[n++] = (uint8_t)(u | 0x80);
		u >>= 7;
	}
	t[n++] = (uint8_t)u;
	buf_append(b, t, n);
}

void avro_put_int(buf *b, int32_t v)
{
	avro_put_long(b, v);
}

void avro_put_bool(buf *b, int v)
{
	buf_put_u8(b, v ? 1 : 0);
}

void avro_put_double(buf *b, double v)
{
	uint64_t u;
	memcpy(&u, &v, sizeof u);
	buf_put_le64(b, u);
}

void avro_put_float(buf *b, float v)
{
	uint32_t u;
	memcpy(&u, &v, sizeof u);
	buf_put_le32(b, u);
}

void avro_put_bytes(buf *b, const void *p, size_t n)
{
	avro_put_long(b, (int64_t)n);
	buf_append(b, p, n);
}

void avro_put_string(buf *b, const char *s)
{
	avro_put_bytes(b, s, strlen(s));
}

void avro_put_null_branch(buf *b)
{
	avro_put_long(b, 0);
}

void avro_put_value_branch(buf *b)
{
	avro_put_long(b, 1);
}

/* ------------------------------------------------------------------------ */
/* Schemas: the writer schema JSON compiled into a graph of nodes            */

typedef enum avro_kind {
	AK_NULL,
	AK_BOOLEAN,
	AK_INT,
	AK_LONG,
	AK_FLOAT,
	AK_DOUBLE,
	AK_BYTES,
	AK_STRING,
	AK_RECORD,
	AK_ENUM,
	AK_ARRAY,
	AK_MAP,
	AK_UNION,
	AK_FIXED,
} avro_kind;

typedef struct avro_node avro_node;
struct avro_node {
	avro_kind kind;
	size_t n;                      /* RECORD fields, ENUM symbols, UNION branches, FIXED size */
	const avro_node *const *types; /* RECORD field types, UNION branches, ARRAY/MAP items */
	const char **names; /* RECORD field names, ENUM symbols (borrowed from the JSON) */
	size_t min_size;    /* fewest bytes a value can take (a lower bound) */
	char *fullname;     /* named types: namespace.name */
	char *space;        /* named types: the namespace their children inherit */
	avro_node *next;    /* every allocated node, for freeing */
};

/* Primitives are shared constants; complex types are allocated per schema. */
static const avro_node avro_prim[] = {
    [AK_NULL] = {.kind = AK_NULL, .min_size = 0},
    [AK_BOOLEAN] = {.kind = AK_BOOLEAN, .min_size = 1},
    [AK_INT] = {.kind = AK_INT, .min_size = 1},
    [AK_LONG] = {.kind = AK_LONG, .min_size = 1},
    [AK_FLOAT] = {.kind = AK_FLOAT, .min_size = 4},
    [AK_DOUBLE] = {.kind = AK_DOUBLE, .min_size = 8},
    [AK_BYTES] = {.kind = AK_BYTES, .min_size = 1},
    [AK_STRING] = {.kind = AK_STRING, .min_size = 1},
};
static const char *const avro_prim_names[] = {
    [AK_NULL] = "null",   [AK_BOOLEAN] = "boolean", [AK_INT] = "int",     [AK_LONG] = "long",
    [AK_FLOAT] = "float", [AK_DOUBLE] = "double",   [AK_BYTES] = "bytes", [AK_STRING] = "string",
};

/* The header metadata is itself decoded as a map<bytes>. */
static const avro_node *const avro_meta_values[] = {&avro_prim[AK_BYTES]};
static const avro_node avro_meta_node = {
    .kind = AK_MAP, .n = 1, .types = avro_meta_values, .min_size = 1};

typedef struct avro_schema {
	json_t *json;          /* keeps the borrowed names alive */
	avro_node *nodes;      /* allocated nodes */
	const avro_node *root; /* may point into avro_prim */
} avro_schema;

typedef struct avro_cctx {
	avro_schema *s;
	int code; /* error code for a bad schema: EINVAL writing, ECORRUPT reading */
	char *err;
} avro_cctx;

static size_t avro_add_size(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static void avro_schema_free(avro_schema *s)
{
	if (!s)
		return;
	avro_node *n = s->nodes;
	while (n) {
		avro_node *next = n->next;
		free((void *)n->types);
		free(n->names);
		free(n->fullname);
		free(n->space);
		free(n);
		n = next;
	}
	json_decref(s->json);
	free(s);
}

static int avro_schema_bad(avro_cctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int avro_schema_bad(avro_cctx *c, const char *fmt, ...)
{
	char what[ERR_LEN - 32];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	return errf(c->err, c->code, "avro: bad schema: %s", what);
}

static avro_node *avro_node_new(avro_cctx *c, avro_kind kind, size_t n)
{
	avro_node *node = calloc(1, sizeof *node);
	if (!node)
		return NULL;
	node->kind = kind;
	node->next = c->s->nodes;
	c->s->nodes = node;
	if (kind == AK_RECORD || kind == AK_UNION || kind == AK_ARRAY || kind == AK_MAP) {
		/* +1: calloc(0) may return NULL, which would read as a failure. */
		node->types = calloc(n + 1, sizeof *node->types);
		if (!node->types)
			return NULL;
	}
	if (kind == AK_RECORD || kind == AK_ENUM) {
		node->names = calloc(n + 1, sizeof *node->names);
		if (!node->names)
			return NULL;
	}
	node->n = n;
	return node;
}

static const avro_node *avro_find_named(const avro_schema *s, const char *fullname)
{
	for (const avro_node *n = s->nodes; n; n = n->next)
		if (n->fullname && strcmp(n->fullname, fullname) == 0)
			return n;
	return NULL;
}

/* A type given by name: a primitive or a named type defined earlier (a name
 * without a dot is looked up in the enclosing namespace first). */
static int avro_compile_name(avro_cctx *c, const char *name, const char *ns, const avro_node **out)
{
	for (size_t i = 0; i < sizeof avro_prim_names / sizeof *avro_prim_names; i++) {
		if (strcmp(name, avro_prim_names[i]) == 0) {
			*out = &avro_prim[i];
			return 0;
		}
	}
	if (!strchr(name, '.') && ns && *ns) {
		char *full;
		if (asprintf(&full, "%s.%s", ns, name) < 0)
			return errf(c->err, FLOE_ENOMEM, "avro: out of memory");
		*out = avro_find_named(c->s, full);
		free(full);
		if (*out)
			return 0;
	}
	*out = avro_find_named(c->s, name);
	if (!*out)
		return avro_schema_bad(c, "unknown type '%s'", name);
	return 0;
}

/* Registers a record, enum or fixed under its full name before its children
 * are compiled, so a record may refer to itself. */
static int avro_new_named(avro_cctx *c, const json_t *j, const char *ns, avro_kind kind, size_t n,
                          avro_node **out)
{
	const char *name = json_string_value(json_object_get(j, "name"));
	if (!name || !*name)
		return avro_schema_bad(c, "a named type has no \"name\"");
	const json_t *jns = json_object_get(j, "namespace");
	if (json_is_string(jns))
		ns = json_string_value(jns);
	char *full;
	int rc;
	if (strchr(name, '.') || !ns || !*ns)
		rc = asprintf(&full, "%s", name);
	else
		rc = asprintf(&full, "%s.%s", ns, name);
	if (rc < 0)
		return errf(c->err, FLOE_ENOMEM, "avro: out of memory");
	if (avro_find_named(c->s, full)) {
		rc = avro_schema_bad(c, "type '%s' is defined twice", full);
		free(full);
		return rc;
	}
	avro_node *node = avro_node_new(c, kind, n);
	if (!node) {
		free(full);
		return errf(c->err, FLOE_ENOMEM, "avro: out of memory");
	}
	node->fullname = full;
	const char *dot = strrchr(full, '.');
	node->space = strndup(full, dot ? (size_t)(dot - full) : 0);
	if (!node->space)
		return errf(c->err, FLOE_ENOMEM, "avro: out of memory");
	*out = node;
	return 0;
}

static int avro_compile(avro_cctx *c, const json_t *j, const char *ns, int depth,
                        const avro_node **out);

static int avro_compile_record(avro_cctx *c, const json_t *j, const char *ns, int depth,
                               const avro_node **out)
{
	const json_t *fields = json_object_get(j, "fields");
	if (!json_is_array(fields))
		return avro_schema_bad(c, "record has no \"fields\" array");
	avro_node *node;
	int rc = avro_new_named(c, j, ns, AK_RECORD, json_array_size(fields), &node);
	if (rc)
		return rc;
	const avro_node **types = (const avro_node **)node->types;
	for (size_t i = 0; i < node->n; i++) {
		const json_t *f = json_array_get(fields, i);
		const char *fname = json_string_value(json_object_get(f, "name"));
		const json_t *ft = json_object_get(f, "type");
		if (!fname || !ft)
			return avro_schema_bad(c, "field %zu of record '%s' lacks a name or type",
			                       i, node->fullname);
		node->names[i] = fname;
		rc = avro_compile(c, ft, node->space, depth + 1, &types[i]);
		if (rc)
			return rc;
		/* A reference to a record still being compiled counts 0: a lower bound. */
		node->min_size = avro_add_size(node->min_size, types[i]->min_size);
	}
	*out = node;
	return 0;
}

static int avro_compile_enum(avro_cctx *c, const json_t *j, const char *ns, const avro_node **out)
{
	const json_t *syms = json_object_get(j, "symbols");
	if (!json_is_array(syms))
		return avro_schema_bad(c, "enum has no \"symbols\" array");
	avro_node *node;
	int rc = avro_new_named(c, j, ns, AK_ENUM, json_array_size(syms), &node);
	if (rc)
		return rc;
	for (size_t i = 0; i < node->n; i++) {
		node->names[i] = json_string_value(json_array_get(syms, i));
		if (!node->names[i])
			return avro_schema_bad(c, "enum '%s' has a symbol that is not a string",
			                       node->fullname);
	}
	node->min_size = 1;
	*out = node;
	return 0;
}

static int avro_compile_fixed(avro_cctx *c, const json_t *j, const char *ns, const avro_node **out)
{
	const json_t *size = json_object_get(j, "size");
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return avro_schema_bad(c, "fixed has no valid \"size\"");
	avro_node *node;
	int rc = avro_new_named(c, j, ns, AK_FIXED, 0, &node);
	if (rc)
		return rc;
	node->n = (size_t)json_integer_value(size);
	node->min_size = node->n;
	*out = node;
	return 0;
}

/* array (items), map (values) and union (branches): nodes with child types. */
static int avro_compile_container(avro_cctx *c, avro_kind kind, const json_t *children,
                                  const char *ns, int depth, const avro_node **out)
{
	size_t n = kind == AK_UNION ? json_array_size(children) : 1;
	avro_node *node = avro_node_new(c, kind, n);
	if (!node)
		return errf(c->err, FLOE_ENOMEM, "avro: out of memory");
	const avro_node **types = (const avro_node **)node->types;
	size_t smallest = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		const json_t *cj = kind == AK_UNION ? json_array_get(children, i) : children;
		int rc = avro_compile(c, cj, ns, depth + 1, &types[i]);
		if (rc)
			return rc;
		if (types[i]->min_size < smallest)
			smallest = types[i]->min_size;
	}
	/* One byte for the branch index or the terminating block count. */
	node->min_size = kind == AK_UNION && n ? avro_add_size(1, smallest) : 1;
	*out = node;
	return 0;
}

static int avro_compile(avro_cctx *c, const json_t *j, const char *ns, int depth,
                        const avro_node **out)
{
	if (depth > AVRO_MAX_DEPTH)
		return avro_schema_bad(c, "nested deeper than %d levels", AVRO_MAX_DEPTH);
	if (json_is_string(j))
		return avro_compile_name(c, json_string_value(j), ns, out);
	if (json_is_array(j))
		return avro_compile_container(c, AK_UNION, j, ns, depth, out);
	if (!json_is_object(j))
		return avro_schema_bad(c, "a type is neither a name, a union nor an object");
	const json_t *t = json_object_get(j, "type");
	if (!t)
		return avro_schema_bad(c, "a type object has no \"type\"");
	if (!json_is_string(t))
		return avro_compile(c, t, ns, depth + 1, out);
	const char *tn = json_string_value(t);
	if (strcmp(tn, "record") == 0 || strcmp(tn, "error") == 0)
		return avro_compile_record(c, j, ns, depth, out);
	if (strcmp(tn, "enum") == 0)
		return avro_compile_enum(c, j, ns, out);
	if (strcmp(tn, "fixed") == 0)
		return avro_compile_fixed(c, j, ns, out);
	if (strcmp(tn, "array") == 0 || strcmp(tn, "map") == 0) {
		int is_array = tn[0] == 'a';
		const json_t *items = json_object_get(j, is_array ? "items" : "values");
		if (!items)
			return avro_schema_bad(c, "%s without \"%s\"", tn,
			                       is_array ? "items" : "values");
		return avro_compile_container(c, is_array ? AK_ARRAY : AK_MAP, items, ns, depth,
		                              out);
	}
	/* A primitive with attributes such as logicalType, which we ignore. */
	return avro_compile_name(c, tn, ns, out);
}

/* Compiles schema text; `code` is the error code for an invalid schema. */
static int avro_schema_parse(const char *text, size_t len, int code, avro_schema **out, char *err)
{
	*out = NULL;
	avro_schema *s = calloc(1, sizeof *s);
	if (!s)
		return errf(err, FLOE_ENOMEM, "avro: out of memory");
	int rc;
	json_error_t jerr;
	s->json = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
	if (!s->json) {
		rc = errf(err, code, "avro: schema is not JSON: %s (line %d, column %d)", jerr.text,
		          jerr.line, jerr.column);
		goto fail;
	}
	avro_cctx c = {.s = s, .code = code, .err = err};
	rc = avro_compile(&c, s->json, "", 0, &s->root);
	if (rc)
		goto fail;
	*out = s;
	return 0;
fail:
	avro_schema_free(s);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Container writer                                                          */

struct avro_writer {
	buf *out;
	buf block;     /* records of the block being filled */
	size_t done;   /* block bytes up to the end of the last ended record */
	int64_t count; /* records ended in the block */
	uint8_t sync[AVRO_SYNC_LEN];
};

static int avro_random(uint8_t *p, size_t n, char *err)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errf(err, FLOE_EIO, "avro: getrandom: %s", strerror(errno));
		}
		got += (size_t)r;
	}
	return 0;
}

int avro_writer_open(buf *out, const char *schema_json, const avro_meta *meta, size_t nmeta,
                     avro_writer **w, char *err)
{
	*w = NULL;
	for (size_t i = 0; i < nmeta; i++) {
		if (!meta[i].key || !meta[i].value)
			return errf(err, FLOE_EINVAL,
			            "avro: metadata entry %zu has no key or value", i);
		/* The spec reserves "avro." keys; ours are written below. */
		if (strncmp(meta[i].key, "avro.", 5) == 0)
			return errf(err, FLOE_EINVAL, "avro: metadata key '%s' is reserved",
			            meta[i].key);
	}
	/* Checking the schema here catches a writer bug before any reader does. */
	avro_schema *s;
	int rc = avro_schema_parse(schema_json, strlen(schema_json), FLOE_EINVAL, &s, err);
	if (rc)
		return rc;
	avro_schema_free(s);

	avro_writer *nw = calloc(1, sizeof *nw);
	if (!nw)
		return errf(err, FLOE_ENOMEM, "avro: out of memory");
	rc = avro_random(nw->sync, sizeof nw->sync, err);
	if (rc)
		goto fail;
	nw->out = out;
	buf_append(out, AVRO_MAGIC, AVRO_MAGIC_LEN);
	avro_put_long(out, (int64_t)nmeta + 2);
	avro_put_string(out, "avro.schema");
	avro_put_string(out, schema_json);
	avro_put_string(out, "avro.codec");
	avro_put_string(out, "null");
	for (size_t i = 0; i < nmeta; i++) {
		avro_put_string(out, meta[i].key);
		avro_put_string(out, meta[i].value);
	}
	avro_put_long(out, 0);
	buf_append(out, nw->sync, sizeof nw->sync);
	if (!buf_ok(out)) {
		rc = errf(err, FLOE_ENOMEM, "avro: out of memory writing the header");
		goto fail;
	}
	*w = nw;
	return 0;
fail:
	free(nw);
	return rc;
}

buf *avro_writer_record(avro_writer *w)
{
	/* Drops the bytes of a record that was started but never ended. */
	w->block.len = w->done;
	return &w->block;
}

static int avro_writer_flush(avro_writer *w, char *err)
{
	if (w->count == 0)
		return 0;
	avro_put_long(w->out, w->count);
	avro_put_long(w->out, (int64_t)w->done);
	buf_append(w->out, w->block.data, w->done);
	buf_append(w->out, w->sync, sizeof w->sync);
	buf_reset(&w->block);
	w->done = 0;
	w->count = 0;
	if (!buf_ok(w->out))
		return errf(err, FLOE_ENOMEM, "avro: out of memory writing a block");
	return 0;
}

int avro_writer_end_record(avro_writer *w, char *err)
{
	if (!buf_ok(&w->block))
		return errf(err, FLOE_ENOMEM, "avro: out of memory encoding a record");
	w->done = w->block.len;
	w->count++;
	if (w->done >= AVRO_BLOCK_TARGET)
		return avro_writer_flush(w, err);
	return 0;
}

int avro_writer_close(avro_writer *w, char *err)
{
	if (!w)
		return 0;
	int rc = buf_ok(&w->block)
	             ? avro_writer_flush(w, err)
	             : errf(err, FLOE_ENOMEM, "avro: out of memory encoding a record");
	buf_release(&w->block);
	free(w);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Reader                                                                    */

typedef struct avro_in {
	const uint8_t *p;
	size_t len;
	size_t pos;
	size_t base;    /* file offset of p[0]; of the block when inflated */
	int inflated;   /* p is an inflated deflate block */
	size_t *budget; /* zero-byte items still allowed (rule 1) */
	char *err;
} avro_in;

static int avro_corrupt_at(const avro_in *in, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int avro_corrupt_at(const avro_in *in, size_t at, const char *fmt, ...)
{
	char what[ERR_LEN - 96];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (in->inflated)
		return errf(in->err, FLOE_ECORRUPT,
		            "avro: %s at byte %zu of the deflate block at file offset %zu", what,
		            at, in->base);
	return errf(in->err, FLOE_ECORRUPT, "avro: %s at byte offset %zu", what, in->base + at);
}

static int avro_oom(const avro_in *in)
{
	return errf(in->err, FLOE_ENOMEM, "avro: out of memory decoding");
}

static int avro_get_long(avro_in *in, int64_t *v)
{
	size_t at = in->pos;
	uint64_t u = 0;
	for (int shift = 0;; shift += 7) {
		if (in->pos >= in->len)
			return avro_corrupt_at(in, at, "truncated varint");
		uint8_t byte = in->p[in->pos++];
		/* The tenth byte holds the 64th bit only. */
		if (shift == 63 && byte > 1)
			return avro_corrupt_at(in, at, "varint longer than 64 bits");
		u |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			break;
	}
	*v = (u & 1) ? -(int64_t)(u >> 1) - 1 : (int64_t)(u >> 1);
	return 0;
}

static int avro_get_int(avro_in *in, int32_t *v)
{
	size_t at = in->pos;
	int64_t l;
	int rc = avro_get_long(in, &l);
	if (rc)
		return rc;
	if (l < INT32_MIN || l > INT32_MAX)
		return avro_corrupt_at(in, at, "int %lld out of range", (long long)l);
	*v = (int32_t)l;
	return 0;
}

/* A length prefix: non-negative and no longer than what is left. */
static int avro_get_len(avro_in *in, size_t *n)
{
	size_t at = in->pos;
	int64_t l;
	int rc = avro_get_long(in, &l);
	if (rc)
		return rc;
	if (l < 0 || (uint64_t)l > in->len - in->pos)
		return avro_corrupt_at(in, at, "length %lld exceeds the %zu bytes left",
		                       (long long)l, in->len - in->pos);
	*n = (size_t)l;
	return 0;
}

static int avro_need(avro_in *in, size_t n, const char *what)
{
	if (in->len - in->pos < n)
		return avro_corrupt_at(in, in->pos, "truncated %s", what);
	return 0;
}

/* Rule 1: may `count` items of at least item_min bytes each follow? */
static int avro_check_count(avro_in *in, size_t at, int64_t count, size_t item_min)
{
	size_t left = in->len - in->pos;
	if (count < 0)
		return avro_corrupt_at(in, at, "negative count %lld", (long long)count);
	if (item_min > 0) {
		if ((uint64_t)count > left / item_min)
			return avro_corrupt_at(in, at, "count %lld exceeds the %zu bytes left",
			                       (long long)count, left);
		return 0;
	}
	if ((uint64_t)count > *in->budget)
		return avro_corrupt_at(in, at, "count %lld of empty items is implausibly large",
		                       (long long)count);
	*in->budget -= (size_t)count;
	return 0;
}

static int avro_utf8_ok(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t k;
		uint32_t cp, min;
		if ((c & 0xe0) == 0xc0) {
			k = 1, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return 0;
		}
		if (n - i - 1 < k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		/* Overlong forms, surrogates and code points past Unicode. */
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

static int avro_made(const avro_in *in, json_t *j, json_t **out)
{
	if (!j)
		return avro_oom(in);
	*out = j;
	return 0;
}

/* jansson holds no NaN or infinity: those become the strings Avro's JSON
 * encoding uses. */
static int avro_real(const avro_in *in, double d, json_t **out)
{
	if (isfinite(d))
		return avro_made(in, json_real(d), out);
	return avro_made(in, json_string(isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity"), out);
}

static int avro_decode(avro_in *in, const avro_node *n, int depth, json_t **out);

/* Array and map: blocks of items until a zero count. */
static int avro_decode_blocks(avro_in *in, const avro_node *n, int depth, json_t **out)
{
	int is_map = n->kind == AK_MAP;
	size_t item_min = avro_add_size(n->types[0]->min_size, is_map ? 1 : 0);
	json_t *c = is_map ? json_object() : json_array();
	if (!c)
		return avro_oom(in);
	int rc;
	for (;;) {
		size_t at = in->pos;
		int64_t count;
		rc = avro_get_long(in, &count);
		if (rc)
			goto fail;
		if (count == 0)
			break;
		if (count < 0) {
			if (count == INT64_MIN) {
				rc = avro_corrupt_at(in, at, "block count out of range");
				goto fail;
			}
			count = -count;
			size_t size; /* only checked: the items are decoded anyway */
			rc = avro_get_len(in, &size);
			if (rc)
				goto fail;
		}
		rc = avro_check_count(in, at, count, item_min);
		if (rc)
			goto fail;
		for (int64_t i = 0; i < count; i++) {
			size_t klen = 0;
			const char *key = NULL;
			if (is_map) {
				size_t kat = in->pos;
				rc = avro_get_len(in, &klen);
				if (rc)
					goto fail;
				key = (const char *)in->p + in->pos;
				if (!avro_utf8_ok((const uint8_t *)key, klen)) {
					rc = avro_corrupt_at(in, kat, "map key is not UTF-8");
					goto fail;
				}
				in->pos += klen;
			}
			json_t *v;
			rc = avro_decode(in, n->types[0], depth + 1, &v);
			if (rc)
				goto fail;
			int jr = is_map ? json_object_setn_new_nocheck(c, key, klen, v)
			                : json_array_append_new(c, v);
			if (jr) {
				rc = avro_oom(in);
				goto fail;
			}
		}
	}
	*out = c;
	return 0;
fail:
	json_decref(c);
	return rc;
}

static int avro_decode_record(avro_in *in, const avro_node *n, int depth, json_t **out)
{
	json_t *obj = json_object();
	if (!obj)
		return avro_oom(in);
	int rc;
	for (size_t i = 0; i < n->n; i++) {
		json_t *v;
		rc = avro_decode(in, n->types[i], depth + 1, &v);
		if (rc)
			goto fail;
		/* Field names come from parsed JSON, so they are valid UTF-8. */
		if (json_object_set_new_nocheck(obj, n->names[i], v)) {
			rc = avro_oom(in);
			goto fail;
		}
	}
	*out = obj;
	return 0;
fail:
	json_decref(obj);
	return rc;
}

static int avro_decode(avro_in *in, const avro_node *n, int depth, json_t **out)
{
	size_t at = in->pos;
	int rc;
	if (depth > AVRO_MAX_DEPTH)
		return avro_corrupt_at(in, at, "values nested deeper than %d levels",
		                       AVRO_MAX_DEPTH);
	switch (n->kind) {
	case AK_NULL:
		return avro_made(in, json_null(), out);
	case AK_BOOLEAN:
		if ((rc = avro_need(in, 1, "boolean")))
			return rc;
		if (in->p[in->pos] > 1)
			return avro_corrupt_at(in, at, "boolean byte %u", (unsigned)in->p[in->pos]);
		in->pos++;
		return avro_made(in, in->p[at] ? json_true() : json_false(), out);
	case AK_INT: {
		int32_t v = 0;
		if ((rc = avro_get_int(in, &v)))
			return rc;
		return avro_made(in, json_integer(v), out);
	}
	case AK_LONG: {
		int64_t v = 0;
		if ((rc = avro_get_long(in, &v)))
			return rc;
		return avro_made(in, json_integer(v), out);
	}
	case AK_FLOAT: {
		if ((rc = avro_need(in, 4, "float")))
			return rc;
		uint32_t u = get_le32(in->p + in->pos);
		float f;
		memcpy(&f, &u, sizeof f);
		in->pos += 4;
		return avro_real(in, f, out);
	}
	case AK_DOUBLE: {
		if ((rc = avro_need(in, 8, "double")))
			return rc;
		uint64_t u = get_le64(in->p + in->pos);
		double d;
		memcpy(&d, &u, sizeof d);
		in->pos += 8;
		return avro_real(in, d, out);
	}
	case AK_BYTES:
	case AK_STRING:
	case AK_FIXED: {
		size_t len = n->n;
		if (n->kind == AK_FIXED)
			rc = avro_need(in, len, "fixed");
		else
			rc = avro_get_len(in, &len);
		if (rc)
			return rc;
		const uint8_t *p = in->p + in->pos;
		if (n->kind == AK_STRING && !avro_utf8_ok(p, len))
			return avro_corrupt_at(in, at, "string is not UTF-8");
		in->pos += len;
		return avro_made(in, json_stringn_nocheck((const char *)p, len), out);
	}
	case AK_ENUM:
	case AK_UNION: {
		int64_t idx;
		if ((rc = avro_get_long(in, &idx)))
			return rc;
		if (idx < 0 || (uint64_t)idx >= n->n)
			return avro_corrupt_at(in, at, "%s index %lld out of range (%zu)",
			                       n->kind == AK_ENUM ? "enum" : "union",
			                       (long long)idx, n->n);
		if (n->kind == AK_ENUM)
			return avro_made(in, json_string(n->names[idx]), out);
		return avro_decode(in, n->types[idx], depth + 1, out);
	}
	case AK_RECORD:
		return avro_decode_record(in, n, depth, out);
	case AK_ARRAY:
	case AK_MAP:
		return avro_decode_blocks(in, n, depth, out);
	}
	return avro_corrupt_at(in, at, "unknown schema kind");
}

/* Inflates one raw-deflate block into *dst (grown as needed, reused across
 * blocks); `at` is the block's file offset for messages. */
static int avro_inflate(const uint8_t *src, size_t n, size_t at, uint8_t **dst, size_t *cap,
                        size_t *out_len, char *err)
{
	if (n > UINT32_MAX)
		return errf(err, FLOE_ETOOBIG, "avro: deflate block at offset %zu is too large",
		            at);
	z_stream z;
	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, -15) != Z_OK)
		return errf(err, FLOE_ENOMEM, "avro: out of memory starting inflate");
	z.next_in = src;
	z.avail_in = (uInt)n;
	size_t used = 0;
	int rc = 0;
	for (;;) {
		if (used == *cap) {
			if (*cap >= AVRO_MAX_BLOCK) {
				rc = errf(
				    err, FLOE_ETOOBIG,
				    "avro: deflate block at offset %zu inflates past %zu bytes", at,
				    AVRO_MAX_BLOCK);
				goto fail;
			}
			size_t ncap = *cap ? *cap * 2 : (n < 16384 ? 65536 : n * 4);
			if (ncap > AVRO_MAX_BLOCK)
				ncap = AVRO_MAX_BLOCK;
			uint8_t *p = realloc(*dst, ncap);
			if (!p) {
				rc = errf(err, FLOE_ENOMEM, "avro: out of memory inflating");
				goto fail;
			}
			*dst = p;
			*cap = ncap;
		}
		z.next_out = *dst + used;
		z.avail_out = (uInt)(*cap - used);
		int zr = inflate(&z, Z_NO_FLUSH);
		used = *cap - z.avail_out;
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_MEM_ERROR) {
			rc = errf(err, FLOE_ENOMEM, "avro: out of memory inflating");
			goto fail;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = errf(err, FLOE_ECORRUPT,
			          "avro: deflate block at offset %zu is corrupt: %s", at,
			          z.msg ? z.msg : "bad data");
			goto fail;
		}
		/* inflate stops with output room left only when the input ran out. */
		if (z.avail_out > 0) {
			rc = errf(err, FLOE_ECORRUPT,
			          "avro: deflate block at offset %zu is truncated", at);
			goto fail;
		}
	}
	/* Bytes after the end of the stream are ignored, as Java's and Python's
	 * readers do: python3-avro leaves 3 bytes of the zlib checksum there. */
	*out_len = used;
fail:
	inflateEnd(&z);
	return rc;
}

int avro_read(const uint8_t *data, size_t len, json_t **meta_out, json_t **records_out, char *err)
{
	*meta_out = *records_out = NULL;
	json_t *meta = NULL, *records = NULL;
	avro_schema *schema = NULL;
	uint8_t *ibuf = NULL;
	size_t icap = 0;
	size_t budget = len;
	avro_in in = {.p = data, .len = len, .budget = &budget, .err = err};
	int rc;

	if (len < AVRO_MAGIC_LEN || memcmp(data, AVRO_MAGIC, AVRO_MAGIC_LEN) != 0) {
		rc = avro_corrupt_at(&in, 0, "no \"Obj\\x01\" magic: not an Avro container file");
		goto fail;
	}
	in.pos = AVRO_MAGIC_LEN;
	rc = avro_decode(&in, &avro_meta_node, 0, &meta);
	if (rc)
		goto fail;
	const json_t *js = json_object_get(meta, "avro.schema");
	if (!js) {
		rc = avro_corrupt_at(&in, AVRO_MAGIC_LEN, "header has no avro.schema");
		goto fail;
	}
	const char *codec = json_string_value(json_object_get(meta, "avro.codec"));
	int deflate = codec && strcmp(codec, "deflate") == 0;
	if (codec && !deflate && strcmp(codec, "null") != 0) {
		rc = errf(err, FLOE_EINVAL, "avro: codec '%s' is not supported (null, deflate)",
		          codec);
		goto fail;
	}
	rc = avro_schema_parse(json_string_value(js), json_string_length(js), FLOE_ECORRUPT,
	                       &schema, err);
	if (rc)
		goto fail;
	if ((rc = avro_need(&in, AVRO_SYNC_LEN, "sync marker")))
		goto fail;
	const uint8_t *sync = data + in.pos;
	in.pos += AVRO_SYNC_LEN;

	records = json_array();
	if (!records) {
		rc = avro_oom(&in);
		goto fail;
	}
	while (in.pos < len) {
		size_t at = in.pos;
		int64_t count;
		size_t size;
		if ((rc = avro_get_long(&in, &count)) || (rc = avro_get_len(&in, &size)))
			goto fail;
		if (count < 0) {
			rc =
			    avro_corrupt_at(&in, at, "negative block count %lld", (long long)count);
			goto fail;
		}
		if (len - in.pos - size < AVRO_SYNC_LEN) {
			rc = avro_corrupt_at(&in, at, "block has no room for its sync marker");
			goto fail;
		}
		avro_in blk = {
		    .p = data + in.pos, .len = size, .base = in.pos, .budget = &budget, .err = err};
		if (deflate) {
			rc = avro_inflate(data + in.pos, size, in.pos, &ibuf, &icap, &blk.len, err);
			if (rc)
				goto fail;
			blk.p = ibuf;
			blk.inflated = 1;
			budget = avro_add_size(budget, blk.len);
		}
		if ((rc = avro_check_count(&blk, 0, count, schema->root->min_size)))
			goto fail;
		for (int64_t i = 0; i < count; i++) {
			json_t *rec;
			if ((rc = avro_decode(&blk, schema->root, 0, &rec)))
				goto fail;
			if (json_array_append_new(records, rec)) {
				rc = avro_oom(&in);
				goto fail;
			}
		}
		if (blk.pos != blk.len) {
			rc = avro_corrupt_at(&blk, blk.pos,
			                     "%zu bytes after the block's %lld records",
			                     blk.len - blk.pos, (long long)count);
			goto fail;
		}
		in.pos += size;
		if (memcmp(data + in.pos, sync, AVRO_SYNC_LEN) != 0) {
			rc = avro_corrupt_at(&in, in.pos, "sync marker differs from the header's");
			goto fail;
		}
		in.pos += AVRO_SYNC_LEN;
	}
	free(ibuf);
	avro_schema_free(schema);
	*meta_out = meta;
	*records_out = records;
	return 0;
fail:
	free(ibuf);
	avro_schema_free(schema);
	json_decref(meta);
	json_decref(records);
	return rc;
}
