/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The symbolized profile every output reads: interned frames, threads, and
 * stacks of frame indices (root first) with their sample counts. Built from
 * the raw stack table through a symbolizer (symbolizer.h): no file or /proc
 * access here.
 */
#ifndef DP_PROFILE_H
#define DP_PROFILE_H

#include <stdbool.h>
#include <stdint.h>
#include "comms.h"
#include "stacks.h"

struct dp_symbolizer;

struct dp_frame {
	char *name;		/* function, or module+0xoffset, or a [marker] */
	char *module;		/* "[kernel]", a module or object basename, or NULL for markers */
	char *build_id;		/* hex, when the object has one */
	char *src_file;		/* with want_src, when debug info has it */
	int src_line;
	uint64_t addr;		/* lowest address seen (object offset for user frames) */
	bool kernel;
	bool marker;		/* [user stack lost] and the like */
	bool inlined;		/* a function inlined into its caller (with want_inline) */
	uint64_t self, total;	/* samples: leaf of a stack / anywhere in it */
};

struct dp_thread {
	uint32_t pid, tid;
	char comm[16];
	uint64_t samples;
};

/*
 * Stacks of frames are stored once, as nodes of a prefix tree from the root
 * frame in: a stack is its leaf node, and stacks that share callers share
 * nodes. Node 0 is the root (no frame).
 */
struct dp_fnode {
	uint32_t parent;
	uint32_t frame;
};

struct dp_pstack {
	uint32_t thread;	/* index into threads */
	uint32_t node;		/* its frames: dp_profile__frames() */
	uint32_t nframes;
	uint64_t count;
};

/* What the report says about objects that break frame-pointer unwinding. */
struct dp_nofp {
	char *module;
	int funcs_checked, funcs_with_fp;
	uint64_t samples;	/* samples whose user stack ends in this object */
};

struct dp_profile {
	struct dp_frame *frames;
	uint32_t nframes, capframes;
	struct dp_thread *threads;
	uint32_t nthreads, capthreads;
	struct dp_pstack *stacks;
	uint32_t nstacks, capstacks;
	struct dp_fnode *fnodes;
	uint32_t nfnodes, capfnodes;
	uint32_t max_frames;	/* the longest stack: room dp_profile__frames() needs */
	struct dp_nofp *nofp;
	uint32_t nnofp;
	uint64_t total;
	void *index;		/* private lookup tables */
};


/* The marker over a user chain cut where its frame pointers went into data. */
#define DP_BAD_FRAME "[bad frame]"

/* Samples under the marker frame named name (e.g. DP_BAD_FRAME): 0 when none. */
uint64_t dp_profile__marker_samples(const struct dp_profile *p, const char *name);

struct dp_profile_opts {
	bool want_inline;	/* inlined functions as frames: every format, decided once per run */
	bool want_src;		/* source file:line: for the formats that carry it (exports) */
	bool check_fp;		/* look for objects without frame pointers */
};

/*
 * Build a profile from a stack table. Raw stacks that symbolize to the same
 * thread and frames become one stack.
 */
int dp_profile__build(struct dp_profile *p, const struct dp_stack_table *t,
		      const struct dp_symbolizer *sz, const struct dp_comms *comms,
		      const struct dp_profile_opts *opts);
/*
 * The same, in steps, for a profile that grows while collection goes on:
 * init, then add each table (new stacks appended, known ones counted; frame
 * and stack indices never change), then seal (or free) when done.
 */
int dp_profile__init(struct dp_profile *p);
int dp_profile__add(struct dp_profile *p, const struct dp_stack_table *t,
		    const struct dp_symbolizer *sz, const struct dp_comms *comms,
		    const struct dp_profile_opts *opts);
void dp_profile__seal(struct dp_profile *p);
/*
 * Add another profile's stacks (a symbolized interval) to p, which must not
 * be sealed: frames matched by identity, threads by tid (taking src's names:
 * threads rename themselves). Frame-pointer notes are not carried over.
 */
int dp_profile__absorb(struct dp_profile *p, const struct dp_profile *src);
void dp_profile__free(struct dp_profile *p);

/*
 * Each frame's place in a total order of distinct frames (by name, then
 * module, kernel, marker, inlined): sorting by rank sorts by name without
 * comparing strings. malloc'd; NULL when out of memory.
 */
uint32_t *dp_profile__frame_ranks(const struct dp_profile *p);

/* The frames of node, root first, into out (room for max_frames); returns how many. */
uint32_t dp_profile__frames(const struct dp_profile *p, uint32_t node, uint32_t *out);
/*
 * Each node's place in the order of its frame lists (frame by frame by
 * rank, a list before its extensions): comparing two stacks' frames is
 * comparing two numbers. malloc'd; NULL when out of memory.
 */
uint32_t *dp_profile__node_order(const struct dp_profile *p, const uint32_t *rank);

#endif
