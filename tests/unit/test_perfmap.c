/* Unit tests for user/perfmap.c: the perf map format, lookups, and who may own the file. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* Anyone can write /tmp: only a regular file owned by the process's user or root is read. */
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

	assert_int_equal(perfmap__load(path, 4321, &m, &size), 0); /* root's own file */
	assert_int_equal(size, 15);
	assert_name(&m, 0x1000, "jitted");
	perfmap__free(&m);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 4321, 4321), 0);
		assert_int_equal(perfmap__load(path, 4321, &m, NULL), 0); /* the process's user */
		perfmap__free(&m);
		assert_int_equal(perfmap__load(path, 1234, &m, NULL), -EPERM); /* someone else's */
		assert_int_equal(m.n, 0);
	}
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(perfmap__load(link, 4321, &m, NULL), -EPERM);
	assert_int_equal(perfmap__load(dir, 0, &m, NULL), -EPERM); /* a directory */
	unlink(link);
	unlink(path);
	assert_int_equal(perfmap__load(path, 0, &m, NULL), -ENOENT);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_and_lookup),
	    cmocka_unit_test(test_recompiled_address),
	    cmocka_unit_test(test_malformed_lines),
	    cmocka_unit_test(test_load_ownership),
	};

	return cmocka_run_group_tests_name("perfmap", tests, NULL, NULL);
}
