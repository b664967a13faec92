#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include "samplelog.h"
#include "stacks.h"

/* Log entries written as the BPF program writes them, read back as samples. */
static struct dp_log *lg;
static struct dp_join_sample got[8];
static uint64_t gotk[8][8], gotu[8][8];
static int ngot;

static void setup(void)
{
	lg = calloc(1, sizeof(*lg));
	cr_assert_not_null(lg);
	ngot = 0;
}

static void teardown(void)
{
	free(lg);
}

TestSuite(samplelog, .init = setup, .fini = teardown);

/* Copy what the sample points at: the log space is reused. */
static int keep(const struct dp_join_sample *js, void *ctx)
{
	(void)ctx;
	cr_assert_lt(ngot, 8);
	got[ngot] = *js;
	if (js->knr)
		memcpy(gotk[ngot], js->kips, js->knr * 8);
	if (js->unr)
		memcpy(gotu[ngot], js->uips, js->unr * 8);
	ngot++;
	return 0;
}

/* An entry at byte offset at (the program writes at head % DP_LOG_BYTES). */
static uint64_t put(uint64_t at, uint32_t tid, uint32_t flags, uint64_t cookie, const uint64_t *ips,
		    uint16_t nr, uint16_t kfirst, uint16_t knr)
{
	struct dp_log_entry *e = (struct dp_log_entry *)(lg->data + (at & (DP_LOG_BYTES - 1)));

	e->pid = 100;
	e->tid = tid;
	e->flags = flags;
	e->nr = nr;
	e->kfirst = kfirst;
	e->knr = knr;
	e->cookie = cookie;
	memcpy(e->ips, ips, nr * 8);
	return at + DP_LOG_ENTRY_BYTES(nr);
}

static const uint64_t DEF[] = { DP_CONTEXT_KERNEL, 0xffffffff81000010, 0xffffffff81000020,
				DP_CONTEXT_USER_DEFERRED, 0x300000002 };
static const uint64_t CLS[] = { DP_CONTEXT_KERNEL, 0xffffffff81000030, DP_CONTEXT_USER,
				0x401000, 0x401100, 0x401200 };
static const uint64_t KTH[] = { DP_CONTEXT_KERNEL, 0xffffffff81000040, 0xffffffff81000050 };

Test(samplelog, deferred_classic_and_kernel_only_entries)
{
	struct dp_samplelog_stats st = { 0 };
	uint64_t head = 0, tail;
	int err;

	head = put(head, 7, DP_KEY_DEFERRED, 0x300000002, DEF, 5, 1, 2);
	head = put(head, 8, DP_KEY_CHAIN, 0, CLS, 6, 0, 6);
	head = put(head, 9, DP_KEY_CHAIN, 0, KTH, 3, 0, 3);
	tail = dp_samplelog__read(lg, 0, head, false, &st, keep, NULL, &err);
	cr_assert_eq(err, 0);
	cr_assert_eq(tail, head);
	cr_assert_eq(ngot, 3);
	cr_assert_eq(st.entries, 3);
	cr_assert_eq(st.bytes, head);
	cr_assert_eq(st.malformed, 0);
	/* deferred: kernel part, cookie to join on, user part to come */
	cr_assert_eq(got[0].tid, 7);
	cr_assert_eq(got[0].cookie, 0x300000002);
	cr_assert_eq(got[0].knr, 2);
	cr_assert_eq(gotk[0][0], 0xffffffff81000010);
	cr_assert_eq(got[0].unr, 0);
	cr_assert_eq(got[0].flags, 0);
	/* classic: both parts, split at the user marker */
	cr_assert_eq(got[1].cookie, 0);
	cr_assert_eq(got[1].knr, 1);
	cr_assert_eq(gotk[1][0], 0xffffffff81000030);
	cr_assert_eq(got[1].unr, 3);
	cr_assert_eq(gotu[1][2], 0x401200);
	cr_assert_eq(got[1].flags, 0);
	/* kernel thread: no user part */
	cr_assert_eq(got[2].knr, 2);
	cr_assert_eq(got[2].flags, DP_STK_NO_USER);
}

Test(samplelog, kernel_only_drops_the_user_side)
{
	struct dp_samplelog_stats st = { 0 };
	uint64_t head = 0;
	int err;

	head = put(head, 7, DP_KEY_DEFERRED, 0x300000002, DEF, 5, 1, 2);
	head = put(head, 8, DP_KEY_CHAIN, 0, CLS, 6, 0, 6);
	dp_samplelog__read(lg, 0, head, true, &st, keep, NULL, &err);
	cr_assert_eq(ngot, 2);
	cr_assert_eq(got[0].cookie, 0);
	cr_assert_eq(got[0].flags, DP_STK_NO_USER);
	cr_assert_eq(got[1].unr, 0);
	cr_assert_eq(got[1].flags, DP_STK_NO_USER);
}

/* An entry that starts near the end runs on into the slack: read in one piece. */
Test(samplelog, entry_across_the_end_and_wrapped_offsets)
{
	struct dp_samplelog_stats st = { 0 };
	uint64_t start = 3 * (uint64_t)DP_LOG_BYTES - 16, head, tail;
	int err;

	head = put(start, 8, DP_KEY_CHAIN, 0, CLS, 6, 0, 6);
	head = put(head, 9, DP_KEY_CHAIN, 0, KTH, 3, 0, 3);
	tail = dp_samplelog__read(lg, start, head, false, &st, keep, NULL, &err);
	cr_assert_eq(tail, head);
	cr_assert_eq(ngot, 2);
	cr_assert_eq(gotu[0][2], 0x401200);
	cr_assert_eq(gotk[1][1], 0xffffffff81000050);
}

Test(samplelog, malformed_entries_are_counted_and_skipped)
{
	static const uint64_t BAD[] = { DP_CONTEXT_KERNEL, 0xffffffff81000010, DP_CONTEXT_GUEST, 0x1 };
	struct dp_samplelog_stats st = { 0 };
	uint64_t head = 0, tail;
	int err;

	head = put(head, 7, DP_KEY_CHAIN, 0, CLS, 6, 0, 6);
	head = put(head, 8, DP_KEY_CHAIN, 0, BAD, 4, 0, 4);	/* a marker the split does not know */
	head = put(head, 9, DP_KEY_CHAIN, 0, KTH, 3, 0, 3);
	tail = dp_samplelog__read(lg, 0, head, false, &st, keep, NULL, &err);
	cr_assert_eq(tail, head);
	/* A chain that does not parse in a well-framed entry is still a sample: the next ones are read. */
	cr_assert_eq(ngot, 3);
	cr_assert_eq(got[1].tid, 8);
	cr_assert(got[1].flags & DP_STK_MALFORMED);
	cr_assert_eq(got[1].knr + got[1].unr, 0);
	cr_assert_eq(got[2].tid, 9);
	cr_assert_eq(st.malformed, 1);
	/* an entry claiming more words than were written */
	ngot = 0;
	head = put(0, 7, DP_KEY_DEFERRED, 1, DEF, 5, 1, 2);
	((struct dp_log_entry *)lg->data)->nr = 200;
	tail = dp_samplelog__read(lg, 0, head, false, &st, keep, NULL, &err);
	cr_assert_eq(ngot, 0);
	cr_assert_eq(st.malformed, 2);
	/* a kernel part past the chain's end */
	head = put(0, 7, DP_KEY_DEFERRED, 1, DEF, 5, 4, 2);
	dp_samplelog__read(lg, 0, head, false, &st, keep, NULL, &err);
	cr_assert_eq(ngot, 0);
	cr_assert_eq(st.malformed, 3);
}

static int fail_second(const struct dp_join_sample *js, void *ctx)
{
	int *n = ctx;

	(void)js;
	return ++*n == 2 ? -12 : 0;
}

Test(samplelog, callback_error_stops_after_that_entry)
{
	struct dp_samplelog_stats st = { 0 };
	uint64_t head = 0, second, tail;
	int err, n = 0;

	head = put(head, 7, DP_KEY_CHAIN, 0, KTH, 3, 0, 3);
	second = head = put(head, 8, DP_KEY_CHAIN, 0, KTH, 3, 0, 3);
	head = put(head, 9, DP_KEY_CHAIN, 0, KTH, 3, 0, 3);
	tail = dp_samplelog__read(lg, 0, head, false, &st, fail_second, &n, &err);
	cr_assert_eq(err, -12);
	cr_assert_eq(tail, second);
}

/* An entry with the leaf repair's struct dp_leaf after its chain. */
static uint64_t put_leaf(uint64_t at, uint32_t tid, uint32_t flags, uint64_t cookie,
			 const uint64_t *ips, uint16_t nr, uint16_t kfirst, uint16_t knr,
			 const struct dp_leaf *leaf)
{
	struct dp_log_entry *e = (struct dp_log_entry *)(lg->data + (at & (DP_LOG_BYTES - 1)));

	at = put(at, tid, flags | DP_KEY_LEAF, cookie, ips, nr, kfirst, knr);
	memcpy(&e->ips[nr], leaf, sizeof(*leaf));
	return at + sizeof(*leaf);
}

static const struct dp_leaf *gotleaf[8];

static int keep_leaf(const struct dp_join_sample *js, void *ctx)
{
	gotleaf[ngot] = js->leaf;
	return keep(js, ctx);
}

Test(samplelog, leaf_evidence_follows_the_chain)
{
	const struct dp_leaf a = { .ip = 0x401000, .words = { 0x402000, 1, 2, 3 } };
	const struct dp_leaf b = { .ip = 0x401500, .words = { 4, 0x403000, 5, 6 } };
	struct dp_samplelog_stats st = { 0 };
	uint64_t head = 0, tail;
	int err;

	head = put_leaf(head, 7, DP_KEY_DEFERRED, 0x300000002, DEF, 5, 1, 2, &a);
	head = put(head, 7, DP_KEY_DEFERRED, 0x300000002, DEF, 5, 1, 2);	/* same entry: none */
	head = put_leaf(head, 8, DP_KEY_CHAIN, 0, CLS, 6, 0, 6, &b);
	tail = dp_samplelog__read(lg, 0, head, false, &st, keep_leaf, NULL, &err);
	cr_assert_eq(err, 0);
	cr_assert_eq(tail, head);
	cr_assert_eq(ngot, 3);
	cr_assert_eq(st.malformed, 0);
	cr_assert_eq(st.bytes, head, "each entry's size counts its struct dp_leaf");
	cr_assert(gotleaf[0] && gotleaf[0]->ip == 0x401000 && gotleaf[0]->words[0] == 0x402000);
	cr_assert_null(gotleaf[1]);
	cr_assert(gotleaf[2] && gotleaf[2]->ip == 0x401500 && gotleaf[2]->words[1] == 0x403000);
	cr_assert_eq(got[2].unr, 3, "the classic chain still splits");
	/* --kernel-only: no user side, no evidence */
	ngot = 0;
	tail = dp_samplelog__read(lg, 0, head, true, &st, keep_leaf, NULL, &err);
	cr_assert_eq(tail, head);
	cr_assert_null(gotleaf[0]);
}
