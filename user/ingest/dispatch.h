/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Ingest: the one place every input of a profile goes through. Ring records
 * (every type), samples read from the program's logs, and entries drained
 * from its counts maps come in; the join, the thread names and, through a
 * sink, the address spaces go out. Pure: no /proc, no file, no BPF access.
 * A live session and dp-replay drive it alike (with --record it writes
 * what it was given, so a replay feeds it the same inputs).
 *
 * Tasks seen for the first time are not looked up here: they are queued,
 * and the session takes them after the round (dp_ingest__take_new_tasks)
 * to read their names and mappings outside the hot loop.
 */
#ifndef DP_DISPATCH_H
#define DP_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>
#include "stackcache.h"
#include "deferprof.h"
#include "join.h"
#include "record.h"
#include "stacks.h"

struct dp_comms;

/* What records say about address spaces, for the symbols side. */
struct dp_ingest_sink {
	/* An executable mapping (PERF_RECORD_MMAP2 with PROT_EXEC). */
	int (*mmap)(void *ctx, const struct dp_record *r);
	/* The process exec'd: a new address space (the old one kept for earlier stacks). */
	void (*exec)(void *ctx, uint32_t pid);
	/* A process forked (PERF_RECORD_FORK with pid != ppid): the child's space is a copy. */
	void (*fork)(void *ctx, uint32_t ppid, uint32_t pid);
	/* A process's main thread exited (PERF_RECORD_EXIT with pid == tid). */
	void (*exit)(void *ctx, uint32_t pid);
	/*
	 * The leaf repair's decision (user/symbols/leafrepair.h): the caller
	 * of the function at leaf->ip when that function had not set up its
	 * frame and the word its call-frame information points at is a
	 * return address; else 0. NULL: no repair (--no-leaf-repair).
	 */
	uint64_t (*leaf_caller)(void *ctx, uint32_t pid, const struct dp_leaf *leaf);
	void *ctx;
};

struct dp_ingest_opts {
	struct dp_join_opts join;
	bool raw;		/* no program: samples are ring records, into the join */
	bool kernel_only;	/* samples have no user side */
	FILE *rec;		/* --record: every input is written here too, or NULL */
	/* The program's store, for drained entries (lookup NULL if none come), and its ageing. */
	struct dp_store_ops store;
	struct dp_stackcache_opts store_age;
};

/* Counters of what came in that the join does not count. */
struct dp_ingest_stats {
	uint64_t ring_records, ring_bytes;
	uint64_t malformed;		/* records, entries or chains that did not parse */
	uint64_t lost_records, lost_events;	/* PERF_RECORD_LOST: records, and how often */
	uint64_t raw_samples;		/* PERF_RECORD_SAMPLEs read (--raw, --verify) */
	uint64_t rec_errors;		/* --record write errors */
	uint64_t sink_errors;		/* mappings the symbols side could not take */
	uint64_t leaf_evidence;		/* samples that brought a struct dp_leaf */
	uint64_t leaf_callers;		/* ... whose innermost frame's caller was found */
};

struct dp_task {
	uint32_t pid, tid;
};

struct dp_verify;
struct dp_ingest;

/*
 * Joined stacks go to out. comms gets the names records carry; sink (may be
 * NULL) the mappings; verify (may be NULL) the raw samples and records too,
 * as a reference built apart from the join.
 */
struct dp_ingest *dp_ingest__new(const struct dp_ingest_opts *opts, struct dp_stack_table *out,
				 struct dp_comms *comms, const struct dp_ingest_sink *sink,
				 struct dp_verify *verify);
void dp_ingest__free(struct dp_ingest *in);

/* One record as read from a ring buffer. */
int dp_ingest__record(struct dp_ingest *in, const void *buf, size_t len, uint64_t now);
/* One sample read from a log (or a recording): its parts point into the caller's memory. */
int dp_ingest__sample(struct dp_ingest *in, const struct dp_join_sample *js, uint64_t now);
/* One entry drained from a counts map; its stacks are looked up in the program's store. */
int dp_ingest__entry(struct dp_ingest *in, const struct dp_sample_key *k, uint64_t count,
		     uint64_t now);
/* Chains, entries or log bytes found malformed by the caller's own reader. */
void dp_ingest__malformed(struct dp_ingest *in, uint64_t n);
/* After each flip of the counts maps (drained or not): the store's ageing. */
void dp_ingest__counts_flipped(struct dp_ingest *in, uint64_t now);
/* The store's mirror: its counters (NULL when the run has no store). */
const struct dp_stackcache *dp_ingest__stackcache(const struct dp_ingest *in);
/* The end of a round: every ring read, every map and log drained. */
int dp_ingest__end_round(struct dp_ingest *in, uint64_t now);
/* The end of the profile: what still waits is resolved as lost. */
int dp_ingest__finish(struct dp_ingest *in);
/* The output table was moved out to old and starts over (dp_join__rebase()). */
int dp_ingest__table_moved(struct dp_ingest *in, const struct dp_stack_table *old);

/*
 * Tasks seen for the first time since the last call, at most max into out;
 * returns how many were taken (call again while it returns max).
 */
uint32_t dp_ingest__take_new_tasks(struct dp_ingest *in, struct dp_task *out, uint32_t max);

const struct dp_ingest_stats *dp_ingest__stats(const struct dp_ingest *in);
const struct dp_join_stats *dp_ingest__join_stats(const struct dp_ingest *in);
/* Groups waiting in the join: a round has work even without new samples. */
uint64_t dp_ingest__pending(const struct dp_ingest *in);

#endif
