/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Mapped ELF objects, opened once and shared by every process that maps
 * them, read with elfutils' libdwfl (which also finds separate debug files by
 * build-id or debuglink, and then, when DEBUGINFOD_URLS is set, through
 * dbgfetch from debuginfod servers). An object is found again by the identity the
 * kernel gave it: device and inode from /proc/PID/maps or a MMAP2 record, or
 * the record's build-id; the full path only when neither is known.
 */
#ifndef DP_OBJECTS_H
#define DP_OBJECTS_H

#include <stddef.h>
#include <stdint.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include "cfifuncs.h"
#include "plt.h"
#include "dbgfetch.h"
#include "symbolizer.h"
#include "dphash.h"

/* Who a mapping's file is. Fields that are not known are 0 / NULL. */
struct dp_obj_id {
	uint32_t maj, min;
	uint64_t ino;			/* 0: device and inode unknown */
	const uint8_t *build_id;	/* from a MMAP2 record that carries one */
	int build_id_len;
	const char *path;		/* the mapped file's name (always set) */
};

struct dp_obj {
	UT_hash_handle hh;		/* by key */
	UT_hash_handle hh_bid;		/* by build-id, once the ELF says it */
	char *key;			/* "i:MAJ:MIN:INO", "b:HEX" or "p:PATH" */
	char *path;
	const char *module;		/* basename of path */
	int fd;				/* ours, for reading function bytes; -1 */
	Dwfl *dwfl;
	Dwfl_Module *mod;		/* NULL: not readable as ELF */
	GElf_Phdr *loads;		/* every PT_LOAD, however many */
	size_t nloads;
	const unsigned char *build_id;	/* owned by dwfl */
	int build_id_len;
	int fp_checked, fp_funcs, fp_with;	/* fpcheck's cache */
	bool own_dwarf;			/* .debug_info in the object itself, not a separate file */
	bool bid_indexed;		/* in by_bid (the first object with its build-id) */
	bool debug_found;		/* a separate debug file was handed to libdwfl */
	struct dp_dbgfetch *fetch;	/* the table's debuginfod client */
	struct dp_cfifuncs cfi_funcs;	/* FDE starts, read on first need */
	int cfi_funcs_read;
	struct dp_plt plt;		/* PLT stubs' names, read on first need */
	int plt_read;
};

struct dp_objs {
	struct dp_obj *by_key;
	struct dp_obj *by_bid;
	size_t n;
	struct dp_dbgfetch fetch;	/* debug files no local search found, by build-id */
};

/*
 * The object for id, opened on first sight: from open_path (the process's
 * map_files link, which reaches a deleted or replaced file) or else id->path.
 * An object that does not open is kept too, so it is tried once. Returns NULL
 * only when out of memory.
 */
struct dp_obj *dp_objs__get(struct dp_objs *t, const struct dp_obj_id *id, const char *open_path);
void dp_objs__free(struct dp_objs *t);

/* The file vaddr at file offset off, through the PT_LOAD holding it: 0 or -ENOENT. */
int dp_obj__vaddr(const struct dp_obj *o, uint64_t off, uint64_t *vaddr);
/* The function at vaddr and addr - its start; NULL when none. */
const char *dp_obj__func(const struct dp_obj *o, uint64_t vaddr, uint64_t *sym_offset);
/* The PLT stub at vaddr, "SYMBOL@plt", and vaddr - its start; NULL when none. */
const char *dp_obj__plt(struct dp_obj *o, uint64_t vaddr, uint64_t *offset);
/*
 * For code no symbol covers (a stripped object): the start of the function
 * holding vaddr, from the unwind tables (.eh_frame, else .debug_frame),
 * whose FDEs delimit functions. 0, or -ENOENT when no FDE covers it.
 */
int dp_obj__cfi_func(struct dp_obj *o, uint64_t vaddr, uint64_t *start);
/* Those function starts, read on first need (none when the object has no table). */
const struct dp_cfifuncs *dp_obj__cfi_funcs(struct dp_obj *o);
/* Source file and line of vaddr from DWARF: 0 or -ENOENT. */
int dp_obj__src(const struct dp_obj *o, uint64_t vaddr, const char **file, int *line);
/* Functions inlined at vaddr, innermost first, at most max; returns how many. */
int dp_obj__inlines(const struct dp_obj *o, uint64_t vaddr, struct dp_uinline *out, int max);

#endif
