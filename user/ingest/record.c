// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <string.h>
#include <linux/perf_event.h>
#include "deferprof.h"
#include "perf_abi.h"
#include "record.h"

struct cursor {
	const uint8_t *p;
	const uint8_t *end;
};

static int take_u64(struct cursor *c, uint64_t *v)
{
	if (c->end - c->p < 8)
		return -EINVAL;
	memcpy(v, c->p, 8);
	c->p += 8;
	return 0;
}

static int take_u32x2(struct cursor *c, uint32_t *a, uint32_t *b)
{
	if (c->end - c->p < 8)
		return -EINVAL;
	memcpy(a, c->p, 4);
	memcpy(b, c->p + 4, 4);
	c->p += 8;
	return 0;
}

/* A NUL-terminated string padded to 8 bytes, inside the record. */
static int take_str(struct cursor *c, const char **s)
{
	const uint8_t *nul = memchr(c->p, 0, c->end - c->p);
	size_t n;

	if (!nul)
		return -EINVAL;
	*s = (const char *)c->p;
	n = (size_t)(nul - c->p) + 1;
	n = (n + 7) & ~(size_t)7;
	c->p = (size_t)(c->end - c->p) < n ? c->end : c->p + n;
	return 0;
}

/* The fields of the sample_id trailer (sample_id_all), one word each. */
#define TRAILER_FIELDS	(PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ID | \
			 PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU | PERF_SAMPLE_IDENTIFIER)

static size_t trailer_len(uint64_t st)
{
	size_t n = 0;

	/* A bit a step (no popcnt instruction in the baseline x86-64). */
	for (st &= TRAILER_FIELDS; st; st &= st - 1)
		n += 8;
	return n;
}

/* The sample_id trailer sits at the end of every non-sample record. */
static inline __attribute__((always_inline)) int parse_sample_id(const uint8_t *start,
								 const uint8_t *end, uint64_t st,
								 struct dp_sample_id *id)
{
	size_t bytes = trailer_len(st);
	struct cursor c;
	uint64_t skip, cpu;

	if ((size_t)(end - start) < bytes)
		return -EINVAL;
	c.p = end - bytes;
	c.end = end;
	memset(id, 0, sizeof(*id));
	if ((st & PERF_SAMPLE_TID) && take_u32x2(&c, &id->pid, &id->tid))
		return -EINVAL;
	if ((st & PERF_SAMPLE_TIME) && take_u64(&c, &id->time))
		return -EINVAL;
	if ((st & PERF_SAMPLE_ID) && take_u64(&c, &skip))
		return -EINVAL;
	if ((st & PERF_SAMPLE_STREAM_ID) && take_u64(&c, &skip))
		return -EINVAL;
	if (st & PERF_SAMPLE_CPU) {
		if (take_u64(&c, &cpu))
			return -EINVAL;
		id->cpu = (uint32_t)cpu;
	}
	id->valid = true;
	return 0;
}

static int parse_sample(struct cursor *c, uint64_t st, struct dp_record *rec)
{
	uint64_t v, nr;

	/* Only the fields deferprof asks for are accepted. */
	if (st & ~(uint64_t)(PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU |
			     PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_IP | PERF_SAMPLE_PERIOD))
		return -EINVAL;
	if ((st & PERF_SAMPLE_IP) && take_u64(c, &v))
		return -EINVAL;
	if ((st & PERF_SAMPLE_TID) && take_u32x2(c, &rec->id.pid, &rec->id.tid))
		return -EINVAL;
	if ((st & PERF_SAMPLE_TIME) && take_u64(c, &rec->id.time))
		return -EINVAL;
	if (st & PERF_SAMPLE_CPU) {
		if (take_u64(c, &v))
			return -EINVAL;
		rec->id.cpu = (uint32_t)v;
	}
	if ((st & PERF_SAMPLE_PERIOD) && take_u64(c, &v))
		return -EINVAL;
	rec->id.valid = true;
	rec->sample.nr = 0;
	rec->sample.ips = NULL;
	if (st & PERF_SAMPLE_CALLCHAIN) {
		if (take_u64(c, &nr))
			return -EINVAL;
		if (nr > (uint64_t)(c->end - c->p) / 8)
			return -EINVAL;
		rec->sample.nr = nr;
		rec->sample.ips = (const uint64_t *)c->p;
		c->p += nr * 8;
	}
	return 0;
}

/*
 * A deferred user stack: one a kernel entry, the most common record by far,
 * so parsed on its own (only the fields it has are written). Inlined: with
 * deferprof's own sample_type the trailer's layout is known when compiled.
 */
static inline __attribute__((always_inline)) int parse_deferred(const uint8_t *start, size_t len,
								uint64_t st, struct dp_record *rec)
{
	struct cursor c = { .p = start + sizeof(struct perf_event_header), .end = start + len };

	if (parse_sample_id(c.p, c.end, st, &rec->id))
		return -EINVAL;
	c.end -= trailer_len(st);
	if (take_u64(&c, &rec->deferred.cookie) || take_u64(&c, &rec->deferred.nr))
		return -EINVAL;
	if (rec->deferred.nr > (uint64_t)(c.end - c.p) / 8)
		return -EINVAL;
	rec->deferred.ips = (const uint64_t *)c.p;
	return 0;
}

int dp_record__parse(const void *buf, size_t len, uint64_t st, struct dp_record *rec)
{
	const uint8_t *start = buf;
	struct perf_event_header h;
	struct cursor c;
	uint64_t v;

	if (len < sizeof(h)) {
		memset(rec, 0, sizeof(*rec));
		return -EINVAL;
	}
	memcpy(&h, buf, sizeof(h));	/* records in a recording need not be aligned */
	if (h.type == DP_RECORD_CALLCHAIN_DEFERRED && h.size == len && !(len & 7)) {
		rec->type = h.type;
		rec->misc = h.misc;
		rec->size = h.size;
		return st == DP_SAMPLE_TYPE ? parse_deferred(start, len, DP_SAMPLE_TYPE, rec) :
					      parse_deferred(start, len, st, rec);
	}
	memset(rec, 0, sizeof(*rec));
	if (h.size != len || (len & 7))
		return -EINVAL;
	rec->type = h.type;
	rec->misc = h.misc;
	rec->size = h.size;
	c.p = start + sizeof(h);
	c.end = start + len;

	if (h.type == PERF_RECORD_SAMPLE)
		return parse_sample(&c, st, rec);

	switch (h.type) {	/* a well-framed deferred record took parse_deferred() */
	case PERF_RECORD_LOST:
	case PERF_RECORD_MMAP2:
	case PERF_RECORD_COMM:
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		break;
	default:
		return -ENOENT;
	}
	if (parse_sample_id(start + sizeof(h), c.end, st, &rec->id))
		return -EINVAL;
	c.end -= trailer_len(st);

	switch (h.type) {
	case PERF_RECORD_LOST:
		if (take_u64(&c, &rec->lost.id) || take_u64(&c, &rec->lost.lost))
			return -EINVAL;
		return 0;
	case PERF_RECORD_MMAP2:
		if (take_u32x2(&c, &rec->mmap.pid, &rec->mmap.tid) ||
		    take_u64(&c, &rec->mmap.start) || take_u64(&c, &rec->mmap.len) ||
		    take_u64(&c, &rec->mmap.pgoff))
			return -EINVAL;
		if (c.end - c.p < 24)
			return -EINVAL;
		if (h.misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
			rec->mmap.build_id_size = c.p[0];
			if (rec->mmap.build_id_size > 20)
				return -EINVAL;
			rec->mmap.build_id = c.p + 4;
			c.p += 16;
			if (take_u64(&c, &v))	/* the build-id's tail */
				return -EINVAL;
		} else if (take_u32x2(&c, &rec->mmap.maj, &rec->mmap.min) ||
			   take_u64(&c, &rec->mmap.ino) || take_u64(&c, &rec->mmap.ino_generation)) {
			return -EINVAL;
		}
		if (take_u32x2(&c, &rec->mmap.prot, &rec->mmap.flags))
			return -EINVAL;
		return take_str(&c, &rec->mmap.filename);
	case PERF_RECORD_COMM:
		if (take_u32x2(&c, &rec->comm.pid, &rec->comm.tid))
			return -EINVAL;
		rec->comm.exec = h.misc & PERF_RECORD_MISC_COMM_EXEC;
		return take_str(&c, &rec->comm.comm);
	default: /* FORK, EXIT */
		if (take_u32x2(&c, &rec->task.pid, &rec->task.ppid) ||
		    take_u32x2(&c, &rec->task.tid, &rec->task.ptid) ||
		    take_u64(&c, &rec->task.time))
			return -EINVAL;
		return 0;
	}
}

static bool is_marker(uint64_t ip)
{
	return ip >= DP_CONTEXT_MAX;
}

int dp_chain__split(const uint64_t *ips, uint64_t nr, struct dp_chain *out)
{
	uint64_t i = 0, start;

	memset(out, 0, sizeof(*out));
	out->form = DP_CHAIN_KERNEL_ONLY;
	if (nr && ips[0] == DP_CONTEXT_KERNEL) {
		start = ++i;
		while (i < nr && !is_marker(ips[i]))
			i++;
		out->kips = ips + start;
		out->knr = (uint32_t)(i - start);
	}
	if (i == nr)
		return 0;
	if (ips[i] == DP_CONTEXT_USER) {
		/*
		 * The user part runs to the end: the kernel puts no marker after
		 * it, and a word there that looks like one is a return address
		 * read from a broken frame chain (code without frame pointers
		 * leaves anything in rbp, -1 included). The profile cuts the
		 * chain there under [bad frame], above the largest user address.
		 */
		out->form = DP_CHAIN_CLASSIC;
		out->uips = ips + i + 1;
		out->unr = (uint32_t)(nr - i - 1);
		return 0;
	}
	if (ips[i] == DP_CONTEXT_USER_DEFERRED) {
		if (i + 2 != nr)
			return -EINVAL;
		out->form = DP_CHAIN_DEFERRED;
		out->cookie = ips[i + 1];
		return 0;
	}
	return -EINVAL;
}
