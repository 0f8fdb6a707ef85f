/* test_wal — the write-ahead log: append/replay, group commit from threads,
 * segment rotation and truncation, torn tails and corruption in the middle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "storage/fs.h"
#include "table/wal.h"

typedef struct seen {
	uint64_t lsns[20000];
	size_t n;
	int bad_payload;
} seen;

static int collect(void *ctx, uint64_t lsn, uint8_t kind, const uint8_t *p, size_t len, char *err)
{
	(void)err;
	seen *s = ctx;
	char want[64];
	int n = snprintf(want, sizeof want, "record %llu kind %u", (unsigned long long)lsn, kind);
	if ((size_t)n != len || memcmp(want, p, len) != 0)
		s->bad_payload++;
	if (s->n < 20000)
		s->lsns[s->n++] = lsn;
	return 0;
}

static char *make_dir(void)
{
	char tmpl[] = "/tmp/floe-wal-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	return strdup(d);
}

static void append_n(wal *w, int n)
{
	char err[ERR_LEN];
	for (int i = 0; i < n; i++) {
		uint64_t expect = wal_last_lsn(w) + 1;
		char p[64];
		int len =
		    snprintf(p, sizeof p, "record %llu kind %u", (unsigned long long)expect, 7u);
		uint64_t lsn;
		/* split the payload in two parts to exercise the two-part append */
		assert_int_equal(wal_append(w, 7, p, 5, p + 5, (size_t)len - 5, &lsn, err), 0);
		assert_int_equal(lsn, expect);
	}
	assert_int_equal(wal_sync(w, wal_last_lsn(w), err), 0);
}

static wal *open_replay(const char *dir, size_t seg_bytes, uint64_t after, seen *s, int expect_rc)
{
	wal_options o;
	wal_options_default(&o);
	o.segment_bytes = seg_bytes;
	wal *w = NULL;
	char err[ERR_LEN] = "";
	assert_int_equal(wal_open(dir, &o, &w, err), 0);
	memset(s, 0, sizeof *s);
	int rc = wal_replay(w, after, collect, s, err);
	assert_int_equal(rc, expect_rc);
	if (rc) {
		wal_close(w);
		return NULL;
	}
	return w;
}

static void test_append_replay(void **state)
{
	(void)state;
	char *dir = make_dir();
	seen *s = calloc(1, sizeof *s);
	wal *w = open_replay(dir, 1 << 20, 0, s, 0);
	assert_int_equal(s->n, 0);
	append_n(w, 100);
	wal_close(w);
	w = open_replay(dir, 1 << 20, 0, s, 0);
	assert_int_equal(s->n, 100);
	assert_int_equal(s->bad_payload, 0);
	for (size_t i = 0; i < 100; i++)
		assert_int_equal(s->lsns[i], i + 1);
	append_n(w, 5);
	assert_int_equal(wal_last_lsn(w), 105);
	wal_close(w);
	/* after_lsn skips committed records */
	w = open_replay(dir, 1 << 20, 50, s, 0);
	assert_int_equal(s->n, 55);
	assert_int_equal(s->lsns[0], 51);
	wal_close(w);
	fs_remove_tree(dir, NULL);
	free(dir);
	free(s);
}

static int count_segments(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		n += strstr(de->d_name, ".wal") != NULL;
	closedir(d);
	return n;
}

static void test_rotation_and_truncate(void **state)
{
	(void)state;
	char *dir = make_dir();
	char err[ERR_LEN];
	seen *s = calloc(1, sizeof *s);
	wal *w = open_replay(dir, 1024, 0, s, 0);
	append_n(w, 200); /* ~44 bytes each: many segments */
	assert_true(count_segments(dir) > 5);
	assert_int_equal(wal_truncate(w, 100, err), 0);
	wal_close(w);
	w = open_replay(dir, 1024, 100, s, 0);
	assert_int_equal(s->n, 100);
	assert_int_equal(s->lsns[0], 101);
	assert_int_equal(wal_truncate(w, 200, err), 0);
	assert_int_equal(count_segments(dir), 1);
	assert_true(wal_disk_bytes(w) <= 32);
	append_n(w, 3);
	assert_int_equal(wal_last_lsn(w), 203);
	wal_close(w);
	w = open_replay(dir, 1024, 200, s, 0);
	assert_int_equal(s->n, 3);
	assert_int_equal(s->lsns[0], 201);
	wal_close(w);
	/* a snapshot ahead of the whole log: the log restarts after it */
	w = open_replay(dir, 1024, 500, s, 0);
	assert_int_equal(s->n, 0);
	append_n(w, 1);
	assert_int_equal(wal_last_lsn(w), 501);
	wal_close(w);
	w = open_replay(dir, 1024, 500, s, 0);
	assert_int_equal(s->n, 1);
	wal_close(w);
	fs_remove_tree(dir, NULL);
	free(dir);
	free(s);
}

static char *last_segment(const char *dir)
{
	DIR *d = opendir(dir);
	char best[256] = "";
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".wal") && strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof best, "%s", de->d_name);
	closedir(d);
	char *p = malloc(4200);
	snprintf(p, 4200, "%s/%s", dir, best);
	return p;
}

static void test_torn_tail_is_cut(void **state)
{
	(void)state;
	char *dir = make_dir();
	seen *s = calloc(1, sizeof *s);
	wal *w = open_replay(dir, 1 << 20, 0, s, 0);
	append_n(w, 10);
	wal_close(w);
	char *seg = last_segment(dir);
	int64_t size = fs_file_size(seg);
	/* cut the last record in half */
	assert_int_equal(truncate(seg, size - 10), 0);
	w = open_replay(dir, 1 << 20, 0, s, 0);
	assert_int_equal(s->n, 9);
	append_n(w, 2); /* continues at lsn 10 */
	assert_int_equal(wal_last_lsn(w), 11);
	wal_close(w);
	w = open_replay(dir, 1 << 20, 0, s, 0);
	assert_int_equal(s->n, 11);
	assert_int_equal(s->bad_payload, 0);
	wal_close(w);
	free(seg);
	fs_remove_tree(dir, NULL);
	free(dir);
	free(s);
}

static void flip_byte(const char *path, long off)
{
	int fd = open(path, O_RDWR);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x5a;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void test_corruption_in_the_middle_is_an_error(void **state)
{
	(void)state;
	char *dir = make_dir();
	seen *s = calloc(1, sizeof *s);
	wal *w = open_replay(dir, 1 << 20, 0, s, 0);
	append_n(w, 10);
	wal_close(w);
	/* replay opened a fresh segment after the first one; the records are in
	 * the first segment */
	DIR *d = opendir(dir);
	struct dirent *de;
	char first[256] = "~";
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".wal") && strcmp(de->d_name, first) < 0)
			snprintf(first, sizeof first, "%s", de->d_name);
	closedir(d);
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", dir, first);
	flip_byte(path, 32 + 35 * 3 + 25); /* inside record 4 (35 bytes each) */
	wal_options o;
	wal_options_default(&o);
	char err[ERR_LEN] = "";
	assert_int_equal(wal_open(dir, &o, &w, err), 0);
	memset(s, 0, sizeof *s);
	assert_int_equal(wal_replay(w, 0, collect, s, err), FLOE_ECORRUPT);
	assert_non_null(strstr(err, first));
	assert_non_null(strstr(err, "offset 137"));
	wal_close(w);
	fs_remove_tree(dir, NULL);
	free(dir);
	free(s);
}

typedef struct thread_arg {
	wal *w;
	int n;
} thread_arg;

static void *appender(void *p)
{
	thread_arg *a = p;
	char err[ERR_LEN];
	for (int i = 0; i < a->n; i++) {
		uint64_t lsn;
		/* payload checked by collect() needs the lsn inside: use a fixed
		 * text and skip the payload check for this test */
		if (wal_append(a->w, 1, "x", 1, NULL, 0, &lsn, err) || wal_sync(a->w, lsn, err))
			return (void *)1;
	}
	return NULL;
}

static int count_only(void *ctx, uint64_t lsn, uint8_t kind, const uint8_t *p, size_t len,
                      char *err)
{
	(void)lsn;
	(void)kind;
	(void)p;
	(void)len;
	(void)err;
	(*(int *)ctx)++;
	return 0;
}

static void test_group_commit_threads(void **state)
{
	(void)state;
	char *dir = make_dir();
	wal_options o;
	wal_options_default(&o);
	o.segment_bytes = 4096;
	wal *w = NULL;
	char err[ERR_LEN];
	int count = 0;
	assert_int_equal(wal_open(dir, &o, &w, err), 0);
	assert_int_equal(wal_replay(w, 0, count_only, &count, err), 0);
	pthread_t th[4];
	thread_arg a = {w, 300};
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, appender, &a);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		assert_null(r);
	}
	assert_int_equal(wal_last_lsn(w), 1200);
	wal_close(w);
	assert_int_equal(wal_open(dir, &o, &w, err), 0);
	assert_int_equal(wal_replay(w, 0, count_only, &count, err), 0);
	assert_int_equal(count, 1200);
	wal_close(w);
	fs_remove_tree(dir, NULL);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_append_replay),
	    cmocka_unit_test(test_rotation_and_truncate),
	    cmocka_unit_test(test_torn_tail_is_cut),
	    cmocka_unit_test(test_corruption_in_the_middle_is_an_error),
	    cmocka_unit_test(test_group_commit_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
