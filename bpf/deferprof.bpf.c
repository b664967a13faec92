// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * deferprof's sampling program. Attached to every sampling perf event, it
 * splits the sample's callchain into its kernel part, its user part (classic
 * chains) and the deferral cookie (deferred chains), stores each stack once
 * in a content-addressed store, and counts samples per (thread, cookie,
 * kernel stack, user stack). It returns 0 so that samples stay out of the
 * ring buffer: only the deferred user-stack records and side-band records
 * reach user space. With pass_samples set (verification and raw modes) the
 * samples are let through as well.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "deferprof.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 pass_samples = 0;
const volatile __u32 want_kernel = 1;
const volatile __u32 want_user = 1;

/*
 * Written by nobody: the verifier cannot know it stays 0, so the
 * bpf_get_stack() fallback path is verified and the program is marked as
 * calling it, which makes older kernels prepare the callchain before the
 * program runs.
 */
__u32 force_helper_chain = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DP_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/*
 * Sample counts, double-buffered. A program that found an entry adds to it
 * after the lookup; were user space to delete the entry in between, that
 * sample would be lost (and with preallocation could land in a reused entry).
 * So samples go to counts_maps[active] and user space drains only the other
 * map, which nothing has written since the previous drain interval: it flips
 * active after each drain.
 */
struct counts_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct dp_sample_key);
	__type(value, struct dp_sample_val);
} counts0 SEC(".maps"), counts1 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct counts_map);
} counts_maps SEC(".maps") = {
	.values = { &counts0, &counts1 },
};

/* Which counts map samples go to; written by user space through the mmapped .bss. */
__u32 active = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct dp_stack);
} stacks SEC(".maps");

struct scratch {
	__u64 chain[DP_MAX_CHAIN];
	struct dp_stack k;
	struct dp_stack u;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += 1;
}

static __always_inline __u64 mix64(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	return h;
}

static __always_inline int same_stack(const struct dp_stack *a, const struct dp_stack *b)
{
	if (a->nr != b->nr || a->user != b->user)
		return 0;
	for (int i = 0; i < DP_MAX_STACK; i++) {
		if (i >= a->nr)
			break;
		if (a->ips[i] != b->ips[i])
			return 0;
	}
	return 1;
}

/*
 * Store a stack once and return its id, or 0 when the store is full. The id
 * is a hash of the addresses; collisions move on to the next probe, so equal
 * stacks always share one id and the store grows with distinct stacks only.
 */
static __always_inline __u64 stack_intern(struct dp_stack *s)
{
	__u64 h = s->user ? 0x75736572ULL : 0x6b65726eULL;

	for (int i = 0; i < DP_MAX_STACK; i++) {
		if (i >= s->nr)
			break;
		h = mix64(h, s->ips[i]);
	}
	h = mix64(h, s->nr);

	for (int p = 0; p < DP_STACK_PROBES; p++) {
		__u64 id = h + p;
		struct dp_stack *old;
		long err;

		if (!id)
			continue;
		old = bpf_map_lookup_elem(&stacks, &id);
		if (!old) {
			err = bpf_map_update_elem(&stacks, &id, s, BPF_NOEXIST);
			if (!err) {
				stat_inc(DP_STAT_NEW_STACKS);
				return id;
			}
			if (err != -17 /* EEXIST: raced with another CPU */)
				return 0;
			old = bpf_map_lookup_elem(&stacks, &id);
			if (!old)
				return 0;
		}
		if (same_stack(old, s))
			return id;
	}
	return 0;
}

static __always_inline void count_sample(struct dp_sample_key *key)
{
	struct dp_sample_val one = { .count = 1 }, *val;
	__u32 idx = active & 1;
	void *counts;
	long err;

	counts = bpf_map_lookup_elem(&counts_maps, &idx);
	if (!counts) {
		stat_inc(DP_STAT_DROP_COUNTS_FULL);
		return;
	}
	val = bpf_map_lookup_elem(counts, key);
	if (val) {
		__sync_fetch_and_add(&val->count, 1);
		stat_inc(DP_STAT_STORED);
		return;
	}
	err = bpf_map_update_elem(counts, key, &one, BPF_NOEXIST);
	if (err == -17) {
		val = bpf_map_lookup_elem(counts, key);
		if (val) {
			__sync_fetch_and_add(&val->count, 1);
			err = 0;
		}
	}
	if (err)
		stat_inc(DP_STAT_DROP_COUNTS_FULL);
	else
		stat_inc(DP_STAT_STORED);
}

/*
 * Split the chain in s->chain[0..nr) into s->k, s->u and the cookie.
 * Chains are [KERNEL, k...] followed by nothing (kernel threads), by
 * [USER, u...] (classic) or by [USER_DEFERRED, cookie] (deferred).
 */
static __always_inline int split_chain(struct scratch *s, __u32 nr, struct dp_sample_key *key)
{
	__u32 kstart = 0, mark = nr;
	__u64 marker = 0;

	if (nr > DP_MAX_CHAIN)
		nr = DP_MAX_CHAIN;
	if (nr && s->chain[0] == DP_CONTEXT_KERNEL)
		kstart = 1;
	for (__u32 i = 0; i < DP_MAX_CHAIN; i++) {
		if (i >= nr)
			break;
		if (s->chain[i] == DP_CONTEXT_USER || s->chain[i] == DP_CONTEXT_USER_DEFERRED) {
			marker = s->chain[i];
			mark = i;
			break;
		}
	}

	s->k.nr = 0;
	s->k.user = 0;
	if (mark > kstart && want_kernel) {
		__u32 n = mark - kstart;

		if (n > DP_MAX_STACK) {
			n = DP_MAX_STACK;
			key->flags |= DP_KEY_KTRUNC;
			stat_inc(DP_STAT_KTRUNC);
		}
		/* Keep clang from folding the clamp: the verifier must see the bound. */
		barrier_var(n);
		if (n <= DP_MAX_STACK &&
		    !bpf_probe_read_kernel(s->k.ips, (n & 0x7f) * sizeof(__u64), &s->chain[kstart & 1]))
			s->k.nr = n;
	}

	s->u.nr = 0;
	s->u.user = 1;
	if (marker == DP_CONTEXT_USER_DEFERRED) {
		if (mark + 1 < nr && mark + 1 < DP_MAX_CHAIN) {
			key->cookie = s->chain[mark + 1];
			key->flags |= DP_KEY_DEFERRED;
			stat_inc(DP_STAT_DEFERRED);
		}
	} else if (marker == DP_CONTEXT_USER) {
		__u32 n = mark + 1 < nr ? nr - mark - 1 : 0;

		stat_inc(DP_STAT_INLINE_USER);
		key->flags |= DP_KEY_USER_INLINE;
		if (n > DP_MAX_STACK) {
			n = DP_MAX_STACK;
			key->flags |= DP_KEY_UTRUNC;
			stat_inc(DP_STAT_UTRUNC);
		}
		barrier_var(n);
		if (want_user && n && n <= DP_MAX_STACK && mark + 1 < DP_MAX_CHAIN &&
		    !bpf_probe_read_kernel(s->u.ips, (n & 0x7f) * sizeof(__u64), &s->chain[mark + 1]))
			s->u.nr = n;
	} else {
		stat_inc(DP_STAT_KERNEL_ONLY);
	}
	return 0;
}

static __always_inline int finish(struct scratch *s, struct dp_sample_key *key)
{
	if (s->k.nr) {
		key->kstack_id = stack_intern(&s->k);
		if (!key->kstack_id) {
			key->flags |= DP_KEY_KSTACK_LOST;
			stat_inc(DP_STAT_KSTACK_FULL);
		}
	}
	if (s->u.nr) {
		key->ustack_id = stack_intern(&s->u);
		if (!key->ustack_id) {
			key->flags |= DP_KEY_USTACK_LOST;
			stat_inc(DP_STAT_USTACK_FULL);
		}
	}
	count_sample(key);
	return pass_samples ? 1 : 0;
}

static __always_inline struct scratch *begin(struct dp_sample_key *key)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 zero = 0;

	stat_inc(DP_STAT_SAMPLES);
	__builtin_memset(key, 0, sizeof(*key));
	key->pid = pid_tgid >> 32;
	key->tid = (__u32)pid_tgid;
	key->cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&scratch, &zero);
}

/*
 * Build the chain with bpf_get_stack(). On kernels with deferred chains the
 * "kernel" part it returns ends with the deferred marker and the cookie
 * (kernel/bpf/stackmap.c only splits at PERF_CONTEXT_USER); split_chain()
 * finds them there like in a prepared chain.
 */
static __always_inline __u32 helper_chain(void *ctx, struct scratch *s)
{
	long kn, un;
	__u32 nr = 0;

	kn = bpf_get_stack(ctx, s->k.ips, sizeof(s->k.ips), 0);
	un = bpf_get_stack(ctx, s->u.ips, sizeof(s->u.ips), BPF_F_USER_STACK);
	stat_inc(DP_STAT_HELPER_CHAIN);
	s->chain[0] = DP_CONTEXT_KERNEL;
	nr = 1;
	if (kn > 0) {
		kn /= sizeof(__u64);
		if (kn > DP_MAX_STACK)
			kn = DP_MAX_STACK;
		barrier_var(kn);
		if (kn > 0 && kn <= DP_MAX_STACK &&
		    !bpf_probe_read_kernel(&s->chain[1], (kn & 0x7f) * sizeof(__u64), s->k.ips))
			nr += kn;
	}
	barrier_var(nr);
	if (un > 0 && nr <= DP_MAX_STACK + 1) {
		un /= sizeof(__u64);
		if (un > DP_MAX_STACK)
			un = DP_MAX_STACK;
		s->chain[nr & 0xff] = DP_CONTEXT_USER;
		nr++;
		barrier_var(un);
		if (un > 0 && un <= DP_MAX_STACK &&
		    !bpf_probe_read_kernel(&s->chain[nr & 0xff], (un & 0x7f) * sizeof(__u64), s->u.ips))
			nr += un;
	}
	return nr;
}

SEC("perf_event")
int dp_sample_kctx(struct bpf_perf_event_data *ctx)
{
	struct bpf_perf_event_data_kern *kctx;
	struct perf_callchain_entry *cc;
	struct dp_sample_key key;
	struct scratch *s;
	__u64 nr = 0, sflags = PERF_SAMPLE_CALLCHAIN;

	s = begin(&key);
	if (!s)
		return pass_samples ? 1 : 0;

	kctx = bpf_cast_to_kern_ctx(ctx);
	cc = BPF_CORE_READ(kctx, data, callchain);
	if (bpf_core_field_exists(struct perf_sample_data, sample_flags))
		sflags = BPF_CORE_READ(kctx, data, sample_flags);
	if (cc && (sflags & PERF_SAMPLE_CALLCHAIN) && !force_helper_chain) {
		nr = BPF_CORE_READ(cc, nr);
		if (nr > DP_MAX_CHAIN)
			nr = DP_MAX_CHAIN;
		barrier_var(nr);
		if (nr > DP_MAX_CHAIN ||
		    bpf_probe_read_kernel(s->chain, (nr & 0x1ff) * sizeof(__u64), &cc->ip[0]))
			nr = 0;
	} else {
		nr = helper_chain(ctx, s);
	}
	if (!nr) {
		stat_inc(DP_STAT_DROP_NO_CHAIN);
		return pass_samples ? 1 : 0;
	}
	split_chain(s, nr, &key);
	return finish(s, &key);
}

/* For kernels without bpf_cast_to_kern_ctx() (< 6.2): helpers only. */
SEC("perf_event")
int dp_sample_helper(struct bpf_perf_event_data *ctx)
{
	struct dp_sample_key key;
	struct scratch *s;
	__u32 nr;

	s = begin(&key);
	if (!s)
		return pass_samples ? 1 : 0;
	nr = helper_chain(ctx, s);
	if (nr <= 1) {
		stat_inc(DP_STAT_DROP_NO_CHAIN);
		return pass_samples ? 1 : 0;
	}
	split_chain(s, nr, &key);
	return finish(s, &key);
}
