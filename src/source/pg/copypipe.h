/*
 * copypipe — a bounded queue of byte chunks from one producer thread to one
 * consumer thread. The initial copy's connection thread hands what it reads
 * (whole COPY tuples or lines) to a thread that decodes them, so reading
 * the socket and decoding overlap, and the server keeps sending while the
 * decoder waits for the table.
 *
 * Invariants:
 *   1. A pipe owns exactly `depth` chunks (buf), each at any time either
 *      free, held by the producer, queued, or held by the consumer; they
 *      are recycled (given back empty, keeping their memory), so a copy
 *      touches new memory only while the chunks first grow.
 *   2. Queued chunks come out in the order they went in.
 *   3. Once stopped (either side), every wait returns at once: the producer
 *      gets no more empty chunks, the consumer no more filled ones.
 * Thread-safe for one producer and one consumer. Errors: only
 * copypipe_new fails (FLOE_ENOMEM).
 */
#ifndef FLOE_COPYPIPE_H
#define FLOE_COPYPIPE_H

#include <stddef.h>

#include "base/buf.h"

typedef struct copypipe copypipe;

/* A pipe of `depth` (>= 1) chunks. 0 or FLOE_ENOMEM. */
int copypipe_new(size_t depth, copypipe **out);
/* Frees the pipe and its chunks; both threads are done with it. NULL is a
 * no-op. */
void copypipe_free(copypipe *q);

/* Producer: an empty chunk to fill, waiting while every chunk is in use;
 * NULL once the pipe is stopped. */
buf *copypipe_get_empty(copypipe *q);
/* Producer: queues a chunk from copypipe_get_empty (an empty one too). */
void copypipe_put(copypipe *q, buf *chunk);
/* Producer: nothing more will be put; the consumer drains what is queued. */
void copypipe_close(copypipe *q);

/* Consumer: the next queued chunk, waiting for one; NULL when the pipe is
 * closed and drained (*stopped = 0) or stopped (*stopped = 1). */
buf *copypipe_take(copypipe *q, int *stopped);
/* Consumer: gives a chunk from copypipe_take back (it is emptied). */
void copypipe_give_back(copypipe *q, buf *chunk);

/* Either side: stops the pipe (invariant 3). */
void copypipe_stop(copypipe *q);

#endif
