// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A library the live tests load with dlopen(), built twice: with
 * -DDL_NAME=dl_alpha_work into dp-live-liba.so and -DDL_NAME=dl_beta_work into
 * dp-live-libb.so. Same code, same size: after the first is dlclose'd, the
 * second is mapped where it was, and its samples must be named with its own
 * function.
 */
#include <time.h>

static volatile unsigned long sink;

__attribute__((noinline, visibility("default"))) void DL_NAME(double secs)
{
	struct timespec t;
	double end;

	clock_gettime(CLOCK_MONOTONIC, &t);
	end = (double)t.tv_sec + (double)t.tv_nsec / 1e9 + secs;
	do {
		for (int i = 0; i < 10000; i++)
			sink += (unsigned long)i * DL_SALT;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((double)t.tv_sec + (double)t.tv_nsec / 1e9 < end);
	__asm__ volatile("" ::: "memory");
}
