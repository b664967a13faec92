// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "bpfload.h"
#include "deferprof.skel.h"
#include "join.h"
#include "perf_abi.h"
#include "profile.h"
#include "record.h"
#include "recording.h"
#include "ring.h"
#include "samplelog.h"
#include "session.h"
#include "target.h"
#include "usyms.h"
#include "uthash.h"

/* epoll tags beside the ring buffers' CPU indices */
#define DP_TAG_WAKE	0xfffffffeU
#define DP_TAG_PIDFD	0xfffffffdU

#ifndef ENOTSUPP
#define ENOTSUPP 524	/* the kernel's, for operations a map type lacks */
#endif

volatile sig_atomic_t dp_stop, dp_stop_signal;
uint64_t dp_launch_ns;

static void on_signal(int sig)
{
	dp_stop_signal = sig;
	dp_stop = 1;
}

void dp_session__install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * A stack of the BPF store, read once. A whole chain (DP_STACK_CHAIN) is
 * split into its parts here, once; a kernel or user stack is one part.
 * Each part's hash is kept for the join.
 */
struct cached_stack {
	UT_hash_handle hh;
	uint64_t id;
	uint32_t kind;		/* DP_STACK_* */
	bool bad;		/* a chain that does not split */
	bool has_user;		/* a chain with a user part */
	uint32_t kfirst, knr, ufirst, unr;
	uint64_t khash, uhash;
	uint32_t nr;
	uint64_t ips[];
};

struct tid_ent {
	UT_hash_handle hh;
	uint32_t tid;
};

struct cpu_ring {
	int fd;			/* the event whose buffer this is, -1 if none yet */
	void *base;
	struct dp_ring ring;
};

struct session {
	const struct dp_opts *o;
	const struct dp_probe *pr;
	bool deferred;
	pid_t child;
	struct dp_bpf bpf;
	struct deferprof_bpf *skel;	/* bpf.skel */
	struct ring_buffer *wake;	/* the program's "drain me" words */
	int pidfd;			/* readable when the target process exits, or -1 */
	int cgroup_fd;			/* --cgroup: the group's directory, or -1 */
	int stats_fd;			/* -v: keeps the kernel's BPF run-time stats on, or -1 */
	struct dp_log *logs;		/* the per-CPU sample logs, mmapped */
	size_t logs_len;
	uint32_t nlogs;
	int *fds;
	struct bpf_link **links;
	size_t nfds, capfds;
	int *cpus, ncpus;
	uint64_t malformed_rec;	/* records that failed to parse */
	struct cpu_ring *rings;	/* indexed like cpus */
	size_t mmap_len;
	int epfd;
	struct dp_join *join, *vjoin;
	struct cached_stack *stack_cache;
	uint32_t last_tid;		/* take_entry(): the thread already seen to */
	uint32_t last_rec_pid;		/* on_record(): the process already seen to */
	struct tid_ent *covered;	/* threads with their own events (-p) */
	struct dp_key_buf {
		struct dp_sample_key *keys;
		struct dp_sample_val *vals;
		size_t cap;
	} kb;
	bool raw;		/* no BPF program: --raw, or a kernel without bpf_loop() */
	bool no_batch;		/* the kernel lacks lookup_and_delete_batch for hash maps */
	bool drain_soon;	/* a map filled up: drain it as soon as it is idle */
	FILE *rec;		/* --record */
	uint64_t rec_errors;
	uint64_t drains, batch_calls;
	struct dp_session_result *res;
	uint64_t t0;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("deferprof: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static int online_cpus(int **out)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "re");
	int *cpus = NULL, n = 0, a, b;
	char c;

	if (!f)
		return -errno;
	while (fscanf(f, "%d", &a) == 1) {
		b = a;
		c = (char)fgetc(f);
		if (c == '-') {
			if (fscanf(f, "%d", &b) != 1)
				break;
			c = (char)fgetc(f);
		}
		for (int i = a; i <= b; i++) {
			int *nc = realloc(cpus, (size_t)(n + 1) * sizeof(*nc));

			if (!nc) {
				free(cpus);
				fclose(f);
				return -ENOMEM;
			}
			cpus = nc;
			cpus[n++] = i;
		}
		if (c != ',')
			break;
	}
	fclose(f);
	if (!n) {
		free(cpus);
		return -EINVAL;
	}
	*out = cpus;
	return n;
}

static void read_comm(struct session *s, uint32_t pid, uint32_t tid)
{
	char path[96], comm[32] = "";
	FILE *f;

	if (dp_comms__get(s->res->comms, tid))
		return;
	snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(comm, sizeof(comm), f)) {
		comm[strcspn(comm, "\n")] = 0;
		dp_comms__set(s->res->comms, pid, tid, comm);
	}
	fclose(f);
}

/* First sight of a process: snapshot its mappings while it is alive. */
static void ensure_proc(struct session *s, uint32_t pid)
{
	if (pid && !dp_usyms__known(s->res->us, pid))
		dp_usyms__snapshot(s->res->us, pid);
}

static void perf_attr(const struct session *s, struct perf_event_attr *a, bool inherit)
{
	const struct dp_opts *o = s->o;

	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	if (o->event == DP_EV_CYCLES) {
		a->type = PERF_TYPE_HARDWARE;
		a->config = PERF_COUNT_HW_CPU_CYCLES;
	} else {
		a->type = PERF_TYPE_SOFTWARE;
		a->config = PERF_COUNT_SW_CPU_CLOCK;
	}
	if (o->freq) {
		a->freq = 1;
		a->sample_freq = o->freq;
	} else {
		a->sample_period = o->period;
	}
	a->sample_type = DP_SAMPLE_TYPE;
	a->sample_id_all = 1;
	a->disabled = 1;
	/* A started command (or the demo) is profiled from its exec on. */
	a->enable_on_exec = s->child != 0;
	a->inherit = inherit;
	/* Side-band records: symbols of new mappings, thread names, exits. */
	a->mmap = 1;
	a->mmap2 = 1;
	a->comm = 1;
	a->comm_exec = 1;
	a->task = 1;
	a->watermark = 1;
	a->wakeup_watermark = (uint32_t)(s->o->ring_pages * (uint32_t)sysconf(_SC_PAGESIZE) / 4);
	if (o->kernel_only)
		a->exclude_callchain_user = 1;
	if (o->user_only)
		a->exclude_callchain_kernel = 1;
	if (s->deferred && !o->kernel_only) {
		dp_attr_set_flag(a, DP_ATTR_DEFER_CALLCHAIN_BIT, 1);
		dp_attr_set_flag(a, DP_ATTR_DEFER_OUTPUT_BIT, 1);
	}
}

static int open_error(int err, int pid, int cpu)
{
	switch (err) {
	case EACCES:
	case EPERM:
		say("cannot open perf event (pid %d, cpu %d): %s; run as root, or lower kernel.perf_event_paranoid", pid, cpu, strerror(err));
		break;
	case EMFILE:
	case ENFILE:
		say("too many open files for %d-thread x CPU events: raise the limit (ulimit -n)", pid);
		break;
	case ENOENT:
	case EOPNOTSUPP:
		say("this event is not supported here (%s): try -e cpu-clock", strerror(err));
		break;
	default:
		say("cannot open perf event (pid %d, cpu %d): %s", pid, cpu, strerror(err));
	}
	return -err;
}

static int add_fd(struct session *s, int fd)
{
	if (s->nfds == s->capfds) {
		size_t cap = s->capfds ? s->capfds * 2 : 64;
		int *nf = realloc(s->fds, cap * sizeof(*nf));
		struct bpf_link **nl;

		if (!nf)
			return -ENOMEM;
		s->fds = nf;
		nl = realloc(s->links, cap * sizeof(*nl));
		if (!nl)
			return -ENOMEM;
		s->links = nl;
		s->capfds = cap;
	}
	s->fds[s->nfds] = fd;
	s->links[s->nfds] = NULL;
	s->nfds++;
	return 0;
}

/* Open one event, route its output to its CPU's ring buffer, attach BPF. */
static int open_one(struct session *s, int pid, int ci, bool inherit, bool enable)
{
	struct perf_event_attr a;
	struct cpu_ring *r = &s->rings[ci];
	struct epoll_event ev = { .events = EPOLLIN };
	size_t idx;
	int fd, err;

	perf_attr(s, &a, inherit);
	fd = (int)syscall(SYS_perf_event_open, &a, pid, s->cpus[ci], -1,
			  PERF_FLAG_FD_CLOEXEC | (s->cgroup_fd >= 0 ? PERF_FLAG_PID_CGROUP : 0));
	if (fd < 0 && errno == ENOENT && s->cgroup_fd >= 0) {
		/*
		 * The group has no perf_event state. On cgroup v2 the controller
		 * is implicit, but the kernel gives it to new groups only once
		 * their parent's subtree_control has been written (systemd does;
		 * a bare system may not): seen in a busybox guest of Linux 7.2.
		 */
		say("the cgroup has no perf_event controller state: on a system where nothing wrote cgroup.subtree_control, enable any controller in the parent (e.g. echo +pids > PARENT/cgroup.subtree_control) and create the group again");
		return -ENOENT;
	}
	if (fd < 0)
		return errno == ESRCH ? -ESRCH : open_error(errno, pid, s->cpus[ci]);
	err = add_fd(s, fd);
	if (err) {
		close(fd);
		return err;
	}
	idx = s->nfds - 1;
	if (r->fd < 0) {
		r->base = mmap(NULL, s->mmap_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (r->base == MAP_FAILED) {
			err = -errno;
			r->base = NULL;
			say("cannot map the ring buffer of CPU %d (%zu KiB): %s; try a smaller --ring-pages or raise kernel.perf_event_mlock_kb",
			    s->cpus[ci], s->mmap_len / 1024, strerror(-err));
			return err;
		}
		err = dp_ring__init(&r->ring, r->base, s->mmap_len - (size_t)sysconf(_SC_PAGESIZE));
		if (err)
			return err;
		r->fd = fd;
		ev.data.u32 = (uint32_t)ci;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev))
			return -errno;
	} else if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, r->fd)) {
		err = -errno;
		say("cannot share CPU %d's ring buffer: %s", s->cpus[ci], strerror(-err));
		return err;
	}
	if (s->raw)
		goto attached;	/* --raw: samples go through the ring buffer */
	s->links[idx] = bpf_program__attach_perf_event(s->bpf.prog, fd);
	if (!s->links[idx]) {
		err = -errno;
		say("cannot attach the BPF program to a perf event: %s", strerror(-err));
		return err;
	}
attached:
	if (enable && ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)) {
		err = -errno;
		say("cannot enable a perf event: %s", strerror(-err));
		return err;
	}
	return 0;
}

/* Events of one thread on every CPU; a thread that is gone is skipped. */
static int open_thread(struct session *s, uint32_t tid, bool inherit, bool enable)
{
	struct tid_ent *t;
	int err;

	HASH_FIND(hh, s->covered, &tid, sizeof(tid), t);
	if (t)
		return 0;
	for (int ci = 0; ci < s->ncpus; ci++) {
		err = open_one(s, (int)tid, ci, inherit, enable);
		if (err == -ESRCH)
			return 0;
		if (err)
			return err;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->tid = tid;
	HASH_ADD(hh, s->covered, tid, sizeof(tid), t);
	return 0;
}

static int open_process(struct session *s, uint32_t pid, bool enable)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%u/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)) && !err) {
		char *end;
		unsigned long tid = strtoul(de->d_name, &end, 10);

		if (de->d_name[0] == '.' || *end)
			continue;
		err = open_thread(s, (uint32_t)tid, true, enable);
		read_comm(s, pid, (uint32_t)tid);
	}
	closedir(d);
	return err;
}

/*
 * --cgroup: the group's directory under the cgroup2 mount, found in
 * /proc/mounts (not always /sys/fs/cgroup: hybrid layouts have it at
 * /sys/fs/cgroup/unified). Its descriptor is the pid of per-CPU events with
 * PERF_FLAG_PID_CGROUP: they count only while a task of the group (or of a
 * group below it) runs, tasks that join later included. Such per-CPU events
 * are not inherited (nothing to inherit), and the side-band records that
 * deferprof asks for (mmap, comm, task) reach them as they do -a's.
 */
static int open_cgroup(struct session *s)
{
	char mnt[PATH_MAX], dir[PATH_MAX];
	FILE *f = fopen("/proc/mounts", "re");
	int err;

	if (!f) {
		err = -errno;
		say("cannot read /proc/mounts to find the cgroup2 mount: %s", strerror(-err));
		return err;
	}
	err = dp_mounts__cgroup2(f, mnt, sizeof(mnt));
	fclose(f);
	if (err == -ENOENT) {
		say("--cgroup needs cgroup v2, and /proc/mounts has no cgroup2 mount: mount one (mount -t cgroup2 none /sys/fs/cgroup/unified) or use -p");
		return err;
	}
	if (!err)
		err = dp_cgroup__dir(mnt, s->o->cgroup, dir, sizeof(dir));
	if (err) {
		say("cgroup path '%s' is too long", s->o->cgroup);
		return err;
	}
	s->cgroup_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->cgroup_fd < 0) {
		err = -errno;
		say("cannot open cgroup %s: %s; give a path relative to the cgroup2 mount %s, or an absolute one", dir, strerror(-err), mnt);
		return err;
	}
	snprintf(s->res->ri.target, sizeof(s->res->ri.target), "cgroup %.*s",
		 (int)sizeof(s->res->ri.target) - 8, dir);
	return 0;
}

static uint64_t count_threads(uint32_t pid)
{
	char path[64], line[256];
	unsigned long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %lu", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * Per-task events take one descriptor per thread and CPU, and a BPF link
 * each: raise the soft RLIMIT_NOFILE to the hard one when that is needed,
 * and say what to do when even that is too low.
 */
static int fit_fd_limit(struct session *s)
{
	const struct dp_opts *o = s->o;
	uint64_t threads = 0, need;
	struct rlimit rl;

	for (uint32_t i = 0; i < o->npids; i++)
		threads += count_threads(o->pids[i]);
	/* Threads started meanwhile, the rings, the BPF maps and the outputs: some room. */
	need = (threads + threads / 8) * (uint64_t)s->ncpus * (s->raw ? 1 : 2) + 256;
	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		int err = -errno;

		say("cannot read the open-file limit: %s", strerror(-err));
		return err;
	}
	if (need <= rl.rlim_cur)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && need > rl.rlim_max) {
		say("%llu threads x %d CPUs need about %llu file descriptors, above the hard limit of %llu: raise it (as root: ulimit -Hn %llu; for a service, LimitNOFILE=), or use --cgroup or -a, which need one per CPU",
		    (unsigned long long)threads, s->ncpus, (unsigned long long)need,
		    (unsigned long long)rl.rlim_max, (unsigned long long)need);
		return -EMFILE;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		int err = -errno;

		say("cannot raise the open-file limit to %llu for %llu threads x %d CPUs: %s; raise it with ulimit -n",
		    (unsigned long long)rl.rlim_max, (unsigned long long)threads, s->ncpus, strerror(-err));
		return err;
	}
	if (o->verbose)
		fprintf(stderr, "deferprof: open-file limit raised to %llu for %llu threads x %d CPUs\n",
			(unsigned long long)rl.rlim_max, (unsigned long long)threads, s->ncpus);
	return 0;
}

/* -p: every listed process; one that is gone by now is left out. */
static int open_processes(struct session *s)
{
	int err;

	for (uint32_t i = 0; i < s->o->npids; i++) {
		ensure_proc(s, s->o->pids[i]);
		err = open_process(s, s->o->pids[i], false);
		if (err && err != -ENOENT)
			return err;
	}
	return 0;
}

static const struct cached_stack *get_stack(struct session *s, uint64_t id)
{
	struct cached_stack *c;
	struct dp_stack st;

	if (!id)
		return NULL;
	HASH_FIND(hh, s->stack_cache, &id, sizeof(id), c);
	if (c)
		return c;
	if (bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.stacks), &id, &st))
		return NULL;
	if (st.nr > DP_MAX_STACK)
		st.nr = DP_MAX_STACK;
	c = malloc(sizeof(*c) + st.nr * sizeof(uint64_t));
	if (!c)
		return NULL;
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->kind = st.user;
	c->nr = st.nr;
	memcpy(c->ips, st.ips, st.nr * sizeof(uint64_t));
	if (c->kind == DP_STACK_CHAIN) {
		struct dp_chain ch;

		if (dp_chain__split(c->ips, c->nr, &ch) || ch.form == DP_CHAIN_DEFERRED) {
			c->bad = true;
		} else {
			c->kfirst = ch.kips ? (uint32_t)(ch.kips - c->ips) : 0;
			c->knr = ch.knr;
			c->has_user = ch.form == DP_CHAIN_CLASSIC;
			c->ufirst = ch.uips ? (uint32_t)(ch.uips - c->ips) : 0;
			c->unr = ch.unr;
		}
	} else if (c->kind == DP_STACK_USER) {
		c->unr = c->nr;
	} else {
		c->knr = c->nr;
	}
	c->khash = dp_stack__part_hash(c->ips + c->kfirst, c->knr);
	c->uhash = dp_stack__part_hash(c->ips + c->ufirst, c->unr);
	HASH_ADD(hh, s->stack_cache, id, sizeof(id), c);
	return c;
}

static int feed_join(struct session *s, const struct dp_join_sample *js, uint64_t now);

/* One drained entry of the counts map, into the join. */
static int take_entry(struct session *s, const struct dp_sample_key *k, uint64_t count,
		      uint64_t now)
{
	const struct cached_stack *ks, *us;
	struct dp_join_sample js;
	uint32_t kf = k->flags;
	bool deferred = kf & DP_KEY_DEFERRED;

	ks = get_stack(s, k->kstack_id);
	us = get_stack(s, k->ustack_id);
	if (kf & DP_KEY_CHAIN) {	/* both parts in one stored chain */
		if (ks && ks->bad) {
			s->malformed_rec++;
			ks = NULL;
		}
		if (!ks)
			kf |= DP_KEY_KSTACK_LOST;
		else if (ks->has_user)
			kf |= DP_KEY_USER_INLINE;
		us = ks && ks->has_user ? ks : NULL;
	} else {
		if (k->kstack_id && !ks)
			kf |= DP_KEY_KSTACK_LOST;
		if (k->ustack_id && !us)
			kf |= DP_KEY_USTACK_LOST;
	}
	memset(&js, 0, sizeof(js));
	js.pid = k->pid;
	js.tid = k->tid;
	js.cookie = deferred && !s->o->kernel_only ? k->cookie : 0;
	js.flags = dp_key__stk_flags(kf, !deferred && !(kf & DP_KEY_USER_INLINE));
	if (s->o->kernel_only)
		js.flags |= DP_STK_NO_USER;
	js.kips = ks ? ks->ips + ks->kfirst : NULL;
	js.knr = ks ? ks->knr : 0;
	js.khash = ks ? ks->khash : 0;
	js.uips = us ? us->ips + us->ufirst : NULL;
	js.unr = us ? us->unr : 0;
	js.uhash = us ? us->uhash : 0;
	js.count = count;
	return feed_join(s, &js, now);
}

/* A drained sample into the join (and the recording, with --record). */
static int feed_join(struct session *s, const struct dp_join_sample *js, uint64_t now)
{
	if (js->tid != s->last_tid) {	/* a thread's samples come in runs */
		ensure_proc(s, js->pid);
		read_comm(s, js->pid, js->tid);
		s->last_tid = js->tid;
	}
	if (s->rec) {
		struct dp_rec_sample rs = {
			.pid = js->pid, .tid = js->tid, .cookie = js->cookie, .flags = js->flags,
			.knr = js->knr, .unr = js->unr, .count = js->count,
		};

		if (dp_rec__put(s->rec, DP_REC_SAMPLE, &rs, sizeof(rs), js->kips, js->knr * 8,
				js->uips, js->unr * 8))
			s->rec_errors++;
	}
	return dp_join__add_sample(s->join, js, now);
}

static int grow_kb(struct session *s, size_t need)
{
	struct dp_sample_key *nk;
	struct dp_sample_val *nv;

	if (need <= s->kb.cap)
		return 0;
	nk = realloc(s->kb.keys, need * sizeof(*nk));
	if (!nk)
		return -ENOMEM;
	s->kb.keys = nk;
	nv = realloc(s->kb.vals, need * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	s->kb.vals = nv;
	s->kb.cap = need;
	return 0;
}

/*
 * Move every entry of the idle counts map into the join, then make it the
 * active one. The idle map has had no writer since the previous flip, a
 * whole drain interval ago, so taking its entries loses no increment.
 */
static int drain(struct session *s, uint64_t now)
{
	__u32 idle;
	int fd;
	struct dp_sample_key key, next, *prev = NULL;
	size_t n = 0, chunk = s->o->max_entries < 4096 ? s->o->max_entries : 4096;
	int err;

	idle = (s->skel->bss->active & 1) ^ 1;
	fd = bpf_map__fd(idle ? s->skel->maps.counts1 : s->skel->maps.counts0);

	/* The program counts the entries it adds: an empty map is not walked. */
	if (!__atomic_load_n(&s->skel->bss->filled[idle], __ATOMIC_ACQUIRE)) {
		s->skel->bss->active = idle;
		return 0;
	}
	err = grow_kb(s, chunk);
	if (err)
		return err;
	s->drains++;
	if (!s->no_batch) {
		__u32 count;
		struct dp_sample_key token;
		bool first = true;

		for (;;) {
			/* The buffer grows with what one interval brings, not with the map's size. */
			if (s->kb.cap - n < chunk && (err = grow_kb(s, s->kb.cap * 2)))
				return err;
			count = (__u32)(s->kb.cap - n);
			err = bpf_map_lookup_and_delete_batch(fd, first ? NULL : &token, &token,
							      s->kb.keys + n, s->kb.vals + n,
							      &count, NULL);
			s->batch_calls++;
			first = false;
			n += count;
			if (!err)
				continue;
			if (errno == ENOENT)
				break;	/* done: the last batch came with ENOENT */
			if (errno == ENOSPC && (err = grow_kb(s, s->kb.cap * 2)) == 0)
				continue;	/* a bucket holds more than the room left */
			if (err && n == 0 && (errno == EINVAL || errno == ENOTSUPP || errno == EOPNOTSUPP)) {
				s->no_batch = true;	/* kernel < 5.6 */
				break;
			}
			err = err < 0 && errno ? -errno : err;
			say("cannot drain the counts map: %s", strerror(-err));
			return err;
		}
	}
	if (s->no_batch) {
		while (!bpf_map_get_next_key(fd, prev, &next)) {
			if (n == s->kb.cap && (err = grow_kb(s, s->kb.cap * 2)))
				return err;
			key = next;
			prev = &key;
			if (bpf_map_lookup_elem(fd, &key, &s->kb.vals[n]))
				continue;
			s->kb.keys[n++] = key;
		}
		for (size_t i = 0; i < n; i++)
			bpf_map_delete_elem(fd, &s->kb.keys[i]);
	}
	/* Empty again; nothing writes it until the flip below. */
	s->skel->bss->filled[idle] = 0;
	s->skel->bss->woken[idle] = 0;
	err = 0;
	for (size_t i = 0; i < n && !err; i++)
		err = take_entry(s, &s->kb.keys[i], s->kb.vals[i].count, now);
	/* New samples go to the map just emptied. */
	__atomic_store_n(&s->skel->bss->active, idle, __ATOMIC_RELEASE);
	return err;
}

/* --verify: a raw sample stitched as perf does, into the second table. */
static int raw_sample(struct session *s, struct dp_join *j, const struct dp_record *r,
		      uint64_t now)
{
	struct dp_join_sample js;
	struct dp_chain ch;

	if (dp_chain__split(r->sample.ips, r->sample.nr, &ch)) {
		s->malformed_rec++;
		return 0;
	}
	memset(&js, 0, sizeof(js));
	js.pid = r->id.pid;
	js.tid = r->id.tid;
	js.count = 1;
	js.kips = ch.kips;
	js.knr = ch.knr;
	if (js.knr > DP_MAX_STACK) {
		js.knr = DP_MAX_STACK;
		js.flags |= DP_STK_KTRUNC;
	}
	switch (ch.form) {
	case DP_CHAIN_DEFERRED:
		js.cookie = ch.cookie;
		break;
	case DP_CHAIN_CLASSIC:
		js.uips = ch.uips;
		js.unr = ch.unr > DP_MAX_STACK ? DP_MAX_STACK : ch.unr;
		if (ch.unr > DP_MAX_STACK)
			js.flags |= DP_STK_UTRUNC;
		break;
	default:
		js.flags |= DP_STK_NO_USER;
	}
	s->res->ri.verify_raw_samples++;
	if (j == s->join) {
		ensure_proc(s, js.pid);
		read_comm(s, js.pid, js.tid);
	}
	return dp_join__add_sample(j, &js, now);
}

static int on_record(const void *buf, size_t len, void *ctx)
{
	struct session *s = ctx;
	struct dp_runinfo *ri = &s->res->ri;
	struct dp_record r;
	int err;

	s->res->ri.ring_records++;
	s->res->ri.ring_bytes += len;
	if (s->rec && dp_rec__put(s->rec, DP_REC_RING, buf, (uint32_t)len, NULL, 0, NULL, 0))
		s->rec_errors++;
	err = dp_record__parse(buf, len, DP_SAMPLE_TYPE, &r);
	if (err == -ENOENT)
		return 0;
	if (err) {
		s->malformed_rec++;
		return 0;
	}
	switch (r.type) {
	case DP_RECORD_CALLCHAIN_DEFERRED: {
		uint32_t nr = r.deferred.nr > DP_MAX_STACK ? DP_MAX_STACK : (uint32_t)r.deferred.nr;

		if (r.id.pid != s->last_rec_pid) {	/* records come in runs of one process */
			ensure_proc(s, r.id.pid);
			s->last_rec_pid = r.id.pid;
		}
		err = dp_join__add_record(s->join, r.id.pid, r.id.tid, r.deferred.cookie,
					  r.deferred.ips, nr);
		if (!err && s->vjoin)
			err = dp_join__add_record(s->vjoin, r.id.pid, r.id.tid, r.deferred.cookie,
						  r.deferred.ips, nr);
		return err;
	}
	case PERF_RECORD_SAMPLE:
		if (s->raw)
			return raw_sample(s, s->join, &r, mono_ns());
		if (s->vjoin)
			return raw_sample(s, s->vjoin, &r, mono_ns());
		return 0;
	case PERF_RECORD_LOST:
		ri->lost_records += r.lost.lost;
		ri->lost_events++;
		dp_join__records_lost(s->join, r.lost.lost);
		if (s->vjoin)
			dp_join__records_lost(s->vjoin, r.lost.lost);
		return 0;
	case PERF_RECORD_MMAP2:
		if (r.mmap.prot & PROT_EXEC) {
			ensure_proc(s, r.mmap.pid);
			dp_usyms__add_mmap(s->res->us, r.mmap.pid, r.mmap.start, r.mmap.len,
					   r.mmap.pgoff, r.mmap.filename);
		}
		return 0;
	case PERF_RECORD_COMM:
		dp_comms__set(s->res->comms, r.comm.pid, r.comm.tid, r.comm.comm);
		if (r.comm.exec)
			dp_usyms__exec(s->res->us, r.comm.pid);
		return 0;
	case PERF_RECORD_FORK:
		if (r.task.pid != r.task.ppid)
			ensure_proc(s, r.task.pid);
		{
			const char *c = dp_comms__get(s->res->comms, r.task.ptid);

			/*
			 * A new task starts with its parent's name, unless its own COMM
			 * record (a rename, read from another CPU's buffer) came first.
			 */
			if (c && !dp_comms__get(s->res->comms, r.task.tid))
				dp_comms__set(s->res->comms, r.task.pid, r.task.tid, c);
		}
		return 0;
	case PERF_RECORD_EXIT:
		dp_join__task_exit(s->join, r.task.tid);
		if (s->vjoin)
			dp_join__task_exit(s->vjoin, r.task.tid);
		return 0;
	}
	return 0;
}

static int consume_all(struct session *s)
{
	int err = 0;

	pthread_mutex_lock(&s->res->lock);
	for (int ci = 0; ci < s->ncpus && !err; ci++) {
		if (s->rings[ci].fd < 0 || !dp_ring__pending(&s->rings[ci].ring))
			continue;
		err = dp_ring__consume(&s->rings[ci].ring, on_record, s);
	}
	pthread_mutex_unlock(&s->res->lock);
	return err;
}

/* The program's per-CPU logs of deferred samples, shared memory with it. */
static int map_logs(struct session *s)
{
	const struct bpf_map *m = s->skel->maps.logs;
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	_Static_assert(sizeof(struct dp_log) % 8 == 0, "array elements are 8-byte aligned");
	s->nlogs = bpf_map__max_entries(m);
	s->logs_len = (sizeof(struct dp_log) * s->nlogs + pg - 1) / pg * pg;
	p = mmap(NULL, s->logs_len, PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(m), 0);
	if (p == MAP_FAILED) {
		int err = -errno;

		say("cannot map the BPF sample logs (%zu KiB): %s", s->logs_len / 1024, strerror(-err));
		return err;
	}
	s->logs = p;
	return 0;
}

static bool logs_hold_samples(const struct session *s)
{
	for (uint32_t c = 0; c < s->nlogs; c++)
		if (__atomic_load_n(&s->logs[c].head, __ATOMIC_ACQUIRE) != s->logs[c].tail)
			return true;
	return false;
}

struct log_feed {
	struct session *s;
	uint64_t now;		/* the round's time */
};

static int log_sample(const struct dp_join_sample *js, void *ctx)
{
	const struct log_feed *f = ctx;

	return feed_join(f->s, js, f->now);
}

/* Every sample the logs hold, into the join, one entry per sample. */
static int drain_logs(struct session *s, uint64_t now)
{
	struct dp_samplelog_stats st = { 0 };
	struct log_feed feed = { .s = s, .now = now };
	int err = 0;

	for (uint32_t c = 0; c < s->nlogs && !err; c++) {
		struct dp_log *l = &s->logs[c];
		uint64_t head = __atomic_load_n(&l->head, __ATOMIC_ACQUIRE), t;

		t = dp_samplelog__read(l, l->tail, head, s->o->kernel_only, &st, log_sample, &feed,
				       &err);
		/* The space is the program's again; so is the half-full word. */
		__atomic_store_n(&l->tail, t, __ATOMIC_RELEASE);
		__atomic_store_n(&l->woken, 0, __ATOMIC_RELEASE);
	}
	s->res->ri.log_entries += st.entries;
	s->res->ri.log_bytes += st.bytes;
	s->malformed_rec += st.malformed;
	return err;
}

/* Samples in either counts map or a log, by the program's own counts (no system call). */
static bool maps_hold_samples(const struct session *s)
{
	return !s->raw && (__atomic_load_n(&s->skel->bss->filled[0], __ATOMIC_ACQUIRE) ||
			   __atomic_load_n(&s->skel->bss->filled[1], __ATOMIC_ACQUIRE) ||
			   logs_hold_samples(s));
}

/* Samples in the program's maps or logs, or groups in the join: a round has work. */
static bool round_has_work(const struct session *s)
{
	return maps_hold_samples(s) || dp_join__pending(s->join);
}

/* One round: read every buffer, drain the map, let the join retire what it can. */
static int round_trip(struct session *s)
{
	uint64_t now;
	int err;

	err = consume_all(s);
	if (err)
		return err;
	now = mono_ns();
	pthread_mutex_lock(&s->res->lock);
	if (!s->raw) {	/* --raw has no program, no maps */
		err = drain(s, now);
		if (!err)
			err = drain_logs(s, now);
	}
	pthread_mutex_unlock(&s->res->lock);
	if (err)
		return err;
	if (s->rec && dp_rec__put(s->rec, DP_REC_ROUND, &now, sizeof(now), NULL, 0, NULL, 0))
		s->rec_errors++;
	err = dp_join__end_round(s->join, now);
	if (!err && s->vjoin)
		err = dp_join__end_round(s->vjoin, now);
	return err;
}

/*
 * State and flags of a task from /proc/PID/stat ("pid (comm) S ppid ..."; comm
 * may hold spaces and parentheses). Returns -errno when the task is gone.
 */
static int read_stat(uint32_t pid, char *state, unsigned long *flags)
{
	char path[64], buf[1024];
	size_t n;
	char *rp;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	rp = strrchr(buf, ')');
	/* After ')': state(3) ppid pgrp session tty_nr tpgid flags(9). */
	if (!rp || sscanf(rp + 1, " %c %*d %*d %*d %*d %*d %lu", state, flags) != 2)
		return -EINVAL;
	return 0;
}

/* A task that exists and is neither a zombie nor dead. */
static bool task_alive(uint32_t pid)
{
	unsigned long flags;
	char state;

	return !read_stat(pid, &state, &flags) && state != 'Z' && state != 'X';
}

static bool target_gone(struct session *s)
{
	if (s->child) {
		siginfo_t si;

		/* Not reaped: whoever started it collects its status. */
		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)s->child, &si, WEXITED | WNOHANG | WNOWAIT))
			return errno == ECHILD;
		return si.si_pid == s->child;
	}
	if (s->o->target == DP_TARGET_TID)
		return !task_alive(s->o->pid);
	if (s->o->target != DP_TARGET_PID)
		return false;
	/* -p: the profile ends when the last of its processes has. */
	for (uint32_t i = 0; i < s->o->npids; i++)
		if (task_alive(s->o->pids[i]))
			return false;
	return true;
}

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL	/* Linux >= 6.9: a pidfd for one thread */
#endif

/*
 * A descriptor that becomes readable when the target exits, so that the
 * loop sleeps instead of polling /proc. -1 when the kernel cannot give one
 * (< 5.3, or a thread before 6.9): the loop then checks /proc once a second.
 */
static int target_pidfd(const struct session *s)
{
	pid_t pid = s->child ? s->child : (pid_t)s->o->pid;
	unsigned int flags = 0;

	if (!s->child && s->o->target == DP_TARGET_TID)
		flags = PIDFD_THREAD;
	else if (!s->child && (s->o->target != DP_TARGET_PID || s->o->npids > 1))
		return -1;	/* several processes: /proc is checked once a second */
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

static int load_bpf(struct session *s)
{
	uint64_t t0 = mono_ns();
	int err = dp_bpf__load(&s->bpf, s->o, s->pr);

	if (err)
		return err;
	s->skel = s->bpf.skel;
	s->res->ri.bpf_load_ns = mono_ns() - t0;
	err = map_logs(s);
	if (err)
		return err;
	/*
	 * -vv turns the kernel's BPF run-time statistics on for the run (they
	 * cost two clock reads per sample); -v reports them when they are on,
	 * by -vv or kernel.bpf_stats_enabled.
	 */
	if (s->o->verbose >= 2)
		s->stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	return 0;
}

static int on_wake(void *ctx, void *data, size_t len)
{
	struct session *s = ctx;

	(void)data;
	(void)len;
	s->drain_soon = true;
	return 0;
}

static void read_stats(struct session *s)
{
	int fd = bpf_map__fd(s->skel->maps.stats), ncpu = libbpf_num_possible_cpus();
	struct dp_runinfo *ri = &s->res->ri;
	struct dp_stats *vals;
	uint32_t zero = 0;

	if (ncpu <= 0)
		return;
	vals = calloc((size_t)ncpu, sizeof(*vals));
	if (!vals)
		return;
	if (!bpf_map_lookup_elem(fd, &zero, vals)) {
		for (uint32_t i = 0; i < DP_STAT_MAX; i++) {
			ri->bpf[i] = 0;
			for (int c = 0; c < ncpu; c++)
				ri->bpf[i] += vals[c].v[i];
		}
	}
	free(vals);
}

/* Distinct stacks in the BPF store: one walk of the map, at the end. */
static void read_store(struct session *s)
{
	struct dp_runinfo *ri = &s->res->ri;
	uint64_t id, *prev = NULL, next;
	int fd;

	ri->store_stacks = 0;
	ri->store_capacity = s->o->max_stacks;
	if (s->raw)
		return;
	if (s->o->verbose) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(bpf_program__fd(s->bpf.prog), &info, &len)) {
			ri->bpf_run_cnt = info.run_cnt;
			ri->bpf_run_ns = info.run_time_ns;
		}
	}
	fd = bpf_map__fd(s->skel->maps.stacks);
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		ri->store_stacks++;
		id = next;
		prev = &id;
	}
	ri->store_capacity = s->o->max_stacks;
}

static void teardown(struct session *s)
{
	struct cached_stack *c, *ct;
	struct tid_ent *t, *tt;

	for (size_t i = 0; i < s->nfds; i++) {
		if (s->links[i])
			bpf_link__destroy(s->links[i]);
		close(s->fds[i]);
	}
	free(s->fds);
	free(s->links);
	for (int ci = 0; s->rings && ci < s->ncpus; ci++) {
		if (s->rings[ci].base) {
			dp_ring__fini(&s->rings[ci].ring);
			munmap(s->rings[ci].base, s->mmap_len);
		}
	}
	free(s->rings);
	free(s->cpus);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->pidfd >= 0)
		close(s->pidfd);
	if (s->cgroup_fd >= 0)
		close(s->cgroup_fd);
	if (s->stats_fd >= 0)
		close(s->stats_fd);
	ring_buffer__free(s->wake);
	if (s->logs)
		munmap(s->logs, s->logs_len);
	dp_bpf__free(&s->bpf);
	dp_join__free(s->join);
	dp_join__free(s->vjoin);
	HASH_ITER(hh, s->stack_cache, c, ct) {
		HASH_DEL(s->stack_cache, c);
		free(c);
	}
	HASH_ITER(hh, s->covered, t, tt) {
		HASH_DEL(s->covered, t);
		free(t);
	}
	free(s->kb.keys);
	free(s->kb.vals);
}

static double since_launch(void)
{
	return dp_launch_ns ? (double)(mono_ns() - dp_launch_ns) / 1e9 : 0.0;
}

static void say_exited_early(const struct dp_opts *o)
{
	if (o->target == DP_TARGET_PID && o->npids > 1)
		say("all %u processes exited before profiling began (%.1f s into deferprof's start-up): nothing was profiled", o->npids, since_launch());
	else
		say("%s %u exited before profiling began (%.1f s into deferprof's start-up): nothing was profiled", o->target == DP_TARGET_TID ? "thread" : "process", o->pid, since_launch());
}

static int check_one(const struct dp_opts *o, uint32_t pid)
{
	char path[64], buf[1024];
	unsigned long flags = 0;
	char state;
	FILE *f;

	if (read_stat(pid, &state, &flags) == -ENOENT) {
		say("no such %s: %u", o->target == DP_TARGET_PID ? "process" : "thread", pid);
		return -ESRCH;
	}
	if (flags & 0x00200000 /* PF_KTHREAD */) {
		say("%u is a kernel thread: it has no user stack; use -a --kernel-only to see kernel threads", pid);
		return -EINVAL;
	}
	if (o->target == DP_TARGET_PID) {
		/* -p takes a process: a thread id that is not a thread group leader is refused. */
		snprintf(path, sizeof(path), "/proc/%u/status", pid);
		f = fopen(path, "re");
		if (f) {
			unsigned long tgid = 0;

			while (fgets(buf, sizeof(buf), f))
				if (sscanf(buf, "Tgid: %lu", &tgid) == 1)
					break;
			fclose(f);
			if (tgid && tgid != pid) {
				say("%u is a thread of process %lu: use -t %u for that thread, or -p %lu", pid, tgid, pid, tgid);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int dp_session__check_target(const struct dp_opts *o)
{
	int err;

	if (o->target == DP_TARGET_TID)
		return check_one(o, o->pid);
	if (o->target != DP_TARGET_PID)
		return 0;
	for (uint32_t i = 0; i < o->npids; i++) {
		err = check_one(o, o->pids[i]);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The targets were checked when deferprof started: one gone by now exited
 * during the start-up (the probe, the BPF load), not "no such process".
 */
static int check_alive(const struct dp_opts *o)
{
	uint32_t alive = 0;

	if (o->target != DP_TARGET_PID && o->target != DP_TARGET_TID)
		return 0;
	for (uint32_t i = 0; i < (o->target == DP_TARGET_TID ? 1 : o->npids); i++)
		alive += task_alive(o->target == DP_TARGET_TID ? o->pid : o->pids[i]);
	if (alive)
		return 0;
	say_exited_early(o);
	return -ESRCH;
}

/* Every counter the outputs show, as it stands now. */
static void read_counters(struct session *s)
{
	struct dp_runinfo *ri = &s->res->ri;

	if (s->raw)
		ri->bpf[DP_STAT_SAMPLES] = ri->verify_raw_samples;	/* no BPF: the ring saw them */
	else
		read_stats(s);
	ri->join = *dp_join__stats(s->join);
	ri->malformed = s->malformed_rec;
	for (int ci = 0; ci < s->ncpus; ci++)
		ri->malformed += s->rings[ci].fd >= 0 ? s->rings[ci].ring.malformed : 0;
}

/* The counters so far, and the interval's counts, to the tick hook. */
static int tick(struct session *s, const struct dp_session_hooks *hooks, bool final)
{
	struct dp_runinfo *ri = &s->res->ri;
	struct dp_stack_table delta;
	int err;

	read_counters(s);
	if (!final)
		ri->duration_s = (double)(mono_ns() - s->t0) / 1e9;
	dp_stack_table__init(&delta);
	err = dp_stack_table__delta(&s->res->table, &delta);
	if (!err)
		err = hooks->tick(hooks->ctx, s->res, &delta, final);
	dp_stack_table__clear(&delta);
	return err;
}

/*
 * The loop sleeps until something needs it: a ring buffer past its
 * watermark, the program's word that a counts map is filling up, the
 * target's exit (a pidfd), the next interval, the end, or, while samples or
 * records are waiting, the next round. Nothing is read or drained on a
 * round that has nothing to do, so an idle target costs no wake-ups at all.
 */
static int run_loop(struct session *s, const struct dp_session_hooks *hooks, uint64_t deadline,
		    uint64_t next_tick)
{
	const struct dp_opts *o = s->o;
	struct dp_runinfo *ri = &s->res->ri;
	uint64_t round_ns = (uint64_t)o->drain_ms * 1000000ULL;
	uint64_t last_round = s->t0, last_check = s->t0, now;
	bool check_proc = s->pidfd < 0 &&
			  (s->child || o->target == DP_TARGET_PID || o->target == DP_TARGET_TID);
	struct epoll_event evs[16];
	int err = 0;

	while (!dp_stop) {
		uint64_t wake = UINT64_MAX;
		bool rings = false, exited = false;
		int n, timeout;

		now = mono_ns();
		if (deadline && now >= deadline) {
			ri->end_reason = "duration";
			break;
		}
		if (deadline)
			wake = deadline;
		if (hooks && next_tick < wake)
			wake = next_tick;
		if (round_has_work(s) && last_round + round_ns < wake)
			wake = last_round + round_ns;
		if (s->drain_soon)
			wake = now;
		if (check_proc && last_check + 1000000000ULL < wake)
			wake = last_check + 1000000000ULL;
		timeout = wake == UINT64_MAX ? -1 : wake <= now ? 0 :
			  (int)((wake - now + 999999) / 1000000);
		n = epoll_wait(s->epfd, evs, 16, timeout);
		if (n < 0 && errno != EINTR) {
			err = -errno;
			say("epoll_wait: %s", strerror(-err));
			break;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.u32 == DP_TAG_WAKE)
				ring_buffer__consume(s->wake);
			else if (evs[i].data.u32 == DP_TAG_PIDFD)
				exited = true;
			else
				rings = true;
		}
		now = mono_ns();
		if (rings) {
			err = consume_all(s);
			if (err)
				break;
		}
		if (s->drain_soon || (hooks && now >= next_tick) ||
		    (now >= last_round + round_ns && round_has_work(s))) {
			/*
			 * A map that filled up becomes the idle one in this round
			 * and is drained in the next, a few milliseconds later.
			 */
			bool again = s->drain_soon;

			s->drain_soon = false;
			err = round_trip(s);
			if (err)
				break;
			last_round = again ? now - round_ns + 5000000ULL : now;
			if (hooks && now >= next_tick) {
				err = tick(s, hooks, false);
				if (err)
					break;
				while (next_tick <= now)
					next_tick += hooks->interval_ns;
			}
		}
		if (check_proc && now >= last_check + 1000000000ULL) {
			last_check = now;
			exited = true;
		}
		if (exited && target_gone(s)) {
			ri->end_reason = "target exited";
			s->res->target_exited = true;
			break;
		}
	}
	return err;
}

int dp_session__run(const struct dp_opts *o, const struct dp_probe *pr, pid_t child,
		    int release_fd, const struct dp_session_hooks *hooks,
		    struct dp_session_result *res)
{
	struct session s;
	struct dp_join_opts jo = {
		.timeout_ns = o->join_timeout_ms * 1000000ULL,
	};
	struct dp_runinfo *ri = &res->ri;
	uint64_t deadline = 0, next_tick = 0;
	struct utsname u;
	struct timespec wall;
	int err = 0;

	memset(&s, 0, sizeof(s));
	memset(res, 0, sizeof(*res));
	s.pidfd = -1;
	s.cgroup_fd = -1;
	s.stats_fd = -1;
	s.o = o;
	s.pr = pr;
	s.res = res;
	s.child = child;
	s.epfd = -1;
	dp_stack_table__init(&res->table);
	dp_stack_table__init(&res->raw);
	pthread_mutex_init(&res->lock, NULL);
	res->us = dp_usyms__new(NULL);
	res->comms = dp_comms__new();
	if (!res->us || !res->comms)
		return -ENOMEM;

	s.deferred = o->mode == DP_MODE_DEFERRED ||
		     (o->mode == DP_MODE_AUTO && dp_probe__deferred_ok(pr));
	if (o->mode == DP_MODE_DEFERRED && !dp_probe__deferred_ok(pr)) {
		say("--mode=deferred: this kernel (%s) lacks deferred user callchains (Linux >= 6.19 needed); use --mode=classic or auto", pr->kernel);
		return -EOPNOTSUPP;
	}
	if (o->verify && !s.deferred) {
		say("--verify needs deferred mode, which this kernel (%s) lacks (Linux >= 6.19)", pr->kernel);
		return -EOPNOTSUPP;
	}
	if (o->event == DP_EV_CYCLES && !pr->perf_hw) {
		say("-e cycles: no hardware cycles counter here (a VM without a PMU?); use -e cpu-clock");
		return -EOPNOTSUPP;
	}
	err = check_alive(o);
	if (err)
		return err;

	ri->mode = s.deferred ? "deferred" : "classic";
	ri->event = o->event == DP_EV_CYCLES ? "cycles" : "cpu-clock";
	ri->freq = o->freq;
	ri->period = o->period;
	ri->verify = o->verify;
	s.raw = o->raw || !pr->bpf_loop;
	ri->raw = s.raw;
	ri->raw_fallback = s.raw && !o->raw;
	if (!uname(&u)) {
		snprintf(ri->kernel, sizeof(ri->kernel), "%s %s", u.release, u.machine);
		snprintf(ri->host, sizeof(ri->host), "%s", u.nodename);
	}
	if (o->target != DP_TARGET_SYSTEM)
		ri->target_pid = child ? (uint32_t)child : o->pid;
	switch (o->target) {
	case DP_TARGET_SYSTEM:
		snprintf(ri->target, sizeof(ri->target), "system-wide");
		break;
	case DP_TARGET_TID:
		snprintf(ri->target, sizeof(ri->target), "thread %u", o->pid);
		break;
	case DP_TARGET_CGROUP:
		break;	/* named by open_cgroup(), with the directory it resolved */
	default:
		snprintf(ri->target, sizeof(ri->target), "process%s %u", o->npids > 1 && !child ? "es" : "",
			 child ? (unsigned)child : o->pid);
		for (uint32_t i = 1; i < o->npids && !child; i++) {
			size_t n = strlen(ri->target);

			snprintf(ri->target + n, sizeof(ri->target) - n, ",%u", o->pids[i]);
		}
	}

	jo.max_pending = (uint64_t)o->max_entries * 4;
	s.join = dp_join__new(&jo, &res->table);
	if (!s.join)
		return -ENOMEM;
	if (o->verify) {
		s.vjoin = dp_join__new(&jo, &res->raw);
		if (!s.vjoin) {
			err = -ENOMEM;
			goto out;
		}
	}
	if (o->record) {
		s.rec = fopen(o->record, "we");
		if (!s.rec || fwrite(DP_REC_MAGIC, 8, 1, s.rec) != 1) {
			err = -errno;
			say("cannot write the recording %s: %s", o->record, strerror(-err));
			goto out;
		}
	}
	if (!s.raw) {
		err = load_bpf(&s);
		if (err)
			goto out;
	}

	s.ncpus = online_cpus(&s.cpus);
	if (s.ncpus <= 0) {
		err = s.ncpus ? s.ncpus : -EINVAL;
		say("cannot read the online CPUs: %s", strerror(-err));
		goto out;
	}
	s.rings = calloc((size_t)s.ncpus, sizeof(*s.rings));
	if (!s.rings) {
		err = -ENOMEM;
		goto out;
	}
	for (int ci = 0; ci < s.ncpus; ci++)
		s.rings[ci].fd = -1;
	s.mmap_len = (size_t)(o->ring_pages + 1) * (size_t)sysconf(_SC_PAGESIZE);
	s.epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s.epfd < 0) {
		err = -errno;
		goto out;
	}
	if (!s.raw) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = DP_TAG_WAKE };

		s.wake = ring_buffer__new(bpf_map__fd(s.skel->maps.wake), on_wake, &s, NULL);
		if (!s.wake) {
			err = -errno;
			say("cannot read the BPF wake-up ring: %s", strerror(-err));
			goto out;
		}
		if (epoll_ctl(s.epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(s.wake), &ev)) {
			err = -errno;
			goto out;
		}
	}
	s.pidfd = target_pidfd(&s);
	if (s.pidfd >= 0) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = DP_TAG_PIDFD };

		if (epoll_ctl(s.epfd, EPOLL_CTL_ADD, s.pidfd, &ev)) {
			err = -errno;
			goto out;
		}
	}

	switch (o->target) {
	case DP_TARGET_SYSTEM:
		for (int ci = 0; ci < s.ncpus && !err; ci++)
			err = open_one(&s, -1, ci, false, false);
		break;
	case DP_TARGET_TID:
		ensure_proc(&s, o->pid);
		err = open_thread(&s, o->pid, false, false);
		break;
	case DP_TARGET_CGROUP:
		err = open_cgroup(&s);
		for (int ci = 0; ci < s.ncpus && !err; ci++)
			err = open_one(&s, s.cgroup_fd, ci, false, false);
		break;
	default:
		if (child) {
			ensure_proc(&s, (uint32_t)child);
			err = open_process(&s, (uint32_t)child, false);
		} else {
			err = fit_fd_limit(&s);
			if (!err)
				err = open_processes(&s);
		}
		if (!err && !s.nfds) {
			if (child)
				say("process %d exited before profiling began", (int)child);
			else
				say_exited_early(o);
			err = -ESRCH;
		}
	}
	if (err)
		goto out;
	ri->nevents = s.nfds;
	if (o->verbose)
		fprintf(stderr, "deferprof: %zu perf events on %d CPUs, mode %s, program %s\n",
			s.nfds, s.ncpus, ri->mode, s.raw ? "none (raw)" : bpf_program__name(s.bpf.prog));

	clock_gettime(CLOCK_REALTIME, &wall);
	ri->start_unix_ns = (uint64_t)wall.tv_sec * 1000000000ULL + (uint64_t)wall.tv_nsec;
	s.t0 = mono_ns();
	for (size_t i = 0; i < s.nfds && !child; i++) {
		if (ioctl(s.fds[i], PERF_EVENT_IOC_ENABLE, 0)) {
			err = -errno;
			say("cannot enable a perf event: %s", strerror(-err));
			goto out;
		}
	}
	if (release_fd >= 0) {
		/* The child execs only now, with every event in place. */
		if (write(release_fd, "g", 1) != 1) {
			err = -errno;
			say("cannot start the command: %s", strerror(-err));
			goto out;
		}
	}
	if (o->target == DP_TARGET_PID && !child) {
		/*
		 * Threads created while the events were being opened, by a thread
		 * that had none yet, were not inherited: give them their own.
		 */
		for (uint32_t i = 0; i < o->npids; i++) {
			err = open_process(&s, o->pids[i], true);
			if (err && err != -ENOENT)
				goto out;
		}
		err = 0;
		ri->nevents = s.nfds;
	}

	if (o->duration > 0)
		deadline = s.t0 + (uint64_t)(o->duration * 1e9);
	if (o->verbose)
		fprintf(stderr, "deferprof: events enabled after %.1f ms (from main(); probe %.1f ms, BPF load %.1f ms)\n",
			dp_launch_ns ? (double)(s.t0 - dp_launch_ns) / 1e6 : 0.0,
			(double)pr->probe_ns / 1e6, (double)ri->bpf_load_ns / 1e6);
	if (hooks)
		next_tick = s.t0 + hooks->interval_ns;
	ri->end_reason = "signal";
	err = run_loop(&s, hooks, deadline, next_tick);
	for (size_t i = 0; i < s.nfds; i++)
		ioctl(s.fds[i], PERF_EVENT_IOC_DISABLE, 0);
	ri->duration_s = (double)(mono_ns() - s.t0) / 1e9;
	/* Records of tasks leaving the kernel right now still come: two more rounds. */
	for (int i = 0; i < 3 && !err; i++) {
		if (i)
			usleep(20000);
		err = round_trip(&s);
	}
	if (err)
		say("error while profiling: %s; the report has what was collected", strerror(-err));
	dp_join__finish(s.join);
	if (s.vjoin)
		dp_join__finish(s.vjoin);
	read_counters(&s);
	read_store(&s);
	if (hooks) {
		int terr = tick(&s, hooks, true);

		if (terr)
			say("error in the periodic output: %s", strerror(-terr));
	}
	if (o->verify)
		ri->verify_diffs = dp_stack_table__diff(&res->table, &res->raw, o->verbose ? stderr : NULL, 20);
	if (s.rec) {
		if (fclose(s.rec) || s.rec_errors)
			say("the recording %s is incomplete: %llu write errors", o->record,
			    (unsigned long long)s.rec_errors);
		s.rec = NULL;
	}
	/* A profile cut short still has its report. */
	err = 0;
out:
	if (s.rec)
		fclose(s.rec);
	teardown(&s);
	return err;
}

void dp_session_result__free(struct dp_session_result *res)
{
	dp_stack_table__clear(&res->table);
	dp_stack_table__clear(&res->raw);
	dp_usyms__free(res->us);
	dp_comms__free(res->comms);
	pthread_mutex_destroy(&res->lock);
	res->us = NULL;
	res->comms = NULL;
}
