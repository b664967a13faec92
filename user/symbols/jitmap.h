/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * JIT-compiled code named by the runtime: perf's /tmp/perf-PID.map, lines of
 * "START SIZE name" in hex. One table per process, read once. The file is
 * the process owner's to write, and read as root: opened by dp_safe_open
 * (no symlink, no FIFO or device, owned by the process's user or root) and
 * read within DP_JITMAP_MAX_BYTES and DP_JITMAP_MAX_SYMS; each refusal or
 * cut is one warning line on stderr.
 */
#ifndef DP_JITMAP_H
#define DP_JITMAP_H

#include <stddef.h>
#include <stdint.h>
#include "safeopen.h"

struct dp_jit_sym {
	uint64_t start, size;
	char *name;
};

struct dp_jitmap {
	struct dp_jit_sym *syms;	/* sorted by start */
	size_t n, cap;
	size_t nbad;			/* lines that are not "START SIZE name" */
	struct dp_owner owner;		/* who may own the file, besides root */
};

#define DP_JITMAP_MAX_BYTES (256ull << 20)
#define DP_JITMAP_MAX_LINE 65536
#define DP_JITMAP_MAX_SYMS (4u << 20)

/*
 * Read a perf map into j (zeroed or freed before; j->owner set, or empty
 * for root's files only). Returns 0, or a negative errno: -ENOENT when there
 * is no map, -ELOOP/-EINVAL/-EPERM for a file refused (dp_safe_open),
 * -EFBIG when a bound cut it, -EINTR when a stop signal did, -ENOMEM; j keeps
 * what was read.
 */
int dp_jitmap__load(struct dp_jitmap *j, const char *path);
/* The symbol whose [start, start+size) holds addr, or NULL. */
const struct dp_jit_sym *dp_jitmap__find(const struct dp_jitmap *j, uint64_t addr);
void dp_jitmap__free(struct dp_jitmap *j);

#endif
