// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* deferprof top's drawing: the header, the three views and the help. */
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "topview.h"

void dp_top__own_cpu(struct top *t)
{
	struct rusage ru;
	double cpu, wall = dp_top__now_s(CLOCK_MONOTONIC);

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
	if (!ri->mode)	/* before the session's first interval: nothing known yet */
		put(0, A_REVERSE, "deferprof top [%s]  starting (no interval in yet)%*s", state, COLS, "");
	else
		put(0, A_REVERSE, "deferprof top [%s]  %s  %s mode  %s %s%*s", state, who, ri->mode,
		    ri->event ? ri->event : "", rate, COLS, "");
	put(1, 0, "samples: %llu total, %llu last interval (%.0f/s)  intervals %llu  deferprof CPU %.1f%%",
	    (unsigned long long)t->m.prof.total, (unsigned long long)t->m.last_interval_samples,
	    t->o->interval > 0 ? (double)t->m.last_interval_samples / t->o->interval : 0.0,
	    (unsigned long long)t->m.intervals, t->cpu_pct);
	dp_runinfo__losses(ri, l);
	put(2, 0, "lost: records %llu  user stack %llu  dropped %llu  truncated %llu/%llu  not stored %llu/%llu  late %llu",
	    (unsigned long long)ri->lost_records, (unsigned long long)dp_runinfo__user_lost(ri),
	    (unsigned long long)dp_runinfo__dropped(ri),
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

int dp_top__list_rows(void)
{
	return LINES - 6 > 1 ? LINES - 6 : 1;
}

void dp_top__keep_visible(struct top *t)
{
	int h = dp_top__list_rows();

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

static void list_funcs(struct top *t)
{
	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
	if (dp_topmodel__functions(&t->m, &t->filt, t->counting, t->sort, &t->rows, &t->nrows))
		snprintf(t->msg, sizeof(t->msg), "out of memory");
}

static void list_tree(struct top *t)
{
	free(t->tlines);
	t->tlines = NULL;
	t->nrows = 0;
	if (dp_topmodel__tree(&t->m, &t->filt, t->counting, t->tree_frame, t->tree_dir,
			      &t->tlines, &t->nrows))
		snprintf(t->msg, sizeof(t->msg), "out of memory");
}

static void list_threads(struct top *t)
{
	free(t->trows);
	t->trows = NULL;
	t->nrows = 0;
	if (dp_topmodel__threads(&t->m, &t->filt, t->counting, &t->trows, &t->nrows))
		snprintf(t->msg, sizeof(t->msg), "out of memory");
	t->nrows++;	/* line 0: all threads */
}

void dp_top__relist(struct top *t)
{
	switch (t->view) {
	case V_FUNCS:
		list_funcs(t);
		break;
	case V_TREE:
		list_tree(t);
		break;
	case V_THREADS:
		list_threads(t);
		break;
	case V_HELP:
		return;	/* no list: the view behind keeps its rows */
	}
	t->relist = false;
	dp_top__keep_visible(t);
}

static void draw_funcs_view(struct top *t)
{
	double whole = dp_topmodel__total(&t->m, &t->filt, t->counting);
	char a[32], b[32], label[512];
	int h = dp_top__list_rows();

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
	int h = dp_top__list_rows();

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
	int h = dp_top__list_rows();

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
	"  w                             write the profile to a file: .folded (default), .json,",
	"                                .pb.gz (pprof), .speedscope.json or .html",
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

void dp_top__draw(struct top *t)
{
	dp_top__relist(t);	/* the model may have grown since: always */
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
