// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The live tests' workloads: named noinline functions whose names the tests
 * look for in the stacks, with frame pointers and no sibling calls.
 *
 *   dp-live-work early MS          live_early_burst for MS ms, then sleeps 1 s
 *   dp-live-work exit CODE         live_exit_spin for 0.2 s, exits CODE
 *   dp-live-work signal N          live_exit_spin for 0.2 s, killed by signal N
 *   dp-live-work a|b SECS          live_proc_a or live_proc_b for SECS s
 *   dp-live-work short MS          live_short_spin for MS ms, then exits
 *   dp-live-work threads N SECS    N threads in live_thread_spin for SECS s
 *   dp-live-work badframe SECS [W [next]]
 *                                  live_bf_leaf under live_bf_break, whose saved
 *                                  frame pointer is overwritten with text for SECS s
 *                                  (or with a frame whose return address is the
 *                                  hex word W, e.g. ffffffffffffff80: a perf
 *                                  context marker's value; last in the chain, or
 *                                  with "next" next to last)
 *   dp-live-work dlopen SECS DIR   DIR/dp-live-liba.so's dl_alpha_work under
 *                                  live_dl_phase_a for SECS s, dlclose, then
 *                                  DIR/dp-live-libb.so's dl_beta_work under
 *                                  live_dl_phase_b; prints "reused 1" when libb
 *                                  was mapped where liba was, else "reused 0"
 *   dp-live-work exec SECS         live_pre_exec for SECS s, then exec's itself
 *                                  as "a SECS" (live_proc_a)
 *   dp-live-work forks N MS        N children in turn (N = 0: until killed), each
 *                                  in live_child_work for MS ms, then exits; the
 *                                  parent waits for each
 *   dp-live-work jit SECS          half its time in code it wrote to an anonymous
 *                                  executable mapping (printed: "jit START SIZE",
 *                                  for a perf map), half in live_jit_host_spin
 */
#define _GNU_SOURCE	/* dladdr */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <sys/mman.h>

static volatile unsigned long sink;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Each body its own (a salt): identical functions would be folded into one. */
#define SPIN_FN(name, salt)						\
__attribute__((noinline)) static void name(double secs)		\
{									\
	double end = now_s() + secs;					\
									\
	while (now_s() < end)						\
		for (int i = 0; i < 10000; i++)				\
			sink += (unsigned long)i * (salt);		\
	__asm__ volatile("" ::: "memory");				\
}

SPIN_FN(live_early_burst, 3)
SPIN_FN(live_exit_spin, 4)
SPIN_FN(live_proc_a, 5)
SPIN_FN(live_proc_b, 6)
SPIN_FN(live_short_spin, 7)
SPIN_FN(live_thread_spin, 8)
SPIN_FN(live_jit_host_spin, 12)

SPIN_FN(live_bf_leaf, 9)

/*
 * A broken frame chain, as a buggy program or a stray write makes it: the
 * saved frame pointer points at bytes of text (above this frame, as a real
 * caller's frame is), so an unwinder reads "?=:8643" as a return address.
 */
__attribute__((noinline)) static void live_bf_break(double secs, volatile unsigned long *text)
{
	unsigned long *fp = __builtin_frame_address(0);
	unsigned long saved = fp[0];

	fp[0] = (unsigned long)text;
	live_bf_leaf(secs);
	fp[0] = saved;
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void live_bf_outer(double secs, unsigned long word, int next)
{
	/*
	 * { next frame pointer, return address }: ends the chain after the
	 * text, or (next) after one more frame, so that the word is next to
	 * last in the chain, where a deferred chain has its marker.
	 */
	volatile unsigned long after[2] = { 0, 0x1000 };
	volatile unsigned long text[2] = { next ? (unsigned long)after : 0, word };

	live_bf_break(secs, text);
	__asm__ volatile("" ::: "memory");
}

SPIN_FN(live_pre_exec, 10)
SPIN_FN(live_child_work, 11)

typedef void (*dl_work_fn)(double);

/* name from DIR/file, run for secs under a caller of our own; its text address into *base. */
__attribute__((noinline)) static int live_dl_run(const char *dir, const char *file, const char *name,
						 double secs, void (*phase)(dl_work_fn, double),
						 unsigned long *base)
{
	char path[4096];
	void *h;
	dl_work_fn fn;
	Dl_info info;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dp-live-work: %s\n", dlerror());
		return 1;
	}
	fn = (dl_work_fn)dlsym(h, name);
	if (!fn || !dladdr((void *)fn, &info)) {
		fprintf(stderr, "dp-live-work: no %s in %s\n", name, path);
		return 1;
	}
	*base = (unsigned long)info.dli_fbase;
	phase(fn, secs);
	return dlclose(h) ? 1 : 0;
}

__attribute__((noinline)) static void live_dl_phase_a(dl_work_fn fn, double secs)
{
	fn(secs);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void live_dl_phase_b(dl_work_fn fn, double secs)
{
	fn(secs);
	__asm__ volatile("" ::: "memory");
}

static int dl_reuse(double secs, const char *dir)
{
	unsigned long a = 0, b = 0;

	if (live_dl_run(dir, "dp-live-liba.so", "dl_alpha_work", secs, live_dl_phase_a, &a) ||
	    live_dl_run(dir, "dp-live-libb.so", "dl_beta_work", secs, live_dl_phase_b, &b))
		return 1;
	printf("reused %d (liba at %#lx, libb at %#lx)\n", a == b, a, b);
	return 0;
}

static int forks(int n, double ms)
{
	for (int i = 0; n <= 0 || i < n; i++) {
		pid_t c = fork();
		int st;

		if (c < 0)
			return 1;
		if (!c) {
			live_child_work(ms / 1000);
			_exit(0);
		}
		if (waitpid(c, &st, 0) != c || !WIFEXITED(st))
			return 1;
	}
	return 0;
}

static double thread_end;
static pthread_mutex_t go_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cv = PTHREAD_COND_INITIALIZER;
static int go;

__attribute__((noinline)) static void *live_thread_main(void *arg)
{
	(void)arg;
	/* Every thread waits until all are started: creating them stays fast. */
	pthread_mutex_lock(&go_mu);
	while (!go)
		pthread_cond_wait(&go_cv, &go_mu);
	pthread_mutex_unlock(&go_mu);
	/* Short bursts: 2,000 threads keep about one CPU busy, not a hundred. */
	while (now_s() < thread_end) {
		live_thread_spin(0.00005);
		usleep(100000);
	}
	return NULL;
}

static int threads(int n, double secs)
{
	pthread_attr_t a;
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	int started = 0;

	if (!t || pthread_attr_init(&a) || pthread_attr_setstacksize(&a, 64 * 1024))
		return 1;
	for (; started < n; started++) {
		if (pthread_create(&t[started], &a, live_thread_main, NULL)) {
			fprintf(stderr, "dp-live-work: %d threads started, no more\n", started);
			break;
		}
	}
	pthread_mutex_lock(&go_mu);
	thread_end = now_s() + secs;
	go = 1;
	pthread_cond_broadcast(&go_cv);
	pthread_mutex_unlock(&go_mu);
	printf("ready %d\n", started);
	fflush(stdout);
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	return started == n ? 0 : 1;
}

/* x86-64: mov rcx, rdi; 1: dec rcx; jnz 1b; ret. A leaf no ELF file names. */
static const unsigned char jit_loop[] = { 0x48, 0x89, 0xf9, 0x48, 0xff, 0xc9, 0x75, 0xfb, 0xc3 };

__attribute__((noinline)) static void live_jit_caller(void (*code)(unsigned long), double secs)
{
	double end = now_s() + secs;

	while (now_s() < end) {
		code(2000000);
		live_jit_host_spin(0.001);
	}
	__asm__ volatile("" ::: "memory");
}

static int jit(double secs)
{
	size_t size = 4096;
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED) {
		perror("dp-live-work: mmap");
		return 1;
	}
	memcpy(p, jit_loop, sizeof(jit_loop));
	printf("jit %lx %zx\n", (unsigned long)p, sizeof(jit_loop));
	fflush(stdout);
	live_jit_caller((void (*)(unsigned long))p, secs);
	return 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 2 ? argv[1] : "";
	double v = argc > 2 ? atof(argv[2]) : 0;

	if (!strcmp(m, "early")) {
		live_early_burst(v / 1000);
		sleep(1);
		return 0;
	}
	if (!strcmp(m, "exit") || !strcmp(m, "signal")) {
		live_exit_spin(0.2);
		if (!strcmp(m, "signal")) {
			signal((int)v, SIG_DFL);
			raise((int)v);
		}
		return (int)v;
	}
	if (!strcmp(m, "a") || !strcmp(m, "b")) {
		(m[0] == 'a' ? live_proc_a : live_proc_b)(v);
		return 0;
	}
	if (!strcmp(m, "short")) {
		live_short_spin(v / 1000);
		return 0;
	}
	if (!strcmp(m, "dlopen") && argc > 3)
		return dl_reuse(v, argv[3]);
	if (!strcmp(m, "exec")) {
		live_pre_exec(v);
		execl("/proc/self/exe", argv[0], "a", argv[2], (char *)NULL);
		perror("dp-live-work: exec");
		return 1;
	}
	if (!strcmp(m, "forks") && argc > 3)
		return forks((int)v, atof(argv[3]));
	if (!strcmp(m, "badframe")) {
		live_bf_outer(v, argc > 3 ? strtoul(argv[3], NULL, 16) : 0x31333436383a3d3fUL,
			      argc > 4 && !strcmp(argv[4], "next"));
		return 0;
	}
	if (!strcmp(m, "jit"))
		return jit(v);
	if (!strcmp(m, "threads") && argc > 3)
		return threads((int)v, atof(argv[3]));
	fprintf(stderr, "usage: dp-live-work early MS | exit CODE | signal N | a|b SECS | short MS | threads N SECS | badframe SECS | dlopen SECS DIR | exec SECS | forks N MS | jit SECS\n");
	return 2;
}
