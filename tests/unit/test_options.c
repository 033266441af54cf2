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
/* --cpu is opt-in, with or without -u; -F sets its rate, 1..10000, and only with --cpu. */
static void test_cpu_options(void **state)
{
	struct record_opts o;

	(void)state;
	assert_int_equal(parse(&o, NULL), 0);
	assert_false(o.cpu);
	assert_int_equal(o.cpu_hz, 49);
	record_opts__free(&o);
	assert_int_equal(parse(&o, "-p", "1", "--cpu", NULL), 0);
	assert_true(o.cpu && o.offcpu && o.io);
	record_opts__free(&o);
	assert_int_equal(parse(&o, "-u", "f", "--cpu", "-F", "999", NULL), 0);
	assert_true(o.cpu && !o.offcpu && !o.io);
	assert_int_equal(o.cpu_hz, 999);
	record_opts__free(&o);
	/* --cpu alone is something to trace. */
	assert_int_equal(parse(&o, "--cpu", "--no-offcpu", "--no-io", "--frequency", "1", NULL), 0);
	assert_true(o.cpu && !o.offcpu && !o.io);
	assert_int_equal(o.cpu_hz, 1);
	record_opts__free(&o);
	assert_int_equal(parse(&o, "--cpu", "-F", "10000", NULL), 0);
	assert_int_equal(o.cpu_hz, 10000);
	record_opts__free(&o);
	/* Out of range or not a whole number: the message names the range. */
	const char *bad[] = {"0", "10001", "-5", "49.5", "abc", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&o, "--cpu", "-F", bad[i], NULL), -EINVAL);
		assert_non_null(strstr(snag_last_error(), "from 1 to 10000"));
		record_opts__free(&o);
	}
	assert_int_equal(parse(&o, "-F", "99", NULL), -EINVAL);
	assert_non_null(strstr(snag_last_error(), "add --cpu"));
	record_opts__free(&o);
}

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

static void test_severity(void **state)
{
	struct severity_thresholds t, defaults = severity__thresholds();

	(void)state;
	assert_int_equal(parse_severity("50,20,10", &t), 0);
	assert_true(t.critical == 0.5 && t.high == 0.2 && t.medium == 0.1);
	assert_int_equal(parse_severity("30,5,1.5", &t), 0);
	assert_true(t.medium == 0.015);
	/* Not decreasing, out of range, too few or too many, junk. */
	assert_int_equal(parse_severity("10,20,30", &t), -EINVAL);
	assert_int_equal(parse_severity("150,20,10", &t), -EINVAL);
	assert_int_equal(parse_severity("50,20", &t), -EINVAL);
	assert_int_equal(parse_severity("50,20,10,5", &t), -EINVAL);
	assert_int_equal(parse_severity("50,x,10", &t), -EINVAL);
	assert_int_equal(parse_severity("0,0,0", &t), -EINVAL);
	/* In force: an impact of 0.25 is high by default, critical with 20,10,5. */
	assert_int_equal(severity__from_impact(0.25), SEVERITY_HIGH);
	assert_int_equal(parse_severity("20,10,5", &t), 0);
	assert_int_equal(severity__set_thresholds(&t), 0);
	assert_int_equal(severity__from_impact(0.25), SEVERITY_CRITICAL);
	assert_int_equal(severity__from_impact(0.06), SEVERITY_MEDIUM);
	t.high = 0.3; /* not decreasing: refused, unchanged */
	assert_int_equal(severity__set_thresholds(&t), -EINVAL);
	assert_int_equal(severity__from_impact(0.25), SEVERITY_CRITICAL);
	assert_int_equal(severity__set_thresholds(&defaults), 0);
	assert_int_equal(severity__from_impact(0.25), SEVERITY_HIGH);
}

/* Parses s and checks the host and port it gives (want_host NULL: must be refused). */
static void expect_address(const char *s, const char *want_host, const char *want_port)
{
	char *host = NULL, *port = NULL;
	int err = parse_listen_address(s, DEFAULT_PROM_HOST, &host, &port);

	if (!want_host) {
		if (err != -EINVAL)
			fail_msg("'%s' was accepted as host '%s' port '%s'", s, host, port);
		assert_null(host);
		assert_null(port);
		return;
	}
	if (err)
		fail_msg("'%s' was refused: %d", s, err);
	assert_string_equal(host, want_host);
	assert_string_equal(port, want_port);
	free(host);
	free(port);
}

static void test_listen_address(void **state)
{
	struct record_opts o;

	(void)state;
	/* The default host is loopback; any other interface must be written out. */
	expect_address("9464", "127.0.0.1", "9464");
	expect_address(":9464", "127.0.0.1", "9464");
	expect_address("0.0.0.0:9464", "0.0.0.0", "9464");
	expect_address("localhost:1", "localhost", "1");
	expect_address("[::1]:65535", "::1", "65535");
	expect_address("[::]:80", "::", "80");
	expect_address("", NULL, NULL);
	expect_address(":", NULL, NULL);
	expect_address("host:", NULL, NULL);
	expect_address("host", NULL, NULL);
	expect_address("0", NULL, NULL);
	expect_address("65536", NULL, NULL);
	expect_address("999999", NULL, NULL);
	expect_address("-1", NULL, NULL);
	expect_address("+80", NULL, NULL);
	expect_address("80 ", NULL, NULL);
	expect_address("::1:9464", NULL, NULL);
	expect_address("[::1]", NULL, NULL);
	expect_address("[::1]9464", NULL, NULL);
	expect_address("[]:9464", NULL, NULL);
	expect_address("[::1:9464", NULL, NULL);
	/* The option: off without it, the parsed address with it, one clear error otherwise. */
	assert_int_equal(parse(&o, NULL), 0);
	assert_null(o.prom_host);
	record_opts__free(&o);
	assert_int_equal(parse(&o, "--prometheus", "9100", "--prometheus", "[::1]:9464", NULL), 0);
	assert_string_equal(o.prom_host, "::1");
	assert_string_equal(o.prom_port, "9464");
	record_opts__free(&o);
	assert_int_equal(parse(&o, "--prometheus", "http://x:80", NULL), -EINVAL);
	record_opts__free(&o);
}

/* --mem needs a target; --mem-sample implies --mem; memory alone turns the defaults off. */
static void test_mem_options(void **state)
{
	struct record_opts o;

	(void)state;
	assert_int_equal(parse(&o, "--mem", NULL), -EINVAL);
	assert_non_null(strstr(snag_last_error(), "--mem needs -p PID or -c"));
	record_opts__free(&o);
	assert_int_equal(parse(&o, "-p", "1", "--mem", NULL), 0);
	assert_true(o.mem);
	assert_int_equal(o.mem_sample, 1);
	assert_false(o.offcpu);
	assert_false(o.io);
	record_opts__free(&o);
	assert_int_equal(parse(&o, "-c", "true", "--mem-sample", "100", "--io", NULL), 0);
	assert_true(o.mem);
	assert_int_equal(o.mem_sample, 100);
	assert_true(o.io);
	assert_false(o.offcpu);
	record_opts__free(&o);
	assert_int_equal(parse(&o, "-p", "1", "--mem-sample", "0", NULL), -EINVAL);
	assert_non_null(strstr(snag_last_error(), "invalid --mem-sample '0'"));
	record_opts__free(&o);
	assert_int_equal(parse(&o, "-p", "1", "--mem-sample", "10x", NULL), -EINVAL);
	record_opts__free(&o);
	assert_int_equal(parse(&o, "-p", "1", "--mem-sample", "1000001", NULL), -EINVAL);
	record_opts__free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_severity),
	    cmocka_unit_test(test_collectors_by_default),
	    cmocka_unit_test(test_cpu_options),
	    cmocka_unit_test(test_mem_options),
	    cmocka_unit_test(test_binary_format_needs_output),
	    cmocka_unit_test(test_listen_address),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
