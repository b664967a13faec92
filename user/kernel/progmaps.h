/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The loaded program seen from user space: its logs and .bss words mapped
 * for the drain (ingest/drain.h), its counts maps read in batches, its
 * stack store, its "drain me" ring, and its counters.
 */
#ifndef DP_PROGMAPS_H
#define DP_PROGMAPS_H

#include <stdbool.h>
#include <stdint.h>
#include "bpfload.h"
#include "collect.h"
#include "drain.h"
#include "probe.h"
#include "runinfo.h"

struct ring_buffer;

struct dp_progmaps {
	struct dp_bpf bpf;
	struct dp_log *logs;		/* the per-CPU sample logs, mmapped */
	size_t logs_len;
	uint32_t nlogs;
	struct ring_buffer *wake;	/* the program's "drain me" words */
	bool wake_seen;			/* a word came since the last take */
	bool learn_seen;		/* ... a DP_WAKE_LEARN word: pages for the leaf gate */
	bool no_batch;			/* the kernel lacks lookup_and_delete_batch for hash maps */
	int stats_fd;			/* -vv: keeps the kernel's BPF run-time stats on, or -1 */
	uint64_t batch_calls;
	uint64_t load_ns;
};

/*
 * Load the program once (deferred: the session's mode), map its logs; -vv
 * turns the kernel's run-time stats on.
 */
int dp_progmaps__load(struct dp_progmaps *pm, const struct dp_collect_opts *o,
		      const struct dp_probe *pr, bool deferred);
/* The drain's view of the program: its words, logs and map reader. */
void dp_progmaps__drain(struct dp_progmaps *pm, struct dp_drain *d, bool kernel_only);
/* The program's "drain me" ring, for epoll; wake_seen is set when it has words. */
int dp_progmaps__wake_fd(struct dp_progmaps *pm);
void dp_progmaps__take_wake(struct dp_progmaps *pm);
/* A stack of the store (dp_ingest's lookup). */
int dp_progmaps__lookup_stack(void *pm, uint64_t id, struct dp_stack *out);
/* Delete id from the store: 0 or -errno (-ENOENT when it is not there). */
int dp_progmaps__forget_stack(void *pm, uint64_t id);
/* The leaf gate's map (leafgate.h's ops): put a page, delete one; 0 or -errno. */
struct dp_gate_page;
int dp_progmaps__gate_write(void *pm, uint64_t key, const struct dp_gate_page *pg);
int dp_progmaps__gate_erase(void *pm, uint64_t key);
/* Every id in the store, malloc'd into *ids: how many, or -errno. */
long dp_progmaps__stack_ids(void *pm, uint64_t **ids);
/* The program's counters; at the end, the store's size and run time (-v). */
void dp_progmaps__read_stats(struct dp_progmaps *pm, struct dp_runinfo *ri);
void dp_progmaps__read_store(struct dp_progmaps *pm, struct dp_runinfo *ri, bool verbose);
void dp_progmaps__free(struct dp_progmaps *pm);

#endif
