/* Unit tests for user/srcline.c against the ELF fixtures, which are built with -g. */
#include <errno.h>
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
#include "srcline.h"
#include "testutil.h"

static const struct elfsym_opts no_debug = {.debug_root = "/nonexistent-debug-root"};

/* The line of the source file where needle first appears (1-based), or 0. */
static int source_line(const char *path, const char *needle)
{
	char *src = test_read_file(path, NULL), *p;
	int line = 1;

	if (!src)
		fail_msg("cannot read %s", path);
	p = strstr(src, needle);
	if (!p) {
		free(src);
		return 0;
	}
	for (char *c = src; c < p; c++)
		line += *c == '\n';
	free(src);
	return line;
}

/* The link-time address of function name in the ELF at rel (from its symbol table). */
static uint64_t func_addr(const char *rel, const char *name)
{
	struct elfsym_tab *tab = elfsym__load(test_build_path(rel), &no_debug);
	struct elfsym_match *m = NULL;
	uint64_t addr;

	assert_non_null(tab);
	assert_int_equal(elfsym__match(tab, name, &m), 1);
	addr = m[0].sym->addr;
	free(m);
	elfsym__free(tab);
	return addr;
}

/*
 * A function's first instruction is in its body: between the line that names
 * it and a few lines below (the fixture functions are one-liners, at -O2 the
 * entry is the body's first statement).
 */
static void expect_in_function(const char *elf, const char *func, const char *src, const char *decl)
{
	struct srcline *sl = srcline__open(test_build_path(elf));
	int want = source_line(src, decl);
	const char *file = NULL;
	uint32_t line = 0;

	assert_non_null(sl);
	assert_true(want > 0);
	assert_int_equal(srcline__lookup(sl, func_addr(elf, func), &file, &line), 0);
	if (!strstr(file, src + strlen("tests/fixtures/elf/")) || (int)line < want ||
	    (int)line > want + 3)
		fail_msg("%s in %s: got %s:%u, want %s:%d..%d", func, elf, file, line, src, want,
			 want + 3);
	srcline__free(sl);
}

static void test_executables_and_library(void **state)
{
	(void)state;
	expect_in_function("tests/elf/fixture-pie", "fixture_add", "tests/fixtures/elf/fixture.c",
			   "FIXTURE_FN int fixture_add(");
	expect_in_function("tests/elf/fixture-pie", "fixture_loop", "tests/fixtures/elf/fixture.c",
			   "FIXTURE_FN int fixture_loop(");
	expect_in_function("tests/elf/fixture-nopie", "fixture_mul", "tests/fixtures/elf/fixture.c",
			   "FIXTURE_FN int fixture_mul(");
	expect_in_function("tests/elf/libfixture.so", "libfixture_add",
			   "tests/fixtures/elf/libfixture.c", "FIXTURE_FN int libfixture_add(");
}

/* Two functions get two different lines: the lookup is by address, not the first row. */
static void test_addresses_differ(void **state)
{
	struct srcline *sl = srcline__open(test_build_path("tests/elf/fixture-pie"));
	const char *file;
	uint32_t add_line = 0, loop_line = 0;

	(void)state;
	assert_non_null(sl);
	assert_int_equal(srcline__lookup(sl, func_addr("tests/elf/fixture-pie", "fixture_add"),
					 &file, &add_line),
			 0);
	assert_int_equal(srcline__lookup(sl, func_addr("tests/elf/fixture-pie", "fixture_loop"),
					 &file, &loop_line),
			 0);
	assert_true(loop_line > add_line);
	srcline__free(sl);
}

static void test_no_line(void **state)
{
	struct srcline *sl;
	const char *file;
	uint32_t line;

	(void)state;
	/* An address no compile unit covers. */
	sl = srcline__open(test_build_path("tests/elf/fixture-pie"));
	assert_non_null(sl);
	assert_int_equal(srcline__lookup(sl, 0x7fffffff0000ull, &file, &line), -ENOENT);
	srcline__free(sl);
	/* Stripped: no DWARF. Not ELF, missing: no handle, and why. */
	errno = 0;
	assert_null(srcline__open(test_build_path("tests/elf/fixture-pie-stripped")));
	assert_int_equal(errno, ENODATA);
	assert_null(srcline__open(test_build_path("tests/elf/not-elf.txt")));
	assert_int_equal(errno, ENODATA);
	assert_null(srcline__open("/nonexistent/file"));
	assert_int_equal(errno, ENOENT);
	srcline__free(NULL);
}

/*
 * The file is mapped: cut short under the reader (its owner truncating it),
 * the next read of the mapping raised SIGBUS and killed snag. Now the lookup
 * fails, and so does every later one in that file; other files still work.
 */
static void test_truncated_under_reader(void **state)
{
	char path[] = "/tmp/snag-test-srcline-XXXXXX";
	const char *rel = "tests/elf/fixture-pie", *file;
	size_t len;
	char *bytes = test_read_file(test_build_path(rel), &len);
	struct srcline *sl, *other;
	uint32_t line;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_non_null(bytes);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	close(fd);
	sl = srcline__open(path);
	assert_non_null(sl);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(srcline__lookup(sl, func_addr(rel, "fixture_add"), &file, &line), -EIO);
	assert_int_equal(srcline__lookup(sl, func_addr(rel, "fixture_loop"), &file, &line), -EIO);
	srcline__free(sl);
	other = srcline__open(test_build_path(rel));
	assert_non_null(other);
	assert_int_equal(srcline__lookup(other, func_addr(rel, "fixture_add"), &file, &line), 0);
	srcline__free(other);
	unlink(path);
	test_drop(bytes);
}

/* A FIFO in a binary's place is not waited on. */
static void test_fifo_not_opened_blocking(void **state)
{
	char dir[] = "/tmp/snag-test-srcline-XXXXXX", path[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	errno = 0;
	assert_null(srcline__open(path));
	assert_int_equal(errno, ENODATA);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_executables_and_library),
	    cmocka_unit_test(test_addresses_differ),
	    cmocka_unit_test(test_no_line),
	    cmocka_unit_test(test_truncated_under_reader),
	    cmocka_unit_test(test_fifo_not_opened_blocking),
	};

	return cmocka_run_group_tests_name("srcline", tests, NULL, NULL);
}
