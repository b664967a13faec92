/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The aggregate: raw stacks (addresses, not yet symbols) of each thread and
 * the number of samples that had them. Pure data structure.
 *
 * Each distinct stack part (a kernel or a user chain of addresses) is stored
 * once, as a node of a prefix tree keyed from the outermost address: a part
 * is the id of its innermost node, and parts that share callers share nodes.
 * The table keeps (thread, flags, kernel part id, user part id) -> count.
 */
#ifndef DP_STACKS_H
#define DP_STACKS_H

#include <stdint.h>
#include <stdio.h>
#include "hashfn.h"

/* dp_stack_hdr.flags */
#define DP_STK_USER_LOST	0x1	/* the user part never arrived */
#define DP_STK_KERNEL_LOST	0x2	/* the kernel part did not fit the BPF store */
#define DP_STK_KTRUNC		0x4
#define DP_STK_UTRUNC		0x8
#define DP_STK_NO_USER		0x10	/* a kernel thread, or user part not asked for */
#define DP_STK_USER_NOT_STORED	0x20	/* the classic user part did not fit the BPF store */
#define DP_STK_MALFORMED	0x40	/* its chain did not parse: counted under one marker */
/*
 * The high half: the generation of the process's address space when the
 * stack was taken (symbols/addrspace.h), so that a stack from before a
 * dlopen over a dlclose'd library, or before an exec, is named with the
 * mappings of its time. Part of the stack's identity.
 */
#define DP_STK_GEN_SHIFT	16
#define DP_STK_GEN_MAX		0xffffU
/* Given to dp_stack_table__add*: the generation is already stamped (never stored). */
#define DP_STK_GEN_SET		0x8000

static inline uint32_t dp_stk__gen(uint32_t flags)
{
	return flags >> DP_STK_GEN_SHIFT;
}

/* A generation as flag bits (saturated). */
static inline uint32_t dp_stk__gen_bits(uint32_t gen)
{
	return (gen < DP_STK_GEN_MAX ? gen : DP_STK_GEN_MAX) << DP_STK_GEN_SHIFT;
}

struct dp_stack_hdr {
	uint32_t pid;
	uint32_t tid;
	uint32_t flags;
	uint16_t knr;
	uint16_t unr;
};

/* One distinct stack (32 bytes); its parts are read with dp_stack_table__part(). */
struct dp_stack_entry {
	struct dp_stack_hdr hdr;
	uint32_t kpart, upart;	/* part ids, 0 for an empty part */
	uint64_t count;
};

struct dp_parts;		/* the prefix tree and its indexes (stacks.c) */

struct dp_stack_table {
	struct dp_stack_entry *ents;	/* in order of arrival: entry ids are stable */
	uint32_t *slots;		/* open addressing: entry index + 1, 0 when free */
	uint32_t nslots;		/* a power of two, or 0 */
	uint32_t capents;
	/*
	 * Each entry's count at the last dp_stack_table__delta(): only tables
	 * read by intervals have them (capents long, from the first delta on).
	 */
	uint64_t *marks;
	/* Entries counted lately, by a hash of (thread, parts): index + 1, 0 when free. */
	uint32_t *recent;
	struct dp_parts *parts;
	uint64_t total;		/* samples */
	uint64_t entries;
	/*
	 * When set, each stack added is stamped with its process's address-space
	 * generation as it is now (the engine's, from the symbols side).
	 */
	uint32_t (*generation)(void *ctx, uint32_t pid);
	void *generation_ctx;
};

void dp_stack_table__init(struct dp_stack_table *t);
void dp_stack_table__clear(struct dp_stack_table *t);
int dp_stack_table__add(struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			const uint64_t *kips, const uint64_t *uips, uint64_t count);
/*
 * The hash of one stack part. A caller that adds the same part many times
 * (the join: a record's user stack, a stored kernel stack) hashes it once
 * and passes the hashes: the table then hashes no addresses itself.
 */
static inline uint64_t dp_stack__part_hash(const uint64_t *ips, uint32_t n)
{
	return dp_hash_words(ips, n, 0x5eed5eed5eed5eedULL);
}
int dp_stack_table__add_hashed(struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			       const uint64_t *kips, uint64_t khash,
			       const uint64_t *uips, uint64_t uhash, uint64_t count);

/* An interned part: its id (0: empty), length and hash. */
struct dp_part_ref {
	uint64_t hash;
	uint32_t id;
	uint32_t n;
};

/*
 * Intern part ips[0..n) ahead of the stacks that use it (the join: a
 * deferred record's user stack, once per record). *ref comes in as a part
 * this one is likely to be (the same thread's last; zeroed: none), which
 * spares hashing the addresses when it is, and goes out as this part's.
 * 0, -ENOMEM, -E2BIG (longer than DP_PART_MAX) or -EPERM (index dropped).
 */
int dp_stack_table__intern(struct dp_stack_table *t, const uint64_t *ips, uint32_t n,
			   struct dp_part_ref *ref);
/* dp_stack_table__add_hashed() with the user part interned: hdr->unr is its length. */
int dp_stack_table__add_upart(struct dp_stack_table *t, const struct dp_stack_hdr *hdr,
			      const uint64_t *kips, uint64_t khash, uint32_t upart, uint64_t count);
/*
 * Add to out what each stack of t gained since the last call (or since it
 * was added): the counts of one interval.
 */
int dp_stack_table__delta(struct dp_stack_table *t, struct dp_stack_table *out);
/* Add every entry of src into dst. */
int dp_stack_table__merge(struct dp_stack_table *dst, const struct dp_stack_table *src);
struct dp_stack_entry *dp_stack_table__find(const struct dp_stack_table *t,
					    const struct dp_stack_hdr *hdr,
					    const uint64_t *kips, const uint64_t *uips);
/*
 * Stacks whose counts differ between two tables (present in one only, or
 * with other counts). The first max_log differences are described on log.
 */
uint64_t dp_stack_table__diff(const struct dp_stack_table *a, const struct dp_stack_table *b,
			      FILE *log, unsigned int max_log);

/*
 * Free what only adding and finding need (the indexes, the cache, the
 * marks): the entries and parts stay readable (part, delta, merge into
 * another table), and the table takes much less memory. Adding to it then
 * fails with -EPERM and finding in it finds nothing.
 */
void dp_stack_table__drop_index(struct dp_stack_table *t);

/*
 * The longest part a table takes (more than the BPF side's DP_MAX_STACK and
 * a classic chain's parts): adding a longer one fails with -E2BIG.
 */
#define DP_PART_MAX		1024
/*
 * The addresses of part id, innermost first, into ips (room for
 * DP_PART_MAX); returns how many. Part 0 is empty.
 */
uint32_t dp_stack_table__part(const struct dp_stack_table *t, uint32_t id, uint64_t *ips);
/* Distinct parts and prefix-tree nodes: what the table holds besides entries. */
uint32_t dp_stack_table__nparts(const struct dp_stack_table *t);
/*
 * The distinct addresses of the table's kernel parts, sorted, into *out
 * (malloc'd, *n of them): the kernel symbols a profile of the table needs.
 * 0 or -ENOMEM.
 */
int dp_stack_table__kernel_addrs(const struct dp_stack_table *t, uint64_t **out, size_t *n);
uint32_t dp_stack_table__nnodes(const struct dp_stack_table *t);

#endif
