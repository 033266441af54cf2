/* Unit tests for user/elfsym.c against test ELFs whose truth the tests get from the loader. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <inttypes.h>
#include <link.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "elfsym.h"
#include "errors.h"
#include "testutil.h"

/* Functions named libfixture_* / fixture_* in the fixture sources (aliases count once). */
#if defined(__x86_64__)
#define LIB_FIXTURE_FUNCS 5 /* add, local, mul, sum, endbr */
#define PIE_FIXTURE_FUNCS 6 /* add, mul, loop, local, sum, endbr */
#else
#define LIB_FIXTURE_FUNCS 4
#define PIE_FIXTURE_FUNCS 5
#endif

static const struct elfsym_opts no_debug = {.debug_root = "/nonexistent-debug-root"};

static struct elfsym_tab *load(const char *rel)
{
	struct elfsym_tab *tab = elfsym__load(test_build_path(rel), &no_debug);

	if (!tab)
		fail_msg("elfsym__load(%s): %s", rel, snag_last_error());
	return tab;
}

/* The one function matching an exact name, or NULL. */
static const struct elfsym *find(const struct elfsym_tab *tab, const char *name)
{
	struct elfsym_match *m = NULL;
	const struct elfsym *s = NULL;
	long n = elfsym__match(tab, name, &m);

	if (n == 1)
		s = m[0].sym;
	assert_true(n == 0 || n == 1);
	free(m);
	return s;
}

static long count(const struct elfsym_tab *tab, const char *glob)
{
	struct elfsym_match *m = NULL;
	long n = elfsym__match(tab, glob, &m);

	free(m);
	return n;
}

/* Compare n bytes at a file offset of path (read here, not through elfsym) with mem. */
static void assert_file_bytes(const char *path, uint64_t off, const void *mem, size_t n)
{
	unsigned char buf[32];
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_true(n <= sizeof(buf));
	assert_int_equal(pread(fd, buf, n, (off_t)off), (ssize_t)n);
	close(fd);
	assert_memory_equal(buf, mem, n);
}

static const char *const lib_exported[] = {
    "libfixture_add",	"libfixture_mul",      "libfixture_sum",
    "__libfixture_sum", "libfixture_sum_weak",
#if defined(__x86_64__)
    "libfixture_endbr",
#endif
};

/* Addresses and code bytes agree with what the dynamic loader mapped. */
static void test_lib_matches_loader(void **state)
{
	const char *path = test_build_path("tests/elf/libfixture.so");
	struct elfsym_tab *tab = load("tests/elf/libfixture.so");
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	struct link_map *lm = NULL;

	(void)state;
	assert_non_null(h);
	assert_int_equal(dlinfo(h, RTLD_DI_LINKMAP, &lm), 0);
	assert_false(tab->stripped);
	assert_null(tab->debug_path);
	for (size_t i = 0; i < sizeof(lib_exported) / sizeof(lib_exported[0]); i++) {
		const unsigned char *mem = dlsym(h, lib_exported[i]);
		const struct elfsym *s = find(tab, lib_exported[i]);
		unsigned char via_elfsym[8];
		size_t n;

		assert_non_null(mem);
		assert_non_null(s);
		assert_int_equal(s->addr, (uintptr_t)mem - lm->l_addr);
		assert_true(s->size > 0);
		n = s->size < sizeof(via_elfsym) ? s->size : sizeof(via_elfsym);
		assert_file_bytes(path, s->offset, mem, n);
		assert_int_equal(elfsym__read(tab, s->offset, via_elfsym, n), 0);
		assert_memory_equal(via_elfsym, mem, n);
	}
	dlclose(h);
	elfsym__free(tab);
}

/* Several names at one address: one entry, the global non-underscore name preferred. */
static void test_aliases(void **state)
{
	struct elfsym_tab *tab = load("tests/elf/libfixture.so");
	const struct elfsym *sum = find(tab, "libfixture_sum");
	struct elfsym_match *m = NULL;

	(void)state;
	assert_non_null(sum);
	assert_string_equal(sum->name, "libfixture_sum");
	assert_int_equal(sum->bind, ELFSYM_GLOBAL);
	assert_ptr_equal(find(tab, "__libfixture_sum"), sum);
	assert_ptr_equal(find(tab, "libfixture_sum_weak"), sum);
	/* The match names the alias the glob found when the preferred name does not match. */
	assert_int_equal(elfsym__match(tab, "__libfixture_s*", &m), 1);
	assert_ptr_equal(m[0].sym, sum);
	assert_string_equal(m[0].name, "__libfixture_sum");
	free(m);
	assert_int_equal(elfsym__match(tab, "*libfixture_sum*", &m), 1);
	assert_string_equal(m[0].name, "libfixture_sum");
	free(m);
	elfsym__free(tab);
}

static void test_glob_counts(void **state)
{
	struct elfsym_tab *lib = load("tests/elf/libfixture.so");
	struct elfsym_tab *pie = load("tests/elf/fixture-pie");
	const struct elfsym *local;

	(void)state;
	assert_int_equal(count(lib, "libfixture_*"), LIB_FIXTURE_FUNCS);
	assert_int_equal(count(pie, "fixture_*"), PIE_FIXTURE_FUNCS);
	assert_int_equal(count(pie, "no_such_function*"), 0);
	local = find(lib, "libfixture_local");
	assert_non_null(local);
	assert_int_equal(local->bind, ELFSYM_LOCAL);
	/* IFUNC symbols name the resolver: skipped; the resolver itself is a plain function. */
	assert_int_equal(count(lib, "libfixture_ifunc"), 0);
	assert_int_equal(count(lib, "pick_ifunc_impl"), 1);
	elfsym__free(lib);
	elfsym__free(pie);
}

/* Sorted by address, one entry each, names grouped by function with the preferred first. */
static void test_table_shape(void **state)
{
	struct elfsym_tab *tab = load("tests/elf/fixture-pie");

	(void)state;
	assert_true(tab->n_syms > 0);
	assert_true(tab->n_names >= tab->n_syms);
	for (size_t i = 1; i < tab->n_syms; i++)
		assert_true(tab->syms[i - 1].addr < tab->syms[i].addr);
	for (size_t i = 0; i < tab->n_names; i++) {
		const struct elfsym_name *nm = &tab->names[i];

		assert_true(nm->sym < tab->n_syms);
		if (i > 0)
			assert_true(tab->names[i - 1].sym <= nm->sym);
		if (i == 0 || tab->names[i - 1].sym != nm->sym)
			assert_ptr_equal(nm->name, tab->syms[nm->sym].name);
	}
	elfsym__free(tab);
}

static void test_lookup(void **state)
{
	struct elfsym_tab *tab = load("tests/elf/libfixture.so");
	const struct elfsym *mul = find(tab, "libfixture_mul");

	(void)state;
	assert_non_null(mul);
	assert_ptr_equal(elfsym__lookup(tab, mul->addr), mul);
	assert_ptr_equal(elfsym__lookup(tab, mul->addr + mul->size - 1), mul);
	assert_ptr_not_equal(elfsym__lookup(tab, mul->addr + mul->size), mul);
	assert_null(elfsym__lookup(tab, 0));
	assert_null(elfsym__lookup(tab, UINT64_MAX));
	elfsym__free(tab);
}

/* fixture-pie prints its functions' addresses minus its load bias: elfsym must agree. */
static void test_pie_matches_running_binary(void **state)
{
	char path[4096], arg[] = "--addrs";
	char *argv[] = {path, arg, NULL};
	struct elfsym_tab *tab = load("tests/elf/fixture-pie");
	struct test_run run;
	int seen = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s", test_build_path("tests/elf/fixture-pie"));
	assert_int_equal(test_run(argv, 10, &run), 0);
	assert_int_equal(run.status, 0);
	for (char *save = NULL, *line = strtok_r(run.out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		unsigned long long addr;
		const struct elfsym *s;

		assert_int_equal(sscanf(line, "%63s 0x%llx", name, &addr), 2);
		s = find(tab, name);
		assert_non_null(s);
		assert_int_equal(s->addr, addr);
		assert_ptr_equal(elfsym__lookup(tab, addr), s);
		seen++;
	}
	assert_int_equal(seen, PIE_FIXTURE_FUNCS + 2); /* + main and the __fixture_sum alias */
	test_run__free(&run);
	elfsym__free(tab);
}

static void test_stripped(void **state)
{
	struct elfsym_tab *tab = load("tests/elf/fixture-pie-stripped");

	(void)state;
	assert_true(tab->stripped);
	assert_null(tab->debug_path);
	assert_int_equal(count(tab, "fixture_*"), 0);
	elfsym__free(tab);
}

/* Run a tool and return its stdout (owned), failing the test on error. */
static char *run_tool(char *const argv[])
{
	struct test_run run;
	char *out;

	assert_int_equal(test_run(argv, 30, &run), 0);
	if (run.status)
		fail_msg("%s failed: %s", argv[0], run.err);
	out = run.out;
	free(run.err);
	return out;
}

/* A stripped binary finds its .symtab in <root>/.build-id/xx/yyyy.debug. */
static void test_debug_file_by_build_id(void **state)
{
	char root[] = "/tmp/snag-test-debug-XXXXXX", dir[256], dbg[512], pie[4096];
	char readelf[] = "/usr/bin/readelf", objcopy[] = "/usr/bin/objcopy", n_opt[] = "-n";
	char keep[] = "--only-keep-debug", hex[ELFSYM_BUILD_ID_HEX];
	char *out, *id;
	struct elfsym_opts o = {.debug_root = root};
	struct elfsym_tab *full, *tab;
	struct elfsym_match *m = NULL;
	long n;

	(void)state;
	snprintf(pie, sizeof(pie), "%s", test_build_path("tests/elf/fixture-pie"));
	out = run_tool((char *[]){readelf, n_opt, pie, NULL});
	id = strstr(out, "Build ID: ");
	assert_non_null(id);
	id += strlen("Build ID: ");
	id[strcspn(id, " \n")] = '\0';
	assert_non_null(mkdtemp(root));
	snprintf(dir, sizeof(dir), "%s/.build-id", root);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/.build-id/%.2s", root, id);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dbg, sizeof(dbg), "%s/%s.debug", dir, id + 2);
	free(run_tool((char *[]){objcopy, keep, pie, dbg, NULL}));
	/* elfsym__build_id() agrees with readelf, for the stripped copy too. */
	assert_int_equal(elfsym__build_id(pie, hex, sizeof(hex)), 0);
	assert_string_equal(hex, id);
	assert_int_equal(
	    elfsym__build_id(test_build_path("tests/elf/fixture-pie-stripped"), hex, sizeof(hex)),
	    0);
	assert_string_equal(hex, id);
	free(out);

	tab = elfsym__load(test_build_path("tests/elf/fixture-pie-stripped"), &o);
	assert_non_null(tab);
	full = load("tests/elf/fixture-pie");
	assert_true(tab->stripped);
	assert_non_null(tab->debug_path);
	assert_string_equal(tab->debug_path, dbg);
	n = elfsym__match(tab, "fixture_*", &m);
	assert_int_equal(n, PIE_FIXTURE_FUNCS);
	for (long i = 0; i < n; i++) {
		const struct elfsym *s = find(full, m[i].name);

		assert_non_null(s);
		assert_int_equal(m[i].sym->addr, s->addr);
		assert_int_equal(m[i].sym->size, s->size);
		assert_int_equal(m[i].sym->offset, s->offset);
	}
	free(m);
	elfsym__free(full);
	elfsym__free(tab);
	unlink(dbg);
	rmdir(dir);
	snprintf(dir, sizeof(dir), "%s/.build-id", root);
	rmdir(dir);
	rmdir(root);
}

static void assert_load_fails(const char *path, int err, const char *in_message)
{
	snag_clear_error();
	errno = 0;
	assert_null(elfsym__load(path, NULL));
	assert_int_equal(errno, err);
	assert_non_null(strstr(snag_last_error(), path));
	assert_non_null(strstr(snag_last_error(), in_message));
}

static void test_load_errors(void **state)
{
	char not_elf[4096], id[ELFSYM_BUILD_ID_HEX];

	(void)state;
	snprintf(not_elf, sizeof(not_elf), "%s", test_build_path("tests/elf/not-elf.txt"));
	assert_load_fails(not_elf, ENOEXEC, "not an ELF file");
	assert_load_fails("/nonexistent/snag-test-file", ENOENT, "no such file");
	assert_load_fails("tests", ENOEXEC, "not an ELF file");
	assert_load_fails("/dev/null", ENOEXEC, "not an ELF file");
	assert_int_equal(elfsym__build_id(not_elf, id, sizeof(id)), -ENOEXEC);
	assert_int_equal(elfsym__build_id("/nonexistent/snag-test-file", id, sizeof(id)), -ENOENT);
}

/* Copy the ELF at src to dst, patching one byte at off. */
static void copy_patched(const char *src, const char *dst, size_t off, unsigned char byte)
{
	size_t len;
	char *buf = test_read_file(src, &len);
	FILE *f;

	assert_non_null(buf);
	assert_true(off < len);
	buf[off] = (char)byte;
	f = fopen(dst, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
}

/* The one name a glob matches under (it must match one function), for the report. */
static void assert_match_name(const struct elfsym_tab *tab, const char *glob, const char *want)
{
	struct elfsym_match *m = NULL;
	long n = elfsym__match(tab, glob, &m);

	if (n != 1)
		fail_msg("'%s' matches %ld functions, want 1", glob, n);
	if (strcmp(m[0].name, want))
		fail_msg("'%s' matched as '%s', want '%s'", glob, m[0].name, want);
	free(m);
}

/*
 * C++ and Rust functions match by their mangled, demangled and parameterless
 * demangled names, and are named demangled with parameters; C names and names
 * that only look mangled stay as they are.
 */
static void test_demangled_globs(void **state)
{
	struct elfsym_tab *tab = load("tests/elf/fixture-pie");

	(void)state;
	assert_match_name(tab, "snag::fixture::method", "snag::fixture::method(int)");
	assert_match_name(tab, "snag::fixture::method(int)", "snag::fixture::method(int)");
	assert_match_name(tab, "snag::fix*", "snag::fixture::method(int)");
	assert_match_name(tab, "_ZN4snag7fixture6methodEi", "snag::fixture::method(int)");
	assert_match_name(tab, "snag::inner::handler", "snag::inner::handler");
	assert_match_name(tab, "snag::legacy", "snag::legacy");
	assert_match_name(tab, "_Zbogus", "_Zbogus");
	assert_match_name(tab, "fixture_add", "fixture_add");
	assert_int_equal(count(tab, "method"), 0); /* a glob matches the whole name */
	assert_int_equal(count(tab, "snag::*"), 3);
	elfsym__free(tab);
}

static void test_check_native(void **state)
{
	char lib[4096], tmp[] = "/tmp/snag-test-elf-XXXXXX";
	int fd;

	(void)state;
	snprintf(lib, sizeof(lib), "%s", test_build_path("tests/elf/libfixture.so"));
	assert_int_equal(elfsym__check_native(lib), 0);
	assert_int_equal(elfsym__check_native(test_build_path("tests/elf/not-elf.txt")), -ENOEXEC);
	assert_int_equal(elfsym__check_native("/nonexistent/snag-test-file"), -ENOENT);
	fd = mkstemp(tmp);
	assert_true(fd >= 0);
	close(fd);
	/* e_ident[EI_CLASS] = 32-bit on a 64-bit host (and the reverse). */
	copy_patched(lib, tmp, 4, sizeof(void *) == 8 ? 1 : 2);
	assert_int_equal(elfsym__check_native(tmp), -ENOEXEC);
	/* e_machine = a machine that is not this one. */
	copy_patched(lib, tmp, 18, 0x02); /* EM_SPARC */
	assert_int_equal(elfsym__check_native(tmp), -ENOEXEC);
	unlink(tmp);
}

static void test_read_past_end(void **state)
{
	struct elfsym_tab *tab = load("tests/elf/libfixture.so");
	unsigned char buf[4];
	struct stat st;

	(void)state;
	assert_int_equal(fstat(tab->fd, &st), 0);
	assert_int_equal(elfsym__read(tab, (uint64_t)st.st_size - 2, buf, sizeof(buf)), -EIO);
	assert_int_equal(elfsym__read(tab, 0, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, "\177ELF", 4);
	elfsym__free(tab);
}

/* Synthetic ELF --------------------------------------------------------------
 * Built with libelf so that the executable PT_LOAD has p_offset != p_vaddr
 * (gcc + ld.bfd always give them equal, hiding offset bugs), plus symbols the
 * reader must skip. Layout: .text at file 0x1000, vaddr 0x401000, 0x40 bytes,
 * of which the PT_LOAD maps only the first 0x20.
 */
#define SYN_TEXT_OFF  0x1000
#define SYN_TEXT_ADDR 0x401000
#define SYN_TEXT_SIZE 0x40
#define SYN_LOAD_SIZE 0x20

static const char syn_strtab[] = "\0local_fn\0in_load\0past_filesz\0in_data\0an_object\0"
				 "absolute\0undefined\0sized_zero";
static const char syn_shstrtab[] = "\0.text\0.data\0.symtab\0.strtab\0.shstrtab";

/* Offset of name in a table of NUL-separated strings starting with "\0". */
static Elf64_Word str_off(const char *tab, size_t size, const char *name)
{
	for (size_t i = 1; i < size; i += strlen(tab + i) + 1)
		if (!strcmp(tab + i, name))
			return (Elf64_Word)i;
	fail_msg("no string %s", name);
	return 0;
}

#define SYN_STR(name)  str_off(syn_strtab, sizeof(syn_strtab), name)
#define SYN_SECT(name) str_off(syn_shstrtab, sizeof(syn_shstrtab), name)

static size_t add_section(Elf *e, const char *name, const void *buf, size_t size,
			  const Elf64_Shdr *tmpl, Elf_Type type, uint64_t *file_off)
{
	Elf_Scn *scn = elf_newscn(e);
	Elf_Data *d = elf_newdata(scn);
	Elf64_Shdr *sh = elf64_getshdr(scn);

	assert_non_null(sh);
	d->d_buf = (void *)buf;
	d->d_size = size;
	d->d_type = type;
	d->d_align = 8;
	d->d_off = 0;
	*sh = *tmpl;
	sh->sh_name = SYN_SECT(name);
	sh->sh_offset = *file_off;
	sh->sh_size = size;
	sh->sh_addralign = 8;
	*file_off += (size + 7) & ~7ull;
	return elf_ndxscn(scn);
}

static void write_synthetic_elf(const char *path)
{
	static unsigned char text[SYN_TEXT_SIZE], data[8];
	Elf64_Sym syms[9] = {{0}};
	uint64_t off = SYN_TEXT_OFF;
	size_t text_ndx, data_ndx, strtab_ndx;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
	Elf64_Shdr *sh;
	Elf *e;
	int fd;

	for (size_t i = 0; i < sizeof(text); i++)
		text[i] = (unsigned char)i;
	elf_version(EV_CURRENT);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	e = elf_begin(fd, ELF_C_WRITE, NULL);
	assert_non_null(e);
	elf_flagelf(e, ELF_C_SET, ELF_F_LAYOUT);
	eh = elf64_newehdr(e);
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = SYN_TEXT_ADDR;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	ph = elf64_newphdr(e, 1);
	ph->p_type = PT_LOAD;
	ph->p_flags = PF_R | PF_X;
	ph->p_offset = SYN_TEXT_OFF;
	ph->p_vaddr = ph->p_paddr = SYN_TEXT_ADDR;
	ph->p_filesz = ph->p_memsz = SYN_LOAD_SIZE;
	ph->p_align = 0x1000;
	text_ndx = add_section(e, ".text", text, sizeof(text),
			       &(Elf64_Shdr){.sh_type = SHT_PROGBITS,
					     .sh_flags = SHF_ALLOC | SHF_EXECINSTR,
					     .sh_addr = SYN_TEXT_ADDR},
			       ELF_T_BYTE, &off);
	data_ndx = add_section(e, ".data", data, sizeof(data),
			       &(Elf64_Shdr){.sh_type = SHT_PROGBITS,
					     .sh_flags = SHF_ALLOC | SHF_WRITE,
					     .sh_addr = 0x402000},
			       ELF_T_BYTE, &off);
#define SYN_SYM(i, nm, bind, type, ndx, value, size)                                               \
	syms[i] = (Elf64_Sym){.st_name = SYN_STR(nm),                                              \
			      .st_info = ELF64_ST_INFO(bind, type),                                \
			      .st_shndx = (Elf64_Section)(ndx),                                    \
			      .st_value = (value),                                                 \
			      .st_size = (size)}
	SYN_SYM(1, "local_fn", STB_LOCAL, STT_FUNC, text_ndx, SYN_TEXT_ADDR + 0x08, 8);
	SYN_SYM(2, "in_load", STB_GLOBAL, STT_FUNC, text_ndx, SYN_TEXT_ADDR + 0x10, 8);
	SYN_SYM(3, "past_filesz", STB_GLOBAL, STT_FUNC, text_ndx, SYN_TEXT_ADDR + 0x30, 8);
	SYN_SYM(4, "in_data", STB_GLOBAL, STT_FUNC, data_ndx, 0x402000, 8);
	SYN_SYM(5, "an_object", STB_GLOBAL, STT_OBJECT, text_ndx, SYN_TEXT_ADDR + 0x18, 4);
	SYN_SYM(6, "absolute", STB_GLOBAL, STT_FUNC, SHN_ABS, SYN_TEXT_ADDR, 4);
	SYN_SYM(7, "undefined", STB_GLOBAL, STT_FUNC, SHN_UNDEF, 0, 0);
	SYN_SYM(8, "sized_zero", STB_GLOBAL, STT_FUNC, text_ndx, SYN_TEXT_ADDR, 0);
#undef SYN_SYM
	strtab_ndx = text_ndx + 3; /* .symtab, then .strtab */
	add_section(e, ".symtab", syms, sizeof(syms),
		    &(Elf64_Shdr){.sh_type = SHT_SYMTAB,
				  .sh_link = (Elf64_Word)strtab_ndx,
				  .sh_info = 2, /* first non-local */
				  .sh_entsize = sizeof(Elf64_Sym)},
		    ELF_T_SYM, &off);
	assert_int_equal(add_section(e, ".strtab", syn_strtab, sizeof(syn_strtab),
				     &(Elf64_Shdr){.sh_type = SHT_STRTAB}, ELF_T_BYTE, &off),
			 strtab_ndx);
	eh->e_shstrndx =
	    (Elf64_Half)add_section(e, ".shstrtab", syn_shstrtab, sizeof(syn_shstrtab),
				    &(Elf64_Shdr){.sh_type = SHT_STRTAB}, ELF_T_BYTE, &off);
	eh->e_shoff = off;
	sh = elf64_getshdr(elf_getscn(e, text_ndx));
	assert_int_equal(sh->sh_offset, SYN_TEXT_OFF);
	elf_flagphdr(e, ELF_C_SET, ELF_F_DIRTY);
	if (elf_update(e, ELF_C_WRITE) < 0)
		fail_msg("elf_update: %s", elf_errmsg(-1));
	elf_end(e);
	close(fd);
}

static void test_offsets_from_program_headers(void **state)
{
	char path[] = "/tmp/snag-test-syn-XXXXXX";
	struct elfsym_tab *tab;
	const struct elfsym *s;
	unsigned char code[4];
	char id[ELFSYM_BUILD_ID_HEX];
	uint64_t addr;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_synthetic_elf(path);
	tab = elfsym__load(path, &no_debug);
	if (!tab)
		fail_msg("%s", snag_last_error());
	assert_int_equal(tab->e_type, ET_EXEC);
	assert_false(tab->stripped);
	/* Kept: sized_zero, local_fn, in_load; skipped: outside the PT_LOAD's file bytes, in a
	 * non-executable section, not STT_FUNC, SHN_ABS, undefined. */
	assert_int_equal(tab->n_syms, 3);
	s = find(tab, "in_load");
	assert_non_null(s);
	assert_int_equal(s->addr, SYN_TEXT_ADDR + 0x10);
	assert_int_equal(s->offset, SYN_TEXT_OFF + 0x10);
	assert_int_equal(s->bind, ELFSYM_GLOBAL);
	assert_int_equal(elfsym__read(tab, s->offset, code, sizeof(code)), 0);
	assert_memory_equal(code, "\x10\x11\x12\x13", 4);
	s = find(tab, "local_fn");
	assert_non_null(s);
	assert_int_equal(s->offset, SYN_TEXT_OFF + 0x08);
	assert_int_equal(s->bind, ELFSYM_LOCAL);
	s = find(tab, "sized_zero");
	assert_non_null(s);
	assert_int_equal(s->offset, SYN_TEXT_OFF);
	assert_ptr_equal(elfsym__lookup(tab, SYN_TEXT_ADDR), s);
	assert_null(elfsym__lookup(tab, SYN_TEXT_ADDR + 1));
	assert_int_equal(count(tab, "*"), 3);
	/* File offsets back to addresses through the one PT_LOAD, only inside its file bytes. */
	assert_int_equal(tab->n_loads, 1);
	assert_int_equal(elfsym__offset_to_addr(tab, SYN_TEXT_OFF + 0x10, &addr), 0);
	assert_int_equal(addr, SYN_TEXT_ADDR + 0x10);
	assert_int_equal(elfsym__offset_to_addr(tab, SYN_TEXT_OFF, &addr), 0);
	assert_int_equal(addr, SYN_TEXT_ADDR);
	assert_int_equal(elfsym__offset_to_addr(tab, SYN_TEXT_OFF + SYN_LOAD_SIZE, &addr), -ENOENT);
	assert_int_equal(elfsym__offset_to_addr(tab, SYN_TEXT_OFF - 1, &addr), -ENOENT);
	/* No PT_NOTE: no build id. */
	assert_int_equal(elfsym__build_id(path, id, sizeof(id)), 0);
	assert_string_equal(id, "");
	elfsym__free(tab);
	unlink(path);
}

/* Crafted ELF files -----------------------------------------------------------
 * What an unprivileged user can map into a process snag traces: an ELF whose
 * n function symbols all sit at one address of a 16-byte .text, named by
 * name_off[] into strtab (the names may overlap). Written byte by byte.
 */
#define CRAFT_TEXT_OFF	0x1000
#define CRAFT_TEXT_ADDR 0x401000

static void write_crafted_elf(const char *path, const char *strtab, size_t strsize,
			      const Elf64_Word *name_off, size_t n)
{
	static const char shstrtab[] = "\0.text\0.symtab\0.strtab\0.shstrtab";
	size_t symtab_off = (CRAFT_TEXT_OFF + 16 + strsize + 7) & ~(size_t)7;
	size_t symtab_size = (n + 1) * sizeof(Elf64_Sym);
	size_t shstr_off = symtab_off + symtab_size;
	size_t sh_off = (shstr_off + sizeof(shstrtab) + 7) & ~(size_t)7;
	Elf64_Ehdr eh = {
	    .e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT},
	    .e_type = ET_DYN,
	    .e_machine = EM_X86_64,
	    .e_version = EV_CURRENT,
	    .e_phoff = sizeof(Elf64_Ehdr),
	    .e_shoff = sh_off,
	    .e_ehsize = sizeof(Elf64_Ehdr),
	    .e_phentsize = sizeof(Elf64_Phdr),
	    .e_phnum = 1,
	    .e_shentsize = sizeof(Elf64_Shdr),
	    .e_shnum = 5,
	    .e_shstrndx = 4,
	};
	Elf64_Phdr ph = {.p_type = PT_LOAD,
			 .p_flags = PF_R | PF_X,
			 .p_offset = CRAFT_TEXT_OFF,
			 .p_vaddr = CRAFT_TEXT_ADDR,
			 .p_filesz = 16,
			 .p_memsz = 16,
			 .p_align = 0x1000};
	Elf64_Shdr sh[5] = {
	    {0},
	    {.sh_name = 1,
	     .sh_type = SHT_PROGBITS,
	     .sh_flags = SHF_ALLOC | SHF_EXECINSTR,
	     .sh_addr = CRAFT_TEXT_ADDR,
	     .sh_offset = CRAFT_TEXT_OFF,
	     .sh_size = 16,
	     .sh_addralign = 16},
	    {.sh_name = 7,
	     .sh_type = SHT_SYMTAB,
	     .sh_offset = symtab_off,
	     .sh_size = symtab_size,
	     .sh_link = 3,
	     .sh_info = 1,
	     .sh_addralign = 8,
	     .sh_entsize = sizeof(Elf64_Sym)},
	    {.sh_name = 15,
	     .sh_type = SHT_STRTAB,
	     .sh_offset = CRAFT_TEXT_OFF + 16,
	     .sh_size = strsize,
	     .sh_addralign = 1},
	    {.sh_name = 23,
	     .sh_type = SHT_STRTAB,
	     .sh_offset = shstr_off,
	     .sh_size = sizeof(shstrtab),
	     .sh_addralign = 1},
	};
	Elf64_Sym *syms = calloc(n + 1, sizeof(*syms));
	unsigned char text[16];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_non_null(syms);
	memset(text, 0xc3, sizeof(text)); /* ret */
	for (size_t i = 0; i < n; i++)
		syms[i + 1] = (Elf64_Sym){.st_name = name_off[i],
					  .st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC),
					  .st_shndx = 1,
					  .st_value = CRAFT_TEXT_ADDR,
					  .st_size = 16};
	assert_int_equal(pwrite(fd, &eh, sizeof(eh), 0), sizeof(eh));
	assert_int_equal(pwrite(fd, &ph, sizeof(ph), sizeof(eh)), sizeof(ph));
	assert_int_equal(pwrite(fd, text, sizeof(text), CRAFT_TEXT_OFF), sizeof(text));
	assert_int_equal(pwrite(fd, strtab, strsize, CRAFT_TEXT_OFF + 16), (ssize_t)strsize);
	assert_int_equal(pwrite(fd, syms, symtab_size, (off_t)symtab_off), (ssize_t)symtab_size);
	assert_int_equal(pwrite(fd, shstrtab, sizeof(shstrtab), (off_t)shstr_off),
			 sizeof(shstrtab));
	assert_int_equal(pwrite(fd, sh, sizeof(sh), (off_t)sh_off), sizeof(sh));
	close(fd);
	free(syms);
}

/* Heap bytes in use (glibc); 0 under ASan, whose allocator mallinfo2() does not see. */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Comparisons a sort of n elements may need: 2 n log2 n, twice over (two sorts). */
static uint64_t sort_budget(size_t n)
{
	uint64_t log2n = 1;

	while ((1ull << log2n) < n)
		log2n++;
	return 4 * (uint64_t)n * log2n;
}

#define CRAFT_SYMS 4000

/*
 * Attack 6, as the review made it: a 136 KB ELF with 4,000 symbols whose
 * names overlap in one 40,000-byte string. Each name was copied (100 MB) and
 * compared with every other at its address (quadratic: 6 s of CPU). Now
 * names over 4 KiB are cut and counted, names are never copied one by one,
 * and the work is n log n comparisons.
 */
static void test_crafted_overlapping_names(void **state)
{
	char path[] = "/tmp/snag-test-craft-XXXXXX";
	size_t strsize = 1 + 40000 + 1, kept = 0, before, held;
	char *strtab = malloc(strsize);
	Elf64_Word *off = calloc(CRAFT_SYMS, sizeof(*off));
	struct elfsym_tab *tab;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_non_null(strtab);
	assert_non_null(off);
	strtab[0] = '\0';
	for (size_t i = 1; i < strsize - 1; i++)
		strtab[i] = (char)('a' + i % 26);
	strtab[strsize - 1] = '\0';
	for (size_t i = 0; i < CRAFT_SYMS; i++) {
		off[i] = (Elf64_Word)(1 + i * 10);
		kept += strsize - 2 - i * 10 <= ELFSYM_MAX_NAME;
	}
	write_crafted_elf(path, strtab, strsize, off, CRAFT_SYMS);
	before = heap_in_use();
	tab = elfsym__load(path, &no_debug);
	held = heap_in_use() - before;
	if (!tab)
		fail_msg("%s", snag_last_error());
	assert_int_equal(tab->n_names, kept);
	assert_int_equal(tab->cut, CRAFT_SYMS - kept);
	assert_int_equal(tab->n_syms, 1);
	if (tab->name_compares > sort_budget(CRAFT_SYMS))
		fail_msg("%" PRIu64 " name comparisons for %d symbols", tab->name_compares,
			 CRAFT_SYMS);
	/* What the table holds: one copy of the string table, not a copy per name. */
	if (before && held > (1u << 20))
		fail_msg("the table of a %zu-byte string table holds %zu bytes", strsize, held);
	print_message("%zu names kept, %zu cut, %" PRIu64 " comparisons, %zu bytes held\n",
		      tab->n_names, tab->cut, tab->name_compares, held);
	elfsym__free(tab);
	unlink(path);
	free(strtab);
	free(off);
}

/*
 * Attack 6, the quadratic step alone: 4,000 distinct 1,000-byte names at one
 * address, alike but for their last 10 bytes. Each alias was checked against
 * every earlier one (8 million string compares of ~1,000 bytes); now two
 * sorts tell them apart, by hash first.
 */
static void test_many_aliases_n_log_n(void **state)
{
	char path[] = "/tmp/snag-test-craft-XXXXXX";
	size_t name_len = 1000, strsize = 1 + CRAFT_SYMS * (name_len + 1);
	char *strtab = malloc(strsize), want[1001];
	Elf64_Word *off = calloc(CRAFT_SYMS, sizeof(*off));
	struct elfsym_tab *tab;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_non_null(strtab);
	assert_non_null(off);
	strtab[0] = '\0';
	for (size_t i = 0; i < CRAFT_SYMS; i++) {
		char *name = strtab + 1 + i * (name_len + 1);

		off[i] = (Elf64_Word)(name - strtab);
		memset(name, 'a', name_len - 10);
		/* Descending, so that the preferred (first a-z) name is the last symbol. */
		snprintf(name + name_len - 10, 11, "%010zu", CRAFT_SYMS - 1 - i);
	}
	write_crafted_elf(path, strtab, strsize, off, CRAFT_SYMS);
	tab = elfsym__load(path, &no_debug);
	if (!tab)
		fail_msg("%s", snag_last_error());
	assert_int_equal(tab->n_syms, 1);
	assert_int_equal(tab->n_names, CRAFT_SYMS);
	assert_int_equal(tab->cut, 0);
	if (tab->name_compares > sort_budget(CRAFT_SYMS))
		fail_msg("%" PRIu64 " name comparisons for %d aliases, want at most %" PRIu64,
			 tab->name_compares, CRAFT_SYMS, sort_budget(CRAFT_SYMS));
	memset(want, 'a', name_len - 10);
	snprintf(want + name_len - 10, 11, "%010d", 0);
	assert_string_equal(tab->syms[0].name, want);
	assert_string_equal(tab->names[0].name, want);
	elfsym__free(tab);
	unlink(path);
	free(strtab);
	free(off);
}

/* Called by elfsym__load() between reading the headers and the symbol tables. */
static void truncate_under_reader(int fd, void *arg)
{
	(void)fd;
	assert_int_equal(truncate(arg, 512), 0);
}

/*
 * A file cut short while it is parsed (its owner truncating it) must not
 * crash snag: mapped, as it was, the next read of a symbol table past the new
 * end raised SIGBUS. Read, it is an empty or shorter table, or an error.
 */
static void test_truncated_mid_parse(void **state)
{
	char path[] = "/tmp/snag-test-trunc-XXXXXX";
	struct elfsym_opts o = {.debug_root = "/nonexistent-debug-root",
				.opened = truncate_under_reader,
				.opened_arg = path};
	struct elfsym_tab *full = load("tests/elf/libfixture.so"), *tab;
	size_t len;
	char *bytes = test_read_file(test_build_path("tests/elf/libfixture.so"), &len);
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_non_null(bytes);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	close(fd);
	tab = elfsym__load(path, &o);
	if (tab) {
		assert_true(tab->n_syms < full->n_syms);
		elfsym__free(tab);
	}
	unlink(path);
	test_drop(bytes);
	elfsym__free(full);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lib_matches_loader),
	    cmocka_unit_test(test_aliases),
	    cmocka_unit_test(test_glob_counts),
	    cmocka_unit_test(test_table_shape),
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_pie_matches_running_binary),
	    cmocka_unit_test(test_stripped),
	    cmocka_unit_test(test_debug_file_by_build_id),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_check_native),
	    cmocka_unit_test(test_demangled_globs),
	    cmocka_unit_test(test_read_past_end),
	    cmocka_unit_test(test_offsets_from_program_headers),
	    cmocka_unit_test(test_crafted_overlapping_names),
	    cmocka_unit_test(test_many_aliases_n_log_n),
	    cmocka_unit_test(test_truncated_mid_parse),
	};

	elfsym__free(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
