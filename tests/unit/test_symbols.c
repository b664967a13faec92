#include <criterion/criterion.h>
#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include "ksyms.h"
#include "demangle.h"
#include "fpcheck.h"
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

/* Only the symbols of some addresses: each answers as with the whole table. */
Test(ksyms, load_for_answers_as_the_whole_table)
{
	static const uint64_t addrs[] = {
		0x1000,			/* below every symbol */
		0xffffffff81002900,	/* past a data symbol: do_syscall_64 */
		0xffffffff81004000, 0xffffffff81004123,	/* two in vfs_read */
		0xffffffffc0001010,	/* a module's */
		0xffffffffc0010001,
	};
	const size_t n = sizeof(addrs) / sizeof(addrs[0]);
	struct dp_ksyms *all = dp_ksyms__load(FIXTURES "/kallsyms");
	struct dp_ksyms *some = dp_ksyms__load_for(FIXTURES "/kallsyms", addrs, n);

	cr_assert(all && some);
	cr_assert_eq(dp_ksyms__count(some), 4, "do_syscall_64, vfs_read, ext4_file_read_iter, nf_hook_slow");
	for (size_t i = 0; i < n; i++) {
		const struct dp_ksym *a = dp_ksyms__find(all, addrs[i]), *b = dp_ksyms__find(some, addrs[i]);

		cr_assert_eq(!a, !b, "#%zu", i);
		if (!a)
			continue;
		cr_assert_eq(a->addr, b->addr, "#%zu", i);
		cr_assert_str_eq(a->name, b->name, "#%zu", i);
		cr_assert_eq(!a->module, !b->module, "#%zu", i);
		if (a->module)
			cr_assert_str_eq(a->module, b->module, "#%zu", i);
	}
	dp_ksyms__free(some);
	some = dp_ksyms__load_for(FIXTURES "/kallsyms", NULL, 0);
	cr_assert_not_null(some);
	cr_assert_eq(dp_ksyms__count(some), 0);
	cr_assert_null(dp_ksyms__find(some, 0xffffffff81004123));
	dp_ksyms__free(some);
	dp_ksyms__free(all);
	cr_assert_null(dp_ksyms__load_for("/nonexistent/kallsyms", addrs, n));
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
	ks = dp_ksyms__load_for(path, (const uint64_t[]){ 0xffffffff81000000 }, 1);
	cr_assert(ks && dp_ksyms__hidden(ks), "the hidden file says so when filtered too");
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

/* The address of a symbol of this process's vDSO, read from its image in memory. */
static uint64_t vdso_symbol(const char *want)
{
	uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
	const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)base;
	const ElfW(Shdr) *sh;

	cr_assert(base, "this process has a vDSO");
	sh = (const ElfW(Shdr) *)(base + eh->e_shoff);
	for (int i = 0; i < eh->e_shnum; i++) {
		const ElfW(Sym) *sym = (const ElfW(Sym) *)(base + sh[i].sh_offset);
		const char *str = (const char *)(base + sh[sh[i].sh_link].sh_offset);

		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		for (size_t k = 0; k < sh[i].sh_size / sizeof(*sym); k++)
			if (!strcmp(str + sym[k].st_name, want))
				return base + sym[k].st_value;
	}
	cr_assert_fail("no %s in the vDSO", want);
	return 0;
}

/* perf names vDSO code; so does deferprof, from its own copy of the same image. */
Test(usyms, vdso_functions_named)
{
	struct dp_usyms *u = dp_usyms__new(NULL);
	uint64_t pid = (uint32_t)getpid(), at = vdso_symbol("__vdso_clock_gettime");
	struct dp_usym s;

	cr_assert_eq(dp_usyms__snapshot(u, (uint32_t)pid), 0);
	dp_usyms__resolve(u, pid, at + 3, false, &s);
	cr_assert_not_null(s.name, "named, not [vdso]+0x%llx", (unsigned long long)s.offset);
	cr_assert(strstr(s.name, "clock_gettime"), "got %s", s.name);
	cr_assert_eq(s.sym_offset, 3);
	cr_assert_str_eq(s.module, "[vdso]");
	dp_usyms__free(u);
}

static int dp_test_data_word = 42;

Test(usyms, data_mappings_are_named_as_data)
{
	struct dp_usyms *u = dp_usyms__new(NULL);
	uint64_t pid = (uint32_t)getpid(), data = (uint64_t)(uintptr_t)&dp_test_data_word;
	volatile int on_stack = 1;
	struct dp_usym s;

	cr_assert_eq(dp_usyms__snapshot(u, (uint32_t)pid), 0);
	dp_usyms__resolve(u, pid, data, false, &s);
	cr_assert_null(s.name);
	cr_assert_str_eq(s.module, "[data: unit-tests]", "got %s", s.module);
	cr_assert_not_null(s.path);
	cr_assert_eq(dp_usyms__where(u, pid, data), DP_UWHERE_DATA);
	dp_usyms__resolve(u, pid, (uint64_t)(uintptr_t)&on_stack, false, &s);
	cr_assert_str_eq(s.module, "[data: [stack]]", "got %s", s.module);
	cr_assert_null(s.path, "a special region has no file");
	cr_assert_eq(dp_usyms__where(u, pid, (uint64_t)(uintptr_t)&dp_test_named_function),
		     DP_UWHERE_CODE);
	/* After an exec the old program's data is not the new one's. */
	cr_assert_eq(dp_usyms__exec(u, (uint32_t)pid), 0);
	cr_assert_neq(dp_usyms__where(u, pid, data), DP_UWHERE_DATA);
	cr_assert_eq(dp_usyms__where(u, dp_space((uint32_t)pid, 0), data), DP_UWHERE_DATA,
		     "the generation before the exec still has it");
	dp_usyms__free(u);
	(void)dp_test_data_word;
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

/* A kallsyms line longer than the old 512-byte buffer: the kernel allows 512-byte names. */
Test(ksyms, name_longer_than_a_line_buffer)
{
	char path[] = "/tmp/dp-ksyms-XXXXXX", name[601];
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");
	const struct dp_ksym *s;
	struct dp_ksyms *ks;

	cr_assert_not_null(f);
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	fprintf(f, "ffffffff81000000 T _stext\nffffffff81001000 t %s\t[longmod]\n"
		"ffffffff81002000 T after_the_long_one\n", name);
	fclose(f);
	ks = dp_ksyms__load(path);
	unlink(path);
	cr_assert_not_null(ks, "the load failed: %s", strerror(errno));
	cr_assert_eq(dp_ksyms__count(ks), 3);
	s = dp_ksyms__find(ks, 0xffffffff81001010);
	cr_assert_not_null(s);
	cr_assert_eq(strlen(s->name), 600, "the name is whole");
	cr_assert_str_eq(s->module, "longmod");
	cr_assert_str_eq(dp_ksyms__find(ks, 0xffffffff81002004)->name, "after_the_long_one");
	dp_ksyms__free(ks);
}

/* The prologue scan on bytes: endbr64; push %rbp; mov %rsp,%rbp, and code without. */
Test(fpcheck, prologue_bytes)
{
	static const uint8_t with[24] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5 };
	static const uint8_t sched[24] = { 0x55, 0x41, 0x54, 0x48, 0x89, 0xe5 };
	static const uint8_t without[24] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x83, 0xec, 0x08 };
	static const uint8_t push_only[24] = { 0x55, 0x48, 0x89, 0xfd };	/* mov %rdi,%rbp */
	/* Go: the stack-bound check first (cmp 0x10(%r14),%rsp; jbe morestack), then the frame. */
	static const uint8_t go_small[32] = { 0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x80, 0, 0, 0,
					      0x55, 0x48, 0x89, 0xe5 };
	static const uint8_t go_big[32] = { 0x4c, 0x8d, 0xa4, 0x24, 0x00, 0xfe, 0xff, 0xff,
					    0x4d, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x80, 0, 0, 0,
					    0x55, 0x48, 0x89, 0xe5 };
	/* Go 1.17+ (its register ABI), as Debian's go 1.19 builds main.caller. */
	static const uint8_t go_abi[32] = { 0x49, 0x3b, 0x66, 0x10, 0x76, 0x22, 0x48, 0x83, 0xec, 0x10,
					    0x48, 0x89, 0x6c, 0x24, 0x08, 0x48, 0x8d, 0x6c, 0x24, 0x08 };
	static const uint8_t go_abi32[48] = { 0x49, 0x3b, 0x66, 0x10, 0x0f, 0x86, 0x80, 0, 0, 0,
					      0x48, 0x81, 0xec, 0x00, 0x01, 0, 0,
					      0x48, 0x89, 0xac, 0x24, 0xf8, 0, 0, 0,
					      0x48, 0x8d, 0xac, 0x24, 0xf8, 0, 0, 0 };
	/* A spill of rbp without the lea: no frame. */
	static const uint8_t spill[32] = { 0x48, 0x83, 0xec, 0x10, 0x48, 0x89, 0x6c, 0x24, 0x08,
					   0x48, 0x89, 0xfd };
	/* A 0x55 byte inside an instruction, the mov far from it: no frame. */
	static const uint8_t stray[32] = { 0x48, 0x8d, 0x55, 0xf0, 0x48, 0x83, 0xec, 0x08, 0x31, 0xc0,
					   0x31, 0xd2, 0x48, 0x89, 0xe5 };

	cr_assert(dp_fpcheck__prologue(with, sizeof(with)));
	cr_assert(dp_fpcheck__prologue(sched, sizeof(sched)), "an instruction between push and mov");
	cr_assert_not(dp_fpcheck__prologue(without, sizeof(without)));
	cr_assert_not(dp_fpcheck__prologue(push_only, sizeof(push_only)));
	cr_assert(dp_fpcheck__prologue(go_small, sizeof(go_small)), "Go keeps frame pointers");
	cr_assert(dp_fpcheck__prologue(go_big, sizeof(go_big)), "Go, a big frame's check");
	cr_assert_not(dp_fpcheck__prologue(stray, sizeof(stray)));
	cr_assert(dp_fpcheck__prologue(go_abi, sizeof(go_abi)), "Go: sub, save %%rbp, lea");
	cr_assert(dp_fpcheck__prologue(go_abi32, sizeof(go_abi32)), "Go: a big frame, 32-bit offsets");
	cr_assert_not(dp_fpcheck__prologue(spill, sizeof(spill)));
	/* A save and a lea of different offsets: no frame. */
	static const uint8_t mismatch[24] = { 0x48, 0x89, 0x6c, 0x24, 0x08, 0x48, 0x8d, 0x6c, 0x24, 0x10 };
	cr_assert_not(dp_fpcheck__prologue(mismatch, sizeof(mismatch)));
	/* A short frameless function: only its own bytes count, not the next one's prologue. */
	cr_assert_not(dp_fpcheck__prologue(go_abi, 6), "the next function's frame is not this one's");
}

/* A scratch directory for objects built by the tests. */
static void make_dir(char *dir)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

__attribute__((format(printf, 1, 2))) static void run_cmd(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/*
 * n functions big enough for the check, in src. Each calls out twice with no
 * early return, so the compiler keeps its prologue at the entry (leaf
 * functions get no frame, and shrink-wrapping moves a prologue past a branch).
 */
static void write_funcs(const char *src, int n)
{
	FILE *f = fopen(src, "w");

	cr_assert_not_null(f);
	fputs("int dp_sink(int x);\n", f);
	for (int i = 0; i < n; i++)
		fprintf(f, "int fn%d(int x)\n{\n\tint a = dp_sink(x * %d);\n\n"
			"\treturn dp_sink(a + x) + 1;\n}\n", i, i + 3);
	fclose(f);
}

/* Map path (whole, from offset 0) into a made-up process at start. */
static void map_file(struct dp_usyms *u, uint32_t pid, uint64_t start, const char *path)
{
	struct stat sb;

	cr_assert_eq(stat(path, &sb), 0);
	cr_assert_eq(dp_usyms__add_mmap(u, pid, start, ((uint64_t)sb.st_size + 0xfff) & ~0xfffULL,
					0, path), 0);
}

/*
 * Objects built here with and without frame pointers, so the answer does
 * not depend on how the distribution built its libc.
 */
Test(usyms, frame_pointer_check)
{
	char dir[] = "/tmp/dp-fp-XXXXXX", src[128], fp[128], nofp[128];
	struct dp_usyms *u = dp_usyms__new(NULL);
	struct dp_uobj_info info;

	make_dir(dir);
	snprintf(src, sizeof(src), "%s/funcs.c", dir);
	snprintf(fp, sizeof(fp), "%s/libfp.so", dir);
	snprintf(nofp, sizeof(nofp), "%s/libnofp.so", dir);
	write_funcs(src, 12);
	run_cmd("cc -O2 -shared -fPIC -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -o %s %s",
		fp, src);
	run_cmd("cc -O2 -shared -fPIC -fomit-frame-pointer -o %s %s", nofp, src);
	map_file(u, 999990, 0x10000000, fp);
	map_file(u, 999990, 0x20000000, nofp);

	cr_assert_eq(dp_usyms__fp_info(u, 999990, 0x10000010, &info), 0);
	cr_assert_str_eq(info.module, "libfp.so");
	cr_assert_geq(info.funcs_checked, 12);
	cr_assert_gt(info.funcs_with_fp * 2, info.funcs_checked, "with: %d of %d",
		     info.funcs_with_fp, info.funcs_checked);
	cr_assert_eq(dp_usyms__fp_info(u, 999990, 0x20000010, &info), 0);
	cr_assert_str_eq(info.module, "libnofp.so");
	cr_assert_geq(info.funcs_checked, 12);
	cr_assert_lt(info.funcs_with_fp * 2, info.funcs_checked, "without: %d of %d",
		     info.funcs_with_fp, info.funcs_checked);
	cr_assert_eq(dp_usyms__fp_info(u, 999990, 0x30000000, &info), -ENOENT);
	dp_usyms__free(u);
	remove_dir(dir);
}

/* The file offset of symbol name's address in path, through its program headers. */
static uint64_t file_offset_of(const char *path, const char *name)
{
	char cmd[512], line[64];
	unsigned long long vaddr = 0;
	uint64_t off = 0;
	size_t nph;
	FILE *p;
	Elf *elf;
	int fd;

	snprintf(cmd, sizeof(cmd), "nm %s | awk '$3 == \"%s\" { print $1 }'", path, name);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(line, sizeof(line), p));
	pclose(p);
	cr_assert_eq(sscanf(line, "%llx", &vaddr), 1);
	elf_version(EV_CURRENT);
	fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(elf);
	cr_assert_eq(elf_getphdrnum(elf, &nph), 0);
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		cr_assert_not_null(gelf_getphdr(elf, (int)i, &ph));
		if (ph.p_type == PT_LOAD && vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_memsz)
			off = vaddr - ph.p_vaddr + ph.p_offset;
	}
	elf_end(elf);
	close(fd);
	cr_assert_neq(off, 0, "%s is in no PT_LOAD", name);
	return off;
}

/* An object with 20 PT_LOAD segments: symbols in the last ones resolve too. */
Test(usyms, more_than_16_load_segments)
{
	char dir[] = "/tmp/dp-loads-XXXXXX", src[128], lds[128], obj[128], bin[128];
	struct dp_usyms *u = dp_usyms__new(NULL);
	const uint64_t start = 0x40000000;
	struct dp_usym s;
	FILE *f;

	make_dir(dir);
	snprintf(src, sizeof(src), "%s/many.c", dir);
	snprintf(lds, sizeof(lds), "%s/many.ld", dir);
	snprintf(obj, sizeof(obj), "%s/many.o", dir);
	snprintf(bin, sizeof(bin), "%s/many", dir);
	f = fopen(src, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < 20; i++)
		fprintf(f, "__attribute__((section(\".s%d\"), noinline)) int seg%d(int x)\n"
			"{\n\treturn x * %d + 7;\n}\n", i, i, i);
	fclose(f);
	/* One PT_LOAD per section: the linker script names each. */
	f = fopen(lds, "w");
	cr_assert_not_null(f);
	fputs("PHDRS {\n", f);
	for (int i = 0; i < 20; i++)
		fprintf(f, "\tp%d PT_LOAD;\n", i);
	fputs("}\nSECTIONS {\n", f);
	for (int i = 0; i < 20; i++)
		fprintf(f, "\t. = ALIGN(0x1000);\n\t.s%d : { *(.s%d) } :p%d\n", i, i, i);
	fputs("\t/DISCARD/ : { *(.note.GNU-stack) *(.comment) *(.eh_frame) }\n}\n", f);
	fclose(f);
	run_cmd("cc -O2 -c -o %s %s", obj, src);
	run_cmd("ld -e seg0 -T %s -o %s %s", lds, bin, obj);
	map_file(u, 999991, start, bin);
	for (int i = 0; i < 20; i += 19) {
		char name[16];

		snprintf(name, sizeof(name), "seg%d", i);
		dp_usyms__resolve(u, 999991, start + file_offset_of(bin, name) + 1, false, &s);
		cr_assert_not_null(s.name, "%s does not resolve", name);
		cr_assert_str_eq(s.name, name);
	}
	dp_usyms__free(u);
	remove_dir(dir);
}

/*
 * Two files whose paths share their first 60 characters are two objects
 * (a key was once the path's 60-character prefix).
 */
Test(usyms, long_paths_with_a_common_prefix)
{
	char dir[] = "/tmp/dp-prefix-XXXXXX", src[128], sub[256], a[320], b[320];
	struct dp_usyms *u = dp_usyms__new(NULL);
	struct dp_uobj_info info;

	make_dir(dir);
	snprintf(src, sizeof(src), "%s/funcs.c", dir);
	snprintf(sub, sizeof(sub), "%s/a-directory-name-long-enough-to-pass-sixty-characters", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	snprintf(a, sizeof(a), "%s/libone.so", sub);
	snprintf(b, sizeof(b), "%s/libtwo.so", sub);
	cr_assert_gt(strlen(sub), 60);
	write_funcs(src, 12);
	run_cmd("cc -O2 -shared -fPIC -fno-omit-frame-pointer -o %s %s", a, src);
	run_cmd("cc -O2 -shared -fPIC -fomit-frame-pointer -o %s %s", b, src);
	map_file(u, 999992, 0x10000000, a);
	map_file(u, 999992, 0x20000000, b);
	cr_assert_eq(dp_usyms__objects(u), 2);
	cr_assert_eq(dp_usyms__fp_info(u, 999992, 0x10000010, &info), 0);
	cr_assert_str_eq(info.module, "libone.so");
	cr_assert_eq(dp_usyms__fp_info(u, 999992, 0x20000010, &info), 0);
	cr_assert_str_eq(info.module, "libtwo.so");
	dp_usyms__free(u);
	remove_dir(dir);
}

/*
 * The record's device and inode name the object: one file under two names
 * (another mount namespace's path) is opened once, and two inodes under one
 * name are two objects. No stat of the name in deferprof's own namespace.
 */
Test(usyms, object_key_from_the_records_device_and_inode)
{
	const char *demo = getenv("DP_DEMO");
	struct dp_usyms *u = dp_usyms__new(NULL);
	struct dp_mmap_file file = { .filename = demo, .maj = 0xfd, .min = 1, .ino = 4242 };
	struct dp_uobj_info info;

	cr_assert_not_null(demo);
	cr_assert_eq(dp_usyms__add_mmap2(u, 999993, 0x10000000, 0x1000, 0, &file), 0);
	file.filename = "/path/in/the/container/demo";
	cr_assert_eq(dp_usyms__add_mmap2(u, 999994, 0x10000000, 0x1000, 0, &file), 0);
	cr_assert_eq(dp_usyms__objects(u), 1, "same device and inode: one object");
	cr_assert_eq(dp_usyms__fp_info(u, 999994, 0x10000010, &info), 0);
	cr_assert_str_eq(info.path, demo, "the object opened under its first name");
	file.filename = demo;
	file.ino = 4243;
	cr_assert_eq(dp_usyms__add_mmap2(u, 999995, 0x10000000, 0x1000, 0, &file), 0);
	cr_assert_eq(dp_usyms__objects(u), 2, "another inode: another object");
	dp_usyms__free(u);
}

/* A record with a build-id finds the object opened by any name with that build-id. */
Test(usyms, object_key_from_the_records_build_id)
{
	const char *demo = getenv("DP_DEMO");
	struct dp_usyms *u = dp_usyms__new(NULL);
	struct dp_mmap_file file = { .filename = demo, .maj = 0xfd, .min = 1, .ino = 77 };
	uint8_t bid[20];
	struct dp_usym s;

	cr_assert_not_null(demo);
	cr_assert_eq(dp_usyms__add_mmap2(u, 999996, 0x10000000, 0x1000, 0, &file), 0);
	dp_usyms__resolve(u, 999996, 0x10000000, false, &s);
	cr_assert_eq(s.build_id_len, 20, "the demo has a GNU build-id");
	memcpy(bid, s.build_id, sizeof(bid));
	file = (struct dp_mmap_file){ .filename = "/elsewhere/demo", .build_id = bid,
				      .build_id_len = 20 };
	cr_assert_eq(dp_usyms__add_mmap2(u, 999997, 0x10000000, 0x1000, 0, &file), 0);
	cr_assert_eq(dp_usyms__objects(u), 1);
	dp_usyms__free(u);
}

/* A snapshot that failed is tried again, a few times; a process that is gone is not. */
Test(usyms, failed_snapshot_is_retried)
{
	char root[] = "/tmp/dp-proc-XXXXXX", path[128];
	struct dp_usyms_opts o = { .proc_root = root };
	struct dp_usyms *u;
	FILE *f;

	make_dir(root);
	u = dp_usyms__new(&o);
	cr_assert_eq(dp_usyms__snapshot(u, 1234), -ENOENT);
	cr_assert(dp_usyms__known(u, 1234), "no /proc entry: the process is gone");
	/* A maps that cannot be read (a directory here) fails, and is tried again. */
	snprintf(path, sizeof(path), "%s/55/maps", root);
	run_cmd("mkdir -p %s", path);
	cr_assert_lt(dp_usyms__snapshot(u, 55), 0);
	cr_assert_not(dp_usyms__known(u, 55), "a failed snapshot is retried");
	cr_assert_eq(rmdir(path), 0);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("00400000-00401000 r-xp 00000000 00:00 0 \n7fff00000000-7fff00002000 r-xp 00000000 00:00 0 [vdso]\n", f);
	fclose(f);
	cr_assert_eq(dp_usyms__snapshot(u, 55), 0);
	cr_assert(dp_usyms__known(u, 55));
	/* Failing every time, it is given up after DP_USYMS_SNAPSHOT_TRIES. */
	snprintf(path, sizeof(path), "%s/66/maps", root);
	run_cmd("mkdir -p %s", path);
	for (int i = 0; i < DP_USYMS_SNAPSHOT_TRIES; i++) {
		cr_assert_not(dp_usyms__known(u, 66));
		cr_assert_lt(dp_usyms__snapshot(u, 66), 0);
	}
	cr_assert(dp_usyms__known(u, 66));
	dp_usyms__free(u);
	remove_dir(root);
}
