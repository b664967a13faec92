/* kallsyms parsing: any text as /proc/kallsyms, then lookups across it. */
#include "fuzz.h"
#include "ksyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_ksyms *ks;
	char path[64];
	int fd = fz_memfile(data, size, path, sizeof(path));

	if (fd < 0)
		return 0;
	ks = dp_ksyms__load(path);
	if (ks) {
		struct fz f = { data, size };

		dp_ksyms__count(ks);
		dp_ksyms__hidden(ks);
		for (int i = 0; i < 16 && f.n; i++) {
			const struct dp_ksym *k = dp_ksyms__find(ks, fz_take(&f, 8));

			if (k)
				FZ_CHECK(k->name && strlen(k->name) < 65536);
		}
		dp_ksyms__free(ks);
	}
	close(fd);
	return 0;
}
