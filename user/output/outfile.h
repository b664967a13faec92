/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Output files written atomically: to a temporary file beside the final
 * name, synced and renamed when complete. An interrupted or failed write
 * never leaves a half file under the final name. Devices and FIFOs
 * (/dev/null, /dev/stdout, pipes) are written in place.
 */
#ifndef DP_OUTFILE_H
#define DP_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

struct dp_outfile {
	FILE *f;
	char *tmp;
	const char *final;
	bool direct;		/* a device or FIFO, written in place */
};

/* path NULL: stdout. Errors print one line and return -errno. */
int dp_outfile__open(struct dp_outfile *of, const char *path);
/* keep: rename into place (else the temporary file is removed). */
int dp_outfile__close(struct dp_outfile *of, bool keep);

#endif
