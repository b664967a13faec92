/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Address spaces: each process's executable mappings, from a snapshot of
 * /proc/PID/maps and from MMAP2/FORK/EXEC records, its JIT map, and its
 * data mappings as the snapshot saw them. A
 * mapping points at a shared object (objects.h) or names a special region.
 *
 * Spaces have a history, counted in generations: a mapping that replaces
 * another object's (a library dlopen'd where a dlclose'd one was) or an exec
 * starts a new generation, and what it replaced is kept, valid over the
 * generations it was live in. A stack is stamped with its process's
 * generation when ingest takes it (DP_STK_GEN), and symbolized against the
 * mappings of that generation. New mappings where nothing was, and the same
 * mapping seen again (a snapshot after its MMAP2), start none: generations
 * stay few, and so do the stacks they split.
 */
#ifndef DP_ADDRSPACE_H
#define DP_ADDRSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "jitmap.h"
#include "dphash.h"

struct dp_obj;

struct dp_map {
	uint64_t start, end, pgoff;
	struct dp_obj *obj;	/* NULL: anonymous or special */
	const char *name;	/* "[vdso]", "[anon]", or the object's path */
	uint32_t gen_from;	/* the first generation it was live in */
	uint32_t gen_to;	/* retired: the first it was not (live maps: unused) */
};

/*
 * A mapping that is not executable (file data, [heap], [stack]), from the
 * snapshot only: it names an address found there, e.g. a stack word that a
 * broken frame chain read as a return address. Live from gen_from to gen_to
 * (0 while live: an exec ends every one).
 */
struct dp_datamap {
	uint64_t start, end, pgoff;
	const char *name;	/* the path or the special region's name; the caller's */
	const char *module;	/* "[data: BASENAME]", the caller's */
	uint32_t gen_from, gen_to;
};

/* Generations stop at this: later changes replace without history. */
#define DP_ASPACE_MAX_GEN 0xffffU

/* How far the snapshot of /proc/PID/maps got. */
enum dp_snap_state {
	DP_SNAP_NONE,		/* not tried, or failed and worth trying again */
	DP_SNAP_DONE,		/* read whole */
	DP_SNAP_GONE,		/* the process has no /proc entry: nothing to retry */
};

struct dp_aspace {
	UT_hash_handle hh;
	uint32_t pid;
	struct dp_map *maps;	/* live: sorted by start, not overlapping */
	size_t nmaps, cap;
	struct dp_map *old;	/* retired, in order of retirement */
	size_t nold, capold;
	struct dp_datamap *data;	/* in the order they came, linear: asked only off the code */
	size_t ndata, capdata;
	uint32_t gen;		/* the current generation */
	uint64_t changes;	/* bumped at every change of the live mappings */
	uint32_t exec_gens[8];	/* the last generations an exec started (0: none) */
	enum dp_snap_state snap;
	int snap_tries;
	uint64_t resnap_ns;	/* when the leaf repair last read /proc again (CLOCK_MONOTONIC) */
	bool jit_loaded;
	struct dp_jitmap jit;
};

struct dp_aspaces {
	struct dp_aspace *head;
};

/* pid's space; with create, a new empty one when there is none (NULL: no memory). */
struct dp_aspace *dp_aspaces__get(struct dp_aspaces *t, uint32_t pid, bool create);
void dp_aspaces__free(struct dp_aspaces *t);

/*
 * Map m from now on. Live mappings it overlaps end here (what is outside m
 * stays live); when one held another object, a new generation starts and
 * they are kept for the earlier ones. 0 or -ENOMEM.
 */
int dp_aspace__put(struct dp_aspace *as, const struct dp_map *m);
/* An exec: a new generation with no mappings; the old ones are kept. 0 or -ENOMEM. */
int dp_aspace__exec(struct dp_aspace *as);
/* A forked child's space: its parent's live mappings (dst must be empty). 0 or -ENOMEM. */
int dp_aspace__copy(struct dp_aspace *dst, const struct dp_aspace *src);
/* The mapping holding addr now, or NULL. */
const struct dp_map *dp_aspace__find(const struct dp_aspace *as, uint64_t addr);
/*
 * The mapping that held addr in generation gen, or NULL. A generation an
 * exec started begins with no mapping, and a sample taken inside execve
 * after the exec was announced still has the old program's registers: an
 * address no mapping of such a generation holds is looked up in the one
 * before it.
 */
const struct dp_map *dp_aspace__find_at(const struct dp_aspace *as, uint32_t gen, uint64_t addr);
/* Whether the same data mapping is live already. */
bool dp_aspace__has_data(const struct dp_aspace *as, const struct dp_datamap *d);
/* A data mapping from now on (d's generations are set here); once. 0 or -ENOMEM. */
int dp_aspace__put_data(struct dp_aspace *as, const struct dp_datamap *d);
/* The data mapping that held addr in generation gen, or NULL. */
const struct dp_datamap *dp_aspace__find_data(const struct dp_aspace *as, uint32_t gen,
					      uint64_t addr);

#endif
