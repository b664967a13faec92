/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Files a profiled process can influence, read as root: its perf map in
 * /tmp, paths under its root, debuglink names in its binaries. Each is
 * opened without following a symbolic link, never blocking (a FIFO),
 * accepted only as a regular file owned by root or by one of the process's
 * user ids, and read in bounded chunks that a stop signal ends.
 */
#ifndef DP_SAFEOPEN_H
#define DP_SAFEOPEN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Counted by deferprof's SIGINT/SIGTERM/SIGHUP handler: a read of lines
 * stops when a signal comes while it runs (the one that ended the profile,
 * before the read began, does not stop the reads of symbolization).
 */
extern volatile sig_atomic_t dp_read_signals;

/* Who may own a file we accept: root, deferprof's euid, and these. */
struct dp_owner {
	uint32_t uids[4];	/* real, effective, saved, filesystem */
	int n;			/* 0: the process's ids are unknown */
};

/* The user ids of process pid (its status file under proc_root): 0 or -errno. */
int dp_owner__of_pid(struct dp_owner *o, const char *proc_root, uint32_t pid);
bool dp_owner__allows(const struct dp_owner *o, uid_t uid);

/*
 * Open path read-only for untrusted content: O_NOFOLLOW | O_NONBLOCK, then
 * checked with fstat. owner NULL: any owner (a file the kernel vouches for,
 * as map_files). Returns the fd, or a negative errno with *why (static text,
 * may be NULL) saying what was refused: -ELOOP a symbolic link, -EINVAL not
 * a regular file, -EPERM owned by someone else.
 */
int dp_safe_open(const char *path, const struct dp_owner *owner, const char **why);
/*
 * The same for path as process pid sees it, resolved inside
 * proc_root/PID/root (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS where
 * the kernel has it; otherwise O_NOFOLLOW on the last component only).
 */
int dp_safe_open_in_root(const char *proc_root, uint32_t pid, const char *path,
			 const struct dp_owner *owner, const char **why);
/* The checks of dp_safe_open on an open fd: 0 or a negative errno with *why. */
int dp_safe_check_fd(int fd, const struct dp_owner *owner, const char **why);

/*
 * Lines of an untrusted file, read in chunks: at most max_bytes in all and
 * max_line per line (longer lines are skipped and counted), ended early by
 * a signal (dp_read_signals). A line never holds a NUL byte (such lines are counted too).
 */
struct dp_lines {
	int fd;
	uint64_t max_bytes, total;
	sig_atomic_t signals;	/* dp_read_signals when the read began */
	size_t max_line;
	char *buf;
	size_t cap, start, len;	/* unread bytes are buf[start, start+len) */
	bool eof, skipping;
	bool truncated;		/* stopped at max_bytes */
	bool aborted;		/* stopped by a signal */
	size_t nlong;		/* lines skipped: too long or with a NUL */
};

int dp_lines__init(struct dp_lines *r, int fd, uint64_t max_bytes, size_t max_line);
/* The next line, NUL-terminated without its '\n': 1, 0 at the end, or -errno. */
int dp_lines__next(struct dp_lines *r, char **line, size_t *len);
/* Frees the buffer; the fd stays the caller's. */
void dp_lines__free(struct dp_lines *r);

#endif
