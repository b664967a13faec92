/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Writers of a finished profile. Each writes to a stdio stream and returns 0 or -errno. */
#ifndef DP_OUTPUT_H
#define DP_OUTPUT_H

#include <stdio.h>
#include "profile.h"
#include "runinfo.h"

struct dp_report_opts {
	uint32_t top_stacks;	/* stacks shown */
	uint32_t top_funcs;	/* functions shown */
};

int dp_report__write(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri,
		     const struct dp_report_opts *opts);
int dp_folded__write(FILE *f, const struct dp_profile *p);

#endif
