// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stddef.h>
#include <string.h>
#include "perf_abi.h"

/* The flags bitfield is the u64 right after read_format in every ABI version. */
#define FLAGS_OFF (offsetof(struct perf_event_attr, read_format) + sizeof(uint64_t))

_Static_assert(FLAGS_OFF == 40, "perf_event_attr flags word moved");

void dp_attr_set_flag(struct perf_event_attr *attr, unsigned int bit, int on)
{
	uint64_t w;

	memcpy(&w, (char *)attr + FLAGS_OFF, sizeof(w));
	if (on)
		w |= 1ULL << bit;
	else
		w &= ~(1ULL << bit);
	memcpy((char *)attr + FLAGS_OFF, &w, sizeof(w));
}

int dp_attr_get_flag(const struct perf_event_attr *attr, unsigned int bit)
{
	uint64_t w;

	memcpy(&w, (const char *)attr + FLAGS_OFF, sizeof(w));
	return (w >> bit) & 1;
}
