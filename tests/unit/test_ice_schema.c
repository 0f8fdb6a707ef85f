/*
 * test_ice_schema — src/iceberg/schema.c: type names both ways, the JSON form
 * round trip, copy/clear, and every invariant ice_schema_validate enforces.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "iceberg/schema.h"

static void parse_ok(const char *name, ice_type_id type, int p, int s, int len)
{
	ice_field f = {0};
	char err[ERR_LEN] = "";
	assert_int_equal(ice_type_parse(name, &f, err), 0);
	assert_int_equal(f.type, type);
	assert_int_equal(f.precision, p);
	assert_int_equal(f.scale, s);
	assert_int_equal(f.length, len);
}

static void test_type_names(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		ice_type_id type;
	} simple[] = {
	    {"boolean", ICE_BOOLEAN},
	    {"int", ICE_INT},
	    {"long", ICE_LONG},
	    {"float", ICE_FLOAT},
	    {"double", ICE_DOUBLE},
	    {"date", ICE_DATE},
	    {"time", ICE_TIME},
	    {"timestamp", ICE_TIMESTAMP},
	    {"timestamptz", ICE_TIMESTAMPTZ},
	    {"string", ICE_STRING},
	    {"uuid", ICE_UUID},
	    {"binary", ICE_BINARY},
	};
	for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++) {
		char out[32];
		ice_field f = {.type = simple[i].type};
		ice_type_name(&f, out, sizeof out);
		assert_string_equal(out, simple[i].name);
		parse_ok(simple[i].name, simple[i].type, 0, 0, 0);
	}
	char out[32];
	ice_field d = {.type = ICE_DECIMAL, .precision = 38, .scale = 10};
	ice_type_name(&d, out, sizeof out);
	assert_string_equal(out, "decimal(38, 10)"); /* as Java writes it */
	ice_field x = {.type = ICE_FIXED, .length = 16};
	ice_type_name(&x, out, sizeof out);
	assert_string_equal(out, "fixed[16]");

	parse_ok("decimal(10,2)", ICE_DECIMAL, 10, 2, 0);
	parse_ok("decimal(10, 2)", ICE_DECIMAL, 10, 2, 0);
	parse_ok("decimal( 9 ,0 )", ICE_DECIMAL, 9, 0, 0);
	parse_ok("fixed[7]", ICE_FIXED, 0, 0, 7);
	parse_ok("fixed[ 7 ]", ICE_FIXED, 0, 0, 7);

	static const char *bad[] = {
	    "Long",    "decimal(10)",   "decimal(10,2",   "decimal(a,b)", "fixed[]",
	    "fixed[3", "decimal(1,2)x", "timestamp_ns",   "variant",      "",
	    "list",    "decimal(,2)",   "fixed[99999999]"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ice_field f = {0};
		char err[ERR_LEN] = "";
		assert_int_equal(ice_type_parse(bad[i], &f, err), FLOE_EINVAL);
		assert_true(strlen(err) > 0);
	}
}

static const char *full_schema_json =
    "{\"type\":\"struct\",\"schema-id\":3,\"identifier-field-ids\":[1,5],\"fields\":["
    "{\"id\":1,\"name\":\"id\",\"required\":true,\"type\":\"long\"},"
    "{\"id\":2,\"name\":\"b\",\"required\":false,\"type\":\"boolean\"},"
    "{\"id\":3,\"name\":\"i\",\"required\":false,\"type\":\"int\"},"
    "{\"id\":4,\"name\":\"f\",\"required\":false,\"type\":\"float\"},"
    "{\"id\":5,\"name\":\"k\",\"required\":true,\"type\":\"string\",\"doc\":\"key\"},"
    "{\"id\":6,\"name\":\"d\",\"required\":false,\"type\":\"double\"},"
    "{\"id\":7,\"name\":\"dec\",\"required\":false,\"type\":\"decimal(20, 4)\"},"
    "{\"id\":8,\"name\":\"dt\",\"required\":false,\"type\":\"date\"},"
    "{\"id\":9,\"name\":\"t\",\"required\":false,\"type\":\"time\"},"
    "{\"id\":10,\"name\":\"ts\",\"required\":false,\"type\":\"timestamp\"},"
    "{\"id\":11,\"name\":\"tstz\",\"required\":false,\"type\":\"timestamptz\"},"
    "{\"id\":12,\"name\":\"u\",\"required\":false,\"type\":\"uuid\"},"
    "{\"id\":13,\"name\":\"bin\",\"required\":false,\"type\":\"binary\"},"
    "{\"id\":20,\"name\":\"fx\",\"required\":false,\"type\":\"fixed[3]\"}]}";

static void test_json_round_trip(void **state)
{
	(void)state;
	char err[ERR_LEN] = "";
	json_error_t jerr;
	json_t *j = json_loads(full_schema_json, 0, &jerr);
	assert_non_null(j);
	ice_schema s;
	assert_int_equal(ice_schema_from_json(j, &s, err), 0);
	assert_int_equal(s.schema_id, 3);
	assert_int_equal(s.nfields, 14);
	assert_int_equal(s.nidentifiers, 2);
	assert_int_equal(ice_schema_max_field_id(&s), 20);
	const ice_field *dec = ice_schema_find(&s, 7);
	assert_non_null(dec);
	assert_string_equal(dec->name, "dec");
	assert_int_equal(dec->type, ICE_DECIMAL);
	assert_int_equal(dec->precision, 20);
	assert_int_equal(dec->scale, 4);
	assert_string_equal(ice_schema_find(&s, 5)->doc, "key");
	assert_null(ice_schema_find(&s, 14));

	/* to_json gives back exactly the document we parsed. */
	json_t *back = ice_schema_to_json(&s);
	assert_non_null(back);
	assert_true(json_equal(j, back));

	/* copy is deep and equal. */
	ice_schema c;
	assert_int_equal(ice_schema_copy(&s, &c), 0);
	ice_schema_clear(&s);
	json_t *cj = ice_schema_to_json(&c);
	assert_true(json_equal(j, cj));
	ice_schema_clear(&c);
	assert_int_equal(c.nfields, 0);
	ice_schema_clear(&c); /* twice is harmless */
	ice_schema_clear(NULL);
	json_decref(j);
	json_decref(back);
	json_decref(cj);
}

static void expect_invalid(const char *text, const char *needle)
{
	char err[ERR_LEN] = "";
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	assert_non_null(j);
	ice_schema s = {0};
	assert_int_equal(ice_schema_from_json(j, &s, err), FLOE_EINVAL);
	if (!strstr(err, needle))
		fail_msg("error '%s' does not mention '%s'", err, needle);
	assert_int_equal(s.nfields, 0);
	json_decref(j);
}

#define F(id, name, req, type)                                                                     \
	"{\"id\":" #id ",\"name\":\"" name "\",\"required\":" #req ",\"type\":\"" type "\"}"
#define S(ids, fields)                                                                             \
	"{\"type\":\"struct\",\"schema-id\":0,\"identifier-field-ids\":[" ids                      \
	"],\"fields\":[" fields "]}"

static void test_invariants(void **state)
{
	(void)state;
	expect_invalid(S("", F(1, "a", true, "long") "," F(1, "b", true, "long")), "share id 1");
	expect_invalid(S("", F(0, "a", true, "long")), "id 0");
	expect_invalid(S("", F(-3, "a", true, "long")), "id -3");
	expect_invalid(S("", F(2147483540, "a", true, "long")), "2147483540"); /* reserved */
	expect_invalid(S("", F(1, "a", true, "long") "," F(2, "a", true, "int")), "'a'");
	expect_invalid(S("", F(1, "", true, "long")), "empty name");
	expect_invalid(S("2", F(1, "a", true, "long")), "id 2");
	expect_invalid(S("1", F(1, "a", false, "long")), "required");
	expect_invalid(S("1", F(1, "a", true, "double")), "float or double");
	expect_invalid(S("1,1", F(1, "a", true, "long")), "twice");
	expect_invalid(S("", F(1, "a", true, "decimal(39, 0)")), "precision");
	expect_invalid(S("", F(1, "a", true, "decimal(5, 6)")), "scale");
	expect_invalid(S("", F(1, "a", true, "decimal(0, 0)")), "precision");
	expect_invalid(S("", F(1, "a", true, "fixed[0]")), "fixed length");
	expect_invalid(S("", F(1, "a", true, "varchar")), "varchar");
	expect_invalid(S("", "{\"id\":1,\"name\":\"a\",\"required\":1,\"type\":\"long\"}"),
	               "boolean");
	expect_invalid(
	    S("", "{\"id\":1,\"name\":\"a\",\"required\":true,\"type\":{\"type\":\"map\"}}"),
	    "nested type 'map' is not supported");
	expect_invalid(S("", "{\"name\":\"a\",\"required\":true,\"type\":\"long\"}"), "\"id\"");
	expect_invalid("{\"type\":\"struct\",\"fields\":[]}", "schema-id");
	expect_invalid("{\"type\":\"list\",\"schema-id\":0,\"fields\":[]}", "struct");
	expect_invalid("{\"type\":\"struct\",\"schema-id\":0,\"fields\":{}}", "fields");

	/* The largest allowed id is fine; no identifier list is fine. */
	char err[ERR_LEN];
	json_error_t jerr;
	json_t *j = json_loads("{\"type\":\"struct\",\"schema-id\":0,\"fields\":[" F(
	                           2147483447, "a", false, "string") "]}",
	                       0, &jerr);
	ice_schema s;
	assert_int_equal(ice_schema_from_json(j, &s, err), 0);
	assert_int_equal(s.nidentifiers, 0);
	assert_int_equal(ice_schema_validate(&s, err), 0);
	ice_schema_clear(&s);
	json_decref(j);
}

static void test_validate_struct(void **state)
{
	(void)state;
	char err[ERR_LEN];
	ice_field fields[2] = {{.id = 1, .name = "id", .required = 1, .type = ICE_LONG},
	                       {.id = 2, .name = "v", .type = ICE_STRING}};
	int32_t ids[] = {1};
	ice_schema s = {.schema_id = 0,
	                .nfields = 2,
	                .fields = fields,
	                .nidentifiers = 1,
	                .identifier_ids = ids};
	assert_int_equal(ice_schema_validate(&s, err), 0);
	ids[0] = 2;
	assert_int_equal(ice_schema_validate(&s, err), FLOE_EINVAL);
	ids[0] = 1;
	fields[1].type = (ice_type_id)99;
	assert_int_equal(ice_schema_validate(&s, err), FLOE_EINVAL);
	char name[32];
	ice_type_name(&fields[1], name, sizeof name);
	assert_string_equal(name, "invalid(99)");
}

#define L(id, name, req, eid, elem, ereq)                                                          \
	"{\"id\":" #id ",\"name\":\"" name "\",\"required\":" #req                                 \
	",\"type\":{\"type\":\"list\",\"element-id\":" #eid ",\"element\":\"" elem                 \
	"\",\"element-required\":" #ereq "}}"

static void test_lists(void **state)
{
	(void)state;
	char err[ERR_LEN] = "";
	json_error_t jerr;
	const char *text =
	    S("1", F(1, "id", true, "long") "," L(2, "tags", false, 5, "string", false) "," L(
	               3, "prices", true, 4, "decimal(12, 3)", true));
	json_t *j = json_loads(text, 0, &jerr);
	assert_non_null(j);
	ice_schema s;
	assert_int_equal(ice_schema_from_json(j, &s, err), 0);
	const ice_field *tags = ice_schema_find(&s, 2);
	assert_int_equal(tags->type, ICE_LIST);
	assert_int_equal(tags->elem_id, 5);
	assert_int_equal(tags->elem_type, ICE_STRING);
	assert_int_equal(tags->elem_required, 0);
	const ice_field *prices = ice_schema_find(&s, 3);
	assert_int_equal(prices->elem_type, ICE_DECIMAL);
	assert_int_equal(prices->elem_precision, 12);
	assert_int_equal(prices->elem_scale, 3);
	assert_int_equal(prices->elem_required, 1);
	assert_null(ice_schema_find(&s, 5));              /* element ids are not top-level fields */
	assert_int_equal(ice_schema_max_field_id(&s), 5); /* last-column-id counts them */
	ice_field e;
	ice_field_element(prices, &e);
	assert_int_equal(e.id, 4);
	assert_string_equal(e.name, "element");
	assert_int_equal(e.type, ICE_DECIMAL);
	char name[48];
	ice_type_name(prices, name, sizeof name);
	assert_string_equal(name, "list<decimal(12, 3)>");
	/* Back to the same JSON, also through a copy. */
	json_t *back = ice_schema_to_json(&s);
	assert_true(json_equal(j, back));
	ice_schema c;
	assert_int_equal(ice_schema_copy(&s, &c), 0);
	json_t *cj = ice_schema_to_json(&c);
	assert_true(json_equal(j, cj));
	ice_schema_clear(&c);
	ice_schema_clear(&s);
	json_decref(j);
	json_decref(back);
	json_decref(cj);

	/* Element ids share the id space with every other field. */
	expect_invalid(S("", F(1, "a", true, "long") "," L(2, "b", false, 1, "int", false)),
	               "share id 1");
	expect_invalid(S("", L(2, "b", false, 3, "int", false) "," F(3, "a", true, "long")),
	               "share id 3");
	expect_invalid(
	    S("", L(2, "b", false, 3, "int", false) "," L(4, "c", false, 3, "int", false)),
	    "share id 3");
	expect_invalid(S("", L(2, "b", false, 2, "int", false)), "element id 2 is its own id");
	expect_invalid(S("", L(2, "b", false, 0, "int", false)),
	               "list field 'b': field 'element': id 0");
	expect_invalid(S("", L(2, "b", false, 3, "decimal(40, 1)", false)), "precision");
	expect_invalid(S("", L(2, "b", false, 3, "varchar", false)),
	               "unsupported element type 'varchar'");
	expect_invalid(S("2", L(2, "b", true, 3, "int", false)), "cannot be a list");
	expect_invalid(
	    S("", "{\"id\":1,\"name\":\"a\",\"required\":true,\"type\":{\"type\":\"list\","
	          "\"element-id\":2,\"element-required\":false,\"element\":{\"type\":\"list\"}}}"),
	    "lists of nested types are not supported");
	expect_invalid(S("",
	                 "{\"id\":1,\"name\":\"a\",\"required\":true,\"type\":{\"type\":\"list\","
	                 "\"element-id\":2,\"element\":\"int\"}}"),
	               "element-required");
	expect_invalid(S("", "{\"id\":1,\"name\":\"a\",\"required\":true,\"type\":{\"type\":"
	                     "\"list\",\"element-required\":false,\"element\":\"int\"}}"),
	               "element-id");
	/* A list of lists built in memory is refused too. */
	ice_field lol = {
	    .id = 1, .name = "x", .type = ICE_LIST, .elem_id = 2, .elem_type = ICE_LIST};
	ice_schema ls = {.nfields = 1, .fields = &lol};
	assert_int_equal(ice_schema_validate(&ls, err), FLOE_EINVAL);
	assert_non_null(strstr(err, "lists of lists"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_type_names), cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_invariants), cmocka_unit_test(test_validate_struct),
	    cmocka_unit_test(test_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
