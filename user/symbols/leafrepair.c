// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elfutils/libdwfl.h>
#include "leafrepair.h"
#include "objects.h"
#include "dphash.h"

/* The longest call instruction dp_leaf__after_call() knows: ff /2 with SIB and disp32. */
#define CALL_MAX_BYTES 7

/* A CFA rule SP + offset: the offset, or false for any other rule. */
static bool cfa_sp_offset(const Dwarf_Op *cfa, size_t ncfa, int64_t *off)
{
	if (ncfa != 1)
		return false;
	if (cfa[0].atom == DW_OP_bregx && cfa[0].number == DP_DWARF_RSP) {
		*off = (int64_t)cfa[0].number2;
		return true;
	}
	if (cfa[0].atom == DW_OP_breg0 + DP_DWARF_RSP) {
		*off = (int64_t)cfa[0].number;
		return true;
	}
	return false;
}

/* A register saved at CFA + offset (a memory location): the offset, or false. */
static bool saved_at_cfa(const Dwarf_Op *ra, size_t nra, int64_t *off)
{
	if (!nra || ra[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (nra == 1) {
		*off = 0;
		return true;
	}
	if (nra == 2 && ra[1].atom == DW_OP_plus_uconst) {
		*off = (int64_t)ra[1].number;
		return true;
	}
	if (nra == 3 && (ra[1].atom == DW_OP_consts || ra[1].atom == DW_OP_constu) &&
	    ra[2].atom == DW_OP_plus) {
		*off = (int64_t)ra[1].number;
		return true;
	}
	return false;	/* a value rule (DW_OP_stack_value) or an expression */
}

int dp_leaf__ra_slot(const Dwarf_Op *cfa, size_t ncfa, const Dwarf_Op *ra, size_t nra,
		     unsigned int nwords)
{
	int64_t cfa_off, ra_off, at;

	if (!cfa || !ra || !cfa_sp_offset(cfa, ncfa, &cfa_off) || !saved_at_cfa(ra, nra, &ra_off))
		return -1;
	at = cfa_off + ra_off;	/* bytes from SP */
	if (at < 0 || at % 8 || at / 8 >= (int64_t)nwords)
		return -1;
	return (int)(at / 8);
}

/* Bytes of an ff /2 instruction from its ModRM (and SIB) byte: 0 when not /2. */
static size_t ff2_length(const uint8_t *modrm_at, size_t avail)
{
	uint8_t modrm = modrm_at[0], mod = modrm >> 6, rm = modrm & 7;

	if ((modrm & 0x38) != 0x10)
		return 0;
	if (mod == 3)
		return 2;
	if (rm == 4) {	/* a SIB byte follows */
		if (avail < 2)
			return 0;
		if (mod == 0)
			return (modrm_at[1] & 7) == 5 ? 7 : 3;
		return mod == 1 ? 4 : 7;
	}
	if (mod == 0)
		return rm == 5 ? 6 : 2;
	return mod == 1 ? 3 : 6;
}

bool dp_leaf__after_call(const uint8_t *b, size_t n)
{
	static const size_t lens[] = { 2, 3, 4, 6, 7 };

	if (n >= 5 && b[n - 5] == 0xe8)
		return true;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i];

		if (n >= len && b[n - len] == 0xff && ff2_length(b + n - len + 1, len - 1) == len)
			return true;
	}
	return false;
}

enum { KIND_SLOT, KIND_RETURN };

struct lr_key {
	const struct dp_obj *obj;
	uint64_t vaddr;
	uint32_t kind;
	uint32_t nwords;
};

struct lr_entry {
	UT_hash_handle hh;
	struct lr_key key;
	int value;
};

struct dp_leafrepair {
	struct lr_entry *cache;
};

struct dp_leafrepair *dp_leafrepair__new(void)
{
	return calloc(1, sizeof(struct dp_leafrepair));
}

void dp_leafrepair__free(struct dp_leafrepair *lr)
{
	struct lr_entry *e, *t;

	if (!lr)
		return;
	HASH_ITER(hh, lr->cache, e, t) {
		HASH_DEL(lr->cache, e);
		free(e);
	}
	free(lr);
}

static struct lr_entry *cached(struct dp_leafrepair *lr, const struct dp_obj *o, uint64_t vaddr,
			       uint32_t kind, uint32_t nwords)
{
	struct lr_key k;
	struct lr_entry *e;

	memset(&k, 0, sizeof(k));
	k.obj = o;
	k.vaddr = vaddr;
	k.kind = kind;
	k.nwords = nwords;
	HASH_FIND(hh, lr->cache, &k, sizeof(k), e);
	return e;
}

/* Remember value; a failed allocation only costs the next lookup. */
static int remember(struct dp_leafrepair *lr, const struct dp_obj *o, uint64_t vaddr,
		    uint32_t kind, uint32_t nwords, int value)
{
	struct lr_entry *e = calloc(1, sizeof(*e));

	if (e) {
		e->key.obj = o;
		e->key.vaddr = vaddr;
		e->key.kind = kind;
		e->key.nwords = nwords;
		e->value = value;
		HASH_ADD(hh, lr->cache, key, sizeof(e->key), e);
		if (dp_hash_failed())
			free(e);	/* a cache: asked again next time */
	}
	return value;
}

/* The slot from one CFI table (eh or debug): -1 when the table has no frame for vaddr. */
static int slot_in(Dwarf_CFI *cfi, Dwarf_Addr bias, uint64_t vaddr, unsigned int nwords,
		   bool *found)
{
	Dwarf_Frame *frame = NULL;
	Dwarf_Op *cfa = NULL, *ra = NULL, mem[3];
	size_t ncfa = 0, nra = 0;
	int slot = -1;

	*found = false;
	if (!cfi || dwarf_cfi_addrframe(cfi, vaddr - bias, &frame) || !frame)
		return -1;
	*found = true;
	if (!dwarf_frame_cfa(frame, &cfa, &ncfa) &&
	    !dwarf_frame_register(frame, DP_DWARF_RA, mem, &ra, &nra))
		slot = dp_leaf__ra_slot(cfa, ncfa, ra, nra, nwords);
	free(frame);
	return slot;
}

int dp_leafrepair__slot(struct dp_leafrepair *lr, struct dp_obj *o, uint64_t vaddr,
			unsigned int nwords)
{
	struct lr_entry *e = cached(lr, o, vaddr, KIND_SLOT, nwords);
	Dwarf_Addr bias = 0;
	bool found;
	int slot;

	if (e)
		return e->value;
	if (!o->mod)
		return remember(lr, o, vaddr, KIND_SLOT, nwords, -1);
	/* .eh_frame is what the program itself unwinds with; .debug_frame where there is none. */
	slot = slot_in(dwfl_module_eh_cfi(o->mod, &bias), bias, vaddr, nwords, &found);
	if (!found)
		slot = slot_in(dwfl_module_dwarf_cfi(o->mod, &bias), bias, vaddr, nwords, &found);
	return remember(lr, o, vaddr, KIND_SLOT, nwords, slot);
}

/*
 * In one CFI table: whether it has a frame at vaddr, with its slot and the
 * end of the row vaddr lies in (every address of a row has the same rules).
 */
static bool row_at(Dwarf_CFI *cfi, Dwarf_Addr bias, uint64_t vaddr, unsigned int nwords,
		   int *slot, uint64_t *row_end)
{
	Dwarf_Frame *frame = NULL;
	Dwarf_Op *cfa = NULL, *ra = NULL, mem[3];
	Dwarf_Addr start, end;
	size_t ncfa = 0, nra = 0;

	if (dwarf_cfi_addrframe(cfi, vaddr - bias, &frame) || !frame)
		return false;
	*slot = -1;
	if (!dwarf_frame_cfa(frame, &cfa, &ncfa) &&
	    !dwarf_frame_register(frame, DP_DWARF_RA, mem, &ra, &nra))
		*slot = dp_leaf__ra_slot(cfa, ncfa, ra, nra, nwords);
	*row_end = vaddr + 1;
	if (dwarf_frame_info(frame, &start, &end, NULL) >= 0 && end + bias > vaddr)
		*row_end = end + bias;
	free(frame);
	return true;
}

/*
 * The bytes of [vaddr, end) where one table puts a return address in a
 * slot, into bits from bit first. Addresses the table has no frame for are
 * marked too when gaps_too (see dp_leafrepair__mark).
 */
static void mark_rows(Dwarf_CFI *cfi, Dwarf_Addr bias, const struct dp_cfifuncs *starts,
		      uint64_t vaddr, uint64_t end, unsigned int nwords, bool gaps_too,
		      __u64 *bits, uint64_t first)
{
	uint64_t at = vaddr, row_end;
	int slot;

	while (at < end) {
		bool found = row_at(cfi, bias, at, nwords, &slot, &row_end);

		/*
		 * Between FDEs (padding, mostly): on to the next FDE's start
		 * when the table of starts has one, else the next byte (an FDE
		 * may start at any byte).
		 */
		if (!found && (!starts || !starts->n || dp_cfifuncs__next(starts, at, &row_end) ||
			       row_end <= at))
			row_end = starts && starts->n ? end : at + 1;
		if (row_end > end)
			row_end = end;
		if (found ? slot >= 0 : gaps_too)
			for (uint64_t b = first + (at - vaddr); b < first + (row_end - vaddr); b++)
				bits[b / 64] |= 1ULL << (b % 64);
		at = row_end;
	}
}

void dp_leafrepair__mark(struct dp_obj *o, uint64_t vaddr, uint64_t n, unsigned int nwords,
			 __u64 *bits, uint64_t first)
{
	Dwarf_Addr bias = 0;
	Dwarf_CFI *cfi;

	if (!o->mod)
		return;
	/*
	 * The repair reads .eh_frame, and .debug_frame where .eh_frame has no
	 * frame. Where .eh_frame has none (padding, mostly, never run) the
	 * byte is marked rather than .debug_frame read: finding an object's
	 * debug file can take tens of milliseconds (seen: 46 ms for libc), paid
	 * in the loop that reads the rings. Without .eh_frame, .debug_frame
	 * decides, as for the repair.
	 */
	if ((cfi = dwfl_module_eh_cfi(o->mod, &bias)))
		mark_rows(cfi, bias, dp_obj__cfi_funcs(o), vaddr, vaddr + n, nwords, true, bits, first);
	else if ((cfi = dwfl_module_dwarf_cfi(o->mod, &bias)))
		mark_rows(cfi, bias, NULL, vaddr, vaddr + n, nwords, false, bits, first);
}

/* The n bytes of o's file that end at file address vaddr, in code: 0, or -1 when not there. */
static int read_before(const struct dp_obj *o, uint64_t vaddr, uint8_t *buf, size_t n)
{
	if (o->fd < 0)
		return -1;
	for (size_t i = 0; i < o->nloads; i++) {
		const GElf_Phdr *ph = &o->loads[i];

		if ((ph->p_flags & PF_X) && vaddr >= ph->p_vaddr + n &&
		    vaddr <= ph->p_vaddr + ph->p_filesz) {
			off_t off = (off_t)(vaddr - n - ph->p_vaddr + ph->p_offset);

			return pread(o->fd, buf, n, off) == (ssize_t)n ? 0 : -1;
		}
	}
	return -1;
}

bool dp_leafrepair__is_return(struct dp_leafrepair *lr, struct dp_obj *o, uint64_t vaddr)
{
	struct lr_entry *e = cached(lr, o, vaddr, KIND_RETURN, 0);
	uint8_t buf[CALL_MAX_BYTES];
	size_t n = CALL_MAX_BYTES;

	if (e)
		return e->value;
	/* Near the start of a segment, fewer bytes can precede it. */
	while (n >= 2 && read_before(o, vaddr, buf, n))
		n--;
	return remember(lr, o, vaddr, KIND_RETURN, 0, n >= 2 && dp_leaf__after_call(buf, n));
}
