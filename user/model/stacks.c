// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "stacks.h"

void dp_stack_table__init(struct dp_stack_table *t)
{
	memset(t, 0, sizeof(*t));
}

void dp_stack_table__clear(struct dp_stack_table *t)
{
	struct dp_stack_entry *e, *tmp;

	HASH_ITER(hh, t->head, e, tmp) {
		HASH_DEL(t->head, e);
		free(e);
	}
	dp_stack_table__init(t);
}

static struct dp_stack_entry *build(const struct dp_stack_hdr *hdr, const uint64_t *kips,
				    const uint64_t *uips)
{
	size_t n = (size_t)hdr->knr + hdr->unr;
	struct dp_stack_entry *e = malloc(sizeof(*e) + n * sizeof(uint64_t));

	if (!e)
		return NULL;
	memset(e, 0, sizeof(*e));
	e->hdr = *hdr;
	if (hdr->knr)
		memcpy(e->ips, kips, hdr->knr * sizeof(uint64_t));
	if (hdr->unr)
		memcpy(e->ips + hdr->knr, uips, hdr->unr * sizeof(uint64_t));
	e->keylen = sizeof(e->hdr) + n * sizeof(uint64_t);
	return e;
}

/*
 * A table's hash of a stack: the header's words and the two part hashes.
 * Entries are found by it and then compared part by part, so no key is
 * ever laid out in one piece to be hashed or compared.
 */
static uint32_t stack_hv(const struct dp_stack_hdr *hdr, uint64_t khash, uint64_t uhash)
{
	uint64_t w[4];

	_Static_assert(sizeof(struct dp_stack_hdr) == 16, "the header is two words");
	memcpy(w, hdr, sizeof(*hdr));
	w[2] = khash;
	w[3] = uhash;
	return (uint32_t)dp_hash_words(w, 4, 0);
}

static uint32_t entry_hv(const struct dp_stack_hdr *hdr, const uint64_t *kips,
			 const uint64_t *uips)
{
	return stack_hv(hdr, dp_stack__part_hash(kips, hdr->knr),
			dp_stack__part_hash(uips, hdr->unr));
}

static bool same_stack(const struct dp_stack_entry *e, const struct dp_stack_hdr *hdr,
		       const uint64_t *kips, const uint64_t *uips)
{
	return !memcmp(&e->hdr, hdr, sizeof(*hdr)) &&
	       (!hdr->knr || !memcmp(e->ips, kips, hdr->knr * sizeof(uint64_t))) &&
	       (!hdr->unr || !memcmp(e->ips + hdr->knr, uips, hdr->unr * sizeof(uint64_t)));
}

/* uthash's own bucket walk, with our hash and a part-wise compare. */
static struct dp_stack_entry *lookup(const struct dp_stack_table *t, uint32_t hv,
				     const struct dp_stack_hdr *hdr, const uint64_t *kips,
				     const uint64_t *uips)
{
	const UT_hash_table *tbl;
	const UT_hash_handle *h;
	unsigned int bkt;

	if (!t->head)
		return NULL;
	tbl = t->head->hh.tbl;
	HASH_TO_BKT(hv, tbl->num_buckets, bkt);
	for (h = tbl->buckets[bkt].hh_head; h; h = h->hh_next) {
		struct dp_stack_entry *e = ELMT_FROM_HH(tbl, h);

		if (h->hashv == hv && same_stack(e, hdr, kips, uips))
			return e;
	}
	return NULL;
}

struct dp_stack_entry *dp_stack_table__find(const struct dp_stack_table *t,
					    const struct dp_stack_hdr *hdr,
					    const uint64_t *kips, const uint64_t *uips)
{
	return lookup(t, entry_hv(hdr, kips, uips), hdr, kips, uips);
}

static int add_hv(struct dp_stack_table *t, uint32_t hv, const struct dp_stack_hdr *hdr,
		  const uint64_t *kips, const uint64_t *uips, uint64_t count)
{
	struct dp_stack_entry *e = lookup(t, hv, hdr, kips, uips);

	if (!e) {
		e = build(hdr, kips, uips);
		if (!e)
			return -ENOMEM;
		HASH_ADD_KEYPTR_BYHASHVALUE(hh, t->head, &e->hdr, e->keylen, hv, e);
		t->entries++;
	}
	e->count += count;
	t->total += count;
	return 0;
}

int dp_stack_table__add_hashed(struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			       const uint64_t *kips, uint64_t khash,
			       const uint64_t *uips, uint64_t uhash, uint64_t count)
{
	return add_hv(t, stack_hv(hdr, khash, uhash), hdr, kips, uips, count);
}

int dp_stack_table__add(struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			const uint64_t *kips, const uint64_t *uips, uint64_t count)
{
	return add_hv(t, entry_hv(hdr, kips, uips), hdr, kips, uips, count);
}

/* An entry of one table into another: its hash is already known. */
static int add_entry(struct dp_stack_table *t, const struct dp_stack_entry *e, uint64_t count)
{
	return add_hv(t, e->hh.hashv, &e->hdr, e->ips, e->ips + e->hdr.knr, count);
}

int dp_stack_table__delta(struct dp_stack_table *t, struct dp_stack_table *out)
{
	struct dp_stack_entry *e;
	int err;

	for (e = t->head; e; e = e->hh.next) {
		if (e->count == e->mark)
			continue;
		err = add_entry(out, e, e->count - e->mark);
		if (err)
			return err;
		e->mark = e->count;
	}
	return 0;
}

int dp_stack_table__merge(struct dp_stack_table *dst, const struct dp_stack_table *src)
{
	const struct dp_stack_entry *e;
	int err;

	for (e = src->head; e; e = e->hh.next) {
		err = add_entry(dst, e, e->count);
		if (err)
			return err;
	}
	return 0;
}

static void log_diff(FILE *log, const struct dp_stack_entry *e, uint64_t other, const char *side)
{
	fprintf(log, "verify: tid %u flags 0x%x k%u u%u: %llu in %s, %llu in the other\n",
		e->hdr.tid, e->hdr.flags, e->hdr.knr, e->hdr.unr, (unsigned long long)e->count,
		side, (unsigned long long)other);
}

uint64_t dp_stack_table__diff(const struct dp_stack_table *a, const struct dp_stack_table *b,
			      FILE *log, unsigned int max_log)
{
	const struct dp_stack_entry *e, *f;
	uint64_t diffs = 0;

	for (e = a->head; e; e = e->hh.next) {
		f = lookup(b, e->hh.hashv, &e->hdr, e->ips, e->ips + e->hdr.knr);
		if (!f || f->count != e->count) {
			if (log && diffs < max_log)
				log_diff(log, e, f ? f->count : 0, "the BPF join");
			diffs++;
		}
	}
	for (e = b->head; e; e = e->hh.next) {
		f = lookup(a, e->hh.hashv, &e->hdr, e->ips, e->ips + e->hdr.knr);
		if (!f) {
			if (log && diffs < max_log)
				log_diff(log, e, 0, "the raw stitch");
			diffs++;
		}
	}
	return diffs;
}
