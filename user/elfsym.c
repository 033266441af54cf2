/* ELF function symbols of one file (libelf): sorted by address, aliases merged, with file offsets.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libiberty/demangle.h>
#include "elfsym.h"
#include "errors.h"

#define DEFAULT_DEBUG_ROOT "/usr/lib/debug"

#if defined(__x86_64__)
#define NATIVE_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define NATIVE_MACHINE EM_AARCH64
#elif defined(__i386__)
#define NATIVE_MACHINE EM_386
#elif defined(__riscv)
#define NATIVE_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define NATIVE_MACHINE EM_PPC64
#elif defined(__s390x__)
#define NATIVE_MACHINE EM_S390
#else
#define NATIVE_MACHINE EM_NONE /* unknown host: check the class only */
#endif
#define NATIVE_CLASS (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32)

/* A symbol as read, before aliases are merged; name points into a string table copy. */
struct raw_sym {
	const char *name;
	uint64_t hash; /* of the name, so that telling names apart rarely reads them */
	uint32_t len;
	uint32_t underscores; /* leading '_' */
	uint64_t addr;
	uint64_t size;
	uint64_t offset;
	enum elfsym_bind bind;
};

struct raw_syms {
	struct raw_sym *v;
	size_t n;
	size_t cap;
	size_t name_bytes; /* of the names kept, against ELFSYM_MAX_NAME_BYTES */
	size_t cut;	   /* left out by the caps */
	uint64_t compares; /* comparisons while sorting */
};

/* An open ELF file: its descriptor, libelf handle and PT_LOAD headers. */
struct elf_file {
	int fd;
	Elf *elf;
	GElf_Phdr *loads;
	size_t n_loads;
};

static void elf_file__close(struct elf_file *f)
{
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
	free(f->loads);
	f->fd = -1;
	f->elf = NULL;
	f->loads = NULL;
	f->n_loads = 0;
}

int elfsym__open_error(const char *path, int err)
{
	switch (err) {
	case -ENOENT:
		snag_set_error("%s: no such file (check the path)", path);
		break;
	case -EACCES:
	case -EPERM:
		snag_set_error("cannot read %s: permission denied (run snag as root)", path);
		break;
	case -ENOEXEC:
		snag_set_error("%s is not an ELF file (give an executable or shared library)",
			       path);
		break;
	case -ENOMEM:
		snag_set_error("out of memory reading %s", path);
		break;
	default:
		snag_set_error("cannot read %s: %s", path, strerror(-err));
	}
	return err;
}

static int read_loads(struct elf_file *f)
{
	size_t n;

	if (elf_getphdrnum(f->elf, &n))
		return -ENOEXEC;
	if (!n)
		return 0;
	f->loads = calloc(n, sizeof(*f->loads));
	if (!f->loads)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(f->elf, i, &ph) && ph.p_type == PT_LOAD)
			f->loads[f->n_loads++] = ph;
	}
	return 0;
}

/* Open path as an ELF file. Returns 0 or -errno (-ENOEXEC: not a regular ELF file); no message. */
static int elf_file__open(const char *path, struct elf_file *f)
{
	struct stat st;
	int err;

	f->fd = -1;
	f->elf = NULL;
	f->loads = NULL;
	f->n_loads = 0;
	elf_version(EV_CURRENT);
	/* Non-blocking, no controlling tty: whatever is at path, open() returns at once. */
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -ENOEXEC;
		goto cleanup;
	}
	/*
	 * Read, not mapped (ELF_C_READ_MMAP): the file belongs to whoever runs the
	 * traced process, and one truncated while mapped would SIGBUS snag. libelf
	 * reads only the headers and the sections asked for.
	 */
	f->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	if (!f->elf || elf_kind(f->elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	err = read_loads(f);
cleanup:
	if (err)
		elf_file__close(f);
	return err;
}

int elfsym__check_native(const char *path)
{
	struct elf_file f;
	GElf_Ehdr eh;
	int err;

	err = elf_file__open(path, &f);
	if (err)
		return err;
	if (gelf_getclass(f.elf) != NATIVE_CLASS || !gelf_getehdr(f.elf, &eh) ||
	    (NATIVE_MACHINE != EM_NONE && eh.e_machine != NATIVE_MACHINE))
		err = -ENOEXEC;
	elf_file__close(&f);
	return err;
}

/* The file offset of vaddr through the PT_LOAD holding it. Returns 0, or -ENOENT if none does. */
static int vaddr_to_offset(const struct elf_file *f, uint64_t vaddr, uint64_t *off)
{
	for (size_t i = 0; i < f->n_loads; i++) {
		const GElf_Phdr *ph = &f->loads[i];

		if (vaddr >= ph->p_vaddr && vaddr - ph->p_vaddr < ph->p_filesz) {
			*off = vaddr - ph->p_vaddr + ph->p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

static Elf_Scn *find_section(Elf *elf, Elf64_Word type, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn)))
		if (gelf_getshdr(scn, sh) && sh->sh_type == type)
			return scn;
	return NULL;
}

/* Whether the file has a section that only the Go linker writes. */
static bool built_by_go(Elf *elf)
{
	static const char *const go_sections[] = {".go.buildinfo", ".note.go.buildid",
						  ".gopclntab"};
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name =
		    gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : NULL;

		for (size_t i = 0; name && i < sizeof(go_sections) / sizeof(go_sections[0]); i++)
			if (!strcmp(name, go_sections[i]))
				return true;
	}
	return false;
}

/*
 * Whether a symbol table of the file names __cxa_throw (C++ throws) or
 * _Unwind_RaiseException (what C++ throws and Rust panics unwind with),
 * imported or linked in statically.
 */
static bool names_unwinder(Elf *elf, Elf64_Word type)
{
	size_t entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
	Elf_Scn *scn;
	Elf_Data *data;
	GElf_Shdr sh;

	scn = find_section(elf, type, &sh);
	data = scn && entsize ? elf_getdata(scn, NULL) : NULL;
	for (size_t i = 0; data && data->d_buf && i < data->d_size / entsize; i++) {
		GElf_Sym sym;
		const char *name;

		if (gelf_getsym(data, (int)i, &sym) &&
		    (name = elf_strptr(elf, sh.sh_link, sym.st_name)) &&
		    (!strcmp(name, "__cxa_throw") || !strcmp(name, "_Unwind_RaiseException")))
			return true;
	}
	return false;
}

/*
 * Whether exceptions or panics can unwind through the file's code: it needs a
 * C++ runtime (libstdc++ or libc++, whose own functions throw too, e.g. on
 * vector::at), or names the unwinder itself (Rust, a static C++ runtime).
 */
static bool may_unwind(Elf *elf)
{
	Elf_Scn *scn;
	Elf_Data *data;
	GElf_Shdr sh;

	if (names_unwinder(elf, SHT_DYNSYM) || names_unwinder(elf, SHT_SYMTAB))
		return true;
	scn = find_section(elf, SHT_DYNAMIC, &sh);
	data = scn && sh.sh_entsize ? elf_getdata(scn, NULL) : NULL;
	for (size_t i = 0; data && data->d_buf && i < data->d_size / sh.sh_entsize; i++) {
		GElf_Dyn dyn;
		const char *lib;

		if (!gelf_getdyn(data, (int)i, &dyn) || dyn.d_tag != DT_NEEDED)
			continue;
		lib = elf_strptr(elf, sh.sh_link, dyn.d_un.d_val);
		if (lib && (!strncmp(lib, "libstdc++", 9) || !strncmp(lib, "libc++", 6)))
			return true;
	}
	return false;
}

static bool section_is_exec(Elf *elf, size_t shndx)
{
	Elf_Scn *scn = elf_getscn(elf, shndx);
	GElf_Shdr sh;

	return scn && gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_EXECINSTR);
}

static enum elfsym_bind bind_of(unsigned char info)
{
	switch (GELF_ST_BIND(info)) {
	case STB_GLOBAL:
	case STB_GNU_UNIQUE:
		return ELFSYM_GLOBAL;
	case STB_WEAK:
		return ELFSYM_WEAK;
	default:
		return ELFSYM_LOCAL;
	}
}

static uint64_t hash_name(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

static size_t leading_underscores(const char *s)
{
	size_t n = 0;

	while (s[n] == '_')
		n++;
	return n;
}

/* Keep s (its name already checked against ELFSYM_MAX_NAME), or count it as cut. */
static int raw_syms__push(struct raw_syms *rs, struct raw_sym *s)
{
	if (rs->n >= ELFSYM_MAX_SYMS || rs->name_bytes + s->len > ELFSYM_MAX_NAME_BYTES) {
		rs->cut++;
		return 0;
	}
	if (rs->n == rs->cap) {
		size_t ncap = rs->cap ? rs->cap * 2 : 256;
		struct raw_sym *nv = realloc(rs->v, ncap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		rs->v = nv;
		rs->cap = ncap;
	}
	s->hash = hash_name(s->name, s->len);
	s->underscores = (uint32_t)leading_underscores(s->name);
	rs->v[rs->n++] = *s;
	rs->name_bytes += s->len;
	return 0;
}

static void raw_syms__free(struct raw_syms *rs)
{
	free(rs->v);
}

/*
 * A copy of the string table of section sh (NUL-terminated past its end, so
 * that every offset into it starts a terminated string), kept in tab: names
 * point into it. Returns the copy and its size in *size, or NULL (*size 0)
 * when the table cannot be read; -ENOMEM in *err.
 */
static const char *copy_strtab(struct elfsym_tab *tab, Elf *elf, const GElf_Shdr *sh, size_t *size,
			       int *err)
{
	Elf_Scn *scn = elf_getscn(elf, sh->sh_link);
	Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;
	char **v, *copy;

	*size = 0;
	if (!d || !d->d_buf || !d->d_size)
		return NULL;
	v = realloc(tab->strtabs, (tab->n_strtabs + 1) * sizeof(*v));
	copy = v ? malloc(d->d_size + 1) : NULL;
	if (v)
		tab->strtabs = v;
	if (!copy) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(copy, d->d_buf, d->d_size);
	copy[d->d_size] = '\0';
	tab->strtabs[tab->n_strtabs++] = copy;
	*size = d->d_size;
	return copy;
}

/*
 * Append the functions of the symbol table of type (SHT_SYMTAB or SHT_DYNSYM)
 * in symf; offsets come from the program headers of img (the file that is
 * mapped, which differs from symf for a separate debug file). Names point
 * into a copy of the table's strings kept in tab.
 */
static int collect_functions(struct elfsym_tab *tab, const struct elf_file *symf, Elf64_Word type,
			     const struct elf_file *img, struct raw_syms *rs)
{
	size_t entsize = gelf_fsize(symf->elf, ELF_T_SYM, 1, EV_CURRENT), strsize;
	const char *strtab;
	Elf_Data *data;
	Elf_Scn *scn;
	GElf_Shdr sh;
	size_t n;
	int err = 0;

	scn = find_section(symf->elf, type, &sh);
	if (!scn || !entsize)
		return 0;
	data = elf_getdata(scn, NULL);
	if (!data || !data->d_buf)
		return 0; /* SHT_NOBITS: e.g. .dynsym in a debug file */
	strtab = copy_strtab(tab, symf->elf, &sh, &strsize, &err);
	if (!strtab)
		return err;
	n = data->d_size / entsize;
	for (size_t i = 0; i < n; i++) {
		struct raw_sym s;
		GElf_Sym sym;
		size_t len;

		if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC)
			continue;
		if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE || !sym.st_value)
			continue;
		if (!section_is_exec(symf->elf, sym.st_shndx))
			continue;
		if (sym.st_name >= strsize)
			continue;
		len = strnlen(strtab + sym.st_name, ELFSYM_MAX_NAME + 1);
		if (!len)
			continue;
		if (vaddr_to_offset(img, sym.st_value, &s.offset))
			continue; /* not in the file's image: nothing to probe */
		if (len > ELFSYM_MAX_NAME) {
			rs->cut++;
			continue;
		}
		s.name = strtab + sym.st_name;
		s.len = (uint32_t)len;
		s.addr = sym.st_value;
		s.size = sym.st_size;
		s.bind = bind_of(sym.st_info);
		err = raw_syms__push(rs, &s);
		if (err)
			return err;
	}
	return 0;
}

/* Hex build id of the file from its PT_NOTE segments, or "" if it has none. */
static void read_build_id(Elf *elf, char *hex, size_t hex_len)
{
	size_t n_ph;

	hex[0] = '\0';
	if (elf_getphdrnum(elf, &n_ph))
		return;
	for (size_t i = 0; i < n_ph; i++) {
		GElf_Phdr ph;
		GElf_Nhdr nh;
		Elf_Data *d;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_NOTE)
			continue;
		d = elf_getdata_rawchunk(elf, ph.p_offset, ph.p_filesz,
					 ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (!d)
			continue;
		while ((off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			const unsigned char *desc = (const unsigned char *)d->d_buf + desc_off;

			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((const char *)d->d_buf + name_off, "GNU", 4) ||
			    nh.n_descsz < 2 || nh.n_descsz * 2 >= hex_len)
				continue;
			for (size_t j = 0; j < nh.n_descsz; j++)
				snprintf(hex + 2 * j, 3, "%02x", desc[j]);
			return;
		}
	}
}

/*
 * Open the separate debug file of img through its build id. Returns 0 with
 * dbg open and *dbg_path set (malloc'd), or -ENOENT when there is none.
 */
static int open_debug_file(const struct elf_file *img, const char *root, struct elf_file *dbg,
			   char **dbg_path)
{
	char id[ELFSYM_BUILD_ID_HEX], path[4096];
	GElf_Shdr sh;

	read_build_id(img->elf, id, sizeof(id));
	if (!id[0])
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", root, id, id + 2);
	if (elf_file__open(path, dbg))
		return -ENOENT;
	if (!find_section(dbg->elf, SHT_SYMTAB, &sh)) {
		elf_file__close(dbg);
		return -ENOENT;
	}
	*dbg_path = strdup(path);
	if (!*dbg_path) {
		elf_file__close(dbg);
		return -ENOMEM;
	}
	return 0;
}

/* Two names of equal hash and length: the same name? Read only then (or for a collision). */
static int cmp_name_bytes(const struct raw_sym *x, const struct raw_sym *y)
{
	return x->name == y->name ? 0 : memcmp(x->name, y->name, x->len);
}

/*
 * By (address, name), the best binding first: the same function named twice
 * (in .symtab and .dynsym) lands in one run, which dedup() folds. Names are
 * told apart by hash and length, and read only when both are equal.
 */
static int cmp_identity(const void *a, const void *b, void *arg)
{
	const struct raw_sym *x = a, *y = b;
	int c;

	((struct raw_syms *)arg)->compares++;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	c = cmp_name_bytes(x, y);
	if (c)
		return c;
	return (x->bind > y->bind) - (x->bind < y->bind);
}

/*
 * By address, then the preferred name first: exported (global or weak) before
 * local, then fewest leading '_', global before weak, shortest, a-z. So
 * "mallopt" (weak) wins over "__libc_mallopt" (global).
 */
static int cmp_raw_sym(const void *a, const void *b, void *arg)
{
	const struct raw_sym *x = a, *y = b;

	((struct raw_syms *)arg)->compares++;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if ((x->bind == ELFSYM_LOCAL) != (y->bind == ELFSYM_LOCAL))
		return x->bind == ELFSYM_LOCAL ? 1 : -1;
	if (x->underscores != y->underscores)
		return x->underscores < y->underscores ? -1 : 1;
	if (x->bind != y->bind)
		return x->bind < y->bind ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Fold each (address, name) named more than once into its first (best bound), largest size. */
static void dedup(struct raw_syms *rs)
{
	size_t n = 0;

	if (!rs->n)
		return;
	qsort_r(rs->v, rs->n, sizeof(*rs->v), cmp_identity, rs);
	for (size_t i = 0; i < rs->n; i++) {
		struct raw_sym *last = n ? &rs->v[n - 1] : NULL, *r = &rs->v[i];

		if (last && last->addr == r->addr && last->hash == r->hash && last->len == r->len &&
		    !cmp_name_bytes(last, r)) {
			if (r->size > last->size)
				last->size = r->size;
			continue;
		}
		rs->v[n++] = *r;
	}
	rs->n = n;
}

/*
 * Drop duplicate (address, name) pairs, sort and fold aliases: O(n log n)
 * comparisons, each reading names only to break a tie.
 */
static int build_table(struct elfsym_tab *tab, struct raw_syms *rs)
{
	dedup(rs);
	if (rs->n)
		qsort_r(rs->v, rs->n, sizeof(*rs->v), cmp_raw_sym, rs);
	tab->name_compares = rs->compares;
	tab->cut = rs->cut;
	tab->syms = calloc(rs->n ? rs->n : 1, sizeof(*tab->syms));
	tab->names = calloc(rs->n ? rs->n : 1, sizeof(*tab->names));
	if (!tab->syms || !tab->names)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n; i++) {
		struct raw_sym *r = &rs->v[i];
		struct elfsym *s = tab->n_syms ? &tab->syms[tab->n_syms - 1] : NULL;
		struct elfsym_name *nm;

		if (!s || s->addr != r->addr) {
			s = &tab->syms[tab->n_syms++];
			s->name = r->name;
			s->addr = r->addr;
			s->offset = r->offset;
			s->bind = r->bind;
		}
		if (r->size > s->size)
			s->size = r->size;
		nm = &tab->names[tab->n_names++];
		nm->name = r->name;
		nm->sym = tab->n_syms - 1;
		nm->bind = r->bind;
	}
	return 0;
}

struct elfsym_tab *elfsym__load(const char *path, const struct elfsym_opts *opts)
{
	const char *root = opts && opts->debug_root ? opts->debug_root : DEFAULT_DEBUG_ROOT;
	struct elf_file img = {.fd = -1}, dbg = {.fd = -1};
	struct raw_syms rs = {0};
	struct elfsym_tab *tab;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	int err;

	tab = calloc(1, sizeof(*tab));
	if (!tab) {
		err = -ENOMEM;
		goto cleanup;
	}
	tab->fd = -1;
	tab->demangled = calloc(1, sizeof(*tab->demangled));
	if (!tab->demangled) {
		err = -ENOMEM;
		goto cleanup;
	}
	tab->path = strdup(path);
	if (!tab->path) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = elf_file__open(path, &img);
	if (err)
		goto cleanup;
	if (opts && opts->opened)
		opts->opened(img.fd, opts->opened_arg);
	tab->e_type = gelf_getehdr(img.elf, &eh) ? eh.e_type : ET_NONE;
	tab->stripped = !find_section(img.elf, SHT_SYMTAB, &sh);
	tab->go = built_by_go(img.elf);
	tab->unwinds = may_unwind(img.elf);
	if (tab->stripped) {
		err = open_debug_file(&img, root, &dbg, &tab->debug_path);
		if (err == -ENOMEM)
			goto cleanup;
	}
	err = collect_functions(tab, tab->debug_path ? &dbg : &img, SHT_SYMTAB, &img, &rs);
	if (!err)
		err = collect_functions(tab, &img, SHT_DYNSYM, &img, &rs);
	if (!err)
		err = build_table(tab, &rs);
	if (err)
		goto cleanup;
	tab->loads = calloc(img.n_loads ? img.n_loads : 1, sizeof(*tab->loads));
	if (!tab->loads) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < img.n_loads; i++)
		tab->loads[i] = (struct elfsym_load){.offset = img.loads[i].p_offset,
						     .vaddr = img.loads[i].p_vaddr,
						     .filesz = img.loads[i].p_filesz};
	tab->n_loads = img.n_loads;
	/* Keep the descriptor for elfsym__read(); libelf's handle is no longer needed. */
	tab->fd = img.fd;
	img.fd = -1;
cleanup:
	elf_file__close(&img);
	elf_file__close(&dbg);
	raw_syms__free(&rs);
	if (err) {
		elfsym__open_error(opts && opts->display_path ? opts->display_path : path, err);
		elfsym__free(tab);
		errno = -err;
		return NULL;
	}
	return tab;
}

void elfsym__free(struct elfsym_tab *tab)
{
	if (!tab)
		return;
	for (size_t i = 0; i < tab->n_strtabs; i++)
		free(tab->strtabs[i]);
	free(tab->strtabs);
	if (tab->fd >= 0)
		close(tab->fd);
	if (tab->demangled) {
		for (size_t i = 0; tab->demangled->full && i < tab->n_names; i++) {
			free(tab->demangled->full[i]);
			free(tab->demangled->bare[i]);
		}
		free(tab->demangled->full);
		free(tab->demangled->bare);
		free(tab->demangled);
	}
	free(tab->names);
	free(tab->syms);
	free(tab->loads);
	free(tab->debug_path);
	free(tab->path);
	free(tab);
}

const struct elfsym *elfsym__lookup(const struct elfsym_tab *tab, uint64_t addr)
{
	size_t lo = 0, hi = tab->n_syms;
	const struct elfsym *s;

	/* Find the last symbol starting at or below addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tab->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	s = &tab->syms[lo - 1];
	if (addr - s->addr < (s->size ? s->size : 1))
		return s;
	return NULL;
}

int elfsym__offset_to_addr(const struct elfsym_tab *tab, uint64_t off, uint64_t *addr)
{
	for (size_t i = 0; i < tab->n_loads; i++) {
		const struct elfsym_load *l = &tab->loads[i];

		if (off >= l->offset && off - l->offset < l->filesz) {
			*addr = off - l->offset + l->vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

int elfsym__build_id(const char *path, char *hex, size_t len)
{
	struct elf_file f;
	int err;

	if (len)
		hex[0] = '\0';
	err = elf_file__open(path, &f);
	if (err)
		return err;
	if (len)
		read_build_id(f.elf, hex, len);
	elf_file__close(&f);
	return 0;
}

/* Demangle every C++ and Rust name of tab once (libiberty, as the symbolizer does). */
static int demangle_names(const struct elfsym_tab *tab)
{
	struct elfsym_demangled *d = tab->demangled;

	if (d->done)
		return 0;
	d->full = calloc(tab->n_names ? tab->n_names : 1, sizeof(*d->full));
	d->bare = calloc(tab->n_names ? tab->n_names : 1, sizeof(*d->bare));
	if (!d->full || !d->bare) {
		free(d->full);
		free(d->bare);
		d->full = d->bare = NULL;
		return -ENOMEM;
	}
	for (size_t i = 0; i < tab->n_names; i++) {
		const char *name = tab->names[i].name;

		if (strncmp(name, "_Z", 2) && strncmp(name, "_R", 2))
			continue;
		d->full[i] = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
		d->bare[i] = d->full[i] ? cplus_demangle(name, DMGL_ANSI | DMGL_AUTO) : NULL;
	}
	d->done = true;
	return 0;
}

/* The name to show when glob matches names[i] (demangled when it can be), or NULL. */
static const char *match_name(const struct elfsym_tab *tab, size_t i, const char *glob)
{
	const struct elfsym_demangled *d = tab->demangled;

	if (!fnmatch(glob, tab->names[i].name, 0))
		return d->full[i] ? d->full[i] : tab->names[i].name;
	if (d->full[i] &&
	    (!fnmatch(glob, d->full[i], 0) || (d->bare[i] && !fnmatch(glob, d->bare[i], 0))))
		return d->full[i];
	return NULL;
}

long elfsym__match(const struct elfsym_tab *tab, const char *glob, struct elfsym_match **out)
{
	struct elfsym_match *v = NULL;
	size_t n = 0, cap = 0, last = SIZE_MAX;

	*out = NULL;
	if (demangle_names(tab))
		return -ENOMEM;
	/* names are grouped by function, preferred name first: the first hit per group wins. */
	for (size_t i = 0; i < tab->n_names; i++) {
		const struct elfsym_name *nm = &tab->names[i];
		const char *name;

		if (nm->sym == last || !(name = match_name(tab, i, glob)))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct elfsym_match *nv = realloc(v, ncap * sizeof(*nv));

			if (!nv) {
				free(v);
				*out = NULL;
				return -ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		v[n].sym = &tab->syms[nm->sym];
		v[n].name = name;
		n++;
		last = nm->sym;
	}
	*out = v;
	return (long)n;
}

int elfsym__read(const struct elfsym_tab *tab, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(tab->fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		done += (size_t)r;
	}
	return 0;
}
