// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * deferprof top: the live view. The session runs on its own thread, as for
 * the report, and hands each interval's counts to a mailbox; the screen
 * thread takes them, symbolizes them into the model (topmodel.c) and draws.
 * A slow terminal slows the drawing only: collection never waits for it.
 * ncurses sends only the cells that changed.
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
#include "topmodel.h"
#include "writers.h"

/*
 * What the session thread hands to the screen thread: each interval
 * symbolized on the session's thread into a profile of its own, which the
 * screen only reads. The lock guards the hand-over alone.
 */
struct mailbox {
	pthread_mutex_t mu;
	struct dp_profile **deltas;	/* intervals not yet taken */
	uint32_t ndeltas, capdeltas;
	struct dp_runinfo ri;		/* the counters at the last interval */
	char target_comm[16];		/* the target's name, once known */
	uint64_t ticks;			/* intervals since the last take */
	bool done, target_exited;
	int err;
	int wake[2];			/* a byte per interval, and at the end */
};

enum view { V_FUNCS, V_TREE, V_THREADS, V_HELP };
enum prompt { P_NONE, P_SEARCH, P_SAVE };

struct top {
	const struct dp_opts *o;
	const struct dp_probe *pr;
	struct dp_session_result res;
	struct dp_session_hooks hooks;
	struct dp_launch child;		/* -- COMMAND, held until the events are open */
	struct mailbox mb;
	pthread_t collector;
	struct dp_topmodel m;
	struct dp_ksyms *ks;
	struct dp_profile_opts popts;
	struct dp_runinfo ri;
	bool have_ri;
	/* what the screen shows */
	enum view view, back;
	enum dp_counting counting;
	enum dp_sort sort;
	struct dp_topfilter filt;
	bool frozen, ended, quit;
	int sel, scroll;		/* selected line and first line shown */
	uint32_t tree_frame;
	enum dp_treedir tree_dir;
	enum prompt prompt;
	char input[256];
	char msg[256];
	char comm[16];			/* the target's command name */
	/* deferprof's own CPU use */
	double cpu_pct, last_cpu_s, last_wall_s;
	/* rows of the current list, rebuilt on each draw */
	struct dp_toprow *rows;
	struct dp_topthread *trows;
	struct dp_treeline *tlines;
	uint32_t nrows;
	FILE *errlog;			/* stderr while the screen is ours */
	int saved_stderr;
};

static double now_s(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

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
		err = dp_topmodel__tick(&t->m);
	if (err)
		snprintf(t->msg, sizeof(t->msg), "cannot add samples: %s", strerror(-err));
	return ticks > 0;
}

static void own_cpu(struct top *t)
{
	struct rusage ru;
	double cpu, wall = now_s(CLOCK_MONOTONIC);

	if (getrusage(RUSAGE_SELF, &ru))
		return;
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	if (t->last_wall_s > 0 && wall > t->last_wall_s)
		t->cpu_pct = 100.0 * (cpu - t->last_cpu_s) / (wall - t->last_wall_s);
	t->last_cpu_s = cpu;
	t->last_wall_s = wall;
}

/* --- drawing */

static void line_clear(int y)
{
	move(y, 0);
	clrtoeol();
}

/* printf at (y, 0), cut at the screen's width. */
static void put(int y, int attr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(int y, int attr, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (COLS > 0 && (size_t)COLS < sizeof(buf))
		buf[COLS] = 0;
	line_clear(y);
	attron(attr);
	mvaddstr(y, 0, buf);
	attroff(attr);
}

static const char *wfmt(double v, enum dp_counting c, char *buf, size_t len)
{
	if (c == DP_COUNT_CUMULATIVE)
		snprintf(buf, len, "%8.0f", v);
	else
		snprintf(buf, len, "%8.1f", v);
	return buf;
}

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0.0;
}

static void header(struct top *t)
{
	const struct dp_runinfo *ri = &t->ri;
	struct dp_loss l[DP_NLOSSES];
	const char *state = t->ended ? "ended" : t->frozen ? "FROZEN, collecting" : "live";
	const char *thr = "all";
	char rate[64], who[256];

	if (ri->freq)
		snprintf(rate, sizeof(rate), "%llu Hz", (unsigned long long)ri->freq);
	else
		snprintf(rate, sizeof(rate), "every %llu events", (unsigned long long)ri->period);
	if (ri->target_pid)
		snprintf(who, sizeof(who), "%s %u%s%s", strncmp(ri->target, "thread", 6) ? "pid" : "tid",
			 ri->target_pid, t->comm[0] ? " " : "", t->comm);
	else
		snprintf(who, sizeof(who), "%s", ri->target[0] ? ri->target : "starting");
	put(0, A_REVERSE, "deferprof top [%s]  %s  %s mode  %s %s%*s", state, who,
	    ri->mode ? ri->mode : "?", ri->event ? ri->event : "", rate, COLS, "");
	put(1, 0, "samples: %llu total, %llu last interval (%.0f/s)  intervals %llu  deferprof CPU %.1f%%",
	    (unsigned long long)t->m.prof.total, (unsigned long long)t->m.last_interval_samples,
	    t->o->interval > 0 ? (double)t->m.last_interval_samples / t->o->interval : 0.0,
	    (unsigned long long)t->m.intervals, t->cpu_pct);
	dp_runinfo__losses(ri, l);
	put(2, 0, "lost: records %llu  user stack %llu  map full %llu  truncated %llu/%llu  not stored %llu/%llu  late %llu",
	    (unsigned long long)ri->lost_records, (unsigned long long)dp_runinfo__user_lost(ri),
	    (unsigned long long)ri->bpf[DP_STAT_DROP_COUNTS_FULL],
	    (unsigned long long)ri->bpf[DP_STAT_KTRUNC], (unsigned long long)ri->bpf[DP_STAT_UTRUNC],
	    (unsigned long long)ri->bpf[DP_STAT_KSTACK_FULL], (unsigned long long)ri->bpf[DP_STAT_USTACK_FULL],
	    (unsigned long long)ri->join.records_late);
	if (t->filt.thread >= 0 && (uint32_t)t->filt.thread < t->m.prof.nthreads)
		thr = t->m.prof.threads[t->filt.thread].comm;
	put(3, A_BOLD, "sort %s | %s counts | thread %s | %s | search \"%s\"",
	    t->sort == DP_SORT_SELF ? "self" : "total",
	    t->counting == DP_COUNT_CUMULATIVE ? "cumulative" : "decaying",
	    thr, t->filt.side == DP_SIDE_KERNEL ? "kernel only" :
	    t->filt.side == DP_SIDE_USER ? "user only" : "kernel+user", t->filt.search);
}

static int list_rows(void)
{
	return LINES - 6 > 1 ? LINES - 6 : 1;
}

static void keep_visible(struct top *t)
{
	int h = list_rows();

	if (t->sel >= (int)t->nrows)
		t->sel = (int)t->nrows - 1;
	if (t->sel < 0)
		t->sel = 0;
	if (t->sel < t->scroll)
		t->scroll = t->sel;
	if (t->sel >= t->scroll + h)
		t->scroll = t->sel - h + 1;
	if (t->scroll < 0)
		t->scroll = 0;
}

static void frame_label(const struct dp_frame *f, char *buf, size_t len)
{
	if (f->module && !f->marker)
		snprintf(buf, len, f->module[0] == '[' ? "%s%s %s" : "%s%s [%s]", f->name,
			 f->inlined ? " (inlined)" : "", f->module);
	else
		snprintf(buf, len, "%s", f->name);
}

static void draw_funcs_view(struct top *t)
{
	double whole = dp_topmodel__total(&t->m, &t->filt, t->counting);
	char a[32], b[32], label[512];
	int h = list_rows();

	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
	if (dp_topmodel__functions(&t->m, &t->filt, t->counting, t->sort, &t->rows, &t->nrows))
		snprintf(t->msg, sizeof(t->msg), "out of memory");
	keep_visible(t);
	put(4, A_UNDERLINE, "%7s %7s %8s %8s  %c  %-s", "SELF%", "TOTAL%", "SELF", "TOTAL", 'K', "FUNCTION [MODULE]");
	for (int i = 0; i < h; i++) {
		int r = t->scroll + i;
		const struct dp_toprow *row;
		const struct dp_frame *f;

		if (r >= (int)t->nrows) {
			line_clear(5 + i);
			continue;
		}
		row = &t->rows[r];
		f = &t->m.prof.frames[row->frame];
		frame_label(f, label, sizeof(label));
		put(5 + i, r == t->sel ? A_REVERSE : 0, "%6.2f%% %6.2f%% %s %s  %c  %s",
		    pct(row->self, whole), pct(row->total, whole), wfmt(row->self, t->counting, a, sizeof(a)),
		    wfmt(row->total, t->counting, b, sizeof(b)), f->marker ? '-' : f->kernel ? 'k' : 'u',
		    label);
	}
	if (!t->nrows)
		put(5, 0, "%s", t->m.prof.total ? "(nothing matches the filters)" : "(waiting for samples)");
}

static void draw_tree_view(struct top *t)
{
	double whole = dp_topmodel__total(&t->m, &t->filt, t->counting);
	char label[512], w[32];
	int h = list_rows();

	free(t->tlines);
	t->tlines = NULL;
	t->nrows = 0;
	if (dp_topmodel__tree(&t->m, &t->filt, t->counting, t->tree_frame, t->tree_dir,
			      &t->tlines, &t->nrows))
		snprintf(t->msg, sizeof(t->msg), "out of memory");
	keep_visible(t);
	frame_label(&t->m.prof.frames[t->tree_frame], label, sizeof(label));
	put(4, A_UNDERLINE, "%s of %s  (Tab: %s)", t->tree_dir == DP_TREE_CALLERS ? "CALLERS" : "CALLEES",
	    label, t->tree_dir == DP_TREE_CALLERS ? "callees" : "callers");
	for (int i = 0; i < h; i++) {
		int r = t->scroll + i;
		const struct dp_treeline *tl;

		if (r >= (int)t->nrows) {
			line_clear(5 + i);
			continue;
		}
		tl = &t->tlines[r];
		frame_label(&t->m.prof.frames[tl->frame], label, sizeof(label));
		put(5 + i, r == t->sel ? A_REVERSE : 0, "%6.2f%% %s %*s%c %s", pct(tl->weight, whole),
		    wfmt(tl->weight, t->counting, w, sizeof(w)), (int)(2 * tl->depth), "",
		    !tl->has_children ? ' ' : tl->expanded ? '-' : '+', label);
	}
	if (!t->nrows)
		put(5, 0, "(no samples of this function under the filters)");
}

static void draw_threads_view(struct top *t)
{
	double whole = dp_topmodel__total(&t->m, &(struct dp_topfilter){ .thread = -1, .side = t->filt.side },
					  t->counting);
	char w[32];
	int h = list_rows();

	free(t->trows);
	t->trows = NULL;
	t->nrows = 0;
	if (dp_topmodel__threads(&t->m, &t->filt, t->counting, &t->trows, &t->nrows))
		snprintf(t->msg, sizeof(t->msg), "out of memory");
	t->nrows++;	/* line 0: all threads */
	keep_visible(t);
	put(4, A_UNDERLINE, "%7s %8s  %8s %8s  %s", "%", "SAMPLES", "PID", "TID", "THREAD (Enter: show only it)");
	for (int i = 0; i < h; i++) {
		int r = t->scroll + i;
		const struct dp_thread *th;

		if (r >= (int)t->nrows) {
			line_clear(5 + i);
			continue;
		}
		if (r == 0) {
			put(5 + i, r == t->sel ? A_REVERSE : 0, "%6.2f%% %s  %8s %8s  (all threads)", 100.0,
			    wfmt(whole, t->counting, w, sizeof(w)), "", "");
			continue;
		}
		th = &t->m.prof.threads[t->trows[r - 1].thread];
		put(5 + i, r == t->sel ? A_REVERSE : 0, "%6.2f%% %s  %8u %8u  %s",
		    pct(t->trows[r - 1].samples, whole), wfmt(t->trows[r - 1].samples, t->counting, w, sizeof(w)),
		    th->pid, th->tid, th->comm);
	}
}

static const char *const help_lines[] = {
	"deferprof top: keys",
	"",
	"  Up/Down PgUp/PgDn Home/End   move the selection",
	"  Enter                         function: its callers/callees tree; tree: open or close a line",
	"  Right / Left                  tree: open / close a line",
	"  Tab                           tree: switch between callers and callees",
	"  Esc, Backspace                back to the function list",
	"  s / t                         sort functions by self / by total (self + children)",
	"  c                             cumulative or decaying (recent intervals weigh most) counts",
	"  k / u                         kernel frames only / user frames only (again: both)",
	"  T                             threads: per-thread samples; Enter shows only that thread",
	"  /                             search function names (empty: clear)",
	"  f or Space                    freeze the display (collection goes on)",
	"  w                             write the whole profile to a file: .folded (default),",
	"                                .json, .pb.gz (pprof) or .speedscope.json",
	"  h or ?                        this help (any key returns)",
	"  q                             quit",
};

static void draw_help(void)
{
	int n = (int)(sizeof(help_lines) / sizeof(help_lines[0]));

	for (int i = 0; i < LINES - 5; i++) {
		if (i < n)
			put(4 + i, i == 0 ? A_BOLD : 0, "%s", help_lines[i]);
		else
			line_clear(4 + i);
	}
}

static void draw(struct top *t)
{
	erase();	/* into the virtual screen: refresh() sends only the differences */
	header(t);
	switch (t->view) {
	case V_FUNCS:
		draw_funcs_view(t);
		break;
	case V_TREE:
		draw_tree_view(t);
		break;
	case V_THREADS:
		draw_threads_view(t);
		break;
	case V_HELP:
		draw_help();
		break;
	}
	if (t->prompt != P_NONE)
		put(LINES - 1, A_REVERSE, "%s%s", t->prompt == P_SEARCH ? "search: " : "write to: ", t->input);
	else if (t->msg[0])
		put(LINES - 1, A_REVERSE, "%s", t->msg);
	else
		put(LINES - 1, A_REVERSE, "h:help q:quit Enter:tree s/t:sort c:count k/u:side T:thread /:find f:hold w:save");
	refresh();
}

/* --- keys */

static void save(struct top *t, const char *path)
{
	const struct dp_writer *w = dp_writer__for_path(path);
	struct dp_outfile of;
	int err;

	/* errors of the writer go to the message line, not to the screen */
	if (dp_outfile__open(&of, path)) {
		snprintf(t->msg, sizeof(t->msg), "cannot write %s: %s", path, strerror(errno));
		return;
	}
	err = w->write(of.f, &t->m.prof, &t->ri, NULL);
	if (dp_outfile__close(&of, err == 0) || err)
		snprintf(t->msg, sizeof(t->msg), "cannot write %s: %s", path, strerror(err ? -err : EIO));
	else
		snprintf(t->msg, sizeof(t->msg), "wrote %llu samples to %s (%s)",
			 (unsigned long long)t->m.prof.total, path, w->name);
}

static void prompt_key(struct top *t, int ch)
{
	size_t n = strlen(t->input);

	if (ch == 27) {	/* Esc */
		t->prompt = P_NONE;
		return;
	}
	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		if (t->prompt == P_SEARCH) {
			snprintf(t->filt.search, sizeof(t->filt.search), "%.*s", (int)sizeof(t->filt.search) - 1, t->input);
			t->sel = t->scroll = 0;
		} else if (n) {
			save(t, t->input);
		}
		t->prompt = P_NONE;
		return;
	}
	if (ch == 21) {	/* Ctrl-U */
		t->input[0] = 0;
		return;
	}
	if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && n) {
		t->input[n - 1] = 0;
		return;
	}
	if (ch >= 32 && ch < 127 && n + 1 < sizeof(t->input)) {
		t->input[n] = (char)ch;
		t->input[n + 1] = 0;
	}
}

static void open_tree(struct top *t)
{
	if (t->view == V_FUNCS && t->sel < (int)t->nrows) {
		t->tree_frame = t->rows[t->sel].frame;
		t->tree_dir = DP_TREE_CALLERS;
		t->view = V_TREE;
		t->sel = t->scroll = 0;
	}
}

static void key(struct top *t, int ch)
{
	int h = list_rows();

	if (t->prompt != P_NONE) {
		prompt_key(t, ch);
		return;
	}
	t->msg[0] = 0;
	if (t->ended && ch != KEY_RESIZE) {
		t->quit = true;	/* the profile ended: any key leaves */
		return;
	}
	if (t->view == V_HELP && ch != KEY_RESIZE) {
		t->view = t->back;
		return;
	}
	switch (ch) {
	case 'q':
	case 'Q':
		t->quit = true;
		break;
	case 'h':
	case '?':
		t->back = t->view;
		t->view = V_HELP;
		break;
	case KEY_UP:
		t->sel--;
		break;
	case KEY_DOWN:
		t->sel++;
		break;
	case KEY_PPAGE:
		t->sel -= h;
		break;
	case KEY_NPAGE:
		t->sel += h;
		break;
	case KEY_HOME:
		t->sel = 0;
		break;
	case KEY_END:
		t->sel = (int)t->nrows - 1;
		break;
	case 's':
		t->sort = DP_SORT_SELF;
		break;
	case 't':
		t->sort = DP_SORT_TOTAL;
		break;
	case 'c':
		t->counting = t->counting == DP_COUNT_CUMULATIVE ? DP_COUNT_DECAYING : DP_COUNT_CUMULATIVE;
		break;
	case 'k':
		t->filt.side = t->filt.side == DP_SIDE_KERNEL ? DP_SIDE_ALL : DP_SIDE_KERNEL;
		break;
	case 'u':
		t->filt.side = t->filt.side == DP_SIDE_USER ? DP_SIDE_ALL : DP_SIDE_USER;
		break;
	case 'T':
		t->view = V_THREADS;
		t->sel = t->scroll = 0;
		break;
	case '/':
		t->prompt = P_SEARCH;
		snprintf(t->input, sizeof(t->input), "%s", t->filt.search);
		break;
	case 'w':
		t->prompt = P_SAVE;
		snprintf(t->input, sizeof(t->input), "deferprof-top.folded");
		break;
	case 'f':
	case ' ':
		t->frozen = !t->frozen;
		break;
	case '\t':
		if (t->view == V_TREE) {
			t->tree_dir = t->tree_dir == DP_TREE_CALLERS ? DP_TREE_CALLEES : DP_TREE_CALLERS;
			t->sel = t->scroll = 0;
		}
		break;
	case KEY_RIGHT:
	case KEY_LEFT:
		if (t->view == V_TREE && t->sel < (int)t->nrows && t->sel > 0) {
			const struct dp_treeline *tl = &t->tlines[t->sel];

			if (tl->has_children && tl->expanded == (ch == KEY_LEFT))
				dp_topmodel__toggle(&t->m, tl->id);
		} else if (ch == KEY_LEFT && t->view != V_FUNCS) {
			t->view = V_FUNCS;
			t->sel = t->scroll = 0;
		}
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		if (t->view == V_FUNCS) {
			open_tree(t);
		} else if (t->view == V_TREE && t->sel > 0 && t->sel < (int)t->nrows) {
			if (t->tlines[t->sel].has_children)
				dp_topmodel__toggle(&t->m, t->tlines[t->sel].id);
		} else if (t->view == V_THREADS) {
			t->filt.thread = t->sel == 0 || t->sel > (int)t->nrows - 1 ? -1 :
					 (int64_t)t->trows[t->sel - 1].thread;
			t->view = V_FUNCS;
			t->sel = t->scroll = 0;
		}
		break;
	case 27:	/* Esc */
	case KEY_BACKSPACE:
	case 127:
		if (t->view != V_FUNCS) {
			t->view = V_FUNCS;
			t->sel = t->scroll = 0;
		}
		break;
	default:
		break;
	}
}

/* --- set-up and the loop */

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
		fprintf(stderr, "deferprof: top needs a terminal; to write to a file or pipe, use the report command: deferprof -p PID -f report|folded|json|ndjson|pprof|speedscope\n");
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
	t->popts.want_src = true;	/* inlined functions, and source lines for saved files */
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
	own_cpu(t);
	draw(t);
	pfd[0].fd = STDIN_FILENO;
	pfd[0].events = POLLIN;
	pfd[1].fd = t->mb.wake[0];
	pfd[1].events = POLLIN;
	while (!t->quit) {
		char drain[64];
		int ch;
		bool done;

		if (poll(pfd, 2, 500) < 0 && errno != EINTR)
			break;
		while (read(t->mb.wake[0], drain, sizeof(drain)) > 0)
			;
		pthread_mutex_lock(&t->mb.mu);
		done = t->mb.done;
		pthread_mutex_unlock(&t->mb.mu);
		/* the intervals are counted under the mailbox's lock, in take() */
		if ((!t->frozen || done) && take(t))
			own_cpu(t);
		while ((ch = getch()) != ERR)
			key(t, ch);
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
		draw(t);
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
