/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * PLT stubs named as perf names them, SYMBOL@plt: no symbol covers a stub,
 * but the n-th stub jumps through the n-th slot .rela.plt relocates, whose
 * symbol is the function called. x86-64's layouts: .plt (a 16-byte header,
 * then one 16-byte stub per slot) and, with IBT, .plt.sec (one 16-byte stub
 * per slot, no header) beside it.
 */
#ifndef DP_PLT_H
#define DP_PLT_H

#include <stddef.h>
#include <stdint.h>
#include <gelf.h>

struct dp_plt_range {
	uint64_t start, end;	/* file vaddrs of the stubs (the header excluded) */
};

struct dp_plt {
	struct dp_plt_range ranges[2];	/* .plt's stubs, .plt.sec's */
	int nranges;
	char **names;		/* "SYMBOL@plt", by slot */
	size_t n;
};

/* The stubs of elf: 0 (none is fine: n is 0), or -ENOMEM. */
int dp_plt__load(struct dp_plt *p, Elf *elf);
/* The stub at vaddr: its name and vaddr - its start, or NULL. */
const char *dp_plt__find(const struct dp_plt *p, uint64_t vaddr, uint64_t *offset);
void dp_plt__free(struct dp_plt *p);

#endif
