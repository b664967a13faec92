// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "deferprof.h"
#include "uthash.h"
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

struct dp_verify {
	uint64_t timeout_ns, round;
	struct dp_stack_table *out;
	struct vthread *threads;
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
	HASH_ITER(hh, v->threads, t, tt) {
		HASH_DEL(v->threads, t);
		free_thread(t);
	}
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
		unr = ch->unr > DP_MAX_STACK ? DP_MAX_STACK : ch->unr;
		if (ch->unr > DP_MAX_STACK)
			flags |= DP_STK_UTRUNC;
		return emit(v, pid, tid, flags, ch->kips, knr, ch->uips, unr);
	}
	t = thread(v, tid);
	if (!t)
		return -ENOMEM;
	/* Its record may have been read first, from another CPU's buffer. */
	for (uint32_t i = 0; i < t->nr; i++)
		if (t->r[i].cookie == ch->cookie)
			return emit(v, pid, tid, flags, ch->kips, knr, t->r[i].uips, t->r[i].unr);
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
			err = r ? emit(v, s->pid, t->tid, s->flags, s->kips, s->knr, r->uips, r->unr) :
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

int dp_verify__record(struct dp_verify *v, uint32_t tid, uint64_t cookie, const uint64_t *uips,
		      uint32_t unr, uint64_t now)
{
	struct vthread *t = thread(v, tid);
	struct vrecord r = { .cookie = cookie, .round = v->round, .unr = unr };
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
	int err = 0;

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
	int err = 0;

	HASH_ITER(hh, v->threads, t, tt) {
		if (!err)
			err = settle(v, t, always, NULL, NULL);
	}
	return err;
}
