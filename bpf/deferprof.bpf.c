// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * deferprof's sampling program. Attached to every sampling perf event, it
 * copies the sample's prepared callchain, with the thread and (deferred
 * chains) the cookie, into this CPU's log, which user space reads from
 * shared memory (log_chain()). It returns 0 so that samples stay out of the
 * ring buffer: only the deferred user-stack records and side-band records
 * reach user space. With pass_samples set (verification and raw modes) the
 * samples are let through as well.
 *
 * Cost per sample is the point of the design. Measured side by side in a
 * deferred kernel, hashing and storing the kernel part in the interrupt
 * cost the target about 770 ns a sample more than perf fp,defer; the copy
 * costs less than perf's own sample record. So:
 *  - the chain copied straight into the log entry (direct loads up to 24
 *    words, one bpf_probe_read_kernel() beyond that); the deferred marker
 *    and cookie are checked in place, where the kernel
 *    always puts them (ips[nr-2], ips[nr-1]); no hashing, no map update;
 *  - entries never wrap (they run on into a slack area), so both sides see
 *    an entry in one piece; one writer per log (the program on that CPU,
 *    which cannot nest) and one reader.
 *
 * Chains longer than a log entry holds (kernel.perf_event_max_stack raised
 * past 127) and the bpf_get_stack() program of kernels before 6.2 take the
 * in-kernel path: the chain is read into per-CPU scratch, split, each stack
 * stored once in a content-addressed store (its id a 64-bit hash trusted
 * without a second compare: two distinct stacks of one run collide with a
 * probability of about n^2 / 2^65), and samples counted per (thread, kernel
 * stack, user stack) in double-buffered hash maps. Its loops run through
 * bpf_loop() (Linux >= 5.17), so the verifier checks each body once; older
 * kernels get no program, and deferprof stitches every sample in user space
 * (--raw).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "deferprof.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 pass_samples = 0;
const volatile __u32 want_kernel = 1;
const volatile __u32 want_user = 1;
/* Log a struct dp_leaf with user chains, for the leaf repair (off: --no-leaf-repair). */
const volatile __u32 want_leaf = 0;
/*
 * The session's mode. Only in deferred mode does a chain end with the
 * deferred marker and a cookie; in classic mode a user return address that
 * happens to equal the marker, next to last, is just a bad frame.
 */
const volatile __u32 deferred_mode = 1;
/* With the leaf gate: wake user space when captures come from pages it has not learned. */
const volatile __u32 learn_wake = 0;
/* New entries in the active counts map at which user space is woken to drain it. */
const volatile __u64 wake_at = 32768;

/*
 * Written by nobody: the verifier cannot know it stays 0, so the
 * bpf_get_stack() fallback path is verified and the program is marked as
 * calling it, which makes older kernels prepare the callchain before the
 * program runs.
 */
__u32 force_helper_chain = 0;

/* Every counter of one CPU, in one lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dp_stats);
} stats SEC(".maps");

/*
 * Sample counts, double-buffered. A program that found an entry adds to it
 * after the lookup; were user space to delete the entry in between, that
 * sample would be lost (and with preallocation could land in a reused entry).
 * So samples go to counts<active> and user space drains only the other map,
 * which nothing has written since the previous drain: it flips active after
 * each drain.
 */
struct counts_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct dp_sample_key);
	__type(value, struct dp_sample_val);
} counts0 SEC(".maps"), counts1 SEC(".maps");

/*
 * Shared with user space through the mmapped .bss: which counts map samples
 * go to, and how many entries each map gained since user space last drained
 * it (0 means there is nothing to drain: the drain is skipped).
 */
__u32 active = 0;
__u64 filled[2] = {};
/* Set when the wake-up for a map was sent; user space clears it with filled. */
__u32 woken[2] = {};
/* Bumped by user space after every change of the leaf gate's map: the logs' cached answers expire. */
__u64 gate_gen = 0;

/* The per-CPU sample logs (see deferprof.h); max_entries is set to the CPU count. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct dp_log);
} logs SEC(".maps");

/*
 * One word when the active map reaches wake_at entries, or a log is half
 * full: user space drains early.
 */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} wake SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct dp_stack);
} stacks SEC(".maps");

/* The leaf gate (deferprof.h), written by user space (user/kernel/leafgate.c). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct dp_gate_page);
} leafgate SEC(".maps");

/*
 * The chain sits at buf[1..nr]: buf[0] and the context marker before each
 * part are free slots that become a struct dp_stack header in place. A part
 * starts at most at chain index 255 and a stack value spans DP_MAX_STACK + 1
 * slots; a power of two lets the loops index with a mask, which the
 * verifier proves in bounds without a compare per word.
 */
#define DP_SCRATCH_SLOTS	512
#define DP_SLOT(j)		((j) & (DP_SCRATCH_SLOTS - 1))
_Static_assert(DP_SCRATCH_SLOTS >= 256 + DP_MAX_STACK + 2, "room for a stack at any part start");

struct scratch {
	__u64 buf[DP_SCRATCH_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

struct loop_ctx {
	struct scratch *s;
	__u64 base;		/* buf index of the first element */
	__u64 end;		/* buf index past the last element */
	__u64 h;		/* hash */
};

/* Words per loop step: the loop's own cost is paid once for several words. */
#define DP_STEP_WORDS	8

/* The final mix of a stack's hash (the per-word step is a multiply only). */
static __always_inline __u64 mix64(__u64 h, __u64 v)
{
	h ^= v;
	h *= 0x9e3779b97f4a7c15ULL;
	h ^= h >> 29;
	return h;
}

/*
 * h = (h ^ w) * K per word, K odd: each step is a bijection of h, and the
 * final mix64() spreads the result. The hash stays in a register for a whole
 * step; a full step checks its bounds once.
 */
static int hash_step(__u32 i, void *arg)
{
	struct loop_ctx *c = arg;
	__u64 j = c->base + (__u64)i * DP_STEP_WORDS, h = c->h;
	const __u64 *buf = c->s->buf;

#pragma unroll
	for (int k = 0; k < DP_STEP_WORDS; k++)
		h = (h ^ buf[DP_SLOT(j + k)]) * 0x9e3779b97f4a7c15ULL;
	c->h = h;
	return 0;
}

/*
 * The rem (< DP_STEP_WORDS) words after the last full step, inline: a
 * compare per word is cheaper than a loop step per word.
 */
static __always_inline void hash_tail(struct loop_ctx *c, __u64 rem)
{
	const __u64 *buf = c->s->buf;
	__u64 h = c->h, j = c->base;

#pragma unroll
	for (int k = 0; k < DP_STEP_WORDS - 1; k++)
		if (k < rem)
			h = (h ^ buf[DP_SLOT(j + k)]) * 0x9e3779b97f4a7c15ULL;
	c->h = h;
}

/*
 * DP_STEP_WORDS words per step. The last step may read past the chain:
 * split_and_count() zeroes those slots first, so no stale marker is found.
 */
static int scan_step(__u32 i, void *arg)
{
	struct loop_ctx *c = arg;
	__u64 j = c->base + (__u64)i * DP_STEP_WORDS;
	const __u64 *buf = c->s->buf;

#pragma unroll
	for (int k = 0; k < DP_STEP_WORDS; k++) {
		__u64 v = buf[DP_SLOT(j + k)];

		if (v == DP_CONTEXT_USER || v == DP_CONTEXT_USER_DEFERRED) {
			c->s->buf[0] = j + k;	/* see split_and_count() */
			return 1;
		}
	}
	return 0;
}

/*
 * Steps for n words, a clean 64-bit value. bpf_loop() takes a __u32, so
 * clang may compute it modulo 2^32 and leave garbage in the upper half of
 * the register, which the verifier's inlined bpf_loop() compares whole:
 * more than 8M loops, -E2BIG, and the loop silently never runs. The
 * barrier makes clang produce every bit.
 */
static __always_inline __u64 steps(__u64 n)
{
	__u64 k = (n + DP_STEP_WORDS - 1) / DP_STEP_WORDS;

	barrier_var(k);
	return k;
}

/*
 * Store the stack of nr addresses at buf[first..] (a DP_STACK_* kind) once
 * and return its id, or 0 when the store is full. buf[first - 1] is
 * overwritten with the header. Equal stacks hash alike, so the store grows
 * with distinct stacks.
 */
static __always_inline __u64 stack_intern(struct dp_stats *st, struct scratch *s, __u64 first,
					  __u64 nr, __u32 kind)
{
	struct loop_ctx c = {
		.s = s, .base = first, .end = first + nr, .h = 0x6b65726eULL + kind,
	};
	struct dp_stack *v;
	__u64 hdr = first - 1, full;
	__u64 id;
	long err;

	full = steps(nr / DP_STEP_WORDS * DP_STEP_WORDS);
	if (bpf_loop(full, hash_step, &c, 0) < 0)
		return 0;	/* counted as not stored */
	c.base = first + full * DP_STEP_WORDS;
	hash_tail(&c, nr % DP_STEP_WORDS);
	id = mix64(c.h, nr) | 1;	/* never 0: 0 means "no stack" */
	if (bpf_map_lookup_elem(&stacks, &id))
		return id;
	if (hdr > 255)
		return 0;
	v = (struct dp_stack *)&s->buf[hdr];
	v->nr = nr;
	v->user = kind;
	err = bpf_map_update_elem(&stacks, &id, v, BPF_NOEXIST);
	if (!err) {
		st->v[DP_STAT_NEW_STACKS]++;
		return id;
	}
	return err == -17 /* EEXIST: another CPU stored it first */ ? id : 0;
}

static __always_inline void count_in(void *counts, __u32 idx, struct dp_stats *st,
				     struct dp_sample_key *key)
{
	struct dp_sample_val one = { .count = 1 }, *val;
	long err;

	/* Classic and kernel-only keys repeat: look up first. */
	val = bpf_map_lookup_elem(counts, key);
	if (val) {
		__sync_fetch_and_add(&val->count, 1);
		st->v[DP_STAT_STORED]++;
		return;
	}
	err = bpf_map_update_elem(counts, key, &one, BPF_NOEXIST);
	if (!err) {
		st->v[DP_STAT_STORED]++;
		idx &= 1;	/* clang may merge both call sites: keep the bound visible */
		__sync_fetch_and_add(&filled[idx], 1);
		/* Two CPUs may both send it: user space just drains once more. */
		if (filled[idx] >= wake_at && !woken[idx]) {
			__u32 msg = idx;	/* idx itself stays in a register, bounded */

			woken[idx] = 1;
			bpf_ringbuf_output(&wake, &msg, sizeof(msg), BPF_RB_FORCE_WAKEUP);
		}
		return;
	}
	if (err == -17) {	/* EEXIST: another CPU added the key first */
		val = bpf_map_lookup_elem(counts, key);
		if (val) {
			__sync_fetch_and_add(&val->count, 1);
			st->v[DP_STAT_STORED]++;
			return;
		}
	}
	st->v[DP_STAT_DROP_COUNTS_FULL]++;
}

/* Chains of at most this many words are copied into a log entry by direct loads. */
#define DP_DIRECT_COPY	24

/* Room for an entry of nr words in this CPU's log, or NULL: dropped, counted. */
static __always_inline struct dp_log_entry *log_reserve(struct dp_stats *st, struct dp_log **logp,
							__u32 cpu, __u64 nr)
{
	struct dp_log *log = bpf_map_lookup_elem(&logs, &cpu);
	__u64 head;

	if (!log) {
		st->v[DP_STAT_DROP_LOG_FULL]++;
		return NULL;
	}
	head = log->head;
	if (head - log->tail + DP_LOG_ENTRY_BYTES(nr) > DP_LOG_BYTES) {
		st->v[DP_STAT_DROP_LOG_FULL]++;
		return NULL;
	}
	*logp = log;
	return (struct dp_log_entry *)&log->data[head & (DP_LOG_BYTES - 8)];
}

/* The header, then the head that shows the entry; user space is woken at half full. */
static __always_inline void log_commit(struct dp_stats *st, struct dp_log *log,
				       struct dp_log_entry *e, const struct dp_sample_key *key,
				       __u64 nr, __u64 kfirst, __u64 knr)
{
	__u64 bytes = DP_LOG_ENTRY_BYTES(nr), used;

	if (key->flags & DP_KEY_LEAF)
		bytes += sizeof(struct dp_leaf);
	used = log->head + bytes - log->tail;

	e->pid = key->pid;
	e->tid = key->tid;
	e->flags = key->flags;
	e->nr = nr;
	e->kfirst = kfirst;
	e->knr = knr;
	e->cookie = key->cookie;
	/*
	 * The entry is written before the head moves. One writer per CPU log
	 * (the kernel does not nest a program on its own CPU), so on x86, whose
	 * stores are not reordered with other stores, a compiler barrier and a
	 * plain store publish it; elsewhere an atomic, a full barrier.
	 */
#if defined(__TARGET_ARCH_x86)
	asm volatile("" ::: "memory");
	*(volatile __u64 *)&log->head = log->head + bytes;
#else
	__sync_fetch_and_add(&log->head, bytes);
#endif
	st->v[DP_STAT_STORED]++;
	if (used >= DP_LOG_BYTES / 2 && !log->woken) {
		__u32 msg = 2 + key->cpu;

		log->woken = 1;
		bpf_ringbuf_output(&wake, &msg, sizeof(msg), BPF_RB_FORCE_WAKEUP);
	}
}

/* A capture from a page the gate has no entry for: user space is woken to learn when they come fast. */
static __always_inline void count_unlearned(struct dp_log *log, __u32 cpu)
{
	__u64 n = ++log->unlearned;

	if (n == 1) {
		log->unlearned_t0 = bpf_ktime_get_ns();
	} else if (n == DP_GATE_WAKE_AT) {
		__u32 msg = DP_WAKE_LEARN + cpu;

		if (bpf_ktime_get_ns() - log->unlearned_t0 > DP_GATE_WAKE_NS)
			log->unlearned = 0;	/* too slow to repay a wake-up: start over */
		else
			bpf_ringbuf_output(&wake, &msg, sizeof(msg), BPF_RB_FORCE_WAKEUP);
	}
}

/*
 * The task's user IP and the top DP_LEAF_WORDS words at its user SP, into
 * out: the sample's own registers when it was taken in user mode, else
 * those saved when the task entered the kernel. 0 when there are none (a
 * kernel thread), when the leaf gate says the repair has no use for them
 * there (counted), or when the words cannot be read (counted):
 * bpf_probe_read_user() does not fault pages in.
 */
static __always_inline int leaf_capture(struct dp_stats *st, struct bpf_perf_event_data *ctx,
					struct dp_log *log, const struct dp_sample_key *key,
					struct dp_leaf *out)
{
	__u32 tgid = key->pid;
	__u64 ip, sp;

	/*
	 * Whole words: the verifier refuses narrower loads of the context's
	 * registers. The barriers keep clang from merging the loads of both
	 * branches into one through a selected pointer, which the verifier
	 * refuses for the context.
	 */
	if ((*(volatile __u64 *)&ctx->regs.cs & 3) == 3) {
		ip = ctx->regs.ip;
		sp = ctx->regs.sp;
		barrier_var(ip);
		barrier_var(sp);
	} else {
		struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

		if (!r || (r->cs & 3) != 3)
			return 0;
		ip = r->ip;
		sp = r->sp;
		barrier_var(ip);
		barrier_var(sp);
	}
	if (!(ip >> DP_GATE_ADDR_BITS)) {
		__u64 win = DP_GATE_WINDOW(tgid, ip), gen = *(volatile __u64 *)&gate_gen;
		__u64 word;

		/* A hot loop asks about the same 64 bytes again and again: no lookup then. */
		if (log->gate_window == win && log->gate_gen == gen) {
			word = log->gate_word;
		} else {
			__u64 gk = DP_GATE_KEY(tgid, ip);
			struct dp_gate_page *g = bpf_map_lookup_elem(&leafgate, &gk);

			if (!g) {	/* not worked out (yet): the words are read */
				if (learn_wake)
					count_unlearned(log, key->cpu);
				goto read;
			}
			word = g->bits[(ip >> 6) & (DP_GATE_WORDS - 1)];
			log->gate_window = win;
			log->gate_gen = gen;
			log->gate_word = word;
		}
		if (!((word >> (ip & 63)) & 1)) {
			st->v[DP_STAT_LEAF_GATED]++;
			return 0;
		}
	}
read:
	out->ip = ip;
	if (bpf_probe_read_user(out->words, sizeof(out->words), (const void *)sp)) {
		st->v[DP_STAT_LEAF_READ_FAIL]++;
		return 0;
	}
	st->v[DP_STAT_LEAF]++;
	return 1;
}

/*
 * The fast path of every chain that fits a log entry: the prepared chain is
 * copied straight into the log, where its last two words are checked for
 * the deferred marker and the cookie. One copy, no hashing, no map update.
 * A deferred entry names its kernel part; any other chain (classic or
 * kernel-only) is logged whole, markers included, for user space to split.
 * With want_leaf, a struct dp_leaf follows the chain: with every classic
 * chain, and with the first deferred sample of a kernel entry on this CPU
 * (its user registers do not change until the entry returns, and the join
 * keeps them with the entry). Returns 1 when the sample is done with
 * (logged, or dropped and counted), 0 when there is no chain to read: the
 * caller counts that.
 */
static __always_inline int log_chain(struct dp_stats *st, struct bpf_perf_event_data *ctx,
				     struct dp_sample_key *key,
				     const struct perf_callchain_entry *cc, __u64 nr)
{
	struct dp_log_entry *e;
	struct dp_log *log;
	__u64 n = nr & 0xff, kfirst, cookie;

	e = log_reserve(st, &log, key->cpu, want_leaf ? n + DP_LEAF_NR : n);
	if (!e)
		return 1;
	/*
	 * Short chains (every CPU-bound deferred sample, [USER_DEFERRED,
	 * cookie], and most kernel parts) by direct loads: the verifier allows
	 * constant offsets into the flexible array, and a load and a store a
	 * word cost less than the helper's call and its per-word loop.
	 */
	if (!n)
		return 0;
	if (n <= DP_DIRECT_COPY) {
#pragma unroll
		for (int i = 0; i < DP_DIRECT_COPY; i++) {
			if (i >= n)
				break;
			e->ips[i] = cc->ip[i];
		}
	} else if (bpf_probe_read_kernel(e->ips, n * sizeof(__u64), &cc->ip[0])) {
		return 0;
	}
	if (!deferred_mode || n < 2 || e->ips[(n - 2) & 0xff] != DP_CONTEXT_USER_DEFERRED) {
		key->flags |= DP_KEY_CHAIN;
		if (want_leaf && leaf_capture(st, ctx, log, key, (struct dp_leaf *)&e->ips[n]))
			key->flags |= DP_KEY_LEAF;
		log_commit(st, log, e, key, n, 0, n);
		return 1;
	}
	kfirst = e->ips[0] == DP_CONTEXT_KERNEL;
	cookie = e->ips[(n - 1) & 0xff];
	key->cookie = cookie;
	key->flags |= DP_KEY_DEFERRED;
	st->v[DP_STAT_DEFERRED]++;
	if (want_leaf && log->leaf_cookie != cookie) {
		log->leaf_cookie = cookie;
		if (leaf_capture(st, ctx, log, key, (struct dp_leaf *)&e->ips[n]))
			key->flags |= DP_KEY_LEAF;
	}
	log_commit(st, log, e, key, n, kfirst, want_kernel ? n - 2 - kfirst : 0);
	return 1;
}

/* A deferred sample from scratch (a kernel part too long for the fast path, truncated). */
static __always_inline void log_part(struct dp_stats *st, struct dp_sample_key *key,
				     struct scratch *s, __u64 first, __u64 n)
{
	struct dp_log_entry *e;
	struct dp_log *log;

	n &= 0xff;
	e = log_reserve(st, &log, key->cpu, n);
	if (!e)
		return;
	if (n && bpf_probe_read_kernel(e->ips, n * sizeof(__u64), &s->buf[DP_SLOT(first)])) {
		st->v[DP_STAT_DROP_NO_CHAIN]++;
		return;
	}
	log_commit(st, log, e, key, n, 0, n);
}

/* Each map at its own call site, so the verifier can inline both lookups. */
static __always_inline void count_sample(struct dp_stats *st, struct dp_sample_key *key)
{
	if (active & 1)
		count_in(&counts1, 1, st, key);
	else
		count_in(&counts0, 0, st, key);
}

/*
 * The chain is at buf[1..nr]. Chains are [KERNEL, k...] followed by nothing
 * (kernel threads), by [USER, u...] (classic) or by [USER_DEFERRED, cookie]
 * (deferred). Stores the parts, counts the sample.
 */
static __always_inline int split_and_count(struct dp_stats *st, struct scratch *s, __u64 nr,
					   struct dp_sample_key *key)
{
	__u64 kstart = 1, mark, n, kn = 0;	/* buf indices */
	__u64 marker = 0;

	if (nr > DP_MAX_CHAIN)
		nr = DP_MAX_CHAIN;
	mark = nr + 1;
	if (s->buf[1] == DP_CONTEXT_KERNEL)
		kstart = 2;
	/* Deferred: the marker and the cookie always end the chain. */
	if (deferred_mode && nr >= 2) {
		__u64 di = nr - 1;

		barrier_var(di);
		if (di < DP_SCRATCH_SLOTS && s->buf[di] == DP_CONTEXT_USER_DEFERRED) {
			marker = DP_CONTEXT_USER_DEFERRED;
			mark = di;
		}
	}
	/*
	 * Classic and kernel-only chains that fit the store are stored whole,
	 * markers included, as one stack: one hash pass, one lookup, no scan
	 * for the user marker. User space splits them once per distinct chain.
	 */
	if (!marker && nr <= DP_MAX_STACK) {
		key->kstack_id = stack_intern(st, s, 1, nr, DP_STACK_CHAIN);
		key->flags |= DP_KEY_CHAIN;
		if (!key->kstack_id) {
			key->flags |= DP_KEY_KSTACK_LOST;
			st->v[DP_STAT_KSTACK_FULL]++;
		}
		count_sample(st, key);
		return pass_samples ? 1 : 0;
	}
	if (!marker) {
		struct loop_ctx c = { .s = s, .base = kstart, .end = nr + 1 };
		__u64 found;

#pragma unroll
		for (int k = 1; k < DP_STEP_WORDS; k++)
			s->buf[DP_SLOT(nr + k)] = 0;	/* the last scan step's overrun */

		/*
		 * The scan leaves the marker's index in buf[0] (free until the
		 * kernel part's header goes there): read back from the map, it
		 * is one unknown value to the verifier, not one precise value
		 * per word of a step, each of which it would verify the rest of
		 * the program with.
		 */
		s->buf[0] = ~0ULL;
		if (bpf_loop(steps(nr + 1 - kstart), scan_step, &c, 0) < 0) {
			st->v[DP_STAT_DROP_NO_CHAIN]++;	/* cannot happen; never silent */
			return pass_samples ? 1 : 0;
		}
		found = s->buf[0];
		if (found < DP_SCRATCH_SLOTS) {
			mark = found;
			marker = s->buf[mark];
		}
	}

	/* The kernel part: buf[kstart..mark). */
	if (mark > kstart && want_kernel) {
		n = mark - kstart;
		if (n > DP_MAX_STACK) {
			n = DP_MAX_STACK;
			key->flags |= DP_KEY_KTRUNC;
			st->v[DP_STAT_KTRUNC]++;
		}
		kn = n;
		if (marker != DP_CONTEXT_USER_DEFERRED) {
			key->kstack_id = stack_intern(st, s, kstart, n, DP_STACK_KERNEL);
			if (!key->kstack_id) {
				key->flags |= DP_KEY_KSTACK_LOST;
				st->v[DP_STAT_KSTACK_FULL]++;
			}
		}
	}

	if (marker == DP_CONTEXT_USER_DEFERRED) {
		__u64 ci = mark + 1;

		/* Keep clang from re-deriving the index: the verifier must see the bound. */
		barrier_var(ci);
		if (ci <= nr && ci < DP_SCRATCH_SLOTS) {
			key->cookie = s->buf[ci];
			key->flags |= DP_KEY_DEFERRED;
			st->v[DP_STAT_DEFERRED]++;
			log_part(st, key, s, kstart, kn);
			return pass_samples ? 1 : 0;
		}
	} else if (marker == DP_CONTEXT_USER) {
		/* The classic user part: buf[mark + 1..nr]. */
		n = nr > mark ? nr - mark : 0;
		key->flags |= DP_KEY_USER_INLINE;
		if (n > DP_MAX_STACK) {
			n = DP_MAX_STACK;
			key->flags |= DP_KEY_UTRUNC;
			st->v[DP_STAT_UTRUNC]++;
		}
		if (want_user && n) {
			key->ustack_id = stack_intern(st, s, mark + 1, n, DP_STACK_USER);
			if (!key->ustack_id) {
				key->flags |= DP_KEY_USTACK_LOST;
				st->v[DP_STAT_USTACK_FULL]++;
			}
		}
	}
	count_sample(st, key);
	return pass_samples ? 1 : 0;
}

/* The CPU's counters, the sample counted, the key's thread and CPU; NULL if no counters. */
static __always_inline struct dp_stats *begin(struct dp_sample_key *key)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct dp_stats *st;
	__u32 zero = 0;

	st = bpf_map_lookup_elem(&stats, &zero);
	if (!st)
		return NULL;
	st->v[DP_STAT_SAMPLES]++;
	__builtin_memset(key, 0, sizeof(*key));
	key->pid = pid_tgid >> 32;
	key->tid = (__u32)pid_tgid;
	key->cpu = bpf_get_smp_processor_id();
	return st;
}

/* The per-CPU scratch buffer: only the slow paths need it. */
static __always_inline struct scratch *scratch_buf(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

/*
 * Build the chain at buf[1..] with bpf_get_stack(). On kernels with
 * deferred chains the "kernel" part it returns ends with the deferred marker
 * and the cookie (kernel/bpf/stackmap.c only splits at PERF_CONTEXT_USER),
 * which split_and_count() finds there as in a prepared chain.
 */
static __always_inline __u64 helper_chain(struct dp_stats *st, void *ctx, struct scratch *s)
{
	long kn, un;
	__u64 nr = 1, at;

	st->v[DP_STAT_HELPER_CHAIN]++;
	s->buf[1] = DP_CONTEXT_KERNEL;
	kn = bpf_get_stack(ctx, &s->buf[2], DP_MAX_STACK * sizeof(__u64), 0);
	if (kn > 0)
		nr += (__u64)kn / sizeof(__u64);
	at = nr + 1;	/* the user marker's slot */
	barrier_var(at);
	if (at > DP_MAX_STACK + 2)
		return nr;
	s->buf[at] = DP_CONTEXT_USER;
	un = bpf_get_stack(ctx, &s->buf[at + 1], DP_MAX_STACK * sizeof(__u64), BPF_F_USER_STACK);
	if (un > 0)
		nr += 1 + (__u64)un / sizeof(__u64);
	return nr;
}

SEC("perf_event")
int dp_sample_kctx(struct bpf_perf_event_data *ctx)
{
	struct bpf_perf_event_data_kern *kctx;
	struct perf_sample_data *data;
	struct perf_callchain_entry *cc;
	struct dp_sample_key key;
	struct dp_stats *st;
	struct scratch *s;
	__u64 nr = 0, sflags = PERF_SAMPLE_CALLCHAIN;

	st = begin(&key);
	if (!st)
		return pass_samples ? 1 : 0;

	/*
	 * Direct loads through the kernel context (BTF pointers, CO-RE
	 * relocated): no helper call per field. Only a chain longer than
	 * DP_DIRECT_COPY words is copied with bpf_probe_read_kernel().
	 */
	kctx = bpf_cast_to_kern_ctx(ctx);
	data = kctx->data;
	cc = data->callchain;
	if (bpf_core_field_exists(struct perf_sample_data, sample_flags))
		sflags = data->sample_flags;
	if (cc && (sflags & PERF_SAMPLE_CALLCHAIN) && !force_helper_chain) {
		nr = cc->nr;
		if (nr <= DP_LOG_MAX_NR && log_chain(st, ctx, &key, cc, nr))
			return pass_samples ? 1 : 0;
		s = scratch_buf();
		if (!s)
			return pass_samples ? 1 : 0;
		if (nr > DP_MAX_CHAIN)
			nr = DP_MAX_CHAIN;
		barrier_var(nr);
		if (nr > DP_MAX_CHAIN ||
		    bpf_probe_read_kernel(&s->buf[1], (nr & 0x1ff) * sizeof(__u64), &cc->ip[0]))
			nr = 0;
	} else {
		s = scratch_buf();
		if (!s)
			return pass_samples ? 1 : 0;
		nr = helper_chain(st, ctx, s);
	}
	if (!nr) {
		st->v[DP_STAT_DROP_NO_CHAIN]++;
		return pass_samples ? 1 : 0;
	}
	return split_and_count(st, s, nr, &key);
}

/* For kernels without bpf_cast_to_kern_ctx() (< 6.2): helpers only. */
SEC("perf_event")
int dp_sample_helper(struct bpf_perf_event_data *ctx)
{
	struct dp_sample_key key;
	struct dp_stats *st;
	struct scratch *s;
	__u64 nr;

	st = begin(&key);
	s = scratch_buf();
	if (!st || !s)
		return pass_samples ? 1 : 0;
	nr = helper_chain(st, ctx, s);
	if (nr <= 1) {
		st->v[DP_STAT_DROP_NO_CHAIN]++;
		return pass_samples ? 1 : 0;
	}
	return split_and_count(st, s, nr, &key);
}
