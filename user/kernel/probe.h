/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Feature detection, in one place, at start-up. Every check is real: it opens
 * perf events, loads tiny BPF programs and reads the kernel's BTF; nothing
 * is read from version numbers. The sampling program itself is verified
 * only once, by the session.
 */
#ifndef DP_PROBE_H
#define DP_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct dp_probe {
	bool root, cap_bpf, cap_perfmon, cap_sys_admin;
	int paranoid;			/* /proc/sys/kernel/perf_event_paranoid, -99 if unknown */
	bool perf_sw;			/* a cpu-clock sampling event opens */
	int perf_sw_err;
	bool perf_hw;			/* a cycles sampling event opens */
	bool btf;			/* /sys/kernel/btf/vmlinux */
	bool prog_perf_event;		/* BPF_PROG_TYPE_PERF_EVENT loads */
	bool kctx;			/* the bpf_cast_to_kern_ctx() kfunc exists */
	bool helper_prog;		/* bpf_get_stack() is available to perf_event programs */
	bool bpf_loop;			/* bpf_loop() is (else: the bounded-loop object) */
	bool defer_open;		/* defer_callchain + defer_output accepted */
	int defer_err;
	bool full;			/* every check ran (--probe); else some are assumed */
	bool defer_live;		/* a deferred record was actually seen */
	long defer_live_records;	/* records seen during the live check */
	char kernel[128];
	uint64_t probe_ns;		/* how long the checks took */
};

/*
 * Run the checks. Never fails: each result says what is missing. full
 * (--probe) runs every check, including a live one that samples the caller
 * for up to 2 s to see a deferred record arrive; otherwise only what
 * decides the session's plan.
 */
void dp_probe__run(struct dp_probe *p, bool verbose, bool full);
/* Print one line per feature: what is there, what is missing and what it needs. */
void dp_probe__print(const struct dp_probe *p, FILE *f);
/* Deferred mode is possible. */
bool dp_probe__deferred_ok(const struct dp_probe *p);
/* Reason the BPF side cannot work, or NULL. */
const char *dp_probe__bpf_blocker(const struct dp_probe *p);

#endif
