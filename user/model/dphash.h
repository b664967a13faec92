/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * uthash, made to fail softly. By default uthash calls exit(-1) when it
 * cannot grow a table: out of memory, deferprof would end with no word and
 * no profile. Here the add is undone instead (the element is not in the
 * table) and dp_hash_failed() says so, for the caller to free the element
 * and return -ENOMEM like any other allocation. Every file includes this
 * instead of uthash.h.
 */
#ifndef DP_DPHASH_H
#define DP_DPHASH_H

#include <stdbool.h>

/* The flag of this file and thread: set by uthash, read by dp_hash_failed(). */
static inline bool *dp_hash_oom_flag(void)
{
	static __thread bool oom;

	return &oom;
}

#define HASH_NONFATAL_OOM 1
#define uthash_nonfatal_oom(obj) (*dp_hash_oom_flag() = true)
#include "uthash.h"

/* Whether the last HASH_ADD* ran out of memory (its element is not in the table); clears it. */
static inline bool dp_hash_failed(void)
{
	bool *f = dp_hash_oom_flag();
	bool was = *f;

	*f = false;
	return was;
}

#endif
