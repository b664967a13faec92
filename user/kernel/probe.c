// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "perf_abi.h"
#include "probe.h"
#include "record.h"
#include "ring.h"

static int perf_open(struct perf_event_attr *a, int pid, int cpu)
{
	return (int)syscall(SYS_perf_event_open, a, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static void caps(struct dp_probe *p)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	p->root = geteuid() == 0;
	if (syscall(SYS_capget, &h, d))
		return;
	/* CAP_PERFMON is 38 and CAP_BPF 39: in the second word. */
	p->cap_perfmon = d[1].effective & (1u << (38 - 32));
	p->cap_bpf = d[1].effective & (1u << (39 - 32));
	p->cap_sys_admin = d[0].effective & (1u << CAP_SYS_ADMIN);
}

static void sample_attr(struct perf_event_attr *a, bool hw)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = hw ? PERF_TYPE_HARDWARE : PERF_TYPE_SOFTWARE;
	a->config = hw ? PERF_COUNT_HW_CPU_CYCLES : PERF_COUNT_SW_CPU_CLOCK;
	a->freq = 1;
	a->sample_freq = 1000;
	a->sample_type = DP_SAMPLE_TYPE;
	a->sample_id_all = 1;
	a->disabled = 1;
}

static int count_deferred(const void *rec, size_t len, void *ctx)
{
	const struct perf_event_header *h = rec;

	(void)len;
	if (h->type == DP_RECORD_CALLCHAIN_DEFERRED)
		++*(long *)ctx;
	return 0;
}

/* Sample ourselves in system calls and watch for a deferred record. */
static void live_check(struct dp_probe *p, struct perf_event_attr *a)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), len = pg * 9;
	struct timespec t0, t;
	struct dp_ring ring;
	void *base;
	char buf[4096];
	int fd, zero;
	long n = 0;

	a->sample_freq = 4000;
	fd = perf_open(a, 0, -1);
	if (fd < 0)
		return;
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
	if (base == MAP_FAILED || zero < 0 || dp_ring__init(&ring, base, pg * 8))
		goto out;
	ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		for (int i = 0; i < 64; i++)
			if (read(zero, buf, sizeof(buf)) < 0)
				break;
		dp_ring__consume(&ring, count_deferred, &n);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (!n && (t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 2000000000L);
	ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
	dp_ring__consume(&ring, count_deferred, &n);
	dp_ring__fini(&ring);
	p->defer_live = n > 0;
	p->defer_live_records = n;
out:
	if (zero >= 0)
		close(zero);
	if (base != MAP_FAILED)
		munmap(base, len);
	close(fd);
}

/* The kfunc that reads the prepared callchain (Linux >= 6.2), from the kernel's BTF. */
static bool have_kctx_kfunc(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool ok;

	if (!btf)
		return false;
	ok = btf__find_by_name_kind(btf, "bpf_cast_to_kern_ctx", BTF_KIND_FUNC) > 0;
	btf__free(btf);
	return ok;
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

void dp_probe__run(struct dp_probe *p, bool verbose, bool full)
{
	libbpf_print_fn_t old = NULL;
	struct perf_event_attr a;
	struct timespec t0, t1;
	struct utsname u;
	FILE *f;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(p, 0, sizeof(*p));
	if (!uname(&u))
		snprintf(p->kernel, sizeof(p->kernel), "%s", u.release);
	caps(p);
	p->paranoid = -99;
	f = fopen("/proc/sys/kernel/perf_event_paranoid", "re");
	if (f) {
		if (fscanf(f, "%d", &p->paranoid) != 1)
			p->paranoid = -99;
		fclose(f);
	}
	p->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;

	sample_attr(&a, false);
	fd = perf_open(&a, 0, -1);
	p->perf_sw = fd >= 0;
	p->perf_sw_err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	sample_attr(&a, true);
	fd = perf_open(&a, 0, -1);
	p->perf_hw = fd >= 0;
	if (fd >= 0)
		close(fd);

	sample_attr(&a, false);
	dp_attr_set_flag(&a, DP_ATTR_DEFER_CALLCHAIN_BIT, 1);
	dp_attr_set_flag(&a, DP_ATTR_DEFER_OUTPUT_BIT, 1);
	fd = perf_open(&a, 0, -1);
	p->defer_open = fd >= 0;
	p->defer_err = fd < 0 ? errno : 0;
	if (fd >= 0) {
		close(fd);
		if (full)
			live_check(p, &a);
	}

	/*
	 * Tiny programs, not the sampling program itself: it is verified once,
	 * when the session loads it. A profile asks only what changes the plan
	 * (bpf_loop, or no program at all); the kfunc and the helper are
	 * looked up for --probe, and a profile finds out by loading: the
	 * session falls back to the helper-only program if the kfunc is
	 * refused. Parsing the kernel's BTF twice would double the start-up
	 * under emulation.
	 */
	if (!verbose)
		old = libbpf_set_print(quiet_print);
	p->bpf_loop = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_loop, NULL) == 1;
	/* The tests reach the fallback of kernels < 5.17 on a newer one. */
	if (getenv("DEFERPROF_TEST_NO_BPF_LOOP"))
		p->bpf_loop = false;
	p->full = full;
	if (full) {
		p->prog_perf_event = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_PERF_EVENT, NULL) == 1;
		p->helper_prog = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT,
							 BPF_FUNC_get_stack, NULL) == 1;
		p->kctx = p->btf && have_kctx_kfunc();
	} else {
		/* bpf_loop (5.17) implies both; without it no program is loaded. */
		p->prog_perf_event = p->helper_prog = p->btf;
		p->kctx = p->btf;
	}
	if (!verbose)
		libbpf_set_print(old);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	p->probe_ns = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ULL +
		      (uint64_t)(t1.tv_nsec - t0.tv_nsec);
}

bool dp_probe__deferred_ok(const struct dp_probe *p)
{
	return p->defer_open && (p->kctx || p->helper_prog);
}

const char *dp_probe__bpf_blocker(const struct dp_probe *p)
{
	if (!p->root && !(p->cap_bpf && p->cap_perfmon))
		return "not root and without CAP_BPF and CAP_PERFMON: run with sudo";
	if (!p->perf_sw)
		return p->perf_sw_err == ENOENT || p->perf_sw_err == ENOSYS ?
		       "this kernel has no perf events (CONFIG_PERF_EVENTS)" :
		       "cannot open a perf event: check kernel.perf_event_paranoid and privileges";
	if (!p->kctx && !p->helper_prog && p->bpf_loop)
		return p->btf ? "cannot load the BPF program: the kernel lacks BPF perf_event programs (Linux >= 4.18 needed) or BPF is disabled" :
			"cannot load the BPF program: no kernel BTF (/sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF=y, Linux >= 5.4)";
	return NULL;
}

static void line(FILE *f, bool ok, const char *what, const char *detail)
{
	fprintf(f, "  %-4s %-34s %s\n", ok ? "yes" : "no", what, detail);
}

/* Without privileges a program cannot load on any kernel: that is what a "no" means then. */
#define UNPRIV_BPF "not known: loading a BPF program needs root or CAP_BPF (run with sudo)"

void dp_probe__print(const struct dp_probe *p, FILE *f)
{
	bool priv = p->root || (p->cap_bpf && p->cap_perfmon);
	char d[256];

	fprintf(f, "deferprof feature probe, kernel %s\n", p->kernel);
	snprintf(d, sizeof(d), "root=%s CAP_BPF=%s CAP_PERFMON=%s%s", p->root ? "yes" : "no",
		 p->cap_bpf ? "yes" : "no", p->cap_perfmon ? "yes" : "no",
		 p->root || (p->cap_bpf && p->cap_perfmon) ? "" :
		 " (needs root, or CAP_BPF+CAP_PERFMON on Linux >= 5.8)");
	line(f, p->root || (p->cap_bpf && p->cap_perfmon), "privileges", d);
	snprintf(d, sizeof(d), "kernel.perf_event_paranoid=%d%s", p->paranoid,
		 p->paranoid > 2 && !p->root ? " (above 2 blocks users without CAP_PERFMON)" : "");
	line(f, p->paranoid != -99, "perf_event_paranoid", d);
	snprintf(d, sizeof(d), "%s%s", p->perf_sw ? "cpu-clock sampling event opens" :
		 strerror(p->perf_sw_err), !p->perf_sw && !priv &&
		 (p->perf_sw_err == EACCES || p->perf_sw_err == EPERM) ?
		 ": a permission problem (run with sudo), not the kernel's" : "");
	line(f, p->perf_sw, "perf events (software)", d);
	line(f, p->perf_hw, "perf events (hardware cycles)",
	     p->perf_hw ? "-e cycles available" : "no PMU here (VM?): -e cpu-clock is used");
	line(f, p->btf, "BTF", p->btf ? "/sys/kernel/btf/vmlinux" :
	     "missing: needs CONFIG_DEBUG_INFO_BTF=y (Linux >= 5.4)");
	if (p->full) {
		line(f, p->prog_perf_event, "BPF perf_event programs", p->prog_perf_event ?
		     "BPF_PROG_TYPE_PERF_EVENT loads" : !priv ? UNPRIV_BPF :
		     "needs Linux >= 4.9 with CONFIG_BPF_SYSCALL");
		snprintf(d, sizeof(d), "%s", p->kctx ? "kfunc in the kernel's BTF: the program reads the prepared callchain" :
			 "missing: needs Linux >= 6.2; falling back to bpf_get_stack()");
		line(f, p->kctx, "bpf_cast_to_kern_ctx", d);
		line(f, p->helper_prog, "bpf_get_stack", p->helper_prog ?
		     "helper available to perf_event programs" : !priv ? UNPRIV_BPF :
		     "missing: needs Linux >= 4.18");
	}
	line(f, p->bpf_loop, "bpf_loop", p->bpf_loop ?
	     "helper available: loops verified once" : !priv ? UNPRIV_BPF :
	     "missing (needs Linux >= 5.17): no BPF program; every sample is stitched in user space");
	if (!p->full)
		fprintf(f, "  (BPF program types, kfunc and helpers: found by loading; --probe checks each)\n");
	snprintf(d, sizeof(d), "%s", p->defer_open ? "perf_event_attr bits accepted" :
		 p->defer_err == EINVAL ? "rejected (EINVAL): needs Linux >= 6.19; classic mode is used" :
		 p->defer_err == EACCES || p->defer_err == EPERM ?
		 "not known: opening the event was not permitted (run with sudo)" :
		 strerror(p->defer_err));
	line(f, p->defer_open, "defer_callchain/defer_output", d);
	if (p->defer_open && p->full) {	/* the live check runs for --probe only */
		snprintf(d, sizeof(d), p->defer_live ? "%ld PERF_RECORD_CALLCHAIN_DEFERRED seen" :
			 "no deferred record arrived in 2 s (%ld): deferral may not happen", p->defer_live_records);
		line(f, p->defer_live, "deferred records (live check)", d);
	}
	fprintf(f, "mode: %s\n", dp_probe__deferred_ok(p) ? "deferred (user stacks unwound once, at return to user space)" :
		"classic (user stacks unwound in the interrupt): this kernel lacks deferred callchains");
	if (dp_probe__bpf_blocker(p))
		fprintf(f, "cannot profile: %s\n", dp_probe__bpf_blocker(p));
}
