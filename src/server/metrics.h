/*
 * metrics — server-wide counters and the request latency histogram, rendered
 * with per-table counters in the Prometheus text format (version 0.0.4).
 * All counters are atomics: any thread may record, any thread may render.
 */
#ifndef FLOE_METRICS_H
#define FLOE_METRICS_H

#include "base/buf.h"
#include "table/registry.h"

typedef struct metrics metrics;

metrics *metrics_new(void);
void metrics_free(metrics *m);
/* route: a fixed label such as "ingest", "tables", "flush", "health", "metrics", "other". */
void metrics_observe_request(metrics *m, const char *route, int status, long long ns);
void metrics_render(metrics *m, registry *reg, buf *out);

#endif
