// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The stack table's interning: parts stored once, ids stable, counts kept. */
#include <errno.h>
#include <stdlib.h>
#include <criterion/criterion.h>
#include "stacks.h"

/* Innermost first; U2 shares U1's two outermost addresses, U3 is U1's outer prefix. */
static const uint64_t U1[] = { 0x401010, 0x401020, 0x401030 };
static const uint64_t U2[] = { 0x409999, 0x401020, 0x401030 };
static const uint64_t U3[] = { 0x401020, 0x401030 };
static const uint64_t K1[] = { 0xffffffff81005000, 0xffffffff81004000 };

static struct dp_stack_hdr hdr(uint32_t tid, uint16_t knr, uint16_t unr)
{
	struct dp_stack_hdr h = { .pid = 7, .tid = tid, .knr = knr, .unr = unr };

	return h;
}

Test(stacks, dedupe_and_shared_prefixes)
{
	struct dp_stack_table t;
	struct dp_stack_hdr h1 = hdr(1, 2, 3), h2 = hdr(2, 0, 3), h3 = hdr(1, 0, 2);
	uint64_t buf[DP_PART_MAX];

	dp_stack_table__init(&t);
	cr_assert_eq(dp_stack_table__add(&t, &h1, K1, U1, 1), 0);
	cr_assert_eq(dp_stack_table__add(&t, &h1, K1, U1, 2), 0);
	cr_assert_eq(t.entries, 1);
	cr_assert_eq(t.ents[0].count, 3);
	/* Another thread, the same user part: a second entry, no new part. */
	cr_assert_eq(dp_stack_table__add(&t, &h2, NULL, U1, 1), 0);
	cr_assert_eq(t.entries, 2);
	cr_assert_eq(t.ents[1].upart, t.ents[0].upart);
	cr_assert_eq(t.ents[1].kpart, 0);
	cr_assert_eq(dp_stack_table__nparts(&t), 2);
	cr_assert_eq(dp_stack_table__nnodes(&t), 5);	/* 3 user + 2 kernel */
	/* A part sharing callers adds one node; a prefix of one adds none. */
	cr_assert_eq(dp_stack_table__add(&t, &h2, NULL, U2, 1), 0);
	cr_assert_eq(dp_stack_table__nnodes(&t), 6);
	cr_assert_eq(dp_stack_table__add(&t, &h3, NULL, U3, 1), 0);
	cr_assert_eq(dp_stack_table__nnodes(&t), 6);
	cr_assert_eq(dp_stack_table__nparts(&t), 4);
	cr_assert_eq(t.total, 6);
	/* Parts read back innermost first. */
	cr_assert_eq(dp_stack_table__part(&t, t.ents[2].upart, buf), 3);
	cr_assert_arr_eq(buf, U2, sizeof(U2));
	cr_assert_eq(dp_stack_table__part(&t, t.ents[0].kpart, buf), 2);
	cr_assert_arr_eq(buf, K1, sizeof(K1));
	cr_assert_eq(dp_stack_table__find(&t, &h3, NULL, U3)->count, 1);
	cr_assert_null(dp_stack_table__find(&t, &h3, NULL, U1));
	dp_stack_table__clear(&t);
}

/* Many parts: ids and entries stay where they were while the indexes grow. */
Test(stacks, ids_stable_while_growing)
{
	struct dp_stack_table t;
	uint64_t ips[4], buf[DP_PART_MAX];
	uint32_t first;

	dp_stack_table__init(&t);
	for (uint64_t i = 0; i < 20000; i++) {
		struct dp_stack_hdr h = hdr(1, 0, 4);

		ips[0] = 0x500000 + i;
		ips[1] = 0x400000 + i % 97;
		ips[2] = 0x400100;
		ips[3] = 0x400200;
		cr_assert_eq(dp_stack_table__add(&t, &h, NULL, ips, 1), 0);
		if (!i)
			first = t.ents[0].upart;
	}
	cr_assert_eq(t.entries, 20000);
	cr_assert_eq(t.ents[0].upart, first);
	cr_assert_eq(dp_stack_table__nnodes(&t), 20000 + 97 + 2);
	for (uint64_t i = 0; i < 20000; i += 997) {
		cr_assert_eq(dp_stack_table__part(&t, t.ents[i].upart, buf), 4);
		cr_assert_eq(buf[0], 0x500000 + i);
		cr_assert_eq(buf[1], 0x400000 + i % 97);
	}
	dp_stack_table__clear(&t);
}

Test(stacks, delta_and_merge)
{
	struct dp_stack_table t, d, m;
	struct dp_stack_hdr h1 = hdr(1, 2, 3), h2 = hdr(2, 0, 3);

	dp_stack_table__init(&t);
	dp_stack_table__init(&d);
	dp_stack_table__init(&m);
	cr_assert_eq(dp_stack_table__add(&t, &h1, K1, U1, 4), 0);
	cr_assert_eq(dp_stack_table__delta(&t, &d), 0);
	cr_assert_eq(d.total, 4);
	dp_stack_table__clear(&d);
	/* The second interval: only what changed. */
	cr_assert_eq(dp_stack_table__add(&t, &h2, NULL, U2, 2), 0);
	cr_assert_eq(dp_stack_table__add(&t, &h1, K1, U1, 1), 0);
	cr_assert_eq(dp_stack_table__delta(&t, &d), 0);
	cr_assert_eq(d.entries, 2);
	cr_assert_eq(dp_stack_table__find(&d, &h1, K1, U1)->count, 1);
	cr_assert_eq(dp_stack_table__find(&d, &h2, NULL, U2)->count, 2);
	cr_assert_eq(dp_stack_table__merge(&m, &t), 0);
	cr_assert_eq(dp_stack_table__merge(&m, &d), 0);
	cr_assert_eq(dp_stack_table__find(&m, &h1, K1, U1)->count, 6);
	cr_assert_eq(m.total, 10);
	cr_assert_eq(dp_stack_table__diff(&t, &t, NULL, 0), 0);
	cr_assert_eq(dp_stack_table__diff(&t, &d, NULL, 0), 1);	/* h1: 5 against 1 */
	dp_stack_table__clear(&t);
	dp_stack_table__clear(&d);
	dp_stack_table__clear(&m);
}

Test(stacks, too_long_a_part)
{
	static uint64_t ips[DP_PART_MAX + 1];
	struct dp_stack_table t;
	struct dp_stack_hdr h = hdr(1, 0, DP_PART_MAX + 1);

	dp_stack_table__init(&t);
	cr_assert_eq(dp_stack_table__add(&t, &h, NULL, ips, 1), -E2BIG);
	cr_assert_eq(t.total, 0);
	dp_stack_table__clear(&t);
}

/*
 * A part interned ahead of its stacks (the join's records): the hint of the
 * same thread's last part spares the hash only when it is that part; a
 * hint that is wrong, stale or evicted still gives the right id.
 */
Test(stacks, intern_with_a_hint)
{
	static const uint64_t V1[] = { 0x401010, 0x401020, 0x401099 };	/* U1, its outermost other */
	static uint64_t many[5000][3];
	struct dp_stack_table t;
	struct dp_part_ref ref = { 0 }, none = { 0 }, stale;
	struct dp_stack_hdr h = hdr(1, 2, 3);
	uint32_t u1, v1;
	uint64_t buf[DP_PART_MAX];

	dp_stack_table__init(&t);
	cr_assert_eq(dp_stack_table__intern(&t, U1, 3, &ref), 0);
	u1 = ref.id;
	cr_assert_neq(u1, 0);
	cr_assert_eq(ref.n, 3);
	cr_assert_eq(ref.hash, dp_stack__part_hash(U1, 3));
	cr_assert_eq(dp_stack_table__intern(&t, U1, 3, &ref), 0);	/* the hint holds */
	cr_assert_eq(ref.id, u1);
	cr_assert_eq(dp_stack_table__intern(&t, V1, 3, &ref), 0);	/* same length, not the hint */
	v1 = ref.id;
	cr_assert_neq(v1, u1);
	cr_assert_eq(ref.hash, dp_stack__part_hash(V1, 3));
	cr_assert_eq(dp_stack_table__part(&t, v1, buf), 3);
	cr_assert_arr_eq(buf, V1, sizeof(V1));
	/* A hint naming V1's id under U1's hash: the cached copy there is U1's, not V1's. */
	stale = (struct dp_part_ref){ .hash = dp_stack__part_hash(U1, 3), .id = v1, .n = 3 };
	cr_assert_eq(dp_stack_table__intern(&t, U1, 3, &stale), 0);
	cr_assert_eq(stale.id, u1);
	/* U1's first two addresses under U1's hint: the same words, not U1. */
	stale = (struct dp_part_ref){ .hash = dp_stack__part_hash(U1, 3), .id = u1, .n = 2 };
	cr_assert_eq(dp_stack_table__intern(&t, U1, 2, &stale), 0);
	cr_assert_neq(stale.id, u1);
	cr_assert_eq(dp_stack_table__part(&t, stale.id, buf), 2);
	cr_assert_arr_eq(buf, U1, 2 * sizeof(*U1));
	/* Thousands of other parts later the cached copies were replaced: still U1's id. */
	for (uint32_t i = 0; i < 5000; i++) {
		struct dp_part_ref r = { 0 };

		for (uint32_t k = 0; k < 3; k++)
			many[i][k] = 0x600000 + (uint64_t)i * 64 + k;
		cr_assert_eq(dp_stack_table__intern(&t, many[i], 3, &r), 0);
	}
	ref = (struct dp_part_ref){ .hash = dp_stack__part_hash(U1, 3), .id = u1, .n = 3 };
	cr_assert_eq(dp_stack_table__intern(&t, U1, 3, &ref), 0);
	cr_assert_eq(ref.id, u1);
	/* Stacks added by the interned id are the stacks added by address. */
	cr_assert_eq(dp_stack_table__add_upart(&t, &h, K1, dp_stack__part_hash(K1, 2), u1, 2), 0);
	cr_assert_eq(dp_stack_table__add(&t, &h, K1, U1, 3), 0);
	cr_assert_eq(t.entries, 1);
	cr_assert_eq(dp_stack_table__find(&t, &h, K1, U1)->count, 5);
	/* An empty part is id 0; a part too long, and a table without its index, refuse. */
	none.id = 99;
	cr_assert_eq(dp_stack_table__intern(&t, NULL, 0, &none), 0);
	cr_assert_eq(none.id, 0);
	{
		static uint64_t longp[DP_PART_MAX + 1];

		cr_assert_eq(dp_stack_table__intern(&t, longp, DP_PART_MAX + 1, &none), -E2BIG);
	}
	dp_stack_table__drop_index(&t);
	cr_assert_eq(dp_stack_table__intern(&t, U1, 3, &ref), -EPERM);
	cr_assert_eq(dp_stack_table__add_upart(&t, &h, K1, 0, u1, 1), -EPERM);
	dp_stack_table__clear(&t);
}

/* Marks (kept from the first delta on) follow the entries as the array grows. */
Test(stacks, delta_across_growth)
{
	struct dp_stack_table t, d;
	struct dp_stack_hdr h = hdr(1, 0, 1);
	uint64_t ip;

	dp_stack_table__init(&t);
	dp_stack_table__init(&d);
	ip = 0x400000;
	cr_assert_eq(dp_stack_table__add(&t, &h, NULL, &ip, 3), 0);
	cr_assert_eq(dp_stack_table__delta(&t, &d), 0);
	cr_assert_eq(d.total, 3);
	dp_stack_table__clear(&d);
	for (uint32_t i = 1; i < 2000; i++) {	/* past several doublings of the array */
		h.tid = i + 1;
		ip = 0x400000 + i;
		cr_assert_eq(dp_stack_table__add(&t, &h, NULL, &ip, 1), 0);
	}
	h.tid = 1;
	ip = 0x400000;
	cr_assert_eq(dp_stack_table__add(&t, &h, NULL, &ip, 2), 0);
	cr_assert_eq(dp_stack_table__delta(&t, &d), 0);
	cr_assert_eq(d.entries, 2000);
	cr_assert_eq(d.total, 1999 + 2);
	cr_assert_eq(dp_stack_table__find(&d, &h, NULL, &ip)->count, 2);
	dp_stack_table__clear(&d);
	cr_assert_eq(dp_stack_table__delta(&t, &d), 0);
	cr_assert_eq(d.entries, 0);
	dp_stack_table__clear(&t);
	dp_stack_table__clear(&d);
}

/*
 * Long parts, many of them, each added twice: the cache of flat copies
 * grows, fills and empties on the way, and every part still comes back
 * once with its own count.
 */
Test(stacks, part_cache_fills_and_grows)
{
	static uint64_t ips[3000][200];
	struct dp_stack_table t;
	uint64_t buf[DP_PART_MAX];

	dp_stack_table__init(&t);
	for (int round = 0; round < 2; round++) {
		for (uint32_t i = 0; i < 3000; i++) {
			uint32_t n = 1 + i % 200;
			struct dp_stack_hdr h = hdr(1, 0, (uint16_t)n);

			for (uint32_t k = 0; k < n; k++)
				ips[i][k] = 0x500000 + (uint64_t)i * 4096 + k;
			cr_assert_eq(dp_stack_table__add(&t, &h, NULL, ips[i], 1), 0);
		}
	}
	cr_assert_eq(t.entries, 3000);
	cr_assert_eq(dp_stack_table__nparts(&t), 3000);
	for (uint32_t i = 0; i < 3000; i++) {
		cr_assert_eq(t.ents[i].count, 2);
		cr_assert_eq(dp_stack_table__part(&t, t.ents[i].upart, buf), 1 + i % 200);
		cr_assert_arr_eq(buf, ips[i], (1 + i % 200) * sizeof(*buf));
	}
	dp_stack_table__clear(&t);
}

/* The unrolled part hash gives the values of one word a step, for every tail. */
Test(stacks, part_hash_unrolled)
{
	uint64_t w[40];

	for (uint32_t i = 0; i < 40; i++)
		w[i] = 0xffffffff81000000ULL + i * 0x1234567ULL;
	for (uint32_t n = 0; n <= 40; n++) {
		uint64_t h = 0x5eed5eed5eed5eedULL ^ (n * 0x9e3779b97f4a7c15ULL);

		for (uint32_t i = 0; i < n; i++)
			h = (h ^ w[i]) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 29;
		h *= 0x94d049bb133111ebULL;
		h ^= h >> 32;
		cr_assert_eq(dp_stack__part_hash(w, n), h, "n = %u", n);
	}
}

/* Without its indexes a table still reads back; adding fails, finding finds nothing. */
Test(stacks, drop_index)
{
	struct dp_stack_table t, m;
	struct dp_stack_hdr h1 = hdr(1, 2, 3), h2 = hdr(2, 0, 3);
	uint64_t buf[DP_PART_MAX];

	dp_stack_table__init(&t);
	dp_stack_table__init(&m);
	dp_stack_table__drop_index(&t);	/* empty: nothing to drop */
	cr_assert_eq(dp_stack_table__add(&t, &h1, K1, U1, 4), 0);
	cr_assert_eq(dp_stack_table__add(&t, &h2, NULL, U2, 1), 0);
	dp_stack_table__drop_index(&t);
	cr_assert_eq(dp_stack_table__add(&t, &h1, K1, U1, 1), -EPERM);
	cr_assert_null(dp_stack_table__find(&t, &h1, K1, U1));
	cr_assert_eq(dp_stack_table__part(&t, t.ents[0].upart, buf), 3);
	cr_assert_arr_eq(buf, U1, sizeof(U1));
	cr_assert_eq(dp_stack_table__merge(&m, &t), 0);
	cr_assert_eq(dp_stack_table__find(&m, &h1, K1, U1)->count, 4);
	cr_assert_eq(dp_stack_table__find(&m, &h2, NULL, U2)->count, 1);
	cr_assert_eq(t.total, 5);
	dp_stack_table__clear(&t);
	dp_stack_table__clear(&m);
}

/* The kernel addresses a report must name: those of kernel parts only, each once, sorted. */
Test(stacks, kernel_addrs)
{
	static const uint64_t K2[] = { 0xffffffff81001000, 0xffffffff81004000 };
	struct dp_stack_table t;
	struct dp_stack_hdr h1 = hdr(1, 2, 3), h2 = hdr(2, 2, 3), h3 = hdr(3, 0, 2);
	uint64_t *a;
	size_t n;

	dp_stack_table__init(&t);
	cr_assert_eq(dp_stack_table__kernel_addrs(&t, &a, &n), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(dp_stack_table__add(&t, &h1, K1, U1, 1), 0);
	cr_assert_eq(dp_stack_table__add(&t, &h2, K2, U2, 1), 0);
	cr_assert_eq(dp_stack_table__add(&t, &h3, NULL, U3, 1), 0);
	dp_stack_table__drop_index(&t);	/* as the report does first */
	cr_assert_eq(dp_stack_table__kernel_addrs(&t, &a, &n), 0);
	cr_assert_eq(n, 3, "0x...81004000 is in both parts: once");
	cr_assert_eq(a[0], 0xffffffff81001000);
	cr_assert_eq(a[1], 0xffffffff81004000);
	cr_assert_eq(a[2], 0xffffffff81005000);
	free(a);
	dp_stack_table__clear(&t);
}
