// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <gelf.h>
#include <libiberty/demangle.h>
#include "uthash.h"
#include "usyms.h"

#define MAX_LOADS 16

struct obj {
	UT_hash_handle hh;
	char key[64];		/* dev:ino, or the path */
	char *path;
	const char *module;
	int fd;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	int nloads;
	GElf_Phdr loads[MAX_LOADS];
	const unsigned char *build_id;
	int build_id_len;
	int fp_checked, fp_funcs, fp_with;
};

struct map {
	uint64_t start, end, pgoff;
	struct obj *obj;	/* NULL: anonymous or special */
	const char *name;	/* "[vdso]", "[anon]", or the path */
};

struct jit_sym {
	uint64_t start, size;
	char *name;
};

struct proc {
	UT_hash_handle hh;
	uint32_t pid;
	struct map *maps;
	size_t nmaps, cap;
	int jit_loaded;
	struct jit_sym *jit;
	size_t njit;
};

struct dp_usyms {
	struct dp_usyms_opts opts;
	struct obj *objs;
	struct proc *procs;
	char **pool;
	size_t npool, cappool;
};

static const Dwfl_Callbacks dwfl_cbs = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

static const char *pool_keep(struct dp_usyms *u, char *s)
{
	if (!s)
		return NULL;
	if (u->npool == u->cappool) {
		size_t cap = u->cappool ? u->cappool * 2 : 1024;
		char **n = realloc(u->pool, cap * sizeof(*n));

		if (!n) {
			free(s);
			return NULL;
		}
		u->pool = n;
		u->cappool = cap;
	}
	u->pool[u->npool++] = s;
	return s;
}

char *dp_demangle(const char *name)
{
	if (!name || (strncmp(name, "_Z", 2) && strncmp(name, "_R", 2)))
		return NULL;
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}

struct dp_usyms *dp_usyms__new(const struct dp_usyms_opts *opts)
{
	struct dp_usyms *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->opts.proc_root = opts && opts->proc_root ? opts->proc_root : "/proc";
	u->opts.perfmap_dir = opts && opts->perfmap_dir ? opts->perfmap_dir : "/tmp";
	elf_version(EV_CURRENT);
	return u;
}

static void free_proc(struct proc *p)
{
	for (size_t i = 0; i < p->njit; i++)
		free(p->jit[i].name);
	free(p->jit);
	free(p->maps);
	free(p);
}

void dp_usyms__free(struct dp_usyms *u)
{
	struct obj *o, *ot;
	struct proc *p, *pt;

	if (!u)
		return;
	HASH_ITER(hh, u->objs, o, ot) {
		HASH_DEL(u->objs, o);
		if (o->dwfl)
			dwfl_end(o->dwfl);
		if (o->fd >= 0)
			close(o->fd);
		free(o->path);
		free(o);
	}
	HASH_ITER(hh, u->procs, p, pt) {
		HASH_DEL(u->procs, p);
		free_proc(p);
	}
	for (size_t i = 0; i < u->npool; i++)
		free(u->pool[i]);
	free(u->pool);
	free(u);
}

static struct proc *get_proc(struct dp_usyms *u, uint32_t pid, int create)
{
	struct proc *p;

	HASH_FIND(hh, u->procs, &pid, sizeof(pid), p);
	if (p || !create)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	HASH_ADD(hh, u->procs, pid, sizeof(pid), p);
	return p;
}

bool dp_usyms__known(struct dp_usyms *u, uint32_t pid)
{
	return get_proc(u, pid, 0) != NULL;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Open an object once: by the process's map_files link when possible. */
static struct obj *open_obj(struct dp_usyms *u, const char *key, const char *path,
			    const char *open_path)
{
	struct obj *o;
	GElf_Ehdr eh;
	Elf *elf;
	GElf_Addr bias;
	size_t nph;
	int fd;

	HASH_FIND_STR(u->objs, key, o);
	if (o)
		return o;
	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	snprintf(o->key, sizeof(o->key), "%s", key);
	o->path = strdup(path);
	o->fd = -1;
	if (!o->path) {
		free(o);
		return NULL;
	}
	o->module = base_name(o->path);
	HASH_ADD_STR(u->objs, key, o);	/* failures are cached too */

	fd = open(open_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return o;
	o->fd = fd;
	o->dwfl = dwfl_begin(&dwfl_cbs);
	if (!o->dwfl)
		return o;
	/* dwfl takes its own fd: keep ours for reading function bytes. */
	/* The real path, not map_files: debuglink files are looked for beside it. */
	o->mod = dwfl_report_elf(o->dwfl, o->module, o->path, dup(fd), 0, false);
	dwfl_report_end(o->dwfl, NULL, NULL);
	if (!o->mod)
		return o;
	elf = dwfl_module_getelf(o->mod, &bias);
	if (!elf || !gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &nph)) {
		o->mod = NULL;
		return o;
	}
	for (size_t i = 0; i < nph && o->nloads < MAX_LOADS; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			o->loads[o->nloads++] = ph;
	}
	{
		const unsigned char *bits;
		GElf_Addr vaddr;
		int n = dwfl_module_build_id(o->mod, &bits, &vaddr);

		if (n > 0) {
			o->build_id = bits;
			o->build_id_len = n;
		}
	}
	return o;
}

static int cmp_map(const void *a, const void *b)
{
	const struct map *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Insert or replace the mapping starting at m->start. */
static int put_map(struct proc *p, const struct map *m)
{
	for (size_t i = 0; i < p->nmaps; i++) {
		if (p->maps[i].start == m->start) {
			p->maps[i] = *m;
			return 0;
		}
	}
	if (p->nmaps == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct map *n = realloc(p->maps, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->maps = n;
		p->cap = cap;
	}
	p->maps[p->nmaps++] = *m;
	qsort(p->maps, p->nmaps, sizeof(*p->maps), cmp_map);
	return 0;
}

static const char *special_name(struct dp_usyms *u, const char *path)
{
	if (!path[0] || !strncmp(path, "//anon", 6))
		return "[anon]";
	if (path[0] == '[')
		return pool_keep(u, strdup(path));
	return NULL;
}

static int add_map(struct dp_usyms *u, struct proc *p, uint64_t start, uint64_t end,
		   uint64_t pgoff, const char *key, const char *path)
{
	char open_path[128];
	char clean[4096];
	struct map m = { .start = start, .end = end, .pgoff = pgoff };
	size_t n;

	m.name = special_name(u, path);
	if (!m.name) {
		/* A binary deleted or replaced on disk still opens by map_files. */
		snprintf(clean, sizeof(clean), "%s", path);
		n = strlen(clean);
		if (n > 10 && !strcmp(clean + n - 10, " (deleted)"))
			clean[n - 10] = 0;
		snprintf(open_path, sizeof(open_path), "%s/%u/map_files/%" PRIx64 "-%" PRIx64,
			 u->opts.proc_root, p->pid, start, end);
		m.obj = open_obj(u, key, clean, open_path);
		if (!m.obj)
			return -ENOMEM;
		m.name = m.obj->path;
	}
	return put_map(p, &m);
}

int dp_usyms__snapshot(struct dp_usyms *u, uint32_t pid)
{
	char path[256], line[4352], perms[8], dev[32], file[4096];
	unsigned long long start, end, off, ino;
	struct proc *p;
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s/%u/maps", u->opts.proc_root, pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	p = get_proc(u, pid, 1);
	if (!p) {
		fclose(f);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		char key[64];
		int n;

		file[0] = 0;
		n = sscanf(line, "%llx-%llx %7s %llx %31s %llu %4095[^\n]", &start, &end, perms,
			   &off, dev, &ino, file);
		if (n < 6) {
			err = -EINVAL;
			break;
		}
		if (!strchr(perms, 'x'))
			continue;
		{
			char *s = file;

			while (*s == ' ')
				s++;
			memmove(file, s, strlen(s) + 1);
		}
		if (ino)
			snprintf(key, sizeof(key), "%s:%llu", dev, ino);
		else
			snprintf(key, sizeof(key), "%.60s", file);
		err = add_map(u, p, start, end, off, key, file);
		if (err)
			break;
	}
	fclose(f);
	return err;
}

int dp_usyms__add_mmap(struct dp_usyms *u, uint32_t pid, uint64_t start, uint64_t len,
		       uint64_t pgoff, const char *filename)
{
	struct proc *p = get_proc(u, pid, 1);
	struct stat sb;
	char key[64];

	if (!p)
		return -ENOMEM;
	if (filename[0] == '/' && !stat(filename, &sb))
		snprintf(key, sizeof(key), "%02x:%02x:%llu", major(sb.st_dev), minor(sb.st_dev),
			 (unsigned long long)sb.st_ino);
	else
		snprintf(key, sizeof(key), "%.60s", filename);
	return add_map(u, p, start, start + len, pgoff, key, filename);
}

void dp_usyms__exec(struct dp_usyms *u, uint32_t pid)
{
	struct proc *p = get_proc(u, pid, 0);

	if (!p)
		return;
	HASH_DEL(u->procs, p);
	free_proc(p);
}

static const struct map *find_map(const struct proc *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < p->maps[mid].start)
			hi = mid;
		else if (addr >= p->maps[mid].end)
			lo = mid + 1;
		else
			return &p->maps[mid];
	}
	return NULL;
}

static int cmp_jit(const void *a, const void *b)
{
	const struct jit_sym *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* perf's JIT interface: lines of "START SIZE name" in hex. */
static void load_jit(struct dp_usyms *u, struct proc *p)
{
	char path[512], line[1024];
	FILE *f;

	p->jit_loaded = 1;
	snprintf(path, sizeof(path), "%s/perf-%u.map", u->opts.perfmap_dir, p->pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, z;
		int pos = 0;
		struct jit_sym *n;
		char *nl;

		if (sscanf(line, "%llx %llx %n", &s, &z, &pos) < 2 || !pos)
			continue;
		nl = strchr(line + pos, '\n');
		if (nl)
			*nl = 0;
		n = realloc(p->jit, (p->njit + 1) * sizeof(*n));
		if (!n)
			break;
		p->jit = n;
		p->jit[p->njit].start = s;
		p->jit[p->njit].size = z;
		p->jit[p->njit].name = strdup(line + pos);
		if (!p->jit[p->njit].name)
			break;
		p->njit++;
	}
	fclose(f);
	qsort(p->jit, p->njit, sizeof(*p->jit), cmp_jit);
}

static const struct jit_sym *find_jit(const struct proc *p, uint64_t addr)
{
	const struct jit_sym *best = NULL;
	size_t lo = 0, hi = p->njit;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (p->jit[mid].start <= addr) {
			best = &p->jit[mid];
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return best && addr < best->start + best->size ? best : NULL;
}

/* File virtual address of a runtime address in a mapping of obj. */
static int to_vaddr(const struct obj *o, const struct map *m, uint64_t addr, uint64_t *vaddr)
{
	uint64_t off = addr - m->start + m->pgoff;

	for (int i = 0; i < o->nloads; i++) {
		const GElf_Phdr *ph = &o->loads[i];

		if (off >= ph->p_offset && off < ph->p_offset + ph->p_memsz) {
			*vaddr = off - ph->p_offset + ph->p_vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

void dp_usyms__resolve(struct dp_usyms *u, uint32_t pid, uint64_t addr, bool want_src,
		       struct dp_usym *out)
{
	struct proc *p = get_proc(u, pid, 0);
	const struct map *m = p ? find_map(p, addr) : NULL;
	uint64_t vaddr;

	memset(out, 0, sizeof(*out));
	out->module = "[unmapped]";
	out->offset = addr;
	if (!m || !m->obj || !m->obj->mod) {
		const struct jit_sym *js;

		if (p && !p->jit_loaded)
			load_jit(u, p);
		js = p ? find_jit(p, addr) : NULL;
		if (js) {
			out->name = js->name;
			out->module = "[jit]";
			out->sym_offset = addr - js->start;
			return;
		}
		if (m && m->obj) {
			out->module = m->obj->module;
			out->path = m->obj->path;
			out->offset = addr - m->start + m->pgoff;
		} else if (m) {
			out->module = m->name;
			out->offset = addr - m->start;
		}
		return;
	}
	out->module = m->obj->module;
	out->path = m->obj->path;
	out->build_id = m->obj->build_id;
	out->build_id_len = m->obj->build_id_len;
	out->offset = addr - m->start + m->pgoff;
	if (to_vaddr(m->obj, m, addr, &vaddr))
		return;
	out->offset = vaddr;
	{
		GElf_Off soff = 0;
		GElf_Sym sym;
		const char *name = dwfl_module_addrinfo(m->obj->mod, vaddr, &soff, &sym, NULL, NULL,
							NULL);
		if (name) {
			const char *dem = pool_keep(u, dp_demangle(name));

			out->name = dem ? dem : name;
			out->sym_offset = soff;
		}
	}
	if (want_src) {
		Dwfl_Line *line = dwfl_module_getsrc(m->obj->mod, vaddr);
		int lineno = 0;

		if (line) {
			out->src_file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
			out->src_line = lineno;
		}
	}
}

/* Does the function at file address vaddr set up a frame pointer? */
static int has_fp_prologue(const struct obj *o, uint64_t vaddr)
{
	static const unsigned char mov[] = { 0x48, 0x89, 0xe5 };	/* mov %rsp,%rbp */
	unsigned char buf[24];

	for (int i = 0; i < o->nloads; i++) {
		const GElf_Phdr *ph = &o->loads[i];

		if (vaddr >= ph->p_vaddr && vaddr < ph->p_vaddr + ph->p_filesz) {
			off_t off = (off_t)(vaddr - ph->p_vaddr + ph->p_offset);

			if (pread(o->fd, buf, sizeof(buf), off) != (ssize_t)sizeof(buf))
				return -1;
			/* push %rbp, then mov %rsp,%rbp: compilers may schedule others between. */
			const unsigned char *push = memchr(buf, 0x55, 8);

			return push && memmem(push + 1, sizeof(buf) - (size_t)(push + 1 - buf), mov,
					      sizeof(mov)) != NULL;
		}
	}
	return -1;
}

static void check_fp(struct obj *o)
{
	int n;

	o->fp_checked = 1;
	if (!o->mod || o->fd < 0)
		return;
	n = dwfl_module_getsymtab(o->mod);
	for (int i = 1; i < n && o->fp_funcs < 2000; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		int r;

		if (!dwfl_module_getsym_info(o->mod, i, &sym, &addr, NULL, NULL, NULL))
			continue;
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_size < 16 || !sym.st_value)
			continue;
		r = has_fp_prologue(o, sym.st_value);
		if (r < 0)
			continue;
		o->fp_funcs++;
		o->fp_with += r;
	}
}

int dp_usyms__fp_info(struct dp_usyms *u, uint32_t pid, uint64_t addr,
		      struct dp_uobj_info *out)
{
	struct proc *p = get_proc(u, pid, 0);
	const struct map *m = p ? find_map(p, addr) : NULL;

	memset(out, 0, sizeof(*out));
	if (!m || !m->obj)
		return -ENOENT;
	if (!m->obj->fp_checked)
		check_fp(m->obj);
	out->path = m->obj->path;
	out->module = m->obj->module;
	out->funcs_checked = m->obj->fp_funcs;
	out->funcs_with_fp = m->obj->fp_with;
	return 0;
}

/* The DWARF file name of index idx in the CU's file table. */
static const char *cu_file(Dwarf_Die *cu, Dwarf_Word idx)
{
	Dwarf_Files *files;
	size_t nfiles;

	if (dwarf_getsrcfiles(cu, &files, &nfiles) || idx >= nfiles)
		return NULL;
	return dwarf_filesrc(files, idx, NULL, NULL);
}

int dp_usyms__inlines(struct dp_usyms *u, uint32_t pid, uint64_t addr,
		      struct dp_uinline *out, int max)
{
	struct proc *p = get_proc(u, pid, 0);
	const struct map *m = p ? find_map(p, addr) : NULL;
	Dwarf_Die *cu, *scopes = NULL;
	Dwarf_Addr bias = 0;
	uint64_t vaddr;
	int n, k = 0;

	if (!m || !m->obj || !m->obj->mod || to_vaddr(m->obj, m, addr, &vaddr))
		return 0;
	cu = dwfl_module_addrdie(m->obj->mod, vaddr, &bias);
	if (!cu)
		return 0;
	n = dwarf_getscopes(cu, vaddr - bias, &scopes);
	/* Innermost scope first; the enclosing real function ends the chain. */
	for (int i = 0; i < n && k < max; i++) {
		int tag = dwarf_tag(&scopes[i]);
		Dwarf_Attribute attr;
		Dwarf_Word w;

		if (tag == DW_TAG_subprogram)
			break;
		if (tag != DW_TAG_inlined_subroutine)
			continue;
		out[k].name = dwarf_diename(&scopes[i]);
		if (!out[k].name)
			out[k].name = "[inlined]";
		out[k].call_file = NULL;
		out[k].call_line = 0;
		if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &w) == 0)
			out[k].call_file = cu_file(cu, w);
		if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &w) == 0)
			out[k].call_line = (int)w;
		k++;
	}
	free(scopes);
	return k;
}
