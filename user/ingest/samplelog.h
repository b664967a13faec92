/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The per-CPU sample logs the BPF program writes (bpf/deferprof.h), read
 * in place into join samples. Pure: log memory in, samples out; the
 * session maps the logs and moves their tails.
 */
#ifndef DP_SAMPLELOG_H
#define DP_SAMPLELOG_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "deferprof.h"
#include "join.h"

struct dp_samplelog_stats {
	uint64_t entries;
	uint64_t bytes;
	uint64_t malformed;	/* entries the program could not have written */
};

typedef int (*dp_samplelog_fn)(const struct dp_join_sample *js, void *ctx);

/* DP_KEY_* flags of the program as the aggregate's DP_STK_* flags. */
uint32_t dp_key__stk_flags(uint32_t kflags, bool no_user);

/*
 * Every entry of log l from byte tail up to byte head, each as one sample
 * to fn; the samples point into the log, so fn copies what it keeps.
 * kernel_only drops the user side (no cookie, DP_STK_NO_USER). A malformed
 * entry ends the read at head, counted. Returns the new tail; *err is fn's
 * first error, which also ends the read.
 */
uint64_t dp_samplelog__read(const struct dp_log *l, uint64_t tail, uint64_t head,
			    bool kernel_only, struct dp_samplelog_stats *st,
			    dp_samplelog_fn fn, void *ctx, int *err);

#endif
