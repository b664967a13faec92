// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plt.h"

#define PLT_ENTRY 16

static Elf_Scn *section(Elf *elf, size_t shstrndx, const char *want, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		if (gelf_getshdr(scn, sh) && (name = elf_strptr(elf, shstrndx, sh->sh_name)) &&
		    !strcmp(name, want))
			return scn;
	}
	return NULL;
}

/* The names of the slots .rela.plt relocates, in order. */
static int slot_names(struct dp_plt *p, Elf *elf, Elf_Scn *rela, const GElf_Shdr *rsh)
{
	Elf_Scn *dynsym = elf_getscn(elf, rsh->sh_link);
	Elf_Data *rd = elf_getdata(rela, NULL), *sd;
	GElf_Shdr ssh;
	size_t n;

	if (!dynsym || !gelf_getshdr(dynsym, &ssh) || !rd || !rsh->sh_entsize ||
	    !(sd = elf_getdata(dynsym, NULL)))
		return 0;
	n = rsh->sh_size / rsh->sh_entsize;
	if (n > rd->d_size / rsh->sh_entsize)
		n = rd->d_size / rsh->sh_entsize;	/* a header claiming more than the data holds */
	p->names = calloc(n ? n : 1, sizeof(*p->names));
	if (!p->names)
		return -ENOMEM;
	p->n = n;
	for (size_t i = 0; i < n; i++) {
		const char *name;
		GElf_Rela r;
		GElf_Sym s;

		if (!gelf_getrela(rd, (int)i, &r) ||
		    !gelf_getsym(sd, (int)GELF_R_SYM(r.r_info), &s) ||
		    !(name = elf_strptr(elf, ssh.sh_link, s.st_name)) || !*name)
			continue;	/* no name: the stub stays unnamed */
		if (asprintf(&p->names[i], "%s@plt", name) < 0) {
			p->names[i] = NULL;
			return -ENOMEM;
		}
	}
	return 0;
}

int dp_plt__load(struct dp_plt *p, Elf *elf)
{
	GElf_Shdr rsh, sh;
	Elf_Scn *rela;
	GElf_Ehdr eh;
	size_t shstrndx;
	int err;

	memset(p, 0, sizeof(*p));
	if (!gelf_getehdr(elf, &eh) || eh.e_machine != EM_X86_64 || elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	rela = section(elf, shstrndx, ".rela.plt", &rsh);
	if (!rela || rsh.sh_type != SHT_RELA)
		return 0;
	err = slot_names(p, elf, rela, &rsh);
	if (err || !p->n)
		return err;
	if (section(elf, shstrndx, ".plt", &sh) && sh.sh_size > PLT_ENTRY)
		p->ranges[p->nranges++] = (struct dp_plt_range){ sh.sh_addr + PLT_ENTRY,
								 sh.sh_addr + sh.sh_size };
	if (section(elf, shstrndx, ".plt.sec", &sh) && sh.sh_size)
		p->ranges[p->nranges++] = (struct dp_plt_range){ sh.sh_addr, sh.sh_addr + sh.sh_size };
	return 0;
}

const char *dp_plt__find(const struct dp_plt *p, uint64_t vaddr, uint64_t *offset)
{
	for (int i = 0; i < p->nranges; i++) {
		const struct dp_plt_range *r = &p->ranges[i];
		uint64_t slot;

		if (vaddr < r->start || vaddr >= r->end)
			continue;
		slot = (vaddr - r->start) / PLT_ENTRY;
		if (slot >= p->n || !p->names[slot])
			return NULL;
		*offset = (vaddr - r->start) % PLT_ENTRY;
		return p->names[slot];
	}
	return NULL;
}

void dp_plt__free(struct dp_plt *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->names[i]);
	free(p->names);
	memset(p, 0, sizeof(*p));
}
