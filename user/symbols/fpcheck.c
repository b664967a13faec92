// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include <unistd.h>
#include "fpcheck.h"
#include "objects.h"

#define PROLOGUE_BYTES 48
/* Where push %rbp may start: after endbr64 (4), or Go's stack check (up to 18). */
#define PUSH_WITHIN 20
/* And mov %rsp,%rbp after it: another push or two may come between. */
#define MOV_WITHIN 8

/*
 * Go's own form (its register ABI): sub $N,%rsp; mov %rbp,N-8(%rsp);
 * lea N-8(%rsp),%rbp, after the stack-bound check (up to 15 bytes), with
 * 8- or 32-bit displacements.
 */
static bool go_frame(const uint8_t *buf, size_t len)
{
	static const uint8_t save8[] = { 0x48, 0x89, 0x6c, 0x24 }, save32[] = { 0x48, 0x89, 0xac, 0x24 };
	static const uint8_t lea8[] = { 0x48, 0x8d, 0x6c, 0x24 }, lea32[] = { 0x48, 0x8d, 0xac, 0x24 };

	/* The save of %rbp at some offset, right followed by the lea of the same offset. */
	for (size_t i = 0; i + 10 <= len; i++) {
		if (!memcmp(buf + i, save8, 4) && !memcmp(buf + i + 5, lea8, 4) &&
		    buf[i + 4] == buf[i + 9])
			return true;
		if (!memcmp(buf + i, save32, 4) && i + 16 <= len && !memcmp(buf + i + 8, lea32, 4) &&
		    !memcmp(buf + i + 4, buf + i + 12, 4))
			return true;
	}
	return false;
}

bool dp_fpcheck__prologue(const uint8_t *buf, size_t len)
{
	static const uint8_t mov[] = { 0x48, 0x89, 0xe5 };	/* mov %rsp,%rbp */
	size_t lim = len < PUSH_WITHIN ? len : PUSH_WITHIN;

	for (size_t i = 0; i < lim; i++) {
		size_t rest = len - i - 1;

		if (buf[i] == 0x55 &&	/* push %rbp */
		    memmem(buf + i + 1, rest < MOV_WITHIN ? rest : MOV_WITHIN, mov, sizeof(mov)))
			return true;
	}
	return go_frame(buf, len);
}

/*
 * 1 or 0 for the function of size bytes at file address vaddr (only its own
 * bytes are looked at: the next function's prologue is not its); -1 when
 * its bytes are not in the file.
 */
static int function_has_fp(const struct dp_obj *o, uint64_t vaddr, uint64_t size)
{
	uint8_t buf[PROLOGUE_BYTES];

	for (size_t i = 0; i < o->nloads; i++) {
		const GElf_Phdr *ph = &o->loads[i];

		if (vaddr >= ph->p_vaddr && vaddr < ph->p_vaddr + ph->p_filesz) {
			off_t off = (off_t)(vaddr - ph->p_vaddr + ph->p_offset);
			uint64_t len = ph->p_vaddr + ph->p_filesz - vaddr;

			len = len < size ? len : size;
			len = len < sizeof(buf) ? len : sizeof(buf);
			if (pread(o->fd, buf, len, off) != (ssize_t)len)
				return -1;
			return dp_fpcheck__prologue(buf, len);
		}
	}
	return -1;
}

/* Functions checked, and how many of them keep a frame pointer. */
struct tally {
	int funcs, with;
};

/* The function of size bytes at vaddr into t, unless it is tiny or unreadable. */
static void tally_function(const struct dp_obj *o, uint64_t vaddr, uint64_t size, struct tally *t)
{
	int r;

	/* Tiny functions (thunks, stubs) need no frame either way. */
	if (size < 16 || (r = function_has_fp(o, vaddr, size)) < 0)
		return;
	t->funcs++;
	t->with += r;
}

void dp_fpcheck__object(struct dp_obj *o)
{
	const struct dp_cfifuncs *funcs;
	struct tally syms = { 0 }, cfi = { 0 };
	const struct tally *best;
	int n;

	o->fp_checked = 1;
	if (!o->mod || o->fd < 0)
		return;
	n = dwfl_module_getsymtab(o->mod);
	for (int i = 1; i < n && syms.funcs < DP_FPCHECK_MAX_FUNCS; i++) {
		GElf_Sym sym;
		GElf_Addr addr;

		if (dwfl_module_getsym_info(o->mod, i, &sym, &addr, NULL, NULL, NULL) &&
		    GELF_ST_TYPE(sym.st_info) == STT_FUNC && sym.st_value)
			tally_function(o, sym.st_value, sym.st_size, &syms);
	}
	/*
	 * Stripped: the functions its unwind tables delimit, when the symbols
	 * give too few (a stripped binary may still export some: grep exports
	 * six _obstack_* functions of its 288) and those are more.
	 */
	if (syms.funcs < DP_FPCHECK_MIN_FUNCS) {
		funcs = dp_obj__cfi_funcs(o);
		for (size_t i = 0; i + 1 < funcs->n && cfi.funcs < DP_FPCHECK_MAX_FUNCS; i++)
			tally_function(o, funcs->starts[i], funcs->starts[i + 1] - funcs->starts[i], &cfi);
	}
	best = cfi.funcs > syms.funcs ? &cfi : &syms;
	o->fp_funcs = best->funcs;
	o->fp_with = best->with;
}
