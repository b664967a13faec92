// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "safeopen.h"

volatile sig_atomic_t dp_read_signals;

#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)

int dp_owner__of_pid(struct dp_owner *o, const char *proc_root, uint32_t pid)
{
	char path[128], line[256];
	unsigned int u[4];
	int err = -ENOENT;
	FILE *f;

	memset(o, 0, sizeof(*o));
	snprintf(path, sizeof(path), "%s/%" PRIu32 "/status", proc_root, pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Uid:", 4))
			continue;
		if (sscanf(line + 4, "%u %u %u %u", &u[0], &u[1], &u[2], &u[3]) == 4) {
			for (int i = 0; i < 4; i++)
				o->uids[i] = u[i];
			o->n = 4;
			err = 0;
		} else {
			err = -EINVAL;
		}
		break;
	}
	fclose(f);
	return err;
}

bool dp_owner__allows(const struct dp_owner *o, uid_t uid)
{
	if (uid == 0 || uid == geteuid())
		return true;
	for (int i = 0; o && i < o->n; i++)
		if (o->uids[i] == uid)
			return true;
	return false;
}

int dp_safe_check_fd(int fd, const struct dp_owner *owner, const char **why)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode)) {
		if (why)
			*why = S_ISFIFO(st.st_mode) ? "a FIFO, not a regular file" :
			       S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device, not a regular file" :
			       "not a regular file";
		return -EINVAL;
	}
	if (owner && !dp_owner__allows(owner, st.st_uid)) {
		if (why)
			*why = "owned by another user than the process's or root";
		return -EPERM;
	}
	/* Reads of a regular file never block: back to plain reads. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return 0;
}

/* The errno of a refused open, with what it means for an untrusted path. */
static int open_failed(int err, const char **why)
{
	if (why)
		*why = err == ELOOP ? "a symbolic link (not followed)" :
		       err == EXDEV ? "leaves the process's root" : NULL;
	return -err;
}

int dp_safe_open(const char *path, const struct dp_owner *owner, const char **why)
{
	int fd, err;

	if (why)
		*why = NULL;
	fd = open(path, OPEN_FLAGS);
	if (fd < 0)
		return open_failed(errno, why);
	err = dp_safe_check_fd(fd, owner, why);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int openat2_nofollow(int dirfd, const char *path)
{
	struct open_how how = {
		.flags = OPEN_FLAGS,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int dp_safe_open_in_root(const char *proc_root, uint32_t pid, const char *path,
			 const struct dp_owner *owner, const char **why)
{
	char *full = NULL;
	int root, fd, err;

	if (why)
		*why = NULL;
	if (asprintf(&full, "%s/%" PRIu32 "/root", proc_root, pid) < 0)
		return -ENOMEM;
	root = open(full, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(full);
	if (root < 0)
		return -errno;
	fd = openat2_nofollow(root, path);
	if (fd < 0 && (errno == ENOSYS || errno == E2BIG)) {
		/* No openat2 (< 5.6): the last component at least is not followed. */
		while (*path == '/')
			path++;
		fd = openat(root, path, OPEN_FLAGS);
	}
	err = errno;
	close(root);
	if (fd < 0)
		return open_failed(err, why);
	err = dp_safe_check_fd(fd, owner, why);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int dp_lines__init(struct dp_lines *r, int fd, uint64_t max_bytes, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max_bytes = max_bytes;
	r->max_line = max_line;
	r->signals = dp_read_signals;
	r->cap = max_line + 65536;
	r->buf = malloc(r->cap + 1);
	return r->buf ? 0 : -ENOMEM;
}

void dp_lines__free(struct dp_lines *r)
{
	free(r->buf);
	r->buf = NULL;
}

/* More bytes at the end of the buffer: 0 (r->eof says whether any came) or -errno. */
static int fill(struct dp_lines *r)
{
	size_t room;
	ssize_t n;

	if (r->start) {
		memmove(r->buf, r->buf + r->start, r->len);
		r->start = 0;
	}
	room = r->cap - r->len;
	if (r->max_bytes - r->total < room)
		room = (size_t)(r->max_bytes - r->total);
	if (!room) {
		r->truncated = r->total >= r->max_bytes;
		r->eof = true;
		return 0;
	}
	for (;;) {
		if (dp_read_signals != r->signals) {
			r->aborted = true;
			r->eof = true;
			return 0;
		}
		n = read(r->fd, r->buf + r->len, room);
		if (n >= 0)
			break;
		if (errno != EINTR)
			return -errno;
	}
	if (n == 0)
		r->eof = true;
	r->len += (size_t)n;
	r->total += (uint64_t)n;
	return 0;
}

int dp_lines__next(struct dp_lines *r, char **line, size_t *len)
{
	for (;;) {
		char *s = r->buf + r->start;
		char *nl = r->len ? memchr(s, '\n', r->len) : NULL;
		size_t n = nl ? (size_t)(nl - s) : r->len;
		int err;

		if (nl || (r->eof && r->len)) {
			bool bad = r->skipping || n > r->max_line || memchr(s, 0, n);

			r->start += nl ? n + 1 : n;
			r->len -= nl ? n + 1 : n;
			/* The piece of a line a bound or a signal cut: not a line. */
			if (!nl && (r->truncated || r->aborted))
				continue;
			if (bad) {
				if (!r->skipping)
					r->nlong++;
				r->skipping = false;
				continue;
			}
			s[n] = 0;
			*line = s;
			*len = n;
			return 1;
		}
		if (r->eof)
			return 0;
		if (r->len > r->max_line) {
			/* A line too long to keep: drop what is read, up to its end. */
			if (!r->skipping)
				r->nlong++;
			r->skipping = true;
			r->start = r->len = 0;
		}
		err = fill(r);
		if (err)
			return err;
	}
}
