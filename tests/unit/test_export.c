/*
 * The export writers on a fixed aggregate: json (validated against the
 * schema by python3-jsonschema), ndjson, pprof (decoded back by protobuf-c
 * and by protoc), speedscope (validated against speedscope's published
 * schema), and the totals that must agree between them.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "export.h"
#include "fake_symbolizer.h"
#include "output.h"
#include "profile.h"
#include "profile.pb-c.h"
#include "stacks.h"

/* A JIT symbol whose name holds invalid UTF-8, a quote, a backslash and a control byte. */
#define JIT_ADDR 0x10000ULL
#define JIT_NAME "jit\xff\xfe \"q\" \\ \x01 \xc0\xaf end"
#define JIT_CLEAN "jit\xef\xbf\xbd\xef\xbf\xbd \"q\" \\ \x01 \xef\xbf\xbd\xef\xbf\xbd end"

/* Fixed names, source lines and build-id: no test binary is symbolized. */
#define LEAF 0x401000ULL
#define CALLER 0x401100ULL
static const struct dp_fake_sym syms[] = {
	{ .start = LEAF, .size = 0x40, .name = "dp_x_leaf", .module = "unit-tests",
	  .build_id = dp_fake_build_id, .build_id_len = 20,
	  .src_file = "tests/unit/test_export.c", .src_line = 23 },
	{ .start = CALLER, .size = 0x40, .name = "dp_x_caller", .module = "unit-tests",
	  .build_id = dp_fake_build_id, .build_id_len = 20,
	  .src_file = "tests/unit/test_export.c", .src_line = 28 },
	{ .start = JIT_ADDR, .size = 0x40, .name = JIT_NAME, .module = "[jit]" },
	{ .kernel = true, .start = 0xffffffff81001000, .size = 0x1000, .name = "entry_SYSCALL_64" },
	{ .kernel = true, .start = 0xffffffff81004000, .size = 0x1000, .name = "vfs_read" },
	{ .kernel = true, .start = 0xffffffff81005000, .size = 0x1000, .name = "read_zero" },
};

struct fx {
	struct dp_stack_table t;
	struct dp_fake_symbolizer sz;
	struct dp_comms *comms;
	struct dp_profile p;
	struct dp_runinfo ri;
	char dir[64];		/* this test's own files */
};

static void add_all(struct fx *f, bool reverse)
{
	uint32_t pid = (uint32_t)getpid();
	uint64_t k[] = { 0xffffffff81005010, 0xffffffff81004010, 0xffffffff81001010 };
	uint64_t u[] = { LEAF + 2, CALLER + 5 };
	uint64_t j[] = { JIT_ADDR + 4, CALLER + 5 };
	struct dp_stack_hdr h[4] = {
		{ .pid = pid, .tid = pid, .knr = 3, .unr = 2 },
		{ .pid = pid, .tid = pid, .knr = 0, .unr = 2 },
		{ .pid = pid, .tid = pid + 1, .flags = DP_STK_USER_LOST, .knr = 3 },
		{ .pid = pid, .tid = pid + 1, .knr = 0, .unr = 2 },
	};
	const uint64_t *ks[4] = { k, NULL, k, NULL }, *us[4] = { u, u, NULL, j };
	uint64_t n[4] = { 5, 8, 2, 3 };

	for (int i = 0; i < 4; i++) {
		int x = reverse ? 3 - i : i;

		cr_assert_eq(dp_stack_table__add(&f->t, &h[x], ks[x], us[x], n[x]), 0);
	}
}

static void build(struct fx *f, bool reverse)
{
	struct dp_profile_opts po = { .want_inline = true, .want_src = true };
	uint32_t pid = (uint32_t)getpid();

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/dp-export-XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir));
	dp_stack_table__init(&f->t);
	add_all(f, reverse);
	f->comms = dp_comms__new();
	dp_comms__set(f->comms, pid, pid, "worker");
	dp_comms__set(f->comms, pid, pid + 1, "helper");
	cr_assert_eq(dp_profile__build(&f->p, &f->t,
				       dp_fake_symbolizer__init(&f->sz, syms, sizeof(syms) / sizeof(syms[0])),
				       f->comms, &po), 0);

	f->ri.mode = "deferred";
	f->ri.event = "cpu-clock";
	f->ri.freq = 99;
	f->ri.end_reason = "duration";
	f->ri.duration_s = 2.5;
	f->ri.start_unix_ns = 1795000000123456789ULL;
	f->ri.target_pid = pid;
	snprintf(f->ri.target_comm, sizeof(f->ri.target_comm), "worker");
	snprintf(f->ri.target, sizeof(f->ri.target), "process %u (worker)", pid);
	snprintf(f->ri.host, sizeof(f->ri.host), "testhost");
	snprintf(f->ri.kernel, sizeof(f->ri.kernel), "7.2.0 x86_64");
	f->ri.bpf[DP_STAT_SAMPLES] = 19;
	f->ri.bpf[DP_STAT_DROP_COUNTS_FULL] = 1;
	f->ri.join.lost_timeout = 2;
	f->ri.lost_records = 4;
}

/* A file of this test's own directory: tests running at once never share one. */
static char *fx_path(const struct fx *f, const char *name)
{
	static __thread char path[4][160];
	static __thread unsigned int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", f->dir, name);
	return p;
}

static void destroy(struct fx *f)
{
	DIR *d = opendir(f->dir);
	struct dirent *e;

	cr_assert_not_null(d, "%s", f->dir);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			cr_assert_eq(unlinkat(dirfd(d), e->d_name, 0), 0, "%s", e->d_name);
	closedir(d);
	cr_assert_eq(rmdir(f->dir), 0, "%s", f->dir);
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

	cr_assert_eq(fn(m, &f->p, &f->ri), 0);
	fclose(m);
	if (len)
		*len = n;
	return buf;
}

static void to_file(const char *path, const void *buf, size_t len)
{
	FILE *o = fopen(path, "w");

	cr_assert_not_null(o);
	cr_assert_eq(fwrite(buf, 1, len, o), len);
	cr_assert_eq(fclose(o), 0, "%s", path);
}

/* Run a shell command; its output is returned (malloc'd), its status checked. */
static char *run(const char *cmd, int want_status)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n), *p = popen(cmd, "r");
	char chunk[4096];
	size_t r;
	int st;

	cr_assert_not_null(p, "popen %s", cmd);
	while ((r = fread(chunk, 1, sizeof(chunk), p)) > 0)
		fwrite(chunk, 1, r, m);
	st = pclose(p);
	fclose(m);
	cr_assert_eq(WEXITSTATUS(st), want_status, "%s: status %d, output:\n%s", cmd,
		     WEXITSTATUS(st), buf);
	return buf;
}

static const char *validator(void)
{
	const char *v = getenv("DP_VALIDATE");

	cr_assert_not_null(v, "DP_VALIDATE (tests/validate-json.py) is not set: run make unit-test");
	return v;
}

Test(export, utf8_clean)
{
	const char *ok = "plain ascii, caf\xc3\xa9, \xe2\x82\xac, \xf0\x9f\x98\x80";
	char *c;

	cr_assert_eq(dp_utf8_clean(ok), ok, "valid UTF-8 is returned as it is");
	c = dp_utf8_clean("a\xff" "b");
	cr_assert_str_eq(c, "a\xef\xbf\xbd" "b");
	free(c);
	c = dp_utf8_clean("\xc0\xaf");	/* overlong '/' */
	cr_assert_str_eq(c, "\xef\xbf\xbd\xef\xbf\xbd");
	free(c);
	c = dp_utf8_clean("\xed\xa0\x80");	/* a UTF-16 surrogate */
	cr_assert_str_eq(c, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(c);
	c = dp_utf8_clean("x\xe2\x82");	/* cut short */
	cr_assert_str_eq(c, "x\xef\xbf\xbd\xef\xbf\xbd");
	free(c);
	c = dp_utf8_clean("\xf4\x90\x80\x80");	/* beyond U+10FFFF */
	cr_assert_str_eq(c, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(c);
}

Test(export, json_valid_against_schema_and_complete)
{
	struct fx f;
	char cmd[512], *out, *v;
	size_t len;

	build(&f, false);
	out = to_mem(dp_json__write, &f, &len);
	to_file(fx_path(&f, "unit.json"), out, len);
	snprintf(cmd, sizeof(cmd), "%s user/output/schema/deferprof.schema.json %s 2>&1",
		 validator(), fx_path(&f, "unit.json"));
	v = run(cmd, 0);
	cr_assert(strstr(v, "1 documents valid"), "%s", v);
	free(v);
	/* The fields the issue names, by value. */
	cr_assert(strstr(out, "\"totals\":{\"samples\":18,\"bpf_samples\":19,\"dropped\":1,\"user_stack_lost\":2"), "%s", out);
	cr_assert(strstr(out, "\"user_lost_timeout\":2"));
	cr_assert(strstr(out, "\"lost_records\":4"));
	cr_assert(strstr(out, "\"host\":\"testhost\""));
	cr_assert(strstr(out, "\"target\":{\"kind\":\"process\""));
	cr_assert(strstr(out, "\"start_time\":\"2026-11-18T"), "%s", out);
	cr_assert(strstr(out, "\"name\":\"dp_x_caller\",\"module\":\"unit-tests\""), "%s", out);
	cr_assert(strstr(out, "\"name\":\"read_zero\",\"module\":\"[kernel]\",\"build_id\":null"), "%s", out);
	cr_assert(strstr(out, "\"name\":\"[user stack lost]\",\"module\":null"), "%s", out);
	cr_assert(strstr(out, "\"name\":\"helper\",\"samples\":5"), "%s", out);
	/* Most samples first; root first. */
	cr_assert(strstr(out, "\"stacks\":[\n{\"frames\":[0,1],\"samples\":8,"), "%s", out);
	/* The invalid bytes became U+FFFD; the quote, backslash and control byte are escaped. */
	cr_assert(strstr(out, "\"name\":\"jit\xef\xbf\xbd\xef\xbf\xbd \\\"q\\\" \\\\ \\u0001 \xef\xbf\xbd\xef\xbf\xbd end\""), "%s", out);
	free(out);
	destroy(&f);
}

Test(export, schema_rejects_a_broken_document)
{
	struct fx f;
	char cmd[512], *out, *p, *v;
	size_t len;

	build(&f, false);
	out = to_mem(dp_json__write, &f, &len);
	p = strstr(out, "\"kernel\":false");
	cr_assert_not_null(p);
	memcpy(p, "\"kernel\":12345", 14);	/* a number where a boolean belongs */
	to_file(fx_path(&f, "bad.json"), out, len);
	snprintf(cmd, sizeof(cmd), "%s user/output/schema/deferprof.schema.json %s 2>&1",
		 validator(), fx_path(&f, "bad.json"));
	v = run(cmd, 1);
	cr_assert(strstr(v, "invalid"), "%s", v);
	free(v);
	free(out);
	destroy(&f);
}

Test(export, json_is_deterministic)
{
	struct fx a, b;
	char *x, *y;

	build(&a, false);
	build(&b, true);	/* the same stacks, collected in the other order */
	x = to_mem(dp_json__write, &a, NULL);
	y = to_mem(dp_json__write, &b, NULL);
	cr_assert_str_eq(x, y);
	free(x);
	free(y);
	x = to_mem(dp_speedscope__write, &a, NULL);
	y = to_mem(dp_speedscope__write, &b, NULL);
	cr_assert_str_eq(x, y);
	free(x);
	free(y);
	destroy(&a);
	destroy(&b);
}

Test(export, ndjson_lines_parse_alone)
{
	struct fx f;
	struct dp_ndjson nd;
	struct dp_runinfo ri;
	char *buf = NULL, cmd[512], *v, *line2, *line3;
	size_t len = 0;
	FILE *m;

	build(&f, false);
	m = open_memstream(&buf, &len);
	dp_ndjson__init(&nd, m);
	ri = f.ri;
	ri.end_reason = NULL;
	ri.duration_s = 1.0;
	ri.bpf[DP_STAT_SAMPLES] = 10;
	cr_assert_eq(dp_ndjson__interval(&nd, &f.p, &ri), 0);
	ri.duration_s = 2.0;
	ri.bpf[DP_STAT_SAMPLES] = 19;
	cr_assert_eq(dp_ndjson__interval(&nd, &f.p, &ri), 0);
	ri.end_reason = "signal";
	cr_assert_eq(dp_ndjson__summary(&nd, &ri), 0);
	fclose(m);
	to_file(fx_path(&f, "unit.ndjson"), buf, len);
	snprintf(cmd, sizeof(cmd), "%s user/output/schema/deferprof.schema.json --lines %s 2>&1",
		 validator(), fx_path(&f, "unit.ndjson"));
	v = run(cmd, 0);
	cr_assert(strstr(v, "3 documents valid"), "%s", v);
	free(v);
	/* Three lines, each complete; deltas per interval; the summary adds them up. */
	line2 = strchr(buf, '\n') + 1;
	line3 = strchr(line2, '\n') + 1;
	cr_assert_eq(strchr(line3, '\n')[1], 0);
	cr_assert(!strncmp(buf, "{\"type\":\"interval\",\"interval\":{\"seq\":1,\"start_s\":0.000000,\"end_s\":1.000000}", 75), "%s", buf);
	cr_assert(strstr(line2, "\"seq\":2,\"start_s\":1.000000,\"end_s\":2.000000"));
	cr_assert(strstr(line2, "\"totals\":{\"samples\":18,\"bpf_samples\":9,"), "%s", line2);
	cr_assert(!strncmp(line3, "{\"type\":\"summary\",\"intervals\":2,", 32), "%s", line3);
	cr_assert(strstr(line3, "\"totals\":{\"samples\":36,\"bpf_samples\":19,"), "%s", line3);
	cr_assert(strstr(line3, "\"end_reason\":\"signal\""));
	free(buf);
	destroy(&f);
}

static uint8_t *gunzip(const uint8_t *in, size_t len, size_t *outlen)
{
	size_t cap = 1 << 20;
	uint8_t *out = malloc(cap);
	z_stream z;

	memset(&z, 0, sizeof(z));
	cr_assert_eq(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (uint8_t *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END, "not a complete gzip stream");
	*outlen = z.total_out;
	inflateEnd(&z);
	return out;
}

Test(export, pprof_decodes_field_by_field)
{
	Perftools__Profiles__Profile *pp;
	struct fx f;
	size_t len, plen;
	uint8_t *gz, *raw;
	uint64_t samples = 0, cpu = 0;
	bool saw_chain = false, saw_build_id = false;

	build(&f, false);
	gz = (uint8_t *)to_mem(dp_pprof__write, &f, &len);
	cr_assert(len > 18 && gz[0] == 0x1f && gz[1] == 0x8b, "gzip magic");
	raw = gunzip(gz, len, &plen);
	pp = perftools__profiles__profile__unpack(NULL, plen, raw);
	cr_assert_not_null(pp, "protobuf-c cannot decode it");
#define S(i) (pp->string_table[i])
	cr_assert_str_eq(S(0), "");
	cr_assert_eq(pp->n_sample_type, 2);
	cr_assert_str_eq(S(pp->sample_type[0]->type), "samples");
	cr_assert_str_eq(S(pp->sample_type[0]->unit), "count");
	cr_assert_str_eq(S(pp->sample_type[1]->type), "cpu");
	cr_assert_str_eq(S(pp->sample_type[1]->unit), "nanoseconds");
	cr_assert_eq(pp->period, 1000000000 / 99);
	cr_assert_eq(pp->time_nanos, 1795000000123456789LL);
	cr_assert_eq(pp->duration_nanos, 2500000000LL);
	/* One sample per stack and thread: worker has 2 stacks, helper 2. */
	cr_assert_eq(pp->n_sample, 4);
	for (size_t i = 0; i < pp->n_sample; i++) {
		Perftools__Profiles__Sample *s = pp->sample[i];
		const char *leaf, *root;
		uint64_t tid = 0;

		cr_assert_eq(s->n_value, 2);
		cr_assert_eq(s->value[1], s->value[0] * (1000000000 / 99));
		samples += (uint64_t)s->value[0];
		cpu += (uint64_t)s->value[1];
		cr_assert_eq(s->n_label, 3);
		cr_assert_str_eq(S(s->label[0]->key), "pid");
		cr_assert_eq(s->label[0]->num, getpid());
		cr_assert_str_eq(S(s->label[1]->key), "tid");
		tid = (uint64_t)s->label[1]->num;
		cr_assert_str_eq(S(s->label[2]->key), "thread");
		cr_assert_str_eq(S(s->label[2]->str), tid == (uint64_t)getpid() ? "worker" : "helper");
		/* location ids are 1-based, leaf first; each has one line and function. */
		cr_assert(s->n_location_id > 0);
		leaf = S(pp->function[pp->location[s->location_id[0] - 1]->line[0]->function_id - 1]->name);
		root = S(pp->function[pp->location[s->location_id[s->n_location_id - 1] - 1]->line[0]->function_id - 1]->name);
		if (!strcmp(leaf, "read_zero") && !strcmp(root, "dp_x_caller") && s->value[0] == 5)
			saw_chain = true;
	}
	cr_assert_eq(samples, 18, "pprof holds the profile's 18 samples");
	cr_assert_eq(cpu, 18ULL * (1000000000 / 99));
	cr_assert(saw_chain, "the read_zero <- ... <- dp_x_caller sample with 5 samples");
	for (size_t i = 0; i < pp->n_location; i++) {
		cr_assert_eq(pp->location[i]->id, i + 1);
		cr_assert_eq(pp->location[i]->n_line, 1);
	}
	for (size_t i = 0; i < pp->n_mapping; i++) {
		cr_assert(pp->mapping[i]->has_functions);
		if (!strcmp(S(pp->mapping[i]->filename), "unit-tests") && pp->mapping[i]->build_id)
			saw_build_id = strlen(S(pp->mapping[i]->build_id)) == 40;
	}
	cr_assert(saw_build_id, "the unit-tests mapping carries its build-id");
	cr_assert_eq(pp->n_comment, 2);
	cr_assert(strstr(S(pp->comment[1]), "lost_records=4"), "%s", S(pp->comment[1]));
#undef S
	perftools__profiles__profile__free_unpacked(pp, NULL);
	free(raw);
	free(gz);
	destroy(&f);
}

Test(export, pprof_decodes_with_protoc)
{
	struct fx f;
	size_t len;
	char *gz, *out, cmd[512];

	build(&f, false);
	gz = to_mem(dp_pprof__write, &f, &len);
	to_file(fx_path(&f, "unit.pb.gz"), gz, len);
	snprintf(cmd, sizeof(cmd), "gzip -dc %s | protoc --decode=perftools.profiles.Profile "
		 "-Iuser/output/proto profile.proto", fx_path(&f, "unit.pb.gz"));
	out = run(cmd, 0);
	cr_assert(strstr(out, "string_table: \"dp_x_caller\""), "%s", out);
	cr_assert(strstr(out, "string_table: \"read_zero\""), "%s", out);
	cr_assert(strstr(out, "value: 5\n"), "%s", out);
	cr_assert(strstr(out, "period: 10101010\n"), "%s", out);
	free(out);
	free(gz);
	destroy(&f);
}

Test(export, speedscope_valid_against_its_schema)
{
	const char *schema = getenv("DP_SPEEDSCOPE_SCHEMA");
	struct fx f;
	char cmd[512], *out, *v;
	size_t len;

	cr_assert_not_null(schema, "DP_SPEEDSCOPE_SCHEMA is not set: run make unit-test");
	build(&f, false);
	out = to_mem(dp_speedscope__write, &f, &len);
	to_file(fx_path(&f, "unit.speedscope.json"), out, len);
	snprintf(cmd, sizeof(cmd), "%s %s %s 2>&1", validator(), schema,
		 fx_path(&f, "unit.speedscope.json"));
	v = run(cmd, 0);
	cr_assert(strstr(v, "1 documents valid"), "%s", v);
	free(v);
	/* One sampled profile per thread, root-first stacks, weights = samples. */
	cr_assert(strstr(out, "{\"type\":\"sampled\",\"name\":\"worker (pid"), "%s", out);
	cr_assert(strstr(out, "{\"type\":\"sampled\",\"name\":\"helper (pid"), "%s", out);
	cr_assert(strstr(out, "\"endValue\":13,"), "%s", out);
	cr_assert(strstr(out, "\"weights\":[8,5]"), "%s", out);
	cr_assert(strstr(out, "\"weights\":[3,2]"), "%s", out);
	cr_assert(strstr(out, "{\"name\":\"dp_x_caller\",\"file\":"), "%s", out);
	free(out);
	destroy(&f);
}

static int folded_w(FILE *m, const struct dp_profile *p, const struct dp_runinfo *ri)
{
	(void)ri;
	return dp_folded__write(m, p);
}

Test(export, totals_agree_across_formats)
{
	struct fx f;
	char *out, *v, cmd[1024];
	size_t len;
	uint64_t folded = 0;

	build(&f, false);
	out = to_mem(dp_json__write, &f, &len);
	to_file(fx_path(&f, "tot.json"), out, len);
	free(out);
	out = to_mem(dp_pprof__write, &f, &len);
	to_file(fx_path(&f, "tot.pb.gz"), out, len);
	free(out);
	out = to_mem(dp_speedscope__write, &f, &len);
	to_file(fx_path(&f, "tot.speedscope.json"), out, len);
	free(out);
	out = to_mem(folded_w, &f, &len);
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
		folded += strtoull(strrchr(l, ' ') + 1, NULL, 10);
	free(out);
	cr_assert_eq(folded, 18);
	snprintf(cmd, sizeof(cmd), "python3 -c \"import json; d=json.load(open('%s')); "
		 "print(d['totals']['samples'], sum(s['samples'] for s in d['stacks']), "
		 "sum(t['samples'] for s in d['stacks'] for t in s['threads']))\"",
		 fx_path(&f, "tot.json"));
	v = run(cmd, 0);
	cr_assert_str_eq(v, "18 18 18\n");
	free(v);
	snprintf(cmd, sizeof(cmd), "python3 -c \"import json; d=json.load(open('%s')); "
		 "print(sum(sum(p['weights']) for p in d['profiles']))\"",
		 fx_path(&f, "tot.speedscope.json"));
	v = run(cmd, 0);
	cr_assert_str_eq(v, "18\n");
	free(v);
	snprintf(cmd, sizeof(cmd), "gzip -dc %s | protoc --decode=perftools.profiles.Profile "
		 "-Iuser/output/proto profile.proto | awk '/^sample {/{s=1;n=0} s&&/value:/{n++; if(n==1)t+=$2} "
		 "/^}/{s=0} END{print t}'", fx_path(&f, "tot.pb.gz"));
	v = run(cmd, 0);
	cr_assert_str_eq(v, "18\n");
	free(v);
	destroy(&f);
}

Test(export, source_lines_and_build_id)
{
	struct fx f;
	bool leaf_line = false;

	build(&f, false);
	for (uint32_t i = 0; i < f.p.nframes; i++) {
		const struct dp_frame *fr = &f.p.frames[i];

		if (!strcmp(fr->name, "dp_x_leaf")) {
			cr_assert_not_null(fr->src_file);
			cr_assert(strstr(fr->src_file, "test_export.c"), "%s", fr->src_file);
			cr_assert(fr->src_line > 20 && fr->src_line < 30, "line %d", fr->src_line);
			cr_assert_not_null(fr->build_id);
			leaf_line = true;
		}
	}
	cr_assert(leaf_line);
	destroy(&f);
}
