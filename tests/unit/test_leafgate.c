/*
 * The leaf gate's bookkeeping (user/kernel/leafgate.c) against a fake map:
 * what is written, under which key, what is erased when code may change,
 * and what happens when the map is full or refuses.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include "leafgate.h"

#define FAKE_MAX 16

struct fake_map {
	uint64_t keys[FAKE_MAX];
	struct dp_gate_page vals[FAKE_MAX];
	int n;
	int fail_write;		/* the next write fails with this */
	int writes, erases;
};

static int find(struct fake_map *m, uint64_t key)
{
	for (int i = 0; i < m->n; i++)
		if (m->keys[i] == key)
			return i;
	return -1;
}

static int fake_write(void *ctx, uint64_t key, const struct dp_gate_page *pg)
{
	struct fake_map *m = ctx;
	int i = find(m, key);

	m->writes++;
	if (m->fail_write) {
		int err = m->fail_write;

		m->fail_write = 0;
		return err;
	}
	if (i < 0) {
		if (m->n == FAKE_MAX)
			return -E2BIG;
		i = m->n++;
	}
	m->keys[i] = key;
	m->vals[i] = *pg;
	return 0;
}

static int fake_erase(void *ctx, uint64_t key)
{
	struct fake_map *m = ctx;
	int i = find(m, key);

	m->erases++;
	if (i < 0)
		return -ENOENT;
	m->keys[i] = m->keys[m->n - 1];
	m->vals[i] = m->vals[m->n - 1];
	m->n--;
	return 0;
}

static struct dp_gate_page some_bits(uint64_t w0)
{
	struct dp_gate_page pg;

	memset(&pg, 0, sizeof(pg));
	pg.bits[0] = w0;
	return pg;
}

static struct dp_leafgate *gate(struct fake_map *m, uint32_t capacity)
{
	const struct dp_leafgate_ops ops = { .write = fake_write, .erase = fake_erase, .ctx = m };
	struct dp_leafgate *g;

	memset(m, 0, sizeof(*m));
	g = dp_leafgate__new(&ops, capacity);
	cr_assert_not_null(g);
	return g;
}

/* Captures from addr until the gate asks for the page to be worked out: how many. */
static int until_learn(struct dp_leafgate *g, uint32_t pid, uint64_t addr)
{
	for (int n = 1; n <= 10 * DP_GATE_LEARN_AT; n++) {
		int r = dp_leafgate__seen(g, pid, addr, false);

		cr_assert_geq(r, 0);
		if (r)
			return n;
	}
	return -1;
}

/* Worked out and published: the whole page of addr, as one span. */
static void learn(struct dp_leafgate *g, uint32_t pid, uint64_t addr, uint64_t w0)
{
	struct dp_gate_page pg = some_bits(w0);

	cr_assert_eq(until_learn(g, pid, addr), DP_GATE_LEARN_AT);
	cr_assert_eq(dp_leafgate__learn(g, pid, addr, &pg, 0, 4096), 0);
}

Test(leafgate, a_page_is_worked_out_once_sampled_often_enough)
{
	struct fake_map m;
	struct dp_leafgate *g = gate(&m, 100);
	struct dp_gate_page pg = some_bits(0x5);
	uint64_t key = DP_GATE_KEY(42, 0x401234);
	int i;

	cr_assert_eq(key, ((uint64_t)42 << 35) | 0x401, "key %#llx", (unsigned long long)key);
	/* Counted across the page, nothing written until then. */
	for (int k = 1; k < DP_GATE_LEARN_AT; k++)
		cr_assert_eq(dp_leafgate__seen(g, 42, k % 2 ? 0x401234 : 0x401ff8, false), 0);
	cr_assert_eq(m.writes, 0, "a page sampled less often costs no map entry");
	cr_assert_eq(dp_leafgate__seen(g, 42, 0x401000, false), 1, "the %dth capture", DP_GATE_LEARN_AT);
	cr_assert_eq(dp_leafgate__learn(g, 42, 0x401000, &pg, 0, 4096), 0);
	i = find(&m, key);
	cr_assert_geq(i, 0);
	cr_assert_eq(m.vals[i].bits[0], 0x5);
	cr_assert_eq(m.vals[i].bits[63], 0);
	/* Worked out: further captures (from a set bit: needed) ask nothing. */
	for (int k = 0; k < 2 * DP_GATE_LEARN_AT; k++)
		cr_assert_eq(dp_leafgate__seen(g, 42, 0x401000, false), 0);
	cr_assert_eq(m.writes, 1);
	cr_assert_eq(dp_leafgate__stats(g)->written, 1);
	/* Another process, another page: counted apart. */
	cr_assert_eq(until_learn(g, 43, 0x401234), DP_GATE_LEARN_AT);
	cr_assert_eq(until_learn(g, 42, 0x402000), DP_GATE_LEARN_AT);
	cr_assert_eq(dp_leafgate__learn(g, 44, 0x1000, &pg, 0, 4096), -ENOENT, "never seen");
	dp_leafgate__free(g);
}

/*
 * A page is worked out a span at a time (a function, as the symbols side
 * delimits it): the map has the span's bits, and every byte not worked
 * out yet set, so that its captures go on. Captures from those bytes are
 * counted again; a needed capture from a byte worked out is not.
 */
Test(leafgate, a_page_is_worked_out_span_by_span)
{
	struct fake_map m;
	struct dp_leafgate *g = gate(&m, 100);
	struct dp_gate_page a = some_bits(0), b = some_bits(0);
	uint64_t key = DP_GATE_KEY(7, 0x5000);
	int i;

	/* Bytes [0x40, 0x80) of the page: only 0x48 needs a capture. */
	a.bits[1] = 1ULL << 8;
	a.bits[5] = ~0ULL;	/* outside the span: not taken */
	cr_assert_eq(until_learn(g, 7, 0x5048), DP_GATE_LEARN_AT);
	cr_assert_eq(dp_leafgate__learn(g, 7, 0x5048, &a, 0x40, 0x80), 0);
	i = find(&m, key);
	cr_assert_geq(i, 0);
	cr_assert_eq(m.vals[i].bits[1], 1ULL << 8, "the span's bits");
	cr_assert_eq(m.vals[i].bits[0], ~0ULL, "bytes not worked out: read");
	cr_assert_eq(m.vals[i].bits[5], ~0ULL);
	/* 0x48 is needed: not counted. 0x50 is not read at all any more. */
	for (int k = 0; k < 2 * DP_GATE_LEARN_AT; k++)
		cr_assert_eq(dp_leafgate__seen(g, 7, 0x5048, false), 0);
	/* Another function of the page: counted from zero, worked out, merged. */
	b.bits[5] = 0xff;
	for (int k = 1; k < DP_GATE_LEARN_EAGER; k++)
		cr_assert_eq(dp_leafgate__seen(g, 7, 0x5140, false), 0);
	/* In a round the program asked for (captures came fast): at the eager count. */
	cr_assert_eq(dp_leafgate__seen(g, 7, 0x5140, true), 1, "the %dth capture, eager",
		     DP_GATE_LEARN_EAGER);
	cr_assert_eq(dp_leafgate__learn(g, 7, 0x5140, &b, 0x140, 0x180), 0);
	i = find(&m, key);
	cr_assert_eq(m.vals[i].bits[1], 1ULL << 8, "the first span kept");
	cr_assert_eq(m.vals[i].bits[5], 0xff);
	cr_assert_eq(m.vals[i].bits[6], ~0ULL);
	cr_assert_eq(dp_leafgate__stats(g)->written, 1, "one page");
	cr_assert_eq(dp_leafgate__stats(g)->spans, 2);
	/* Nothing could be worked out (no mapping yet): counted again, nothing written. */
	cr_assert_eq(until_learn(g, 7, 0x5800), DP_GATE_LEARN_AT);
	cr_assert_eq(dp_leafgate__learn(g, 7, 0x5800, &b, 0, 0), 0);
	cr_assert_eq(m.writes, 2);
	cr_assert_eq(until_learn(g, 7, 0x5800), DP_GATE_LEARN_AT);
	/* A write the map refuses for a page in it: the last value stays, asked again later. */
	m.fail_write = -ENOMEM;
	cr_assert_eq(dp_leafgate__learn(g, 7, 0x5800, &b, 0x800, 0x840), 0);
	cr_assert_eq(m.vals[find(&m, key)].bits[32], ~0ULL);
	cr_assert_eq(dp_leafgate__stats(g)->refused, 1);
	cr_assert_eq(until_learn(g, 7, 0x5800), DP_GATE_LEARN_AT, "its bytes counted again");
	cr_assert_eq(dp_leafgate__learn(g, 7, 0x5800, &b, 0x800, 0x840), 0);
	cr_assert_eq(m.vals[find(&m, key)].bits[32], 0, "worked out now");
	dp_leafgate__free(g);
}

Test(leafgate, new_code_over_a_range_forgets_its_pages)
{
	struct fake_map m;
	struct dp_leafgate *g = gate(&m, 100);

	for (uint64_t p = 0x10000; p < 0x15000; p += 0x1000)
		learn(g, 5, p, 1);
	learn(g, 6, 0x11000, 1);
	cr_assert_eq(m.n, 6);
	/* A mapping over [0x11800, 0x13000): pages 0x11000 and 0x12000 of process 5. */
	dp_leafgate__forget_range(g, 5, 0x11800, 0x13000);
	cr_assert_eq(m.n, 4);
	cr_assert_lt(find(&m, DP_GATE_KEY(5, 0x11000)), 0);
	cr_assert_lt(find(&m, DP_GATE_KEY(5, 0x12000)), 0);
	cr_assert_geq(find(&m, DP_GATE_KEY(5, 0x13000)), 0, "the end is exclusive");
	cr_assert_geq(find(&m, DP_GATE_KEY(5, 0x10000)), 0);
	cr_assert_geq(find(&m, DP_GATE_KEY(6, 0x11000)), 0, "another process keeps its page");
	/* Sampled again: counted from the start, worked out again. */
	learn(g, 5, 0x11000, 1);
	cr_assert_geq(find(&m, DP_GATE_KEY(5, 0x11000)), 0);
	cr_assert_eq(dp_leafgate__stats(g)->erased, 2);
	dp_leafgate__free(g);
}

Test(leafgate, exec_fork_or_exit_forgets_the_process)
{
	struct fake_map m;
	struct dp_leafgate *g = gate(&m, 100);

	learn(g, 5, 0x1000, 1);
	learn(g, 5, 0x2000, 1);
	learn(g, 9, 0x1000, 1);
	cr_assert_eq(dp_leafgate__seen(g, 5, 0x3000, false), 0, "a page still counted");
	dp_leafgate__forget_pid(g, 5);
	cr_assert_eq(m.n, 1);
	cr_assert_geq(find(&m, DP_GATE_KEY(9, 0x1000)), 0);
	dp_leafgate__forget_pid(g, 5);	/* twice: nothing */
	dp_leafgate__forget_pid(g, 1234);	/* never seen: nothing */
	cr_assert_eq(m.n, 1);
	cr_assert_eq(until_learn(g, 5, 0x3000), DP_GATE_LEARN_AT, "its count started again");
	dp_leafgate__free(g);
}

/*
 * An exit record is read before the logs that still hold the process's
 * last samples: pages they finish working out are forgotten with the rest
 * once the logs are read.
 */
Test(leafgate, an_exited_process_is_forgotten_after_its_last_samples)
{
	struct fake_map m;
	struct dp_leafgate *g = gate(&m, 100);

	learn(g, 5, 0x1000, 1);
	dp_leafgate__exited(g, 5);
	dp_leafgate__exited(g, 6);	/* no page yet */
	learn(g, 5, 0x2000, 1);	/* its last samples, from the log */
	learn(g, 6, 0x3000, 1);
	learn(g, 7, 0x1000, 1);	/* a live process */
	cr_assert_eq(m.n, 4);
	dp_leafgate__logs_read(g);
	cr_assert_eq(m.n, 1);
	cr_assert_geq(find(&m, DP_GATE_KEY(7, 0x1000)), 0);
	dp_leafgate__logs_read(g);	/* nothing queued: nothing more */
	cr_assert_eq(m.n, 1);
	dp_leafgate__free(g);
}

Test(leafgate, a_full_map_or_a_failed_write_is_counted_and_not_asked_again)
{
	struct fake_map m;
	struct dp_leafgate *g = gate(&m, 2);
	struct dp_gate_page pg = some_bits(1);

	learn(g, 1, 0x1000, 1);
	learn(g, 1, 0x2000, 1);
	learn(g, 1, 0x3000, 1);
	cr_assert_eq(m.n, 2, "the capacity is kept");
	cr_assert_eq(dp_leafgate__stats(g)->refused, 1);
	for (int k = 0; k < 2 * DP_GATE_LEARN_AT; k++)
		cr_assert_eq(dp_leafgate__seen(g, 1, 0x3000, false), 0, "decided: not asked again");
	/* Room again: a page counted after that is published. */
	dp_leafgate__forget_range(g, 1, 0x1000, 0x2000);
	learn(g, 1, 0x4000, 1);
	cr_assert_geq(find(&m, DP_GATE_KEY(1, 0x4000)), 0);
	/* A write the map refuses: counted, the page captured as before. */
	cr_assert_eq(until_learn(g, 2, 0x1000), DP_GATE_LEARN_AT);
	m.fail_write = -ENOMEM;
	cr_assert_eq(dp_leafgate__learn(g, 2, 0x1000, &pg, 0, 4096), 0);
	cr_assert_lt(find(&m, DP_GATE_KEY(2, 0x1000)), 0);
	cr_assert_eq(dp_leafgate__stats(g)->refused, 2);
	dp_leafgate__free(g);
}

Test(leafgate, addresses_and_pids_past_the_key)
{
	struct fake_map m;
	struct dp_leafgate *g = gate(&m, 100);

	cr_assert(dp_leafgate__fits(4194304, 0x7fffffffe000));
	cr_assert_not(dp_leafgate__fits(1, 1ULL << 47), "5-level paging's upper half");
	cr_assert_not(dp_leafgate__fits(1U << 29, 0x1000));
	for (int k = 0; k < 2 * DP_GATE_LEARN_AT; k++)
		cr_assert_eq(dp_leafgate__seen(g, 1, 1ULL << 47, false), 0);
	cr_assert_eq(m.n, 0, "not published");
	dp_leafgate__free(g);
}
