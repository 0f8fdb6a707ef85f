/*
 * test_copypipe — the chunk queue between a copy's connection thread and
 * its decoder thread (src/source/pg/copypipe.c): 20,000 chunks through a
 * pipe of 3 with a real producer thread arrive complete and in order, and
 * the pipe never holds more than its depth (every chunk is one of its
 * own); a close is drained before the consumer sees the end; a stop from
 * the consumer releases a producer waiting for room, and a stop from the
 * producer releases a consumer waiting for data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <pthread.h>

#include <cmocka.h>

#include "base/err.h"
#include "source/pg/copypipe.h"

#define NCHUNKS 20000

typedef struct prod {
	copypipe *q;
	int sent;    /* chunks put */
	int stopped; /* copypipe_get_empty returned NULL */
} prod;

/* Puts NCHUNKS chunks holding "chunk <i>" (i repeated i % 7 times), then
 * closes; stops early when the pipe is stopped. */
static void *producer(void *arg)
{
	prod *p = arg;
	for (int i = 0; i < NCHUNKS; i++) {
		buf *c = copypipe_get_empty(p->q);
		if (!c) {
			p->stopped = 1;
			return NULL;
		}
		assert_int_equal(c->len, 0); /* given back empty */
		for (int k = 0; k <= i % 7; k++)
			buf_printf(c, "chunk %d;", i);
		copypipe_put(p->q, c);
		p->sent++;
	}
	copypipe_close(p->q);
	return NULL;
}

static void test_order_and_recycling(void **state)
{
	(void)state;
	copypipe *q;
	assert_int_equal(copypipe_new(3, &q), 0);
	prod p = {.q = q};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, producer, &p), 0);
	buf *seen[3] = {0};
	int nseen = 0, stopped = 1;
	buf *c;
	for (int i = 0; (c = copypipe_take(q, &stopped)); i++) {
		char want[64 * 8] = "";
		for (int k = 0; k <= i % 7; k++)
			snprintf(want + strlen(want), sizeof want - strlen(want), "chunk %d;", i);
		assert_int_equal(c->len, strlen(want));
		assert_memory_equal(c->data, want, c->len);
		int known = 0;
		for (int k = 0; k < nseen; k++)
			known |= seen[k] == c;
		if (!known) {
			assert_true(nseen < 3); /* only the pipe's own chunks */
			seen[nseen++] = c;
		}
		copypipe_give_back(q, c);
	}
	assert_int_equal(stopped, 0); /* closed and drained */
	pthread_join(th, NULL);
	assert_int_equal(p.sent, NCHUNKS);
	copypipe_free(q);
}

/* The consumer stops the pipe while the producer waits for room. */
static void test_consumer_stop(void **state)
{
	(void)state;
	copypipe *q;
	assert_int_equal(copypipe_new(2, &q), 0);
	prod p = {.q = q};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, producer, &p), 0);
	int stopped;
	buf *c = copypipe_take(q, &stopped); /* keep it: the producer runs dry */
	assert_non_null(c);
	copypipe_stop(q);
	pthread_join(th, NULL);
	assert_int_equal(p.stopped, 1);
	assert_true(p.sent <= 3);
	assert_null(copypipe_take(q, &stopped));
	assert_int_equal(stopped, 1);
	copypipe_give_back(q, c);
	copypipe_free(q);
}

static void *stopper(void *arg)
{
	copypipe_stop(arg);
	return NULL;
}

/* The producer side stops while the consumer waits for data. */
static void test_producer_stop(void **state)
{
	(void)state;
	copypipe *q;
	assert_int_equal(copypipe_new(4, &q), 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, stopper, q), 0);
	int stopped = 0;
	assert_null(copypipe_take(q, &stopped));
	assert_int_equal(stopped, 1);
	pthread_join(th, NULL);
	assert_null(copypipe_get_empty(q));
	copypipe_free(q);
	copypipe_free(NULL);
	assert_int_equal(copypipe_new(0, &q), FLOE_ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_and_recycling),
	    cmocka_unit_test(test_consumer_stop),
	    cmocka_unit_test(test_producer_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
