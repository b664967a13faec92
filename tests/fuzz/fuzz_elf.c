/*
 * ELF/DWARF loading: the bytes as a mapped object (through a /proc/self/fd
 * path, as map_files are opened), then what the symbolizer asks of it:
 * the vaddr of offsets, function names, source lines, inlined functions and
 * the frame-pointer check, which reads function bytes.
 */
#include "fuzz.h"
#include "fpcheck.h"
#include "objects.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_obj_id id = { .path = "/fuzz/object.so" };
	struct dp_objs t = { 0 };
	struct fz f = { data, size };
	struct dp_obj *o;
	char path[64];
	int fd = fz_memfile(data, size, path, sizeof(path));

	if (fd < 0)
		return 0;
	elf_version(EV_CURRENT);
	o = dp_objs__get(&t, &id, path);
	if (o && o->mod) {
		for (int i = 0; i < 8 && f.n; i++) {
			struct dp_uinline inl[8];
			uint64_t vaddr, off = fz_take(&f, 4), soff = 0;
			const char *file = NULL, *name;
			int line = 0;

			if (dp_obj__vaddr(o, off, &vaddr))
				vaddr = off;
			name = dp_obj__func(o, vaddr, &soff);
			if (name)
				FZ_CHECK(strlen(name) < (1u << 30));
			name = dp_obj__plt(o, vaddr, &soff);	/* .rela.plt, .plt, .dynsym as given */
			if (name)
				FZ_CHECK(soff < 16 && strlen(name) < (1u << 30));
			dp_obj__src(o, vaddr, &file, &line);
			FZ_CHECK(dp_obj__inlines(o, vaddr, inl, 8) <= 8);
		}
		dp_fpcheck__object(o);
		FZ_CHECK(o->fp_with <= o->fp_funcs);
	}
	dp_objs__free(&t);
	close(fd);
	return 0;
}
