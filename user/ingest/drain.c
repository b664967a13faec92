// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include "dispatch.h"
#include "drain.h"
#include "samplelog.h"

int dp_keybuf__reserve(struct dp_keybuf *kb, size_t room)
{
	size_t need = kb->n + room, cap = kb->cap ? kb->cap : 1024;
	struct dp_sample_key *nk;
	struct dp_sample_val *nv;

	if (need <= kb->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	nk = realloc(kb->keys, cap * sizeof(*nk));
	if (!nk)
		return -ENOMEM;
	kb->keys = nk;
	nv = realloc(kb->vals, cap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	kb->vals = nv;
	kb->cap = cap;
	return 0;
}

void dp_keybuf__free(struct dp_keybuf *kb)
{
	free(kb->keys);
	free(kb->vals);
	kb->keys = NULL;
	kb->vals = NULL;
	kb->n = kb->cap = 0;
}

int dp_drain__counts(struct dp_drain *d, struct dp_ingest *in, uint64_t now)
{
	__u32 idle = (__atomic_load_n(d->active, __ATOMIC_ACQUIRE) & 1) ^ 1;
	int err;

	/* The program counts the entries it adds: an empty map is not walked. */
	if (!__atomic_load_n(&d->filled[idle], __ATOMIC_ACQUIRE)) {
		__atomic_store_n(d->active, idle, __ATOMIC_RELEASE);
		dp_ingest__counts_flipped(in, now);
		return 0;
	}
	d->kb.n = 0;
	err = d->take(d->take_ctx, idle, &d->kb);
	if (err)
		return err;
	d->drains++;
	/* Empty again; nothing writes it until the flip below. */
	__atomic_store_n(&d->filled[idle], 0, __ATOMIC_RELEASE);
	__atomic_store_n(&d->woken[idle], 0, __ATOMIC_RELEASE);
	for (size_t i = 0; i < d->kb.n && !err; i++)
		err = dp_ingest__entry(in, &d->kb.keys[i], d->kb.vals[i].count, now);
	/* New samples go to the map just emptied. */
	__atomic_store_n(d->active, idle, __ATOMIC_RELEASE);
	dp_ingest__counts_flipped(in, now);
	return err;
}

struct log_feed {
	struct dp_ingest *in;
	uint64_t now;		/* the round's time */
};

static int log_sample(const struct dp_join_sample *js, void *ctx)
{
	const struct log_feed *f = ctx;

	return dp_ingest__sample(f->in, js, f->now);
}

int dp_drain__logs(struct dp_drain *d, struct dp_ingest *in, uint64_t now)
{
	struct dp_samplelog_stats st = { 0 };
	struct log_feed feed = { .in = in, .now = now };
	int err = 0;

	for (uint32_t c = 0; c < d->nlogs && !err; c++) {
		struct dp_log *l = &d->logs[c];
		uint64_t head = __atomic_load_n(&l->head, __ATOMIC_ACQUIRE), t;

		t = dp_samplelog__read(l, l->tail, head, d->kernel_only, &st, log_sample, &feed,
				       &err);
		/*
		 * The space is the program's again; so are the half-full word and
		 * the learning count (the program's ++ may race this store: a lost
		 * clear only re-arms its wake-up a round later).
		 */
		__atomic_store_n(&l->tail, t, __ATOMIC_RELEASE);
		__atomic_store_n(&l->woken, 0, __ATOMIC_RELEASE);
		__atomic_store_n(&l->unlearned, 0, __ATOMIC_RELAXED);
	}
	d->log_entries += st.entries;
	d->log_bytes += st.bytes;
	dp_ingest__malformed(in, st.malformed);
	return err;
}

bool dp_drain__has_samples(const struct dp_drain *d)
{
	if (__atomic_load_n(&d->filled[0], __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&d->filled[1], __ATOMIC_ACQUIRE))
		return true;
	for (uint32_t c = 0; c < d->nlogs; c++)
		if (__atomic_load_n(&d->logs[c].head, __ATOMIC_ACQUIRE) != d->logs[c].tail)
			return true;
	return false;
}

void dp_drain__free(struct dp_drain *d)
{
	dp_keybuf__free(&d->kb);
}
