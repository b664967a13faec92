/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Functions of an object without a symbol table, delimited by its unwind
 * tables: every FDE covers one function, and .eh_frame_hdr (PT_GNU_EH_FRAME),
 * which every linker writes for the runtime unwinder, lists their starts
 * sorted. libdw answers "which FDE covers this address" (dwarf_cfi_addrframe)
 * but not where that FDE starts; the header's table does.
 */
#ifndef DP_CFIFUNCS_H
#define DP_CFIFUNCS_H

#include <stddef.h>
#include <stdint.h>
#include <gelf.h>

struct dp_cfifuncs {
	uint64_t *starts;	/* file vaddrs, sorted */
	size_t n;
};

/*
 * The table of the header bytes hdr (size bytes, at file vaddr hdr_vaddr).
 * 0; -ENOENT when the header is not one this reads (only the encoding every
 * linker uses, datarel sdata4, is); -ENOMEM.
 */
int dp_cfifuncs__parse(struct dp_cfifuncs *f, const uint8_t *hdr, size_t size, uint64_t hdr_vaddr);
/* The same, from elf's PT_GNU_EH_FRAME segment. */
int dp_cfifuncs__load(struct dp_cfifuncs *f, Elf *elf);
/* The largest start <= vaddr: 0, or -ENOENT when there is none. */
int dp_cfifuncs__find(const struct dp_cfifuncs *f, uint64_t vaddr, uint64_t *start);
/* The smallest start > vaddr: 0, or -ENOENT when there is none. */
int dp_cfifuncs__next(const struct dp_cfifuncs *f, uint64_t vaddr, uint64_t *next);
void dp_cfifuncs__free(struct dp_cfifuncs *f);

#endif
