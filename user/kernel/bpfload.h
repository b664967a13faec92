/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Loading the sampling program, once per run: picks the program (prepared
 * callchain or bpf_get_stack()) from the probe's findings, sizes the maps,
 * and falls back to the helper-only program when the first choice does not
 * load.
 */
#ifndef DP_BPFLOAD_H
#define DP_BPFLOAD_H

#include "collect.h"
#include "probe.h"

struct deferprof_bpf;
struct bpf_program;

struct dp_bpf {
	struct deferprof_bpf *skel;
	struct bpf_program *prog;	/* the program to attach */
};

/*
 * deferred: the session's mode (the program looks for deferred chains only
 * then). Errors print one line to stderr and return a negative errno.
 */
int dp_bpf__load(struct dp_bpf *b, const struct dp_collect_opts *o, const struct dp_probe *pr,
		 bool deferred);
void dp_bpf__free(struct dp_bpf *b);

#endif
