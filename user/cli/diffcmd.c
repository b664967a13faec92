// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* deferprof diff BASE NEW: its command line, its files, and which output (diffcmd.h). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diff.h"
#include "diffcmd.h"
#include "outfile.h"

#define DIFF_USAGE \
"Usage: deferprof diff BASE NEW [-f report|folded|html] [-o FILE] [--top N]\n" \
"Compares two profiles: deferprof -f json documents, or two folded files.\n" \
"Shares of each side's total samples are compared, so runs of different lengths compare.\n" \
"  -f, --format FMT   report (default): the functions whose share changed most;\n" \
"                     folded: \"stack BASE NEW\" lines, BASE scaled to NEW's total\n" \
"                     (flamegraph.pl draws them as a differential flame graph);\n" \
"                     html: one page, a differential flame graph (red: a larger share\n" \
"                     in NEW, blue: smaller) and the table of changes\n" \
"  -o, --output FILE  write there instead of stdout (atomically)\n" \
"      --top N        functions listed (default 20)\n" \
"Example:\n" \
"  deferprof diff before.json after.json -f html -o diff.html\n"

enum diff_fmt { DIFF_REPORT, DIFF_FOLDED, DIFF_HTML };

/* The whole file, NUL-terminated; NULL with errno set. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;
	int e;

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (cap - n < 65536) {
			char *p = realloc(buf, cap ? cap * 2 : 1 << 20);

			if (!p) {
				e = ENOMEM;
				goto fail;
			}
			buf = p;
			cap = cap ? cap * 2 : 1 << 20;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(f)) {
		e = EIO;
		goto fail;
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
fail:
	fclose(f);
	free(buf);
	errno = e;
	return NULL;
}

static int read_side(struct dp_diff *d, enum dp_diff_side s, const char *path)
{
	char err[512];
	size_t len;
	char *buf = slurp(path, &len);
	int rc;

	if (!buf) {
		fprintf(stderr, "deferprof diff: cannot read %s: %s\n", path, strerror(errno));
		return -errno;
	}
	rc = dp_diff__read(d, s, path, buf, len, err, sizeof(err));
	free(buf);
	if (rc)
		fprintf(stderr, "deferprof diff: %s\n", err);
	return rc;
}

int dp_diffcmd__main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "top", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	enum diff_fmt fmt = DIFF_REPORT;
	const char *out = NULL;
	unsigned long top = 20;
	struct dp_outfile of;
	struct dp_diff d;
	char err[512];
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:o:h", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'f':
			if (!strcmp(optarg, "report"))
				fmt = DIFF_REPORT;
			else if (!strcmp(optarg, "folded"))
				fmt = DIFF_FOLDED;
			else if (!strcmp(optarg, "html"))
				fmt = DIFF_HTML;
			else {
				fprintf(stderr, "deferprof diff: unknown format '%s': expected report, folded or html\n", optarg);
				return 2;
			}
			break;
		case 'o':
			out = optarg;
			break;
		case 'T':
			errno = 0;
			top = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || top < 1 || top > 100000) {
				fprintf(stderr, "deferprof diff: invalid --top '%s': expected 1 to 100000\n", optarg);
				return 2;
			}
			break;
		case 'h':
			fputs(DIFF_USAGE, stdout);
			return 0;
		case ':':
			fprintf(stderr, "deferprof diff: %s needs a value (see deferprof diff --help)\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "deferprof diff: unknown option '%s' (see deferprof diff --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "deferprof diff: expected two files, BASE and NEW, got %d (see deferprof diff --help)\n",
			argc - optind);
		return 2;
	}
	dp_diff__init(&d);
	rc = read_side(&d, DP_DIFF_BASE, argv[optind]);
	if (!rc)
		rc = read_side(&d, DP_DIFF_NEW, argv[optind + 1]);
	if (!rc) {
		rc = dp_diff__finish(&d, err, sizeof(err));
		if (rc)
			fprintf(stderr, "deferprof diff: %s\n", err);
	}
	if (rc) {
		dp_diff__free(&d);
		return 1;
	}
	if (dp_outfile__open(&of, out)) {
		dp_diff__free(&d);
		return 1;
	}
	rc = fmt == DIFF_FOLDED ? dp_diff__write_folded(of.f, &d) :
	     fmt == DIFF_HTML ? dp_diff__write_html(of.f, &d, (uint32_t)top) :
	     dp_diff__write_report(of.f, &d, (uint32_t)top);
	if (rc)
		fprintf(stderr, "deferprof diff: writing %s failed: %s\n", out ? out : "stdout", strerror(-rc));
	if (dp_outfile__close(&of, rc == 0) && !rc)
		rc = -EIO;
	dp_diff__free(&d);
	return rc ? 1 : 0;
}
