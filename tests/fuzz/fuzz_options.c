/*
 * Options parsing: the bytes split at NUL into argv. A parse either fails
 * with a one-line message or gives options that hold together.
 */
#include <errno.h>
#include "fuzz.h"
#include "options.h"

/* One parse of the bytes, in a copy freed after it (a later parse must not read it). */
static void parse_once(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[66], err[256];
	struct dp_opts o;
	int argc = 0;
	size_t i = 0;

	if (!buf)
		return;
	memcpy(buf, data, size);
	buf[size] = 0;
	argv[argc++] = "deferprof";
	while (i <= size && argc < 65) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	err[0] = 0;
	if (dp_opts__parse(&o, argc, argv, err, sizeof(err))) {
		FZ_CHECK(err[0] && !strchr(err, '\n'));
	} else if (o.cmd == DP_CMD_RECORD) {
		FZ_CHECK(o.nouts >= 1 && o.nouts <= DP_MAX_OUTPUTS);
		FZ_CHECK(!(o.freq && o.period) && (o.freq || o.period));
		FZ_CHECK(!(o.kernel_only && o.user_only));
		FZ_CHECK(o.duration >= 0 && o.duration <= 31536000);
		for (uint32_t a = 0; a < o.nouts; a++)
			for (uint32_t b = a + 1; b < o.nouts; b++)
				FZ_CHECK(o.outs[a].path || o.outs[b].path);	/* stdout once */
	}
	free(buf);
}

/* Twice: the parser keeps no state (getopt's) from one argv into the next. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_once(data, size);
	parse_once(data, size);
	return 0;
}
