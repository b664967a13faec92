/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The leaf gate's user side (the map is described in deferprof.h). The
 * program reads the user stack's top words, for the leaf repair, only
 * where the repair could use them; it learns where from pages published
 * here. User space counts the captures that come from each page of each
 * process, from bytes not worked out yet; at DP_GATE_LEARN_AT captures
 * (DP_GATE_LEARN_EAGER in a round the program asked for) it works out the
 * span of code around the last one (its function as the unwind tables
 * delimit it: dp_usyms__leaf_span) and publishes the page, every byte not
 * worked out yet set (read as before). A span costs a few microseconds, a
 * capture a few hundred nanoseconds: code sampled a few times (start-up
 * code, a short run at 99 Hz) costs nothing but the counting.
 *
 * A round costs about as much as a span. The program wakes the reader
 * only when DP_GATE_WAKE_AT captures on a CPU came from pages without an
 * entry within DP_GATE_WAKE_NS (deferprof.h); that round works spans out
 * eagerly, so that code sampled that fast is learned within milliseconds
 * (engine/gatelearn.c spaces such rounds out). Only pages without an
 * entry wake it: a second hot function on a page already published is
 * learned in the rounds that come anyway, as is code sampled more slowly.
 * Pages are forgotten when the code under them may change: a new
 * executable mapping over them, an exec, a fork (a reused pid), an exit.
 *
 * Until its span is worked out a capture is taken as before. A page
 * forgotten late (its record read after new code ran there) can only skip
 * captures the new code needed: some samples then keep a frameless
 * function without its caller, as perf -g shows them. No name is ever
 * wrong because of the gate. A page in no known mapping (its record not
 * read yet) is not worked out; its count starts again. Anonymous code
 * (JIT) is worked out as "no bit set": the repair needs an object's
 * call-frame information, which it has not.
 *
 * An exit is read from the rings before the logs holding the process's
 * last samples, which would publish its pages again: they are forgotten
 * after the next read of the logs (dp_leafgate__logs_read).
 *
 * When the map is full, new pages are not published (counted).
 *
 * The map is written through ops, so unit tests drive the bookkeeping with
 * a fake.
 */
#ifndef DP_LEAFGATE_H
#define DP_LEAFGATE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "deferprof.h"

/* Entries of the program's map: 64 MiB of sampled code pages. */
#define DP_GATE_PAGES	16384
/*
 * Captures from a page's bytes not worked out before a span is worked out
 * (see above): EAGER in a round the program asked for because captures
 * came fast (DP_GATE_WAKE_AT), AT in any other round.
 */
#define DP_GATE_LEARN_EAGER	32
#define DP_GATE_LEARN_AT	512

struct dp_leafgate_ops {
	/* Put one page's value under key (DP_GATE_KEY): 0 or -errno (-E2BIG: map full). */
	int (*write)(void *ctx, uint64_t key, const struct dp_gate_page *pg);
	/* Delete key: 0 or -errno (-ENOENT when not there). */
	int (*erase)(void *ctx, uint64_t key);
	void *ctx;
};

struct dp_leafgate_stats {
	uint64_t written;	/* pages published */
	uint64_t spans;		/* spans worked out and published (several per page) */
	uint64_t refused;	/* writes the map did not take (full, or an error): captured as before */
	uint64_t erased;	/* pages taken out again */
};

struct dp_leafgate;

/* NULL on allocation failure. capacity: the map's entries. */
struct dp_leafgate *dp_leafgate__new(const struct dp_leafgate_ops *ops, uint32_t capacity);
void dp_leafgate__free(struct dp_leafgate *g);

/* Whether the gate can hold addr of pid at all (the key's bits). */
bool dp_leafgate__fits(uint32_t pid, uint64_t addr);
/*
 * A capture came from addr of pid: counted, unless addr's byte is worked
 * out already (its capture was needed). 1 when addr's span is to be worked
 * out now (then dp_leafgate__learn): at DP_GATE_LEARN_EAGER captures when
 * eager, else at DP_GATE_LEARN_AT; 0 when not, -ENOMEM.
 */
int dp_leafgate__seen(struct dp_leafgate *g, uint32_t pid, uint64_t addr, bool eager);
/*
 * The bytes [from, to) of addr's page worked out (their bits in bits, at
 * their places in the page): kept, and the page published with every byte
 * not worked out yet set. The page's count starts again. 0, or -ENOENT
 * when the page was not seen.
 */
int dp_leafgate__learn(struct dp_leafgate *g, uint32_t pid, uint64_t addr,
		       const struct dp_gate_page *bits, uint32_t from, uint32_t to);
/* Forget pid's pages that overlap [start, end). */
void dp_leafgate__forget_range(struct dp_leafgate *g, uint32_t pid, uint64_t start, uint64_t end);
/* Forget every page of pid. */
void dp_leafgate__forget_pid(struct dp_leafgate *g, uint32_t pid);
/*
 * pid exited: its pages are forgotten at the next dp_leafgate__logs_read(),
 * after the samples it left in the program's logs (which would publish
 * its pages again) have been read.
 */
void dp_leafgate__exited(struct dp_leafgate *g, uint32_t pid);
void dp_leafgate__logs_read(struct dp_leafgate *g);
const struct dp_leafgate_stats *dp_leafgate__stats(const struct dp_leafgate *g);

#endif
