// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reading a profile's stacks in order: their frames from the frame tree, and
 * the total order of frames and of frame lists every output sorts by
 * (model/export.c builds the canonical order from them).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "profile.h"

uint32_t dp_profile__frames(const struct dp_profile *p, uint32_t node, uint32_t *out)
{
	uint32_t n = 0, k;

	for (uint32_t id = node; id; id = p->fnodes[id].parent)
		n++;
	k = n;
	for (uint32_t id = node; id; id = p->fnodes[id].parent)
		out[--k] = p->fnodes[id].frame;
	return n;
}

/* What the sibling comparator reads, through qsort_r. */
struct sibling_ctx {
	const struct dp_profile *p;
	const uint32_t *rank;
};

/* A total order on distinct frames: name, module, kernel, marker, inlined. */
static int cmp_frame_idx(const void *a, const void *b, void *arg)
{
	const struct dp_profile *p = arg;
	const struct dp_frame *x = &p->frames[*(const uint32_t *)a];
	const struct dp_frame *y = &p->frames[*(const uint32_t *)b];
	int c;

	if ((c = strcmp(x->name, y->name)))
		return c;
	if ((c = strcmp(x->module ? x->module : "", y->module ? y->module : "")))
		return c;
	if (x->kernel != y->kernel)
		return x->kernel ? 1 : -1;
	if (x->marker != y->marker)
		return x->marker ? 1 : -1;
	return (int)x->inlined - (int)y->inlined;
}

uint32_t *dp_profile__frame_ranks(const struct dp_profile *p)
{
	uint32_t *order = malloc((p->nframes + 1) * sizeof(*order));
	uint32_t *rank = malloc((p->nframes + 1) * sizeof(*rank));

	if (!order || !rank) {
		free(order);
		free(rank);
		return NULL;
	}
	for (uint32_t i = 0; i < p->nframes; i++)
		order[i] = i;
	qsort_r(order, p->nframes, sizeof(*order), cmp_frame_idx, (void *)p);
	for (uint32_t i = 0; i < p->nframes; i++)
		rank[order[i]] = i;
	free(order);
	return rank;
}

/* Siblings by parent, then by their frame's rank. */
static int cmp_sibling(const void *a, const void *b, void *arg)
{
	const struct sibling_ctx *c = arg;
	const struct dp_fnode *x = &c->p->fnodes[*(const uint32_t *)a];
	const struct dp_fnode *y = &c->p->fnodes[*(const uint32_t *)b];

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return c->rank[x->frame] < c->rank[y->frame] ? -1 : c->rank[x->frame] > c->rank[y->frame];
}

/*
 * Comparing frame lists frame by frame, a list before its extensions, is
 * the preorder of the tree with each node's children in rank order.
 */
uint32_t *dp_profile__node_order(const struct dp_profile *p, const uint32_t *rank)
{
	uint32_t n = p->nfnodes ? p->nfnodes : 1, nkids = n - 1, top = 0, next = 0;
	uint32_t *kids = malloc(n * sizeof(*kids)), *first = calloc(n + 1, sizeof(*first));
	uint32_t *stack = malloc(n * sizeof(*stack)), *pre = malloc(n * sizeof(*pre));

	if (!kids || !first || !stack || !pre) {
		free(pre);
		pre = NULL;
		goto out;
	}
	for (uint32_t i = 0; i < nkids; i++)
		kids[i] = i + 1;
	qsort_r(kids, nkids, sizeof(*kids), cmp_sibling, &(struct sibling_ctx){ p, rank });
	/* first[v]..first[v + 1]: the children of v in kids. */
	for (uint32_t i = 0; i < nkids; i++)
		first[p->fnodes[kids[i]].parent + 1]++;
	for (uint32_t v = 0; v < n; v++)
		first[v + 1] += first[v];
	stack[top++] = 0;
	while (top) {
		uint32_t v = stack[--top];

		pre[v] = next++;
		for (uint32_t i = first[v + 1]; i-- > first[v];)
			stack[top++] = kids[i];
	}
out:
	free(kids);
	free(first);
	free(stack);
	return pre;
}
