#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include "helpers.h"
#include "record.h"
#include "ring.h"

#define DATA 256

struct fake {
	uint8_t page[4096] __attribute__((aligned(8)));
	uint8_t data[DATA] __attribute__((aligned(8)));
};

static void write_rec(struct fake *f, uint64_t *head, const void *rec, size_t len)
{
	for (size_t i = 0; i < len; i++)
		f->data[(*head + i) % DATA] = ((const uint8_t *)rec)[i];
	*head += len;
}

struct seen {
	int n;
	uint64_t cookies[16];
	size_t lens[16];
	const void *recs[16];	/* where the reader handed each record */
};

static int collect(const void *rec, size_t len, void *ctx)
{
	struct seen *s = ctx;
	struct dp_record r;

	cr_assert_eq(dp_record__parse(rec, len, DP_SAMPLE_TYPE, &r), 0);
	s->recs[s->n] = rec;
	s->cookies[s->n] = r.deferred.cookie;
	s->lens[s->n++] = len;
	return 0;
}

static struct fake *mkfake(struct dp_ring *ring, uint64_t start)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct perf_event_mmap_page *m = (void *)f->page;

	m->data_offset = 4096;
	m->data_head = start;
	m->data_tail = start;
	cr_assert_eq(dp_ring__init(ring, f, DATA), 0);
	return f;
}

Test(ring, wraps_records_split_at_the_end)
{
	uint64_t ips[] = { 0x401000, 0x402000, 0x403000 };
	struct dp_ring ring;
	struct seen s = { 0 };
	struct perf_event_mmap_page *m;
	struct fake *f;
	uint64_t head, second;
	struct rbuf r;

	/* Start so that the second record begins half its size before the end. */
	deferred(&r, 1, 2, 100, ips, 3);
	cr_assert(r.n % 8 == 0 && r.n >= 16 && 2 * r.n < DATA);
	f = mkfake(&ring, DATA - r.n - r.n / 2);
	m = (void *)f->page;
	head = m->data_head;
	second = head + r.n;
	cr_assert(second % DATA + r.n > DATA,
		  "the second record must straddle the end of the buffer");
	for (int i = 0; i < 3; i++) {
		deferred(&r, 1, 2, 100 + i, ips, 3);
		write_rec(f, &head, r.b, r.n);
	}
	m->data_head = head;
	cr_assert_eq(dp_ring__consume(&ring, collect, &s), 0);
	cr_assert_eq(s.n, 3);
	/* The first and third are read in place; the split one was copied whole. */
	cr_assert_eq(s.recs[0], f->data + (DATA - r.n - r.n / 2));
	cr_assert_eq(s.recs[1], ring.bounce);
	cr_assert_eq(s.recs[2], f->data + (second + r.n) % DATA);
	cr_assert_eq(s.lens[1], r.n);
	cr_assert_eq(s.cookies[0], 100);
	cr_assert_eq(s.cookies[1], 101);
	cr_assert_eq(s.cookies[2], 102);
	cr_assert_eq(m->data_tail, head);
	cr_assert_eq(dp_ring__pending(&ring), 0);
	dp_ring__fini(&ring);
	free(f);
}

Test(ring, header_split_at_the_end)
{
	uint64_t ips[] = { 1 };
	struct dp_ring ring;
	struct seen s = { 0 };
	struct fake *f = mkfake(&ring, DATA - 4);	/* the header itself wraps */
	struct perf_event_mmap_page *m = (void *)f->page;
	uint64_t head = m->data_head;
	struct rbuf r;

	deferred(&r, 1, 2, 55, ips, 1);
	write_rec(f, &head, r.b, r.n);
	m->data_head = head;
	cr_assert_eq(dp_ring__consume(&ring, collect, &s), 0);
	cr_assert_eq(s.n, 1);
	cr_assert_eq(s.cookies[0], 55);
	cr_assert_eq(s.recs[0], ring.bounce);
	dp_ring__fini(&ring);
	free(f);
}

Test(ring, incomplete_record_waits)
{
	uint64_t ips[] = { 1, 2 };
	struct dp_ring ring;
	struct seen s = { 0 };
	struct fake *f = mkfake(&ring, 0);
	struct perf_event_mmap_page *m = (void *)f->page;
	uint64_t head = 0;
	struct rbuf r;

	deferred(&r, 1, 2, 9, ips, 2);
	write_rec(f, &head, r.b, r.n);
	m->data_head = head - 8;	/* the kernel has not finished it */
	cr_assert_eq(dp_ring__consume(&ring, collect, &s), 0);
	cr_assert_eq(s.n, 0);
	m->data_head = head;
	cr_assert_eq(dp_ring__consume(&ring, collect, &s), 0);
	cr_assert_eq(s.n, 1);
	dp_ring__fini(&ring);
	free(f);
}

Test(ring, impossible_header_is_counted_and_skipped)
{
	struct dp_ring ring;
	struct seen s = { 0 };
	struct fake *f = mkfake(&ring, 0);
	struct perf_event_mmap_page *m = (void *)f->page;
	struct perf_event_header h = { .type = 22, .size = 4 };

	memcpy(f->data, &h, sizeof(h));
	m->data_head = 64;
	cr_assert_eq(dp_ring__consume(&ring, collect, &s), 0);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(ring.malformed, 1);
	cr_assert_eq(m->data_tail, 64);
	dp_ring__fini(&ring);
	free(f);
}

/*
 * Found by the ring fuzzer (a hang, each input minutes long): a head far
 * more than a buffer ahead of the tail had the reader walk 2^63 bytes of
 * small records round the buffer. The kernel never writes so far ahead:
 * nothing is read, the tail goes to the head, and it is counted.
 */
Test(ring, head_beyond_a_buffer_is_skipped)
{
	struct dp_ring ring;
	struct seen s = { 0 };
	struct fake *f = mkfake(&ring, 0);
	struct perf_event_mmap_page *m = (void *)f->page;
	struct perf_event_header h = { .type = 22, .size = 8 };

	for (int i = 0; i < DATA; i += 8)
		memcpy(f->data + i, &h, sizeof(h));
	m->data_tail = 8;
	m->data_head = 8 + (1ull << 62);
	cr_assert_eq(dp_ring__consume(&ring, collect, &s), 0);
	cr_assert_eq(s.n, 0);
	cr_assert_eq(ring.malformed, 1);
	cr_assert_eq(m->data_tail, m->data_head);
	dp_ring__fini(&ring);
	free(f);
}

Test(ring, rejects_bad_sizes)
{
	struct dp_ring ring;
	uint8_t mem[8192];

	cr_assert_eq(dp_ring__init(&ring, mem, 100), -EINVAL);
	cr_assert_eq(dp_ring__init(&ring, NULL, 4096), -EINVAL);
}
