/* Unit tests for user/unwind_table.c: CFI turned into table rows, on hand-written fixtures and on
 * Debian's own binaries (whose table sizes it prints). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "elfsym.h"
#include "procmaps.h"
#include "testutil.h"
#include "unwind_store.h"
#include "unwind_table.h"

/* A row as the tests expect it: off is from the function's start. */
struct want_row {
	int off;
	unsigned cfa;
	unsigned cfa_off;
	unsigned rbp;
	int rbp_off;
};

#define RSP(off, cfa_off)                                                                          \
	{                                                                                          \
		off, SNAG_UNWIND_CFA_RSP, cfa_off, SNAG_UNWIND_RBP_SAME, 0                         \
	}
#define RSP_RBP(off, cfa_off, rbp_off)                                                             \
	{                                                                                          \
		off, SNAG_UNWIND_CFA_RSP, cfa_off, SNAG_UNWIND_RBP_OFFSET, rbp_off                 \
	}
#define RBP_RBP(off, cfa_off, rbp_off)                                                             \
	{                                                                                          \
		off, SNAG_UNWIND_CFA_RBP, cfa_off, SNAG_UNWIND_RBP_OFFSET, rbp_off                 \
	}
#define KIND(off, kind)                                                                            \
	{                                                                                          \
		off, kind, 0, SNAG_UNWIND_RBP_SAME, 0                                              \
	}

static uint64_t sym_addr(const struct elfsym_tab *tab, const char *name, uint64_t *size)
{
	for (size_t i = 0; i < tab->n_names; i++) {
		const struct elfsym *s = &tab->syms[tab->names[i].sym];

		if (!strcmp(tab->names[i].name, name)) {
			*size = s->size;
			return s->addr;
		}
	}
	fail_msg("no symbol %s", name);
	return 0;
}

/* The rows of t from function start + want[0].off up to and including its end are exactly want. */
static void check_rows(const struct unwind_table *t, const struct elfsym_tab *syms, const char *fn,
		       const struct want_row *want, size_t n)
{
	uint64_t size, start = sym_addr(syms, fn, &size);
	size_t got = 0;

	for (size_t i = 0; i < t->n; i++) {
		const struct snag_unwind_row *r = &t->rows[i];

		if (r->pc < start + want[0].off || r->pc > start + size)
			continue;
		if (got >= n)
			fail_msg("%s: extra row at +%d", fn, (int)(r->pc - start));
		if (r->pc != start + want[got].off || snag_unwind_row_cfa(r) != want[got].cfa ||
		    r->cfa_off != want[got].cfa_off || snag_unwind_row_rbp(r) != want[got].rbp ||
		    r->rbp_off != want[got].rbp_off)
			fail_msg("%s row %zu: got +%d %s%+u rbp %u/%d, want +%d %s%+u rbp %u/%d",
				 fn, got, (int)(r->pc - start),
				 unwind_table__cfa_name(snag_unwind_row_cfa(r)), r->cfa_off,
				 snag_unwind_row_rbp(r), r->rbp_off, want[got].off,
				 unwind_table__cfa_name(want[got].cfa), want[got].cfa_off,
				 want[got].rbp, want[got].rbp_off);
		got++;
	}
	if (got != n)
		fail_msg("%s: %zu rows, want %zu", fn, got, n);
}

/* Every frame shape of tests/fixtures/unwind/frames.S, row by row. */
static void test_fixture_rows(void **state)
{
	static const struct want_row push[] = {
	    RSP(0, 8),	RSP(1, 16), RSP_RBP(2, 24, -3),
	    RSP(6, 16), RSP(7, 8),  KIND(8, SNAG_UNWIND_CFA_NONE),
	};
	static const struct want_row sub[] = {
	    RSP(0, 8),
	    RSP(7, 0x1010),
	    RSP(18, 8),
	    KIND(19, SNAG_UNWIND_CFA_NONE),
	};
	static const struct want_row rbp[] = {
	    RSP(0, 8),
	    RSP_RBP(1, 16, -2),
	    RBP_RBP(4, 16, -2),
	    RSP_RBP(13, 8, -2),
	    KIND(14, SNAG_UNWIND_CFA_NONE),
	};
	static const struct want_row end[] = {
	    KIND(0, SNAG_UNWIND_CFA_END),
	    KIND(8, SNAG_UNWIND_CFA_NONE),
	};
	/* The FDE starts at the nop before the function, as glibc's __restore_rt's does. */
	static const struct want_row sig[] = {
	    KIND(-1, SNAG_UNWIND_CFA_SIGNAL),
	    KIND(9, SNAG_UNWIND_CFA_NONE),
	};
	static const struct want_row badsig[] = {
	    KIND(0, SNAG_UNWIND_CFA_UNSUPPORTED),
	    KIND(2, SNAG_UNWIND_CFA_NONE),
	};
	/* 32 bytes, no gap: the next row is fx_unsup's first. */
	static const struct want_row plt[] = {
	    RSP(0, 16),
	    RSP(6, 24),
	    {16, SNAG_UNWIND_CFA_PLT, 8, SNAG_UNWIND_RBP_SAME, 11},
	    RSP(32, 8),
	};
	static const struct want_row unsup[] = {
	    RSP(0, 8),
	    KIND(5, SNAG_UNWIND_CFA_UNSUPPORTED),
	    KIND(13, SNAG_UNWIND_CFA_NONE),
	};
	static const struct want_row huge[] = {
	    RSP(0, 8),
	    KIND(7, SNAG_UNWIND_CFA_UNSUPPORTED),
	    RSP(14, 8),
	    KIND(15, SNAG_UNWIND_CFA_NONE),
	};
	const char *path = test_build_path("tests/elf/libframes.so");
	struct elfsym_tab *syms = elfsym__load(path, NULL);
	struct unwind_table t;

	(void)state;
	assert_non_null(syms);
	assert_int_equal(unwind_table__build(path, &t), 0);
	check_rows(&t, syms, "fx_push", push, sizeof(push) / sizeof(push[0]));
	check_rows(&t, syms, "fx_sub", sub, sizeof(sub) / sizeof(sub[0]));
	check_rows(&t, syms, "fx_rbp", rbp, sizeof(rbp) / sizeof(rbp[0]));
	check_rows(&t, syms, "fx_end", end, sizeof(end) / sizeof(end[0]));
	check_rows(&t, syms, "fx_sigreturn", sig, sizeof(sig) / sizeof(sig[0]));
	check_rows(&t, syms, "fx_badsig", badsig, sizeof(badsig) / sizeof(badsig[0]));
	check_rows(&t, syms, "fx_plt", plt, sizeof(plt) / sizeof(plt[0]));
	check_rows(&t, syms, "fx_unsup", unsup, sizeof(unsup) / sizeof(unsup[0]));
	check_rows(&t, syms, "fx_huge", huge, sizeof(huge) / sizeof(huge[0]));

	/* Each unsupported row is counted by its cause; fx_unsup has two causes in one row span. */
	assert_int_equal(t.stats.unsupported_cfi_rows, 4);
	assert_int_equal(t.stats.unsupported_by[UNWIND_UNSUP_CFA_REG], 1);
	assert_int_equal(t.stats.unsupported_by[UNWIND_UNSUP_RBP], 1);
	assert_int_equal(t.stats.unsupported_by[UNWIND_UNSUP_CFA_RANGE], 1);
	assert_int_equal(t.stats.unsupported_by[UNWIND_UNSUP_SIGNAL], 1);
	assert_int_equal(t.stats.debug_frame_rows, 0);
	assert_int_equal(t.stats.fdes_skipped, 0);

	/* Sorted, no two neighbours alike, a NONE row last. */
	for (size_t i = 1; i < t.n; i++) {
		assert_true(t.rows[i - 1].pc < t.rows[i].pc);
		assert_false(t.rows[i - 1].kinds == t.rows[i].kinds &&
			     t.rows[i - 1].cfa_off == t.rows[i].cfa_off &&
			     t.rows[i - 1].rbp_off == t.rows[i].rbp_off);
	}
	assert_int_equal(snag_unwind_row_cfa(&t.rows[t.n - 1]), SNAG_UNWIND_CFA_NONE);
	assert_int_equal(unwind_table__bytes(&t), t.n * 8);
	unwind_table__free(&t);
	unwind_table__free(&t); /* a second free is a no-op */
	elfsym__free(syms);
}

/* Link-time address and size of section name in the ELF file at path. */
static void section_of(const char *path, const char *name, uint64_t *addr, uint64_t *size)
{
	int fd = open(path, O_RDONLY);
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	bool found = false;

	assert_true(fd >= 0);
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	assert_non_null(elf);
	assert_int_equal(elf_getshdrstrndx(elf, &shstrndx), 0);
	while ((scn = elf_nextscn(elf, scn)) && !found) {
		GElf_Shdr sh;
		const char *n;

		assert_non_null(gelf_getshdr(scn, &sh));
		n = elf_strptr(elf, shstrndx, sh.sh_name);
		if (n && !strcmp(n, name)) {
			*addr = sh.sh_addr;
			*size = sh.sh_size;
			found = true;
		}
	}
	elf_end(elf);
	close(fd);
	if (!found)
		fail_msg("%s has no %s", path, name);
}

static void assert_row(const struct unwind_table *t, uint64_t vaddr, unsigned cfa, unsigned cfa_off,
		       int rbp_off)
{
	const struct snag_unwind_row *r = unwind_table__find(t, vaddr);

	assert_non_null(r);
	if (snag_unwind_row_cfa(r) != cfa || r->cfa_off != cfa_off || r->rbp_off != rbp_off)
		fail_msg("row at %#lx: %s+%u/%d, want %s+%u/%d", (unsigned long)vaddr,
			 unwind_table__cfa_name(snag_unwind_row_cfa(r)), r->cfa_off, r->rbp_off,
			 unwind_table__cfa_name(cfa), cfa_off, rbp_off);
}

/* The linker's lazy-binding PLT of an executable calling libfixture.so: PLT0 pushes the GOT, each
 * entry's CFA depends on whether it has pushed its index (binutils' CFI expression). */
static void test_plt(void **state)
{
	const char *path = test_build_path("tests/elf/fixture-plt");
	struct unwind_table t;
	uint64_t plt = 0, size = 0;

	(void)state;
	section_of(path, ".plt", &plt, &size);
	assert_true(size >= 32); /* PLT0 and libfixture_add's entry */
	assert_int_equal(unwind_table__build(path, &t), 0);
	assert_row(&t, plt, SNAG_UNWIND_CFA_RSP, 16, 0);
	assert_row(&t, plt + 5, SNAG_UNWIND_CFA_RSP, 16, 0);
	assert_row(&t, plt + 6, SNAG_UNWIND_CFA_RSP, 24, 0);
	assert_row(&t, plt + 15, SNAG_UNWIND_CFA_RSP, 24, 0);
	for (uint64_t a = plt + 16; a < plt + size; a++)
		assert_row(&t, a, SNAG_UNWIND_CFA_PLT, 8, 11);
	assert_int_equal(t.stats.rows_by_kind[SNAG_UNWIND_CFA_PLT], 1);
	/* _start: the outermost frame. */
	assert_int_equal(t.stats.rows_by_kind[SNAG_UNWIND_CFA_END], 1);
	assert_int_equal(t.stats.unsupported_cfi_rows, 0);
	unwind_table__free(&t);
}

/* .debug_frame fills what .eh_frame leaves uncovered, and only that. */
static void test_debug_frame(void **state)
{
	const char *path = test_build_path("tests/elf/libdframe.so");
	struct elfsym_tab *syms = elfsym__load(path, NULL);
	static const struct want_row both[] = {
	    RSP(0, 8),
	    RSP(1, 16),
	    RSP(2, 8),
	    KIND(3, SNAG_UNWIND_CFA_NONE),
	};
	static const struct want_row leaf[] = {
	    RSP(0, 8),
	    KIND(4, SNAG_UNWIND_CFA_NONE),
	};
	struct unwind_table t;
	uint64_t size, caller;
	const struct snag_unwind_row *r;

	(void)state;
	assert_non_null(syms);
	assert_int_equal(unwind_table__build(path, &t), 0);
	/* fx_both is in both sections: its 3 rows are counted once, from .eh_frame. */
	check_rows(&t, syms, "fx_both", both, sizeof(both) / sizeof(both[0]));
	check_rows(&t, syms, "dframe_leaf", leaf, sizeof(leaf) / sizeof(leaf[0]));
	assert_true(t.stats.debug_frame_rows >= 2);
	assert_int_equal(t.stats.cfi_rows - t.stats.debug_frame_rows, 3 + 3); /* fx_both, .plt */
	/* dframe_caller keeps an array on the stack: somewhere inside, its CFA is rsp + 256 + more.
	 */
	caller = sym_addr(syms, "dframe_caller", &size);
	r = unwind_table__find(&t, caller);
	assert_non_null(r);
	assert_int_equal(snag_unwind_row_cfa(r), SNAG_UNWIND_CFA_RSP);
	assert_int_equal(r->cfa_off, 8);
	for (r = unwind_table__find(&t, caller); r->pc < caller + size; r++)
		if (r->cfa_off > 256)
			break;
	assert_true(r->pc < caller + size);
	unwind_table__free(&t);
	elfsym__free(syms);
}

/* glibc's __restore_rt, which the kernel returns through after a signal handler, is a signal
 * frame. sigaction() tells its address: it is the restorer glibc installs. */
static void test_libc_signal_frame(void **state)
{
	struct sigaction sa, old;
	struct procmaps maps = {0};
	struct unwind_table t;
	uint64_t restorer, bias;
	const struct procmap *m = NULL;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	assert_int_equal(sigaction(SIGUSR2, &sa, &old), 0);
	assert_int_equal(sigaction(SIGUSR2, &old, &sa), 0); /* sa: what was installed */
	restorer = (uint64_t)(uintptr_t)sa.sa_restorer;
	assert_true(restorer != 0);
	assert_int_equal(procmaps__load_pid(getpid(), &maps), 0);
	for (size_t i = 0; i < maps.n; i++)
		if (restorer >= maps.maps[i].start && restorer < maps.maps[i].end)
			m = &maps.maps[i];
	assert_non_null(m);
	assert_int_equal(unwind_table__build(m->path, &t), 0);
	assert_int_equal(unwind_table__bias(&t, m->start, m->offset, &bias), 0);
	/* The return address is __restore_rt itself: looked up at - 1, glibc's FDE starts there. */
	assert_row(&t, restorer - bias, SNAG_UNWIND_CFA_SIGNAL, 0, 0);
	assert_row(&t, restorer - bias - 1, SNAG_UNWIND_CFA_SIGNAL, 0, 0);
	assert_int_equal(t.stats.rows_by_kind[SNAG_UNWIND_CFA_SIGNAL], 1);
	print_message("%s: __restore_rt at %#lx is a signal frame\n", m->path,
		      (unsigned long)(restorer - bias));
	unwind_table__free(&t);
	procmaps__free(&maps);
}

/* The vdso has .eh_frame; its image comes from this process's memory. */
static void test_vdso(void **state)
{
	struct unwind_table t;
	int err;

	(void)state;
	err = unwind_table__build_vdso(&t);
	if (err == -ENOENT)
		skip();
	assert_int_equal(err, 0);
	assert_true(t.stats.rows_by_kind[SNAG_UNWIND_CFA_RSP] > 0);
	assert_int_equal(t.stats.unsupported_cfi_rows, 0);
	assert_int_equal(t.loads[0].vaddr, 0);
	unwind_table__free(&t);
}

static void test_errors(void **state)
{
	struct unwind_table t;
	char tmp[] = "/tmp/snag-unwind-XXXXXX";
	size_t len;
	char *bytes;
	int fd;

	(void)state;
	assert_int_equal(unwind_table__build("/nonexistent/lib.so", &t), -ENOENT);
	assert_int_equal(unwind_table__build(test_build_path("tests/elf/not-elf.txt"), &t),
			 -ENOEXEC);
	assert_int_equal(unwind_table__build_image("garbage", 7, &t), -ENOEXEC);
	assert_int_equal(unwind_table__build(test_build_path("tests/elf/libnocfi.so"), &t),
			 -ENODATA);
	assert_null(t.rows);
	assert_int_equal(t.n, 0);

	/* The same file claiming to be AArch64. */
	bytes = test_read_file(test_build_path("tests/elf/libframes.so"), &len);
	assert_non_null(bytes);
	bytes[18] = (char)EM_AARCH64;
	bytes[19] = (char)(EM_AARCH64 >> 8);
	assert_int_equal(unwind_table__build_image(bytes, len, &t), -EOPNOTSUPP);
	fd = mkstemp(tmp);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	close(fd);
	assert_int_equal(unwind_table__build(tmp, &t), -EOPNOTSUPP);
	unlink(tmp);
	free(bytes);
}

/* A mapping's bias from its PT_LOAD segment: PIE/shared (vaddr == offset), non-PIE (vaddr above
 * offset), and a segment whose offset is not page-aligned (the mapping starts a page below). */
static void test_bias(void **state)
{
	struct unwind_load loads[] = {
	    {0x0, 0x0, 0x1000},
	    {0x26000, 0x26000, 0x17b000},
	    {0x1a1f00, 0x1a2f00, 0x3000},
	};
	struct unwind_table t = {.loads = loads, .n_loads = 3};
	struct unwind_load nopie[] = {{0x1000, 0x401000, 0x2000}};
	uint64_t bias;

	(void)state;
	assert_int_equal(unwind_table__bias(&t, 0x7f0000026000, 0x26000, &bias), 0);
	assert_int_equal(bias, 0x7f0000000000);
	assert_int_equal(unwind_table__bias(&t, 0x7f00001a1000, 0x1a1000, &bias), 0);
	assert_int_equal(0x7f00001a1f00 - bias, 0x1a2f00); /* the file byte at 0x1a1f00 */
	assert_int_equal(unwind_table__bias(&t, 0x7f0000000000, 0x5000000, &bias), -ENOENT);
	t.loads = nopie;
	t.n_loads = 1;
	assert_int_equal(unwind_table__bias(&t, 0x401000, 0x1000, &bias), 0);
	assert_int_equal(bias, 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(unwind_table__cfa_name(SNAG_UNWIND_CFA_PLT), "plt");
	assert_string_equal(unwind_table__cfa_name(99), "?");
	assert_string_equal(unwind_table__unsup_name(UNWIND_UNSUP_CFA_RANGE), "cfa-offset-range");
	assert_string_equal(unwind_table__stop_name(SNAG_UNWIND_STOP_END), "end");
	assert_string_equal(unwind_table__stop_name(SNAG_UNWIND_STOP__COUNT), "?");
}

/* The tables of a process in one row array: each file once, shared; a cap that refuses files. */
static void test_store(void **state)
{
	struct snag_unwind_proc *p = calloc(1, sizeof(*p)), *q = calloc(1, sizeof(*q));
	uint64_t pc = (uint64_t)(uintptr_t)&getpid; /* libc's */
	const struct snag_unwind_mapping *m;
	const struct snag_unwind_row *row;
	struct procmaps pm = {0};
	struct unwind_store s;
	size_t files, rows;
	bool vdso = false;

	(void)state;
	assert_non_null(p);
	assert_non_null(q);
	unwind_store__init(&s, SNAG_UNWIND_MAX_TAB_ROWS);
	assert_int_equal(unwind_store__process(&s, getpid(), p), 0);
	files = s.n_files;
	rows = s.n_rows;
	assert_true(files >= 3); /* the test, libc, ld.so, ... */
	assert_int_equal(s.files_over_cap, 0);
	/* Seen again (as another process mapping the same files would be): nothing new. */
	assert_int_equal(unwind_store__process(&s, getpid(), q), 0);
	assert_int_equal(s.n_files, files);
	assert_int_equal(s.n_rows, rows);
	assert_memory_equal(p, q, sizeof(*p));

	assert_int_equal(procmaps__load_pid(getpid(), &pm), 0);
	for (__u32 i = 0; i < p->n; i++) {
		const struct snag_unwind_mapping *x = &p->maps[i];

		assert_true(i == 0 || p->maps[i - 1].end <= x->start);
		assert_true(x->tab.first + x->tab.count <= s.n_rows);
		if (x->start == pm.vdso_start) {
			vdso = true;
			assert_int_equal(x->bias, x->start);
			assert_true(x->tab.count > 0);
		}
	}
	assert_true(vdso || !pm.vdso_start);
	m = snag_unwind_find_mapping(p, pc);
	assert_non_null(m);
	row = snag_unwind_find(s.rows, &m->tab, (__u32)(pc - m->bias));
	assert_non_null(row);
	assert_int_equal(snag_unwind_row_cfa(row), SNAG_UNWIND_CFA_RSP);
	assert_null(snag_unwind_find_mapping(p, 0x1000));
	assert_int_equal(unwind_store__process(&s, 0x7ffffff0, q), -ESRCH);
	unwind_store__free(&s);

	/* A cap of 1,000 rows: small files fit, libc does not and gets no table. */
	unwind_store__init(&s, 1000);
	assert_int_equal(unwind_store__process(&s, getpid(), p), 0);
	assert_true(s.files_over_cap > 0);
	assert_true(s.n_rows <= 1000);
	m = snag_unwind_find_mapping(p, pc);
	assert_non_null(m);
	assert_int_equal(m->tab.count, 0);
	unwind_store__free(&s);
	unwind_store__free(&s); /* a second free is a no-op */
	procmaps__free(&pm);
	free(p);
	free(q);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Debian's binaries, built without frame pointers: the table sizes that
 * docs/unwinding.md reports. The budget for `-p` on redis (redis,
 * libc, libm, libjemalloc, the vdso) is 8 MiB of table memory; times are
 * printed, never checked.
 */
static void test_debian_binaries(void **state)
{
	static const char *const files[] = {
	    "/usr/lib/x86_64-linux-gnu/libc.so.6",
	    "/usr/lib/x86_64-linux-gnu/libm.so.6",
	    "/usr/bin/redis-server",
	    "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2",
	    "[vdso]",
	    "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
	};
	size_t redis_bytes = 0, have = 0;

	(void)state;
	print_message("%-45s %6s %8s %8s %9s %6s %8s\n", "FILE", "FDES", "CFI-ROWS", "ROWS",
		      "BYTES", "UNSUP", "BUILD");
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct unwind_table t;
		double t0 = now_s(), dt;
		int err;

		if (strcmp(files[i], "[vdso]") && access(files[i], R_OK))
			continue;
		err = strcmp(files[i], "[vdso]") ? unwind_table__build(files[i], &t)
						 : unwind_table__build_vdso(&t);
		dt = now_s() - t0;
		if (err == -ENOENT)
			continue;
		assert_int_equal(err, 0);
		print_message("%-45s %6zu %8zu %8zu %9zu %6zu %6.1fms\n", files[i], t.stats.fdes,
			      t.stats.cfi_rows, t.n, unwind_table__bytes(&t),
			      t.stats.unsupported_cfi_rows, dt * 1e3);
		for (int k = 0; k < UNWIND_UNSUP__COUNT; k++)
			if (t.stats.unsupported_by[k])
				print_message("    unsupported %s: %zu\n",
					      unwind_table__unsup_name(k),
					      t.stats.unsupported_by[k]);
		/* Under 1% of rows without a compact form. */
		assert_true(t.stats.unsupported_cfi_rows * 100 < t.stats.cfi_rows);
		if (i < 5) {
			redis_bytes += unwind_table__bytes(&t);
			have++;
		}
		unwind_table__free(&t);
	}
	print_message("redis, libc, libm, libjemalloc, vdso (%zu found): %zu bytes of rows\n", have,
		      redis_bytes);
	assert_true(redis_bytes <= 8u << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fixture_rows), cmocka_unit_test(test_plt),
	    cmocka_unit_test(test_debug_frame),	 cmocka_unit_test(test_libc_signal_frame),
	    cmocka_unit_test(test_vdso),	 cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_bias),	 cmocka_unit_test(test_names),
	    cmocka_unit_test(test_store),	 cmocka_unit_test(test_debian_binaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
