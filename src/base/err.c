/* err — see err.h. */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>

int errf(char *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, ERR_LEN, fmt, ap);
		va_end(ap);
	}
	return code;
}
