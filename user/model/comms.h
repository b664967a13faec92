/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Thread names, learned from /proc and COMM records, by tid. */
#ifndef DP_COMMS_H
#define DP_COMMS_H

#include <stdint.h>

struct dp_comms;
struct dp_comms *dp_comms__new(void);
void dp_comms__free(struct dp_comms *c);
int dp_comms__set(struct dp_comms *c, uint32_t pid, uint32_t tid, const char *comm);
/* The name of tid, or NULL. */
const char *dp_comms__get(const struct dp_comms *c, uint32_t tid);

#endif
