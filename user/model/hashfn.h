/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The hash of every uthash table, included before each source file (-include):
 * keys here are mostly arrays of 64-bit addresses (stacks of 10-130 words),
 * which uthash's byte-wise Jenkins hash reads one byte at a time. This one
 * mixes a word per step (about a quarter of the instructions for a stack)
 * and treats every table alike, so tables shared across files hash the same.
 */
#ifndef DP_HASHFN_H
#define DP_HASHFN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t dp_hash_bytes(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;

	for (; len >= 8; len -= 8, p += 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	if (len) {
		w = 0;
		memcpy(&w, p, len);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
	}
	h ^= h >> 29;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 32;
	return (uint32_t)h;
}

/*
 * A stack part (n addresses): (h ^ w) * K per word, a bijection of h, then
 * one final mix. Eight words a loop step and the rest through a switch (the
 * values are those of one word a step): about two and a half instructions a
 * word, and the join hashes every sample's kernel and user parts with it.
 */
#define DP_HASH_STEP(i)	(h = (h ^ w[i]) * 0xbf58476d1ce4e5b9ULL)
static inline uint64_t dp_hash_words(const uint64_t *w, size_t n, uint64_t seed)
{
	/* No arithmetic on w when n is 0: an empty part may come as NULL. */
	const uint64_t *end = n >= 8 ? w + (n & ~(size_t)7) : w;
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);

	for (; w != end; w += 8) {
		DP_HASH_STEP(0); DP_HASH_STEP(1); DP_HASH_STEP(2); DP_HASH_STEP(3);
		DP_HASH_STEP(4); DP_HASH_STEP(5); DP_HASH_STEP(6); DP_HASH_STEP(7);
	}
	switch (n & 7) {	/* the words left, in order */
	case 7: DP_HASH_STEP(0); w++; /* fall through */
	case 6: DP_HASH_STEP(0); w++; /* fall through */
	case 5: DP_HASH_STEP(0); w++; /* fall through */
	case 4: DP_HASH_STEP(0); w++; /* fall through */
	case 3: DP_HASH_STEP(0); w++; /* fall through */
	case 2: DP_HASH_STEP(0); w++; /* fall through */
	case 1: DP_HASH_STEP(0);
	}
	h ^= h >> 29;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 32;
	return h;
}
#undef DP_HASH_STEP

#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = dp_hash_bytes((keyptr), (size_t)(keylen)))

#endif
