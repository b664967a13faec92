/*
 * debuginfod by build-id (user/symbols/dbgfetch.c) against servers made
 * here on loopback: one that answers, one whose port is closed, one that
 * accepts and never answers. What is checked: asked only with
 * DEBUGINFOD_URLS, once per build-id, a stop signal ends a download, a dead
 * server is not asked again.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "dbgfetch.h"
#include "safeopen.h"

static char dir[] = "/tmp/dp-dbgfetch-XXXXXX";
static const unsigned char bid1[20] = { 0xd8, 0x00, 0x63, 0xb3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
static const unsigned char bid2[20] = { 0xab, 0xcd, 0xef, 1 };
static const char body[] = "not really ELF, but a file";

static void make_dir(void)
{
	char cache[64];

	cr_assert_not_null(mkdtemp(dir));
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	cr_assert_eq(setenv("DEBUGINFOD_CACHE_PATH", cache, 1), 0);
	cr_assert_eq(setenv("DEBUGINFOD_TIMEOUT", "30", 1), 0);
	unsetenv("DEBUGINFOD_PROGRESS");
	unsetenv("DEBUGINFOD_VERBOSE");
}

static void remove_dir(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A listening socket on 127.0.0.1, any free port: its fd; *port says which. */
static int listen_loopback(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(s, 0);
	cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(s, 16), 0);
	cr_assert_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return s;
}

static void set_urls(int port)
{
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
	cr_assert_eq(setenv("DEBUGINFOD_URLS", url, 1), 0);
}

/* Answers every request with 200 and body, counting them. */
struct server {
	int s, requests;
};

static void *serve(void *arg)
{
	struct server *srv = arg;
	char req[4096], head[256];
	int c;

	while ((c = accept(srv->s, NULL, NULL)) >= 0) {
		ssize_t n, got = 0;

		/* Up to the end of the request's headers. */
		while (got < (ssize_t)sizeof(req) - 1 &&
		       (n = read(c, req + got, sizeof(req) - 1 - (size_t)got)) > 0) {
			got += n;
			req[got] = 0;
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		srv->requests++;
		snprintf(head, sizeof(head),
			 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 sizeof(body) - 1);
		if (write(c, head, strlen(head)) < 0 || write(c, body, sizeof(body) - 1) < 0)
			perror("serve");
		close(c);
	}
	return NULL;
}

TestSuite(dbgfetch, .init = make_dir, .fini = remove_dir);

Test(dbgfetch, nothing_asked_without_urls)
{
	struct dp_dbgfetch f = { 0 };
	char *path = NULL;

	unsetenv("DEBUGINFOD_URLS");
	cr_assert_eq(dp_dbgfetch__find(&f, bid1, sizeof(bid1), &path), -ENOSYS);
	cr_assert_eq(setenv("DEBUGINFOD_URLS", " ", 1), 0);
	cr_assert_eq(dp_dbgfetch__find(&f, bid2, sizeof(bid2), &path), -ENOSYS);
	cr_assert_null(f.client);
	cr_assert_eq(f.asked, 0);
	cr_assert_null(path);
	dp_dbgfetch__free(&f);
}

Test(dbgfetch, found_once_then_from_memory)
{
	struct server srv = { 0 };
	struct dp_dbgfetch f = { 0 };
	char *path = NULL, buf[64];
	pthread_t th;
	int port, fd;
	ssize_t n;

	srv.s = listen_loopback(&port);
	set_urls(port);
	cr_assert_eq(pthread_create(&th, NULL, serve, &srv), 0);
	for (int i = 0; i < 3; i++) {
		fd = dp_dbgfetch__find(&f, bid1, sizeof(bid1), &path);
		cr_assert_geq(fd, 0, "try %d: %s", i, strerror(-fd));
		cr_assert_not_null(path);
		cr_assert_not_null(strstr(path, "d80063b3"), "%s", path);
		n = pread(fd, buf, sizeof(buf), 0);
		cr_assert_eq(n, (ssize_t)sizeof(body) - 1);
		cr_assert_eq(memcmp(buf, body, sizeof(body) - 1), 0);
		close(fd);
		free(path);
		path = NULL;
	}
	cr_assert_eq(f.asked, 1);
	cr_assert_eq(f.found, 1);
	cr_assert_eq(srv.requests, 1);
	dp_dbgfetch__free(&f);
	shutdown(srv.s, SHUT_RDWR);
	close(srv.s);
	pthread_join(th, NULL);
}

Test(dbgfetch, closed_port_fails_fast_and_turns_it_off)
{
	struct dp_dbgfetch f = { 0 };
	char *path = NULL;
	int port, s, fd;
	double t0;

	s = listen_loopback(&port);
	close(s);	/* nothing listens there now */
	set_urls(port);
	t0 = now_s();
	fd = dp_dbgfetch__find(&f, bid1, sizeof(bid1), &path);
	cr_assert_lt(fd, 0);
	cr_assert_neq(fd, -ENOENT);
	cr_assert_lt(now_s() - t0, 10.0);
	/* The same build-id and another one: no server asked again. */
	cr_assert_eq(dp_dbgfetch__find(&f, bid1, sizeof(bid1), &path), fd);
	cr_assert_eq(dp_dbgfetch__find(&f, bid2, sizeof(bid2), &path), -ENOSYS);
	cr_assert_eq(f.asked, 1);
	cr_assert_null(path);
	dp_dbgfetch__free(&f);
}

static void *signal_later(void *arg)
{
	(void)arg;
	usleep(300 * 1000);
	dp_read_signals++;	/* what SIGINT's handler does while the download runs */
	return NULL;
}

Test(dbgfetch, a_stop_signal_ends_a_download)
{
	struct dp_dbgfetch f = { 0 };
	char *path = NULL;
	pthread_t th;
	int port, s, fd;
	double t0, took;

	s = listen_loopback(&port);	/* connections are accepted by the kernel, never answered */
	set_urls(port);
	/* A signal before the download began does not stop it: only one during it. */
	dp_read_signals++;
	cr_assert_eq(pthread_create(&th, NULL, signal_later, NULL), 0);
	t0 = now_s();
	fd = dp_dbgfetch__find(&f, bid1, sizeof(bid1), &path);
	took = now_s() - t0;
	pthread_join(th, NULL);
	cr_assert_eq(fd, -EINTR, "%d (%s)", fd, strerror(-fd));
	/* The client looks at the callback about once a second; 30 s is its timeout. */
	cr_assert_lt(took, 5.0, "took %.1f s", took);
	cr_assert_geq(took, 0.25, "took %.2f s: ended before the signal", took);
	cr_assert_eq(dp_dbgfetch__find(&f, bid2, sizeof(bid2), &path), -ENOSYS);
	cr_assert_eq(f.asked, 1);
	dp_dbgfetch__free(&f);
	close(s);
}
