// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "deferprof.h"
#include "join.h"
#include "dphash.h"

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
	uint64_t khash;
	uint64_t kips[];
};

struct pending {
	UT_hash_handle hh;
	struct jkey key;
	uint32_t pid;
	uint64_t since_ns;
	uint64_t leaf_ip, leaf_ra;	/* the entry's leaf evidence, once a sample brought it */
	struct part *parts;
};

/*
 * A deferred record, kept for the samples that may still come. Records are
 * the join's hot path (one per kernel entry): each one's user stack is
 * interned in the output table when it comes (its samples then add by the
 * part's id, comparing no addresses), and the records live in per-round
 * arenas under one open-addressing index, so keeping one costs an insert,
 * and retiring a round's records one walk and no free().
 */
struct rec {
	uint32_t pid;
	uint32_t tid;
	uint64_t cookie;
	uint32_t matched;
	uint32_t unr;
	uint32_t upart;		/* the user stack's part id in the output table */
	uint32_t gen_flags;	/* the address-space generation when it came (stacks.h), stamped */
	uint64_t leaf_ip, leaf_ra;	/* the entry's leaf evidence, once a sample brought it */
};

/*
 * The last user stack of a thread (by a hash of its tid): a thread entering
 * the kernel from the same place again sends the same stack, which is then
 * compared once and not hashed.
 */
#define LAST_PARTS_BITS 8
struct last_part {
	uint32_t tid;
	struct dp_part_ref ref;
};

/* A record is kept in its round and the three after it: four arenas in turn. */
#define REC_GENS 4
_Static_assert(REC_GENS == 4, "an index slot names its arena in two bits");

struct recgen {
	struct rec *arena;
	size_t len, cap;
};

struct rslot {
	uint64_t cookie;
	uint32_t tid;
	uint32_t ref;		/* (index + 1) << 2 | arena; 0: empty */
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
	struct recgen gens[REC_GENS];	/* records of round r in gens[r % REC_GENS] */
	struct rslot *slots;		/* index of every record kept */
	uint32_t mask;			/* slot count - 1 (a power of two) */
	uint32_t used;
	struct tomb *tombs;
	struct exited *exited;
	struct last_part last[1U << LAST_PARTS_BITS];
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

static uint32_t slot_of(uint32_t tid, uint64_t cookie, uint32_t mask)
{
	uint64_t h = (cookie ^ ((uint64_t)tid << 40 | tid)) * 0x9e3779b97f4a7c15ULL;

	return (uint32_t)(h >> 32) & mask;
}

static struct rec *rec_at(const struct dp_join *j, uint32_t ref)
{
	return &j->gens[ref & 3].arena[(ref >> 2) - 1];
}

/* The slot of (tid, cookie): its record's, or the free one where it would go. */
static uint32_t probe(const struct dp_join *j, uint32_t tid, uint64_t cookie)
{
	uint32_t i;

	for (i = slot_of(tid, cookie, j->mask); j->slots[i].ref; i = (i + 1) & j->mask)
		if (j->slots[i].cookie == cookie && j->slots[i].tid == tid)
			break;
	return i;
}

static uint32_t find_slot(const struct dp_join *j, uint32_t tid, uint64_t cookie)
{
	uint32_t i = probe(j, tid, cookie);

	return j->slots[i].ref ? i : UINT32_MAX;
}

/* The record of (tid, cookie), if one is still kept. */
static struct rec *find_rec(const struct dp_join *j, uint32_t tid, uint64_t cookie)
{
	uint32_t i;

	if (!j->used)
		return NULL;
	i = find_slot(j, tid, cookie);
	return i == UINT32_MAX ? NULL : rec_at(j, j->slots[i].ref);
}

static void place(struct dp_join *j, uint32_t tid, uint64_t cookie, uint32_t ref)
{
	uint32_t i = slot_of(tid, cookie, j->mask);

	while (j->slots[i].ref)
		i = (i + 1) & j->mask;
	j->slots[i].cookie = cookie;
	j->slots[i].tid = tid;
	j->slots[i].ref = ref;
}

/* Linear probing's deletion: later entries of the run move back into the hole. */
static void unplace(struct dp_join *j, uint32_t tid, uint64_t cookie)
{
	uint32_t i = find_slot(j, tid, cookie), k, h;

	if (i == UINT32_MAX)
		return;
	for (k = (i + 1) & j->mask; j->slots[k].ref; k = (k + 1) & j->mask) {
		h = slot_of(j->slots[k].tid, j->slots[k].cookie, j->mask);
		/* The entry at k may fill the hole at i unless its home lies in (i, k]. */
		if (i <= k ? (i < h && h <= k) : (i < h || h <= k))
			continue;
		j->slots[i] = j->slots[k];
		i = k;
	}
	j->slots[i].ref = 0;
	j->used--;
}

/* At most half the slots in use: twice the slots, every record placed again. */
static int grow_index(struct dp_join *j)
{
	uint32_t n = j->slots ? (j->mask + 1) * 2 : 4096, oldn = j->slots ? j->mask + 1 : 0;
	struct rslot *old = j->slots, *ns;

	if (n > (1U << 30))
		return -ENOMEM;
	ns = calloc(n, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	j->slots = ns;
	j->mask = n - 1;
	for (uint32_t i = 0; i < oldn; i++)
		if (old[i].ref)
			place(j, old[i].tid, old[i].cookie, old[i].ref);
	free(old);
	return 0;
}

/* A new record of this round into free index slot i, its user stack interned (upart). */
static struct rec *keep_rec(struct dp_join *j, uint32_t i, uint32_t tid, uint64_t cookie,
			    uint32_t pid, uint32_t unr, uint32_t upart)
{
	uint32_t gi = (uint32_t)(j->round % REC_GENS);
	struct recgen *g = &j->gens[gi];
	struct rec *r;

	if (g->len == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		struct rec *na;

		if (cap >= (1ULL << 29))
			return NULL;	/* the index holds 30-bit positions */
		na = realloc(g->arena, cap * sizeof(*na));
		if (!na)
			return NULL;
		g->arena = na;
		g->cap = cap;
	}
	r = &g->arena[g->len];
	r->pid = pid;
	/*
	 * A deferred stack's "when" is its record's place among the ring's
	 * records (an exec or a dlopen on that CPU comes before or after it),
	 * not the later moment its samples come out of the logs.
	 */
	r->gen_flags = j->out->generation ? DP_STK_GEN_SET | dp_stk__gen_bits(
			j->out->generation(j->out->generation_ctx, pid)) : 0;
	r->tid = tid;
	r->cookie = cookie;
	r->matched = 0;
	r->unr = unr;
	r->upart = upart;
	r->leaf_ip = r->leaf_ra = 0;
	j->slots[i].cookie = cookie;
	j->slots[i].tid = tid;
	j->slots[i].ref = (uint32_t)(g->len + 1) << 2 | gi;
	j->used++;
	g->len++;
	return r;
}

/* Every record of one round leaves, counted as matched or not; the arena is kept. */
static void retire_gen(struct dp_join *j, struct recgen *g)
{
	for (size_t at = 0; at < g->len; at++) {
		const struct rec *r = &g->arena[at];

		if (r->matched)
			j->st.records_matched++;
		else
			j->st.records_unmatched++;
		unplace(j, r->tid, r->cookie);
	}
	g->len = 0;
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
	struct tomb *t, *tt;
	struct exited *e, *et;

	if (!j)
		return;
	HASH_ITER(hh, j->pending, p, pt) {
		HASH_DEL(j->pending, p);
		free_parts(p->parts);
		free(p);
	}
	for (int g = 0; g < REC_GENS; g++)
		free(j->gens[g].arena);
	free(j->slots);
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

void dp_join_sample__from_chain(struct dp_join_sample *js, const struct dp_chain *ch,
				bool kernel_only)
{
	js->kips = ch->kips;
	js->knr = ch->knr;
	if (js->knr > DP_MAX_STACK) {
		js->knr = DP_MAX_STACK;
		js->flags |= DP_STK_KTRUNC;
	}
	if (ch->form == DP_CHAIN_DEFERRED && !kernel_only) {
		js->cookie = ch->cookie;
		return;
	}
	if (ch->form != DP_CHAIN_CLASSIC || kernel_only) {
		js->flags |= DP_STK_NO_USER;
		return;
	}
	js->uips = ch->uips;
	js->unr = ch->unr;
	if (js->unr > DP_MAX_STACK) {
		js->unr = DP_MAX_STACK;
		js->flags |= DP_STK_UTRUNC;
	}
}

uint32_t dp_leaf__insert(const uint64_t *uips, uint32_t unr, uint64_t leaf_ip, uint64_t leaf_ra,
			 uint64_t *out)
{
	if (!leaf_ra || !unr || uips[0] != leaf_ip || unr >= DP_MAX_STACK ||
	    (unr > 1 && uips[1] == leaf_ra))
		return 0;
	out[0] = uips[0];
	out[1] = leaf_ra;
	memcpy(out + 2, uips + 1, (unr - 1) * sizeof(uint64_t));
	return unr + 1;
}

/* A stack into the table, its user part repaired when the evidence holds; a part hash of 0 is computed here. */
static int emit(struct dp_join *j, uint32_t pid, uint32_t tid, uint32_t flags,
		const uint64_t *kips, uint32_t knr, uint64_t khash,
		const uint64_t *uips, uint32_t unr, uint64_t uhash, uint64_t count,
		uint64_t leaf_ip, uint64_t leaf_ra)
{
	struct dp_stack_hdr h = {
		.pid = pid, .tid = tid, .flags = flags,
		.knr = (uint16_t)knr, .unr = (uint16_t)unr,
	};
	uint64_t fixed[DP_MAX_STACK];
	uint32_t n;

	/* Parts reach here clamped to DP_MAX_STACK by ingest: a longer one is a bug, not a stack. */
	if (knr > DP_MAX_STACK || unr > DP_MAX_STACK)
		return -E2BIG;
	if (leaf_ra && (n = dp_leaf__insert(uips, unr, leaf_ip, leaf_ra, fixed))) {
		uips = fixed;
		unr = n;
		h.unr = (uint16_t)n;
		uhash = 0;
		j->st.leaf_recovered += count;
	}
	if (!khash)
		khash = dp_stack__part_hash(kips, knr);
	if (!uhash)
		uhash = dp_stack__part_hash(uips, unr);
	return dp_stack_table__add_hashed(j->out, &h, kips, khash, uips, uhash, count);
}

/* A record's stack with leaf evidence: its user part read back and repaired (apart: a large frame). */
static __attribute__((noinline)) int emit_leaf(struct dp_join *j, uint32_t pid, uint32_t tid,
					       uint32_t flags, const uint64_t *kips, uint32_t knr,
					       uint64_t khash, const struct rec *r, uint64_t count)
{
	uint64_t uips[DP_PART_MAX];
	uint32_t unr = dp_stack_table__part(j->out, r->upart, uips);

	return emit(j, pid, tid, flags, kips, knr, khash, uips, unr, 0, count, r->leaf_ip,
		    r->leaf_ra);
}

/* A sample's kernel part with its record's user part (interned when the record came). */
static int emit_rec(struct dp_join *j, uint32_t pid, uint32_t tid, uint32_t flags,
		    const uint64_t *kips, uint32_t knr, uint64_t khash, const struct rec *r,
		    uint64_t count)
{
	struct dp_stack_hdr h = {
		.pid = pid, .tid = tid, .flags = flags | r->gen_flags,
		.knr = (uint16_t)knr, .unr = (uint16_t)r->unr,
	};

	if (knr > DP_MAX_STACK)
		return -E2BIG;	/* ingest clamps the parts: a bug, not a stack */
	if (r->leaf_ra)
		return emit_leaf(j, pid, tid, h.flags, kips, knr, khash, r, count);
	if (!khash)
		khash = dp_stack__part_hash(kips, knr);
	return dp_stack_table__add_upart(j->out, &h, kips, khash, r->upart, count);
}

/* Resolve a pending group: with its record, or as lost (r == NULL). */
static int resolve(struct dp_join *j, struct pending *p, struct rec *r,
		   uint64_t *lost_counter)
{
	struct part *q;
	int err = 0;

	if (r && !r->leaf_ra && p->leaf_ra) {	/* later samples of the entry need it too */
		r->leaf_ip = p->leaf_ip;
		r->leaf_ra = p->leaf_ra;
	}
	for (q = p->parts; q; q = q->next) {
		uint32_t flags = q->flags | (r ? 0 : DP_STK_USER_LOST);

		if (!err)
			err = r ? emit_rec(j, p->pid, p->key.tid, flags, q->kips, q->knr, q->khash, r,
					   q->count) :
				  emit(j, p->pid, p->key.tid, flags, q->kips, q->knr, q->khash,
				       NULL, 0, 0, q->count, 0, 0);
		if (r)
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
	if (dp_hash_failed())
		free(t);	/* only the "late record" count suffers */
}

/* Samples of (tid, cookie) whose record has not come: they wait, by kernel stack. */
static int add_pending(struct dp_join *j, const struct dp_join_sample *s, uint64_t now_ns)
{
	struct jkey key = mkkey(s->tid, s->cookie);
	struct pending *p;
	struct part *q;

	HASH_FIND(hh, j->pending, &key, sizeof(key), p);
	if (!p) {
		if (j->npending >= j->opts.max_pending && j->pending) {
			int err;

			add_tomb(j, j->pending->key, now_ns);
			err = resolve(j, j->pending, NULL, &j->st.lost_evicted);
			if (err)
				return err;
		}
		p = calloc(1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		p->key = key;
		p->pid = s->pid;
		p->since_ns = now_ns;
		HASH_ADD(hh, j->pending, key, sizeof(key), p);
		if (dp_hash_failed()) {
			free(p);
			return -ENOMEM;
		}
		j->npending++;
		if (j->npending > j->st.pending_peak)
			j->st.pending_peak = j->npending;
	}
	if (s->leaf_ra && !p->leaf_ra) {
		p->leaf_ip = s->leaf_ip;
		p->leaf_ra = s->leaf_ra;
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
	q->khash = s->khash;
	if (s->knr)
		memcpy(q->kips, s->kips, s->knr * sizeof(uint64_t));
	q->next = p->parts;
	p->parts = q;
	return 0;
}

int dp_join__add_sample(struct dp_join *j, const struct dp_join_sample *s, uint64_t now_ns)
{
	struct rec *r;

	j->st.samples_in += s->count;
	if (!s->cookie) {
		if (s->flags & DP_STK_NO_USER)
			j->st.kernel_only += s->count;
		else
			j->st.classic += s->count;
		return emit(j, s->pid, s->tid, s->flags, s->kips, s->knr, s->khash, s->uips,
			    s->unr, s->uhash, s->count, s->leaf_ip, s->leaf_ra);
	}
	r = find_rec(j, s->tid, s->cookie);
	if (r) {
		r->matched = 1;
		j->st.joined += s->count;
		if (s->leaf_ra && !r->leaf_ra) {
			r->leaf_ip = s->leaf_ip;
			r->leaf_ra = s->leaf_ra;
		}
		return emit_rec(j, s->pid, s->tid, s->flags, s->kips, s->knr, s->khash, r,
				s->count);
	}
	return add_pending(j, s, now_ns);
}

int dp_join__add_record(struct dp_join *j, uint32_t pid, uint32_t tid, uint64_t cookie,
			const uint64_t *uips, uint32_t unr)
{
	struct last_part *last;
	struct jkey key;
	struct pending *p;
	struct tomb *t;
	struct rec *r;
	uint32_t i;
	int err;

	j->st.records++;
	/* One probe: the record's slot if it came before, else where it goes. */
	if ((!j->slots || (j->used + 1) * 2 > j->mask + 1) && grow_index(j))
		return -ENOMEM;
	i = probe(j, tid, cookie);
	if (j->slots[i].ref) {
		j->st.records_duplicate++;
		return 0;
	}
	key = mkkey(tid, cookie);
	if (j->tombs) {
		HASH_FIND(hh, j->tombs, &key, sizeof(key), t);
		if (t) {
			j->st.records_late++;
			HASH_DEL(j->tombs, t);
			free(t);
			return 0;
		}
	}
	if (unr > DP_MAX_STACK)
		return -E2BIG;	/* ingest clamps the parts: a bug, not a stack */
	last = &j->last[(uint32_t)(tid * 0x9e3779b9U) >> (32 - LAST_PARTS_BITS)];
	if (last->tid != tid) {
		last->tid = tid;
		memset(&last->ref, 0, sizeof(last->ref));
	}
	err = dp_stack_table__intern(j->out, uips, unr, &last->ref);
	if (err)
		return err;
	r = keep_rec(j, i, tid, cookie, pid, unr, last->ref.id);
	if (!r)
		return -ENOMEM;
	if (!j->pending)
		return 0;
	HASH_FIND(hh, j->pending, &key, sizeof(key), p);
	if (!p)
		return 0;
	r->matched = 1;
	return resolve(j, p, r, NULL);
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
	if (dp_hash_failed())
		free(e);	/* its samples then go by the timeout */
}

int dp_join__end_round(struct dp_join *j, uint64_t now_ns)
{
	struct pending *p, *pt;
	struct tomb *t, *tt;
	struct exited *e, *et;
	int err = 0, e2;

	/* Records of round - 3 leave: their arena is the next round's. */
	retire_gen(j, &j->gens[(j->round + 1) % REC_GENS]);
	/*
	 * A task's exit is acted on one round after it was seen: its last
	 * record may sit in another CPU's buffer read before the exit was.
	 */
	HASH_ITER(hh, j->pending, p, pt) {
		HASH_FIND(hh, j->exited, &p->key.tid, sizeof(p->key.tid), e);
		if (e && e->round < j->round) {
			e2 = resolve(j, p, NULL, &j->st.lost_exited);
			err = err ? err : e2;
		} else if (now_ns - p->since_ns >= j->opts.timeout_ns && now_ns > p->since_ns) {
			add_tomb(j, p->key, now_ns);
			e2 = resolve(j, p, NULL, unmatched_reason(j, &j->st.lost_timeout));
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

int dp_join__rebase(struct dp_join *j, const struct dp_stack_table *old)
{
	uint64_t ips[DP_PART_MAX];

	memset(j->last, 0, sizeof(j->last));	/* their ids were old's */
	for (int gi = 0; gi < REC_GENS; gi++) {
		struct recgen *g = &j->gens[gi];

		for (size_t at = 0; at < g->len; at++) {
			struct rec *r = &g->arena[at];
			struct dp_part_ref ref = { 0 };
			uint32_t n;
			int err;

			if (!r->upart)
				continue;
			n = dp_stack_table__part(old, r->upart, ips);
			err = dp_stack_table__intern(j->out, ips, n, &ref);
			if (err)
				return err;
			r->upart = ref.id;
		}
	}
	return 0;
}

int dp_join__finish(struct dp_join *j)
{
	struct pending *p, *pt;
	int err = 0, e2;

	HASH_ITER(hh, j->pending, p, pt) {
		e2 = resolve(j, p, NULL, unmatched_reason(j, &j->st.lost_at_end));
		err = err ? err : e2;
	}
	for (int g = 0; g < REC_GENS; g++)
		retire_gen(j, &j->gens[g]);
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
