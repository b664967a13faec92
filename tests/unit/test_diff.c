/*
 * deferprof diff on small inputs with known answers: shares and their
 * changes, folded output scaled to NEW's total, json inputs matched by name
 * and module, recursion counted once, the same bytes whatever the input
 * order, the html page's data, and a one-line error for each bad input.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "diff.h"

/* BASE: 10 samples, a 60%, b 40%. NEW: 20 samples, a 10%, b 30%, c 60%. */
static const char base_folded[] = "prog;main;a 6\nprog;main;b 4\n";
static const char new_folded[] = "prog;main;c 12\n\nprog;main;b 6\nprog;main;a 2\n";

static char err[512];

static void load(struct dp_diff *d, const char *base, const char *nw)
{
	dp_diff__init(d);
	cr_assert_eq(dp_diff__read(d, DP_DIFF_BASE, "base", base, strlen(base), err, sizeof(err)), 0,
		     "%s", err);
	cr_assert_eq(dp_diff__read(d, DP_DIFF_NEW, "new", nw, strlen(nw), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(dp_diff__finish(d, err, sizeof(err)), 0, "%s", err);
}

/* The error a pair of inputs gives (read or finish), "" when none. */
static const char *error_of(const char *base, const char *nw)
{
	struct dp_diff d;
	int rc;

	err[0] = 0;
	dp_diff__init(&d);
	rc = dp_diff__read(&d, DP_DIFF_BASE, "base", base, strlen(base), err, sizeof(err));
	if (!rc)
		rc = dp_diff__read(&d, DP_DIFF_NEW, "new", nw, strlen(nw), err, sizeof(err));
	if (!rc)
		rc = dp_diff__finish(&d, err, sizeof(err));
	dp_diff__free(&d);
	cr_assert_eq(rc != 0, err[0] != 0, "an error without a message, or the reverse: %s", err);
	cr_assert_null(strchr(err, '\n'), "one line: %s", err);
	return err;
}

typedef int (*out_fn)(FILE *, const struct dp_diff *);

static char *out_of(const struct dp_diff *d, int (*fn)(FILE *, const struct dp_diff *, uint32_t),
		    uint32_t top)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);

	cr_assert_not_null(m);
	cr_assert_eq(fn(m, d, top), 0);
	cr_assert_eq(fclose(m), 0);
	return buf;
}

static int folded_top(FILE *f, const struct dp_diff *d, uint32_t top)
{
	(void)top;
	return dp_diff__write_folded(f, d);
}

static const struct dp_dframe *frame_named(const struct dp_diff *d, const char *name)
{
	for (uint32_t i = 0; i < d->nframes; i++)
		if (!strcmp(d->frames[i]->name, name) && !d->frames[i]->comm)
			return d->frames[i];
	cr_assert_fail("no frame %s", name);
	return NULL;
}

Test(diff, shares_and_changes_of_two_folded_files)
{
	struct dp_diff d;
	struct dp_dchange *c;
	uint32_t n;
	const char *want[] = { "c", "a", "b", "main" };
	const double dself[] = { 60, -50, -10, 0 };

	load(&d, base_folded, new_folded);
	cr_assert_eq(d.side[0].samples, 10);
	cr_assert_eq(d.side[1].samples, 20);
	cr_assert_str_eq(d.side[0].kind, "folded");
	cr_assert_eq(d.nstacks, 3);
	cr_assert_eq(dp_diff__changes(&d, &c, &n), 0);
	cr_assert_eq(n, 4, "prog is the command name, not a function");
	for (uint32_t i = 0; i < n; i++) {
		cr_assert_str_eq(d.frames[c[i].frame]->name, want[i], "#%u", i);
		cr_assert_float_eq(c[i].dself, dself[i], 1e-9, "%s", want[i]);
	}
	cr_assert_float_eq(c[3].dtotal, 0, 1e-9, "main: 100%% on both sides");
	cr_assert_eq(frame_named(&d, "main")->total[0], 10);
	cr_assert_eq(frame_named(&d, "main")->total[1], 20);
	free(c);
	dp_diff__free(&d);
}

Test(diff, folded_output_scales_base_to_new_total)
{
	struct dp_diff d;
	char *out;

	load(&d, base_folded, new_folded);
	out = out_of(&d, folded_top, 0);
	cr_assert_str_eq(out, "prog;main;a 12 2\nprog;main;b 8 6\nprog;main;c 0 12\n");
	free(out);
	dp_diff__free(&d);
}

Test(diff, same_inputs_in_another_order_same_bytes)
{
	struct dp_diff a, b;
	static const char base_rev[] = "prog;main;b 4\nprog;main;a 6\n";
	static const char new_rev[] = "prog;main;a 2\nprog;main;b 6\nprog;main;c 12\n";
	char *x, *y;

	load(&a, base_folded, new_folded);
	load(&b, base_rev, new_rev);
	x = out_of(&a, dp_diff__write_json, 10);
	y = out_of(&b, dp_diff__write_json, 10);
	cr_assert_str_eq(x, y);
	free(x);
	free(y);
	x = out_of(&a, dp_diff__write_report, 10);
	y = out_of(&b, dp_diff__write_report, 10);
	cr_assert_str_eq(x, y);
	cr_assert_not_null(strstr(x, "     0.00%    60.00%   +60.00      0.00%    60.00%   +60.00  c [-]\n"), "%s", x);
	cr_assert_not_null(strstr(x, "    60.00%    10.00%   -50.00     60.00%    10.00%   -50.00  a [-]\n"), "%s", x);
	cr_assert_not_null(strstr(x, "stacks: 2 in both, 0 in BASE only, 1 in NEW only"), "%s", x);
	free(x);
	free(y);
	dp_diff__free(&a);
	dp_diff__free(&b);
}

Test(diff, recursion_counts_once_in_total)
{
	struct dp_diff d;

	load(&d, "p;a;a;a 5\np;b 5\n", "p;a 1\np;b 1\n");
	cr_assert_eq(frame_named(&d, "a")->total[0], 5);
	cr_assert_eq(frame_named(&d, "a")->self[0], 5);
	cr_assert_eq(frame_named(&d, "a")->total[1], 1);
	dp_diff__free(&d);
}

Test(diff, kernel_frames_of_folded_files_keep_their_mark)
{
	struct dp_diff d;
	char *out;

	load(&d, "p;main;read_k;vfs_read_[k] 2\n", "p;main;read_k;vfs_read_[k] 4\n");
	cr_assert(frame_named(&d, "vfs_read")->kernel);
	cr_assert(!frame_named(&d, "read_k")->kernel);
	out = out_of(&d, folded_top, 0);
	cr_assert_str_eq(out, "p;main;read_k;vfs_read_[k] 4 4\n");
	free(out);
	dp_diff__free(&d);
}

/* A deferprof json document: two threads named "w", frames f (in two modules) and g. */
#define DOC(samples, s0, s1, mod)                                                                   \
	"{\"type\":\"profile\",\"metadata\":{\"mode\":\"deferred\",\"event\":\"cpu-clock\","        \
	"\"target\":{\"description\":\"pid 1 (w)\"}},\"totals\":{\"samples\":" samples "},"         \
	"\"threads\":[{\"pid\":1,\"tid\":1,\"name\":\"w\",\"samples\":1},"                          \
	"{\"pid\":1,\"tid\":2,\"name\":\"w\",\"samples\":1}],"                                      \
	"\"frames\":[{\"name\":\"main\",\"module\":\"w\",\"kernel\":false},"                         \
	"{\"name\":\"f\",\"module\":\"" mod "\",\"kernel\":false,\"file\":\"w.c\",\"line\":3},"      \
	"{\"name\":\"f\",\"module\":\"libz.so\",\"kernel\":false},"                                   \
	"{\"name\":\"vfs_read\",\"module\":\"[kernel]\",\"kernel\":true}],"                           \
	"\"stacks\":[{\"frames\":[0,1],\"samples\":" s0 ",\"threads\":[{\"thread\":0,\"samples\":" s0 "}]}," \
	"{\"frames\":[0,2,3],\"samples\":" s1 ",\"threads\":[{\"thread\":1,\"samples\":" s1 "}]}]}"

Test(diff, json_frames_match_by_name_and_module)
{
	struct dp_diff d;
	uint32_t fs = 0;

	load(&d, DOC("4", "1", "3", "w"), DOC("8", "6", "2", "w"));
	cr_assert_str_eq(d.side[0].kind, "json");
	cr_assert_str_eq(d.side[0].target, "pid 1 (w)");
	cr_assert_eq(d.nstacks, 2, "both threads are named w: one command root");
	for (uint32_t i = 0; i < d.nframes; i++) {
		const struct dp_dframe *f = d.frames[i];

		if (strcmp(f->name, "f"))
			continue;
		fs++;
		if (!strcmp(f->module, "w")) {
			cr_assert_eq(f->self[0], 1);
			cr_assert_eq(f->self[1], 6);
			cr_assert_str_eq(f->file, "w.c");
			cr_assert_eq(f->line, 3);
		} else {
			cr_assert_str_eq(f->module, "libz.so");
			cr_assert_eq(f->total[0], 3);
			cr_assert_eq(f->total[1], 2);
		}
	}
	cr_assert_eq(fs, 2, "f of w and f of libz.so are two functions");
	dp_diff__free(&d);
	/* a rebuilt object with f in another module: another function */
	load(&d, DOC("4", "1", "3", "w"), DOC("4", "1", "3", "w2"));
	cr_assert_eq(d.nstacks, 3);
	dp_diff__free(&d);
}

Test(diff, html_page_carries_the_diff_document)
{
	struct dp_diff d;
	char *page, *json;
	const char *s;
	json_object *doc, *v;

	load(&d, base_folded, new_folded);
	page = out_of(&d, dp_diff__write_html, 20);
	json = out_of(&d, dp_diff__write_json, 20);
	s = strstr(page, "<script type=\"application/json\" id=\"dp-data\">\n");
	cr_assert_not_null(s);
	s = strchr(s, '\n') + 1;
	cr_assert_eq(strncmp(s, json, strlen(json)), 0, "the page's data is the diff document");
	cr_assert_eq(strncmp(s + strlen(json), "</script>", 9), 0);
	doc = json_tokener_parse(json);
	cr_assert_not_null(doc);
	cr_assert(json_object_object_get_ex(doc, "type", &v));
	cr_assert_str_eq(json_object_get_string(v), "diff");
	cr_assert(json_object_object_get_ex(doc, "stacks", &v));
	cr_assert_eq(json_object_array_length(v), 3);
	cr_assert(json_object_object_get_ex(doc, "functions", &v));
	cr_assert_eq(json_object_array_length(v), 4);
	json_object_put(doc);
	free(page);
	free(json);
	dp_diff__free(&d);
}

Test(diff, bad_inputs_give_one_line_each)
{
	const char *doc = DOC("4", "1", "3", "w");

	cr_assert_str_eq(error_of(doc, base_folded),
			 "BASE (base) is a json file but NEW (new) is a folded file: compare two of the same kind");
	cr_assert_str_eq(error_of(base_folded, ""), "new: is empty: nothing to compare");
	cr_assert_str_eq(error_of(base_folded, " \n\t"), "new: is empty: nothing to compare");
	cr_assert_str_eq(error_of(base_folded, "p;a 0\n"), "NEW (new) has no samples: nothing to compare");
	cr_assert_str_eq(error_of(base_folded, "p;a;b\n"), "new: line 1: expected \"frame;frame;... COUNT\"");
	cr_assert_str_eq(error_of(base_folded, "p;a 1\np;a -3\n"),
			 "new: line 2: the count \"-3\" is not a whole number");
	cr_assert_str_eq(error_of(base_folded, "p;a 99999999999999999999999\n"),
			 "new: line 1: the count \"99999999999999999999999\" is not a whole number");
	cr_assert_str_eq(error_of("{\"type\":", base_folded), "base: not valid JSON (it ends at byte 8, before the document does)");
	cr_assert_str_eq(error_of("{\"type\":\"interval\"}\n{\"type\":\"summary\"}\n", base_folded),
			 "base: more than one JSON document (an ndjson stream?): diff reads one -f json profile");
	cr_assert_str_eq(error_of("{\"type\":\"summary\"}", base_folded),
			 "base: not a deferprof profile (its \"type\" is \"summary\"): diff reads -f json or folded files");
	cr_assert_str_eq(error_of("[1,2]", base_folded), "base: not a deferprof profile (its \"type\" is missing): diff reads -f json or folded files");
	cr_assert_str_eq(error_of("{\"type\":\"profile\"}", doc),
			 "base: a deferprof profile without metadata, totals, frames, threads or stacks");
	cr_assert_str_eq(error_of(DOC("5", "1", "3", "w"), doc), "base: totals.samples is 5 but its stacks hold 4");
}

/* doc with its first "from" replaced by "to" (static buffer). */
static const char *edited(const char *doc, const char *from, const char *to)
{
	static char buf[4096];
	const char *at = strstr(doc, from);

	cr_assert_not_null(at, "%s", from);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - doc), doc, to, at + strlen(from));
	return buf;
}

Test(diff, json_that_contradicts_itself)
{
	const char *ok = DOC("4", "1", "3", "w");

	cr_assert_str_eq(error_of(edited(ok, "[0,2,3]", "[0,2,9]"), ok), "base: stack 1 names frame 9 of 4");
	cr_assert_str_eq(error_of(edited(ok, "\"samples\":3,", "\"samples\":2,"), ok),
			 "base: stack 1 has 2 samples but its threads add up to 3");
	cr_assert_str_eq(error_of(edited(ok, "{\"thread\":1", "{\"thread\":7"), ok),
			 "base: stack 1: thread entry 0 is not a thread of the document");
	cr_assert_str_eq(error_of(edited(ok, "{\"name\":\"main\",", "{"), ok), "base: frame 0 has no name");
	cr_assert_str_eq(error_of(edited(ok, "cpu-clock", "cycles"), ok),
			 "BASE (base) counts cycles but NEW (new) counts cpu-clock: their shares are not comparable");
}
