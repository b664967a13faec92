// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cfifuncs.h"
#include "u64sort.h"

/* DWARF pointer encodings (DW_EH_PE_*) the header uses. */
#define PE_OMIT		0xff
#define PE_FORMAT	0x0f
#define PE_UDATA4	0x03
#define PE_UDATA8	0x04
#define PE_SDATA4	0x0b
#define PE_SDATA8	0x0c
#define PE_DATAREL_SDATA4	0x3b

/* Bytes of a pointer in encoding enc: 4 or 8, 0 for none we read. */
static size_t enc_size(uint8_t enc)
{
	switch (enc & PE_FORMAT) {
	case PE_UDATA4:
	case PE_SDATA4:
		return 4;
	case PE_UDATA8:
	case PE_SDATA8:
		return 8;
	default:
		return 0;
	}
}

int dp_cfifuncs__parse(struct dp_cfifuncs *f, const uint8_t *hdr, size_t size, uint64_t hdr_vaddr)
{
	size_t psz, csz, off;
	uint64_t count = 0;

	memset(f, 0, sizeof(*f));
	/* version, eh_frame_ptr encoding, fde_count encoding, table encoding */
	if (size < 4 || hdr[0] != 1 || hdr[2] == PE_OMIT || hdr[3] != PE_DATAREL_SDATA4)
		return -ENOENT;
	psz = enc_size(hdr[1]);
	csz = enc_size(hdr[2]);
	if (!psz || !csz || size < 4 + psz + csz)
		return -ENOENT;
	off = 4 + psz;
	if (csz == 4) {
		uint32_t c;

		memcpy(&c, hdr + off, 4);
		count = c;
	} else {
		memcpy(&count, hdr + off, 8);
	}
	off += csz;
	if (!count || count > (size - off) / 8)
		return -ENOENT;
	f->starts = malloc(count * sizeof(*f->starts));
	if (!f->starts)
		return -ENOMEM;
	for (uint64_t i = 0; i < count; i++) {
		int32_t loc;

		memcpy(&loc, hdr + off + i * 8, 4);	/* then the FDE's offset, unused */
		f->starts[i] = hdr_vaddr + (uint64_t)(int64_t)loc;
	}
	f->n = count;
	/* Sorted by the linker; a hostile file need not be. */
	qsort(f->starts, f->n, sizeof(*f->starts), dp_cmp_u64);
	return 0;
}

int dp_cfifuncs__load(struct dp_cfifuncs *f, Elf *elf)
{
	size_t nph;

	memset(f, 0, sizeof(*f));
	if (elf_getphdrnum(elf, &nph))
		return -ENOENT;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		Elf_Data *d;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_GNU_EH_FRAME)
			continue;
		d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_BYTE);
		if (!d || !d->d_buf)
			return -ENOENT;
		return dp_cfifuncs__parse(f, d->d_buf, d->d_size, ph.p_vaddr);
	}
	return -ENOENT;
}

/* The index of the first start > vaddr (n when there is none). */
static size_t first_after(const struct dp_cfifuncs *f, uint64_t vaddr)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->starts[mid] <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int dp_cfifuncs__find(const struct dp_cfifuncs *f, uint64_t vaddr, uint64_t *start)
{
	size_t i = first_after(f, vaddr);

	if (!i)
		return -ENOENT;
	*start = f->starts[i - 1];
	return 0;
}

void dp_cfifuncs__free(struct dp_cfifuncs *f)
{
	free(f->starts);
	memset(f, 0, sizeof(*f));
}

int dp_cfifuncs__next(const struct dp_cfifuncs *f, uint64_t vaddr, uint64_t *next)
{
	size_t i = first_after(f, vaddr);

	if (i == f->n)
		return -ENOENT;
	*next = f->starts[i];
	return 0;
}
