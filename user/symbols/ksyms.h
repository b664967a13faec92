/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel symbols from a kallsyms-format file (/proc/kallsyms, modules
 * included). Lines are read whole: a name may be as long as the kernel's
 * KSYM_NAME_LEN (512) and a module name is appended after it.
 */
#ifndef DP_KSYMS_H
#define DP_KSYMS_H

#include <stdint.h>
#include "symbolizer.h"	/* struct dp_ksym */

struct dp_ksyms;

/* Load a kallsyms file. Returns NULL and sets errno on failure. */
struct dp_ksyms *dp_ksyms__load(const char *path);
/*
 * Only the symbols that name addrs[0..n) (sorted): the file is read twice,
 * once for every symbol's address, once for the names of those chosen. The
 * lookups of those addresses answer as with every symbol loaded; a
 * report's needs (a few thousand of 120,000 symbols) take kilobytes, not
 * the 6 MiB of the whole table.
 */
struct dp_ksyms *dp_ksyms__load_for(const char *path, const uint64_t *addrs, size_t n);
void dp_ksyms__free(struct dp_ksyms *ks);
/* The function containing addr, or NULL. */
const struct dp_ksym *dp_ksyms__find(const struct dp_ksyms *ks, uint64_t addr);
/* Number of symbols, and whether all addresses were zero (kptr_restrict). */
uint64_t dp_ksyms__count(const struct dp_ksyms *ks);
int dp_ksyms__hidden(const struct dp_ksyms *ks);

#endif
