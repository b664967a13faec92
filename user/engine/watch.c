// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include "procfs.h"
#include "say.h"
#include "watch.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL	/* Linux >= 6.9: a pidfd for one thread */
#endif

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

bool dp_watch__target_gone(const struct dp_collect_opts *o)
{
	if (o->child) {
		siginfo_t si;

		/* Not reaped: whoever started it collects its status. */
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)o->child, &si, WEXITED | WNOHANG | WNOWAIT))
			return errno == ECHILD;
		return si.si_pid == o->child;
	}
	if (o->target == DP_TARGET_TID)
		return !dp_procfs__alive(o->pid);
	if (o->target != DP_TARGET_PID)
		return false;
	/* -p: the profile ends when the last of its processes has. */
	for (uint32_t i = 0; i < o->npids; i++)
		if (dp_procfs__alive(o->pids[i]))
			return false;
	return true;
}

int dp_watch__pidfd(const struct dp_collect_opts *o)
{
	pid_t pid = o->child ? o->child : (pid_t)o->pid;
	unsigned int flags = 0;

	if (!o->child && o->target == DP_TARGET_TID)
		flags = PIDFD_THREAD;
	else if (!o->child && (o->target != DP_TARGET_PID || o->npids > 1))
		return -1;	/* several processes: /proc is checked once a second */
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

static double since_launch(const struct dp_collect_opts *o)
{
	return o->launch_ns ? (double)(mono_ns() - o->launch_ns) / 1e9 : 0.0;
}

void dp_watch__say_exited_early(const struct dp_collect_opts *o)
{

	if (o->target == DP_TARGET_PID && o->npids > 1)
		dp_say("all %u processes exited before profiling began (%.1f s into deferprof's start-up): nothing was profiled", o->npids, since_launch(o));
	else
		dp_say("%s %u exited before profiling began (%.1f s into deferprof's start-up): nothing was profiled", o->target == DP_TARGET_TID ? "thread" : "process", o->pid, since_launch(o));
}

/*
 * The targets were checked when deferprof started: one gone by now exited
 * during the start-up (the probe, the BPF load), not "no such process".
 */
int dp_watch__check_alive(const struct dp_collect_opts *o)
{
	uint32_t alive = 0;

	if (o->target != DP_TARGET_PID && o->target != DP_TARGET_TID)
		return 0;
	for (uint32_t i = 0; i < (o->target == DP_TARGET_TID ? 1 : o->npids); i++)
		alive += dp_procfs__alive(o->target == DP_TARGET_TID ? o->pid : o->pids[i]);
	if (alive)
		return 0;
	dp_watch__say_exited_early(o);
	return -ESRCH;
}

void dp_watch__describe(const struct dp_collect_opts *o, struct dp_runinfo *ri)
{
	pid_t child = o->child;
	struct utsname u;

	if (!uname(&u)) {
		snprintf(ri->kernel, sizeof(ri->kernel), "%s %s", u.release, u.machine);
		snprintf(ri->host, sizeof(ri->host), "%s", u.nodename);
	}
	if (o->target != DP_TARGET_SYSTEM)
		ri->target_pid = child ? (uint32_t)child : o->pid;
	switch (o->target) {
	case DP_TARGET_SYSTEM:
		snprintf(ri->target, sizeof(ri->target), "system-wide");
		break;
	case DP_TARGET_TID:
		snprintf(ri->target, sizeof(ri->target), "thread %u", o->pid);
		break;
	case DP_TARGET_CGROUP:
		break;	/* named once the group's directory is resolved */
	default:
		snprintf(ri->target, sizeof(ri->target), "process%s %u", o->npids > 1 && !child ? "es" : "",
			 child ? (unsigned)child : o->pid);
		for (uint32_t i = 1; i < o->npids && !child; i++) {
			size_t n = strlen(ri->target);

			snprintf(ri->target + n, sizeof(ri->target) - n, ",%u", o->pids[i]);
		}
	}
}

