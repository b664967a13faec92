// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Brendan Gregg's folded stacks: "comm;root;...;leaf count", one line per stack. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "output.h"

/* Separators and line breaks inside a name would break the format. */
static void put_name(FILE *f, const char *s)
{
	for (;;) {
		size_t n = strcspn(s, ";\n\r");

		fwrite(s, 1, n, f);	/* the plain run in one call */
		if (!s[n])
			return;
		fputc(s[n] == ';' ? ':' : ' ', f);
		s += n + 1;
	}
}

int dp_folded__write(FILE *f, const struct dp_profile *p)
{
	struct dp_export x;
	int err = dp_export__build_per_comm(&x, p);

	uint32_t *buf;

	if (err)
		return err;
	buf = malloc((x.max_frames + 1) * sizeof(*buf));
	if (!buf) {
		dp_export__free(&x);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < x.nstacks; i++) {
		const struct dp_xstack *xs = &x.stacks[i];
		const uint32_t *fr = dp_export__stack_frames(&x, xs, buf);

		put_name(f, xs->comm);
		for (uint32_t k = 0; k < xs->nframes; k++) {
			fputc(';', f);
			put_name(f, dp_export__frame(&x, fr[k])->name);
		}
		fprintf(f, " %" PRIu64 "\n", xs->count);
	}
	free(buf);
	dp_export__free(&x);
	return ferror(f) ? -EIO : 0;
}
