/*
 * http — libmicrohttpd glue (contract in http.h).
 *
 * Per connection, MHD calls access_cb several times: first with no data (we
 * allocate a request context), then with body chunks (appended, capped at
 * max_body_bytes), then once more with *upload_data_size == 0 when the body is
 * complete: only then the handler runs and the response is queued. A body
 * over the cap is drained without storing and answered 413.
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/err.h"
#include "base/log.h"

struct http_server {
	struct MHD_Daemon *daemon;
	http_config cfg;
	http_handler_fn handler;
	http_observe_fn observe;
	void *ctx;
	int port;
	atomic_int in_flight; /* requests begun and not yet completed */
};

typedef struct conn_ctx {
	buf body;
	int too_big;
	long long start_ns;
} conn_ctx;

void http_error(http_response *resp, int status, const char *msg)
{
	resp->status = status;
	buf_reset(&resp->body);
	/* Escape through a tiny JSON writer: messages may quote user input. */
	buf_append_str(&resp->body, "{\"message\":\"");
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
		if (*p == '"' || *p == '\\') {
			buf_put_u8(&resp->body, '\\');
			buf_put_u8(&resp->body, *p);
		} else if (*p < 0x20) {
			buf_printf(&resp->body, "\\u%04x", *p);
		} else {
			buf_put_u8(&resp->body, *p);
		}
	}
	buf_append_str(&resp->body, "\"}");
}

/* Constant-time comparison: the time taken depends only on the lengths. */
static int token_equal(const char *given, size_t given_len, const char *want)
{
	size_t want_len = strlen(want);
	unsigned diff = given_len != want_len;
	for (size_t i = 0; i < want_len; i++)
		diff |=
		    (unsigned)(uint8_t)want[i] ^ (unsigned)(uint8_t)(i < given_len ? given[i] : 0);
	return diff == 0;
}

static int authorized(http_server *s, struct MHD_Connection *conn, const char *url)
{
	if (!s->cfg.token || !strcmp(url, "/health"))
		return 1;
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (!h || strncmp(h, "Bearer ", 7) != 0)
		return 0;
	return token_equal(h + 7, strlen(h + 7), s->cfg.token);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, http_response *r)
{
	size_t len = r->body.len;
	void *data = buf_steal(&r->body, NULL);
	struct MHD_Response *resp = MHD_create_response_from_buffer(
	    len, data ? data : (void *)"", data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type",
	                        r->content_type ? r->content_type : "application/json");
	if (r->retry_after > 0) {
		char ra[16];
		snprintf(ra, sizeof ra, "%d", r->retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	if (r->status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
	(void)version;
	http_server *s = cls;
	conn_ctx *c = *con_cls;
	if (!c) {
		c = calloc(1, sizeof *c);
		if (!c)
			return MHD_NO;
		c->start_ns = mono_ns();
		*con_cls = c;
		atomic_fetch_add(&s->in_flight, 1);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!c->too_big && c->body.len + *upload_data_size > s->cfg.max_body_bytes) {
			c->too_big = 1;
			buf_release(&c->body);
		}
		if (!c->too_big)
			buf_append(&c->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	http_request req = {.method = method, .path = url};
	http_response resp = {.status = 200};
	if (!authorized(s, conn, url)) {
		http_error(&resp, 401, "missing or wrong bearer token (Authorization: Bearer ...)");
	} else if (c->too_big) {
		char msg[128];
		snprintf(msg, sizeof msg, "request body is larger than the limit of %zu bytes",
		         s->cfg.max_body_bytes);
		http_error(&resp, 413, msg);
	} else if (!buf_ok(&c->body)) {
		http_error(&resp, 503, "out of memory reading the request body");
	} else {
		buf_put_u8(&c->body, 0);
		req.body = c->body.len ? (const char *)c->body.data : "";
		req.body_len = c->body.len ? c->body.len - 1 : 0;
		s->handler(s->ctx, &req, &resp);
	}
	int status = resp.status;
	enum MHD_Result ret = send_response(conn, &resp);
	buf_release(&resp.body);
	if (s->observe)
		s->observe(s->ctx, &req, status, mono_ns() - c->start_ns);
	return ret;
}

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)conn;
	(void)toe;
	http_server *s = cls;
	conn_ctx *c = *con_cls;
	if (c) {
		buf_release(&c->body);
		free(c);
		*con_cls = NULL;
		atomic_fetch_sub(&s->in_flight, 1);
	}
}

static int is_loopback(const struct sockaddr_in *a)
{
	return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
}

static int resolve_bind(const http_config *cfg, struct sockaddr_in *addr, char *err)
{
	const char *bind_addr = cfg->bind ? cfg->bind : "127.0.0.1";
	memset(addr, 0, sizeof *addr);
	addr->sin_family = AF_INET;
	addr->sin_port = htons((uint16_t)cfg->port);
	if (inet_pton(AF_INET, bind_addr, &addr->sin_addr) != 1)
		return errf(err, FLOE_EINVAL, "--bind: '%s' is not an IPv4 address", bind_addr);
	if (!is_loopback(addr) && !cfg->token)
		return errf(
		    err, FLOE_EINVAL,
		    "refusing to listen on %s without a token: anyone on the network could "
		    "write to your tables; set FLOE_TOKEN or --token-file, or bind 127.0.0.1",
		    bind_addr);
	return 0;
}

int http_check_bind(const http_config *cfg, char *err)
{
	struct sockaddr_in addr;
	return resolve_bind(cfg, &addr, err);
}

int http_server_start(const http_config *cfg, http_handler_fn handler, http_observe_fn observe,
                      void *ctx, http_server **out, char *err)
{
	struct sockaddr_in addr;
	const char *bind_addr = cfg->bind ? cfg->bind : "127.0.0.1";
	int rc = resolve_bind(cfg, &addr, err);
	if (rc)
		return rc;
	http_server *s = calloc(1, sizeof *s);
	if (!s)
		return errf(err, FLOE_ENOMEM, "out of memory");
	s->cfg = *cfg;
	s->handler = handler;
	s->observe = observe;
	s->ctx = ctx;
	unsigned threads = cfg->threads > 0 ? (unsigned)cfg->threads : 8;
	s->daemon = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_LINUX_ONLY | MHD_USE_ITC |
	        MHD_USE_ERROR_LOG,
	    0, NULL, NULL, access_cb, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	    MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED, completed_cb, s,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_LISTENING_ADDRESS_REUSE,
	    (unsigned)1, MHD_OPTION_END);
	if (!s->daemon) {
		free(s);
		return errf(err, FLOE_EIO, "cannot listen on %s:%d: %s", bind_addr, cfg->port,
		            strerror(errno ? errno : EADDRINUSE));
	}
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : cfg->port;
	*out = s;
	return 0;
}

int http_server_port(const http_server *s)
{
	return s->port;
}

void http_server_stop(http_server *s)
{
	if (!s)
		return;
	/* Stop accepting, then give requests in flight (a sync ingest waiting for
	 * its commit) up to 30 s to be answered before connections are closed. */
	MHD_socket listen_fd = MHD_quiesce_daemon(s->daemon);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	long long deadline = mono_ns() + 30000000000LL;
	while (atomic_load(&s->in_flight) > 0 && mono_ns() < deadline) {
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(s->daemon);
	free(s);
}
