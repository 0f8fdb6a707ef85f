/*
 * copyload — a copy worker's two sets of batches and its loader thread
 * (contract in copyload.h). `mu` guards `loading`, `closed` and the load
 * result; `turn` wakes the loader (a set was handed over, or it should end)
 * and the decoder (a load finished). The decoder alone touches the set it
 * fills; the loader alone touches the set in `loading` until it clears it.
 */
#include "source/pg/copyload.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* One set: b[0..n) hold rows, b[n] (when n < cap) is being filled, the rest
 * are empty and kept. */
typedef struct row_set {
	batch **b;
	size_t n, cap;
	size_t bytes; /* batch_mem_bytes of b[0..n) */
} row_set;

struct copyload {
	floe_table *t;
	const floe_schema *schema;
	size_t batch_rows, load_bytes;
	row_set sets[2];
	int filling; /* index of the decoder's set */
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t turn;
	row_set *loading; /* handed to the loader; NULL when it is idle */
	int closed;
	int rc;
	char err[ERR_LEN];
};

static void set_free(row_set *s)
{
	for (size_t i = 0; i < s->cap; i++) {
		batch_clear(s->b[i]);
		free(s->b[i]);
	}
	free(s->b);
	memset(s, 0, sizeof *s);
}

static void *loader_main(void *arg)
{
	copyload *l = arg;
	char err[ERR_LEN];
	pthread_mutex_lock(&l->mu);
	for (;;) {
		while (!l->loading && !l->closed)
			pthread_cond_wait(&l->turn, &l->mu);
		if (!l->loading)
			break;
		row_set *s = l->loading;
		int failed = l->rc != 0;
		pthread_mutex_unlock(&l->mu);
		int rc = failed ? 0 : table_source_load(l->t, s->b, s->n, err);
		for (size_t i = 0; i < s->n; i++)
			batch_reset(s->b[i]);
		s->n = 0;
		s->bytes = 0;
		pthread_mutex_lock(&l->mu);
		if (rc && !l->rc) {
			l->rc = rc;
			memcpy(l->err, err, sizeof err);
		}
		l->loading = NULL;
		pthread_cond_broadcast(&l->turn);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* Waits until the loader is idle; its result so far. mu held. */
static int wait_idle(copyload *l, char *err)
{
	while (l->loading)
		pthread_cond_wait(&l->turn, &l->mu);
	return l->rc ? errf(err, l->rc, "%s", l->err) : 0;
}

/* Hands the decoder's set to the loader (after the previous load) and
 * switches the decoder to the other set, emptied by then. */
static int hand_over(copyload *l, char *err)
{
	pthread_mutex_lock(&l->mu);
	int rc = wait_idle(l, err);
	if (rc == 0) {
		l->loading = &l->sets[l->filling];
		l->filling ^= 1;
		pthread_cond_broadcast(&l->turn);
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

int copyload_new(floe_table *t, const floe_schema *schema, size_t batch_rows, size_t load_bytes,
                 copyload **out, char *err)
{
	copyload *l = calloc(1, sizeof *l);
	*out = NULL;
	if (!l)
		return errf(err, FLOE_ENOMEM, "out of memory");
	l->t = t;
	l->schema = schema;
	l->batch_rows = batch_rows;
	l->load_bytes = load_bytes;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->turn, NULL);
	if (pthread_create(&l->thread, NULL, loader_main, l) != 0) {
		copyload_free(l);
		return errf(err, FLOE_ENOMEM, "cannot start a copy loader thread");
	}
	l->started = 1;
	*out = l;
	return 0;
}

int copyload_batch(copyload *l, batch **out, char *err)
{
	row_set *s = &l->sets[l->filling];
	if (s->n == s->cap) {
		batch **grown = realloc(s->b, (s->cap + 1) * sizeof *grown);
		if (!grown)
			return errf(err, FLOE_ENOMEM, "out of memory");
		s->b = grown;
		batch *b = calloc(1, sizeof *b);
		if (!b || batch_init(b, l->schema)) {
			free(b);
			return errf(err, FLOE_ENOMEM, "out of memory");
		}
		(void)batch_reserve(b, l->batch_rows); /* only a head start */
		s->b[s->cap++] = b;
	}
	*out = s->b[s->n];
	return 0;
}

int copyload_filled(copyload *l, char *err)
{
	row_set *s = &l->sets[l->filling];
	s->bytes += batch_mem_bytes(s->b[s->n++]);
	return s->bytes >= l->load_bytes ? hand_over(l, err) : 0;
}

int copyload_finish(copyload *l, char *err)
{
	row_set *s = &l->sets[l->filling];
	int rc = 0;
	if (s->n < s->cap && s->b[s->n]->nrows)
		s->n++; /* the partly filled batch */
	if (s->n)
		rc = hand_over(l, err);
	pthread_mutex_lock(&l->mu);
	int waited = wait_idle(l, err);
	pthread_mutex_unlock(&l->mu);
	return rc ? rc : waited;
}

void copyload_free(copyload *l)
{
	if (!l)
		return;
	if (l->started) {
		pthread_mutex_lock(&l->mu);
		l->closed = 1;
		pthread_cond_broadcast(&l->turn);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	set_free(&l->sets[0]);
	set_free(&l->sets[1]);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->turn);
	free(l);
}
