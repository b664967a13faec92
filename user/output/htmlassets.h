/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The files the HTML page inlines, embedded at build time (htmlassets.S). */
#ifndef DP_HTMLASSETS_H
#define DP_HTMLASSETS_H

#include <stddef.h>

#define DP_ASSET_DECL(sym) extern const char sym[], sym##_end[]
DP_ASSET_DECL(dp_asset_d3_js);			/* d3 (ISC), dist/d3.min.js */
DP_ASSET_DECL(dp_asset_d3_license);
DP_ASSET_DECL(dp_asset_flamegraph_js);		/* d3-flame-graph (Apache-2.0), UMD build */
DP_ASSET_DECL(dp_asset_flamegraph_css);
DP_ASSET_DECL(dp_asset_flamegraph_license);
DP_ASSET_DECL(dp_asset_page_js);		/* user/output/html/page.js */
DP_ASSET_DECL(dp_asset_page_css);		/* user/output/html/page.css */
#undef DP_ASSET_DECL

/* An asset's length in bytes (its trailing NUL left out). */
#define DP_ASSET_LEN(sym) ((size_t)(sym##_end - sym))

#endif
