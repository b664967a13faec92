// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "addrspace.h"

struct dp_aspace *dp_aspaces__get(struct dp_aspaces *t, uint32_t pid, bool create)
{
	struct dp_aspace *as;

	HASH_FIND(hh, t->head, &pid, sizeof(pid), as);
	if (as || !create)
		return as;
	as = calloc(1, sizeof(*as));
	if (!as)
		return NULL;
	as->pid = pid;
	HASH_ADD(hh, t->head, pid, sizeof(pid), as);
	return as;
}

static void free_aspace(struct dp_aspace *as)
{
	dp_jitmap__free(&as->jit);
	free(as->maps);
	free(as);
}

void dp_aspaces__drop(struct dp_aspaces *t, uint32_t pid)
{
	struct dp_aspace *as = dp_aspaces__get(t, pid, false);

	if (!as)
		return;
	HASH_DEL(t->head, as);
	free_aspace(as);
}

void dp_aspaces__free(struct dp_aspaces *t)
{
	struct dp_aspace *as, *tmp;

	HASH_ITER(hh, t->head, as, tmp) {
		HASH_DEL(t->head, as);
		free_aspace(as);
	}
}

/* Index of the first mapping whose start is >= start. */
static size_t lower_bound(const struct dp_aspace *as, uint64_t start)
{
	size_t lo = 0, hi = as->nmaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (as->maps[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int dp_aspace__put(struct dp_aspace *as, const struct dp_map *m)
{
	size_t i = lower_bound(as, m->start);

	if (i < as->nmaps && as->maps[i].start == m->start) {
		as->maps[i] = *m;
		return 0;
	}
	if (as->nmaps == as->cap) {
		size_t cap = as->cap ? as->cap * 2 : 64;
		struct dp_map *n = realloc(as->maps, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		as->maps = n;
		as->cap = cap;
	}
	memmove(&as->maps[i + 1], &as->maps[i], (as->nmaps - i) * sizeof(*as->maps));
	as->maps[i] = *m;
	as->nmaps++;
	return 0;
}

const struct dp_map *dp_aspace__find(const struct dp_aspace *as, uint64_t addr)
{
	size_t lo = 0, hi = as->nmaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < as->maps[mid].start)
			hi = mid;
		else if (addr >= as->maps[mid].end)
			lo = mid + 1;
		else
			return &as->maps[mid];
	}
	return NULL;
}
