/*
 * Shared by the libFuzzer harnesses (make fuzz, make fuzz-replay): reading
 * the fuzzer's bytes, and files holding them for the APIs that take a path.
 */
#ifndef DP_FUZZ_H
#define DP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fuzzer's bytes, taken from the front. */
struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint64_t fz_take(struct fz *f, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes && f->n; i++, f->p++, f->n--)
		v |= (uint64_t)*f->p << (8 * i);
	return v;
}

/* A fresh memory file holding data: its /proc/self/fd path in path; the fd, or -1. */
static inline int fz_memfile(const uint8_t *data, size_t size, char *path, size_t len)
{
	int fd = memfd_create("dp-fuzz", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	lseek(fd, 0, SEEK_SET);
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

/* A regular file in /tmp holding data (for readers that refuse links). */
static inline int fz_tmpfile(const uint8_t *data, size_t size, char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "/tmp/dp-fuzz-%d.map", (int)getpid());
	f = fopen(path, "w");
	if (!f)
		return -1;
	if (size && fwrite(data, 1, size, f) != size) {
		fclose(f);
		return -1;
	}
	return fclose(f) ? -1 : 0;
}

/* A check the harness makes: a failure is a finding, like a crash. */
#define FZ_CHECK(cond) do {							\
	if (!(cond)) {								\
		fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
		abort();							\
	}									\
} while (0)

#endif
