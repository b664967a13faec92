// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "comms.h"
#include "dphash.h"

/* A name and the first address-space generation it was the thread's name in. */
struct comm_name {
	uint32_t gen_from;
	char comm[16];
};

struct comm_ent {
	UT_hash_handle hh;
	uint32_t tid, pid;
	uint32_t exited;	/* the epoch of its exit + 1, 0 while alive */
	uint32_t n;		/* names, oldest first; the last is the current one */
	struct comm_name *names;
};

struct dp_comms {
	struct comm_ent *head;
	uint32_t epoch;
	uint32_t (*generation)(void *ctx, uint32_t pid);
	void *generation_ctx;
};

struct dp_comms *dp_comms__new(void)
{
	return calloc(1, sizeof(struct dp_comms));
}

void dp_comms__set_generation(struct dp_comms *c, uint32_t (*fn)(void *ctx, uint32_t pid),
			      void *ctx)
{
	c->generation = fn;
	c->generation_ctx = ctx;
}

static void free_ent(struct comm_ent *e)
{
	free(e->names);
	free(e);
}

void dp_comms__free(struct dp_comms *c)
{
	struct comm_ent *e, *t;

	if (!c)
		return;
	HASH_ITER(hh, c->head, e, t) {
		HASH_DEL(c->head, e);
		free_ent(e);
	}
	free(c);
}

int dp_comms__set(struct dp_comms *c, uint32_t pid, uint32_t tid, const char *comm)
{
	uint32_t gen = c->generation ? c->generation(c->generation_ctx, pid) : 0;
	struct comm_name *last, *nn;
	struct comm_ent *e;

	HASH_FIND(hh, c->head, &tid, sizeof(tid), e);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->tid = tid;
		e->pid = pid;
		HASH_ADD(hh, c->head, tid, sizeof(tid), e);
		if (dp_hash_failed()) {
			free(e);
			return -ENOMEM;
		}
	}
	if (e->pid != pid)
		e->n = 0;	/* a tid reused by another process: its names start over */
	e->pid = pid;
	e->exited = 0;
	last = e->n ? &e->names[e->n - 1] : NULL;
	if (last && !strncmp(last->comm, comm, sizeof(last->comm) - 1))
		return 0;
	/*
	 * Within one generation the thread renamed itself: the last name wins.
	 * A new one (an exec) keeps the names before it for the samples before it.
	 */
	if (last && last->gen_from >= gen) {
		snprintf(last->comm, sizeof(last->comm), "%s", comm);
		return 0;
	}
	nn = realloc(e->names, (e->n + 1) * sizeof(*nn));
	if (!nn)
		return -ENOMEM;
	e->names = nn;
	e->names[e->n].gen_from = gen;
	snprintf(e->names[e->n].comm, sizeof(e->names[e->n].comm), "%s", comm);
	e->n++;
	return 0;
}

void dp_comms__exited(struct dp_comms *c, uint32_t tid)
{
	struct comm_ent *e;

	HASH_FIND(hh, c->head, &tid, sizeof(tid), e);
	if (e && !e->exited)
		e->exited = c->epoch + 1;
}

void dp_comms__next_epoch(struct dp_comms *c, bool forget)
{
	struct comm_ent *e, *t;

	c->epoch++;
	if (!forget)
		return;
	HASH_ITER(hh, c->head, e, t) {
		if (e->exited && e->exited + 2 <= c->epoch + 1) {
			HASH_DEL(c->head, e);
			free_ent(e);
		}
	}
}

/* tid's entry when it has a name, or NULL. */
static const struct comm_ent *named(const struct dp_comms *c, uint32_t tid)
{
	struct comm_ent *e = NULL;

	if (c)
		HASH_FIND(hh, c->head, &tid, sizeof(tid), e);
	return e && e->n ? e : NULL;
}

const char *dp_comms__get(const struct dp_comms *c, uint32_t tid)
{
	const struct comm_ent *e = named(c, tid);

	return e ? e->names[e->n - 1].comm : NULL;
}

const char *dp_comms__get_live(const struct dp_comms *c, uint32_t tid, uint32_t pid)
{
	const struct comm_ent *e = named(c, tid);

	return e && !e->exited && e->pid == pid ? e->names[e->n - 1].comm : NULL;
}

const char *dp_comms__get_at(const struct dp_comms *c, uint32_t tid, uint32_t gen)
{
	const struct comm_ent *e = named(c, tid);

	if (!e)
		return NULL;
	/* The name of its time; before the first one known, the first one. */
	for (uint32_t i = e->n; i-- > 1;)
		if (e->names[i].gen_from <= gen)
			return e->names[i].comm;
	return e->names[0].comm;
}
