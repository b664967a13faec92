// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* deferprof: command line, set-up, and the report at the end. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <bpf/libbpf.h>
#include "ksyms.h"
#include "options.h"
#include "output.h"
#include "probe.h"
#include "profile.h"
#include "session.h"

#define DP_VERSION "0.1.0"

static bool verbose;

/* libbpf's messages, warnings included, only with -v: errors are reported by deferprof. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return verbose ? vfprintf(stderr, fmt, ap) : 0;
}

static void on_signal(int sig)
{
	(void)sig;
	dp_stop = 1;
}

static void install_signals(void)
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

/* The output file is written under a temporary name and renamed when complete. */
struct out_file {
	FILE *f;
	char *tmp;
	const char *final;
};

static int out_open(struct out_file *of, const char *path)
{
	int fd;

	memset(of, 0, sizeof(*of));
	if (!path) {
		of->f = stdout;
		return 0;
	}
	if (asprintf(&of->tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkstemp(of->tmp);
	if (fd < 0) {
		int err = errno;

		fprintf(stderr, "deferprof: cannot write %s: %s\n", path, strerror(err));
		free(of->tmp);
		of->tmp = NULL;
		return -err;
	}
	fchmod(fd, 0644);
	of->f = fdopen(fd, "w");
	if (!of->f) {
		close(fd);
		unlink(of->tmp);
		return -errno;
	}
	of->final = path;
	return 0;
}

static int out_close(struct out_file *of, bool keep)
{
	int err = 0;

	if (!of->tmp)
		return fflush(stdout) ? -errno : 0;
	if (fflush(of->f) || fsync(fileno(of->f)))
		err = -errno;
	if (fclose(of->f) && !err)
		err = -errno;
	if (!err && keep && rename(of->tmp, of->final))
		err = -errno;
	if (err || !keep)
		unlink(of->tmp);
	if (err)
		fprintf(stderr, "deferprof: cannot write %s: %s\n", of->final, strerror(-err));
	free(of->tmp);
	return err;
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

/* Fork the demo, held before exec until the events are attached. */
static pid_t start_demo(int *release_fd)
{
	char path[PATH_MAX];
	int p[2];
	pid_t pid;

	if (demo_path(path, sizeof(path))) {
		fprintf(stderr, "deferprof: cannot find the demo workload next to deferprof (%s): build it with make\n", path);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		char c;

		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			_exit(127);
		execl(path, "deferprof-demo", (char *)NULL);
		fprintf(stderr, "deferprof: cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(p[0]);
	*release_fd = p[1];
	return pid;
}

static void stop_demo(pid_t pid)
{
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

int main(int argc, char **argv)
{
	struct dp_session_result res;
	struct dp_profile prof;
	struct dp_opts o;
	struct dp_probe pr;
	struct out_file of;
	struct dp_ksyms *ks = NULL;
	struct dp_profile_opts popts = { .check_fp = true };
	struct dp_report_opts ropts;
	char err[256];
	const char *blocker, *comm;
	pid_t child = 0;
	int release_fd = -1, rc;

	if (dp_opts__parse(&o, argc, argv, err, sizeof(err))) {
		fprintf(stderr, "deferprof: %s\n", err);
		return 2;
	}
	if (o.cmd == DP_CMD_HELP) {
		fputs(dp_opts__usage(), stdout);
		return 0;
	}
	if (o.cmd == DP_CMD_VERSION) {
		printf("deferprof %s\n", DP_VERSION);
		return 0;
	}
	verbose = o.verbose;
	libbpf_set_print(libbpf_print);

	dp_probe__run(&pr, o.verbose);
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
	if (out_open(&of, o.output))
		return 1;
	install_signals();
	if (o.target == DP_TARGET_DEMO) {
		child = start_demo(&release_fd);
		if (child < 0) {
			out_close(&of, false);
			return 1;
		}
	}
	rc = dp_session__run(&o, &pr, child, release_fd, &res);
	if (release_fd >= 0)
		close(release_fd);
	stop_demo(child);
	if (rc) {
		dp_session_result__free(&res);
		out_close(&of, false);
		return 1;
	}
	comm = dp_comms__get(res.comms, child ? (uint32_t)child : o.pid);
	if (comm && o.target != DP_TARGET_SYSTEM) {
		size_t n = strlen(res.ri.target);

		snprintf(res.ri.target + n, sizeof(res.ri.target) - n, " (%s)", comm);
	}

	ks = dp_ksyms__load("/proc/kallsyms");
	if (!ks)
		fprintf(stderr, "deferprof: cannot read /proc/kallsyms (%s): kernel frames stay as addresses\n", strerror(errno));
	else if (dp_ksyms__hidden(ks))
		fprintf(stderr, "deferprof: /proc/kallsyms hides addresses (kernel.kptr_restrict): kernel frames stay as addresses\n");
	rc = dp_profile__build(&prof, &res.table, ks, res.us, res.comms, &popts);
	if (rc) {
		fprintf(stderr, "deferprof: cannot build the profile: %s\n", strerror(-rc));
		goto out;
	}
	memset(&ropts, 0, sizeof(ropts));
	ropts.top_stacks = o.top;
	if (o.format == DP_FMT_FOLDED)
		rc = dp_folded__write(of.f, &prof);
	else
		rc = dp_report__write(of.f, &prof, &res.ri, &ropts);
	if (o.format != DP_FMT_REPORT) {
		/* The accounting goes to stderr when stdout holds data. */
		fprintf(stderr, "deferprof: %s mode, %llu samples seen by BPF, %llu in stacks, %llu dropped, %llu with user stack lost, %llu lost records\n",
			res.ri.mode, (unsigned long long)res.ri.bpf[DP_STAT_SAMPLES],
			(unsigned long long)prof.total, (unsigned long long)dp_runinfo__dropped(&res.ri),
			(unsigned long long)dp_runinfo__user_lost(&res.ri),
			(unsigned long long)res.ri.lost_records);
	}
	dp_profile__free(&prof);
	if (rc)
		fprintf(stderr, "deferprof: writing the output failed: %s\n", strerror(-rc));
out:
	rc = out_close(&of, rc == 0) || rc ? 1 : 0;
	if (!rc && res.ri.verify && res.ri.verify_diffs) {
		fprintf(stderr, "deferprof: verification failed: %llu stacks differ between the BPF join and the raw stitch\n",
			(unsigned long long)res.ri.verify_diffs);
		rc = 3;
	}
	if (res.target_exited)
		fprintf(stderr, "deferprof: the target exited; profile ends there\n");
	dp_ksyms__free(ks);
	dp_session_result__free(&res);
	return rc;
}
