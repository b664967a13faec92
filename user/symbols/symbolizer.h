/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The symbolizer seam. The model and the outputs turn addresses into names
 * through this interface only; nothing above it reads /proc or a file. The
 * real implementation (dp_symbols, below) answers from kallsyms and the
 * address spaces the engine keeps; tests answer from fixed tables.
 */
#ifndef DP_SYMBOLIZER_H
#define DP_SYMBOLIZER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A kernel function. */
struct dp_ksym {
	uint64_t addr;
	const char *name;
	const char *module;	/* NULL for the kernel image */
};

/* A user address, resolved as far as the symbolizer can. */
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

/* A function inlined at an address, and where it was inlined into its caller. */
struct dp_uinline {
	const char *name;
	const char *call_file;
	int call_line;
};

/* What the report says about an object's frame pointers. */
struct dp_uobj_info {
	const char *path;
	const char *module;
	int funcs_checked;
	int funcs_with_fp;
};

/*
 * A process's address space as the symbolizer is asked about it: the pid in
 * the low half; in the high half, the generation + 1 of the mappings to use
 * (a stack's, DP_STK_GEN), or 0 for the mappings as they are now. A plain pid
 * is a space: now.
 */
static inline uint64_t dp_space(uint32_t pid, uint32_t gen)
{
	return (uint64_t)(gen + 1) << 32 | pid;
}

static inline uint32_t dp_space__pid(uint64_t space)
{
	return (uint32_t)space;
}

static inline bool dp_space__now(uint64_t space)
{
	return !(space >> 32);
}

static inline uint32_t dp_space__gen(uint64_t space)
{
	return (uint32_t)(space >> 32) - 1;
}

/* Where a user address lies, for telling a real return address from garbage. */
enum dp_uwhere {
	DP_UWHERE_UNKNOWN,	/* the process's mappings are not known */
	DP_UWHERE_CODE,		/* in an executable mapping (or a JIT region) */
	DP_UWHERE_NOWHERE,	/* the mappings are known; none executable holds it */
	DP_UWHERE_DATA,		/* in a mapping that is not executable (file data, heap, stack) */
};

/*
 * Every answer's strings live as long as the symbolizer's implementation.
 * ctx is the implementation's state: lookups may fill caches, so it is not
 * const even when the symbolizer handle is.
 */
struct dp_symbolizer_ops {
	/* The kernel function containing addr, or NULL; valid until the next call. */
	const struct dp_ksym *(*kernel)(void *ctx, uint64_t addr);
	/* Resolve a user address in space (dp_space()). Always fills out (module+offset at worst). */
	void (*user)(void *ctx, uint64_t space, uint64_t addr, bool want_src, struct dp_usym *out);
	/* Functions inlined at addr, innermost first, at most max; returns how many. */
	int (*inlines)(void *ctx, uint64_t space, uint64_t addr, struct dp_uinline *out, int max);
	/* Frame-pointer check of the object mapped at addr: 0 or -ENOENT. */
	int (*fp_info)(void *ctx, uint64_t space, uint64_t addr, struct dp_uobj_info *out);
	/* Whether addr is code of pid. */
	enum dp_uwhere (*where)(void *ctx, uint64_t space, uint64_t addr);
};

struct dp_symbolizer {
	const struct dp_symbolizer_ops *ops;
	void *ctx;
};

/* Callers use these; an implementation may leave any op NULL (nothing known). */
static inline const struct dp_ksym *dp_symbolizer__kernel(const struct dp_symbolizer *s,
							  uint64_t addr)
{
	return s && s->ops->kernel ? s->ops->kernel(s->ctx, addr) : NULL;
}

static inline void dp_symbolizer__user(const struct dp_symbolizer *s, uint64_t space, uint64_t addr,
				       bool want_src, struct dp_usym *out)
{
	if (s && s->ops->user) {
		s->ops->user(s->ctx, space, addr, want_src, out);
		return;
	}
	*out = (struct dp_usym){ .module = "[unmapped]", .offset = addr };
}

static inline int dp_symbolizer__inlines(const struct dp_symbolizer *s, uint64_t space,
					 uint64_t addr, struct dp_uinline *out, int max)
{
	return s && s->ops->inlines ? s->ops->inlines(s->ctx, space, addr, out, max) : 0;
}

static inline enum dp_uwhere dp_symbolizer__where(const struct dp_symbolizer *s, uint64_t space,
						  uint64_t addr)
{
	return s && s->ops->where ? s->ops->where(s->ctx, space, addr) : DP_UWHERE_UNKNOWN;
}

static inline int dp_symbolizer__fp_info(const struct dp_symbolizer *s, uint64_t space,
					 uint64_t addr, struct dp_uobj_info *out)
{
	if (s && s->ops->fp_info)
		return s->ops->fp_info(s->ctx, space, addr, out);
	return -ENOENT;
}

/*
 * The real symbolizer: kernel addresses from kallsyms, user addresses from
 * the address spaces the engine feeds (dp_usyms__snapshot, __add_mmap ...).
 * Neither ks nor us is owned; either may be NULL (then nothing resolves on
 * that side). Returns &s->iface, valid while s, ks and us live.
 */
struct dp_ksyms;
struct dp_usyms;

struct dp_symbols {
	const struct dp_ksyms *ks;
	struct dp_usyms *us;
	struct dp_symbolizer iface;
};

const struct dp_symbolizer *dp_symbols__init(struct dp_symbols *s, const struct dp_ksyms *ks,
					     struct dp_usyms *us);

#endif
