/*
 * api — request routing and handlers (routes in api.h).
 *
 * Every handler validates the whole request before changing anything: create
 * builds the complete schema first, ingest parses every row into a private
 * batch first. A table is acquired from the registry for the length of one
 * request, so a concurrent DELETE waits for it.
 */
#include "server/api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "base/log.h"
#include "server/identity.h"
#include "server/ingest_json.h"

#define FLOE_VERSION "0.1.0"

static int status_of(int code)
{
	switch (code) {
	case FLOE_EINVAL:
		return 400;
	case FLOE_EPERM:
		return 403;
	case FLOE_ENOTFOUND:
		return 404;
	case FLOE_EEXIST:
		return 409;
	case FLOE_ETOOBIG:
		return 413;
	case FLOE_EBUSY:
		return 429;
	case FLOE_ENOSPC:
		return 507;
	case FLOE_ENOMEM:
	case FLOE_EIO:
		return 503;
	default:
		return 500;
	}
}

static void fail_with(http_response *resp, int code, const char *msg)
{
	http_error(resp, status_of(code), msg);
	if (code == FLOE_EBUSY || code == FLOE_ENOMEM || code == FLOE_ENOSPC || code == FLOE_EIO)
		resp->retry_after = 1;
}

static void reply_json(http_response *resp, int status, json_t *j)
{
	resp->status = status;
	buf_reset(&resp->body);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s) {
		http_error(resp, 503, "out of memory");
		return;
	}
	buf_append_str(&resp->body, s);
	free(s);
}

/* Splits "/tables/{name}[/rest]" into name and rest; 0 if prefix matches. */
static int match_prefix(const char *path, const char *prefix, char *name, size_t cap,
                        const char **rest)
{
	size_t n = strlen(prefix);
	if (strncmp(path, prefix, n) != 0)
		return -1;
	const char *p = path + n;
	const char *slash = strchr(p, '/');
	size_t len = slash ? (size_t)(slash - p) : strlen(p);
	if (len >= cap)
		len = cap - 1; /* over-long names fail registry_check_name below */
	memcpy(name, p, len);
	name[len] = '\0';
	*rest = slash ? slash : "";
	return 0;
}

static json_t *parse_body(const http_request *req, http_response *resp)
{
	json_error_t jerr;
	if (req->body_len == 0) {
		http_error(resp, 400, "request body is empty; expected a JSON object");
		return NULL;
	}
	json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j) {
		char msg[ERR_LEN];
		snprintf(msg, sizeof msg, "malformed JSON at byte %d: %s", jerr.position,
		         jerr.text);
		http_error(resp, 400, msg);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		http_error(resp, 400, "request body must be a JSON object");
		return NULL;
	}
	return j;
}

/* Checks that obj has only the listed keys; names the first other one. */
static int only_keys(const json_t *obj, const char *where, const char *const *keys, char *err)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
	{
		int known = 0;
		for (const char *const *p = keys; *p; p++)
			known |= !strcmp(*p, k);
		if (!known)
			return errf(err, FLOE_EINVAL, "%s: unknown field '%s'", where, k);
	}
	return 0;
}

/* Column names reach Parquet, Avro and every reader's SQL: any UTF-8 text
 * except control characters, at most 255 bytes. */
static int check_column_name(const char *name, const char *where, char *err)
{
	size_t n = strlen(name);
	if (n > 255)
		return errf(err, FLOE_EINVAL, "%s.name: longer than 255 bytes", where);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return errf(err, FLOE_EINVAL,
			            "%s.name: must not contain control characters", where);
	return 0;
}

static int parse_schema(const json_t *arr, floe_schema *out, char *err)
{
	static const char *const col_keys[] = {"name", "data_type", "nullable", "primary_key",
	                                       NULL};
	memset(out, 0, sizeof *out);
	if (!json_is_array(arr))
		return errf(err, FLOE_EINVAL, "schema: must be an array of columns");
	size_t n = json_array_size(arr);
	if (n == 0)
		return errf(err, FLOE_EINVAL, "schema: a table needs at least one column");
	if (n > 10000)
		return errf(err, FLOE_EINVAL, "schema: %zu columns is over the limit of 10000", n);
	int rc = 0;
	out->cols = calloc(n, sizeof *out->cols);
	if (!out->cols)
		return errf(err, FLOE_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const json_t *c = json_array_get(arr, i);
		char where[64];
		snprintf(where, sizeof where, "schema[%zu]", i);
		if (!json_is_object(c)) {
			rc = errf(err, FLOE_EINVAL, "%s: must be an object", where);
			goto fail;
		}
		if ((rc = only_keys(c, where, col_keys, err)))
			goto fail;
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *type = json_string_value(json_object_get(c, "data_type"));
		const json_t *nullable = json_object_get(c, "nullable");
		if (!name || !*name) {
			rc = errf(err, FLOE_EINVAL, "%s.name: missing or not a non-empty string",
			          where);
			goto fail;
		}
		if ((rc = check_column_name(name, where, err)))
			goto fail;
		if (!type) {
			rc = errf(err, FLOE_EINVAL, "%s.data_type: missing or not a string", where);
			goto fail;
		}
		if (nullable && !json_is_boolean(nullable)) {
			rc = errf(err, FLOE_EINVAL, "%s.nullable: must be true or false", where);
			goto fail;
		}
		for (int j = 0; j < out->ncols; j++) {
			if (!strcasecmp(out->cols[j].name, name)) {
				rc =
				    errf(err, FLOE_EINVAL,
				         "%s.name: duplicate column name '%s' (same as schema[%d])",
				         where, name, j);
				goto fail;
			}
		}
		floe_column *col = &out->cols[out->ncols];
		char terr[ERR_LEN];
		if (coltype_parse(type, col, terr)) {
			rc = errf(err, FLOE_EINVAL, "%s.data_type: %s", where, terr);
			goto fail;
		}
		col->name = strdup(name);
		if (!col->name) {
			rc = errf(err, FLOE_ENOMEM, "out of memory");
			goto fail;
		}
		col->nullable = nullable ? json_is_true(nullable) : 1;
		out->ncols++;
	}
	return 0;
fail:
	floe_schema_clear(out);
	return rc;
}

/* table_config: {}, {"row_identity": {...}}, moonlink's {"mooncake": {...}}
 * (identity.h has their meaning). */
static int check_table_config(const json_t *cfg, char *err)
{
	static const char *const cfg_keys[] = {"mooncake", "row_identity", NULL};
	static const char *const mc_keys[] = {"append_only", "row_identity", NULL};
	if (!cfg || json_is_null(cfg))
		return 0;
	if (!json_is_object(cfg))
		return errf(err, FLOE_EINVAL, "table_config: must be an object");
	int rc = only_keys(cfg, "table_config", cfg_keys, err);
	const json_t *mc = json_object_get(cfg, "mooncake");
	if (rc || !mc)
		return rc;
	if (!json_is_object(mc))
		return errf(err, FLOE_EINVAL, "table_config.mooncake: must be an object");
	if ((rc = only_keys(mc, "table_config.mooncake", mc_keys, err)))
		return rc;
	const json_t *ao = json_object_get(mc, "append_only");
	if (ao && !json_is_boolean(ao))
		return errf(err, FLOE_EINVAL,
		            "table_config.mooncake.append_only: must be a boolean");
	return 0;
}

static void handle_create(api *a, const char *name, const http_request *req, http_response *resp)
{
	static const char *const keys[] = {"database", "table", "schema", "table_config", NULL};
	char err[ERR_LEN];
	floe_schema schema = {0};
	json_t *body = parse_body(req, resp);
	if (!body)
		return;
	int rc = only_keys(body, "body", keys, err);
	const char *db = json_string_value(json_object_get(body, "database"));
	const char *tn = json_string_value(json_object_get(body, "table"));
	if (rc == 0 && !db)
		rc = errf(err, FLOE_EINVAL, "database: missing or not a string");
	if (rc == 0 && !tn)
		rc = errf(err, FLOE_EINVAL, "table: missing or not a string");
	if (rc == 0)
		rc = check_table_config(json_object_get(body, "table_config"), err);
	if (rc == 0)
		rc = parse_schema(json_object_get(body, "schema"), &schema, err);
	table_identity ident;
	if (rc == 0)
		rc = identity_parse(json_object_get(body, "schema"),
		                    json_object_get(body, "table_config"), &schema, &ident, err);
	floe_table *t = NULL;
	if (rc == 0)
		rc = registry_create(a->reg, name, db, tn, &schema, &ident, 0, &t, err);
	if (rc) {
		fail_with(resp, rc, err);
	} else {
		reply_json(resp, 200,
		           json_pack("{s:s,s:s,s:s,s:I,s:s+}", "name", name, "database", db,
		                     "table", tn, "lsn", (json_int_t)0, "location", "file://",
		                     table_dir(t)));
		registry_release(a->reg, t);
	}
	floe_schema_clear(&schema);
	json_decref(body);
}

static void handle_ingest(api *a, floe_table *t, const http_request *req, http_response *resp)
{
	char err[ERR_LEN];
	batch *rows = calloc(1, sizeof *rows);
	int rc;
	if (!rows || batch_init(rows, table_schema(t))) {
		free(rows);
		http_error(resp, 503, "out of memory");
		return;
	}
	ingest_request ir = {.rows = rows};
	rc = ingest_parse(req->body, req->body_len, table_schema(t), &ir, err);
	static const int op_of[] = {[INGEST_INSERT] = TABLE_OP_INSERT,
	                            [INGEST_UPSERT] = TABLE_OP_UPSERT,
	                            [INGEST_UPDATE] = TABLE_OP_UPDATE,
	                            [INGEST_DELETE] = TABLE_OP_DELETE};
	size_t nrows = rows->nrows;
	submit_result res = {0};
	int taken = 0;
	if (rc == 0)
		rc = table_submit(t, op_of[ir.op], rows, ir.sync, &res, &taken, err);
	if (!taken) {
		batch_clear(rows);
		free(rows);
	}
	if (rc) {
		fail_with(resp, rc, err);
		return;
	}
	(void)a;
	json_t *out =
	    json_pack("{s:s,s:s,s:I,s:I}", "table", table_name(t), "operation",
	              ingest_op_name(ir.op), "lsn", (json_int_t)res.lsn, "rows", (json_int_t)nrows);
	if (out && ir.op == INGEST_DELETE)
		json_object_set_new(out, "deleted", json_integer((json_int_t)res.deleted));
	reply_json(resp, 200, out);
}

/* POST /tables/{name}/from_postgres (moonlink's route): mirror a PostgreSQL
 * table. */
static void handle_from_postgres(api *a, const char *name, const http_request *req,
                                 http_response *resp)
{
	static const char *const keys[] = {"database",       "table",        "src_uri",
	                                   "src_table_name", "table_config", NULL};
	static const char *const required[] = {"database", "table", "src_uri", "src_table_name",
	                                       NULL};
	char err[ERR_LEN];
	json_t *reply = NULL;
	json_t *body = parse_body(req, resp);
	if (!body)
		return;
	int rc = only_keys(body, "body", keys, err);
	for (const char *const *k = required; rc == 0 && *k; k++)
		if (!json_is_string(json_object_get(body, *k)))
			rc = errf(err, FLOE_EINVAL, "%s: missing or not a string", *k);
	if (rc == 0)
		rc = pgsrc_mirror(a->pg, name, json_string_value(json_object_get(body, "database")),
		                  json_string_value(json_object_get(body, "table")),
		                  json_string_value(json_object_get(body, "src_uri")),
		                  json_string_value(json_object_get(body, "src_table_name")),
		                  json_object_get(body, "table_config"), &reply, err);
	if (rc)
		fail_with(resp, rc == FLOE_EBUSY ? FLOE_EINVAL : rc, err);
	else
		reply_json(resp, 201, reply);
	json_decref(body);
}

static json_t *describe_table(api *a, floe_table *t, int brief)
{
	json_t *o = table_describe(t, brief);
	json_t *src = a->pg ? pgsrc_describe(a->pg, table_name(t)) : NULL;
	if (o && src)
		json_object_set_new(o, "source", src);
	else
		json_decref(src);
	return o;
}

typedef struct list_ctx {
	api *a;
	json_t *arr;
} list_ctx;

static void handle_tables_list(void *ctx, floe_table *t)
{
	list_ctx *l = ctx;
	json_array_append_new(l->arr, describe_table(l->a, t, 1));
}

static const char *route_of(const char *path)
{
	if (!strncmp(path, "/ingest/", 8))
		return "ingest";
	if (!strncmp(path, "/tables", 7))
		return strstr(path + 7, "/flush") ? "flush" : "tables";
	if (!strcmp(path, "/health"))
		return "health";
	if (!strcmp(path, "/metrics"))
		return "metrics";
	return "other";
}

void api_observe(void *ctx, const http_request *req, int status, long long ns)
{
	api *a = ctx;
	metrics_observe_request(a->metrics, route_of(req->path ? req->path : ""), status, ns);
}

static void method_not_allowed(http_response *resp, const http_request *req, const char *allowed)
{
	char msg[256];
	snprintf(msg, sizeof msg, "method %s is not allowed on %s (allowed: %s)", req->method,
	         req->path, allowed);
	http_error(resp, 405, msg);
}

/* Routes under /tables/{name} and /ingest/{name}, with the table acquired. */
static void handle_table_route(api *a, const char *name, const char *rest, int ingest,
                               const http_request *req, http_response *resp)
{
	char err[ERR_LEN];
	int rc = registry_check_name(name, "table name", err);
	if (rc) {
		http_error(resp, 400, err);
		return;
	}
	int is_post = !strcmp(req->method, "POST");
	if (!ingest && !*rest && is_post) {
		handle_create(a, name, req, resp);
		return;
	}
	if (!ingest && !strcmp(rest, "/from_postgres")) {
		if (is_post)
			handle_from_postgres(a, name, req, resp);
		else
			method_not_allowed(resp, req, "POST");
		return;
	}
	if (!ingest && !*rest && !strcmp(req->method, "DELETE")) {
		/* A mirror stops (and gives back its slot) before its table goes. */
		if (a->pg && (rc = pgsrc_unmirror(a->pg, name, err)) && rc != FLOE_ENOTFOUND)
			fail_with(resp, rc, err);
		else if ((rc = registry_drop(a->reg, name, err)))
			fail_with(resp, rc, err);
		else
			reply_json(resp, 200, json_pack("{s:s}", "name", name));
		return;
	}
	if ((ingest && *rest) || (!ingest && *rest && strcmp(rest, "/flush") != 0)) {
		http_error(resp, 404, "no such route");
		return;
	}
	floe_table *t = registry_acquire(a->reg, name);
	if (!t) {
		char msg[ERR_LEN];
		snprintf(msg, sizeof msg, "table '%s' does not exist", name);
		http_error(resp, 404, msg);
		return;
	}
	if (ingest) {
		if (is_post)
			handle_ingest(a, t, req, resp);
		else
			method_not_allowed(resp, req, "POST");
	} else if (*rest) { /* /flush */
		int64_t snap = -1;
		if (!is_post)
			method_not_allowed(resp, req, "POST");
		else if ((rc = table_flush(t, &snap, err)))
			fail_with(resp, rc, err);
		else
			reply_json(resp, 200,
			           json_pack("{s:s,s:o}", "table", name, "snapshot_id",
			                     snap >= 0 ? json_integer(snap) : json_null()));
	} else if (!strcmp(req->method, "GET")) {
		reply_json(resp, 200, describe_table(a, t, 0));
	} else {
		method_not_allowed(resp, req, "GET, POST, DELETE");
	}
	registry_release(a->reg, t);
}

void api_handle(void *ctx, const http_request *req, http_response *resp)
{
	api *a = ctx;
	char name[300];
	const char *rest;
	const char *path = req->path;
	if (!strcmp(path, "/health")) {
		reply_json(resp, 200,
		           json_pack("{s:s,s:s,s:s,s:I}", "service", "floe", "status", "healthy",
		                     "version", FLOE_VERSION, "timestamp",
		                     (json_int_t)(now_ms() / 1000)));
	} else if (!strcmp(path, "/metrics")) {
		resp->status = 200;
		resp->content_type = "text/plain; version=0.0.4";
		metrics_render(a->metrics, a->reg, &resp->body);
		if (a->pg)
			pgsrc_metrics(a->pg, &resp->body);
	} else if (!strcmp(path, "/tables") || !strcmp(path, "/tables/")) {
		if (strcmp(req->method, "GET") != 0) {
			method_not_allowed(resp, req, "GET");
			return;
		}
		list_ctx l = {.a = a, .arr = json_array()};
		registry_foreach(a->reg, handle_tables_list, &l);
		reply_json(resp, 200, json_pack("{s:o}", "tables", l.arr));
	} else if (!match_prefix(path, "/tables/", name, sizeof name, &rest)) {
		handle_table_route(a, name, rest, 0, req, resp);
	} else if (!match_prefix(path, "/ingest/", name, sizeof name, &rest)) {
		handle_table_route(a, name, rest, 1, req, resp);
	} else {
		char msg[ERR_LEN];
		snprintf(msg, sizeof msg, "no route for %s %.200s", req->method, path);
		http_error(resp, 404, msg);
	}
}
