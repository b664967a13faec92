// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "record.h"
#include "samplelog.h"
#include "stacks.h"

uint32_t dp_key__stk_flags(uint32_t kflags, bool no_user)
{
	uint32_t f = 0;

	if (kflags & DP_KEY_KSTACK_LOST)
		f |= DP_STK_KERNEL_LOST;
	if (kflags & DP_KEY_USTACK_LOST)
		f |= DP_STK_USER_NOT_STORED;
	if (kflags & DP_KEY_KTRUNC)
		f |= DP_STK_KTRUNC;
	if (kflags & DP_KEY_UTRUNC)
		f |= DP_STK_UTRUNC;
	if (no_user)
		f |= DP_STK_NO_USER;
	return f;
}

/*
 * A whole chain (classic or kernel-only) into its parts; a part longer
 * than the aggregate keeps is cut, flagged. Returns -1 for a chain whose
 * markers are out of order.
 */
static int split_chain(const uint64_t *ips, uint32_t nr, bool kernel_only,
		       struct dp_join_sample *js)
{
	struct dp_chain ch;

	if (dp_chain__split(ips, nr, &ch) || ch.form == DP_CHAIN_DEFERRED)
		return -1;
	dp_join_sample__from_chain(js, &ch, kernel_only);
	return 0;
}

/*
 * One entry with room bytes before head: its size, or 0 when its framing is
 * malformed. A well-framed entry whose chain does not parse is a sample all
 * the same (*malformed counts it).
 */
static uint64_t to_sample(const struct dp_log_entry *e, uint64_t room, bool kernel_only,
			  struct dp_join_sample *js, uint64_t *malformed)
{
	const uint64_t *ips = (const uint64_t *)e->ips;
	uint64_t bytes;

	if (room < sizeof(*e))
		return 0;
	bytes = DP_LOG_ENTRY_BYTES(e->nr);
	if (e->flags & DP_KEY_LEAF)
		bytes += sizeof(struct dp_leaf);
	if (bytes > room || e->nr > DP_LOG_MAX_NR || (uint32_t)e->kfirst + e->knr > e->nr)
		return 0;
	memset(js, 0, sizeof(*js));
	js->pid = e->pid;
	js->tid = e->tid;
	js->count = 1;
	js->flags = dp_key__stk_flags(e->flags, false);
	if ((e->flags & DP_KEY_LEAF) && !kernel_only)
		js->leaf = (const struct dp_leaf *)(ips + e->nr);
	if (e->flags & DP_KEY_CHAIN) {
		if (split_chain(ips, e->nr, kernel_only, js)) {
			/* Still a sample: kept under one marker, and counted malformed. */
			js->kips = js->uips = NULL;
			js->knr = js->unr = 0;
			js->flags |= DP_STK_MALFORMED | DP_STK_NO_USER;
			(*malformed)++;
		}
	} else {	/* deferred: the kernel part, and the cookie to join on */
		js->cookie = kernel_only ? 0 : e->cookie;
		if (kernel_only)
			js->flags |= DP_STK_NO_USER;
		js->kips = ips + e->kfirst;
		js->knr = e->knr;
	}
	return bytes;
}

uint64_t dp_samplelog__read(const struct dp_log *l, uint64_t tail, uint64_t head,
			    bool kernel_only, struct dp_samplelog_stats *st,
			    dp_samplelog_fn fn, void *ctx, int *err)
{
	struct dp_join_sample js;
	uint64_t n;

	*err = 0;
	if (head - tail > DP_LOG_BYTES) {	/* cannot happen with a sane writer */
		st->malformed++;
		return head;
	}
	while (tail < head) {
		const void *e = l->data + (tail & (DP_LOG_BYTES - 1));

		n = to_sample(e, head - tail, kernel_only, &js, &st->malformed);
		if (!n) {	/* cannot happen with a sane writer: skip the rest */
			st->malformed++;
			return head;
		}
		st->entries++;
		st->bytes += n;
		*err = fn(&js, ctx);
		tail += n;
		if (*err)
			break;
	}
	return tail;
}
