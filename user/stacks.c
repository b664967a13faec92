// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "stacks.h"

/* The hashed key runs from hdr to the end of ips. */
#define KEY_OFF offsetof(struct dp_stack_entry, hdr)

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

struct dp_stack_entry *dp_stack_table__find(const struct dp_stack_table *t,
					    const struct dp_stack_hdr *hdr,
					    const uint64_t *kips, const uint64_t *uips)
{
	struct dp_stack_entry *probe = build(hdr, kips, uips), *found = NULL;

	if (!probe)
		return NULL;
	HASH_FIND(hh, t->head, &probe->hdr, probe->keylen, found);
	free(probe);
	return found;
}

/* Lay out hdr and ips as the hashed key is: into buf, which holds cap words. */
static size_t put_key(uint64_t *buf, const struct dp_stack_hdr *hdr, const uint64_t *kips,
		      const uint64_t *uips)
{
	memcpy(buf, hdr, sizeof(*hdr));
	if (hdr->knr)
		memcpy(buf + sizeof(*hdr) / 8, kips, hdr->knr * sizeof(uint64_t));
	if (hdr->unr)
		memcpy(buf + sizeof(*hdr) / 8 + hdr->knr, uips, hdr->unr * sizeof(uint64_t));
	return sizeof(*hdr) + ((size_t)hdr->knr + hdr->unr) * sizeof(uint64_t);
}

int dp_stack_table__add(struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			const uint64_t *kips, const uint64_t *uips, uint64_t count)
{
	/* Most stacks fit the key buffer on the stack: no allocation for known stacks. */
	uint64_t local[2 + 2 * 128], *key = local;
	struct dp_stack_entry *e, *found = NULL;
	size_t n = (size_t)hdr->knr + hdr->unr, keylen;

	_Static_assert(sizeof(struct dp_stack_hdr) == 16, "the key layout assumes a 16-byte header");
	if (n + 2 > sizeof(local) / sizeof(local[0])) {
		key = malloc((n + 2) * sizeof(uint64_t));
		if (!key)
			return -ENOMEM;
	}
	keylen = put_key(key, hdr, kips, uips);
	HASH_FIND(hh, t->head, key, keylen, found);
	if (key != local)
		free(key);
	if (found) {
		found->count += count;
	} else {
		e = build(hdr, kips, uips);
		if (!e)
			return -ENOMEM;
		e->count = count;
		HASH_ADD_KEYPTR(hh, t->head, &e->hdr, e->keylen, e);
		t->entries++;
	}
	t->total += count;
	return 0;
}

int dp_stack_table__delta(struct dp_stack_table *t, struct dp_stack_table *out)
{
	struct dp_stack_entry *e;
	int err;

	for (e = t->head; e; e = e->hh.next) {
		if (e->count == e->mark)
			continue;
		err = dp_stack_table__add(out, &e->hdr, e->ips, e->ips + e->hdr.knr,
					  e->count - e->mark);
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
		err = dp_stack_table__add(dst, &e->hdr, e->ips, e->ips + e->hdr.knr, e->count);
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
		HASH_FIND(hh, b->head, &e->hdr, e->keylen, f);
		if (!f || f->count != e->count) {
			if (log && diffs < max_log)
				log_diff(log, e, f ? f->count : 0, "the BPF join");
			diffs++;
		}
	}
	for (e = b->head; e; e = e->hh.next) {
		HASH_FIND(hh, a->head, &e->hdr, e->keylen, f);
		if (!f) {
			if (log && diffs < max_log)
				log_diff(log, e, 0, "the raw stitch");
			diffs++;
		}
	}
	return diffs;
}
