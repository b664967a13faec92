// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "join.h"
#include "uthash.h"

struct jkey {
	uint32_t tid;
	uint32_t pad;
	uint64_t cookie;
};

/* Samples of one (tid, cookie) with one kernel stack, waiting for their record. */
struct part {
	struct part *next;
	uint64_t count;
	uint32_t flags;
	uint32_t knr;
	uint64_t kips[];
};

struct pending {
	UT_hash_handle hh;
	struct jkey key;
	uint32_t pid;
	uint64_t since_ns;
	struct part *parts;
};

struct rec {
	UT_hash_handle hh;
	struct jkey key;
	uint32_t pid;
	uint64_t round;
	int matched;
	uint32_t unr;
	uint64_t uips[];
};

struct tomb {
	UT_hash_handle hh;
	struct jkey key;
	uint64_t since_ns;
};

struct exited {
	UT_hash_handle hh;
	uint32_t tid;
	uint64_t round;
};

struct dp_join {
	struct dp_join_opts opts;
	struct dp_stack_table *out;
	struct pending *pending;	/* insertion order = age order */
	struct rec *recs;
	struct tomb *tombs;
	struct exited *exited;
	uint64_t npending;
	uint64_t round;
	uint64_t ring_lost;		/* records lost in the ring not yet blamed */
	struct dp_join_stats st;
};

/* A group whose record never came: the ring's loss first, else why. */
static uint64_t *unmatched_reason(struct dp_join *j, uint64_t *why)
{
	if (!j->ring_lost)
		return why;
	j->ring_lost--;
	return &j->st.lost_ring;
}

void dp_join__records_lost(struct dp_join *j, uint64_t n)
{
	j->ring_lost += n;
}

static struct jkey mkkey(uint32_t tid, uint64_t cookie)
{
	struct jkey k;

	memset(&k, 0, sizeof(k));
	k.tid = tid;
	k.cookie = cookie;
	return k;
}

struct dp_join *dp_join__new(const struct dp_join_opts *opts, struct dp_stack_table *out)
{
	struct dp_join *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->opts = *opts;
	if (!j->opts.timeout_ns)
		j->opts.timeout_ns = 10ULL * 1000000000ULL;
	if (!j->opts.max_pending)
		j->opts.max_pending = 1000000;
	j->out = out;
	return j;
}

static void free_parts(struct part *p)
{
	while (p) {
		struct part *n = p->next;

		free(p);
		p = n;
	}
}

void dp_join__free(struct dp_join *j)
{
	struct pending *p, *pt;
	struct rec *r, *rt;
	struct tomb *t, *tt;
	struct exited *e, *et;

	if (!j)
		return;
	HASH_ITER(hh, j->pending, p, pt) {
		HASH_DEL(j->pending, p);
		free_parts(p->parts);
		free(p);
	}
	HASH_ITER(hh, j->recs, r, rt) {
		HASH_DEL(j->recs, r);
		free(r);
	}
	HASH_ITER(hh, j->tombs, t, tt) {
		HASH_DEL(j->tombs, t);
		free(t);
	}
	HASH_ITER(hh, j->exited, e, et) {
		HASH_DEL(j->exited, e);
		free(e);
	}
	free(j);
}

static int emit(struct dp_join *j, uint32_t pid, uint32_t tid, uint32_t flags,
		const uint64_t *kips, uint32_t knr, const uint64_t *uips, uint32_t unr,
		uint64_t count)
{
	struct dp_stack_hdr h = {
		.pid = pid, .tid = tid, .flags = flags,
		.knr = (uint16_t)knr, .unr = (uint16_t)unr,
	};

	return dp_stack_table__add(j->out, &h, kips, uips, count);
}

/* Resolve a pending group: with user addresses, or as lost (uips == NULL). */
static int resolve(struct dp_join *j, struct pending *p, const uint64_t *uips, uint32_t unr,
		   uint64_t *lost_counter)
{
	struct part *q;
	int err = 0;

	for (q = p->parts; q; q = q->next) {
		uint32_t flags = q->flags | (uips ? 0 : DP_STK_USER_LOST);

		if (!err)
			err = emit(j, p->pid, p->key.tid, flags, q->kips, q->knr, uips,
				   uips ? unr : 0, q->count);
		if (uips)
			j->st.joined += q->count;
		else
			*lost_counter += q->count;
	}
	HASH_DEL(j->pending, p);
	j->npending--;
	free_parts(p->parts);
	free(p);
	return err;
}

static void add_tomb(struct dp_join *j, struct jkey key, uint64_t now_ns)
{
	struct tomb *t;

	HASH_FIND(hh, j->tombs, &key, sizeof(key), t);
	if (t)
		return;
	t = calloc(1, sizeof(*t));
	if (!t)
		return;	/* only the "late record" count suffers */
	t->key = key;
	t->since_ns = now_ns;
	HASH_ADD(hh, j->tombs, key, sizeof(key), t);
}

int dp_join__add_sample(struct dp_join *j, const struct dp_join_sample *s, uint64_t now_ns)
{
	struct jkey key;
	struct pending *p;
	struct part *q;
	struct rec *r;

	j->st.samples_in += s->count;
	if (!s->cookie) {
		if (s->flags & DP_STK_NO_USER)
			j->st.kernel_only += s->count;
		else
			j->st.classic += s->count;
		return emit(j, s->pid, s->tid, s->flags, s->kips, s->knr, s->uips, s->unr,
			    s->count);
	}

	key = mkkey(s->tid, s->cookie);
	HASH_FIND(hh, j->recs, &key, sizeof(key), r);
	if (r) {
		r->matched = 1;
		j->st.joined += s->count;
		return emit(j, s->pid, s->tid, s->flags, s->kips, s->knr, r->uips, r->unr,
			    s->count);
	}

	HASH_FIND(hh, j->pending, &key, sizeof(key), p);
	if (!p) {
		if (j->npending >= j->opts.max_pending && j->pending) {
			add_tomb(j, j->pending->key, now_ns);
			resolve(j, j->pending, NULL, 0, &j->st.lost_evicted);
		}
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->key = key;
		p->pid = s->pid;
		p->since_ns = now_ns;
		HASH_ADD(hh, j->pending, key, sizeof(key), p);
		j->npending++;
		if (j->npending > j->st.pending_peak)
			j->st.pending_peak = j->npending;
	}
	for (q = p->parts; q; q = q->next) {
		if (q->flags == s->flags && q->knr == s->knr &&
		    !memcmp(q->kips, s->kips, s->knr * sizeof(uint64_t))) {
			q->count += s->count;
			return 0;
		}
	}
	q = malloc(sizeof(*q) + s->knr * sizeof(uint64_t));
	if (!q)
		return -ENOMEM;
	q->count = s->count;
	q->flags = s->flags;
	q->knr = s->knr;
	if (s->knr)
		memcpy(q->kips, s->kips, s->knr * sizeof(uint64_t));
	q->next = p->parts;
	p->parts = q;
	return 0;
}

int dp_join__add_record(struct dp_join *j, uint32_t pid, uint32_t tid, uint64_t cookie,
			const uint64_t *uips, uint32_t unr)
{
	struct jkey key = mkkey(tid, cookie);
	struct pending *p;
	struct tomb *t;
	struct rec *r;
	int err = 0;

	j->st.records++;
	HASH_FIND(hh, j->recs, &key, sizeof(key), r);
	if (r) {
		j->st.records_duplicate++;
		return 0;
	}
	HASH_FIND(hh, j->tombs, &key, sizeof(key), t);
	if (t) {
		j->st.records_late++;
		HASH_DEL(j->tombs, t);
		free(t);
		return 0;
	}
	r = malloc(sizeof(*r) + unr * sizeof(uint64_t));
	if (!r)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	r->key = key;
	r->pid = pid;
	r->round = j->round;
	r->unr = unr;
	if (unr)
		memcpy(r->uips, uips, unr * sizeof(uint64_t));
	HASH_FIND(hh, j->pending, &key, sizeof(key), p);
	if (p) {
		r->matched = 1;
		err = resolve(j, p, r->uips, r->unr, NULL);
	}
	HASH_ADD(hh, j->recs, key, sizeof(key), r);
	return err;
}

void dp_join__task_exit(struct dp_join *j, uint32_t tid)
{
	struct exited *e;

	HASH_FIND(hh, j->exited, &tid, sizeof(tid), e);
	if (e)
		return;
	e = calloc(1, sizeof(*e));
	if (!e)
		return;	/* its samples then go by the timeout */
	e->tid = tid;
	e->round = j->round;
	HASH_ADD(hh, j->exited, tid, sizeof(tid), e);
}

static void retire_record(struct dp_join *j, struct rec *r)
{
	if (r->matched)
		j->st.records_matched++;
	else
		j->st.records_unmatched++;
	HASH_DEL(j->recs, r);
	free(r);
}

int dp_join__end_round(struct dp_join *j, uint64_t now_ns)
{
	struct pending *p, *pt;
	struct rec *r, *rt;
	struct tomb *t, *tt;
	struct exited *e, *et;
	int err = 0, e2;

	HASH_ITER(hh, j->recs, r, rt) {
		if (r->round + 3 <= j->round)
			retire_record(j, r);
	}
	/*
	 * A task's exit is acted on one round after it was seen: its last
	 * record may sit in another CPU's buffer read before the exit was.
	 */
	HASH_ITER(hh, j->pending, p, pt) {
		HASH_FIND(hh, j->exited, &p->key.tid, sizeof(p->key.tid), e);
		if (e && e->round < j->round) {
			e2 = resolve(j, p, NULL, 0, &j->st.lost_exited);
			err = err ? err : e2;
		} else if (now_ns - p->since_ns >= j->opts.timeout_ns && now_ns > p->since_ns) {
			add_tomb(j, p->key, now_ns);
			e2 = resolve(j, p, NULL, 0, unmatched_reason(j, &j->st.lost_timeout));
			err = err ? err : e2;
		}
	}
	HASH_ITER(hh, j->exited, e, et) {
		if (e->round + 4 <= j->round) {
			HASH_DEL(j->exited, e);
			free(e);
		}
	}
	HASH_ITER(hh, j->tombs, t, tt) {
		if (now_ns - t->since_ns > 4 * j->opts.timeout_ns) {
			HASH_DEL(j->tombs, t);
			free(t);
		}
	}
	j->round++;
	return err;
}

int dp_join__finish(struct dp_join *j)
{
	struct pending *p, *pt;
	struct rec *r, *rt;
	int err = 0, e2;

	HASH_ITER(hh, j->pending, p, pt) {
		e2 = resolve(j, p, NULL, 0, unmatched_reason(j, &j->st.lost_at_end));
		err = err ? err : e2;
	}
	HASH_ITER(hh, j->recs, r, rt)
		retire_record(j, r);
	return err;
}

const struct dp_join_stats *dp_join__stats(const struct dp_join *j)
{
	return &j->st;
}

uint64_t dp_join__pending(const struct dp_join *j)
{
	return j->npending;
}
