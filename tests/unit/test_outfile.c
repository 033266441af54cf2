/* Unit tests for user/outfile.c: -o as root against links, FIFOs, devices and files planted in
 * shared directories; whole files; the umask. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>
#include "errors.h"
#include "outfile.h"
#include "testutil.h"

#define OTHER_UID 12345 /* a user who is not the test's */

static char dir[] = "/tmp/snag-test-outfile-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

static const char *in_dir(const char *name, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/%s", dir, name);
	return buf;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void assert_file_text(const char *path, const char *want)
{
	char *got = test_read_file(path, NULL);

	if (!got)
		fail_msg("%s: %s", path, strerror(errno));
	assert_string_equal(got, want);
	test_drop(got);
}

/* outfile__open() fails with err and a message naming what is wrong. */
static void assert_refused(const char *path, int err, const char *msg)
{
	struct outfile o;

	snag_clear_error();
	assert_int_equal(outfile__open(&o, path, "report"), err);
	if (!strstr(snag_last_error(), msg))
		fail_msg("%s: message '%s' lacks '%s'", path, snag_last_error(), msg);
	assert_null(o.f);
	outfile__discard(&o);
}

/* Only the files the test made: no temporary file left behind. */
static void assert_no_temporary(void)
{
	char cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "ls -a '%s' | grep -q snag-", dir);
	if (!system(cmd))
		fail_msg("a temporary file is left in %s", dir);
}

/* A regular file appears whole on commit, and stays as it was on discard. */
static void test_whole_or_nothing(void **state)
{
	char path[PATH_MAX];
	struct outfile o;

	(void)state;
	in_dir("report.json", path);
	write_text(path, "old\n");
	assert_int_equal(outfile__open(&o, path, "report"), 0);
	fputs("new\n", o.f);
	outfile__discard(&o);
	outfile__discard(&o); /* twice is fine */
	assert_file_text(path, "old\n");
	assert_int_equal(outfile__open(&o, path, "report"), 0);
	fputs("new\n", o.f);
	assert_file_text(path, "old\n"); /* not yet */
	assert_int_equal(outfile__commit(&o), 0);
	outfile__discard(&o);
	assert_file_text(path, "new\n");
	assert_no_temporary();
	unlink(path);
}

/* Attack 8: reports were 0644 whatever the umask. Now 0666 less the umask, as any new file. */
static void test_mode_follows_umask(void **state)
{
	static const struct {
		mode_t umask, want;
	} cases[] = {{077, 0600}, {022, 0644}, {002, 0664}};
	char path[PATH_MAX];
	struct outfile o;
	struct stat st;
	mode_t old;

	(void)state;
	in_dir("mode.json", path);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		old = umask(cases[i].umask);
		assert_int_equal(outfile__open(&o, path, "report"), 0);
		fputs("{}\n", o.f);
		assert_int_equal(outfile__commit(&o), 0);
		umask(old);
		assert_int_equal(stat(path, &st), 0);
		if ((st.st_mode & 07777) != cases[i].want)
			fail_msg("umask %03o: mode %04o, want %04o", cases[i].umask,
				 st.st_mode & 07777, cases[i].want);
		unlink(path);
	}
}

/*
 * Attack 1: a link planted at the -o path, pointing at a device or another
 * file, was followed. Now refused, and what it points at is untouched.
 */
static void test_symlink_refused(void **state)
{
	char path[PATH_MAX], victim[PATH_MAX];
	struct stat st;

	(void)state;
	in_dir("victim", victim);
	write_text(victim, "precious\n");
	in_dir("link.json", path);
	assert_int_equal(symlink(victim, path), 0);
	assert_refused(path, -ELOOP, "symbolic link");
	assert_file_text(victim, "precious\n");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	unlink(path);
	/* A link to a device (what the review planted) is refused the same way. */
	assert_int_equal(symlink("/dev/null", path), 0);
	assert_refused(path, -ELOOP, "symbolic link");
	unlink(path);
	unlink(victim);
	assert_no_temporary();
}

/* Attack 1: never a block device, even one named directly. */
static void test_block_device_refused(void **state)
{
	char path[PATH_MAX];

	(void)state;
	in_dir("blockdev", path);
	/* Major 240 is reserved for local use: no driver, so nothing could be written anyway. */
	if (mknod(path, S_IFBLK | 0600, makedev(240, 0)))
		skip(); /* needs CAP_MKNOD */
	assert_refused(path, -EINVAL, "block device");
	unlink(path);
}

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("outfile__open() blocked on a FIFO");
}

/*
 * Attack 1a: a FIFO at the -o path blocked snag forever before tracing. Now
 * one with no reader fails at once; one with a reader is written in place.
 */
static void test_fifo(void **state)
{
	char path[PATH_MAX], buf[64] = {0};
	struct outfile o;
	int rd;

	(void)state;
	in_dir("fifo", path);
	assert_int_equal(mkfifo(path, 0600), 0);
	signal(SIGALRM, on_alarm);
	alarm(5);
	assert_refused(path, -ENXIO, "FIFO with no reader");
	alarm(0);
	rd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_int_equal(outfile__open(&o, path, "report"), 0);
	assert_true(o.direct);
	fputs("through the pipe\n", o.f);
	assert_int_equal(outfile__commit(&o), 0);
	assert_int_equal(read(rd, buf, sizeof(buf) - 1), 17);
	assert_string_equal(buf, "through the pipe\n");
	close(rd);
	unlink(path);
	assert_no_temporary();
}

/* -o /dev/fd/N (and /dev/stdout) writes to the descriptor, in place. */
static void test_descriptor_alias(void **state)
{
	char path[64], buf[64] = {0};
	struct outfile o;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	snprintf(path, sizeof(path), "/dev/fd/%d", p[1]);
	assert_int_equal(outfile__open(&o, path, "report"), 0);
	fputs("via fd\n", o.f);
	assert_int_equal(outfile__commit(&o), 0);
	assert_int_equal(read(p[0], buf, sizeof(buf) - 1), 7);
	assert_string_equal(buf, "via fd\n");
	close(p[0]);
	close(p[1]);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[1]); /* closed now */
	assert_refused(path, -EBADF, "descriptor");
	/* A character device named as such is written in place, never renamed over. */
	assert_int_equal(outfile__open(&o, "/dev/null", "report"), 0);
	assert_true(o.direct);
	fputs("gone\n", o.f);
	assert_int_equal(outfile__commit(&o), 0);
}

/*
 * Attack 1: in a sticky world-writable directory such as /tmp, a file or FIFO
 * that another user put at the -o path is not written (protected_regular).
 */
static void test_planted_in_shared_dir(void **state)
{
	char shared[PATH_MAX / 2], path[PATH_MAX];
	struct outfile o;

	(void)state;
	if (geteuid() != 0)
		skip(); /* chown to another user needs root, as does the attack */
	snprintf(shared, sizeof(shared), "%s/shared", dir);
	assert_int_equal(mkdir(shared, 0777), 0);
	assert_int_equal(chmod(shared, 01777), 0);
	snprintf(path, sizeof(path), "%s/report.json", shared);
	write_text(path, "planted\n");
	assert_int_equal(chown(path, OTHER_UID, OTHER_UID), 0);
	assert_refused(path, -EPERM, "another user (uid 12345) owns it");
	assert_file_text(path, "planted\n");
	/* The user's own file there is fine. */
	assert_int_equal(chown(path, geteuid(), getegid()), 0);
	assert_int_equal(outfile__open(&o, path, "report"), 0);
	assert_int_equal(outfile__commit(&o), 0);
	unlink(path);
	/* A FIFO the other user planted, with a reader: not fed the report. */
	assert_int_equal(mkfifo(path, 0666), 0);
	assert_int_equal(chown(path, OTHER_UID, OTHER_UID), 0);
	int rd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_refused(path, -EPERM, "another user");
	close(rd);
	unlink(path);
	/* Not sticky: the directory's owner decides who may replace what, as usual. */
	assert_int_equal(chmod(shared, 0755), 0);
	write_text(path, "theirs\n");
	assert_int_equal(chown(path, OTHER_UID, OTHER_UID), 0);
	assert_int_equal(outfile__open(&o, path, "report"), 0);
	outfile__discard(&o);
	unlink(path);
	rmdir(shared);
}

static void test_bad_paths(void **state)
{
	char path[PATH_MAX];

	(void)state;
	assert_refused(dir, -EISDIR, "is a directory");
	snprintf(path, sizeof(path), "%s/", dir);
	assert_refused(path, -EISDIR, "is a directory");
	assert_refused("/nonexistent-dir/r.json", -ENOENT, "choose a writable path for -o");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_whole_or_nothing),
	    cmocka_unit_test(test_mode_follows_umask),
	    cmocka_unit_test(test_symlink_refused),
	    cmocka_unit_test(test_block_device_refused),
	    cmocka_unit_test(test_fifo),
	    cmocka_unit_test(test_descriptor_alias),
	    cmocka_unit_test(test_planted_in_shared_dir),
	    cmocka_unit_test(test_bad_paths),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
