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

Test(leafgate, a_page_once_under_its_process_and_page)
{
	struct fake_map m;
	struct dp_leafgate *g = gate(&m, 100);
	struct dp_gate_page pg = some_bits(0x5), other = some_bits(0x9);

	cr_assert_not(dp_leafgate__known(g, 42, 0x401234));
	cr_assert_eq(dp_leafgate__set(g, 42, 0x401234, &pg), 0);
	cr_assert(dp_leafgate__known(g, 42, 0x401ff8), "the same page");
	cr_assert_not(dp_leafgate__known(g, 42, 0x402000), "the next page");
	cr_assert_not(dp_leafgate__known(g, 43, 0x401234), "another process");
	cr_assert_eq(m.n, 1);
	cr_assert_eq(m.keys[0], ((uint64_t)42 << 35) | 0x401, "key %#llx",
		     (unsigned long long)m.keys[0]);
	cr_assert_eq(m.keys[0], DP_GATE_KEY(42, 0x401234));
	cr_assert_eq(m.vals[0].bits[0], 0x5);
	/* Set again: decided already, not written again. */
	cr_assert_eq(dp_leafgate__set(g, 42, 0x401000, &other), 0);
	cr_assert_eq(m.writes, 1);
	cr_assert_eq(dp_leafgate__stats(g)->written, 1);
	dp_leafgate__free(g);
}

Test(leafgate, a_page_needing_captures_everywhere_is_written_too)
{
	struct fake_map m;
	struct dp_leafgate *g = gate(&m, 100);
	struct dp_gate_page all;

	memset(&all, 0xff, sizeof(all));
	cr_assert_eq(dp_leafgate__set(g, 7, 0x7f0000001000, &all), 0);
	cr_assert_eq(m.n, 1, "an entry, so the program does not wake user space for it again");
	cr_assert_eq(dp_leafgate__stats(g)->all_needed, 1);
	dp_leafgate__free(g);
}

Test(leafgate, new_code_over_a_range_forgets_its_pages)
{
	struct fake_map m;
	struct dp_leafgate *g = gate(&m, 100);
	struct dp_gate_page pg = some_bits(1);

	for (uint64_t p = 0x10000; p < 0x15000; p += 0x1000)
		cr_assert_eq(dp_leafgate__set(g, 5, p, &pg), 0);
	cr_assert_eq(dp_leafgate__set(g, 6, 0x11000, &pg), 0);
	cr_assert_eq(m.n, 6);
	/* A mapping over [0x11800, 0x13000): pages 0x11000 and 0x12000 of process 5. */
	dp_leafgate__forget_range(g, 5, 0x11800, 0x13000);
	cr_assert_eq(m.n, 4);
	cr_assert_lt(find(&m, DP_GATE_KEY(5, 0x11000)), 0);
	cr_assert_lt(find(&m, DP_GATE_KEY(5, 0x12000)), 0);
	cr_assert_geq(find(&m, DP_GATE_KEY(5, 0x13000)), 0, "the end is exclusive");
	cr_assert_geq(find(&m, DP_GATE_KEY(5, 0x10000)), 0);
	cr_assert_geq(find(&m, DP_GATE_KEY(6, 0x11000)), 0, "another process keeps its page");
	cr_assert_not(dp_leafgate__known(g, 5, 0x11000), "learned again when sampled");
	cr_assert_eq(dp_leafgate__set(g, 5, 0x11000, &pg), 0);
	cr_assert_geq(find(&m, DP_GATE_KEY(5, 0x11000)), 0);
	cr_assert_eq(dp_leafgate__stats(g)->erased, 2);
	dp_leafgate__free(g);
}

Test(leafgate, exec_fork_or_exit_forgets_the_process)
{
	struct fake_map m;
	struct dp_leafgate *g = gate(&m, 100);
	struct dp_gate_page pg = some_bits(1);

	cr_assert_eq(dp_leafgate__set(g, 5, 0x1000, &pg), 0);
	cr_assert_eq(dp_leafgate__set(g, 5, 0x2000, &pg), 0);
	cr_assert_eq(dp_leafgate__set(g, 9, 0x1000, &pg), 0);
	dp_leafgate__forget_pid(g, 5);
	cr_assert_eq(m.n, 1);
	cr_assert_geq(find(&m, DP_GATE_KEY(9, 0x1000)), 0);
	cr_assert_not(dp_leafgate__known(g, 5, 0x1000));
	dp_leafgate__forget_pid(g, 5);	/* twice: nothing */
	dp_leafgate__forget_pid(g, 1234);	/* never seen: nothing */
	cr_assert_eq(m.n, 1);
	dp_leafgate__free(g);
}

Test(leafgate, a_full_map_or_a_refusal_is_counted_and_not_asked_again)
{
	struct fake_map m;
	struct dp_leafgate *g = gate(&m, 2);
	struct dp_gate_page pg = some_bits(1);

	cr_assert_eq(dp_leafgate__set(g, 1, 0x1000, &pg), 0);
	cr_assert_eq(dp_leafgate__set(g, 1, 0x2000, &pg), 0);
	cr_assert_eq(dp_leafgate__set(g, 1, 0x3000, &pg), 0, "a full map is no error");
	cr_assert_eq(m.n, 2, "the capacity is kept");
	cr_assert(dp_leafgate__known(g, 1, 0x3000), "decided: not tried per sample");
	m.fail_write = -ENOMEM;
	dp_leafgate__forget_pid(g, 1);
	cr_assert_eq(m.n, 0);
	cr_assert_eq(dp_leafgate__set(g, 2, 0x1000, &pg), 0);
	cr_assert_eq(m.n, 0, "the write failed");
	cr_assert_eq(dp_leafgate__stats(g)->refused, 2);
	cr_assert_eq(dp_leafgate__set(g, 2, 0x2000, &pg), 0);
	cr_assert_eq(m.n, 1, "room again after the forget");
	dp_leafgate__free(g);
}

Test(leafgate, addresses_and_pids_past_the_key)
{
	cr_assert(dp_leafgate__fits(4194304, 0x7fffffffe000));
	cr_assert_not(dp_leafgate__fits(1, 1ULL << 47), "5-level paging's upper half");
	cr_assert_not(dp_leafgate__fits(1U << 29, 0x1000));
}
