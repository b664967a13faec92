/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* How deferprof is told to stop: SIGINT, SIGTERM and SIGHUP set a flag the session polls. */
#ifndef DP_SIGNALS_H
#define DP_SIGNALS_H

#include <signal.h>

/* Set by the signal handler: the session stops and returns what it has. */
extern volatile sig_atomic_t dp_stop;
/* The signal that set dp_stop, or 0 (dp_stop set by the program itself). */
extern volatile sig_atomic_t dp_stop_signal;
/*
 * SIGINT, SIGTERM and SIGHUP set dp_stop (and are unblocked), whatever
 * disposition was inherited, even "ignored"; SIGPIPE is ignored.
 */
void dp_signals__install(void);

#endif
