#include <criterion/criterion.h>
#include "join.h"
#include "stacks.h"

static const uint64_t K1[] = { 0xffffffff81005000, 0xffffffff81004000 };
static const uint64_t K2[] = { 0xffffffff81003000 };
static const uint64_t U1[] = { 0x401010, 0x401020, 0x401030 };
static const uint64_t U2[] = { 0x402010 };

static struct dp_stack_table t;
static struct dp_join *j;

static void setup(void)
{
	struct dp_join_opts o = { .timeout_ns = 1000, .max_pending = 100 };

	dp_stack_table__init(&t);
	j = dp_join__new(&o, &t);
	cr_assert_not_null(j);
}

static void teardown(void)
{
	dp_join__free(j);
	dp_stack_table__clear(&t);
}

static struct dp_join_sample smp(uint32_t tid, uint64_t cookie, const uint64_t *k, uint32_t kn,
				 uint64_t count)
{
	struct dp_join_sample s = {
		.pid = 100, .tid = tid, .cookie = cookie, .kips = k, .knr = kn, .count = count,
	};
	return s;
}

static uint64_t count_of(uint32_t tid, uint32_t flags, const uint64_t *k, uint16_t kn,
			 const uint64_t *u, uint16_t un)
{
	struct dp_stack_hdr h = { .pid = 100, .tid = tid, .flags = flags, .knr = kn, .unr = un };
	struct dp_stack_entry *e = dp_stack_table__find(&t, &h, k, u);

	return e ? e->count : 0;
}

/* At the end, every sample given to the join is in the table and in exactly one counter. */
static void assert_closed(void)
{
	const struct dp_join_stats *s = dp_join__stats(j);

	cr_assert_eq(dp_join__finish(j), 0);
	cr_assert_eq(dp_join__pending(j), 0);
	cr_assert_eq(s->samples_in, s->joined + s->classic + s->kernel_only + s->lost_exited +
		     s->lost_timeout + s->lost_at_end + s->lost_evicted + s->lost_ring);
	cr_assert_eq(t.total, s->samples_in);
}

TestSuite(join, .init = setup, .fini = teardown);

Test(join, samples_then_record)
{
	struct dp_join_sample a = smp(7, 0x100000001, K1, 2, 3), b = smp(7, 0x100000001, K2, 1, 2);

	cr_assert_eq(dp_join__add_sample(j, &a, 0), 0);
	cr_assert_eq(dp_join__add_sample(j, &b, 0), 0);
	cr_assert_eq(dp_join__pending(j), 1);
	cr_assert_eq(t.total, 0);
	cr_assert_eq(dp_join__add_record(j, 100, 7, 0x100000001, U1, 3), 0);
	cr_assert_eq(dp_join__pending(j), 0);
	cr_assert_eq(count_of(7, 0, K1, 2, U1, 3), 3);
	cr_assert_eq(count_of(7, 0, K2, 1, U1, 3), 2);
	cr_assert_eq(dp_join__stats(j)->joined, 5);
	dp_join__finish(j);
	cr_assert_eq(dp_join__stats(j)->records_matched, 1);
	assert_closed();
}

Test(join, record_then_late_samples_within_three_rounds)
{
	struct dp_join_sample a = smp(7, 5, K1, 2, 1);

	cr_assert_eq(dp_join__add_record(j, 100, 7, 5, U1, 3), 0);
	cr_assert_eq(dp_join__add_sample(j, &a, 0), 0);
	dp_join__end_round(j, 10);
	/* taken between the unwind and the return to user space */
	cr_assert_eq(dp_join__add_sample(j, &a, 10), 0);
	dp_join__end_round(j, 20);
	/* drained a round late: the counts maps are double-buffered */
	cr_assert_eq(dp_join__add_sample(j, &a, 20), 0);
	dp_join__end_round(j, 30);
	dp_join__end_round(j, 35);
	cr_assert_eq(count_of(7, 0, K1, 2, U1, 3), 3);
	/* retired now: a sample for it waits for a record that will not come */
	cr_assert_eq(dp_join__add_sample(j, &a, 40), 0);
	cr_assert_eq(dp_join__pending(j), 1);
	dp_join__finish(j);
	cr_assert_eq(dp_join__stats(j)->lost_at_end, 1);
	cr_assert_eq(count_of(7, DP_STK_USER_LOST, K1, 2, NULL, 0), 1);
	assert_closed();
}

Test(join, orphan_samples_timeout_then_late_record)
{
	struct dp_join_sample a = smp(7, 9, K1, 2, 4);

	dp_join__add_sample(j, &a, 0);
	dp_join__end_round(j, 500);
	cr_assert_eq(dp_join__pending(j), 1);
	dp_join__end_round(j, 1500);
	cr_assert_eq(dp_join__pending(j), 0);
	cr_assert_eq(dp_join__stats(j)->lost_timeout, 4);
	cr_assert_eq(count_of(7, DP_STK_USER_LOST, K1, 2, NULL, 0), 4);
	dp_join__add_record(j, 100, 7, 9, U1, 3);
	cr_assert_eq(dp_join__stats(j)->records_late, 1);
	cr_assert_eq(count_of(7, 0, K1, 2, U1, 3), 0);
	assert_closed();
}

/* Records the ring lost explain as many groups that never got theirs, no more. */
Test(join, ring_loss_blamed_for_unmatched_groups)
{
	struct dp_join_sample a = smp(7, 9, K1, 2, 3), b = smp(7, 10, K1, 2, 2),
			      c = smp(8, 11, K1, 2, 1), d = smp(8, 12, K1, 2, 5);

	dp_join__add_sample(j, &a, 0);
	dp_join__add_sample(j, &b, 0);
	dp_join__add_sample(j, &c, 0);
	dp_join__add_sample(j, &d, 0);
	dp_join__records_lost(j, 2);
	dp_join__add_record(j, 100, 8, 12, U1, 3);	/* d's record did come */
	dp_join__end_round(j, 1500);			/* a, b, c time out */
	cr_assert_eq(dp_join__stats(j)->joined, 5);
	/* oldest first: a and b are blamed on the ring's two lost records, c timed out */
	cr_assert_eq(dp_join__stats(j)->lost_ring, 5);
	cr_assert_eq(dp_join__stats(j)->lost_timeout, 1);
	assert_closed();
}

Test(join, task_exit_resolves_after_one_round)
{
	struct dp_join_sample a = smp(7, 9, K1, 2, 1), b = smp(8, 9, K1, 2, 1);

	dp_join__add_sample(j, &a, 0);
	dp_join__add_sample(j, &b, 0);
	dp_join__task_exit(j, 7);
	dp_join__end_round(j, 1);	/* the exit was seen in this round: wait */
	cr_assert_eq(dp_join__pending(j), 2);
	dp_join__end_round(j, 2);
	cr_assert_eq(dp_join__pending(j), 1);
	cr_assert_eq(dp_join__stats(j)->lost_exited, 1);
	assert_closed();
}

Test(join, record_without_samples_and_duplicates)
{
	dp_join__add_record(j, 100, 7, 1, U1, 3);
	dp_join__add_record(j, 100, 7, 1, U1, 3);
	cr_assert_eq(dp_join__stats(j)->records_duplicate, 1);
	dp_join__end_round(j, 1);
	dp_join__end_round(j, 2);
	dp_join__end_round(j, 3);
	cr_assert_eq(dp_join__stats(j)->records_unmatched, 0, "kept three rounds");
	dp_join__end_round(j, 4);
	cr_assert_eq(dp_join__stats(j)->records_unmatched, 1);
	cr_assert_eq(t.total, 0);
}

/*
 * Records keep their user stacks interned, found again by the thread's last
 * one: a thread's repeated stack, a new stack of the same length, and two
 * threads that share a slot of that memory, each counted as its own.
 */
Test(join, a_threads_last_stack_and_its_neighbours)
{
	static const uint64_t U1B[] = { 0x401010, 0x401020, 0x401099 };
	uint32_t a = 7, b = 8, slot = (a * 0x9e3779b9U) >> 24;
	uint64_t cookie = 1;

	while (((b * 0x9e3779b9U) >> 24) != slot)	/* a thread in a's slot */
		b++;
	for (int i = 0; i < 3; i++) {
		const uint64_t *u = i == 2 ? U1B : U1;
		struct dp_join_sample sa = smp(a, cookie, K1, 2, 1), sb = smp(b, cookie, K2, 1, 1);

		cr_assert_eq(dp_join__add_record(j, 100, a, cookie, u, 3), 0);
		cr_assert_eq(dp_join__add_record(j, 100, b, cookie, i == 1 ? U1 : U2, i == 1 ? 3 : 1),
			     0);
		cr_assert_eq(dp_join__add_sample(j, &sa, 0), 0);
		cr_assert_eq(dp_join__add_sample(j, &sb, 0), 0);
		cookie++;
	}
	cr_assert_eq(count_of(a, 0, K1, 2, U1, 3), 2);
	cr_assert_eq(count_of(a, 0, K1, 2, U1B, 3), 1);
	cr_assert_eq(count_of(b, 0, K2, 1, U2, 1), 2);
	cr_assert_eq(count_of(b, 0, K2, 1, U1, 3), 1);
	cr_assert_eq(dp_stack_table__nparts(&t), 5);	/* K1, K2, U1, U1B, U2 */
	assert_closed();
}

/*
 * An ndjson interval moves the output table out and starts a new one: a
 * record kept across it still joins its own user stack, not whatever the
 * new table gave its old id to.
 */
Test(join, a_record_kept_across_a_moved_table)
{
	struct dp_stack_table old;
	struct dp_join_sample a = smp(7, 1, K1, 2, 1);

	cr_assert_eq(dp_join__add_record(j, 100, 7, 1, U2, 1), 0);
	old = t;
	dp_stack_table__init(&t);	/* the session's tick: the join's table starts over */
	cr_assert_eq(dp_join__rebase(j, &old), 0);
	dp_stack_table__clear(&old);
	cr_assert_eq(dp_join__add_record(j, 100, 8, 2, U1, 3), 0);
	cr_assert_eq(dp_join__add_sample(j, &a, 0), 0);
	cr_assert_eq(count_of(7, 0, K1, 2, U2, 1), 1);
	cr_assert_eq(count_of(7, 0, K1, 2, U1, 3), 0);
	assert_closed();
}

Test(join, same_cookie_other_threads_do_not_mix)
{
	struct dp_join_sample a = smp(7, 42, K1, 2, 1), b = smp(8, 42, K2, 1, 1);

	dp_join__add_sample(j, &a, 0);
	dp_join__add_sample(j, &b, 0);
	dp_join__add_record(j, 100, 8, 42, U2, 1);
	cr_assert_eq(count_of(8, 0, K2, 1, U2, 1), 1);
	cr_assert_eq(count_of(7, 0, K1, 2, U2, 1), 0);
	cr_assert_eq(dp_join__pending(j), 1);
	dp_join__add_record(j, 100, 7, 42, U1, 3);
	cr_assert_eq(count_of(7, 0, K1, 2, U1, 3), 1);
	assert_closed();
}

Test(join, classic_and_kernel_only_pass_through)
{
	struct dp_join_sample c = smp(7, 0, K1, 2, 2), k = smp(9, 0, K2, 1, 5);

	c.uips = U2;
	c.unr = 1;
	k.flags = DP_STK_NO_USER;
	dp_join__add_sample(j, &c, 0);
	dp_join__add_sample(j, &k, 0);
	cr_assert_eq(count_of(7, 0, K1, 2, U2, 1), 2);
	cr_assert_eq(count_of(9, DP_STK_NO_USER, K2, 1, NULL, 0), 5);
	cr_assert_eq(dp_join__stats(j)->classic, 2);
	cr_assert_eq(dp_join__stats(j)->kernel_only, 5);
	assert_closed();
}

Test(join, pending_table_is_bounded)
{
	for (uint64_t c = 1; c <= 150; c++) {
		struct dp_join_sample a = smp(7, c, K1, 2, 1);

		cr_assert_eq(dp_join__add_sample(j, &a, 0), 0);
	}
	cr_assert_eq(dp_join__pending(j), 100);
	cr_assert_eq(dp_join__stats(j)->lost_evicted, 50);
	cr_assert_eq(dp_join__stats(j)->pending_peak, 100);
	dp_join__finish(j);
	assert_closed();
}

/*
 * Thousands of records a round: the record index grows, and retiring a
 * round deletes its records from the middle of probe runs. Every record
 * must still be found while kept, and none once retired.
 */
Test(join, many_records_index_grows_and_retires)
{
	enum { PER_ROUND = 5000, ROUNDS = 6 };
	uint64_t kept_samples = 0;

	for (uint32_t r = 0; r < ROUNDS; r++) {
		for (uint32_t i = 0; i < PER_ROUND; i++) {
			uint64_t cookie = ((uint64_t)(r * PER_ROUND + i) << 32) | (i % 2 + 1);

			cr_assert_eq(dp_join__add_record(j, 100, 7 + i % 3, cookie, U1, 3), 0);
		}
		/* Every record of this round and the three before it is found. */
		for (uint32_t back = 0; back <= 3 && back <= r; back++) {
			for (uint32_t i = 0; i < PER_ROUND; i += 7) {
				uint64_t cookie = ((uint64_t)((r - back) * PER_ROUND + i) << 32) | (i % 2 + 1);
				struct dp_join_sample a = smp(7 + i % 3, cookie, K1, 2, 1);

				cr_assert_eq(dp_join__add_sample(j, &a, 0), 0);
				kept_samples++;
			}
		}
		cr_assert_eq(dp_join__pending(j), 0, "round %u: a kept record was not found", r);
		dp_join__end_round(j, r + 1);
	}
	cr_assert_eq(dp_join__stats(j)->joined, kept_samples);
	cr_assert_eq(dp_join__stats(j)->records_duplicate, 0);
	/* Rounds 0 to 2 are retired: a sample for one of theirs finds nothing. */
	{
		struct dp_join_sample a = smp(7, 1, K1, 2, 1);

		cr_assert_eq(dp_join__add_sample(j, &a, 0), 0);
		cr_assert_eq(dp_join__pending(j), 1);
	}
	cr_assert_eq(dp_join__stats(j)->records_matched + dp_join__stats(j)->records_unmatched,
		     3 * PER_ROUND);
	dp_join__finish(j);
	cr_assert_eq(dp_join__stats(j)->records_matched + dp_join__stats(j)->records_unmatched,
		     ROUNDS * PER_ROUND);
	assert_closed();
}

/* The leaf repair's evidence: the caller after the IP, held for the whole (tid, cookie) entry. */
static const uint64_t UL[] = { 0x401010, 0x401030 };		/* the FP walk skipped 0x401020 */
static const uint64_t UL_FIXED[] = { 0x401010, 0x401020, 0x401030 };

Test(join, leaf_evidence_then_record_and_later_samples)
{
	struct dp_join_sample a = smp(7, 0x100000001, K1, 2, 1), b = smp(7, 0x100000001, K2, 1, 2);

	a.leaf_ip = 0x401010;
	a.leaf_ra = 0x401020;	/* b, a later sample of the entry, carries none */
	cr_assert_eq(dp_join__add_sample(j, &a, 0), 0);
	cr_assert_eq(dp_join__add_record(j, 100, 7, 0x100000001, UL, 2), 0);
	cr_assert_eq(dp_join__add_sample(j, &b, 0), 0);
	cr_assert_eq(count_of(7, 0, K1, 2, UL_FIXED, 3), 1);
	cr_assert_eq(count_of(7, 0, K2, 1, UL_FIXED, 3), 2, "the entry's evidence serves its later samples");
	cr_assert_eq(count_of(7, 0, K1, 2, UL, 2), 0);
	cr_assert_eq(dp_join__stats(j)->leaf_recovered, 3);
	assert_closed();
}

Test(join, leaf_evidence_after_the_record)
{
	struct dp_join_sample a = smp(7, 0x200000001, K1, 2, 1);

	cr_assert_eq(dp_join__add_record(j, 100, 7, 0x200000001, UL, 2), 0);
	a.leaf_ip = 0x401010;
	a.leaf_ra = 0x401020;
	cr_assert_eq(dp_join__add_sample(j, &a, 0), 0);
	cr_assert_eq(count_of(7, 0, K1, 2, UL_FIXED, 3), 1);
	assert_closed();
}

Test(join, leaf_evidence_that_does_not_fit_changes_nothing)
{
	struct dp_join_sample a = smp(7, 0x300000001, K1, 2, 1), c = smp(8, 0, K2, 1, 1);

	a.leaf_ip = 0x409999;	/* another IP than the record's first frame */
	a.leaf_ra = 0x401020;
	cr_assert_eq(dp_join__add_sample(j, &a, 0), 0);
	cr_assert_eq(dp_join__add_record(j, 100, 7, 0x300000001, UL, 2), 0);
	cr_assert_eq(count_of(7, 0, K1, 2, UL, 2), 1);
	/* Classic: the caller already next: unchanged. */
	c.uips = UL_FIXED;
	c.unr = 3;
	c.leaf_ip = 0x401010;
	c.leaf_ra = 0x401020;
	cr_assert_eq(dp_join__add_sample(j, &c, 0), 0);
	cr_assert_eq(count_of(8, 0, K2, 1, UL_FIXED, 3), 1);
	cr_assert_eq(dp_join__stats(j)->leaf_recovered, 0);
	assert_closed();
}

static uint32_t space_gen;

static uint32_t gen_of(void *ctx, uint32_t pid)
{
	(void)ctx;
	return pid == 100 ? space_gen : 0;
}

/*
 * A deferred stack's address-space generation is the one when its record
 * came, whichever of record and samples comes last: the logs are read after
 * the rings, so a dlopen read in between must not move earlier stacks.
 */
Test(join, a_deferred_stack_takes_its_records_generation)
{
	struct dp_join_sample a = smp(7, 0x100000001, K1, 2, 3), b = smp(8, 0x100000002, K1, 2, 4);

	t.generation = gen_of;
	space_gen = 0;
	cr_assert_eq(dp_join__add_sample(j, &a, 0), 0);
	space_gen = 1;	/* the record comes after a change: the stack is of the new space */
	cr_assert_eq(dp_join__add_record(j, 100, 7, 0x100000001, U1, 3), 0);
	cr_assert_eq(dp_join__add_record(j, 100, 8, 0x100000002, U1, 3), 0);
	space_gen = 2;	/* tid 8's samples come out of the logs after another change */
	cr_assert_eq(dp_join__add_sample(j, &b, 0), 0);
	cr_assert_eq(count_of(7, dp_stk__gen_bits(1), K1, 2, U1, 3), 3);
	cr_assert_eq(count_of(8, dp_stk__gen_bits(1), K1, 2, U1, 3), 4, "its record's, not the log's");
	cr_assert_eq(count_of(8, dp_stk__gen_bits(2), K1, 2, U1, 3), 0);
	assert_closed();
}
