// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "jitmap.h"

static int cmp_jit(const void *a, const void *b)
{
	const struct dp_jit_sym *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int add_sym(struct dp_jitmap *j, uint64_t start, uint64_t size, const char *name)
{
	char *dup;

	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 256;
		struct dp_jit_sym *n = realloc(j->syms, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		j->syms = n;
		j->cap = cap;
	}
	dup = strdup(name);
	if (!dup)
		return -ENOMEM;
	j->syms[j->n++] = (struct dp_jit_sym){ .start = start, .size = size, .name = dup };
	return 0;
}

int dp_jitmap__load(struct dp_jitmap *j, const char *path)
{
	char *line = NULL;
	size_t linecap = 0;
	ssize_t len;
	FILE *f;
	int err = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* getline: a long name (Java signatures) stays one line, never two. */
	while ((len = getline(&line, &linecap, f)) > 0) {
		unsigned long long s, z;
		int pos = 0;

		if (line[len - 1] == '\n')
			line[len - 1] = 0;
		if (sscanf(line, "%llx %llx %n", &s, &z, &pos) < 2 || !pos || !line[pos]) {
			j->nbad++;
			continue;
		}
		err = add_sym(j, s, z, line + pos);
		if (err)
			break;
	}
	if (!err && !feof(f))
		err = -(errno ? errno : EIO);
	free(line);
	fclose(f);
	qsort(j->syms, j->n, sizeof(*j->syms), cmp_jit);
	return err;
}

const struct dp_jit_sym *dp_jitmap__find(const struct dp_jitmap *j, uint64_t addr)
{
	const struct dp_jit_sym *best = NULL;
	size_t lo = 0, hi = j->n;

	/* The last symbol starting at or below addr, if addr is inside it. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (j->syms[mid].start <= addr) {
			best = &j->syms[mid];
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return best && addr < best->start + best->size ? best : NULL;
}

void dp_jitmap__free(struct dp_jitmap *j)
{
	for (size_t i = 0; i < j->n; i++)
		free(j->syms[i].name);
	free(j->syms);
	memset(j, 0, sizeof(*j));
}
