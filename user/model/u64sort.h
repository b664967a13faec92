/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Sorting 64-bit words (addresses, starts): qsort's comparison, and sort-unique in place. */
#ifndef DP_U64SORT_H
#define DP_U64SORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static inline int dp_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* a[0..n) sorted, each value once; returns how many are left. a may be NULL when n is 0. */
static inline size_t dp_sort_unique_u64(uint64_t *a, size_t n)
{
	size_t k = 0;

	if (!n)
		return 0;
	qsort(a, n, sizeof(*a), dp_cmp_u64);
	for (size_t i = 0; i < n; i++)
		if (!k || a[i] != a[k - 1])
			a[k++] = a[i];
	return k;
}

#endif
