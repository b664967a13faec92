// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "deferprof.h"
#include "dphash.h"
#include "verify.h"

/* Rounds a record is kept for samples read after it (the join keeps three). */
#define KEEP_ROUNDS 4

struct vsample {
	uint32_t pid, flags, knr;
	uint64_t cookie, since_ns;
	uint64_t *kips;
};

struct vrecord {
	uint64_t cookie, round;
	uint32_t unr;
	uint32_t gen_flags;	/* the address-space generation when it came, as the join stamps it */
	uint64_t *uips;
};

/* One thread: its samples waiting, in the order read, and its recent records. */
struct vthread {
	UT_hash_handle hh;
	uint32_t tid;
	uint64_t exit_round;		/* the round its exit was read in, + 1; 0 while alive */
	struct vsample *s;
	uint32_t ns, caps;
	struct vrecord *r;
	uint32_t nr, capr;
};

/*
 * The leaf repair's evidence of one (tid, cookie) at its user IP. A chain
 * of the classic form (a task past its last return to user space, in
 * deferred mode) has no cookie: its evidence is found by (tid, 0, IP).
 */
struct vleaf {
	UT_hash_handle hh;
	struct { uint32_t tid, pad; uint64_t cookie, ip; } key;
	uint64_t ra, since_ns;
};

/* A stitched stack, held until its evidence has come or a round has passed without it. */
struct vheld {
	uint32_t pid, tid, flags, knr, unr;
	uint64_t cookie, round;
	uint64_t *ips;		/* kernel part, then user part */
};

struct dp_verify {
	uint64_t timeout_ns, round;
	struct dp_stack_table *out;
	struct vthread *threads;
	struct vleaf *leaves;
	struct vheld *held;
	uint32_t nheld, capheld;
};

struct dp_verify *dp_verify__new(uint64_t timeout_ns, struct dp_stack_table *out)
{
	struct dp_verify *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->timeout_ns = timeout_ns;
	v->out = out;
	return v;
}

static void free_thread(struct vthread *t)
{
	for (uint32_t i = 0; i < t->ns; i++)
		free(t->s[i].kips);
	for (uint32_t i = 0; i < t->nr; i++)
		free(t->r[i].uips);
	free(t->s);
	free(t->r);
	free(t);
}

void dp_verify__free(struct dp_verify *v)
{
	struct vthread *t, *tt;

	if (!v)
		return;
	struct vleaf *l, *lt;

	HASH_ITER(hh, v->threads, t, tt) {
		HASH_DEL(v->threads, t);
		free_thread(t);
	}
	HASH_ITER(hh, v->leaves, l, lt) {
		HASH_DEL(v->leaves, l);
		free(l);
	}
	for (uint32_t i = 0; i < v->nheld; i++)
		free(v->held[i].ips);
	free(v->held);
	free(v);
}

static struct vthread *thread(struct dp_verify *v, uint32_t tid)
{
	struct vthread *t;

	HASH_FIND(hh, v->threads, &tid, sizeof(tid), t);
	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->tid = tid;
	HASH_ADD(hh, v->threads, tid, sizeof(tid), t);
	if (dp_hash_failed()) {
		free(t);
		return NULL;
	}
	return t;
}

static int emit(struct dp_verify *v, uint32_t pid, uint32_t tid, uint32_t flags,
		const uint64_t *kips, uint32_t knr, const uint64_t *uips, uint32_t unr)
{
	struct dp_stack_hdr h = {
		.pid = pid, .tid = tid, .flags = flags, .knr = (uint16_t)knr, .unr = (uint16_t)unr,
	};

	return dp_stack_table__add(v->out, &h, kips, uips, 1);
}

/* A stitched deferred stack, held until the round ends (its leaf evidence may come later). */
static int hold(struct dp_verify *v, uint32_t pid, uint32_t tid, uint32_t flags, uint64_t cookie,
		const uint64_t *kips, uint32_t knr, const uint64_t *uips, uint32_t unr)
{
	struct vheld *h;

	if (v->nheld == v->capheld) {
		uint32_t cap = v->capheld ? v->capheld * 2 : 64;
		struct vheld *n = realloc(v->held, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		v->held = n;
		v->capheld = cap;
	}
	h = &v->held[v->nheld];
	*h = (struct vheld){ .pid = pid, .tid = tid, .flags = flags, .knr = knr, .unr = unr,
			     .cookie = cookie, .round = v->round };
	h->ips = malloc((knr + unr + 1) * sizeof(uint64_t));
	if (!h->ips)
		return -ENOMEM;
	if (knr)
		memcpy(h->ips, kips, knr * sizeof(uint64_t));
	if (unr)
		memcpy(h->ips + knr, uips, unr * sizeof(uint64_t));
	v->nheld++;
	return 0;
}

int dp_verify__leaf(struct dp_verify *v, uint32_t tid, uint64_t cookie, uint64_t ip,
		    uint64_t ra, uint64_t now)
{
	struct vleaf *l, k;

	memset(&k, 0, sizeof(k));
	k.key.tid = tid;
	k.key.cookie = cookie;
	k.key.ip = ip;
	HASH_FIND(hh, v->leaves, &k.key, sizeof(k.key), l);
	if (l)
		return 0;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->key = k.key;
	l->ra = ra;
	l->since_ns = now;
	HASH_ADD(hh, v->leaves, key, sizeof(l->key), l);
	if (dp_hash_failed()) {
		free(l);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Held stacks into the table, each with its caller inserted when its
 * entry's evidence says so: those whose evidence has come, those held a
 * whole round already (the logs of a round may be read in the next, after a
 * flip or a task's exit: a second round is enough), or all of them.
 */
static int flush_held(struct dp_verify *v, bool all)
{
	uint64_t u[DP_MAX_STACK];
	uint32_t kept = 0;
	int err = 0;

	for (uint32_t i = 0; i < v->nheld; i++) {
		struct vheld *h = &v->held[i];
		const uint64_t *uips = h->ips + h->knr;
		uint32_t unr = h->unr;
		struct vleaf *l = NULL, k;

		if (unr) {
			memset(&k, 0, sizeof(k));
			k.key.tid = h->tid;
			k.key.cookie = h->cookie;
			k.key.ip = uips[0];
			HASH_FIND(hh, v->leaves, &k.key, sizeof(k.key), l);
		}
		if (!l && !all && h->round >= v->round) {
			v->held[kept++] = *h;
			continue;
		}
		if (l && unr < DP_MAX_STACK && (unr == 1 || uips[1] != l->ra)) {
			u[0] = uips[0];
			u[1] = l->ra;
			memcpy(u + 2, uips + 1, (unr - 1) * sizeof(uint64_t));
			uips = u;
			unr++;
		}
		if (!err)
			err = emit(v, h->pid, h->tid, h->flags, h->ips, h->knr, uips, unr);
		free(h->ips);
	}
	v->nheld = kept;
	return err;
}

static uint64_t *dup_ips(const uint64_t *ips, uint32_t n)
{
	uint64_t *c = malloc((n ? n : 1) * sizeof(*c));

	if (c && n)
		memcpy(c, ips, n * sizeof(*c));
	return c;
}

int dp_verify__sample(struct dp_verify *v, uint32_t pid, uint32_t tid, const struct dp_chain *ch,
		      uint64_t now)
{
	uint32_t knr = ch->knr, flags = 0, unr;
	struct vthread *t;
	struct vsample *s;

	if (knr > DP_MAX_STACK) {
		knr = DP_MAX_STACK;
		flags |= DP_STK_KTRUNC;
	}
	if (ch->form == DP_CHAIN_KERNEL_ONLY)
		return emit(v, pid, tid, flags | DP_STK_NO_USER, ch->kips, knr, NULL, 0);
	if (ch->form == DP_CHAIN_CLASSIC) {
		/* Stamped and repaired as the join does its classic chains. */
		unr = ch->unr > DP_MAX_STACK ? DP_MAX_STACK : ch->unr;
		if (ch->unr > DP_MAX_STACK)
			flags |= DP_STK_UTRUNC;
		if (v->out->generation)
			flags |= DP_STK_GEN_SET |
				 dp_stk__gen_bits(v->out->generation(v->out->generation_ctx, pid));
		return hold(v, pid, tid, flags, 0, ch->kips, knr, ch->uips, unr);
	}
	t = thread(v, tid);
	if (!t)
		return -ENOMEM;
	/* Its record may have been read first, from another CPU's buffer. */
	for (uint32_t i = 0; i < t->nr; i++)
		if (t->r[i].cookie == ch->cookie)
			return hold(v, pid, tid, flags | t->r[i].gen_flags, ch->cookie, ch->kips, knr, t->r[i].uips,
				    t->r[i].unr);
	if (t->ns == t->caps) {
		uint32_t cap = t->caps ? t->caps * 2 : 8;
		struct vsample *n = realloc(t->s, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		t->s = n;
		t->caps = cap;
	}
	s = &t->s[t->ns];
	*s = (struct vsample){ .pid = pid, .flags = flags, .knr = knr, .cookie = ch->cookie,
			       .since_ns = now, .kips = dup_ips(ch->kips, knr) };
	if (!s->kips)
		return -ENOMEM;
	t->ns++;
	return 0;
}

/* Samples of t for which done(v, t, sample) holds leave, each with uips or lost. */
static int settle(struct dp_verify *v, struct vthread *t, bool (*done)(const struct dp_verify *,
		  const struct vsample *, const void *), const void *arg, const struct vrecord *r)
{
	uint32_t kept = 0;
	int err = 0;

	for (uint32_t i = 0; i < t->ns; i++) {
		struct vsample *s = &t->s[i];

		if (!done(v, s, arg)) {
			t->s[kept++] = *s;
			continue;
		}
		if (!err)
			err = r ? hold(v, s->pid, t->tid, s->flags | r->gen_flags, s->cookie, s->kips, s->knr,
				       r->uips, r->unr) :
				  emit(v, s->pid, t->tid, s->flags | DP_STK_USER_LOST, s->kips,
				       s->knr, NULL, 0);
		free(s->kips);
	}
	t->ns = kept;
	return err;
}

static bool same_cookie(const struct dp_verify *v, const struct vsample *s, const void *arg)
{
	(void)v;
	return s->cookie == *(const uint64_t *)arg;
}

static bool timed_out(const struct dp_verify *v, const struct vsample *s, const void *arg)
{
	return *(const uint64_t *)arg - s->since_ns >= v->timeout_ns;
}

static bool always(const struct dp_verify *v, const struct vsample *s, const void *arg)
{
	(void)v;
	(void)s;
	(void)arg;
	return true;
}

int dp_verify__record(struct dp_verify *v, uint32_t pid, uint32_t tid, uint64_t cookie,
		      const uint64_t *uips, uint32_t unr, uint64_t now)
{
	struct vthread *t = thread(v, tid);
	struct vrecord r = { .cookie = cookie, .round = v->round, .unr = unr };

	/* A deferred stack's "when" is its record's place in the ring (join.c does the same). */
	if (v->out->generation)
		r.gen_flags = DP_STK_GEN_SET |
			      dp_stk__gen_bits(v->out->generation(v->out->generation_ctx, pid));
	int err;

	(void)now;
	if (!t)
		return -ENOMEM;
	r.uips = dup_ips(uips, unr);
	if (!r.uips)
		return -ENOMEM;
	err = settle(v, t, same_cookie, &cookie, &r);
	if (err) {
		free(r.uips);
		return err;
	}
	if (t->nr == t->capr) {
		uint32_t cap = t->capr ? t->capr * 2 : 4;
		struct vrecord *n = realloc(t->r, cap * sizeof(*n));

		if (!n) {
			free(r.uips);
			return -ENOMEM;
		}
		t->r = n;
		t->capr = cap;
	}
	t->r[t->nr++] = r;
	return 0;
}

void dp_verify__exit(struct dp_verify *v, uint32_t tid)
{
	struct vthread *t;

	HASH_FIND(hh, v->threads, &tid, sizeof(tid), t);
	if (t && !t->exit_round)
		t->exit_round = v->round + 1;
}

int dp_verify__end_round(struct dp_verify *v, uint64_t now)
{
	struct vthread *t, *tt;
	struct vleaf *l, *lt;
	int err = flush_held(v, false);

	HASH_ITER(hh, v->leaves, l, lt) {
		if (now - l->since_ns > 4 * v->timeout_ns) {	/* its samples are long settled */
			HASH_DEL(v->leaves, l);
			free(l);
		}
	}
	HASH_ITER(hh, v->threads, t, tt) {
		uint32_t kept = 0;

		/* An exit is acted on a round later: its last record may be in another buffer. */
		if (t->exit_round && t->exit_round <= v->round) {
			if (!err)
				err = settle(v, t, always, NULL, NULL);
			HASH_DEL(v->threads, t);
			free_thread(t);
			continue;
		}
		if (!err)
			err = settle(v, t, timed_out, &now, NULL);
		for (uint32_t i = 0; i < t->nr; i++) {
			if (v->round - t->r[i].round >= KEEP_ROUNDS - 1)
				free(t->r[i].uips);
			else
				t->r[kept++] = t->r[i];
		}
		t->nr = kept;
	}
	v->round++;
	return err;
}

int dp_verify__finish(struct dp_verify *v)
{
	struct vthread *t, *tt;
	int err = 0, e2;

	HASH_ITER(hh, v->threads, t, tt) {
		if (!err)
			err = settle(v, t, always, NULL, NULL);
	}
	e2 = flush_held(v, true);
	return err ? err : e2;
}
