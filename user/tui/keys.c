// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* deferprof top's keys: moving, views, filters, the search and save prompts. */
#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "outfile.h"
#include "topview.h"
#include "writers.h"

static void save(struct top *t, const char *path)
{
	const struct dp_writer *w = dp_writer__for_path(path);
	struct dp_outfile of;
	struct stat st;
	int err;

	/* Opening a FIFO waits for a reader, and the screen with it: a file only. */
	if (stat(path, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		snprintf(t->msg, sizeof(t->msg), "cannot write %s: a %s (top would block on it)",
			 path, S_ISFIFO(st.st_mode) ? "FIFO" : "socket");
		return;
	}
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
		t->relist = true;
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

/* A key that moves the selection: handled (true), the selection kept in the list. */
static bool move_key(struct top *t, int ch)
{
	int h = dp_top__list_rows();

	switch (ch) {
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
	default:
		return false;
	}
	dp_top__keep_visible(t);
	return true;
}

/*
 * One key. Keys typed ahead (a paste, a held key, a redraw slower than the
 * typist) come in one batch before the next draw: any key but a move sets
 * relist, and the next key first rebuilds the list, so that its row number
 * refers to the list the keys before it made.
 */
void dp_top__key(struct top *t, int ch)
{
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
		t->relist = true;
		return;
	}
	if (t->relist)
		dp_top__relist(t);
	if (move_key(t, ch))
		return;
	t->relist = true;
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
