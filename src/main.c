/*
 * main — the `floe` command.
 *
 *   floe serve DATA_DIR [--bind ADDR] [--port N] [--config FILE] [--token-file PATH]
 *   floe version
 *
 * serve: opens every table under DATA_DIR, starts the HTTP API, and on
 * SIGINT/SIGTERM stops accepting requests, lets in-flight ones finish, commits
 * what is in memory, and exits 0. Signals are handled by sigwait in the main
 * thread (blocked everywhere else), so no work happens in a signal handler.
 */
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"
#include "cli/mirror.h"
#include "server/api.h"
#include "source/pg/source.h"
#include "server/http.h"
#include "storage/fs.h"
#include "table/registry.h"

#define FLOE_VERSION "0.1.0"

typedef struct serve_opts {
	const char *data_dir;
	char bind[64];
	int port;
	char *token;
	http_config http;
	table_config table;
	mem_budget budget;
} serve_opts;

static void usage(FILE *f)
{
	fprintf(f, "floe " FLOE_VERSION " — streaming ingestion into Apache Iceberg v3 tables\n"
	           "\n"
	           "usage:\n"
	           "  floe serve DATA_DIR [options]   run the server on DATA_DIR\n"
	           "  floe mirror SRC_URI SCHEMA.TABLE  mirror a PostgreSQL table (asks a running\n"
	           "                                  server; floe mirror --help for options)\n"
	           "  floe version                    print the version\n"
	           "  floe serve --help               the server's options and configuration\n");
}

static void serve_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: floe serve DATA_DIR [--bind ADDR] [--port N] [--config FILE] [--token-file "
	    "PATH]\n"
	    "\n"
	    "Serves the REST API and writes each table as an Iceberg v3 table under\n"
	    "DATA_DIR/<database>/<table>/ (created if missing).\n"
	    "\n"
	    "options:\n"
	    "  --bind ADDR        IPv4 address to listen on (default 127.0.0.1). Any address\n"
	    "                     other than loopback requires a token.\n"
	    "  --port N           TCP port (default 3030; 0 picks a free port, printed at start)\n"
	    "  --config FILE      JSON configuration file (keys below)\n"
	    "  --token-file PATH  bearer token clients must send (Authorization: Bearer ...);\n"
	    "                     also taken from the FLOE_TOKEN environment variable\n"
	    "\n"
	    "configuration keys (JSON object; every key optional):\n"
	    "  bind, port               as the options above (options win)\n"
	    "  commit_interval_ms       commit rows in memory at least this often (default 1000)\n"
	    "  flush_bytes              commit when rows in memory reach this many uncompressed\n"
	    "                           bytes (default 134217728 = 128 MiB); a mirrored table\n"
	    "                           then stages a large transaction's rows in data files\n"
	    "                           no snapshot shows until the transaction is whole\n"
	    "  row_group_bytes          Parquet row group size, uncompressed (default 128 MiB)\n"
	    "  compression              zstd (default), snappy or none\n"
	    "  zstd_level               1..19 (default 3)\n"
	    "  max_body_bytes           largest request body accepted (default 67108864); 413 "
	    "above\n"
	    "  max_table_memory_bytes   rows waiting per table before 429 (default 1 GiB)\n"
	    "  max_memory_bytes         rows waiting in all tables together before 429\n"
	    "                           (default 4 GiB)\n"
	    "  wal_sync                 fsync (default): a 2xx means the rows are on disk;\n"
	    "                           none: skip fdatasync (benchmarks, tests; unsafe)\n"
	    "  wal_segment_bytes        WAL segment file size (default 67108864)\n"
	    "  orphan_grace_seconds     at start, remove data files no snapshot references\n"
	    "                           once they are this old (default 600)\n"
	    "  http_threads             HTTP worker threads (default 8)\n");
}

static int read_token_file(const char *path, char **out, char *err)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc = fs_read_all(path, &data, &len, err);
	if (rc)
		return rc;
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' '))
		data[--len] = 0;
	if (len == 0) {
		free(data);
		return errf(err, FLOE_EINVAL, "--token-file %s: the file is empty", path);
	}
	*out = (char *)data;
	return 0;
}

static int config_size(json_t *v, const char *key, size_t min, size_t *out, char *err)
{
	if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min)
		return errf(err, FLOE_EINVAL, "config %s: must be an integer >= %zu", key, min);
	*out = (size_t)json_integer_value(v);
	return 0;
}

static int load_config(const char *path, serve_opts *o, char *err)
{
	json_error_t jerr;
	json_t *cfg = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	int rc = 0;
	if (!cfg)
		return errf(err, FLOE_EINVAL, "config %s: line %d: %s", path, jerr.line, jerr.text);
	if (!json_is_object(cfg)) {
		rc = errf(err, FLOE_EINVAL, "config %s: must be a JSON object", path);
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(cfg, key, v)
	{
		size_t n = 0;
		if (!strcmp(key, "bind")) {
			if (!json_is_string(v) || strlen(json_string_value(v)) >= sizeof o->bind)
				rc = errf(err, FLOE_EINVAL,
				          "config bind: must be an IPv4 address string");
			else
				snprintf(o->bind, sizeof o->bind, "%s", json_string_value(v));
		} else if (!strcmp(key, "port")) {
			if (!(rc = config_size(v, key, 0, &n, err)))
				o->port = (int)n;
			if (!rc && n > 65535)
				rc = errf(err, FLOE_EINVAL, "config port: must be 0..65535");
		} else if (!strcmp(key, "commit_interval_ms")) {
			if (!(rc = config_size(v, key, 1, &n, err)))
				o->table.commit_interval_ms = n > 86400000 ? 86400000 : (int)n;
		} else if (!strcmp(key, "flush_bytes")) {
			rc = config_size(v, key, 1024, &o->table.flush_bytes, err);
		} else if (!strcmp(key, "row_group_bytes")) {
			rc = config_size(v, key, 1024, &o->table.row_group_bytes, err);
		} else if (!strcmp(key, "max_table_memory_bytes")) {
			rc = config_size(v, key, 1 << 20, &o->table.max_memory_bytes, err);
		} else if (!strcmp(key, "max_memory_bytes")) {
			rc = config_size(v, key, 1 << 20, &o->budget.limit, err);
		} else if (!strcmp(key, "wal_segment_bytes")) {
			rc = config_size(v, key, 4096, &o->table.wal_segment_bytes, err);
		} else if (!strcmp(key, "orphan_grace_seconds")) {
			if (!(rc = config_size(v, key, 0, &n, err)))
				o->table.orphan_grace_s = n > 86400 * 365 ? 86400 * 365 : (int)n;
		} else if (!strcmp(key, "wal_sync")) {
			const char *m = json_string_value(v);
			if (m && !strcmp(m, "fsync"))
				o->table.wal_sync = WAL_SYNC_FSYNC;
			else if (m && !strcmp(m, "none"))
				o->table.wal_sync = WAL_SYNC_NONE;
			else
				rc = errf(err, FLOE_EINVAL,
				          "config wal_sync: must be \"fsync\" or \"none\"");
		} else if (!strcmp(key, "max_body_bytes")) {
			rc = config_size(v, key, 1024, &o->http.max_body_bytes, err);
		} else if (!strcmp(key, "http_threads")) {
			if (!(rc = config_size(v, key, 1, &n, err)))
				o->http.threads = n > 256 ? 256 : (int)n;
		} else if (!strcmp(key, "zstd_level")) {
			if (!(rc = config_size(v, key, 1, &n, err)) && n > 19)
				rc = errf(err, FLOE_EINVAL, "config zstd_level: must be 1..19");
			o->table.zstd_level = (int)n;
		} else if (!strcmp(key, "compression")) {
			const char *c = json_string_value(v);
			if (c && !strcmp(c, "zstd"))
				o->table.codec = PQ_CODEC_ZSTD;
			else if (c && !strcmp(c, "snappy"))
				o->table.codec = PQ_CODEC_SNAPPY;
			else if (c && (!strcmp(c, "none") || !strcmp(c, "uncompressed")))
				o->table.codec = PQ_CODEC_UNCOMPRESSED;
			else
				rc = errf(err, FLOE_EINVAL,
				          "config compression: must be zstd, snappy or none");
		} else {
			rc = errf(err, FLOE_EINVAL,
			          "config %s: unknown key '%s' (see floe serve --help)", path, key);
		}
		if (rc)
			goto out;
	}
out:
	json_decref(cfg);
	return rc;
}

static int parse_serve_args(int argc, char **argv, serve_opts *o, char *err)
{
	const char *config = NULL, *token_file = NULL, *bind = NULL, *port = NULL;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			serve_usage(stdout);
			exit(0);
		}
		const char **slot = !strcmp(a, "--bind")         ? &bind
		                    : !strcmp(a, "--port")       ? &port
		                    : !strcmp(a, "--config")     ? &config
		                    : !strcmp(a, "--token-file") ? &token_file
		                                                 : NULL;
		if (slot) {
			if (i + 1 >= argc)
				return errf(err, FLOE_EINVAL, "%s needs a value", a);
			*slot = argv[++i];
		} else if (a[0] == '-') {
			return errf(err, FLOE_EINVAL, "unknown option %s (see floe serve --help)",
			            a);
		} else if (!o->data_dir) {
			o->data_dir = a;
		} else {
			return errf(err, FLOE_EINVAL, "unexpected argument %s", a);
		}
	}
	if (!o->data_dir)
		return errf(err, FLOE_EINVAL, "missing DATA_DIR (see floe serve --help)");
	int rc;
	if (config && (rc = load_config(config, o, err)))
		return rc;
	if (bind)
		snprintf(o->bind, sizeof o->bind, "%s", bind);
	if (port) {
		char *end;
		long p = strtol(port, &end, 10);
		if (*end || p < 0 || p > 65535)
			return errf(err, FLOE_EINVAL, "--port: '%s' is not a port number", port);
		o->port = (int)p;
	}
	if (token_file && (rc = read_token_file(token_file, &o->token, err)))
		return rc;
	const char *env = getenv("FLOE_TOKEN");
	if (!o->token && env && *env && !(o->token = strdup(env)))
		return errf(err, FLOE_ENOMEM, "out of memory");
	return 0;
}

static void begin_shutdown(void *ctx, floe_table *t)
{
	(void)ctx;
	table_begin_shutdown(t);
}

/* Memory one data file's encoding frees is what the next one needs (the
 * copy's loaders write a file every 64 MiB of rows): keep it in malloc's
 * heaps instead of returning it to the kernel and taking fresh pages again,
 * whose first touch costs ~12 us per 4 KiB page on the development VM
 * (bench/pg_mirror.py's copy: 8.2-9.8 s without, 6.7-7.1 s with). Blocks
 * under 32 MiB come from the heaps, and up to 64 MiB free at a heap's top
 * stay. */
static void keep_freed_memory(void)
{
	if (mallopt(M_MMAP_THRESHOLD, 32 << 20) != 1 || mallopt(M_TRIM_THRESHOLD, 64 << 20) != 1)
		log_debug("mallopt refused the heap thresholds; keeping the defaults");
}

static int serve(int argc, char **argv)
{
	serve_opts o = {.port = 3030};
	char err[ERR_LEN];
	registry *reg = NULL;
	http_server *srv = NULL;
	metrics *m = NULL;
	pgsrc_manager *pg = NULL;
	int rc, exit_code = 1;
	snprintf(o.bind, sizeof o.bind, "127.0.0.1");
	o.http.max_body_bytes = 64u << 20;
	o.http.threads = 8;
	table_config_default(&o.table);
	o.budget.limit = (size_t)4 << 30;
	o.table.budget = &o.budget;
	if ((rc = parse_serve_args(argc, argv, &o, err))) {
		fprintf(stderr, "floe serve: %s\n", err);
		free(o.token);
		return 2;
	}
	keep_freed_memory();
	/* Block the stop signals before any thread starts, so only sigwait sees them. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	signal(SIGPIPE, SIG_IGN);

	o.http.bind = o.bind;
	o.http.port = o.port;
	o.http.token = o.token;
	/* Check the address before touching the data directory. */
	if ((rc = http_check_bind(&o.http, err))) {
		fprintf(stderr, "floe serve: %s\n", err);
		exit_code = 2;
		goto out;
	}
	if ((rc = registry_open(o.data_dir, &o.table, &reg, err))) {
		fprintf(stderr, "floe serve: %s\n", err);
		goto out;
	}
	m = metrics_new();
	if (!m) {
		fprintf(stderr, "floe serve: out of memory\n");
		goto out;
	}
	if ((rc = pgsrc_manager_open(reg, o.data_dir, &pg, err))) {
		fprintf(stderr, "floe serve: %s\n", err);
		goto out;
	}
	api a = {.reg = reg, .metrics = m, .pg = pg};
	if ((rc = http_server_start(&o.http, api_handle, api_observe, &a, &srv, err))) {
		fprintf(stderr, "floe serve: %s\n", err);
		exit_code = rc == FLOE_EINVAL ? 2 : 1;
		goto out;
	}
	log_info("floe %s listening on http://%s:%d (data %s)", FLOE_VERSION, o.bind,
	         http_server_port(srv), registry_root(reg));
	int sig = 0;
	sigwait(&stop, &sig);
	log_info("received %s: finishing requests and committing",
	         sig == SIGINT ? "SIGINT" : "SIGTERM");
	registry_foreach(reg, begin_shutdown, NULL);
	http_server_stop(srv);
	srv = NULL;
	exit_code = 0;
out:
	http_server_stop(srv);
	pgsrc_manager_close(pg); /* commits what the mirrors applied */
	if (registry_close(reg, err)) {
		fprintf(stderr, "floe serve: %s\n", err);
		exit_code = 1;
	} else if (reg && exit_code == 0) {
		log_info("all tables committed; bye");
	}
	metrics_free(m);
	free(o.token);
	return exit_code;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("floe %s\n", FLOE_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "serve"))
		return serve(argc, argv);
	if (!strcmp(argv[1], "mirror"))
		return cli_mirror(argc - 1, argv + 1);
	fprintf(stderr, "floe: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 2;
}
