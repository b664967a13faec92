#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include "ksyms.h"
#include "usyms.h"

#define FIXTURES "tests/fixtures"

Test(ksyms, lookup_with_modules)
{
	struct dp_ksyms *ks = dp_ksyms__load(FIXTURES "/kallsyms");
	const struct dp_ksym *s;

	cr_assert_not_null(ks);
	cr_assert_eq(dp_ksyms__count(ks), 9, "data symbols are left out");
	s = dp_ksyms__find(ks, 0xffffffff81004123);
	cr_assert_str_eq(s->name, "vfs_read");
	cr_assert_null(s->module);
	s = dp_ksyms__find(ks, 0xffffffff81002900);	/* past the data symbol */
	cr_assert_str_eq(s->name, "do_syscall_64");
	s = dp_ksyms__find(ks, 0xffffffffc0001010);
	cr_assert_str_eq(s->name, "ext4_file_read_iter");
	cr_assert_str_eq(s->module, "ext4");
	s = dp_ksyms__find(ks, 0xffffffffc0010001);
	cr_assert_str_eq(s->module, "nf_tables");
	cr_assert_null(dp_ksyms__find(ks, 0x1000));
	dp_ksyms__free(ks);
}

Test(ksyms, hidden_addresses_and_errors)
{
	char path[] = "/tmp/dp-ksyms-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	struct dp_ksyms *ks;

	fputs("0000000000000000 T _stext\n0000000000000000 T vfs_read\n", f);
	fclose(f);
	ks = dp_ksyms__load(path);
	cr_assert_not_null(ks);
	cr_assert(dp_ksyms__hidden(ks));
	cr_assert_null(dp_ksyms__find(ks, 0xffffffff81000000));
	dp_ksyms__free(ks);
	f = fopen(path, "w");
	fputs("not a kallsyms line\n", f);
	fclose(f);
	cr_assert_null(dp_ksyms__load(path));
	unlink(path);
	cr_assert_null(dp_ksyms__load("/nonexistent/kallsyms"));
}

int dp_test_named_function(int x);

__attribute__((noinline)) int dp_test_named_function(int x)
{
	return x * 3 + 1;
}

Test(usyms, own_pie_and_libc)
{
	struct dp_usyms *u = dp_usyms__new(NULL);
	struct dp_usym s;

	cr_assert_eq(dp_usyms__snapshot(u, (uint32_t)getpid()), 0);
	dp_usyms__resolve(u, (uint32_t)getpid(), (uint64_t)(uintptr_t)&dp_test_named_function + 4,
			  true, &s);
	cr_assert_not_null(s.name);
	cr_assert_str_eq(s.name, "dp_test_named_function");
	cr_assert_eq(s.sym_offset, 4);
	cr_assert_str_eq(s.module, "unit-tests");
	cr_assert_not_null(s.src_file, "debug info gives the source file");
	cr_assert(strstr(s.src_file, "test_symbols.c"));
	cr_assert_gt(s.build_id_len, 0);

	dp_usyms__resolve(u, (uint32_t)getpid(), (uint64_t)(uintptr_t)&getppid, false, &s);
	cr_assert_not_null(s.name);
	cr_assert(strstr(s.name, "getppid"), "got %s", s.name);
	cr_assert(strstr(s.module, "libc"), "got %s", s.module);
	dp_usyms__free(u);
}

Test(usyms, unresolved_is_module_plus_offset)
{
	struct dp_usyms *u = dp_usyms__new(NULL);
	struct dp_usym s;

	cr_assert_eq(dp_usyms__snapshot(u, (uint32_t)getpid()), 0);
	dp_usyms__resolve(u, (uint32_t)getpid(), 0x10, false, &s);
	cr_assert_null(s.name);
	cr_assert_str_eq(s.module, "[unmapped]");
	cr_assert_eq(s.offset, 0x10);
	dp_usyms__free(u);
}

/* A pid no process has now: the highest below pid_max that kill() says is free. */
static uint32_t free_pid(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	long max = 0;

	cr_assert_not_null(f);
	cr_assert_eq(fscanf(f, "%ld", &max), 1);
	fclose(f);
	for (long pid = max - 1; pid > 300; pid--)
		if (kill((pid_t)pid, 0) && errno == ESRCH)
			return (uint32_t)pid;
	cr_assert_fail("no free pid below %ld", max);
	return 0;
}

Test(usyms, jit_map)
{
	char dir[] = "/tmp/dp-jit-XXXXXX", path[64];
	struct dp_usyms_opts o = { .perfmap_dir = dir };
	struct dp_usyms *u;
	uint32_t pid = free_pid();
	struct dp_usym s;
	FILE *f;

	/* A pid with no mappings at all: only the perf map knows the code. */
	cr_assert_not_null(mkdtemp(dir));
	u = dp_usyms__new(&o);
	cr_assert_not_null(u);
	snprintf(path, sizeof(path), "%s/perf-%u.map", dir, pid);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("7f0000001000 100 jitted_add\n7f0000002000 80 LambdaForm$MH.invoke\n", f);
	cr_assert_eq(fclose(f), 0);
	cr_assert_eq(dp_usyms__add_mmap(u, pid, 0x7f0000000000, 0x10000, 0, "//anon"), 0);
	dp_usyms__resolve(u, pid, 0x7f0000001010, false, &s);
	cr_assert_str_eq(s.name, "jitted_add");
	cr_assert_str_eq(s.module, "[jit]");
	dp_usyms__resolve(u, pid, 0x7f0000002010, false, &s);
	cr_assert_str_eq(s.name, "LambdaForm$MH.invoke");
	dp_usyms__resolve(u, pid, 0x7f0000003000, false, &s);
	cr_assert_null(s.name);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(rmdir(dir), 0);
	dp_usyms__free(u);
}

Test(usyms, demangle_cpp_and_rust)
{
	char *d = dp_demangle("_ZN3foo3barEv");

	cr_assert_str_eq(d, "foo::bar()");
	free(d);
	d = dp_demangle("_ZN4core3fmt5write17h0123456789abcdefE");
	cr_assert_not_null(d);
	cr_assert(!strncmp(d, "core::fmt::write", 16), "got %s", d);
	free(d);
	cr_assert_null(dp_demangle("plain_c_name"));
}

/*
 * Start a copy of the demo from path, return its pid and first r-xp
 * mapping's start: waited for (the exec done, the text mapped), up to 10 s.
 */
static pid_t run_copy(const char *path, unsigned long long *start)
{
	struct timespec t0, now, step = { 0, 1000000 };
	char maps[64], line[512];
	pid_t pid = fork();
	FILE *f;

	cr_assert_geq(pid, 0);
	if (!pid) {
		execl(path, path, "-s", "5", "-l", "-1", (char *)NULL);
		_exit(127);
	}
	*start = 0;
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	cr_assert_eq(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
	for (;;) {
		f = fopen(maps, "r");
		cr_assert_not_null(f, "%s: %s", maps, strerror(errno));
		while (!*start && fgets(line, sizeof(line), f))
			if (strstr(line, "r-xp") && strstr(line, path))
				sscanf(line, "%llx", start);
		fclose(f);
		if (*start)
			return pid;
		cr_assert_eq(clock_gettime(CLOCK_MONOTONIC, &now), 0);
		if (now.tv_sec - t0.tv_sec > 10) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			cr_assert_fail("%s never mapped its text in process %d", path, pid);
		}
		nanosleep(&step, NULL);
	}
}

/* A binary deleted on disk after it started is still read through map_files. */
Test(usyms, deleted_binary)
{
	const char *demo = getenv("DP_DEMO");
	char copy[] = "/tmp/dp-deleted-XXXXXX", cmd[512];
	struct dp_usyms *u = dp_usyms__new(NULL);
	unsigned long long start = 0;
	struct dp_usym s;
	pid_t pid;
	int fd;

	cr_assert_not_null(demo, "DP_DEMO names the demo workload");
	fd = mkstemp(copy);
	cr_assert_geq(fd, 0);
	close(fd);
	snprintf(cmd, sizeof(cmd), "cp %s %s && chmod +x %s", demo, copy, copy);
	cr_assert_eq(system(cmd), 0);
	/* The first executable mapping of the file, deleted once it runs. */
	pid = run_copy(copy, &start);
	cr_assert_eq(unlink(copy), 0);
	cr_assert_eq(dp_usyms__snapshot(u, (uint32_t)pid), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* The process is gone too: symbols come from the snapshot. */
	dp_usyms__resolve(u, (uint32_t)pid, start + 0x10, false, &s);
	cr_assert(strstr(s.module, "dp-deleted-"), "got %s", s.module);
	cr_assert_not_null(s.name, "symbols of the deleted binary are read");
	dp_usyms__free(u);
}

/* A stripped binary's symbols come from its separate debug file (debuglink). */
Test(usyms, separate_debug_file_by_debuglink)
{
	const char *demo = getenv("DP_DEMO");
	char dir[] = "/tmp/dp-debuglink-XXXXXX", cmd[1024], prog[128];
	struct dp_usyms *u = dp_usyms__new(NULL);
	unsigned long long start;
	struct dp_usym s;
	pid_t pid;

	cr_assert_not_null(demo);
	cr_assert_not_null(mkdtemp(dir));
	snprintf(prog, sizeof(prog), "%s/prog", dir);
	snprintf(cmd, sizeof(cmd),
		 "cp %s %s && cd %s && objcopy --only-keep-debug prog prog.debug && "
		 "objcopy --strip-all --add-gnu-debuglink=prog.debug prog && "
		 "! nm prog 2>/dev/null | grep -q demo_spin_inner", demo, prog, dir);
	cr_assert_eq(system(cmd), 0, "stripping the demo copy failed");
	pid = run_copy(prog, &start);
	cr_assert_neq(start, 0);
	cr_assert_eq(dp_usyms__snapshot(u, (uint32_t)pid), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* Find demo_spin_inner's address through the debug file's symbols. */
	snprintf(cmd, sizeof(cmd), "nm %s/prog.debug | awk '/ T demo_spin_inner$/ { print $1 }'", dir);
	{
		FILE *p = popen(cmd, "r");
		unsigned long long vaddr = 0;
		char line[64];

		cr_assert(fgets(line, sizeof(line), p));
		pclose(p);
		sscanf(line, "%llx", &vaddr);
		/* The demo is PIE: its text mapping maps file offsets 1:1 to vaddrs here. */
		snprintf(cmd, sizeof(cmd), "readelf -lW %s | awk '$1 == \"LOAD\" && / R E / { print $2, $3 }'", prog);
		p = popen(cmd, "r");
		{
			unsigned long long off, va;

			cr_assert_eq(fscanf(p, "%llx %llx", &off, &va), 2);
			pclose(p);
			dp_usyms__resolve(u, (uint32_t)pid, start + (vaddr - va) + 2, false, &s);
		}
	}
	cr_assert_not_null(s.name, "no name from the debug file");
	cr_assert_str_eq(s.name, "demo_spin_inner");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
	dp_usyms__free(u);
}

/* Objects without frame pointers are recognised: libc here, unlike the demo. */
Test(usyms, frame_pointer_check)
{
	const char *demo = getenv("DP_DEMO");
	struct dp_usyms *u = dp_usyms__new(NULL);
	struct dp_uobj_info info;
	unsigned long long start;
	pid_t pid;

	cr_assert_not_null(demo);
	pid = run_copy(demo, &start);
	cr_assert_neq(start, 0);
	cr_assert_eq(dp_usyms__snapshot(u, (uint32_t)pid), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_eq(dp_usyms__fp_info(u, (uint32_t)pid, start + 0x10, &info), 0);
	cr_assert_geq(info.funcs_checked, 3);
	cr_assert_gt(info.funcs_with_fp * 2, info.funcs_checked, "demo: %d of %d",
		     info.funcs_with_fp, info.funcs_checked);
	dp_usyms__free(u);

	u = dp_usyms__new(NULL);
	cr_assert_eq(dp_usyms__snapshot(u, (uint32_t)getpid()), 0);
	cr_assert_eq(dp_usyms__fp_info(u, (uint32_t)getpid(), (uint64_t)(uintptr_t)&getppid, &info), 0);
	cr_assert(strstr(info.module, "libc"));
	cr_assert_gt(info.funcs_checked, 100);
	cr_assert_lt(info.funcs_with_fp * 2, info.funcs_checked, "libc: %d of %d",
		     info.funcs_with_fp, info.funcs_checked);
	dp_usyms__free(u);
}
