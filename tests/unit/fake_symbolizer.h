/*
 * A symbolizer with fixed answers, for tests of the model and the writers:
 * no /proc, no ELF, the same names on every machine. Addresses inside an
 * entry resolve to it (any pid); others are "[unmapped]" (user) or unknown
 * (kernel), which exercises the model's module+offset names. The mappings of
 * pids below 1000 count as known (where: code or nowhere), others as unknown.
 */
#ifndef DP_FAKE_SYMBOLIZER_H
#define DP_FAKE_SYMBOLIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "symbolizer.h"

struct dp_fake_sym {
	uint64_t start, size;
	bool kernel;
	const char *name;	/* NULL: mapped, but no symbol (module+offset) */
	const char *module;	/* kernel: NULL for the image */
	const char *src_file;
	int src_line;
	const uint8_t *build_id;
	int build_id_len;
	const struct dp_uinline *inl;	/* inlined at the whole entry, innermost first */
	int ninl;
	int funcs_checked, funcs_with_fp;	/* fp_info answers when funcs_checked */
};

struct dp_fake_symbolizer {
	const struct dp_fake_sym *syms;
	size_t n;
	uint64_t kernel_calls, user_calls;	/* how often the model asked */
	struct dp_ksym last;			/* the kernel answer being returned */
	struct dp_symbolizer iface;
};

const struct dp_symbolizer *dp_fake_symbolizer__init(struct dp_fake_symbolizer *f,
						     const struct dp_fake_sym *syms, size_t n);

/* A 20-byte build-id that every fake user object can share. */
extern const uint8_t dp_fake_build_id[20];

#endif
