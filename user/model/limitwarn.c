// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <inttypes.h>
#include "limitwarn.h"

enum {
	LIM_COUNTS, LIM_LOG, LIM_STORE, LIM_RING, LIM_EVICTED, LIM_TIMEOUT,
};

/* First time bit is seen with a count: true, and it is remembered. */
static bool first(struct dp_limits *l, int bit, uint64_t count)
{
	if (!count || (l->said & (1U << bit)))
		return false;
	l->said |= 1U << bit;
	return true;
}

int dp_limits__check(struct dp_limits *l, const struct dp_runinfo *ri,
		     const struct dp_limit_opts *o, FILE *f)
{
	const uint64_t *b = ri->bpf;
	uint64_t store = b[DP_STAT_KSTACK_FULL] + b[DP_STAT_USTACK_FULL];
	int n = 0;

	if (first(l, LIM_COUNTS, b[DP_STAT_DROP_COUNTS_FULL]) && ++n)
		fprintf(f, "deferprof: the BPF counts map is full (%" PRIu32 " entries): %" PRIu64
			" samples dropped so far; raise --max-entries\n",
			o->max_entries, b[DP_STAT_DROP_COUNTS_FULL]);
	if (first(l, LIM_LOG, b[DP_STAT_DROP_LOG_FULL]) && ++n)
		fprintf(f, "deferprof: a per-CPU sample log overflowed (the reader fell behind): %" PRIu64
			" samples dropped so far; lower -F, or give the reader more CPU (--nice)\n",
			b[DP_STAT_DROP_LOG_FULL]);
	if (first(l, LIM_STORE, store) && ++n)
		fprintf(f, "deferprof: the BPF stack store is full (%" PRIu32 " stacks): %" PRIu64
			" stack parts not stored so far (shown as [user|kernel stack not stored]);"
			" raise --max-stacks\n", o->max_stacks, store);
	if (first(l, LIM_RING, ri->lost_records) && ++n)
		fprintf(f, "deferprof: a ring buffer overflowed: %" PRIu64
			" records lost so far; raise --ring-pages (now %" PRIu32 ")\n",
			ri->lost_records, o->ring_pages);
	if (first(l, LIM_EVICTED, ri->join.lost_evicted) && ++n)
		fprintf(f, "deferprof: the table of samples waiting for their user stacks is full: %" PRIu64
			" samples lost their user stacks so far (shown as [user stack lost])\n",
			ri->join.lost_evicted);
	if (first(l, LIM_TIMEOUT, ri->join.lost_timeout) && ++n)
		fprintf(f, "deferprof: %" PRIu64 " samples waited longer than --join-timeout (%" PRIu64
			" ms) for their user stacks (shown as [user stack lost]); raise it\n",
			ri->join.lost_timeout, o->join_timeout_ms);
	return n;
}
