// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The stack table: entries of (header, kernel part id, user part id) with
 * their counts, in order of arrival, found again by an open-addressing
 * index; the parts themselves are interned once (parts.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "parts.h"
#include "stacks.h"
#include "u64sort.h"

#define RECENT 256	/* slots of the recent-entries cache (the hash's top 8 bits) */

void dp_stack_table__init(struct dp_stack_table *t)
{
	memset(t, 0, sizeof(*t));
}

void dp_stack_table__clear(struct dp_stack_table *t)
{
	dp_parts__free(t->parts);
	free(t->ents);
	free(t->marks);
	free(t->slots);
	free(t->recent);
	{
		uint32_t (*gen)(void *, uint32_t) = t->generation;
		void *ctx = t->generation_ctx;

		dp_stack_table__init(t);
		t->generation = gen;	/* the table is emptied, not its owner's settings */
		t->generation_ctx = ctx;
	}
}

/* Three words, one multiply each: this runs for every sample. */
static uint32_t ent_hash(const struct dp_stack_hdr *hdr, uint32_t kpart, uint32_t upart)
{
	uint64_t w[2], h;

	_Static_assert(sizeof(struct dp_stack_hdr) == 16, "the header is two words");
	_Static_assert(sizeof(struct dp_stack_entry) == 32, "two entries a cache line");
	memcpy(w, hdr, sizeof(*hdr));
	h = (w[0] ^ (((uint64_t)kpart << 32 | upart) * 0x9e3779b97f4a7c15ULL)) * 0xbf58476d1ce4e5b9ULL;
	h = (h ^ w[1]) * 0x94d049bb133111ebULL;
	return (uint32_t)(h >> 32);
}

static bool ent_equal(const struct dp_stack_entry *e, const struct dp_stack_hdr *hdr,
		      uint32_t kpart, uint32_t upart)
{
	uint64_t a[2], b[2];

	/* Two word compares: a memcmp() call costs more than the compare itself. */
	memcpy(a, &e->hdr, sizeof(a));
	memcpy(b, hdr, sizeof(b));
	return e->kpart == kpart && e->upart == upart && a[0] == b[0] && a[1] == b[1];
}

/* The slot of (hdr, parts): the entry's, or the free one where it would go. */
static uint32_t ent_slot(const struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			 uint32_t kpart, uint32_t upart)
{
	uint32_t mask = t->nslots - 1, i, e;

	for (i = ent_hash(hdr, kpart, upart) & mask; (e = t->slots[i]); i = (i + 1) & mask)
		if (ent_equal(&t->ents[e - 1], hdr, kpart, upart))
			break;
	return i;
}

static int ent_room(struct dp_stack_table *t)
{
	if (t->entries == t->capents) {
		uint32_t cap = t->capents ? t->capents * 2 : 256;
		struct dp_stack_entry *ne;

		if (cap <= t->capents)
			return -ENOMEM;
		if (t->marks) {
			uint64_t *nm = realloc(t->marks, cap * sizeof(*nm));

			if (!nm)
				return -ENOMEM;
			t->marks = nm;
		}
		ne = realloc(t->ents, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		t->ents = ne;
		t->capents = cap;
	}
	if ((t->entries + 1) * 4 > (uint64_t)t->nslots * 3) {
		uint32_t n = t->nslots ? t->nslots * 2 : 512;
		uint32_t *s = calloc(n, sizeof(*s));

		if (!s)
			return -ENOMEM;
		free(t->slots);
		t->slots = s;
		t->nslots = n;
		for (uint32_t i = 0; i < t->entries; i++) {
			const struct dp_stack_entry *e = &t->ents[i];

			s[ent_slot(t, &e->hdr, e->kpart, e->upart)] = i + 1;
		}
	}
	return 0;
}

/* The parts' store, made on first use; -EPERM once dp_stack_table__drop_index() ran. */
static int parts_ready(struct dp_stack_table *t)
{
	if (!t->parts && !(t->parts = dp_parts__new()))
		return -ENOMEM;
	return t->parts->memo ? 0 : -EPERM;
}

/* hdr with its process's address-space generation stamped (into *buf when it changes). */
static const struct dp_stack_hdr *stamp(const struct dp_stack_table *t,
					const struct dp_stack_hdr *hdr, struct dp_stack_hdr *buf)
{
	if (hdr->flags & DP_STK_GEN_SET) {
		*buf = *hdr;
		buf->flags &= ~(uint32_t)DP_STK_GEN_SET;
		return buf;
	}
	if (t->generation && hdr->unr) {
		*buf = *hdr;
		buf->flags = (buf->flags & ((1U << DP_STK_GEN_SHIFT) - 1)) |
			     dp_stk__gen_bits(t->generation(t->generation_ctx, hdr->pid));
		return buf;
	}
	return hdr;
}

/* The entry of (stamped hdr, parts) counted, added when new. */
static int add_parts(struct dp_stack_table *t, const struct dp_stack_hdr *hdr, uint32_t kpart,
		     uint32_t upart, uint64_t count)
{
	struct dp_stack_entry *e;
	uint32_t i, r;
	int err;

	/* The same few stacks come again and again: a look at the recent ones first. */
	r = (uint32_t)(((uint64_t)(kpart ^ hdr->tid) << 32 | upart) * 0x9e3779b97f4a7c15ULL >> 56);
	if (t->recent && t->recent[r] &&
	    ent_equal(&t->ents[t->recent[r] - 1], hdr, kpart, upart)) {
		e = &t->ents[t->recent[r] - 1];
		goto count;
	}
	if (t->nslots) {
		i = ent_slot(t, hdr, kpart, upart);
		if (t->slots[i]) {
			e = &t->ents[t->slots[i] - 1];
			goto remember;
		}
	}
	if ((err = ent_room(t)))
		return err;
	if (!t->recent && !(t->recent = calloc(RECENT, sizeof(*t->recent))))
		return -ENOMEM;
	i = ent_slot(t, hdr, kpart, upart);
	if (t->marks)
		t->marks[t->entries] = 0;
	e = &t->ents[t->entries++];
	t->slots[i] = (uint32_t)t->entries;
	e->hdr = *hdr;
	e->kpart = kpart;
	e->upart = upart;
	e->count = 0;
remember:
	t->recent[r] = (uint32_t)(e - t->ents) + 1;
count:
	e->count += count;
	t->total += count;
	return 0;
}

int dp_stack_table__add_hashed(struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			       const uint64_t *kips, uint64_t khash,
			       const uint64_t *uips, uint64_t uhash, uint64_t count)
{
	struct dp_stack_hdr buf;
	uint32_t kpart, upart;
	int err;

	hdr = stamp(t, hdr, &buf);
	if ((err = parts_ready(t)) ||
	    (err = dp_parts__intern(t->parts, kips, hdr->knr, khash, &kpart)) ||
	    (err = dp_parts__intern(t->parts, uips, hdr->unr, uhash, &upart)))
		return err;
	return add_parts(t, hdr, kpart, upart, count);
}

int dp_stack_table__add_upart(struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			      const uint64_t *kips, uint64_t khash, uint32_t upart, uint64_t count)
{
	struct dp_stack_hdr buf;
	uint32_t kpart;
	int err;

	hdr = stamp(t, hdr, &buf);
	if ((err = parts_ready(t)) ||
	    (err = dp_parts__intern(t->parts, kips, hdr->knr, khash, &kpart)))
		return err;
	return add_parts(t, hdr, kpart, upart, count);
}

int dp_stack_table__intern(struct dp_stack_table *t, const uint64_t *ips, uint32_t n,
			   struct dp_part_ref *ref)
{
	int err = parts_ready(t);

	if (err)
		return err;
	if (n > DP_PART_MAX)
		return -E2BIG;
	if (!n) {
		memset(ref, 0, sizeof(*ref));
		return 0;
	}
	return dp_parts__intern_ref(t->parts, ips, n, ref);
}

void dp_stack_table__drop_index(struct dp_stack_table *t)
{
	struct dp_parts *ps = t->parts;

	free(t->slots);
	free(t->marks);
	free(t->recent);
	t->slots = NULL;
	t->marks = NULL;
	t->recent = NULL;
	t->nslots = 0;
	if (ps)
		dp_parts__drop_index(ps);
}

int dp_stack_table__add(struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			const uint64_t *kips, const uint64_t *uips, uint64_t count)
{
	return dp_stack_table__add_hashed(t, hdr, kips, dp_stack__part_hash(kips, hdr->knr),
					  uips, dp_stack__part_hash(uips, hdr->unr), count);
}

uint32_t dp_stack_table__part(const struct dp_stack_table *t, uint32_t id, uint64_t *ips)
{
	return id && t->parts ? dp_parts__get(t->parts, id, ips) : 0;
}

int dp_stack_table__kernel_addrs(const struct dp_stack_table *t, uint64_t **out, size_t *n)
{
	const struct dp_parts *ps = t->parts;
	uint64_t *a = NULL;
	uint8_t *seen;
	size_t len = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if (!ps || !t->entries)
		return 0;
	/* Each tree node once: parts share their outer addresses. */
	seen = calloc(ps->nnodes / 8 + 1, 1);
	if (!seen)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->entries; i++) {
		for (uint32_t id = t->ents[i].kpart; id && !(seen[id / 8] & (1u << (id % 8)));
		     id = ps->nodes[id].parent) {
			seen[id / 8] |= (uint8_t)(1u << (id % 8));
			if (len == cap) {
				size_t nc = cap ? cap * 2 : 1024;
				uint64_t *na = realloc(a, nc * sizeof(*na));

				if (!na) {
					free(a);
					free(seen);
					return -ENOMEM;
				}
				a = na;
				cap = nc;
			}
			a[len++] = ps->nodes[id].addr;
		}
	}
	free(seen);
	*out = a;
	*n = dp_sort_unique_u64(a, len);
	return 0;
}

uint32_t dp_stack_table__nparts(const struct dp_stack_table *t)
{
	return t->parts ? t->parts->nparts : 0;
}

uint32_t dp_stack_table__nnodes(const struct dp_stack_table *t)
{
	return t->parts ? t->parts->nnodes - 1 : 0;
}

/* An entry of one table into another: its parts are laid out flat again. */
static int add_entry(struct dp_stack_table *t, const struct dp_stack_table *from,
		     const struct dp_stack_entry *e, uint64_t count)
{
	uint64_t k[DP_PART_MAX], u[DP_PART_MAX];

	dp_stack_table__part(from, e->kpart, k);
	dp_stack_table__part(from, e->upart, u);
	return dp_stack_table__add(t, &e->hdr, k, u, count);
}

int dp_stack_table__delta(struct dp_stack_table *t, struct dp_stack_table *out)
{
	int err;

	if (!t->marks && !(t->marks = calloc(t->capents ? t->capents : 1, sizeof(*t->marks))))
		return -ENOMEM;
	for (uint32_t i = 0; i < t->entries; i++) {
		struct dp_stack_entry *e = &t->ents[i];

		if (e->count == t->marks[i])
			continue;
		err = add_entry(out, t, e, e->count - t->marks[i]);
		if (err)
			return err;
		t->marks[i] = e->count;
	}
	return 0;
}

int dp_stack_table__merge(struct dp_stack_table *dst, const struct dp_stack_table *src)
{
	int err;

	for (uint32_t i = 0; i < src->entries; i++) {
		err = add_entry(dst, src, &src->ents[i], src->ents[i].count);
		if (err)
			return err;
	}
	return 0;
}

struct dp_stack_entry *dp_stack_table__find(const struct dp_stack_table *t,
					    const struct dp_stack_hdr *hdr,
					    const uint64_t *kips, const uint64_t *uips)
{
	uint32_t kpart = 0, upart = 0, i;

	if (!t->nslots || !t->parts->memo)
		return NULL;
	if (hdr->knr && !(kpart = dp_parts__find(t->parts, kips, hdr->knr,
					    dp_stack__part_hash(kips, hdr->knr))))
		return NULL;
	if (hdr->unr && !(upart = dp_parts__find(t->parts, uips, hdr->unr,
					    dp_stack__part_hash(uips, hdr->unr))))
		return NULL;
	i = ent_slot(t, hdr, kpart, upart);
	return t->slots[i] ? &t->ents[t->slots[i] - 1] : NULL;
}

/* The entry of b with a's entry e's stack, or NULL. */
static const struct dp_stack_entry *find_other(const struct dp_stack_table *a,
					       const struct dp_stack_entry *e,
					       const struct dp_stack_table *b)
{
	uint64_t k[DP_PART_MAX], u[DP_PART_MAX];

	dp_stack_table__part(a, e->kpart, k);
	dp_stack_table__part(a, e->upart, u);
	return dp_stack_table__find(b, &e->hdr, k, u);
}

/* -v: one differing stack, its user part's addresses innermost first. */
static void log_diff(FILE *log, const struct dp_stack_table *t, const struct dp_stack_entry *e,
		     uint64_t other, const char *side)
{
	uint64_t ips[DP_PART_MAX];
	uint32_t n = e->upart ? dp_stack_table__part(t, e->upart, ips) : 0;

	fprintf(log, "verify: tid %u flags 0x%x k%u u%u: %llu in %s, %llu in the other; user",
		e->hdr.tid, e->hdr.flags, e->hdr.knr, e->hdr.unr, (unsigned long long)e->count,
		side, (unsigned long long)other);
	for (uint32_t i = 0; i < n && i < 8; i++)
		fprintf(log, " %llx", (unsigned long long)ips[i]);
	fprintf(log, "%s\n", n > 8 ? " ..." : "");
}

uint64_t dp_stack_table__diff(const struct dp_stack_table *a, const struct dp_stack_table *b,
			      FILE *log, unsigned int max_log)
{
	const struct dp_stack_entry *e, *f;
	uint64_t diffs = 0;

	for (uint32_t i = 0; i < a->entries; i++) {
		e = &a->ents[i];
		f = find_other(a, e, b);
		if (!f || f->count != e->count) {
			if (log && diffs < max_log)
				log_diff(log, a, e, f ? f->count : 0, "the BPF join");
			diffs++;
		}
	}
	for (uint32_t i = 0; i < b->entries; i++) {
		e = &b->ents[i];
		if (!find_other(b, e, a)) {
			if (log && diffs < max_log)
				log_diff(log, b, e, 0, "the raw stitch");
			diffs++;
		}
	}
	return diffs;
}
