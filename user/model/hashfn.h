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
 * A stack part (n addresses): two words per step, (h ^ w) * K each, a
 * bijection of h per word, then one final mix. About three instructions a
 * word: the join hashes every deferred record's user stack once with it.
 */
static inline uint64_t dp_hash_words(const uint64_t *w, size_t n, uint64_t seed)
{
	uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ULL);
	size_t i = 0;

	for (; i + 2 <= n; i += 2) {
		h = (h ^ w[i]) * 0xbf58476d1ce4e5b9ULL;
		h = (h ^ w[i + 1]) * 0xbf58476d1ce4e5b9ULL;
	}
	if (i < n)
		h = (h ^ w[i]) * 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 29;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 32;
	return h;
}

#define HASH_FUNCTION(keyptr, keylen, hashv) ((hashv) = dp_hash_bytes((keyptr), (size_t)(keylen)))

#endif
