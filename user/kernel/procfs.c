// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "procfs.h"
#include "say.h"

int dp_procfs__online_cpus(int **out)
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

int dp_procfs__comm(uint32_t pid, uint32_t tid, char *buf, size_t len)
{
	char path[96];
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fgets(buf, (int)len, f))
		buf[strcspn(buf, "\n")] = 0;
	else
		err = -EIO;
	fclose(f);
	return err;
}

/* "pid (comm) S ppid ...": comm may hold spaces and parentheses. */
int dp_procfs__stat(uint32_t pid, char *state, unsigned long *flags)
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

bool dp_procfs__alive(uint32_t pid)
{
	unsigned long flags;
	char state;

	return !dp_procfs__stat(pid, &state, &flags) && state != 'Z' && state != 'X';
}

/* The pids in one children file, counted on from n (kept while below max). */
static size_t read_children(const char *path, uint32_t *out, size_t n, size_t max)
{
	FILE *f = fopen(path, "re");	/* a thread that exited meanwhile has none */
	unsigned long c;

	if (!f)
		return n;
	while (fscanf(f, "%lu", &c) == 1) {
		if (n < max)
			out[n] = (uint32_t)c;
		n++;
	}
	fclose(f);
	return n;
}

int dp_procfs__children(uint32_t pid, uint32_t *out, size_t max)
{
	char path[96];
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	/* Our own main thread always has the file, when the kernel has it. */
	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	if (access(path, R_OK))
		return -ENOTSUP;
	snprintf(path, sizeof(path), "/proc/%u/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		unsigned long tid = strtoul(de->d_name, &end, 10);

		if (de->d_name[0] == '.' || *end)
			continue;
		snprintf(path, sizeof(path), "/proc/%u/task/%lu/children", pid, tid);
		n = read_children(path, out, n, max);
	}
	closedir(d);
	return n > (size_t)INT32_MAX ? INT32_MAX : (int)n;
}

uint64_t dp_procfs__threads(uint32_t pid)
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

static int check_one(const struct dp_collect_opts *o, uint32_t pid)
{
	char path[64], buf[1024];
	unsigned long flags = 0;
	char state;
	FILE *f;

	if (dp_procfs__stat(pid, &state, &flags) == -ENOENT) {
		dp_say("no such %s: %u",
			o->target == DP_TARGET_PID ? "process" : "thread", pid);
		return -ESRCH;
	}
	if (flags & DP_PF_KTHREAD) {
		dp_say("%u is a kernel thread: it has no user stack; use -a --kernel-only to see kernel threads", pid);
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
				dp_say("%u is a thread of process %lu: use -t %u for that thread, or -p %lu",
					pid, tgid, pid, tgid);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int dp_procfs__check_targets(const struct dp_collect_opts *o)
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
