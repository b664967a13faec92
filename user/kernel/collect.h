/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What collection needs to know, and no more: the target, the event and
 * its rate, the program's sizes, the loop's timing. The command line
 * (cli/options.h) is turned into this once; the engine and the kernel side
 * see only this.
 */
#ifndef DP_COLLECT_H
#define DP_COLLECT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum dp_target {
	DP_TARGET_SYSTEM, DP_TARGET_PID, DP_TARGET_TID, DP_TARGET_DEMO, DP_TARGET_COMMAND,
	DP_TARGET_CGROUP,
};
enum dp_mode { DP_MODE_AUTO, DP_MODE_DEFERRED, DP_MODE_CLASSIC };
enum dp_event { DP_EV_CPU_CLOCK, DP_EV_CYCLES };

struct dp_collect_opts {
	enum dp_target target;
	uint32_t pid;			/* -p's first process, or -t's thread id */
	const uint32_t *pids;		/* -p PID[,PID...] */
	uint32_t npids;
	const char *cgroup;		/* --cgroup */
	pid_t child;			/* a started command, held until release_fd is written; or 0 */
	int release_fd;
	enum dp_mode mode;
	enum dp_event event;
	uint64_t freq, period;
	double duration;		/* seconds, 0 = until stopped */
	bool kernel_only, user_only, verify, raw;
	bool no_leaf_repair;		/* no struct dp_leaf logged, no frame recovered */
	unsigned int verbose;
	const char *record;		/* --record FILE, or NULL */
	uint32_t ring_pages, max_entries, max_stacks, drain_ms;
	/* The collecting thread's nice value; DP_NICE_INHERIT leaves it. */
	int nice;
	uint64_t join_timeout_ms;
	/* Set (by a signal handler) to stop the session; it returns what it has. */
	const volatile sig_atomic_t *stop;
	uint64_t launch_ns;		/* CLOCK_MONOTONIC when deferprof began, for -v; or 0 */
};

/* --nice keep: the thread keeps the nice value it was started with. */
#define DP_NICE_INHERIT 100

#endif
