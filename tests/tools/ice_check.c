/*
 * ice_check — end-to-end check of floe's Iceberg writer on real Parquet
 * files, with DuckDB as the independent reader.
 *
 *   ice_check DIR        DIR must not exist; the table is left there.
 *
 * Builds a table with one column of every type floe's schema supports,
 * writes three Parquet files with src/format/parquet.c (long and multibyte
 * strings, binary with 0xff runs, negative decimals, nulls), turns their
 * footer statistics into manifest metrics with src/iceberg/bounds.c, and
 * commits them (two appends, then a removal). Then, for every live file,
 * DuckDB's read_parquet must agree with the manifest entry: row count, file
 * size, value and null counts, field ids, and each bound must hold for the
 * values DuckDB reads (equal to min/max where nothing is truncated; a prefix
 * of the min and >= the max for strings and binary; no upper bound only when
 * none exists). DuckDB also parses the metadata JSON. (DuckDB's iceberg
 * extension is not available offline, so iceberg_scan is not used.)
 * Prints "ice_check: ok" and exits 0, or prints every mismatch and exits 1.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include "duckdb.h"
#pragma GCC diagnostic pop

#include "base/buf.h"
#include "base/err.h"
#include "format/parquet.h"
#include "iceberg/bounds.h"
#include "iceberg/table.h"

#define ROWS   1000
#define NFILES 3

static int failures;

static void check_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void check_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ice_check: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	failures++;
}

/* ------------------------------------------------------------------ */
/* The table: one column per type, and its Parquet form                 */

static ice_field ice_check_fields[] = {
    {.id = 1, .name = "id", .required = 1, .type = ICE_LONG},
    {.id = 2, .name = "name", .type = ICE_STRING},
    {.id = 3, .name = "price", .type = ICE_DECIMAL, .precision = 10, .scale = 2},
    {.id = 4, .name = "big", .type = ICE_DECIMAL, .precision = 30, .scale = 4},
    {.id = 5, .name = "ts", .type = ICE_TIMESTAMPTZ},
    {.id = 6, .name = "d", .type = ICE_DATE},
    {.id = 7, .name = "f", .type = ICE_DOUBLE},
    {.id = 8, .name = "flag", .type = ICE_BOOLEAN},
    {.id = 9, .name = "u", .type = ICE_UUID},
    {.id = 10, .name = "bin", .type = ICE_BINARY},
    {.id = 11, .name = "small", .type = ICE_INT},
    {.id = 12, .name = "fx", .type = ICE_FIXED, .length = 3},
    {.id = 13, .name = "t", .type = ICE_TIME},
    {.id = 14, .name = "ts2", .type = ICE_TIMESTAMP},
    {.id = 15, .name = "r", .type = ICE_FLOAT},
};
#define NCOLS ((int)(sizeof ice_check_fields / sizeof ice_check_fields[0]))

/* Bytes of a decimal of this precision as FLBA (Parquet's minimum). */
static int decimal_bytes(int precision)
{
	int n = 1;
	/* 2^(8n-1) > 10^precision */
	long double limit = 1;
	for (int i = 0; i < precision; i++)
		limit *= 10;
	long double max = 128;
	while (max <= limit) {
		max *= 256;
		n++;
	}
	return n;
}

static void pq_spec_of(const ice_field *f, pq_column_spec *s)
{
	*s = (pq_column_spec){.name = f->name, .field_id = f->id, .required = f->required};
	switch (f->type) {
	case ICE_BOOLEAN:
		s->physical = PQ_BOOLEAN;
		break;
	case ICE_INT:
		s->physical = PQ_INT32;
		s->logical = PQ_LOGICAL_INT;
		s->int_bits = 32;
		break;
	case ICE_LONG:
		s->physical = PQ_INT64;
		break;
	case ICE_FLOAT:
		s->physical = PQ_FLOAT;
		break;
	case ICE_DOUBLE:
		s->physical = PQ_DOUBLE;
		break;
	case ICE_DECIMAL:
		s->logical = PQ_LOGICAL_DECIMAL;
		s->precision = f->precision;
		s->scale = f->scale;
		if (f->precision <= 9) {
			s->physical = PQ_INT32;
		} else if (f->precision <= 18) {
			s->physical = PQ_INT64;
		} else {
			s->physical = PQ_FIXED_LEN_BYTE_ARRAY;
			s->type_length = decimal_bytes(f->precision);
		}
		break;
	case ICE_DATE:
		s->physical = PQ_INT32;
		s->logical = PQ_LOGICAL_DATE;
		break;
	case ICE_TIME:
		s->physical = PQ_INT64;
		s->logical = PQ_LOGICAL_TIME;
		break;
	case ICE_TIMESTAMP:
	case ICE_TIMESTAMPTZ:
		s->physical = PQ_INT64;
		s->logical = PQ_LOGICAL_TIMESTAMP;
		s->utc_adjusted = f->type == ICE_TIMESTAMPTZ;
		break;
	case ICE_STRING:
		s->physical = PQ_BYTE_ARRAY;
		s->logical = PQ_LOGICAL_STRING;
		break;
	case ICE_UUID:
		s->physical = PQ_FIXED_LEN_BYTE_ARRAY;
		s->logical = PQ_LOGICAL_UUID;
		s->type_length = 16;
		break;
	case ICE_BINARY:
		s->physical = PQ_BYTE_ARRAY;
		break;
	case ICE_FIXED:
		s->physical = PQ_FIXED_LEN_BYTE_ARRAY;
		s->type_length = f->length;
		break;
	case ICE_LIST: /* none among the fields this tool writes */
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Row values                                                            */

static void put_i128_be(uint8_t *out, int n, __int128 v)
{
	for (int i = n - 1; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8; /* arithmetic: keeps the sign */
	}
}

/* Appends value (file, row) of column c to `out` in PLAIN form without
 * length prefix; returns 0 for a null. */
static int gen_value(int c, int file, int i, buf *out)
{
	const ice_field *f = &ice_check_fields[c];
	int64_t g = (int64_t)file * ROWS + i;
	uint8_t b[16];
	if (!f->required && f->type != ICE_BOOLEAN && i % 10 == 7)
		return 0;
	switch (f->id) {
	case 1:
		buf_put_le64(out, (uint64_t)g);
		return 1;
	case 2:
		if (i % 4 == 1) {
			buf_printf(out, "name-%05" PRId64, g);
		} else if (i % 4 == 2) {
			for (int k = 0; k < 17; k++)
				buf_append_str(out, "\xc3\xa9"); /* U+00E9 */
			buf_printf(out, "%" PRId64, g);
		} else if (i % 4 == 3) {
			buf_printf(out, "zzzzzzzzzzzzzzzzzzzz%" PRId64, g);
		} else if (file == 2) {
			for (int k = 0; k < 20; k++) /* U+10FFFF: no upper bound possible */
				buf_append_str(out, "\xf4\x8f\xbf\xbf");
		} else {
			buf_append_str(out, "a");
		}
		return 1;
	case 3:
		buf_put_le64(out, (uint64_t)(g * 37 - 5000));
		return 1;
	case 4: {
		__int128 v = (__int128)(g - 1500) * 100000000000000000LL * 1000 + 12345;
		put_i128_be(b, decimal_bytes(30), v);
		buf_append(out, b, (size_t)decimal_bytes(30));
		return 1;
	}
	case 5:
		buf_put_le64(out, (uint64_t)(1700000000000000LL + g * 1000003));
		return 1;
	case 6:
		buf_put_le32(out, (uint32_t)(19000 + g));
		return 1;
	case 7: {
		double x = (double)(g - 1500) * 0.5;
		uint64_t bits;
		memcpy(&bits, &x, 8);
		buf_put_le64(out, bits);
		return 1;
	}
	case 8:
		buf_put_u8(out, g % 3 == 0);
		return 1;
	case 9:
		for (int j = 0; j < 16; j++)
			b[j] = (uint8_t)(g * 13 + j * 17);
		buf_append(out, b, 16);
		return 1;
	case 10:
		if (file != 1 && i % 5 == 0) {
			for (int j = 0; j < 30; j++) /* all 0xff: no upper bound possible */
				buf_put_u8(out, 0xff);
		} else {
			for (int j = 0; j < g % 40; j++)
				buf_put_u8(out, (uint8_t)(g * 7 + j));
		}
		return 1;
	case 11:
		buf_put_le32(out, (uint32_t)(g - 300));
		return 1;
	case 12:
		b[0] = (uint8_t)g;
		b[1] = (uint8_t)(g >> 8);
		b[2] = 0x5a;
		buf_append(out, b, 3);
		return 1;
	case 13:
		buf_put_le64(out, (uint64_t)((g % 86400) * 1000000));
		return 1;
	case 14:
		buf_put_le64(out, (uint64_t)(1700000000000000LL + g * 1000003 - 5));
		return 1;
	case 15: {
		float x = (float)g * 0.25f;
		uint32_t bits;
		memcpy(&bits, &x, 4);
		buf_put_le32(out, bits);
		return 1;
	}
	}
	return 0;
}

static int file_sink(void *ctx, const void *data, size_t n, char *err)
{
	if (fwrite(data, 1, n, ctx) != n)
		return errf(err, FLOE_EIO, "short write");
	return 0;
}

/* Writes data/f<file>.parquet and describes it as a manifest data file. */
static int write_file(const char *dir, const ice_schema *schema, int file, ice_data_file *df,
                      char *err)
{
	pq_column_spec specs[NCOLS];
	pq_column_data data[NCOLS];
	buf vals[NCOLS] = {{0}};
	uint64_t *offsets[NCOLS] = {0};
	uint8_t *valid[NCOLS] = {0};
	char path[600];
	pq_file_result res = {0};
	char *schema_text = NULL;
	FILE *fp = NULL;
	pq_writer *w = NULL;
	int rc = 0;
	snprintf(path, sizeof path, "%s/data/f%d.parquet", dir, file);
	for (int c = 0; c < NCOLS; c++) {
		pq_spec_of(&ice_check_fields[c], &specs[c]);
		valid[c] = malloc(ROWS);
		offsets[c] = malloc((ROWS + 1) * sizeof(uint64_t));
		if (!valid[c] || !offsets[c]) {
			rc = errf(err, FLOE_ENOMEM, "out of memory");
			goto done;
		}
		int varlen = specs[c].physical == PQ_BYTE_ARRAY;
		size_t width = specs[c].physical == PQ_BOOLEAN                                  ? 1
		               : specs[c].physical == PQ_INT32 || specs[c].physical == PQ_FLOAT ? 4
		               : specs[c].physical == PQ_FIXED_LEN_BYTE_ARRAY
		                   ? (size_t)specs[c].type_length
		                   : 8;
		for (int i = 0; i < ROWS; i++) {
			offsets[c][i] = vals[c].len;
			valid[c][i] = (uint8_t)gen_value(c, file, i, &vals[c]);
			if (!valid[c][i] && !varlen)
				buf_append(&vals[c], "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", width);
		}
		offsets[c][ROWS] = vals[c].len;
		data[c] = (pq_column_data){.valid = valid[c]};
		if (varlen) {
			data[c].offsets = offsets[c];
			data[c].bytes = vals[c].data;
		} else {
			data[c].values = vals[c].data;
		}
	}
	json_t *sj = ice_schema_to_json(schema);
	schema_text = json_dumps(sj, JSON_COMPACT);
	json_decref(sj);
	pq_kv kv = {"iceberg.schema", schema_text};
	pq_options opts;
	pq_options_default(&opts);
	opts.row_group_bytes = 16 << 10; /* several row groups: split offsets */
	fp = fopen(path, "wb");
	if (!fp || !schema_text) {
		rc = errf(err, FLOE_EIO, "cannot create %s", path);
		goto done;
	}
	if ((rc = pq_writer_open(specs, NCOLS, &kv, 1, &opts, file_sink, fp, &w, err)) ||
	    (rc = pq_writer_write(w, data, ROWS, err)) || (rc = pq_writer_close(w, &res, err)))
		goto done;
	if (fclose(fp) != 0) {
		fp = NULL;
		rc = errf(err, FLOE_EIO, "close %s", path);
		goto done;
	}
	fp = NULL;

	char uri[700];
	snprintf(uri, sizeof uri, "file://%s", path);
	*df = (ice_data_file){.content = 0,
	                      .file_path = strdup(uri),
	                      .file_format = strdup("PARQUET"),
	                      .record_count = res.num_rows,
	                      .file_size_in_bytes = res.file_size,
	                      .ncols = NCOLS,
	                      .cols = calloc(NCOLS, sizeof(ice_col_metrics)),
	                      .nsplit_offsets = res.nrow_groups,
	                      .split_offsets = calloc((size_t)res.nrow_groups, sizeof(int64_t)),
	                      .sort_order_id = -1,
	                      .first_row_id = -1,
	                      .content_offset = -1,
	                      .content_size_in_bytes = -1};
	if (!df->file_path || !df->file_format || !df->cols || !df->split_offsets) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto done;
	}
	memcpy(df->split_offsets, res.row_group_offsets, (size_t)res.nrow_groups * sizeof(int64_t));
	for (int c = 0; c < NCOLS; c++) {
		const pq_column_result *r = &res.cols[c];
		const ice_field *f = &ice_check_fields[c];
		ice_col_metrics *m = &df->cols[c];
		*m = (ice_col_metrics){
		    .field_id = f->id,
		    .column_size = r->compressed_bytes,
		    .value_count = r->num_values,
		    .null_count = r->null_count,
		    .nan_count = f->type == ICE_FLOAT || f->type == ICE_DOUBLE ? r->nan_count : -1};
		if (!r->has_min_max)
			continue;
		buf lo = {0}, hi = {0};
		int has_upper;
		rc = ice_bounds_from_parquet(f, r->min, r->min_len, r->max, r->max_len, &lo, &hi,
		                             &has_upper, err);
		if (rc) {
			buf_release(&lo);
			buf_release(&hi);
			goto done;
		}
		/* A zero-length bound (empty string) still needs a non-NULL pointer. */
		buf_reserve(&lo, 1);
		m->lower = buf_steal(&lo, &m->lower_len);
		if (has_upper) {
			buf_reserve(&hi, 1);
			m->upper = buf_steal(&hi, &m->upper_len);
		}
		buf_release(&hi);
	}
done:
	if (fp)
		fclose(fp);
	pq_file_result_free(&res);
	free(schema_text);
	for (int c = 0; c < NCOLS; c++) {
		buf_release(&vals[c]);
		free(offsets[c]);
		free(valid[c]);
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* DuckDB side                                                           */

static duckdb_connection conn;

/* Runs sql; returns row 0 column col as a malloc'd string (NULL for SQL NULL). */
static char *query1(const char *sql, idx_t col, int *ok)
{
	duckdb_result res;
	*ok = 0;
	if (duckdb_query(conn, sql, &res) == DuckDBError) {
		check_fail("DuckDB: %s\n  in: %s", duckdb_result_error(&res), sql);
		duckdb_destroy_result(&res);
		return NULL;
	}
	char *out = NULL;
	if (duckdb_row_count(&res) > 0 && !duckdb_value_is_null(&res, col, 0)) {
		char *v = duckdb_value_varchar(&res, col, 0);
		out = v ? strdup(v) : NULL;
		duckdb_free(v);
	}
	*ok = 1;
	duckdb_destroy_result(&res);
	return out;
}

static int64_t query_int(const char *sql, idx_t col)
{
	int ok;
	char *s = query1(sql, col, &ok);
	int64_t v = s ? strtoll(s, NULL, 10) : -1;
	free(s);
	return v;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10;
}

/* Decodes hex (uuid dashes skipped) into out; returns the byte count. */
static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (; s[0] && s[1] && n < cap; s++) {
		if (*s == '-')
			continue;
		out[n++] = (uint8_t)(hexval(s[0]) << 4 | hexval(s[1]));
		s++;
	}
	return n;
}

/* "-12.3400" at `scale` digits -> unscaled integer. */
static __int128 parse_decimal(const char *s)
{
	int neg = *s == '-';
	__int128 v = 0;
	for (s += neg; *s; s++)
		if (*s >= '0' && *s <= '9')
			v = v * 10 + (*s - '0');
	return neg ? -v : v;
}

static __int128 be_to_i128(const uint8_t *p, size_t n)
{
	__int128 v = (p[0] & 0x80) ? -1 : 0;
	for (size_t i = 0; i < n; i++)
		v = v * 256 + p[i];
	return v;
}

/* The SQL expression whose text is the column's min or max in a form the
 * bound can be compared with. */
static void value_sql(const ice_field *f, const char *agg, char *out, size_t cap)
{
	switch (f->type) {
	case ICE_DATE:
		snprintf(out, cap, "(%s(\"%s\") - DATE '1970-01-01')", agg, f->name);
		break;
	case ICE_TIMESTAMP:
	case ICE_TIMESTAMPTZ:
		snprintf(out, cap, "epoch_us(%s(\"%s\"))", agg, f->name);
		break;
	case ICE_TIME:
		snprintf(out, cap, "datediff('microsecond', TIME '00:00:00', %s(\"%s\"))", agg,
		         f->name);
		break;
	case ICE_BINARY:
	case ICE_FIXED:
		snprintf(out, cap, "hex(%s(\"%s\"))", agg, f->name);
		break;
	case ICE_FLOAT:
		snprintf(out, cap, "%s(\"%s\")::DOUBLE", agg, f->name);
		break;
	default:
		snprintf(out, cap, "%s(\"%s\")", agg, f->name);
		break;
	}
}

/* Compares one bound with DuckDB's min (lower) or max (upper) text. */
static void check_bound(const char *file, const ice_field *f, int upper, const uint8_t *b,
                        size_t blen, const char *v)
{
	const char *which = upper ? "upper" : "lower";
	uint8_t raw[256];
	size_t n;
	switch (f->type) {
	case ICE_BOOLEAN:
		if (blen != 1 || b[0] != (strcmp(v, "true") == 0))
			check_fail("%s %s: %s bound %d != %s", file, f->name, which, b[0], v);
		return;
	case ICE_INT:
	case ICE_DATE:
		if (blen != 4 || (int32_t)get_le32(b) != (int32_t)strtol(v, NULL, 10))
			check_fail("%s %s: %s bound != %s", file, f->name, which, v);
		return;
	case ICE_LONG:
	case ICE_TIME:
	case ICE_TIMESTAMP:
	case ICE_TIMESTAMPTZ:
		if (blen != 8 || (int64_t)get_le64(b) != strtoll(v, NULL, 10))
			check_fail("%s %s: %s bound %" PRId64 " != %s", file, f->name, which,
			           blen == 8 ? (int64_t)get_le64(b) : 0, v);
		return;
	case ICE_FLOAT: {
		float x;
		uint32_t bits = get_le32(b);
		memcpy(&x, &bits, 4);
		if (blen != 4 || (double)x != strtod(v, NULL))
			check_fail("%s %s: %s bound %g != %s", file, f->name, which, (double)x, v);
		return;
	}
	case ICE_DOUBLE: {
		double x;
		uint64_t bits = get_le64(b);
		memcpy(&x, &bits, 8);
		if (blen != 8 || x != strtod(v, NULL))
			check_fail("%s %s: %s bound %g != %s", file, f->name, which, x, v);
		return;
	}
	case ICE_DECIMAL:
		if (blen < 1 || blen > 16 || be_to_i128(b, blen) != parse_decimal(v) ||
		    (blen > 1 &&
		     ((b[0] == 0 && !(b[1] & 0x80)) || (b[0] == 0xff && (b[1] & 0x80)))))
			check_fail("%s %s: %s bound is not the minimal encoding of %s", file,
			           f->name, which, v);
		return;
	case ICE_UUID:
	case ICE_FIXED:
		n = unhex(v, raw, sizeof raw);
		if (n != blen || memcmp(raw, b, n) != 0)
			check_fail("%s %s: %s bound != %s", file, f->name, which, v);
		return;
	case ICE_BINARY:
	case ICE_STRING: {
		const uint8_t *val = (const uint8_t *)v;
		n = strlen(v);
		if (f->type == ICE_BINARY) {
			n = unhex(v, raw, sizeof raw);
			val = raw;
		}
		size_t common = n < blen ? n : blen;
		int cmp = memcmp(b, val, common);
		if (cmp == 0)
			cmp = blen < n ? -1 : blen > n ? 1 : 0;
		/* Truncated bounds: lower is a prefix of the min, upper > the max. */
		if (!upper && (blen > n || memcmp(b, val, blen) != 0))
			check_fail("%s %s: lower bound is not a prefix of the min %s", file,
			           f->name, v);
		if (upper && cmp < 0)
			check_fail("%s %s: upper bound < the max %s", file, f->name, v);
		if (blen > 16 * (f->type == ICE_STRING ? 4 : 1))
			check_fail("%s %s: %s bound of %zu bytes is not truncated", file, f->name,
			           which, blen);
		if (n <= 16 && cmp != 0)
			check_fail("%s %s: %s bound of a short value differs from %s", file,
			           f->name, which, v);
		return;
	}
	case ICE_LIST:
		check_fail("%s %s: a list has no %s bound", file, f->name, which);
		return;
	}
}

static void check_file(const ice_manifest_entry *e)
{
	const ice_data_file *df = &e->file;
	const char *path = df->file_path + strlen("file://");
	char sql[2048], lo_sql[256], hi_sql[256];
	struct stat st;
	if (stat(path, &st) != 0 || st.st_size != df->file_size_in_bytes)
		check_fail("%s: file_size_in_bytes %" PRId64 " is not the file's size", path,
		           df->file_size_in_bytes);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM read_parquet('%s')", path);
	if (query_int(sql, 0) != df->record_count)
		check_fail("%s: record_count %" PRId64 " != DuckDB's count", path,
		           df->record_count);
	for (int c = 0; c < df->ncols; c++) {
		const ice_col_metrics *m = &df->cols[c];
		const ice_field *f = &ice_check_fields[m->field_id - 1];
		snprintf(sql, sizeof sql,
		         "SELECT field_id FROM parquet_schema('%s') WHERE name = '%s'", path,
		         f->name);
		if (query_int(sql, 0) != f->id)
			check_fail("%s %s: Parquet field_id is not %d", path, f->name, (int)f->id);
		snprintf(sql, sizeof sql,
		         "SELECT count(*), count(*) - count(\"%s\") FROM read_parquet('%s')",
		         f->name, path);
		if (query_int(sql, 0) != m->value_count || query_int(sql, 1) != m->null_count)
			check_fail("%s %s: value/null counts %" PRId64 "/%" PRId64 " disagree",
			           path, f->name, m->value_count, m->null_count);
		value_sql(f, "min", lo_sql, sizeof lo_sql);
		value_sql(f, "max", hi_sql, sizeof hi_sql);
		snprintf(sql, sizeof sql, "SELECT %s::VARCHAR, %s::VARCHAR FROM read_parquet('%s')",
		         lo_sql, hi_sql, path);
		int ok1, ok2;
		char *mn = query1(sql, 0, &ok1), *mx = query1(sql, 1, &ok2);
		if (ok1 && ok2 && mn && mx) {
			if (!m->lower)
				check_fail("%s %s: no lower bound", path, f->name);
			else
				check_bound(path, f, 0, m->lower, m->lower_len, mn);
			if (m->upper) {
				check_bound(path, f, 1, m->upper, m->upper_len, mx);
			} else if (f->type == ICE_STRING) {
				if (strncmp(mx, "\xf4\x8f\xbf\xbf", 4) != 0)
					check_fail(
					    "%s %s: no upper bound, yet max %s could have one",
					    path, f->name, mx);
			} else if (f->type != ICE_BINARY ||
			           strncmp(mx, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", 32) != 0) {
				check_fail("%s %s: no upper bound for max %s", path, f->name, mx);
			}
		}
		free(mn);
		free(mx);
	}
}

static int open_duckdb(duckdb_database *db)
{
	duckdb_config config = NULL;
	char *open_err = NULL;
	int rc = -1;
	if (duckdb_create_config(&config) == DuckDBError ||
	    duckdb_set_config(config, "autoinstall_known_extensions", "false") == DuckDBError ||
	    duckdb_set_config(config, "autoload_known_extensions", "true") == DuckDBError)
		goto done;
	if (duckdb_open_ext(NULL, db, config, &open_err) == DuckDBError) {
		fprintf(stderr, "ice_check: duckdb: %s\n", open_err ? open_err : "open failed");
		goto done;
	}
	if (duckdb_connect(*db, &conn) == DuckDBError) {
		duckdb_close(db);
		goto done;
	}
	rc = 0;
done:
	duckdb_free(open_err);
	duckdb_destroy_config(&config);
	return rc;
}

int main(int argc, char **argv)
{
	char err[ERR_LEN] = "";
	ice_data_file files[NFILES] = {{0}};
	ice_table *t = NULL;
	duckdb_database db = NULL;
	ice_manifest_entry *live = NULL;
	size_t nlive = 0;
	if (argc != 2 || argv[1][0] != '/') {
		fprintf(stderr, "usage: ice_check /absolute/new/dir\n");
		return 2;
	}
	const char *dir = argv[1];
	ice_schema schema = {.schema_id = 0,
	                     .nfields = NCOLS,
	                     .fields = ice_check_fields,
	                     .nidentifiers = 1,
	                     .identifier_ids = (int32_t[]){1}};
	if (ice_table_create(dir, &schema, NULL, &t, err))
		goto fatal;
	for (int k = 0; k < NFILES; k++)
		if (write_file(dir, &schema, k, &files[k], err))
			goto fatal;
	ice_commit c1 = {.added_data = files, .nadded_data = 2};
	ice_commit c2 = {.added_data = &files[2], .nadded_data = 1};
	const char *rm[] = {files[1].file_path};
	ice_commit c3 = {.removed_paths = rm, .nremoved = 1};
	if (ice_table_commit(t, &c1, NULL, err) || ice_table_commit(t, &c2, NULL, err) ||
	    ice_table_commit(t, &c3, NULL, err))
		goto fatal;
	/* Read back from disk, not from the handle that wrote it. */
	ice_table_free(t);
	t = NULL;
	if (ice_table_load(dir, &t, err) || ice_table_live_files(t, &live, &nlive, err))
		goto fatal;
	if (open_duckdb(&db))
		goto fatal;
	if (nlive != 2)
		check_fail("%zu live files, expected 2", nlive);
	for (size_t i = 0; i < nlive; i++)
		check_file(&live[i]);
	char sql[1024];
	snprintf(sql, sizeof sql,
	         "SELECT \"format-version\", \"next-row-id\", \"last-sequence-number\" FROM "
	         "read_json('%s/metadata/v%d.metadata.json')",
	         dir, ice_table_version(t));
	if (query_int(sql, 0) != 3 || query_int(sql, 1) != ice_table_next_row_id(t) ||
	    query_int(sql, 2) != 3)
		check_fail("DuckDB reads other values from the metadata JSON");
	/* Row ids: f0 rows 0..999, f2 rows 2000..2999 (f1 took 1000..1999). */
	for (size_t i = 0; i < nlive; i++) {
		const char *p = live[i].file.file_path;
		int64_t want = strstr(p, "/f0.parquet") ? 0 : 2000;
		if (live[i].file.first_row_id != want)
			check_fail("%s: first_row_id %" PRId64 ", expected %" PRId64, p,
			           live[i].file.first_row_id, want);
	}
	duckdb_disconnect(&conn);
	duckdb_close(&db);
	ice_manifest_entries_free(live, nlive);
	ice_table_free(t);
	for (int k = 0; k < NFILES; k++)
		ice_data_file_clear(&files[k]);
	if (failures) {
		fprintf(stderr, "ice_check: %d failures\n", failures);
		return 1;
	}
	printf("ice_check: ok\n");
	return 0;
fatal:
	fprintf(stderr, "ice_check: %s\n", err[0] ? err : "failed");
	if (db) {
		duckdb_disconnect(&conn);
		duckdb_close(&db);
	}
	ice_manifest_entries_free(live, nlive);
	ice_table_free(t);
	for (int k = 0; k < NFILES; k++)
		ice_data_file_clear(&files[k]);
	return 1;
}
