/*
 * liveset — the live files of a table's current snapshot, by path: which
 * manifest holds each one and which deletion vector (DV) applies to each data
 * file. The commit uses it to check removals and new DVs and to find the
 * manifests it must rewrite without reading every manifest of the table.
 *
 * Invariants:
 *   1. A path is in the set at most once.
 *   2. For a data file, `dv` is the path of a live DV in the set whose `ref`
 *      names it, or NULL; a data file has at most one DV (ice_live_add fails
 *      with FLOE_EEXIST otherwise).
 * The set is a cache: the table rebuilds it from the manifests when it is
 * missing. One thread at a time (the table's owner).
 */
#ifndef FLOE_ICE_LIVESET_H
#define FLOE_ICE_LIVESET_H

#include <stddef.h>
#include <stdint.h>

typedef struct ice_live_file {
	char *path;     /* owned */
	char *ref;      /* owned; the referenced data file of a DV, else NULL */
	const char *dv; /* data file: its DV's `path` (borrowed from that entry), else NULL */
	uint64_t hash;
	uint32_t mid; /* the in-memory id of the manifest that holds the file */
	int content;  /* ICE_CONTENT_* */
} ice_live_file;

typedef struct ice_live ice_live;

/* NULL on OOM. Free with ice_live_free (NULL is a no-op). */
ice_live *ice_live_new(void);
void ice_live_free(ice_live *l);
size_t ice_live_count(const ice_live *l);

/* The entry for path, or NULL. The pointer is valid until the next
 * ice_live_add or ice_live_remove. */
ice_live_file *ice_live_get(const ice_live *l, const char *path);

/* Adds a file; `ref` (may be NULL) is the DV's referenced data file. A DV whose
 * data file is in the set is linked to it. FLOE_EEXIST when the path is there
 * already or the data file has a DV already (nothing added), FLOE_ENOMEM. */
int ice_live_add(ice_live *l, const char *path, int content, const char *ref, uint32_t mid,
                 char *err);

/* Removes path if present; a removed DV is unlinked from its data file. */
void ice_live_remove(ice_live *l, const char *path);

#endif
