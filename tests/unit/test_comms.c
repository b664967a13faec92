// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Thread names (model/comms.c): kept while they can be asked for, when streaming. */
#include <criterion/criterion.h>
#include "comms.h"
#include "fake_symbolizer.h"
#include "profile.h"
#include "stacks.h"

Test(comms, exited_threads_forgotten_two_intervals_later_when_streaming)
{
	struct dp_comms *c = dp_comms__new();

	cr_assert_not_null(c);
	cr_assert_eq(dp_comms__set(c, 10, 10, "main"), 0);
	cr_assert_eq(dp_comms__set(c, 10, 11, "worker"), 0);
	dp_comms__exited(c, 11);
	dp_comms__next_epoch(c, true);	/* the interval it exited in ends */
	cr_assert_str_eq(dp_comms__get(c, 11), "worker", "its last samples may come in the next interval");
	dp_comms__next_epoch(c, true);
	cr_assert_null(dp_comms__get(c, 11), "forgotten");
	cr_assert_str_eq(dp_comms__get(c, 10), "main", "a live thread stays");
	/* Not streaming (a report at the end): every name stays. */
	cr_assert_eq(dp_comms__set(c, 10, 12, "late"), 0);
	dp_comms__exited(c, 12);
	for (int i = 0; i < 4; i++)
		dp_comms__next_epoch(c, false);
	cr_assert_str_eq(dp_comms__get(c, 12), "late");
	/* A thread seen again after its exit (a reused tid) is alive again. */
	cr_assert_eq(dp_comms__set(c, 10, 12, "again"), 0);
	dp_comms__next_epoch(c, true);
	dp_comms__next_epoch(c, true);
	cr_assert_str_eq(dp_comms__get(c, 12), "again");
	dp_comms__free(c);
}

static uint32_t gen_now;

static uint32_t fake_generation(void *ctx, uint32_t pid)
{
	(void)ctx;
	(void)pid;
	return gen_now;
}

Test(comms, an_exec_keeps_the_old_name_for_earlier_generations)
{
	struct dp_comms *c = dp_comms__new();

	cr_assert_not_null(c);
	dp_comms__set_generation(c, fake_generation, NULL);
	gen_now = 0;
	cr_assert_eq(dp_comms__set(c, 10, 10, "sh"), 0);
	cr_assert_eq(dp_comms__set(c, 10, 10, "sh-renamed"), 0);	/* prctl: same generation */
	gen_now = 1;	/* a dlopen over another library: a generation, the same name */
	cr_assert_eq(dp_comms__set(c, 10, 10, "sh-renamed"), 0);
	gen_now = 2;	/* the exec */
	cr_assert_eq(dp_comms__set(c, 10, 10, "make"), 0);
	cr_assert_str_eq(dp_comms__get(c, 10), "make", "the current name");
	cr_assert_str_eq(dp_comms__get_at(c, 10, 0), "sh-renamed", "the last name of its generation");
	cr_assert_str_eq(dp_comms__get_at(c, 10, 1), "sh-renamed");
	cr_assert_str_eq(dp_comms__get_at(c, 10, 2), "make");
	cr_assert_str_eq(dp_comms__get_at(c, 10, 7), "make", "later generations: the latest name");
	/* A tid first named after its process's exec: that name for earlier samples too. */
	cr_assert_eq(dp_comms__set(c, 10, 11, "worker"), 0);
	cr_assert_str_eq(dp_comms__get_at(c, 11, 0), "worker");
	/* A tid reused by another process starts its history over. */
	gen_now = 0;
	cr_assert_eq(dp_comms__set(c, 20, 10, "other"), 0);
	cr_assert_str_eq(dp_comms__get_at(c, 10, 0), "other");
	cr_assert_str_eq(dp_comms__get_at(c, 10, 2), "other");
	cr_assert_null(dp_comms__get_at(c, 99, 0));
	dp_comms__free(c);
}

Test(comms, a_profile_names_each_stack_with_the_name_of_its_generation)
{
	static const struct dp_fake_sym syms[] = {
		{ .start = 0x401000, .size = 0x100, .name = "old_main", .module = "sh" },
		{ .start = 0x501000, .size = 0x100, .name = "new_main", .module = "make" },
	};
	struct dp_fake_symbolizer fz;
	struct dp_profile_opts po = { 0 };
	struct dp_stack_table t;
	struct dp_profile p;
	struct dp_comms *c = dp_comms__new();
	uint64_t before[] = { 0x401010 }, after[] = { 0x501010 };
	struct dp_stack_hdr h0 = { .pid = 10, .tid = 10, .flags = DP_STK_GEN_SET | dp_stk__gen_bits(0),
				   .unr = 1 };
	struct dp_stack_hdr h1 = { .pid = 10, .tid = 10, .flags = DP_STK_GEN_SET | dp_stk__gen_bits(1),
				   .unr = 1 };
	uint32_t sh = 0, make = 0;

	cr_assert_not_null(c);
	dp_comms__set_generation(c, fake_generation, NULL);
	gen_now = 0;
	cr_assert_eq(dp_comms__set(c, 10, 10, "sh"), 0);
	gen_now = 1;
	cr_assert_eq(dp_comms__set(c, 10, 10, "make"), 0);
	dp_stack_table__init(&t);
	cr_assert_eq(dp_stack_table__add(&t, &h0, NULL, before, 3), 0);
	cr_assert_eq(dp_stack_table__add(&t, &h1, NULL, after, 5), 0);
	cr_assert_eq(dp_profile__build(&p, &t, dp_fake_symbolizer__init(&fz, syms, 2), c, &po), 0);
	cr_assert_eq(p.nthreads, 2, "one tid, two names: two threads");
	for (uint32_t i = 0; i < p.nthreads; i++) {
		cr_assert_eq(p.threads[i].tid, 10);
		if (!strcmp(p.threads[i].comm, "sh"))
			sh = (uint32_t)p.threads[i].samples;
		else if (!strcmp(p.threads[i].comm, "make"))
			make = (uint32_t)p.threads[i].samples;
	}
	cr_assert_eq(sh, 3, "the samples before the exec keep the old name");
	cr_assert_eq(make, 5);
	dp_profile__free(&p);
	dp_stack_table__clear(&t);
	dp_comms__free(c);
}

Test(comms, a_reused_tid_is_not_the_dead_threads)
{
	struct dp_comms *c = dp_comms__new();

	cr_assert_not_null(c);
	cr_assert_eq(dp_comms__set(c, 10, 12, "old"), 0);
	cr_assert_str_eq(dp_comms__get_live(c, 12, 10), "old");
	cr_assert_null(dp_comms__get_live(c, 12, 20), "another process's tid now (pid wrap)");
	dp_comms__exited(c, 12);
	cr_assert_null(dp_comms__get_live(c, 12, 10), "exited: to be named again");
	cr_assert_str_eq(dp_comms__get(c, 12), "old", "its samples keep their name");
	cr_assert_eq(dp_comms__set(c, 20, 12, "new"), 0);
	cr_assert_str_eq(dp_comms__get_live(c, 12, 20), "new");
	dp_comms__free(c);
}
