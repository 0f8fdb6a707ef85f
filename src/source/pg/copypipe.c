/*
 * copypipe — a bounded, recycling chunk queue between two threads
 * (contract in copypipe.h). One mutex guards everything; `more` wakes the
 * consumer (a chunk was queued, or the pipe closed or stopped), `room`
 * wakes the producer (a chunk came back, or the pipe stopped). The queue
 * and the free list are rings/stacks of pointers into `chunks`, sized
 * `depth`, so they never overflow (invariant 1 of copypipe.h).
 */
#include "source/pg/copypipe.h"

#include <pthread.h>
#include <stdlib.h>

#include "base/err.h"

struct copypipe {
	pthread_mutex_t mu;
	pthread_cond_t more, room;
	size_t depth;
	buf *chunks;    /* depth chunks */
	buf **queue;    /* ring of queued chunks */
	size_t head, n; /* first queued, how many */
	buf **spare;    /* stack of free chunks */
	size_t nspare;
	int closed, stopped;
};

int copypipe_new(size_t depth, copypipe **out)
{
	copypipe *q = calloc(1, sizeof *q);
	*out = NULL;
	if (!q || depth == 0)
		goto fail;
	q->depth = depth;
	q->chunks = calloc(depth, sizeof *q->chunks);
	q->queue = calloc(depth, sizeof *q->queue);
	q->spare = calloc(depth, sizeof *q->spare);
	if (!q->chunks || !q->queue || !q->spare)
		goto fail;
	for (size_t i = 0; i < depth; i++)
		q->spare[q->nspare++] = &q->chunks[i];
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->more, NULL);
	pthread_cond_init(&q->room, NULL);
	*out = q;
	return 0;
fail:
	if (q) {
		free(q->chunks);
		free(q->queue);
		free(q->spare);
	}
	free(q);
	return FLOE_ENOMEM;
}

void copypipe_free(copypipe *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->depth; i++)
		buf_release(&q->chunks[i]);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->more);
	pthread_cond_destroy(&q->room);
	free(q->chunks);
	free(q->queue);
	free(q->spare);
	free(q);
}

buf *copypipe_get_empty(copypipe *q)
{
	buf *c = NULL;
	pthread_mutex_lock(&q->mu);
	while (!q->stopped && q->nspare == 0)
		pthread_cond_wait(&q->room, &q->mu);
	if (!q->stopped)
		c = q->spare[--q->nspare];
	pthread_mutex_unlock(&q->mu);
	return c;
}

void copypipe_put(copypipe *q, buf *chunk)
{
	pthread_mutex_lock(&q->mu);
	q->queue[(q->head + q->n++) % q->depth] = chunk;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->mu);
}

void copypipe_close(copypipe *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = 1;
	pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->mu);
}

buf *copypipe_take(copypipe *q, int *stopped)
{
	buf *c = NULL;
	pthread_mutex_lock(&q->mu);
	while (!q->stopped && !q->closed && q->n == 0)
		pthread_cond_wait(&q->more, &q->mu);
	if (!q->stopped && q->n > 0) {
		c = q->queue[q->head];
		q->head = (q->head + 1) % q->depth;
		q->n--;
	}
	*stopped = q->stopped;
	pthread_mutex_unlock(&q->mu);
	return c;
}

void copypipe_give_back(copypipe *q, buf *chunk)
{
	buf_reset(chunk);
	pthread_mutex_lock(&q->mu);
	q->spare[q->nspare++] = chunk;
	pthread_cond_signal(&q->room);
	pthread_mutex_unlock(&q->mu);
}

void copypipe_stop(copypipe *q)
{
	pthread_mutex_lock(&q->mu);
	q->stopped = 1;
	pthread_cond_broadcast(&q->more);
	pthread_cond_broadcast(&q->room);
	pthread_mutex_unlock(&q->mu);
}
