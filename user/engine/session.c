// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "dispatch.h"
#include "drain.h"
#include "events.h"
#include "limitwarn.h"
#include "say.h"
#include "profile.h"
#include "progmaps.h"
#include "recording.h"
#include "session.h"
#include "symbolizer.h"
#include "tasks.h"
#include "usyms.h"
#include "verify.h"
#include "watch.h"
#include "gatelearn.h"

/* epoll tags beside the ring buffers' CPU indices */
#define DP_TAG_WAKE	0xfffffffeU
#define DP_TAG_PIDFD	0xfffffffdU

struct dp_session {
	const struct dp_collect_opts *o;
	const struct dp_probe *pr;
	const struct dp_session_hooks *hooks;
	struct dp_session_result *res;
	bool deferred;
	bool raw;		/* no BPF program: --raw, or a kernel without bpf_loop() */
	bool drain_soon;	/* a map filled up: drain it as soon as it is idle */
	struct dp_events ev;
	struct dp_progmaps pm;
	struct dp_drain drain;
	struct dp_ingest *in;
	struct dp_verify *verify;
	struct dp_gatelearn gl;		/* the leaf gate's learning (gatelearn.h); gl.gate NULL: none */
	FILE *rec;		/* --record */
	int epfd;
	int pidfd;		/* readable when the target process exits, or -1 */
	int err;		/* what ended the loop early, reported by stop */
	uint64_t t0, deadline, next_tick;
	/* -v: how late the loop woke at worst (starved of CPU), and its longest round (ns). */
	uint64_t max_late, max_round;
	uint64_t read_ns;	/* when the current read of the rings began: its records' time */
	struct dp_tasks tasks;		/* names and mappings of tasks met, from /proc */
	struct dp_limits limits;	/* the limits already said on stderr */
	uint64_t last_limits;		/* when the counters were last read for them */
};

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static void on_thread(void *ctx, uint32_t pid, uint32_t tid)
{
	struct dp_session *s = ctx;

	/*
	 * A command held before its exec is deferprof's own fork: its name and
	 * mappings are not the command's, and nothing is sampled before the
	 * exec (the events are enabled by it). Learned when first seen after.
	 */
	if (s->o->child && pid == (uint32_t)s->o->child)
		return;
	dp_tasks__learn(&s->tasks, pid, tid);
}

/*
 * Before an address space changes under earlier samples (an exec, a library
 * where another was): every sample logged so far, into the tables while the
 * old mappings are still the current generation. Samples are logged when
 * taken, so all from before the change are there; classic ones otherwise
 * wait for the end of the round.
 */
static void take_logged_samples(struct dp_session *s)
{
	/*
	 * Classic mode only: there side-band records wake the reader at once
	 * (events.c), so the logs hold little from after the change. In
	 * deferred mode user stacks come as ring records, in order with the
	 * change on their CPU; the rings are read late, and the logs would hold
	 * samples from after it, their leaf evidence judged with the old space.
	 */
	if (!s->deferred && !s->raw && s->drain.logs && dp_drain__logs(&s->drain, s->in, mono_ns()))
		s->drain_soon = true;
}

static int sink_mmap(void *ctx, const struct dp_record *r)
{
	struct dp_session *s = ctx;
	struct dp_mmap_file f = {
		.filename = r->mmap.filename,
		.maj = r->mmap.maj, .min = r->mmap.min, .ino = r->mmap.ino,
		.build_id = r->mmap.build_id,
		.build_id_len = r->mmap.build_id ? r->mmap.build_id_size : 0,
	};

	if (!dp_usyms__known(s->res->us, r->mmap.pid))
		dp_usyms__snapshot(s->res->us, r->mmap.pid);
	if (dp_usyms__replaces(s->res->us, r->mmap.pid, r->mmap.start, r->mmap.len, f.filename))
		take_logged_samples(s);
	if (s->gl.gate)	/* new code there: its pages are learned again */
		dp_leafgate__forget_range(s->gl.gate, r->mmap.pid, r->mmap.start,
					  r->mmap.start + r->mmap.len);
	return dp_usyms__add_mmap2(s->res->us, r->mmap.pid, r->mmap.start, r->mmap.len,
				   r->mmap.pgoff, &f);
}

static void sink_exec(void *ctx, uint32_t pid)
{
	struct dp_session *s = ctx;

	take_logged_samples(s);
	if (s->gl.gate)
		dp_leafgate__forget_pid(s->gl.gate, pid);
	if (dp_usyms__exec(s->res->us, pid))
		dp_say("out of memory keeping the mappings of process %u from before its exec", pid);
}

static void sink_fork(void *ctx, uint32_t ppid, uint32_t pid)
{
	struct dp_session *s = ctx;

	if (s->gl.gate)	/* a pid used again: nothing of the last process's pages holds */
		dp_leafgate__forget_pid(s->gl.gate, pid);
	if (dp_usyms__fork(s->res->us, ppid, pid))
		dp_say("out of memory copying process %u's mappings to its child %u", ppid, pid);
}

static void sink_exit(void *ctx, uint32_t pid)
{
	struct dp_session *s = ctx;

	if (s->gl.gate)
		dp_leafgate__exited(s->gl.gate, pid);
}

/* The stack tables stamp each stack with its process's address-space generation. */
static uint32_t table_generation(void *ctx, uint32_t pid)
{
	return dp_usyms__generation(ctx, pid);
}

/* The leaf repair's question, asked by ingest: the process's mappings first if not read yet. */
static uint64_t sink_leaf(void *ctx, uint32_t pid, const struct dp_leaf *leaf)
{
	struct dp_session *s = ctx;
	uint64_t ra;

	if (!dp_usyms__known(s->res->us, pid))
		dp_usyms__snapshot(s->res->us, pid);
	ra = dp_usyms__leaf_caller(s->res->us, pid, leaf);
	dp_gatelearn__capture(&s->gl, pid, leaf->ip);	/* the page of the current address space */
	return ra;
}

static int on_record(const void *buf, size_t len, void *ctx)
{
	struct dp_session *s = ctx;

	return dp_ingest__record(s->in, buf, len, s->read_ns);
}

/* Every ring's records into ingest; names and mappings of new tasks after. */
static int consume_all(struct dp_session *s)
{
	int err;

	/*
	 * One clock read a batch, its records' arrival time: the time only
	 * meets the join's and --verify's timeouts (10 s by default), checked
	 * at the end of a round, after the batch.
	 */
	s->read_ns = mono_ns();
	err = dp_events__consume(&s->ev, on_record, s);
	dp_tasks__learn_new(&s->tasks, s->in);
	return err;
}

/* Samples in the program's maps or logs, or groups in the join: a round has work. */
static bool round_has_work(const struct dp_session *s)
{
	return (!s->raw && dp_drain__has_samples(&s->drain)) || dp_ingest__pending(s->in);
}

/* One round: read every buffer, drain the program, let the join retire what it can. */
static int round_trip(struct dp_session *s)
{
	uint64_t now;
	int err;

	err = consume_all(s);
	if (err)
		return err;
	now = mono_ns();
	if (!s->raw) {	/* --raw has no program, no maps */
		err = dp_drain__counts(&s->drain, s->in, now);
		if (!err)
			err = dp_drain__logs(&s->drain, s->in, now);
		dp_gatelearn__logs_read(&s->gl);
		dp_tasks__learn_new(&s->tasks, s->in);
	}
	if (err)
		return err;
	return dp_ingest__end_round(s->in, now);
}

/* Each limit the run hit, said once on stderr with the option that raises it. */
static void say_limits(struct dp_session *s)
{
	const struct dp_collect_opts *o = s->o;
	const struct dp_limit_opts lo = {
		.max_entries = o->max_entries, .max_stacks = o->max_stacks,
		.ring_pages = o->ring_pages,
		.join_timeout_ms = o->join_timeout_ms,
	};

	dp_limits__check(&s->limits, &s->res->ri, &lo, stderr);
}

/* Every counter the outputs show, as it stands now. */
static void read_counters(struct dp_session *s)
{
	struct dp_runinfo *ri = &s->res->ri;
	const struct dp_ingest_stats *st = dp_ingest__stats(s->in);

	if (s->raw)
		ri->bpf[DP_STAT_SAMPLES] = st->raw_samples;	/* no BPF: the ring saw them */
	else
		dp_progmaps__read_stats(&s->pm, ri);
	ri->join = *dp_ingest__join_stats(s->in);
	dp_gatelearn__runinfo(&s->gl, ri);
	ri->ring_records = st->ring_records;
	ri->ring_bytes = st->ring_bytes;
	ri->lost_records = st->lost_records;
	ri->lost_events = st->lost_events;
	ri->verify_raw_samples = st->raw_samples;
	ri->log_entries = s->drain.log_entries;
	ri->log_bytes = s->drain.log_bytes;
	ri->malformed = st->malformed + dp_events__malformed(&s->ev);
	if (dp_ingest__stackcache(s->in)) {
		const struct dp_stackcache_stats *cs =
			dp_stackcache__stats(dp_ingest__stackcache(s->in));

		ri->store_read = cs->read;
		ri->store_aged = cs->aged;
	}
}

/* The counters so far, and the interval's counts, to the tick hook. */
static int tick(struct dp_session *s, bool final)
{
	struct dp_runinfo *ri = &s->res->ri;
	struct dp_stack_table delta;
	struct dp_symbols syms;
	struct dp_snapshot snap = {
		.ri = ri,
		.delta = &delta,
		.sz = dp_symbols__init(&syms, s->hooks->ks, s->res->us),
		.comms = s->res->comms,
		.final = final,
	};
	int err;

	read_counters(s);
	if (!final)
		ri->duration_s = (double)(mono_ns() - s->t0) / 1e9;
	dp_stack_table__init(&delta);
	if (s->hooks->streaming) {
		struct dp_stack_table *t = &s->res->table;

		/* The interval's stacks move out whole; the table starts over, its total kept. */
		delta = *t;
		dp_stack_table__init(t);
		t->generation = delta.generation;
		t->generation_ctx = delta.generation_ctx;
		t->total = delta.total;
		delta.total = 0;
		for (uint32_t i = 0; i < delta.entries; i++)
			delta.total += delta.ents[i].count;
		/* Records still kept name their user stacks by ids into the old table. */
		err = dp_ingest__table_moved(s->in, &delta);
	} else {
		err = dp_stack_table__delta(&s->res->table, &delta);
	}
	if (!err)
		err = s->hooks->tick(s->hooks->ctx, &snap);
	dp_stack_table__clear(&delta);
	dp_comms__next_epoch(s->res->comms, s->hooks->streaming);
	return err;
}

/* Mode, fallbacks and the kernel's features: what can run here, or one line why not. */
static int choose_mode(struct dp_session *s)
{
	const struct dp_collect_opts *o = s->o;
	const struct dp_probe *pr = s->pr;
	struct dp_runinfo *ri = &s->res->ri;

	s->deferred = o->mode == DP_MODE_DEFERRED ||
		      (o->mode == DP_MODE_AUTO && dp_probe__deferred_ok(pr));
	if (o->mode == DP_MODE_DEFERRED && !dp_probe__deferred_ok(pr)) {
		dp_say("--mode=deferred: this kernel (%s) lacks deferred user callchains (Linux >= 6.19 needed); use --mode=classic or auto", pr->kernel);
		return -EOPNOTSUPP;
	}
	if (o->verify && !s->deferred) {
		dp_say("--verify needs deferred mode, which this kernel (%s) lacks (Linux >= 6.19)", pr->kernel);
		return -EOPNOTSUPP;
	}
	if (o->event == DP_EV_CYCLES && !pr->perf_hw) {
		dp_say("-e cycles: no hardware cycles counter here (a VM without a PMU?); use -e cpu-clock");
		return -EOPNOTSUPP;
	}
	s->raw = o->raw || !pr->bpf_loop;
	ri->mode = s->deferred ? "deferred" : "classic";
	ri->event = o->event == DP_EV_CYCLES ? "cycles" : "cpu-clock";
	ri->freq = o->freq;
	ri->period = o->period;
	ri->verify = o->verify;
	/* --raw has no program, so no evidence to repair from. */
	ri->leaf_repair = !o->no_leaf_repair && !o->kernel_only && !s->raw;
	ri->raw = s->raw;
	ri->raw_fallback = s->raw && !o->raw;
	return 0;
}

static int open_ingest(struct dp_session *s)
{
	const struct dp_collect_opts *o = s->o;
	struct dp_ingest_opts io = {
		.join = { .timeout_ns = o->join_timeout_ms * 1000000ULL,
			  .max_pending = (uint64_t)o->max_entries * 4 },
		.raw = s->raw,
		.kernel_only = o->kernel_only,
		.store = { .lookup = s->raw ? NULL : dp_progmaps__lookup_stack,
			   .forget = dp_progmaps__forget_stack, .ids = dp_progmaps__stack_ids,
			   .ctx = &s->pm },
		/* Unused for 10 s, out of the store (sooner when it fills); see stackcache.h. */
		.store_age = { .age_ns = 10000000000ULL, .scan_ns = 1000000000ULL,
			       .walk_ns = 30000000000ULL, .capacity = o->max_stacks },
	};
	struct dp_ingest_sink sink = {
		.mmap = sink_mmap, .exec = sink_exec, .fork = sink_fork, .exit = sink_exit, .ctx = s,
		.leaf_caller = o->no_leaf_repair || o->kernel_only ? NULL : sink_leaf,
	};

	if (o->verify) {
		s->verify = dp_verify__new(io.join.timeout_ns, &s->res->raw);
		if (!s->verify)
			return -ENOMEM;
	}
	if (o->record) {
		s->rec = fopen(o->record, "we");
		if (!s->rec || fwrite(DP_REC_MAGIC, 8, 1, s->rec) != 1) {
			int err = -errno;

			dp_say("cannot write the recording %s: %s", o->record, strerror(-err));
			return err;
		}
		io.rec = s->rec;
	}
	s->in = dp_ingest__new(&io, &s->res->table, s->res->comms, &sink, s->verify);
	return s->in ? 0 : -ENOMEM;
}

static int epoll_add(struct dp_session *s, int fd, uint32_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

static int open_events(struct dp_session *s)
{
	const struct dp_collect_opts *o = s->o;
	int err;

	s->ev.o = o;
	s->ev.deferred = s->deferred;
	s->ev.prog = s->raw ? NULL : s->pm.bpf.prog;
	s->ev.epfd = s->epfd;
	s->ev.on_thread = on_thread;
	s->ev.ctx = s;
	err = dp_events__init(&s->ev);
	if (err)
		return err;
	if (o->target == DP_TARGET_TID)
		dp_tasks__learn(&s->tasks, o->pid, 0);
	else if (o->target == DP_TARGET_PID && !o->child)	/* a held command: see on_thread */
		for (uint32_t i = 0; i < o->npids; i++)
			dp_tasks__learn(&s->tasks, o->pids[i], 0);
	err = dp_events__open(&s->ev);
	if (err)
		return err;
	if (o->target == DP_TARGET_CGROUP)
		snprintf(s->res->ri.target, sizeof(s->res->ri.target), "cgroup %.*s",
			 (int)sizeof(s->res->ri.target) - 8, s->ev.cgroup_dir);
	if (!s->ev.nfds && (o->target == DP_TARGET_PID || o->child)) {
		if (o->child)
			dp_say("process %d exited before profiling began", (int)o->child);
		else
			dp_watch__say_exited_early(o);
		return -ESRCH;
	}
	return 0;
}

int dp_session__open(struct dp_session **out, const struct dp_collect_opts *o,
		     const struct dp_probe *pr, const struct dp_session_hooks *hooks,
		     struct dp_session_result *res)
{
	struct dp_session *s = calloc(1, sizeof(*s));
	int err;

	*out = NULL;
	memset(res, 0, sizeof(*res));
	dp_stack_table__init(&res->table);
	dp_stack_table__init(&res->raw);
	res->us = dp_usyms__new(NULL);
	res->comms = dp_comms__new();
	if (!s || !res->us || !res->comms) {
		free(s);
		return -ENOMEM;
	}
	s->o = o;
	s->pr = pr;
	s->hooks = hooks;
	res->table.generation = res->raw.generation = table_generation;
	res->table.generation_ctx = res->raw.generation_ctx = res->us;
	/* Names too: an exec's new name does not rename the samples before it. */
	dp_comms__set_generation(res->comms, table_generation, res->us);
	s->res = res;
	s->tasks = (struct dp_tasks){ .us = res->us, .comms = res->comms };
	s->epfd = -1;
	s->pidfd = -1;
	s->pm.stats_fd = -1;
	s->ev.cgroup_fd = -1;
	err = choose_mode(s);
	if (!err)
		err = dp_watch__check_alive(o);
	if (err)
		goto fail;
	dp_watch__describe(o, &res->ri);
	if (!s->raw) {
		err = dp_progmaps__load(&s->pm, o, pr, s->deferred);
		if (err)
			goto fail;
		if (res->ri.leaf_repair) {
			const struct dp_leafgate_ops gops = {
				.write = dp_progmaps__gate_write, .erase = dp_progmaps__gate_erase,
				.ctx = &s->pm,
			};

			err = dp_gatelearn__open(&s->gl, &gops, res->us,
						 (uint64_t)o->drain_ms * 1000000ULL);
			if (err)
				goto fail;
		}
		res->ri.bpf_load_ns = s->pm.load_ns;
		dp_progmaps__drain(&s->pm, &s->drain, o->kernel_only);
	}
	err = open_ingest(s);
	if (err)
		goto fail;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		err = -errno;
		goto fail;
	}
	if (!s->raw && (err = epoll_add(s, dp_progmaps__wake_fd(&s->pm), DP_TAG_WAKE)))
		goto fail;
	s->pidfd = dp_watch__pidfd(o);
	if (s->pidfd >= 0 && (err = epoll_add(s, s->pidfd, DP_TAG_PIDFD)))
		goto fail;
	err = open_events(s);
	if (err)
		goto fail;
	res->ri.nevents = s->ev.nfds;
	if (o->verbose)
		fprintf(stderr, "deferprof: %zu perf events on %d CPUs, mode %s, program %s\n",
			s->ev.nfds, s->ev.ncpus, res->ri.mode,
			s->raw ? "none (raw)" : bpf_program__name(s->pm.bpf.prog));
	*out = s;
	return 0;
fail:
	dp_session__free(s);
	return err;
}

/*
 * The collecting thread (only it: nice is per thread on Linux) at --nice's
 * value. With every CPU busy, a reader at the target's priority was seen
 * in the guest to wake over a second late and lose thousands of records;
 * at -5 none were lost. A failure leaves the priority as it was.
 */
static void set_nice(const struct dp_collect_opts *o)
{
	id_t tid = (id_t)syscall(SYS_gettid);

	if (o->nice == DP_NICE_INHERIT)
		return;
	if (setpriority(PRIO_PROCESS, tid, o->nice)) {
		if (o->verbose)
			fprintf(stderr, "deferprof: cannot set the reader's nice value to %d (%s): it stays at %d\n",
				o->nice, strerror(errno), getpriority(PRIO_PROCESS, tid));
	}
}

int dp_session__start(struct dp_session *s)
{
	const struct dp_collect_opts *o = s->o;
	struct dp_runinfo *ri = &s->res->ri;
	struct timespec wall;
	int err;

	set_nice(o);
	clock_gettime(CLOCK_REALTIME, &wall);
	ri->start_unix_ns = (uint64_t)wall.tv_sec * 1000000000ULL + (uint64_t)wall.tv_nsec;
	s->t0 = mono_ns();
	if (!o->child && (err = dp_events__enable(&s->ev)))
		return err;
	/* The child execs only now, with every event in place (enabled on its exec). */
	if (o->release_fd >= 0 && o->child && write(o->release_fd, "g", 1) != 1) {
		err = -errno;
		dp_say("cannot start the command: %s", strerror(-err));
		return err;
	}
	err = dp_events__open_new_threads(&s->ev);
	if (err)
		return err;
	if (o->target == DP_TARGET_PID && !o->child)
		dp_tasks__learn_descendants(&s->tasks, s->o);
	ri->nevents = s->ev.nfds;
	if (o->duration > 0)
		s->deadline = s->t0 + (uint64_t)(o->duration * 1e9);
	if (o->verbose)
		fprintf(stderr, "deferprof: events enabled after %.1f ms (from main(); probe %.1f ms, BPF load %.1f ms)\n",
			o->launch_ns ? (double)(s->t0 - o->launch_ns) / 1e6 : 0.0,
			(double)s->pr->probe_ns / 1e6, (double)ri->bpf_load_ns / 1e6);
	if (s->hooks)
		s->next_tick = s->t0 + s->hooks->interval_ns;
	ri->end_reason = "signal";
	return 0;
}

/* When the loop must next wake, for a deadline that matters. */
static uint64_t next_wake(struct dp_session *s, uint64_t now, uint64_t last_round,
			  uint64_t last_check, bool check_proc)
{
	uint64_t round_ns = (uint64_t)s->o->drain_ms * 1000000ULL, wake = UINT64_MAX;

	if (s->deadline)
		wake = s->deadline;
	if (s->hooks && s->next_tick < wake)
		wake = s->next_tick;
	if (round_has_work(s) && last_round + round_ns < wake)
		wake = last_round + round_ns;
	if (dp_gatelearn__due(&s->gl, last_round) < wake)
		wake = dp_gatelearn__due(&s->gl, last_round);
	if (s->drain_soon)
		wake = now;
	if (check_proc && last_check + 1000000000ULL < wake)
		wake = last_check + 1000000000ULL;
	return wake;
}

/*
 * The loop sleeps until something needs it: a ring buffer past its
 * watermark, the program's word that a counts map is filling up, the
 * target's exit (a pidfd), the next interval, the end, or, while samples or
 * records are waiting, the next round. Nothing is read or drained on a
 * round that has nothing to do, so an idle target costs no wake-ups at all.
 */
int dp_session__poll(struct dp_session *s)
{
	const struct dp_collect_opts *o = s->o;
	struct dp_runinfo *ri = &s->res->ri;
	uint64_t round_ns = (uint64_t)o->drain_ms * 1000000ULL;
	uint64_t last_round = s->t0, last_check = s->t0, now;
	bool check_proc = s->pidfd < 0 &&
			  (o->child || o->target == DP_TARGET_PID || o->target == DP_TARGET_TID);
	struct epoll_event evs[16];
	int err = 0;

	while (!*o->stop) {
		uint64_t wake;
		bool rings = false, exited = false;
		int n, timeout;

		now = mono_ns();
		if (s->deadline && now >= s->deadline) {
			ri->end_reason = "duration";
			break;
		}
		wake = next_wake(s, now, last_round, last_check, check_proc);
		timeout = wake == UINT64_MAX ? -1 : wake <= now ? 0 :
			  (int)((wake - now + 999999) / 1000000);
		n = epoll_wait(s->epfd, evs, 16, timeout);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			dp_say("epoll_wait: %s", strerror(-err));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == DP_TAG_WAKE) {
				dp_progmaps__take_wake(&s->pm);
				s->drain_soon |= s->pm.wake_seen;
				if (s->pm.learn_seen)
					dp_gatelearn__asked(&s->gl, mono_ns());
				s->pm.wake_seen = s->pm.learn_seen = false;
			} else if (evs[i].data.u32 == DP_TAG_PIDFD) {
				exited = true;
			} else {
				rings = true;
			}
		}
		now = mono_ns();
		if (wake != UINT64_MAX && now > wake && now - wake > s->max_late)
			s->max_late = now - wake;
		if (rings) {
			err = consume_all(s);
			/* A long read of the rings (new tasks' /proc, objects) counts as a round. */
			if (mono_ns() - now > s->max_round)
				s->max_round = mono_ns() - now;
			if (err)
				break;
		}
		if (s->drain_soon || (s->hooks && now >= s->next_tick) ||
		    now >= dp_gatelearn__due(&s->gl, last_round) ||
		    (now >= last_round + round_ns && round_has_work(s))) {
			/*
			 * A map that filled up becomes the idle one in this round
			 * and is drained in the next, a few milliseconds later.
			 */
			bool again = s->drain_soon;

			s->drain_soon = false;
			dp_gatelearn__round_start(&s->gl, now);
			err = round_trip(s);
			dp_gatelearn__round_end(&s->gl);
			if (err)
				break;
			if (mono_ns() - now > s->max_round)
				s->max_round = mono_ns() - now;
			/* The counters once a second at most: a full map is said while it happens. */
			if (now >= s->last_limits + 1000000000ULL) {
				s->last_limits = now;
				read_counters(s);
				say_limits(s);
			}
			last_round = again ? now - round_ns + 5000000ULL : now;
			if (s->hooks && now >= s->next_tick) {
				err = tick(s, false);
				if (err)
					break;
				while (s->next_tick <= now)
					s->next_tick += s->hooks->interval_ns;
			}
		}
		if (check_proc && now >= last_check + 1000000000ULL) {
			last_check = now;
			exited = true;
		}
		if (exited && dp_watch__target_gone(o)) {
			ri->end_reason = "target exited";
			s->res->target_exited = true;
			break;
		}
	}
	s->err = err;
	return err;
}

int dp_session__stop(struct dp_session *s)
{
	const struct dp_collect_opts *o = s->o;
	struct dp_runinfo *ri = &s->res->ri;
	int err = s->err;

	dp_events__disable(&s->ev);
	ri->duration_s = (double)(mono_ns() - s->t0) / 1e9;
	if (o->verbose)
		fprintf(stderr, "deferprof: the loop woke at worst %.1f ms late; longest round %.1f ms\n",
			(double)s->max_late / 1e6, (double)s->max_round / 1e6);
	/* Records of tasks leaving the kernel right now still come: two more rounds. */
	for (int i = 0; i < 3 && !err; i++) {
		if (i)
			usleep(20000);
		err = round_trip(s);
	}
	if (o->verbose)	/* with what those rounds learned */
		dp_gatelearn__say(&s->gl);
	if (err)
		dp_say("error while profiling: %s; the report has what was collected", strerror(-err));
	err = dp_ingest__finish(s->in);
	if (err)
		dp_say("cannot settle the last samples: %s", strerror(-err));
	read_counters(s);
	say_limits(s);
	ri->store_capacity = o->max_stacks;
	if (!s->raw)
		dp_progmaps__read_store(&s->pm, ri, o->verbose);
	if (s->hooks) {
		int terr = tick(s, true);

		if (terr)
			dp_say("error in the periodic output: %s", strerror(-terr));
	}
	if (o->verify)
		ri->verify_diffs = dp_stack_table__diff(&s->res->table, &s->res->raw,
							o->verbose ? stderr : NULL, 20);
	if (dp_ingest__stats(s->in)->sink_errors)
		dp_say("%llu executable mappings could not be read for symbols: their addresses show as module+offset or [unmapped]",
		    (unsigned long long)dp_ingest__stats(s->in)->sink_errors);
	if (s->rec) {
		uint64_t rerr = dp_ingest__stats(s->in)->rec_errors;

		if (fclose(s->rec) || rerr)
			dp_say("the recording %s is incomplete: %llu write errors", o->record,
			    (unsigned long long)rerr);
		s->rec = NULL;
	}
	/* A profile cut short still has its report. */
	return 0;
}

void dp_session__free(struct dp_session *s)
{
	if (!s)
		return;
	dp_events__free(&s->ev);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->pidfd >= 0)
		close(s->pidfd);
	dp_drain__free(&s->drain);
	if (s->pm.bpf.skel || s->pm.stats_fd >= 0)
		dp_progmaps__free(&s->pm);
	dp_ingest__free(s->in);
	dp_verify__free(s->verify);
	dp_gatelearn__free(&s->gl);
	if (s->rec)
		fclose(s->rec);
	free(s);
}

int dp_session__run(const struct dp_collect_opts *o, const struct dp_probe *pr,
		    const struct dp_session_hooks *hooks, struct dp_session_result *res)
{
	struct dp_session *s;
	int err = dp_session__open(&s, o, pr, hooks, res);

	if (err)
		return err;
	err = dp_session__start(s);
	if (!err) {
		err = dp_session__poll(s);
		(void)err;	/* a profile cut short still has its report */
		err = dp_session__stop(s);
	}
	dp_session__free(s);
	return err;
}

void dp_session_result__free(struct dp_session_result *res)
{
	dp_stack_table__clear(&res->table);
	dp_stack_table__clear(&res->raw);
	dp_usyms__free(res->us);
	dp_comms__free(res->comms);
	res->us = NULL;
	res->comms = NULL;
}
