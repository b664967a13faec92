// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The stack table. Parts live in a prefix tree (node = parent id + address,
 * from the outermost address in), so a part costs one 16-byte node per
 * address it does not share with a part seen before; the table's entries
 * then hold two part ids instead of the addresses.
 *
 * Three open-addressing indexes find things again: the tree's children by
 * (parent, address), whole parts by their hash (checked against the tree,
 * so two parts with one hash stay two parts), and entries by (header, part
 * ids). Walking the tree to check a part costs more than a memcmp, so a
 * small cache keeps a flat copy of recently added parts: the join adds the
 * same few parts over and over, and they then cost what they cost before.
 * The cache grows with the parts (a table of few parts zeroes little) and
 * its copies share one buffer, emptied whole when full: no malloc per part.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
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

/* The cache before its first part: one empty slot, only ever read. */
static const struct hot hot_none;

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

static uint64_t kid_hash(uint32_t parent, uint64_t addr)
{
	uint64_t h = (addr ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ULL)) * 0xbf58476d1ce4e5b9ULL;

	return h ^ (h >> 31);
}

static struct dp_parts *parts_new(void)
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

static void parts_free(struct dp_parts *ps)
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

static uint32_t part_get(const struct dp_parts *ps, uint32_t id, uint64_t *ips)
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

static uint32_t memo_find(const struct dp_parts *ps, const uint64_t *ips, uint32_t n,
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
		len = part_get(ps, id, ips);
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

/* The slow path of part_intern(): the index, then the tree. */
static __attribute__((noinline)) int part_lookup(struct dp_parts *ps, const uint64_t *ips,
						 uint32_t n, uint64_t hash, uint32_t *out)
{
	uint32_t id;
	int err;

	if (n > DP_PART_MAX)
		return -E2BIG;
	id = memo_find(ps, ips, n, hash);
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

/* The id of part ips[0..n) (innermost first), added when new. */
static inline int part_intern(struct dp_parts *ps, const uint64_t *ips, uint32_t n,
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
	return part_lookup(ps, ips, n, hash, out);
}

void dp_stack_table__init(struct dp_stack_table *t)
{
	memset(t, 0, sizeof(*t));
}

void dp_stack_table__clear(struct dp_stack_table *t)
{
	parts_free(t->parts);
	free(t->ents);
	free(t->marks);
	free(t->slots);
	dp_stack_table__init(t);
}

/* Three words, one multiply each: this runs for every sample. */
static uint32_t ent_hash(const struct dp_stack_hdr *hdr, uint32_t kpart, uint32_t upart)
{
	uint64_t w[2], h;

	_Static_assert(sizeof(struct dp_stack_hdr) == 16, "the header is two words");
	_Static_assert(sizeof(struct dp_stack_entry) == 32, "two entries a cache line");
	memcpy(w, hdr, sizeof(*hdr));
	h = (w[0] ^ (((uint64_t)kpart << 32 | upart) * 0x9e3779b97f4a7c15ULL)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ w[1]) * 0x94d049bb133111ebULL;
	return (uint32_t)(h >> 32);
}

static bool ent_equal(const struct dp_stack_entry *e, const struct dp_stack_hdr *hdr,
		      uint32_t kpart, uint32_t upart)
{
	uint64_t a[2], b[2];

	/* Two word compares: a memcmp() call costs more than the compare itself. */
	memcpy(a, &e->hdr, sizeof(a));
	memcpy(b, hdr, sizeof(b));
	return e->kpart == kpart && e->upart == upart && a[0] == b[0] && a[1] == b[1];
}

/* The slot of (hdr, parts): the entry's, or the free one where it would go. */
static uint32_t ent_slot(const struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			 uint32_t kpart, uint32_t upart)
{
	uint32_t mask = t->nslots - 1, i, e;

	for (i = ent_hash(hdr, kpart, upart) & mask; (e = t->slots[i]); i = (i + 1) & mask)
		if (ent_equal(&t->ents[e - 1], hdr, kpart, upart))
			break;
	return i;
}

static int ent_room(struct dp_stack_table *t)
{
	if (t->entries == t->capents) {
		uint32_t cap = t->capents ? t->capents * 2 : 256;
		struct dp_stack_entry *ne;

		if (cap <= t->capents)
			return -ENOMEM;
		if (t->marks) {
			uint64_t *nm = realloc(t->marks, cap * sizeof(*nm));

			if (!nm)
				return -ENOMEM;
			t->marks = nm;
		}
		ne = realloc(t->ents, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		t->ents = ne;
		t->capents = cap;
	}
	if ((t->entries + 1) * 4 > (uint64_t)t->nslots * 3) {
		uint32_t n = t->nslots ? t->nslots * 2 : 512;
		uint32_t *s = calloc(n, sizeof(*s));

		if (!s)
			return -ENOMEM;
		free(t->slots);
		t->slots = s;
		t->nslots = n;
		for (uint32_t i = 0; i < t->entries; i++) {
			const struct dp_stack_entry *e = &t->ents[i];

			s[ent_slot(t, &e->hdr, e->kpart, e->upart)] = i + 1;
		}
	}
	return 0;
}

int dp_stack_table__add_hashed(struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			       const uint64_t *kips, uint64_t khash,
			       const uint64_t *uips, uint64_t uhash, uint64_t count)
{
	struct dp_stack_entry *e;
	uint32_t kpart, upart, i;
	int err;

	if (!t->parts && !(t->parts = parts_new()))
		return -ENOMEM;
	if (!t->parts->memo)	/* dp_stack_table__drop_index() */
		return -EPERM;
	if ((err = part_intern(t->parts, kips, hdr->knr, khash, &kpart)) ||
	    (err = part_intern(t->parts, uips, hdr->unr, uhash, &upart)))
		return err;
	if (t->nslots) {
		i = ent_slot(t, hdr, kpart, upart);
		if (t->slots[i]) {
			e = &t->ents[t->slots[i] - 1];
			goto count;
		}
	}
	if ((err = ent_room(t)))
		return err;
	i = ent_slot(t, hdr, kpart, upart);
	if (t->marks)
		t->marks[t->entries] = 0;
	e = &t->ents[t->entries++];
	t->slots[i] = (uint32_t)t->entries;
	e->hdr = *hdr;
	e->kpart = kpart;
	e->upart = upart;
	e->count = 0;
count:
	e->count += count;
	t->total += count;
	return 0;
}

void dp_stack_table__drop_index(struct dp_stack_table *t)
{
	struct dp_parts *ps = t->parts;

	free(t->slots);
	free(t->marks);
	t->slots = NULL;
	t->marks = NULL;
	t->nslots = 0;
	if (!ps)
		return;
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

int dp_stack_table__add(struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			const uint64_t *kips, const uint64_t *uips, uint64_t count)
{
	return dp_stack_table__add_hashed(t, hdr, kips, dp_stack__part_hash(kips, hdr->knr),
					  uips, dp_stack__part_hash(uips, hdr->unr), count);
}

uint32_t dp_stack_table__part(const struct dp_stack_table *t, uint32_t id, uint64_t *ips)
{
	return id && t->parts ? part_get(t->parts, id, ips) : 0;
}

uint32_t dp_stack_table__nparts(const struct dp_stack_table *t)
{
	return t->parts ? t->parts->nparts : 0;
}

uint32_t dp_stack_table__nnodes(const struct dp_stack_table *t)
{
	return t->parts ? t->parts->nnodes - 1 : 0;
}

/* An entry of one table into another: its parts are laid out flat again. */
static int add_entry(struct dp_stack_table *t, const struct dp_stack_table *from,
		     const struct dp_stack_entry *e, uint64_t count)
{
	uint64_t k[DP_PART_MAX], u[DP_PART_MAX];

	dp_stack_table__part(from, e->kpart, k);
	dp_stack_table__part(from, e->upart, u);
	return dp_stack_table__add(t, &e->hdr, k, u, count);
}

int dp_stack_table__delta(struct dp_stack_table *t, struct dp_stack_table *out)
{
	int err;

	if (!t->marks && !(t->marks = calloc(t->capents ? t->capents : 1, sizeof(*t->marks))))
		return -ENOMEM;
	for (uint32_t i = 0; i < t->entries; i++) {
		struct dp_stack_entry *e = &t->ents[i];

		if (e->count == t->marks[i])
			continue;
		err = add_entry(out, t, e, e->count - t->marks[i]);
		if (err)
			return err;
		t->marks[i] = e->count;
	}
	return 0;
}

int dp_stack_table__merge(struct dp_stack_table *dst, const struct dp_stack_table *src)
{
	int err;

	for (uint32_t i = 0; i < src->entries; i++) {
		err = add_entry(dst, src, &src->ents[i], src->ents[i].count);
		if (err)
			return err;
	}
	return 0;
}

struct dp_stack_entry *dp_stack_table__find(const struct dp_stack_table *t,
					    const struct dp_stack_hdr *hdr,
					    const uint64_t *kips, const uint64_t *uips)
{
	uint32_t kpart = 0, upart = 0, i;

	if (!t->nslots || !t->parts->memo)
		return NULL;
	if (hdr->knr && !(kpart = memo_find(t->parts, kips, hdr->knr,
					    dp_stack__part_hash(kips, hdr->knr))))
		return NULL;
	if (hdr->unr && !(upart = memo_find(t->parts, uips, hdr->unr,
					    dp_stack__part_hash(uips, hdr->unr))))
		return NULL;
	i = ent_slot(t, hdr, kpart, upart);
	return t->slots[i] ? &t->ents[t->slots[i] - 1] : NULL;
}

/* The entry of b with a's entry e's stack, or NULL. */
static const struct dp_stack_entry *find_other(const struct dp_stack_table *a,
					       const struct dp_stack_entry *e,
					       const struct dp_stack_table *b)
{
	uint64_t k[DP_PART_MAX], u[DP_PART_MAX];

	dp_stack_table__part(a, e->kpart, k);
	dp_stack_table__part(a, e->upart, u);
	return dp_stack_table__find(b, &e->hdr, k, u);
}

static void log_diff(FILE *log, const struct dp_stack_entry *e, uint64_t other, const char *side)
{
	fprintf(log, "verify: tid %u flags 0x%x k%u u%u: %llu in %s, %llu in the other\n",
		e->hdr.tid, e->hdr.flags, e->hdr.knr, e->hdr.unr, (unsigned long long)e->count,
		side, (unsigned long long)other);
}

uint64_t dp_stack_table__diff(const struct dp_stack_table *a, const struct dp_stack_table *b,
			      FILE *log, unsigned int max_log)
{
	const struct dp_stack_entry *e, *f;
	uint64_t diffs = 0;

	for (uint32_t i = 0; i < a->entries; i++) {
		e = &a->ents[i];
		f = find_other(a, e, b);
		if (!f || f->count != e->count) {
			if (log && diffs < max_log)
				log_diff(log, e, f ? f->count : 0, "the BPF join");
			diffs++;
		}
	}
	for (uint32_t i = 0; i < b->entries; i++) {
		e = &b->ents[i];
		if (!find_other(b, e, a)) {
			if (log && diffs < max_log)
				log_diff(log, e, 0, "the raw stitch");
			diffs++;
		}
	}
	return diffs;
}
