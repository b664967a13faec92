/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * deferprof diff: two profiles (BASE and NEW) merged into one table of
 * stacks with a count on each side. A stack is its thread's command name
 * (as the root frame, as folded files have it) and its frames, root first;
 * frames match by name, module and side (kernel or user), so two builds of
 * a program compare function by function whatever their addresses. Shares
 * of each side's total make the two comparable (normalized by total
 * samples). Pure: inputs come in as bytes (diffread.c), outputs go to a
 * stdio stream (diffout.c).
 */
#ifndef DP_DIFF_H
#define DP_DIFF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "dphash.h"

enum dp_diff_side { DP_DIFF_BASE, DP_DIFF_NEW };

struct dp_dframe {
	char *name;
	char *module;		/* NULL in folded input and for markers */
	char *file;		/* source file:line, when the json has it */
	int line;
	bool kernel, inlined, marker;
	bool comm;		/* the command name at the root of a stack */
	uint64_t self[2];	/* samples with this frame as the leaf, per side */
	uint64_t total[2];	/* samples with this frame anywhere (once per stack) */
	/* private */
	char *key;
	uint32_t idx;		/* its index while the inputs are read */
	uint64_t seen;		/* the last stack counted in total */
	UT_hash_handle hh;
};

struct dp_dstack {
	uint32_t nframes;
	uint32_t *frames;	/* indices into dp_diff.frames, root (the command) first */
	uint64_t count[2];
	UT_hash_handle hh;
};

/* What one input says about itself. */
struct dp_dinfo {
	char *label;		/* the file name as given */
	const char *kind;	/* "json" or "folded" */
	char *target, *mode, *event;	/* json only; else NULL */
	uint64_t samples;
};

struct dp_diff {
	struct dp_dinfo side[2];
	struct dp_dframe **frames;	/* by index; after dp_diff__finish, in order of first use */
	uint32_t nframes, capframes;
	struct dp_dstack **stacks;	/* after dp_diff__finish: sorted by frame names */
	uint32_t nstacks, capstacks;
	/* private */
	struct dp_dframe *frame_head;
	struct dp_dstack *stack_head;
	uint32_t *path;			/* room for the stack being added */
	uint32_t cappath;
	uint64_t nadded;
};

/* A frame as an input names it; the table keeps copies. */
struct dp_dframe_in {
	const char *name, *module, *file;
	int line;
	bool kernel, inlined, marker, comm;
};

void dp_diff__init(struct dp_diff *d);
void dp_diff__free(struct dp_diff *d);

/*
 * Read one input as side s: deferprof's json document or a folded file (which
 * one: by its first character). label names it in messages. On error, a
 * one-line message in err (naming label) and -EINVAL (or -ENOMEM).
 */
int dp_diff__read(struct dp_diff *d, enum dp_diff_side s, const char *label, const char *buf,
		  size_t len, char *err, size_t errlen);
/* Used by the readers: the frame's index (added when new); -ENOMEM. */
int dp_diff__frame(struct dp_diff *d, const struct dp_dframe_in *in, uint32_t *idx);
/* Used by the readers: count samples of the stack frames[0..n) (root first) on side s. */
int dp_diff__add(struct dp_diff *d, enum dp_diff_side s, const uint32_t *frames, uint32_t n,
		 uint64_t count);

/*
 * After both sides are read: checks that they can be compared (one-line
 * message in err, -EINVAL), then puts stacks and frames in their canonical
 * order (stacks by frame names, frames by first use): the same inputs give
 * the same bytes, whatever order their stacks came in.
 */
int dp_diff__finish(struct dp_diff *d, char *err, size_t errlen);

/* A frame's share of its side's samples, in percent. */
double dp_diff__share(const struct dp_diff *d, enum dp_diff_side s, uint64_t n);

/* Functions (frames other than command names) by how much their share changed. */
struct dp_dchange {
	uint32_t frame;
	double dself, dtotal;	/* percentage points: NEW's share minus BASE's */
};
/* All of them, largest change of self share first (then total, then name); malloc'd. */
int dp_diff__changes(const struct dp_diff *d, struct dp_dchange **out, uint32_t *n);

/* Outputs (diffout.c); each returns 0 or -errno. */
int dp_diff__write_folded(FILE *f, const struct dp_diff *d);
int dp_diff__write_report(FILE *f, const struct dp_diff *d, uint32_t top);
int dp_diff__write_html(FILE *f, const struct dp_diff *d, uint32_t top);
/* The html page's data: the json document the page reads. */
int dp_diff__write_json(FILE *f, const struct dp_diff *d, uint32_t top);

#endif
