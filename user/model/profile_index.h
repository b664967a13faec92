/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The profile's lookup tables while it grows, shared by profile.c (threads,
 * the frame tree, stacks) and frames.c (addresses into frames through the
 * symbolizer). Private to model/.
 */
#ifndef DP_PROFILE_INDEX_H
#define DP_PROFILE_INDEX_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include "profile.h"
#include "dphash.h"

struct dp_symbolizer;

/* Lookup tables used while building. */
#define MAX_INLINE 7

struct addr_ent {	/* (space, addr) -> frames (an inlined chain: outer first) */
	UT_hash_handle hh;
	struct { uint64_t space; uint64_t kernel; uint64_t addr; } key;	/* space: dp_space() */
	uint32_t nfr;
	uint32_t fr[MAX_INLINE + 1];
};

struct name_ent {	/* frame identity -> frame */
	UT_hash_handle hh;
	char *key;
	uint32_t frame;
};

/* A thread is a tid under one name: an exec's samples before and after are apart. */
struct thr_key {
	uint32_t tid;
	char comm[16];	/* zero-padded: the key's bytes compare */
};

struct thr_ent {
	UT_hash_handle hh;
	struct thr_key key;
	uint32_t idx;
};

struct obj_ent {
	UT_hash_handle hh;
	char *module;
	uint32_t idx;
};

/*
 * Open-addressing indexes of the frame tree's nodes by (parent, frame) and
 * of stacks by (thread, node): 0 is a free slot, else node or stack + 1.
 */
struct index {
	struct addr_ent *addrs;
	struct name_ent *names;
	struct thr_ent *thrs;
	struct obj_ent *objs;
	uint32_t *kids, nkids;
	uint32_t *stks, nstks;
};

static inline int dp_profile__grow(void **arr, uint32_t *cap, uint32_t n, size_t elem)
{
	void *na;
	uint32_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : 256;
	na = realloc(*arr, (size_t)nc * elem);
	if (!na)
		return -ENOMEM;
	*arr = na;
	*cap = nc;
	return 0;
}

/* What identifies and describes a frame. */
struct frame_desc {
	const char *name;
	const char *module;
	uint64_t addr;
	bool kernel, marker, inlined;
	const uint8_t *build_id;
	int build_id_len;
	const char *build_id_hex;	/* instead of the bytes: a frame of another profile */
	const char *src_file;
	int src_line;
};

/* The frame described by d, added when new; its index in *idx. */
int dp_frames__intern(struct dp_profile *p, const struct frame_desc *d, uint32_t *idx);
/* A [marker] frame ("[user stack lost]" ...). */
int dp_frames__marker(struct dp_profile *p, const char *name, bool kernel, uint32_t *idx);
/*
 * The frames of one address (an inlined chain with want_inline), outermost
 * first, appended at out[*n]; leaf: the address is the stack's innermost.
 */
int dp_frames__for(struct dp_profile *p, const struct dp_symbolizer *sz, uint64_t space,
		   uint64_t ip, bool kernel, bool leaf, const struct dp_profile_opts *opts,
		   uint32_t *out, uint32_t *n);
/* Objects where user stacks stop early and that lack frame pointers (the report's note). */
int dp_frames__note_outermost(struct dp_profile *p, const struct dp_symbolizer *sz,
			      uint64_t space, uint64_t ip, const char *name, uint64_t count);

#endif
