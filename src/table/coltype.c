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
 *   3. A list's element is described by the elem_* members and mapped by
 *      the same functions through coltype_element, so an element is stored,
 *      written and typed exactly as a column of its type would be.
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
    [FT_TIME] = {"time", {NULL}, BC_I64, 8, ICE_TIME, PQ_INT64, PQ_LOGICAL_TIME},
    /* The Parquet columns of a list are its element's (coltype_to_parquet). */
    [FT_LIST] = {"list", {NULL}, BC_LIST, 0, ICE_LIST, PQ_BOOLEAN, PQ_LOGICAL_NONE},
};
#define NTYPES ((int)(sizeof types / sizeof types[0]))

#define EXPECTED_TYPES                                                                             \
	"boolean, int16, int32, int64, float32, float64, decimal(p,s), string, binary, "           \
	"date32, timestamp, timestamptz, uuid, time or list<type>"

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

/* The element type of a list: the n bytes at s, out of the whole type name
 * (for messages). */
static int parse_element(const char *whole, const char *s, size_t n, floe_column *col, char *err)
{
	char q[VALUE_QUOTE_LEN], inner[64], ierr[ERR_LEN];
	value_quote(whole, strlen(whole), q);
	while (n && *s == ' ')
		s++, n--;
	while (n && s[n - 1] == ' ')
		n--;
	if (n == 0 || n >= sizeof inner)
		return errf(err, FLOE_EINVAL, "%s is not a valid type (expected list<type>)", q);
	memcpy(inner, s, n);
	inner[n] = '\0';
	floe_column e = {0};
	if (coltype_parse(inner, &e, ierr))
		return errf(err, FLOE_EINVAL, "%s: list element: %s", q, ierr);
	if (e.type == FT_LIST)
		return errf(err, FLOE_EINVAL, "%s: lists of lists are not supported", q);
	col->type = FT_LIST;
	col->precision = col->scale = 0;
	col->elem_type = e.type;
	col->elem_precision = e.precision;
	col->elem_scale = e.scale;
	return 0;
}

/* "<T>" after "list". */
static int parse_list_params(const char *name, const char *p, floe_column *col, char *err)
{
	size_t n = strlen(p);
	if (n < 2 || p[0] != '<' || p[n - 1] != '>') {
		char q[VALUE_QUOTE_LEN];
		value_quote(name, strlen(name), q);
		return errf(err, FLOE_EINVAL,
		            "%s is not a valid type (a list needs its element type: list<int32>)",
		            q);
	}
	return parse_element(name, p + 1, n - 2, col, err);
}

int coltype_parse(const char *name, floe_column *col, char *err)
{
	size_t len = strlen(name);
	col->elem_type = 0;
	col->elem_precision = col->elem_scale = 0;
	if (len > 2 && name[len - 2] == '[' && name[len - 1] == ']')
		return parse_element(name, name, len - 2, col, err);
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
			if (t == FT_LIST)
				return parse_list_params(name, name + cl, col, err);
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
	if (col->type == FT_LIST) {
		floe_column e;
		char en[32];
		coltype_element(col, &e);
		coltype_name(&e, en, sizeof en);
		snprintf(out, cap, "list<%s>", en);
	} else if (col->type == FT_DECIMAL) {
		snprintf(out, cap, "decimal(%d,%d)", col->precision, col->scale);
	} else {
		snprintf(out, cap, "%s", types[col->type].name);
	}
}

void coltype_element(const floe_column *col, floe_column *view)
{
	memset(view, 0, sizeof *view);
	view->name = col->name;
	view->type = col->elem_type;
	view->precision = col->elem_precision;
	view->scale = col->elem_scale;
	view->nullable = 1;
	view->field_id = col->elem_field_id;
}

int32_t coltype_leaf_field_id(const floe_column *col)
{
	return col->type == FT_LIST ? col->elem_field_id : col->field_id;
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
	case BC_LIST:
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
	if (col->type == FT_LIST) {
		floe_column ec;
		ice_field e;
		coltype_element(col, &ec);
		coltype_to_iceberg(&ec, &e);
		f->elem_id = e.id;
		f->elem_required = e.required;
		f->elem_type = e.type;
		f->elem_precision = e.precision;
		f->elem_scale = e.scale;
		f->elem_length = e.length;
	}
}

void coltype_to_parquet(const floe_column *col, pq_column_spec *out_borrowing_name)
{
	pq_column_spec *c = out_borrowing_name;
	if (col->type == FT_LIST) {
		/* The leaf is the element's; the list adds the LIST groups. */
		floe_column e;
		coltype_element(col, &e);
		coltype_to_parquet(&e, c);
		c->list = 1;
		c->element_field_id = col->elem_field_id;
		c->element_required = 0;
		c->field_id = col->field_id;
		c->required = !col->nullable;
		return;
	}
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
	for (int i = 0; i < s->ncols; i++) {
		free(s->cols[i].name);
		free(s->cols[i].initial_default);
	}
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
		dst->cols[i].initial_default = NULL;
		dst->cols[i].name = strdup(src->cols[i].name);
		dst->ncols += dst->cols[i].name != NULL;
		if (!dst->cols[i].name)
			goto fail;
		if (src->cols[i].initial_default &&
		    !(dst->cols[i].initial_default = strdup(src->cols[i].initial_default)))
			goto fail;
	}
	return 0;
fail:
	floe_schema_clear(dst);
	return FLOE_ENOMEM;
}

void floe_schema_assign_field_ids(floe_schema *s)
{
	int32_t next = s->ncols + 1;
	for (int i = 0; i < s->ncols; i++) {
		s->cols[i].field_id = i + 1;
		if (s->cols[i].type == FT_LIST)
			s->cols[i].elem_field_id = next++;
	}
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
