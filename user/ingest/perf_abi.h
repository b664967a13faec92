/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Parts of the perf ABI newer than the build machine's headers (Linux >= 6.19,
 * include/uapi/linux/perf_event.h), kept here so deferprof builds anywhere.
 */
#ifndef DP_PERF_ABI_H
#define DP_PERF_ABI_H

#include <linux/perf_event.h>
#include <stdint.h>

/* Bits of the flags word that follows read_format in perf_event_attr. */
#define DP_ATTR_DEFER_CALLCHAIN_BIT	38
#define DP_ATTR_DEFER_OUTPUT_BIT	39

#define DP_RECORD_CALLCHAIN_DEFERRED	22

/* Set or clear a bit of perf_event_attr's flags word by its ABI number. */
void dp_attr_set_flag(struct perf_event_attr *attr, unsigned int bit, int on);
int dp_attr_get_flag(const struct perf_event_attr *attr, unsigned int bit);

#endif
