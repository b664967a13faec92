// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include "say.h"

static unsigned long said;

unsigned long dp_say__count(void)
{
	return said;
}

void dp_say(const char *fmt, ...)
{
	va_list ap;

	said++;
	fputs("deferprof: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
