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
	if (dp_hash_failed()) {
		free(as);
		return NULL;
	}
	return as;
}

static void free_aspace(struct dp_aspace *as)
{
	dp_jitmap__free(&as->jit);
	free(as->maps);
	free(as->old);
	free(as->data);
	free(as);
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

/* Room for one more elem-sized element in *arr (n used of *cap). */
static int room(void **arr, size_t n, size_t *cap, size_t elem)
{
	size_t c;
	void *a;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	a = realloc(*arr, c * elem);
	if (!a)
		return -ENOMEM;
	*arr = a;
	*cap = c;
	return 0;
}

/* m live at index i. */
static int insert_live(struct dp_aspace *as, size_t i, const struct dp_map *m)
{
	as->changes++;
	if (room((void **)&as->maps, as->nmaps, &as->cap, sizeof(*as->maps)))
		return -ENOMEM;
	memmove(&as->maps[i + 1], &as->maps[i], (as->nmaps - i) * sizeof(*as->maps));
	as->maps[i] = *m;
	as->nmaps++;
	return 0;
}

static void remove_live(struct dp_aspace *as, size_t i)
{
	as->changes++;
	memmove(&as->maps[i], &as->maps[i + 1], (as->nmaps - i - 1) * sizeof(*as->maps));
	as->nmaps--;
}

/* m was live until now: kept for the generations before this one. */
static int retire(struct dp_aspace *as, const struct dp_map *m)
{
	if (room((void **)&as->old, as->nold, &as->capold, sizeof(*as->old)))
		return -ENOMEM;
	as->old[as->nold] = *m;
	as->old[as->nold].gen_to = as->gen;
	as->nold++;
	return 0;
}

/* The same mapping again (a snapshot after its MMAP2, or the other way round). */
static bool same(const struct dp_map *a, const struct dp_map *b)
{
	return a->start == b->start && a->end == b->end && a->pgoff == b->pgoff && a->obj == b->obj &&
	       (a->obj || a->name == b->name || (a->name && b->name && !strcmp(a->name, b->name)));
}

int dp_aspace__put(struct dp_aspace *as, const struct dp_map *in)
{
	struct dp_map m = *in;
	size_t i = lower_bound(as, m.start), first, last;
	bool replaces = false;

	/* The live mappings m overlaps: [first, last). */
	first = i && as->maps[i - 1].end > m.start ? i - 1 : i;
	for (last = first; last < as->nmaps && as->maps[last].start < m.end; last++) {
		if (same(&as->maps[last], &m))
			return 0;
		/* Code of another object where m goes: names of earlier samples change. */
		replaces |= as->maps[last].obj != m.obj || (m.obj && as->maps[last].pgoff -
			    as->maps[last].start != m.pgoff - m.start);
	}
	if (replaces && as->gen < DP_ASPACE_MAX_GEN) {
		as->gen++;
		for (size_t k = first; k < last; k++)
			if (retire(as, &as->maps[k]))
				return -ENOMEM;
	}
	/* What stays live of each: the part below m and the part above it. */
	while (last > first) {
		struct dp_map o = as->maps[--last];

		remove_live(as, last);
		if (o.end > m.end) {
			struct dp_map hi = o;

			hi.pgoff += m.end - o.start;
			hi.start = m.end;
			if (insert_live(as, last, &hi))
				return -ENOMEM;
		}
		if (o.start < m.start) {
			o.end = m.start;
			if (insert_live(as, last, &o))
				return -ENOMEM;
		}
	}
	m.gen_from = as->gen;
	return insert_live(as, lower_bound(as, m.start), &m);
}

int dp_aspace__exec(struct dp_aspace *as)
{
	if (as->gen >= DP_ASPACE_MAX_GEN) {
		as->nmaps = 0;
		return 0;
	}
	as->gen++;
	for (size_t i = 0; i < as->nmaps; i++)
		if (retire(as, &as->maps[i]))
			return -ENOMEM;
	as->nmaps = 0;
	for (size_t i = 0; i < as->ndata; i++)
		if (!as->data[i].gen_to)
			as->data[i].gen_to = as->gen;
	memmove(as->exec_gens + 1, as->exec_gens, sizeof(as->exec_gens) - sizeof(as->exec_gens[0]));
	as->exec_gens[0] = as->gen;
	/* The new program has its own JIT map, if any. */
	dp_jitmap__free(&as->jit);
	memset(&as->jit, 0, sizeof(as->jit));
	as->jit_loaded = false;
	return 0;
}

int dp_aspace__copy(struct dp_aspace *dst, const struct dp_aspace *src)
{
	for (size_t i = 0; i < src->nmaps; i++) {
		struct dp_map m = src->maps[i];

		m.gen_from = dst->gen;
		if (insert_live(dst, dst->nmaps, &m))
			return -ENOMEM;
	}
	for (size_t i = 0; i < src->ndata; i++)
		if (!src->data[i].gen_to && dp_aspace__put_data(dst, &src->data[i]))
			return -ENOMEM;
	return 0;
}

/* Whether x is live and overlaps d. */
static bool live_overlap(const struct dp_datamap *x, const struct dp_datamap *d)
{
	return !x->gen_to && x->start < d->end && d->start < x->end;
}

/* The live data mapping of the same name overlapping d ([heap] and [stack] move their bounds). */
static struct dp_datamap *same_data(const struct dp_aspace *as, const struct dp_datamap *d)
{
	for (size_t i = 0; i < as->ndata; i++)
		if (live_overlap(&as->data[i], d) && !strcmp(as->data[i].name, d->name))
			return &as->data[i];
	return NULL;
}

bool dp_aspace__has_data(const struct dp_aspace *as, const struct dp_datamap *d)
{
	return same_data(as, d) != NULL;
}

int dp_aspace__put_data(struct dp_aspace *as, const struct dp_datamap *d)
{
	struct dp_datamap *o = same_data(as, d);

	if (o) {	/* seen again (a later snapshot): kept once, with its bounds now */
		o->start = d->start;
		o->end = d->end;
		o->pgoff = d->pgoff;
		return 0;
	}
	/* Another file's data where a mapping was: that one is gone (names only, no history kept). */
	for (size_t i = 0; i < as->ndata;) {
		if (live_overlap(&as->data[i], d)) {
			memmove(&as->data[i], &as->data[i + 1], (as->ndata - i - 1) * sizeof(*as->data));
			as->ndata--;
		} else {
			i++;
		}
	}
	if (room((void **)&as->data, as->ndata, &as->capdata, sizeof(*as->data)))
		return -ENOMEM;
	as->data[as->ndata] = *d;
	as->data[as->ndata].gen_from = as->gen;
	as->data[as->ndata].gen_to = 0;
	as->ndata++;
	return 0;
}

const struct dp_datamap *dp_aspace__find_data(const struct dp_aspace *as, uint32_t gen,
					      uint64_t addr)
{
	for (size_t i = 0; i < as->ndata; i++) {
		const struct dp_datamap *d = &as->data[i];

		if (addr >= d->start && addr < d->end && gen >= d->gen_from &&
		    (!d->gen_to || gen < d->gen_to))
			return d;
	}
	return NULL;
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

static const struct dp_map *held_in(const struct dp_aspace *as, uint32_t gen, uint64_t addr)
{
	const struct dp_map *m = dp_aspace__find(as, addr);

	if (m && m->gen_from <= gen)
		return m;
	/* Retired: the latest that held addr in gen (few; kept in order). */
	for (size_t i = as->nold; i-- > 0;) {
		const struct dp_map *o = &as->old[i];

		if (addr >= o->start && addr < o->end && o->gen_from <= gen && gen < o->gen_to)
			return o;
	}
	return NULL;
}

const struct dp_map *dp_aspace__find_at(const struct dp_aspace *as, uint32_t gen, uint64_t addr)
{
	const struct dp_map *m = held_in(as, gen, addr);

	if (m || !gen)
		return m;
	for (size_t i = 0; i < sizeof(as->exec_gens) / sizeof(as->exec_gens[0]); i++)
		if (as->exec_gens[i] == gen)
			return held_in(as, gen - 1, addr);	/* inside execve: the old program */
	return NULL;
}
