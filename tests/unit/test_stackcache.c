// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The store's mirror (ingest/stackcache.c): stacks aged out of the program's
 * store and then out of the mirror, never while a count may still need them.
 * The store here is an array the tests change as the program would.
 */
#include <errno.h>
#include <stdlib.h>
#include <criterion/criterion.h>
#include "stackcache.h"

#define NSTORE 16
#define S 1000000000ULL

static struct {
	uint64_t id[NSTORE];
	uint32_t nr[NSTORE];
	int forgets, lookups, walks, fail_forget;
} store;

static int slot(uint64_t id)
{
	for (int i = 0; i < NSTORE; i++)
		if (store.id[i] == id)
			return i;
	return -1;
}

/* The program storing a user stack of n frames: [id, id + 1, ...]. */
static void put(uint64_t id, uint32_t n)
{
	int i = slot(id) >= 0 ? slot(id) : slot(0);

	cr_assert_geq(i, 0, "the fake store is full");
	store.id[i] = id;
	store.nr[i] = n;
}

static int lookup(void *ctx, uint64_t id, struct dp_stack *out)
{
	int i = slot(id);

	(void)ctx;
	store.lookups++;
	if (!id || i < 0)
		return -ENOENT;
	out->nr = store.nr[i];
	out->user = DP_STACK_USER;
	for (uint32_t j = 0; j < out->nr; j++)
		out->ips[j] = id + j;
	return 0;
}

static int forget(void *ctx, uint64_t id)
{
	int i = slot(id);

	(void)ctx;
	store.forgets++;
	if (store.fail_forget)
		return -EPERM;
	if (!id || i < 0)
		return -ENOENT;
	store.id[i] = 0;
	return 0;
}

static long ids(void *ctx, uint64_t **out)
{
	long n = 0;

	(void)ctx;
	store.walks++;
	*out = calloc(NSTORE, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (int i = 0; i < NSTORE; i++)
		if (store.id[i])
			(*out)[n++] = store.id[i];
	return n;
}

static const struct dp_store_ops ops = { .lookup = lookup, .forget = forget, .ids = ids };

static struct dp_stackcache *open_cache(uint64_t capacity)
{
	struct dp_stackcache_opts o = { .age_ns = 10 * S, .scan_ns = S, .walk_ns = 1000 * S,
					.capacity = capacity };
	struct dp_stackcache *sc;

	memset(&store, 0, sizeof(store));
	sc = dp_stackcache__new(&ops, &o);
	cr_assert_not_null(sc);
	return sc;
}

Test(stackcache, read_once_and_split)
{
	struct dp_stackcache *sc = open_cache(0);
	const struct dp_cached_stack *c;

	put(0x100, 3);
	c = dp_stackcache__get(sc, 0x100, 1);
	cr_assert_not_null(c);
	cr_assert_eq(c->unr, 3);
	cr_assert_eq(c->ips[c->ufirst + 2], 0x102);
	cr_assert_eq(c->knr, 0);
	cr_assert_eq(dp_stackcache__get(sc, 0x100, 2), c, "the same entry, not read again");
	cr_assert_eq(store.lookups, 1);
	cr_assert_null(dp_stackcache__get(sc, 0x200, 3), "not in the store");
	cr_assert_eq(dp_stackcache__stats(sc)->read, 1);
	dp_stackcache__free(sc);
}

Test(stackcache, unused_stacks_leave_the_store_then_the_mirror_two_flips_later)
{
	struct dp_stackcache *sc = open_cache(0);
	uint64_t t = 1 * S;

	put(0x100, 2);
	put(0x200, 2);
	cr_assert_not_null(dp_stackcache__get(sc, 0x100, t));
	cr_assert_not_null(dp_stackcache__get(sc, 0x200, t));
	dp_stackcache__flipped(sc, t);
	cr_assert_eq(store.forgets, 0, "used just now");
	/* 0x200 keeps being counted; 0x100 is not for 10 s. */
	for (t = 2 * S; t <= 11 * S; t += S) {
		cr_assert_not_null(dp_stackcache__get(sc, 0x200, t));
		dp_stackcache__flipped(sc, t);
	}
	cr_assert_eq(slot(0x100), -1, "deleted from the store after 10 s unused");
	cr_assert_geq(slot(0x200), 0, "a stack in use stays");
	cr_assert_eq(dp_stackcache__stats(sc)->aged, 1);
	cr_assert_eq(dp_stackcache__held(sc), 2, "the mirror still holds it");
	cr_assert_eq(dp_stackcache__in_store(sc), 1);
	/* One flip later: still held, a count may be in flight. */
	t += S;
	dp_stackcache__flipped(sc, t);
	cr_assert_eq(dp_stackcache__held(sc), 2);
	/* Two flips after the deletion, unused: forgotten. */
	t += S;
	dp_stackcache__flipped(sc, t);
	cr_assert_eq(dp_stackcache__held(sc), 1);
	cr_assert_eq(dp_stackcache__stats(sc)->forgotten, 1);
	/* A sample that finds it missing stores it again: read anew. */
	put(0x100, 2);
	cr_assert_not_null(dp_stackcache__get(sc, 0x100, t));
	cr_assert_eq(dp_stackcache__stats(sc)->read, 3);
	dp_stackcache__free(sc);
}

Test(stackcache, a_count_in_flight_after_the_deletion_resolves_from_the_mirror)
{
	struct dp_stackcache *sc = open_cache(0);
	const struct dp_cached_stack *c;
	uint64_t t = 1 * S;

	put(0x100, 4);
	cr_assert_not_null(dp_stackcache__get(sc, 0x100, t));
	t += 11 * S;
	dp_stackcache__flipped(sc, t);
	cr_assert_eq(slot(0x100), -1, "aged out of the store");
	/*
	 * A sample took the id just before the deletion; its count comes with
	 * the next drain. The store no longer has it: the mirror answers.
	 */
	c = dp_stackcache__get(sc, 0x100, t + S);
	cr_assert_not_null(c);
	cr_assert_eq(c->unr, 4);
	cr_assert_eq(store.lookups, 1, "not read from the store again");
	/* Used again: not forgotten two flips later. */
	dp_stackcache__flipped(sc, t + S);
	dp_stackcache__flipped(sc, t + 2 * S);
	dp_stackcache__flipped(sc, t + 3 * S);
	cr_assert_eq(dp_stackcache__held(sc), 1);
	cr_assert_eq(dp_stackcache__stats(sc)->forgotten, 0);
	dp_stackcache__free(sc);
}

Test(stackcache, a_filling_store_ages_what_the_last_flip_did_not_use)
{
	struct dp_stackcache *sc = open_cache(8);	/* 3/4: 6 entries */
	uint64_t t = 1 * S;

	for (uint64_t id = 1; id <= 6; id++) {
		put(id << 8, 1);
		cr_assert_not_null(dp_stackcache__get(sc, id << 8, t));
	}
	dp_stackcache__flipped(sc, t);
	cr_assert_eq(store.forgets, 0, "all used in the flip just drained");
	t += S;
	cr_assert_not_null(dp_stackcache__get(sc, 1 << 8, t));
	dp_stackcache__flipped(sc, t);
	cr_assert_eq(dp_stackcache__stats(sc)->aged, 5, "long before 10 s: all but the one in use");
	cr_assert_geq(slot(1 << 8), 0);
	dp_stackcache__free(sc);
}

Test(stackcache, stacks_never_counted_are_found_by_a_walk_and_aged)
{
	struct dp_stackcache *sc = open_cache(0);
	uint64_t t = 1 * S;

	/* The program stored it, but the sample's count was dropped (counts map full). */
	put(0x300, 2);
	dp_stackcache__flipped(sc, t);
	cr_assert_eq(store.walks, 1);
	cr_assert_eq(dp_stackcache__stats(sc)->adopted, 1);
	cr_assert_eq(dp_stackcache__held(sc), 1);
	dp_stackcache__flipped(sc, t + 11 * S);
	cr_assert_eq(slot(0x300), -1, "aged out like the rest");
	dp_stackcache__free(sc);
}

Test(stackcache, a_failed_deletion_is_counted_and_the_entry_kept)
{
	struct dp_stackcache *sc = open_cache(0);

	put(0x100, 2);
	cr_assert_not_null(dp_stackcache__get(sc, 0x100, S));
	store.fail_forget = 1;
	dp_stackcache__flipped(sc, 12 * S);
	cr_assert_eq(dp_stackcache__stats(sc)->errors, 1);
	cr_assert_eq(dp_stackcache__stats(sc)->aged, 0);
	cr_assert_eq(dp_stackcache__in_store(sc), 1);
	/* Deleted at a later scan, once the store lets it. */
	store.fail_forget = 0;
	dp_stackcache__flipped(sc, 14 * S);
	cr_assert_eq(dp_stackcache__stats(sc)->aged, 1);
	dp_stackcache__free(sc);
}

Test(stackcache, without_a_delete_nothing_ages)
{
	struct dp_store_ops ro = { .lookup = lookup };
	struct dp_stackcache_opts o = { .age_ns = S, .scan_ns = S };
	struct dp_stackcache *sc;

	memset(&store, 0, sizeof(store));
	sc = dp_stackcache__new(&ro, &o);
	cr_assert_not_null(sc);
	put(0x100, 2);
	cr_assert_not_null(dp_stackcache__get(sc, 0x100, S));
	dp_stackcache__flipped(sc, 100 * S);
	dp_stackcache__flipped(sc, 200 * S);
	cr_assert_eq(dp_stackcache__held(sc), 1);
	cr_assert_geq(slot(0x100), 0);
	dp_stackcache__free(sc);
}
