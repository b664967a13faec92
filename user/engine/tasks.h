/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Tasks the session meets: a thread's name and its process's mappings, read
 * from /proc once, outside ingest's loop (ingest queues the tasks it sees
 * first; the session hands them here after the round).
 */
#ifndef DP_TASKS_H
#define DP_TASKS_H

#include <stdint.h>
#include "collect.h"
#include "comms.h"
#include "dispatch.h"
#include "usyms.h"

struct dp_tasks {
	struct dp_usyms *us;
	struct dp_comms *comms;
};

/* A task seen for the first time (tid 0: the process only). */
void dp_tasks__learn(const struct dp_tasks *t, uint32_t pid, uint32_t tid);
/* Every task ingest saw first since the last call. */
void dp_tasks__learn_new(const struct dp_tasks *t, struct dp_ingest *in);
/*
 * -p: the targets' descendants, right after the enable (children forked
 * while the events were being opened get no FORK record); at most 256.
 */
void dp_tasks__learn_descendants(const struct dp_tasks *t, const struct dp_collect_opts *o);

#endif
