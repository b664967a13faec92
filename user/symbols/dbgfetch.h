/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Separate debug files from debuginfod servers, by build-id, for objects
 * whose debug file is not on this machine. Asked only when DEBUGINFOD_URLS
 * is set and not empty, through elfutils' libdebuginfod, which reads the
 * user's DEBUGINFOD_CACHE_PATH, DEBUGINFOD_TIMEOUT and the rest itself.
 *
 * One client per run, made on first need. Each build-id is asked once, its
 * answer (a file or a failure) kept for the run. A stop signal (SIGINT,
 * SIGTERM, SIGHUP: dp_read_signals) coming while a download runs ends it,
 * and so does one that fails for another reason than "the servers do not
 * have it" (a refused connection, a timeout): no server is asked again in
 * that run, so a dead server costs one wait, not one per object.
 */
#ifndef DP_DBGFETCH_H
#define DP_DBGFETCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

struct dp_dbgfetch_entry;
struct debuginfod_client;

struct dp_dbgfetch {
	struct debuginfod_client *client;	/* NULL until first asked */
	struct dp_dbgfetch_entry *by_bid;	/* every build-id asked, with its answer */
	bool off;			/* no URLs, no client, or a download failed or was stopped */
	bool warned;
	sig_atomic_t signals;		/* dp_read_signals when the current download began */
	unsigned int asked, found;
};

/*
 * The debug file of build-id bid: a new fd (the caller's to close) with
 * *path its name in the cache (malloc'd), or a negative errno: -ENOENT when
 * the servers do not have it, -ENOSYS when debuginfod is not to be asked,
 * -EINTR when a stop signal ended the download, -ENOMEM, or what
 * libdebuginfod said. Zeroed f is ready; an answer is asked for once.
 */
int dp_dbgfetch__find(struct dp_dbgfetch *f, const unsigned char *bid, int len, char **path);
void dp_dbgfetch__free(struct dp_dbgfetch *f);

#endif
