// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * dp-replay: feed a recording (deferprof --record FILE) through the same
 * user-space path as a live session: ring records parsed, deferred records
 * and drained samples joined, stacks aggregated, then symbolized. Prints
 * one JSON object with the figures make bench records.
 *
 *   dp-replay FILE [--loops N] [--no-symbols] [--export DIR]
 *
 * --export DIR: symbolize once more (with source lines and inlines, as the
 * report command does for exports) and time each writer into DIR.
 *
 * Under valgrind --tool=callgrind --instr-atstart=no, only the replay of
 * the records (parse, join, aggregate) is counted.
 *
 * Each loop replays the whole file with pids, tids and cookies shifted, so
 * N loops are N times the traffic, not repeats of known stacks only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/types.h>
#include "deferprof.h"
#include "export.h"
#include "dispatch.h"
#include "join.h"
#include "ksyms.h"
#include "symbolizer.h"
#include "perf_abi.h"
#include "profile.h"
#include "record.h"
#include "recording.h"
#include "stacks.h"
#include "output.h"
#include "topmodel.h"
#include "usyms.h"
#include "writers.h"
#include <sys/resource.h>
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>	/* count only the replay under callgrind */
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * A ring record of another loop: its pids and tids xor id_off, its cookie
 * plus cookie_off, so that each loop's tasks and cookies are new ones.
 */
static void shift_record(char *rec, uint32_t len, uint32_t id_off, uint64_t cookie_off)
{
	struct perf_event_header h;
	uint32_t v;
	uint64_t c;

	if (len < sizeof(h) + 8)
		return;
	memcpy(&h, rec, sizeof(h));
	/* sample_id_all with PERF_SAMPLE_TID: every record ends with pid, tid. */
	if (h.type != PERF_RECORD_SAMPLE) {
		for (uint32_t o = len - 8; o < len; o += 4) {
			memcpy(&v, rec + o, 4);
			v ^= id_off;
			memcpy(rec + o, &v, 4);
		}
	}
	switch (h.type) {
	case PERF_RECORD_SAMPLE:	/* PERF_SAMPLE_TID first */
	case PERF_RECORD_MMAP2:
	case PERF_RECORD_COMM:
		for (uint32_t o = 8; o < 16; o += 4) {
			memcpy(&v, rec + o, 4);
			v ^= id_off;
			memcpy(rec + o, &v, 4);
		}
		break;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:	/* pid, ppid, tid, ptid */
		for (uint32_t o = 8; o < 24 && o + 4 <= len; o += 4) {
			memcpy(&v, rec + o, 4);
			v ^= id_off;
			memcpy(rec + o, &v, 4);
		}
		break;
	case DP_RECORD_CALLCHAIN_DEFERRED:
		memcpy(&c, rec + 8, 8);
		c += cookie_off;
		memcpy(rec + 8, &c, 8);
		break;
	}
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	int loops = 1, symbols = 1;
	const char *export_dir = NULL;
	uint64_t nring = 0, nsample = 0, nround = 0, first_ns = 0, last_ns = 0;
	struct dp_join_opts jo = { .timeout_ns = 10000000000ULL, .max_pending = 1 << 20 };
	struct dp_ingest_opts io = { .join = jo };
	struct dp_stack_table table;
	struct dp_ingest *in;
	struct dp_comms *tnames;	/* thread names from the COMM records */
	static char scratch[65536];
	int rerr = 0;
	struct dp_profile prof;
	char *buf;
	size_t len;
	double t0, t_join, t_sym = 0, t_sym_warm = 0;
	FILE *f;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--loops") && i + 1 < argc)
			loops = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--no-symbols"))
			symbols = 0;
		else if (!strcmp(argv[i], "--export") && i + 1 < argc)
			export_dir = argv[++i];
		else if (!path && argv[i][0] != '-')
			path = argv[i];
		else {
			fprintf(stderr, "usage: dp-replay FILE [--loops N] [--no-symbols]\n");
			return 2;
		}
	}
	if (!path || loops < 1 || loops > 1000) {
		fprintf(stderr, "usage: dp-replay FILE [--loops N (1-1000)] [--no-symbols]\n");
		return 2;
	}
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "dp-replay: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(len + 1);
	if (!buf || fread(buf, 1, len, f) != len || len < 8 ||
	    memcmp(buf, DP_REC_MAGIC_PREFIX, strlen(DP_REC_MAGIC_PREFIX))) {
		fprintf(stderr, "dp-replay: %s is not a deferprof recording\n", path);
		return 1;
	}
	if (memcmp(buf, DP_REC_MAGIC, 8)) {
		fprintf(stderr, "dp-replay: %s is a recording of another deferprof version (%.8s, this one reads %s): record it again\n",
			path, buf, DP_REC_MAGIC);
		return 1;
	}
	fclose(f);

	dp_stack_table__init(&table);
	tnames = dp_comms__new();
	in = tnames ? dp_ingest__new(&io, &table, tnames, NULL, NULL) : NULL;
	if (!in)
		return 1;
	t0 = now_s();
	CALLGRIND_START_INSTRUMENTATION;
	for (int loop = 0; loop < loops; loop++) {
		uint64_t cookie_off = (uint64_t)loop << 44;
		uint32_t id_off = (uint32_t)loop << 22;
		uint64_t span = last_ns > first_ns ? last_ns - first_ns + 1000000000ULL : 0;

		for (size_t off = 8; off + 8 <= len;) {
			uint32_t type, plen;
			const char *p;

			memcpy(&type, buf + off, 4);
			memcpy(&plen, buf + off + 4, 4);
			p = buf + off + 8;
			if (off + 8 + plen > len)
				break;
			off += 8 + plen;
			if (type == DP_REC_RING) {
				nring += loop == 0;
				if (plen > sizeof(scratch))
					continue;	/* no ring record is this long: counted as malformed live */
				memcpy(scratch, p, plen);
				shift_record(scratch, plen, id_off, cookie_off);
				rerr = dp_ingest__record(in, scratch, plen, last_ns + (uint64_t)loop * span);
			} else if (type == DP_REC_SAMPLE) {
				struct dp_rec_sample rs;
				struct dp_join_sample js;

				if (plen < sizeof(rs))
					break;
				memcpy(&rs, p, sizeof(rs));
				if (plen != sizeof(rs) + ((size_t)rs.knr + rs.unr) * 8 +
					    (rs.leaf ? sizeof(struct dp_leaf) : 0))
					break;
				nsample += loop == 0;
				memset(&js, 0, sizeof(js));
				js.pid = rs.pid ^ id_off;
				js.tid = rs.tid ^ id_off;
				js.cookie = rs.cookie ? rs.cookie + cookie_off : 0;
				js.flags = rs.flags;
				js.knr = rs.knr;
				js.unr = rs.unr;
				js.count = rs.count;
				js.kips = (const uint64_t *)(const void *)(p + sizeof(rs));
				js.uips = js.kips + rs.knr;
				/* The evidence rides along; without a symbolizer nothing is repaired. */
				js.leaf = rs.leaf ? (const struct dp_leaf *)(const void *)(js.uips + rs.unr) :
					  NULL;
				rerr = dp_ingest__sample(in, &js, last_ns + (uint64_t)loop * span);
			} else if (type == DP_REC_ROUND) {
				uint64_t ns;

				if (plen != 8)
					break;
				memcpy(&ns, p, 8);
				if (loop == 0) {
					nround++;
					if (!first_ns)
						first_ns = ns;
					last_ns = ns;
				}
				rerr = dp_ingest__end_round(in, ns + (uint64_t)loop * span);
			}
			if (rerr) {
				fprintf(stderr, "dp-replay: %s\n", strerror(-rerr));
				return 1;
			}
		}
	}
	dp_ingest__finish(in);
	CALLGRIND_STOP_INSTRUMENTATION;
	t_join = now_s() - t0;
	if (symbols) {
		struct dp_ksyms *ks = dp_ksyms__load("/proc/kallsyms");
		struct dp_usyms *us = dp_usyms__new(NULL);
		struct dp_comms *comms = dp_comms__new();
		struct dp_symbols syms;
		const struct dp_symbolizer *sz = dp_symbols__init(&syms, ks, us);

		/* First build resolves every address; the second finds them cached. */
		t0 = now_s();
		if (dp_profile__build(&prof, &table, sz, comms, NULL) == 0)
			dp_profile__free(&prof);
		t_sym = now_s() - t0;
		t0 = now_s();
		if (dp_profile__build(&prof, &table, sz, comms, NULL) == 0)
			dp_profile__free(&prof);
		t_sym_warm = now_s() - t0;
		dp_ksyms__free(ks);
		dp_usyms__free(us);
		dp_comms__free(comms);
	}
	if (export_dir) {
		static const char *const names[] = { "json", "pprof", "speedscope", "folded" };
		struct dp_ksyms *ks = dp_ksyms__load("/proc/kallsyms");
		struct dp_usyms *us = dp_usyms__new(NULL);
		struct dp_comms *comms = dp_comms__new();
		struct dp_symbols syms;
		const struct dp_symbolizer *sz = dp_symbols__init(&syms, ks, us);
		struct dp_profile_opts po = { .want_inline = true, .want_src = true };
		struct dp_runinfo ri = { .mode = "replay", .event = "cpu-clock", .freq = 999 };
		struct rusage ru;
		double tb;

		t0 = now_s();
		if (dp_profile__build(&prof, &table, sz, comms, &po))
			return 1;
		tb = now_s() - t0;
		fprintf(stderr, "{\"export_stacks\":%u,\"export_frames\":%u,\"symbolize_s\":%.6f",
			prof.nstacks, prof.nframes, tb);
		for (int k = 0; k < 4; k++) {
			char opath[4096];
			FILE *o;
			int err;

			snprintf(opath, sizeof(opath), "%s/replay.%s", export_dir, names[k]);
			o = fopen(opath, "w");
			if (!o)
				return 1;
			t0 = now_s();
			err = dp_writer__find(names[k])->write(o, &prof, &ri, NULL);
			if (fclose(o) && !err)
				err = -errno;
			fprintf(stderr, ",\"%s_s\":%.6f", names[k], err ? -1.0 : now_s() - t0);
		}
		dp_profile__free(&prof);
		/* What top does each refresh with the same stacks: the model's rows and a tree. */
		{
			struct dp_topmodel m;
			struct dp_topfilter flt = { .thread = -1 };
			struct dp_toprow *rows = NULL;
			struct dp_treeline *lines = NULL;
			uint32_t nrows = 0, nlines = 0;
			double ta, tf, tt;

			t0 = now_s();
			if (dp_topmodel__init(&m, 0.75) || dp_topmodel__add(&m, &table, sz, comms, &po) ||
			    dp_topmodel__tick(&m, 1))
				return 1;
			ta = now_s() - t0;
			t0 = now_s();
			for (int k = 0; k < 10; k++) {
				free(rows);
				rows = NULL;
				dp_topmodel__functions(&m, &flt, DP_COUNT_DECAYING, DP_SORT_SELF, &rows, &nrows);
			}
			tf = (now_s() - t0) / 10;
			t0 = now_s();
			for (int k = 0; k < 10 && nrows; k++) {
				free(lines);
				lines = NULL;
				dp_topmodel__tree(&m, &flt, DP_COUNT_DECAYING, rows[nrows - 1].frame,
						  DP_TREE_CALLERS, &lines, &nlines);
			}
			tt = (now_s() - t0) / 10;
			fprintf(stderr, ",\"top_stacks\":%u,\"top_add_s\":%.6f,\"top_functions_ms\":%.3f,"
				"\"top_tree_ms\":%.3f", m.prof.nstacks, ta, tf * 1e3, tt * 1e3);
			free(rows);
			free(lines);
			dp_topmodel__free(&m);
		}
		getrusage(RUSAGE_SELF, &ru);
		fprintf(stderr, ",\"max_rss_kib\":%ld}\n", ru.ru_maxrss);
		dp_ksyms__free(ks);
		dp_usyms__free(us);
		dp_comms__free(comms);
	}
	{
		const struct dp_join_stats *st = dp_ingest__join_stats(in);
		uint64_t records = (nring + nsample) * (uint64_t)loops;

		printf("{\"file_bytes\":%zu,\"loops\":%d,\"ring_records_per_loop\":%llu,"
		       "\"samples_entries_per_loop\":%llu,\"rounds_per_loop\":%llu,\"records\":%llu,"
		       "\"join_aggregate_s\":%.6f,\"records_per_s\":%.0f,\"samples_in\":%llu,"
		       "\"joined\":%llu,\"user_lost\":%llu,\"distinct_stacks\":%llu,"
		       "\"symbolize_cold_s\":%.6f,\"symbolize_warm_s\":%.6f,"
		       "\"records_per_s_with_warm_symbols\":%.0f}\n",
		       len, loops, (unsigned long long)nring, (unsigned long long)nsample,
		       (unsigned long long)nround, (unsigned long long)records, t_join,
		       t_join > 0 ? (double)records / t_join : 0.0,
		       (unsigned long long)st->samples_in, (unsigned long long)st->joined,
		       (unsigned long long)(st->lost_exited + st->lost_timeout + st->lost_at_end +
					    st->lost_evicted),
		       (unsigned long long)table.entries, t_sym, t_sym_warm,
		       t_join + t_sym_warm > 0 ? (double)records / (t_join + t_sym_warm) : 0.0);
	}
	dp_ingest__free(in);
	dp_comms__free(tnames);
	dp_stack_table__clear(&table);
	free(buf);
	return 0;
}
