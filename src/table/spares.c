/*
 * spares — batches a source-driven table is done with, kept empty for the
 * source to fill again (table_source_keep_spares in table.h).
 *
 * Why: an initial copy hands the table a new batch every few thousand rows
 * and the table frees them a few hundred megabytes later, at a commit; the
 * allocator gives that memory back to the kernel, and on the development VM
 * touching fresh memory again costs ~12 us per 4 KiB page: as much CPU as
 * decoding the rows into it. Kept batches keep their capacity instead.
 *
 * Invariants (all under t->spare_mu, which is taken alone or inside t->mu,
 * never around it):
 *   1. Every kept batch is empty (batch_reset) and spare_bytes is the sum of
 *      their batch_cap_bytes; it never exceeds spare_limit, and spare_limit
 *      0 means nothing is kept.
 *   2. Kept batches have the table's current schema: a schema change drops
 *      them all (table_drop_spares from evolve.c).
 * Any thread; the writer releases batches, the source takes them.
 */
#include <stdlib.h>

#include "base/err.h"
#include "table/table_internal.h"

/* Detaches the kept batches under spare_mu (the caller frees them). */
static batch **detach(floe_table *t, size_t *n)
{
	batch **list = t->spares;
	*n = t->nspares;
	t->spares = NULL;
	t->nspares = t->spares_cap = t->spare_bytes = 0;
	return list;
}

static void free_list(batch **list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		batch_clear(list[i]);
		free(list[i]);
	}
	free(list);
}

void table_drop_spares(floe_table *t)
{
	size_t n;
	pthread_mutex_lock(&t->spare_mu);
	batch **list = detach(t, &n);
	pthread_mutex_unlock(&t->spare_mu);
	free_list(list, n);
}

void table_source_keep_spares(floe_table *t, size_t keep_bytes)
{
	size_t n = 0;
	batch **list = NULL;
	pthread_mutex_lock(&t->spare_mu);
	t->spare_limit = keep_bytes;
	if (keep_bytes == 0)
		list = detach(t, &n);
	pthread_mutex_unlock(&t->spare_mu);
	free_list(list, n);
}

batch *table_source_spare(floe_table *t)
{
	batch *b = NULL;
	pthread_mutex_lock(&t->spare_mu);
	if (t->nspares > 0) {
		b = t->spares[--t->nspares];
		t->spare_bytes -= batch_cap_bytes(b);
	}
	pthread_mutex_unlock(&t->spare_mu);
	return b;
}

void table_release_rows(floe_table *t, batch *b)
{
	if (!b)
		return;
	size_t cap = batch_cap_bytes(b);
	int kept = 0;
	pthread_mutex_lock(&t->spare_mu);
	if (t->spare_limit && t->spare_bytes + cap <= t->spare_limit) {
		if (t->nspares == t->spares_cap) {
			size_t ncap = t->spares_cap ? 2 * t->spares_cap : 64;
			batch **s = realloc(t->spares, ncap * sizeof *s);
			if (s) {
				t->spares = s;
				t->spares_cap = ncap;
			}
		}
		if (t->nspares < t->spares_cap) {
			batch_reset(b);
			t->spares[t->nspares++] = b;
			t->spare_bytes += cap;
			kept = 1;
		}
	}
	pthread_mutex_unlock(&t->spare_mu);
	if (!kept) {
		batch_clear(b);
		free(b);
	}
}
