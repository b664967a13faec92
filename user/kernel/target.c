// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "target.h"

int dp_pids__parse(const char *s, uint32_t *pids, size_t max)
{
	size_t n = 0;

	for (;;) {
		char *end;
		long long v;

		if (*s < '0' || *s > '9')
			return -EINVAL;	/* empty item, sign or space */
		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno || v < 1 || v > INT_MAX || (*end && *end != ','))
			return -EINVAL;
		for (size_t i = 0; i < n; i++)
			if (pids[i] == (uint32_t)v)
				goto next;
		if (n == max)
			return -E2BIG;
		pids[n++] = (uint32_t)v;
next:
		if (!*end)
			return (int)n;
		s = end + 1;
	}
}

/* /proc/mounts writes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*w++ = *s;
		}
	}
	*w = 0;
}

int dp_mounts__cgroup2(FILE *mounts, char *dir, size_t len)
{
	char line[4096];

	while (fgets(line, sizeof(line), mounts)) {
		char *save, *dev, *mnt, *type;

		dev = strtok_r(line, " \t\n", &save);
		mnt = dev ? strtok_r(NULL, " \t\n", &save) : NULL;
		type = mnt ? strtok_r(NULL, " \t\n", &save) : NULL;
		if (!type || strcmp(type, "cgroup2"))
			continue;
		unescape(mnt);
		if (strlen(mnt) >= len)
			return -ENAMETOOLONG;
		strcpy(dir, mnt);
		return 0;
	}
	return -ENOENT;
}

int dp_cgroup__dir(const char *mnt, const char *path, char *dir, size_t len)
{
	size_t ml = strlen(mnt);
	int n;

	while (ml > 1 && mnt[ml - 1] == '/')
		ml--;
	if (path[0] == '/' && !strncmp(path, mnt, ml) && (path[ml] == '/' || !path[ml]))
		n = snprintf(dir, len, "%s", path);
	else
		n = snprintf(dir, len, "%.*s/%s", (int)ml, mnt, path + (path[0] == '/'));
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
