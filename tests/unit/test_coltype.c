/*
 * test_coltype — type names (canonical, aliases, decimal parameters, the
 * names that must be refused), the Iceberg / Parquet / batch mappings of
 * every type per the table in coltype.h, and the floe_schema helpers; lists
 * (list<T> and T[] names, the element view, the mappings, field ids).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "table/coltype.h"

static floe_column parse_ok(const char *name)
{
	floe_column c;
	char err[ERR_LEN] = "";
	memset(&c, 0x5a, sizeof c);
	c.name = NULL;
	if (coltype_parse(name, &c, err))
		fail_msg("'%s' rejected: %s", name, err);
	return c;
}

static void parse_bad(const char *name, const char *why)
{
	floe_column c = {0};
	char err[ERR_LEN] = "";
	assert_int_equal(coltype_parse(name, &c, err), FLOE_EINVAL);
	if (!strstr(err, why))
		fail_msg("'%s': message '%s' lacks '%s'", name, err, why);
}

static void test_parse_names(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		floe_type type;
	} ok[] = {
	    {"boolean", FT_BOOLEAN},
	    {"bool", FT_BOOLEAN},
	    {"BOOLEAN", FT_BOOLEAN},
	    {"int16", FT_INT16},
	    {"smallint", FT_INT16},
	    {"int32", FT_INT32},
	    {"int", FT_INT32},
	    {"integer", FT_INT32},
	    {"Int32", FT_INT32},
	    {"int64", FT_INT64},
	    {"bigint", FT_INT64},
	    {"long", FT_INT64},
	    {"INT64", FT_INT64},
	    {"float32", FT_FLOAT32},
	    {"float", FT_FLOAT32},
	    {"real", FT_FLOAT32},
	    {"float64", FT_FLOAT64},
	    {"double", FT_FLOAT64},
	    {"string", FT_STRING},
	    {"text", FT_STRING},
	    {"utf8", FT_STRING},
	    {"varchar", FT_STRING},
	    {"binary", FT_BINARY},
	    {"bytes", FT_BINARY},
	    {"bytea", FT_BINARY},
	    {"date32", FT_DATE32},
	    {"date", FT_DATE32},
	    {"timestamp", FT_TIMESTAMP},
	    {"timestamptz", FT_TIMESTAMPTZ},
	    {"TimestampTZ", FT_TIMESTAMPTZ},
	    {"uuid", FT_UUID},
	    {"time", FT_TIME},
	    {"TIME", FT_TIME},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		floe_column c = parse_ok(ok[i].name);
		assert_int_equal(c.type, ok[i].type);
		assert_int_equal(c.precision, 0);
		assert_int_equal(c.scale, 0);
		assert_null(c.name); /* parse leaves the other fields alone */
		assert_int_equal(c.field_id, 0x5a5a5a5a);
	}
	floe_column c = parse_ok("decimal(10,2)");
	assert_int_equal(c.type, FT_DECIMAL);
	assert_int_equal(c.precision, 10);
	assert_int_equal(c.scale, 2);
	c = parse_ok("DECIMAL( 38 , 38 )");
	assert_int_equal(c.precision, 38);
	assert_int_equal(c.scale, 38);
	c = parse_ok("decimal(5)");
	assert_int_equal(c.precision, 5);
	assert_int_equal(c.scale, 0);
	c = parse_ok("numeric(1,0)");
	assert_int_equal(c.type, FT_DECIMAL);
	assert_int_equal(c.precision, 1);
	c = parse_ok("numeric(20)");
	assert_int_equal(c.precision, 20);
}

static void test_parse_rejects(void **state)
{
	(void)state;
	parse_bad("int8", "unknown type 'int8' (expected boolean, int16, int32, int64, float32, "
	                  "float64, decimal(p,s), string, binary, date32, timestamp, timestamptz, "
	                  "uuid, time or list<type>)");
	parse_bad("", "unknown type ''");
	parse_bad(" int64", "unknown type");
	parse_bad("int64 ", "unknown type");
	parse_bad("timestamp_us", "unknown type");
	parse_bad("uuid4", "unknown type");
	parse_bad("string(10)", "unknown type");
	parse_bad("decimal", "a decimal needs a precision");
	parse_bad("decimal()", "is not a valid type (expected decimal(p,s))");
	parse_bad("decimal(,2)", "not a valid type");
	parse_bad("decimal(10,)", "not a valid type");
	parse_bad("decimal(10,2", "not a valid type");
	parse_bad("decimal(10,2)x", "not a valid type");
	parse_bad("decimal(10;2)", "not a valid type");
	parse_bad("decimal(-1,0)", "not a valid type");
	parse_bad("decimal(1000,0)", "not a valid type");
	parse_bad("decimal(0,0)", "precision 0 is out of range 1..38");
	parse_bad("decimal(39,0)", "precision 39 is out of range 1..38");
	parse_bad("decimal(5,6)", "scale 6 is larger than the precision 5");
	parse_bad("decimal10,2)", "a decimal needs a precision");
}

static void test_names_round_trip(void **state)
{
	(void)state;
	static const char *const canon[] = {
	    "boolean",   "int16",        "int32",  "int64",         "float32",
	    "float64",   "decimal(7,3)", "string", "binary",        "date32",
	    "timestamp", "timestamptz",  "uuid",   "decimal(38,0)", "time"};
	for (size_t i = 0; i < sizeof canon / sizeof canon[0]; i++) {
		floe_column c = parse_ok(canon[i]);
		char out[32];
		coltype_name(&c, out, sizeof out);
		assert_string_equal(out, canon[i]);
	}
	floe_column c = parse_ok("NUMERIC( 9 )");
	char out[32];
	coltype_name(&c, out, sizeof out);
	assert_string_equal(out, "decimal(9,0)");
}

static void test_decimal_bytes(void **state)
{
	(void)state;
	/* Minimal two's complement bytes per precision (the Iceberg / Parquet
	 * table): 1-2 -> 1, 3-4 -> 2, 5-6 -> 3, 7-9 -> 4, ... 36-38 -> 16. */
	static const int first_p_for_bytes[17] = {0,  1,  3,  5,  7,  10, 12, 15, 17,
	                                          19, 22, 24, 27, 29, 32, 34, 36};
	for (int p = 1; p <= 38; p++) {
		int want = 16;
		while (first_p_for_bytes[want] > p)
			want--;
		assert_int_equal(coltype_decimal_bytes(p), want);
	}
}

static void test_kinds_and_widths(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		batch_kind kind;
		int width;
	} t[] = {
	    {"boolean", BC_BOOL, 1},
	    {"int16", BC_I32, 4},
	    {"int32", BC_I32, 4},
	    {"int64", BC_I64, 8},
	    {"float32", BC_F32, 4},
	    {"float64", BC_F64, 8},
	    {"decimal(1,0)", BC_I32, 4},
	    {"decimal(9,2)", BC_I32, 4},
	    {"decimal(10,2)", BC_I64, 8},
	    {"decimal(18,0)", BC_I64, 8},
	    {"decimal(19,4)", BC_FIXED, 9},
	    {"decimal(38,9)", BC_FIXED, 16},
	    {"string", BC_BYTES, 0},
	    {"binary", BC_BYTES, 0},
	    {"date32", BC_I32, 4},
	    {"timestamp", BC_I64, 8},
	    {"timestamptz", BC_I64, 8},
	    {"uuid", BC_FIXED, 16},
	    {"time", BC_I64, 8},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		floe_column c = parse_ok(t[i].name);
		assert_int_equal(coltype_batch_kind(&c), t[i].kind);
		assert_int_equal(coltype_width(&c), t[i].width);
	}
}

static void test_iceberg_mapping(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		ice_type_id ice;
	} t[] = {
	    {"boolean", ICE_BOOLEAN},
	    {"int16", ICE_INT},
	    {"int32", ICE_INT},
	    {"int64", ICE_LONG},
	    {"float32", ICE_FLOAT},
	    {"float64", ICE_DOUBLE},
	    {"decimal(12,3)", ICE_DECIMAL},
	    {"string", ICE_STRING},
	    {"binary", ICE_BINARY},
	    {"date32", ICE_DATE},
	    {"timestamp", ICE_TIMESTAMP},
	    {"timestamptz", ICE_TIMESTAMPTZ},
	    {"uuid", ICE_UUID},
	    {"time", ICE_TIME},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		floe_column c = parse_ok(t[i].name);
		c.name = "col";
		c.field_id = (int32_t)i + 1;
		c.nullable = (int)(i & 1);
		ice_field f;
		memset(&f, 0x77, sizeof f);
		coltype_to_iceberg(&c, &f);
		assert_int_equal(f.type, t[i].ice);
		assert_int_equal(f.id, (int32_t)i + 1);
		assert_ptr_equal(f.name, c.name); /* borrowed */
		assert_int_equal(f.required, !(i & 1));
		assert_null(f.doc);
		assert_int_equal(f.length, 0);
		assert_int_equal(f.precision, t[i].ice == ICE_DECIMAL ? 12 : 0);
		assert_int_equal(f.scale, t[i].ice == ICE_DECIMAL ? 3 : 0);
	}
}

static void test_parquet_mapping(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		pq_physical phys;
		pq_logical logical;
		int type_length, int_bits, utc, prec, scale;
	} t[] = {
	    {"boolean", PQ_BOOLEAN, PQ_LOGICAL_NONE, 0, 0, 0, 0, 0},
	    {"int16", PQ_INT32, PQ_LOGICAL_INT, 0, 16, 0, 0, 0},
	    {"int32", PQ_INT32, PQ_LOGICAL_NONE, 0, 0, 0, 0, 0},
	    {"int64", PQ_INT64, PQ_LOGICAL_NONE, 0, 0, 0, 0, 0},
	    {"float32", PQ_FLOAT, PQ_LOGICAL_NONE, 0, 0, 0, 0, 0},
	    {"float64", PQ_DOUBLE, PQ_LOGICAL_NONE, 0, 0, 0, 0, 0},
	    {"decimal(9,2)", PQ_INT32, PQ_LOGICAL_DECIMAL, 0, 0, 0, 9, 2},
	    {"decimal(18,4)", PQ_INT64, PQ_LOGICAL_DECIMAL, 0, 0, 0, 18, 4},
	    {"decimal(19,0)", PQ_FIXED_LEN_BYTE_ARRAY, PQ_LOGICAL_DECIMAL, 9, 0, 0, 19, 0},
	    {"decimal(38,10)", PQ_FIXED_LEN_BYTE_ARRAY, PQ_LOGICAL_DECIMAL, 16, 0, 0, 38, 10},
	    {"string", PQ_BYTE_ARRAY, PQ_LOGICAL_STRING, 0, 0, 0, 0, 0},
	    {"binary", PQ_BYTE_ARRAY, PQ_LOGICAL_NONE, 0, 0, 0, 0, 0},
	    {"date32", PQ_INT32, PQ_LOGICAL_DATE, 0, 0, 0, 0, 0},
	    {"timestamp", PQ_INT64, PQ_LOGICAL_TIMESTAMP, 0, 0, 0, 0, 0},
	    {"timestamptz", PQ_INT64, PQ_LOGICAL_TIMESTAMP, 0, 0, 1, 0, 0},
	    {"uuid", PQ_FIXED_LEN_BYTE_ARRAY, PQ_LOGICAL_UUID, 16, 0, 0, 0, 0},
	    {"time", PQ_INT64, PQ_LOGICAL_TIME, 0, 0, 0, 0, 0},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		floe_column c = parse_ok(t[i].name);
		c.name = "x";
		c.field_id = 40 + (int32_t)i;
		c.nullable = (int)(i % 3 == 0);
		pq_column_spec s;
		memset(&s, 0x77, sizeof s);
		coltype_to_parquet(&c, &s);
		assert_ptr_equal(s.name, c.name);
		assert_int_equal(s.field_id, 40 + (int32_t)i);
		assert_int_equal(s.required, i % 3 != 0);
		assert_int_equal(s.physical, t[i].phys);
		assert_int_equal(s.logical, t[i].logical);
		assert_int_equal(s.type_length, t[i].type_length);
		assert_int_equal(s.int_bits, t[i].int_bits);
		assert_int_equal(s.utc_adjusted, t[i].utc);
		assert_int_equal(s.precision, t[i].prec);
		assert_int_equal(s.scale, t[i].scale);
		assert_int_equal(s.nanos, 0);
		/* The batch stores what the Parquet writer reads: same width. */
		int phys_width = s.physical == PQ_BOOLEAN                            ? 1
		                 : s.physical == PQ_INT32 || s.physical == PQ_FLOAT  ? 4
		                 : s.physical == PQ_INT64 || s.physical == PQ_DOUBLE ? 8
		                 : s.physical == PQ_FIXED_LEN_BYTE_ARRAY             ? s.type_length
		                                                                     : 0;
		assert_int_equal(coltype_width(&c), phys_width);
	}
}

static void test_schema_helpers(void **state)
{
	(void)state;
	floe_column cols[3] = {
	    {.name = "id", .type = FT_INT64, .nullable = 0, .field_id = 1},
	    {.name = "idx", .type = FT_DECIMAL, .precision = 20, .scale = 2, .field_id = 2},
	    {.name = "name", .type = FT_STRING, .nullable = 1, .field_id = 3},
	};
	floe_schema src = {.ncols = 3, .cols = cols}, dst;
	assert_int_equal(floe_schema_copy(&src, &dst), 0);
	assert_int_equal(dst.ncols, 3);
	for (int i = 0; i < 3; i++) {
		assert_ptr_not_equal(dst.cols[i].name, cols[i].name);
		assert_string_equal(dst.cols[i].name, cols[i].name);
		assert_int_equal(dst.cols[i].type, cols[i].type);
		assert_int_equal(dst.cols[i].precision, cols[i].precision);
		assert_int_equal(dst.cols[i].scale, cols[i].scale);
		assert_int_equal(dst.cols[i].nullable, cols[i].nullable);
		assert_int_equal(dst.cols[i].field_id, cols[i].field_id);
	}
	assert_int_equal(floe_schema_find(&dst, "id", 2), 0);
	assert_int_equal(floe_schema_find(&dst, "idx", 3), 1);
	assert_int_equal(floe_schema_find(&dst, "idxy", 3), 1); /* only len bytes count */
	assert_int_equal(floe_schema_find(&dst, "i", 1), -1);
	assert_int_equal(floe_schema_find(&dst, "name", 4), 2);
	assert_int_equal(floe_schema_find(&dst, "names", 5), -1);
	assert_int_equal(floe_schema_find(&dst, "id\0x", 4), -1);
	assert_int_equal(floe_schema_find(&dst, "", 0), -1);
	floe_schema_clear(&dst);
	assert_int_equal(dst.ncols, 0);
	assert_null(dst.cols);
	floe_schema_clear(&dst); /* twice is fine */
	floe_schema_clear(NULL);
	floe_schema empty = {0};
	assert_int_equal(floe_schema_copy(&empty, &dst), 0);
	assert_int_equal(dst.ncols, 0);
	floe_schema_clear(&dst);
}

static void test_lists(void **state)
{
	(void)state;
	static const struct {
		const char *name, *canon;
		floe_type elem;
		int prec, scale;
	} ok[] = {
	    {"list<int32>", "list<int32>", FT_INT32, 0, 0},
	    {"LIST< integer >", "list<int32>", FT_INT32, 0, 0},
	    {"list<decimal(10,2)>", "list<decimal(10,2)>", FT_DECIMAL, 10, 2},
	    {"list<numeric(38)>", "list<decimal(38,0)>", FT_DECIMAL, 38, 0},
	    {"text[]", "list<string>", FT_STRING, 0, 0},
	    {"decimal(12,3)[]", "list<decimal(12,3)>", FT_DECIMAL, 12, 3},
	    {"list<timestamptz>", "list<timestamptz>", FT_TIMESTAMPTZ, 0, 0},
	    {"uuid[]", "list<uuid>", FT_UUID, 0, 0},
	    {"list<boolean>", "list<boolean>", FT_BOOLEAN, 0, 0},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		floe_column c = parse_ok(ok[i].name);
		assert_int_equal(c.type, FT_LIST);
		assert_int_equal(c.precision, 0);
		assert_int_equal(c.elem_type, ok[i].elem);
		assert_int_equal(c.elem_precision, ok[i].prec);
		assert_int_equal(c.elem_scale, ok[i].scale);
		char out[32];
		coltype_name(&c, out, sizeof out);
		assert_string_equal(out, ok[i].canon);
		assert_int_equal(coltype_batch_kind(&c), BC_LIST);
		assert_int_equal(coltype_width(&c), 0);
	}
	/* A scalar name leaves no element behind in a reused column. */
	floe_column c = parse_ok("list<int64>");
	char err[ERR_LEN];
	assert_int_equal(coltype_parse("int64", &c, err), 0);
	assert_int_equal(c.elem_type, 0);
	parse_bad("list", "a list needs its element type");
	parse_bad("list<>", "expected list<type>");
	parse_bad("list<int32", "a list needs its element type");
	parse_bad("list<int8>", "'list<int8>': list element: unknown type 'int8'");
	parse_bad("list<list<int32>>", "lists of lists are not supported");
	parse_bad("int32[][]", "lists of lists are not supported");
	parse_bad("[]", "unknown type '[]'");
	parse_bad("list<decimal(40,1)>", "precision 40 is out of range");

	/* The element as a column of its own, and the mappings. */
	c = parse_ok("list<decimal(30,4)>");
	c.name = "prices";
	c.nullable = 0;
	c.field_id = 3;
	c.elem_field_id = 9;
	floe_column e;
	coltype_element(&c, &e);
	assert_ptr_equal(e.name, c.name);
	assert_int_equal(e.type, FT_DECIMAL);
	assert_int_equal(e.precision, 30);
	assert_int_equal(e.scale, 4);
	assert_int_equal(e.nullable, 1);
	assert_int_equal(e.field_id, 9);
	assert_int_equal(coltype_leaf_field_id(&c), 9);
	assert_int_equal(coltype_leaf_field_id(&e), 9);
	ice_field f;
	memset(&f, 0x77, sizeof f);
	coltype_to_iceberg(&c, &f);
	assert_int_equal(f.type, ICE_LIST);
	assert_int_equal(f.id, 3);
	assert_int_equal(f.required, 1);
	assert_int_equal(f.elem_id, 9);
	assert_int_equal(f.elem_required, 0);
	assert_int_equal(f.elem_type, ICE_DECIMAL);
	assert_int_equal(f.elem_precision, 30);
	assert_int_equal(f.elem_scale, 4);
	pq_column_spec s;
	memset(&s, 0x77, sizeof s);
	coltype_to_parquet(&c, &s);
	assert_int_equal(s.list, 1);
	assert_int_equal(s.field_id, 3);
	assert_int_equal(s.element_field_id, 9);
	assert_int_equal(s.required, 1);
	assert_int_equal(s.element_required, 0);
	assert_int_equal(s.physical, PQ_FIXED_LEN_BYTE_ARRAY);
	assert_int_equal(s.type_length, 13);
	assert_int_equal(s.logical, PQ_LOGICAL_DECIMAL);
	assert_int_equal(s.precision, 30);
	/* A flat column is not a list in Parquet. */
	coltype_to_parquet(&e, &s);
	assert_int_equal(s.list, 0);

	/* Field ids of a new table: columns first, then the elements. */
	floe_column cols[4] = {
	    {.name = "a", .type = FT_LIST, .elem_type = FT_INT32},
	    {.name = "b", .type = FT_INT64},
	    {.name = "c", .type = FT_LIST, .elem_type = FT_STRING},
	    {.name = "d", .type = FT_STRING},
	};
	floe_schema sch = {.ncols = 4, .cols = cols};
	floe_schema_assign_field_ids(&sch);
	for (int i = 0; i < 4; i++)
		assert_int_equal(cols[i].field_id, i + 1);
	assert_int_equal(cols[0].elem_field_id, 5);
	assert_int_equal(cols[2].elem_field_id, 6);
	assert_int_equal(cols[1].elem_field_id, 0);
	floe_schema copy;
	assert_int_equal(floe_schema_copy(&sch, &copy), 0);
	assert_int_equal(copy.cols[2].elem_type, FT_STRING);
	assert_int_equal(copy.cols[2].elem_field_id, 6);
	floe_schema_clear(&copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_names),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_names_round_trip),
	    cmocka_unit_test(test_decimal_bytes),
	    cmocka_unit_test(test_kinds_and_widths),
	    cmocka_unit_test(test_iceberg_mapping),
	    cmocka_unit_test(test_parquet_mapping),
	    cmocka_unit_test(test_schema_helpers),
	    cmocka_unit_test(test_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
