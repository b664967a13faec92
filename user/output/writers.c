// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The writer table (writers.h): format names, file suffixes and writers. */
#include <string.h>
#include "export.h"
#include "html.h"
#include "writers.h"

static int write_report(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri,
			const struct dp_report_opts *ropts)
{
	return dp_report__write(f, p, ri, ropts);
}

static int write_folded(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri,
			const struct dp_report_opts *ropts)
{
	(void)ri;
	(void)ropts;
	return dp_folded__write(f, p);
}

static int write_json(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri,
		      const struct dp_report_opts *ropts)
{
	(void)ropts;
	return dp_json__write(f, p, ri);
}

static int write_pprof(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri,
		       const struct dp_report_opts *ropts)
{
	(void)ropts;
	return dp_pprof__write(f, p, ri);
}

static int write_speedscope(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri,
			    const struct dp_report_opts *ropts)
{
	(void)ropts;
	return dp_speedscope__write(f, p, ri);
}

static int write_html(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri,
		      const struct dp_report_opts *ropts)
{
	(void)ropts;
	return dp_html__write(f, p, ri);
}

static const struct dp_writer writers[DP_FMT_COUNT] = {
	[DP_FMT_REPORT] = { DP_FMT_REPORT, "report", { NULL }, false, false, write_report },
	[DP_FMT_FOLDED] = { DP_FMT_FOLDED, "folded", { ".folded", NULL }, false, false,
			    write_folded },
	[DP_FMT_JSON] = { DP_FMT_JSON, "json", { ".json", NULL }, true, false, write_json },
	[DP_FMT_NDJSON] = { DP_FMT_NDJSON, "ndjson", { NULL }, true, false, NULL },
	[DP_FMT_PPROF] = { DP_FMT_PPROF, "pprof", { ".pb.gz", ".pprof", NULL }, true, true,
			   write_pprof },
	[DP_FMT_SPEEDSCOPE] = { DP_FMT_SPEEDSCOPE, "speedscope", { ".speedscope.json", NULL },
				true, false, write_speedscope },
	/* Its tooltips show file:line. */
	[DP_FMT_HTML] = { DP_FMT_HTML, "html", { ".html", ".htm", NULL }, true, false, write_html },
};

const struct dp_writer *dp_writer__get(enum dp_format f)
{
	return (unsigned int)f < DP_FMT_COUNT ? &writers[f] : NULL;
}

const struct dp_writer *dp_writer__find(const char *name)
{
	for (unsigned int i = 0; i < DP_FMT_COUNT; i++)
		if (!strcmp(name, writers[i].name))
			return &writers[i];
	return NULL;
}

const struct dp_writer *dp_writer__for_path(const char *path)
{
	const struct dp_writer *best = &writers[DP_FMT_FOLDED];
	size_t n = strlen(path), best_len = 0;

	for (unsigned int i = 0; i < DP_FMT_COUNT; i++) {
		for (const char *const *s = writers[i].suffixes; *s; s++) {
			size_t k = strlen(*s);

			if (k > best_len && k <= n && !strcmp(path + n - k, *s)) {
				best = &writers[i];
				best_len = k;
			}
		}
	}
	return best;
}

int dp_format__parse(const char *name)
{
	const struct dp_writer *w = dp_writer__find(name);

	return w ? (int)w->format : -1;
}

const char *dp_format__name(enum dp_format f)
{
	const struct dp_writer *w = dp_writer__get(f);

	return w ? w->name : "?";
}
