/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Thread names, learned from /proc and COMM records, by tid. */
#ifndef DP_COMMS_H
#define DP_COMMS_H

#include <stdbool.h>
#include <stdint.h>

struct dp_comms;
struct dp_comms *dp_comms__new(void);
void dp_comms__free(struct dp_comms *c);
int dp_comms__set(struct dp_comms *c, uint32_t pid, uint32_t tid, const char *comm);
/* The name of tid, or NULL. */
const char *dp_comms__get(const struct dp_comms *c, uint32_t tid);
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
