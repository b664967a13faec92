// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 * shared frames, and one "sampled" profile per thread whose samples are
 * stacks of frame indices, root first, weighted by their sample counts.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "export.h"
#include "jsonutil.h"
#include "version.h"

#define jstr dp_json__str
#define put dp_json__put

static json_object *frame_obj(const struct dp_frame *fr)
{
	json_object *o = json_object_new_object();
	const char *file = fr->src_file ? fr->src_file : fr->module;

	if (!o)
		return NULL;
	json_object_object_add(o, "name", jstr(fr->name));
	if (file)
		json_object_object_add(o, "file", jstr(file));
	if (fr->src_line > 0)
		json_object_object_add(o, "line", json_object_new_int(fr->src_line));
	return o;
}

struct use {
	uint32_t stack;
	uint64_t count;
};

int dp_speedscope__write(FILE *f, const struct dp_profile *p, const struct dp_runinfo *ri)
{
	struct dp_export x;
	struct use *uses = NULL;
	uint32_t *start = NULL, *fill = NULL, *buf = NULL;
	uint64_t nuses = 0;
	char name[512];
	int err = dp_export__build(&x, p);

	if (err)
		return err;
	/* (stack, count) pairs bucketed by thread, in stack order. */
	for (uint32_t i = 0; i < x.nstacks; i++)
		nuses += x.stacks[i].nthreads;
	err = -ENOMEM;
	uses = calloc(nuses + 1, sizeof(*uses));
	start = calloc(x.nthreads + 1, sizeof(*start));
	fill = calloc(x.nthreads + 1, sizeof(*fill));
	buf = malloc((x.max_frames + 1) * sizeof(*buf));
	if (!uses || !start || !fill || !buf)
		goto out;
	for (uint32_t i = 0; i < x.nstacks; i++)
		for (uint32_t t = 0; t < x.stacks[i].nthreads; t++)
			start[x.stacks[i].threads[t].thread + 1]++;
	for (uint32_t t = 0; t < x.nthreads; t++)
		start[t + 1] += start[t];
	for (uint32_t i = 0; i < x.nstacks; i++)
		for (uint32_t t = 0; t < x.stacks[i].nthreads; t++) {
			uint32_t th = x.stacks[i].threads[t].thread;
			struct use *u = &uses[start[th] + fill[th]++];

			u->stack = i;
			u->count = x.stacks[i].threads[t].count;
		}

	err = 0;
	fprintf(f, "{\"$schema\":\"https://www.speedscope.app/file-format-schema.json\",\n");
	if (ri->leaf_repair)
		snprintf(name, sizeof(name), "deferprof: %s (%s mode, leaf repair: %" PRIu64 " samples)",
			 ri->target, ri->mode ? ri->mode : "?", ri->join.leaf_recovered);
	else
		snprintf(name, sizeof(name), "deferprof: %s (%s mode, leaf repair off)", ri->target,
			 ri->mode ? ri->mode : "?");
	fprintf(f, "\"name\":");
	err = put(f, jstr(name));
	fprintf(f, ",\n\"exporter\":\"deferprof %s\",\n\"activeProfileIndex\":0,\n", DP_VERSION);
	fprintf(f, "\"shared\":{\"frames\":[\n");
	for (uint32_t i = 0; i < x.nframes && !err; i++) {
		err = put(f, frame_obj(dp_export__frame(&x, i)));
		fprintf(f, "%s\n", i + 1 < x.nframes ? "," : "");
	}
	fprintf(f, "]},\n\"profiles\":[\n");
	for (uint32_t t = 0; t < x.nthreads && !err; t++) {
		const struct dp_thread *th = x.threads[t];
		uint64_t total = 0;

		for (uint32_t k = start[t]; k < start[t + 1]; k++)
			total += uses[k].count;
		snprintf(name, sizeof(name), "%s (pid %u, tid %u)", th->comm, th->pid, th->tid);
		fprintf(f, "{\"type\":\"sampled\",\"name\":");
		err = put(f, jstr(name));
		fprintf(f, ",\"unit\":\"none\",\"startValue\":0,\"endValue\":%" PRIu64
			",\n\"samples\":[", total);
		for (uint32_t k = start[t]; k < start[t + 1]; k++) {
			const struct dp_xstack *xs = &x.stacks[uses[k].stack];
			const uint32_t *fr = dp_export__stack_frames(&x, xs, buf);

			fputc('[', f);	/* frame indices: integers, written directly */
			for (uint32_t i = 0; i < xs->nframes; i++)
				fprintf(f, i ? ",%u" : "%u", fr[i]);
			fputs(k + 1 < start[t + 1] ? "],\n" : "]", f);
		}
		fprintf(f, "],\n\"weights\":[");
		for (uint32_t k = start[t]; k < start[t + 1]; k++)
			fprintf(f, "%" PRIu64 "%s", uses[k].count, k + 1 < start[t + 1] ? "," : "");
		fprintf(f, "]}%s\n", t + 1 < x.nthreads ? "," : "");
	}
	fprintf(f, "]}\n");
	if (!err && ferror(f))
		err = -EIO;
out:
	free(uses);
	free(start);
	free(fill);
	free(buf);
	dp_export__free(&x);
	return err;
}
