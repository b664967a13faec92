/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one writer table: each output format's name (as -f takes it), the
 * file names top's w key maps to it, what its profile must carry, and the
 * function that writes a finished profile. The report command, top and
 * dp-replay all write through it.
 */
#ifndef DP_WRITERS_H
#define DP_WRITERS_H

#include <stdbool.h>
#include <stdio.h>
#include "output.h"
#include "profile.h"
#include "runinfo.h"

enum dp_format {
	DP_FMT_REPORT, DP_FMT_FOLDED, DP_FMT_JSON, DP_FMT_NDJSON, DP_FMT_PPROF, DP_FMT_SPEEDSCOPE,
	DP_FMT_HTML, DP_FMT_COUNT
};

struct dp_writer {
	enum dp_format format;
	const char *name;		/* "folded" */
	const char *suffixes[3];	/* file names top writes in this format; NULL-ended */
	bool src_lines;			/* carries source file:line (frames are the same without) */
	bool binary;			/* not for a terminal */
	/*
	 * Writes a whole profile; 0 or -errno. ropts: the report's, NULL for
	 * defaults. NULL for ndjson, written interval by interval (dp_ndjson__*).
	 */
	int (*write)(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri,
		     const struct dp_report_opts *ropts);
};

const struct dp_writer *dp_writer__get(enum dp_format f);
/* By name ("json"); NULL when unknown. */
const struct dp_writer *dp_writer__find(const char *name);
/* By file name, the longest matching suffix; folded when none matches. */
const struct dp_writer *dp_writer__for_path(const char *path);

/* "json" -> DP_FMT_JSON; -1 when unknown. */
int dp_format__parse(const char *name);
const char *dp_format__name(enum dp_format f);

#endif
