// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The canonical order every writer reads (report, folded and the exports), and UTF-8 cleaning. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"

/* What the comparators read: qsort_r passes it, nothing global. */
struct order_ctx {
	const struct dp_profile *p;
	const uint32_t *pre;		/* each frame-tree node's place (dp_profile__node_order) */
	const uint32_t *thread_rank;	/* each thread's place in x->threads */
	bool by_comm;
};

/* Frame lists, frame by frame by rank, a list before its extensions: one number each. */
static int cmp_frames(const struct order_ctx *c, uint32_t a, uint32_t b)
{
	return c->pre[a] < c->pre[b] ? -1 : c->pre[a] > c->pre[b];
}

static const char *comm_of(const struct order_ctx *c, const struct dp_pstack *s)
{
	return c->by_comm ? c->p->threads[s->thread].comm : NULL;
}

static int cmp_comm(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) : 0;
}

/* Equal frame lists (of one comm) next to each other, their threads in order. */
static int cmp_pstack(const void *a, const void *b, void *arg)
{
	const struct order_ctx *c = arg;
	const struct dp_pstack *x = &c->p->stacks[*(const uint32_t *)a];
	const struct dp_pstack *y = &c->p->stacks[*(const uint32_t *)b];
	int r = cmp_frames(c, x->node, y->node);

	if (!r)
		r = cmp_comm(comm_of(c, x), comm_of(c, y));
	if (r)
		return r;
	return c->thread_rank[x->thread] < c->thread_rank[y->thread] ? -1 :
	       c->thread_rank[x->thread] > c->thread_rank[y->thread];
}

/* The canonical order: by samples, then by comm (per comm), then frame by frame. */
static int cmp_xstack(const void *a, const void *b, void *arg)
{
	const struct dp_xstack *x = a, *y = b;
	int r;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	r = cmp_comm(x->comm, y->comm);
	return r ? r : cmp_frames(arg, x->node, y->node);
}

static int cmp_thread(const void *a, const void *b)
{
	const struct dp_thread *x = *(const struct dp_thread *const *)a;
	const struct dp_thread *y = *(const struct dp_thread *const *)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static bool same_group(const struct order_ctx *c, const struct dp_pstack *s,
		       const struct dp_pstack *t)
{
	return t->node == s->node &&
	       (!c->by_comm || !strcmp(comm_of(c, s), comm_of(c, t)));
}

static int build(struct dp_export *x, const struct dp_profile *p, bool by_comm)
{
	struct order_ctx c = { .p = p, .by_comm = by_comm };
	uint32_t *order = NULL, *rank = NULL, *newidx = NULL, *frame_rank = NULL, *pre = NULL;
	uint32_t *buf = NULL;
	uint32_t n = p->nstacks, g = 0;
	int err = -ENOMEM;

	memset(x, 0, sizeof(*x));
	x->p = p;
	x->total = p->total;
	x->threads = calloc(p->nthreads + 1, sizeof(*x->threads));
	rank = calloc(p->nthreads + 1, sizeof(*rank));
	order = calloc(n + 1, sizeof(*order));
	x->stacks = calloc(n + 1, sizeof(*x->stacks));
	x->count_buf = calloc(n + 1, sizeof(*x->count_buf));
	newidx = malloc((p->nframes + 1) * sizeof(*newidx));
	x->frames = calloc(p->nframes + 1, sizeof(*x->frames));
	frame_rank = dp_profile__frame_ranks(p);
	pre = frame_rank ? dp_profile__node_order(p, frame_rank) : NULL;
	if (!x->threads || !rank || !order || !x->stacks || !x->count_buf || !newidx ||
	    !x->frames || !pre)
		goto out;

	for (uint32_t i = 0; i < p->nthreads; i++)
		x->threads[i] = &p->threads[i];
	x->nthreads = p->nthreads;
	qsort(x->threads, x->nthreads, sizeof(*x->threads), cmp_thread);
	for (uint32_t i = 0; i < x->nthreads; i++)
		rank[x->threads[i] - p->threads] = i;

	for (uint32_t i = 0; i < n; i++)
		order[i] = i;
	c.pre = pre;
	c.thread_rank = rank;
	qsort_r(order, n, sizeof(*order), cmp_pstack, &c);
	for (uint32_t i = 0; i < n;) {
		const struct dp_pstack *s = &p->stacks[order[i]];
		struct dp_xstack *xs = &x->stacks[g++];

		xs->node = s->node;
		xs->nframes = s->nframes;
		xs->comm = comm_of(&c, s);
		xs->threads = &x->count_buf[i];
		for (; i < n; i++) {
			const struct dp_pstack *t = &p->stacks[order[i]];

			if (!same_group(&c, s, t))
				break;
			if (!t->count)
				continue;
			xs->threads[xs->nthreads].thread = rank[t->thread];
			xs->threads[xs->nthreads++].count = t->count;
			xs->count += t->count;
		}
		if (!xs->count)
			g--;	/* a stack with no samples (an empty interval) is left out */
	}
	x->nstacks = g;
	qsort_r(x->stacks, g, sizeof(*x->stacks), cmp_xstack, &c);

	/* Frames numbered in order of first use. */
	x->max_frames = p->max_frames;
	buf = malloc((p->max_frames + 1) * sizeof(*buf));
	if (!buf)
		goto out;
	memset(newidx, 0xff, (p->nframes + 1) * sizeof(*newidx));
	for (uint32_t i = 0; i < g; i++) {
		const struct dp_xstack *xs = &x->stacks[i];

		dp_profile__frames(p, xs->node, buf);
		for (uint32_t k = 0; k < xs->nframes; k++) {
			uint32_t f = buf[k];

			if (newidx[f] == UINT32_MAX) {
				newidx[f] = x->nframes;
				x->frames[x->nframes++] = f;
			}
		}
	}
	x->export_idx = newidx;
	newidx = NULL;
	err = 0;
out:
	free(buf);
	free(frame_rank);
	free(pre);
	free(order);
	free(rank);
	free(newidx);
	if (err)
		dp_export__free(x);
	return err;
}

const uint32_t *dp_export__stack_frames(const struct dp_export *x, const struct dp_xstack *xs,
					uint32_t *buf)
{
	dp_profile__frames(x->p, xs->node, buf);
	for (uint32_t k = 0; k < xs->nframes; k++)
		buf[k] = x->export_idx[buf[k]];
	return buf;
}

int dp_export__build(struct dp_export *x, const struct dp_profile *p)
{
	return build(x, p, false);
}

int dp_export__build_per_comm(struct dp_export *x, const struct dp_profile *p)
{
	return build(x, p, true);
}

void dp_export__free(struct dp_export *x)
{
	free(x->frames);
	free(x->threads);
	free(x->stacks);
	free(x->export_idx);
	free(x->count_buf);
	memset(x, 0, sizeof(*x));
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), or 0. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
		       (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

char *dp_utf8_clean(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), i, k, bad = 0;
	char *out;

	for (i = 0; i < len; i += k ? k : 1) {
		k = utf8_seq(u + i);
		bad += !k;
	}
	if (!bad)
		return (char *)s;
	out = malloc(len + bad * 2 + 1);
	if (!out)
		return NULL;
	for (i = 0, len = 0; u[i]; i += k ? k : 1) {
		k = utf8_seq(u + i);
		if (k) {
			memcpy(out + len, u + i, k);
			len += k;
		} else {
			memcpy(out + len, "\xef\xbf\xbd", 3);	/* U+FFFD */
			len += 3;
		}
	}
	out[len] = 0;
	return out;
}
