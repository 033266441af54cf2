/* Unit tests: the selftest workloads refuse what would make their answers wrong, by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/magic.h>
#include "commands.h"
#include "errors.h"

/* The direct-I/O workload refuses tmpfs, naming it, instead of measuring nothing. */
static void test_workload_refuses_tmpfs(void **state)
{
	char path[64];
	struct statfs fs;

	(void)state;
	if (statfs("/dev/shm", &fs) || fs.f_type != TMPFS_MAGIC)
		skip();
	snprintf(path, sizeof(path), "/dev/shm/snag-unit-direct-%d.dat", getpid());
	char *argv[] = {"selftest-workload", "direct", path, "3", NULL};
	snag_clear_error();
	assert_int_equal(cmd_selftest_workload(4, argv), 1);
	assert_non_null(strstr(snag_last_error(), "tmpfs"));
	assert_non_null(strstr(snag_last_error(), "--dir"));
	assert_int_not_equal(access(path, F_OK), 0);
}

static void test_workload_bad_arguments(void **state)
{
	char *none[] = {"selftest-workload", NULL};
	char *zero[] = {"selftest-workload", "sleep", "0", NULL};
	char *extra[] = {"selftest-workload", "tcp", "10", NULL};
	char *unknown[] = {"selftest-workload", "spin", "10", NULL};

	(void)state;
	assert_int_equal(cmd_selftest_workload(1, none), 2);
	assert_int_equal(cmd_selftest_workload(3, zero), 2);
	assert_int_equal(cmd_selftest_workload(3, extra), 2);
	assert_int_equal(cmd_selftest_workload(3, unknown), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_workload_refuses_tmpfs),
	    cmocka_unit_test(test_workload_bad_arguments),
	};

	return cmocka_run_group_tests_name("selftest_workload", tests, NULL, NULL);
}
