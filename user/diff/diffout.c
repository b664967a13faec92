// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * deferprof diff's outputs (diff.h): folded with two counts per stack (as
 * flamegraph.pl's difffolded.pl -n writes them: BASE scaled to NEW's total,
 * then NEW), the report of the functions whose share changed most, and the
 * html page (a differential flame graph) with its json data.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "diff.h"
#include "html.h"
#include "jsonutil.h"

/* Separators and line breaks inside a name would break the format. */
static void put_name(FILE *f, const char *s)
{
	for (;;) {
		size_t n = strcspn(s, ";\n\r");

		fwrite(s, 1, n, f);
		if (!s[n])
			return;
		fputc(s[n] == ';' ? ':' : ' ', f);
		s += n + 1;
	}
}

int dp_diff__write_folded(FILE *f, const struct dp_diff *d)
{
	double scale = (double)d->side[DP_DIFF_NEW].samples / (double)d->side[DP_DIFF_BASE].samples;

	for (uint32_t i = 0; i < d->nstacks; i++) {
		const struct dp_dstack *st = d->stacks[i];

		for (uint32_t k = 0; k < st->nframes; k++) {
			const struct dp_dframe *fr = d->frames[st->frames[k]];

			if (k)
				fputc(';', f);
			put_name(f, fr->name);
			if (fr->kernel && !fr->module)
				fputs("_[k]", f);	/* it came so from a folded file */
		}
		/* rounded to the nearest whole sample, as difffolded.pl -n does */
		fprintf(f, " %" PRIu64 " %" PRIu64 "\n",
			(uint64_t)((double)st->count[DP_DIFF_BASE] * scale + 0.5), st->count[DP_DIFF_NEW]);
	}
	return ferror(f) ? -EIO : 0;
}

static void side_line(FILE *f, const char *name, const struct dp_dinfo *s)
{
	fprintf(f, "  %-5s %s (%s): %" PRIu64 " samples", name, s->label, s->kind, s->samples);
	if (s->target)
		fprintf(f, ", %s", s->target);
	if (s->mode)
		fprintf(f, ", %s mode", s->mode);
	if (s->event)
		fprintf(f, ", %s", s->event);
	fputc('\n', f);
}

static const char *module_of(const struct dp_dframe *fr)
{
	return fr->module ? fr->module : fr->kernel ? "kernel" : "-";
}

int dp_diff__write_report(FILE *f, const struct dp_diff *d, uint32_t top)
{
	struct dp_dchange *c;
	uint32_t n, only[2] = { 0, 0 }, both = 0;
	int err = dp_diff__changes(d, &c, &n);

	if (err)
		return err;
	for (uint32_t i = 0; i < d->nstacks; i++) {
		const uint64_t *k = d->stacks[i]->count;

		if (k[0] && k[1])
			both++;
		else
			only[k[0] ? 0 : 1]++;
	}
	fprintf(f, "deferprof diff: %s -> %s\n", d->side[0].label, d->side[1].label);
	side_line(f, "BASE:", &d->side[DP_DIFF_BASE]);
	side_line(f, "NEW:", &d->side[DP_DIFF_NEW]);
	fprintf(f, "  stacks: %u in both, %u in BASE only, %u in NEW only\n", both, only[0], only[1]);
	fprintf(f, "  shares are of each side's own samples; changes in percentage points, NEW - BASE\n\n");
	fprintf(f, "Functions whose share changed most (%u of %u, by self share):\n", n < top ? n : top, n);
	fprintf(f, "  %9s %9s %8s  %9s %9s %8s  %s\n", "SELF BASE", "SELF NEW", "CHANGE", "TOTAL BASE",
		"TOTAL NEW", "CHANGE", "FUNCTION [MODULE]");
	for (uint32_t i = 0; i < n && i < top; i++) {
		const struct dp_dframe *fr = d->frames[c[i].frame];

		const char *m = module_of(fr);
		bool bracketed = m[0] == '[';	/* "[kernel]" as the report writes it */

		fprintf(f, "  %8.2f%% %8.2f%% %+8.2f  %8.2f%% %8.2f%% %+8.2f  %s %s%s%s%s\n",
			dp_diff__share(d, DP_DIFF_BASE, fr->self[0]),
			dp_diff__share(d, DP_DIFF_NEW, fr->self[1]), c[i].dself,
			dp_diff__share(d, DP_DIFF_BASE, fr->total[0]),
			dp_diff__share(d, DP_DIFF_NEW, fr->total[1]), c[i].dtotal, fr->name,
			bracketed ? "" : "[", m, bracketed ? "" : "]", fr->inlined ? " (inlined)" : "");
	}
	free(c);
	return ferror(f) ? -EIO : 0;
}

static json_object *side_obj(const struct dp_dinfo *s)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "file", dp_json__str(s->label));
	json_object_object_add(o, "kind", json_object_new_string(s->kind));
	json_object_object_add(o, "samples", json_object_new_uint64(s->samples));
	json_object_object_add(o, "target", dp_json__str(s->target));
	json_object_object_add(o, "mode", dp_json__str(s->mode));
	json_object_object_add(o, "event", dp_json__str(s->event));
	return o;
}

static json_object *frame_obj(const struct dp_dframe *fr)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "name", dp_json__str(fr->name));
	json_object_object_add(o, "module", dp_json__str(fr->module));
	json_object_object_add(o, "kernel", json_object_new_boolean(fr->kernel));
	json_object_object_add(o, "inlined", json_object_new_boolean(fr->inlined));
	json_object_object_add(o, "marker", json_object_new_boolean(fr->marker));
	json_object_object_add(o, "comm", json_object_new_boolean(fr->comm));
	json_object_object_add(o, "file", dp_json__str(fr->file));
	json_object_object_add(o, "line", fr->line > 0 ? json_object_new_int(fr->line) : NULL);
	return o;
}

static json_object *change_obj(const struct dp_diff *d, const struct dp_dchange *c)
{
	const struct dp_dframe *fr = d->frames[c->frame];
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "frame", json_object_new_int64(c->frame));
	json_object_object_add(o, "name", dp_json__str(fr->name));
	json_object_object_add(o, "module", dp_json__str(module_of(fr)));
	json_object_object_add(o, "base_self", json_object_new_uint64(fr->self[0]));
	json_object_object_add(o, "new_self", json_object_new_uint64(fr->self[1]));
	json_object_object_add(o, "base_total", json_object_new_uint64(fr->total[0]));
	json_object_object_add(o, "new_total", json_object_new_uint64(fr->total[1]));
	return o;
}

int dp_diff__write_json(FILE *f, const struct dp_diff *d, uint32_t top)
{
	struct dp_dchange *c;
	uint32_t n;
	int err = dp_diff__changes(d, &c, &n);

	if (err)
		return err;
	fputs("{\"type\":\"diff\",\n\"base\":", f);
	err = dp_json__put(f, side_obj(&d->side[DP_DIFF_BASE]));
	fputs(",\n\"new\":", f);
	if (!err)
		err = dp_json__put(f, side_obj(&d->side[DP_DIFF_NEW]));
	fputs(",\n\"frames\":[\n", f);
	for (uint32_t i = 0; i < d->nframes && !err; i++) {
		err = dp_json__put(f, frame_obj(d->frames[i]));
		fputs(i + 1 < d->nframes ? ",\n" : "\n", f);
	}
	fputs("],\n\"stacks\":[\n", f);
	for (uint32_t i = 0; i < d->nstacks && !err; i++) {
		const struct dp_dstack *st = d->stacks[i];

		fputs("{\"frames\":[", f);
		for (uint32_t k = 0; k < st->nframes; k++)
			fprintf(f, k ? ",%u" : "%u", st->frames[k]);
		fprintf(f, "],\"base\":%" PRIu64 ",\"new\":%" PRIu64 "}%s\n", st->count[0], st->count[1],
			i + 1 < d->nstacks ? "," : "");
	}
	fputs("],\n\"functions\":[\n", f);
	for (uint32_t i = 0; i < n && i < top && !err; i++) {
		err = dp_json__put(f, change_obj(d, &c[i]));
		fputs(i + 1 < n && i + 1 < top ? ",\n" : "\n", f);
	}
	fputs("]}\n", f);
	free(c);
	return err ? err : ferror(f) ? -EIO : 0;
}

struct page_ctx {
	const struct dp_diff *d;
	uint32_t top;
};

static int page_data(FILE *f, void *arg)
{
	const struct page_ctx *c = arg;

	return dp_diff__write_json(f, c->d, c->top);
}

int dp_diff__write_html(FILE *f, const struct dp_diff *d, uint32_t top)
{
	struct page_ctx c = { .d = d, .top = top };
	char title[512];

	snprintf(title, sizeof(title), "deferprof diff: %s -> %s", d->side[0].label, d->side[1].label);
	return dp_html__page(f, title, page_data, &c);
}
