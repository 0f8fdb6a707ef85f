/*
 * api — floe's REST API (moonlink's routes and shapes), on top of http.c.
 *
 *   GET    /health                  {"service","status":"healthy","timestamp","version"}
 *   GET    /metrics                 Prometheus text
 *   GET    /tables                  {"tables":[{name,database,table,row_count,...}]}
 *   POST   /tables/{name}           create: {"database","table","schema":[...],"table_config":{}}
 *   GET    /tables/{name}           schema, Iceberg location, current snapshot
 *   DELETE /tables/{name}           drop the table and its files
 *   POST   /tables/{name}/flush     commit now: {"snapshot_id", "lsn"}
 *   POST   /ingest/{name}           {"operation","request_mode","data"}
 * Errors: 4xx/5xx with {"message": "..."} naming what is wrong; nothing of a
 * failed request is applied.
 */
#ifndef FLOE_API_H
#define FLOE_API_H

#include "server/http.h"
#include "server/metrics.h"
#include "source/pg/source.h"
#include "table/registry.h"

typedef struct api {
	registry *reg;
	metrics *metrics;
	pgsrc_manager *pg; /* PostgreSQL mirrors */
} api;

void api_handle(void *ctx, const http_request *req, http_response *resp);
void api_observe(void *ctx, const http_request *req, int status, long long ns);

#endif
