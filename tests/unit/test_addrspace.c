// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Address spaces over time: generations, overlap, exec, fork (symbols/addrspace.c). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include "addrspace.h"
#include "stacks.h"

/* Stand-ins for two objects: only their identity matters here. */
static struct dp_obj *const LIBA = (struct dp_obj *)0x1000;
static struct dp_obj *const LIBB = (struct dp_obj *)0x2000;
static struct dp_obj *const EXE = (struct dp_obj *)0x3000;

static void put(struct dp_aspace *as, uint64_t start, uint64_t end, uint64_t pgoff, struct dp_obj *o)
{
	struct dp_map m = { .start = start, .end = end, .pgoff = pgoff, .obj = o, .name = "x" };

	cr_assert_eq(dp_aspace__put(as, &m), 0);
}

static struct dp_obj *obj_at(const struct dp_aspace *as, uint32_t gen, uint64_t addr)
{
	const struct dp_map *m = dp_aspace__find_at(as, gen, addr);

	return m ? m->obj : NULL;
}

static void release(struct dp_aspace *as)
{
	free(as->maps);
	free(as->old);
}

Test(addrspace, a_library_where_another_was_starts_a_generation)
{
	struct dp_aspace as = { 0 };

	put(&as, 0x10000, 0x20000, 0, EXE);
	put(&as, 0x7000, 0x8000, 0x1000, LIBA);
	cr_assert_eq(as.gen, 0, "new mappings where nothing was: no new generation");
	put(&as, 0x7000, 0x8000, 0x1000, LIBA);
	cr_assert_eq(as.gen, 0, "the same mapping seen again: none either");
	put(&as, 0x7000, 0x8000, 0x1000, LIBB);	/* dlclose(liba); dlopen(libb) */
	cr_assert_eq(as.gen, 1);
	cr_assert_eq(obj_at(&as, 0, 0x7010), LIBA, "earlier stacks keep liba");
	cr_assert_eq(obj_at(&as, 1, 0x7010), LIBB);
	cr_assert_eq(dp_aspace__find(&as, 0x7010)->obj, LIBB);
	cr_assert_eq(obj_at(&as, 0, 0x10010), EXE, "what did not change is the same in both");
	cr_assert_eq(obj_at(&as, 1, 0x10010), EXE);
	release(&as);
}

Test(addrspace, an_overlap_ends_what_it_covers_and_keeps_the_rest)
{
	struct dp_aspace as = { 0 };
	const struct dp_map *lo, *hi;

	put(&as, 0x1000, 0x9000, 0, LIBA);
	put(&as, 0x4000, 0x5000, 0, LIBB);	/* MAP_FIXED over the middle of liba */
	cr_assert_eq(as.gen, 1);
	cr_assert_eq(as.nmaps, 3);
	lo = dp_aspace__find(&as, 0x3fff);
	hi = dp_aspace__find(&as, 0x5000);
	cr_assert(lo && lo->obj == LIBA && lo->start == 0x1000 && lo->end == 0x4000);
	cr_assert(hi && hi->obj == LIBA && hi->start == 0x5000 && hi->end == 0x9000);
	cr_assert_eq(hi->pgoff, 0x4000, "the upper part keeps its file offset");
	cr_assert_eq(dp_aspace__find(&as, 0x4800)->obj, LIBB);
	cr_assert_eq(obj_at(&as, 0, 0x4800), LIBA);
	cr_assert_eq(obj_at(&as, 1, 0x3000), LIBA, "the parts kept are live in both");
	cr_assert_eq(obj_at(&as, 0, 0x6000), LIBA);
	release(&as);
}

Test(addrspace, exec_keeps_the_old_space_for_earlier_stacks)
{
	struct dp_aspace as = { 0 };

	put(&as, 0x10000, 0x20000, 0, EXE);
	cr_assert_eq(dp_aspace__exec(&as), 0);
	cr_assert_eq(as.gen, 1);
	cr_assert_null(dp_aspace__find(&as, 0x10010), "the new program has none of it");
	put(&as, 0x50000, 0x60000, 0, LIBB);
	cr_assert_eq(obj_at(&as, 0, 0x10010), EXE);
	cr_assert_null(obj_at(&as, 0, 0x50010), "mapped after: not in the old space");
	cr_assert_eq(obj_at(&as, 1, 0x50010), LIBB);
	/*
	 * In the generation the exec started, an address the new program does
	 * not map is the old program's: a sample taken inside execve after the
	 * exec was announced still has its registers (seen in the live exec test,
	 * 4 samples of 2004 as [unmapped] before).
	 */
	cr_assert_eq(obj_at(&as, 1, 0x10010), EXE);
	/* A generation a replaced mapping started looks in no other. */
	put(&as, 0x50000, 0x58000, 0, LIBA);
	cr_assert_eq(as.gen, 2);
	cr_assert_eq(obj_at(&as, 2, 0x50010), LIBA);
	cr_assert_eq(obj_at(&as, 2, 0x58010), LIBB, "the rest of libb stays");
	cr_assert_null(obj_at(&as, 2, 0x10010));
	release(&as);
}

Test(addrspace, a_forked_child_starts_with_its_parents_mappings)
{
	struct dp_aspace parent = { 0 }, child = { 0 };

	put(&parent, 0x10000, 0x20000, 0, EXE);
	put(&parent, 0x7000, 0x8000, 0, LIBA);
	cr_assert_eq(dp_aspace__copy(&child, &parent), 0);
	cr_assert_eq(child.nmaps, 2);
	cr_assert_eq(obj_at(&child, 0, 0x7010), LIBA);
	put(&parent, 0x7000, 0x8000, 0, LIBB);	/* the parent goes on alone */
	cr_assert_eq(dp_aspace__find(&child, 0x7010)->obj, LIBA);
	release(&parent);
	release(&child);
}

Test(addrspace, generations_stop_at_the_limit)
{
	struct dp_aspace as = { 0 };

	as.gen = DP_ASPACE_MAX_GEN;
	put(&as, 0x7000, 0x8000, 0, LIBA);
	put(&as, 0x7000, 0x8000, 0, LIBB);
	cr_assert_eq(as.gen, DP_ASPACE_MAX_GEN);
	cr_assert_eq(as.nold, 0, "no history kept past the limit");
	cr_assert_eq(dp_aspace__find(&as, 0x7010)->obj, LIBB);
	release(&as);
}

static uint32_t test_gen;

static uint32_t gen_now(void *ctx, uint32_t pid)
{
	(void)ctx;
	return pid == 7 ? test_gen : 0;
}

/* The same addresses before and after a change are two stacks, each with its generation. */
Test(addrspace, stacks_are_stamped_with_the_generation_they_were_taken_in)
{
	struct dp_stack_table t;
	uint64_t u[] = { 0x7010, 0x10020 };
	struct dp_stack_hdr h = { .pid = 7, .tid = 7, .unr = 2 };

	dp_stack_table__init(&t);
	t.generation = gen_now;
	test_gen = 0;
	cr_assert_eq(dp_stack_table__add(&t, &h, NULL, u, 3), 0);
	test_gen = 1;
	cr_assert_eq(dp_stack_table__add(&t, &h, NULL, u, 5), 0);
	cr_assert_eq(dp_stack_table__add(&t, &h, NULL, u, 1), 0);
	cr_assert_eq(t.entries, 2);
	cr_assert_eq(dp_stk__gen(t.ents[0].hdr.flags), 0);
	cr_assert_eq(t.ents[0].count, 3);
	cr_assert_eq(dp_stk__gen(t.ents[1].hdr.flags), 1);
	cr_assert_eq(t.ents[1].count, 6);
	dp_stack_table__clear(&t);
	cr_assert_eq(t.generation, gen_now, "emptied, still stamping");
	dp_stack_table__clear(&t);
}

/* Data mappings seen again by a later snapshot: kept once, bounds updated; another file's replaces. */
Test(addrspace, data_mappings_seen_again_are_kept_once)
{
	struct dp_aspace as = { 0 };
	struct dp_datamap stack = { .start = 0x7000, .end = 0x8000, .name = "[stack]", .module = "[data: [stack]]" };
	struct dp_datamap grown = { .start = 0x6000, .end = 0x8000, .name = "[stack]", .module = "[data: [stack]]" };
	struct dp_datamap file = { .start = 0x1000, .end = 0x2000, .name = "/a", .module = "[data: a]" };
	struct dp_datamap other = { .start = 0x1000, .end = 0x2000, .name = "/b", .module = "[data: b]" };

	for (int i = 0; i < 3; i++)
		cr_assert_eq(dp_aspace__put_data(&as, &stack), 0);
	cr_assert_eq(dp_aspace__put_data(&as, &grown), 0);
	cr_assert_eq(as.ndata, 1, "one [stack], however often seen");
	cr_assert_not_null(dp_aspace__find_data(&as, 0, 0x6010), "its bounds as last seen");
	cr_assert_eq(dp_aspace__put_data(&as, &file), 0);
	cr_assert_eq(dp_aspace__put_data(&as, &other), 0);
	cr_assert_eq(as.ndata, 2);
	cr_assert_str_eq(dp_aspace__find_data(&as, 0, 0x1010)->name, "/b", "the file mapped there now");
	free(as.data);
	release(&as);
}
