// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include "cfifuncs.h"

/* An .eh_frame_hdr as ld writes it: pcrel eh_frame_ptr, udata4 count, datarel sdata4 table. */
static size_t header(uint8_t *b, uint32_t count, const int32_t *locs)
{
	size_t off = 12;

	b[0] = 1;
	b[1] = 0x1b;
	b[2] = 0x03;
	b[3] = 0x3b;
	memset(b + 4, 0, 4);
	memcpy(b + 8, &count, 4);
	for (uint32_t i = 0; i < count; i++, off += 8) {
		memcpy(b + off, &locs[i], 4);
		memset(b + off + 4, 0, 4);
	}
	return off;
}

Test(cfifuncs, starts_from_the_header_table_relative_to_it)
{
	/* Out of order on purpose: the table is sorted on reading. */
	const int32_t locs[] = { -0x1000, -0x800, -0x1200 };
	uint8_t b[64];
	size_t n = header(b, 3, locs);
	struct dp_cfifuncs f;
	uint64_t s = 0;

	cr_assert_eq(dp_cfifuncs__parse(&f, b, n, 0x3000), 0);
	cr_assert_eq(f.n, 3);
	cr_assert_eq(dp_cfifuncs__find(&f, 0x2000, &s), 0);
	cr_assert_eq(s, 0x2000);
	cr_assert_eq(dp_cfifuncs__find(&f, 0x27ff, &s), 0);
	cr_assert_eq(s, 0x2000);
	cr_assert_eq(dp_cfifuncs__find(&f, 0x1e00, &s), 0);
	cr_assert_eq(s, 0x1e00);
	cr_assert_eq(dp_cfifuncs__find(&f, 0x9000, &s), 0);
	cr_assert_eq(s, 0x2800);
	cr_assert_eq(dp_cfifuncs__find(&f, 0x1dff, &s), -ENOENT);
	/* The next start after an address (the leaf gate's jump over padding). */
	cr_assert_eq(dp_cfifuncs__next(&f, 0x1dff, &s), 0);
	cr_assert_eq(s, 0x1e00);
	cr_assert_eq(dp_cfifuncs__next(&f, 0x1e00, &s), 0, "strictly after");
	cr_assert_eq(s, 0x2000);
	cr_assert_eq(dp_cfifuncs__next(&f, 0x27ff, &s), 0);
	cr_assert_eq(s, 0x2800);
	cr_assert_eq(dp_cfifuncs__next(&f, 0x2800, &s), -ENOENT, "none after the last");
	dp_cfifuncs__free(&f);
}

Test(cfifuncs, headers_it_cannot_read_are_refused)
{
	const int32_t locs[] = { 0x10 };
	uint8_t b[64];
	size_t n = header(b, 1, locs);
	struct dp_cfifuncs f;
	uint32_t big = 1000;

	b[0] = 2;	/* another version */
	cr_assert_eq(dp_cfifuncs__parse(&f, b, n, 0), -ENOENT);
	b[0] = 1;
	b[3] = 0x03;	/* a table encoding no linker writes */
	cr_assert_eq(dp_cfifuncs__parse(&f, b, n, 0), -ENOENT);
	b[3] = 0x3b;
	memcpy(b + 8, &big, 4);	/* more entries than bytes */
	cr_assert_eq(dp_cfifuncs__parse(&f, b, n, 0), -ENOENT);
	cr_assert_eq(dp_cfifuncs__parse(&f, b, 6, 0), -ENOENT);	/* cut short */
	cr_assert_null(f.starts);
}
