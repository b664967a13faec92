// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ksyms.h"
#include "u64sort.h"

/*
 * Names are copied into chunks of STR_CHUNK bytes, one after the other:
 * a malloc per name would cost its header and rounding on 100,000 and
 * more of them.
 */
#define STR_CHUNK	65536

struct str_chunk {
	struct str_chunk *next;
	size_t used, cap;
	char s[];
};

struct dp_ksyms {
	struct dp_ksym *syms;
	size_t n, cap;
	struct str_chunk *strs;	/* interned names and module names, newest first */
	int hidden;
};

static const char *keep(struct dp_ksyms *ks, const char *s)
{
	size_t len = strlen(s) + 1;
	struct str_chunk *c = ks->strs;
	char *d;

	if (!c || c->cap - c->used < len) {
		size_t cap = len > STR_CHUNK ? len : STR_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = ks->strs;
		c->used = 0;
		c->cap = cap;
		ks->strs = c;
	}
	d = c->s + c->used;
	memcpy(d, s, len);
	c->used += len;
	return d;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct dp_ksym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name);
}

void dp_ksyms__free(struct dp_ksyms *ks)
{
	if (!ks)
		return;
	while (ks->strs) {
		struct str_chunk *c = ks->strs;

		ks->strs = c->next;
		free(c);
	}
	free(ks->syms);
	free(ks);
}

/*
 * One kallsyms line: "ADDR TYPE NAME" and, for a module's symbol, "\t[MODULE]".
 * Splits line in place. Returns 0 or -EINVAL.
 */
static int parse_line(char *line, unsigned long long *addr, char *type, char **name, char **mod)
{
	char *p, *end;

	errno = 0;
	*addr = strtoull(line, &end, 16);
	if (errno || end == line || (*end != ' ' && *end != '\t'))
		return -EINVAL;
	p = end + strspn(end, " \t");
	if (!*p || !strchr(" \t", p[1]))
		return -EINVAL;
	*type = *p;
	p += 1 + strspn(p + 1, " \t");
	*name = p;
	p += strcspn(p, " \t\n");
	if (p == *name)
		return -EINVAL;
	*mod = NULL;
	if (*p) {
		*p++ = 0;
		p += strspn(p, " \t");
		if (*p == '[') {
			*mod = p + 1;
			end = strchr(*mod, ']');
			if (!end || end == *mod)
				return -EINVAL;
			*end = 0;
		}
	}
	return 0;
}

/* Whether addr is in the sorted want[0..n). */
static bool wanted(const uint64_t *want, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (want[mid] == addr)
			return true;
		if (want[mid] < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool is_text(char type)
{
	/* Text symbols only: data addresses never appear in a callchain. */
	return type == 't' || type == 'T' || type == 'w' || type == 'W';
}

/* The text symbols of path, or (want) only those at an address in want[0..nwant). */
static struct dp_ksyms *load(const char *path, const uint64_t *want, size_t nwant)
{
	struct dp_ksyms *ks;
	const char *last_mod = NULL;
	unsigned long long addr;
	char *line = NULL, *name, *mod;
	size_t linecap = 0;
	FILE *f;
	char type;
	int err = 0, nonzero = 0;

	f = fopen(path, "re");
	if (!f)
		return NULL;
	ks = calloc(1, sizeof(*ks));
	if (!ks) {
		fclose(f);
		errno = ENOMEM;
		return NULL;
	}
	/* getline: no name is cut at a buffer's end and read again as a line. */
	while (getline(&line, &linecap, f) > 0) {
		struct dp_ksym *s;

		if (parse_line(line, &addr, &type, &name, &mod)) {
			err = EINVAL;
			break;
		}
		if (!is_text(type))
			continue;
		if (addr)
			nonzero = 1;
		if (want && !wanted(want, nwant, addr))
			continue;
		if (ks->n == ks->cap) {
			size_t cap = ks->cap ? ks->cap * 2 : 65536;
			struct dp_ksym *ns = realloc(ks->syms, cap * sizeof(*ns));

			if (!ns) {
				err = ENOMEM;
				break;
			}
			ks->syms = ns;
			ks->cap = cap;
		}
		s = &ks->syms[ks->n];
		s->addr = addr;
		s->name = keep(ks, name);
		s->module = NULL;
		if (mod) {
			if (!last_mod || strcmp(last_mod, mod))
				last_mod = keep(ks, mod);
			s->module = last_mod;
		}
		if (!s->name || (mod && !s->module)) {
			err = ENOMEM;
			break;
		}
		ks->n++;
	}
	/* getline's -1 is the end of the file or an error (ENOMEM, EIO). */
	if (!err && !feof(f))
		err = errno ? errno : EIO;
	free(line);
	fclose(f);
	if (err) {
		dp_ksyms__free(ks);
		errno = err;
		return NULL;
	}
	ks->hidden = ks->n && !nonzero;
	if (ks->n)	/* syms is NULL for a file with no text symbol */
		qsort(ks->syms, ks->n, sizeof(*ks->syms), cmp_addr);
	return ks;
}

struct dp_ksyms *dp_ksyms__load(const char *path)
{
	return load(path, NULL, 0);
}

/* Every text symbol's address, sorted and unique, into *out; 0 or -errno. */
static int text_addrs(const char *path, uint64_t **out, size_t *n)
{
	unsigned long long addr;
	char *line = NULL, *name, *mod;
	size_t linecap = 0, len = 0, cap = 0;
	uint64_t *a = NULL;
	char type;
	int err = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (getline(&line, &linecap, f) > 0) {
		if (parse_line(line, &addr, &type, &name, &mod)) {
			err = -EINVAL;
			break;
		}
		if (!is_text(type))
			continue;
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 65536;
			uint64_t *na = realloc(a, nc * sizeof(*na));

			if (!na) {
				err = -ENOMEM;
				break;
			}
			a = na;
			cap = nc;
		}
		a[len++] = addr;
	}
	if (!err && !feof(f))
		err = errno ? -errno : -EIO;
	free(line);
	fclose(f);
	if (err) {
		free(a);
		return err;
	}
	*out = a;
	*n = dp_sort_unique_u64(a, len);
	return 0;
}

struct dp_ksyms *dp_ksyms__load_for(const char *path, const uint64_t *addrs, size_t n)
{
	uint64_t *all = NULL, *want;
	size_t nall = 0, nwant = 0;
	struct dp_ksyms *ks;
	int err = text_addrs(path, &all, &nall);

	if (err) {
		errno = -err;
		return NULL;
	}
	/* All zero (kptr_restrict): the whole file, which says it is hidden. */
	if (nall == 1 && all[0] == 0) {
		free(all);
		return load(path, NULL, 0);
	}
	want = malloc((n ? n : 1) * sizeof(*want));
	if (!want) {
		free(all);
		errno = ENOMEM;
		return NULL;
	}
	/* For each address, the last symbol address at or below it (addrs are sorted). */
	for (size_t i = 0, j = 0; i < n; i++) {
		while (j < nall && all[j] <= addrs[i])
			j++;
		if (j && (!nwant || want[nwant - 1] != all[j - 1]))
			want[nwant++] = all[j - 1];
	}
	free(all);
	ks = load(path, want, nwant);
	free(want);
	return ks;
}

const struct dp_ksym *dp_ksyms__find(const struct dp_ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi = ks->n;

	if (ks->hidden || !ks->n || addr < ks->syms[0].addr)
		return NULL;
	/* Last symbol whose address is <= addr. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid;
		else
			hi = mid;
	}
	return &ks->syms[lo];
}

uint64_t dp_ksyms__count(const struct dp_ksyms *ks)
{
	return ks->n;
}

int dp_ksyms__hidden(const struct dp_ksyms *ks)
{
	return ks->hidden;
}
