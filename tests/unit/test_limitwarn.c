// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include "limitwarn.h"

static const struct dp_limit_opts lo = {
	.max_entries = 16, .max_stacks = 32, .ring_pages = 8, .join_timeout_ms = 10000,
};

/* What dp_limits__check writes for ri, as a string the caller frees. */
static char *check(struct dp_limits *l, const struct dp_runinfo *ri, int *n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	*n = dp_limits__check(l, ri, &lo, f);
	cr_assert_eq(fclose(f), 0);
	return buf;
}

Test(limitwarn, nothing_hit_says_nothing)
{
	struct dp_limits l = { 0 };
	struct dp_runinfo ri = { 0 };
	int n;
	char *out = check(&l, &ri, &n);

	cr_assert_eq(n, 0);
	cr_assert_str_empty(out);
	free(out);
}

Test(limitwarn, each_limit_once_with_the_option_that_raises_it)
{
	struct dp_limits l = { 0 };
	struct dp_runinfo ri = { 0 };
	int n;
	char *out;

	ri.bpf[DP_STAT_DROP_COUNTS_FULL] = 3;
	ri.bpf[DP_STAT_USTACK_FULL] = 5;
	ri.lost_records = 7;
	out = check(&l, &ri, &n);
	cr_assert_eq(n, 3);
	cr_assert(strstr(out, "counts map is full (16 entries): 3 samples dropped so far; raise --max-entries\n"), "%s", out);
	cr_assert(strstr(out, "stack store is full (32 stacks): 5 stack parts not stored"), "%s", out);
	cr_assert(strstr(out, "raise --max-stacks\n"), "%s", out);
	cr_assert(strstr(out, "7 records lost so far; raise --ring-pages (now 8)\n"), "%s", out);
	free(out);

	/* More of the same: nothing new to say. A new kind: said, alone. */
	ri.bpf[DP_STAT_DROP_COUNTS_FULL] = 30;
	ri.lost_records = 70;
	ri.bpf[DP_STAT_DROP_LOG_FULL] = 2;
	ri.join.lost_timeout = 4;
	ri.join.lost_evicted = 1;
	out = check(&l, &ri, &n);
	cr_assert_eq(n, 3);
	cr_assert(strstr(out, "sample log overflowed (the reader fell behind): 2 samples dropped"), "%s", out);
	cr_assert(strstr(out, "4 samples waited longer than --join-timeout (10000 ms)"), "%s", out);
	cr_assert(strstr(out, "waiting for their user stacks is full: 1 samples"), "%s", out);
	cr_assert_null(strstr(out, "counts map"), "%s", out);
	free(out);
	out = check(&l, &ri, &n);
	cr_assert_eq(n, 0);
	free(out);
}
