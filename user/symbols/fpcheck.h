/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Does an object keep frame pointers? Frame-pointer unwinding stops early in
 * code built without them; the report names such objects. The answer comes
 * from the object's own functions: how many start with an x86-64 prologue
 * that sets up %rbp.
 */
#ifndef DP_FPCHECK_H
#define DP_FPCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dp_obj;

/* At most this many functions are read per object: enough for a ratio, cheap for libc. */
#define DP_FPCHECK_MAX_FUNCS 2000
/* Fewer functions than this say nothing about an object (the note asks for as many). */
#define DP_FPCHECK_MIN_FUNCS 8

/* The prologue test on a function's first len bytes (up to 48 are read, never past its end). */
bool dp_fpcheck__prologue(const uint8_t *buf, size_t len);
/* Fill o's fp_funcs and fp_with, once (o->fp_checked). */
void dp_fpcheck__object(struct dp_obj *o);

#endif
