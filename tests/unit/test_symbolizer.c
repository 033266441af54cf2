/* Unit tests for user/symbolizer.c: a fake proc tree over the test ELFs, this process, a dead
 * child. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "elfsym.h"
#include "perfmap.h"
#include "errors.h"
#include "symbolizer.h"
#include "testutil.h"

#define PAGE	     0x1000ULL
#define PIE_BASE     0x555555554000ULL
#define LIB_BASE     0x7f0000000000ULL
#define UNMAPPED     0x7e0000000000ULL
#define NOT_ELF_BASE 0x7f1000000000ULL
#define GONE_BASE    0x7f2000000000ULL
#define HEAP_BASE    0x555555a00000ULL

/*
 * A fake proc tree: ROOT/PID/maps written by the test, ROOT/PID/root a
 * symlink to "/" so that ROOT/PID/root/PATH opens PATH. The maps describe
 * the test ELFs as the loader would map them (one line per PT_LOAD).
 */
static char proc_root[] = "/tmp/snag-test-proc-XXXXXX";

static void fake_proc(int pid)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%d", proc_root, pid);
	if (mkdir(path, 0700) && errno != EEXIST)
		fail_msg("mkdir %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/%d/root", proc_root, pid);
	if (symlink("/", path) && errno != EEXIST)
		fail_msg("symlink %s: %s", path, strerror(errno));
}

static FILE *maps_open(int pid)
{
	char path[PATH_MAX];
	FILE *f;

	fake_proc(pid);
	snprintf(path, sizeof(path), "%s/%d/maps", proc_root, pid);
	f = fopen(path, "w");
	assert_non_null(f);
	return f;
}

/* The absolute path of a build-tree file (maps hold absolute paths). */
static const char *abs_build_path(const char *rel, char *buf)
{
	if (!realpath(test_build_path(rel), buf))
		fail_msg("%s: %s (build the ELF fixtures first)", test_build_path(rel),
			 strerror(errno));
	return buf;
}

/* One maps line for len bytes of path (st: its stat) at start. */
static void map_line(FILE *f, uint64_t start, uint64_t len, const char *perms, uint64_t off,
		     const struct stat *st, const char *path)
{
	fprintf(f, "%012" PRIx64 "-%012" PRIx64 " %s %08" PRIx64 " %02x:%02x %-26ju %s\n", start,
		start + len, perms, off, st ? major(st->st_dev) : 0, st ? minor(st->st_dev) : 0,
		(uintmax_t)(st ? st->st_ino : 0), path);
}

/* The maps lines of the ELF at path loaded at base (0 for ET_EXEC), as ld.so maps it. */
static void map_elf(FILE *f, const char *path, uint64_t base)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	size_t n;
	Elf *e;

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	elf_version(EV_CURRENT);
	e = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(e);
	assert_int_equal(elf_getphdrnum(e, &n), 0);
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		uint64_t start, end;
		char perms[5];

		assert_non_null(gelf_getphdr(e, i, &ph));
		if (ph.p_type != PT_LOAD)
			continue;
		start = (base + ph.p_vaddr) & ~(PAGE - 1);
		end = (base + ph.p_vaddr + ph.p_memsz + PAGE - 1) & ~(PAGE - 1);
		snprintf(perms, sizeof(perms), "%c%c%cp", ph.p_flags & PF_R ? 'r' : '-',
			 ph.p_flags & PF_W ? 'w' : '-', ph.p_flags & PF_X ? 'x' : '-');
		map_line(f, start, end - start, perms, ph.p_offset & ~(PAGE - 1), &st, path);
	}
	elf_end(e);
	close(fd);
}

/* The link-time address of the function called name in the ELF at path. */
static uint64_t sym_addr(const char *path, const char *name, uint64_t *file_off)
{
	struct elfsym_opts o = {.debug_root = "/nonexistent-debug-root"};
	struct elfsym_tab *tab = elfsym__load(path, &o);
	struct elfsym_match *m = NULL;
	uint64_t addr;

	if (!tab)
		fail_msg("%s", snag_last_error());
	if (elfsym__match(tab, name, &m) != 1)
		fail_msg("%s: no function %s", path, name);
	addr = m[0].sym->addr;
	if (file_off)
		*file_off = m[0].sym->offset;
	free(m);
	elfsym__free(tab);
	return addr;
}

static struct symbolizer *new_fake(void)
{
	struct symbolizer_opts o = {.kallsyms_path = "tests/fixtures/kallsyms.txt",
				    .proc_root = proc_root};
	struct symbolizer *s = symbolizer__new(&o);

	assert_non_null(s);
	return s;
}

static void assert_user(struct symbolizer *s, int pid, uint32_t gen, uint64_t addr,
			const char *want)
{
	const char *got = symbolizer__user(s, pid, gen, addr);

	assert_non_null(got);
	if (strcmp(got, want))
		fail_msg("pid %d gen %u 0x%" PRIx64 ": got '%s', want '%s'", pid, gen, addr, got,
			 want);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(proc_root))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", proc_root);
	return system(cmd) ? -1 : 0;
}

/* PID 1000 of the fake tree: the PIE, the library, the non-PIE, a non-ELF and a missing file. */
#define PID_MAIN 1000

static void write_main_maps(int pid)
{
	char pie[PATH_MAX], lib[PATH_MAX], nopie[PATH_MAX], txt[PATH_MAX];
	FILE *f = maps_open(pid);
	struct stat st;

	abs_build_path("tests/elf/fixture-pie", pie);
	abs_build_path("tests/elf/libfixture.so", lib);
	abs_build_path("tests/elf/fixture-nopie", nopie);
	abs_build_path("tests/elf/not-elf.txt", txt);
	map_elf(f, nopie, 0);
	map_elf(f, pie, PIE_BASE);
	map_line(f, HEAP_BASE, 0x21000, "rw-p", 0, NULL, "[heap]");
	map_elf(f, lib, LIB_BASE);
	assert_int_equal(stat(txt, &st), 0);
	map_line(f, NOT_ELF_BASE, PAGE, "r-xp", 0x3000, &st, txt);
	st.st_ino = 999999999;
	map_line(f, GONE_BASE, PAGE, "r-xp", 0x2000, &st, "/nonexistent/libgone.so.1");
	fclose(f);
}

static void test_fixture_tree(void **state)
{
	char pie[PATH_MAX], lib[PATH_MAX], nopie[PATH_MAX];
	struct symbolizer *s = new_fake();
	uint64_t a;
	const char *n1;

	(void)state;
	write_main_maps(PID_MAIN);
	abs_build_path("tests/elf/fixture-pie", pie);
	abs_build_path("tests/elf/libfixture.so", lib);
	abs_build_path("tests/elf/fixture-nopie", nopie);
	assert_int_equal(symbolizer__snapshot(s, PID_MAIN, 0), 0);
	assert_int_equal(symbolizer__snapshot(s, PID_MAIN, 0), 0); /* idempotent */

	/* PIE: at the start of a function, inside it, a static one, an alias. */
	a = PIE_BASE + sym_addr(pie, "fixture_add", NULL);
	assert_user(s, PID_MAIN, 0, a, "fixture_add");
	assert_user(s, PID_MAIN, 0, a + 1, "fixture_add");
	assert_user(s, PID_MAIN, 0, PIE_BASE + sym_addr(pie, "fixture_local", NULL),
		    "fixture_local");
	assert_user(s, PID_MAIN, 0, PIE_BASE + sym_addr(pie, "__fixture_sum", NULL) + 2,
		    "fixture_sum");
	/* Shared library. */
	assert_user(s, PID_MAIN, 0, LIB_BASE + sym_addr(lib, "libfixture_mul", NULL) + 3,
		    "libfixture_mul");
	/* Non-PIE: link-time addresses, and p_vaddr != p_offset. */
	assert_user(s, PID_MAIN, 0, sym_addr(nopie, "fixture_mul", NULL) + 1, "fixture_mul");
	assert_user(s, PID_MAIN, 0, sym_addr(nopie, "fixture_loop", NULL), "fixture_loop");

	/* Strings are interned: the same pointer every time. */
	n1 = symbolizer__user(s, PID_MAIN, 0, a);
	assert_ptr_equal(symbolizer__user(s, PID_MAIN, 0, a), n1);
	assert_ptr_equal(symbolizer__user(s, PID_MAIN, 0, UNMAPPED),
			 symbolizer__user(s, PID_MAIN, 0, UNMAPPED));

	/* No symbol: the file name and file offset; no mapping: the address. */
	assert_user(s, PID_MAIN, 0, NOT_ELF_BASE + 0x10, "not-elf.txt+0x3010");
	assert_user(s, PID_MAIN, 0, GONE_BASE + 0x123, "libgone.so.1+0x2123");
	assert_user(s, PID_MAIN, 0, UNMAPPED, "[unknown]+0x7e0000000000");
	assert_user(s, PID_MAIN, 0, HEAP_BASE + 8, "[unknown]+0x555555a00008");
	assert_user(s, PID_MAIN, 0, 0, "[unknown]+0x0");
	assert_user(s, PID_MAIN, 0, UINT64_MAX, "[unknown]+0xffffffffffffffff");
	assert_user(s, PID_MAIN, 0, LIB_BASE, "[unknown]+0x7f0000000000"); /* r--p: not code */
	symbolizer__free(s);
}

/* Two processes mapping one file at different addresses share one table and one cache. */
static void test_shared_by_identity(void **state)
{
	char pie[PATH_MAX];
	struct symbolizer *s = new_fake();
	uint64_t fn;
	FILE *f;

	(void)state;
	abs_build_path("tests/elf/fixture-pie", pie);
	fn = sym_addr(pie, "fixture_mul", NULL);
	f = maps_open(1010);
	map_elf(f, pie, PIE_BASE);
	fclose(f);
	f = maps_open(1011);
	map_elf(f, pie, PIE_BASE + 0x10000000);
	fclose(f);
	assert_user(s, 1010, 0, PIE_BASE + fn, "fixture_mul");
	assert_ptr_equal(symbolizer__user(s, 1010, 0, PIE_BASE + fn),
			 symbolizer__user(s, 1011, 0, PIE_BASE + 0x10000000 + fn));
	symbolizer__free(s);
}

/* Copy src to dst through a temporary file renamed over it (a new inode, as installs do). */
static void install_file(const char *src, const char *dst)
{
	char tmp[PATH_MAX];
	size_t len;
	char *buf = test_read_file(src, &len);
	FILE *f;

	assert_non_null(buf);
	snprintf(tmp, sizeof(tmp), "%s.new", dst);
	f = fopen(tmp, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
	free(buf);
	assert_int_equal(rename(tmp, dst), 0);
}

/* A binary replaced on disk: old snapshots keep the old file, new ones see the new file. */
static void test_replaced_binary(void **state)
{
	char lib[PATH_MAX], pie[PATH_MAX], path[PATH_MAX];
	struct symbolizer *s = new_fake();
	uint64_t lib_fn, pie_fn;
	FILE *f;

	(void)state;
	abs_build_path("tests/elf/libfixture.so", lib);
	abs_build_path("tests/elf/fixture-pie", pie);
	snprintf(path, sizeof(path), "%s/app", proc_root);
	lib_fn = sym_addr(lib, "libfixture_add", NULL);
	pie_fn = sym_addr(pie, "fixture_add", NULL);

	install_file(lib, path);
	f = maps_open(1020);
	map_elf(f, path, LIB_BASE);
	fclose(f);
	assert_int_equal(symbolizer__snapshot(s, 1020, 0), 0);

	install_file(pie, path);
	f = maps_open(1021);
	map_elf(f, path, LIB_BASE);
	fclose(f);
	assert_user(s, 1021, 0, LIB_BASE + pie_fn, "fixture_add");
	/* Loaded only now, from the file 1020 mapped, which is gone from the directory. */
	assert_user(s, 1020, 0, LIB_BASE + lib_fn, "libfixture_add");
	unlink(path);
	symbolizer__free(s);
}

/* A stripped copy keeps the build id, but not the symbols: it must not borrow them. */
static void test_stripped(void **state)
{
	char pie[PATH_MAX], stripped[PATH_MAX], want[64];
	struct symbolizer *s = new_fake();
	uint64_t fn, off;
	FILE *f;

	(void)state;
	abs_build_path("tests/elf/fixture-pie", pie);
	abs_build_path("tests/elf/fixture-pie-stripped", stripped);
	fn = sym_addr(pie, "fixture_loop", &off);
	f = maps_open(1030);
	map_elf(f, pie, PIE_BASE);
	fclose(f);
	f = maps_open(1031);
	map_elf(f, stripped, PIE_BASE);
	fclose(f);
	assert_user(s, 1030, 0, PIE_BASE + fn, "fixture_loop");
	snprintf(want, sizeof(want), "fixture-pie-stripped+0x%" PRIx64, off + 4);
	assert_user(s, 1031, 0, PIE_BASE + fn + 4, want);
	symbolizer__free(s);
}

/* After an exec (a new generation), each generation resolves against its own mappings. */
static void test_generations(void **state)
{
	char pie[PATH_MAX], lib[PATH_MAX];
	struct symbolizer *s = new_fake();
	uint64_t pie_fn, lib_fn;
	FILE *f;

	(void)state;
	abs_build_path("tests/elf/fixture-pie", pie);
	abs_build_path("tests/elf/libfixture.so", lib);
	pie_fn = PIE_BASE + sym_addr(pie, "fixture_add", NULL);
	lib_fn = PIE_BASE + sym_addr(lib, "libfixture_add", NULL);
	f = maps_open(1040);
	map_elf(f, pie, PIE_BASE);
	fclose(f);
	assert_int_equal(symbolizer__snapshot(s, 1040, 7), 0);
	/* The process execs: the same addresses now hold the library. */
	f = maps_open(1040);
	map_elf(f, lib, PIE_BASE);
	fclose(f);
	assert_int_equal(symbolizer__snapshot(s, 1040, 7), 0); /* still the old one */
	assert_user(s, 1040, 8, lib_fn, "libfixture_add");     /* taken lazily */
	assert_user(s, 1040, 7, pie_fn, "fixture_add");
	assert_string_not_equal(symbolizer__user(s, 1040, 7, lib_fn), "libfixture_add");
	assert_string_not_equal(symbolizer__user(s, 1040, 8, pie_fn), "fixture_add");
	symbolizer__free(s);
}

/*
 * A snapshot taken at exec predates the libraries the loader maps next;
 * refresh adds them and keeps the old mappings. An exiting process's maps
 * file reads empty, or lists files it can no longer open: refresh keeps what
 * was seen.
 */
static void test_refresh(void **state)
{
	char pie[PATH_MAX], lib[PATH_MAX];
	struct symbolizer *s = new_fake();
	uint64_t pie_fn, lib_fn;
	FILE *f;

	(void)state;
	abs_build_path("tests/elf/fixture-pie", pie);
	abs_build_path("tests/elf/libfixture.so", lib);
	pie_fn = PIE_BASE + sym_addr(pie, "fixture_add", NULL);
	lib_fn = LIB_BASE + sym_addr(lib, "libfixture_add", NULL);
	f = maps_open(1050);
	map_elf(f, pie, PIE_BASE);
	fclose(f);
	assert_int_equal(symbolizer__snapshot(s, 1050, 1), 0);
	assert_string_not_equal(symbolizer__user(s, 1050, 1, lib_fn), "libfixture_add");
	f = maps_open(1050);
	map_elf(f, lib, LIB_BASE);
	fclose(f);
	assert_int_equal(symbolizer__refresh(s, 1050, 1), 0);
	assert_user(s, 1050, 1, lib_fn, "libfixture_add");
	assert_user(s, 1050, 1, pie_fn, "fixture_add"); /* unmapped since, still known */
	fclose(maps_open(1050));			/* exiting: empty maps */
	assert_int_equal(symbolizer__refresh(s, 1050, 1), 0);
	assert_user(s, 1050, 1, lib_fn, "libfixture_add");
	assert_user(s, 1050, 1, pie_fn, "fixture_add");
	/*
	 * Exiting a little later: the maps still list the files, but the process's
	 * root is gone, so none of them opens. The files seen before still name
	 * the same mappings (CI once drew a flame graph of "offcpu+0x11d4" so).
	 */
	f = maps_open(1050);
	map_elf(f, pie, PIE_BASE);
	map_elf(f, lib, LIB_BASE);
	fclose(f);
	snprintf(pie, sizeof(pie), "%s/1050/root", proc_root);
	assert_int_equal(unlink(pie), 0);
	assert_int_equal(symbolizer__refresh_live(s), 0);
	assert_user(s, 1050, 1, lib_fn, "libfixture_add");
	assert_user(s, 1050, 1, pie_fn, "fixture_add");
	/* Seen only while exiting, refreshed while still exiting: nothing to add, no crash. */
	fclose(maps_open(1051));
	assert_int_equal(symbolizer__snapshot(s, 1051, 1), 0);
	assert_int_equal(symbolizer__refresh(s, 1051, 1), 0);
	assert_int_equal(symbolizer__refresh(s, 1051, 1), 0);
	symbolizer__free(s);
}

static void test_demangle(void **state)
{
	char pie[PATH_MAX];
	struct symbolizer *s = new_fake();
	FILE *f;

	(void)state;
	abs_build_path("tests/elf/fixture-pie", pie);
	f = maps_open(1050);
	map_elf(f, pie, PIE_BASE);
	fclose(f);
	assert_user(s, 1050, 0, PIE_BASE + sym_addr(pie, "_ZN4snag7fixture6methodEi", NULL),
		    "snag::fixture::method(int)");
	assert_user(s, 1050, 0,
		    PIE_BASE + sym_addr(pie, "_RNvNtCs4fqI2P2rA04_4snag5inner7handler", NULL),
		    "snag::inner::handler");
	assert_user(s, 1050, 0,
		    PIE_BASE + sym_addr(pie, "_ZN4snag6legacy17h0123456789abcdefE", NULL),
		    "snag::legacy");
	/* Looks mangled, is not: the raw name. */
	assert_user(s, 1050, 0, PIE_BASE + sym_addr(pie, "_Zbogus", NULL), "_Zbogus");
	symbolizer__free(s);
}

/*
 * JIT code named by the process's perf map: /tmp/perf-NSPID.map under the
 * process's root, NSPID its pid in its own namespace (from status). The map
 * is read again once it has grown, at most every second.
 */
static void test_jit_map(void **state)
{
	char root[PATH_MAX / 2], path[PATH_MAX];
	struct symbolizer *s = new_fake();
	FILE *f;

	(void)state;
	fclose(maps_open(1070)); /* no file mappings: the JIT code is anonymous */
	snprintf(path, sizeof(path), "%s/1070/root", proc_root);
	assert_int_equal(unlink(path), 0);
	snprintf(root, sizeof(root), "%s/jitroot", proc_root);
	assert_int_equal(mkdir(root, 0700), 0);
	assert_int_equal(symlink(root, path), 0);
	snprintf(path, sizeof(path), "%s/tmp", root);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/1070/status", proc_root);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "Name:\tnode\nUid:\t0\t0\t0\t0\nNSpid:\t1070\t7\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/tmp/perf-7.map", root);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "7f0000001000 100 LazyCompile:~handle /srv/app.js:12\n");
	fclose(f);

	assert_user(s, 1070, 0, 0x7f0000001010, "LazyCompile:~handle /srv/app.js:12");
	assert_user(s, 1070, 0, 0x7f0000002000, "[unknown]+0x7f0000002000");
	/* Compiled since: found once the file has grown and a second has passed. */
	f = fopen(path, "a");
	assert_non_null(f);
	fprintf(f, "7f0000002000 40 Builtin:ArrayMap\n");
	fclose(f);
	sleep(1);
	usleep(100000);
	assert_user(s, 1070, 0, 0x7f0000002010, "Builtin:ArrayMap");
	assert_user(s, 1070, 0, 0x7f0000001010, "LazyCompile:~handle /srv/app.js:12");
	symbolizer__free(s);
}

/*
 * A fake process pid with no file mappings (its JIT code is anonymous), whose
 * root is ROOT/jit-PID (0755, with a sticky world-writable tmp, like /), run
 * by uid with pid nspid in its own namespace. Returns the path its perf map
 * has in snag's tree in map (PATH_MAX bytes).
 */
static void fake_jit_process(int pid, unsigned uid, int nspid, char *map)
{
	char root[PATH_MAX / 2], path[PATH_MAX];
	FILE *f;

	fclose(maps_open(pid));
	snprintf(path, sizeof(path), "%s/%d/root", proc_root, pid);
	assert_int_equal(unlink(path), 0);
	snprintf(root, sizeof(root), "%s/jit-%d", proc_root, pid);
	assert_int_equal(mkdir(root, 0755), 0);
	assert_int_equal(symlink(root, path), 0);
	snprintf(path, sizeof(path), "%s/tmp", root);
	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(chmod(path, 01777), 0);
	snprintf(path, sizeof(path), "%s/%d/status", proc_root, pid);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "Name:\tnode\nUid:\t%u\t%u\t%u\t%u\nGid:\t%u\t%u\t%u\t%u\nNSpid:\t%d\t%d\n", uid,
		uid, uid, uid, uid, uid, uid, uid, pid, nspid);
	fclose(f);
	snprintf(map, PATH_MAX, "%s/tmp/perf-%d.map", root, nspid);
}

static void write_map(const char *path, const char *text, uid_t owner, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chown(path, owner, owner), 0);
	assert_int_equal(chmod(path, mode), 0);
}

#define JIT_USER 12345 /* the traced process's user, not snag's */

/*
 * Attack 2: in its own user and mount namespaces, a user bind-mounted a
 * root-only file over /tmp/perf-PID.map, and snag (which took root's files
 * too) printed the file's "HEX HEX text" lines as function names. Now only a
 * regular file of the process's user that the user could read is read, found
 * within the process's own tree; each refusal is counted.
 */
static void test_jit_map_of_another_user(void **state)
{
	char map[PATH_MAX], elsewhere[PATH_MAX], link[PATH_MAX];
	char outside[] = "/var/tmp/snag-test-jit-XXXXXX";
	struct symbolizer *s = new_fake();
	struct symbolizer_counters c;
	const char *secret = "7f0000001000 100 SECRET root's line\n";

	(void)state;
	if (geteuid() != 0)
		skip(); /* files of another user: chown needs root, as the attack does */
	/* Root's 0600 file where the map should be. */
	fake_jit_process(1080, JIT_USER, 7, map);
	write_map(map, secret, 0, 0600);
	assert_user(s, 1080, 0, 0x7f0000001010, "[unknown]+0x7f0000001010");
	/* The user's own map is read. */
	fake_jit_process(1081, JIT_USER, 7, map);
	write_map(map, "7f0000001000 100 LazyCompile:~ok\n", JIT_USER, 0600);
	assert_user(s, 1081, 0, 0x7f0000001010, "LazyCompile:~ok");
	/* The user's, but not readable by the user (root could read it): opened as the user. */
	fake_jit_process(1082, JIT_USER, 7, map);
	write_map(map, secret, JIT_USER, 0000);
	assert_user(s, 1082, 0, 0x7f0000001010, "[unknown]+0x7f0000001010");
	/* A link in its place, to a file of the user elsewhere: not followed. */
	fake_jit_process(1083, JIT_USER, 7, map);
	snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere.map", proc_root);
	write_map(elsewhere, secret, JIT_USER, 0644);
	assert_int_equal(symlink(elsewhere, map), 0);
	assert_user(s, 1083, 0, 0x7f0000001010, "[unknown]+0x7f0000001010");
	/*
	 * Its /tmp a link to an absolute path: resolved inside its own root (where
	 * there is nothing), never in snag's, where that path holds a map the user
	 * owns.
	 */
	fake_jit_process(1084, JIT_USER, 7, map);
	snprintf(link, sizeof(link), "%s/jit-1084/tmp", proc_root);
	assert_int_equal(unlink(map) == 0 || errno == ENOENT, 1);
	assert_int_equal(rmdir(link), 0);
	assert_non_null(mkdtemp(outside));
	assert_int_equal(chmod(outside, 0755), 0);
	assert_int_equal(symlink(outside, link), 0);
	snprintf(elsewhere, sizeof(elsewhere), "%s/perf-7.map", outside);
	write_map(elsewhere, secret, JIT_USER, 0644);
	assert_user(s, 1084, 0, 0x7f0000001010, "[unknown]+0x7f0000001010");
	unlink(elsewhere);
	rmdir(outside);

	symbolizer__counters(s, &c);
	assert_int_equal(c.jit_maps_refused, 3); /* root's, unreadable, link; 1084 found none */
	assert_int_equal(c.jit_symbols_cut, 0);
	symbolizer__free(s);
}

/*
 * Attack 3: a 64 MiB map cost 550 MB and was read again every second while
 * it grew. A map over the perfmap limits is cut (and counted) and never read
 * again; a growing one is read again less and less often.
 */
static void test_jit_map_limits_and_backoff(void **state)
{
	char map[PATH_MAX];
	struct symbolizer *s = new_fake();
	struct symbolizer_counters c;
	struct timespec t0, t;
	FILE *f;

	(void)state;
	fake_jit_process(1090, geteuid(), 1090, map);
	f = fopen(map, "w");
	assert_non_null(f);
	for (size_t i = 0; i < PERFMAP_MAX_SYMS + 10; i++)
		fprintf(f, "%zx 10 f%zu\n", 0x10000 + i * 16, i);
	fclose(f);
	assert_user(s, 1090, 0, 0x10000, "f0");
	symbolizer__counters(s, &c);
	assert_int_equal(c.jit_symbols_cut, 10);
	assert_user(s, 1090, 0, 0x10000 + (PERFMAP_MAX_SYMS + 5) * 16, "[unknown]+0x410050");
	/* Cut at a limit: not read again, whatever it becomes. */
	f = fopen(map, "a");
	assert_non_null(f);
	fprintf(f, "7f0000000000 10 later\n");
	fclose(f);
	usleep(1100000);
	assert_user(s, 1090, 0, 0x7f0000000000, "[unknown]+0x7f0000000000");

	/* Growing: read again after 1 s, then only after 2 s more. */
	fake_jit_process(1091, geteuid(), 1091, map);
	write_map(map, "1000 10 first\n", geteuid(), 0600);
	assert_user(s, 1091, 0, 0x1000, "first");
	f = fopen(map, "a");
	assert_non_null(f);
	fprintf(f, "2000 10 second\n");
	fclose(f);
	usleep(1100000);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_user(s, 1091, 0, 0x2000, "second"); /* read again now, after t0 */
	f = fopen(map, "a");
	assert_non_null(f);
	fprintf(f, "3000 10 third\n");
	fclose(f);
	usleep(1100000);
	clock_gettime(CLOCK_MONOTONIC, &t);
	/* Within the 2 s gap (unless this machine stalled past it: then nothing is shown). */
	if ((t.tv_sec - t0.tv_sec) * 1000000000LL + (t.tv_nsec - t0.tv_nsec) < 1900000000LL)
		assert_user(s, 1091, 0, 0x3000, "[unknown]+0x3000");
	usleep(1000000);
	assert_user(s, 1091, 0, 0x3000, "third");
	symbolizer__free(s);
}

/* What a swapper thread alternates at one path: the mapped library and a FIFO. */
struct swapper {
	const char *path, *fifo;
	volatile int stop;
	unsigned long swaps;
};

static void *swap_loop(void *arg)
{
	struct swapper *w = arg;

	while (!w->stop) {
		if (renameat2(AT_FDCWD, w->path, AT_FDCWD, w->fifo, RENAME_EXCHANGE))
			break;
		w->swaps++;
	}
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("the symbolizer blocked opening a mapped file swapped for a FIFO");
}

/*
 * Attack 5: a user swapped its mapped .so with a FIFO in a loop, and snag
 * (stat, then a blocking open) hung in open(). Here a thread swaps them as
 * fast as it can while snapshots open the file again and again.
 */
static void test_mapped_file_swapped_for_fifo(void **state)
{
	char lib[PATH_MAX], path[PATH_MAX], fifo[PATH_MAX];
	struct swapper w = {.path = path, .fifo = fifo};
	struct timespec t0, t;
	pthread_t th;
	FILE *f;
	int n = 0;

	(void)state;
	abs_build_path("tests/elf/libfixture.so", lib);
	snprintf(path, sizeof(path), "%s/swapped.so", proc_root);
	snprintf(fifo, sizeof(fifo), "%s/swapped.fifo", proc_root);
	install_file(lib, path);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	f = maps_open(1100);
	map_elf(f, path, LIB_BASE);
	fclose(f);
	signal(SIGALRM, on_alarm);
	alarm(20);
	assert_int_equal(pthread_create(&th, NULL, swap_loop, &w), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		struct symbolizer *s = new_fake();

		symbolizer__snapshot(s, 1100, 0);
		symbolizer__user(s, 1100, 0, LIB_BASE + 0x1000);
		symbolizer__free(s);
		clock_gettime(CLOCK_MONOTONIC, &t);
		n++;
	} while (n < 3000 && t.tv_sec - t0.tv_sec < 2);
	w.stop = 1;
	pthread_join(th, NULL);
	alarm(0);
	assert_true(w.swaps > 0);
	print_message("%d snapshots while the file and a FIFO swapped %lu times\n", n, w.swaps);
	unlink(path);
	unlink(fifo);
}

static void test_missing_process(void **state)
{
	struct symbolizer *s = new_fake();

	(void)state;
	snag_clear_error();
	assert_int_equal(symbolizer__snapshot(s, 999999, 0), -ESRCH);
	assert_non_null(strstr(snag_last_error(), "no process with pid 999999"));
	assert_int_equal(symbolizer__snapshot(s, 999999, 0), -ESRCH);
	assert_user(s, 999999, 0, 0x401000, "[unknown]+0x401000");
	assert_user(s, -1, 0, 0x401000, "[unknown]+0x401000");
	symbolizer__free(s);
	symbolizer__free(NULL);
}

static void test_kernel(void **state)
{
	struct symbolizer_opts zero = {.kallsyms_path = "tests/fixtures/kallsyms-zero.txt"};
	struct symbolizer *s = new_fake();
	const char *n;

	(void)state;
	assert_string_equal(symbolizer__kernel(s, 0xffffffff81002010), "do_syscall_64");
	assert_string_equal(symbolizer__kernel(s, 0xffffffffc0001210), "ext4_readdir");
	n = symbolizer__kernel(s, 0xffffffff81004900); /* past _etext */
	assert_string_equal(n, "[kernel]+0xffffffff81004900");
	assert_ptr_equal(symbolizer__kernel(s, 0xffffffff81004900), n);
	assert_int_equal(symbolizer__load_kernel(s), 0);
	symbolizer__free(s);

	s = symbolizer__new(&zero);
	assert_non_null(s);
	assert_int_equal(symbolizer__load_kernel(s), -EPERM);
	assert_non_null(strstr(snag_last_error(), "kptr_restrict"));
	assert_int_equal(symbolizer__load_kernel(s), -EPERM); /* not retried */
	assert_string_equal(symbolizer__kernel(s, 0xffffffff81002010),
			    "[kernel]+0xffffffff81002010");
	symbolizer__free(s);
}

/* Functions of this test binary, in this very process: snapshot taken on the first lookup. */
__attribute__((noipa, used)) static int local_target(int a)
{
	return a * 5 + 1;
}

/* The address of the vdso function name in this process, from the vdso's .dynsym; 0 if none. */
static uint64_t vdso_addr(const char *name)
{
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	const GElf_Ehdr *eh = (const GElf_Ehdr *)base;
	uint64_t addr = 0;
	Elf_Scn *scn = NULL;
	Elf *e;

	assert_true(base != 0);
	elf_version(EV_CURRENT);
	/* The image ends with its section headers. */
	e = elf_memory((char *)base, eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize);
	assert_non_null(e);
	while (!addr && (scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;

			if (gelf_getsym(d, (int)i, &sym) &&
			    !strcmp(elf_strptr(e, sh.sh_link, sym.st_name), name))
				addr = base + sym.st_value; /* the vdso is linked at 0 */
		}
	}
	elf_end(e);
	return addr;
}

static void test_live_self(void **state)
{
	struct symbolizer *s = symbolizer__new(NULL);
	void *getppid_addr = dlsym(RTLD_DEFAULT, "getppid");
	uint64_t me = (uintptr_t)&local_target;

	(void)state;
	assert_non_null(s);
	assert_non_null(getppid_addr);
	assert_user(s, getpid(), 0, me, "local_target");
	assert_user(s, getpid(), 0, me + 1, "local_target");
	assert_user(s, getpid(), 0, (uintptr_t)getppid_addr, "getppid");
	assert_user(s, getpid(), 0, (uintptr_t)&test_live_self, "test_live_self");
	/* clock_gettime runs in the vdso, named by its own name, not by libc's. */
	assert_user(s, getpid(), 0, vdso_addr("__vdso_clock_gettime") + 4, "__vdso_clock_gettime");
	assert_user(s, getpid(), 0, vdso_addr("gettimeofday"), "__vdso_gettimeofday");
	symbolizer__free(s);
}

/*
 * A child that dlopens a private copy of the library, reports a function's
 * address, and exits once snapshotted; the copy is deleted before the lookup.
 */
static void test_exited_child(void **state)
{
	char lib[PATH_MAX], copy[] = "/tmp/snag-test-lib-XXXXXX", want[64];
	int to_parent[2], to_child[2], status, fd;
	struct symbolizer *s = symbolizer__new(NULL);
	uint64_t addr = 0;
	pid_t pid;

	(void)state;
	assert_non_null(s);
	abs_build_path("tests/elf/libfixture.so", lib);
	fd = mkstemp(copy);
	assert_true(fd >= 0);
	close(fd);
	install_file(lib, copy);
	assert_int_equal(pipe(to_parent), 0);
	assert_int_equal(pipe(to_child), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		void *h = dlopen(copy, RTLD_NOW | RTLD_LOCAL);
		uint64_t a = h ? (uintptr_t)dlsym(h, "libfixture_mul") : 0;
		char c;

		close(to_parent[0]);
		close(to_child[1]);
		if (write(to_parent[1], &a, sizeof(a)) != sizeof(a))
			_exit(1);
		(void)!read(to_child[0], &c, 1); /* until the parent closes it */
		_exit(0);
	}
	close(to_parent[1]);
	close(to_child[0]);
	assert_int_equal(read(to_parent[0], &addr, sizeof(addr)), sizeof(addr));
	assert_true(addr != 0);
	assert_int_equal(symbolizer__snapshot(s, pid, 0), 0);
	close(to_child[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(to_parent[0]);
	unlink(copy);

	assert_user(s, pid, 0, addr, "libfixture_mul");
	assert_user(s, pid, 0, addr + 2, "libfixture_mul");
	/* Without a snapshot the dead process has no mappings. */
	assert_int_equal(symbolizer__snapshot(s, pid, 1), -ESRCH);
	snprintf(want, sizeof(want), "[unknown]+0x%" PRIx64, addr);
	assert_user(s, pid, 1, addr, want);
	symbolizer__free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_tree),
	    cmocka_unit_test(test_shared_by_identity),
	    cmocka_unit_test(test_replaced_binary),
	    cmocka_unit_test(test_stripped),
	    cmocka_unit_test(test_generations),
	    cmocka_unit_test(test_refresh),
	    cmocka_unit_test(test_demangle),
	    cmocka_unit_test(test_missing_process),
	    cmocka_unit_test(test_kernel),
	    cmocka_unit_test(test_live_self),
	    cmocka_unit_test(test_exited_child),
	    cmocka_unit_test(test_jit_map),
	    cmocka_unit_test(test_jit_map_of_another_user),
	    cmocka_unit_test(test_jit_map_limits_and_backoff),
	    cmocka_unit_test(test_mapped_file_swapped_for_fifo),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
