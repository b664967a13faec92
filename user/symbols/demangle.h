/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* C++ and Rust symbol names as people read them (libiberty's demangler). */
#ifndef DP_DEMANGLE_H
#define DP_DEMANGLE_H

/* A malloc'd demangled name, or NULL when name is not mangled (or no memory). */
char *dp_demangle(const char *name);

#endif
