// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "options.h"
#include "target.h"

enum {
	OPT_KERNEL_ONLY = 256, OPT_USER_ONLY, OPT_MODE, OPT_VERIFY, OPT_PROBE, OPT_DEMO,
	OPT_RING_PAGES, OPT_MAX_ENTRIES, OPT_MAX_STACKS, OPT_JOIN_TIMEOUT, OPT_DRAIN_MS, OPT_NICE,
	OPT_TOP, OPT_VERSION, OPT_RAW, OPT_RECORD, OPT_CGROUP, OPT_NO_INLINE, OPT_NO_LEAF_REPAIR,
};

static const struct option long_opts[] = {
	{ "pid", required_argument, NULL, 'p' },
	{ "tid", required_argument, NULL, 't' },
	{ "all-cpus", no_argument, NULL, 'a' },
	{ "freq", required_argument, NULL, 'F' },
	{ "count", required_argument, NULL, 'c' },
	{ "duration", required_argument, NULL, 'd' },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "interval", required_argument, NULL, 'i' },
	{ "event", required_argument, NULL, 'e' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "kernel-only", no_argument, NULL, OPT_KERNEL_ONLY },
	{ "user-only", no_argument, NULL, OPT_USER_ONLY },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "raw", no_argument, NULL, OPT_RAW },
	{ "no-inline", no_argument, NULL, OPT_NO_INLINE },
	{ "no-leaf-repair", no_argument, NULL, OPT_NO_LEAF_REPAIR },
	{ "record", required_argument, NULL, OPT_RECORD },
	{ "probe", no_argument, NULL, OPT_PROBE },
	{ "demo", no_argument, NULL, OPT_DEMO },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "ring-pages", required_argument, NULL, OPT_RING_PAGES },
	{ "max-entries", required_argument, NULL, OPT_MAX_ENTRIES },
	{ "max-stacks", required_argument, NULL, OPT_MAX_STACKS },
	{ "join-timeout", required_argument, NULL, OPT_JOIN_TIMEOUT },
	{ "drain-ms", required_argument, NULL, OPT_DRAIN_MS },
	{ "nice", required_argument, NULL, OPT_NICE },
	{ "top", required_argument, NULL, OPT_TOP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

const char *dp_opts__usage(void)
{
	return
"Usage: deferprof [OPTIONS]            profile (default: whole system)\n"
"       deferprof [OPTIONS] -- COMMAND [ARGS...]\n"
"                                      start COMMAND, profile it until it exits\n"
"       deferprof top [OPTIONS]        live, top-style view (keys: press h in it)\n"
"       deferprof top [OPTIONS] -- COMMAND [ARGS...]\n"
"       deferprof --probe [-v]         show what this kernel offers deferprof\n"
"       deferprof diff BASE NEW [-f report|folded|html] [-o FILE] [--top N]\n"
"                                      compare two profiles (json or folded files)\n"
"\n"
"Target (one of):\n"
"  -p, --pid PID[,PID..]  every thread of these processes, also threads and child\n"
"                         processes started later\n"
"  -t, --tid TID          one thread\n"
"  -a, --all-cpus         the whole system (the default)\n"
"      --cgroup PATH      every task of a cgroup v2 group, also tasks that join later\n"
"                         (PATH absolute, or relative to the cgroup2 mount)\n"
"      --demo             start the bundled demo workload and profile it\n"
"  -- COMMAND [ARGS...]   start COMMAND, profiled from its first instruction; exit\n"
"                         with its status\n"
"\n"
"Sampling:\n"
"  -F, --freq HZ          samples per second per thread/CPU (default 99, max 100000)\n"
"  -c, --count PERIOD     one sample every PERIOD events instead of -F\n"
"  -e, --event EVENT      cpu-clock (default) or cycles (hardware, when available)\n"
"  -d, --duration SECS    stop after SECS seconds (default: Ctrl-C, SIGTERM or target exit)\n"
"      --mode MODE        auto (default), deferred or classic user stacks\n"
"      --kernel-only      keep kernel stacks only\n"
"      --user-only        keep user stacks only\n"
"      --verify           also stitch the raw samples as perf does and compare (exit 3 on\n"
"                         any difference)\n"
"      --raw              no BPF aggregation: every sample through the ring buffer,\n"
"                         stitched in user space as perf does (for comparisons)\n"
"\n"
"Output:\n"
"  -f, --format FMT       report (default); folded (flamegraph.pl, inferno); json\n"
"                         (deferprof's schema); ndjson (one line per interval);\n"
"                         pprof (gzipped profile.proto: pprof, Pyroscope, Parca,\n"
"                         Grafana); speedscope (speedscope.app); html (one page,\n"
"                         interactive flame and icicle graphs, opens offline)\n"
"  -o, --output FILE      write there instead of stdout (atomically); repeat -f FMT -o FILE\n"
"                         to write several formats of the same profile\n"
"  -i, --interval SECS    ndjson: one line every SECS (default 1); top: refresh (default 1)\n"
"      --top N            stacks shown in the report (default 10)\n"
"      --no-inline        no inlined functions or source lines from debug info, in every\n"
"                         format (by default every format shows inlined functions as frames)\n"
"      --no-leaf-repair   do not recover the caller of a function that has not set up its\n"
"                         frame (libc syscall wrappers, leaves): stacks as perf -g shows them\n"
"  -v, --verbose          say what is set up and what it cost; -vv: libbpf's debug messages too\n"
"\n"
"Tuning:\n"
"  --ring-pages N         data pages per ring buffer, a power of two (default 256: 1 MiB per CPU)\n"
"  --max-entries N        BPF counts map entries; drained early when half full (default 16384)\n"
"  --max-stacks N         BPF stack store entries (default 16384)\n"
"  --join-timeout MS      how long a sample waits for its user stack (default 10000)\n"
"  --drain-ms MS          most time between drains while samples wait (default 500)\n"
"  --nice N|keep          the collecting thread's nice value (default -5, so busy\n"
"                         targets cannot starve the reader; keep: leave it)\n"
"  --record FILE          also write what the join is fed, for replaying (make bench)\n"
"\n"
"Examples:\n"
"  sudo deferprof -p 1234 -d 10             report on process 1234 for 10 s\n"
"  sudo deferprof -- ./myprog --its-args    start ./myprog, report when it exits\n"
"  sudo deferprof -p 1234,5678 -d 10        two processes in one profile\n"
"  sudo deferprof --cgroup system.slice/nginx.service -d 10\n"
"  sudo deferprof -p 1234 -F 999 -f folded -o out.folded\n"
"  sudo deferprof -p 1234 -d 30 -f pprof -o cpu.pb.gz\n"
"  sudo deferprof -p 1234 -f ndjson -i 5 -o live.ndjson\n"
"  sudo deferprof top -p 1234               live view, refreshed every second\n"
"  sudo deferprof -a -d 5 --kernel-only     system-wide kernel hot spots\n"
"  sudo deferprof --probe                   deferred callchains supported here?\n"
"  sudo deferprof -p 1234 -d 10 -f html -o cpu.html   a flame graph to open in a browser\n"
"  deferprof diff before.json after.json -f html -o diff.html\n";
}

static int num(const char *s, long long lo, long long hi, long long *v)
{
	char *end;

	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno || end == s || *end || *v < lo || *v > hi)
		return -EINVAL;
	return 0;
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -EINVAL; } while (0)

int dp_opts__parse(struct dp_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	int c, ntargets = 0, f, n;
	bool have_format = false, have_output = false, have_interval = false;
	bool format_after_output = false, have_freq = false, have_period = false;
	const char *stdout_format = NULL;	/* a -f that no -o has taken yet */
	long long v;
	char *end;

	memset(o, 0, sizeof(*o));
	if (argc > 1 && !strcmp(argv[1], "top")) {
		o->cmd = DP_CMD_TOP;
		argc--;
		argv++;
	}
	o->freq = 99;
	o->ring_pages = 256;
	o->max_entries = 16384;
	o->max_stacks = 16384;
	o->join_timeout_ms = 10000;
	o->drain_ms = 500;
	o->nice = -5;
	o->top = 10;
	o->interval = 1;
	/* 0, not 1: glibc then resets all of getopt's state, which may point into an older argv. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:p:t:aF:c:d:f:o:e:i:vh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			n = dp_pids__parse(optarg, o->pids, DP_MAX_PIDS);
			if (n == -E2BIG)
				FAIL("too many pids in '%.40s...': at most %d", optarg, DP_MAX_PIDS);
			if (n < 0)
				FAIL("invalid pid list '%s': expected PID or PID,PID,... (positive process ids)",
				     optarg);
			o->npids = (uint32_t)n;
			o->pid = o->pids[0];
			o->target = DP_TARGET_PID;
			ntargets++;
			break;
		case 't':
			if (num(optarg, 1, INT_MAX, &v))
				FAIL("invalid tid '%s': expected a positive thread id", optarg);
			o->pid = (uint32_t)v;
			o->target = DP_TARGET_TID;
			ntargets++;
			break;
		case 'a':
			o->target = DP_TARGET_SYSTEM;
			ntargets++;
			break;
		case OPT_DEMO:
			o->target = DP_TARGET_DEMO;
			ntargets++;
			break;
		case OPT_CGROUP:
			if (!*optarg)
				FAIL("empty cgroup path");
			o->cgroup = optarg;
			o->target = DP_TARGET_CGROUP;
			ntargets++;
			break;
		case 'F':
			if (num(optarg, 1, 100000, &v))
				FAIL("invalid frequency '%s': expected 1 to 100000 Hz", optarg);
			o->freq = (uint64_t)v;
			o->period = 0;
			have_freq = true;
			break;
		case 'c':
			if (num(optarg, 1, LLONG_MAX, &v))
				FAIL("invalid period '%s': expected a positive event count", optarg);
			o->period = (uint64_t)v;
			o->freq = 0;
			have_period = true;
			break;
		case 'd':
			errno = 0;
			o->duration = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->duration > 0))
				FAIL("invalid duration '%s': expected seconds, more than 0", optarg);
			if (o->duration > 31536000)
				FAIL("invalid duration '%s': at most 31536000 seconds (a year); without -d, the profile runs until Ctrl-C",
				     optarg);
			break;
		case 'f':
			f = dp_format__parse(optarg);
			if (f < 0)
				FAIL("unknown format '%s': expected report, folded, json, ndjson, pprof, speedscope or html",
				     optarg);
			if (stdout_format && o->cmd != DP_CMD_TOP)
				FAIL("-f %s and -f %s would both go to standard output: give each format but one its -o FILE",
				     stdout_format, optarg);
			stdout_format = optarg;
			o->format = (enum dp_format)f;
			have_format = true;
			format_after_output = have_output;
			break;
		case 'o':
			if (!*optarg)
				FAIL("empty output file name");
			if (o->nouts == DP_MAX_OUTPUTS)
				FAIL("at most %d output files", DP_MAX_OUTPUTS);
			for (uint32_t i = 0; i < o->nouts; i++)
				if (!strcmp(o->outs[i].path ? o->outs[i].path : "-", optarg))
					FAIL("output file '%s' given twice", optarg);
			/* "-": standard output, as for most tools. */
			if (!o->nouts && strcmp(optarg, "-"))
				o->output = optarg;
			o->outs[o->nouts].path = strcmp(optarg, "-") ? optarg : NULL;
			stdout_format = NULL;
			o->outs[o->nouts++].format = o->format;
			have_output = true;
			format_after_output = false;
			break;
		case 'i':
			errno = 0;
			o->interval = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->interval >= 0.1) ||
			    o->interval > 86400)
				FAIL("invalid interval '%s': expected 0.1 to 86400 seconds", optarg);
			have_interval = true;
			break;
		case 'e':
			if (!strcmp(optarg, "cpu-clock"))
				o->event = DP_EV_CPU_CLOCK;
			else if (!strcmp(optarg, "cycles"))
				o->event = DP_EV_CYCLES;
			else
				FAIL("unknown event '%s': expected cpu-clock or cycles", optarg);
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			o->cmd = DP_CMD_HELP;
			return 0;
		case OPT_VERSION:
			o->cmd = DP_CMD_VERSION;
			return 0;
		case OPT_KERNEL_ONLY:
			o->kernel_only = true;
			break;
		case OPT_USER_ONLY:
			o->user_only = true;
			break;
		case OPT_MODE:
			if (!strcmp(optarg, "auto"))
				o->mode = DP_MODE_AUTO;
			else if (!strcmp(optarg, "deferred"))
				o->mode = DP_MODE_DEFERRED;
			else if (!strcmp(optarg, "classic"))
				o->mode = DP_MODE_CLASSIC;
			else
				FAIL("unknown mode '%s': expected auto, deferred or classic", optarg);
			break;
		case OPT_VERIFY:
			o->verify = true;
			break;
		case OPT_RAW:
			o->raw = true;
			break;
		case OPT_NO_INLINE:
			o->no_inline = true;
			break;
		case OPT_NO_LEAF_REPAIR:
			o->no_leaf_repair = true;
			break;
		case OPT_RECORD:
			if (!*optarg)
				FAIL("empty recording file name");
			o->record = optarg;
			break;
		case OPT_PROBE:
			o->cmd = DP_CMD_PROBE;
			break;
		case OPT_RING_PAGES:
			if (num(optarg, 1, 1 << 20, &v) || (v & (v - 1)))
				FAIL("invalid ring size '%s': expected a power of two of pages", optarg);
			o->ring_pages = (uint32_t)v;
			break;
		case OPT_MAX_ENTRIES:
			if (num(optarg, 16, 1 << 26, &v))
				FAIL("invalid map size '%s': expected 16 to 67108864", optarg);
			o->max_entries = (uint32_t)v;
			break;
		case OPT_MAX_STACKS:
			if (num(optarg, 16, 1 << 24, &v))
				FAIL("invalid stack store size '%s': expected 16 to 16777216", optarg);
			o->max_stacks = (uint32_t)v;
			break;
		case OPT_JOIN_TIMEOUT:
			if (num(optarg, 1, 3600000, &v))
				FAIL("invalid join timeout '%s': expected 1 to 3600000 ms", optarg);
			o->join_timeout_ms = (uint64_t)v;
			break;
		case OPT_DRAIN_MS:
			if (num(optarg, 1, 10000, &v))
				FAIL("invalid drain interval '%s': expected 1 to 10000 ms", optarg);
			o->drain_ms = (uint32_t)v;
			break;
		case OPT_NICE:
			if (!strcmp(optarg, "keep"))
				o->nice = DP_NICE_INHERIT;
			else if (num(optarg, -20, 19, &v))
				FAIL("invalid --nice '%s': expected -20 to 19, or keep", optarg);
			else
				o->nice = (int)v;
			break;
		case OPT_TOP:
			if (num(optarg, 1, 100000, &v))
				FAIL("invalid --top '%s': expected 1 to 100000", optarg);
			o->top = (uint32_t)v;
			break;
		case ':':
			FAIL("option '%s' needs a value", argv[optind - 1]);
		default:
			FAIL("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc && strcmp(argv[optind - 1], "--"))
		FAIL("unexpected argument '%s': a command to profile goes after -- (see --help)",
		     argv[optind]);
	if (optind > 1 && !strcmp(argv[optind - 1], "--")) {
		if (optind == argc)
			FAIL("no command after --: expected -- COMMAND [ARGS...]");
		o->command = argv + optind;
		o->target = DP_TARGET_COMMAND;
		ntargets++;
	}
	if (ntargets > 1)
		FAIL("choose one target: -p, -t, -a, --cgroup, --demo or -- COMMAND");
	if (have_freq && have_period)
		FAIL("-F (samples per second) and -c (one sample every N events) exclude each other: give one");
	if (o->raw && o->verify)
		FAIL("--raw and --verify exclude each other: --verify already compares with raw samples");
	if (o->kernel_only && o->user_only)
		FAIL("--kernel-only and --user-only exclude each other");
	if (o->verify && o->mode == DP_MODE_CLASSIC)
		FAIL("--verify compares the deferred join with raw samples: it needs deferred mode");
	if (o->cmd == DP_CMD_TOP) {
		if (have_format || have_output)
			FAIL("top shows a live view: -f and -o belong to the report command (press w in top to save)");
		if (o->verify)
			FAIL("--verify belongs to the report command, not top");
	} else {
		bool ndjson = o->format == DP_FMT_NDJSON;

		if (format_after_output)
			FAIL("-f after the last -o applies to no file: give -f before the -o it is for");
		for (uint32_t i = 0; i < o->nouts; i++)
			ndjson |= o->outs[i].format == DP_FMT_NDJSON;
		if (ndjson && o->nouts > 1)
			FAIL("-f ndjson streams while profiling: it takes a single output");
		if (have_interval && !ndjson)
			FAIL("-i/--interval applies to -f ndjson and to top");
		if (!o->nouts)
			o->outs[o->nouts++].format = o->format;	/* stdout */
		o->format = o->outs[0].format;
	}
	return 0;
}

void dp_opts__collect(const struct dp_opts *o, pid_t child, int release_fd,
		      const volatile sig_atomic_t *stop, uint64_t launch_ns,
		      struct dp_collect_opts *c)
{
	memset(c, 0, sizeof(*c));
	c->target = o->target;
	c->pid = o->pid;
	c->pids = o->pids;
	c->npids = o->npids;
	c->cgroup = o->cgroup;
	c->child = child;
	c->release_fd = release_fd;
	c->mode = o->mode;
	c->event = o->event;
	c->freq = o->freq;
	c->period = o->period;
	c->duration = o->duration;
	c->kernel_only = o->kernel_only;
	c->user_only = o->user_only;
	c->verify = o->verify;
	c->raw = o->raw;
	c->no_leaf_repair = o->no_leaf_repair;
	c->verbose = o->verbose;
	c->record = o->record;
	c->ring_pages = o->ring_pages;
	c->max_entries = o->max_entries;
	c->max_stacks = o->max_stacks;
	c->drain_ms = o->drain_ms;
	c->nice = o->nice;
	c->join_timeout_ms = o->join_timeout_ms;
	c->stop = stop;
	c->launch_ns = launch_ns;
}
