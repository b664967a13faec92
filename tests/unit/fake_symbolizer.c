#include <string.h>
#include "fake_symbolizer.h"

const uint8_t dp_fake_build_id[20] = {
	0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
	0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
};

static const struct dp_fake_sym *find(const struct dp_fake_symbolizer *f, bool kernel,
				      uint64_t addr)
{
	for (size_t i = 0; i < f->n; i++) {
		const struct dp_fake_sym *s = &f->syms[i];

		if (s->kernel == kernel && addr >= s->start && addr - s->start < s->size)
			return s;
	}
	return NULL;
}

static const struct dp_ksym *fake_kernel(void *ctx, uint64_t addr)
{
	struct dp_fake_symbolizer *f = ctx;
	const struct dp_fake_sym *s = find(f, true, addr);

	f->kernel_calls++;
	if (!s)
		return NULL;
	f->last = (struct dp_ksym){ .addr = s->start, .name = s->name, .module = s->module };
	return &f->last;
}

static void fake_user(void *ctx, uint64_t space, uint64_t addr, bool want_src, struct dp_usym *out)
{
	struct dp_fake_symbolizer *f = ctx;
	const struct dp_fake_sym *s = find(f, false, addr);

	(void)space;
	f->user_calls++;
	memset(out, 0, sizeof(*out));
	out->module = "[unmapped]";
	out->offset = addr;
	if (!s)
		return;
	out->name = s->name;
	out->module = s->module;
	out->offset = addr - s->start;
	out->sym_offset = addr - s->start;
	out->build_id = s->build_id;
	out->build_id_len = s->build_id_len;
	if (want_src) {
		out->src_file = s->src_file;
		out->src_line = s->src_line;
	}
}

static int fake_inlines(void *ctx, uint64_t space, uint64_t addr, struct dp_uinline *out, int max)
{
	const struct dp_fake_sym *s = find(ctx, false, addr);
	int n = 0;

	(void)space;
	for (; s && n < s->ninl && n < max; n++)
		out[n] = s->inl[n];
	return n;
}

static int fake_fp_info(void *ctx, uint64_t space, uint64_t addr, struct dp_uobj_info *out)
{
	const struct dp_fake_sym *s = find(ctx, false, addr);

	(void)space;
	memset(out, 0, sizeof(*out));
	if (!s || !s->funcs_checked)
		return -ENOENT;
	out->module = s->module;
	out->funcs_checked = s->funcs_checked;
	out->funcs_with_fp = s->funcs_with_fp;
	return 0;
}

/* Known for pids below 1000: code where a user symbol is, nowhere elsewhere. */
static enum dp_uwhere fake_where(void *ctx, uint64_t space, uint64_t addr)
{
	if (dp_space__pid(space) >= 1000)
		return DP_UWHERE_UNKNOWN;
	return find(ctx, false, addr) ? DP_UWHERE_CODE : DP_UWHERE_NOWHERE;
}

static const struct dp_symbolizer_ops fake_ops = {
	.kernel = fake_kernel,
	.user = fake_user,
	.inlines = fake_inlines,
	.fp_info = fake_fp_info,
	.where = fake_where,
};

const struct dp_symbolizer *dp_fake_symbolizer__init(struct dp_fake_symbolizer *f,
						     const struct dp_fake_sym *syms, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->syms = syms;
	f->n = n;
	f->iface.ops = &fake_ops;
	f->iface.ctx = f;
	return &f->iface;
}
