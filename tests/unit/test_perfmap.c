/* Unit tests for user/perfmap.c: the perf map format, lookups, and who may own the file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "perfmap.h"

/* Parse text (copied into a malloc'd buffer, as perfmap__parse() takes it). */
static void parse(const char *text, struct perfmap *m)
{
	size_t len = strlen(text);
	char *buf = malloc(len + 1);

	assert_non_null(buf);
	memcpy(buf, text, len + 1);
	assert_int_equal(perfmap__parse(buf, len, m), 0);
}

static void assert_name(const struct perfmap *m, uint64_t addr, const char *want)
{
	const char *got = perfmap__lookup(m, addr);

	if (!want) {
		if (got)
			fail_msg("0x%llx: got '%s', want none", (unsigned long long)addr, got);
		return;
	}
	if (!got || strcmp(got, want))
		fail_msg("0x%llx: got '%s', want '%s'", (unsigned long long)addr,
			 got ? got : "(none)", want);
}

/* Node, JVM and .NET style lines: bare or 0x hex, names with spaces and punctuation. */
static void test_parse_and_lookup(void **state)
{
	struct perfmap m;

	(void)state;
	parse("3ef414c0 398 RegExp:[{(]\n"
	      "0x7f0000001000 0x100 LazyCompile:~handle /srv/app.js:12\n"
	      "7f0000002000 40 Interpreter\r\n"
	      "7f0000000800 10 [stub] void Foo::Bar(int)\n"
	      "7f0000003000 20 last-line-without-newline",
	      &m);
	assert_int_equal(m.n, 5);
	assert_int_equal(m.skipped, 0);
	assert_name(&m, 0x3ef414c0, "RegExp:[{(]");
	assert_name(&m, 0x3ef414c0 + 0x397, "RegExp:[{(]");
	assert_name(&m, 0x3ef414c0 + 0x398, NULL); /* one past the end */
	assert_name(&m, 0x3ef414bf, NULL);
	assert_name(&m, 0x7f0000001080, "LazyCompile:~handle /srv/app.js:12");
	assert_name(&m, 0x7f0000002000, "Interpreter"); /* CRLF */
	assert_name(&m, 0x7f000000080f, "[stub] void Foo::Bar(int)");
	assert_name(&m, 0x7f000000301f, "last-line-without-newline");
	assert_name(&m, 0x7f0000003020, NULL);
	perfmap__free(&m);
	perfmap__free(&m); /* idempotent */
}

/* Code compiled again at the same address: the later line names it. */
static void test_recompiled_address(void **state)
{
	struct perfmap m;

	(void)state;
	parse("1000 100 old_name\n2000 10 other\n1000 80 new_name\n", &m);
	assert_int_equal(m.n, 2);
	assert_name(&m, 0x1010, "new_name");
	assert_name(&m, 0x1090, NULL); /* the new code is shorter */
	assert_name(&m, 0x2000, "other");
	perfmap__free(&m);
}

/* Lines that are not START SIZE NAME are skipped and counted; the rest still parse. */
static void test_malformed_lines(void **state)
{
	struct perfmap m;

	(void)state;
	parse("\n"
	      "zz 10 bad_start\n"
	      "1000 zz bad_size\n"
	      "1000 0 zero_size\n"
	      "1000 10\n"
	      "1000 10   \n"
	      "ffffffffffffff00 1000 wraps\n"
	      "1000 10 good\n",
	      &m);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.skipped, 6);
	assert_name(&m, 0x1005, "good");
	perfmap__free(&m);

	parse("", &m);
	assert_int_equal(m.n, 0);
	assert_name(&m, 0x1000, NULL);
	perfmap__free(&m);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/*
 * Anyone can write /tmp: only a regular file owned by the process's user is
 * read. Attack 2: a user bind-mounted a root-only file over its perf map (in
 * its own user and mount namespace) and snag, accepting root's files too,
 * printed the file's lines as function names. A root-owned map is now read
 * only for a process that runs as root.
 */
static void test_load_ownership(void **state)
{
	char dir[] = "/tmp/snag-test-perfmap-XXXXXX", path[PATH_MAX], link[PATH_MAX];
	struct perfmap m;
	off_t size = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/perf-1.map", dir);
	snprintf(link, sizeof(link), "%s/perf-2.map", dir);
	write_file(path, "1000 10 jitted\n");

	assert_int_equal(perfmap__load(path, geteuid(), &m, &size), 0); /* its user's file */
	assert_int_equal(size, 15);
	assert_name(&m, 0x1000, "jitted");
	perfmap__free(&m);
	/* Someone else's: of a process running as 4321, snag's own (root's) file is refused. */
	assert_int_equal(perfmap__load(path, 4321, &m, NULL), -EPERM);
	assert_int_equal(m.n, 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 4321, 4321), 0);
		assert_int_equal(perfmap__load(path, 4321, &m, NULL), 0); /* the process's user */
		perfmap__free(&m);
		assert_int_equal(perfmap__load(path, 1234, &m, NULL), -EPERM); /* someone else's */
		assert_int_equal(m.n, 0);
	}
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(perfmap__load(link, 4321, &m, NULL), -EPERM);
	assert_int_equal(perfmap__load(dir, geteuid(), &m, NULL), -EPERM); /* a directory */
	unlink(link);
	unlink(path);
	assert_int_equal(perfmap__load(path, 0, &m, NULL), -ENOENT);
	rmdir(dir);
}

/* Read text through perfmap__read_fd() with lim. */
static void read_with(const char *text, const struct perfmap_limits *lim, struct perfmap *m)
{
	char path[] = "/tmp/snag-test-perfmap-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(perfmap__read_fd(fd, geteuid(), lim, m, NULL), 0);
	close(fd);
	unlink(path);
}

/* Each limit cuts what it should, counts it, and marks the map as not worth reading again. */
static void test_limits(void **state)
{
	struct perfmap_limits lim = {
	    .max_bytes = 1 << 20, .max_syms = 3, .max_name = 8, .max_name_bytes = 1 << 20};
	struct perfmap m;

	(void)state;
	read_with("1000 10 a\n2000 10 b\n3000 10 c\n4000 10 d\n5000 10 e\n", &lim, &m);
	assert_int_equal(m.n, 3);
	assert_int_equal(m.cut, 2);
	assert_true(m.truncated);
	assert_name(&m, 0x3000, "c");
	assert_name(&m, 0x4000, NULL);
	perfmap__free(&m);
	/* Names over max_name are cut, not dropped; within the limits nothing is truncated. */
	read_with("1000 10 LazyCompile:~a_very_long_name\n", &lim, &m);
	assert_int_equal(m.names_cut, 1);
	assert_false(m.truncated);
	assert_name(&m, 0x1000, "LazyComp");
	perfmap__free(&m);
	/* A line longer than any name could make matter is kept only in part. */
	{
		size_t n = 100000;
		char *big = malloc(n + 32);

		assert_non_null(big);
		strcpy(big, "1000 10 ");
		memset(big + 8, 'x', n);
		strcpy(big + 8 + n, "\n2000 10 after\n");
		read_with(big, &perfmap_default_limits, &m);
		free(big);
	}
	assert_int_equal(m.n, 2);
	assert_int_equal(m.names_cut, 1);
	assert_int_equal(strlen(perfmap__lookup(&m, 0x1000)), PERFMAP_MAX_NAME);
	assert_name(&m, 0x2000, "after");
	perfmap__free(&m);
	/* Name bytes: two 4-byte names and their NULs fit in 10, the third does not. */
	lim = (struct perfmap_limits){
	    .max_bytes = 1 << 20, .max_syms = 100, .max_name = 100, .max_name_bytes = 10};
	read_with("1000 10 aaaa\n2000 10 bbbb\n3000 10 cccc\n", &lim, &m);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.cut, 1);
	perfmap__free(&m);
	/* Bytes: reading stops at max_bytes, and the line cut there is counted. */
	lim = (struct perfmap_limits){
	    .max_bytes = 15, .max_syms = 100, .max_name = 100, .max_name_bytes = 1 << 20};
	read_with("1000 10 first\n2000 10 second\n", &lim, &m);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.cut, 1);
	assert_true(m.truncated);
	perfmap__free(&m);
}

/* Heap bytes in use (glibc); 0 under ASan, whose allocator mallinfo2() does not see. */
static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/*
 * Attack 3: a 64 MiB map of tiny lines took snag from 25 MB to 575 MB (the
 * whole file, and a table entry per line). Now it is read in chunks and
 * holds at most PERFMAP_MAX_SYMS symbols; the rest is counted as cut.
 */
static void test_huge_map_stays_small(void **state)
{
	char path[] = "/tmp/snag-test-perfmap-XXXXXX";
	size_t written = 0, lines = 0, before, held;
	char *buf = malloc(1 << 20);
	struct perfmap m;
	FILE *f;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_non_null(buf);
	f = fdopen(fd, "w+");
	assert_non_null(f);
	setvbuf(f, buf, _IOFBF, 1 << 20);
	while (written < (64u << 20)) {
		written += (size_t)fprintf(f, "%zx 1 a\n", lines * 16);
		lines++;
	}
	assert_int_equal(fflush(f), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	before = heap_in_use();
	assert_int_equal(perfmap__read_fd(fd, geteuid(), NULL, &m, NULL), 0);
	held = heap_in_use() - before;
	assert_int_equal(m.n, PERFMAP_MAX_SYMS);
	assert_true(m.truncated);
	/* Every line but the kept ones, up to where reading stopped. */
	assert_true(m.cut >= lines - PERFMAP_MAX_SYMS - 1);
	if (before && held > (32u << 20))
		fail_msg("a 64 MiB map holds %zu bytes", held);
	print_message("%zu lines, %zu kept, %zu cut, %zu bytes held\n", lines, m.n, m.cut, held);
	perfmap__free(&m);
	fclose(f);
	free(buf);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_and_lookup), cmocka_unit_test(test_recompiled_address),
	    cmocka_unit_test(test_malformed_lines),  cmocka_unit_test(test_load_ownership),
	    cmocka_unit_test(test_limits),	     cmocka_unit_test(test_huge_map_stays_small),
	};

	return cmocka_run_group_tests_name("perfmap", tests, NULL, NULL);
}
