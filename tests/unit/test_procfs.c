// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* What deferprof reads of tasks from /proc (kernel/procfs.c): the children of a process. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#include "procfs.h"

static int hold_pipe[2];

/* A child that waits until the test closes the pipe. */
static pid_t waiting_child(void)
{
	pid_t c = fork();

	cr_assert_geq(c, 0);
	if (!c) {
		char b;

		close(hold_pipe[1]);
		while (read(hold_pipe[0], &b, 1) > 0)
			;
		_exit(0);
	}
	return c;
}

static void *fork_from_thread(void *arg)
{
	*(pid_t *)arg = waiting_child();
	return NULL;
}

static bool has(const uint32_t *v, int n, pid_t p)
{
	for (int i = 0; i < n; i++)
		if (v[i] == (uint32_t)p)
			return true;
	return false;
}

Test(procfs, children_of_every_thread)
{
	uint32_t kids[8];
	pid_t a, b = 0;
	pthread_t t;
	int n;

	cr_assert_eq(pipe(hold_pipe), 0);
	a = waiting_child();
	/* A child forked by another thread is listed under that thread's task. */
	cr_assert_eq(pthread_create(&t, NULL, fork_from_thread, &b), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	n = dp_procfs__children((uint32_t)getpid(), kids, 8);
	if (n == -ENOTSUP)
		cr_skip_test("SKIP: this kernel has no /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN)");
	cr_assert_eq(n, 2, "children found: %d", n);
	cr_assert(has(kids, n, a) && has(kids, n, b), "both children listed");
	/* Room for one: the count still says two. */
	cr_assert_eq(dp_procfs__children((uint32_t)getpid(), kids, 1), 2);
	close(hold_pipe[1]);
	cr_assert_eq(waitpid(a, NULL, 0), a);
	cr_assert_eq(waitpid(b, NULL, 0), b);
	cr_assert_eq(dp_procfs__children((uint32_t)getpid(), kids, 8), 0, "none once reaped");
	close(hold_pipe[0]);
}

Test(procfs, children_of_a_gone_process)
{
	uint32_t kids[4];
	pid_t c = fork();

	cr_assert_geq(c, 0);
	if (!c)
		_exit(0);
	cr_assert_eq(waitpid(c, NULL, 0), c);
	cr_assert_eq(dp_procfs__children((uint32_t)c, kids, 4), -ENOENT);
}
