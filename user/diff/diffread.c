// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * deferprof diff's inputs (diff.h): deferprof's json document (-f json,
 * read with json-c) or a folded file ("comm;root;...;leaf COUNT" lines, as
 * -f folded, flamegraph.pl's stackcollapse scripts and inferno write them).
 * Anything else, or a document that contradicts itself, is a one-line error.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "diff.h"

struct reader {
	struct dp_diff *d;
	enum dp_diff_side s;
	const char *label;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct reader *r, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->err, r->errlen, "%s: ", r->label);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < r->errlen)
		vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int nomem(struct reader *r)
{
	snprintf(r->err, r->errlen, "%s: out of memory", r->label);
	return -ENOMEM;
}

static int add_path(struct reader *r, uint32_t n, uint64_t count)
{
	return dp_diff__add(r->d, r->s, r->d->path, n, count) ? nomem(r) : 0;
}

static int path_room(struct reader *r, size_t n)
{
	struct dp_diff *d = r->d;
	uint32_t cap = d->cappath ? d->cappath : 64;
	uint32_t *p;

	if (n <= d->cappath)
		return 0;
	if (n > UINT32_MAX / 2)
		return fail(r, "a stack of %zu frames is too deep", n);
	while (cap < n)
		cap *= 2;
	p = realloc(d->path, cap * sizeof(*p));
	if (!p)
		return nomem(r);
	d->path = p;
	d->cappath = cap;
	return 0;
}

/* ---- json ---- */

static json_object *member(json_object *o, const char *key, json_type t)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, t) ? v : NULL;
}

static const char *str_member(json_object *o, const char *key)
{
	json_object *v = member(o, key, json_type_string);

	return v ? json_object_get_string(v) : NULL;
}

static bool count_of(json_object *o, const char *key, uint64_t *out)
{
	json_object *v = member(o, key, json_type_int);

	if (!v || json_object_get_int64(v) < 0)
		return false;
	*out = json_object_get_uint64(v);
	return true;
}

static int set_str(struct reader *r, char **dst, const char *s)
{
	if (!s)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : nomem(r);
}

static int json_frames(struct reader *r, json_object *frames, uint32_t **idx)
{
	size_t n = json_object_array_length(frames);

	*idx = calloc(n + 1, sizeof(**idx));
	if (!*idx)
		return nomem(r);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(frames, i), *line;
		struct dp_dframe_in in = { 0 };
		json_object *b;

		in.name = o ? str_member(o, "name") : NULL;
		if (!in.name)
			return fail(r, "frame %zu has no name", i);
		in.module = str_member(o, "module");
		in.file = str_member(o, "file");
		line = member(o, "line", json_type_int);
		in.line = line ? json_object_get_int(line) : 0;
		in.kernel = (b = member(o, "kernel", json_type_boolean)) && json_object_get_boolean(b);
		in.inlined = (b = member(o, "inlined", json_type_boolean)) && json_object_get_boolean(b);
		in.marker = (b = member(o, "marker", json_type_boolean)) && json_object_get_boolean(b);
		if (dp_diff__frame(r->d, &in, &(*idx)[i]))
			return nomem(r);
	}
	return 0;
}

/* Each thread's command name as a root frame. */
static int json_threads(struct reader *r, json_object *threads, uint32_t **idx)
{
	size_t n = json_object_array_length(threads);

	*idx = calloc(n + 1, sizeof(**idx));
	if (!*idx)
		return nomem(r);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(threads, i);
		struct dp_dframe_in in = { .comm = true };

		in.name = o ? str_member(o, "name") : NULL;
		if (!in.name)
			return fail(r, "thread %zu has no name", i);
		if (dp_diff__frame(r->d, &in, &(*idx)[i]))
			return nomem(r);
	}
	return 0;
}

static int json_stack(struct reader *r, size_t k, json_object *st, const uint32_t *fidx, size_t nf,
		      const uint32_t *tidx, size_t nt, uint64_t *sum)
{
	json_object *frames = st ? member(st, "frames", json_type_array) : NULL;
	json_object *threads = st ? member(st, "threads", json_type_array) : NULL;
	uint64_t samples, by_threads = 0;
	size_t n;
	int err;

	if (!frames || !threads || !count_of(st, "samples", &samples))
		return fail(r, "stack %zu lacks frames, samples or threads", k);
	n = json_object_array_length(frames);
	err = path_room(r, n + 1);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(frames, i);
		int64_t f = v && json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : -1;

		if (f < 0 || (uint64_t)f >= nf)
			return fail(r, "stack %zu names frame %" PRId64 " of %zu", k, f, nf);
		r->d->path[i + 1] = fidx[f];
	}
	for (size_t i = 0; i < json_object_array_length(threads); i++) {
		json_object *tc = json_object_array_get_idx(threads, i), *tv;
		int64_t t = tc && (tv = member(tc, "thread", json_type_int)) ? json_object_get_int64(tv) : -1;
		uint64_t c;

		if (t < 0 || (uint64_t)t >= nt || !count_of(tc, "samples", &c))
			return fail(r, "stack %zu: thread entry %zu is not a thread of the document", k, i);
		r->d->path[0] = tidx[t];
		err = add_path(r, (uint32_t)n + 1, c);
		if (err)
			return err;
		by_threads += c;
	}
	if (by_threads != samples)
		return fail(r, "stack %zu has %" PRIu64 " samples but its threads add up to %" PRIu64,
			    k, samples, by_threads);
	*sum += samples;
	return 0;
}

static int read_json(struct reader *r, const char *buf, size_t len)
{
	struct dp_dinfo *info = &r->d->side[r->s];
	json_tokener *tok = json_tokener_new();
	json_object *doc, *meta, *totals, *frames, *threads, *stacks;
	uint32_t *fidx = NULL, *tidx = NULL;
	uint64_t total, sum = 0;
	const char *type;
	size_t end;
	int err;

	if (!tok)
		return nomem(r);
	doc = json_tokener_parse_ex(tok, buf, (int)len);
	if (!doc || json_tokener_get_error(tok) != json_tokener_success) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		if (e == json_tokener_continue)
			err = fail(r, "not valid JSON (it ends at byte %zu, before the document does)", len);
		else
			err = fail(r, "not valid JSON (%s near byte %zu)", json_tokener_error_desc(e),
				   json_tokener_get_parse_end(tok));
		json_tokener_free(tok);
		json_object_put(doc);
		return err;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && isspace((unsigned char)buf[end]))
		end++;
	if (end < len) {
		json_object_put(doc);
		return fail(r, "more than one JSON document (an ndjson stream?): diff reads one -f json profile");
	}
	type = json_object_is_type(doc, json_type_object) ? str_member(doc, "type") : NULL;
	if (!type || strcmp(type, "profile")) {
		err = fail(r, "not a deferprof profile (its \"type\" is %s%s%s): diff reads -f json or folded files",
			   type ? "\"" : "", type ? type : "missing", type ? "\"" : "");
		json_object_put(doc);
		return err;
	}
	meta = member(doc, "metadata", json_type_object);
	totals = member(doc, "totals", json_type_object);
	frames = member(doc, "frames", json_type_array);
	threads = member(doc, "threads", json_type_array);
	stacks = member(doc, "stacks", json_type_array);
	if (!meta || !totals || !frames || !threads || !stacks || !count_of(totals, "samples", &total)) {
		json_object_put(doc);
		return fail(r, "a deferprof profile without metadata, totals, frames, threads or stacks");
	}
	info->kind = "json";
	err = set_str(r, &info->mode, str_member(meta, "mode"));
	if (!err)
		err = set_str(r, &info->event, str_member(meta, "event"));
	if (!err) {
		json_object *t = member(meta, "target", json_type_object);

		err = set_str(r, &info->target, t ? str_member(t, "description") : NULL);
	}
	if (!err)
		err = json_frames(r, frames, &fidx);
	if (!err)
		err = json_threads(r, threads, &tidx);
	for (size_t k = 0; !err && k < json_object_array_length(stacks); k++)
		err = json_stack(r, k, json_object_array_get_idx(stacks, k), fidx,
				 json_object_array_length(frames), tidx, json_object_array_length(threads),
				 &sum);
	if (!err && sum != total)
		err = fail(r, "totals.samples is %" PRIu64 " but its stacks hold %" PRIu64, total, sum);
	free(fidx);
	free(tidx);
	json_object_put(doc);
	return err;
}

/* ---- folded ---- */

/* "name_[k]": a kernel frame, as stackcollapse-perf.pl --kernel marks them. */
static int folded_frame(struct reader *r, const char *s, size_t n, bool comm, uint32_t *idx)
{
	struct dp_dframe_in in = { .comm = comm };
	char *name = strndup(s, n);
	int err;

	if (!name)
		return nomem(r);
	if (!comm && n > 4 && !strcmp(name + n - 4, "_[k]")) {
		name[n - 4] = 0;
		in.kernel = true;
	}
	in.name = name;
	in.marker = name[0] == '[' && name[strlen(name) - 1] == ']';
	err = dp_diff__frame(r->d, &in, idx) ? nomem(r) : 0;
	free(name);
	return err;
}

static int folded_line(struct reader *r, size_t lineno, const char *s, size_t n)
{
	const char *sp, *end;
	uint32_t k = 0;
	uint64_t count = 0;
	int err;

	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	end = s + n;
	sp = memrchr(s, ' ', n);
	if (!sp || sp == s || sp + 1 == end)
		return fail(r, "line %zu: expected \"frame;frame;... COUNT\"", lineno);
	for (const char *c = sp + 1; c < end; c++) {
		if (!isdigit((unsigned char)*c) || count > (UINT64_MAX - 9) / 10)
			return fail(r, "line %zu: the count \"%.*s\" is not a whole number", lineno,
				    (int)(end - sp - 1), sp + 1);
		count = count * 10 + (uint64_t)(*c - '0');
	}
	for (const char *f = s; f < sp; k++) {
		const char *semi = memchr(f, ';', (size_t)(sp - f));
		size_t len = semi ? (size_t)(semi - f) : (size_t)(sp - f);

		err = path_room(r, k + 1);
		if (!err)
			err = folded_frame(r, f, len, k == 0, &r->d->path[k]);
		if (err)
			return err;
		f += len + (semi ? 1 : 0);
	}
	return add_path(r, k, count);
}

static int read_folded(struct reader *r, const char *buf, size_t len)
{
	size_t lineno = 0;

	r->d->side[r->s].kind = "folded";
	if (memchr(buf, 0, len))
		return fail(r, "holds NUL bytes: neither a json profile nor a folded file");
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;
		size_t j = 0;
		int err;

		lineno++;
		while (j < n && isspace((unsigned char)buf[i + j]))
			j++;
		if (j < n) {
			err = folded_line(r, lineno, buf + i, n);
			if (err)
				return err;
		}
		i += n + 1;
	}
	return 0;
}

int dp_diff__read(struct dp_diff *d, enum dp_diff_side s, const char *label, const char *buf,
		  size_t len, char *err, size_t errlen)
{
	struct reader r = { .d = d, .s = s, .label = label, .err = err, .errlen = errlen };
	size_t i = 0;

	d->side[s].label = strdup(label);
	if (!d->side[s].label)
		return nomem(&r);
	while (i < len && isspace((unsigned char)buf[i]))
		i++;
	if (i == len)
		return fail(&r, "is empty: nothing to compare");
	return buf[i] == '{' || buf[i] == '[' ? read_json(&r, buf, len) : read_folded(&r, buf, len);
}
