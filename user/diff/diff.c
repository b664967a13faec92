// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* deferprof diff's table (diff.h): frames and stacks of both sides, their canonical order, the changes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "diff.h"

void dp_diff__init(struct dp_diff *d)
{
	memset(d, 0, sizeof(*d));
}

static void free_info(struct dp_dinfo *i)
{
	free(i->label);
	free(i->target);
	free(i->mode);
	free(i->event);
}

void dp_diff__free(struct dp_diff *d)
{
	HASH_CLEAR(hh, d->frame_head);
	HASH_CLEAR(hh, d->stack_head);
	for (uint32_t i = 0; i < d->nframes; i++) {
		struct dp_dframe *f = d->frames[i];

		free(f->name);
		free(f->module);
		free(f->file);
		free(f->key);
		free(f);
	}
	for (uint32_t i = 0; i < d->nstacks; i++) {
		free(d->stacks[i]->frames);
		free(d->stacks[i]);
	}
	free(d->frames);
	free(d->stacks);
	free(d->path);
	free_info(&d->side[0]);
	free_info(&d->side[1]);
	memset(d, 0, sizeof(*d));
}

static int grow(void **arr, uint32_t *cap, uint32_t need, size_t size)
{
	uint32_t n = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*arr, (size_t)n * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = n;
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int dp_diff__frame(struct dp_diff *d, const struct dp_dframe_in *in, uint32_t *idx)
{
	struct dp_dframe *f;
	char *key;
	size_t klen;

	/* name, module and kind, NUL-separated: one key, no ambiguity */
	klen = strlen(in->name) + (in->module ? strlen(in->module) : 0) + 4;
	key = malloc(klen);
	if (!key)
		return -ENOMEM;
	snprintf(key, klen, "%s%c%s%c%c", in->name, 1, in->module ? in->module : "", 1,
		 in->comm ? 'c' : in->kernel ? 'k' : 'u');
	HASH_FIND_STR(d->frame_head, key, f);
	if (f) {
		free(key);
		*idx = f->idx;
		return 0;
	}
	if (grow((void **)&d->frames, &d->capframes, d->nframes + 1, sizeof(*d->frames)))
		goto nomem;
	f = calloc(1, sizeof(*f));
	if (!f)
		goto nomem;
	f->key = key;
	f->name = strdup(in->name);
	f->module = dup_or_null(in->module);
	f->file = dup_or_null(in->file);
	if (!f->name || (in->module && !f->module) || (in->file && !f->file)) {
		free(f->name);
		free(f->module);
		free(f->file);
		free(f);
		goto nomem;
	}
	f->line = in->line;
	f->kernel = in->kernel;
	f->inlined = in->inlined;
	f->marker = in->marker;
	f->comm = in->comm;
	*idx = f->idx = d->nframes;
	d->frames[d->nframes++] = f;
	HASH_ADD_KEYPTR(hh, d->frame_head, f->key, strlen(f->key), f);
	if (dp_hash_failed())	/* the frame stays in the array, freed with it */
		return -ENOMEM;
	return 0;
nomem:
	free(key);
	return -ENOMEM;
}

int dp_diff__add(struct dp_diff *d, enum dp_diff_side s, const uint32_t *frames, uint32_t n,
		 uint64_t count)
{
	size_t klen = (size_t)n * sizeof(*frames);
	struct dp_dstack *st;

	if (!n || !count)
		return 0;
	HASH_FIND(hh, d->stack_head, frames, klen, st);
	if (!st) {
		if (grow((void **)&d->stacks, &d->capstacks, d->nstacks + 1, sizeof(*d->stacks)))
			return -ENOMEM;
		st = calloc(1, sizeof(*st));
		if (!st)
			return -ENOMEM;
		st->frames = malloc(klen);
		if (!st->frames) {
			free(st);
			return -ENOMEM;
		}
		memcpy(st->frames, frames, klen);
		st->nframes = n;
		d->stacks[d->nstacks++] = st;
		HASH_ADD_KEYPTR(hh, d->stack_head, st->frames, klen, st);
		if (dp_hash_failed())	/* the stack stays in the array, freed with it */
			return -ENOMEM;
	}
	st->count[s] += count;
	d->side[s].samples += count;
	/* self for the leaf; total once per stack, however often a frame recurs */
	d->nadded++;
	d->frames[frames[n - 1]]->self[s] += count;
	for (uint32_t i = 0; i < n; i++) {
		struct dp_dframe *f = d->frames[frames[i]];

		if (f->seen != d->nadded) {
			f->seen = d->nadded;
			f->total[s] += count;
		}
	}
	return 0;
}

double dp_diff__share(const struct dp_diff *d, enum dp_diff_side s, uint64_t n)
{
	return d->side[s].samples ? 100.0 * (double)n / (double)d->side[s].samples : 0.0;
}

/* Stacks compare frame by frame by name (then module, kind), a stack before its extensions. */
static int cmp_frame(const struct dp_dframe *a, const struct dp_dframe *b)
{
	return a == b ? 0 : strcmp(a->key, b->key);
}

static int cmp_stack(const void *x, const void *y, void *arg)
{
	const struct dp_diff *d = arg;
	const struct dp_dstack *a = *(const struct dp_dstack *const *)x;
	const struct dp_dstack *b = *(const struct dp_dstack *const *)y;
	uint32_t n = a->nframes < b->nframes ? a->nframes : b->nframes;

	for (uint32_t i = 0; i < n; i++) {
		int r = cmp_frame(d->frames[a->frames[i]], d->frames[b->frames[i]]);

		if (r)
			return r;
	}
	return a->nframes < b->nframes ? -1 : a->nframes > b->nframes;
}

static const char *side_name(enum dp_diff_side s)
{
	return s == DP_DIFF_BASE ? "BASE" : "NEW";
}

int dp_diff__finish(struct dp_diff *d, char *err, size_t errlen)
{
	const struct dp_dinfo *b = &d->side[DP_DIFF_BASE], *n = &d->side[DP_DIFF_NEW];
	struct dp_dframe **order;
	uint32_t *newidx, k = 0;

	if (strcmp(b->kind, n->kind)) {
		snprintf(err, errlen, "BASE (%s) is a %s file but NEW (%s) is a %s file: compare two of the same kind",
			 b->label, b->kind, n->label, n->kind);
		return -EINVAL;
	}
	if (b->event && n->event && strcmp(b->event, n->event)) {
		snprintf(err, errlen, "BASE (%s) counts %s but NEW (%s) counts %s: their shares are not comparable",
			 b->label, b->event, n->label, n->event);
		return -EINVAL;
	}
	for (int s = 0; s < 2; s++) {
		if (!d->side[s].samples) {
			snprintf(err, errlen, "%s (%s) has no samples: nothing to compare", side_name(s),
				 d->side[s].label);
			return -EINVAL;
		}
	}
	/* the stacks' keys change below: their table is no longer needed */
	HASH_CLEAR(hh, d->stack_head);
	qsort_r(d->stacks, d->nstacks, sizeof(*d->stacks), cmp_stack, d);
	/* frames renumbered in order of first use */
	order = calloc(d->nframes + 1, sizeof(*order));
	newidx = malloc((d->nframes + 1) * sizeof(*newidx));
	if (!order || !newidx) {
		free(order);
		free(newidx);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memset(newidx, 0xff, (d->nframes + 1) * sizeof(*newidx));
	for (uint32_t i = 0; i < d->nstacks; i++) {
		struct dp_dstack *st = d->stacks[i];

		for (uint32_t j = 0; j < st->nframes; j++) {
			uint32_t f = st->frames[j];

			if (newidx[f] == UINT32_MAX) {
				newidx[f] = k;
				order[k++] = d->frames[f];
			}
			st->frames[j] = newidx[f];
		}
	}
	/* frames no stack kept (a stack with no samples) go at the end, in their order */
	for (uint32_t f = 0; f < d->nframes; f++)
		if (newidx[f] == UINT32_MAX)
			order[k++] = d->frames[f];
	free(d->frames);
	free(newidx);
	d->frames = order;
	for (uint32_t f = 0; f < d->nframes; f++)
		d->frames[f]->idx = f;
	return 0;
}

static double absval(double x)
{
	return x < 0 ? -x : x;
}

static int cmp_change(const void *x, const void *y, void *arg)
{
	const struct dp_diff *d = arg;
	const struct dp_dchange *a = x, *b = y;
	double sa = absval(a->dself), sb = absval(b->dself), ta = absval(a->dtotal), tb = absval(b->dtotal);

	if (sa != sb)
		return sa > sb ? -1 : 1;
	if (ta != tb)
		return ta > tb ? -1 : 1;
	return cmp_frame(d->frames[a->frame], d->frames[b->frame]);
}

int dp_diff__changes(const struct dp_diff *d, struct dp_dchange **out, uint32_t *n)
{
	struct dp_dchange *c = calloc(d->nframes + 1, sizeof(*c));
	uint32_t k = 0;

	if (!c)
		return -ENOMEM;
	for (uint32_t i = 0; i < d->nframes; i++) {
		const struct dp_dframe *f = d->frames[i];

		if (f->comm)
			continue;
		c[k].frame = i;
		c[k].dself = dp_diff__share(d, DP_DIFF_NEW, f->self[1]) -
			     dp_diff__share(d, DP_DIFF_BASE, f->self[0]);
		c[k].dtotal = dp_diff__share(d, DP_DIFF_NEW, f->total[1]) -
			      dp_diff__share(d, DP_DIFF_BASE, f->total[0]);
		k++;
	}
	qsort_r(c, k, sizeof(*c), cmp_change, (void *)d);
	*out = c;
	*n = k;
	return 0;
}
