/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The sampling perf events and their ring buffers: one event per CPU for a
 * cgroup or the whole system, one per thread and CPU for -p and -t (all of
 * a CPU's events share its ring buffer), the BPF program attached to each.
 */
#ifndef DP_EVENTS_H
#define DP_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "collect.h"
#include "ring.h"

struct bpf_program;
struct bpf_link;

struct dp_cpu_ring {
	int fd;			/* the event whose buffer this is, -1 if none yet */
	void *base;
	struct dp_ring ring;
};

struct dp_events {
	const struct dp_collect_opts *o;
	bool deferred;			/* ask for deferred user callchains */
	struct bpf_program *prog;	/* attached to every event; NULL: --raw */
	int epfd;			/* each ring's first event is added, tagged with its index */
	/* A thread found while opening a process's events (for its name). */
	void (*on_thread)(void *ctx, uint32_t pid, uint32_t tid);
	void *ctx;
	int *cpus, ncpus;
	struct dp_cpu_ring *rings;	/* indexed like cpus */
	size_t mmap_len;
	int *fds;
	struct bpf_link **links;
	size_t nfds, capfds;
	int cgroup_fd;			/* --cgroup: the group's directory, or -1 */
	char cgroup_dir[4096];
	uint32_t *covered;		/* threads with their own events (-p, -t) */
	size_t ncovered, capcovered;
};

/* The online CPUs and a ring per CPU (mapped with the first event). */
int dp_events__init(struct dp_events *ev);
/*
 * Open (disabled) the events of the target: every CPU, the cgroup, the
 * thread, or each process's threads. Errors print one line.
 */
int dp_events__open(struct dp_events *ev);
/* -p: threads created while the events were opened get theirs, enabled. */
int dp_events__open_new_threads(struct dp_events *ev);
int dp_events__enable(struct dp_events *ev);
void dp_events__disable(struct dp_events *ev);
/* Every record the rings hold, to fn (the ring reader's callback). */
int dp_events__consume(struct dp_events *ev, dp_ring_fn fn, void *ctx);
/* Records the ring readers found malformed. */
uint64_t dp_events__malformed(const struct dp_events *ev);
void dp_events__free(struct dp_events *ev);

#endif
