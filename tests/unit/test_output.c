#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fake_symbolizer.h"
#include "output.h"
#include "profile.h"
#include "stacks.h"

/* Fixed names: the writers are tested without symbolizing anything real. */
#define LEAF 0x401000ULL
#define CALLER 0x401100ULL
static const struct dp_fake_sym syms[] = {
	{ .start = LEAF, .size = 0x40, .name = "dp_out_leaf", .module = "unit-tests",
	  .build_id = dp_fake_build_id, .build_id_len = 20 },
	{ .start = CALLER, .size = 0x40, .name = "dp_out_caller", .module = "unit-tests",
	  .build_id = dp_fake_build_id, .build_id_len = 20 },
	{ .kernel = true, .start = 0xffffffff81001000, .size = 0x1000, .name = "entry_SYSCALL_64" },
	{ .kernel = true, .start = 0xffffffff81004000, .size = 0x1000, .name = "vfs_read" },
	{ .kernel = true, .start = 0xffffffff81005000, .size = 0x1000, .name = "read_zero" },
};

struct fixture {
	struct dp_stack_table t;
	struct dp_fake_symbolizer sz;
	struct dp_comms *comms;
	struct dp_profile p;
};

static void build(struct fixture *f)
{
	uint32_t pid = (uint32_t)getpid();
	/* Kernel part innermost first: read_zero <- vfs_read <- entry_SYSCALL_64. */
	uint64_t k[] = { 0xffffffff81005010, 0xffffffff81004010, 0xffffffff81001010 };
	/* User part innermost first: a return address into dp_out_caller. */
	uint64_t u[] = { LEAF + 2, CALLER + 5 };
	struct dp_stack_hdr h1 = { .pid = pid, .tid = pid, .knr = 3, .unr = 2 };
	struct dp_stack_hdr h2 = { .pid = pid, .tid = pid, .knr = 0, .unr = 2 };
	struct dp_stack_hdr h3 = { .pid = pid, .tid = pid + 1, .flags = DP_STK_USER_LOST, .knr = 3 };

	dp_stack_table__init(&f->t);
	cr_assert_eq(dp_stack_table__add(&f->t, &h1, k, u, 5), 0);
	cr_assert_eq(dp_stack_table__add(&f->t, &h2, NULL, u, 7), 0);
	cr_assert_eq(dp_stack_table__add(&f->t, &h3, k, NULL, 2), 0);
	cr_assert_eq(dp_stack_table__add(&f->t, &h2, NULL, u, 1), 0);
	cr_assert_eq(f->t.total, 15);
	cr_assert_eq(f->t.entries, 3);
	f->comms = dp_comms__new();
	dp_comms__set(f->comms, pid, pid, "worker");
	dp_comms__set(f->comms, pid, pid + 1, "helper");
	cr_assert_eq(dp_profile__build(&f->p, &f->t,
				       dp_fake_symbolizer__init(&f->sz, syms, sizeof(syms) / sizeof(syms[0])),
				       f->comms, NULL), 0);
}

static void destroy(struct fixture *f)
{
	dp_profile__free(&f->p);
	dp_stack_table__clear(&f->t);
	dp_comms__free(f->comms);
}

static char *capture(int (*fn)(FILE *, struct fixture *), struct fixture *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	cr_assert_eq(fn(m, f), 0);
	fclose(m);
	return buf;
}

static int folded(FILE *m, struct fixture *f)
{
	return dp_folded__write(m, &f->p);
}

static int report(FILE *m, struct fixture *f)
{
	struct dp_runinfo ri;

	memset(&ri, 0, sizeof(ri));
	ri.mode = "deferred";
	ri.event = "cpu-clock";
	ri.freq = 99;
	ri.end_reason = "duration";
	snprintf(ri.target, sizeof(ri.target), "process 1 (worker)");
	ri.bpf[DP_STAT_SAMPLES] = 16;
	ri.bpf[DP_STAT_DROP_COUNTS_FULL] = 1;
	return dp_report__write(m, &f->p, &ri, NULL);
}

Test(output, folded_root_first_with_comm)
{
	struct fixture f;
	char *out;

	build(&f);
	out = capture(folded, &f);
	cr_assert_str_eq(out,
		"worker;dp_out_caller;dp_out_leaf 8\n"
		"worker;dp_out_caller;dp_out_leaf;entry_SYSCALL_64;vfs_read;read_zero 5\n"
		"helper;[user stack lost];entry_SYSCALL_64;vfs_read;read_zero 2\n");
	free(out);
	destroy(&f);
}

Test(output, folded_is_deterministic)
{
	struct fixture a, b;
	char *x, *y;

	build(&a);
	build(&b);
	x = capture(folded, &a);
	y = capture(folded, &b);
	cr_assert_str_eq(x, y);
	free(x);
	free(y);
	destroy(&a);
	destroy(&b);
}

Test(output, profile_self_and_total)
{
	struct fixture f;
	uint32_t caller = UINT32_MAX, rz = UINT32_MAX;

	build(&f);
	cr_assert_eq(f.p.total, 15);
	for (uint32_t i = 0; i < f.p.nframes; i++) {
		if (!strcmp(f.p.frames[i].name, "dp_out_caller"))
			caller = i;
		if (!strcmp(f.p.frames[i].name, "read_zero"))
			rz = i;
	}
	cr_assert_neq(caller, UINT32_MAX);
	cr_assert_eq(f.p.frames[caller].self, 0);
	cr_assert_eq(f.p.frames[caller].total, 13);
	cr_assert_eq(f.p.frames[rz].self, 7);
	cr_assert(f.p.frames[rz].kernel);
	cr_assert_eq(f.p.nthreads, 2);
	destroy(&f);
}

Test(output, report_states_mode_and_accounting)
{
	struct fixture f;
	char *out;

	build(&f);
	out = capture(report, &f);
	cr_assert(strstr(out, "mode:      deferred"), "%s", out);
	cr_assert(strstr(out, "samples:   16 seen by BPF = 15 in stacks + 1 dropped (counts map full 1"), "%s", out);
	cr_assert(strstr(out, "#1  8 samples (53.3%)"), "%s", out);
	cr_assert(strstr(out, "Top functions by self samples"));
	cr_assert(strstr(out, "read_zero"));
	free(out);
	destroy(&f);
}

Test(stacks, diff_finds_missing_and_different_counts)
{
	struct dp_stack_table a, b;
	uint64_t k[] = { 1, 2 }, u[] = { 3 };
	struct dp_stack_hdr h = { .pid = 1, .tid = 1, .knr = 2, .unr = 1 };
	struct dp_stack_hdr h2 = { .pid = 1, .tid = 2, .knr = 2, .unr = 1 };

	dp_stack_table__init(&a);
	dp_stack_table__init(&b);
	dp_stack_table__add(&a, &h, k, u, 3);
	dp_stack_table__add(&b, &h, k, u, 3);
	cr_assert_eq(dp_stack_table__diff(&a, &b, NULL, 0), 0);
	dp_stack_table__add(&b, &h, k, u, 1);
	cr_assert_eq(dp_stack_table__diff(&a, &b, NULL, 0), 1);
	dp_stack_table__add(&b, &h2, k, u, 1);
	cr_assert_eq(dp_stack_table__diff(&a, &b, NULL, 0), 2);
	dp_stack_table__clear(&a);
	dp_stack_table__clear(&b);
}
