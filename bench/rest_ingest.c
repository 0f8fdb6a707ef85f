/*
 * rest_ingest — sustained POST /ingest throughput and latency against a
 * running floe, with DuckDB's JSON reader on the same rows as the peer.
 *
 *   rest_ingest --port P [--table T] [--clients 4] [--seconds 10] [--batch 1000]
 *
 * Each client thread keeps one HTTP/1.1 keep-alive connection and sends
 * batches of `batch` rows (id int64, name string, score float64, ts timestamp,
 * flag boolean) with unique ids; it records each request's latency. Then the
 * same rows, as newline-delimited JSON, are loaded by DuckDB
 * (CREATE TABLE AS SELECT * FROM read_json(...)) in this process, and the
 * ratio of rows/s is printed. The table must exist with that schema.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "duckdb.h"

static int port = 3030, nclients = 4, seconds = 10, batch_rows = 1000;
static const char *table = "bench";
static atomic_long next_id;
static atomic_int stop_flag;

typedef struct client {
	pthread_t th;
	long requests, rows, errors;
	long long body_bytes; /* JSON bytes of the rows in accepted requests */
	double *lat_ms;
	size_t nlat, caplat;
} client;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void make_rows(buf *b, long first, int n, int ndjson)
{
	for (int i = 0; i < n; i++) {
		long id = first + i;
		if (!ndjson && i > 0)
			buf_put_u8(b, ',');
		buf_printf(b,
		           "{\"id\":%ld,\"name\":\"user-%ld\",\"score\":%ld.25,\"ts\":\"2024-03-"
		           "01T12:%02ld:%02ld.123456\",\"flag\":%s}",
		           id, id, id % 1000, (id / 60) % 60, id % 60, id % 2 ? "true" : "false");
		if (ndjson)
			buf_put_u8(b, '\n');
	}
}

static int connect_local(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads one response; returns the status code or -1. */
static int read_response(int fd, char *scratch, size_t cap)
{
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, scratch + got, cap - 1 - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
		scratch[got] = 0;
		char *hdr_end = strstr(scratch, "\r\n\r\n");
		if (!hdr_end)
			continue;
		char *cl = strcasestr(scratch, "Content-Length:");
		size_t body = cl ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
		if (got >= (size_t)(hdr_end + 4 - scratch) + body)
			return atoi(scratch + 9);
	}
}

static void *client_main(void *arg)
{
	client *c = arg;
	buf body = {0}, req = {0};
	char scratch[65536];
	int fd = connect_local();
	while (fd >= 0 && !atomic_load(&stop_flag)) {
		long first = atomic_fetch_add(&next_id, batch_rows);
		buf_reset(&body);
		buf_append_str(&body, "{\"operation\":\"insert\",\"data\":[");
		make_rows(&body, first, batch_rows, 0);
		buf_append_str(&body, "]}");
		buf_reset(&req);
		buf_printf(&req,
		           "POST /ingest/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
		           "application/json\r\nContent-Length: %zu\r\n\r\n",
		           table, body.len);
		buf_append(&req, body.data, body.len);
		double t0 = now_s();
		size_t off = 0;
		while (off < req.len) {
			ssize_t w = write(fd, req.data + off, req.len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		int status = read_response(fd, scratch, sizeof scratch);
		double ms = (now_s() - t0) * 1000;
		if (status == 200) {
			c->requests++;
			c->rows += batch_rows;
			c->body_bytes += (long long)body.len;
		} else {
			c->errors++;
			if (status < 0) {
				close(fd);
				fd = connect_local();
			}
			if (status == 429)
				usleep(10000);
		}
		if (c->nlat == c->caplat) {
			c->caplat = c->caplat ? c->caplat * 2 : 4096;
			c->lat_ms = realloc(c->lat_ms, c->caplat * sizeof *c->lat_ms);
		}
		c->lat_ms[c->nlat++] = ms;
	}
	if (fd >= 0)
		close(fd);
	buf_release(&body);
	buf_release(&req);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* DuckDB peer: the same rows as NDJSON, parsed and loaded into a table. */
static double duckdb_rows_per_s(long nrows, double *secs_out)
{
	char path[] = "/tmp/floe-bench-XXXXXX.json";
	int fd = mkstemps(path, 5);
	buf b = {0};
	for (long first = 0; first < nrows; first += 100000) {
		buf_reset(&b);
		make_rows(&b, first, (int)(nrows - first < 100000 ? nrows - first : 100000), 1);
		if (write(fd, b.data, b.len) != (ssize_t)b.len)
			return -1;
	}
	close(fd);
	buf_release(&b);
	duckdb_database db;
	duckdb_connection con;
	duckdb_open(NULL, &db);
	duckdb_connect(db, &con);
	duckdb_query(con, "SET autoinstall_known_extensions=false", NULL);
	char sql[512];
	snprintf(sql, sizeof sql,
	         "CREATE TABLE t AS SELECT * FROM read_json('%s', format='newline_delimited', "
	         "columns={id:'BIGINT', name:'VARCHAR', score:'DOUBLE', ts:'TIMESTAMP', "
	         "flag:'BOOLEAN'})",
	         path);
	double t0 = now_s();
	duckdb_result res;
	if (duckdb_query(con, sql, &res) != DuckDBSuccess)
		fprintf(stderr, "duckdb: %s\n", duckdb_result_error(&res));
	double secs = now_s() - t0;
	duckdb_destroy_result(&res);
	duckdb_disconnect(&con);
	duckdb_close(&db);
	unlink(path);
	*secs_out = secs;
	return (double)nrows / secs;
}

int main(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			port = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--table"))
			table = argv[i + 1];
		else if (!strcmp(argv[i], "--clients"))
			nclients = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--batch"))
			batch_rows = atoi(argv[i + 1]);
	}
	client *cs = calloc((size_t)nclients, sizeof *cs);
	double t0 = now_s();
	for (int i = 0; i < nclients; i++)
		pthread_create(&cs[i].th, NULL, client_main, &cs[i]);
	sleep((unsigned)seconds);
	atomic_store(&stop_flag, 1);
	long rows = 0, reqs = 0, errs = 0;
	long long body_bytes = 0;
	size_t nlat = 0;
	for (int i = 0; i < nclients; i++) {
		pthread_join(cs[i].th, NULL);
		rows += cs[i].rows;
		reqs += cs[i].requests;
		errs += cs[i].errors;
		body_bytes += cs[i].body_bytes;
		nlat += cs[i].nlat;
	}
	double secs = now_s() - t0;
	double *all = malloc((nlat ? nlat : 1) * sizeof *all);
	size_t k = 0;
	for (int i = 0; i < nclients; i++) {
		memcpy(all + k, cs[i].lat_ms, cs[i].nlat * sizeof *all);
		k += cs[i].nlat;
		free(cs[i].lat_ms);
	}
	qsort(all, nlat, sizeof *all, cmp_double);
	double p50 = nlat ? all[nlat / 2] : 0, p99 = nlat ? all[(size_t)((double)nlat * 0.99)] : 0;
	double floe_rps = (double)rows / secs;
	double dsecs = 0;
	double duck_rps = duckdb_rows_per_s(rows > 0 ? rows : 1000, &dsecs);
	printf("rest_ingest: %d clients x %d-row batches for %.1f s\n", nclients, batch_rows, secs);
	printf("  floe   POST /ingest : %10.0f rows/s  (%ld requests, %ld errors, p50 %.2f ms, p99 "
	       "%.2f ms)\n",
	       floe_rps, reqs, errs, p50, p99);
	printf("  duckdb read_json    : %10.0f rows/s  (same %ld rows as NDJSON, %.2f s)\n",
	       duck_rps, rows, dsecs);
	printf("  ratio floe/duckdb   : %10.2f\n", floe_rps / duck_rps);
	printf("RESULT rest_ingest rows_per_s=%.0f p50_ms=%.3f p99_ms=%.3f duckdb_rows_per_s=%.0f "
	       "ratio=%.3f errors=%ld json_bytes_per_row=%.1f\n",
	       floe_rps, p50, p99, duck_rps, floe_rps / duck_rps, errs,
	       rows ? (double)body_bytes / (double)rows : 0.0);
	free(all);
	free(cs);
	return errs > 0 && rows == 0;
}
