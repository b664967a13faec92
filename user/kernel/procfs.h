/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What deferprof reads of tasks and CPUs from /proc and /sys. */
#ifndef DP_PROCFS_H
#define DP_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "collect.h"

#define DP_PF_KTHREAD 0x00200000UL	/* a kernel thread, in /proc/PID/stat's flags */

/* The online CPUs (malloc'd into *out); their number, or -errno. */
int dp_procfs__online_cpus(int **out);
/* A thread's name from /proc/PID/task/TID/comm; -errno when it is gone. */
int dp_procfs__comm(uint32_t pid, uint32_t tid, char *buf, size_t len);
/* State and flags of a task from /proc/PID/stat; -errno when it is gone. */
int dp_procfs__stat(uint32_t pid, char *state, unsigned long *flags);
/* A task that exists and is neither a zombie nor dead. */
bool dp_procfs__alive(uint32_t pid);
/*
 * The child processes of every thread of a process, from
 * /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN): at most max into out.
 * Their number (more than max when some did not fit), or -errno: -ENOENT
 * when the process is gone, -ENOTSUP when the kernel has no such file.
 */
int dp_procfs__children(uint32_t pid, uint32_t *out, size_t max);
/* Threads of a process (/proc/PID/status), 0 when unknown. */
uint64_t dp_procfs__threads(uint32_t pid);
/*
 * -p and -t: every pid exists, is not a kernel thread, and -p's are
 * processes. One line on stderr on error.
 */
int dp_procfs__check_targets(const struct dp_collect_opts *o);

#endif
