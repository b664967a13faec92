/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The leaf repair: the caller that frame-pointer unwinding skips when the
 * sampled function has not set up its frame (a frameless function such as
 * a libc syscall wrapper or a gcc leaf, a prologue before `mov %rsp,%rbp`,
 * an epilogue after `pop %rbp`). %rbp then still points at the caller's
 * caller's frame. The function's call-frame information (.eh_frame or
 * .debug_frame, through libdw) says where its return address is: when the
 * CFA is %rsp-based, at a known offset from the stack pointer, among the
 * words the BPF program read there (struct dp_leaf). That word is taken as
 * the caller only if it points just past a call instruction in a mapped
 * object. Both answers are cached per (object, address).
 *
 * Pure decisions (dp_leaf__ra_slot, dp_leaf__after_call) are apart from
 * the object access, so unit tests drive them with synthetic CFI.
 */
#ifndef DP_LEAFREPAIR_H
#define DP_LEAFREPAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include <elfutils/libdw.h>

struct dp_obj;
struct dp_leafrepair;

/* x86-64 DWARF register numbers. */
#define DP_DWARF_RSP	7
#define DP_DWARF_RA	16

/*
 * Where the return address is, from a frame's CFA rule (cfa, ncfa) and its
 * return-address rule (ra, nra), as libdw gives them: the index of the word
 * at SP (words[i] = *(SP + 8 i)) when the CFA is SP + offset and the return
 * address is saved at CFA + offset within nwords words; -1 otherwise (the
 * CFA is %rbp-based: the frame is set up; or a rule it does not know).
 */
int dp_leaf__ra_slot(const Dwarf_Op *cfa, size_t ncfa, const Dwarf_Op *ra, size_t nra,
		     unsigned int nwords);

/*
 * Whether the n bytes at b, which end where a return address points, end
 * with an x86-64 call instruction: call rel32, or an indirect call through
 * a register or memory (ff /2, any ModRM form, optional REX prefix).
 */
bool dp_leaf__after_call(const uint8_t *b, size_t n);

struct dp_leafrepair *dp_leafrepair__new(void);
void dp_leafrepair__free(struct dp_leafrepair *lr);

/* dp_leaf__ra_slot() for the function at file address vaddr of o, cached; -1 without CFI. */
int dp_leafrepair__slot(struct dp_leafrepair *lr, struct dp_obj *o, uint64_t vaddr,
			unsigned int nwords);
/*
 * For the leaf gate (deferprof.h): of the n bytes from file address vaddr
 * of o, those whose slot (as dp_leafrepair__slot() finds it, nwords) is
 * >= 0, and those .eh_frame has no frame for, are set in bits as bits
 * first + i (bit j: bits[j / 64] >> (j % 64)); other bits are left as they
 * are. Where a bit is not set, a capture has no use.
 */
void dp_leafrepair__mark(struct dp_obj *o, uint64_t vaddr, uint64_t n, unsigned int nwords,
			 __u64 *bits, uint64_t first);
/* Whether file address vaddr of o follows a call instruction (its bytes read from o), cached. */
bool dp_leafrepair__is_return(struct dp_leafrepair *lr, struct dp_obj *o, uint64_t vaddr);

#endif
