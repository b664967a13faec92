/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User-space symbols. Each process's executable mappings are snapshotted
 * when it is first seen (and on exec and mmap), and every mapped object is
 * opened then, so a process that exits or a binary deleted on disk keeps its
 * symbols. Objects are shared between processes and read with elfutils'
 * libdwfl, which also finds separate debug files by build-id or debuglink.
 */
#ifndef DP_USYMS_H
#define DP_USYMS_H

#include <stdbool.h>
#include <stdint.h>

struct dp_usyms_opts {
	const char *proc_root;	/* "/proc" unless testing */
	const char *perfmap_dir;	/* "/tmp": JIT maps are perf-PID.map there */
};

struct dp_usym {
	const char *name;	/* demangled function name, or NULL when unresolved */
	const char *module;	/* object basename, "[vdso]", "[anon]", "[unmapped]" ... */
	const char *path;	/* object path when file-backed */
	uint64_t offset;	/* object-relative address (file vaddr) or address */
	uint64_t sym_offset;	/* addr - symbol start */
	const char *src_file;	/* when debug info has it */
	int src_line;
	const uint8_t *build_id;
	int build_id_len;
};

/* What the report says about an object's frame pointers. */
struct dp_uobj_info {
	const char *path;
	const char *module;
	int funcs_checked;
	int funcs_with_fp;
};

struct dp_usyms;

struct dp_usyms *dp_usyms__new(const struct dp_usyms_opts *opts);
void dp_usyms__free(struct dp_usyms *u);
/* Read the process's current mappings; a second call adds what is new. */
int dp_usyms__snapshot(struct dp_usyms *u, uint32_t pid);
bool dp_usyms__known(struct dp_usyms *u, uint32_t pid);
/* A new executable mapping seen in a PERF_RECORD_MMAP2. */
int dp_usyms__add_mmap(struct dp_usyms *u, uint32_t pid, uint64_t start, uint64_t len,
		       uint64_t pgoff, const char *filename);
/* The process exec'd: its old mappings are gone. */
void dp_usyms__exec(struct dp_usyms *u, uint32_t pid);
/* Resolve one address. Always fills out (module+offset at worst). */
void dp_usyms__resolve(struct dp_usyms *u, uint32_t pid, uint64_t addr, bool want_src,
		       struct dp_usym *out);
/* A function inlined at an address, and where it was inlined into its caller. */
struct dp_uinline {
	const char *name;
	const char *call_file;
	int call_line;
};

/*
 * Functions inlined at addr, innermost first (from DWARF), at most max.
 * Returns how many; 0 when none or without debug info.
 */
int dp_usyms__inlines(struct dp_usyms *u, uint32_t pid, uint64_t addr,
		      struct dp_uinline *out, int max);
/* Frame-pointer check of the object mapped at addr (lazy, cached). */
int dp_usyms__fp_info(struct dp_usyms *u, uint32_t pid, uint64_t addr,
		      struct dp_uobj_info *out);
/* Demangle a C++ or Rust name; returns a malloc'd string or NULL. */
char *dp_demangle(const char *name);

#endif
