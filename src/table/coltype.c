/*
 * coltype — floe column types: names, and the Iceberg / Parquet / batch
 * representation of each (the table in coltype.h is the contract).
 *
 * Invariants:
 *   1. Every floe_type has exactly one row in `types` below; the mappings
 *      read from that row, so adding a type is one line plus its decimal-
 *      style special cases (none but decimal have parameters).
 *   2. A decimal's batch kind, its Parquet physical type and its width are
 *      derived from the precision by the same rule (<= 9 -> 4 bytes,
 *      <= 18 -> 8 bytes, else the minimal FLBA), so the batch bytes are
 *      what the Parquet writer expects without conversion.
 * Errors: coltype_parse returns FLOE_EINVAL with a message quoting the name;
 * floe_schema_copy returns FLOE_ENOMEM. Reentrant.
 */
#include "table/coltype.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "table/value.h"

typedef struct coltype_info {
	const char *name; /* canonical */
	const char *aliases[4];
	batch_kind kind;
	int width;
	ice_type_id ice;
	pq_physical physical;
	pq_logical logical;
} coltype_info;

/* Indexed by floe_type. Decimal's kind, width and physical type depend on the
 * precision and are filled in by the functions below. */
static const coltype_info types[] = {
    [FT_BOOLEAN] = {"boolean", {"bool"}, BC_BOOL, 1, ICE_BOOLEAN, PQ_BOOLEAN, PQ_LOGICAL_NONE},
    [FT_INT16] = {"int16", {"smallint"}, BC_I32, 4, ICE_INT, PQ_INT32, PQ_LOGICAL_INT},
    [FT_INT32] = {"int32", {"int", "integer"}, BC_I32, 4, ICE_INT, PQ_INT32, PQ_LOGICAL_NONE},
    [FT_INT64] = {"int64", {"bigint", "long"}, BC_I64, 8, ICE_LONG, PQ_INT64, PQ_LOGICAL_NONE},
    [FT_FLOAT32] = {"float32", {"float", "real"}, BC_F32, 4, ICE_FLOAT, PQ_FLOAT, PQ_LOGICAL_NONE},
    [FT_FLOAT64] = {"float64", {"double"}, BC_F64, 8, ICE_DOUBLE, PQ_DOUBLE, PQ_LOGICAL_NONE},
    [FT_DECIMAL] = {"decimal",
                    {"numeric"},
                    BC_FIXED,
                    0,
                    ICE_DECIMAL,
                    PQ_FIXED_LEN_BYTE_ARRAY,
                    PQ_LOGICAL_DECIMAL},
    [FT_STRING] = {"string",
                   {"text", "utf8", "varchar"},
                   BC_BYTES,
                   0,
                   ICE_STRING,
                   PQ_BYTE_ARRAY,
                   PQ_LOGICAL_STRING},
    [FT_BINARY] =
        {"binary", {"bytes", "bytea"}, BC_BYTES, 0, ICE_BINARY, PQ_BYTE_ARRAY, PQ_LOGICAL_NONE},
    [FT_DATE32] = {"date32", {"date"}, BC_I32, 4, ICE_DATE, PQ_INT32, PQ_LOGICAL_DATE},
    [FT_TIMESTAMP] =
        {"timestamp", {NULL}, BC_I64, 8, ICE_TIMESTAMP, PQ_INT64, PQ_LOGICAL_TIMESTAMP},
    [FT_TIMESTAMPTZ] =
        {"timestamptz", {NULL}, BC_I64, 8, ICE_TIMESTAMPTZ, PQ_INT64, PQ_LOGICAL_TIMESTAMP},
    [FT_UUID] = {"uuid", {NULL}, BC_FIXED, 16, ICE_UUID, PQ_FIXED_LEN_BYTE_ARRAY, PQ_LOGICAL_UUID},
};
#define NTYPES ((int)(sizeof types / sizeof types[0]))

#define EXPECTED_TYPES                                                                             \
	"boolean, int16, int32, int64, float32, float64, decimal(p,s), string, binary, "           \
	"date32, timestamp, timestamptz or uuid"

int coltype_decimal_bytes(int precision)
{
	/* The smallest n with 2^(8n-1) > 10^precision - 1, i.e. the signed
	 * n-byte range holds every value of `precision` digits. */
	unsigned __int128 limit = 1;
	for (int i = 0; i < precision; i++)
		limit *= 10;
	int n = 1;
	while (n < 16 && ((unsigned __int128)1 << (8 * n - 1)) < limit)
		n++;
	return n;
}

/* Skips ASCII spaces; parses a non-negative decimal integer of at most 3
 * digits at *pp; -1 when there is none. */
static int small_uint(const char **pp)
{
	const char *p = *pp;
	while (*p == ' ')
		p++;
	int v = 0, nd = 0;
	while (*p >= '0' && *p <= '9' && nd < 4) {
		v = v * 10 + (*p++ - '0');
		nd++;
	}
	while (*p == ' ')
		p++;
	*pp = p;
	return nd == 0 || nd > 3 ? -1 : v;
}

/* "(p)" or "(p,s)" after "decimal"/"numeric". */
static int parse_decimal_params(const char *name, const char *p, floe_column *col, char *err)
{
	char q[VALUE_QUOTE_LEN];
	value_quote(name, strlen(name), q);
	if (*p != '(')
		return errf(err, FLOE_EINVAL,
		            "%s: a decimal needs a precision: decimal(p,s) with 1 <= p <= 38, "
		            "0 <= s <= p",
		            q);
	p++;
	int prec = small_uint(&p), scale = 0;
	if (prec >= 0 && *p == ',') {
		p++;
		scale = small_uint(&p);
	}
	if (prec < 0 || scale < 0 || p[0] != ')' || p[1] != '\0')
		return errf(err, FLOE_EINVAL, "%s is not a valid type (expected decimal(p,s))", q);
	if (prec < 1 || prec > 38)
		return errf(err, FLOE_EINVAL, "%s: precision %d is out of range 1..38", q, prec);
	if (scale > prec)
		return errf(err, FLOE_EINVAL, "%s: scale %d is larger than the precision %d", q,
		            scale, prec);
	col->type = FT_DECIMAL;
	col->precision = prec;
	col->scale = scale;
	return 0;
}

int coltype_parse(const char *name, floe_column *col, char *err)
{
	for (int t = 0; t < NTYPES; t++) {
		const coltype_info *ti = &types[t];
		for (int a = -1; a < 4; a++) {
			const char *cand = a < 0 ? ti->name : ti->aliases[a];
			if (!cand)
				break;
			size_t cl = strlen(cand);
			if (strncasecmp(name, cand, cl) != 0)
				continue;
			if (t == FT_DECIMAL)
				return parse_decimal_params(name, name + cl, col, err);
			if (name[cl] != '\0')
				continue;
			col->type = (floe_type)t;
			col->precision = col->scale = 0;
			return 0;
		}
	}
	char q[VALUE_QUOTE_LEN];
	value_quote(name, strlen(name), q);
	return errf(err, FLOE_EINVAL, "unknown type %s (expected " EXPECTED_TYPES ")", q);
}

void coltype_name(const floe_column *col, char *out, size_t cap)
{
	if (col->type == FT_DECIMAL)
		snprintf(out, cap, "decimal(%d,%d)", col->precision, col->scale);
	else
		snprintf(out, cap, "%s", types[col->type].name);
}

batch_kind coltype_batch_kind(const floe_column *col)
{
	if (col->type == FT_DECIMAL)
		return col->precision <= 9 ? BC_I32 : col->precision <= 18 ? BC_I64 : BC_FIXED;
	return types[col->type].kind;
}

int coltype_width(const floe_column *col)
{
	switch (coltype_batch_kind(col)) {
	case BC_BOOL:
		return 1;
	case BC_I32:
	case BC_F32:
		return 4;
	case BC_I64:
	case BC_F64:
		return 8;
	case BC_FIXED:
		return col->type == FT_DECIMAL ? coltype_decimal_bytes(col->precision)
		                               : types[col->type].width;
	case BC_BYTES:
		break;
	}
	return 0;
}

void coltype_to_iceberg(const floe_column *col, ice_field *out_borrowing_name)
{
	ice_field *f = out_borrowing_name;
	memset(f, 0, sizeof *f);
	f->id = col->field_id;
	f->name = col->name;
	f->required = !col->nullable;
	f->type = types[col->type].ice;
	if (col->type == FT_DECIMAL) {
		f->precision = col->precision;
		f->scale = col->scale;
	}
}

void coltype_to_parquet(const floe_column *col, pq_column_spec *out_borrowing_name)
{
	pq_column_spec *c = out_borrowing_name;
	const coltype_info *ti = &types[col->type];
	memset(c, 0, sizeof *c);
	c->name = col->name;
	c->field_id = col->field_id;
	c->required = !col->nullable;
	c->physical = ti->physical;
	c->logical = ti->logical;
	switch (col->type) {
	case FT_INT16:
		c->int_bits = 16;
		break;
	case FT_DECIMAL:
		c->precision = col->precision;
		c->scale = col->scale;
		if (col->precision <= 9) {
			c->physical = PQ_INT32;
		} else if (col->precision <= 18) {
			c->physical = PQ_INT64;
		} else {
			c->physical = PQ_FIXED_LEN_BYTE_ARRAY;
			c->type_length = coltype_decimal_bytes(col->precision);
		}
		break;
	case FT_TIMESTAMPTZ:
		c->utc_adjusted = 1;
		break;
	case FT_UUID:
		c->type_length = 16;
		break;
	default:
		break;
	}
}

void floe_schema_clear(floe_schema *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->ncols; i++)
		free(s->cols[i].name);
	free(s->cols);
	s->cols = NULL;
	s->ncols = 0;
}

int floe_schema_copy(const floe_schema *src, floe_schema *dst)
{
	dst->ncols = 0;
	dst->cols = NULL;
	if (src->ncols == 0)
		return 0;
	dst->cols = calloc((size_t)src->ncols, sizeof *dst->cols);
	if (!dst->cols)
		goto fail;
	for (int i = 0; i < src->ncols; i++) {
		dst->cols[i] = src->cols[i];
		dst->cols[i].name = strdup(src->cols[i].name);
		if (!dst->cols[i].name)
			goto fail;
		dst->ncols++;
	}
	return 0;
fail:
	floe_schema_clear(dst);
	return FLOE_ENOMEM;
}

int floe_schema_find(const floe_schema *s, const char *name, size_t len)
{
	for (int i = 0; i < s->ncols; i++) {
		const char *cn = s->cols[i].name;
		if (strlen(cn) == len && memcmp(cn, name, len) == 0)
			return i;
	}
	return -1;
}
