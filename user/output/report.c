// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The human report: what ran, the accounting of every sample, top stacks and functions. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "output.h"

static double pct(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void header(FILE *f, const struct dp_runinfo *ri, const struct dp_profile *p)
{
	const struct dp_join_stats *j = &ri->join;
	const uint64_t *b = ri->bpf;

	fprintf(f, "deferprof: %s\n", ri->target);
	fprintf(f, "  mode:      %s%s\n", ri->mode,
		!strcmp(ri->mode, "deferred") ?
		" (user stacks from PERF_RECORD_CALLCHAIN_DEFERRED, kernel stacks aggregated in BPF)" :
		" (user stacks unwound in the interrupt; kernel lacks deferred callchains or --mode=classic)");
	fprintf(f, "  kernel:    %s\n", ri->kernel);
	if (ri->freq)
		fprintf(f, "  event:     %s at %" PRIu64 " Hz\n", ri->event, ri->freq);
	else
		fprintf(f, "  event:     %s every %" PRIu64 " events\n", ri->event, ri->period);
	fprintf(f, "  duration:  %.2f s (ended by %s)\n", ri->duration_s, ri->end_reason);
	if (ri->raw)	/* no BPF: a record the ring lost is (nearly always) a sample */
		fprintf(f, "  samples:   %" PRIu64 " = %" PRIu64 " in stacks + %" PRIu64
			" lost in the ring (--raw: every sample is a ring record; the few lost"
			" mmap/comm records are counted here too)\n",
			b[DP_STAT_SAMPLES] + ri->lost_records, p->total, ri->lost_records);
	else
		fprintf(f, "  samples:   %" PRIu64 " seen by BPF = %" PRIu64 " in stacks + %" PRIu64
			" dropped (counts map full %" PRIu64 ", sample log full %" PRIu64
			", no callchain %" PRIu64 ")\n",
			b[DP_STAT_SAMPLES], p->total, dp_runinfo__dropped(ri),
			b[DP_STAT_DROP_COUNTS_FULL], b[DP_STAT_DROP_LOG_FULL], b[DP_STAT_DROP_NO_CHAIN]);
	fprintf(f, "  stacks:    %" PRIu64 " = %" PRIu64 " deferred-joined + %" PRIu64
		" classic + %" PRIu64 " kernel-only + %" PRIu64 " user stack lost"
		" (task exited %" PRIu64 ", timeout %" PRIu64 ", at end %" PRIu64
		", evicted %" PRIu64 ", record lost in the ring %" PRIu64 ")\n",
		j->samples_in, j->joined, j->classic, j->kernel_only, dp_runinfo__user_lost(ri),
		j->lost_exited, j->lost_timeout, j->lost_at_end, j->lost_evicted, j->lost_ring);
	fprintf(f, "  records:   %" PRIu64 " deferred (%" PRIu64 " matched, %" PRIu64
		" without samples, %" PRIu64 " duplicate, %" PRIu64 " late); ring buffer lost %"
		PRIu64 " records in %" PRIu64 " events; %" PRIu64 " malformed\n",
		j->records, j->records_matched, j->records_unmatched, j->records_duplicate,
		j->records_late, ri->lost_records, ri->lost_events, ri->malformed);
	fprintf(f, "  ring:      %" PRIu64 " records, %" PRIu64 " bytes through the ring buffers%s\n",
		ri->ring_records, ri->ring_bytes,
		ri->raw_fallback ? " (no BPF aggregation: this kernel lacks bpf_loop(), Linux >= 5.17; every sample stitched in user space)" :
		ri->raw ? " (--raw: every sample, no BPF aggregation)" : "");
	if (ri->log_entries)
		fprintf(f, "  logs:      %" PRIu64 " samples, %" PRIu64
			" bytes through the per-CPU sample logs (shared memory)\n",
			ri->log_entries, ri->log_bytes);
	fprintf(f, "  truncated: kernel %" PRIu64 ", user %" PRIu64
		"; not stored (store full or allocation failed): kernel %" PRIu64 ", user %" PRIu64
		"; user chains cut at a [bad frame] %" PRIu64 "\n",
		b[DP_STAT_KTRUNC], b[DP_STAT_UTRUNC], b[DP_STAT_KSTACK_FULL],
		b[DP_STAT_USTACK_FULL], dp_profile__marker_samples(p, DP_BAD_FRAME));
	fprintf(f, "  store:     %" PRIu64 " distinct stacks in BPF at the end (chains too long for a"
		" log entry; capacity %" PRIu64 "), %" PRIu64 " read, %" PRIu64
		" aged out unused\n", ri->store_stacks, ri->store_capacity, ri->store_read,
		ri->store_aged);
	if (ri->leaf_repair) {
		fprintf(f, "  leaf:      %" PRIu64 " samples with a caller recovered in frameless code"
			" (leaf repair; the user stack's top read for %" PRIu64 ", not needed for %"
			PRIu64 " by %" PRIu64 " pages of code learned", j->leaf_recovered,
			b[DP_STAT_LEAF], b[DP_STAT_LEAF_GATED], ri->gate_pages);
		if (ri->gate_refused)
			fprintf(f, " (%" PRIu64 " more did not fit)", ri->gate_refused);
		fprintf(f, ", unreadable for %" PRIu64 ")\n", b[DP_STAT_LEAF_READ_FAIL]);
	}
	else
		fprintf(f, "  leaf:      repair off: callers of frameless code missing, as with perf -g\n");
	if (ri->bpf_run_cnt)
		fprintf(f, "  bpf:       %" PRIu64 " runs, %.0f ns per run (kernel BPF statistics)\n",
			ri->bpf_run_cnt, (double)ri->bpf_run_ns / (double)ri->bpf_run_cnt);
	if (ri->verify)
		fprintf(f, "  verify:    %" PRIu64 " samples stitched from raw records; %" PRIu64
			" stacks differ%s\n", ri->verify_raw_samples, ri->verify_diffs,
			!ri->verify_diffs ? " (ok)" : ri->lost_records ?
			" (not comparable: the ring buffer lost records; use a larger --ring-pages)" :
			" (FAILED)");
	for (uint32_t i = 0; i < p->nnofp; i++)
		fprintf(f, "  note:      %s looks built without frame pointers (%d of %d functions"
			" keep one); %" PRIu64 " samples have user stacks ending in it early\n",
			p->nofp[i].module, p->nofp[i].funcs_with_fp, p->nofp[i].funcs_checked,
			p->nofp[i].samples);
}

struct funcs_ctx {
	const struct dp_profile *p;
	int self;
};

static int cmp_funcs(const void *a, const void *b, void *arg)
{
	const struct funcs_ctx *c = arg;
	const struct dp_frame *x = &c->p->frames[*(const uint32_t *)a];
	const struct dp_frame *y = &c->p->frames[*(const uint32_t *)b];
	uint64_t vx = c->self ? x->self : x->total, vy = c->self ? y->self : y->total;

	if (vx != vy)
		return vx > vy ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void funcs(FILE *f, const struct dp_profile *p, int self, uint32_t top)
{
	uint32_t *idx = malloc((p->nframes ? p->nframes : 1) * sizeof(*idx)), n = 0;
	struct funcs_ctx c = { .p = p, .self = self };

	if (!idx)
		return;
	for (uint32_t i = 0; i < p->nframes; i++)
		if (self ? p->frames[i].self : p->frames[i].total)
			idx[n++] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_funcs, &c);
	fprintf(f, "\nTop functions by %s samples:\n", self ? "self" : "total");
	fprintf(f, "  %8s %6s  %-2s %-40s %s\n", "samples", "pct", "", "function", "module");
	for (uint32_t i = 0; i < n && i < top; i++) {
		const struct dp_frame *fr = &p->frames[idx[i]];
		uint64_t v = self ? fr->self : fr->total;

		fprintf(f, "  %8" PRIu64 " %5.1f%%  %-2s %-40s %s\n", v, pct(v, p->total),
			fr->marker ? "" : fr->kernel ? "k" : "u", fr->name,
			fr->module ? fr->module : "");
	}
	free(idx);
}

int dp_report__write(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri,
		     const struct dp_report_opts *opts)
{
	uint32_t top_stacks = opts && opts->top_stacks ? opts->top_stacks : 10;
	uint32_t top_funcs = opts && opts->top_funcs ? opts->top_funcs : 20;
	struct dp_export x;
	uint32_t *buf;
	int err;

	header(f, ri, p);
	if (!p->total) {
		fprintf(f, "\nNo samples. Is the target using CPU?\n");
		return ferror(f) ? -EIO : 0;
	}
	err = dp_export__build(&x, p);
	if (err)
		return err;
	buf = malloc((x.max_frames + 1) * sizeof(*buf));
	if (!buf) {
		dp_export__free(&x);
		return -ENOMEM;
	}
	fprintf(f, "\nTop stacks (%u distinct, leaf first):\n", x.nstacks);
	for (uint32_t i = 0; i < x.nstacks && i < top_stacks; i++) {
		const struct dp_xstack *xs = &x.stacks[i];
		const uint32_t *frs = dp_export__stack_frames(&x, xs, buf);

		fprintf(f, "  #%u  %" PRIu64 " samples (%.1f%%)\n", i + 1, xs->count,
			pct(xs->count, p->total));
		for (uint32_t k = xs->nframes; k-- > 0;) {
			const struct dp_frame *fr = dp_export__frame(&x, frs[k]);

			bool bracket = fr->module && fr->module[0] != '[';

			fprintf(f, "      %s %s%s%s%s%s\n", fr->marker ? " " : fr->kernel ? "k" : "u",
				fr->name, fr->module ? " " : "", bracket ? "[" : "",
				fr->module ? fr->module : "", bracket ? "]" : "");
		}
	}
	free(buf);
	dp_export__free(&x);
	funcs(f, p, 1, top_funcs);
	funcs(f, p, 0, top_funcs);
	return ferror(f) ? -EIO : 0;
}
