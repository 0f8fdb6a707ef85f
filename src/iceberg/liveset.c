/*
 * liveset — see liveset.h. An open-addressing hash table (linear probing,
 * power-of-two capacity, at most 70% full) keyed by file path with FNV-1a.
 * Removal shifts the following entries back instead of leaving tombstones,
 * so lookups never degrade after many commits that replace DVs.
 * Data files are added before their DVs (the table reads data manifests
 * first), which is when the link from data file to DV is made.
 * Errors: FLOE_EEXIST, FLOE_ENOMEM.
 */
#include "iceberg/liveset.h"
#include "base/err.h"
#include "iceberg/manifest.h"

#include <stdlib.h>
#include <string.h>

struct ice_live {
	ice_live_file *slots; /* path == NULL: empty */
	size_t cap;           /* 0 or a power of two */
	size_t n;
};

static uint64_t ice_live_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

ice_live *ice_live_new(void)
{
	return calloc(1, sizeof(ice_live));
}

void ice_live_free(ice_live *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->cap; i++) {
		free(l->slots[i].path);
		free(l->slots[i].ref);
	}
	free(l->slots);
	free(l);
}

size_t ice_live_count(const ice_live *l)
{
	return l->n;
}

/* The slot holding path, or the empty slot where it would go. */
static size_t ice_live_find(const ice_live *l, const char *path, uint64_t h)
{
	size_t mask = l->cap - 1;
	size_t i = (size_t)h & mask;
	while (l->slots[i].path && (l->slots[i].hash != h || strcmp(l->slots[i].path, path) != 0))
		i = (i + 1) & mask;
	return i;
}

ice_live_file *ice_live_get(const ice_live *l, const char *path)
{
	if (l->cap == 0)
		return NULL;
	size_t i = ice_live_find(l, path, ice_live_hash(path));
	return l->slots[i].path ? &l->slots[i] : NULL;
}

static int ice_live_grow(ice_live *l)
{
	size_t cap = l->cap ? l->cap * 2 : 64;
	ice_live_file *slots = calloc(cap, sizeof *slots);
	if (!slots)
		return FLOE_ENOMEM;
	ice_live old = *l;
	l->slots = slots;
	l->cap = cap;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].path)
			l->slots[ice_live_find(l, old.slots[i].path, old.slots[i].hash)] =
			    old.slots[i];
	free(old.slots);
	return 0;
}

int ice_live_add(ice_live *l, const char *path, int content, const char *ref, uint32_t mid,
                 char *err)
{
	char *p = NULL, *r = NULL;
	int rc;
	if ((l->n + 1) * 10 > l->cap * 7 && ice_live_grow(l)) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	uint64_t h = ice_live_hash(path);
	size_t i = ice_live_find(l, path, h);
	if (l->slots[i].path) {
		rc = errf(err, FLOE_EEXIST, "file %s is live twice", path);
		goto fail;
	}
	ice_live_file *data = ref ? ice_live_get(l, ref) : NULL;
	if (data && data->content == ICE_CONTENT_DATA && data->dv) {
		rc = errf(err, FLOE_EEXIST, "data file %s has two deletion vectors: %s and %s", ref,
		          data->dv, path);
		goto fail;
	}
	if (!(p = strdup(path)) || (ref && !(r = strdup(ref)))) {
		rc = errf(err, FLOE_ENOMEM, "out of memory");
		goto fail;
	}
	l->slots[i] = (ice_live_file){
	    .path = p, .ref = r, .dv = NULL, .hash = h, .mid = mid, .content = content};
	if (data && data->content == ICE_CONTENT_DATA)
		data->dv = p;
	l->n++;
	return 0;
fail:
	free(p);
	free(r);
	return rc;
}

void ice_live_remove(ice_live *l, const char *path)
{
	if (l->cap == 0)
		return;
	size_t mask = l->cap - 1;
	size_t i = ice_live_find(l, path, ice_live_hash(path));
	if (!l->slots[i].path)
		return;
	ice_live_file gone = l->slots[i];
	l->slots[i] = (ice_live_file){0};
	l->n--;
	/* Backward shift: move later entries of the probe run into the hole
	 * when their home slot is not between the hole and themselves. */
	for (size_t j = (i + 1) & mask; l->slots[j].path; j = (j + 1) & mask) {
		size_t home = (size_t)l->slots[j].hash & mask;
		if (((j - home) & mask) >= ((j - i) & mask)) {
			l->slots[i] = l->slots[j];
			l->slots[j] = (ice_live_file){0};
			i = j;
		}
	}
	if (gone.ref) {
		ice_live_file *data = ice_live_get(l, gone.ref);
		if (data && data->dv == gone.path)
			data->dv = NULL;
	}
	free(gone.path);
	free(gone.ref);
}
