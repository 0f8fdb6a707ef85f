/*
 * metadata — the Iceberg v3 table metadata document (vN.metadata.json) as a
 * jansson tree: the first version of a new table, the checks a loaded
 * document must pass, the next version's bookkeeping, snapshots, properties,
 * and the random ids (table uuid, snapshot ids) that go into it.
 *
 * Owns nothing long-lived: documents belong to the caller (ice_table keeps
 * the current one and edits a deep copy for the next version, so a failed
 * commit leaves the current one untouched).
 * Invariants of every document built here (../shared/spec §1):
 *   1. format-version 3 and every required key: table-uuid, location,
 *      last-sequence-number, last-updated-ms, last-column-id, schemas,
 *      current-schema-id, partition-specs, default-spec-id, last-partition-id,
 *      sort-orders, default-sort-order-id, next-row-id; never the v1 keys.
 *   2. current-snapshot-id is null with no snapshot, else a snapshot in
 *      `snapshots`, and refs.main points at it.
 *   3. snapshot-log and metadata-log are in time order and last-updated-ms is
 *      >= every entry of both (timestamps never go back, even if the clock
 *      does: they are clamped to the previous last-updated-ms).
 *   4. metadata-log keeps at most write.metadata.previous-versions-max
 *      (default 100) entries, dropping the oldest.
 *   5. properties and snapshot summaries hold strings only.
 * One thread per document. Errors: FLOE_EINVAL (a document or argument that
 * breaks the rules, message names the key), FLOE_ENOMEM, FLOE_EIO (no
 * randomness).
 */
#include "base/err.h"
#include "iceberg/table_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define ICE_PREVIOUS_VERSIONS_DEFAULT 100

static int ice_random_bytes(void *p, size_t n, char *err)
{
	uint8_t *b = p;
	while (n > 0) {
		ssize_t r = getrandom(b, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errf(err, FLOE_EIO, "getrandom: %s", strerror(errno));
		}
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Wall-clock milliseconds, but never before doc's last-updated-ms (doc may
 * be NULL): metadata timestamps must not go back when the clock does. */
int64_t ice_meta_now_ms(const json_t *doc)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	const json_t *last = doc ? json_object_get(doc, "last-updated-ms") : NULL;
	if (json_is_integer(last) && json_integer_value(last) > now)
		now = json_integer_value(last);
	return now;
}

int ice_meta_new_uuid(char out[ICE_UUID_LEN], char *err)
{
	uint8_t r[16];
	int rc = ice_random_bytes(r, sizeof r, err);
	if (rc)
		return rc;
	r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* version 4 */
	r[8] = (uint8_t)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, ICE_UUID_LEN,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0], r[1],
	         r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14],
	         r[15]);
	return 0;
}

static const json_t *ice_meta_find_snapshot(const json_t *doc, int64_t id)
{
	size_t i;
	const json_t *s;
	json_array_foreach(json_object_get(doc, "snapshots"), i, s)
	{
		const json_t *sid = json_object_get(s, "snapshot-id");
		if (json_is_integer(sid) && json_integer_value(sid) == id)
			return s;
	}
	return NULL;
}

int ice_meta_new_snapshot_id(const json_t *doc, int64_t *out, char *err)
{
	/* A collision among 2^63 ids is all but impossible; the loop is cheap
	 * insurance that a duplicate id can never be committed. */
	for (;;) {
		uint8_t r[8];
		int rc = ice_random_bytes(r, sizeof r, err);
		if (rc)
			return rc;
		int64_t id = (int64_t)(get_le64(r) & INT64_MAX);
		if (id != 0 && !ice_meta_find_snapshot(doc, id)) {
			*out = id;
			return 0;
		}
	}
}

int ice_meta_check_properties(const json_t *p, const char *what, char *err)
{
	const char *k;
	const json_t *v;
	if (!p)
		return 0;
	if (!json_is_object(p))
		return errf(err, FLOE_EINVAL, "%s must be a JSON object", what);
	json_object_foreach((json_t *)p, k, v)
	{
		if (!json_is_string(v))
			return errf(err, FLOE_EINVAL, "%s: value of '%s' must be a string", what,
			            k);
	}
	return 0;
}

int ice_meta_create(const char *location, const ice_schema *schema, const json_t *properties,
                    int64_t now_ms, json_t **out, char *err)
{
	char uuid[ICE_UUID_LEN];
	json_t *schemas = NULL, *props = NULL;
	int rc;
	if ((rc = ice_meta_check_properties(properties, "table properties", err)) ||
	    (rc = ice_meta_new_uuid(uuid, err)))
		return rc;
	json_t *sj = ice_schema_to_json(schema);
	if (!sj || !(schemas = json_array()) || json_array_append_new(schemas, sj)) {
		if (!schemas)
			json_decref(sj);
		goto fail;
	}
	props = properties ? json_deep_copy(properties) : json_object();
	if (!props)
		goto fail;
	/* Key order as Java's TableMetadataParser writes it. "o" steals the
	 * reference, also when json_pack fails. */
	json_t *doc = json_pack(
	    "{s:i, s:s, s:s, s:I, s:I, s:i, s:i, s:o, s:i, s:[{s:i, s:[]}], s:i, s:i, "
	    "s:[{s:i, s:[]}], s:o, s:n, s:I, s:{}, s:[], s:[], s:[], s:[], s:[]}",
	    "format-version", 3, "table-uuid", uuid, "location", location, "last-sequence-number",
	    (json_int_t)0, "last-updated-ms", (json_int_t)now_ms, "last-column-id",
	    (int)ice_schema_max_field_id(schema), "current-schema-id", (int)schema->schema_id,
	    "schemas", schemas, "default-spec-id", 0, "partition-specs", "spec-id", 0, "fields",
	    "last-partition-id", 999, "default-sort-order-id", 0, "sort-orders", "order-id", 0,
	    "fields", "properties", props, "current-snapshot-id", "next-row-id", (json_int_t)0,
	    "refs", "snapshots", "statistics", "partition-statistics", "snapshot-log",
	    "metadata-log");
	if (!doc)
		return errf(err, FLOE_ENOMEM, "out of memory building table metadata");
	*out = doc;
	return 0;
fail:
	json_decref(schemas);
	json_decref(props);
	return errf(err, FLOE_ENOMEM, "out of memory building table metadata");
}

/* An integer member; FLOE_EINVAL naming it when missing or not an integer. */
static int ice_meta_int(const json_t *o, const char *key, const char *what, int64_t *out, char *err)
{
	const json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return errf(err, FLOE_EINVAL, "%s: \"%s\" is missing or not an integer", what, key);
	*out = json_integer_value(v);
	return 0;
}

static const json_t *ice_meta_find_by_id(const json_t *arr, const char *key, int64_t id)
{
	size_t i;
	const json_t *x;
	json_array_foreach(arr, i, x)
	{
		const json_t *v = json_object_get(x, key);
		if (json_is_integer(v) && json_integer_value(v) == id)
			return x;
	}
	return NULL;
}

static int ice_meta_parse_snapshot(const json_t *doc, ice_meta_view *v, char *err)
{
	const json_t *cur = json_object_get(doc, "current-snapshot-id");
	v->snapshot_id = -1;
	v->snapshot = NULL;
	v->manifest_list = NULL;
	/* Older writers use -1 for "no snapshot"; v3 writes null. */
	if (!cur || json_is_null(cur) || (json_is_integer(cur) && json_integer_value(cur) == -1))
		return 0;
	if (!json_is_integer(cur))
		return errf(err, FLOE_EINVAL,
		            "table metadata: \"current-snapshot-id\" is not an integer");
	int64_t id = json_integer_value(cur);
	const json_t *s = ice_meta_find_snapshot(doc, id);
	if (!s)
		return errf(err, FLOE_EINVAL,
		            "table metadata: current snapshot %lld is not in \"snapshots\"",
		            (long long)id);
	const char *ml = json_string_value(json_object_get(s, "manifest-list"));
	if (!ml)
		return errf(err, FLOE_EINVAL, "snapshot %lld has no \"manifest-list\"",
		            (long long)id);
	int64_t x = 0;
	char what[64];
	snprintf(what, sizeof what, "snapshot %lld", (long long)id);
	int rc;
	if ((rc = ice_meta_int(s, "sequence-number", what, &x, err)) ||
	    (rc = ice_meta_int(s, "timestamp-ms", what, &x, err)))
		return rc;
	if (!json_is_object(json_object_get(s, "summary")))
		return errf(err, FLOE_EINVAL, "%s: \"summary\" is missing", what);
	const json_t *main = json_object_get(json_object_get(doc, "refs"), "main");
	const json_t *main_id = json_object_get(main, "snapshot-id");
	if (main && (!json_is_integer(main_id) || json_integer_value(main_id) != id))
		return errf(err, FLOE_EINVAL,
		            "table metadata: refs.main does not match current-snapshot-id %lld",
		            (long long)id);
	v->snapshot_id = id;
	v->snapshot = s;
	v->manifest_list = ml;
	return 0;
}

int ice_meta_parse(json_t *doc, ice_meta_view *v, char *err)
{
	static const char *const required_ints[] = {"last-column-id", "default-sort-order-id",
	                                            "last-partition-id"};
	static const char *const required_arrays[] = {"schemas", "partition-specs", "sort-orders"};
	const char *what = "table metadata";
	int64_t x = 0, schema_id = 0, spec_id = 0;
	int rc;
	memset(v, 0, sizeof *v);
	if (!json_is_object(doc))
		return errf(err, FLOE_EINVAL, "%s is not a JSON object", what);
	if ((rc = ice_meta_int(doc, "format-version", what, &x, err)))
		return rc;
	if (x != 3)
		return errf(err, FLOE_EINVAL, "%s: format-version %lld is not supported (only 3)",
		            what, (long long)x);
	if (!json_is_string(json_object_get(doc, "table-uuid")))
		return errf(err, FLOE_EINVAL, "%s: \"table-uuid\" is missing", what);
	if (!(v->location = json_string_value(json_object_get(doc, "location"))))
		return errf(err, FLOE_EINVAL, "%s: \"location\" is missing", what);
	if ((rc = ice_meta_int(doc, "last-sequence-number", what, &v->seq, err)) ||
	    (rc = ice_meta_int(doc, "last-updated-ms", what, &v->last_updated_ms, err)) ||
	    (rc = ice_meta_int(doc, "next-row-id", what, &v->next_row_id, err)) ||
	    (rc = ice_meta_int(doc, "current-schema-id", what, &schema_id, err)) ||
	    (rc = ice_meta_int(doc, "default-spec-id", what, &spec_id, err)))
		return rc;
	for (size_t i = 0; i < sizeof required_ints / sizeof required_ints[0]; i++)
		if ((rc = ice_meta_int(doc, required_ints[i], what, &x, err)))
			return rc;
	for (size_t i = 0; i < sizeof required_arrays / sizeof required_arrays[0]; i++)
		if (!json_is_array(json_object_get(doc, required_arrays[i])))
			return errf(err, FLOE_EINVAL, "%s: \"%s\" is missing or not an array", what,
			            required_arrays[i]);
	if (v->seq < 0 || v->next_row_id < 0)
		return errf(err, FLOE_EINVAL, "%s: negative last-sequence-number or next-row-id",
		            what);
	v->schema = ice_meta_find_by_id(json_object_get(doc, "schemas"), "schema-id", schema_id);
	if (!v->schema)
		return errf(err, FLOE_EINVAL, "%s: current schema %lld is not in \"schemas\"", what,
		            (long long)schema_id);
	/* floe writes unpartitioned manifests (spec 0): refuse a table that a
	 * foreign writer partitioned rather than corrupt it. */
	const json_t *spec =
	    ice_meta_find_by_id(json_object_get(doc, "partition-specs"), "spec-id", spec_id);
	if (!spec || json_array_size(json_object_get(spec, "fields")) != 0)
		return errf(err, FLOE_EINVAL, "%s: partitioned tables are not supported", what);
	json_t *props = json_object_get(doc, "properties");
	if (!props) {
		/* Optional in the spec; keep one so callers always get an object. */
		if (json_object_set_new(doc, "properties", json_object()))
			return errf(err, FLOE_ENOMEM, "out of memory");
		props = json_object_get(doc, "properties");
	}
	if ((rc = ice_meta_check_properties(props, "table metadata \"properties\"", err)))
		return rc;
	v->properties = props;
	return ice_meta_parse_snapshot(doc, v, err);
}

/* Appends o (stolen) to the array doc[key], creating the array if needed. */
static int ice_meta_append(json_t *doc, const char *key, json_t *o)
{
	json_t *arr = json_object_get(doc, key);
	if (!o)
		return -1;
	if (!json_is_array(arr)) {
		if (json_object_set_new(doc, key, json_array())) {
			json_decref(o);
			return -1;
		}
		arr = json_object_get(doc, key);
	}
	return json_array_append_new(arr, o);
}

static int ice_meta_previous_versions_max(const json_t *doc)
{
	const char *s = json_string_value(json_object_get(json_object_get(doc, "properties"),
	                                                  "write.metadata.previous-versions-max"));
	if (!s)
		return ICE_PREVIOUS_VERSIONS_DEFAULT;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v > 1000000)
		return ICE_PREVIOUS_VERSIONS_DEFAULT;
	return v < 1 ? 1 : (int)v; /* like Java: at least one entry */
}

int ice_meta_next(const ice_table *t, int64_t now_ms, json_t **out, char *err)
{
	char file[ICE_PATH_MAX];
	int n =
	    snprintf(file, sizeof file, "%s/metadata/v%d.metadata.json", t->location, t->version);
	if (n < 0 || (size_t)n >= sizeof file)
		return errf(err, FLOE_EINVAL, "table location too long: %s", t->location);
	json_t *doc = json_deep_copy(t->doc);
	if (!doc)
		goto fail;
	if (now_ms < t->view.last_updated_ms)
		now_ms = t->view.last_updated_ms;
	if (json_object_set_new(doc, "last-updated-ms", json_integer(now_ms)))
		goto fail;
	json_t *entry = json_pack("{s:I, s:s}", "timestamp-ms", (json_int_t)t->view.last_updated_ms,
	                          "metadata-file", file);
	if (ice_meta_append(doc, "metadata-log", entry))
		goto fail;
	json_t *log = json_object_get(doc, "metadata-log");
	size_t max = (size_t)ice_meta_previous_versions_max(doc);
	while (json_array_size(log) > max)
		if (json_array_remove(log, 0))
			goto fail;
	*out = doc;
	return 0;
fail:
	json_decref(doc);
	return errf(err, FLOE_ENOMEM, "out of memory building table metadata");
}

int ice_meta_add_snapshot(json_t *doc, ice_meta_snapshot *s, char *err)
{
	json_t *snap = NULL;
	json_t *summary = s->summary;
	s->summary = NULL;
	if (!summary)
		goto fail;
	/* Field order as Java's SnapshotParser writes it. */
	snap = json_pack("{s:I, s:I}", "sequence-number", (json_int_t)s->seq, "snapshot-id",
	                 (json_int_t)s->snapshot_id);
	if (!snap || (s->parent_id >= 0 &&
	              json_object_set_new(snap, "parent-snapshot-id", json_integer(s->parent_id))))
		goto fail;
	if (json_object_set_new(snap, "timestamp-ms", json_integer(s->timestamp_ms)))
		goto fail;
	/* json_object_set_new consumes the value even when it fails. */
	int rc = json_object_set_new(snap, "summary", summary);
	summary = NULL;
	if (rc)
		goto fail;
	if (json_object_set_new(snap, "manifest-list", json_string(s->manifest_list)) ||
	    json_object_set_new(snap, "schema-id", json_integer(s->schema_id)) ||
	    json_object_set_new(snap, "first-row-id", json_integer(s->first_row_id)) ||
	    json_object_set_new(snap, "added-rows", json_integer(s->added_rows)))
		goto fail;
	json_t *main =
	    json_pack("{s:I, s:s}", "snapshot-id", (json_int_t)s->snapshot_id, "type", "branch");
	json_t *refs = json_object_get(doc, "refs");
	if (!json_is_object(refs)) {
		if (json_object_set_new(doc, "refs", json_object())) {
			json_decref(main);
			goto fail;
		}
		refs = json_object_get(doc, "refs");
	}
	if (json_object_set_new(refs, "main", main))
		goto fail;
	json_t *log = json_pack("{s:I, s:I}", "timestamp-ms", (json_int_t)s->timestamp_ms,
	                        "snapshot-id", (json_int_t)s->snapshot_id);
	if (ice_meta_append(doc, "snapshot-log", log))
		goto fail;
	rc = ice_meta_append(doc, "snapshots", snap);
	snap = NULL; /* consumed either way */
	if (rc)
		goto fail;
	const json_t *last = json_object_get(doc, "last-updated-ms");
	if ((json_is_integer(last) && json_integer_value(last) < s->timestamp_ms &&
	     json_object_set_new(doc, "last-updated-ms", json_integer(s->timestamp_ms))) ||
	    json_object_set_new(doc, "current-snapshot-id", json_integer(s->snapshot_id)) ||
	    json_object_set_new(doc, "last-sequence-number", json_integer(s->seq)) ||
	    json_object_set_new(doc, "next-row-id", json_integer(s->first_row_id + s->added_rows)))
		goto fail;
	return 0;
fail:
	json_decref(summary);
	json_decref(snap);
	return errf(err, FLOE_ENOMEM, "out of memory adding a snapshot to table metadata");
}

int ice_meta_add_schema(json_t *doc, ice_schema *schema, char *err)
{
	json_t *schemas = json_object_get(doc, "schemas");
	json_t *last = json_object_get(doc, "last-column-id");
	if (!json_is_array(schemas) || !json_is_integer(last))
		return errf(err, FLOE_EINVAL, "table metadata has no schemas or last-column-id");
	/* Schema ids are never reused: the new one is above every existing id. */
	int64_t next_id = 0;
	size_t i;
	json_t *s;
	json_array_foreach(schemas, i, s)
	{
		json_t *id = json_object_get(s, "schema-id");
		if (json_is_integer(id) && json_integer_value(id) >= next_id)
			next_id = json_integer_value(id) + 1;
	}
	schema->schema_id = (int32_t)next_id;
	int64_t last_col = json_integer_value(last);
	if (ice_schema_max_field_id(schema) > last_col)
		last_col = ice_schema_max_field_id(schema);
	json_t *sj = ice_schema_to_json(schema);
	if (!sj || json_array_append_new(schemas, sj) ||
	    json_object_set_new(doc, "current-schema-id", json_integer(next_id)) ||
	    json_object_set_new(doc, "last-column-id", json_integer(last_col)))
		return errf(err, FLOE_ENOMEM, "out of memory adding a schema");
	return 0;
}

int ice_meta_update_properties(json_t *doc, const json_t *changes, char *err)
{
	const char *k;
	json_t *v;
	if (!json_is_object(changes))
		return errf(err, FLOE_EINVAL, "properties must be a JSON object");
	json_object_foreach((json_t *)changes, k, v)
	{
		if (!json_is_string(v) && !json_is_null(v))
			return errf(err, FLOE_EINVAL,
			            "property '%s': value must be a string (or null to remove it)",
			            k);
	}
	json_t *props = json_object_get(doc, "properties");
	if (!json_is_object(props))
		return errf(err, FLOE_EINVAL, "table metadata has no properties object");
	json_object_foreach((json_t *)changes, k, v)
	{
		int rc = json_is_null(v) ? (json_object_del(props, k), 0)
		                         : json_object_set_new(props, k, json_copy(v));
		if (rc)
			return errf(err, FLOE_ENOMEM, "out of memory setting property '%s'", k);
	}
	return 0;
}
