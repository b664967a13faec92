/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A profiling session: opens the sampling events, loads and attaches the BPF
 * program, reads the ring buffers and drains the BPF map until told to stop,
 * and hands back the aggregate with every counter. The thin layer that
 * talks to the kernel; everything it feeds is pure.
 */
#ifndef DP_SESSION_H
#define DP_SESSION_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "options.h"
#include "probe.h"
#include "runinfo.h"
#include "stacks.h"

struct dp_ksyms;
struct dp_usyms;
struct dp_comms;

struct dp_session_result {
	struct dp_runinfo ri;
	struct dp_stack_table table;	/* the product: joined stacks */
	struct dp_stack_table raw;	/* --verify: stacks stitched from raw samples */
	struct dp_usyms *us;
	struct dp_comms *comms;
	bool target_exited;
	/*
	 * Held by the session while it changes us and comms: a reader in another
	 * thread (the live view) takes it while it symbolizes.
	 */
	pthread_mutex_t lock;
};

/*
 * Periodic delivery while the session runs. tick gets the counts of the
 * interval just ended (and res->ri with the counters so far), every
 * interval_ns and once more, with final set, when the session ends. It runs
 * on the session's thread; a non-zero return stops the session with that error.
 */
struct dp_session_hooks {
	uint64_t interval_ns;
	int (*tick)(void *ctx, struct dp_session_result *res, const struct dp_stack_table *delta,
		    bool final);
	void *ctx;
};

/* Set by the signal handler: the session stops and returns what it has. */
extern volatile sig_atomic_t dp_stop;
/* The signal that set dp_stop, or 0 (dp_stop set by the program itself). */
extern volatile sig_atomic_t dp_stop_signal;
/* CLOCK_MONOTONIC when main() began, for -v's start-up time; 0 if unset. */
extern uint64_t dp_launch_ns;
/* SIGINT, SIGTERM and SIGHUP set dp_stop; SIGPIPE is ignored. */
void dp_session__install_signals(void);

/*
 * -p and -t: every pid exists, is not a kernel thread, and -p's are
 * processes. Called when deferprof starts, so that a target gone later is
 * known to have exited during the start-up. One line on stderr on error.
 */
int dp_session__check_target(const struct dp_opts *o);

/*
 * Run one session. child is the started command's pid (held until release_fd is written)
 * or 0. Errors print one line to stderr and return a negative errno.
 */
int dp_session__run(const struct dp_opts *o, const struct dp_probe *pr, pid_t child,
		    int release_fd, const struct dp_session_hooks *hooks,
		    struct dp_session_result *res);
void dp_session_result__free(struct dp_session_result *res);

#endif
