// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "leafgate.h"
#include "dphash.h"

#define PAGE_MASK_	((1ULL << DP_GATE_PAGE_SHIFT) - 1)

struct gpage {
	UT_hash_handle hh;
	uint64_t page;		/* its address */
	bool in_map;		/* written (else decided without an entry) */
};

struct gproc {
	UT_hash_handle hh;
	uint32_t pid;
	struct gpage *pages;
};

struct dp_leafgate {
	struct dp_leafgate_ops ops;
	uint32_t capacity, used;
	struct gproc *procs;
	struct dp_leafgate_stats st;
};

struct dp_leafgate *dp_leafgate__new(const struct dp_leafgate_ops *ops, uint32_t capacity)
{
	struct dp_leafgate *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	g->ops = *ops;
	g->capacity = capacity;
	return g;
}

static void drop_page(struct dp_leafgate *g, struct gproc *p, struct gpage *pg)
{
	if (pg->in_map) {
		int err = g->ops.erase(g->ops.ctx, DP_GATE_KEY(p->pid, pg->page));

		/* -ENOENT: gone already; anything else leaves an entry that is not counted. */
		if (!err || err == -ENOENT) {
			g->used--;
			g->st.erased++;
		}
	}
	HASH_DEL(p->pages, pg);
	free(pg);
}

static void drop_proc(struct dp_leafgate *g, struct gproc *p)
{
	struct gpage *pg, *t;

	HASH_ITER(hh, p->pages, pg, t)
		drop_page(g, p, pg);
	HASH_DEL(g->procs, p);
	free(p);
}

void dp_leafgate__free(struct dp_leafgate *g)
{
	struct gproc *p, *t;

	if (!g)
		return;
	/* The map goes with the program: no erasing here. */
	HASH_ITER(hh, g->procs, p, t) {
		struct gpage *pg, *pt;

		HASH_ITER(hh, p->pages, pg, pt) {
			HASH_DEL(p->pages, pg);
			free(pg);
		}
		HASH_DEL(g->procs, p);
		free(p);
	}
	free(g);
}

static struct gproc *find_proc(const struct dp_leafgate *g, uint32_t pid)
{
	struct gproc *p;

	HASH_FIND(hh, g->procs, &pid, sizeof(pid), p);
	return p;
}

bool dp_leafgate__fits(uint32_t pid, uint64_t addr)
{
	return !(addr >> DP_GATE_ADDR_BITS) &&
	       !((uint64_t)pid >> (64 - (DP_GATE_ADDR_BITS - DP_GATE_PAGE_SHIFT)));
}

bool dp_leafgate__known(const struct dp_leafgate *g, uint32_t pid, uint64_t addr)
{
	const struct gproc *p = find_proc(g, pid);
	uint64_t page = addr & ~PAGE_MASK_;
	struct gpage *pg;

	if (!p)
		return false;
	HASH_FIND(hh, p->pages, &page, sizeof(page), pg);
	return pg != NULL;
}

static bool all_needed(const struct dp_gate_page *pg)
{
	for (int i = 0; i < DP_GATE_WORDS; i++)
		if (pg->bits[i] != ~0ULL)
			return false;
	return true;
}

int dp_leafgate__set(struct dp_leafgate *g, uint32_t pid, uint64_t addr,
		     const struct dp_gate_page *bits)
{
	struct gproc *p = find_proc(g, pid);
	struct gpage *pg;

	if (!dp_leafgate__fits(pid, addr) || dp_leafgate__known(g, pid, addr))
		return 0;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->pid = pid;
		HASH_ADD(hh, g->procs, pid, sizeof(p->pid), p);
		if (dp_hash_failed()) {
			free(p);
			return -ENOMEM;
		}
	}
	pg = calloc(1, sizeof(*pg));
	if (!pg)
		return -ENOMEM;
	pg->page = addr & ~PAGE_MASK_;
	if (all_needed(bits))
		g->st.all_needed++;
	/* Written all the same: a page with no entry wakes user space to learn it. */
	if (g->used >= g->capacity) {
		g->st.refused++;
	} else if (g->ops.write(g->ops.ctx, DP_GATE_KEY(pid, pg->page), bits)) {
		g->st.refused++;	/* decided all the same: not asked again per sample */
	} else {
		pg->in_map = true;
		g->used++;
		g->st.written++;
	}
	HASH_ADD(hh, p->pages, page, sizeof(pg->page), pg);
	if (dp_hash_failed()) {
		if (pg->in_map) {
			g->ops.erase(g->ops.ctx, DP_GATE_KEY(pid, pg->page));
			g->used--;
			g->st.written--;
		}
		free(pg);
		return -ENOMEM;
	}
	return 0;
}

void dp_leafgate__forget_range(struct dp_leafgate *g, uint32_t pid, uint64_t start, uint64_t end)
{
	struct gproc *p = find_proc(g, pid);
	struct gpage *pg, *t;

	if (!p)
		return;
	HASH_ITER(hh, p->pages, pg, t)
		if (pg->page < end && pg->page + PAGE_MASK_ + 1 > start)
			drop_page(g, p, pg);
	if (!p->pages) {
		HASH_DEL(g->procs, p);
		free(p);
	}
}

void dp_leafgate__forget_pid(struct dp_leafgate *g, uint32_t pid)
{
	struct gproc *p = find_proc(g, pid);

	if (p)
		drop_proc(g, p);
}

const struct dp_leafgate_stats *dp_leafgate__stats(const struct dp_leafgate *g)
{
	return &g->st;
}
