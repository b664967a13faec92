// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Brendan Gregg's folded stacks: "comm;root;...;leaf count", one line per stack. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
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
	struct dp_merged *m;
	uint32_t n, *fr;
	int err = dp_profile__merge(p, true, &m, &n);

	if (err)
		return err;
	fr = malloc((p->max_frames + 1) * sizeof(*fr));
	if (!fr) {
		free(m);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t nf = dp_profile__frames(p, m[i].node, fr);

		put_name(f, m[i].comm);
		for (uint32_t k = 0; k < nf; k++) {
			fputc(';', f);
			put_name(f, p->frames[fr[k]].name);
		}
		fprintf(f, " %" PRIu64 "\n", m[i].count);
	}
	free(fr);
	free(m);
	return ferror(f) ? -EIO : 0;
}
