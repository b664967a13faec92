// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "comms.h"
#include "dphash.h"

struct comm_ent {
	UT_hash_handle hh;
	uint32_t tid, pid;
	uint32_t exited;	/* the epoch of its exit + 1, 0 while alive */
	char comm[16];
};

struct dp_comms {
	struct comm_ent *head;
	uint32_t epoch;
};

struct dp_comms *dp_comms__new(void)
{
	return calloc(1, sizeof(struct dp_comms));
}

void dp_comms__free(struct dp_comms *c)
{
	struct comm_ent *e, *t;

	if (!c)
		return;
	HASH_ITER(hh, c->head, e, t) {
		HASH_DEL(c->head, e);
		free(e);
	}
	free(c);
}

int dp_comms__set(struct dp_comms *c, uint32_t pid, uint32_t tid, const char *comm)
{
	struct comm_ent *e;

	HASH_FIND(hh, c->head, &tid, sizeof(tid), e);
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->tid = tid;
		HASH_ADD(hh, c->head, tid, sizeof(tid), e);
		if (dp_hash_failed()) {
			free(e);
			return -ENOMEM;
		}
	}
	e->pid = pid;
	e->exited = 0;
	snprintf(e->comm, sizeof(e->comm), "%s", comm);
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
			free(e);
		}
	}
}

const char *dp_comms__get(const struct dp_comms *c, uint32_t tid)
{
	struct comm_ent *e = NULL;

	if (c)
		HASH_FIND(hh, c->head, &tid, sizeof(tid), e);
	return e ? e->comm : NULL;
}
