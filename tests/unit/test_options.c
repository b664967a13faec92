#include <criterion/criterion.h>
#include <errno.h>
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
	cr_assert(strstr(err, "invalid pid 'abc'"), "%s", err);
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
