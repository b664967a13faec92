// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An LD_PRELOAD shim for the fault-injection tests (tests/live/faults.sh):
 * malloc, calloc, realloc and reallocarray fail at their DP_FAIL_AT-th call
 * (counted together), or at every call from then on with DP_FAIL_PERSIST=1;
 * DP_FAIL_COUNT=1 prints the number of calls at exit, DP_FAIL_TRACE=1 the
 * callers of the call that failed (for a failing test). Calls glibc makes to
 * itself inside libc are not seen.
 *
 * Only calls made for the program's own code count: the first caller beyond
 * libc and this shim must be in the main executable. Libraries answer for
 * their own allocations, and elfutils' libdw does not survive a failed one
 * (an assertion, or a crash in tsearch's comparison: seen with 0.188).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <execinfo.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);

static unsigned long calls, fail_at;
static int persist, count, trace, ready;

/* Executable code: [lo, hi), a few ranges per object. */
struct code {
	uintptr_t lo[4], hi[4];
	int n;
};
static struct code prog, libc, self;

static int has(const struct code *c, uintptr_t a)
{
	for (int i = 0; i < c->n; i++)
		if (a >= c->lo[i] && a < c->hi[i])
			return 1;
	return 0;
}

/* dl_iterate_phdr's callback: the main program comes first. */
static int note_object(struct dl_phdr_info *info, size_t size, void *first)
{
	struct code c = { .n = 0 };

	(void)size;
	for (int i = 0; i < info->dlpi_phnum && c.n < 4; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			c.lo[c.n] = info->dlpi_addr + ph->p_vaddr;
			c.hi[c.n] = c.lo[c.n] + ph->p_memsz;
			c.n++;
		}
	}
	if (*(int *)first) {
		*(int *)first = 0;
		prog = c;
	} else if (has(&c, (uintptr_t)note_object)) {
		self = c;
	} else if (strstr(info->dlpi_name, "/libc.so")) {
		libc = c;
	}
	return 0;
}

/* Whether the call is made for the program: its first caller beyond libc and the shim. */
static int programs(void)
{
	void *bt[12];
	int n = backtrace(bt, 12);

	for (int i = 0; i < n; i++) {
		uintptr_t a = (uintptr_t)bt[i];

		if (has(&self, a) || has(&libc, a))
			continue;
		return has(&prog, a);
	}
	return 0;
}

__attribute__((constructor)) static void setup(void)
{
	const char *s = getenv("DP_FAIL_AT");
	int first = 1;
	void *bt[2];

	fail_at = s ? strtoul(s, NULL, 10) : 0;
	persist = getenv("DP_FAIL_PERSIST") != NULL;
	count = getenv("DP_FAIL_COUNT") != NULL;
	trace = getenv("DP_FAIL_TRACE") != NULL;
	dl_iterate_phdr(note_object, &first);
	backtrace(bt, 2);	/* its first call loads libgcc's unwinder: not from inside malloc */
	ready = 1;
}

__attribute__((destructor)) static void report(void)
{
	char buf[64];
	int n;

	if (!count)
		return;
	n = snprintf(buf, sizeof(buf), "failmalloc: %lu calls\n", calls);
	if (write(STDERR_FILENO, buf, (size_t)n) != n)
		return;
}

static int fails(void)
{
	if (!ready || !programs())
		return 0;
	calls++;
	if (fail_at && (calls == fail_at || (persist && calls > fail_at))) {
		if (trace && calls == fail_at) {
			void *bt[16];
			int n = backtrace(bt, 16);

			backtrace_symbols_fd(bt, n, STDERR_FILENO);
		}
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *malloc(size_t size)
{
	return fails() ? NULL : __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
	return fails() ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t size)
{
	return fails() ? NULL : __libc_realloc(p, size);
}

void *reallocarray(void *p, size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n * size);
}
