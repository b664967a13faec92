/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Stack parts interned in a prefix tree (node = parent id + address, from
 * the outermost address in): a part costs one 16-byte node per address it
 * does not share with a part seen before, and is known by its node's id.
 * Whole parts are found again by their hash (checked against the tree, so
 * two parts with one hash stay two parts). Walking the tree to check a part
 * costs more than a memcmp, so a small cache keeps a flat copy of recently
 * added parts: the join adds the same few parts over and over. The cache
 * grows with the parts and its copies share one buffer, emptied whole when
 * full: no malloc per part. Private to model/ (the stack table's storage).
 */
#ifndef DP_PARTS_H
#define DP_PARTS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "stacks.h"

struct node {
	uint64_t addr;
	uint32_t parent;	/* 0: the root (the empty part) */
	uint32_t depth;		/* addresses from the root to here */
};

struct memo_slot {		/* a whole part, by its hash */
	uint32_t tag;		/* the hash's high half: most misses end here */
	uint32_t node;		/* 0 when free */
};

#define HOT_MIN		64
#define HOT_MAX		1024
#define HOT_WORDS	32	/* buffer words per slot: most parts are shorter */

struct hot {			/* a part added lately, flat */
	uint64_t hash;
	uint32_t node, n, cap;	/* n = 0: empty (parts looked up here are not) */
	uint64_t *ips;		/* cap words in the buffer */
};

struct dp_parts {
	struct node *nodes;	/* [0] is the root */
	uint32_t nnodes, capnodes;
	uint32_t *kids;		/* (parent, address) -> node, 0 when free */
	uint32_t nkids;		/* slots, a power of two */
	struct memo_slot *memo;
	uint32_t nmemo, nparts;
	struct hot *hot;	/* nhot slots, or &hot_none */
	uint32_t nhot;		/* a power of two, or 0 */
	uint32_t hotmask;
	uint64_t *buf;		/* the copies: buf_used of buf_cap words taken */
	uint32_t buf_used, buf_cap;
};

struct dp_parts *dp_parts__new(void);
void dp_parts__free(struct dp_parts *ps);
/* Part id's addresses (innermost first) into ips; returns how many. */
uint32_t dp_parts__get(const struct dp_parts *ps, uint32_t id, uint64_t *ips);
/* The id of part ips[0..n) with that hash when known, else 0. */
uint32_t dp_parts__find(const struct dp_parts *ps, const uint64_t *ips, uint32_t n, uint64_t hash);
/* Only reading from now on: the indexes and the cache are freed (ids and get() stay). */
void dp_parts__drop_index(struct dp_parts *ps);
/* The slow path of dp_parts__intern(): the index, then the tree. */
int dp_parts__lookup(struct dp_parts *ps, const uint64_t *ips, uint32_t n, uint64_t hash,
		     uint32_t *out);

/* The id of part ips[0..n) (innermost first), added when new. */
static inline int dp_parts__intern(struct dp_parts *ps, const uint64_t *ips, uint32_t n,
			      uint64_t hash, uint32_t *out)
{
	const struct hot *h = &ps->hot[hash & ps->hotmask];

	if (!n) {
		*out = 0;
		return 0;
	}
	if (h->hash == hash && h->n == n && !memcmp(h->ips, ips, n * sizeof(*ips))) {
		*out = h->node;
		return 0;
	}
	return dp_parts__lookup(ps, ips, n, hash, out);
}

/*
 * dp_parts__intern() for a part likely to be ref's (the same thread's last
 * one): when the cache still holds ref's part flat and it matches, the
 * addresses are compared once and never hashed. ref is then the part's.
 */
static inline int dp_parts__intern_ref(struct dp_parts *ps, const uint64_t *ips, uint32_t n,
				       struct dp_part_ref *ref)
{
	const struct hot *h = &ps->hot[ref->hash & ps->hotmask];

	if (ref->id && ref->n == n && h->node == ref->id && h->n == n &&
	    !memcmp(h->ips, ips, n * sizeof(*ips)))
		return 0;
	ref->n = n;
	ref->hash = dp_stack__part_hash(ips, n);
	return dp_parts__intern(ps, ips, n, ref->hash, &ref->id);
}

#endif
