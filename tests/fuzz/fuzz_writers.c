/*
 * Every writer fed hostile names: function, module, source file and thread
 * names from the fuzzer's bytes (quotes, backslashes, control characters,
 * invalid UTF-8, separators of the folded format), over stacks from its
 * bytes too. Each writer must succeed; the JSON ones must give JSON that
 * parses, the folded one a line per stack ending in its count.
 */
#include <json-c/json.h>
#include "fuzz.h"
#include "comms.h"
#include "fake_symbolizer.h"
#include "profile.h"
#include "runinfo.h"
#include "writers.h"

#define NSYMS 6

/* A name from the bytes: up to 24 of them, NUL-ended, never empty. */
static char *name(struct fz *f, char *buf)
{
	size_t len = 1 + fz_take(f, 1) % 24, i;

	for (i = 0; i < len && f->n; i++) {
		buf[i] = (char)fz_take(f, 1);
		if (!buf[i])
			buf[i] = '\x01';
	}
	if (!i)
		buf[i++] = 'x';
	buf[i] = 0;
	return buf;
}

static bool json_ok(const char *s, size_t len)
{
	struct json_tokener *t = json_tokener_new();
	json_object *o;
	bool ok;

	if (!t)
		return true;	/* out of memory: nothing to say about the writer */
	o = json_tokener_parse_ex(t, s, (int)len);
	ok = o && json_tokener_get_error(t) == json_tokener_success;
	json_object_put(o);
	json_tokener_free(t);
	return ok;
}

/* ndjson's lines are checked by its own tests; a whole file per format here. */
static void write_all(const struct dp_profile *p, const struct dp_runinfo *ri)
{
	for (int fmt = 0; fmt < DP_FMT_COUNT; fmt++) {
		const struct dp_writer *w = dp_writer__get((enum dp_format)fmt);
		char *out = NULL;
		size_t len = 0;
		FILE *f;
		int err;

		if (!w->write)
			continue;
		f = open_memstream(&out, &len);
		if (!f)
			return;
		err = w->write(f, p, ri, NULL);
		FZ_CHECK(!fclose(f));
		FZ_CHECK(!err);
		if (fmt == DP_FMT_JSON || fmt == DP_FMT_SPEEDSCOPE)
			FZ_CHECK(json_ok(out, len));
		if (fmt == DP_FMT_FOLDED) {
			size_t lines = 0;

			for (char *l = out; l < out + len; lines++) {
				char *nl = memchr(l, '\n', (size_t)(out + len - l)), *sp;

				FZ_CHECK(nl);
				*nl = 0;
				sp = strrchr(l, ' ');
				FZ_CHECK(sp && sp[1] >= '1' && sp[1] <= '9');
				l = nl + 1;
			}
			FZ_CHECK(lines <= p->nstacks);
		}
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char names[NSYMS][3][32], comm[2][32];
	struct dp_fake_sym syms[NSYMS];
	struct dp_fake_symbolizer sz;
	struct dp_profile_opts po = { .want_inline = true, .want_src = true };
	struct fz f = { data, size };
	struct dp_stack_table t;
	struct dp_runinfo ri;
	struct dp_profile p;
	struct dp_comms *comms;

	memset(syms, 0, sizeof(syms));
	for (int i = 0; i < NSYMS; i++) {
		syms[i].kernel = i < 2;
		syms[i].start = (syms[i].kernel ? 0xffffffff81000000ull : 0x401000ull) + (uint64_t)i * 0x100;
		syms[i].size = 0x100;
		syms[i].name = name(&f, names[i][0]);
		syms[i].module = fz_take(&f, 1) & 1 ? name(&f, names[i][1]) : NULL;
		if (!syms[i].kernel && fz_take(&f, 1) & 1) {
			syms[i].src_file = name(&f, names[i][2]);
			syms[i].src_line = (int)fz_take(&f, 2);
		}
	}
	comms = dp_comms__new();
	if (!comms)
		return 0;
	dp_comms__set(comms, 10, 10, name(&f, comm[0]));
	dp_comms__set(comms, 10, 11, name(&f, comm[1]));
	dp_stack_table__init(&t);
	while (f.n) {
		uint64_t k[4], u[4];
		struct dp_stack_hdr h = { .pid = 10, .tid = 10 + (uint32_t)(fz_take(&f, 1) & 1),
					  .knr = (uint16_t)(fz_take(&f, 1) % 3),
					  .unr = (uint16_t)(fz_take(&f, 1) % 5) };

		for (int i = 0; i < h.knr; i++)
			k[i] = syms[fz_take(&f, 1) % 2].start + fz_take(&f, 1);
		for (int i = 0; i < h.unr; i++)
			u[i] = syms[2 + fz_take(&f, 1) % (NSYMS - 2)].start + fz_take(&f, 1) % 0x180;
		if (dp_stack_table__add(&t, &h, k, u, 1 + fz_take(&f, 1) % 4))
			break;
	}
	memset(&ri, 0, sizeof(ri));
	ri.mode = "deferred";
	ri.event = "cpu-clock";
	ri.end_reason = "duration";
	ri.freq = 99;
	ri.duration_s = 1;
	snprintf(ri.target, sizeof(ri.target), "process 10 (%s)", comm[0]);
	if (!dp_profile__build(&p, &t, dp_fake_symbolizer__init(&sz, syms, NSYMS), comms, &po)) {
		write_all(&p, &ri);
		dp_profile__free(&p);
	}
	dp_stack_table__clear(&t);
	dp_comms__free(comms);
	return 0;
}
