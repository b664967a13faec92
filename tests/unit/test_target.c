#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "target.h"

Test(pids, lists)
{
	uint32_t p[4];

	cr_assert_eq(dp_pids__parse("1234", p, 4), 1);
	cr_assert_eq(p[0], 1234);
	cr_assert_eq(dp_pids__parse("1,2,3", p, 4), 3);
	cr_assert_eq(p[2], 3);
	cr_assert_eq(dp_pids__parse("5,5,6", p, 4), 2, "duplicates count once");
	cr_assert_eq(dp_pids__parse("2147483647", p, 4), 1);
}

Test(pids, refused)
{
	uint32_t p[2];
	static const char *const bad[] = {
		"", ",", "1,", ",1", "1,,2", "0", "-1", "+1", " 1", "1 ", "1x", "2147483648",
		"99999999999999999999", "1;2",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(dp_pids__parse(bad[i], p, 2), -EINVAL, "'%s' accepted", bad[i]);
	cr_assert_eq(dp_pids__parse("1,2,3", p, 2), -E2BIG);
}

static int find(const char *text, char *dir, size_t len)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err;

	cr_assert_not_null(f);
	err = dp_mounts__cgroup2(f, dir, len);
	fclose(f);
	return err;
}

Test(mounts, cgroup2_in_a_hybrid_layout)
{
	char dir[64];

	cr_assert_eq(find("sysfs /sys sysfs rw 0 0\n"
			  "tmpfs /sys/fs/cgroup tmpfs rw,relatime,mode=755 0 0\n"
			  "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n"
			  "cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n",
			  dir, sizeof(dir)), 0);
	cr_assert_str_eq(dir, "/sys/fs/cgroup/unified");
}

Test(mounts, unified_and_escaped)
{
	char dir[64];

	cr_assert_eq(find("cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n", dir, sizeof(dir)), 0);
	cr_assert_str_eq(dir, "/sys/fs/cgroup");
	cr_assert_eq(find("none /mnt/my\\040cg\\134x cgroup2 rw 0 0\n", dir, sizeof(dir)), 0);
	cr_assert_str_eq(dir, "/mnt/my cg\\x");
}

Test(mounts, none_or_too_long)
{
	char dir[8];

	cr_assert_eq(find("cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
			  "proc /proc proc rw 0 0\n", dir, sizeof(dir)), -ENOENT);
	cr_assert_eq(find("", dir, sizeof(dir)), -ENOENT);
	cr_assert_eq(find("cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n", dir, sizeof(dir)),
		     -ENAMETOOLONG);
}

Test(cgroup, dir)
{
	char d[64];

	cr_assert_eq(dp_cgroup__dir("/sys/fs/cgroup/unified", "system.slice/x.service", d, sizeof(d)), 0);
	cr_assert_str_eq(d, "/sys/fs/cgroup/unified/system.slice/x.service");
	cr_assert_eq(dp_cgroup__dir("/sys/fs/cgroup", "/system.slice", d, sizeof(d)), 0);
	cr_assert_str_eq(d, "/sys/fs/cgroup/system.slice");
	cr_assert_eq(dp_cgroup__dir("/sys/fs/cgroup", "/sys/fs/cgroup/a", d, sizeof(d)), 0);
	cr_assert_str_eq(d, "/sys/fs/cgroup/a");
	cr_assert_eq(dp_cgroup__dir("/sys/fs/cgroup", "/sys/fs/cgroupx", d, sizeof(d)), 0);
	cr_assert_str_eq(d, "/sys/fs/cgroup/sys/fs/cgroupx");
	cr_assert_eq(dp_cgroup__dir("/sys/fs/cgroup/", "/", d, sizeof(d)), 0);
	cr_assert_str_eq(d, "/sys/fs/cgroup/");
	cr_assert_eq(dp_cgroup__dir("/sys/fs/cgroup", "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/", d, sizeof(d)),
		     -ENAMETOOLONG);
}
