/*
 * The ingest dispatcher fed any sequence of inputs, built from the fuzzer's
 * bytes: ring records of every type deferprof reads (well framed, with any
 * contents), samples from the logs (with or without leaf evidence), ends of
 * rounds; --raw and --verify on or off. After each round and at the end the
 * accounting must close: every sample the join took is in exactly one of
 * its outcomes, and the table holds every sample once the profile ends.
 */
#include <linux/perf_event.h>
#include "fuzz.h"
#include "comms.h"
#include "dispatch.h"
#include "perf_abi.h"
#include "verify.h"

/* Small ranges, so that samples, records, exits and forks meet. */
#define FZ_TASKS 4
#define FZ_COOKIES 4

struct rec {
	uint8_t b[1024];
	size_t n;
};

static void put(struct rec *r, const void *v, size_t len)
{
	if (r->n + len <= sizeof(r->b)) {
		memcpy(r->b + r->n, v, len);
		r->n += len;
	}
}

static void put64(struct rec *r, uint64_t v)
{
	put(r, &v, 8);
}

static void put32x2(struct rec *r, uint32_t a, uint32_t b)
{
	put(r, &a, 4);
	put(r, &b, 4);
}

/* An address: kernel or user, near a few others, or anything. */
static uint64_t addr(struct fz *f)
{
	uint8_t k = (uint8_t)fz_take(f, 1);

	switch (k & 3) {
	case 0:
		return 0xffffffff81000000ull + (k >> 2) * 16;
	case 1:
		return 0x401000ull + (k >> 2) * 16;
	case 2:
		return DP_CONTEXT_USER_DEFERRED - (k >> 2) % 8 * 0x80;	/* the markers */
	default:
		return fz_take(f, 8);
	}
}

static uint32_t task(struct fz *f)
{
	return 100 + (uint32_t)(fz_take(f, 1) % FZ_TASKS);
}

/* A ring record: a header the kernel could write, any body within it. */
static void ring_record(struct fz *f, struct rec *r)
{
	static const uint32_t types[] = {
		PERF_RECORD_SAMPLE, DP_RECORD_CALLCHAIN_DEFERRED, PERF_RECORD_COMM,
		PERF_RECORD_FORK, PERF_RECORD_EXIT, PERF_RECORD_MMAP2, PERF_RECORD_LOST,
		PERF_RECORD_LOST_SAMPLES, PERF_RECORD_THROTTLE,
	};
	struct perf_event_header h = { .type = types[fz_take(f, 1) % 9],
				       .misc = (uint16_t)fz_take(f, 2) };
	uint32_t pid = task(f), tid = task(f), nr = (uint32_t)fz_take(f, 1) % 12;
	uint16_t size;

	r->n = 0;
	put(r, &h, sizeof(h));
	switch (h.type) {
	case PERF_RECORD_SAMPLE:	/* tid, then the chain */
		put32x2(r, pid, tid);
		put64(r, nr);
		for (uint32_t i = 0; i < nr; i++)
			put64(r, i + 1 == nr && fz_take(f, 1) & 1 ? fz_take(f, 1) % FZ_COOKIES + 1 : addr(f));
		break;
	case DP_RECORD_CALLCHAIN_DEFERRED:
		put64(r, fz_take(f, 1) % FZ_COOKIES + 1);
		put64(r, nr);
		for (uint32_t i = 0; i < nr; i++)
			put64(r, addr(f));
		put32x2(r, pid, tid);
		break;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		put32x2(r, pid, task(f));
		put32x2(r, tid, task(f));
		put64(r, 1);
		put32x2(r, pid, tid);
		break;
	default: {	/* any body: the parser decides */
		size_t len = fz_take(f, 1) % 96;

		if (len > f->n)
			len = f->n;
		put(r, f->p, len);
		f->p += len;
		f->n -= len;
		break;
	}
	}
	if (fz_take(f, 1) % 8 == 0)	/* a size that lies, now and then */
		r->n -= r->n > 8 ? fz_take(f, 1) % (r->n - 8) : 0;
	size = (uint16_t)r->n;
	memcpy(r->b + 6, &size, 2);
}

/* A sample from the logs, as drain.c hands it over. */
static void log_sample(struct fz *f, struct dp_join_sample *s, uint64_t *k, uint64_t *u,
		       struct dp_leaf *leaf)
{
	memset(s, 0, sizeof(*s));
	s->pid = task(f);
	s->tid = task(f);
	s->count = 1 + fz_take(f, 1) % 3;
	s->knr = (uint32_t)fz_take(f, 1) % 8;
	for (uint32_t i = 0; i < s->knr; i++)
		k[i] = addr(f);
	s->kips = k;
	if (fz_take(f, 1) & 1) {
		s->cookie = fz_take(f, 1) % FZ_COOKIES + 1;
	} else {
		s->unr = (uint32_t)fz_take(f, 1) % 8;
		for (uint32_t i = 0; i < s->unr; i++)
			u[i] = addr(f);
		s->uips = u;
	}
	if (fz_take(f, 1) & 1) {
		leaf->ip = addr(f);
		for (int i = 0; i < DP_LEAF_WORDS; i++)
			leaf->words[i] = addr(f);
		s->leaf = leaf;
	}
}

/* The symbols side's answer for the leaf repair: a caller for some addresses. */
static uint64_t leaf_caller(void *ctx, uint32_t pid, const struct dp_leaf *leaf)
{
	(void)ctx;
	(void)pid;
	return leaf->ip & 0x10 ? leaf->words[0] : 0;
}

static void check(const struct dp_ingest *in, const struct dp_stack_table *t, bool ended)
{
	const struct dp_join_stats *s = dp_ingest__join_stats(in);
	uint64_t out = s->joined + s->classic + s->kernel_only + s->lost_exited + s->lost_timeout +
		       s->lost_at_end + s->lost_evicted + s->lost_ring;

	FZ_CHECK(out <= s->samples_in);
	FZ_CHECK(t->total == out);
	if (ended) {
		FZ_CHECK(out == s->samples_in);
		FZ_CHECK(dp_ingest__pending(in) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint8_t mode = (uint8_t)fz_take(&f, 1);
	struct dp_ingest_opts o = {
		.join = { .timeout_ns = 1000 + fz_take(&f, 1) * 100, .max_pending = 1 + fz_take(&f, 1) % 16 },
		.raw = mode & 1,
	};
	struct dp_ingest_sink sink = { .leaf_caller = leaf_caller };
	struct dp_stack_table table, ref;
	struct dp_comms *comms = dp_comms__new();
	struct dp_verify *v = NULL;
	struct dp_ingest *in;
	uint64_t now = 1000, k[8], u[8];
	struct dp_join_sample s;
	struct dp_leaf leaf;
	struct rec r;

	if (!comms)
		return 0;
	dp_stack_table__init(&table);
	dp_stack_table__init(&ref);
	if (!o.raw && mode & 2)
		v = dp_verify__new(o.join.timeout_ns, &ref);
	in = dp_ingest__new(&o, &table, comms, &sink, v);
	if (!in)
		goto out;
	while (f.n) {
		switch (fz_take(&f, 1) % 4) {
		case 0:
		case 1:
			ring_record(&f, &r);
			(void)dp_ingest__record(in, r.b, r.n, now);
			break;
		case 2:
			log_sample(&f, &s, k, u, &leaf);
			(void)dp_ingest__sample(in, &s, now);
			break;
		default: {
			struct dp_task t[8];

			now += fz_take(&f, 2) * 10;
			(void)dp_ingest__end_round(in, now);
			while (dp_ingest__take_new_tasks(in, t, 8) == 8)
				;
			check(in, &table, false);
			break;
		}
		}
	}
	if (!dp_ingest__finish(in))
		check(in, &table, true);
	dp_ingest__free(in);
out:
	dp_verify__free(v);
	dp_comms__free(comms);
	dp_stack_table__clear(&table);
	dp_stack_table__clear(&ref);
	return 0;
}
