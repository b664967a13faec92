// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The model behind deferprof top's screen. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "topmodel.h"
#include "dphash.h"

struct id_ent {
	UT_hash_handle hh;
	uint64_t id;
};

int dp_topmodel__init(struct dp_topmodel *m, double decay)
{
	memset(m, 0, sizeof(*m));
	m->decay = decay;
	return dp_profile__init(&m->prof);
}

void dp_topmodel__free(struct dp_topmodel *m)
{
	struct id_ent *head = m->expanded, *e, *t;

	HASH_ITER(hh, head, e, t) {
		HASH_DEL(head, e);
		free(e);
	}
	dp_profile__free(&m->prof);
	free(m->decayed);
	free(m->last);
	memset(m, 0, sizeof(*m));
}

static int fit(struct dp_topmodel *m)
{
	uint32_t n = m->prof.nstacks, cap;
	double *d;
	uint64_t *l;

	if (n <= m->cap)
		return 0;
	cap = m->cap ? m->cap : 256;
	while (cap < n)
		cap *= 2;
	d = realloc(m->decayed, cap * sizeof(*d));
	if (!d)
		return -ENOMEM;
	m->decayed = d;
	l = realloc(m->last, cap * sizeof(*l));
	if (!l)
		return -ENOMEM;
	m->last = l;
	memset(d + m->cap, 0, (cap - m->cap) * sizeof(*d));
	memset(l + m->cap, 0, (cap - m->cap) * sizeof(*l));
	m->cap = cap;
	return 0;
}

int dp_topmodel__add(struct dp_topmodel *m, const struct dp_stack_table *delta,
		     const struct dp_symbolizer *sz, const struct dp_comms *comms,
		     const struct dp_profile_opts *opts)
{
	int err = dp_profile__add(&m->prof, delta, sz, comms, opts);

	return err ? err : fit(m);
}

int dp_topmodel__absorb(struct dp_topmodel *m, const struct dp_profile *delta)
{
	int err = dp_profile__absorb(&m->prof, delta);

	return err ? err : fit(m);
}

int dp_topmodel__tick(struct dp_topmodel *m, uint64_t n)
{
	int err = fit(m);
	double fade = 1;
	uint64_t sum = 0;

	if (err)
		return err;
	if (!n)
		n = 1;
	for (uint64_t k = 0; k < n && fade > 1e-300; k++)	/* decay^n, no libm */
		fade *= m->decay;
	for (uint32_t i = 0; i < m->prof.nstacks; i++) {
		uint64_t d = m->prof.stacks[i].count - m->last[i];

		m->decayed[i] = m->decayed[i] * fade + (double)d;
		m->last[i] = m->prof.stacks[i].count;
		sum += d;
	}
	m->last_interval_samples = (sum + n / 2) / n;
	m->intervals += n;
	return 0;
}

double dp_topmodel__weight(const struct dp_topmodel *m, uint32_t i, enum dp_counting c)
{
	if (c == DP_COUNT_DECAYING)
		return i < m->cap ? m->decayed[i] : 0;
	return (double)m->prof.stacks[i].count;
}

/* Room for any stack's frames (the profile's frame tree holds them). */
static uint32_t *frame_buf(const struct dp_topmodel *m)
{
	return malloc((m->prof.max_frames + 1) * sizeof(uint32_t));
}

/*
 * The part of stack s that the filter keeps, fr[*lo, *hi), with its frames
 * in fr: stacks are root first, their user frames before their kernel
 * frames. False when the stack is filtered out or nothing of it is left.
 */
static bool view(const struct dp_topmodel *m, uint32_t s, const struct dp_topfilter *f,
		 uint32_t *fr, uint32_t *lo, uint32_t *hi)
{
	const struct dp_pstack *ps = &m->prof.stacks[s];
	uint32_t k = 0;

	if (f && f->thread >= 0 && ps->thread != (uint32_t)f->thread)
		return false;
	*lo = 0;
	*hi = dp_profile__frames(&m->prof, ps->node, fr);
	if (f && f->side != DP_SIDE_ALL) {
		while (k < *hi && !m->prof.frames[fr[k]].kernel)
			k++;
		if (f->side == DP_SIDE_KERNEL)
			*lo = k;
		else
			*hi = k;
	}
	return *lo < *hi;
}

double dp_topmodel__total(const struct dp_topmodel *m, const struct dp_topfilter *f,
			  enum dp_counting c)
{
	uint32_t lo, hi, *fr = frame_buf(m);
	double t = 0;

	if (!fr)	/* no figure rather than a wrong one */
		return 0;
	for (uint32_t i = 0; i < m->prof.nstacks; i++)
		if (view(m, i, f, fr, &lo, &hi))
			t += dp_topmodel__weight(m, i, c);
	free(fr);
	return t;
}

static bool name_matches(const char *name, const char *search)
{
	size_t n = strlen(search);

	if (!n)
		return true;
	for (; *name; name++)
		if (!strncasecmp(name, search, n))
			return true;
	return false;
}

/* What cmp_row reads: the rows' sort key and the profile for names. */
struct row_order {
	enum dp_sort key;
	const struct dp_profile *prof;
};

static int cmp_row(const void *a, const void *b, void *arg)
{
	const struct row_order *o = arg;
	const struct dp_toprow *x = a, *y = b;
	enum dp_sort sort_key = o->key;
	double kx = sort_key == DP_SORT_SELF ? x->self : x->total;
	double ky = sort_key == DP_SORT_SELF ? y->self : y->total;
	double ox = sort_key == DP_SORT_SELF ? x->total : x->self;
	double oy = sort_key == DP_SORT_SELF ? y->total : y->self;

	if (kx != ky)
		return kx > ky ? -1 : 1;
	if (ox != oy)
		return ox > oy ? -1 : 1;
	return strcmp(o->prof->frames[x->frame].name, o->prof->frames[y->frame].name);
}

int dp_topmodel__functions(const struct dp_topmodel *m, const struct dp_topfilter *f,
			   enum dp_counting c, enum dp_sort s, struct dp_toprow **rows, uint32_t *n)
{
	const struct dp_profile *p = &m->prof;
	uint32_t nf = p->nframes, cnt = 0, lo, hi;
	double *self = calloc(nf + 1, sizeof(double)), *total = calloc(nf + 1, sizeof(double));
	uint32_t *stamp = calloc(nf + 1, sizeof(uint32_t)), *frs = frame_buf(m);
	struct dp_toprow *r = NULL;

	if (!self || !total || !stamp || !frs)
		goto oom;
	for (uint32_t i = 0; i < p->nstacks; i++) {
		double w = dp_topmodel__weight(m, i, c);

		if (w <= 0 || !view(m, i, f, frs, &lo, &hi))
			continue;
		self[frs[hi - 1]] += w;
		for (uint32_t k = lo; k < hi; k++) {
			uint32_t fr = frs[k];

			if (stamp[fr] != i + 1) {	/* once per stack, even when recursive */
				stamp[fr] = i + 1;
				total[fr] += w;
			}
		}
	}
	free(frs);
	frs = NULL;
	r = calloc(nf + 1, sizeof(*r));
	if (!r)
		goto oom;
	for (uint32_t i = 0; i < nf; i++) {
		if (total[i] <= 0 || (f && !name_matches(p->frames[i].name, f->search)))
			continue;
		r[cnt].frame = i;
		r[cnt].self = self[i];
		r[cnt++].total = total[i];
	}
	qsort_r(r, cnt, sizeof(*r), cmp_row, &(struct row_order){ .key = s, .prof = p });
	free(self);
	free(total);
	free(stamp);
	*rows = r;
	*n = cnt;
	return 0;
oom:
	free(self);
	free(total);
	free(stamp);
	free(frs);
	free(r);
	return -ENOMEM;
}

static int cmp_thread(const void *a, const void *b)
{
	const struct dp_topthread *x = a, *y = b;

	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	return x->thread < y->thread ? -1 : x->thread > y->thread;
}

int dp_topmodel__threads(const struct dp_topmodel *m, const struct dp_topfilter *f,
			 enum dp_counting c, struct dp_topthread **rows, uint32_t *n)
{
	struct dp_topfilter all = { .thread = -1 };
	struct dp_topthread *r = calloc(m->prof.nthreads + 1, sizeof(*r));
	uint32_t lo, hi, *fr = frame_buf(m);

	if (!r || !fr) {
		free(r);
		free(fr);
		return -ENOMEM;
	}
	if (f) {
		all = *f;
		all.thread = -1;
	}
	for (uint32_t t = 0; t < m->prof.nthreads; t++)
		r[t].thread = t;
	for (uint32_t i = 0; i < m->prof.nstacks; i++)
		if (view(m, i, &all, fr, &lo, &hi))
			r[m->prof.stacks[i].thread].samples += dp_topmodel__weight(m, i, c);
	free(fr);
	qsort(r, m->prof.nthreads, sizeof(*r), cmp_thread);
	*rows = r;
	*n = m->prof.nthreads;
	return 0;
}

/* The tree: nodes in one array, children linked. */
struct tnode {
	uint32_t frame;
	double w;
	uint64_t id;
	uint32_t first, next;	/* child and sibling indices, 0 = none (0 is the root) */
	uint32_t depth;
};

struct tree {
	struct tnode *n;
	uint32_t len, cap;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdULL;
	return h ^ (h >> 33);
}

static int child(struct tree *t, uint32_t parent, uint32_t frame, uint32_t *out)
{
	uint32_t c;

	for (c = t->n[parent].first; c; c = t->n[c].next) {
		if (t->n[c].frame == frame) {
			*out = c;
			return 0;
		}
	}
	if (t->len == t->cap) {
		uint32_t cap = t->cap * 2;
		struct tnode *nn = realloc(t->n, cap * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		t->n = nn;
		t->cap = cap;
	}
	c = t->len++;
	memset(&t->n[c], 0, sizeof(t->n[c]));
	t->n[c].frame = frame;
	t->n[c].id = mix(t->n[parent].id, frame + 1);
	t->n[c].depth = t->n[parent].depth + 1;
	t->n[c].next = t->n[parent].first;
	t->n[parent].first = c;
	*out = c;
	return 0;
}

struct flat {
	struct dp_treeline *l;
	uint32_t len, cap;
};

static int cmp_child(const void *a, const void *b, void *arg)
{
	const struct tree *t = arg;
	const struct tnode *x = &t->n[*(const uint32_t *)a];
	const struct tnode *y = &t->n[*(const uint32_t *)b];

	if (x->w != y->w)
		return x->w > y->w ? -1 : 1;
	return x->frame < y->frame ? -1 : x->frame > y->frame;
}

static int flatten(const struct dp_topmodel *m, const struct tree *t, uint32_t node,
		   struct flat *fl)
{
	const struct tnode *nd = &t->n[node];
	bool open = node == 0 || dp_topmodel__is_expanded(m, nd->id);
	uint32_t nkids = 0, *kids;
	int err = 0;

	if (fl->len == fl->cap) {
		uint32_t cap = fl->cap ? fl->cap * 2 : 64;
		struct dp_treeline *nl = realloc(fl->l, cap * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		fl->l = nl;
		fl->cap = cap;
	}
	fl->l[fl->len].frame = nd->frame;
	fl->l[fl->len].depth = nd->depth;
	fl->l[fl->len].weight = nd->w;
	fl->l[fl->len].id = nd->id;
	fl->l[fl->len].has_children = nd->first != 0;
	fl->l[fl->len].expanded = open && nd->first;
	fl->len++;
	if (!open || !nd->first)
		return 0;
	for (uint32_t c = nd->first; c; c = t->n[c].next)
		nkids++;
	kids = malloc(nkids * sizeof(*kids));
	if (!kids)
		return -ENOMEM;
	nkids = 0;
	for (uint32_t c = nd->first; c; c = t->n[c].next)
		kids[nkids++] = c;
	qsort_r(kids, nkids, sizeof(*kids), cmp_child, (void *)t);
	for (uint32_t i = 0; i < nkids && !err; i++)
		err = flatten(m, t, kids[i], fl);
	free(kids);
	return err;
}

int dp_topmodel__tree(const struct dp_topmodel *m, const struct dp_topfilter *f,
		      enum dp_counting c, uint32_t frame, enum dp_treedir dir,
		      struct dp_treeline **lines, uint32_t *n)
{
	const struct dp_profile *p = &m->prof;
	struct tree t = { .cap = 64 };
	struct flat fl = { 0 };
	uint32_t lo, hi, *frs = frame_buf(m);
	int err = 0;

	t.n = calloc(t.cap, sizeof(*t.n));
	if (!t.n || !frs) {
		free(t.n);
		free(frs);
		return -ENOMEM;
	}
	t.len = 1;
	t.n[0].frame = frame;
	t.n[0].id = mix(dir == DP_TREE_CALLERS ? 1 : 2, frame + 1);
	for (uint32_t i = 0; i < p->nstacks && !err; i++) {
		double w = dp_topmodel__weight(m, i, c);
		uint32_t pos, at = 0;

		if (w <= 0 || !view(m, i, f, frs, &lo, &hi))
			continue;
		/* The outermost occurrence: a recursive function counts once per stack. */
		for (pos = lo; pos < hi && frs[pos] != frame; pos++)
			;
		if (pos == hi)
			continue;
		t.n[0].w += w;
		if (dir == DP_TREE_CALLEES) {
			for (uint32_t k = pos + 1; k < hi && !err; k++)
				if (!(err = child(&t, at, frs[k], &at)))
					t.n[at].w += w;
		} else {
			for (uint32_t k = pos; k-- > lo && !err;)
				if (!(err = child(&t, at, frs[k], &at)))
					t.n[at].w += w;
		}
	}
	if (!err && t.n[0].w > 0)
		err = flatten(m, &t, 0, &fl);
	free(t.n);
	free(frs);
	if (err) {
		free(fl.l);
		return err;
	}
	*lines = fl.l;
	*n = fl.len;
	return 0;
}

int dp_topmodel__toggle(struct dp_topmodel *m, uint64_t id)
{
	struct id_ent *head = m->expanded, *e;

	HASH_FIND(hh, head, &id, sizeof(id), e);
	if (e) {
		HASH_DEL(head, e);
		free(e);
	} else {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->id = id;
		HASH_ADD(hh, head, id, sizeof(e->id), e);
		if (dp_hash_failed()) {
			free(e);
			return -ENOMEM;
		}
	}
	m->expanded = head;
	return 0;
}

bool dp_topmodel__is_expanded(const struct dp_topmodel *m, uint64_t id)
{
	struct id_ent *head = m->expanded, *e;

	HASH_FIND(hh, head, &id, sizeof(id), e);
	return e != NULL;
}
