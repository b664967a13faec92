/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The target's life as the session sees it: named for the outputs, alive
 * when profiling begins, watched for its exit (a pidfd, or /proc).
 */
#ifndef DP_WATCH_H
#define DP_WATCH_H

#include <stdbool.h>
#include "collect.h"
#include "runinfo.h"

/* The kernel, the host and the target's description, into ri. */
void dp_watch__describe(const struct dp_collect_opts *o, struct dp_runinfo *ri);
/*
 * The targets were checked when deferprof started: one gone by now exited
 * during the start-up (the probe, the BPF load), not "no such process".
 * -ESRCH with one line when none is left.
 */
int dp_watch__check_alive(const struct dp_collect_opts *o);
void dp_watch__say_exited_early(const struct dp_collect_opts *o);
/* Every target process (or the thread, or the command) has exited. */
bool dp_watch__target_gone(const struct dp_collect_opts *o);
/*
 * A descriptor that becomes readable when the target exits, so that the
 * loop sleeps instead of polling /proc. -1 when the kernel cannot give one
 * (< 5.3, or a thread before 6.9) or for several processes: the loop then
 * checks /proc once a second.
 */
int dp_watch__pidfd(const struct dp_collect_opts *o);

#endif
