// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "stackcache.h"
#include "record.h"
#include "stacks.h"
#include "dphash.h"

struct entry {
	UT_hash_handle hh;
	struct dp_cached_stack s;
	uint64_t last_ns;	/* when a count last used it */
	uint64_t last_flip;	/* the flip before which a count last used it */
	uint64_t gone_flip;	/* the flip after which it was deleted from the store */
	bool gone;		/* deleted from the store, not used since */
	uint64_t ips[];
};

struct dp_stackcache {
	struct dp_store_ops ops;
	struct dp_stackcache_opts o;
	struct dp_stackcache_stats st;
	struct entry *map;
	uint64_t held, gone;	/* entries, and of those the ones deleted from the store */
	uint64_t flips;
	uint64_t next_scan, next_walk;	/* times; 0: at the first flip */
};

struct dp_stackcache *dp_stackcache__new(const struct dp_store_ops *ops,
					 const struct dp_stackcache_opts *o)
{
	struct dp_stackcache *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return NULL;
	if (ops)
		sc->ops = *ops;
	if (o)
		sc->o = *o;
	return sc;
}

static void drop(struct dp_stackcache *sc, struct entry *e)
{
	HASH_DEL(sc->map, e);
	sc->held--;
	if (e->gone)
		sc->gone--;
	free(e);
}

void dp_stackcache__free(struct dp_stackcache *sc)
{
	struct entry *e, *t;

	if (!sc)
		return;
	HASH_ITER(hh, sc->map, e, t)
		drop(sc, e);
	free(sc);
}

/* Read id from the store and split it; NULL if it is not there or on allocation failure. */
static struct entry *read_entry(struct dp_stackcache *sc, uint64_t id)
{
	struct dp_cached_stack *c;
	struct dp_stack st;
	struct entry *e;

	if (!sc->ops.lookup || sc->ops.lookup(sc->ops.ctx, id, &st))
		return NULL;
	if (st.nr > DP_MAX_STACK)
		st.nr = DP_MAX_STACK;	/* the store's value holds no more */
	e = calloc(1, sizeof(*e) + st.nr * sizeof(uint64_t));
	if (!e)
		return NULL;
	memcpy(e->ips, st.ips, st.nr * sizeof(uint64_t));
	c = &e->s;
	c->id = id;
	c->kind = st.user;
	c->nr = st.nr;
	c->ips = e->ips;
	if (c->kind == DP_STACK_CHAIN) {
		struct dp_chain ch;

		if (dp_chain__split(e->ips, c->nr, &ch) || ch.form == DP_CHAIN_DEFERRED) {
			c->bad = true;
		} else {
			c->kfirst = ch.kips ? (uint32_t)(ch.kips - e->ips) : 0;
			c->knr = ch.knr;
			c->has_user = ch.form == DP_CHAIN_CLASSIC;
			c->ufirst = ch.uips ? (uint32_t)(ch.uips - e->ips) : 0;
			c->unr = ch.unr;
		}
	} else if (c->kind == DP_STACK_USER) {
		c->unr = c->nr;
	} else {
		c->knr = c->nr;
	}
	c->khash = dp_stack__part_hash(e->ips + c->kfirst, c->knr);
	c->uhash = dp_stack__part_hash(e->ips + c->ufirst, c->unr);
	HASH_ADD(hh, sc->map, s.id, sizeof(id), e);
	if (dp_hash_failed()) {
		free(e);
		return NULL;
	}
	sc->held++;
	sc->st.read++;
	return e;
}

const struct dp_cached_stack *dp_stackcache__get(struct dp_stackcache *sc, uint64_t id,
						 uint64_t now)
{
	struct entry *e;

	HASH_FIND(hh, sc->map, &id, sizeof(id), e);
	if (!e && !(e = read_entry(sc, id)))
		return NULL;
	e->last_ns = now;
	e->last_flip = sc->flips;
	if (e->gone) {
		/* Used since its deletion: in the store again, or a count in flight; held on. */
		e->gone = false;
		sc->gone--;
	}
	return &e->s;
}

/* Entries of the store the mirror never read: read now, so they age like the rest. */
static void adopt(struct dp_stackcache *sc, uint64_t now)
{
	uint64_t *ids = NULL;
	long n = sc->ops.ids(sc->ops.ctx, &ids);

	if (n < 0) {
		sc->st.errors++;
		return;
	}
	for (long i = 0; i < n; i++) {
		struct entry *e;

		HASH_FIND(hh, sc->map, &ids[i], sizeof(ids[i]), e);
		if (e || !(e = read_entry(sc, ids[i])))
			continue;
		e->last_ns = now;
		e->last_flip = sc->flips;
		sc->st.adopted++;
	}
	free(ids);
}

void dp_stackcache__flipped(struct dp_stackcache *sc, uint64_t now)
{
	struct entry *e, *t;
	uint64_t age = sc->o.age_ns;
	bool pressed;
	int err;

	sc->flips++;
	if (!sc->ops.forget || !age)
		return;
	/* The store three-quarters full of what is known: anything unused since the last flip goes, now. */
	pressed = sc->o.capacity && (sc->held - sc->gone) * 4 >= sc->o.capacity * 3;
	if (!pressed && now < sc->next_scan)
		return;
	sc->next_scan = now + sc->o.scan_ns;
	if (sc->ops.ids && now >= sc->next_walk) {
		sc->next_walk = now + sc->o.walk_ns;
		adopt(sc, now);
	}
	HASH_ITER(hh, sc->map, e, t) {
		if (e->gone) {
			/* Two flips with no count for it: none is in flight any more. */
			if (sc->flips >= e->gone_flip + 2) {
				drop(sc, e);
				sc->st.forgotten++;
			}
			continue;
		}
		if (pressed ? e->last_flip + 1 >= sc->flips : now - e->last_ns < age)
			continue;
		err = sc->ops.forget(sc->ops.ctx, e->s.id);
		if (err && err != -ENOENT) {
			sc->st.errors++;
			continue;
		}
		e->gone = true;
		e->gone_flip = sc->flips;
		sc->gone++;
		sc->st.aged += !err;	/* not when it was gone already */
	}
}

uint64_t dp_stackcache__held(const struct dp_stackcache *sc)
{
	return sc->held;
}

uint64_t dp_stackcache__in_store(const struct dp_stackcache *sc)
{
	return sc->held - sc->gone;
}

const struct dp_stackcache_stats *dp_stackcache__stats(const struct dp_stackcache *sc)
{
	return &sc->st;
}
