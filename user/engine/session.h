/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A profiling session: the engine the report, the live view and the
 * exports share. Its life: open (load the program, open the events,
 * disabled), start (enable them; a held command execs), poll (read rings,
 * drain the program into ingest, deliver intervals, until told to stop, the
 * duration ends or the target exits), stop (the last records, the join's
 * end, every counter), free. It talks to the kernel through kernel/ and
 * hands every byte to ingest/, which is pure.
 */
#ifndef DP_SESSION_H
#define DP_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include "collect.h"
#include "probe.h"
#include "runinfo.h"
#include "stacks.h"

struct dp_usyms;
struct dp_comms;
struct dp_ksyms;
struct dp_symbolizer;
struct dp_session;

struct dp_session_result {
	struct dp_runinfo ri;
	struct dp_stack_table table;	/* the product: joined stacks */
	struct dp_stack_table raw;	/* --verify: stacks stitched from raw samples */
	struct dp_usyms *us;
	struct dp_comms *comms;
	bool target_exited;
};

/*
 * One interval as the hooks see it, at its end: nothing in it changes while
 * the hook runs, and nothing in it is shared with another thread. A hook
 * that hands the interval to another thread (the live view) symbolizes it
 * here, on the session's thread, and hands over what it built: no lock is
 * then held across symbolization, and the session never waits for a screen.
 */
struct dp_snapshot {
	const struct dp_runinfo *ri;		/* the counters so far */
	const struct dp_stack_table *delta;	/* the interval's counts */
	const struct dp_symbolizer *sz;		/* addresses as of the interval's end */
	const struct dp_comms *comms;		/* thread names */
	bool final;				/* the session's last interval */
};

/*
 * Periodic delivery while the session polls: tick gets each interval, every
 * interval_ns and once more, with final set, when the session stops. It
 * runs on the session's thread; a non-zero return stops the session with
 * that error. ks (may be NULL) names kernel addresses in snapshots.
 */
struct dp_session_hooks {
	uint64_t interval_ns;
	/*
	 * Intervals only (-f ndjson): each tick hands over the stacks it took and
	 * the session keeps none of them, so a long run stays the same size; the
	 * result's table then holds only the run's total.
	 */
	bool streaming;
	int (*tick)(void *ctx, const struct dp_snapshot *snap);
	void *ctx;
	const struct dp_ksyms *ks;
};

/*
 * Load, open and attach everything, disabled. res is the session's output
 * (freed by dp_session_result__free). Errors print one line to stderr and
 * return a negative errno; *out is then NULL.
 */
int dp_session__open(struct dp_session **out, const struct dp_collect_opts *o,
		     const struct dp_probe *pr, const struct dp_session_hooks *hooks,
		     struct dp_session_result *res);
/* Enable the events; a held command is let go. */
int dp_session__start(struct dp_session *s);
/* Collect until o->stop is set, the duration ends or the target exits. */
int dp_session__poll(struct dp_session *s);
/* The last records, the join's end, every counter; the final tick. */
int dp_session__stop(struct dp_session *s);
void dp_session__free(struct dp_session *s);

/* open, start, poll, stop and free: a whole profile. */
int dp_session__run(const struct dp_collect_opts *o, const struct dp_probe *pr,
		    const struct dp_session_hooks *hooks, struct dp_session_result *res);
void dp_session_result__free(struct dp_session_result *res);

#endif
