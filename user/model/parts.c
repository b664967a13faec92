// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include "parts.h"
#include "stacks.h"

/* The cache before its first part: one empty slot, only ever read. */
static const struct hot hot_none;


static uint64_t kid_hash(uint32_t parent, uint64_t addr)
{
	uint64_t h = (addr ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ULL)) * 0xbf58476d1ce4e5b9ULL;

	return h ^ (h >> 31);
}

struct dp_parts *dp_parts__new(void)
{
	struct dp_parts *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	ps->capnodes = 256;
	ps->nodes = malloc(ps->capnodes * sizeof(*ps->nodes));
	ps->nkids = 512;
	ps->kids = calloc(ps->nkids, sizeof(*ps->kids));
	ps->nmemo = 256;
	ps->memo = calloc(ps->nmemo, sizeof(*ps->memo));
	if (!ps->nodes || !ps->kids || !ps->memo) {
		free(ps->nodes);
		free(ps->kids);
		free(ps->memo);
		free(ps);
		return NULL;
	}
	memset(&ps->nodes[0], 0, sizeof(ps->nodes[0]));
	ps->nnodes = 1;
	ps->hot = (struct hot *)&hot_none;	/* hotmask 0: every hash reads it */
	return ps;
}

void dp_parts__free(struct dp_parts *ps)
{
	if (!ps)
		return;
	if (ps->nhot)
		free(ps->hot);
	free(ps->buf);
	free(ps->nodes);
	free(ps->kids);
	free(ps->memo);
	free(ps);
}

uint32_t dp_parts__get(const struct dp_parts *ps, uint32_t id, uint64_t *ips)
{
	uint32_t n = 0;

	for (; id; id = ps->nodes[id].parent)
		ips[n++] = ps->nodes[id].addr;
	return n;
}

static bool part_equal(const struct dp_parts *ps, uint32_t id, const uint64_t *ips, uint32_t n)
{
	if (ps->nodes[id].depth != n)
		return false;
	for (uint32_t i = 0; i < n; i++, id = ps->nodes[id].parent)
		if (ps->nodes[id].addr != ips[i])
			return false;
	return true;
}

uint32_t dp_parts__find(const struct dp_parts *ps, const uint64_t *ips, uint32_t n,
			  uint64_t hash)
{
	uint32_t mask = ps->nmemo - 1, tag = (uint32_t)(hash >> 32);

	for (uint32_t i = (uint32_t)hash & mask; ps->memo[i].node; i = (i + 1) & mask)
		if (ps->memo[i].tag == tag && part_equal(ps, ps->memo[i].node, ips, n))
			return ps->memo[i].node;
	return 0;
}

static void memo_put(struct memo_slot *memo, uint32_t nmemo, uint64_t hash, uint32_t node)
{
	uint32_t mask = nmemo - 1, i;

	for (i = (uint32_t)hash & mask; memo[i].node; i = (i + 1) & mask)
		;
	memo[i].tag = (uint32_t)(hash >> 32);
	memo[i].node = node;
}

/* Double the part index; the hashes come back from the tree. */
static int memo_grow(struct dp_parts *ps)
{
	uint32_t n = ps->nmemo * 2;
	struct memo_slot *m = calloc(n, sizeof(*m));
	uint64_t ips[DP_PART_MAX];

	if (!m)
		return -ENOMEM;
	for (uint32_t i = 0; i < ps->nmemo; i++) {
		uint32_t id = ps->memo[i].node, len;

		if (!id)
			continue;
		len = dp_parts__get(ps, id, ips);
		memo_put(m, n, dp_stack__part_hash(ips, len), id);
	}
	free(ps->memo);
	ps->memo = m;
	ps->nmemo = n;
	return 0;
}

static void kid_put(uint32_t *kids, uint32_t nkids, const struct node *nodes, uint32_t id)
{
	uint32_t mask = nkids - 1, i;

	for (i = (uint32_t)kid_hash(nodes[id].parent, nodes[id].addr) & mask; kids[i];
	     i = (i + 1) & mask)
		;
	kids[i] = id;
}

/* Room for one more node: its array and its index, kept under 3/4 full. */
static int node_room(struct dp_parts *ps)
{
	if (ps->nnodes == ps->capnodes) {
		uint32_t cap = ps->capnodes * 2;
		struct node *nn = cap > ps->capnodes ? realloc(ps->nodes, cap * sizeof(*nn)) : NULL;

		if (!nn)
			return -ENOMEM;
		ps->nodes = nn;
		ps->capnodes = cap;
	}
	if ((uint64_t)(ps->nnodes + 1) * 4 > (uint64_t)ps->nkids * 3) {
		uint32_t n = ps->nkids * 2;
		uint32_t *k = calloc(n, sizeof(*k));

		if (!k)
			return -ENOMEM;
		for (uint32_t i = 0; i < ps->nkids; i++)
			if (ps->kids[i])
				kid_put(k, n, ps->nodes, ps->kids[i]);
		free(ps->kids);
		ps->kids = k;
		ps->nkids = n;
	}
	return 0;
}

static int child(struct dp_parts *ps, uint32_t parent, uint64_t addr, uint32_t *out)
{
	uint32_t mask = ps->nkids - 1, i, id;
	struct node *nd;
	int err;

	for (i = (uint32_t)kid_hash(parent, addr) & mask; (id = ps->kids[i]); i = (i + 1) & mask) {
		if (ps->nodes[id].parent == parent && ps->nodes[id].addr == addr) {
			*out = id;
			return 0;
		}
	}
	if ((err = node_room(ps)))
		return err;
	id = ps->nnodes++;
	nd = &ps->nodes[id];
	nd->addr = addr;
	nd->parent = parent;
	nd->depth = ps->nodes[parent].depth + 1;
	kid_put(ps->kids, ps->nkids, ps->nodes, id);
	*out = id;
	return 0;
}

/*
 * A cache with room for about nparts slots (up to HOT_MAX), holding what
 * the old one held (a copy each: a few words a part). Only a cache: when
 * memory runs out, the old one stays.
 */
static void hot_resize(struct dp_parts *ps)
{
	uint32_t n = ps->nhot ? ps->nhot : HOT_MIN, used = 0;
	struct hot *h;
	uint64_t *b;

	while (n < ps->nparts && n < HOT_MAX)
		n *= 2;
	h = calloc(n, sizeof(*h));
	b = malloc((size_t)n * HOT_WORDS * sizeof(*b));
	if (!h || !b) {
		free(h);
		free(b);
		return;
	}
	for (uint32_t i = 0; i < ps->nhot; i++) {
		const struct hot *o = &ps->hot[i];
		struct hot *d = &h[o->hash & (n - 1)];

		if (!o->n || d->n)	/* the old buffer fits in the new one */
			continue;
		*d = *o;
		d->ips = b + used;
		d->cap = o->n;
		memcpy(d->ips, o->ips, o->n * sizeof(*b));
		used += o->n;
	}
	if (ps->nhot)
		free(ps->hot);
	free(ps->buf);
	ps->hot = h;
	ps->nhot = n;
	ps->hotmask = n - 1;
	ps->buf = b;
	ps->buf_cap = n * HOT_WORDS;
	ps->buf_used = used;
}

/* Keep a flat copy of a part just looked up, for the next time it comes. */
static void hot_fill(struct dp_parts *ps, const uint64_t *ips, uint32_t n, uint64_t hash,
		     uint32_t id)
{
	struct hot *h;

	if (!ps->nhot)
		return;
	h = &ps->hot[hash & ps->hotmask];
	if (n > h->cap) {
		if (n > ps->buf_cap / 4) {	/* too long to keep: the slot empties */
			h->n = 0;
			return;
		}
		if (n > ps->buf_cap - ps->buf_used) {	/* full: every copy goes */
			memset(ps->hot, 0, ps->nhot * sizeof(*ps->hot));
			ps->buf_used = 0;
		}
		h->ips = ps->buf + ps->buf_used;
		h->cap = n;
		ps->buf_used += n;
	}
	memcpy(h->ips, ips, n * sizeof(*ips));
	h->hash = hash;
	h->n = n;
	h->node = id;
}

int dp_parts__lookup(struct dp_parts *ps, const uint64_t *ips, uint32_t n, uint64_t hash,
		     uint32_t *out)
{
	uint32_t id;
	int err;

	if (n > DP_PART_MAX)
		return -E2BIG;
	id = dp_parts__find(ps, ips, n, hash);
	if (!id) {
		if ((uint64_t)(ps->nparts + 1) * 4 > (uint64_t)ps->nmemo * 3 && (err = memo_grow(ps)))
			return err;
		for (uint32_t i = n; i-- > 0;)
			if ((err = child(ps, id, ips[i], &id)))
				return err;
		/* A part can be the prefix of one seen before: its node is there already. */
		memo_put(ps->memo, ps->nmemo, hash, id);
		ps->nparts++;
		if (ps->nparts > ps->nhot && ps->nhot < HOT_MAX)
			hot_resize(ps);
	}
	hot_fill(ps, ips, n, hash, id);
	*out = id;
	return 0;
}

void dp_parts__drop_index(struct dp_parts *ps)
{
	free(ps->kids);
	free(ps->memo);
	if (ps->nhot)
		free(ps->hot);
	free(ps->buf);
	ps->kids = NULL;
	ps->memo = NULL;
	ps->nkids = ps->nmemo = 0;
	ps->hot = (struct hot *)&hot_none;
	ps->nhot = ps->hotmask = 0;
	ps->buf = NULL;
	ps->buf_used = ps->buf_cap = 0;
}
