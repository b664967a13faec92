/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The command line, parsed without side effects so that it can be tested. */
#ifndef DP_OPTIONS_H
#define DP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "collect.h"
#include "writers.h"	/* enum dp_format */

enum dp_cmd { DP_CMD_RECORD, DP_CMD_TOP, DP_CMD_PROBE, DP_CMD_HELP, DP_CMD_VERSION };

#define DP_MAX_OUTPUTS 8
#define DP_MAX_PIDS 256

struct dp_opts {
	enum dp_cmd cmd;
	enum dp_target target;
	uint32_t pid;		/* -p's first process, or -t's thread id */
	uint32_t pids[DP_MAX_PIDS];	/* -p PID[,PID...] */
	uint32_t npids;
	char *const *command;	/* after --: the command to start and profile */
	const char *cgroup;	/* --cgroup: a cgroup v2 group, absolute or under the mount */
	enum dp_mode mode;
	enum dp_format format;
	enum dp_event event;
	uint64_t freq;		/* -F (0 when -c is used) */
	uint64_t period;	/* -c */
	double duration;	/* -d seconds, 0 = until stopped */
	const char *output;	/* -o */
	bool kernel_only, user_only, verify;
	unsigned int verbose;	/* -v: what is set up; -vv: libbpf's debug messages too */
	bool raw;		/* no BPF aggregation: samples through the ring (for comparison) */
	bool no_leaf_repair;	/* --no-leaf-repair: user stacks as frame pointers give them */
	bool no_inline;		/* --no-inline: no debug-info inlines or source lines, in every format */
	const char *record;	/* --record: what the join was fed, for replay (make bench) */
	uint32_t ring_pages;	/* data pages per ring buffer, a power of two */
	uint32_t max_entries;	/* BPF counts map entries */
	uint32_t max_stacks;	/* BPF stack store entries */
	uint64_t join_timeout_ms;
	uint32_t drain_ms;	/* how often the BPF map is drained */
	int nice;		/* the collecting thread's nice value, or DP_NICE_INHERIT */
	uint32_t top;		/* stacks in the report */
	double interval;	/* -i: ndjson interval or top refresh, seconds */
	/* Each -o with the -f given before it (the last -f for stdout when none). */
	struct dp_output { const char *path; enum dp_format format; } outs[DP_MAX_OUTPUTS];
	uint32_t nouts;
	uint64_t launch_ns;	/* set by main(): CLOCK_MONOTONIC when deferprof began */
};

/*
 * Parse argv into o. On error returns -EINVAL and writes a one-line message
 * (without newline) into err.
 */
int dp_opts__parse(struct dp_opts *o, int argc, char **argv, char *err, size_t errlen);
const char *dp_opts__usage(void);
/*
 * What collection needs of o (pointers into o stay valid while o lives);
 * child and release_fd: a started command, or 0 and -1.
 */
void dp_opts__collect(const struct dp_opts *o, pid_t child, int release_fd,
		      const volatile sig_atomic_t *stop, uint64_t launch_ns,
		      struct dp_collect_opts *c);

#endif
