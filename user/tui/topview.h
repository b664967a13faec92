/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The live view's state, shared by its three parts: top.c (the session's
 * thread, the hand-over, the loop), screen.c (drawing) and keys.c (keys,
 * prompts, saving). Private to tui/.
 */
#ifndef DP_TOPVIEW_H
#define DP_TOPVIEW_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include "launch.h"
#include "options.h"
#include "probe.h"
#include "profile.h"
#include "session.h"
#include "topmodel.h"

struct dp_ksyms;

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
	bool relist;			/* a key changed the list: rows and nrows are stale */
	FILE *errlog;			/* stderr while the screen is ours */
	int saved_stderr;
};

static inline double dp_top__now_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* screen.c */
int dp_top__list_rows(void);
/* deferprof's own CPU use since the last call, into t->cpu_pct. */
void dp_top__own_cpu(struct top *t);
void dp_top__draw(struct top *t);
/* Rebuild the current view's rows (nrows and its array) from the model, unpainted. */
void dp_top__relist(struct top *t);
/* The selection within the list's rows, and the list scrolled to show it. */
void dp_top__keep_visible(struct top *t);
/* keys.c */
void dp_top__key(struct top *t, int ch);

#endif
