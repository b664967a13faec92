/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Output files written atomically: to a nameless file (O_TMPFILE) in the
 * final name's directory, synced, given a name and renamed over the final
 * name when complete, so neither an interrupted write nor SIGKILL leaves a
 * half or stray file (a named temporary beside it where the filesystem has
 * no O_TMPFILE). A symbolic link is written through: the file it leads to
 * is replaced, keeping its mode and owner; a file the user could not write
 * (read-only, or not the sudo user's to write) is refused. Devices and
 * FIFOs (/dev/null, /dev/stdout, pipes) are written in place.
 */
#ifndef DP_OUTFILE_H
#define DP_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

struct dp_outfile {
	FILE *f;
	char *tmp;		/* the named temporary, without O_TMPFILE */
	char *real;		/* the file written: final, links followed */
	const char *final;
	bool direct;		/* a device or FIFO, written in place */
};

/*
 * First thing in main(): standard descriptors that are closed get
 * /dev/null, so no file opened later lands on them; a closed stdout is
 * remembered, and dp_outfile__open(NULL) refuses it.
 */
void dp_outfile__guard_std(void);
/* path NULL: stdout. Errors print one line and return -errno. */
int dp_outfile__open(struct dp_outfile *of, const char *path);
/* keep: rename into place (else the temporary file is removed). */
int dp_outfile__close(struct dp_outfile *of, bool keep);

#endif
