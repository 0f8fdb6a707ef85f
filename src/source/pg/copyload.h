/*
 * copyload — the rows one copy worker decodes, loaded into the table as
 * data files by a loader thread of its own (table_source_load).
 *
 * Two sets of batches take turns: the decoder fills one while the loader
 * writes the other as a Parquet file, so the worker's COPY connection keeps
 * reading while a file is encoded. A set is handed over once its rows hold
 * load_bytes; an emptied set keeps its batches (their memory is touched
 * once, which on the development VM costs as much as decoding into it).
 *
 * Invariants:
 *   1. At most one set is being loaded; the decoder waits for it before
 *      handing over the next, so memory is bounded by about 2 x load_bytes.
 *   2. Sets are loaded in the order they were filled.
 *   3. After a failed load nothing more is loaded; the decoder learns of
 *      the failure at its next hand-over (or at copyload_finish).
 * Used by one decoder thread; the loader thread is internal.
 */
#ifndef FLOE_SOURCE_PG_COPYLOAD_H
#define FLOE_SOURCE_PG_COPYLOAD_H

#include <stddef.h>

#include "table/batch.h"
#include "table/table.h"

typedef struct copyload copyload;

/* Starts the loader of rows shaped like `schema` (the table's, which does
 * not change during a copy), in batches of batch_rows. */
int copyload_new(floe_table *t, const floe_schema *schema, size_t batch_rows, size_t load_bytes,
                 copyload **out, char *err);
/* The batch to fill (empty or partly filled). */
int copyload_batch(copyload *l, batch **out, char *err);
/* The batch being filled is complete: it joins its set, which goes to the
 * loader once it holds load_bytes. */
int copyload_filled(copyload *l, char *err);
/* Loads what is left (a partly filled batch too) and waits for every load:
 * 0 once all rows are staged in the table. */
int copyload_finish(copyload *l, char *err);
/* Stops the loader (after the load under way, if any) and frees
 * everything; NULL is fine. */
void copyload_free(copyload *l);

#endif
