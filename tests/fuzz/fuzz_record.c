/* Record parsing: any bytes as a ring record, then the callchain split. */
#include "fuzz.h"
#include <linux/perf_event.h>
#include "perf_abi.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_record r;
	struct dp_chain c;

	if (dp_record__parse(data, size, DP_SAMPLE_TYPE, &r))
		return 0;
	FZ_CHECK(r.size <= size);
	/* A chain lies in its record: as many words as nr says, none past its end. */
	if ((r.type == PERF_RECORD_SAMPLE && r.sample.nr) ||
	    (r.type == DP_RECORD_CALLCHAIN_DEFERRED && r.deferred.nr)) {
		const uint8_t *ips = (const uint8_t *)(r.type == PERF_RECORD_SAMPLE ? r.sample.ips :
								      r.deferred.ips);
		uint64_t nr = r.type == PERF_RECORD_SAMPLE ? r.sample.nr : r.deferred.nr;

		FZ_CHECK(ips >= data && ips <= data + size);
		FZ_CHECK(nr <= (size_t)(data + size - ips) / 8);
	}
	if (r.type == PERF_RECORD_SAMPLE && r.sample.nr && r.sample.nr < 4096) {
		uint64_t *ips = malloc(r.sample.nr * sizeof(*ips));

		if (!ips)
			return 0;
		memcpy(ips, r.sample.ips, r.sample.nr * sizeof(*ips));
		if (!dp_chain__split(ips, r.sample.nr, &c))
			FZ_CHECK((uint64_t)c.knr + c.unr <= r.sample.nr);
		free(ips);
	}
	if (r.type == PERF_RECORD_MMAP2 && r.mmap.filename) {
		const uint8_t *s = (const uint8_t *)r.mmap.filename;

		/* The name lies in the record and ends there. */
		FZ_CHECK(s >= data && s < data + size);
		FZ_CHECK(memchr(s, 0, size - (size_t)(s - data)));
	}
	return 0;
}
