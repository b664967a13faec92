// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The leaf repair's workload (tests/live/leaf.sh; tests/vm/guest.sh): the
 * two holes of frame-pointer unwinding, under named callers. Built with
 * -O2 -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer, as a user of
 * frame pointers would build; gcc 12 still gives kite_leaf no frame (the
 * test checks that with objdump and says so when it does not).
 *
 *   heron_outer -> egret_mid -> ibis_reader -> read()   libc's frameless wrapper
 *   heron_outer -> kite_worker -> kite_leaf             a frameless leaf
 *   heron_outer -> crane_framed                         a function with a frame:
 *                                                       nothing may be inserted
 *   heron_outer -> plover_loop -> wren_tiny -> wren_nop a tiny framed function,
 *                                                       often sampled in its
 *                                                       prologue and epilogue
 *
 * A second thread waits all along: libc's wrappers then take their
 * multi-threaded path, whose return address is 40 bytes above SP.
 *
 *   dp-leaf-work SECONDS
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
static char buf[1 << 16];
static int zero_fd;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Time in the kernel through libc's read(): a frameless wrapper at the user IP. */
__attribute__((noinline)) static void ibis_reader(void)
{
	for (int i = 0; i < 20; i++)
		if (read(zero_fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			abort();
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void egret_mid(void)
{
	ibis_reader();
	__asm__ volatile("" ::: "memory");
}

/* A hot leaf: no call, so gcc -O2 sets up no frame. */
__attribute__((noinline)) static unsigned long kite_leaf(unsigned long n)
{
	unsigned long x = n;

	for (unsigned long i = 0; i < 200000; i++)
		x = x * 6364136223846793005UL + i;
	return x;
}

__attribute__((noinline)) static void kite_worker(void)
{
	sink += kite_leaf(sink);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void crane_tick(void)
{
	__asm__ volatile("" ::: "memory");
}

/* A function with a frame (it calls another): its stacks must stay as they are. */
__attribute__((noinline)) static void crane_framed(void)
{
	unsigned long x = sink;

	for (unsigned long i = 0; i < 200000; i++)
		x = x * 2862933555777941757UL + i;
	sink = x;
	crane_tick();
}

/* A frameless leaf (a body of its own: gcc would fold it into crane_tick). */
__attribute__((noinline)) static void wren_nop(void)
{
	sink ^= 1;
}

/*
 * Framed (it calls) and tiny: push, mov, call, pop, ret. Samples at its
 * first instruction, after the push and after the pop see %rbp still (or
 * again) pointing at plover_loop's frame, so frame pointers skip plover_loop.
 */
__attribute__((noinline)) static void wren_tiny(void)
{
	wren_nop();
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void plover_loop(void)
{
	for (int i = 0; i < 300000; i++)
		wren_tiny();
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void heron_outer(double secs)
{
	double end = now_s() + secs;

	while (now_s() < end) {
		egret_mid();
		kite_worker();
		crane_framed();
		plover_loop();
	}
	__asm__ volatile("" ::: "memory");
}

static int idle_pipe[2];

/* Blocks until main ends: its only job is to make the process multi-threaded. */
static void *idle_thread(void *arg)
{
	char c;

	(void)arg;
	while (read(idle_pipe[0], &c, 1) < 0)
		;
	return NULL;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0;
	pthread_t t;

	if (argc != 2 || !(secs > 0)) {
		fprintf(stderr, "usage: dp-leaf-work SECONDS\n");
		return 2;
	}
	zero_fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (zero_fd < 0) {
		perror("dp-leaf-work: /dev/zero");
		return 1;
	}
	if (pipe(idle_pipe) || pthread_create(&t, NULL, idle_thread, NULL)) {
		perror("dp-leaf-work: idle thread");
		return 1;
	}
	heron_outer(secs);
	return 0;
}
