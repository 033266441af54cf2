/* Unit tests for `snag record` option parsing: sizes, durations and which collectors run. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>
#include "errors.h"
#include "options.h"

static void test_parse_size(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_size("64KiB", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(parse_size("1M", &v), 0);
	assert_int_equal(v, 1 << 20);
	assert_int_equal(parse_size("2gib", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(parse_size("512B", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(parse_size("", &v), -EINVAL);
	assert_int_equal(parse_size("-1", &v), -EINVAL);
	assert_int_equal(parse_size("4 k", &v), -EINVAL);
	assert_int_equal(parse_size("4kk", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999999999", &v), -EINVAL);
	assert_int_equal(parse_size("99999999999999G", &v), -EINVAL);
}

static int parse(struct record_opts *o, ...)
{
	char *argv[16] = {"record"};
	int argc = 1, err;
	va_list ap;
	char *a;

	va_start(ap, o);
	while ((a = va_arg(ap, char *)) && argc < 15)
		argv[argc++] = a;
	va_end(ap);
	err = record_opts__parse(argc, argv, o);
	return err;
}

static void test_collectors_by_default(void **state)
{
	struct record_opts o;

	(void)state;
	/* Nothing asked: both kernel collectors. */
	assert_int_equal(parse(&o, NULL), 0);
	assert_true(o.offcpu && o.io);
	assert_int_equal(o.small_io_bytes, DEFAULT_SMALL_IO_BYTES);
	record_opts__free(&o);
	/* -u alone: only functions; --io adds I/O. */
	assert_int_equal(parse(&o, "-u", "f", NULL), 0);
	assert_true(!o.offcpu && !o.io);
	record_opts__free(&o);
	assert_int_equal(parse(&o, "-u", "f", "--io", NULL), 0);
	assert_true(!o.offcpu && o.io);
	record_opts__free(&o);
	/* --no-X removes one default. */
	assert_int_equal(parse(&o, "--no-offcpu", "--small-io", "16KiB", NULL), 0);
	assert_true(!o.offcpu && o.io);
	assert_int_equal(o.small_io_bytes, 16384);
	record_opts__free(&o);
	assert_int_equal(parse(&o, "--no-io", NULL), 0);
	assert_true(o.offcpu && !o.io);
	record_opts__free(&o);
	/* Errors. */
	assert_int_equal(parse(&o, "--no-io", "--no-offcpu", NULL), -EINVAL);
	record_opts__free(&o);
	assert_int_equal(parse(&o, "--offcpu", "--no-offcpu", NULL), -EINVAL);
	record_opts__free(&o);
	assert_int_equal(parse(&o, "--small-io", "2GiB", NULL), -EINVAL);
	record_opts__free(&o);
	assert_int_equal(parse(&o, "-u", "f", "--cgroup", "/x", NULL), -EINVAL);
	record_opts__free(&o);
	assert_int_equal(parse(&o, "-u", "f", "--io", "--cgroup", "/x", NULL), 0);
	record_opts__free(&o);
}

/* pprof is binary: refused on a terminal stdout unless -o names a file. */
static void test_binary_format_needs_output(void **state)
{
	struct record_opts o;
	int tty, pipefd[2];

	(void)state;
	tty = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(tty >= 0);
	assert_true(isatty(tty));
	assert_int_equal(pipe(pipefd), 0);

	assert_int_equal(parse(&o, "--format", "pprof", NULL), 0);
	assert_int_equal(o.format, FORMAT_PPROF);
	snag_clear_error();
	assert_int_equal(record_opts__check_output(&o, tty), -EINVAL);
	assert_non_null(strstr(snag_last_error(), "-o FILE"));
	/* Redirected stdout is fine. */
	assert_int_equal(record_opts__check_output(&o, pipefd[1]), 0);
	record_opts__free(&o);

	assert_int_equal(parse(&o, "--format", "pprof", "-o", "out.pb.gz", NULL), 0);
	assert_int_equal(record_opts__check_output(&o, tty), 0);
	record_opts__free(&o);
	/* Text formats may go to a terminal. */
	assert_int_equal(parse(&o, "--format", "folded", NULL), 0);
	assert_int_equal(record_opts__check_output(&o, tty), 0);
	record_opts__free(&o);

	assert_int_equal(parse(&o, "--format", "protobuf", NULL), -EINVAL);
	assert_non_null(strstr(snag_last_error(), "pprof"));
	record_opts__free(&o);
	close(tty);
	close(pipefd[0]);
	close(pipefd[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_collectors_by_default),
	    cmocka_unit_test(test_binary_format_needs_output),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
