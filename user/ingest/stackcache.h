/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef DP_STACKCACHE_H
#define DP_STACKCACHE_H
/*
 * The program's stack store (chains too long for a log entry, and every
 * chain of the bpf_get_stack() program), mirrored in user space: each stack
 * read once by id, split once, and aged out of both sides when it has not
 * been used for a while, so a long run's store does not fill up.
 *
 * The protocol with the counts maps' double buffer: a sample takes its id
 * from the store and writes it into counts<active>; user space drains the
 * other map and flips. A count written after the lookup is drained at most
 * two flips later. So:
 *  - an entry is deleted from the store only while the mirror holds it: a
 *    count still in flight for it resolves from the mirror;
 *  - the mirror forgets an entry only two flips after its deletion, if no
 *    count used it since: any later count comes from a sample that found it
 *    missing and stored it again (the same content, the same id), so it is
 *    read from the store anew.
 * Entries the mirror never saw (their sample's count was dropped, e.g. the
 * counts map full) are adopted by an occasional walk of the store, then age
 * like the rest.
 */
#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "deferprof.h"

/* One stack of the store, read once. A whole chain is split into its parts here. */
struct dp_cached_stack {
	uint64_t id;
	uint32_t kind;		/* DP_STACK_* */
	bool bad;		/* a chain that does not split */
	bool has_user;		/* a chain with a user part */
	uint32_t kfirst, knr, ufirst, unr;
	uint64_t khash, uhash;
	uint32_t nr;
	const uint64_t *ips;
};

/* The store's operations (the session's map calls); any may be NULL. */
struct dp_store_ops {
	int (*lookup)(void *ctx, uint64_t id, struct dp_stack *out);	/* 0 or -errno */
	int (*forget)(void *ctx, uint64_t id);	/* delete; 0, or -ENOENT when not there */
	/* Every id in the store now, malloc'd into *ids; returns how many or -errno. */
	long (*ids)(void *ctx, uint64_t **ids);
	void *ctx;
};

struct dp_stackcache_opts {
	uint64_t age_ns;	/* unused this long: out of the store (0: never) */
	uint64_t scan_ns;	/* the mirror is looked over at most this often */
	uint64_t walk_ns;	/* the store walked for entries never seen, this often */
	uint64_t capacity;	/* the store's entries: over 3/4 known, age sooner */
};

struct dp_stackcache_stats {
	uint64_t read;		/* stacks read from the store */
	uint64_t aged;		/* deleted from the store, unused */
	uint64_t forgotten;	/* dropped from the mirror after their deletion */
	uint64_t adopted;	/* found by a walk, never counted before */
	uint64_t errors;	/* deletions or walks that failed */
};

struct dp_stackcache;

/* NULL on allocation failure. Without ops.forget nothing is ever aged. */
struct dp_stackcache *dp_stackcache__new(const struct dp_store_ops *ops,
					 const struct dp_stackcache_opts *o);
void dp_stackcache__free(struct dp_stackcache *sc);

/* The stack of id (not 0), read from the store the first time; NULL if it is not there. */
const struct dp_cached_stack *dp_stackcache__get(struct dp_stackcache *sc, uint64_t id,
						 uint64_t now);
/* After each flip of the counts maps: the ageing happens here. */
void dp_stackcache__flipped(struct dp_stackcache *sc, uint64_t now);
/* Entries held now, and of those how many the store still has (as far as is known). */
uint64_t dp_stackcache__held(const struct dp_stackcache *sc);
uint64_t dp_stackcache__in_store(const struct dp_stackcache *sc);
const struct dp_stackcache_stats *dp_stackcache__stats(const struct dp_stackcache *sc);

#endif
