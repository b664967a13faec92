/*
 * Untrusted files read as root (user/symbols/safeopen.c, jitmap.c): what a
 * profiled process could put at its perf map's path is refused at once.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "jitmap.h"
#include "safeopen.h"

static char dir[] = "/tmp/dp-safe-XXXXXX";

static void make_dir(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static char *in_dir(const char *name)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	cr_assert_not_null(f);
	cr_assert_eq(fputs(text, f) >= 0, 1);
	cr_assert_eq(fclose(f), 0);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

TestSuite(safeopen, .init = make_dir, .fini = remove_dir);

Test(safeopen, regular_file_opens)
{
	const char *why = NULL;
	int fd;

	write_file(in_dir("ok"), "x\n");
	fd = dp_safe_open(in_dir("ok"), NULL, &why);
	cr_assert_geq(fd, 0);
	cr_assert_null(why);
	cr_assert_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0, "left non-blocking");
	close(fd);
}

Test(safeopen, symlink_to_dev_zero_refused)
{
	const char *why = NULL;

	cr_assert_eq(symlink("/dev/zero", in_dir("link")), 0);
	cr_assert_eq(dp_safe_open(in_dir("link"), NULL, &why), -ELOOP);
	cr_assert_str_eq(why, "a symbolic link (not followed)");
}

Test(safeopen, fifo_refused_without_blocking)
{
	const char *why = NULL;
	double t0 = now_s();

	cr_assert_eq(mkfifo(in_dir("fifo"), 0600), 0);
	cr_assert_eq(dp_safe_open(in_dir("fifo"), NULL, &why), -EINVAL);
	cr_assert_str_eq(why, "a FIFO, not a regular file");
	cr_assert_lt(now_s() - t0, 5.0);
}

Test(safeopen, device_refused)
{
	const char *why = NULL;

	cr_assert_eq(dp_safe_open("/dev/zero", NULL, &why), -EINVAL);
	cr_assert_str_eq(why, "a device, not a regular file");
}

Test(safeopen, owner_checked)
{
	struct dp_owner o = { .uids = { 4242, 4242, 4242, 4242 }, .n = 4 };
	const char *why = NULL;
	int fd;

	if (geteuid() != 0)
		cr_skip_test("SKIP owner_checked: not root, cannot give a file to another user");
	write_file(in_dir("theirs"), "x\n");
	cr_assert_eq(chown(in_dir("theirs"), 4343, 4343), 0);
	cr_assert_eq(dp_safe_open(in_dir("theirs"), &o, &why), -EPERM);
	cr_assert_str_eq(why, "owned by another user than the process's or root");
	/* The process's own user and root are accepted. */
	cr_assert_eq(chown(in_dir("theirs"), 4242, 4242), 0);
	fd = dp_safe_open(in_dir("theirs"), &o, &why);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(chown(in_dir("theirs"), 0, 0), 0);
	fd = dp_safe_open(in_dir("theirs"), &o, &why);
	cr_assert_geq(fd, 0);
	close(fd);
}

Test(safeopen, owner_of_this_process)
{
	struct dp_owner o;

	cr_assert_eq(dp_owner__of_pid(&o, "/proc", (uint32_t)getpid()), 0);
	cr_assert_eq(o.n, 4);
	cr_assert_eq(o.uids[0], getuid());
	cr_assert_eq(o.uids[1], geteuid());
}

Test(safeopen, in_root_refuses_symlinks)
{
	const char *why = NULL;
	char target[160], real[160];
	int fd;

	write_file(in_dir("real"), "x\n");
	snprintf(real, sizeof(real), "%s", in_dir("real"));
	cr_assert_eq(symlink(real, in_dir("alias")), 0);
	fd = dp_safe_open_in_root("/proc", (uint32_t)getpid(), real, NULL, &why);
	cr_assert_geq(fd, 0, "errno %d", -fd);
	close(fd);
	snprintf(target, sizeof(target), "%s", in_dir("alias"));
	cr_assert_eq(dp_safe_open_in_root("/proc", (uint32_t)getpid(), target, NULL, &why), -ELOOP);
}

/* Each line of a file through dp_lines, joined by '|'. */
static void read_lines(const char *path, uint64_t max_bytes, size_t max_line, char *out,
		       size_t outsz, struct dp_lines *r)
{
	char *line;
	size_t len;
	int fd = open(path, O_RDONLY), n;

	cr_assert_geq(fd, 0);
	cr_assert_eq(dp_lines__init(r, fd, max_bytes, max_line), 0);
	out[0] = 0;
	while ((n = dp_lines__next(r, &line, &len)) > 0) {
		cr_assert_eq(strlen(line), len);
		strncat(out, line, outsz - strlen(out) - 2);
		strcat(out, "|");
	}
	cr_assert_eq(n, 0);
	dp_lines__free(r);
	close(fd);
}

Test(safeopen, lines_skip_long_and_nul)
{
	char big[300], out[512];
	struct dp_lines r;
	FILE *f;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	f = fopen(in_dir("lines"), "w");
	cr_assert_not_null(f);
	fprintf(f, "one\n%s\ntwo\nb\x01", big);
	fputc(0, f);
	fprintf(f, "c\nlast");
	cr_assert_eq(fclose(f), 0);
	read_lines(in_dir("lines"), 1 << 20, 100, out, sizeof(out), &r);
	cr_assert_str_eq(out, "one|two|last|");
	cr_assert_eq(r.nlong, 2);
	cr_assert(!r.truncated);
}

Test(safeopen, lines_bounded_on_a_huge_sparse_file)
{
	char out[512];
	struct dp_lines r;
	double t0 = now_s();
	int fd;

	/* 64 GiB of zero bytes that take no disk: read up to the bound only. */
	fd = open(in_dir("huge"), O_CREAT | O_WRONLY, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 64ll << 30), 0);
	close(fd);
	read_lines(in_dir("huge"), 8 << 20, 4096, out, sizeof(out), &r);
	cr_assert_str_eq(out, "");
	cr_assert(r.truncated);
	cr_assert_eq(r.total, 8 << 20);
	cr_assert_eq(r.nlong, 1);
	cr_assert_lt(now_s() - t0, 10.0);
}

Test(safeopen, lines_cut_keeps_whole_lines_only)
{
	char out[512];
	struct dp_lines r;

	write_file(in_dir("cut"), "1000 10 first\n2000 10 second\n");
	read_lines(in_dir("cut"), 20, 4096, out, sizeof(out), &r);
	cr_assert_str_eq(out, "1000 10 first|");
	cr_assert(r.truncated);
}

Test(safeopen, lines_end_on_a_signal)
{
	char out[512];
	struct dp_lines r;
	int fd;

	write_file(in_dir("sig"), "1000 10 first\n");
	fd = open(in_dir("sig"), O_RDONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(dp_lines__init(&r, fd, 1 << 20, 4096), 0);
	dp_read_signals++;	/* what SIGINT's handler does while the read runs */
	{
		char *line;
		size_t len;

		cr_assert_eq(dp_lines__next(&r, &line, &len), 0);
	}
	cr_assert(r.aborted);
	dp_lines__free(&r);
	close(fd);
	/* A signal before the read began does not stop it. */
	read_lines(in_dir("sig"), 1 << 20, 4096, out, sizeof(out), &r);
	cr_assert_str_eq(out, "1000 10 first|");
}

Test(safeopen, jitmap_refuses_symlink_and_keeps_nothing)
{
	struct dp_jitmap j = { 0 };

	cr_assert_eq(symlink("/dev/zero", in_dir("perf-1.map")), 0);
	cr_assert_eq(dp_jitmap__load(&j, in_dir("perf-1.map")), -ELOOP);
	cr_assert_eq(j.n, 0);
	dp_jitmap__free(&j);
}

Test(safeopen, jitmap_reads_a_good_map)
{
	struct dp_jitmap j = { 0 };
	const struct dp_jit_sym *s;

	write_file(in_dir("perf-2.map"), "1000 10 jit_one\nnot a line\n2000 20 jit_two\n");
	cr_assert_eq(dp_jitmap__load(&j, in_dir("perf-2.map")), 0);
	cr_assert_eq(j.n, 2);
	cr_assert_eq(j.nbad, 1);
	s = dp_jitmap__find(&j, 0x2004);
	cr_assert_not_null(s);
	cr_assert_str_eq(s->name, "jit_two");
	dp_jitmap__free(&j);
}
