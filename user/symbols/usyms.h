/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * User-space symbols: the real symbolizer's user side. The engine feeds it
 * (snapshot, add_mmap, exec); the model reads it through the symbolizer
 * interface (symbolizer.h). Each process's executable mappings are
 * snapshotted when it is first seen (and on exec and mmap), and every mapped
 * object is opened then, so a process that exits or a binary deleted on disk
 * keeps its symbols. The parts: addrspace (mappings per process), objects
 * (ELF/DWARF by device and inode or build-id), jitmap, fpcheck, demangle.
 */
#ifndef DP_USYMS_H
#define DP_USYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "symbolizer.h"

struct dp_usyms_opts {
	const char *proc_root;	/* "/proc" unless testing */
	const char *perfmap_dir;	/* "/tmp": JIT maps are perf-PID.map there */
};

/* A snapshot that failed for another reason than the process being gone is retried this often. */
#define DP_USYMS_SNAPSHOT_TRIES 3

struct dp_usyms;

struct dp_usyms *dp_usyms__new(const struct dp_usyms_opts *opts);
void dp_usyms__free(struct dp_usyms *u);
/*
 * Read the process's current mappings; a second call adds what is new.
 * Returns 0 or a negative errno (-ENOENT: the process is gone).
 */
int dp_usyms__snapshot(struct dp_usyms *u, uint32_t pid);
/*
 * Whether pid needs no snapshot: one succeeded, the process is gone, or
 * DP_USYMS_SNAPSHOT_TRIES failed. A process known only from MMAP2 records
 * is not known yet.
 */
bool dp_usyms__known(struct dp_usyms *u, uint32_t pid);
/*
 * A new executable mapping seen in a PERF_RECORD_MMAP2, by file name only:
 * the object is keyed by its full path. Prefer __add_mmap2.
 */
int dp_usyms__add_mmap(struct dp_usyms *u, uint32_t pid, uint64_t start, uint64_t len,
		       uint64_t pgoff, const char *filename);

/* What a MMAP2 record says about the mapped file. */
struct dp_mmap_file {
	const char *filename;
	/* Without PERF_RECORD_MISC_MMAP_BUILD_ID: the file's device and inode. */
	uint32_t maj, min;
	uint64_t ino;
	/* With it: the build-id instead (maj, min, ino are then 0). */
	const uint8_t *build_id;
	int build_id_len;
};

/*
 * The same, keyed by the identity the record gives (device and inode in the
 * mapping process's view, or build-id), so two files never share an object
 * and one file mapped by two processes is opened once. 0 or -ENOMEM.
 */
int dp_usyms__add_mmap2(struct dp_usyms *u, uint32_t pid, uint64_t start, uint64_t len,
			uint64_t pgoff, const struct dp_mmap_file *file);
/* The process exec'd: its old mappings are gone. */
/* The process exec'd: a new generation, the old mappings kept for earlier stacks. */
int dp_usyms__exec(struct dp_usyms *u, uint32_t pid);
/* A process forked (ppid != pid): the child starts with the parent's mappings. */
int dp_usyms__fork(struct dp_usyms *u, uint32_t ppid, uint32_t pid);
/*
 * Whether a new mapping (a MMAP2 record's) would take the place of code of
 * another object, so that earlier stacks need the mappings of before: the
 * engine then takes in every sample logged so far first.
 */
bool dp_usyms__replaces(struct dp_usyms *u, uint32_t pid, uint64_t start, uint64_t len,
			const char *filename);
/* The generation of pid's address space now (addrspace.h), stamped on its stacks. */
uint32_t dp_usyms__generation(struct dp_usyms *u, uint32_t pid);
/* Objects opened so far (each once, however many processes map it). */
size_t dp_usyms__objects(const struct dp_usyms *u);

/* The lookups behind the real symbolizer (symbolizer.h says what each returns). */
void dp_usyms__resolve(struct dp_usyms *u, uint64_t space, uint64_t addr, bool want_src,
		       struct dp_usym *out);
int dp_usyms__inlines(struct dp_usyms *u, uint64_t space, uint64_t addr,
		      struct dp_uinline *out, int max);
/* Whether addr is code of pid, from its known executable mappings and JIT map. */
enum dp_uwhere dp_usyms__where(struct dp_usyms *u, uint64_t space, uint64_t addr);
/*
 * The leaf repair (leafrepair.h): the caller of the function at leaf->ip
 * that frame pointers skip, when that function had not set up its frame
 * and the word its CFI names is a return address into a mapped object;
 * else 0.
 */
struct dp_leaf;
uint64_t dp_usyms__leaf_caller(struct dp_usyms *u, uint64_t space, const struct dp_leaf *leaf);
/*
 * For the leaf gate (deferprof.h): the bytes of addr's code page (4 KiB)
 * where the repair could use a capture, worked out for the span [*from,
 * *to) of page offsets around addr that is cheap to work out: addr's
 * function as the unwind tables delimit it (the gap after it included),
 * within addr's segment (a page may hold two; each byte's file address is
 * found from its own file offset). Bits outside the span are 0. Anonymous
 * code (JIT) and an object that cannot be read: the whole page, no bit
 * set. 0, or -ENOENT when no known executable mapping holds the page (not
 * learned yet): nothing to say about it.
 */
struct dp_gate_page;
int dp_usyms__leaf_span(struct dp_usyms *u, uint64_t space, uint64_t addr,
			struct dp_gate_page *out, uint32_t *from, uint32_t *to);
int dp_usyms__fp_info(struct dp_usyms *u, uint64_t space, uint64_t addr,
		      struct dp_uobj_info *out);

#endif
