// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <zlib.h>
#include "objects.h"
#include "safeopen.h"

/* The CRC-32 of fd's whole content (what a .gnu_debuglink records), or -1. */
static int64_t file_crc(int fd)
{
	unsigned char buf[65536];
	uLong crc = crc32(0, Z_NULL, 0);
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		crc = crc32(crc, buf, (uInt)n);
	}
	return (int64_t)(crc & 0xffffffffu);
}

/* On this machine: by build-id under /usr/lib/debug, then by debuglink. */
static int find_local_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
				Dwarf_Addr base, const char *file_name, const char *debuglink,
				GElf_Word crc, char **debuginfo_file_name)
{
	static const char *const forms[] = { "%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s" };
	const char *slash;
	int fd;

	fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink,
					  crc, debuginfo_file_name);
	if (fd >= 0 || !file_name || !debuglink || !debuglink[0] || strchr(debuglink, '/'))
		return fd >= 0 ? fd : -1;
	slash = strrchr(file_name, '/');
	if (!slash)
		return -1;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char *path = NULL;

		if (asprintf(&path, forms[i], (int)(slash - file_name), file_name, debuglink) < 0)
			return -1;
		fd = dp_safe_open(path, NULL, NULL);
		if (fd >= 0 && file_crc(fd) == (int64_t)crc && lseek(fd, 0, SEEK_SET) == 0) {
			*debuginfo_file_name = path;
			return fd;
		}
		if (fd >= 0)
			close(fd);
		free(path);
	}
	return -1;
}

/*
 * Separate debug files. By build-id: under /usr/lib/debug, root's. By
 * debuglink: the name comes from the binary and the places from the
 * binary's directory, both the target's to choose, so each candidate is
 * opened by dp_safe_open (no symlink, no FIFO or device: libdwfl's own
 * search would block on a FIFO, retrying through signals) and kept only if
 * its CRC is the one the link records. No ".debug" guess without a link.
 * Last, debuginfod by build-id (dbgfetch: only with DEBUGINFOD_URLS), for
 * the object's own debug file only: once one was given, or when the object
 * holds its own DWARF, a later call is for a dwz alternate file
 * (.gnu_debugaltlink), which its main debug file's build-id would not name.
 */
static int find_debuginfo_safe(Dwfl_Module *mod, void **userdata, const char *modname,
			       Dwarf_Addr base, const char *file_name, const char *debuglink,
			       GElf_Word crc, char **debuginfo_file_name)
{
	struct dp_obj *o = *userdata;
	int fd;

	fd = find_local_debuginfo(mod, userdata, modname, base, file_name, debuglink, crc,
				  debuginfo_file_name);
	/* Not for the vDSO ("[vdso]"): its dynamic symbols name it, no request needed every run. */
	if (fd < 0 && o && o->fetch && o->build_id_len > 0 && !o->own_dwarf && !o->debug_found &&
	    o->path[0] != '[') {
		fd = dp_dbgfetch__find(o->fetch, o->build_id, o->build_id_len, debuginfo_file_name);
		if (fd < 0)
			fd = -1;
	}
	if (fd >= 0 && o)
		o->debug_found = true;
	return fd;
}

static const Dwfl_Callbacks dwfl_cbs = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = find_debuginfo_safe,
	.section_address = dwfl_offline_section_address,
};

/*
 * The object's file: the process's map_files link (the kernel's own handle
 * on what is mapped, so followed), else the path. Either way a regular file,
 * opened without blocking; the path's last component is not followed. Any
 * owner: many users map the same library.
 */
static int open_object(const char *open_path, const char *path)
{
	int fd = -1;

	if (open_path) {
		fd = open(open_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd >= 0 && dp_safe_check_fd(fd, NULL, NULL)) {
			close(fd);
			return -1;	/* a device or shared memory: nothing to read as ELF */
		}
	}
	return fd >= 0 ? fd : dp_safe_open(path, NULL, NULL);
}

/* The key of id, malloc'd: never a prefix, so two paths cannot collide. */
static char *make_key(const struct dp_obj_id *id)
{
	char *key = NULL;
	int n;

	if (id->ino) {
		n = asprintf(&key, "i:%" PRIx32 ":%" PRIx32 ":%" PRIu64, id->maj, id->min, id->ino);
	} else if (id->build_id_len > 0) {
		key = malloc(2 + 2 * (size_t)id->build_id_len + 1);
		if (!key)
			return NULL;
		memcpy(key, "b:", 2);
		for (int i = 0; i < id->build_id_len; i++)
			snprintf(key + 2 + 2 * i, 3, "%02x", id->build_id[i]);
		return key;
	} else {
		n = asprintf(&key, "p:%s", id->path);
	}
	return n < 0 ? NULL : key;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Whether elf holds its own .debug_info (by section name: nothing is read or decompressed). */
static bool has_debug_info(Elf *elf)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS &&
		    (name = elf_strptr(elf, shstrndx, sh.sh_name)) && !strcmp(name, ".debug_info"))
			return true;
	}
	return false;
}

/* Read the ELF side of o from fd (which o then owns). Failures leave o->mod NULL. */
static int read_elf(struct dp_objs *t, struct dp_obj *o, int fd)
{
	const unsigned char *bits;
	GElf_Addr bias, bid_vaddr;
	struct dp_obj *other;
	size_t nph;
	GElf_Ehdr eh;
	void **userdata;
	Elf *elf;
	int dwfl_fd, n;

	o->fd = fd;
	o->fetch = &t->fetch;
	o->dwfl = dwfl_begin(&dwfl_cbs);
	if (!o->dwfl)
		return 0;
	/* dwfl takes its own fd: ours stays for reading function bytes. */
	dwfl_fd = dup(fd);
	if (dwfl_fd < 0)
		return 0;
	/* The real path, not map_files: debuglink files are looked for beside it. */
	o->mod = dwfl_report_elf(o->dwfl, o->module, o->path, dwfl_fd, 0, false);
	if (!o->mod)
		close(dwfl_fd);
	else if (dwfl_module_info(o->mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL))
		*userdata = o;	/* for find_debuginfo_safe */
	if (dwfl_report_end(o->dwfl, NULL, NULL) || !o->mod) {
		o->mod = NULL;
		return 0;
	}
	elf = dwfl_module_getelf(o->mod, &bias);
	if (!elf || !gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &nph)) {
		o->mod = NULL;
		return 0;
	}
	o->loads = calloc(nph ? nph : 1, sizeof(*o->loads));
	if (!o->loads)
		return -ENOMEM;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			o->loads[o->nloads++] = ph;
	}
	o->own_dwarf = has_debug_info(elf);
	n = dwfl_module_build_id(o->mod, &bits, &bid_vaddr);
	if (n > 0) {
		o->build_id = bits;
		o->build_id_len = n;
		/* The first object with a build-id answers for it. */
		HASH_FIND(hh_bid, t->by_bid, bits, (unsigned)n, other);
		if (!other) {
			HASH_ADD_KEYPTR(hh_bid, t->by_bid, o->build_id, (unsigned)n, o);
			if (dp_hash_failed())
				return -ENOMEM;
			o->bid_indexed = true;
		}
	}
	return 0;
}

static void free_obj(struct dp_obj *o)
{
	if (o->dwfl)
		dwfl_end(o->dwfl);
	if (o->fd >= 0)
		close(o->fd);
	free(o->loads);
	dp_cfifuncs__free(&o->cfi_funcs);
	dp_plt__free(&o->plt);
	free(o->key);
	free(o->path);
	free(o);
}

struct dp_obj *dp_objs__get(struct dp_objs *t, const struct dp_obj_id *id, const char *open_path)
{
	struct dp_obj *o;
	char *key;
	int fd;

	/* A build-id names the content, wherever and however it was opened. */
	if (id->build_id_len > 0) {
		HASH_FIND(hh_bid, t->by_bid, id->build_id, (unsigned)id->build_id_len, o);
		if (o)
			return o;
	}
	key = make_key(id);
	if (!key)
		return NULL;
	HASH_FIND_STR(t->by_key, key, o);
	if (o) {
		free(key);
		return o;
	}
	o = calloc(1, sizeof(*o));
	if (!o) {
		free(key);
		return NULL;
	}
	o->key = key;
	o->fd = -1;
	o->path = strdup(id->path);
	if (!o->path) {
		free_obj(o);
		return NULL;
	}
	o->module = base_name(o->path);
	fd = open_object(open_path, o->path);
	if (fd >= 0 && read_elf(t, o, fd)) {
		if (o->bid_indexed)
			HASH_DELETE(hh_bid, t->by_bid, o);
		free_obj(o);
		return NULL;
	}
	HASH_ADD_KEYPTR(hh, t->by_key, o->key, strlen(o->key), o);	/* failures are kept too */
	if (dp_hash_failed()) {
		if (o->bid_indexed)
			HASH_DELETE(hh_bid, t->by_bid, o);
		free_obj(o);
		return NULL;
	}
	t->n++;
	return o;
}

void dp_objs__free(struct dp_objs *t)
{
	struct dp_obj *o, *tmp;

	HASH_CLEAR(hh_bid, t->by_bid);
	HASH_ITER(hh, t->by_key, o, tmp) {
		HASH_DEL(t->by_key, o);
		free_obj(o);
	}
	dp_dbgfetch__free(&t->fetch);
	t->n = 0;
}

int dp_obj__vaddr(const struct dp_obj *o, uint64_t off, uint64_t *vaddr)
{
	for (size_t i = 0; i < o->nloads; i++) {
		const GElf_Phdr *ph = &o->loads[i];

		if (off >= ph->p_offset && off < ph->p_offset + ph->p_memsz) {
			*vaddr = off - ph->p_offset + ph->p_vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

const char *dp_obj__func(const struct dp_obj *o, uint64_t vaddr, uint64_t *sym_offset)
{
	GElf_Off soff = 0;
	GElf_Sym sym;
	const char *name;

	if (!o->mod)
		return NULL;
	name = dwfl_module_addrinfo(o->mod, vaddr, &soff, &sym, NULL, NULL, NULL);
	if (name)
		*sym_offset = soff;
	return name;
}

const char *dp_obj__plt(struct dp_obj *o, uint64_t vaddr, uint64_t *offset)
{
	Dwarf_Addr bias;
	Elf *elf;

	if (!o->plt_read && o->mod) {
		o->plt_read = 1;
		elf = dwfl_module_getelf(o->mod, &bias);
		if (elf && dp_plt__load(&o->plt, elf))
			dp_plt__free(&o->plt);	/* out of memory: the stubs stay unnamed */
	}
	return dp_plt__find(&o->plt, vaddr, offset);
}

const struct dp_cfifuncs *dp_obj__cfi_funcs(struct dp_obj *o)
{
	Dwarf_Addr bias;
	Elf *elf;

	if (!o->cfi_funcs_read && o->mod) {
		o->cfi_funcs_read = 1;
		elf = dwfl_module_getelf(o->mod, &bias);
		if (elf)
			dp_cfifuncs__load(&o->cfi_funcs, elf);
	}
	return &o->cfi_funcs;
}

int dp_obj__cfi_func(struct dp_obj *o, uint64_t vaddr, uint64_t *start)
{
	const struct dp_cfifuncs *funcs = dp_obj__cfi_funcs(o);
	Dwarf_Frame *fr = NULL;
	Dwarf_Addr bias;
	Dwarf_CFI *cfi;

	if (!o->mod || !funcs->n)
		return -ENOENT;
	/* Inside an FDE (not in a gap between them): the nearest start is its own. */
	cfi = dwfl_module_eh_cfi(o->mod, &bias);
	if (!cfi || vaddr < bias || dwarf_cfi_addrframe(cfi, vaddr - bias, &fr))
		return -ENOENT;
	free(fr);
	return dp_cfifuncs__find(funcs, vaddr, start);
}

int dp_obj__src(const struct dp_obj *o, uint64_t vaddr, const char **file, int *line)
{
	Dwfl_Line *l = o->mod ? dwfl_module_getsrc(o->mod, vaddr) : NULL;
	int lineno = 0;

	if (!l)
		return -ENOENT;
	*file = dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL);
	*line = lineno;
	return *file ? 0 : -ENOENT;
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

int dp_obj__inlines(const struct dp_obj *o, uint64_t vaddr, struct dp_uinline *out, int max)
{
	Dwarf_Die *cu, *scopes = NULL;
	Dwarf_Addr bias = 0;
	int n, k = 0;

	/*
	 * Inlined functions are frames in every format, so they come only from
	 * debug info in the object itself: a separate debug file (libc6-dbg's)
	 * would be decompressed whole into memory for them (14 MiB for libc).
	 */
	if (!o->mod || !o->own_dwarf)
		return 0;
	cu = dwfl_module_addrdie(o->mod, vaddr, &bias);
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
