// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * deferprof top: the live view. The session runs on its own thread, as for
 * the report; its interval hook symbolizes each interval there and hands the
 * interval's profile to a mailbox; the screen thread absorbs it into the
 * model (topmodel.c) and draws (screen.c), and reads keys (keys.c). A slow
 * terminal slows the drawing only: collection never waits for it. ncurses
 * sends only the cells that changed.
 */
#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include "export.h"
#include "ksyms.h"
#include "symbolizer.h"
#include "launch.h"
#include "outfile.h"
#include "output.h"
#include "session.h"
#include "signals.h"
#include "top.h"
#include "topview.h"
#include "topmodel.h"
#include "writers.h"

/* Keys handled between two draws at most: a long paste still lets intervals in. */
#define TOP_KEYS_PER_DRAW 64

static void wake(struct mailbox *mb)
{
	ssize_t r = write(mb->wake[1], "x", 1);

	(void)r;	/* a full pipe already means "wake up" */
}

/* On the session's thread: the interval, symbolized, into the mailbox. */
static int on_tick(void *ctx, const struct dp_snapshot *snap)
{
	struct top *t = ctx;
	struct mailbox *mb = &t->mb;
	struct dp_profile *p = malloc(sizeof(*p));
	const char *comm = snap->ri->target_pid ? dp_comms__get(snap->comms, snap->ri->target_pid) : NULL;
	int err;

	if (!p)
		return -ENOMEM;
	err = dp_profile__build(p, snap->delta, snap->sz, snap->comms, &t->popts);
	if (err) {
		free(p);
		return err;
	}
	pthread_mutex_lock(&mb->mu);
	if (mb->ndeltas == mb->capdeltas) {
		uint32_t cap = mb->capdeltas ? mb->capdeltas * 2 : 8;
		struct dp_profile **n = realloc(mb->deltas, cap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&mb->mu);
			dp_profile__free(p);
			free(p);
			return -ENOMEM;
		}
		mb->deltas = n;
		mb->capdeltas = cap;
	}
	mb->deltas[mb->ndeltas++] = p;
	mb->ri = *snap->ri;
	if (comm && !mb->target_comm[0])
		snprintf(mb->target_comm, sizeof(mb->target_comm), "%s", comm);
	mb->ticks++;
	pthread_mutex_unlock(&mb->mu);
	wake(mb);
	return 0;
}

static void *collect(void *arg)
{
	struct top *t = arg;
	struct dp_collect_opts co;
	int err;

	dp_opts__collect(t->o, t->child.pid, t->child.release_fd, &dp_stop, t->o->launch_ns, &co);
	err = dp_session__run(&co, t->pr, &t->hooks, &t->res);

	pthread_mutex_lock(&t->mb.mu);
	t->mb.done = true;
	t->mb.err = err;
	t->mb.target_exited = t->res.target_exited;
	if (!err)
		t->mb.ri = t->res.ri;
	pthread_mutex_unlock(&t->mb.mu);
	wake(&t->mb);
	return NULL;
}

/* Take what the session delivered into the model; true when an interval came. */
static bool take(struct top *t)
{
	struct dp_profile **got;
	uint32_t ngot;
	uint64_t ticks;
	int err = 0;

	pthread_mutex_lock(&t->mb.mu);
	got = t->mb.deltas;
	ngot = t->mb.ndeltas;
	t->mb.deltas = NULL;
	t->mb.ndeltas = t->mb.capdeltas = 0;
	ticks = t->mb.ticks;
	t->mb.ticks = 0;
	if (ticks || t->mb.done) {
		t->ri = t->mb.ri;
		t->have_ri = true;
	}
	if (!t->comm[0] && t->mb.target_comm[0])
		snprintf(t->comm, sizeof(t->comm), "%s", t->mb.target_comm);
	pthread_mutex_unlock(&t->mb.mu);
	if (t->comm[0])
		snprintf(t->ri.target_comm, sizeof(t->ri.target_comm), "%s", t->comm);
	/* The intervals' profiles are the screen's alone now: no lock while merging. */
	for (uint32_t i = 0; i < ngot; i++) {
		if (!err)
			err = dp_topmodel__absorb(&t->m, got[i]);
		dp_profile__free(got[i]);
		free(got[i]);
	}
	free(got);
	if (ticks && !err)
		err = dp_topmodel__tick(&t->m, ticks);	/* several while frozen */
	if (err)
		snprintf(t->msg, sizeof(t->msg), "cannot add samples: %s", strerror(-err));
	return ticks > 0;
}

/* stderr goes to a memory file while the screen is ours; printed after. */
static int capture_stderr(struct top *t)
{
	int fd = memfd_create("deferprof-top-stderr", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	fflush(stderr);
	t->saved_stderr = dup(STDERR_FILENO);
	if (t->saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

static void release_stderr(struct top *t)
{
	char buf[4096];
	ssize_t n;
	off_t end;

	if (t->saved_stderr < 0)
		return;
	fflush(stderr);
	end = lseek(STDERR_FILENO, 0, SEEK_CUR);
	lseek(STDERR_FILENO, 0, SEEK_SET);
	/* deferprof's own lines, not the whole of libbpf's chatter */
	while (end > 0 && (n = read(STDERR_FILENO, buf, sizeof(buf))) > 0) {
		if (write(t->saved_stderr, buf, (size_t)n) != n)
			break;
	}
	dup2(t->saved_stderr, STDERR_FILENO);
	close(t->saved_stderr);
	t->saved_stderr = -1;
}

static int check_tty(void)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "deferprof: top needs a terminal; to write to a file or pipe, use the report command: deferprof -p PID -f report|folded|json|ndjson|pprof|speedscope|html\n");
		return -ENOTTY;
	}
	return 0;
}

static int check_target(const struct dp_opts *o)
{
	if (o->target == DP_TARGET_DEMO) {
		fprintf(stderr, "deferprof: top takes -p PID, -t TID, -a, --cgroup or -- COMMAND; start the demo with: deferprof top -- deferprof-demo\n");
		return -EINVAL;
	}
	return 0;	/* the pids were checked when deferprof started */
}

/*
 * The command's status once top has ended: it ended by itself, or q or a
 * signal ended top first and it is asked to end (SIGTERM; Ctrl-C reached it
 * already). 127 with a line when it could not be run.
 */
static int end_command(struct top *t)
{
	int err, sig = dp_stop_signal == SIGHUP ? SIGHUP : SIGTERM;

	close(t->child.release_fd);
	t->child.release_fd = -1;
	err = dp_launch__exec_error(&t->child);
	if (dp_stop_signal == SIGINT)
		dp_launch__wait_ended(&t->child, 2000);
	t->child.status = dp_launch__wait(&t->child, dp_launch__ended(&t->child) ? 0 : sig);
	dp_launch__close(&t->child);
	if (err) {
		fprintf(stderr, "deferprof: cannot run %s: %s\n", t->o->command[0], strerror(err));
		return 127;
	}
	return t->child.status;
}

int dp_top__main(const struct dp_opts *o, const struct dp_probe *pr)
{
	struct top *t;
	struct pollfd pfd[2];
	int nkeys = 0;
	bool curses = false, started = false;
	int rc = 0, err;

	if (check_tty() || check_target(o))
		return 2;
	t = calloc(1, sizeof(*t));
	if (!t)
		return 1;
	t->o = o;
	t->pr = pr;
	t->saved_stderr = -1;
	t->child.release_fd = t->child.err_fd = -1;
	t->filt.thread = -1;
	/* Decided once, as for a report: the same frames whatever is saved. */
	t->popts.want_inline = !t->o->no_inline;
	t->popts.want_src = !t->o->no_inline;	/* saved files are exports too */
	pthread_mutex_init(&t->mb.mu, NULL);
	if (pipe2(t->mb.wake, O_CLOEXEC | O_NONBLOCK) || dp_topmodel__init(&t->m, 0.75)) {
		fprintf(stderr, "deferprof: cannot set up: %s\n", strerror(errno));
		free(t);
		return 1;
	}
	t->ks = dp_ksyms__load("/proc/kallsyms");
	t->hooks.interval_ns = (uint64_t)(o->interval * 1e9);
	t->hooks.tick = on_tick;
	t->hooks.ctx = t;
	t->hooks.ks = t->ks;

	dp_signals__install();
	if (o->target == DP_TARGET_COMMAND) {
		err = dp_launch__start(&t->child, o->command[0], o->command);
		if (err) {
			fprintf(stderr, "deferprof: cannot start %s: %s\n", o->command[0], strerror(-err));
			rc = 1;
			goto out;
		}
	}

	if (capture_stderr(t) == 0 && initscr()) {
		curses = true;
		cbreak();	/* Ctrl-C still signals */
		noecho();
		nonl();
		keypad(stdscr, TRUE);
		nodelay(stdscr, TRUE);
		curs_set(0);
		set_escdelay(25);
	}
	if (!curses) {
		release_stderr(t);
		fprintf(stderr, "deferprof: cannot start the terminal view (TERM=%s)\n",
			getenv("TERM") ? getenv("TERM") : "");
		rc = 1;
		goto out;
	}
	err = pthread_create(&t->collector, NULL, collect, t);
	if (err) {
		snprintf(t->msg, sizeof(t->msg), "cannot start collecting: %s", strerror(err));
		rc = 1;
		goto out;
	}
	started = true;
	dp_top__own_cpu(t);
	dp_top__draw(t);
	pfd[0].fd = STDIN_FILENO;
	pfd[0].events = POLLIN;
	pfd[1].fd = t->mb.wake[0];
	pfd[1].events = POLLIN;
	while (!t->quit) {
		char drain[64];
		int ch;
		bool done;

		/* keys left after the last burst's cap may sit in curses' buffer: no wait */
		if (poll(pfd, 2, nkeys == TOP_KEYS_PER_DRAW ? 0 : 500) < 0 && errno != EINTR)
			break;
		while (read(t->mb.wake[0], drain, sizeof(drain)) > 0)
			;
		pthread_mutex_lock(&t->mb.mu);
		done = t->mb.done;
		pthread_mutex_unlock(&t->mb.mu);
		/* the intervals are counted under the mailbox's lock, in take() */
		if ((!t->frozen || done) && take(t))
			dp_top__own_cpu(t);
		/* After q nothing more is read; a burst is drawn once (take() in between). */
		for (nkeys = 0; !t->quit && nkeys < TOP_KEYS_PER_DRAW && (ch = getch()) != ERR; nkeys++)
			dp_top__key(t, ch);
		if (done && !t->ended) {
			t->ended = true;
			t->frozen = false;
			if (t->mb.err) {
				rc = 1;
				break;	/* the error is on the captured stderr */
			}
			if (dp_stop_signal)
				break;	/* Ctrl-C or SIGTERM: leave at once */
			snprintf(t->msg, sizeof(t->msg), "%s: profile ended (%s); press any key to leave",
				 t->mb.target_exited ? "the target exited" : "done",
				 t->ri.end_reason ? t->ri.end_reason : "stopped");
		}
		if (dp_stop && !done)
			continue;	/* q or a signal: the session is finishing */
		dp_top__draw(t);
	}
out:
	dp_stop = 1;
	if (started)
		pthread_join(t->collector, NULL);
	if (curses)
		endwin();
	release_stderr(t);
	if (t->child.pid > 0) {
		int st = end_command(t);

		if (rc == 0)
			rc = st;
	} else if (rc == 0 && t->mb.target_exited) {
		fprintf(stderr, "deferprof: the target exited; top ended\n");
	}
	if (t->msg[0] && rc)
		fprintf(stderr, "deferprof: %s\n", t->msg);
	if (started)
		dp_session_result__free(&t->res);
	dp_topmodel__free(&t->m);
	for (uint32_t i = 0; i < t->mb.ndeltas; i++) {
		dp_profile__free(t->mb.deltas[i]);
		free(t->mb.deltas[i]);
	}
	free(t->mb.deltas);
	dp_ksyms__free(t->ks);
	free(t->rows);
	free(t->trows);
	free(t->tlines);
	close(t->mb.wake[0]);
	close(t->mb.wake[1]);
	free(t);
	return rc;
}
