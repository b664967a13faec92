// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The real symbolizer: the seam's ops over ksyms and usyms. */
#include "ksyms.h"
#include "symbolizer.h"
#include "usyms.h"

static const struct dp_ksym *real_kernel(void *ctx, uint64_t addr)
{
	const struct dp_symbols *s = ctx;

	return s->ks ? dp_ksyms__find(s->ks, addr) : NULL;
}

static void real_user(void *ctx, uint64_t space, uint64_t addr, bool want_src, struct dp_usym *out)
{
	struct dp_symbols *s = ctx;

	if (!s->us) {
		*out = (struct dp_usym){ .module = "[unmapped]", .offset = addr };
		return;
	}
	dp_usyms__resolve(s->us, space, addr, want_src, out);
}

static int real_inlines(void *ctx, uint64_t space, uint64_t addr, struct dp_uinline *out, int max)
{
	struct dp_symbols *s = ctx;

	return s->us ? dp_usyms__inlines(s->us, space, addr, out, max) : 0;
}

static int real_fp_info(void *ctx, uint64_t space, uint64_t addr, struct dp_uobj_info *out)
{
	struct dp_symbols *s = ctx;

	return s->us ? dp_usyms__fp_info(s->us, space, addr, out) : -ENOENT;
}

static enum dp_uwhere real_where(void *ctx, uint64_t space, uint64_t addr)
{
	struct dp_symbols *s = ctx;

	return s->us ? dp_usyms__where(s->us, space, addr) : DP_UWHERE_UNKNOWN;
}

static const struct dp_symbolizer_ops real_ops = {
	.kernel = real_kernel,
	.user = real_user,
	.inlines = real_inlines,
	.fp_info = real_fp_info,
	.where = real_where,
};

const struct dp_symbolizer *dp_symbols__init(struct dp_symbols *s, const struct dp_ksyms *ks,
					     struct dp_usyms *us)
{
	s->ks = ks;
	s->us = us;
	s->iface.ops = &real_ops;
	s->iface.ctx = s;
	return &s->iface;
}
