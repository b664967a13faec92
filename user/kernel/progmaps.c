// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "deferprof.skel.h"
#include "progmaps.h"
#include "say.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524	/* the kernel's, for operations a map type lacks */
#endif

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static int map_logs(struct dp_progmaps *pm)
{
	const struct bpf_map *m = pm->bpf.skel->maps.logs;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	_Static_assert(sizeof(struct dp_log) % 8 == 0, "array elements are 8-byte aligned");
	pm->nlogs = bpf_map__max_entries(m);
	pm->logs_len = (sizeof(struct dp_log) * pm->nlogs + pg - 1) / pg * pg;
	p = mmap(NULL, pm->logs_len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m), 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		dp_say("cannot map the BPF sample logs (%zu KiB): %s",
			pm->logs_len / 1024, strerror(-err));
		return err;
	}
	pm->logs = p;
	return 0;
}

static int on_wake(void *ctx, void *data, size_t len)
{
	struct dp_progmaps *pm = ctx;
	uint32_t msg = 0;

	if (len >= sizeof(msg))
		memcpy(&msg, data, sizeof(msg));
	if (msg >= DP_WAKE_LEARN)
		pm->learn_seen = true;
	else
		pm->wake_seen = true;
	return 0;
}

int dp_progmaps__load(struct dp_progmaps *pm, const struct dp_collect_opts *o,
		      const struct dp_probe *pr, bool deferred)
{
	uint64_t t0 = mono_ns();
	int err;

	memset(pm, 0, sizeof(*pm));
	pm->stats_fd = -1;
	err = dp_bpf__load(&pm->bpf, o, pr, deferred);
	if (err)
		return err;
	pm->load_ns = mono_ns() - t0;
	err = map_logs(pm);
	if (err)
		return err;
	pm->wake = ring_buffer__new(bpf_map__fd(pm->bpf.skel->maps.wake), on_wake, pm, NULL);
	if (!pm->wake) {
		err = -errno;
		dp_say("cannot read the BPF wake-up ring: %s", strerror(-err));
		return err;
	}
	/*
	 * -vv turns the kernel's BPF run-time statistics on for the run (they
	 * cost two clock reads per sample); -v reports them when they are on,
	 * by -vv or kernel.bpf_stats_enabled.
	 */
	if (o->verbose >= 2)
		pm->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	return 0;
}

int dp_progmaps__wake_fd(struct dp_progmaps *pm)
{
	return ring_buffer__epoll_fd(pm->wake);
}

void dp_progmaps__take_wake(struct dp_progmaps *pm)
{
	ring_buffer__consume(pm->wake);
}

/* Every entry of a counts map, read and deleted in batches (one by one before Linux 5.6). */
static int take_map(void *ctx, unsigned int idx, struct dp_keybuf *kb)
{
	struct dp_progmaps *pm = ctx;
	struct deferprof_bpf *skel = pm->bpf.skel;
	int fd = bpf_map__fd(idx ? skel->maps.counts1 : skel->maps.counts0), err;
	uint32_t chunk = bpf_map__max_entries(skel->maps.counts0);
	struct dp_sample_key token, key, next, *prev = NULL;
	bool first = true;

	chunk = chunk < 4096 ? chunk : 4096;
	while (!pm->no_batch) {
		__u32 count;

		/* The buffer grows with what one interval brings, not with the map's size. */
		err = dp_keybuf__reserve(kb, chunk);
		if (err)
			return err;
		count = (__u32)(kb->cap - kb->n);
		err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &token, &token,
						      kb->keys + kb->n, kb->vals + kb->n, &count, NULL);
		pm->batch_calls++;
		first = false;
		kb->n += count;
		if (!err)
			continue;
		if (errno == ENOENT)
			return 0;	/* done: the last batch came with ENOENT */
		if (errno == ENOSPC && !(err = dp_keybuf__reserve(kb, kb->cap)))
			continue;	/* a bucket holds more than the room left */
		if (kb->n == 0 && (errno == EINVAL || errno == ENOTSUPP || errno == EOPNOTSUPP)) {
			pm->no_batch = true;	/* kernel < 5.6 */
			break;
		}
		err = err < 0 && errno ? -errno : err;
		dp_say("cannot drain the counts map: %s", strerror(-err));
		return err;
	}
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		err = dp_keybuf__reserve(kb, 1);
		if (err)
			return err;
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &kb->vals[kb->n]))
			continue;
		kb->keys[kb->n++] = key;
	}
	for (size_t i = 0; i < kb->n; i++) {
		/*
		 * A key that cannot be deleted would be counted again at the
		 * next drain: that is an error, not a skipped entry.
		 */
		if (bpf_map_delete_elem(fd, &kb->keys[i]) && errno != ENOENT) {
			err = -errno;
			dp_say("cannot delete from the counts map: %s",
				strerror(-err));
			return err;
		}
	}
	return 0;
}

void dp_progmaps__drain(struct dp_progmaps *pm, struct dp_drain *d, bool kernel_only)
{
	struct deferprof_bpf *skel = pm->bpf.skel;

	memset(d, 0, sizeof(*d));
	d->active = &skel->bss->active;
	d->filled = skel->bss->filled;
	d->woken = skel->bss->woken;
	d->take = take_map;
	d->take_ctx = pm;
	d->logs = pm->logs;
	d->nlogs = pm->nlogs;
	d->kernel_only = kernel_only;
}

int dp_progmaps__lookup_stack(void *ctx, uint64_t id, struct dp_stack *out)
{
	struct dp_progmaps *pm = ctx;

	if (bpf_map_lookup_elem(bpf_map__fd(pm->bpf.skel->maps.stacks), &id, out))
		return -errno;
	return 0;
}

int dp_progmaps__forget_stack(void *ctx, uint64_t id)
{
	struct dp_progmaps *pm = ctx;

	if (bpf_map_delete_elem(bpf_map__fd(pm->bpf.skel->maps.stacks), &id))
		return -errno;
	return 0;
}

/*
 * After a change of the leaf gate's map (rc: the call's result): the logs'
 * cached answers expire. Bumped after the change, so that a program that
 * read the old count looked up the old entry.
 */
static int gate_changed(struct dp_progmaps *pm, int rc)
{
	int err = rc ? -errno : 0;

	__atomic_fetch_add(&pm->bpf.skel->bss->gate_gen, 1, __ATOMIC_RELEASE);
	return err;
}

int dp_progmaps__gate_write(void *ctx, uint64_t key, const struct dp_gate_page *pg)
{
	struct dp_progmaps *pm = ctx;

	return gate_changed(pm, bpf_map_update_elem(bpf_map__fd(pm->bpf.skel->maps.leafgate),
						    &key, pg, BPF_ANY));
}

int dp_progmaps__gate_erase(void *ctx, uint64_t key)
{
	struct dp_progmaps *pm = ctx;

	return gate_changed(pm, bpf_map_delete_elem(bpf_map__fd(pm->bpf.skel->maps.leafgate), &key));
}

long dp_progmaps__stack_ids(void *ctx, uint64_t **ids)
{
	struct dp_progmaps *pm = ctx;
	int fd = bpf_map__fd(pm->bpf.skel->maps.stacks);
	uint64_t id, *prev = NULL, next, *v = NULL;
	size_t n = 0, cap = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		if (n == cap) {
			uint64_t *nv = realloc(v, (cap = cap ? cap * 2 : 256) * sizeof(*v));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[n++] = next;
		id = next;
		prev = &id;
	}
	if (errno != ENOENT) {
		int err = -errno;

		free(v);
		return err;
	}
	*ids = v;
	return (long)n;
}

void dp_progmaps__read_stats(struct dp_progmaps *pm, struct dp_runinfo *ri)
{
	int fd = bpf_map__fd(pm->bpf.skel->maps.stats), ncpu = libbpf_num_possible_cpus();
	struct dp_stats *vals;
	uint32_t zero = 0;

	if (ncpu <= 0)
		return;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return;
	if (!bpf_map_lookup_elem(fd, &zero, vals)) {
		for (uint32_t i = 0; i < DP_STAT_MAX; i++) {
			ri->bpf[i] = 0;
			for (int c = 0; c < ncpu; c++)
				ri->bpf[i] += vals[c].v[i];
		}
	}
	free(vals);
}

/* Distinct stacks in the store: one walk of the map, at the end. */
void dp_progmaps__read_store(struct dp_progmaps *pm, struct dp_runinfo *ri, bool verbose)
{
	uint64_t *ids = NULL;
	long n;

	if (verbose) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(bpf_program__fd(pm->bpf.prog), &info, &len)) {
			ri->bpf_run_cnt = info.run_cnt;
			ri->bpf_run_ns = info.run_time_ns;
		}
	}
	n = dp_progmaps__stack_ids(pm, &ids);
	ri->store_stacks = n > 0 ? (uint64_t)n : 0;
	free(ids);
}

void dp_progmaps__free(struct dp_progmaps *pm)
{
	if (pm->stats_fd >= 0)
		close(pm->stats_fd);
	ring_buffer__free(pm->wake);
	if (pm->logs)
		munmap(pm->logs, pm->logs_len);
	dp_bpf__free(&pm->bpf);
	memset(pm, 0, sizeof(*pm));
	pm->stats_fd = -1;
}
