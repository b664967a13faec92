/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The limits a run can hit (a full BPF map, store or log, a ring buffer that
 * overflowed, a join that gave up), each said once on stderr while the run
 * goes on, with the option that raises it. The counts themselves are in the
 * report and the exports; this makes a loss impossible to miss.
 */
#ifndef DP_LIMITWARN_H
#define DP_LIMITWARN_H

#include <stdint.h>
#include <stdio.h>
#include "runinfo.h"

/* The settings a message names. */
struct dp_limit_opts {
	uint32_t max_entries, max_stacks, ring_pages;
	uint64_t join_timeout_ms;
};

struct dp_limits {
	uint32_t said;	/* one bit per limit already reported */
};

/* Writes one line to f for each limit first hit in ri; returns how many. */
int dp_limits__check(struct dp_limits *l, const struct dp_runinfo *ri,
		     const struct dp_limit_opts *o, FILE *f);

#endif
