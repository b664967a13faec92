/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Reader of one perf ring buffer. It knows the buffer's protocol (head,
 * tail, wrap-around) and nothing of what the records mean. It works on any
 * memory laid out like a perf mmap, so tests drive it with plain buffers.
 */
#ifndef DP_RING_H
#define DP_RING_H

#include <stddef.h>
#include <stdint.h>
#include <linux/perf_event.h>

struct dp_ring {
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	uint64_t size;		/* data area size, a power of two */
	uint8_t *bounce;	/* holds a record split at the end of the buffer */
	uint64_t malformed;	/* records with an impossible header: buffer resynced */
};

/* Called for each record; a non-zero return stops consumption and is returned. */
typedef int (*dp_ring_fn)(const void *rec, size_t len, void *ctx);

int dp_ring__init(struct dp_ring *r, void *mmap_base, uint64_t data_size);
void dp_ring__fini(struct dp_ring *r);
/* Bytes written by the kernel and not yet consumed. */
uint64_t dp_ring__pending(const struct dp_ring *r);
/* Hand every complete record to fn, in order, then release their space. */
int dp_ring__consume(struct dp_ring *r, dp_ring_fn fn, void *ctx);

#endif
