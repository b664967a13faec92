// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ksyms.h"
#include "profile.h"
#include "usyms.h"
#include "uthash.h"

struct comm_ent {
	UT_hash_handle hh;
	uint32_t tid, pid;
	char comm[16];
};

struct dp_comms {
	struct comm_ent *head;
};

struct dp_comms *dp_comms__new(void)
{
	return calloc(1, sizeof(struct dp_comms));
}

void dp_comms__free(struct dp_comms *c)
{
	struct comm_ent *e, *t;

	if (!c)
		return;
	HASH_ITER(hh, c->head, e, t) {
		HASH_DEL(c->head, e);
		free(e);
	}
	free(c);
}

int dp_comms__set(struct dp_comms *c, uint32_t pid, uint32_t tid, const char *comm)
{
	struct comm_ent *e;

	HASH_FIND(hh, c->head, &tid, sizeof(tid), e);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->tid = tid;
		HASH_ADD(hh, c->head, tid, sizeof(tid), e);
	}
	e->pid = pid;
	snprintf(e->comm, sizeof(e->comm), "%s", comm);
	return 0;
}

const char *dp_comms__get(const struct dp_comms *c, uint32_t tid)
{
	struct comm_ent *e = NULL;

	if (c)
		HASH_FIND(hh, c->head, &tid, sizeof(tid), e);
	return e ? e->comm : NULL;
}

/* Lookup tables used while building. */
#define MAX_INLINE 7

struct addr_ent {	/* (pid, addr) -> frames (an inlined chain: outer first) */
	UT_hash_handle hh;
	struct { uint32_t pid; uint32_t kernel; uint64_t addr; } key;
	uint32_t nfr;
	uint32_t fr[MAX_INLINE + 1];
};

struct name_ent {	/* frame identity -> frame */
	UT_hash_handle hh;
	char *key;
	uint32_t frame;
};

struct thr_ent {
	UT_hash_handle hh;
	uint32_t tid;
	uint32_t idx;
};

struct obj_ent {
	UT_hash_handle hh;
	char *module;
	uint32_t idx;
};

struct stk_ent {	/* (thread, frames) -> stack */
	UT_hash_handle hh;
	uint32_t idx;
	uint32_t key[];	/* thread, then the frames */
};

struct index {
	struct addr_ent *addrs;
	struct name_ent *names;
	struct thr_ent *thrs;
	struct obj_ent *objs;
	struct stk_ent *stks;
};

static int grow(void **arr, uint32_t *cap, uint32_t n, size_t elem)
{
	void *na;
	uint32_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 256;
	na = realloc(*arr, (size_t)nc * elem);
	if (!na)
		return -ENOMEM;
	*arr = na;
	*cap = nc;
	return 0;
}

/* What identifies and describes a frame. */
struct frame_desc {
	const char *name;
	const char *module;
	uint64_t addr;
	bool kernel, marker, inlined;
	const uint8_t *build_id;
	int build_id_len;
	const char *src_file;
	int src_line;
};

static char *hex(const uint8_t *b, int n)
{
	char *s = malloc((size_t)n * 2 + 1);

	if (!s)
		return NULL;
	for (int i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	s[2 * n] = 0;
	return s;
}

static int intern_frame(struct dp_profile *p, const struct frame_desc *d, uint32_t *idx)
{
	struct index *ix = p->index;
	struct name_ent *ne;
	struct dp_frame *f;
	char *key;

	if (asprintf(&key, "%c%c|%s|%s", d->kernel ? 'k' : d->marker ? 'm' : 'u',
		     d->inlined ? 'i' : '-', d->module ? d->module : "", d->name) < 0)
		return -ENOMEM;
	HASH_FIND_STR(ix->names, key, ne);
	if (ne) {
		free(key);
		*idx = ne->frame;
		f = &p->frames[ne->frame];
		/* The lowest address seen describes the frame, whatever the order of arrival. */
		if (d->addr < f->addr) {
			char *src = d->src_file ? strdup(d->src_file) : NULL;

			if (d->src_file && !src)
				return -ENOMEM;
			free(f->src_file);
			f->src_file = src;
			f->src_line = d->src_line;
			f->addr = d->addr;
		}
		return 0;
	}
	if (grow((void **)&p->frames, &p->capframes, p->nframes, sizeof(*p->frames)))
		goto oom;
	ne = calloc(1, sizeof(*ne));
	if (!ne)
		goto oom;
	f = &p->frames[p->nframes];
	memset(f, 0, sizeof(*f));
	f->name = strdup(d->name);
	f->module = d->module ? strdup(d->module) : NULL;
	f->build_id = d->build_id_len > 0 ? hex(d->build_id, d->build_id_len) : NULL;
	f->src_file = d->src_file ? strdup(d->src_file) : NULL;
	if (!f->name || (d->module && !f->module) || (d->build_id_len > 0 && !f->build_id) ||
	    (d->src_file && !f->src_file)) {
		free(f->name);
		free(f->module);
		free(f->build_id);
		free(f->src_file);
		free(ne);
		goto oom;
	}
	f->src_line = d->src_line;
	f->addr = d->addr;
	f->kernel = d->kernel;
	f->marker = d->marker;
	f->inlined = d->inlined;
	ne->key = key;
	ne->frame = p->nframes++;
	HASH_ADD_KEYPTR(hh, ix->names, ne->key, strlen(ne->key), ne);
	*idx = ne->frame;
	return 0;
oom:
	free(key);
	return -ENOMEM;
}

static int marker(struct dp_profile *p, const char *name, bool kernel, uint32_t *idx)
{
	struct frame_desc d = { .name = name, .kernel = kernel, .marker = true };

	return intern_frame(p, &d, idx);
}

static int kernel_frame(struct dp_profile *p, const struct dp_ksyms *ks, uint64_t ip,
			struct addr_ent *ae)
{
	const struct dp_ksym *s = ks ? dp_ksyms__find(ks, ip) : NULL;
	struct frame_desc d = { .module = "[kernel]", .addr = ip, .kernel = true };
	char buf[64];

	if (s) {
		d.name = s->name;
		if (s->module)
			d.module = s->module;
	} else {
		snprintf(buf, sizeof(buf), "[kernel]+0x%" PRIx64, ip);
		d.name = buf;
	}
	ae->nfr = 1;
	return intern_frame(p, &d, &ae->fr[0]);
}

static int user_frame(struct dp_profile *p, struct dp_usyms *us, uint32_t pid, uint64_t ip,
		      bool leaf, const struct dp_profile_opts *opts, struct addr_ent *ae)
{
	struct dp_uinline inl[MAX_INLINE];
	struct frame_desc d = { 0 };
	struct dp_usym sym;
	uint64_t at = leaf || !ip ? ip : ip - 1;	/* a return address points after its call */
	char buf[512];
	int ninl = 0, err;

	dp_usyms__resolve(us, pid, at, opts->want_src, &sym);
	d.module = sym.module;
	d.addr = sym.offset;
	d.build_id = sym.build_id;
	d.build_id_len = sym.build_id_len;
	if (sym.name) {
		d.name = sym.name;
	} else {
		snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, sym.module,
			 leaf || !ip ? sym.offset : sym.offset + 1);
		d.name = buf;
	}
	if (opts->want_src && sym.name)
		ninl = dp_usyms__inlines(us, pid, at, inl, MAX_INLINE);
	/*
	 * The real function comes first (outermost). Its line is where the
	 * outermost inlined call sits; each inlined function's line is the next
	 * one's call site, and the innermost has the address's own line.
	 */
	d.src_file = ninl ? inl[ninl - 1].call_file : sym.src_file;
	d.src_line = ninl ? inl[ninl - 1].call_line : sym.src_line;
	ae->nfr = 0;
	if ((err = intern_frame(p, &d, &ae->fr[ae->nfr++])))
		return err;
	for (int i = ninl; i-- > 0;) {
		d.name = inl[i].name;
		d.inlined = true;
		d.src_file = i ? inl[i - 1].call_file : sym.src_file;
		d.src_line = i ? inl[i - 1].call_line : sym.src_line;
		if ((err = intern_frame(p, &d, &ae->fr[ae->nfr++])))
			return err;
	}
	return 0;
}

/* The frames of one address, outermost first, appended at out[*n]. */
static int frames_for(struct dp_profile *p, const struct dp_ksyms *ks, struct dp_usyms *us,
		      uint32_t pid, uint64_t ip, bool kernel, bool leaf,
		      const struct dp_profile_opts *opts, uint32_t *out, uint32_t *n)
{
	struct index *ix = p->index;
	struct addr_ent *ae, probe;
	int err;

	memset(&probe.key, 0, sizeof(probe.key));
	probe.key.pid = kernel ? 0 : pid;
	probe.key.kernel = kernel | (leaf ? 2 : 0);
	probe.key.addr = ip;
	HASH_FIND(hh, ix->addrs, &probe.key, sizeof(probe.key), ae);
	if (!ae) {
		ae = calloc(1, sizeof(*ae));
		if (!ae)
			return -ENOMEM;
		ae->key = probe.key;
		err = kernel ? kernel_frame(p, ks, ip, ae) : user_frame(p, us, pid, ip, leaf, opts, ae);
		if (err) {
			free(ae);
			return err;
		}
		HASH_ADD(hh, ix->addrs, key, sizeof(ae->key), ae);
	}
	memcpy(out + *n, ae->fr, ae->nfr * sizeof(*out));
	*n += ae->nfr;
	return 0;
}

static int thread_for(struct dp_profile *p, const struct dp_comms *comms, uint32_t pid,
		      uint32_t tid, uint32_t *idx)
{
	struct index *ix = p->index;
	struct thr_ent *te;
	struct dp_thread *t;
	const char *comm;

	HASH_FIND(hh, ix->thrs, &tid, sizeof(tid), te);
	if (te) {
		*idx = te->idx;
		return 0;
	}
	if (grow((void **)&p->threads, &p->capthreads, p->nthreads, sizeof(*p->threads)))
		return -ENOMEM;
	te = calloc(1, sizeof(*te));
	if (!te)
		return -ENOMEM;
	t = &p->threads[p->nthreads];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->tid = tid;
	comm = dp_comms__get(comms, tid);
	if (!comm)
		comm = dp_comms__get(comms, pid);
	if (comm)
		snprintf(t->comm, sizeof(t->comm), "%s", comm);
	else
		snprintf(t->comm, sizeof(t->comm), "%s", tid ? "[unknown]" : "swapper");
	te->tid = tid;
	te->idx = p->nthreads++;
	HASH_ADD(hh, ix->thrs, tid, sizeof(tid), te);
	*idx = te->idx;
	return 0;
}

/* Remember objects where user stacks stop early and that lack frame pointers. */
static int note_outermost(struct dp_profile *p, struct dp_usyms *us, uint32_t pid,
			  uint64_t ip, const char *name, uint64_t count)
{
	struct index *ix = p->index;
	struct dp_uobj_info info;
	struct obj_ent *oe;
	struct dp_nofp *n;
	static const char *const roots[] = {
		"_start", "__libc_start_main", "__libc_start_call_main", "start_thread",
		"clone", "clone3", "__clone3", "thread_start",
	};

	/* A stack that reaches a thread's or process's first function is complete. */
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (!strcmp(name, roots[i]))
			return 0;
	if (dp_usyms__fp_info(us, pid, ip, &info) || info.funcs_checked < 8 ||
	    info.funcs_with_fp * 2 >= info.funcs_checked)
		return 0;
	HASH_FIND_STR(ix->objs, info.module, oe);
	if (!oe) {
		n = realloc(p->nofp, (p->nnofp + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->nofp = n;
		n = &p->nofp[p->nnofp];
		memset(n, 0, sizeof(*n));
		n->module = strdup(info.module);
		oe = calloc(1, sizeof(*oe));
		if (!n->module || !oe) {
			free(n->module);
			free(oe);
			return -ENOMEM;
		}
		n->funcs_checked = info.funcs_checked;
		n->funcs_with_fp = info.funcs_with_fp;
		oe->module = n->module;
		oe->idx = p->nnofp++;
		HASH_ADD_KEYPTR(hh, ix->objs, oe->module, strlen(oe->module), oe);
	}
	p->nofp[oe->idx].samples += count;
	return 0;
}

/* Count samples of stack s: its thread, the profile, and each frame once. */
static void count_stack(struct dp_profile *p, struct dp_pstack *s, uint64_t count)
{
	const uint32_t *fr = s->frames;
	uint32_t n = s->nframes;

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

static int add_stack(struct dp_profile *p, const struct dp_stack_entry *e,
		     const struct dp_ksyms *ks, struct dp_usyms *us,
		     const struct dp_comms *comms, const struct dp_profile_opts *opts)
{
	struct index *ix = p->index;
	const struct dp_stack_hdr *h = &e->hdr;
	uint32_t n = 0, max = h->knr + h->unr * (MAX_INLINE + 1) + 5, outer;
	struct stk_ent *se = NULL;
	struct dp_pstack *s;
	uint32_t *key, *fr;
	size_t klen;
	int err;

	key = malloc((max + 1) * sizeof(*key));
	if (!key)
		return -ENOMEM;
	fr = key + 1;
	/* Root first: user part outermost to innermost, then the kernel part. */
	if ((h->flags & DP_STK_UTRUNC) && (err = marker(p, "[truncated]", false, &fr[n++])))
		goto out;
	outer = n;	/* the outermost user frame, when there is a user part */
	for (uint32_t i = h->unr; i-- > 0;) {
		err = frames_for(p, ks, us, h->pid, e->ips[h->knr + i], false,
				 i == 0 && h->knr == 0, opts, fr, &n);
		if (err)
			goto out;
	}
	if ((h->flags & DP_STK_USER_LOST) && (err = marker(p, "[user stack lost]", false, &fr[n++])))
		goto out;
	if ((h->flags & DP_STK_KTRUNC) && (err = marker(p, "[truncated]", true, &fr[n++])))
		goto out;
	if ((h->flags & DP_STK_KERNEL_LOST) &&
	    (err = marker(p, "[kernel stack lost]", true, &fr[n++])))
		goto out;
	for (uint32_t i = h->knr; i-- > 0;) {
		err = frames_for(p, ks, us, h->pid, e->ips[i], true, i == 0, opts, fr, &n);
		if (err)
			goto out;
	}
	if (!n && (err = marker(p, "[no stack]", false, &fr[n++])))
		goto out;
	if (opts->check_fp && h->unr && h->unr < 4 &&
	    (err = note_outermost(p, us, h->pid, e->ips[h->knr + h->unr - 1],
				  p->frames[fr[outer]].name, e->count)))
		goto out;
	if ((err = thread_for(p, comms, h->pid, h->tid, &key[0])))
		goto out;
	klen = (n + 1) * sizeof(*key);
	HASH_FIND(hh, ix->stks, key, klen, se);
	if (se) {
		count_stack(p, &p->stacks[se->idx], e->count);
		free(key);
		return 0;
	}
	err = -ENOMEM;
	if (grow((void **)&p->stacks, &p->capstacks, p->nstacks, sizeof(*p->stacks)))
		goto out;
	se = malloc(sizeof(*se) + klen);
	if (!se)
		goto out;
	memcpy(se->key, key, klen);
	se->idx = p->nstacks;
	HASH_ADD_KEYPTR(hh, ix->stks, se->key, klen, se);
	s = &p->stacks[p->nstacks++];
	s->thread = key[0];
	s->nframes = n;
	s->frames = se->key + 1;	/* the index owns the frames while it lives */
	s->count = 0;
	count_stack(p, s, e->count);
	err = 0;
out:
	free(key);
	return err;
}

/* Give each stack its own copy of its frames, then drop the lookup tables. */
static void free_index(struct dp_profile *p, bool keep_frames)
{
	struct index *ix = p->index;
	struct addr_ent *a, *at;
	struct name_ent *ne, *nt;
	struct thr_ent *te, *tt;
	struct obj_ent *oe, *ot;
	struct stk_ent *se, *st;

	if (!ix)
		return;
	HASH_ITER(hh, ix->stks, se, st) {
		struct dp_pstack *s = &p->stacks[se->idx];

		HASH_DEL(ix->stks, se);
		/* The key's frames move to the front so the stack can own the block. */
		if (keep_frames) {
			memmove(se, se->key + 1, s->nframes * sizeof(uint32_t));
			s->frames = (uint32_t *)(void *)se;
		} else {
			s->frames = NULL;
			free(se);
		}
	}
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
		    const struct dp_ksyms *ks, struct dp_usyms *us, const struct dp_comms *comms,
		    const struct dp_profile_opts *opts)
{
	static const struct dp_profile_opts defaults;
	const struct dp_stack_entry *e;
	int err = 0;

	if (!p->index)
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	for (e = t->head; e && !err; e = e->hh.next)
		err = add_stack(p, e, ks, us, comms, opts);
	return err;
}

void dp_profile__seal(struct dp_profile *p)
{
	free_index(p, true);
}

int dp_profile__build(struct dp_profile *p, const struct dp_stack_table *t,
		      const struct dp_ksyms *ks, struct dp_usyms *us, const struct dp_comms *comms,
		      const struct dp_profile_opts *opts)
{
	int err = dp_profile__init(p);

	if (!err)
		err = dp_profile__add(p, t, ks, us, comms, opts);
	if (err)
		dp_profile__free(p);
	else
		dp_profile__seal(p);
	return err;
}

void dp_profile__free(struct dp_profile *p)
{
	bool indexed = p->index != NULL;

	free_index(p, false);
	for (uint32_t i = 0; i < p->nframes; i++) {
		free(p->frames[i].name);
		free(p->frames[i].module);
		free(p->frames[i].build_id);
		free(p->frames[i].src_file);
	}
	for (uint32_t i = 0; !indexed && i < p->nstacks; i++)
		free(p->stacks[i].frames);
	for (uint32_t i = 0; i < p->nnofp; i++)
		free(p->nofp[i].module);
	free(p->frames);
	free(p->threads);
	free(p->stacks);
	free(p->nofp);
	memset(p, 0, sizeof(*p));
}

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
