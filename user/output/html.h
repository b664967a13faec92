/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * -f html and deferprof diff's page: one self-contained HTML file that draws
 * a profile as an interactive flame graph and icicle graph (d3-flame-graph,
 * inlined with d3), its data embedded as a JSON block (<script
 * type="application/json" id="dp-data">) that the page's script reads.
 * For a profile that block is deferprof's JSON document (dp_json__write),
 * byte for byte except that '<' is written \u003c; the same aggregate gives
 * the same bytes.
 */
#ifndef DP_HTML_H
#define DP_HTML_H

#include <stdio.h>
#include "profile.h"
#include "runinfo.h"

/* Writes the page's JSON data; 0 or -errno. */
typedef int (*dp_html_data_fn)(FILE *f, void *ctx);

/* The page around the data data() writes; title is plain text. 0 or -errno. */
int dp_html__page(FILE *f, const char *title, dp_html_data_fn data, void *ctx);
/* -f html: the profile's page. */
int dp_html__write(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri);

#endif
