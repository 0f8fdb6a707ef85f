/*
 * crashpoint — see crashpoint.h. The target name is read from the
 * environment once (pthread_once) so that a hot path costs one strcmp, and
 * so a test cannot change it under a running commit.
 * Any thread. No errors: a crash point either aborts or returns.
 */
#include "iceberg/crashpoint.h"

#ifndef FLOE_NO_CRASH_POINTS

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t ice_crash_once = PTHREAD_ONCE_INIT;
static char ice_crash_target[128];

static void ice_crash_init(void)
{
	const char *v = getenv("FLOE_CRASH_POINT");
	if (v)
		snprintf(ice_crash_target, sizeof ice_crash_target, "%s", v);
}

void ice_crash_point(const char *name)
{
	pthread_once(&ice_crash_once, ice_crash_init);
	if (!ice_crash_target[0] || strcmp(ice_crash_target, name) != 0)
		return;
	/* write(2), not stdio: nothing buffered may survive into the abort. */
	static const char msg[] = "floe: crash point reached: ";
	if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0 ||
	    write(STDERR_FILENO, name, strlen(name)) < 0 || write(STDERR_FILENO, "\n", 1) < 0) {
		/* Nothing to do: we are about to die anyway. */
	}
	abort();
}

#else
typedef int ice_crashpoint_compiled_out; /* ISO C wants a non-empty file */
#endif
