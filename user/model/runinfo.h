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
	uint32_t target_pid;		/* -p/-t/--demo, 0 system-wide */
	char target_comm[16];
	char host[65];			/* uname nodename */
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
	uint64_t ring_records, ring_bytes;	/* through the perf ring buffers */
	uint64_t log_entries, log_bytes;	/* deferred samples through the BPF logs */
	bool raw;			/* --raw: no BPF, samples stitched in user space */
	bool raw_fallback;		/* raw because the kernel lacks bpf_loop() */
	uint64_t store_stacks;		/* distinct stacks in the BPF stack store, at the end */
	uint64_t store_read, store_aged;	/* read from it; deleted from it, unused */
	uint64_t store_capacity;
	uint64_t nevents;		/* perf events opened */
	uint64_t bpf_load_ns;		/* opening, verifying and loading the program */
	uint64_t bpf_run_cnt, bpf_run_ns;	/* -v: the program's runs and run time (BPF stats) */
	uint32_t nthreads_seen;
	bool leaf_repair;		/* frames recovered in frameless code (not --no-leaf-repair) */
	uint64_t gate_pages;		/* pages of code the leaf gate learned (leafgate.h) */
	uint64_t gate_refused;		/* ... that its map did not take: captured as before */
	bool verify;
	uint64_t verify_diffs;		/* stacks whose counts differ between the two tables */
	uint64_t verify_raw_samples;	/* samples stitched in user space */
};

/* Samples the accounting closes over: BPF's count = table + drops. */
static inline uint64_t dp_runinfo__dropped(const struct dp_runinfo *ri)
{
	return ri->bpf[DP_STAT_DROP_COUNTS_FULL] + ri->bpf[DP_STAT_DROP_LOG_FULL] +
	       ri->bpf[DP_STAT_DROP_NO_CHAIN];
}

static inline uint64_t dp_runinfo__user_lost(const struct dp_runinfo *ri)
{
	return ri->join.lost_exited + ri->join.lost_timeout + ri->join.lost_at_end +
	       ri->join.lost_evicted + ri->join.lost_ring;
}

/* Every loss counter, by the name the outputs use. */
struct dp_loss {
	const char *name;
	const char *what;
	uint64_t value;
};

#define DP_NLOSSES 18

/* Fill out[DP_NLOSSES]; the order is fixed. */
static inline void dp_runinfo__losses(const struct dp_runinfo *ri, struct dp_loss *out)
{
	const struct dp_loss l[DP_NLOSSES] = {
		{ "dropped_map_full", "samples dropped: BPF counts map full", ri->bpf[DP_STAT_DROP_COUNTS_FULL] },
		{ "dropped_log_full", "samples dropped: a per-CPU sample log full (the reader fell behind)", ri->bpf[DP_STAT_DROP_LOG_FULL] },
		{ "dropped_no_chain", "samples dropped: no callchain", ri->bpf[DP_STAT_DROP_NO_CHAIN] },
		{ "kernel_stack_store_full", "kernel stacks not stored: stack store full or allocation failed", ri->bpf[DP_STAT_KSTACK_FULL] },
		{ "user_stack_store_full", "user stacks not stored: stack store full or allocation failed", ri->bpf[DP_STAT_USTACK_FULL] },
		{ "kernel_truncated", "kernel stacks truncated", ri->bpf[DP_STAT_KTRUNC] },
		{ "user_truncated", "user stacks truncated", ri->bpf[DP_STAT_UTRUNC] },
		{ "user_lost_exited", "user stack lost: task exited in the kernel", ri->join.lost_exited },
		{ "user_lost_timeout", "user stack lost: record did not come in time", ri->join.lost_timeout },
		{ "user_lost_at_end", "user stack lost: still waiting at the end", ri->join.lost_at_end },
		{ "user_lost_evicted", "user stack lost: pending table full", ri->join.lost_evicted },
		{ "user_lost_ring", "user stack lost: its record was lost in a full ring buffer", ri->join.lost_ring },
		{ "records_late", "deferred records after their samples timed out", ri->join.records_late },
		{ "records_unmatched", "deferred records without samples", ri->join.records_unmatched },
		{ "records_duplicate", "deferred records seen twice", ri->join.records_duplicate },
		{ "lost_records", "records the kernel could not write (ring full)", ri->lost_records },
		{ "lost_events", "PERF_RECORD_LOST records", ri->lost_events },
		{ "malformed_records", "records that failed to parse", ri->malformed },
	};

	for (int i = 0; i < DP_NLOSSES; i++)
		out[i] = l[i];
}

#endif
