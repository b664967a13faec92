#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "writers.h"

Test(writers, names_round_trip_through_the_table)
{
	for (int f = 0; f < DP_FMT_COUNT; f++) {
		const struct dp_writer *w = dp_writer__get((enum dp_format)f);

		cr_assert_not_null(w);
		cr_assert_eq(w->format, (enum dp_format)f);
		cr_assert_eq(dp_format__parse(dp_format__name((enum dp_format)f)), f);
		cr_assert_eq(dp_writer__find(w->name), w);
		/* ndjson alone is written interval by interval */
		cr_assert_eq(w->write == NULL, f == DP_FMT_NDJSON, "%s", w->name);
	}
	cr_assert_eq(dp_format__parse("xml"), -1);
	cr_assert_null(dp_writer__find("xml"));
	cr_assert_null(dp_writer__get(DP_FMT_COUNT));
}

Test(writers, file_names_pick_the_longest_suffix)
{
	cr_assert_eq(dp_writer__for_path("a.speedscope.json")->format, DP_FMT_SPEEDSCOPE);
	cr_assert_eq(dp_writer__for_path("a.json")->format, DP_FMT_JSON);
	cr_assert_eq(dp_writer__for_path("a.pb.gz")->format, DP_FMT_PPROF);
	cr_assert_eq(dp_writer__for_path("a.pprof")->format, DP_FMT_PPROF);
	cr_assert_eq(dp_writer__for_path("a.folded")->format, DP_FMT_FOLDED);
	cr_assert_eq(dp_writer__for_path("out")->format, DP_FMT_FOLDED);
	cr_assert_eq(dp_writer__for_path("json")->format, DP_FMT_FOLDED);
	cr_assert(dp_writer__get(DP_FMT_PPROF)->binary);
	cr_assert(!dp_writer__get(DP_FMT_JSON)->binary);
	cr_assert(dp_writer__get(DP_FMT_JSON)->src_lines);
	cr_assert(!dp_writer__get(DP_FMT_FOLDED)->src_lines, "folded has no place for lines");
}

/*
 * A hand-made profile whose stacks tie on counts: the order must come from
 * comm, then frame names, a stack before its extensions.
 */
/* The frame tree: node 1 = a, 2 = a;b, 3 = b, 4 = a;c (frames: b 0, a 1, c 2). */
static struct dp_fnode fnodes[] = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 0, 0 }, { 1, 2 } };
enum { f_a = 1, f_ab = 2, f_b = 3, f_ac = 4 };
static struct dp_frame frames[] = {
	{ .name = "b", .module = "x", .self = 6, .total = 9 },
	{ .name = "a", .module = "x", .self = 5, .total = 11 },
	{ .name = "c", .module = "x" },
};
static struct dp_thread threads[] = {
	{ .pid = 1, .tid = 1, .comm = "zed" },
	{ .pid = 1, .tid = 2, .comm = "amy" },
	{ .pid = 2, .tid = 3, .comm = "amy" },
};
static struct dp_pstack stacks[] = {
	{ .thread = 0, .nframes = 2, .node = f_ab, .count = 3 },
	{ .thread = 1, .nframes = 1, .node = f_a, .count = 3 },
	{ .thread = 2, .nframes = 1, .node = f_a, .count = 2 },
	{ .thread = 1, .nframes = 2, .node = f_ab, .count = 3 },
	{ .thread = 0, .nframes = 1, .node = f_b, .count = 3 },
	{ .thread = 0, .nframes = 2, .node = f_ac, .count = 0 },	/* left out */
};
static const struct dp_profile prof = {
	.frames = frames, .nframes = 3, .threads = threads, .nthreads = 3,
	.stacks = stacks, .nstacks = 6, .total = 14,
	.fnodes = fnodes, .nfnodes = 5, .max_frames = 2,
};

static char *write_with(enum dp_format f)
{
	struct dp_runinfo ri = { .mode = "deferred", .event = "cpu-clock", .freq = 99,
				 .end_reason = "duration" };
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	cr_assert_not_null(m);
	cr_assert_eq(dp_writer__get(f)->write(m, &prof, &ri, NULL), 0);
	cr_assert_eq(fclose(m), 0);
	return buf;
}

Test(writers, folded_order_count_then_comm_then_frames)
{
	char *out = write_with(DP_FMT_FOLDED);

	cr_assert_str_eq(out, "amy;a 5\n"
			      "amy;a;b 3\n"
			      "zed;a;b 3\n"
			      "zed;b 3\n");
	free(out);
}

Test(writers, report_stacks_in_the_export_order)
{
	char *out = write_with(DP_FMT_REPORT);
	const char *s1 = strstr(out, "#1  6 samples"), *s2 = strstr(out, "#2  5 samples");
	const char *s3 = strstr(out, "#3  3 samples");
	struct dp_export x;

	cr_assert(strstr(out, "Top stacks (3 distinct, leaf first):"), "%s", out);
	cr_assert(s1 && s2 && s3 && s1 < s2 && s2 < s3, "%s", out);
	cr_assert(strstr(s1, "u b [x]\n      u a [x]\n"), "%s", out);
	cr_assert(!strstr(out, "#4"), "%s", out);
	/* the exports' view: the same stacks in the same order */
	cr_assert_eq(dp_export__build(&x, &prof), 0);
	cr_assert_eq(x.nstacks, 3);
	cr_assert_eq(x.stacks[0].count, 6);
	cr_assert_eq(x.stacks[0].nthreads, 2);
	cr_assert_eq(x.stacks[1].count, 5);
	cr_assert_eq(x.stacks[2].count, 3);
	{
		uint32_t buf[8];

		cr_assert_leq(x.max_frames, 8);
		cr_assert_str_eq(dp_export__frame(&x, dp_export__stack_frames(&x, &x.stacks[2], buf)[0])->name,
				 "b");
	}
	cr_assert_null(x.stacks[0].comm);
	dp_export__free(&x);
	free(out);
}
