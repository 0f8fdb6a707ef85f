/*
 * err — floe's one error convention.
 *
 * Fallible functions return int: 0 on success, a negative code on failure.
 * Where a person will read the reason, the caller passes `char *err` pointing at
 * ERR_LEN bytes; the failing function writes one line there (err may be NULL).
 * Messages name the thing that is wrong ("column 'age': 70000 is out of range
 * for int16"), never just "invalid input".
 */
#ifndef FLOE_ERR_H
#define FLOE_ERR_H

#include <stddef.h>

#define ERR_LEN 512

enum {
	FLOE_OK = 0,
	FLOE_EINVAL = -1, /* bad input: the caller's fault (HTTP 4xx) */
	FLOE_EIO = -2,    /* the disk or the OS failed us */
	FLOE_ENOMEM = -3, /* allocation failed */
	FLOE_ENOTFOUND = -4,
	FLOE_EEXIST = -5,
	FLOE_ECORRUPT = -6, /* bytes on disk are not what we wrote */
	FLOE_EBUSY = -7,    /* try again later (backpressure) */
	FLOE_ETOOBIG = -8,
	FLOE_ENOSPC = -9, /* the disk is full (HTTP 507) */
	FLOE_EPERM = -10, /* a privilege is missing (HTTP 403) */
};

/* Formats into err (ERR_LEN bytes) when err is not NULL; returns `code`. */
int errf(char *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
