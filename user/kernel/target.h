/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What a target's words mean: pid lists, where cgroup v2 is mounted. Pure. */
#ifndef DP_TARGET_H
#define DP_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * "12,34,56" into pids (at most max, no duplicates, each 1..INT_MAX).
 * Returns the count, or -EINVAL (bad number, empty item) or -E2BIG (too many).
 */
int dp_pids__parse(const char *s, uint32_t *pids, size_t max);

/*
 * The first cgroup2 mount point in a /proc/mounts text (octal escapes such
 * as \040 decoded). Returns 0, or -ENOENT when there is none, -ENAMETOOLONG.
 */
int dp_mounts__cgroup2(FILE *mounts, char *dir, size_t len);

/*
 * The directory of a cgroup given as --cgroup's PATH: relative to the
 * cgroup2 mount mnt, or absolute (a path under mnt as it is, else one
 * relative to it, as /proc/PID/cgroup writes it). 0 or -ENAMETOOLONG.
 */
int dp_cgroup__dir(const char *mnt, const char *path, char *dir, size_t len);

#endif
