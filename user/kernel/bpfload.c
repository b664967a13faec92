// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "deferprof.skel.h"
#include "bpfload.h"
#include "leafgate.h"
#include "say.h"

static int try_load(struct dp_bpf *b, const struct dp_collect_opts *o, bool deferred, bool kctx)
{
	struct deferprof_bpf *skel = deferprof_bpf__open();
	int err, ncpu;

	if (!skel)
		return -errno;
	skel->rodata->pass_samples = o->verify ? 1 : 0;
	skel->rodata->want_kernel = o->user_only ? 0 : 1;
	skel->rodata->want_user = o->kernel_only ? 0 : 1;
	skel->rodata->want_leaf = o->kernel_only || o->no_leaf_repair ? 0 : 1;
	skel->rodata->deferred_mode = deferred ? 1 : 0;
	skel->rodata->learn_wake = skel->rodata->want_leaf;
	/* Wake user space to drain when the active map is half full. */
	skel->rodata->wake_at = o->max_entries / 2 ? o->max_entries / 2 : 1;
	bpf_map__set_max_entries(skel->maps.counts0, o->max_entries);
	bpf_map__set_max_entries(skel->maps.counts1, o->max_entries);
	bpf_map__set_max_entries(skel->maps.stacks, o->max_stacks);
	bpf_map__set_max_entries(skel->maps.leafgate, DP_GATE_PAGES);
	ncpu = libbpf_num_possible_cpus();
	bpf_map__set_max_entries(skel->maps.logs, ncpu > 0 ? (__u32)ncpu : 1);
	bpf_program__set_autoload(kctx ? skel->progs.dp_sample_helper : skel->progs.dp_sample_kctx,
				  false);
	err = deferprof_bpf__load(skel);
	if (err) {
		deferprof_bpf__destroy(skel);
		return err;
	}
	b->skel = skel;
	b->prog = kctx ? skel->progs.dp_sample_kctx : skel->progs.dp_sample_helper;
	return 0;
}

int dp_bpf__load(struct dp_bpf *b, const struct dp_collect_opts *o, const struct dp_probe *pr,
		 bool deferred)
{
	int err;

	memset(b, 0, sizeof(*b));
	err = try_load(b, o, deferred, pr->kctx);
	/* The prepared callchain's reader may still be refused: the helpers then. */
	if (err && pr->kctx)
		err = try_load(b, o, deferred, false);
	if (err) {
		dp_say("cannot load the BPF program: %s (run with -v for the verifier's log)",
			strerror(-err));
		return err;
	}
	return 0;
}

void dp_bpf__free(struct dp_bpf *b)
{
	deferprof_bpf__destroy(b->skel);
	b->skel = NULL;
	b->prog = NULL;
}
