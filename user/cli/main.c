// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* deferprof: command line, set-up, and the report at the end. */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include "diffcmd.h"
#include "export.h"
#include "ksyms.h"
#include "symbolizer.h"
#include "launch.h"
#include "options.h"
#include "outfile.h"
#include "output.h"
#include "probe.h"
#include "profile.h"
#include "procfs.h"
#include "say.h"
#include "session.h"
#include "signals.h"
#include "top.h"
#include "usyms.h"
#include "version.h"
#include "writers.h"



static unsigned int verbose;

/*
 * libbpf's warnings (the verifier's log among them) with -v, its debug
 * messages with -vv: errors are reported by deferprof.
 */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!verbose || (level == LIBBPF_DEBUG && verbose < 2))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int demo_path(char *buf, size_t len)
{
	const char *env = getenv("DP_DEMO");
	char self[PATH_MAX];
	ssize_t n;

	if (env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -errno;
	self[n] = 0;
	snprintf(buf, len, "%s/deferprof-demo", dirname(self));
	return access(buf, X_OK) ? -errno : 0;
}

/* Every kernel symbol (top, ndjson: stacks keep coming), or those of the table's addresses. */
static struct dp_ksyms *load_ksyms(const struct dp_stack_table *t)
{
	uint64_t *addrs = NULL;
	size_t n = 0;
	struct dp_ksyms *ks;

	if (t && dp_stack_table__kernel_addrs(t, &addrs, &n))
		t = NULL;	/* out of memory for the list: every symbol, as before */
	ks = t ? dp_ksyms__load_for("/proc/kallsyms", addrs, n) : dp_ksyms__load("/proc/kallsyms");
	free(addrs);

	if (!ks)
		fprintf(stderr, "deferprof: cannot read /proc/kallsyms (%s): kernel frames stay as addresses\n", strerror(errno));
	else if (dp_ksyms__hidden(ks))
		fprintf(stderr, "deferprof: /proc/kallsyms hides addresses (kernel.kptr_restrict): kernel frames stay as addresses\n");
	return ks;
}

/*
 * Fork the demo or the command, held before exec until the events are open:
 * they enable themselves at its exec.
 */
static int start_target(const struct dp_opts *o, struct dp_launch *l)
{
	static char *demo_argv[] = { "deferprof-demo", NULL };
	char path[PATH_MAX];
	int err;

	if (o->target == DP_TARGET_DEMO && demo_path(path, sizeof(path))) {
		fprintf(stderr, "deferprof: cannot find the demo workload next to deferprof (%s): build it with make\n", path);
		return -ENOENT;
	}
	if (o->target == DP_TARGET_DEMO)
		err = dp_launch__start(l, path, demo_argv);
	else
		err = dp_launch__start(l, o->command[0], o->command);
	if (err)
		fprintf(stderr, "deferprof: cannot start %s: %s\n",
			o->target == DP_TARGET_DEMO ? path : o->command[0], strerror(-err));
	return err;
}

/*
 * The command's end: it ended by itself, or the profile ended first (-d, or
 * a signal). Ctrl-C reached the command's process group too: it gets a
 * moment to end by itself. SIGTERM and SIGHUP are passed on; after -d, it
 * is terminated as perf record does. Returns its status as a shell's.
 */
static int end_command(struct dp_launch *l)
{
	int sig = dp_stop_signal ? dp_stop_signal : SIGTERM;

	if (sig == SIGINT) {
		dp_launch__wait_ended(l, 2000);
		sig = SIGTERM;
	}
	return dp_launch__wait(l, dp_launch__ended(l) ? 0 : sig);
}

static void name_command(struct dp_runinfo *ri, char *const *argv, pid_t pid)
{
	size_t n = 0, cap = sizeof(ri->target);

	n += (size_t)snprintf(ri->target, cap, "command");
	for (char *const *a = argv; *a && n < cap; a++)
		n += (size_t)snprintf(ri->target + n, cap - n, " %s", *a);
	if (n < cap)
		snprintf(ri->target + n, cap - n, " (process %d)", (int)pid);
}

/* -f ndjson: each interval of the session becomes one line, as it ends. */
struct ndjson_ctx {
	struct dp_ndjson nd;
	struct dp_profile_opts popts;
};

static void set_target_comm(struct dp_runinfo *ri, const struct dp_comms *comms)
{
	const char *comm = ri->target_pid ? dp_comms__get(comms, ri->target_pid) : NULL;

	if (comm && !ri->target_comm[0])
		snprintf(ri->target_comm, sizeof(ri->target_comm), "%s", comm);
}

static int ndjson_tick(void *ctx, const struct dp_snapshot *snap)
{
	struct ndjson_ctx *c = ctx;
	struct dp_runinfo ri = *snap->ri;
	struct dp_profile p;
	int err;

	set_target_comm(&ri, snap->comms);
	err = dp_profile__build(&p, snap->delta, snap->sz, snap->comms, &c->popts);
	if (err)
		return err;
	err = dp_ndjson__interval(&c->nd, &p, &ri);
	dp_profile__free(&p);
	return err;
}

int main(int argc, char **argv)
{
	struct dp_session_result res;
	struct dp_profile prof;
	struct dp_opts o;
	struct dp_probe pr;
	struct dp_outfile ofs[DP_MAX_OUTPUTS];
	struct dp_ksyms *ks = NULL;
	struct dp_symbols syms;
	bool failed = false;
	struct dp_profile_opts popts = { .check_fp = true };
	struct dp_session_hooks hooks, *hooksp = NULL;
	struct dp_collect_opts co;
	struct dp_report_opts ropts;
	struct ndjson_ctx nctx;
	char err[256];
	const char *blocker, *comm;
	struct timespec launch;
	struct dp_launch child = { .release_fd = -1, .err_fd = -1 };
	int rc, exec_err, status = 0;
	uint64_t table_total = 0;
	unsigned long said;

	clock_gettime(CLOCK_MONOTONIC, &launch);
	dp_outfile__guard_std();
	if (argc > 1 && !strcmp(argv[1], "diff"))
		return dp_diffcmd__main(argc - 1, argv + 1);	/* files only: no kernel, no privileges */
	if (dp_opts__parse(&o, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "deferprof: %s\n", err);
		return 2;
	}
	/*
	 * Big tables (the session's, then the profile's) in their own
	 * mappings, given back when freed. glibc's default raises this
	 * threshold to the size of each big block freed, so the profile's
	 * tables would then grow in the heap over the session's freed ones,
	 * which the heap keeps: 6 MiB more at the peak with 136,000 stacks.
	 */
	if (!mallopt(M_MMAP_THRESHOLD, 128 * 1024) && o.verbose)
		fprintf(stderr, "deferprof: cannot set malloc's mmap threshold: the peak memory may be higher\n");
	/* From the start: a signal during set-up ends the profile at once, never lost. */
	dp_signals__install();
	o.launch_ns = (uint64_t)launch.tv_sec * 1000000000ULL + (uint64_t)launch.tv_nsec;
	if (o.cmd == DP_CMD_HELP) {
		fputs(dp_opts__usage(), stdout);
		return 0;
	}
	if (o.cmd == DP_CMD_VERSION) {
		printf("deferprof %s\n", DP_VERSION);
		return 0;
	}
	verbose = o.verbose;
	ropts = (struct dp_report_opts){ .top_stacks = o.top };
	/* Decided once for the run: every format shows the same frames. */
	popts.want_inline = !o.no_inline;
	libbpf_set_print(libbpf_print);
	/* Before the probe: a target gone later exited during the start-up. */
	dp_opts__collect(&o, 0, -1, &dp_stop, o.launch_ns, &co);
	if (dp_procfs__check_targets(&co))
		return o.cmd == DP_CMD_TOP ? 2 : 1;	/* top's bad input: 2, as before */

	dp_probe__run(&pr, o.verbose, o.cmd == DP_CMD_PROBE);
	if (o.cmd == DP_CMD_PROBE) {
		dp_probe__print(&pr, stdout);
		return dp_probe__bpf_blocker(&pr) ? 1 : 0;
	}
	blocker = dp_probe__bpf_blocker(&pr);
	if (blocker) {
		fprintf(stderr, "deferprof: %s\n", blocker);
		return 1;
	}
	if (o.verbose)
		dp_probe__print(&pr, stderr);
	if (o.cmd == DP_CMD_TOP)
		return dp_top__main(&o, &pr);
	for (uint32_t i = 0; i < o.nouts; i++) {
		const struct dp_writer *w = dp_writer__get(o.outs[i].format);

		/* Source lines: the formats that carry them read them; no frame changes. */
		popts.want_src |= w->src_lines && !o.no_inline;
		if (w->binary && !o.outs[i].path && isatty(STDOUT_FILENO)) {
			fprintf(stderr, "deferprof: %s output is binary (gzip): give -o FILE or redirect stdout\n", w->name);
			return 2;
		}
	}
	for (uint32_t i = 0; i < o.nouts; i++) {
		if (dp_outfile__open(&ofs[i], o.outs[i].path)) {
			while (i-- > 0)
				dp_outfile__close(&ofs[i], false);
			return 1;
		}
	}
	if (o.format == DP_FMT_NDJSON) {
		/* Every interval symbolizes: the kernel's symbols are needed from the start. */
		ks = load_ksyms(NULL);
		memset(&nctx, 0, sizeof(nctx));
		dp_ndjson__init(&nctx.nd, ofs[0].f);
		nctx.popts = popts;
		nctx.popts.check_fp = false;
		hooks.interval_ns = (uint64_t)(o.interval * 1e9);
		hooks.streaming = true;
		hooks.tick = ndjson_tick;
		hooks.ctx = &nctx;
		hooks.ks = ks;
		hooksp = &hooks;
	}
	dp_signals__install();
	if (o.target == DP_TARGET_DEMO || o.target == DP_TARGET_COMMAND) {
		if (start_target(&o, &child)) {
			for (uint32_t i = 0; i < o.nouts; i++)
				dp_outfile__close(&ofs[i], false);
			dp_ksyms__free(ks);
			return 1;
		}
	}
	dp_opts__collect(&o, child.pid, child.release_fd, &dp_stop, o.launch_ns, &co);
	said = dp_say__count();
	rc = dp_session__run(&co, &pr, hooksp, &res);
	/* Every failure is said once: those the engine did not explain, here. */
	if (rc && dp_say__count() == said)
		fprintf(stderr, "deferprof: cannot profile: %s\n", strerror(-rc));
	/* Released, or (on an error) let go: without its byte, the child exits. */
	close(child.release_fd);
	child.release_fd = -1;
	exec_err = rc ? 0 : dp_launch__exec_error(&child);
	if (o.target == DP_TARGET_DEMO)
		dp_launch__wait(&child, SIGTERM);
	else if (child.pid > 0)
		status = end_command(&child);
	dp_launch__close(&child);
	if (rc || exec_err) {
		if (exec_err)
			fprintf(stderr, "deferprof: cannot run %s: %s\n", o.command[0], strerror(exec_err));
		dp_session_result__free(&res);
		for (uint32_t i = 0; i < o.nouts; i++)
			dp_outfile__close(&ofs[i], false);
		dp_ksyms__free(ks);
		return exec_err ? 127 : 1;
	}
	set_target_comm(&res.ri, res.comms);
	comm = dp_comms__get(res.comms, child.pid ? (uint32_t)child.pid : o.pid);
	if (o.target == DP_TARGET_COMMAND) {
		name_command(&res.ri, o.command, child.pid);
	} else if (comm && o.target != DP_TARGET_SYSTEM && o.target != DP_TARGET_CGROUP &&
		   o.npids <= 1) {
		size_t n = strlen(res.ri.target);

		snprintf(res.ri.target + n, sizeof(res.ri.target) - n, " (%s)", comm);
	}

	memset(&prof, 0, sizeof(prof));
	if (o.format == DP_FMT_NDJSON) {
		rc = dp_ndjson__summary(&nctx.nd, &res.ri);
		prof.total = res.table.total;
		table_total = res.table.total;
		if (rc)
			fprintf(stderr, "deferprof: writing the ndjson stream failed: %s\n", strerror(-rc));
	} else {
		/*
		 * Only reading is left to do with the raw stacks: their indexes go
		 * before the profile and kallsyms take memory.
		 */
		dp_stack_table__drop_index(&res.table);
		dp_stack_table__clear(&res.raw);
		/* Read only now, and only the symbols of the table's kernel addresses. */
		ks = load_ksyms(&res.table);
		rc = dp_profile__build(&prof, &res.table, dp_symbols__init(&syms, ks, res.us),
				       res.comms, &popts);
		if (rc)
			fprintf(stderr, "deferprof: cannot build the profile: %s\n", strerror(-rc));
		/*
		 * The profile holds copies of every name it needs: the raw stacks
		 * and the symbol tables go before the outputs sort and merge, so
		 * the two never take memory at the same time.
		 */
		table_total = res.table.total;
		dp_stack_table__clear(&res.table);
		dp_ksyms__free(ks);
		ks = NULL;
		dp_usyms__free(res.us);
		res.us = NULL;
	}
	/* Every output gets its file, even when another one failed. */
	for (uint32_t i = 0; i < o.nouts; i++) {
		int werr = rc;

		if (!werr && o.format != DP_FMT_NDJSON) {
			werr = dp_writer__get(o.outs[i].format)->write(ofs[i].f, &prof, &res.ri, &ropts);
			if (werr)
				fprintf(stderr, "deferprof: writing %s failed: %s\n",
					o.outs[i].path ? o.outs[i].path : "stdout", strerror(-werr));
		}
		if (dp_outfile__close(&ofs[i], werr == 0) || werr)
			failed = true;
	}
	if (o.format != DP_FMT_REPORT || o.nouts > 1) {
		/* The accounting goes to stderr when stdout holds data. */
		fprintf(stderr, "deferprof: %s mode, %llu samples seen by BPF, %llu in stacks, %llu dropped, %llu with user stack lost, %llu lost records\n",
			res.ri.mode, (unsigned long long)res.ri.bpf[DP_STAT_SAMPLES],
			(unsigned long long)prof.total, (unsigned long long)dp_runinfo__dropped(&res.ri),
			(unsigned long long)dp_runinfo__user_lost(&res.ri),
			(unsigned long long)res.ri.lost_records);
	}
	if (o.format != DP_FMT_NDJSON)
		dp_profile__free(&prof);
	rc = failed ? 1 : 0;
	if (!rc && res.ri.verify && res.ri.verify_diffs && res.ri.lost_records) {
		/* Raw samples and records were dropped unevenly: no exact comparison. */
		fprintf(stderr, "deferprof: verification not conclusive: the ring buffer lost %llu records (%llu stacks differ); rerun with a larger --ring-pages\n",
			(unsigned long long)res.ri.lost_records, (unsigned long long)res.ri.verify_diffs);
	} else if (!rc && res.ri.verify && res.ri.verify_diffs) {
		fprintf(stderr, "deferprof: verification failed: %llu stacks differ between the BPF join and the raw stitch\n",
			(unsigned long long)res.ri.verify_diffs);
		rc = 3;
	}
	if (res.target_exited && o.target != DP_TARGET_COMMAND && !table_total)
		fprintf(stderr, "deferprof: the target exited %.2f s after profiling began, before any sample: the profile is empty\n",
			res.ri.duration_s);
	else if (res.target_exited && o.target != DP_TARGET_COMMAND)
		fprintf(stderr, "deferprof: the target exited; profile ends there\n");
	if (o.target == DP_TARGET_COMMAND && !rc)
		rc = status;	/* as perf record: the command's status */
	dp_ksyms__free(ks);
	dp_session_result__free(&res);
	return rc;
}
