/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * JIT-compiled code named by the runtime: perf's /tmp/perf-PID.map, lines of
 * "START SIZE name" in hex. One table per process, read once.
 */
#ifndef DP_JITMAP_H
#define DP_JITMAP_H

#include <stddef.h>
#include <stdint.h>

struct dp_jit_sym {
	uint64_t start, size;
	char *name;
};

struct dp_jitmap {
	struct dp_jit_sym *syms;	/* sorted by start */
	size_t n, cap;
	size_t nbad;			/* lines that are not "START SIZE name" */
};

/*
 * Read a perf map into j (zeroed or freed before). Returns 0, or a negative
 * errno: -ENOENT when there is no map, -ENOMEM; j keeps what was read.
 */
int dp_jitmap__load(struct dp_jitmap *j, const char *path);
/* The symbol whose [start, start+size) holds addr, or NULL. */
const struct dp_jit_sym *dp_jitmap__find(const struct dp_jitmap *j, uint64_t addr);
void dp_jitmap__free(struct dp_jitmap *j);

#endif
