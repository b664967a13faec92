// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof's profile.proto, gzip-compressed: what pprof, Pyroscope, Parca and
 * Grafana read. protobuf-c encodes (from user/output/proto/profile.proto), zlib
 * compresses. One Sample per stack and thread, with sample-count and
 * cpu-time values and pid/tid/thread labels; one Location and Function per
 * frame; one Mapping per object, with its build-id.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "export.h"
#include "profile.pb-c.h"
#include "dphash.h"
#include "version.h"

typedef Perftools__Profiles__Profile PProfile;
typedef Perftools__Profiles__ValueType PValueType;
typedef Perftools__Profiles__Sample PSample;
typedef Perftools__Profiles__Label PLabel;
typedef Perftools__Profiles__Mapping PMapping;
typedef Perftools__Profiles__Location PLocation;
typedef Perftools__Profiles__Line PLine;
typedef Perftools__Profiles__Function PFunction;

struct str_ent {
	UT_hash_handle hh;
	int64_t idx;
	char s[];
};

struct strtab {
	struct str_ent *head;
	char **arr;
	size_t n, cap;
	int err;
};

/* The index of s in the string table, added when new (0 is ""). */
static int64_t str(struct strtab *t, const char *s)
{
	struct str_ent *e;
	char *c;
	size_t len;

	if (t->n && (!s || !*s))
		return 0;	/* "" is entry 0, added first */
	c = dp_utf8_clean(s ? s : "");	/* proto3 strings must be UTF-8 */
	if (!c)
		goto oom;
	len = strlen(c);
	HASH_FIND(hh, t->head, c, len, e);
	if (!e) {
		if (t->n == t->cap) {
			size_t nc = t->cap ? t->cap * 2 : 256;
			char **na = realloc(t->arr, nc * sizeof(*na));

			if (!na)
				goto oom_c;
			t->arr = na;
			t->cap = nc;
		}
		e = malloc(sizeof(*e) + len + 1);
		if (!e)
			goto oom_c;
		memcpy(e->s, c, len + 1);
		e->idx = (int64_t)t->n;
		t->arr[t->n++] = e->s;
		HASH_ADD(hh, t->head, s, len, e);
		if (dp_hash_failed()) {
			t->n--;
			free(e);
			goto oom_c;
		}
	}
	if (c != s)
		free(c);
	return e->idx;
oom_c:
	if (c != s)
		free(c);
oom:
	t->err = -ENOMEM;
	return 0;
}

static void strtab_free(struct strtab *t)
{
	struct str_ent *e, *tmp;

	HASH_ITER(hh, t->head, e, tmp) {
		HASH_DEL(t->head, e);
		free(e);
	}
	free(t->arr);
}

/* gzip of buf into f. */
static int gzip_write(FILE *f, const uint8_t *buf, size_t len)
{
	uint8_t out[65536];
	z_stream z;
	int zr, err = 0;

	memset(&z, 0, sizeof(z));
	/* Level 1: most of the size gain for a fraction of the time on big profiles. */
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (uint8_t *)buf;
	z.avail_in = (uInt)len;	/* profiles stay far below 4 GiB */
	do {
		z.next_out = out;
		z.avail_out = sizeof(out);
		zr = deflate(&z, Z_FINISH);
		if (zr == Z_STREAM_ERROR) {
			err = -EIO;
			break;
		}
		if (fwrite(out, 1, sizeof(out) - z.avail_out, f) != sizeof(out) - z.avail_out) {
			err = -EIO;
			break;
		}
	} while (zr != Z_STREAM_END);
	deflateEnd(&z);
	return err;
}

struct map_ent {
	UT_hash_handle hh;
	uint64_t id;
	const char *module;
};

/*
 * The frame whose module is the main executable: pprof readers title a
 * profile with the first mapping ("File: ..."). The module named like the
 * target's command (a comm is cut at 15 bytes), else the one holding main;
 * -1 when neither is known (system-wide), and the order stays the export's.
 */
static int64_t main_object_frame(const struct dp_export *x, const struct dp_runinfo *ri)
{
	size_t clen = strlen(ri->target_comm);
	int64_t with_main = -1;

	for (uint32_t i = 0; i < x->nframes; i++) {
		const struct dp_frame *fr = dp_export__frame(x, i);

		if (!fr->module || fr->kernel || fr->marker)
			continue;
		if (clen && !strncmp(fr->module, ri->target_comm, clen))
			return i;
		if (with_main < 0 && !strcmp(fr->name, "main"))
			with_main = i;
	}
	return with_main;
}

int dp_pprof__write(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri)
{
	PProfile prof = PERFTOOLS__PROFILES__PROFILE__INIT;
	PValueType vt[2] = { PERFTOOLS__PROFILES__VALUE_TYPE__INIT,
			     PERFTOOLS__PROFILES__VALUE_TYPE__INIT };
	PValueType *vtp[2] = { &vt[0], &vt[1] };
	PValueType period_type = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
	struct strtab st = { 0 };
	struct map_ent *maps = NULL, *me, *mt;
	struct dp_export x;
	PSample *samples = NULL, **samplep = NULL;
	PLabel *labels = NULL, **labelp = NULL;
	PLocation *locs = NULL, **locp = NULL;
	PLine *lines = NULL, **linep = NULL;
	PFunction *funcs = NULL, **funcp = NULL;
	PMapping *mappings = NULL, **mappingp = NULL;
	uint64_t *locids = NULL, nsamples = 0, nlocids = 0, nmaps = 0;
	uint32_t *framebuf = NULL;
	int64_t *values = NULL, comments[2];
	uint8_t *buf = NULL;
	uint64_t ns_per_sample;
	int64_t lead;
	char comment[1024];
	size_t len;
	int err;

	err = dp_export__build(&x, p);
	if (err)
		return err;
	for (uint32_t i = 0; i < x.nstacks; i++) {
		nsamples += x.stacks[i].nthreads;
		nlocids += (uint64_t)x.stacks[i].nthreads * x.stacks[i].nframes;
	}
	err = -ENOMEM;
	samples = calloc(nsamples + 1, sizeof(*samples));
	samplep = calloc(nsamples + 1, sizeof(*samplep));
	labels = calloc(3 * nsamples + 1, sizeof(*labels));
	labelp = calloc(3 * nsamples + 1, sizeof(*labelp));
	values = calloc(2 * nsamples + 1, sizeof(*values));
	locids = calloc(nlocids + 1, sizeof(*locids));
	framebuf = malloc((x.max_frames + 1) * sizeof(*framebuf));
	locs = calloc(x.nframes + 1, sizeof(*locs));
	locp = calloc(x.nframes + 1, sizeof(*locp));
	lines = calloc(x.nframes + 1, sizeof(*lines));
	linep = calloc(x.nframes + 1, sizeof(*linep));
	funcs = calloc(x.nframes + 1, sizeof(*funcs));
	funcp = calloc(x.nframes + 1, sizeof(*funcp));
	mappings = calloc(x.nframes + 1, sizeof(*mappings));
	mappingp = calloc(x.nframes + 1, sizeof(*mappingp));
	if (!samples || !samplep || !labels || !labelp || !values || !locids || !framebuf ||
	    !locs || !locp || !lines || !linep || !funcs || !funcp || !mappings || !mappingp)
		goto out;

	str(&st, "");
	/* The cpu time a sample stands for: the period at -F, or -c's count of ns. */
	ns_per_sample = ri->freq ? 1000000000ULL / ri->freq : ri->period;
	vt[0].type = str(&st, "samples");
	vt[0].unit = str(&st, "count");
	if (ri->freq || !ri->event || !strcmp(ri->event, "cpu-clock")) {
		vt[1].type = str(&st, "cpu");
		vt[1].unit = str(&st, "nanoseconds");
	} else {
		vt[1].type = str(&st, ri->event);
		vt[1].unit = str(&st, "count");
	}
	period_type = vt[1];
	prof.n_sample_type = 2;
	prof.sample_type = vtp;
	prof.period_type = &period_type;
	prof.period = (int64_t)ns_per_sample;
	prof.default_sample_type = vt[1].type;
	prof.time_nanos = (int64_t)ri->start_unix_ns;
	prof.duration_nanos = (int64_t)(ri->duration_s * 1e9);

	/* Mappings: one per object, the main executable's first; markers get none. */
	lead = main_object_frame(&x, ri);
	for (int64_t j = lead < 0 ? 0 : -1; j < (int64_t)x.nframes; j++) {
		const struct dp_frame *fr = dp_export__frame(&x, (uint32_t)(j < 0 ? lead : j));
		PMapping *m;

		if (!fr->module)
			continue;
		HASH_FIND_STR(maps, fr->module, me);
		if (me)
			continue;
		me = calloc(1, sizeof(*me));
		if (!me)
			goto out;
		me->module = fr->module;
		me->id = ++nmaps;
		HASH_ADD_KEYPTR(hh, maps, me->module, strlen(me->module), me);
		if (dp_hash_failed()) {
			free(me);
			goto out;
		}
		m = &mappings[nmaps - 1];
		perftools__profiles__mapping__init(m);
		m->id = me->id;
		m->memory_limit = UINT64_MAX;	/* addresses are object offsets */
		m->filename = str(&st, fr->module);
		m->build_id = str(&st, fr->build_id);
		m->has_functions = 1;
		m->has_filenames = fr->src_file != NULL;
		m->has_line_numbers = fr->src_line > 0;
		mappingp[nmaps - 1] = m;
	}
	/* A location and a function per frame; ids are the export index + 1. */
	for (uint32_t i = 0; i < x.nframes; i++) {
		const struct dp_frame *fr = dp_export__frame(&x, i);

		perftools__profiles__function__init(&funcs[i]);
		funcs[i].id = i + 1;
		funcs[i].name = str(&st, fr->name);
		funcs[i].system_name = funcs[i].name;
		funcs[i].filename = str(&st, fr->src_file ? fr->src_file : fr->module);
		funcp[i] = &funcs[i];
		perftools__profiles__line__init(&lines[i]);
		lines[i].function_id = i + 1;
		lines[i].line = fr->src_line;
		linep[i] = &lines[i];
		perftools__profiles__location__init(&locs[i]);
		locs[i].id = i + 1;
		locs[i].address = fr->addr;
		if (fr->module) {
			HASH_FIND_STR(maps, fr->module, me);
			locs[i].mapping_id = me ? me->id : 0;
		}
		locs[i].n_line = 1;
		locs[i].line = &linep[i];
		locp[i] = &locs[i];
	}
	/* Samples: leaf first, per thread. */
	{
		uint64_t si = 0, li = 0;
		int64_t kpid = str(&st, "pid"), ktid = str(&st, "tid"), kthr = str(&st, "thread");

		for (uint32_t i = 0; i < x.nstacks; i++) {
			const struct dp_xstack *xs = &x.stacks[i];
			const uint32_t *fr = dp_export__stack_frames(&x, xs, framebuf);

			for (uint32_t t = 0; t < xs->nthreads; t++, si++) {
				const struct dp_thread *th = x.threads[xs->threads[t].thread];
				PSample *s = &samples[si];
				PLabel *l = &labels[3 * si];

				perftools__profiles__sample__init(s);
				s->n_location_id = xs->nframes;
				s->location_id = &locids[li];
				for (uint32_t k = 0; k < xs->nframes; k++)
					locids[li++] = (uint64_t)fr[xs->nframes - 1 - k] + 1;
				s->n_value = 2;
				s->value = &values[2 * si];
				s->value[0] = (int64_t)xs->threads[t].count;
				s->value[1] = (int64_t)(xs->threads[t].count * ns_per_sample);
				for (int k = 0; k < 3; k++) {
					perftools__profiles__label__init(&l[k]);
					labelp[3 * si + k] = &l[k];
				}
				l[0].key = kpid;
				l[0].num = th->pid;
				l[1].key = ktid;
				l[1].num = th->tid;
				l[2].key = kthr;
				l[2].str = str(&st, th->comm);
				s->n_label = 3;
				s->label = &labelp[3 * si];
				samplep[si] = s;
			}
		}
	}
	snprintf(comment, sizeof(comment), "deferprof %s, %s mode, %s, %s, leaf repair %s: %" PRIu64
		 " samples with a recovered caller", DP_VERSION, ri->mode ? ri->mode : "?", ri->target,
		 ri->kernel, ri->leaf_repair ? "on" : "off", ri->join.leaf_recovered);
	comments[0] = str(&st, comment);
	{
		struct dp_loss l[DP_NLOSSES];
		size_t n = 0;

		dp_runinfo__losses(ri, l);
		n += (size_t)snprintf(comment, sizeof(comment), "losses:");
		for (int i = 0; i < DP_NLOSSES && n < sizeof(comment); i++)
			n += (size_t)snprintf(comment + n, sizeof(comment) - n, " %s=%" PRIu64,
					      l[i].name, l[i].value);
		comments[1] = str(&st, comment);
	}
	prof.n_comment = 2;
	prof.comment = comments;
	if (st.err)
		goto out;
	prof.n_sample = nsamples;
	prof.sample = samplep;
	prof.n_mapping = nmaps;
	prof.mapping = mappingp;
	prof.n_location = x.nframes;
	prof.location = locp;
	prof.n_function = x.nframes;
	prof.function = funcp;
	prof.n_string_table = st.n;
	prof.string_table = st.arr;

	len = perftools__profiles__profile__get_packed_size(&prof);
	buf = malloc(len + 1);
	if (!buf)
		goto out;
	perftools__profiles__profile__pack(&prof, buf);
	err = gzip_write(f, buf, len);
	if (!err && ferror(f))
		err = -EIO;
out:
	HASH_ITER(hh, maps, me, mt) {
		HASH_DEL(maps, me);
		free(me);
	}
	strtab_free(&st);
	free(buf);
	free(samples);
	free(samplep);
	free(labels);
	free(labelp);
	free(values);
	free(locids);
	free(framebuf);
	free(locs);
	free(locp);
	free(lines);
	free(linep);
	free(funcs);
	free(funcp);
	free(mappings);
	free(mappingp);
	dp_export__free(&x);
	return err;
}
