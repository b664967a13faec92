/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The leaf gate's user side (the map is described in deferprof.h). The
 * program reads the user stack's top words, for the leaf repair, only
 * where the repair could use them; it learns where from pages published
 * here. A page is published when a capture first comes from it (so only
 * code that is sampled costs a map entry and an update), with the blocks
 * the symbols side finds in its call-frame information
 * (dp_usyms__leaf_page). Pages are forgotten when the code under them may
 * change: a new executable mapping over them, an exec, a fork (a reused
 * pid), an exit.
 *
 * Until its page is published a capture is taken as before, and the
 * program wakes user space to read the log soon (once per read). A page
 * that is not known code of a file (JIT code, a mapping whose record has
 * not been read) is published as "capture everywhere", so that it does not
 * wake user space again; its mapping's record forgets it. A page
 * forgotten late (its record read after new code ran there) can only skip
 * captures the new code needed: some samples then keep a frameless
 * function without its caller, as perf -g shows them. No name is ever
 * wrong because of the gate.
 *
 * The map is written through ops, so unit tests drive the bookkeeping with
 * a fake.
 */
#ifndef DP_LEAFGATE_H
#define DP_LEAFGATE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "deferprof.h"

/* Entries of the program's map: 64 MiB of sampled code pages. */
#define DP_GATE_PAGES	16384

struct dp_leafgate_ops {
	/* Put one page's blocks under key (DP_GATE_KEY): 0 or -errno (-E2BIG: map full). */
	int (*write)(void *ctx, uint64_t key, const struct dp_gate_page *pg);
	/* Delete key: 0 or -errno (-ENOENT when not there). */
	int (*erase)(void *ctx, uint64_t key);
	void *ctx;
};

struct dp_leafgate_stats {
	uint64_t written;	/* pages put in the map */
	uint64_t all_needed;	/* ... where every block may need a capture (or nothing is known) */
	uint64_t refused;	/* pages the map did not take (full, or an error): captured as before */
	uint64_t erased;	/* pages taken out again */
};

struct dp_leafgate;

/* NULL on allocation failure. capacity: the map's entries. */
struct dp_leafgate *dp_leafgate__new(const struct dp_leafgate_ops *ops, uint32_t capacity);
void dp_leafgate__free(struct dp_leafgate *g);

/* Whether the page holding addr of process pid has been decided (published or not). */
bool dp_leafgate__known(const struct dp_leafgate *g, uint32_t pid, uint64_t addr);
/* Whether the gate can hold addr of pid at all (the key's bits). */
bool dp_leafgate__fits(uint32_t pid, uint64_t addr);
/* Publish the page holding addr of pid: 0 or -ENOMEM (the map's refusals are counted, not returned). */
int dp_leafgate__set(struct dp_leafgate *g, uint32_t pid, uint64_t addr,
		     const struct dp_gate_page *pg);
/* Forget pid's pages that overlap [start, end). */
void dp_leafgate__forget_range(struct dp_leafgate *g, uint32_t pid, uint64_t start, uint64_t end);
/* Forget every page of pid. */
void dp_leafgate__forget_pid(struct dp_leafgate *g, uint32_t pid);
const struct dp_leafgate_stats *dp_leafgate__stats(const struct dp_leafgate *g);

#endif
