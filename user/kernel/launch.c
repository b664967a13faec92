// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "launch.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434	/* Linux 5.3; the same number on every architecture */
#endif

int dp_launch__start(struct dp_launch *l, const char *path, char *const *argv)
{
	int go[2], ex[2], err;

	memset(l, 0, sizeof(*l));
	l->release_fd = l->err_fd = -1;
	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(ex, O_CLOEXEC)) {
		err = -errno;
		goto close_go;
	}
	l->pid = fork();
	if (l->pid < 0) {
		err = -errno;
		goto close_ex;
	}
	if (l->pid == 0) {
		char c;

		close(go[1]);
		close(ex[0]);
		/* deferprof ignores SIGPIPE; the command gets the default back. */
		signal(SIGPIPE, SIG_DFL);
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		execvp(path, argv);
		err = errno;
		if (write(ex[1], &err, sizeof(err)) != sizeof(err))
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(ex[1]);
	l->release_fd = go[1];
	l->err_fd = ex[0];
	return 0;
close_ex:
	close(ex[0]);
	close(ex[1]);
close_go:
	close(go[0]);
	close(go[1]);
	return err;
}

int dp_launch__exec_error(struct dp_launch *l)
{
	ssize_t n;
	int e = 0;

	if (l->err_fd < 0)
		return 0;
	do
		n = read(l->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	return n == sizeof(e) ? e : 0;
}

bool dp_launch__ended(const struct dp_launch *l)
{
	siginfo_t si;

	if (l->pid <= 0 || l->reaped)
		return true;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)l->pid, &si, WEXITED | WNOHANG | WNOWAIT))
		return errno == ECHILD;
	return si.si_pid == l->pid;
}

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

bool dp_launch__wait_ended(const struct dp_launch *l, int timeout_ms)
{
	int64_t end = mono_ms() + timeout_ms;
	int fd = -1;

	if (l->pid > 0 && !l->reaped)
		fd = (int)syscall(SYS_pidfd_open, l->pid, 0);	/* readable once it ends */
	while (!dp_launch__ended(l)) {
		int64_t left = end - mono_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (left <= 0)
			break;
		if (fd < 0 && left > 10)
			left = 10;	/* no pidfd (Linux < 5.3): look again every 10 ms */
		if (poll(&pfd, fd >= 0, (int)left) < 0 && errno != EINTR)
			break;
	}
	if (fd >= 0)
		close(fd);
	return dp_launch__ended(l);
}

int dp_launch__wait(struct dp_launch *l, int sig)
{
	if (l->pid <= 0)
		return 0;
	if (!l->reaped) {
		if (sig)
			kill(l->pid, sig);
		while (waitpid(l->pid, &l->status, 0) < 0) {
			if (errno != EINTR)
				return 1;
		}
		l->reaped = true;
	}
	if (WIFSIGNALED(l->status))
		return 128 + WTERMSIG(l->status);
	return WEXITSTATUS(l->status);
}

void dp_launch__close(struct dp_launch *l)
{
	if (l->release_fd >= 0)
		close(l->release_fd);
	if (l->err_fd >= 0)
		close(l->err_fd);
	l->release_fd = l->err_fd = -1;
}
