// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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
	struct dp_lines r;
	const char *why = NULL;
	size_t len, nlong;
	char *line;
	int fd, n = 0, err = 0;

	fd = dp_safe_open(path, &j->owner, &why);
	if (fd < 0) {
		if (why)
			fprintf(stderr, "deferprof: warning: ignoring %s: %s\n", path, why);
		return fd;
	}
	err = dp_lines__init(&r, fd, DP_JITMAP_MAX_BYTES, DP_JITMAP_MAX_LINE);
	/* A long name (Java signatures) stays one line, never two. */
	while (!err && (n = dp_lines__next(&r, &line, &len)) > 0) {
		unsigned long long s, z;
		int pos = 0;

		if (sscanf(line, "%llx %llx %n", &s, &z, &pos) < 2 || !pos || !line[pos]) {
			j->nbad++;
			continue;
		}
		if (j->n >= DP_JITMAP_MAX_SYMS) {
			err = -EFBIG;
			break;
		}
		err = add_sym(j, s, z, line + pos);
	}
	if (!err && n < 0)
		err = n;
	nlong = r.nlong;
	j->nbad += nlong;
	if (!err && r.truncated)
		err = -EFBIG;
	else if (!err && r.aborted)
		err = -EINTR;
	/* One line, the first thing that went wrong. */
	if (err == -EFBIG && j->n >= DP_JITMAP_MAX_SYMS)
		fprintf(stderr, "deferprof: warning: %s: kept its first %u symbols only\n",
			path, DP_JITMAP_MAX_SYMS);
	else if (err == -EFBIG)
		fprintf(stderr, "deferprof: warning: %s: read its first %llu MiB only\n", path,
			DP_JITMAP_MAX_BYTES >> 20);
	else if (err == -EINTR)
		fprintf(stderr, "deferprof: warning: %s: reading stopped by a signal\n", path);
	else if (nlong)
		fprintf(stderr, "deferprof: warning: %s: %zu lines longer than %d bytes or with NUL bytes skipped\n",
			path, nlong, DP_JITMAP_MAX_LINE);
	dp_lines__free(&r);
	close(fd);
	if (j->n)	/* syms is NULL for a map with no symbol */
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
