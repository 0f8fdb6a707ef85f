/*
 * pq_roundtrip — writes Parquet files with floe's writer and reads them back
 * in-process with DuckDB, an independent reader, comparing everything.
 *
 *   pq_roundtrip [DIR]        (files go to DIR, default /tmp; kept on failure)
 *
 * The data: RT_ROWS rows of every supported type — boolean (required and
 * optional), INT(8), INT(16), INT32, INT64, FLOAT and DOUBLE with NaN
 * (two payloads), ±Inf, -0.0 and +0.0, DECIMAL(9,2) INT32, DECIMAL(18,4)
 * INT64, DECIMAL(38,10) FLBA(16) around ±(10^38-1), STRING with unicode,
 * empty strings and strings longer than the 64-byte statistics limit, binary
 * with 0x00/0xFF/backslash bytes, DATE, TIMESTAMP micros UTC and local,
 * TIMESTAMP nanos, TIME micros, UUID, a low-cardinality string (stays
 * dictionary-encoded), an INT64 whose dictionary overflows in the middle of
 * a chunk, an all-null column and a DOUBLE with all-NaN pages. Rows arrive
 * in batches of 1, 7, 1000, 4096, ... rows.
 *
 * Each configuration (codec x dictionary size x delta encodings x page and
 * row group sizes) writes one file and checks, through DuckDB:
 *   - every value and every NULL (read_parquet with file_row_number, data
 *     chunks compared byte for byte: -0.0 vs +0.0 and NaN payloads count);
 *   - parquet_schema: physical type, type_length, repetition, converted
 *     type, scale/precision, field_id and the DuckDB type per column;
 *   - parquet_file_metadata / parquet_kv_metadata: rows, row groups,
 *     created_by, format version, a TYPE_ORDER per column, key-values;
 *   - parquet_metadata per row group and column: num_values, null count,
 *     min/max against values computed here (float zero signs, truncated
 *     string bounds with their exactness flags), no deprecated min/max,
 *     codec, encodings (dictionary fallback seen where forced), dictionary
 *     and data page offsets, row group offsets and column sizes equal to
 *     what pq_file_result reports;
 *   - pq_file_result: exact min/max bytes, null and NaN counts per column;
 *   - the file: "PAR1" at both ends, footer length, size = bytes written.
 * Each configuration also writes a second file of LIST columns (optional
 * lists of optional int32 and string elements, a required list of required
 * int64 elements, optional booleans; null lists, empty lists, null elements,
 * lists longer than a page) and checks every list through DuckDB's to_json,
 * the schema's field ids (the list's and the element's) and num_values /
 * null counts per row group.
 * Prints one "name: N passed, M failed" line per configuration, then a
 * total line; exits 1 if anything failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "format/parquet.h"

/* duckdb.h declares `f()` functions; the Makefile adds it with -I, not
 * -isystem, so silence that one warning for the vendored header only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include "duckdb.h"
#pragma GCC diagnostic pop

#define RT_ROWS     30011
#define RT_STAT_MAX 64 /* the writer's statistics truncation length */

typedef enum rt_kind {
	RT_BOOL,
	RT_INT,   /* INT32 / INT64, plain or INT(n) */
	RT_FLOAT, /* FLOAT / DOUBLE */
	RT_DEC,   /* INT32 / INT64 / FLBA decimal */
	RT_STR,
	RT_BIN,
	RT_DATE,
	RT_TS,
	RT_TIME,
	RT_UUID,
} rt_kind;

typedef struct rt_col {
	pq_column_spec spec;
	rt_kind kind;
	duckdb_type dtype;
	const char *dname;     /* parquet_schema duckdb_type */
	const char *converted; /* parquet_schema converted_type, NULL = none */
	int width;             /* slot bytes; 0 for BYTE_ARRAY */
	uint8_t *valid;        /* NULL for required columns */
	uint8_t *values;
	uint64_t *off;
	uint8_t *bytes;
} rt_col;

typedef struct rt_config {
	const char *name;
	pq_codec codec;
	int delta;
	size_t dict_max;  /* 0 = no dictionary, (size_t)-1 = default */
	size_t page;      /* 0 = default */
	size_t row_group; /* 0 = default */
} rt_config;

typedef struct rt_ctx {
	int passed, failed;
	int shown; /* failures printed for this configuration */
	const char *cfg;
} rt_ctx;

static void rt_check(rt_ctx *t, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void rt_check(rt_ctx *t, int ok, const char *fmt, ...)
{
	if (ok) {
		t->passed++;
		return;
	}
	t->failed++;
	if (t->shown++ >= 40)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL [%s] ", t->cfg);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* ---- data --------------------------------------------------------------- */

static uint64_t rt_rng = 0x243F6A8885A308D3ull;

static uint64_t rt_rand(void)
{
	uint64_t z = (rt_rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

enum {
	C_BREQ,
	C_BOPT,
	C_I8,
	C_I16,
	C_I32,
	C_I64,
	C_F32,
	C_F64,
	C_DEC9,
	C_DEC18,
	C_DEC38,
	C_STR,
	C_LOWCARD,
	C_BIN,
	C_DATE,
	C_TSUTC,
	C_TSLOCAL,
	C_TSNS,
	C_TIME,
	C_UUID,
	C_FALLBACK,
	C_NULLS,
	C_NANPAGE,
	C_NCOLS
};

static rt_col rt_cols[C_NCOLS] = {
    [C_BREQ] = {{"b_req", 1, PQ_BOOLEAN, PQ_LOGICAL_NONE, 1, 0, 0, 0, 0, 0, 0},
                RT_BOOL,
                DUCKDB_TYPE_BOOLEAN,
                "BOOLEAN",
                NULL,
                1,
                0,
                0,
                0,
                0},
    [C_BOPT] = {{"b_opt", 2, PQ_BOOLEAN, PQ_LOGICAL_NONE, 0, 0, 0, 0, 0, 0, 0},
                RT_BOOL,
                DUCKDB_TYPE_BOOLEAN,
                "BOOLEAN",
                NULL,
                1,
                0,
                0,
                0,
                0},
    [C_I8] = {{"i8", 3, PQ_INT32, PQ_LOGICAL_INT, 0, 0, 0, 0, 8, 0, 0},
              RT_INT,
              DUCKDB_TYPE_TINYINT,
              "TINYINT",
              "INT_8",
              4,
              0,
              0,
              0,
              0},
    [C_I16] = {{"i16", 4, PQ_INT32, PQ_LOGICAL_INT, 1, 0, 0, 0, 16, 0, 0},
               RT_INT,
               DUCKDB_TYPE_SMALLINT,
               "SMALLINT",
               "INT_16",
               4,
               0,
               0,
               0,
               0},
    [C_I32] = {{"i32", 5, PQ_INT32, PQ_LOGICAL_NONE, 1, 0, 0, 0, 0, 0, 0},
               RT_INT,
               DUCKDB_TYPE_INTEGER,
               "INTEGER",
               NULL,
               4,
               0,
               0,
               0,
               0},
    [C_I64] = {{"i64", 6, PQ_INT64, PQ_LOGICAL_NONE, 0, 0, 0, 0, 0, 0, 0},
               RT_INT,
               DUCKDB_TYPE_BIGINT,
               "BIGINT",
               NULL,
               8,
               0,
               0,
               0,
               0},
    [C_F32] = {{"f32", 7, PQ_FLOAT, PQ_LOGICAL_NONE, 0, 0, 0, 0, 0, 0, 0},
               RT_FLOAT,
               DUCKDB_TYPE_FLOAT,
               "FLOAT",
               NULL,
               4,
               0,
               0,
               0,
               0},
    [C_F64] = {{"f64", 8, PQ_DOUBLE, PQ_LOGICAL_NONE, 1, 0, 0, 0, 0, 0, 0},
               RT_FLOAT,
               DUCKDB_TYPE_DOUBLE,
               "DOUBLE",
               NULL,
               8,
               0,
               0,
               0,
               0},
    [C_DEC9] = {{"dec9", 9, PQ_INT32, PQ_LOGICAL_DECIMAL, 0, 0, 9, 2, 0, 0, 0},
                RT_DEC,
                DUCKDB_TYPE_DECIMAL,
                "DECIMAL(9,2)",
                "DECIMAL",
                4,
                0,
                0,
                0,
                0},
    [C_DEC18] = {{"dec18", 10, PQ_INT64, PQ_LOGICAL_DECIMAL, 1, 0, 18, 4, 0, 0, 0},
                 RT_DEC,
                 DUCKDB_TYPE_DECIMAL,
                 "DECIMAL(18,4)",
                 "DECIMAL",
                 8,
                 0,
                 0,
                 0,
                 0},
    [C_DEC38] = {{"dec38", 11, PQ_FIXED_LEN_BYTE_ARRAY, PQ_LOGICAL_DECIMAL, 0, 16, 38, 10, 0, 0, 0},
                 RT_DEC,
                 DUCKDB_TYPE_DECIMAL,
                 "DECIMAL(38,10)",
                 "DECIMAL",
                 16,
                 0,
                 0,
                 0,
                 0},
    [C_STR] = {{"str", 12, PQ_BYTE_ARRAY, PQ_LOGICAL_STRING, 0, 0, 0, 0, 0, 0, 0},
               RT_STR,
               DUCKDB_TYPE_VARCHAR,
               "VARCHAR",
               "UTF8",
               0,
               0,
               0,
               0,
               0},
    [C_LOWCARD] = {{"lowcard", 13, PQ_BYTE_ARRAY, PQ_LOGICAL_STRING, 1, 0, 0, 0, 0, 0, 0},
                   RT_STR,
                   DUCKDB_TYPE_VARCHAR,
                   "VARCHAR",
                   "UTF8",
                   0,
                   0,
                   0,
                   0,
                   0},
    [C_BIN] = {{"bin", 14, PQ_BYTE_ARRAY, PQ_LOGICAL_NONE, 0, 0, 0, 0, 0, 0, 0},
               RT_BIN,
               DUCKDB_TYPE_BLOB,
               "BLOB",
               NULL,
               0,
               0,
               0,
               0,
               0},
    [C_DATE] = {{"d", 15, PQ_INT32, PQ_LOGICAL_DATE, 0, 0, 0, 0, 0, 0, 0},
                RT_DATE,
                DUCKDB_TYPE_DATE,
                "DATE",
                "DATE",
                4,
                0,
                0,
                0,
                0},
    [C_TSUTC] = {{"ts_utc", 16, PQ_INT64, PQ_LOGICAL_TIMESTAMP, 1, 0, 0, 0, 0, 1, 0},
                 RT_TS,
                 DUCKDB_TYPE_TIMESTAMP_TZ,
                 "TIMESTAMP WITH TIME ZONE",
                 "TIMESTAMP_MICROS",
                 8,
                 0,
                 0,
                 0,
                 0},
    [C_TSLOCAL] = {{"ts_local", 17, PQ_INT64, PQ_LOGICAL_TIMESTAMP, 0, 0, 0, 0, 0, 0, 0},
                   RT_TS,
                   DUCKDB_TYPE_TIMESTAMP,
                   "TIMESTAMP",
                   "TIMESTAMP_MICROS",
                   8,
                   0,
                   0,
                   0,
                   0},
    [C_TSNS] = {{"ts_ns", 18, PQ_INT64, PQ_LOGICAL_TIMESTAMP, 0, 0, 0, 0, 0, 0, 1},
                RT_TS,
                DUCKDB_TYPE_TIMESTAMP_NS,
                "TIMESTAMP_NS",
                NULL,
                8,
                0,
                0,
                0,
                0},
    [C_TIME] = {{"t", 19, PQ_INT64, PQ_LOGICAL_TIME, 1, 0, 0, 0, 0, 0, 0},
                RT_TIME,
                DUCKDB_TYPE_TIME,
                "TIME",
                "TIME_MICROS",
                8,
                0,
                0,
                0,
                0},
    [C_UUID] = {{"u", 20, PQ_FIXED_LEN_BYTE_ARRAY, PQ_LOGICAL_UUID, 0, 16, 0, 0, 0, 0, 0},
                RT_UUID,
                DUCKDB_TYPE_UUID,
                "UUID",
                NULL,
                16,
                0,
                0,
                0,
                0},
    [C_FALLBACK] = {{"fallback", 21, PQ_INT64, PQ_LOGICAL_NONE, 1, 0, 0, 0, 0, 0, 0},
                    RT_INT,
                    DUCKDB_TYPE_BIGINT,
                    "BIGINT",
                    NULL,
                    8,
                    0,
                    0,
                    0,
                    0},
    [C_NULLS] = {{"nulls", 22, PQ_INT32, PQ_LOGICAL_NONE, 0, 0, 0, 0, 0, 0, 0},
                 RT_INT,
                 DUCKDB_TYPE_INTEGER,
                 "INTEGER",
                 NULL,
                 4,
                 0,
                 0,
                 0,
                 0},
    [C_NANPAGE] = {{"nanpage", 23, PQ_DOUBLE, PQ_LOGICAL_NONE, 0, 0, 0, 0, 0, 0, 0},
                   RT_FLOAT,
                   DUCKDB_TYPE_DOUBLE,
                   "DOUBLE",
                   NULL,
                   8,
                   0,
                   0,
                   0,
                   0},
};

/* 10^38 - 1, the largest DECIMAL(38) unscaled value, big-endian. */
static const uint8_t rt_dec38_max[16] = {0x4B, 0x3B, 0x4C, 0xA8, 0x5A, 0x86, 0xC4, 0x7A,
                                         0x09, 0x8A, 0x22, 0x3F, 0xFF, 0xFF, 0xFF, 0xFF};

static void rt_negate16(uint8_t *p)
{
	int carry = 1;
	for (int i = 15; i >= 0; i--) {
		int v = (uint8_t)~p[i] + carry;
		p[i] = (uint8_t)v;
		carry = v >> 8;
	}
}

static const char *const rt_words[] = {
    "",
    "a",
    "h\xC3\xA9llo w\xC3\xB6rld",
    "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
    "emoji \xF0\x9F\x98\x80!",
    "tab\there\nnewline\\backslash",
    "\xC3\xBF\xC3\xBF high",
    "zzz",
};

/* Appends row i's string: short words, numbered words, and long strings
 * (over 64 bytes, some ending in multi-byte characters at the cut). */
static void rt_gen_str(buf *b, size_t i)
{
	uint64_t r = rt_rand();
	switch (r % 6) {
	case 0:
	case 1:
		buf_append_str(b, rt_words[(r >> 8) % (sizeof(rt_words) / sizeof(rt_words[0]))]);
		break;
	case 2:
		buf_printf(b, "row-%zu-\xC3\xA9", i);
		break;
	case 3: {
		/* 60-140 bytes: 2-byte characters so the 64-byte cut can fall
		 * inside one. */
		size_t n = 30 + (r >> 8) % 40;
		buf_append_str(b, "long ");
		for (size_t k = 0; k < n; k++)
			buf_append_str(b, (k + i) % 3 ? "\xC3\xA9" : "x");
		break;
	}
	case 4: {
		/* Long strings of U+10FFFF: no incremented upper bound exists. */
		size_t n = 10 + (r >> 8) % 30;
		for (size_t k = 0; k < n; k++)
			buf_append_str(b, "\xF4\x8F\xBF\xBF");
		break;
	}
	default:
		buf_printf(b, "%016" PRIx64, r);
		break;
	}
}

static int rt_generate(void)
{
	buf sb = {0}, bb = {0}, lb = {0};
	for (int c = 0; c < C_NCOLS; c++) {
		rt_col *col = &rt_cols[c];
		if (!col->spec.required && !(col->valid = malloc(RT_ROWS)))
			return -1;
		if (col->width && !(col->values = calloc(RT_ROWS, (size_t)col->width)))
			return -1;
		if (!col->width && !(col->off = calloc(RT_ROWS + 1, sizeof(uint64_t))))
			return -1;
	}
	static const char *const low[] = {"red", "green", "blue", "\xE2\x9C\x93", ""};
	for (size_t i = 0; i < RT_ROWS; i++) {
		uint64_t r = rt_rand();
		for (int c = 0; c < C_NCOLS; c++) {
			rt_col *col = &rt_cols[c];
			if (col->valid)
				col->valid[i] = (rt_rand() % 11) != 0;
		}
		rt_cols[C_BREQ].values[i] = (uint8_t)(r & 1);
		rt_cols[C_BOPT].values[i] = (uint8_t)(i % 3 == 0);

		int32_t v32 = (int32_t)(r >> 7);
		int32_t i8 = (int32_t)(int8_t)r, i16 = (int32_t)(int16_t)(r >> 3);
		if (i % 1000 == 17)
			i8 = -128, i16 = -32768, v32 = INT32_MIN;
		if (i % 1000 == 18)
			i8 = 127, i16 = 32767, v32 = INT32_MAX;
		memcpy(rt_cols[C_I8].values + 4 * i, &i8, 4);
		memcpy(rt_cols[C_I16].values + 4 * i, &i16, 4);
		memcpy(rt_cols[C_I32].values + 4 * i, &v32, 4);
		int64_t v64 = (int64_t)rt_rand();
		if (i == 5000)
			v64 = INT64_MIN;
		if (i == 5001)
			v64 = INT64_MAX;
		memcpy(rt_cols[C_I64].values + 8 * i, &v64, 8);

		float f = (float)((double)(int64_t)rt_rand() / 1e15);
		double dv = (double)(int64_t)rt_rand() / 1e9;
		switch (i % 97) {
		case 3:
			f = NAN, dv = NAN;
			break;
		case 4:
			f = -NAN, dv = -NAN;
			break;
		case 5:
			f = INFINITY, dv = -INFINITY;
			break;
		case 6:
			f = -0.0f, dv = -0.0;
			break;
		case 7:
			f = 0.0f, dv = 0.0;
			break;
		case 8:
			f = -INFINITY, dv = INFINITY;
			break;
		case 9:
			f = 1e-40f, dv = 5e-324; /* denormals */
			break;
		}
		if (i >= 20000 && i < 20600) /* a block of only zeros */
			f = (i & 1) ? -0.0f : 0.0f, dv = (i & 1) ? 0.0 : -0.0;
		memcpy(rt_cols[C_F32].values + 4 * i, &f, 4);
		memcpy(rt_cols[C_F64].values + 8 * i, &dv, 8);
		double nanpage = (i >= 6000 && i < 9000) ? NAN : (double)i / 7;
		memcpy(rt_cols[C_NANPAGE].values + 8 * i, &nanpage, 8);

		int32_t d9 = (int32_t)(rt_rand() % 1999999999) - 999999999;
		int64_t d18 = (int64_t)(rt_rand() % 1999999999999999999ull) - 999999999999999999ll;
		memcpy(rt_cols[C_DEC9].values + 4 * i, &d9, 4);
		memcpy(rt_cols[C_DEC18].values + 8 * i, &d18, 8);
		uint8_t *d38 = rt_cols[C_DEC38].values + 16 * i;
		int64_t hi =
		    (int64_t)(rt_rand() % 10000000000000000000ull - 5000000000000000000ull);
		put_be64(d38, (uint64_t)hi);
		put_be64(d38 + 8, rt_rand());
		if (i % 500 == 1)
			memcpy(d38, rt_dec38_max, 16);
		if (i % 500 == 2) {
			memcpy(d38, rt_dec38_max, 16);
			rt_negate16(d38);
		}
		if (i % 500 == 3)
			memset(d38, 0xFF, 16); /* -1 */

		rt_cols[C_STR].off[i] = sb.len;
		rt_gen_str(&sb, i);
		rt_cols[C_LOWCARD].off[i] = lb.len;
		buf_append_str(&lb, low[rt_rand() % 5]);
		rt_cols[C_BIN].off[i] = bb.len;
		for (uint64_t k = 0, n = rt_rand() % 24; k < n; k++) {
			static const uint8_t special[] = {0x00, 0xFF, '\\', '"', 0x7F, 'A'};
			uint64_t x = rt_rand();
			buf_put_u8(&bb, x % 3 ? (uint8_t)(x >> 8) : special[(x >> 8) % 6]);
		}

		int32_t days = (int32_t)(rt_rand() % 200001) - 100000;
		memcpy(rt_cols[C_DATE].values + 4 * i, &days, 4);
		int64_t ts = (int64_t)(rt_rand() % 8000000000000000ull) - 4000000000000000ll;
		if (i % 10 == 0)
			ts -= ts % 1000000; /* whole seconds */
		memcpy(rt_cols[C_TSUTC].values + 8 * i, &ts, 8);
		ts += 123;
		memcpy(rt_cols[C_TSLOCAL].values + 8 * i, &ts, 8);
		int64_t tns = (int64_t)rt_rand() % 4000000000000000000ll;
		memcpy(rt_cols[C_TSNS].values + 8 * i, &tns, 8);
		int64_t tm = (int64_t)(rt_rand() % 86400000000ull);
		memcpy(rt_cols[C_TIME].values + 8 * i, &tm, 8);
		uint8_t *u = rt_cols[C_UUID].values + 16 * i;
		put_be64(u, rt_rand());
		put_be64(u + 8, rt_rand());
		if (i == 100)
			memset(u, 0, 16);
		if (i == 101)
			memset(u, 0xFF, 16);

		/* Stretches of 3000 rows of ten repeating values (a chunk that
		 * starts in one keeps its dictionary) and of distinct values
		 * (which then overflow dict_max_bytes mid-chunk). */
		int64_t fb = (i / 3000) % 2 == 0 ? (int64_t)(i % 10) : (int64_t)i * 1000003;
		memcpy(rt_cols[C_FALLBACK].values + 8 * i, &fb, 8);
		rt_cols[C_NULLS].valid[i] = 0;
	}
	rt_cols[C_STR].off[RT_ROWS] = sb.len;
	rt_cols[C_LOWCARD].off[RT_ROWS] = lb.len;
	rt_cols[C_BIN].off[RT_ROWS] = bb.len;
	/* Null rows keep an empty range, as the contract asks. */
	for (int c = 0; c < C_NCOLS; c++) {
		rt_col *col = &rt_cols[c];
		if (!col->off || !col->valid)
			continue;
		buf packed = {0};
		const uint8_t *src = c == C_STR ? sb.data : bb.data;
		for (size_t i = 0; i < RT_ROWS; i++) {
			uint64_t a = col->off[i], z = col->off[i + 1];
			col->off[i] = packed.len;
			if (col->valid[i])
				buf_append(&packed, src + a, (size_t)(z - a));
		}
		col->off[RT_ROWS] = packed.len;
		buf_append(&packed, "", 1); /* never an empty allocation */
		col->bytes = buf_steal(&packed, NULL);
	}
	buf_append(&lb, "", 1);
	rt_cols[C_LOWCARD].bytes = buf_steal(&lb, NULL);
	buf_release(&sb);
	buf_release(&bb);
	return rt_cols[C_STR].bytes && rt_cols[C_BIN].bytes && rt_cols[C_LOWCARD].bytes ? 0 : -1;
}

static void rt_free_data(void)
{
	for (int c = 0; c < C_NCOLS; c++) {
		free(rt_cols[c].valid);
		free(rt_cols[c].values);
		free(rt_cols[c].off);
		free(rt_cols[c].bytes);
	}
}

static int rt_valid(const rt_col *c, size_t i)
{
	return !c->valid || c->valid[i];
}

/* Row i's PLAIN value (no length prefix). */
static const uint8_t *rt_value(const rt_col *c, size_t i, size_t *len)
{
	if (c->off) {
		*len = (size_t)(c->off[i + 1] - c->off[i]);
		return c->bytes + c->off[i];
	}
	*len = (size_t)c->width;
	return c->values + (size_t)c->width * i;
}

/* ---- expected statistics --------------------------------------------- */

static double rt_float(const rt_col *c, const uint8_t *p)
{
	if (c->spec.physical == PQ_FLOAT) {
		float f;
		memcpy(&f, p, 4);
		return f;
	}
	double d;
	memcpy(&d, p, 8);
	return d;
}

static int rt_bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	size_t m = al < bl ? al : bl;
	int r = m ? memcmp(a, b, m) : 0;
	return r ? r : (al > bl) - (al < bl);
}

/* Type order: signed ints, floats with -0 < +0, unsigned bytes, signed
 * big-endian decimals. */
static int rt_cmp(const rt_col *c, const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	switch (c->spec.physical) {
	case PQ_BOOLEAN:
		return (a[0] > b[0]) - (a[0] < b[0]);
	case PQ_INT32: {
		int32_t x, y;
		memcpy(&x, a, 4);
		memcpy(&y, b, 4);
		return (x > y) - (x < y);
	}
	case PQ_INT64: {
		int64_t x, y;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		return (x > y) - (x < y);
	}
	case PQ_FLOAT:
	case PQ_DOUBLE: {
		double x = rt_float(c, a), y = rt_float(c, b);
		if (x != y)
			return x < y ? -1 : 1;
		return (int)!!signbit(y) - (int)!!signbit(x);
	}
	case PQ_FIXED_LEN_BYTE_ARRAY:
		if (c->spec.logical == PQ_LOGICAL_DECIMAL && a[0] != b[0])
			return (int8_t)a[0] < (int8_t)b[0] ? -1 : 1;
		return rt_bytes_cmp(a, al, b, bl);
	case PQ_BYTE_ARRAY:
		return rt_bytes_cmp(a, al, b, bl);
	}
	return 0;
}

typedef struct rt_stats {
	int64_t nulls, nans;
	int has;
	const uint8_t *min, *max;
	size_t min_len, max_len;
} rt_stats;

static void rt_stats_of(const rt_col *c, size_t from, size_t to, rt_stats *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = from; i < to; i++) {
		if (!rt_valid(c, i)) {
			s->nulls++;
			continue;
		}
		size_t len;
		const uint8_t *v = rt_value(c, i, &len);
		if (c->kind == RT_FLOAT && isnan(rt_float(c, v))) {
			s->nans++;
			continue;
		}
		if (c->kind == RT_BOOL) /* slots hold 0/1 */
			len = 1;
		if (!s->has || rt_cmp(c, v, len, s->min, s->min_len) < 0)
			s->min = v, s->min_len = len;
		if (!s->has || rt_cmp(c, v, len, s->max, s->max_len) > 0)
			s->max = v, s->max_len = len;
		s->has = 1;
	}
}

/* ---- DuckDB text forms -------------------------------------------------- */

static void rt_civil(int64_t days, int *y, int *m, int *d)
{
	/* Howard Hinnant's days_from_civil inverse. */
	days += 719468;
	int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	int64_t doe = days - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static int64_t rt_floordiv(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* "HH:MM:SS[.fraction]" with trailing zeros of the fraction trimmed. */
static void rt_put_clock(buf *b, int64_t units, int digits)
{
	int64_t per_sec = 1;
	for (int i = 0; i < digits; i++)
		per_sec *= 10;
	int64_t secs = units / per_sec, frac = units % per_sec;
	buf_printf(b, "%02d:%02d:%02d", (int)(secs / 3600), (int)(secs / 60 % 60),
	           (int)(secs % 60));
	if (frac) {
		char f[16];
		int n = digits;
		for (int i = digits - 1; i >= 0; i--, frac /= 10)
			f[i] = (char)('0' + frac % 10);
		while (n > 0 && f[n - 1] == '0')
			n--;
		buf_printf(b, ".%.*s", n, f);
	}
}

static void rt_put_date(buf *b, int64_t days)
{
	int y, m, d;
	rt_civil(days, &y, &m, &d);
	if (y <= 0)
		buf_printf(b, "%04d-%02d-%02d (BC)", 1 - y, m, d);
	else
		buf_printf(b, "%04d-%02d-%02d", y, m, d);
}

static void rt_put_decimal(buf *b, const rt_col *c, const uint8_t *v)
{
	__int128 x;
	if (c->spec.physical == PQ_INT32) {
		int32_t t;
		memcpy(&t, v, 4);
		x = t;
	} else if (c->spec.physical == PQ_INT64) {
		int64_t t;
		memcpy(&t, v, 8);
		x = t;
	} else {
		x = (__int128)(int64_t)get_be64(v);
		x = (__int128)((unsigned __int128)x << 64) | get_be64(v + 8);
	}
	unsigned __int128 u =
	    x < 0 ? (unsigned __int128)0 - (unsigned __int128)x : (unsigned __int128)x;
	char digits[64];
	int n = 0;
	do {
		digits[n++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	while (n <= c->spec.scale)
		digits[n++] = '0';
	if (x < 0)
		buf_put_u8(b, '-');
	for (int i = n - 1; i >= 0; i--) {
		buf_put_u8(b, (uint8_t)digits[i]);
		if (i == c->spec.scale && i > 0)
			buf_put_u8(b, '.');
	}
}

/* How parquet_metadata renders a value of c (not floats: parsed instead). */
static void rt_render(buf *b, const rt_col *c, const uint8_t *v, size_t len)
{
	int64_t x = 0;
	if (c->width == 4) {
		int32_t t;
		memcpy(&t, v, 4);
		x = t;
	} else if (c->width == 8) {
		memcpy(&x, v, 8);
	}
	switch (c->kind) {
	case RT_BOOL:
		buf_append_str(b, v[0] ? "true" : "false");
		break;
	case RT_INT:
		buf_printf(b, "%lld", (long long)x);
		break;
	case RT_DEC:
		rt_put_decimal(b, c, v);
		break;
	case RT_STR:
		buf_append(b, v, len);
		break;
	case RT_BIN:
		for (size_t i = 0; i < len; i++) {
			if (v[i] >= 0x20 && v[i] < 0x7F && v[i] != '\\' && v[i] != '"' &&
			    v[i] != '\'')
				buf_put_u8(b, v[i]);
			else
				buf_printf(b, "\\x%02X", v[i]);
		}
		break;
	case RT_DATE:
		rt_put_date(b, x);
		break;
	case RT_TS: {
		int64_t per_day = c->spec.nanos ? 86400000000000ll : 86400000000ll;
		int64_t days = rt_floordiv(x, per_day);
		rt_put_date(b, days);
		buf_put_u8(b, ' ');
		rt_put_clock(b, x - days * per_day, c->spec.nanos ? 9 : 6);
		if (c->spec.utc_adjusted)
			buf_append_str(b, "+00");
		break;
	}
	case RT_TIME:
		rt_put_clock(b, x, 6);
		break;
	case RT_UUID:
		for (int i = 0; i < 16; i++)
			buf_printf(b, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "",
			           v[i]);
		break;
	case RT_FLOAT:
		break;
	}
}

/* ---- DuckDB helpers ----------------------------------------------------- */

typedef struct rt_rows {
	duckdb_result res;
	idx_t nrows, ncols;
	int ok;
} rt_rows;

static int rt_query(duckdb_connection con, rt_ctx *t, const char *sql, rt_rows *r)
{
	memset(r, 0, sizeof(*r));
	if (duckdb_query(con, sql, &r->res) == DuckDBError) {
		rt_check(t, 0, "query failed: %s: %s", sql, duckdb_result_error(&r->res));
		duckdb_destroy_result(&r->res);
		return -1;
	}
	r->nrows = duckdb_row_count(&r->res);
	r->ncols = duckdb_column_count(&r->res);
	r->ok = 1;
	return 0;
}

static void rt_rows_free(rt_rows *r)
{
	if (r->ok)
		duckdb_destroy_result(&r->res);
	r->ok = 0;
}

/* Cell as text, or NULL for SQL NULL; caller frees with duckdb_free. */
static char *rt_cell(rt_rows *r, idx_t col, idx_t row)
{
	if (duckdb_value_is_null(&r->res, col, row))
		return NULL;
	return duckdb_value_varchar(&r->res, col, row);
}

/* Checks that a cell equals want (NULL meaning SQL NULL). */
static void rt_cell_is(rt_ctx *t, rt_rows *r, idx_t col, idx_t row, const char *want,
                       const char *what)
{
	char *v = rt_cell(r, col, row);
	int ok = (!v && !want) || (v && want && strcmp(v, want) == 0);
	rt_check(t, ok, "%s: got '%s', want '%s'", what, v ? v : "NULL", want ? want : "NULL");
	duckdb_free(v);
}

/* ---- the checks ------------------------------------------------------- */

static void rt_check_schema(duckdb_connection con, rt_ctx *t, const char *path)
{
	char sql[4096];
	snprintf(sql, sizeof(sql),
	         "SELECT name, type, type_length, repetition_type, converted_type, scale, "
	         "precision, field_id, duckdb_type, num_children FROM parquet_schema('%s')",
	         path);
	rt_rows r;
	if (rt_query(con, t, sql, &r))
		return;
	rt_check(t, r.nrows == C_NCOLS + 1, "parquet_schema: %llu rows, want %d",
	         (unsigned long long)r.nrows, C_NCOLS + 1);
	if (r.nrows == C_NCOLS + 1) {
		char n[32];
		snprintf(n, sizeof(n), "%d", C_NCOLS);
		rt_cell_is(t, &r, 9, 0, n, "root num_children");
	}
	static const char *const phys[] = {
	    "BOOLEAN", "INT32",  "INT64",      "INT96",
	    "FLOAT",   "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
	for (idx_t i = 1; i < r.nrows && i <= C_NCOLS; i++) {
		const rt_col *c = &rt_cols[i - 1];
		char what[128], num[32];
		snprintf(what, sizeof(what), "schema %s name", c->spec.name);
		rt_cell_is(t, &r, 0, i, c->spec.name, what);
		snprintf(what, sizeof(what), "schema %s type", c->spec.name);
		rt_cell_is(t, &r, 1, i, phys[c->spec.physical], what);
		snprintf(what, sizeof(what), "schema %s type_length", c->spec.name);
		snprintf(num, sizeof(num), "%d", c->spec.type_length);
		rt_cell_is(t, &r, 2, i, c->spec.type_length ? num : NULL, what);
		snprintf(what, sizeof(what), "schema %s repetition", c->spec.name);
		rt_cell_is(t, &r, 3, i, c->spec.required ? "REQUIRED" : "OPTIONAL", what);
		snprintf(what, sizeof(what), "schema %s converted_type", c->spec.name);
		rt_cell_is(t, &r, 4, i, c->converted, what);
		int dec = c->spec.logical == PQ_LOGICAL_DECIMAL;
		snprintf(what, sizeof(what), "schema %s scale", c->spec.name);
		snprintf(num, sizeof(num), "%d", c->spec.scale);
		rt_cell_is(t, &r, 5, i, dec ? num : NULL, what);
		snprintf(what, sizeof(what), "schema %s precision", c->spec.name);
		snprintf(num, sizeof(num), "%d", c->spec.precision);
		rt_cell_is(t, &r, 6, i, dec ? num : NULL, what);
		snprintf(what, sizeof(what), "schema %s field_id", c->spec.name);
		snprintf(num, sizeof(num), "%d", c->spec.field_id);
		rt_cell_is(t, &r, 7, i, num, what);
		snprintf(what, sizeof(what), "schema %s duckdb_type", c->spec.name);
		rt_cell_is(t, &r, 8, i, c->dname, what);
	}
	rt_rows_free(&r);
}

static void rt_check_file_meta(duckdb_connection con, rt_ctx *t, const char *path,
                               const pq_file_result *res)
{
	char sql[4096], want[64];
	snprintf(sql, sizeof(sql),
	         "SELECT created_by, num_rows, num_row_groups, format_version, "
	         "len(column_orders), len(list_filter(column_orders, x -> x = "
	         "'ColumnOrder(TYPE_ORDER=TypeDefinedOrder())')), file_size_bytes "
	         "FROM parquet_file_metadata('%s')",
	         path);
	rt_rows r;
	if (rt_query(con, t, sql, &r) == 0 && r.nrows == 1) {
		rt_cell_is(t, &r, 0, 0, "floe-roundtrip", "created_by");
		snprintf(want, sizeof(want), "%d", RT_ROWS);
		rt_cell_is(t, &r, 1, 0, want, "num_rows");
		snprintf(want, sizeof(want), "%d", res->nrow_groups);
		rt_cell_is(t, &r, 2, 0, want, "num_row_groups");
		rt_cell_is(t, &r, 3, 0, "1", "format_version");
		snprintf(want, sizeof(want), "%d", C_NCOLS);
		rt_cell_is(t, &r, 4, 0, want, "column_orders count");
		rt_cell_is(t, &r, 5, 0, want, "column_orders TYPE_ORDER");
		snprintf(want, sizeof(want), "%lld", (long long)res->file_size);
		rt_cell_is(t, &r, 6, 0, want, "file_size_bytes");
	}
	rt_rows_free(&r);
	snprintf(sql, sizeof(sql),
	         "SELECT decode(key), decode(value) FROM parquet_kv_metadata('%s') ORDER BY 1",
	         path);
	if (rt_query(con, t, sql, &r) == 0) {
		rt_check(t, r.nrows == 2, "kv metadata: %llu entries, want 2",
		         (unsigned long long)r.nrows);
		if (r.nrows == 2) {
			rt_cell_is(t, &r, 0, 0, "iceberg.schema", "kv key 0");
			rt_cell_is(t, &r, 1, 0, "{\"type\":\"struct\",\"fields\":[]}",
			           "kv value 0");
			rt_cell_is(t, &r, 0, 1, "writer", "kv key 1");
			rt_cell_is(t, &r, 1, 1, "pq_roundtrip \xE2\x9C\x93", "kv value 1");
		}
	}
	rt_rows_free(&r);
}

/* Compares one DuckDB vector cell with row i of column c. */
static int rt_cell_equal(const rt_col *c, duckdb_vector vec, idx_t j, size_t i, char *why,
                         size_t whylen)
{
	uint64_t *validity = duckdb_vector_get_validity(vec);
	int dv = !validity || duckdb_validity_row_is_valid(validity, j);
	if (dv != rt_valid(c, i)) {
		snprintf(why, whylen, "validity %d, want %d", dv, rt_valid(c, i));
		return 0;
	}
	if (!dv)
		return 1;
	const uint8_t *data = duckdb_vector_get_data(vec);
	size_t len;
	const uint8_t *v = rt_value(c, i, &len);
	if (c->dtype == DUCKDB_TYPE_DECIMAL && c->spec.physical == PQ_FIXED_LEN_BYTE_ARRAY) {
		/* hugeint: lower u64, upper i64, little-endian host */
		const uint8_t *h = data + 16 * j;
		uint64_t lo, hi;
		memcpy(&lo, h, 8);
		memcpy(&hi, h + 8, 8);
		if (lo != get_be64(v + 8) || hi != get_be64(v)) {
			snprintf(why, whylen, "decimal128 differs");
			return 0;
		}
		return 1;
	}
	switch (c->dtype) {
	case DUCKDB_TYPE_BOOLEAN:
		if (data[j] != (v[0] != 0)) {
			snprintf(why, whylen, "bool %d, want %d", data[j], v[0]);
			return 0;
		}
		return 1;
	case DUCKDB_TYPE_TINYINT:
	case DUCKDB_TYPE_SMALLINT: {
		int32_t want;
		memcpy(&want, v, 4);
		int32_t got = c->dtype == DUCKDB_TYPE_TINYINT ? ((const int8_t *)data)[j]
		                                              : ((const int16_t *)data)[j];
		if (got != want) {
			snprintf(why, whylen, "%d, want %d", got, want);
			return 0;
		}
		return 1;
	}
	default: /* DECIMAL(9) is an int32 inside DuckDB, DECIMAL(18) an int64 */
		if (c->off) {
			duckdb_string_t *s = (duckdb_string_t *)(uintptr_t)data + j;
			uint32_t n = duckdb_string_t_length(*s);
			const char *p = duckdb_string_t_data(s);
			if (n != len || memcmp(p, v, len) != 0) {
				snprintf(why, whylen, "string '%.*s', want '%.*s'", (int)n, p,
				         (int)len, (const char *)v);
				return 0;
			}
			return 1;
		}
		if (c->dtype == DUCKDB_TYPE_UUID) {
			/* DuckDB keeps a UUID as a hugeint with the top bit flipped. */
			const uint8_t *h = data + 16 * j;
			uint64_t lo, hi;
			memcpy(&lo, h, 8);
			memcpy(&hi, h + 8, 8);
			if (lo != get_be64(v + 8) || (hi ^ (1ull << 63)) != get_be64(v)) {
				snprintf(why, whylen, "uuid differs");
				return 0;
			}
			return 1;
		}
		/* Same width and bits: ints, floats (NaN payload and zero sign
		 * included), dates, timestamps, times, small decimals. */
		if (memcmp(data + (size_t)c->width * j, v, (size_t)c->width) != 0) {
			snprintf(why, whylen, "bits differ");
			return 0;
		}
		return 1;
	}
}

static void rt_check_values(duckdb_connection con, rt_ctx *t, const char *path)
{
	char sql[4096];
	snprintf(sql, sizeof(sql),
	         "SELECT * FROM read_parquet('%s', file_row_number=true) ORDER BY file_row_number",
	         path);
	duckdb_result res;
	if (duckdb_query(con, sql, &res) == DuckDBError) {
		rt_check(t, 0, "read_parquet: %s", duckdb_result_error(&res));
		duckdb_destroy_result(&res);
		return;
	}
	idx_t ncols = duckdb_column_count(&res);
	rt_check(t, ncols == C_NCOLS + 1, "read_parquet: %llu columns, want %d",
	         (unsigned long long)ncols, C_NCOLS + 1);
	int types_ok = ncols == C_NCOLS + 1;
	for (int c = 0; types_ok && c < C_NCOLS; c++) {
		duckdb_type got = duckdb_column_type(&res, (idx_t)c);
		rt_check(t, got == rt_cols[c].dtype, "column %s: DuckDB type %d, want %d",
		         rt_cols[c].spec.name, (int)got, (int)rt_cols[c].dtype);
		types_ok &= got == rt_cols[c].dtype;
	}
	if (!types_ok) {
		duckdb_destroy_result(&res);
		return;
	}
	size_t bad[C_NCOLS] = {0}, first_bad[C_NCOLS];
	char why[C_NCOLS][160];
	size_t row = 0;
	int order_ok = 1;
	duckdb_data_chunk chunk;
	while ((chunk = duckdb_fetch_chunk(res)) != NULL) {
		idx_t k = duckdb_data_chunk_get_size(chunk);
		const int64_t *rn =
		    duckdb_vector_get_data(duckdb_data_chunk_get_vector(chunk, C_NCOLS));
		for (idx_t j = 0; j < k; j++)
			order_ok &= rn[j] == (int64_t)(row + j);
		for (int c = 0; c < C_NCOLS && row + k <= RT_ROWS; c++) {
			duckdb_vector vec = duckdb_data_chunk_get_vector(chunk, (idx_t)c);
			for (idx_t j = 0; j < k; j++) {
				char w[160];
				if (rt_cell_equal(&rt_cols[c], vec, j, row + j, w, sizeof(w)))
					continue;
				if (bad[c]++ == 0) {
					first_bad[c] = row + j;
					memcpy(why[c], w, sizeof(w));
				}
			}
		}
		row += k;
		duckdb_destroy_data_chunk(&chunk);
	}
	duckdb_destroy_result(&res);
	rt_check(t, row == RT_ROWS, "read_parquet: %zu rows, want %d", row, RT_ROWS);
	rt_check(t, order_ok, "read_parquet: file_row_number out of order");
	for (int c = 0; c < C_NCOLS; c++)
		rt_check(t, bad[c] == 0, "values of %s: %zu wrong, first at row %zu: %s",
		         rt_cols[c].spec.name, bad[c], bad[c] ? first_bad[c] : 0,
		         bad[c] ? why[c] : "");
}

/* A float statistic as DuckDB printed it, against the value the Parquet
 * rules make us write (zero min -> -0.0, zero max -> +0.0). DuckDB leaves
 * infinite bounds out (NULL), which is its choice, not a wrong file. */
static void rt_check_float_stat(rt_ctx *t, const rt_col *c, const char *got, const uint8_t *v,
                                int is_max, const char *what)
{
	double want = rt_float(c, v);
	if (want == 0)
		want = is_max ? 0.0 : -0.0;
	if (!got) {
		rt_check(t, isinf(want), "%s: NULL, want %g", what, want);
		return;
	}
	double g = strtod(got, NULL);
	if (c->spec.physical == PQ_FLOAT) /* DuckDB prints the shortest float text */
		g = (float)g;
	rt_check(t, g == want && !!signbit(g) == !!signbit(want), "%s: %s, want %s%.17g", what, got,
	         signbit(want) ? "(neg) " : "", want);
}

static int rt_is_bool_true(const char *s)
{
	return s && strcmp(s, "true") == 0;
}

static void rt_check_bound(rt_ctx *t, const rt_col *c, const char *got, const char *exact,
                           const uint8_t *v, size_t len, int is_max, const char *what)
{
	buf want = {0};
	rt_render(&want, c, v, len);
	buf_put_u8(&want, 0);
	int is_exact = rt_is_bool_true(exact);
	if (c->kind != RT_STR || len <= RT_STAT_MAX) {
		rt_check(t, got && strcmp(got, (const char *)want.data) == 0 && is_exact,
		         "%s: '%s' (exact %s), want '%s' (exact)", what, got ? got : "NULL",
		         exact ? exact : "NULL", (const char *)want.data);
	} else if (!got) {
		rt_check(t, 0, "%s: NULL for a %zu-byte value", what, len);
	} else if (is_exact) {
		/* No shorter bound existed (e.g. all U+10FFFF): exact value. */
		rt_check(t, strcmp(got, (const char *)want.data) == 0, "%s: exact '%s', want '%s'",
		         what, got, (const char *)want.data);
	} else {
		size_t gl = strlen(got);
		int ok = gl <= RT_STAT_MAX + 4 && gl > 0;
		if (!is_max)
			ok &= gl < len && memcmp(got, v, gl) == 0; /* a proper prefix */
		else
			ok &= rt_bytes_cmp((const uint8_t *)got, gl, v, len) > 0;
		rt_check(t, ok, "%s: truncated bound '%s' does not bound '%s'", what, got,
		         (const char *)want.data);
	}
	buf_release(&want);
}

static int rt_has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; p && (p = strstr(p, word)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == 0))
			return 1;
	return 0;
}

static void rt_check_metadata(duckdb_connection con, rt_ctx *t, const rt_config *cfg,
                              const char *path, const pq_file_result *res)
{
	char sql[4096];
	snprintf(sql, sizeof(sql),
	         "SELECT row_group_id, column_id, row_group_num_rows, num_values, "
	         "stats_null_count, stats_min_value, stats_max_value, min_is_exact, max_is_exact, "
	         "stats_min, stats_max, encodings, compression, dictionary_page_offset, "
	         "data_page_offset, file_offset, total_compressed_size, path_in_schema "
	         "FROM parquet_metadata('%s') ORDER BY row_group_id, column_id",
	         path);
	rt_rows r;
	if (rt_query(con, t, sql, &r))
		return;
	rt_check(t, r.nrows == (idx_t)res->nrow_groups * C_NCOLS,
	         "parquet_metadata: %llu chunks, want %d", (unsigned long long)r.nrows,
	         res->nrow_groups * C_NCOLS);
	static const char *const codec[] = {[PQ_CODEC_UNCOMPRESSED] = "UNCOMPRESSED",
	                                    [PQ_CODEC_SNAPPY] = "SNAPPY",
	                                    [PQ_CODEC_ZSTD] = "ZSTD"};
	size_t start = 0;
	int64_t comp[C_NCOLS] = {0};
	int fallback_seen = 0, dict_seen = 0, delta_seen = 0;
	for (idx_t i = 0; i < r.nrows; i++) {
		idx_t g = i / C_NCOLS;
		int c = (int)(i % C_NCOLS);
		const rt_col *col = &rt_cols[c];
		char *cell[18];
		for (idx_t k = 0; k < 18; k++)
			cell[k] = rt_cell(&r, k, i);
		size_t rows = cell[2] ? (size_t)strtoull(cell[2], NULL, 10) : 0;
		char what[160], want[64];
		snprintf(what, sizeof(what), "rg %llu %s", (unsigned long long)g, col->spec.name);
		rt_check(t, cell[17] && strcmp(cell[17], col->spec.name) == 0, "%s: path '%s'",
		         what, cell[17] ? cell[17] : "NULL");
		rt_check(t, cell[3] && strtoull(cell[3], NULL, 10) == rows,
		         "%s: num_values %s, want %zu", what, cell[3] ? cell[3] : "NULL", rows);
		rt_stats st;
		rt_stats_of(col, start, start + rows, &st);
		snprintf(want, sizeof(want), "%lld", (long long)st.nulls);
		rt_check(t, cell[4] && strcmp(cell[4], want) == 0, "%s: null_count %s, want %s",
		         what, cell[4] ? cell[4] : "NULL", want);
		rt_check(t, !cell[9] && !cell[10], "%s: deprecated min/max written", what);
		if (!st.has) {
			rt_check(t, !cell[5] && !cell[6], "%s: min/max on a chunk without values",
			         what);
		} else if (col->kind == RT_FLOAT) {
			char w2[200];
			snprintf(w2, sizeof(w2), "%s min", what);
			rt_check_float_stat(t, col, cell[5], st.min, 0, w2);
			snprintf(w2, sizeof(w2), "%s max", what);
			rt_check_float_stat(t, col, cell[6], st.max, 1, w2);
		} else {
			char w2[200];
			snprintf(w2, sizeof(w2), "%s min", what);
			rt_check_bound(t, col, cell[5], cell[7], st.min, st.min_len, 0, w2);
			snprintf(w2, sizeof(w2), "%s max", what);
			rt_check_bound(t, col, cell[6], cell[8], st.max, st.max_len, 1, w2);
		}
		rt_check(t, cell[12] && strcmp(cell[12], codec[cfg->codec]) == 0,
		         "%s: compression %s", what, cell[12] ? cell[12] : "NULL");
		const char *enc = cell[11] ? cell[11] : "";
		int has_dict_page = cell[13] != NULL;
		int dict_enc = rt_has_word(enc, "RLE_DICTIONARY");
		rt_check(t, has_dict_page == dict_enc, "%s: dictionary page %d but encodings '%s'",
		         what, has_dict_page, enc);
		rt_check(t, rt_has_word(enc, "RLE") == !col->spec.required,
		         "%s: RLE (levels) in '%s' for %s column", what, enc,
		         col->spec.required ? "a required" : "an optional");
		if (cfg->dict_max == 0 || col->spec.physical == PQ_BOOLEAN)
			rt_check(t, !dict_enc, "%s: dictionary used: '%s'", what, enc);
		if (c == C_LOWCARD && cfg->dict_max != 0)
			rt_check(t, dict_enc && !rt_has_word(enc, "PLAIN_DICTIONARY"),
			         "%s: low-cardinality column not dictionary-encoded: '%s'", what,
			         enc);
		dict_seen |= dict_enc;
		/* Only with delta encodings do the encodings show a fallback
		 * (PLAIN is also the dictionary page's encoding). */
		if (c == C_FALLBACK && dict_enc && rt_has_word(enc, "DELTA_BINARY_PACKED"))
			fallback_seen = 1;
		delta_seen |= rt_has_word(enc, "DELTA_BINARY_PACKED") ||
		              rt_has_word(enc, "DELTA_LENGTH_BYTE_ARRAY");
		int64_t dict_off = cell[13] ? strtoll(cell[13], NULL, 10) : -1;
		int64_t data_off = cell[14] ? strtoll(cell[14], NULL, 10) : -1;
		int64_t file_off = cell[15] ? strtoll(cell[15], NULL, 10) : -1;
		rt_check(t, data_off > dict_off && data_off >= 4,
		         "%s: data page offset %lld, dictionary page offset %lld", what,
		         (long long)data_off, (long long)dict_off);
		rt_check(t, file_off == (dict_off >= 0 ? dict_off : data_off),
		         "%s: ColumnChunk.file_offset %lld is not the first page", what,
		         (long long)file_off);
		if (c == 0 && (int)g < res->nrow_groups)
			rt_check(t, file_off == res->row_group_offsets[g],
			         "%s: row group offset %lld, result says %lld", what,
			         (long long)file_off, (long long)res->row_group_offsets[g]);
		comp[c] += cell[16] ? strtoll(cell[16], NULL, 10) : 0;
		for (idx_t k = 0; k < 18; k++)
			duckdb_free(cell[k]);
		if (c == C_NCOLS - 1)
			start += rows;
	}
	rt_rows_free(&r);
	rt_check(t, start == RT_ROWS, "row groups hold %zu rows, want %d", start, RT_ROWS);
	for (int c = 0; c < C_NCOLS; c++)
		rt_check(t, comp[c] == res->cols[c].compressed_bytes,
		         "%s: compressed size %lld in the footer, %lld in the result",
		         rt_cols[c].spec.name, (long long)comp[c],
		         (long long)res->cols[c].compressed_bytes);
	if (cfg->delta && cfg->dict_max != 0 && cfg->dict_max != (size_t)-1)
		rt_check(t, fallback_seen,
		         "no chunk of 'fallback' has RLE_DICTIONARY and DELTA_BINARY_PACKED pages");
	if (cfg->dict_max != 0)
		rt_check(t, dict_seen, "no chunk is dictionary-encoded");
	rt_check(t, delta_seen == cfg->delta, "DELTA encodings %s",
	         cfg->delta ? "missing" : "used");
}

/* pq_file_result against the data: exact min/max and counts. */
static void rt_check_result(rt_ctx *t, const pq_file_result *res)
{
	rt_check(t, res->num_rows == RT_ROWS && res->ncols == C_NCOLS,
	         "result: %lld rows, %d columns", (long long)res->num_rows, res->ncols);
	for (int c = 0; c < C_NCOLS && c < res->ncols; c++) {
		const rt_col *col = &rt_cols[c];
		const pq_column_result *cr = &res->cols[c];
		rt_stats st;
		rt_stats_of(col, 0, RT_ROWS, &st);
		rt_check(t,
		         cr->num_values == RT_ROWS && cr->null_count == st.nulls &&
		             cr->nan_count == st.nans,
		         "result %s: values %lld nulls %lld nans %lld, want %d %lld %lld",
		         col->spec.name, (long long)cr->num_values, (long long)cr->null_count,
		         (long long)cr->nan_count, RT_ROWS, (long long)st.nulls,
		         (long long)st.nans);
		rt_check(t, cr->has_min_max == st.has, "result %s: has_min_max %d", col->spec.name,
		         cr->has_min_max);
		if (!st.has || !cr->has_min_max)
			continue;
		rt_check(t, cr->min_len == st.min_len && memcmp(cr->min, st.min, st.min_len) == 0,
		         "result %s: min is not the exact minimum", col->spec.name);
		rt_check(t, cr->max_len == st.max_len && memcmp(cr->max, st.max, st.max_len) == 0,
		         "result %s: max is not the exact maximum", col->spec.name);
		rt_check(t, cr->compressed_bytes > 0 && cr->uncompressed_bytes > 0,
		         "result %s: sizes", col->spec.name);
	}
}

static void rt_check_file(rt_ctx *t, const char *path, const pq_file_result *res)
{
	FILE *f = fopen(path, "rb");
	uint8_t head[4], tail[8];
	long size = -1;
	int ok = f && fread(head, 1, 4, f) == 4 && fseek(f, -8, SEEK_END) == 0 &&
	         fread(tail, 1, 8, f) == 8 && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0;
	if (f)
		fclose(f);
	rt_check(t, ok, "cannot read %s back", path);
	if (!ok)
		return;
	rt_check(t, memcmp(head, "PAR1", 4) == 0 && memcmp(tail + 4, "PAR1", 4) == 0,
	         "magic missing at the start or end");
	rt_check(t, get_le32(tail) > 0 && get_le32(tail) < (uint32_t)size - 12,
	         "footer length %u in a %ld-byte file", get_le32(tail), size);
	rt_check(t, size == res->file_size, "file is %ld bytes, writer reported %lld", size,
	         (long long)res->file_size);
}

/* ---- driver ----------------------------------------------------------- */

typedef struct rt_file {
	FILE *f;
} rt_file;

static int rt_sink(void *ctx, const void *p, size_t n, char *err)
{
	rt_file *fs = ctx;
	if (fwrite(p, 1, n, fs->f) != n)
		return errf(err, FLOE_EIO, "write: %s", strerror(errno));
	return 0;
}

/* Fills data[0..ncols) with the columns of the rows from r on. */
typedef void (*rt_fill_fn)(const void *src, size_t r, pq_column_data *data);

/* Writes `rows` rows of the columns `specs` under cfg's options to path, in
 * pq_writer_write calls of the sizes in `batches` (0-terminated, repeated). */
static int rt_write_file(const rt_config *cfg, const char *path, const pq_column_spec *specs,
                         int ncols, const pq_kv *kv, int nkv, size_t rows, const size_t *batches,
                         rt_fill_fn fill, const void *src, pq_file_result *res, char *err)
{
	pq_column_data data[C_NCOLS];
	pq_options o;
	pq_options_default(&o);
	o.codec = cfg->codec;
	o.delta_encodings = cfg->delta;
	o.created_by = "floe-roundtrip";
	if (cfg->dict_max != (size_t)-1)
		o.dict_max_bytes = cfg->dict_max;
	if (cfg->page)
		o.page_bytes = cfg->page;
	if (cfg->row_group)
		o.row_group_bytes = cfg->row_group;
	if (ncols > C_NCOLS)
		return errf(err, FLOE_EINVAL, "%d columns, at most %d", ncols, C_NCOLS);
	rt_file fs = {fopen(path, "wb")};
	if (!fs.f)
		return errf(err, FLOE_EIO, "%s: %s", path, strerror(errno));
	pq_writer *w;
	int rc = pq_writer_open(specs, ncols, kv, nkv, &o, rt_sink, &fs, &w, err);
	for (size_t r = 0, b = 0; rc == 0 && r < rows; b = batches[b + 1] ? b + 1 : 0) {
		size_t n = batches[b] < rows - r ? batches[b] : rows - r;
		fill(src, r, data);
		rc = pq_writer_write(w, data, n, err);
		r += n;
	}
	if (rc == 0)
		rc = pq_writer_close(w, res, err);
	else
		pq_writer_abort(w);
	if (fclose(fs.f) != 0 && rc == 0)
		rc = errf(err, FLOE_EIO, "%s: %s", path, strerror(errno));
	return rc;
}

static void rt_fill_flat(const void *src, size_t r, pq_column_data *data)
{
	(void)src;
	for (int c = 0; c < C_NCOLS; c++) {
		const rt_col *col = &rt_cols[c];
		data[c].valid = col->valid ? col->valid + r : NULL;
		data[c].values = col->values ? col->values + (size_t)col->width * r : NULL;
		data[c].offsets = col->off ? col->off + r : NULL;
		data[c].bytes = col->bytes;
	}
}

static int rt_write(const rt_config *cfg, const char *path, pq_file_result *res, char *err)
{
	pq_column_spec specs[C_NCOLS];
	for (int c = 0; c < C_NCOLS; c++)
		specs[c] = rt_cols[c].spec;
	pq_kv kv[2] = {{"iceberg.schema", "{\"type\":\"struct\",\"fields\":[]}"},
	               {"writer", "pq_roundtrip \xE2\x9C\x93"}};
	static const size_t batches[] = {1, 7, 1000, 4096, 3, 9000, 0};
	return rt_write_file(cfg, path, specs, C_NCOLS, kv, 2, RT_ROWS, batches, rt_fill_flat, NULL,
	                     res, err);
}

/* ---- list columns ------------------------------------------------------- */

#define RT_LIST_ROWS 7001
enum { L_INTS, L_STRS, L_REQ, L_BOOLS, L_NCOLS };

static const pq_column_spec rt_list_specs[L_NCOLS] = {
    {.name = "ints", .field_id = 1, .physical = PQ_INT32, .list = 1, .element_field_id = 5},
    {.name = "strs",
     .field_id = 2,
     .physical = PQ_BYTE_ARRAY,
     .logical = PQ_LOGICAL_STRING,
     .list = 1,
     .element_field_id = 6},
    {.name = "req",
     .field_id = 3,
     .physical = PQ_INT64,
     .required = 1,
     .list = 1,
     .element_field_id = 7,
     .element_required = 1},
    {.name = "bools", .field_id = 4, .physical = PQ_BOOLEAN, .list = 1, .element_field_id = 8},
};

/* Row r of list column c: -1 = null list, else the element count; element
 * k (global index e) is null when e % 9 == 4 (optional elements only). */
static long rt_list_len(int c, size_t r)
{
	if (c != L_REQ && r % 13 == 7)
		return -1;
	if (r == 4000 || (c == L_STRS && r == 4001))
		return 30000; /* more than a page holds */
	return (long)((r * 7 + (size_t)c) % (c == L_STRS ? 5 : 12));
}

typedef struct rt_list_data {
	uint64_t lo[L_NCOLS][RT_LIST_ROWS + 1];
	uint8_t valid[L_NCOLS][RT_LIST_ROWS];
	uint8_t *ev[L_NCOLS];
	int32_t *i32;
	int64_t *i64;
	uint8_t *b8;
	uint64_t *soff;
	buf sbytes;
} rt_list_data;

static int rt_list_null(int c, uint64_t e)
{
	return c != L_REQ && e % 9 == 4;
}

static int rt_list_generate(rt_list_data *L)
{
	for (int c = 0; c < L_NCOLS; c++) {
		L->lo[c][0] = 0;
		for (size_t r = 0; r < RT_LIST_ROWS; r++) {
			long n = rt_list_len(c, r);
			L->valid[c][r] = n >= 0;
			L->lo[c][r + 1] = L->lo[c][r] + (uint64_t)(n < 0 ? 0 : n);
		}
		uint64_t ne = L->lo[c][RT_LIST_ROWS];
		if (!(L->ev[c] = malloc(ne + 1)))
			return -1;
		for (uint64_t e = 0; e < ne; e++)
			L->ev[c][e] = !rt_list_null(c, e);
	}
	L->i32 = malloc((L->lo[L_INTS][RT_LIST_ROWS] + 1) * 4);
	L->i64 = malloc((L->lo[L_REQ][RT_LIST_ROWS] + 1) * 8);
	L->b8 = malloc(L->lo[L_BOOLS][RT_LIST_ROWS] + 1);
	L->soff = malloc((L->lo[L_STRS][RT_LIST_ROWS] + 1) * 8);
	if (!L->i32 || !L->i64 || !L->b8 || !L->soff)
		return -1;
	for (uint64_t e = 0; e < L->lo[L_INTS][RT_LIST_ROWS]; e++)
		L->i32[e] = L->ev[L_INTS][e] ? (int32_t)(rt_rand() & 0xffffffffu) : 0;
	for (uint64_t e = 0; e < L->lo[L_REQ][RT_LIST_ROWS]; e++)
		L->i64[e] = (int64_t)rt_rand();
	for (uint64_t e = 0; e < L->lo[L_BOOLS][RT_LIST_ROWS]; e++)
		L->b8[e] = L->ev[L_BOOLS][e] ? (uint8_t)(rt_rand() & 1) : 0;
	L->soff[0] = 0;
	for (uint64_t e = 0; e < L->lo[L_STRS][RT_LIST_ROWS]; e++) {
		if (L->ev[L_STRS][e]) /* few distinct words, then many: dictionary fallback */
			buf_printf(&L->sbytes, "w%llu",
			           (unsigned long long)(e < 40000 ? e % 50 : e));
		L->soff[e + 1] = L->sbytes.len;
	}
	return buf_ok(&L->sbytes) ? 0 : -1;
}

static void rt_list_free(rt_list_data *L)
{
	for (int c = 0; c < L_NCOLS; c++)
		free(L->ev[c]);
	free(L->i32);
	free(L->i64);
	free(L->b8);
	free(L->soff);
	buf_release(&L->sbytes);
}

static void rt_list_column(const rt_list_data *L, int c, size_t r, pq_column_data *d)
{
	memset(d, 0, sizeof(*d));
	d->valid = L->valid[c] + r;
	d->list_offsets = L->lo[c] + r;
	d->elem_valid = L->ev[c];
	if (c == L_INTS)
		d->values = L->i32;
	else if (c == L_REQ)
		d->values = L->i64;
	else if (c == L_BOOLS)
		d->values = L->b8;
	else {
		d->offsets = L->soff;
		d->bytes = L->sbytes.data;
	}
}

static void rt_fill_lists(const void *src, size_t r, pq_column_data *data)
{
	for (int c = 0; c < L_NCOLS; c++)
		rt_list_column(src, c, r, &data[c]);
}

static int rt_list_write(const rt_config *cfg, const rt_list_data *L, const char *path,
                         pq_file_result *res, char *err)
{
	static const size_t batches[] = {1, 3999, 2, 7, 3000, 0};
	return rt_write_file(cfg, path, rt_list_specs, L_NCOLS, NULL, 0, RT_LIST_ROWS, batches,
	                     rt_fill_lists, L, res, err);
}

/* to_json of row r of list column c, as DuckDB writes it. */
static void rt_list_json(const rt_list_data *L, int c, size_t r, buf *out)
{
	buf_reset(out);
	if (!L->valid[c][r])
		return;
	buf_put_u8(out, '[');
	for (uint64_t e = L->lo[c][r]; e < L->lo[c][r + 1]; e++) {
		if (e > L->lo[c][r])
			buf_put_u8(out, ',');
		if (!L->ev[c][e])
			buf_append_str(out, "null");
		else if (c == L_INTS)
			buf_printf(out, "%d", L->i32[e]);
		else if (c == L_REQ)
			buf_printf(out, "%lld", (long long)L->i64[e]);
		else if (c == L_BOOLS)
			buf_append_str(out, L->b8[e] ? "true" : "false");
		else
			buf_printf(out, "\"%.*s\"", (int)(L->soff[e + 1] - L->soff[e]),
			           (const char *)L->sbytes.data + L->soff[e]);
	}
	buf_put_u8(out, ']');
	buf_put_u8(out, 0);
}

static void rt_list_check(duckdb_connection con, rt_ctx *t, const rt_list_data *L, const char *path,
                          const pq_file_result *res)
{
	char sql[2048];
	rt_rows q;
	buf want = {0};
	snprintf(sql, sizeof(sql),
	         "SELECT to_json(ints)::VARCHAR, to_json(strs)::VARCHAR, to_json(req)::VARCHAR, "
	         "to_json(bools)::VARCHAR FROM read_parquet('%s', file_row_number=true) ORDER BY "
	         "file_row_number",
	         path);
	if (rt_query(con, t, sql, &q) == 0) {
		rt_check(t, q.nrows == RT_LIST_ROWS, "lists: %llu rows",
		         (unsigned long long)q.nrows);
		for (idx_t r = 0; r < q.nrows && r < RT_LIST_ROWS; r++) {
			for (int c = 0; c < L_NCOLS; c++) {
				rt_list_json(L, c, (size_t)r, &want);
				char what[64];
				snprintf(what, sizeof(what), "list %s row %llu",
				         rt_list_specs[c].name, (unsigned long long)r);
				rt_cell_is(t, &q, (idx_t)c, r,
				           L->valid[c][r] ? (char *)want.data : NULL, what);
			}
		}
		rt_rows_free(&q);
	}
	/* field ids: the LIST group has the column's, the element the element's */
	snprintf(sql, sizeof(sql),
	         "SELECT name, field_id, repetition_type FROM parquet_schema('%s') WHERE name "
	         "NOT IN ('schema', 'list')",
	         path);
	if (rt_query(con, t, sql, &q) == 0) {
		rt_check(t, q.nrows == 2 * L_NCOLS, "list schema: %llu elements",
		         (unsigned long long)q.nrows);
		for (idx_t i = 0; i + 1 < q.nrows && i / 2 < L_NCOLS; i += 2) {
			const pq_column_spec *sp = &rt_list_specs[i / 2];
			char id[16], eid[16];
			snprintf(id, sizeof(id), "%d", (int)sp->field_id);
			snprintf(eid, sizeof(eid), "%d", (int)sp->element_field_id);
			rt_cell_is(t, &q, 0, i, sp->name, "list group name");
			rt_cell_is(t, &q, 1, i, id, "list field_id");
			rt_cell_is(t, &q, 2, i, sp->required ? "REQUIRED" : "OPTIONAL", "list rep");
			rt_cell_is(t, &q, 0, i + 1, "element", "element name");
			rt_cell_is(t, &q, 1, i + 1, eid, "element field_id");
			rt_cell_is(t, &q, 2, i + 1, sp->element_required ? "REQUIRED" : "OPTIONAL",
			           "element rep");
		}
		rt_rows_free(&q);
	}
	/* num_values and null counts per row group and column */
	snprintf(sql, sizeof(sql),
	         "SELECT row_group_num_rows, num_values, stats_null_count FROM "
	         "parquet_metadata('%s') ORDER BY row_group_id, column_id",
	         path);
	if (rt_query(con, t, sql, &q) == 0) {
		size_t start = 0;
		int64_t totals[L_NCOLS] = {0}, nulls[L_NCOLS] = {0};
		for (idx_t i = 0; i + L_NCOLS <= q.nrows; i += L_NCOLS) {
			char *nr = rt_cell(&q, 0, i);
			size_t n = nr ? (size_t)strtoull(nr, NULL, 10) : 0;
			duckdb_free(nr);
			for (int c = 0; c < L_NCOLS; c++) {
				int64_t ents = 0, nn = 0;
				for (size_t r = start; r < start + n && r < RT_LIST_ROWS; r++) {
					uint64_t len = L->lo[c][r + 1] - L->lo[c][r];
					ents += len ? (int64_t)len : 1;
					nn += len == 0;
					for (uint64_t e = L->lo[c][r]; e < L->lo[c][r + 1]; e++)
						nn += !L->ev[c][e];
				}
				char a[32], b[32];
				snprintf(a, sizeof(a), "%lld", (long long)ents);
				snprintf(b, sizeof(b), "%lld", (long long)nn);
				rt_cell_is(t, &q, 1, i + (idx_t)c, a, "list chunk num_values");
				rt_cell_is(t, &q, 2, i + (idx_t)c, b, "list chunk null_count");
				totals[c] += ents;
				nulls[c] += nn;
			}
			start += n;
		}
		rt_check(t, start == RT_LIST_ROWS, "list row groups hold %zu rows", start);
		for (int c = 0; c < L_NCOLS; c++)
			rt_check(t,
			         res->cols[c].num_values == totals[c] &&
			             res->cols[c].null_count == nulls[c],
			         "list %s: result num_values %lld null_count %lld",
			         rt_list_specs[c].name, (long long)res->cols[c].num_values,
			         (long long)res->cols[c].null_count);
		rt_rows_free(&q);
	}
	buf_release(&want);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	static const rt_config configs[] = {
	    {"zstd-dict-fallback", PQ_CODEC_ZSTD, 0, 4096, 8192, 400000},
	    {"snappy-delta-fallback", PQ_CODEC_SNAPPY, 1, 4096, 8192, 400000},
	    {"uncompressed-nodict", PQ_CODEC_UNCOMPRESSED, 0, 0, 4096, 300000},
	    {"zstd-defaults", PQ_CODEC_ZSTD, 0, (size_t)-1, 0, 0},
	    {"zstd-delta-defaults", PQ_CODEC_ZSTD, 1, (size_t)-1, 0, 0},
	    {"snappy-tiny-pages", PQ_CODEC_SNAPPY, 0, 100000, 300, 50000},
	};
	int total_pass = 0, total_fail = 0;
	duckdb_database db = NULL;
	duckdb_connection con = NULL;
	duckdb_config dconf = NULL;
	char *open_err = NULL;
	static rt_list_data lists;
	if (rt_generate() || rt_list_generate(&lists)) {
		fprintf(stderr, "pq_roundtrip: out of memory\n");
		rt_free_data();
		rt_list_free(&lists);
		return 1;
	}
	if (duckdb_create_config(&dconf) == DuckDBError ||
	    duckdb_set_config(dconf, "autoinstall_known_extensions", "false") == DuckDBError ||
	    duckdb_set_config(dconf, "autoload_known_extensions", "true") == DuckDBError ||
	    duckdb_open_ext(NULL, &db, dconf, &open_err) == DuckDBError ||
	    duckdb_connect(db, &con) == DuckDBError) {
		fprintf(stderr, "pq_roundtrip: cannot start DuckDB: %s\n",
		        open_err ? open_err : "?");
		total_fail++;
		goto done;
	}
	for (size_t k = 0; k < sizeof(configs) / sizeof(configs[0]); k++) {
		const rt_config *cfg = &configs[k];
		rt_ctx t = {0, 0, 0, cfg->name};
		char path[1024], err[ERR_LEN];
		snprintf(path, sizeof(path), "%s/pq_roundtrip_%s.parquet", dir, cfg->name);
		pq_file_result res;
		int rc = rt_write(cfg, path, &res, err);
		rt_check(&t, rc == 0, "writing %s: %s", path, rc ? err : "");
		if (rc == 0) {
			rt_check_file(&t, path, &res);
			rt_check_result(&t, &res);
			rt_check_schema(con, &t, path);
			rt_check_file_meta(con, &t, path, &res);
			rt_check_values(con, &t, path);
			rt_check_metadata(con, &t, cfg, path, &res);
			printf("pq_roundtrip %s: %d row groups, %lld bytes\n", cfg->name,
			       res.nrow_groups, (long long)res.file_size);
			pq_file_result_free(&res);
		}
		if (t.failed == 0)
			remove(path);
		int failed = t.failed;
		snprintf(path, sizeof(path), "%s/pq_roundtrip_%s_lists.parquet", dir, cfg->name);
		rc = rt_list_write(cfg, &lists, path, &res, err);
		rt_check(&t, rc == 0, "writing %s: %s", path, rc ? err : "");
		if (rc == 0) {
			rt_list_check(con, &t, &lists, path, &res);
			pq_file_result_free(&res);
		}
		if (t.failed == failed)
			remove(path);
		printf("%s: %d passed, %d failed\n", cfg->name, t.passed, t.failed);
		total_pass += t.passed;
		total_fail += t.failed;
	}
done:
	if (open_err)
		duckdb_free(open_err);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	duckdb_destroy_config(&dconf);
	rt_free_data();
	rt_list_free(&lists);
	printf("pq_roundtrip: %d passed, %d failed\n", total_pass, total_fail);
	return total_fail ? 1 : 0;
}
