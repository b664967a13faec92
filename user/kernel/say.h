/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* One line on stderr, "deferprof: " first: how the engine and kernel side report errors. */
#ifndef DP_SAY_H
#define DP_SAY_H

void dp_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Lines said so far: whether a failure was already explained to the user. */
unsigned long dp_say__count(void);

#endif
