#include <criterion/criterion.h>
#include <errno.h>
#include "helpers.h"
#include "deferprof.h"
#include "perf_abi.h"
#include "record.h"

/* The helpers' records carry TID, TIME and CPU: the parser takes any sample_type. */
#define FULL_SAMPLE_TYPE (PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_CALLCHAIN)

Test(record, deferred_sample_chain_kernel_part_marker_cookie)
{
	uint64_t ips[] = { DP_CONTEXT_KERNEL, 0xffffffff81005010, 0xffffffff81004020,
			   DP_CONTEXT_USER_DEFERRED, 0x300000002 };
	struct dp_record rec;
	struct dp_chain ch;
	struct rbuf r;

	sample(&r, 10, 11, ips, 5);
	cr_assert_eq(dp_record__parse(r.b, r.n, FULL_SAMPLE_TYPE, &rec), 0);
	cr_assert_eq(rec.type, PERF_RECORD_SAMPLE);
	cr_assert_eq(rec.id.pid, 10);
	cr_assert_eq(rec.id.tid, 11);
	cr_assert_eq(rec.id.cpu, 1);
	cr_assert_eq(rec.sample.nr, 5);
	cr_assert_eq(dp_chain__split(rec.sample.ips, rec.sample.nr, &ch), 0);
	cr_assert_eq(ch.form, DP_CHAIN_DEFERRED);
	cr_assert_eq(ch.knr, 2);
	cr_assert_eq(ch.kips[0], 0xffffffff81005010);
	cr_assert_eq(ch.cookie, 0x300000002);
	cr_assert_eq(ch.unr, 0);
}

Test(record, chain_forms)
{
	uint64_t user_only_deferred[] = { DP_CONTEXT_USER_DEFERRED, 7 };
	uint64_t classic[] = { DP_CONTEXT_KERNEL, 0xffffffff81001000, DP_CONTEXT_USER, 0x401000,
			       0x402000 };
	uint64_t kthread[] = { DP_CONTEXT_KERNEL, 0xffffffff81001000, 0xffffffff81002000 };
	uint64_t user_classic[] = { DP_CONTEXT_USER, 0x401000 };
	struct dp_chain ch;

	cr_assert_eq(dp_chain__split(user_only_deferred, 2, &ch), 0);
	cr_assert_eq(ch.form, DP_CHAIN_DEFERRED);
	cr_assert_eq(ch.knr, 0);
	cr_assert_eq(ch.cookie, 7);

	cr_assert_eq(dp_chain__split(classic, 5, &ch), 0);
	cr_assert_eq(ch.form, DP_CHAIN_CLASSIC);
	cr_assert_eq(ch.knr, 1);
	cr_assert_eq(ch.unr, 2);
	cr_assert_eq(ch.uips[1], 0x402000);

	cr_assert_eq(dp_chain__split(kthread, 3, &ch), 0);
	cr_assert_eq(ch.form, DP_CHAIN_KERNEL_ONLY);
	cr_assert_eq(ch.knr, 2);

	cr_assert_eq(dp_chain__split(user_classic, 2, &ch), 0);
	cr_assert_eq(ch.form, DP_CHAIN_CLASSIC);
	cr_assert_eq(ch.knr, 0);
	cr_assert_eq(ch.unr, 1);
}

Test(record, malformed_chains_rejected)
{
	uint64_t no_cookie[] = { DP_CONTEXT_KERNEL, 0xffffffff81001000, DP_CONTEXT_USER_DEFERRED };
	uint64_t cookie_then_more[] = { DP_CONTEXT_USER_DEFERRED, 7, 0x401000 };
	uint64_t guest[] = { DP_CONTEXT_GUEST, 0x1 };
	uint64_t kernel_then_guest[] = { DP_CONTEXT_KERNEL, 0xffffffff81001000, DP_CONTEXT_GUEST, 0x1 };
	struct dp_chain ch;

	cr_assert_eq(dp_chain__split(no_cookie, 3, &ch), -EINVAL);
	cr_assert_eq(dp_chain__split(cookie_then_more, 3, &ch), -EINVAL);
	cr_assert_eq(dp_chain__split(guest, 2, &ch), -EINVAL);
	cr_assert_eq(dp_chain__split(kernel_then_guest, 4, &ch), -EINVAL);
}

/*
 * The user part of a classic chain runs to its end: code without frame
 * pointers leaves anything in rbp, and the kernel's unwinder stores what it
 * reads as return addresses, -1 or a marker's value included (seen on
 * Debian's xerces-c: one such word made the log reader skip the rest of a
 * log, 1034 samples uncounted). The profile cuts the chain there.
 */
Test(record, marker_like_words_in_a_user_part_are_return_addresses)
{
	uint64_t garbage[] = { DP_CONTEXT_KERNEL, 0xffffffff81001000, DP_CONTEXT_USER, 0x401000,
			       0x401100, 0xffffffffffffffffULL, DP_CONTEXT_KERNEL, 0x401200 };
	struct dp_chain ch;

	cr_assert_eq(dp_chain__split(garbage, 8, &ch), 0);
	cr_assert_eq(ch.form, DP_CHAIN_CLASSIC);
	cr_assert_eq(ch.knr, 1);
	cr_assert_eq(ch.unr, 5);
	cr_assert_eq(ch.uips[2], 0xffffffffffffffffULL);
	cr_assert_eq(ch.uips[4], 0x401200);
}

Test(record, deferred_record)
{
	uint64_t ips[] = { 0x4390bd, 0x4016dc, 0x4016f9, 0x401863, 0x401f44 };
	struct dp_record rec;
	struct rbuf r;

	deferred(&r, 100, 101, 0xfcb00000002, ips, 5);
	cr_assert_eq(dp_record__parse(r.b, r.n, FULL_SAMPLE_TYPE, &rec), 0);
	cr_assert_eq(rec.type, 22);
	cr_assert_eq(rec.deferred.cookie, 0xfcb00000002);
	cr_assert_eq(rec.deferred.nr, 5);
	cr_assert_eq(rec.deferred.ips[4], 0x401f44);
	cr_assert_eq(rec.id.pid, 100);
	cr_assert_eq(rec.id.tid, 101);
	cr_assert_eq(rec.id.time, 2000);
}

Test(record, truncated_and_malformed_rejected)
{
	uint64_t ips[] = { 1, 2, 3 };
	struct dp_record rec;
	struct rbuf r;

	deferred(&r, 1, 1, 5, ips, 3);
	/* nr claims more addresses than the record holds */
	{
		uint64_t big = 1000;

		memcpy(r.b + 16, &big, 8);
		cr_assert_eq(dp_record__parse(r.b, r.n, FULL_SAMPLE_TYPE, &rec), -EINVAL);
	}
	deferred(&r, 1, 1, 5, ips, 3);
	/* header size disagrees with the buffer */
	cr_assert_eq(dp_record__parse(r.b, r.n - 8, FULL_SAMPLE_TYPE, &rec), -EINVAL);
	/* too short for a header */
	cr_assert_eq(dp_record__parse(r.b, 4, FULL_SAMPLE_TYPE, &rec), -EINVAL);
	/* a sample cut inside its callchain */
	sample(&r, 1, 1, ips, 3);
	{
		uint16_t sz = (uint16_t)(r.n - 16);

		memcpy(r.b + 6, &sz, 2);
		cr_assert_eq(dp_record__parse(r.b, r.n - 16, FULL_SAMPLE_TYPE, &rec), -EINVAL);
	}
	/* unknown record types are reported as such, not as errors */
	begin(&r, 9999, 0);
	trailer(&r, 1, 1, 1, 1);
	finish(&r);
	cr_assert_eq(dp_record__parse(r.b, r.n, FULL_SAMPLE_TYPE, &rec), -ENOENT);
}

Test(record, lost_comm_exit_mmap2)
{
	struct dp_record rec;
	struct rbuf r;

	begin(&r, PERF_RECORD_LOST, 0);
	put64(&r, 42);
	put64(&r, 17);
	trailer(&r, 0, 0, 5, 0);
	finish(&r);
	cr_assert_eq(dp_record__parse(r.b, r.n, FULL_SAMPLE_TYPE, &rec), 0);
	cr_assert_eq(rec.lost.lost, 17);

	begin(&r, PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC);
	put32x2(&r, 7, 8);
	memcpy(r.b + r.n, "worker\0\0", 8);
	r.n += 8;
	trailer(&r, 7, 8, 5, 0);
	finish(&r);
	cr_assert_eq(dp_record__parse(r.b, r.n, FULL_SAMPLE_TYPE, &rec), 0);
	cr_assert_str_eq(rec.comm.comm, "worker");
	cr_assert(rec.comm.exec);

	begin(&r, PERF_RECORD_EXIT, 0);
	put32x2(&r, 7, 1);
	put32x2(&r, 9, 1);
	put64(&r, 123);
	trailer(&r, 7, 9, 123, 0);
	finish(&r);
	cr_assert_eq(dp_record__parse(r.b, r.n, FULL_SAMPLE_TYPE, &rec), 0);
	cr_assert_eq(rec.task.tid, 9);

	begin(&r, PERF_RECORD_MMAP2, 0);
	put32x2(&r, 7, 7);
	put64(&r, 0x400000);
	put64(&r, 0x1000);
	put64(&r, 0);
	put32x2(&r, 8, 1);	/* maj, min */
	put64(&r, 1234);	/* ino */
	put64(&r, 99);		/* ino_generation */
	put32x2(&r, 5, 2);	/* prot, flags */
	memcpy(r.b + r.n, "/bin/true\0\0\0\0\0\0\0", 16);
	r.n += 16;
	trailer(&r, 7, 7, 1, 0);
	finish(&r);
	cr_assert_eq(dp_record__parse(r.b, r.n, FULL_SAMPLE_TYPE, &rec), 0);
	cr_assert_eq(rec.mmap.start, 0x400000);
	cr_assert_eq(rec.mmap.prot, 5);
	cr_assert_str_eq(rec.mmap.filename, "/bin/true");
	cr_assert_eq(rec.mmap.maj, 8);
	cr_assert_eq(rec.mmap.min, 1);
	cr_assert_eq(rec.mmap.ino, 1234);
	cr_assert_eq(rec.mmap.ino_generation, 99);
	cr_assert_null(rec.mmap.build_id);
}

Test(record, attr_defer_bits)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.sigtrap = 1;
	dp_attr_set_flag(&a, DP_ATTR_DEFER_CALLCHAIN_BIT, 1);
	dp_attr_set_flag(&a, DP_ATTR_DEFER_OUTPUT_BIT, 1);
	cr_assert(dp_attr_get_flag(&a, 38));
	cr_assert(dp_attr_get_flag(&a, 39));
	/* sigtrap is bit 37, just before: the layout agrees with the kernel's */
	cr_assert(dp_attr_get_flag(&a, 37));
	dp_attr_set_flag(&a, DP_ATTR_DEFER_OUTPUT_BIT, 0);
	cr_assert(!dp_attr_get_flag(&a, 39));
}

/* deferprof's own events: a TID-only trailer. */
Test(record, deferred_record_tid_only_trailer)
{
	uint64_t ips[] = { 0x4390bd, 0x4016dc };
	struct dp_record rec;
	struct rbuf r;

	_Static_assert(DP_SAMPLE_TYPE == (PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN),
		       "this test lays out deferprof's own trailer");
	begin(&r, DP_RECORD_CALLCHAIN_DEFERRED, PERF_RECORD_MISC_USER);
	put64(&r, 0x500000001);
	put64(&r, 2);
	put64(&r, ips[0]);
	put64(&r, ips[1]);
	put32x2(&r, 7, 8);	/* pid, tid */
	finish(&r);
	cr_assert_eq(dp_record__parse(r.b, r.n, DP_SAMPLE_TYPE, &rec), 0);
	cr_assert_eq(rec.type, DP_RECORD_CALLCHAIN_DEFERRED);
	cr_assert_eq(rec.deferred.cookie, 0x500000001);
	cr_assert_eq(rec.deferred.nr, 2);
	cr_assert_eq(rec.deferred.ips[1], 0x4016dc);
	cr_assert(rec.id.valid);
	cr_assert_eq(rec.id.pid, 7);
	cr_assert_eq(rec.id.tid, 8);
}
