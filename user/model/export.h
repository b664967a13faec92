/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every writer (report, folded, json, ndjson, pprof, speedscope) reads:
 * the profile in one canonical order, so that the same aggregate always
 * gives the same bytes whatever order its stacks were collected in. Frames
 * are numbered in order of first use; stacks are merged over threads (or,
 * for folded, over the threads of each comm) and sorted by samples, then by
 * comm, then frame by frame by name (dp_profile__frame_ranks), a stack
 * before its extensions; each stack lists its threads by pid and tid.
 * Stacks without samples are left out.
 */
#ifndef DP_EXPORT_H
#define DP_EXPORT_H

#include <stdint.h>
#include <stdio.h>
#include "profile.h"
#include "runinfo.h"

struct dp_xthread_count {
	uint32_t thread;	/* index into dp_export.threads */
	uint64_t count;
};

struct dp_xstack {
	const char *comm;	/* the threads' name, per comm; else NULL */
	uint32_t nframes;	/* its frames: dp_export__stack_frames() */
	uint32_t node;		/* the profile's frame-tree node */
	uint64_t count;
	uint32_t nthreads;
	struct dp_xthread_count *threads;
};

struct dp_export {
	const struct dp_profile *p;
	uint32_t nframes;
	uint32_t *frames;		/* export order -> profile frame index */
	uint32_t nthreads;
	const struct dp_thread **threads;	/* by pid, then tid */
	uint32_t nstacks;
	struct dp_xstack *stacks;
	uint64_t total;
	uint32_t max_frames;		/* room dp_export__stack_frames() needs */
	/* private */
	uint32_t *export_idx;		/* profile frame index -> export order */
	struct dp_xthread_count *count_buf;
};

int dp_export__build(struct dp_export *x, const struct dp_profile *p);
/* The same, stacks merged over the threads of each comm only (folded). */
int dp_export__build_per_comm(struct dp_export *x, const struct dp_profile *p);
void dp_export__free(struct dp_export *x);
static inline const struct dp_frame *dp_export__frame(const struct dp_export *x, uint32_t i)
{
	return &x->p->frames[x->frames[i]];
}
/*
 * The frames of xs as indices into dp_export.frames, root first, into buf
 * (room for x->max_frames); returns buf. Walked from the profile's frame
 * tree on each call: no stack keeps a copy of its frames (at 100,000
 * stacks 40 deep, copies took 16 MiB at the report's peak).
 */
const uint32_t *dp_export__stack_frames(const struct dp_export *x, const struct dp_xstack *xs,
					uint32_t *buf);

/*
 * s as valid UTF-8: each byte that does not start a well-formed sequence
 * becomes U+FFFD. Returns s itself when it is valid, else a malloc'd copy
 * (free it when it differs from s); NULL when out of memory.
 */
char *dp_utf8_clean(const char *s);

/* Writers. Each returns 0 or -errno. */
int dp_json__write(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri);
int dp_pprof__write(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri);
int dp_speedscope__write(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri);

/* NDJSON: one line per interval, then a summary line. */
struct dp_ndjson {
	FILE *f;
	uint64_t seq;
	double last_end_s;
	struct dp_runinfo prev;		/* counters at the previous line */
	uint64_t total;
	uint64_t bad_frames;		/* samples under [bad frame], all lines */
	int err;			/* first write error */
};
void dp_ndjson__init(struct dp_ndjson *n, FILE *f);
int dp_ndjson__interval(struct dp_ndjson *n, const struct dp_profile *delta,
			const struct dp_runinfo *ri);
int dp_ndjson__summary(struct dp_ndjson *n, const struct dp_runinfo *ri);

#endif
