/*
 * metrics — see metrics.h. Routes and error kinds are small fixed sets, so the
 * counters are plain arrays indexed by enum: no allocation while recording.
 */
#include "server/metrics.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const route_names[] = {"ingest", "tables",  "flush",
                                          "health", "metrics", "other"};
#define NROUTES (sizeof route_names / sizeof route_names[0])

/* Upper bounds in seconds; the last bucket is +Inf. */
static const double bucket_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBUCKETS (sizeof bucket_le / sizeof bucket_le[0])

static const struct {
	int status;
	const char *kind;
} error_kinds[] = {
    {400, "bad_request"},          {401, "unauthorized"}, {404, "not_found"},
    {405, "method_not_allowed"},   {409, "conflict"},     {413, "too_large"},
    {429, "backpressure"},         {500, "internal"},     {503, "unavailable"},
    {507, "insufficient_storage"},
};
#define NKINDS (sizeof error_kinds / sizeof error_kinds[0])

struct metrics {
	atomic_uint_fast64_t requests[NROUTES][6]; /* by status class 1xx..5xx (index 1..5) */
	atomic_uint_fast64_t buckets[NROUTES][NBUCKETS + 1];
	atomic_uint_fast64_t sum_ns[NROUTES];
	atomic_uint_fast64_t errors[NKINDS];
};

metrics *metrics_new(void)
{
	return calloc(1, sizeof(metrics));
}

void metrics_free(metrics *m)
{
	free(m);
}

static size_t route_index(const char *route)
{
	for (size_t i = 0; i < NROUTES; i++)
		if (!strcmp(route, route_names[i]))
			return i;
	return NROUTES - 1;
}

void metrics_observe_request(metrics *m, const char *route, int status, long long ns)
{
	size_t r = route_index(route);
	int cls = status / 100;
	if (cls >= 1 && cls <= 5)
		atomic_fetch_add(&m->requests[r][cls], 1);
	double s = (double)ns / 1e9;
	size_t b = 0;
	while (b < NBUCKETS && s > bucket_le[b])
		b++;
	atomic_fetch_add(&m->buckets[r][b], 1);
	atomic_fetch_add(&m->sum_ns[r], (uint64_t)(ns > 0 ? ns : 0));
	if (status >= 400) {
		for (size_t k = 0; k < NKINDS; k++) {
			if (error_kinds[k].status == status) {
				atomic_fetch_add(&m->errors[k], 1);
				break;
			}
		}
	}
}

typedef struct render_ctx {
	buf *out;
	const char *metric;
	int which;
} render_ctx;

/* Prometheus label values escape backslash, double quote and newline. */
static void put_label_value(buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_put_u8(out, '\\');
		if (*s == '\n') {
			buf_append_str(out, "\\n");
			continue;
		}
		buf_put_u8(out, (uint8_t)*s);
	}
}

static void render_table(void *ctx, floe_table *t)
{
	render_ctx *rc = ctx;
	table_stats st;
	table_get_stats(t, &st);
	uint64_t v[] = {st.rows_ingested,
	                st.batches,
	                st.commits,
	                st.commit_failures,
	                st.bytes_written,
	                st.rows_in_memory,
	                st.bytes_in_memory,
	                st.data_files,
	                (uint64_t)st.total_records,
	                st.wal_bytes,
	                st.wal_bytes_appended,
	                (uint64_t)st.read_only,
	                st.wal_records_replayed};
	buf_printf(rc->out, "%s{table=\"", rc->metric);
	put_label_value(rc->out, table_name(t));
	buf_printf(rc->out, "\"} %llu\n", (unsigned long long)v[rc->which]);
}

void metrics_render(metrics *m, registry *reg, buf *out)
{
	static const struct {
		const char *name, *type, *help;
	} table_metrics[] = {
	    {"floe_table_rows_ingested_total", "counter", "Rows accepted by ingest requests."},
	    {"floe_table_batches_total", "counter", "Batches (requests) accepted."},
	    {"floe_table_commits_total", "counter", "Iceberg snapshots committed."},
	    {"floe_table_commit_failures_total", "counter", "Commits that failed."},
	    {"floe_table_bytes_written_total", "counter", "Bytes of data files written."},
	    {"floe_table_rows_in_memory", "gauge", "Rows accepted but not yet committed."},
	    {"floe_table_bytes_pending", "gauge", "Bytes of rows waiting to be committed."},
	    {"floe_table_data_files", "gauge", "Data files in the current snapshot."},
	    {"floe_table_rows", "gauge", "Rows in the current snapshot."},
	    {"floe_table_wal_bytes", "gauge", "Bytes of WAL segments on disk."},
	    {"floe_table_wal_bytes_written_total", "counter", "WAL record bytes appended."},
	    {"floe_table_read_only", "gauge", "1 while the table refuses writes after a failure."},
	    {"floe_table_wal_records_replayed", "gauge", "WAL records replayed at the last start."},
	};
	for (size_t i = 0; i < sizeof table_metrics / sizeof table_metrics[0]; i++) {
		buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", table_metrics[i].name,
		           table_metrics[i].help, table_metrics[i].name, table_metrics[i].type);
		render_ctx rc = {out, table_metrics[i].name, (int)i};
		registry_foreach(reg, render_table, &rc);
	}
	buf_append_str(out,
	               "# HELP floe_http_requests_total HTTP requests by route and status class.\n"
	               "# TYPE floe_http_requests_total counter\n");
	for (size_t r = 0; r < NROUTES; r++)
		for (int c = 1; c <= 5; c++)
			buf_printf(
			    out, "floe_http_requests_total{route=\"%s\",code=\"%dxx\"} %llu\n",
			    route_names[r], c, (unsigned long long)atomic_load(&m->requests[r][c]));
	buf_append_str(out, "# HELP floe_http_errors_total HTTP error responses by kind.\n"
	                    "# TYPE floe_http_errors_total counter\n");
	for (size_t k = 0; k < NKINDS; k++)
		buf_printf(out, "floe_http_errors_total{kind=\"%s\"} %llu\n", error_kinds[k].kind,
		           (unsigned long long)atomic_load(&m->errors[k]));
	buf_append_str(out,
	               "# HELP floe_http_request_duration_seconds HTTP request latency by route.\n"
	               "# TYPE floe_http_request_duration_seconds histogram\n");
	for (size_t r = 0; r < NROUTES; r++) {
		unsigned long long cum = 0;
		for (size_t b = 0; b <= NBUCKETS; b++) {
			cum += atomic_load(&m->buckets[r][b]);
			if (b < NBUCKETS)
				buf_printf(out,
				           "floe_http_request_duration_seconds_bucket{route=\"%s\","
				           "le=\"%g\"} %llu\n",
				           route_names[r], bucket_le[b], cum);
			else
				buf_printf(out,
				           "floe_http_request_duration_seconds_bucket{route=\"%s\","
				           "le=\"+Inf\"} %llu\n",
				           route_names[r], cum);
		}
		buf_printf(out, "floe_http_request_duration_seconds_sum{route=\"%s\"} %.9f\n",
		           route_names[r], (double)atomic_load(&m->sum_ns[r]) / 1e9);
		buf_printf(out, "floe_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
		           route_names[r], cum);
	}
}
