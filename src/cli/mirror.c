/*
 * mirror (CLI) — see mirror.h. A minimal HTTP/1.1 client: one request with
 * "Connection: close", the answer read until the server closes.
 */
#include "cli/mirror.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"

static void mirror_usage(FILE *f)
{
	fprintf(f, "usage: floe mirror SRC_URI SCHEMA.TABLE [--name NAME] [--database DB]\n"
	           "                   [--server HOST:PORT] [--token TOKEN] [--skip-unsupported]\n"
	           "\n"
	           "Asks the floe server (default 127.0.0.1:3030) to mirror a PostgreSQL table:\n"
	           "it creates the Iceberg table DB/NAME (defaults: the source's database name\n"
	           "and table name), copies the rows and then streams every change.\n"
	           "  floe mirror postgresql://app@127.0.0.1:5432/shop public.orders\n");
}

/* Sends one request, returns the HTTP status (or -1) and the body in out. */
static int http_post(const char *host, int port, const char *path, const char *token,
                     const char *body, buf *out)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "floe mirror: --server needs an IPv4 address, not '%s'\n", host);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		fprintf(stderr, "floe mirror: cannot reach %s:%d: %s\n", host, port,
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	buf req = {0};
	buf_printf(&req,
	           "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
	           "Content-Length: %zu\r\nConnection: close\r\n",
	           path, host, port, strlen(body));
	if (token)
		buf_printf(&req, "Authorization: Bearer %s\r\n", token);
	buf_printf(&req, "\r\n%s", body);
	int status = -1;
	size_t sent = 0;
	while (buf_ok(&req) && sent < req.len) {
		ssize_t n = write(fd, req.data + sent, req.len - sent);
		if (n <= 0)
			goto out;
		sent += (size_t)n;
	}
	char chunk[4096];
	for (ssize_t n; (n = read(fd, chunk, sizeof chunk)) > 0;)
		buf_append(out, chunk, (size_t)n);
	buf_append(out, "", 1);
	if (buf_ok(out) && out->len > 12 &&
	    sscanf((const char *)out->data, "HTTP/1.%*c %d", &status) != 1)
		status = -1;
out:
	buf_release(&req);
	close(fd);
	return status;
}

int cli_mirror(int argc, char **argv)
{
	const char *uri = NULL, *src = NULL, *name = NULL, *db = NULL, *server = "127.0.0.1:3030",
	           *token = getenv("FLOE_TOKEN");
	int skip = 0, rc = 2;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **opt = !strcmp(a, "--name")       ? &name
		                   : !strcmp(a, "--database") ? &db
		                   : !strcmp(a, "--server")   ? &server
		                   : !strcmp(a, "--token")    ? &token
		                                              : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			mirror_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--skip-unsupported")) {
			skip = 1;
		} else if (opt && i + 1 < argc) {
			*opt = argv[++i];
		} else if (a[0] != '-' && !uri) {
			uri = a;
		} else if (a[0] != '-' && !src) {
			src = a;
		} else {
			fprintf(stderr, "floe mirror: unexpected argument '%s'\n\n", a);
			mirror_usage(stderr);
			return 2;
		}
	}
	if (!uri || !src) {
		mirror_usage(stderr);
		return 2;
	}
	const char *dot = strrchr(src, '.');
	if (!name)
		name = dot ? dot + 1 : src;
	const char *slash = strrchr(uri, '/');
	if (!db)
		db = slash && slash[1] && !strchr(slash, '@') ? slash + 1 : "postgres";
	char host[64];
	int port = 0;
	if (sscanf(server, "%63[^:]:%d", host, &port) != 2) {
		fprintf(stderr, "floe mirror: --server must be HOST:PORT\n");
		return 2;
	}
	char dbname[256];
	snprintf(dbname, sizeof dbname, "%.*s", (int)strcspn(db, "?"), db);
	json_t *body =
	    json_pack("{s:s,s:s,s:s,s:s,s:{s:b}}", "database", dbname, "table", name, "src_uri",
	              uri, "src_table_name", src, "table_config", "skip_unsupported_columns", skip);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	char path[512];
	snprintf(path, sizeof path, "/tables/%s/from_postgres", name);
	buf answer = {0};
	int status = text ? http_post(host, port, path, token, text, &answer) : -1;
	if (status > 0) {
		const char *b = answer.data ? strstr((const char *)answer.data, "\r\n\r\n") : NULL;
		printf("%s\n", b ? b + 4 : "");
		rc = status == 201 ? 0 : 1;
	}
	buf_release(&answer);
	free(text);
	json_decref(body);
	return rc;
}
