/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Typed views of perf ring-buffer records. Parsing is pure: bytes in, a
 * struct pointing into those bytes out. Every length is checked against the
 * record's size; a malformed record is an error, never a crash.
 */
#ifndef DP_RECORD_H
#define DP_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The sample_type every deferprof event uses. sample_id_all puts these fields
 * after every record too: TID alone, since nothing reads a record's time or
 * CPU (rounds order the join), so each deferred record is 16 bytes shorter.
 */
#define DP_SAMPLE_TYPE (PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN)

struct dp_sample_id {
	bool valid;
	uint32_t pid, tid;
	uint64_t time;
	uint32_t cpu;
};

struct dp_record {
	uint32_t type;
	uint16_t misc;
	uint16_t size;
	struct dp_sample_id id;
	union {
		struct {
			uint64_t nr;
			const uint64_t *ips;	/* unaligned-safe: copied by callers */
		} sample;
		struct {
			uint64_t cookie;
			uint64_t nr;
			const uint64_t *ips;
		} deferred;
		struct {
			uint64_t id;
			uint64_t lost;
		} lost;
		struct {
			uint32_t pid, tid;
			uint64_t start, len, pgoff;
			uint32_t prot, flags;
			uint8_t build_id_size;
			const uint8_t *build_id;	/* when misc has MMAP_BUILD_ID */
			/* the file's device and inode, when the record has no build-id */
			uint32_t maj, min;
			uint64_t ino, ino_generation;
			const char *filename;
		} mmap;
		struct {
			uint32_t pid, tid;
			const char *comm;
			bool exec;
		} comm;
		struct {
			uint32_t pid, ppid, tid, ptid;
			uint64_t time;
		} task;	/* FORK and EXIT */
	};
};

/*
 * Parse one record of len bytes (len == header.size). sample_type is the
 * events' sample_type; sample_id_all is assumed. Returns 0, -EINVAL for a
 * malformed record, or -ENOENT for a type deferprof does not use. After
 * an error rec is undefined (it may be partly written): read nothing in it.
 */
int dp_record__parse(const void *buf, size_t len, uint64_t sample_type, struct dp_record *rec);

/* The three forms a sample's callchain takes (and kernel-only). */
enum dp_chain_form {
	DP_CHAIN_KERNEL_ONLY,	/* [KERNEL, k...]: kernel thread, or user part not wanted */
	DP_CHAIN_CLASSIC,	/* [KERNEL, k...,] USER, u... */
	DP_CHAIN_DEFERRED,	/* [KERNEL, k...,] USER_DEFERRED, cookie */
};

struct dp_chain {
	enum dp_chain_form form;
	const uint64_t *kips;
	uint32_t knr;
	const uint64_t *uips;
	uint32_t unr;
	uint64_t cookie;
};

/* Split a raw callchain. Returns 0, or -EINVAL when markers are out of order. */
int dp_chain__split(const uint64_t *ips, uint64_t nr, struct dp_chain *out);

#endif
