/*
 * registry — the set of tables one floe server owns, by name, under a data
 * directory laid out as <root>/<database>/<table>/ (one Iceberg table each).
 *
 * Invariants:
 *   1. Names, databases and table names are validated (registry_check_name):
 *      nothing built from them escapes the root.
 *   2. A table handed out by registry_acquire stays valid until the matching
 *      registry_release, even if it is dropped meanwhile: drop removes the
 *      name at once, then waits for the last user before closing the table and
 *      deleting its files.
 *   3. No two tables share a name or a directory.
 * Thread-safe: one mutex guards the name map; table work happens outside it.
 */
#ifndef FLOE_REGISTRY_H
#define FLOE_REGISTRY_H

#include <jansson.h>

#include "table/table.h"

typedef struct registry registry;

/* Opens every table found under root (creating root if needed). A table that
 * fails to load is logged and skipped, never deleted. */
int registry_open(const char *root, const table_config *cfg, registry **out, char *err);
/* Closes every table (committing what is in memory). NULL is a no-op. */
int registry_close(registry *r, char *err);

/* 0 if s is usable as a table name / database / table: 1..255 bytes, no '/',
 * no '\\', no control characters, not "." or "..". `what` names the field in
 * the message. */
int registry_check_name(const char *s, const char *what, char *err);

/* FLOE_EEXIST if the name or directory is taken. On success the new table is
 * acquired (release it). source_driven: see table.h. */
int registry_create(registry *r, const char *name, const char *database, const char *table,
                    const floe_schema *schema, const table_identity *ident, int source_driven,
                    floe_table **out, char *err);
/* NULL if no such table; otherwise the caller must registry_release it. */
floe_table *registry_acquire(registry *r, const char *name);
void registry_release(registry *r, floe_table *t);
int registry_drop(registry *r, const char *name, char *err);
/* Calls fn for every table (acquired for the duration of the call). */
void registry_foreach(registry *r, void (*fn)(void *ctx, floe_table *t), void *ctx);
const char *registry_root(const registry *r);

#endif
