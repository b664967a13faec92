// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * deferprof's JSON document and NDJSON stream (user/output/schema/deferprof.schema.json).
 * json-c encodes every value; the document is written element by element, so
 * memory stays proportional to one stack, not to the whole tree of objects.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>
#include "export.h"
#include "jsonutil.h"
#include "version.h"

#define JFLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* A string value, made valid UTF-8 first; json-c escapes the rest. */
json_object *dp_json__str(const char *s)
{
	char *c;
	json_object *o;

	if (!s)
		return NULL;	/* json-c writes NULL as null */
	c = dp_utf8_clean(s);
	if (!c)
		return NULL;
	o = json_object_new_string(c);
	if (c != s)
		free(c);
	return o;
}

#define jstr dp_json__str
#define put dp_json__put

static json_object *jint(uint64_t v)
{
	return json_object_new_uint64(v);
}

/* Seconds to the microsecond, written as such (not as %.17g). */
static json_object *jsecs(double v)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.6f", v);
	return json_object_new_double_s(v, buf);
}

static void add(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

/* Write one value and free it. Returns -ENOMEM when building it failed. */
int dp_json__put(FILE *f, json_object *o)
{
	const char *s;

	if (!o)
		return -ENOMEM;
	s = json_object_to_json_string_ext(o, JFLAGS);
	if (!s) {
		json_object_put(o);
		return -ENOMEM;
	}
	fputs(s, f);
	json_object_put(o);
	return 0;
}

static void iso_time(uint64_t unix_ns, char *buf, size_t len)
{
	time_t t = (time_t)(unix_ns / 1000000000ULL);
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%09" PRIu64 "Z", unix_ns % (uint64_t)1000000000);
}

static json_object *metadata(const struct dp_runinfo *ri, bool running)
{
	json_object *m = json_object_new_object(), *t = json_object_new_object();
	char when[64];

	if (!m || !t) {
		json_object_put(m);
		json_object_put(t);
		return NULL;
	}
	add(m, "tool", json_object_new_string("deferprof"));
	add(m, "tool_version", json_object_new_string(DP_VERSION));
	add(m, "schema_version", json_object_new_int(DP_SCHEMA_VERSION));
	add(m, "host", jstr(ri->host));
	add(m, "kernel", jstr(ri->kernel));
	add(m, "mode", jstr(ri->mode ? ri->mode : "unknown"));
	add(m, "event", jstr(ri->event ? ri->event : "unknown"));
	add(m, "frequency_hz", ri->freq ? jint(ri->freq) : NULL);
	add(m, "period", ri->freq ? NULL : jint(ri->period));
	add(t, "kind", json_object_new_string(ri->target_pid ?
		(!strncmp(ri->target, "thread", 6) ? "thread" : "process") : "system"));
	add(t, "pid", ri->target_pid ? jint(ri->target_pid) : NULL);
	add(t, "command", ri->target_comm[0] ? jstr(ri->target_comm) : NULL);
	add(t, "description", jstr(ri->target));
	add(m, "target", t);
	iso_time(ri->start_unix_ns, when, sizeof(when));
	add(m, "start_time", json_object_new_string(when));
	add(m, "start_unix_ns", jint(ri->start_unix_ns));
	add(m, "duration_s", jsecs(ri->duration_s));
	add(m, "end_reason", running || !ri->end_reason ? NULL : jstr(ri->end_reason));
	add(m, "leaf_repair", json_object_new_boolean(ri->leaf_repair));
	return m;
}

static json_object *losses(const struct dp_loss *l)
{
	json_object *o = json_object_new_object();

	for (int i = 0; o && i < DP_NLOSSES; i++)
		add(o, l[i].name, jint(l[i].value));
	return o;
}

static json_object *totals(uint64_t samples, uint64_t bpf_samples, uint64_t dropped,
			   uint64_t user_lost, uint64_t bad_frames, uint64_t leaf_recovered,
			   const struct dp_export *x)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add(o, "samples", jint(samples));
	add(o, "bpf_samples", jint(bpf_samples));
	add(o, "dropped", jint(dropped));
	add(o, "user_stack_lost", jint(user_lost));
	add(o, "bad_frame_samples", jint(bad_frames));
	add(o, "leaf_recovered", jint(leaf_recovered));
	if (x) {
		add(o, "stacks", jint(x->nstacks));
		add(o, "frames", jint(x->nframes));
		add(o, "threads", jint(x->nthreads));
	}
	return o;
}

static json_object *thread_obj(const struct dp_thread *t)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	add(o, "pid", jint(t->pid));
	add(o, "tid", jint(t->tid));
	add(o, "name", jstr(t->comm));
	add(o, "samples", jint(t->samples));
	return o;
}

static json_object *frame_obj(const struct dp_frame *fr)
{
	json_object *o = json_object_new_object();
	char addr[32];

	if (!o)
		return NULL;
	snprintf(addr, sizeof(addr), "0x%" PRIx64, fr->addr);
	add(o, "name", jstr(fr->name));
	add(o, "module", jstr(fr->module));
	add(o, "build_id", jstr(fr->build_id));
	add(o, "address", json_object_new_string(addr));
	add(o, "kernel", json_object_new_boolean(fr->kernel));
	add(o, "inlined", json_object_new_boolean(fr->inlined));
	add(o, "marker", json_object_new_boolean(fr->marker));
	add(o, "file", jstr(fr->src_file));
	add(o, "line", fr->src_line > 0 ? json_object_new_int(fr->src_line) : NULL);
	return o;
}

/* "key": value, */
static int field(FILE *f, const char *key, json_object *v, const char *nl)
{
	fprintf(f, "\"%s\":", key);
	int err = put(f, v);

	fprintf(f, ",%s", nl);
	return err;
}

/* The threads, frames and stacks tables, and the closing brace. */
static int tables(FILE *f, const struct dp_export *x, const char *nl)
{
	uint32_t *buf = malloc((x->max_frames + 1) * sizeof(*buf));
	int err = 0;

	if (!buf)
		return -ENOMEM;

	fprintf(f, "\"threads\":[%s", nl);
	for (uint32_t i = 0; i < x->nthreads && !err; i++) {
		err = put(f, thread_obj(x->threads[i]));
		fprintf(f, "%s%s", i + 1 < x->nthreads ? "," : "", nl);
	}
	fprintf(f, "],%s\"frames\":[%s", nl, nl);
	for (uint32_t i = 0; i < x->nframes && !err; i++) {
		err = put(f, frame_obj(dp_export__frame(x, i)));
		fprintf(f, "%s%s", i + 1 < x->nframes ? "," : "", nl);
	}
	fprintf(f, "],%s\"stacks\":[%s", nl, nl);
	/* Stacks are only integers: written directly, the hot part of a big export. */
	for (uint32_t i = 0; i < x->nstacks; i++) {
		const struct dp_xstack *st = &x->stacks[i];
		const uint32_t *fr = dp_export__stack_frames(x, st, buf);

		fputs("{\"frames\":[", f);
		for (uint32_t k = 0; k < st->nframes; k++)
			fprintf(f, k ? ",%u" : "%u", fr[k]);
		fprintf(f, "],\"samples\":%" PRIu64 ",\"threads\":[", st->count);
		for (uint32_t k = 0; k < st->nthreads; k++)
			fprintf(f, "%s{\"thread\":%u,\"samples\":%" PRIu64 "}", k ? "," : "",
				st->threads[k].thread, st->threads[k].count);
		fprintf(f, "]}%s%s", i + 1 < x->nstacks ? "," : "", nl);
	}
	fprintf(f, "]}\n");
	free(buf);
	return err;
}

int dp_json__write(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri)
{
	struct dp_loss l[DP_NLOSSES];
	struct dp_export x;
	int err = dp_export__build(&x, p);

	if (err)
		return err;
	dp_runinfo__losses(ri, l);
	fprintf(f, "{\"type\":\"profile\",\n");
	err = field(f, "metadata", metadata(ri, false), "\n");
	if (!err)
		err = field(f, "totals", totals(p->total, ri->bpf[DP_STAT_SAMPLES],
						dp_runinfo__dropped(ri), dp_runinfo__user_lost(ri),
						dp_profile__marker_samples(p, DP_BAD_FRAME),
						ri->join.leaf_recovered, &x),
			    "\n");
	if (!err)
		err = field(f, "losses", losses(l), "\n");
	if (!err)
		err = tables(f, &x, "\n");
	dp_export__free(&x);
	if (!err && ferror(f))
		err = -EIO;
	return err;
}

void dp_ndjson__init(struct dp_ndjson *n, FILE *f)
{
	memset(n, 0, sizeof(*n));
	n->f = f;
}

static int line_end(struct dp_ndjson *n, int err)
{
	if (!err && (fflush(n->f) || ferror(n->f)))
		err = -errno ? -errno : -EIO;
	if (err && !n->err)
		n->err = err;
	return err;
}

int dp_ndjson__interval(struct dp_ndjson *n, const struct dp_profile *delta,
			const struct dp_runinfo *ri)
{
	struct dp_loss now[DP_NLOSSES], before[DP_NLOSSES];
	struct dp_export x;
	json_object *iv;
	int err;

	if (n->err)
		return n->err;
	err = dp_export__build(&x, delta);
	if (err)
		return line_end(n, err);
	dp_runinfo__losses(ri, now);
	dp_runinfo__losses(&n->prev, before);
	for (int i = 0; i < DP_NLOSSES; i++)
		now[i].value -= before[i].value;
	iv = json_object_new_object();
	if (iv) {
		add(iv, "seq", jint(++n->seq));
		add(iv, "start_s", jsecs(n->last_end_s));
		add(iv, "end_s", jsecs(ri->duration_s));
	}
	fprintf(n->f, "{\"type\":\"interval\",");
	err = field(n->f, "interval", iv, "");
	if (!err)
		err = field(n->f, "metadata", metadata(ri, true), "");
	if (!err)
		err = field(n->f, "totals",
			    totals(delta->total,
				   ri->bpf[DP_STAT_SAMPLES] - n->prev.bpf[DP_STAT_SAMPLES],
				   dp_runinfo__dropped(ri) - dp_runinfo__dropped(&n->prev),
				   dp_runinfo__user_lost(ri) - dp_runinfo__user_lost(&n->prev),
				   dp_profile__marker_samples(delta, DP_BAD_FRAME),
				   ri->join.leaf_recovered - n->prev.join.leaf_recovered, &x),
			    "");
	if (!err)
		err = field(n->f, "losses", losses(now), "");
	if (!err)
		err = tables(n->f, &x, "");
	dp_export__free(&x);
	n->total += delta->total;
	n->bad_frames += dp_profile__marker_samples(delta, DP_BAD_FRAME);
	n->last_end_s = ri->duration_s;
	n->prev = *ri;
	return line_end(n, err);
}

int dp_ndjson__summary(struct dp_ndjson *n, const struct dp_runinfo *ri)
{
	struct dp_loss l[DP_NLOSSES];
	json_object *t;
	int err;

	if (n->err)
		return n->err;
	dp_runinfo__losses(ri, l);
	fprintf(n->f, "{\"type\":\"summary\",\"intervals\":%" PRIu64 ",", n->seq);
	err = field(n->f, "metadata", metadata(ri, false), "");
	t = totals(n->total, ri->bpf[DP_STAT_SAMPLES], dp_runinfo__dropped(ri),
		   dp_runinfo__user_lost(ri), n->bad_frames, ri->join.leaf_recovered, NULL);
	if (!err)
		err = field(n->f, "totals", t, "");
	if (!err) {
		fprintf(n->f, "\"losses\":");
		err = put(n->f, losses(l));
		fprintf(n->f, "}\n");
	}
	return line_end(n, err);
}
