/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* deferprof top: the live terminal view. */
#ifndef DP_TOP_H
#define DP_TOP_H

#include "options.h"
#include "probe.h"

/* Run the live view; returns the process exit status. */
int dp_top__main(const struct dp_opts *o, const struct dp_probe *pr);

#endif
