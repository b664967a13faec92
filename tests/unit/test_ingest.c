/*
 * The ingest dispatcher (every record type, drained entries, log samples,
 * rounds), the drain's double-buffer flip, and --verify's stitcher, fed
 * hand-made records as the kernel writes them with deferprof's sample_type
 * (TID and CALLCHAIN; every side-band record ends with pid, tid).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <criterion/criterion.h>
#include <linux/perf_event.h>
#include "dispatch.h"
#include "drain.h"
#include "perf_abi.h"
#include "profile.h"
#include "samplelog.h"
#include "verify.h"

struct rec {
	uint8_t b[2048];
	size_t n;
};

static void r64(struct rec *r, uint64_t v)
{
	memcpy(r->b + r->n, &v, 8);
	r->n += 8;
}

static void r32x2(struct rec *r, uint32_t a, uint32_t b)
{
	memcpy(r->b + r->n, &a, 4);
	memcpy(r->b + r->n + 4, &b, 4);
	r->n += 8;
}

static void rstr(struct rec *r, const char *s)
{
	size_t len = strlen(s) + 1, pad = (len + 7) / 8 * 8;

	memset(r->b + r->n, 0, pad);
	memcpy(r->b + r->n, s, len);
	r->n += pad;
}

static void rbegin(struct rec *r, uint32_t type, uint16_t misc)
{
	struct perf_event_header h = { .type = type, .misc = misc };

	memset(r, 0, sizeof(*r));
	memcpy(r->b, &h, sizeof(h));
	r->n = sizeof(h);
}

static void rend(struct rec *r, uint32_t pid, uint32_t tid, bool trailer)
{
	uint16_t size;

	if (trailer)
		r32x2(r, pid, tid);
	size = (uint16_t)r->n;
	memcpy(r->b + 6, &size, 2);
}

static void mk_sample(struct rec *r, uint32_t pid, uint32_t tid, const uint64_t *ips, uint64_t nr)
{
	rbegin(r, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_KERNEL);
	r32x2(r, pid, tid);
	r64(r, nr);
	for (uint64_t i = 0; i < nr; i++)
		r64(r, ips[i]);
	rend(r, 0, 0, false);
}

static void mk_deferred(struct rec *r, uint32_t pid, uint32_t tid, uint64_t cookie,
			const uint64_t *ips, uint64_t nr)
{
	rbegin(r, DP_RECORD_CALLCHAIN_DEFERRED, PERF_RECORD_MISC_USER);
	r64(r, cookie);
	r64(r, nr);
	for (uint64_t i = 0; i < nr; i++)
		r64(r, ips[i]);
	rend(r, pid, tid, true);
}

static void mk_task(struct rec *r, uint32_t type, uint32_t pid, uint32_t ppid, uint32_t tid,
		    uint32_t ptid)
{
	rbegin(r, type, 0);
	r32x2(r, pid, ppid);
	r32x2(r, tid, ptid);
	r64(r, 1234);
	rend(r, pid, tid, true);
}

static void mk_comm(struct rec *r, uint32_t pid, uint32_t tid, const char *comm, bool exec)
{
	rbegin(r, PERF_RECORD_COMM, exec ? PERF_RECORD_MISC_COMM_EXEC : 0);
	r32x2(r, pid, tid);
	rstr(r, comm);
	rend(r, pid, tid, true);
}

static void mk_lost(struct rec *r, uint64_t n)
{
	rbegin(r, PERF_RECORD_LOST, 0);
	r64(r, 1);
	r64(r, n);
	rend(r, 0, 0, true);
}

static void mk_mmap2(struct rec *r, uint32_t pid, uint32_t prot, const char *file)
{
	rbegin(r, PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER);
	r32x2(r, pid, pid);
	r64(r, 0x400000);
	r64(r, 0x1000);
	r64(r, 0);
	r32x2(r, 8, 1);		/* maj, min */
	r64(r, 4242);		/* ino */
	r64(r, 7);		/* ino_generation */
	r32x2(r, prot, MAP_PRIVATE);
	rstr(r, file);
	rend(r, pid, pid, true);
}

/* What the sink was told. */
static int nmmap, nexec;
static uint64_t mmap_ino;
static uint32_t mmap_maj, exec_pid;

static int on_mmap(void *ctx, const struct dp_record *r)
{
	(void)ctx;
	nmmap++;
	mmap_ino = r->mmap.ino;
	mmap_maj = r->mmap.maj;
	return nmmap == 1 ? 0 : -ENOMEM;
}

static void on_exec(void *ctx, uint32_t pid)
{
	(void)ctx;
	nexec++;
	exec_pid = pid;
}

static struct dp_stack_table table;
static struct dp_comms *comms;
static struct dp_ingest *in;
static const struct dp_ingest_sink sink = { .mmap = on_mmap, .exec = on_exec };

static const uint64_t KCH[] = { DP_CONTEXT_KERNEL, 0xffffffff81000010, 0xffffffff81000020,
				DP_CONTEXT_USER_DEFERRED, 77 };
static const uint64_t UIPS[] = { 0x401010, 0x402020, 0x403030 };

static void open_ingest(bool raw, struct dp_verify *v)
{
	struct dp_ingest_opts o = {
		.join = { .timeout_ns = 1000000000ULL, .max_pending = 1024 },
		.raw = raw,
	};

	nmmap = nexec = 0;
	dp_stack_table__init(&table);
	comms = dp_comms__new();
	cr_assert_not_null(comms);
	in = dp_ingest__new(&o, &table, comms, &sink, v);
	cr_assert_not_null(in);
}

static void close_ingest(void)
{
	dp_ingest__free(in);
	dp_comms__free(comms);
	dp_stack_table__clear(&table);
}

static void feed(const struct rec *r)
{
	cr_assert_eq(dp_ingest__record(in, r->b, r->n, 1000), 0);
}

Test(ingest, raw_sample_joins_its_deferred_record)
{
	struct dp_stack_entry *e;
	struct rec r;

	open_ingest(true, NULL);
	mk_sample(&r, 10, 11, KCH, 5);
	feed(&r);
	cr_assert_eq(dp_ingest__pending(in), 1, "the sample waits for its record");
	mk_deferred(&r, 10, 11, 77, UIPS, 3);
	feed(&r);
	cr_assert_eq(dp_ingest__end_round(in, 2000), 0);
	cr_assert_eq(dp_ingest__finish(in), 0);
	cr_assert_eq(table.total, 1);
	e = dp_stack_table__find(&table, &(struct dp_stack_hdr){ .pid = 10, .tid = 11, .knr = 2, .unr = 3 },
				 KCH + 1, UIPS);
	cr_assert_not_null(e, "kernel part and the record's user part, in one stack");
	cr_assert_eq(dp_ingest__join_stats(in)->joined, 1);
	cr_assert_eq(dp_ingest__stats(in)->raw_samples, 1);
	cr_assert_eq(dp_ingest__stats(in)->ring_records, 2);
	close_ingest();
}

Test(ingest, samples_stay_out_without_raw_or_verify)
{
	struct rec r;

	open_ingest(false, NULL);
	mk_sample(&r, 10, 11, KCH, 5);
	feed(&r);
	cr_assert_eq(dp_ingest__stats(in)->raw_samples, 0);
	cr_assert_eq(dp_ingest__pending(in), 0);
	close_ingest();
}

Test(ingest, side_band_records)
{
	struct dp_task t[8];
	struct rec r;

	open_ingest(false, NULL);
	mk_comm(&r, 10, 10, "parent", false);
	feed(&r);
	cr_assert_str_eq(dp_comms__get(comms, 10), "parent");
	mk_task(&r, PERF_RECORD_FORK, 10, 10, 12, 10);
	feed(&r);
	cr_assert_str_eq(dp_comms__get(comms, 12), "parent", "a new thread starts with its parent's name");
	mk_comm(&r, 10, 12, "worker", false);
	feed(&r);
	cr_assert_str_eq(dp_comms__get(comms, 12), "worker");
	mk_comm(&r, 10, 10, "newprog", true);
	feed(&r);
	cr_assert_eq(nexec, 1);
	cr_assert_eq(exec_pid, 10);
	mk_mmap2(&r, 10, PROT_READ | PROT_EXEC, "/usr/lib/libx.so");
	feed(&r);
	cr_assert_eq(nmmap, 1);
	cr_assert_eq(mmap_ino, 4242, "the MMAP2 record's inode reaches the sink");
	cr_assert_eq(mmap_maj, 8);
	mk_mmap2(&r, 10, PROT_READ, "/data");
	feed(&r);
	cr_assert_eq(nmmap, 1, "data mappings are not the symbols' business");
	mk_mmap2(&r, 10, PROT_READ | PROT_EXEC, "/usr/lib/liby.so");
	feed(&r);
	cr_assert_eq(dp_ingest__stats(in)->sink_errors, 1, "a mapping the symbols side refused is counted");
	mk_lost(&r, 5);
	feed(&r);
	cr_assert_eq(dp_ingest__stats(in)->lost_records, 5);
	cr_assert_eq(dp_ingest__stats(in)->lost_events, 1);
	/* New tasks are queued for the session, each once, in order. */
	cr_assert_eq(dp_ingest__take_new_tasks(in, t, 8), 2);
	cr_assert_eq(t[0].tid, 12);
	cr_assert_eq(t[1].tid, 10);
	cr_assert_eq(dp_ingest__take_new_tasks(in, t, 8), 0);
	cr_assert_eq(dp_ingest__stats(in)->malformed, 0);
	close_ingest();
}

Test(ingest, exit_resolves_waiting_samples_a_round_later)
{
	struct rec r;

	open_ingest(true, NULL);
	mk_sample(&r, 10, 11, KCH, 5);
	feed(&r);
	mk_task(&r, PERF_RECORD_EXIT, 10, 1, 11, 1);
	feed(&r);
	cr_assert_eq(dp_ingest__end_round(in, 2000), 0);
	cr_assert_eq(dp_ingest__end_round(in, 3000), 0);
	cr_assert_eq(dp_ingest__join_stats(in)->lost_exited, 1);
	cr_assert_eq(table.total, 1);
	cr_assert(table.ents[0].hdr.flags & DP_STK_USER_LOST);
	close_ingest();
}

Test(ingest, malformed_and_unknown_records_are_counted_or_ignored)
{
	uint64_t bad[] = { DP_CONTEXT_KERNEL, 0xffffffff81000010, DP_CONTEXT_USER_DEFERRED };
	struct rec r;

	open_ingest(true, NULL);
	mk_sample(&r, 10, 11, bad, 3);
	feed(&r);
	cr_assert_eq(dp_ingest__stats(in)->malformed, 1, "a chain without its cookie");
	r.n = 4;
	cr_assert_eq(dp_ingest__record(in, r.b, r.n, 1000), 0);
	cr_assert_eq(dp_ingest__stats(in)->malformed, 2, "a record shorter than its header");
	rbegin(&r, PERF_RECORD_THROTTLE, 0);
	r64(&r, 1);
	r64(&r, 2);
	r64(&r, 3);
	rend(&r, 1, 1, true);
	feed(&r);
	cr_assert_eq(dp_ingest__stats(in)->malformed, 2, "a type not asked for is not malformed");
	close_ingest();
}

/* A fake program store: id 5 is a kernel stack, id 6 a whole classic chain. */
static int lookup(void *ctx, uint64_t id, struct dp_stack *out)
{
	static const uint64_t chain[] = { DP_CONTEXT_KERNEL, 0xffffffff81000030, DP_CONTEXT_USER,
					  0x404040, 0x405050 };

	(void)ctx;
	memset(out, 0, sizeof(*out));
	if (id == 5) {
		out->nr = 2;
		out->user = DP_STACK_KERNEL;
		memcpy(out->ips, KCH + 1, 16);
		return 0;
	}
	if (id == 6) {
		out->nr = 5;
		out->user = DP_STACK_CHAIN;
		memcpy(out->ips, chain, sizeof(chain));
		return 0;
	}
	return -ENOENT;
}

Test(ingest, drained_entries_translate_store_ids)
{
	struct dp_ingest_opts o = { .join = { .timeout_ns = 1000000000ULL, .max_pending = 16 },
				    .store = { .lookup = lookup } };
	struct dp_sample_key deferred = { .pid = 10, .tid = 11, .flags = DP_KEY_DEFERRED,
					  .kstack_id = 5, .cookie = 77 };
	struct dp_sample_key classic = { .pid = 10, .tid = 11, .flags = DP_KEY_CHAIN, .kstack_id = 6 };
	struct dp_sample_key gone = { .pid = 10, .tid = 11, .flags = DP_KEY_CHAIN, .kstack_id = 9 };
	const uint64_t cu[] = { 0x404040, 0x405050 }, ck[] = { 0xffffffff81000030 };
	struct rec r;

	dp_stack_table__init(&table);
	comms = dp_comms__new();
	in = dp_ingest__new(&o, &table, comms, NULL, NULL);
	cr_assert_not_null(in);
	cr_assert_eq(dp_ingest__entry(in, &deferred, 3, 1000), 0);
	cr_assert_eq(dp_ingest__entry(in, &classic, 2, 1000), 0);
	cr_assert_eq(dp_ingest__entry(in, &gone, 1, 1000), 0);
	mk_deferred(&r, 10, 11, 77, UIPS, 3);
	feed(&r);
	cr_assert_eq(dp_ingest__finish(in), 0);
	cr_assert_eq(table.total, 6);
	cr_assert_eq(dp_stack_table__find(&table, &(struct dp_stack_hdr){ .pid = 10, .tid = 11,
			.knr = 2, .unr = 3 }, KCH + 1, UIPS)->count, 3);
	cr_assert_eq(dp_stack_table__find(&table, &(struct dp_stack_hdr){ .pid = 10, .tid = 11,
			.knr = 1, .unr = 2 }, ck, cu)->count, 2, "a stored chain split into its parts");
	cr_assert_eq(dp_ingest__join_stats(in)->classic, 2);
	cr_assert_eq(dp_ingest__join_stats(in)->samples_in, 6, "the missing chain is counted, not dropped");
	cr_assert_eq(dp_stack_table__find(&table, &(struct dp_stack_hdr){ .pid = 10, .tid = 11,
			.flags = DP_STK_KERNEL_LOST | DP_STK_NO_USER }, NULL, NULL)->count, 1);
	close_ingest();
}

/* A counts map in plain memory: the program's words and two maps of entries. */
static struct dp_sample_key maps[2][4];
static int nmap[2], takes[2];

static int take(void *ctx, unsigned int idx, struct dp_keybuf *kb)
{
	(void)ctx;
	takes[idx]++;
	cr_assert_eq(dp_keybuf__reserve(kb, (size_t)nmap[idx]), 0);
	for (int i = 0; i < nmap[idx]; i++) {
		kb->keys[kb->n] = maps[idx][i];
		kb->vals[kb->n].count = 1;
		kb->n++;
	}
	nmap[idx] = 0;
	return 0;
}

Test(ingest, double_buffer_flip)
{
	__u32 active = 0, woken[2] = { 0, 0 };
	__u64 filled[2] = { 0, 0 };
	struct dp_drain d = { .active = &active, .filled = filled, .woken = woken, .take = take };
	struct dp_sample_key k = { .pid = 10, .tid = 11, .flags = 0 };

	open_ingest(false, NULL);
	memset(takes, 0, sizeof(takes));
	/* The program writes map 0; the idle map 1 is empty: flip without reading it. */
	maps[0][0] = k;
	nmap[0] = 1;
	filled[0] = 1;
	woken[0] = 1;
	cr_assert_eq(dp_drain__counts(&d, in, 1000), 0);
	cr_assert_eq(takes[1], 0, "an empty map is not walked");
	cr_assert_eq(takes[0], 0, "the active map is never read");
	cr_assert_eq(active, 1);
	cr_assert(dp_drain__has_samples(&d));
	/* Next round: map 0 is idle now, drained, its words cleared, and active again. */
	cr_assert_eq(dp_drain__counts(&d, in, 2000), 0);
	cr_assert_eq(takes[0], 1);
	cr_assert_eq(filled[0], 0);
	cr_assert_eq(woken[0], 0);
	cr_assert_eq(active, 0);
	cr_assert_eq(d.drains, 1);
	cr_assert_eq(table.total, 1);
	cr_assert_not(dp_drain__has_samples(&d));
	dp_drain__free(&d);
	close_ingest();
}

Test(ingest, verify_stitches_apart_from_the_join)
{
	struct dp_stack_table ref;
	struct dp_verify *v;
	struct rec r;

	dp_stack_table__init(&ref);
	v = dp_verify__new(1000000000ULL, &ref);
	cr_assert_not_null(v);
	open_ingest(true, v);
	/* The record first (read from another CPU's ring), then its sample; then the reverse. */
	mk_deferred(&r, 10, 11, 77, UIPS, 3);
	feed(&r);
	mk_sample(&r, 10, 11, KCH, 5);
	feed(&r);
	mk_sample(&r, 10, 12, (const uint64_t[]){ DP_CONTEXT_KERNEL, 0xffffffff81000010,
		  DP_CONTEXT_USER_DEFERRED, 78 }, 4);
	feed(&r);
	mk_deferred(&r, 10, 12, 78, UIPS, 2);
	feed(&r);
	/* A sample whose thread exits without a record: lost, on both sides. */
	mk_sample(&r, 10, 13, (const uint64_t[]){ DP_CONTEXT_USER_DEFERRED, 79 }, 2);
	feed(&r);
	mk_task(&r, PERF_RECORD_EXIT, 10, 1, 13, 1);
	feed(&r);
	for (uint64_t t = 2000; t < 8000; t += 1000)
		cr_assert_eq(dp_ingest__end_round(in, t), 0);
	cr_assert_eq(dp_ingest__finish(in), 0);
	cr_assert_eq(ref.total, 3);
	cr_assert_eq(table.total, 3);
	cr_assert_eq(dp_stack_table__diff(&table, &ref, NULL, 0), 0, "the join and the reference agree");
	/* A sample with no record at all goes lost at the timeout in the reference. */
	cr_assert_eq(dp_verify__sample(v, 10, 14, &(struct dp_chain){ .form = DP_CHAIN_DEFERRED,
			.cookie = 80 }, 10000), 0);
	cr_assert_eq(dp_verify__end_round(v, 10000 + 2000000000ULL), 0);
	cr_assert_eq(ref.total, 4);
	cr_assert_neq(dp_stack_table__diff(&table, &ref, NULL, 0), 0, "a difference shows");
	close_ingest();
	dp_verify__free(v);
	dp_stack_table__clear(&ref);
}

/* The symbols side's answer for the leaf repair, faked: the caller of 0x401010 is 0x402020. */
static uint64_t fake_leaf_caller(void *ctx, uint32_t pid, const struct dp_leaf *leaf)
{
	(void)ctx;
	(void)pid;
	return leaf->ip == 0x401010 && leaf->words[0] == 0x402020 ? 0x402020 : 0;
}

Test(ingest, leaf_repair_on_both_sides_of_verify)
{
	static const uint64_t skipped[] = { 0x401010, 0x403030 };	/* the FP walk's record */
	const struct dp_ingest_sink lsink = { .leaf_caller = fake_leaf_caller };
	struct dp_ingest_opts o = { .join = { .timeout_ns = 1000000000ULL, .max_pending = 1024 } };
	struct dp_leaf leaf = { .ip = 0x401010, .words = { 0x402020, 7, 8, 9 } };
	struct dp_join_sample js = {
		.pid = 10, .tid = 11, .cookie = 77, .kips = KCH + 1, .knr = 2, .count = 1,
		.leaf = &leaf,
	};
	struct dp_stack_table ref;
	struct dp_verify *v;
	struct rec r;

	dp_stack_table__init(&ref);
	v = dp_verify__new(1000000000ULL, &ref);
	cr_assert_not_null(v);
	dp_stack_table__init(&table);
	comms = dp_comms__new();
	in = dp_ingest__new(&o, &table, comms, &lsink, v);
	cr_assert_not_null(in);
	/* A round: the ring (the record and the raw sample), then the log (the sample, with evidence). */
	mk_deferred(&r, 10, 11, 77, skipped, 2);
	feed(&r);
	mk_sample(&r, 10, 11, KCH, 5);
	feed(&r);
	cr_assert_eq(dp_ingest__sample(in, &js, 1000), 0);
	cr_assert_eq(dp_ingest__end_round(in, 2000), 0);
	cr_assert_eq(dp_ingest__finish(in), 0);
	cr_assert_eq(table.total, 1);
	cr_assert_eq(ref.total, 1);
	cr_assert_not_null(dp_stack_table__find(&table, &(struct dp_stack_hdr){ .pid = 10, .tid = 11,
			   .knr = 2, .unr = 3 }, KCH + 1, UIPS), "the caller inserted after the IP");
	cr_assert_eq(dp_stack_table__diff(&table, &ref, NULL, 0), 0, "the reference repaired alike");
	cr_assert_eq(dp_ingest__join_stats(in)->leaf_recovered, 1);
	cr_assert_eq(dp_ingest__stats(in)->leaf_evidence, 1);
	close_ingest();
	dp_verify__free(v);
	dp_stack_table__clear(&ref);
}

/*
 * Seen in the VM at a task's exit (1 run in 12 failed --verify): its last
 * samples' evidence came out of the logs a round after their ring records,
 * and a sample taken past its last return to user space had a classic chain
 * (the kernel cannot defer then). The reference repairs and stamps both as
 * the join does.
 */
Test(ingest, verify_repairs_late_evidence_and_classic_chains)
{
	static const uint64_t skipped[] = { 0x401010, 0x403030 };	/* the FP walk's record */
	static const uint64_t classic[] = { DP_CONTEXT_KERNEL, 0xffffffff81000010,
					    DP_CONTEXT_USER, 0x401010, 0x403030 };
	const struct dp_ingest_sink lsink = { .leaf_caller = fake_leaf_caller };
	struct dp_ingest_opts o = { .join = { .timeout_ns = 1000000000ULL, .max_pending = 1024 } };
	struct dp_leaf leaf = { .ip = 0x401010, .words = { 0x402020, 7, 8, 9 } };
	struct dp_join_sample js = {
		.pid = 10, .tid = 11, .cookie = 77, .kips = KCH + 1, .knr = 2, .count = 1,
		.leaf = &leaf,
	};
	struct dp_join_sample jc = {
		.pid = 10, .tid = 12, .kips = classic + 1, .knr = 1, .uips = skipped, .unr = 2,
		.count = 1, .leaf = &leaf,
	};
	struct dp_stack_table ref;
	struct dp_verify *v;
	struct rec r;

	dp_stack_table__init(&ref);
	v = dp_verify__new(1000000000ULL, &ref);
	cr_assert_not_null(v);
	dp_stack_table__init(&table);
	comms = dp_comms__new();
	in = dp_ingest__new(&o, &table, comms, &lsink, v);
	cr_assert_not_null(in);
	/* Round 1: the ring only (a record, its raw sample, a classic raw sample). */
	mk_deferred(&r, 10, 11, 77, skipped, 2);
	feed(&r);
	mk_sample(&r, 10, 11, KCH, 5);
	feed(&r);
	mk_sample(&r, 10, 12, classic, 5);
	feed(&r);
	cr_assert_eq(dp_ingest__end_round(in, 2000), 0);
	/* Round 2: the logs, with the evidence. */
	cr_assert_eq(dp_ingest__sample(in, &js, 3000), 0);
	cr_assert_eq(dp_ingest__sample(in, &jc, 3000), 0);
	cr_assert_eq(dp_ingest__end_round(in, 4000), 0);
	cr_assert_eq(dp_ingest__finish(in), 0);
	cr_assert_eq(table.total, 2);
	cr_assert_eq(ref.total, 2);
	cr_assert_not_null(dp_stack_table__find(&table, &(struct dp_stack_hdr){ .pid = 10, .tid = 12,
			   .knr = 1, .unr = 3 }, classic + 1, UIPS), "the classic chain repaired");
	cr_assert_eq(dp_stack_table__diff(&table, &ref, NULL, 0), 0, "the reference repaired alike");
	close_ingest();
	dp_verify__free(v);
	dp_stack_table__clear(&ref);
}

/* A part the BPF store had no room for is named apart from a lost record. */
Test(ingest, store_full_parts_are_not_lost_records)
{
	cr_assert_eq(dp_key__stk_flags(DP_KEY_USTACK_LOST, false), DP_STK_USER_NOT_STORED);
	cr_assert_eq(dp_key__stk_flags(DP_KEY_KSTACK_LOST, false), DP_STK_KERNEL_LOST);
	cr_assert_eq(dp_key__stk_flags(0, true), DP_STK_NO_USER);
}
