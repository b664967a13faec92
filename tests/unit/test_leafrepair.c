/*
 * The leaf repair: the decision on synthetic CFA rules, the call-site test
 * on instruction bytes, the whole lookup on a shared object whose CFI is
 * written by hand (tests/fixtures/leafcfi.S), and the insertion the join
 * makes from the evidence.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/types.h>
#include "deferprof.h"
#include "gatelearn.h"
#include "join.h"
#include "leafrepair.h"
#include "objects.h"
#include "usyms.h"

/* CFA = reg + off, as libdw gives a cfa_offset rule. */
static Dwarf_Op cfa_reg(unsigned int reg, int64_t off)
{
	Dwarf_Op op = { .atom = DW_OP_bregx, .number = reg, .number2 = (Dwarf_Word)off };

	return op;
}

/* The return address saved at CFA - 8, as libdw gives an offset(N) rule. */
static const Dwarf_Op ra_at_cfa_minus_8[] = {
	{ .atom = DW_OP_call_frame_cfa },
	{ .atom = DW_OP_consts, .number = (Dwarf_Word)-8 },
	{ .atom = DW_OP_plus },
};

Test(leaf_decision, frameless_function_return_address_at_sp)
{
	Dwarf_Op cfa = cfa_reg(DP_DWARF_RSP, 8);

	cr_assert_eq(dp_leaf__ra_slot(&cfa, 1, ra_at_cfa_minus_8, 3, 4), 0);
}

Test(leaf_decision, prologue_after_push_rbp)
{
	Dwarf_Op cfa = cfa_reg(DP_DWARF_RSP, 16);

	cr_assert_eq(dp_leaf__ra_slot(&cfa, 1, ra_at_cfa_minus_8, 3, 4), 1);
}

Test(leaf_decision, epilogue_after_pop_rbp)
{
	Dwarf_Op cfa = { .atom = DW_OP_breg7, .number = 8 };

	cr_assert_eq(dp_leaf__ra_slot(&cfa, 1, ra_at_cfa_minus_8, 3, 4), 0);
}

Test(leaf_decision, framed_function_inserts_nothing)
{
	Dwarf_Op cfa = cfa_reg(6 /* rbp */, 16);

	cr_assert_eq(dp_leaf__ra_slot(&cfa, 1, ra_at_cfa_minus_8, 3, 4), -1);
}

Test(leaf_decision, return_address_past_the_words_read)
{
	Dwarf_Op cfa = cfa_reg(DP_DWARF_RSP, 48);

	cr_assert_eq(dp_leaf__ra_slot(&cfa, 1, ra_at_cfa_minus_8, 3, 4), -1);
	cr_assert_eq(dp_leaf__ra_slot(&cfa, 1, ra_at_cfa_minus_8, 3, 6), 5);
}

Test(leaf_decision, unknown_rules_insert_nothing)
{
	Dwarf_Op cfa = cfa_reg(DP_DWARF_RSP, 8), expr[2] = {
		{ .atom = DW_OP_breg7, .number = 8 }, { .atom = DW_OP_deref },
	};
	Dwarf_Op value_rule[2] = {
		{ .atom = DW_OP_call_frame_cfa }, { .atom = DW_OP_stack_value },
	};
	Dwarf_Op odd = cfa_reg(DP_DWARF_RSP, 12);

	cr_assert_eq(dp_leaf__ra_slot(expr, 2, ra_at_cfa_minus_8, 3, 4), -1, "a CFA expression");
	cr_assert_eq(dp_leaf__ra_slot(&cfa, 1, value_rule, 2, 4), -1, "a value, not a location");
	cr_assert_eq(dp_leaf__ra_slot(&cfa, 1, NULL, 0, 4), -1, "the return address undefined");
	cr_assert_eq(dp_leaf__ra_slot(&odd, 1, ra_at_cfa_minus_8, 3, 4), -1, "not word aligned");
}

Test(leaf_decision, call_instruction_forms)
{
	static const uint8_t rel32[] = { 0x90, 0x90, 0xe8, 1, 2, 3, 4 };
	static const uint8_t reg[] = { 0, 0, 0, 0, 0, 0xff, 0xd0 };
	static const uint8_t rexreg[] = { 0, 0, 0, 0, 0x41, 0xff, 0xd3 };
	static const uint8_t sib8[] = { 0, 0, 0, 0xff, 0x54, 0x24, 0x08 };
	static const uint8_t rip[] = { 0, 0xff, 0x15, 1, 2, 3, 4 };
	static const uint8_t sib32[] = { 0xff, 0x94, 0xd8, 0, 0x10, 0, 0 };
	static const uint8_t add[] = { 0, 0, 0, 0, 0x48, 0x01, 0xca };
	static const uint8_t jmpreg[] = { 0, 0, 0, 0, 0, 0xff, 0xe0 };	/* jmp *%rax: /4 */

	cr_assert(dp_leaf__after_call(rel32, sizeof(rel32)));
	cr_assert(dp_leaf__after_call(reg, sizeof(reg)));
	cr_assert(dp_leaf__after_call(rexreg, sizeof(rexreg)));
	cr_assert(dp_leaf__after_call(sib8, sizeof(sib8)));
	cr_assert(dp_leaf__after_call(rip, sizeof(rip)));
	cr_assert(dp_leaf__after_call(sib32, sizeof(sib32)));
	cr_assert_not(dp_leaf__after_call(add, sizeof(add)));
	cr_assert_not(dp_leaf__after_call(jmpreg, sizeof(jmpreg)));
}

Test(leaf_insert, inserted_after_the_ip)
{
	const uint64_t u[] = { 0x1010, 0x3000, 0x4000 };
	uint64_t out[DP_MAX_STACK];

	cr_assert_eq(dp_leaf__insert(u, 3, 0x1010, 0x2000, out), 4);
	cr_assert_eq(out[0], 0x1010);
	cr_assert_eq(out[1], 0x2000);
	cr_assert_eq(out[2], 0x3000);
	cr_assert_eq(out[3], 0x4000);
}

Test(leaf_insert, nothing_without_support)
{
	const uint64_t u[] = { 0x1010, 0x2000, 0x4000 };
	uint64_t out[DP_MAX_STACK];

	cr_assert_eq(dp_leaf__insert(u, 3, 0x1010, 0x2000, out), 0, "already the next frame");
	cr_assert_eq(dp_leaf__insert(u, 3, 0x1020, 0x5000, out), 0, "another IP");
	cr_assert_eq(dp_leaf__insert(u, 3, 0x1010, 0, out), 0, "no evidence");
	cr_assert_eq(dp_leaf__insert(u, 0, 0x1010, 0x5000, out), 0, "no user stack");
}

/* The fixture and its symbols' file addresses. */
static struct dp_objs objs;
static struct dp_obj *fixture(void)
{
	const char *path = getenv("DP_LEAFCFI");
	struct dp_obj_id id = { .path = path };
	struct dp_obj *o;

	cr_assert_not_null(path, "DP_LEAFCFI names the built fixture (make unit-test sets it)");
	memset(&objs, 0, sizeof(objs));
	o = dp_objs__get(&objs, &id, NULL);
	cr_assert(o && o->mod, "the fixture %s opens", path);
	return o;
}

static uint64_t sym(struct dp_obj *o, const char *name)
{
	int n = dwfl_module_getsymtab(o->mod);

	for (int i = 1; i < n; i++) {
		GElf_Sym s;
		GElf_Addr addr;
		const char *nm = dwfl_module_getsym_info(o->mod, i, &s, &addr, NULL, NULL, NULL);

		if (nm && !strcmp(nm, name))
			return addr;
	}
	cr_assert_fail("no symbol %s in the fixture", name);
	return 0;
}

Test(leaf_object, slots_from_real_cfi)
{
	struct dp_obj *o = fixture();
	struct dp_leafrepair *lr = dp_leafrepair__new();

	cr_assert_not_null(lr);
	cr_assert_eq(dp_leafrepair__slot(lr, o, sym(o, "lf_frameless"), 4), 0, "first instruction");
	cr_assert_eq(dp_leafrepair__slot(lr, o, sym(o, "lf_frameless_body"), 4), 0, "frameless");
	cr_assert_eq(dp_leafrepair__slot(lr, o, sym(o, "lf_framed"), 4), 0, "before push %%rbp");
	cr_assert_eq(dp_leafrepair__slot(lr, o, sym(o, "lf_framed_after_push"), 4), 1, "prologue");
	cr_assert_eq(dp_leafrepair__slot(lr, o, sym(o, "lf_framed_body"), 4), -1, "framed body");
	cr_assert_eq(dp_leafrepair__slot(lr, o, sym(o, "lf_framed_after_pop"), 4), 0, "epilogue");
	cr_assert_eq(dp_leafrepair__slot(lr, o, sym(o, "lf_deep_body"), 4), -1, "out of reach");
	cr_assert_eq(dp_leafrepair__slot(lr, o, sym(o, "lf_deep_body"), DP_LEAF_WORDS), 5,
		     "a 0x28-byte frame (glibc's cancellable wrappers) is within what BPF reads");
	/* Cached: the same answer again. */
	cr_assert_eq(dp_leafrepair__slot(lr, o, sym(o, "lf_framed_body"), 4), -1);
	cr_assert_eq(dp_leafrepair__slot(lr, o, sym(o, "lf_framed_after_push"), 4), 1);
	dp_leafrepair__free(lr);
	dp_objs__free(&objs);
}

Test(leaf_object, return_addresses_from_real_code)
{
	struct dp_obj *o = fixture();
	struct dp_leafrepair *lr = dp_leafrepair__new();
	static const char *const calls[] = {
		"lf_after_call_rel", "lf_after_call_reg", "lf_after_call_rex",
		"lf_after_call_sib8", "lf_after_call_rip", "lf_after_call_sib32",
	};

	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		cr_assert(dp_leafrepair__is_return(lr, o, sym(o, calls[i])), "%s", calls[i]);
	cr_assert_not(dp_leafrepair__is_return(lr, o, sym(o, "lf_after_add")),
		      "after an add: not a return address");
	cr_assert_not(dp_leafrepair__is_return(lr, o, sym(o, "lf_framed_body")),
		      "after a mov: not a return address");
	cr_assert_not(dp_leafrepair__is_return(lr, o, 0x40000000), "outside the object");
	dp_leafrepair__free(lr);
	dp_objs__free(&objs);
}

/*
 * The symbols side's whole answer (usyms): a process mapping the fixture's
 * code at BASE + its file address, the leaf's IP and words in its terms.
 */
#define BASE 0x7f0000000000ULL

Test(leaf_object, caller_of_a_mapped_process)
{
	struct dp_obj *o = fixture();
	const char *path = getenv("DP_LEAFCFI");
	struct dp_usyms *u = dp_usyms__new(NULL);
	uint64_t ret = BASE + sym(o, "lf_after_call_rel"), add = BASE + sym(o, "lf_after_add");
	struct dp_leaf frameless = { .ip = BASE + sym(o, "lf_frameless_body"), .words = { ret } };
	struct dp_leaf prologue = { .ip = BASE + sym(o, "lf_framed_after_push"), .words = { 5, ret } };
	struct dp_leaf framed = { .ip = BASE + sym(o, "lf_framed_body"), .words = { ret, ret } };
	struct dp_leaf data = { .ip = BASE + sym(o, "lf_frameless_body"), .words = { add } };
	struct dp_leaf unmapped = { .ip = BASE + sym(o, "lf_frameless_body"), .words = { 0x1234 } };
	struct dp_leaf elsewhere = { .ip = 0x1000, .words = { ret } };

	cr_assert_not_null(u);
	/* The fixture's code segment: file offset 0x1000 at file address 0x1000. */
	cr_assert_eq(dp_usyms__add_mmap(u, 4242, BASE + 0x1000, 0x1000, 0x1000, path), 0);
	cr_assert_eq(dp_usyms__leaf_caller(u, 4242, &frameless), ret, "frameless: words[0]");
	cr_assert_eq(dp_usyms__leaf_caller(u, 4242, &prologue), ret, "prologue: words[1]");
	cr_assert_eq(dp_usyms__leaf_caller(u, 4242, &framed), 0, "a frame is set up: nothing");
	cr_assert_eq(dp_usyms__leaf_caller(u, 4242, &data), 0, "not after a call: nothing");
	cr_assert_eq(dp_usyms__leaf_caller(u, 4242, &unmapped), 0, "not in a mapping: nothing");
	cr_assert_eq(dp_usyms__leaf_caller(u, 4242, &elsewhere), 0, "an IP in no mapping");
	cr_assert_eq(dp_usyms__leaf_caller(u, 4243, &frameless), 0, "another process");
	dp_usyms__free(u);
	dp_objs__free(&objs);
}

/*
 * The answers are remembered per (process, address) with every capture;
 * a change of mappings must not leave an old one: a return address in no
 * mapping becomes one when its code is mapped, and an exec's new code is
 * asked again.
 */
Test(leaf_object, remembered_answers_follow_the_mappings)
{
	struct dp_obj *o = fixture();
	const char *path = getenv("DP_LEAFCFI");
	struct dp_usyms *u = dp_usyms__new(NULL);
	uint64_t ret = BASE + sym(o, "lf_after_call_rel");
	uint64_t other = ret + 0x100000;	/* the same code, mapped again 1 MiB higher */
	struct dp_leaf to_other = { .ip = BASE + sym(o, "lf_frameless_body"), .words = { other } };
	struct dp_leaf frameless = { .ip = BASE + sym(o, "lf_frameless_body"), .words = { ret } };

	cr_assert_not_null(u);
	cr_assert_eq(dp_usyms__add_mmap(u, 4242, BASE + 0x1000, 0x1000, 0x1000, path), 0);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(dp_usyms__leaf_caller(u, 4242, &frameless), ret);
		cr_assert_eq(dp_usyms__leaf_caller(u, 4242, &to_other), 0, "not mapped yet");
	}
	cr_assert_eq(dp_usyms__add_mmap(u, 4242, BASE + 0x101000, 0x1000, 0x1000, path), 0);
	cr_assert_eq(dp_usyms__leaf_caller(u, 4242, &to_other), other, "mapped now");
	/* An exec: none of the old mappings hold; the IP is in no mapping (no /proc here). */
	cr_assert_eq(dp_usyms__exec(u, 4242), 0);
	cr_assert_eq(dp_usyms__leaf_caller(u, 4242, &frameless), 0, "after the exec");
	dp_usyms__free(u);
	dp_objs__free(&objs);
}

/* A fake /proc/4242/maps under dir, with the fixture's code segment or without. */
static void write_maps(const char *dir, const char *path, bool with_code)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/4242", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/4242/maps", dir);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fprintf(f, "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]\n");
	if (with_code)
		fprintf(f, "%llx-%llx r-xp 00001000 00:00 0 %s\n", BASE + 0x1000, BASE + 0x2000, path);
	fclose(f);
}

/*
 * The leaf repair asks while the logs are drained: a sample taken after an
 * mmap whose MMAP2 record is not read yet (a process starting, a dlopen)
 * finds no mapping for its IP. /proc is read again then (seen under load:
 * 1 or 2 samples per run of the live leaf test kept no caller).
 */
Test(leaf_object, a_mapping_not_yet_known_is_read_again_from_proc)
{
	struct dp_obj *o = fixture();
	const char *path = getenv("DP_LEAFCFI");
	char dir[] = "/tmp/dp-leafproc-XXXXXX";
	struct dp_usyms_opts uo = { .proc_root = dir, .perfmap_dir = dir };
	uint64_t ret = BASE + sym(o, "lf_after_call_rel");
	struct dp_leaf frameless = { .ip = BASE + sym(o, "lf_frameless_body"), .words = { ret } };
	struct dp_usyms *u;

	cr_assert_not_null(mkdtemp(dir));
	u = dp_usyms__new(&uo);
	cr_assert_not_null(u);
	write_maps(dir, path, false);
	cr_assert_eq(dp_usyms__snapshot(u, 4242), 0);
	cr_assert(dp_usyms__known(u, 4242));
	/* The code is mapped now; its record has not come. */
	write_maps(dir, path, true);
	cr_assert_eq(dp_usyms__leaf_caller(u, 4242, &frameless), ret, "found by reading /proc again");
	dp_usyms__free(u);
	dp_objs__free(&objs);
	write_maps(dir, path, false);
	{
		char p[256];

		snprintf(p, sizeof(p), "%s/4242/maps", dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/4242", dir);
		rmdir(p);
		rmdir(dir);
	}
}

/* Whether bit b of bits is set. */
static bool block_set(const __u64 *bits, uint64_t b)
{
	return (bits[b / 64] >> (b % 64)) & 1;
}

/* The gate's bits for the n bytes from vaddr of o (the leaf repair's side). */
static void blocks(struct dp_obj *o, uint64_t vaddr, unsigned int n, __u64 *bits)
{
	memset(bits, 0, (n + 63) / 64 * sizeof(*bits));
	dp_leafrepair__mark(o, vaddr, n, DP_LEAF_WORDS, bits, 0);
}

/* Whether .eh_frame has a frame at vaddr of o. */
static bool eh_covers(struct dp_obj *o, uint64_t vaddr)
{
	Dwarf_Addr bias = 0;
	Dwarf_CFI *cfi = dwfl_module_eh_cfi(o->mod, &bias);
	Dwarf_Frame *frame = NULL;
	bool found;

	if (!cfi)
		return false;
	found = !dwarf_cfi_addrframe(cfi, vaddr - bias, &frame) && frame;
	free(frame);
	return found;
}

/*
 * The leaf gate's bits (dp_leafrepair__mark) against the repair's own
 * answer at every address. A block left clear must hold no address the
 * repair has a slot for: that would lose a caller. A block marked must
 * hold one, or an address .eh_frame has no frame for (padding: marked
 * rather than .debug_frame read); anything else would cost a capture for
 * nothing. Returns the blocks marked for want of a frame.
 */
static unsigned int blocks_match_slots(struct dp_obj *o, uint64_t from, unsigned int nblocks)
{
	struct dp_leafrepair *lr = dp_leafrepair__new();
	__u64 bits[(nblocks + 63) / 64];
	unsigned int gaps = 0;

	cr_assert_not_null(lr);
	blocks(o, from, nblocks, bits);
	for (uint64_t b = 0; b < nblocks; b++) {
		bool any = dp_leafrepair__slot(lr, o, from + b, DP_LEAF_WORDS) >= 0;
		bool gap = !eh_covers(o, from + b);

		cr_assert(block_set(bits, b) == (any || gap),
			  "%s: block at 0x%llx: %d, the repair says %d, no frame %d", o->path,
			  (unsigned long long)(from + b), block_set(bits, b), any, gap);
		gaps += !any && gap;
	}
	dp_leafrepair__free(lr);
	return gaps;
}

Test(leaf_gate_blocks, the_fixture_block_by_block)
{
	struct dp_obj *o = fixture();
	uint64_t lo = sym(o, "lf_frameless"), hi = sym(o, "lf_long_body_end") + 16;
	uint64_t body = sym(o, "lf_long_body"), end = sym(o, "lf_long_body_end");
	__u64 bits[2];

	cr_assert_eq(body % 16, 0, "the long body starts a 16-byte block");
	cr_assert_eq(end - body, 64);
	blocks_match_slots(o, lo, (unsigned int)(hi - lo));
	/* By name: a frameless function's block is set, the long framed body's are clear. */
	blocks(o, sym(o, "lf_frameless"), 1, bits);
	cr_assert(block_set(bits, 0), "lf_frameless: a capture is of use");
	blocks(o, body, 64, bits);
	for (uint64_t b = 0; b < 64; b++)
		cr_assert_not(block_set(bits, b), "lf_long's body, block %llu", (unsigned long long)b);
	/* `pop %rbp` is at the body's end; `ret` after it has the CFA on %rsp. */
	blocks(o, end + 1, 1, bits);
	cr_assert(block_set(bits, 0), "lf_long's epilogue (after pop %%rbp)");
	/* Outside every FDE: marked, a capture rather than a guess. */
	blocks(o, 0x40000000, 2, bits);
	cr_assert_eq(bits[0] & 3, 3);
	dp_objs__free(&objs);
}

/* The C library: real CFI, thousands of functions. A few pages spread over its code. */
Test(leaf_gate_blocks, libc_pages_agree_with_the_repair)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], path[256] = "";
	unsigned long long start, end, off;
	struct dp_obj_id id = { 0 };
	struct dp_obj *o;
	uint64_t vaddr;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx r-xp %llx %*s %*s %255s", &start, &end, &off, path) == 4 &&
		    strstr(path, "/libc.so"))
			break;
		else
			path[0] = 0;
	fclose(f);
	cr_assert(path[0], "this test links the C library");
	memset(&objs, 0, sizeof(objs));
	id.path = path;
	o = dp_objs__get(&objs, &id, NULL);
	cr_assert(o && o->mod, "%s opens", path);
	cr_assert_eq(dp_obj__vaddr(o, off, &vaddr), 0);
	for (int i = 0; i < 6; i++) {
		uint64_t page = vaddr + (end - start) / 6 * (uint64_t)i;

		/* Padding between functions is a small part of a page. */
		cr_assert_lt(blocks_match_slots(o, page & ~4095ULL, 4096), 4096 / 4);
	}
	dp_objs__free(&objs);
}

/*
 * The page as the gate learns it (usyms), span after span, each asked for
 * from its first byte: the spans tile the page, and each span's bits are
 * set nowhere outside it.
 */
static void page_from_spans(struct dp_usyms *u, uint64_t page, struct dp_gate_page *pg)
{
	memset(pg, 0, sizeof(*pg));
	for (uint32_t at = 0; at < 4096;) {
		struct dp_gate_page sp;
		uint32_t from = 9999, to = 0;

		cr_assert_eq(dp_usyms__leaf_span(u, 4242, page + at, &sp, &from, &to), 0);
		cr_assert(from <= at && at < to && to <= 4096, "span [%u, %u) for +%u", from, to, at);
		for (uint32_t i = 0; i < 4096; i++)
			if (i < from || i >= to)
				cr_assert_not(block_set(sp.bits, i), "bit %u outside [%u, %u)", i, from, to);
		for (int w = 0; w < DP_GATE_WORDS; w++)
			pg->bits[w] |= sp.bits[w];
		at = to;
	}
}

/*
 * The symbols side's page, as the gate learns it, against the repair at
 * each runtime address of the page: the byte's own file offset to its
 * file address, as dp_usyms__leaf_caller() maps an IP.
 */
static void page_matches_repair(struct dp_usyms *u, struct dp_obj *o, uint64_t page,
				uint64_t map_start, uint64_t pgoff)
{
	struct dp_leafrepair *lr = dp_leafrepair__new();
	struct dp_gate_page pg;

	cr_assert_not_null(lr);
	page_from_spans(u, page, &pg);
	for (uint64_t a = page; a < page + 4096; a++) {
		uint64_t v, i = a - page;
		bool want = false, got = (pg.bits[i / 64] >> (i % 64)) & 1;

		if (!dp_obj__vaddr(o, a - map_start + pgoff, &v))
			want = dp_leafrepair__slot(lr, o, v, DP_LEAF_WORDS) >= 0 || !eh_covers(o, v);
		cr_assert_eq(got, want, "%s at +0x%llx: %d, the repair says %d", o->path,
			     (unsigned long long)(a - map_start), got, want);
	}
	dp_leafrepair__free(lr);
}

/* Whether the page's bit for addr is set, as its span says. */
static bool gate_bit(struct dp_usyms *u, uint64_t addr)
{
	struct dp_gate_page pg;
	uint32_t from, to;
	uint64_t i = addr & 4095;

	cr_assert_eq(dp_usyms__leaf_span(u, 4242, addr, &pg, &from, &to), 0);
	cr_assert(from <= i && i < to);
	return (pg.bits[i / 64] >> (i % 64)) & 1;
}

Test(leaf_gate_blocks, a_mapped_page)
{
	struct dp_obj *o = fixture();
	const char *path = getenv("DP_LEAFCFI");
	struct dp_usyms *u = dp_usyms__new(NULL);
	struct dp_gate_page pg;
	uint32_t from, to;

	cr_assert_not_null(u);
	/* GNU ld: the code segment at file offset 0x1000, file address 0x1000. */
	cr_assert_eq(dp_usyms__add_mmap(u, 4242, BASE + 0x1000, 0x1000, 0x1000, path), 0);
	page_matches_repair(u, o, BASE + 0x1000, BASE + 0x1000, 0x1000);
	cr_assert(gate_bit(u, BASE + sym(o, "lf_frameless")));
	cr_assert_not(gate_bit(u, BASE + sym(o, "lf_long_body") + 8));
	/* A span is one function's (and the padding after it): cheap to work out. */
	cr_assert_eq(dp_usyms__leaf_span(u, 4242, BASE + sym(o, "lf_long_body") + 8, &pg, &from, &to), 0);
	cr_assert_eq(from, (BASE + sym(o, "lf_long")) & 4095, "span from 0x%x", from);
	cr_assert(to > ((BASE + sym(o, "lf_long_body") + 8) & 4095) && to - from < 1024,
		  "span [0x%x, 0x%x)", from, to);
	cr_assert_eq(dp_usyms__leaf_span(u, 4242, BASE + 0x2000, &pg, &from, &to), -ENOENT,
		     "no mapping there");
	cr_assert_eq(dp_usyms__leaf_span(u, 4243, BASE + 0x1000, &pg, &from, &to), -ENOENT,
		     "another process");
	dp_usyms__free(u);
	dp_objs__free(&objs);
}

/*
 * lld puts the code segment at a file offset that is not page-aligned
 * (here 0x7c0 at file address 0x17c0): the loader maps the file's first
 * page, which also holds the read-only segment's bytes, at 0x1000. The
 * page's bytes map to two segments; the code's must be those of the code.
 */
Test(leaf_gate_blocks, a_page_holding_two_segments)
{
	const char *path = getenv("DP_LEAFCFI_LLD");
	struct dp_obj_id id = { .path = path };
	struct dp_usyms *u = dp_usyms__new(NULL);
	const GElf_Phdr *code = NULL;
	struct dp_obj *o;

	cr_assert_not_null(path, "DP_LEAFCFI_LLD names the lld-linked fixture (make unit-test sets it)");
	memset(&objs, 0, sizeof(objs));
	o = dp_objs__get(&objs, &id, NULL);
	cr_assert(o && o->mod && u);
	for (size_t i = 0; i < o->nloads; i++)
		if (o->loads[i].p_flags & PF_X)
			code = &o->loads[i];
	cr_assert(code && code->p_offset % 4096 && code->p_offset < 4096,
		  "lld laid the code out mid-page (offset 0x%llx)",
		  code ? (unsigned long long)code->p_offset : 0ULL);
	cr_assert_eq(dp_usyms__add_mmap(u, 4242, BASE + (code->p_vaddr & ~4095ULL), 0x1000, 0, path),
		     0);
	page_matches_repair(u, o, BASE + (code->p_vaddr & ~4095ULL), BASE + (code->p_vaddr & ~4095ULL), 0);
	cr_assert(gate_bit(u, BASE + sym(o, "lf_frameless")));
	cr_assert_not(gate_bit(u, BASE + sym(o, "lf_long_body") + 8),
		      "the long body's bytes are those of the code segment");
	dp_usyms__free(u);
	dp_objs__free(&objs);
}

/* The map behind gatelearn's gate: how many pages were written. */
static int gl_writes;

static int gl_write(void *ctx, uint64_t key, const struct dp_gate_page *pg)
{
	(void)ctx;
	(void)key;
	(void)pg;
	gl_writes++;
	return 0;
}

static int gl_erase(void *ctx, uint64_t key)
{
	(void)ctx;
	(void)key;
	return 0;
}

/*
 * engine/gatelearn: a round the program asked for comes 10 ms after the
 * last round, then 20, 40 ... up to --drain-ms, and again 10 ms after a
 * quiet spell; in it a span is learned at its 32nd capture, in any other
 * round at its 512th.
 */
Test(gatelearn, a_round_asked_for_learns_eagerly_and_comes_spaced_out)
{
	const struct dp_leafgate_ops ops = { .write = gl_write, .erase = gl_erase };
	const uint64_t ms = 1000000, t0 = 1000 * ms;
	struct dp_obj *o = fixture();
	const char *path = getenv("DP_LEAFCFI");
	struct dp_usyms *u = dp_usyms__new(NULL);
	struct dp_gatelearn gl;
	uint64_t ip = BASE + sym(o, "lf_long_body") + 8;

	cr_assert_not_null(u);
	cr_assert_eq(dp_usyms__add_mmap(u, 4242, BASE + 0x1000, 0x1000, 0x1000, path), 0);
	cr_assert_eq(dp_usyms__add_mmap(u, 4243, BASE + 0x1000, 0x1000, 0x1000, path), 0);
	cr_assert_eq(dp_gatelearn__open(&gl, &ops, u, 500 * ms), 0);
	gl_writes = 0;
	cr_assert_eq(dp_gatelearn__due(&gl, t0), UINT64_MAX, "nothing asked for");
	for (int i = 1; i < DP_GATE_LEARN_EAGER; i++)
		dp_gatelearn__capture(&gl, 4242, ip);
	cr_assert_eq(gl_writes, 0);
	/* Asked for: due 10 ms after the last round; in it, the 32nd capture teaches. */
	dp_gatelearn__asked(&gl, t0);
	cr_assert_eq(dp_gatelearn__due(&gl, t0), t0 + 10 * ms);
	dp_gatelearn__round_start(&gl, t0 + 10 * ms);
	dp_gatelearn__capture(&gl, 4242, ip);
	dp_gatelearn__round_end(&gl);
	cr_assert_eq(gl_writes, 1, "learned in the round asked for");
	cr_assert_eq(dp_gatelearn__due(&gl, t0), UINT64_MAX);
	/* The next one asked for comes later: 20 ms, then 40. */
	dp_gatelearn__asked(&gl, t0 + 20 * ms);
	cr_assert_eq(dp_gatelearn__due(&gl, t0 + 10 * ms), t0 + 30 * ms);
	dp_gatelearn__round_start(&gl, t0 + 30 * ms);
	dp_gatelearn__round_end(&gl);
	dp_gatelearn__asked(&gl, t0 + 40 * ms);
	cr_assert_eq(dp_gatelearn__due(&gl, t0 + 30 * ms), t0 + 70 * ms);
	dp_gatelearn__round_start(&gl, t0 + 70 * ms);
	dp_gatelearn__round_end(&gl);
	/* Other rounds: another process's page is learned at its 512th capture only. */
	for (int i = 1; i < DP_GATE_LEARN_AT; i++)
		dp_gatelearn__capture(&gl, 4243, ip);
	cr_assert_eq(gl_writes, 1);
	dp_gatelearn__capture(&gl, 4243, ip);
	cr_assert_eq(gl_writes, 2);
	/* Asked for again after a quiet spell (more than twice --drain-ms): 10 ms again. */
	dp_gatelearn__asked(&gl, t0 + 2000 * ms);
	cr_assert_eq(dp_gatelearn__due(&gl, t0 + 1990 * ms), t0 + 2000 * ms);
	cr_assert_eq(dp_leafgate__stats(gl.gate)->spans, 2);
	dp_gatelearn__free(&gl);
	dp_usyms__free(u);
	dp_objs__free(&objs);
}
