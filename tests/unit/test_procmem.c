/* Unit tests for reading a process's memory from /proc: stat, statm, status, and a fixture tree. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "procmem.h"

/* A real /proc/PID/stat line, but for a process that named itself "a) (b c". */
#define STAT_LINE                                                                                  \
	"4242 (a) (b c) S 1 4242 4242 0 -1 4194560 12345 0 67 0 10 5 0 0 20 0 3 0 1133483 "        \
	"3133440 359 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"

static void test_parse_stat(void **state)
{
	struct procmem_sample s;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(procmem__parse_stat(STAT_LINE, &s), 0);
	assert_string_equal(s.comm, "a) (b c");
	assert_int_equal(s.state, 'S');
	assert_int_equal(s.minor_faults, 12345);
	assert_int_equal(s.major_faults, 67);
	assert_int_equal(procmem__parse_stat("4242 (x S 1", &s), -EINVAL);
	assert_int_equal(procmem__parse_stat("4242 (x) S", &s), -EINVAL);
	assert_int_equal(procmem__parse_stat("", &s), -EINVAL);
	/* Control bytes in a name reach terminals: '?'. */
	assert_int_equal(procmem__parse_stat("1 (a\tb) R 0 0 0 0 0 0 1 0 2 0", &s), 0);
	assert_string_equal(s.comm, "a?b");
}

static void test_parse_statm_and_hwm(void **state)
{
	struct procmem_sample s;
	uint64_t hwm = 0;

	(void)state;
	assert_int_equal(procmem__parse_statm("765 427 398 5 0 123 0\n", 4096, &s), 0);
	assert_int_equal(s.vsz_bytes, 765 * 4096);
	assert_int_equal(s.rss_bytes, 427 * 4096);
	assert_int_equal(procmem__parse_statm("765\n", 4096, &s), -EINVAL);
	assert_int_equal(
	    procmem__parse_hwm("Name:\tx\nVmPeak:\t 10 kB\nVmHWM:\t    2204 kB\n", &hwm), 0);
	assert_int_equal(hwm, 2204 * 1024);
	assert_int_equal(procmem__parse_hwm("Name:\tx\nState:\tZ (zombie)\n", &hwm), -ENOENT);
	/* Only a line that starts with it. */
	assert_int_equal(procmem__parse_hwm("Name:\tVmHWM: 5 kB\n", &hwm), -ENOENT);
}

static char root[64];

static void write_file(int pid, const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/%s", root, pid, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_read_tree(void **state)
{
	struct procmem_sample s;
	long page = sysconf(_SC_PAGESIZE);

	(void)state;
	snprintf(root, sizeof(root), "/tmp/snag-procmem-XXXXXX");
	assert_non_null(mkdtemp(root));
	write_file(4242, "stat", STAT_LINE);
	write_file(4242, "statm", "765 427 398 5 0 123 0\n");
	write_file(4242, "status", "Name:\tx\nVmHWM:\t    2204 kB\n");
	assert_int_equal(procmem__read(root, 4242, &s), 0);
	assert_true(s.has_memory);
	assert_int_equal(s.rss_bytes, 427 * (uint64_t)page);
	assert_int_equal(s.hwm_bytes, 2204 * 1024);
	assert_int_equal(s.minor_faults, 12345);
	/* A zombie: its name and final faults, no memory. */
	write_file(4243, "stat", "4243 (gone) Z 1 1 1 0 -1 0 99 0 3 0 0 0 0 0 20 0 1 0 1 0 0\n");
	write_file(4243, "statm", "0 0 0 0 0 0 0\n");
	assert_int_equal(procmem__read(root, 4243, &s), 0);
	assert_false(s.has_memory);
	assert_int_equal(s.minor_faults, 99);
	assert_string_equal(s.comm, "gone");
	/* Gone altogether. */
	assert_int_equal(procmem__read(root, 4244, &s), -ESRCH);
	for (int pid = 4242; pid <= 4243; pid++) {
		const char *files[] = {"stat", "statm", "status"};
		char path[256];

		for (size_t i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s/%d/%s", root, pid, files[i]);
			unlink(path);
		}
		snprintf(path, sizeof(path), "%s/%d", root, pid);
		rmdir(path);
	}
	rmdir(root);
	/* This process, through the real /proc. */
	assert_int_equal(procmem__read(NULL, getpid(), &s), 0);
	assert_true(s.has_memory && s.rss_bytes > 0 && s.hwm_bytes >= s.rss_bytes / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_stat),
	    cmocka_unit_test(test_parse_statm_and_hwm),
	    cmocka_unit_test(test_read_tree),
	};

	return cmocka_run_group_tests_name("procmem", tests, NULL, NULL);
}
