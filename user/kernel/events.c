// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <bpf/libbpf.h>
#include "events.h"
#include "perf_abi.h"
#include "procfs.h"
#include "say.h"
#include "record.h"
#include "target.h"

static void perf_attr(const struct dp_events *ev, struct perf_event_attr *a, bool inherit)
{
	const struct dp_collect_opts *o = ev->o;

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
	a->enable_on_exec = o->child != 0;
	a->inherit = inherit;
	/* Side-band records: symbols of new mappings, thread names, exits. */
	a->mmap = 1;
	a->mmap2 = 1;
	a->comm = 1;
	a->comm_exec = 1;
	a->task = 1;
	a->watermark = 1;
	a->wakeup_watermark = (uint32_t)(o->ring_pages * (uint32_t)sysconf(_SC_PAGESIZE) / 4);
	/*
	 * Classic mode with the program: only side-band records use the ring,
	 * and they are few. Each wakes the reader, so that a mapping that
	 * replaces another, or an exec, is seen while the samples logged
	 * before it can still be told from those after (session.c).
	 */
	if (!ev->deferred && ev->prog && !o->verify)
		a->wakeup_watermark = 1;
	if (o->kernel_only)
		a->exclude_callchain_user = 1;
	if (o->user_only)
		a->exclude_callchain_kernel = 1;
	if (ev->deferred && !o->kernel_only) {
		dp_attr_set_flag(a, DP_ATTR_DEFER_CALLCHAIN_BIT, 1);
		dp_attr_set_flag(a, DP_ATTR_DEFER_OUTPUT_BIT, 1);
	}
}

static int open_error(int err, int pid, int cpu)
{
	switch (err) {
	case EACCES:
	case EPERM:
		dp_say("cannot open perf event (pid %d, cpu %d): %s; run as root, or lower kernel.perf_event_paranoid", pid, cpu, strerror(err));
		break;
	case EMFILE:
	case ENFILE:
		dp_say("too many open files for %d-thread x CPU events: raise the limit (ulimit -n)", pid);
		break;
	case ENOENT:
	case EOPNOTSUPP:
		dp_say("this event is not supported here (%s): try -e cpu-clock", strerror(err));
		break;
	default:
		dp_say("cannot open perf event (pid %d, cpu %d): %s", pid, cpu, strerror(err));
	}
	return -err;
}

static int add_fd(struct dp_events *ev, int fd)
{
	if (ev->nfds == ev->capfds) {
		size_t cap = ev->capfds ? ev->capfds * 2 : 64;
		int *nf = realloc(ev->fds, cap * sizeof(*nf));
		struct bpf_link **nl;

		if (!nf)
			return -ENOMEM;
		ev->fds = nf;
		nl = realloc(ev->links, cap * sizeof(*nl));
		if (!nl)
			return -ENOMEM;
		ev->links = nl;
		ev->capfds = cap;
	}
	ev->fds[ev->nfds] = fd;
	ev->links[ev->nfds] = NULL;
	ev->nfds++;
	return 0;
}

int dp_events__init(struct dp_events *ev)
{
	int n = dp_procfs__online_cpus(&ev->cpus);

	ev->cgroup_fd = -1;
	if (n <= 0) {
		n = n ? n : -EINVAL;
		dp_say("cannot read the online CPUs: %s", strerror(-n));
		return n;
	}
	ev->ncpus = n;
	ev->rings = calloc((size_t)n, sizeof(*ev->rings));
	if (!ev->rings)
		return -ENOMEM;
	for (int ci = 0; ci < n; ci++)
		ev->rings[ci].fd = -1;
	ev->mmap_len = (size_t)(ev->o->ring_pages + 1) * (size_t)sysconf(_SC_PAGESIZE);
	return 0;
}

/* The first event of a CPU maps its ring buffer; the others write into it. */
static int route_output(struct dp_events *ev, int ci, int fd)
{
	struct dp_cpu_ring *r = &ev->rings[ci];
	struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)ci };
	int err;

	if (r->fd >= 0) {
		if (!ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, r->fd))
			return 0;
		err = -errno;
		dp_say("cannot share CPU %d's ring buffer: %s", ev->cpus[ci], strerror(-err));
		return err;
	}
	r->base = mmap(NULL, ev->mmap_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r->base == MAP_FAILED) {
		err = -errno;
		r->base = NULL;
		dp_say("cannot map the ring buffer of CPU %d (%zu KiB): %s; try a smaller --ring-pages or raise kernel.perf_event_mlock_kb",
		    ev->cpus[ci], ev->mmap_len / 1024, strerror(-err));
		return err;
	}
	err = dp_ring__init(&r->ring, r->base, ev->mmap_len - (size_t)sysconf(_SC_PAGESIZE));
	if (err)
		return err;
	r->fd = fd;
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &e))
		return -errno;
	return 0;
}

/* Open one event, route its output to its CPU's ring buffer, attach BPF. */
static int open_one(struct dp_events *ev, int pid, int ci, bool inherit, bool enable)
{
	struct perf_event_attr a;
	size_t idx;
	int fd, err;

	perf_attr(ev, &a, inherit);
	fd = (int)syscall(SYS_perf_event_open, &a, pid, ev->cpus[ci], -1,
			  PERF_FLAG_FD_CLOEXEC | (ev->cgroup_fd >= 0 ? PERF_FLAG_PID_CGROUP : 0));
	if (fd < 0 && errno == ENOENT && ev->cgroup_fd >= 0) {
		/*
		 * The group has no perf_event state. On cgroup v2 the controller
		 * is implicit, but the kernel gives it to new groups only once
		 * their parent's subtree_control has been written (systemd does;
		 * a bare system may not): seen in a busybox guest of Linux 7.2.
		 */
		dp_say("the cgroup has no perf_event controller state: on a system where nothing wrote cgroup.subtree_control, enable any controller in the parent (e.g. echo +pids > PARENT/cgroup.subtree_control) and create the group again");
		return -ENOENT;
	}
	if (fd < 0)
		return errno == ESRCH ? -ESRCH : open_error(errno, pid, ev->cpus[ci]);
	err = add_fd(ev, fd);
	if (err) {
		close(fd);
		return err;
	}
	idx = ev->nfds - 1;
	err = route_output(ev, ci, fd);
	if (err)
		return err;
	if (ev->prog) {	/* --raw: no program, samples go through the ring buffer */
		ev->links[idx] = bpf_program__attach_perf_event(ev->prog, fd);
		if (!ev->links[idx]) {
			err = -errno;
			dp_say("cannot attach the BPF program to a perf event: %s", strerror(-err));
			return err;
		}
	}
	if (enable && ioctl(fd, PERF_EVENT_IOC_ENABLE, 0)) {
		err = -errno;
		dp_say("cannot enable a perf event: %s", strerror(-err));
		return err;
	}
	return 0;
}

static bool covered(const struct dp_events *ev, uint32_t tid)
{
	for (size_t i = 0; i < ev->ncovered; i++)
		if (ev->covered[i] == tid)
			return true;
	return false;
}

/* Events of one thread on every CPU; a thread that is gone is skipped. */
static int open_thread(struct dp_events *ev, uint32_t tid, bool inherit, bool enable)
{
	int err;

	if (covered(ev, tid))
		return 0;
	for (int ci = 0; ci < ev->ncpus; ci++) {
		err = open_one(ev, (int)tid, ci, inherit, enable);
		if (err == -ESRCH)
			return 0;
		if (err)
			return err;
	}
	if (ev->ncovered == ev->capcovered) {
		size_t cap = ev->capcovered ? ev->capcovered * 2 : 64;
		uint32_t *n = realloc(ev->covered, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		ev->covered = n;
		ev->capcovered = cap;
	}
	ev->covered[ev->ncovered++] = tid;
	return 0;
}

static int open_process(struct dp_events *ev, uint32_t pid, bool enable)
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
		err = open_thread(ev, (uint32_t)tid, true, enable);
		if (ev->on_thread)
			ev->on_thread(ev->ctx, pid, (uint32_t)tid);
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
static int open_cgroup(struct dp_events *ev)
{
	char mnt[PATH_MAX];
	FILE *f = fopen("/proc/mounts", "re");
	int err;

	if (!f) {
		err = -errno;
		dp_say("cannot read /proc/mounts to find the cgroup2 mount: %s", strerror(-err));
		return err;
	}
	err = dp_mounts__cgroup2(f, mnt, sizeof(mnt));
	fclose(f);
	if (err == -ENOENT) {
		dp_say("--cgroup needs cgroup v2, and /proc/mounts has no cgroup2 mount: mount one (mount -t cgroup2 none /sys/fs/cgroup/unified) or use -p");
		return err;
	}
	if (!err)
		err = dp_cgroup__dir(mnt, ev->o->cgroup, ev->cgroup_dir, sizeof(ev->cgroup_dir));
	if (err) {
		dp_say("cgroup path '%s' is too long", ev->o->cgroup);
		return err;
	}
	ev->cgroup_fd = open(ev->cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ev->cgroup_fd < 0) {
		err = -errno;
		dp_say("cannot open cgroup %s: %s; give a path relative to the cgroup2 mount %s, or an absolute one", ev->cgroup_dir, strerror(-err), mnt);
		return err;
	}
	return 0;
}

/*
 * Per-task events take one descriptor per thread and CPU, and a BPF link
 * each: raise the soft RLIMIT_NOFILE to the hard one when that is needed,
 * and say what to do when even that is too low.
 */
static int fit_fd_limit(struct dp_events *ev)
{
	const struct dp_collect_opts *o = ev->o;
	uint64_t threads = 0, need;
	struct rlimit rl;

	for (uint32_t i = 0; i < o->npids; i++)
		threads += dp_procfs__threads(o->pids[i]);
	/* Threads started meanwhile, the rings, the BPF maps and the outputs: some room. */
	need = (threads + threads / 8) * (uint64_t)ev->ncpus * (ev->prog ? 2 : 1) + 256;
	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		int err = -errno;

		dp_say("cannot read the open-file limit: %s", strerror(-err));
		return err;
	}
	if (need <= rl.rlim_cur)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && need > rl.rlim_max) {
		dp_say("%llu threads x %d CPUs need about %llu file descriptors, above the hard limit of %llu: raise it (as root: ulimit -Hn %llu; for a service, LimitNOFILE=), or use --cgroup or -a, which need one per CPU",
		    (unsigned long long)threads, ev->ncpus, (unsigned long long)need,
		    (unsigned long long)rl.rlim_max, (unsigned long long)need);
		return -EMFILE;
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		int err = -errno;

		dp_say("cannot raise the open-file limit to %llu for %llu threads x %d CPUs: %s; raise it with ulimit -n",
		    (unsigned long long)rl.rlim_max, (unsigned long long)threads, ev->ncpus, strerror(-err));
		return err;
	}
	if (o->verbose)
		fprintf(stderr, "deferprof: open-file limit raised to %llu for %llu threads x %d CPUs\n",
			(unsigned long long)rl.rlim_max, (unsigned long long)threads, ev->ncpus);
	return 0;
}

int dp_events__open(struct dp_events *ev)
{
	const struct dp_collect_opts *o = ev->o;
	int err = 0;

	switch (o->target) {
	case DP_TARGET_SYSTEM:
		for (int ci = 0; ci < ev->ncpus && !err; ci++)
			err = open_one(ev, -1, ci, false, false);
		return err;
	case DP_TARGET_TID:
		return open_thread(ev, o->pid, false, false);
	case DP_TARGET_CGROUP:
		err = open_cgroup(ev);
		for (int ci = 0; ci < ev->ncpus && !err; ci++)
			err = open_one(ev, ev->cgroup_fd, ci, false, false);
		return err;
	default:
		if (o->child)
			return open_process(ev, (uint32_t)o->child, false);
		err = fit_fd_limit(ev);
		/* -p: every listed process; one that is gone by now is left out. */
		for (uint32_t i = 0; i < o->npids && !err; i++) {
			err = open_process(ev, o->pids[i], false);
			if (err == -ENOENT)
				err = 0;
		}
		return err;
	}
}

int dp_events__open_new_threads(struct dp_events *ev)
{
	int err;

	if (ev->o->target != DP_TARGET_PID || ev->o->child)
		return 0;
	/*
	 * Threads created while the events were being opened, by a thread
	 * that had none yet, were not inherited: give them their own.
	 */
	for (uint32_t i = 0; i < ev->o->npids; i++) {
		err = open_process(ev, ev->o->pids[i], true);
		if (err && err != -ENOENT)
			return err;
	}
	return 0;
}

int dp_events__enable(struct dp_events *ev)
{
	for (size_t i = 0; i < ev->nfds; i++) {
		if (ioctl(ev->fds[i], PERF_EVENT_IOC_ENABLE, 0)) {
			int err = -errno;

			dp_say("cannot enable a perf event: %s", strerror(-err));
			return err;
		}
	}
	return 0;
}

void dp_events__disable(struct dp_events *ev)
{
	for (size_t i = 0; i < ev->nfds; i++)
		ioctl(ev->fds[i], PERF_EVENT_IOC_DISABLE, 0);	/* best effort: closed next */
}

int dp_events__consume(struct dp_events *ev, dp_ring_fn fn, void *ctx)
{
	int err = 0;

	for (int ci = 0; ci < ev->ncpus && !err; ci++) {
		if (ev->rings[ci].fd < 0 || !dp_ring__pending(&ev->rings[ci].ring))
			continue;
		err = dp_ring__consume(&ev->rings[ci].ring, fn, ctx);
	}
	return err;
}

uint64_t dp_events__malformed(const struct dp_events *ev)
{
	uint64_t n = 0;

	for (int ci = 0; ci < ev->ncpus; ci++)
		n += ev->rings[ci].fd >= 0 ? ev->rings[ci].ring.malformed : 0;
	return n;
}

void dp_events__free(struct dp_events *ev)
{
	for (size_t i = 0; i < ev->nfds; i++) {
		if (ev->links[i])
			bpf_link__destroy(ev->links[i]);
		close(ev->fds[i]);
	}
	free(ev->fds);
	free(ev->links);
	for (int ci = 0; ev->rings && ci < ev->ncpus; ci++) {
		if (ev->rings[ci].base) {
			dp_ring__fini(&ev->rings[ci].ring);
			munmap(ev->rings[ci].base, ev->mmap_len);
		}
	}
	free(ev->rings);
	free(ev->cpus);
	free(ev->covered);
	if (ev->cgroup_fd >= 0)
		close(ev->cgroup_fd);
	memset(ev, 0, sizeof(*ev));
	ev->cgroup_fd = -1;
}
