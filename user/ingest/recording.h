/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A recording of what a session fed its join (--record FILE), so that the
 * user-space path can be replayed from a file and measured (make bench):
 * ring records as they were read, drained samples with their stacks, and
 * the ends of rounds. Little-endian host layout; not a stable format.
 *
 * File: "DPREC003", then entries of { u32 type, u32 len, payload[len] }.
 * A reader refuses other versions (DP_REC_MAGIC_PREFIX names them).
 */
#ifndef DP_RECORDING_H
#define DP_RECORDING_H

#include <stdint.h>
#include <stdio.h>

#define DP_REC_MAGIC "DPREC003"	/* 003: samples carry the leaf repair's struct dp_leaf */
#define DP_REC_MAGIC_PREFIX "DPREC"

enum dp_rec_type {
	DP_REC_RING = 1,	/* payload: one perf record, as read from the ring */
	DP_REC_SAMPLE = 2,	/* payload: struct dp_rec_sample, knr + unr ips, a struct dp_leaf if leaf */
	DP_REC_ROUND = 3,	/* payload: u64 monotonic ns */
};

struct dp_rec_sample {
	uint32_t pid, tid;
	uint64_t cookie;
	uint32_t flags;
	uint32_t knr, unr;
	uint32_t leaf;		/* 1: the program's struct dp_leaf follows the ips */
	uint64_t count;
};

static inline int dp_rec__put(FILE *f, uint32_t type, const void *a, uint32_t alen,
			      const void *b, uint32_t blen, const void *c, uint32_t clen)
{
	uint32_t h[2] = { type, alen + blen + clen };

	if (fwrite(h, sizeof(h), 1, f) != 1 || (alen && fwrite(a, alen, 1, f) != 1) ||
	    (blen && fwrite(b, blen, 1, f) != 1) || (clen && fwrite(c, clen, 1, f) != 1))
		return -1;
	return 0;
}

#endif
