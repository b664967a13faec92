// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <elfutils/debuginfod.h>
#include "dbgfetch.h"
#include "dphash.h"
#include "safeopen.h"

struct dp_dbgfetch_entry {
	UT_hash_handle hh;
	int fd;			/* ours, duplicated for each caller; -1: none */
	int err;		/* the failure, when fd is -1 */
	char *path;
	int len;
	unsigned char bid[];
};

/*
 * libdebuginfod, loaded on first need as libdwfl itself does: linked, it
 * brings libcurl and its TLS, LDAP and Kerberos libraries into every run
 * (29 more objects, 6 ms more per start and 5.5 MB more resident, measured
 * on `deferprof --help`), for a feature off unless DEBUGINFOD_URLS is set.
 * The header's declarations type the pointers.
 */
static struct {
	__typeof__(debuginfod_begin) *begin;
	__typeof__(debuginfod_end) *end;
	__typeof__(debuginfod_find_debuginfo) *find_debuginfo;
	__typeof__(debuginfod_set_progressfn) *set_progressfn;
	__typeof__(debuginfod_set_user_data) *set_user_data;
	__typeof__(debuginfod_get_user_data) *get_user_data;
} lib;

/* 0, or -ENOENT with the loader's message in *why. */
static int load_lib(const char **why)
{
	static void *handle;

	if (handle)
		return 0;
	handle = dlopen(DEBUGINFOD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		*why = dlerror();
		return -ENOENT;
	}
	lib.begin = (__typeof__(lib.begin))dlsym(handle, "debuginfod_begin");
	lib.end = (__typeof__(lib.end))dlsym(handle, "debuginfod_end");
	lib.find_debuginfo = (__typeof__(lib.find_debuginfo))dlsym(handle, "debuginfod_find_debuginfo");
	lib.set_progressfn = (__typeof__(lib.set_progressfn))dlsym(handle, "debuginfod_set_progressfn");
	lib.set_user_data = (__typeof__(lib.set_user_data))dlsym(handle, "debuginfod_set_user_data");
	lib.get_user_data = (__typeof__(lib.get_user_data))dlsym(handle, "debuginfod_get_user_data");
	if (!lib.begin || !lib.end || !lib.find_debuginfo || !lib.set_progressfn ||
	    !lib.set_user_data || !lib.get_user_data) {
		*why = "a function is missing from it";
		dlclose(handle);
		handle = NULL;
		return -ENOENT;
	}
	return 0;
}

/* libdebuginfod calls this while it waits or downloads: non-zero ends the transfer. */
static int progress(debuginfod_client *c, long done, long total)
{
	struct dp_dbgfetch *f = lib.get_user_data(c);

	(void)done;
	(void)total;
	return f && dp_read_signals != f->signals;
}

/* Whether DEBUGINFOD_URLS names anything. */
static bool urls_set(void)
{
	const char *u = getenv(DEBUGINFOD_URLS_ENV_VAR);

	return u && u[strspn(u, " \t\n")];
}

static void hex(const unsigned char *bid, int len, char *out, size_t size)
{
	size_t k = 0;

	for (int i = 0; i < len && k + 3 <= size; i++, k += 2)
		snprintf(out + k, 3, "%02x", bid[i]);
	out[k] = 0;
}

/* Ask the servers: a fd and its path, or a negative errno. */
static int ask(struct dp_dbgfetch *f, const unsigned char *bid, int len, char **path)
{
	const char *why = NULL;
	char id[129];
	bool stopped;
	int fd;

	if (f->off)
		return -ENOSYS;
	if (!f->client) {
		if (!urls_set()) {
			f->off = true;
			return -ENOSYS;
		}
		if (load_lib(&why)) {
			f->off = true;
			fprintf(stderr, "deferprof: warning: debuginfod: cannot load %s (%s); DEBUGINFOD_URLS is not used (Debian: apt-get install libdebuginfod1)\n",
				DEBUGINFOD_SONAME, why);
			return -ENOSYS;
		}
		f->client = lib.begin();
		if (!f->client) {
			f->off = true;
			fprintf(stderr, "deferprof: warning: debuginfod: cannot start a client (%s); DEBUGINFOD_URLS is not used\n",
				strerror(errno ? errno : ENOMEM));
			return -ENOSYS;
		}
		lib.set_user_data(f->client, f);
		lib.set_progressfn(f->client, progress);
	}
	f->asked++;
	f->signals = dp_read_signals;
	*path = NULL;
	fd = lib.find_debuginfo(f->client, bid, len, path);
	stopped = dp_read_signals != f->signals;
	if (fd < 0 && stopped)
		fd = -EINTR;
	if (fd >= 0 && dp_safe_check_fd(fd, NULL, NULL)) {
		close(fd);
		fd = -EINVAL;
	}
	if (fd < 0) {
		free(*path);
		*path = NULL;
	}
	if (fd >= 0 || (fd == -ENOENT && !stopped)) {
		f->found += fd >= 0;
		f->off = stopped;	/* the user asked deferprof to stop: no more downloads */
		return fd;
	}
	/* A dead or slow server would cost the same wait for every object. */
	f->off = true;
	if (!f->warned) {
		f->warned = true;
		hex(bid, len, id, sizeof(id));
		if (fd == -EINTR)
			fprintf(stderr, "deferprof: warning: debuginfod: download of build-id %s stopped by a signal; no server is asked again in this run\n",
				id);
		else
			fprintf(stderr, "deferprof: warning: debuginfod: build-id %s: %s (DEBUGINFOD_URLS=%s); no server is asked again in this run\n",
				id, strerror(-fd), getenv(DEBUGINFOD_URLS_ENV_VAR));
	}
	return fd;
}

int dp_dbgfetch__find(struct dp_dbgfetch *f, const unsigned char *bid, int len, char **path)
{
	struct dp_dbgfetch_entry *e;
	int fd;

	if (len <= 0 || len > 64)
		return -EINVAL;
	HASH_FIND(hh, f->by_bid, bid, (unsigned int)len, e);
	if (!e) {
		if (f->off)
			return -ENOSYS;
		e = calloc(1, sizeof(*e) + (size_t)len);
		if (!e)
			return -ENOMEM;
		memcpy(e->bid, bid, (size_t)len);
		e->len = len;
		e->fd = ask(f, bid, len, &e->path);
		if (e->fd < 0) {
			e->err = e->fd;
			e->fd = -1;
		}
		HASH_ADD_KEYPTR(hh, f->by_bid, e->bid, (unsigned int)len, e);
		if (dp_hash_failed()) {
			int err = e->fd >= 0 ? -ENOMEM : e->err;

			if (e->fd >= 0)
				close(e->fd);
			free(e->path);
			free(e);
			return err;
		}
	}
	if (e->fd < 0)
		return e->err;
	*path = strdup(e->path);
	if (!*path)
		return -ENOMEM;
	/* libdwfl owns what it is given and reads with pread: a duplicate serves. */
	fd = fcntl(e->fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		fd = -errno;
		free(*path);
		*path = NULL;
	}
	return fd;
}

void dp_dbgfetch__free(struct dp_dbgfetch *f)
{
	struct dp_dbgfetch_entry *e, *tmp;

	HASH_ITER(hh, f->by_bid, e, tmp) {
		HASH_DEL(f->by_bid, e);
		if (e->fd >= 0)
			close(e->fd);
		free(e->path);
		free(e);
	}
	if (f->client)
		lib.end(f->client);
	memset(f, 0, sizeof(*f));
}
