/* The model behind deferprof top, without a terminal. */
#include <criterion/criterion.h>
#include <string.h>
#include <unistd.h>
#include "fake_symbolizer.h"
#include "profile.h"
#include "stacks.h"
#include "topmodel.h"

#define LEAF 0x401000ULL
#define CALLER 0x401100ULL
static const struct dp_fake_sym syms[] = {
	{ .start = LEAF, .size = 0x40, .name = "dp_t_leaf", .module = "unit-tests",
	  .build_id = dp_fake_build_id, .build_id_len = 20 },
	{ .start = CALLER, .size = 0x40, .name = "dp_t_caller", .module = "unit-tests",
	  .build_id = dp_fake_build_id, .build_id_len = 20 },
	{ .kernel = true, .start = 0xffffffff81001000, .size = 0x1000, .name = "entry_SYSCALL_64" },
	{ .kernel = true, .start = 0xffffffff81004000, .size = 0x1000, .name = "vfs_read" },
	{ .kernel = true, .start = 0xffffffff81005000, .size = 0x1000, .name = "read_zero" },
};

static struct dp_fake_symbolizer sz;
static struct dp_comms *comms;
static struct dp_topmodel m;
static uint32_t pid;

/* Thread A: caller;leaf x8 and caller;leaf;entry;vfs_read;read_zero x5. Thread B: lost;kernel x2. */
static void add(uint64_t n_user, uint64_t n_sys, uint64_t n_b)
{
	uint64_t k[] = { 0xffffffff81005010, 0xffffffff81004010, 0xffffffff81001010 };
	uint64_t u[] = { LEAF + 2, CALLER + 5 };
	struct dp_stack_hdr h1 = { .pid = pid, .tid = pid, .knr = 3, .unr = 2 };
	struct dp_stack_hdr h2 = { .pid = pid, .tid = pid, .knr = 0, .unr = 2 };
	struct dp_stack_hdr h3 = { .pid = pid, .tid = pid + 1, .flags = DP_STK_USER_LOST, .knr = 3 };
	struct dp_stack_table t;

	dp_stack_table__init(&t);
	if (n_sys)
		cr_assert_eq(dp_stack_table__add(&t, &h1, k, u, n_sys), 0);
	if (n_user)
		cr_assert_eq(dp_stack_table__add(&t, &h2, NULL, u, n_user), 0);
	if (n_b)
		cr_assert_eq(dp_stack_table__add(&t, &h3, k, NULL, n_b), 0);
	cr_assert_eq(dp_topmodel__add(&m, &t, &sz.iface, comms, NULL), 0);
	dp_stack_table__clear(&t);
}

static void setup(void)
{
	pid = (uint32_t)getpid();
	dp_fake_symbolizer__init(&sz, syms, sizeof(syms) / sizeof(syms[0]));
	comms = dp_comms__new();
	dp_comms__set(comms, pid, pid, "worker");
	dp_comms__set(comms, pid, pid + 1, "helper");
	cr_assert_eq(dp_topmodel__init(&m, 0.5), 0);
	add(8, 5, 2);
	cr_assert_eq(dp_topmodel__tick(&m, 1), 0);
}

static void teardown(void)
{
	dp_topmodel__free(&m);
	dp_comms__free(comms);
}

static int64_t frame_of(const char *name)
{
	for (uint32_t i = 0; i < m.prof.nframes; i++)
		if (!strcmp(m.prof.frames[i].name, name))
			return i;
	return -1;
}

static const char *row_name(const struct dp_toprow *r)
{
	return m.prof.frames[r->frame].name;
}

TestSuite(topmodel, .init = setup, .fini = teardown);

Test(topmodel, functions_by_self_and_by_total)
{
	struct dp_topfilter f = { .thread = -1 };
	struct dp_toprow *r;
	uint32_t n;

	cr_assert_eq(dp_topmodel__functions(&m, &f, DP_COUNT_CUMULATIVE, DP_SORT_SELF, &r, &n), 0);
	cr_assert_str_eq(row_name(&r[0]), "dp_t_leaf");
	cr_assert_eq(r[0].self, 8);
	cr_assert_eq(r[0].total, 13);
	cr_assert_str_eq(row_name(&r[1]), "read_zero");
	cr_assert_eq(r[1].self, 7);
	free(r);
	cr_assert_eq(dp_topmodel__functions(&m, &f, DP_COUNT_CUMULATIVE, DP_SORT_TOTAL, &r, &n), 0);
	/* equal totals: the one with more self samples first */
	cr_assert_str_eq(row_name(&r[0]), "dp_t_leaf");
	cr_assert_eq(r[0].total, 13);
	cr_assert_str_eq(row_name(&r[1]), "dp_t_caller");
	cr_assert_eq(r[1].total, 13);
	cr_assert_eq(r[1].self, 0);
	free(r);
	cr_assert_eq(dp_topmodel__total(&m, &f, DP_COUNT_CUMULATIVE), 15);
}

Test(topmodel, decaying_counts_fade_and_cumulative_stay)
{
	struct dp_topfilter f = { .thread = -1 };
	struct dp_toprow *r;
	uint32_t n;

	cr_assert_eq(dp_topmodel__total(&m, &f, DP_COUNT_DECAYING), 15);
	cr_assert_eq(dp_topmodel__tick(&m, 1), 0);	/* an interval without samples */
	cr_assert_eq(m.last_interval_samples, 0);
	cr_assert_eq(dp_topmodel__total(&m, &f, DP_COUNT_DECAYING), 7.5);
	add(0, 0, 4);	/* thread B only, this interval */
	cr_assert_eq(dp_topmodel__tick(&m, 1), 0);
	cr_assert_eq(m.last_interval_samples, 4);
	cr_assert_eq(dp_topmodel__total(&m, &f, DP_COUNT_DECAYING), 7.5 / 2 + 4);
	cr_assert_eq(dp_topmodel__total(&m, &f, DP_COUNT_CUMULATIVE), 19);
	/* Recent activity leads when decaying: read_zero (B's 4 new + old) over dp_t_leaf. */
	cr_assert_eq(dp_topmodel__functions(&m, &f, DP_COUNT_DECAYING, DP_SORT_SELF, &r, &n), 0);
	cr_assert_str_eq(row_name(&r[0]), "read_zero");
	cr_assert_eq(r[0].self, 7.0 / 4 + 4 + 0);
	free(r);
	cr_assert_eq(dp_topmodel__functions(&m, &f, DP_COUNT_CUMULATIVE, DP_SORT_SELF, &r, &n), 0);
	cr_assert_str_eq(row_name(&r[0]), "read_zero");
	cr_assert_eq(r[0].self, 11);
	free(r);
}

/* Three intervals taken at once (the screen was frozen): they fade as three, and
 * the interval's count and the interval counter are those of three. */
Test(topmodel, several_intervals_in_one_tick)
{
	struct dp_topfilter f = { .thread = -1 };
	uint64_t before = m.intervals;

	cr_assert_eq(dp_topmodel__total(&m, &f, DP_COUNT_DECAYING), 15);
	add(0, 0, 30);	/* 30 samples over three intervals */
	cr_assert_eq(dp_topmodel__tick(&m, 3), 0);
	cr_assert_eq(m.intervals, before + 3);
	cr_assert_eq(m.last_interval_samples, 10);
	cr_assert_eq(dp_topmodel__total(&m, &f, DP_COUNT_DECAYING), 15.0 / 8 + 30);
	cr_assert_eq(dp_topmodel__total(&m, &f, DP_COUNT_CUMULATIVE), 45);
}

Test(topmodel, thread_side_and_search_filters)
{
	struct dp_topfilter f = { .thread = -1, .side = DP_SIDE_KERNEL };
	struct dp_topthread *t;
	struct dp_toprow *r;
	uint32_t n;

	/* kernel-only: user frames leave, user-only stacks drop out */
	cr_assert_eq(dp_topmodel__total(&m, &f, DP_COUNT_CUMULATIVE), 7);
	cr_assert_eq(dp_topmodel__functions(&m, &f, DP_COUNT_CUMULATIVE, DP_SORT_TOTAL, &r, &n), 0);
	for (uint32_t i = 0; i < n; i++)
		cr_assert(m.prof.frames[r[i].frame].kernel, "%s is not a kernel frame", row_name(&r[i]));
	free(r);
	/* user-only: the user part's innermost frame gets the sample */
	f.side = DP_SIDE_USER;
	cr_assert_eq(dp_topmodel__functions(&m, &f, DP_COUNT_CUMULATIVE, DP_SORT_SELF, &r, &n), 0);
	cr_assert_str_eq(row_name(&r[0]), "dp_t_leaf");
	cr_assert_eq(r[0].self, 13);
	cr_assert_str_eq(row_name(&r[1]), "[user stack lost]");
	free(r);
	/* one thread: the list, then the filter */
	f.side = DP_SIDE_ALL;
	cr_assert_eq(dp_topmodel__threads(&m, &f, DP_COUNT_CUMULATIVE, &t, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(m.prof.threads[t[0].thread].comm, "worker");
	cr_assert_eq(t[0].samples, 13);
	cr_assert_str_eq(m.prof.threads[t[1].thread].comm, "helper");
	f.thread = t[1].thread;
	free(t);
	cr_assert_eq(dp_topmodel__total(&m, &f, DP_COUNT_CUMULATIVE), 2);
	/* search: case-insensitive substring of the name */
	f.thread = -1;
	snprintf(f.search, sizeof(f.search), "READ");
	cr_assert_eq(dp_topmodel__functions(&m, &f, DP_COUNT_CUMULATIVE, DP_SORT_TOTAL, &r, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert(strstr(row_name(&r[0]), "read") && strstr(row_name(&r[1]), "read"));
	free(r);
}

Test(topmodel, caller_and_callee_trees_expand_on_demand)
{
	struct dp_topfilter f = { .thread = -1 };
	struct dp_treeline *l;
	uint32_t n;
	int64_t rz = frame_of("read_zero"), caller = frame_of("dp_t_caller");

	cr_assert(rz >= 0 && caller >= 0);
	/* callers of read_zero: vfs_read (7), its children stay closed */
	cr_assert_eq(dp_topmodel__tree(&m, &f, DP_COUNT_CUMULATIVE, (uint32_t)rz, DP_TREE_CALLERS, &l, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(l[0].weight, 7);
	cr_assert_str_eq(m.prof.frames[l[1].frame].name, "vfs_read");
	cr_assert_eq(l[1].depth, 1);
	cr_assert(l[1].has_children && !l[1].expanded);
	cr_assert_eq(dp_topmodel__toggle(&m, l[1].id), 0);
	free(l);
	cr_assert_eq(dp_topmodel__tree(&m, &f, DP_COUNT_CUMULATIVE, (uint32_t)rz, DP_TREE_CALLERS, &l, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(m.prof.frames[l[2].frame].name, "entry_SYSCALL_64");
	/* a refresh keeps what was opened: the ids are the paths */
	cr_assert(l[1].expanded);
	free(l);
	/* callees of dp_t_caller: dp_t_leaf with all 13, then the kernel below it */
	cr_assert_eq(dp_topmodel__tree(&m, &f, DP_COUNT_CUMULATIVE, (uint32_t)caller, DP_TREE_CALLEES, &l, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(l[0].weight, 13);
	cr_assert_str_eq(m.prof.frames[l[1].frame].name, "dp_t_leaf");
	cr_assert_eq(l[1].weight, 13);
	cr_assert_eq(dp_topmodel__toggle(&m, l[1].id), 0);
	free(l);
	cr_assert_eq(dp_topmodel__tree(&m, &f, DP_COUNT_CUMULATIVE, (uint32_t)caller, DP_TREE_CALLEES, &l, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(m.prof.frames[l[2].frame].name, "entry_SYSCALL_64");
	cr_assert_eq(l[2].weight, 5);
	free(l);
}

Test(topmodel, stacks_merge_across_intervals)
{
	uint32_t before = m.prof.nstacks;

	add(8, 5, 2);	/* the same stacks again */
	cr_assert_eq(m.prof.nstacks, before, "known stacks are counted, not appended");
	cr_assert_eq(m.prof.total, 30);
}

/*
 * The live view's path: each interval symbolized apart (on the session's
 * thread) and absorbed by the model gives the model that adding the raw
 * intervals gives; a thread's samples go under the name it had then (as perf
 * top shows them).
 */
Test(topmodel, absorbed_intervals_equal_added_ones)
{
	uint64_t k[] = { 0xffffffff81005010, 0xffffffff81004010, 0xffffffff81001010 };
	uint64_t u[] = { LEAF + 2, CALLER + 5 };
	struct dp_stack_hdr h1 = { .pid = pid, .tid = pid, .knr = 3, .unr = 2 };
	struct dp_stack_hdr h3 = { .pid = pid, .tid = pid + 1, .flags = DP_STK_USER_LOST, .knr = 3 };
	struct dp_stack_table t;
	struct dp_topmodel m2;
	struct dp_profile d;
	struct dp_profile_opts po = { .want_inline = true, .want_src = true };
	uint64_t before[16];

	cr_assert_leq(m.prof.nframes, 16);
	for (uint32_t i = 0; i < m.prof.nframes; i++)
		before[i] = m.prof.frames[i].total;
	cr_assert_eq(dp_topmodel__init(&m2, 0.5), 0);
	for (int round = 0; round < 2; round++) {
		dp_stack_table__init(&t);
		cr_assert_eq(dp_stack_table__add(&t, &h1, k, u, 5), 0);
		cr_assert_eq(dp_stack_table__add(&t, &h3, k, NULL, 2), 0);
		if (round == 1)
			dp_comms__set(comms, pid, pid + 1, "renamed");
		cr_assert_eq(dp_topmodel__add(&m, &t, &sz.iface, comms, &po), 0);
		cr_assert_eq(dp_profile__build(&d, &t, &sz.iface, comms, &po), 0);
		dp_stack_table__clear(&t);
		/* d is sealed: m2 only reads it. */
		cr_assert_eq(dp_topmodel__absorb(&m2, &d), 0);
		dp_profile__free(&d);
		cr_assert_eq(dp_topmodel__tick(&m2, 1), 0);
	}
	cr_assert_eq(m2.prof.total, 14);
	/* The renamed thread's second interval is a stack of its own, under the new name. */
	cr_assert_eq(m2.prof.nstacks, 3, "the second interval's stacks are the first's, but the renamed thread's");
	cr_assert_eq(m2.intervals, 2);
	for (uint32_t i = 0; i < m2.prof.nthreads; i++)
		if (m2.prof.threads[i].tid == pid + 1)
			cr_assert_eq(m2.prof.threads[i].samples, 2, "%s: one interval each",
				     m2.prof.threads[i].comm);
	/* Each of m2's frames has what the frame of that name gained in m meanwhile. */
	for (uint32_t i = 0; i < m2.prof.nframes; i++) {
		const struct dp_frame *f = &m2.prof.frames[i];
		int64_t j = frame_of(f->name);

		cr_assert_geq(j, 0, "%s", f->name);
		cr_assert_lt(j, 16);
		cr_assert_eq(m.prof.frames[j].total - before[j], f->total, "%s", f->name);
		cr_assert_eq(f->src_line, m.prof.frames[j].src_line, "%s", f->name);
	}
	dp_topmodel__free(&m2);
}
