// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/perf_event.h>
#include "dispatch.h"
#include "perf_abi.h"
#include "profile.h"
#include "recording.h"
#include "samplelog.h"
#include "stackcache.h"
#include "dphash.h"
#include "verify.h"

/* Tasks already seen: an open-addressing set of tids (0 is never a task's). */
struct tid_set {
	uint32_t *slots;
	uint32_t cap, n;
};

struct dp_ingest {
	struct dp_ingest_opts o;
	struct dp_join *join;
	struct dp_verify *verify;
	struct dp_comms *comms;
	struct dp_ingest_sink sink;
	struct dp_ingest_stats st;
	struct dp_stackcache *stacks;	/* the program's store, mirrored */
	struct tid_set seen;
	uint32_t last_tid;		/* the thread of the previous sample or record */
	struct dp_task *fresh;		/* seen for the first time, not yet taken */
	uint32_t nfresh, capfresh;
};

static int seen_grow(struct tid_set *s)
{
	uint32_t cap = s->cap ? s->cap * 2 : 256, *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (uint32_t i = 0; i < s->cap; i++) {
		uint32_t t = s->slots[i], h;

		if (!t)
			continue;
		for (h = (uint32_t)dp_hash_bytes(&t, sizeof(t)) & (cap - 1); slots[h]; h = (h + 1) & (cap - 1))
			;
		slots[h] = t;
	}
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

/* Adds tid; 1 when it was new, 0 when known, -ENOMEM. */
static int seen_add(struct tid_set *s, uint32_t tid)
{
	uint32_t h;
	int err;

	if ((s->n + 1) * 2 > s->cap && (err = seen_grow(s)))
		return err;
	for (h = (uint32_t)dp_hash_bytes(&tid, sizeof(tid)) & (s->cap - 1); s->slots[h]; h = (h + 1) & (s->cap - 1))
		if (s->slots[h] == tid)
			return 0;
	s->slots[h] = tid;
	s->n++;
	return 1;
}

/* First sight of a task: queued for the session, which reads /proc outside the loop. */
static __attribute__((noinline)) int note_new_task(struct dp_ingest *in, uint32_t pid,
						  uint32_t tid)
{
	int fresh;

	in->last_tid = tid;
	fresh = seen_add(&in->seen, tid);
	if (fresh <= 0)
		return fresh;
	if (in->nfresh == in->capfresh) {
		uint32_t cap = in->capfresh ? in->capfresh * 2 : 64;
		struct dp_task *n = realloc(in->fresh, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		in->fresh = n;
		in->capfresh = cap;
	}
	in->fresh[in->nfresh++] = (struct dp_task){ .pid = pid, .tid = tid };
	return 0;
}

/* A thread's samples come in runs: only a change of thread looks further. */
static inline int note_task(struct dp_ingest *in, uint32_t pid, uint32_t tid)
{
	return !tid || tid == in->last_tid ? 0 : note_new_task(in, pid, tid);
}

struct dp_ingest *dp_ingest__new(const struct dp_ingest_opts *opts, struct dp_stack_table *out,
				 struct dp_comms *comms, const struct dp_ingest_sink *sink,
				 struct dp_verify *verify)
{
	struct dp_ingest *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->o = *opts;
	in->comms = comms;
	in->verify = verify;
	if (sink)
		in->sink = *sink;
	in->join = dp_join__new(&opts->join, out);
	if (opts->store.lookup)
		in->stacks = dp_stackcache__new(&opts->store, &opts->store_age);
	if (!in->join || (opts->store.lookup && !in->stacks)) {
		dp_join__free(in->join);
		free(in);
		return NULL;
	}
	return in;
}

void dp_ingest__free(struct dp_ingest *in)
{
	if (!in)
		return;
	dp_join__free(in->join);
	dp_stackcache__free(in->stacks);
	free(in->seen.slots);
	free(in->fresh);
	free(in);
}

uint32_t dp_ingest__take_new_tasks(struct dp_ingest *in, struct dp_task *out, uint32_t max)
{
	uint32_t n = in->nfresh < max ? in->nfresh : max;

	if (!n)
		return 0;	/* fresh may still be NULL */
	memcpy(out, in->fresh, n * sizeof(*out));
	memmove(in->fresh, in->fresh + n, (in->nfresh - n) * sizeof(*out));
	in->nfresh -= n;
	return n;
}

const struct dp_ingest_stats *dp_ingest__stats(const struct dp_ingest *in)
{
	return &in->st;
}

const struct dp_join_stats *dp_ingest__join_stats(const struct dp_ingest *in)
{
	return dp_join__stats(in->join);
}

uint64_t dp_ingest__pending(const struct dp_ingest *in)
{
	return dp_join__pending(in->join);
}

void dp_ingest__malformed(struct dp_ingest *in, uint64_t n)
{
	in->st.malformed += n;
}

static void put_rec(struct dp_ingest *in, uint32_t type, const void *a, uint32_t alen,
		    const void *b, uint32_t blen, const void *c, uint32_t clen)
{
	if (in->o.rec && dp_rec__put(in->o.rec, type, a, alen, b, blen, c, clen))
		in->st.rec_errors++;
}

/* --record: a sample as the join got it (apart: the hot path keeps a small frame). */
static __attribute__((noinline)) void record_sample(struct dp_ingest *in,
						   const struct dp_join_sample *js)
{
	struct dp_rec_sample rs = {
		.pid = js->pid, .tid = js->tid, .cookie = js->cookie, .flags = js->flags,
		.knr = js->knr, .unr = js->unr, .count = js->count, .leaf = js->leaf != NULL,
	};
	uint64_t ips[2 * DP_MAX_STACK + DP_LEAF_NR];
	uint32_t n = js->knr + js->unr;

	if (js->knr > DP_MAX_STACK || js->unr > DP_MAX_STACK) {
		in->st.rec_errors++;	/* cannot happen: ingest clamps the parts */
		return;
	}
	if (js->knr)
		memcpy(ips, js->kips, js->knr * 8);
	if (js->unr)
		memcpy(ips + js->knr, js->uips, js->unr * 8);
	if (js->leaf) {
		memcpy(ips + n, js->leaf, sizeof(*js->leaf));
		n += DP_LEAF_NR;
	}
	put_rec(in, DP_REC_SAMPLE, &rs, sizeof(rs), ips, n * 8, NULL, 0);
}

/* A sample with leaf evidence: the symbols side decides what it shows, the join inserts it. */
static __attribute__((noinline)) int leaf_sample(struct dp_ingest *in,
						 const struct dp_join_sample *js, uint64_t now)
{
	struct dp_join_sample s = *js;

	in->st.leaf_evidence++;
	s.leaf_ip = js->leaf->ip;
	s.leaf_ra = in->sink.leaf_caller(in->sink.ctx, js->pid, js->leaf);
	if (s.leaf_ra) {
		in->st.leaf_callers++;
		/* --verify's reference repairs its stacks from the same evidence. */
		if (in->verify) {
			int err = dp_verify__leaf(in->verify, s.tid, s.cookie, s.leaf_ip, s.leaf_ra,
						  now);

			if (err)
				return err;
		}
	}
	return dp_join__add_sample(in->join, &s, now);
}

int dp_ingest__sample(struct dp_ingest *in, const struct dp_join_sample *js, uint64_t now)
{
	int err = note_task(in, js->pid, js->tid);

	if (err)
		return err;
	if (in->o.rec)
		record_sample(in, js);
	if (js->leaf && in->sink.leaf_caller)
		return leaf_sample(in, js, now);
	return dp_join__add_sample(in->join, js, now);
}

static const struct dp_cached_stack *get_stack(struct dp_ingest *in, uint64_t id, uint64_t now)
{
	return id && in->stacks ? dp_stackcache__get(in->stacks, id, now) : NULL;
}

void dp_ingest__counts_flipped(struct dp_ingest *in, uint64_t now)
{
	if (in->stacks)
		dp_stackcache__flipped(in->stacks, now);
}

const struct dp_stackcache *dp_ingest__stackcache(const struct dp_ingest *in)
{
	return in->stacks;
}

int dp_ingest__entry(struct dp_ingest *in, const struct dp_sample_key *k, uint64_t count,
		     uint64_t now)
{
	const struct dp_cached_stack *ks, *us;
	struct dp_join_sample js;
	uint32_t kf = k->flags;
	bool deferred = kf & DP_KEY_DEFERRED;

	ks = get_stack(in, k->kstack_id, now);
	us = get_stack(in, k->ustack_id, now);
	if (kf & DP_KEY_CHAIN) {	/* both parts in one stored chain */
		if (ks && ks->bad) {
			in->st.malformed++;
			ks = NULL;
		}
		if (!ks)
			kf |= DP_KEY_KSTACK_LOST;
		else if (ks->has_user)
			kf |= DP_KEY_USER_INLINE;
		us = ks && ks->has_user ? ks : NULL;
	} else {
		if (k->kstack_id && !ks)
			kf |= DP_KEY_KSTACK_LOST;
		if (k->ustack_id && !us)
			kf |= DP_KEY_USTACK_LOST;
	}
	memset(&js, 0, sizeof(js));
	js.pid = k->pid;
	js.tid = k->tid;
	js.cookie = deferred && !in->o.kernel_only ? k->cookie : 0;
	js.flags = dp_key__stk_flags(kf, !deferred && !(kf & DP_KEY_USER_INLINE));
	if (in->o.kernel_only)
		js.flags |= DP_STK_NO_USER;
	js.kips = ks ? ks->ips + ks->kfirst : NULL;
	js.knr = ks ? ks->knr : 0;
	js.khash = ks ? ks->khash : 0;
	js.uips = us ? us->ips + us->ufirst : NULL;
	js.unr = us ? us->unr : 0;
	js.uhash = us ? us->uhash : 0;
	js.count = count;
	return dp_ingest__sample(in, &js, now);
}

/* --raw: a ring sample is the product's sample, into the join as perf would stitch it. */
static int raw_sample(struct dp_ingest *in, const struct dp_record *r, const struct dp_chain *ch,
		      uint32_t flags, uint64_t now)
{
	struct dp_join_sample js;

	memset(&js, 0, sizeof(js));
	js.pid = r->id.pid;
	js.tid = r->id.tid;
	js.count = 1;
	dp_join_sample__from_chain(&js, ch, false);
	js.flags |= flags;
	return dp_join__add_sample(in->join, &js, now);
}

/* A ring sample: --raw's product, and --verify's reference. */
static int on_sample(struct dp_ingest *in, const struct dp_record *r, uint64_t now)
{
	struct dp_chain ch;
	int err;

	if (!in->o.raw && !in->verify)
		return 0;	/* the program keeps samples out of the ring */
	in->st.raw_samples++;
	if (dp_chain__split(r->sample.ips, r->sample.nr, &ch)) {
		in->st.malformed++;
		if (!in->o.raw)
			return 0;
		/* --raw: still a sample, under one marker (as the logs' reader keeps it). */
		memset(&ch, 0, sizeof(ch));
		ch.form = DP_CHAIN_KERNEL_ONLY;
		err = note_task(in, r->id.pid, r->id.tid);
		return err ? err : raw_sample(in, r, &ch, DP_STK_MALFORMED | DP_STK_NO_USER, now);
	}
	err = note_task(in, r->id.pid, r->id.tid);
	if (!err && in->verify)
		err = dp_verify__sample(in->verify, r->id.pid, r->id.tid, &ch, now);
	if (!err && in->o.raw)
		err = raw_sample(in, r, &ch, 0, now);
	return err;
}

static void on_fork(struct dp_ingest *in, const struct dp_record *r)
{
	const char *c = dp_comms__get(in->comms, r->task.ptid);

	if (!c)	/* the parent thread's name not learned yet: its process's */
		c = dp_comms__get(in->comms, r->task.ppid);

	/*
	 * A new task starts with its parent's name, unless its own COMM record
	 * (a rename, read from another CPU's buffer) came first.
	 */
	if (c && !dp_comms__get_live(in->comms, r->task.tid, r->task.pid))
		dp_comms__set(in->comms, r->task.pid, r->task.tid, c);
}

int dp_ingest__record(struct dp_ingest *in, const void *buf, size_t len, uint64_t now)
{
	struct dp_record r;
	int err;

	in->st.ring_records++;
	in->st.ring_bytes += len;
	put_rec(in, DP_REC_RING, buf, (uint32_t)len, NULL, 0, NULL, 0);
	err = dp_record__parse(buf, len, DP_SAMPLE_TYPE, &r);
	if (err == -ENOENT)
		return 0;	/* a type deferprof does not ask for */
	if (err) {
		in->st.malformed++;
		return 0;
	}
	switch (r.type) {
	case DP_RECORD_CALLCHAIN_DEFERRED: {
		uint32_t nr = r.deferred.nr > DP_MAX_STACK ? DP_MAX_STACK : (uint32_t)r.deferred.nr;

		err = note_task(in, r.id.pid, r.id.tid);
		if (!err)
			err = dp_join__add_record(in->join, r.id.pid, r.id.tid, r.deferred.cookie,
						  r.deferred.ips, nr);
		if (!err && in->verify)
			err = dp_verify__record(in->verify, r.id.pid, r.id.tid, r.deferred.cookie,
						r.deferred.ips, nr, now);
		return err;
	}
	case PERF_RECORD_SAMPLE:
		return on_sample(in, &r, now);
	case PERF_RECORD_LOST:
		in->st.lost_records += r.lost.lost;
		in->st.lost_events++;
		dp_join__records_lost(in->join, r.lost.lost);
		return 0;
	case PERF_RECORD_MMAP2:
		if ((r.mmap.prot & PROT_EXEC) && in->sink.mmap) {
			err = note_task(in, r.mmap.pid, r.mmap.tid);
			if (in->sink.mmap(in->sink.ctx, &r))
				in->st.sink_errors++;	/* its addresses stay unnamed */
		}
		return err;
	case PERF_RECORD_COMM:
		/* The exec's new address space first: the new name is its generation's. */
		if (r.comm.exec && in->sink.exec)
			in->sink.exec(in->sink.ctx, r.comm.pid);
		return dp_comms__set(in->comms, r.comm.pid, r.comm.tid, r.comm.comm);
	case PERF_RECORD_FORK:
		on_fork(in, &r);
		if (r.task.pid != r.task.ppid && in->sink.fork)
			in->sink.fork(in->sink.ctx, r.task.ppid, r.task.pid);
		return note_task(in, r.task.pid, r.task.tid);
	case PERF_RECORD_EXIT:
		dp_comms__exited(in->comms, r.task.tid);
		dp_join__task_exit(in->join, r.task.tid);
		if (in->verify)
			dp_verify__exit(in->verify, r.task.tid);
		if (r.task.pid == r.task.tid && in->sink.exit)
			in->sink.exit(in->sink.ctx, r.task.pid);
		return 0;
	}
	return 0;
}

int dp_ingest__end_round(struct dp_ingest *in, uint64_t now)
{
	int err;

	put_rec(in, DP_REC_ROUND, &now, sizeof(now), NULL, 0, NULL, 0);
	err = dp_join__end_round(in->join, now);
	if (!err && in->verify)
		err = dp_verify__end_round(in->verify, now);
	return err;
}

int dp_ingest__table_moved(struct dp_ingest *in, const struct dp_stack_table *old)
{
	return dp_join__rebase(in->join, old);
}

int dp_ingest__finish(struct dp_ingest *in)
{
	int err = dp_join__finish(in->join);

	if (in->verify) {
		int verr = dp_verify__finish(in->verify);

		if (!err)
			err = verr;
	}
	return err;
}
