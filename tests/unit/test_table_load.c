/*
 * test_table_load — bulk loads into a source-driven table
 * (table_source_load: the caller writes the data file and key list, the
 * writer stages it and indexes its keys), on a real table in a temporary
 * directory:
 *   - loads of disjoint keys stage one data file each and nothing is
 *     visible until the commit, which adds them all;
 *   - a load repeating a key already loaded, or a key twice within itself,
 *     is FLOE_EEXIST and leaves the table as it was: no staged file, no
 *     file left on disk, none of its keys in the index;
 *   - the index finds loaded rows where they are (deletes of loaded keys
 *     delete one row, of refused or never loaded keys none), also after
 *     the table is opened again and rebuilds it from the key lists;
 *   - a rollback throws staged loads away, files included;
 *   - a keyless (append-only) table loads too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "table/batch.h"
#include "table/coltype.h"
#include "table/table.h"
#include "table/table_internal.h"

static floe_column cols[] = {
    {.name = "id", .type = FT_INT64},
    {.name = "v", .type = FT_STRING, .nullable = 1},
};
static const floe_schema schema = {.ncols = 2, .cols = cols};

typedef struct fixture {
	char root[128]; /* mkdtemp directory, removed afterwards */
	char dir[256], wal[256];
	floe_table *t;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	snprintf(f->root, sizeof f->root, "/tmp/floe-load-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof f->dir, "%s/db/t", f->root);
	snprintf(f->wal, sizeof f->wal, "%s/wal", f->root);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char err[ERR_LEN];
	if (f->t)
		table_close(f->t, err);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static table_config source_config(void)
{
	table_config c;
	table_config_default(&c);
	c.source_driven = 1;
	c.orphan_grace_s = 0;
	return c;
}

static void create(fixture *f, int keyed)
{
	char err[ERR_LEN];
	table_identity ident = {.primary_key = keyed, .nkey = keyed, .cols = {0}};
	table_config c = source_config();
	int rc = table_create(f->dir, f->wal, "t", "db", "t", &schema, &ident, &c, &f->t, err);
	assert_int_equal(rc, 0);
}

/* A batch of the table's schema with rows id = from .. to - 1 (and the
 * extra ids given), v = "row <id>". */
static batch *rows_of(floe_table *t, int64_t from, int64_t to, const int64_t *extra, size_t nextra)
{
	batch *b = calloc(1, sizeof *b);
	assert_non_null(b);
	assert_int_equal(batch_init(b, table_schema(t)), 0);
	for (int64_t k = from; k < to + (int64_t)nextra; k++) {
		int64_t id = k < to ? k : extra[k - to];
		char v[32];
		int n = snprintf(v, sizeof v, "row %lld", (long long)id);
		batch_row_begin(b);
		batch_set_i64(b, 0, id);
		batch_set_bytes(b, 1, v, (size_t)n);
		batch_row_commit(b);
	}
	assert_int_equal(batch_check(b), 0);
	return b;
}

static void free_rows(batch *b)
{
	batch_clear(b);
	free(b);
}

/* Parquet files in the table's data directory. */
static int data_files_on_disk(const fixture *f)
{
	char path[512];
	snprintf(path, sizeof path, "%s/data", f->dir);
	DIR *d = opendir(path);
	int n = 0;
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strstr(e->d_name, ".parquet") != NULL;
	closedir(d);
	return n;
}

/* Loads one batch; the load's result. */
static int load(floe_table *t, batch *b, char *err)
{
	batch *one[1] = {b};
	return table_source_load(t, one, 1, err);
}

/* Deletes key id through the source path; how many rows it deleted. */
static size_t delete_key(floe_table *t, int64_t id)
{
	char err[ERR_LEN];
	submit_result res;
	int taken = 0;
	batch *b = rows_of(t, id, id + 1, NULL, 0);
	int rc = table_source_apply(t, TABLE_OP_DELETE, b, NULL, NULL, &res, &taken, err);
	assert_int_equal(rc, 0);
	if (!taken)
		free_rows(b);
	return res.deleted;
}

static void test_loads_stage_and_commit_together(void **state)
{
	fixture *f = *state;
	char err[ERR_LEN];
	table_stats st;
	create(f, 1);
	batch *a = rows_of(f->t, 0, 2000, NULL, 0), *b = rows_of(f->t, 2000, 3000, NULL, 0);
	batch *two[2] = {a, b};
	assert_int_equal(table_source_load(f->t, two, 2, err), 0);
	batch *c = rows_of(f->t, 3000, 4000, NULL, 0);
	assert_int_equal(load(f->t, c, err), 0);
	/* Staged: durable files, in no snapshot. */
	assert_int_equal(data_files_on_disk(f), 2);
	table_get_stats(f->t, &st);
	assert_int_equal(st.total_records, 0);
	assert_int_equal(st.rows_ingested, 4000);

	/* A key already loaded, and a key twice in one load: refused whole. */
	int64_t again = 1234, twice[2] = {6001, 6001};
	batch *d = rows_of(f->t, 5000, 5100, &again, 1), *e = rows_of(f->t, 6000, 6001, twice, 2);
	assert_int_equal(load(f->t, d, err), FLOE_EEXIST);
	assert_non_null(strstr(err, "already in the index"));
	assert_int_equal(load(f->t, e, err), FLOE_EEXIST);
	assert_int_equal(data_files_on_disk(f), 2);
	assert_int_equal(f->t->nstaged, 2);

	assert_int_equal(table_source_commit(f->t, 77, NULL, err), 0);
	table_get_stats(f->t, &st);
	assert_int_equal(st.total_records, 4000);
	assert_int_equal(st.data_files, 2);
	assert_int_equal(table_snapshot_lsn(f->t), 77);

	/* The index points at the loaded rows; the refused ones are absent. */
	assert_int_equal(delete_key(f->t, 3500), 1);
	assert_int_equal(delete_key(f->t, 3500), 0);
	assert_int_equal(delete_key(f->t, 5050), 0);
	assert_int_equal(delete_key(f->t, 6000), 0);
	assert_int_equal(delete_key(f->t, 0), 1);
	assert_int_equal(table_source_commit(f->t, 78, NULL, err), 0);

	/* Opened again: the index comes back from the key lists. */
	assert_int_equal(table_close(f->t, err), 0);
	f->t = NULL;
	table_config cfg = source_config();
	assert_int_equal(table_open(f->dir, f->wal, &cfg, &f->t, err), 0);
	assert_int_equal(delete_key(f->t, 3999), 1);
	assert_int_equal(delete_key(f->t, 3500), 0);
	assert_int_equal(delete_key(f->t, 1999), 1);
	assert_int_equal(table_source_commit(f->t, 79, NULL, err), 0);
	for (batch **p = (batch *[]){a, b, c, d, e}, **end = p + 5; p < end; p++)
		free_rows(*p);
}

static void test_rollback_discards_loads(void **state)
{
	fixture *f = *state;
	char err[ERR_LEN];
	table_stats st;
	create(f, 1);
	batch *a = rows_of(f->t, 0, 1000, NULL, 0);
	assert_int_equal(load(f->t, a, err), 0);
	assert_int_equal(data_files_on_disk(f), 1);
	assert_int_equal(table_source_rollback(f->t, err), 0);
	assert_int_equal(data_files_on_disk(f), 0);
	assert_int_equal(table_source_commit(f->t, 5, NULL, err), 0);
	table_get_stats(f->t, &st);
	assert_int_equal(st.total_records, 0);
	assert_int_equal(delete_key(f->t, 10), 0);
	/* The same keys load again after the rollback. */
	assert_int_equal(load(f->t, a, err), 0);
	assert_int_equal(table_source_commit(f->t, 6, NULL, err), 0);
	table_get_stats(f->t, &st);
	assert_int_equal(st.total_records, 1000);
	assert_int_equal(delete_key(f->t, 10), 1);
	free_rows(a);
}

static void test_append_only_table_loads(void **state)
{
	fixture *f = *state;
	char err[ERR_LEN];
	table_stats st;
	create(f, 0);
	batch *a = rows_of(f->t, 0, 500, NULL, 0);
	assert_int_equal(load(f->t, a, err), 0);
	assert_int_equal(load(f->t, a, err), 0); /* no key: repeats are rows */
	assert_int_equal(table_source_load(f->t, NULL, 0, err), 0);
	assert_int_equal(table_source_commit(f->t, 9, NULL, err), 0);
	table_get_stats(f->t, &st);
	assert_int_equal(st.total_records, 1000);
	assert_int_equal(st.data_files, 2);
	free_rows(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_loads_stage_and_commit_together, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rollback_discards_loads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_append_only_table_loads, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
