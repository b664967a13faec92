/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types shared by the BPF sampling program and user space.
 * Only fixed-size types: this header is compiled by clang -target bpf and by
 * the host C compiler, and both must agree on every layout.
 */
#ifndef DEFERPROF_H
#define DEFERPROF_H

/* Longest stack part (kernel or user) kept per sample; perf's own default. */
#define DP_MAX_STACK		127
/* A raw callchain holds both parts plus up to a few context markers. */
#define DP_MAX_CHAIN		(2 * DP_MAX_STACK + 8)

/* Callchain context markers (include/uapi/linux/perf_event.h). */
#define DP_CONTEXT_HV			((__u64)-32)
#define DP_CONTEXT_KERNEL		((__u64)-128)
#define DP_CONTEXT_USER			((__u64)-512)
#define DP_CONTEXT_USER_DEFERRED	((__u64)-640)
#define DP_CONTEXT_GUEST		((__u64)-2048)
#define DP_CONTEXT_GUEST_KERNEL		((__u64)-2176)
#define DP_CONTEXT_GUEST_USER		((__u64)-2560)
#define DP_CONTEXT_MAX			((__u64)-4095)

/* dp_sample_key.flags */
#define DP_KEY_USER_INLINE	0x1	/* user stack taken in the interrupt (classic) */
#define DP_KEY_DEFERRED		0x2	/* user stack will come as a deferred record */
#define DP_KEY_KSTACK_LOST	0x4	/* kernel part present but could not be stored */
#define DP_KEY_USTACK_LOST	0x8	/* classic user part present but could not be stored */
#define DP_KEY_KTRUNC		0x10	/* kernel part longer than DP_MAX_STACK */
#define DP_KEY_UTRUNC		0x20	/* user part longer than DP_MAX_STACK */
#define DP_KEY_CHAIN		0x40	/* kstack_id is the whole chain, context markers included */
#define DP_KEY_LEAF		0x80	/* a log entry: struct dp_leaf follows ips[nr] */

/*
 * What the leaf repair needs (user/symbols/leafrepair.c): the user IP and
 * the top words of the user stack when the sample was taken. A function
 * that has not set up its frame (a libc syscall wrapper, a gcc leaf, a
 * prologue or an epilogue) keeps its return address there, at an offset
 * its call-frame information gives; frame-pointer unwinding skips it.
 * Six words reach a return address 40 bytes above SP: glibc's
 * cancellable system-call wrappers (read, write, futex...) in a
 * multi-threaded process keep a 0x28-byte frame around the call.
 * Deferred chains carry it once per kernel entry (the first sample of a
 * cookie on a CPU), classic chains with every sample.
 */
#define DP_LEAF_WORDS		6
struct dp_leaf {
	__u64 ip;
	__u64 words[DP_LEAF_WORDS];	/* words[i] = *(u64 *)(sp + 8 * i) */
};
#define DP_LEAF_NR		(sizeof(struct dp_leaf) / 8)

/*
 * The leaf gate: where in a process's code a struct dp_leaf can be of use.
 * The repair needs one only where the sampled function keeps its return
 * address at an SP-based place its call-frame information gives; in a
 * function whose frame is set up (most of most code), frame-pointer
 * unwinding already finds the caller. User space publishes, per process and
 * 4 KiB page of code (DP_GATE_KEY), one bit per byte: set when that
 * address is such a place, once the page was sampled often enough to be
 * worth working out (user/kernel/leafgate.h). The program reads the user
 * stack only for an IP whose bit is set or whose page has no entry.
 */
#define DP_GATE_PAGE_SHIFT	12
/*
 * Captures from pages without an entry at which one CPU's program wakes
 * user space to learn them, when they came within DP_GATE_WAKE_NS (2,000
 * a second): at lower rates a wake-up costs more than the reads it saves.
 */
#define DP_GATE_WAKE_AT		64
#define DP_GATE_WAKE_NS		32000000ULL
/* The wake ring's word for that: DP_WAKE_LEARN + the CPU (other words: a map or log to drain). */
#define DP_WAKE_LEARN		0x10000
#define DP_GATE_ADDR_BITS	47
#define DP_GATE_KEY(tgid, addr)	(((__u64)(tgid) << (DP_GATE_ADDR_BITS - DP_GATE_PAGE_SHIFT)) | \
				 ((__u64)(addr) >> DP_GATE_PAGE_SHIFT))
#define DP_GATE_WORDS		((1 << DP_GATE_PAGE_SHIFT) / 64)
/* The 64 bytes of code one word of bits covers, as a key (never 0 for user code of a process). */
#define DP_GATE_WINDOW(tgid, addr)	((DP_GATE_KEY(tgid, addr) << 6) | \
					 (((__u64)(addr) >> 6) & ((1 << (DP_GATE_PAGE_SHIFT - 6)) - 1)))
/*
 * Byte b of the page: bits[b / 64] >> (b % 64) & 1. Bytes, not larger
 * blocks: a system call's return point is often the byte before an epilogue.
 */
struct dp_gate_page {
	__u64 bits[DP_GATE_WORDS];
};

/*
 * A sample's key. On the in-kernel path (chains too long for a log entry,
 * kernels before 6.2) it keys the counts maps: samples of one thread with
 * the same kernel stack and user stack, or the same whole chain
 * (DP_KEY_CHAIN). Stack id 0 means "no such part". cookie and cpu go into
 * log entries.
 */
struct dp_sample_key {
	__u32 pid;
	__u32 tid;
	__u64 cookie;
	__u64 kstack_id;
	__u64 ustack_id;
	__u32 flags;
	__u32 cpu;
};

struct dp_sample_val {
	__u64 count;
};

/*
 * Deferred samples do not repeat: each kernel entry has its own cookie, so
 * a hash map would insert a new key for nearly every sample. They are
 * appended instead, chain and all, to a log per CPU (an mmapped array
 * element) that user space reads without a system call: one writer (the
 * program on that CPU, which cannot nest) and one reader per log. Copying
 * the chain costs the interrupt less than hashing and storing its kernel
 * part would; user space interns the stacks.
 *
 * head and tail count bytes. The program writes an entry at data[head %
 * DP_LOG_BYTES], running on into the slack past DP_LOG_BYTES when it
 * starts near the end (entries never wrap, so both sides see one piece),
 * then advances head; user space reads up to head and advances tail. An
 * entry that does not fit in the free space is dropped, counted.
 */
#define DP_LOG_BYTES		(1U << 20)	/* a power of two; per CPU */
#define DP_LOG_SLACK		4096		/* >= the largest entry */
#define DP_LOG_MAX_NR		(DP_MAX_STACK + 3)	/* kernel marker, part, marker, cookie */

struct dp_log_entry {
	__u32 pid;
	__u32 tid;
	__u32 flags;		/* DP_KEY_* */
	__u16 nr;		/* words in ips[] */
	__u16 kfirst;		/* the kernel part is ips[kfirst .. kfirst + knr) */
	__u16 knr;
	__u16 pad[3];
	__u64 cookie;
	__u64 ips[];		/* the callchain as the kernel prepared it */
};

/* Bytes of an entry with nr chain words (a multiple of 8), without its struct dp_leaf. */
#define DP_LOG_ENTRY_BYTES(nr)	(sizeof(struct dp_log_entry) + 8 * (__u64)(nr))

struct dp_log {
	__u64 head;		/* written by the program */
	__u64 woken;		/* the program sent the half-full word; user space clears it */
	__u64 leaf_cookie;	/* the program's: the last cookie it logged a struct dp_leaf with */
	/*
	 * The program's: the leaf gate's last answer on this CPU, one word of
	 * bits for 64 bytes of code (DP_GATE_WINDOW), valid while gate_gen
	 * (.bss, bumped by user space at every change of the map) is unchanged.
	 */
	__u64 gate_window, gate_gen, gate_word;
	/*
	 * Captures from pages the gate has no entry for since user space last
	 * read this log (it clears the count), and when the first of them was
	 * taken: at DP_GATE_WAKE_AT within DP_GATE_WAKE_NS the program wakes
	 * user space to learn them (leafgate.h); slower, the count starts over.
	 */
	__u64 unlearned, unlearned_t0;
	__u64 tail;		/* written by user space */
	__u64 pad1[7];
	__u8 data[DP_LOG_BYTES + DP_LOG_SLACK];
};

/* An entry of the stack store: innermost address first. */
#define DP_STACK_KERNEL		0
#define DP_STACK_USER		1
#define DP_STACK_CHAIN		2	/* a whole callchain, context markers included */

struct dp_stack {
	__u32 nr;
	__u32 user;		/* DP_STACK_* */
	__u64 ips[DP_MAX_STACK];
};

/* Indices of the stats array: every sample the program sees lands in one. */
enum dp_stat {
	DP_STAT_SAMPLES = 0,		/* program invocations */
	DP_STAT_STORED,			/* samples added to the counts map */
	DP_STAT_DROP_COUNTS_FULL,	/* counts map full: sample dropped */
	DP_STAT_DROP_NO_CHAIN,		/* no callchain in the sample: dropped */
	DP_STAT_KSTACK_FULL,		/* stack store full: kernel part lost (stored) */
	DP_STAT_USTACK_FULL,		/* stack store full: user part lost (stored) */
	DP_STAT_KTRUNC,			/* kernel part truncated (stored) */
	DP_STAT_UTRUNC,			/* user part truncated (stored) */
	DP_STAT_DEFERRED,		/* samples whose user part was deferred */
	DP_STAT_HELPER_CHAIN,		/* callchain taken with bpf_get_stack() */
	DP_STAT_NEW_STACKS,		/* stacks added to the store */
	DP_STAT_DROP_LOG_FULL,		/* this CPU's sample log full (reader behind): dropped */
	DP_STAT_LEAF,			/* samples logged with a struct dp_leaf */
	DP_STAT_LEAF_READ_FAIL,		/* the user stack's top words could not be read */
	DP_STAT_LEAF_GATED,		/* not read: the leaf gate says the repair has no use for them */
	DP_STAT_MAX,
};

/* The stats map's one per-CPU value. */
struct dp_stats {
	__u64 v[DP_STAT_MAX];
};

#endif /* DEFERPROF_H */
