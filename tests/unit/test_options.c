#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "options.h"

static int parse(struct dp_opts *o, char *err, const char *a0, const char *a1, const char *a2,
		 const char *a3)
{
	char *argv[] = { "deferprof", (char *)a0, (char *)a1, (char *)a2, (char *)a3, NULL };
	int argc = 1;

	while (argc < 5 && argv[argc])
		argc++;
	return dp_opts__parse(o, argc, argv, err, 256);
}

Test(options, defaults)
{
	struct dp_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, NULL, NULL, NULL, NULL), 0);
	cr_assert_eq(o.target, DP_TARGET_SYSTEM);
	cr_assert_eq(o.freq, 99);
	cr_assert_eq(o.mode, DP_MODE_AUTO);
	cr_assert_eq(o.format, DP_FMT_REPORT);
}

Test(options, pid_rate_duration_format)
{
	struct dp_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, "-p", "1234", "-F", "999"), 0);
	cr_assert_eq(o.target, DP_TARGET_PID);
	cr_assert_eq(o.pid, 1234);
	cr_assert_eq(o.freq, 999);
	cr_assert_eq(parse(&o, err, "-d", "2.5", "-f", "folded"), 0);
	cr_assert_float_eq(o.duration, 2.5, 1e-9);
	cr_assert_eq(o.format, DP_FMT_FOLDED);
	cr_assert_eq(parse(&o, err, "-c", "100000", "--mode=classic", NULL), 0);
	cr_assert_eq(o.period, 100000);
	cr_assert_eq(o.freq, 0);
	cr_assert_eq(o.mode, DP_MODE_CLASSIC);
}

Test(options, bad_input_one_line_errors)
{
	struct dp_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, "-p", "abc", NULL, NULL), -EINVAL);
	cr_assert(strstr(err, "invalid pid list 'abc'"), "%s", err);
	cr_assert_eq(parse(&o, err, "-p", "-5", NULL, NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "-F", "0", NULL, NULL), -EINVAL);
	cr_assert(strstr(err, "frequency"));
	cr_assert_eq(parse(&o, err, "-F", "99999999999999999999", NULL, NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "-d", "-1", NULL, NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "-d", "nan", NULL, NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "-f", "xml", NULL, NULL), -EINVAL);
	cr_assert(strstr(err, "unknown format 'xml'"));
	cr_assert_eq(parse(&o, err, "-p", "1", "-a", NULL), -EINVAL);
	cr_assert(strstr(err, "one target"));
	cr_assert_eq(parse(&o, err, "--kernel-only", "--user-only", NULL, NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "--bogus", NULL, NULL, NULL), -EINVAL);
	cr_assert(strstr(err, "unknown option '--bogus'"), "%s", err);
	cr_assert_eq(parse(&o, err, "-p", NULL, NULL, NULL), -EINVAL);
	cr_assert(strstr(err, "needs a value"), "%s", err);
	cr_assert_eq(parse(&o, err, "--ring-pages", "3", NULL, NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "--verify", "--mode", "classic", NULL), -EINVAL);
	cr_assert_eq(parse(&o, err, "stray", NULL, NULL, NULL), -EINVAL);
	cr_assert_eq(strchr(err, '\n'), NULL);
}

static int parsev(struct dp_opts *o, char *err, int argc, char **argv)
{
	return dp_opts__parse(o, argc, argv, err, 256);
}

Test(options, several_outputs_each_with_its_format)
{
	char *argv[] = { "deferprof", "-p", "5", "-f", "json", "-o", "a.json", "-f", "pprof",
			 "-o", "a.pb.gz", "-f", "folded", "-o", "a.folded", NULL };
	struct dp_opts o;
	char err[256];

	cr_assert_eq(parsev(&o, err, 15, argv), 0, "%s", err);
	cr_assert_eq(o.nouts, 3);
	cr_assert_str_eq(o.outs[0].path, "a.json");
	cr_assert_eq(o.outs[0].format, DP_FMT_JSON);
	cr_assert_eq(o.outs[1].format, DP_FMT_PPROF);
	cr_assert_eq(o.outs[2].format, DP_FMT_FOLDED);
	cr_assert_eq(o.format, DP_FMT_JSON);
}

Test(options, output_errors)
{
	char *a1[] = { "deferprof", "-o", "x", "-f", "json", NULL };
	char *a2[] = { "deferprof", "-f", "ndjson", "-o", "x", "-f", "json", "-o", "y", NULL };
	char *a3[] = { "deferprof", "-f", "json", "-i", "2", NULL };
	char *a4[] = { "deferprof", "-o", "x", "-o", "x", NULL };
	char *a5[] = { "deferprof", "-f", "xml", NULL };
	struct dp_opts o;
	char err[256];

	cr_assert_eq(parsev(&o, err, 5, a1), -EINVAL);
	cr_assert(strstr(err, "-f after the last -o"), "%s", err);
	cr_assert_eq(parsev(&o, err, 9, a2), -EINVAL);
	cr_assert(strstr(err, "single output"), "%s", err);
	cr_assert_eq(parsev(&o, err, 5, a3), -EINVAL);
	cr_assert(strstr(err, "applies to -f ndjson"), "%s", err);
	cr_assert_eq(parsev(&o, err, 5, a4), -EINVAL);
	cr_assert(strstr(err, "given twice"), "%s", err);
	cr_assert_eq(parsev(&o, err, 3, a5), -EINVAL);
	cr_assert(strstr(err, "unknown format 'xml'"), "%s", err);
}

Test(options, ndjson_interval_top_raw_record)
{
	char *a1[] = { "deferprof", "-p", "7", "-f", "ndjson", "-i", "0.5", NULL };
	char *a2[] = { "deferprof", "top", "-p", "7", "-i", "2", NULL };
	char *a3[] = { "deferprof", "top", "-p", "7", "-o", "x", NULL };
	char *a4[] = { "deferprof", "--raw", "--record", "r.bin", NULL };
	char *a5[] = { "deferprof", "--raw", "--verify", NULL };
	char *a6[] = { "deferprof", "-f", "ndjson", "-i", "0.01", NULL };
	struct dp_opts o;
	char err[256];

	cr_assert_eq(parsev(&o, err, 7, a1), 0, "%s", err);
	cr_assert_eq(o.format, DP_FMT_NDJSON);
	cr_assert_float_eq(o.interval, 0.5, 1e-9);
	cr_assert_eq(parsev(&o, err, 6, a2), 0, "%s", err);
	cr_assert_eq(o.cmd, DP_CMD_TOP);
	cr_assert_eq(o.pid, 7);
	cr_assert_float_eq(o.interval, 2, 1e-9);
	cr_assert_eq(parsev(&o, err, 6, a3), -EINVAL);
	cr_assert(strstr(err, "press w in top"), "%s", err);
	cr_assert_eq(parsev(&o, err, 4, a4), 0, "%s", err);
	cr_assert(o.raw);
	cr_assert_str_eq(o.record, "r.bin");
	cr_assert_eq(parsev(&o, err, 3, a5), -EINVAL);
	cr_assert_eq(parsev(&o, err, 5, a6), -EINVAL);
	cr_assert(strstr(err, "invalid interval"), "%s", err);
}

Test(options, command_after_double_dash)
{
	char *argv[] = { "deferprof", "-d", "2", "--", "./prog", "-d", "x", NULL };
	char *top[] = { "deferprof", "top", "--", "sleep", "1", NULL };
	char *bare[] = { "deferprof", "-d", "2", "./prog", NULL };
	char *none[] = { "deferprof", "--", NULL };
	char *both[] = { "deferprof", "-p", "1", "--", "ls", NULL };
	struct dp_opts o;
	char err[256];

	cr_assert_eq(dp_opts__parse(&o, 7, argv, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(o.target, DP_TARGET_COMMAND);
	cr_assert_str_eq(o.command[0], "./prog");
	cr_assert_str_eq(o.command[1], "-d");	/* the command's own options stay its own */
	cr_assert_null(o.command[3]);
	cr_assert_float_eq(o.duration, 2, 1e-9);
	cr_assert_eq(dp_opts__parse(&o, 5, top, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(o.cmd, DP_CMD_TOP);
	cr_assert_str_eq(o.command[0], "sleep");
	cr_assert_eq(dp_opts__parse(&o, 4, bare, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "goes after --"), "%s", err);
	cr_assert_eq(dp_opts__parse(&o, 2, none, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "no command after --"), "%s", err);
	cr_assert_eq(dp_opts__parse(&o, 5, both, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "choose one target"), "%s", err);
}

Test(options, pid_list)
{
	struct dp_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, "-p", "12,34,12", NULL, NULL), 0, "%s", err);
	cr_assert_eq(o.target, DP_TARGET_PID);
	cr_assert_eq(o.npids, 2);
	cr_assert_eq(o.pid, 12);
	cr_assert_eq(o.pids[1], 34);
	cr_assert_eq(parse(&o, err, "-p", "12,", NULL, NULL), -EINVAL);
	cr_assert(strstr(err, "invalid pid list '12,'"), "%s", err);
	cr_assert_eq(parse(&o, err, "--cgroup", "system.slice", NULL, NULL), 0, "%s", err);
	cr_assert_eq(o.target, DP_TARGET_CGROUP);
	cr_assert_str_eq(o.cgroup, "system.slice");
}

Test(options, nice_of_the_collecting_thread)
{
	struct dp_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, NULL, NULL, NULL, NULL), 0);
	cr_assert_eq(o.nice, -5);
	cr_assert_eq(parse(&o, err, "--nice", "keep", NULL, NULL), 0);
	cr_assert_eq(o.nice, DP_NICE_INHERIT);
	cr_assert_eq(parse(&o, err, "--nice", "10", NULL, NULL), 0);
	cr_assert_eq(o.nice, 10);
	cr_assert_eq(parse(&o, err, "--nice", "-20", NULL, NULL), 0);
	cr_assert_eq(o.nice, -20);
	cr_assert_eq(parse(&o, err, "--nice", "20", NULL, NULL), -EINVAL);
	cr_assert_str_eq(err, "invalid --nice '20': expected -20 to 19, or keep");
	cr_assert_eq(parse(&o, err, "--nice", "lots", NULL, NULL), -EINVAL);
}

Test(options, leaf_repair_on_unless_asked_off)
{
	struct dp_collect_opts c;
	struct dp_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, NULL, NULL, NULL, NULL), 0);
	cr_assert_not(o.no_leaf_repair);
	dp_opts__collect(&o, 0, -1, NULL, 0, &c);
	cr_assert_not(c.no_leaf_repair);
	cr_assert_eq(parse(&o, err, "--no-leaf-repair", "-p", "1", NULL), 0);
	cr_assert(o.no_leaf_repair);
	dp_opts__collect(&o, 0, -1, NULL, 0, &c);
	cr_assert(c.no_leaf_repair, "the collection side is told");
	cr_assert_eq(parse(&o, err, "--no-leaf-repair=yes", NULL, NULL, NULL), -EINVAL);
}

Test(options, dash_output_is_stdout)
{
	char *a1[] = { "deferprof", "-f", "json", "-o", "-", "-f", "folded", "-o", "x.folded", NULL };
	char *a2[] = { "deferprof", "-o", "-", "-o", "-", NULL };
	struct dp_opts o;
	char err[256];

	cr_assert_eq(parsev(&o, err, 9, a1), 0, "%s", err);
	cr_assert_eq(o.nouts, 2);
	cr_assert_null(o.outs[0].path);
	cr_assert_eq(o.outs[0].format, DP_FMT_JSON);
	cr_assert_str_eq(o.outs[1].path, "x.folded");
	cr_assert_eq(parsev(&o, err, 5, a2), -EINVAL);
	cr_assert(strstr(err, "output file '-' given twice"), "%s", err);
}

Test(options, two_formats_for_stdout_refused)
{
	char *a1[] = { "deferprof", "-f", "folded", "-f", "json", NULL };
	char *a2[] = { "deferprof", "-f", "folded", "-f", "json", "-o", "x.json", NULL };
	char *a3[] = { "deferprof", "-f", "folded", "-o", "x.folded", "-f", "json", "-o", "x.json",
		       NULL };
	struct dp_opts o;
	char err[256];

	cr_assert_eq(parsev(&o, err, 5, a1), -EINVAL);
	cr_assert_str_eq(err, "-f folded and -f json would both go to standard output: give each format but one its -o FILE");
	cr_assert_eq(parsev(&o, err, 7, a2), -EINVAL);
	cr_assert(strstr(err, "-f folded and -f json"), "%s", err);
	cr_assert_eq(parsev(&o, err, 9, a3), 0, "%s", err);
}

Test(options, rate_and_period_exclude_each_other)
{
	struct dp_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, "-c", "100000", "-F", "99"), -EINVAL);
	cr_assert(strstr(err, "-F (samples per second) and -c (one sample every N events) exclude each other"),
		  "%s", err);
	cr_assert_eq(parse(&o, err, "-F", "99", "-c", "1000"), -EINVAL);
	cr_assert_eq(parse(&o, err, "-F", "99", "-F", "999"), 0, "%s", err);
	cr_assert_eq(o.freq, 999);
}

Test(options, duration_bounds_said)
{
	struct dp_opts o;
	char err[256];

	cr_assert_eq(parse(&o, err, "-d", "1e9", NULL, NULL), -EINVAL);
	cr_assert(strstr(err, "invalid duration '1e9': at most 31536000 seconds (a year)"), "%s", err);
	cr_assert_eq(parse(&o, err, "-d", "0", NULL, NULL), -EINVAL);
	cr_assert(strstr(err, "expected seconds, more than 0"), "%s", err);
	cr_assert_eq(parse(&o, err, "-d", "1e3", NULL, NULL), 0, "%s", err);
	cr_assert_float_eq(o.duration, 1000.0, 1e-9);
}

/*
 * Found by the options fuzzer: a parse that failed in the middle of a
 * cluster of short options ("-q" unknown in "-qv") left getopt pointing into
 * that argv; the next parse read it after it was freed (ASan:
 * heap-use-after-free). Each parse now starts getopt afresh.
 */
Test(options, a_parse_keeps_nothing_of_the_last_argv)
{
	char *arg = strdup("-qv"), *argv1[] = { "deferprof", arg, NULL };
	char *argv2[] = { "deferprof", "-p", "1", NULL };
	char err[256];
	struct dp_opts o;

	cr_assert_not_null(arg);
	cr_assert_neq(dp_opts__parse(&o, 2, argv1, err, sizeof(err)), 0);
	memset(arg, 'x', 3);	/* what getopt may still point at, gone */
	free(arg);
	cr_assert_eq(dp_opts__parse(&o, 3, argv2, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(o.pid, 1);
}
