/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
#ifndef DP_VERSION_H
#define DP_VERSION_H

#define DP_VERSION "0.1.0"
/* deferprof's JSON documents (user/output/schema/deferprof.schema.json). */
#define DP_SCHEMA_VERSION 1

#endif
