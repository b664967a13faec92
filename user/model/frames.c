// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Addresses into the profile's frames, through the symbolizer: names, inlined chains, markers. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fpcheck.h"
#include "profile_index.h"
#include "symbolizer.h"

static char *hex(const uint8_t *b, int n)
{
	char *s = malloc((size_t)n * 2 + 1);

	if (!s)
		return NULL;
	for (int i = 0; i < n; i++)
		sprintf(s + 2 * i, "%02x", b[i]);
	s[2 * n] = 0;
	return s;
}

int dp_frames__intern(struct dp_profile *p, const struct frame_desc *d, uint32_t *idx)
{
	struct index *ix = p->index;
	struct name_ent *ne;
	struct dp_frame *f;
	char *key;

	if (asprintf(&key, "%c%c|%s|%s", d->kernel ? 'k' : d->marker ? 'm' : 'u',
		     d->inlined ? 'i' : '-', d->module ? d->module : "", d->name) < 0)
		return -ENOMEM;
	HASH_FIND_STR(ix->names, key, ne);
	if (ne) {
		free(key);
		*idx = ne->frame;
		f = &p->frames[ne->frame];
		/* The lowest address seen describes the frame, whatever the order of arrival. */
		if (d->addr < f->addr) {
			char *src = d->src_file ? strdup(d->src_file) : NULL;

			if (d->src_file && !src)
				return -ENOMEM;
			free(f->src_file);
			f->src_file = src;
			f->src_line = d->src_line;
			f->addr = d->addr;
		}
		return 0;
	}
	if (dp_profile__grow((void **)&p->frames, &p->capframes, p->nframes, sizeof(*p->frames)))
		goto oom;
	ne = calloc(1, sizeof(*ne));
	if (!ne)
		goto oom;
	f = &p->frames[p->nframes];
	memset(f, 0, sizeof(*f));
	f->name = strdup(d->name);
	f->module = d->module ? strdup(d->module) : NULL;
	f->build_id = d->build_id_hex ? strdup(d->build_id_hex) :
		      d->build_id_len > 0 ? hex(d->build_id, d->build_id_len) : NULL;
	f->src_file = d->src_file ? strdup(d->src_file) : NULL;
	if (!f->name || (d->module && !f->module) ||
	    ((d->build_id_len > 0 || d->build_id_hex) && !f->build_id) ||
	    (d->src_file && !f->src_file)) {
		free(f->name);
		free(f->module);
		free(f->build_id);
		free(f->src_file);
		free(ne);
		goto oom;
	}
	f->src_line = d->src_line;
	f->addr = d->addr;
	f->kernel = d->kernel;
	f->marker = d->marker;
	f->inlined = d->inlined;
	ne->key = key;
	ne->frame = p->nframes++;
	HASH_ADD_KEYPTR(hh, ix->names, ne->key, strlen(ne->key), ne);
	if (dp_hash_failed()) {	/* the frame stays in the array, freed with it */
		free(ne);
		goto oom;
	}
	*idx = ne->frame;
	return 0;
oom:
	free(key);
	return -ENOMEM;
}

int dp_frames__marker(struct dp_profile *p, const char *name, bool kernel, uint32_t *idx)
{
	struct frame_desc d = { .name = name, .kernel = kernel, .marker = true };

	return dp_frames__intern(p, &d, idx);
}

static int kernel_frame(struct dp_profile *p, const struct dp_symbolizer *sz, uint64_t ip,
			struct addr_ent *ae)
{
	const struct dp_ksym *s = dp_symbolizer__kernel(sz, ip);
	struct frame_desc d = { .module = "[kernel]", .addr = ip, .kernel = true };
	char buf[64];

	if (s) {
		d.name = s->name;
		if (s->module)
			d.module = s->module;
	} else {
		snprintf(buf, sizeof(buf), "[kernel]+0x%" PRIx64, ip);
		d.name = buf;
	}
	ae->nfr = 1;
	return dp_frames__intern(p, &d, &ae->fr[0]);
}

static int user_frame(struct dp_profile *p, const struct dp_symbolizer *sz, uint64_t space,
		      uint64_t ip, bool leaf, const struct dp_profile_opts *opts, struct addr_ent *ae)
{
	struct dp_uinline inl[MAX_INLINE];
	struct frame_desc d = { 0 };
	struct dp_usym sym;
	uint64_t at = leaf || !ip ? ip : ip - 1;	/* a return address points after its call */
	char buf[512];
	int ninl = 0, err;

	dp_symbolizer__user(sz, space, at, opts->want_src, &sym);
	d.module = sym.module;
	d.addr = sym.offset;
	d.build_id = sym.build_id;
	d.build_id_len = sym.build_id_len;
	if (sym.name) {
		d.name = sym.name;
	} else {
		snprintf(buf, sizeof(buf), "%s+0x%" PRIx64, sym.module,
			 leaf || !ip ? sym.offset : sym.offset + 1);
		d.name = buf;
	}
	if (opts->want_inline && sym.name)
		ninl = dp_symbolizer__inlines(sz, space, at, inl, MAX_INLINE);
	if (!opts->want_src)	/* lines are the exports' only: frames are the same without */
		for (int i = 0; i < ninl; i++)
			inl[i].call_file = NULL, inl[i].call_line = 0;
	/*
	 * The real function comes first (outermost). Its line is where the
	 * outermost inlined call sits; each inlined function's line is the next
	 * one's call site, and the innermost has the address's own line.
	 */
	d.src_file = ninl ? inl[ninl - 1].call_file : sym.src_file;
	d.src_line = ninl ? inl[ninl - 1].call_line : sym.src_line;
	ae->nfr = 0;
	if ((err = dp_frames__intern(p, &d, &ae->fr[ae->nfr++])))
		return err;
	for (int i = ninl; i-- > 0;) {
		d.name = inl[i].name;
		d.inlined = true;
		d.src_file = i ? inl[i - 1].call_file : sym.src_file;
		d.src_line = i ? inl[i - 1].call_line : sym.src_line;
		if ((err = dp_frames__intern(p, &d, &ae->fr[ae->nfr++])))
			return err;
	}
	return 0;
}

/* The frames of one address, outermost first, appended at out[*n]. */
int dp_frames__for(struct dp_profile *p, const struct dp_symbolizer *sz, uint64_t space,
		      uint64_t ip, bool kernel, bool leaf,
		      const struct dp_profile_opts *opts, uint32_t *out, uint32_t *n)
{
	struct index *ix = p->index;
	struct addr_ent *ae, probe;
	int err;

	memset(&probe.key, 0, sizeof(probe.key));
	probe.key.space = kernel ? 0 : space;
	probe.key.kernel = kernel | (leaf ? 2 : 0);
	probe.key.addr = ip;
	HASH_FIND(hh, ix->addrs, &probe.key, sizeof(probe.key), ae);
	if (!ae) {
		ae = calloc(1, sizeof(*ae));
		if (!ae)
			return -ENOMEM;
		ae->key = probe.key;
		err = kernel ? kernel_frame(p, sz, ip, ae) : user_frame(p, sz, space, ip, leaf, opts, ae);
		if (err) {
			free(ae);
			return err;
		}
		HASH_ADD(hh, ix->addrs, key, sizeof(ae->key), ae);
		if (dp_hash_failed()) {
			free(ae);
			return -ENOMEM;
		}
	}
	memcpy(out + *n, ae->fr, ae->nfr * sizeof(*out));
	*n += ae->nfr;
	return 0;
}

/* Remember objects where user stacks stop early and that lack frame pointers. */
int dp_frames__note_outermost(struct dp_profile *p, const struct dp_symbolizer *sz, uint64_t space,
			  uint64_t ip, const char *name, uint64_t count)
{
	struct index *ix = p->index;
	struct dp_uobj_info info;
	struct obj_ent *oe;
	struct dp_nofp *n;
	static const char *const roots[] = {
		"_start", "__libc_start_main", "__libc_start_call_main", "start_thread",
		"clone", "clone3", "__clone3", "thread_start",
	};

	/* A stack that reaches a thread's or process's first function is complete. */
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (!strcmp(name, roots[i]))
			return 0;
	if (dp_symbolizer__fp_info(sz, space, ip, &info) || info.funcs_checked < DP_FPCHECK_MIN_FUNCS ||
	    info.funcs_with_fp * 2 >= info.funcs_checked)
		return 0;
	HASH_FIND_STR(ix->objs, info.module, oe);
	if (!oe) {
		n = realloc(p->nofp, (p->nnofp + 1) * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->nofp = n;
		n = &p->nofp[p->nnofp];
		memset(n, 0, sizeof(*n));
		n->module = strdup(info.module);
		oe = calloc(1, sizeof(*oe));
		if (!n->module || !oe) {
			free(n->module);
			free(oe);
			return -ENOMEM;
		}
		n->funcs_checked = info.funcs_checked;
		n->funcs_with_fp = info.funcs_with_fp;
		oe->module = n->module;
		oe->idx = p->nnofp++;
		HASH_ADD_KEYPTR(hh, ix->objs, oe->module, strlen(oe->module), oe);
		if (dp_hash_failed()) {	/* the note stays in nofp, freed with it */
			free(oe);
			return -ENOMEM;
		}
	}
	p->nofp[oe->idx].samples += count;
	return 0;
}
