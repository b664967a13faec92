/* Builders of perf records for the tests. */
#ifndef DP_TEST_HELPERS_H
#define DP_TEST_HELPERS_H

#include <stdint.h>
#include <string.h>
#include <linux/perf_event.h>

struct rbuf {
	uint8_t b[4096];
	size_t n;
};

static inline void put64(struct rbuf *r, uint64_t v)
{
	memcpy(r->b + r->n, &v, 8);
	r->n += 8;
}

static inline void put32x2(struct rbuf *r, uint32_t a, uint32_t b)
{
	memcpy(r->b + r->n, &a, 4);
	memcpy(r->b + r->n + 4, &b, 4);
	r->n += 8;
}

static inline void begin(struct rbuf *r, uint32_t type, uint16_t misc)
{
	struct perf_event_header h = { .type = type, .misc = misc };

	memset(r, 0, sizeof(*r));
	memcpy(r->b, &h, sizeof(h));
	r->n = sizeof(h);
}

/* sample_id trailer of TID | TIME | CPU (test_record's FULL_SAMPLE_TYPE). */
static inline void trailer(struct rbuf *r, uint32_t pid, uint32_t tid, uint64_t time, uint32_t cpu)
{
	put32x2(r, pid, tid);
	put64(r, time);
	put32x2(r, cpu, 0);
}

static inline void finish(struct rbuf *r)
{
	uint16_t size = (uint16_t)r->n;

	memcpy(r->b + 6, &size, 2);
}

static inline void sample(struct rbuf *r, uint32_t pid, uint32_t tid, const uint64_t *ips, uint64_t nr)
{
	begin(r, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER);
	put32x2(r, pid, tid);
	put64(r, 1000);
	put32x2(r, 1, 0);
	put64(r, nr);
	for (uint64_t i = 0; i < nr; i++)
		put64(r, ips[i]);
	finish(r);
}

static inline void deferred(struct rbuf *r, uint32_t pid, uint32_t tid, uint64_t cookie,
			    const uint64_t *ips, uint64_t nr)
{
	begin(r, 22, PERF_RECORD_MISC_USER);
	put64(r, cookie);
	put64(r, nr);
	for (uint64_t i = 0; i < nr; i++)
		put64(r, ips[i]);
	trailer(r, pid, tid, 2000, 1);
	finish(r);
}

#endif
