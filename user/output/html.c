// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * -f html: one self-contained page (html.h). Everything it needs is inlined:
 * d3 and d3-flame-graph (embedded at build time, htmlassets.S) with their
 * license texts, the page's own script and style, and the data as a JSON
 * block the script reads. Nothing is fetched: it opens from file://.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "html.h"
#include "htmlassets.h"
#include "version.h"

/* Text for an HTML element or attribute. */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/*
 * JSON inside <script type="application/json">: the only thing that could
 * end the element early is "</script" (or open a comment: "<!--"), and '<'
 * appears only inside strings, where \u003c means the same character.
 */
static void put_json_in_script(FILE *f, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		const char *lt = memchr(s + i, '<', len - i);
		size_t n = lt ? (size_t)(lt - (s + i)) : len - i;

		fwrite(s + i, 1, n, f);
		i += n;
		if (lt) {
			fputs("\\u003c", f);
			i++;
		}
	}
}

static void put_asset(FILE *f, const char *start, const char *end)
{
	fwrite(start, 1, (size_t)(end - start), f);
}

#define ASSET(f, sym) put_asset(f, sym, sym##_end)

int dp_html__page(FILE *f, const char *title, dp_html_data_fn data, void *ctx)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	int err;

	if (!m)
		return -errno;
	err = data(m, ctx);
	if (fclose(m) && !err)
		err = -EIO;
	if (err) {
		free(buf);
		return err;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n", f);
	fprintf(f, "<meta name=\"generator\" content=\"deferprof %s\">\n<title>", DP_VERSION);
	put_escaped(f, title);
	fputs("</title>\n<style>\n", f);
	ASSET(f, dp_asset_flamegraph_css);
	fputs("\n</style>\n<style>\n", f);
	ASSET(f, dp_asset_page_css);
	fputs("</style>\n</head>\n<body>\n"
	      "<noscript>This page draws the profile with JavaScript: allow scripts for this file.</noscript>\n"
	      "<div id=\"dp-page\"></div>\n"
	      "<script type=\"application/json\" id=\"dp-data\">\n", f);
	put_json_in_script(f, buf, len);
	free(buf);
	fputs("</script>\n<script type=\"text/plain\" id=\"dp-license-d3\">\n", f);
	ASSET(f, dp_asset_d3_license);
	fputs("</script>\n<script type=\"text/plain\" id=\"dp-license-d3-flame-graph\">\n", f);
	ASSET(f, dp_asset_flamegraph_license);
	fputs("</script>\n<script>\n", f);
	ASSET(f, dp_asset_d3_js);
	fputs("\n</script>\n<script>\n", f);
	ASSET(f, dp_asset_flamegraph_js);
	fputs("\n</script>\n<script>\n", f);
	ASSET(f, dp_asset_page_js);
	fputs("</script>\n</body>\n</html>\n", f);
	return ferror(f) ? -EIO : 0;
}

struct profile_ctx {
	const struct dp_profile *p;
	const struct dp_runinfo *ri;
};

static int profile_data(FILE *m, void *arg)
{
	const struct profile_ctx *c = arg;

	return dp_json__write(m, c->p, c->ri);
}

int dp_html__write(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri)
{
	struct profile_ctx c = { .p = p, .ri = ri };
	char title[256];

	snprintf(title, sizeof(title), "deferprof: %s", ri->target[0] ? ri->target : "profile");
	return dp_html__page(f, title, profile_data, &c);
}
