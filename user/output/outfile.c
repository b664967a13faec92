// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "outfile.h"

int dp_outfile__open(struct dp_outfile *of, const char *path)
{
	int fd;

	memset(of, 0, sizeof(*of));
	if (!path) {
		of->f = stdout;
		return 0;
	}
	{
		struct stat st;

		/*
		 * A device or a FIFO (/dev/null, /dev/stdout, a pipe) is written as it
		 * is: renaming a file over it would replace the device.
		 */
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			fd = open(path, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || !(of->f = fdopen(fd, "w"))) {
				int err = errno;

				if (fd >= 0)
					close(fd);
				fprintf(stderr, "deferprof: cannot write %s: %s\n", path, strerror(err));
				return -err;
			}
			of->final = path;
			of->direct = true;
			return 0;
		}
	}
	if (asprintf(&of->tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkstemp(of->tmp);
	if (fd < 0) {
		int err = errno;

		fprintf(stderr, "deferprof: cannot write %s: %s\n", path, strerror(err));
		free(of->tmp);
		of->tmp = NULL;
		return -err;
	}
	fchmod(fd, 0644);
	of->f = fdopen(fd, "w");
	if (!of->f) {
		close(fd);
		unlink(of->tmp);
		return -errno;
	}
	of->final = path;
	return 0;
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
			fprintf(stderr, "deferprof: cannot write %s: %s\n", of->final, strerror(-err));
		return err;
	}
	if (!of->tmp)
		return fflush(stdout) ? -errno : 0;
	if (fflush(of->f) || fsync(fileno(of->f)))
		err = -errno;
	if (fclose(of->f) && !err)
		err = -errno;
	if (!err && keep && rename(of->tmp, of->final))
		err = -errno;
	if (err || !keep)
		unlink(of->tmp);
	if (err)
		fprintf(stderr, "deferprof: cannot write %s: %s\n", of->final, strerror(-err));
	free(of->tmp);
	return err;
}

