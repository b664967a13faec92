// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The symbolized profile: threads, the frame tree, stacks of (thread, node), built incrementally. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "profile_index.h"
#include "symbolizer.h"

/* The thread tid named comm (NULL: unknown), added when new. */
static int thread_named(struct dp_profile *p, uint32_t pid, uint32_t tid, const char *comm,
			uint32_t *idx)
{
	struct index *ix = p->index;
	struct thr_key key;
	struct thr_ent *te;
	struct dp_thread *t;

	memset(&key, 0, sizeof(key));
	key.tid = tid;
	snprintf(key.comm, sizeof(key.comm), "%s", comm ? comm : tid ? "[unknown]" : "swapper");
	HASH_FIND(hh, ix->thrs, &key, sizeof(key), te);
	if (te) {
		*idx = te->idx;
		return 0;
	}
	if (dp_profile__grow((void **)&p->threads, &p->capthreads, p->nthreads, sizeof(*p->threads)))
		return -ENOMEM;
	te = calloc(1, sizeof(*te));
	if (!te)
		return -ENOMEM;
	t = &p->threads[p->nthreads];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->tid = tid;
	memcpy(t->comm, key.comm, sizeof(t->comm));
	te->key = key;
	te->idx = p->nthreads++;
	HASH_ADD(hh, ix->thrs, key, sizeof(key), te);
	if (dp_hash_failed()) {	/* the thread stays in the array, freed with it */
		free(te);
		return -ENOMEM;
	}
	*idx = te->idx;
	return 0;
}

/* The thread of a stack: its name when the stack was taken (its address-space generation). */
static int thread_for(struct dp_profile *p, const struct dp_comms *comms, uint32_t pid,
		      uint32_t tid, uint32_t gen, uint32_t *idx)
{
	const char *comm = dp_comms__get_at(comms, tid, gen);

	return thread_named(p, pid, tid, comm ? comm : dp_comms__get_at(comms, pid, gen), idx);
}

/* Count samples of stack s: its thread, the profile, and each frame once. */
static void count_stack(struct dp_profile *p, struct dp_pstack *s, const uint32_t *fr,
			uint32_t n, uint64_t count)
{
	s->count += count;
	p->threads[s->thread].samples += count;
	p->total += count;
	p->frames[fr[n - 1]].self += count;
	/* total: once per stack even when a frame recurs in it */
	for (uint32_t i = 0; i < n; i++) {
		bool seen = false;

		for (uint32_t k = 0; k < i && !seen; k++)
			seen = fr[k] == fr[i];
		if (!seen)
			p->frames[fr[i]].total += count;
	}
}

static uint64_t pair_hash(uint32_t a, uint32_t b)
{
	uint64_t h = ((uint64_t)a << 32 | b) * 0xbf58476d1ce4e5b9ULL;

	return h ^ (h >> 31);
}

/* Keep an index under 3/4 full; rehash(slots, n) puts the old ones back. */
static int index_room(uint32_t **slots, uint32_t *nslots, uint32_t used,
		      void (*put)(struct dp_profile *, uint32_t *, uint32_t, uint32_t),
		      struct dp_profile *p)
{
	uint32_t n = *nslots ? *nslots * 2 : 1024, *ns;

	if ((uint64_t)(used + 1) * 4 <= (uint64_t)*nslots * 3)
		return 0;
	ns = calloc(n, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (uint32_t i = 0; i < *nslots; i++)
		if ((*slots)[i])
			put(p, ns, n, (*slots)[i]);
	free(*slots);
	*slots = ns;
	*nslots = n;
	return 0;
}

static void kid_put(struct dp_profile *p, uint32_t *slots, uint32_t n, uint32_t id)
{
	uint32_t i = (uint32_t)pair_hash(p->fnodes[id].parent, p->fnodes[id].frame) & (n - 1);

	while (slots[i])
		i = (i + 1) & (n - 1);
	slots[i] = id;
}

static void stk_put(struct dp_profile *p, uint32_t *slots, uint32_t n, uint32_t v)
{
	const struct dp_pstack *s = &p->stacks[v - 1];
	uint32_t i = (uint32_t)pair_hash(s->thread, s->node) & (n - 1);

	while (slots[i])
		i = (i + 1) & (n - 1);
	slots[i] = v;
}

/* The node of frame under parent in the frame tree, added when new. */
static int fchild(struct dp_profile *p, uint32_t parent, uint32_t frame, uint32_t *out)
{
	struct index *ix = p->index;
	uint32_t mask = ix->nkids - 1, i, id;
	int err;

	for (i = (uint32_t)pair_hash(parent, frame) & mask; ix->nkids && (id = ix->kids[i]);
	     i = (i + 1) & mask) {
		if (p->fnodes[id].parent == parent && p->fnodes[id].frame == frame) {
			*out = id;
			return 0;
		}
	}
	if (dp_profile__grow((void **)&p->fnodes, &p->capfnodes, p->nfnodes, sizeof(*p->fnodes)))
		return -ENOMEM;
	if (!p->nfnodes)	/* the root */
		p->fnodes[p->nfnodes++] = (struct dp_fnode){ 0, 0 };
	if ((err = index_room(&ix->kids, &ix->nkids, p->nfnodes, kid_put, p)))
		return err;
	id = p->nfnodes++;
	p->fnodes[id].parent = parent;
	p->fnodes[id].frame = frame;
	kid_put(p, ix->kids, ix->nkids, id);
	*out = id;
	return 0;
}

/* The stack of (thread, node), or NULL. */
static struct dp_pstack *find_stack(const struct dp_profile *p, uint32_t thread, uint32_t node)
{
	const struct index *ix = p->index;
	uint32_t mask = ix->nstks - 1, v;

	if (!ix->nstks)
		return NULL;
	for (uint32_t i = (uint32_t)pair_hash(thread, node) & mask; (v = ix->stks[i]);
	     i = (i + 1) & mask)
		if (p->stacks[v - 1].thread == thread && p->stacks[v - 1].node == node)
			return &p->stacks[v - 1];
	return NULL;
}

/* count samples of thread with frames fr (root first): into its stack, new or known. */
static int count_frames(struct dp_profile *p, uint32_t thread, const uint32_t *fr, uint32_t n,
			uint64_t count)
{
	struct index *ix = p->index;
	uint32_t node = 0;
	struct dp_pstack *s;
	int err;

	for (uint32_t i = 0; i < n; i++)
		if ((err = fchild(p, node, fr[i], &node)))
			return err;
	s = find_stack(p, thread, node);
	if (!s) {
		if (dp_profile__grow((void **)&p->stacks, &p->capstacks, p->nstacks, sizeof(*p->stacks)))
			return -ENOMEM;
		if ((err = index_room(&ix->stks, &ix->nstks, p->nstacks, stk_put, p)))
			return err;
		s = &p->stacks[p->nstacks++];
		s->thread = thread;
		s->node = node;
		s->nframes = n;
		s->count = 0;
		stk_put(p, ix->stks, ix->nstks, p->nstacks);
		if (n > p->max_frames)
			p->max_frames = n;
	}
	count_stack(p, s, fr, n, count);
	return 0;
}

/*
 * Where a user chain went bad: the innermost return address that cannot be
 * one (past the largest user address x86-64 has, 57 bits, or under the
 * first page; or outside every executable mapping of a process whose
 * mappings are known, once a frame inside it proved them current). A frame
 * chain broken there reads on into data: every frame from it out is
 * garbage. Returns unr when the chain holds.
 */
static uint32_t bad_frame_at(const struct dp_symbolizer *sz, uint64_t space, const uint64_t *uips,
			     uint32_t unr)
{
	bool code_seen = false;

	for (uint32_t i = 0; i < unr; i++) {
		enum dp_uwhere w;

		if (i && (uips[i] >= 1ULL << 56 || uips[i] < 4096))
			return i;
		w = dp_symbolizer__where(sz, space, uips[i]);
		if (w == DP_UWHERE_CODE)
			code_seen = true;
		else if (i && (w == DP_UWHERE_NOWHERE || w == DP_UWHERE_DATA) && code_seen)
			return i;
	}
	return unr;
}

/*
 * The space of a stack's generation, or of a later one when its innermost
 * address is code only there: a deferred record read from one CPU's ring
 * before another CPU's exec record was stamped too early (the rings are read
 * one after the other). Samples of the same addresses before and after a
 * change (a dlopen where another library was) keep their own generation.
 */
static uint64_t space_of(const struct dp_symbolizer *sz, uint32_t pid, uint32_t gen, uint64_t ip)
{
	if (dp_symbolizer__where(sz, dp_space(pid, gen), ip) == DP_UWHERE_CODE)
		return dp_space(pid, gen);
	for (uint32_t g = gen + 1; g <= gen + 16 && g <= DP_STK_GEN_MAX; g++)
		if (dp_symbolizer__where(sz, dp_space(pid, g), ip) == DP_UWHERE_CODE)
			return dp_space(pid, g);
	return dp_space(pid, gen);
}

static int add_stack(struct dp_profile *p, const struct dp_stack_table *t,
		     const struct dp_stack_entry *e, const struct dp_symbolizer *sz, const struct dp_comms *comms,
		     const struct dp_profile_opts *opts)
{
	const struct dp_stack_hdr *h = &e->hdr;
	uint64_t space;
	uint32_t n = 0, max = h->knr + h->unr * (MAX_INLINE + 1) + 8, outer, thread, unr;
	uint64_t kips[DP_PART_MAX], uips[DP_PART_MAX];
	uint32_t *fr;
	int err;

	/* The table's parts, flat again: the symbolizer reads addresses. */
	if (dp_stack_table__part(t, e->kpart, kips) != h->knr ||
	    dp_stack_table__part(t, e->upart, uips) != h->unr)
		return -EINVAL;
	/* The mappings of the stack's time: its address-space generation. */
	space = space_of(sz, h->pid, dp_stk__gen(h->flags), h->unr ? uips[0] : 0);
	fr = malloc(max * sizeof(*fr));
	if (!fr)
		return -ENOMEM;
	/* Root first: user part outermost to innermost, then the kernel part. */
	if ((h->flags & DP_STK_UTRUNC) && (err = dp_frames__marker(p, "[truncated]", false, &fr[n++])))
		goto out;
	/* A broken chain is cut where it broke, under one marker, counted. */
	unr = bad_frame_at(sz, space, uips, h->unr);
	if (unr < h->unr && (err = dp_frames__marker(p, DP_BAD_FRAME, false, &fr[n++])))
		goto out;
	outer = n;	/* the outermost user frame, when there is a user part */
	/*
	 * The innermost user address is where the task resumes (its saved
	 * IP), never a return address, even with a kernel part after it.
	 */
	for (uint32_t i = unr; i-- > 0;) {
		err = dp_frames__for(p, sz, space, uips[i], false, i == 0, opts, fr, &n);
		if (err)
			goto out;
	}
	if ((h->flags & DP_STK_USER_LOST) && (err = dp_frames__marker(p, "[user stack lost]", false, &fr[n++])))
		goto out;
	if ((h->flags & DP_STK_MALFORMED) &&
	    (err = dp_frames__marker(p, "[malformed chain]", false, &fr[n++])))
		goto out;
	/* A full BPF stack store (--max-stacks), not a lost record: named apart. */
	if ((h->flags & DP_STK_USER_NOT_STORED) &&
	    (err = dp_frames__marker(p, "[user stack not stored]", false, &fr[n++])))
		goto out;
	if ((h->flags & DP_STK_KTRUNC) && (err = dp_frames__marker(p, "[truncated]", true, &fr[n++])))
		goto out;
	if ((h->flags & DP_STK_KERNEL_LOST) &&
	    (err = dp_frames__marker(p, "[kernel stack not stored]", true, &fr[n++])))
		goto out;
	for (uint32_t i = h->knr; i-- > 0;) {
		err = dp_frames__for(p, sz, space, kips[i], true, i == 0, opts, fr, &n);
		if (err)
			goto out;
	}
	if (!n && (err = dp_frames__marker(p, "[no stack]", false, &fr[n++])))
		goto out;
	/*
	 * A short stack, or one cut at a [bad frame]: its outermost real frame's
	 * object may be what broke the frame-pointer chain.
	 */
	if (opts->check_fp && unr && (unr < h->unr || unr < 4) &&
	    (err = dp_frames__note_outermost(p, sz, space, uips[unr - 1],
				  p->frames[fr[outer]].name, e->count)))
		goto out;
	if (!(err = thread_for(p, comms, h->pid, h->tid, dp_space__gen(space), &thread)))
		err = count_frames(p, thread, fr, n, e->count);
out:
	free(fr);
	return err;
}

uint64_t dp_profile__marker_samples(const struct dp_profile *p, const char *name)
{
	for (uint32_t i = 0; i < p->nframes; i++)
		if (p->frames[i].marker && !strcmp(p->frames[i].name, name))
			return p->frames[i].total;
	return 0;
}

int dp_profile__absorb(struct dp_profile *p, const struct dp_profile *src)
{
	uint32_t *map = malloc((src->nframes + 1) * sizeof(*map));
	uint32_t *sfr = malloc((src->max_frames + 1) * sizeof(*sfr));
	uint32_t *fr = malloc((src->max_frames + 1) * sizeof(*fr));
	int err = -ENOMEM;

	if (!p->index) {
		err = -EINVAL;	/* sealed */
		goto out;
	}
	if (!map || !sfr || !fr)
		goto out;
	for (uint32_t i = 0; i < src->nframes; i++) {
		const struct dp_frame *f = &src->frames[i];
		struct frame_desc d = {
			.name = f->name, .module = f->module, .addr = f->addr, .kernel = f->kernel,
			.marker = f->marker, .inlined = f->inlined, .build_id_hex = f->build_id,
			.src_file = f->src_file, .src_line = f->src_line,
		};

		if ((err = dp_frames__intern(p, &d, &map[i])))
			goto out;
	}
	err = 0;
	for (uint32_t i = 0; i < src->nstacks && !err; i++) {
		const struct dp_pstack *s = &src->stacks[i];
		const struct dp_thread *t = &src->threads[s->thread];
		uint32_t n, thread;

		if (!s->count)
			continue;
		n = dp_profile__frames(src, s->node, sfr);
		for (uint32_t k = 0; k < n; k++)
			fr[k] = map[sfr[k]];
		err = thread_named(p, t->pid, t->tid, t->comm, &thread);
		if (!err)
			err = count_frames(p, thread, fr, n, s->count);
	}
out:
	free(map);
	free(sfr);
	free(fr);
	return err;
}

/* Drop the lookup tables: the frame tree and the stacks stay. */
static void free_index(struct dp_profile *p)
{
	struct index *ix = p->index;
	struct addr_ent *a, *at;
	struct name_ent *ne, *nt;
	struct thr_ent *te, *tt;
	struct obj_ent *oe, *ot;

	if (!ix)
		return;
	free(ix->kids);
	free(ix->stks);
	HASH_ITER(hh, ix->addrs, a, at) {
		HASH_DEL(ix->addrs, a);
		free(a);
	}
	HASH_ITER(hh, ix->names, ne, nt) {
		HASH_DEL(ix->names, ne);
		free(ne->key);
		free(ne);
	}
	HASH_ITER(hh, ix->thrs, te, tt) {
		HASH_DEL(ix->thrs, te);
		free(te);
	}
	HASH_ITER(hh, ix->objs, oe, ot) {
		HASH_DEL(ix->objs, oe);
		free(oe);
	}
	free(ix);
	p->index = NULL;
}

int dp_profile__init(struct dp_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->index = calloc(1, sizeof(struct index));
	return p->index ? 0 : -ENOMEM;
}

int dp_profile__add(struct dp_profile *p, const struct dp_stack_table *t,
		    const struct dp_symbolizer *sz, const struct dp_comms *comms,
		    const struct dp_profile_opts *opts)
{
	static const struct dp_profile_opts defaults;
	int err = 0;

	if (!p->index)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	for (uint32_t i = 0; i < t->entries && !err; i++)
		err = add_stack(p, t, &t->ents[i], sz, comms, opts);
	return err;
}

void dp_profile__seal(struct dp_profile *p)
{
	free_index(p);
}

int dp_profile__build(struct dp_profile *p, const struct dp_stack_table *t,
		      const struct dp_symbolizer *sz, const struct dp_comms *comms,
		      const struct dp_profile_opts *opts)
{
	int err = dp_profile__init(p);

	if (!err)
		err = dp_profile__add(p, t, sz, comms, opts);
	if (err)
		dp_profile__free(p);
	else
		dp_profile__seal(p);
	return err;
}

void dp_profile__free(struct dp_profile *p)
{
	free_index(p);
	for (uint32_t i = 0; i < p->nframes; i++) {
		free(p->frames[i].name);
		free(p->frames[i].module);
		free(p->frames[i].build_id);
		free(p->frames[i].src_file);
	}
	for (uint32_t i = 0; i < p->nnofp; i++)
		free(p->nofp[i].module);
	free(p->frames);
	free(p->threads);
	free(p->stacks);
	free(p->fnodes);
	free(p->nofp);
	memset(p, 0, sizeof(*p));
}
