// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "gatelearn.h"

/* The first gap before a round the program asked for. */
#define FIRST_GAP_NS	10000000ULL

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

int dp_gatelearn__open(struct dp_gatelearn *gl, const struct dp_leafgate_ops *ops,
		       struct dp_usyms *us, uint64_t max_gap_ns)
{
	memset(gl, 0, sizeof(*gl));
	gl->gate = dp_leafgate__new(ops, DP_GATE_PAGES);
	if (!gl->gate)
		return -ENOMEM;
	gl->us = us;
	gl->gap = FIRST_GAP_NS;
	gl->max_gap = max_gap_ns > FIRST_GAP_NS ? max_gap_ns : FIRST_GAP_NS;
	return 0;
}

void dp_gatelearn__free(struct dp_gatelearn *gl)
{
	dp_leafgate__free(gl->gate);
	gl->gate = NULL;
}

void dp_gatelearn__capture(struct dp_gatelearn *gl, uint32_t pid, uint64_t ip)
{
	struct dp_gate_page pg;
	uint32_t from = 0, to = 0;
	uint64_t t;

	/* Out of memory, the page stays unpublished: captures there go on as without the gate. */
	if (!gl->gate || dp_leafgate__seen(gl->gate, pid, ip, gl->round) != 1)
		return;
	t = mono_ns();
	/* In no known mapping (its record not read yet): nothing learned, counted again. */
	if (dp_usyms__leaf_span(gl->us, pid, ip, &pg, &from, &to))
		from = to = 0;
	(void)dp_leafgate__learn(gl->gate, pid, ip, &pg, from, to);	/* -ENOENT cannot be: seen above */
	t = mono_ns() - t;
	gl->ns += t;
	if (t > gl->max_ns)
		gl->max_ns = t;
}

void dp_gatelearn__asked(struct dp_gatelearn *gl, uint64_t now)
{
	if (!gl->gate)
		return;
	if (!gl->soon && gl->last_learn && now - gl->last_learn > 2 * gl->max_gap)
		gl->gap = FIRST_GAP_NS;	/* quiet for a while: new code got hot */
	gl->soon = true;
}

uint64_t dp_gatelearn__due(const struct dp_gatelearn *gl, uint64_t last_round)
{
	return gl->soon ? last_round + gl->gap : UINT64_MAX;
}

void dp_gatelearn__round_start(struct dp_gatelearn *gl, uint64_t now)
{
	gl->round = gl->soon;
	if (gl->soon) {
		gl->soon = false;
		gl->last_learn = now;
		gl->rounds++;
		gl->gap = gl->gap * 2 < gl->max_gap ? gl->gap * 2 : gl->max_gap;
	}
}

void dp_gatelearn__round_end(struct dp_gatelearn *gl)
{
	gl->round = false;
}

void dp_gatelearn__logs_read(struct dp_gatelearn *gl)
{
	if (gl->gate)	/* after the samples exited processes left in the logs */
		dp_leafgate__logs_read(gl->gate);
}

void dp_gatelearn__runinfo(const struct dp_gatelearn *gl, struct dp_runinfo *ri)
{
	const struct dp_leafgate_stats *gs;

	if (!gl->gate)
		return;
	gs = dp_leafgate__stats(gl->gate);
	ri->gate_pages = gs->written;
	ri->gate_refused = gs->refused;
}

void dp_gatelearn__say(const struct dp_gatelearn *gl)
{
	const struct dp_leafgate_stats *gs;

	if (!gl->gate)
		return;
	gs = dp_leafgate__stats(gl->gate);
	fprintf(stderr, "deferprof: leaf gate: %" PRIu64 " spans of %" PRIu64
		" pages worked out in %.2f ms (longest %.2f ms); %" PRIu64 " rounds asked for\n",
		gs->spans, gs->written, (double)gl->ns / 1e6, (double)gl->max_ns / 1e6, gl->rounds);
}
