/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The join: matches the sample counts drained from the BPF map with the
 * deferred user-stack records of the same (tid, cookie), and adds the whole
 * stacks to a stack table. Both sides may arrive first; what never finds its
 * other half is resolved within bounded time and memory and counted.
 *
 * The caller works in rounds: read every ring buffer, drain the BPF map,
 * then call dp_join__end_round(). A record read in round R has all of its
 * samples in the map by the drain of round R (the kernel writes the record
 * when the task leaves the kernel, after every sample of that entry), so
 * records are kept three more rounds: for samples taken between the unwind
 * and the return to user space, and because the session drains each counts
 * map one round after its samples were taken (it is double-buffered).
 */
#ifndef DP_JOIN_H
#define DP_JOIN_H

#include <stdint.h>
#include "record.h"
#include "stacks.h"

struct dp_join_opts {
	uint64_t timeout_ns;	/* a sample waits this long for its record */
	uint64_t max_pending;	/* pending (tid, cookie) groups; the oldest is evicted beyond */
};

/* Every sample entering the join leaves it through exactly one of these. */
struct dp_join_stats {
	uint64_t samples_in;		/* samples given to the join */
	uint64_t joined;		/* with their deferred user stack */
	uint64_t classic;		/* user stack taken in the interrupt */
	uint64_t kernel_only;		/* no user part (kernel threads) */
	uint64_t lost_exited;		/* task exited before returning to user space */
	uint64_t lost_timeout;		/* record did not come within the timeout */
	uint64_t lost_at_end;		/* still waiting when the profile ended */
	uint64_t lost_evicted;		/* pending table full */
	uint64_t lost_ring;		/* record never came and the ring buffer lost records */
	/* Records, counted apart from samples. */
	uint64_t records;
	uint64_t records_matched;	/* matched at least one sample */
	uint64_t records_unmatched;	/* retired without any sample */
	uint64_t records_duplicate;	/* same (tid, cookie) twice */
	uint64_t records_late;		/* came after their samples timed out */
	uint64_t pending_peak;		/* most (tid, cookie) groups waiting at once */
	/* Samples whose user stack got its innermost frame's caller back (leaf repair). */
	uint64_t leaf_recovered;
};

struct dp_join;

struct dp_join_sample {
	uint32_t pid, tid;
	uint64_t cookie;	/* 0: the sample is complete as it is */
	uint32_t flags;		/* DP_STK_* for the parts present */
	const uint64_t *kips;
	uint32_t knr;
	uint64_t khash;		/* dp_stack__part_hash(kips, knr) when known, else 0 */
	const uint64_t *uips;	/* classic user part */
	uint32_t unr;
	uint64_t uhash;		/* dp_stack__part_hash(uips, unr) when known, else 0 */
	uint64_t count;
	/* What the program logged for the leaf repair (a log entry's struct dp_leaf), or NULL. */
	const struct dp_leaf *leaf;
	/*
	 * The leaf repair's evidence, decided by the symbols side: the caller
	 * of the innermost user frame (leaf_ra) when that frame, at leaf_ip,
	 * had not set up its own. 0: none. The join inserts it after the
	 * user IP unless the user stack does not start at leaf_ip or already
	 * has it next (dp_leaf__insert). A deferred sample's evidence holds
	 * for its whole (tid, cookie) entry.
	 */
	uint64_t leaf_ip, leaf_ra;
};

/*
 * The user stack uips[0..unr) with leaf_ra inserted after its first frame,
 * into out (room for DP_MAX_STACK): the new length, or 0 when the stack is
 * to stay as it is (no evidence, another IP, the caller already next, or
 * no room).
 */
uint32_t dp_leaf__insert(const uint64_t *uips, uint32_t unr, uint64_t leaf_ip, uint64_t leaf_ra,
			 uint64_t *out);

/*
 * The parts of a split chain as a sample's (not its pid, tid or count):
 * each part clamped to DP_MAX_STACK with its truncation flag, the cookie of
 * a deferred chain, no user part for a kernel-only chain or when kernel_only.
 */
void dp_join_sample__from_chain(struct dp_join_sample *js, const struct dp_chain *ch,
				bool kernel_only);

struct dp_join *dp_join__new(const struct dp_join_opts *opts, struct dp_stack_table *out);
void dp_join__free(struct dp_join *j);
int dp_join__add_sample(struct dp_join *j, const struct dp_join_sample *s, uint64_t now_ns);
int dp_join__add_record(struct dp_join *j, uint32_t pid, uint32_t tid, uint64_t cookie,
			const uint64_t *uips, uint32_t unr);
void dp_join__task_exit(struct dp_join *j, uint32_t tid);
/*
 * The ring buffer dropped n records (PERF_RECORD_LOST). Which ones is not
 * known; up to n (tid, cookie) groups that then time out or are still
 * waiting at the end are counted as lost in the ring rather than as a
 * timeout or the end: each lost record could have completed one group.
 */
void dp_join__records_lost(struct dp_join *j, uint64_t n);
int dp_join__end_round(struct dp_join *j, uint64_t now_ns);
/* End of profile: everything still waiting is resolved as lost. */
int dp_join__finish(struct dp_join *j);
/*
 * The output table was moved out (an ndjson interval) and starts over
 * empty: the kept records' user stacks, ids into old, are interned again
 * into the new table before old is freed. 0 or a negative errno.
 */
int dp_join__rebase(struct dp_join *j, const struct dp_stack_table *old);
const struct dp_join_stats *dp_join__stats(const struct dp_join *j);
uint64_t dp_join__pending(const struct dp_join *j);

#endif
