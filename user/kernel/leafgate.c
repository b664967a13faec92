// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "leafgate.h"
#include "dphash.h"

#define PAGE_BYTES	(1ULL << DP_GATE_PAGE_SHIFT)

enum gstate {
	G_COUNTING,	/* not in the map yet: its captures counted */
	G_IN_MAP,	/* in the map; captures from bytes not worked out still counted */
	G_REFUSED,	/* not in the map: it was full, or the write failed; not asked again */
};

/* What is known of a page: allocated when a first span of it is worked out. */
struct gknown {
	struct dp_gate_page bits;	/* worked-out bytes' bits */
	struct dp_gate_page done;	/* which bytes are worked out */
};

struct gpage {
	UT_hash_handle hh;
	uint64_t page;		/* its address */
	struct gknown *known;	/* NULL until a span is worked out */
	uint32_t captures;	/* from bytes not worked out, since the last span */
	uint8_t state;		/* enum gstate */
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
	/* The page of the last capture: a hot loop's captures ask no hash table. */
	struct gpage *last;
	uint32_t last_pid;
	uint32_t *exited;	/* processes to forget once their last samples are read */
	size_t nexited, capexited;
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

/* pg out of the bookkeeping, and out of the map too when erase. */
static void drop_page(struct dp_leafgate *g, struct gproc *p, struct gpage *pg, bool erase)
{
	if (g->last == pg)
		g->last = NULL;
	if (erase && pg->state == G_IN_MAP) {
		int err = g->ops.erase(g->ops.ctx, DP_GATE_KEY(p->pid, pg->page));

		/* -ENOENT: gone already; anything else leaves an entry, still counted as used. */
		if (!err || err == -ENOENT) {
			g->used--;
			g->st.erased++;
		}
	}
	HASH_DEL(p->pages, pg);
	free(pg->known);
	free(pg);
}

/* pid's pages out of the bookkeeping, and out of the map too when erase. */
static void drop_proc(struct dp_leafgate *g, struct gproc *p, bool erase)
{
	struct gpage *pg, *t;

	HASH_ITER(hh, p->pages, pg, t)
		drop_page(g, p, pg, erase);
	HASH_DEL(g->procs, p);
	free(p);
}

void dp_leafgate__free(struct dp_leafgate *g)
{
	struct gproc *p, *t;

	if (!g)
		return;
	/* The map goes with the program: no erasing here. */
	HASH_ITER(hh, g->procs, p, t)
		drop_proc(g, p, false);
	free(g->exited);
	free(g);
}

static struct gproc *find_proc(const struct dp_leafgate *g, uint32_t pid)
{
	struct gproc *p;

	HASH_FIND(hh, g->procs, &pid, sizeof(pid), p);
	return p;
}

static struct gpage *find_page(const struct gproc *p, uint64_t addr)
{
	uint64_t page = addr & ~(PAGE_BYTES - 1);
	struct gpage *pg;

	if (!p)
		return NULL;
	HASH_FIND(hh, p->pages, &page, sizeof(page), pg);
	return pg;
}

bool dp_leafgate__fits(uint32_t pid, uint64_t addr)
{
	return !(addr >> DP_GATE_ADDR_BITS) &&
	       !((uint64_t)pid >> (64 - (DP_GATE_ADDR_BITS - DP_GATE_PAGE_SHIFT)));
}

/* Whether byte i of the page is worked out. */
static bool byte_done(const struct gpage *pg, uint64_t i)
{
	return pg->known && ((pg->known->done.bits[i / 64] >> (i % 64)) & 1);
}

int dp_leafgate__seen(struct dp_leafgate *g, uint32_t pid, uint64_t addr, bool eager)
{
	const uint32_t at = eager ? DP_GATE_LEARN_EAGER : DP_GATE_LEARN_AT;
	struct gproc *p = NULL;
	struct gpage *pg;

	if (!dp_leafgate__fits(pid, addr))
		return 0;
	if (g->last && g->last_pid == pid && g->last->page == (addr & ~(PAGE_BYTES - 1))) {
		pg = g->last;
	} else {
		p = find_proc(g, pid);
		pg = find_page(p, addr);
		if (pg) {
			g->last = pg;
			g->last_pid = pid;
		}
	}
	if (pg) {
		/* A byte worked out came with a capture: its bit is set, the read was needed. */
		if (pg->state == G_REFUSED || byte_done(pg, addr & (PAGE_BYTES - 1)))
			return 0;
		return ++pg->captures >= at;
	}
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
	pg->page = addr & ~(PAGE_BYTES - 1);
	pg->state = G_COUNTING;
	pg->captures = 1;
	HASH_ADD(hh, p->pages, page, sizeof(pg->page), pg);
	if (dp_hash_failed()) {
		free(pg);
		return -ENOMEM;
	}
	g->last = pg;
	g->last_pid = pid;
	return at == 1;
}

/* The page's value in the map: worked-out bytes' bits, every other byte set (read). */
static void map_value(const struct gknown *k, struct dp_gate_page *out)
{
	for (int w = 0; w < DP_GATE_WORDS; w++)
		out->bits[w] = (k->bits.bits[w] & k->done.bits[w]) | ~k->done.bits[w];
}

int dp_leafgate__learn(struct dp_leafgate *g, uint32_t pid, uint64_t addr,
		       const struct dp_gate_page *bits, uint32_t from, uint32_t to)
{
	struct gpage *pg = find_page(find_proc(g, pid), addr);
	struct dp_gate_page val;
	struct gknown k;

	if (!pg)
		return -ENOENT;
	pg->captures = 0;
	if (pg->state == G_REFUSED || from >= to || to > PAGE_BYTES)
		return 0;
	if (pg->state == G_COUNTING && g->used >= g->capacity) {
		pg->state = G_REFUSED;
		g->st.refused++;
		return 0;
	}
	/* What the page would hold: kept only once the map has it. */
	if (pg->known)
		k = *pg->known;
	else
		memset(&k, 0, sizeof(k));
	for (uint32_t i = from; i < to; i++) {
		uint64_t m = 1ULL << (i % 64);

		k.done.bits[i / 64] |= m;
		k.bits.bits[i / 64] = (k.bits.bits[i / 64] & ~m) | (bits->bits[i / 64] & m);
	}
	if (!pg->known && !(pg->known = calloc(1, sizeof(*pg->known))))
		return 0;	/* out of memory: counted again, asked again */
	map_value(&k, &val);
	if (g->ops.write(g->ops.ctx, DP_GATE_KEY(pid, pg->page), &val)) {
		/*
		 * A page not in the map is not asked again; one in it keeps its
		 * last value, where these bytes are still read: they are counted
		 * and asked again.
		 */
		if (pg->state == G_COUNTING)
			pg->state = G_REFUSED;
		g->st.refused++;
		return 0;
	}
	*pg->known = k;
	if (pg->state == G_COUNTING) {
		pg->state = G_IN_MAP;
		g->used++;
		g->st.written++;
	}
	g->st.spans++;
	return 0;
}

void dp_leafgate__forget_range(struct dp_leafgate *g, uint32_t pid, uint64_t start, uint64_t end)
{
	struct gproc *p = find_proc(g, pid);
	struct gpage *pg, *t;

	if (!p)
		return;
	HASH_ITER(hh, p->pages, pg, t)
		if (pg->page < end && pg->page + PAGE_BYTES > start)
			drop_page(g, p, pg, true);
	if (!p->pages)
		drop_proc(g, p, false);
}

void dp_leafgate__forget_pid(struct dp_leafgate *g, uint32_t pid)
{
	struct gproc *p = find_proc(g, pid);

	if (p)
		drop_proc(g, p, true);
}

const struct dp_leafgate_stats *dp_leafgate__stats(const struct dp_leafgate *g)
{
	return &g->st;
}

void dp_leafgate__exited(struct dp_leafgate *g, uint32_t pid)
{
	/* Queued even without pages yet: its last samples may bring the first. */
	if (g->nexited == g->capexited) {
		size_t cap = g->capexited ? 2 * g->capexited : 16;
		uint32_t *n = realloc(g->exited, cap * sizeof(*n));

		if (!n) {	/* forgotten now: its last samples may publish a page again */
			dp_leafgate__forget_pid(g, pid);
			return;
		}
		g->exited = n;
		g->capexited = cap;
	}
	g->exited[g->nexited++] = pid;
}

void dp_leafgate__logs_read(struct dp_leafgate *g)
{
	for (size_t i = 0; i < g->nexited; i++)
		dp_leafgate__forget_pid(g, g->exited[i]);
	g->nexited = 0;
}
