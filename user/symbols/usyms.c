// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <linux/types.h>
#include "deferprof.h"
#include "addrspace.h"
#include "demangle.h"
#include "fpcheck.h"
#include "leafrepair.h"
#include "objects.h"
#include "usyms.h"

/* Entries of each leaf repair memo (a power of two). */
#define DP_LEAF_MEMO	256

struct dp_usyms {
	struct dp_usyms_opts opts;
	struct dp_objs objs;
	struct dp_aspaces spaces;
	char **pool;		/* demangled names and special region names */
	size_t npool, cappool;
	struct dp_leafrepair *leaf;	/* the leaf repair's cache, made on first use */
	/*
	 * The leaf repair's answers per (space, address), asked with every
	 * capture: valid while epoch, bumped at every change of any process's
	 * mappings (an add that changed something, an exec, a fork), is
	 * unchanged; generations would not do (new mappings where nothing was
	 * start none).
	 */
	uint64_t epoch;
	struct leaf_memo {
		uint64_t space, addr, epoch;
		int32_t value;		/* the slot at an IP; 1/0 at a return address */
	} slot_memo[DP_LEAF_MEMO], ret_memo[DP_LEAF_MEMO];
	uint64_t new_generations;	/* in any process: none, and every stack's is 0 */
	struct dp_obj *vdso;		/* the kernel's vDSO image (deferprof's own copy), or NULL */
	uint64_t vdso_size;
	bool vdso_tried;
};

/* Keep s (malloc'd) until the end; NULL when s is NULL or out of memory. */
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

struct dp_usyms *dp_usyms__new(const struct dp_usyms_opts *opts)
{
	struct dp_usyms *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->epoch = 1;	/* a zeroed memo entry is never valid */
	u->opts.proc_root = opts && opts->proc_root ? opts->proc_root : "/proc";
	u->opts.perfmap_dir = opts && opts->perfmap_dir ? opts->perfmap_dir : "/tmp";
	elf_version(EV_CURRENT);
	return u;
}

void dp_usyms__free(struct dp_usyms *u)
{
	if (!u)
		return;
	dp_leafrepair__free(u->leaf);
	dp_aspaces__free(&u->spaces);
	dp_objs__free(&u->objs);
	for (size_t i = 0; i < u->npool; i++)
		free(u->pool[i]);
	free(u->pool);
	free(u);
}

bool dp_usyms__known(struct dp_usyms *u, uint32_t pid)
{
	const struct dp_aspace *as = dp_aspaces__get(&u->spaces, pid, false);

	return as && (as->snap != DP_SNAP_NONE || as->snap_tries >= DP_USYMS_SNAPSHOT_TRIES);
}

size_t dp_usyms__objects(const struct dp_usyms *u)
{
	return u->objs.n;
}

/* "[anon]" for anonymous memory, the name of [vdso] and the like, NULL for a file. */
static int special_name(struct dp_usyms *u, const char *path, const char **name)
{
	*name = NULL;
	if (!path[0] || !strncmp(path, "//anon", 6)) {
		*name = "[anon]";
	} else if (path[0] == '[') {
		static const char *const known[] = { "[vdso]", "[vsyscall]", "[uprobes]" };

		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (!strcmp(path, known[i]))
				*name = known[i];	/* not kept again at each snapshot */
		if (!*name && !(*name = pool_keep(u, strdup(path))))
			return -ENOMEM;
	}
	return 0;
}

/* The size of deferprof's own [vdso] mapping, from /proc/self/maps; 0 if none. */
static uint64_t own_vdso_size(void)
{
	unsigned long long start, end;
	char line[512];
	uint64_t size = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vdso]") && sscanf(line, "%llx-%llx", &start, &end) == 2)
			size = end - start;
	fclose(f);
	return size;
}

/*
 * The vDSO's code, named like any object's: the kernel maps the same image
 * into every 64-bit process, deferprof's own included (AT_SYSINFO_EHDR), so
 * that copy is read once into a memfd that libdwfl opens like a file
 * (perf reads it from memory too). A [vdso] mapping of another size (a
 * 32-bit process's) gets none.
 */
static struct dp_obj *vdso_obj(struct dp_usyms *u, uint64_t size)
{
	const void *base = (const void *)getauxval(AT_SYSINFO_EHDR);
	struct dp_obj_id id = { .path = "[vdso]" };
	char open_path[64];
	uint64_t own;
	int fd;

	if (!u->vdso_tried && base) {
		u->vdso_tried = true;
		own = own_vdso_size();
		fd = own ? memfd_create("deferprof-vdso", MFD_CLOEXEC) : -1;
		if (fd >= 0 && write(fd, base, own) == (ssize_t)own) {
			snprintf(open_path, sizeof(open_path), "/proc/self/fd/%d", fd);
			u->vdso = dp_objs__get(&u->objs, &id, open_path);
			u->vdso_size = own;
		}
		if (fd >= 0)
			close(fd);	/* the object keeps its own descriptor */
	}
	return u->vdso && u->vdso->mod && size == u->vdso_size ? u->vdso : NULL;
}

static int add_map(struct dp_usyms *u, struct dp_aspace *as, uint64_t start, uint64_t end,
		   uint64_t pgoff, const struct dp_obj_id *id)
{
	struct dp_map m = { .start = start, .end = end, .pgoff = pgoff };
	struct dp_obj_id clean = *id;
	char *open_path = NULL, *path = NULL;
	size_t n = strlen(id->path);
	uint64_t changes;
	uint32_t gen;
	int err;

	if ((err = special_name(u, id->path, &m.name)))
		return err;
	if (m.name && !strcmp(m.name, "[vdso]"))
		m.obj = vdso_obj(u, end - start);
	if (!m.name) {
		/* A binary deleted or replaced on disk still opens by map_files. */
		if (n > 10 && !strcmp(id->path + n - 10, " (deleted)")) {
			path = strndup(id->path, n - 10);
			if (!path)
				return -ENOMEM;
			clean.path = path;
		}
		if (asprintf(&open_path, "%s/%" PRIu32 "/map_files/%" PRIx64 "-%" PRIx64,
			     u->opts.proc_root, as->pid, start, end) < 0) {
			free(path);
			return -ENOMEM;
		}
		m.obj = dp_objs__get(&u->objs, &clean, open_path);
		free(open_path);
		free(path);
		if (!m.obj)
			return -ENOMEM;
		m.name = m.obj->path;
	}
	gen = as->gen;
	changes = as->changes;
	err = dp_aspace__put(as, &m);
	u->new_generations += as->gen != gen;
	u->epoch += as->changes != changes;	/* the same mapping seen again keeps the memo */
	return err;
}

/* One line of /proc/PID/maps; executable file mappings go into as. */
static int snapshot_line(struct dp_usyms *u, struct dp_aspace *as, char *line)
{
	unsigned long long start, end, off, ino;
	unsigned int maj, min;
	struct dp_obj_id id = { 0 };
	char perms[8];
	size_t len;
	int pos = 0;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &off, &maj,
		   &min, &ino, &pos) < 7 || !pos)
		return -EINVAL;
	len = strlen(line + pos);
	if (len && line[pos + len - 1] == '\n')
		line[pos + len - 1] = 0;
	if (!strchr(perms, 'x')) {
		struct dp_datamap d = { .start = start, .end = end, .pgoff = off };
		const char *slash = strrchr(line + pos, '/');
		char *module = NULL;

		if (!line[pos])
			return 0;	/* anonymous: nothing to name it by */
		d.name = line + pos;
		if (dp_aspace__has_data(as, &d))
			return dp_aspace__put_data(as, &d);	/* a later snapshot: its bounds now */
		if (asprintf(&module, "[data: %s]", slash ? slash + 1 : line + pos) < 0)
			module = NULL;
		d.module = pool_keep(u, module);
		d.name = pool_keep(u, strdup(line + pos));
		return d.name && d.module ? dp_aspace__put_data(as, &d) : -ENOMEM;
	}
	id.path = line + pos;
	if (ino) {
		id.maj = maj;
		id.min = min;
		id.ino = ino;
	}
	return add_map(u, as, start, end, off, &id);
}

int dp_usyms__snapshot(struct dp_usyms *u, uint32_t pid)
{
	struct dp_aspace *as;
	char *path = NULL, *line = NULL;
	size_t linecap = 0;
	FILE *f;
	int err = 0;

	as = dp_aspaces__get(&u->spaces, pid, true);
	if (!as)
		return -ENOMEM;
	if (asprintf(&path, "%s/%" PRIu32 "/maps", u->opts.proc_root, pid) < 0)
		return -ENOMEM;
	dp_owner__of_pid(&as->jit.owner, u->opts.proc_root, pid);	/* its perf map's owner */
	f = fopen(path, "re");
	free(path);
	if (!f) {
		err = -errno;
		goto out;
	}
	while (getline(&line, &linecap, f) > 0) {
		err = snapshot_line(u, as, line);
		if (err)
			break;
	}
	if (!err && !feof(f))
		err = -(errno ? errno : EIO);
	free(line);
	fclose(f);
out:
	/* A process that is gone has nothing more to read; anything else is tried again. */
	if (!err)
		as->snap = DP_SNAP_DONE;
	else if (err == -ENOENT || err == -ESRCH)
		as->snap = DP_SNAP_GONE;
	else
		as->snap_tries++;
	return err;
}

int dp_usyms__add_mmap2(struct dp_usyms *u, uint32_t pid, uint64_t start, uint64_t len,
			uint64_t pgoff, const struct dp_mmap_file *file)
{
	struct dp_aspace *as = dp_aspaces__get(&u->spaces, pid, true);
	struct dp_obj_id id = {
		.maj = file->maj,
		.min = file->min,
		.ino = file->ino,
		.build_id = file->build_id,
		.build_id_len = file->build_id_len,
		.path = file->filename,
	};

	if (!as)
		return -ENOMEM;
	return add_map(u, as, start, start + len, pgoff, &id);
}

int dp_usyms__add_mmap(struct dp_usyms *u, uint32_t pid, uint64_t start, uint64_t len,
		       uint64_t pgoff, const char *filename)
{
	/* No stat here: deferprof's mount namespace may not be the process's. */
	struct dp_mmap_file file = { .filename = filename };

	return dp_usyms__add_mmap2(u, pid, start, len, pgoff, &file);
}

int dp_usyms__exec(struct dp_usyms *u, uint32_t pid)
{
	struct dp_aspace *as = dp_aspaces__get(&u->spaces, pid, true);

	if (!as)
		return -ENOMEM;
	/* The new program's mappings come as MMAP2 records; /proc is read again for the rest. */
	as->snap = DP_SNAP_NONE;
	as->snap_tries = 0;
	u->new_generations++;
	u->epoch++;
	return dp_aspace__exec(as);
}

int dp_usyms__fork(struct dp_usyms *u, uint32_t ppid, uint32_t pid)
{
	struct dp_aspace *parent, *child;

	if (ppid == pid)
		return 0;	/* a thread: the same space */
	u->epoch++;
	child = dp_aspaces__get(&u->spaces, pid, true);
	if (!child)
		return -ENOMEM;
	if (child->nmaps)
		return 0;	/* already read from /proc */
	if (!dp_usyms__known(u, ppid))
		dp_usyms__snapshot(u, ppid);
	parent = dp_aspaces__get(&u->spaces, ppid, false);
	if (!parent || parent->snap != DP_SNAP_DONE)
		return 0;	/* nothing known to copy: the child is read from /proc if still there */
	/* As the kernel does: the child starts with its parent's mappings. */
	if (dp_aspace__copy(child, parent))
		return -ENOMEM;
	child->snap = DP_SNAP_DONE;
	return 0;
}

bool dp_usyms__replaces(struct dp_usyms *u, uint32_t pid, uint64_t start, uint64_t len,
			const char *filename)
{
	const struct dp_aspace *as = dp_aspaces__get(&u->spaces, pid, false);

	if (!as)
		return false;
	for (size_t i = 0; i < as->nmaps; i++) {
		const struct dp_map *m = &as->maps[i];

		if (m->start >= start + len || m->end <= start || !m->obj)
			continue;
		if (m->start != start || m->end != start + len || strcmp(m->obj->path, filename))
			return true;
	}
	return false;
}

uint32_t dp_usyms__generation(struct dp_usyms *u, uint32_t pid)
{
	const struct dp_aspace *as;

	if (!u->new_generations)	/* the usual case, on every stack added: no lookup */
		return 0;
	as = dp_aspaces__get(&u->spaces, pid, false);

	return as ? as->gen : 0;
}

static const struct dp_map *find_map(struct dp_usyms *u, uint64_t space, uint64_t addr)
{
	const struct dp_aspace *as = dp_aspaces__get(&u->spaces, dp_space__pid(space), false);

	if (!as)
		return NULL;
	return dp_space__now(space) ? dp_aspace__find(as, addr) :
				      dp_aspace__find_at(as, dp_space__gen(space), addr);
}

static const struct dp_datamap *find_data(struct dp_usyms *u, uint64_t space, uint64_t addr)
{
	const struct dp_aspace *as = dp_aspaces__get(&u->spaces, dp_space__pid(space), false);

	if (!as)
		return NULL;
	return dp_aspace__find_data(as, dp_space__now(space) ? as->gen : dp_space__gen(space), addr);
}

/* A JIT perf map's symbol at addr, reading the map on first need. */
static const struct dp_jit_sym *find_jit(struct dp_usyms *u, uint64_t space, uint64_t addr)
{
	uint32_t pid = dp_space__pid(space);
	struct dp_aspace *as = dp_aspaces__get(&u->spaces, pid, false);
	char *path = NULL;

	if (!as)
		return NULL;
	if (!as->jit_loaded) {
		as->jit_loaded = true;
		if (!as->jit.owner.n)	/* not snapshot: only root's map unless the process says */
			dp_owner__of_pid(&as->jit.owner, u->opts.proc_root, pid);
		/* No map (-ENOENT) is the usual case; a partial read keeps what it got. */
		if (asprintf(&path, "%s/perf-%" PRIu32 ".map", u->opts.perfmap_dir, pid) >= 0)
			dp_jitmap__load(&as->jit, path);
		free(path);
	}
	return dp_jitmap__find(&as->jit, addr);
}

/* The object's file vaddr of a runtime address in mapping m. */
static int map_vaddr(const struct dp_map *m, uint64_t addr, uint64_t *vaddr)
{
	return dp_obj__vaddr(m->obj, addr - m->start + m->pgoff, vaddr);
}

void dp_usyms__resolve(struct dp_usyms *u, uint64_t space, uint64_t addr, bool want_src,
		       struct dp_usym *out)
{
	const struct dp_map *m = find_map(u, space, addr);
	const struct dp_datamap *d;
	const struct dp_jit_sym *js;
	const char *name;
	uint64_t vaddr, start;

	memset(out, 0, sizeof(*out));
	out->module = "[unmapped]";
	out->offset = addr;
	if (!m || !m->obj || !m->obj->mod) {
		js = find_jit(u, space, addr);
		if (js) {
			out->name = js->name;
			out->module = "[jit]";
			out->sym_offset = addr - js->start;
		} else if (m && m->obj) {
			out->module = m->obj->module;
			out->path = m->obj->path;
			out->offset = addr - m->start + m->pgoff;
		} else if (m) {
			out->module = m->name;
			out->offset = addr - m->start;
		} else if ((d = find_data(u, space, addr))) {
			/* Not code: [data: libfoo.so]+0xFILEOFFSET, [data: [stack]]+0xOFF */
			out->module = d->module;
			out->path = d->name[0] == '/' ? d->name : NULL;
			out->offset = addr - d->start + d->pgoff;
		}
		return;
	}
	out->module = m->obj->module;
	out->path = m->obj->path;
	out->build_id = m->obj->build_id;
	out->build_id_len = m->obj->build_id_len;
	out->offset = addr - m->start + m->pgoff;
	if (map_vaddr(m, addr, &vaddr))
		return;
	out->offset = vaddr;
	name = dp_obj__func(m->obj, vaddr, &out->sym_offset);
	if (!name)
		name = dp_obj__plt(m->obj, vaddr, &out->sym_offset);
	if (name) {
		const char *dem = pool_keep(u, dp_demangle(name));

		out->name = dem ? dem : name;
	} else if (!dp_obj__cfi_func(m->obj, vaddr, &start)) {
		char *s = NULL;

		/* Stripped: named by its function's start, so its samples add up. */
		if (asprintf(&s, "%s+0x%" PRIx64, m->obj->module, start) < 0)
			s = NULL;
		out->name = pool_keep(u, s);
		out->sym_offset = vaddr - start;
	}
	if (want_src && dp_obj__src(m->obj, vaddr, &out->src_file, &out->src_line)) {
		out->src_file = NULL;
		out->src_line = 0;
	}
}

enum dp_uwhere dp_usyms__where(struct dp_usyms *u, uint64_t space, uint64_t addr)
{
	const struct dp_aspace *as = dp_aspaces__get(&u->spaces, dp_space__pid(space), false);

	if (!as)
		return DP_UWHERE_UNKNOWN;
	if (find_map(u, space, addr) || find_jit(u, space, addr))
		return DP_UWHERE_CODE;
	if (find_data(u, space, addr))
		return DP_UWHERE_DATA;
	/* Nowhere only when the whole space is known (MMAP2 alone misses what came before). */
	return as->snap == DP_SNAP_DONE && as->nmaps ? DP_UWHERE_NOWHERE : DP_UWHERE_UNKNOWN;
}

int dp_usyms__fp_info(struct dp_usyms *u, uint64_t space, uint64_t addr,
		      struct dp_uobj_info *out)
{
	const struct dp_map *m = find_map(u, space, addr);

	memset(out, 0, sizeof(*out));
	if (!m || !m->obj)
		return -ENOENT;
	if (!m->obj->fp_checked)
		dp_fpcheck__object(m->obj);
	out->path = m->obj->path;
	out->module = m->obj->module;
	out->funcs_checked = m->obj->fp_funcs;
	out->funcs_with_fp = m->obj->fp_with;
	return 0;
}

int dp_usyms__inlines(struct dp_usyms *u, uint64_t space, uint64_t addr,
		      struct dp_uinline *out, int max)
{
	const struct dp_map *m = find_map(u, space, addr);
	uint64_t vaddr;

	if (!m || !m->obj || !m->obj->mod || map_vaddr(m, addr, &vaddr))
		return 0;
	return dp_obj__inlines(m->obj, vaddr, out, max);
}

/*
 * The mapping holding addr now, reading /proc/PID/maps again when no
 * mapping holds it (at most every 50 ms per process). The leaf repair asks
 * while the round drains the logs: a sample taken after an mmap whose MMAP2
 * record came after the rings were read (a process starting, a dlopen) is
 * in the log before its mapping is known, and its IP or return address is
 * in that mapping. A snapshot adds what is new, and a mapping seen again
 * (its MMAP2 record later) starts no generation.
 */
static const struct dp_map *find_map_fresh(struct dp_usyms *u, uint64_t space, uint64_t addr)
{
	const struct dp_map *m = find_map(u, space, addr);
	struct dp_aspace *as;
	struct timespec t;
	uint64_t now;

	if (m || !dp_space__now(space))
		return m;
	as = dp_aspaces__get(&u->spaces, dp_space__pid(space), false);
	clock_gettime(CLOCK_MONOTONIC, &t);
	now = (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
	if (!as || as->snap == DP_SNAP_GONE || now - as->resnap_ns < 50000000ULL)
		return NULL;
	as->resnap_ns = now;
	if (dp_usyms__snapshot(u, dp_space__pid(space)))
		return NULL;
	return find_map(u, space, addr);
}

/* The memo entry for (space, addr), and whether it holds their answer now. */
static struct leaf_memo *memo_at(struct leaf_memo *memo, const struct dp_usyms *u,
				 uint64_t space, uint64_t addr, bool *hit)
{
	const uint64_t key[2] = { space, addr };
	struct leaf_memo *e = &memo[dp_hash_words(key, 2, 0) & (DP_LEAF_MEMO - 1)];

	*hit = e->epoch == u->epoch && e->space == space && e->addr == addr;
	return e;
}

static void memo_put(struct leaf_memo *e, const struct dp_usyms *u, uint64_t space,
		     uint64_t addr, int32_t value)
{
	e->space = space;
	e->addr = addr;
	e->epoch = u->epoch;
	e->value = value;
}

/* The repair's slot at an IP: -1 for none; -2 when no mapping holds it (not remembered). */
static int leaf_slot(struct dp_usyms *u, uint64_t space, uint64_t ip)
{
	struct leaf_memo *e;
	const struct dp_map *m;
	uint64_t vaddr;
	int slot;
	bool hit;

	e = memo_at(u->slot_memo, u, space, ip, &hit);
	if (hit)
		return e->value;
	m = find_map_fresh(u, space, ip);	/* may read /proc: the epoch moves first */
	if (!m)
		return -2;
	slot = -1;
	if (m->obj && !map_vaddr(m, ip, &vaddr))
		slot = dp_leafrepair__slot(u->leaf, m->obj, vaddr, DP_LEAF_WORDS);
	memo_put(e, u, space, ip, slot);
	return slot;
}

/* Whether a candidate word is a return address in a mapped object. */
static bool leaf_return(struct dp_usyms *u, uint64_t space, uint64_t ra)
{
	const struct dp_map *rm;
	struct leaf_memo *e;
	uint64_t ra_vaddr;
	bool hit, ok;

	e = memo_at(u->ret_memo, u, space, ra, &hit);
	if (hit)
		return e->value;
	rm = find_map(u, space, ra);	/* a candidate word: no re-read for it */
	ok = rm && rm->obj && !map_vaddr(rm, ra, &ra_vaddr) &&
	     dp_leafrepair__is_return(u->leaf, rm->obj, ra_vaddr);
	memo_put(e, u, space, ra, ok);
	return ok;
}

uint64_t dp_usyms__leaf_caller(struct dp_usyms *u, uint64_t space, const struct dp_leaf *leaf)
{
	int slot;

	if (!u->leaf && !(u->leaf = dp_leafrepair__new()))
		return 0;
	slot = leaf_slot(u, space, leaf->ip);
	if (slot < 0 || slot >= DP_LEAF_WORDS || !leaf_return(u, space, leaf->words[slot]))
		return 0;
	return leaf->words[slot];
}

/*
 * Where the run of a page's file offsets that starts at off ends (at most
 * at end): the next boundary of any PT_LOAD, so that one segment maps the
 * whole run as dp_obj__vaddr() maps each of its bytes.
 */
static uint64_t run_end(const struct dp_obj *o, uint64_t off, uint64_t end)
{
	for (size_t i = 0; i < o->nloads; i++) {
		uint64_t b0 = o->loads[i].p_offset, b1 = b0 + o->loads[i].p_memsz;

		if (b0 > off && b0 < end)
			end = b0;
		if (b1 > off && b1 < end)
			end = b1;
	}
	return end;
}

/*
 * The span of the page's file offsets [*lo, *hi) that holds off: one
 * PT_LOAD's share of the page, so that one segment maps the whole span as
 * dp_obj__vaddr() maps each of its bytes.
 */
static void run_around(const struct dp_obj *o, uint64_t off0, uint64_t off,
		       uint64_t *lo, uint64_t *hi)
{
	const uint64_t end = off0 + (1ULL << DP_GATE_PAGE_SHIFT);
	uint64_t at = off0;

	while ((*hi = run_end(o, at, end)) <= off)
		at = *hi;
	*lo = at;
}

int dp_usyms__leaf_span(struct dp_usyms *u, uint64_t space, uint64_t addr,
			struct dp_gate_page *out, uint32_t *from, uint32_t *to)
{
	const uint64_t nbytes = 1ULL << DP_GATE_PAGE_SHIFT, page = addr & ~(nbytes - 1);
	const struct dp_map *m = find_map(u, space, page);
	const struct dp_cfifuncs *funcs;
	uint64_t off0, lo, hi, vrun, vlo, vhi, v, f;

	memset(out, 0, sizeof(*out));
	if (!m)
		return -ENOENT;
	*from = 0;
	*to = (uint32_t)nbytes;
	/* An object that cannot be read has no CFI: the repair never uses a capture there. */
	if (!m->obj)
		return 0;
	/*
	 * The repair maps each IP's own file offset to a file address; a page
	 * may hold parts of two segments (lld puts the code's at an offset
	 * that is not page-aligned): the span stays in addr's.
	 */
	off0 = page - m->start + m->pgoff;
	run_around(m->obj, off0, addr - page + off0, &lo, &hi);
	*from = (uint32_t)(lo - off0);
	*to = (uint32_t)(hi - off0);
	if (dp_obj__vaddr(m->obj, lo, &vrun) || dp_obj__vaddr(m->obj, addr - page + off0, &v))
		return 0;	/* no segment: the repair has nothing there either */
	/* Within that, addr's function (and the gap after it), where the unwind tables say. */
	vlo = vrun;
	vhi = vrun + (hi - lo);
	funcs = dp_obj__cfi_funcs(m->obj);
	if (!dp_cfifuncs__find(funcs, v, &f) && f > vlo)
		vlo = f;
	if (!dp_cfifuncs__next(funcs, v, &f) && f < vhi)
		vhi = f;
	*from = (uint32_t)(lo - off0 + (vlo - vrun));
	*to = (uint32_t)(lo - off0 + (vhi - vrun));
	dp_leafrepair__mark(m->obj, vlo, vhi - vlo, DP_LEAF_WORDS, out->bits, *from);
	return 0;
}
