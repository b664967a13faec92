// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Workloads for make bench, of named noinline functions:
 *   sysdeep  read(2) of /dev/zero, 4 KiB at a time, under a 40-deep user stack
 *            (bw_deep): system-call heavy, deep user stacks
 *   spin     user-space CPU (bw_spin_outer -> bw_spin_inner)
 *   paths    2^B distinct call paths: B levels, two functions each
 *            (bw_l<level>_<0|1>), the path chosen by the bits of a counter
 * Options: -m MODE, -t THREADS (default 1), -u UNITS of work per thread then
 * exit (prints the elapsed seconds), or -s SECONDS; -b BITS for paths
 * (default 10, at most 17), under -P PAD frames of padding (default 0); -d
 * DEPTH for sysdeep (default 40); -W: wait for
 * SIGUSR1 before working (a profiler attaches first; the time excludes the wait);
 * -H: after the work, stay until SIGINT/SIGTERM (a profiler can still read the
 * process's symbols when it stops); -C LIB: churn beside the work (make soak):
 * a short-lived thread (bw_churn_thread) created and joined every 10 ms, and
 * LIB (tests/live/dlib.c's build) dlopen'd, its function run 1 ms, dlclose'd
 * every 100 ms.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#define noinline __attribute__((noinline))
/* Keep a frame in leaf functions (see user/demo/demo.c). */
#define FORCE_FRAME(n) volatile char frame_[((n) & 1) + 1]; frame_[0] = 0; (void)frame_[0]

static volatile sig_atomic_t stop, go;
static volatile unsigned long sink;
static int zero_fd, depth = 40, bits = 10, pad;
static long units;
static double secs;
static const char *mode = "spin";
static const char *churn_lib;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

noinline unsigned long bw_spin_inner(unsigned long x)
{
	FORCE_FRAME(x);

	for (int i = 0; i < 20000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
	return x;
}

noinline unsigned long bw_spin_middle(unsigned long x)
{
	return bw_spin_inner(x + 1) + 1;
}

noinline unsigned long bw_spin_outer(unsigned long x)
{
	return bw_spin_middle(x + 1) + 1;
}

noinline long bw_read(char *buf)
{
	long ret;
	FORCE_FRAME((unsigned long)buf);

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"((long)SYS_read), "D"((long)zero_fd), "S"(buf), "d"(4096L)
			 : "rcx", "r11", "memory");
	return ret;
}

noinline long bw_deep(int n, char *buf)
{
	long r = 0;

	if (n > 0)
		return bw_deep(n - 1, buf) + 1;
	for (int i = 0; i < 16; i++)
		r += bw_read(buf);
	return r;
}

/* paths: level functions, two per level, chosen by the path's bits. */
typedef unsigned long (*level_fn)(unsigned long path, int level);
static level_fn levels[17][2];

noinline unsigned long bw_leaf(unsigned long x)
{
	FORCE_FRAME(x);

	for (int i = 0; i < 3000; i++)
		x = x * 6364136223846793005UL + 1;
	sink = x;
	return x;
}

static unsigned long next_level(unsigned long path, int level)
{
	if (level + 1 >= bits)
		return bw_leaf(path);
	return levels[level + 1][(path >> (level + 1)) & 1](path, level + 1) + 1;
}

#define LEVEL(L) \
	noinline unsigned long bw_l##L##_0(unsigned long p, int l) { return next_level(p, l) + 1; } \
	noinline unsigned long bw_l##L##_1(unsigned long p, int l) { return next_level(p, l) + 2; }
LEVEL(0) LEVEL(1) LEVEL(2) LEVEL(3) LEVEL(4) LEVEL(5) LEVEL(6) LEVEL(7) LEVEL(8)
LEVEL(9) LEVEL(10) LEVEL(11) LEVEL(12) LEVEL(13) LEVEL(14) LEVEL(15) LEVEL(16)
#define SET(L) levels[L][0] = bw_l##L##_0, levels[L][1] = bw_l##L##_1

/* paths under n frames of padding: chains longer than a log entry takes. */
noinline unsigned long bw_pad(int n, unsigned long path)
{
	if (n > 0)
		return bw_pad(n - 1, path) + 1;
	return levels[0][path & 1](path, 0);
}

static void *worker(void *arg)
{
	static char bufs[64][4096];
	char *buf = bufs[(unsigned long)arg % 64];
	unsigned long path = (unsigned long)arg * 7919;
	double end = secs > 0 ? now() + secs : 0;

	for (long u = 0; !stop && (units ? u < units : (end <= 0 || now() < end)); u++) {
		if (!strcmp(mode, "sysdeep"))
			bw_deep(depth, buf);
		else if (!strcmp(mode, "paths"))
			bw_pad(pad, path), path++;
		else
			bw_spin_outer(path++);
	}
	return NULL;
}

noinline void *bw_churn_thread(void *arg)
{
	double end = now() + 0.002;

	(void)arg;
	while (now() < end)
		bw_spin_outer(1);
	return NULL;
}

/* -C: thread creation and exit, and a library mapped and unmapped, until stopped. */
static void *churn(void *arg)
{
	(void)arg;
	for (unsigned long i = 0; !stop; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, bw_churn_thread, NULL) == 0)
			pthread_join(t, NULL);
		if (i % 10 == 0) {
			void *h = dlopen(churn_lib, RTLD_NOW | RTLD_LOCAL);
			void (*fn)(double) = h ? (void (*)(double))dlsym(h, "dl_alpha_work") : NULL;

			if (!h) {
				fprintf(stderr, "dp-bench-work: %s\n", dlerror());
				return NULL;
			}
			if (fn)
				fn(0.001);
			dlclose(h);
		}
		usleep(8000);
	}
	return NULL;
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		go = 1;
	else
		stop = 1;
}

int main(int argc, char **argv)
{
	int c, threads = 1, wait_go = 0, hold = 0;
	pthread_t tids[64];
	double t0;

	while ((c = getopt(argc, argv, "m:t:u:s:b:d:P:WHC:")) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 't': threads = atoi(optarg); break;
		case 'u': units = atol(optarg); break;
		case 's': secs = atof(optarg); break;
		case 'b': bits = atoi(optarg); break;
		case 'd': depth = atoi(optarg); break;
		case 'P': pad = atoi(optarg); break;
		case 'W': wait_go = 1; break;
		case 'H': hold = 1; break;
		case 'C': churn_lib = optarg; break;
		default:
			fprintf(stderr, "usage: %s [-m sysdeep|spin|paths] [-t N] [-u UNITS|-s SECS] [-b BITS] [-d DEPTH] [-P PAD] [-W] [-H] [-C LIB]\n", argv[0]);
			return 2;
		}
	}
	if (threads < 1 || threads > 64 || bits < 1 || bits > 17 || depth < 0 || depth > 1000 || pad < 0 || pad > 1000 ||
	    (strcmp(mode, "sysdeep") && strcmp(mode, "spin") && strcmp(mode, "paths"))) {
		fprintf(stderr, "%s: bad arguments\n", argv[0]);
		return 2;
	}
	SET(0); SET(1); SET(2); SET(3); SET(4); SET(5); SET(6); SET(7); SET(8);
	SET(9); SET(10); SET(11); SET(12); SET(13); SET(14); SET(15); SET(16);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	if (wait_go) {
		printf("ready\n");	/* the handler is in place: SIGUSR1 starts the work */
		fflush(stdout);
	}
	while (wait_go && !go && !stop)
		usleep(1000);
	zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (zero_fd < 0)
		return 1;
	t0 = now();
	if (churn_lib) {
		pthread_t ct;

		if (pthread_create(&ct, NULL, churn, NULL) || pthread_detach(ct))
			return 1;
	}
	/* One thread works in main itself: its stacks reach main. */
	for (int i = 1; i < threads; i++)
		if (pthread_create(&tids[i], NULL, worker, (void *)(unsigned long)i))
			return 1;
	worker((void *)0UL);
	for (int i = 1; i < threads; i++)
		pthread_join(tids[i], NULL);
	if (units)
		printf("%.6f\n", now() - t0);
	fflush(stdout);
	while (hold && !stop)
		usleep(10000);
	return 0;
}
