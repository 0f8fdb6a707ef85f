/*
 * buf — a growable byte buffer and the little/big-endian integer helpers
 * every on-disk and wire format in floe writes through.
 *
 * Invariants:
 *   1. data[0..len) is the content; cap >= len; data may be NULL when cap == 0.
 *   2. A buffer whose allocation failed is "poisoned" (oom = 1): later appends
 *      are no-ops, so a writer can append freely and check buf_ok() once.
 * Not thread-safe; a buffer belongs to one owner. buf_free(NULL) is a no-op.
 */
#ifndef FLOE_BUF_H
#define FLOE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int oom;
} buf;

/* Makes room for n more bytes; returns 0 or -1 (and poisons b) on OOM. */
int buf_reserve(buf *b, size_t n);
void buf_append(buf *b, const void *p, size_t n);
void buf_append_str(buf *b, const char *s);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline int buf_ok(const buf *b)
{
	return !b->oom;
}
static inline void buf_reset(buf *b)
{
	b->len = 0;
}
/* Releases the memory; b is left empty and reusable. */
void buf_release(buf *b);
/* Hands the content to the caller (who frees it with free()); b is left empty. */
uint8_t *buf_steal(buf *b, size_t *len_out);

static inline void buf_put_u8(buf *b, uint8_t v)
{
	if (b->len < b->cap)
		b->data[b->len++] = v;
	else
		buf_append(b, &v, 1);
}

/* Integers to and from memory, byte by byte: no struct casts, no alignment. */
static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}
static inline void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}
static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}
static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}
static inline uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | (uint64_t)get_be32(p + 4);
}

static inline void buf_put_le32(buf *b, uint32_t v)
{
	uint8_t t[4];
	put_le32(t, v);
	buf_append(b, t, 4);
}
static inline void buf_put_le64(buf *b, uint64_t v)
{
	uint8_t t[8];
	put_le64(t, v);
	buf_append(b, t, 8);
}
static inline void buf_put_be32(buf *b, uint32_t v)
{
	uint8_t t[4];
	put_be32(t, v);
	buf_append(b, t, 4);
}

#endif
