// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "outfile.h"

static bool stdout_closed;

void dp_outfile__guard_std(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int nfd;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		if (fd == STDOUT_FILENO)
			stdout_closed = true;
		/* The lowest free descriptor: fd itself. */
		nfd = open("/dev/null", fd ? O_WRONLY : O_RDONLY);
		if (nfd >= 0 && nfd != fd)
			close(nfd);
	}
}

static int say_err(const char *path, int err)
{
	fprintf(stderr, "deferprof: cannot write %s: %s\n", path, strerror(err));
	return -err;
}

/*
 * Where a symbolic link leads, link after link (what writing through it
 * reaches): malloc'd, or NULL with errno. A dangling link gives its target.
 */
static char *resolve_links(const char *path)
{
	char *cur = strdup(path);

	for (int hops = 0; cur && hops < 40; hops++) {
		char target[PATH_MAX], *next, *slash;
		ssize_t n = readlink(cur, target, sizeof(target) - 1);

		if (n < 0)
			return errno == EINVAL || errno == ENOENT ? cur : (free(cur), NULL);
		target[n] = 0;
		slash = strrchr(cur, '/');
		if (target[0] == '/' || !slash)
			next = strdup(target);
		else if (asprintf(&next, "%.*s/%s", (int)(slash - cur), cur, target) < 0)
			next = NULL;
		free(cur);
		cur = next;
	}
	if (cur) {
		free(cur);
		errno = ELOOP;
	}
	return NULL;
}

/* Whether the user who ran deferprof (through sudo: SUDO_UID) may write a file with st. */
static bool user_may_write(const char *path, const struct stat *st)
{
	const char *su = getenv("SUDO_UID");
	gid_t groups[256];
	int ngroups = 256;
	struct passwd *pw;
	uid_t uid;

	if (!(st->st_mode & 0222))
		return false;	/* read-only for everyone: not overwritten, even by root */
	if (geteuid() != 0 || !su || !*su)
		return access(path, W_OK) == 0;
	uid = (uid_t)strtoul(su, NULL, 10);
	if (uid == 0)
		return true;
	if (st->st_uid == uid)
		return st->st_mode & S_IWUSR;
	pw = getpwuid(uid);
	if (pw && getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) >= 0) {
		for (int i = 0; i < ngroups; i++)
			if (groups[i] == st->st_gid)
				return st->st_mode & S_IWGRP;
	}
	return st->st_mode & S_IWOTH;
}

/* A device or a FIFO (/dev/null, /dev/stdout, a pipe) is written as it is. */
static int open_direct(struct dp_outfile *of, const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || !(of->f = fdopen(fd, "w"))) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		return say_err(path, err);
	}
	of->final = path;
	of->direct = true;
	return 0;
}

/* The file, nameless until complete (O_TMPFILE), or a named temporary beside it. */
static int open_temp(struct dp_outfile *of, const char *shown)
{
	const char *slash = strrchr(of->real, '/');
	char *dir = slash ? strndup(of->real, slash == of->real ? 1 : (size_t)(slash - of->real))
			  : strdup(".");
	int fd, err;

	if (!dir)
		return say_err(shown, ENOMEM);
	fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	err = errno;
	free(dir);
	if (fd >= 0)
		return fd;
	/* Filesystems without O_TMPFILE say so in several ways. */
	if (err != EOPNOTSUPP && err != EISDIR && err != EINVAL)
		return say_err(shown, err);
	if (asprintf(&of->tmp, "%s.XXXXXX", of->real) < 0)
		return -ENOMEM;
	fd = mkstemp(of->tmp);
	if (fd < 0) {
		err = errno;
		free(of->tmp);
		of->tmp = NULL;
		return say_err(shown, err);
	}
	return fd;
}

int dp_outfile__open(struct dp_outfile *of, const char *path)
{
	struct stat st;
	bool exists;
	int fd;

	memset(of, 0, sizeof(*of));
	if (!path) {
		if (stdout_closed) {
			fprintf(stderr, "deferprof: standard output is closed: give -o FILE\n");
			return -EBADF;
		}
		of->f = stdout;
		return 0;
	}
	of->real = resolve_links(path);
	if (!of->real)
		return say_err(path, errno);
	exists = stat(of->real, &st) == 0;
	if (exists && !S_ISREG(st.st_mode)) {
		free(of->real);
		of->real = NULL;
		return open_direct(of, path);
	}
	if (exists && !user_may_write(of->real, &st)) {
		fprintf(stderr, "deferprof: cannot write %s: %s (mode %04o, owner uid %u)\n", path,
			st.st_mode & 0222 ? "the user who ran deferprof may not write it" :
			"the file is read-only", (unsigned int)(st.st_mode & 07777),
			(unsigned int)st.st_uid);
		free(of->real);
		of->real = NULL;
		return -EACCES;
	}
	fd = open_temp(of, path);
	if (fd < 0) {
		free(of->real);
		of->real = NULL;
		return fd;
	}
	/* An existing file keeps its mode and owner; a new one is 0644. */
	if (exists) {
		if (fchmod(fd, st.st_mode & 07777) || (fchown(fd, st.st_uid, st.st_gid) && errno != EPERM))
			fprintf(stderr, "deferprof: warning: %s: cannot keep its mode and owner: %s\n",
				path, strerror(errno));
	} else if (fchmod(fd, 0644)) {
		fprintf(stderr, "deferprof: warning: %s: cannot set mode 0644: %s\n", path, strerror(errno));
	}
	of->f = fdopen(fd, "w");
	if (!of->f) {
		int err = errno;

		close(fd);
		if (of->tmp)
			unlink(of->tmp);
		free(of->tmp);
		free(of->real);
		of->tmp = of->real = NULL;
		return say_err(path, err);
	}
	of->final = path;
	return 0;
}

/* Give the nameless file fd a name beside real, then rename it over real. */
static int link_into_place(int fd, const char *real)
{
	char proc[64], *name = NULL;
	int err = 0;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	for (int tries = 0; tries < 100; tries++) {
		free(name);
		if (asprintf(&name, "%s.%ld.%d", real, (long)getpid(), tries) < 0)
			return -ENOMEM;
		if (!linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW)) {
			err = 0;
			break;
		}
		err = -errno;
		if (errno != EEXIST)
			break;
	}
	if (!err && rename(name, real)) {
		err = -errno;
		unlink(name);
	}
	free(name);
	return err;
}

int dp_outfile__close(struct dp_outfile *of, bool keep)
{
	int err = 0;

	if (of->direct) {
		if (fflush(of->f))
			err = -errno;
		if (fclose(of->f) && !err)
			err = -errno;
		if (err)
			say_err(of->final, -err);
		return err;
	}
	if (!of->real) {
		if (fflush(stdout)) {
			err = -errno;
			fprintf(stderr, "deferprof: cannot write standard output: %s\n", strerror(-err));
		}
		return err;
	}
	if (fflush(of->f) || fsync(fileno(of->f)))
		err = -errno;
	if (!err && keep && !of->tmp)
		err = link_into_place(fileno(of->f), of->real);
	if (fclose(of->f) && !err)
		err = -errno;
	if (!err && keep && of->tmp && rename(of->tmp, of->real))
		err = -errno;
	if (of->tmp && (err || !keep))
		unlink(of->tmp);
	if (err)
		say_err(of->final, -err);
	free(of->tmp);
	free(of->real);
	of->tmp = of->real = NULL;
	return err;
}
