/*
 * test_spool — a streamed transaction's messages on disk
 * (src/source/pg/spool.c), checked against a model kept in memory:
 *   - messages come back in order, byte for byte, including a message
 *     larger than the write buffer and an empty one;
 *   - a subtransaction abort drops that subtransaction's changes and
 *     everything after them, whether the cut falls in the unwritten buffer
 *     or in the file, and the spool goes on appending after it; an abort of
 *     a subxid that wrote nothing drops nothing;
 *   - random runs of appends, subtransaction starts and aborts agree with
 *     the model after each read-back;
 *   - clear_dir removes *.spool files and nothing else; remove deletes the
 *     file. Runs under ASan+UBSan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/err.h"
#include "source/pg/spool.h"
#include "storage/fs.h"

enum { MAXMSG = 4096 };

typedef struct model {
	size_t n;
	size_t len[MAXMSG];
	uint32_t xid[MAXMSG];
	uint8_t *data[MAXMSG];
} model;

static char dir[256];

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void model_add(model *m, pgspool *sp, uint32_t subxid, size_t len)
{
	char err[ERR_LEN];
	uint8_t *d = malloc(len ? len : 1);
	assert_non_null(d);
	for (size_t i = 0; i < len; i++)
		d[i] = (uint8_t)(rnd() >> 11);
	assert_int_equal(pgspool_append(sp, subxid, d, len, err), 0);
	assert_true(m->n < MAXMSG);
	m->len[m->n] = len;
	m->xid[m->n] = subxid;
	m->data[m->n++] = d;
}

/* The model's view of an abort: from subxid's first message on, all go. */
static void model_abort(model *m, uint32_t subxid)
{
	size_t i = 0;
	while (i < m->n && m->xid[i] != subxid)
		i++;
	for (size_t k = i; k < m->n; k++)
		free(m->data[k]);
	m->n = i;
}

static void model_free(model *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->data[i]);
	m->n = 0;
}

static void check_read_back(pgspool *sp, const model *m)
{
	char err[ERR_LEN];
	const uint8_t *msg;
	size_t len;
	assert_int_equal(pgspool_rewind(sp, err), 0);
	for (size_t i = 0; i < m->n; i++) {
		assert_int_equal(pgspool_next(sp, &msg, &len, err), 0);
		assert_non_null(msg);
		assert_int_equal(len, m->len[i]);
		if (len)
			assert_memory_equal(msg, m->data[i], len);
	}
	assert_int_equal(pgspool_next(sp, &msg, &len, err), 0);
	assert_null(msg);
}

static void test_order_and_big_messages(void **state)
{
	(void)state;
	char err[ERR_LEN];
	pgspool *sp = NULL;
	model m = {0};
	assert_int_equal(pgspool_open(dir, 700, &sp, err), 0);
	assert_int_equal(pgspool_xid(sp), 700);
	model_add(&m, sp, 700, 10);
	model_add(&m, sp, 700, 0);
	model_add(&m, sp, 700, (3u << 20) + 17); /* larger than the write buffer */
	for (int i = 0; i < 300; i++)
		model_add(&m, sp, 700, rnd() % 9000);
	check_read_back(sp, &m);
	/* appending after a read goes on at the end */
	model_add(&m, sp, 700, 5);
	check_read_back(sp, &m);
	char path[512];
	snprintf(path, sizeof path, "%s/700.spool", dir);
	assert_true(fs_exists(path));
	pgspool_remove(sp);
	assert_false(fs_exists(path));
	model_free(&m);
}

static void test_subtransaction_aborts(void **state)
{
	(void)state;
	char err[ERR_LEN];
	pgspool *sp = NULL;
	model m = {0};
	assert_int_equal(pgspool_open(dir, 10, &sp, err), 0);
	model_add(&m, sp, 10, 100);
	model_add(&m, sp, 11, 100); /* savepoint 11 */
	model_add(&m, sp, 12, 100); /* 12 inside 11 */
	model_add(&m, sp, 11, 100);
	/* a cut inside the unwritten buffer */
	assert_int_equal(pgspool_abort_sub(sp, 12, err), 0);
	model_abort(&m, 12);
	check_read_back(sp, &m);
	/* a subxid that wrote nothing */
	assert_int_equal(pgspool_abort_sub(sp, 99, err), 0);
	check_read_back(sp, &m);
	/* a cut in the file: 13's first change is followed by > 1 MiB */
	model_add(&m, sp, 10, 7);
	model_add(&m, sp, 13, 600000);
	model_add(&m, sp, 13, 900000);
	model_add(&m, sp, 14, 10);
	assert_int_equal(pgspool_abort_sub(sp, 13, err), 0);
	model_abort(&m, 13);
	check_read_back(sp, &m);
	/* after the cut the parent writes again, and a new subtransaction */
	model_add(&m, sp, 10, 33);
	model_add(&m, sp, 15, 44);
	check_read_back(sp, &m);
	assert_int_equal(pgspool_abort_sub(sp, 11, err), 0); /* everything from 11 on */
	model_abort(&m, 11);
	check_read_back(sp, &m);
	assert_int_equal(m.n, 1);
	pgspool_remove(sp);
	model_free(&m);
}

static void test_random_runs(void **state)
{
	(void)state;
	char err[ERR_LEN];
	for (int run = 0; run < 30; run++) {
		pgspool *sp = NULL;
		model m = {0};
		uint32_t top = 1000 + (uint32_t)run, next = top + 1, open[64];
		int depth = 0;
		assert_int_equal(pgspool_open(dir, top, &sp, err), 0);
		for (int step = 0; step < 400; step++) {
			uint64_t r = rnd() % 10;
			if (r < 6 || depth == 0 || depth == 64) {
				if (r == 9 && depth < 64)
					open[depth++] = next++; /* SAVEPOINT */
				model_add(&m, sp, depth ? open[depth - 1] : top, rnd() % 3000);
			} else if (r < 8) {
				depth--; /* RELEASE: its changes now belong to the parent */
			} else {
				uint32_t sub = open[--depth]; /* ROLLBACK TO */
				assert_int_equal(pgspool_abort_sub(sp, sub, err), 0);
				model_abort(&m, sub);
			}
			if (step % 50 == 0)
				check_read_back(sp, &m);
		}
		check_read_back(sp, &m);
		pgspool_remove(sp);
		model_free(&m);
	}
}

static void test_clear_dir(void **state)
{
	(void)state;
	char err[ERR_LEN], path[512];
	pgspool *sp = NULL;
	assert_int_equal(pgspool_open(dir, 5, &sp, err), 0);
	snprintf(path, sizeof path, "%s/keep.json", dir);
	assert_int_equal(fs_put_durable(path, "{}", 2, err), 0);
	assert_int_equal(pgspool_clear_dir(dir, err), 0);
	assert_true(fs_exists(path));
	snprintf(path, sizeof path, "%s/5.spool", dir);
	assert_false(fs_exists(path));
	pgspool_remove(sp);
	snprintf(path, sizeof path, "%s/new/sub", dir);
	assert_int_equal(pgspool_clear_dir(path, err), 0); /* created */
	assert_true(fs_exists(path));
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/floe-test-spool-%d", (int)getpid());
	char err[ERR_LEN];
	if (fs_mkdirs(dir, err))
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_and_big_messages),
	    cmocka_unit_test(test_subtransaction_aborts),
	    cmocka_unit_test(test_random_runs),
	    cmocka_unit_test(test_clear_dir),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	fs_remove_tree(dir, err);
	return failed;
}
