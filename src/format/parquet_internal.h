/*
 * parquet_internal — what floe's Parquet writer (parquet.c) and reader
 * (parquet_read.c) share: the numbers of the parquet-format thrift enums
 * and unions (parquet.thrift, apache/parquet-format) and tiny helpers.
 * Private to src/format/; the public contracts are parquet.h and
 * parquet_read.h. The physical types and codecs are public (pq_physical,
 * pq_codec in parquet.h).
 */
#ifndef FLOE_PARQUET_INTERNAL_H
#define FLOE_PARQUET_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define PQ_MAGIC           "PAR1"
#define PQ_MAGIC_ENCRYPTED "PARE" /* encrypted footer: not readable by floe */

enum { PQ_PHYS_INT96 = 3 }; /* deprecated timestamps; never written by floe */

enum { /* Encoding */
       PQ_ENC_PLAIN = 0,
       PQ_ENC_PLAIN_DICTIONARY = 2, /* v1 name of RLE_DICTIONARY in data pages */
       PQ_ENC_RLE = 3,
       PQ_ENC_BIT_PACKED = 4, /* deprecated level encoding */
       PQ_ENC_DELTA_BINARY_PACKED = 5,
       PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
       PQ_ENC_DELTA_BYTE_ARRAY = 7,
       PQ_ENC_RLE_DICTIONARY = 8,
       PQ_ENC_BYTE_STREAM_SPLIT = 9,
};
enum { /* PageType */
       PQ_PAGE_DATA = 0,
       PQ_PAGE_INDEX = 1,
       PQ_PAGE_DICTIONARY = 2,
       PQ_PAGE_DATA_V2 = 3,
};
enum { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 }; /* FieldRepetitionType */
enum { /* ConvertedType (legacy annotations, still written for old readers) */
       PQ_CT_UTF8 = 0,
       PQ_CT_LIST = 3,
       PQ_CT_DECIMAL = 5,
       PQ_CT_DATE = 6,
       PQ_CT_TIME_MILLIS = 7,
       PQ_CT_TIME_MICROS = 8,
       PQ_CT_TIMESTAMP_MILLIS = 9,
       PQ_CT_TIMESTAMP_MICROS = 10,
       PQ_CT_UINT_8 = 11, /* UINT_16 12, UINT_32 13, UINT_64 14 */
       PQ_CT_INT_8 = 15,  /* INT_16 16, INT_32 17, INT_64 18 */
       PQ_CT_INT_64 = 18,
};
enum { /* LogicalType union members */
       PQ_LT_STRING = 1,
       PQ_LT_LIST = 3,
       PQ_LT_DECIMAL = 5,
       PQ_LT_DATE = 6,
       PQ_LT_TIME = 7,
       PQ_LT_TIMESTAMP = 8,
       PQ_LT_INTEGER = 10,
       PQ_LT_UUID = 14,
};
enum { PQ_UNIT_MILLIS = 1, PQ_UNIT_MICROS = 2, PQ_UNIT_NANOS = 3 }; /* TimeUnit members */
enum { PQ_ORDER_UNORDERED = 0, PQ_ORDER_ASCENDING = 1, PQ_ORDER_DESCENDING = 2 };

/* Bits needed for v (0 for 0): RLE and dictionary index widths. */
static inline int pq_bit_width(uint64_t v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
}

/* Grows the array *p of *cap elements of elem bytes to hold need (doubling,
 * from 16); 0, or -1 with *p and *cap unchanged. */
static inline int pq_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(*p, n * elem);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

#endif
