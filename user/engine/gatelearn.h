/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The session's side of the leaf gate (kernel/leafgate.h): the captures
 * that teach it, the rounds the program asks for to learn (spaced out),
 * and what learning cost (-v). The changes of code that make the gate
 * forget are the session's records, which call kernel/leafgate.h directly.
 */
#ifndef DP_GATELEARN_H
#define DP_GATELEARN_H

#include <stdbool.h>
#include <stdint.h>
#include "leafgate.h"
#include "runinfo.h"
#include "usyms.h"

struct dp_gatelearn {
	struct dp_leafgate *gate;	/* NULL: no leaf repair, nothing to learn */
	struct dp_usyms *us;
	/*
	 * The program asked for a round to learn (DP_WAKE_LEARN): it comes
	 * gap after the last round, a gap that doubles at each such round up
	 * to max_gap, so that a profile with many pages sampled a few times
	 * each does not bring a round every few samples. Asked again after
	 * twice max_gap without (code that got hot later), it starts over.
	 */
	bool soon, round;	/* asked for; the round running is one */
	uint64_t gap, max_gap;
	uint64_t last_learn;	/* when the last round asked for started (0: none yet) */
	uint64_t rounds;	/* rounds asked for (-v) */
	uint64_t ns, max_ns;	/* time spent working spans out, and the longest */
};

/* The gate on the program's map (ops: progmaps'). 0 or -ENOMEM. max_gap_ns: --drain-ms. */
int dp_gatelearn__open(struct dp_gatelearn *gl, const struct dp_leafgate_ops *ops,
		       struct dp_usyms *us, uint64_t max_gap_ns);
void dp_gatelearn__free(struct dp_gatelearn *gl);
/* A capture came from ip of pid (the current address space): counted, learned when due. */
void dp_gatelearn__capture(struct dp_gatelearn *gl, uint32_t pid, uint64_t ip);
/* The program asked for a round, at now (CLOCK_MONOTONIC ns). */
void dp_gatelearn__asked(struct dp_gatelearn *gl, uint64_t now);
/* When the round asked for is due (UINT64_MAX: none asked for). */
uint64_t dp_gatelearn__due(const struct dp_gatelearn *gl, uint64_t last_round);
/* A round starts at now: one asked for learns eagerly (leafgate.h). */
void dp_gatelearn__round_start(struct dp_gatelearn *gl, uint64_t now);
void dp_gatelearn__round_end(struct dp_gatelearn *gl);
/* The program's logs were read: exited processes' pages can go. */
void dp_gatelearn__logs_read(struct dp_gatelearn *gl);
void dp_gatelearn__runinfo(const struct dp_gatelearn *gl, struct dp_runinfo *ri);
/* -v: what was learned and what it cost, one line on stderr. */
void dp_gatelearn__say(const struct dp_gatelearn *gl);

#endif
