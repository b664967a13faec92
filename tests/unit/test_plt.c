// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * PLT stubs named SYMBOL@plt (symbols/plt.c), checked on this test binary's
 * own stubs against their code: each stub jumps through a GOT slot, and the
 * relocation of that slot names the function the stub was given.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <gelf.h>
#include "demangle.h"
#include "plt.h"

static Elf_Scn *find_scn(Elf *elf, const char *want, GElf_Shdr *sh)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	cr_assert_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn))) {
		const char *n;

		if (gelf_getshdr(scn, sh) && (n = elf_strptr(elf, shstrndx, sh->sh_name)) && !strcmp(n, want))
			return scn;
	}
	return NULL;
}

/* The GOT address a stub's "jmp *disp32(%rip)" goes through (after an optional endbr64/bnd). */
static uint64_t jump_slot(const uint8_t *code, uint64_t vaddr)
{
	size_t i = 0;
	int32_t disp;

	if (!memcmp(code, "\xf3\x0f\x1e\xfa", 4))
		i = 4;	/* endbr64 */
	if (code[i] == 0xf2)
		i++;	/* bnd */
	cr_assert(code[i] == 0xff && code[i + 1] == 0x25, "a stub starts with jmp *disp32(%%rip)");
	memcpy(&disp, code + i + 2, 4);
	return vaddr + i + 6 + (int64_t)disp;
}

Test(plt, stubs_named_by_the_slot_they_jump_through)
{
	int fd = open("/proc/self/exe", O_RDONLY);
	GElf_Shdr psh, rsh;
	Elf_Scn *plt, *rela;
	Elf_Data *pd, *rd;
	struct dp_plt p;
	uint64_t off, stub;
	int checked = 0;
	Elf *elf;

	cr_assert_geq(fd, 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cr_assert_not_null(elf);
	cr_assert_eq(dp_plt__load(&p, elf), 0);
	cr_assert_gt(p.n, 0, "this binary calls libc through its PLT");
	/* Stubs: .plt.sec when the linker made one, else .plt past its header. */
	plt = find_scn(elf, ".plt.sec", &psh);
	stub = 0;
	if (!plt) {
		plt = find_scn(elf, ".plt", &psh);
		stub = 16;
	}
	rela = find_scn(elf, ".rela.plt", &rsh);
	cr_assert(plt && rela);
	pd = elf_getdata(plt, NULL);
	rd = elf_getdata(rela, NULL);
	for (size_t i = 0; i < p.n && stub + 16 <= psh.sh_size; i++, stub += 16) {
		uint64_t vaddr = psh.sh_addr + stub;
		const char *name = dp_plt__find(&p, vaddr + 3, &off);
		GElf_Rela r;

		if (!name)
			continue;
		cr_assert_eq(off, 3);
		/* The slot this stub jumps through is the one its name came from. */
		for (size_t k = 0; gelf_getrela(rd, (int)k, &r); k++) {
			if (r.r_offset == jump_slot((const uint8_t *)pd->d_buf + stub, vaddr)) {
				cr_assert_eq(k, i, "stub %zu (%s) jumps through slot %zu", i, name, k);
				checked++;
				break;
			}
		}
		cr_assert(strlen(name) > 4 && !strcmp(name + strlen(name) - 4, "@plt"), "%s", name);
	}
	cr_assert_gt(checked, 3);
	cr_assert_null(dp_plt__find(&p, psh.sh_addr + psh.sh_size + 64, &off), "past the stubs");
	dp_plt__free(&p);
	elf_end(elf);
	close(fd);
}

Test(plt, cpp_stub_names_demangled)
{
	char *d = dp_demangle("_Znwm@plt");

	cr_assert_str_eq(d, "operator new(unsigned long)@plt");
	free(d);
	cr_assert_null(dp_demangle("memcpy@plt"), "a C name stays as it is");
}
