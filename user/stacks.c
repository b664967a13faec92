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

int dp_stack_table__add(struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			const uint64_t *kips, const uint64_t *uips, uint64_t count)
{
	struct dp_stack_entry *e = build(hdr, kips, uips), *found = NULL;

	if (!e)
		return -ENOMEM;
	HASH_FIND(hh, t->head, &e->hdr, e->keylen, found);
	if (found) {
		found->count += count;
		free(e);
	} else {
		e->count = count;
		HASH_ADD_KEYPTR(hh, t->head, &e->hdr, e->keylen, e);
		t->entries++;
	}
	t->total += count;
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
