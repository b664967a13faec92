/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --verify's reference: raw samples (every sample, read from the ring
 * buffer) stitched to their deferred user stacks the way perf does it,
 * written apart from the join and sharing none of its code: per thread, in
 * the order read, a sample waits for the next deferred record of its thread
 * with the same cookie. The stacks it builds are compared with the join's;
 * a bug in the join then shows as a difference.
 *
 * Ring buffers are per CPU, so a record may be read before a sample taken on
 * another CPU: records are kept for a few rounds for such samples. A sample
 * whose record never comes (its thread exited, the ring lost it, or the
 * timeout passed) is counted with its user stack lost, as the join does.
 *
 * The leaf repair's evidence (what the program logged and the symbols side
 * decided, per (tid, cookie) and user IP) comes from the logs, which are
 * read after the ring buffers in a round, or in the next one: stitched
 * stacks (deferred ones, and the classic chains a task past its last return
 * to user space gets) are therefore held until their evidence has come or a
 * round has passed, then the caller is inserted where the evidence says, by
 * this module's own code.
 */
#ifndef DP_VERIFY_H
#define DP_VERIFY_H

#include <stdint.h>
#include "record.h"
#include "stacks.h"

struct dp_verify;

struct dp_verify *dp_verify__new(uint64_t timeout_ns, struct dp_stack_table *out);
void dp_verify__free(struct dp_verify *v);
/* A raw sample's chain, split into its parts. */
int dp_verify__sample(struct dp_verify *v, uint32_t pid, uint32_t tid, const struct dp_chain *ch,
		      uint64_t now);
int dp_verify__record(struct dp_verify *v, uint32_t pid, uint32_t tid, uint64_t cookie,
		      const uint64_t *uips,
		      uint32_t unr, uint64_t now);
/* The leaf repair's evidence for (tid, cookie; 0 for a classic chain) at ip: ra goes after ip (see dp_join_sample). */
int dp_verify__leaf(struct dp_verify *v, uint32_t tid, uint64_t cookie, uint64_t ip,
		    uint64_t ra, uint64_t now);
void dp_verify__exit(struct dp_verify *v, uint32_t tid);
int dp_verify__end_round(struct dp_verify *v, uint64_t now);
int dp_verify__finish(struct dp_verify *v);

#endif
