/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Everything a profile's outputs say besides the stacks: what ran, and every loss. */
#ifndef DP_RUNINFO_H
#define DP_RUNINFO_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "deferprof.h"
#include "join.h"

struct dp_runinfo {
	const char *mode;		/* "deferred" or "classic" */
	char kernel[192];
	char target[192];		/* "pid 123 (demo)", "tid 5", "system-wide" */
	const char *event;		/* "cpu-clock", "cycles" */
	uint64_t freq;			/* Hz, or 0 with a period */
	uint64_t period;
	double duration_s;
	uint64_t start_unix_ns;
	const char *end_reason;		/* "duration", "signal", "target exited" */
	uint64_t bpf[DP_STAT_MAX];	/* the BPF program's counters */
	struct dp_join_stats join;
	uint64_t lost_records;		/* PERF_RECORD_LOST totals */
	uint64_t lost_events;		/* PERF_RECORD_LOST records */
	uint64_t malformed;		/* records that failed to parse */
	uint64_t store_stacks;		/* distinct stacks in the BPF stack store */
	uint64_t store_capacity;
	uint64_t nevents;		/* perf events opened */
	uint32_t nthreads_seen;
	bool verify;
	uint64_t verify_diffs;		/* stacks whose counts differ between the two tables */
	uint64_t verify_raw_samples;	/* samples stitched in user space */
};

/* Samples the accounting closes over: BPF's count = table + drops. */
static inline uint64_t dp_runinfo__dropped(const struct dp_runinfo *ri)
{
	return ri->bpf[DP_STAT_DROP_COUNTS_FULL] + ri->bpf[DP_STAT_DROP_NO_CHAIN];
}

static inline uint64_t dp_runinfo__user_lost(const struct dp_runinfo *ri)
{
	return ri->join.lost_exited + ri->join.lost_timeout + ri->join.lost_at_end +
	       ri->join.lost_evicted;
}

#endif
