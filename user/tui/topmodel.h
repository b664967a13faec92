/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The model behind deferprof top's screen, without a terminal: a profile
 * that grows each interval, cumulative and decaying counts per stack, the
 * filters (thread, kernel/user side, name search), the function rows by self
 * or total samples, the per-thread list, and the caller/callee trees of a
 * function. Pure: the unit tests drive it with stack tables.
 */
#ifndef DP_TOPMODEL_H
#define DP_TOPMODEL_H

#include <stdbool.h>
#include <stdint.h>
#include "profile.h"
#include "stacks.h"

struct dp_symbolizer;
struct dp_comms;

enum dp_counting { DP_COUNT_CUMULATIVE, DP_COUNT_DECAYING };
enum dp_side { DP_SIDE_ALL, DP_SIDE_KERNEL, DP_SIDE_USER };
enum dp_sort { DP_SORT_SELF, DP_SORT_TOTAL };

struct dp_topfilter {
	int64_t thread;		/* index into the profile's threads, or -1 for all */
	enum dp_side side;	/* kernel-only: keep each stack's kernel frames, user-only its user frames */
	char search[64];	/* function rows whose name holds this (case-insensitive) */
};

struct dp_toprow {
	uint32_t frame;		/* index into the profile's frames */
	double self, total;
};

struct dp_topthread {
	uint32_t thread;
	double samples;
};

/* One visible line of a tree: flattened, depth-first, heaviest first. */
struct dp_treeline {
	uint32_t frame;
	uint32_t depth;
	double weight;
	uint64_t id;		/* the path's identity, for expanding and collapsing */
	bool has_children;
	bool expanded;
};

enum dp_treedir { DP_TREE_CALLERS, DP_TREE_CALLEES };

struct dp_topmodel {
	struct dp_profile prof;	/* indexed: grows each interval */
	double *decayed;	/* per stack */
	uint64_t *last;		/* per stack: count at the previous interval */
	uint32_t cap;
	double decay;		/* weight kept per interval by decaying counts */
	uint64_t intervals;
	uint64_t last_interval_samples;
	void *expanded;		/* tree paths the user opened */
};

int dp_topmodel__init(struct dp_topmodel *m, double decay);
void dp_topmodel__free(struct dp_topmodel *m);
/* Add an interval's counts (symbolized into the profile). */
int dp_topmodel__add(struct dp_topmodel *m, const struct dp_stack_table *delta,
		     const struct dp_symbolizer *sz, const struct dp_comms *comms,
		     const struct dp_profile_opts *opts);
/* An interval already symbolized (on another thread): its stacks into the model. */
int dp_topmodel__absorb(struct dp_topmodel *m, const struct dp_profile *delta);
/*
 * End n intervals (n > 1 when the screen took several at once: frozen, or
 * slower than the intervals): decaying counts fade by decay^n, then take
 * the samples since the last tick; last_interval_samples is their mean.
 */
int dp_topmodel__tick(struct dp_topmodel *m, uint64_t n);

/* The weight of stack i under a counting. */
double dp_topmodel__weight(const struct dp_topmodel *m, uint32_t i, enum dp_counting c);
/* Samples (weights) of the stacks that pass the thread and side filters. */
double dp_topmodel__total(const struct dp_topmodel *m, const struct dp_topfilter *f,
			  enum dp_counting c);
/* Function rows with weight, filtered and sorted; *rows is malloc'd. */
int dp_topmodel__functions(const struct dp_topmodel *m, const struct dp_topfilter *f,
			   enum dp_counting c, enum dp_sort s, struct dp_toprow **rows, uint32_t *n);
/* Threads with weight, heaviest first (ignores the thread filter). */
int dp_topmodel__threads(const struct dp_topmodel *m, const struct dp_topfilter *f,
			 enum dp_counting c, struct dp_topthread **rows, uint32_t *n);
/*
 * The callers (towards the root) or callees (towards the leaf) of frame,
 * as a tree rooted at frame, flattened to the lines a screen shows: the
 * children of expanded lines only. The root is always expanded.
 */
int dp_topmodel__tree(const struct dp_topmodel *m, const struct dp_topfilter *f,
		      enum dp_counting c, uint32_t frame, enum dp_treedir dir,
		      struct dp_treeline **lines, uint32_t *n);
/* Open or close a tree line. */
int dp_topmodel__toggle(struct dp_topmodel *m, uint64_t id);
bool dp_topmodel__is_expanded(const struct dp_topmodel *m, uint64_t id);

#endif
