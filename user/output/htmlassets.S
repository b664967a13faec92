/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The files the HTML page inlines, embedded into the binary at build time
 * (htmlassets.h): d3 and d3-flame-graph from their pinned npm packages, with
 * their license texts, and the page's own script and style
 * (user/output/html/). The Makefile passes each file's path as a macro.
 * Each asset is followed by a NUL byte that its length leaves out.
 */
#define ASSET(sym, path)			\
	.globl sym;				\
	.type sym, @object;			\
sym:						\
	.incbin path;				\
	.globl sym##_end;			\
sym##_end:					\
	.byte 0

	.section .rodata
	ASSET(dp_asset_d3_js, DP_ASSET_D3_JS)
	ASSET(dp_asset_d3_license, DP_ASSET_D3_LICENSE)
	ASSET(dp_asset_flamegraph_js, DP_ASSET_FLAMEGRAPH_JS)
	ASSET(dp_asset_flamegraph_css, DP_ASSET_FLAMEGRAPH_CSS)
	ASSET(dp_asset_flamegraph_license, DP_ASSET_FLAMEGRAPH_LICENSE)
	ASSET(dp_asset_page_js, DP_ASSET_PAGE_JS)
	ASSET(dp_asset_page_css, DP_ASSET_PAGE_CSS)

	.section .note.GNU-stack, "", @progbits
