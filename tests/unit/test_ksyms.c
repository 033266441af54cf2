/* Unit tests for user/ksyms.c: a hand-written kallsyms fixture, hidden addresses, the live file. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "errors.h"
#include "ksyms.h"

#define FIXTURE "tests/fixtures/kallsyms.txt"

static struct ksyms *load_fixture(void)
{
	struct ksyms *ks = ksyms__load_file(FIXTURE);

	if (!ks)
		fail_msg("ksyms__load_file(%s): %s", FIXTURE, snag_last_error());
	return ks;
}

/* The name covering addr, or NULL; checks the module too (NULL: the core kernel). */
static const char *name_at(const struct ksyms *ks, uint64_t addr, const char *module)
{
	const struct ksym *s = ksyms__lookup(ks, addr);

	if (!s)
		return NULL;
	if (module)
		assert_string_equal(s->module, module);
	else
		assert_null(s->module);
	assert_true(s->addr <= addr);
	return s->name;
}

static void assert_name(const struct ksyms *ks, uint64_t addr, const char *module, const char *want)
{
	const char *got = name_at(ks, addr, module);

	if (!got)
		fail_msg("0x%jx: no symbol, want %s", (uintmax_t)addr, want);
	assert_string_equal(got, want);
}

/* Text symbols only, sorted, one per address (end markers count). */
static void test_count(void **state)
{
	struct ksyms *ks = load_fixture();

	(void)state;
	assert_int_equal(ksyms__count(ks), 18);
	ksyms__free(ks);
}

static void test_exact_and_inside(void **state)
{
	struct ksyms *ks = load_fixture();

	(void)state;
	assert_name(ks, 0xffffffff81002000, NULL, "do_syscall_64");
	assert_name(ks, 0xffffffff81002001, NULL, "do_syscall_64");
	assert_name(ks, 0xffffffff810020ff, NULL, "do_syscall_64");
	assert_name(ks, 0xffffffff81004000, NULL, "schedule");
	assert_name(ks, 0xffffffff810047ff, NULL, "__schedule");
	/* The lines were not sorted in the file. */
	assert_name(ks, 0xffffffff81004123, NULL, "schedule");
	/* Weak ('W') functions are text. */
	assert_name(ks, 0xffffffff81003010, NULL, "arch_cpu_idle_prepare");
	assert_name(ks, 0xffffffff82000100, NULL, "init_setup_fn");
	ksyms__free(ks);
}

/* Several names at one address: not a marker, global, fewest leading underscores. */
static void test_aliases(void **state)
{
	struct ksyms *ks = load_fixture();

	(void)state;
	assert_name(ks, 0xffffffff81000000, NULL, "startup_64");
	assert_name(ks, 0xffffffff81000010, NULL, "entry_SYSCALL_64");
	assert_name(ks, 0xffffffff81002100, NULL, "__x64_sys_getppid");
	assert_name(ks, 0xffffffffc0003000, "nf_tables", "nf_hook_slow");
	ksyms__free(ks);
}

/* Data symbols (d, D, B, R, A) are skipped: their addresses belong to the function before. */
static void test_data_skipped(void **state)
{
	struct ksyms *ks = load_fixture();

	(void)state;
	assert_name(ks, 0xffffffff81002800, NULL, "__x64_sys_getppid");
	assert_name(ks, 0xffffffffc0001100, "ext4", "ext4_file_read_iter");
	assert_null(name_at(ks, 0xffffffff82400000, NULL)); /* jiffies, past _einittext */
	assert_null(name_at(ks, 0x1000, NULL));		    /* cpu_number */
	ksyms__free(ks);
}

static void test_outside(void **state)
{
	struct ksyms *ks = load_fixture();

	(void)state;
	assert_null(name_at(ks, 0, NULL));
	assert_null(name_at(ks, 0xffffffff80ffffff, NULL)); /* before the first symbol */
	assert_null(name_at(ks, 0xffffffff81000f70, NULL)); /* __entry_text_end */
	assert_null(name_at(ks, 0xffffffff81001000, NULL));
	assert_null(name_at(ks, 0xffffffff81004800, NULL)); /* _etext */
	assert_null(name_at(ks, 0xffffffff81ffffff, NULL));
	assert_null(name_at(ks, 0xffffffff82000200, NULL)); /* _einittext */
	assert_null(name_at(ks, 0xffffffffc0000fff, NULL));
	assert_null(name_at(ks, UINT64_MAX, NULL));
	ksyms__free(ks);
}

/* Module symbols keep their module; the last one of a module covers at most KSYMS_TAIL_MAX. */
static void test_modules(void **state)
{
	struct ksyms *ks = load_fixture();

	(void)state;
	assert_name(ks, 0xffffffffc0001000, "ext4", "ext4_file_read_iter");
	assert_name(ks, 0xffffffffc0001210, "ext4", "ext4_readdir");
	assert_name(ks, 0xffffffffc0002fff, "ext4", "ext4_readdir");
	assert_name(ks, 0xffffffffc0020000, "xfs", "xfs_vn_getattr");
	assert_name(ks, 0xffffffffc0020000 + KSYMS_TAIL_MAX - 1, "xfs", "xfs_vn_getattr");
	assert_null(name_at(ks, 0xffffffffc0020000 + KSYMS_TAIL_MAX, NULL));
	assert_name(ks, 0xffffffffc0050010, "bpf", "bpf_prog_6deef7357e7b4530_handle_sched_switch");
	assert_null(name_at(ks, 0xffffffffc0050000 + KSYMS_TAIL_MAX, NULL));
	ksyms__free(ks);
}

static void assert_load_fails(const char *path, int err, const char *in_message)
{
	snag_clear_error();
	errno = 0;
	assert_null(ksyms__load_file(path));
	assert_int_equal(errno, err);
	if (!strstr(snag_last_error(), in_message))
		fail_msg("message '%s' lacks '%s'", snag_last_error(), in_message);
	assert_non_null(strstr(snag_last_error(), path));
}

static void test_errors(void **state)
{
	(void)state;
	/* What an unprivileged reader sees with kernel.kptr_restrict set. */
	assert_load_fails("tests/fixtures/kallsyms-zero.txt", EPERM, "kptr_restrict");
	assert_load_fails("/nonexistent/kallsyms", ENOENT, "cannot read kernel symbols");
	assert_load_fails("/dev/null", ENODATA, "no kernel text symbols");
	assert_load_fails("tests/fixtures/maps/basic.maps", ENODATA, "no kernel text symbols");
	ksyms__free(NULL);
}

/* /proc/kallsyms loads with real addresses, or fails saying they are hidden. */
static void test_live(void **state)
{
	struct ksyms *ks = ksyms__load();
	char line[512];
	FILE *f;

	(void)state;
	if (!ks) {
		assert_int_equal(errno, EPERM);
		skip();
	}
	f = fopen("/proc/kallsyms", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[256];

		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
		    !strcmp(name, "schedule") && type == 'T') {
			assert_name(ks, addr, NULL, "schedule");
			assert_name(ks, addr + 1, NULL, "schedule");
			break;
		}
	}
	fclose(f);
	assert_true(ksyms__count(ks) > 1000);
	ksyms__free(ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_count),   cmocka_unit_test(test_exact_and_inside),
	    cmocka_unit_test(test_aliases), cmocka_unit_test(test_data_skipped),
	    cmocka_unit_test(test_outside), cmocka_unit_test(test_modules),
	    cmocka_unit_test(test_errors),  cmocka_unit_test(test_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
