// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A frame chain that broke into data is cut where it broke, under one counted marker. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "fake_symbolizer.h"
#include "output.h"
#include "profile.h"
#include "stacks.h"

#define LEAF 0x401000ULL
#define MID 0x401100ULL
#define TOP 0x401200ULL
static const struct dp_fake_sym syms[] = {
	{ .start = LEAF, .size = 0x40, .name = "bf_leaf", .module = "bf" },
	{ .start = MID, .size = 0x40, .name = "bf_mid", .module = "bf" },
	{ .start = TOP, .size = 0x40, .name = "bf_top", .module = "bf" },
};

/* The folded profile of one user stack (innermost first) of pid. */
static char *folded_of(uint32_t pid, const uint64_t *u, uint16_t unr, uint64_t *bad)
{
	struct dp_stack_table t;
	struct dp_fake_symbolizer fz;
	struct dp_comms *comms = dp_comms__new();
	struct dp_profile p;
	struct dp_stack_hdr h = { .pid = pid, .tid = pid, .unr = unr };
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	dp_stack_table__init(&t);
	cr_assert_eq(dp_stack_table__add(&t, &h, NULL, u, 3), 0);
	dp_comms__set(comms, pid, pid, "bf");
	cr_assert_eq(dp_profile__build(&p, &t, dp_fake_symbolizer__init(&fz, syms, 3), comms, NULL), 0);
	cr_assert_eq(dp_folded__write(m, &p), 0);
	fclose(m);
	*bad = dp_profile__marker_samples(&p, DP_BAD_FRAME);
	dp_profile__free(&p);
	dp_stack_table__clear(&t);
	dp_comms__free(comms);
	return buf;
}

Test(badframe, file_data_read_as_return_addresses_is_cut)
{
	/* The chain went through a saved rbp overwritten with "?=:8643" and on. */
	uint64_t u[] = { LEAF + 1, MID + 5, 0x31333436383a3d3fULL, TOP + 5 };
	uint64_t bad;
	char *out = folded_of(7, u, 4, &bad);

	cr_assert_str_eq(out, "bf;[bad frame];bf_mid;bf_leaf 3\n");
	cr_assert_eq(bad, 3);
	free(out);
}

Test(badframe, a_return_address_outside_all_code_is_cut_once_code_was_seen)
{
	uint64_t u[] = { LEAF + 1, 0x7ffd12345678ULL, TOP + 5 };
	uint64_t bad;
	char *out = folded_of(7, u, 3, &bad);

	cr_assert_str_eq(out, "bf;[bad frame];bf_leaf 3\n");
	cr_assert_eq(bad, 3);
	free(out);
}

Test(badframe, unknown_mappings_or_no_code_seen_cut_nothing)
{
	uint64_t u[] = { LEAF + 1, 0x7ffd12345678ULL, TOP + 5 };
	uint64_t stale[] = { 0x555500001000ULL, 0x555500002000ULL };	/* e.g. an exec's old space */
	uint64_t bad;
	char *out = folded_of(5000, u, 3, &bad);	/* mappings unknown: kept, unresolved */

	cr_assert_eq(bad, 0);
	cr_assert(strstr(out, "bf_top;[unmapped]+0x7ffd12345678;bf_leaf 3"), "%s", out);
	free(out);
	out = folded_of(7, stale, 2, &bad);
	cr_assert_eq(bad, 0);
	cr_assert_null(strstr(out, "[bad frame]"), "%s", out);
	free(out);
}

Test(badframe, a_whole_chain_is_untouched)
{
	uint64_t u[] = { LEAF + 1, MID + 5, TOP + 5 };
	uint64_t bad;
	char *out = folded_of(7, u, 3, &bad);

	cr_assert_str_eq(out, "bf;bf_top;bf_mid;bf_leaf 3\n");
	cr_assert_eq(bad, 0);
	free(out);
}
