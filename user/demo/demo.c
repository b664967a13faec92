// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * deferprof's demo workload: named functions that a profile must show.
 *
 *   main -> demo_spin_outer -> demo_spin_middle -> demo_spin_inner   user-space CPU
 *                                       (its loop: demo_spin_step, inlined)
 *   main -> demo_sys_outer -> demo_sys_middle -> demo_sys_inner      read(2) of /dev/zero
 *   demo_late_thread -> demo_late_work                               a thread started later
 *
 * demo_sys_inner issues the system call itself (inline syscall instruction),
 * so frame-pointer unwinding sees it: a libc wrapper would hide its caller.
 * Leaf functions hold a variable-length array: gcc 12 and clang 14 omit the
 * frame of leaf functions whatever the flags, and frame-pointer unwinding
 * then skips their caller; the array forces a frame.
 *
 * Usage: deferprof-demo [-s SECONDS] [-l LATE_MS] [-m spin|sys|both]
 * The late thread starts after LATE_MS (default 300; -1: never), or on SIGUSR1.
 */
#define _GNU_SOURCE	/* pthread_setname_np */
#include <errno.h>
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
/* Forces a frame pointer in a leaf function (see above). */
#define FORCE_FRAME(n) volatile char frame_anchor[((n) & 1) + 1]; frame_anchor[0] = 0; (void)frame_anchor[0]

static volatile sig_atomic_t stop, start_late;
static volatile unsigned long sink;
static int zero_fd = -1;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Always inlined: exports show it as an inlined frame under demo_spin_inner. */
static inline __attribute__((always_inline)) unsigned long demo_spin_step(unsigned long x)
{
	for (unsigned long i = 0; i < 200000; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}

noinline unsigned long demo_spin_inner(unsigned long n)
{
	unsigned long x;
	FORCE_FRAME(n);

	x = demo_spin_step(n);
	sink = x;
	return x;
}

noinline unsigned long demo_spin_middle(unsigned long n)
{
	return demo_spin_inner(n + 1) + 1;
}

noinline unsigned long demo_spin_outer(unsigned long n)
{
	return demo_spin_middle(n + 1) + 1;
}

noinline long demo_sys_inner(void *buf, unsigned long len)
{
	long ret;
	FORCE_FRAME(len);

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"((long)SYS_read), "D"((long)zero_fd), "S"(buf), "d"(len)
			 : "rcx", "r11", "memory");
	return ret + 1;
}

noinline long demo_sys_middle(void *buf)
{
	long r = 0;

	for (int i = 0; i < 8; i++)
		r += demo_sys_inner(buf, 65536);
	return r + 1;
}

noinline long demo_sys_outer(void *buf)
{
	return demo_sys_middle(buf) + 1;
}

noinline unsigned long demo_late_work(unsigned long n)
{
	unsigned long x = n;
	FORCE_FRAME(n);

	for (unsigned long i = 0; i < 300000; i++)
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	sink = x;
	return x;
}

static void *demo_late_thread(void *arg)
{
	double end = *(double *)arg;

	pthread_setname_np(pthread_self(), "demo-late");	/* a thread name the views can show */
	while (!stop && (end <= 0 || now() < end))
		demo_late_work(sink + 1);
	return NULL;
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		start_late = 1;
	else
		stop = 1;
}

int main(int argc, char **argv)
{
	double secs = 0, late_ms = 300, start, end;
	const char *mode = "both";
	static char buf[65536];
	pthread_t late;
	int c, late_started = 0;

	while ((c = getopt(argc, argv, "s:l:m:")) != -1) {
		switch (c) {
		case 's':
			secs = atof(optarg);
			break;
		case 'l':
			late_ms = atof(optarg);
			break;
		case 'm':
			mode = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-s SECONDS] [-l LATE_MS] [-m spin|sys|both]\n", argv[0]);
			return 2;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGUSR1, on_signal);
	zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (zero_fd < 0) {
		fprintf(stderr, "deferprof-demo: cannot open /dev/zero: %s\n", strerror(errno));
		return 1;
	}
	start = now();
	end = secs > 0 ? start + secs : 0;
	while (!stop && (end <= 0 || now() < end)) {
		if (strcmp(mode, "sys"))
			demo_spin_outer(sink);
		if (strcmp(mode, "spin"))
			demo_sys_outer(buf);
		if (!late_started && (start_late || (late_ms >= 0 && now() - start >= late_ms / 1000))) {
			if (pthread_create(&late, NULL, demo_late_thread, &end) == 0)
				late_started = 1;
			else
				late_ms = -1, start_late = 0;
		}
	}
	stop = 1;
	if (late_started)
		pthread_join(late, NULL);
	return 0;
}
