/*
 * dv — deletion vectors: the set of deleted row positions of one data file,
 * and its Iceberg v3 `deletion-vector-v1` blob encoding (the bytes that go
 * into a Puffin file; see puffin.h for the container).
 *
 * Positions are row ordinals in the data file, 0-based. A dv holds any set of
 * positions in [0, DV_MAX_POSITION]; that bound is Java Iceberg's
 * (RoaringPositionBitmap.MAX_POSITION), so every DV we write is one Java can
 * read. The exact blob layout, the validation rules of dv_parse_blob and the
 * representation are described at the top of dv.c.
 *
 * Errors: functions return 0 or a negative FLOE_* code (base/err.h);
 * dv_parse_blob also writes a one-line reason into err (ERR_LEN bytes, may be
 * NULL). CRoaring 0.2.66 does not report allocation failures inside its own
 * container operations (add, or, run-optimize); FLOE_ENOMEM covers every
 * allocation this module makes itself and every CRoaring call that can report
 * one (create, copy, deserialize).
 *
 * Threads: a dv has no internal locking. Const functions never modify the
 * set or its representation, so any number of threads may call them on a dv
 * that no thread is modifying.
 */
#ifndef FLOE_DV_H
#define FLOE_DV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

/* Largest storable position: key (high 32 bits) Integer.MAX_VALUE - 1, low 32
 * bits Integer.MIN_VALUE as unsigned; what Java Iceberg accepts. */
#define DV_MAX_POSITION UINT64_C(0x7FFFFFFE80000000)
/* Largest key (position >> 32) a blob may carry. */
#define DV_MAX_KEY UINT32_C(0x7FFFFFFE)
/* The blob's magic, bytes 4..7 of a deletion-vector-v1 blob. */
#define DV_MAGIC "\xD1\xD3\x39\x64"
/* Bytes a blob adds around the serialized vector: length, magic, CRC. */
#define DV_BLOB_OVERHEAD 12

typedef struct dv dv;

/* Creates an empty set into *out (free with dv_free). FLOE_ENOMEM. */
int dv_new(dv **out);
/* Frees d and everything it owns; dv_free(NULL) is a no-op. */
void dv_free(dv *d);

/* Adds one position (adding a present one is a no-op). FLOE_EINVAL when
 * pos > DV_MAX_POSITION (d unchanged), FLOE_ENOMEM. */
int dv_add(dv *d, uint64_t pos);
/* Whether pos is in the set (false for any pos > DV_MAX_POSITION). */
bool dv_contains(const dv *d, uint64_t pos);
/* Number of positions in the set. */
uint64_t dv_cardinality(const dv *d);
/* dst becomes dst ∪ src; src is not modified (src == dst is allowed).
 * FLOE_ENOMEM leaves dst unchanged. */
int dv_union(dv *dst, const dv *src);

/* Calls fn(arg, pos) for every position in ascending order. A nonzero return
 * from fn stops the walk and is returned; otherwise returns 0. fn must not
 * modify d. */
typedef int (*dv_iter_fn)(void *arg, uint64_t pos);
int dv_iterate(const dv *d, dv_iter_fn fn, void *arg);

/* Appends d's deletion-vector-v1 blob (length prefix, magic, vector, CRC) to
 * out. Containers are run-optimised on a private copy, so d itself keeps its
 * representation. Returns 0, FLOE_ENOMEM (out poisoned, see buf.h),
 * FLOE_ETOOBIG (a blob past 2^31 - 1 bytes, which Java cannot read) or
 * FLOE_ECORRUPT (CRoaring produced bytes that break the portable-format
 * rules — a library bug caught before it reaches a file). On error out->len
 * is restored to its value at the call. */
int dv_serialize_blob(const dv *d, buf *out);

/* Decodes one whole deletion-vector-v1 blob (exactly n bytes: length prefix
 * through CRC) into a new set *out (free with dv_free; NULL on error). Every
 * rule listed in dv.c is checked before CRoaring sees the bytes; a blob that
 * breaks one is FLOE_ECORRUPT with the reason in err. FLOE_ENOMEM. */
int dv_parse_blob(const uint8_t *p, size_t n, dv **out, char *err);

#endif
