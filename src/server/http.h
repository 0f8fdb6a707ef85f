/*
 * http — the HTTP/1.1 front door (libmicrohttpd, internal thread pool).
 *
 * Owns connections, request bodies and the bearer-token check; knows nothing
 * of tables. Each complete request is passed to one handler function, which
 * fills an http_response; http.c sends it with Content-Type application/json
 * unless the handler says otherwise.
 *
 * Invariants:
 *   1. A body larger than max_body_bytes is answered 413 without buffering it.
 *   2. With a token configured, every path except /health needs
 *      "Authorization: Bearer <token>", compared in constant time (401
 *      otherwise); without one the server only binds loopback addresses.
 *   3. The handler runs on a pool thread and may block (a sync ingest waits
 *      for its commit); the pool size bounds how many do so at once.
 */
#ifndef FLOE_HTTP_H
#define FLOE_HTTP_H

#include <stddef.h>

#include "base/buf.h"

typedef struct http_config {
	const char *bind;  /* default "127.0.0.1" */
	int port;          /* 0: any free port (see http_server_port) */
	const char *token; /* NULL: no auth (loopback only) */
	size_t max_body_bytes;
	int threads;
} http_config;

typedef struct http_request {
	const char *method;
	const char *path;
	const char *body; /* NUL-terminated; body_len excludes the NUL */
	size_t body_len;
} http_request;

typedef struct http_response {
	int status;
	buf body;
	const char *content_type; /* NULL: application/json */
	int retry_after;          /* seconds; 0: no header */
} http_response;

typedef void (*http_handler_fn)(void *ctx, const http_request *req, http_response *resp);
/* Called after each response with the route's status and the time spent. */
typedef void (*http_observe_fn)(void *ctx, const http_request *req, int status, long long ns);

typedef struct http_server http_server;

int http_server_start(const http_config *cfg, http_handler_fn handler, http_observe_fn observe,
                      void *ctx, http_server **out, char *err);
/* FLOE_EINVAL if cfg->bind is not an IPv4 address, or is not loopback while
 * no token is set (the message says why and what to do). */
int http_check_bind(const http_config *cfg, char *err);
int http_server_port(const http_server *s);
/* Stops accepting, waits for in-flight requests, frees s. NULL is a no-op. */
void http_server_stop(http_server *s);

/* Sets status and {"message": msg} as the body. */
void http_error(http_response *resp, int status, const char *msg);

#endif
