// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Reading a profile's stacks in order: their frames from the frame tree, the
 * total order of frames and of frame lists every output sorts by, and stacks
 * merged over threads.
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

/* qsort has no context argument: the profile being sorted, and its frames' ranks. */
static const struct dp_profile *cmp_profile;
static const uint32_t *cmp_rank;

/* A total order on distinct frames: name, module, kernel, marker, inlined. */
static int cmp_frame_idx(const void *a, const void *b)
{
	const struct dp_frame *x = &cmp_profile->frames[*(const uint32_t *)a];
	const struct dp_frame *y = &cmp_profile->frames[*(const uint32_t *)b];
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
	cmp_profile = p;
	qsort(order, p->nframes, sizeof(*order), cmp_frame_idx);
	for (uint32_t i = 0; i < p->nframes; i++)
		rank[order[i]] = i;
	free(order);
	return rank;
}

/* Siblings by parent, then by their frame's rank. */
static int cmp_sibling(const void *a, const void *b)
{
	const struct dp_fnode *x = &cmp_profile->fnodes[*(const uint32_t *)a];
	const struct dp_fnode *y = &cmp_profile->fnodes[*(const uint32_t *)b];

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return cmp_rank[x->frame] < cmp_rank[y->frame] ? -1 : cmp_rank[x->frame] > cmp_rank[y->frame];
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
	cmp_profile = p;
	cmp_rank = rank;
	qsort(kids, nkids, sizeof(*kids), cmp_sibling);
	cmp_rank = NULL;
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

/* Order by count, then (per comm) by comm, then frame by frame by name. */
static const uint32_t *cmp_pre;

static int cmp_merged(const void *a, const void *b)
{
	const struct dp_merged *x = a, *y = b;
	int c;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->comm && y->comm && (c = strcmp(x->comm, y->comm)))
		return c;
	return cmp_pre[x->node] < cmp_pre[y->node] ? -1 : cmp_pre[x->node] > cmp_pre[y->node];
}

static uint32_t str_hash(const char *s)
{
	return dp_hash_bytes(s, strlen(s));
}

/*
 * Stacks with the same frames (and comm) are one: the same frame-tree node.
 * An open-addressing index of the merged rows finds them again.
 */
int dp_profile__merge(const struct dp_profile *p, bool by_comm, struct dp_merged **out,
		      uint32_t *n)
{
	uint32_t nslots = 1024, cnt = 0, *slots, *rank;
	struct dp_merged *arr;

	while (nslots < (uint64_t)p->nstacks * 2)
		nslots *= 2;
	slots = calloc(nslots, sizeof(*slots));
	arr = calloc(p->nstacks ? p->nstacks : 1, sizeof(*arr));
	if (!slots || !arr)
		goto oom;
	for (uint32_t s = 0; s < p->nstacks; s++) {
		const struct dp_pstack *ps = &p->stacks[s];
		const char *comm = by_comm ? p->threads[ps->thread].comm : NULL;
		uint32_t h = ps->node * 0x9e3779b1u ^ (comm ? str_hash(comm) : 0), i, v;

		for (i = h & (nslots - 1); (v = slots[i]); i = (i + 1) & (nslots - 1))
			if (arr[v - 1].node == ps->node && (!comm || !strcmp(arr[v - 1].comm, comm)))
				break;
		if (v) {
			arr[v - 1].count += ps->count;
			continue;
		}
		arr[cnt].comm = comm;
		arr[cnt].node = ps->node;
		arr[cnt].nframes = ps->nframes;
		arr[cnt].count = ps->count;
		slots[i] = ++cnt;
	}
	free(slots);
	slots = NULL;
	rank = dp_profile__frame_ranks(p);
	cmp_pre = rank ? dp_profile__node_order(p, rank) : NULL;
	free(rank);
	if (!cmp_pre)
		goto oom;
	qsort(arr, cnt, sizeof(*arr), cmp_merged);
	free((void *)cmp_pre);
	cmp_pre = NULL;
	*out = arr;
	*n = cnt;
	return 0;
oom:
	free(slots);
	free(arr);
	return -ENOMEM;
}
