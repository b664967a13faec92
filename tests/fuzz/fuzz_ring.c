/*
 * The ring reader on a buffer laid out as a perf mmap, with any head, tail
 * and data: every record it hands out lies in the buffer or its bounce copy
 * and is as long as its header says; the tail never passes the head.
 */
#include <linux/perf_event.h>
#include "fuzz.h"
#include "record.h"
#include "ring.h"

struct seen {
	uint64_t records, bytes;
};

static int on_record(const void *rec, size_t len, void *ctx)
{
	struct perf_event_header h;
	struct seen *s = ctx;
	struct dp_record r;

	/* The fuzzer's records are not 8-byte aligned as the kernel's are: copied. */
	FZ_CHECK(len >= sizeof(h));
	memcpy(&h, rec, sizeof(h));
	FZ_CHECK(h.size == len);
	s->records++;
	s->bytes += len;
	dp_record__parse(rec, len, DP_SAMPLE_TYPE, &r);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	uint64_t data_size = 1ull << (8 + fz_take(&f, 1) % 5);	/* 256 B to 4 KiB */
	uint64_t head = fz_take(&f, 8), tail = fz_take(&f, 8);
	struct perf_event_mmap_page *meta;
	struct seen s = { 0 };
	struct dp_ring ring;
	uint8_t *base;

	/* A tail within one buffer of the head, as the kernel keeps them, and not. */
	if (fz_take(&f, 1) & 1)
		tail = head - (tail % (data_size + 1));
	base = calloc(1, 4096 + data_size);
	if (!base)
		return 0;
	meta = (struct perf_event_mmap_page *)base;
	meta->data_offset = 4096;
	meta->data_size = data_size;
	meta->data_head = head;
	meta->data_tail = tail;
	memcpy(base + 4096, f.p, f.n < data_size ? f.n : data_size);
	if (!dp_ring__init(&ring, base, data_size)) {
		dp_ring__consume(&ring, on_record, &s);
		/* The tail moves forward, never past the head. */
		FZ_CHECK(meta->data_tail == tail || meta->data_tail - tail <= head - tail);
		dp_ring__fini(&ring);
	}
	free(base);
	return 0;
}
