/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Draining the program's output: the double-buffered counts maps and the
 * per-CPU sample logs (bpf/deferprof.h). The protocol is here, pure: the
 * words the program and user space share are given as pointers, and the one
 * map access (read and delete every entry of a map) as a function, so that
 * the session supplies the real ones and tests supply plain memory.
 *
 * Counts maps: the program adds to counts<active>; user space takes only
 * the other one, which nothing has written since the previous flip, then
 * flips active to it. Logs: the program appends between tail and head;
 * user space reads up to head, then moves tail.
 */
#ifndef DP_DRAIN_H
#define DP_DRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "deferprof.h"

struct dp_ingest;

/* Entries read out of a counts map; grown by the reader as it needs. */
struct dp_keybuf {
	struct dp_sample_key *keys;
	struct dp_sample_val *vals;
	size_t n, cap;
};
int dp_keybuf__reserve(struct dp_keybuf *kb, size_t room);
void dp_keybuf__free(struct dp_keybuf *kb);

/* Read and delete every entry of counts map idx (0 or 1), appending to kb. */
typedef int (*dp_take_map_fn)(void *ctx, unsigned int idx, struct dp_keybuf *kb);

struct dp_drain {
	/* The program's words (its .bss), shared memory. */
	__u32 *active;
	__u64 *filled;		/* [2]: entries added to each map since its drain */
	__u32 *woken;		/* [2]: the "drain me" word was sent for each map */
	dp_take_map_fn take;
	void *take_ctx;
	struct dp_log *logs;	/* the per-CPU logs, or NULL */
	uint32_t nlogs;
	bool kernel_only;
	struct dp_keybuf kb;
	uint64_t drains;	/* counts maps found non-empty and drained */
	uint64_t log_entries, log_bytes;
};

/*
 * The idle counts map's entries into in, then the flip: new samples go to
 * the map just emptied. A map the program has added nothing to is not read.
 */
int dp_drain__counts(struct dp_drain *d, struct dp_ingest *in, uint64_t now);
/* Every sample the logs hold, into in; their space is the program's again. */
int dp_drain__logs(struct dp_drain *d, struct dp_ingest *in, uint64_t now);
/* Samples in either counts map or a log, by the program's own counts (no system call). */
bool dp_drain__has_samples(const struct dp_drain *d);
void dp_drain__free(struct dp_drain *d);

#endif
