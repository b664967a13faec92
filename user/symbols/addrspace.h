/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Address spaces: each process's executable mappings, from a snapshot of
 * /proc/PID/maps and from MMAP2 records, and its JIT map. A mapping points at
 * a shared object (objects.h) or names a special region. Today an exec drops
 * the whole space; the mapping array is the place to keep history (when each
 * mapping was live) so that samples from before an exec or dlopen resolve
 * against the mappings of their time.
 */
#ifndef DP_ADDRSPACE_H
#define DP_ADDRSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "jitmap.h"
#include "uthash.h"

struct dp_obj;

struct dp_map {
	uint64_t start, end, pgoff;
	struct dp_obj *obj;	/* NULL: anonymous or special */
	const char *name;	/* "[vdso]", "[anon]", or the object's path */
};

/* How far the snapshot of /proc/PID/maps got. */
enum dp_snap_state {
	DP_SNAP_NONE,		/* not tried, or failed and worth trying again */
	DP_SNAP_DONE,		/* read whole */
	DP_SNAP_GONE,		/* the process has no /proc entry: nothing to retry */
};

struct dp_aspace {
	UT_hash_handle hh;
	uint32_t pid;
	struct dp_map *maps;	/* sorted by start, not overlapping a same start */
	size_t nmaps, cap;
	enum dp_snap_state snap;
	int snap_tries;
	bool jit_loaded;
	struct dp_jitmap jit;
};

struct dp_aspaces {
	struct dp_aspace *head;
};

/* pid's space; with create, a new empty one when there is none (NULL: no memory). */
struct dp_aspace *dp_aspaces__get(struct dp_aspaces *t, uint32_t pid, bool create);
/* Forget pid's space (an exec replaced it). */
void dp_aspaces__drop(struct dp_aspaces *t, uint32_t pid);
void dp_aspaces__free(struct dp_aspaces *t);

/* Insert m, or replace the mapping with the same start. 0 or -ENOMEM. */
int dp_aspace__put(struct dp_aspace *as, const struct dp_map *m);
/* The mapping holding addr, or NULL. */
const struct dp_map *dp_aspace__find(const struct dp_aspace *as, uint64_t addr);

#endif
