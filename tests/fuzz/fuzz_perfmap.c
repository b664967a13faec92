/* perf-PID.map parsing: any bytes as a JIT map, then lookups. */
#include "fuzz.h"
#include "jitmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_jitmap j = { 0 };
	struct fz f = { data, size };
	char path[64];

	if (fz_tmpfile(data, size, path, sizeof(path)))
		return 0;
	dp_jitmap__load(&j, path);
	unlink(path);
	for (size_t i = 1; i < j.n; i++)
		FZ_CHECK(j.syms[i - 1].start <= j.syms[i].start);
	for (int i = 0; i < 16 && f.n; i++) {
		uint64_t addr = fz_take(&f, 8);
		const struct dp_jit_sym *s = dp_jitmap__find(&j, addr);

		if (s)
			FZ_CHECK(s->start <= addr && addr - s->start < s->size && s->name[0]);
	}
	dp_jitmap__free(&j);
	return 0;
}
