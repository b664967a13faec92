/*
 * -f html on a fixed aggregate: the page is valid HTML (tests/check-html.py),
 * its data block is deferprof's JSON document of the same aggregate byte for
 * byte (with '<' as \u003c, so a name holding "</script>" cannot end it), the
 * libraries and their licenses are inlined, and the same aggregate gives the
 * same bytes whatever order its stacks were collected in.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>
#include "export.h"
#include "fake_symbolizer.h"
#include "html.h"
#include "htmlassets.h"
#include "profile.h"
#include "stacks.h"
#include "writers.h"

/* A name that would end the data block if written as it is. */
#define EVIL "evil</script><script>alert(1)</script><!--"
#define LEAF 0x401000ULL
#define CALLER 0x401100ULL
static const struct dp_fake_sym syms[] = {
	{ .start = LEAF, .size = 0x40, .name = "dp_h_leaf", .module = "unit-tests",
	  .src_file = "tests/unit/test_html.c", .src_line = 11 },
	{ .start = CALLER, .size = 0x40, .name = "dp_h_caller", .module = "unit-tests",
	  .src_file = "tests/unit/test_html.c", .src_line = 22 },
	{ .start = 0x10000, .size = 0x40, .name = EVIL, .module = "[jit]" },
	{ .kernel = true, .start = 0xffffffff81004000, .size = 0x1000, .name = "vfs_read" },
	{ .kernel = true, .start = 0xffffffff81005000, .size = 0x1000, .name = "read_zero" },
};

struct fx {
	struct dp_stack_table t;
	struct dp_fake_symbolizer sz;
	struct dp_comms *comms;
	struct dp_profile p;
	struct dp_runinfo ri;
};

static void build(struct fx *f, bool reverse)
{
	struct dp_profile_opts po = { .want_src = true };
	uint64_t k[] = { 0xffffffff81005010, 0xffffffff81004010 };
	uint64_t u[] = { LEAF + 2, CALLER + 5 }, j[] = { 0x10004, CALLER + 5 };
	struct dp_stack_hdr h[3] = {
		{ .pid = 100, .tid = 100, .knr = 2, .unr = 2 },
		{ .pid = 100, .tid = 100, .unr = 2 },
		{ .pid = 100, .tid = 101, .unr = 2 },
	};
	const uint64_t *ks[3] = { k, NULL, NULL }, *us[3] = { u, u, j };
	uint64_t n[3] = { 5, 8, 3 };

	memset(f, 0, sizeof(*f));
	dp_stack_table__init(&f->t);
	for (int i = 0; i < 3; i++) {
		int x = reverse ? 2 - i : i;

		cr_assert_eq(dp_stack_table__add(&f->t, &h[x], ks[x], us[x], n[x]), 0);
	}
	f->comms = dp_comms__new();
	dp_comms__set(f->comms, 100, 100, "worker");
	dp_comms__set(f->comms, 100, 101, "helper");
	cr_assert_eq(dp_profile__build(&f->p, &f->t,
				       dp_fake_symbolizer__init(&f->sz, syms, sizeof(syms) / sizeof(syms[0])),
				       f->comms, &po), 0);
	f->ri.mode = "deferred";
	f->ri.event = "cpu-clock";
	f->ri.freq = 99;
	f->ri.end_reason = "duration";
	f->ri.duration_s = 1.5;
	f->ri.target_pid = 100;
	snprintf(f->ri.target, sizeof(f->ri.target), "process 100 (worker <&>)");
	f->ri.bpf[DP_STAT_SAMPLES] = 16;
}

static void destroy(struct fx *f)
{
	dp_profile__free(&f->p);
	dp_stack_table__clear(&f->t);
	dp_comms__free(f->comms);
}

typedef int (*writer_fn)(FILE *, const struct dp_profile *, const struct dp_runinfo *);

static char *to_mem(writer_fn fn, struct fx *f, size_t *len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);

	cr_assert_not_null(m);
	cr_assert_eq(fn(m, &f->p, &f->ri), 0);
	cr_assert_eq(fclose(m), 0);
	if (len)
		*len = n;
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* The data block as the page's script reads it (its text, \u003c back to '<'). */
static char *data_block(const char *page)
{
	const char *open = "<script type=\"application/json\" id=\"dp-data\">\n";
	const char *s = strstr(page, open), *e;
	char *out, *o;

	cr_assert_not_null(s, "no data block");
	s += strlen(open);
	e = strstr(s, "</script>");
	cr_assert_not_null(e);
	out = o = malloc((size_t)(e - s) + 1);
	cr_assert_not_null(out);
	while (s < e) {
		if (!strncmp(s, "\\u003c", 6)) {
			*o++ = '<';
			s += 6;
		} else {
			*o++ = *s++;
		}
	}
	*o = 0;
	return out;
}

Test(html, data_block_is_the_json_document_of_the_same_aggregate)
{
	struct fx f;
	char *page, *json, *data;
	json_object *doc, *frames;
	bool evil = false;

	build(&f, false);
	page = to_mem(dp_html__write, &f, NULL);
	json = to_mem(dp_json__write, &f, NULL);
	data = data_block(page);
	cr_assert_str_eq(data, json, "the page's data differs from -f json");
	cr_assert_eq(count(page, "</script>"), 6, "6 script elements, none ended early");
	doc = json_tokener_parse(data);
	cr_assert_not_null(doc);
	cr_assert(json_object_object_get_ex(doc, "frames", &frames));
	for (size_t i = 0; i < json_object_array_length(frames); i++) {
		json_object *name;

		json_object_object_get_ex(json_object_array_get_idx(frames, i), "name", &name);
		evil |= !strcmp(json_object_get_string(name), EVIL);
	}
	cr_assert(evil, "the name with </script> comes back whole");
	cr_assert_not_null(strstr(page, "<title>deferprof: process 100 (worker &lt;&amp;&gt;)</title>"));
	json_object_put(doc);
	free(page);
	free(json);
	free(data);
	destroy(&f);
}

Test(html, the_data_block_holds_no_raw_angle_bracket)
{
	struct fx f;
	char *page;
	const char *s, *e;

	build(&f, false);
	page = to_mem(dp_html__write, &f, NULL);
	s = strstr(page, "id=\"dp-data\">\n") + 14;
	e = strstr(s, "</script>");
	cr_assert_null(memchr(s, '<', (size_t)(e - s)), "a raw '<' in the data block");
	cr_assert_not_null(strstr(s, "evil\\u003c/script>"));
	free(page);
	destroy(&f);
}

Test(html, page_is_valid_html)
{
	struct fx f;
	char path[] = "/tmp/dp-html-XXXXXX", cmd[256], out[512];
	size_t len;
	char *page;
	FILE *p;
	int fd;

	build(&f, false);
	page = to_mem(dp_html__write, &f, &len);
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, page, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 tests/check-html.py %s 2>&1", path);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	len = fread(out, 1, sizeof(out) - 1, p);
	out[len] = 0;
	cr_assert_eq(pclose(p), 0, "check-html.py: %s", out);
	cr_assert_eq(strncmp(out, "ok: ", 4), 0, "%s", out);
	cr_assert_not_null(strstr(out, "6 scripts, data profile"), "%s", out);
	unlink(path);
	free(page);
	destroy(&f);
}

Test(html, libraries_and_licenses_are_inlined)
{
	struct fx f;
	char *page;

	build(&f, false);
	page = to_mem(dp_html__write, &f, NULL);
	cr_assert_not_null(strstr(page, "https://d3js.org v7.9.2"), "d3's banner");
	cr_assert_not_null(strstr(page, ".d3-flame-graph rect"), "d3-flame-graph's style");
	cr_assert_not_null(strstr(page, "Apache License"), "d3-flame-graph's license text");
	cr_assert_not_null(strstr(page, "Mike Bostock"), "d3's license text");
	cr_assert_not_null(strstr(page, "d3-flame-graph (Apache License 2.0)"), "the page names them");
	cr_assert_null(strstr(page, "<script src"), "nothing loaded from elsewhere");
	cr_assert_null(strstr(page, "<link"), "nothing loaded from elsewhere");
	/* no asset may end its element early: an upgrade that breaks this fails here */
	cr_assert_null(memmem(dp_asset_d3_js, DP_ASSET_LEN(dp_asset_d3_js), "</script", 8));
	cr_assert_null(memmem(dp_asset_flamegraph_js, DP_ASSET_LEN(dp_asset_flamegraph_js), "</script", 8));
	cr_assert_null(memmem(dp_asset_page_js, DP_ASSET_LEN(dp_asset_page_js), "</script", 8));
	cr_assert_null(memmem(dp_asset_d3_license, DP_ASSET_LEN(dp_asset_d3_license), "</script", 8));
	cr_assert_null(memmem(dp_asset_flamegraph_license, DP_ASSET_LEN(dp_asset_flamegraph_license),
			      "</script", 8));
	cr_assert_eq(dp_asset_page_js[DP_ASSET_LEN(dp_asset_page_js)], 0, "assets end with NUL");
	free(page);
	destroy(&f);
}

Test(html, same_aggregate_same_bytes)
{
	struct fx a, b;
	size_t la, lb;
	char *x, *y;

	build(&a, false);
	build(&b, true);	/* the same stacks, collected in the other order */
	x = to_mem(dp_html__write, &a, &la);
	y = to_mem(dp_html__write, &b, &lb);
	cr_assert_eq(la, lb);
	cr_assert_eq(memcmp(x, y, la), 0, "the pages differ");
	free(x);
	free(y);
	destroy(&a);
	destroy(&b);
}

Test(html, in_the_writer_table)
{
	const struct dp_writer *w = dp_writer__find("html");

	cr_assert_not_null(w);
	cr_assert_eq(w->format, DP_FMT_HTML);
	cr_assert(w->src_lines, "tooltips show file:line");
	cr_assert_eq(dp_writer__for_path("cpu.html"), w);
	cr_assert_eq(dp_writer__for_path("cpu.htm"), w);
}
