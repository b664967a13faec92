// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include <libiberty/demangle.h>
#include "demangle.h"

char *dp_demangle(const char *name)
{
	/* Itanium C++ names start with _Z, Rust v0 names with _R (legacy Rust is _ZN). */
	if (!name || (strncmp(name, "_Z", 2) && strncmp(name, "_R", 2)))
		return NULL;
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}
