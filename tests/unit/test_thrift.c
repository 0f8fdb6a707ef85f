/*
 * test_thrift — exact bytes of the compact protocol writer (src/format/thrift.c):
 * varints and zigzag, field-id deltas and the long form, bools in the type
 * nibble, binaries, nested structs, lists (short and long headers, bool,
 * i64, binary and struct elements), i8/i16, and misuse detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "base/buf.h"
#include "format/thrift.h"

/* Asserts that b holds exactly the n bytes of want. */
static void expect_bytes(const buf *b, const uint8_t *want, size_t n)
{
	assert_true(buf_ok(b));
	if (b->len != n) {
		print_error("length %zu, want %zu\n", b->len, n);
		for (size_t i = 0; i < b->len; i++)
			print_error("%02x ", b->data[i]);
		print_error("\n");
	}
	assert_int_equal(b->len, n);
	assert_memory_equal(b->data, want, n);
}

#define EXPECT(b, ...)                                                                             \
	do {                                                                                       \
		static const uint8_t want_[] = {__VA_ARGS__};                                      \
		expect_bytes((b), want_, sizeof(want_));                                           \
	} while (0)

static void test_varint_zigzag(void **state)
{
	(void)state;
	buf b = {0};
	thrift_put_varint(&b, 0);
	thrift_put_varint(&b, 1);
	thrift_put_varint(&b, 127);
	thrift_put_varint(&b, 128);
	thrift_put_varint(&b, 50399); /* the spec's example: DF 89 03 */
	EXPECT(&b, 0x00, 0x01, 0x7F, 0x80, 0x01, 0xDF, 0x89, 0x03);
	buf_reset(&b);
	thrift_put_varint(&b, UINT64_MAX);
	EXPECT(&b, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01);
	assert_int_equal(thrift_zigzag(0), 0);
	assert_int_equal(thrift_zigzag(-1), 1);
	assert_int_equal(thrift_zigzag(1), 2);
	assert_int_equal(thrift_zigzag(-2), 3);
	assert_int_equal(thrift_zigzag(INT32_MIN), 0xFFFFFFFFull);
	assert_true(thrift_zigzag(INT64_MIN) == UINT64_MAX);
	assert_true(thrift_zigzag(INT64_MAX) == UINT64_MAX - 1);
	buf_release(&b);
}

static void test_field_delta_and_stop(void **state)
{
	(void)state;
	buf b = {0};
	thrift_writer t;
	thrift_init(&t, &b);
	thrift_field_i32(&t, 1, 1);    /* delta 1, I32: 0x15, zigzag 2 */
	thrift_field_i64(&t, 2, -1);   /* delta 1, I64: 0x16, zigzag 1 */
	thrift_field_i32(&t, 17, 0);   /* delta 15: still short: 0xF5 */
	thrift_field_i32(&t, 18, -64); /* zigzag 127 */
	thrift_field_i32(&t, 19, 64);  /* zigzag 128: two bytes */
	assert_int_equal(thrift_finish(&t), 0);
	EXPECT(&b, 0x15, 0x02, 0x16, 0x01, 0xF5, 0x00, 0x15, 0x7F, 0x15, 0x80, 0x01, 0x00);
	buf_release(&b);
}

static void test_long_field_ids(void **state)
{
	(void)state;
	buf b = {0};
	thrift_writer t;
	thrift_init(&t, &b);
	thrift_field_i32(&t, 16, 5);  /* delta 16: long form, id zigzag 32 */
	thrift_field_i32(&t, 3, 5);   /* going back: long form, id zigzag 6 */
	thrift_field_i64(&t, 300, 7); /* id zigzag 600 = D8 04 */
	thrift_field_i32(&t, -2, 1);  /* negative id: zigzag 3 */
	assert_int_equal(thrift_finish(&t), 0);
	EXPECT(&b, 0x05, 0x20, 0x0A, 0x05, 0x06, 0x0A, 0x06, 0xD8, 0x04, 0x0E, 0x05, 0x03, 0x02,
	       0x00);
	buf_release(&b);
}

static void test_negative_and_wide_numbers(void **state)
{
	(void)state;
	buf b = {0};
	thrift_writer t;
	thrift_init(&t, &b);
	thrift_field_i32(&t, 1, INT32_MIN); /* zigzag FFFFFFFF */
	thrift_field_i64(&t, 2, INT64_MIN); /* zigzag 2^64-1 */
	thrift_field_i8(&t, 3, -1);         /* raw byte */
	thrift_field_i16(&t, 4, -300);      /* zigzag 599 = D7 04 */
	assert_int_equal(thrift_finish(&t), 0);
	EXPECT(&b, 0x15, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x16, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	       0xFF, 0xFF, 0xFF, 0x01, 0x13, 0xFF, 0x14, 0xD7, 0x04, 0x00);
	buf_release(&b);
}

static void test_bools_and_binary(void **state)
{
	(void)state;
	buf b = {0};
	thrift_writer t;
	thrift_init(&t, &b);
	thrift_field_bool(&t, 1, 1);
	thrift_field_bool(&t, 2, 0);
	thrift_field_bool(&t, 20, 1); /* long form keeps the value in the type */
	thrift_field_string(&t, 21, "abc");
	thrift_field_binary(&t, 22, NULL, 0);
	assert_int_equal(thrift_finish(&t), 0);
	EXPECT(&b, 0x11, 0x12, 0x01, 0x28, 0x18, 0x03, 'a', 'b', 'c', 0x18, 0x00, 0x00);
	buf_release(&b);
}

static void test_nested_structs(void **state)
{
	(void)state;
	buf b = {0};
	thrift_writer t;
	thrift_init(&t, &b);
	thrift_field_i32(&t, 4, 1);
	thrift_struct_begin(&t, 5); /* delta 1 from 4 */
	thrift_field_i32(&t, 1, 2); /* delta restarts at 0 inside */
	thrift_struct_begin(&t, 2);
	thrift_struct_end(&t); /* empty struct: just a stop */
	thrift_struct_end(&t);
	thrift_field_i32(&t, 6, 3); /* resumes from 5 in the parent */
	assert_int_equal(thrift_finish(&t), 0);
	EXPECT(&b, 0x45, 0x02, 0x1C, 0x15, 0x04, 0x1C, 0x00, 0x00, 0x15, 0x06, 0x00);
	buf_release(&b);
}

static void test_lists(void **state)
{
	(void)state;
	buf b = {0};
	thrift_writer t;
	thrift_init(&t, &b);
	thrift_list_begin(&t, 1, THRIFT_I32, 3);
	thrift_elem_i32(&t, 1);
	thrift_elem_i32(&t, -1);
	thrift_elem_i32(&t, 300);
	thrift_list_begin(&t, 2, THRIFT_BOOL, 2);
	thrift_elem_bool(&t, 1);
	thrift_elem_bool(&t, 0);
	thrift_list_begin(&t, 3, THRIFT_BINARY, 0);
	thrift_list_begin(&t, 4, THRIFT_BINARY, 1);
	thrift_elem_string(&t, "x");
	assert_int_equal(thrift_finish(&t), 0);
	EXPECT(&b, 0x19, 0x35, 0x02, 0x01, 0xD8, 0x04, /* list<i32> of 3 */
	       0x19, 0x21, 0x01, 0x02,                 /* list<bool>: type 1, 1 / 2 */
	       0x19, 0x08,                             /* empty list<binary> */
	       0x19, 0x18, 0x01, 'x', 0x00);
	buf_release(&b);
}

static void test_long_list_header(void **state)
{
	(void)state;
	buf b = {0};
	thrift_writer t;
	thrift_init(&t, &b);
	thrift_list_begin(&t, 1, THRIFT_I64, 15);
	for (int i = 0; i < 15; i++)
		thrift_elem_i64(&t, i);
	assert_int_equal(thrift_finish(&t), 0);
	assert_int_equal(b.len, 2 + 1 + 15 + 1);
	assert_int_equal(b.data[0], 0x19);
	assert_int_equal(b.data[1], 0xF6); /* 1111 + I64 */
	assert_int_equal(b.data[2], 15);
	assert_int_equal(b.data[3], 0x00); /* zigzag(0) */
	assert_int_equal(b.data[17], 28);  /* zigzag(14) */
	buf_release(&b);

	/* 300 elements: varint size 2 bytes */
	thrift_init(&t, &b);
	thrift_list_begin(&t, 1, THRIFT_I32, 300);
	for (int i = 0; i < 300; i++)
		thrift_elem_i32(&t, 0);
	assert_int_equal(thrift_finish(&t), 0);
	assert_int_equal(b.data[1], 0xF5);
	assert_int_equal(b.data[2], 0xAC);
	assert_int_equal(b.data[3], 0x02);
	buf_release(&b);
}

static void test_list_of_structs(void **state)
{
	(void)state;
	buf b = {0};
	thrift_writer t;
	thrift_init(&t, &b);
	thrift_list_begin(&t, 2, THRIFT_STRUCT, 2);
	for (int i = 0; i < 2; i++) {
		thrift_elem_struct_begin(&t);
		thrift_field_i32(&t, 1, i); /* each element starts its deltas at 0 */
		thrift_field_string(&t, 4, "n");
		thrift_struct_end(&t);
	}
	thrift_field_i64(&t, 3, 9); /* back in the top struct: delta 1 from 2 */
	assert_int_equal(thrift_finish(&t), 0);
	EXPECT(&b, 0x29, 0x2C, 0x15, 0x00, 0x38, 0x01, 'n', 0x00, 0x15, 0x02, 0x38, 0x01, 'n', 0x00,
	       0x16, 0x12, 0x00);
	buf_release(&b);
}

static void test_misuse_is_reported(void **state)
{
	(void)state;
	buf b = {0};
	thrift_writer t;

	/* fewer elements than announced */
	thrift_init(&t, &b);
	thrift_list_begin(&t, 1, THRIFT_I32, 2);
	thrift_elem_i32(&t, 1);
	assert_int_equal(thrift_finish(&t), -1);
	buf_release(&b);

	/* more elements than announced */
	thrift_init(&t, &b);
	thrift_list_begin(&t, 1, THRIFT_I32, 1);
	thrift_elem_i32(&t, 1);
	thrift_elem_i32(&t, 2);
	assert_int_equal(thrift_finish(&t), -1);
	buf_release(&b);

	/* wrong element type */
	thrift_init(&t, &b);
	thrift_list_begin(&t, 1, THRIFT_I32, 1);
	thrift_elem_i64(&t, 1);
	assert_int_equal(thrift_finish(&t), -1);
	buf_release(&b);

	/* a field where an element is due */
	thrift_init(&t, &b);
	thrift_list_begin(&t, 1, THRIFT_I32, 1);
	thrift_field_i32(&t, 1, 1);
	assert_int_equal(thrift_finish(&t), -1);
	buf_release(&b);

	/* unbalanced end, and an unclosed struct */
	thrift_init(&t, &b);
	thrift_struct_end(&t);
	assert_int_equal(thrift_finish(&t), -1);
	buf_release(&b);
	thrift_init(&t, &b);
	thrift_struct_begin(&t, 1);
	assert_int_equal(thrift_finish(&t), -1);
	buf_release(&b);

	/* nesting deeper than THRIFT_MAX_DEPTH */
	thrift_init(&t, &b);
	for (int i = 0; i < THRIFT_MAX_DEPTH + 2; i++)
		thrift_struct_begin(&t, 1);
	for (int i = 0; i < THRIFT_MAX_DEPTH + 2; i++)
		thrift_struct_end(&t);
	assert_int_equal(thrift_finish(&t), -1);
	buf_release(&b);

	/* a poisoned buffer */
	b.oom = 1;
	thrift_init(&t, &b);
	thrift_field_i32(&t, 1, 1);
	assert_int_equal(thrift_finish(&t), -1);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_varint_zigzag),
	    cmocka_unit_test(test_field_delta_and_stop),
	    cmocka_unit_test(test_long_field_ids),
	    cmocka_unit_test(test_negative_and_wide_numbers),
	    cmocka_unit_test(test_bools_and_binary),
	    cmocka_unit_test(test_nested_structs),
	    cmocka_unit_test(test_lists),
	    cmocka_unit_test(test_long_list_header),
	    cmocka_unit_test(test_list_of_structs),
	    cmocka_unit_test(test_misuse_is_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
