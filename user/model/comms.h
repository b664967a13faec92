/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Thread names, learned from /proc and COMM records, by tid, with their
 * history over the process's address-space generations: a name set after
 * an exec (which starts a generation) does not rename the samples taken
 * before it.
 */
#ifndef DP_COMMS_H
#define DP_COMMS_H

#include <stdbool.h>
#include <stdint.h>

struct dp_comms;
struct dp_comms *dp_comms__new(void);
void dp_comms__free(struct dp_comms *c);
/* Names are stamped with fn(ctx, pid), the process's generation now (none: all 0). */
void dp_comms__set_generation(struct dp_comms *c, uint32_t (*fn)(void *ctx, uint32_t pid),
			      void *ctx);
int dp_comms__set(struct dp_comms *c, uint32_t pid, uint32_t tid, const char *comm);
/* The current name of tid, or NULL. */
const char *dp_comms__get(const struct dp_comms *c, uint32_t tid);
/*
 * The current name of tid as a thread of pid that has not exited, or NULL:
 * a tid reused by another process (pid wrap) is named again.
 */
const char *dp_comms__get_live(const struct dp_comms *c, uint32_t tid, uint32_t pid);
/* The name tid had in its process's generation gen, or NULL. */
const char *dp_comms__get_at(const struct dp_comms *c, uint32_t tid, uint32_t gen);
/*
 * Streaming (-f ndjson) keeps names only while they can still be asked for:
 * tid exited (its EXIT record) in the current epoch; dp_comms__next_epoch()
 * at each interval forgets the threads that exited two epochs ago (their
 * last samples, deferred ones included, are in an interval by then). A
 * thread names itself again if it is seen again.
 */
void dp_comms__exited(struct dp_comms *c, uint32_t tid);
void dp_comms__next_epoch(struct dp_comms *c, bool forget);

#endif
