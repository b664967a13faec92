/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A command started for profiling: forked, held before exec until the
 * events are open (they enable themselves at the exec), then waited for.
 */
#ifndef DP_LAUNCH_H
#define DP_LAUNCH_H

#include <stdbool.h>
#include <sys/types.h>

struct dp_launch {
	pid_t pid;
	int release_fd;	/* write one byte: the child execs */
	int err_fd;	/* the child's errno if exec failed; EOF once it exec'ed */
	bool reaped;
	int status;	/* waitpid()'s, once reaped */
};

/*
 * Fork a child that waits on release_fd, then execs path (searched in PATH
 * when it has no slash) with argv. The child keeps the terminal, stdin,
 * stdout and stderr. Returns 0 or a negative errno.
 */
int dp_launch__start(struct dp_launch *l, const char *path, char *const *argv);
/*
 * After the release: 0 when the child exec'ed, else the positive errno of
 * its failed exec (it has exited 127). Blocks until one of the two happened.
 */
int dp_launch__exec_error(struct dp_launch *l);
/*
 * Wait for the child to end; with sig non-zero, send it sig first. Returns
 * its status as a shell gives it: the exit code, or 128+N when killed by N.
 */
int dp_launch__wait(struct dp_launch *l, int sig);
/* Whether the child has ended (it stays a zombie for dp_launch__wait). */
bool dp_launch__ended(const struct dp_launch *l);
/* Wait up to timeout_ms for the child to end by itself; whether it has. */
bool dp_launch__wait_ended(const struct dp_launch *l, int timeout_ms);
void dp_launch__close(struct dp_launch *l);

#endif
