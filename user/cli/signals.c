// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "safeopen.h"
#include "signals.h"

volatile sig_atomic_t dp_stop, dp_stop_signal;

static void on_signal(int sig)
{
	dp_stop_signal = sig;
	dp_stop = 1;
	dp_read_signals++;	/* a long read of an untrusted file under way ends too */
}

void dp_signals__install(void)
{
	struct sigaction sa;

	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/*
	 * Whatever was inherited: a shell starting a background job without job
	 * control sets SIGINT to ignored, and a parent may have blocked them.
	 */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}
