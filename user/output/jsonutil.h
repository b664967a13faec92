/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* json-c helpers shared by the json, ndjson and speedscope writers (json.c). */
#ifndef DP_JSONUTIL_H
#define DP_JSONUTIL_H

#include <stdio.h>
#include <json-c/json.h>

/* A string value, made valid UTF-8 first (NULL stays NULL: json null). */
json_object *dp_json__str(const char *s);
/* Write one value compactly and free it; -ENOMEM when it could not be built. */
int dp_json__put(FILE *f, json_object *o);

#endif
