// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ring.h"

int dp_ring__init(struct dp_ring *r, void *mmap_base, uint64_t data_size)
{
	if (!mmap_base || !data_size || (data_size & (data_size - 1)))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->meta = mmap_base;
	/* data_offset is 0 on kernels older than 4.1: the data follows one page. */
	r->data = (uint8_t *)mmap_base + (r->meta->data_offset ? r->meta->data_offset : 4096);
	r->size = data_size;
	r->bounce = malloc(65536);	/* header.size is a u16: no record is larger */
	return r->bounce ? 0 : -ENOMEM;
}

void dp_ring__fini(struct dp_ring *r)
{
	free(r->bounce);
	r->bounce = NULL;
}

uint64_t dp_ring__pending(const struct dp_ring *r)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);

	return head - r->meta->data_tail;
}

int dp_ring__consume(struct dp_ring *r, dp_ring_fn fn, void *ctx)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;
	int err = 0;

	/*
	 * The kernel never writes more than a buffer ahead of the tail: a
	 * farther head is a page that cannot be trusted. Nothing is read from
	 * it (a loop over 2^63 bytes would never end): skipped, and counted.
	 */
	if (head - tail > r->size) {
		r->malformed++;
		tail = head;
	}
	while (tail < head) {
		uint64_t off = tail & (r->size - 1);
		struct perf_event_header hdr;
		const void *rec;
		uint64_t first;

		if (head - tail < sizeof(hdr))
			break;
		first = r->size - off;
		if (first >= sizeof(hdr)) {
			memcpy(&hdr, r->data + off, sizeof(hdr));
		} else {
			memcpy(&hdr, r->data + off, first);
			memcpy((uint8_t *)&hdr + first, r->data, sizeof(hdr) - first);
		}
		if (hdr.size < sizeof(hdr) || hdr.size > r->size) {
			/* Not a record the kernel could write: skip what is there. */
			r->malformed++;
			tail = head;
			break;
		}
		if (hdr.size > head - tail)
			break;	/* not complete yet */
		if (first >= hdr.size) {
			rec = r->data + off;
		} else {
			memcpy(r->bounce, r->data + off, first);
			memcpy(r->bounce + first, r->data, hdr.size - first);
			rec = r->bounce;
		}
		err = fn(rec, hdr.size, ctx);
		tail += hdr.size;
		if (err)
			break;
	}
	__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
	return err;
}
