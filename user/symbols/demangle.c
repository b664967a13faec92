// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libiberty/demangle.h>
#include "demangle.h"

/* Parameters shown, ANSI qualifiers, the scheme (C++, Rust) found from the name. */
#define DP_DMGL (DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO)

char *dp_demangle(const char *name)
{
	size_t len = name ? strlen(name) : 0;
	char *base, *dem, *out = NULL;

	/* Itanium C++ names start with _Z, Rust v0 names with _R (legacy Rust is _ZN). */
	if (!name || (strncmp(name, "_Z", 2) && strncmp(name, "_R", 2)))
		return NULL;
	/* A PLT stub's name (plt.h): the function's, demangled, then @plt. */
	if (len > 4 && !strcmp(name + len - 4, "@plt")) {
		base = strndup(name, len - 4);
		dem = base ? cplus_demangle(base, DP_DMGL) : NULL;
		if (dem && asprintf(&out, "%s@plt", dem) < 0)
			out = NULL;
		free(dem);
		free(base);
		return out;
	}
	return cplus_demangle(name, DP_DMGL);
}
