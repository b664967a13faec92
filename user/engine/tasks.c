// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "procfs.h"
#include "tasks.h"

void dp_tasks__learn(const struct dp_tasks *t, uint32_t pid, uint32_t tid)
{
	char comm[32];

	if (pid && !dp_usyms__known(t->us, pid))
		dp_usyms__snapshot(t->us, pid);
	if (tid && !dp_comms__get_live(t->comms, tid, pid) &&
	    !dp_procfs__comm(pid, tid, comm, sizeof(comm)))
		dp_comms__set(t->comms, pid, tid, comm);
}

void dp_tasks__learn_new(const struct dp_tasks *t, struct dp_ingest *in)
{
	struct dp_task task[64];
	uint32_t n;

	do {
		n = dp_ingest__take_new_tasks(in, task, 64);
		for (uint32_t i = 0; i < n; i++)
			dp_tasks__learn(t, task[i].pid, task[i].tid);
	} while (n == 64);
}

/*
 * A child process forked while the events were being opened inherited
 * them, disabled, and the enable reached it too; but a disabled event gets
 * no side-band records, so no FORK record names it, and a short-lived child
 * is gone before its first samples are read. Its mappings and name are read
 * now, for every descendant (a bounded number: -p 1 would be every
 * process). Those forked later come with their FORK record.
 */
#define DP_DESCENDANTS_MAX 256

void dp_tasks__learn_descendants(const struct dp_tasks *t, const struct dp_collect_opts *o)
{
	uint32_t *q = malloc(DP_DESCENDANTS_MAX * sizeof(*q));
	size_t head = 0, len = 0;
	int n;

	if (!q)
		return;	/* they are read when first seen, if still alive */
	for (uint32_t i = 0; i < o->npids && len < DP_DESCENDANTS_MAX; i++)
		q[len++] = o->pids[i];
	while (head < len) {
		uint32_t kids[64];

		n = dp_procfs__children(q[head++], kids, 64);
		if (n == -ENOTSUP && o->verbose)
			fprintf(stderr, "deferprof: this kernel has no /proc/PID/task/TID/children: children forked while the events were opened are named only if alive when first seen\n");
		if (n == -ENOTSUP)
			break;
		for (int i = 0; i < n && i < 64 && len < DP_DESCENDANTS_MAX; i++) {
			dp_tasks__learn(t, kids[i], kids[i]);
			q[len++] = kids[i];
		}
	}
	free(q);
}
